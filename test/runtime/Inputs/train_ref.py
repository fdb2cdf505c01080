#!/usr/bin/python3
"""PyTorch reference of `PROG train` for the models of fake_train.c (and the MLIR linear
regression): replays the program's example order with torch.optim and compares.

    train_ref.py MODEL RUNDIR [options]

MODEL is linreg | classifier | bigram | series (fake_train.c, linreg.mlir) or hihello
(examples/hihello.rnn: onehot -> LSTM(8) -> dense(5), BPTT by rnnc). RUNDIR holds the program's
files: init.st (the initial weights), order.txt (--dump-order), loss.txt (--dump-loss), out.st
(-o), out.csv (--metrics) and the data: x.npy/y.npy, or corpus.txt (bigram, hihello;
--seq-len), or series.csv (series, --window). Options repeat the run's settings: --optimizer sgd|adam --lr X
--momentum X --nesterov --weight-decay X --clip X --beta1 X --beta2 X --eps X --batch N
--validation F --seq-len N --window N --steps K (compare the first K step losses; default all).

Prints one line per check ("... ok" or "... FAIL ...") and the measured differences:
  step losses (relative, <= 1e-4), the per-epoch train/validation losses and validation
  metric of the CSV (relative, <= 1e-4), the final weights (|diff| <= 1e-4 * (1 + |w|)).
"""
import argparse
import csv
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from rnnref import load_safetensors  # noqa: E402

PARAMS = {
    "linreg": ["lin.weight", "lin.bias"],
    "classifier": ["head.weight", "head.bias"],
    "bigram": ["emb.weight"],
    "series": ["lin.weight", "lin.bias"],
    "hihello": ["cell.weight_ih_l0", "cell.weight_hh_l0", "cell.bias_ih_l0", "cell.bias_hh_l0", "head.weight",
                "head.bias"],
}
CHARS = {"bigram": "abcd ", "hihello": "hielo"}


def load_data(a, d):
    if a.model in CHARS:
        ids = [CHARS[a.model].index(ch) for ch in open(os.path.join(d, "corpus.txt"), encoding="utf-8").read()]
        L = a.seq_len
        n = (len(ids) - 1) // L
        x = np.array(ids[: n * L], np.int64).reshape(n, L)
        y = np.array(ids[1: n * L + 1], np.int64).reshape(n, L)
        return torch.from_numpy(x), torch.from_numpy(y)
    if a.model == "series":
        rows = [r for r in csv.reader(open(os.path.join(d, "series.csv"))) if r]
        vals = []
        for r in rows:
            try:
                vals.append(float(r[-1]))
            except ValueError:
                pass
        v = np.array(vals, np.float32)
        W = a.window
        x = np.stack([v[i: i + W] for i in range(len(v) - W)])[:, :, None]
        y = v[W:, None]
        return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
    if a.model == "classifier":
        y = y.long()
    return x, y


def forward(model, p, x):
    if model == "linreg" or model == "classifier":
        return F.linear(x, p[0], p[1])
    if model == "bigram":
        return F.embedding(x, p[0])
    if model == "hihello":
        h = F.one_hot(x, 5).float()
        z = torch.zeros(1, x.shape[0], 8)
        seq = torch._VF.lstm(h, (z, z), p[:4], True, 1, 0.0, True, False, True)[0]
        return F.linear(seq, p[4], p[5])
    f = torch.stack([x[:, -1, 0], x[:, :, 0].mean(1)], 1)
    return F.linear(f, p[0], p[1])


