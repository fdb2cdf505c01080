#!/usr/bin/python3
"""Dropout in training: `prog grad --seed S` of models with dropout vs PyTorch autograd with the
same masks, `prog infer` without dropout, and the masks' statistics.

    /usr/bin/python3 test/e2e/dropout_grad.py --rnnc build/bin/rnnc --work /tmp/dg \
        [--group grad|stats ...] [--case SUBSTRING] [--opt N] [--time T] [--rnnc-flag=--X ...]

In the gradient functions, `dropout(x, rate=p)` and the `dropout=p` of stacked recurrent layers
(on every layer's output sequence but the last's, like torch.nn.LSTM(dropout=p); for a
bidirectional layer the concatenated [B, T, 2H] sequence) are inverted dropout: element i of
the dropped tensor (its index tuple (i0, ..., ik)) is kept when the top 24 bits of

    h = seed * 0x5851F42D4C957F2D + salt;  for each index: h = splitmix64(h ^ index)

reach int(p * 2^24), and kept elements are scaled by float32(1 / (1 - p)). `seed` is the
--seed of `prog grad` (default 0) as given; `salt` is the site's (rnnc --emit=rnn: the `salt`
of rnn.dropout, the `dropout_salt` N of rnn.recurrent, whose layer l's output gets N + l).
The forward function (`prog infer`) never applies dropout.

Groups:
  grad   models with dropout after a recurrent sequence, on a many-to-one vector [B, H] (and
         [B, 2H]), on the embeddings, after a tanh dense layer, twice in a row; `dropout=`
         between 2 and 3 stacked lstm / gru / rnn layers, bidirectional, reverse, over a padded
         batch (`lengths=`); rate 0 (no site: the seed changes nothing); rates 0.2, 0.3,
         0.5, 0.9. Each is compiled, given `prog init` weights and random data, and run with
         `prog grad` at seed 0 (--seed omitted; checked equal to --seed 0 once), at a large
         seed (above 2^63 for most) and once at 2^64 - 1. The reference is the network in float64 PyTorch, stacked layers
         as separate single-layer modules (state_dict names enc.weight_ih_l0, ..._l1,
         ..._reverse) with the numpy masks multiplied in between. Compared: the loss
         (|diff| / max(1, |loss|)) and every parameter's gradient (max |g - ref| over max |ref|,
         the denominator at least 1e-2 of the model's largest reference gradient), <= 1e-4.
         Also: the two seeds' gradients differ (where a site exists), the masked reference
         differs from the unmasked one (the check has teeth), and `prog infer` equals the
         reference without dropout (max abs err / max(1, max |ref|) <= 1e-5).
  stats  the mask function over a 2^21-element tensor: the dropped fraction within 4 sigma of
         the rate for rates 0.1, 0.5, 0.9 (two seeds and salts), per-slice fractions along every
         axis within 5 sigma, independence of two salts / two seeds (the fraction dropped by
         both within 4 sigma of p^2); and the program: `d = dropout(e, rate=p)` over the
         embeddings of B*T distinct tokens ([50, 40, 50] elements), head = sum of d, mse to
         100: the embedding gradient is zero exactly where an element was dropped, so the
         program's mask is read off it; it must equal the mask function's exactly (two seeds)
         and its dropped fraction be within 4 sigma of the rate; the kept gradients equal
         float32(1/(1-p)) * dloss/dhead.

Prints `PASS NAME: ...` or `FAIL NAME: WHY (model: PATH)` per case and `dropout-grad: N cases,
N failed`; exits 1 when a case failed (or none ran).
"""
import argparse
import math
import os
import re
import sys
import traceback

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import rnnref  # noqa: E402

TOL = 1e-4       # loss and gradients, relative
FLOOR = 1e-2     # gradient denominators: at least FLOOR x the model's largest |ref|
FWD_TOL = 1e-5   # infer outputs
MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
U64 = (1 << 64) - 1

# --------------------------------------------------------------------------------------------
# The mask
# --------------------------------------------------------------------------------------------


