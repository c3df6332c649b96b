"""``python -m coreweave_mock ARGS``: runs the ``coreweave-mock`` binary with ``ARGS``."""

import os
import sys

from coreweave_mock._binary import binary_path


def main() -> None:
    binary = str(binary_path())
    os.execv(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
