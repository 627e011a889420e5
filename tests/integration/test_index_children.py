"""A pin pushed by hand before the release: its attestations, and a child of no platform.

Real loopback registries; ``publisher publish`` runs as a separate process over the
legs' platform images seeded on the primary with their digest records (as
``tests.support.publishing.seed_image`` does), while the release's pin on the primary
was pushed by hand: the same platform images in an index that also lists buildx-style
attestation manifests (``unknown/unknown``), and, in the second case, one more image
whose entry names no platform.

Attestation manifests are no platforms: the release is the pinned index as it is, and
its copy to the other registry by digest carries them, as manifests, whatever media type
the index gives their entries (a third case: their in-toto content's). An image naming no platform is
not the release's content: the run is refused as a conflict (exit 14) naming that
image, nothing is written, and no traceback.
"""

from __future__ import annotations

import json
import random
import subprocess
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from publisher.core.platforms import Platform
from publisher.core.records import DigestRecord, write_record_file
from tests.support.images import (
    IN_TOTO,
    OCI_INDEX,
    OCI_MANIFEST,
    TestImage,
    canonical,
    make_image,
    make_platform_image,
    push_raw,
)
from tests.support.publishing import isolated_env, run_publisher, seed_image, tag_map

pytestmark = pytest.mark.integration


