#!/usr/bin/python3
"""Shared helpers for rnnc's Python tests (numpy + PyTorch only).

- safetensors read/write (`save_safetensors`, `load_safetensors`), written atomically;
- atomic `.npy` writing (`save_npy`);
- model specs for the subset of the `.rnn` language that rnnc compiles
  (`make_spec`, `model_source`) and the matching PyTorch reference (`build_torch_model`);
- `run(cmd)`: run a subprocess, raise with its stderr on failure.

A spec is a plain dict; `make_spec(**overrides)` fills in defaults and validates it:

    cell      'rnn' | 'lstm' | 'gru'          (rnn: tanh)
    input     'onehot' | 'embedding' | 'float'
    vocab     int (``vocab V = size N``) or str of distinct chars (``vocab V = "hielo"``)
    dim       embedding size D (input='embedding')
    features  per-step feature count F (input='float')
    hidden    H
    layers    stacked layers (default 1)
    direction 'forward' | 'reverse' | 'bidirectional' (outputs forward|backward concatenated)
    dropout   rate between stacked layers (``lstm(..., dropout=R)``; identity at inference)
    state     True: ``return_state=true``; the model also outputs h_n (and c_n for lstm),
              [layers*dirs, B, H] like PyTorch
    branch    None, or {cell, hidden, layers, direction}: a second recurrent layer on the same
              input, ``concat(enc, enc2)`` feeds the head
    seq       True: return_sequences=true (output [B, T, U]); False: many-to-one ([B, U])
    pool      many-to-one head: 'final' (return_sequences=false: the last layer's final hidden
              state, forward|backward for bidirectional) | 'last' (``last()`` of the sequence)
    drop      rate of a ``dropout(x, rate=R)`` layer before the head (0: none)
    units     U (dense, activation=none), followed by softmax over the last axis
    name      model name;  names: binding names (see DEFAULT_NAMES)

Binding names are also the PyTorch module names, so the state_dict names are e.g.
``e.weight``, ``enc.weight_ih_l0`` ... ``head.weight``, ``head.bias``.
"""

import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "save_safetensors", "load_safetensors", "SafetensorsError", "save_npy",
    "make_spec", "vocab_size", "model_source", "build_torch_model", "randomize_weights",
    "random_input", "output_shape", "reference_output", "run", "RunError", "case_label",
    "output_names", "output_shapes", "reference_outputs", "spec_extras", "head_features",
]

