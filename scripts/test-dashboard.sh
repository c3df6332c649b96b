#!/usr/bin/env bash
# Tests the mock's dashboard (/_mock/ui/) in a real browser: Debian's Chromium, driven by
# playwright-core (clients/browser/dashboard.mjs) against the mock binary. Installs Chromium
# with apt-get when it is missing (as root; otherwise it fails saying what to run) and
# playwright-core with npm, both idempotently. Writes the screenshot to
# $CARGO_TARGET_DIR/dashboard.png (the cargo target directory). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf 'test-dashboard: %s\n' "$*" >&2; }

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "Chromium is not installed at $chromium; run: sudo apt-get install -y chromium"
    exit 1
  fi
  log "installing Debian's chromium"
  apt-get update -q >&2 || log "apt-get update failed; trying the package lists there are"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
fi
log "$("$chromium" --version 2>/dev/null)"

(
  cd clients/browser
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --silent >&2
  fi
)

log "the mock binary"
cargo build --quiet -p coreweave-mock
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
# Two mocks: one without --token, one with --token and --admin-token.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start_mock() { # VAR ARGS...: starts a mock and sets VAR to its address
  local var="$1" listening
  shift
  listening="$(mktemp)"
  RUST_LOG=warn "$target_dir/debug/coreweave-mock" --listen 127.0.0.1:0 "$@" >"$listening" &
  pids+=("$!")
  for _ in $(seq 200); do
    [ -s "$listening" ] && break
    sleep 0.05
  done
  printf -v "$var" '%s' "$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["addr"])' "$listening")"
  rm -f "$listening"
}
start_mock open_addr
start_mock guarded_addr --token CW-SECRET-dashboard-test --admin-token CW-ADMIN-dashboard-test

CHROMIUM="$chromium" node clients/browser/dashboard.mjs "http://$open_addr" "http://$guarded_addr" \
  "$target_dir/dashboard.png"
log "passed; screenshot: $target_dir/dashboard.png"
