#!/usr/bin/python3
"""Attention, initial states and encoder-decoders vs PyTorch.

    /usr/bin/python3 test/e2e/seq2seq_parity.py --rnnc build/bin/rnnc --work /tmp/s2s \
        [--group attention|state|decoder ...] [--case SUBSTRING]

Each model is generated as .rnn text, compiled once (`rnnc m.rnn -o prog`, in parallel),
given random weights drawn with PyTorch modules whose state_dict names are the ones rnnc
gives (saved as safetensors), and run with `prog infer` on random inputs at two sizes (the
second one degenerate: batch 1, one source step). Every output is compared with a PyTorch
reference written out step by step: same shape, max abs error <= 1e-5; for decoders the
greedy token sequences (argmax of every step) must be identical too.

Groups:
  attention  top-level `attention(q, keys, kind=dot|general|additive)` with a one-step query
             [B, Hq] and a sequence query [B, Q, Hq], unmasked, masked by a `lengths=` input,
             masked by `mask_zero` padding reaching the keys through gru / dense / dropout /
             softmax / concat / lstm, and an explicit `lengths=` overriding mask_zero.
  state      `initial_state=` from f32 inputs ([1, B, H], [B, H], [layers*dirs, B, H]), from
             another layer's return_state, and together with `lengths=`.
  decoder    `decoder` loops with lstm_cell / gru_cell / rnn_cell, without attention and with
             each attention kind; init from an encoder's return_state (1 or 2 layers,
             bidirectional: the last slice), from a dense bridge, from f32 inputs; stacked
             cells; hidden 1, vocab 3, max_len 1, batch 1; greedy decoding for max_len steps
             (output [B, max_len, |V|]), also when the model has teacher=y and a loss; the
             attention weights of every step (`output align = dec.w`, [B, max_len, S]).

Prints `PASS/FAIL NAME: max abs err E` per case and `seq2seq-parity: N cases, N failed`;
exits 1 when a case failed.
"""
import argparse
import concurrent.futures
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rnnref  # noqa: E402

TOL = 1e-5
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


# ------------------------------------------------------------------------------------------
# PyTorch pieces
# ------------------------------------------------------------------------------------------

class Params:
    """Modules registered under their rnnc binding names; state() is the safetensors dict."""

    def __init__(self, seed):
        torch.manual_seed(seed)
        self.mods = {}

    def add(self, name, mod):
        self.mods[name] = mod
        return mod

    def state(self):
        out = {}
        for name, mod in self.mods.items():
            for k, v in mod.state_dict().items():
                out[f"{name}.{k}"] = v.detach().numpy().astype(np.float32)
        return out


def perturb(mod, bias_std=0.3, scale=1.0):
    """Nonzero biases; optionally scaled weights (sharper scores)."""
    with torch.no_grad():
        for k, p in mod.named_parameters():
            if k.rsplit(".", 1)[-1].startswith("bias"):
                p.add_(torch.randn_like(p) * bias_std)
            elif scale != 1.0:
                p.mul_(scale)
    return mod


def mask_embedding(emb):
    with torch.no_grad():
        emb.weight[0].zero_()      # PyTorch's padding_idx=0 row
    return emb