# --------------------------------------------------------------------------------------------
# Atomic file writing
# --------------------------------------------------------------------------------------------


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def _atomic_write(path, write_fn):
    """Call write_fn(fileobj) on a temp file in path's directory, then os.replace() it."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_npy(path, arr):
    """np.save(), but atomically (temp file + os.replace) and never appending '.npy'."""
    arr = np.array(arr, order="C", copy=False)
    _atomic_write(path, lambda f: np.save(f, arr, allow_pickle=False))


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------

_ST_DTYPES = {"F32": np.dtype("<f4"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8")}
_NP_TO_ST = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}
_MAX_HEADER = 100_000_000


class SafetensorsError(ValueError):
    pass


def _to_numpy(name, t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().contiguous().numpy()
    a = np.asarray(t)
    if a.dtype not in _NP_TO_ST:
        raise TypeError(f"safetensors: tensor {name!r} has dtype {a.dtype}; "
                        f"supported: float32, int32, int64 (convert explicitly)")
    # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    return np.array(a, dtype=a.dtype.newbyteorder("<"), order="C", copy=True)


def save_safetensors(path, tensors, metadata=None):
    """Write {name: array} (numpy or torch; float32/int32/int64) as a safetensors file.

    Tensors are laid out in name order; the JSON header is padded with spaces so that its
    length is a multiple of 8. `metadata` (optional) is a {str: str} dict stored as
    ``__metadata__``. The file is written to a temp file and renamed into place.
    """
    if not isinstance(tensors, dict):
        raise TypeError("save_safetensors: tensors must be a dict name -> array")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"save_safetensors: bad tensor name {name!r}")
        arrays[name] = _to_numpy(name, t)
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("save_safetensors: metadata must map str -> str")
        header["__metadata__"] = dict(metadata)
    off = 0
    order = sorted(arrays)
    for name in order:
        a = arrays[name]
        header[name] = {"dtype": _NP_TO_ST[a.dtype.newbyteorder("=")],
                        "shape": [int(s) for s in a.shape],
                        "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    hjson += b" " * (-len(hjson) % 8)

    def write(f):
        f.write(len(hjson).to_bytes(8, "little"))
        f.write(hjson)
        for name in order:
            f.write(arrays[name].tobytes(order="C"))

    _atomic_write(path, write)


def _no_dup_pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SafetensorsError(f"duplicate key {k!r} in header")
        d[k] = v
    return d


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def write_rnnc_data(outdir, arrays, n_val):
    """Writes NAME.npy = the training rows, then the n_val held-out rows, for each NAME of
    arrays ({NAME: (train, val)}); prints the --validation fraction of the compiled program's
    `train` that holds out exactly the last n_val rows (it holds out floor(N * fraction))."""
    os.makedirs(outdir, exist_ok=True)
    for name, (tr, va) in arrays.items():
        save_npy(os.path.join(outdir, name + ".npy"), np.concatenate([tr, va]))
    n = len(tr) + len(va)
    frac = f"{(n_val + 0.5) / n:.4f}"
    assert math.floor(n * float(frac)) == n_val
    print(f"wrote {', '.join(k + '.npy' for k in arrays)} to {outdir}: {n - n_val} training "
          f"rows, then {n_val} held out (--validation {frac})")


def load_safetensors(path, with_metadata=False):
    """Read a safetensors file strictly; return {name: np.ndarray} (native byte order).

    Validates: header length within the file and <= 100 MB, UTF-8 JSON object starting with
    '{' and without duplicate keys, each entry exactly {dtype, shape, data_offsets}, dtype in
    F32/I32/I64, non-negative integer shape, offsets matching the shape, and the tensors
    covering the data area contiguously with no gap, overlap or trailing bytes.
    With with_metadata=True returns (tensors, metadata_dict_or_None).
    """
    path = os.fspath(path)

    def bad(msg):
        return SafetensorsError(f"{path}: {msg}")

    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise bad("truncated: no 8-byte header length")
    n = int.from_bytes(buf[:8], "little")
    if n < 2 or n > _MAX_HEADER:
        raise bad(f"bad header length {n}")
    if 8 + n > len(buf):
        raise bad(f"truncated: header length {n} but file has {len(buf)} bytes")
    hbytes = buf[8:8 + n]
    if hbytes[:1] != b"{":
        raise bad("header does not start with '{'")
    try:
        header = json.loads(hbytes.decode("utf-8"), object_pairs_hook=_no_dup_pairs)
    except SafetensorsError as e:
        raise bad(str(e)) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"malformed JSON header: {e}") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise bad("__metadata__ must be an object of strings")
    data = memoryview(buf)[8 + n:]
    spans = []
    out = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"tensor {name!r}: entry must have exactly dtype, shape, data_offsets")
        dt = info["dtype"]
        if dt not in _ST_DTYPES:
            raise bad(f"tensor {name!r}: unsupported dtype {dt!r} (supported: F32, I32, I64)")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise bad(f"tensor {name!r}: bad shape {shape!r}")
        offs = info["data_offsets"]
        if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1]):
            raise bad(f"tensor {name!r}: bad data_offsets {offs!r}")
        b, e = offs
        npdt = _ST_DTYPES[dt]
        nbytes = math.prod(shape) * npdt.itemsize
        if e - b != nbytes:
            raise bad(f"tensor {name!r}: data_offsets {offs} hold {e - b} bytes, "
                      f"shape {shape} {dt} needs {nbytes}")
        if e > len(data):
            raise bad(f"tensor {name!r}: data_offsets {offs} beyond the data area "
                      f"({len(data)} bytes)")
        spans.append((b, e, name))
        out[name] = np.frombuffer(data[b:e], dtype=npdt).reshape(tuple(shape)).astype(
            npdt.newbyteorder("="), copy=True)
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise bad(f"tensor {name!r}: data_offsets start at {b}, expected {pos} "
                      f"(gap or overlap)")
        pos = e
    if pos != len(data):
        raise bad(f"data area has {len(data)} bytes but tensors cover {pos}")
    return (out, metadata) if with_metadata else out


# --------------------------------------------------------------------------------------------
# Model specs, .rnn source, PyTorch reference
# --------------------------------------------------------------------------------------------

CELLS = ("rnn", "lstm", "gru")
INPUTS = ("onehot", "embedding", "float")
DIRECTIONS = ("forward", "reverse", "bidirectional")
POOLS = ("final", "last")
DEFAULT_NAMES = {
    "vocab": "V",      # vocab binding
    "input": "x",      # model input
    "onehot": "h",     # onehot(x) binding (no parameters)
    "emb": "e",        # embedding binding -> e.weight
    "cell": "enc",     # recurrent cell -> enc.weight_ih_l0 ...
    "cell2": "enc2",   # second recurrent branch (spec 'branch') -> enc2.weight_ih_l0 ...
    "cat": "c",        # concat(enc, enc2) binding
    "last": "l",       # last(...) binding (pool='last')
    "drop": "d",       # dropout(..., rate=...) binding (spec 'drop' > 0)
    "head": "head",    # dense -> head.weight, head.bias
    "output": "probs",  # softmax output
    "hs": "hs",        # h_n binding of the cell (state=True)
    "cs": "cs",        # c_n binding of an lstm cell (state=True)
    "hn": "hn",        # h_n output (state=True)
    "cn": "cn",        # c_n output (state=True, lstm)
}
_DEFAULTS = {"name": "m", "cell": "lstm", "input": "onehot", "vocab": 7, "dim": 16,
             "features": 8, "hidden": 32, "seq": True, "units": 5,
             "layers": 1, "direction": "forward", "dropout": 0.0, "state": False,
             "pool": "final", "drop": 0.0, "branch": None}
_BRANCH_DEFAULTS = {"cell": "gru", "hidden": 4, "layers": 1, "direction": "forward"}


def _ident(s):
    return isinstance(s, str) and s.isidentifier() and s.isascii()


def _check_rec(d, what):
    if d["cell"] not in CELLS:
        raise ValueError(f"{what}cell must be one of {CELLS}")
    if d["direction"] not in DIRECTIONS:
        raise ValueError(f"{what}direction must be one of {DIRECTIONS}")
    for k in ("hidden", "layers"):
        if not (_is_int(d[k]) and d[k] >= 1):
            raise ValueError(f"{what}{k} must be a positive int")


def make_spec(**kw):
    """Return a validated spec dict: defaults (see module doc) overridden by kw."""
    unknown = set(kw) - set(_DEFAULTS) - {"names"}
    if unknown:
        raise ValueError(f"make_spec: unknown keys {sorted(unknown)}")
    spec = dict(_DEFAULTS)
    spec.update({k: v for k, v in kw.items() if k != "names"})
    names = dict(DEFAULT_NAMES)
    names.update(kw.get("names") or {})
    spec["names"] = names
    _check_rec(spec, "")
    if spec["input"] not in INPUTS:
        raise ValueError(f"input must be one of {INPUTS}")
    v = spec["vocab"]
    if isinstance(v, str):
        if len(v) < 1 or len(set(v)) != len(v):
            raise ValueError("a chars vocab must be a non-empty string of distinct characters")
        if any(c in '"\\' or not c.isprintable() for c in v):
            raise ValueError("chars vocab: quotes, backslashes and control chars unsupported")
    elif not (_is_int(v) and v >= 1):
        raise ValueError("vocab must be a positive int or a string of characters")
    for k in ("dim", "features", "units"):
        if not (_is_int(spec[k]) and spec[k] >= 1):
            raise ValueError(f"{k} must be a positive int")
    spec["seq"] = bool(spec["seq"])
    spec["state"] = bool(spec["state"])
    for k in ("dropout", "drop"):
        if not (isinstance(spec[k], (int, float)) and 0 <= spec[k] < 1):
            raise ValueError(f"{k} must be a rate in [0, 1)")
        spec[k] = float(spec[k])
    if spec["dropout"] > 0 and spec["layers"] == 1:
        raise ValueError("dropout (between stacked layers) needs layers > 1")
    if spec["pool"] not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}")
    if spec["pool"] == "last" and spec["seq"]:
        raise ValueError("pool='last' is a many-to-one head: it needs seq=False")
    if spec["branch"] is not None:
        b = dict(_BRANCH_DEFAULTS)
        b.update(spec["branch"])
        if set(b) != set(_BRANCH_DEFAULTS):
            raise ValueError(f"branch keys: {sorted(_BRANCH_DEFAULTS)}")
        _check_rec(b, "branch ")
        spec["branch"] = b
    if not _ident(spec["name"]):
        raise ValueError("model name must be an identifier")
    used = [names[k] for k in ("vocab", "input", "cell", "head", "output")]
    if spec["input"] == "onehot":
        used.append(names["onehot"])
    elif spec["input"] == "embedding":
        used.append(names["emb"])
    if spec["branch"]:
        used += [names["cell2"], names["cat"]]
    if spec["pool"] == "last":
        used.append(names["last"])
    if spec["drop"]:
        used.append(names["drop"])
    if spec["state"]:
        used.append(names["hs"])
        if spec["cell"] == "lstm":
            used.append(names["cs"])
    for nm in used:
        # module names must not shadow nn.Module attributes (train, forward, ...)
        if not _ident(nm) or hasattr(nn.Module, nm):
            raise ValueError(f"bad binding name {nm!r}")
    if len(set(used)) != len(used):
        raise ValueError(f"binding names must be distinct: {used}")
    outs = output_names(spec)
    if len(set(outs)) != len(outs) or not all(_ident(o) for o in outs):
        raise ValueError(f"bad output names {outs}")
    return spec


def vocab_size(spec):
    v = spec["vocab"]
    return len(v) if isinstance(v, str) else v


def _dirs(rec):
    return 2 if rec["direction"] == "bidirectional" else 1


def _cell_input(spec):
    """(binding name the cell reads, its feature size)."""
    n = spec["names"]
    if spec["input"] == "onehot":
        return n["onehot"], vocab_size(spec)
    if spec["input"] == "embedding":
        return n["emb"], spec["dim"]
    return n["input"], spec["features"]


def head_features(spec):
    """Feature size of the dense head's input."""
    f = _dirs(spec) * spec["hidden"]
    if spec["branch"]:
        f += _dirs(spec["branch"]) * spec["branch"]["hidden"]
    return f


