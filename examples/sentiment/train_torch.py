#!/usr/bin/python3
"""Train the sentiment example (sentiment.rnn) in PyTorch: is a short review positive?

Data: sentences.tsv, 497 short review-like English sentences (films, books, food, hotels,
gadgets) written by hand for this example, each labelled `pos` or `neg` when it was written.
Most come in groups of two (blank-line separated): a sentence and a counterpart of opposite
sentiment on the same topic. A fixed permutation (seed 0) of the groups holds out 20% of them
for validation, so a sentence and its counterpart are always on the same side.

Tokens: the sentence in lower case, split into words (runs of letters, digits and
apostrophes). words.txt is `<pad>` (id 0: padding), `<unk>` (id 1: any word seen fewer than
twice in the training sentences), then the other training words in alphabetical order.
A batch is padded at the end with id 0; the embedding's mask_zero=true makes the LSTM stop
at each row's first 0 (pack_padded_sequence here).

    /usr/bin/python3 examples/sentiment/train_torch.py

writes words.txt, sentiment.safetensors, val_x.npy (int32 [N, T], padded with 0) and
val_y.npy (int32 [N], 1 = positive) next to this script and prints the validation accuracy.
Needs numpy and PyTorch (1.13, CPU); the seed is fixed.

Options (the defaults are the `train` line): --epochs, --lr, --seed (initialisation and
shuffling; the held-out split stays the same); --init W.safetensors starts from those weights
(e.g. rnnc's `./sentiment init`) instead of PyTorch's initialisation; --rnnc-data DIR only
writes the arrays for the compiled program's `train` (x.npy, y.npy: the 397 training
sentences, then the 100 held-out ones, all padded with 0 to the longest) and prints the
`--validation` fraction that holds out exactly the 100.
"""

import argparse
import collections
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "lib"))
from rnnref import save_safetensors, load_safetensors, save_npy, write_rnnc_data  # noqa: E402

DIM, HIDDEN, VAL_FRACTION, MIN_COUNT = 32, 32, 0.2, 2
LR, EPOCHS, BATCH, SEED = 0.01, 20, 16, 0          # the `train` line of sentiment.rnn
LABELS = ["neg", "pos"]                             # class ids 0 and 1


def tokenize(sentence):
    return re.findall(r"[a-z0-9']+", sentence.lower())


def load_groups(path=os.path.join(HERE, "sentences.tsv")):
    """[[(words, label id), ...], ...]: the groups of sentences.tsv (blank-line separated)."""
    groups, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    groups.append(cur)
                cur = []
                continue
            label, sentence = line.rstrip("\n").split("\t")
            cur.append((tokenize(sentence), LABELS.index(label)))
    if cur:
        groups.append(cur)
    return groups


def split(groups):
    """Hold out VAL_FRACTION of the groups (a fixed permutation): a sentence and its
    counterpart are always on the same side."""
    perm = np.random.default_rng(SEED).permutation(len(groups))
    n_val = int(round(len(groups) * VAL_FRACTION))
    train = [ex for g in sorted(perm[n_val:]) for ex in groups[g]]
    val = [ex for g in sorted(perm[:n_val]) for ex in groups[g]]
    return train, val


def build_vocab(train):
    counts = collections.Counter(w for words, _ in train for w in words)
    return ["<pad>", "<unk>"] + sorted(w for w, n in counts.items() if n >= MIN_COUNT)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def encode(data, words, T=None):
    """(x int32 [N, T] padded with 0 at the end, y int32 [N]); T: the longest by default."""
    index = {w: i for i, w in enumerate(words)}
    T = T or max(len(ws) for ws, _ in data)
    x = np.zeros((len(data), T), dtype=np.int32)
    for r, (ws, _) in enumerate(data):
        x[r, :len(ws)] = [index.get(w, 1) for w in ws]
    return x, np.array([y for _, y in data], dtype=np.int32)