def loss_fn(model, out, y):
    if model == "classifier":
        return F.cross_entropy(out, y)
    if model in CHARS:
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    return F.mse_loss(out, y)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def compare(got_losses, ref_losses, steps, rows, ref_epochs, out_path, ref_params):
    """Prints the step-loss, per-epoch (metrics CSV rows) and final-weights comparisons of a
    program's training run against the reference's, each 'ok' or 'FAIL' at 1e-4 relative.
    ref_epochs: (train loss, validation loss or nan, metric) per epoch; ref_params: name ->
    tensor."""
    k = steps or len(ref_losses)
    ok = len(got_losses) >= k and len(ref_losses) >= k
    worst = max((rel(g, r) for g, r in zip(got_losses[:k], ref_losses[:k])), default=0.0)
    print(f"step losses: {k} compared, max rel diff {worst:.2e}: {'ok' if ok and worst <= 1e-4 else 'FAIL'}")
    if len(got_losses) != len(ref_losses):
        print(f"step count FAIL: program {len(got_losses)}, reference {len(ref_losses)}")

    worst_e = 0.0
    ok = len(rows) == len(ref_epochs)
    for row, (tl, vl, mt) in zip(rows, ref_epochs):
        worst_e = max(worst_e, rel(float(row["train_loss"]), tl))
        if not math.isnan(vl):
            worst_e = max(worst_e, rel(float(row["val_loss"]), vl), rel(float(row["val_metric"]), mt))
        elif row["val_loss"] or row["val_metric"]:
            ok = False
    print(f"epochs: {len(rows)} rows, max rel diff {worst_e:.2e}: {'ok' if ok and worst_e <= 1e-4 else 'FAIL'}")

    out = load_safetensors(out_path)
    worst_w = 0.0
    ok = sorted(out) == sorted(ref_params)
    for name, p in ref_params.items():
        got = np.array(out[name])
        ref = p.detach().numpy()
        ok = ok and got.shape == ref.shape and got.dtype == np.float32
        worst_w = max(worst_w, float(np.max(np.abs(got - ref) / (1 + np.abs(ref)))))
    print(f"weights: max diff {worst_w:.2e}: {'ok' if ok and worst_w <= 1e-4 else 'FAIL'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(PARAMS))
    ap.add_argument("dir")
    ap.add_argument("--optimizer", default="sgd")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=0.0)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--validation", type=float, default=0.0)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0)
    a = ap.parse_args()
    d = a.dir
    init = load_safetensors(os.path.join(d, "init.st"))
    params = [torch.tensor(np.array(init[n]), requires_grad=True) for n in PARAMS[a.model]]
    if a.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps, weight_decay=a.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=a.lr, momentum=a.momentum, nesterov=a.nesterov,
                              weight_decay=a.weight_decay)
    x, y = load_data(a, d)
    n = x.shape[0]
    n_val = max(1, int(n * a.validation)) if a.validation > 0 else 0
    n_train = n - n_val
    batch = min(a.batch, n_train)
    orders = []
    for line in open(os.path.join(d, "order.txt")):
        head, _, rest = line.partition(":")
        orders.append([int(v) for v in rest.split()])
    got_losses = [float(line.split()[3]) for line in open(os.path.join(d, "loss.txt"))]
    rows = list(csv.DictReader(open(os.path.join(d, "out.csv"))))

    ref_losses, epochs = [], []
    for order in orders:
        assert sorted(order) == list(range(n_train)), "the order is not a permutation of the training examples"
        tot, cnt = 0.0, 0
        for off in range(0, n_train, batch):
            idx = torch.tensor(order[off: off + batch])
            loss = loss_fn(a.model, forward(a.model, params, x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(params, a.clip)
            opt.step()
            ref_losses.append(loss.item())
            tot += loss.item() * len(idx)
            cnt += len(idx)
        val_loss = metric = float("nan")
        if n_val:
            with torch.no_grad():
                s, correct, total = 0.0, 0, 0
                for off in range(n_train, n, batch):
                    xb, yb = x[off: min(off + batch, n)], y[off: min(off + batch, n)]
                    out = forward(a.model, params, xb)
                    s += loss_fn(a.model, out, yb).item() * xb.shape[0]
                    if a.model in ("classifier", "bigram", "hihello"):
                        correct += (out.argmax(-1) == yb).sum().item()
                        total += yb.numel()
                val_loss = s / n_val
                metric = correct / total if total else math.sqrt(val_loss)
        epochs.append((tot / cnt, val_loss, metric))

    compare(got_losses, ref_losses, a.steps, rows, epochs, os.path.join(d, "out.st"),
            dict(zip(PARAMS[a.model], params)))


if __name__ == "__main__":
    main()
