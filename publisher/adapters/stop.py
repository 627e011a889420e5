"""The process-wide "the run is being interrupted" flag.

The CLI's signal handler sets it, naming the signal (``signalled``), before the main
thread unwinds. Work on other threads reads it: the runner starts no new work
command, and a registry transfer stops between two pieces of a blob and during a
retry's wait, so an interrupted publish ends in seconds instead of finishing each
upload in flight.
"""

from __future__ import annotations

import threading

from ..core.errors import StoppedError

_stopping = threading.Event()
#: The number of the signal that stopped the run (the first one), while it is stopping:
#: the run still ends as interrupted when the exception the handler raised was lost (a
#: handler running inside a weakref callback or ``__del__`` has its exception dropped).
_signalled: list[int] = []
#: The events of the waits that also end on something else (``wait``'s ``woken``).
_wakers: set[threading.Event] = set()


def request(signum: int | None = None) -> None:
    """Ask all work to stop, because of the signal ``signum`` when given (safe in a signal
    handler: no lock is taken)."""
    if signum is not None and not _signalled:
        _signalled.append(signum)
    _stopping.set()
    for woken in list(_wakers):
        woken.set()


def clear() -> None:
    """A new run starts: work may proceed again."""
    _stopping.clear()
    _signalled.clear()


def stopping() -> bool:
    return _stopping.is_set()


def signalled() -> int | None:
    """The signal that stopped the run, None when no signal did."""
    return _signalled[0] if _signalled else None


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
