"""Unit tests are pure: no subprocess, no network."""

from __future__ import annotations

import socket
import subprocess

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
def cli(repo_root, monkeypatch):
    """Runs ``publisher ARGS`` in-process from the repository root, with only ``env``."""
    monkeypatch.chdir(repo_root)

    def run(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)

    return run
