"""The runner with real processes: output capture, stdin, environment, failure tails."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.adapters import runner as runner_module
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.cli.base import State
from publisher.core.errors import CommandError, ToolMissingError, file_error
from tests.conftest import require_tool
from tests.support.images import make_platform_image, write_layout
from tests.support.stopping import stop_during

pytestmark = pytest.mark.integration

SECRET = "integration-canary-8d1f"


def test_a_real_command_gets_stdin_and_env_and_its_failure_is_explained() -> None:
    out = io.StringIO()
    runner = Runner(output=Output(env={}, stream=out, err_stream=out))
    script = (
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "print('got', len(data), os.environ['PUBLISHER_PROBE'])\n"
        "print('password was', data.strip(), file=sys.stderr)\n"
        "sys.exit(int(os.environ['CODE']))\n"
    )
    done = runner.run(
        [sys.executable, "-c", script],
        stdin=SECRET,
        env={"PUBLISHER_PROBE": "yes", "CODE": "0"},
        secrets=[SECRET],
    )
    assert done.stdout == f"got {len(SECRET)} yes\n"
    assert done.stderr == f"password was {SECRET}\n"  # the command sees it; we never show it
    with pytest.raises(CommandError) as caught:
        runner.run(
            [sys.executable, "-c", script],
            stdin=SECRET,
            env={"PUBLISHER_PROBE": "no", "CODE": "4"},
            secrets=[SECRET],
            what="probe",
        )
    assert "`probe` failed with exit status 4" in caught.value.message
    assert "password was ***" in caught.value.message
    assert SECRET not in caught.value.message + caught.value.output + out.getvalue()
    assert out.getvalue().count(f"+ {sys.executable} -c") == 2


def test_a_long_command_says_it_still_runs_and_keeps_its_stdin_and_output() -> None:
    """A build under QEMU can run for many minutes: every ``still_running_every`` seconds a
    line says it is still running; the output is whole, and a quiet probe says nothing."""
    out = io.StringIO()
    runner = Runner(output=Output(env={}, stream=out, err_stream=out), still_running_every=0.3)
    script = "import sys, time; data = sys.stdin.read(); time.sleep(1.1); print('got', data)"
    done = runner.run([sys.executable, "-c", script], stdin="abc", what="slow build")
    assert done.stdout == "got abc\n"
    said = [line for line in out.getvalue().splitlines() if "still running" in line]
    assert 2 <= len(said) <= 5, out.getvalue()
    assert set(said) <= {"slow build: still running (0 s)", "slow build: still running (1 s)"}
    out.truncate(0)
    runner.run([sys.executable, "-c", "import time; time.sleep(0.7)"], echo=False)
    assert "still running" not in out.getvalue()
    with pytest.raises(CommandError, match=r"did not finish within 0\.7 s"):
        runner.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.7)


def test_a_hanging_command_is_stopped() -> None:
    runner = Runner()
    with pytest.raises(CommandError, match=r"did not finish within 0\.5 s"):
        runner.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def wrapper_tool(directory: Path, name: str) -> tuple[Path, Path]:
    """A tool on PATH that is a wrapper script: it starts a child that holds its output
    open (``sleep 1000 &``), writes the child's pid, then hangs itself."""
    directory.mkdir(exist_ok=True)
    pid_file = directory / f"{name}.child"
    tool = directory / name
    tool.write_text(f"#!/bin/sh\nsleep 1000 &\necho $! > {pid_file}\nsleep 1000\n")
    tool.chmod(0o755)
    return tool, pid_file


def _written(path: Path) -> bool:
    return path.exists() and path.read_text().strip() != ""


