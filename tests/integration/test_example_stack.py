"""The example stack's launcher (examples/stack/start.sh) and ``publisher resolve``, side by side.

One matrix over USE_PREBUILT x ALLOW_LOCAL_BUILD_FALLBACK x the state of the
registry (up, refused, silent, digest missing, platform missing, authentication
required, access denied (403), rate limited, cached image with the registry gone).
For every case the POSIX launcher runs under ``sh`` (dash) with no Python on its PATH and starts the
stack with real compose v2 where a start is expected; ``publisher resolve``
(the single-file module, on the same pins file) must reach the same decision,
availability class and exit code. A set of starts also runs under bash --posix,
zsh's sh emulation, zsh itself and busybox ash, which must do and say what dash does.
Its refused values and broken pins files are said byte for byte alike with each awk a
developer may have (mawk, busybox's, BWK's of 2022 and its 2025 second edition).

Everything here is a STAND-IN: the base is publisher's busybox stand-in (label
``dev.publisher.stand-in=true``) and the Dockerfile is the offline example's
rendering of the shared template (examples/offline/dockerfiles/8.4/Dockerfile).
The "pre-built" image is built from that Dockerfile with buildah and pushed as
an index, as CI would; its pins file is rendered by ``publisher.core.pins``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.localregistry import LocalRegistry, free_port
from publisher.core import pins
from publisher.core.platforms import Platform
from publisher.resolve import STAND_IN_WARNING, detect_host_platform
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.support.builds import quiet_runner
from tests.support.pipeline import default_stop_signals
from tests.support.sockets import EngineVersion, FixedAnswer, Silent, TcpRelay, UnixRelay
from tests.support.tokenserver import TokenServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RELEASE = "v2.0.0"
PIN = f"{RELEASE}-php-8.4"
HOST = detect_host_platform()
OTHER = "linux/arm64" if HOST == "linux/amd64" else "linux/amd64"
#: OTHER as docker also reads it (DOCKER_DEFAULT_PLATFORM, PHP_IMAGE_PLATFORM): with a variant.
OTHER_SPELLED = {"linux/arm64": "linux/arm64/v8", "linux/amd64": "linux/x86_64/v1"}[OTHER]
STACK = ROOT / "examples" / "stack"
DOCKERFILES = ROOT / "examples" / "offline" / "dockerfiles"  # STAND-IN rendering of the template
RESOLVE = ROOT / "publisher" / "resolve.py"


def docker_cli() -> str:
    """The docker CLI with a working BuildKit (/usr/bin/docker here; see the README)."""
    if Path("/usr/bin/docker").is_file():
        return "/usr/bin/docker"
    return require_tool("docker")


def run(
    *argv: str, check: bool = True, timeout: float = 600, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=check, **kwargs
    )


@dataclass
class World:
    """The published release and every registry state, shared by the whole matrix."""

    docker: str
    registry: LocalRegistry
    path: str
    digest: str
    base: str
    pins: Path
    repositories: dict[str, str]  # registry state -> repository to point PHP_IMAGE_REPOSITORY at
    bin_dir: Path  # PATH for the launcher: docker, coreutils, no python
    answers: dict[str, FixedAnswer]  # the registries that answer 401, 403 and 429

    @property
    def repository(self) -> str:
        return f"{self.registry.host}/{self.path}"

    def prebuilt(self, repository: str | None = None) -> str:
        return f"{repository or self.repository}:{PIN}@{self.digest}"

    @property
    def local(self) -> str:
        """The local build's tag: keyed on the base digest of the pins file."""
        return f"localhost/{self.path}:{PIN}-base-{self.base.split('@sha256:')[1][:12]}"


def _record(repository: str, digest: str, base: str, mirror: str | None = None) -> dict[str, Any]:
    """The release record (notes JSON) the publish stage would write for this release."""
    image, base_digest = base.split("@")
    registries = [{"name": "local", "repository": repository, "primary": True}]
    if mirror:
        registries.append({"name": "mirror", "repository": mirror, "primary": False})
    return {
        "schema": 1,
        "release": RELEASE,
        "stable": True,
        "stand_in": True,
        "default_line": "8.4",
        "registries": registries,
        "lines": [
            {
                "php": "8.4",
                "php_version": "8.4.99-standin",
                "index_digest": digest,
                "tags": [PIN],
                "base": {"image": image, "digest": base_digest},
                "platforms": [{"platform": HOST, "digest": digest, "size_bytes": 1}],
            }
        ],
    }


def _bin_dir(target: Path, docker: str) -> Path:
    """A PATH with what a stack user's machine has, and no python."""
    target.mkdir()
    for tool in (
        "sh",
        "dash",
        "sed",
        "tr",
        "grep",
        "tail",
        "mktemp",
        "rm",
        "sleep",
        "cat",
        "wc",
        "readlink",
        "od",
        "awk",
        "tee",
        "mkfifo",
        "mkdir",
        "find",
        "touch",
        "id",
        "ls",
        "sha256sum",  # coreutils and busybox (a Mac has shasum, which the launcher takes too)
        "setsid",  # util-linux: every Linux has it (a Mac has none: the launcher takes perl)
    ):
        found = shutil.which(tool)
        if found:
            (target / tool).symlink_to(found)
    # docker itself, behind a wrapper that notes what compose is handed (PMA_IMAGE)
    wrapper = target / "docker"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = compose ] && [ -n "${STACK_TEST_LOG:-}" ]; then\n'
        '  printf "%s\\n" "PMA_IMAGE=${PMA_IMAGE:-}" >>"$STACK_TEST_LOG"\n'
        "fi\n"
        f'exec "{docker}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return target


@pytest.fixture(scope="module")
def world(registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    buildah = require_tool("buildah")
    docker = docker_cli()
    if run(docker, "info", check=False).returncode != 0:
        pytest.fail("the docker daemon is not running (.ci/run starts it)", pytrace=False)
    if run(docker, "compose", "version", check=False).returncode != 0:
        message = "needs docker compose v2 (scripts/setup-machine installs it)"
        if os.environ.get("PUBLISHER_REQUIRE_ALL_TOOLS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    # The STAND-IN base for both platforms, pushed to the loopback registry.
    refs = standins.push_standins(
        registry.host,
        runner=quiet_runner(),
        lines=("8.4",),
        platforms=(Platform.AMD64, Platform.ARM64),
    )
    base = str(refs["8.4"])

    # "CI": build the Dockerfile on that base for this host only and push it as an index.
    path = f"stack-{uuid.uuid4().hex[:8]}/php-fpm"
    manifest = f"publisher-stack-test-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("world")
    digest_file = work / "digest"
    dockerfile = DOCKERFILES / "8.4" / "Dockerfile"
    try:
        run(
            buildah, "build", "--isolation", "chroot", "--tls-verify=false", "--platform", HOST,
            "--manifest", manifest, "--build-arg", f"PHP_BASE_IMAGE={base}",
            "--build-arg", f"PUBLISHER_RELEASE={RELEASE}", "-f", str(dockerfile), str(dockerfile.parent),
        )  # fmt: skip
        run(
            buildah, "manifest", "push", "--all", "--tls-verify=false", "--digestfile",
            str(digest_file), manifest, f"docker://{registry.host}/{path}:{PIN}",
        )  # fmt: skip
    finally:
        run(buildah, "manifest", "rm", manifest, check=False)
    digest = digest_file.read_text().strip()
    pins_file = work / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(f"{registry.host}/{path}", digest, base)))

    unauthorized = FixedAnswer(
        "401 Unauthorized",
        {
            "WWW-Authenticate": 'Basic realm="stack test"',
            "Docker-Distribution-Api-Version": "registry/2.0",
        },
        b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
    )
    forbidden = FixedAnswer(  # a login without access (Harbor, Artifactory, a GHCR scope)
        "403 Forbidden",
        {"Docker-Distribution-Api-Version": "registry/2.0"},
        b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
    )
    limited = FixedAnswer(
        "429 Too Many Requests",
        {"Retry-After": "3600", "Docker-Distribution-Api-Version": "registry/2.0"},
        b'{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit reached"}]}',
    )
    silent = Silent()
    relay = TcpRelay(registry.host)  # pulled once, then taken away: the cached case
    cached_repo = f"{relay.host}/{path}"
    run(docker, "pull", "--platform", HOST, f"{cached_repo}:{PIN}@{digest}")
    relay.close()

    item = World(
        docker=docker,
        registry=registry,
        path=path,
        digest=digest,
        base=base,
        pins=pins_file,
        repositories={
            "up": f"{registry.host}/{path}",
            "refused": f"127.0.0.1:{free_port()}/{path}",
            "silent": f"{silent.host}/{path}",
            "missing": f"{registry.host}/nothing-{uuid.uuid4().hex[:6]}/php-fpm",
            "platform": f"{registry.host}/{path}",
            "auth": f"{unauthorized.host}/{path}",
            "forbidden": f"{forbidden.host}/{path}",
            "ratelimited": f"{limited.host}/{path}",
            "cached": cached_repo,
        },
        bin_dir=_bin_dir(work / "bin", docker),
        answers={"auth": unauthorized, "forbidden": forbidden, "ratelimited": limited},
    )
    yield item
    silent.close()
    unauthorized.close()
    forbidden.close()
    limited.close()
    images = {item.local, base, *(item.prebuilt(r) for r in item.repositories.values())}
    images |= {f"{r}@{digest}" for r in item.repositories.values()}
    for image in images:
        run(docker, "rmi", "-f", image, check=False)


def compose_down(docker: str, project: str) -> None:
    found = run(
        docker, "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}", check=False
    ).stdout.split()
    if found:
        run(docker, "rm", "--force", "--volumes", *found, check=False)
    run(docker, "network", "rm", f"{project}_default", check=False)


@pytest.fixture
def project() -> Iterator[str]:
    name = f"h-stack-{uuid.uuid4().hex[:8]}"
    yield name
    compose_down(docker_cli(), name)


def launcher_env(world: World, project: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    (tmp_path / "docker-config").mkdir(exist_ok=True)
    return {
        "PATH": str(world.bin_dir),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "STACK_NAME": project,
        "PHP_PINS_FILE": str(world.pins),
        "PHP_DOCKERFILES": str(DOCKERFILES),
        "STACK_REGISTRY_TIMEOUT": "2",
        **settings,
    }


def earlier_local_build(world: World, project: str, tmp_path: Path) -> None:
    """An earlier start's local build (USE_PREBUILT=false), its stack taken down: the image
    a fallback later takes as it is."""
    proc, _ = launch(world, launcher_env(world, project, tmp_path, USE_PREBUILT="false"))
    assert proc.returncode == 0, proc.stderr
    compose_down(world.docker, project)


def launch(
    world: World,
    env: dict[str, str],
    stack: Path = STACK,
    cwd: Path | None = None,
    shell: Sequence[str] = (),
    timeout: float = 600,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run start.sh with dash (or ``shell``); return the process and its decision line's fields."""
    interpreter = shell or (shutil.which("dash") or "sh",)
    proc = run(
        *interpreter, str(stack / "start.sh"), env=env, check=False, cwd=cwd, timeout=timeout
    )
    return proc, decision_fields(proc.stderr)


def decision_fields(stderr: str) -> dict[str, str]:
    """The fields of the launcher's ``start: decision=`` line."""
    fields: dict[str, str] = {}
    for line in stderr.splitlines():
        if line.startswith("start: decision="):
            fields = dict(part.split("=", 1) for part in line[len("start: ") :].split())
    return fields


def resolve(
    env: dict[str, str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The single-file resolve module, run as a script, with the same settings."""
    full = {**env, "PATH": os.environ["PATH"]}  # resolve reads STACK_REGISTRY_TIMEOUT too
    proc = run(sys.executable, str(RESOLVE), "--format", "json", env=full, check=False, cwd=cwd)
    data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc, data


def running_image(docker: str, project: str) -> dict[str, Any]:
    ids = run(
        docker, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
    ).stdout.split()
    assert len(ids) == 1, f"expected one running container for {project}, got {ids}"
    image_id = run(docker, "inspect", "--format", "{{.Image}}", ids[0]).stdout.strip()
    data: list[dict[str, Any]] = json.loads(run(docker, "image", "inspect", image_id).stdout)
    return data[0]


#: What resolve's advice for a registry asking for credentials adds to the launcher's.
RESOLVE_CREDENTIALS = " (or set PHP_IMAGE_REGISTRY_USERNAME and PHP_IMAGE_REGISTRY_PASSWORD)"

PHRASES = {
    "available": "is available for",
    "cached": "is in the local image store (no registry request)",
    "unreachable": "registry {host} is offline or unreachable",
    "not-on-registry": "is not on this registry (mirror not synced?)",
    "platform-missing": "platform {other} missing",
    "auth-required": "authentication required",
    "rate-limited": "registry {host} rate-limited the pull",
    "none": "USE_PREBUILT=false: building",
}

# (registry state, expected availability class). USE_PREBUILT=true decides by
# this; with the fallback the stack builds locally, without it stops (exit 17).
STATES = [
    ("up", "available"),
    ("cached", "cached"),
    ("refused", "unreachable"),
    ("silent", "unreachable"),
    ("missing", "not-on-registry"),
    ("platform", "platform-missing"),
    ("auth", "auth-required"),
    ("forbidden", "auth-required"),
    ("ratelimited", "rate-limited"),
]
CASES = [
    pytest.param(True, fallback, state, availability, id=f"prebuilt-fallback{fallback}-{state}")
    for fallback in (True, False)
    for state, availability in STATES
] + [
    # USE_PREBUILT=false: the registry's state must not matter, nor the registry be asked
    pytest.param(False, fallback, state, "none", id=f"local-fallback{fallback}-{state}")
    for fallback in (True, False)
    for state, _ in STATES
]


@pytest.mark.parametrize(("use_prebuilt", "fallback", "state", "availability"), CASES)
def test_launcher_and_resolve_decide_alike(
    world: World,
    project: str,
    tmp_path: Path,
    use_prebuilt: bool,
    fallback: bool,
    state: str,
    availability: str,
) -> None:
    repository = world.repositories[state]
    settings = {
        "USE_PREBUILT": str(use_prebuilt).lower(),
        "ALLOW_LOCAL_BUILD_FALLBACK": str(fallback).lower(),
        "PHP_IMAGE_REPOSITORY": repository,
    }
    platform = OTHER if state == "platform" else HOST
    if state == "platform":
        settings["PHP_IMAGE_PLATFORM"] = OTHER
    if state == "up":  # a fresh pull: nothing cached
        run(world.docker, "rmi", "-f", world.prebuilt(repository), check=False)
    env = launcher_env(world, project, tmp_path, **settings)

    if not use_prebuilt:
        expected = "build-locally"
    elif availability in ("available", "cached"):
        expected = "use-prebuilt"
    else:
        expected = "build-locally" if fallback else "cannot-proceed"

    # resolve first: it must not change what the launcher then finds (no pull, no build)
    asked = {name: len(server.requests) for name, server in world.answers.items()}
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    if not use_prebuilt:
        assert {n: len(s.requests) for n, s in world.answers.items()} == asked
    assert fields == {"decision": expected, "availability": availability}, proc.stderr
    assert decision.get("decision") == expected, answer.stderr
    assert (decision.get("availability") or "none") == availability, answer.stderr
    exit_codes = {"use-prebuilt": (0, 0), "build-locally": (16, 0), "cannot-proceed": (17, 17)}
    assert (answer.returncode, proc.returncode) == exit_codes[expected], proc.stderr
    # the same words, class for class
    phrase = PHRASES[availability].format(other=OTHER, host=repository.split("/")[0])
    assert phrase in proc.stderr, phrase
    assert phrase in decision["reason"], phrase

    if expected == "cannot-proceed":
        assert "set ALLOW_LOCAL_BUILD_FALLBACK=true" in decision["fix"]
        # word for word: what it says to do, and the reason's end (its start quotes the registry)
        # but for the credentials only resolve reads (the launcher's docker pull reads
        # docker's configuration alone)
        fix = decision["fix"].replace(RESOLVE_CREDENTIALS, "")
        assert f"start: fix: {fix}\n" in proc.stderr, proc.stderr
        if state == "platform":  # forced to OTHER: the one left is this engine's own, native
            assert fix.startswith(
                "unset PHP_IMAGE_PLATFORM to run the docker engine's own platform natively, "
                f"or set PHP_IMAGE_PLATFORM={HOST} (under emulation unless the engine is {HOST})"
            ), fix
        tail = decision["reason"].rpartition("; ")[2]
        assert f"; {tail}\n" in proc.stderr, proc.stderr
        assert (
            run(
                world.docker, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
            ).stdout
            == ""
        )
        return
    image = running_image(world.docker, project)
    assert f"{image['Os']}/{image['Architecture']}" == platform
    assert image["Config"]["Labels"]["dev.publisher.stand-in"] == "true"
    if expected == "use-prebuilt":
        assert f"{repository}@{world.digest}" in image["RepoDigests"]
        assert decision["image"] == world.prebuilt(repository)
    else:
        assert world.local in image["RepoTags"]
        assert decision["image"] == world.local


def test_no_dockerfile_with_the_fallback_disabled_is_said_in_the_same_words(
    world: World, project: str, tmp_path: Path
) -> None:
    """What to do when neither the image nor a local build can be had, word for word."""
    empty = tmp_path / "no-dockerfiles"
    empty.mkdir()
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["refused"],
        ALLOW_LOCAL_BUILD_FALLBACK="false", PHP_DOCKERFILES=str(empty),
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr
    assert (
        "; or, to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to "
        in (decision["fix"])
    )
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def token_refusing_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A token-auth registry that refuses, as ``invalid_token``, every token its own token
    server issues (their clocks disagree: each token arrives expired), which docker's pull
    reports as "pull access denied ... may require 'docker login'"."""
    here = tmp_path_factory.mktemp("refused-tokens")
    server = TokenServer(anonymous_actions="pull", lifetime=-120).start()
    try:
        with LocalRegistry(extra_config=server.registry_auth_config(here / "signer.pem")) as reg:
            yield reg.host
    finally:
        server.stop()


@pytest.mark.parametrize(
    "shell",
    [("dash",), ("bash",), ("zsh",), ("busybox", "sh")],
    ids=["dash", "bash", "zsh", "busybox"],
)
def test_a_token_the_registry_refuses_is_said_as_resolve_says_it(
    world: World,
    project: str,
    tmp_path: Path,
    token_refusing_registry: str,
    shell: tuple[str, ...],
) -> None:
    """The registry's own token server issued the token and the registry refused it: neither
    a login nor waiting mends that (its clock, its rootcertbundle, its issuer do). The
    launcher says it as resolve does, a registry error with the operator's fix and "trying
    again later does not help", word for word; never "try again later", nor `docker login`."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    env = launcher_env(
        world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false",
        PHP_IMAGE_REPOSITORY=f"{token_refusing_registry}/{world.path}",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env, shell=(str(shutil.which(shell[0])), *shell[1:]))
    assert decision["availability"] == "registry-error", answer.stderr
    assert fields == {"decision": "cannot-proceed", "availability": "registry-error"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), proc.stderr
    assert "(trying again later does not help)" in decision["fix"], decision["fix"]
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    assert "refused the token its own token server" in proc.stderr, proc.stderr
    assert "(HTTP 401 invalid_token)" in proc.stderr, proc.stderr
    tail = decision["reason"].rpartition("; ")[2]
    assert f"; {tail}\n" in proc.stderr, proc.stderr
    for blame in ("try again later", "docker login"):
        assert blame not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("PHP_IMAGE_REPOSITORY", "registry.example.com/team/" + "X" * 35, "X" * 31 + "..."),
        ("PHP_IMAGE_REPOSITORY", "registry.example.com/team/" + "X" * 34, "X" * 34),  # 60
        ("STACK_RELEASE", "v" + "\u00e9" * 70, "\u00e9" * 56 + "..."),  # characters, not bytes
        ("STACK_RELEASE", "v1" + "\udcff" * 70, "\\xff" * 55 + "..."),  # a byte not UTF-8: one
    ],
)
def test_a_long_value_is_cut_short_alike_by_both(
    tmp_path: Path, name: str, value: str, shown: str
) -> None:
    """resolve shows a refused value of more than 60 characters as its first 57 and "...";
    the launcher showed it whole."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE, name: value}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    for stderr in (answer.stderr, proc.stderr):
        assert f"{shown}' is not valid: " in stderr, stderr
    same_words(answer.stderr, proc.stderr)


def both_say_there_is_no_dockerfile(
    world: World, env: dict[str, str], here: Path, path: str
) -> None:
    """USE_PREBUILT=false and no Dockerfile at ``path``: both tools cannot proceed (exit
    17) and name that path alike."""
    answer, _ = resolve(env, here)
    proc, fields = launch(world, env, cwd=here)
    assert fields == {"decision": "cannot-proceed", "availability": "none"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr
    missing = f"there is no Dockerfile for PHP 8.4 at {path}"
    assert f"resolve: why: USE_PREBUILT=false, but {missing}\n" in answer.stderr
    assert f"start: why: USE_PREBUILT=false, but {missing}\n" in proc.stderr, proc.stderr


def test_relative_dockerfiles_and_pins_file_are_named_by_the_same_absolute_path_in_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """A relative PHP_DOCKERFILES or PHP_PINS_FILE is taken from the working directory by
    both tools, and named by its absolute path by both (resolve said the path as given,
    the launcher the absolute one for the Dockerfile, and the reverse for the pins file)."""
    here = tmp_path.resolve()
    (here / "no-dockerfiles").mkdir()
    env = launcher_env(
        world, project, tmp_path, USE_PREBUILT="false", PHP_DOCKERFILES="./no-dockerfiles/",
        PHP_PINS_FILE=os.path.relpath(world.pins, here),
    )  # fmt: skip
    both_say_there_is_no_dockerfile(world, env, here, f"{here}/no-dockerfiles/8.4/Dockerfile")

    env["PHP_PINS_FILE"] = "./elsewhere//v2.0.0.env"
    answer, _ = resolve(env, here)
    proc, fields = launch(world, env, cwd=here)
    no_decision(proc, fields, answer, "pins-file")
    said = f"error: {here}/elsewhere/v2.0.0.env: pins file not found\n"
    assert said in answer.stderr and f"start: {said}" in proc.stderr, proc.stderr


@pytest.mark.parametrize("given", ["file", "directory", "unset", "link", "unset link"])
def test_a_missing_pins_file_gets_the_same_tip_from_both(tmp_path: Path, given: str) -> None:
    """A pins file not found: both tools say it in the same words, and the tip fits what was
    set. The launcher said "or set PHP_PINS_FILE" though PHP_PINS_FILE was set (to a path
    that does not exist), and resolve "or unset PHP_PINS_FILE", which finds no pins file."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE}
    stack = tmp_path / "stack"
    stack.mkdir()
    shutil.copy(STACK / "start.sh", stack / "start.sh")
    missing = tmp_path / "v2.0.0.env"
    tip = "check the path in PHP_PINS_FILE, or point PHP_PINS_FILE at the release's vX.Y.Z.env"
    if given == "file":
        env["PHP_PINS_FILE"] = str(missing)
    elif given == "directory":  # a directory of vX.Y.Z.env without STACK_RELEASE's
        (tmp_path / "pins").mkdir()
        env["PHP_PINS_FILE"] = str(tmp_path / "pins")
        missing = tmp_path / "pins" / "v2.0.0.env"
        tip = "check STACK_RELEASE, or put the release's v2.0.0.env in the directory PHP_PINS_FILE names"
    elif given.endswith("link"):  # a link whose target is gone: named, not "vendor" the file
        link = stack / "php-images.env"
        link.symlink_to("../moved/v2.0.0.env")
        missing = link
        if given == "link":
            env["PHP_PINS_FILE"] = str(link)
        said = (
            f"{link}: pins file not found: it is a symbolic link to ../moved/v2.0.0.env, which "
            "does not exist"
        )
        other = "point PHP_PINS_FILE at the release's vX.Y.Z.env"
        tip = "restore ../moved/v2.0.0.env or point the link at the release's vX.Y.Z.env, or " + (
            "set PHP_PINS_FILE" if given == "unset link" else other
        )
    proc = run(shutil.which("dash") or "sh", str(stack / "start.sh"), env=env, check=False)
    assert proc.returncode == 3, proc.stderr
    if given == "unset link":
        assert proc.stderr.splitlines()[1:] == [f"start: error: {said}", f"start: fix: {tip}"]
        return
    if given != "link":
        said = f"{missing}: pins file not found"
    if given == "unset":  # the launcher's own default (resolve's is optional)
        assert proc.stderr.splitlines()[1:] == [
            f"start: error: {stack}/php-images.env: pins file not found",
            "start: fix: vendor the release's vX.Y.Z.env next to this script as php-images.env, "
            "or set PHP_PINS_FILE",
        ], proc.stderr
        return
    answer, _ = resolve(env, tmp_path)
    assert answer.returncode == 3, answer.stderr
    assert answer.stderr.splitlines()[1:] == [f"error: {said}", f"  tip: {tip}"], answer.stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize("given", ["file", "directory"])
def test_a_pins_file_of_another_release_gets_a_tip_that_works_from_both(
    tmp_path: Path, given: str
) -> None:
    """STACK_RELEASE=v9.9.0 and a pins file for v2.0.0: both say so in the same words, and
    their tip works. From a directory of vX.Y.Z.env (v9.9.0.env holding v2.0.0), "unset
    STACK_RELEASE" alone found no file at all (exit 2): it names the file itself too."""
    digest = "sha256:" + "a" * 64
    text = pins.render(_record("127.0.0.1:1/team/php-fpm", digest, f"busybox@{digest}"))
    folder = tmp_path / "pd"
    folder.mkdir()
    (folder / "v9.9.0.env").write_text(text)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": "v9.9.0", "USE_PREBUILT": "false"}
    env["PHP_PINS_FILE"] = str(folder if given == "directory" else folder / "v9.9.0.env")
    use = "unset STACK_RELEASE"
    if given == "directory":
        use = f"set PHP_PINS_FILE to this file and {use}"
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    answer, _ = resolve(env, tmp_path)
    assert (answer.returncode, proc.returncode) == (3, 3), (answer.stderr, proc.stderr)
    assert answer.stderr.splitlines()[1:] == [
        f"error: {folder}/v9.9.0.env: this pins file is for {RELEASE}, not v9.9.0",
        f"  tip: take the pins file of v9.9.0, or {use} to use this one ({RELEASE})",
    ], answer.stderr
    same_words(answer.stderr, proc.stderr)
    del env["STACK_RELEASE"]  # as the tip says
    env["PHP_PINS_FILE"] = str(folder / "v9.9.0.env")
    answer, decided = resolve(env, tmp_path)  # the pins file is taken: a decision is made
    assert (answer.returncode, decided.get("release")) == (17, RELEASE), answer.stderr
    assert decided["decision"] == "cannot-proceed"  # USE_PREBUILT=false, and no Dockerfile


def test_a_path_starting_with_two_slashes_is_named_alike_by_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """POSIX lets a path's leading '//' mean something else than '/': resolve (pathlib)
    keeps exactly two, and now so does the launcher, which made one of them (three or more
    are '/' for both), so both name the same file."""
    here = tmp_path.resolve()
    (here / "no-dockerfiles").mkdir()
    env = launcher_env(
        world, project, tmp_path, USE_PREBUILT="false", PHP_DOCKERFILES=f"/{here}//no-dockerfiles/"
    )
    both_say_there_is_no_dockerfile(world, env, here, f"/{here}/no-dockerfiles/8.4/Dockerfile")
    for given, named in (
        (f"/{here}//v9.env", f"/{here}/v9.env"),
        (f"//{here}/v9.env", f"{here}/v9.env"),
    ):
        env["PHP_PINS_FILE"] = given
        answer, _ = resolve(env, here)
        proc, fields = launch(world, env, cwd=here)
        no_decision(proc, fields, answer, "pins-file")
        said = f"error: {named}: pins file not found\n"
        assert said in answer.stderr and f"start: {said}" in proc.stderr, proc.stderr


def test_the_fallback_build_is_the_equivalent_image(
    world: World, project: str, tmp_path: Path
) -> None:
    """Same Dockerfile, same base digest: same base layers, labels and runtime config."""
    env = launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["refused"])
    run(world.docker, "rmi", "-f", world.local, check=False)  # build now, not reuse
    proc, fields = launch(world, env)
    assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
    assert "falling back to a local build" in proc.stderr
    local = running_image(world.docker, project)
    assert world.local in local["RepoTags"]
    run(world.docker, "pull", "--platform", HOST, world.prebuilt())
    prebuilt = json.loads(run(world.docker, "image", "inspect", world.prebuilt()).stdout)[0]
    base = json.loads(run(world.docker, "image", "inspect", world.base).stdout)[0]
    for key in (
        "org.opencontainers.image.base.name",
        "org.opencontainers.image.version",
        "dev.publisher.php-line",
        "dev.publisher.stand-in",
    ):
        assert local["Config"]["Labels"][key] == prebuilt["Config"]["Labels"][key], key
    assert local["Config"]["Labels"]["org.opencontainers.image.base.name"] == world.base
    layers = base["RootFS"]["Layers"]
    assert local["RootFS"]["Layers"][: len(layers)] == layers
    assert prebuilt["RootFS"]["Layers"][: len(layers)] == layers
    for key in ("Entrypoint", "Cmd", "Env", "WorkingDir"):
        assert local["Config"][key] == prebuilt["Config"][key], key


def host_image(world: World, path: str, index: str) -> str:
    """The digest of the HOST image of the index ``index`` in ``path`` on the registry: a
    single-platform image, no index."""
    request = urllib.request.Request(
        f"http://{world.registry.host}/v2/{path}/manifests/{index}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        manifests = json.load(answer)["manifests"]
    return str(
        next(m["digest"] for m in manifests if m.get("platform", {}).get("architecture") in HOST)
    )


def pins_naming(world: World, tmp_path: Path, digest: str) -> Path:
    """The release's pins file edited by hand to pin PHP 8.4 to ``digest`` with no
    platforms recorded, written as ``tmp_path/<release>.env``."""
    text = world.pins.read_text().replace(world.digest, digest)
    text = re.sub(r"^PHP_PLATFORMS_8_4=.*$", "PHP_PLATFORMS_8_4=''", text, flags=re.M)
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(text)
    return pins_file


def test_a_republished_base_is_built_anew_not_the_old_local_build_reused(
    world: World, project: str, tmp_path: Path
) -> None:
    """A security republish ships a pins file with a new PHP_BASE_IMAGE: the fallback builds
    on it instead of starting the local build made on the old base. The old local build,
    never started again, is removed once no container uses it; other releases' and
    lines' local builds stay."""
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    proc, _ = launch(world, env)  # the local build on the old base, as an earlier start left it
    assert proc.returncode == 0, proc.stderr
    unrelated = [
        f"localhost/{world.path}:v1.9.0-php-8.4-base-0123456789ab",  # another release
        f"localhost/{world.path}:{RELEASE}-php-8.3-base-0123456789ab",  # another line
        f"localhost/{world.path}:{PIN}-local",  # not a tag the launcher makes
    ]
    legacy = f"localhost/{world.path}:{PIN}"  # tagged before the base-digest key
    for tag in (*unrelated, legacy):  # another image: world.local keeps its only tag
        run(world.docker, "tag", world.base, tag)
    holder = run(world.docker, "create", world.local, "true").stdout.strip()  # another user
    # the republished base: the base's own HOST image, another digest the registry has
    name, index = world.base.split("@")
    child = host_image(world, name.split("/", 1)[1].rsplit(":", 1)[0], index)
    new_base = f"{name}@{child}"
    republished = tmp_path / f"{RELEASE}.env"
    republished.write_text(world.pins.read_text().replace(world.base, new_base))
    new_local = f"localhost/{world.path}:{PIN}-base-{child[7:19]}"
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(republished),
        PHP_IMAGE_REPOSITORY=world.repositories["refused"],
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
        assert proc.returncode == 0, proc.stderr
        assert f"falling back to a local build of {new_local} from" in proc.stderr
        assert decision["image"] == new_local, answer.stderr
        image = running_image(world.docker, project)
        assert image["Config"]["Labels"]["org.opencontainers.image.base.name"] == new_base
        # the legacy tag goes; the old build is still used by a container: the engine keeps it
        assert f"removed {legacy}: a local build of PHP 8.4 on another base" in proc.stderr
        assert f"removed {world.local}" not in proc.stderr
        assert _has_image(world, world.local) and not _has_image(world, legacy)

        run(world.docker, "rm", holder)
        proc, fields = launch(world, env)  # the next start reuses the new build...
        assert proc.returncode == 0, proc.stderr
        assert "using the local build" in proc.stderr and new_local in proc.stderr
        # ...and removes the old one, now unused; the new one stays for offline starts
        assert f"removed {world.local}: a local build of PHP 8.4 on another base" in proc.stderr
        assert not _has_image(world, world.local) and _has_image(world, new_local)
        assert all(_has_image(world, tag) for tag in unrelated)
    finally:
        run(world.docker, "rm", "-f", holder, check=False)
        run(world.docker, "rmi", "-f", new_local, *unrelated, legacy, check=False)


def test_an_earlier_local_build_of_another_dockerfile_is_built_anew_with_a_note(
    world: World, project: str, tmp_path: Path
) -> None:
    """A vendoring slip (the new pins file, the old Dockerfile) built the fallback from the
    wrong Dockerfile; once the right one is put in place, both tools build anew instead of
    starting that build again, and a note says why, in the same words. The build carries the
    Dockerfile's sha256 as dev.publisher.dockerfile, as publisher's builds do; the next start
    takes it as it is."""
    dockerfile = tmp_path / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    release = (DOCKERFILES / "8.4" / "Dockerfile").read_text()
    dockerfile.write_text(release + 'LABEL dev.test.vendored="old"\n')  # the slip
    path = f"stale-{uuid.uuid4().hex[:6]}/php-fpm"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(
        pins.render(_record(f"127.0.0.1:{free_port()}/{path}", world.digest, world.base))
    )
    local = f"localhost/{path}:{PIN}-base-{world.base.split('@sha256:')[1][:12]}"
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file),
                       PHP_DOCKERFILES=str(dockerfile.parents[1]))  # fmt: skip
    try:
        proc, fields = launch(world, env)
        assert proc.returncode == 0 and "falling back to a local build" in proc.stderr, proc.stderr
        old = "sha256:" + hashlib.sha256(dockerfile.read_bytes()).hexdigest()
        labels = running_image(world.docker, project)["Config"]["Labels"]
        assert (labels["dev.publisher.dockerfile"], labels["dev.test.vendored"]) == (old, "old")
        compose_down(world.docker, project)

        dockerfile.write_text(release)  # corrected
        new = "sha256:" + hashlib.sha256(dockerfile.read_bytes()).hexdigest()
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        note = (
            f"the local build {local} of an earlier start is not started again: it was built "
            f"from another Dockerfile than {dockerfile} (its label dev.publisher.dockerfile: "
            f"{old}; the file's: {new})"
        )
        assert decision["note"] == note, answer.stderr
        assert f"start: note: {note}\n" in proc.stderr, proc.stderr
        assert decision["build"] is True and "falling back to a local build" in proc.stderr
        labels = running_image(world.docker, project)["Config"]["Labels"]
        assert labels["dev.publisher.dockerfile"] == new and "dev.test.vendored" not in labels
        compose_down(world.docker, project)

        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert proc.returncode == 0, proc.stderr
        assert f"using the local build {local} from an earlier start" in proc.stderr
        assert decision["build"] is False and decision["note"] is None, answer.stderr
        assert "note:" not in proc.stderr, proc.stderr
    finally:
        run(world.docker, "rmi", "-f", local, check=False)


def _has_image(world: World, ref: str) -> bool:
    return run(world.docker, "image", "inspect", ref, check=False).returncode == 0


#: How the platform other than the engine's is given: PHP_IMAGE_PLATFORM; docker's own
#: DOCKER_DEFAULT_PLATFORM (set on many a Mac for linux/amd64 images), which both tools once
#: ignored, starting the engine's platform; both, where PHP_IMAGE_PLATFORM wins and
#: DOCKER_DEFAULT_PLATFORM is not read (nor refused).
GIVEN_PLATFORM = {
    "PHP_IMAGE_PLATFORM": {"PHP_IMAGE_PLATFORM": OTHER},
    "DOCKER_DEFAULT_PLATFORM": {"DOCKER_DEFAULT_PLATFORM": OTHER},
    "both": {"PHP_IMAGE_PLATFORM": OTHER, "DOCKER_DEFAULT_PLATFORM": "linux/riscv64"},
}


@pytest.mark.parametrize("given", list(GIVEN_PLATFORM))
def test_an_image_cached_for_the_emulated_platform_needs_no_registry(
    world: World, project: str, tmp_path: Path, given: str
) -> None:
    """PHP_IMAGE_PLATFORM (or DOCKER_DEFAULT_PLATFORM) other than the engine's (linux/amd64
    on Apple Silicon): the image pulled for it sits next to the engine's own in the image
    store, where `docker image inspect` names the engine's platform; both tools still find
    it, with the registry gone, and start it for that platform. DOCKER_DEFAULT_PLATFORM,
    set for every project, is said in a note, in the same words."""
    name, index = world.base.split("@")  # a two-platform index: the stand-in base
    relay = TcpRelay(world.registry.host)
    repository = f"{relay.host}/{name.split('/', 1)[1].rsplit(':', 1)[0]}"
    reference = f"{repository}:{PIN}@{index}"
    try:
        for platform in (OTHER, HOST):
            run(world.docker, "pull", "--platform", platform, reference)
    finally:
        relay.close()
    text = world.pins.read_text().replace(world.digest, index)
    text = re.sub("^PHP_PLATFORMS_8_4=.*$", f"PHP_PLATFORMS_8_4='{HOST} {OTHER}'", text, flags=re.M)
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(text)
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_REPOSITORY=repository,
        ALLOW_LOCAL_BUILD_FALLBACK="false", **GIVEN_PLATFORM[given],
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
        assert (answer.returncode, proc.returncode) == (0, 0), answer.stderr + proc.stderr
        assert (decision["availability"], decision["image"]) == ("cached", reference)
        assert decision["platform"] == OTHER, answer.stderr
        assert f"started {reference} ({OTHER})" in proc.stderr, proc.stderr
        if given == "DOCKER_DEFAULT_PLATFORM":
            note = (
                f"platform {OTHER} (DOCKER_DEFAULT_PLATFORM; emulated on this {HOST} engine): "
                f"set PHP_IMAGE_PLATFORM={HOST} to run the engine's own natively"
            )
            assert decision["note"] == note, answer.stderr
            assert f"start: note: {note}\n" in proc.stderr, proc.stderr
        else:
            assert decision["note"] is None and "note:" not in proc.stderr, proc.stderr
        ids = run(
            world.docker, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
        ).stdout.split()
        machine = run(world.docker, "exec", *ids, "uname", "-m").stdout.strip()
        assert {"x86_64": "linux/amd64", "aarch64": "linux/arm64"}[machine] == OTHER
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", reference, check=False)


@pytest.mark.parametrize("written", ["empty", "blank"])
@pytest.mark.parametrize("wanted", ["host", "other"])
def test_platforms_the_pins_file_does_not_record_are_asked_of_the_registry(
    world: World, project: str, tmp_path: Path, written: str, wanted: str
) -> None:
    """PHP_PLATFORMS_8_4 empty or blank (a tab) records no platform: both tools ask the
    registry, which serves this engine's platform (started) and not the other
    (platform-missing in the registry's words, the same fix from both). Both once said "it
    has: none" from the pins file and stopped, advising the other platform, which it did not
    list either; the launcher said so of a tab alone later still. (Missing, the key is a
    file cut short: a broken pins file, BROKEN_PINS's cut-platforms.)"""
    text = world.pins.read_text()
    value = "\t" if written == "blank" else ""
    text = re.sub(r"^PHP_PLATFORMS_8_4=.*$", f"PHP_PLATFORMS_8_4='{value}'", text, flags=re.M)
    assert text != world.pins.read_text()
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(text)
    platform = HOST if wanted == "host" else OTHER
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_PLATFORM=platform,
        ALLOW_LOCAL_BUILD_FALLBACK="false", PHP_IMAGE_CACHE_CHECK="false",
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert "it has: none" not in answer.stderr + proc.stderr, answer.stderr + proc.stderr
        assert "pins file)" not in answer.stderr + proc.stderr, answer.stderr + proc.stderr
        if wanted == "host":
            assert fields == {"decision": "use-prebuilt", "availability": "available"}, proc.stderr
            assert (answer.returncode, proc.returncode) == (0, 0), answer.stderr + proc.stderr
            assert decision["image"] == world.prebuilt(), answer.stderr
            image = running_image(world.docker, project)
            assert f"{image['Os']}/{image['Architecture']}" == HOST
        else:
            expected = {"decision": "cannot-proceed", "availability": "platform-missing"}
            assert fields == expected, proc.stderr
            assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
            assert f"has no {OTHER} image (it has: {HOST})" in decision["reason"], answer.stderr
            assert f"platform {OTHER} missing: " in proc.stderr, proc.stderr
            assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    finally:
        compose_down(world.docker, project)


@pytest.mark.parametrize("use_prebuilt", [True, False], ids=["prebuilt", "local"])
def test_offline_with_nothing_cached_says_so_instead_of_a_doomed_build(
    world: World, project: str, tmp_path: Path, use_prebuilt: bool
) -> None:
    run(world.docker, "rmi", "-f", world.local, check=False)  # nothing: no earlier local build
    dead = f"127.0.0.1:{free_port()}"
    base = f"{dead}/stand-in/php:8.4-fpm-alpine@{world.base.split('@')[1]}"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(f"{dead}/{world.path}", world.digest, base)))
    env = launcher_env(
        world,
        project,
        tmp_path,
        PHP_PINS_FILE=str(pins_file),
        USE_PREBUILT=str(use_prebuilt).lower(),
    )
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    availability = "unreachable" if use_prebuilt else "none"
    assert fields == {"decision": "cannot-proceed", "availability": availability}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), proc.stderr
    assert decision["decision"] == "cannot-proceed", answer.stderr
    phrase = f"a local build cannot work either: its base {base} is not in the local image store"
    assert phrase in proc.stderr
    assert phrase in decision["reason"]
    assert "once while online" in proc.stderr and "once while online" in decision["fix"]
    assert "building" not in proc.stderr  # no build was started


