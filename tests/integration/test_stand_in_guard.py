"""Images built FROM stand-in bases are never published as a real release.

A matrix without ``stand_in: true`` whose base mirror serves the STAND-IN bases (busybox,
not PHP) builds images that inherit their bases' ``dev.publisher.stand-in=true`` label.
The images are the truth, not the matrix: ``release`` refuses such a build before it is
pushed, and ``publish`` refuses records of such images (built elsewhere, by a builder
that pushed them itself) before any index is pushed or tag written; exit 3, the error
naming the image, its base and the label, the tip the base mirror or ``stand_in``.
Real registries, real buildah builds (linux/amd64 only, to stay quick), skopeo reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml

from publisher.adapters.localregistry import LocalRegistry
from publisher.resolve import STAND_IN_IMAGES
from publisher.stages import standins
from tests.conftest import require_tool
from tests.support.builds import quiet_runner
from tests.support.pipeline import Stack, skopeo_tags

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINES = ("8.4",)
RELEASE = "v3.0.0"


@pytest.fixture(scope="module")
def bases() -> Iterator[LocalRegistry]:
    """The STAND-IN bases of the test line, on their own registry (the base mirror)."""
    require_tool("skopeo")
    require_tool("buildah")
    require_tool("docker-registry", "registry")
    with LocalRegistry() as reg:
        standins.push_standins(reg.host, runner=quiet_runner(), lines=LINES)
        yield reg


Registries = Callable[..., LocalRegistry]


def amd64_stack(
    root: Path, bases: LocalRegistry, fresh_registry: Registries, *, stand_in: bool
) -> tuple[Stack, LocalRegistry, LocalRegistry]:
    """A one-line stack on linux/amd64 with fresh registries, ``stand_in`` as given,
    its Dockerfile rendered for it."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = Stack(root, hub.host, ghcr.host, bases.host, repo="acme/php-fpm", lines=LINES)
    set_matrix(stack, stand_in=stand_in)
    rendered = subprocess.run(
        [sys.executable, "-m", "publisher", "render", "--config", str(stack.matrix)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    return stack, hub, ghcr


def set_matrix(stack: Stack, *, stand_in: bool) -> None:
    data = yaml.safe_load(stack.matrix.read_text(encoding="utf-8"))
    data["stand_in"] = stand_in
    data["platforms"] = ["linux/amd64"]
    data["source_url"] = "https://github.com/acme/php-fpm"
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def repositories(registry: LocalRegistry) -> list[str]:
    found = requests.get(f"http://{registry.host}/v2/_catalog", timeout=10)
    found.raise_for_status()
    return list(found.json().get("repositories") or [])


def assert_refused(run: subprocess.CompletedProcess[str], stack: Stack, bases: str) -> str:
    assert run.returncode == 3, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert f"{stack.matrix}: stand_in: PHP 8.4 linux/amd64, built on " in said, said
    assert f"{bases}/stand-in/php:8.4-fpm-alpine@sha256:" in said, said
    assert (
        f"is a STAND-IN image ({STAND_IN_IMAGES}): it carries the label dev.publisher.stand-in=true"
        in said
    ), said
    assert "not PHP" not in said, said  # a stand-in may hold PHP (Debian's)
    assert "yet the matrix does not say stand_in: true" in said, said
    assert f"the base mirror {bases} (base.mirror in matrix.yaml, or PUBLISHER_BASE_MIRROR)" in said
    assert "set `stand_in: true`" in said, said
    assert "Published" not in said, said
    return said


def test_a_release_built_on_stand_in_bases_is_refused_before_its_images_are_pushed(
    tmp_path: Path, bases: LocalRegistry, fresh_registry: Registries
) -> None:
    stack, hub, ghcr = amd64_stack(tmp_path / "s", bases, fresh_registry, stand_in=False)
    run = stack.run("release", RELEASE, "--notes-dir", str(stack.notes_dir))
    said = assert_refused(run, stack, bases.host)
    assert "the image was not pushed and no tag written" in said, said
    assert repositories(hub) == [] and repositories(ghcr) == []
    assert not stack.notes_dir.exists() or not any(stack.notes_dir.iterdir())


def test_publishing_records_of_images_built_on_stand_in_bases_is_refused_before_any_index_or_tag(
    tmp_path: Path, bases: LocalRegistry, fresh_registry: Registries
) -> None:
    """The legs were built where the matrix said stand_in: true (or by a builder that
    pushes itself): ``publish`` reads what the images say before it pushes anything."""
    skopeo = require_tool("skopeo")
    stack, hub, ghcr = amd64_stack(tmp_path / "s", bases, fresh_registry, stand_in=True)
    digests = stack.digests_dir(RELEASE)
    stack.ok(
        "build",
        RELEASE,
        "--php",
        "8.4",
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(digests / "8.4-linux-amd64.json"),
    )
    set_matrix(stack, stand_in=False)
    run = stack.run(
        "publish", RELEASE, "--digests", str(digests), "--notes-dir", str(stack.notes_dir)
    )
    said = assert_refused(run, stack, bases.host)
    assert "no index was pushed and no tag written" in said, said
    for host in (hub.host, ghcr.host):
        assert skopeo_tags(skopeo, host, stack.repo) == []
    assert repositories(ghcr) == []
    assert not stack.notes_dir.exists() or not any(stack.notes_dir.iterdir())


def test_verify_names_stand_in_images_a_release_without_stand_in_would_publish(
    tmp_path: Path, bases: LocalRegistry, fresh_registry: Registries
) -> None:
    """A stand-in rehearsal's record says so, and verify takes its images; without that
    record (or one of a publisher that did not check), a matrix without stand_in: true
    verifying those images is told they are stand-ins (exit 12), and how to replace them."""
    stack, _hub, _ghcr = amd64_stack(tmp_path / "s", bases, fresh_registry, stand_in=True)
    stack.release(RELEASE, "--no-smoke")
    set_matrix(stack, stand_in=False)
    stack.ok("verify", RELEASE, "--notes-dir", str(stack.notes_dir))
    unrecorded = tmp_path / "no-notes"
    unrecorded.mkdir()
    run = stack.run("verify", RELEASE, "--notes-dir", str(unrecorded), "--json")
    assert run.returncode == 12, run.stdout + run.stderr
    report = json.loads(run.stdout)
    kinds = {(d["kind"], d["registry"]) for d in report["defects"]}
    assert kinds == {("stand-in", "hub"), ("stand-in", "ghcr")}, report["defects"]
    message = report["defects"][0]["message"]
    assert f"linux/amd64 is a STAND-IN image, {STAND_IN_IMAGES} (it carries the label " in message
    assert "dev.publisher.stand-in=true" in message, message
    said = " ".join(run.stderr.split())
    assert f"{RELEASE} was published from STAND-IN images, {STAND_IN_IMAGES}" in said, said
    assert "not PHP" not in said + message, said
    assert f"publisher republish {RELEASE}" in said, said
