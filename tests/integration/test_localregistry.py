"""A throwaway registry outlives a run killed with SIGKILL; the next run stops it.

Real processes: a Python process starts a registry (as a rehearsal does) and kills
itself with SIGKILL; its registry keeps serving. The next process that starts a
registry stops that one and removes its directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from publisher.adapters import localregistry
from publisher.adapters.localregistry import LocalRegistry
from publisher.core.errors import ToolMissingError
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


def _catalog(registry: LocalRegistry) -> list[str]:
    with urllib.request.urlopen(f"{registry.url}/v2/_catalog", timeout=5) as answer:
        return list(json.load(answer)["repositories"])


def _holds(registry: LocalRegistry, blob: str) -> bool:
    ask = urllib.request.Request(f"{registry.url}/v2/theirs/blobs/{blob}", method="HEAD")
    try:
        with urllib.request.urlopen(ask, timeout=5):
            return True
    except urllib.error.HTTPError as answer:
        assert answer.code == 404
        return False


def _picking(monkeypatch: pytest.MonkeyPatch, first: int) -> None:
    """The next port picked is ``first`` (as when another process takes the port between
    the pick and the registry's own bind), then free ones."""
    picks = iter([first])
    real = localregistry.free_port
    monkeypatch.setattr(localregistry, "free_port", lambda: next(picks, None) or real())


def test_a_registry_whose_port_another_registry_took_serves_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another test suite's registry takes the port this one picked: this one must not
    take the other's answers for its own (and read its content), but move on."""
    require_tool("docker-registry", "registry")
    with LocalRegistry() as other:
        blob = b"someone else's content"
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        start = urllib.request.Request(f"{other.url}/v2/theirs/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=5) as started:
            session = started.headers["Location"]
        finish = urllib.request.Request(
            f"{session}&digest={digest}",
            data=blob,
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(finish, timeout=5):
            pass
        assert _holds(other, digest)
        _picking(monkeypatch, other.port)
        with LocalRegistry() as mine:
            assert mine.port != other.port
            assert not _holds(mine, digest)
            assert _holds(other, digest)


def test_a_registry_whose_port_another_process_holds_serves_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_tool("docker-registry", "registry")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        _picking(monkeypatch, held)
        with LocalRegistry() as mine:
            assert mine.port != held
            assert _catalog(mine) == []


def test_a_registry_given_a_port_another_registry_answers_on_is_refused() -> None:
    require_tool("docker-registry", "registry")
    with LocalRegistry() as other:
        with pytest.raises(ToolMissingError, match="another registry answers there"):
            LocalRegistry(port=other.port).start()
        assert _catalog(other) == []
