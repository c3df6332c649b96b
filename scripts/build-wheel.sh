#!/usr/bin/env bash
# Builds the coreweave-mock wheel (the release binary, `bindings = "bin"`, and the
# coreweave_mock Python package with its pytest plugin) into OUT_DIR:
#   scripts/build-wheel.sh [OUT_DIR]     (default dist/)
# Installs maturin into .tools/build-venv first (idempotent, no root). Honours
# CARGO_TARGET_DIR. Prints the wheel's path as its last line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MATURIN_VERSION="1.16.0"
out="${1:-dist}"
mkdir -p "$out"
venv=".tools/build-venv"
if [ ! -x "$venv/bin/maturin" ] || [ "$("$venv/bin/maturin" --version)" != "maturin $MATURIN_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION" >&2
fi
"$venv/bin/maturin" build --release --manifest-path mock-server/Cargo.toml --out "$out" >&2
ls -t "$out"/coreweave_mock-*.whl | head -n 1