class Attention(nn.Module):
    """rnnc's attention: dot q.k, general q.(W k) (W = nn.Linear(Hk, Hq)), additive
    v.tanh(Wq q + Wk k) (submodules query, key, v)."""

    def __init__(self, kind, hq, hk, units=0):
        super().__init__()
        self.kind = kind
        if kind == "general":
            self.weight = nn.Parameter(nn.Linear(hk, hq, bias=False).weight.detach().clone())
        elif kind == "additive":
            a = units or hq
            self.query = nn.Linear(hq, a, bias=False)
            self.key = nn.Linear(hk, a, bias=False)
            self.v = nn.Linear(a, 1, bias=False)

    def forward(self, q, keys, lengths=None):
        step = q.dim() == 2
        if step:
            q = q[:, None, :]
        if self.kind == "dot":
            e = q @ keys.transpose(1, 2)
        elif self.kind == "general":
            e = q @ (keys @ self.weight.T).transpose(1, 2)
        else:
            e = self.v(torch.tanh(self.query(q)[:, :, None, :] + self.key(keys)[:, None, :, :]))
            e = e.squeeze(-1)
        if lengths is not None:
            m = torch.arange(keys.shape[1])[None, :] < lengths[:, None]
            e = e.masked_fill(~m[:, None, :], float("-inf"))
        w = torch.softmax(e, -1)
        ctx = w @ keys
        return (ctx[:, 0], w[:, 0]) if step else (ctx, w)


def run_rnn(mod, x, lengths=None, h0=None):
    """A batch-first recurrent module, packed when lengths are given (pack_padded_sequence
    semantics). Returns (output [B, T, D*H], h_n, c_n or None)."""
    if lengths is not None:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, st = mod(packed, h0)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    else:
        out, st = mod(x, h0)
    hn, cn = st if isinstance(st, tuple) else (st, None)
    return out, hn, cn


def final_of(hn, bidi):
    return torch.cat([hn[-2], hn[-1]], -1) if bidi else hn[-1]


def rand_lengths(rng, B, S):
    n = rng.integers(1, S + 1, size=B)
    if B > 1:
        n[0] = S
        n[1] = rng.integers(1, S) if S > 1 else 1
    return n.astype(np.int32)


def padded_tokens(rng, vocab, B, S, lens, pad_zero):
    """Token ids [B, S]; after each row's length: 0 (mask_zero padding) or garbage."""
    x = rng.integers(1, vocab, size=(B, S))
    for b in range(B):
        x[b, lens[b]:] = 0 if pad_zero else rng.integers(0, vocab, size=S - lens[b])
    return x.astype(np.int32)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


class Model:
    """One compiled program: its source, its weights and its runs."""

    def __init__(self, name, src, params, runs):
        self.name, self.src, self.params = name, src, params
        self.runs = runs            # [(suffix, inputs {name: array}, refs {name: array}, tokens)]


# ------------------------------------------------------------------------------------------
# Group attention
# ------------------------------------------------------------------------------------------

# (kind, mask, Hq, Hk, units, keys chain for mask_zero)
ATTENTION = [
    ("dot", "none", 4, 4, 0, None),
    ("dot", "lengths", 1, 1, 0, None),                 # hidden 1
    ("dot", "mask_zero", 3, 3, 0, "gru"),
    ("general", "none", 3, 5, 0, None),
    ("general", "lengths", 4, 2, 0, None),
    ("general", "mask_zero", 2, 3, 0, "dense"),
    ("additive", "none", 3, 2, 5, None),
    ("additive", "lengths", 2, 4, 0, None),            # units defaults to Hq
    ("additive", "mask_zero", 1, 5, 3, "concat"),      # query size 1
    ("general", "override", 3, 3, 0, "gru"),           # mask_zero keys, explicit lengths= wins
]


