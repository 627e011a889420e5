"""The docker builder: the daemon's own BuildKit, no buildx needed.

``DOCKER_BUILDKIT=1 docker build --platform P -f F --build-arg ... -t LOCALNAME
CONTEXT``, then ``docker save -o ARCHIVE LOCALNAME``; the archive is converted
in Python to a single-platform OCI image layout (``layout.py``) that the build
stage pushes by digest. The local image and the archive are removed afterwards.

The CLI is the first one (on PATH, then /usr/bin, /usr/local/bin) that can run
a BuildKit build without buildx and reaches its daemon (see ``dockercli.py``). The daemon pulls the
base image itself: it treats 127.0.0.0/8 registries as insecure; any other
plain-HTTP registry must be listed in the daemon's ``insecure-registries``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ...core.errors import BrokenToolError, ToolMissingError
from ...core.platforms import BuilderName
from ..emulation import emulation_advice, require_emulation
from ..runner import INSTALL_HINTS, Runner
from . import dockercli
from .base import (
    BuildOutput,
    BuildRequest,
    build_arg_flags,
    failed_build_hint,
    label_flags,
    plain_rebuild_args,
    require_version,
)
from .layout import checked_output, docker_archive_to_layout

MIN_VERSION = (20, 10, 0)
BUILD_ENV = {"DOCKER_BUILDKIT": "1"}


def build_argv(request: BuildRequest, local_name: str, *, docker: str = "docker") -> list[str]:
    """``docker build`` for one (line, platform); run it with DOCKER_BUILDKIT=1."""
    return [
        docker,
        "build",
        "--platform",
        request.platform.value,
        "-f",
        str(request.dockerfile),
        *build_arg_flags(request.buildkit_args),
        *label_flags(request.labels),
        "-t",
        local_name,
        str(request.context),
    ]


def rebuild_argv(request: BuildRequest, *, docker: str = "docker") -> list[str]:
    """``docker build`` of ``request.rebuilt`` that only builds it, its whole output in
    plain text: the command a failed build's tip names (``failed_build_hint``)."""
    return [
        "env",
        *(f"{key}={value}" for key, value in BUILD_ENV.items()),
        docker,
        "build",
        *plain_rebuild_args(request),
    ]


def archive_path(request: BuildRequest) -> Path:
    return request.work_dir / f"{request.slug}.docker.tar"


def save_argv(request: BuildRequest, local_name: str, *, docker: str = "docker") -> list[str]:
    return [docker, "save", "-o", str(archive_path(request)), local_name]


def rmi_argv(local_name: str, *, docker: str = "docker") -> list[str]:
    return [docker, "image", "rm", local_name]


@dataclass
class DockerBuilder:
    runner: Runner
    #: The docker CLI to use; found by probing when None.
    docker: str | None = None
    name: BuilderName = BuilderName.DOCKER
    _version: str | None = field(default=None, repr=False)

    def available(self) -> bool:
        return bool(dockercli.candidates(self.runner))

    def _cli(self) -> str:
        """The first docker CLI (on PATH, then the usual places) that can run a BuildKit
        build without buildx and reaches its daemon (``dockercli.reach_daemon``, as the
        smoke test's engine chooses its own)."""
        if self.docker:
            return self.docker
        clis = dockercli.probe_all(self.runner)
        if not clis:
            raise ToolMissingError(
                "docker is required but was not found", hint=INSTALL_HINTS["docker"]
            )
        usable = [c for c in clis if c.builtin_buildkit]
        if not usable:
            found = ", ".join(
                f"{c.path} ({'.'.join(map(str, c.client_version)) if c.client_version else '?'})"
                for c in clis
            )
            raise ToolMissingError(
                f"no docker CLI here can run a BuildKit build without buildx (found {found})",
                hint="install the buildx plugin (then use --builder buildx) or a docker 20.10 CLI; "
                + INSTALL_HINTS["docker-buildx"],
            )
        daemon = dockercli.reach_daemon(self.runner, (c.path for c in usable))
        if daemon.version is None:
            other = dockercli.installed_builders(self.runner, BuilderName.BUILDAH)
            raise BrokenToolError(
                f"the docker daemon is not reachable from {daemon.cli}: {daemon.said}",
                hint=dockercli.daemon_hint(daemon.said) + (f"; or use {other}" if other else ""),
            )
        self.docker = daemon.cli
        return self.docker

    def check(self) -> str:
        docker = self._cli()
        # Exit status 1 when the daemon is down, with the client's version printed all the same.
        client = self.runner.probe([docker, "version", "--format", "{{.Client.Version}}"])
        version = require_version(
            "docker", client.stdout, MIN_VERSION, INSTALL_HINTS["docker"], path=docker
        )
        return f"docker {'.'.join(map(str, version))} ({docker})"

    def commands(self, request: BuildRequest) -> tuple[tuple[str, ...], ...]:
        docker = self.docker or "docker"
        name = request.local_name("RANDOM")
        return (
            ("env", "DOCKER_BUILDKIT=1", *build_argv(request, name, docker=docker)),
            tuple(save_argv(request, name, docker=docker)),
            tuple(rmi_argv(name, docker=docker)),
        )

    def build(self, request: BuildRequest) -> BuildOutput:
        start = time.monotonic()
        require_emulation(request.platform)
        docker = self._cli()
        request.work_dir.mkdir(parents=True, exist_ok=True)
        local_name = request.local_name(uuid.uuid4().hex[:12])
        archive = archive_path(request)
        try:
            with emulation_advice(request.platform):
                self.runner.run(
                    build_argv(request, local_name, docker=docker),
                    env=BUILD_ENV,
                    what=f"docker build (PHP {request.php}, {request.platform})",
                    hint=failed_build_hint(request, rebuild_argv(request, docker=docker)),
                )
            self.runner.run(
                save_argv(request, local_name, docker=docker),
                what=f"docker save (PHP {request.php}, {request.platform})",
            )
        finally:  # also after a failed or interrupted build: it may have tagged the image
            self.runner.cleanup(rmi_argv(local_name, docker=docker))
        try:
            digest = docker_archive_to_layout(archive, request.layout_dir)
        finally:
            archive.unlink(missing_ok=True)
        return checked_output(self.name, request, digest, started=start)
