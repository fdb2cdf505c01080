#!/usr/bin/env bash
# Installs and builds the benchmark peers of bench/run.sh. Safe to re-run: each step is
# skipped when already done. A peer that cannot be installed or built is left missing (the
# harness reports it as such); this script never fails because of one peer.
#
#   PyTorch   Debian's python3-torch + python3-numpy (scripts/install-deps.sh installs them)
#   oneDNN    Debian's libdnnl-dev (headers for the installed libdnnl2) -> .build/dnnl_rnn
#   ORT       npm's onnxruntime-node (its CPU library ships inside the package) -> .peers/ort
#   OpenBLAS  Debian's libopenblas0-openmp, unpacked (not installed) -> .peers/openblas, the
#             BLAS of the PyTorch peer (Debian's torch otherwise runs on the reference BLAS)
#   peak      a C FMA loop (AVX2 and AVX-512) -> .build/peak
#
# Output: bench/.build/ (programs) and bench/.peers/ (npm packages), both gitignored.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/.build"
peers="$here/.peers"
mkdir -p "$build" "$peers"
log() { echo "install-peers: $*" >&2; }

CC=${CC:-clang-22}
CXX=${CXX:-clang++-22}
command -v "$CC" >/dev/null 2>&1 || CC=clang
command -v "$CXX" >/dev/null 2>&1 || CXX=clang++

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_install() {  # apt_install PKG...: installs the missing ones; non-zero on failure
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq >/dev/null 2>&1; apt_updated=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- PyTorch (also needed by the harness itself, for inputs, checks and ONNX export) --------
if ! /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1; then
  apt_install python3-torch python3-numpy || log "PyTorch: apt-get failed; the PyTorch peer is missing"
fi

# --- OpenBLAS for the PyTorch peer -----------------------------------------------------------
# Debian's torch calls the system libblas.so.3, which is the slow reference BLAS unless an
# optimised one is installed. Rather than switch the machine's BLAS alternative, unpack
# Debian's OpenBLAS (OpenMP build, like torch) into .peers/openblas; the harness puts it on the
# PyTorch peer's LD_LIBRARY_PATH (bench/run.sh --system-blas does not).
ob="$peers/openblas"
if [ ! -f "$ob/libblas.so.3" ]; then
  apt_install libgfortran5 libgomp1 || log "OpenBLAS: its dependencies did not install"
  tmp="$(mktemp -d)"
  get() { ( cd "$tmp" && apt-get download libopenblas0-openmp >/dev/null 2>&1 ); }
  if ! get && [ $apt_updated -eq 0 ]; then
    $SUDO apt-get update -qq >/dev/null 2>&1; apt_updated=1; get
  fi
  deb="$(find "$tmp" -maxdepth 1 -name 'libopenblas0-openmp_*.deb' | head -1)"
  if [ -n "$deb" ] && dpkg-deb -x "$deb" "$tmp/x"; then
    lib="$(dirname "$(find "$tmp/x" -name libblas.so.3 | head -1)")"
    mkdir -p "$ob" && cp -a "$lib"/. "$ob"/ && log "OpenBLAS unpacked into $ob"
  else
    log "OpenBLAS: apt-get download libopenblas0-openmp failed; PyTorch uses the system BLAS"
  fi
  rm -rf "$tmp"
fi

# --- machine peak ----------------------------------------------------------------------------
if [ ! -x "$build/peak" ] || [ "$here/peers/peak.c" -nt "$build/peak" ]; then
  log "building peak"
  "$CC" -O3 -march=native -pthread -o "$build/peak" "$here/peers/peak.c" \
    || log "peak: build failed; the peak column is missing"
fi

# --- oneDNN ----------------------------------------------------------------------------------
if [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ] && [ ! -f /usr/include/dnnl.hpp ]; then
  apt_install libdnnl-dev || log "oneDNN: apt-get install libdnnl-dev failed"
fi
if [ ! -x "$build/dnnl_rnn" ] || [ "$here/peers/dnnl_rnn.cpp" -nt "$build/dnnl_rnn" ]; then
  log "building dnnl_rnn"
  "$CXX" -O2 -std=c++17 -o "$build/dnnl_rnn" "$here/peers/dnnl_rnn.cpp" -ldnnl \
    || log "oneDNN: build failed; the oneDNN peer is missing"
fi

# --- ONNX Runtime (node) ---------------------------------------------------------------------
ort="$peers/ort"
if [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
  if command -v npm >/dev/null 2>&1 || apt_install nodejs npm; then
    mkdir -p "$ort"
    [ -f "$ort/package.json" ] || echo '{ "name": "rnnc-bench-peers", "private": true }' > "$ort/package.json"
    log "npm install onnxruntime-node (in $ort)"
    ( cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
        npm install --no-audit --no-fund --loglevel=error onnxruntime-node >/dev/null ) \
      || log "ONNX Runtime: npm install failed; the ORT peer is missing"
  else
    log "ONNX Runtime: no npm; the ORT peer is missing"
  fi
fi
exit 0
