#!/usr/bin/env bash
# Install Coffre with its dev tools, then run lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
# The compliance console is tested in Debian's headless Chromium (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: the console test will be skipped (install Debian's chromium)" >&2
  fi
fi
.venv/bin/ruff check .
.venv/bin/mypy
# Both tiers: unit (plain `pytest` alone runs this one) and integration.
.venv/bin/python -m pytest tests/unit tests/integration "$@"
