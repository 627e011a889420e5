#!/usr/bin/env python3
"""What a request's answer deadline costs: one timer thread per request against the one
watchdog (prints figures; not a timed test).

    python bench/deadline_bench.py                 # 1000 requests a round, 3 rounds each way
    python bench/deadline_bench.py --requests 5000 --rounds 5

Needs the distribution registry (``docker-registry``); about a minute.

Every registry request but a blob's body must have its whole answer within the request
time limit: a deadline is armed when the request goes out and disarmed when the answer is
handed back. Two ways of keeping it are compared, interleaved, in this one run (the
machine may be shared: compare within a run, as ratios):

* **timer**: what the registry client did before, a ``threading.Timer`` started and
  cancelled for each request (``TimerDeadline`` below, the same logic);
* **watchdog**: what it does now, the process's one watchdog thread with a heap of
  deadlines (``publisher.adapters.registry.transport._Deadline``).

Reported: the cost of arming and disarming one deadline on its own (microseconds, the
median of the rounds), then requests per second of a tag list against a loopback
registry, one at a time and eight at once, and each ratio watchdog / timer.
"""

from __future__ import annotations

import argparse
import functools
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import publisher.adapters.registry.transport as transport  # noqa: E402
from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from publisher.adapters.registry import RegistryClient, RetryPolicy  # noqa: E402
from tests.support.images import make_image, push_raw  # noqa: E402

WATCHDOG = transport._Deadline


class TimerDeadline(WATCHDOG):
    """The deadline as it was kept before: a timer thread of its own, started when the
    request goes out and cancelled when the answer is handed back."""

    def __init__(self, seconds: float, body: Any = None) -> None:
        super().__init__(seconds, body)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def sending(self, sock: Any) -> None:
        """No watch while the request goes out: a timer of its own starts with ``attach``."""

    def attach(self, sock: Any) -> None:
        with self._lock:
            if self.done:
                return
            self.sock = sock
            if self._timer is None:
                self._timer = threading.Timer(self.seconds, self._fire)
                self._timer.daemon = True
                self._timer.start()
            fired = self.fired
        if fired:
            transport._shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            sock = self.sock
        if sock is not None:
            transport._shut(sock)

    def lift(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        with self._lock:
            self.done = True
            self.sock = None
            timer = self._timer
        if timer is not None:
            timer.cancel()


WAYS: dict[str, type[transport._Deadline]] = {"timer": TimerDeadline, "watchdog": WATCHDOG}


def use(way: str) -> None:
    """Make the transport arm deadlines of ``way``."""
    transport._Deadline = WAYS[way]  # type: ignore[misc]


def arm_and_disarm(count: int) -> float:
    """Microseconds to arm and disarm one deadline (on a connected socket)."""
    left, right = socket.socketpair()
    try:
        started = time.perf_counter()
        for _ in range(count):
            deadline = transport._Deadline(30.0)
            deadline.attach(left)
            deadline.answered(None)
            deadline.cancel()
        return (time.perf_counter() - started) / count * 1e6
    finally:
        left.close()
        right.close()


def requests_per_second(call: Callable[[], object], count: int, workers: int) -> float:
    started = time.perf_counter()
    if workers == 1:
        for _ in range(count):
            call()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda _: call(), range(count)))
    return count / (time.perf_counter() - started)


def median_by_way(rounds: int, measure: Callable[[], float]) -> dict[str, float]:
    figures: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way in WAYS:  # interleaved: a busy spell hits both ways alike
            use(way)
            figures[way].append(measure())
    use("watchdog")
    return {way: statistics.median(values) for way, values in figures.items()}


def show(title: str, unit: str, result: dict[str, float], *, lower_is_better: bool) -> None:
    ratio = result["watchdog"] / result["timer"]
    better = "lower is better" if lower_is_better else "higher is better"
    print(f"{title} ({unit}, {better})")
    for way, value in result.items():
        print(f"  {way:<9} {value:10.1f}")
    print(f"  ratio watchdog / timer: {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds each way")
    args = parser.parse_args()

    show(
        "arm and disarm one deadline",
        "µs",
        median_by_way(args.rounds, lambda: arm_and_disarm(args.requests * 5)),
        lower_is_better=True,
    )
    with LocalRegistry() as registry:
        repo = f"bench/deadline-{uuid.uuid4().hex[:6]}"
        push_raw(registry.url, repo, make_image(platforms=["linux/amd64"]).images[0], ["1"])
        client = RegistryClient(
            registry.host, plain_http=True, retry=RetryPolicy(attempts=1, total_timeout=60.0)
        )
        assert client.list_tags(repo) == ["1"]

        def tag_lists(workers: int) -> float:
            return requests_per_second(lambda: client.list_tags(repo), args.requests, workers)

        for workers in (1, 8):
            show(
                f"tag lists, {workers} at a time",
                "requests/s",
                median_by_way(args.rounds, functools.partial(tag_lists, workers)),
                lower_is_better=False,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
