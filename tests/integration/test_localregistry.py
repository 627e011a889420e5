"""A throwaway registry outlives a run killed with SIGKILL; the next run stops it.

Real processes: a Python process starts a registry (as a rehearsal does) and kills
itself with SIGKILL; its registry keeps serving. The next process that starts a
registry stops that one and removes its directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require_tool

pytestmark = pytest.mark.integration

KILLED = """
import os, signal
from publisher.adapters.localregistry import LocalRegistry
registry = LocalRegistry().start()
print(registry.host, registry.log_path.parent, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

INTERRUPTED = """
import signal
from publisher.adapters.localregistry import LocalRegistry
def interrupt(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 1.0)
try:
    LocalRegistry().start()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""

NEXT = """
from publisher.adapters.localregistry import LocalRegistry
with LocalRegistry() as registry:
    print(registry.host, flush=True)
"""


def answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=2):
            return True
    except OSError:
        return False


def run(code: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_registry_a_killed_run_left_serving_is_stopped_by_the_next_run(tmp_path: Path) -> None:
    require_tool("docker-registry", "registry")
    killed = run(KILLED, tmp_path)
    assert killed.returncode == -9, killed.stderr
    host, root = killed.stdout.split()
    try:
        assert answers(host), "a registry outlives the run killed with SIGKILL"
        assert Path(root).is_dir()
        following = run(NEXT, tmp_path)
        assert following.returncode == 0, following.stderr
        assert not answers(host)
        assert not Path(root).exists()
        assert list(tmp_path.iterdir()) == []
    finally:
        if answers(host):  # stop the registry this test started, should the fix fail
            (config,) = Path(root).glob("config.y*ml")
            for pid in os.listdir("/proc"):
                with contextlib.suppress(OSError):
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if os.fsencode(str(config)) in argv:
                        os.kill(int(pid), 9)


def test_a_registry_interrupted_while_it_starts_is_stopped_and_removed(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) while a throwaway registry starts, before ``start`` returns
    it to be stopped later: it is stopped there, and its directory removed."""
    real = require_tool("docker-registry", "registry")
    slow = tmp_path / "bin"
    slow.mkdir()
    wrapper = slow / Path(real).name
    wrapper.write_text(f'#!/bin/sh\nsleep 3\nexec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    work = tmp_path / "tmp"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "PATH": f"{slow}{os.pathsep}{os.environ['PATH']}"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", INTERRUPTED], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.stdout.strip() == "interrupted", done.stderr
        assert _serving_from(work) == [], "the registry outlives the interrupted start"
        assert list(work.iterdir()) == []
    finally:
        for pid in _serving_from(work):  # should the fix fail: stop what this test started
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def _serving_from(directory: Path) -> list[int]:
    """The processes whose command line names a file under ``directory``."""
    found = []
    for pid in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if any(os.fsencode(str(directory)) in arg for arg in argv):
                found.append(int(pid))
    return found
