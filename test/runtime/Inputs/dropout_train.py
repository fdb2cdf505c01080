#!/usr/bin/python3
"""Helpers of train-dropout.test (`PROG train` of models with dropout).

    dropout_train.py data cls N          x.npy f32[N, 5, 3], y.npy i64[N] in [0, 3)
    dropout_train.py data reg N T        x.npy f32[N, T, 3], y.npy f32[N, T, 2]
    dropout_train.py twin IN.rnn OUT.rnn the same model with every dropout rate 0 (no dropout
                                         in training either)
    dropout_train.py poison ORDER E K IN.npy OUT.npy [STEP]
                                         IN with NaN in the example at position K of epoch E of
                                         a --dump-order file, at time step STEP (default 0):
                                         training stops at that optimizer step (window)
    dropout_train.py wdiff A B MIN       max |A - B| over the tensors of two safetensors files:
                                         prints 'differ' when >= MIN, else 'close'
    dropout_train.py valloss PROG W CSV E --kind ce|mse --nval N
                                         the validation loss that CSV reports for epoch E vs the
                                         loss without dropout of weights W (after epoch E) on
                                         the last N examples of x.npy / y.npy: PROG infer's
                                         output, cross entropy of its probabilities or mse, in
                                         float64 (relative difference <= 1e-5). Also the loss
                                         with dropout (PROG grad --seed 1 on those examples)
                                         must differ by > 1e-3 relative: the check has teeth.
    dropout_train.py replay PROG INIT ORDER LOSSES OUT SEED LR BATCH
                                         replays epoch 1 of `PROG train --optimizer sgd
                                         --momentum 0` (full BPTT; weights INIT, --seed SEED,
                                         --lr LR, --batch BATCH; ORDER from --dump-order,
                                         LOSSES from --dump-loss, trained weights OUT, 1 epoch)
                                         with `PROG grad --seed S_k` per step k, S_k the
                                         masks' seed of step k (train.c, dropout_for_step):
                                         mix64(SEED * 0xD1B54A32D192ED03 + mix64(k * 1024 + 1)),
                                         mix64 splitmix64's finaliser. Each step's loss (1e-6
                                         relative) and the final weights (1e-6) must agree.

Files are read from and written to the current directory.
"""
import csv
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from rnnref import load_safetensors  # noqa: E402


def data(kind, n, t=None):
    r = np.random.default_rng(2024)
    if kind == "cls":
        x = r.standard_normal((n, 5, 3)).astype(np.float32)
        s = x.sum((1, 2)) + 0.5 * r.standard_normal(n)
        y = np.digitize(s, [-1.0, 1.0]).astype(np.int64)
        np.save("x.npy", x)
        np.save("y.npy", y)
    else:
        x = r.standard_normal((n, t, 3)).astype(np.float32)
        acc = np.zeros((n, 3), np.float32)
        y = np.zeros((n, t, 2), np.float32)
        for k in range(t):
            acc = 0.7 * acc + x[:, k]
            y[:, k, 0] = np.tanh(acc[:, 0] - acc[:, 1])
            y[:, k, 1] = x[:, k, 2] + 0.1 * r.standard_normal(n)
        np.save("x.npy", x)
        np.save("y.npy", y)


def twin(src, dst):
    text = open(src).read()
    text, n1 = re.subn(r"\bdropout=[0-9.eE+-]+", "dropout=0.0", text)
    text, n2 = re.subn(r"\brate=[0-9.eE+-]+", "rate=0.0", text)
    assert n1 + n2 > 0, "no dropout in the model"
    open(dst, "w").write(text)


def read_order(order):
    rows = {}
    for line in open(order):
        head, _, rest = line.partition(":")
        rows[int(head.split()[1])] = [int(v) for v in rest.split()]
    return rows


def poison(order, epoch, pos, src, dst, step=0):
    k = read_order(order)[epoch][pos]
    x = np.load(src)
    x[k, step].flat[0] = np.nan
    np.save(dst, x)
    print(f"poisoned example {k}")


M64 = (1 << 64) - 1


