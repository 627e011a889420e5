"""``stop_children``: what the CLI's signal handler calls so that worker threads end."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from publisher.adapters import runner as runner_module
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core.errors import CommandError

pytestmark = pytest.mark.integration

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_stop_children_ends_a_command_waited_for_on_another_thread() -> None:
    runner = Runner(output=Output(env={}, quiet=True))
    caught: list[BaseException] = []

    def work() -> None:
        try:
            runner.run(SLEEPER, what="sleeper")
        except CommandError as exc:
            caught.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not runner_module._live and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runner_module._live, "the command did not start"
        started = time.monotonic()
        runner_module.stop_children()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert time.monotonic() - started < 5
        assert caught and "`sleeper` failed with exit status -15" in str(caught[0])
        with pytest.raises(CommandError, match="publisher is stopping"):
            runner.run(SLEEPER, what="sleeper")
    finally:
        runner_module.allow_children()
    assert not runner_module._live