def test_offline_an_earlier_local_build_starts_without_its_base(
    world: World, project: str, tmp_path: Path
) -> None:
    """The fallback's local build of an earlier start stays for offline starts: with the
    base gone from the image store (`docker image prune -a` while the stack ran) and its
    registry out of reach, both tools take that build instead of saying that a local build
    cannot work (they once looked for the base first, and stopped with exit 17)."""
    earlier_local_build(world, project, tmp_path)
    dead = f"127.0.0.1:{free_port()}"  # the registries, and the base never pulled from there
    base = f"{dead}/stand-in/php:8.4-fpm-alpine@{world.base.split('@')[1]}"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(f"{dead}/{world.path}", world.digest, base)))
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file))
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
    assert decision["image"] == world.local, answer.stderr
    assert decision["build"] is False, answer.stderr  # started as it is: PHP_BUILD=0
    assert f"using the local build {world.local} from an earlier start" in proc.stderr
    assert "building" not in proc.stderr  # started, not built
    assert running_image(world.docker, project)["RepoTags"] == [world.local]
    # asked to look in no image store, they ask the base's registry, as before
    env["PHP_IMAGE_CACHE_CHECK"] = "false"
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr


def test_a_pruned_release_and_base_say_to_take_the_current_pins_file_not_to_go_online(
    world: World, project: str, tmp_path: Path
) -> None:
    """An old checkout's pins file: its image and its base digest are gone from registries
    that answer. Going online cannot help; the release's current pins file can."""
    gone = "sha256:" + "0" * 64
    base = f"{world.base.split('@')[0]}@{gone}"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(world.repository, gone, base)))
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file))
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "not-on-registry"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), proc.stderr
    said = (
        f"its base {base} is not in the local image store and cannot be pulled (not-on-registry: "
    )
    assert said in proc.stderr and said in decision["reason"], answer.stderr
    fix = f"or take the release's current pins file and Dockerfiles: the base {base} is no longer"
    assert f"start: fix: {decision['fix']}\n" in proc.stderr  # the same words
    assert fix in decision["fix"]
    assert "once while online" not in proc.stderr


WEIRD = "Client Sites #1 $HOME's"  # spaces, '#', '$' (and a quote in the parent, see below)


def test_a_stack_under_a_path_with_spaces_hash_and_dollar(
    world: World, project: str, tmp_path: Path
) -> None:
    """The vendored layout (php-images.env, dockerfiles/ next to start.sh) under an odd path,
    started from a directory holding an unrelated matrix.yaml."""
    home = tmp_path / "Client Sites #1 $x" / "my stack"
    shutil.copytree(STACK, home, ignore=shutil.ignore_patterns("README.md", ".gitignore"))
    shutil.copytree(DOCKERFILES / "8.4", home / "dockerfiles" / "8.4")
    shutil.copy(world.pins, home / "php-images.env")
    elsewhere = tmp_path / "a php project"
    elsewhere.mkdir()
    (elsewhere / "matrix.yaml").write_text("include:\n  - {php: '8.4', os: ubuntu}\n")
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]  # the defaults: next to start.sh
    proc, fields = launch(world, env, stack=home, cwd=elsewhere)
    assert fields == {"decision": "build-locally", "availability": "none"}, proc.stderr
    assert proc.returncode == 0, proc.stderr
    ids = run(
        world.docker, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
    ).stdout.split()
    mounts = json.loads(run(world.docker, "inspect", "--format", "{{json .Mounts}}", *ids).stdout)
    assert [m["Source"] for m in mounts] == [str(home / "www")]

    # resolve's env output for the same stack, read back by compose and by sh
    out = run(
        sys.executable, str(RESOLVE), "--format", "env",
        env={**env, "PATH": os.environ["PATH"], "PHP_PINS_FILE": str(home / "php-images.env"),
             "PHP_DOCKERFILES": str(home / "dockerfiles")},
        cwd=elsewhere, check=False,
    )  # fmt: skip
    assert out.returncode == 16, out.stderr
    env_file = tmp_path / "php.env"
    env_file.write_text(out.stdout)
    context = str(home / "dockerfiles" / "8.4")
    assert f"PHP_BUILD_CONTEXT='{context}'\n" in out.stdout
    sourced = run("sh", "-c", '. "$1" && printf %s "$PHP_BUILD_CONTEXT"', "sh", str(env_file))
    assert sourced.stdout == context
    config = run(
        world.docker, "compose", "--env-file", str(env_file), "--file",
        str(home / "compose.yaml"), "config", "--format", "json", cwd=elsewhere,
    )  # fmt: skip
    service = json.loads(config.stdout)["services"]["php"]
    # compose prints a literal '$' as '$$' (its config output can be read back as is)
    assert service["build"]["context"] == context.replace("$", "$$")
    assert service["image"] == world.local

    # a quote cannot be carried safely: resolve refuses instead of writing it wrong
    quoted = tmp_path / WEIRD
    shutil.copytree(DOCKERFILES / "8.4", quoted / "8.4")
    bad = run(
        sys.executable, str(RESOLVE), "--format", "env",
        env={**env, "PATH": os.environ["PATH"], "PHP_PINS_FILE": str(world.pins),
             "PHP_DOCKERFILES": str(quoted)},
        cwd=elsewhere, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "cannot be written to an env file safely" in bad.stderr
    assert bad.stdout == ""


def test_a_compose_failure_tip_is_a_stop_command_that_runs_as_printed(
    world: World, project: str, tmp_path: Path
) -> None:
    """compose up failing for a reason of its own: the fix names stop.sh as a command that
    runs as printed (its path quoted, a space and a quote in it, with the STACK_NAME given),
    and that removes what was left; a stack folder without compose.yaml is refused before
    any pull, exit 17."""
    home = tmp_path / "it's a" / "st ack"
    shutil.copytree(STACK, home, ignore=shutil.ignore_patterns("README.md", ".gitignore"))
    compose = home / "compose.yaml"
    compose.write_text(  # a container docker cannot create: a device that is not there
        compose.read_text().replace(
            "    restart: unless-stopped",
            '    devices: ["/nonexistent-device:/dev/x"]\n    restart: unless-stopped',
        )
    )
    env = launcher_env(world, project, tmp_path)
    proc, fields = launch(world, env, stack=home)
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 11, proc.stderr
    assert _stack_containers(world, project), proc.stderr  # left behind: created, not started
    fix = next(line for line in said(proc) if line.startswith("start: fix: "))
    command = re.findall(r"`([^`]+)`", fix)
    assert command == [f"STACK_NAME={project} '{tmp_path}/it'\\''s a/st ack/stop.sh'"], fix
    stop = run("sh", "-c", command[0], env={**env, "STACK_NAME": ""}, check=False)
    assert stop.returncode == 0, stop.stderr
    assert _stack_containers(world, project) == []

    compose.unlink()
    proc, fields = launch(world, env, stack=home)
    assert proc.returncode == 17, proc.stderr
    assert fields == {"decision": "none", "error": "file-access"}, proc.stderr
    assert said(proc)[1:] == [
        f"start: error: there is no compose.yaml this user may read in the stack folder {home}: "
        "start.sh starts the services it describes",
        "start: fix: vendor compose.yaml with start.sh, from the same publisher version, into "
        f"{home}",
    ]
    assert "pulling" not in proc.stderr


def test_started_through_a_symlink_from_another_directory(
    world: World, project: str, tmp_path: Path
) -> None:
    """~/bin/php-stack -> the vendored start.sh, and a relative link to that link: the
    pins file, compose.yaml and dockerfiles/ are read next to the script itself."""
    home = tmp_path / "proj" / "my stack"
    shutil.copytree(STACK, home, ignore=shutil.ignore_patterns("README.md", ".gitignore"))
    shutil.copytree(DOCKERFILES / "8.4", home / "dockerfiles" / "8.4")
    shutil.copy(world.pins, home / "php-images.env")
    links = tmp_path / "bin"
    links.mkdir()
    (links / "php-stack").symlink_to(home / "start.sh")
    (links / "stack").symlink_to("php-stack")  # relative, to a link
    web = tmp_path / "proj" / "web"
    web.mkdir()
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]  # the defaults: next to start.sh
    dash = shutil.which("dash") or "sh"
    for argv in (
        [dash, "../../bin/stack"],
        [str(links / "php-stack")],
        [dash, "../my stack/start.sh"],
    ):
        proc = run(*argv, env=env, check=False, cwd=web)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert "start: decision=build-locally availability=none" in proc.stderr, proc.stderr
        assert str(home / "dockerfiles" / "8.4" / "Dockerfile") in proc.stderr


def test_the_launcher_is_shellcheck_clean_and_needs_no_python(world: World) -> None:
    shellcheck = require_tool("shellcheck")
    for script in ("start.sh", "stop.sh"):
        proc = run(shellcheck, "--shell=sh", str(STACK / script), check=False)
        assert proc.returncode == 0, proc.stdout
    assert not any(p.name.startswith("python") for p in world.bin_dir.iterdir())
    assert (world.bin_dir / "docker").exists()


def pma_standin(world: World) -> str:
    """A STAND-IN for phpMyAdmin (a copy of the stand-in PHP-FPM image, which keeps running),
    on the test registry under a new name: not in the local image store, so compose pulls it."""
    ref = f"{world.registry.host}/stand-in-{uuid.uuid4().hex[:8]}/phpmyadmin:5.2"
    run(
        require_tool("skopeo"), "copy", "--all", "--src-tls-verify=false",
        "--dest-tls-verify=false", f"docker://{world.repository}@{world.digest}", f"docker://{ref}",
    )  # fmt: skip
    return ref


def _services(world: World, project: str) -> dict[str, tuple[str, str]]:
    """The stack's containers: service -> (image, state)."""
    out = run(
        world.docker, "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
        "--format", '{{.Label "com.docker.compose.service"}} {{.Image}} {{.State}}',
    ).stdout  # fmt: skip
    return {s: (i, st) for s, i, st in (line.split() for line in out.splitlines())}


def test_pma_image_passes_through_to_compose(world: World, project: str, tmp_path: Path) -> None:
    """PMA_IMAGE set: start.sh starts phpMyAdmin too (the profile pma), compose pulling it,
    and stop.sh removes it with PHP-FPM; one compose cannot pull is exit 11 naming it."""
    pma = pma_standin(world)
    log = tmp_path / "compose.log"
    env = launcher_env(world, project, tmp_path, PMA_IMAGE=pma, STACK_TEST_LOG=str(log))
    proc, fields = launch(world, env)
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert set(log.read_text().splitlines()) == {f"PMA_IMAGE={pma}"}
    assert f"start: started phpMyAdmin {pma}\n" in proc.stderr
    services = _services(world, project)
    assert services["pma"] == (pma, "running"), services
    assert services["php"][1] == "running", services
    _, decision = resolve(env, tmp_path)
    assert decision["pma_image"] == pma
    stop = run("sh", str(STACK / "stop.sh"), env=env, check=False)
    assert stop.returncode == 0, stop.stderr
    assert _services(world, project) == {}

    odd = f"127.0.0.1:{free_port()}/team/phpmyadmin:5.2@sha256:" + "f" * 64
    proc, fields = launch(world, {**env, "PMA_IMAGE": odd})
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 11, proc.stderr
    assert f"start: error: docker compose could not start phpMyAdmin ({odd}): " in proc.stderr


def test_pma_image_from_an_env_file_edited_on_windows_reaches_compose_without_its_cr(
    world: World, project: str, tmp_path: Path
) -> None:
    """A module's env file saved with CRLF: PMA_IMAGE is read as the other settings are,
    without the blanks around it, never refused for a character nobody sees."""
    pma = pma_standin(world)
    log = tmp_path / "compose.log"
    env = launcher_env(
        world, project, tmp_path, PMA_IMAGE=f"{pma}\r", PHP_VERSION="8.4\r",
        STACK_TEST_LOG=str(log),
    )  # fmt: skip
    proc, fields = launch(world, env)
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert set(log.read_text().splitlines()) == {f"PMA_IMAGE={pma}"}
    assert _services(world, project)["pma"] == (pma, "running")
    answer, decision = resolve(env, tmp_path)
    assert decision.get("pma_image") == pma, answer.stderr


def test_the_by_hand_pma_command_compose_yaml_gives_works(
    world: World, project: str, tmp_path: Path
) -> None:
    """compose.yaml's by-hand command for phpMyAdmin, after resolve, starts both services
    (`docker compose --profile pma up -d` alone stops on PHP_IMAGE missing)."""
    text = (STACK / "compose.yaml").read_text()
    commands = [c for c in re.findall(r"docker compose [^\n`]*--profile pma[^\n`]*", text)]
    assert commands == ["docker compose --env-file php.env --profile pma up -d"], commands
    pma = pma_standin(world)
    home = _vendored(world, tmp_path)
    env = launcher_env(world, project, tmp_path, PMA_IMAGE=pma)
    env |= {"PATH": f"{world.bin_dir}:{os.environ['PATH']}", "PHP_PINS_FILE": "php-images.env"}
    shutil.copy(RESOLVE, home / "resolve.py")
    script = f"{sys.executable} resolve.py --format env > php.env\n{commands[0]}\n"
    proc = run("sh", "-euc", script, env=env, cwd=home, check=False)
    assert proc.returncode == 0, proc.stderr
    services = _services(world, project)
    assert services["pma"] == (pma, "running"), services
    assert services["php"] == (world.prebuilt().split("@")[0], "running"), services


def _volume_image(world: World) -> str:
    """A STAND-IN phpMyAdmin declaring VOLUME /sessions (as an image keeping PHP's sessions
    would), in the local image store alone: each container of it gets an anonymous volume."""
    ref = f"localhost/stand-in-{uuid.uuid4().hex[:8]}/phpmyadmin:5.2"
    source = world.prebuilt(world.repositories["cached"])
    container = run(world.docker, "create", "--pull", "never", source).stdout.strip()
    try:
        run(world.docker, "commit", "--change", "VOLUME /sessions", container, ref)
    finally:
        run(world.docker, "rm", "--volumes", container, check=False)
    return ref


def _anonymous_volumes(world: World, project: str) -> set[str]:
    """The anonymous volumes the stack's containers use (a named one is NAME_data here)."""
    ids = _stack_containers(world, project)
    assert ids, f"no container of the stack {project}"
    template = '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}'
    names = set(run(world.docker, "inspect", "--format", template, *ids).stdout.split())
    return names - {f"{project}_data"}


def test_stop_removes_the_anonymous_volumes_of_its_containers_and_keeps_named_ones(
    world: World, project: str, tmp_path: Path
) -> None:
    """An image declaring a VOLUME gets an anonymous volume with each container, which no
    later start takes again: stop.sh removes them with the stack's containers (phpMyAdmin's
    too, a service of a profile), so start and stop cycles leave none behind, and keeps a
    named volume the compose file declares (a database's data), as `down -v` would not."""
    home = _vendored(world, tmp_path)
    compose = home / "compose.yaml"
    text = compose.read_text()
    assert text.endswith("    depends_on: [php]\n")
    compose.write_text(f"{text}    volumes:\n      - data:/data\n\nvolumes:\n  data: {{}}\n")
    pma = _volume_image(world)
    env = launcher_env(world, project, tmp_path, PMA_IMAGE=pma)
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]  # the vendored copy's own
    dash = shutil.which("dash") or "sh"
    try:
        for _ in range(3):
            proc, fields = launch(world, env, stack=home)
            assert (proc.returncode, fields["decision"]) == (0, "use-prebuilt"), proc.stderr
            anonymous = _anonymous_volumes(world, project)
            assert anonymous, "phpMyAdmin's VOLUME /sessions has no volume"
            stop = run(dash, str(home / "stop.sh"), env=env, check=False, cwd=home)
            assert stop.returncode == 0, stop.stderr
            assert _stack_containers(world, project) == []
            left = {
                name for name in anonymous
                if run(world.docker, "volume", "inspect", name, check=False).returncode == 0
            }  # fmt: skip
            assert left == set(), f"stop.sh left the anonymous volumes {left}"
            kept = run(world.docker, "volume", "inspect", f"{project}_data", check=False)
            assert kept.returncode == 0, "stop.sh removed the named volume data"
    finally:
        compose_down(world.docker, project)
        run(world.docker, "volume", "rm", f"{project}_data", check=False)
        run(world.docker, "rmi", pma, check=False)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("USE_PREBUILT", "maybe", "use true or false"),
        ("ALLOW_LOCAL_BUILD_FALLBACK", "perhaps", "use true or false"),
        ("PHP_VERSION", "8", "use a PHP line MAJOR.MINOR, e.g. 8.4"),
        ("PHP_VERSION", "8.1000", "use a PHP line MAJOR.MINOR, e.g. 8.4"),  # 3 digits at most
        ("PREBUILT_REGISTRY", "backup", "use canonical or mirror"),
        ("PHP_IMAGE_PLATFORM", "linux/riscv64", "use linux/amd64 or linux/arm64"),
        (
            "DOCKER_DEFAULT_PLATFORM",
            "linux/arm/v7",
            "use linux/amd64 or linux/arm64 (the PHP image's platform when PHP_IMAGE_PLATFORM "
            "is not set)",
        ),
        ("PMA_IMAGE", "phpmyadmin latest", "whitespace, control characters, quotes,"),
        ("STACK_RELEASE", "garbage", "use v + a semantic version, e.g. v2.0.0 or v2.1.0-rc.1"),
        ("STACK_RELEASE", "2.0.0", "a release tag starts with 'v' (did you mean v2.0.0?)"),
        # a tag no release can have: shaped as a pin, or too long for its pins
        ("STACK_RELEASE", "v1.0.0-php-8.4", "it looks like a pin tag (…-php-X.Y)"),
        (
            "STACK_RELEASE",
            "V2.1.0-rc.1",
            "a release tag starts with a lowercase 'v' (did you mean v2.1.0-rc.1?)",
        ),
        ("PHP_IMAGE_REPOSITORY", "127.0.0.1:5000/Team/php-fpm", "a repository path is lowercase"),
        ("PHP_IMAGE_REPOSITORY", "127.0.0.1:5000/team/php-fpm/", "a repository path is lowercase"),
        ("PHP_IMAGE_REPOSITORY", "127.0.0.1:5000/team/php-fpm:v1", "may not have a tag or digest"),
        (
            "PHP_IMAGE_MIRROR",
            "bad_host:5000/team/php-fpm",
            "'bad_host:5000' is not a registry host",
        ),
        (
            "PHP_IMAGE_REPOSITORY",
            "localhost:99999/team/php-fpm",
            "registry port 99999 is out of range: a port is 1 to 65535",
        ),
        (
            "PHP_IMAGE_MIRROR",
            "localhost:0/team/php-fpm",
            "registry port 0 is out of range: a port is 1 to 65535",
        ),
        ("STACK_REGISTRY_TIMEOUT", "61", "use a number of seconds above 0 and at most 60"),
        # float() takes these; the launcher's shell arithmetic does not, so neither does resolve
        ("STACK_REGISTRY_TIMEOUT", "1_0", "use a number of seconds above 0 and at most 60"),
        ("STACK_REGISTRY_TIMEOUT", "1e1", "use a number of seconds above 0 and at most 60"),
        ("PHP_IMAGE_CACHE_CHECK", "ture", "use true or false"),
    ],
)
def test_invalid_settings_are_exit_2_in_both(
    world: World, project: str, tmp_path: Path, name: str, value: str, accepted: str
) -> None:
    env = launcher_env(world, project, tmp_path, **{name: value})
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    for stderr in (answer.stderr, proc.stderr):
        assert f"{name}='{value}' is not valid" in stderr
        assert accepted in stderr
    same_words(answer.stderr, proc.stderr)
    assert f"  tip: correct the environment variable {name}\n" in answer.stderr


def test_a_release_too_long_for_its_pins_is_exit_2_in_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """A STACK_RELEASE whose pin tags would pass an image tag's 128 characters (shown
    shortened, it is so long) is refused by both tools in the same words."""
    env = launcher_env(world, project, tmp_path, STACK_RELEASE="v1.0.0-" + "a" * 120)
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    said = "it has 127 characters, more than 116: its pin tags (…-php-X.Y) would not fit the "
    for stderr in (answer.stderr, proc.stderr):
        assert said + "128 characters of an image tag" in stderr, stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("USE_PREBUILT", "tru\udcffe", "tru\\xffe"),  # a byte that is not UTF-8
        ("PHP_VERSION", "8.\udce9", "8.\\xe9"),  # Latin-1 é
        ("STACK_RELEASE", "v1-caf\u00e9-\udced\udca0\udc80", "v1-caf\u00e9-\\xed\\xa0\\x80"),
    ],
)
def test_a_value_that_is_not_utf8_is_written_alike_by_both(
    world: World, project: str, tmp_path: Path, name: str, value: str, shown: str
) -> None:
    """A byte that is not UTF-8 (argv and the environment hold any bytes) is written \\xff
    in the error of both tools, valid UTF-8 as it is: the same words, where the launcher
    wrote the byte itself and resolve \\xff."""
    env = launcher_env(world, project, tmp_path, **{name: value})
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    for stderr in (answer.stderr, proc.stderr):
        assert f"{name}='{shown}' is not valid" in stderr, stderr
    same_words(answer.stderr, proc.stderr)


