"""The loss of a large batch equals PyTorch's (computed in float64) to float32 rounding.

A mean over ~10^6 terms summed left to right in float32 drifts by ~1e-4 relative; rnnc sums
in float64. Usage: loss_precision.py RNNC WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

rnnc, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
MODELS = {
    "mse": ("input x : f32[B, T, 64]\ntarget y : f32[B, T, 256]\n"
            "pred = dense(x, units=256)\noutput o = pred\nloss mse(pred, y)\n"),
    "ce": ("vocab V = size 300\ninput x : f32[B, T, 64]\ntarget y : tokens[B, T] of V\n"
           "logits = dense(x, units=V)\noutput o = logits\nloss cross_entropy(logits, y)\n"),
}
rng = np.random.default_rng(0)
B, T = 64, 64
fails = 0
for name, body in MODELS.items():
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "m.rnn"), "w") as f:
        f.write(f"model {name}\n" + body)
    exe = os.path.join(d, "prog")
    rnnref.run([rnnc, os.path.join(d, "m.rnn"), "-o", exe])
    x = (rng.standard_normal((B, T, 64)) + 3.0).astype(np.float32)
    y = (rng.standard_normal((B, T, 256)).astype(np.float32) if name == "mse"
         else rng.integers(0, 300, (B, T)).astype(np.int32))
    rnnref.save_npy(os.path.join(d, "x.npy"), x)
    rnnref.save_npy(os.path.join(d, "y.npy"), y)
    rnnref.run([exe, "init", "-o", os.path.join(d, "w.st")])
    rnnref.run([exe, "grad", "-w", os.path.join(d, "w.st"), "--input", "x=" + os.path.join(d, "x.npy"),
                "--target", "y=" + os.path.join(d, "y.npy"), "-o", os.path.join(d, "g.st")])
    got = float(np.asarray(rnnref.load_safetensors(os.path.join(d, "g.st"))["loss"]))
    w = rnnref.load_safetensors(os.path.join(d, "w.st"))
    W = torch.tensor(np.asarray(w["pred.weight" if name == "mse" else "logits.weight"])).double()
    bias = torch.tensor(np.asarray(w["pred.bias" if name == "mse" else "logits.bias"])).double()
    # the reference: float32 forward (as rnnc), float64 reduction
    out = (torch.tensor(x) @ W.float().t() + bias.float()).double()
    if name == "mse":
        ref = ((out - torch.tensor(y).double()) ** 2).mean().item()
    else:
        ref = torch.nn.functional.cross_entropy(out.reshape(-1, 300),
                                                torch.tensor(y).long().reshape(-1)).item()
    rel = abs(got - ref) / abs(ref)
    ok = rel <= 1e-6
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'} {name}: rnnc {got:.9g} reference {ref:.9g} rel err {rel:.1e}")
print(f"loss-precision: {len(MODELS)} cases, {fails} failed")
sys.exit(1 if fails else 0)
