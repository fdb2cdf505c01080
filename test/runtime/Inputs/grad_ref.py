#!/usr/bin/python3
"""Checks `PROG grad`'s output against PyTorch autograd.

    grad_ref.py MODEL WEIGHTS.st X.npy Y.npy GRADS.st

MODEL as in train_ref.py. Prints the tensors of GRADS.st (name, dtype, shape) and one line:
"grad ok: loss L, max rel diff D" when the loss and every gradient match to 1e-4 relative
(|diff| <= 1e-4 * max(|ref|) per tensor, plus 1e-6).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_ref import PARAMS, forward, loss_fn  # noqa: E402
from train_check import read_st  # noqa: E402


def main():
    model, wpath, xpath, ypath, gpath = sys.argv[1:6]
    w, _ = read_st(wpath)
    params = [torch.tensor(np.array(w[n][1]), requires_grad=True) for n in PARAMS[model]]
    x = torch.from_numpy(np.load(xpath))
    y = torch.from_numpy(np.load(ypath))
    if x.dtype in (torch.int32, torch.int64):
        x = x.long()
    if y.dtype in (torch.int32, torch.int64):
        y = y.long()
    loss = loss_fn(model, forward(model, params, x), y)
    loss.backward()
    g, meta = read_st(gpath)
    for name in g:
        dt, a = g[name]
        print(f"{name} {dt} {list(a.shape)}")
    worst = abs(float(g["loss"][1]) - loss.item()) / abs(loss.item())
    ok = sorted(g) == sorted(["loss"] + PARAMS[model]) and g["loss"][1].shape == ()
    for name, p in zip(PARAMS[model], params):
        ref = p.grad.numpy()
        got = g[name][1]
        ok = ok and got.shape == ref.shape and g[name][0] == "F32"
        worst = max(worst, float(np.max(np.abs(got - ref))) / (float(np.max(np.abs(ref))) + 1e-6))
    print(f"grad {'ok' if ok and worst <= 1e-4 else 'FAIL'}: loss {loss.item():.6g}, max rel diff {worst:.2e}")


if __name__ == "__main__":
    main()