def output_names(spec):
    """The model's outputs, in declaration order."""
    n = spec["names"]
    outs = [n["output"]]
    if spec["state"]:
        outs.append(n["hn"])
        if spec["cell"] == "lstm":
            outs.append(n["cn"])
    return outs


def _rec_call(rec, src, seq, extra=""):
    opts = [f"hidden={rec['hidden']}", f"return_sequences={'true' if seq else 'false'}"]
    if rec["layers"] != 1:
        opts.append(f"layers={rec['layers']}")
    if rec.get("dropout"):
        opts.append(f"dropout={rec['dropout']:g}")
    if rec["direction"] == "bidirectional":
        opts.append("bidirectional=true")
    elif rec["direction"] == "reverse":
        opts.append("direction=reverse")
    return f"{rec['cell']}({src}, {', '.join(opts)}{extra})"


def model_source(spec):
    """The .rnn text for spec (one statement per line)."""
    n = spec["names"]
    lines = [f"# generated by test/lib/rnnref.py: {case_label(spec)}", f"model {spec['name']}"]
    if spec["input"] == "float":
        lines.append(f"input {n['input']} : f32[B, T, {spec['features']}]")
    else:
        v = spec["vocab"]
        vdef = f'"{v}"' if isinstance(v, str) else f"size {v}"
        lines.append(f"vocab {n['vocab']} = {vdef}")
        lines.append(f"input {n['input']} : tokens[B, T] of {n['vocab']}")
        if spec["input"] == "onehot":
            lines.append(f"{n['onehot']} = onehot({n['input']})")
        else:
            lines.append(f"{n['emb']} = embedding({n['input']}, dim={spec['dim']})")
    src, _ = _cell_input(spec)
    rseq = spec["seq"] or spec["pool"] == "last"
    lhs = n["cell"]
    if spec["state"]:
        lhs += f", {n['hs']}" + (f", {n['cs']}" if spec["cell"] == "lstm" else "")
    lines.append(f"{lhs} = " + _rec_call(spec, src, rseq,
                                         ", return_state=true" if spec["state"] else ""))
    cur = n["cell"]
    if spec["branch"]:
        lines.append(f"{n['cell2']} = " + _rec_call(spec["branch"], src, rseq))
        lines.append(f"{n['cat']} = concat({cur}, {n['cell2']})")
        cur = n["cat"]
    if spec["pool"] == "last":
        lines.append(f"{n['last']} = last({cur})")
        cur = n["last"]
    if spec["drop"]:
        lines.append(f"{n['drop']} = dropout({cur}, rate={spec['drop']:g})")
        cur = n["drop"]
    lines.append(f"{n['head']} = dense({cur}, units={spec['units']}, activation=none)")
    lines.append(f"output {n['output']} = softmax({n['head']})")
    if spec["state"]:
        lines.append(f"output {n['hn']} = {n['hs']}")
        if spec["cell"] == "lstm":
            lines.append(f"output {n['cn']} = {n['cs']}")
    return "\n".join(lines) + "\n"