def attention_model(idx, kind, mask, hq, hk, units, chain):
    name = f"attention-{kind}-{mask}-q{hq}-k{hk}" + (f"-{chain}" if chain else "") + \
        (f"-units{units}" if units else "")
    P = Params(1000 + idx)
    lines = ["model att", "input q : f32[B, %d]" % hq, "input qs : f32[B, Q, %d]" % hq]
    E = 3
    if mask in ("mask_zero", "override"):
        lines += ["vocab W = size 7", "input src : tokens[B, S] of W"]
        emb = mask_embedding(P.add("e", nn.Embedding(7, E)))
        lines.append(f"e = embedding(src, dim={E}, mask_zero=true)")
        if chain == "gru":
            rec = perturb(P.add("k", nn.GRU(E, hk, batch_first=True)))
            lines.append(f"k = gru(e, hidden={hk}, return_sequences=true)")
        elif chain == "dense":
            lin = perturb(P.add("d", nn.Linear(E, hk)))
            lines += ["r = dropout(e, rate=0.3)",
                      f"d = dense(r, units={hk}, activation=tanh)", "k = softmax(d)"]
        else:                                           # concat of e and an lstm over e
            rec = perturb(P.add("l", nn.LSTM(E, hk - E, batch_first=True)))
            lines += [f"l = lstm(e, hidden={hk - E}, return_sequences=true)", "k = concat(e, l)"]
    else:
        lines.append("input k : f32[B, S, %d]" % hk)
    if mask in ("lengths", "override"):
        lines.append("input n : lengths[B]")
    opts = "" if kind == "dot" else f", kind={kind}"
    opts += f", units={units}" if units else ""
    opts += ", lengths=n" if mask in ("lengths", "override") else ""
    att1 = P.add("c1", Attention(kind, hq, hk, units))
    att2 = P.add("c2", Attention(kind, hq, hk, units))
    lines += [f"c1, w1 = attention(q, k{opts})", f"c2, w2 = attention(qs, k{opts})",
              "output ctx = c1", "output w = w1", "output ctx_seq = c2", "output w_seq = w2"]
    src = "\n".join(lines) + "\n"

    runs = []
    rng = np.random.default_rng(idx)
    for B, S, Q in [(3, 5, 4), (1, 1, 1)]:
        inp = {"q": f32(rng, B, hq), "qs": f32(rng, B, Q, hq)}
        with torch.no_grad():
            lens = None
            if mask in ("mask_zero", "override"):
                mlen = rand_lengths(rng, B, S)
                inp["src"] = padded_tokens(rng, 7, B, S, mlen, True)
                e = emb(torch.from_numpy(inp["src"]).long())
                ml = torch.from_numpy(mlen).long()
                if chain == "gru":
                    keys, _, _ = run_rnn(rec, e, ml)
                elif chain == "dense":
                    keys = torch.softmax(torch.tanh(lin(e)), -1)
                else:
                    keys = torch.cat([e, run_rnn(rec, e, ml)[0]], -1)
                lens = ml
            else:
                inp["k"] = f32(rng, B, S, hk)
                keys = torch.from_numpy(inp["k"])
            if mask in ("lengths", "override"):
                n = rand_lengths(rng, B, S)
                if mask == "override" and B > 1:
                    n[0] = max(mlen[0] - 1, 1)              # shorter than the padding says
                    n[1] = S                                # beyond the padding: attends it
                inp["n"] = n
                lens = torch.from_numpy(n).long()
            c1, w1 = att1(torch.from_numpy(inp["q"]), keys, lens)
            c2, w2 = att2(torch.from_numpy(inp["qs"]), keys, lens)
        refs = {"ctx": c1, "w": w1, "ctx_seq": c2, "w_seq": w2}
        runs.append((f"B{B}-S{S}-Q{Q}", inp, {k: v.numpy() for k, v in refs.items()}, []))
    return Model(name, src, P.state(), runs)


# ------------------------------------------------------------------------------------------
# Group state
# ------------------------------------------------------------------------------------------

# (cell, hidden, input features, relu)
STATE = [("lstm", 4, 3, False), ("gru", 1, 2, False), ("rnn", 3, 1, True)]


