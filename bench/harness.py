#!/usr/bin/python3
"""The driver behind bench/run.sh: numerical checks, interleaved timing rounds, the table.

Run it through bench/run.sh, which builds the rnnc programs and the peers first. Needs
numpy (for inputs and comparisons); PyTorch is a peer and may be missing.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

TOL_OUT = 1e-4     # max abs difference of the outputs, peer vs rnnc
TOL_GRAD = 1e-3    # max abs difference of loss and gradients, relative to the largest |value|


@dataclass(frozen=True)
class Config:
    id: str
    cell: str        # lstm | gru | rnn
    layers: int
    batch: int
    time: int
    input: int
    hidden: int
    train: bool      # has a training-step mode

    @property
    def kind(self):  # network type: what one numerical check stands for
        return f"{self.layers}-layer {self.cell.upper()}" if self.layers > 1 else self.cell.upper()

    @property
    def gates(self):
        return {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]

    def flops(self, mode):
        f = 0
        for l in range(self.layers):
            i = self.input if l == 0 else self.hidden
            f += 2 * self.gates * self.hidden * (i + self.hidden) * self.batch * self.time
        return f * (3 if mode == "train" else 1)

    def describe(self):
        net = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN (tanh)"}[self.cell]
        if self.layers > 1:
            net = f"{self.layers}-layer {net}"
        return (f"{net}, batch {self.batch}, time {self.time}, input {self.input}, "
                f"hidden {self.hidden}")


CONFIGS = [
    Config("C1", "lstm", 1, 1, 6, 5, 5, False),
    Config("C2", "lstm", 1, 1, 100, 64, 256, False),
    Config("C3", "lstm", 1, 32, 50, 128, 512, True),
    Config("C4", "lstm", 2, 20, 35, 650, 650, True),
    Config("C5a", "gru", 1, 1, 100, 64, 256, False),
    Config("C5b", "gru", 1, 32, 50, 128, 512, True),
    Config("C6", "rnn", 1, 1, 100, 64, 256, False),
]
# The configuration that checks a network type when it is selected (else its first selected).
CHECK_INFER = {"LSTM": "C2", "2-layer LSTM": "C4", "GRU": "C5a", "RNN": "C6"}
CHECK_TRAIN = {"LSTM": "C3", "2-layer LSTM": "C4", "GRU": "C5b"}

# Columns: (key, title). oneDNN's main column uses lbr_gru for GRU (PyTorch's formulation);
# `dnnl_gru` is oneDNN's own GRU (reset gate before the hidden matmul), a different function.
PEERS = [("torch", "PyTorch"), ("dnnl", "oneDNN"), ("ort", "ORT"), ("dnnl_gru", "oneDNN gru†")]
ALL = ["rnnc"] + [k for k, _ in PEERS]
TITLE = dict([("rnnc", "rnnc")] + PEERS)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def host_has(flag):
    """True when /proc/cpuinfo lists the CPU flag."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return flag in line.split()
    except OSError:
        pass
    return False


