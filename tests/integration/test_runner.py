"""The runner with real processes: output capture, stdin, environment, failure tails."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core.errors import CommandError

pytestmark = pytest.mark.integration

SECRET = "integration-canary-8d1f"


def test_a_real_command_gets_stdin_and_env_and_its_failure_is_explained() -> None:
    out = io.StringIO()
    runner = Runner(output=Output(env={}, stream=out, err_stream=out))
    script = (
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "print('got', len(data), os.environ['PUBLISHER_PROBE'])\n"
        "print('password was', data.strip(), file=sys.stderr)\n"
        "sys.exit(int(os.environ['CODE']))\n"
    )
    done = runner.run(
        [sys.executable, "-c", script],
        stdin=SECRET,
        env={"PUBLISHER_PROBE": "yes", "CODE": "0"},
        secrets=[SECRET],
    )
    assert done.stdout == f"got {len(SECRET)} yes\n"
    assert done.stderr == f"password was {SECRET}\n"  # the command sees it; we never show it
    with pytest.raises(CommandError) as caught:
        runner.run(
            [sys.executable, "-c", script],
            stdin=SECRET,
            env={"PUBLISHER_PROBE": "no", "CODE": "4"},
            secrets=[SECRET],
            what="probe",
        )
    assert "`probe` failed with exit status 4" in caught.value.message
    assert "password was ***" in caught.value.message
    assert SECRET not in caught.value.message + caught.value.output + out.getvalue()
    assert out.getvalue().count(f"+ {sys.executable} -c") == 2


def test_a_long_command_says_it_still_runs_and_keeps_its_stdin_and_output() -> None:
    """A build under QEMU can run for many minutes: every ``still_running_every`` seconds a
    line says it is still running; the output is whole, and a quiet probe says nothing."""
    out = io.StringIO()
    runner = Runner(output=Output(env={}, stream=out, err_stream=out), still_running_every=0.3)
    script = "import sys, time; data = sys.stdin.read(); time.sleep(1.1); print('got', data)"
    done = runner.run([sys.executable, "-c", script], stdin="abc", what="slow build")
    assert done.stdout == "got abc\n"
    said = [line for line in out.getvalue().splitlines() if "still running" in line]
    assert 2 <= len(said) <= 5, out.getvalue()
    assert set(said) <= {"slow build: still running (0s)", "slow build: still running (1s)"}
    out.truncate(0)
    runner.run([sys.executable, "-c", "import time; time.sleep(0.7)"], echo=False)
    assert "still running" not in out.getvalue()
    with pytest.raises(CommandError, match=r"did not finish within 0\.7s"):
        runner.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.7)


def test_a_hanging_command_is_stopped() -> None:
    runner = Runner()
    with pytest.raises(CommandError, match=r"did not finish within 0\.5s"):
        runner.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_a_background_command_logs_to_its_file_and_stops(tmp_path: Path) -> None:
    runner = Runner()
    log = tmp_path / "server.log"
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('bye', flush=True), sys.exit(3)))\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = runner.start([sys.executable, "-c", script], log=log)
    deadline = time.monotonic() + 20
    while "up" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not started.exited()
    started.stop(timeout=20)
    assert started.exited() and started.process.returncode == 3
    assert log.read_text() == "up\nbye\n"
    with pytest.raises(CommandError, match="could not be started"):
        runner.start([sys.executable], log=tmp_path / "missing" / "x.log")
