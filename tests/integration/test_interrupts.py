"""An interrupted run cleans up: SIGTERM unwinds like Ctrl-C (RELIABILITY.md 22).

A release whose primary registry needs basic auth logs the docker CLI in to a
private temporary DOCKER_CONFIG for each build. ``kill -TERM`` during the builds
(legs on worker threads, ``docker buildx build`` children running) must stop the
children, remove that config (it holds the base64 of user:password) and the
build's temporary directories, and exit 143 with one line saying why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import yaml

from publisher.adapters.localregistry import LocalRegistry
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import BasicAuthRegistry
from tests.support.builds import listed_lines, quiet_runner
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.github_files import workflow_commands
from tests.support.pipeline import Stack, kill_group, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINES = ("8.4",)


@pytest.fixture(scope="module")
def bases(registry: LocalRegistry) -> str:
    docker = require_tool("docker")
    if subprocess.run([docker, "buildx", "version"], capture_output=True).returncode != 0:
        require_tool("docker-buildx")  # skips here, fails in CI
    standins.push_standins(registry.host, runner=quiet_runner(), lines=LINES)
    return registry.host


def _wait_for(paths: Callable[[], list[Path]], timeout: float) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = paths()
        if found:
            return found
        time.sleep(0.02)
    return []


def _holding_auth(paths: Iterable[Path]) -> list[Path]:
    """The files among ``paths`` that hold credentials (``"auth"``), skipping any replaced
    while being read."""
    found = []
    for path in sorted(paths):
        try:
            if '"auth"' in path.read_text():
                found.append(path)
        except OSError:
            continue
    return found


def logged_in_stack(
    tmp_path: Path,
    account: BasicAuthRegistry,
    primary: str,
    second: str,
    bases: str,
    repo: str,
    builder: str,
    *,
    platforms: list[str] | None = None,
) -> tuple[Stack, Path, dict[str, str]]:
    """A stack whose primary registry (``primary``, ``account``'s or a proxy in front of
    it) takes basic auth from the environment; the run gets its own TMPDIR to inspect."""
    stack = Stack(tmp_path / "stack", primary, second, bases, repo=repo, lines=LINES)
    data = yaml.safe_load(stack.matrix.read_text())
    if platforms:
        data["platforms"] = platforms
    data["registries"][0].update(username_env="HUB_USER", password_env="HUB_PASSWORD")
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        "TMPDIR": str(tmp),
        "PUBLISHER_BUILDER": builder,
        "HUB_USER": account.username,
        "HUB_PASSWORD": account.password,
    }
    return stack, tmp, env


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"]
)
def test_a_signal_during_the_builds_removes_the_temporary_docker_config(
    signum: signal.Signals,
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
    bases: str,
    tmp_path: Path,
) -> None:
    stack, tmp, env = logged_in_stack(
        tmp_path,
        basic_registry,
        basic_registry.host,
        second_registry.host,
        bases,
        f"acme/interrupt-{signum.name.lower()}",
        "buildx",
    )
    process = stack.start("release", "v1.0.0", "--jobs", "2", env=env)
    try:
        # Logged in: the config holds the credentials, for now (it starts without them).
        configs = _wait_for(
            lambda: _holding_auth(tmp.glob("publisher-docker-config-*/config.json")), 240
        )
        assert configs, (stack.root / "run.log").read_text()
        os.kill(process.pid, signum)
        returncode = process.wait(timeout=90)
    finally:
        kill_group(process)
    log = (stack.root / "run.log").read_text()
    assert returncode == 128 + signum, log
    assert f"interrupted by {signum.name}" in log
    # during the builds: no tag moved, and the images pushed so far are not built again
    assert "  tip: tags move last" in log, log
    assert "the images this run pushed are reused" in " ".join(log.split()), log
    assert "Traceback" not in log and "usage error" not in log
    left = sorted(p.name for p in tmp.iterdir())
    assert not [
        n for n in left if n.startswith(("publisher-docker-config-", "publisher-build-"))
    ], left
    assert basic_registry.password not in log
    # No docker build of this run survives it.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert stack.repo not in ps


def test_sigterm_during_the_smoke_tests_pull_removes_its_auth_file(
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
    bases: str,
    proxy_for: Callable[[object], FaultProxy],
    tmp_path: Path,
) -> None:
    """buildah pulls the image to smoke-test with a throwaway auth file; the pull hangs
    (the proxy holds its manifest request) when SIGTERM comes. The container a `buildah
    from` cut short may already have made is removed too."""
    primary = proxy_for(basic_registry)
    stack, tmp, env = logged_in_stack(
        tmp_path,
        basic_registry,
        primary.host,
        second_registry.host,
        bases,
        f"acme/interrupt-smoke-{uuid.uuid4().hex[:10]}",
        "buildah",
        platforms=["linux/amd64"],
    )
    # Only buildah's pull stalls (its user agent), not publisher's own reads.
    pull = Fault("stall", method="GET", path=r"/manifests/", times=None, user_agent="(?i)buildah")
    primary.add(pull)
    process = stack.start("release", "v1.0.0", env=env)
    try:
        authfiles = _wait_for(lambda: sorted(tmp.glob("publisher-smoke-auth-*/auth.json")), 300)
        assert authfiles, (stack.root / "run.log").read_text()
        assert '"auth"' in authfiles[0].read_text()
        # buildah from is now waiting for the stalled manifest (not after a time: it may
        # start late on a loaded machine, or wait for the lock of another buildah)
        assert wait_for(lambda: pull.fired, 300), (stack.root / "run.log").read_text()
        assert authfiles[0].exists()
        os.kill(process.pid, signal.SIGTERM)
        returncode = process.wait(timeout=90)
    finally:
        primary.release()
        kill_group(process)
    log = (stack.root / "run.log").read_text()
    assert returncode == 143, log
    assert "interrupted by SIGTERM" in log and "Traceback" not in log
    left = sorted(p.name for p in tmp.iterdir())
    # buildah's own scratch directories too (``buildahNNN``: it is given one of the run's)
    assert not [n for n in left if n.startswith(("publisher-", "buildah"))], left
    assert _smoke_containers("buildah", stack.repo) == [], log


def test_a_reader_gone_during_the_builds_stops_quietly_and_cleans_up(
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
    bases: str,
    tmp_path: Path,
) -> None:
    """``publisher release ... | head -n 12``: the reader leaves while the builds run."""
    stack, tmp, env = logged_in_stack(
        tmp_path,
        basic_registry,
        basic_registry.host,
        second_registry.host,
        bases,
        "acme/interrupt-pipe",
        "buildx",
    )
    process = subprocess.Popen(
        stack.argv("release", "v1.0.0", "--jobs", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=stack.process_env(env),
        cwd=stack.root,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        # The builds run, logged in (their config holds the credentials): the reader
        # leaves now, and the first leg's "pushed" line meets EPIPE while a build may
        # still run. (Leaving after that line raced the other leg's end.)
        configs = _wait_for(
            lambda: _holding_auth(tmp.glob("publisher-docker-config-*/config.json")), 240
        )
        assert configs, "no logged-in docker config appeared"
        process.stdout.close()
        returncode = process.wait(timeout=120)
        stderr = process.stderr.read()
    finally:
        kill_group(process)
        process.stdout.close()
        process.stderr.close()
    assert returncode == 141, stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr
    left = sorted(p.name for p in tmp.iterdir())
    assert not [
        n for n in left if n.startswith(("publisher-docker-config-", "publisher-build-"))
    ], left


def _smoke_containers(engine: str, repo: str) -> list[str]:
    """The smoke-test containers of images of ``repo`` (this test's run only)."""
    if engine == "buildah":
        tool, listing = require_tool("buildah"), ["containers"]
        fmt = "{{.ContainerName}} {{.ImageName}}"
    else:
        tool, listing = require_tool("docker"), ["ps", "-a"]
        fmt = "{{.Names}} {{.Image}}"
    lines = listed_lines([tool, *listing, "--format", fmt])
    return [line for line in lines if line.startswith("publisher-smoke-") and repo in line]


def _images(engine: str, repo: str) -> list[str]:
    """The images of ``repo`` in ``engine``'s store (the smoke test pulls by digest)."""
    name = "{{.Name}}" if engine == "buildah" else "{{.Repository}}"
    lines = listed_lines([require_tool(engine), "images", "--format", name])
    return [line for line in lines if repo in line]


@pytest.mark.parametrize(
    ("builder", "engine"), [("buildah", "buildah"), ("buildx", "docker")], ids=["buildah", "docker"]
)
def test_sigint_during_the_smoke_tests_removes_their_containers(
    builder: str,
    engine: str,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    bases: str,
    tmp_path: Path,
) -> None:
    """Ctrl-C while a smoke test's container exists: the run still removes it (and the image
    it pulled) on its way out, and exits 130 promptly. The cleanup commands of an
    interrupted run are not stopped like its work commands."""
    repo = f"acme/interrupt-smoke-rm-{uuid.uuid4().hex[:10]}"
    stack = Stack(
        tmp_path / "stack", registry.host, second_registry.host, bases, repo=repo, lines=LINES
    )
    data = yaml.safe_load(stack.matrix.read_text())
    data["platforms"] = ["linux/amd64"]
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    process = stack.start("release", "v1.0.0", env={"PUBLISHER_BUILDER": builder})
    try:
        deadline = time.monotonic() + 300
        seen: list[str] = []
        while not seen and process.poll() is None and time.monotonic() < deadline:
            seen = _smoke_containers(engine, repo)
        assert seen, (stack.root / "run.log").read_text()
        os.kill(process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        returncode = process.wait(timeout=90)
        took = time.monotonic() - interrupted
    finally:
        kill_group(process)
    log = (stack.root / "run.log").read_text()
    assert returncode == 130, log
    assert "interrupted by SIGINT" in log and "Traceback" not in log
    assert took < 30, log
    assert _smoke_containers(engine, repo) == [], log
    assert _images(engine, repo) == [], log


def test_a_finished_buildx_release_leaves_no_credential_on_disk_or_in_argv(
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
    bases: str,
    tmp_path: Path,
) -> None:
    """RELIABILITY 22 and 31 on the docker path, for a run that ends normally: the builds'
    temporary DOCKER_CONFIG and the smoke tests' are removed, the docker CLI gets the
    password on stdin only, and no file left anywhere under the run's directories
    (TMPDIR, HOME, the outputs) holds the password or its Basic value."""
    import base64
    import shutil

    stack, tmp, env = logged_in_stack(
        tmp_path,
        basic_registry,
        basic_registry.host,
        second_registry.host,
        bases,
        f"acme/finished-buildx-{uuid.uuid4().hex[:10]}",
        "buildx",
        platforms=["linux/amd64"],
    )
    docker = shutil.which("docker")
    assert docker is not None
    shims = tmp_path / "bin"
    shims.mkdir()
    argv_log = tmp_path / "docker-argv.log"
    (shims / "docker").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{docker}" "$@"\n'
    )
    (shims / "docker").chmod(0o755)
    (tmp_path / "home").mkdir()
    env.update(HOME=str(tmp_path / "home"), PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    finished = stack.run("release", "v1.0.0", "--notes-dir", str(stack.notes_dir), env=env)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    secret = basic_registry.password
    basic = base64.b64encode(f"{basic_registry.username}:{secret}".encode()).decode()
    calls = argv_log.read_text().splitlines()
    logins = [c for c in calls if c.startswith("login ")]
    assert logins and all("--password-stdin" in c for c in logins), calls
    assert any(c.startswith("buildx build") for c in calls), calls
    assert any(c.startswith(("run ", "create ", "pull ")) for c in calls), calls  # smoke test
    assert [c for c in calls if secret in c or basic in c] == []
    assert not [p.name for p in tmp.iterdir() if p.name.startswith("publisher-")]
    for needle in (secret, basic):
        assert needle not in finished.stdout + finished.stderr
        leaked = [
            p
            for p in tmp_path.rglob("*")
            if p.is_file() and not p.is_symlink() and needle.encode() in p.read_bytes()
        ]
        assert leaked == [], leaked


def test_a_run_killed_with_sigkill_leaves_credentials_the_rerun_removes(
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
    bases: str,
    tmp_path: Path,
) -> None:
    """RELIABILITY 13 and 22: SIGKILL gives a run no chance to remove its temporary
    DOCKER_CONFIG (with the credentials) or buildah's scratch directory; the rerun of the
    release removes them (their names say which process made them, now gone), finishes
    the release, and leaves nothing of its own behind."""
    stack, tmp, env = logged_in_stack(
        tmp_path,
        basic_registry,
        basic_registry.host,
        second_registry.host,
        bases,
        f"acme/interrupt-kill-{uuid.uuid4().hex[:10]}",
        "buildx",
        platforms=["linux/amd64"],
    )
    process = stack.start("release", "v1.0.0", "--notes-dir", str(stack.notes_dir), env=env)
    try:
        configs = _wait_for(
            lambda: _holding_auth(tmp.glob("publisher-docker-config-*/config.json")), 240
        )
        assert configs, (stack.root / "run.log").read_text()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        kill_group(process)
    assert _holding_auth(configs), "a run killed with SIGKILL cannot remove its files"
    time.sleep(2)  # the killed run's docker build ends with its parent gone

    rerun = stack.run("release", "v1.0.0", "--notes-dir", str(stack.notes_dir), env=env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert not [p for p in configs if p.exists()]
    left = sorted(p.name for p in tmp.iterdir())
    assert not [n for n in left if n.startswith(("publisher-", "buildah"))], left


@pytest.mark.parametrize("hangs", ["unwinding", "after"])
def test_a_forced_exit_in_actions_is_an_error_annotation_once(hangs: str) -> None:
    """In GitHub Actions the forced exit is an ``::error`` annotation too, as every failure
    is: when the run hangs while unwinding, before the interruption's own annotation; not
    a second one when that was written and a thread that does not end holds the process."""
    hang = (
        "    finally:\n        time.sleep(30)  # a cleanup that does not end\n"
        if hangs == "unwinding"
        else "    finally:\n        threading.Thread(target=time.sleep, args=(30,)).start()\n"
    )
    script = f"""
import os, signal, threading, time
import click
from publisher.cli import base
from publisher.cli.base import LazyGroup, State, handle_errors

base.FORCE_EXIT_AFTER = 0.5

@click.command()
@handle_errors
def hang() -> None:
    click.get_current_context().find_object(State).interrupted_hint = "a rerun finishes it"
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
{hang}
LazyGroup(commands={{"hang": hang}})(["hang"], obj=State(env={{"GITHUB_ACTIONS": "true"}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stdout + done.stderr
    assert "publisher: still stopping after 0.5 s; exiting\n  tip: a rerun finishes it\n" in (
        done.stderr
    ), done.stderr
    errors = [
        data for name, data in workflow_commands(done.stdout + done.stderr) if name == "error"
    ]
    assert len(errors) == 1, done.stdout + done.stderr
    if hangs == "unwinding":
        assert (
            errors[0] == "publisher: still stopping after 0.5 s; exiting%0Atip: a rerun finishes it"
        )
    else:
        assert errors[0].startswith("interrupted by SIGTERM: stopped before finishing"), errors


@pytest.mark.parametrize("hangs", ["unwinding", "holding_the_output", "after"])
def test_a_forced_exit_in_actions_ends_the_step_summary_with_its_failure_once(
    hangs: str, tmp_path: Path
) -> None:
    """In GitHub Actions the forced exit ends the step summary as a failure does (its words,
    exit code and tip), so the table written before it is not read as a success: when the
    run hangs while unwinding, even holding the output's lock; not a second time after the
    interruption's own."""
    hang = {
        "unwinding": "time.sleep(30)  # a cleanup that does not end",
        "holding_the_output": "with state.output._lock:\n            time.sleep(30)",
        "after": "threading.Thread(target=time.sleep, args=(30,)).start()",
    }[hangs]
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    script = f"""
import os, signal, threading, time
import click
from publisher.cli import base
from publisher.cli.base import LazyGroup, State, handle_errors

base.FORCE_EXIT_AFTER = 0.5

@click.command()
@handle_errors
def hang() -> None:
    state = click.get_current_context().find_object(State)
    state.interrupted_hint = "a rerun finishes it"
    state.output.table("Published", ["tag"], [["8.4"]])
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        {hang}

LazyGroup(commands={{"hang": hang}})(["hang"], obj=State(env={env!r}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stdout + done.stderr
    text = summary.read_text()
    assert text.startswith("### Published\n"), text
    assert text.count("**Failed: ") == 1, text
    if hangs == "after":
        assert text.endswith(
            "**Failed: interrupted (exit 143)**\n\n"
            "> interrupted by SIGTERM: stopped before finishing\n>\n> tip: a rerun finishes it\n\n"
        ), text
    else:
        assert text.endswith(
            "**Failed: interrupted (exit 143)**\n\n"
            "> publisher: still stopping after 0.5 s; exiting\n>\n> tip: a rerun finishes it\n\n"
        ), text


def test_a_forced_exit_is_not_held_by_a_write_to_stderr_that_blocks() -> None:
    """The run hangs writing to a stderr nobody reads (a full pipe): the forced exit's own
    words cannot be written either, and the process exits all the same, with the signal's
    code, once ``FORCE_EXIT_SAYING`` has passed."""
    script = """
import os, signal, sys, time
import click
from publisher.cli import base
from publisher.cli.base import LazyGroup, State, handle_errors

base.FORCE_EXIT_AFTER, base.FORCE_EXIT_SAYING = 0.5, 1.0

@click.command()
@handle_errors
def hang() -> None:
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        while True:  # a cleanup that logs to a stderr nobody reads: blocked once it is full
            sys.stderr.write("x" * 65536)

LazyGroup(commands={"hang": hang})(["hang"], obj=State(env={"GITHUB_ACTIONS": "true"}))
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert process.wait(timeout=30) == 143
    finally:
        process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()


def test_a_run_whose_unwinding_hangs_exits_anyway_with_the_signal_s_code() -> None:
    """docs/design.md: if unwinding takes longer than FORCE_EXIT_AFTER (a blob upload in
    flight), the process exits anyway, with the code of the signal that stopped it, and
    says so with the tip of a command that writes (what the run left)."""
    script = """
import os, signal, time
import click
from publisher.cli import base
from publisher.cli.base import LazyGroup, State, handle_errors

base.FORCE_EXIT_AFTER = 0.5

@click.command()
@handle_errors
def hang() -> None:
    click.get_current_context().find_object(State).interrupted_hint = "a rerun finishes it"
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        time.sleep(30)  # a cleanup that does not end

LazyGroup(commands={"hang": hang})(["hang"], obj=State(env={}))
"""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stdout + done.stderr
    assert "publisher: still stopping after 0.5 s; exiting\n  tip: a rerun finishes it\n" in (
        done.stderr
    ), done.stderr
    assert time.monotonic() - started < 20


#: ``python -c HOOKED TARGET HOW ARGS...``: ``python -m publisher ARGS...`` whose import of
#: the module TARGET first gets SIGINT (or the signal HOOK_SIGNAL names): HOW ``now`` while the module is in ``sys.modules``
#: yet empty (partly initialised), ``callback`` inside a weakref callback, as when the
#: signal lands in the import machinery's own (the handler's exception is lost there).
HOOKED = """
import os, runpy, signal, sys, weakref
from importlib.machinery import PathFinder

target, how = sys.argv[1], sys.argv[2]
sent = getattr(signal, os.environ.get("HOOK_SIGNAL", "SIGINT"))
# as a terminal's run has them: one started in the background (`nohup`, `&` in a script)
# inherits SIGINT and SIGHUP ignored, which publisher rightly leaves ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Hook:
    def find_spec(self, name, path, target_=None):
        if name != target:
            return None
        spec = PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            if how == "now":
                signal.raise_signal(sent)
            else:
                class Thing:
                    pass

                thing = Thing()
                ref = weakref.ref(thing, lambda _: signal.raise_signal(sent))
                del thing
            run(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, Hook())
sys.argv = ["publisher", *sys.argv[3:]]
runpy.run_module("publisher", run_name="__main__", alter_sys=True)
"""

OFFLINE = ["--config", "examples/offline/matrix.yaml"]


def _sigint_while_importing(
    tmp_path: Path, target: str, how: str, args: list[str], sent: str = "SIGINT"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PUBLISHER_"))}
    env.update(PYTHONPATH=str(ROOT), PUBLISHER_CACHE_DIR=str(tmp_path / "cache"), HOOK_SIGNAL=sent)
    return subprocess.run(
        [sys.executable, "-c", HOOKED, target, how, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("target", "how", "args"),
    [
        # before the CLI's handlers: while its own modules load
        ("click", "now", ["plan", "v1.0.0", *OFFLINE]),
        ("publisher.cli.base", "now", ["plan", "v1.0.0", *OFFLINE]),
        # the handler finds the runner's module in sys.modules, not yet initialised
        (
            "publisher.adapters.runner",
            "now",
            ["release", "v6.1.0", "--local", "--only", "8.4", *OFFLINE],
        ),
        # the handler's exception lost in a callback: the run still ends interrupted
        (
            "publisher.cli.release_cmds",
            "callback",
            ["release", "v6.1.0", "--local", "--only", "8.4", *OFFLINE],
        ),
        ("publisher.cli.core", "callback", ["plan", "v1.0.0", *OFFLINE]),
    ],
)
def test_ctrl_c_while_a_module_loads_ends_the_run_interrupted_in_one_line(
    tmp_path: Path, target: str, how: str, args: list[str]
) -> None:
    result = _sigint_while_importing(tmp_path, target, how, args)
    assert result.returncode == 130, result.stderr
    lines = result.stderr.splitlines()
    said = lines.index("interrupted by SIGINT: stopped before finishing")
    assert all(line.startswith("  ") for line in lines[said + 1 :]), result.stderr  # its tip
    before = lines[:said]  # what `plan` warns first
    assert all(line.startswith(("warning: ", "  ")) for line in before), result.stderr


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_while_the_cli_loads_ends_the_run_in_one_line(
    tmp_path: Path, sent: signal.Signals
) -> None:
    """Before the CLI's handlers are installed, SIGTERM and SIGHUP too end the run with
    the one interrupted line and 128 + the signal, not a silent death."""
    result = _sigint_while_importing(
        tmp_path, "click", "now", ["plan", "v1.0.0", *OFFLINE], sent.name
    )
    assert result.returncode == 128 + sent, result.stderr
    assert result.stderr == f"interrupted by {sent.name}: stopped before finishing\n"
    assert result.stdout == ""
