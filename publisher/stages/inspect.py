"""Online inspection of one image reference: can we reach it, and what is it?

What the stack's maintainers called "validate image accessibility before
deploying": the normalized reference, reachable or the classified reason, the
digest, the platforms with their compressed sizes, and labels/created where the
image config has them. Public images are read anonymously; private ones with
the credentials of a matching matrix.yaml registry or the docker config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..adapters.registry import Descriptor, Manifest, RegistryClient, config_labels
from ..core.errors import InvalidResponseError, NotFoundError, PublisherError
from ..core.reference import Reference
from ..resolve import UNKNOWN_PLATFORM, platform_key


@dataclass(frozen=True)
class PlatformInfo:
    platform: str
    digest: str
    size: int
    created: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inspection:
    reference: Reference
    reachable: bool
    digest: str | None = None
    media_type: str | None = None
    is_index: bool = False
    platforms: tuple[PlatformInfo, ...] = ()
    attestations: int = 0
    error: PublisherError | None = None
    #: the annotations of the manifest or index itself (an index's describe the whole image)
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: for a reference naming a tag and a digest (``repo:tag@digest``, as pins files do):
    #: where the tag points now (None: the registry does not have it). The digest is what
    #: was inspected; the tag is only looked up.
    tag_digest: str | None = None

    @property
    def tag_checked(self) -> bool:
        return self.reference.tag is not None and self.reference.digest is not None

    def tag_words(self) -> str | None:
        """Where the tag of a ``repo:tag@digest`` reference points, in words (None: no such pair)."""
        if not self.tag_checked:
            return None
        tag = self.reference.tag
        if self.tag_digest is None:
            return f"{tag} is not on the registry (the digest named was inspected)"
        if self.tag_digest == self.digest:
            return f"{tag} points at this digest"
        return (
            f"{tag} now points at {self.tag_digest}, not at this digest (republished or moved "
            "since the reference was written; the digest named was inspected)"
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.error is None,
            "reference": self.reference.as_dict(),
            "reachable": self.reachable,
            "digest": self.digest,
            "media_type": self.media_type,
            "is_index": self.is_index,
            "platforms": [
                {
                    "platform": p.platform,
                    "digest": p.digest,
                    "size": p.size,
                    "created": p.created,
                    "labels": dict(p.labels),
                }
                for p in self.platforms
            ],
            "attestations": self.attestations,
            "annotations": dict(self.annotations),
            "tag": (
                {
                    "name": self.reference.tag,
                    "digest": self.tag_digest,
                    "matches": self.tag_digest is not None and self.tag_digest == self.digest,
                }
                if self.tag_checked and self.reachable
                else None
            ),
            "error": None,
        }
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


def _config_facts(data: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    created = data.get("created")
    return created if isinstance(created, str) else None, config_labels(data)


def _missing_child(
    ref: Reference, index: str, child: Descriptor, exc: NotFoundError
) -> NotFoundError:
    """A child the index lists that the registry lacks: the index is broken, not ``ref``."""
    what = f"its {child.platform} image" if child.platform else "an image it lists"
    return NotFoundError(
        f"{ref} is the index {index}, but {what} ({child.digest}) is missing from "
        f"{ref.name}: the index is incomplete",
        registry=exc.registry,
        status=exc.status,
        hint="push the image again with every platform (each platform's image before the "
        "index that lists it)",
    )


#: How deep an index may nest indexes (OCI allows it; publisher's own never do).
MAX_NESTING = 4


def _index_images(
    ref: Reference, client: RegistryClient, index: Manifest, depth: int = 0
) -> Iterator[tuple[Descriptor, Manifest]]:
    """Each platform image of ``index`` with its descriptor, through nested indexes."""
    for child in index.platform_children:
        try:
            image = client.get_manifest_by_digest(ref.path, child.digest)
        except NotFoundError as exc:
            raise _missing_child(ref, index.digest, child, exc) from None
        if not image.is_index:
            yield child, image
        elif depth < MAX_NESTING:
            yield from _index_images(ref, client, image, depth + 1)
        else:
            raise InvalidResponseError(
                f"{ref}: indexes nest more than {MAX_NESTING} deep (at {image.digest})",
                registry=ref.domain,
                hint=f"images are nested at most {MAX_NESTING} indexes deep: check that the "
                "reference names a container image, not another kind of artifact",
            )


def inspect_reference(ref: Reference, client: RegistryClient) -> Inspection:
    """Inspect ``ref``; raises the classified error when it cannot be read."""
    manifest = client.get_manifest(ref)
    platforms: list[PlatformInfo] = []
    if manifest.is_index:
        for child, image in _index_images(ref, client, manifest):
            created, labels = _config_facts(client.image_config(ref.path, image))
            platforms.append(
                PlatformInfo(
                    child.platform or "unknown",
                    child.digest,
                    image.compressed_size,
                    created,
                    labels,
                )
            )
    else:
        config = client.image_config(ref.path, manifest)
        created, labels = _config_facts(config)
        platform = platform_key(config) or UNKNOWN_PLATFORM
        platforms.append(
            PlatformInfo(platform, manifest.digest, manifest.compressed_size, created, labels)
        )
    tag_digest = None
    if ref.tag is not None and ref.digest is not None:
        tag_digest = client.tag_digests(ref.path, [ref.tag]).get(ref.tag)
    return Inspection(
        reference=ref,
        reachable=True,
        tag_digest=tag_digest,
        digest=manifest.digest,
        media_type=manifest.media_type,
        is_index=manifest.is_index,
        platforms=tuple(platforms),
        attestations=len(manifest.attestations),
        annotations=manifest.annotations,
    )
