"""A machine's limits on threads and processes (a container's ``--pids-limit``, a CI
runner's ``TasksMax``, ``ulimit -u``) said as the limit to raise, exit 18, never as a bug
of publisher (exit 1) nor as a failure of the images or the registries; nothing written
before. Real loopback registries; the limit is a pids cgroup of the run's own
(``tests.support.limits``)."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, require_tool
from tests.integration.test_record_scope import World, make_world
from tests.support.images import make_image
from tests.support.limits import few_tasks, hard_open_files
from tests.support.publishing import seed_image, without_run_settings

pytestmark = pytest.mark.integration


def _limited(
    world: World, extra: int, *args: str, matrix: Path
) -> subprocess.CompletedProcess[str]:
    """``publisher ARGS`` allowed ``extra`` threads and processes besides its own."""
    with few_tasks(extra) as limit:
        return world.run(*args, matrix=matrix, preexec=limit.preexec)


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content's hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def published(
    tmp_path: Path, fresh_registry: Callable[..., Any], write_matrix: Any
) -> Iterator[tuple[World, Path, Any]]:
    """v1.0.0 (PHP 8.3 and 8.4, amd64 and arm64) published to hub and ghcr; quay, empty,
    is the third registry of ``three.yaml``."""
    hub, ghcr, quay = fresh_registry(), fresh_registry(), fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=ghcr.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    world.publish("v1.0.0", matrix, ("8.3", "8.4"))
    yield world, matrix, quay


@pytest.mark.parametrize("command", [("verify", "v1.0.0"), ("audit",), ("check-public", "v1.0.0")])
def test_a_thread_that_cannot_be_started_is_the_machine_s_limit_not_a_bug(
    published: tuple[World, Path, Any], command: tuple[str, ...]
) -> None:
    world, matrix, _ = published
    result = _limited(world, 2, *command, matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 18, said
    assert "internal error" not in said and "bug" not in said, said
    assert "cannot start a thread" in said, said
    assert "pids" in said and "ulimit -u" in said and "--pids-limit" in said, said
    assert "--transfers" not in said and "--jobs" not in said, said  # they have neither
    assert "Traceback" not in said, said


def _tags(host: str, repo: str) -> list[str]:
    answer = requests.get(f"http://{host}/v2/{repo}/tags/list", timeout=30)
    return sorted(answer.json().get("tags") or []) if answer.status_code == 200 else []


def test_a_publish_that_cannot_start_a_thread_writes_nothing_and_names_its_options(
    published: tuple[World, Path, Any],
) -> None:
    """The limit met as the publish plans, its copy's pool asking 32 threads (--transfers
    32, images of 24 layers): exit 18, the tip naming --jobs and --transfers beside the
    limit; no tag written anywhere, the notes as they were; the same command without the
    limit then finishes."""
    world, matrix, _ = published
    digests = world.root / "digests-v1.1.0"
    digests.mkdir()
    hub = world.hosts["hub"]
    for php in ("8.3", "8.4"):
        image = make_image(layer_sizes=(256,) * 24)
        seed_image(
            digests,
            "v1.1.0",
            php,
            image,
            push_to=hub,
            repo=world.repo,
            image_repo=f"{hub}/{world.repo}",
        )
    before = _tree(world.notes), {n: _tags(h, world.repo) for n, h in world.hosts.items()}
    argv = ("publish", "v1.1.0", "--digests", str(digests), "--no-smoke", "--transfers", "32")
    result = _limited(world, 16, *argv, matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 18, said
    assert "cannot start a thread: the limit on threads and processes was reached" in said, said
    assert "--pids-limit" in said and "TasksMax" in said and "ulimit -u" in said, said
    assert "lower --transfers (blob copies at once) or --jobs (builds and smoke" in said, said
    assert "internal error" not in said and "Traceback" not in said, said
    after = _tree(world.notes), {n: _tags(h, world.repo) for n, h in world.hosts.items()}
    assert after == before
    rerun = world.run(*argv, matrix=matrix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr


#: Runs each command given on its command line through publisher's Runner (``probe``
#: for a first word "probe"), each failure said as ``EXIT KIND: MESSAGE`` then ``tip: HINT``.
RUN_TOOLS = """
import resource, os, sys
from publisher.adapters.runner import Runner
from publisher.core.errors import PublisherError
if os.environ.get("FILES_LEFT"):  # no more files than those open and FILES_LEFT
    open_now = len(os.listdir("/proc/self/fd")) - 1
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + int(os.environ["FILES_LEFT"]), hard))
for command in sys.argv[1:]:
    words = command.split()
    try:
        if words[0] == "probe":
            Runner().probe(words[1:])
        else:
            Runner().run(words)
        print("ok")
    except PublisherError as exc:
        print(exc.exit_code, f"{exc.label}: {exc.message}")
        print("tip:", exc.hint)
