#!/usr/bin/python3
"""Runs the compiled seq2seq program (greedy decoding) on the committed held-out numbers and
compares it with the PyTorch model of examples/seq2seq/train_torch.py loaded from the same
weights.

    seq2seq_check.py EXE EXAMPLE_DIR WORKDIR

The compiled output is [B, steps, 12] with steps = the steps run (or max_len); each row is
compared with PyTorch's greedy scores up to and including its first </s>, and must pick </s>
after that. Prints the max abs error and the exact-match accuracy of each."""
import os
import subprocess
import sys

import numpy as np
import torch

exe, exdir, work = sys.argv[1:4]
sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, exdir)
import train_torch as ex  # noqa: E402

os.makedirs(work, exist_ok=True)
weights = os.path.join(exdir, "seq2seq.safetensors")
ld = {n: np.load(os.path.join(exdir, f"val_{n}.npy")) for n in ("src", "src_len", "y")}
out = os.path.join(work, "digits.npy")
subprocess.run([exe, "infer", "-w", weights,
                "--input", "src=" + os.path.join(exdir, "val_src.npy"),
                "--input", "src_len=" + os.path.join(exdir, "val_src_len.npy"),
                "-o", out], check=True)
got = np.load(out)

torch.set_num_threads(1)
model = ex.load_model(weights)
with torch.no_grad():
    ref = torch.softmax(model(torch.from_numpy(ld["src"]).long(),
                              torch.from_numpy(ld["src_len"]).long()), -1).numpy()
assert got.shape[0] == ref.shape[0] and got.shape[2] == ref.shape[2], (got.shape, ref.shape)
assert ex.MAX_LEN >= got.shape[1] >= ref.shape[1], (got.shape, ref.shape)
err, bad_tail = 0.0, 0
for r in range(len(ref)):
    ids = ref[r].argmax(-1)
    n = int(np.argmax(ids == ex.END)) + 1 if (ids == ex.END).any() else ref.shape[1]
    err = max(err, float(np.abs(got[r, :n] - ref[r, :n]).max()))
    bad_tail += int((got[r, n:].argmax(-1) != ex.END).sum())
truth = ["".join(ex.TGT[d] for d in row if d > ex.END) for row in ld["y"]]
acc = lambda p: float(np.mean([a == b for a, b in zip(ex.decode_digits(p), truth)]))
print(f"rows {got.shape[0]}")
print(f"max abs err {err:.3g} <= 1e-05: {'ok' if err <= 1e-5 else 'FAIL'}")
print(f"steps after </s> not choosing </s>: {bad_tail}")
print(f"rnnc accuracy {acc(got):.4f}")
print(f"torch accuracy {acc(ref):.4f}")
sys.exit(0 if err <= 1e-5 and bad_tail == 0 else 1)
