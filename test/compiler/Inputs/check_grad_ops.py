#!/usr/bin/python3
"""Reference vector-Jacobian products with torch.autograd for grad-ops.mlir."""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

exe, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
torch.manual_seed(0)
B, T = 3, 4
wpath = os.path.join(work, "w.safetensors")
subprocess.run([exe, "init", "--seed", "2", "-o", wpath], check=True)
P = {k: torch.from_numpy(v).double() for k, v in rnnref.load_safetensors(wpath).items()}
g = torch.Generator().manual_seed(1)
rnd = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
D = dict(gx=rnd(B, 12), gh=rnd(B, 12), c=rnd(B, 3), dh=rnd(B, 3), dc=rnd(B, 3), rx=rnd(B, 9),
         rh=rnd(B, 9), h=rnd(B, 3), ax=rnd(B, 3), x3=rnd(B, T, 5), dy3=rnd(B, T, 4),
         z=rnd(B, T, 4) * 2, pred=rnd(B, 3), ptgt=rnd(B, 3))
I = dict(tgt=torch.randint(0, 4, (B, T), generator=g), tok=torch.randint(0, 6, (B, T), generator=g))
arrays = {k: v.numpy().astype(np.float32 if v.is_floating_point() else np.int32)
          for k, v in list(D.items()) + list(I.items())}
D = {k: torch.from_numpy(arrays[k]).double() for k in D}   # the f32-rounded values
got = {k: v.astype(np.float64) for k, v in rnnref.infer_arrays(exe, wpath, arrays, work).items()}
ok = True


def check(name, pairs):
    global ok
    worst = 0.0
    for key, ref in pairs:
        ref = ref.detach().numpy()
        err = np.abs(got[key] - ref).max() / max(1.0, np.abs(ref).max())
        worst = max(worst, err)
    good = worst <= 1e-4
    ok &= good
    print(f"{name}: {'ok' if good else 'FAIL'} (max rel err {worst:.2e})")


def leaf(t):
    return t.clone().requires_grad_(True)


# LSTM gates: h', c' from gx + gh and c.
gx, gh, c = leaf(D["gx"]), leaf(D["gh"]), leaf(D["c"])
i, f, gg, o = (gx + gh).chunk(4, 1)
c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
h2 = torch.sigmoid(o) * torch.tanh(c2)
dgx, dcp = torch.autograd.grad((h2, c2), (gx, c), (D["dh"], D["dc"]))
check("lstm_gates_grad", [("lstm_dg", dgx), ("lstm_dc", dcp)])

# GRU gates (PyTorch's formulation).
rx, rh, h = leaf(D["rx"]), leaf(D["rh"]), leaf(D["h"])
xr, xz, xn = rx.chunk(3, 1)
hr, hz, hn = rh.chunk(3, 1)
r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
n = torch.tanh(xn + r * hn)
h2 = n + z * (h - n)
a, b, cc = torch.autograd.grad(h2, (rx, rh, h), D["dh"])
check("gru_gates_grad", [("gru_dgx", a), ("gru_dgh", b), ("gru_dh", cc)])

# Activations: the adjoint of the pre-activation, given the output.
pre = leaf(D["ax"] + D["h"])
t_ref = torch.autograd.grad(torch.tanh(pre), pre, D["dh"])[0]
r_ref = torch.autograd.grad(torch.relu(pre), pre, D["dh"])[0]
pre_s = leaf(D["ax"] @ P["w3"].T)
s_ref = torch.autograd.grad(torch.sigmoid(pre_s), pre_s, D["dh"])[0]
check("activation_grad tanh/sigmoid/relu", [("act_tanh", t_ref), ("act_sigmoid", s_ref), ("act_relu", r_ref)])

# Dense.
x3, w, bias = leaf(D["x3"]), leaf(P["w"]), leaf(torch.zeros(4, dtype=torch.float64))
y = x3 @ w.T + bias
a, b, cc = torch.autograd.grad(y, (x3, w, bias), D["dy3"])
check("dense_grad", [("dense_dx", a), ("dense_dw", b), ("dense_db", cc)])

# Softmax.
zz = leaf(D["z"])
check("softmax_grad", [("softmax_dz", torch.autograd.grad(torch.softmax(zz, -1), zz, D["dy3"])[0])])

# Cross-entropy (mean over positions), scaled by dloss = 1.5.
zz = leaf(D["z"])
loss = 1.5 * F.cross_entropy(zz.reshape(-1, 4), I["tgt"].reshape(-1))
check("cross_entropy_grad", [("ce_dlogits", torch.autograd.grad(loss, zz)[0])])

# MSE, scaled by 1.5.
p = leaf(D["pred"])
check("mse_grad", [("mse_dpred", torch.autograd.grad(1.5 * F.mse_loss(p, D["ptgt"]), p)[0])])

# Embedding.
table = leaf(torch.zeros(6, 4, dtype=torch.float64))
check("embedding_grad", [("emb_dtable", torch.autograd.grad(table[I["tok"]], table, D["dy3"])[0])])

print("all adjoints match autograd" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
