#!/usr/bin/env bash
# Builds the coreweave-mock npm package (the JavaScript launcher and API in npm/, with the
# release binary for this platform in native/) as a tarball in OUT_DIR:
#   scripts/build-npm.sh [OUT_DIR]     (default dist/)
# One package for linux-x64, the platform this repository builds on. Honours CARGO_TARGET_DIR.
# Prints the tarball's path as its last line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
cargo build --quiet --release --locked -p coreweave-mock
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -r npm/package.json npm/index.js npm/index.d.ts npm/bin "$staging/"
cp README.md "$staging/"
mkdir "$staging/native"
install -m 0755 "$target_dir/release/coreweave-mock" "$staging/native/coreweave-mock"
(cd "$staging" && npm pack --silent --pack-destination "$out" >/dev/null)
ls -t "$out"/coreweave-mock-*.tgz | head -n 1
