"""When and how long to retry a registry request.

Connection errors, 408, 429 and 5xx are retried with exponential backoff and
full jitter, honouring ``Retry-After``, bounded by a number of attempts and a
total time. 400/403/404 are never retried; 401 re-authenticates once (that is
the transport's job, not a retry). ``run`` is the loop: a dozen lines, so the
policy and the loop that applies it read in one place.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from .errors import UsageError
from .settings import setting

ENV_ATTEMPTS = "PUBLISHER_RETRY_ATTEMPTS"
ENV_INITIAL_DELAY = "PUBLISHER_RETRY_INITIAL_DELAY"
ENV_MAX_DELAY = "PUBLISHER_RETRY_MAX_DELAY"
ENV_TOTAL_TIMEOUT = "PUBLISHER_RETRY_TOTAL_TIMEOUT"
#: The time a request has for its answer (registries, the GitHub API): not a retry bound,
#: but read, checked and carried with them, as every request's limit.
ENV_REQUEST_TIMEOUT = "PUBLISHER_REQUEST_TIMEOUT"

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

#: What each variable may hold: (variable, policy field, kind, lowest, highest, unit). A
#: wait of hours, or thousands of attempts, is a typo; NaN and infinity are never a duration.
ENV_RANGES: tuple[tuple[str, str, type, float, float, str], ...] = (
    (ENV_ATTEMPTS, "attempts", int, 1, 100, ""),
    (ENV_INITIAL_DELAY, "initial_delay", float, 0, 600, " seconds"),
    (ENV_MAX_DELAY, "max_delay", float, 0, 3600, " seconds"),
    (ENV_TOTAL_TIMEOUT, "total_timeout", float, 0.1, 86400, " seconds"),
    (ENV_REQUEST_TIMEOUT, "request_timeout", float, 1, 600, " seconds"),
)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """Retry bounds. ``sleep``/``clock``/``jitter`` are injectable for tests.

    ``attempts`` counts every try, the first one included. ``total_timeout`` bounds
    the whole retried operation (waits included): a wait that would exceed it
    ends the retries at once. ``request_timeout`` is each try's time for its answer.
    """

    attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 20.0
    total_timeout: float = 120.0
    request_timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    jitter: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def __post_init__(self) -> None:
        """Bounds no retry can follow are a ``UsageError`` (exit 2) naming each, as
        ``from_env`` refuses the variables."""
        given = (
            f"attempts={self.attempts!r}, initial_delay={self.initial_delay!r}, "
            f"max_delay={self.max_delay!r}, total_timeout={self.total_timeout!r}, "
            f"request_timeout={self.request_timeout!r}"
        )
        hint = "ranges: " + "; ".join(
            f"{key} from {lowest:g} to {highest:g}{unit}"
            for _name, key, _kind, lowest, highest, unit in ENV_RANGES
        )
        if self.attempts < 1:
            raise UsageError(f"retry policy: attempts must be at least 1 ({given})", hint=hint)
        delays = (self.initial_delay, self.max_delay, self.total_timeout, self.request_timeout)
        if not all(math.isfinite(d) for d in delays):
            raise UsageError(f"retry policy: delays must be finite numbers ({given})", hint=hint)
        if (
            self.initial_delay < 0
            or self.max_delay < 0
            or self.total_timeout <= 0
            or self.request_timeout <= 0
        ):
            raise UsageError(
                "retry policy: delays must be >= 0, total_timeout and request_timeout > 0 "
                f"({given})",
                hint=hint,
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetryPolicy:
        """The default policy with overrides from ``PUBLISHER_RETRY_*`` variables.

        ``PUBLISHER_RETRY_ATTEMPTS``, ``PUBLISHER_RETRY_INITIAL_DELAY``,
        ``PUBLISHER_RETRY_MAX_DELAY`` and ``PUBLISHER_RETRY_TOTAL_TIMEOUT`` (seconds), and
        ``PUBLISHER_REQUEST_TIMEOUT`` (seconds).
        Each must lie in its range (``ENV_RANGES``); anything else, NaN and infinity
        included, is a ``UsageError`` naming the variable and the range.
        """
        values: dict[str, Any] = {}
        for name, key, kind, lowest, highest, unit in ENV_RANGES:
            text = setting(env, name)
            if not text:
                continue
            what = "a whole number" if kind is int else "a number"
            accepted = f"set {name} to {what} from {lowest:g} to {highest:g}{unit}, or unset it"
            try:
                value = number_setting(text, kind)
            except ValueError:
                raise UsageError(f"{name}={text[:40]!r} is not {what}", hint=accepted) from None
            if not (math.isfinite(value) and lowest <= value <= highest):
                raise UsageError(f"{name}={text[:40]!r} is out of range", hint=accepted)
            values[key] = value
        return cls(**values)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): exponential plus jitter.

        The delay lies in [base, 1.5 * base] where base doubles each time, so delays
        strictly increase until they reach ``max_delay``.
        """
        base = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        return min(self.max_delay, base + self.jitter(0, base / 2))

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before retry ``attempt``: the backoff, but never less than Retry-After."""
        wait = self.backoff(attempt)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


#: A number as a user writes one for publisher (a setting, an option): ASCII digits, with a
#: fraction for a number that need not be whole, and a minus sign before a negative one.
#: Python's own reading also takes '1_0' as 10, '+3', blanks around it, other scripts'
#: digits ('٥') and '1e3': none of them is how a count or a duration is written, and a
#: typo is better refused than read.
_WHOLE_NUMBER = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def number_setting(text: str, kind: type[int] | type[float]) -> int | float:
    """``text`` read as a number of ``kind`` (``int``: a whole number), as publisher takes
    one from the environment (``PUBLISHER_RETRY_*``) or an option (``--jobs``); a
    ``ValueError`` for any other spelling. The range is the caller's to check: a negative
    number ('-5') is a number, refused by its range as '0' is, never "not a number"."""
    digits = text.removeprefix("-")
    if not (_WHOLE_NUMBER if kind is int else _NUMBER).fullmatch(digits):
        raise ValueError(text)
    if kind is int and len(digits.lstrip("0")) > 18:  # far past any range, and int() refuses
        value: int | float = 10**18  # more than 4300 digits
    else:
        value = kind(digits)
    return kind(0) - value if digits != text else value  # '-0' is 0, never -0.0


#: The longest ``Retry-After`` taken as given (about 31 years; a longer one is cut to it).
MAX_RETRY_AFTER = 10**9


def parse_retry_after(
    value: str | None, now: float | None = None, date: str | None = None
) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date).

    A date is a moment on the registry's clock: given the answer's ``Date`` header (the
    registry's clock when it answered), the wait is the time between the two, whatever
    this machine's clock says; without one that parses, it is measured from ``now``.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        # thousands of digits: a wait past any total timeout, still a finite number
        return float(value) if len(value) <= 9 else float(MAX_RETRY_AFTER)
    when = _http_date(value)
    if when is None:
        return None
    current = _http_date(date) if date else None
    if current is None:
        current = time.time() if now is None else now
    return max(0.0, when - current)


def _http_date(value: str) -> float | None:
    """The moment an HTTP date names, or None for one that does not parse."""
    try:
        when = parsedate_to_datetime(value)
        # OverflowError: a zone offset of twenty digits ("+99999999999999999999")
        return None if when is None else when.timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


class RetriesExhausted(Exception):
    """The retries ended: ``last`` is the final failure, ``attempts`` how many were made.

    ``next_wait`` is set when the total time ended them: the wait that would have
    passed ``total_timeout``; it is None when the attempts ran out.
    """

    def __init__(
        self, last: BaseException, attempts: int, elapsed: float, next_wait: float | None
    ) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts
        self.elapsed = elapsed
        self.next_wait = next_wait


def run(
    policy: RetryPolicy,
    operation: Callable[[int], T],
    *,
    retryable: type[E],
    retry_after: Callable[[E], float | None],
    before_sleep: Callable[[E, int, float], None],
) -> T:
    """``operation(attempt)`` (attempt counts from 1) until it returns or the policy ends it.

    Only ``retryable`` failures are retried; any other exception passes through at
    once. Before each wait, ``before_sleep(failure, attempt, wait)`` is called. When
    the attempts run out, or the next wait would pass ``total_timeout``,
    ``RetriesExhausted`` carries the last failure and the real number of attempts.
    """
    start = policy.clock()
    attempt = 1
    while True:
        try:
            return operation(attempt)
        except retryable as exc:
            wait = policy.delay(attempt, retry_after(exc))
            elapsed = policy.clock() - start
            if attempt >= policy.attempts:
                raise RetriesExhausted(exc, attempt, elapsed, None) from None
            if elapsed + wait > policy.total_timeout:
                raise RetriesExhausted(exc, attempt, elapsed, wait) from None
            before_sleep(exc, attempt, wait)
            policy.sleep(wait)
            attempt += 1
