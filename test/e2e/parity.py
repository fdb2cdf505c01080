#!/usr/bin/python3
"""Numeric parity of rnnc-compiled programs against PyTorch.

    /usr/bin/python3 test/e2e/parity.py --rnnc build/bin/rnnc --work /tmp/parity \
        [--suite cells|stacked|bidirectional|reverse|state|concat|last|dropout|all ...]
        [--cell rnn|lstm|gru] [--input onehot|embedding|float] [--seq true|false] [--seed N]
    /usr/bin/python3 test/e2e/parity.py --self-check [--suite ...] [--work DIR]   # no rnnc

For every case: write the .rnn (test/lib/rnnref.py:model_source), compile it once per
distinct source (`rnnc model.rnn -o prog`), draw weights with the PyTorch reference
(torch.manual_seed, biases perturbed to be nonzero), save them as safetensors, draw an input
(.npy: int64 or int32 token ids, or float32 features), run
`prog infer -w w.safetensors --input x=x.npy -o out.npy` (`-o DIR` for models with several
outputs: DIR/NAME.npy) and compare every output with PyTorch: same shape, max abs error
<= 1e-5. Exits 1 if any case failed.

Suites (default: all): `cells` the single-layer forward matrix (rnn/lstm/gru x onehot/
embedding/float x return_sequences); `stacked` layers=2/3 (with dropout= between layers);
`bidirectional`; `reverse` (direction=reverse); `state` (return_state=true, h_n/c_n outputs);
`concat` (two recurrent branches joined by concat()); `last` (a last() head); `dropout`
(dropout(x, rate=...) and inter-layer dropout, identity at inference).
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rnnref  # noqa: E402
from rnnref import (make_spec, model_source, build_torch_model, randomize_weights,  # noqa: E402
                    random_input, output_shapes, reference_outputs, save_safetensors,
                    load_safetensors, save_npy, run, RunError, SafetensorsError)

TOL = 1e-5
I32, I64 = np.int32, np.int64

# Model size variants (B and T are symbolic in the model, so each model is compiled once and
# run at several (B, T)). Each entry: (spec overrides, [(B, T, token dtype), ...]).
VARIANTS = [
    # mid-sized, odd hidden size, numeric vocab
    (dict(vocab=7, dim=16, features=8, hidden=37, units=5),
     [(3, 9, np.int64), (1, 1, np.int32)]),
    # degenerate sizes: hidden 1, vocab 2, embedding dim 1, one feature
    (dict(vocab=2, dim=1, features=1, hidden=1, units=2),
     [(1, 9, np.int32), (3, 1, np.int64)]),
    # chars vocab, everything different from everything else
    (dict(vocab="hielo", dim=3, features=3, hidden=8, units=4),
     [(2, 5, np.int64)]),
]


def matrix(cells, inputs, seqs):
    """Yield (spec, B, T, token_dtype) for every case of the `cells` suite."""
    for cell in cells:
        for inp in inputs:
            for seq in seqs:
                for over, runs in VARIANTS:
                    spec = make_spec(cell=cell, input=inp, seq=seq, **over)
                    for B, T, tdt in runs:
                        yield spec, B, T, tdt


# The other suites: per cell, a few (spec overrides, runs) with sizes that include hidden 1,
# batch 1 and time 1. Keep each suite small: every distinct model costs a compile.
_BIG = [(3, 9, I64), (1, 1, I32)]       # batch 3 x 9 steps; batch 1 x 1 step
_H1 = [(1, 9, I32), (3, 1, I64)]        # for hidden=1 models
SUITE_VARIANTS = {
    # long sequences (T = 64): every input kind, many-to-many and many-to-one,
    # stacked and bidirectional
    "long": [
        (dict(input="onehot", seq=True, vocab=7, hidden=37, units=5), [(3, 64, I32)]),
        (dict(input="embedding", seq=False, vocab=9, dim=6, hidden=16, units=3, layers=2),
         [(3, 64, I64), (1, 64, I32)]),
        (dict(input="float", seq=True, features=4, hidden=8, units=2,
              direction="bidirectional"), [(2, 64, I64)]),
    ],
    "stacked": [
        (dict(input="onehot", seq=True, vocab=7, hidden=5, units=4, layers=2), _BIG),
        (dict(input="float", seq=False, features=3, hidden=1, units=2, layers=3), _H1),
        (dict(input="embedding", seq=False, vocab="hielo", dim=4, hidden=8, units=3, layers=2,
              dropout=0.3), [(2, 5, I64)]),
    ],
    "bidirectional": [
        (dict(input="onehot", seq=True, vocab=7, hidden=6, units=4,
              direction="bidirectional"), _BIG),
        (dict(input="float", seq=False, features=2, hidden=1, units=2,
              direction="bidirectional"), _H1),
        (dict(input="embedding", seq=False, vocab="hielo", dim=3, hidden=5, units=4, layers=2,
              direction="bidirectional"), [(2, 5, I32)]),
        (dict(input="float", seq=True, features=4, hidden=3, units=3, layers=2, dropout=0.2,
              direction="bidirectional"), [(2, 4, I64)]),
    ],
    "reverse": [
        (dict(input="onehot", seq=True, vocab=7, hidden=5, units=4, direction="reverse"), _BIG),
        (dict(input="float", seq=False, features=2, hidden=1, units=2, direction="reverse"), _H1),
        (dict(input="embedding", seq=False, vocab="hielo", dim=3, hidden=6, units=3, layers=2,
              direction="reverse"), [(2, 5, I64)]),
    ],
    "state": [
        (dict(input="float", seq=True, features=3, hidden=4, units=3, state=True),
         [(3, 6, I64), (1, 1, I64)]),
        (dict(input="onehot", seq=False, vocab=7, hidden=3, units=4, layers=2,
              direction="bidirectional", state=True), [(2, 5, I64)]),
        (dict(input="embedding", seq=True, vocab=5, dim=2, hidden=1, units=2, layers=2,
              direction="reverse", state=True), [(1, 4, I32), (2, 1, I64)]),
    ],
    "last": [
        (dict(input="onehot", seq=False, pool="last", vocab=7, hidden=5, units=4), _BIG),
        (dict(input="float", seq=False, pool="last", features=2, hidden=1, units=2,
              direction="bidirectional", drop=0.5), _H1),
        (dict(input="embedding", seq=False, pool="last", vocab="hielo", dim=3, hidden=4,
              units=3, layers=2, direction="reverse"), [(2, 5, I64)]),
    ],
    "dropout": [
        (dict(input="onehot", seq=True, vocab=6, hidden=4, units=3, layers=2, dropout=0.5,
              drop=0.3), [(2, 5, I64), (1, 1, I32)]),
    ],
}
# concat: two branches on the same input (not per cell: each entry names both cells)
CONCAT_VARIANTS = [
    (dict(cell="lstm", input="onehot", seq=True, vocab=7, hidden=5, units=4,
          branch=dict(cell="gru", hidden=3, direction="reverse")), _BIG),
    (dict(cell="rnn", input="float", seq=False, features=3, hidden=1, units=2,
          branch=dict(cell="lstm", hidden=2, direction="bidirectional")), _H1),
    (dict(cell="gru", input="embedding", seq=False, vocab="hielo", dim=3, hidden=4, units=3,
          layers=2, drop=0.5, branch=dict(cell="rnn", hidden=3, direction="reverse")),
     [(2, 5, I64)]),
    (dict(cell="lstm", input="float", seq=False, pool="last", features=3, hidden=3, units=3,
          direction="bidirectional", branch=dict(cell="gru", hidden=2)), [(2, 4, I64)]),
    (dict(cell="gru", input="onehot", seq=True, vocab=4, hidden=2, units=3, state=True,
          branch=dict(cell="lstm", hidden=1, layers=2)), [(2, 3, I32)]),
]
SUITES = ("cells", "stacked", "bidirectional", "reverse", "state", "concat", "last", "dropout",
          "long")
# Case numbers (hence seeds and work subdirectories) are SUITE_BASE + position in the suite,
# so a case keeps its number whatever filters are given.
SUITE_BASE = {s: 100 * i for i, s in enumerate(SUITES)}


def suite_cases(suite):
    """Yield (case number, spec, B, T, token_dtype) for every case of a suite."""
    if suite == "cells":
        it = matrix(rnnref.CELLS, rnnref.INPUTS, (True, False))
    elif suite == "concat":
        it = ((make_spec(**over), B, T, tdt) for over, runs in CONCAT_VARIANTS
              for B, T, tdt in runs)
    else:
        it = ((make_spec(cell=cell, **over), B, T, tdt) for cell in rnnref.CELLS
              for over, runs in SUITE_VARIANTS[suite] for B, T, tdt in runs)
    for i, (spec, B, T, tdt) in enumerate(it):
        assert i < 100, f"suite {suite} has too many cases for its numbering"
        yield SUITE_BASE[suite] + i, spec, B, T, tdt


def label(spec, B, T, tdt):
    s = f"{spec['cell']}/{spec['input']}/seq={'true' if spec['seq'] else 'false'} " \
        f"B={B} T={T} H={spec['hidden']} U={spec['units']}"
    if spec["input"] != "float":
        s += f" V={rnnref.vocab_size(spec)} x:{np.dtype(tdt).str}"
    if spec["input"] == "embedding":
        s += f" D={spec['dim']}"
    if spec["input"] == "float":
        s += f" F={spec['features']}"
    return s + rnnref.spec_extras(spec)


class Compiler:
    """Compiles each distinct model source once; remembers failures too."""

    def __init__(self, rnnc, work, opt=2, flags=()):
        self.rnnc, self.dir, self.opt = rnnc, os.path.join(work, "models"), opt
        self.flags = list(flags)
        os.makedirs(self.dir, exist_ok=True)
        self.cache = {}

    def get(self, src):
        if src not in self.cache:
            d = os.path.join(self.dir, hashlib.sha1(src.encode()).hexdigest()[:12])
            os.makedirs(d, exist_ok=True)
            rnn = os.path.join(d, "model.rnn")
            prog = os.path.join(d, "prog")
            with open(rnn, "w") as f:
                f.write(src)
            if os.path.exists(prog):
                os.unlink(prog)
            try:
                run([self.rnnc, f"-O{self.opt}", *self.flags, rnn, "-o", prog], timeout=300)
                if not os.access(prog, os.X_OK):
                    raise RuntimeError(f"rnnc succeeded but {prog} is not an executable")
                self.cache[src] = (prog, None)
            except (RunError, RuntimeError) as e:
                self.cache[src] = (None, f"compile failed ({rnn}): {e}")
        return self.cache[src]


def run_case(comp, work, idx, spec, B, T, tdt, seed):
    """Returns (ok, message)."""
    src = model_source(spec)
    prog, err = comp.get(src)
    if err:
        return False, err
    d = os.path.join(work, "cases", f"{idx:03d}")
    os.makedirs(d, exist_ok=True)
    case_seed = seed * 1000 + idx
    model = randomize_weights(build_torch_model(spec), case_seed)
    wpath = os.path.join(d, "w.safetensors")
    save_safetensors(wpath, model.state_dict())
    rng = np.random.default_rng(case_seed)
    x = random_input(spec, B, T, rng, token_dtype=tdt)
    xpath = os.path.join(d, "x.npy")
    save_npy(xpath, x)
    refs = reference_outputs(model, x)
    want = output_shapes(spec, B, T)
    for k, r in refs.items():
        save_npy(os.path.join(d, f"ref_{k}.npy"), r)
    with open(os.path.join(d, "model.rnn"), "w") as f:
        f.write(src)
    # one output: -o out.npy; several: -o DIR (DIR/NAME.npy)
    several = len(want) > 1
    opath = os.path.join(d, "out" if several else "out.npy")
    if os.path.isdir(opath):
        shutil.rmtree(opath)
    elif os.path.exists(opath):
        os.unlink(opath)
    name = spec["names"]["input"]
    try:
        run([prog, "infer", "-w", wpath, "--input", f"{name}={xpath}", "-o", opath], timeout=120)
    except RunError as e:
        return False, f"{e}\n  (case files in {d})"
    if set(refs) != set(want):
        return False, f"harness: torch outputs {sorted(refs)}, expected {sorted(want)}"
    errs = []
    for k, shape in want.items():
        path = os.path.join(opath, f"{k}.npy") if several else opath
        try:
            out = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001
            return False, f"cannot load {path}: {e}"
        ref = refs[k]
        what = f"output '{k}'" if several else "output"
        if tuple(out.shape) != tuple(ref.shape) or tuple(ref.shape) != shape:
            return False, f"{what} shape {tuple(out.shape)}, torch {tuple(ref.shape)}, " \
                          f"expected {shape} (case in {d})"
        if out.dtype != np.float32:
            return False, f"{what} dtype {out.dtype}, expected float32 (case in {d})"
        if out.size == 0:
            errs.append((k, 0.0))
            continue
        if not np.all(np.isfinite(out)):
            return False, f"non-finite values in {what} (case in {d})"
        err = float(np.max(np.abs(out.astype(np.float64) - ref.astype(np.float64))))
        if not err <= TOL:
            i = np.unravel_index(np.argmax(np.abs(out - ref)), out.shape)
            return False, f"{what}: max abs err {err:.1e} > {TOL:g} at " \
                          f"{tuple(int(q) for q in i)}: got {out[i]:.7g}, torch {ref[i]:.7g} " \
                          f"(case in {d})"
        errs.append((k, err))
    msg = f"max abs err {max(e for _, e in errs):.1e}"
    if several:
        msg += " (" + ", ".join(f"{k} {e:.1e}" for k, e in errs) + ")"
    return True, msg


# --------------------------------------------------------------------------------------------
# --self-check: the PyTorch/numpy side alone
# --------------------------------------------------------------------------------------------


def _np_layer(cell, g, pfx, sfx, h, H, reverse):
    """One direction of one layer in float64 numpy, walking time backwards when reverse
    (outputs written at their own time index). Returns (out [B, T, H], h_T, c_T)."""
    Wi, Wh = g[pfx + ".weight_ih" + sfx], g[pfx + ".weight_hh" + sfx]
    bi, bh = g[pfx + ".bias_ih" + sfx], g[pfx + ".bias_hh" + sfx]
    B, T = h.shape[:2]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hs = np.zeros((B, H))
    cs = np.zeros((B, H))
    out = np.zeros((B, T, H))
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        gi = h[:, t] @ Wi.T + bi
        gh = hs @ Wh.T + bh
        if cell == "rnn":
            hs = np.tanh(gi + gh)
        elif cell == "lstm":               # gates i, f, g, o
            z = gi + gh
            i, f, gg, o = (z[:, k * H:(k + 1) * H] for k in range(4))
            cs = sig(f) * cs + sig(i) * np.tanh(gg)
            hs = sig(o) * np.tanh(cs)
        else:                              # gates r, z, n
            r = sig(gi[:, :H] + gh[:, :H])
            z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            nn_ = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            hs = (1 - z) * nn_ + z * hs
        out[:, t] = hs
    return out, hs, cs


def _np_rec(rec, g, pfx, h):
    """A (stacked, bi/reverse) recurrent layer: (seq, final, h_n, c_n), PyTorch layouts."""
    bidi = rec["direction"] == "bidirectional"
    hn, cn = [], []
    for layer in range(rec["layers"]):
        outs = []
        for d in range(2 if bidi else 1):
            o, hs, cs = _np_layer(rec["cell"], g, pfx, f"_l{layer}" + ("_reverse" if d else ""),
                                  h, rec["hidden"], d == 1 or rec["direction"] == "reverse")
            outs.append(o)
            hn.append(hs)
            cn.append(cs)
        h = np.concatenate(outs, -1)
    final = np.concatenate([hn[-2], hn[-1]], -1) if bidi else hn[-1]
    return h, final, np.stack(hn), np.stack(cn)


def _np_reference(spec, sd, x):
    """Independent float64 numpy implementation of the model, from a state_dict:
    {output name: array}."""
    n = spec["names"]
    g = {k: v.detach().double().numpy() for k, v in sd.items()}
    V = rnnref.vocab_size(spec)
    if spec["input"] == "onehot":
        h = np.eye(V)[x]
    elif spec["input"] == "embedding":
        h = g[n["emb"] + ".weight"][x]
    else:
        h = x.astype(np.float64)
    seq, final, hn, cn = _np_rec(spec, g, n["cell"], h)
    if spec["branch"]:
        seq2, final2, _, _ = _np_rec(spec["branch"], g, n["cell2"], h)
        seq, final = np.concatenate([seq, seq2], -1), np.concatenate([final, final2], -1)
    y = seq if spec["seq"] else seq[:, -1] if spec["pool"] == "last" else final
    logits = y @ g[n["head"] + ".weight"].T + g[n["head"] + ".bias"]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    out = {n["output"]: e / e.sum(-1, keepdims=True)}
    if spec["state"]:
        out[n["hn"]] = hn
        if spec["cell"] == "lstm":
            out[n["cn"]] = cn
    return out


def _param_names(spec):
    """The parameter names rnnc declares for spec (= the PyTorch state_dict keys)."""
    n = spec["names"]
    want = set()
    recs = [(spec, n["cell"])] + ([(spec["branch"], n["cell2"])] if spec["branch"] else [])
    for rec, pfx in recs:
        for layer in range(rec["layers"]):
            for d in range(2 if rec["direction"] == "bidirectional" else 1):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                want |= {f"{pfx}.{w}{sfx}" for w in ("weight_ih", "weight_hh", "bias_ih",
                                                      "bias_hh")}
    want |= {f"{n['head']}.weight", f"{n['head']}.bias"}
    if spec["input"] == "embedding":
        want.add(f"{n['emb']}.weight")
    return want


def self_check(work, suites):
    nfail = 0

    def check(cond, what):
        nonlocal nfail
        if not cond:
            nfail += 1
            print(f"FAIL {what}")
        return cond

    # 1. safetensors round trip + layout
    rng = np.random.default_rng(1)
    ts = {"b.x": rng.standard_normal((3, 5)).astype(np.float32),
          "a": rng.standard_normal(7).astype(np.float32),
          "scalar": np.array(2.5, np.float32), "empty": np.zeros((0, 4), np.float32),
          "i32": rng.integers(-9, 9, (2, 2)).astype(np.int32),
          "i64": rng.integers(-2**40, 2**40, 3).astype(np.int64),
          "torch": torch.randn(4, 2)}
    p = os.path.join(work, "rt.safetensors")
    save_safetensors(p, ts, metadata={"format": "pt"})
    back, meta = load_safetensors(p, with_metadata=True)
    ok = set(back) == set(ts) and meta == {"format": "pt"}
    for k, v in ts.items():
        v = v.numpy() if isinstance(v, torch.Tensor) else v
        ok = ok and back[k].dtype == v.dtype and back[k].shape == v.shape and \
            np.array_equal(back[k], v)
    check(ok, "safetensors round trip")
    raw = open(p, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    check(n % 8 == 0 and raw[8:9] == b"{" and raw[8:8 + n].rstrip(b" ").endswith(b"}"),
          "safetensors header padded to a multiple of 8")
    check(not [f for f in os.listdir(work) if f.endswith(".tmp")], "no temp files left")
    try:
        save_safetensors(os.path.join(work, "bad.safetensors"), {"d": np.zeros(2)})
        check(False, "float64 must be rejected")
    except TypeError:
        pass

    # 2. strictness: each malformed file must raise SafetensorsError
    import json

    def mk(header, data=b"", pad=True, raw_header=None):
        h = raw_header if raw_header is not None else json.dumps(header).encode()
        if pad:
            h += b" " * (-len(h) % 8)
        return len(h).to_bytes(8, "little") + h + data

    good = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    bad_files = {
        "empty file": b"",
        "short length": b"\x08\x00\x00",
        "header beyond file": (1000).to_bytes(8, "little") + b"{}",
        "not json": mk(None, raw_header=b"{not json"),
        "not an object": mk(None, raw_header=b"[1, 2]   "),
        "leading space": mk(None, raw_header=b" {}"),
        "missing data": mk(good, b"\0" * 4),
        "trailing data": mk(good, b"\0" * 12),
        "F16 dtype": mk({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}},
                        b"\0" * 8),
        "size mismatch": mk({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
                            b"\0" * 8),
        "negative dim": mk({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
                           b"\0" * 8),
        "gap": mk({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
        "overlap": mk({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
                      b"\0" * 8),
        "missing key": mk({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
        "extra key": mk({"w": dict(good["w"], extra=1)}, b"\0" * 8),
        "duplicate key": mk(None, b"\0" * 8, raw_header=(
            b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            b'"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')),
        "bad metadata": mk({"__metadata__": {"a": 1}, **good}, b"\0" * 8),
    }
    check(np.array_equal(_load_bytes(work, mk(good, b"\0" * 8))["w"], np.zeros(2, np.float32)),
          "minimal hand-made file loads")
    for what, data in bad_files.items():
        try:
            _load_bytes(work, data)
            check(False, f"malformed safetensors accepted: {what}")
        except SafetensorsError:
            pass

    # 3. every model of the selected suites: names, reload, shapes, independent numpy reference
    seen = set()
    ncases = 0
    for suite in suites:
        for idx, spec, B, T, tdt in suite_cases(suite):
            ncases += 1
            src = model_source(spec)
            nm = spec["names"]
            hd = nm["head"]
            want = _param_names(spec)
            model = randomize_weights(build_torch_model(spec), 1000 + idx)
            sd = model.state_dict()
            lab = label(spec, B, T, tdt)
            check(set(sd) == want, f"{lab}: state_dict names {sorted(sd)}, want {sorted(want)}")
            if spec["input"] == "embedding":
                check(tuple(sd[f"{nm['emb']}.weight"].shape) ==
                      (rnnref.vocab_size(spec), spec["dim"]), f"{lab}: embedding shape")
            check(tuple(sd[f"{hd}.weight"].shape) == (spec["units"], rnnref.head_features(spec)),
                  f"{lab}: head shape")
            check(all(float(v.abs().min()) > 0 for k, v in sd.items() if "bias" in k),
                  f"{lab}: biases nonzero")
            x = random_input(spec, B, T, np.random.default_rng(idx), token_dtype=tdt)
            ys = reference_outputs(model, x)
            shapes = output_shapes(spec, B, T)
            check(list(ys) == list(shapes) and all(
                ys[k].shape == shapes[k] and ys[k].dtype == np.float32 for k in ys),
                f"{lab}: output shapes {[v.shape for v in ys.values()]}, want {shapes}")
            y = ys[nm["output"]]
            check(np.allclose(y.sum(-1), 1, atol=1e-5), f"{lab}: softmax rows sum to 1")
            wp = os.path.join(work, "w.safetensors")
            save_safetensors(wp, sd)
            fresh = randomize_weights(build_torch_model(spec), 99999)
            fresh.load_state_dict({k: torch.from_numpy(v)
                                   for k, v in load_safetensors(wp).items()}, strict=True)
            check(all(np.array_equal(reference_outputs(fresh, x)[k], ys[k]) for k in ys),
                  f"{lab}: reload gives same output")
            npref = _np_reference(spec, sd, x)
            check(list(npref) == list(ys), f"{lab}: numpy outputs {list(npref)}")
            err = max(float(np.max(np.abs(npref[k] - ys[k]))) for k in ys)
            check(err <= 1e-6, f"{lab}: torch vs numpy float64 reference err {err:.1e}")
            if src not in seen:
                seen.add(src)
                lines = [l for l in src.splitlines() if l and not l.startswith("#")]
                check(lines[0] == f"model {spec['name']}" and
                      f"output {nm['output']} = softmax({hd})" in lines and
                      any(l.split(" = ")[0].split(",")[0] == nm["cell"] and
                          l.split(" = ")[1].startswith(f"{spec['cell']}(") for l in lines),
                      f"{lab}: model source\n{src}")
            print(f"ok   {lab}: torch vs numpy err {err:.1e}")
    print(f"self-check: {ncases} models+cases, {len(seen)} distinct sources, "
          f"{len(bad_files)} malformed files rejected; {nfail} failed")
    return nfail == 0


def _load_bytes(work, data):
    p = os.path.join(work, "probe.safetensors")
    with open(p, "wb") as f:
        f.write(data)
    return load_safetensors(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnnc", help="path to the rnnc compiler")
    ap.add_argument("--work", help="scratch directory (default: a new temp dir)")
    ap.add_argument("--opt", type=int, choices=range(4), default=2,
                    help="rnnc optimisation level (-O0..-O3; default 2)")
    ap.add_argument("--rnnc-flag", action="append", default=[],
                    help="extra rnnc option (repeatable), e.g. --rnnc-flag=--directions-min-work=0")
    ap.add_argument("--suite", action="append", choices=SUITES + ("all",),
                    help="suite to run (repeatable; default: all)")
    ap.add_argument("--cell", choices=rnnref.CELLS)
    ap.add_argument("--input", choices=rnnref.INPUTS)
    ap.add_argument("--seq", choices=("true", "false"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--self-check", action="store_true",
                    help="check the PyTorch/safetensors side only (no rnnc needed)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    suites = list(SUITES) if not a.suite or "all" in a.suite else \
        [s for s in SUITES if s in a.suite]
    work = os.path.abspath(a.work or tempfile.mkdtemp(prefix="rnnc-parity-"))
    os.makedirs(work, exist_ok=True)
    if a.self_check:
        return 0 if self_check(work, suites) else 1
    if not a.rnnc:
        ap.error("--rnnc is required (or use --self-check)")
    rnnc = os.path.abspath(a.rnnc)
    if not os.access(rnnc, os.X_OK):
        ap.error(f"{rnnc} is not an executable")
    cells = [a.cell] if a.cell else list(rnnref.CELLS)
    inputs = [a.input] if a.input else list(rnnref.INPUTS)
    seqs = [a.seq == "true"] if a.seq else [True, False]
    comp = Compiler(rnnc, work, a.opt, a.rnnc_flag)
    n = nfail = 0
    # every suite is enumerated whole so that a case keeps its number (hence seed and work
    # subdirectory) when filters are given
    for suite in suites:
        for idx, spec, B, T, tdt in suite_cases(suite):
            if spec["cell"] not in cells or spec["input"] not in inputs or \
                    spec["seq"] not in seqs:
                continue
            n += 1
            lab = label(spec, B, T, tdt)
            try:
                ok, msg = run_case(comp, work, idx, spec, B, T, tdt, a.seed)
            except Exception:  # noqa: BLE001 — a harness bug must not hide the other cases
                ok, msg = False, "harness error:\n" + traceback.format_exc()
            nfail += not ok
            print(f"{'PASS' if ok else 'FAIL'} {lab}: {msg}", flush=True)
    print(f"parity: {n} cases, {nfail} failed ({len(comp.cache)} models compiled; work dir "
          f"{work})")
    return 1 if nfail or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