def mix_scalar(z):
    """splitmix64 (plain Python ints)."""
    z = (z + 0x9E3779B97F4A7C15) & U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def keep_scalar(seed, salt, rate, idx):
    h = (seed * 0x5851F42D4C957F2D + salt) & U64
    for i in idx:
        h = mix_scalar(h ^ i)
    return (h >> 40) >= int(rate * 2 ** 24)


def _mix(z):
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def keep_mask(seed, salt, rate, shape):
    """Boolean keep mask of a dropped tensor of `shape` (numpy, vectorised)."""
    shape = tuple(int(s) for s in shape)
    r = len(shape)
    h = np.full([1] * r, (seed * 0x5851F42D4C957F2D + salt) & U64, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for d, n in enumerate(shape):
            idx = np.arange(n, dtype=np.uint64).reshape([n if k == d else 1 for k in range(r)])
            h = _mix(h ^ idx)
    return (h >> np.uint64(40)) >= np.uint64(int(rate * 2 ** 24))


def scale_of(rate):
    """The program's scale: float32(1 / (1 - rate))."""
    return float(np.float32(1.0 / (1.0 - rate)))


def mask_tensor(seed, salt, rate, shape):
    """keep * scale as a float64 tensor."""
    return torch.from_numpy(keep_mask(seed, salt, rate, shape).astype(np.float64) * scale_of(rate))


def selfcheck_mask():
    """The vectorised mask against the scalar definition at a few elements (and rank 1..3)."""
    rng = np.random.default_rng(3)
    for seed, salt, rate, shape in [(0, 64, 0.5, (4, 5, 6)), (U64, 257, 0.3, (7, 3)),
                                    (12345678901234567890, 1, 0.9, (33,)), (1, 0, 0.1, (2, 9, 4))]:
        m = keep_mask(seed, salt, rate, shape)
        for _ in range(20):
            idx = tuple(int(rng.integers(0, s)) for s in shape)
            if bool(m[idx]) != keep_scalar(seed, salt, rate, idx):
                return f"vectorised mask differs from the scalar one at seed {seed} salt {salt} {idx}"
    return None


# --------------------------------------------------------------------------------------------
# Group grad: models
# --------------------------------------------------------------------------------------------

B, T = 4, 6


def case_list():
    C = []

    def add(name, **kw):
        kw.setdefault("inp", "embedding")
        kw.setdefault("cell", "lstm")
        kw.setdefault("hidden", 5)
        kw.setdefault("layers", 1)
        kw.setdefault("seq", True)
        kw.setdefault("loss", "ce_step" if kw["seq"] else "ce_class")
        C.append(dict(name=name, **kw))

    # dropout(x) after a recurrent sequence
    add("lstm-seq-drop0.5", post=[0.5])
    add("lstm-seq-drop0.2-float-mse", inp="float", post=[0.2], loss="mse_step")
    add("gru-seq-drop0.9", cell="gru", post=[0.9])
    add("rnn-seq-drop0.5-onehot", cell="rnn", inp="onehot", post=[0.5])
    # dropout= between stacked layers
    add("lstm-l2-rdrop0.5", layers=2, rdrop=0.5)
    add("gru-l2-rdrop0.2", cell="gru", layers=2, rdrop=0.2)
    add("lstm-l3-rdrop0.9", layers=3, rdrop=0.9, loss="mse_step")
    add("gru-l3-rdrop0.2-last", cell="gru", layers=3, rdrop=0.2, seq=False)
    add("rnn-l3-rdrop0.5", cell="rnn", layers=3, rdrop=0.5)
    add("lstm-l2-rdrop0.5-last", layers=2, rdrop=0.5, seq=False)
    # bidirectional stacked: the dropped tensor is [B, T, 2H]
    add("lstm-l2-bi-rdrop0.5", layers=2, bidi=True, rdrop=0.5)
    add("gru-l3-bi-rdrop0.2-last", cell="gru", layers=3, bidi=True, rdrop=0.2, seq=False)
    add("lstm-l3-bi-rdrop0.9", layers=3, bidi=True, rdrop=0.9, loss="mse_step", inp="float")
    # reverse direction stacked
    add("lstm-l2-rev-rdrop0.5", layers=2, reverse=True, rdrop=0.5)
    add("gru-l3-rev-rdrop0.2-last", cell="gru", layers=3, reverse=True, rdrop=0.2, seq=False)
    # many-to-one vector [B, H] / [B, 2H]
    add("lstm-last-drop0.5", seq=False, post=[0.5])
    add("gru-last-drop0.2-mse", cell="gru", seq=False, post=[0.2], loss="mse", inp="float")
    add("lstm-bi-last-drop0.9", seq=False, bidi=True, post=[0.9])
    add("gru-l2-bi-last-rdrop0.5-drop0.5", cell="gru", layers=2, bidi=True, seq=False, rdrop=0.5,
        post=[0.5])
    # padded batch: lengths=
    add("lstm-l2-len-rdrop0.5-drop0.2", layers=2, lengths=True, rdrop=0.5, post=[0.2],
        loss="mse_step")
    add("gru-l3-bi-len-rdrop0.5-last", cell="gru", layers=3, bidi=True, lengths=True, rdrop=0.5,
        seq=False)
    add("lstm-l2-bi-len-rdrop0.9", layers=2, bidi=True, lengths=True, rdrop=0.9)
    add("lstm-len-last-drop0.5", lengths=True, seq=False, post=[0.5])
    # several sites: embeddings, stacked, output (the d1 example); after a dense layer; twice
    add("lstm-l2-embdrop0.2-rdrop0.5-drop0.3", layers=2, in_drop=0.2, rdrop=0.5, post=[0.3])
    add("gru-mid-tanh-drop0.5", cell="gru", mid=7, post=[0.5])
    add("lstm-drop0.5-drop0.5", post=[0.5, 0.5])
    add("lstm-l2-float-indrop0.5-rdrop0.2", inp="float", layers=2, in_drop=0.5, rdrop=0.2,
        loss="mse_step")
    # rate 0 (dropout=0.0 and dropout(x, rate=0.0)): no site, the seed changes nothing
    add("lstm-l2-rate0-noop", layers=2, rdrop=0.0, post=[0.0], noeffect=True)
    return C


def source(c):
    lines = ["model dg"]
    if c["inp"] == "float":
        lines.append("input x : f32[B, T, 3]")
    else:
        lines += ["vocab V = size 6", "input x : tokens[B, T] of V"]
    if c.get("lengths"):
        lines.append("input n : lengths[B]")
    src = "x"
    if c["inp"] == "embedding":
        lines.append("e = embedding(x, dim=3)")
        src = "e"
    elif c["inp"] == "onehot":
        lines.append("e = onehot(x)")
        src = "e"
    if c.get("in_drop"):
        lines.append(f"xd = dropout({src}, rate={c['in_drop']})")
        src = "xd"
    opts = [f"hidden={c['hidden']}"]
    if c["layers"] > 1:
        opts.append(f"layers={c['layers']}")
    if "rdrop" in c:
        opts.append(f"dropout={c['rdrop']}")
    if c.get("bidi"):
        opts.append("bidirectional=true")
    if c.get("reverse"):
        opts.append("direction=reverse")
    if c["seq"]:
        opts.append("return_sequences=true")
    if c.get("lengths"):
        opts.append("lengths=n")
    lines.append(f"enc = {c['cell']}({src}, {', '.join(opts)})")
    src = "enc"
    if c.get("mid"):
        lines.append(f"mid = dense(enc, units={c['mid']}, activation=tanh)")
        src = "mid"
    for i, r in enumerate(c.get("post", [])):
        lines.append(f"d{i} = dropout({src}, rate={r})")
        src = f"d{i}"
    units = {"ce_step": 6, "ce_class": 3, "mse": 2, "mse_step": 2}[c["loss"]]
    lines.append(f"head = dense({src}, units={units})")
    lines.append("output o = head")
    tgt = {"ce_step": "tokens[B, T] of V", "ce_class": "class[B] of 3", "mse": "f32[B, 2]",
           "mse_step": "f32[B, T, 2]"}[c["loss"]]
    if c["loss"] == "ce_step" and c["inp"] == "float":
        raise ValueError("ce_step needs a vocab")
    lines.append(f"target y : {tgt}")
    lines.append("loss %s(head, y)" % ("mse" if c["loss"].startswith("mse") else "cross_entropy"))
    return "\n".join(lines) + "\n"


_DROP_RE = re.compile(r"rnn\.dropout\s[^{]*\{rate = ([-+0-9.e]+) : f64, salt = (-?\d+) : i64\}")
_REC_RE = re.compile(r"rnn\.recurrent\s[^{]*\{([^}]*)\}")


def dropout_sites(rnnc, model, opt):
    """The loss function's dropout sites, in order: [("drop", rate, salt)] for rnn.dropout,
    [("rec", rate, salt, layers)] for rnn.recurrent with dropout_salt."""
    ir = rnnref.run([rnnc, f"-O{opt}", model, "--emit=rnn"]).stdout
    m = re.search(r"func\.func @\w+_loss\(.*?(?=\n  func\.func|\n}\s*$)", ir, re.S)
    if not m:
        raise RuntimeError("no loss function in --emit=rnn")
    body = m.group(0)
    sites = []
    for line in body.splitlines():
        d = _DROP_RE.search(line)
        if d:
            sites.append(("drop", float(d.group(1)), int(d.group(2))))
            continue
        r = _REC_RE.search(line)
        attrs = dict(re.findall(r"(\w+) = ([^,:]+)", r.group(1))) if r else {}
        if r and float(attrs.get("dropout", "0")) > 0 and int(attrs.get("layers", "1")) > 1:
            if "rng(" not in line:
                raise RuntimeError(f"a stacked layer with dropout has no rng: {line.strip()}")
            sites.append(("rec", float(attrs["dropout"]), int(attrs["dropout_salt"]),
                          int(attrs.get("layers", "1"))))
        elif "rnn.dropout" in line:
            raise RuntimeError(f"unparsed rnn.dropout line: {line.strip()}")
    return sites


class Sites:
    """Hands out the IR's sites in order, checking kind and rate."""

    def __init__(self, sites):
        self.sites, self.k = list(sites), 0

    def take(self, kind, rate):
        if self.k >= len(self.sites):
            raise RuntimeError(f"the IR has no {kind} dropout site #{self.k}")
        s = self.sites[self.k]
        self.k += 1
        if s[0] != kind or abs(s[1] - rate) > 1e-12:
            raise RuntimeError(f"IR dropout site #{self.k - 1} is {s}, expected {kind} rate {rate}")
        return s[2]

    def done(self):
        if self.k != len(self.sites):
            raise RuntimeError(f"unexpected dropout sites in the IR: {self.sites[self.k:]}")


def reference(c, W, x, y, lens, seed, sites, train):
    """Loss, head output and gradients in float64 PyTorch. train: apply the masks of `seed`
    (sites: the IR's, in order); else no dropout."""
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in W.items() if not k.startswith("enc.")}
    S = Sites(sites)
    stats = []

    def drop(v, salt, rate):
        if not train:
            return v
        m = keep_mask(seed, salt, rate, v.shape)
        stats.append(float(m.mean()))
        return v * mask_tensor(seed, salt, rate, v.shape)

    xt = torch.from_numpy(x)
    if c["inp"] == "float":
        e = xt.double()
    elif c["inp"] == "onehot":
        e = F.one_hot(xt.long(), 6).double()
    else:
        e = P["e.weight"][xt.long()]
    if c.get("in_drop"):
        e = drop(e, S.take("drop", c["in_drop"]), c["in_drop"])
    rdrop, layers, bidi, H = c.get("rdrop", 0.0), c["layers"], bool(c.get("bidi")), c["hidden"]
    rec_salt = S.take("rec", rdrop) if rdrop else None
    h, mods = e, []
    for l in range(layers):
        mod = MODULES[c["cell"]](h.shape[-1], H, num_layers=1, bidirectional=bidi,
                                 batch_first=True).double()
        sd = {}
        for nm in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            for sfx in [""] + (["_reverse"] if bidi else []):
                sd[f"{nm}_l0{sfx}"] = torch.tensor(W[f"enc.{nm}_l{l}{sfx}"], dtype=torch.float64)
        mod.load_state_dict(sd)
        mods.append(mod)
        inp = torch.flip(h, [1]) if c.get("reverse") else h
        if lens is not None:
            packed = pack_padded_sequence(inp, torch.from_numpy(lens), batch_first=True,
                                          enforce_sorted=False)
            o, st = mod(packed)
            o, _ = pad_packed_sequence(o, batch_first=True, total_length=x.shape[1])
        else:
            o, st = mod(inp)
        if c.get("reverse"):
            o = torch.flip(o, [1])
        hn = st[0] if c["cell"] == "lstm" else st
        if rdrop and l + 1 < layers:
            o = drop(o, rec_salt + l, rdrop)
        h = o
    if c["seq"]:
        out = h
    else:
        out = torch.cat([hn[0], hn[1]], -1) if bidi else hn[0]
    if c.get("mid"):
        out = torch.tanh(out @ P["mid.weight"].T + P["mid.bias"])
    for r in c.get("post", []):
        if r > 0:
            out = drop(out, S.take("drop", r), r)
    S.done()
    head = out @ P["head.weight"].T + P["head.bias"]
    yt = torch.from_numpy(y)
    if c["loss"] == "ce_step":
        loss = F.cross_entropy(head.reshape(-1, head.shape[-1]), yt.long().reshape(-1))
    elif c["loss"] == "ce_class":
        loss = F.cross_entropy(head, yt.long())
    else:
        loss = F.mse_loss(head, yt.double())
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in P.items()}
    for l, mod in enumerate(mods):
        for k, p in mod.named_parameters():
            grads["enc." + k.replace("_l0", f"_l{l}")] = p.grad.numpy()
    return float(loss), head.detach().numpy(), grads, stats


