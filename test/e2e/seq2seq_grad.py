#!/usr/bin/python3
"""Gradients of decoders, attention, padded `last`, computed initial states, several losses and
weighted cross_entropy (`prog grad`) vs PyTorch autograd.

    /usr/bin/python3 test/e2e/seq2seq_grad.py --rnnc build/bin/rnnc --work /tmp/s2g \
        [--group decoder|attention|misc|loss ...] [--case SUBSTRING] [--opt N] [-j N] [--forward]

Each model is generated as .rnn text with a `loss`, compiled once (`rnnc -ON m.rnn -o prog`,
in parallel), given random weights drawn with PyTorch modules whose state_dict names are the
ones rnnc gives (nonzero biases, sharpened attention scores; saved as safetensors), and run
with `prog grad -w W --input ... --target ... -o g.safetensors` on random data at two sizes
(the second one small or degenerate: batch 1, one source step, a target of length 1). The
reference is the same network in float64 PyTorch, written out step by step, with the
float32 weights; its loss is back-propagated by autograd. Compared: the loss (|diff| /
max(1, |loss|)) and the gradient of every parameter (max |g - ref| / max |ref|, the
denominator at least 1e-2 of the largest reference gradient of the model: a gradient that is
zero by construction -- attention over one key -- or tiny next to the others -- an attention
query's, with flat scores -- is held to float32 noise, not to its own size).
Pass: every error <= 1e-4, and g.safetensors holds exactly `loss` and the parameters.

Groups:
  decoder    encoder-decoders with `teacher=y` and `loss cross_entropy(dec, y)` (the mean over
             all B*T positions; step t reads prev = y[:, t-1], the start token at t = 0, and
             the loss runs exactly T steps, also when T > max_len): lstm_cell / gru_cell /
             rnn_cell, without attention and with each attention kind, sources masked by a
             `lengths=` input or by mask_zero; init from the encoder's return_state (1 or 2
             layers; bidirectional: the last slice), from a dense bridge over a second encoder
             (a computed [B, H] state), from f32 inputs; stacked cells (lstm_cell then
             gru_cell); onehot(prev) instead of an embedding; hidden 1, vocab 3, relu.
  attention  top-level `attention(q, keys, kind=dot|general|additive)` and `loss mse(ctx, y)`,
             a one-step query [B, Hq] or a sequence query [B, Q, Hq] (each a tanh dense over
             an f32 input), the keys a gru over an embedding (so the keys' gradient matters),
             unmasked, masked by a `lengths=` input (the gru runs over the padding: masked
             keys must get no gradient) or by mask_zero padding; self-attention, an explicit
             `lengths=` over mask_zero keys, keys through concat(embedding, lstm).
  misc       `last(seq, lengths=n)` of a padded sequence (lstm, 2-layer bidirectional lstm,
             mask_zero gru, an unpacked gru) then dense and cross_entropy on class[B] of K;
             `initial_state=` from a computed [B, H] value (dense bridges over an input or
             over another layer's final state; with lengths=); several `loss` lines (their
             sum: two on different heads, three, two on the same head, attention step and
             sequence losses, a decoder plus a classifier on its encoder). Controls, which
             had gradients before all these: `last` without lengths, initial_state from
             another layer's return_state and from f32 inputs.
  loss       weighted cross_entropy, sum(w * ce) / sum(w) over the target's positions:
             `weights=n` of a lengths[B] input with a per-step target (steps t < n[b] weigh
             1), the recurrent layer masked by the same `lengths=n` or not (it then runs over
             the garbage after each length); `weights=w` of a float target f32[B, T] (random
             positive, about a third exact zeros) and f32[B] on a class[B] target (many-to-
             one: a final state, unpadded, lengths= or mask_zero); automatic weights from
             mask_zero padding reaching per-step logits (through gru / lstm / rnn, 2 layers,
             bidirectional, dense layers only; a 0 id inside a row is a step), explicit
             weights= over mask_zero padding (they win over it); two losses, one or both
             weighted. Sizes: a row of length 1, batch 1 (shorter than T where T > 1).

Prints `PASS NAME/SIZES: loss and grads max rel err E` or `FAIL NAME/SIZES: ... -- WHY
(model: PATH)` per case (a model that does not compile, or whose program has no gradient,
fails every one of its cases with rnnc's message) and `seq2seq-grad: N cases, N failed`;
exits 1 when a case failed.

--forward also compares the outputs of `prog infer` with the reference's forward values (max
abs error <= 1e-5; decoders decode greedily for max_len steps), which checks the references
against programs that have no gradient yet. --selfcheck checks the references themselves:
autograd against float64 central differences at a few coordinates of every parameter (no
rnnc involved).
"""
import argparse
import concurrent.futures
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import rnnref  # noqa: E402
import seq2seq_parity as sp  # noqa: E402
from seq2seq_parity import Attention, Params, f32, perturb, rand_lengths, run_rnn  # noqa: E402

TOL = 1e-4          # loss and gradients, relative
FLOOR = 1e-2        # gradient denominators: at least FLOOR x the model's largest |ref|
FWD_TOL = 1e-5      # --forward: outputs, absolute
MODULES = sp.MODULES


class Case:
    """One model: its source, its modules (Params, float32) and its runs.

    runs: [(suffix, inputs {name: array}, targets {name: array})].
    ref(m, inp, tgt) -> (loss, outputs): the reference with the modules m ({binding name:
    module}, float64 copies of P.mods), the loss a 0-d tensor to back-propagate, outputs
    {output name: tensor} as `prog infer` computes them (for --forward)."""

    def __init__(self, name, src, P, ref, runs):
        self.name, self.src, self.P, self.ref, self.runs = name, src, P, ref, runs


def t_(a, dt=torch.float64):
    """An input array as a tensor: ids as int64, floats as dt."""
    t = torch.from_numpy(np.asarray(a))
    return t.long() if not t.is_floating_point() else t.to(dt)


def ce(logits, y):
    """cross_entropy(logits [..., C], y [...]): the mean over all positions."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t_(y).reshape(-1))


def mse(pred, y):
    return F.mse_loss(pred, t_(y))


def zero_lengths(ids):
    """mask_zero lengths: one past each row's last nonzero id (LongTensor [B])."""
    nz = torch.from_numpy(ids) != 0
    return (nz.long() * torch.arange(1, nz.shape[1] + 1)).max(1).values


def pick_last(seq, lens):
    """last(seq, lengths=lens): seq[b, lens[b]-1]."""
    return seq[torch.arange(seq.shape[0]), lens - 1]


def tokens(rng, vocab, B, S, lens=None, pad_zero=False):
    if lens is None:
        lens = np.full(B, S, np.int32)
    return sp.padded_tokens(rng, vocab, B, S, lens, pad_zero)


def classes(rng, k, *shape):
    return rng.integers(0, k, size=shape).astype(np.int32)


# ------------------------------------------------------------------------------------------
# Group decoder
# ------------------------------------------------------------------------------------------

def dspec(**kw):
    return sp.dspec(teacher=True, **kw)


