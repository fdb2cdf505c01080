#!/usr/bin/python3
"""Checks of `PROG train`'s files and drivers for its signal / terminal behaviour.

    train_check.py ckpt FILE            metadata, tensors (name dtype shape) and counters
    train_check.py weights FILE         tensor names, dtypes, shapes; whether all are finite
    train_check.py csv FILE             the metrics CSV is well-formed; prints its shape
    train_check.py svg FILE             the loss plot is well-formed SVG; prints what it draws
    train_check.py curves A.csv B.csv   the two CSVs agree in every column but 'seconds'
    train_check.py sigint -- CMD...     runs CMD, sends SIGINT after its first progress line
                                        ('epoch ...' on stderr), prints its exit status and stderr
    train_check.py pty -- CMD...        runs CMD with stderr on a terminal; prints how the
                                        progress was drawn (carriage returns, newlines)
"""
import csv
import hashlib
import json
import math
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np

DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_st(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8: 8 + n])
    meta = header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a: base + b], dtype=np.dtype(DT[info["dtype"]]).newbyteorder("<"))
        out[name] = (info["dtype"], arr.reshape(info["shape"]))
    return out, meta


def cmd_ckpt(path):
    t, meta = read_st(path)
    print("metadata:", " ".join(f"{k}={v}" for k, v in sorted((meta or {}).items())))
    for name in sorted(t):
        dt, a = t[name]
        print(f"tensor {name} {dt} {list(a.shape)}")
    for k in ("step", "epoch", "epoch_step", "optimizer", "data"):
        if "__opt." + k in t:
            print(f"{k} = {t['__opt.' + k][1].tolist()}")
    if "__opt.history" in t:
        h = t["__opt.history"][1]
        print("history rows", h.shape[0], "train_loss", " ".join(f"{v:.6g}" for v in h[:, 0]))
    # every value but the wall-clock times (history column 3, the partial epoch's seconds)
    dig = hashlib.sha256()
    for name in sorted(t):
        a = t[name][1].copy()
        if name == "__opt.history":
            a[:, 3] = 0
        if name == "__opt.epoch_partial":
            a[2] = 0
        dig.update(name.encode() + a.tobytes())
    print("digest", dig.hexdigest()[:16])


def cmd_weights(path):
    t, meta = read_st(path)
    finite = all(np.all(np.isfinite(a)) for dt, a in t.values() if dt.startswith("F"))
    print(" ".join(f"{n}:{t[n][0]}{list(t[n][1].shape)}" for n in sorted(t)), "finite" if finite else "NOT FINITE")


def cmd_csv(path):
    text = open(path, newline="").read()
    assert text.endswith("\n"), "no final newline"
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["epoch", "train_loss", "val_loss", "val_metric", "seconds"], rows[0]
    val = None
    for i, r in enumerate(rows[1:]):
        assert len(r) == 5, r
        assert int(r[0]) == i + 1, r
        assert math.isfinite(float(r[1])), r
        has = r[2] != ""
        assert val is None or has == val, "validation columns come and go"
        val = has
        if has:
            float(r[2])
            if r[3]:
                float(r[3])
        assert float(r[4]) >= 0, r
    metric = "yes" if len(rows) > 1 and rows[1][3] else "no"
    print(f"csv ok: {len(rows) - 1} rows, validation {'yes' if val else 'no'}, metric {metric}")


def cmd_svg(path):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == ns + "svg", root.tag
    assert root.get("viewBox") and root.get("width") and root.get("height")
    lines = root.findall(f".//{ns}polyline")
    counts = []
    for p in lines:
        pts = p.get("points").split()
        for xy in pts:
            x, y = map(float, xy.split(","))
            assert 0 <= x <= float(root.get("width")) and 0 <= y <= float(root.get("height")), xy
        counts.append(len(pts))
    texts = [t.text for t in root.iter(ns + "text")]
    labels = [s for s in ("epoch", "loss", "train", "validation") if s in texts]
    print(f"svg ok: {len(lines)} polyline{'s' if len(lines) != 1 else ''} {counts}, labels {' '.join(labels)}, "
          f"axes {len(root.findall(f'.//{ns}line')) >= 2}")


def cmd_curves(a, b):
    ra = [r[:4] for r in csv.reader(open(a))]
    rb = [r[:4] for r in csv.reader(open(b))]
    print("curves equal" if ra == rb and len(ra) > 1 else f"curves DIFFER:\n{ra}\n{rb}")


def cmd_sigint(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    sent = False
    for line in p.stderr:
        lines.append(line)
        if not sent and line.startswith("epoch "):
            p.send_signal(signal.SIGINT)
            sent = True
    out = p.stdout.read()
    rc = p.wait()
    print("signal sent" if sent else "signal NOT sent (no progress line)")
    print(f"exit {rc}")
    for line in lines:
        print("stderr:", line.rstrip("\n"))
    if out:
        print("stdout:", out)


def cmd_pty(cmd):
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    buf = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    rc = p.wait()
    text = buf.decode("utf-8", "replace").replace("\r\n", "\n")  # the terminal's own newline mapping
    start, end = text.find("\r"), text.find("\nwrote ")
    seg = text[start:end + 1] if 0 <= start < end else ""
    print(f"exit {rc}")
    print(f"progress: {seg.count(chr(13))} redraws, {seg.count(chr(27) + '[K')} erases, "
          f"{seg.count(chr(10))} newline{'s' if seg.count(chr(10)) != 1 else ''}")
    last = seg.rstrip("\n").split("\r")[-1].replace(chr(27) + "[K", "")
    print("last:", last)
    for s in text.split("\n"):
        if s and "\r" not in s:
            print("line:", s)


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] in ("sigint", "pty"):
        cmd = a[a.index("--") + 1:]
        (cmd_sigint if a[0] == "sigint" else cmd_pty)(cmd)
    elif a[0] == "curves":
        cmd_curves(a[1], a[2])
    else:
        {"ckpt": cmd_ckpt, "weights": cmd_weights, "csv": cmd_csv, "svg": cmd_svg}[a[0]](a[1])


if __name__ == "__main__":
    main()
