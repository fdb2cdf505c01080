#!/usr/bin/python3
"""PyTorch reference of `PROG train` for Inputs/tweights.rnn (embedding(dim 4) -> GRU(6) ->
dense(5), cross_entropy weighted by a float target w: sum(w * ce) / sum(w) over each batch's
positions, TensorFlow's sequence_loss), replayed with torch.optim.SGD on the program's example
order, compared with its results (train_ref.compare).

    weights_ref.py RUNDIR --lr X [--momentum X] --batch N --validation F [--steps K]

RUNDIR holds init.st, order.txt (--dump-order), loss.txt (--dump-loss), out.st (-o), out.csv
(--metrics) and x.npy, y.npy, w.npy. The validation rows are the last max(1, int(N * F)), in
batches of N: validation loss = the batches' weighted losses averaged per example; the
validation accuracy = argmax over every position of y, whatever its weight.

Prints one line per check ("... ok" or "... FAIL ...") as train_ref.py does.
"""
import argparse
import csv
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from rnnref import load_safetensors  # noqa: E402
from train_ref import compare  # noqa: E402

V, E, H = 5, 4, 6


def weighted_ce(head, y, w):
    c = F.cross_entropy(head.reshape(-1, V), y.reshape(-1), reduction="none")
    w = w.reshape(-1)
    return (w * c).sum() / w.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--validation", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=0)
    a = ap.parse_args()
    d = a.dir
    torch.set_num_threads(1)
    init = load_safetensors(os.path.join(d, "init.st"))
    gru = torch.nn.GRU(E, H, batch_first=True)
    with torch.no_grad():
        for name, p in gru.named_parameters():
            p.copy_(torch.from_numpy(np.array(init["seq." + name])))
    extra = {n: torch.tensor(np.array(init[n]), requires_grad=True)
             for n in ("e.weight", "head.weight", "head.bias")}
    named = {"seq." + n: p for n, p in gru.named_parameters()}
    named.update(extra)
    opt = torch.optim.SGD(list(named.values()), lr=a.lr, momentum=a.momentum)

    def forward(x):
        seq, _ = gru(F.embedding(x, extra["e.weight"]))
        return F.linear(seq, extra["head.weight"], extra["head.bias"])

    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")).astype(np.int64))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy")).astype(np.int64))
    w = torch.from_numpy(np.load(os.path.join(d, "w.npy")).astype(np.float32))
    n = x.shape[0]
    n_val = max(1, int(n * a.validation)) if a.validation > 0 else 0
    n_train = n - n_val
    batch = min(a.batch, n_train)
    orders = [[int(v) for v in line.partition(":")[2].split()]
              for line in open(os.path.join(d, "order.txt"))]
    got_losses = [float(line.split()[3]) for line in open(os.path.join(d, "loss.txt"))]
    rows = list(csv.DictReader(open(os.path.join(d, "out.csv"))))

    ref_losses, epochs = [], []
    for order in orders:
        assert sorted(order) == list(range(n_train)), "the order is not a permutation"
        tot = 0.0
        for off in range(0, n_train, batch):
            idx = torch.tensor(order[off: off + batch])
            loss = weighted_ce(forward(x[idx]), y[idx], w[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            ref_losses.append(loss.item())
            tot += loss.item() * len(idx)
        val_loss = metric = float("nan")
        if n_val:
            with torch.no_grad():
                s, correct, total = 0.0, 0, 0
                for off in range(n_train, n, batch):
                    sl = slice(off, min(off + batch, n))
                    out = forward(x[sl])
                    s += weighted_ce(out, y[sl], w[sl]).item() * out.shape[0]
                    correct += (out.argmax(-1) == y[sl]).sum().item()
                    total += y[sl].numel()
                val_loss, metric = s / n_val, correct / total
        epochs.append((tot / n_train, val_loss, metric))

    compare(got_losses, ref_losses, a.steps, rows, epochs, os.path.join(d, "out.st"), named)


if __name__ == "__main__":
    main()
