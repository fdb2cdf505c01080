#!/usr/bin/python3
"""Checks a `train` run of an example from rnnc's initialisation.

    train_check.py EXE TRAINED.safetensors EXAMPLE_DIR METRIC {below|above} THRESHOLD [SCALE]

METRIC is accuracy, perplexity, rmse or sequence_accuracy (the held-out metric `train`
reports for the model's loss; rmse is multiplied by SCALE, e.g. 100 for sunspots;
sequence_accuracy is a decoder's exact-match rate of greedy sequences up to the end token, the
last token of val_y's longest row). Reads TRAINED.metrics.csv (one row per epoch), runs `EXE
infer` with the trained weights on the committed held-out arrays EXAMPLE_DIR/val_NAME.npy (one
per input NAME) and recomputes the metric against EXAMPLE_DIR/val_y.npy, so that the rows
`train` held out are known to be exactly those, then checks the last epoch's metric against
THRESHOLD. Prints one line per check ("ok" or "FAIL") and exits 1 on any failure."""
import csv
import math
import os
import subprocess
import sys

import numpy as np

exe, trained, exdir, metric, side, threshold = sys.argv[1:7]
scale = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
threshold = float(threshold)
assert metric in ("accuracy", "perplexity", "rmse", "sequence_accuracy") and side in ("below", "above")

rows = list(csv.DictReader(open(os.path.splitext(trained)[0] + ".metrics.csv")))
# The metrics CSV has val_loss and val_metric (accuracy for tokens and classes, RMSE for mse);
# the perplexity is exp(val_loss).
if metric == "perplexity":
    values = [math.exp(float(r["val_loss"])) for r in rows]
else:
    values = [float(r["val_metric"]) * scale for r in rows]
fmt = {"accuracy": "{:.4f}", "perplexity": "{:.3f}", "rmse": "{:.2f}",
       "sequence_accuracy": "{:.4f}"}[metric].format
print(f"epochs {len(rows)}")
print(f"validation {metric}: epoch 1 {fmt(values[0])}, epoch {len(rows)} {fmt(values[-1])}")

out = os.path.splitext(trained)[0] + ".val.npy"
inputs = sorted(f[4:-4] for f in os.listdir(exdir)
                if f.startswith("val_") and f.endswith(".npy") and f != "val_y.npy")
cmd = [exe, "infer", "-w", trained, "-o", out]
for name in inputs:
    cmd += ["--input", f"{name}={os.path.join(exdir, 'val_' + name + '.npy')}"]
subprocess.run(cmd, check=True)
p = np.load(out).astype(np.float64)
y = np.load(os.path.join(exdir, "val_y.npy"))


def upto_end(ids, end):
    ids = list(ids)
    return ids[:ids.index(end)] if end in ids else ids


if metric == "sequence_accuracy":
    end = int(y[0, -1]) if (y[:, -1] == y[0, -1]).all() else None
    assert end is not None, "val_y's last column must be the end token"
    again = float(np.mean([upto_end(a, end) == upto_end(b, end)
                           for a, b in zip(p.argmax(-1), y)]))
elif metric == "accuracy":
    again = float((p.argmax(-1) == y).mean())
elif metric == "perplexity":
    again = float(np.exp(-np.log(np.take_along_axis(p, y[..., None].astype(np.int64), -1)).mean()))
else:
    again = float(np.sqrt(np.mean((p - y) ** 2))) * scale
same = abs(again - values[-1]) <= 1e-4 * max(1.0, abs(again))
print(f"infer on {', '.join('val_' + n + '.npy' for n in inputs)} gives {fmt(again)}: {'ok' if same else 'FAIL'}")

good = values[-1] < threshold if side == "below" else values[-1] > threshold
print(f"{metric} {fmt(values[-1])} {'<' if side == 'below' else '>'} {threshold:g}: "
      f"{'ok' if good else 'FAIL'}")
sys.exit(0 if same and good else 1)
