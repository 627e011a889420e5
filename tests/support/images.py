"""Small multi-arch test images, assembled blob by blob in Python.

``make_image()`` builds an index over one image per platform, each with a
config naming its platform and one or more tiny gzip layers (random bytes, so
every call makes distinct content unless a ``seed`` is given). Optionally an
attestation manifest (as buildx writes them) and Docker media types.

``push_raw()`` uploads an image with plain ``requests`` calls (monolithic
uploads) so that seeding a registry does not depend on the client under test.
``write_layout()`` writes an OCI image layout (for ``push_layout`` and skopeo).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from publisher.adapters.localregistry import LocalRegistry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class PlatformImage:
    platform: str
    manifest: bytes
    media_type: str
    config: bytes
    layers: list[bytes]

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    @property
    def compressed_size(self) -> int:
        return len(self.config) + sum(len(layer) for layer in self.layers)

    @property
    def blobs(self) -> dict[str, bytes]:
        return {digest_of(b): b for b in [self.config, *self.layers]}


@dataclass
class TestImage:
    """An index and everything below it, all in memory."""

    __test__ = False  # not a pytest test class

    index: bytes
    media_type: str
    images: list[PlatformImage]
    attestations: list[PlatformImage] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return digest_of(self.index)

    @property
    def manifests(self) -> list[PlatformImage]:
        return [*self.images, *self.attestations]

    @property
    def blobs(self) -> dict[str, bytes]:
        result: dict[str, bytes] = {}
        for image in self.manifests:
            result.update(image.blobs)
        return result

    def image(self, platform: str) -> PlatformImage:
        return next(i for i in self.images if i.platform == platform)

    @property
    def sizes(self) -> dict[str, int]:
        return {i.platform: i.compressed_size for i in self.images}


def make_layer(size: int, rng: random.Random, name: str = "file") -> bytes:
    """A gzip tar with one file of ``size`` incompressible bytes (mtime 0: reproducible)."""
    payload = rng.randbytes(size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(buffer.getvalue(), mtime=0)


def make_platform_image(
    platform: str,
    *,
    rng: random.Random,
    layer_sizes: Sequence[int] = (2048,),
    docker: bool = False,
    labels: Mapping[str, str] | None = None,
    shared_layers: Sequence[bytes] = (),
) -> PlatformImage:
    os_, arch, *variant = platform.split("/")
    layers = [*shared_layers, *(make_layer(s, rng, f"f{i}") for i, s in enumerate(layer_sizes))]
    diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() for layer in layers]
    config_data: dict[str, Any] = {
        "architecture": arch,
        "os": os_,
        "created": "2024-01-01T00:00:00Z",
        "config": {"Labels": dict(labels or {})},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if variant:
        config_data["variant"] = variant[0]
    config = canonical(config_data)
    manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": digest_of(layer),
                    "size": len(layer),
                }
                for layer in layers
            ],
        }
    )
    return PlatformImage(platform, manifest, manifest_type, config, layers)


def make_attestation(subject: PlatformImage, rng: random.Random) -> PlatformImage:
    """An attestation manifest like buildx's (in-toto layer, unknown/unknown platform)."""
    statement = canonical(
        {"_type": "https://in-toto.io/Statement/v0.1", "subject": subject.digest, "n": rng.random()}
    )
    config = canonical(
        {
            "architecture": "unknown",
            "os": "unknown",
            "rootfs": {"type": "layers", "diff_ids": [digest_of(statement)]},
        }
    )
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [
                {"mediaType": IN_TOTO, "digest": digest_of(statement), "size": len(statement)}
            ],
        }
    )
    return PlatformImage("unknown/unknown", manifest, OCI_MANIFEST, config, [statement])


def index_for(
    images: Sequence[PlatformImage],
    attestations: Sequence[PlatformImage] = (),
    *,
    docker: bool = False,
) -> bytes:
    entries = []
    for image in images:
        os_, arch, *variant = image.platform.split("/")
        platform = {"architecture": arch, "os": os_}
        if variant:
            platform["variant"] = variant[0]
        entries.append(
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": platform,
            }
        )
    for att, subject in zip(attestations, images, strict=False):
        entries.append(
            {
                "mediaType": att.media_type,
                "digest": att.digest,
                "size": len(att.manifest),
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": subject.digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            }
        )
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST if docker else OCI_INDEX,
            "manifests": entries,
        }
    )


def make_image(
    platforms: Iterable[str] = ("linux/amd64", "linux/arm64"),
    *,
    seed: int | None = None,
    layer_sizes: Sequence[int] = (2048,),
    sizes: Mapping[str, Sequence[int]] | None = None,
    attestations: bool = False,
    docker: bool = False,
    labels: Mapping[str, str] | None = None,
    shared_layer: bytes | None = None,
) -> TestImage:
    """A multi-arch image. ``sizes`` overrides layer sizes per platform."""
    rng = random.Random(seed)
    shared = (shared_layer,) if shared_layer else ()
    images = [
        make_platform_image(
            p,
            rng=rng,
            layer_sizes=(sizes or {}).get(p, layer_sizes),
            docker=docker,
            labels=labels,
            shared_layers=shared,
        )
        for p in platforms
    ]
    atts = [make_attestation(i, rng) for i in images] if attestations else []
    return TestImage(
        index_for(images, atts, docker=docker), DOCKER_LIST if docker else OCI_INDEX, images, atts
    )


