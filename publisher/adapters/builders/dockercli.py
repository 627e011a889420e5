"""Finding a docker CLI that can do what a builder needs.

Machines often carry more than one ``docker``: e.g. a distribution's 20.10 CLI
in /usr/bin and a newer one first on PATH. From Docker 23 on, a CLI refuses
``DOCKER_BUILDKIT=1 docker build`` unless the buildx plugin is installed, while
a 20.10 CLI uses the daemon's built-in BuildKit. So we probe each candidate
(first the one on PATH, then the usual locations) instead of trusting PATH.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import ConfigError, clip
from ...core.fileio import home_dir, link_beside, temp_dir
from ...core.platforms import BuilderName
from ...resolve import (
    DOCKER_HUB_API,
    DOCKER_HUB_CONFIG_KEY,
    DockerConfigError,
    api_host,
    read_docker_config,
)
from ..runner import Completed, Runner
from .base import Login, log_in, parse_version

#: Where docker CLIs usually live, tried after the one first on PATH.
WELL_KNOWN = ("/usr/bin/docker", "/usr/local/bin/docker")

#: The first CLI major version that needs buildx for BuildKit builds.
BUILDX_REQUIRED_FROM = 23


@dataclass(frozen=True)
class DockerCli:
    path: str
    client_version: tuple[int, int, int] | None
    buildx_version: str | None
    #: Why its buildx plugin, installed, does not work (``buildx_problem``); None when it
    #: works or is not there.
    buildx_problem: str | None = None

    @property
    def builtin_buildkit(self) -> bool:
        """Can ``DOCKER_BUILDKIT=1 docker build`` run with this CLI?"""
        return builtin_buildkit_ok(self.client_version, self.buildx_version is not None)


def builtin_buildkit_ok(client_version: tuple[int, int, int] | None, has_buildx: bool) -> bool:
    """Pure rule: CLIs before 23 use the daemon's BuildKit; later ones need buildx."""
    if has_buildx:
        return True
    return client_version is not None and client_version[0] < BUILDX_REQUIRED_FROM


def candidates(runner: Runner) -> list[str]:
    """Distinct docker CLIs: the one on PATH first, then the well-known locations."""
    found: list[str] = []
    seen: set[str] = set()
    for name in ("docker", *WELL_KNOWN):
        path = runner.which(name)
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        found.append(path)
    return found


#: What a docker CLI says of a command it does not have (20.10 to 26: "'buildx' is not a
#: docker command."; 27 on: "unknown command: docker buildx").
NOT_A_COMMAND = re.compile(r"is not a docker command|unknown command")


def invalid_plugin(help_text: str, name: str) -> str | None:
    """Why ``docker --help`` (``help_text``) lists plugin ``name`` under "Invalid Plugins:"
    (``buildx      failed to fetch metadata: exit status 1``), or None: not listed there.
    A plugin there is installed but cannot run: the CLI says it is no command at all."""
    listed = False
    for line in help_text.splitlines():
        if not line.strip():
            listed = False
        elif not line.startswith(" "):
            listed = line.strip() == "Invalid Plugins:"
        elif listed:
            plugin, _, why = line.strip().partition(" ")
            if plugin == name:
                return why.strip() or "invalid"
    return None


def buildx_problem(runner: Runner, path: str, answer: Completed) -> str | None:
    """Why the buildx plugin of the docker CLI ``path`` does not work, from ``answer``
    (its ``docker buildx version``); None when it works, or is not installed: the CLI
    then says buildx is no command of its own and lists no invalid plugin of that name."""
    if answer.ok:
        return None if answer.stdout.strip() else "`docker buildx version` printed no version"
    said = answer.output.strip()
    if NOT_A_COMMAND.search(said):
        return invalid_plugin(runner.probe([path, "--help"]).stdout, "buildx")
    lines = said.splitlines()
    return f"`docker buildx version` failed with exit status {answer.returncode}" + (
        f": {clip(lines[-1], 200)}" if lines else " and printed nothing"
    )


def probe(runner: Runner, path: str) -> DockerCli:
    """Ask one CLI for its version and whether its buildx plugin works."""
    version = runner.probe([path, "version", "--format", "{{.Client.Version}}"])
    buildx = runner.probe([path, "buildx", "version"])
    return DockerCli(
        path=path,
        client_version=parse_version(version.stdout),
        buildx_version=buildx.stdout.strip() if buildx.ok and buildx.stdout.strip() else None,
        buildx_problem=buildx_problem(runner, path, buildx),
    )


def probe_all(runner: Runner) -> list[DockerCli]:
    return [probe(runner, path) for path in candidates(runner)]


#: Builders a tip may not offer, however installed (``offering_none``).
_NOT_OFFERED: contextvars.ContextVar[frozenset[BuilderName]] = contextvars.ContextVar(
    "not_offered", default=frozenset()
)


@contextlib.contextmanager
def offering_none(names: Iterable[BuilderName]) -> Iterator[None]:
    """While builders are checked one after the other (``first_working``), no tip offers
    one of ``names``: when none works, each was found broken by the same run."""
    token = _NOT_OFFERED.set(_NOT_OFFERED.get() | frozenset(names))
    try:
        yield
    finally:
        _NOT_OFFERED.reset(token)


