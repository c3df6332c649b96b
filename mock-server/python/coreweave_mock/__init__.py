"""The CoreWeave API mock for Python tests.

``MockServer`` runs the ``coreweave-mock`` binary shipped in this wheel; ``Control`` drives a
running mock through its control API; the pytest plugin (``coreweave_mock.pytest_plugin``)
provides fixtures built on both.
"""

from coreweave_mock._binary import binary_path
from coreweave_mock._control import CallStream, Control, ControlError, VerificationError
from coreweave_mock._server import MockServer, MockServerError

__all__ = ["CallStream", "Control", "ControlError", "MockServer", "MockServerError", "VerificationError", "binary_path"]
