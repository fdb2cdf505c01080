#!/usr/bin/python3
"""Compiles a C test against the runtime next to the rnnc on PATH and runs it.

    run_c_test.py [--build] SOURCE.c OUT_EXE [-DNAME=VALUE]...

librnnrt.a is found like rnnc finds it (BIN/../lib/librnnrt.a); headers from the source tree.
Exits with the test's status (after printing its output). With --build, only compiles (for
a C file that stands in for a compiled model and is run by the test itself); -D options are
passed to the compiler.
"""
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
build_only = bool(args) and args[0] == "--build"
if build_only:
    args = args[1:]
if len(args) < 2 or not all(a.startswith("-D") for a in args[2:]):
    sys.exit(__doc__)
src, exe, defines = args[0], args[1], args[2:]
rnnc = shutil.which("rnnc")
if not rnnc:
    sys.exit("run_c_test.py: rnnc is not on PATH")
lib = os.environ.get("RNNC_RUNTIME_LIB") or \
    os.path.join(os.path.dirname(os.path.realpath(rnnc)), "..", "lib", "librnnrt.a")
inc = os.path.join(here, "..", "..", "..", "runtime", "include")
cc = os.environ.get("CC") or shutil.which("cc") or "cc"
subprocess.run([cc, "-std=c11", "-O1", "-Wall", "-D_POSIX_C_SOURCE=200809L", *defines, "-I", inc,
                src, lib, "-lm", "-pthread", "-o", exe], check=True)
if build_only:
    sys.exit(0)
p = subprocess.run([os.path.abspath(exe)], stdout=subprocess.PIPE, text=True)
sys.stdout.write(p.stdout)
sys.exit(p.returncode)