def state_model(idx, cell, H, I, relu):
    name = f"state-{cell}-h{H}-i{I}" + ("-relu" if relu else "")
    P = Params(2000 + idx)
    lstm = cell == "lstm"
    kw = dict(nonlinearity="relu") if relu else {}
    opt = ", nonlinearity=relu" if relu else ""

    def mod(n, **more):
        return perturb(P.add(n, MODULES[cell](I, H, batch_first=True, **kw, **more)))

    def st(*names):
        return f"[{names[0]}, {names[0].replace('h', 'c', 1)}]" if lstm else names[0]

    def names(*ns):
        return ", ".join(ns if lstm else ns[:2])

    A, Bm, C, Dm, Pm = (mod("a"), mod("b"), mod("c", num_layers=2, bidirectional=True),
                        mod("d"), mod("p"))
    lines = ["model state", f"input x : f32[B, T, {I}]", f"input x2 : f32[B, T, {I}]",
             "input n : lengths[B]", f"input h0 : f32[1, B, {H}]", f"input h0b : f32[B, {H}]",
             f"input h0c : f32[4, B, {H}]"]
    if lstm:
        lines += [f"input c0 : f32[1, B, {H}]", f"input c0b : f32[B, {H}]",
                  f"input c0c : f32[4, B, {H}]"]
    lines += [
        f"{names('a', 'ah', 'ac')} = {cell}(x, hidden={H}, return_sequences=true, "
        f"return_state=true, initial_state={st('h0')}{opt})",
        f"b = {cell}(x, hidden={H}, initial_state={st('h0b')}{opt})",
        f"{names('c', 'ch', 'cc')} = {cell}(x, hidden={H}, layers=2, bidirectional=true, "
        f"return_sequences=true, return_state=true, initial_state={st('h0c')}{opt})",
        f"d = {cell}(x2, hidden={H}, return_sequences=true, initial_state={st('ah')}{opt})",
        f"{names('p', 'ph', 'pc')} = {cell}(x, hidden={H}, return_sequences=true, "
        f"return_state=true, lengths=n, initial_state={st('h0b')}{opt})",
    ]
    outs = ["a", "ah", "b", "c", "ch", "d", "p", "ph"] + (["ac", "cc", "pc"] if lstm else [])
    lines += [f"output o_{o} = {o}" for o in outs]
    src = "\n".join(lines) + "\n"

    runs = []
    rng = np.random.default_rng(idx)
    for B, T in [(3, 5), (1, 1)]:
        inp = {"x": f32(rng, B, T, I), "x2": f32(rng, B, T, I), "n": rand_lengths(rng, B, T),
               "h0": f32(rng, 1, B, H), "h0b": f32(rng, B, H), "h0c": f32(rng, 4, B, H)}
        if lstm:
            inp.update(c0=f32(rng, 1, B, H), c0b=f32(rng, B, H), c0c=f32(rng, 4, B, H))
        t = {k: torch.from_numpy(v) for k, v in inp.items()}

        def init(h, c=None):
            return (h, c) if lstm else h
        with torch.no_grad():
            r = {}
            r["a"], r["ah"], r["ac"] = run_rnn(A, t["x"], h0=init(t["h0"], t.get("c0")))
            _, bh, _ = run_rnn(Bm, t["x"], h0=init(t["h0b"][None], t["c0b"][None] if lstm else None))
            r["b"] = bh[-1]
            r["c"], r["ch"], r["cc"] = run_rnn(C, t["x"], h0=init(t["h0c"], t.get("c0c")))
            r["d"], _, _ = run_rnn(Dm, t["x2"], h0=init(r["ah"], r["ac"]))
            r["p"], r["ph"], r["pc"] = run_rnn(Pm, t["x"], t["n"].long(),
                                               h0=init(t["h0b"][None],
                                                       t["c0b"][None] if lstm else None))
        refs = {f"o_{o}": r[o].numpy() for o in outs}
        runs.append((f"B{B}-T{T}", inp, refs, []))
    return Model(name, src, P.state(), runs)


# ------------------------------------------------------------------------------------------
# Group decoder
# ------------------------------------------------------------------------------------------

def dspec(**kw):
    s = dict(cell="lstm", enc=None, att="none", H=4, E=3, D=3, layers=1, bi=False, mask="none",
             V="^$abcd", M=6, units=0, teacher=False, init="state", stack=None, relu=False)
    s.update(kw)
    if s["enc"] is None:
        s["enc"] = s["cell"]
    return s


