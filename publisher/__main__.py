"""``python -m publisher`` and the ``publisher`` command.

A Ctrl-C before the CLI installs its own handlers (while its modules load, in the first
second) ends the run as every interruption does: one line, exit status 130. Nothing has
started then, so nothing is left to clean up.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    try:
        from .cli import main as cli

        cli()
    except KeyboardInterrupt:  # the CLI's handlers say their own (``cli.base.say_interrupted``)
        sys.stderr.write("interrupted by SIGINT: stopped before finishing\n")
        raise SystemExit(128 + signal.SIGINT) from None


if __name__ == "__main__":
    main()
