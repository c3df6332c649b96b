#!/usr/bin/env bash
# Runs every example against the mock binary, the way a user would: the binary on a free
# port, COREWEAVE_API_ENDPOINT and COREWEAVE_API_TOKEN in the environment, once over each
# transport (COREWEAVE_API_TRANSPORT=rest, then grpc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { printf 'run-examples: %s\n' "$*" >&2; exit 1; }

cargo build --quiet --workspace --bins --examples
# Honour CARGO_TARGET_DIR and build.target-dir: ask cargo where it put the binary.
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
mock="$target_dir/debug/coreweave-mock"
[ -x "$mock" ] || fail "the mock binary is missing at $mock after the build"

output="$(mktemp)"
"$mock" --listen 127.0.0.1:0 --transition-delay 300ms >"$output" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$output"' EXIT
for _ in $(seq 100); do [ -s "$output" ] && break; sleep 0.05; done
[ -s "$output" ] || fail "the mock printed no listening line within 5 s"
addr="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["addr"])' "$output")" \
  || fail "the mock's first line is not the listening event: $(head -c 200 "$output")"

export COREWEAVE_API_ENDPOINT="http://$addr"
export COREWEAVE_API_TOKEN="CW-SECRET-examples"
for transport in rest grpc; do
  export COREWEAVE_API_TRANSPORT="$transport"
  for example in examples/*.rs; do
    name="$(basename "$example" .rs)"
    echo "-- example $name over $transport" >&2
    cargo run --quiet --example "$name" || fail "example $name failed over $transport"
  done
done
