#!/usr/bin/env bash
# Runs every example against the mock binary, the way a user would: the binary on a free
# port, COREWEAVE_API_ENDPOINT and COREWEAVE_API_TOKEN in the environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --quiet --workspace --bins --examples
output="$(mktemp)"
./target/debug/coreweave-mock --listen 127.0.0.1:0 --transition-delay 300ms >"$output" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$output"' EXIT
for _ in $(seq 100); do [ -s "$output" ] && break; sleep 0.05; done
addr="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addr"])' "$output")"

export COREWEAVE_API_ENDPOINT="http://$addr"
export COREWEAVE_API_TOKEN="CW-SECRET-examples"
for example in examples/*.rs; do
  name="$(basename "$example" .rs)"
  echo "-- example $name" >&2
  cargo run --quiet --example "$name"
done
