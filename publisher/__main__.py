"""``python -m publisher`` and the ``publisher`` command.

A Ctrl-C, SIGTERM or SIGHUP before the CLI installs its own handlers (while its modules
load, in the first second) ends the run as every interruption does: one line, exit
status 128 + the signal's number. Nothing has started then, so nothing is left to clean
up. (A signal a caller set to be ignored, ``nohup``'s SIGHUP, stays ignored.)
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

from . import PYTHON_REQUIRED


class _Stopped(BaseException):
    """SIGTERM or SIGHUP before the CLI's handlers (or after they are put back)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stopped(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


def main() -> None:
    refuse_old_python(sys.version_info)  # before anything that needs a newer one is loaded
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _stopped)
    try:
        try:
            from .cli import main as cli

            cli()
        except ModuleNotFoundError as exc:  # a dependency not installed: before the handlers
            words = _resolve_words(sys.argv[1:])
            if words is None:
                _say_missing(exc)
            from .resolve import main as resolve_alone  # the standard library's

            raise SystemExit(resolve_alone(words, invoked_as="publisher resolve")) from None
    except KeyboardInterrupt:  # the CLI's handlers say their own (``cli.base.say_interrupted``)
        _say_interrupted(signal.SIGINT)
    except _Stopped as stopped:
        _say_interrupted(stopped.signum)


def refuse_old_python(version: tuple[int | str, ...]) -> None:
    """An interpreter older than publisher runs on (``PYTHON_REQUIRED``; a checkout run
    with ``PYTHONPATH``, where pip's requires-python does not stand guard) is told so,
    exit 10 (a missing tool: the Python it needs), never sent to install a dependency or
    shown a traceback. This module reads as Python 3.8 (no newer syntax), so an older
    Python gets this far."""
    if tuple(version[:2]) >= PYTHON_REQUIRED:
        return
    wanted = ".".join(map(str, PYTHON_REQUIRED))
    message = f"publisher needs Python {wanted} or newer, this is "
    message += ".".join(map(str, version[:3]))
    hint = f"run it with Python {wanted} or newer (`python{wanted} -m publisher`); "
    hint += "resolve alone runs on 3.9: `python3 -m publisher.resolve`"
    _refuse("missing tool", message, hint, f"error: missing tool: {message}\n  tip: {hint}\n")


def _resolve_words(argv: list[str]) -> list[str] | None:
    """What follows ``resolve`` in ``publisher resolve ...`` (``--debug``, publisher's own
    flag, left out, as ``ResolveCommand`` leaves it out), None for any other command line.
    ``publisher resolve`` keeps resolve's contract (its ``decision=`` line, JSON document
    and exit codes, never 10) with a dependency not installed: what it then runs is
    ``python -m publisher.resolve``, which needs none, the same decision in the same words."""
    words = [word for word in argv if word != "--debug"]
    return words[1:] if words[:1] == ["resolve"] else None


def _say_missing(exc: ModuleNotFoundError) -> NoReturn:
    """A package publisher needs that is not installed (``pip install --no-deps``: click,
    PyYAML), named with how to install it, exit 10 (a missing tool), not a traceback."""
    from .resolve import message_text, missing_dependency, tip_lines  # the standard library's

    what, how = missing_dependency(exc)
    message = f"publisher needs {what}, which is not installed"
    text = message_text(f"error: missing dependency: {message}\n" + tip_lines(how))
    _refuse("missing dependency", message, how, text)


def _refuse(kind: str, message: str, hint: str, text: str) -> NoReturn:
    """Stop before the CLI could load: ``text`` on stderr, exit 10; with --json, the
    error's document on stdout too, as every failure's."""
    if "--json" in sys.argv[1:]:  # stdout carries JSON only
        import json

        error = {"kind": kind, "exit_code": 10, "message": message, "hint": hint}
        print(json.dumps({"ok": False, "error": error}, indent=2, sort_keys=True))
    sys.stderr.write(text)
    raise SystemExit(10) from None


def _say_interrupted(signum: int) -> NoReturn:
    sys.stderr.write(f"interrupted by {signal.Signals(signum).name}: stopped before finishing\n")
    raise SystemExit(128 + signum) from None


if __name__ == "__main__":
    main()
