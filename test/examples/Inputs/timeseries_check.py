#!/usr/bin/python3
"""Runs the compiled timeseries program on the committed held-out windows and compares it
with the PyTorch model of examples/timeseries/train_torch.py loaded from the same weights.

    timeseries_check.py EXE EXAMPLE_DIR WORKDIR

Prints the max abs error against PyTorch and the validation RMSE of each."""
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
weights = os.path.join(exdir, "timeseries.safetensors")
vx, vy = np.load(os.path.join(exdir, "val_x.npy")), np.load(os.path.join(exdir, "val_y.npy"))
out = os.path.join(work, "forecast.npy")
subprocess.run([exe, "infer", "-w", weights, "--input", "x=" + os.path.join(exdir, "val_x.npy"),
                "-o", out], check=True)
got = np.load(out)

torch.set_num_threads(1)
model = ex.Timeseries()
model.load_state_dict({k: torch.from_numpy(v) for k, v in ex.load_safetensors(weights).items()})
model.eval()
with torch.no_grad():
    ref = model(torch.from_numpy(vx)).numpy()
assert got.shape == ref.shape == vy.shape, (got.shape, ref.shape, vy.shape)
err = float(np.abs(got - ref).max())
print(f"shape {list(got.shape)}")
print(f"max abs err {err:.3g} <= 1e-05: {'ok' if err <= 1e-5 else 'FAIL'}")
print(f"rnnc RMSE {ex.rmse(got, vy):.2f}")
print(f"torch RMSE {ex.rmse(ref, vy):.2f}")
sys.exit(0 if err <= 1e-5 else 1)
