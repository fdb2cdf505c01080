#!/usr/bin/python3
"""Numeric parity of rnnc-compiled programs against PyTorch.

    /usr/bin/python3 test/e2e/parity.py --rnnc build/bin/rnnc --work /tmp/parity \
        [--cell rnn|lstm|gru] [--input onehot|embedding|float] [--seq true|false] [--seed N]
    /usr/bin/python3 test/e2e/parity.py --self-check [--work DIR]     # no rnnc needed

For every case: write the .rnn (test/lib/rnnref.py:model_source), compile it once per
distinct source (`rnnc model.rnn -o prog`), draw weights with the PyTorch reference
(torch.manual_seed, biases perturbed to be nonzero), save them as safetensors, draw an input
(.npy: int64 or int32 token ids, or float32 features), run
`prog infer -w w.safetensors --input x=x.npy -o out.npy` and compare out.npy with PyTorch:
same shape, max abs error <= 1e-5. Exits 1 if any case failed.
"""

import argparse
import hashlib
import os
import sys
import tempfile
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rnnref  # noqa: E402
from rnnref import (make_spec, model_source, build_torch_model, randomize_weights,  # noqa: E402
                    random_input, output_shape, reference_output, save_safetensors,
                    load_safetensors, save_npy, run, RunError, SafetensorsError)

TOL = 1e-5

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
    """Yield (spec, B, T, token_dtype) for every case."""
    for cell in cells:
        for inp in inputs:
            for seq in seqs:
                for over, runs in VARIANTS:
                    spec = make_spec(cell=cell, input=inp, seq=seq, **over)
                    for B, T, tdt in runs:
                        yield spec, B, T, tdt


def label(spec, B, T, tdt):
    s = f"{spec['cell']}/{spec['input']}/seq={'true' if spec['seq'] else 'false'} " \
        f"B={B} T={T} H={spec['hidden']} U={spec['units']}"
    if spec["input"] != "float":
        s += f" V={rnnref.vocab_size(spec)} x:{np.dtype(tdt).str}"
    if spec["input"] == "embedding":
        s += f" D={spec['dim']}"
    if spec["input"] == "float":
        s += f" F={spec['features']}"
    return s