def same_words(resolve_stderr: str, launcher_stderr: str) -> None:
    """The error and what to do, word for word: resolve's ``error:`` and ``  tip:`` lines are
    the launcher's ``start: error:`` and ``start: fix:`` ones (resolve's tip may go on to
    name its flag: `` or pass --php 8.4``, which the launcher does not have)."""
    said = resolve_stderr.splitlines()
    assert said[1].startswith("error: ") and said[2].startswith("  tip: "), resolve_stderr
    launcher = launcher_stderr.splitlines()
    assert f"start: {said[1]}" in launcher, launcher_stderr
    fix = next((line for line in launcher if line.startswith("start: fix: ")), "")
    fix, tip = fix.removeprefix("start: fix: "), said[2].removeprefix("  tip: ")
    assert fix and (tip == fix or tip.startswith(f"{fix} or pass --")), (tip, launcher_stderr)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("localhost:5000/php@8.4", "what follows '@' ('8.4') is not a digest"),
        ("php@8.4", "what follows '@' ('8.4') is not a digest"),
        ("token@registry.example.com:5000", "it carries credentials"),
        ("alice@localhost:5000/php@8.4", "it carries credentials"),
        ("alice:s3cret@8.4", "it carries credentials"),
    ],
)
def test_a_tag_typed_where_a_digest_goes_is_not_called_credentials_by_either(
    tmp_path: Path, value: str, problem: str
) -> None:
    """An image name, '@' and a tag is a tag mistyped (as the main CLI says); a user or
    token before a host is still refused as credentials. Both tools, the same words, and
    never the part before the first '@'."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE, "PHP_IMAGE_REPOSITORY": value}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    for stderr in (answer.stderr, proc.stderr):
        assert problem in stderr and value.split("@")[0] + "@" not in stderr, stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PHP_VERSION", "8"),
        ("PHP_IMAGE_PLATFORM", "linux/riscv64"),
        ("DOCKER_DEFAULT_PLATFORM", "linux/riscv64"),
    ],
)
def test_an_invalid_setting_is_exit_2_in_both_even_without_a_pins_file(
    world: World, project: str, tmp_path: Path, name: str, value: str
) -> None:
    """Settings are checked before the pins file is looked for, by both tools: a bad value
    is exit 2 whatever else is wrong (the launcher said "pins file not found", exit 3)."""
    missing = str(tmp_path / "none" / f"{RELEASE}.env")
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=missing, **{name: value})
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    for stderr in (answer.stderr, proc.stderr):
        assert f"{name}='{value}' is not valid" in stderr, stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("a" * 64 + ".example", "registry host label 'aaaaaaaaaaaa…' is 64 characters long"),
        (
            ".".join(["b" * 63] * 4),
            "registry host is 255 characters long: a host name is at most 253",
        ),
    ],
    ids=["label", "name"],
)
def test_a_host_name_no_dns_holds_is_exit_2_in_both(
    world: World, project: str, tmp_path: Path, host: str, problem: str
) -> None:
    """Before any request (the HTTP clients fail on such names with errors of their own)."""
    env = launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=f"{host}/team/php-fpm")
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    for stderr in (answer.stderr, proc.stderr):
        assert problem in stderr, stderr


def test_blanks_around_a_setting_count_in_neither(
    world: World, project: str, tmp_path: Path
) -> None:
    """A module's env file edited on Windows (a CR after each value), a stray space: both
    tools read the settings alike, and a blank one as unset."""
    cached = world.repositories["cached"]
    env = launcher_env(
        world, project, tmp_path, PHP_VERSION="8.4\r", USE_PREBUILT=" true ",
        ALLOW_LOCAL_BUILD_FALLBACK="false\r", PREBUILT_REGISTRY="canonical\r",
        STACK_RELEASE=f"{RELEASE}\r", PHP_IMAGE_PLATFORM=f"{HOST}\r", STACK_REGISTRY_TIMEOUT="2\r",
        PHP_IMAGE_REPOSITORY=f"{cached}\r", PMA_IMAGE=" ",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (0, 0), answer.stderr
    assert decision["image"] == world.prebuilt(cached)
    assert f"started {world.prebuilt(cached)} ({HOST})" in proc.stderr


def test_a_path_setting_is_read_without_its_blanks_and_a_control_character_in_it_escaped(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_PINS_FILE and PHP_DOCKERFILES are read as the other settings are: the CR of an env
    file edited on Windows, a stray space, are no part of the path (both tools said the pins
    file was not found, or there was no Dockerfile, printing the CR itself, which made the
    terminal overwrite the line; resolve's env format refused the path). A control character
    within a path is written escaped by both, as a refused value's is."""
    here = tmp_path.resolve()
    env = launcher_env(
        world, project, tmp_path, USE_PREBUILT="false", PHP_PINS_FILE=f" {world.pins}\r",
        PHP_DOCKERFILES=f"{here}/nowhere\r",
    )  # fmt: skip
    both_say_there_is_no_dockerfile(world, env, here, f"{here}/nowhere/8.4/Dockerfile")
    env["PHP_DOCKERFILES"] = f"\t{DOCKERFILES}\r"
    answer = run(
        sys.executable, str(RESOLVE), "--format", "env", check=False, cwd=here,
        env={**env, "PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert answer.returncode == 16, answer.stderr  # build locally
    assert f"PHP_DOCKERFILE='{DOCKERFILES}/8.4/Dockerfile'\n" in answer.stdout

    env["PHP_DOCKERFILES"] = f"{here}/no\rwhere\x1b"
    answer, _ = resolve(env, here)
    proc, _ = launch(world, env, cwd=here)
    missing = f"there is no Dockerfile for PHP 8.4 at {here}/no\\rwhere\\x1b/8.4/Dockerfile"
    assert f"resolve: why: USE_PREBUILT=false, but {missing}\n" in answer.stderr, answer.stderr
    assert f"start: why: USE_PREBUILT=false, but {missing}\n" in proc.stderr, proc.stderr
    env["PHP_PINS_FILE"] = f"{here}/v2\r.env"
    answer, _ = resolve(env, here)
    proc, fields = launch(world, env, cwd=here)
    no_decision(proc, fields, answer, "pins-file")
    said = f"error: {here}/v2\\r.env: pins file not found\n"
    assert said in answer.stderr and f"start: {said}" in proc.stderr, proc.stderr
    for text in (answer.stderr, proc.stderr):
        assert "\r" not in text and "\x1b" not in text, text


@pytest.mark.parametrize(
    "shell",
    [("dash",), ("bash",), ("zsh",), ("busybox", "sh")],
    ids=["dash", "bash", "zsh", "busybox"],
)
@pytest.mark.parametrize("value", ["\u20038.4", "8.4\u00a0", "8.4\x1c"], ids=["em", "nbsp", "fs"])
def test_a_unicode_space_around_a_setting_is_no_blank_in_either(
    tmp_path: Path, shell: tuple[str, ...], value: str
) -> None:
    """The blanks around a setting are ASCII ones (space, tab, CR, LF, VT, FF) in both tools,
    whatever the shell or the locale: resolve stripped any Unicode space (and \\x1c) and took
    the line, dash and busybox refused it, and bash or zsh under a UTF-8 locale stripped some
    (an em space, not a no-break space). Every one now refuses it, naming the variable."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"LC_ALL": "C.UTF-8", "STACK_RELEASE": RELEASE, "PHP_VERSION": value}
    answer, _ = resolve(env, tmp_path)
    proc = run(*shell, str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), (answer.stderr, proc.stderr)
    assert "PHP_VERSION=" in answer.stderr and "is not valid" in answer.stderr, answer.stderr
    assert "start: error: PHP_VERSION=" in proc.stderr and "is not valid" in proc.stderr, (
        proc.stderr
    )


@pytest.mark.parametrize(
    "value",
    [
        "'8.4'",  # quoted in an env file: resolve's repr writes "'8.4'"
        "a\"b'c",  # both quotes: '...' with \' inside
        "8\\4",  # a backslash, written twice
        "8.4\t1",  # a tab, and the other control characters: an escape sequence stays inert
        "8.4\x1b[2J",
        "8.4\u00a0",  # a no-break space, a zero-width one, a line separator: shown, not hidden
        "\u200b8.4",
        "8\u20284",
        "\u00e9\u00a0" * 40,  # cut to 57 characters first, then quoted
    ],
    ids=["quotes", "both-quotes", "backslash", "tab", "escape", "nbsp", "zwsp", "ls", "long"],
)
def test_a_refused_value_is_quoted_alike_by_both(tmp_path: Path, value: str) -> None:
    """The launcher quotes a value it refuses as resolve does (Python's repr): a quote, a
    backslash, a control character or an invisible one (a no-break space pasted with the
    value) is written so that it shows; the launcher wrote it as it was, inside '...',
    where resolve wrote an escape, so their words differed (and an escape sequence reached
    the terminal)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": value}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), (answer.stderr, proc.stderr)
    assert "\x1b" not in proc.stderr, proc.stderr
    assert f"error: PHP_VERSION={value[:57]!r}"[:30] in answer.stderr, answer.stderr
    same_words(answer.stderr, proc.stderr)


#: The awks a developer's start.sh may meet: mawk (Debian's), busybox's (Alpine's) and
#: BWK's "one true awk", macOS's /usr/bin/awk: its 2022 version (macOS ships 20200816) and
#: its second edition (2023 on), which reads UTF-8 under a UTF-8 locale and writes
#: ``printf "%c"`` of a number above 127 as that code point in UTF-8.
AWKS = {
    "mawk": ("mawk",),
    "busybox": ("busybox",),
    "bwk-2022": ("original-awk",),
    "bwk-2025": ("original-awk-2025",),  # Debian 13's original-awk (scripts/setup-machine)
    # The second edition before its 2023-10-30 fix, which read and wrote UTF-8 under
    # LC_ALL=C too: the 2025 one under a UTF-8 locale whatever the caller sets.
    "bwk-2025-utf8": ("original-awk-2025",),
}

#: Settings the launcher reads with awk (utf8: escape, repr, spaced): quotes, a backslash,
#: accents, an emoji, a lone byte that is not UTF-8, long values cut.
AWK_SETTINGS = {
    "quotes": ("PHP_VERSION", "a\"b'c"),
    "backslash": ("PHP_VERSION", "8\\4"),
    "printf-escapes": ("USE_PREBUILT", "\\c\u00e9\\0101%s\\n"),  # printf %b's own: inert
    "escape": ("PHP_VERSION", "8.4\x1b[2J"),
    "nbsp": ("PHP_VERSION", "8.4\u00a0"),
    "zwsp": ("PHP_VERSION", "\u200b8.4"),
    "accent": ("PHP_VERSION", "8.\u00e9"),
    "emoji": ("PHP_VERSION", "8.4\U0001f600"),
    "long": ("PHP_VERSION", "\u00e9\u00a0" * 40),
    "long-emoji": ("STACK_RELEASE", "v" + "\U0001f600" * 70),
    "byte-ff": ("USE_PREBUILT", "tru\udcffe"),
    "long-ff": ("STACK_RELEASE", "v1" + "\udcff" * 70),
    "surrogate": ("STACK_RELEASE", "v1-caf\u00e9-\udced\udca0\udc80"),
    "repository": ("PHP_IMAGE_REPOSITORY", "r\u00e9gistry.example.com/team/php"),
    "pma-em": ("PMA_IMAGE", "phpmyadmin:5\u2003x"),
    "pma-nbsp": ("PMA_IMAGE", "phpmyadmin:5\u00a0"),
}

#: Pins files the launcher reads with awk (not_utf8, and where a NUL is): Latin-1, UTF-16,
#: a cut character, a NUL.
AWK_PINS = {
    "pins-latin-1": ("PHP_PINS_SCHEMA='1'\n# caf\u00e9\n".encode("latin-1"), "not UTF-8 (0xe9)"),
    "pins-utf-16": ("PHP_PINS_SCHEMA='1'\n".encode("utf-16"), "not UTF-8 (0xff)"),
    "pins-utf-8-cut": ("PHP_PINS_SCHEMA='1'\n# caf\u00e9".encode()[:-1], "not UTF-8 (0xc3)"),
    "pins-nul": (b"PHP_PINS_SCHEMA='1'\n# c\n\nPHP_\0LINES='8.4'\n", "line 4 holds a NUL byte"),
}


def awk_first(tmp_path: Path, awk: str) -> str:
    """A PATH whose ``awk`` is ``awk`` (one of AWKS), ahead of the rest of this PATH."""
    tool = shutil.which(AWKS[awk][0])
    assert tool, f"{AWKS[awk][0]} is not installed (scripts/setup-machine installs it)"
    shim = tmp_path / f"awk-{awk}"
    if not shim.is_dir():
        shim.mkdir()
        if awk.endswith("-utf8"):
            (shim / "awk").write_text(f'#!/bin/sh\nLC_ALL=C.UTF-8 exec {tool} "$@"\n')
            (shim / "awk").chmod(0o755)
        else:
            (shim / "awk").symlink_to(tool)
    return f"{shim}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize("awk", list(AWKS))
@pytest.mark.parametrize("case", [*AWK_SETTINGS, *AWK_PINS])
def test_every_awk_writes_a_refused_value_byte_for_byte_as_mawk_does(
    tmp_path: Path, awk: str, case: str
) -> None:
    """Under a UTF-8 locale, as on a Mac: BWK awk's second edition writes ``%c`` of a byte
    as a code point in UTF-8, which would write an accent or an emoji twice encoded
    (``é`` as ``Ã©``), and did so under LC_ALL=C too before its 2023-10-30 fix; the
    launcher's awk writes ASCII alone and printf the bytes, so every awk writes the same
    bytes as mawk, and the same words as resolve."""
    require_tool(AWKS[awk][0])
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"LANG": "C.UTF-8", "LC_CTYPE": "C.UTF-8", "PHP_VERSION": "8.4"}
    env |= {"STACK_RELEASE": RELEASE}
    if case in AWK_SETTINGS:
        name, value = AWK_SETTINGS[case]
        env[name] = value
        words = "' is not valid"
    else:
        text, words = AWK_PINS[case]
        (tmp_path / "pins.env").write_bytes(text)
        env["PHP_PINS_FILE"] = str(tmp_path / "pins.env")
    said = {}
    for name in ("mawk", awk):
        launcher = {**env, "PATH": awk_first(tmp_path, name)}
        said[name] = subprocess.run(
            [shutil.which("dash") or "sh", str(STACK / "start.sh")],
            env=launcher, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert said[awk].stderr == said["mawk"].stderr, (said[awk].stderr, said["mawk"].stderr)
    assert said[awk].returncode == said["mawk"].returncode
    answer, _ = resolve(env, tmp_path)
    stderr = said[awk].stderr.decode(errors="surrogateescape")
    assert (answer.returncode, said[awk].returncode) in ((2, 2), (3, 3)), (answer.stderr, stderr)
    assert words in stderr, stderr
    same_words(answer.stderr, stderr)


@pytest.mark.parametrize("name", ["PHP_PINS_FILE", "PHP_DOCKERFILES"])
def test_a_relative_path_in_a_removed_directory_is_said_so_by_both(
    tmp_path: Path, name: str
) -> None:
    """A relative PHP_PINS_FILE or PHP_DOCKERFILES, run from a directory removed after the
    shell entered it: the launcher said the path from the root, `/v2.0.0.env: pins file
    not found` (exit 3) or a Dockerfile under /dockerfiles, a file nobody named; it says,
    as resolve does, that the current directory cannot be read (exit 17)."""
    gone = tmp_path / "gone"
    pins_file = tmp_path / f"{RELEASE}.env"  # read before the Dockerfiles are looked for
    base = f"127.0.0.1:1/php:8.4-fpm-alpine@sha256:{'cd' * 32}"
    pins_file.write_text(pins.render(_record("127.0.0.1:1/t/php-fpm", f"sha256:{'ab' * 32}", base)))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PHP_PINS_FILE": str(pins_file)}
    env[name] = f"{RELEASE}.env" if name == "PHP_PINS_FILE" else "dockerfiles"
    said = {}
    for tool in (
        (sys.executable, str(RESOLVE)),
        (shutil.which("dash") or "sh", str(STACK / "start.sh")),
    ):
        gone.mkdir()
        said[tool[0]] = run(
            "sh", "-c", 'cd "$1" && rmdir "$1" && shift && exec "$@"', "sh", str(gone), *tool,
            env=env, check=False,
        )  # fmt: skip
    answer, proc = said[sys.executable], said[shutil.which("dash") or "sh"]
    assert (answer.returncode, proc.returncode) == (17, 17), (answer.stderr, proc.stderr)
    assert "start: decision=none error=file-access" in proc.stderr, proc.stderr
    assert "/dockerfiles" not in proc.stderr and f"/{RELEASE}.env" not in proc.stderr
    assert "getcwd" not in proc.stderr.split("\n", 1)[1], proc.stderr  # the shell's own first line
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize(
    "space", ["\u00a0", "\u2003", "\u3000", "\u2028", "\x85", "'", '"', "\\", "#", "##[debug]"]
)
def test_a_pma_image_holding_a_unicode_space_is_refused_by_both(tmp_path: Path, space: str) -> None:
    """PMA_IMAGE with a Unicode space in it (a no-break space pasted with the reference):
    resolve refused it (exit 2) and the launcher, which looked for ASCII blanks and control
    characters only, handed it to compose; both refuse it now, in the same words. A quote
    or a backslash too (no image reference holds one): the launcher handed it to compose,
    and resolve refused it in the env format alone, after saying a decision. A '#' too (the
    reference grammar has none): both passed it on, and resolve refused only ``##[`` in GitHub
    Actions, where the launcher passed it."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PMA_IMAGE": f"phpmyadmin:5.2{space}x"}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), (answer.stderr, proc.stderr)
    assert (
        "may not contain whitespace, control characters, quotes, backslashes or '#'" in proc.stderr
    ), proc.stderr
    same_words(answer.stderr, proc.stderr)
    for fmt in ("env", "text"):
        other = run(sys.executable, str(RESOLVE), "--format", fmt, env=env, check=False)
        assert (other.returncode, other.stderr) == (2, answer.stderr), fmt


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USE_PREBUILT", " maybe\r"),
        ("PHP_VERSION", "\t8.x "),
        ("STACK_REGISTRY_TIMEOUT", " abc\r"),
        ("PHP_IMAGE_REPOSITORY", " localhost:5000/php@8.4\r"),
        ("PHP_IMAGE_REPOSITORY", "\tlocalhost:99999/php "),
    ],
)
def test_a_refused_value_is_named_without_its_blanks_by_both(
    tmp_path: Path, name: str, value: str
) -> None:
    """The blanks around a setting do not count, and neither tool shows them when it refuses
    the value: resolve named USE_PREBUILT=' maybe\\r' where the launcher named 'maybe'."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {name: value}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (2, 2), (answer.stderr, proc.stderr)
    assert "\\r" not in answer.stderr and "\\t" not in answer.stderr, answer.stderr
    same_words(answer.stderr, proc.stderr)


def test_cache_check_false_asks_the_registry_in_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_IMAGE_CACHE_CHECK=false: an image in the local image store does not count, the
    registry (gone here) is asked, in both tools."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        PHP_IMAGE_CACHE_CHECK="false", ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert decision["availability"] == "unreachable", answer.stderr
    assert (answer.returncode, proc.returncode) == (17, 17)


def test_no_php_version_and_no_default_line_is_said_alike(
    world: World, project: str, tmp_path: Path
) -> None:
    """A pins file without a default line (a record without one), and no PHP_VERSION: the
    example in the tip is a line the file holds (its newest, 8.3), not 8.4."""
    record = {**_record(world.repository, world.digest, world.base), "default_line": None}
    record["lines"] = [{**record["lines"][0], "php": php} for php in ("8.3", "8.2")]
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(record))
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file))
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    no_decision(proc, fields, answer, "invalid-input")
    words = "PHP_VERSION is not set (and the pins file names no default line)"
    assert f"start: error: {words}\n" in proc.stderr
    assert f"error: {words}\n" in answer.stderr
    for stderr in (proc.stderr, answer.stderr):
        assert "set PHP_VERSION (e.g. PHP_VERSION=8.3)" in stderr
    assert "or pass --php 8.3" in answer.stderr
    same_words(answer.stderr, proc.stderr)


def test_a_line_the_release_lacks_lists_the_published_lines_alike(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_VERSION names a line the pins file lacks: both list the lines it has, alike."""
    record = _record(world.repository, world.digest, world.base)
    record["lines"] = [{**record["lines"][0], "php": "8.3"}, *record["lines"]]
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(record))
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_VERSION="8.2")
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields.get("availability") == decision.get("availability") == "not-published"
    assert answer.returncode == proc.returncode, proc.stderr
    for said in (proc.stderr, decision["reason"] + decision["fix"]):
        assert "published lines: 8.3, 8.4" in said, said
        assert "set PHP_VERSION to a published line (8.3, 8.4)" in said, said
    # the record is a stand-in matrix's, published or rehearsed: its words fit either
    assert f"start: {STAND_IN_WARNING}\n" in proc.stderr, proc.stderr
    assert "not PHP" not in proc.stderr


@pytest.mark.parametrize("use_prebuilt", ["true", "false"])
def test_a_line_the_release_lacks_offers_no_pre_built_image_in_either(
    world: World, project: str, tmp_path: Path, use_prebuilt: str
) -> None:
    """A line the pins file does not list, with a Dockerfile whose base cannot be pulled:
    the fix of both says to pull the base, never "(or the pre-built image)", which that line
    does not have; USE_PREBUILT=false is told a published line has one."""
    base = f"127.0.0.1:{free_port()}/stand-in/php:8.5-fpm-alpine"  # nobody answers there
    dockerfile = tmp_path / "dockerfiles" / "8.5" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    text = (DOCKERFILES / "8.4" / "Dockerfile").read_text()
    dockerfile.write_text(re.sub(r"^ARG PHP_BASE_IMAGE=.*$", f"ARG PHP_BASE_IMAGE={base}", text,
                                 flags=re.M))  # fmt: skip
    env = launcher_env(
        world, project, tmp_path, PHP_VERSION="8.5", USE_PREBUILT=use_prebuilt,
        PHP_DOCKERFILES=str(dockerfile.parents[1]),
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    availability = "not-published" if use_prebuilt == "true" else "none"
    assert fields == {"decision": "cannot-proceed", "availability": availability}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    assert decision["fix"].endswith(f"; or pull {base} once while online"), decision["fix"]
    assert "pre-built image)" not in proc.stderr + decision["fix"], proc.stderr
    if use_prebuilt == "false":
        published = "set PHP_VERSION to a published line (8.4) and set USE_PREBUILT=true to use "
        assert decision["fix"].startswith(f"{published}its pre-built image; "), decision["fix"]


def test_a_line_past_its_end_of_life_is_said_in_a_note_by_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """The pins file's comment that the line started was past its end of life when the
    release was written reaches a developer who never opens it: one note, the same in both
    tools, after any other (here PREBUILT_REGISTRY=mirror with no mirror); another line's
    comment says nothing."""
    said = "was past its end of life ({}, no security fixes) when this release was published"
    comments = (
        f"# PHP 8.3 {said.format('2027-12-31')} on 2028-01-05; see the release notes.\n"
        f"# PHP 8.4 {said.format('2028-12-31')} on 2029-01-05; see the release notes.\r\n"
    )
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(comments + world.pins.read_text())
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PREBUILT_REGISTRY="mirror",
        PHP_IMAGE_REPOSITORY=world.repositories["cached"], ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (0, 0), answer.stderr + proc.stderr
    ended = f"PHP 8.4 {said.format('2028-12-31')} on 2029-01-05; see the release notes"
    assert decision["note"].endswith(f"; {ended}"), decision["note"]
    assert decision["note"].startswith("PREBUILT_REGISTRY=mirror, but"), decision["note"]
    assert f"start: note: {decision['note']}\n" in proc.stderr, proc.stderr
    assert "8.3" not in decision["note"], decision["note"]
    assert proc.stderr.count("note:") == 1, proc.stderr


def test_a_hand_edited_pins_file_has_its_lines_and_platforms_listed_alike(
    world: World, project: str, tmp_path: Path
) -> None:
    """A pins file edited by hand, its lines and platforms out of order (a tab between two):
    both tools list them in the order publisher writes them (lines by version, 8.10 after
    8.4; platforms sorted), not in the file's. The launcher once said the file's order."""
    text = world.pins.read_text()
    image = re.search(r"^PHP_IMAGE_8_4='([^']*)'$", text, re.MULTILINE)
    assert image, text
    text = text.replace("PHP_LINES='8.4'", "PHP_LINES='8.10 8.4\t8.3'")
    text = text.replace(f"PHP_PLATFORMS_8_4='{HOST}'", f"PHP_PLATFORMS_8_4='linux/s390x\t{HOST}'")
    # the keys publisher writes for every line (a line without one is a file cut short)
    base = re.search(r"^PHP_BASE_IMAGE_8_4='([^']*)'$", text, re.MULTILINE)
    assert base, text
    for line in ("8_10", "8_3"):
        text += f"PHP_IMAGE_{line}='{image[1]}'\nPHP_PLATFORMS_{line}='{HOST}'\n"
        text += f"PHP_BASE_IMAGE_{line}='{base[1]}'\n"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(text)

    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_VERSION="8.2")
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields.get("availability") == decision.get("availability") == "not-published"
    for said in (proc.stderr, decision["reason"] + decision["fix"]):
        assert "published lines: 8.3, 8.4, 8.10" in said, said
        assert "set PHP_VERSION to a published line (8.3, 8.4, 8.10)" in said, said

    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_VERSION="8.4",
        PHP_IMAGE_PLATFORM=OTHER, ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "platform-missing"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
    shown = ", ".join(sorted(["linux/s390x", HOST]))
    said = f"has no {OTHER} image (it has: {shown}; pins file)"
    assert said in decision["reason"] and said in proc.stderr, proc.stderr


def test_a_mirror_not_synced_and_a_private_mirror(
    world: World, project: str, tmp_path: Path
) -> None:
    """PREBUILT_REGISTRY=mirror pulls the mirror's copy; a mirror lacking the digest is named."""
    mirror = world.repositories["missing"]
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(world.repository, world.digest, world.base, mirror)))
    env = launcher_env(
        world,
        project,
        tmp_path,
        PHP_PINS_FILE=str(pins_file),
        PREBUILT_REGISTRY="mirror",
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "not-on-registry"}
    assert (decision["decision"], decision["availability"]) == ("cannot-proceed", "not-on-registry")
    text = f"{mirror}:{PIN}@{world.digest} is not on this registry (mirror not synced?)"
    assert text in proc.stderr and text in decision["reason"]
    assert "try PREBUILT_REGISTRY=canonical" in proc.stderr
    assert "try PREBUILT_REGISTRY=canonical" in decision["fix"]
    newer = "take the release's current pins file (a republish replaces digests"
    assert newer in proc.stderr and newer in decision["fix"]  # a pruned digest, too

    env["PHP_IMAGE_MIRROR"] = world.repository  # a private mirror that has it
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields["decision"] == decision["decision"] == "use-prebuilt", proc.stderr + answer.stderr
    assert decision["image"] == world.prebuilt()
    assert proc.returncode == 0


def test_a_directory_of_pins_files_is_read_alike(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_PINS_FILE may name a directory of vX.Y.Z.env: STACK_RELEASE picks the file."""
    folder = tmp_path / "pins dir"
    folder.mkdir()
    shutil.copy(world.pins, folder / f"{RELEASE}.env")
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(folder), STACK_RELEASE=RELEASE,
        PHP_IMAGE_REPOSITORY=world.repositories["cached"], ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (0, 0), answer.stderr
    assert decision["image"] == world.prebuilt(world.repositories["cached"])
    del env["STACK_RELEASE"]  # which file, then?
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (2, 2), proc.stderr
    for stderr in (answer.stderr, proc.stderr):
        assert "PHP_PINS_FILE names a directory" in stderr
        assert "and STACK_RELEASE is not set" in stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize("given", ["record", "directory"])
def test_a_release_published_before_pins_files_is_said_alike(tmp_path: Path, given: str) -> None:
    """A release an older publisher published has its record (vX.Y.Z.json) and no pins
    file: given the record, both say it is one, not the pins file; given its directory, both
    say the release has no pins file yet and how its maintainer writes one. Exit 3."""
    notes = tmp_path / "release-notes"
    notes.mkdir()
    digest = f"sha256:{'ab' * 32}"
    record = _record("registry.example.com/team/php-fpm", digest, f"busybox@{digest}")
    (notes / f"{RELEASE}.json").write_text(json.dumps(record, indent=2) + "\n")
    (notes / f"{RELEASE}.md").write_text(f"# {RELEASE}\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE}
    env["PHP_PINS_FILE"] = str(notes / f"{RELEASE}.json" if given == "record" else notes)
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (3, 3), answer.stderr + proc.stderr
    rerun = f"rerun `publisher release {RELEASE}` (rebuilds nothing, writes {RELEASE}.env)"
    said = {
        "record": f"this is the release record {RELEASE}.json, not its pins file {RELEASE}.env",
        "directory": f"{RELEASE} was published before publisher wrote pins files",
    }[given]
    for stderr in (answer.stderr, proc.stderr):
        assert said in stderr and rerun in stderr, stderr
        assert "KEY='value'" not in stderr, stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "config.json",
            '{\n  "auths": {"registry.example.com": {}},\n  "credsStore": "desktop"\n}\n',
        ),
        (f"{RELEASE}.env", '{"oops":true}\n'),
        (f"{RELEASE}.json", '  {"release": "v2.0.0"}\n'),
    ],
    ids=["docker-config", "json-in-env", "no-lines"],
)
def test_json_that_is_no_release_record_is_not_called_one_by_either(
    tmp_path: Path, name: str, text: str
) -> None:
    """A file of JSON where the pins file goes that is no release record (no "release" and
    "lines" keys): a docker config.json, an edited vX.Y.Z.env. Both once called it "the
    release record vX.Y.Z.json"; both say it is JSON, no pins file, in the same words."""
    given = tmp_path / name
    given.write_text(text)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "PHP_PINS_FILE": str(given)}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == (3, 3), answer.stderr + proc.stderr
    for stderr in (answer.stderr, proc.stderr):
        assert f"{given}: this is JSON, not a pins file (KEY='value' lines)" in stderr, stderr
        assert "release record" not in stderr, stderr
    same_words(answer.stderr, proc.stderr)


def test_a_pins_file_of_another_release_than_stack_release_is_said_alike(
    world: World, project: str, tmp_path: Path
) -> None:
    """STACK_RELEASE names another release than the pins file's: exit 3 from both, with the
    same fix (resolve once said to pass the file, the launcher to vendor it)."""
    env = launcher_env(world, project, tmp_path, STACK_RELEASE="v2.0.1")
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "none", "error": "pins-file"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (3, 3), answer.stderr + proc.stderr
    assert f"this pins file is for {RELEASE}, not v2.0.1\n" in answer.stderr, answer.stderr
    same_words(answer.stderr, proc.stderr)
    assert f"unset STACK_RELEASE to use this one ({RELEASE})\n" in proc.stderr, proc.stderr


