#!/usr/bin/env bash
# A soak test of the release mock binary: `scripts/soak.sh [SECONDS]` (default 60).
# 64 clients (gRPC and REST) mix every RPC while hostile clients send malformed and oversized
# bodies and abuse the control plane (huge clock advances, fault floods, hostile snapshots,
# long tokens and ids, calls addressed to another host); the run ends with the invariants
# checked and the mock's RSS at start and end, which must stay under SOAK_MAX_RSS_MB
# (default 160: the journals alone may hold 128 MiB by design). Not part of CI's default
# run. Honours CARGO_TARGET_DIR.
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
max_rss_mb="${SOAK_MAX_RSS_MB:-160}"
rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$mock_pid/status")"
[ "$rss_kb" -le $((max_rss_mb * 1024)) ] \
  || fail "the mock ended at $((rss_kb / 1024)) MB of RSS, over the bound of $max_rss_mb MB"
exit "$status"