def gone(pid: int, within: float = 2.0) -> bool:
    """Whether process ``pid`` has ended (a zombie not yet reaped by init counts)."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_a_hanging_wrapper_s_child_ends_with_it_at_the_probe_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe of a tool that hangs returns at its timeout, and the child the wrapper
    started (holding the pipes) is gone too: the whole process group is killed."""
    tool, pid_file = wrapper_tool(tmp_path / "bin", "sometool")
    monkeypatch.setattr(runner_module, "PROBE_TIMEOUT", 1.0)
    runner = Runner(env={**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ['PATH']}"})
    started = time.monotonic()
    try:
        with pytest.raises(ToolMissingError, match=r"did not finish within 1 s"):
            runner.probe(["sometool", "--version"])
        took = time.monotonic() - started
        child = int(pid_file.read_text())
        assert took < 1.0 + 2.0, f"the probe took {took:.1f}s"
        assert gone(child), "the wrapper's child outlived the probe"
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_stopped_wrapper_s_child_ends_with_it(tmp_path: Path) -> None:
    """``stop_children`` (Ctrl-C, SIGTERM) ends the wrapper and the child it started."""
    tool, pid_file = wrapper_tool(tmp_path / "bin", "sometool")
    runner = Runner(env={**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ['PATH']}"})
    try:
        caught = stop_during(
            lambda: runner.run(["sometool", "build"]), lambda: _written(pid_file), within=2.0
        )
        assert len(caught) == 1 and isinstance(caught[0], CommandError), caught
        assert "failed with exit status -15" in str(caught[0])
        assert gone(int(pid_file.read_text())), "the wrapper's child outlived the stop"
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_background_command_logs_to_its_file_and_stops(tmp_path: Path) -> None:
    runner = Runner()
    log = tmp_path / "server.log"
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('bye', flush=True), sys.exit(3)))\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = runner.start([sys.executable, "-c", script], log=log)
    deadline = time.monotonic() + 20
    while "up" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not started.exited()
    started.stop(timeout=20)
    assert started.exited() and started.process.returncode == 3
    assert log.read_text() == "up\nbye\n"
    with pytest.raises(CommandError, match="could not be started"):
        runner.start([sys.executable], log=tmp_path / "missing" / "x.log")


def _under_faketime(
    script: str, pid_file: Path, *args: Path, outlived: str
) -> subprocess.CompletedProcess[str]:
    """``python -c SCRIPT PID_FILE ARGS`` under faketime with ``DONT_FAKE_MONOTONIC=1``
    (time.sleep fails there). The command whose pid the script writes to ``pid_file``
    must be gone when it ends: else it is killed and the test fails with ``outlived``
    (its ``{pid}`` filled in)."""
    faketime = require_tool("faketime")
    try:
        return subprocess.run(
            [faketime, "-f", "@2026-06-01 12:00:00", sys.executable, "-c", script, pid_file, *args],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "DONT_FAKE_MONOTONIC": "1"},
        )
    finally:
        if _written(pid_file):
            pid = int(pid_file.read_text())
            if not gone(pid, within=0):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(outlived.format(pid=pid))


#: Run under faketime with DONT_FAKE_MONOTONIC=1, where time.sleep fails with EINVAL: the
#: runner starts a command that closes its output, ignores SIGTERM and runs on (busy, no
#: sleep), so publisher's own wait for it (which sleeps between polls) is what fails.
LOST_TRACK = """
import sys
from publisher.adapters.runner import Runner
from publisher.core.errors import CommandError
pid_file = sys.argv[1]
tool = (
    "import os, signal\\n"
    f"open({pid_file!r}, 'w').write(str(os.getpid()))\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "os.close(1); os.close(2)\\n"
    "while True: pass\\n"
)
try:
    Runner().run([sys.executable, "-c", tool], what="busy tool", timeout=60)
except CommandError as exc:
    print(exc.exit_code, exc.message, exc.hint, sep="\\n")
"""


def test_a_started_command_publisher_loses_track_of_is_stopped_and_not_blamed(
    tmp_path: Path,
) -> None:
    """An OSError while waiting for a command that did start (time.sleep under faketime)
    says it was started, with its pid, and stopped: not "could not be started" with a hint
    to check the tool is executable. A command that ignores SIGTERM is killed, not left
    running (nor waited for without end)."""
    pid_file = tmp_path / "tool.pid"
    result = _under_faketime(
        LOST_TRACK, pid_file, outlived="the command (pid {pid}) outlived the error"
    )
    pid = int(pid_file.read_text())
    code, message, hint = result.stdout.splitlines()
    assert code == "11", result.stdout + result.stderr
    assert message == (
        f"`busy tool` was started (pid {pid}), but publisher lost track of it while waiting "
        "for it: Invalid argument; the command was stopped"
    )
    assert "could not be started" not in result.stdout
    assert "executable" not in hint and "faketime" in hint


#: ``Background.stop`` under the same faketime: the wait that grants the command
#: ``timeout`` seconds to end fails, and a command that ignores SIGTERM is killed.
STOP_UNDER_FAKETIME = """
import sys
from pathlib import Path
from publisher.adapters.runner import Runner
pid_file, log = sys.argv[1], Path(sys.argv[2])
tool = (
    "import os, signal\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    f"open({pid_file!r}, 'w').write(str(os.getpid()))\\n"
    "while True: pass\\n"
)
started = Runner().start([sys.executable, "-c", tool], log=log)
while not Path(pid_file).exists() or not Path(pid_file).read_text():
    pass
started.stop(timeout=20)
print("stopped", started.process.returncode)
"""


