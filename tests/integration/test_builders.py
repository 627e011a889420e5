"""Real builds: the rendered offline Dockerfile FROM a stand-in base, with buildah and
docker, for linux/amd64 and linux/arm64 (QEMU). Each result must be a valid
single-platform OCI layout with the right architecture, push by digest, and pass
the smoke test by digest. buildx runs with the engine's own ``docker`` driver,
which exports an OCI layout; its push-by-digest argv is covered by unit tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters import stop
from publisher.adapters.builders import (
    BuildahBuilder,
    BuilderName,
    BuildRequest,
    BuildxBuilder,
    select_builder,
)
from publisher.adapters.builders.buildah import TRANSIENT_FAILURES
from publisher.adapters.builders.layout import read_layout
from publisher.adapters.emulation import foreign_hint, host_platform
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import Credentials, RegistryClient
from publisher.adapters.runner import Runner, run_tracked
from publisher.adapters.smoke import (
    PORT_TAKEN,
    Engine,
    SmokeTester,
    port_holders,
    smoke_tester,
    start_script,
)
from publisher.core import config as config_module
from publisher.core import smoke_rules
from publisher.core.config import Config
from publisher.core.errors import CommandError, SmokeTestError
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import BasicAuthRegistry
from tests.support.builds import forget_images, image_registry, listed_lines, quiet_runner
from tests.support.github_files import workflow_commands
from tests.support.pipeline import kill_group
from tests.support.sockets import Silent
from tests.support.stopping import stop_during

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHP = "8.4"
CREATED = "2025-01-02T03:04:05Z"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def build_registry() -> Iterator[LocalRegistry]:
    with image_registry() as reg:
        yield reg


@pytest.fixture(scope="module")
def offline(build_registry: LocalRegistry) -> Config:
    """The offline matrix with its stand-in bases pulled from the test registry."""
    require_tool("buildah", "docker")
    standins.push_standins(build_registry.host, runner=quiet_runner(), lines=(PHP,))
    return config_module.load(
        ROOT / "examples/offline/matrix.yaml", {"PUBLISHER_BASE_MIRROR": build_registry.host}
    )


def _request(cfg: Config, platform: Platform, work_dir: Path, **changes: object) -> BuildRequest:
    line = cfg.line(PHP)
    pull = cfg.base_pull_ref(line)
    client = RegistryClient(pull.domain, plain_http=True)
    base = pull.with_digest(client.resolve(pull))
    request = BuildRequest.for_line(
        cfg,
        line,
        platform,
        base=base,
        work_dir=work_dir,
        release="v1.0.0",
        created=CREATED,
        revision=REVISION,
    )
    if changes:
        request = BuildRequest(**{**request.__dict__, **changes})  # type: ignore[arg-type]
    return request


@pytest.mark.parametrize("platform", [Platform.AMD64, Platform.ARM64], ids=lambda p: p.arch)
@pytest.mark.parametrize("name", [BuilderName.BUILDAH, BuilderName.DOCKER], ids=str)
def test_a_real_build_is_a_single_platform_layout_that_passes_the_smoke_test(
    name: BuilderName,
    platform: Platform,
    offline: Config,
    build_registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    require_tool(name.value)
    runner = quiet_runner()
    builder = select_builder(name, runner)
    request = _request(offline, platform, tmp_path)

    out = builder.build(request)

    assert out.builder is name and out.php == PHP and out.platform is platform
    assert out.layout == request.layout_dir and not out.pushed
    index = json.loads((out.layout / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [out.digest]
    image = read_layout(out.layout)  # every blob present, every digest right
    assert (image.os, image.architecture) == ("linux", platform.arch)
    labels = image.labels
    assert labels["dev.publisher.stand-in"] == "true"
    assert labels["dev.publisher.php-line"] == PHP
    assert labels["org.opencontainers.image.version"] == f"v1.0.0-php-{PHP}"
    assert labels["org.opencontainers.image.created"] == CREATED
    assert labels["org.opencontainers.image.revision"] == REVISION
    assert labels["org.opencontainers.image.base.name"] == str(request.base)
    health = image.config["config"]["Healthcheck"]
    assert health["Test"] == ["CMD", "php-fpm-healthcheck"]

    repo = f"test/build-{name}-{platform.arch}"
    client = RegistryClient(build_registry.host, plain_http=True)
    assert client.push_layout(out.layout, repo) == out.digest  # by digest, no tag
    assert client.list_tags(repo) == []

    engine = Engine.BUILDAH if name is BuilderName.BUILDAH else Engine.DOCKER
    result = SmokeTester(runner, engine).test(
        Reference(build_registry.host, repo, None, out.digest),
        platform,
        php_line=PHP,
        extensions=offline.line(PHP).extensions.names,
        plain_http=True,
    )
    assert result.php_version == f"{PHP}.99-standin"
    assert {"bcmath", "gd", "pdo_mysql", "redis", "zend opcache"} <= set(result.modules)


@pytest.mark.parametrize("name", [BuilderName.BUILDAH, BuilderName.BUILDX], ids=str)
def test_one_commit_builds_to_one_digest(
    name: BuilderName, offline: Config, tmp_path: Path
) -> None:
    """The same inputs and SOURCE_DATE_EPOCH give the same digest, files written by
    RUN steps included (buildah: --timestamp; buildx: rewrite-timestamp=true);
    otherwise each file keeps the time of the build that wrote it."""
    if name is BuilderName.BUILDX and not _buildx_available():
        require_tool("docker-buildx")  # skips here, fails in CI
    require_tool("buildah" if name is BuilderName.BUILDAH else "docker")
    builder = select_builder(name, quiet_runner())
    first = builder.build(_request(offline, Platform.AMD64, tmp_path / "one"))
    if isinstance(builder, BuildxBuilder):  # a cache hit would reuse the first's layers
        subprocess.run(
            [builder.docker or "docker", "buildx", "prune", "-af"], check=True, capture_output=True
        )
    second = builder.build(_request(offline, Platform.AMD64, tmp_path / "two"))
    assert first.digest == second.digest
    changed = builder.build(_request(offline, Platform.AMD64, tmp_path / "three", release="v1.0.1"))
    assert changed.digest != first.digest


def test_a_failing_build_shows_the_tail_of_its_output(offline: Config, tmp_path: Path) -> None:
    require_tool("buildah")
    context = tmp_path / "ctx"
    context.mkdir()
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(
        'ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\nRUN echo "the-build-broke-here" && exit 3\n'
    )
    request = _request(
        offline, Platform.ARM64, tmp_path / "work", context=context, dockerfile=dockerfile
    )

    def local_builds() -> set[str]:
        listed = listed_lines(["buildah", "images", "--format", "{{.Name}}:{{.Tag}}"])
        return {name for name in listed if "publisher-build/php-8.4-arm64" in name}

    # Other runs (an interrupted one, a concurrent one) may have left their own builds.
    before = local_builds()
    with pytest.raises(CommandError) as caught:
        select_builder(BuilderName.BUILDAH, quiet_runner()).build(request)
    assert "`buildah build (PHP 8.4, linux/arm64)` failed" in caught.value.message
    assert "the-build-broke-here" in caught.value.message
    assert caught.value.exit_code == 11
    assert local_builds() <= before  # this failed build left no image behind


def _image_store_of_its_own(
    tmp_path: Path,
) -> tuple[dict[str, str], Callable[..., str]]:
    """The environment of a buildah image store in ``tmp_path`` (no other run's images or
    containers come or go in it), and a function that runs buildah in it (its stdout)."""
    require_tool("buildah")
    storage = tmp_path / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "graph"}"\n'
        f'runroot = "{tmp_path / "run"}"\n'
    )
    env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(storage)}

    def buildah(*args: str) -> str:
        return subprocess.run(
            ["buildah", *args], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    return env, buildah


@pytest.mark.parametrize("platform", [Platform.AMD64, Platform.ARM64], ids=lambda p: p.arch)
def test_a_build_stopped_outside_a_run_step_leaves_no_working_container(
    offline: Config, tmp_path: Path, platform: Platform
) -> None:
    """buildah removes its working container when a RUN step is interrupted, but dies of a
    SIGTERM that reaches it elsewhere (creating the container, an ADD, the commit) and
    leaves the container for good. Here the build waits in an ADD from a server that never
    answers when the run stops (``stop_children``, as on Ctrl-C): the container is removed
    all the same, and only that one: the container another leg of the line made meanwhile
    from the same base for the other platform (its pull takes the base's name from this
    build's image), named as buildah names a build's, is kept. An image store of the
    test's own: no other run's containers come or go."""
    env, buildah = _image_store_of_its_own(tmp_path)
    context = tmp_path / "ctx"
    context.mkdir()
    other_platform = Platform.ARM64 if platform is Platform.AMD64 else Platform.AMD64
    with Silent() as silent:
        dockerfile = context / "Dockerfile"
        dockerfile.write_text(
            f"ARG PHP_BASE_IMAGE\nFROM ${{PHP_BASE_IMAGE}}\nADD http://{silent.host}/never /never\n"
        )
        request = _request(
            offline, platform, tmp_path / "work", context=context, dockerfile=dockerfile
        )
        other: list[str] = []

        def another_leg_started() -> bool:
            # waits for buildah to ask for the file: its container exists by then
            if other or not silent.accepted.wait(240):
                return bool(other)
            pull = f"docker://{request.base}"
            other.append(buildah("from", "--arch", other_platform.arch, "--tls-verify=false", pull))
            return True

        runner = Runner(output=Output(env={}, quiet=True), env=env)
        caught = stop_during(
            lambda: select_builder(BuilderName.BUILDAH, runner).build(request),
            another_leg_started,
            within=60,
        )
    assert caught and isinstance(caught[0], CommandError), caught
    assert buildah("containers", "--format", "{{.ContainerName}}").split() == other


class _Gates:
    """Ports of the test's that a RUN step waits on (chroot isolation: the host's network):
    bound, not listening, so a connection is refused till the test opens one."""

    def __init__(self, *names: str) -> None:
        self.sockets = {name: socket.socket() for name in names}
        for gate in self.sockets.values():
            gate.bind(("127.0.0.1", 0))

    def wait_for(self, name: str) -> str:
        """A RUN step's command that waits till the gate opens; it ends the step when its
        container's files are gone (`sleep` with them)."""
        port = self.sockets[name].getsockname()[1]
        return f"until nc 127.0.0.1 {port} -e true 2>/dev/null; do sleep 0.1 || exit 4; done"

    def open(self, name: str) -> None:
        self.sockets[name].listen()

    def close(self) -> None:
        """Open every gate (whatever went wrong, no RUN waits for ever), then close them."""
        for gate in self.sockets.values():
            with contextlib.suppress(OSError):
                gate.listen()
        for gate in self.sockets.values():
            gate.close()


