#!/usr/bin/python3
"""Padded variable-length batches vs PyTorch's pack_padded_sequence.

Each case compiles a model with `lengths=` (an input) or `mask_zero=true`
(lengths from padding), runs it on a batch of mixed lengths (padding after
each example's last token, with garbage or zeros), and compares every output
with PyTorch: outputs past an example's length are zero, the last state is
taken at each example's own last step, the backward direction starts there.
Max abs error <= 1e-5. Prints one line per case and `padded: N cases, N failed`.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rnnref  # noqa: E402

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def source(cell, mode, hidden, layers, bidi, seq):
    lines = ["model padded", "vocab W = size 7", "input x : tokens[B, T] of W"]
    if mode == "lengths":
        lines.append("input n : lengths[B]")
    lines.append("e = embedding(x, dim=3%s)" % (", mask_zero=true" if mode == "mask" else ""))
    opts = f"hidden={hidden}, layers={layers}, bidirectional={'true' if bidi else 'false'}"
    opts += ", return_sequences=true" if seq != "final" else ""
    opts += ", return_state=true"
    if mode == "lengths":
        opts += ", lengths=n"
    names = "enc, hn" + (", cn" if cell == "lstm" else "")
    lines.append(f"{names} = {cell}(e, {opts})")
    lines.append("output y = enc")
    lines.append("output h = hn")
    if seq == "last":
        lines.append("l = last(enc%s)" % (", lengths=n" if mode == "lengths" else ""))
        lines.append("output z = l")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rnnc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--opt", type=int, choices=range(4), default=2,
                    help="rnnc optimisation level (-O0..-O3; default 2)")
    ap.add_argument("--cell", choices=list(MODULES))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cases, failed = 0, 0
    rng = np.random.default_rng(4)
    for cell in ([args.cell] if args.cell else list(MODULES)):
        for mode in ["lengths", "mask"]:
            for hidden, layers, bidi, seq in [(4, 1, False, "seq"), (3, 2, True, "seq"),
                                              (5, 1, True, "final"), (1, 1, False, "last"),
                                              (6, 2, False, "last")]:
                cases += 1
                name = f"{cell}-{mode}-h{hidden}-l{layers}-{'bi' if bidi else 'uni'}-{seq}"
                d = os.path.join(args.work, name)
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, "m.rnn"), "w") as f:
                    f.write(source(cell, mode, hidden, layers, bidi, seq))
                exe = os.path.join(d, "prog")
                rnnref.run([args.rnnc, f"-O{args.opt}", os.path.join(d, "m.rnn"), "-o", exe])
                torch.manual_seed(cases)
                emb = torch.nn.Embedding(7, 3)
                rnn = MODULES[cell](3, hidden, num_layers=layers, bidirectional=bidi, batch_first=True)
                state = {"e.weight": emb.weight.detach().numpy()}
                for k, v in rnn.state_dict().items():
                    state["enc." + k] = v.numpy()
                w = os.path.join(d, "w.safetensors")
                rnnref.save_safetensors(w, state)
                B, T = 4, 6
                lens = np.array([6, 1, 3, 5], dtype=np.int64)
                x = rng.integers(1, 7, size=(B, T))
                for b in range(B):
                    x[b, lens[b]:] = 0 if mode == "mask" else rng.integers(0, 7, size=T - lens[b])
                np.save(os.path.join(d, "x.npy"), x)
                cmd = [exe, "infer", "-w", w, "--input", "x=" + os.path.join(d, "x.npy")]
                if mode == "lengths":
                    np.save(os.path.join(d, "n.npy"), lens.astype(np.int32))
                    cmd += ["--input", "n=" + os.path.join(d, "n.npy")]
                out = os.path.join(d, "out")
                rnnref.run(cmd + ["-o", out])
                with torch.no_grad():
                    packed = pack_padded_sequence(emb(torch.from_numpy(x)), torch.from_numpy(lens),
                                                  batch_first=True, enforce_sorted=False)
                    o, st = rnn(packed)
                    o, _ = pad_packed_sequence(o, batch_first=True, total_length=T)
                    hn = st[0] if cell == "lstm" else st
                    dirs = 2 if bidi else 1
                    final = torch.cat([hn[-2], hn[-1]], -1) if bidi else hn[-1]
                    ref = {"y": o if seq != "final" else final, "h": hn}
                    if seq == "last":
                        ref["z"] = o[torch.arange(B), torch.from_numpy(lens) - 1]
                    del dirs
                err = 0.0
                for key, r in ref.items():
                    got = np.load(os.path.join(out, key + ".npy"))
                    if got.shape != tuple(r.shape):
                        err = float("inf")
                        break
                    err = max(err, float(np.abs(got - r.numpy()).max()))
                ok = err <= 1e-5
                failed += not ok
                print(f"{'PASS' if ok else 'FAIL'} {name}: max abs err {err:.1e}")
    print(f"padded: {cases} cases, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
