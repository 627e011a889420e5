"""The process-wide "the run is being interrupted" flag.

The CLI's signal handler sets it, naming the signal (``signalled``), before the main
thread unwinds. Work on other threads reads it: the runner starts no new work
command, and a registry transfer stops between two pieces of a blob and during a
retry's wait, so an interrupted publish ends in seconds instead of finishing each
upload in flight. A step the stop cut short may say what it left that only it knows
(``leave``), which the line saying the run was interrupted adds.
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
#: What the stopping run left that only its steps know, in words (``leave``).
_left: list[str] = []


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
    _left.clear()


def leave(words: str) -> None:
    """What the stopping run left that only the step it stopped knows (the floating tags
    the registries now disagree on): the line saying the run was interrupted says it
    after its first line, before the command's tip (``left``)."""
    _left.append(words)


def left() -> list[str]:
    """What the stopping run left, in words, as its steps said it (``leave``)."""
    return list(_left)


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