def compare(G, ref_loss, ref):
    """Worst relative error of the loss and the gradients; raises on a missing/extra name."""
    names = set(G) - {"loss"}
    if names != set(ref):
        raise RuntimeError(f"gradient names {sorted(names)} != reference {sorted(ref)}")
    worst = abs(float(G["loss"]) - ref_loss) / max(1.0, abs(ref_loss))
    where = "loss"
    top = max(float(np.abs(r).max()) for r in ref.values())
    for k, r in ref.items():
        if G[k].shape != r.shape:
            raise RuntimeError(f"{k}: shape {G[k].shape} != {r.shape}")
        e = float(np.abs(G[k] - r).max() / max(1e-8, float(np.abs(r).max()), FLOOR * top))
        if e > worst:
            worst, where = e, k
    return worst, where


def make_data(c, rng):
    lens = None
    if c["inp"] == "float":
        x = rng.standard_normal((B, T, 3)).astype(np.float32)
    else:
        x = rng.integers(0, 6, size=(B, T)).astype(np.int32)
    if c.get("lengths"):
        lens = np.array([T, 2, 5, 1][:B], dtype=np.int64)
        for b in range(B):
            x[b, lens[b]:] = 0
    if c["loss"] == "ce_step":
        y = rng.integers(0, 6, size=(B, T)).astype(np.int32)
    elif c["loss"] == "ce_class":
        y = rng.integers(0, 3, size=(B,)).astype(np.int32)
    elif c["loss"] == "mse":
        y = rng.standard_normal((B, 2)).astype(np.float32)
    else:
        y = rng.standard_normal((B, T, 2)).astype(np.float32)
    return x, y, lens


