"""Manifests, indexes, descriptors: parsing and building (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.adapters.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    build_index,
    descriptor_for,
    index_annotations,
    platform_key,
    sha256_digest,
)
from publisher.core.errors import InvalidResponseError
from publisher.core.manifest import MAX_MANIFEST_BYTES
from tests.support.images import make_image

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def test_oci_index_with_attestations() -> None:
    image = make_image(attestations=True, seed=1)
    manifest = Manifest.parse(image.index, OCI_INDEX, image.digest)
    assert manifest.is_index
    assert manifest.digest == image.digest
    assert len(manifest.children) == 4
    assert [c.platform for c in manifest.platform_children] == ["linux/amd64", "linux/arm64"]
    assert len(manifest.attestations) == 2
    assert all(c.is_attestation for c in manifest.attestations)
    assert manifest.blobs == ()


def test_docker_manifest_list_and_image() -> None:
    image = make_image(docker=True, seed=2)
    index = Manifest.parse(image.index)
    assert index.media_type == DOCKER_LIST and index.is_index
    child = Manifest.parse(image.images[0].manifest)
    assert child.media_type == DOCKER_MANIFEST and not child.is_index
    assert child.config is not None
    assert child.compressed_size == image.images[0].compressed_size
    assert [b.digest for b in child.blobs][1:] == [sha256_digest(x) for x in image.images[0].layers]


def test_media_type_from_header_or_shape_when_absent() -> None:
    data = {"schemaVersion": 2, "manifests": []}
    body = json.dumps(data).encode()
    assert Manifest.parse(body).media_type == OCI_INDEX
    image = {
        "schemaVersion": 2,
        "config": {"mediaType": "x", "digest": D1, "size": 1},
        "layers": [],
    }
    assert Manifest.parse(json.dumps(image).encode()).media_type == OCI_MANIFEST


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON: nested too deeply"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schemaVersion": 1, "manifests": []}', "schemaVersion is 1, not 2"),
        (b'{"manifests": []}', "schemaVersion is missing"),
        (b'{"schemaVersion": 2, "mediaType": "text/plain"}', "unsupported manifest media type"),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{"digest": "md5:x", "size": 1}]}',
            "valid sha256 digest",
        ),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{"digest": "'
            + D1.encode()
            + b'", "size": -1}]}',
            "valid size",
        ),
    ],
)
def test_malformed_manifests_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(InvalidResponseError, match=message) as caught:
        Manifest.parse(body)
    assert "check that the reference names a container image" in (caught.value.hint or "")


def test_digest_mismatch_is_rejected() -> None:
    with pytest.raises(InvalidResponseError, match="does not match its digest"):
        Manifest.parse(make_image(seed=3).index, digest=D1)


def test_oversize_manifest_is_rejected() -> None:
    body = b'{"schemaVersion": 2, "manifests": [], "pad": "' + b"x" * MAX_MANIFEST_BYTES + b'"}'
    with pytest.raises(InvalidResponseError, match="over the"):
        Manifest.parse(body)


def test_platform_key() -> None:
    assert platform_key({"os": "linux", "architecture": "amd64"}) == "linux/amd64"
    assert platform_key({"os": "linux", "architecture": "arm64", "variant": "v8"}) == "linux/arm64"
    assert platform_key({"os": "linux", "architecture": "arm", "variant": "v7"}) == "linux/arm/v7"
    assert platform_key(None) is None


def test_attestation_recognized_by_annotation_or_unknown_platform() -> None:
    by_annotation = Descriptor(
        OCI_MANIFEST, D1, 1, "linux/amd64", {"vnd.docker.reference.type": "attestation-manifest"}
    )
    by_platform = Descriptor(OCI_MANIFEST, D1, 1, "unknown/unknown")
    plain = Descriptor(OCI_MANIFEST, D1, 1, "linux/amd64")
    assert by_annotation.is_attestation and by_platform.is_attestation
    assert not plain.is_attestation


def test_build_index_is_deterministic_and_keeps_descriptors() -> None:
    image = make_image(attestations=True, seed=4)
    children = Manifest.parse(image.index).children
    body1, media_type = build_index(children)
    body2, _ = build_index(list(children))
    assert body1 == body2
    assert media_type == OCI_INDEX
    rebuilt = Manifest.parse(body1)
    assert [c.digest for c in rebuilt.children] == [c.digest for c in children]
    assert rebuilt.attestations[0].annotations == children[2].annotations


OCI = "org.opencontainers.image."


def test_index_annotations_are_the_oci_labels_every_image_shares() -> None:
    amd64 = {
        OCI + "title": "PHP-FPM",
        OCI + "version": "v2.0.0-php-8.4",
        OCI + "revision": "abc",
        OCI + "created": "",  # empty: not repeated
        OCI + "base.name": "php@sha256:" + "1" * 64,  # describes one image, never the index
        "dev.publisher.php-line": "8.4",  # not an OCI label
        OCI + "source": "https://example.test/a",
    }
    arm64 = {**amd64, OCI + "revision": "def", OCI + "source": "https://example.test/a"}
    del arm64[OCI + "title"]  # one image lacks it: not shared
    assert index_annotations([amd64, arm64]) == {
        OCI + "version": "v2.0.0-php-8.4",
        OCI + "source": "https://example.test/a",
    }
    assert index_annotations([amd64])[OCI + "title"] == "PHP-FPM"
    assert index_annotations([]) == {}


def test_an_index_with_annotations_is_deterministic_and_keeps_them() -> None:
    children = Manifest.parse(make_image(seed=5).index).children
    shared = {OCI + "version": "v1", OCI + "description": "d"}
    body, _ = build_index(children, shared)
    assert body == build_index(children, dict(reversed(list(shared.items()))))[0]
    assert Manifest.parse(body).annotations == shared
    assert body != build_index(children)[0]


def test_build_index_rejects_empty_and_non_manifests() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_index([])
    with pytest.raises(ValueError, match="media type"):
        build_index([Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", D1, 1)])


def test_build_index_takes_an_attestation_manifest_listed_with_a_blob_media_type() -> None:
    """buildx's annotation names the entry an attestation manifest: the registry holds it
    as one whatever media type the index gives it, so an index carries it as it is."""
    attestation = Descriptor.from_dict(
        {
            "mediaType": "application/vnd.in-toto+json",
            "digest": D1,
            "size": 1,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        }
    )
    body, _ = build_index([attestation])
    assert Manifest.parse(body).children[0].media_type == "application/vnd.in-toto+json"


def test_descriptor_for_a_manifest() -> None:
    child = Manifest.parse(make_image(seed=5).images[1].manifest)
    desc = descriptor_for(child, "linux/arm64")
    assert desc.digest == child.digest and desc.size == len(child.body)
    assert desc.platform == "linux/arm64"
    assert desc.to_dict()["platform"] == {"architecture": "arm64", "os": "linux"}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["linux/amd64", "linux/arm64", "linux/arm/v7"]), st.binary(max_size=8)
        ),
        min_size=1,
        max_size=5,
    )
)
def test_build_index_round_trips(entries: list[tuple[str, bytes]]) -> None:
    children = [
        Descriptor(OCI_MANIFEST, sha256_digest(data), len(data) + 1, platform)
        for platform, data in entries
    ]
    body, _ = build_index(children)
    parsed = Manifest.parse(body)
    assert parsed.digest == sha256_digest(body)
    assert [(c.digest, c.size, c.platform) for c in parsed.children] == [
        (c.digest, c.size, c.platform) for c in children
    ]
    assert build_index(parsed.children)[0] == body
