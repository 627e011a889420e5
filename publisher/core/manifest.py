"""Manifests, indexes and descriptors: parsing and building, pure (no I/O).

Both OCI and Docker media types are accepted. Attestation entries of an index
(platform ``unknown/unknown`` with the annotation
``vnd.docker.reference.type: attestation-manifest``, as buildx writes them) are
recognized: they are carried along in copies but never counted as platforms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..resolve import (  # the registry core: media types and platforms live there
    ACCEPT,
    ATTESTATION,
    DOCKER_CONFIG,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    IMAGE_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    REFERENCE_TYPE,
    UNKNOWN_PLATFORM,
    is_digest,
    platform_fields,
    platform_key,
    sha256_digest,
)
from ..resolve import (
    DOCKERFILE_LABEL as DOCKERFILE_LABEL,  # the builders' and the build stage's too
)
from .errors import InvalidResponseError

#: What to do about a manifest that breaks the image spec: what the registry stores is what
#: was pushed, so either the reference names something else or the content was altered.
MANIFEST_HINT = (
    "check that the reference names a container image (not another kind of artifact); if it "
    "does, the registry or a proxy or mirror in front of it sent altered content"
)
#: Most entries publisher takes in one index: an image index lists a handful of platforms
#: and their attestations (publisher's own: two per platform), so an index far longer is no
#: image's, and following each entry would cost a request or more apiece.
MAX_INDEX_ENTRIES = 256
#: Largest size a descriptor may state: OCI sizes are int64.
MAX_SIZE = 2**63 - 1

#: What to do about a manifest over MAX_MANIFEST_BYTES.
MANIFEST_SIZE_HINT = (
    "an image manifest or index is a few kB: check that the reference names a container "
    "image, not another kind of artifact"
)

__all__ = [
    "ACCEPT",
    "ATTESTATION",
    "DOCKER_CONFIG",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "IMAGE_TYPES",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "MAX_MANIFEST_BYTES",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "REFERENCE_TYPE",
    "UNKNOWN_PLATFORM",
    "Descriptor",
    "Manifest",
    "build_index",
    "config_labels",
    "descriptor_for",
    "index_annotations",
    "platform_key",
    "sha256_digest",
]


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words (``null``, a number), never the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    return "a list" if isinstance(value, list) else "not a string"


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about a child manifest or a blob.

    ``raw`` is the descriptor exactly as found, so that rebuilding an index from
    descriptors keeps every field (annotations, urls, artifactType, ...).
    """

    media_type: str
    digest: str
    size: int
    platform: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_attestation(self) -> bool:
        return (
            self.annotations.get(REFERENCE_TYPE) == ATTESTATION or self.platform == UNKNOWN_PLATFORM
        )

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_TYPES

    @property
    def names_manifest(self) -> bool:
        """Whether the entry refers to a manifest, which a copy carries as one: one of a
        manifest's media types, or an attestation manifest (its annotation says so) whatever
        media type a hand-made index gave it (a blob's, ``application/vnd.in-toto+json``):
        the registry that accepted the index holds it as a manifest."""
        return self.is_manifest or self.annotations.get(REFERENCE_TYPE) == ATTESTATION

    def to_dict(self) -> dict[str, Any]:
        if self.raw:
            return dict(self.raw)
        data: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.platform:
            data["platform"] = platform_fields(self.platform)
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "descriptor") -> Descriptor:
        if not isinstance(data, Mapping):
            raise InvalidResponseError(f"{where} is not a JSON object", hint=MANIFEST_HINT)
        digest = data.get("digest")
        size = data.get("size")
        media_type = data.get("mediaType", "")
        if not isinstance(digest, str) or not is_digest(digest):
            raise InvalidResponseError(f"{where} has no valid sha256 digest", hint=MANIFEST_HINT)
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
            raise InvalidResponseError(f"{where} has no valid size", hint=MANIFEST_HINT)
        if not isinstance(media_type, str):
            raise InvalidResponseError(f"{where} has an invalid mediaType", hint=MANIFEST_HINT)
        annotations = data.get("annotations") or {}
        if not isinstance(annotations, Mapping):
            raise InvalidResponseError(f"{where} has invalid annotations", hint=MANIFEST_HINT)
        platform = data.get("platform")
        if platform is not None and not isinstance(platform, Mapping):
            raise InvalidResponseError(f"{where} has an invalid platform", hint=MANIFEST_HINT)
        for name in ("os", "architecture", "variant"):
            if platform and name in platform and not isinstance(platform[name], str):
                raise InvalidResponseError(
                    f"{where} has an invalid platform: its {name} is "
                    f"{_json_kind(platform[name])}, not a string",
                    hint=MANIFEST_HINT,
                )
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            platform=platform_key(platform),
            annotations={str(k): str(v) for k, v in annotations.items()},
            raw=dict(data),
        )


