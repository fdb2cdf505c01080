#!/usr/bin/python3
"""Checks a weights file written by `PROG init --seed N -o FILE` against the model.

    check_init.py PROG FILE SEED [PROG FILE SEED]...

- the parameter table of `PROG info` (names, shapes, init) is the expected content: the file
  must load with test/lib/rnnref.py's strict reader and hold exactly those names, shapes, F32;
- the header is padded to a multiple of 8 bytes;
- every value is the documented stream (runtime/lib/rng.c, docs: xoshiro256** seeded by
  splitmix64, params in descriptor order, uniform:b = (2u - 1) b with u = (x >> 11) 2^-53,
  normal:s = s sqrt(-2 ln(1 - u1)) cos(2 pi u2)), recomputed here in Python;
- loosely, the distributions: uniform within [-b, b] and spread over it, normal with mean ~0,
  std ~s and ~20% of the values beyond 1.2816 s (for tensors with enough values).
Per file: a line '== FILE', one 'ok NAME [SHAPE] INIT' line per parameter (or 'FAIL ...'),
then 'init: N params, M values ok' (or FAILED). Exits 1 if any check failed.
"""
import math
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import rnnref  # noqa: E402

M64 = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64  # noqa: E731
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586476925 * u2)


def params_from_info(prog):
    out = subprocess.run([prog, "info"], check=True, stdout=subprocess.PIPE, text=True).stdout
    sec = out.split("\nparameters:\n", 1)[1].split("\n\n", 1)[0]
    params = []
    for line in sec.splitlines():
        m = re.fullmatch(r"  (\S+) +\[([0-9, ]*)\] +f32 +(\d+)  (\S+)", line)
        if not m:
            sys.exit(f"check_init.py: cannot parse info line {line!r}")
        shape = tuple(int(d) for d in m.group(2).split(", ")) if m.group(2) else ()
        params.append((m.group(1), shape, m.group(4)))
    return params


def check(prog, path, seed):
    print(f"== {os.path.basename(path)}")
    want = params_from_info(prog)
    got = rnnref.load_safetensors(path)
    raw = open(path, "rb").read()
    fails = []
    if int.from_bytes(raw[:8], "little") % 8:
        fails.append("header length is not a multiple of 8")
    if set(got) != {n for n, _, _ in want}:
        fails.append(f"tensor names {sorted(got)}, expected {sorted(n for n, _, _ in want)}")
    rng = Rng(seed)
    total = 0
    for name, shape, init in want:
        a = got.get(name)
        n = int(np.prod(shape))
        kind, _, arg = init.partition(":")
        # the reference stream is consumed even if the tensor is missing, to stay in step
        if kind == "uniform":
            b = float(arg)
            ref = np.array([(2.0 * rng.uniform() - 1.0) * b for _ in range(n)], np.float32)
        elif kind == "normal":
            s = float(arg)
            ref = np.array([rng.normal() * s for _ in range(n)], np.float32)
        elif kind in ("zeros", "ones"):
            ref = np.full(n, 1.0 if kind == "ones" else 0.0, np.float32)
        else:
            fails.append(f"{name}: unknown init {init}")
            continue
        if a is None:
            continue
        if a.dtype != np.float32 or a.shape != shape:
            fails.append(f"{name}: {a.dtype} {a.shape}, expected float32 {shape}")
            continue
        v = a.ravel().astype(np.float64)
        total += n
        if kind == "uniform":
            # info prints the bound rounded to 6 digits: compare loosely
            if np.abs(v).max() > b * (1 + 1e-5):
                fails.append(f"{name}: values outside [-{b}, {b}]: max |v| {np.abs(v).max()}")
            if n >= 32 and (v.min() > -0.8 * b or v.max() < 0.8 * b or abs(v.mean()) > 0.25 * b):
                fails.append(f"{name}: not spread over [-b, b]: min {v.min()} max {v.max()}")
            close = np.allclose(v, ref, rtol=1e-5, atol=1e-7 * b)
        elif kind == "normal":
            tails = float((np.abs(v) > 1.2816 * s).mean())  # P(|z| > 1.2816) = 0.2
            if n >= 1000 and (abs(v.mean()) > 0.1 * s or not 0.9 * s < v.std() < 1.1 * s or
                              not 0.16 < tails < 0.24):
                fails.append(f"{name}: mean {v.mean():.3f} std {v.std():.3f} tails {tails:.3f}, "
                             f"expected ~0, ~{s}, ~0.2")
            close = np.allclose(v, ref, rtol=1e-5, atol=1e-6 * s)
        else:
            close = np.array_equal(v, ref)
        if not close:
            i = int(np.argmax(np.abs(v - ref)))
            fails.append(f"{name}: differs from the documented stream at flat index {i}: "
                         f"{v[i]!r} vs {ref[i]!r}")
            continue
        print(f"ok {name} [{', '.join(map(str, shape))}] {init}")
    for f in fails:
        print(f"FAIL {f}")
    print(f"init: {len(want)} params, {total} values {'ok' if not fails else 'FAILED'}")
    return not fails


def main():
    a = sys.argv[1:]
    if not a or len(a) % 3:
        sys.exit(__doc__)
    ok = True
    for i in range(0, len(a), 3):
        ok &= check(a[i], a[i + 1], int(a[i + 2]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
