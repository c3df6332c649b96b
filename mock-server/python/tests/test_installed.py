"""The installed ``coreweave-mock`` wheel, used as a user would: run by
scripts/test-python-package.sh in a fresh virtual environment, outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from coreweave_mock import Control, ControlError, MockServer, MockServerError, VerificationError

VPCS = "/v1beta1/networking/vpcs"


def rest(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """A REST call as the code under test would make it, configured from the environment."""
    request = urllib.request.Request(
        os.environ["COREWEAVE_API_ENDPOINT"] + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "authorization": f"Bearer {os.environ['COREWEAVE_API_TOKEN']}",
            "content-type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def record_worker(mock: MockServer) -> None:
    """Notes which mock this worker's tests used, for the runner to check one per worker."""
    record = os.environ.get("COREWEAVE_TEST_RECORD")
    if record:
        with open(record, "a") as out:
            out.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {mock.endpoint} {os.getpid()}\n")


@pytest.mark.parametrize("attempt", range(4))
def test_each_test_has_an_organization_of_its_own(coreweave_env: MockServer, attempt: int) -> None:
    record_worker(coreweave_env)
    assert rest("GET", VPCS) == (200, {"items": []})
    status, created = rest("POST", VPCS, {"name": "same-name-every-test", "zone": "US-EAST-04A"})
    assert status == 200, created
    status, listed = rest("GET", VPCS)
    assert [vpc["name"] for vpc in listed["items"]] == ["same-name-every-test"]


def test_a_lost_reply_still_creates_the_vpc(coreweave_env: MockServer, coreweave_control: Control) -> None:
    fault = coreweave_control.add_fault("CreateVPC", "lose_reply", times=1)
    assert fault["remaining"] == 1
    status, error = rest("POST", VPCS, {"name": "lost", "zone": "US-EAST-04A"})
    assert status == 503, error
    assert [vpc["name"] for vpc in rest("GET", VPCS)[1]["items"]] == ["lost"]
    assert coreweave_control.faults() == []


def test_advancing_the_clock_settles_a_creating_vpc(coreweave_env: MockServer, coreweave_control: Control) -> None:
    status, created = rest("POST", VPCS, {"name": "settling", "zone": "US-EAST-04A"})
    assert created["vpc"]["status"] == "STATUS_CREATING"
    coreweave_control.advance_clock("90s")
    status, got = rest("GET", f"{VPCS}/{created['vpc']['id']}")
    assert got["vpc"]["status"] == "STATUS_READY", got


def test_the_journal_and_whoami(coreweave_env: MockServer, coreweave_control: Control) -> None:
    rest("GET", VPCS)
    calls = coreweave_control.calls(method="ListVPCs")["calls"]
    assert [call["method"] for call in calls] == ["ListVPCs"]
    assert len(coreweave_control.whoami()) == 36


def test_verify_counts_matches_and_names_the_near_misses(coreweave_env: MockServer, coreweave_control: Control) -> None:
    rest("POST", VPCS, {"name": "verified", "zone": "US-EAST-04A"})
    rest("POST", VPCS, {"name": "Not Valid!", "zone": "US-EAST-04A"})
    assert coreweave_control.verify("CreateVPC") == 2
    assert coreweave_control.verify("CreateVPC", {"zone": "US-EAST-04A"}, at_least=2) == 2
    assert coreweave_control.verify("CreateVPC", code="INVALID_ARGUMENT", count=1) == 1
    assert coreweave_control.verify("DeleteVPC", count=0) == 0
    with pytest.raises(AssertionError) as failed:
        coreweave_control.verify("CreateVPC", {"name": "verifyed"}, code="OK")
    error = failed.value
    assert isinstance(error, VerificationError)
    assert error.matched == 0
    assert "differs at name: expected" in str(error), str(error)
    assert [d["path"] for d in error.near_misses[0]["differences"]] == ["name"]
    assert error.near_misses[0]["call"]["request"]["name"] == "verified"
    with pytest.raises(ValueError):
        coreweave_control.verify("CreateVPC", count=1, at_least=1)
    with pytest.raises(ControlError) as refused:
        coreweave_control.verify("CreateVPX")
    assert refused.value.status == 400


def test_the_live_stream_and_the_overview(coreweave_env: MockServer, coreweave_control: Control) -> None:
    with coreweave_control.stream_calls(method="CreateVPC") as stream:
        rest("GET", VPCS)
        rest("POST", VPCS, {"name": "streamed", "zone": "US-EAST-04A"})
        call = next(stream)
    assert (call["method"], call["request"]["name"], call["code"]) == ("CreateVPC", "streamed", "OK")
    overview = coreweave_control.overview()
    [org] = overview["organizations"]
    assert [vpc["name"] for vpc in org["vpcs"]] == ["streamed"]


def test_a_refused_control_call_raises_with_the_mocks_message(coreweave_control: Control) -> None:
    with pytest.raises(ControlError) as refused:
        coreweave_control.add_fault("NoSuchMethod", "fail", code="UNAVAILABLE")
    assert refused.value.status == 400
    assert "NoSuchMethod" in refused.value.message


def test_a_start_that_fails_raises_with_the_mocks_log() -> None:
    with pytest.raises(MockServerError) as failed:
        MockServer(seed="/nonexistent/seed.json").start()
    assert "/nonexistent/seed.json" in str(failed.value)


def test_python_dash_m_runs_the_binary() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "coreweave_mock", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("coreweave-mock "), version