DECODERS = [
    dspec(cell="lstm", att="none", H=5, E=4, D=3),
    dspec(cell="lstm", att="dot", H=6, layers=2, mask="lengths", teacher=True, M=7),
    dspec(cell="lstm", att="general", H=4, bi=True, mask="mask_zero", D=0, M=5),
    dspec(cell="lstm", att="additive", H=1, units=3, mask="lengths", V="^$a", M=4),
    dspec(cell="gru", att="none", H=3, layers=2, mask="mask_zero", M=1),
    dspec(cell="gru", att="dot", H=5, mask="mask_zero", D=0, M=6),
    dspec(cell="gru", att="general", H=1, mask="lengths", V="^$a", M=5),
    dspec(cell="gru", att="additive", H=6, bi=True, mask="lengths", init="bridge",
          teacher=True, M=6),
    dspec(cell="rnn", att="none", H=4, mask="lengths", relu=True, M=5),
    dspec(cell="rnn", att="dot", H=4, layers=2, M=6),
    dspec(cell="rnn", att="general", H=3, bi=True, mask="mask_zero", M=3),
    dspec(cell="rnn", att="additive", H=2, units=5, relu=True, M=1, V="ab$^c"),
    # two cells in the body: lstm_cell then gru_cell, attention from the second
    dspec(cell="lstm", stack="gru", att="general", H=4, mask="lengths", M=5),
    # a gru_cell decoder started from an lstm encoder's h_n
    dspec(cell="gru", enc="lstm", att="dot", H=3, mask="lengths", M=4),
    # no encoder: the states come from f32 inputs ([B, H] and [1, B, H])
    dspec(cell="lstm", att="none", H=3, init="input", M=5, V="^$ab"),
]


def decoder_name(s):
    cell, H = s["cell"], s["H"]
    return f"decoder-{cell}_cell" + (f"+{s['stack']}_cell" if s["stack"] else "") + \
        f"-{s['att']}-{s['mask']}-init_{s['init']}-h{H}-L{s['layers']}" + \
        ("-bi" if s["bi"] else "") + f"-V{len(s['V'])}-max{s['M']}" + \
        ("-onehot" if not s["D"] else "") + ("-teacher" if s["teacher"] else "") + \
        ("-relu" if s["relu"] else "") + (f"-enc_{s['enc']}" if s["enc"] != cell else "")


