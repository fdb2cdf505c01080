#!/usr/bin/python3
"""PyTorch reference of `PROG train` with truncated back-propagation through time: the
stateful language-model recipe of PyTorch's examples/word_language_model (the hidden state
detached from window to window), with torch.nn.LSTM / torch.nn.GRU (batch_first) and
torch.optim, replayed on the program's data and example order, compared with its results.

    tbptt_ref.py MODEL RUNDIR --k1 K1 [--k2 K2] --batch N [options]

MODEL is tlstm | tgru | tgrureg (Inputs/MODEL.rnn: embedding + 2-layer LSTM on --text; one-hot +
GRU on .npy tokens; 2-layer GRU regression on .npy floats). RUNDIR holds the program's files:
init.st (initial weights), loss.txt (--dump-loss), order.txt (--dump-order, .npy only),
out.st (-o), out.csv (--metrics), and the data: corpus.txt (--text) or x.npy/y.npy.
Options repeat the run's settings: --optimizer sgd|adam --lr X --momentum X --clip X
--validation F --steps K (compare the first K updates' losses; default all).

The recipe (the program's, docs/language.md 6.2.8):
- --text: the tokens less a validation tail of max(2, int(N * F)) tokens, batchified into
  B = min(batch, tokens // 2) streams of n = tokens // B (tokens[:B*n].view(B, n)); windows of
  K1 steps at i = 0, K1, 2 K1, ... (x = data[:, i:i+w], y = data[:, i+1:i+1+w], the last window
  shorter); the states zero at the start of every epoch. The validation tail is batchified into
  min(B, tail // 2) streams.
- .npy [N, T, ...]: the last max(1, int(N * F)) rows held out; batches of rows in the
  program's order (order.txt), each cut into windows of K1 time steps, states zero per batch.
- Each window: its first w - min(K2, w) steps only advance the states (no gradient), then the
  loss of the last min(K2, w) steps from the detached states, backward, clipping, one update.
- Validation: each validation batch in one forward pass from zero states (a windowed pass with
  carried states gives the same values); loss = mean over every position; accuracy = argmax.

Prints one line per check ("... ok" or "... FAIL ..."): step losses and the CSV's per-epoch
train/validation losses and metric (relative, <= 1e-4), final weights (|diff| <= 1e-4 (1+|w|)).
"""
import argparse
import csv
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from rnnref import load_safetensors  # noqa: E402
from train_ref import compare  # noqa: E402

CHARS = "abcd "
MODELS = {
    "tlstm": dict(cell="lstm", layers=2, hidden=8, inp="embedding", dim=6, units=5, loss="ce"),
    "tgru": dict(cell="gru", layers=1, hidden=6, inp="onehot", dim=5, units=5, loss="ce"),
    "tgrureg": dict(cell="gru", layers=2, hidden=5, inp="float", dim=3, units=2, loss="mse"),
}