def test_mirror_asked_for_without_a_mirror_in_the_pins_file_is_said(
    world: World, project: str, tmp_path: Path
) -> None:
    env = launcher_env(
        world, project, tmp_path, PREBUILT_REGISTRY="mirror",
        PHP_IMAGE_REPOSITORY=world.repositories["cached"], ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert decision["decision"] == "use-prebuilt", answer.stderr
    note = (
        "note: PREBUILT_REGISTRY=mirror, but the pins file names no mirror (a release on one "
        f"registry) and PHP_IMAGE_MIRROR is not set: the images come from "
        f"{world.repositories['cached']}"
    )
    assert f"start: {note}\n" in proc.stderr
    assert f"resolve: {note}\n" in answer.stderr


def test_the_other_registry_is_advised_only_when_there_is_one(
    world: World, project: str, tmp_path: Path
) -> None:
    """A release on one registry, or PHP_IMAGE_REPOSITORY standing for both: the other
    PREBUILT_REGISTRY would pull the same repository and fail the same way, so neither
    tool sends the developer there; a mirror of its own is advised."""
    dead = f"127.0.0.1:{free_port()}"
    single = tmp_path / "single.env"
    single.write_text(pins.render(_record(f"{dead}/{world.path}", world.digest, world.base)))
    mirrored = tmp_path / "mirrored.env"
    mirrored.write_text(
        pins.render(_record(f"{dead}/{world.path}", world.digest, world.base, world.repository))
    )
    cases = [
        ({"PHP_PINS_FILE": str(single)}, False),
        ({"PHP_PINS_FILE": str(mirrored), "PHP_IMAGE_REPOSITORY": f"{dead}/team/php"}, False),
        ({"PHP_PINS_FILE": str(mirrored)}, True),
    ]
    for settings, advised in cases:
        env = launcher_env(world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false", **settings)
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
        assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr
        assert f"start: fix: {decision['fix']}\n" in proc.stderr  # the same words
        assert ("try PREBUILT_REGISTRY=mirror, " in decision["fix"]) is advised, settings
        assert decision["fix"].startswith("check the network or proxy, ")
        assert "or point PHP_IMAGE_REPOSITORY at a registry you can reach" in decision["fix"]


def test_fractional_registry_timeout_and_sigterm(
    world: World, project: str, tmp_path: Path
) -> None:
    """STACK_REGISTRY_TIMEOUT takes a fraction as resolve's timeout does; SIGTERM is exit 143."""
    silent = world.repositories["silent"]
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=silent, STACK_REGISTRY_TIMEOUT="0.5",
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    host = silent.split("/")[0]
    assert f"no answer from {host} within 0.5 s" in proc.stderr, proc.stderr
    answer, _ = resolve(env, tmp_path)  # in the same words: the host, its port, the seconds
    assert f"no answer from {host} within 0.5 s" in answer.stderr, answer.stderr
    assert "Terminated" not in proc.stderr  # dash's word for the pull it stopped: not said
    env["STACK_REGISTRY_TIMEOUT"] = "30"
    dash = shutil.which("dash") or "sh"
    with subprocess.Popen(
        [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
    ) as launcher:
        assert launcher.stderr is not None
        assert "pulling" in launcher.stderr.readline() + launcher.stderr.readline()
        time.sleep(0.5)  # inside the pull's wait
        launcher.terminate()
        assert launcher.wait(timeout=30) == 143
    assert not list(tmp_path.glob("php-stack.*"))
    # SIGHUP (a closed terminal): the pull stopped, the temporary folder removed too. The
    # launcher starts with SIGHUP as a terminal leaves it: under `nohup` (a test run
    # detached from its terminal) it would inherit it ignored, which no shell can trap.
    with subprocess.Popen(
        [dash, str(STACK / "start.sh")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_stop_signals,
    ) as launcher:
        assert launcher.stderr is not None
        assert "pulling" in launcher.stderr.readline() + launcher.stderr.readline()
        time.sleep(0.5)  # inside the pull's wait
        launcher.send_signal(signal.SIGHUP)
        assert launcher.wait(timeout=30) == 129
    assert not list(tmp_path.glob("php-stack.*"))


def test_a_stderr_pipe_whose_reader_went_is_exit_141_with_the_temporary_folder_removed(
    world: World, project: str, tmp_path: Path
) -> None:
    """``./start.sh 2>&1 | head -1``: the launcher's next line meets SIGPIPE, which ends it as
    a shell says it (141), its temporary folder and its lock removed as on SIGTERM."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["silent"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    dash = shutil.which("dash") or "sh"
    with subprocess.Popen(
        [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
    ) as launcher:
        assert launcher.stderr is not None
        assert "pulling" in launcher.stderr.readline() + launcher.stderr.readline()
        launcher.stderr.close()  # the reader gone; the pull's answer (none, 2 s) is said next
        assert launcher.wait(timeout=60) == 141
    assert not list(tmp_path.glob("php-stack*"))


def test_a_pull_that_outlasts_stack_pull_timeout_says_to_raise_it(
    world: World, project: str, tmp_path: Path
) -> None:
    """A pull stopped by STACK_PULL_TIMEOUT (a slow connection, a large first pull) advises a
    longer one before the network checks a registry that did not answer within
    STACK_REGISTRY_TIMEOUT gets alone."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["silent"],
        STACK_REGISTRY_TIMEOUT="10", STACK_PULL_TIMEOUT="0.4", ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert "the pull did not finish within 0.4 s (STACK_PULL_TIMEOUT)" in proc.stderr
    assert (
        "start: fix: set STACK_PULL_TIMEOUT above 0.4 s for a slow connection, or check the "
        "network or proxy, or point PHP_IMAGE_REPOSITORY at a registry you can reach; or set "
        "ALLOW_LOCAL_BUILD_FALLBACK=true"
    ) in proc.stderr, proc.stderr
    env.update(STACK_REGISTRY_TIMEOUT="0.4", STACK_PULL_TIMEOUT="900")
    proc, _ = launch(world, env)
    assert "start: fix: check the network or proxy" in proc.stderr, proc.stderr
    assert "STACK_PULL_TIMEOUT" not in proc.stderr


def test_a_base_pull_that_outlasts_stack_pull_timeout_says_to_raise_it(
    world: World, project: str, tmp_path: Path
) -> None:
    """The fallback's pull of the base, stopped by STACK_PULL_TIMEOUT (a registry that took
    the connection and is slow), says so and to raise it, as the pre-built image's pull does,
    not to pull the base once while online (it is online)."""
    slow = world.repositories["silent"].split("/")[0]
    base = f"{slow}/stand-in/php:8.4-fpm-alpine@{world.base.split('@')[1]}"
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(world.repositories["refused"], world.digest, base)))
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_CACHE_CHECK="false",
        STACK_REGISTRY_TIMEOUT="10", STACK_PULL_TIMEOUT="0.4",
    )  # fmt: skip
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert proc.returncode == 17, proc.stderr
    assert (
        f"a local build cannot work either: its base {base} is not in the local image store and "
        "cannot be pulled (unreachable: the pull did not finish within 0.4 s (STACK_PULL_TIMEOUT))"
    ) in proc.stderr, proc.stderr
    fix = next(line for line in said(proc) if line.startswith("start: fix: "))
    assert fix.endswith(
        "; or set STACK_PULL_TIMEOUT above 0.4 s for a slow connection, or pull the base once "
        f"yourself (`docker pull --platform {HOST} {base}`, which has no deadline)"
    ), proc.stderr
    assert "once while online" not in proc.stderr
    assert "building" not in proc.stderr
    # no answer at all: the base's registry is named, by both, not the pre-built image's
    env.update(STACK_REGISTRY_TIMEOUT="0.4", STACK_PULL_TIMEOUT="900")
    proc, _ = launch(world, env)
    answer, _ = resolve(env, tmp_path)
    for text in (proc.stderr, answer.stderr):
        assert f"cannot be pulled (unreachable: no answer from {slow} within 0.4 s)" in text, text


def test_a_registry_answering_a_manifest_with_a_web_page_is_a_registry_error_in_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """A registry answering `200 text/html` (a captive portal, a proxy's login page): a broken
    answer, registry-error in both (docker's error ends in "not found", which the launcher
    took for an image not on the registry, and told to take another pins file)."""
    page = b"<html><body>Sign in to the network</body></html>"
    cached = world.repositories["cached"]  # the digest is in the image store
    launch(world, launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=cached))
    compose_down(world.docker, project)
    with FixedAnswer("200 OK", {}, page, content_type="text/html") as portal:
        env = launcher_env(
            world, project, tmp_path, PHP_IMAGE_REPOSITORY=f"{portal.host}/{world.path}",
            ALLOW_LOCAL_BUILD_FALLBACK="false",
        )  # fmt: skip
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "registry-error"}, proc.stderr
    assert decision["availability"] == "registry-error", answer.stderr
    assert (answer.returncode, proc.returncode) == (17, 17)
    assert f"start: why: registry {portal.host} failed: " in proc.stderr, proc.stderr
    assert "take the release's current pins file" not in proc.stderr
    # docker's image store keeps a record of no manifest for the failed pull of a digest it
    # holds: the launcher removes it, or it would stand for that digest in every later start
    pulled = world.prebuilt(f"{portal.host}/{world.path}")
    left = run(world.docker, "image", "inspect", "--format", "{{.Id}}", pulled, check=False)
    assert left.returncode != 0 and "no such image" in left.stderr.lower(), left.stderr
    again = launch(world, launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=cached))[0]
    assert again.returncode == 0, again.stderr
    compose_down(world.docker, project)


def test_a_docker_cli_warning_does_not_count_as_the_registry_answering(
    world: World, project: str, tmp_path: Path
) -> None:
    """The docker CLI's own early words (a config file it cannot parse) are no answer from
    the registry: a silent one is still stopped after STACK_REGISTRY_TIMEOUT."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["silent"],
        ALLOW_LOCAL_BUILD_FALLBACK="false", STACK_REGISTRY_TIMEOUT="1",
    )  # fmt: skip
    Path(env["DOCKER_CONFIG"], "config.json").write_text("{broken")
    began = time.monotonic()
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    host = world.repositories["silent"].split("/")[0]
    assert f"registry {host} is offline or unreachable: no answer from {host} within 1 s" in (
        proc.stderr
    )
    assert time.monotonic() - began < 8, proc.stderr


def test_a_pins_file_edited_on_windows_reads_the_same(
    world: World, project: str, tmp_path: Path
) -> None:
    """CRLF line ends, and a UTF-8 comment (not ASCII, but not broken either)."""
    crlf = tmp_path / f"{RELEASE}.env"
    edited = world.pins.read_bytes() + "# vendored from the release — ok ✓\n".encode()
    crlf.write_bytes(edited.replace(b"\n", b"\r\n"))
    env = launcher_env(
        world,
        project,
        tmp_path,
        PHP_PINS_FILE=str(crlf),
        PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert decision["image"] == world.prebuilt(world.repositories["cached"]), answer.stderr


def _broken_pins(world: World, tmp_path: Path, case: str) -> str:
    """A pins file (or what a mistyped PHP_PINS_FILE names) that both tools refuse."""
    text = world.pins.read_text()
    path = tmp_path / f"{case}.env"
    if case == "device":
        return "/dev/zero"
    if case == "large":  # an image tarball, say: refused unread (the shell would take seconds)
        path.write_bytes(text.encode() + b"# padding\n" * 7000)
        return str(path)
    if case == "latin-1":  # a comment saved in another encoding
        path.write_bytes(text.encode() + "# café\n".encode("latin-1"))
        return str(path)
    if case == "utf-16":  # saved as "Unicode" by a Windows editor
        path.write_bytes(text.encode("utf-16"))
        return str(path)
    if case == "byte-order-mark":  # saved as "UTF-8 with BOM": its line 1 no comment to sh
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        return str(path)
    if case == "utf-8-cut":  # a multi-byte character cut at the end of a partial download
        path.write_bytes(text.encode() + "# é".encode()[:-1])
        return str(path)
    if case == "utf-16-no-bom":  # saved as UTF-16 without a byte order mark: NULs
        path.write_bytes(text.encode("utf-16-le"))
        return str(path)
    image = next(line for line in text.splitlines() if line.startswith("PHP_IMAGE_8_4="))
    edited = {
        "truncated": text[: text.index(image) + 40],  # a partial download
        "digest": text.replace("@sha256:", "@sha256:zz", 1),
        "double-quotes": text.replace(image, image.replace("'", '"')),
        "twice": text + "PHP_IMAGE_8_4='dup'\n",
        "no-schema": text.replace("PHP_PINS_SCHEMA='1'\n", ""),
        "repository": text.replace(
            f"PHP_REPOSITORY='{world.registry.host}/", "PHP_REPOSITORY='-x:5000/"
        ),
        "platform": re.sub(
            r"^PHP_PLATFORMS_8_4=.*$", f"PHP_PLATFORMS_8_4='{HOST} x86 amd64'", text, flags=re.M
        ),
        "platform-glob": re.sub(
            r"^PHP_PLATFORMS_8_4=.*$", f"PHP_PLATFORMS_8_4='{HOST} *'", text, flags=re.M
        ),
        "line-glob": text.replace("PHP_LINES='8.4'", "PHP_LINES='8.4 *'"),
        # only spaces and tabs part a list's words, and only ASCII blanks around a line do
        # not count, in every shell and locale: resolve once took these as the shell does not
        "line-no-break-space": text.replace("PHP_LINES='8.4'", "PHP_LINES='8.4\u00a08.3'"),
        "platform-vertical-tab": re.sub(
            r"^PHP_PLATFORMS_8_4=.*$",
            "PHP_PLATFORMS_8_4='linux/s390x\vlinux/s390x'",
            text,
            flags=re.M,
        ),
        "em-space-after": text.replace(image, image + "\u2003"),
        # the shell's read dropped a NUL: the line read as PHP_IMAGE_8_4 where resolve refused it
        "nul": text.replace("PHP_IMAGE_8_4=", "PHP_\0IMAGE_8_4=", 1),
        # a base is a reference: never an option of docker pull, nor a registry error
        "base-option": re.sub(
            r"^PHP_BASE_IMAGE_8_4=.*$", "PHP_BASE_IMAGE_8_4='--all-tags'", text, flags=re.M
        ),
        "base-substitution": text.replace(
            f"PHP_BASE_IMAGE_8_4='{world.registry.host}/",
            f"PHP_BASE_IMAGE_8_4='{world.registry.host}/$(touch pwned)/",
        ),
        # cut short at a line's end, its last lines lost: no line read as pinned without them
        "cut-base": re.sub(r"^PHP_BASE_IMAGE_8_4=.*\n", "", text, flags=re.M),
        "cut-platforms": text[: text.index("PHP_PLATFORMS_8_4=")],
        "stand-in-yes": text.replace("PHP_STAND_IN='true'", "PHP_STAND_IN='yes'"),
    }
    path.write_bytes(edited[case].encode())
    return str(path)


BROKEN_PINS = {
    "device": "not a regular file, so not a pins file",
    "large": "larger than 64 KiB, so not a pins file",
    "latin-1": "line {end} holds a byte that is not UTF-8 (0xe9): not a pins file, or one saved "
    "in another encoding",
    "utf-16": "line 1 holds a byte that is not UTF-8 (0xff)",
    "utf-8-cut": "line {end} holds a byte that is not UTF-8 (0xc3)",
    "byte-order-mark": "line 1 starts with a byte order mark (U+FEFF): an editor saved the file "
    "as UTF-8 with BOM, which sh reads as part of that line",
    "truncated": "line {n} is not KEY='value'",
    "digest": "PHP_IMAGE_8_4: 'sha256:zz",
    "double-quotes": "line {n} is not KEY='value'",
    "twice": "line {end} gives PHP_IMAGE_8_4 again (line {n})",
    "no-schema": "PHP_PINS_SCHEMA is missing; schema 1 is expected (is it a pins file?)",
    "repository": "PHP_REPOSITORY/PHP_MIRROR_REPOSITORY: '-x:5000' is not a registry host",
    # a word that is no platform (the first in the file named): not platform-missing
    "platform": "PHP_PLATFORMS_8_4: 'x86' is not a platform (os/arch, e.g. linux/amd64)",
    "platform-glob": "PHP_PLATFORMS_8_4: '*' is not a platform (os/arch, e.g. linux/amd64)",
    # a pattern is no pattern: the launcher once named a file of its working directory
    "line-glob": "PHP_LINES: '*' is not a PHP line",
    "line-no-break-space": "PHP_LINES: '8.4\\xa08.3' is not a PHP line",
    "platform-vertical-tab": "PHP_PLATFORMS_8_4: 'linux/s390x\\x0blinux/s390x' is not a platform",
    "em-space-after": "line {n} is not KEY='value'",
    "utf-16-no-bom": "line 1 holds a NUL byte (0x00): not a pins file, or one saved in another "
    "encoding",
    "nul": "line {n} holds a NUL byte (0x00): not a pins file, or one saved in another encoding",
    "base-option": "PHP_BASE_IMAGE_8_4: a repository path is lowercase ASCII letters, digits and "
    "separators ('.', '_', '-')",
    "base-substitution": "PHP_BASE_IMAGE_8_4: a repository path is lowercase ASCII letters",
    "cut-base": "PHP_BASE_IMAGE_8_4 is missing (PHP_LINES lists 8.4)",
    "cut-platforms": "PHP_PLATFORMS_8_4 is missing (PHP_LINES lists 8.4)",
    "stand-in-yes": "PHP_STAND_IN: 'yes' is not true or false",
}


@pytest.mark.parametrize("case", list(BROKEN_PINS))
def test_a_broken_pins_file_is_exit_3_in_both(
    world: World, project: str, tmp_path: Path, case: str
) -> None:
    path = _broken_pins(world, tmp_path, case)
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=path)
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (3, 3), proc.stderr + answer.stderr
    no_decision(proc, fields, answer, "pins-file")
    lines = world.pins.read_text().splitlines()
    n = next(i for i, line in enumerate(lines, 1) if line.startswith("PHP_IMAGE_8_4="))
    words = f"{path}: {BROKEN_PINS[case].format(n=n, end=len(lines) + 1)}"
    assert f"start: error: {words}" in proc.stderr
    assert f"error: {words}" in answer.stderr
    assert "use the pins file publisher wrote" in proc.stderr


def test_a_pins_file_cut_at_any_line_end_is_refused_alike_by_both(tmp_path: Path) -> None:
    """A download cut short at a line's end (the release's own pins file: two lines, a
    mirror): every cut is a broken pins file, in the same words from both, naming the first
    key missing; neither reads a line pinned without its mirror, platforms or base."""
    whole = (ROOT / "tests/fixtures/records-v1/release-notes/v1.0.0.env").read_text()
    lines = whole.splitlines(keepends=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "USE_PREBUILT": "false"}
    for cut in range(len(lines)):
        path = tmp_path / f"cut-{cut}.env"
        path.write_text("".join(lines[:cut]))
        env["PHP_PINS_FILE"] = str(path)
        answer, _ = resolve(env, tmp_path)
        proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
        assert (answer.returncode, proc.returncode) == (3, 3), (cut, answer.stderr, proc.stderr)
        same_words(answer.stderr, proc.stderr)
    assert "PHP_BASE_IMAGE_8_5 is missing (PHP_LINES lists 8.5)" in answer.stderr


@pytest.mark.parametrize(
    "shell",
    [("dash",), ("bash",), ("zsh",), ("busybox", "sh")],
    ids=["dash", "bash", "zsh", "busybox"],
)
@pytest.mark.parametrize(
    "case", ["em-space-after", "line-no-break-space", "byte-order-mark", "nul", "cut-base"]
)
def test_a_pins_file_is_read_alike_in_every_shell_under_a_utf8_locale(
    world: World, project: str, tmp_path: Path, case: str, shell: tuple[str, ...]
) -> None:
    """Under a UTF-8 locale bash and zsh take an em space for a blank where dash and busybox
    do not: the launcher trims only ASCII blanks around a pins file's line, so every shell
    (and resolve, which once trimmed any Unicode space) refuses the line alike."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    path = _broken_pins(world, tmp_path, case)
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=path, LC_ALL="C.UTF-8")
    answer, _ = resolve(env, tmp_path)
    proc, _ = launch(world, env, shell=(str(shutil.which(shell[0])), *shell[1:]))
    assert (answer.returncode, proc.returncode) == (3, 3), proc.stderr + answer.stderr
    same_words(answer.stderr, proc.stderr)


@pytest.fixture(scope="module")
def turkish(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LOCPATH holding tr_TR.UTF-8, where tr's [:lower:] of I is I (its lowercase is ı)."""
    localedef = require_tool("localedef")
    where = tmp_path_factory.mktemp("locales")
    run(localedef, "-i", "tr_TR", "-f", "UTF-8", str(where / "tr_TR.UTF-8"))
    return where


@pytest.mark.parametrize("value", ["CANONICAL", "MIRROR"])
def test_a_setting_in_capitals_is_read_alike_under_a_turkish_locale(
    world: World, project: str, tmp_path: Path, turkish: Path, value: str
) -> None:
    """PREBUILT_REGISTRY=MIRROR under tr_TR.UTF-8: read as under C.UTF-8 and as resolve reads
    it (its I lowercased to i, as docker's words the launcher folds to read them)."""
    locale = {"LOCPATH": str(turkish), "LC_ALL": "tr_TR.UTF-8"}
    folded = run("tr", "[:upper:]", "[:lower:]", input="I", env={**os.environ, **locale})
    assert folded.stdout == "I", "the Turkish locale is not in force: this test would prove nothing"
    settings = {
        "PREBUILT_REGISTRY": value,
        "PHP_IMAGE_REPOSITORY": world.repositories["refused"],
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
    }
    plain, plain_fields = launch(
        world, launcher_env(world, project, tmp_path, LC_ALL="C.UTF-8", **settings)
    )
    env = launcher_env(world, project, tmp_path, **locale, **settings)
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert plain.returncode == 17, plain.stderr
    assert (proc.returncode, fields) == (plain.returncode, plain_fields), proc.stderr
    assert answer.returncode == proc.returncode, answer.stderr
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr


@pytest.mark.parametrize("syntax", ["same", "changed"])
@pytest.mark.parametrize("schema", ["2", "10"])
def test_a_pins_file_of_a_newer_schema_says_a_newer_publisher_wrote_it_in_both(
    world: World, project: str, tmp_path: Path, schema: str, syntax: str
) -> None:
    """A stack that vendored an older launcher, given the pins file of a release a newer
    publisher wrote with a new schema: both say so, and to update the launcher, also when
    the new schema writes its lines another way (`KEY=value`), the schema line too."""
    path = tmp_path / f"{RELEASE}.env"
    text = world.pins.read_text().replace("PHP_PINS_SCHEMA='1'", f"PHP_PINS_SCHEMA='{schema}'")
    path.write_text(text.replace("'", "") if syntax == "changed" else text)
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(path))
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (3, 3), proc.stderr + answer.stderr
    no_decision(proc, fields, answer, "pins-file")
    words = (
        f"{path}: PHP_PINS_SCHEMA is '{schema}': a newer publisher wrote this pins file; "
        "this launcher reads schema 1"
    )
    fix = "update the stack's start.sh and resolve.py to the publisher version that wrote"
    assert f"start: error: {words}" in proc.stderr and f"start: fix: {fix}" in proc.stderr
    assert f"error: {words}" in answer.stderr and fix in answer.stderr


#: A default line publisher never wrote (edited by hand): what both tools say, the
#: fix they give after the common tip, and what PHP_VERSION set to a listed line changes.
EDITED_DEFAULTS = {
    "8.4.1": ("PHP_DEFAULT_LINE: '8.4.1' is not a PHP line", ""),
    "8.9": (
        "PHP_DEFAULT_LINE: '8.9' is not one of PHP_LINES, so the pins file pins no image for "
        "it (no PHP_IMAGE_8_9)",
        ", or set PHP_VERSION to a line it lists",
    ),
}


@pytest.mark.parametrize("default", list(EDITED_DEFAULTS))
def test_a_default_line_publisher_never_wrote_is_a_pins_file_error_in_both(
    world: World, project: str, tmp_path: Path, default: str
) -> None:
    """With PHP_VERSION unset, the pins file's default line is the pins file's: not
    "PHP_VERSION='8.4.1' is not valid" (a variable the user never set), exit 3 in both."""
    text = world.pins.read_text()
    assert "PHP_DEFAULT_LINE='8.4'" in text
    path = tmp_path / f"{RELEASE}.env"
    path.write_text(text.replace("PHP_DEFAULT_LINE='8.4'", f"PHP_DEFAULT_LINE='{default}'"))
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(path))
    answer, _ = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert (answer.returncode, proc.returncode) == (3, 3), proc.stderr + answer.stderr
    no_decision(proc, fields, answer, "pins-file")
    words, more = EDITED_DEFAULTS[default]
    assert f"start: error: {path}: {words}" in proc.stderr
    assert "PHP_VERSION=" not in proc.stderr + answer.stderr
    assert (
        "start: fix: use the pins file publisher wrote, unmodified: this one was edited by hand "
        f"(take the release's vX.Y.Z.env again){more}"
    ) in proc.stderr
    same_words(answer.stderr, proc.stderr)


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_a_pins_file_this_user_may_not_read_is_said_so_by_both_with_a_fix(
    tmp_path: Path, locked: str
) -> None:
    """Run as nobody, a pins file only root may read (or one in a folder only root may
    search) is exit 3 in resolve's words and tip, from both tools: the launcher once said
    the shell's own `cannot open` and no fix, or called the file in the folder missing."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.getuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to run as another user), setpriv and /usr/bin/python3")
    shared = Path(tempfile.mkdtemp(prefix="stack-eacces-"))
    try:
        shared.chmod(0o755)
        for name in ("start.sh", "compose.yaml"):  # nobody may not read the checkout
            shutil.copy(STACK / name, shared / name)
        shutil.copy(RESOLVE, shared / "resolve.py")
        folder = shared / "pins"
        folder.mkdir()
        pins_file = folder / f"{RELEASE}.env"
        pins_file.write_text("PHP_PINS_SCHEMA='1'\n")
        pins_file.chmod(0o600 if locked == "file" else 0o644)
        folder.chmod({"file": 0o755, "folder": 0o700, "listing": 0o711}[locked])
        nobody = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(shared), "PHP_PINS_FILE": str(pins_file)}
        proc = run(*nobody, "dash", str(shared / "start.sh"), env=env, check=False, cwd=shared)
        answer = run(
            *nobody, "/usr/bin/python3", str(shared / "resolve.py"), "--format", "env",
            env=env, check=False, cwd=shared,
        )  # fmt: skip
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert (proc.returncode, answer.returncode) == (3, 3), proc.stderr + answer.stderr
    error = f"{pins_file}: cannot read the pins file: Permission denied"
    fix = (
        "give this user read access to it (and search access to its folders), or point "
        "PHP_PINS_FILE at a copy it can read"
    )
    assert proc.stderr == (
        f"start: decision=none error=pins-file\nstart: error: {error}\nstart: fix: {fix}\n"
    )
    assert answer.stderr == (
        f"resolve: decision=none error=pins-file\nerror: {error}\n  tip: {fix}\n"
    )


#: The shells a developer's ``sh`` may be, besides dash: macOS runs /bin/sh as bash in
#: POSIX mode (or zsh's, or dash, as its owner chose); Alpine and many containers
#: have busybox's ash. And macOS's login shell, zsh, for ``zsh start.sh``.
SHELLS = {
    "bash-posix": ("bash", "--posix"),
    "zsh-sh": ("zsh", "--emulate", "sh"),
    "zsh": ("zsh",),
    "busybox-ash": ("busybox", "ash"),
}


def no_decision(
    proc: subprocess.CompletedProcess[str],
    fields: dict[str, str],
    answer: subprocess.CompletedProcess[str] | None,
    error: str,
) -> None:
    """A stop before any decision: still one decision= line, the same in both tools."""
    assert fields == {"decision": "none", "error": error}, proc.stderr
    assert proc.stderr.count("start: decision=") == 1, proc.stderr
    if answer is not None:
        assert answer.stderr.startswith(f"resolve: decision=none error={error}\nerror: "), (
            answer.stderr
        )


def said(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The launcher's own lines (decision, why, fix, errors), not docker's or compose's."""
    return [line for line in proc.stderr.splitlines() if line.startswith("start: ")]


@pytest.mark.parametrize("shell", list(SHELLS))
def test_every_posix_shell_decides_and_says_what_dash_does(
    world: World, project: str, tmp_path: Path, shell: str
) -> None:
    """The same start under dash and under ``shell``: the same decision, exit code and
    words, and compose starts the same image; a broken pins file and a bad setting too."""
    tool = shutil.which(SHELLS[shell][0])
    assert tool, f"{SHELLS[shell][0]} is not installed (scripts/setup-machine installs it)"
    interpreter = (tool, *SHELLS[shell][1:])
    crlf = tmp_path / f"{RELEASE}.env"
    ended = (  # a line past its end of life: said in a note
        "PHP 8.4 was past its end of life (2028-12-31, no security fixes) when this release "
        "was published on 2029-01-05; see the release notes"
    )
    crlf.write_bytes(f"# {ended}.\r\n".encode() + world.pins.read_bytes().replace(b"\n", b"\r\n"))
    cached, refused = world.repositories["cached"], world.repositories["refused"]
    cases: dict[str, tuple[dict[str, str], int]] = {
        "cached": ({"PHP_IMAGE_REPOSITORY": cached}, 0),
        "cached, CRLF pins": ({"PHP_IMAGE_REPOSITORY": cached, "PHP_PINS_FILE": str(crlf)}, 0),
        "refused, fallback": ({"PHP_IMAGE_REPOSITORY": refused}, 0),
        "refused, no fallback": (
            {"PHP_IMAGE_REPOSITORY": refused, "ALLOW_LOCAL_BUILD_FALLBACK": "false"},
            17,
        ),
        "pins twice": ({"PHP_PINS_FILE": _broken_pins(world, tmp_path, "twice")}, 3),
        "bad setting": ({"PHP_VERSION": "8"}, 2),
    }
    # The fallback builds the local image once and reuses it after: build it first, so
    # that both shells meet the same image store.
    launch(world, launcher_env(world, project, tmp_path, **cases["refused, fallback"][0]))
    compose_down(world.docker, project)
    for case, (settings, exit_code) in cases.items():
        env = launcher_env(world, project, tmp_path, **settings)
        runs = {}
        for name, argv in (("dash", ()), (shell, interpreter)):
            proc, fields = launch(world, env, shell=argv)
            image = None
            if proc.returncode == 0:
                image = running_image(world.docker, project)["Id"]
                compose_down(world.docker, project)
            runs[name] = (proc.returncode, fields, said(proc), image)
        assert runs[shell] == runs["dash"], case
        assert runs["dash"][0] == exit_code, (case, runs["dash"])
        assert runs["dash"][2], case  # it said something of its own
        if case == "cached, CRLF pins":
            assert f"start: note: {ended}" in runs["dash"][2], runs["dash"]


