"""A machine whose tools are there but broken: each is found before anything is started,
built or pushed, as a missing or broken tool (exit 10) naming what is wrong and what to do; never a
wait without end, never a failure after the builds.

The real tools run; where one must be broken, a PATH shim stands in for it (a script named
``buildah`` or ``docker`` placed first on PATH that fails or hangs), and it is labelled
so in each test. The daemon out of reach is the real docker CLI pointed at a socket that
does not exist; the user without rights is the real ``nobody``.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.integration

MATRIX = str(ROOT / "examples/offline/matrix.yaml")
ONE_LEG = {"PUBLISHER_LINES": "8.4", "PUBLISHER_PLATFORMS": "linux/amd64"}


def publisher(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    probe_timeout: float | None = None,
    timeout: float = 240,
    user: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process; ``probe_timeout`` shortens how long a tool may
    take to answer about itself (``runner.PROBE_TIMEOUT``), so a hang is found fast."""
    code = "import sys\n"
    if probe_timeout is not None:
        code += f"import publisher.adapters.runner as r; r.PROBE_TIMEOUT = {probe_timeout}\n"
    code += "from publisher.cli import main\nsys.argv[0] = 'publisher'\nmain()\n"
    argv = [sys.executable, "-c", code, *args]
    if user is not None:
        assert user in ("nobody", "nobody in the docker group"), user
        argv = [*(AS_NOBODY if user == "nobody" else as_nobody_in_docker_group()), *argv]
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie awaiting init is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def shim(directory: Path, name: str, body: str) -> Path:
    """A broken stand-in for tool ``name``, first on PATH (a test double, said as such)."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n# PATH shim: a broken {name} for this test\n{body}\n")
    path.chmod(0o755)
    return path


def base_env(tmp_path: Path, shims: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PUBLISHER_", "DOCKER_", "BUILDAH_", "GITHUB_"))
    }
    env["PATH"] = (f"{shims}{os.pathsep}" if shims else "") + os.environ.get("PATH", os.defpath)
    env["PUBLISHER_CACHE_DIR"] = os.environ.get("PUBLISHER_CACHE_DIR") or str(
        Path.home() / ".cache" / "publisher"
    )
    return {**env, **ONE_LEG, **extra}


def rehearsal(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "release",
        "v1.0.0",
        "--local",
        "--config",
        MATRIX,
        "--notes-dir",
        str(tmp_path / "notes"),
        "--digests",
        str(tmp_path / "digests"),
        *extra,
    ]


def nothing_started(result: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text
    assert "is played by" not in text, text  # no throwaway registry was started
    assert "pushed sha256" not in text and "pushed STAND-IN" not in text, text
    assert not (tmp_path / "notes").exists() and not (tmp_path / "digests").exists()


def test_a_builder_that_fails_to_say_its_version_is_a_broken_tool(tmp_path: Path) -> None:
    require_tool("buildah")
    shims = tmp_path / "shims"
    fake = shim(shims, "buildah", "echo 'buildah: cannot load libgpgme.so.11' >&2; exit 1")
    env = base_env(tmp_path, shims)
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"error: broken tool: buildah ({fake}) is installed but does not work" in result.stderr
    assert "`buildah --version` failed with exit status 1: buildah: cannot load" in result.stderr
    assert "put a working buildah first on PATH" in result.stderr
    nothing_started(result, tmp_path)


@pytest.mark.parametrize("tool", ["docker", "buildah"])
def test_a_tool_that_hangs_is_reported_not_waited_for(tmp_path: Path, tool: str) -> None:
    require_tool(tool)
    shims = tmp_path / "shims"
    # The shell waits on a child holding its output open: killing the shell alone is
    # not enough to end the wait.
    pids = tmp_path / "pids"
    shim(shims, tool, f"sleep 600 & echo $! >> {pids}; wait")
    env = base_env(tmp_path, shims)
    builder = "buildx" if tool == "docker" else "buildah"
    started = time.monotonic()
    try:
        result = publisher(
            *rehearsal(tmp_path, "--builder", builder, "--dry-run"),
            env=env,
            cwd=tmp_path,
            probe_timeout=2,
            timeout=60,
        )
        took = time.monotonic() - started
        children = [int(pid) for pid in pids.read_text().split()]
        assert children and not [pid for pid in children if alive(pid)], "a shim's child lives on"
    finally:  # should the shim's own child outlive it
        for pid in pids.read_text().split() if pids.exists() else ():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    assert took < 15, f"the run took {took:.1f}s"
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"error: broken tool: {tool} ({shims / tool}) is installed but does not work" in (
        result.stderr
    )
    assert "did not finish within 2 s" in result.stderr
    nothing_started(result, tmp_path)


def test_buildx_without_a_reachable_daemon_stops_before_anything_starts(tmp_path: Path) -> None:
    require_tool("docker")
    env = base_env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/nonexistent.sock")
    version = subprocess.run(["docker", "buildx", "version"], capture_output=True, env=env)
    if version.returncode != 0:
        pytest.skip("needs the docker buildx plugin")
    result = publisher(*rehearsal(tmp_path, "--builder", "buildx"), env=env, cwd=tmp_path)
    assert result.returncode == 10, result.stdout + result.stderr
    assert "docker buildx cannot use its builder" in result.stderr
    assert "nonexistent.sock" in result.stderr  # the daemon's own words
    assert "DOCKER_HOST" in result.stderr and "--builder buildah" in result.stderr
    nothing_started(result, tmp_path)


def path_without(directory: Path, *names: str) -> str:
    """A PATH holding every program of this one but ``names``: links to them in
    ``directory`` (a machine without those tools)."""
    directory.mkdir()
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        entries = sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []
        for entry in entries:
            link = directory / entry.name
            if entry.name in names or link.exists() or not os.access(entry, os.X_OK):
                continue
            link.symlink_to(entry)
    return str(directory)


def broken_buildx_plugin(tmp_path: Path) -> Path:
    """A docker config whose buildx plugin (a PATH-like shim, said so) cannot run: it
    shadows the system's, and the docker CLIs list it under Invalid Plugins."""
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "config.json").write_text("{}\n")
    shim(config / "cli-plugins", "docker-buildx", "exit 1")
    return config


