"""Online inspection of one image reference: can we reach it, and what is it?

What the stack's maintainers called "validate image accessibility before
deploying": the normalized reference, reachable or the classified reason, the
digest, the platforms with their compressed sizes, and labels/created where the
image config has them. Public images are read anonymously; private ones with
the credentials of a matching matrix.yaml registry or the docker config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..adapters.registry import Descriptor, Manifest, RegistryClient, config_labels
from ..adapters.registry.transport import ALTERED_HINT
from ..core.errors import (
    InvalidResponseError,
    NotFoundError,
    PublisherError,
    StoppedError,
    printable,
)
from ..core.manifest import VERSION_LABEL
from ..core.reference import Reference
from ..core.version import is_release_tag
from ..resolve import INDEX_TYPES, UNKNOWN_PLATFORM, platform_key, split_pin_tag
from .parallel import in_parallel


@dataclass(frozen=True)
class PlatformInfo:
    platform: str
    digest: str
    size: int
    created: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: where ``platform`` was read: "index" (the index's entry for the image), "config"
    #: (the image's config: a single image, or an index entry that names none), None
    #: (neither names one: ``platform`` is unknown/unknown)
    platform_from: str | None = "index"
    #: an index's entry that names no platform (``platform`` is then its config's)
    unnamed: bool = False

    def label(self) -> str:
        """The platform as the table says it: for an index entry that names none, where
        the platform shown comes from."""
        if not self.unnamed:
            return self.platform
        if self.platform_from is None:
            return f"{self.platform} (neither the index nor its config names one)"
        return f"{self.platform} (from its config; the index names none)"


@dataclass(frozen=True)
class Missing:
    """Content an index or image names that the registry does not hold."""

    #: the platform of the image it belongs to ("unknown" when the index does not say)
    platform: str
    digest: str
    #: "manifest" (an image or nested index the index lists) or "config" (an image's config blob)
    kind: str
    #: for a config: the digest of the image (manifest) that names it, the platform's digest
    image: str | None = None
    #: an index's entry that names no platform (``platform`` is then "unknown")
    unnamed: bool = False

    #: what the table's compressed column says of it, for a manifest and for a config
    STATE = ("missing", "config missing")

    @property
    def platform_digest(self) -> str:
        """The digest of the platform's image: what the table's digest column shows."""
        return self.image or self.digest

    def words(self) -> str:
        what = "image" if self.kind == "manifest" else "image's config"
        if self.platform == "unknown":  # an entry naming no platform (a nested index, ...)
            return f"an {what} it lists ({self.digest})"
        return f"its {self.platform} {what} ({self.digest})"

    def state(self) -> str:
        return self.STATE[self.kind != "manifest"]

    def to_dict(self) -> dict[str, str]:
        return {"platform": self.platform, "digest": self.digest, "kind": self.kind}

    def label(self) -> str:
        """The platform as the table says it: for an index entry that names none, so."""
        return f"{self.platform} (the index names none)" if self.unnamed else self.platform


@dataclass(frozen=True)
class Unreadable(Missing):
    """Content an index or image names that the registry sent altered or malformed:
    ``error`` (the registry's answer refused) says how."""

    error: InvalidResponseError | None = field(default=None, compare=False)

    STATE = ("unreadable", "config unreadable")


def _missing(child: Descriptor, kind: str) -> Missing:
    """An index's entry ``child`` whose ``kind`` the registry lacks: its platform, or
    "unknown" when the entry names none."""
    return Missing(child.platform or "unknown", child.digest, kind, unnamed=child.platform is None)


def _printable(values: Mapping[str, str]) -> dict[str, str]:
    """Labels or annotations as the registry sent them, but for a lone surrogate its
    JSON escape may hold ("\\udcff"), written as text (``printable``) strict readers take."""
    return {printable(key): printable(value) for key, value in values.items()}


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
    #: where the tag points now (None: the registry does not have it, or ``tag_error`` says
    #: why that could not be read). The digest is what was inspected; the tag is only looked up.
    tag_digest: str | None = None
    #: why the tag could not be looked up (after the retries), or the index it points at
    #: read to tell whether it lists the digest: the digest, what a pins file names and
    #: what is pulled, was read all the same, so the inspection stands
    tag_error: PublisherError | None = None
    #: when ``tag_digest`` is an index that lists the digest inspected: the platform it
    #: lists it as (the reference named one platform's image of the tag's index)
    tag_lists_as: str | None = None
    #: content the index or image names that the registry lacks (then ``error`` says so)
    missing: tuple[Missing, ...] = ()
    #: content the index or image names that the registry sent altered or malformed (then
    #: ``error`` names the first)
    unreadable: tuple[Unreadable, ...] = ()
    #: ``platforms``, ``missing`` and ``unreadable`` together, in the order the index lists them
    listed: tuple[PlatformInfo | Missing, ...] = ()
    #: the pin tag (``vX.Y.Z-php-X.Y``) the image says it was built as: the index's
    #: version annotation, else the version label every platform image carries alike
    #: (None: neither names a pin)
    pin: str | None = None
    #: where ``pin`` points in the same repository (None: it is not a tag there, or
    #: ``pin_error`` says why that could not be read)
    pin_digest: str | None = None
    #: why the pin could not be looked up (one request, not retried: a side lookup never
    #: fails the inspection)
    pin_error: PublisherError | None = None

    @property
    def tag_checked(self) -> bool:
        return self.reference.tag is not None and self.reference.digest is not None

    def tag_words(self) -> str | None:
        """Where the tag of a ``repo:tag@digest`` reference points, in words (None: no such pair)."""
        if not self.tag_checked:
            return None
        tag = self.reference.tag
        if self.tag_error is not None:
            return (
                f"{tag} could not be checked (its lookup failed: {self.tag_error.message}); "
                "the digest named was inspected"
            )
        if self.tag_digest is None:
            return f"{tag} is not on the registry (the digest named was inspected)"
        if self.tag_digest == self.digest:
            return f"{tag} points at this digest"
        if self.tag_lists_as is not None:
            return (
                f"{tag} points at the index {self.tag_digest}, which lists this digest as its "
                f"{self.tag_lists_as} image"
            )
        if self._another_pins_digest():
            return (
                f"{tag} points at {self.tag_digest}, not at the digest given, {self.digest}, "
                f"which is {self.pin}'s: the reference pairs {tag} with another release or "
                "line's digest (the digest named was inspected)"
            )
        return (
            f"{tag} now points at {self.tag_digest}, not at this digest (republished or moved "
            "since the reference was written; the digest named was inspected)"
        )

    def _another_pins_digest(self) -> bool:
        """The reference's tag is a pin or release tag (``vX.Y.Z-php-X.Y``, ``vX.Y.Z``),
        which never moves to another pin's image, yet the digest given is another pin's:
        a mismatched pair, not a tag moved since."""
        tag = self.reference.tag
        return (
            tag is not None
            and (split_pin_tag(tag) is not None or is_release_tag(tag))
            and self.pin is not None
            and self.pin != tag
            and self.pin_digest == self.digest
        )

    def pin_words(self) -> str | None:
        """Which pin tag this is, in words ("latest is v1.2.0-php-8.4"); None when the image
        names no pin, or the reference's tag is that pin."""
        if self.pin is None or self.reference.tag == self.pin:
            return None
        # The tag of a repo:tag@digest names this image only when it points at it.
        here = self.reference.tag is not None and (
            not self.tag_checked or self.tag_digest == self.digest
        )
        name = self.reference.tag if here else "this digest"
        if self.pin_error is not None:
            return (
                f"built as {self.pin}; where {self.pin} points is unknown (its lookup failed: "
                f"{self.pin_error.message})"
            )
        if self.pin_digest == self.digest:
            return f"{name} is {self.pin} (the pin tag points at this digest)"
        if self.pin_digest is None:
            return (
                f"built as {self.pin}, which is not a tag of {self.reference.name} (not "
                "published here, or deleted)"
            )
        return (
            f"built as {self.pin}, but {self.pin} now points at {self.pin_digest} "
            "(republished or moved since)"
        )

    def label_lines(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Each label value with the platforms that carry it: () when every platform does
        (sorted by key, then by the first platform)."""
        every = tuple(p.platform for p in self.platforms)
        carried: dict[tuple[str, str], list[str]] = {}
        for info in self.platforms:
            for key, value in info.labels.items():
                carried.setdefault((key, value), []).append(info.platform)
        return [
            (key, value, () if tuple(where) == every else tuple(where))
            for (key, value), where in sorted(
                carried.items(), key=lambda item: (item[0][0], every.index(item[1][0]))
            )
        ]

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
                    "labels": _printable(p.labels),
                    "platform_from": p.platform_from,
                }
                for p in self.platforms
            ],
            "attestations": self.attestations,
            "missing": [m.to_dict() for m in self.missing],
            "unreadable": [u.to_dict() for u in self.unreadable],
            "annotations": _printable(self.annotations),
            "tag": (
                {
                    "name": self.reference.tag,
                    "digest": self.tag_digest,
                    "matches": (
                        None
                        if self.tag_error is not None
                        else self.tag_digest is not None and self.tag_digest == self.digest
                    ),
                    "lists_as": self.tag_lists_as,
                    "error": None if self.tag_error is None else self.tag_error.to_dict(),
                }
                if self.tag_checked and self.reachable
                else None
            ),
            "pin": (
                {
                    "name": self.pin,
                    "digest": self.pin_digest,
                    "matches": (
                        None
                        if self.pin_error is not None
                        else self.pin_digest is not None and self.pin_digest == self.digest
                    ),
                    "error": None if self.pin_error is None else self.pin_error.to_dict(),
                }
                if self.pin is not None
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


def _incomplete(ref: Reference, manifest: Manifest, missing: list[Missing]) -> NotFoundError:
    """The error for an index (or image) that names content the registry lacks."""
    kind = "index" if manifest.is_index else "image"
    listed = ", ".join(
        m.words() if manifest.is_index else f"its config ({m.digest})" for m in missing
    )
    verb = "is" if len(missing) == 1 else "are"
    return NotFoundError(
        f"{ref} is the {kind} {manifest.digest}, but {listed} {verb} missing from "
        f"{ref.name}: the {kind} is incomplete",
        registry=ref.domain,
        status=404,
        hint=(
            "push the image again with every platform (each platform's image before the "
            "index that lists it)"
            if manifest.is_index
            else "push the image again (its config and layers before its manifest)"
        ),
    )


def _unreadable(
    ref: Reference, manifest: Manifest, broken: Sequence[Unreadable]
) -> InvalidResponseError:
    """The error for an index (or image) whose content the registry sent altered or
    malformed: each such piece named, with what was wrong with it."""
    kind = "index" if manifest.is_index else "image"
    causes = [(p, p.error) for p in broken if p.error is not None]
    said = "; ".join(
        f"{p.words() if manifest.is_index else f'its config ({p.digest})'} cannot be read: "
        f"{cause.message}"
        for p, cause in causes
    )
    first = causes[0][1]
    return InvalidResponseError(
        f"{ref} is the {kind} {manifest.digest}, but {said}",
        registry=first.registry,
        status=first.status,
        hint="; ".join(dict.fromkeys(cause.hint for _, cause in causes if cause.hint))
        or ALTERED_HINT,
    )


#: How deep an index may nest indexes (OCI allows it; publisher's own never do).
MAX_NESTING = 4


def index_entries(
    client: RegistryClient,
    path: str,
    index: Manifest,
    missing: list[Missing] | None = None,
    depth: int = 0,
) -> Iterator[Descriptor]:
    """Each image entry of ``index`` (attestations included), through nested indexes.

    An index may list another index (the OCI image-index spec asks consumers to follow
    it, as BuildKit does when it builds FROM it); an entry that names a platform narrows
    its nested index to that platform. A nested index the registry lacks is added to
    ``missing`` (raised when None).
    """
    for child in index.children:
        if child.media_type not in INDEX_TYPES:
            yield child
            continue
        if depth >= MAX_NESTING:
            raise InvalidResponseError(
                f"{path}: indexes nest more than {MAX_NESTING} deep (at {child.digest})",
                registry=client.host,
                hint=f"images are nested at most {MAX_NESTING} indexes deep: check that the "
                "reference names a container image, not another kind of artifact",
            )
        try:
            nested = client.get_manifest_by_digest(path, child.digest)
        except NotFoundError:
            if missing is None:
                raise
            missing.append(_missing(child, "manifest"))
            continue
        for entry in index_entries(client, path, nested, missing, depth + 1):
            if child.platform is None or entry.is_attestation or entry.platform == child.platform:
                yield entry


def _platform_info(
    ref: Reference, client: RegistryClient, image: Manifest, platform: str | None, listed: bool
) -> PlatformInfo | Missing:
    """What an image's config says, or the config it names and the registry lacks;
    ``platform``: what the index's entry names (None: it names none, or ``listed`` is
    False, an image not read through an index)."""
    config = image.config
    try:
        data = client.image_config(ref.path, image)
    except NotFoundError:
        if config is None:
            raise
        unnamed = listed and platform is None
        return Missing(platform or "unknown", config.digest, "config", image.digest, unnamed)
    created, labels = _config_facts(data)
    if platform is not None:
        return PlatformInfo(platform, image.digest, image.compressed_size, created, labels)
    configured = platform_key(data)
    return PlatformInfo(
        configured or UNKNOWN_PLATFORM,
        image.digest,
        image.compressed_size,
        created,
        labels,
        platform_from=None if configured is None else "config",
        unnamed=listed,
    )


def _listed_as(client: RegistryClient, path: str, index: str, digest: str) -> str | None:
    """The platform the index at ``index`` lists ``digest`` as (None: it does not list it,
    or it is not an index, or it cannot be read)."""
    try:
        manifest = client.get_manifest_by_digest(path, index)
        entries = list(index_entries(client, path, manifest)) if manifest.is_index else []
    except (NotFoundError, InvalidResponseError):
        return None
    return next((e.platform or "unknown" for e in entries if e.digest == digest), None)


def _built_as(annotations: Mapping[str, str], platforms: tuple[PlatformInfo, ...]) -> str | None:
    """The pin tag an image says it was built as: the version annotation of the index (or
    image), else the version label of every platform image when they agree; None when that
    is no pin tag (``vX.Y.Z-php-X.Y``) or nothing says it."""
    named = annotations.get(VERSION_LABEL)
    if named is None:
        values = {p.labels.get(VERSION_LABEL) for p in platforms}
        named = values.pop() if len(values) == 1 else None
    split = split_pin_tag(named) if named else None
    return named if split is not None and is_release_tag(split[0]) else None


#: What one platform's read gives: its facts, what the registry lacks, or what it sent broken.
Found = PlatformInfo | Missing


def inspect_reference(ref: Reference, client: RegistryClient) -> Inspection:
    """Inspect ``ref``; raises the classified error when it cannot be read.

    An index (or image) the registry answered for but whose content it lacks in part
    (a platform's image, a config) or sends broken is an inspection all the same, with
    what could be read, every missing piece in ``missing``, every broken one in
    ``unreadable``, and ``error`` naming them.
    """
    manifest = client.get_manifest(ref)
    missing: list[Missing] = []
    attestations = 0

    def unreadable(exc: InvalidResponseError, piece: Missing) -> Unreadable:
        """A platform's image or config the registry sent broken: ``ref`` itself was read."""
        return Unreadable(
            piece.platform, piece.digest, piece.kind, piece.image, piece.unnamed, error=exc
        )

    def describe(image: Manifest, platform: str | None) -> Found:
        try:
            return _platform_info(ref, client, image, platform, manifest.is_index)
        except InvalidResponseError as exc:
            config = image.config.digest if image.config else image.digest
            unnamed = manifest.is_index and platform is None
            piece = Missing(platform or "unknown", config, "config", image.digest, unnamed)
            return unreadable(exc, piece)

    def read(child: Descriptor) -> Found:
        try:
            image = client.get_manifest_by_digest(ref.path, child.digest)
        except NotFoundError:
            return _missing(child, "manifest")
        except InvalidResponseError as exc:
            return unreadable(exc, _missing(child, "manifest"))
        return describe(image, child.platform)

    found: list[Found]
    if manifest.is_index:
        # What the index lists, in its order: each image entry, and in its place each
        # nested index the registry lacks (added to ``missing`` as the entries are read).
        listed: list[Descriptor | Missing] = []
        for entry in index_entries(client, ref.path, manifest, missing):
            listed += [*missing, entry]
            missing.clear()
        listed += missing
        missing.clear()
        images = [d for d in listed if isinstance(d, Descriptor) and not d.is_attestation]
        attestations = sum(isinstance(d, Descriptor) for d in listed) - len(images)
        # Several platforms at a time, in the index's order (the index's read authenticated).
        read_images = iter(in_parallel(read, images))
        found = [
            item if isinstance(item, Missing) else next(read_images)
            for item in listed
            if isinstance(item, Missing) or not item.is_attestation
        ]
    else:
        found = [describe(manifest, None)]
    platforms = tuple(p for p in found if isinstance(p, PlatformInfo))
    broken = [p for p in found if isinstance(p, Unreadable)]
    missing += [p for p in found if isinstance(p, Missing) and not isinstance(p, Unreadable)]
    tag_digest = tag_lists_as = tag_error = None
    if ref.tag is not None and ref.digest is not None:
        try:  # retried as any read; a tag that still fails leaves the digest's facts standing
            tag_digest = client.tag_digests(ref.path, [ref.tag]).get(ref.tag)
        except StoppedError:
            raise
        except PublisherError as exc:
            tag_error = exc
        if tag_digest is not None and tag_digest != manifest.digest:
            try:  # part of the tag's lookup: an index that cannot be read is said as one
                tag_lists_as = _listed_as(client, ref.path, tag_digest, manifest.digest)
            except StoppedError:
                raise
            except PublisherError as exc:
                tag_error = exc
    # Which pin tag this is ("latest is v1.2.0-php-8.4"): one HEAD of the pin the image
    # names, none when the reference's tag is that pin.
    pin = _built_as(manifest.annotations, platforms)
    pin_digest = pin_error = None
    if pin is not None:
        if pin != ref.tag:
            try:  # one try: a side lookup that fails is said, never the inspection's failure
                pin_digest = client.tag_digests(ref.path, [pin], attempts=1).get(pin)
            except StoppedError:
                raise
            except PublisherError as exc:
                pin_error = exc
        elif ref.digest is not None:  # the pin is the tag looked up: where it points, or why not
            pin_digest, pin_error = tag_digest, tag_error
        else:
            pin_digest = manifest.digest
    return Inspection(
        reference=ref,
        reachable=True,
        tag_digest=tag_digest,
        tag_error=tag_error,
        tag_lists_as=tag_lists_as,
        digest=manifest.digest,
        media_type=manifest.media_type,
        is_index=manifest.is_index,
        platforms=platforms,
        attestations=attestations,
        annotations=manifest.annotations,
        missing=tuple(missing),
        unreadable=tuple(broken),
        listed=tuple(found),
        pin=pin,
        pin_digest=pin_digest,
        pin_error=pin_error,
        error=_unreadable(ref, manifest, broken)
        if broken
        else _incomplete(ref, manifest, missing)
        if missing
        else None,
    )
