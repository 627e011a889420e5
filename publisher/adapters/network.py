"""How a request that got no answer failed, in the same words for every server publisher
talks to (a registry, the GitHub API): a connection never made, or one the server
accepted and then left unanswered, which is no fault of the network, DNS or port.
"""

from __future__ import annotations

import requests
import urllib3.exceptions

from ..core.sizes import seconds


def timed_out(exc: BaseException) -> str | None:
    """Which time limit a request's failure ``exc`` is: "connect" (the connection not made
    in time), "read" (made, and no answer in time) or None (no time limit at all).

    Takes requests' exceptions, urllib3's (as a retry sees them) and requests' wrapping
    of the ``MaxRetryError`` that ended urllib3's own retries. (urllib3 makes a refused
    connection a kind of connect timeout: it is none here.)
    """
    wrapped = exc.args[0] if exc.args else None
    if isinstance(wrapped, urllib3.exceptions.MaxRetryError) and wrapped.reason is not None:
        exc = wrapped.reason
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.ReadTimeoutError):
        return "read"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
        exc, urllib3.exceptions.NewConnectionError
    ):
        return "connect"
    return None


def answer_late(exc: BaseException) -> bool:
    """Whether ``exc`` is a request that reached the server and waited for its answer in
    vain (a read timeout), not one that could not connect (in time, or at all)."""
    return timed_out(exc) == "read"


def timeout_cause(exc: BaseException, timeout: float) -> str | None:
    """A request's time limit ``timeout`` that ran out, in words: the connection not made,
    or made and no answer; None when ``exc`` is no timeout."""
    kind = timed_out(exc)
    if kind is None:
        return None
    return f"no {'connection' if kind == 'connect' else 'answer'} within {timeout:g} s"


def no_answer_hint(host: str) -> str:
    """The tip for a server that took the connection and did not answer."""
    return (
        f"{host} accepted the connection but did not answer in time: check that it (or a "
        "proxy in front of it) is not overloaded or hung; PUBLISHER_RETRY_ATTEMPTS and "
        "PUBLISHER_RETRY_TOTAL_TIMEOUT give it more tries"
    )


def tries(count: int, elapsed: float, next_wait: float | None, total_timeout: float) -> str:
    """How the retries of a request ended: "after 3 attempts in 1.2 s", and, when the
    total time ended them, the wait that would have passed it."""
    said = f"after {count} attempt{'' if count == 1 else 's'} in {seconds(elapsed, 1)}"
    if next_wait is not None:
        said += (
            f" (the next wait, {seconds(next_wait, 1)}, would pass the retry time limit of "
            f"{seconds(total_timeout)}, PUBLISHER_RETRY_TOTAL_TIMEOUT)"
        )
    return said
