#!/usr/bin/python3
"""`rnnc --weight-storage=f16|bf16`: the inference functions read the weights used inside the
time loops (at -O1 and up, where the input projections are hoisted: every `weight_hh`) from a
copy rounded to f16/bf16, with f32 arithmetic.

Each case compiles the same model with f32, f16 and bf16 storage, runs `infer` on the same
weights and input, and compares with PyTorch (float64) on
  - the exact weights: the f32 program must agree to 1e-4 (max abs), the narrow ones differ
    (by more than 0: the storage was narrowed) but stay within f16 2e-3, bf16 2e-2 (about 10x
    the worst effect of the rounding measured here, reported per case);
  - the weights with every weight_hh rounded to the storage type (torch .half()/.bfloat16()):
    the narrow programs must agree to 1e-4 -- exactly the weights that are narrowed, and
    nothing else changes.
Prints one line per case (the max abs errors) and `narrow: N cases, N failed`, then the
worst error against the exact weights per storage type.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rnnref  # noqa: E402

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
ROUND = {"f16": torch.float16, "bf16": torch.bfloat16}
BOUND = {"f16": 2e-3, "bf16": 2e-2}
TOL = 1e-4

CASES = [
    dict(cell="lstm", hidden=96, layers=1, bidi=False),
    dict(cell="gru", hidden=80, layers=1, bidi=False),
    dict(cell="rnn", hidden=128, layers=1, bidi=False),
    dict(cell="lstm", hidden=64, layers=2, bidi=True),
    dict(cell="gru", hidden=72, layers=2, bidi=False),
]
INPUT, BATCH, TIME = 24, 3, 30


def source(c):
    opts = [f"hidden={c['hidden']}", "return_sequences=true"]
    if c["layers"] > 1:
        opts.append(f"layers={c['layers']}")
    if c["bidi"]:
        opts.append("bidirectional=true")
    return "\n".join([
        "model nw",
        f"input x : f32[B, T, {INPUT}]",
        f"seq = {c['cell']}(x, {', '.join(opts)})",
        "output y = seq",
        "",
    ])


def torch_out(c, weights, x, storage=None):
    mod = MODULES[c["cell"]](INPUT, c["hidden"], num_layers=c["layers"], bidirectional=c["bidi"],
                             batch_first=True).double()
    state = {}
    for name, _ in mod.named_parameters():
        w = torch.from_numpy(weights["seq." + name])
        if storage and name.startswith("weight_hh"):
            w = w.to(ROUND[storage]).float()
        state[name] = w.double()
    mod.load_state_dict(state)
    with torch.no_grad():
        y, _ = mod(torch.from_numpy(x).double())
    return y.numpy()


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rnnc", default="rnnc")
    ap.add_argument("--work", required=True)
    ap.add_argument("--opt", default="2")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    failed, worst = 0, {"f16": 0.0, "bf16": 0.0}
    rng = np.random.default_rng(0)
    for i, c in enumerate(CASES):
        d = os.path.join(a.work, f"case{i}")
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "nw.rnn")
        with open(src, "w") as f:
            f.write(source(c))
        progs = {}
        for st in ("f32", "f16", "bf16"):
            progs[st] = os.path.join(d, f"nw_{st}")
            run([a.rnnc, f"-O{a.opt}", f"--weight-storage={st}", src, "-o", progs[st]])
        wpath = os.path.join(d, "w.st")
        run([progs["f32"], "init", "--seed", str(i + 1), "-o", wpath])
        weights = rnnref.load_safetensors(wpath)
        x = rng.standard_normal((BATCH, TIME, INPUT)).astype(np.float32)
        xpath = os.path.join(d, "x.npy")
        rnnref.save_npy(xpath, x)
        outs = {}
        for st, prog in progs.items():
            ypath = os.path.join(d, f"y_{st}.npy")
            run([prog, "infer", "-w", wpath, "-i", f"x={xpath}", "-o", ypath])
            outs[st] = np.load(ypath).astype(np.float64)
        exact = torch_out(c, weights, x)
        errs = {"f32": np.abs(outs["f32"] - exact).max()}
        ok = errs["f32"] <= TOL
        parts = [f"f32 {errs['f32']:.2e}"]
        for st in ("f16", "bf16"):
            vs_exact = np.abs(outs[st] - exact).max()
            vs_rounded = np.abs(outs[st] - torch_out(c, weights, x, st)).max()
            worst[st] = max(worst[st], vs_exact)
            ok = ok and 0 < vs_exact <= BOUND[st] and vs_rounded <= TOL
            parts.append(f"{st} vs exact {vs_exact:.2e}, vs rounded {vs_rounded:.2e}")
        label = f"{c['cell']} H={c['hidden']} L={c['layers']}{' bidi' if c['bidi'] else ''}"
        print(f"{'ok' if ok else 'FAIL'}  {label}: {'; '.join(parts)}")
        failed += not ok
    print(f"narrow: {len(CASES)} cases, {failed} failed")
    for st in ("f16", "bf16"):
        print(f"worst {st} vs f32 weights: {worst[st]:.2e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
