#!/usr/bin/env bash
# Runs real third-party clients, each at its default settings and then with gzip and JSON
# where it offers them, through one scenario against the mock binary (VPC create, get, list,
# update with a mask, delete; NOT_FOUND with ResourceInfo; INVALID_ARGUMENT with BadRequest;
# gateway create, get, delete; health Check and Watch):
#   Node.js: connect-es over Connect, gRPC and gRPC-Web; @grpc/grpc-js
#   Python:  connect-python over Connect, gRPC and gRPC-Web; grpcio; requests and httpx over REST
# Prints a table of client x protocol x variant with each step's outcome and fails on any
# failed step. Installs the clients (npm, and a venv under .tools/) and generates their stubs
# from proto/ idempotently and without root. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
log() { printf 'real-clients: %s\n' "$*" >&2; }

tools_bin="$(bash scripts/install-tools.sh)" # buf, for connect-es's stubs
export PATH="$tools_bin:$PATH"

log "Node.js clients (npm ci when the lockfile changed)"
(
  cd clients/node
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --silent >&2
  fi
  rm -rf gen
  buf generate >&2
)

log "Python clients (a venv under .tools/)"
venv="$root/.tools/clients-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r clients/python/requirements.txt >&2
gen="$root/.tools/clients-gen/python"
staged="$root/.tools/clients-gen/health-proto"
rm -rf "$gen" "$staged"
mkdir -p "$gen/health" "$staged/grpc_health/v1"
protoc=("$venv/bin/python" -m grpc_tools.protoc "--plugin=protoc-gen-connectrpc=$venv/bin/protoc-gen-connectrpc")
"${protoc[@]}" -I proto --python_out="$gen" --grpc_python_out="$gen" \
  --connectrpc_out="$gen" --connectrpc_opt=protobuf=google \
  coreweave/networking/v1beta1/vpc.proto coreweave/inference/v1alpha1/gateway.proto
# Health's messages come from grpcio-health-checking (module grpc_health.v1, as the `grpc`
# package is grpcio's); connect-python's stubs for it import them from a package of their own.
cp clients/proto/grpc/health/v1/health.proto "$staged/grpc_health/v1/"
"${protoc[@]}" -I "$staged" --connectrpc_out="$gen" --connectrpc_opt=protobuf=google \
  grpc_health/v1/health.proto
mv "$gen/grpc_health/v1/health_connect.py" "$gen/health/"
rm -rf "$gen/grpc_health"
: >"$gen/health/__init__.py"
echo 'from grpc_health.v1.health_pb2 import *  # noqa: F403' >"$gen/health/health_pb2.py"

log "the mock binary"
cargo build --quiet -p coreweave-mock
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
mock="$target_dir/debug/coreweave-mock"
results="$(mktemp)"
listening="$(mktemp)"
RUST_LOG=warn "$mock" --listen 127.0.0.1:0 >"$listening" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$results" "$listening"' EXIT
for _ in $(seq 200); do [ -s "$listening" ] && break; sleep 0.05; done
endpoint="http://$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["addr"])' "$listening")"
log "running the clients against $endpoint"

(cd clients/node && timeout 300 node scenario.mjs "$endpoint") >>"$results"
(cd clients/python && PYTHONPATH="$gen" timeout 300 "$venv/bin/python" scenario.py "$endpoint") >>"$results"

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = {}
for row in rows:
    runs.setdefault((row["client"], row["protocol"], row["variant"]), []).append(row)
width = max(len(f"{c} | {p} | {v}") for c, p, v in runs)
print(f"{'client | protocol | variant':<{width}}  steps  result")
failed = 0
for (client, protocol, variant), steps in runs.items():
    bad = [s for s in steps if not s["ok"]]
    failed += len(bad)
    result = "pass" if not bad else "FAIL: " + "; ".join(f"{s['step']}: {s['error']}" for s in bad)
    print(f"{f'{client} | {protocol} | {variant}':<{width}}  {len(steps) - len(bad):>2}/{len(steps):<2}  {result}")
print(f"{len(runs)} runs, {len(rows)} steps, {failed} failed")
sys.exit(1 if failed or not rows else 0)
PY
