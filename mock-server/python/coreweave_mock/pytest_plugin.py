"""The pytest plugin: one mock per session (per worker under pytest-xdist), and a fresh
organization per test.

Fixtures: ``coreweave_mock`` (the session's ``MockServer``), ``coreweave_token`` (a token of
its own per test, its organization reset after the test), ``coreweave_control`` (a
``Control`` bound to that token) and ``coreweave_env`` (``COREWEAVE_API_ENDPOINT`` and
``COREWEAVE_API_TOKEN`` set for the test). Options: ``--coreweave-mock-binary PATH`` and
``--coreweave-mock-arg ARG`` (repeatable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from coreweave_mock._control import Control
from coreweave_mock._server import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("coreweave-mock")
    group.addoption("--coreweave-mock-binary", help="the coreweave-mock binary to run (default: the installed one)")
    group.addoption(
        "--coreweave-mock-arg",
        action="append",
        default=[],
        help="a flag for the mock, such as --coreweave-mock-arg=--transition-delay=0s (repeatable)",
    )


@pytest.fixture(scope="session")
def coreweave_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """The session's mock (each pytest-xdist worker has its own)."""
    config = request.config
    with MockServer(
        binary=config.getoption("--coreweave-mock-binary"),
        args=list(config.getoption("--coreweave-mock-arg")),
    ) as mock:
        yield mock


@pytest.fixture
def coreweave_token(coreweave_mock: MockServer) -> Iterator[str]:
    """A token of the test's own, so an organization no other test sees; reset afterwards."""
    token = f"CW-SECRET-pytest-{uuid.uuid4().hex}"
    yield token
    Control(coreweave_mock.endpoint, token).reset()


@pytest.fixture
def coreweave_control(coreweave_mock: MockServer, coreweave_token: str) -> Control:
    """The control API, acting on the test's organization."""
    return Control(coreweave_mock.endpoint, coreweave_token)


@pytest.fixture
def coreweave_env(coreweave_mock: MockServer, coreweave_token: str, monkeypatch: pytest.MonkeyPatch) -> MockServer:
    """Points code that configures itself from the environment at the mock, in the test's
    organization."""
    monkeypatch.setenv("COREWEAVE_API_ENDPOINT", coreweave_mock.endpoint)
    monkeypatch.setenv("COREWEAVE_API_TOKEN", coreweave_token)
    return coreweave_mock