def test_a_background_command_is_stopped_when_the_wait_for_it_fails(tmp_path: Path) -> None:
    """``Background.stop`` whose wait fails (time.sleep under faketime) kills the command
    that ignores SIGTERM, instead of raising with the command left running."""
    pid_file = tmp_path / "server.pid"
    result = _under_faketime(
        STOP_UNDER_FAKETIME,
        pid_file,
        tmp_path / "server.log",
        outlived="the background command (pid {pid}) outlived its stop",
    )
    assert result.stdout == f"stopped {-signal.SIGKILL}\n", result.stdout + result.stderr


def test_a_file_system_out_of_inodes_is_said_so_not_to_need_space(tmp_path: Path) -> None:
    """ENOSPC on a tmpfs with room but no inode left: the tip says no more files can be
    made there (free space would not help), as `df -i` shows."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    few = tmp_path / "few-inodes"
    few.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=4", "tmpfs", str(few)], check=True
    )
    try:
        with pytest.raises(OSError) as caught:
            for number in range(10):
                (few / f"f{number}").write_text("x")
        hint = file_error(caught.value, "use a file or directory").hint
    finally:
        subprocess.run(["umount", str(few)], check=False)
    assert caught.value.errno == errno.ENOSPC
    assert hint is not None and hint.startswith("the file system has no free inodes left"), hint


def test_a_command_that_fills_a_file_system_outside_tmpdir_names_that_directory(
    tmp_path: Path, small_disk: Path
) -> None:
    """A real copy (skopeo, a Go tool as the builders are) into a full tmpfs outside
    TMPDIR: exit 18 naming the directory its output names, with a tip that frees room
    there, never one that reruns the command (its temporary paths are gone by then)."""
    require_tool("skopeo")
    image = make_platform_image("linux/amd64", rng=random.Random(7), layer_sizes=(64_000,))
    source = write_layout(image, tmp_path / "source")
    runner = Runner()
    with pytest.raises(CommandError) as caught:
        runner.run(["skopeo", "copy", f"oci:{source}", f"oci:{small_disk}/copy"], what="copy")
    error = caught.value
    assert error.exit_code == 18, error.message
    assert f"`copy` ran out of room in {small_disk}" in error.message, error.message
    assert f"not TMPDIR ({Path(tempfile.gettempdir())})" in error.message
    assert "no space left on device" in error.message.lower()
    assert error.hint is not None and "free space on the file system that holds" in error.hint
    assert "rerun the command" not in error.hint and "skopeo copy" not in error.hint


def test_no_command_publisher_starts_gets_the_variables_holding_registry_credentials(
    registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The variables matrix.yaml names for credentials (username_env, password_env) are
    publisher's to read: a tool it runs, a credential helper the docker config names for
    another registry among them, never gets them; a command given one in ``env`` does."""
    monkeypatch.setattr(runner_module, "_withheld", frozenset())  # none of other tests'
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper_env = tmp_path / "helper-env"
    helper = bindir / "docker-credential-envdump"
    helper.write_text(
        f"#!/bin/sh\nenv > {helper_env}\ncat >/dev/null\n"
        "echo credentials not found in native keychain\nexit 1\n"
    )
    helper.chmod(0o755)
    (tmp_path / "docker").mkdir()
    other = "other.registry.example:5000"
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"credHelpers": {other: "envdump"}})
    )
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("T14_USER", "robot")
    monkeypatch.setenv("T14_KEY", SECRET)
    monkeypatch.setenv("UNRELATED_SETTING", "kept")
    matrix = write_matrix(
        tmp_path,
        [("local", f"{registry.host}/test/php-fpm", True)],
        credentials={"local": ("T14_USER", "T14_KEY")},
    )
    state = State(env=dict(os.environ))
    state.load_config(str(matrix))

    def environment(**given: str) -> dict[str, str]:
        shown = state.runner.run(["env", "-0"], env=given or None, echo=False).stdout
        return dict(item.split("=", 1) for item in shown.split("\0") if "=" in item)

    seen = environment()
    assert "T14_KEY" not in seen and "T14_USER" not in seen, sorted(seen)
    assert seen["UNRELATED_SETTING"] == "kept" and seen["PATH"] == os.environ["PATH"]
    assert environment(T14_KEY=SECRET)["T14_KEY"] == SECRET  # handed over on purpose
    assert state.clients.for_host(other).transport.credentials is None  # the helper had none
    asked = helper_env.read_text()
    assert "UNRELATED_SETTING=kept" in asked
    assert "T14_KEY" not in asked and SECRET not in asked
