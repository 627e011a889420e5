"""The one way publisher runs a subprocess.

``Runner.run`` echoes the command (``+ buildah build ...``) through
``Output.command`` with secrets redacted, finds the binary or raises
``ToolMissingError`` saying how to install it, captures the output and shows its
tail in ``CommandError`` when the command fails. Secrets reach a subprocess only
through stdin (``--password-stdin``) or the environment a caller gives it, never through
argv; the variables matrix.yaml reads credentials from (``withhold``) are in no command's
environment unless a caller gives them.

``Runner.start`` starts a long-running command in the background (the
throwaway loopback registry), its output going to a log file, and returns a
``Background`` to stop it with.

When the run is interrupted (Ctrl-C, SIGTERM, SIGHUP), the CLI calls
``stop_children``. From then on there are two kinds of command:

* work (``run``, ``start``): every one running is terminated, in whatever
  thread it runs, and new ones are refused with CommandError, so that build
  legs on worker threads end quickly;
* cleanup (``Runner.cleanup``: removing a container or a temporary image,
  logging out): it still starts, ``stop_children`` leaves it alone, and it runs
  to completion within ``CLEANUP_TIMEOUT`` seconds (then it is killed). It never
  raises for its own failure, so it cannot replace the exception being unwound.

Every ``finally`` that tidies up with a command uses ``cleanup``; temporary
files are removed in Python, which nothing stops.

Every command runs in its own session, and whatever ends it (its timeout, a stop,
an interrupt of the waiting thread) signals its whole process group: a tool that is a
wrapper script ends with the children it started, which would otherwise live on and
hold its output pipes open. The terminal's Ctrl-C reaches publisher alone, and
publisher stops its commands as above.

An ``OSError`` before the process exists (no such file, not executable) is a
command that "could not be started"; one after it started (the wait for it or a
read of its pipes failing in publisher's own process, as ``time.sleep`` does under
faketime with ``DONT_FAKE_MONOTONIC=1``) is ``LostTrack``: the command is stopped
(its group signalled, as on a timeout) and the error says it was started, with its
pid, instead of blaming the tool.

Builders, the smoke test and the stand-in builder take a ``Runner``: unit tests
pass one whose tools and processes are scripted (it overrides ``which`` and
``spawn``, so echo, redaction and failures are this code). argv lists are built
by pure functions next to each adapter and unit-tested without running anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import (
    NO_SPACE,
    BrokenToolError,
    CommandError,
    FullFileSystemError,
    PublisherError,
    ResourceLimitError,
    ToolMissingError,
    free_space,
    out_of_files,
    out_of_room,
    out_of_tasks,
    quoted,
    shown_path,
)
from ..core.locations import shell_word
from ..core.sizes import seconds as in_seconds
from . import stop
from .output import Output

#: How to install each external tool publisher may call.
INSTALL_HINTS: dict[str, str] = {
    "buildah": "install buildah: `apt-get install buildah` (Debian/Ubuntu), `dnf install buildah` "
    "(Fedora); see https://github.com/containers/buildah/blob/main/install.md",
    "docker": "install Docker Engine: `apt-get install docker.io` (Debian/Ubuntu) or "
    "https://docs.docker.com/engine/install/ and make sure dockerd is running",
    "docker-buildx": "install the buildx plugin: `apt-get install docker-buildx` (Debian 13+/Ubuntu) "
    "or docker-buildx-plugin from Docker's apt repository; in GitHub Actions use "
    "docker/setup-buildx-action",
    "skopeo": "install skopeo: `apt-get install skopeo`",
    "apt-get": "run on Debian/Ubuntu, or set the busybox path variables the error names",
    "dpkg-deb": "install dpkg (Debian/Ubuntu), or set the busybox path variables the error names",
}

#: Lines of captured output shown when a command fails.
TAIL_LINES = 40
TAIL_CHARS = 6000


@dataclass(frozen=True)
class Completed:
    """A finished command: its argv, exit status and captured output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        """stdout then stderr, for messages."""
        parts = [p for p in (self.stdout, self.stderr) if p]
        return "\n".join(p.rstrip("\n") for p in parts)


