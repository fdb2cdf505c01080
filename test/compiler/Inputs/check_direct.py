#!/usr/bin/python3
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import rnnref  # noqa: E402

d = sys.argv[1]
w = {k: torch.from_numpy(v) for k, v in rnnref.load_safetensors(os.path.join(d, "w.safetensors")).items()}
lstm = torch.nn.LSTM(3, 4, batch_first=True)
lstm.load_state_dict({k[2:]: v for k, v in w.items() if k.startswith("e.")})
x = np.load(os.path.join(d, "x.npy"))
with torch.no_grad():
    _, (h, _) = lstm(torch.from_numpy(x))
y = np.load(os.path.join(d, "out", "y.npy"))
z = np.load(os.path.join(d, "out", "z.npy"))
print("y (final h of the lstm):", "ok" if np.abs(y - h[-1].numpy()).max() <= 1e-5 else "FAIL")
print("z (the input itself):", "ok" if np.array_equal(z, x) else "FAIL")
