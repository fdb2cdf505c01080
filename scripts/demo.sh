#!/usr/bin/env bash
# The main job: build rnnc, compile examples/hihello.rnn to a native program and
# ask it for the next characters of "hihell" (prints "ihello").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
build="${RNNC_BUILD_DIR:-$root/build}"
out="$build/examples"
mkdir -p "$out"
"$build/bin/rnnc" "$root/examples/hihello.rnn" -o "$out/hihello"
echo "== ./hihello info"
"$out/hihello" info
echo "== ./hihello infer -w examples/hihello.safetensors --text hihell"
"$out/hihello" infer -w "$root/examples/hihello.safetensors" --text hihell