def _another_build(
    env: dict[str, str], platform: Platform, dockerfile: Path
) -> subprocess.Popen[str]:
    """A plain ``buildah build`` of ``dockerfile`` (another run's, another tool's)."""
    return subprocess.Popen(
        [
            "buildah",
            "build",
            "--isolation",
            "chroot",
            "--platform",
            platform.value,
            "--tls-verify=false",
            "-f",
            str(dockerfile),
            str(dockerfile.parent),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for_containers(buildah: Callable[..., str], count: int) -> None:
    """Wait till the store holds ``count`` containers."""
    deadline = time.monotonic() + 120
    while len(buildah("containers", "--quiet").split()) < count:
        assert time.monotonic() < deadline, f"no {count} containers"
        time.sleep(0.1)


def test_a_failed_build_leaves_alone_another_build_of_the_same_base(
    offline: Config, tmp_path: Path
) -> None:
    """Two builds from one base for one platform at once (two releases or rehearsals on
    one machine): the one whose RUN step fails removes no container, and the other, in its
    own RUN step meanwhile, builds to its end. buildah removes a failed build's container
    itself; publisher removes what a build left only when the build was stopped. Each
    RUN waits on a gate: the failing build's until the other's container exists, the
    other's until the failed build is over."""
    env, buildah = _image_store_of_its_own(tmp_path)
    platform = host_platform()
    assert platform is not None
    context = tmp_path / "ctx"
    context.mkdir()
    gates = _Gates("fails", "other")
    failing = context / "Dockerfile.fails"
    failing.write_text(
        f"ARG PHP_BASE_IMAGE\nFROM ${{PHP_BASE_IMAGE}}\nRUN {gates.wait_for('fails')}; exit 3\n"
    )
    request = _request(offline, platform, tmp_path / "work", context=context, dockerfile=failing)
    other = context / "Dockerfile.other"
    other.write_text(f"FROM {request.base}\nRUN {gates.wait_for('other')}\n")
    runner = Runner(output=Output(env={}, quiet=True), env=env)
    caught: list[BaseException] = []

    def build() -> None:
        try:
            BuildahBuilder(runner, isolation="chroot").build(request)
        except BaseException as exc:  # the test reports what ended it
            caught.append(exc)

    failed = threading.Thread(target=build)
    failed.start()
    building: subprocess.Popen[str] | None = None
    try:
        _wait_for_containers(buildah, 1)  # the failing build is in its RUN step
        building = _another_build(env, platform, other)
        _wait_for_containers(buildah, 2)  # the other build's container exists
        gates.open("fails")
        failed.join(timeout=120)
        assert not failed.is_alive()
        gates.open("other")
        said, _ = building.communicate(timeout=120)
    finally:
        gates.close()
        failed.join(timeout=120)
        if building is not None and building.poll() is None:
            kill_group(building)
            building.communicate()
    assert caught and isinstance(caught[0], CommandError), caught
    assert "exit status" in caught[0].message
    assert building is not None and building.returncode == 0, said
    assert buildah("containers", "--quiet") == ""


def test_a_stopped_build_leaves_alone_another_build_of_the_same_base(
    offline: Config, tmp_path: Path
) -> None:
    """A build stopped (Ctrl-C, a cancelled CI job) in its RUN step while another build
    from the same base for the same platform is in its own: buildah removes the stopped
    build's container, and the one left, made from that base since the stopped build
    started, is the other's, which another buildah process is using: publisher keeps it,
    says how to remove it, and the other build goes on to its end."""
    env, buildah = _image_store_of_its_own(tmp_path)
    platform = host_platform()
    assert platform is not None
    context = tmp_path / "ctx"
    context.mkdir()
    gates = _Gates("stopped", "other")
    stopped = context / "Dockerfile.stopped"
    stopped.write_text(
        f"ARG PHP_BASE_IMAGE\nFROM ${{PHP_BASE_IMAGE}}\nRUN {gates.wait_for('stopped')}\n"
    )
    request = _request(offline, platform, tmp_path / "work", context=context, dockerfile=stopped)
    other = context / "Dockerfile.other"
    other.write_text(f"FROM {request.base}\nRUN {gates.wait_for('other')}\n")
    runner = Runner(output=Output(env={}, quiet=True), env=env)
    building: list[subprocess.Popen[str]] = []
    left: list[str] = []

    def both_in_their_run_steps() -> bool:
        if not building:
            _wait_for_containers(buildah, 1)  # the build to stop is in its RUN step
            building.append(_another_build(env, platform, other))
            _wait_for_containers(buildah, 2)  # the other build's container exists
        return True

    try:
        caught = stop_during(
            lambda: BuildahBuilder(runner, isolation="chroot").build(request),
            both_in_their_run_steps,
            within=60,
            while_stopping=lambda: left.extend(stop.left()),
        )
        kept = buildah("containers", "--format", "{{.ContainerName}}").split()
        gates.open("other")
        said, _ = building[0].communicate(timeout=120)
    finally:
        gates.close()
        for process in building:
            if process.poll() is None:
                kill_group(process)
                process.communicate()
    assert caught and isinstance(caught[0], CommandError), caught
    assert building[0].returncode == 0, said
    assert len(kept) == 1, kept
    assert [f"`buildah rm {kept[0]}`" in words for words in left] == [True], left
    assert buildah("containers", "--quiet") == ""


#: What a Dockerfile's RUN prints that GitHub Actions would take for workflow commands.
COMMANDS_PRINTED = (
    "echo '::add-mask::x' && echo '  ::error::x' && printf 'a\\r::warning::x\\n' "
    "&& echo 'say ##[add-mask]y'"
)
#: The lines of it a reader sees (less the blanks before one, the `a` and carriage
#: return before another).
LINES_PRINTED = ("::add-mask::x", "::error::x", "::warning::x", "say ##[add-mask]y")
#: Builds, counting the first, while what buildah printed lacks what the RUN printed.
RUN_OUTPUT_ATTEMPTS = 3


@pytest.mark.parametrize("fails", [False, True], ids=["debug", "failed"])
def test_a_builds_output_relayed_in_actions_is_never_a_workflow_command(
    offline: Config, tmp_path: Path, fails: bool
) -> None:
    """A real buildah build whose RUN prints workflow commands, in Actions: its output
    relayed (with --debug; the tail of a failed one's, in its error) reaches stdout and
    stderr readable, yet not one line of it is a command the runner would obey.

    buildah's chroot isolation (publisher's default) now and then loses all that a RUN
    step printed, more often on a busy machine: its process relaying the step's output
    exits as soon as the step ends, before it has copied what is left in its pipes
    (``runUsingChrootMain`` in buildah's chroot/run_common.go; the step ran, a failed one
    still exits 3). A build that another buildah process disturbs (another test run
    removing the base image they share) may fail before its RUN. So the build is made
    again, up to ``RUN_OUTPUT_ATTEMPTS`` times, when the output buildah itself printed,
    read before publisher relays it, lacks the RUN's lines; what publisher relays is
    judged from the last build alone."""
    require_tool("buildah")
    platform = host_platform()
    assert platform is not None
    context = tmp_path / "ctx"
    context.mkdir()
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        f"RUN {COMMANDS_PRINTED}{' && exit 3' if fails else ''}\n"
    )
    request = _request(offline, platform, tmp_path / "work", context=context, dockerfile=dockerfile)
    said: list[str] = []  # what each `buildah build` printed, as publisher captured it

    def spawn(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        done = run_tracked(command, **kwargs)
        if list(command[1:2]) == ["build"]:
            said.append(f"{done.stdout}\n{done.stderr}")
        return done

    for _attempt in range(RUN_OUTPUT_ATTEMPTS):
        stdout, stderr = io.StringIO(), io.StringIO()
        output = Output(
            env={"GITHUB_ACTIONS": "true"}, stream=stdout, err_stream=stderr, debug=not fails
        )
        builder = select_builder(BuilderName.BUILDAH, Runner(output=output, spawn=spawn))
        if fails:
            with pytest.raises(CommandError) as caught:
                builder.build(request)
            output.error(caught.value)
        else:
            builder.build(request)
        # whole lines: buildah's own `STEP 2/2: RUN ...` line holds them all as words
        if set(LINES_PRINTED) <= {line.strip() for line in said[-1].splitlines()}:
            break
    else:
        pytest.fail(f"buildah lost its RUN step's output in {len(said)} builds: {said}")

    log = stdout.getvalue() + stderr.getvalue()
    seen = {line.strip() for line in log.replace("\u200b", "").splitlines()}  # as read
    assert set(LINES_PRINTED) <= seen, log
    commands = workflow_commands(stdout.getvalue()) + workflow_commands(stderr.getvalue())
    # publisher's own annotations alone: the failure's (its data escaped: one line), and
    # the warning of a build run again because another buildah process (another test
    # run's) changed the image store meanwhile
    but_retries = [
        name
        for name, data in commands
        if name != "warning" or not any(why in data for why in TRANSIENT_FAILURES.values())
    ]
    assert but_retries == (["error"] if fails else []), commands
    assert all(data not in ("x", "y") for _, data in commands), commands


@pytest.mark.parametrize("name", [BuilderName.BUILDAH, BuilderName.DOCKER], ids=str)
def test_a_foreign_build_gets_the_qemu_advice_only_when_a_program_could_not_start(
    name: BuilderName, offline: Config, tmp_path: Path
) -> None:
    """linux/arm64 builds under QEMU: a RUN step that fails on every platform keeps the
    builder's own tip; a program that could not start, as without emulation (a file
    that is no program: "exec format error"), gets the QEMU advice."""
    require_tool(name.value)
    if host_platform() is not Platform.AMD64:
        pytest.skip("linux/arm64 is foreign on linux/amd64 machines only")

    def build(steps: str) -> CommandError:
        context = tmp_path / f"ctx-{len(list(tmp_path.iterdir()))}"
        context.mkdir()
        dockerfile = context / "Dockerfile"
        dockerfile.write_text(f"ARG PHP_BASE_IMAGE\nFROM ${{PHP_BASE_IMAGE}}\n{steps}\n")
        request = _request(
            offline, Platform.ARM64, context / "work", context=context, dockerfile=dockerfile
        )
        with pytest.raises(CommandError) as caught:
            select_builder(name, quiet_runner()).build(request)
        return caught.value

    failed = build('RUN echo "the-build-broke-here" && exit 3')
    assert "the-build-broke-here" in failed.message
    assert failed.hint is not None and "QEMU" not in failed.hint, failed.hint
    assert failed.hint.startswith("rerun the build to see its full output"), failed.hint
    not_started = build(
        "RUN printf 'no program' > /not-a-program && chmod 0755 /not-a-program\n"
        'RUN ["/not-a-program"]'
    )
    assert "exec format error" in not_started.message
    assert not_started.hint == foreign_hint(Platform.ARM64)


def test_the_smoke_test_catches_a_wrong_line_and_missing_extensions(
    offline: Config, build_registry: LocalRegistry
) -> None:
    require_tool("buildah")
    pull = offline.base_pull_ref(offline.line(PHP))
    client = RegistryClient(build_registry.host, plain_http=True)
    index = client.get_manifest(pull)
    amd64 = next(c.digest for c in index.platform_children if c.platform == "linux/amd64")
    with pytest.raises(SmokeTestError) as caught:
        SmokeTester(quiet_runner(), Engine.BUILDAH).test(
            Reference(pull.domain, pull.path, None, amd64),
            Platform.AMD64,
            php_line="8.3",
            extensions=("bcmath", "redis"),
            plain_http=True,
        )
    assert "`php -v` reports PHP 8.4.99-standin, expected the 8.3 line" in caught.value.message
    assert "`php -m` does not list bcmath, redis" in caught.value.message


#: A smoke test (engine, image by digest: argv) that prints its container's name at its
#: checks (docker: its ``php -v``; buildah: the one run of every check), then waits there
#: until its stdin is closed.
STALLING_SMOKE = """
import sys
import threading
from publisher.adapters import stop
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.adapters.smoke import Engine, SmokeTester
from publisher.core.platforms import Platform
from publisher.core.reference import parse


class Stalling(Runner):
    def run(self, argv, **options):
        if list(argv[-2:]) == ["php", "-v"] or "publisher-smoke-check" in argv[-1]:
            print(next(a for a in argv if a.startswith("publisher-smoke-")), flush=True)
            sys.stdin.read()
        return super().run(argv, **options)


engine, image = sys.argv[1:]
SmokeTester(Stalling(output=Output(env={}, quiet=True)), Engine(engine)).test(
    parse(image), Platform.AMD64, php_line="8.4", extensions=(), plain_http=True
)
"""


def _containers(engine: Engine) -> list[str]:
    """The names of the containers in ``engine``'s store (asked again when a listing fails
    while other buildah processes add and remove containers)."""
    if engine is Engine.BUILDAH:
        argv = [require_tool("buildah"), "containers", "--format", "{{.ContainerName}}"]
    else:
        argv = [require_tool("docker"), "ps", "-a", "--format", "{{.Names}}"]
    for _ in range(10):
        listed = subprocess.run(argv, capture_output=True, text=True, check=False)
        if listed.returncode == 0:
            return listed.stdout.split()
    raise AssertionError(f"{argv} failed: {listed.stderr}")


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_the_next_smoke_test_removes_the_container_of_a_killed_run_and_none_of_a_live_one(
    engine: Engine,
    offline: Config,
    build_registry: LocalRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run killed with SIGKILL (the OOM killer, a cancelled CI job) cannot remove its
    smoke-test container (with docker, a php-fpm left running). The next smoke test on the
    machine removes it and says so; it keeps those of runs still going, whether they share
    its cache or not. Once all are done, nothing is left in the store or the cache."""
    require_tool(engine.value)
    pull = offline.base_pull_ref(offline.line(PHP))
    index = RegistryClient(build_registry.host, plain_http=True).get_manifest(pull)
    amd64 = next(c.digest for c in index.platform_children if c.platform == "linux/amd64")
    image = Reference(pull.domain, pull.path, None, amd64)
    cache, other = tmp_path / "cache", tmp_path / "other-cache"

    def start(cache: Path, log: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PUBLISHER_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
        with open(tmp_path / log, "w") as stderr:
            return subprocess.Popen(
                [sys.executable, "-c", STALLING_SMOKE, engine.value, str(image)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                start_new_session=True,
            )

    runs = {"killed": start(cache, "killed"), "live": start(cache, "live")}
    runs["elsewhere"] = start(other, "elsewhere")  # another checkout, its own cache
    try:
        names = {}
        for run, process in runs.items():
            assert process.stdout is not None
            names[run] = process.stdout.readline().strip()
            assert names[run], (tmp_path / run).read_text()
        os.kill(runs["killed"].pid, signal.SIGKILL)
        runs["killed"].wait(timeout=30)
        assert names["killed"] in _containers(engine)  # nothing could remove it

        said = io.StringIO()
        monkeypatch.setenv("PUBLISHER_CACHE_DIR", str(cache))
        result = SmokeTester(Runner(output=Output(env={}, stream=said)), engine).test(
            image, Platform.AMD64, php_line=PHP, extensions=(), plain_http=True
        )
        assert result.php_version == f"{PHP}.99-standin"
        left = _containers(engine)
        assert names["killed"] not in left, said.getvalue()
        assert names["live"] in left and names["elsewhere"] in left
        assert (
            f"removed 1 smoke-test container left by a run that was killed: {names['killed']}"
            in said.getvalue()
        ), said.getvalue()

        for run in ("live", "elsewhere"):
            stdin = runs[run].stdin
            assert stdin is not None
            stdin.close()
            assert runs[run].wait(timeout=300) == 0, (tmp_path / run).read_text()
    finally:
        for process in runs.values():  # a failed assertion lets the live runs end
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        for process in runs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=120)
            kill_group(process)
            if process.stdout is not None:
                process.stdout.close()
    assert not set(names.values()) & set(_containers(engine))
    # the container locks and the image holds go with the last run using them
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == []
    assert sorted(p.name for p in other.rglob("*") if p.is_file()) == []


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_a_failed_php_fpm_check_is_told_in_php_fpms_own_words(
    engine: Engine, offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """An image whose ``php-fpm -t`` fails: the error quotes what php-fpm said, not the
    lines ``buildah run`` adds after a failed command."""
    require_tool("buildah", engine.value)
    context = tmp_path / "ctx"
    context.mkdir()
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        "RUN mv /usr/local/bin/php-fpm /usr/local/bin/php-fpm-real && "
        "printf '%s\\n' '#!/bin/sh' 'case \" $* \" in *\" -t \"*) "
        'echo "ERROR: the pool has no listen address" >&2; exit 78;; esac\' '
        "'exec php-fpm-real \"$@\"' > /usr/local/bin/php-fpm && chmod 0755 /usr/local/bin/php-fpm\n"
    )
    request = _request(
        offline, Platform.AMD64, tmp_path / "work", context=context, dockerfile=dockerfile
    )
    runner = quiet_runner()
    out = select_builder(BuilderName.BUILDAH, runner).build(request)
    repo = f"test/fpm-check-{engine}"
    client = RegistryClient(build_registry.host, plain_http=True)
    assert client.push_layout(out.layout, repo) == out.digest
    image = Reference(build_registry.host, repo, None, out.digest)

    with pytest.raises(SmokeTestError) as caught:
        SmokeTester(runner, engine).test(
            image, Platform.AMD64, php_line=PHP, extensions=(), plain_http=True
        )

    message = caught.value.message
    assert message.startswith(f"{image} (linux/amd64): "), message
    assert (
        "`php-fpm -t` failed (exit status 78): ERROR: the pool has no listen address" in message
    ), message
    assert "subprocess exited" not in message and "Error: exit status" not in message


@pytest.mark.parametrize(
    ("platform", "provenance"),
    [(Platform.AMD64, True), (Platform.ARM64, False)],
    ids=["amd64-provenance", "arm64"],
)
def test_buildx_with_the_docker_driver_exports_a_layout_that_passes_the_smoke_test(
    platform: Platform,
    provenance: bool,
    offline: Config,
    build_registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    """The engine's own driver cannot push by digest: buildx exports an OCI layout."""
    if not _buildx_available():
        require_tool("docker-buildx")  # skips here, fails in CI
    runner = quiet_runner()
    builder = select_builder(BuilderName.BUILDX, runner)
    assert isinstance(builder, BuildxBuilder)
    if builder.driver != "docker":
        pytest.fail(f"expected the engine's docker driver here, found {builder.driver!r}")
    request = _request(offline, platform, tmp_path, provenance=provenance)

    out = builder.build(request)

    assert out.layout == request.layout_dir and not out.pushed
    index = json.loads((request.layout_dir / "index.json").read_text())
    top = index["manifests"][0]
    assert [m["digest"] for m in index["manifests"]] == [out.digest]
    if provenance:  # an index: the image and its attestation manifest
        assert top["mediaType"] == "application/vnd.oci.image.index.v1+json"
    else:
        image = read_layout(out.layout)
        assert (image.os, image.architecture) == ("linux", platform.arch)
        assert image.labels["dev.publisher.php-line"] == PHP
        assert image.labels["org.opencontainers.image.created"] == CREATED
        assert image.config["config"]["Healthcheck"]["Test"] == ["CMD", "php-fpm-healthcheck"]

    repo = f"test/buildx-{platform.arch}"
    client = RegistryClient(build_registry.host, plain_http=True)
    assert client.push_layout(out.layout, repo) == out.digest  # by digest, no tag
    assert client.list_tags(repo) == []
    result = SmokeTester(runner, Engine.DOCKER).test(
        Reference(build_registry.host, repo, None, out.digest),
        platform,
        php_line=PHP,
        extensions=offline.line(PHP).extensions.names,
        plain_http=True,
    )
    assert result.php_version == f"{PHP}.99-standin"


def test_a_buildx_build_with_credentials_pulls_a_private_base_through_the_users_docker_config(
    offline: Config,
    basic_registry: BasicAuthRegistry,
    fresh_registry: Callable[..., LocalRegistry],
    tmp_path: Path,
) -> None:
    """Credentials for the primary log buildx in through a throwaway docker config; the
    base on a private mirror, which the user reaches through a credential helper of their
    docker config, is pulled with it all the same, not anonymously."""
    if not _buildx_available():
        require_tool("docker-buildx")  # skips here, fails in CI
    htpasswd = require_tool("htpasswd")
    mirror_login = Credentials("mirror-user", "mirror-secret-" + uuid.uuid4().hex[:8])
    line = subprocess.run(
        [htpasswd, "-niB", mirror_login.username],
        input=mirror_login.password,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "htpasswd").write_text(line)
    auth = {"htpasswd": {"realm": "mirror", "path": str(tmp_path / "htpasswd")}}
    mirror = fresh_registry(extra_config={"auth": auth})
    platform = host_platform()
    marker = uuid.uuid4().hex
    steps = f"ARG PHP_BASE_IMAGE\nFROM ${{PHP_BASE_IMAGE}}\nLABEL test.private-base={marker}\n"
    base = _seeded(offline, mirror, tmp_path, "private-base", steps, platform, mirror_login)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    asked = tmp_path / "helper-asked"
    helper = bindir / "docker-credential-mirrorhelper"
    helper.write_text(
        f'#!/bin/sh\n[ "$1" = get ] || exit 1\nread -r host\necho "$host" >> {asked}\n'
        f'printf \'{{"ServerURL":"%s","Username":"{mirror_login.username}",'
        f'"Secret":"{mirror_login.password}"}}\' "$host"\n'
    )
    helper.chmod(0o755)
    user_config = tmp_path / "docker-config"
    user_config.mkdir()
    (user_config / "config.json").write_text(
        json.dumps({"credHelpers": {mirror.host: "mirrorhelper"}})
    )
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_CONFIG": str(user_config),
    }
    runner = Runner(output=Output(env={}, quiet=True), env=env)
    builder = select_builder(BuilderName.BUILDX, runner)
    request = _request(
        offline,
        platform,
        tmp_path / "work",
        base=base,
        base_plain_http=True,
        repository=Reference(basic_registry.host, "test/private-base-build"),
        target_plain_http=True,
        credentials=basic_registry.credentials,
    )
    try:
        out = builder.build(request)
    finally:
        forget_images(mirror.host)
    assert read_layout(out.layout or request.layout_dir).labels["test.private-base"] == marker
    assert mirror.host in asked.read_text()  # the user's helper gave the base's credentials


def _buildx_available() -> bool:
    for docker in (shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"):
        if docker and Path(docker).exists():
            probe = subprocess.run([docker, "buildx", "version"], capture_output=True, check=False)
            if probe.returncode == 0:
                return True
    return False


def _seeded(
    cfg: Config,
    registry: LocalRegistry,
    tmp_path: Path,
    name: str,
    steps: str,
    platform: Platform,
    credentials: Credentials | None = None,
) -> Reference:
    """A stand-in image built with buildah from ``steps`` after ``FROM`` the stand-in base,
    pushed by digest (with ``credentials``, when given)."""
    context = tmp_path / name
    context.mkdir()
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(steps)
    request = _request(
        cfg, platform, tmp_path / f"{name}-work", context=context, dockerfile=dockerfile
    )
    out = select_builder(BuilderName.BUILDAH, quiet_runner()).build(request)
    client = RegistryClient(registry.host, plain_http=True, credentials=credentials)
    assert out.layout is not None
    assert client.push_layout(out.layout, f"test/{name}") == out.digest
    return Reference(registry.host, f"test/{name}", None, out.digest)


def _smoke_failure(engine: Engine, image: Reference, platform: Platform) -> str:
    with pytest.raises(SmokeTestError) as caught:
        SmokeTester(quiet_runner(), engine).test(
            image, platform, php_line=PHP, extensions=(), plain_http=True
        )
    return caught.value.message


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_an_arm64_image_of_amd64_programs_fails_its_smoke_test(
    engine: Engine, offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """linux/arm64 says the config, but the image's busybox is linux/amd64's: the engine
    runs it natively, without QEMU, and every other check passes."""
    require_tool("buildah", engine.value)
    if host_platform() is not Platform.AMD64:
        pytest.skip("the seeded image's programs are native on linux/amd64 machines only")
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        f"arch-{engine}",
        "ARG PHP_BASE_IMAGE\nFROM --platform=linux/amd64 ${PHP_BASE_IMAGE} AS amd\n"
        "FROM ${PHP_BASE_IMAGE}\nCOPY --from=amd /bin/busybox /bin/busybox\n",
        Platform.ARM64,
    )
    message = _smoke_failure(engine, image, Platform.ARM64)
    assert message == (
        f"{image} (linux/arm64): the linux/arm64 image runs x86_64 programs (uname -m says "
        "x86_64; aarch64 expected): its binaries are another platform's"
    ), message


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_a_server_that_exits_seconds_after_it_is_healthy_fails_its_smoke_test(
    engine: Engine, offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """The stand-in php-fpm answers its health check, then exits 3 seconds after it started."""
    require_tool("buildah", engine.value)
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        f"crash-{engine}",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        "RUN sed -i 's/^while :; do$/sleep 3; rm -f $pidfile; echo CRASHED >\\&2; exit 139; "
        "while :; do/' /usr/local/bin/php-fpm && grep -q CRASHED /usr/local/bin/php-fpm\n",
        Platform.AMD64,
    )
    message = _smoke_failure(engine, image, Platform.AMD64)
    assert "after it started, having answered its health check (" in message, message
    assert "CRASHED" in message, message


def test_the_last_lines_of_a_server_that_writes_through_proc_self_fd_2_are_quoted_whole(
    offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """php-fpm's ``error_log = /proc/self/fd/2`` opens the server's log anew, with its own
    offset: the stand-in php-fpm, started so by a wrapper, says its lines that way; the
    wrapper then says on its own stderr that it killed it. The buildah start script's log
    is written in append mode, so the wrapper's line follows php-fpm's, which are quoted
    whole, not written over from the start of the file."""
    require_tool("buildah")
    wrapper = (
        "#!/bin/sh",
        'if [ $# -gt 0 ]; then exec php-fpm.real "$@"; fi',
        "php-fpm.real >>/proc/self/fd/2 2>&1 & pid=$!",
        'sleep 3; echo "WRAPPER: php-fpm killed 3 s after start" >&2; kill -9 $pid; exit 1',
    )
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        "fd2-log",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        "RUN mv /usr/local/bin/php-fpm /usr/local/bin/php-fpm.real && printf '%s\\n' "
        + " ".join(shlex.quote(line) for line in wrapper)
        + " > /usr/local/bin/php-fpm && chmod 0755 /usr/local/bin/php-fpm\n",
        Platform.AMD64,
    )
    message = _smoke_failure(Engine.BUILDAH, image, Platform.AMD64)
    stamp = r"\[[0-9]{2}-[A-Za-z]{3}-[0-9]{4} [0-9:]{8}\]"
    said = re.search(
        rf"having answered its health check \(({stamp} NOTICE: fpm is running, pid [0-9]+ "
        rf"\(STAND-IN, not PHP-FPM\) \| {stamp} NOTICE: ready to handle connections "
        r"\(STAND-IN\) \| WRAPPER: php-fpm killed 3 s after start)\)",
        message,
    )
    assert said is not None, message


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_the_stay_up_window_is_the_seconds_publisher_smoke_stay_up_says(
    engine: Engine, offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """The stand-in php-fpm exits 3 seconds after it started: the smoke test the publish
    stage makes (``smoke_tester``) passes it with ``PUBLISHER_SMOKE_STAY_UP=2`` and fails
    it with ``4``, the window that variable of the run's environment says."""
    require_tool("buildah", engine.value)
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        f"window-{engine}",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        "RUN sed -i 's/^while :; do$/sleep 3; rm -f $pidfile; echo CRASHED >\\&2; exit 139; "
        "while :; do/' /usr/local/bin/php-fpm && grep -q CRASHED /usr/local/bin/php-fpm\n",
        Platform.AMD64,
    )

    def smoke(seconds: str) -> str:
        runner = Runner(
            output=Output(env={}, quiet=True),
            env={**os.environ, "PUBLISHER_SMOKE_STAY_UP": seconds},
        )
        run = smoke_tester(runner, offline, prefer=engine.value)
        return run(image, "linux/amd64", PHP, ())

    passed = smoke("2")
    assert passed.version == f"{PHP}.99-standin"
    assert passed.checked == (  # what the publish stage says of it
        f"PHP {PHP}.99-standin starts, php-fpm -t passes, no FastCGI probe (a stand-in "
        "without PHP), no startup warning, runs as x86_64, up 2 s"
    )
    with pytest.raises(SmokeTestError) as caught:
        smoke("4")
    message = caught.value.message
    assert "after it started, having answered its health check (" in message, message
    assert "CRASHED" in message, message


def test_a_php_startup_warning_fails_the_smoke_test(
    offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """The stand-in php says, as PHP does, that an extension it lists failed to load."""
    require_tool("buildah")
    warning = (
        "PHP Warning:  PHP Startup: Unable to load dynamic library redis.so (tried: "
        "/usr/local/lib/php/extensions/redis.so: undefined symbol: foo) in Unknown on line 0"
    )
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        "startup-warning",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        "RUN mv /usr/local/bin/php /usr/local/bin/php.real && printf '%s\\n' '#!/bin/sh' "
        f"'echo \"{warning}\" >&2' 'exec php.real \"$@\"' > /usr/local/bin/php "
        "&& chmod 0755 /usr/local/bin/php\n",
        Platform.AMD64,
    )
    message = _smoke_failure(Engine.BUILDAH, image, Platform.AMD64)
    assert message == f"{image} (linux/amd64): PHP reports an error as it starts: {warning}"


def _processes_with(marker: str) -> list[str]:
    """The host's processes whose command line holds ``marker``: pid and command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().split(b"\0")
            line = b" ".join(words).decode("utf-8", "replace").strip()
            if marker in line:
                found.append(f"{entry.name}: {line}")
    return found


def _listening_on_host(port: int) -> bool:
    text = "".join(Path(f"/proc/net/{n}").read_text() for n in ("tcp", "tcp6"))
    return bool(smoke_rules.listening_addresses(text, port))


@pytest.mark.parametrize(
    ("engine", "stopped"),
    [(Engine.BUILDAH, False), (Engine.BUILDAH, True), (Engine.DOCKER, False)],
    ids=["buildah", "buildah-stopped", "docker"],
)
def test_a_server_that_leaves_a_daemon_behind_leaves_nothing_running_after_its_smoke_test(
    engine: Engine, stopped: bool, offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """The image's command starts, in a session of its own, a child that ignores SIGTERM,
    SIGHUP and SIGINT and starts a server of its own, as a daemonizing php-fpm would:
    after the smoke test (which passes, or is stopped once that child runs) nothing of it
    runs on the host, and nothing listens on its port (not 9000, which other smoke tests
    on the machine use)."""
    require_tool("buildah", engine.value)
    marker = f"publisher-orphan-{uuid.uuid4().hex[:12]}"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        f"orphan-{engine}-{'stopped' if stopped else 'passed'}",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n"
        f"RUN printf '%s\\n' '#!/bin/sh' \"trap '' TERM HUP INT\" "
        f"'httpd -f -p 127.0.0.1:{port} -h /var/www/html -r {marker} &' 'while :; do sleep 1; done' "
        f"> /usr/local/bin/{marker} && chmod 0755 /usr/local/bin/{marker}\n"
        f'CMD ["sh", "-c", "setsid {marker} & exec php-fpm"]\n',
        Platform.AMD64,
    )

    def smoke() -> object:
        return SmokeTester(quiet_runner(), engine).test(
            image, Platform.AMD64, php_line=PHP, extensions=(), plain_http=True
        )

    try:
        if stopped:
            serving = f"-r {marker}"  # the daemon's server (not the smoke test's own argv)
            caught = stop_during(smoke, lambda: bool(_processes_with(serving)), within=60)
            assert caught and isinstance(caught[0], CommandError), caught
        else:
            smoke()
        deadline = time.monotonic() + 5
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _processes_with(marker)
        assert left == [], left
        assert not _listening_on_host(port)
    finally:
        for line in _processes_with(marker):
            with contextlib.suppress(OSError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)


#: Another process's buildah smoke test, whose server listens on port 9000 of the host's
#: network for 3 seconds once it has its turn (``port_turn``).
OTHER_SMOKE_TEST = """
import socket, sys, time
from publisher.adapters.smoke import port_turn

with port_turn(9000, lambda: None), socket.socket() as server:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 9000))
    server.listen()
    print("serving", flush=True)
    time.sleep(3)
"""


def test_buildah_smoke_tests_of_two_processes_take_turns_on_their_port(
    offline: Config, build_registry: LocalRegistry, tmp_path: Path
) -> None:
    """Two runs on one machine (two rehearsals, two CI jobs) smoke-test with buildah at
    once: each server listens on port 9000 of the host's network. The second waits for
    the first's turn to end, and says so, rather than failing as "port 9000 taken"."""
    require_tool("buildah")
    image = _seeded(
        offline,
        build_registry,
        tmp_path,
        "turns",
        "ARG PHP_BASE_IMAGE\nFROM ${PHP_BASE_IMAGE}\n",
        Platform.AMD64,
    )
    with subprocess.Popen(
        [sys.executable, "-c", OTHER_SMOKE_TEST],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as other:
        try:
            _take_turns(other, image)
        finally:
            other.kill()


def _take_turns(other: subprocess.Popen[str], image: Reference) -> None:
    """Smoke-test ``image`` once ``other`` serves on port 9000, holding its turn."""
    assert other.stdout is not None and other.stdout.readline() == "serving\n"
    said, progress = io.StringIO(), io.StringIO()
    runner = Runner(output=Output(env={}, stream=said, err_stream=progress, quiet=True))
    result = SmokeTester(runner, Engine.BUILDAH).test(
        image, Platform.AMD64, php_line=PHP, extensions=(), plain_http=True
    )
    assert result.php_version == f"{PHP}.99-standin"
    assert other.poll() == 0  # its turn ended before this server started
    text = " ".join(progress.getvalue().split())  # progress: on stderr, even when quiet
    assert (
        f"{image} (linux/amd64): waiting for another run's smoke test on this machine, "
        "whose server uses port 9000 too"
    ) in text, text
    assert "waiting for another" not in said.getvalue()


def test_the_start_script_starts_nothing_while_something_listens_on_its_port() -> None:
    """The check runs in the host's network (buildah): here, against a real socket."""
    assert PORT_TAKEN not in start_script(None, 5)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        check = start_script(None, 5, port=port).splitlines()[0]
        assert PORT_TAKEN in check

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["sh", "-c", f"{check}\necho started"], capture_output=True, text=True, timeout=30
            )

        taken = run()
        assert (taken.returncode, taken.stdout) == (1, f"{PORT_TAKEN} {port}\n")
        holders = port_holders(port)
        assert [h.endswith(f"(pid {os.getpid()})") for h in holders] == [True], holders
    free = run()
    assert (free.returncode, free.stdout) == (0, "started\n")
    assert port_holders(port) == []
