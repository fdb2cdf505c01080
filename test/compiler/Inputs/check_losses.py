#!/usr/bin/python3
"""Runs the compiled loss program on random data and compares with
torch.nn.functional.cross_entropy / mse_loss (reduction='mean'), rel. err 1e-5."""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

exe, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)
ok = True


def run(b, t, n):
    logits = (rng.standard_normal((b, t, 5)) * 3).astype(np.float32)
    y = rng.integers(0, 5, size=(b, t)).astype(np.int32)
    pred = rng.standard_normal((n, 3)).astype(np.float32)
    target = rng.standard_normal((n, 3)).astype(np.float32)
    files = {}
    for name, arr in dict(logits=logits, y=y, pred=pred, target=target).items():
        files[name] = os.path.join(work, name + ".npy")
        np.save(files[name], arr)
    out = os.path.join(work, "out")
    subprocess.run([exe, "infer"] + sum([["--input", f"{k}={v}"] for k, v in files.items()], [])
                   + ["-o", out], check=True)
    ce = float(np.load(os.path.join(out, "ce.npy")))
    mse = float(np.load(os.path.join(out, "mse.npy")))
    ref_ce = F.cross_entropy(torch.from_numpy(logits).reshape(-1, 5),
                             torch.from_numpy(y).long().reshape(-1)).item()
    ref_mse = F.mse_loss(torch.from_numpy(pred), torch.from_numpy(target)).item()
    return ce, ref_ce, mse, ref_mse


for b, t in [(1, 1), (3, 7)]:
    ce, ref_ce, mse, ref_mse = run(b, t, 4)
    good = abs(ce - ref_ce) <= 1e-5 * max(1.0, abs(ref_ce))
    ok &= good
    print(f"cross_entropy B={b} T={t}: {'ok' if good else f'FAIL {ce} vs {ref_ce}'}")
good = abs(mse - ref_mse) <= 1e-5 * max(1.0, abs(ref_mse))
ok &= good
print(f"mse B=4: {'ok' if good else f'FAIL {mse} vs {ref_mse}'}")
print("all losses match torch" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
