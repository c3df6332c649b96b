#!/usr/bin/env python3
"""Tenant B's latency beside tenant A's large organization, with `--state-file`.

    scripts/bench-state-file.py [--mock PATH] [--vpcs 300] [--creates 200]

Starts the mock binary (default: the release build under CARGO_TARGET_DIR or `target/`)
with a fresh state file. Tenant A fills its organization with large VPCs (64 named prefixes
each, about 7 KB of JSON) and then updates them from two threads without pause; tenant B
creates small VPCs one at a time, and `/healthz` is probed between B's creates. B's figures
are measured first alone and then beside A, in the same run, and printed side by side: on a
noisy machine only the ratio means much. Standard library only; talks to 127.0.0.1.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ZONE = "US-EAST-04A"
VPCS = "/v1beta1/networking/vpcs"


def default_binary() -> Path:
    root = Path(__file__).resolve().parent.parent
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    return target / "release" / "coreweave-mock"


class Tenant:
    """One organization's REST calls, by its token."""

    def __init__(self, endpoint: str, token: str):
        self.endpoint = endpoint
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path,
            data=data,
            method=method,
            headers={
                "authorization": f"Bearer {self.token}",
                "content-type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)


def large_vpc(name: str) -> dict:
    prefixes = [
        {"name": f"{name}-{i:02d}-".ljust(63, "x"), "value": f"10.{i}.0.0/16"}
        for i in range(64)
    ]
    return {"name": name, "zone": ZONE, "vpcPrefixes": prefixes}


def timed(work) -> float:
    """Milliseconds `work` took."""
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1e3


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_b(endpoint: str, tenant_b: Tenant, creates: int, label: str) -> dict:
    create_ms, health_ms = [], []
    for i in range(creates):
        body = {"name": f"b-{label}-{i}", "zone": ZONE}
        create_ms.append(timed(lambda: tenant_b.call("POST", VPCS, body)))
        health_ms.append(
            timed(lambda: urllib.request.urlopen(endpoint + "/healthz", timeout=60).read())
        )
    return {"create": create_ms, "healthz": health_ms}


def start_mock(binary: Path, state_file: Path) -> tuple[subprocess.Popen, str]:
    mock = subprocess.Popen(
        [str(binary), "--listen", "127.0.0.1:0", "--state-file", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "error"},
    )
    line = mock.stdout.readline()
    if not line:
        raise SystemExit(f"{binary} printed no listening line")
    return mock, "http://" + json.loads(line)["addr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mock", type=Path, default=default_binary())
    parser.add_argument("--vpcs", type=int, default=300, help="tenant A's large VPCs")
    parser.add_argument("--creates", type=int, default=200, help="tenant B's creates per phase")
    args = parser.parse_args()
    if not args.mock.exists():
        raise SystemExit(f"no mock binary at {args.mock}: run `cargo build --release -p coreweave-mock`")

    with tempfile.TemporaryDirectory() as scratch:
        mock, endpoint = start_mock(args.mock, Path(scratch) / "state.redb")
        try:
            tenant_a = Tenant(endpoint, "CW-SECRET-bench-tenant-a")
            tenant_b = Tenant(endpoint, "CW-SECRET-bench-tenant-b")
            alone = measure_b(endpoint, tenant_b, args.creates, "alone")
            ids = [
                tenant_a.call("POST", VPCS, large_vpc(f"a-{i}"))["vpc"]["id"]
                for i in range(args.vpcs)
            ]
            stop = threading.Event()
            updates = [0]

            def churn(mine: list[str]) -> None:
                while not stop.is_set():
                    for vpc_id in mine:
                        if stop.is_set():
                            return
                        body = {"ingress": {"disablePublicServices": updates[0] % 2 == 0}}
                        tenant_a.call("PATCH", f"{VPCS}/{vpc_id}", body)
                        updates[0] += 1

            threads = [threading.Thread(target=churn, args=(ids[k::2],)) for k in range(2)]
            for thread in threads:
                thread.start()
            try:
                beside = measure_b(endpoint, tenant_b, args.creates, "beside")
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
        finally:
            mock.terminate()
            mock.wait()

    print(f"mock: {args.mock}; tenant A: {args.vpcs} VPCs of 64 prefixes, {updates[0]} updates meanwhile")
    print(f"{'tenant B':<18}{'alone p50':>11}{'p99':>9}{'beside A p50':>14}{'p99':>9}{'ratio p50':>11}")
    for what in ("create", "healthz"):
        a, b = alone[what], beside[what]
        p50a, p99a, p50b, p99b = (
            statistics.median(a),
            percentile(a, 0.99),
            statistics.median(b),
            percentile(b, 0.99),
        )
        print(f"{what + ' (ms)':<18}{p50a:>11.2f}{p99a:>9.2f}{p50b:>14.2f}{p99b:>9.2f}{p50b / p50a:>10.1f}x")


if __name__ == "__main__":
    main()
