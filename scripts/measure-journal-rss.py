#!/usr/bin/env python3
"""Measures the mock's memory with every journal full of the largest entries it keeps.

Starts the mock binary (release, built by this script unless --binary names one), then from
ORGS organizations sends creates whose request is just under the 16 KiB an entry keeps
(refused as invalid, journaled all the same), until each organization's journal is past its
32 MiB and the journals together past their 128 MiB budget. Prints the mock's RSS before and
after, beside the budget, and how many calls `GET /_mock/v1/calls` still holds.

    python3 scripts/measure-journal-rss.py [--orgs 6] [--calls-per-org 2400]
Honours CARGO_TARGET_DIR.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_MIB = 128
ORG_MIB = 32


def target_dir() -> str:
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return json.loads(metadata.stdout)["target_directory"]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=6)
    parser.add_argument("--calls-per-org", type=int, default=2400)
    parser.add_argument("--binary")
    args = parser.parse_args()
    binary = args.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "coreweave-mock"], cwd=ROOT, check=True)
        binary = os.path.join(target_dir(), "release", "coreweave-mock")
    mock = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, env={**os.environ, "RUST_LOG": "error"}
    )
    try:
        host, port = json.loads(mock.stdout.readline())["addr"].rsplit(":", 1)
        before = rss_mib(mock.pid)
        # A name of 16,300 characters: an entry of just under 16 KiB, refused as too long.
        body = json.dumps({"name": "n" * 16_300, "zone": "US-EAST-04A"}).encode()
        started = time.monotonic()
        for org in range(args.orgs):
            connection = http.client.HTTPConnection(host, int(port))
            headers = {"authorization": f"Bearer CW-SECRET-journal-{org}", "content-type": "application/json"}
            for _ in range(args.calls_per_org):
                connection.request("POST", "/v1beta1/networking/vpcs", body, headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 400, response.status
            connection.close()
        sent = args.orgs * args.calls_per_org
        elapsed = time.monotonic() - started
        after = rss_mib(mock.pid)
        connection = http.client.HTTPConnection(host, int(port))
        kept = 0
        for org in range(args.orgs):
            connection.request("GET", "/_mock/v1/calls?limit=10000", headers={"authorization": f"Bearer CW-SECRET-journal-{org}"})
            kept += len(json.loads(connection.getresponse().read())["calls"])
        print(f"sent {sent} creates of {len(body) / 1024:.1f} KiB from {args.orgs} organizations in {elapsed:.1f} s")
        print(f"journal budget: {BUDGET_MIB} MiB in all, {ORG_MIB} MiB per organization")
        print(f"calls still in the journals: {kept} (about {kept * 16.1 / 1024:.0f} MiB of requests)")
        print(f"mock RSS: {before:.1f} MiB before, {after:.1f} MiB with the journals full")
    finally:
        mock.terminate()
        mock.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