#: The process spawner: ``run_tracked`` in real use, a fake in unit tests.
Spawn = Callable[..., "subprocess.CompletedProcess[str]"]

#: Seconds between SIGTERM and SIGKILL for the commands ``stop_children`` ends.
STOP_GRACE = 5.0
#: Seconds a cleanup command (``Runner.cleanup``) may take before it is killed.
CLEANUP_TIMEOUT = 10.0
#: Seconds a tool may take to answer a question about itself (``Runner.probe``: its
#: version, its daemon, its builder) before it is taken for broken.
PROBE_TIMEOUT = 30.0
#: Seconds between two "still running" lines of an echoed command that lasts (a build
#: under QEMU can take many minutes with nothing else to show).
STILL_RUNNING_EVERY = 60.0

_live: set[subprocess.Popen[str]] = set()
_live_lock = threading.RLock()  # re-entered when the signal handler interrupts its holder
#: The process ids of every command ``run_tracked`` started that still runs (a cleanup's
#: too): ``started_here``.
_running: set[int] = set()


def started_here() -> frozenset[int]:
    """The process ids of the commands this process started (through any runner) that
    still run: a command found on the machine whose parent (or its parent's) is one of them
    is this run's."""
    with _live_lock:
        return frozenset(_running)


#: The variables that hold registry credentials (``withhold``): publisher reads them, and
#: no command it starts inherits them (a login gets its password on stdin, a pull an auth
#: file); a command that needs one is given it in ``env``.
_withheld: frozenset[str] = frozenset()


def withhold(names: Iterable[str]) -> None:
    """Keep the variables ``names`` (matrix.yaml's ``username_env`` and ``password_env``)
    out of the environment of every command started from now on, by any runner: a
    credential helper, a docker CLI plugin or a tool's child never sees a registry's
    password."""
    global _withheld
    _withheld = _withheld | frozenset(names)


class CommandTimedOut(CommandError):
    """A command :meth:`Runner.run` stopped at its ``timeout``."""


class LostTrack(OSError):
    """Raised by ``run_tracked``: an ``OSError`` met once the command had started, while
    waiting for it or reading its output. The command (its process group) was stopped
    before this was raised; ``pid`` was its process id."""

    def __init__(self, pid: int, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error))
        self.pid = pid


def stop_children(grace: float = STOP_GRACE) -> None:
    """The run is being interrupted: SIGTERM every work command ``run`` is waiting for
    (SIGKILL after ``grace`` seconds) and refuse to start new ones; cleanup commands
    still run. Safe in a signal handler."""
    stop.request()
    with _live_lock:
        processes = list(_live)
    for process in processes:
        _signal(process, kill=False)
    if processes:
        threading.Thread(
            target=_kill_later, args=(processes, grace), name="publisher-stop", daemon=True
        ).start()


def allow_children() -> None:
    """A new run starts: commands may run again (``stop_children`` undone)."""
    stop.clear()


def _signal(process: subprocess.Popen[Any], *, kill: bool) -> None:
    """SIGTERM (or SIGKILL) ``process`` and every process it started in its group (it
    leads a session of its own): a wrapper's children end with it."""
    with contextlib.suppress(OSError):  # the group is gone
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)


def _kill_later(processes: list[subprocess.Popen[str]], grace: float) -> None:
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(process, kill=True)


