"""``stop_children``: what the CLI's signal handler calls so that worker threads end."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from publisher.adapters import runner as runner_module
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core.errors import CommandError, StoppedError
from publisher.core.manifest import sha256_digest
from publisher.core.retry import RetryPolicy
from tests.support.faultproxy import Fault
from tests.support.images import make_image, raw_push_blob
from tests.support.stopping import stop_during

pytestmark = pytest.mark.integration

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_stop_children_ends_a_command_waited_for_on_another_thread() -> None:
    runner = Runner(output=Output(env={}, quiet=True))

    def refused_while_stopping() -> None:
        with pytest.raises(CommandError, match="publisher is stopping"):
            runner.run(SLEEPER, what="sleeper")

    caught = stop_during(
        lambda: runner.run(SLEEPER, what="sleeper"),
        lambda: bool(runner_module._live),
        within=5,
        while_stopping=refused_while_stopping,
    )
    assert len(caught) == 1 and isinstance(caught[0], CommandError), caught
    assert "`sleeper` failed with exit status -15" in str(caught[0])
    assert not runner_module._live


def _writer(marker: Path, after: float) -> list[str]:
    """A command that takes ``after`` seconds, then writes ``marker``."""
    code = f"import time, pathlib; time.sleep({after}); pathlib.Path({str(marker)!r}).write_text('done')"
    return [sys.executable, "-c", code]


def test_cleanup_commands_run_to_completion_while_stopping(tmp_path: Path) -> None:
    """The rule of an interrupted run: work commands end and new ones are refused, while
    cleanup (``Runner.cleanup``) already running or started afterwards finishes, bounded."""
    runner = Runner(output=Output(env={}, quiet=True))
    results: dict[str, object] = {}

    def work() -> None:
        results["work"] = runner.run(SLEEPER, check=False)

    def early_cleanup() -> None:
        results["early"] = runner.cleanup(_writer(tmp_path / "early", 1.5))

    threads = [threading.Thread(target=work), threading.Thread(target=early_cleanup)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not runner_module._live and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # both commands are running now
        started = time.monotonic()
        runner_module.stop_children()
        late = runner.cleanup(_writer(tmp_path / "late", 1.0))
        assert late.ok and (tmp_path / "late").read_text() == "done"
        with pytest.raises(CommandError, match="publisher is stopping"):
            runner.run(_writer(tmp_path / "work", 0))
        hung = runner.cleanup(SLEEPER, timeout=1)
        assert not hung.ok and "did not finish within 1 s" in hung.stderr
        for thread in threads:
            thread.join(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        runner_module.allow_children()
    assert (tmp_path / "early").read_text() == "done"
    assert results["early"].ok  # type: ignore[attr-defined]
    assert results["work"].returncode == -15  # type: ignore[attr-defined]
    assert not (tmp_path / "work").exists()
    assert not runner_module._live


def test_an_interrupt_of_the_waiting_thread_lets_the_cleanup_finish(tmp_path: Path) -> None:
    """The signal handler raises in the main thread; if that thread was waiting for a
    cleanup command, the command still finishes before the exception goes on."""

    class Interrupt(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupt()

    runner = Runner(output=Output(env={}, quiet=True))
    previous = signal.signal(signal.SIGALRM, handler)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupt):
            runner.cleanup(_writer(tmp_path / "marker", 1.0))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started >= 0.9
    assert (tmp_path / "marker").read_text() == "done"


def test_commands_run_outside_the_terminal_s_process_group(tmp_path: Path) -> None:
    """A second Ctrl-C reaches the terminal's foreground group, not a cleanup under way;
    each command leads a session of its own, so that what ends it ends its children."""
    runner = Runner(output=Output(env={}, quiet=True))
    code = "import os; print(os.getpid(), os.getpgid(0), os.getsid(0))"
    cleanup = runner.cleanup([sys.executable, "-c", code])
    work = runner.run([sys.executable, "-c", code])
    assert cleanup.ok and work.ok
    for result in (cleanup, work):
        pid, group, session = result.stdout.split()
        assert pid == group == session, result.stdout
        assert str(os.getpgid(0)) != group


def test_an_interrupted_run_stops_an_upload_between_two_pieces(
    registry, proxy_for, make_client, repo, tmp_path: Path
) -> None:
    """A worker thread uploading a blob over a slow link stops at the next piece once
    the run is stopping, instead of sending the rest (the main thread is unwinding and
    waits for it): the upload raises StoppedError and the blob never lands."""
    front = proxy_for(registry)
    # 16 MiB at 64 KiB per 0.1 s: about 26 s to send whole.
    front.add(Fault("throttle", path="/blobs/uploads/", stall_seconds=0.1, times=None))
    data = os.urandom(16 * 1024 * 1024)
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    digest = sha256_digest(data)
    client = make_client(front)
    began = time.monotonic()
    caught = stop_during(
        lambda: client.push_blob(repo, digest, blob),
        lambda: time.monotonic() - began > 1.0,  # the upload is under way
    )
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert "an upload stopped: publisher is stopping" in str(caught[0])
    assert not make_client(registry).blob_exists(repo, digest)


def test_an_interrupted_run_wakes_from_a_retry_wait_and_tries_no_more(
    registry, proxy_for, make_client, repo
) -> None:
    """A worker waiting 30 s before its next attempt (the registry answered 503)
    wakes once the run is stopping and makes no further request."""
    front = proxy_for(registry)
    front.add(Fault("status", status=503, times=None))
    patient = RetryPolicy(attempts=5, initial_delay=30.0, max_delay=30.0, total_timeout=600.0)
    client = make_client(front, retry=patient)
    caught = stop_during(lambda: client.list_tags(repo), lambda: bool(front.log))
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert len(front.log) == 1  # no attempt after the stop


def test_an_interrupted_run_stops_a_trickling_blob_download_at_once(
    registry, proxy_for, make_client, repo, tmp_path: Path
) -> None:
    """A blob that comes a byte at a time is read as it comes, not in whole pieces, so a
    stopping run ends it at the next byte rather than after the rest has trickled in."""
    data = os.urandom(8192)
    digest = sha256_digest(data)
    raw_push_blob(registry.url, repo, data)
    front = proxy_for(registry)
    front.add(Fault("drip", path="/blobs/sha256:", drip="body", stall_seconds=0.01, times=None))
    client = make_client(front)
    safety = threading.Timer(8.0, front.release)  # a client that waits it out gets it all
    safety.start()
    try:
        began = time.monotonic()
        caught = stop_during(
            lambda: client.download_blob(repo, digest, len(data), tmp_path / "blob"),
            lambda: time.monotonic() - began > 0.5,  # the download is under way
        )
        stopped = time.monotonic() - began
    finally:
        safety.cancel()
        front.release()
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert stopped < 2.0, stopped


@pytest.mark.parametrize(
    ("answer", "drip"),
    [("tags", "headers"), ("tags", "body"), ("an error", "body")],
)
def test_an_interrupted_run_ends_a_trickling_answer_at_once(
    registry, proxy_for, make_client, seed, repo, answer: str, drip: str
) -> None:
    """A worker reading an answer that trickles in (a tag list, an error) ends once the
    run is stopping, with the stop for its error: not after the request time limit (30 s
    here), nor with the rest of the answer."""
    if answer == "tags":
        seed(registry, repo, make_image(platforms=["linux/amd64"]).images[0], ["1"])
    front = proxy_for(registry)
    front.add(Fault("drip", path="/tags/list", drip=drip, stall_seconds=0.05, times=None))
    client = make_client(front, timeout=30.0)
    safety = threading.Timer(8.0, front.release)  # a client that waits it out gets it all
    safety.start()
    try:
        began = time.monotonic()
        caught = stop_during(
            lambda: client.list_tags(repo),
            lambda: time.monotonic() - began > 0.5 and bool(front.log),  # it is trickling
        )
        stopped = time.monotonic() - began
    finally:
        safety.cancel()
        front.release()
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert "stopped: publisher is stopping" in caught[0].message
    assert stopped < 2.0, stopped
    assert len(front.log) == 1  # no attempt after the stop


def test_an_interrupted_run_ends_a_blob_download_whose_body_has_stopped_coming(
    registry, proxy_for, make_client, repo, tmp_path: Path
) -> None:
    """A blob's body has no time limit, and one that sends nothing more leaves its read
    waiting up to the request time limit: a stopping run ends it at once all the same."""
    data = os.urandom(4096)
    digest = sha256_digest(data)
    raw_push_blob(registry.url, repo, data)
    front = proxy_for(registry)
    front.add(Fault("drip", path="/blobs/sha256:", drip="body", stall_seconds=60, times=None))
    client = make_client(front, timeout=30.0)
    try:
        began = time.monotonic()
        caught = stop_during(
            lambda: client.download_blob(repo, digest, len(data), tmp_path / "blob"),
            lambda: time.monotonic() - began > 0.5 and bool(front.log),  # the headers came
        )
        stopped = time.monotonic() - began
    finally:
        front.release()
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert stopped < 2.0, stopped


def test_an_interrupted_run_ends_an_upload_whose_registry_reads_no_more_at_once(
    registry, proxy_for, make_client, repo
) -> None:
    """A registry that takes an upload's headers, then reads no more of its body, leaves
    the sender blocked in one socket write (up to the request time limit, 30 s here): a
    stopping run ends it at once all the same, with the stop, and the blob never lands."""
    front = proxy_for(registry)
    held = Fault("stall", method="PUT", path="/blobs/uploads/", times=None, stall_seconds=120)
    front.add(held)
    data = os.urandom(48 * 1024 * 1024)  # more than the socket buffers hold
    digest = sha256_digest(data)
    client = make_client(front, timeout=30.0)
    try:
        began = time.monotonic()
        caught = stop_during(
            lambda: client.push_blob(repo, digest, data),
            lambda: held.fired == 1 and time.monotonic() - began > 1.0,  # the body is stuck
        )
        stopped = time.monotonic() - began
    finally:
        front.release()
    assert len(caught) == 1 and isinstance(caught[0], StoppedError), caught
    assert "an upload stopped: publisher is stopping" in str(caught[0])
    assert stopped < 3.0, stopped
    assert not make_client(registry).blob_exists(repo, digest)
