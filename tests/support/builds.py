"""Helpers shared by the build and stand-in integration tests (not a test module)."""

from __future__ import annotations

import shutil
import subprocess

from publisher.adapters.output import Output
from publisher.adapters.runner import Runner


def quiet_runner() -> Runner:
    return Runner(output=Output(env={}, quiet=True))


def forget_images(host: str) -> None:
    """Remove images pulled from ``host`` (a test registry) from buildah and docker storage."""
    buildah = shutil.which("buildah")
    if buildah:
        listed = subprocess.run(
            [buildah, "images", "--format", "{{.ID}} {{.Name}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        ids = sorted({ln.split()[0] for ln in listed.splitlines() if f" {host}/" in ln})
        if ids:
            subprocess.run([buildah, "rmi", "-f", *ids], capture_output=True, check=False)
    docker = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
    if docker:
        listed = subprocess.run(
            [docker, "images", "--digests", "--format", "{{.ID}} {{.Repository}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        ids = sorted({ln.split()[0] for ln in listed.splitlines() if f" {host}/" in ln})
        if ids:
            subprocess.run([docker, "image", "rm", "-f", *ids], capture_output=True, check=False)