@pytest.mark.parametrize("shell", ["dash", "busybox-ash", "zsh"])  # bash never failed on it
def test_a_closed_stderr_changes_neither_the_start_nor_its_exit_status(
    world: World, project: str, tmp_path: Path, shell: str
) -> None:
    """``./start.sh 2>&-``: its messages are lost (as publisher's are), and nothing else: the
    stack starts, exit 0 (tee, copying compose up's output to stderr, once failed on it)."""
    dash = shutil.which("dash") or "sh"
    tool = dash if shell == "dash" else shutil.which(SHELLS[shell][0])
    assert tool, f"{SHELLS[shell][0]} is not installed (scripts/setup-machine installs it)"
    interpreter = (tool, *SHELLS.get(shell, ("dash",))[1:])
    env = launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"])
    proc = run(
        dash, "-c", '"$@" 2>&-', "sh", *interpreter, str(STACK / "start.sh"),
        env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0
    running_image(world.docker, project)
    assert not list(tmp_path.glob("php-stack*"))


@pytest.mark.parametrize(
    ("shell", "fallback"),
    [*((shell, False) for shell in ("dash", *SHELLS)), ("dash", True)],
)
def test_a_single_platform_pin_for_another_platform_is_platform_missing_in_both(
    world: World, project: str, tmp_path: Path, shell: str, fallback: bool
) -> None:
    """A pin that is one platform's image, not an index, with no platforms recorded (a pins
    file edited by hand): docker pulls it by digest whatever --platform asks (exit 0), and
    compose then finds no image for that platform. Both say platform-missing in resolve's
    words, and the fallback builds for the platform asked. The launcher once said
    use-prebuilt, and compose stopped with exit 11 ("No such image") and no fallback."""
    child = host_image(world, world.path, world.digest)
    reference = f"{world.repository}:{PIN}@{child}"
    pins_file = pins_naming(world, tmp_path, child)
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_PLATFORM=OTHER,
        ALLOW_LOCAL_BUILD_FALLBACK=str(fallback).lower(),
    )  # fmt: skip
    interpreter: tuple[str, ...] = ()
    if shell != "dash":
        tool = shutil.which(SHELLS[shell][0])
        assert tool, f"{SHELLS[shell][0]} is not installed (scripts/setup-machine installs it)"
        interpreter = (tool, *SHELLS[shell][1:])
    run(world.docker, "rmi", "-f", reference, world.local, check=False)
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env, shell=interpreter)
        missing = f"platform {OTHER} missing: {world.repository}@{child} has no {OTHER} image "
        missing += f"(it has: {HOST})"
        assert missing in decision["reason"], answer.stderr
        assert f"start: why: {missing}; " in proc.stderr, proc.stderr
        if not fallback:
            expected = {"decision": "cannot-proceed", "availability": "platform-missing"}
            assert fields == expected, proc.stderr
            assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
            assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
            return
        assert fields == {"decision": "build-locally", "availability": "platform-missing"}
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        assert decision["image"] == world.local, answer.stderr
        image = running_image(world.docker, project)
        assert world.local in image["RepoTags"], proc.stderr
        assert f"{image['Os']}/{image['Architecture']}" == OTHER
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", reference, world.local, check=False)


@pytest.mark.parametrize("fallback", [False, True], ids=["nofallback", "fallback"])
def test_an_index_of_indexes_is_a_registry_error_in_both_not_a_failed_compose_up(
    world: World, project: str, tmp_path: Path, fallback: bool
) -> None:
    """A pin that is an index whose platform entry is itself an index (no platforms recorded):
    docker pulls it (exit 0) but holds no image of the platform, and compose stopped with
    "manifest has incorrect mediatype" (exit 11, the running PHP-FPM container recreated and
    never started). Both call it a registry error in resolve's words, and the fallback
    builds locally. The launcher once said use-prebuilt."""
    inner = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": world.digest}
    request = urllib.request.Request(
        f"http://{world.registry.host}/v2/{world.path}/manifests/{world.digest}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        inner["size"] = len(answer.read())
    entries = [
        {**inner, "platform": {"os": "linux", "architecture": p.split("/")[1]}}
        for p in (HOST, OTHER)
    ]
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": inner["mediaType"], "manifests": entries}
    ).encode()
    outer = f"sha256:{hashlib.sha256(body).hexdigest()}"
    put = urllib.request.Request(
        f"http://{world.registry.host}/v2/{world.path}/manifests/{outer}",
        data=body, method="PUT", headers={"Content-Type": inner["mediaType"]},
    )  # fmt: skip
    urllib.request.urlopen(put, timeout=10).close()
    reference = f"{world.repository}:{PIN}@{outer}"
    pins_file = pins_naming(world, tmp_path, outer)
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_PLATFORM=HOST,
        ALLOW_LOCAL_BUILD_FALLBACK=str(fallback).lower(),
    )  # fmt: skip
    run(world.docker, "rmi", "-f", reference, world.local, check=False)
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert decision["availability"] == "registry-error", answer.stderr
        assert "is an index of image indexes, which resolve does not read" in decision["reason"]
        why = next(line for line in answer.stderr.splitlines() if line.startswith("resolve: why"))
        assert f"start: {why.removeprefix('resolve: ')}\n" in proc.stderr, (why, proc.stderr)
        if not fallback:
            assert fields == {"decision": "cannot-proceed", "availability": "registry-error"}
            assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
            assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
            # docker keeps what it pulled: a second start is not fooled by the image store
            assert resolve(env, tmp_path)[1]["availability"] == "registry-error"
            again, fields = launch(world, env)
            assert fields == {"decision": "cannot-proceed", "availability": "registry-error"}
            assert f"start: {why.removeprefix('resolve: ')}\n" in again.stderr, again.stderr
            return
        assert fields == {"decision": "build-locally", "availability": "registry-error"}
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        image = running_image(world.docker, project)
        assert world.local in image["RepoTags"], proc.stderr
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", reference, world.local, check=False)