def decoder_source(s, seed):
    """The .rnn text of decoder spec s and its modules, drawn from `seed` and registered in a
    Params under their binding names: se (source embedding), enc (encoder), summ and bridge
    (init="bridge"), te (target embedding; none with onehot, D=0), s and s2 (the body's
    cells), ctx (attention), scores (the head). Returns (src, Params)."""
    cell, H, V, M = s["cell"], s["H"], s["V"], s["M"]
    nv = len(V)
    P = Params(seed)
    lines = ["model s2s", f'vocab Tgt = "{V}"']
    has_enc = s["init"] != "input"
    lstm_enc = s["enc"] == "lstm"
    dirs = 2 if s["bi"] else 1
    E, D = s["E"], s["D"]
    if has_enc:
        lines += ["vocab Src = size 9", "input src : tokens[B, S] of Src"]
        if s["mask"] == "lengths":
            lines.append("input src_len : lengths[B]")
        se = P.add("se", nn.Embedding(9, E))
        if s["mask"] == "mask_zero":
            mask_embedding(se)
        lines.append(f"se = embedding(src, dim={E}" +
                     (", mask_zero=true)" if s["mask"] == "mask_zero" else ")"))
        ekw = dict(nonlinearity="relu") if s["relu"] and s["enc"] == "rnn" else {}
        perturb(P.add("enc", MODULES[s["enc"]](E, H, num_layers=s["layers"],
                                               bidirectional=s["bi"], batch_first=True, **ekw)))
        eopts = f"hidden={H}" + (f", layers={s['layers']}" if s["layers"] > 1 else "") + \
            (", bidirectional=true" if s["bi"] else "") + \
            (", nonlinearity=relu" if ekw else "") + \
            (", lengths=src_len" if s["mask"] == "lengths" else "")
        lines.append(f"enc, hn{', cn' if lstm_enc else ''} = {s['enc']}(se, {eopts}, "
                     "return_sequences=true, return_state=true)")
    if s["init"] == "bridge":
        perturb(P.add("summ", MODULES[s["enc"]](E, H, bidirectional=s["bi"], batch_first=True)))
        perturb(P.add("bridge", nn.Linear(dirs * H, H)))
        lines += [f"summ = {s['enc']}(se, hidden={H}" + (", bidirectional=true" if s["bi"] else "") +
                  (", lengths=src_len" if s["mask"] == "lengths" else "") + ")",
                  f"bridge = dense(summ, units={H}, activation=tanh)"]
        init = ["bridge"]
    elif s["init"] == "input":
        lines += [f"input z : f32[B, {H}]", f"input zc : f32[1, B, {H}]"]
        init = ["z", "zc"]
    else:
        init = ["hn", "cn"] if cell == "lstm" else ["hn"]
    H2 = H
    if s["stack"]:
        init += ["hn"] if s["stack"] != "lstm" else ["hn", "cn"]
    if s["teacher"]:
        lines.append("target y : tokens[B, T] of Tgt")
    dopts = f'vocab=Tgt, init=[{", ".join(init)}], start="^", end="$", max_len={M}' + \
        (", teacher=y" if s["teacher"] else "")
    lines.append(f"decoder dec({dopts}) {{")
    if D:
        P.add("te", nn.Embedding(nv, D))
        lines.append(f"  te = embedding(prev, dim={D})")
    else:
        lines.append("  te = onehot(prev)")
    ckw = dict(nonlinearity="relu") if s["relu"] and cell == "rnn" else {}
    perturb(P.add("s", CELLS[cell](D or nv, H, **ckw)), scale=2.0)
    lines.append(f"  s = {cell}_cell(te, hidden={H}" + (", nonlinearity=relu" if ckw else "") + ")")
    top = "s"
    if s["stack"]:
        perturb(P.add("s2", CELLS[s["stack"]](H, H2)))
        lines.append(f"  s2 = {s['stack']}_cell(s, hidden={H2})")
        top = "s2"
    feats = H2 if s["stack"] else H
    if s["att"] != "none":
        hk = dirs * H
        P.add("ctx", Attention(s["att"], feats, hk, s["units"]))
        aopts = ("" if s["att"] == "dot" else f", kind={s['att']}") + \
            (f", units={s['units']}" if s["units"] else "") + \
            (", lengths=src_len" if s["mask"] == "lengths" else "")
        lines.append(f"  ctx, w = attention({top}, enc{aopts})")
        lines.append(f"  scores = dense(concat({top}, ctx), units=Tgt)")
        feats += hk
    else:
        lines.append(f"  scores = dense({top}, units=Tgt)")
    perturb(P.add("scores", nn.Linear(feats, nv)), scale=3.0)
    lines += ["  next scores", "}", "output logits = dec", "output probs = softmax(dec)"]
    if s["att"] != "none":
        lines.append("output align = dec.w")            # the attention weights of every step
    if s["teacher"]:
        lines.append("loss cross_entropy(dec, y)")
    return "\n".join(lines) + "\n", P


def source_lengths(s, inp):
    """Each row's source length as a LongTensor ([B]), or None when unmasked: the
    `src_len` input, or one past the last nonzero token (mask_zero)."""
    if s["mask"] == "lengths":
        return torch.from_numpy(inp["src_len"]).long()
    if s["mask"] == "mask_zero":
        nz = torch.from_numpy(inp["src"]) != 0
        return (nz.long() * torch.arange(1, nz.shape[1] + 1)).max(1).values
    return None


