#!/usr/bin/python3
"""Reference vector-Jacobian products with torch.autograd (float64) for
attention-grad.mlir: rnn.attention_grad (dot / general / additive, one-step and
sequence queries, with and without lengths) and rnn.last_step_grad."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

exe, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(5)
B, Q, S, HQ, HK, A = 3, 2, 5, 4, 6, 3
arrs = dict(q=rng.standard_normal((B, HQ)), qs=rng.standard_normal((B, Q, HQ)),
            qd=rng.standard_normal((B, HK)), qds=rng.standard_normal((B, Q, HK)),
            k=rng.standard_normal((B, S, HK)),
            dctx=rng.standard_normal((B, HK)), dctxs=rng.standard_normal((B, Q, HK)),
            dsc=rng.standard_normal((B, S)), dscs=rng.standard_normal((B, Q, S)))
arrs = {k: v.astype(np.float32) for k, v in arrs.items()}
# Mixed lengths: full, a single step, and a middle one.
arrs["n"] = np.array([S, 1, 3], dtype=np.int32)
params = {"gen.weight": rng.standard_normal((HQ, HK)), "add.query.weight": rng.standard_normal((A, HQ)),
          "add.key.weight": rng.standard_normal((A, HK)), "add.v.weight": rng.standard_normal((1, A))}
params = {k: (v * 0.5).astype(np.float32) for k, v in params.items()}
wpath = os.path.join(work, "w.safetensors")
rnnref.save_safetensors(wpath, params)
got = {k: v.astype(np.float64) for k, v in rnnref.infer_arrays(exe, wpath, arrs, work).items()}

# float64 references from the same (f32-rounded) values.
D = {k: torch.from_numpy(v).double() for k, v in arrs.items() if k != "n"}
P = {k: torch.from_numpy(v).double() for k, v in params.items()}
lengths = torch.from_numpy(arrs["n"]).long()
valid = torch.arange(S)[None, :] < lengths[:, None]  # [B, S]
ok = True


def check(name, pairs):
    global ok
    worst = 0.0
    for key, ref in pairs:
        ref = ref.detach().numpy()
        if got[key].shape != ref.shape:
            print(f"{name}: FAIL ({key} has shape {got[key].shape}, expected {ref.shape})")
            ok = False
            return
        err = np.abs(got[key] - ref).max() / max(np.abs(ref).max(), 1e-30)
        worst = max(worst, err)
    good = worst <= 1e-4
    ok &= good
    print(f"{name}: {'ok' if good else 'FAIL'} (max rel err {worst:.2e})")


def leaf(t):
    return t.clone().requires_grad_(True)


def attention(kind, q, k, w, masked):
    """rnn.attention: the context and the weights for q [B, Hq] or [B, Tq, Hq]."""
    seq = q.dim() == 3
    if kind == "additive":
        wq, wk, v = w
        pq, pk = q @ wq.T, k @ wk.T  # [B, (Tq,) A], [B, S, A]
        pre = pq[:, :, None, :] + pk[:, None] if seq else pq[:, None, :] + pk
        scores = torch.tanh(pre) @ v[0]
    else:
        qp = q @ w[0] if kind == "general" else q  # q . (W k_s) = (q W) . k_s
        scores = torch.einsum("bth,bsh->bts" if seq else "bh,bsh->bs", qp, k)
    if masked:
        scores = scores.masked_fill(~(valid[:, None, :] if seq else valid), float("-inf"))
    weights = torch.softmax(scores, -1)
    ctx = torch.einsum("bts,bsh->bth" if seq else "bs,bsh->bh", weights, k)
    return ctx, weights


WEIGHTS = {"dot": [], "general": [("dw", "gen.weight")],
           "additive": [("dwq", "add.query.weight"), ("dwk", "add.key.weight"), ("dv", "add.v.weight")]}
zero_dk = True
for kind in ["dot", "general", "additive"]:
    for shape in ["step", "seq"]:
        for masked in [False, True]:
            qname = ("qd" if kind == "dot" else "q") + ("s" if shape == "seq" else "")
            dctx, dsc = (D["dctx"], D["dsc"]) if shape == "step" else (D["dctxs"], D["dscs"])
            q, k = leaf(D[qname]), leaf(D["k"])
            w = [leaf(P[p]) for _, p in WEIGHTS[kind]]
            ctx, weights = attention(kind, q, k, w, masked)
            grads = torch.autograd.grad(outputs=(ctx, weights), inputs=[q, k] + w,
                                        grad_outputs=(dctx, dsc))
            pre = f"{kind[:3]}_{shape}" + ("_len" if masked else "")
            keys = [f"{pre}_dq", f"{pre}_dk"] + [f"{pre}_{d}" for d, _ in WEIGHTS[kind]]
            check(f"attention_grad {kind}/{shape}" + ("/lengths" if masked else ""),
                  list(zip(keys, grads)))
            if masked:
                # Masked key positions have weight 0: no adjoint through the
                # scores nor as values, exactly (despite nonzero dscores there).
                pad = ~valid
                zero_dk &= bool(np.all(got[f"{pre}_dk"][pad.numpy()] == 0))
                zero_dk &= bool(torch.all(grads[1][pad] == 0))
print(f"masked positions have zero dkeys: {'ok' if zero_dk else 'FAIL'}")
ok &= zero_dk

# rnn.last_step: step T - 1, or lengths[b] - 1.
x = leaf(D["k"])
check("last_step_grad", [("ls_dx", torch.autograd.grad(x[:, -1], x, D["dctx"])[0])])
x = leaf(D["k"])
check("last_step_grad/lengths",
      [("ls_len_dx", torch.autograd.grad(x[torch.arange(B), lengths - 1], x, D["dctx"])[0])])

print("all attention adjoints match autograd" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