class Model:
    def __init__(self, spec, init):
        self.spec = spec
        cls = torch.nn.LSTM if spec["cell"] == "lstm" else torch.nn.GRU
        self.rnn = cls(spec["dim"], spec["hidden"], spec["layers"], batch_first=True)
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                p.copy_(torch.from_numpy(np.array(init["seq." + name])))
        self.extra = {}
        names = ["head.weight", "head.bias"] + (["e.weight"] if spec["inp"] == "embedding" else [])
        for n in names:
            self.extra[n] = torch.tensor(np.array(init[n]), requires_grad=True)
        self.names = [n for n in init]

    def params(self):
        return list(self.rnn.parameters()) + list(self.extra.values())

    def named(self):
        out = {"seq." + n: p for n, p in self.rnn.named_parameters()}
        out.update(self.extra)
        return out

    def zero_state(self, b):
        z = torch.zeros(self.spec["layers"], b, self.spec["hidden"])
        return (z, z.clone()) if self.spec["cell"] == "lstm" else z

    def __call__(self, x, state):
        if self.spec["inp"] == "embedding":
            h = F.embedding(x, self.extra["e.weight"])
        elif self.spec["inp"] == "onehot":
            h = F.one_hot(x, self.spec["dim"]).float()
        else:
            h = x
        seq, state = self.rnn(h, state)
        return F.linear(seq, self.extra["head.weight"], self.extra["head.bias"]), state

    def loss(self, out, y):
        if self.spec["loss"] == "mse":
            return F.mse_loss(out, y)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("dir")
    ap.add_argument("--k1", type=int, required=True)
    ap.add_argument("--k2", type=int, default=0)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--optimizer", default="sgd")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=0.0)
    ap.add_argument("--validation", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=0)
    a = ap.parse_args()
    k1, k2 = a.k1, a.k2 or a.k1
    d = a.dir
    spec = MODELS[a.model]
    init = load_safetensors(os.path.join(d, "init.st"))
    m = Model(spec, init)
    params = m.params()
    if a.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=a.lr)
    else:
        opt = torch.optim.SGD(params, lr=a.lr, momentum=a.momentum)
    got_losses = [float(line.split()[3]) for line in open(os.path.join(d, "loss.txt"))]
    rows = list(csv.DictReader(open(os.path.join(d, "out.csv"))))
    epochs = len(rows)

    text = os.path.exists(os.path.join(d, "corpus.txt"))
    if text:
        ids = torch.tensor([CHARS.index(ch) for ch in open(os.path.join(d, "corpus.txt"), encoding="utf-8").read()])
        N = len(ids)
        nv = max(2, int(N * a.validation)) if a.validation > 0 else 0
        nt = N - nv
        B = min(a.batch, nt // 2)
        n = nt // B
        data = ids[: B * n].view(B, n)
        # rows (streams) of inputs and targets; one batch of all streams, in order
        x_all, y_all = data[:, :-1], data[:, 1:]
        orders = [list(range(B))] * epochs
        batch = B
        if nv:
            bv = min(B, nv // 2)
            nvs = nv // bv
            vdata = ids[nt: nt + bv * nvs].view(bv, nvs)
            vx, vy = vdata[:, :-1], vdata[:, 1:]
    else:
        x_all = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
        y_all = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
        N = x_all.shape[0]
        n_val = max(1, int(N * a.validation)) if a.validation > 0 else 0
        n_train = N - n_val
        batch = min(a.batch, n_train)
        vx, vy = x_all[n_train:], y_all[n_train:]
        x_all, y_all = x_all[:n_train], y_all[:n_train]
        orders = []
        for line in open(os.path.join(d, "order.txt")):
            orders.append([int(v) for v in line.partition(":")[2].split()])
        assert len(orders) == epochs, "order.txt and the metrics disagree on the epochs"
    T = x_all.shape[1]

    ref_losses, ref_epochs = [], []
    for order in orders:
        tot = cnt = 0.0
        for off in range(0, len(order), batch):
            idx = torch.tensor(order[off: off + batch])
            xb, yb = x_all[idx], y_all[idx]
            state = m.zero_state(len(idx))
            for i in range(0, T, k1):
                w = min(k1, T - i)
                g = min(k2, w)
                adv = w - g
                if adv:
                    with torch.no_grad():
                        _, state = m(xb[:, i: i + adv], state)
                out, new_state = m(xb[:, i + adv: i + w], detach(state))
                loss = m.loss(out, yb[:, i + adv: i + w])
                opt.zero_grad()
                loss.backward()
                if a.clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, a.clip)
                opt.step()
                state = detach(new_state)
                ref_losses.append(loss.item())
                tot += loss.item() * len(idx) * g
                cnt += len(idx) * g
        val_loss = metric = float("nan")
        if text and nv or not text and n_val:
            with torch.no_grad():
                s = count = correct = total = 0.0
                vb = vx.shape[0] if text else batch
                for off in range(0, vx.shape[0], vb):
                    xb, yb = vx[off: off + vb], vy[off: off + vb]
                    out, _ = m(xb, m.zero_state(xb.shape[0]))
                    s += m.loss(out, yb).item() * xb.shape[0] * xb.shape[1]
                    count += xb.shape[0] * xb.shape[1]
                    if spec["loss"] == "ce":
                        correct += (out.argmax(-1) == yb).sum().item()
                        total += yb.numel()
                val_loss = s / count
                metric = correct / total if total else math.sqrt(val_loss)
        ref_epochs.append((tot / cnt, val_loss, metric))

    compare(got_losses, ref_losses, a.steps, rows, ref_epochs, os.path.join(d, "out.st"),
            m.named())


if __name__ == "__main__":
    main()
