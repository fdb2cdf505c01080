#!/usr/bin/python3
"""Compiles a C test against the runtime next to the rnnc on PATH and runs it.

    run_c_test.py SOURCE.c OUT_EXE

librnnrt.a is found like rnnc finds it (BIN/../lib/librnnrt.a); headers from the source tree.
Exits with the test's status (after printing its output).
"""
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
src, exe = sys.argv[1], sys.argv[2]
rnnc = shutil.which("rnnc")
if not rnnc:
    sys.exit("run_c_test.py: rnnc is not on PATH")
lib = os.environ.get("RNNC_RUNTIME_LIB") or \
    os.path.join(os.path.dirname(os.path.realpath(rnnc)), "..", "lib", "librnnrt.a")
inc = os.path.join(here, "..", "..", "..", "runtime", "include")
cc = os.environ.get("CC") or shutil.which("cc") or "cc"
subprocess.run([cc, "-std=c11", "-O1", "-Wall", "-I", inc, src, lib, "-lm", "-o", exe], check=True)
p = subprocess.run([exe], stdout=subprocess.PIPE, text=True)
sys.stdout.write(p.stdout)
sys.exit(p.returncode)
