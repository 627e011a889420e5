"""Builders behind one interface: buildx, buildah, docker.

``select_builder(name, runner)`` returns a checked builder: the named one, or by
default the first of buildx, buildah and docker that is installed and works here
(one passed over is said, with why). See ``base.py`` for the request/output
contract (push by digest, never under a scratch tag).
"""

from __future__ import annotations

import os

from ...core.errors import ConfigError, ToolMissingError
from ...core.platforms import BuilderName
from ..runner import INSTALL_HINTS, Runner
from . import dockercli
from .base import (
    ARG_BASE,
    ARG_CREATED,
    ARG_RELEASE,
    ARG_REVISION,
    NOTHING_BUILT,
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

#: Default preference: the first of these installed that works (``first_working``).
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

    ``name`` None picks the first of buildx, buildah and docker installed that works
    (``first_working``); a missing named builder raises ToolMissingError saying how to
    install it.
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
    if name is None:
        return first_working(runner, check=check)
    builder = create_builder(name, runner)
    if check:
        version = builder.check()
        runner.output.progress(f"builder: {builder.name} ({version})")
    return builder


def first_working(runner: Runner, *, check: bool = True) -> Builder:
    """The automatic choice: the first builder of ``PREFERENCE`` installed here that
    works (``check``). One installed that does not (a broken buildx plugin, a docker
    daemon out of reach) is passed over for the next, in a line saying why and that
    naming it shows its error; when none works, one error says each one's reason and
    what to do, and no tip offers one of them (``dockercli.offering_none``)."""
    installed = [b for b in (create_builder(n, runner) for n in PREFERENCE) if b.available()]
    if not installed:
        raise ToolMissingError(
            "no image builder found: publisher needs docker buildx, buildah or docker",
            hint="; or ".join(INSTALL_HINTS[t] for t in ("buildah", "docker", "docker-buildx")),
        )
    if not check:
        return installed[0]
    failed: list[tuple[Builder, ToolMissingError]] = []
    for builder in installed:
        try:
            with dockercli.offering_none(b.name for b in installed):
                version = builder.check()
        except ToolMissingError as exc:
            failed.append((builder, exc))
            continue
        for passed, error in failed:
            why = error.message.removesuffix(f"; {NOTHING_BUILT}")
            runner.output.progress(
                f"builder: {passed.name} passed over: {why}; `--builder {passed.name}` shows "
                "the error and what to do"
            )
        runner.output.progress(f"builder: {builder.name} ({version})")
        return builder
    if len(failed) == 1:
        raise failed[0][1]
    tips: dict[str, list[str]] = {}  # one tip said once, for each builder it is for
    for builder, error in failed:
        if error.hint:
            tips.setdefault(error.hint, []).append(builder.name)
    raise type(failed[0][1])(
        "no builder works here: "
        + "; ".join(f"{b.name}: {e.message.removesuffix(f'; {NOTHING_BUILT}')}" for b, e in failed)
        + f"; {NOTHING_BUILT}",
        hint="; ".join(f"for {' and '.join(who)}: {hint}" for hint, who in tips.items()),
    )
