"""Stopping a run while a worker thread is busy, as the CLI's signal handler does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from publisher.adapters import runner as runner_module

#: Seconds the work of ``stop_during`` has to start.
STARTS_WITHIN = 90.0


def stop_during(
    work: Callable[[], object],
    started: Callable[[], bool],
    *,
    within: float = 120.0,
    while_stopping: Callable[[], object] | None = None,
) -> list[BaseException]:
    """Run ``work`` on a worker thread; once ``started()`` says it is under way, stop the
    run (``stop_children``) and wait for the worker, which must end ``within`` seconds of
    the stop. ``while_stopping`` runs next, before children are allowed again.
    What ended the work, if anything. The work has ``STARTS_WITHIN`` seconds to start: a
    smoke test waits its turn on port 9000 while another process's runs on the machine."""
    caught: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # the test reports what ended it
            caught.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        deadline = time.monotonic() + STARTS_WITHIN
        while not started() and worker.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started(), "the work did not start"
        stopped = time.monotonic()
        runner_module.stop_children()
        worker.join(timeout=within)
        took = time.monotonic() - stopped
        assert not worker.is_alive() and took < within, (
            f"the work went on {took:.1f}s after the stop"
        )
        if while_stopping is not None:
            while_stopping()
    finally:
        runner_module.allow_children()
    return caught
