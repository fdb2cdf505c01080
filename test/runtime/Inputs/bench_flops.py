#!/usr/bin/python3
"""Reads `PROG bench` output on stdin; prints the FLOPs per call implied by its machine line
(gflops * median time, 4 significant digits), so a test checks the FLOP count without any
timing threshold:  flops 8.32e+04  (or `flops -` when gflops is '-')."""
import sys

line = [l for l in sys.stdin.read().splitlines() if l.startswith("bench: ")]
if len(line) != 1:
    sys.exit("bench_flops.py: expected one 'bench: ' line")
kv = dict(f.split("=", 1) for f in line[0].split()[1:])
if kv["gflops"] == "-":
    print("flops -")
else:
    print("flops %.4g" % (float(kv["gflops"]) * 1e9 * float(kv["median_ms"]) * 1e-3))
