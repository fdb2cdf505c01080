#!/usr/bin/python3
"""PyTorch reference of multi.rnn: compares the outputs `infer` wrote into DIR.

    ref_multi.py WEIGHTS FEATS.npy IDS.npy DIR

multi.rnn: concat(feats, onehot(ids, 4)) -> gru(hidden=2, all steps, return_state) ->
dense(4) -> softmax; outputs scores [B, T, 4] and hn [1, B, 2]. Prints one line per output:
'NAME SHAPE max abs err ok' (or FAIL); exits 1 on a mismatch.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import rnnref  # noqa: E402

w_path, feats_path, ids_path, out_dir = sys.argv[1:]
sd = {k: torch.from_numpy(v) for k, v in rnnref.load_safetensors(w_path).items()}
gru = torch.nn.GRU(7, 2, batch_first=True)
gru.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("enc.")})
feats = torch.from_numpy(np.load(feats_path))
ids = torch.from_numpy(np.load(ids_path).astype(np.int64))
with torch.no_grad():
    seq, hn = gru(torch.cat([feats, F.one_hot(ids, 4).float()], -1))
    scores = torch.softmax(seq @ sd["head.weight"].T + sd["head.bias"], -1)
bad = 0
for name, ref in (("scores", scores), ("hn", hn)):
    out = np.load(os.path.join(out_dir, name + ".npy"))
    err = float(np.abs(out - ref.numpy()).max()) if out.shape == tuple(ref.shape) else np.inf
    ok = out.dtype == np.float32 and err <= 1e-5
    bad += not ok
    print(f"{name} {out.shape} {out.dtype} {'ok' if ok else f'FAIL (err {err})'}")
sys.exit(1 if bad else 0)