@dataclass(frozen=True)
class Manifest:
    """A fetched (or about to be pushed) manifest or index, with its exact bytes."""

    digest: str
    media_type: str
    body: bytes = field(repr=False)
    data: Mapping[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def parse(
        cls, body: bytes, media_type: str | None = None, digest: str | None = None
    ) -> Manifest:
        """Parse ``body``; the digest is computed from the bytes (and must match ``digest``)."""
        actual = sha256_digest(body)
        if digest is not None and digest != actual:
            raise InvalidResponseError(
                f"manifest content does not match its digest: expected {digest}, got {actual}",
                hint="the registry (or something between us and it) returned different content: "
                "check that nothing in between rewrites it, then rerun",
            )
        if len(body) > MAX_MANIFEST_BYTES:
            raise InvalidResponseError(
                f"manifest is {len(body)} bytes, over the {MAX_MANIFEST_BYTES}-byte limit",
                hint=MANIFEST_SIZE_HINT,
            )
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            # A ValueError not from the decoder: a number of thousands of digits (Python's
            # own message would advise a setting of the interpreter).
            why = (
                "nested too deeply"
                if isinstance(exc, RecursionError)
                else str(exc)
                if isinstance(exc, json.JSONDecodeError)
                else "it holds a number too long to read"
            )
            raise InvalidResponseError(
                f"manifest is not valid JSON: {why}", hint=MANIFEST_HINT
            ) from None
        if not isinstance(data, dict):
            raise InvalidResponseError("manifest is not a JSON object", hint=MANIFEST_HINT)
        declared = data.get("mediaType")
        header_type = (media_type or "").split(";")[0].strip()
        kind = declared if isinstance(declared, str) and declared else header_type
        if kind not in MANIFEST_TYPES:
            # OCI allows mediaType to be absent: infer from the shape.
            if "manifests" in data:
                kind = OCI_INDEX
            elif "layers" in data and "config" in data:
                kind = OCI_MANIFEST
            else:
                raise InvalidResponseError(
                    f"unsupported manifest media type {kind or '(none)'!r}",
                    hint="publisher reads OCI and Docker v2 manifests and indexes: check that "
                    "the reference names a container image (not another kind of artifact)",
                )
        manifest = cls(digest=actual, media_type=kind, body=body, data=data)
        manifest._validate()
        return manifest

    def _validate(self) -> None:
        version = self.data.get("schemaVersion")
        if version != 2:
            said = "missing" if version is None else f"{json.dumps(version)}, not 2"
            raise InvalidResponseError(f"manifest schemaVersion is {said}", hint=MANIFEST_HINT)
        if self.is_index:
            if not isinstance(self.data.get("manifests"), list):
                raise InvalidResponseError("index has no 'manifests' list", hint=MANIFEST_HINT)
            entries = len(self.data["manifests"])
            if entries > MAX_INDEX_ENTRIES:
                raise InvalidResponseError(
                    f"index has {entries} entries, over the {MAX_INDEX_ENTRIES} publisher "
                    "reads in one index",
                    hint="an image index lists a handful of platforms and their attestations: "
                    "check that the reference names a container image (not another kind of "
                    "artifact), or that nothing in front of the registry alters it",
                )
            _ = self.children
        else:
            if not isinstance(self.data.get("layers"), list):
                raise InvalidResponseError(
                    "image manifest has no 'layers' list", hint=MANIFEST_HINT
                )
            _ = self.config, self.layers

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def children(self) -> tuple[Descriptor, ...]:
        """All entries of an index, attestations included (empty for an image)."""
        if not self.is_index:
            return ()
        return tuple(
            Descriptor.from_dict(d, f"index entry {i}")
            for i, d in enumerate(self.data.get("manifests", []))
        )

    @property
    def platform_children(self) -> tuple[Descriptor, ...]:
        """Index entries that are platform images (attestations excluded)."""
        return tuple(c for c in self.children if not c.is_attestation)

    @property
    def attestations(self) -> tuple[Descriptor, ...]:
        return tuple(c for c in self.children if c.is_attestation)

    @property
    def config(self) -> Descriptor | None:
        if self.is_index:
            return None
        return Descriptor.from_dict(self.data.get("config"), "config descriptor")

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        if self.is_index:
            return ()
        return tuple(
            Descriptor.from_dict(d, f"layer {i}") for i, d in enumerate(self.data.get("layers", []))
        )

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Config then layers (empty for an index)."""
        config = self.config
        return ((config,) if config else ()) + self.layers

    @property
    def compressed_size(self) -> int:
        """Config + layer sizes of an image manifest, as stored in the registry."""
        return sum(b.size for b in self.blobs)

    @property
    def annotations(self) -> Mapping[str, str]:
        value = self.data.get("annotations") or {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


#: The OCI label the Dockerfile sets to the pin the image was built for (vX.Y.Z-php-A.B);
#: an index repeats it as an annotation (``INDEX_ANNOTATIONS``).
VERSION_LABEL = "org.opencontainers.image.version"

#: The label every STAND-IN base carries (``true``), and so every image built FROM one:
#: an image inherits its base's labels, whatever its own Dockerfile sets.
STAND_IN_LABEL = "dev.publisher.stand-in"

#: The image labels an index repeats as its own annotations when every platform image
#: carries the same value: registries that show one description for a multi-platform
#: image (GHCR's package page) read the index's annotations, not its images' labels.
INDEX_ANNOTATIONS = tuple(
    f"org.opencontainers.image.{name}"
    for name in (
        "title",
        "description",
        "version",
        "created",
        "revision",
        "source",
        "url",
        "documentation",
        "licenses",
        "vendor",
    )
)


def config_labels(config: Mapping[str, Any]) -> dict[str, str]:
    """The labels of an image config (its ``config.Labels``; {} when it has none)."""
    inner = config.get("config") or {}
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


def index_annotations(labels: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The annotations of an index over images with these ``labels``: each label of
    ``INDEX_ANNOTATIONS`` that every image sets to the same non-empty value."""
    if not labels:
        return {}
    shared = {}
    for key in INDEX_ANNOTATIONS:
        values = {image.get(key, "") for image in labels}
        if len(values) == 1 and (value := values.pop()):
            shared[key] = value
    return shared


def build_index(
    children: Sequence[Descriptor], annotations: Mapping[str, str] | None = None
) -> tuple[bytes, str]:
    """An OCI image index over ``children``: its exact bytes and media type.

    Deterministic: the same children (in the same order) give the same bytes and
    therefore the same digest on every run and every registry.
    """
    if not children:
        raise ValueError("an index needs at least one child manifest")
    for child in children:
        if not child.names_manifest:  # an attestation annotated so is one, as copies take it
            raise ValueError(f"index child {child.digest} has media type {child.media_type!r}")
    data: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [c.to_dict() for c in children],
    }
    if annotations:
        data["annotations"] = dict(sorted(annotations.items()))
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return body, OCI_INDEX


def descriptor_for(manifest: Manifest, platform: str | None = None) -> Descriptor:
    """The descriptor an index uses to point at ``manifest`` (optionally with a platform)."""
    raw: dict[str, Any] = {
        "mediaType": manifest.media_type,
        "digest": manifest.digest,
        "size": len(manifest.body),
    }
    if platform:
        raw["platform"] = platform_fields(platform)
    return Descriptor.from_dict(raw)
