"""``python -m publisher`` and the ``publisher`` command.

A Ctrl-C, SIGTERM or SIGHUP before the CLI installs its own handlers (while its modules
load, in the first second) ends the run as every interruption does: one line, exit
status 128 + the signal's number. Nothing has started then, so nothing is left to clean
up. (A signal a caller set to be ignored, ``nohup``'s SIGHUP, stays ignored.)
"""

from __future__ import annotations

import signal
import sys


class _Stopped(BaseException):
    """SIGTERM or SIGHUP before the CLI's handlers (or after they are put back)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stopped(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


def main() -> None:
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _stopped)
    try:
        from .cli import main as cli

        cli()
    except KeyboardInterrupt:  # the CLI's handlers say their own (``cli.base.say_interrupted``)
        _say_interrupted(signal.SIGINT)
    except _Stopped as stopped:
        _say_interrupted(stopped.signum)


def _say_interrupted(signum: int) -> None:
    sys.stderr.write(f"interrupted by {signal.Signals(signum).name}: stopped before finishing\n")
    raise SystemExit(128 + signum) from None


if __name__ == "__main__":
    main()