def run_tracked(
    command: Sequence[str],
    *,
    input: str | None = None,
    timeout: float | None = None,
    check: bool = False,
    capture_output: bool = False,
    cleanup: bool = False,
    still_running: tuple[float, Callable[[float], None]] | None = None,
    **popen: Any,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` whose process ``stop_children`` can reach from another thread.

    Every process runs in its own session, and what ends it ends its whole group
    (``_signal``). A ``cleanup`` process is out of ``stop_children``'s reach: it runs
    to its end (or ``timeout``), even when the waiting thread is interrupted.
    ``still_running`` is ``(every, say)``: ``say(seconds so far)`` is called every
    ``every`` seconds while the process runs. An ``OSError`` raised by ``Popen`` means
    the command never started; one raised later (the wait, the pipes) stops the command
    and becomes ``LostTrack``."""
    popen["start_new_session"] = True
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    if capture_output:
        popen["stdout"] = popen["stderr"] = subprocess.PIPE
    started = time.monotonic()
    with subprocess.Popen(command, **popen) as process:
        try:
            with _live_lock:
                _running.add(process.pid)
            if not cleanup:
                with _live_lock:
                    _live.add(process)
                if stop.stopping():  # stop_children ran while this one was starting
                    _signal(process, kill=False)
            stdout, stderr = _communicate(process, input, timeout, started, still_running)
        except subprocess.TimeoutExpired as exc:
            _signal(process, kill=True)
            try:
                exc.stdout, exc.stderr = _drain(process)
            except OSError as lost:  # reading what it left failed: killed, yet lost track of
                raise LostTrack(process.pid, lost) from lost
            raise
        except OSError as exc:  # publisher's wait failed, not the command: stop it, cleanup too
            _signal(process, kill=False)
            _finish(process, STOP_GRACE)
            raise LostTrack(process.pid, exc) from exc
        except BaseException:
            if cleanup:  # interrupted while tidying up: let the tidying finish
                left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
                _finish(process, left)
            else:  # SIGTERM first, so the tool can tidy up
                _signal(process, kill=False)
                _finish(process, STOP_GRACE)
            raise
        finally:
            with _live_lock:
                _live.discard(process)
                _running.discard(process.pid)
    returncode = process.returncode
    if check and returncode:
        raise subprocess.CalledProcessError(returncode, command, stdout, stderr)
    return subprocess.CompletedProcess(command, returncode, stdout, stderr)


def _communicate(
    process: subprocess.Popen[str],
    input: str | None,
    timeout: float | None,
    started: float,
    still_running: tuple[float, Callable[[float], None]] | None,
) -> tuple[Any, Any]:
    """``process.communicate(input, timeout)``, saying every so often that it still runs
    (waiting again after a ``TimeoutExpired`` loses no output)."""
    if still_running is None:
        return process.communicate(input, timeout=timeout)
    every, say = still_running
    while True:
        elapsed = time.monotonic() - started
        left = None if timeout is None else timeout - elapsed
        wait = every if left is None else max(0.0, min(every, left))
        try:
            return process.communicate(input, timeout=wait)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if timeout is not None and elapsed >= timeout:
                raise subprocess.TimeoutExpired(process.args, timeout) from None
            input = None  # written already: communicate takes it only once
            say(elapsed)


def _drain(process: subprocess.Popen[str]) -> tuple[Any, Any]:
    """The rest of a killed ``process``'s output. Its group was killed with it, but a
    child that left the group (a daemon in a session of its own) may hold its pipes open
    for ever: after ``STOP_GRACE`` seconds the pipes are closed instead, so a command
    that timed out never hangs the run."""
    try:
        return process.communicate(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        for pipe in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()
        process.wait()
        return None, None


def _finish(process: subprocess.Popen[str], timeout: float | None) -> None:
    """Wait for ``process`` up to ``timeout`` seconds, then SIGKILL it and its group (at
    once when the wait itself fails: the process must not outlive the run)."""
    try:
        process.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        _signal(process, kill=True)


@dataclass
class Background:
    """A command ``Runner.start`` left running; ``stop`` ends it."""

    argv: tuple[str, ...]
    process: subprocess.Popen[bytes] = field(repr=False)

    def exited(self) -> bool:
        return self.process.poll() is not None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL when it has not exited within ``timeout`` seconds (each
        to its process group: what it started ends with it). SIGKILL at once when the wait
        itself fails (``time.sleep`` under faketime): the command never outlives its stop."""
        if self.process.poll() is None:
            _signal(self.process, kill=False)
        try:
            self.process.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            _signal(self.process, kill=True)
            self.process.wait()


def format_argv(argv: Sequence[str], *, brief: bool = False) -> str:
    """Shell-quoted command text, as echoed (before redaction).

    ``brief`` shortens an argument of several lines (a script handed to ``sh -c``) to its
    first line and a count of the rest, so a log shows each command on one line; the
    whole text is what ``--debug`` and a failure's hint show.
    """
    words = []
    for arg in map(str, argv):
        lines = arg.splitlines()
        if brief and len(lines) > 1:
            more = len(lines) - 1
            words.append(f"{shlex.quote(lines[0] + ' …')} (+{more} line{'s' if more > 1 else ''})")
        else:
            words.append(shlex.quote(arg))
    return " ".join(words)


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last ``lines`` lines (at most ``chars`` characters) of ``text``."""
    kept = text.rstrip("\n").splitlines()[-lines:]
    out = "\n".join(kept)
    if len(out) > chars:
        out = "…" + out[-chars:]
    return out


def _duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``1 h 02 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def tool_name(argv0: str) -> str:
    return Path(argv0).name


def _label(argv: Sequence[str]) -> str:
    """A command as messages name it by default: its tool and first argument."""
    return " ".join(tool_name(a) if i == 0 else a for i, a in enumerate(argv[:2]))


@dataclass
class Runner:
    """Runs commands for real. ``output`` gets the echo; ``env`` is the base environment."""

    output: Output = field(default_factory=lambda: Output(env={}, quiet=True))
    env: Mapping[str, str] | None = None
    spawn: Spawn = run_tracked
    #: seconds between two "still running" lines of an echoed command
    still_running_every: float = STILL_RUNNING_EVERY

    def _env(self) -> dict[str, str]:
        """The environment of its commands: ``env`` (else this process's), less the
        variables holding credentials (``withhold``)."""
        given = os.environ if self.env is None else self.env
        return {name: value for name, value in given.items() if name not in _withheld}

    def which(self, tool: str) -> str | None:
        """The absolute path of ``tool`` (a name or a path), or None."""
        if os.sep in tool:
            return tool if os.path.isfile(tool) and os.access(tool, os.X_OK) else None
        return shutil.which(tool, path=self._env().get("PATH", os.defpath))

    def require(self, tool: str, *, hint: str | None = None) -> str:
        """Like ``which`` but raises ToolMissingError naming how to install the tool."""
        path = self.which(tool)
        if path is None:
            name = tool_name(tool)
            where = f"{tool} does not exist" if os.sep in tool else "was not found on PATH"
            unusable = self.not_executable(tool)
            if unusable is not None:
                raise BrokenToolError(
                    f"{name} is required, and {shown_path(unusable)} is not executable by this user",
                    hint=f"make it executable (`chmod +x {shell_word(str(unusable))}`), or put a working {name} "
                    "first on PATH",
                )
            raise ToolMissingError(
                f"{name} is required but {where}",
                hint=hint or INSTALL_HINTS.get(name, f"install {name} and make sure it is on PATH"),
            )
        return path

    def not_executable(self, tool: str) -> str | None:
        """A file named ``tool`` on PATH (or at that path) that this user may not run, if
        any: what ``which`` passes over, and the reason a tool "was not found"."""
        if os.sep in tool:
            candidates = [tool]
        else:
            path = self._env().get("PATH", os.defpath)
            candidates = [os.path.join(d or ".", tool) for d in path.split(os.pathsep)]
        for candidate in candidates:
            if os.path.isfile(candidate) and not os.access(candidate, os.X_OK):
                return candidate
        return None

    def _prepare(
        self, argv: Sequence[str], env: Mapping[str, str] | None, what: str | None
    ) -> tuple[list[str], str, dict[str, str]]:
        """The command with its binary found (or ToolMissingError), the step's name for
        messages (``what``, else the command's first two words), the full environment."""
        argv = [str(a) for a in argv]
        if not argv:
            raise ValueError("empty command")
        command = [self.require(argv[0]), *argv[1:]]
        return command, what or _label(argv), {**self._env(), **(env or {})}

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
        timeout: float | None = None,
        secrets: Sequence[str] = (),
        echo: bool = True,
        what: str | None = None,
        hint: str | None = None,
        cleanup: bool = False,
    ) -> Completed:
        """Run ``argv``; raise CommandError (with the output's tail) when it fails and ``check``.

        ``stdin`` is the only way to hand a secret to a command; every value in
        ``secrets`` is masked before the command is echoed. ``env`` is merged
        onto the runner's environment. ``what`` names the step in messages
        (default: the command's first two words). ``cleanup`` marks a tidy-up
        command: call it through ``Runner.cleanup``, which says what that means.
        """
        argv = [str(a) for a in argv]
        for secret in secrets:
            self.output.mask(secret)
        if any(_in_argv(secret, argv) for secret in secrets if secret):
            raise ValueError("a secret must be passed through stdin, never argv")
        command, label, full_env = self._prepare(argv, env, what)
        if not cleanup:
            _refuse_when_stopping(label)
        text = self.output.redact(format_argv(argv))
        if echo:
            # redacted whole first: a secret split across lines is still found
            brief = format_argv(self.output.redact("\0".join(argv)).split("\0"), brief=True)
            self.output.command(brief)
            if brief != text:
                self.output.debug(f"+ {text}")
        else:
            self.output.debug(f"+ {text}")
        start = time.monotonic()

        def still(seconds: float) -> None:
            self.output.progress(f"{label}: still running ({_duration(seconds)})")

        try:
            proc = self.spawn(
                command,
                still_running=(self.still_running_every, still) if echo else None,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                env=full_env,
                cwd=cwd,
                timeout=timeout,
                check=False,
                cleanup=cleanup,
            )
        except subprocess.TimeoutExpired as exc:
            captured = _decode(exc.stdout) + _decode(exc.stderr)
            said = "its last output is shown above" if captured.strip() else "it printed nothing"
            raise CommandTimedOut(
                f"`{label}` did not finish within {in_seconds(exc.timeout)}",
                output=tail(self.output.redact(captured)),
                hint=hint or f"the command hung; {said}",
            ) from None
        except LostTrack as exc:  # before OSError: it is one
            raise _lost_track(label, exc) from None
        except OSError as exc:
            raise _not_started(
                label, exc, hint or f"check that {command[0]} is executable"
            ) from None
        result = Completed(
            argv=tuple(argv),
            returncode=proc.returncode,
            stdout=proc.stdout or "",
            stderr=proc.stderr or "",
            seconds=time.monotonic() - start,
        )
        if self.output.debug_enabled and result.output:
            self.output.debug(f"output of `{label}`:\n{result.output}")
        if check and not result.ok:
            raise command_failed(result, label, self.output.redact, hint)
        return result

    def probe(
        self, argv: Sequence[str], *, what: str | None = None, hint: str | None = None
    ) -> Completed:
        """Ask a tool about itself before any work (``buildah --version``, ``docker
        version``, ``docker buildx inspect``): not echoed, and its exit status is the
        caller's to judge. A tool found on PATH that cannot be started, or does not
        answer within ``PROBE_TIMEOUT`` seconds, is broken: BrokenToolError (exit 10)
        naming its path, never a wait without end. One that could not start, or failed,
        for a limit of the machine (``limit_met``: open files, threads and processes) is
        not: that limit's error is raised."""
        argv = [str(a) for a in argv]
        try:
            answer = self.run(argv, check=False, echo=False, timeout=PROBE_TIMEOUT, what=what)
        except CommandError as exc:
            if stop.stopping() or isinstance(exc, _LostCommand | ResourceLimitError):
                raise  # the tool is not to blame
            name = tool_name(argv[0])
            path = self.which(argv[0]) or argv[0]
            raise BrokenToolError(
                f"{name} ({path}) is installed but does not work: {exc.message}",
                hint=hint
                or f"repair or reinstall it, or put a working {name} first on PATH; "
                + INSTALL_HINTS.get(name, f"install {name}"),
            ) from None
        limited = None if answer.ok else limit_met(answer, what or _label(argv), self.output.redact)
        if limited is not None:  # the machine's limit, not the tool: nothing to repair there
            raise limited
        return answer

    def cleanup(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        what: str | None = None,
        timeout: float = CLEANUP_TIMEOUT,
    ) -> Completed:
        """Run a tidy-up command (remove a container or a temporary image, log out) from a
        ``finally``: the one kind of command that still runs while publisher is stopping.

        ``stop_children`` does not terminate it, an interrupt of the waiting thread does
        not cut it short, and it is killed after ``timeout`` seconds, so that an
        interrupted run still ends promptly. It never raises for its own sake (a
        failure, a timeout, a tool gone): the result says what happened, and the
        exception being unwound stays the one reported. Shown with --debug only.
        """
        try:
            return self.run(
                argv, env=env, what=what, timeout=timeout, check=False, echo=False, cleanup=True
            )
        except (CommandError, ToolMissingError) as exc:
            self.output.debug(f"cleanup did not finish: {self.output.redact(exc.message)}")
            return Completed(argv=tuple(str(a) for a in argv), returncode=-1, stderr=exc.message)

    def start(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        what: str | None = None,
    ) -> Background:
        """Start ``argv`` without waiting for it: stdin empty, stdout and stderr into
        ``log``, in its own session (a terminal's Ctrl-C reaches it only through
        ``Background.stop``). CommandError when it cannot be started."""
        command, label, full_env = self._prepare(argv, env, what)
        _refuse_when_stopping(label)
        self.output.debug(f"+ {self.output.redact(format_argv(argv))} &")
        try:
            with open(log, "wb") as handle:
                process = subprocess.Popen(
                    command,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=full_env,
                    start_new_session=True,
                )
        except OSError as exc:
            hint = f"check that {command[0]} is executable and {log.parent} is writable"
            raise _not_started(label, exc, hint) from None
        return Background(tuple(str(a) for a in argv), process)


def command_failed(
    result: Completed,
    label: str,
    redact: Callable[[str], str] = lambda s: s,
    hint: str | None = None,
) -> CommandError:
    """The CommandError for a failed ``result``: message, redacted output tail, hint; the
    error of the machine's reason when its output says one (``_out_of_room``,
    ``limit_met``)."""
    known = _out_of_room(result, label, redact) or limit_met(result, label, redact)
    if known is not None:
        return known
    shown = tail(redact(result.output))  # redacted whole: a secret cut in two is not found
    message = f"`{label}` failed with exit status {result.returncode}"
    if shown:
        message += "; its last output:\n" + quoted(shown)
    return CommandError(
        message,
        output=redact(result.output),
        hint=hint
        or f"rerun the command shown above to see the full output: {redact(format_argv(result.argv))}",
        returncode=result.returncode,
    )


def ended_by_signal(error: BaseException) -> bool:
    """Whether the command ``Runner.run`` raised ``error`` for (or while waiting for it)
    ended by a signal instead of exiting of its own accord. That is so when publisher is
    stopping (its commands got SIGTERM), when the wait ended otherwise (an interrupt of
    the waiting thread, a timeout, a wait lost: the command was signalled), and when
    another process killed it (the kernel's OOM killer). A command that dies of a signal
    may leave what it removes when it fails of its own (buildah: a build's container)."""
    if stop.stopping() or not isinstance(error, PublisherError):
        return True
    if isinstance(error, CommandTimedOut | _LostCommand):
        return True
    return isinstance(error, CommandError) and (error.returncode or 0) < 0


#: The path a tool names before "no space left on device" (Go's ``write PATH: no space
#: left on device``, buildx's ``...: no space left on device: unknown``).
_FULL_PATH = re.compile(r"(/[^\s:'\"]+): " + NO_SPACE, re.IGNORECASE)

#: Each engine's image storage: in words, a part of its default path (a path naming it
#: is said to be there), and the command that shows what the engine keeps.
_ENGINE_STORAGE = {
    "buildah": (
        "buildah's storage (its graphroot, `buildah info` names it)",
        "/containers/storage/",
        "buildah images",
    ),
    "docker": (
        "the docker engine's storage (its data-root, `docker info` names it), on the "
        "machine the engine runs on",
        "/var/lib/docker/",
        "docker system df",
    ),
}


def tmpdir_full(who: str, cause: str, *, output: str = "") -> FullFileSystemError:
    """``who`` (a command, a build) ran out of room in TMPDIR, where publisher keeps each
    build's work directory: the image a builder writes there before it is pushed."""
    return out_of_room(
        who,
        tempfile.gettempdir(),
        "TMPDIR points, and each build writes its image before it is pushed",
        cause,
        needs="each build of the run writes its whole image there",
        output=output,
    )


def _out_of_room(
    result: Completed, label: str, redact: Callable[[str], str]
) -> FullFileSystemError | None:
    """A command that failed because a file system was full ("no space left on device"):
    exit 18, naming the file system as far as its output tells, with a tip that frees
    room there; never "rerun the command", whose temporary paths are removed by then.
    The directory it wrote to, when named: in TMPDIR (publisher's, where each build
    writes its image), said as a full TMPDIR (``out_of_room``); elsewhere (an engine's
    storage), that directory. None for any other failure."""
    output = redact(result.output)
    said = [line.strip() for line in output.splitlines() if NO_SPACE in line.lower()]
    if not said:
        return None
    cause = said[-1]
    tool = tool_name(result.argv[0]) if result.argv else ""
    storage, marker, lists = _ENGINE_STORAGE.get(tool, (f"{tool}'s storage", "", ""))
    tmp = Path(tempfile.gettempdir())
    named = _FULL_PATH.findall(cause)
    written = Path(named[-1]) if named else None
    if written is not None and _in_file_system_of(written, tmp):
        return tmpdir_full(f"`{label}`", cause, output=output)
    see = f" (`{lists}` shows what {tool} keeps)" if lists else ""
    if written is not None:
        where = shown_path(written.parent)
        there = storage if marker and marker in f"{written}/" else f"not TMPDIR ({tmp})"
        return FullFileSystemError(
            f"`{label}` ran out of room in {where}, {shown_path(there)}: {cause}",
            output=output,
            hint=f"free space on the file system that holds {where}{see}; then rerun",
        )
    return FullFileSystemError(
        f"`{label}` ran out of room: its output does not say where: {cause}",
        output=output,
        hint=f"free space in TMPDIR ({shown_path(tmp)}, {free_space(tmp)}) or in {storage}"
        f"{see}, or point TMPDIR at a directory with more room; then rerun",
    )


#: The line a tool prints when it could not start a thread or a process for the machine's
#: limit on them (EAGAIN), before it dies: Go's runtime (buildah, docker) says so first,
#: then dumps every goroutine; a shell says it of the command it could not fork.
_NO_TASK = re.compile(
    r"failed to create new OS thread|pthread_create failed|"
    r"fork(/exec [^\n]*)?: (retry: )?resource temporarily unavailable|can't fork",
    re.IGNORECASE,
)

#: buildah refusing to run a container's command (``buildah run``, a RUN step): it sets
#: the container's open-files limit, and may not raise the hard one above this process's.
_NOFILE_REFUSED = re.compile(
    r'setting "RLIMIT_NOFILE" limit to soft=\d+,hard=(\d+) \(was soft=\d+,hard=(\d+)\): '
    r"operation not permitted"
)


def limit_met(
    result: Completed, label: str, redact: Callable[[str], str] = lambda s: s
) -> CommandError | None:
    """The error of a command that failed for a limit of the machine its output names,
    None for any other failure. Out of threads or processes (``_NO_TASK``): exit 18, the
    line saying so shown rather than the dump's tail, which says nothing of it. buildah
    refused the open-files limit a container gets (``_NOFILE_REFUSED``): exit 11, as a
    command that failed for the machine's reason, nothing found wrong with the image."""
    output = redact(result.output)
    lines = output.splitlines()
    said = next((line.strip() for line in lines if _NO_TASK.search(line)), None)
    if said is not None:
        return out_of_tasks(
            f"run `{label}`", f"it said `{said}` (exit status {result.returncode})", output=output
        )
    refused = next(
        (_NOFILE_REFUSED.search(line) for line in lines if "RLIMIT_NOFILE" in line), None
    )
    if refused is not None:
        return open_files_refused(label, int(refused[1]), int(refused[2]), output=output)
    return None


def open_files_refused(
    label: str,
    wanted: int,
    hard: int,
    *,
    output: str = "",
    verdict: str = "nothing was found wrong with the image or its Dockerfile",
) -> CommandError:
    """``label`` (buildah) cannot run a container's commands: it gives each container an
    open-files limit of ``wanted``, above this process's hard limit ``hard``, which it may
    not raise (root without CAP_SYS_RESOURCE, as in a container; rootless buildah).
    ``verdict``: what that means for the run (said after the machine is blamed)."""
    return CommandError(
        f"`{label}` cannot run commands in a container here: buildah gives each one an "
        f"open-files limit of {wanted}, above the hard limit of this run ({hard}, "
        f"`ulimit -Hn`), which it may not raise; this machine's limit is at fault, {verdict}",
        output=output,
        hint=f"raise the hard open-files limit of the shell that runs publisher to {wanted} "
        f"or more (`ulimit -Hn {wanted}` as root; a container's `--ulimit "
        f"nofile={wanted}:{wanted}`, LimitNOFILE of a systemd service or CI runner); then rerun",
    )


