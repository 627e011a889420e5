"""Helpers shared by the build and stand-in integration tests (not a test module)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from publisher.adapters.builders.buildah import forget_registry
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from tests.conftest import require_tool


def quiet_runner() -> Runner:
    return Runner(output=Output(env={}, quiet=True))


@contextmanager
def image_registry(*tools: str) -> Iterator[LocalRegistry]:
    """A registry for the images a test builds, whose pulled images are forgotten after.

    The registry binary and each of ``tools`` must be on PATH (``require_tool``).
    """
    require_tool("docker-registry", "registry")
    for tool in tools:
        require_tool(tool)
    with LocalRegistry() as reg:
        yield reg
    forget_images(reg.host)


def listed_lines(argv: list[str]) -> list[str]:
    """The lines ``argv`` (a buildah or docker listing) prints; a listing can fail now and
    then while other buildah processes on the machine add and remove images and
    containers ("image not known"), so it is asked again."""
    for _ in range(10):
        listed = subprocess.run(argv, capture_output=True, text=True, check=False)
        if listed.returncode == 0:
            return listed.stdout.splitlines()
        time.sleep(0.2)
    raise AssertionError(f"{argv} failed: {listed.stderr}")


def forget_images(host: str) -> None:
    """Remove the names of the images pulled from ``host`` (a test registry) from buildah's
    storage (as a rehearsal does: ``forget_registry``) and docker's. An image that holds
    other names too (the same stand-in base, pulled by another test process from its own
    registry) only loses these, and one a container uses is kept: another process's
    build or smoke test goes on."""
    forget_registry(quiet_runner(), host, os.environ)
    docker = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
    if docker is None:
        return
    ids = subprocess.run([docker, "images", "--all", "--quiet"], capture_output=True, text=True)
    if not ids.stdout.split():
        return
    each = "{{range .RepoTags}}{{println .}}{{end}}{{range .RepoDigests}}{{println .}}{{end}}"
    names = subprocess.run(  # all of an image's: `docker images` hides some beside a tag
        [docker, "image", "inspect", "--format", each, *sorted(set(ids.stdout.split()))],
        capture_output=True,
        text=True,
    )
    ours = sorted({name for name in names.stdout.split() if name.startswith(f"{host}/")})
    if ours:
        subprocess.run([docker, "image", "rm", *ours], capture_output=True, check=False)