def run(argv, env=None, timeout=None, cwd=None):
    """Runs a command; returns (ok, stdout, message)."""
    try:
        p = subprocess.run(argv, env=env, cwd=cwd, timeout=timeout, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    except subprocess.TimeoutExpired:
        return False, "", f"timed out after {timeout:.0f} s"
    except OSError as e:
        return False, "", str(e)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or [f"exit code {p.returncode}"])[-1]
        return False, p.stdout, err[:200]
    return True, p.stdout, ""


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def param_names(cfg):
    return [f"seq.{w}_l{l}" for l in range(cfg.layers)
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def param_shapes(cfg):
    g, h = cfg.gates * cfg.hidden, cfg.hidden
    shapes = []
    for l in range(cfg.layers):
        shapes += [(g, cfg.input if l == 0 else h), (g, h), (g,), (g,)]
    return shapes


class Harness:
    def __init__(self, args):
        self.a = args
        self.bench = os.path.abspath(args.bench_dir)
        self.build = os.path.join(self.bench, ".build")
        self.work = os.path.join(self.bench, ".work")
        self.peers_dir = os.path.join(self.bench, "peers")
        os.makedirs(self.work, exist_ok=True)
        ids = [s.strip().lower() for s in args.only.split(",")] if args.only else None
        self.configs = [c for c in CONFIGS if ids is None or c.id.lower() in ids]
        self.threads = [int(t) for t in args.threads.split(",")]
        self.missing = {}    # peer -> why it is missing (whole peer)
        self.versions = {}
        self.checks = []     # rows of the check table
        self.verdict = {}    # (peer, kind) -> "ok" | "DISAGREE" | "n/a" | "fail"
        self.results = {}    # (peer, row) -> list of per-round medians
        self.failed = {}     # (peer, row) -> message
        self.est = {}        # (peer, row) -> estimated ms per iteration
        self.peak = {}       # (isa, threads) -> list of GFLOP/s
        # row -> [(rnnc ms, peak GFLOP/s measured just before that run)]: the host's speed
        # drifts by several % between periods, so each rnnc run is also compared with a peak
        # measured next to it.
        self.adjacent = {}
        # rnnc's kernels use AVX-512's 16 lanes where the host has it (its default
        # --vector-width), so that is the peak its % is measured against.
        self.rnnc_isa = "avx512" if host_has("avx512f") else "avx2"
        self.prepared = set()
        self.load_before = loadavg()

    # ---- peers ------------------------------------------------------------------------------
    def prog(self, cfg):
        return os.path.join(self.build, "models", cfg.id.lower())

    def locate_peers(self):
        py = self.a.python
        ob = os.path.join(self.bench, ".peers", "openblas")
        self.openblas = ob if not self.a.system_blas and \
            os.path.exists(os.path.join(ob, "libblas.so.3")) else ""
        probe = ("import torch, numpy; maps = open('/proc/self/maps').read(); "
                 "print(torch.__version__, 'OpenBLAS' if 'openblas' in maps else "
                 "'system libblas.so.3')")
        ok, out, msg = run([py, "-c", probe], env=self.torch_env(1), timeout=120)
        if ok:
            ver, blas = out.strip().split(" ", 1)
            self.versions["PyTorch"] = f"{ver} (BLAS: {blas})"
        else:
            self.missing["torch"] = f"no torch in {py}: {msg}"
        dnnl = os.path.join(self.build, "dnnl_rnn")
        ok, out, msg = run([dnnl, "--version"], timeout=60) if os.path.exists(dnnl) else \
            (False, "", "bench/.build/dnnl_rnn was not built (libdnnl-dev missing?)")
        if ok:
            self.versions["oneDNN"] = out.strip().split()[-1]
        else:
            self.missing["dnnl"] = self.missing["dnnl_gru"] = msg
        mods = os.path.join(self.bench, ".peers", "ort", "node_modules")
        node = shutil.which("node")
        if not node:
            self.missing["ort"] = "no node"
        else:
            ok, out, msg = run([node, "-e", "console.log(require(process.argv[1]).env.versions.node)",
                                os.path.join(mods, "onnxruntime-node")], timeout=60)
            if ok:
                self.versions["ONNX Runtime"] = out.strip()
            else:
                self.missing["ort"] = "onnxruntime-node is not installed in bench/.peers/ort"
        if "ort" not in self.missing and "torch" in self.missing:
            self.missing["ort"] = "needs PyTorch to export the ONNX models"
        ok, out, msg = run([os.path.join(self.build, "peak"), "--threads", "1", "--seconds",
                            "0.05"], timeout=60)
        if not ok:
            self.missing["peak"] = msg or "bench/.build/peak was not built"
        for p, why in sorted(self.missing.items()):
            log(f"bench: peer {p} is missing: {why}")

    def torch_env(self, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
        if self.openblas:
            env["LD_LIBRARY_PATH"] = self.openblas + (
                ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        return env

    def applies(self, peer, cfg, mode):
        if peer == "dnnl_gru":
            return cfg.cell == "gru"
        if peer == "ort":
            return mode == "infer"
        return True

    def dnnl_cell(self, peer, cfg):
        if cfg.cell == "gru":
            return "gru" if peer == "dnnl_gru" else "lbr_gru"
        return cfg.cell

    def shape_args(self, cfg):
        return ["--layers", str(cfg.layers), "--input", str(cfg.input), "--hidden",
                str(cfg.hidden), "--batch", str(cfg.batch), "--time", str(cfg.time)]

    def onnx_model(self, cfg):
        """The config's ONNX model, exported by PyTorch from the rnnc weights (cached)."""
        d = self.prepare(cfg)
        onnx = os.path.join(d, "model.onnx")
        w = os.path.join(d, "w.safetensors")
        if not os.path.exists(onnx) or os.path.getmtime(onnx) < os.path.getmtime(w):
            ok, _, msg = run([self.a.python, os.path.join(self.peers_dir, "torch_peer.py"),
                              "export", "--cell", cfg.cell, *self.shape_args(cfg),
                              "--weights", w, "--out", onnx], env=self.torch_env(1),
                             timeout=600)
            if not ok:
                raise RuntimeError(f"ONNX export failed: {msg}")
        return onnx

    # ---- data for the checks ----------------------------------------------------------------
    def prepare(self, cfg):
        """Weights (rnnc init --seed 1), input and target of a config, in every format.

        Made afresh by the current program once per run; the files (and the ONNX model
        exported from them) are kept when nothing changed."""
        d = os.path.join(self.work, cfg.id.lower())
        if cfg.id in self.prepared:
            return d
        os.makedirs(d, exist_ok=True)
        w = os.path.join(d, "w.safetensors")
        ok, _, msg = run([self.prog(cfg), "init", "--seed", "1", "-o", w + ".new"], timeout=120)
        if not ok:
            raise RuntimeError(f"rnnc init failed: {msg}")
        with open(w + ".new", "rb") as f:
            new = f.read()
        old = None
        if os.path.exists(w) and os.path.exists(os.path.join(d, "y.bin")):
            with open(w, "rb") as f:
                old = f.read()
        if old == new:
            os.remove(w + ".new")
        else:
            os.replace(w + ".new", w)
            tensors = read_safetensors(w)
            with open(os.path.join(d, "w.bin"), "wb") as f:
                for name in param_names(cfg):
                    f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())
            rng = np.random.default_rng(7)
            x = rng.standard_normal((cfg.batch, cfg.time, cfg.input)).astype(np.float32)
            y = rng.standard_normal((cfg.batch, cfg.time, cfg.hidden)).astype(np.float32)
            for name, arr in (("x", x), ("y", y)):
                np.save(os.path.join(d, f"{name}.npy"), arr)
                arr.tofile(os.path.join(d, f"{name}.bin"))
        self.prepared.add(cfg.id)
        return d

    # ---- numerical checks -------------------------------------------------------------------
    def pick(self, table, kinds_needed):
        chosen = {}
        for c in self.configs:
            if c.kind not in kinds_needed(c):
                continue
            pref = table.get(c.kind)
            if c.kind not in chosen or c.id == pref:
                chosen[c.kind] = c
        return list(chosen.values())

    def check_outputs(self, cfg):
        d = self.prepare(cfg)
        f = lambda n: os.path.join(d, n)
        py, peers = self.a.python, self.peers_dir
        ok, _, msg = run([self.prog(cfg), "infer", "-w", f("w.safetensors"), "--input",
                          "x=" + f("x.npy"), "-o", f("rnnc_y.npy")], timeout=600)
        if not ok:
            self.checks.append((cfg.id, "infer", "rnnc", "fail", msg))
            return
        ref = np.load(f("rnnc_y.npy"))
        shape = (cfg.batch, cfg.time, cfg.hidden)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        for peer in ["torch", "dnnl", "ort", "dnnl_gru"]:
            if not self.applies(peer, cfg, "infer"):
                continue
            if peer in self.missing:
                self.checks.append((cfg.id, "infer", peer, "missing", self.missing[peer]))
                continue
            try:
                if peer == "torch":
                    ok, _, msg = run([py, os.path.join(peers, "torch_peer.py"), "infer",
                                      "--cell", cfg.cell, *self.shape_args(cfg), "--weights",
                                      f("w.safetensors"), "--x", f("x.npy"), "--out",
                                      f("torch_y.npy")], env=self.torch_env(1), timeout=600)
                    get = lambda: np.load(f("torch_y.npy"))
                elif peer in ("dnnl", "dnnl_gru"):
                    out = f(f"{peer}_y.bin")
                    ok, _, msg = run([os.path.join(self.build, "dnnl_rnn"), "--cell",
                                      self.dnnl_cell(peer, cfg), *self.shape_args(cfg),
                                      "--weights", f("w.bin"), "--x", f("x.bin"), "--out", out],
                                     env=env, timeout=600)
                    get = lambda: np.fromfile(out, dtype="<f4").reshape(shape)
                else:
                    onnx = self.onnx_model(cfg)
                    ok, _, msg = run(["node", os.path.join(peers, "ort_peer.js"), "infer",
                                      "--model", onnx, "--batch", str(cfg.batch), "--time",
                                      str(cfg.time), "--input", str(cfg.input), "--x",
                                      f("x.bin"), "--out", f("ort_y.bin")], env=env, timeout=600)
                    get = lambda: np.fromfile(f("ort_y.bin"), dtype="<f4").reshape(shape)
                if not ok:
                    raise RuntimeError(msg)
                diff = float(np.max(np.abs(get().astype(np.float64) - ref)))
            except Exception as e:  # noqa: BLE001 - a failing peer is reported, never fatal
                self.checks.append((cfg.id, "infer", peer, "fail", str(e)[:200]))
                self.verdict.setdefault((peer, cfg.kind), "fail")
                continue
            if peer == "dnnl_gru":
                status = "n/a"
                note = "oneDNN's own GRU (reset before the hidden matmul) is another function"
            else:
                status = "ok" if diff <= TOL_OUT else "DISAGREE"
                note = ""
            self.checks.append((cfg.id, "infer", peer, status, f"max abs diff {diff:.3g}"
                                + (f"; {note}" if note else "")))
            if self.verdict.get((peer, cfg.kind)) != "DISAGREE":
                self.verdict[(peer, cfg.kind)] = status

    def check_grads(self, cfg):
        d = self.prepare(cfg)
        f = lambda n: os.path.join(d, n)
        ok, _, msg = run([self.prog(cfg), "grad", "-w", f("w.safetensors"), "--input",
                          "x=" + f("x.npy"), "--target", "y=" + f("y.npy"), "-o",
                          f("rnnc_g.safetensors")], timeout=1800)
        if not ok:
            self.checks.append((cfg.id, "train", "rnnc", "fail", msg))
            return
        ref = read_safetensors(f("rnnc_g.safetensors"))
        names = ["loss"] + param_names(cfg)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        for peer in ["torch", "dnnl"]:
            if peer in self.missing:
                self.checks.append((cfg.id, "train", peer, "missing", self.missing[peer]))
                continue
            try:
                if peer == "torch":
                    ok, _, msg = run([self.a.python, os.path.join(self.peers_dir, "torch_peer.py"),
                                      "grad", "--cell", cfg.cell, *self.shape_args(cfg),
                                      "--weights", f("w.safetensors"), "--x", f("x.npy"),
                                      "--y", f("y.npy"), "--out", f("torch_g.npz")],
                                     env=self.torch_env(1), timeout=1800)
                    if not ok:
                        raise RuntimeError(msg)
                    got = dict(np.load(f("torch_g.npz")))
                else:
                    ok, _, msg = run([os.path.join(self.build, "dnnl_rnn"), "--cell",
                                      self.dnnl_cell(peer, cfg), *self.shape_args(cfg),
                                      "--weights", f("w.bin"), "--x", f("x.bin"),
                                      "--out", f("dnnl_ty.bin"), "--target", f("y.bin"),
                                      "--grads", f("dnnl_g.bin")], env=env, timeout=1800)
                    if not ok:
                        raise RuntimeError(msg)
                    flat = np.fromfile(f("dnnl_g.bin"), dtype="<f4")
                    got, off = {"loss": flat[0]}, 1
                    for name, shp in zip(param_names(cfg), param_shapes(cfg)):
                        n = int(np.prod(shp))
                        got[name] = flat[off:off + n].reshape(shp)
                        off += n
                rel = {}
                for name in names:
                    r = np.asarray(ref[name], dtype=np.float64)
                    g = np.asarray(got[name], dtype=np.float64).reshape(r.shape)
                    rel[name] = float(np.max(np.abs(g - r))) / max(float(np.max(np.abs(r))), 1e-30)
            except Exception as e:  # noqa: BLE001
                self.checks.append((cfg.id, "train", peer, "fail", str(e)[:200]))
                continue
            worst = max(rel.values())
            gname = max(names[1:], key=lambda n: rel[n])
            status = "ok" if worst <= TOL_GRAD else "DISAGREE"
            self.checks.append((cfg.id, "train", peer, status,
                                f"relative diff: loss {rel['loss']:.3g}, gradients max "
                                f"{rel[gname]:.3g} ({gname})"))
            key = (peer, cfg.kind + " train")
            self.verdict[key] = status

    def run_checks(self):
        if self.a.no_check:
            return
        for cfg in self.pick(CHECK_INFER, lambda c: [c.kind]):
            if not os.path.exists(self.prog(cfg)):
                self.checks.append((cfg.id, "infer", "rnnc", "missing", "program not built"))
                continue
            log(f"bench: checking outputs on {cfg.id} ({cfg.kind})")
            try:
                self.check_outputs(cfg)
            except Exception as e:  # noqa: BLE001
                self.checks.append((cfg.id, "infer", "rnnc", "fail", str(e)[:200]))
        if self.a.no_grad_check:
            return
        for cfg in self.pick(CHECK_TRAIN, lambda c: [c.kind] if c.train else []):
            if not os.path.exists(self.prog(cfg)):
                continue
            log(f"bench: checking loss and gradients on {cfg.id} ({cfg.kind})")
            try:
                self.check_grads(cfg)
            except Exception as e:  # noqa: BLE001
                self.checks.append((cfg.id, "train", "rnnc", "fail", str(e)[:200]))

    # ---- timing -----------------------------------------------------------------------------
    def rows(self):
        out = []
        for c in self.configs:
            for mode in (["infer", "train"] if c.train else ["infer"]):
                for t in self.threads:
                    out.append((c, mode, t))
        return out

    def command(self, peer, row, iters, warmup):
        cfg, mode, t = row
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        train = ["--train"] if mode == "train" else []
        it = ["--iters", str(iters), "--warmup", str(warmup)]
        if peer == "rnnc":
            env["RNNC_THREADS"] = str(t)
            return [self.prog(cfg), "bench", "--batch", str(cfg.batch), "--time", str(cfg.time),
                    "-n", str(iters), "--warmup", str(warmup), *train], env
        if peer == "torch":
            env = self.torch_env(t)
            return [self.a.python, os.path.join(self.peers_dir, "torch_peer.py"), "bench",
                    "--cell", cfg.cell, *self.shape_args(cfg), "--threads", str(t), *train,
                    *it], env
        if peer in ("dnnl", "dnnl_gru"):
            return [os.path.join(self.build, "dnnl_rnn"), "--cell", self.dnnl_cell(peer, cfg),
                    *self.shape_args(cfg), *train, *it], env
        if peer == "ort":
            return ["node", os.path.join(self.peers_dir, "ort_peer.js"), "bench", "--model",
                    self.onnx_model(cfg), "--batch", str(cfg.batch), "--time", str(cfg.time),
                    "--input", str(cfg.input), "--threads", str(t), *it], env
        raise ValueError(peer)

    def measure(self, peer, row, iters, warmup):
        """One process run; returns its median ms (or None, recording the failure)."""
        key = (peer, row)
        try:
            argv, env = self.command(peer, row, iters, warmup)
        except Exception as e:  # noqa: BLE001
            self.failed[key] = str(e)[:200]
            return None
        est = self.est.get(key)
        timeout = 3600 if est is None else 120 + 5 * est * (iters + warmup) / 1000
        ok, out, msg = run(argv, env=env, timeout=timeout)
        m = re.search(r"^bench:.*\bmedian_ms=([0-9.eE+-]+)", out, re.M)
        if not ok or not m:
            self.failed[key] = msg or "no 'bench:' line in its output"
            return None
        return float(m.group(1))

    def plan(self, key):
        """Iterations and warm-up for one measurement of about --budget seconds."""
        if self.a.quick:
            return self.a.iters or 3, 1
        est = self.est[key]
        budget_ms = self.a.budget * 1000
        iters = self.a.iters or min(10000, max(3, math.ceil(budget_ms / max(est, 1e-4))))
        warmup = min(1000, max(1, math.ceil(0.2 * budget_ms / max(est, 1e-4))))
        return iters, warmup

    def peak_once(self, isa, t, seconds):
        """One run of the FMA loop: GFLOP/s, or None."""
        ok, out, _ = run([os.path.join(self.build, "peak"), "--isa", isa, "--threads", str(t),
                          "--seconds", str(seconds)], timeout=120)
        m = re.search(r"gflops=([0-9.]+)", out)
        return float(m.group(1)) if ok and m else None

    def measure_peak(self):
        if "peak" in self.missing:
            return
        combos = [(isa, t) for isa in ("avx2", "avx512") for t in self.threads]
        for isa, t in combos:
            g = self.peak_once(isa, t, 0.2 if self.a.quick else 0.5)
            if g is not None:
                self.peak.setdefault((isa, t), []).append(g)

    def run_timing(self):
        rows = self.rows()
        jobs = [(p, r) for r in rows for p in ALL
                if self.applies(p, *r[:2]) and p not in self.missing
                and (p != "rnnc" or os.path.exists(self.prog(r[0])))]
        if not self.a.quick:  # one short pilot run per job sizes its iterations
            for i, (p, r) in enumerate(jobs):
                log(f"bench: pilot {i + 1}/{len(jobs)}: {r[0].id} {r[1]} {r[2]}T {TITLE[p]}")
                ms = self.measure(p, r, 1, 1)
                if ms is not None:
                    self.est[(p, r)] = ms
        for rnd in range(self.a.rounds):
            self.measure_peak()
            for ri, r in enumerate(rows):
                peers = [p for p, rr in jobs if rr == r and (p, r) not in self.failed
                         and (self.a.quick or (p, r) in self.est)]
                k = (rnd + ri) % max(1, len(peers))  # rotate the order from round to round
                for p in peers[k:] + peers[:k]:
                    iters, warmup = self.plan((p, r))
                    log(f"bench: round {rnd + 1}/{self.a.rounds}: {r[0].id} {r[1]} {r[2]}T "
                        f"{TITLE[p]} ({iters} iterations)")
                    pk = None
                    if p == "rnnc" and "peak" not in self.missing:
                        pk = self.peak_once(self.rnnc_isa, r[2], 0.2 if self.a.quick else 0.3)
                    ms = self.measure(p, r, iters, warmup)
                    if ms is not None:
                        self.results.setdefault((p, r), []).append(ms)
                        self.est[(p, r)] = ms
                        if pk is not None:
                            self.adjacent.setdefault(r, []).append((ms, pk))
        self.measure_peak()

    # ---- report -----------------------------------------------------------------------------
    def cell(self, peer, row):
        cfg, mode, _ = row
        if not self.applies(peer, cfg, mode):
            return "—"
        if peer in self.missing:
            return "missing"
        key = (peer, row)
        if key not in self.results:
            return "fail" if key in self.failed else "missing"
        v = self.results[key]
        s = fmt_ms(statistics.median(v))
        if len(v) > 1:
            s += f" ({fmt_ms(min(v))}–{fmt_ms(max(v))})"
        kind = cfg.kind + (" train" if mode == "train" else "")
        if self.verdict.get((peer, kind)) == "DISAGREE" or \
                self.verdict.get((peer, cfg.kind)) == "DISAGREE":
            s += " !"
        return s

    def ratio(self, peer, row):
        a, b = self.results.get((peer, row)), self.results.get(("rnnc", row))
        if not a or not b:
            return "—" if not self.applies(peer, *row[:2]) else ""
        r = statistics.median(a) / statistics.median(b)
        return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"

    def table(self):
        head = ["config", "mode", "thr", "rnnc ms"]
        for p, title in PEERS:
            if p == "dnnl_gru" and not any(c.cell == "gru" for c in self.configs):
                continue
            head += [f"{title} ms", f"{title}/rnnc"]
        head += ["rnnc GFLOP/s", "% peak", "% adjacent peak"]
        body = []
        for row in self.rows():
            cfg, mode, t = row
            line = [cfg.id, mode, str(t), self.cell("rnnc", row)]
            for p, _ in PEERS:
                if p == "dnnl_gru" and not any(c.cell == "gru" for c in self.configs):
                    continue
                line += [self.cell(p, row), self.ratio(p, row)]
            v = self.results.get(("rnnc", row))
            if v:
                gf = cfg.flops(mode) / (statistics.median(v) * 1e-3) * 1e-9
                pk = self.peak.get((self.rnnc_isa, t))
                line += [f"{gf:.2f}", f"{100 * gf / statistics.median(pk):.1f}%" if pk else "—"]
                adj = [100 * cfg.flops(mode) / (ms * 1e-3) * 1e-9 / g for ms, g in self.adjacent.get(row, [])]
                line.append(f"{statistics.median(adj):.1f}% ({min(adj):.1f}–{max(adj):.1f})" if adj else "—")
            else:
                line += ["", "", ""]
            body.append(line)
        return head, body

    def report(self):
        head, body = self.table()
        print()
        print(text_table(head, body))
        notes = self.notes()
        print()
        for n in notes:
            print(n)
        md = self.markdown(head, body, notes)
        out = os.path.abspath(self.a.out)
        with open(out + ".tmp", "w") as f:
            f.write(md)
        os.replace(out + ".tmp", out)
        log(f"bench: wrote {out}")

    def notes(self):
        n = []
        if self.load_before is not None and self.load_before > 0.5:
            n.append(f"Warning: the machine was not idle (1-minute load average "
                     f"{self.load_before:.2f} before the run): timings, and above all the "
                     "2-thread rows of OpenMP peers, are unreliable.")
        pk = {k: statistics.median(v) for k, v in self.peak.items()}
        if pk:
            names = {"avx2": "AVX2", "avx512": "AVX-512"}
            parts = [f"{names[isa]} FMA {t} thread{'s' if t > 1 else ''}: {pk[(isa, t)]:.1f} GFLOP/s"
                     for isa in ("avx2", "avx512") for t in self.threads if (isa, t) in pk]
            n.append("Peak (bench/peers/peak.c): " + "; ".join(parts) + ". % peak = rnnc "
                     f"GFLOP/s / the {names[self.rnnc_isa]} peak at the row's thread count "
                     f"(the vectors rnnc's kernels use on this host: "
                     f"{16 if self.rnnc_isa == 'avx512' else 8} lanes), measured at the start "
                     "and end of every round. % adjacent peak: each rnnc run against the same peak "
                     "measured just before it (0.3 s), median over rounds (min–max): the host's "
                     "speed drifts between periods, and this ratio compares two measurements of "
                     "one period.")
        else:
            n.append(f"Peak: missing ({self.missing.get('peak', 'no measurement')}).")
        n.append("ms: median over rounds of each run's median (min–max over rounds); "
                 "peer/rnnc > 1 means rnnc is faster. "
                 "Every peer runs with OMP_NUM_THREADS=thr; rnnc with RNNC_THREADS=thr, "
                 "PyTorch with torch.set_num_threads(thr) and "
                 "OMP_WAIT_POLICY=PASSIVE, ORT with intraOpNumThreads=thr.")
        if any(c.cell == "gru" for c in self.configs):
            n.append("† oneDNN gru: oneDNN's own GRU (reset gate applied before the hidden "
                     "matmul), a different function from PyTorch's GRU; the oneDNN column uses "
                     "lbr_gru (linear-before-reset), which is PyTorch's GRU.")
        if any(c.train for c in self.configs):
            n.append("ORT: onnxruntime-node runs inference only; no training step (—). oneDNN "
                     "training: forward_training + dL/dy + backward, weights reordered once "
                     "before timing.")
        if any(s == "DISAGREE" for s in self.verdict.values()):
            n.append("! the peer's outputs or gradients disagree with rnnc (see the checks).")
        for (p, r), msg in sorted(self.failed.items(), key=lambda kv: (kv[0][1][0].id, kv[0][0])):
            n.append(f"fail: {TITLE[p]} on {r[0].id} {r[1]} {r[2]}T: {msg}")
        for p, why in sorted(self.missing.items()):
            if p != "peak":
                n.append(f"missing: {TITLE.get(p, p)}: {why}")
        return n

    def markdown(self, head, body, notes):
        cfgs = "\n".join(f"| {c.id} | {c.describe()} | {', '.join(['inference'] + (['training step'] if c.train else []))} "
                         f"| {c.flops('infer') / 1e6:.3g} |" for c in self.configs)
        ver = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        cpu = cpu_model()
        mode = ("--quick (3 iterations per run, 1 warm-up)" if self.a.quick
                else f"{self.a.budget:g} s per run")
        checks = "\n".join(f"| {c} | {m} | {TITLE.get(p, p)} | {s} | {d} |"
                           for c, m, p, s, d in self.checks) or "| — | | | not run | |"
        lines = [
            "# rnnc benchmark results",
            "",
            f"Generated by `bench/run.sh {self.a.cmdline}` on "
            f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}: {cpu}, "
            f"{os.cpu_count()} cores; rnnc {self.a.rnnc_rev}; {ver}. "
            f"{self.a.rounds} round{'s' if self.a.rounds > 1 else ''}, {mode}.",
            "",
            "| id | configuration | modes | forward MFLOP |",
            "| --- | --- | --- | --- |",
            cfgs,
            "",
            "## Timings",
            "",
            md_table(head, body),
            "",
        ] + [f"- {x}" for x in notes] + [
            "",
            "## Numerical checks (before timing; peer vs rnnc on the same weights and input)",
            "",
            f"Outputs must agree to max abs diff ≤ {TOL_OUT:g}; loss and gradients to "
            f"max abs diff ≤ {TOL_GRAD:g} × the largest |value| of each tensor.",
            "",
            "| config | mode | peer | status | detail |",
            "| --- | --- | --- | --- | --- |",
            checks,
            "",
        ]
        return "\n".join(lines)

    def print_checks(self):
        if not self.checks:
            return
        print("numerical checks (peer vs rnnc, same weights and input):")
        for c, m, p, s, d in self.checks:
            print(f"  {c:4} {m:5} {TITLE.get(p, p):12} {s:9} {d}")
        sys.stdout.flush()


def fmt_ms(v):
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def text_table(head, body):
    w = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)).rstrip()
    return "\n".join([fmt(head), fmt(["-" * x for x in w])] + [fmt(r) for r in body])


def md_table(head, body):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                     ["| " + " | ".join(r) + " |" for r in body])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    p = argparse.ArgumentParser(description="rnnc benchmark driver (use bench/run.sh)")
    p.add_argument("--bench-dir", default=os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--budget", type=float, default=1.0)
    p.add_argument("--iters", type=int, default=0)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--system-blas", action="store_true")
    p.add_argument("--no-check", action="store_true")
    p.add_argument("--no-grad-check", action="store_true")
    p.add_argument("--check-only", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--cmdline", default="")
    p.add_argument("--rnnc-rev", default="")
    a = p.parse_args()
    if a.rounds is None:
        a.rounds = 1 if a.quick else 3
    if a.out is None:
        a.out = os.path.join(a.bench_dir, "results.md")
    known = {c.id.lower() for c in CONFIGS}
    bad = [s for s in a.only.split(",") if s.strip() and s.strip().lower() not in known]
    if bad:
        sys.exit(f"bench: unknown configuration {', '.join(bad)} "
                 f"(known: {', '.join(c.id for c in CONFIGS)})")
    h = Harness(a)
    h.locate_peers()
    h.run_checks()
    h.print_checks()
    if a.check_only:
        return 0
    h.run_timing()
    h.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
