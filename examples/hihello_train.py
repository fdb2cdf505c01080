#!/usr/bin/python3
"""Train the hihello example in PyTorch and write examples/hihello.safetensors.

The network is the one in examples/hihello.rnn:
    onehot(5) -> LSTM(hidden=8, all steps) -> dense(5) -> softmax
trained with Adam(lr=0.1) and cross-entropy on the logits, 100 epochs of the single sequence
"hihell" -> "ihello". The seed is fixed, so the weights are reproducible.

    /usr/bin/python3 examples/hihello_train.py [-o examples/hihello.safetensors]

Standalone: needs only numpy and torch (the safetensors writer/reader is below).
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = "hielo"                  # token ids: h=0 i=1 e=2 l=3 o=4
INPUT, TARGET = "hihell", "ihello"
HIDDEN, EPOCHS, LR, SEED = 8, 100, 0.1, 0


class HiHello(nn.Module):
    """Module names = the bindings in hihello.rnn, so the state_dict names are
    cell.weight_ih_l0, cell.weight_hh_l0, cell.bias_ih_l0, cell.bias_hh_l0, head.weight,
    head.bias."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTM(len(VOCAB), HIDDEN, num_layers=1, batch_first=True)
        self.head = nn.Linear(HIDDEN, len(VOCAB))

    def forward(self, x):                               # x: [B, T] token ids
        h = F.one_hot(x, len(VOCAB)).float()            # [B, T, 5]
        seq, _ = self.cell(h)                           # [B, T, 8]
        return self.head(seq)                           # [B, T, 5] logits (softmax -> probs)


def encode(s):
    return torch.tensor([[VOCAB.index(c) for c in s]], dtype=torch.long)


def decode(logits):
    return "".join(VOCAB[i] for i in logits.argmax(-1)[0].tolist())


# --- minimal safetensors (F32 only): 8-byte LE header length, JSON header, raw data --------

def save_safetensors(path, tensors):
    arrays = {k: np.array(v.detach().cpu().numpy(), dtype="<f4", order="C")
              for k, v in sorted(tensors.items())}
    header, off = {}, 0
    for k, a in arrays.items():
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)                           # pad the header to a multiple of 8
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".hihello.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(h).to_bytes(8, "little") + h)
            for a in arrays.values():
                f.write(a.tobytes())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)                   # mkstemp makes 0600
        os.replace(tmp, path)                          # atomic: never a half-written file
    except BaseException:
        os.unlink(tmp)
        raise


def load_safetensors(path):
    buf = open(path, "rb").read()
    n = int.from_bytes(buf[:8], "little")
    header = json.loads(buf[8:8 + n])
    header.pop("__metadata__", None)
    data, out = buf[8 + n:], {}
    for k, info in header.items():
        assert info["dtype"] == "F32", f"{path}: {k}: only F32 supported here"
        b, e = info["data_offsets"]
        out[k] = torch.from_numpy(
            np.frombuffer(data[b:e], dtype="<f4").reshape(tuple(info["shape"])).copy())
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="train hihello, write its weights")
    ap.add_argument("-o", "--output", default=os.path.join(here, "hihello.safetensors"))
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = HiHello()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x, y = encode(INPUT), encode(TARGET)
    first_ok = None
    for epoch in range(1, EPOCHS + 1):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(VOCAB)), y.reshape(-1))
        loss.backward()
        opt.step()
        with torch.no_grad():
            pred = decode(model(x))
        if pred == TARGET and first_ok is None:
            first_ok = epoch
        if epoch % 10 == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}  prediction {pred!r}")
    model.eval()
    with torch.no_grad():
        pred = decode(model(x))
        probs = torch.softmax(model(x), -1)
    print(f"final prediction for {INPUT!r}: {pred!r} (first correct at epoch {first_ok}; "
          f"lowest winning probability {probs.max(-1).values.min().item():.3f})")
    if pred != TARGET:
        print(f"error: expected {TARGET!r}", file=sys.stderr)
        return 1

    save_safetensors(args.output, model.state_dict())
    # Verify: a fresh module loaded from the file predicts the same.
    fresh = HiHello()
    fresh.load_state_dict(load_safetensors(args.output), strict=True)
    fresh.eval()
    with torch.no_grad():
        again = fresh(x)
        same = torch.equal(again, model(x))
    if decode(again) != TARGET or not same:
        print(f"error: reloaded weights predict {decode(again)!r}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} (reloaded: {decode(again)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
