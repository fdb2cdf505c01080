#!/usr/bin/python3
"""Runs a command that must fail cleanly; prints its stderr (for FileCheck).

    expect_error.py [--usage] [--absent PATH]... [--stdout FILE] -- CMD ARGS...

Checks, failing (exit 1, message on stderr) otherwise:
- the exit status is exactly 1 (not a signal, not another code);
- stdout is empty (with --stdout FILE: the command's stdout goes to FILE, e.g. /dev/full);
- stderr is one line starting 'error: ' (with --usage: followed by one 'usage: ' line);
- every --absent PATH does not exist afterwards, and its directory holds no leftover
  temporary file (PATH's name followed by '.tmp.').
"""
import os
import subprocess
import sys


def main():
    args = sys.argv[1:]
    usage, absent, out_file = False, [], None
    while args and args[0] != "--":
        if args[0] == "--usage":
            usage = True
            args = args[1:]
        elif args[0] == "--stdout" and len(args) > 1:
            out_file = args[1]
            args = args[2:]
        elif args[0] == "--absent" and len(args) > 1:
            absent.append(args[1])
            args = args[2:]
        else:
            sys.exit(f"expect_error.py: bad argument {args[0]!r}\n{__doc__}")
    cmd = args[1:]
    if not cmd:
        sys.exit(__doc__)
    if out_file:
        with open(out_file, "wb") as f:
            p = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE)
    else:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = p.stderr.decode("utf-8", "replace")
    sys.stdout.write(err)
    sys.stdout.flush()
    problems = []
    if p.returncode != 1:
        what = f"killed by signal {-p.returncode}" if p.returncode < 0 else \
            f"exit status {p.returncode}"
        problems.append(f"expected exit status 1, got {what}")
    if p.stdout:
        problems.append(f"expected no standard output, got {p.stdout[:200]!r}")
    lines = err.splitlines()
    want = 2 if usage else 1
    if len(lines) != want or not lines[0].startswith("error: ") or \
            (usage and not lines[1].startswith("usage: ")):
        problems.append(f"expected one 'error: ' line{' and one usage: line' if usage else ''}"
                        f" on stderr, got {len(lines)} line(s)")
    if not err.endswith("\n"):
        problems.append("stderr does not end with a newline")
    for path in absent:
        if os.path.lexists(path):
            problems.append(f"{path} exists")
        d = os.path.dirname(os.path.abspath(path))
        base = os.path.basename(path) + ".tmp."
        if os.path.isdir(d):
            left = [f for f in os.listdir(d) if f.startswith(base)]
            if left:
                problems.append(f"temporary files left in {d}: {left}")
    for msg in problems:
        print(f"expect_error.py: {msg} (command: {' '.join(cmd)})", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