def installed_builders(runner: Runner, *names: BuilderName) -> str:
    """Those of the builders ``names`` that can build here, as a tip offers them
    (``--builder buildah / --builder docker``), or "": a tip never offers a builder
    that is not installed, nor one the run checks as well (``offering_none``). buildah:
    on PATH; buildx: a docker CLI with a working buildx plugin; docker: a docker CLI
    that builds with BuildKit without it."""
    clis: list[DockerCli] | None = None
    found = []
    for name in names:
        if name in _NOT_OFFERED.get():
            continue
        if name is BuilderName.BUILDAH:
            there = runner.which("buildah") is not None
        else:
            clis = probe_all(runner) if clis is None else clis
            there = any(
                c.buildx_version if name is BuilderName.BUILDX else c.builtin_buildkit for c in clis
            )
        if there:
            found.append(f"--builder {name}")
    return " / ".join(found)


@dataclass(frozen=True)
class Daemon:
    """What a docker CLI's daemon answered: its version, or (``version`` None) the last
    line the CLI said instead."""

    cli: str
    version: str | None
    said: str = ""


def reach_daemon(runner: Runner, paths: Iterable[str]) -> Daemon:
    """The first of the docker CLIs ``paths`` that reaches its daemon (a CLI of its own
    may point elsewhere: DOCKER_HOST in a wrapper, a context), with the daemon's version;
    else the last one's answer, its ``version`` None (``cli`` empty: no CLI at all). The
    docker builder and the docker smoke engine choose their CLI with it."""
    answer = Daemon("", None, "no docker CLI")
    for path in paths:
        server = runner.probe([path, "version", "--format", "{{.Server.Version}}"])
        if server.ok and parse_version(server.stdout) is not None:
            return Daemon(path, server.stdout.strip())
        lines = server.output.strip().splitlines()
        answer = Daemon(path, None, clip(lines[-1], 300) if lines else "no answer")
    return answer


def daemon_hint(said: str) -> str:
    """What to do when a docker CLI's daemon did not answer, by what the CLI ``said``: a
    socket that refuses this user (its "permission denied") wants the docker group, not
    a daemon started, which runs."""
    if "permission denied" in said.lower():
        return (
            "this user may not use the docker daemon's socket: join the docker group "
            '(`sudo usermod -aG docker "$USER"`, then log out and in again) or run as root'
        )
    return "start dockerd (`systemctl start docker`), check DOCKER_HOST"


def login_argv(registry_host: str, username: str, *, docker: str = "docker") -> list[str]:
    """``docker login``; the password goes to stdin, never argv."""
    return [docker, "login", "--username", username, "--password-stdin", registry_host]


def config_key(host: str) -> str:
    """The key `docker login HOST` files the credentials under in config.json."""
    return DOCKER_HUB_CONFIG_KEY if api_host(host) == DOCKER_HUB_API else host


#: The throwaway docker configs holding credentials (``fileio.temp_dir``: a run killed
#: with SIGKILL leaves its own, which the next run removes).
DOCKER_CONFIG_PREFIX = "publisher-docker-config-"


def seeded_config(user: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Pure: the config.json of a throwaway docker config that logs in as ``key``: the
    user's ``user`` config as it is (its ``credHelpers`` and ``credsStore`` by name, the
    other registries' ``auths`` entries as written there, every other setting), so that
    a build's ``FROM`` a private base is pulled as the user's docker would pull it; but
    ``key`` is given no helper and an empty entry, so that `docker login` keeps its
    password in this file, never in the user's credential store or helper (nor in the
    platform's store docker picks for a config holding no credentials at all)."""
    config = dict(user)
    helpers = user.get("credHelpers")
    auths = user.get("auths")
    config["credHelpers"] = {**(helpers if isinstance(helpers, dict) else {}), key: ""}
    config["auths"] = {**(auths if isinstance(auths, dict) else {}), key: {}}
    return config


@contextlib.contextmanager
def logged_in_config(
    runner: Runner, host: str, creds: Login | None, *, docker: str = "docker"
) -> Iterator[dict[str, str]]:
    """The environment for docker commands that need ``creds`` on ``host``: a throwaway
    ``DOCKER_CONFIG`` logged in through stdin, which keeps the user's other files (contexts,
    plugins) by link and the rest of their config.json (``seeded_config``: helpers, stores,
    other registries' logins) but never touches it; ``{}`` (the user's own) without
    credentials. Removed afterwards."""
    if creds is None:
        yield {}
        return
    env = getattr(runner, "env", None) or os.environ
    original = Path(env.get("DOCKER_CONFIG") or home_dir(env) / ".docker")
    try:
        user = read_docker_config(original / "config.json")
    except DockerConfigError as exc:  # as a run that reads it first says it
        raise ConfigError(exc.message, source=exc.source, hint=exc.hint) from None
    with temp_dir(DOCKER_CONFIG_PREFIX) as tmp:
        link_beside(original, tmp, but="config.json")
        seed = tmp / "config.json"
        with open(os.open(seed, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            json.dump(seeded_config(user, config_key(host)), handle)
        config_env = {"DOCKER_CONFIG": str(tmp)}
        log_in(runner, login_argv(host, creds.username, docker=docker), creds, env=config_env)
        yield config_env