"""


def _tools(
    *commands: str, preexec: Callable[[], None] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_TOOLS, *commands],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
        preexec_fn=preexec,
    )


def test_a_tool_that_cannot_be_started_for_the_process_limit_is_not_called_broken() -> None:
    """No process may be added (a pids cgroup allowing the run alone): a tool cannot be
    started (fork: EAGAIN), said as the limit (exit 18), never as a tool to reinstall
    (exit 10, "installed but does not work") nor as one to make executable. Where no
    cgroup can be made the tool starts, and dies as it starts its threads: the limit too."""
    buildah = require_tool("buildah")
    with few_tasks(0) as limit:
        result = _tools(f"probe {buildah} --version", f"{buildah} images", preexec=limit.preexec)
    said = result.stdout + result.stderr
    assert said.count("18 resource limit: cannot ") == 2, said
    assert said.count("the limit on threads and processes was reached") == 2, said
    if limit.mechanism == "cgroup":
        assert "cannot start `buildah --version`" in said, said
        assert "Resource temporarily unavailable" in said, said
    assert "--pids-limit" in said and "TasksMax" in said and "ulimit -u" in said, said
    assert "does not work" not in said and "executable" not in said, said
    assert "Traceback" not in said, said


def test_a_go_tool_dying_for_the_thread_limit_says_why_not_its_goroutine_dump() -> None:
    """buildah (Go) started, but could not start its threads: its output begins with the
    line saying why, then dumps every goroutine. The error shows that line, exit 18, not
    the dump's last lines."""
    buildah = require_tool("buildah")
    with few_tasks(3) as limit:
        result = _tools(f"{buildah} images", preexec=limit.preexec)
    said = result.stdout + result.stderr
    assert said.startswith("18 resource limit: cannot run `buildah images`: "), said
    assert "the limit on threads and processes was reached" in said, said
    assert "pthread_create failed" in said or "failed to create new OS thread" in said, said
    assert "goroutine" not in said and "Traceback" not in said, said


def test_a_tool_that_cannot_be_started_for_the_open_files_limit_says_that_limit() -> None:
    """The files run out as the command's pipes are made (EMFILE): exit 18, the limit and
    its value, never "check that buildah is executable" (exit 11), nor a broken tool."""
    buildah = require_tool("buildah")
    result = _tools(f"probe {buildah} --version", f"{buildah} images", FILES_LEFT="1")
    said = result.stdout + result.stderr
    assert said.count("18 resource limit: cannot start `buildah ") == 2, said
    assert said.count(": too many open files (the limit is ") == 2, said
    assert "`ulimit -n 4096`" in said, said
    assert "executable" not in said and "does not work" not in said, said
    assert "Traceback" not in said, said


def test_buildah_refusing_a_container_s_open_files_limit_blames_the_machine() -> None:
    """A hard open-files limit of 256 that the run may not raise (a container without
    CAP_SYS_RESOURCE): `buildah run` cannot set the 1024 it gives each container. Said as
    the machine's limit to raise (exit 11, as a command failing for the machine's
    reason), nothing found wrong with the image."""
    buildah = require_tool("buildah")
    made = subprocess.run([buildah, "from", "scratch"], capture_output=True, text=True, check=True)
    container = made.stdout.strip()
    try:
        run = f"{buildah} run --isolation chroot {container} -- /nothing"
        result = _tools(run, preexec=hard_open_files(256))
    finally:
        subprocess.run([buildah, "rm", container], capture_output=True, check=False)
    said = " ".join((result.stdout + result.stderr).split())
    assert said.startswith("11 command failed: `buildah run` cannot run commands in a "), said
    assert "open-files limit of 1024, above the hard limit of this run (256, `ulimit -Hn`)" in said
    assert "nothing was found wrong with the image" in said, said
    assert "`ulimit -Hn 1024` as root" in said and "--ulimit nofile=1024:1024" in said, said


def test_a_rehearsal_under_a_hard_open_files_limit_buildah_cannot_run_under_stops_first(
    tmp_path: Path,
) -> None:
    """The tester's rehearsal at `ulimit -n 256`: every buildah smoke test would fail
    (exit 13, blamed on the images and QEMU) after every build. Refused before anything
    is built or pushed, exit 11, naming the limit to raise; nothing left behind."""
    require_tool("buildah")
    shutil.copytree(ROOT / "examples" / "offline", tmp_path / "examples" / "offline")
    shutil.copytree(ROOT / "dockerfiles", tmp_path / "dockerfiles")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = without_run_settings(PUBLISHER_PLATFORMS="linux/amd64", TMPDIR=str(scratch))
    rehearsal = ("release", "v1.0.0", "--local", "--only", "8.4")
    result = subprocess.run(
        [sys.executable, "-m", "publisher", *rehearsal, "--config", "examples/offline/matrix.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
        preexec_fn=hard_open_files(256),
    )
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 11, said
    assert "open-files limit of 1024, above the hard limit of this run (256, `ulimit -Hn`)" in said
    assert "found before anything was built or pushed" in said, said
    assert "`ulimit -Hn 1024` as root" in said, said
    assert "buildah build" not in said and "QEMU" not in said, said
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "examples" / "offline" / ".publisher").exists()


@pytest.mark.parametrize("command", [("verify", "v1.0.0"), ("audit",)])
def test_the_open_files_tip_of_a_command_without_transfers_does_not_name_it(
    published: tuple[World, Path, Any], command: tuple[str, ...]
) -> None:
    """verify and audit read a fixed number of registries at once: out of open files
    (``ulimit -n 5``), their tip says to raise the limit, and names no --transfers (a
    usage error there) nor --jobs."""
    world, matrix, _ = published

    def few_files() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (5, hard))

    result = world.run(*command, matrix=matrix, preexec=few_files)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 18, said
    assert "too many open files (the limit is 5, `ulimit -n`)" in said, said
    assert "raise the limit (`ulimit -n 4096` in the shell that runs publisher); then rerun" in said
    assert "--transfers" not in said and "--jobs" not in said, said
