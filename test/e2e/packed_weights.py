#!/usr/bin/python3
"""rnn-pack-weights (-O2): the per-step recurrent contractions of batches of 4 rows or more
read the weight from panels of P = 2 x vector width output columns (P = 32 with 16 lanes,
16 with --vector-width 8), the N mod P columns after the last whole panel from the weight
itself; batches of 1-3 rows keep the unpacked code. The forward packs weight_hh [N = gates*H,
H] (N outputs per step), the backward (dh = dG @ weight_hh) packs it read as [gates*H, H]
(H outputs per step), so the backward is packed only when H >= P.

Each model (test/e2e/gradcheck.py's `source`: float input [B, T, 3], one recurrent layer
(stacked / bidirectional for two of them), dense head of 2 units, mse loss over every step;
this script adds the recurrent sequence as a second output) is compiled once and checked:
  - packing: `rnnc --emit=linalg` packs where expected: each recurrent weight in the forward
    functions when N >= P (panels [K=H, P]), once more in the backward when H >= P (panels
    [K=gates*H, P]), nothing otherwise (so the cases below do run the packed path);
  - per batch B in 3 (old path), 4 (the threshold), 5, 13 (12-row register tiles + 1), and for
    some models B = 13 at `--threads 2` (the panels shared between the threads):
      infer: both outputs against PyTorch float64 (same weights, from the program's `init`):
             max abs err <= 1e-5 x max(1, max |ref|) (fp32 vs double, like parity.py);
      grad:  the loss and every parameter's gradient against autograd in float64 (gradcheck.py's
             `reference`): max |g - ref| / max |ref| <= 1e-4 per tensor (as gradcheck.py);
      --threads 2: besides, the outputs and gradients are bit-identical to --threads 1 (the
             runtime's promise: results do not depend on the thread count).
Prints one line per model (packing) and per case (PASS/FAIL with the measured errors), then
`packed: N cases, M failed` (N counts the case lines, packing lines included). Exits 1 if
anything failed (a program that fails to compile or run is a FAIL line with its error).

`--perturb EPS` adds EPS to the reference's weight_hh[-1, -1] of every recurrent layer (one
weight of the last leftover column, forward and backward) to show that the tolerances catch a
wrong weight: at this writing, with EPS 1e-3 (weights ~0.15) 33 of the 44 infer/grad cases
FAIL, with 1e-2 all but one (the 3-row case of the 8-lane model, at 8.8e-6 of 1e-5).
"""
import argparse
import concurrent.futures
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gradcheck  # noqa: E402
import rnnref  # noqa: E402

FWD_TOL = 1e-5    # max abs err, relative to max(1, max |ref|)
GRAD_TOL = 1e-4   # max abs err per tensor / max |ref| of that tensor (gradcheck.py)
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
BATCHES = (3, 4, 5, 13)
TIME, FEATURES = 7, 3

# name, gradcheck case (float input, sequence output, mse per step), rnnc flags, vector width,
# batches also run at --threads 2. Forward N = gates * H, backward N = H; P = 2 * width.
# Comments: panels + leftover columns.
# Every model but the last packs whatever has a whole panel (--pack-min-elements=0: the
# default leaves weights under 16384 elements alone); the last one is big enough for the
# default.
ALL = ["--pack-min-elements=0", "--vector-width=16"]
MODELS = [
    ("lstm-h8", dict(cell="lstm", hidden=8), ALL, 16, []),         # fwd 1 + 0, bwd none
    ("lstm-h37", dict(cell="lstm", hidden=37), ALL, 16, [13]),     # fwd 4 + 20, bwd 1 + 5
    ("gru-h32", dict(cell="gru", hidden=32), ALL, 16, []),         # fwd 3 + 0, bwd 1 + 0
    ("gru-h13", dict(cell="gru", hidden=13), ALL, 16, []),         # fwd 1 + 7, bwd none
    ("rnn-h32", dict(cell="rnn", hidden=32), ALL, 16, []),         # fwd 1 + 0, bwd 1 + 0
    ("rnn-h40", dict(cell="rnn", hidden=40), ALL, 16, []),         # fwd 1 + 8, bwd 1 + 8
    ("rnn-h20", dict(cell="rnn", hidden=20), ALL, 16, []),         # N < P: nothing packed
    ("gru-h53-l2", dict(cell="gru", hidden=53, layers=2), ALL, 16, [13]),      # 4 + 31, 1 + 21
    ("lstm-h33-bi", dict(cell="lstm", hidden=33, bidi=True), ALL, 16, [13]),   # 4 + 4, 1 + 1
    ("lstm-h37-w8", dict(cell="lstm", hidden=37), ["--pack-min-elements=0", "--vector-width=8"], 8, [13]),  # 9 + 4, 2 + 5
    ("lstm-h65", dict(cell="lstm", hidden=65), ["--vector-width=16"], 16, [13]),  # 260x65: 8 + 4, 2 + 1
    # a reduction over 576 hidden units is cut into blocks: the accumulators start from the
    # bias (rnn-vectorize-kernels' seeded contractions) in the first block only
    ("rnn-h576", dict(cell="rnn", hidden=576), ["--vector-width=16"], 16, [13]),  # 18 + 0, 18 + 0
]