def one_line_on_two_registries(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> tuple[str, Path, dict[str, str]]:
    """A fresh repository on both registries, a matrix of PHP 8.4 publishing to them (hub
    primary), and the environment publisher runs in."""
    repo = f"acme/php-{uuid.uuid4().hex[:8]}"
    matrix = write_matrix(
        tmp_path,
        [
            ("hub", f"{registry.host}/{repo}", True),
            ("ghcr", f"{second_registry.host}/{repo}", False),
        ],
        lines=("8.4",),
    )
    return repo, matrix, isolated_env(tmp_path)


def _publish_over_pin(
    tmp_path: Path,
    registry: Any,
    repo: str,
    built: TestImage,
    pinned_image: TestImage,
    matrix: Path,
    env: dict[str, str],
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """The build legs' records of ``built`` (its images pushed), the pin v1.0.0-php-8.4
    pushed by hand as ``pinned_image``, then ``publisher publish v1.0.0``: the pin's
    digest and the run."""
    seed_image(
        tmp_path / "digests", "v1.0.0", "8.4", built,
        push_to=registry.host, repo=repo, image_repo=f"{registry.host}/{repo}",
    )  # fmt: skip
    pinned = push_raw(registry.url, repo, pinned_image, ["v1.0.0-php-8.4"])
    result = run_publisher(
        "publish", "v1.0.0", "--digests", str(tmp_path / "digests"), "--no-smoke",
        config=matrix, env=env, cwd=tmp_path,
    )  # fmt: skip
    return pinned, result


def holds_attestations(registry: Any, repo: str, attestations: Sequence[Any]) -> None:
    """``registry`` holds each attestation as an OCI image manifest, with its blobs."""
    for attestation in attestations:
        got = requests.get(
            f"{registry.url}/v2/{repo}/manifests/{attestation.digest}",
            headers={"Accept": OCI_MANIFEST},
            timeout=30,
        )
        assert got.status_code == 200 and got.content == attestation.manifest
        assert got.headers["Content-Type"] == OCI_MANIFEST
        for blob in attestation.blobs:
            head = requests.head(f"{registry.url}/v2/{repo}/blobs/{blob}", timeout=30)
            assert head.status_code == 200


def test_a_pin_pushed_with_attestations_is_published_as_it_is_and_copied_whole(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    repo, matrix, env = one_line_on_two_registries(
        tmp_path, registry, second_registry, write_matrix
    )
    image = make_image(attestations=True)
    pinned, result = _publish_over_pin(tmp_path, registry, repo, image, image, matrix, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(tag_map(second_registry.host, repo).values()) == {pinned}
    holds_attestations(second_registry, repo, image.attestations)  # copied by digest with the index
    record = json.loads((tmp_path / "release-notes" / "v1.0.0.json").read_text())
    assert [(p["platform"], p["digest"]) for p in record["lines"][0]["platforms"]] == [
        (i.platform, i.digest) for i in image.images
    ]


def test_a_pin_whose_attestations_name_a_blob_media_type_is_copied_whole(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """The pin pushed by hand lists its attestation manifests with the media type of their
    in-toto content, not a manifest's: the primary holds them as manifests all the same (it
    accepted the index). The copy carries them as what they are, manifests, and the other
    registry gets the same index: it was left without them and refused the index (HTTP 400,
    MANIFEST_BLOB_UNKNOWN) after the blobs were uploaded, and no tag was written there."""
    repo, matrix, env = one_line_on_two_registries(
        tmp_path, registry, second_registry, write_matrix
    )
    image = make_image(attestations=True)
    index = json.loads(image.index)
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest":
            entry["mediaType"] = IN_TOTO
    pinned_image = TestImage(canonical(index), OCI_INDEX, image.images, image.attestations)
    pinned, result = _publish_over_pin(tmp_path, registry, repo, image, pinned_image, matrix, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(tag_map(second_registry.host, repo).values()) == {pinned}
    assert tag_map(second_registry.host, repo) == tag_map(registry.host, repo)
    copied = requests.get(
        f"{second_registry.url}/v2/{repo}/manifests/{pinned}",
        headers={"Accept": OCI_INDEX},
        timeout=30,
    )
    assert copied.status_code == 200 and copied.content == pinned_image.index
    holds_attestations(second_registry, repo, image.attestations)  # as manifests, with their blobs


def test_a_pin_listing_an_image_of_no_platform_is_refused_naming_it(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    repo, matrix, env = one_line_on_two_registries(
        tmp_path, registry, second_registry, write_matrix
    )
    image = make_image(attestations=True)
    odd = make_platform_image("linux/s390x", rng=random.Random(3))
    index = json.loads(image.index)
    index["manifests"].append(
        {"mediaType": odd.media_type, "digest": odd.digest, "size": len(odd.manifest)}
    )
    pinned_image = TestImage(canonical(index), OCI_INDEX, image.images, [*image.attestations, odd])
    pinned, result = _publish_over_pin(tmp_path, registry, repo, image, pinned_image, matrix, env)
    said = result.stdout + result.stderr
    assert result.returncode == 14, said
    assert "Traceback" not in said and "internal error" not in said
    assert f"v1.0.0-php-8.4 is {pinned}" in said
    assert f"an image with no platform ({odd.digest})" in said, said
    # `publisher release v1.0.0` takes the same images from the pin: refused the same way
    assert "finishes an interrupted release" not in said
    assert "run `publisher republish v1.0.0 --reason ...`" in said
    assert tag_map(registry.host, repo) == {"v1.0.0-php-8.4": pinned}
    assert tag_map(second_registry.host, repo) == {}


def test_legs_whose_attestations_name_a_blob_media_type_are_published_and_copied_whole(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """Each build leg's own index (its image and the attestation manifest buildx's
    annotation names) lists the attestation with its in-toto content's media type, as the
    pinned index of the case above does: the primary holds it as a manifest (it accepted
    the index). Publish carries it into the line's index as it is and copies it to the
    other registry as a manifest, as the copy of a pinned index does; it was refused
    (exit 2) as "not a manifest's"."""
    repo, matrix, env = one_line_on_two_registries(
        tmp_path, registry, second_registry, write_matrix
    )
    digests = tmp_path / "digests"
    digests.mkdir()
    attestations = []
    for n, platform in enumerate(("linux/amd64", "linux/arm64")):
        leg = make_image((platform,), seed=n, attestations=True)
        index = json.loads(leg.index)
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get("vnd.docker.reference.type") == (
                "attestation-manifest"
            ):
                entry["mediaType"] = IN_TOTO
        leg_index = push_raw(
            registry.url, repo, TestImage(canonical(index), OCI_INDEX, leg.images, leg.attestations)
        )
        attestations += leg.attestations
        record = DigestRecord(
            "v1.0.0", "8.4", Platform(platform), f"{registry.host}/{repo}", leg_index,
            "php:8.4-fpm-alpine", None, "buildx", "sha256:" + "0" * 64,
        )  # fmt: skip
        write_record_file(digests / record.file_name, record)
    result = run_publisher(
        "publish", "v1.0.0", "--digests", str(digests), "--no-smoke",
        config=matrix, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert tag_map(second_registry.host, repo) == tag_map(registry.host, repo)
    line_index = tag_map(registry.host, repo)["v1.0.0-php-8.4"]
    copied = requests.get(
        f"{second_registry.url}/v2/{repo}/manifests/{line_index}",
        headers={"Accept": OCI_INDEX},
        timeout=30,
    )
    assert copied.status_code == 200
    listed = {e["digest"]: e["mediaType"] for e in copied.json()["manifests"]}
    assert {a.digest: listed.get(a.digest) for a in attestations} == {
        a.digest: IN_TOTO for a in attestations
    }
    holds_attestations(second_registry, repo, attestations)  # as manifests, with their blobs
