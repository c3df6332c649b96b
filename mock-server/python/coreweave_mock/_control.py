"""The mock's control API (``/_mock/v1/``), one method per operation (see the mock's
``docs/control-api.md``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class ControlError(Exception):
    """The mock refused a control call: ``status`` is the HTTP status, ``message`` why."""

    def __init__(self, status: int, message: str, answer: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.answer = answer


class VerificationError(AssertionError):
    """Calls a test expected were not made. ``str()`` is the mock's one-line message;
    ``matched`` is how many calls matched, ``near_misses`` up to three calls of the method that
    came closest, each ``{"call": ..., "differences": [{"path", "expected", "actual"}]}``."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer["message"])
        self.matched: int = answer["matched"]
        self.near_misses: list[dict[str, Any]] = answer["nearMisses"]
        self.expected: dict[str, Any] = answer["expected"]


class CallStream:
    """The live stream of calls (server-sent events): iterate it for each call as a dict, as
    ``Control.calls()`` lists them; a read waits at most the control client's timeout. Close
    it (or use it as a context manager) when done."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def __iter__(self) -> CallStream:
        return self

    def __next__(self) -> dict[str, Any]:
        event, data = "message", []
        for raw in self._response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                if event == "call":
                    return json.loads("\n".join(data))
                event, data = "message", []
        raise StopIteration

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> CallStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Control:
    """A client of a running mock's control API.

    With ``token``, every operation acts on that token's organization only (the token is the
    one your code under test sends). Without it, operations act on the whole server, which
    only a mock without ``--token`` allows (the call sends ``x-mock-scope: server``).
    """

    def __init__(self, endpoint: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    def reset(self) -> None:
        """Deletes every resource, fault and journal entry in scope, and resets its clock."""
        self._call("POST", "/reset")

    def whoami(self) -> str:
        """The organization id of the token."""
        return self._call("GET", "/whoami")["organizationId"]

    def clock(self) -> dict[str, Any]:
        """``{"now": RFC 3339, "frozen": bool}`` as the scope sees it."""
        return self._call("GET", "/clock")

    def advance_clock(self, by: str) -> dict[str, Any]:
        """Moves the scope's time forward by ``by`` (such as ``"90s"``)."""
        return self._call("POST", "/clock/advance", {"by": by})

    def add_fault(
        self,
        method: str,
        kind: str,
        *,
        code: str | None = None,
        times: int | None = None,
        delay: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Scripts a fault: ``kind`` is ``"fail"`` (with ``code``), ``"delay"`` (with
        ``delay``) or ``"lose_reply"``; ``method`` is an RPC name such as ``"CreateVPC"``, or
        ``"*"``."""
        body = {"method": method, "kind": kind, "code": code, "times": times, "delay": delay, "message": message}
        return self._call("POST", "/faults", {k: v for k, v in body.items() if v is not None})["fault"]

    def faults(self) -> list[dict[str, Any]]:
        """The faults in scope, with their firings left."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        """Removes the faults in scope."""
        self._call("DELETE", "/faults")

    def calls(self, method: str | None = None, code: str | None = None, **page: Any) -> dict[str, Any]:
        """The journal in scope, oldest first, filtered by ``method`` and ``code`` (and paged
        with ``limit`` and ``after``)."""
        query = {"method": method, "code": code, **page}
        encoded = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self._call("GET", "/calls" + (f"?{encoded}" if encoded else ""))

    def verify(
        self,
        method: str,
        request: dict[str, Any] | None = None,
        *,
        code: str | None = None,
        count: int | None = None,
        at_least: int | None = None,
        at_most: int | None = None,
    ) -> int:
        """Checks that calls of ``method`` whose request contains ``request`` (a partial
        request, matched as a subset) and that ended with ``code`` were made: exactly
        ``count`` times, or ``at_least`` / ``at_most`` (at least once when none is given).
        Returns how many matched; raises :class:`VerificationError` (an ``AssertionError``
        that names the near misses) when the expectation does not hold."""
        counts = {"count": count, "at_least": at_least, "at_most": at_most}
        given = {name: n for name, n in counts.items() if n is not None}
        if len(given) > 1:
            raise ValueError(f"give one of count, at_least and at_most, not {', '.join(given)}")
        body: dict[str, Any] = {"method": method}
        if request is not None:
            body["request"] = request
        if code is not None:
            body["code"] = code
        if count is not None:
            body["count"] = count
        elif at_least is not None:
            body["count"] = {"atLeast": at_least}
        elif at_most is not None:
            body["count"] = {"atMost": at_most}
        try:
            return self._call("POST", "/verify", body)["matched"]
        except ControlError as error:
            if error.status == 417 and error.answer is not None:
                raise VerificationError(error.answer) from None
            raise

    def overview(self) -> dict[str, Any]:
        """Each organization in scope with its VPCs and gateways as a read shows them (held and
        forced marked), its clock and its faults."""
        return self._call("GET", "/overview")

    def stream_calls(self, method: str | None = None, code: str | None = None) -> CallStream:
        """The calls made in scope from now on, as they are made: a :class:`CallStream`,
        connected when this returns, so no call made after it is missed."""
        query = urllib.parse.urlencode({k: v for k, v in {"method": method, "code": code}.items() if v})
        request = urllib.request.Request(
            f"{self.endpoint}/_mock/v1/calls/stream" + (f"?{query}" if query else ""),
            headers=self._headers(),
        )
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raw = error.read()
            raise ControlError(error.code, _message(raw), _json_or_none(raw)) from None
        return CallStream(response)

    def state(self) -> dict[str, Any]:
        """A snapshot of the resources in scope."""
        return self._call("GET", "/state")

    def load_state(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Replaces the state in scope with ``snapshot`` (checked whole first)."""
        return self._call("PUT", "/state", snapshot)

    def set_status(self, resource_id: str, status: str, message: str = "") -> None:
        """Makes reads of gateway ``resource_id`` report ``status`` (``"STATUS_FAILED"`` or
        ``"STATUS_ERROR"``) with ``message``."""
        self._call("POST", f"/resources/{resource_id}/status", {"status": status, "message": message})

    def hold(self, resource_id: str, on: bool = True) -> None:
        """Holds resource ``resource_id`` in its transition (or, with ``on=False``, lets it go on)."""
        self._call("POST", f"/resources/{resource_id}/status", {"hold": on})

    def _headers(self) -> dict[str, str]:
        if self.token is None:
            return {"x-mock-scope": "server"}
        return {"authorization": f"Bearer {self.token}"}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"accept": "application/json", **self._headers()}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        request = urllib.request.Request(
            f"{self.endpoint}/_mock/v1{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            raise ControlError(error.code, _message(raw), _json_or_none(raw)) from None
        return json.loads(text) if text.strip() else None


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", body.decode(errors="replace")))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")
