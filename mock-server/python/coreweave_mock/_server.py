"""``MockServer``: the ``coreweave-mock`` binary as a context manager."""

from __future__ import annotations

import collections
import json
import os
import selectors
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from coreweave_mock._binary import binary_path

#: How long a start may take before it is given up.
START_TIMEOUT = 30.0
#: How long ``stop()`` waits after SIGTERM before SIGKILL.
STOP_GRACE = 10.0
#: How many of the mock's last log lines are kept for error messages.
KEPT_LOG_LINES = 200


class MockServerError(RuntimeError):
    """The mock did not start (or stopped); the message ends with its last log lines."""


def _flag(name: str, value: Any) -> list[str]:
    """``transition_delay="0s"`` as ``["--transition-delay", "0s"]``; ``True`` as a bare flag;
    a list as the flag repeated."""
    option = "--" + name.replace("_", "-")
    if value is True:
        return [option]
    if value is False or value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [part for item in value for part in (option, str(item))]
    return [option, str(value)]


class MockServer:
    """Runs the mock on ``127.0.0.1:0`` until ``stop()`` (or the end of a ``with`` block).

    Keyword arguments are the binary's flags: ``MockServer(transition_delay="0s",
    clock="frozen", quota=5, zone=["US-EAST-04A"])``. ``endpoint`` is
    ``http://127.0.0.1:PORT``. A start that fails raises ``MockServerError`` with the mock's
    log.
    """

    def __init__(self, binary: str | os.PathLike[str] | None = None, args: list[str] | None = None, **flags: Any) -> None:
        self.binary = Path(binary) if binary is not None else binary_path()
        self.arguments = ["--listen", "127.0.0.1:0", *(args or [])]
        for name, value in flags.items():
            self.arguments += _flag(name, value)
        self.endpoint = ""
        self._log: collections.deque[str] = collections.deque(maxlen=KEPT_LOG_LINES)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> MockServer:
        """Starts the binary and waits for its ``listening`` line."""
        self._process = subprocess.Popen(
            [str(self.binary), *self.arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._keep_log, daemon=True).start()
        line = self._first_line()
        try:
            event = json.loads(line)
            self.endpoint = f"http://{event['addr']}"
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise MockServerError(self._failure(f"the mock printed {line!r} instead of its listening line")) from None
        return self

    def stop(self) -> None:
        """Stops the mock: SIGTERM, then SIGKILL after ``STOP_GRACE`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def log(self) -> list[str]:
        """The mock's last log lines (stderr)."""
        return list(self._log)

    def _first_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = self._process.stdout.readline().decode(errors="replace").strip()
                if line:
                    return line
            if self._process.poll() is not None:
                time.sleep(0.05)  # let the log reader catch the last lines
                raise MockServerError(self._failure(f"the mock exited with {self._process.returncode} before listening"))
        self.stop()
        raise MockServerError(self._failure(f"the mock did not listen within {START_TIMEOUT:.0f} s"))

    def _keep_log(self) -> None:
        process = self._process
        if process is None or process.stderr is None:
            return
        for line in process.stderr:
            self._log.append(line.decode(errors="replace").rstrip())

    def _failure(self, what: str) -> str:
        command = " ".join([str(self.binary), *self.arguments])
        return "\n  ".join([f"{what} ({command}); its log:", *self._log])