# ----------------------------------------------------------------- seeding


def raw_push_blob(
    base_url: str, repo: str, data: bytes, session: requests.Session | None = None
) -> None:
    http = session or requests
    digest = digest_of(data)
    if http.head(f"{base_url}/v2/{repo}/blobs/{digest}", timeout=30).status_code == 200:
        return
    start = http.post(f"{base_url}/v2/{repo}/blobs/uploads/", timeout=30)
    if start.status_code != 202:
        raise AssertionError(f"seeding blob failed: {start.status_code} {start.text[:200]}")
    location = start.headers["Location"]
    response = http.put(
        location + ("&" if "?" in location else "?") + f"digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    if response.status_code != 201:
        raise AssertionError(f"seeding blob failed: {response.status_code} {response.text[:200]}")


def raw_put_manifest(
    base_url: str,
    repo: str,
    body: bytes,
    media_type: str,
    reference: str | None = None,
    session: requests.Session | None = None,
) -> str:
    http = session or requests
    reference = reference or digest_of(body)
    response = http.put(
        f"{base_url}/v2/{repo}/manifests/{reference}",
        data=body,
        headers={"Content-Type": media_type},
        timeout=30,
    )
    if response.status_code != 201:
        raise AssertionError(
            f"seeding manifest failed: {response.status_code} {response.text[:300]}"
        )
    return digest_of(body)


def push_raw(
    base_url: str,
    repo: str,
    image: TestImage | PlatformImage,
    tags: Iterable[str] = (),
    session: requests.Session | None = None,
) -> str:
    """Push ``image`` (children first, then the index) and put ``tags`` on it; return its digest."""
    manifests = image.manifests if isinstance(image, TestImage) else [image]
    for child in manifests:
        for blob in child.blobs.values():
            raw_push_blob(base_url, repo, blob, session)
        raw_put_manifest(base_url, repo, child.manifest, child.media_type, session=session)
    if isinstance(image, TestImage):
        body, media_type = image.index, image.media_type
    else:
        body, media_type = image.manifest, image.media_type
    digest = raw_put_manifest(base_url, repo, body, media_type, session=session)
    for tag in tags:
        raw_put_manifest(base_url, repo, body, media_type, tag, session=session)
    return digest


def raw_delete_manifest(base_url: str, repo: str, digest: str) -> None:
    response = requests.delete(f"{base_url}/v2/{repo}/manifests/{digest}", timeout=30)
    if response.status_code != 202:
        raise AssertionError(f"delete failed: {response.status_code} {response.text[:200]}")


def raw_remove_tag(registry: LocalRegistry, repository: str, tag: str) -> None:
    """Remove ``tag`` from ``repository`` in the registry's storage, the manifest it
    pointed at kept, still served by digest (as a registry that drops an old tag keeps
    what it pointed at; the registry's API deletes a manifest by digest, with every tag)."""
    assert registry.directory is not None
    tags = registry.directory / "storage/docker/registry/v2/repositories"
    tag_dir = tags / repository / "_manifests" / "tags" / tag
    assert tag_dir.is_dir(), tag_dir
    shutil.rmtree(tag_dir)


def write_layout(image: TestImage | PlatformImage, directory: Path) -> Path:
    """Write an OCI image layout holding ``image`` (one entry in index.json)."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    manifests = image.manifests if isinstance(image, TestImage) else [image]
    for child in manifests:
        for digest, blob in child.blobs.items():
            (blobs_dir / digest.split(":")[1]).write_bytes(blob)
        (blobs_dir / child.digest.split(":")[1]).write_bytes(child.manifest)
    if isinstance(image, TestImage):
        top, media_type = image.index, image.media_type
    else:
        top, media_type = image.manifest, image.media_type
    (blobs_dir / digest_of(top).split(":")[1]).write_bytes(top)
    (directory / "index.json").write_bytes(
        canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {"mediaType": media_type, "digest": digest_of(top), "size": len(top)}
                ],
            }
        )
    )
    return directory


def raw_delete_blob(base_url: str, repo: str, digest: str) -> None:
    """Delete a blob from ``repo`` (the registry must allow deletes): the repository no
    longer serves it, as after a garbage-collection bug or a restore from a backup."""
    response = requests.delete(f"{base_url}/v2/{repo}/blobs/{digest}", timeout=30)
    if response.status_code != 202:
        raise AssertionError(f"delete failed: {response.status_code} {response.text[:200]}")