def fin64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def replay(prog, init, order, losses, out, seed, lr, batch):
    from rnnref import save_safetensors
    perm = read_order(order)[1]
    dumped = [float(line.split()[3]) for line in open(losses)]
    x, y = np.load("x.npy"), np.load("y.npy")
    W = load_safetensors(init)
    nsteps = (len(perm) + batch - 1) // batch
    worst = 0.0
    for k in range(nsteps):
        idx = perm[k * batch:(k + 1) * batch]
        np.save("rp_x.npy", x[idx])
        np.save("rp_y.npy", y[idx])
        save_safetensors("rp_w.st", W)
        s = fin64((seed * 0xD1B54A32D192ED03 + fin64(k * 1024 + 1)) & M64)
        subprocess.run([prog, "grad", "-w", "rp_w.st", "-i", "x=rp_x.npy", "--target", "y=rp_y.npy",
                        "-o", "rp_g.st", "--seed", str(s)], check=True)
        G = load_safetensors("rp_g.st")
        worst = max(worst, abs(float(G["loss"]) - dumped[k]) / max(1e-12, abs(dumped[k])))
        W = {n: (v - np.float32(lr) * G[n]).astype(np.float32) for n, v in W.items()}
    F = load_safetensors(out)
    wd = max(float(np.abs(F[n].astype(np.float64) - W[n]).max()) for n in W)
    ok = len(dumped) == nsteps and worst <= 1e-6 and wd <= 1e-6
    print(f"replay: {'ok' if ok else 'FAIL'} ({nsteps} steps of {len(dumped)}, step losses max rel "
          f"diff {worst:.1e}, weights max diff {wd:.1e})")


def wdiff(a, b, lim):
    A, Bw = load_safetensors(a), load_safetensors(b)
    assert sorted(A) == sorted(Bw), (sorted(A), sorted(Bw))
    d = max(float(np.abs(A[k].astype(np.float64) - Bw[k]).max()) for k in A)
    print(("differ" if d >= lim else "close") + f": max |diff| {d:.3g}")


def valloss(prog, w, csvfile, epoch, kind, nval):
    x, y = np.load("x.npy"), np.load("y.npy")
    xv, yv = x[-nval:], y[-nval:]
    np.save("val_x.npy", xv)
    np.save("val_y.npy", yv)
    subprocess.run([prog, "infer", "-w", w, "-i", "x=val_x.npy", "-o", "val_out.npy"], check=True)
    out = np.load("val_out.npy").astype(np.float64)
    if kind == "ce":
        ref = float(-np.log(out[np.arange(nval), yv]).mean())
    else:
        ref = float(((out - yv) ** 2).mean())
    rows = list(csv.DictReader(open(csvfile)))
    got = float(rows[epoch - 1]["val_loss"])
    rel = abs(got - ref) / max(1e-12, abs(ref))
    subprocess.run([prog, "grad", "-w", w, "-i", "x=val_x.npy", "--target", "y=val_y.npy",
                    "-o", "val_g.st", "--seed", "1"], check=True)
    drop = float(load_safetensors("val_g.st")["loss"])
    teeth = abs(drop - ref) / abs(ref)
    ok = rel <= 1e-5 and teeth > 1e-3
    print(f"val_loss epoch {epoch}: {'ok' if ok else 'FAIL'} (csv {got:.9g}, without dropout "
          f"{ref:.9g}, rel diff {rel:.1e}; with dropout {drop:.6g})")


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "data":
        data(a[1], int(a[2]), int(a[3]) if len(a) > 3 else None)
    elif a[0] == "twin":
        twin(a[1], a[2])
    elif a[0] == "poison":
        poison(a[1], int(a[2]), int(a[3]), a[4], a[5], int(a[6]) if len(a) > 6 else 0)
    elif a[0] == "wdiff":
        wdiff(a[1], a[2], float(a[3]))
    elif a[0] == "valloss":
        opts = dict(zip(a[5::2], a[6::2]))
        valloss(a[1], a[2], a[3], int(a[4]), opts["--kind"], int(opts["--nval"]))
    elif a[0] == "replay":
        replay(a[1], a[2], a[3], a[4], a[5], int(a[6]), float(a[7]), int(a[8]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