def run_case(args, ci, c, rng):
    name = c["name"]
    d = os.path.join(args.work, "grad", name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "m.rnn")
    with open(model, "w") as f:
        f.write(source(c))
    exe = os.path.join(d, "prog")
    rnnref.run([args.rnnc, f"-O{args.opt}", *args.rnnc_flag, model, "-o", exe])
    sites = dropout_sites(args.rnnc, model, args.opt)
    salts = []
    for s in sites:
        salts += [s[2] + l for l in range(s[3] - 1)] if s[0] == "rec" else [s[2]]
    if len(set(salts)) != len(salts):
        return False, f"dropout sites share salts: {sites}"
    wfile = os.path.join(d, "w.safetensors")
    rnnref.run([exe, "init", "--seed", str(ci + 1), "-o", wfile])
    W = rnnref.load_safetensors(wfile)
    x, y, lens = make_data(c, rng)
    files, inputs = [], []
    for kind, nm, arr in [("input", "x", x), ("target", "y", y)] + (
            [("input", "n", lens.astype(np.int32))] if lens is not None else []):
        p = os.path.join(d, nm + ".npy")
        rnnref.save_npy(p, arr)
        files += [f"--{kind}", f"{nm}={p}"]
        if kind == "input":
            inputs += [f"--{kind}", f"{nm}={p}"]

    notes = []
    # forward: no dropout
    out = os.path.join(d, "o.npy")
    rnnref.run([exe, "infer", "-w", wfile] + inputs + ["-o", out])
    _, ref_head, _, _ = reference(c, W, x, y, lens, 0, sites, train=False)
    fe = float(np.abs(np.load(out) - ref_head).max() / max(1.0, np.abs(ref_head).max()))
    if fe > FWD_TOL:
        return False, f"infer differs from the no-dropout reference: {fe:.2e}"
    nodrop_loss, _, nodrop_grads, _ = reference(c, W, x, y, lens, 0, sites, train=False)

    seeds = [None, (0x9E3779B97F4A7C15 * (ci + 1)) & U64]
    if ci == 0:
        seeds.append(U64)
    gs = []
    worst_all, fracs = 0.0, []
    for s in seeds:
        g = os.path.join(d, f"g{len(gs)}.safetensors")
        rnnref.run([exe, "grad", "-w", wfile] + files + ["-o", g] +
                   ([] if s is None else ["--seed", str(s)]))
        G = rnnref.load_safetensors(g)
        gs.append(G)
        seed = 0 if s is None else s
        ref_loss, _, ref, stats = reference(c, W, x, y, lens, seed, sites, train=True)
        fracs += stats
        worst, where = compare(G, ref_loss, ref)
        if worst > TOL:
            # diagnose: is it the unmasked network's gradient?
            w0, _ = compare(G, nodrop_loss, nodrop_grads)
            return False, (f"seed {seed}: max rel err {worst:.2e} at {where} (loss {float(G['loss']):.7g}"
                           f" vs ref {ref_loss:.7g}; vs the no-dropout reference {w0:.2e})")
        worst_all = max(worst_all, worst)
        # the masks matter (the comparison has teeth), unless there is no site
        if not c.get("noeffect"):
            w0, _ = compare(G, nodrop_loss, nodrop_grads)
            if w0 < 1e-3:
                return False, f"seed {seed}: masked and unmasked references agree ({w0:.1e}): no teeth"
    if ci == 0:  # --seed 0 == no --seed, byte for byte
        g = os.path.join(d, "g0b.safetensors")
        rnnref.run([exe, "grad", "-w", wfile] + files + ["-o", g, "--seed", "0"])
        if open(g, "rb").read() != open(os.path.join(d, "g0.safetensors"), "rb").read():
            return False, "--seed 0 differs from the default seed"
        notes.append("--seed 0 == default")
    diff = max(float(np.abs(gs[0][k] - gs[1][k]).max()) for k in gs[0])
    if c.get("noeffect"):
        if diff != 0.0:
            return False, f"no dropout site, yet the seeds' gradients differ by {diff:.2e}"
        notes.append("no site: seeds agree")
    elif diff == 0.0:
        return False, "the two seeds give identical gradients"
    kept = f", kept {min(fracs):.2f}..{max(fracs):.2f}" if fracs else ""
    return True, (f"loss and grads max rel err {worst_all:.1e} ({len(seeds)} seeds), infer {fe:.1e}"
                  f"{kept}" + ("; " + ", ".join(notes) if notes else ""))