def _rec_label(rec):
    s = ""
    if rec["layers"] != 1:
        s += f" L={rec['layers']}"
    if rec["direction"] != "forward":
        s += " " + {"reverse": "rev", "bidirectional": "bidi"}[rec["direction"]]
    return s


def spec_extras(spec):
    """Label suffix for the constructs beyond one forward layer (empty for the basic matrix)."""
    s = _rec_label(spec)
    if spec["dropout"]:
        s += f" dropout={spec['dropout']:g}"
    if spec["state"]:
        s += " state"
    if spec["branch"]:
        b = spec["branch"]
        s += f" +{b['cell']}(H={b['hidden']}{_rec_label(b)})"
    if spec["pool"] == "last":
        s += " last()"
    if spec["drop"]:
        s += f" dropout({spec['drop']:g})"
    return s


def case_label(spec):
    """e.g. 'lstm/embedding/seq=true H=37 ... L=2 bidi state'."""
    s = f"{spec['cell']}/{spec['input']}/seq={'true' if spec['seq'] else 'false'} " \
        f"H={spec['hidden']} U={spec['units']}"
    if spec["input"] != "float":
        s += f" V={vocab_size(spec)}"
    if spec["input"] == "embedding":
        s += f" D={spec['dim']}"
    if spec["input"] == "float":
        s += f" F={spec['features']}"
    return s + spec_extras(spec)