def hanging_helper(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A credential helper that never answers (a locked keychain's): a folder to put on PATH
    holding ``docker-credential-NAME``, and the file its pid and its child's are written to."""
    folder, pids = tmp_path / "helpers", tmp_path / "helper.pids"
    folder.mkdir(exist_ok=True)
    helper = folder / f"docker-credential-{name}"
    helper.write_text(f"#!/bin/sh\necho $$ >>'{pids}'\nsleep 1000 &\necho $! >>'{pids}'\nwait\n")
    helper.chmod(0o755)
    return folder, pids


def newest_docker_cli() -> str:
    """The newest docker CLI here: docker 27 and later wait on a credential helper through a
    SIGTERM (Debian's 26 does not), as Docker Desktop's does."""

    def version(cli: str) -> tuple[int, ...]:
        said = run(cli, "version", "--format", "{{.Client.Version}}", check=False).stdout
        return tuple(int(part) for part in re.findall(r"\d+", said)[:3])

    here = {str(Path(folder, "docker")) for folder in os.get_exec_path()}
    clis = {docker_cli()} | {cli for cli in here if Path(cli).is_file()}
    return max(sorted(clis), key=version)


def alive(pids: Path) -> list[int]:
    """The pids listed in ``pids`` that still run (zombies aside)."""
    found = []
    for word in pids.read_text().split() if pids.exists() else ():
        try:
            state = Path(f"/proc/{word}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(word))
    return found


#: How the launcher's PATH puts a pull in a session of its own: setsid (Linux), perl's
#: POSIX::setsid where setsid is not (macOS, whose /usr/bin/perl has POSIX), or neither.
#: busybox ash runs its own setsid applet whatever PATH holds: it needs neither.
SESSIONS = {"setsid": ("setsid",), "perl": ("perl",), "neither": ()}


@pytest.mark.parametrize("session", list(SESSIONS))
@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_hanging_credential_helper_keeps_neither_the_launcher_nor_its_deadline(
    world: World, project: str, tmp_path: Path, shell: str, session: str
) -> None:
    """docker waits on a credential helper without a deadline, through SIGTERM: the
    launcher still stops at STACK_REGISTRY_TIMEOUT (SIGKILL after a grace), names the helper
    the docker config gives for the registry as what may be waiting, and, where setsid or
    perl is (Linux; a Mac's /usr/bin/perl), leaves neither docker nor any part of the
    helper running."""
    interpreter = (shell,) if shell == "dash" else SHELLS[shell]
    bin_dir = tmp_path / "bin"  # the launcher's PATH, with the newest docker CLI here
    bin_dir.mkdir()
    for tool in world.bin_dir.iterdir():
        if tool.name not in ("docker", "setsid", "perl"):
            (bin_dir / tool.name).symlink_to(tool.resolve())
    for name in SESSIONS[session]:  # a Mac has no setsid
        (bin_dir / name).symlink_to(require_tool(name))
    dockers = tmp_path / "docker.pids"  # each docker CLI's pid: the pull's among them
    (bin_dir / "docker").write_text(
        f"#!/bin/sh\necho $$ >>'{dockers}'\nexec '{newest_docker_cli()}' \"$@\"\n"
    )
    (bin_dir / "docker").chmod(0o755)
    helpers, pids = hanging_helper(tmp_path, "hangs")
    host = world.registry.host
    env = launcher_env(
        world, project, tmp_path, PATH=f"{helpers}:{bin_dir}", STACK_REGISTRY_TIMEOUT="1",
        ALLOW_LOCAL_BUILD_FALLBACK="false", PHP_IMAGE_CACHE_CHECK="false",
    )  # fmt: skip
    Path(env["DOCKER_CONFIG"], "config.json").write_text(
        json.dumps({"credHelpers": {host: "hangs"}}, indent="\t")
    )
    began = time.monotonic()
    try:
        proc = run(
            shutil.which(interpreter[0]) or interpreter[0], *interpreter[1:],
            str(STACK / "start.sh"), env=env, check=False, timeout=20,
        )  # fmt: skip
        took = time.monotonic() - began
        fields = decision_fields(proc.stderr)
        assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
        assert took < 8, (took, proc.stderr)
        assert pids.exists(), "docker never asked the helper"
        assert f"no answer from {host} within 1 s (docker said nothing: it asks the " in (
            proc.stderr
        ), proc.stderr
        assert "credential helper docker-credential-hangs, which the docker config" in proc.stderr
        assert (
            "start: fix: a credential helper (docker-credential-hangs) may be waiting, for a "
            f"locked keychain or a pinentry: unlock it, and check that `echo {host} | "
            "docker-credential-hangs get >/dev/null` ends; else check the network or proxy"
        ) in proc.stderr, proc.stderr
        assert not alive(dockers), "the pull was left running"
        if SESSIONS[session]:
            assert not alive(pids), "the helper was left running"
    finally:
        for pid in alive(pids) + alive(dockers):
            os.kill(pid, signal.SIGKILL)


def test_without_setsid_a_locale_the_machine_lacks_puts_no_perl_warning_in_the_output(
    world: World, project: str, tmp_path: Path
) -> None:
    """A Mac has no setsid: compose runs in a session perl makes. A locale the machine lacks
    (an ssh session forwards the client's) would have perl warn in six lines on every call,
    amid compose's output: neither start nor stop says it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in world.bin_dir.iterdir():
        if tool.name not in ("setsid", "perl"):
            (bin_dir / tool.name).symlink_to(tool.resolve())
    (bin_dir / "perl").symlink_to(require_tool("perl"))
    env = launcher_env(world, project, tmp_path, PATH=str(bin_dir), LANG="xx_YY.UTF-8")
    unlocalised = run("perl", "-e", "1", env=env, check=False)
    assert "perl: warning: Setting locale failed" in unlocalised.stderr  # (else: no test)
    try:
        proc, fields = launch(world, env)
        assert (proc.returncode, fields["decision"]) == (0, "use-prebuilt"), proc.stderr
        assert "perl" not in proc.stderr, proc.stderr
    finally:
        stop = run(shutil.which("dash") or "sh", str(STACK / "stop.sh"), env=env, check=False)
    assert stop.returncode == 0 and "perl" not in stop.stderr, stop.stderr
    assert _stack_containers(world, project) == []


def test_a_docker_hub_repository_is_named_docker_io(
    world: World, project: str, tmp_path: Path
) -> None:
    """A bare name is a Docker Hub repository (docker.io/library/...), in both tools' words."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY="php-fpm-h-stack-test",
        ALLOW_LOCAL_BUILD_FALLBACK="false", STACK_REGISTRY_TIMEOUT="1",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, _ = launch(world, env)
    assert (answer.returncode, proc.returncode) == (17, 17), proc.stderr
    assert decision["prebuilt"].startswith("docker.io/library/php-fpm-h-stack-test:")
    for stderr in (answer.stderr, proc.stderr):
        assert "registry docker.io " in stderr, stderr


def test_a_tls_failure_is_unreachable_in_both(world: World, project: str, tmp_path: Path) -> None:
    """A registry off loopback whose TLS fails (an intercepting proxy, a captive portal, plain
    HTTP where HTTPS is due): both tools name it unreachable and advise the network or proxy."""
    gateway = run(
        world.docker, "network", "inspect", "bridge", "--format",
        "{{(index .IPAM.Config 0).Gateway}}",
    ).stdout.strip()  # fmt: skip
    plain = FixedAnswer("200 OK", {}, b"{}", address=gateway)  # docker must use HTTPS there
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=f"{plain.host}/{world.path}",
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
    finally:
        plain.close()
    assert fields == {"decision": "cannot-proceed", "availability": "unreachable"}, proc.stderr
    assert decision["availability"] == "unreachable", answer.stderr
    assert (answer.returncode, proc.returncode) == (17, 17)
    for text in (proc.stderr, decision["fix"]):
        assert "check the network or proxy" in text


@pytest.mark.parametrize(
    "named_by", ["DOCKER_HOST", "context", "busy DOCKER_HOST", "unix socket DOCKER_HOST"]
)
def test_both_take_the_platform_of_the_engine_not_of_this_machine(
    world: World, project: str, tmp_path: Path, named_by: str
) -> None:
    """The image runs on the docker engine: one elsewhere (DOCKER_HOST, or the docker context
    the config names) on another platform than this machine's is the platform both tools
    decide for. (The pins list only this machine's platform: both say the engine's is
    missing, without a registry request.) A busy engine that answers in 0.15 s is asked
    within the engine's own deadline also under a short registry timeout (0.2 s), which
    once gave it a quarter of that and took this machine's platform. An engine on a unix
    socket DOCKER_HOST names (Colima or Lima on Linux, `--arch aarch64` on x86) is asked too:
    resolve once took this machine's platform for any unix socket on Linux."""
    unix = named_by.startswith("unix")
    engine = EngineVersion(
        OTHER,
        delay=0.15 if named_by.startswith("busy") else 0.0,
        address=str(tmp_path / "engine.sock") if unix else "127.0.0.1",
    )
    env = launcher_env(world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false")
    if named_by.startswith("busy"):
        env["STACK_REGISTRY_TIMEOUT"] = "0.2"
    if named_by.endswith("DOCKER_HOST"):
        env["DOCKER_HOST"] = f"unix://{engine.host}" if unix else f"tcp://{engine.host}"
    else:  # as `docker context create box --docker host=tcp://...` and `docker context use box`
        config = Path(env["DOCKER_CONFIG"])
        meta = config / "contexts" / "meta" / hashlib.sha256(b"box").hexdigest()
        meta.mkdir(parents=True)
        endpoint = {"Host": f"tcp://{engine.host}", "SkipTLSVerify": False}
        (meta / "meta.json").write_text(
            json.dumps({"Name": "box", "Metadata": {}, "Endpoints": {"docker": endpoint}})
        )
        (config / "config.json").write_text(json.dumps({"currentContext": "box"}))
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
    finally:
        engine.close()
    assert fields == {"decision": "cannot-proceed", "availability": "platform-missing"}, proc.stderr
    assert (decision.get("availability"), decision.get("platform")) == (
        "platform-missing",
        OTHER,
    ), answer.stderr
    assert (answer.returncode, proc.returncode) == (17, 17)
    for text in (proc.stderr, decision["reason"]):
        assert f"platform {OTHER} missing" in text, text
    # the engine's own platform is missing: the other one runs under emulation
    fix = f"set PHP_IMAGE_PLATFORM={HOST} to run it under emulation; "
    assert decision["fix"].startswith(fix), decision["fix"]
    assert f"start: fix: {fix}" in proc.stderr, proc.stderr
    assert any(path.endswith("/version") for path in engine.paths)


@pytest.mark.parametrize("name", ["PHP_IMAGE_PLATFORM", "DOCKER_DEFAULT_PLATFORM"])
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("linux/amd64", True),
        ("Linux/X86_64", True),
        ("linux/x86-64/v1", True),
        ("linux/arm64/v8", True),
        ("LINUX/AARCH64/V8.0", True),
        ("linux/arm64/v9", False),
        ("linux/amd64/", False),
        ("amd64", False),  # docker would add this client's OS (darwin on a Mac)
        ("linux/386", False),
        ("linux/\u0430md64", False),  # a Cyrillic a
    ],
)
def test_both_read_a_platform_as_docker_spells_it_alike(
    tmp_path: Path, name: str, value: str, valid: bool
) -> None:
    """The spellings docker reads as linux/amd64 or linux/arm64 are taken by both tools, for
    either variable, and nothing else: with no pins file, a valid one gets as far as that
    (exit 3), an invalid one is exit 2 naming the variable, in the same words."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_PINS_FILE": str(tmp_path / "none.env"), name: value}
    answer, _ = resolve(env, tmp_path)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert (answer.returncode, proc.returncode) == ((3, 3) if valid else (2, 2)), proc.stderr
    if not valid:
        assert f"{name}={value!r} is not valid" in answer.stderr, answer.stderr
        same_words(answer.stderr, proc.stderr)


def test_a_docker_default_platform_the_pins_lack_says_which_variable_to_unset(
    world: World, project: str, tmp_path: Path
) -> None:
    """DOCKER_DEFAULT_PLATFORM names the other platform (written with docker's variant, as
    docker reads it), and the release has only the engine's: both tools find it missing from
    the pins, say where the platform came from, and advise unsetting DOCKER_DEFAULT_PLATFORM
    or setting PHP_IMAGE_PLATFORM for this stack (unsetting PHP_IMAGE_PLATFORM, unset
    already, would change nothing), word for word. Both once ignored it and took the engine's."""
    env = launcher_env(
        world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false",
        DOCKER_DEFAULT_PLATFORM=OTHER_SPELLED,
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "platform-missing"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
    assert decision["platform"] == OTHER, answer.stderr
    said = f"has no {OTHER} image (it has: {HOST}; pins file)"
    assert said in decision["reason"] and said in proc.stderr, proc.stderr
    fix = (
        f"unset DOCKER_DEFAULT_PLATFORM, or set PHP_IMAGE_PLATFORM={HOST} for this stack alone, "
        "to run the docker engine's own platform natively; "
    )
    assert decision["fix"].startswith(fix), decision["fix"]
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    note = f"platform {OTHER} (DOCKER_DEFAULT_PLATFORM; emulated on this {HOST} engine)"
    assert decision["note"].startswith(note), answer.stderr
    assert f"start: note: {decision['note']}\n" in proc.stderr, proc.stderr


def test_a_platform_given_missing_under_docker_default_platform_says_to_unset_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_IMAGE_PLATFORM names the other platform (which wins), DOCKER_DEFAULT_PLATFORM is
    set too, and the release has only the engine's: unsetting PHP_IMAGE_PLATFORM alone would
    make DOCKER_DEFAULT_PLATFORM the platform, so both tools say to unset both to run the
    engine's own natively, word for word (they said PHP_IMAGE_PLATFORM alone)."""
    env = launcher_env(
        world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false",
        PHP_IMAGE_PLATFORM=OTHER, DOCKER_DEFAULT_PLATFORM=OTHER_SPELLED,
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "cannot-proceed", "availability": "platform-missing"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
    fix = (
        "unset PHP_IMAGE_PLATFORM and DOCKER_DEFAULT_PLATFORM to run the docker engine's own "
        f"platform natively, or set PHP_IMAGE_PLATFORM={HOST} (under emulation unless the "
        f"engine is {HOST}); "
    )
    assert decision["fix"].startswith(fix), decision["fix"]
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr


def test_a_docker_engine_that_never_answers_is_exit_10_not_a_silent_wait(
    world: World, project: str, tmp_path: Path
) -> None:
    """An engine that takes the connection and never answers (a stuck Docker Desktop)."""
    silent = Silent()
    env = launcher_env(world, project, tmp_path, DOCKER_HOST=f"tcp://{silent.host}")
    dash = shutil.which("dash") or "sh"
    began = time.monotonic()
    try:
        proc = run(dash, str(STACK / "start.sh"), env=env, check=False, timeout=60)
    finally:
        silent.close()
    assert proc.returncode == 10, proc.stderr
    no_decision(proc, decision_fields(proc.stderr), None, "docker-unavailable")
    assert "Terminated" not in proc.stderr  # dash's word for the call it stopped: not said
    assert "start: error: the docker engine does not answer (it took the connection" in proc.stderr
    assert "restart Docker Desktop" in proc.stderr
    assert time.monotonic() - began < 30
    silent = Silent()  # stop.sh too: the same deadline and words, exit 10
    began = time.monotonic()
    try:
        env["DOCKER_HOST"] = f"tcp://{silent.host}"
        stop = run(dash, str(STACK / "stop.sh"), env=env, check=False, timeout=60)
    finally:
        silent.close()
    assert stop.returncode == 10, stop.stderr
    assert stop.stderr.splitlines() == [
        "stop: error: the docker engine does not answer (it took the connection, and no answer "
        "came within 10 s)",
        "stop: fix: restart Docker Desktop, or the docker service (sudo systemctl restart "
        "docker), until `docker version` answers; the engine asked is the one DOCKER_HOST "
        f"names (tcp://{silent.host}): unset DOCKER_HOST to ask the default one",
    ]
    assert time.monotonic() - began < 30


def test_a_stopped_engine_and_a_user_outside_the_docker_group_are_told_apart(
    world: World, project: str, tmp_path: Path
) -> None:
    """Exit 10 either way, with what docker said: the engine it asked (a stale DOCKER_HOST,
    Docker Desktop's socket elsewhere), or that this user may not use it."""
    dash = shutil.which("dash") or "sh"
    env = launcher_env(world, project, tmp_path, DOCKER_HOST="unix:///nonexistent/docker.sock")
    proc = run(dash, str(STACK / "start.sh"), env=env, check=False, timeout=60)
    assert proc.returncode == 10, proc.stderr
    no_decision(proc, decision_fields(proc.stderr), None, "docker-unavailable")
    assert (
        "start: error: the docker engine does not answer: Cannot connect to the Docker "
        "daemon at unix:///nonexistent/docker.sock" in proc.stderr
    )
    assert "`docker context ls` and DOCKER_HOST say which engine is asked" in proc.stderr

    setpriv = shutil.which("setpriv")
    socket = Path("/var/run/docker.sock")
    if setpriv is None or os.getuid() != 0 or socket.stat().st_mode & 0o007:
        pytest.skip("needs root, setpriv and a docker socket closed to others")
    shared = Path(tempfile.mkdtemp(prefix="stack-nobody-"))
    try:
        shared.chmod(0o1777)  # its TMPDIR too: sticky, as /tmp
        shutil.copy(world.pins, shared / "pins.env")
        (shared / "pins.env").chmod(0o644)
        env = {
            **launcher_env(world, project, shared),
            "PATH": f"{Path(world.docker).parent}:/usr/bin:/bin",
            "PHP_PINS_FILE": str(shared / "pins.env"),
        }
        proc = run(
            setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", dash,
            str(STACK / "start.sh"), env=env, check=False, timeout=60,
        )  # fmt: skip
        stop = run(
            setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", dash,
            str(STACK / "stop.sh"), env=env, check=False, timeout=60,
        )  # fmt: skip
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert proc.returncode == 10, proc.stderr
    assert "start: error: this user may not use the docker engine: permission denied" in proc.stderr
    assert "sudo usermod -aG docker" in proc.stderr
    assert stop.returncode == 10, stop.stderr  # stop.sh says the same, not to start docker
    assert "stop: error: this user may not use the docker engine: permission denied" in stop.stderr
    assert "sudo usermod -aG docker" in stop.stderr


def engine_lost_at(
    env: dict[str, str], stack: Path, words: str, after: float = 1.0
) -> subprocess.CompletedProcess[str]:
    """start.sh (dash) talking to the docker engine through a relay (``DOCKER_HOST``), the
    relay closed ``after`` s once the launcher says ``words``: an engine that went away in
    the middle of a call (Docker Desktop quit, the service restarted)."""
    folder = Path(tempfile.mkdtemp(prefix="engine-"))  # a unix socket's path is short
    engine = UnixRelay(str(folder / "docker.sock"))
    try:
        env = {**env, "DOCKER_HOST": f"unix://{engine.host}"}
        dash = shutil.which("dash") or "sh"
        with subprocess.Popen(
            [dash, str(stack / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
        ) as launcher:
            assert launcher.stderr is not None
            seen = ""
            while words not in seen:
                line = launcher.stderr.readline()
                if not line:
                    break
                seen += line
            if words in seen:
                time.sleep(after)
            engine.close()
            rest = launcher.stderr.read()
            code = launcher.wait(timeout=60)
        return subprocess.CompletedProcess(launcher.args, code, "", seen + rest)
    finally:
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)


def assert_engine_gone(proc: subprocess.CompletedProcess[str]) -> None:
    """Exit 10 and the engine's fix, docker's own words said: not a registry's or a
    Dockerfile's fault."""
    assert proc.returncode == 10, proc.stderr
    error = [line for line in said(proc) if line.startswith("start: error: ")]
    assert len(error) == 1, proc.stderr
    assert error[0].startswith(
        "start: error: the docker engine does not answer: Cannot connect to the Docker daemon at "
        "unix://"
    ), proc.stderr
    assert said(proc)[-1].startswith(
        "start: fix: start Docker Desktop, or the docker service (sudo systemctl start docker)"
    ), proc.stderr


def test_an_engine_lost_during_the_pull_is_exit_10_not_a_registry_nor_a_base_problem(
    world: World, project: str, tmp_path: Path
) -> None:
    """The engine going away while docker pulls is no registry offline (docker says
    `unexpected EOF`), nor a base missing from the image store (whose lookup could not ask
    the engine): exit 10, before any decision, with the engine's fix."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["silent"],
        STACK_REGISTRY_TIMEOUT="30",
    )  # fmt: skip
    proc = engine_lost_at(env, STACK, "start: pulling ")
    assert_engine_gone(proc)
    no_decision(proc, decision_fields(proc.stderr), None, "docker-unavailable")
    assert "offline or unreachable" not in proc.stderr, proc.stderr
    assert "cannot be pulled" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("step", ["build", "up"])
def test_an_engine_lost_during_the_build_or_compose_up_is_exit_10_not_the_dockerfiles_fault(
    world: World, project: str, tmp_path: Path, step: str
) -> None:
    """compose failing because the engine went away (during the local build, or as it starts
    the container) is exit 10 with the engine's fix, not exit 11 telling to fix the
    Dockerfile or to remove what the stack left behind."""
    home = _vendored(world, tmp_path)
    dockerfile = home / "dockerfiles" / "8.4" / "Dockerfile"
    if step == "build":  # a step no earlier build cached, under way when the engine goes
        dockerfile.write_text(dockerfile.read_text() + f"RUN echo {uuid.uuid4().hex} && sleep 60\n")
        words, after = "start: building ", 3.0
    else:  # compose up, slowed down so that the engine goes while it runs
        earlier_local_build(world, project, tmp_path)
        wrapper = tmp_path / "bin"
        shutil.copytree(world.bin_dir, wrapper, symlinks=True)
        (wrapper / "docker").write_text(
            "#!/bin/sh\n"
            'case "$*" in *" up "*) echo "start: compose up" >&2; sleep 2 ;; esac\n'
            f'exec "{world.docker}" "$@"\n'
        )
        words, after = "start: compose up", 0.5
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    if step == "up":
        env["PATH"] = str(tmp_path / "bin")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]  # the defaults: next to start.sh
    proc = engine_lost_at(env, home, words, after)
    assert_engine_gone(proc)
    assert decision_fields(proc.stderr) == {"decision": "build-locally", "availability": "none"}
    assert "Dockerfile" not in "\n".join(said(proc)[-2:]), proc.stderr
    assert "stop.sh" not in proc.stderr


@pytest.mark.parametrize("standalone", ["none", "v1", "v2"])
def test_compose_v1_or_a_standalone_compose_is_said_with_its_fix(
    world: World, project: str, tmp_path: Path, standalone: str
) -> None:
    """docker without its compose plugin (an unusable one shadows the system's here), and
    beside it nothing, the old docker-compose v1, or a compose v2 binary of its own."""
    env = launcher_env(world, project, tmp_path)
    plugins = Path(env["DOCKER_CONFIG"]) / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").write_text("#!/bin/sh\nexit 1\n")
    (plugins / "docker-compose").chmod(0o755)
    bin_dir = tmp_path / "bin"
    shutil.copytree(world.bin_dir, bin_dir, symlinks=True)
    compose = bin_dir / "docker-compose"
    if standalone == "v1":  # not installable here any more: what its `version --short` prints
        compose.write_text(
            '#!/bin/sh\n[ "$*" = "version --short" ] && echo 1.29.2 && exit 0\nexit 1\n'
        )
        compose.chmod(0o755)
    elif standalone == "v2":
        plugin = run(world.docker, "info", "--format", "{{json .ClientInfo.Plugins}}").stdout
        found = [p["Path"] for p in json.loads(plugin) if p["Name"] == "compose"]
        compose.symlink_to(found[0])
    env["PATH"] = str(bin_dir)
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, check=False)
    assert proc.returncode == 10, proc.stderr
    no_decision(proc, decision_fields(proc.stderr), None, "docker-unavailable")
    said = {
        "none": "start: error: docker compose v2 is missing\n",
        "v1": "start: error: docker compose v2 is missing: only docker-compose 1.29.2 (compose v1, "
        "unsupported) is installed\n",
        "v2": "start: error: docker compose v2 is missing as a docker plugin: docker-compose 2.",
    }[standalone]
    assert said in proc.stderr
    if standalone == "v2":
        assert f'ln -s "{compose}" "{plugins}/docker-compose"' in proc.stderr
    else:
        assert "start: fix: install the compose plugin" in proc.stderr


@pytest.mark.parametrize(
    ("version", "too_old"),
    [
        ("2.7.1", True),
        ("v2.7.0", True),  # --short kept the v before compose 2.8
        ("2.8.0", False),
        ("2.29.2-desktop.2", False),
        ("2.26.1+ds1", False),
        ("v3.0.0", False),
        ("dev", False),  # a version it cannot read does not stop the start
        ("", False),
    ],
)
def test_a_compose_older_than_2_8_is_refused_naming_the_minimum(
    world: World, project: str, tmp_path: Path, version: str, too_old: bool
) -> None:
    """`docker compose up --pull never` came in compose 2.8.0: an older compose is exit 10
    before anything is pulled or built, with the minimum and how to update; a newer one,
    or one whose version cannot be read, goes on (here to a missing Dockerfile, exit 17)."""
    bin_dir = tmp_path / "bin"
    shutil.copytree(world.bin_dir, bin_dir, symlinks=True)
    (bin_dir / "docker").unlink()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "compose version" ]; then\n'
        f'  case "$*" in *--short*) echo "{version}" ;; *) echo "Docker Compose version {version}" ;; esac\n'
        "  exit 0\n"
        "fi\n"
        f'exec "{world.docker}" "$@"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    env = launcher_env(
        world, project, tmp_path, USE_PREBUILT="false", PHP_DOCKERFILES=str(tmp_path / "none")
    )
    env["PATH"] = str(bin_dir)
    proc, fields = launch(world, env)
    if too_old:
        assert proc.returncode == 10, proc.stderr
        no_decision(proc, fields, None, "docker-unavailable")
        shown = version.removeprefix("v")
        assert (
            f"start: error: docker compose {shown} is too old: this launcher needs compose "
            "2.8.0 or newer (`docker compose up --pull never`)\n"
        ) in proc.stderr
        assert "Docker Desktop (macOS, Windows): install its current version" in proc.stderr
        assert "upgrade the docker-compose-plugin package" in proc.stderr
    else:
        assert proc.returncode == 17, proc.stderr
        assert fields["decision"] == "cannot-proceed", proc.stderr
        assert "too old" not in proc.stderr


def test_an_unwritable_tmpdir_is_said_not_a_bare_exit_1(
    world: World, project: str, tmp_path: Path
) -> None:
    """mktemp fails on a TMPDIR that is gone: exit 17 with the fix, decision=none, the first
    line said, and mktemp's reason in the launcher's error rather than its own line before."""
    env = launcher_env(world, project, tmp_path, TMPDIR=str(tmp_path / "gone"))
    proc, fields = launch(world, env)
    assert proc.returncode == 17, proc.stderr
    no_decision(proc, fields, None, "file-access")
    assert proc.stderr.startswith("start: decision=none error=file-access\n"), proc.stderr
    assert (
        f"start: error: cannot create a temporary folder in {tmp_path / 'gone'} (TMPDIR): "
        "No such file or directory\n"
    ) in proc.stderr
    assert "start: fix: set TMPDIR to a writable folder" in proc.stderr


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_tmpdir_another_user_may_rename_entries_in_is_refused_naming_owner_and_mode(
    shell: str, tmp_path: Path
) -> None:
    """A TMPDIR another user owns (a CI's `mkdir -p /tmp/ci-tmp`, made by someone else
    first), or one every user may write to without the sticky bit, let that user swap the
    launcher's work folder (php-stack.PID.XXXXXX) for a link, and the launcher truncated
    this user's files through it (its logs). Both scripts refuse it before making anything
    there, exit 17 (file-access), naming owner and mode and what to do; so is one in such a
    folder, or reached through a symbolic link another user owns (they may point it at a
    folder of theirs), as publisher refuses them. A sticky folder of root's (/tmp), reached
    through a symbolic link of root's too (macOS's /tmp), is used."""
    if os.geteuid() != 0:
        pytest.skip("a folder owned by another user (chown) needs root")
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    stand_in = tmp_path / "bin" / "docker"  # answers every call, as stop.sh needs
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    theirs = tmp_path / "ci-tmp"
    theirs.mkdir()
    theirs.chmod(0o1777)
    os.chown(theirs, 12345, 12345)
    everyones = tmp_path / "shared"
    everyones.mkdir()
    everyones.chmod(0o777)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    (tmp_path / "tmp-link").symlink_to(sticky)
    within = everyones / "mine"  # this user's own, in a folder every user may write to
    within.mkdir(mode=0o700)
    their_link = tmp_path / "their-link"  # to a folder of root's, but another user's link
    their_link.symlink_to(sticky)
    os.chown(their_link, 12345, 12345, follow_symlinks=False)
    own = (
        'set TMPDIR to a folder of your own (mkdir -p -m 700 "$HOME/.cache/php-stack-tmp", '
        'then TMPDIR="$HOME/.cache/php-stack-tmp"), or unset TMPDIR'
    )
    refused = {
        theirs: [
            f"error: TMPDIR {theirs} is user 12345's (drwxrwxrwt), neither this user's nor "
            "root's: that user could swap the folders the launcher makes there for links to "
            "this user's files, which it would then write",
            f"fix: {own}",
        ],
        everyones: [
            f"error: TMPDIR {everyones} may be written by every user and has no sticky bit "
            "(drwxrwxrwx): another user could swap the folders the launcher makes there for "
            "links to this user's files, which it would then write",
            f'fix: give it the sticky bit, as /tmp has (chmod +t "{everyones}", by its owner '
            f"or root), or {own}",
        ],
        within: [
            f"error: TMPDIR {within} is in {everyones}, which may be written by every user and "
            "has no sticky bit (drwxrwxrwx): another user could swap the folders the launcher "
            "makes there for links to this user's files, which it would then write",
            f'fix: give it the sticky bit, as /tmp has (chmod +t "{everyones}", by its owner '
            f"or root), or {own}",
        ],
        their_link: [
            f"error: TMPDIR {their_link} is a symbolic link of user 12345's: that user could "
            "point it at a folder of theirs and swap the folders the launcher makes there for "
            "links to this user's files, which it would then write",
            f"fix: {own}",
        ],
    }
    pins_file = ROOT / "tests" / "fixtures" / "records-v1" / "release-notes" / "v1.0.0.env"
    base = {"PATH": f"{stand_in.parent}:{os.environ['PATH']}", "HOME": str(tmp_path),
            "PHP_PINS_FILE": str(pins_file)}  # fmt: skip
    for folder, lines in refused.items():
        env = {**base, "TMPDIR": f"{folder}/"}  # named without its '/'
        start = run(tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False)
        stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env=env, check=False)
        assert (start.returncode, stop.returncode) == (17, 17), start.stderr + stop.stderr
        assert start.stderr.splitlines() == [
            "start: decision=none error=file-access",
            *(f"start: {line}" for line in lines),
        ], start.stderr
        assert stop.stderr.splitlines() == [f"stop: {line}" for line in lines], stop.stderr
        assert not list(tmp_path.rglob("php-stack*"))
    for folder in (sticky, tmp_path / "tmp-link"):
        stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env={**base, "TMPDIR": str(folder)},
                   check=False)  # fmt: skip
        assert stop.returncode == 0, stop.stderr
    assert not list(sticky.iterdir())


def test_a_pins_file_from_before_a_republish_still_pulls_its_digest(
    world: World, project: str, tmp_path: Path
) -> None:
    """A republish moved the pin tag to a new index; a stack that has not taken the new
    pins file yet pulls the digest its file names, and both tools say it is available."""
    skopeo = require_tool("skopeo")
    repository = f"{world.registry.host}/republished-{uuid.uuid4().hex[:6]}/php-fpm"
    tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
    run(skopeo, "copy", "--all", *tls, f"docker://{world.repository}@{world.digest}",
        f"docker://{repository}:{PIN}")  # fmt: skip
    base_name, base_digest = world.base.split("@")
    base_repo = base_name.rsplit(":", 1)[0]
    run(
        skopeo,
        "copy",
        "--all",
        *tls,
        f"docker://{base_repo}@{base_digest}",
        f"docker://{repository}:{PIN}",
    )  # the republish: the pin tag now names another index
    moved = run(skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{repository}:{PIN}")
    assert "sha256:" + hashlib.sha256(moved.stdout.encode()).hexdigest() != world.digest
    old_pins = tmp_path / f"{RELEASE}.env"
    old_pins.write_text(pins.render(_record(repository, world.digest, world.base)))
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(old_pins), PHP_IMAGE_CACHE_CHECK="false",
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    try:
        proc, fields = launch(world, env)
        answer, decision = resolve(env, tmp_path)
        started = running_image(world.docker, project)
    finally:
        run(world.docker, "rmi", "-f", world.prebuilt(repository), check=False)
    assert fields == {"decision": "use-prebuilt", "availability": "available"}, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert f"{repository}@{world.digest}" in started["RepoDigests"]
    assert (decision["decision"], decision["availability"]) == ("use-prebuilt", "available"), (
        answer.stderr
    )
    assert decision["image"] == world.prebuilt(repository)


def engine_says(world: World, tmp_path: Path, platform: str) -> Path:
    """The launcher's PATH with a docker whose `docker version` names ``platform`` as the
    engine's (a 32-bit ARM engine's linux/arm), the real docker doing everything else."""
    bin_dir = tmp_path / "engine-bin"
    bin_dir.mkdir()
    for tool in world.bin_dir.iterdir():
        (bin_dir / tool.name).symlink_to(tool)
    (bin_dir / "docker").unlink()
    (bin_dir / "docker").write_text(
        f'#!/bin/sh\nif [ "$1" = version ]; then echo {platform}; exit 0; fi\n'
        f'exec "{world.bin_dir / "docker"}" "$@"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    return bin_dir


def crash_release(
    world: World, tmp_path: Path, platform: str, command: str
) -> tuple[Path, str, str]:
    """A release of one image for ``platform`` that runs ``command`` (sh -c) and stops: its
    pins file, the image's reference and its repository's path (for a local tag of its own).
    Built on the stand-in base with buildah (no RUN: no emulation needed) and pushed."""
    buildah = require_tool("buildah")
    context = tmp_path / "crash"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {world.base}\nENTRYPOINT {json.dumps(['/bin/sh', '-c', command])}\nCMD []\n"
    )
    path = f"crash-{uuid.uuid4().hex[:6]}/php-fpm"
    manifest = f"publisher-stack-crash-{uuid.uuid4().hex[:6]}"
    digest_file = tmp_path / "digest"
    try:
        run(buildah, "build", "--isolation", "chroot", "--tls-verify=false", "--platform", platform,
            "--manifest", manifest, str(context))  # fmt: skip
        run(buildah, "manifest", "push", "--all", "--tls-verify=false", "--digestfile",
            str(digest_file), manifest, f"docker://{world.registry.host}/{path}:{PIN}")  # fmt: skip
    finally:
        run(buildah, "manifest", "rm", manifest, check=False)
    repository = f"{world.registry.host}/{path}"
    digest = digest_file.read_text().strip()
    record = _record(repository, digest, world.base)
    record["lines"][0]["platforms"][0]["platform"] = platform
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(record))
    return pins_file, f"{repository}:{PIN}@{digest}", path


def stack_states(world: World, project: str) -> list[str]:
    """The states of the stack's containers (none: removed, not left restarting)."""
    return run(world.docker, "ps", "-a", "--format", "{{.State}}",
               "--filter", f"label=com.docker.compose.project={project}").stdout.split()  # fmt: skip


@pytest.mark.parametrize(
    ("engine", "said"),
    [
        ("this machine's", "exec format error"),
        ("linux/arm", "exec format error"),
        ("this machine's", "nothing"),  # docker may lose the line of a process that died at once
    ],
)
def test_an_emulated_platform_that_stops_at_once_is_not_called_started(
    world: World, project: str, tmp_path: Path, engine: str, said: str
) -> None:
    """PHP_IMAGE_PLATFORM names the other platform, and the container stops as soon as it
    runs, as on an engine with no emulation (exec format error, or exit status 255 with
    nothing said): exit 17 with the fix, never "started". On an engine no image is built
    for (linux/arm), the fix is emulation alone: it once said to set
    PHP_IMAGE_PLATFORM=linux/arm, a value refused (exit 2)."""
    command = "exit 255"
    if said != "nothing":
        command = "echo 'exec /usr/local/sbin/php-fpm: exec format error' >&2; exit 255"
    pins_file, reference, _ = crash_release(world, tmp_path, OTHER, command)
    env = launcher_env(world, project, tmp_path, PHP_PINS_FILE=str(pins_file),
                       PHP_IMAGE_PLATFORM=OTHER)  # fmt: skip
    if engine == "linux/arm":
        env["PATH"] = str(engine_says(world, tmp_path, engine))
    try:
        proc, fields = launch(world, env)
        states = stack_states(world, project)
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", reference, check=False)
    assert fields == {"decision": "use-prebuilt", "availability": "available"}, proc.stderr
    assert proc.returncode == 17, proc.stderr
    assert f"start: error: PHP-FPM ({OTHER}) stopped as soon as it started" in proc.stderr
    if said == "nothing":
        assert "exit status 255)\n" in proc.stderr, proc.stderr
    else:
        assert "): exec /usr/local/sbin/php-fpm: exec format error\n" in proc.stderr, proc.stderr
    if engine == "linux/arm":
        fix = (
            "start: fix: this docker engine is linux/arm, which no PHP-FPM image is built for: "
            f"{OTHER} images run under emulation (Docker Desktop has it; Linux: docker run "
            f"--privileged --rm tonistiigi/binfmt --install {OTHER.split('/')[1]})\n"
        )
        assert fix in proc.stderr, proc.stderr
    else:
        assert f"or set PHP_IMAGE_PLATFORM={HOST}\n" in proc.stderr, proc.stderr
    assert "start: started" not in proc.stderr
    assert states == []  # removed, not left restarting


@pytest.mark.parametrize(
    ("where", "image"),
    [("native", "local"), ("native", "prebuilt"), ("emulated", "prebuilt")],
)
def test_a_php_fpm_that_stops_at_once_is_said_so_and_emulation_blamed_only_when_it_fails(
    world: World, project: str, tmp_path: Path, where: str, image: str
) -> None:
    """PHP-FPM that exits at once (a Dockerfile edited into one that cannot start, a
    configuration it refuses) is exit 17 with its last line on the engine's own platform
    too, never "started" (it was, exit 0, while it restarted in a loop); and under working
    emulation the fix is the Dockerfile or the configuration, not installing emulation."""
    platform = HOST if where == "native" else OTHER
    command = "echo 'ERROR: broken php-fpm.conf' >&2; exit 78"
    pins_file, reference, path = crash_release(world, tmp_path, platform, command)
    settings = {"PHP_PINS_FILE": str(pins_file), "PHP_IMAGE_PLATFORM": platform}
    dockerfile = tmp_path / "dockerfiles" / "8.4" / "Dockerfile"
    local = f"localhost/{path}:{PIN}-base-{world.base.split('@sha256:')[1][:12]}"
    if image == "local":  # the release's Dockerfile, its command edited
        dockerfile.parent.mkdir(parents=True)
        dockerfile.write_text(
            (DOCKERFILES / "8.4" / "Dockerfile").read_text()
            + f"CMD {json.dumps(['sh', '-c', command])}\n"
        )
        settings.update(USE_PREBUILT="false", PHP_DOCKERFILES=str(dockerfile.parents[1]))
    env = launcher_env(world, project, tmp_path, **settings)
    try:
        proc, fields = launch(world, env)
        states = stack_states(world, project)
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", reference, local, check=False)
    started = local if image == "local" else reference
    assert fields["decision"] == ("build-locally" if image == "local" else "use-prebuilt")
    assert proc.returncode == 17, proc.stderr
    said = f"start: error: PHP-FPM ({platform}) stopped as soon as it started (docker says "
    assert said in proc.stderr, proc.stderr
    assert "exit status 78): ERROR: broken php-fpm.conf\n" in proc.stderr, proc.stderr
    if image == "local":
        check = f"start: fix: check {dockerfile}, which this image was built from"
    else:
        check = f"start: fix: check what {STACK}/compose.yaml gives the php service"
    assert check in proc.stderr, proc.stderr
    shows = f"`docker run --rm --platform {platform} {started}` shows all it says\n"
    assert shows in proc.stderr, proc.stderr
    assert "emulation" not in proc.stderr and "binfmt" not in proc.stderr, proc.stderr
    assert "start: started" not in proc.stderr
    assert states == []  # removed, not left restarting


def test_the_mirror_is_pulled_by_the_lines_digest_as_resolve_does(
    world: World, project: str, tmp_path: Path
) -> None:
    """The reference is the release pin on PHP_MIRROR_REPOSITORY with the line's digest:
    both tools pull the mirror's copy. (A pins file naming a mirror without the line's
    PHP_IMAGE_MIRROR_X_Y, which every publisher writes, is one cut short: refused.)"""
    mirror = world.repositories["cached"]
    text = pins.render(_record(world.repository, world.digest, world.base, mirror))
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(text)
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PREBUILT_REGISTRY="mirror",
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert decision["image"] == world.prebuilt(mirror), answer.stderr
    assert f"pre-built image {world.prebuilt(mirror)} is in the local image store" in proc.stderr


def _vendored(world: World, tmp_path: Path, name: str = "stack") -> Path:
    """The stack as a maintainer vendors it: start.sh, compose.yaml, pins file, dockerfiles/."""
    home = tmp_path / name
    shutil.copytree(STACK, home, ignore=shutil.ignore_patterns("README.md", ".gitignore"))
    shutil.copytree(DOCKERFILES / "8.4", home / "dockerfiles" / "8.4")
    shutil.copy(world.pins, home / "php-images.env")
    return home


def test_a_vendored_copy_reads_its_own_dockerfiles_never_a_folder_two_levels_up(
    world: World, project: str, tmp_path: Path
) -> None:
    """A stack that vendored the launcher two folders below its root (site/docker/php) without
    dockerfiles/ next to it, whose root holds a dockerfiles/ of its own: the launcher names
    its own missing dockerfiles/, as the README says, and builds nothing from the other one
    (it took site/dockerfiles/8.4/Dockerfile, another image). Only publisher's own
    repository reads the repository's dockerfiles/, named without '..'."""
    home = _vendored(world, tmp_path, name="site/docker/php")
    shutil.rmtree(home / "dockerfiles")
    shutil.copytree(DOCKERFILES / "8.4", tmp_path / "site" / "dockerfiles" / "8.4")
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]
    proc, fields = launch(world, env, stack=home)
    assert (proc.returncode, fields["decision"]) == (17, "cannot-proceed"), proc.stderr
    missing = f"there is no Dockerfile for PHP 8.4 at {home}/dockerfiles/8.4/Dockerfile"
    assert missing in proc.stderr, proc.stderr
    assert _stack_containers(world, project) == []

    # publisher's own examples/stack: the repository's dockerfiles/ (a line it has no
    # Dockerfile for, so that nothing is built)
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false", PHP_VERSION="8.99")
    del env["PHP_DOCKERFILES"]
    proc, fields = launch(world, env)
    assert (proc.returncode, fields["decision"]) == (17, "cannot-proceed"), proc.stderr
    assert f"at {ROOT}/dockerfiles/8.99/Dockerfile\n" in proc.stderr, proc.stderr


def test_the_by_hand_build_docs_give_works_under_a_shells_docker_default_platform(
    world: World, project: str, tmp_path: Path
) -> None:
    """docs/consumers.md's by-hand build after resolve (`... > php.env`, then its compose
    command, run as a `set -eu` script runs it) builds and starts the local build for
    php.env's PHP_PLATFORM in a shell whose DOCKER_DEFAULT_PLATFORM names it in another
    spelling (which `docker compose build` refuses). The command once took
    DOCKER_DEFAULT_PLATFORM from "$PHP_PLATFORM", a variable php.env gives compose, not the
    shell: such a script stopped on it (parameter not set)."""
    text = (ROOT / "docs" / "consumers.md").read_text()
    by_hand = text[text.index("**`DOCKER_DEFAULT_PLATFORM` counts") :].split("\n\n")[0]
    commands = [c for c in re.findall(r"`([^`]+)`", by_hand) if c.endswith("up -d --build")]
    assert len(commands) == 1, by_hand
    home = _vendored(world, tmp_path)
    spelled = {"linux/amd64": "linux/x86_64/v1", "linux/arm64": "linux/arm64/v8"}[HOST]
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    env |= {"PATH": f"{world.bin_dir}:{os.environ['PATH']}", "DOCKER_DEFAULT_PLATFORM": spelled}
    env |= {"PHP_PINS_FILE": "php-images.env", "PHP_DOCKERFILES": "dockerfiles"}
    run(world.docker, "rmi", "-f", world.local, check=False)
    try:
        script = f"{sys.executable} resolve.py --format env > php.env || [ $? -eq 16 ]\n"
        shutil.copy(RESOLVE, home / "resolve.py")
        proc = run("sh", "-euc", script + commands[0], env=env, cwd=home, check=False)
        assert "PHP_BUILD='1'\n" in (home / "php.env").read_text(), proc.stderr
        assert f"PHP_PLATFORM='{HOST}'\n" in (home / "php.env").read_text(), proc.stderr
        assert proc.returncode == 0, proc.stderr
        image = running_image(world.docker, project)
        assert image["RepoTags"] == [world.local]
        assert f"{image['Os']}/{image['Architecture']}" == HOST
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", world.local, check=False)


def _stack_containers(world: World, project: str) -> list[str]:
    return run(
        world.docker, "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"
    ).stdout.split()


def test_a_local_build_that_fails_is_exit_11_with_composes_last_words_and_a_fix(
    world: World, project: str, tmp_path: Path
) -> None:
    """A Dockerfile that does not build: compose exits with 17 of its own, which is the
    launcher's "cannot proceed"; the launcher says exit 11, compose's last line and the fix."""
    home = _vendored(world, tmp_path)
    dockerfile = home / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo a-broken-step && exit 3\n")
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]  # the defaults: next to start.sh
    proc, fields = launch(world, env, stack=home)
    assert fields == {"decision": "build-locally", "availability": "none"}, proc.stderr
    assert proc.returncode == 11, proc.stderr
    error = [line for line in said(proc) if line.startswith("start: error: ")]
    assert len(error) == 1, proc.stderr
    assert error[0].startswith(
        f"start: error: the local build of {world.local} failed: docker compose exited with status "
    ), proc.stderr
    assert "did not complete successfully: exit code: 3" in error[0]
    assert said(proc)[-1].startswith(f"start: fix: {dockerfile} must build on {world.base}: ")
    assert "start: started" not in proc.stderr
    assert _stack_containers(world, project) == []


def test_starts_of_one_stack_at_the_same_time_never_call_its_container_another_stacks(
    world: World, project: str, tmp_path: Path
) -> None:
    """Three starts of one stack at once (a script, a double click): compose may race on the
    container's name, which one of them created a moment earlier. None is told to remove
    it as a container the stack did not create."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    dash = shutil.which("dash") or "sh"
    for _ in range(3):  # a race: a few rounds, the stack taken down before each
        compose_down(world.docker, project)
        starts = [
            subprocess.Popen(
                [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        said = [(start.communicate(timeout=300)[1], start.returncode) for start in starts]
        for stderr, code in said:
            assert "did not create" not in stderr, stderr
            assert code == 0, stderr
            assert f"start: started {world.prebuilt(world.repositories['cached'])}" in stderr
        assert len(_stack_containers(world, project)) == 1
    assert not list(tmp_path.glob("*.lock"))
    # A start killed outright (kill -9) leaves its lock: waited for while its pid runs
    # (this sleep stands in for it), then taken over, never waited for without end.
    lock = tmp_path / f"php-stack-{project}.lock"
    lock.mkdir()
    dash = shutil.which("dash") or "sh"
    with subprocess.Popen(["sleep", "2"]) as holder:
        (lock / "pid").write_text(f"{holder.pid}\n")
        with subprocess.Popen(
            [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
        ) as launcher:
            holder.wait()  # gone, not a zombie kill -0 still finds
            stderr = launcher.communicate(timeout=120)[1]
    proc = subprocess.CompletedProcess(launcher.args, launcher.returncode, "", stderr)
    assert proc.returncode == 0, proc.stderr
    assert (
        f"start: waiting for another start of the stack {project} (pid {holder.pid}) to finish "
        f"(remove {lock} if none is running)"
    ) in proc.stderr
    assert not lock.exists()
    # Killed between making the lock and writing its pid: no pid for 5 s, taken over.
    lock.mkdir()
    began = time.monotonic()
    unnamed = subprocess.run(
        [dash, str(STACK / "start.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert unnamed.returncode == 0, unnamed.stderr
    assert f"start: waiting for another start of the stack {project} to finish" in unnamed.stderr
    assert time.monotonic() - began < 60 and not lock.exists()


def test_a_later_start_removes_the_work_folders_of_starts_killed_outright(
    world: World, project: str, tmp_path: Path
) -> None:
    """A start killed outright (kill -9) cannot remove its work folder ($TMPDIR/php-stack.*:
    compose's log, its FIFO, the engine's errors): a later start removes those of starts no
    longer running that no one touched for a day, whatever it decides, and never the folder
    of a start still running, however old. A young one stays: its pid may be a running
    start's in another pid namespace sharing TMPDIR (a dev container's /tmp)."""
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    dash = shutil.which("dash") or "sh"
    lock = tmp_path / f"php-stack-{project}.lock"

    def waiting() -> subprocess.Popen[str]:
        """A start waiting for the lock's holder: its work folder made, no call under way."""
        launcher = subprocess.Popen(
            [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
        )
        assert launcher.stderr is not None
        said = ""
        while "start: waiting for another start" not in said:
            line = launcher.stderr.readline()
            assert line, said
            said += line
        return launcher

    def killed_outright() -> Path:
        """The work folder a start killed outright leaves behind."""
        before = set(tmp_path.glob("php-stack.*"))
        with waiting() as killed:
            killed.kill()
            killed.communicate(timeout=30)  # gone, not a zombie kill -0 finds
        left = set(tmp_path.glob("php-stack.*")) - before
        assert len(left) == 1, left  # the start just killed left its folder
        return left.pop()

    lock.mkdir()
    with subprocess.Popen(["sleep", "600"]) as holder:
        (lock / "pid").write_text(f"{holder.pid}\n")
        with waiting() as live:
            try:
                mine = list(tmp_path.glob("php-stack.*"))
                assert len(mine) == 1, mine
                _untouched_for_two_days(mine[0])  # its pid runs: it stays all the same
                for _ in range(3):  # each start removes the folder of the one killed before
                    _untouched_for_two_days(killed_outright())
                young = killed_outright()  # killed a moment ago: it stays
                later, fields = launch(  # one that stops: it removes them all the same
                    world, {**env, "PHP_IMAGE_REPOSITORY": world.repositories["refused"]}
                )
                assert (later.returncode, fields["decision"]) == (17, "cannot-proceed"), (
                    later.stderr
                )
                assert set(tmp_path.glob("php-stack.*")) == {*mine, young}
            finally:
                holder.kill()
                holder.wait()  # gone, not a zombie: the live start goes on, and ends
            stderr = live.communicate(timeout=120)[1]
    assert live.returncode == 0, stderr
    assert list(tmp_path.glob("php-stack.*")) == [young] and not lock.exists()


def _untouched_for_two_days(folder: Path) -> None:
    """FOLDER as a start killed outright two days ago leaves it (its mtime)."""
    then = time.time() - 2 * 86400
    os.utime(folder, (then, then))


def test_a_run_in_another_pid_namespace_never_removes_a_running_starts_work_folder(
    world: World, project: str, tmp_path: Path
) -> None:
    """TMPDIR shared with another pid namespace (a dev container or a toolbox sharing /tmp,
    two hosts sharing it on NFS): kill -0 finds no running start's pid there. A stop.sh (or
    start) run there leaves the running start's work folder, and that start goes on and
    starts; a folder untouched for a day whose pid runs nowhere it can see goes."""
    unshare = require_tool("unshare")
    if os.geteuid() != 0:
        pytest.skip("a pid namespace of its own (unshare -p) needs root")
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    dash = shutil.which("dash") or "sh"
    lock = tmp_path / f"php-stack-{project}.lock"
    lock.mkdir()
    with subprocess.Popen(["sleep", "600"]) as holder:
        (lock / "pid").write_text(f"{holder.pid}\n")
        with subprocess.Popen(
            [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
        ) as live:
            try:
                assert live.stderr is not None
                said = ""
                while "start: waiting for another start" not in said:
                    line = live.stderr.readline()
                    assert line, said
                    said += line
                mine = list(tmp_path.glob("php-stack.*"))
                assert len(mine) == 1, mine
                old = tmp_path / f"php-stack.{holder.pid}.AbC123"  # its pid runs only here
                old.mkdir()
                _untouched_for_two_days(old)
                stop = run(
                    unshare, "--pid", "--fork", "--mount-proc", dash, str(STACK / "stop.sh"),
                    env={**env, "STACK_NAME": f"{project}-other"}, check=False, timeout=120,
                )  # fmt: skip
                assert stop.returncode == 0, stop.stderr
                assert set(tmp_path.glob("php-stack.*")) == set(mine), stop.stderr
            finally:
                holder.kill()
                holder.wait()  # gone, not a zombie: the live start goes on, and ends
            stderr = said + live.communicate(timeout=120)[1]
    assert live.returncode == 0, stderr
    assert f"start: started {world.prebuilt(world.repositories['cached'])}" in stderr
    assert not list(tmp_path.glob("php-stack.*")) and not lock.exists()


#: The fix for a TMPDIR, or a lock in it, that another user may tamper with.
OWN_TMPDIR = (
    'mkdir -p -m 700 "$HOME/.cache/php-stack-tmp" && TMPDIR="$HOME/.cache/php-stack-tmp" ./start.sh'
)


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_the_lock_is_this_users_alone_and_its_pid_never_written_through_a_link(
    world: World, project: str, tmp_path: Path, shell: str
) -> None:
    """Under umask 000 the lock ($TMPDIR/php-stack-NAME.lock) is still 0700: no other user
    may put anything in it. It was 0777 there, its pid written a moment after the mkdir, and
    another user who put a link in first had a file of this user's overwritten with the pid.
    Such a link (planted here by a mkdir standing in for that user, owned by another uid) is
    never written through: the start stops, exit 17, naming it, and the file stays."""
    if os.geteuid() != 0:
        pytest.skip("a link owned by another user (chown) needs root")
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    bin_dir = tmp_path / "bin"
    shutil.copytree(world.bin_dir, bin_dir, symlinks=True)
    lock = tmp_path / f"php-stack-{project}.lock"
    victim = tmp_path / "precious.txt"
    victim.write_text("PRECIOUS\n")
    victim.chmod(0o600)
    plant = tmp_path / "plant"  # while it exists, the lock's mkdir plants the link
    (bin_dir / "mkdir").unlink()
    (bin_dir / "mkdir").write_text(
        "#!/bin/sh\n"
        f'"{shutil.which("mkdir")}" "$@" || exit\n'
        "for last; do :; done\n"
        f'if [ "$last" = "{lock}" ] && [ -e "{plant}" ]; then\n'
        f'  "{shutil.which("ln")}" -s "{victim}" "$last/pid"\n'
        f'  "{shutil.which("chown")}" -h 12345 "$last/pid"\n'
        "fi\n"
    )
    (bin_dir / "mkdir").chmod(0o755)
    modes = tmp_path / "modes"  # the lock's mode and owner while compose up runs
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        'case " $* " in *" compose "*" up "*)\n'
        f'  "{shutil.which("stat")}" -c "%a %u" "{lock}" >>"{modes}" ;;\n'
        "esac\n"
        f'exec "{world.docker}" "$@"\n'
    )
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    env["PATH"] = str(bin_dir)
    if shell != "busybox-ash":  # whose mkdir is its own applet, never one on PATH
        plant.touch()
        proc = run(
            tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False,
            preexec_fn=lambda: os.umask(0),
        )  # fmt: skip
        assert victim.read_text() == "PRECIOUS\n", proc.stderr
        assert proc.returncode == 17, proc.stderr
        assert said(proc)[-2:] == [
            f"start: error: {lock}/pid is a symbolic link this start did not make, in the lock "
            f"folder it had just made: not written through (something else writes in {tmp_path})",
            f"start: fix: see what writes in {tmp_path}, or start with a TMPDIR of your own: "
            + OWN_TMPDIR,
        ], proc.stderr
        assert not lock.exists() and not lock.is_symlink()
        assert _stack_containers(world, project) == []
        plant.unlink()
    proc = run(
        tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False,
        preexec_fn=lambda: os.umask(0),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert modes.read_text().splitlines() == ["700 0"]
    assert not lock.exists()


def test_another_users_lock_is_named_and_given_up_once_no_start_touches_it(
    world: World, project: str
) -> None:
    """A lock another user holds in a shared TMPDIR (sticky, as /tmp), which this user may
    not remove: once waited for without end, with advice to remove it that could not be
    followed. The start names its owner and waits while a start touches it (every 5 s),
    then gives it up (exit 17) once untouched for a minute: a start killed outright, or a
    folder made to block this stack, with a fix that works (a TMPDIR of one's own).

    The launcher counts that minute in naps of 0.2 s (300 of them): once it waits, a ``sleep``
    first on its PATH naps 0.02 s and writes a line a nap, so the test reads the launcher's
    clock and takes seconds, not minutes (the two mtimes it compares are real ones)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.getuid() != 0:
        pytest.skip("needs root (to run as another user) and setpriv")
    docker_group = run("getent", "group", "docker", check=False).stdout.split(":")
    if len(docker_group) < 3:
        pytest.skip("needs a docker group (for another user to reach the engine)")
    shared = Path(tempfile.mkdtemp(prefix="stack-lock-theirs-"))
    try:
        shared.chmod(0o755)
        for name in ("start.sh", "compose.yaml"):  # nobody may not read the checkout
            shutil.copy(STACK / name, shared / name)
        shutil.copy(world.pins, shared / "php-images.env")
        (shared / "php-images.env").chmod(0o644)
        scratch = shared / "tmp"  # root's, sticky: a shared /tmp
        scratch.mkdir()
        scratch.chmod(0o1777)
        home = shared / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        naps = shared / "naps"  # a line a nap of the launcher's once it waits for the lock
        naps.touch()
        naps.chmod(0o666)
        fast = shared / "bin"
        fast.mkdir()
        (fast / "sleep").write_text(
            f'#!/bin/sh\n[ -e {naps}.fast ] || exec /bin/sleep "$@"\n'
            f"echo >>{naps}\nexec /bin/sleep 0.02\n"
        )
        (fast / "sleep").chmod(0o755)
        lock = scratch / f"php-stack-{project}.lock"  # user 12345's, with its pid in it
        lock.mkdir(mode=0o700)
        (lock / "pid").write_text("1\n")
        for path in (lock, lock / "pid"):
            os.chown(path, 12345, 12345)
        env = {
            "PATH": f"{fast}:{Path(world.docker).parent}:/usr/bin:/bin",
            "HOME": str(home),
            "TMPDIR": str(scratch),
            "DOCKER_CONFIG": str(home),
            "STACK_NAME": project,
            "PHP_IMAGE_REPOSITORY": world.repositories["cached"],
            "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        }
        nobody = (setpriv, "--reuid=65534", "--regid=65534", f"--groups={docker_group[2]}")
        with subprocess.Popen(
            [*nobody, "dash", str(shared / "start.sh")], env=env, cwd=shared,
            stderr=subprocess.PIPE, text=True,
        ) as launcher:  # fmt: skip
            try:
                assert launcher.stderr is not None
                seen = ""
                while "start: waiting for" not in seen:
                    line = launcher.stderr.readline()
                    assert line, seen
                    seen += line
                assert seen.splitlines()[-1] == (
                    f"start: waiting for another start of the stack {project} to finish: its "
                    f"lock {lock} is user 12345's (waited for while a start of theirs touches it, "
                    "every 5 s; given up once untouched for a minute)"
                ), seen
                # a start of theirs running: its lock touched for more than two minutes of
                # the launcher's (two of its looks at the lock, 300 naps apart)
                Path(f"{naps}.fast").touch()
                waiting_from = len(naps.read_text())
                while len(naps.read_text()) - waiting_from < 700:
                    os.utime(lock)
                    assert launcher.poll() is None, seen + launcher.stderr.read()
                    time.sleep(0.05)
                # then gone, its lock left behind: given up within two more looks
                seen += launcher.stderr.read()
                code = launcher.wait(timeout=120)
                napped = len(naps.read_text()) - waiting_from
                assert napped <= 1300, f"given up after {napped} naps of waiting"
            finally:
                if launcher.poll() is None:
                    launcher.kill()
        assert code == 17, seen
        assert seen.splitlines()[-2:] == [
            f"start: error: the lock {lock} of the stack {project} is user 12345's, untouched "
            "for a minute: no start of theirs holds it any more (one killed outright, or a "
            "folder made to block this stack), and this user may not remove it",
            f"start: fix: ask user 12345 or root to remove it, or start with a TMPDIR of your "
            f"own: {OWN_TMPDIR}",
        ], seen
        assert lock.is_dir() and not list(scratch.glob("php-stack.*"))
        assert _stack_containers(world, project) == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.parametrize("held", ["name", "port"])
def test_a_name_or_port_held_by_another_stack_is_exit_11_with_the_fix(
    world: World, project: str, tmp_path: Path, held: str
) -> None:
    """compose up fails on a container name (a container the stack did not create) or a port
    (another stack, STACK_NAME, publishing it): exit 11, what compose said, what to do."""
    home = _vendored(world, tmp_path)
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]
    other = f"{project}-other"
    holder = f"{project}-php-1"
    try:
        if held == "port":
            port = free_port()
            compose = home / "compose.yaml"
            compose.write_text(
                compose.read_text().replace(
                    "    restart: unless-stopped\n",
                    f'    ports:\n      - "127.0.0.1:{port}:9000"\n    restart: unless-stopped\n',
                )
            )
            first, _ = launch(world, {**env, "STACK_NAME": other}, stack=home)
            assert first.returncode == 0, first.stderr
            fix = (
                f"start: fix: port {port} is taken by another stack or program: stop it "
                f"(docker ps --filter publish={port} names a container holding it), "
                f"or publish another port in {home}/compose.yaml"
            )
        else:
            run(world.docker, "create", "--name", holder, world.base, "true")
            fix = (
                f"start: fix: a container this stack did not create is named {holder}: remove "
                f"it if it is left over (docker rm -f {holder}), or set STACK_NAME to another "
                "name to run a separate stack"
            )
        proc, fields = launch(world, env, stack=home)
    finally:
        compose_down(world.docker, other)
        run(world.docker, "rm", "-f", holder, check=False)
    assert fields == {"decision": "use-prebuilt", "availability": "cached"}, proc.stderr
    assert proc.returncode == 11, proc.stderr
    assert "start: error: docker compose could not start PHP-FPM: docker compose exited with " in (
        proc.stderr
    )
    assert said(proc)[-1] == fix, proc.stderr


def test_stack_name_is_checked_with_the_settings_and_read_without_blanks(
    world: World, project: str, tmp_path: Path
) -> None:
    """STACK_NAME is a compose project name: a bad one is exit 2 before any pull or build (not
    compose's refusal after them), and the CR of an env file edited on Windows does not count,
    in start.sh and stop.sh alike."""
    env = launcher_env(
        world, project, tmp_path, STACK_NAME="Client Site", USE_PREBUILT="false",
    )  # fmt: skip
    proc, fields = launch(world, env)
    no_decision(proc, fields, None, "invalid-input")
    assert proc.returncode == 2, proc.stderr
    assert "start: error: STACK_NAME='Client Site' is not valid: use lowercase letters" in (
        proc.stderr
    )
    assert "building" not in proc.stderr
    dash = shutil.which("dash") or "sh"
    stop = run(dash, str(STACK / "stop.sh"), env=env, check=False)
    assert stop.returncode == 2, stop.stderr
    assert "STACK_NAME='Client Site' is not valid" in stop.stderr

    env = launcher_env(
        world, project, tmp_path, STACK_NAME=f" {project}\r",
        PHP_IMAGE_REPOSITORY=world.repositories["cached"],
    )  # fmt: skip
    proc, _ = launch(world, env)
    assert proc.returncode == 0, proc.stderr
    assert len(_stack_containers(world, project)) == 1
    stop = run(dash, str(STACK / "stop.sh"), env=env, check=False)
    assert stop.returncode == 0, stop.stderr
    assert _stack_containers(world, project) == []


def test_sigterm_during_a_local_build_stops_the_build_at_once(
    world: World, project: str, tmp_path: Path
) -> None:
    """SIGTERM to the launcher alone (a wrapper, an IDE's stop button) while compose builds:
    exit 143 at once, and the build is stopped with it, not run to its end first."""
    home = _vendored(world, tmp_path)
    dockerfile = home / "dockerfiles" / "8.4" / "Dockerfile"
    marker = uuid.uuid4().hex  # a step no earlier build cached
    dockerfile.write_text(dockerfile.read_text() + f"RUN echo {marker} && sleep 120\n")
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false")
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]
    dash = shutil.which("dash") or "sh"
    with subprocess.Popen(
        [dash, str(home / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
    ) as launcher:
        try:
            assert launcher.stderr is not None
            seen = ""
            while f"echo {marker}" not in seen:  # the slow step runs
                line = launcher.stderr.readline()
                assert line, seen
                seen += line
            time.sleep(1)
            stopped = time.monotonic()
            launcher.terminate()
            assert launcher.wait(timeout=20) == 143
            assert time.monotonic() - stopped < 20
        finally:
            launcher.kill()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            builds = [
                line
                for line in run("ps", "-eo", "args").stdout.splitlines()
                if project in line and " build" in line
            ]
            if not builds:
                break
            time.sleep(0.5)
        assert not builds, builds


def test_a_stack_of_another_folder_under_the_same_stack_name_is_said_to_be_replaced(
    world: World, project: str, tmp_path: Path
) -> None:
    """Two projects that vendor the stack, both with the default STACK_NAME: compose takes them
    for one stack and the second start replaces the first's PHP-FPM (its www); the launcher
    says so and how to run both, and says nothing when the same folder starts it again."""
    first = _vendored(world, tmp_path, "site-a")
    second = _vendored(world, tmp_path, "site-b")
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    del env["PHP_PINS_FILE"], env["PHP_DOCKERFILES"]
    proc, _ = launch(world, env, stack=first)
    assert proc.returncode == 0, proc.stderr
    assert "note:" not in proc.stderr
    proc, _ = launch(world, env, stack=second)
    assert proc.returncode == 0, proc.stderr
    assert said(proc)[-1] == (
        f"start: note: this replaced the stack {project} started from {first}: to run both, "
        "give each its own STACK_NAME"
    ), proc.stderr
    mounts = json.loads(
        run(
            world.docker,
            "inspect",
            "--format",
            "{{json .Mounts}}",
            *_stack_containers(world, project),
        ).stdout
    )
    assert [m["Source"] for m in mounts] == [str(second / "www")]
    proc, _ = launch(world, env, stack=second)
    assert proc.returncode == 0, proc.stderr
    assert "note:" not in proc.stderr


def test_stop_says_what_failed_and_what_to_do(world: World, project: str, tmp_path: Path) -> None:
    """stop.sh with no docker (exit 10), and with an engine that is not running (compose fails:
    exit 11 with the fix), not a shell's "not found" or compose's bare status."""
    env = launcher_env(world, project, tmp_path)
    dash = shutil.which("dash") or "sh"
    no_docker = tmp_path / "no-docker"  # a PATH with what stop.sh needs but docker
    no_docker.mkdir()
    for tool in ("sed", "grep", "readlink", "od", "awk", "tr", "wc"):
        (no_docker / tool).symlink_to(shutil.which(tool) or tool)
    stop = run(dash, str(STACK / "stop.sh"), env={**env, "PATH": str(no_docker)}, check=False)
    assert (stop.returncode, stop.stderr) == (
        10,
        "stop: error: docker is not installed (the docker command is missing)\n"
        "stop: fix: install Docker Desktop (macOS) or the docker engine and its compose plugin "
        "(Linux)\n",
    )
    stop = run(dash, str(STACK / "stop.sh"), env={**env, "DOCKER": "no-docker-here"}, check=False)
    assert (stop.returncode, stop.stderr) == (
        10,
        "stop: error: DOCKER='no-docker-here' is not an executable file: no command of that "
        "name is on PATH\n"
        "stop: fix: set DOCKER to the docker CLI's path (`command -v docker` names the one on "
        "PATH), or unset DOCKER to run docker from PATH\n",
    )
    gone = f"unix://{tmp_path}/no-engine.sock"
    stop = run(dash, str(STACK / "stop.sh"), env={**env, "DOCKER_HOST": gone}, check=False)
    assert stop.returncode == 10, stop.stderr
    assert stop.stderr.startswith(
        "stop: error: the docker engine does not answer: Cannot connect to the Docker daemon at "
        f"{gone}"
    ), stop.stderr
    assert (
        "stop: fix: start Docker Desktop, or the docker service (sudo systemctl start docker)"
        in (stop.stderr)
    )


@pytest.mark.parametrize("engine", ["gone", "answers"])
def test_stop_tells_an_engine_lost_during_compose_down_from_compose_failing(
    world: World, project: str, tmp_path: Path, engine: str
) -> None:
    """compose down failing: with the engine gone meanwhile (Docker Desktop quit) exit 10
    and the engine's fix, as start.sh says it; with the engine still answering exit 11,
    whose fix no longer says to start an engine that is running."""
    real = shutil.which("docker")
    assert real
    gone = tmp_path / "gone"
    stand_in = tmp_path / "bin" / "docker"
    stand_in.parent.mkdir()
    lost = f': >"{gone}"; ' if engine == "gone" else ""
    stand_in.write_text(
        "#!/bin/sh\n"
        f'if [ -e "{gone}" ]; then echo "Cannot connect to the Docker daemon at '
        'unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1; fi\n'
        'case "$*" in *" down") '
        f'{lost}echo "compose down failed" >&2; exit 1 ;; esac\n'
        f'exec "{real}" "$@"\n'
    )
    stand_in.chmod(0o755)
    env = {**launcher_env(world, project, tmp_path), "DOCKER": str(stand_in)}
    dash = shutil.which("dash") or "sh"
    stop = run(dash, str(STACK / "stop.sh"), env=env, check=False)
    if engine == "gone":
        assert stop.returncode == 10, stop.stderr
        assert "stop: error: the docker engine does not answer: Cannot connect" in stop.stderr
        assert "stop: fix: start Docker Desktop, or the docker service" in stop.stderr
    else:
        assert stop.returncode == 11, stop.stderr
        assert f"stop: error: docker compose could not stop the stack {project}" in stop.stderr
        assert "start Docker Desktop" not in stop.stderr, stop.stderr
        assert "compose ls --all" in stop.stderr


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_stderr_that_cannot_be_written_loses_the_messages_and_nothing_else(
    world: World, project: str, tmp_path: Path, shell: str
) -> None:
    """stderr on a full disk (2>/dev/full): the launcher's messages are lost, as with a closed
    one (2>&-), and the stack starts and stops all the same in every shell (zsh would end a
    script at a builtin's write error, exit 1)."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    env = launcher_env(world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["cached"])
    with open("/dev/full", "w") as full:
        start = subprocess.run(
            [tool, *argv[1:], str(STACK / "start.sh")], env=env, stderr=full, timeout=300
        )
        assert start.returncode == 0
        assert len(_stack_containers(world, project)) == 1
        stop = subprocess.run(
            [tool, *argv[1:], str(STACK / "stop.sh")], env=env, stderr=full, timeout=300
        )
        assert stop.returncode == 0
        assert _stack_containers(world, project) == []


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_sigpipe_its_caller_ignores_stays_ignored(
    world: World, project: str, tmp_path: Path, shell: str
) -> None:
    """A caller that ignores SIGPIPE (a CI runner, a supervisor) runs the launcher with it
    ignored, as POSIX keeps it: a stderr pipe whose reader went loses the messages, and the
    launcher ends as it would have (17, cannot proceed), not 141, in every shell (zsh would
    trap it all the same)."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["silent"],
        ALLOW_LOCAL_BUILD_FALLBACK="false",
    )  # fmt: skip
    with subprocess.Popen(
        [tool, *argv[1:], str(STACK / "start.sh")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN),
    ) as launcher:
        assert launcher.stderr is not None
        assert "pulling" in launcher.stderr.readline() + launcher.stderr.readline()
        launcher.stderr.close()  # the reader gone; the pull's answer (none, 2 s) is said next
        assert launcher.wait(timeout=60) == 17
    assert not list(tmp_path.glob("php-stack*"))


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_docker_setting_naming_no_executable_file_is_named_not_called_a_missing_install(
    shell: str, tmp_path: Path
) -> None:
    """DOCKER set to a path that is not there (a typo, a moved install), a folder, a file no
    one may execute, or a name PATH lacks: both scripts name DOCKER and its value (a control
    character shown escaped) and say to correct or unset it, exit 10, never "docker is not
    installed" with the advice to install what may well be installed."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    plain = tmp_path / "docker"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)  # no x bit: root may not execute it either
    cases = {
        str(tmp_path / "gone" / "docker"): "there is no such file",
        str(tmp_path): "it is a directory",
        str(plain): "this user may not execute it",
        "dockr": "no command of that name is on PATH",
        "dock\x1b[2Jer": "no command of that name is on PATH",
    }
    pins_file = ROOT / "tests" / "fixtures" / "records-v1" / "release-notes" / "v1.0.0.env"
    for value, why in cases.items():
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": value,
               "PHP_PINS_FILE": str(pins_file)}  # fmt: skip
        start = run(tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False)
        stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env=env, check=False)
        shown = value.replace("\x1b", "\\x1b")
        said = [
            f"error: DOCKER='{shown}' is not an executable file: {why}",
            "fix: set DOCKER to the docker CLI's path (`command -v docker` names the one on "
            "PATH), or unset DOCKER to run docker from PATH",
        ]
        assert (start.returncode, stop.returncode) == (10, 10), (value, start.stderr, stop.stderr)
        assert start.stderr.splitlines() == [
            "start: decision=none error=docker-unavailable",
            *(f"start: {line}" for line in said),
        ], value
        assert stop.stderr.splitlines() == [f"stop: {line}" for line in said], value


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_the_blanks_around_a_docker_setting_do_not_count(shell: str, tmp_path: Path) -> None:
    """DOCKER from a module's env file edited on Windows (its CR), or with a stray space, is
    read as every other setting is: without the blanks around it. Both scripts run the
    docker it names, and name one that is not there without them; blank, it is unset."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    log = tmp_path / "docker.log"
    stand_in = tmp_path / "bin" / "docker"
    stand_in.parent.mkdir()
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{log}"\n')
    stand_in.chmod(0o755)
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env={**base, "DOCKER": f" {stand_in}\r"},
               check=False)  # fmt: skip
    assert stop.returncode == 0, stop.stderr
    # the docker it names answers the engine checks stop.sh shares with start.sh, then
    # takes the compose rm (with the containers' anonymous volumes) and down
    assert log.read_text().splitlines()[-2:] == [
        "compose --project-name php-stack rm --stop --force --volumes",
        "compose --project-name php-stack down",
    ]
    pins_file = ROOT / "tests" / "fixtures" / "records-v1" / "release-notes" / "v1.0.0.env"
    env = {**base, "DOCKER": "\tdockr \r", "PHP_PINS_FILE": str(pins_file)}
    start = run(tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False)
    stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env=env, check=False)
    said = "error: DOCKER='dockr' is not an executable file: no command of that name is on PATH"
    assert (start.returncode, stop.returncode) == (10, 10), start.stderr + stop.stderr
    assert start.stderr.splitlines()[1] == f"start: {said}", start.stderr
    assert stop.stderr.splitlines()[0] == f"stop: {said}", stop.stderr
    # blank, DOCKER is unset: docker from PATH (here the stand-in)
    path = f"{stand_in.parent}:{os.environ['PATH']}"
    stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env={**base, "PATH": path, "DOCKER": " \r"},
               check=False)  # fmt: skip
    assert stop.returncode == 0, stop.stderr
    assert log.read_text().count("compose --project-name php-stack down\n") == 2


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_stop_names_an_invalid_stack_name_as_start_does(shell: str, tmp_path: Path) -> None:
    """stop.sh refuses a STACK_NAME in start.sh's words, its fix line too: the value named
    without the blanks around it (a module's env file edited on Windows) and quoted as
    resolve quotes it, not as it was given with them and no fix."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    for value in (
        " Client Site\r", "\tmy'site", 'say "hi"', "back\\slash", 'it\'s "x"',
        "site\x1b[2J\x1b[Hx",  # a terminal's clear screen: shown escaped, never sent raw
        "bell\x07", "zero\u200bwidth", "caf\u00e9",
    ):  # fmt: skip
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "STACK_NAME": value}
        start = run(tool, *argv[1:], str(STACK / "start.sh"), env=env, check=False)
        stop = run(tool, *argv[1:], str(STACK / "stop.sh"), env=env, check=False)
        assert (start.returncode, stop.returncode) == (2, 2), (value, stop.stderr)
        said = [line.removeprefix("start: ") for line in start.stderr.splitlines()[1:]]
        assert said[0].startswith("error: STACK_NAME="), start.stderr
        assert stop.stderr.splitlines() == [f"stop: {line}" for line in said], value
        assert "\x1b" not in stop.stderr and "\x07" not in stop.stderr, value


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_stop_reads_the_start_sh_next_to_it_and_refuses_an_older_one(
    shell: str, tmp_path: Path
) -> None:
    """stop.sh takes its words from the start.sh beside it (through a symlink to stop.sh
    too): without one, or beside a start.sh of an older version (which would run a whole
    start when read), it says so, exit 17, and runs nothing of it."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    home = tmp_path / "stack"
    home.mkdir()
    shutil.copy(STACK / "stop.sh", home / "stop.sh")
    link = tmp_path / "php-stack-stop"
    link.symlink_to(home / "stop.sh")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "STACK_NAME": "Bad Name"}
    fix = "stop: fix: vendor start.sh and stop.sh together, from the same publisher version"
    stop = run(tool, *argv[1:], str(link), env=env, check=False)
    assert (stop.returncode, stop.stderr.splitlines()) == (
        17,
        [
            f"stop: error: {home}/start.sh cannot be read: stop.sh reads the start.sh it came "
            "with, next to it",
            fix,
        ],
    )
    ran = tmp_path / "ran"
    (home / "start.sh").write_text(f"#!/bin/sh\ntouch '{ran}'\n")  # an older start.sh
    stop = run(tool, *argv[1:], str(link), env=env, check=False)
    assert (stop.returncode, stop.stderr.splitlines()) == (
        17,
        [
            f"stop: error: {home}/start.sh is of an older publisher version than stop.sh: "
            "stop.sh reads the start.sh it came with, next to it",
            fix,
        ],
    )
    assert not ran.exists()
    shutil.copy(STACK / "start.sh", home / "start.sh")
    stop = run(tool, *argv[1:], str(link), env=env, check=False)
    assert stop.returncode == 2, stop.stderr
    assert stop.stderr.startswith("stop: error: STACK_NAME='Bad Name' is not valid: "), stop.stderr
    # `sh stop.sh` in the stack folder: the start.sh there, not one `.` looks for on PATH
    stop = run(tool, *argv[1:], "stop.sh", env=env, check=False, cwd=home)
    assert stop.returncode == 2, stop.stderr
    assert stop.stderr.startswith("stop: error: STACK_NAME='Bad Name' is not valid: "), stop.stderr
    env["STACK_NAME"] = f"h-stack-{uuid.uuid4().hex[:8]}"  # nothing to stop: compose says so
    stop = run(tool, *argv[1:], "stop.sh", env=env, check=False, cwd=home)
    assert stop.returncode == 0, stop.stderr
    assert stop.stderr.splitlines() == [  # once: not rm's "No stopped containers" before it
        f'Warning: No resource found to remove for project "{env["STACK_NAME"]}".'
    ], stop.stderr


def _self_finding_loop(script: str) -> str:
    text = (STACK / script).read_text()
    start = text.index("script=$0 hops=0\n")
    return text[start : text.index("\ndone\n", start)]


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_the_scripts_find_their_folder_through_a_symlinked_folder(
    shell: str, tmp_path: Path
) -> None:
    """bin/php-stack -> ../stack/start.sh reached through a symlink to bin/ itself: the
    link's ../stack is read from bin/ (where the system reads it), not from the symlinked
    folder's parent, in both scripts (one loop, the same text in each); a folder it cannot
    enter is named in the error."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    assert _self_finding_loop("start.sh") == _self_finding_loop("stop.sh")
    shutil.copytree(STACK, tmp_path / "stack", ignore=shutil.ignore_patterns("README.md"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "php-stack").symlink_to("../stack/start.sh")
    (tmp_path / "bin" / "php-stack-stop").symlink_to("../stack/stop.sh")
    (tmp_path / "deep" / "a").mkdir(parents=True)
    (tmp_path / "deep" / "a" / "ln").symlink_to(tmp_path / "bin")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "STACK_RELEASE": "x"}
    start = run(tool, *argv[1:], "deep/a/ln/php-stack", env=env, cwd=tmp_path, check=False)
    assert start.returncode == 2, start.stderr  # the setting is read: the folder was found
    assert start.stderr.startswith("start: decision=none error=invalid-input\n"), start.stderr
    assert "STACK_RELEASE='x' is not valid" in start.stderr
    env = {**env, "STACK_NAME": "Bad Name"}
    stop = run(tool, *argv[1:], "deep/a/ln/php-stack-stop", env=env, cwd=tmp_path, check=False)
    assert stop.returncode == 2, stop.stderr  # it read the start.sh beside it
    assert stop.stderr.startswith("stop: error: STACK_NAME='Bad Name' is not valid: ")
    if shell == "zsh":
        return  # zsh's $0 in a sourced file is that file's path: the -c trick below is sh's
    nowhere = tmp_path / "gone"
    lost = run(
        tool, *argv[1:], "-c", f". '{tmp_path}/stack/start.sh'", f"{nowhere}/start.sh",
        env=env, check=False,
    )  # fmt: skip
    assert (lost.returncode, lost.stderr.splitlines()) == (
        17,
        [
            "start: decision=none error=file-access",
            f"start: error: cannot enter the launcher's folder {nowhere}: there is no such folder",
            "start: fix: let this user enter that folder (`ls -ld` on it shows who may), or run "
            "start.sh by its own path in the stack folder it came in",
        ],
    ), lost.stderr


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_the_scripts_refuse_arguments_and_show_their_header_for_help(
    shell: str, tmp_path: Path
) -> None:
    """Their settings are environment variables: ``./start.sh 8.3`` would have started the
    default line, so an argument is invalid input (exit 2, the decision=none line, a fix
    naming the variable), and ``--help`` or ``-h`` prints the header, through a symlink too."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    link = tmp_path / "php-stack"
    link.symlink_to(STACK / "start.sh")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    # --help followed by more is no request for help: it once printed the header, exit 0
    for args in (("8.3",), ("--help", "8.3"), ("-h", "8.3", "extra")):
        refused = run(tool, *argv[1:], str(STACK / "start.sh"), *args, env=env, check=False)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stdout == ""
        assert refused.stderr.splitlines() == [
            "start: decision=none error=invalid-input",
            "start: error: start.sh takes no arguments ('8.3' given): its settings are "
            "environment variables",
            "start: usage: [SETTING=value ...] ./start.sh, or ./start.sh --help",
            "start: fix: set them before the command, e.g. PHP_VERSION=8.3 ./start.sh; "
            "./start.sh --help lists them",
        ], args
    for script, flag in ((link, "--help"), (STACK / "start.sh", "-h")):
        shown = run(tool, *argv[1:], str(script), flag, env=env, check=False)
        assert shown.returncode == 0 and shown.stderr == "", shown.stderr
        assert shown.stdout.startswith("Start the stack's PHP-FPM with docker"), shown.stdout
        assert "  PHP_VERSION   " in shown.stdout and "Exit status:" in shown.stdout
        assert "#" not in shown.stdout.split("\n", 1)[0] and "set -u" not in shown.stdout
    for args in (("other",), ("--help", "other")):
        stop = run(tool, *argv[1:], str(STACK / "stop.sh"), *args, env=env, check=False)
        assert stop.returncode == 2 and stop.stdout == "", (args, stop.stderr)
        assert "stop: error: stop.sh takes no arguments ('other' given)" in stop.stderr
        assert "stop: usage: [STACK_NAME=name] ./stop.sh, or ./stop.sh --help" in stop.stderr
        assert "STACK_NAME=other ./stop.sh" in stop.stderr
    help_ = run(tool, *argv[1:], str(STACK / "stop.sh"), "--help", env=env, check=False)
    assert help_.returncode == 0 and help_.stdout.startswith("Stop what ./start.sh started")
    # examples, as start.sh's --help gives them: the default stack, and another by its name
    assert "\n  ./stop.sh  " in help_.stdout, help_.stdout
    assert "\n  STACK_NAME=other ./stop.sh  " in help_.stdout, help_.stdout


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_a_copy_with_crlf_line_ends_says_so_before_anything_else(
    shell: str, tmp_path: Path
) -> None:
    """A copy checked out with CRLF line ends (git's core.autocrlf=true, in a repository
    without this one's .gitattributes): sh once stopped at ``set: Illegal option -`` (exit
    2, no decision line); each script now says what is wrong and how to mend it."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    for name in ("start.sh", "stop.sh"):
        (tmp_path / name).write_bytes((STACK / name).read_bytes().replace(b"\n", b"\r\n"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    for name in ("start.sh", "stop.sh"):
        me = name.removesuffix(".sh")
        proc = run(tool, *argv[1:], str(tmp_path / name), env=env, check=False, cwd=tmp_path)
        assert proc.returncode == 17, proc.stderr
        assert proc.stderr.splitlines() == [
            *(["start: decision=none error=file-access"] if me == "start" else []),
            f"{me}: error: {tmp_path / name} has CRLF (Windows) line ends, which sh cannot run "
            "(a checkout with git's core.autocrlf=true?)",
            f"{me}: fix: give start.sh and stop.sh LF line ends (dos2unix start.sh stop.sh), "
            "and keep them so: '*.sh text eol=lf' in the .gitattributes of the repository "
            "that holds them",
        ], proc.stderr


def test_a_checkout_with_autocrlf_keeps_the_lf_files_lf(tmp_path: Path) -> None:
    """The repository's .gitattributes: a clone with core.autocrlf=true (Windows, WSL) still
    checks the launcher, the pins files, the Dockerfiles and their template out with LF."""
    git = require_tool("git")
    names = [
        ".gitattributes",
        "examples/stack/start.sh",
        "examples/stack/stop.sh",
        "tests/fixtures/records-v1/release-notes/v1.0.0.env",
        "examples/offline/dockerfiles/8.4/Dockerfile",
        "dockerfiles/Dockerfile.j2",
    ]
    source = tmp_path / "source"
    for name in names:
        assert (ROOT / name).is_file(), name
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    quiet = ("-c", "user.name=t", "-c", "user.email=t@example.invalid")
    run(git, "init", "-q", str(source))
    run(git, "-C", str(source), "add", ".")
    run(git, "-C", str(source), *quiet, "commit", "-q", "-m", "files")
    clone = tmp_path / "clone"
    run(git, "-c", "core.autocrlf=true", "clone", "-q", "--config", "core.autocrlf=true",
        str(source), str(clone))  # fmt: skip
    for name in names:
        assert b"\r" not in (clone / name).read_bytes(), name


def as_nobody(
    world: World, project: str, locked: str, use_prebuilt: str, **settings: str
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], Path]:
    """start.sh (dash) and the vendored resolve.py run as nobody (in the docker group) on a
    copy of the stack whose Dockerfile only root may read (``locked="file"``), or sits in a
    folder only root may search (``"folder"``) or list (``"listing"``: the Dockerfile is
    readable, its build context is not), the registry refusing connections: their
    processes, and the Dockerfile's path."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.getuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to run as another user), setpriv and /usr/bin/python3")
    docker_group = run("getent", "group", "docker", check=False).stdout.split(":")
    if len(docker_group) < 3:
        pytest.skip("needs a docker group (for another user to reach the engine)")
    shared = Path(tempfile.mkdtemp(prefix="stack-dockerfile-eacces-"))
    try:
        shared.chmod(0o755)
        for name in ("start.sh", "compose.yaml"):  # nobody may not read the checkout
            shutil.copy(STACK / name, shared / name)
        shutil.copy(RESOLVE, shared / "resolve.py")
        shutil.copy(world.pins, shared / "php-images.env")
        (shared / "php-images.env").chmod(0o644)
        scratch = shared / "tmp"
        scratch.mkdir()
        scratch.chmod(0o1777)
        folder = shared / "dockerfiles" / "8.4"
        folder.mkdir(parents=True)
        (shared / "dockerfiles").chmod(0o755)
        dockerfile = folder / "Dockerfile"
        shutil.copy(DOCKERFILES / "8.4" / "Dockerfile", dockerfile)
        dockerfile.chmod(0o600 if locked == "file" else 0o644)
        folder.chmod({"file": 0o755, "folder": 0o700, "listing": 0o711}[locked])
        nobody = (
            setpriv, "--reuid=65534", "--regid=65534", f"--groups={docker_group[2]}",
        )  # fmt: skip
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            "DOCKER_CONFIG": str(scratch),
            "STACK_NAME": project,
            "PHP_DOCKERFILES": str(shared / "dockerfiles"),
            "USE_PREBUILT": use_prebuilt,
            "PHP_IMAGE_REPOSITORY": world.repositories["refused"],
            "STACK_REGISTRY_TIMEOUT": "2",
            **settings,
        }
        proc = run(*nobody, "dash", str(shared / "start.sh"), env=env, check=False, cwd=shared)
        answer = run(
            *nobody, "/usr/bin/python3", str(shared / "resolve.py"), "--format", "json",
            "--pins", str(shared / "php-images.env"), env=env, check=False, cwd=shared,
        )  # fmt: skip
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    return proc, answer, dockerfile


@pytest.mark.parametrize(
    ("locked", "use_prebuilt", "fallback"),
    [
        ("file", "false", "true"),
        ("folder", "false", "true"),
        ("file", "true", "true"),
        ("file", "true", "false"),
        ("folder", "true", "false"),
    ],
    ids=["file", "folder", "file-fallback", "file-no-fallback", "folder-no-fallback"],
)
def test_a_dockerfile_this_user_may_not_read_is_said_so_by_both_with_a_fix(
    world: World, project: str, locked: str, use_prebuilt: str, fallback: str
) -> None:
    """Run as nobody (in the docker group), a Dockerfile only root may read (or one in a
    folder only root may search) is cannot-proceed (exit 17) in the same words from both
    tools, as an unreadable pins file is: the launcher once started a build that failed in
    compose (exit 11, no word of permission), or called the Dockerfile missing; resolve
    decided to build (exit 16) what could not be built."""
    # an earlier start's local build needs no Dockerfile: both start it instead (below)
    run(world.docker, "rmi", "-f", world.local, check=False)
    proc, answer, dockerfile = as_nobody(
        world, project, locked, use_prebuilt, ALLOW_LOCAL_BUILD_FALLBACK=fallback
    )
    decision = json.loads(answer.stdout) if answer.stdout.startswith("{") else {}
    availability = "none" if use_prebuilt == "false" else "unreachable"
    fields = decision_fields(proc.stderr)
    assert fields == {"decision": "cannot-proceed", "availability": availability}, proc.stderr
    assert (proc.returncode, answer.returncode) == (17, 17), proc.stderr + answer.stderr
    said = f"the Dockerfile for PHP 8.4 at {dockerfile} cannot be read: Permission denied"
    if fallback == "false":  # enabling the fallback alone would not build it (either lock)
        said = (
            "to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to "
            f"the directory holding <X.Y>/Dockerfile ({said})"
        )
        assert said in decision["fix"] and f"{said}\n" in proc.stderr, answer.stderr + proc.stderr
        assert "to build locally from" not in proc.stderr + answer.stdout
        return
    fix = (
        "give this user read access to it (and search access to its folders), or set "
        "PHP_DOCKERFILES to a copy it can read"
    )
    assert decision["reason"].endswith(said) and decision["fix"].endswith(fix), answer.stderr
    assert f"{said}\nstart: fix: " in proc.stderr and f"{fix}\n" in proc.stderr, proc.stderr
    if use_prebuilt == "false":  # no registry's words in them: the same lines
        assert f"start: why: {decision['reason']}\n" in proc.stderr, proc.stderr
        assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    assert "building" not in proc.stderr  # no build was started


@pytest.mark.parametrize(
    ("use_prebuilt", "fallback"),
    [("false", "true"), ("true", "true"), ("true", "false")],
    ids=["local", "fallback", "no-fallback"],
)
def test_a_build_context_this_user_may_not_list_is_said_so_by_both_with_a_fix(
    world: World, project: str, use_prebuilt: str, fallback: str
) -> None:
    """Run as nobody (in the docker group), a readable Dockerfile in a folder (its build
    context) this user may search but not list: docker cannot send that context, so no
    build. Both tools said it buildable, and the launcher then failed in compose (exit 11,
    `open ...: permission denied`); now both say it up front, cannot-proceed (exit 17), in
    the same words and with the fix an unreadable Dockerfile gets."""
    run(world.docker, "rmi", "-f", world.local, check=False)
    proc, answer, dockerfile = as_nobody(
        world, project, "listing", use_prebuilt, ALLOW_LOCAL_BUILD_FALLBACK=fallback
    )
    decision = json.loads(answer.stdout) if answer.stdout.startswith("{") else {}
    availability = "none" if use_prebuilt == "false" else "unreachable"
    fields = decision_fields(proc.stderr)
    assert fields == {"decision": "cannot-proceed", "availability": availability}, proc.stderr
    assert (proc.returncode, answer.returncode) == (17, 17), proc.stderr + answer.stderr
    said = (
        f"the build context for PHP 8.4 at {dockerfile.parent} (the Dockerfile's folder) "
        "cannot be read: Permission denied"
    )
    fix = (
        "give this user read access to it (and search access to its folders), or set "
        "PHP_DOCKERFILES to a copy it can read"
    )
    if fallback == "false":
        said = (
            "to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to "
            f"the directory holding <X.Y>/Dockerfile ({said})"
        )
        assert said in decision["fix"] and f"{said}\n" in proc.stderr, answer.stderr + proc.stderr
    else:
        assert decision["reason"].endswith(said) and decision["fix"].endswith(fix), answer.stderr
        assert f"{said}\nstart: fix: " in proc.stderr and f"{fix}\n" in proc.stderr, proc.stderr
    if use_prebuilt == "false":
        assert f"start: why: {decision['reason']}\n" in proc.stderr, proc.stderr
        assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    assert "building" not in proc.stderr  # no build was started


@pytest.mark.parametrize("locked", ["file", "folder", "listing"])
def test_an_earlier_local_build_starts_though_its_dockerfile_may_not_be_read(
    world: World, project: str, tmp_path: Path, locked: str
) -> None:
    """A fallback takes an earlier start's local build without its Dockerfile (as it does
    without its base): a Dockerfile this user may not read, or below a folder it may not
    search, stops neither tool then; both choose that build (exit 16 naming it, the
    launcher starting it). resolve once said cannot-proceed (exit 17) where the launcher
    started the build for an unreadable file, and both stopped for a locked folder."""
    earlier_local_build(world, project, tmp_path)
    try:
        proc, answer, _ = as_nobody(world, project, locked, "true")
        decision = json.loads(answer.stdout) if answer.stdout.startswith("{") else {}
        fields = decision_fields(proc.stderr)
        assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        assert decision["image"] == world.local, answer.stderr
        assert decision["build"] is False, answer.stderr  # started as it is: PHP_BUILD=0
        using = (
            f"; using the local build {world.local} from an earlier start "
            "(ALLOW_LOCAL_BUILD_FALLBACK=true; remove it to rebuild)"
        )
        assert decision["reason"].endswith(using), answer.stderr  # the launcher's words
        assert f"{using}\n" in proc.stderr, proc.stderr
        assert "building" not in proc.stderr  # started, not built
        assert running_image(world.docker, project)["RepoTags"] == [world.local]
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", world.local, check=False)


def on_a_32_bit_arm_engine(
    world: World, project: str, tmp_path: Path, **extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], subprocess.CompletedProcess[str]]:
    """resolve and the launcher, the fallback off, on a docker engine that says linux/arm
    (``extra``: more settings): both stop, platform-missing (exit 17). resolve's answer and
    decision, and the launcher's run."""
    engine = EngineVersion("linux/arm")
    env = launcher_env(
        world, project, tmp_path, ALLOW_LOCAL_BUILD_FALLBACK="false",
        DOCKER_HOST=f"tcp://{engine.host}", **extra,
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
    finally:
        engine.close()
    assert fields == {"decision": "cannot-proceed", "availability": "platform-missing"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (17, 17), answer.stderr + proc.stderr
    return answer, decision, proc


def test_a_32_bit_arm_engine_is_linux_arm_in_both(
    world: World, project: str, tmp_path: Path
) -> None:
    """A 32-bit ARM docker engine says linux/arm (`docker version`); both tools name the
    platform so, never armv7l or arm/v7 (resolve read armv7l from `uname -m` on such a
    machine's own engine), and both find it missing from the pins, in the same words."""
    answer, decision, proc = on_a_32_bit_arm_engine(world, project, tmp_path)
    assert decision["platform"] == "linux/arm", answer.stderr
    said = f"has no linux/arm image (it has: {HOST}; pins file)"
    assert said in decision["reason"] and said in proc.stderr, proc.stderr
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr


def test_a_32_bit_arm_engine_under_docker_default_platform_is_advised_no_platform_refused(
    world: World, project: str, tmp_path: Path
) -> None:
    """DOCKER_DEFAULT_PLATFORM set on a 32-bit ARM engine (linux/arm): both tools note the
    platform as emulated, in the same words, and never advise PHP_IMAGE_PLATFORM=linux/arm,
    which both refuse (exit 2): they say no image is built for that engine instead. Both
    once advised it as the engine's own platform, to run natively."""
    answer, decision, proc = on_a_32_bit_arm_engine(
        world, project, tmp_path, DOCKER_DEFAULT_PLATFORM=OTHER_SPELLED
    )
    note = (
        f"platform {OTHER} (DOCKER_DEFAULT_PLATFORM; emulated on this linux/arm engine, which "
        "no PHP-FPM image is built for: they are linux/amd64 and linux/arm64 only)"
    )
    assert decision["note"] == note, answer.stderr
    assert f"start: note: {note}\n" in proc.stderr, proc.stderr
    assert f"start: fix: {decision['fix']}\n" in proc.stderr, proc.stderr
    for said in (answer.stderr, proc.stderr):
        assert "PHP_IMAGE_PLATFORM=linux/arm " not in said.replace(")", " "), said


@pytest.mark.parametrize("given", ["PHP_IMAGE_PLATFORM", "DOCKER_DEFAULT_PLATFORM"])
def test_a_local_build_for_another_platform_is_not_reused_for_this_one(
    world: World, project: str, tmp_path: Path, given: str
) -> None:
    """A local build made for one platform (PHP_IMAGE_PLATFORM=linux/arm64 under emulation,
    or DOCKER_DEFAULT_PLATFORM) is not the image for another, though its tag names no
    platform: asked for the engine's own platform next (PHP_IMAGE_PLATFORM, which wins over
    a DOCKER_DEFAULT_PLATFORM still set), with the registry out of reach, both tools build
    for it instead of taking the earlier build (each checks the cached local image's
    platform, as the pre-built image's; a guard: neither took it before)."""
    run(world.docker, "rmi", "-f", world.local, check=False)
    # written with a variant, as docker reads it too (compose refused the build for it)
    env = launcher_env(world, project, tmp_path, USE_PREBUILT="false", **{given: OTHER_SPELLED})
    proc, _ = launch(world, env)
    assert proc.returncode == 0, proc.stderr
    assert f"({OTHER})" in proc.stderr, proc.stderr
    compose_down(world.docker, project)
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["refused"],
        PHP_IMAGE_PLATFORM=HOST, DOCKER_DEFAULT_PLATFORM=OTHER_SPELLED,
    )  # fmt: skip
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        assert "falling back to a local build" in decision["reason"], answer.stderr
        assert "falling back to a local build" in proc.stderr, proc.stderr
        image = running_image(world.docker, project)
        assert f"{image['Os']}/{image['Architecture']}" == HOST
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", world.local, check=False)


def test_cache_check_false_builds_anew_in_both_not_the_earlier_local_build(
    world: World, project: str, tmp_path: Path
) -> None:
    """PHP_IMAGE_CACHE_CHECK=false looks in the image store for nothing, an earlier start's
    local build neither: with the registry out of reach both tools build anew, in the same
    words. The launcher once asked for the base, then started the earlier build anyway
    ("using the local build"), where resolve said to build (exit 16, PHP_BUILD=1)."""
    earlier_local_build(world, project, tmp_path)
    env = launcher_env(
        world, project, tmp_path, PHP_IMAGE_REPOSITORY=world.repositories["refused"],
        PHP_IMAGE_CACHE_CHECK="false",
    )  # fmt: skip
    answer, decision = resolve(env, tmp_path)
    proc, fields = launch(world, env)
    assert fields == {"decision": "build-locally", "availability": "unreachable"}, proc.stderr
    assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
    assert decision["build"] is True, answer.stderr  # built anew: PHP_BUILD=1
    building = f"; falling back to a local build of {world.local} from"
    assert building in decision["reason"] and building in proc.stderr, proc.stderr
    assert "using the local build" not in proc.stderr


@pytest.mark.parametrize("use_prebuilt", [True, False], ids=["prebuilt", "local"])
def test_cache_check_false_builds_on_a_base_in_the_image_store_its_registry_cannot_give(
    world: World, project: str, tmp_path: Path, use_prebuilt: bool
) -> None:
    """PHP_IMAGE_CACHE_CHECK=false asks the base's registry first; when that one is down,
    the base in the local image store still serves the local build, in both tools, as
    compose builds on it. Both once stopped, saying the base "is not in the local image
    store" and to pull it once while online, exit 17."""
    name, digest = world.base.split("@")
    relay = TcpRelay(world.registry.host)  # the base's registry, pulled from once, then gone
    base = f"{relay.host}/{name.split('/', 1)[1]}@{digest}"
    try:
        run(world.docker, "pull", "--platform", HOST, base)
    finally:
        relay.close()
    pins_file = tmp_path / f"{RELEASE}.env"
    pins_file.write_text(pins.render(_record(world.repositories["refused"], world.digest, base)))
    local = f"localhost/{world.path}:{PIN}-base-{digest[7:19]}"
    env = launcher_env(
        world, project, tmp_path, PHP_PINS_FILE=str(pins_file), PHP_IMAGE_CACHE_CHECK="false",
        USE_PREBUILT=str(use_prebuilt).lower(),
    )  # fmt: skip
    run(world.docker, "rmi", "-f", local, check=False)
    try:
        answer, decision = resolve(env, tmp_path)
        proc, fields = launch(world, env)
        availability = "unreachable" if use_prebuilt else "none"
        assert fields == {"decision": "build-locally", "availability": availability}, proc.stderr
        assert (answer.returncode, proc.returncode) == (16, 0), answer.stderr + proc.stderr
        assert decision["build"] is True, answer.stderr
        assert decision["image"] == local, answer.stderr
        assert "cannot work either" not in answer.stderr + proc.stderr
        assert running_image(world.docker, project)["RepoTags"] == [local], proc.stderr
    finally:
        compose_down(world.docker, project)
        run(world.docker, "rmi", "-f", local, base, check=False)


@pytest.mark.parametrize(
    ("given", "named"),
    [("/.", "/"), ("/./", "/"), ("//.", "//"), ("//./", "//"), (".", "/"), ("./", "/")],
)
def test_the_root_s_dot_is_named_alike_by_both(tmp_path: Path, given: str, named: str) -> None:
    """A PHP_PINS_FILE of the root's '.' (as given, or '.' in the root as the working
    directory): resolve (pathlib) names the root, '/' (or '//', which POSIX lets mean
    something else); the launcher said '/.' (and '//.'), so each named another file."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE, "PHP_PINS_FILE": given}
    assert not Path(f"/{RELEASE}.env").exists()
    answer, _ = resolve(env, Path("/"))
    proc = run(shutil.which("dash") or "sh", str(STACK / "start.sh"), env=env, cwd="/", check=False)
    assert (answer.returncode, proc.returncode) == (3, 3), answer.stderr + proc.stderr
    said = f"error: {named}{RELEASE}.env: pins file not found"
    assert answer.stderr.splitlines()[1] == said, answer.stderr
    assert f"start: {said}" in proc.stderr.splitlines(), proc.stderr
    same_words(answer.stderr, proc.stderr)


def held_engine(held: str) -> tuple[UnixRelay, Path]:
    """The docker engine through a relay that never passes on a request whose first line
    matches ``held``: an engine that stops answering part-way (a stuck Docker Desktop)."""
    folder = Path(tempfile.mkdtemp(prefix="engine-"))  # a unix socket's path is short
    return UnixRelay(str(folder / "docker.sock"), held=held), folder


def test_compose_up_on_an_engine_that_stops_answering_is_exit_10_at_its_deadline(
    world: World, project: str, tmp_path: Path
) -> None:
    """compose up waiting on an engine that took its request and never answers (the
    network's creation) is stopped at STACK_PULL_TIMEOUT (up may pull phpMyAdmin): exit 10,
    naming the engine and the DOCKER_HOST asked, not a launcher waiting forever."""
    engine, folder = held_engine(r"^POST /\S*/networks/create")
    env = launcher_env(
        world, project, tmp_path, DOCKER_HOST=f"unix://{engine.host}", STACK_PULL_TIMEOUT="4"
    )
    began = time.monotonic()
    try:
        proc, fields = launch(world, env, timeout=40)
        assert engine.holding.is_set(), proc.stderr
    finally:
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert time.monotonic() - began < 40
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 10, proc.stderr
    assert said(proc)[-2:] == [
        "start: error: the docker engine does not answer: docker compose up did not finish "
        "within 4 s (STACK_PULL_TIMEOUT)",
        "start: fix: restart Docker Desktop, or the docker service (sudo systemctl restart "
        "docker), until `docker version` answers; the engine asked is the one DOCKER_HOST "
        f"names (unix://{engine.host}): unset DOCKER_HOST to ask the default one; an engine "
        "that is only slow (a large pull) needs STACK_PULL_TIMEOUT above 4 s",
    ], proc.stderr
    assert "Terminated" not in proc.stderr


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
def test_compose_down_on_an_engine_that_stops_answering_is_exit_10_at_its_deadline(
    shell: str, tmp_path: Path
) -> None:
    """stop.sh's compose calls (rm, then down) waiting on an engine that never answers them
    are stopped at STACK_COMPOSE_TIMEOUT: exit 10 naming the engine, as its header promises."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    engine, folder = held_engine(r"^GET /\S*/containers/json")
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
        "STACK_NAME": f"h-stack-{uuid.uuid4().hex[:8]}", "DOCKER_HOST": f"unix://{engine.host}",
        "STACK_COMPOSE_TIMEOUT": " 2\r",
    }  # fmt: skip
    began = time.monotonic()
    try:
        stop = run(*argv, str(STACK / "stop.sh"), env=env, check=False, timeout=40)
        assert engine.holding.is_set(), stop.stderr
    finally:
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert time.monotonic() - began < 20
    assert stop.returncode == 10, stop.stderr
    assert stop.stderr.splitlines()[-2:] == [
        "stop: error: the docker engine does not answer: docker compose rm did not finish "
        "within 2 s (STACK_COMPOSE_TIMEOUT)",
        "stop: fix: restart Docker Desktop, or the docker service (sudo systemctl restart "
        "docker), until `docker version` answers; the engine asked is the one DOCKER_HOST "
        f"names (unix://{engine.host}): unset DOCKER_HOST to ask the default one; an engine "
        "that is only slow needs STACK_COMPOSE_TIMEOUT above 2 s",
    ], stop.stderr
    assert "Terminated" not in stop.stderr
    env["STACK_COMPOSE_TIMEOUT"] = "soon"
    stop = run(*argv, str(STACK / "stop.sh"), env=env, check=False)
    assert stop.returncode == 2, stop.stderr
    assert stop.stderr.startswith("stop: error: STACK_COMPOSE_TIMEOUT='soon' is not valid: ")


def test_a_credential_helper_compose_cannot_find_is_named_with_its_fix(
    world: World, project: str, tmp_path: Path
) -> None:
    """Docker Desktop's credsStore whose helper is not on PATH (a launch from a GUI or an
    IDE): compose's pull of phpMyAdmin fails naming docker-credential-desktop, and the fix
    says so, not to remove what the stack left behind."""
    env = launcher_env(world, project, tmp_path)
    proc, _ = launch(world, env)  # the pre-built image here: the launcher pulls nothing below
    assert proc.returncode == 0, proc.stderr
    compose_down(world.docker, project)
    config = tmp_path / "docker-config" / "config.json"
    config.write_text('{\n  "auths": {},\n  "credsStore": "desktop"\n}\n')
    pma = f"{world.registry.host}/absent-{uuid.uuid4().hex[:8]}/phpmyadmin:5.2"
    proc, fields = launch(world, {**env, "PMA_IMAGE": pma})
    assert fields["decision"] == "use-prebuilt", proc.stderr
    assert proc.returncode == 11, proc.stderr
    assert "docker-credential-desktop" in said(proc)[-2], proc.stderr
    assert said(proc)[-1] == (
        "start: fix: the credential helper docker-credential-desktop, which the docker config "
        f"({config}) names (credsStore or credHelpers), is not on PATH: add its folder to PATH "
        "(Docker Desktop's bin folder, e.g. /Applications/Docker.app/Contents/Resources/bin), "
        "or remove it from the docker config"
    ), proc.stderr


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
@pytest.mark.parametrize("where", ["DOCKER_CONTEXT", "currentContext"])
def test_a_docker_context_that_does_not_exist_is_named_with_its_fix(
    world: World, shell: str, where: str, tmp_path: Path
) -> None:
    """DOCKER_CONTEXT, or the docker config's currentContext, naming a context that is not
    there (colima removed): the fix names it and how to ask another engine, not to start
    Docker Desktop."""
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
        "DOCKER_CONFIG": str(config), "STACK_NAME": f"h-stack-{uuid.uuid4().hex[:8]}",
        "PHP_PINS_FILE": str(world.pins),
    }  # fmt: skip
    if where == "DOCKER_CONTEXT":
        env["DOCKER_CONTEXT"] = "colima"
        fix = (
            "set DOCKER_CONTEXT to one `docker context ls` lists, or unset DOCKER_CONTEXT to ask "
            "the default engine"
        )
    else:
        (config / "config.json").write_text('{"currentContext": "colima"}\n')
        fix = "`docker context ls` lists those there are: `docker context use default` (or another) asks an engine there is"
    for script in ("start", "stop"):
        proc = run(*argv, str(STACK / f"{script}.sh"), env=env, check=False)
        assert proc.returncode == 10, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith(f"{script}: ")]
        assert lines[-2].startswith(f"{script}: error: the docker engine does not answer: "), lines
        assert 'context "colima": context not found' in lines[-2], lines
        assert (
            lines[-1] == f"{script}: fix: the docker context colima ({where}) does not exist: {fix}"
        )


@pytest.mark.parametrize("shell", ["dash", *SHELLS])
@pytest.mark.parametrize("where", ["HOME", "DOCKER_CONFIG"])
@pytest.mark.parametrize("cli", ["debian", "newest"])
def test_a_docker_config_folder_this_user_may_not_read_is_named_not_compose_missing(
    shell: str, where: str, cli: str
) -> None:
    """A ~/.docker root left behind (a `sudo -E` run with this HOME, mode 0700): docker then
    loads no plugin, so `docker compose` is a command it does not know (the newest docker
    warns that it cannot load its config file; Debian's 26 says nothing). Both scripts once
    said compose v2 was missing, with a fix (a link in that folder) this user could not make.
    They name the folder, its owner and mode, docker's words when it said any, and a fix
    that works."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.getuid() != 0:
        pytest.skip("needs root (to run as another user) and setpriv")
    docker = docker_cli() if cli == "debian" else newest_docker_cli()
    if cli == "newest" and docker == docker_cli():
        pytest.skip("one docker CLI here")
    argv = ("dash",) if shell == "dash" else SHELLS[shell]
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed (scripts/setup-machine installs it)"
    shared = Path(tempfile.mkdtemp(prefix="stack-docker-config-"))
    try:
        shared.chmod(0o755)
        for name in ("start.sh", "stop.sh", "compose.yaml"):  # nobody may not read the checkout
            shutil.copy(STACK / name, shared / name)
        pins_file = ROOT / "tests" / "fixtures" / "records-v1" / "release-notes" / "v1.0.0.env"
        shutil.copy(pins_file, shared / "php-images.env")
        (shared / "php-images.env").chmod(0o644)
        scratch = shared / "tmp"
        scratch.mkdir()
        scratch.chmod(0o1777)
        home = shared / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        config = home / ".docker" if where == "HOME" else shared / "docker-config"
        config.mkdir(mode=0o700)  # root's
        (config / "config.json").write_text("{}\n")
        env = {"PATH": f"{Path(docker).parent}:/usr/bin:/bin", "HOME": str(home),
               "TMPDIR": str(scratch)}  # fmt: skip
        if where == "DOCKER_CONFIG":
            env["DOCKER_CONFIG"] = str(config)
        nobody = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
        start = run(*nobody, tool, *argv[1:], str(shared / "start.sh"), env=env, check=False)
        stop = run(*nobody, tool, *argv[1:], str(shared / "stop.sh"), env=env, check=False)
        docker_said = run(*nobody, docker, "compose", "version", env=env, check=False).stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    words = f"Error loading config file: open {config}/config.json: permission denied"
    if f"WARNING: {words}" not in docker_said:
        assert cli == "debian", docker_said  # the newest docker says it
        words = ""
    lines = [
        f"error: docker cannot read its config folder {config} (user root's, drwx------), so "
        "it loads none of its plugins, compose neither" + (f": {words}" if words else ""),
        f'fix: give the folder back to this user: sudo chown -R "$USER" "{config}" (a root '
        "run with this user's HOME, such as sudo -E, leaves it root's)",
    ]
    assert (start.returncode, stop.returncode) == (10, 10), start.stderr + stop.stderr
    assert said(start) == [
        "start: decision=none error=docker-unavailable",
        *(f"start: {line}" for line in lines),
    ], start.stderr
    assert [line for line in stop.stderr.splitlines() if line.startswith("stop: ")] == [
        f"stop: {line}" for line in lines
    ], stop.stderr


def test_a_tmpdir_ending_in_a_slash_names_the_lock_without_a_double_slash(
    world: World, project: str, tmp_path: Path
) -> None:
    """TMPDIR as macOS sets it (ending in '/'): a start waiting for another one names the lock
    folder as one path, not with '//' in it."""
    lock = tmp_path / f"php-stack-{project}.lock"
    lock.mkdir()
    (lock / "pid").write_text(f"{os.getpid()}\n")  # held by a live process
    env = launcher_env(world, project, tmp_path, TMPDIR=f"{tmp_path}/")
    dash = shutil.which("dash") or "sh"
    with subprocess.Popen(
        [dash, str(STACK / "start.sh")], env=env, stderr=subprocess.PIPE, text=True
    ) as launcher:
        assert launcher.stderr is not None
        seen = ""
        while "start: waiting for" not in seen:
            line = launcher.stderr.readline()
            if not line:
                break
            seen += line
        launcher.terminate()
        seen += launcher.stderr.read()
        assert launcher.wait(timeout=30) == 143, seen
    assert f"(remove {lock} if none is running)" in seen, seen
    assert "//" not in seen, seen


@pytest.mark.parametrize("where", ["DOCKER_CONTEXT", "currentContext"])
def test_a_docker_context_whose_engine_never_answers_is_named_in_the_fix(
    where: str, tmp_path: Path
) -> None:
    """A docker context (colima's, a remote one) whose engine takes the connection and never
    answers: the fix names the context and how to ask the default engine."""
    silent = Silent()
    config = tmp_path / "docker-config"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
        "DOCKER_CONFIG": str(config), "STACK_NAME": f"h-stack-{uuid.uuid4().hex[:8]}",
    }  # fmt: skip
    try:
        run(docker_cli(), "context", "create", "stuck", "--docker", f"host=tcp://{silent.host}",
            env=env)  # fmt: skip
        if where == "DOCKER_CONTEXT":
            env["DOCKER_CONTEXT"] = "stuck"
            how = "unset DOCKER_CONTEXT to ask the default engine"
        else:
            run(docker_cli(), "context", "use", "stuck", env=env)
            how = "`docker context use default` asks the default engine"
        stop = run(shutil.which("dash") or "sh", str(STACK / "stop.sh"), env=env, check=False)
    finally:
        silent.close()
    assert stop.returncode == 10, stop.stderr
    assert stop.stderr.splitlines()[-1] == (
        "stop: fix: restart Docker Desktop, or the docker service (sudo systemctl restart "
        "docker), until `docker version` answers; the engine asked is the docker context "
        f"stuck's ({where}): `docker context ls` lists the contexts, and {how}"
    ), stop.stderr


def test_a_docker_config_holding_a_byte_that_is_not_utf8_is_read_under_a_utf8_locale(
    tmp_path: Path,
) -> None:
    """A docker config with a Latin-1 byte before its currentContext, read under C.UTF-8 (as
    the docker CLI reads it): sed there would stop at the byte; the fix names the context."""
    silent = Silent()
    config = tmp_path / "docker-config"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
        "DOCKER_CONFIG": str(config), "STACK_NAME": f"h-stack-{uuid.uuid4().hex[:8]}",
        "LC_ALL": "C.UTF-8",
    }  # fmt: skip
    try:
        run(docker_cli(), "context", "create", "stuck", "--docker", f"host=tcp://{silent.host}",
            env=env)  # fmt: skip
        (config / "config.json").write_bytes(
            b'{"psFormat": "caf\xe9", "currentContext": "stuck"}\n'
        )
        stop = run(shutil.which("dash") or "sh", str(STACK / "stop.sh"), env=env, check=False)
    finally:
        silent.close()
    assert stop.returncode == 10, stop.stderr
    assert stop.stderr.splitlines()[-1].endswith(
        "; the engine asked is the docker context stuck's (currentContext): `docker context ls` "
        "lists the contexts, and `docker context use default` asks the default engine"
    ), stop.stderr


_LOCALES = {"C": {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}}


@pytest.mark.parametrize("locale", ["C", "ISO-8859-1"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PHP_VERSION", "8.\u00fc"),
        ("PHP_VERSION", "\u00fc" * 70),  # cut short on a character, not inside one
        ("PHP_VERSION", "8.\u00fc\udcff"),  # a byte that is not UTF-8: \xff in both
        ("PHP_PINS_FILE", "{tmp}/\u00fc dir/none.env"),
    ],
    ids=["accent", "long", "byte-ff", "path"],
)
def test_a_value_or_path_is_written_as_its_bytes_alike_by_both_in_every_locale(
    tmp_path: Path, latin1_locale: dict[str, str], locale: str, name: str, value: str
) -> None:
    """Under LC_ALL=C and ISO-8859-1, where Python decodes the environment's bytes another
    way, resolve writes a value or path it names as its UTF-8 bytes, as start.sh does in
    every locale: the same error and tip lines, byte for byte (not "\\xfc", "\\u00fc" or
    "\\xc3\\xbc", nor a "ü" cut in half)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER": "/bin/false"}
    env |= {"PHP_VERSION": "8.4", "STACK_RELEASE": RELEASE}
    env |= {name: value.format(tmp=tmp_path)}
    env |= latin1_locale if locale == "ISO-8859-1" else _LOCALES[locale]
    said = {}
    for tool in (
        [sys.executable, str(RESOLVE)],
        [shutil.which("dash") or "sh", str(STACK / "start.sh")],
    ):
        proc = subprocess.run(
            tool, env=env, cwd=tmp_path, capture_output=True, timeout=60, check=False
        )
        said[tool[1]] = proc
    answer, launcher = said[str(RESOLVE)], said[str(STACK / "start.sh")]
    assert answer.returncode == launcher.returncode != 0, (answer.stderr, launcher.stderr)
    lines = answer.stderr.splitlines()
    error, tip = lines[1], lines[2].removeprefix(b"  tip: ")
    assert error.startswith(b"error: "), answer.stderr
    assert b"start: " + error in launcher.stderr.splitlines(), (answer.stderr, launcher.stderr)
    assert b"start: fix: " + tip in launcher.stderr.splitlines(), (answer.stderr, launcher.stderr)
    assert b"\\u00fc" not in answer.stderr and b"\xfc" not in answer.stderr, answer.stderr
    assert "\u00fc".encode() in error, answer.stderr
