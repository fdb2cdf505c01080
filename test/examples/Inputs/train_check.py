#!/usr/bin/python3
"""Checks a `train` run of an example from rnnc's initialisation.

    train_check.py EXE TRAINED.safetensors EXAMPLE_DIR METRIC {below|above} THRESHOLD [SCALE]

METRIC is accuracy, perplexity or rmse (the held-out metric `train` reports for the model's
loss; rmse is multiplied by SCALE, e.g. 100 for sunspots). Reads TRAINED.metrics.csv (one row
per epoch), runs `EXE infer` with the trained weights on the committed held-out arrays
EXAMPLE_DIR/val_x.npy and recomputes the metric against EXAMPLE_DIR/val_y.npy, so that the
rows `train` held out are known to be exactly those, then checks the last epoch's metric
against THRESHOLD. Prints one line per check ("ok" or "FAIL") and exits 1 on any failure."""
import csv
import math
import os
import subprocess
import sys

import numpy as np

exe, trained, exdir, metric, side, threshold = sys.argv[1:7]
scale = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
threshold = float(threshold)
assert metric in ("accuracy", "perplexity", "rmse") and side in ("below", "above")

rows = list(csv.DictReader(open(os.path.splitext(trained)[0] + ".metrics.csv")))
# The metrics CSV has val_loss and val_metric (accuracy for tokens and classes, RMSE for mse);
# the perplexity is exp(val_loss).
if metric == "perplexity":
    values = [math.exp(float(r["val_loss"])) for r in rows]
else:
    values = [float(r["val_metric"]) * scale for r in rows]
fmt = {"accuracy": "{:.4f}", "perplexity": "{:.3f}", "rmse": "{:.2f}"}[metric].format
print(f"epochs {len(rows)}")
print(f"validation {metric}: epoch 1 {fmt(values[0])}, epoch {len(rows)} {fmt(values[-1])}")

out = os.path.splitext(trained)[0] + ".val.npy"
subprocess.run([exe, "infer", "-w", trained, "--input", "x=" + os.path.join(exdir, "val_x.npy"),
                "-o", out], check=True)
p = np.load(out).astype(np.float64)
y = np.load(os.path.join(exdir, "val_y.npy"))
if metric == "accuracy":
    again = float((p.argmax(-1) == y).mean())
elif metric == "perplexity":
    again = float(np.exp(-np.log(np.take_along_axis(p, y[..., None].astype(np.int64), -1)).mean()))
else:
    again = float(np.sqrt(np.mean((p - y) ** 2))) * scale
same = abs(again - values[-1]) <= 1e-4 * max(1.0, abs(again))
print(f"infer on val_x.npy gives {fmt(again)}: {'ok' if same else 'FAIL'}")

good = values[-1] < threshold if side == "below" else values[-1] > threshold
print(f"{metric} {fmt(values[-1])} {'<' if side == 'below' else '>'} {threshold:g}: "
      f"{'ok' if good else 'FAIL'}")
sys.exit(0 if same and good else 1)
