#!/usr/bin/python3
"""Runs the compiled tagging program on the committed held-out windows (LGPL-3.txt) and
compares it with the PyTorch model of examples/tagging/train_torch.py loaded from the same
weights.

    tagging_check.py EXE EXAMPLE_DIR WORKDIR

Prints the max abs error of the probabilities against PyTorch and the tag accuracy of each."""
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
weights = os.path.join(exdir, "tagging.safetensors")
vx, vy = np.load(os.path.join(exdir, "val_x.npy")), np.load(os.path.join(exdir, "val_y.npy"))
out = os.path.join(work, "tags.npy")
subprocess.run([exe, "infer", "-w", weights, "--input", "x=" + os.path.join(exdir, "val_x.npy"),
                "-o", out], check=True)
got = np.load(out)

torch.set_num_threads(1)
model = ex.load_model(weights, ex.read_lines(os.path.join(exdir, "words.txt")))
with torch.no_grad():
    ref = torch.softmax(model(torch.from_numpy(vx).long()), -1).numpy()
assert got.shape == ref.shape, (got.shape, ref.shape)
err = float(np.abs(got - ref).max())
print(f"shape {list(got.shape)}")
print(f"max abs err {err:.3g} <= 1e-05: {'ok' if err <= 1e-5 else 'FAIL'}")
print(f"rnnc accuracy {ex.accuracy(got, vy):.4f}")
print(f"torch accuracy {ex.accuracy(ref, vy):.4f}")
sys.exit(0 if err <= 1e-5 else 1)
