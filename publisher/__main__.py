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
    except ModuleNotFoundError as exc:  # a dependency not installed: before the CLI's handlers
        _say_missing(exc)
    except KeyboardInterrupt:  # the CLI's handlers say their own (``cli.base.say_interrupted``)
        _say_interrupted(signal.SIGINT)
    except _Stopped as stopped:
        _say_interrupted(stopped.signum)


def _say_missing(exc: ModuleNotFoundError) -> None:
    """A package publisher needs that is not installed (``pip install --no-deps``: click,
    PyYAML), named with how to install it, exit 10 (a missing tool), not a traceback; with
    --json, its document on stdout too."""
    from .resolve import message_text, missing_dependency, tip_lines  # the standard library's

    what, how = missing_dependency(exc)
    message = f"publisher needs {what}, which is not installed"
    if "--json" in sys.argv[1:]:  # stdout carries JSON only, as every failure's document
        import json

        error = {"kind": "missing dependency", "exit_code": 10, "message": message, "hint": how}
        print(json.dumps({"ok": False, "error": error}, indent=2, sort_keys=True))
    sys.stderr.write(message_text(f"error: missing dependency: {message}\n" + tip_lines(how)))
    raise SystemExit(10) from None


def _say_interrupted(signum: int) -> None:
    sys.stderr.write(f"interrupted by {signal.Signals(signum).name}: stopped before finishing\n")
    raise SystemExit(128 + signum) from None


if __name__ == "__main__":
    main()
