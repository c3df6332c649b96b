"""Where the ``coreweave-mock`` binary installed with this package is."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

_NAME = "coreweave-mock" + (".exe" if sys.platform == "win32" else "")


def binary_path() -> Path:
    """The ``coreweave-mock`` binary: the one installed beside this package (the scripts
    directory of its environment, or of the user scheme), else the first on ``PATH``.

    Raises ``FileNotFoundError`` naming the places looked in when there is none.
    """
    candidates = [Path(sysconfig.get_path("scripts")) / _NAME]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        candidates.append(Path(sysconfig.get_path("scripts", user_scheme)) / _NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    on_path = shutil.which(_NAME)
    if on_path:
        return Path(on_path)
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no {_NAME} binary in {looked} or on PATH; reinstall coreweave-mock")
