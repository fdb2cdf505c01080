#!/usr/bin/python3
"""Helpers of the `generate` tests (numpy only).

    gen_check.py cycle OUT.safetensors
        weights for gen-rnn.mlir that predict the next letter of the cycle a -> b -> c -> d -> a
        with near certainty (the state plays no part): greedy generation from 'a' is 'abcdabc...'
    gen_check.py random SEED SCALE OUT.safetensors
        normal(0, SCALE) weights for gen-rnn.mlir (the recurrent weights matter)
    gen_check.py parity PROG WEIGHTS STEPS PRIME...
        for each prime: greedy `PROG generate` must continue it exactly as the forward function
        predicts: `PROG infer --text` on the generated text (prime + continuation) gives, at each
        position from the end of the prime on, the argmax of the next token, which must be the
        token generated there. Prints 'parity ok: TEXT' per prime (or 'FAIL ...').
    gen_check.py freq FILE (--probs P,P,... | --logits L,L,...) [--temperature T] [--top-k K]
        FILE holds one generated line for a 4-letter vocab 'abcd' after a one-letter prime; the
        letter frequencies of the continuation must match softmax(logits / T) over the top K
        (logits = log p for --probs) within 5 standard deviations. Prints 'freq ok N' (or FAIL).
"""
import math
import os
import subprocess
import sys

import numpy as np


def rnnref():
    """test/lib/rnnref.py, imported only where needed (it is slow to import)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
    import rnnref as m
    return m

NAMES = [("cell.weight_ih_l0", (8, 4)), ("cell.weight_hh_l0", (8, 8)), ("cell.bias_ih_l0", (8,)),
         ("cell.bias_hh_l0", (8,)), ("head.weight", (4, 8)), ("head.bias", (4,))]


def cycle(out):
    w = {n: np.zeros(s, np.float32) for n, s in NAMES}
    w["cell.weight_ih_l0"][:4, :4] = 5 * np.eye(4)       # h[i] = tanh(5) ~ 1 for letter i
    for k in range(4):
        w["head.weight"][k, (k - 1) % 4] = 20            # letter k follows letter k - 1
    rnnref().save_safetensors(out, w)


def random(seed, scale, out):
    r = np.random.default_rng(int(seed))
    rnnref().save_safetensors(out, {n: (float(scale) * r.standard_normal(s)).astype(np.float32)
                                  for n, s in NAMES})


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL {' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def parity(prog, weights, steps, *primes):
    bad = 0
    for prime in primes:
        text = run([prog, "generate", "-w", weights, "--prime", prime, "--steps", steps,
                    "--temperature", "0"])
        if not text.endswith("\n") or not text.startswith(prime):
            print(f"FAIL {prime!r}: output {text!r} does not start with the prime and end with a newline")
            bad += 1
            continue
        text = text[:-1]
        if len(text) != len(prime) + int(steps):
            print(f"FAIL {prime!r}: {len(text) - len(prime)} tokens generated, expected {steps}")
            bad += 1
            continue
        pred = run([prog, "infer", "-w", weights, "--text", text]).rstrip("\n")
        want = pred[len(prime) - 1:len(text) - 1]
        got = text[len(prime):]
        if got != want:
            print(f"FAIL {prime!r}: generated {got!r}, the forward function predicts {want!r}")
            bad += 1
        else:
            print(f"parity ok: {text}")
    return 1 if bad else 0


def freq(path, *args):
    opts = dict(zip(args[::2], args[1::2]))
    if "--probs" in opts:
        logits = np.log(np.maximum(np.array([float(v) for v in opts["--probs"].split(",")]), 1e-30))
    else:
        logits = np.array([float(v) for v in opts["--logits"].split(",")])
    t = float(opts.get("--temperature", "1"))
    k = int(opts.get("--top-k", len(logits)))
    keep = sorted(range(len(logits)), key=lambda i: (-logits[i], i))[:k]
    p = np.zeros(len(logits))
    z = np.array([logits[i] for i in keep]) / t
    p[keep] = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    text = open(path, encoding="utf-8").read()
    gen = text.rstrip("\n")[1:]
    n = len(gen)
    counts = np.array([gen.count(ch) for ch in "abcd"])
    if counts.sum() != n:
        print(f"FAIL unexpected characters in {gen[:40]!r}")
        return 1
    ok = True
    for i, ch in enumerate("abcd"):
        f = counts[i] / n
        tol = 5 * math.sqrt(p[i] * (1 - p[i]) / n) + 1e-12
        if abs(f - p[i]) > tol:
            print(f"FAIL {ch}: frequency {f:.4f}, expected {p[i]:.4f} +- {tol:.4f}")
            ok = False
    if ok:
        print(f"freq ok {n}")
    return 0 if ok else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cycle":
        cycle(*args)
    elif cmd == "random":
        random(*args)
    elif cmd == "parity":
        return parity(*args)
    elif cmd == "freq":
        return freq(*args)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
