"""The one way to run a subprocess: echo, redaction, tool lookup, failure tails, stdin secrets.

The process spawner is injected, so nothing runs here (the unit guard forbids it).
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters import runner as runner_module
from publisher.adapters.output import Output
from publisher.adapters.runner import (
    CLEANUP_TIMEOUT,
    Completed,
    LostTrack,
    Runner,
    format_argv,
    tail,
)
from publisher.core.errors import CommandError, ToolMissingError

PYTHON = sys.executable
SECRET = "s3cret-Passw0rd-xyz"


class Spawn:
    """Stands in for subprocess.run: records its arguments, returns a scripted result."""

    def __init__(
        self, returncode: int = 0, stdout: str = "", stderr: str = "", exc: Exception | None = None
    ) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.exc = exc
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        if self.exc is not None:
            raise self.exc
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def make(spawn: Spawn, *, debug: bool = False) -> tuple[Runner, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    output = Output(env={}, stream=out, err_stream=err, debug=debug)
    return Runner(output=output, env={"PATH": "/nonexistent", "KEEP": "1"}, spawn=spawn), out, err


def test_echoes_the_command_before_running_it() -> None:
    spawn = Spawn(stdout="hello\n")
    runner, out, err = make(spawn)
    result = runner.run([PYTHON, "-c", "print('hello world')"])
    # progress, on stderr: stdout carries a command's result alone
    assert err.getvalue().strip() == f"+ {PYTHON} -c 'print('\"'\"'hello world'\"'\"')'"
    assert out.getvalue() == ""
    assert result.ok and result.stdout == "hello\n"
    assert result.argv == (PYTHON, "-c", "print('hello world')")


@pytest.mark.parametrize("debug", [False, True])
def test_a_script_argument_is_echoed_as_its_first_line_and_whole_only_in_debug(
    debug: bool,
) -> None:
    """A script of many lines handed to ``sh -c`` would fill the log at every run: the echo
    keeps one line a command, ``--debug`` still shows every line of it."""
    script = "set -e\necho one\necho two\n"
    runner, out, err = make(Spawn(), debug=debug)
    runner.run([PYTHON, "-c", script, "probe"])
    echoed = [line for line in err.getvalue().splitlines() if line.startswith("+ ")]
    assert echoed == [f"+ {PYTHON} -c 'set -e …' (+2 lines) probe"]
    whole = f"debug: + {PYTHON} -c 'set -e\necho one\necho two\n' probe"
    assert (whole in err.getvalue()) is debug
    runner.run([PYTHON, "-c", "echo one"])
    assert err.getvalue().strip().splitlines()[-1] == f"+ {PYTHON} -c 'echo one'"
    assert out.getvalue() == ""


def test_a_secret_in_a_script_is_redacted_before_the_script_is_shortened() -> None:
    """The secret spans the line the short echo cuts at: it is redacted whole first."""
    secret = "first-half\nsecond-half"
    spawn = Spawn()
    runner, out, err = make(spawn, debug=True)
    runner.output.mask(secret)
    runner.run([PYTHON, "-c", f"x={secret}\ny=1"])
    shown = out.getvalue() + err.getvalue()
    assert "first-half" not in shown and "second-half" not in shown
    assert f"+ {PYTHON} -c 'x=*** …' (+1 line)" in err.getvalue()


def test_secrets_go_through_stdin_and_are_redacted_everywhere() -> None:
    spawn = Spawn(returncode=1, stderr=f"login failed for password {SECRET}\n")
    runner, out, err = make(spawn)
    with pytest.raises(CommandError) as caught:
        runner.run(
            [PYTHON, "login", "--password-stdin", "registry.example"],
            stdin=SECRET + "\n",
            secrets=[SECRET],
        )
    argv, kwargs = spawn.calls[0]
    assert kwargs["input"] == SECRET + "\n"
    assert SECRET not in " ".join(argv)
    assert SECRET not in out.getvalue() + err.getvalue()
    assert SECRET not in caught.value.message
    assert SECRET not in caught.value.output
    assert "***" in caught.value.message


@pytest.mark.parametrize(
    "argv",
    [
        [f"--password={SECRET}"],
        ["--password", SECRET],
        ["-p", SECRET],
        [f"https://alice:{SECRET}@registry.example"],
    ],
)
def test_a_secret_in_argv_is_refused(argv: list[str]) -> None:
    runner, _, _ = make(Spawn())
    with pytest.raises(ValueError, match="stdin"):
        runner.run([PYTHON, *argv], secrets=[SECRET])


def test_a_weak_password_that_equals_a_word_of_the_command_is_no_secret_in_argv() -> None:
    """admin/admin, or the password "local" on localhost: the login runs (its password
    through stdin), instead of an internal error."""
    spawn = Spawn()
    runner, _, _ = make(spawn)
    argv = [PYTHON, "login", "--username", "admin", "--password-stdin", "localhost:5000"]
    runner.run(argv, stdin="admin\n", secrets=["admin"])
    runner.run(argv, stdin="local\n", secrets=["local"])
    assert len(spawn.calls) == 2


def test_failure_shows_the_tail_of_the_output_and_how_to_rerun() -> None:
    lines = "".join(f"line {i}\n" for i in range(100))
    runner, _, _ = make(Spawn(returncode=3, stdout=lines, stderr="fatal: boom\n"))
    with pytest.raises(CommandError) as caught:
        runner.run([PYTHON, "build", "."], what="buildah build (PHP 8.4, linux/arm64)")
    message = caught.value.message
    assert message.startswith("`buildah build (PHP 8.4, linux/arm64)` failed with exit status 3")
    assert "fatal: boom" in message
    assert "line 99" in message
    assert "line 10\n" not in message  # only the tail
    assert caught.value.exit_code == 11
    assert caught.value.hint is not None and "build ." in caught.value.hint
    assert "line 0" in caught.value.output  # the whole output is kept on the error


def test_check_false_returns_the_failure() -> None:
    runner, _, _ = make(Spawn(returncode=2, stderr="nope"))
    result = runner.run([PYTHON, "x"], check=False)
    assert not result.ok and result.returncode == 2 and result.output == "nope"


def test_a_missing_tool_says_how_to_install_it() -> None:
    spawn = Spawn()
    runner, _, _ = make(spawn)
    with pytest.raises(ToolMissingError) as caught:
        runner.run(["buildah", "build", "."])
    assert "buildah is required but was not found on PATH" in caught.value.message
    assert caught.value.hint is not None and "apt-get install buildah" in caught.value.hint
    assert caught.value.exit_code == 10
    assert spawn.calls == []


def test_a_missing_absolute_path_is_reported() -> None:
    runner, _, _ = make(Spawn())
    with pytest.raises(ToolMissingError, match="does not exist"):
        runner.require("/nonexistent/bin/docker")


def test_a_tool_that_is_not_executable_gets_a_chmod_that_pastes(tmp_path) -> None:
    """Its path holds a space: the `chmod +x` of the tip quotes it."""
    runner, _, _ = make(Spawn())
    tool = tmp_path / "my tools" / "buildah"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o644)
    with pytest.raises(ToolMissingError) as caught:
        runner.require(str(tool))
    assert f"`chmod +x '{tool}'`" in (caught.value.hint or "")


def test_environment_is_merged_and_stdin_closed_without_input() -> None:
    spawn = Spawn()
    runner, _, _ = make(spawn)
    runner.run([PYTHON, "-V"], env={"DOCKER_BUILDKIT": "1"}, cwd="/tmp")
    _, kwargs = spawn.calls[0]
    assert kwargs["env"]["DOCKER_BUILDKIT"] == "1" and kwargs["env"]["KEEP"] == "1"
    assert kwargs["stdin"] is subprocess.DEVNULL and kwargs["input"] is None
    assert kwargs["cwd"] == "/tmp" and kwargs["capture_output"] is True


def test_quiet_probes_are_echoed_only_in_debug_mode() -> None:
    runner, out, err = make(Spawn(stdout="1.28.2"), debug=True)
    runner.run([PYTHON, "--version"], echo=False)
    assert out.getvalue() == ""
    assert not [line for line in err.getvalue().splitlines() if line.startswith("+ ")]
    assert f"debug: + {PYTHON} --version" in err.getvalue()
    assert "1.28.2" in err.getvalue()


def test_timeout_becomes_a_command_error_with_partial_output() -> None:
    exc = subprocess.TimeoutExpired(["x"], 5, output=b"partial progress\n")
    runner, _, _ = make(Spawn(exc=exc))
    with pytest.raises(CommandError, match="did not finish within 5 s") as caught:
        runner.run([PYTHON, "hang"], timeout=5)
    assert "partial progress" in caught.value.output
    assert caught.value.hint == "the command hung; its last output is shown above"


def test_a_timeout_without_output_says_it_printed_nothing() -> None:
    runner, _, _ = make(Spawn(exc=subprocess.TimeoutExpired(["x"], 5)))
    with pytest.raises(CommandError, match="did not finish within 5 s") as caught:
        runner.run([PYTHON, "hang"], timeout=5)
    assert caught.value.hint == "the command hung; it printed nothing"


def test_a_binary_that_cannot_start_is_a_command_error() -> None:
    runner, _, _ = make(Spawn(exc=PermissionError(13, "Permission denied")))
    with pytest.raises(CommandError, match="could not be started: Permission denied"):
        runner.run([PYTHON, "x"])


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (OSError(24, "Too many open files"), "too many open files (the limit is"),
        (OSError(23, "Too many open files in system"), "too many open files on this system"),
        (BlockingIOError(11, "Resource temporarily unavailable"), "threads and processes"),
        (OSError(12, "Cannot allocate memory"), "threads and processes"),
    ],
)
def test_a_command_the_machine_s_limits_keep_from_starting_is_said_as_that_limit(
    exc: OSError, said: str
) -> None:
    """Out of files (EMFILE, ENFILE) or of processes (EAGAIN, ENOMEM from fork) as the
    command starts: the limit (exit 18), not the tool; a probe does not call it broken."""
    for call in ("run", "probe"):
        runner, _, _ = make(Spawn(exc=exc))
        with pytest.raises(CommandError) as caught:
            getattr(runner, call)([PYTHON, "--version"], what="buildah --version")
        assert not isinstance(caught.value, ToolMissingError)
        assert caught.value.exit_code == 18 and caught.value.label == "resource limit"
        assert caught.value.message.startswith("cannot start `buildah --version`: ")
        assert said in caught.value.message
        assert caught.value.hint is not None and "executable" not in caught.value.hint


def test_a_command_lost_track_of_after_it_started_is_not_said_not_to_start() -> None:
    """The spawner's wait failed once the process existed (``LostTrack``, pid 4321): the
    error says it was started and stopped, and its hint does not blame the tool."""
    lost = LostTrack(4321, OSError(22, "Invalid argument"))
    runner, _, _ = make(Spawn(exc=lost))
    with pytest.raises(CommandError) as caught:
        runner.run([PYTHON, "build"], what="buildah build", hint="check the Containerfile")
    assert caught.value.message == (
        "`buildah build` was started (pid 4321), but publisher lost track of it while "
        "waiting for it: Invalid argument; the command was stopped"
    )
    assert caught.value.exit_code == 11
    assert caught.value.hint is not None and "executable" not in caught.value.hint
    assert "faketime" in caught.value.hint


def test_a_probe_lost_track_of_does_not_call_the_tool_broken() -> None:
    """A probe whose tool cannot start is a broken tool (exit 10); one publisher lost track
    of after it started is no sign of that (exit 11, the message above)."""
    runner, _, _ = make(Spawn(exc=LostTrack(4321, OSError(22, "Invalid argument"))))
    with pytest.raises(CommandError, match=r"was started \(pid 4321\)") as caught:
        runner.probe([PYTHON, "--version"])
    assert not isinstance(caught.value, ToolMissingError) and caught.value.exit_code == 11
    runner, _, _ = make(Spawn(exc=PermissionError(13, "Permission denied")))
    with pytest.raises(ToolMissingError, match="could not be started: Permission denied"):
        runner.probe([PYTHON, "--version"])


@pytest.mark.parametrize(
    ("spawn", "signalled"),
    [
        (Spawn(returncode=1, stderr="exit status 3\n"), False),  # exited of its own accord
        (Spawn(returncode=125), False),
        (Spawn(returncode=-9), True),  # killed by another process (the OOM killer)
        (Spawn(returncode=-15), True),
        (Spawn(exc=subprocess.TimeoutExpired("build", 60)), True),  # killed at its timeout
        (Spawn(exc=LostTrack(4321, OSError(22, "Invalid argument"))), True),  # stopped
        (Spawn(exc=KeyboardInterrupt()), True),  # the waiting thread interrupted: stopped
        (Spawn(exc=PermissionError(13, "Permission denied")), False),  # never started
    ],
    ids=["exit-1", "exit-125", "sigkill", "sigterm", "timeout", "lost", "interrupt", "unstarted"],
)
def test_a_command_ended_by_a_signal_is_told_from_one_that_exited(
    spawn: Spawn, signalled: bool
) -> None:
    """``ended_by_signal``: a command that exited, however it failed, did its own tidying
    up; one killed, by publisher or another process, may have left what it tidies."""
    runner, _, _ = make(spawn)
    with pytest.raises(BaseException) as caught:
        runner.run([PYTHON, "build"], what="buildah build")
    assert runner_module.ended_by_signal(caught.value) is signalled


def test_every_failure_while_publisher_stops_counts_as_ended_by_a_signal() -> None:
    runner, _, _ = make(Spawn(returncode=1))
    with pytest.raises(CommandError) as caught:
        runner.run([PYTHON, "build"])
    assert not runner_module.ended_by_signal(caught.value)
    runner_module.stop_children()  # what the signal handler does
    try:
        assert runner_module.ended_by_signal(caught.value)
    finally:
        runner_module.allow_children()


def test_a_cleanup_is_bounded_quiet_and_marked_for_the_spawner() -> None:
    spawn = Spawn(returncode=1, stderr="no such container\n")
    runner, out, err = make(spawn)
    result = runner.cleanup([PYTHON, "rm", "c1"])
    assert not result.ok and "no such container" in result.output  # failure returned, not raised
    [(_argv, kwargs)] = spawn.calls
    assert kwargs["cleanup"] is True and kwargs["timeout"] == CLEANUP_TIMEOUT
    assert out.getvalue() == "" and err.getvalue() == ""  # shown with --debug only
    runner.run([PYTHON, "build"], check=False)
    assert spawn.calls[-1][1]["cleanup"] is False and spawn.calls[-1][1]["timeout"] is None


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (subprocess.TimeoutExpired(["x"], 2), "did not finish within 2 s"),
        (PermissionError(13, "Permission denied"), "could not be started: Permission denied"),
        (OSError(24, "Too many open files"), "too many open files (the limit is"),
        (BlockingIOError(11, "Resource temporarily unavailable"), "threads and processes"),
    ],
)
def test_a_cleanup_that_hangs_or_cannot_start_never_raises(exc: Exception, said: str) -> None:
    """A cleanup runs in a ``finally``: raising would replace the error being reported."""
    runner, _, _ = make(Spawn(exc=exc))
    result = runner.cleanup([PYTHON, "rm", "c1"], timeout=2)
    assert not result.ok and said in result.stderr


def test_still_running_lines_name_the_step_and_its_time() -> None:
    """The spawner is handed how often to say so, and what it says (echoed commands only)."""
    spawn = Spawn()
    runner, out, err = make(spawn)
    runner.still_running_every = 42.0
    runner.run([PYTHON, "-V"], what="buildah build (PHP 8.4, linux/arm64)")
    every, say = spawn.calls[0][1]["still_running"]
    assert every == 42.0
    for seconds in (59.9, 185.0, 3725.0):
        say(seconds)
    assert out.getvalue() == ""  # progress, on stderr
    assert err.getvalue().splitlines()[1:] == [
        "buildah build (PHP 8.4, linux/arm64): still running (59 s)",
        "buildah build (PHP 8.4, linux/arm64): still running (3 min 05 s)",
        "buildah build (PHP 8.4, linux/arm64): still running (1 h 02 min)",
    ]
    runner.run([PYTHON, "-V"], echo=False)
    assert spawn.calls[1][1]["still_running"] is None


def test_format_and_tail_helpers() -> None:
    assert format_argv(["a b", "c"]) == "'a b' c"
    assert tail("a\nb\nc\n", lines=2) == "b\nc"
    assert tail("x" * 100, lines=5, chars=10) == "…" + "x" * 10
    done = Completed(("a",), 0, stdout="out\n", stderr="err\n")
    assert done.output == "out\nerr"


class LosingProcess:
    """Stands in for the ``Popen`` that ``run_tracked`` spawns: pid 4321 runs past its
    timeout, then reading the rest of its output fails as time.sleep does under faketime."""

    pid = 4321
    returncode = -9
    stdin = stdout = stderr = None

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        self.args = argv
        self.signals: list[int] = []
        LosingProcess.last = self

    last: LosingProcess | None = None

    def __enter__(self) -> LosingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def communicate(self, input: str | None = None, timeout: float | None = None) -> Any:
        if signal.SIGKILL in self.signals:  # the drain after the timeout's kill
            raise OSError(22, "Invalid argument")
        raise subprocess.TimeoutExpired(self.args, timeout or 0)

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode


def test_a_timed_out_command_whose_output_cannot_be_read_is_lost_track_of(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timeout's kill went out, then reading what the command left failed (an
    OSError): the command was started and lost track of, not "could not be started"."""

    def killpg(pid: int, sig: int) -> None:
        assert pid == 4321 and LosingProcess.last is not None
        LosingProcess.last.signals.append(sig)

    monkeypatch.setattr(runner_module.subprocess, "Popen", LosingProcess)
    monkeypatch.setattr(runner_module.os, "killpg", killpg)
    runner = Runner(output=Output(env={}, quiet=True), env={"PATH": "/nonexistent"})
    with pytest.raises(CommandError) as caught:
        runner.run([PYTHON, "build"], what="buildah build", timeout=0.05)
    assert caught.value.message == (
        "`buildah build` was started (pid 4321), but publisher lost track of it while "
        "waiting for it: Invalid argument; the command was stopped"
    )
    assert caught.value.exit_code == 11
    assert LosingProcess.last is not None and LosingProcess.last.signals[0] == signal.SIGKILL


