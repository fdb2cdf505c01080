#!/usr/bin/python3
"""Train the tagging example (tagging.rnn) in PyTorch: restore the capitalisation and the
punctuation of lower-cased, unpunctuated English text, one tag per word.

Data: four license texts, verbatim copies of Debian's /usr/share/common-licenses files
(base-files): Apache-2.0.txt, MPL-2.0.txt and GFDL-1.3.txt train the model; LGPL-3.txt, a
document the model never sees while training, is held out for validation.

The tags are derived from the text by a fixed rule (`words_and_tags` below). The text is split
at whitespace; each piece is cut into leading marks, a core and trailing marks, the core being
everything from the first to the last letter or digit. Pieces without a letter or digit are
dropped. The model's input word is the core in lower case. The tag combines
  - the case of the core: `UPPER` if it has at least two letters and all its letters are
    upper case, else `Cap` if its first character is an upper-case letter, else `lower`;
  - the punctuation after it: `.` if the trailing marks contain one of `. ! ?`, else `:` if
    they contain `:` or `;`, else `,` if they contain `,`, else nothing.
e.g. `"Contributor"),` -> word `contributor`, tag `Cap,`; `GNU` -> `gnu`, `UPPER`.
There are 12 tags (tags.txt). Words seen fewer than twice in the training texts become
`<unk>` (words.txt lists the rest, after `<pad>` and `<unk>`).

Examples are windows of T=32 consecutive words: while training, the training word stream is
cut at a new random offset every epoch; the held-out stream is cut into consecutive windows
(the last, shorter one is dropped) — those are val_x.npy / val_y.npy.

    /usr/bin/python3 examples/tagging/train_torch.py

writes words.txt, tags.txt, tagging.safetensors, val_x.npy, val_y.npy (int32 [N, 32]) next to
this script and prints the validation tag accuracy. Needs numpy and PyTorch (1.13, CPU); the
seed is fixed.

Options (the defaults are the `train` line): --epochs, --lr, --seed (initialisation, window
offsets and shuffling); --init W.safetensors starts from those weights (e.g. rnnc's
`./tagging init`) instead of PyTorch's initialisation; --rnnc-data DIR only writes the arrays
for the compiled program's `train` (x.npy, y.npy: the training stream in consecutive windows
of 32 from its first word (645 windows), then the 38 held-out windows) and prints the
`--validation` fraction that holds out exactly the 38; --fixed-offset trains on those 645
windows every epoch (as the compiled program does) instead of a new random offset.
"""

import argparse
import collections
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "lib"))
from rnnref import save_safetensors, load_safetensors, save_npy, write_rnnc_data  # noqa: E402

TRAIN_FILES = ["Apache-2.0.txt", "Artistic.txt", "CC0-1.0.txt", "GFDL-1.3.txt", "GPL-2.txt",
               "LGPL-2.1.txt", "MPL-1.1.txt", "MPL-2.0.txt"]
VAL_FILES = ["LGPL-3.txt"]
TAGS = [c + p for c in ("lower", "Cap", "UPPER") for p in ("", ",", ".", ":")]
T, DIM, HIDDEN, MIN_COUNT = 32, 32, 32, 2
LR, EPOCHS, BATCH, SEED = 0.005, 30, 16, 0       # the `train` line of tagging.rnn


def words_and_tags(text):
    """[(word, tag)] for a text, by the rule of the module docstring."""
    out = []
    for piece in text.split():
        alnum = [i for i, ch in enumerate(piece) if ch.isalnum()]
        if not alnum:
            continue
        core, trail = piece[alnum[0]:alnum[-1] + 1], piece[alnum[-1] + 1:]
        letters = [ch for ch in core if ch.isalpha()]
        if len(letters) >= 2 and all(ch.isupper() for ch in letters):
            case = "UPPER"
        elif core[0].isupper():
            case = "Cap"
        else:
            case = "lower"
        if any(ch in trail for ch in ".!?"):
            punct = "."
        elif any(ch in trail for ch in ":;"):
            punct = ":"
        elif "," in trail:
            punct = ","
        else:
            punct = ""
        out.append((core.lower(), case + punct))
    return out


def read_stream(files):
    pairs = []
    for name in files:
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            pairs += words_and_tags(f.read())
    return pairs


def build_vocab(pairs):
    counts = collections.Counter(w for w, _ in pairs)
    return ["<pad>", "<unk>"] + sorted(w for w, n in counts.items() if n >= MIN_COUNT)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def encode(pairs, words):
    index = {w: i for i, w in enumerate(words)}
    x = np.array([index.get(w, 1) for w, _ in pairs], dtype=np.int32)
    y = np.array([TAGS.index(t) for _, t in pairs], dtype=np.int32)
    return x, y


