#!/usr/bin/python3
"""Train the timeseries example (timeseries.rnn) in PyTorch.

Data: sunspots.csv (yearly sunspot numbers 1700-2008, from Debian's python3-statsmodels).
Each example is a window of T=20 consecutive years (scaled by 1/100) and the target is the
next year. Targets 1720..1968 train the model; the last 40 targets (1969..2008) are held out.

    /usr/bin/python3 examples/timeseries/train_torch.py

writes, next to this script:
    timeseries.safetensors   the weights (state_dict names = the bindings of timeseries.rnn)
    val_x.npy                f32 [40, 20, 1]  the held-out input windows (scaled)
    val_y.npy                f32 [40, 1]      their targets (scaled)
and prints the validation RMSE in sunspot units (and a persistence baseline).
Needs numpy and PyTorch (1.13, CPU); the seed is fixed.

Options (the defaults are the `train` line): --epochs, --lr, --seed; --init W.safetensors
starts from those weights (e.g. rnnc's `./timeseries init`) instead of PyTorch's
initialisation; --rnnc-data DIR only writes the arrays for the compiled program's `train`
(x.npy, y.npy: the 249 training windows, then the 40 held-out ones) and prints the
`--validation` fraction that holds out exactly the 40.
"""

import argparse
import csv
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "lib"))
from rnnref import save_safetensors, load_safetensors, save_npy, write_rnnc_data  # noqa: E402

T, HIDDEN, SCALE, HOLDOUT = 20, 32, 100.0, 40
LR, EPOCHS, BATCH, SEED = 0.005, 100, 32, 0          # the `train` line of timeseries.rnn


class Timeseries(nn.Module):
    """rec = gru(x, hidden=32); pred = dense(rec, units=1); output forecast = pred."""

    def __init__(self):
        super().__init__()
        self.rec = nn.GRU(1, HIDDEN, batch_first=True)
        self.pred = nn.Linear(HIDDEN, 1)

    def forward(self, x):                           # x: [B, T, 1]
        _, h_n = self.rec(x)                        # h_n: [1, B, 32]
        return self.pred(h_n[-1])                   # [B, 1]


def load_series(path=os.path.join(HERE, "sunspots.csv")):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    years = np.array([int(r["YEAR"]) for r in rows])
    values = np.array([float(r["SUNACTIVITY"]) for r in rows], dtype=np.float32)
    return years, values


def windows():
    """(x [N, T, 1], y [N, 1], target years [N]), scaled by 1/SCALE."""
    years, v = load_series()
    s = v / SCALE
    idx = range(T, len(s))
    x = np.stack([s[i - T:i] for i in idx])[:, :, None].astype(np.float32)
    y = np.array([[s[i]] for i in idx], dtype=np.float32)
    return x, y, years[T:]


def split():
    x, y, yrs = windows()
    return (x[:-HOLDOUT], y[:-HOLDOUT]), (x[-HOLDOUT:], y[-HOLDOUT:], yrs[-HOLDOUT:])


def rmse(pred, y):
    """RMSE in sunspot units of scaled predictions and targets."""
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(y)) ** 2))) * SCALE


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--outdir", default=HERE)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--seed", type=int, default=SEED, help="initialisation and shuffling")
    ap.add_argument("--init", metavar="W.safetensors",
                    help="initial weights (e.g. from `./timeseries init`)")
    ap.add_argument("--rnnc-data", metavar="DIR",
                    help="write x.npy, y.npy for `./timeseries train` to DIR and exit")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    (tx, ty), (vx, vy, vyears) = split()
    if args.rnnc_data:
        write_rnnc_data(args.rnnc_data, {"x": (tx, vx), "y": (ty, vy)}, len(vy))
        return 0
    model = Timeseries()
    if args.init:
        init = load_safetensors(args.init)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    X, Y = torch.from_numpy(tx), torch.from_numpy(ty)
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for b in range(0, len(X), BATCH):
            i = perm[b:b + BATCH]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(X[i]), Y[i])
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        if epoch % 20 == 0:
            model.eval()
            with torch.no_grad():
                v = rmse(model(torch.from_numpy(vx)).numpy(), vy)
            print(f"epoch {epoch:3d}  train RMSE {math.sqrt(total / len(X)) * SCALE:6.2f}  "
                  f"validation RMSE {v:6.2f}")
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(vx)).numpy()
    print(f"validation ({vyears[0]}-{vyears[-1]}, {len(vy)} years): RMSE {rmse(pred, vy):.2f} "
          f"sunspots (persistence baseline, next year = this year: "
          f"{rmse(vx[:, -1, :], vy):.2f}); {args.epochs} epochs in {time.time() - t0:.1f} s")

    os.makedirs(args.outdir, exist_ok=True)
    wpath = os.path.join(args.outdir, "timeseries.safetensors")
    save_safetensors(wpath, model.state_dict())
    save_npy(os.path.join(args.outdir, "val_x.npy"), vx)
    save_npy(os.path.join(args.outdir, "val_y.npy"), vy)
    fresh = Timeseries()
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in load_safetensors(wpath).items()})
    with torch.no_grad():
        assert torch.equal(fresh(torch.from_numpy(vx)), model(torch.from_numpy(vx)))
    print(f"wrote {wpath}, val_x.npy, val_y.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