class Sentiment(nn.Module):
    """e = embedding(x, dim=32, mask_zero=true); h = lstm(e, hidden=32);
    logits = dense(h, units=2); output probs = softmax(logits)."""

    def __init__(self, n_words):
        super().__init__()
        self.e = nn.Embedding(n_words, DIM, padding_idx=0)
        self.h = nn.LSTM(DIM, HIDDEN, batch_first=True)
        self.logits = nn.Linear(HIDDEN, 2)

    def forward(self, x):                           # x: [B, T] ids, 0 = padding -> [B, 2]
        lengths = torch.where(x == 0, torch.arange(x.shape[1]), x.shape[1]).min(1).values
        packed = pack_padded_sequence(self.e(x), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, (h_n, _) = self.h(packed)                # final state at each row's own end
        return self.logits(h_n[-1])


def load_model(weights, words):
    model = Sentiment(len(words))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in load_safetensors(weights).items()})
    model.eval()
    return model


def accuracy(scores, y):
    return float((np.asarray(scores).argmax(-1) == np.asarray(y)).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--outdir", default=HERE)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--seed", type=int, default=SEED, help="initialisation and shuffling")
    ap.add_argument("--init", metavar="W.safetensors",
                    help="initial weights (e.g. from `./sentiment init`)")
    ap.add_argument("--rnnc-data", metavar="DIR",
                    help="write x.npy, y.npy for `./sentiment train` to DIR and exit")
    args = ap.parse_args()
    out = args.outdir

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train, val = split(load_groups())
    words = build_vocab(train)
    if args.rnnc_data:
        T = max(len(ws) for ws, _ in train + val)
        (tx, ty), (vx, vy) = encode(train, words, T), encode(val, words, T)
        write_rnnc_data(args.rnnc_data, {"x": (tx, vx), "y": (ty, vy)}, len(vy))
        return 0
    os.makedirs(out, exist_ok=True)
    tx, ty = encode(train, words)
    vx, vy = encode(val, words)
    print(f"{len(train)} training sentences ({ty.mean():.0%} positive), {len(val)} validation "
          f"({vy.mean():.0%} positive); vocabulary {len(words)} words; validation words "
          f"<unk>: {(vx == 1).sum() / (vx > 0).sum():.1%}")

    model = Sentiment(len(words))
    if args.init:
        init = load_safetensors(args.init)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    X, Y = torch.from_numpy(tx).long(), torch.from_numpy(ty).long()
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for b in range(0, len(X), BATCH):
            i = perm[b:b + BATCH]
            xb = X[i][:, :int((X[i] > 0).sum(1).max())]   # pad only to the batch's longest
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), Y[i])
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        model.eval()
        with torch.no_grad():
            acc = accuracy(model(torch.from_numpy(vx).long()).numpy(), vy)
            tacc = accuracy(model(X).numpy(), ty)
        if epoch % 2 == 0:
            print(f"epoch {epoch:3d}  train loss {total / len(X):.4f}  train accuracy "
                  f"{tacc:.4f}  validation accuracy {acc:.4f}")
    with torch.no_grad():
        acc = accuracy(model(torch.from_numpy(vx).long()).numpy(), vy)
    print(f"validation accuracy {acc:.4f} ({int(round(acc * len(vy)))}/{len(vy)} sentences); "
          f"{args.epochs} epochs in {time.time() - t0:.1f} s")

    with open(os.path.join(out, "words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    wpath = os.path.join(out, "sentiment.safetensors")
    save_safetensors(wpath, model.state_dict())
    save_npy(os.path.join(out, "val_x.npy"), vx)
    save_npy(os.path.join(out, "val_y.npy"), vy)
    fresh = load_model(wpath, read_lines(os.path.join(out, "words.txt")))
    with torch.no_grad():
        assert torch.equal(fresh(torch.from_numpy(vx).long()), model(torch.from_numpy(vx).long()))
    print(f"wrote {wpath}, words.txt, val_x.npy, val_y.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