def _in_file_system_of(path: Path, tmp: Path) -> bool:
    """Whether ``path`` (a tool named it) is in ``tmp`` and on its file system: not on
    another one mounted below it. Its nearest directory that still exists is asked."""
    if not any(path.is_relative_to(t) for t in (tmp, Path(os.path.realpath(tmp)))):
        return False
    near = path
    try:
        while not near.exists() and near != near.parent:
            near = near.parent
        return near.stat().st_dev == tmp.stat().st_dev
    except OSError:
        return False


def _in_argv(secret: str, argv: Sequence[str]) -> bool:
    """Whether ``argv`` hands ``secret`` to the command as a password would be handed
    (``--password S``, ``-p S``, ``--password=S``, ``user:S@host``). A word that only
    happens to equal a weak password (a username ``admin`` beside the password
    ``admin``, a host ``localhost`` holding ``local``) is no such hand-over."""
    for i, arg in enumerate(argv):
        option, equals, value = arg.partition("=")
        if equals and value == secret and option.startswith("-"):
            return True
        if arg in ("--password", "-p") and i + 1 < len(argv) and argv[i + 1] == secret:
            return True
        if f":{secret}@" in arg:
            return True
    return False


def _refuse_when_stopping(label: str) -> None:
    """Once stopping, no work command starts (only ``Runner.cleanup`` ones do)."""
    if stop.stopping():
        raise CommandError(
            f"`{label}` was not started: publisher is stopping (interrupted)",
            hint="rerun the command; finished steps are not repeated",
        )


