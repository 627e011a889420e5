"""Builders behind one interface: buildx, buildah, docker.

``select_builder(name, runner)`` returns a checked builder: the named one, or by
default buildx when it is installed, else the first available of buildah and
docker. See ``base.py`` for the request/output contract (push by digest, never
under a scratch tag).
"""

from __future__ import annotations

import os

from ...core.errors import ConfigError, ToolMissingError
from ...core.platforms import BuilderName
from ..runner import INSTALL_HINTS, Runner
from .base import (
    ARG_BASE,
    ARG_CREATED,
    ARG_RELEASE,
    ARG_REVISION,
    Builder,
    BuildOutput,
    BuildRequest,
    Login,
)
from .buildah import BuildahBuilder
from .buildx import BuildxBuilder, cache_backend
from .docker import DockerBuilder

__all__ = [
    "ARG_BASE",
    "ARG_CREATED",
    "ARG_RELEASE",
    "ARG_REVISION",
    "BuildOutput",
    "BuildRequest",
    "BuildahBuilder",
    "Builder",
    "BuilderName",
    "BuildxBuilder",
    "DockerBuilder",
    "Login",
    "create_builder",
    "select_builder",
]

#: Default preference: buildx when installed, else the first available of these.
PREFERENCE = (BuilderName.BUILDX, BuilderName.BUILDAH, BuilderName.DOCKER)


def create_builder(name: BuilderName, runner: Runner) -> Builder:
    """An unchecked builder of kind ``name``."""
    if name is BuilderName.BUILDX:
        return BuildxBuilder(runner)
    if name is BuilderName.BUILDAH:
        return BuildahBuilder(runner)
    return DockerBuilder(runner)


def select_builder(
    name: BuilderName | str | None,
    runner: Runner,
    *,
    check: bool = True,
) -> Builder:
    """The builder to use, checked up front (tool present, version recent enough).

    ``name`` None picks buildx when installed, else buildah, else docker; a
    missing named builder raises ToolMissingError saying how to install it.
    """
    if isinstance(name, str):
        try:
            name = BuilderName.parse(name)
        except ValueError as exc:
            raise ConfigError(
                str(exc),
                field="--builder",
                hint=f"pass one of {', '.join(BuilderName)}, or leave --builder out to use the "
                "first of them installed",
            ) from None
    # PUBLISHER_BUILD_CACHE names buildx's cache; a mistyped value is bad input whichever
    # builder runs (README, exit codes), refused before any request, never ignored.
    cache_backend(getattr(runner, "env", None) or os.environ)
    if name is not None:
        builder = create_builder(name, runner)
    else:
        candidates = [create_builder(n, runner) for n in PREFERENCE]
        found = next((b for b in candidates if b.available()), None)
        if found is None:
            raise ToolMissingError(
                "no image builder found: publisher needs docker buildx, buildah or docker",
                hint="; or ".join(INSTALL_HINTS[t] for t in ("buildah", "docker", "docker-buildx")),
            )
        builder = found
    if check:
        version = builder.check()
        runner.output.progress(f"builder: {builder.name} ({version})")
    return builder
