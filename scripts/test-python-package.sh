#!/usr/bin/env bash
# The Python package as a user gets it: builds the wheel (scripts/build-wheel.sh), installs it
# with pytest and pytest-xdist into a fresh virtual environment, and runs
# mock-server/python/tests/ from a directory outside the repository, once serially and once
# with `pytest -n 2`, checking that each xdist worker had a mock of its own. Prints the
# wheel's size. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
log() { printf 'test-python-package: %s\n' "$*" >&2; }

wheel="$(bash scripts/build-wheel.sh "$scratch/dist" | tail -n 1)"
log "wheel: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB"
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check \
  "$wheel" "pytest==9.2.0" "pytest-xdist==3.8.0" >&2
mkdir "$scratch/tests"
cp "$root"/mock-server/python/tests/test_*.py "$scratch/tests/"
cd "$scratch/tests"
pytest=("$scratch/venv/bin/python" -m pytest -p no:cacheprovider)

log "the installed package's tests, serially"
"${pytest[@]}" -q .

log "the same under pytest-xdist with two workers"
record="$scratch/workers"
COREWEAVE_TEST_RECORD="$record" "${pytest[@]}" -q -n 2 .
python3 - "$record" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
by_worker = {}
for worker, endpoint, pid in rows:
    by_worker.setdefault(worker, set()).add(endpoint)
endpoints = [e for es in by_worker.values() for e in es]
assert len(by_worker) == 2, f"expected two workers, saw {sorted(by_worker)}"
assert all(len(es) == 1 for es in by_worker.values()), f"a worker used several mocks: {by_worker}"
assert len(set(endpoints)) == 2, f"the workers shared a mock: {by_worker}"
print(f"test-python-package: {len(rows)} isolation tests on 2 workers, one mock each: {sorted(endpoints)}", file=sys.stderr)
PY

log "the README's Python example is the test that ran"
python3 - "$root/README.md" "$root/mock-server/python/tests/test_readme_example.py" <<'PY'
import sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read()
section = readme.split("### From Python", 1)[1]
block = section.split("```python\n", 1)[1].split("```", 1)[0]
assert block == example, "the README's Python example differs from test_readme_example.py"
PY
