#!/usr/bin/python3
"""Runs the compiled hihello program and the same network in PyTorch on random
batches of token ids with the shipped weights; prints the max abs error."""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

exe, weights, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
w = {k: torch.from_numpy(v) for k, v in rnnref.load_safetensors(weights).items()}
cell = torch.nn.LSTM(5, 8, batch_first=True)
head = torch.nn.Linear(8, 5)
cell.load_state_dict({k[5:]: v for k, v in w.items() if k.startswith("cell.")})
head.load_state_dict({k[5:]: v for k, v in w.items() if k.startswith("head.")})
rng = np.random.default_rng(0)
worst = 0.0
for b, t in [(1, 6), (4, 11), (3, 1)]:
    x = rng.integers(0, 5, size=(b, t))
    np.save(os.path.join(work, "x.npy"), x.astype(np.int32))
    subprocess.run([exe, "infer", "-w", weights, "--input", "x=" + os.path.join(work, "x.npy"),
                    "-o", os.path.join(work, "p.npy")], check=True)
    got = np.load(os.path.join(work, "p.npy"))
    with torch.no_grad():
        h = torch.nn.functional.one_hot(torch.from_numpy(x), 5).float()
        ref = torch.softmax(head(cell(h)[0]), -1).numpy()
    assert got.shape == ref.shape, (got.shape, ref.shape)
    worst = max(worst, float(np.abs(got - ref).max()))
print(f"max abs err {worst:.3g} <= 1e-05: {'ok' if worst <= 1e-5 else 'FAIL'}")
sys.exit(0 if worst <= 1e-5 else 1)