# (decoder spec (seq2seq_parity.dspec, with teacher=y), sizes [(B, S, T)])
DEFAULT_SIZES = [(3, 5, 4), (1, 1, 1)]
DECODERS = [
    (dspec(cell="lstm", att="none", H=5, E=4, D=3), DEFAULT_SIZES),
    # T > max_len and T > S
    (dspec(cell="lstm", att="dot", H=4, layers=2, mask="lengths", M=3), [(3, 5, 6), (1, 2, 1)]),
    (dspec(cell="lstm", att="general", H=3, bi=True, mask="mask_zero", D=0, M=5), DEFAULT_SIZES),
    (dspec(cell="lstm", att="general", H=3, layers=2, bi=True, mask="lengths", M=4),
     [(2, 4, 3), (1, 1, 2)]),
    (dspec(cell="lstm", att="additive", H=1, units=3, mask="lengths", V="^$a", M=4),
     DEFAULT_SIZES),
    (dspec(cell="gru", att="none", H=3, layers=2, mask="mask_zero", M=1), [(3, 4, 3), (1, 1, 1)]),
    (dspec(cell="gru", att="dot", H=5, mask="mask_zero", D=0, M=6), DEFAULT_SIZES),
    (dspec(cell="gru", att="general", H=1, mask="lengths", V="^$a", M=5), [(3, 5, 4), (1, 3, 1)]),
    (dspec(cell="gru", att="additive", H=4, bi=True, mask="lengths", init="bridge", M=6),
     DEFAULT_SIZES),
    (dspec(cell="rnn", att="none", H=4, mask="lengths", relu=True, M=5), DEFAULT_SIZES),
    (dspec(cell="rnn", att="dot", H=4, layers=2, M=6), [(2, 3, 5), (1, 1, 1)]),
    (dspec(cell="rnn", att="dot", H=3, mask="mask_zero", init="bridge", M=4), DEFAULT_SIZES),
    (dspec(cell="rnn", att="general", H=3, bi=True, mask="mask_zero", M=3), DEFAULT_SIZES),
    (dspec(cell="rnn", att="additive", H=2, units=5, relu=True, M=1, V="ab$^c"), DEFAULT_SIZES),
    # two cells in the body: lstm_cell then gru_cell, attention from the second
    (dspec(cell="lstm", stack="gru", att="general", H=4, mask="lengths", M=5), DEFAULT_SIZES),
    # a gru_cell decoder started from an lstm encoder's h_n
    (dspec(cell="gru", enc="lstm", att="dot", H=3, mask="lengths", M=4), DEFAULT_SIZES),
    # no encoder: the states come from f32 inputs ([B, H] and [1, B, H])
    (dspec(cell="lstm", att="none", H=3, init="input", M=5, V="^$ab"), [(3, 1, 4), (1, 1, 1)]),
]


def decoder_inputs(s, rng, B, S):
    inp = {}
    if s["init"] != "input":
        lens = rand_lengths(rng, B, S) if s["mask"] != "none" else np.full(B, S, np.int32)
        inp["src"] = tokens(rng, 9, B, S, lens, s["mask"] == "mask_zero")
        if s["mask"] == "lengths":
            inp["src_len"] = lens
    else:
        inp["z"], inp["zc"] = f32(rng, B, s["H"]), f32(rng, 1, B, s["H"])
    return inp


def decoder_case(idx, s, sizes):
    name = sp.decoder_name(s).replace("-teacher", "")
    src, P = sp.decoder_source(s, 5000 + idx)
    if "ctx" in P.mods:
        perturb(P.mods["ctx"], scale=3.0)       # sharper attention than the default init

    def ref(m, inp, tgt):
        steps = sp.decoder_steps(s, m, inp, tgt["y"].shape[1], teacher=tgt["y"])
        loss = ce(torch.stack(steps, 1), tgt["y"])
        with torch.no_grad():
            lg = torch.stack(sp.decoder_steps(s, m, inp, s["M"]), 1)
        return loss, {"logits": lg, "probs": torch.softmax(lg, -1)}

    rng = np.random.default_rng(500 + idx)
    runs = []
    for B, S, T in sizes:
        inp = decoder_inputs(s, rng, B, S)
        runs.append((f"B{B}-S{S}-T{T}", inp, {"y": classes(rng, len(s["V"]), B, T)}))
    return Case(name, src, P, ref, runs)


# ------------------------------------------------------------------------------------------
# Group attention
# ------------------------------------------------------------------------------------------

# (kind, mask, query, Hq, Hk, units, keys)
#   mask  none | lengths (an input; the keys' gru runs over the padding) | mask_zero |
#         override (mask_zero keys and an explicit lengths= that differs from the padding)
#   query step ([B, Hq]) | seq ([B, Q, Hq]) | self (the keys themselves, Hq = Hk)
#   keys  gru (over the embedding) | concat (concat(embedding, lstm over it))
ATTENTION = [
    ("dot", "none", "step", 4, 4, 0, "gru"),
    ("dot", "none", "seq", 3, 3, 0, "gru"),
    ("dot", "lengths", "step", 1, 1, 0, "gru"),            # hidden 1
    ("dot", "lengths", "seq", 3, 3, 0, "gru"),
    ("dot", "mask_zero", "step", 3, 3, 0, "gru"),
    ("dot", "mask_zero", "seq", 2, 2, 0, "gru"),
    ("general", "none", "step", 3, 5, 0, "gru"),
    ("general", "none", "seq", 4, 2, 0, "gru"),
    ("general", "lengths", "step", 2, 4, 0, "gru"),
    ("general", "lengths", "seq", 1, 3, 0, "gru"),          # query size 1
    ("general", "mask_zero", "step", 4, 3, 0, "gru"),
    ("general", "mask_zero", "seq", 3, 4, 0, "gru"),
    ("additive", "none", "step", 3, 2, 5, "gru"),
    ("additive", "none", "seq", 2, 3, 0, "gru"),            # units defaults to Hq
    ("additive", "lengths", "step", 2, 4, 0, "gru"),
    ("additive", "lengths", "seq", 3, 2, 4, "gru"),
    ("additive", "mask_zero", "step", 1, 5, 3, "concat"),   # query size 1
    ("additive", "mask_zero", "seq", 4, 3, 1, "gru"),       # units 1
    ("general", "mask_zero", "self", 3, 3, 0, "gru"),       # attention(k, k): self-attention
    ("dot", "override", "seq", 3, 3, 0, "gru"),
]
ATT_SIZES = [[(3, 5, 4), (1, 1, 1)], [(3, 4, 2), (1, 3, 2)]]    # (B, S, Q), by pairs


def attention_source(P, kind, mask, hq, hk, units, keys, losses):
    """Lines of an attention model and its modules (registered in P); `losses` chooses the
    queries: ["step"], ["seq"], ["self"] or ["step", "seq"] (two losses)."""
    E, F_ = 3, 2
    zero = mask in ("mask_zero", "override")
    lines = ["model att", "vocab W = size 7", "input src : tokens[B, S] of W"]
    if mask in ("lengths", "override"):
        lines.append("input n : lengths[B]")
    sp.perturb(P.add("e", nn.Embedding(7, E)))
    if zero:
        sp.mask_embedding(P.mods["e"])
    lines.append(f"e = embedding(src, dim={E}" + (", mask_zero=true)" if zero else ")"))
    if keys == "gru":
        perturb(P.add("k", nn.GRU(E, hk, batch_first=True)), scale=2.0)
        lines.append(f"k = gru(e, hidden={hk}, return_sequences=true)")
    else:
        perturb(P.add("l", nn.LSTM(E, hk - E, batch_first=True)), scale=2.0)
        lines += [f"l = lstm(e, hidden={hk - E}, return_sequences=true)", "k = concat(e, l)"]
    opts = ("" if kind == "dot" else f", kind={kind}") + (f", units={units}" if units else "") + \
        (", lengths=n" if mask in ("lengths", "override") else "")
    for i, qk in enumerate(losses, 1):
        if qk == "step":
            lines += [f"input xq : f32[B, {F_}]", f"q = dense(xq, units={hq}, activation=tanh)"]
            perturb(P.add("q", nn.Linear(F_, hq)), scale=2.0)
        elif qk == "seq":
            lines += [f"input xs : f32[B, Q, {F_}]",
                      f"qs = dense(xs, units={hq}, activation=tanh)"]
            perturb(P.add("qs", nn.Linear(F_, hq)), scale=2.0)
        qname = {"step": "q", "seq": "qs", "self": "k"}[qk]
        perturb(P.add(f"c{i}", Attention(kind, hq, hk, units)), scale=4.0)     # sharper
        ty = f"f32[B, {hk}]" if qk == "step" else \
            (f"f32[B, Q, {hk}]" if qk == "seq" else f"f32[B, S, {hk}]")
        lines += [f"c{i}, w{i} = attention({qname}, k{opts})", f"target y{i} : {ty}",
                  f"output ctx{i} = c{i}", f"output w{i} = w{i}", f"loss mse(c{i}, y{i})"]
    return lines


