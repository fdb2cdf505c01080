#!/usr/bin/python3
"""Writes malformed input files for the runtime tests (numpy only).

    mkbad.py st GOOD.safetensors OUT MUTATION [TENSOR]
        missing T   drop tensor T from the header
        shape T     reverse T's shape (same number of bytes)
        f16 T       make T an F16 tensor (offsets sized for F16)
        i32 T       make T an I32 tensor (same bytes)
        offsets T   point T's data_offsets past the end of the data section
        truncdata   cut the last 7 bytes of the data section
        short       a 3-byte file (no 8-byte header length)
        hlen        a header length 100 bytes larger than the file
        json        a malformed JSON header
        array       a JSON header that is an array, not an object
        nlname      an extra entry named "a\nb" without data_offsets (a newline in a name)
        nldtype T   make T's dtype "F\n16" (a newline in the dtype)
    mkbad.py npy OUT KIND
        magic       not starting with \\x93NUMPY
        fortran     int32 [1, 6] token ids saved in Fortran order
        truncated   int32 [1, 6] with the last 4 data bytes missing
        trailing    int32 [1, 6] with 4 extra bytes after the data
        header      a header that is not a Python dict literal
        version     format version 9.0
        nlkey       a header key with a newline in it
"""
import json
import sys

import numpy as np


def read_st(path):
    b = open(path, "rb").read()
    n = int.from_bytes(b[:8], "little")
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_st(path, header=None, data=b"", raw=None):
    h = raw if raw is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + data)


def st(good, out, what, name=None):
    h, data = read_st(good)
    if name is not None and name not in h:
        sys.exit(f"mkbad.py: no tensor {name!r} in {good}")
    if what == "missing":
        del h[name]
    elif what == "shape":
        h[name]["shape"] = h[name]["shape"][::-1]
    elif what == "f16":
        b = h[name]["data_offsets"][0]
        h[name]["dtype"] = "F16"
        h[name]["data_offsets"] = [b, b + 2 * int(np.prod(h[name]["shape"]))]
    elif what == "i32":
        h[name]["dtype"] = "I32"
    elif what == "offsets":
        b, e = h[name]["data_offsets"]
        h[name]["data_offsets"] = [len(data) + 64, len(data) + 64 + (e - b)]
    elif what == "truncdata":
        data = data[:-7]
    elif what == "short":
        open(out, "wb").write(b"\x10\x00\x00")
        return
    elif what == "hlen":
        raw = json.dumps(h).encode()
        raw += b" " * (-len(raw) % 8)
        n = 8 + len(raw) + len(data)
        open(out, "wb").write((n + 100).to_bytes(8, "little") + raw + data)
        return
    elif what == "json":
        write_st(out, raw=b'{"head.bias": {"dtype": "F32", "shape": [5,], }', data=data)
        return
    elif what == "nlname":
        h["a\nb"] = {"dtype": "F32", "shape": [1]}
    elif what == "nldtype":
        h[name]["dtype"] = "F\n16"
    elif what == "array":
        write_st(out, raw=b'[1, 2, 3]', data=data)
        return
    else:
        sys.exit(f"mkbad.py: unknown safetensors mutation {what!r}")
    write_st(out, h, data)


def npy(out, what):
    a = np.array([[0, 1, 0, 2, 3, 3]], np.int32)
    hdr = "{'descr': '<i4', 'fortran_order': %s, 'shape': (1, 6), }"

    def v1(text, data, major=1):
        t = text.encode("latin1")
        t += b" " * (-(10 + len(t) + 1) % 64) + b"\n"
        return b"\x93NUMPY" + bytes([major, 0]) + len(t).to_bytes(2, "little") + t + data

    if what == "magic":
        b = b"\x93NUMPX" + v1(hdr % "False", a.tobytes())[6:]
    elif what == "fortran":
        b = v1(hdr % "True", np.asfortranarray(a).tobytes(order="F"))
    elif what == "truncated":
        b = v1(hdr % "False", a.tobytes())[:-4]
    elif what == "trailing":
        b = v1(hdr % "False", a.tobytes() + b"\0\0\0\0")
    elif what == "header":
        b = v1("[1, 6]", a.tobytes())
    elif what == "nlkey":
        b = v1("{'descr': '<i4', 'fortr\nan_order': False, 'shape': (1, 6), }", a.tobytes())
    elif what == "version":
        b = v1(hdr % "False", a.tobytes(), major=9)
    else:
        sys.exit(f"mkbad.py: unknown npy kind {what!r}")
    open(out, "wb").write(b)


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "st":
        st(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "npy":
        npy(*sys.argv[2:])
    else:
        sys.exit(__doc__)