def gc_case(c):
    return dict(c, inp="float", seq=True, loss="mse_step")


def geometry(c, width):
    """(P, N forward, N backward, recurrent weights = layers x directions)."""
    h = c["hidden"]
    return 2 * width, GATES[c["cell"]] * h, h, c.get("layers", 1) * (2 if c.get("bidi") else 1)


def split(n, p):
    return f"{n // p} panel{'s' if n // p != 1 else ''} + {n % p}" if n >= p else "none"


def compile_model(rnnc, work, name, c, flags):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    src, exe = os.path.join(d, "m.rnn"), os.path.join(d, "prog")
    with open(src, "w") as f:
        f.write(gradcheck.source(gc_case(c)) + "output h = enc\n")
    rnnref.run([rnnc, "-O2", *flags, src, "-o", exe])
    ir = rnnref.run([rnnc, "-O2", *flags, "--emit=linalg", src]).stdout
    return d, exe, ir


def check_packing(ir, c, width):
    """Counts the panel packs (rank-3 linalg.transpose) in the emitted linalg; returns
    (ok, message)."""
    p, nf, nb, recs = geometry(c, width)
    h = c["hidden"]
    fwd = re.findall(r"linalg\.transpose ins\(\S+ : tensor<\?x(\d+)x(\d+)xf32>\).*"
                     r"permutation = \[0, 2, 1\]", ir)
    bwd = re.findall(r"linalg\.transpose ins\(\S+ : tensor<(\d+)x\?x(\d+)xf32>\).*"
                     r"permutation = \[1, 0, 2\]", ir)
    ok = True
    if nf >= p:  # every forward function (infer, loss, grad) packs each recurrent weight
        ok &= len(fwd) > 0 and len(fwd) % recs == 0 and \
            all((int(a), int(b)) == (p, h) for a, b in fwd)
    else:
        ok &= not fwd
    if nb >= p:
        ok &= len(bwd) == recs and all((int(a), int(b)) == (GATES[c["cell"]] * h, p)
                                       for a, b in bwd)
    else:
        ok &= not bwd
    return ok, (f"P={p}, forward N={nf} ({split(nf, p)}): {len(fwd)} packed; "
                f"backward N={nb} ({split(nb, p)}): {len(bwd)} packed")


def forward_reference(c, W, x):
    """{'o': dense head, 'h': recurrent sequence} in float64 PyTorch."""
    mod = gradcheck.MODULES[c["cell"]](FEATURES, c["hidden"], num_layers=c.get("layers", 1),
                                       bidirectional=bool(c.get("bidi")),
                                       batch_first=True).double()
    mod.load_state_dict({k[4:]: torch.tensor(v, dtype=torch.float64)
                         for k, v in W.items() if k.startswith("enc.")})
    with torch.no_grad():
        seq, _ = mod(torch.from_numpy(x).double())
        head = seq @ torch.from_numpy(W["head.weight"]).double().T + \
            torch.from_numpy(W["head.bias"]).double()
    return {"o": head.numpy(), "h": seq.numpy()}