# --------------------------------------------------------------------------------------------
# Group stats
# --------------------------------------------------------------------------------------------


def within(frac, p, n, k):
    sigma = math.sqrt(p * (1 - p) / n)
    return abs(frac - p) <= k * sigma, (frac - p) / sigma


def stats_mask_cases():
    out = []
    shape = (64, 128, 256)
    n = int(np.prod(shape))
    for rate in (0.1, 0.5, 0.9):
        for seed, salt in ((0, 64), (U64, 1217)):
            name = f"stats-mask-rate{rate}-seed{'max' if seed else 0}"
            keep = keep_mask(seed, salt, rate, shape)
            dropped = ~keep
            frac = float(dropped.mean())
            ok, z = within(frac, rate, n, 4)
            msg = [f"dropped {frac:.5f} of {n} ({z:+.2f} sigma)"]
            # every slice along every axis
            zmax = 0.0
            for ax in range(3):
                other = tuple(a for a in range(3) if a != ax)
                fr = dropped.mean(axis=other)
                m = n // shape[ax]
                zz = np.abs(fr - rate) / math.sqrt(rate * (1 - rate) / m)
                zmax = max(zmax, float(zz.max()))
            ok = ok and zmax <= 5
            msg.append(f"slices max {zmax:.2f} sigma")
            # independence: another salt, another seed
            for what, k2 in (("salt+1", keep_mask(seed, salt + 1, rate, shape)),
                             ("seed+1", keep_mask((seed + 1) & U64, salt, rate, shape))):
                both = float((dropped & ~k2).mean())
                ok2, z2 = within(both, rate * rate, n, 4)
                ok = ok and ok2
                msg.append(f"both dropped with {what} {both:.5f} ({z2:+.2f} sigma)")
            out.append((name, ok, "; ".join(msg)))
    return out


