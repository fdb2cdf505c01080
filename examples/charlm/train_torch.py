#!/usr/bin/python3
"""Train the charlm example (charlm.rnn) in PyTorch: a character-level language model of the
GNU GPL version 3 (GPL-3.txt, a verbatim copy of Debian's /usr/share/common-licenses/GPL-3).

The text's whitespace is collapsed to single spaces (34,283 characters, 75 distinct). The
first 90% trains the model, the last 10% is held out. Training cuts the training text into
chunks of T=100 characters (a new random offset every epoch); the target of each step is the
next character. Each chunk starts from a zero state (bptt=full over 100 steps).

    /usr/bin/python3 examples/charlm/train_torch.py

writes, next to this script:
    charlm.safetensors   the weights (state_dict names = the bindings of charlm.rnn)
    val_x.npy, val_y.npy int32 [N, 100]: the held-out text in consecutive chunks, and the same
                         shifted by one character (the targets)
and prints the validation perplexity per character (each held-out chunk from a zero state).
Needs numpy and PyTorch (1.13, CPU); the seed is fixed.

Options (the defaults are the `train` line): --epochs, --lr, --seed (initialisation, chunk
offsets and shuffling); --init W.safetensors starts from those weights (e.g. rnnc's
`./charlm init`) instead of PyTorch's initialisation; --rnnc-data DIR only writes the arrays
for the compiled program's `train` (x.npy, y.npy: the training text in consecutive chunks of
100 from its first character (308 chunks), then the 34 held-out chunks) and prints the
`--validation` fraction that holds out exactly the 34; --fixed-offset trains on those 308
chunks every epoch (as the compiled program does) instead of a new random offset.
"""

import argparse
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "lib"))
from rnnref import save_safetensors, load_safetensors, save_npy, write_rnnc_data  # noqa: E402

T, DIM, HIDDEN, VAL_FRACTION = 100, 32, 128, 0.1
LR, EPOCHS, BATCH, CLIP, SEED = 0.01, 20, 32, 5.0, 0      # the `train` line of charlm.rnn


def load_text(path=os.path.join(HERE, "GPL-3.txt")):
    with open(path, encoding="utf-8") as f:
        return re.sub(r"\s+", " ", f.read()).strip()


TEXT = load_text()
VOCAB = "".join(sorted(set(TEXT)))                 # the characters of the text, in code order


def rnn_literal(chars):
    """The vocabulary as a string literal of the model language."""
    esc = {" ": "\\s", "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t"}
    return "\"" + "".join(esc.get(c, c) for c in chars) + "\""


def encode(s):
    return np.array([VOCAB.index(c) for c in s], dtype=np.int32)


def decode(ids):
    return "".join(VOCAB[int(i)] for i in ids)


class CharLM(nn.Module):
    """e = embedding(x, dim=32); seq = lstm(e, hidden=128, return_sequences=true);
    logits = dense(seq, units=C); output next_char = softmax(logits)."""

    def __init__(self):
        super().__init__()
        self.e = nn.Embedding(len(VOCAB), DIM)
        self.seq = nn.LSTM(DIM, HIDDEN, batch_first=True)
        self.logits = nn.Linear(HIDDEN, len(VOCAB))

    def forward(self, x, state=None):               # x: [B, T] ids -> logits [B, T, C]
        out, state = self.seq(self.e(x), state)
        return self.logits(out), state


def split():
    ids = encode(TEXT)
    n_train = int(len(ids) * (1 - VAL_FRACTION))
    return ids[:n_train], ids[n_train:]


def chunks(ids, offset=0):
    """Consecutive (x, y) chunks of T steps starting at offset; y = x shifted by one."""
    n = (len(ids) - 1 - offset) // T
    x = np.stack([ids[offset + i * T: offset + (i + 1) * T] for i in range(n)])
    y = np.stack([ids[offset + i * T + 1: offset + (i + 1) * T + 1] for i in range(n)])
    return x.astype(np.int32), y.astype(np.int32)


