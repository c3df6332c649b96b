#!/usr/bin/env bash
# The npm package as a user gets it: builds the tarball (scripts/build-npm.sh), installs it
# into a fresh npm project outside the repository, and runs npm/test/ there with
# `node --test`. Prints the tarball's size. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
log() { printf 'test-npm-package: %s\n' "$*" >&2; }

tarball="$(bash scripts/build-npm.sh "$scratch/dist" | tail -n 1)"
log "tarball: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) KiB"
mkdir "$scratch/project"
cd "$scratch/project"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "$tarball" >&2
cp "$root"/npm/test/*.test.mjs .
node --test ./*.test.mjs

log "the README's JavaScript example is the test that ran"
python3 - "$root/README.md" "$root/npm/test/readme-example.test.mjs" <<'PY'
import sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read()
section = readme.split("### From TypeScript and Node", 1)[1]
block = section.split("```js\n", 1)[1].split("```", 1)[0]
assert block == example, "the README's JavaScript example differs from npm/test/readme-example.test.mjs"
PY