def stats_program_case(args, rate):
    name = f"stats-program-rate{rate}"
    Bs, Ts, D = 50, 40, 50
    V = Bs * Ts
    d = os.path.join(args.work, "stats", f"r{rate}")
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "m.rnn")
    with open(model, "w") as f:
        f.write("\n".join([
            "model ds", f"vocab V = size {V}", "input x : tokens[B, T] of V",
            f"e = embedding(x, dim={D})", f"d = dropout(e, rate={rate})",
            "head = dense(d, units=1)", "output o = head", "target y : f32[B, T, 1]",
            "loss mse(head, y)"]) + "\n")
    exe = os.path.join(d, "prog")
    rnnref.run([args.rnnc, f"-O{args.opt}", *args.rnnc_flag, model, "-o", exe])
    sites = dropout_sites(args.rnnc, model, args.opt)
    if len(sites) != 1 or sites[0][0] != "drop":
        return name, False, f"expected one rnn.dropout site, got {sites}"
    salt = sites[0][2]
    rng = np.random.default_rng(11)
    emb = rng.standard_normal((V, D)).astype(np.float32)
    emb[emb == 0] = 1.0
    W = {"e.weight": emb, "head.weight": np.ones((1, D), np.float32),
         "head.bias": np.zeros((1,), np.float32)}
    wfile = os.path.join(d, "w.safetensors")
    rnnref.save_safetensors(wfile, W)
    x = np.arange(V, dtype=np.int32).reshape(Bs, Ts)  # every token once: row b*T+t of the grad
    y = np.full((Bs, Ts, 1), 100.0, np.float32)      # far from any output: dloss/dhead != 0
    rnnref.save_npy(os.path.join(d, "x.npy"), x)
    rnnref.save_npy(os.path.join(d, "y.npy"), y)
    msgs, ok = [], True
    n = Bs * Ts * D
    for seed in (0, 0xDEADBEEFCAFEF00D):
        g = os.path.join(d, f"g{seed}.safetensors")
        rnnref.run([exe, "grad", "-w", wfile, "-i", f"x={d}/x.npy", "--target", f"y={d}/y.npy",
                    "-o", g, "--seed", str(seed)])
        G = rnnref.load_safetensors(g)["e.weight"].reshape(Bs, Ts, D)
        prog_keep = G != 0
        keep = keep_mask(seed, salt, rate, (Bs, Ts, D))
        mism = int((prog_keep != keep).sum())
        frac = 1.0 - float(prog_keep.mean())
        good, z = within(frac, rate, n, 4)
        # kept gradients: scale * dloss/dhead[b, t] (head = sum_k d[b, t, k])
        dd = keep * np.float32(1.0 / (1.0 - rate))
        head = (emb.reshape(Bs, Ts, D).astype(np.float64) * dd).sum(-1)
        dh = 2.0 * (head - 100.0) / (Bs * Ts)
        expect = dd * dh[..., None]
        verr = float(np.abs(G - expect).max() / np.abs(expect).max())
        ok = ok and mism == 0 and good and verr <= TOL
        msgs.append(f"seed {seed}: dropped {frac:.5f} of {n} ({z:+.2f} sigma), "
                    f"{mism} elements differ from the mask function, values {verr:.1e}")
    return name, ok, "; ".join(msgs)


