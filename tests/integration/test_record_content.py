"""Digest records naming another leg's image: another platform's, or another release's.

Real loopback registries; ``publisher publish`` runs as a separate process over the
legs' platform images seeded on the primary with their digest records
(``tests.support.publishing.seed_image``). Each image's config says its platform and,
in its ``org.opencontainers.image.version`` label, the pin it was built for (as the
Dockerfile template sets it).

Records swapped between the legs, or naming an image of another release, are refused
before the line's index is pushed (exit 12, naming the record), so nothing is pushed or
tagged; an index published that way anyway (by an earlier publisher) is a defect
``verify`` and ``audit`` report. An image without the label (built before it existed)
is not judged by it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.core.manifest import VERSION_LABEL
from tests.integration.test_index_children import one_line_on_two_registries
from tests.support.images import OCI_INDEX, TestImage, index_for, make_image, push_raw
from tests.support.publishing import run_publisher, seed_image, tag_map

pytestmark = pytest.mark.integration

RELEASE = "v1.0.0"


def _setup(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    write_matrix: Callable[..., Path],
    *,
    built_as: str | None,
) -> tuple[str, Path, dict[str, str], TestImage]:
    """A one-line matrix (PHP 8.4 on two platforms, two registries) and the legs of
    ``RELEASE`` built: images labelled ``built_as`` (None: no label), records written."""
    repo, matrix, env = one_line_on_two_registries(
        tmp_path, registry, second_registry, write_matrix
    )
    image = make_image(labels={VERSION_LABEL: built_as} if built_as else None)
    seed_image(
        tmp_path / "digests", RELEASE, "8.4", image,
        push_to=registry.host, repo=repo, image_repo=f"{registry.host}/{repo}",
    )  # fmt: skip
    return repo, matrix, env, image


def _publish(tmp_path: Path, matrix: Path, env: dict[str, str]) -> Any:
    return run_publisher(
        "publish", RELEASE, "--digests", str(tmp_path / "digests"), "--no-smoke",
        config=matrix, env=env, cwd=tmp_path,
    )  # fmt: skip


def _swap_digests(first: Path, second: Path) -> None:
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    a["digest"], b["digest"] = b["digest"], a["digest"]
    first.write_text(json.dumps(a, indent=2, sort_keys=True) + "\n")
    second.write_text(json.dumps(b, indent=2, sort_keys=True) + "\n")


def test_records_swapped_between_platforms_are_refused_before_anything_is_pushed(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    repo, matrix, env, _ = _setup(
        tmp_path, registry, second_registry, write_matrix, built_as=f"{RELEASE}-php-8.4"
    )
    digests = tmp_path / "digests"
    _swap_digests(digests / "8.4-linux-amd64.json", digests / "8.4-linux-arm64.json")
    result = _publish(tmp_path, matrix, env)
    assert result.returncode == 12, result.stdout + result.stderr
    assert (
        "the record 8.4-linux-amd64.json names" in result.stderr
        and "linux/amd64 is an image built for linux/arm64 (its config says os linux, "
        "architecture arm64)"
        in result.stderr
    ), result.stderr
    assert "8.4-linux-arm64.json" in result.stderr, result.stderr
    assert "nothing was pushed or tagged" in result.stderr, result.stderr
    assert "label itself" not in result.stderr, result.stderr  # no version label in doubt
    assert tag_map(registry.host, repo) == {} and tag_map(second_registry.host, repo) == {}
    assert not (tmp_path / "release-notes" / f"{RELEASE}.json").exists()


@pytest.mark.parametrize(
    ("dockerfiles", "shown"),
    [(None, "dockerfiles/8.4/Dockerfile"), ("build/df", "conf/build/df/8.4/Dockerfile")],
    ids=["default", "own-dockerfiles-dir"],
)
def test_a_record_naming_another_release_s_image_is_refused(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    write_matrix: Callable[..., Path],
    dockerfiles: str | None,
    shown: str,
) -> None:
    repo, matrix, env, _ = _setup(
        tmp_path, registry, second_registry, write_matrix, built_as="v0.9.0-php-8.4"
    )
    if dockerfiles:  # matrix.yaml in conf/, naming its own Dockerfiles' directory
        (tmp_path / "conf").mkdir()
        text = matrix.read_text(encoding="utf-8") + f"dockerfiles: {dockerfiles}\n"
        (tmp_path / "conf" / "matrix.yaml").write_text(text, encoding="utf-8")
        matrix = Path("conf/matrix.yaml")  # as given, relative to the run's directory
    result = _publish(tmp_path, matrix, env)
    assert result.returncode == 12, result.stdout + result.stderr
    assert (
        "linux/arm64 is an image built as 'v0.9.0-php-8.4' "
        f"(its {VERSION_LABEL} label), not for {RELEASE}-php-8.4" in result.stderr
    ), result.stderr
    # the image may be this very run's, its Dockerfile setting the label itself
    tip = " ".join(result.stderr.partition("  tip:")[2].split())
    assert f"sets the {VERSION_LABEL} label itself" in tip, result.stderr
    # named as render names it: beside matrix.yaml's path as given (here absolute)
    assert f"{shown} (publisher sets it)" in tip, result.stderr
    if dockerfiles:  # relative, as given
        assert f"remove that LABEL from {shown} " in tip, result.stderr
    assert tag_map(registry.host, repo) == {} and tag_map(second_registry.host, repo) == {}


def test_images_without_the_version_label_are_published(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    repo, matrix, env, _ = _setup(tmp_path, registry, second_registry, write_matrix, built_as=None)
    result = _publish(tmp_path, matrix, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{RELEASE}-php-8.4" in tag_map(second_registry.host, repo)
    checked = run_publisher("verify", RELEASE, config=matrix, env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audit = run_publisher("audit", "--json", config=matrix, env=env, cwd=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.parametrize("command", ["verify", "audit"])
def test_an_index_listing_images_as_other_platforms_is_reported(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    write_matrix: Callable[..., Path],
    command: str,
) -> None:
    """A release published right, then its index replaced on both registries (tags and
    record alike) by one listing each image as the other platform: what a publisher
    that did not compare them published from swapped records."""
    repo, matrix, env, image = _setup(
        tmp_path, registry, second_registry, write_matrix, built_as=f"{RELEASE}-php-8.4"
    )
    assert _publish(tmp_path, matrix, env).returncode == 0
    amd64, arm64 = image.image("linux/amd64"), image.image("linux/arm64")
    swapped = [
        dataclasses.replace(arm64, platform="linux/amd64"),
        dataclasses.replace(amd64, platform="linux/arm64"),
    ]
    wrong = TestImage(index_for(swapped), OCI_INDEX, swapped)
    tags = tag_map(registry.host, repo)
    for host in (registry.host, second_registry.host):
        push_raw(f"http://{host}", repo, wrong, sorted(tags))
    notes = tmp_path / "release-notes" / f"{RELEASE}.json"
    notes.write_text(
        notes.read_text()
        .replace(tags[f"{RELEASE}-php-8.4"], wrong.digest)
        .replace(amd64.digest, "AMD64")
        .replace(arm64.digest, amd64.digest)
        .replace("AMD64", arm64.digest)
    )

    if command == "verify":
        checked = run_publisher("verify", RELEASE, "--json", config=matrix, env=env, cwd=tmp_path)
        assert checked.returncode == 12, checked.stdout + checked.stderr
        defects = json.loads(checked.stdout)["defects"]
        assert {(d["kind"], d["registry"]) for d in defects} == {
            ("platform-mismatch", "hub"),
            ("platform-mismatch", "ghcr"),
        }, defects
        assert any(
            "linux/amd64 is an image built for linux/arm64" in d["message"] for d in defects
        ), defects
        assert "republish" in checked.stderr, checked.stderr
        return
    audit = run_publisher("audit", "--json", config=matrix, env=env, cwd=tmp_path)
    assert audit.returncode != 0, audit.stdout + audit.stderr
    findings = json.loads(audit.stdout)["findings"]
    assert {(f["registry"], f["kind"]) for f in findings} == {
        ("hub", "other-content"),
        ("ghcr", "other-content"),
    }, findings
    assert "republish" in audit.stdout + audit.stderr, audit.stdout + audit.stderr
