#!/usr/bin/python3
"""Restore the capitalisation and punctuation of a text with the compiled tagging program.

    /usr/bin/python3 restore.py ./tagging tagging.safetensors "this license applies to any program"

Lower-cases the text and drops its punctuation (the rule of train_torch.py), maps words that
are not in words.txt to <unk>, runs `./tagging infer` on the ids (as a .npy file, so unknown
words are fine; `--text` accepts only words of words.txt) and applies the predicted tags.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
from train_torch import TAGS, read_lines, words_and_tags  # noqa: E402


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    exe, weights, text = sys.argv[1:]
    words = [w for w, _ in words_and_tags(text)]
    index = {w: i for i, w in enumerate(read_lines(os.path.join(HERE, "words.txt")))}
    x = np.array([[index.get(w, 1) for w in words]], dtype=np.int32)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x)
        subprocess.run([exe, "infer", "-w", weights, "--input", "x=" + os.path.join(tmp, "x.npy"),
                        "-o", os.path.join(tmp, "tags.npy")], check=True)
        tags = np.load(os.path.join(tmp, "tags.npy"))[0].argmax(-1)
    out = []
    for w, t in zip(words, tags):
        tag = TAGS[t]
        case, punct = tag.rstrip(",.:"), tag[len(tag.rstrip(",.:")):]
        w = w.upper() if case == "UPPER" else w[:1].upper() + w[1:] if case == "Cap" else w
        out.append(w + punct)
    print(" ".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