# --------------------------------------------------------------------------------------------


def main():
    global T
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnnc", default="rnnc")
    ap.add_argument("--work", required=True)
    ap.add_argument("--opt", type=int, choices=range(4), default=2)
    ap.add_argument("--group", action="append", choices=["grad", "stats"])
    ap.add_argument("--case", help="only cases whose name contains this")
    ap.add_argument("--rnnc-flag", action="append", default=[],
                    help="extra rnnc option when compiling the programs (repeatable), e.g. "
                         "--rnnc-flag=--wavefront-min-work=0")
    ap.add_argument("--time", type=int, default=T,
                    help=f"sequence length of the grad group's data (default {T}; at least 5, the "
                         "longest padded example)")
    args = ap.parse_args()
    if args.time < 5:
        ap.error("--time must be at least 5")
    T = args.time
    groups = args.group or ["grad", "stats"]
    os.makedirs(args.work, exist_ok=True)
    ncases = nfail = 0

    def report(name, ok, msg):
        nonlocal ncases, nfail
        ncases += 1
        nfail += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {msg}", flush=True)

    err = selfcheck_mask()
    if err:
        report("mask-selfcheck", False, err)
    if "grad" in groups:
        for ci, c in enumerate(case_list()):
            data_rng = np.random.default_rng([5, ci])
            if args.case and args.case not in c["name"]:
                continue
            try:
                ok, msg = run_case(args, ci, c, data_rng)
            except Exception as e:  # noqa: BLE001
                ok, msg = False, f"{type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
            if not ok:
                msg += f" (model: {os.path.join(args.work, 'grad', c['name'], 'm.rnn')})"
            report(c["name"], ok, msg)
    if "stats" in groups:
        for name, ok, msg in stats_mask_cases():
            if not args.case or args.case in name:
                report(name, ok, msg)
        for rate in (0.1, 0.5, 0.9):
            if args.case and args.case not in f"stats-program-rate{rate}":
                continue
            try:
                report(*stats_program_case(args, rate))
            except Exception as e:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)
                report(f"stats-program-rate{rate}", False, f"{type(e).__name__}: {e}")
    print(f"dropout-grad: {ncases} cases, {nfail} failed")
    sys.exit(1 if nfail or not ncases else 0)


if __name__ == "__main__":
    main()
