#!/usr/bin/env bash
# Runs the whole test suite (lit + FileCheck: frontend, dialect, passes, emit
# levels, runtime, end-to-end PyTorch parity). Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
build="${RNNC_BUILD_DIR:-$root/build}"
exec /usr/lib/llvm-22/bin/lit -sv --timeout=900 "$build/test" "$@"