def _not_started(label: str, exc: OSError, hint: str) -> CommandError:
    """The error of a command whose process could not be made: for a limit of the
    machine, that limit's (open files, EMFILE or ENFILE; threads and processes, EAGAIN or
    ENOMEM from fork), exit 18; else the tool's (``hint``: check that it is executable)."""
    what = f"start `{label}`"
    limited = out_of_files(exc, what)
    if limited is None and exc.errno in (errno.EAGAIN, errno.ENOMEM):
        limited = out_of_tasks(what, exc.strerror or str(exc))
    if limited is not None:
        return limited
    return CommandError(f"`{label}` could not be started: {exc.strerror or exc}", hint=hint)


class _LostCommand(CommandError):
    """The CommandError for a command that started and that publisher then lost track of
    (``LostTrack``): the same exit status, but ``Runner.probe`` does not take the tool
    for broken."""


def _lost_track(label: str, exc: LostTrack) -> CommandError:
    return _LostCommand(
        f"`{label}` was started (pid {exc.pid}), but publisher lost track of it while "
        f"waiting for it: {exc.strerror or exc}; the command was stopped",
        hint="the error is publisher's own, not the command's: waiting for it failed in "
        "publisher's process (time.sleep does under faketime with DONT_FAKE_MONOTONIC=1, "
        "a resource limit can too); rerun publisher without that, or run the command "
        "shown above by hand",
    )


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data
