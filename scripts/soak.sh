#!/usr/bin/env bash
# A soak test of the release mock binary: `scripts/soak.sh [SECONDS]` (default 60).
# 64 clients (gRPC and REST) mix every RPC while hostile clients send malformed and oversized
# bodies; the run ends with the invariants checked and the mock's RSS at start and end.
# Not part of CI's default run. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"

fail() { printf 'soak: %s\n' "$*" >&2; exit 1; }

cargo build --quiet --release -p coreweave-mock
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
mock="$target_dir/release/coreweave-mock"
[ -x "$mock" ] || fail "the release binary is missing at $mock"
cargo bench --no-run --quiet --bench soak

output="$(mktemp)"
RUST_LOG=error "$mock" --listen 127.0.0.1:0 --transition-delay 0s >"$output" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$output"' EXIT
for _ in $(seq 100); do [ -s "$output" ] && break; sleep 0.05; done
addr="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["addr"])' "$output")" \
  || fail "the mock printed no listening line"

rss() { awk '/^VmRSS/ {print $2 " " $3}' "/proc/$mock_pid/status"; }
echo "mock RSS at start: $(rss)"
status=0
cargo bench --quiet --bench soak -- --endpoint "http://$addr" --seconds "$seconds" || status=$?
echo "mock RSS at end: $(rss)"
kill -0 "$mock_pid" 2>/dev/null || fail "the mock died during the soak"
exit "$status"