def test_a_throwaway_registry_in_a_full_tmpdir_is_said_as_a_full_tmpdir_not_unreachable(
    tmp_path: Path,
) -> None:
    """A rehearsal's registry that kept answering 500 "no space left on device" for the
    directory it keeps its images in (under TMPDIR): a full TMPDIR, exit 18, as the README
    has it for rehearsals, never "registry unreachable" (exit 7)."""
    from publisher.adapters.localregistry import REGISTRY_PREFIX, out_of_room_under
    from publisher.core.errors import UnreachableError

    where = tmp_path / f"{REGISTRY_PREFIX}0.42-abcd1234"
    said = (
        "dockerhub (127.0.0.1:43687): upload blob sha256:5a1f: the registry kept failing "
        "(HTTP 500: UNKNOWN: No space left on device (filesystem: write "
        f"{where}/storage/docker/registry/v2/repositories/x/_uploads/1/data: no space left "
        "on device))"
    )
    full = out_of_room_under(UnreachableError(said, hint="check it"), "a throwaway registry")
    assert full is not None and full.exit_code == 18
    assert full.message.startswith(f"a throwaway registry ran out of room in {tmp_path} (")
    assert full.hint is not None and "point TMPDIR at a directory with more room" in full.hint
    # A registry of its own that is full (not publisher's throwaway one): not said so here.
    elsewhere = said.replace(str(where), "/var/lib/registry")
    assert out_of_room_under(UnreachableError(elsewhere, hint="h"), "a registry") is None
