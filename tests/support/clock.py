"""A fake clock for retry tests: ``sleep`` advances ``now`` instead of waiting.

``clock.policy(...)`` is a ``RetryPolicy`` (its defaults, or the bounds given) that
waits on the clock.
"""

from __future__ import annotations

import threading
from typing import Any

from publisher.core.retry import RetryPolicy


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def policy(self, **bounds: Any) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, clock=self, **bounds)