_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _make_rec(rec, in_size, dropout=0.0):
    kw = dict(num_layers=rec["layers"], batch_first=True, dropout=dropout,
              bidirectional=rec["direction"] == "bidirectional")
    if rec["cell"] == "rnn":
        kw["nonlinearity"] = "tanh"
    return _MODULES[rec["cell"]](in_size, rec["hidden"], **kw)


def _run_rec(mod, rec, h):
    """Runs a recurrent module like rnnc does. Returns (seq [B, T, dirs*H], final [B, dirs*H],
    h_n, c_n or None). direction=reverse: the sequence is run reversed in time and the outputs
    are written back at their original time index (= the backward half of a bidirectional
    layer): flip, run a forward module, flip back. final: the last layer's final hidden state
    (forward|backward for bidirectional)."""
    rev = rec["direction"] == "reverse"
    if rev:
        h = torch.flip(h, [1])
    seq, st = mod(h)
    if rev:
        seq = torch.flip(seq, [1])
    hn, cn = st if isinstance(st, tuple) else (st, None)
    final = torch.cat([hn[-2], hn[-1]], -1) if rec["direction"] == "bidirectional" else hn[-1]
    return seq, final, hn, cn


class RefModel(nn.Module):
    """PyTorch reference: [onehot|embedding] -> cell (+ branch, concat) -> (final state | last
    step) -> [dropout] -> dense -> softmax; plus h_n/c_n outputs when spec['state']."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        n = spec["names"]
        if spec["input"] == "embedding":
            self.add_module(n["emb"], nn.Embedding(vocab_size(spec), spec["dim"]))
        _, in_size = _cell_input(spec)
        self.add_module(n["cell"], _make_rec(spec, in_size, spec["dropout"]))
        if spec["branch"]:
            self.add_module(n["cell2"], _make_rec(spec["branch"], in_size))
        if spec["drop"]:
            self.add_module(n["drop"], nn.Dropout(spec["drop"]))
        self.add_module(n["head"], nn.Linear(head_features(spec), spec["units"]))

    def outputs(self, x):
        """{output name: tensor} in declaration order."""
        spec, n = self.spec, self.spec["names"]
        cell = getattr(self, n["cell"])
        dtype = cell.weight_ih_l0.dtype
        if spec["input"] == "onehot":
            h = F.one_hot(x.long(), vocab_size(spec)).to(dtype)
        elif spec["input"] == "embedding":
            h = getattr(self, n["emb"])(x.long())
        else:
            h = x.to(dtype)
        seq, final, hn, cn = _run_rec(cell, spec, h)
        if spec["branch"]:
            seq2, final2, _, _ = _run_rec(getattr(self, n["cell2"]), spec["branch"], h)
            seq, final = torch.cat([seq, seq2], -1), torch.cat([final, final2], -1)
        if spec["seq"]:
            y = seq                            # [B, T, F]
        elif spec["pool"] == "last":
            y = seq[:, -1, :]                  # last(): the last time step of the sequence
        else:
            y = final                          # many-to-one: final hidden state
        if spec["drop"]:
            y = getattr(self, n["drop"])(y)
        out = {n["output"]: torch.softmax(getattr(self, n["head"])(y), dim=-1)}
        if spec["state"]:
            out[n["hn"]] = hn
            if spec["cell"] == "lstm":
                out[n["cn"]] = cn
        return out

    def forward(self, x):
        return self.outputs(x)[self.spec["names"]["output"]]


def build_torch_model(spec):
    """The PyTorch reference module for spec (float32, default PyTorch initialisation)."""
    return RefModel(spec)


def randomize_weights(model, seed, bias_std=0.5, head_scale=3.0):
    """Re-draw all parameters reproducibly: torch.manual_seed(seed), PyTorch's default
    initialisation (reset_parameters), then N(0, bias_std^2) added to every bias so that
    none is zero, and the dense weights scaled by head_scale so the softmax is not nearly
    uniform. Returns model."""
    torch.manual_seed(seed)
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    head = model.spec["names"]["head"]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("bias"):
                p.add_(torch.randn_like(p) * bias_std)
            if name == head + ".weight":
                p.mul_(head_scale)
    return model


def random_input(spec, B, T, rng, token_dtype=np.int64):
    """A random input array: token ids in [0, vocab) ([B, T], token_dtype) or f32 [B, T, F]."""
    if spec["input"] == "float":
        return rng.standard_normal((B, T, spec["features"])).astype(np.float32)
    return rng.integers(0, vocab_size(spec), size=(B, T)).astype(token_dtype)


def output_shapes(spec, B, T):
    """{output name: shape} in declaration order."""
    n = spec["names"]
    out = {n["output"]: (B, T, spec["units"]) if spec["seq"] else (B, spec["units"])}
    if spec["state"]:
        st = (spec["layers"] * _dirs(spec), B, spec["hidden"])
        out[n["hn"]] = st
        if spec["cell"] == "lstm":
            out[n["cn"]] = st
    return out


def output_shape(spec, B, T):
    """Shape of the main (softmax) output."""
    return output_shapes(spec, B, T)[spec["names"]["output"]]


def reference_outputs(model, x):
    """Run the torch model on a numpy input; return {output name: float32 numpy array}."""
    model.eval()
    with torch.no_grad():
        outs = model.outputs(torch.from_numpy(np.ascontiguousarray(x)))
    return {k: v.numpy().astype(np.float32) for k, v in outs.items()}


def reference_output(model, x):
    """Run the torch model on a numpy input; return the main output (float32 numpy)."""
    return reference_outputs(model, x)[model.spec["names"]["output"]]


# --------------------------------------------------------------------------------------------
# Subprocess helper
# --------------------------------------------------------------------------------------------


class RunError(RuntimeError):
    def __init__(self, cmd, returncode, stdout, stderr, reason=None):
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr
        what = reason or f"exit status {returncode}"
        msg = f"command failed ({what}): {' '.join(map(str, cmd))}"
        tail = (stderr or "").strip() or (stdout or "").strip()
        if tail:
            msg += "\n" + "\n".join("  | " + l for l in tail.splitlines()[-40:])
        super().__init__(msg)


def compile_source(rnnc, opt, d, src, timeout=300):
    """Writes `src` as d/m.rnn and compiles it with `rnnc -O<opt>` into d/prog; returns
    (exe path, the completed process: its stderr holds rnnc's warnings). Raises RunError."""
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "m.rnn")
    with open(path, "w") as f:
        f.write(src)
    exe = os.path.join(d, "prog")
    return exe, run([rnnc, f"-O{opt}", path, "-o", exe], timeout=timeout)


