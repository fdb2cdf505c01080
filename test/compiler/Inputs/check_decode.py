#!/usr/bin/python3
"""Step-by-step PyTorch reference for test/compiler/decode.mlir."""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

exe, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
wpath = os.path.join(work, "w.safetensors")
subprocess.run([exe, "init", "--seed", "11", "-o", wpath], check=True)
P = {k: torch.from_numpy(v) for k, v in rnnref.load_safetensors(wpath).items()}
rng = np.random.default_rng(5)
B, T, U = 3, 5, 4
data = dict(h0=rng.standard_normal((B, 8)), c0=rng.standard_normal((B, 8)),
            keys=rng.standard_normal((B, T, 8)))
data = {k: v.astype(np.float32) for k, v in data.items()}
data["n"] = np.array([5, 2, 3], dtype=np.int32)
data["y"] = rng.integers(0, 6, size=(B, U)).astype(np.int32)
cmd = [exe, "infer", "-w", wpath]
for k, v in data.items():
    np.save(os.path.join(work, k + ".npy"), v)
    cmd += ["--input", f"{k}={os.path.join(work, k + '.npy')}"]
out = os.path.join(work, "out")
subprocess.run(cmd + ["-o", out], check=True)
got = {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}

cell = torch.nn.LSTMCell(4, 8)
cell.load_state_dict({k[5:]: v for k, v in P.items() if k.startswith("cell.")})
keys = torch.from_numpy(data["keys"])
mask = torch.arange(T)[None, :] < torch.from_numpy(data["n"])[:, None].long()


def step(prev, h, c):
    h, c = cell(P["emb.weight"][prev], (h, c))
    scores = torch.einsum("bh,bth->bt", h @ P["att.weight"], keys).masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, -1)
    ctx = torch.einsum("bt,bth->bh", w, keys)
    s = torch.cat([h, ctx], -1) @ P["out.weight"].T + P["out.bias"]
    return s, w, h, c


with torch.no_grad():
    h, c = torch.from_numpy(data["h0"]), torch.from_numpy(data["c0"])
    prev = torch.full((B,), 1, dtype=torch.long)
    forced, attn = [], []
    y = torch.from_numpy(data["y"]).long()
    for t in range(U):
        s, w, h, c = step(prev, h, c)
        forced.append(s)
        attn.append(w)
        prev = y[:, t]
    forced, attn = torch.stack(forced, 1).numpy(), torch.stack(attn, 1).numpy()
    h, c = torch.from_numpy(data["h0"]), torch.from_numpy(data["c0"])
    prev = torch.full((B,), 1, dtype=torch.long)
    greedy = []
    for t in range(7):
        s, w, h, c = step(prev, h, c)
        greedy.append(s)
        prev = s.argmax(-1)
    greedy = torch.stack(greedy, 1).numpy()

e1 = np.abs(got["forced"] - forced).max()
e2 = np.abs(got["forced_attn"] - attn).max()
print(f"teacher forcing: scores {'ok' if e1 <= 1e-5 else 'FAIL %g' % e1}, "
      f"attention weights {'ok' if e2 <= 1e-5 else 'FAIL %g' % e2}")
toks_ok = np.array_equal(got["greedy"].argmax(-1), greedy.argmax(-1))
e3 = np.abs(got["greedy"] - greedy).max()
print(f"greedy: tokens {'ok' if toks_ok else 'FAIL'}, scores {'ok' if e3 <= 1e-5 else 'FAIL %g' % e3}")
sys.exit(0 if max(e1, e2, e3) <= 1e-5 and toks_ok else 1)
