"""A Runner for unit tests: records each call and answers from a script; runs nothing.

``FakeRunner`` is a ``Runner``: echo, redaction, the guard against secrets in argv,
``check`` and its CommandError are Runner's own code. Only the two things that
touch the machine are scripted: which tools exist (``tools``) and what a
process answers (``on``).
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from publisher.adapters.output import Output
from publisher.adapters.runner import Completed, Runner

Answer = Completed | Callable[["Call"], Completed]


@dataclass
class Call:
    """A ``run`` as the caller asked for it (``env`` only what the call added)."""

    argv: tuple[str, ...]
    stdin: str | None
    env: dict[str, str]
    cwd: str | None
    check: bool
    secrets: tuple[str, ...]
    #: made through ``Runner.cleanup`` (still runs while publisher is stopping)
    cleanup: bool = False


def ok(stdout: str = "", stderr: str = "") -> Completed:
    return Completed(argv=(), returncode=0, stdout=stdout, stderr=stderr)


def fail(returncode: int = 1, stdout: str = "", stderr: str = "") -> Completed:
    return Completed(argv=(), returncode=returncode, stdout=stdout, stderr=stderr)


@dataclass
class FakeRunner(Runner):
    """``tools`` maps names to paths (``which``); ``on(prefix, answer)`` scripts replies
    (the first matching prefix answers; an unscripted command succeeds silently)."""

    tools: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stream: io.StringIO = field(default_factory=io.StringIO)
    calls: list[Call] = field(default_factory=list)
    _answers: list[tuple[tuple[str, ...], Answer]] = field(default_factory=list)
    _running: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        self.output = Output(env={}, stream=self.stream, err_stream=self.stream)
        self.spawn = self._answer

    def on(self, prefix: Sequence[str], answer: Answer) -> FakeRunner:
        self._answers.append((tuple(prefix), answer))
        return self

    def which(self, tool: str) -> str | None:
        if os.sep in tool:
            return tool if tool in self.tools.values() else None
        return self.tools.get(tool)

    def run(self, argv: Sequence[str], **options: Any) -> Completed:
        """Record the call, then ``Runner.run`` it; the script stands in for the process."""
        cwd = options.get("cwd")
        call = Call(
            tuple(str(a) for a in argv),
            options.get("stdin"),
            dict(options.get("env") or {}),
            str(cwd) if cwd else None,
            options.get("check", True),
            tuple(options.get("secrets", ())),
            bool(options.get("cleanup", False)),
        )
        self.calls.append(call)
        self._running.call = call
        return super().run(argv, **options)

    def _answer(self, command: list[str], **_process: Any) -> subprocess.CompletedProcess[str]:
        call: Call = self._running.call
        answer: Answer = ok()
        for prefix, candidate in self._answers:
            if call.argv[: len(prefix)] == prefix:
                answer = candidate
                break
        result = answer(call) if callable(answer) else answer
        return subprocess.CompletedProcess(command, result.returncode, result.stdout, result.stderr)

    def argvs(self, containing: str | None = None) -> list[tuple[str, ...]]:
        return [c.argv for c in self.calls if containing is None or containing in c.argv]

    def cleanups(self) -> list[tuple[str, ...]]:
        """The commands made through ``Runner.cleanup``, in order."""
        return [c.argv for c in self.calls if c.cleanup]