def decoder_steps(s, m, inp, steps, teacher=None, weights=None):
    """The decoder of spec s, written out step by step with the modules m ({binding name:
    module}, e.g. Params.mods or float64 copies of them; the computation runs in their
    dtype) on the inputs inp ({name: array}). Step t's prev is the start token at t = 0,
    then teacher[:, t-1] when a teacher ([B, T] ids) is given, else the argmax of step t-1
    (greedy). Returns the list of `steps` step scores [B, |V|]; with a list `weights`, also
    appends each step's attention weights [B, S] to it."""
    cell, V = s["cell"], s["V"]
    nv = len(V)
    dt = m["scores"].weight.dtype
    L = None
    if s["init"] != "input":
        L = source_lengths(s, inp)
        x = m["se"](torch.from_numpy(inp["src"]).long())
        keys, hn, cn = run_rnn(m["enc"], x, L)
    if s["init"] == "bridge":
        _, sh, _ = run_rnn(m["summ"], x, L)
        states = [torch.tanh(m["bridge"](final_of(sh, s["bi"])))]
    elif s["init"] == "input":
        states = [torch.from_numpy(inp["z"]).to(dt), torch.from_numpy(inp["zc"]).to(dt)[-1]]
    else:
        states = [hn[-1], cn[-1]] if cell == "lstm" else [hn[-1]]
    if s["stack"]:
        states2 = [hn[-1], cn[-1]] if s["stack"] == "lstm" else [hn[-1]]
    B = states[0].shape[0]
    prev = torch.full((B,), V.index("^"), dtype=torch.long)
    logits = []
    for t in range(steps):
        xin = m["te"](prev) if s["D"] else F.one_hot(prev, nv).to(dt)
        if cell == "lstm":
            h, c = m["s"](xin, tuple(states))
            states = [h, c]
        else:
            h = m["s"](xin, states[0])
            states = [h]
        if s["stack"]:
            if s["stack"] == "lstm":
                h, c = m["s2"](h, tuple(states2))
                states2 = [h, c]
            else:
                h = m["s2"](h, states2[0])
                states2 = [h]
        if s["att"] != "none":
            ctx, w = m["ctx"](h, keys, L)
            if weights is not None:
                weights.append(w)
            h = torch.cat([h, ctx], -1)
        sc = m["scores"](h)
        logits.append(sc)
        prev = sc.argmax(-1) if teacher is None else torch.from_numpy(teacher[:, t]).long()
    return logits


def decoder_model(idx, s):
    name = decoder_name(s)
    H, M = s["H"], s["M"]
    src, P = decoder_source(s, 3000 + idx)
    has_enc = s["init"] != "input"
    runs = []
    rng = np.random.default_rng(idx)
    for B, S in [(3, 5), (1, 1)]:
        inp = {}
        if has_enc:
            lens = rand_lengths(rng, B, S) if s["mask"] != "none" else np.full(B, S, np.int32)
            inp["src"] = padded_tokens(rng, 9, B, S, lens, s["mask"] == "mask_zero")
            if s["mask"] == "lengths":
                inp["src_len"] = lens
        if s["init"] == "input":
            inp["z"], inp["zc"] = f32(rng, B, H), f32(rng, 1, B, H)
        align = []
        with torch.no_grad():
            logits = decoder_steps(s, P.mods, inp, M, weights=align)
        margin = np.inf
        for sc in logits:
            top2 = sc.topk(min(2, sc.shape[-1]), -1).values
            margin = min(margin, float((top2[:, 0] - top2[:, 1]).min()))
        lg = torch.stack(logits, 1)
        refs = {"logits": lg.numpy(), "probs": torch.softmax(lg, -1).numpy()}
        if align:
            refs["align"] = torch.stack(align, 1).numpy()
        runs.append((f"B{B}-S{S}", inp, refs, [("logits", margin)]))
    return Model(name, src, P.state(), runs)


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------

