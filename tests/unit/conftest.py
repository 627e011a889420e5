"""Unit tests are pure: no subprocess, no network."""

from __future__ import annotations

import socket
import subprocess

import pytest


class PurityViolation(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbid(*args: object, **kwargs: object) -> None:
        raise PurityViolation(f"unit tests must not run subprocesses or open sockets: {args[:1]!r}")

    monkeypatch.setattr(subprocess, "Popen", forbid)
    monkeypatch.setattr(socket, "create_connection", forbid)
    monkeypatch.setattr(socket.socket, "connect", forbid)
