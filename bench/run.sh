#!/usr/bin/env bash
# rnnc side-by-side benchmark: rnnc vs PyTorch, oneDNN, ONNX Runtime and the machine's FMA
# peak on the configurations C1..C6 (bench/README.md). One command:
#
#   bench/run.sh [--quick] [--only C2,C5a] [--rounds N] [--budget SEC] [--iters N]
#                [--threads 1,2] [--no-check] [--no-grad-check] [--check-only]
#                [--system-blas] [--no-install] [--out FILE]
#
#   --quick          3 timed iterations per run, 1 warm-up, 1 round (for testing the harness)
#   --only LIST      comma-separated configuration ids (default: all)
#   --rounds N       timing rounds; the peers are interleaved within each round (default 3)
#   --budget SEC     time per run, which sizes its iterations (default 1; ignored by --quick)
#   --iters N        fixed number of timed iterations per run instead of --budget
#   --threads LIST   thread counts to time (default 1,2)
#   --no-check       skip the numerical checks; --no-grad-check skips only the training one
#   --check-only     run the numerical checks, no timing
#   --system-blas    PyTorch on the system's libblas.so.3, not bench/.peers/openblas
#   --no-install     do not run bench/install-peers.sh (peers that are not there are missing)
#   --out FILE       the Markdown table (default bench/results.md)
#
# Builds the rnnc programs with ${RNNC_BUILD_DIR:-./build}/bin/rnnc (relative to the repo
# root; $RNNC_FLAGS, default -O2), installs/builds the peers (bench/install-peers.sh), checks
# every peer's outputs against rnnc, times every configuration and prints the table.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
build="${RNNC_BUILD_DIR:-./build}"
case "$build" in /*) ;; *) build="$root/${build#./}" ;; esac
rnnc="$build/bin/rnnc"
py=/usr/bin/python3
flags=${RNNC_FLAGS:--O2}
read -ra flagv <<< "$flags"

install=1
only=""
pass=()
cmdline="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--no-check|--no-grad-check|--check-only|--system-blas) pass+=("$1") ;;
    --only) only="${2:?--only needs a list}"; pass+=("$1" "$2"); shift ;;
    --only=*) only="${1#--only=}"; pass+=("--only" "$only") ;;
    --rounds|--budget|--iters|--threads|--out) pass+=("$1" "${2:?$1 needs a value}"); shift ;;
    --rounds=*|--budget=*|--iters=*|--threads=*|--out=*) pass+=("$1") ;;
    --no-install) install=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option '$1' (see bench/run.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -x "$rnnc" ]; then
  echo "bench: error: $rnnc not found (build rnnc with scripts/build.sh, or set RNNC_BUILD_DIR)" >&2
  exit 1
fi
if [ $install -eq 1 ]; then
  "$here/install-peers.sh" || true
fi
if ! $py -c 'import numpy' 2>/dev/null; then
  echo "bench: error: $py has no numpy (apt-get install python3-numpy)" >&2
  exit 1
fi

# The rnnc programs, rebuilt every run so that they are the current compiler's.
models=()
if [ -n "$only" ]; then
  IFS=',' read -ra ids <<< "$only"
  for id in "${ids[@]}"; do
    id="$(echo "$id" | tr -d ' ' | tr '[:upper:]' '[:lower:]')"
    [ -n "$id" ] && models+=("$id")
  done
else
  for f in "$here"/models/c*.rnn; do models+=("$(basename "$f" .rnn)"); done
fi
mkdir -p "$here/.build/models"
for m in "${models[@]}"; do
  src="$here/models/$m.rnn"
  if [ ! -f "$src" ]; then
    echo "bench: error: no model bench/models/$m.rnn" >&2
    exit 2
  fi
  out="$here/.build/models/$m"
  rm -f "$out"
  if ! "$rnnc" "$src" "${flagv[@]}" -o "$out" 2> "$out.log"; then
    echo "bench: rnnc failed on bench/models/$m.rnn (its rows will say 'missing'):" >&2
    sed 's/^/  /' "$out.log" | head -20 >&2
  fi
done

rev="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown) $flags"
exec $py "$here/harness.py" --bench-dir "$here" --python "$py" \
  --cmdline="$cmdline" --rnnc-rev="$rev" "${pass[@]}"