def test_a_broken_buildx_plugin_is_passed_over_saying_why(tmp_path: Path) -> None:
    """The automatic choice takes buildah in one line naming what is wrong with buildx;
    `--builder buildx` says it is installed but does not work, not that it is missing."""
    require_tool("buildah")
    require_tool("docker")
    config = broken_buildx_plugin(tmp_path)
    env = base_env(tmp_path, DOCKER_CONFIG=str(config))
    result = publisher(*rehearsal(tmp_path, "--dry-run"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert (
        "builder: buildx passed over: docker buildx (the buildx plugin of " in said
        and ") is installed but does not work: failed to fetch metadata" in said
        and "; `--builder buildx` shows the error and what to do builder: buildah (" in said
    ), said
    named = publisher(*rehearsal(tmp_path, "--builder", "buildx"), env=env, cwd=tmp_path)
    assert named.returncode == 10, named.stdout + named.stderr
    said = " ".join(named.stderr.split())
    assert "error: broken tool: docker buildx (the buildx plugin of " in said, said
    assert "is installed but does not work: failed to fetch metadata" in said, said
    assert "is not installed" not in said and "Invalid Plugins" in said, said
    assert "or use --builder buildah" in said, said
    nothing_started(named, tmp_path)


def test_a_docker_daemon_out_of_reach_passes_buildx_over_for_buildah(tmp_path: Path) -> None:
    """The automatic choice falls back to buildah, saying why, when buildx's builder
    cannot reach the docker daemon; without buildah it stops, its tip offering no
    builder that is not installed."""
    require_tool("buildah")
    env = base_env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/nonexistent.sock")
    version = subprocess.run(["docker", "buildx", "version"], capture_output=True, env=env)
    if version.returncode != 0:
        pytest.skip("needs the docker buildx plugin")
    result = publisher(*rehearsal(tmp_path, "--dry-run"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "builder: buildx passed over: docker buildx cannot use its builder" in said, said
    assert "nonexistent.sock" in said and "nothing was built" not in said, said
    assert "`--builder buildx` shows the error and what to do builder: buildah (" in said, said
    env["PATH"] = path_without(tmp_path / "bin", "buildah")
    alone = publisher(*rehearsal(tmp_path, "--dry-run"), env=env, cwd=tmp_path)
    assert alone.returncode == 10, alone.stdout + alone.stderr
    said = " ".join(alone.stderr.split())
    assert "docker buildx cannot use its builder" in said, said
    assert "--builder" not in said and "passed over" not in said, said
    nothing_started(alone, tmp_path)


def test_a_broken_smoke_test_engine_is_found_before_the_builds(tmp_path: Path) -> None:
    require_tool("docker")
    if subprocess.run(["docker", "buildx", "inspect"], capture_output=True).returncode != 0:
        pytest.skip("needs a working docker buildx")
    shims = tmp_path / "shims"
    # The default builder is buildx; the default smoke-test engine buildah, when installed.
    fake = shim(shims, "buildah", "exit 125")
    env = base_env(tmp_path, shims)
    result = publisher(*rehearsal(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"buildah ({fake}) is installed but does not work" in result.stderr
    assert "builder: buildx" in result.stderr  # the builder works: the engine is refused
    assert "builder:" not in result.stdout  # the run's progress, not its result
    assert "Build 1 image" not in result.stderr  # no build step began
    # the way round it: docker is there and reaches its daemon
    tip = " ".join(result.stderr.partition("\n  tip: ")[2].split())
    assert tip.startswith("repair or reinstall it"), tip
    assert (
        f"; or take {fake} off PATH: the smoke tests (and a rehearsal's stand-in bases) then "
        "run with docker, whose "
    ) in tip and " reaches its daemon" in tip, tip
    nothing_started(result, tmp_path)


def test_the_smoke_test_uses_a_docker_cli_that_reaches_the_daemon(tmp_path: Path) -> None:
    """A broken docker first on PATH, a working one at its usual place: the builder and
    the smoke test both take the working one."""
    real = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if Path(p).is_file()), "")
    if not real or subprocess.run([real, "info"], capture_output=True).returncode != 0:
        pytest.skip("needs a docker CLI in /usr/bin or /usr/local/bin and a running daemon")
    shims = tmp_path / "shims"
    shim(shims, "docker", "exit 1")
    env = base_env(tmp_path, shims)
    result = publisher(
        *rehearsal(tmp_path, "--builder", "docker"), env=env, cwd=tmp_path, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke-test" in result.stderr.lower()  # the step's title: progress
    assert "starts, php-fpm -t passes" in result.stdout


#: A docker CLI that says its client's version and has a buildx plugin, yet cannot reach
#: its daemon (DOCKER_HOST pointing nowhere, for that CLI alone).
UNREACHING_DOCKER = """case "$1" in
  version) case "$3" in *Client*) echo 27.0.0; exit 0;; esac
    echo "Cannot connect to the Docker daemon at unix:///fake.sock. Is the docker daemon running?" >&2
    exit 1;;
  buildx) [ "$2" = version ] && { echo "github.com/docker/buildx v0.14.0 fake"; exit 0; }
    echo "ERROR: Cannot connect to the Docker daemon at unix:///fake.sock" >&2; exit 1;;
  *) exit 1;;
esac"""


def test_the_docker_builder_uses_a_docker_cli_that_reaches_the_daemon(tmp_path: Path) -> None:
    """A docker first on PATH that cannot reach its daemon, a working one at its usual
    place: the docker builder takes the working one, as the smoke test's engine does."""
    real = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if Path(p).is_file()), "")
    if not real or subprocess.run([real, "info"], capture_output=True).returncode != 0:
        pytest.skip("needs a docker CLI in /usr/bin or /usr/local/bin and a running daemon")
    shims = tmp_path / "shims"
    shim(shims, "docker", UNREACHING_DOCKER)
    env = base_env(tmp_path, shims)
    result = publisher(
        *rehearsal(tmp_path, "--builder", "docker", "--dry-run"), env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "builder: docker (docker " in said and f"({real})" in said, said
    assert f"env DOCKER_BUILDKIT=1 {real} build --platform linux/amd64" in said, said
    assert str(shims / "docker") not in said, said


def test_a_home_that_cannot_hold_the_stand_in_cache_is_said_before_anything_starts(
    tmp_path: Path,
) -> None:
    require_tool("buildah")
    home = tmp_path / "home"
    home.write_text("a file where HOME should be a directory\n")
    env = base_env(tmp_path, HOME=str(home))
    for name in ("PUBLISHER_CACHE_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 18, result.stdout + result.stderr
    assert f"the cache {home}/.cache/publisher is not writable" in result.stderr
    assert "set PUBLISHER_CACHE_DIR to a writable directory" in result.stderr
    nothing_started(result, tmp_path)


def test_no_qemu_for_a_foreign_platform_is_found_before_any_leg_is_built(tmp_path: Path) -> None:
    """binfmt_misc as a machine without QEMU shows it: a ``status`` file and no handler.
    A private mount namespace holds the stand-in directory (over
    /proc/sys/fs/binfmt_misc), so that nothing changes for any other process."""
    require_tool("buildah")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private mount namespace")
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("needs an amd64 or arm64 machine")
    env = base_env(tmp_path, PUBLISHER_PLATFORMS="linux/amd64,linux/arm64")
    without_qemu = (
        "mount -t tmpfs -o size=64k tmpfs /proc/sys/fs/binfmt_misc && "
        'printf "enabled\\n" > /proc/sys/fs/binfmt_misc/status && exec "$@"'
    )
    code = "from publisher.cli import main; import sys; sys.argv[0] = 'publisher'; main()"
    namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c", without_qemu, "sh"]
    for builder in ("buildx", "buildah"):
        result = subprocess.run(
            [*namespace, sys.executable, "-c", code, *rehearsal(tmp_path, "--builder", builder)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 10, result.stdout + result.stderr
        nothing_started(result, tmp_path)
        foreign = "linux/arm64" if os.uname().machine == "x86_64" else "linux/amd64"
        assert f"cannot run {foreign} binaries" in result.stderr
        assert "no QEMU handler" in result.stderr and "qemu-user-static" in result.stderr
        assert "PUBLISHER_PLATFORMS=" in result.stderr


#: Where docker looks for its plugins after ``$DOCKER_CONFIG/cli-plugins`` (Debian's first).
SYSTEM_PLUGIN_DIRS = (
    Path("/usr/libexec/docker/cli-plugins"),
    Path("/usr/local/libexec/docker/cli-plugins"),
    Path("/usr/lib/docker/cli-plugins"),
    Path("/usr/local/lib/docker/cli-plugins"),
)

BROKEN_DOCKER_CONFIG = {
    "not JSON": "not valid JSON",
    "huge": "larger than 1 MiB",
    "a directory": "config",
}


def broken_docker_config(tmp_path: Path, kind: str) -> Path:
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    if kind == "not JSON":
        config.write_text('{"auths": {')
    elif kind == "huge":
        config.write_text("{" + " " * (1 << 20) + "}")
    else:
        config.mkdir()
    return config


@pytest.mark.parametrize("kind", sorted(BROKEN_DOCKER_CONFIG))
def test_a_broken_docker_config_stops_a_real_run_before_anything_starts(
    tmp_path: Path, kind: str
) -> None:
    require_tool("buildah", "docker")
    config = broken_docker_config(tmp_path, kind)
    env = base_env(tmp_path, DOCKER_CONFIG=str(config.parent))
    real_run = [arg for arg in rehearsal(tmp_path) if arg != "--local"]
    result = publisher(*real_run, env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"{config}: " in result.stderr
    assert BROKEN_DOCKER_CONFIG[kind] in result.stderr and "tip: " in result.stderr
    nothing_started(result, tmp_path)


@pytest.mark.parametrize(("kind", "builder"), [("not JSON", "buildah"), ("a directory", "buildx")])
def test_a_rehearsal_with_a_broken_docker_config_warns_and_goes_on_with_an_empty_one(
    tmp_path: Path, kind: str, builder: str
) -> None:
    """Its throwaway registries need no credentials. buildah would refuse to pull even
    from them with the broken file: the run's tools read an empty throwaway config,
    removed at the end; the broken one is left as it was."""
    require_tool("buildah", "docker", "docker-registry")
    config = broken_docker_config(tmp_path, kind)
    before = config.read_bytes() if config.is_file() else None
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = base_env(tmp_path, DOCKER_CONFIG=str(config.parent), TMPDIR=str(scratch))
    result = publisher(*rehearsal(tmp_path, "--builder", builder), env=env, cwd=tmp_path)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    said = " ".join(result.stderr.split())
    assert f"warning: {config}: " in said and BROKEN_DOCKER_CONFIG[kind] in said, said
    assert "the rehearsal goes on with an empty docker config" in said
    assert "A real release stops on it" in said
    assert "rehearsal finished" in result.stdout
    # the run's progress is on stderr: the builder, the throwaway registries, the stand-ins
    for progress in ("builder:", "is played by", "are served by", "pushed STAND-IN"):
        assert progress not in result.stdout and progress in result.stderr, progress
    assert (config.read_bytes() if config.is_file() else None) == before
    assert not list(scratch.glob("publisher-empty-docker-config-*"))


#: ``docker ARGS...`` (the script's arguments) run inside a rehearsal's docker config swap.
DOCKER_IN_SWAP = """
import os, subprocess, sys
from publisher.adapters.output import Output
from publisher.adapters.registry.credentials import docker_config_for_run
env = dict(os.environ)
with docker_config_for_run(env, Output(env), rehearsal=True):
    done = subprocess.run(["docker", *sys.argv[1:]], env=env, capture_output=True, text=True)
print(done.returncode, done.stdout + done.stderr)
"""


def test_a_rehearsal_with_a_broken_docker_config_keeps_the_docker_plugins_beside_it(
    tmp_path: Path,
) -> None:
    """buildx installed for this user only (``~/.docker/cli-plugins``, as on many Macs)
    is still found by docker while the rehearsal reads the empty throwaway config."""
    require_tool("docker")
    (system_plugins,) = [p for p in SYSTEM_PLUGIN_DIRS if (p / "docker-buildx").exists()]
    config = broken_docker_config(tmp_path, "not JSON")
    (config.parent / "cli-plugins").mkdir()
    shutil.copy2(system_plugins / "docker-buildx", config.parent / "cli-plugins")
    env = base_env(tmp_path, DOCKER_CONFIG=str(config.parent))
    hide = f'mount -t tmpfs tmpfs {system_plugins} && exec "$@"'  # buildx only beside the config
    namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "sh"]
    result = subprocess.run(
        [*namespace, sys.executable, "-c", DOCKER_IN_SWAP, "buildx", "version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 ") and "buildx" in result.stdout, result.stdout


def test_a_rehearsal_with_a_broken_docker_config_builds_with_the_buildx_builder_in_use(
    tmp_path: Path,
) -> None:
    """The builder ``docker buildx use`` chose (kept beside the config, as docker's
    contexts are) is the one the rehearsal checked before it swapped the config, and the
    one its builds use; the throwaway config's removal leaves it in place."""
    require_tool("docker")
    config = broken_docker_config(tmp_path, "not JSON")
    name = f"publisher-test-{tmp_path.name[-12:].lower().replace('_', '-')}"
    env = base_env(tmp_path, DOCKER_CONFIG=str(config.parent))
    config.write_text("{}")  # buildx writes the config too: make the builder, then break it
    create = ["docker", "buildx", "create", "--name", name, "--driver", "docker-container", "--use"]
    made = subprocess.run(create, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    config.write_text('{"auths": {')
    result = subprocess.run(
        [sys.executable, "-c", DOCKER_IN_SWAP, "buildx", "inspect"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 ") and f"Name:          {name}" in result.stdout, (
        result.stdout
    )
    assert "docker-container" in result.stdout
    assert (config.parent / "buildx" / "instances" / name).is_file()


def test_buildah_with_a_docker_config_directory_that_has_no_config_is_refused_up_front(
    tmp_path: Path,
) -> None:
    require_tool("buildah")
    nowhere = tmp_path / "no-such-directory"
    env = base_env(tmp_path, DOCKER_CONFIG=str(nowhere))
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"DOCKER_CONFIG={nowhere} holds no config.json" in result.stderr
    assert "unset it" in result.stderr
    nothing_started(result, tmp_path)


@pytest.mark.parametrize("value", ["bogus", " "])
def test_a_buildah_isolation_buildah_does_not_know_is_refused_up_front(
    tmp_path: Path, value: str
) -> None:
    """Every buildah command refuses it, but only the first build said so, after the
    throwaway registries had started and the stand-in bases were pushed. Bad input (exit
    2), as any variable publisher reads: a blank one too, which buildah refuses itself."""
    require_tool("buildah")
    env = base_env(tmp_path, BUILDAH_ISOLATION=value)
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"BUILDAH_ISOLATION={value!r} is not an isolation buildah knows" in result.stderr
    assert "(chroot, oci, rootless)" in result.stderr
    assert "set BUILDAH_ISOLATION to chroot" in result.stderr and "unset it" in result.stderr
    nothing_started(result, tmp_path)


def test_a_buildah_isolation_is_refused_up_front_when_only_the_stand_ins_use_buildah(
    tmp_path: Path,
) -> None:
    """A docker-built rehearsal builds its stand-in bases with this machine's engine,
    buildah (root here): a BUILDAH_ISOLATION buildah does not know was said only after the
    throwaway registries had started (a cold stand-in cache), and not at all with a warm
    one. Said before anything starts, whatever the cache holds."""
    require_tool("buildah")
    real = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if Path(p).is_file()), "")
    if not real or subprocess.run([real, "info"], capture_output=True).returncode != 0:
        pytest.skip("needs a docker CLI and a running daemon")
    if os.geteuid() != 0:
        pytest.skip("needs root: buildah is the stand-ins' engine then")
    env = base_env(tmp_path, BUILDAH_ISOLATION="bogus")
    env["PUBLISHER_CACHE_DIR"] = str(tmp_path / "cold-cache")
    result = publisher(*rehearsal(tmp_path, "--builder", "docker"), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "BUILDAH_ISOLATION='bogus' is not an isolation buildah knows" in result.stderr
    nothing_started(result, tmp_path)


def test_a_tmpdir_that_is_not_there_is_said_before_anything_starts(tmp_path: Path) -> None:
    """Python falls back to /tmp on its own; buildah does not, and failed in its first build."""
    require_tool("buildah")
    nowhere = tmp_path / "no-such-tmp"
    env = base_env(tmp_path, TMPDIR=str(nowhere))
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 18, result.stdout + result.stderr
    assert f"TMPDIR={nowhere} is not a writable directory" in result.stderr
    assert "unset it" in result.stderr
    nothing_started(result, tmp_path)


def test_a_builder_on_path_that_is_not_executable_is_named(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    fake = shim(shims, "buildah", "exit 0")
    fake.chmod(0o644)  # there, but not executable
    env = {**base_env(tmp_path), "PATH": str(shims)}
    result = publisher(*rehearsal(tmp_path, "--builder", "buildah"), env=env, cwd=tmp_path)
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"broken tool: buildah is required, and {fake} is not executable by this user" in (
        result.stderr
    )
    assert f"chmod +x {fake}" in result.stderr
    nothing_started(result, tmp_path)


def test_a_registry_binary_that_fails_at_start_is_a_broken_tool(tmp_path: Path) -> None:
    require_tool("buildah")
    shims = tmp_path / "shims"
    fake = shim(shims, "docker-registry", "echo 'configuration error: bad storage' >&2; exit 1")
    env = base_env(tmp_path, shims)
    result = publisher(
        *rehearsal(tmp_path, "--builder", "buildah", "--dry-run"), env=env, cwd=tmp_path
    )
    assert result.returncode == 10, result.stdout + result.stderr
    assert f"broken tool: the throwaway registry ({fake}) exited at start: configuration error" in (
        result.stderr
    )
    assert "apt-get install docker-registry" in result.stderr
    assert "Traceback" not in result.stderr


#: Runs a command as nobody (uid and gid 65534, no groups) who may still read and search
#: any file, so the test's Python and the checkout may sit under a directory private to
#: root (/root): that is the one right added. nobody may not write there, may not open
#: the docker socket, and is not root to buildah.
AS_NOBODY = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
    "--",
]


def as_nobody_in_docker_group() -> list[str]:
    """AS_NOBODY, but a member of the docker group, as a maintainer on a laptop."""
    try:
        gid = grp.getgrnam("docker").gr_gid
    except KeyError:
        pytest.skip("needs a docker group")
    return [arg if arg != "--clear-groups" else f"--groups={gid}" for arg in AS_NOBODY]


def _nobody_can_run_publisher() -> bool:
    if os.geteuid() != 0:
        return False
    require_tool("setpriv")
    probe = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import publisher.cli"], cwd="/", capture_output=True
    )
    assert probe.returncode == 0, probe.stderr
    return True


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory of nobody's own (pytest's is private to root), with a HOME in it."""
    if not _nobody_can_run_publisher():
        pytest.skip("needs root, to run publisher as nobody")
    work = Path(tempfile.mkdtemp(prefix="publisher-nobody-"))
    try:
        (work / "home").mkdir()
        for path in (work, work / "home"):
            shutil.chown(path, "nobody")
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _nobody_env(work: Path) -> dict[str, str]:
    return {
        "HOME": str(work / "home"),
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "PUBLISHER_CACHE_DIR": str(work / "home" / "cache"),
        # the code under test, not whichever publisher is installed
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        **ONE_LEG,
    }


def test_buildah_as_a_user_without_subordinate_ids_is_refused_up_front(nobody_dir: Path) -> None:
    require_tool("buildah")
    listed = [Path(p).read_text() for p in ("/etc/subuid", "/etc/subgid") if Path(p).exists()]
    if any(line.startswith(("nobody:", "65534:")) for text in listed for line in text.splitlines()):
        pytest.skip("this machine gives nobody subordinate IDs")
    result = publisher(
        *rehearsal(nobody_dir, "--builder", "buildah", "--dry-run"),
        env=_nobody_env(nobody_dir),
        cwd=nobody_dir,
        user="nobody",
    )
    assert result.returncode == 10, result.stdout + result.stderr
    assert "buildah would run rootless as nobody (uid 65534)" in result.stderr
    assert "/etc/subuid" in result.stderr and "usermod --add-subuids" in result.stderr
    nothing_started(result, nobody_dir)


def _refusing_socket() -> None:
    socket = Path("/var/run/docker.sock")
    if not socket.exists() or os.stat(socket).st_mode & 0o006:
        pytest.skip("needs a docker socket that other users cannot open")


def _no_subordinate_ids_for_nobody() -> None:
    listed = [Path(p).read_text() for p in ("/etc/subuid", "/etc/subgid") if Path(p).exists()]
    if any(line.startswith(("nobody:", "65534:")) for text in listed for line in text.splitlines()):
        pytest.skip("this machine gives nobody subordinate IDs")


@pytest.mark.parametrize("builder", ["buildx", "docker"])
def test_a_docker_socket_that_refuses_the_user_is_said_before_anything_starts(
    nobody_dir: Path, builder: str
) -> None:
    """The docker builder's tip said to start dockerd, which runs (tA finding 2)."""
    require_tool("docker")
    _refusing_socket()
    result = publisher(
        *rehearsal(nobody_dir, "--builder", builder, "--dry-run"),
        env=_nobody_env(nobody_dir),
        cwd=nobody_dir,
        user="nobody",
    )
    assert result.returncode == 10, result.stdout + result.stderr
    assert "permission denied" in result.stderr
    tip = result.stderr.partition("tip:")[2]
    assert "join the docker group" in tip and "usermod -aG docker" in tip, tip
    assert "start dockerd" not in tip, tip
    nothing_started(result, nobody_dir)


def test_no_builder_working_says_each_ones_reason_and_offers_none_of_them(
    nobody_dir: Path,
) -> None:
    """tA finding 2: a user neither in the docker group nor given subordinate IDs was
    told buildx's reason alone, its tip offering buildah, whose tip offered docker, whose
    tip offered buildah: all three found broken by the same run."""
    require_tool("buildah", "docker")
    _refusing_socket()
    _no_subordinate_ids_for_nobody()
    result = publisher(
        *rehearsal(nobody_dir, "--dry-run"),
        env=_nobody_env(nobody_dir),
        cwd=nobody_dir,
        user="nobody",
    )
    assert result.returncode == 10, result.stdout + result.stderr
    said, _, tip = result.stderr.partition("tip:")
    assert "no builder works here" in said, said
    assert "buildx: docker buildx cannot use its builder" in said, said
    assert "buildah: buildah would run rootless as nobody (uid 65534)" in said, said
    assert "docker: the docker daemon is not reachable" in said, said
    assert "--builder" not in tip and "build with docker" not in tip, tip
    assert "join the docker group" in tip and "usermod --add-subuids" in tip, tip
    nothing_started(result, nobody_dir)


def test_a_user_without_subordinate_ids_rehearses_with_docker(nobody_dir: Path) -> None:
    """A maintainer's laptop: buildah installed, but no subordinate IDs for the user, who
    is in the docker group. The default builder (buildx), the stand-in bases and the smoke
    tests all use docker; nothing asks for a rootless buildah that cannot work."""
    require_tool("buildah", "docker")
    socket = Path("/var/run/docker.sock")
    if not socket.exists():
        pytest.skip("needs the docker socket")
    listed = [Path(p).read_text() for p in ("/etc/subuid", "/etc/subgid") if Path(p).exists()]
    if any(line.startswith(("nobody:", "65534:")) for text in listed for line in text.splitlines()):
        pytest.skip("this machine gives nobody subordinate IDs")
    as_user = "nobody in the docker group"
    env = _nobody_env(nobody_dir)
    dry = publisher(
        *rehearsal(nobody_dir, "--dry-run"), env=env, cwd=nobody_dir, user=as_user, timeout=600
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "building the STAND-IN base for PHP 8.4" in dry.stderr, dry.stderr
    assert "STAND-IN base for" not in dry.stdout, dry.stdout  # progress, not the result
    assert "rootless" not in dry.stdout + dry.stderr
    real = publisher(*rehearsal(nobody_dir), env=env, cwd=nobody_dir, user=as_user, timeout=900)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "starts, php-fpm -t passes" in real.stdout
    assert (nobody_dir / "notes" / "v1.0.0.json").is_file()


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_a_rehearsal_whose_notes_cannot_be_written_starts_nothing(
    tmp_path: Path, dry_run: bool
) -> None:
    """A read-only checkout (here: a file where the notes directory goes) is exit 18
    before a throwaway registry starts or a stand-in base is built."""
    require_tool("buildah")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the notes directory should be\n")
    argv = rehearsal(tmp_path, "--builder", "buildah", *(["--dry-run"] if dry_run else []))
    argv[argv.index(str(tmp_path / "notes"))] = str(blocked / "notes")
    result = publisher(*argv, env=base_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 18, result.stdout + result.stderr
    assert f"the release notes directory {blocked}/notes is not writable" in result.stderr
    assert "(or pass another directory with --notes-dir DIR)" in result.stderr  # the option
    nothing_started(result, tmp_path)


def test_a_mac_docker_config_does_not_stop_the_rehearsal(tmp_path: Path) -> None:
    """``credsStore: desktop`` and an empty Docker Hub entry, as Docker Desktop writes
    them, on a machine without docker-credential-desktop: the throwaway registries need
    no credential, so the rehearsal runs."""
    require_tool("buildah", "docker")
    if shutil.which("docker-credential-desktop"):
        pytest.skip("this machine has docker-credential-desktop")
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps({"credsStore": "desktop", "auths": {"https://index.docker.io/v1/": {}}})
    )
    env = base_env(tmp_path, DOCKER_CONFIG=str(config.parent))
    result = publisher(*rehearsal(tmp_path, "--dry-run"), env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker-credential-desktop" not in result.stdout + result.stderr


def require_private_mounts() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private mount namespace")


def warm_cache(tmp_path: Path, env: dict[str, str]) -> Path:
    """The test's own stand-in cache, filled by a dry run (so neither the order of the
    tests nor another checkout sharing ~/.cache decides what a rehearsal builds); its
    layouts directory."""
    (tmp_path / "warm").mkdir()
    warm = publisher(
        *rehearsal(tmp_path / "warm", "--builder", "buildah", "--dry-run"),
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert warm.returncode == 0, warm.stdout + warm.stderr
    layouts = Path(env["PUBLISHER_CACHE_DIR"]) / "standins" / "layouts"
    assert any(layouts.glob("*.oci")), warm.stdout + warm.stderr
    return layouts


def rehearse_in_small_tmpdir(
    tmp_path: Path, size: str, env: dict[str, str], *extra: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A rehearsal with TMPDIR on a tmpfs of ``size`` (a private mount namespace, so
    nothing changes for any other process); that TMPDIR and the result."""
    require_private_mounts()
    small = tmp_path / "small-tmp"
    small.mkdir()
    mounted = f'mount -t tmpfs -o size={size} tmpfs "$TMPDIR" && exec "$@"'
    code = "from publisher.cli import main; import sys; sys.argv[0] = 'publisher'; main()"
    namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mounted, "sh"]
    result = subprocess.run(
        [*namespace, sys.executable, "-c", code, *rehearsal(tmp_path, *extra)],
        cwd=tmp_path,
        env={**env, "TMPDIR": str(small)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return small, result


@pytest.mark.parametrize("layout_cached", [True, False], ids=["base-cached", "base-to-build"])
def test_a_tmpdir_too_small_for_the_rehearsal_is_said_as_such(
    tmp_path: Path, layout_cached: bool
) -> None:
    """TMPDIR on a small tmpfs. With the stand-in base cached, the throwaway registries
    keep what the rehearsal pushes there and run out of room; without it, building the
    stand-in base there does first. Either is a full TMPDIR (exit 18), not a registry
    "having trouble" nor a full stand-in cache."""
    require_tool("buildah")
    require_private_mounts()
    cache = tmp_path / "cache"
    env = base_env(tmp_path, PUBLISHER_CACHE_DIR=str(cache), PUBLISHER_RETRY_ATTEMPTS="2")
    layouts = warm_cache(tmp_path, env)
    if not layout_cached:
        shutil.rmtree(layouts)
    small, result = rehearse_in_small_tmpdir(tmp_path, "512k", env, "--builder", "buildah")
    assert result.returncode == 18, result.stdout + result.stderr
    assert f"ran out of room in {small}" in result.stderr
    assert "No space left on device" in result.stderr
    assert "point TMPDIR at a directory with more room" in result.stderr
    assert str(cache) not in result.stderr.partition("  tip:")[0]
    assert "Traceback" not in result.stderr and "having trouble" not in result.stderr


def test_a_copy_between_the_throwaway_registries_that_fills_tmpdir_names_the_full_one(
    tmp_path: Path,
) -> None:
    """Five lines built one at a time fit in TMPDIR (each build's image is gone once
    pushed), their copy to the second throwaway registry does not: a full TMPDIR (exit
    18) naming the registry whose storage could not be written (the copy's target, not
    the one it reads from), with the tip, never a registry having trouble."""
    require_tool("buildah")
    require_private_mounts()
    lines = {"PUBLISHER_LINES": "8.1,8.2,8.3,8.4,8.5"}
    env = base_env(tmp_path, PUBLISHER_CACHE_DIR=str(tmp_path / "cache"), **lines)
    env["PUBLISHER_RETRY_ATTEMPTS"] = "2"
    warm_cache(tmp_path, env)
    small, result = rehearse_in_small_tmpdir(
        tmp_path, "15000k", env, "--builder", "buildah", "--jobs", "1"
    )
    assert result.returncode == 18, result.stdout + result.stderr
    said, _, tip = " ".join(result.stderr.split()).partition(" tip:")
    assert "3/8 Copy every index" in result.stdout + result.stderr, said
    full = re.search(r"the rehearsal's throwaway registry (\S+) ran out of room in (\S+) \(", said)
    assert full is not None, said
    target = re.search(r"copy blob \S+ \(\d+ bytes\) from \S+ to ([^/\s]+)/", said)
    assert target is not None, said
    assert full.groups() == (target.group(1), str(small)), said
    assert "where the throwaway registries keep every image the rehearsal pushes" in said
    assert "no space left on device" in said.lower()
    assert "point TMPDIR at a directory with more room" in tip and "free space there" in tip
    assert "having trouble" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("builder", ["buildah", "docker", "buildx"])
def test_a_build_that_fills_tmpdir_is_a_full_file_system(tmp_path: Path, builder: str) -> None:
    """Room in TMPDIR for the throwaway registries and the cached stand-in base, not for
    the image a builder writes there (buildah's push into a layout, docker save's
    archive, buildx's layout): a full TMPDIR (exit 18), as the stand-in and the
    registries say it, not a failed command whose tip reruns it with temporary paths
    that are gone by then."""
    require_tool("buildah", *(["docker"] if builder != "buildah" else []))
    require_private_mounts()
    env = base_env(tmp_path, PUBLISHER_CACHE_DIR=str(tmp_path / "cache"))
    warm_cache(tmp_path, env)
    small, result = rehearse_in_small_tmpdir(tmp_path, "1800k", env, "--builder", builder)
    assert result.returncode == 18, result.stdout + result.stderr
    said, _, tip = result.stderr.partition("  tip:")
    assert f"ran out of room in {small} (" in said, said
    assert "each build writes its image" in said
    assert "no space left on device" in said.lower()
    assert "point TMPDIR at a directory with more room" in tip
    assert (
        "rerun the build to see" not in tip
        and "rerun the command shown above" not in tip
        and "publisher-build" not in tip
    ), tip
    assert "Traceback" not in result.stderr and "command failed" not in result.stderr


def test_a_rehearsal_whose_notes_fill_their_disk_says_a_rerun_rehearses_again(
    tmp_path: Path, small_disk: Path
) -> None:
    """A rehearsal's notes on a full file system: exit 18, and its rerun does it all
    again on new throwaway registries (the tags it wrote went with them), not "writes
    only the notes", as a release's rerun does."""
    require_tool("buildah")
    argv = rehearsal(tmp_path, "--builder", "buildah")
    argv[argv.index(str(tmp_path / "notes"))] = str(small_disk)
    result = publisher(*argv, env=base_env(tmp_path), cwd=tmp_path, timeout=600)
    assert result.returncode == 18, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "cannot write the release notes" in said and "No space left on device" in said
    assert "no notes file was changed: a rehearsal publishes nothing" in said, said
    assert "rehearses again on new ones" in said
    assert "writes only the notes" not in said and "every tag is written" not in said
