"""A CommandRunner for unit tests: records argv, answers from a script, runs nothing."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from publisher.adapters.output import Output
from publisher.adapters.runner import INSTALL_HINTS, Completed, command_failed
from publisher.core.errors import ToolMissingError

Answer = Completed | Callable[["Call"], Completed]


@dataclass
class Call:
    argv: tuple[str, ...]
    stdin: str | None
    env: dict[str, str]
    cwd: str | None
    check: bool
    secrets: tuple[str, ...]


def ok(stdout: str = "", stderr: str = "") -> Completed:
    return Completed(argv=(), returncode=0, stdout=stdout, stderr=stderr)


def fail(returncode: int = 1, stdout: str = "", stderr: str = "") -> Completed:
    return Completed(argv=(), returncode=returncode, stdout=stdout, stderr=stderr)


@dataclass
class FakeRunner:
    """``tools`` maps names to paths (``which``); ``on(prefix, answer)`` scripts replies."""

    tools: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stream: io.StringIO = field(default_factory=io.StringIO)
    output: Output = field(init=False)
    calls: list[Call] = field(default_factory=list)
    _answers: list[tuple[tuple[str, ...], Answer]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.output = Output(env={}, stream=self.stream, err_stream=self.stream)

    def on(self, prefix: Sequence[str], answer: Answer) -> FakeRunner:
        self._answers.append((tuple(prefix), answer))
        return self

    def which(self, tool: str) -> str | None:
        if os.sep in tool:
            return tool if tool in self.tools.values() else None
        return self.tools.get(tool)

    def require(self, tool: str, *, hint: str | None = None) -> str:
        path = self.which(tool)
        if path is None:
            name = os.path.basename(tool)
            raise ToolMissingError(
                f"{name} is required but was not found on PATH",
                hint=hint or INSTALL_HINTS.get(name, f"install {name}"),
            )
        return path

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Any = None,
        check: bool = True,
        timeout: float | None = None,
        secrets: Sequence[str] = (),
        echo: bool = True,
        what: str | None = None,
        hint: str | None = None,
    ) -> Completed:
        call = Call(
            tuple(str(a) for a in argv),
            stdin,
            dict(env or {}),
            str(cwd) if cwd else None,
            check,
            tuple(secrets),
        )
        self.calls.append(call)
        self.require(call.argv[0])
        answer: Answer = ok()
        for prefix, candidate in self._answers:
            if call.argv[: len(prefix)] == prefix:
                answer = candidate
                break
        result = answer(call) if callable(answer) else answer
        result = Completed(call.argv, result.returncode, result.stdout, result.stderr)
        if check and not result.ok:
            raise command_failed(result, what or call.argv[0], self.output.redact, hint)
        return result

    def argvs(self, containing: str | None = None) -> list[tuple[str, ...]]:
        return [c.argv for c in self.calls if containing is None or containing in c.argv]
