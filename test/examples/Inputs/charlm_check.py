#!/usr/bin/python3
"""Runs the compiled charlm program on the committed held-out chunks of GPL-3.txt and
compares it with the PyTorch model of examples/charlm/train_torch.py loaded from the same
weights.

    charlm_check.py EXE EXAMPLE_DIR WORKDIR

Prints the max abs error of the probabilities against PyTorch and the perplexity of each, and
checks that greedy generation (`generate --temperature 0`) writes PyTorch's greedy text."""
import os
import subprocess
import sys

import numpy as np
import torch

exe, exdir, work = sys.argv[1:4]
sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, exdir)
import train_torch as ex  # noqa: E402

os.makedirs(work, exist_ok=True)
weights = os.path.join(exdir, "charlm.safetensors")
vx, vy = np.load(os.path.join(exdir, "val_x.npy")), np.load(os.path.join(exdir, "val_y.npy"))
out = os.path.join(work, "next_char.npy")
subprocess.run([exe, "infer", "-w", weights, "--input", "x=" + os.path.join(exdir, "val_x.npy"),
                "-o", out], check=True)
got = np.load(out)

torch.set_num_threads(1)
model = ex.CharLM()
model.load_state_dict({k: torch.from_numpy(v) for k, v in ex.load_safetensors(weights).items()})
model.eval()
with torch.no_grad():
    ref = torch.softmax(model(torch.from_numpy(vx).long())[0], -1).numpy()
assert got.shape == ref.shape, (got.shape, ref.shape)
err = float(np.abs(got - ref).max())
print(f"shape {list(got.shape)}")
print(f"max abs err {err:.3g} <= 1e-05: {'ok' if err <= 1e-5 else 'FAIL'}")
print(f"rnnc perplexity {ex.perplexity(got, vy):.3f}")
print(f"torch perplexity {ex.perplexity(ref, vy):.3f}")

prime, steps = "The ", 80
gen = subprocess.run([exe, "generate", "-w", weights, "--prime", prime, "--steps", str(steps),
                      "--temperature", "0"], check=True, stdout=subprocess.PIPE, text=True).stdout
text = prime
with torch.no_grad():
    logits, state = model(torch.from_numpy(ex.encode(prime)).long()[None])
    for _ in range(steps):
        i = int(logits[0, -1].argmax())
        text += ex.VOCAB[i]
        logits, state = model(torch.tensor([[i]]), state)
same = gen.rstrip("\n") == text
print(f"greedy generation {'matches' if same else 'DIFFERS from'} torch: {gen.rstrip()!r}")
sys.exit(0 if err <= 1e-5 and same else 1)