class Compiler:
    """Compiles each distinct model source once; remembers failures too."""

    def __init__(self, rnnc, work):
        self.rnnc, self.dir = rnnc, os.path.join(work, "models")
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
                run([self.rnnc, rnn, "-o", prog], timeout=300)
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
    xpath, opath = os.path.join(d, "x.npy"), os.path.join(d, "out.npy")
    save_npy(xpath, x)
    ref = reference_output(model, x)
    save_npy(os.path.join(d, "ref.npy"), ref)
    with open(os.path.join(d, "model.rnn"), "w") as f:
        f.write(src)
    if os.path.exists(opath):
        os.unlink(opath)
    name = spec["names"]["input"]
    try:
        run([prog, "infer", "-w", wpath, "--input", f"{name}={xpath}", "-o", opath], timeout=120)
    except RunError as e:
        return False, f"{e}\n  (case files in {d})"
    try:
        out = np.load(opath, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        return False, f"cannot load {opath}: {e}"
    want = output_shape(spec, B, T)
    if tuple(out.shape) != tuple(ref.shape) or tuple(ref.shape) != want:
        return False, f"output shape {tuple(out.shape)}, torch {tuple(ref.shape)} (case in {d})"
    if out.dtype != np.float32:
        return False, f"output dtype {out.dtype}, expected float32 (case in {d})"
    if out.size == 0:
        return True, "max abs err 0 (empty)"
    if not np.all(np.isfinite(out)):
        return False, f"non-finite values in output (case in {d})"
    err = float(np.max(np.abs(out.astype(np.float64) - ref.astype(np.float64))))
    msg = f"max abs err {err:.1e}"
    if not err <= TOL:
        i = np.unravel_index(np.argmax(np.abs(out - ref)), out.shape)
        return False, f"{msg} > {TOL:g} at {tuple(int(k) for k in i)}: " \
                      f"got {out[i]:.7g}, torch {ref[i]:.7g} (case in {d})"
    return True, msg


# --------------------------------------------------------------------------------------------
# --self-check: the PyTorch/numpy side alone
# --------------------------------------------------------------------------------------------


def _np_reference(spec, sd, x):
    """Independent float64 numpy implementation of the model, from a state_dict."""
    n = spec["names"]
    g = {k: v.detach().double().numpy() for k, v in sd.items()}
    V = rnnref.vocab_size(spec)
    if spec["input"] == "onehot":
        h = np.eye(V)[x]
    elif spec["input"] == "embedding":
        h = g[n["emb"] + ".weight"][x]
    else:
        h = x.astype(np.float64)
    c = n["cell"]
    Wi, Wh = g[c + ".weight_ih_l0"], g[c + ".weight_hh_l0"]
    bi, bh = g[c + ".bias_ih_l0"], g[c + ".bias_hh_l0"]
    B, T = h.shape[:2]
    H = spec["hidden"]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hs = np.zeros((B, H))
    cs = np.zeros((B, H))
    outs = []
    for t in range(T):
        gi = h[:, t] @ Wi.T + bi
        gh = hs @ Wh.T + bh
        if spec["cell"] == "rnn":
            hs = np.tanh(gi + gh)
        elif spec["cell"] == "lstm":       # gates i, f, g, o
            z = gi + gh
            i, f, gg, o = (z[:, k * H:(k + 1) * H] for k in range(4))
            cs = sig(f) * cs + sig(i) * np.tanh(gg)
            hs = sig(o) * np.tanh(cs)
        else:                              # gates r, z, n
            r = sig(gi[:, :H] + gh[:, :H])
            z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            nn_ = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            hs = (1 - z) * nn_ + z * hs
        outs.append(hs)
    y = np.stack(outs, 1) if spec["seq"] else outs[-1]
    logits = y @ g[n["head"] + ".weight"].T + g[n["head"] + ".bias"]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def self_check(work):
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

    # 3. every model of the matrix: names, reload, shapes, independent numpy reference
    seen = set()
    ncases = 0
    for idx, (spec, B, T, tdt) in enumerate(matrix(rnnref.CELLS, rnnref.INPUTS, (True, False))):
        ncases += 1
        src = model_source(spec)
        nm = spec["names"]
        c, hd = nm["cell"], nm["head"]
        want = {f"{c}.weight_ih_l0", f"{c}.weight_hh_l0", f"{c}.bias_ih_l0", f"{c}.bias_hh_l0",
                f"{hd}.weight", f"{hd}.bias"}
        if spec["input"] == "embedding":
            want.add(f"{nm['emb']}.weight")
        model = randomize_weights(build_torch_model(spec), 1000 + idx)
        sd = model.state_dict()
        lab = label(spec, B, T, tdt)
        check(set(sd) == want, f"{lab}: state_dict names {sorted(sd)}")
        if spec["input"] == "embedding":
            check(tuple(sd[f"{nm['emb']}.weight"].shape) ==
                  (rnnref.vocab_size(spec), spec["dim"]), f"{lab}: embedding shape")
        check(tuple(sd[f"{hd}.weight"].shape) == (spec["units"], spec["hidden"]),
              f"{lab}: head shape")
        check(all(float(v.abs().min()) > 0 for k, v in sd.items() if "bias" in k),
              f"{lab}: biases nonzero")
        x = random_input(spec, B, T, np.random.default_rng(idx), token_dtype=tdt)
        y = reference_output(model, x)
        check(y.shape == output_shape(spec, B, T) and y.dtype == np.float32,
              f"{lab}: output shape {y.shape}")
        check(np.allclose(y.sum(-1), 1, atol=1e-5), f"{lab}: softmax rows sum to 1")
        wp = os.path.join(work, "w.safetensors")
        save_safetensors(wp, sd)
        fresh = randomize_weights(build_torch_model(spec), 99999)
        fresh.load_state_dict({k: torch.from_numpy(v) for k, v in load_safetensors(wp).items()},
                              strict=True)
        check(np.array_equal(reference_output(fresh, x), y), f"{lab}: reload gives same output")
        err = float(np.max(np.abs(_np_reference(spec, sd, x) - y)))
        check(err <= 1e-6, f"{lab}: torch vs numpy float64 reference err {err:.1e}")
        if src not in seen:
            seen.add(src)
            lines = [l for l in src.splitlines() if l and not l.startswith("#")]
            check(lines[0] == f"model {spec['name']}" and
                  lines[-1] == f"output {nm['output']} = softmax({hd})" and
                  any(l.startswith(f"{c} = {spec['cell']}(") for l in lines),
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
    ap.add_argument("--cell", choices=rnnref.CELLS)
    ap.add_argument("--input", choices=rnnref.INPUTS)
    ap.add_argument("--seq", choices=("true", "false"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--self-check", action="store_true",
                    help="check the PyTorch/safetensors side only (no rnnc needed)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    work = os.path.abspath(a.work or tempfile.mkdtemp(prefix="rnnc-parity-"))
    os.makedirs(work, exist_ok=True)
    if a.self_check:
        return 0 if self_check(work) else 1
    if not a.rnnc:
        ap.error("--rnnc is required (or use --self-check)")
    rnnc = os.path.abspath(a.rnnc)
    if not os.access(rnnc, os.X_OK):
        ap.error(f"{rnnc} is not an executable")
    cells = [a.cell] if a.cell else list(rnnref.CELLS)
    inputs = [a.input] if a.input else list(rnnref.INPUTS)
    seqs = [a.seq == "true"] if a.seq else [True, False]
    comp = Compiler(rnnc, work)
    n = nfail = 0
    # enumerate the whole matrix so a case keeps its index (hence seed, work subdir) when
    # filters are given
    for idx, (spec, B, T, tdt) in enumerate(matrix(rnnref.CELLS, rnnref.INPUTS, (True, False))):
        if spec["cell"] not in cells or spec["input"] not in inputs or spec["seq"] not in seqs:
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
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
