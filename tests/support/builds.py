"""Helpers shared by the build and stand-in integration tests (not a test module)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


def _ids_from(tool: str, listing: list[str], host: str) -> list[str]:
    """IDs of the images ``tool`` lists (``ID NAME`` lines) that came from ``host``."""
    listed = subprocess.run([tool, *listing], capture_output=True, text=True, check=False).stdout
    return sorted({ln.split()[0] for ln in listed.splitlines() if f" {host}/" in ln})


def forget_images(host: str) -> None:
    """Remove images pulled from ``host`` (a test registry) from buildah and docker storage."""
    buildah = shutil.which("buildah")
    if buildah and (ids := _ids_from(buildah, ["images", "--format", "{{.ID}} {{.Name}}"], host)):
        subprocess.run([buildah, "rmi", "-f", *ids], capture_output=True, check=False)
    docker = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
    listing = ["images", "--digests", "--format", "{{.ID}} {{.Repository}}"]
    if docker and (ids := _ids_from(docker, listing, host)):
        subprocess.run([docker, "image", "rm", "-f", *ids], capture_output=True, check=False)
