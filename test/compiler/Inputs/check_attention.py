#!/usr/bin/python3
"""Compares the compiled attention program with a PyTorch reference
(Luong dot/general, Bahdanau additive, masked by lengths); max abs err 1e-5."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

exe, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(3)
B, T, S = 3, 4, 7
arrs = dict(q=rng.standard_normal((B, 6)), qs=rng.standard_normal((B, T, 6)),
            k=rng.standard_normal((B, S, 6)))
arrs = {k: v.astype(np.float32) for k, v in arrs.items()}
arrs["n"] = np.array([7, 3, 1], dtype=np.int32)
params = {"gen.weight": rng.standard_normal((6, 6)), "add.query.weight": rng.standard_normal((5, 6)),
          "add.key.weight": rng.standard_normal((5, 6)), "add.v.weight": rng.standard_normal((1, 5))}
params = {k: (v * 0.5).astype(np.float32) for k, v in params.items()}
wpath = os.path.join(work, "w.safetensors")
rnnref.save_safetensors(wpath, params)
got = rnnref.infer_arrays(exe, wpath, arrs, work)

t = {k: torch.from_numpy(v) for k, v in arrs.items()}
P = {k: torch.from_numpy(v) for k, v in params.items()}
mask = torch.arange(S)[None, :] < t["n"][:, None].long()  # [B, S]


def attend(scores, keys, m):
    scores = scores.masked_fill(~m, float("-inf"))
    w = torch.softmax(scores, -1)
    return w @ keys if w.dim() == 3 else torch.einsum("bs,bsh->bh", w, keys), w


k = t["k"]
ref = {}
ref["dot"] = attend(torch.einsum("bh,bsh->bs", t["q"], k), k, mask)
ref["general"] = attend(torch.einsum("bh,bsh->bs", t["q"] @ P["gen.weight"], k), k, mask)
add = torch.tanh((t["q"] @ P["add.query.weight"].T)[:, None, :] + k @ P["add.key.weight"].T)
ref["additive"] = attend((add @ P["add.v.weight"].T)[..., 0], k, mask)
ref["general-seq"] = attend(torch.einsum("bth,bsh->bts", t["qs"] @ P["gen.weight"], k), k,
                            mask[:, None, :])
names = {"dot": "dot", "general": "general", "additive": "additive", "general-seq": "seq"}
ok = True
for kind, (c, w) in ref.items():
    err = max(np.abs(got["ctx_" + names[kind]] - c.numpy()).max(),
              np.abs(got["w_" + names[kind]] - w.numpy()).max())
    good = err <= 1e-5
    ok &= good
    print(f"{kind}: {'ok' if good else 'FAIL'} (max abs err {err:.2e})")
masked = all(np.all(got["w_" + n][1, ..., 3:] == 0) and np.all(got["w_" + n][2, ..., 1:] == 0)
             for n in names.values())
print(f"masked positions have zero weight: {'ok' if masked else 'FAIL'}")
sys.exit(0 if ok and masked else 1)