def build(groups):
    models = []
    if "attention" in groups:
        models += [attention_model(i, *a) for i, a in enumerate(ATTENTION)]
    if "state" in groups:
        models += [state_model(i, *a) for i, a in enumerate(STATE)]
    if "decoder" in groups:
        models += [decoder_model(i, s) for i, s in enumerate(DECODERS)]
    return models


def compile_model(rnnc, opt, d, m):
    try:
        return rnnref.compile_source(rnnc, opt, d, m.src)[0], None
    except rnnref.RunError as e:
        return None, f"compile failed ({os.path.join(d, 'm.rnn')}): {e}"


def check_run(exe, d, m, suffix, inp, refs, tokens):
    rd = os.path.join(d, suffix)
    os.makedirs(rd, exist_ok=True)
    cmd = [exe, "infer", "-w", os.path.join(d, "w.safetensors")]
    for k, v in inp.items():
        p = os.path.join(rd, k + ".npy")
        np.save(p, v)
        cmd += ["--input", f"{k}={p}"]
    out = os.path.join(rd, "out")
    try:
        rnnref.run(cmd + ["-o", out], timeout=120)
    except rnnref.RunError as e:
        return float("inf"), f"infer failed: {e}"
    err, notes = 0.0, []
    for k, r in refs.items():
        got = np.load(os.path.join(out, k + ".npy"))
        if got.shape != r.shape:
            return float("inf"), f"output {k}: shape {got.shape}, torch {r.shape} ({rd})"
        e = float(np.abs(got.astype(np.float64) - r.astype(np.float64)).max()) if r.size else 0.0
        if not e <= TOL:
            i = np.unravel_index(np.argmax(np.abs(got - r)), r.shape)
            notes.append(f"{k} err {e:.1e} at {tuple(int(j) for j in i)}: got {got[i]:.7g}, "
                         f"torch {r[i]:.7g}")
        err = max(err, e)
    for k, margin in tokens:
        got = np.load(os.path.join(out, k + ".npy")).argmax(-1)
        want = refs[k].argmax(-1)
        if not np.array_equal(got, want):
            err = float("inf")
            notes.append(f"greedy tokens differ: got {got.tolist()}, torch {want.tolist()} "
                         f"(smallest top-2 margin in torch {margin:.1e})")
    return err, "; ".join(notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnnc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--opt", type=int, choices=range(4), default=2,
                    help="rnnc optimisation level (-O0..-O3; default 2)")
    ap.add_argument("--group", action="append", choices=["attention", "state", "decoder"])
    ap.add_argument("--case", help="only models whose name contains this")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = build(args.group or ["attention", "state", "decoder"])
    if args.case:
        models = [m for m in models if args.case in m.name]
    os.makedirs(args.work, exist_ok=True)
    dirs = [os.path.join(args.work, f"{i:02d}-{m.name}") for i, m in enumerate(models)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        built = list(pool.map(lambda dm: compile_model(args.rnnc, args.opt, *dm), zip(dirs, models)))
    cases = failed = 0
    for d, m, (exe, cerr) in zip(dirs, models, built):
        rnnref.save_safetensors(os.path.join(d, "w.safetensors"), m.params)
        for suffix, inp, refs, tokens in m.runs:
            cases += 1
            if exe is None:
                err, note = float("inf"), cerr.replace("\n", "\n    ")
            else:
                err, note = check_run(exe, d, m, suffix, inp, refs, tokens)
            ok = err <= TOL
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {m.name}/{suffix}: max abs err {err:.1e}" +
                  (f" -- {note} (model: {d}/m.rnn)" if not ok and note else ""))
    print(f"seq2seq-parity: {cases} cases, {failed} failed")
    sys.exit(1 if failed or not cases else 0)


if __name__ == "__main__":
    main()
