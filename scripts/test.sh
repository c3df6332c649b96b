#!/usr/bin/env bash
# Runs every test: installs the third-party clients (idempotent), runs plain `cargo test`
# (both crates: unit, integration and doc tests, including the end-to-end tests that drive
# the mock binary with grpcurl, curl and buf), then the examples against the binary over
# both transports, then real third-party clients in Node.js and Python against it, then the
# dashboard in Chromium. Honours CARGO_TARGET_DIR and cargo's configured target dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

current="setup"
trap 'printf "test.sh: the step \"%s\" failed (see above)\n" "$current" >&2' ERR
step() { current="$*"; printf '== %s\n' "$*" >&2; }

step "install the third-party tools (buf, grpcurl, h2load)"
tools_bin="$(bash scripts/install-tools.sh)"
export PATH="$tools_bin:$PATH"

# The build compiles the protos itself; prove that no system protoc is involved.
export PROTOC=/nonexistent

step "cargo test"
cargo test

step "examples against the binary"
bash scripts/run-examples.sh

step "real third-party clients against the binary (connect-es, grpc-js, connect-python, grpcio, requests)"
bash scripts/real-clients.sh

step "the dashboard in a real browser (Debian's Chromium)"
bash scripts/test-dashboard.sh
