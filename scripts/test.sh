#!/usr/bin/env bash
# Runs every test: installs the third-party clients (idempotent), builds the mock binary,
# then runs the whole workspace's tests and doc tests (including the end-to-end tests that
# drive the binary with grpcurl, curl and buf), then the examples against the binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools_bin="$(bash scripts/install-tools.sh)"
export PATH="$tools_bin:$PATH"

# The build compiles the protos itself; prove that no system protoc is involved.
export PROTOC=/nonexistent

echo "== build" >&2
cargo build --workspace --bins --examples --all-features

echo "== cargo test" >&2
cargo test --workspace --all-features

echo "== examples against the binary" >&2
bash scripts/run-examples.sh