def infer_arrays(exe, weights, arrays, work):
    """Runs `exe infer -w weights` on {input name: array} (each written as work/NAME.npy)
    and returns {output name: array} (the program writes work/out/NAME.npy)."""
    os.makedirs(work, exist_ok=True)
    cmd = [exe, "infer", "-w", weights]
    for name, arr in arrays.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, arr)
        cmd += ["--input", f"{name}={path}"]
    out = os.path.join(work, "out")
    run(cmd + ["-o", out])
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def run(cmd, cwd=None, timeout=300, input=None, env=None, check=True):
    """Run cmd (list), capturing text stdout/stderr. Raise RunError (with stderr) if it
    exits non-zero (when check), dies from a signal, or times out. Returns CompletedProcess."""
    cmd = [os.fspath(c) for c in cmd]
    try:
        p = subprocess.run(cmd, cwd=cwd, timeout=timeout, input=input, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace")
    except subprocess.TimeoutExpired as e:
        def txt(b):
            return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
        raise RunError(cmd, None, txt(e.stdout), txt(e.stderr),
                       reason=f"timed out after {timeout} s") from None
    except OSError as e:
        raise RunError(cmd, None, "", str(e), reason="could not start") from None
    if check and p.returncode != 0:
        reason = None
        if p.returncode < 0:
            reason = f"killed by signal {-p.returncode}"
        raise RunError(cmd, p.returncode, p.stdout, p.stderr, reason=reason)
    return p


if __name__ == "__main__":
    # Tiny demo: print the source of a spec given as key=value arguments.
    kv = {}
    for a in sys.argv[1:]:
        k, _, v = a.partition("=")
        kv[k] = int(v) if v.isdigit() else {"true": True, "false": False}.get(v, v)
    print(model_source(make_spec(**kv)), end="")