def run_case(exe, d, W_ref, c, B, threads, rng):
    """Returns (ok, message, program results)."""
    cd = os.path.join(d, f"b{B}-t{threads}")
    os.makedirs(cd, exist_ok=True)
    x = rng.standard_normal((B, TIME, FEATURES)).astype(np.float32)
    y = rng.standard_normal((B, TIME, 2)).astype(np.float32)
    xp, yp = os.path.join(cd, "x.npy"), os.path.join(cd, "y.npy")
    rnnref.save_npy(xp, x)
    rnnref.save_npy(yp, y)
    wfile = os.path.join(d, "w.safetensors")
    th = ["--threads", str(threads)]
    out = os.path.join(cd, "out")
    rnnref.run([exe, "infer", "-w", wfile, "-i", f"x={xp}", "-o", out] + th)
    got = {k: np.load(os.path.join(out, k + ".npy")) for k in ("o", "h")}
    gfile = os.path.join(cd, "g.safetensors")
    rnnref.run([exe, "grad", "-w", wfile, "-i", f"x={xp}", "--target", f"y={yp}", "-o", gfile]
               + th)
    G = rnnref.load_safetensors(gfile)

    ok = True
    fwd_err = 0.0
    for k, r in forward_reference(c, W_ref, x).items():
        g = got[k]
        if g.shape != r.shape or not np.all(np.isfinite(g)):
            return False, f"output {k}: shape {g.shape} (want {r.shape}) or non-finite", None
        fwd_err = max(fwd_err, float(np.abs(g.astype(np.float64) - r).max()) /
                      max(1.0, float(np.abs(r).max())))
    ok &= fwd_err <= FWD_TOL

    ref_loss, ref = gradcheck.reference(gc_case(c), W_ref, x, y, None)
    grad_err = abs(float(G["loss"]) - ref_loss) / max(1.0, abs(ref_loss))
    worst = "loss"
    if set(G) != set(ref) | {"loss"}:
        return False, f"gradient names {sorted(G)}, want {sorted(ref)} + loss", None
    for k, r in ref.items():
        e = float(np.abs(G[k].astype(np.float64) - r).max() / max(1e-8, np.abs(r).max()))
        if e > grad_err:
            grad_err, worst = e, k
    ok &= grad_err <= GRAD_TOL
    msg = (f"infer max abs err {fwd_err:.1e} (tol {FWD_TOL:.0e}), "
           f"grad max rel err {grad_err:.1e} in {worst} (tol {GRAD_TOL:.0e})")
    return ok, msg, (got, G)


def _try(fn, *args):
    """(True, fn(*args)), or (False, the error) if a command failed."""
    try:
        return True, fn(*args)
    except rnnref.RunError as e:
        return False, str(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnnc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--jobs", type=int, default=2, help="parallel compiles (default 2)")
    ap.add_argument("--only", help="run only the models whose name contains this")
    ap.add_argument("--perturb", type=float, default=0.0,
                    help="add this to the reference's weight_hh[-1, -1] (every case must FAIL)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    models = [m for m in MODELS if not a.only or a.only in m[0]]
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        built = list(pool.map(lambda m: _try(compile_model, a.rnnc, a.work, m[0], m[1], m[2]),
                              models))

    ncases = nfail = 0

    def report(ok, what):
        nonlocal ncases, nfail
        ncases += 1
        nfail += not ok
        print(f"{'PASS' if ok else 'FAIL'} {what}", flush=True)

    for mi, ((name, c, flags, width, threaded), (built_ok, res)) in enumerate(zip(models, built)):
        if not built_ok:
            report(False, f"{name}: {res}")
            continue
        d, exe, ir = res
        ok, msg = check_packing(ir, c, width)
        report(ok, f"{name} packing: {msg}")
        wfile = os.path.join(d, "w.safetensors")
        init_ok, err = _try(rnnref.run, [exe, "init", "--seed", str(mi + 1), "-o", wfile])
        if not init_ok:
            report(False, f"{name} init: {err}")
            continue
        W = rnnref.load_safetensors(wfile)
        W_ref = {k: v.copy() for k, v in W.items()}
        if a.perturb:
            for k in W_ref:
                if ".weight_hh" in k:
                    W_ref[k][-1, -1] += a.perturb
        runs = [(B, 1) for B in BATCHES] + [(B, 2) for B in threaded]
        one_thread = {}
        for B, threads in runs:
            # same data for a batch size whatever the thread count
            rng = np.random.default_rng(1000 * mi + B)
            run_ok, out = _try(run_case, exe, d, W_ref, c, B, threads, rng)
            ok, msg, res = out if run_ok else (False, out, None)
            if threads == 1:
                one_thread[B] = res
            elif res is not None and one_thread.get(B) is not None:
                (o1, g1), (o2, g2) = one_thread[B], res
                same = all(np.array_equal(o1[k], o2[k]) for k in o1) and \
                    all(np.array_equal(g1[k], g2[k]) for k in g1)
                ok &= same
                msg += ", bit-identical to --threads 1" if same else \
                    ", DIFFERS from --threads 1"
            report(ok, f"{name} B={B} threads={threads}: {msg}")
    print(f"packed: {ncases} cases, {nfail} failed")
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
