#!/usr/bin/env bash
# The mock against a bare server, side by side: `scripts/bench-mock.sh [--http] [SECONDS]
# [--pairs N] [--op OP] [--instructions] [--rust-load]` (seconds per round, default 2; pairs
# of rounds per row, default 8; `--smoke` for a tiny run that only proves it works). Without
# `--http`, gRPC against a bare tonic server (benches/mock_vs_bare.rs); with it, REST and
# Connect against a bare axum server (benches/http_vs_bare.rs). Fetches
# h2load with install-tools.sh where it can; `--rust-load` leaves it out. Builds the release
# binary, pins the servers to CPU 0 and the load to CPU 1 when taskset is available, and
# prints the req/s table, then instructions per call under callgrind when valgrind is
# installed. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { printf 'bench-mock: %s\n' "$*" >&2; exit 1; }

profile=release
bench=mock_vs_bare
args=()
if [ "${1:-}" = --http ]; then bench=http_vs_bare; shift; fi
case "${1:-}" in
  --smoke) profile=dev; args=(--smoke); shift ;;
  [0-9]*) args=(--seconds "$1"); shift ;;
esac
# Anything else goes to the benchmark, such as --pairs N, or --rust-load to leave h2load out.
args+=("$@")
tools_bin="$(bash scripts/install-tools.sh)"
export PATH="$tools_bin:$PATH"
cargo build --quiet --profile "$profile" -p coreweave-mock
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
dir="$profile"; [ "$profile" = dev ] && dir=debug
mock="$target_dir/$dir/coreweave-mock"
[ -x "$mock" ] || fail "the mock binary is missing at $mock"

pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin=(taskset -c 1)
else
  echo "bench-mock: taskset or a second core is missing; the load shares the servers' cores" >&2
fi
echo "machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo)"
"${pin[@]}" cargo bench --quiet --profile "$profile" --bench "$bench" -- --mock "$mock" "${args[@]}"