def windows(x, y, offset=0):
    n = (len(x) - offset) // T
    return (x[offset:offset + n * T].reshape(n, T).copy(),
            y[offset:offset + n * T].reshape(n, T).copy())


class Tagger(nn.Module):
    """e = embedding(x, dim=32); seq = lstm(e, hidden=32, bidirectional=true,
    return_sequences=true); logits = dense(seq, units=Tag); output tags = softmax(logits)."""

    def __init__(self, n_words):
        super().__init__()
        self.e = nn.Embedding(n_words, DIM)
        self.seq = nn.LSTM(DIM, HIDDEN, batch_first=True, bidirectional=True)
        self.logits = nn.Linear(2 * HIDDEN, len(TAGS))

    def forward(self, x):                           # x: [B, T] -> logits [B, T, 12]
        return self.logits(self.seq(self.e(x))[0])


def accuracy(scores, y):
    return float((np.asarray(scores).argmax(-1) == np.asarray(y)).mean())


def load_model(weights, words):
    model = Tagger(len(words))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in load_safetensors(weights).items()})
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--outdir", default=HERE)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--seed", type=int, default=SEED,
                    help="initialisation, window offsets and shuffling")
    ap.add_argument("--fixed-offset", action="store_true",
                    help="cut the training stream into windows at offset 0 every epoch (the "
                         "windows of --rnnc-data) instead of at a new random offset")
    ap.add_argument("--init", metavar="W.safetensors",
                    help="initial weights (e.g. from `./tagging init`)")
    ap.add_argument("--rnnc-data", metavar="DIR",
                    help="write x.npy, y.npy for `./tagging train` to DIR and exit")
    args = ap.parse_args()
    out = args.outdir

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train_pairs, val_pairs = read_stream(TRAIN_FILES), read_stream(VAL_FILES)
    words = build_vocab(train_pairs)
    tx, ty = encode(train_pairs, words)
    vx, vy = windows(*encode(val_pairs, words))
    if args.rnnc_data:
        wx, wy = windows(tx, ty)
        write_rnnc_data(args.rnnc_data, {"x": (wx, vx), "y": (wy, vy)}, len(vy))
        return 0
    os.makedirs(out, exist_ok=True)
    unk = float((vx == 1).mean())
    print(f"train {len(tx)} words, validation {vx.size} words ({len(vx)} windows of {T}, "
          f"{unk:.1%} <unk>); vocabulary {len(words)} words, {len(TAGS)} tags")
    counts = collections.Counter(TAGS[t] for t in ty)
    print("training tags: " + ", ".join(f"{t!r} {counts[t]}" for t in TAGS))

    model = Tagger(len(words))
    if args.init:
        init = load_safetensors(args.init)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        wx, wy = windows(tx, ty, 0 if args.fixed_offset else int(rng.integers(0, T)))
        X, Y = torch.from_numpy(wx).long(), torch.from_numpy(wy).long()
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for b in range(0, len(X), BATCH):
            i = perm[b:b + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(X[i]).reshape(-1, len(TAGS)), Y[i].reshape(-1))
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        if epoch % 5 == 0:
            model.eval()
            with torch.no_grad():
                acc = accuracy(model(torch.from_numpy(vx).long()).numpy(), vy)
            print(f"epoch {epoch:3d}  train loss {total / len(X):.4f}  validation accuracy "
                  f"{acc:.4f}")
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(vx).long()).numpy().argmax(-1)
    acc = float((pred == vy).mean())
    base = float((vy == TAGS.index("lower")).mean())
    case_acc = float((pred // 4 == vy // 4).mean())
    punct_acc = float((pred % 4 == vy % 4).mean())
    print(f"validation accuracy {acc:.4f} over {vy.size} words (case {case_acc:.4f}, "
          f"punctuation {punct_acc:.4f}; always 'lower': {base:.4f}); {args.epochs} epochs in "
          f"{time.time() - t0:.1f} s")

    with open(os.path.join(out, "words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    with open(os.path.join(out, "tags.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(TAGS) + "\n")
    wpath = os.path.join(out, "tagging.safetensors")
    save_safetensors(wpath, model.state_dict())
    save_npy(os.path.join(out, "val_x.npy"), vx)
    save_npy(os.path.join(out, "val_y.npy"), vy)
    fresh = load_model(wpath, read_lines(os.path.join(out, "words.txt")))
    with torch.no_grad():
        assert torch.equal(fresh(torch.from_numpy(vx).long()), model(torch.from_numpy(vx).long()))
    print(f"wrote {wpath}, words.txt, tags.txt, val_x.npy, val_y.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