def attention_ref(mask, keys, losses):
    def ref(m, inp, tgt):
        e = m["e"](t_(inp["src"]))
        zl = zero_lengths(inp["src"]) if mask in ("mask_zero", "override") else None
        if keys == "gru":
            k, _, _ = run_rnn(m["k"], e, zl)
        else:
            k = torch.cat([e, run_rnn(m["l"], e, zl)[0]], -1)
        lens = t_(inp["n"]) if mask in ("lengths", "override") else zl
        loss, outs = 0, {}
        for i, qk in enumerate(losses, 1):
            q = {"step": lambda: torch.tanh(m["q"](t_(inp["xq"]))),
                 "seq": lambda: torch.tanh(m["qs"](t_(inp["xs"]))),
                 "self": lambda: k}[qk]()
            c, w = m[f"c{i}"](q, k, lens)
            loss = loss + mse(c, tgt[f"y{i}"])
            outs.update({f"ctx{i}": c, f"w{i}": w})
        return loss, outs
    return ref


def attention_runs(rng, mask, losses, hk, sizes):
    runs = []
    for B, S, Q in sizes:
        zero = mask in ("mask_zero", "override")
        lens = rand_lengths(rng, B, S) if mask != "none" else None
        inp = {"src": tokens(rng, 7, B, S, lens, zero)}
        if mask in ("lengths", "override"):
            n = rand_lengths(rng, B, S)
            if mask == "override" and B > 1:
                n[0] = max(lens[0] - 1, 1)          # shorter than the padding says
                n[1] = S                            # beyond the padding: attends it
            inp["n"] = n
        tgt = {}
        for i, qk in enumerate(losses, 1):
            if qk == "step":
                inp["xq"] = f32(rng, B, 2)
                tgt[f"y{i}"] = f32(rng, B, hk)
            elif qk == "seq":
                inp["xs"] = f32(rng, B, Q, 2)
                tgt[f"y{i}"] = f32(rng, B, Q, hk)
            else:
                tgt[f"y{i}"] = f32(rng, B, S, hk)
        runs.append((f"B{B}-S{S}" + (f"-Q{Q}" if "seq" in losses else ""), inp, tgt))
    return runs


