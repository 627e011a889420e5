"""The process-wide "the run is being interrupted" flag.

The CLI's signal handler sets it (through ``runner.stop_children``) before the main
thread unwinds. Work on other threads reads it: the runner starts no new work
command, and a registry transfer stops between two pieces of a blob and during a
retry's wait, so an interrupted publish ends in seconds instead of finishing each
upload in flight.
"""

from __future__ import annotations

import threading

from ..core.errors import StoppedError

_stopping = threading.Event()
#: The events of the waits that also end on something else (``wait``'s ``woken``).
_wakers: set[threading.Event] = set()


def request() -> None:
    """Ask all work to stop (safe in a signal handler: no lock is taken)."""
    _stopping.set()
    for woken in list(_wakers):
        woken.set()


def clear() -> None:
    """A new run starts: work may proceed again."""
    _stopping.clear()


def stopping() -> bool:
    return _stopping.is_set()


def check(what: str) -> None:
    """Raise StoppedError, naming ``what`` was stopped, once the run is stopping."""
    if _stopping.is_set():
        raise StoppedError(
            f"{what} stopped: publisher is stopping (interrupted)",
            hint="rerun the command; finished steps are not repeated",
        )


def wait(seconds: float, woken: threading.Event | None = None) -> None:
    """Sleep ``seconds``, waking at once when the run starts stopping, or when ``woken``
    (an event of the caller's) is set."""
    if woken is None:
        _stopping.wait(seconds)
        return
    _wakers.add(woken)
    try:
        if not _stopping.is_set():  # (a stop requested before the line above)
            woken.wait(seconds)
    finally:
        _wakers.discard(woken)
