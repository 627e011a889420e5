"""Unit tests are pure: no subprocess, no network."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main


class PurityViolation(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbid(*args: object, **kwargs: object) -> None:
        raise PurityViolation(f"unit tests must not run subprocesses or open sockets: {args[:1]!r}")

    monkeypatch.setattr(subprocess, "Popen", forbid)
    monkeypatch.setattr(socket, "create_connection", forbid)
    monkeypatch.setattr(socket.socket, "connect", forbid)


@pytest.fixture
def no_host_binfmt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Do not depend on this machine's QEMU setup: no binfmt_misc is mounted (a test that
    needs one sets its own)."""
    from publisher.adapters import emulation

    monkeypatch.setattr(emulation, "BINFMT_DIR", tmp_path / "binfmt-not-mounted")


@pytest.fixture
def cli(repo_root, monkeypatch):
    """Runs ``publisher ARGS`` in-process from the repository root, with only ``env``."""
    monkeypatch.chdir(repo_root)

    def run(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)

    return run


@pytest.fixture
def user_without_subids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """This process runs as uid 4242, which has no subordinate ID range of its own (the
    ranges belong to someone else), so buildah cannot run rootless. The returned function
    changes the uid the builders see (0: root, which needs no range)."""
    from publisher.adapters.builders import buildah

    ranges = tmp_path / "subids"
    ranges.write_text("someone-else:100000:65536\n")
    monkeypatch.setattr(buildah, "SUBUID", ranges)
    monkeypatch.setattr(buildah, "SUBGID", ranges)

    def become(uid: int) -> None:
        monkeypatch.setattr(buildah.os, "geteuid", lambda: uid)

    become(4242)
    return become
