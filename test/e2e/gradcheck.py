#!/usr/bin/python3
"""Gradients of compiled programs (`prog grad`) against PyTorch autograd, and
against central finite differences of the compiled loss itself.

Each case writes a model with a loss, compiles it, draws weights and data,
runs `prog grad`, and compares the loss and every parameter's gradient with
the same network in PyTorch (float64): relative error (max |g - ref| over max
|ref|) <= 1e-4. With --fd, a few coordinates per parameter are also checked
by central differences of the program's own loss (float32, eps 1e-2:
|fd - g| <= 2e-3 + 2e-2 |g|; not across relu's kink). The FD column prints the
worst |fd - g| / tolerance (pass <= 1). Prints one line per case and
`gradcheck: N cases, N failed`.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rnnref  # noqa: E402

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
ACTS = {"none": lambda x: x, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


HIDDEN = 4  # hidden units of a case (--hidden)


def case_list(suite="default"):
    cases = []
    if suite == "stacked":  # unidirectional stacks (rnn-stacked-wavefront)
        for cell in MODULES:
            cases.append(dict(cell=cell, inp="float", seq=True, loss="mse_step", layers=2))
            cases.append(dict(cell=cell, inp="embedding", seq=False, loss="ce_class", layers=3))
            cases.append(dict(cell=cell, inp="onehot", seq=True, loss="ce_step", layers=2, reverse=True))
        return cases
    for cell in MODULES:
        cases.append(dict(cell=cell, inp="onehot", seq=True, loss="ce_step"))
        cases.append(dict(cell=cell, inp="embedding", seq=False, loss="ce_class"))
        cases.append(dict(cell=cell, inp="float", seq=False, loss="mse", act="tanh"))
        cases.append(dict(cell=cell, inp="embedding", seq=True, loss="ce_step", layers=2, bidi=True))
        cases.append(dict(cell=cell, inp="float", seq=True, loss="mse_step", reverse=True, act="sigmoid"))
        cases.append(dict(cell=cell, inp="mask", seq=False, loss="ce_class", bidi=True))
        cases.append(dict(cell=cell, inp="lengths", seq=True, loss="mse_step", layers=2, act="relu"))
    return cases


def source(c):
    cell, h = c["cell"], c.get("hidden", HIDDEN)
    lines = ["model g"]
    if c["inp"] != "float":
        lines += ["vocab V = size 6", "input x : tokens[B, T] of V"]
    else:
        lines += ["input x : f32[B, T, 3]"]
    if c["inp"] == "lengths":
        lines.append("input n : lengths[B]")
    if c["inp"] == "onehot":
        lines.append("e = onehot(x)")
    elif c["inp"] in ("embedding", "lengths"):
        lines.append("e = embedding(x, dim=3)")
    elif c["inp"] == "mask":
        lines.append("e = embedding(x, dim=3, mask_zero=true)")
    src = "x" if c["inp"] == "float" else "e"
    opts = [f"hidden={h}"]
    if c.get("layers", 1) > 1:
        opts.append(f"layers={c['layers']}")
    if c.get("bidi"):
        opts.append("bidirectional=true")
    if c.get("reverse"):
        opts.append("direction=reverse")
    if c["seq"]:
        opts.append("return_sequences=true")
    if c["inp"] == "lengths":
        opts.append("lengths=n")
    lines.append(f"enc = {cell}({src}, {', '.join(opts)})")
    units = {"ce_step": 6, "ce_class": 3, "mse": 2, "mse_step": 2}[c["loss"]]
    lines.append(f"head = dense(enc, units={units}, activation={c.get('act', 'none')})")
    lines.append("output o = head")
    tgt = {"ce_step": "tokens[B, T] of V", "ce_class": "class[B] of 3", "mse": "f32[B, 2]",
           "mse_step": "f32[B, T, 2]"}[c["loss"]]
    lines.append(f"target y : {tgt}")
    lines.append("loss %s(head, y)" % ("mse" if c["loss"].startswith("mse") else "cross_entropy"))
    return "\n".join(lines) + "\n"


def name_of(c):
    return "-".join([c["cell"], c["inp"], "seq" if c["seq"] else "last", c["loss"]] +
                    (["l%d" % c["layers"]] if c.get("layers", 1) > 1 else []) +
                    (["bi"] if c.get("bidi") else []) + (["rev"] if c.get("reverse") else []) +
                    ([c["act"]] if c.get("act") else []))


def reference(c, W, x, y, lens):
    """Loss and gradients in float64 PyTorch."""
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in W.items()}
    cell, h, layers = c["cell"], c.get("hidden", HIDDEN), c.get("layers", 1)
    bidi = bool(c.get("bidi"))
    xt = torch.from_numpy(x)
    if c["inp"] == "float":
        e = xt.double()
    elif c["inp"] == "onehot":
        e = F.one_hot(xt.long(), 6).double()
    else:
        e = P["e.weight"][xt.long()]
    mod = MODULES[cell](e.shape[-1], h, num_layers=layers, bidirectional=bidi,
                        batch_first=True).double()
    mod.load_state_dict({k[4:]: torch.tensor(v, dtype=torch.float64)
                         for k, v in W.items() if k.startswith("enc.")})
    if c.get("reverse"):
        e = torch.flip(e, [1])
    if lens is not None:
        packed = pack_padded_sequence(e, torch.from_numpy(lens), batch_first=True,
                                      enforce_sorted=False)
        o, st = mod(packed)
        o, _ = pad_packed_sequence(o, batch_first=True, total_length=x.shape[1])
    else:
        o, st = mod(e)
    if c.get("reverse"):
        o = torch.flip(o, [1])
    hn = st[0] if cell == "lstm" else st
    if not c["seq"]:
        o = torch.cat([hn[-2], hn[-1]], -1) if bidi else hn[-1]
    head = ACTS[c.get("act", "none")](o @ P["head.weight"].T + P["head.bias"])
    yt = torch.from_numpy(y)
    if c["loss"] == "ce_step":
        loss = F.cross_entropy(head.reshape(-1, head.shape[-1]), yt.long().reshape(-1))
    elif c["loss"] == "ce_class":
        loss = F.cross_entropy(head, yt.long())
    else:
        loss = F.mse_loss(head, yt.double())
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in P.items() if not k.startswith("enc.")}
    grads.update({"enc." + k: v.grad.numpy() for k, v in mod.named_parameters()})
    return float(loss), grads


def run_grad(exe, d, wfile, files):
    out = os.path.join(d, "g.safetensors")
    cmd = [exe, "grad", "-w", wfile, "-o", out]
    for kind, name, path in files:
        cmd += [f"--{kind}", f"{name}={path}"]
    rnnref.run(cmd)
    return rnnref.load_safetensors(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rnnc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--opt", type=int, choices=range(4), default=2,
                    help="rnnc optimisation level (-O0..-O3; default 2)")
    ap.add_argument("--cell", choices=list(MODULES))
    ap.add_argument("--fd", action="store_true", help="also check finite differences")
    ap.add_argument("--hidden", type=int, default=4, help="hidden units of every case (default 4)")
    ap.add_argument("--batch", type=int, default=3, help="batch of every case (default 3)")
    ap.add_argument("--time", type=int, default=5, help="steps of every case (default 5)")
    ap.add_argument("--suite", choices=["default", "stacked"], default="default",
                    help="the cases: default, or unidirectional stacks of 2 and 3 layers")
    ap.add_argument("--rnnc-flag", action="append", default=[],
                    help="extra rnnc option (repeatable), e.g. --rnnc-flag=--gate-block=8")
    args = ap.parse_args()
    global HIDDEN
    HIDDEN = args.hidden
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(7)
    ncases = nfail = 0
    for c in case_list(args.suite):
        if args.cell and c["cell"] != args.cell:
            continue
        ncases += 1
        name = name_of(c)
        d = os.path.join(args.work, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "m.rnn"), "w") as f:
            f.write(source(c))
        exe = os.path.join(d, "prog")
        rnnref.run([args.rnnc, f"-O{args.opt}", *args.rnnc_flag, os.path.join(d, "m.rnn"), "-o", exe])
        wfile = os.path.join(d, "w.safetensors")
        rnnref.run([exe, "init", "--seed", str(ncases), "-o", wfile])
        W = rnnref.load_safetensors(wfile)
        B, T = args.batch, args.time
        lens = None
        if c["inp"] == "float":
            x = rng.standard_normal((B, T, 3)).astype(np.float32)
        else:
            x = rng.integers(1, 6, size=(B, T)).astype(np.int32)
        if c["inp"] in ("mask", "lengths"):
            lens = np.array([(T, 2, 4)[b % 3] for b in range(B)], dtype=np.int64)
            for b in range(B):
                x[b, lens[b]:] = 0
        if c["loss"] == "ce_step":
            y = rng.integers(0, 6, size=(B, T)).astype(np.int32)
        elif c["loss"] == "ce_class":
            y = rng.integers(0, 3, size=(B,)).astype(np.int32)
        elif c["loss"] == "mse":
            y = rng.standard_normal((B, 2)).astype(np.float32)
        else:
            y = rng.standard_normal((B, T, 2)).astype(np.float32)
            if lens is not None:  # padded steps output zeros; give them zero targets
                for b in range(B):
                    y[b, lens[b]:] = 0
        files = []
        for kind, nm, arr in [("input", "x", x), ("target", "y", y)] + (
                [("input", "n", lens.astype(np.int32))] if c["inp"] == "lengths" else []):
            p = os.path.join(d, nm + ".npy")
            np.save(p, arr)
            files.append((kind, nm, p))
        G = run_grad(exe, d, wfile, files)
        ref_loss, ref = reference(c, W, x, y, lens)
        worst = abs(float(G["loss"]) - ref_loss) / max(1.0, abs(ref_loss))
        for k, r in ref.items():
            worst = max(worst, float(np.abs(G[k] - r).max() / max(1e-8, np.abs(r).max())))
        ok = worst <= 1e-4
        fd_note = ""
        # Central differences are meaningless across relu's kink.
        if ok and args.fd and c.get("act") != "relu":
            fd_worst = 0.0
            eps = 1e-2
            for k in W:
                for idx in [tuple(rng.integers(0, s) for s in W[k].shape) for _ in range(2)]:
                    vals = []
                    for sgn in (1, -1):
                        W2 = {kk: vv.copy() for kk, vv in W.items()}
                        W2[k][idx] += sgn * eps
                        p2 = os.path.join(d, "w2.safetensors")
                        rnnref.save_safetensors(p2, W2)
                        vals.append(float(run_grad(exe, d, p2, files)["loss"]))
                    fd = (vals[0] - vals[1]) / (2 * eps)
                    # |fd - g| <= atol + rtol |g|, atol for float32 noise
                    err = abs(fd - float(G[k][idx])) / (2e-3 + 2e-2 * abs(float(G[k][idx])))
                    fd_worst = max(fd_worst, err)
            ok = fd_worst <= 1.0
            fd_note = f", finite differences {fd_worst:.2f} of tolerance"
        nfail += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: loss and grads max rel err {worst:.1e}{fd_note}")
    print(f"gradcheck: {ncases} cases, {nfail} failed")
    sys.exit(1 if nfail else 0)


if __name__ == "__main__":
    main()
