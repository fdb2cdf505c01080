#!/usr/bin/python3
"""Deterministic data sets for the grad/train tests.

    train_data.py linreg N        x.npy f32[N, 3], y.npy f32[N, 2] (a noisy linear map)
    train_data.py classifier N    x.npy f32[N, 4], y.npy i64[N] in [0, 3)
    train_data.py corpus N        corpus.txt: N characters of "abcd " (a noisy cycle a b c d)
    train_data.py series N        series.csv: a header and N rows "t,value" (a noisy sine)
    train_data.py seqs N T        x.npy i64[N, T] token ids of "abcd " (the corpus's noisy cycle),
                                  y.npy i64[N, T] the next token of each
    train_data.py seqw N T        seqs, plus w.npy f32[N, T]: per-step loss weights in
                                  [0.1, 2.1), about a third exact zeros, row 3 all zero
    train_data.py regseq N T      x.npy f32[N, T, 3], y.npy f32[N, T, 2] (a leaky running sum of
                                  a projection of x, and a noisy copy of x's first feature)

Files go to the current directory.
"""
import math
import sys

import numpy as np


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    r = np.random.default_rng(12345)
    if kind in ("seqs", "seqw", "regseq") and len(sys.argv) != 4:
        sys.exit(__doc__)
    if kind == "linreg":
        x = r.standard_normal((n, 3)).astype(np.float32)
        w = np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]], np.float32)
        y = x @ w.T + np.array([0.5, -0.2], np.float32) + 0.1 * r.standard_normal((n, 2))
        np.save("x.npy", x)
        np.save("y.npy", y.astype(np.float32))
    elif kind == "classifier":
        x = r.standard_normal((n, 4)).astype(np.float32)
        w = r.standard_normal((3, 4))
        np.save("x.npy", x)
        np.save("y.npy", np.argmax(x @ w.T + 0.5 * r.standard_normal((n, 3)), 1).astype(np.int64))
    elif kind == "corpus":
        s, c = [], 0
        for _ in range(n):
            c = (c + 1) % 4 if r.random() < 0.8 else int(r.integers(5))
            s.append("abcd "[c])
        open("corpus.txt", "w").write("".join(s))
    elif kind == "series":
        with open("series.csv", "w") as f:
            f.write('"t","value"\n')
            for t in range(n):
                f.write(f"{t},{math.sin(t * 0.3) + 0.1 * r.standard_normal():.6f}\n")
    elif kind in ("seqs", "seqw"):
        T = int(sys.argv[3])
        ids, c = [], 0
        for _ in range(n * (T + 1)):
            c = (c + 1) % 4 if r.random() < 0.8 else int(r.integers(5))
            ids.append(c)
        a = np.array(ids, np.int64).reshape(n, T + 1)
        np.save("x.npy", a[:, :T].copy())
        np.save("y.npy", a[:, 1:].copy())
        if kind == "seqw":
            w = (r.random((n, T)) * 2 + 0.1) * (r.random((n, T)) >= 0.35)
            w[:, 0] = np.maximum(w[:, 0], 0.5)
            if n > 3:
                w[3] = 0
            np.save("w.npy", w.astype(np.float32))
    elif kind == "regseq":
        T = int(sys.argv[3])
        x = r.standard_normal((n, T, 3)).astype(np.float32)
        y = np.zeros((n, T, 2), np.float32)
        acc = np.zeros(n)
        for t in range(T):
            acc = 0.7 * acc + x[:, t] @ np.array([0.5, -0.3, 0.2])
            y[:, t, 0] = acc
            y[:, t, 1] = x[:, t, 0] + 0.1 * r.standard_normal(n)
        np.save("x.npy", x)
        np.save("y.npy", y)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