def attention_case(idx, kind, mask, query, hq, hk, units, keys):
    name = f"attention-{kind}-{mask}-{query}-q{hq}-k{hk}" + (f"-units{units}" if units else "") + \
        (f"-{keys}" if keys != "gru" else "")
    P = Params(6000 + idx)
    src = "\n".join(attention_source(P, kind, mask, hq, hk, units, keys, [query])) + "\n"
    rng = np.random.default_rng(600 + idx)
    runs = attention_runs(rng, mask, [query], hk, ATT_SIZES[idx // 2 % 2])
    return Case(name, src, P, attention_ref(mask, keys, [query]), runs)


# ------------------------------------------------------------------------------------------
# Group misc: last of a padded sequence, computed initial states, several losses
# ------------------------------------------------------------------------------------------

MISC_SIZES = [(3, 5), (1, 1)]       # (B, T)


def last_case(idx, cell, H, mask, layers=1, bi=False, K=3):
    """rec over a sequence, last(seq[, lengths=n]), dense, cross_entropy on class[B] of K.
    mask: lengths (the layer and last get lengths=n) | unpacked (only last gets it) |
    mask_zero | none (a control)."""
    name = f"last-{cell}-{mask}-h{H}" + (f"-L{layers}" if layers > 1 else "") + \
        ("-bi" if bi else "") + f"-K{K}"
    P = Params(7000 + idx)
    zero = mask == "mask_zero"
    lines = ["model lastm", "vocab W = size 7", "input src : tokens[B, T] of W"]
    if mask in ("lengths", "unpacked"):
        lines.append("input n : lengths[B]")
    P.add("e", nn.Embedding(7, 3))
    if zero:
        sp.mask_embedding(P.mods["e"])
    perturb(P.add("seq", MODULES[cell](3, H, num_layers=layers, bidirectional=bi,
                                       batch_first=True)))
    perturb(P.add("head", nn.Linear((2 if bi else 1) * H, K)), scale=2.0)
    ropts = f"hidden={H}" + (f", layers={layers}" if layers > 1 else "") + \
        (", bidirectional=true" if bi else "") + (", lengths=n" if mask == "lengths" else "")
    lines += ["e = embedding(src, dim=3" + (", mask_zero=true)" if zero else ")"),
              f"seq = {cell}(e, {ropts}, return_sequences=true)",
              "l = last(seq" + (", lengths=n)" if mask in ("lengths", "unpacked") else ")"),
              f"head = dense(l, units={K})", f"target y : class[B] of {K}", "output o = head",
              "loss cross_entropy(head, y)"]

    def ref(m, inp, tgt):
        e = m["e"](t_(inp["src"]))
        lens = t_(inp["n"]) if mask in ("lengths", "unpacked") else \
            (zero_lengths(inp["src"]) if zero else None)
        seq, _, _ = run_rnn(m["seq"], e, lens if mask in ("lengths", "mask_zero") else None)
        last = pick_last(seq, lens) if lens is not None else seq[:, -1]
        head = m["head"](last)
        return ce(head, tgt["y"]), {"o": head}

    rng = np.random.default_rng(700 + idx)
    runs = []
    for B, T in MISC_SIZES:
        lens = rand_lengths(rng, B, T) if mask != "none" else None
        inp = {"src": tokens(rng, 7, B, T, lens, zero)}
        if mask in ("lengths", "unpacked"):
            inp["n"] = lens
        runs.append((f"B{B}-T{T}", inp, {"y": classes(rng, K, B)}))
    return Case(name, "\n".join(lines) + "\n", P, ref, runs)


def bridge_case(idx, cell, H, source, lengths=False, seq=True):
    """initial_state= from a computed [B, H] state: source `input` (tanh dense bridges over
    an f32 input z; lstm: h0 = tanh dense, c0 = plain dense), `final` (a bridge over another
    gru's final state), `state` (a control: another layer's h_n [1, B, H], return_state) or
    `f32` (a control: f32 inputs [B, H]). seq: return_sequences=true and a per-step mse
    (else the final state and cross_entropy on class[B] of 3)."""
    lstm = cell == "lstm"
    name = f"init-{source}-{cell}-h{H}" + ("-lengths" if lengths else "") + \
        ("-seq" if seq else "-final")
    P = Params(7500 + idx)
    lines = ["model init", "input x : f32[B, T, 2]", "input z : f32[B, 3]"]
    if source == "f32":
        lines = lines[:2] + [f"input h0 : f32[B, {H}]"] + ([f"input c0 : f32[B, {H}]"] if lstm
                                                            else [])
    if lengths:
        lines.append("input n : lengths[B]")
    if source == "input":
        perturb(P.add("h0", nn.Linear(3, H)), scale=2.0)
        lines.append(f"h0 = dense(z, units={H}, activation=tanh)")
        if lstm:
            perturb(P.add("c0", nn.Linear(3, H)))
            lines.append(f"c0 = dense(z, units={H})")
    elif source == "final":
        lines.append("input x1 : f32[B, S, 2]")
        perturb(P.add("enc", nn.GRU(2, 3, batch_first=True)))
        perturb(P.add("h0", nn.Linear(3, H)), scale=2.0)
        lines += ["enc = gru(x1, hidden=3)", f"h0 = dense(enc, units={H}, activation=tanh)"]
        if lstm:
            perturb(P.add("c0", nn.Linear(3, H)))
            lines.append(f"c0 = dense(enc, units={H})")
    elif source == "state":
        lines.append("input x1 : f32[B, S, 2]")
        perturb(P.add("a", MODULES[cell](2, H, batch_first=True)))
        lines.append(f"a, h0{', c0' if lstm else ''} = {cell}(x1, hidden={H}, "
                     "return_sequences=true, return_state=true)")
    perturb(P.add("r", MODULES[cell](2, H, batch_first=True)))
    init = "[h0, c0]" if lstm else "h0"
    lines.append(f"r = {cell}(x, hidden={H}" + (", return_sequences=true" if seq else "") +
                 (", lengths=n" if lengths else "") + f", initial_state={init})")
    U = 2 if seq else 3
    perturb(P.add("head", nn.Linear(H, U)))
    lines += [f"head = dense(r, units={U})", "output o = head"]
    lines += ["target y : f32[B, T, 2]", "loss mse(head, y)"] if seq else \
        ["target y : class[B] of 3", "loss cross_entropy(head, y)"]

    def ref(m, inp, tgt):
        if source in ("input", "final"):
            z = t_(inp["z"]) if source == "input" else run_rnn(m["enc"], t_(inp["x1"]))[1][-1]
            states = [torch.tanh(m["h0"](z))] + ([m["c0"](z)] if lstm else [])
            states = [s_[None] for s_ in states]
        elif source == "state":
            _, hn, cn = run_rnn(m["a"], t_(inp["x1"]))
            states = [hn, cn] if lstm else [hn]
        else:
            states = [t_(inp["h0"])[None]] + ([t_(inp["c0"])[None]] if lstm else [])
        h0 = tuple(states) if lstm else states[0]
        out, hn, _ = run_rnn(m["r"], t_(inp["x"]), t_(inp["n"]) if lengths else None, h0)
        head = m["head"](out if seq else hn[-1])
        return (mse(head, tgt["y"]) if seq else ce(head, tgt["y"])), {"o": head}

    rng = np.random.default_rng(750 + idx)
    runs = []
    for B, T in MISC_SIZES:
        S = T + 1
        inp = {"x": f32(rng, B, T, 2), "z": f32(rng, B, 3)}
        if source == "f32":
            del inp["z"]
            inp["h0"] = f32(rng, B, H)
            if lstm:
                inp["c0"] = f32(rng, B, H)
        if source in ("final", "state"):
            inp["x1"] = f32(rng, B, S, 2)
        if lengths:
            inp["n"] = rand_lengths(rng, B, T)
        tgt = {"y": f32(rng, B, T, 2) if seq else classes(rng, 3, B)}
        runs.append((f"B{B}-T{T}", inp, tgt))
    return Case(name, "\n".join(lines) + "\n", P, ref, runs)


def multi_loss_case(idx, kind):
    """Several `loss` lines: `heads` (cross_entropy on a per-step tagger and mse on a
    regressor over an lstm on the same gru), `three` (three losses on three branches),
    `same` (cross_entropy and mse(softmax(.)) on one head)."""
    P = Params(8000 + idx)
    lines = ["model multi", "vocab W = size 5", "input src : tokens[B, T] of W"]
    P.add("e", nn.Embedding(5, 3))
    perturb(P.add("enc", nn.GRU(3, 4, batch_first=True)))
    lines += ["e = embedding(src, dim=3)", "enc = gru(e, hidden=4, return_sequences=true)"]
    if kind == "heads":
        perturb(P.add("tag", nn.Linear(4, 5)), scale=2.0)
        perturb(P.add("fin", nn.LSTM(4, 3, batch_first=True)))
        perturb(P.add("reg", nn.Linear(3, 2)))
        lines += ["tag = dense(enc, units=W)", "fin = lstm(enc, hidden=3)",
                  "reg = dense(fin, units=2, activation=sigmoid)",
                  "target y : tokens[B, T] of W", "target r : f32[B, 2]",
                  "output o = tag", "output p = reg",
                  "loss cross_entropy(tag, y)", "loss mse(reg, r)"]
    elif kind == "three":
        lines.append("input x : f32[B, 2]")
        perturb(P.add("a", nn.Linear(4, 2)))
        perturb(P.add("b", nn.Linear(2, 3)))
        perturb(P.add("c", nn.RNN(4, 2, batch_first=True)))
        perturb(P.add("d", nn.Linear(2, 3)), scale=2.0)
        lines += ["a = dense(enc, units=2, activation=tanh)", "b = dense(x, units=3)",
                  "c = rnn(enc, hidden=2)", "d = dense(c, units=3)",
                  "target ya : f32[B, T, 2]", "target yb : f32[B, 3]",
                  "target yd : class[B] of 3",
                  "output oa = a", "output ob = b", "output od = d",
                  "loss mse(a, ya)", "loss mse(b, yb)", "loss cross_entropy(d, yd)"]
    else:
        perturb(P.add("head", nn.Linear(4, 3)), scale=2.0)
        lines += ["head = dense(enc, units=3)", "target y : tokens[B, T] of C",
                  "target p : f32[B, T, 3]", "output o = softmax(head)",
                  "loss cross_entropy(head, y)", "loss mse(softmax(head), p)"]
        lines.insert(2, "vocab C = size 3")

    def ref(m, inp, tgt):
        enc, _, _ = run_rnn(m["enc"], m["e"](t_(inp["src"])))
        if kind == "heads":
            tag = m["tag"](enc)
            reg = torch.sigmoid(m["reg"](run_rnn(m["fin"], enc)[1][-1]))
            return ce(tag, tgt["y"]) + mse(reg, tgt["r"]), {"o": tag, "p": reg}
        if kind == "three":
            a = torch.tanh(m["a"](enc))
            b = m["b"](t_(inp["x"]))
            d = m["d"](run_rnn(m["c"], enc)[1][-1])
            return mse(a, tgt["ya"]) + mse(b, tgt["yb"]) + ce(d, tgt["yd"]), \
                {"oa": a, "ob": b, "od": d}
        head = m["head"](enc)
        sm = torch.softmax(head, -1)
        return ce(head, tgt["y"]) + mse(sm, tgt["p"]), {"o": sm}

    rng = np.random.default_rng(800 + idx)
    runs = []
    for B, T in MISC_SIZES:
        inp = {"src": tokens(rng, 5, B, T)}
        if kind == "heads":
            tgt = {"y": classes(rng, 5, B, T), "r": rng.random((B, 2)).astype(np.float32)}
        elif kind == "three":
            inp["x"] = f32(rng, B, 2)
            tgt = {"ya": f32(rng, B, T, 2), "yb": f32(rng, B, 3), "yd": classes(rng, 3, B)}
        else:
            tgt = {"y": classes(rng, 3, B, T),
                   "p": np.asarray(torch.softmax(torch.randn(B, T, 3), -1), np.float32)}
        runs.append((f"B{B}-T{T}", inp, tgt))
    return Case(f"losses-{kind}", "\n".join(lines) + "\n", P, ref, runs)


def multi_attention_case(idx):
    """Both attention losses in one model: a step and a sequence query over the same keys."""
    kind, mask, hq, hk = "general", "lengths", 3, 4
    P = Params(8500 + idx)
    src = "\n".join(attention_source(P, kind, mask, hq, hk, 0, "gru", ["step", "seq"])) + "\n"
    runs = attention_runs(np.random.default_rng(850 + idx), mask, ["step", "seq"], hk,
                          [(3, 5, 4), (1, 2, 1)])
    return Case(f"losses-attention-{kind}-{mask}-step+seq", src, P,
                attention_ref(mask, "gru", ["step", "seq"]), runs)


def multi_decoder_case(idx):
    """A decoder's cross_entropy plus a classifier on last(enc) of its encoder."""
    s = dspec(cell="gru", att="dot", H=3, M=4)
    src, P = sp.decoder_source(s, 8700 + idx)
    perturb(P.add("aux", nn.Linear(3, 2)), scale=2.0)
    src += "aux = dense(last(enc), units=2)\ntarget c : class[B] of 2\noutput a = aux\n" \
        "loss cross_entropy(aux, c)\n"

    def ref(m, inp, tgt):
        steps = sp.decoder_steps(s, m, inp, tgt["y"].shape[1], teacher=tgt["y"])
        enc, _, _ = run_rnn(m["enc"], m["se"](t_(inp["src"])))
        aux = m["aux"](enc[:, -1])
        loss = ce(torch.stack(steps, 1), tgt["y"]) + ce(aux, tgt["c"])
        with torch.no_grad():
            lg = torch.stack(sp.decoder_steps(s, m, inp, s["M"]), 1)
        return loss, {"logits": lg, "probs": torch.softmax(lg, -1), "a": aux}

    rng = np.random.default_rng(870 + idx)
    runs = []
    for B, S, T in [(3, 4, 3), (1, 1, 1)]:
        runs.append((f"B{B}-S{S}-T{T}", decoder_inputs(s, rng, B, S),
                     {"y": classes(rng, len(s["V"]), B, T), "c": classes(rng, 2, B)}))
    return Case("losses-decoder+classifier", src, P, ref, runs)


def misc_cases():
    return [
        last_case(0, "lstm", 4, "lengths"),
        last_case(1, "lstm", 3, "lengths", layers=2, bi=True, K=4),
        last_case(2, "gru", 1, "mask_zero", K=2),
        last_case(3, "gru", 3, "unpacked"),
        last_case(4, "rnn", 2, "lengths", bi=True),
        last_case(5, "lstm", 4, "none"),                         # control
        bridge_case(0, "gru", 4, "input"),
        bridge_case(1, "lstm", 3, "input", lengths=True, seq=False),
        bridge_case(2, "rnn", 1, "input", lengths=True),
        bridge_case(3, "lstm", 4, "final"),
        bridge_case(4, "gru", 3, "state"),                       # control: [1, B, H] h_n
        bridge_case(5, "lstm", 3, "f32", seq=False),             # control: f32 inputs
        multi_loss_case(0, "heads"),
        multi_loss_case(1, "three"),
        multi_loss_case(2, "same"),
        multi_attention_case(0),
        multi_decoder_case(0),
    ]


# ------------------------------------------------------------------------------------------
# Group loss: weighted cross_entropy (weights=lengths, f32 weights, mask_zero padding)
# ------------------------------------------------------------------------------------------

def weighted_ce(logits, y, w):
    """sum(w * ce) / sum(w) over the target's positions (TensorFlow's sequence_loss)."""
    c = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t_(y).reshape(-1),
                        reduction="none")
    w = w.reshape(-1).to(c.dtype)
    return (w * c).sum() / w.sum()


def step_mask(lens, T):
    """[B, T] float64: 1 at the steps t < lens[b], else 0."""
    return (torch.arange(T)[None, :] < torch.as_tensor(lens).long()[:, None]).double()


def loss_weights(rng, *shape):
    """Positive random weights in [0.1, 2.1), about a third exact zeros, not all zero."""
    w = (rng.random(shape) * 2 + 0.1) * (rng.random(shape) >= 0.35)
    w.reshape(-1)[0] = 0.75
    return w.astype(np.float32)


def embed(m, ids, zero):
    """m["e"](ids); with mask_zero, as nn.Embedding(padding_idx=0): a 0 id inside a row (before
    its last nonzero id) is a step that reads row 0, and row 0 gets no gradient."""
    return F.embedding(t_(ids), m["e"].weight, padding_idx=0 if zero else None)


def with_short_row(lens, T):
    """rand_lengths with a row of length 1 (the last, when B > 2); batch 1: shorter than T."""
    if len(lens) > 2:
        lens[-1] = 1
    elif len(lens) == 1 and T > 1:
        lens[0] = T - 1
    return lens


def tag_case(idx, cell, H, weights, layer_len=False, zero=False, bi=False, layers=1,
             mid=False, sizes=((4, 5), (1, 3)), inner_zero=False):
    """A per-step tagger: embedding, a recurrent layer over all steps ([mid tanh dense]),
    dense to C = 5 classes, `loss cross_entropy(head, y[, weights=...])`, y tokens[B, T].
    weights: lengths (weights=n) | f32 (weights=w, target f32[B, T]) | auto (mask_zero
    padding, no weights=; the mean over the non-padded steps). layer_len: the layer also
    gets lengths=n (else it runs over the garbage after each row's length). zero: a
    mask_zero embedding (with weights=n or w: the explicit weights win over the padding).
    inner_zero: a 0 id inside a row of a mask_zero batch (a step, not padding)."""
    name = f"tag-{cell}-h{H}-{weights}" + ("-layerlen" if layer_len else "") + \
        ("-maskzero" if zero and weights != "auto" else "") + \
        (f"-L{layers}" if layers > 1 else "") + ("-bi" if bi else "") + ("-mid" if mid else "")
    P = Params(9000 + idx)
    D = 2 if bi else 1
    lines = ["model tag", "vocab W = size 7", "vocab C = size 5",
             "input src : tokens[B, T] of W"]
    uses_n = weights == "lengths" or layer_len
    if uses_n:
        lines.append("input n : lengths[B]")
    lines.append("target y : tokens[B, T] of C")
    if weights == "f32":
        lines.append("target w : f32[B, T]")
    perturb(P.add("e", nn.Embedding(7, 3)))
    if zero:
        sp.mask_embedding(P.mods["e"])
    perturb(P.add("seq", MODULES[cell](3, H, num_layers=layers, bidirectional=bi,
                                       batch_first=True)))
    ropts = f"hidden={H}" + (f", layers={layers}" if layers > 1 else "") + \
        (", bidirectional=true" if bi else "") + (", lengths=n" if layer_len else "")
    lines += ["e = embedding(src, dim=3" + (", mask_zero=true)" if zero else ")"),
              f"seq = {cell}(e, {ropts}, return_sequences=true)"]
    feed = "seq"
    if mid:
        perturb(P.add("mid", nn.Linear(D * H, 4)))
        lines.append("mid = dense(seq, units=4, activation=tanh)")
        feed = "mid"
    perturb(P.add("head", nn.Linear(4 if mid else D * H, 5)), scale=2.0)
    wopt = {"lengths": ", weights=n", "f32": ", weights=w", "auto": ""}[weights]
    lines += [f"head = dense({feed}, units=C)", "output o = head",
              f"loss cross_entropy(head, y{wopt})"]

    def ref(m, inp, tgt):
        src_ = inp["src"]
        zl = zero_lengths(src_) if zero else None
        lens = t_(inp["n"]) if layer_len else zl
        seq, _, _ = run_rnn(m["seq"], embed(m, src_, zero), lens)
        h = torch.tanh(m["mid"](seq)) if mid else seq
        head = m["head"](h)
        T = src_.shape[1]
        w = {"lengths": lambda: step_mask(inp.get("n"), T),
             "f32": lambda: t_(tgt.get("w")),
             "auto": lambda: step_mask(zl, T)}[weights]()
        return weighted_ce(head, tgt["y"], w), {"o": head}

    rng = np.random.default_rng(900 + idx)
    runs = []
    for B, T in sizes:
        lens = with_short_row(rand_lengths(rng, B, T), T) if (uses_n or zero) else None
        inp = {"src": tokens(rng, 7, B, T, lens, zero)}
        if inner_zero and B > 1 and lens[0] > 2:
            inp["src"][0, 1] = 0
        if uses_n:
            n = lens.copy()
            if zero and B > 2:                      # explicit lengths shorter than the padding
                n[0] = max(1, n[0] - 2)
            inp["n"] = n
        tgt = {"y": classes(rng, 5, B, T)}
        if weights == "f32":
            tgt["w"] = loss_weights(rng, B, T)
            if zero:                                # weights on padded steps count
                for b in range(B):
                    tgt["w"][b, lens[b]:] = 1.5
        runs.append((f"B{B}-T{T}", inp, tgt))
    return Case(name, "\n".join(lines) + "\n", P, ref, runs)


def dense_auto_case(idx, sizes=((4, 5), (1, 2))):
    """mask_zero padding through per-step dense layers only (no recurrent layer), auto mean."""
    P = Params(9400 + idx)
    sp.mask_embedding(P.add("e", nn.Embedding(6, 3)))
    perturb(P.add("d", nn.Linear(3, 4)))
    perturb(P.add("head", nn.Linear(4, 3)), scale=2.0)
    lines = ["model dense", "vocab W = size 6", "vocab C = size 3",
             "input src : tokens[B, T] of W", "target y : tokens[B, T] of C",
             "e = embedding(src, dim=3, mask_zero=true)",
             "d = dense(e, units=4, activation=tanh)", "head = dense(d, units=C)",
             "output o = head", "loss cross_entropy(head, y)"]

    def ref(m, inp, tgt):
        head = m["head"](torch.tanh(m["d"](embed(m, inp["src"], True))))
        w = step_mask(zero_lengths(inp["src"]), inp["src"].shape[1])
        return weighted_ce(head, tgt["y"], w), {"o": head}

    rng = np.random.default_rng(940 + idx)
    runs = []
    for B, T in sizes:
        lens = with_short_row(rand_lengths(rng, B, T), T)
        runs.append((f"B{B}-T{T}", {"src": tokens(rng, 6, B, T, lens, True)},
                     {"y": classes(rng, 3, B, T)}))
    return Case("auto-dense-only", "\n".join(lines) + "\n", P, ref, runs)


def class_case(idx, cell, H, mask="none", K=3, sizes=((4, 5), (1, 1))):
    """Many-to-one: the recurrent layer's final state, dense to K classes, class[B] target
    weighted by `target w : f32[B]`. mask: none | lengths (the layer gets lengths=n) |
    mask_zero (the padding masks the layer; a class[B] loss is not per-step: no automatic
    weights)."""
    name = f"class-{cell}-h{H}-{mask}-K{K}-f32"
    P = Params(9500 + idx)
    zero = mask == "mask_zero"
    lines = ["model cls", "vocab W = size 7", "input src : tokens[B, T] of W"]
    if mask == "lengths":
        lines.append("input n : lengths[B]")
    lines += [f"target y : class[B] of {K}", "target w : f32[B]"]
    perturb(P.add("e", nn.Embedding(7, 3)))
    if zero:
        sp.mask_embedding(P.mods["e"])
    perturb(P.add("r", MODULES[cell](3, H, batch_first=True)))
    perturb(P.add("head", nn.Linear(H, K)), scale=2.0)
    lines += ["e = embedding(src, dim=3" + (", mask_zero=true)" if zero else ")"),
              f"r = {cell}(e, hidden={H}" + (", lengths=n)" if mask == "lengths" else ")"),
              f"head = dense(r, units={K})", "output o = head",
              "loss cross_entropy(head, y, weights=w)"]

    def ref(m, inp, tgt):
        lens = t_(inp["n"]) if mask == "lengths" else \
            (zero_lengths(inp["src"]) if zero else None)
        _, hn, _ = run_rnn(m["r"], embed(m, inp["src"], zero), lens)
        head = m["head"](hn[-1])
        return weighted_ce(head, tgt["y"], t_(tgt["w"])), {"o": head}

    rng = np.random.default_rng(950 + idx)
    runs = []
    for B, T in sizes:
        lens = with_short_row(rand_lengths(rng, B, T), T) if mask != "none" else None
        inp = {"src": tokens(rng, 7, B, T, lens, zero)}
        if mask == "lengths":
            inp["n"] = lens
        runs.append((f"B{B}-T{T}", inp, {"y": classes(rng, K, B), "w": loss_weights(rng, B)}))
    return Case(name, "\n".join(lines) + "\n", P, ref, runs)


def two_loss_case(idx, kind, sizes=((4, 5), (1, 2))):
    """Two losses, one weighted (training minimises their sum):
    lengths  cross_entropy(tag, y, weights=n) on a lengths=n gru, plus an unweighted
             cross_entropy on class[B] of dense(last(seq, lengths=n))
    f32      cross_entropy(tag, y, weights=w) on an lstm, plus mse on a sigmoid dense over a
             second gru's final state
    auto     a mask_zero tagger (automatic mean over the non-padded steps) plus a class[B]
             cross_entropy weighted by f32[B] on the final state of a gru over it"""
    P = Params(9700 + idx)
    zero = kind == "auto"
    lines = ["model two", "vocab W = size 6", "vocab C = size 4",
             "input src : tokens[B, T] of W"]
    if kind == "lengths":
        lines.append("input n : lengths[B]")
    perturb(P.add("e", nn.Embedding(6, 3)))
    if zero:
        sp.mask_embedding(P.mods["e"])
    cell = "lstm" if kind == "f32" else "gru"
    perturb(P.add("seq", MODULES[cell](3, 4, batch_first=True)))
    perturb(P.add("tag", nn.Linear(4, 4)), scale=2.0)
    lines += ["e = embedding(src, dim=3" + (", mask_zero=true)" if zero else ")"),
              f"seq = {cell}(e, hidden=4, return_sequences=true" +
              (", lengths=n)" if kind == "lengths" else ")"),
              "tag = dense(seq, units=C)", "target y : tokens[B, T] of C", "output o = tag"]
    if kind == "lengths":
        perturb(P.add("cls", nn.Linear(4, 3)), scale=2.0)
        lines += ["loss cross_entropy(tag, y, weights=n)",
                  "cls = dense(last(seq, lengths=n), units=3)", "target c : class[B] of 3",
                  "output k = cls", "loss cross_entropy(cls, c)"]
    elif kind == "f32":
        perturb(P.add("fin", nn.GRU(4, 3, batch_first=True)))
        perturb(P.add("reg", nn.Linear(3, 2)))
        lines += ["target w : f32[B, T]", "loss cross_entropy(tag, y, weights=w)",
                  "fin = gru(seq, hidden=3)", "reg = dense(fin, units=2, activation=sigmoid)",
                  "target r : f32[B, 2]", "output p = reg", "loss mse(reg, r)"]
    else:
        perturb(P.add("fin", nn.GRU(4, 3, batch_first=True)))
        perturb(P.add("cls", nn.Linear(3, 3)), scale=2.0)
        lines += ["loss cross_entropy(tag, y)", "fin = gru(seq, hidden=3)",
                  "cls = dense(fin, units=3)", "target c : class[B] of 3",
                  "target v : f32[B]", "output k = cls", "loss cross_entropy(cls, c, weights=v)"]

    def ref(m, inp, tgt):
        T = inp["src"].shape[1]
        lens = t_(inp["n"]) if kind == "lengths" else \
            (zero_lengths(inp["src"]) if zero else None)
        seq, _, _ = run_rnn(m["seq"], embed(m, inp["src"], zero), lens)
        tag = m["tag"](seq)
        if kind == "lengths":
            cls = m["cls"](pick_last(seq, lens))
            return weighted_ce(tag, tgt["y"], step_mask(lens, T)) + ce(cls, tgt["c"]), \
                {"o": tag, "k": cls}
        _, hn, _ = run_rnn(m["fin"], seq, lens)
        if kind == "f32":
            reg = torch.sigmoid(m["reg"](hn[-1]))
            return weighted_ce(tag, tgt["y"], t_(tgt["w"])) + mse(reg, tgt["r"]), \
                {"o": tag, "p": reg}
        cls = m["cls"](hn[-1])
        return weighted_ce(tag, tgt["y"], step_mask(lens, T)) + \
            weighted_ce(cls, tgt["c"], t_(tgt["v"])), {"o": tag, "k": cls}

    rng = np.random.default_rng(970 + idx)
    runs = []
    for B, T in sizes:
        lens = with_short_row(rand_lengths(rng, B, T), T) if kind != "f32" else None
        inp = {"src": tokens(rng, 6, B, T, lens, zero)}
        if kind == "lengths":
            inp["n"] = lens
        tgt = {"y": classes(rng, 4, B, T)}
        if kind == "lengths":
            tgt["c"] = classes(rng, 3, B)
        elif kind == "f32":
            tgt["w"] = loss_weights(rng, B, T)
            tgt["r"] = rng.random((B, 2)).astype(np.float32)
        else:
            tgt["c"], tgt["v"] = classes(rng, 3, B), loss_weights(rng, B)
        runs.append((f"B{B}-T{T}", inp, tgt))
    return Case(f"two-losses-{kind}", "\n".join(lines) + "\n", P, ref, runs)


def loss_cases():
    return [
        # weights=n (lengths): with lengths=n on the layer, and without (the layer runs over
        # the garbage after each row's length; only the counted steps get gradient)
        tag_case(0, "gru", 4, "lengths", layer_len=True),
        tag_case(1, "lstm", 3, "lengths", layer_len=True, bi=True, sizes=((3, 4), (1, 1))),
        tag_case(2, "gru", 3, "lengths", sizes=((4, 5), (1, 4))),
        tag_case(3, "lstm", 3, "lengths", layers=2, mid=True),
        tag_case(4, "rnn", 2, "lengths", layer_len=True, sizes=((5, 3), (1, 2))),
        # weights=w, a float target [B, T] (positive, about a third zeros)
        tag_case(5, "lstm", 4, "f32", sizes=((4, 5), (1, 1))),
        tag_case(6, "gru", 3, "f32", layer_len=True, mid=True),
        tag_case(7, "rnn", 3, "f32", bi=True, sizes=((3, 6), (1, 2))),
        # the mask_zero padding, no weights=: the mean over the non-padded steps
        tag_case(8, "gru", 4, "auto", zero=True, inner_zero=True),
        tag_case(9, "lstm", 3, "auto", zero=True, bi=True, mid=True, sizes=((4, 5), (1, 1))),
        tag_case(10, "gru", 3, "auto", zero=True, bi=True, layers=2, inner_zero=True),
        tag_case(11, "rnn", 2, "auto", zero=True, sizes=((3, 4), (1, 3))),
        dense_auto_case(0),
        # explicit weights over mask_zero padding win over it
        tag_case(12, "gru", 3, "f32", zero=True),
        tag_case(13, "lstm", 3, "lengths", zero=True),
        # class[B] targets weighted by f32[B] (many-to-one)
        class_case(0, "gru", 4),
        class_case(1, "lstm", 3, "lengths", K=4, sizes=((5, 4), (1, 3))),
        class_case(2, "gru", 2, "mask_zero", K=2),
        # two losses, one (or both) weighted
        two_loss_case(0, "lengths"),
        two_loss_case(1, "f32", sizes=((4, 5), (1, 1))),
        two_loss_case(2, "auto"),
    ]


# ------------------------------------------------------------------------------------------
# Reference gradients
# ------------------------------------------------------------------------------------------

def float64_modules(case):
    return {k: copy.deepcopy(v).double() for k, v in case.P.mods.items()}


def reference(case, inp, tgt):
    """(loss, {parameter name: gradient}, {output name: array}) in float64."""
    m = float64_modules(case)
    loss, outs = case.ref(m, inp, tgt)
    loss.backward()
    grads = {}
    for name, mod in m.items():
        for k, p in mod.named_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            grads[f"{name}.{k}"] = g.numpy()
    return float(loss), grads, {k: v.detach().numpy() for k, v in outs.items()}


def compare(G, ref_loss, ref):
    """Worst relative error over the loss and every gradient, and notes on what is off."""
    notes = []
    missing = sorted(set(ref) - set(G))
    extra = sorted(set(G) - set(ref) - {"loss"})
    if "loss" not in G:
        missing.insert(0, "loss")
    if missing:
        notes.append("g.safetensors lacks " + ", ".join(missing))
    if extra:
        notes.append("g.safetensors has unknown " + ", ".join(extra))
    if missing or extra:
        return float("inf"), notes
    err = abs(float(G["loss"]) - ref_loss) / max(1.0, abs(ref_loss))
    err = err if np.isfinite(err) else float("inf")           # NaN fails
    if not err <= TOL:
        notes.append(f"loss {float(G['loss']):.7g}, torch {ref_loss:.7g}")
    scale = max((float(np.abs(r).max()) for r in ref.values() if r.size), default=0.0)
    bad = []
    for k, r in sorted(ref.items()):
        g = np.asarray(G[k], np.float64)
        if g.shape != r.shape:
            notes.append(f"{k}: shape {g.shape}, torch {r.shape}")
            err = float("inf")
            continue
        if not r.size:
            continue
        d = np.abs(g - r)
        e = float(d.max()) / max(float(np.abs(r).max()), FLOOR * scale, 1e-30)
        e = e if np.isfinite(e) else float("inf")
        if not e <= TOL:
            i = np.unravel_index(np.argmax(d), r.shape)
            bad.append((e, f"{k} err {e:.1e} at {tuple(int(j) for j in i)}: got {g[i]:.6g}, "
                           f"torch {r[i]:.6g} (max |torch| {np.abs(r).max():.2g})"))
        err = max(err, e)
    bad.sort(key=lambda b: -b[0])
    notes += [b[1] for b in bad[:3]] + ([f"{len(bad) - 3} more gradients off"] if len(bad) > 3
                                        else [])
    return err, notes


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------

def build(groups):
    cases = []
    if "decoder" in groups:
        cases += [decoder_case(i, s, sz) for i, (s, sz) in enumerate(DECODERS)]
    if "attention" in groups:
        cases += [attention_case(i, *a) for i, a in enumerate(ATTENTION)]
    if "misc" in groups:
        cases += misc_cases()
    if "loss" in groups:
        cases += loss_cases()
    return cases


def first_lines(text, pred, n=3):
    ls = [l.strip() for l in (text or "").splitlines() if pred(l)]
    return "; ".join(ls[:n])


def compile_case(rnnc, opt, d, c):
    """(exe or None, note): rnnc's warnings (or its error) in one line."""
    try:
        exe, p = rnnref.compile_source(rnnc, opt, d, c.src)
        return exe, first_lines(p.stderr, lambda l: "warning:" in l and "dropout" not in l)
    except rnnref.RunError as e:
        err = first_lines(e.stderr, lambda l: "error" in l) or str(e).splitlines()[0]
        return None, "compile failed: " + err


def npy_args(rd, arrays, flag):
    args = []
    for k, v in arrays.items():
        p = os.path.join(rd, k + ".npy")
        np.save(p, v)
        args += [flag, f"{k}={p}"]
    return args


def check_grad(exe, wfile, rd, inp, tgt, ref_loss, ref):
    gfile = os.path.join(rd, "g.safetensors")
    cmd = [exe, "grad", "-w", wfile, "-o", gfile] + npy_args(rd, inp, "--input") + \
        npy_args(rd, tgt, "--target")
    try:
        rnnref.run(cmd, timeout=120)
    except rnnref.RunError as e:
        return float("inf"), ["grad failed: " + (first_lines(e.stderr, lambda l: l.strip(), 2)
                                                  or str(e).splitlines()[0])]
    return compare(rnnref.load_safetensors(gfile), ref_loss, ref)


def check_forward(exe, wfile, rd, inp, outs):
    out = os.path.join(rd, "out")       # a directory, or a file for a single output
    one = len(outs) == 1
    cmd = [exe, "infer", "-w", wfile, "-o", out + ".npy" if one else out] + \
        npy_args(rd, inp, "--input")
    try:
        rnnref.run(cmd, timeout=120)
    except rnnref.RunError as e:
        return float("inf"), ["infer failed: " + (first_lines(e.stderr, lambda l: l.strip(), 2)
                                                   or str(e).splitlines()[0])]
    err, notes = 0.0, []
    for k, r in outs.items():
        got = np.load(out + ".npy" if one else os.path.join(out, k + ".npy"))
        if got.shape != r.shape:
            notes.append(f"output {k}: shape {got.shape}, torch {r.shape}")
            err = float("inf")
            continue
        e = float(np.abs(got - r).max()) if r.size else 0.0
        e = e if np.isfinite(e) else float("inf")
        if not e <= FWD_TOL:
            notes.append(f"output {k} err {e:.1e}")
        err = max(err, e)
    return err, notes


def selfcheck(case, inp, tgt, rng, eps=1e-6, coords=3):
    """The reference's autograd vs float64 central differences of its own loss."""
    m = float64_modules(case)
    loss, _ = case.ref(m, inp, tgt)
    loss.backward()
    worst = 0.0
    for name, mod in m.items():
        for k, p in mod.named_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            for _ in range(coords):
                i = tuple(int(rng.integers(0, s)) for s in p.shape)
                vals = []
                with torch.no_grad():
                    old = float(p[i])
                    for sgn in (1, -1):
                        p[i] = old + sgn * eps
                        vals.append(float(case.ref(m, inp, tgt)[0]))
                    p[i] = old
                fd = (vals[0] - vals[1]) / (2 * eps)
                worst = max(worst, abs(fd - float(g[i])) / (1e-7 + 1e-5 * abs(float(g[i]))))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnnc", default="rnnc")
    ap.add_argument("--work", help="directory for models, data and results")
    ap.add_argument("--opt", type=int, choices=range(4), default=2,
                    help="rnnc optimisation level (-O0..-O3; default 2)")
    ap.add_argument("--group", action="append", choices=["decoder", "attention", "misc", "loss"])
    ap.add_argument("--case", help="only models whose name contains this")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--forward", action="store_true",
                    help="also compare `prog infer` outputs with the reference's forward")
    ap.add_argument("--selfcheck", action="store_true",
                    help="only check the references' autograd by central differences")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = build(args.group or ["decoder", "attention", "misc", "loss"])
    if args.case:
        cases = [c for c in cases if args.case in c.name]

    if args.selfcheck:
        rng = np.random.default_rng(1)
        bad = 0
        for c in cases:
            for suffix, inp, tgt in c.runs:
                w = selfcheck(c, inp, tgt, rng)
                bad += not w <= 1.0
                print(f"{'PASS' if w <= 1.0 else 'FAIL'} {c.name}/{suffix}: finite "
                      f"differences {w:.2f} of tolerance")
        print(f"seq2seq-grad selfcheck: {sum(len(c.runs) for c in cases)} cases, {bad} failed")
        sys.exit(1 if bad else 0)

    if not args.work:
        ap.error("--work is required")
    os.makedirs(args.work, exist_ok=True)
    dirs = [os.path.join(args.work, f"{i:02d}-{c.name}") for i, c in enumerate(cases)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        built = list(pool.map(lambda dc: compile_case(args.rnnc, args.opt, *dc),
                              zip(dirs, cases)))
    n = failed = 0
    for d, c, (exe, cnote) in zip(dirs, cases, built):
        wfile = os.path.join(d, "w.safetensors")
        rnnref.save_safetensors(wfile, c.P.state())
        for suffix, inp, tgt in c.runs:
            n += 1
            rd = os.path.join(d, suffix)
            os.makedirs(rd, exist_ok=True)
            ref_loss, ref, outs = reference(c, inp, tgt)
            fwd = ""
            if exe is None:
                err, notes = float("inf"), [cnote]
            else:
                err, notes = check_grad(exe, wfile, rd, inp, tgt, ref_loss, ref)
                if notes and cnote:
                    notes.append("rnnc warned: " + cnote)
                if args.forward:
                    ferr, fnotes = check_forward(exe, wfile, rd, inp, outs)
                    fwd = f", forward max abs err {ferr:.1e}"
                    if not ferr <= FWD_TOL:
                        err = float("inf")
                        notes += ["forward: " + "; ".join(fnotes)]
            ok = err <= TOL
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {c.name}/{suffix}: loss and grads max rel err "
                  f"{err:.1e}{fwd}" +
                  ("" if ok else f" -- {'; '.join(notes)} (model: {d}/m.rnn)"))
    print(f"seq2seq-grad: {n} cases, {failed} failed")
    sys.exit(1 if failed or not n else 0)


if __name__ == "__main__":
    main()
