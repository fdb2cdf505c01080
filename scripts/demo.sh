#!/usr/bin/env bash
# The main job: build rnnc, compile examples/hihello.rnn to a native program,
# train it from its own initialisation on "hihello" (compiled back-propagation
# through time + Adam), and ask it for the next characters of "hihell": it
# prints "ihello". Then the same with the weights PyTorch trained.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
build="${RNNC_BUILD_DIR:-$root/build}"
out="$build/examples"
mkdir -p "$out"
"$build/bin/rnnc" "$root/examples/hihello.rnn" -o "$out/hihello"
echo "== ./hihello info"
"$out/hihello" info
echo "== ./hihello init --seed 1 -o hihello-init.safetensors"
"$out/hihello" init --seed 1 -o "$out/hihello-init.safetensors"
echo "== ./hihello train -w hihello-init.safetensors --text examples/hihello.txt --seq-len 6 -o hihello-trained.safetensors"
"$out/hihello" train -w "$out/hihello-init.safetensors" --text "$root/examples/hihello.txt" \
  --seq-len 6 --quiet -o "$out/hihello-trained.safetensors"
echo "== ./hihello infer -w hihello-trained.safetensors --text hihell"
"$out/hihello" infer -w "$out/hihello-trained.safetensors" --text hihell
echo "== ./hihello infer -w examples/hihello.safetensors --text hihell   (weights trained by PyTorch)"
"$out/hihello" infer -w "$root/examples/hihello.safetensors" --text hihell