def perplexity(probs, y):
    """exp(mean negative log-likelihood of the targets) from probabilities [N, T, C]."""
    p = np.take_along_axis(np.asarray(probs, dtype=np.float64), np.asarray(y)[..., None], -1)
    return float(np.exp(-np.log(p).mean()))


def sample(model, prime, steps, temperature, gen):
    model.eval()
    out = prime
    with torch.no_grad():
        logits, state = model(torch.from_numpy(encode(prime)).long()[None])
        for _ in range(steps):
            p = torch.softmax(logits[0, -1] / temperature, -1)
            i = int(torch.multinomial(p, 1, generator=gen))
            out += VOCAB[i]
            logits, state = model(torch.tensor([[i]]), state)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--outdir", default=HERE)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--seed", type=int, default=SEED,
                    help="initialisation, chunk offsets and shuffling")
    ap.add_argument("--fixed-offset", action="store_true",
                    help="cut the training text into chunks at offset 0 every epoch (the chunks of "
                         "--rnnc-data) instead of at a new random offset")
    ap.add_argument("--init", metavar="W.safetensors",
                    help="initial weights (e.g. from `./charlm init`)")
    ap.add_argument("--rnnc-data", metavar="DIR",
                    help="write x.npy, y.npy for `./charlm train` to DIR and exit")
    args = ap.parse_args()

    with open(os.path.join(HERE, "charlm.rnn"), encoding="utf-8") as f:
        src = f.read()
    lit = rnn_literal(VOCAB)
    if f"vocab C = {lit}" not in src:
        print(f"error: charlm.rnn must declare  vocab C = {lit}", file=sys.stderr)
        return 1

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train_ids, val_ids = split()
    vx, vy = chunks(val_ids)
    if args.rnnc_data:
        tx, ty = chunks(train_ids)
        write_rnnc_data(args.rnnc_data, {"x": (tx, vx), "y": (ty, vy)}, len(vy))
        return 0
    print(f"text: {len(TEXT)} characters, {len(VOCAB)} distinct; train {len(train_ids)}, "
          f"validation {len(val_ids)} ({vx.shape[0]} chunks of {T})")
    model = CharLM()
    if args.init:
        init = load_safetensors(args.init)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()

    def val_ppl():
        model.eval()
        with torch.no_grad():
            logits, _ = model(torch.from_numpy(vx).long())
            return perplexity(torch.softmax(logits, -1).numpy(), vy)

    for epoch in range(1, args.epochs + 1):
        model.train()
        x, y = chunks(train_ids, 0 if args.fixed_offset else int(rng.integers(0, T)))
        X, Y = torch.from_numpy(x).long(), torch.from_numpy(y).long()
        perm = torch.randperm(len(X), generator=gen)
        total, n = 0.0, 0
        for b in range(0, len(X), BATCH):
            i = perm[b:b + BATCH]
            opt.zero_grad()
            logits, _ = model(X[i])
            loss = F.cross_entropy(logits.reshape(-1, len(VOCAB)), Y[i].reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            opt.step()
            total, n = total + loss.item() * len(i), n + len(i)
        if epoch % 5 == 0:
            print(f"epoch {epoch:3d}  train perplexity {math.exp(total / n):6.3f}  "
                  f"validation perplexity {val_ppl():6.3f}")
    ppl = val_ppl()
    print(f"validation perplexity {ppl:.3f} per character ({vx.size} characters); "
          f"{args.epochs} epochs in {time.time() - t0:.1f} s")
    print("sample (PyTorch, temperature 0.8): " +
          repr(sample(model, "The ", 200, 0.8, torch.Generator().manual_seed(1))))

    os.makedirs(args.outdir, exist_ok=True)
    wpath = os.path.join(args.outdir, "charlm.safetensors")
    save_safetensors(wpath, model.state_dict())
    save_npy(os.path.join(args.outdir, "val_x.npy"), vx)
    save_npy(os.path.join(args.outdir, "val_y.npy"), vy)
    fresh = CharLM()
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in load_safetensors(wpath).items()})
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(torch.from_numpy(vx).long())[0],
                           model(torch.from_numpy(vx).long())[0])
    print(f"wrote {wpath}, val_x.npy, val_y.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
