"""What a published release must look like: pure rules over fetched facts.

The verify stage fetches facts from the registries (which tag points where,
what each index holds, which children and blobs are fetchable, how big each
platform image is) and these rules turn them into a list of every defect, not
just the first:

* every expected tag exists on every registry;
* each pin points at the index the release's record names (when there is a record);
* all tags of one PHP line resolve to one index digest, identical on every registry;
* the index holds exactly the configured platforms (attestations are not platforms);
* every child manifest and blob is there (one the registry sends altered is its
  invalid response, below);
* each platform image's compressed size (config + layers) is within the budget;
* each platform image is what the index lists it as: its config's ``os``,
  ``architecture`` (and ``variant``, when both name one) are the platform's, and its
  ``org.opencontainers.image.version`` label, when it has one, is the line's pin
  (``vX.Y.Z-php-A.B``: the build sets it, so an image of another release says so).

A registry that could not be reached is one defect (``unreachable``, its error in
words), and so is one that rate-limited the reads past the retries (``rate-limited``) or
that named other content than it served or sent a body not matching its digest
(``invalid-response``), or that refused the reads (401/403: ``refused-read``); the rules
then judge the other registries, without it. A blob a registry holds with another size than its
descriptor's (``damaged-blob``) is one defect of the image it belongs to: the rest of that
registry is judged all the same.

Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..resolve import STAND_IN_IMAGES, platform_key, short_digest
from .locations import DEFAULT as DEFAULT_LOCATIONS
from .locations import Locations
from .manifest import STAND_IN_LABEL, VERSION_LABEL
from .plan import Started, either, in_matrix_order, is_floating_tag
from .platforms import Platform
from .sizes import human_size
from .smoke_rules import NOT_PHP_SUFFIX


@dataclass(frozen=True)
class BuiltAs:
    """What a platform image's config says it is (None: it does not say)."""

    #: ``linux/arm64``: its config's os, architecture and variant
    platform: str | None
    #: its config's ``os``, ``architecture`` and ``variant`` as they are
    fields: tuple[str | None, str | None, str | None] = (None, None, None)
    #: its ``org.opencontainers.image.version`` label: the pin it was built for
    version: str | None = None
    #: its ``dev.publisher.stand-in`` label is ``true``: built FROM a STAND-IN base
    stand_in: bool = False


def built_as(config: Mapping[str, Any]) -> BuiltAs:
    """What an image ``config`` (its JSON) says the image is."""

    def text(name: str) -> str | None:
        value = config.get(name)
        return value if isinstance(value, str) and value else None

    os_name, arch, variant = text("os"), text("architecture"), text("variant")
    inner = config.get("config")
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    version = labels.get(VERSION_LABEL) if isinstance(labels, Mapping) else None
    return BuiltAs(
        platform_key({"os": os_name, "architecture": arch, "variant": variant})
        if os_name and arch
        else None,
        (os_name, arch, variant),
        version if isinstance(version, str) and version else None,
        stand_in=isinstance(labels, Mapping) and stand_in_said(labels) is not None,
    )


def stand_in_said(labels: Mapping[str, Any], php_version: str | None = None) -> str | None:
    """How an image says it is a STAND-IN (built FROM a stand-in base), in words;
    None when it does not. The images are the truth, whatever a matrix says: the
    ``dev.publisher.stand-in=true`` label (``labels``: its config's, which a build
    inherits from its base), or its smoke test's ``php -v`` (``php_version``)."""
    if labels.get(STAND_IN_LABEL) == "true":
        return f"it carries the label {STAND_IN_LABEL}=true"
    if php_version is not None and php_version.endswith(NOT_PHP_SUFFIX):
        return f"its php -v says PHP {php_version}"
    return None


def image_mismatches(listed: str, built: BuiltAs, pin: str | None) -> list[tuple[str, str]]:
    """``(kind, words)`` for each way an image listed as ``listed`` (for the line's
    ``pin``) is something else: its config names another os or architecture (or another
    variant, when both name one), or its version label another pin. What the config
    does not say is not judged: images built before the label existed have none."""
    found: list[tuple[str, str]] = []
    os_name, arch, variant = built.fields
    want = listed.split("/")
    if os_name and arch and built.platform:
        other = [os_name, arch] != want[:2]
        if not other and variant and len(want) > 2:
            other = built.platform != platform_key(
                {"os": want[0], "architecture": want[1], "variant": want[2]}
            )
        if other:
            found.append(
                (
                    "platform-mismatch",
                    f"{listed} is an image built for {built.platform} (its config says os "
                    f"{os_name}, architecture {arch}"
                    + (f", variant {variant}" if variant else "")
                    + ")",
                )
            )
    if pin and built.version and built.version != pin:
        found.append(
            (
                "other-release",
                f"{listed} is an image built as {built.version!r} (its "
                f"{VERSION_LABEL} label), not for {pin}",
            )
        )
    return found


@dataclass(frozen=True)
class DamagedBlob:
    """A blob a registry holds with another size (the Content-Length of its HEAD) than the
    descriptor naming it says: a damaged copy (cut short in its storage), or a proxy in
    front of the registry altering the header."""

    #: which blob of which image: ``linux/amd64 layer 2 of 3 blob``, ``linux/amd64 config blob``
    named: str
    digest: str
    #: the bytes the registry says it holds (its HEAD's Content-Length)
    served: int
    #: the bytes the blob's descriptor says
    expected: int
    #: the registry as its requests name it (``ghcr (HOST)``), and the repository
    registry: str
    repository: str

    @property
    def words(self) -> str:
        """``linux/amd64 layer 1 of 1 blob sha256:… is damaged: ghcr (HOST) holds …``"""
        return (
            f"{self.named} {self.digest} is damaged: {self.registry} holds {self.served} "
            f"bytes of it in {self.repository} (the Content-Length of its HEAD), its "
            f"descriptor says {self.expected}"
        )


@dataclass(frozen=True)
class ImageFacts:
    """What one digest on one registry turned out to be."""

    registry: str
    digest: str
    is_index: bool = True
    #: platform -> compressed bytes of its image (config + layers), attestations excluded;
    #: the platforms as the index names them (text: it may hold one publisher never builds).
    platforms: Mapping[str, int] = field(default_factory=dict)
    #: platforms listed more than once in the index.
    duplicate_platforms: tuple[str, ...] = ()
    #: children or blobs that could not be fetched, each described in words.
    missing: tuple[str, ...] = ()
    #: how many of ``missing`` are blobs (a config or a layer) of a manifest the registry
    #: holds: a rerun copies them back to a registry other than the primary; on the
    #: primary neither a rerun nor ``audit --repair`` (it copies back the images a
    #: registry lacks) restores them.
    missing_blobs: int = 0
    #: how many of ``missing`` are manifests (a platform image, an attestation) the index
    #: lists and the registry does not have: a rerun copies them back to a registry other
    #: than the primary; ``audit --repair`` does on any registry for a recorded release.
    missing_manifests: int = 0
    #: platforms the index lists whose image could not be fetched (``missing`` says so):
    #: listed, so not absent from the index.
    unfetched: tuple[str, ...] = ()
    #: platform -> the digest of the image the index lists for it (the first one), to
    #: name the child of a platform that is not configured.
    children: Mapping[str, str] = field(default_factory=dict)
    #: the digests of the images the index lists without naming a platform (entries that
    #: are no attestation either): no platform, so never one of the configured ones.
    unplatformed: tuple[str, ...] = ()
    #: platform -> the index the index lists for it instead of an image (nested indexes,
    #: which publisher never writes: their images' sizes and content are not judged)
    nested: Mapping[str, str] = field(default_factory=dict)
    #: platform -> what its image's config says of it (``built_as``): its own platform
    #: and the pin it was built for (the images whose config could not be read left out)
    built: Mapping[str, BuiltAs] = field(default_factory=dict)
    #: the blobs (configs, layers) the registry holds with another size than their
    #: descriptors say: there, but damaged (not among ``missing``)
    damaged: tuple[DamagedBlob, ...] = ()
    #: set when the digest itself could not be read (then nothing else is known).
    error: str | None = None

    @property
    def listed(self) -> set[str]:
        """Every platform the index lists: an image read, one that could not be fetched,
        or an index in its place."""
        return {*self.platforms, *self.unfetched, *self.nested}


@dataclass(frozen=True)
class TagFacts:
    """Where one tag points on one registry (``digest`` None: the tag is missing)."""

    registry: str
    tag: str
    digest: str | None


@dataclass(frozen=True)
class LineExpectation:
    """What one PHP line of a release must look like."""

    php: str
    platforms: tuple[Platform, ...]
    budget_bytes: int
    #: registry name -> the tags this release puts on that line there.
    tags: Mapping[str, tuple[str, ...]]
    #: the index digest the release's record names for this line (None: no record).
    recorded: str | None = None
    #: the line's pin tags (``vX.Y.Z-php-A.B``, and ``vX.Y.Z`` on the default line).
    pins: tuple[str, ...] = ()
    #: platform -> the image digest the record lists in the recorded index (empty: no
    #: record): an index holding others contradicts the record, which was edited
    recorded_images: Mapping[str, str] = field(default_factory=dict)
    #: STAND-IN images are expected (matrix.yaml or the release's record says
    #: ``stand_in: true``); else an image labelled as one is a defect (``stand-in``)
    stand_in: bool = True


@dataclass(frozen=True)
class Defect:
    kind: str
    message: str
    php: str | None = None
    registry: str | None = None


#: Defects that mean a tag points at other content than the release's: a rerun of
#: the release refuses them (exit 14); ``audit --repair`` or a republish fixes them.
WRONG_PIN_KINDS = frozenset({"pin-moved", "tags-disagree", "registries-disagree"})

#: Defects that mean an index lists an image that is not what it lists it as: built for
#: another platform, or for another release (``image_mismatches``); a republish replaces it.
OTHER_CONTENT_KINDS = frozenset({"platform-mismatch", "other-release"})

#: A blob a registry holds with another size than its descriptor says: the check ends as
#: an invalid registry response (exit 8), every other defect listed beside it.
DAMAGED_BLOB = "damaged-blob"

#: Every kind of defect, documented for --json consumers.
KINDS = {
    "tag-missing": "an expected tag does not exist on a registry",
    "pin-moved": "a pin points at another index than the release's record names",
    "record-contradicted": "the index the record names holds other images than the record lists",
    "tags-disagree": "the tags of one line point at different digests on one registry",
    "floating-moved": "a floating tag points elsewhere than the line's pins on one registry",
    "registries-disagree": "one line has different digests on different registries",
    "unreadable": "a digest a tag points at could not be read (the registry lacks it; content it sends altered or malformed is invalid-response)",
    "not-an-index": "a line's digest is a single image, not a multi-arch index",
    "platform-missing": "a configured platform is absent from the index",
    "platform-extra": "the index holds a platform that is not configured",
    "platform-duplicate": "the index lists one platform twice",
    "platform-nested": "the index lists another index for a platform, not its image",
    "child-missing": "a child manifest or blob of the index cannot be fetched",
    "damaged-blob": "a registry holds a blob (a config or a layer) with another size than its descriptor says (the Content-Length of its HEAD): a damaged copy, or a proxy altering the header",
    "over-budget": "a platform image is larger than the size budget",
    "platform-mismatch": "a platform image's config names another os/architecture than the index lists it as",
    "other-release": "a platform image's version label names another pin than the line's (built for another release or line)",
    "stand-in": f"a platform image is labelled dev.publisher.stand-in=true (a STAND-IN image, {STAND_IN_IMAGES}) though neither matrix.yaml nor the release's record says stand_in: true",
    "unreachable": "a registry could not be reached: nothing on it was checked",
    "rate-limited": "a registry rate-limited the reads: nothing on it was checked",
    "invalid-response": "a registry sent an invalid response (content other than it named, a body not matching its digest, malformed or too large): nothing on it was checked",
    "refused-read": "a registry refused the reads (HTTP 401 or 403: the credentials, their scope, or a proxy denying them): nothing on it was checked",
}

#: The kinds of defect that say a registry did not answer (nothing on it was judged).
UNANSWERED_KINDS = ("unreachable", "rate-limited")
#: The kinds of defect that say nothing on a registry was judged (it did not answer, it
#: named other content than it served: a lying registry, or a proxy in front of it, or it
#: refused the reads).
NOT_JUDGED_KINDS = (*UNANSWERED_KINDS, "invalid-response", "refused-read")


def over_budget(platform: str, size: int, budget_bytes: int) -> str:
    """Exact bytes and the excess: rounding would print "700.0 MB, over the 700.0 MB budget"."""
    excess = size - budget_bytes
    return (
        f"{platform} is {size:,} bytes ({human_size(size)}), {excess:,} "
        f"{'byte' if excess == 1 else 'bytes'} over the {budget_bytes:,}-byte budget"
    )


def check_image(
    facts: ImageFacts,
    platforms: Sequence[Platform],
    budget_bytes: int,
    *,
    php: str | None = None,
    tags: Sequence[str] = (),
    pin: str | None = None,
    stand_in: bool = True,
) -> list[Defect]:
    """Defects of one index digest on one registry; ``tags`` (those pointing at it) name it;
    ``pin``: the line's pin, which each image's version label must name (when it has one);
    ``stand_in``: STAND-IN images are expected, else one labelled as such is a defect."""
    where = f"{facts.registry} {short_digest(facts.digest)}"
    if tags:
        named = ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        where = f"{facts.registry} {'tag' if len(tags) == 1 else 'tags'} {named} ({short_digest(facts.digest)})"
    line = f"PHP {php}: " if php else ""

    def defect(kind: str, message: str) -> Defect:
        return Defect(kind, f"{line}{where}: {message}", php, facts.registry)

    if facts.error is not None:
        return [defect("unreadable", facts.error)]
    defects: list[Defect] = []
    if not facts.is_index:
        defects.append(
            defect("not-an-index", "is a single-platform image, expected a multi-arch index")
        )
    expected = list(dict.fromkeys(platforms))
    for wanted in expected:
        if wanted not in facts.listed:
            defects.append(defect("platform-missing", f"{wanted} is missing"))
    configured = ", ".join(expected)
    for held in sorted(facts.listed):
        if held not in expected:
            child = facts.children.get(held)
            named = f" ({short_digest(child)})" if child else ""
            defects.append(
                defect(
                    "platform-extra",
                    f"holds {held}{named}, which is not configured ({configured})",
                )
            )
    for child in facts.unplatformed:
        defects.append(
            defect(
                "platform-extra",
                f"lists {short_digest(child)} with no platform (and not as an attestation): "
                f"it is none of the configured platforms ({configured})",
            )
        )
    for held, nested in sorted(facts.nested.items()):
        if held in expected:
            defects.append(
                defect(
                    "platform-nested",
                    f"lists {held} as the index {short_digest(nested)}, not as an image: "
                    "publisher's indexes list each platform's image (its size and content "
                    "were not judged)",
                )
            )
    for held in facts.duplicate_platforms:
        defects.append(defect("platform-duplicate", f"lists {held} more than once"))
    for item in facts.missing:
        defects.append(defect("child-missing", f"{item} cannot be fetched"))
    for blob in facts.damaged:
        defects.append(defect(DAMAGED_BLOB, blob.words))
    for held, built in sorted(facts.built.items()):
        for kind, words in image_mismatches(held, built, pin):
            defects.append(defect(kind, words))
        if built.stand_in and not stand_in:
            defects.append(
                defect(
                    "stand-in",
                    f"{held} is a STAND-IN image, {STAND_IN_IMAGES} (it carries the label "
                    f"{STAND_IN_LABEL}=true)",
                )
            )
    for held, size in sorted(facts.platforms.items()):
        if size > budget_bytes:
            defects.append(
                defect(
                    "over-budget",
                    over_budget(held, size, budget_bytes),
                )
            )
    return defects


def line_digests(expectation: LineExpectation, tags: Iterable[TagFacts]) -> dict[str, str | None]:
    """The digest each registry's tags of this line agree on (the most common; None if no tag).

    With the line's pins known, only they count: a registry the run did not reach holds
    the floating tags of an earlier release, which are not this release's digest."""
    per_registry: dict[str, Counter[str]] = {name: Counter() for name in expectation.tags}
    for fact in tags:
        if (
            fact.registry in per_registry
            and fact.digest
            and fact.tag in expectation.tags[fact.registry]
            and (not expectation.pins or fact.tag in expectation.pins)
        ):
            per_registry[fact.registry][fact.digest] += 1
    result: dict[str, str | None] = {}
    for name, counter in per_registry.items():
        first_tag = expectation.tags[name][0] if expectation.tags[name] else None
        pinned = next(
            (f.digest for f in tags if f.registry == name and f.tag == first_tag and f.digest), None
        )
        result[name] = pinned or (counter.most_common(1)[0][0] if counter else None)
    return result


def moved_pins(
    expectation: LineExpectation, found: Mapping[tuple[str, str], str | None]
) -> list[tuple[str, str, str]]:
    """``(registry, tag, digest)`` for each pin of a recorded line that points at another
    index than the record names (moved by hand): ``found`` maps (registry, tag) to the
    digest it points at. Empty without a record."""
    if not expectation.recorded:
        return []
    return [
        (registry, tag, digest)
        for registry, wanted in expectation.tags.items()
        for tag in wanted
        if tag in expectation.pins
        and (digest := found.get((registry, tag)))
        and digest != expectation.recorded
    ]


def check_line(
    expectation: LineExpectation,
    tags: Sequence[TagFacts],
    images: Mapping[tuple[str, str], ImageFacts],
) -> list[Defect]:
    """Every defect of one PHP line across all registries.

    ``tags`` holds a fact for every expected (registry, tag); ``images`` the facts
    for each (registry, digest) those tags point at.
    """
    php = expectation.php
    defects: list[Defect] = []
    found = {(f.registry, f.tag): f.digest for f in tags}
    every_pin = {
        digest
        for registry in expectation.tags
        for tag in expectation.pins
        if (digest := found.get((registry, tag)))
    }
    #: the release's index for this line: the recorded one, else the one its pins agree on
    release_digest = expectation.recorded or (min(every_pin) if len(every_pin) == 1 else None)
    for registry, wanted in expectation.tags.items():
        for tag in wanted:
            if found.get((registry, tag)) is None:
                defects.append(
                    Defect(
                        "tag-missing",
                        f"PHP {php}: tag {tag!r} is missing on {registry}",
                        php,
                        registry,
                    )
                )
        digests = {found[(registry, t)] for t in wanted if found.get((registry, t))}
        pinned = {found[(registry, t)] for t in expectation.pins if found.get((registry, t))}
        if len(digests) > 1:
            # the pins hold the recorded index (without a record: the pins agree on every
            # registry, as a run leaves them when a registry refused its floating-tag
            # writes), a floating tag points elsewhere: a rerun moves it, since it
            # follows the pins. So it does where the pins are missing (the run stopped
            # before writing them), whatever earlier releases the floating tags carry.
            floating = (
                pinned == {expectation.recorded}
                if expectation.recorded
                else pinned == every_pin and len(every_pin) == 1
            ) or (not pinned and release_digest is not None)
            pointing = ", ".join(
                f"{t} -> {short_digest(found[(registry, t)])}"
                for t in wanted
                if found.get((registry, t))
            )
            said = f"the tags on {registry} point at different digests"
            target = min((d for d in pinned if d), default=release_digest)
            off = [
                t
                for t in wanted
                if t not in expectation.pins and found.get((registry, t)) not in (None, target)
            ]
            if floating and target and off:  # which floating tag is away from the pins
                said = (
                    f"the floating {'tag' if len(off) == 1 else 'tags'} {', '.join(off)} on "
                    f"{registry} {'points' if len(off) == 1 else 'point'} elsewhere than the "
                    f"release's {short_digest(target)}"
                )
            defects.append(
                Defect(
                    "floating-moved" if floating else "tags-disagree",
                    f"PHP {php}: {said} ({pointing})",
                    php,
                    registry,
                )
            )
        elif not pinned and digests and release_digest and digests != {release_digest}:
            # no pin here (the run stopped before writing them): the floating tags still
            # carry an earlier release, which a rerun moves once it writes the pins
            elsewhere = ", ".join(short_digest(d) for d in sorted(d for d in digests if d))
            defects.append(
                Defect(
                    "floating-moved",
                    f"PHP {php}: the floating tags on {registry} point at {elsewhere}, not at the "
                    f"release's {short_digest(release_digest)} (its pins are missing there)",
                    php,
                    registry,
                )
            )
    for registry, tag, digest in moved_pins(expectation, found):
        defects.append(
            Defect(
                "pin-moved",
                f"PHP {php}: {registry} tag {tag} points at {short_digest(digest)}, "
                f"the release's record names {short_digest(expectation.recorded)}",
                php,
                registry,
            )
        )
    agreed = line_digests(expectation, tags)
    distinct = {d for d in agreed.values() if d}
    if len(distinct) > 1:
        listing = ", ".join(f"{name} {short_digest(d)}" for name, d in agreed.items() if d)
        defects.append(
            Defect(
                "registries-disagree",
                f"PHP {php}: the registries hold different digests ({listing})",
                php,
            )
        )
    checked: set[tuple[str, str]] = set()
    for registry in expectation.tags:
        for tag in expectation.tags[registry]:
            digest = found.get((registry, tag))
            if not digest or (registry, digest) in checked:
                continue
            checked.add((registry, digest))
            facts = images.get((registry, digest))
            if facts is None:
                defects.append(
                    Defect(
                        "unreadable",
                        f"PHP {php}: {registry}: {short_digest(digest)} was not inspected",
                        php,
                        registry,
                    )
                )
                continue
            naming = [t for t in expectation.tags[registry] if found.get((registry, t)) == digest]
            if digest == expectation.recorded and facts.children:
                wrong = [
                    f"{platform} is {short_digest(facts.children.get(platform))}, the record "
                    f"says {short_digest(image)}"
                    for platform, image in expectation.recorded_images.items()
                    if facts.children.get(platform) != image
                ]
                if wrong:
                    defects.append(
                        Defect(
                            "record-contradicted",
                            f"PHP {php}: {registry}: the index the release's record names, "
                            f"{short_digest(digest)}, holds other images than the record lists "
                            f"({'; '.join(wrong)}): the record may have been edited; restore "
                            "it from git (`git log -p --` on it shows its changes)",
                            php,
                            registry,
                        )
                    )
            defects.extend(
                check_image(
                    facts,
                    expectation.platforms,
                    expectation.budget_bytes,
                    php=php,
                    tags=naming,
                    # judged against the line's pin: the release's index, not one a
                    # floating tag moved to (its defect says so)
                    pin=expectation.pins[0]
                    if expectation.pins and digest in {release_digest, *every_pin}
                    else None,
                    stand_in=expectation.stand_in,
                )
            )
    return defects


@dataclass(frozen=True)
class LineReport:
    php: str
    #: registry -> the digest the line's tags agree on there (None: no tag found).
    digests: Mapping[str, str | None]
    #: platform -> compressed size (from the first registry that had the line).
    sizes: Mapping[str, int]
    #: registry -> tag -> digest (None: missing).
    tags: Mapping[str, Mapping[str, str | None]]
    budget_bytes: int
    #: registry -> platform -> compressed size of the digest found there.
    registry_sizes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    release: str
    lines: tuple[LineReport, ...]
    defects: tuple[Defect, ...]
    #: checked against the release's record (pins compared with its digests)
    recorded: bool = False
    #: registry name -> why it could not be reached (nothing on it was checked)
    unreachable: Mapping[str, str] = field(default_factory=dict)
    #: registry name -> what to check on it, from its error (None: no advice of its own)
    advice: Mapping[str, str | None] = field(default_factory=dict)
    #: registry name -> what it said when it rate-limited the reads (nothing on it was checked)
    rate_limited: Mapping[str, str] = field(default_factory=dict)
    #: some registry holds a manifest of the release without one of its blobs
    blobs_gone: bool = False
    #: some registry holds an index of the release without one of the manifests it lists
    children_gone: bool = False
    #: the primary is among the registries holding a manifest of the release without one
    #: of its blobs or children (unknown, without the primary's name or when the primary
    #: did not answer: taken as so); a rerun copies back from the primary what another
    #: registry lost, not what the primary did
    gone_on_primary: bool = True
    #: a pin points at an index that lists an image of a platform the line is not
    #: published for, an image naming no platform, or an index in place of a platform's
    #: image: content a rerun refuses to replace
    foreign_pins: bool = False
    #: registry name -> the content it named but did not serve (nothing on it was checked)
    invalid: Mapping[str, str] = field(default_factory=dict)
    #: registry name -> its refusal of the reads (401/403; nothing on it was checked)
    refused: Mapping[str, str] = field(default_factory=dict)
    #: every registry checked, in matrix.yaml's order (the primary first): the order in
    #: which messages name them (``in_matrix_order``)
    registries: tuple[str, ...] = ()
    #: the location options of the run, which the commands its tips name carry
    locations: Locations = field(default=DEFAULT_LOCATIONS, compare=False, repr=False)
    #: without a record: the lines whose pins the primary holds, when fewer than a rerun
    #: would build (``plan.started_with``), which the rerun its tip names is given
    started: Started | None = None
    #: the pins of a recorded release that point at another index than its record names
    #: (moved by hand), as ``"ghcr v1.0.0-php-8.3"``: what ``audit --repair`` points back
    off_record: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.defects

    @property
    def left_out(self) -> tuple[str, ...]:
        """The lines a rerun without --only would add to a release without a record whose
        run was narrowed (``started.whole``: ``plan.as_started``), not checked: expected
        absent, as the rerun its tip names leaves them."""
        if self.started is None or not self.started.whole:
            return ()
        checked = {line.php for line in self.lines}
        return tuple(php for php in self.started.added if php not in checked)

    @property
    def unanswered(self) -> dict[str, str]:
        """Every registry not checked (unreachable or rate-limited) -> what it said."""
        return {**self.unreachable, **self.rate_limited}

    @property
    def only_unanswered(self) -> bool:
        """Every defect is a registry that did not answer: nothing wrong was found."""
        return bool(self.defects) and all(d.kind in UNANSWERED_KINDS for d in self.defects)

    @property
    def nothing_published(self) -> bool:
        """No record, and not one pin of the release on a registry that answered: the
        release was never published (or its tag is mistyped). Floating tags do not
        count: ``php-X.Y`` and ``latest`` hold an earlier release's content until this
        one moves them."""
        return (
            not self.recorded
            and bool(self.lines)
            and not any(
                digest
                for line in self.lines
                for registry, tags in line.tags.items()
                if registry not in self.unanswered
                and registry not in self.invalid
                and registry not in self.refused
                for tag, digest in tags.items()
                if not is_floating_tag(tag)
            )
        )

    @property
    def damaged(self) -> list[str]:
        """The registries holding a blob of the release damaged, in matrix.yaml's order."""
        held = (d.registry for d in self.defects if d.kind == DAMAGED_BLOB and d.registry)
        return in_matrix_order(held, self.registries)

    @property
    def wrong_pins(self) -> bool:
        """Some tag points at other content than the release's (see WRONG_PIN_KINDS)."""
        return any(d.kind in WRONG_PIN_KINDS for d in self.defects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "ok": self.ok,
            "lines": [
                {
                    "php": line.php,
                    "digests": dict(line.digests),
                    "sizes": dict(sorted(line.sizes.items())),
                    "budget_bytes": line.budget_bytes,
                    "tags": {name: dict(tags) for name, tags in line.tags.items()},
                    "registry_sizes": {
                        name: dict(sorted(sizes.items()))
                        for name, sizes in line.registry_sizes.items()
                    },
                }
                for line in self.lines
            ],
            "defects": [asdict(d) for d in self.defects],
            "unreachable": dict(sorted(self.unreachable.items())),
            "rate_limited": dict(sorted(self.rate_limited.items())),
            "refused": dict(sorted(self.refused.items())),
            "left_out": list(self.left_out),
        }


def line_report(
    expectation: LineExpectation,
    tags: Sequence[TagFacts],
    images: Mapping[tuple[str, str], ImageFacts],
) -> LineReport:
    agreed = line_digests(expectation, tags)
    sizes: dict[str, int] = {}
    registry_sizes: dict[str, dict[str, int]] = {}
    for registry, digest in agreed.items():
        facts = images.get((registry, digest)) if digest else None
        if facts and facts.platforms:
            registry_sizes[registry] = dict(facts.platforms)
            if not sizes:
                sizes = dict(facts.platforms)
    tag_map: dict[str, dict[str, str | None]] = {name: {} for name in expectation.tags}
    for fact in tags:
        if fact.registry in tag_map:
            tag_map[fact.registry][fact.tag] = fact.digest
    return LineReport(
        expectation.php, agreed, sizes, tag_map, expectation.budget_bytes, registry_sizes
    )


def build_report(
    release: str,
    expectations: Sequence[LineExpectation],
    tags: Sequence[TagFacts],
    images: Mapping[tuple[str, str], ImageFacts],
    unreachable: Mapping[str, str] | None = None,
    rate_limited: Mapping[str, str] | None = None,
    *,
    primary: str | None = None,
    invalid: Mapping[str, str] | None = None,
    refused: Mapping[str, str] | None = None,
    registries: Sequence[str] = (),
) -> Report:
    """Apply every rule to every line; the report lists every defect found.

    ``unreachable``, ``rate_limited``, ``invalid`` and ``refused`` (registry name -> its
    error in words) are registries that could not be read, that named other content than
    they served, or that refused the reads: each is one defect, and the lines are judged on the others. ``primary``: the primary registry's name (see
    ``Report.gone_on_primary``). ``registries``: every registry checked, in matrix.yaml's
    order, which the defects of those not read follow.
    """
    limited = dict(rate_limited or {})
    down = {**(unreachable or {}), **limited}
    down = {name: down[name] for name in in_matrix_order(down, registries)}
    defects: list[Defect] = [
        Defect(
            "rate-limited" if name in limited else "unreachable",
            f"{name}: "
            + ("rate-limited the reads" if name in limited else "could not be reached")
            + f", so nothing on it was checked: {error}",
            None,
            name,
        )
        for name, error in down.items()
    ]
    lying = dict(invalid or {})
    lying = {name: lying[name] for name in in_matrix_order(lying, registries)}
    defects += [
        Defect(
            "invalid-response",
            f"{name}: sent an invalid response, so nothing on it was checked: {error}",
            None,
            name,
        )
        for name, error in lying.items()
    ]
    denied = dict(refused or {})
    denied = {name: denied[name] for name in in_matrix_order(denied, registries)}
    defects += [
        Defect(
            "refused-read",
            f"{name}: refused the reads, so nothing on it was checked: {error}",
            None,
            name,
        )
        for name, error in denied.items()
    ]
    down = {**down, **lying, **denied}
    if down:
        expectations = [
            replace(e, tags={n: t for n, t in e.tags.items() if n not in down})
            for e in expectations
        ]
    recorded = any(e.recorded for e in expectations)
    answered = list(dict.fromkeys(name for e in expectations for name in e.tags))
    never = (
        not recorded
        and bool(answered)
        and not any(f.digest for f in tags if f.registry in answered and not is_floating_tag(f.tag))
    )
    if never:
        # Not one pin anywhere: the floating tags carry an earlier release, which today's
        # matrix says nothing about. The pins alone are reported, as one plain defect.
        expectations = [
            replace(
                e,
                tags={
                    n: tuple(t for t in ts if not is_floating_tag(t)) for n, ts in e.tags.items()
                },
            )
            for e in expectations
        ]
        tags = [f for f in tags if not is_floating_tag(f.tag)]
        pins = dict.fromkeys(t for e in expectations for ts in e.tags.values() for t in ts)
        defects.append(
            Defect(
                "tag-missing",
                f"nothing of {release} is published: not one of its pins ({', '.join(pins)}) "
                f"is on {either(answered)}",
                None,
                None,
            )
        )
    lines = []
    for expectation in expectations:
        line_tags = [
            f
            for f in tags
            if f.registry in expectation.tags and f.tag in expectation.tags[f.registry]
        ]
        if not never:
            defects.extend(check_line(expectation, line_tags, images))
        lines.append(line_report(expectation, line_tags, images))
    reached = {
        name: error
        for name, error in down.items()
        if name not in limited and name not in lying and name not in denied
    }
    return Report(
        release,
        tuple(lines),
        tuple(defects),
        recorded,
        reached,
        rate_limited=limited,
        blobs_gone=any(facts.missing_blobs for facts in images.values()),
        children_gone=any(facts.missing_manifests for facts in images.values()),
        gone_on_primary=primary is None
        or primary in down
        or any(
            facts.missing_blobs or facts.missing_manifests
            for (name, _), facts in images.items()
            if name == primary
        ),
        foreign_pins=any(_pins_foreign(e, tags, images) for e in expectations),
        invalid=lying,
        off_record=tuple(
            f"{registry} {tag}"
            for e in expectations
            for registry, tag, _ in moved_pins(e, {(f.registry, f.tag): f.digest for f in tags})
        ),
        refused=denied,
        registries=tuple(registries),
    )


def holds_foreign(facts: ImageFacts, platforms: Sequence[Platform]) -> bool:
    """The index lists an image of a platform not among ``platforms``, one naming none, or
    an index in place of a platform's image: content publish never writes."""
    return bool(facts.unplatformed or facts.nested) or any(p not in platforms for p in facts.listed)


def _pins_foreign(
    expectation: LineExpectation,
    tags: Sequence[TagFacts],
    images: Mapping[tuple[str, str], ImageFacts],
) -> bool:
    """A pin of the line points at an index that ``holds_foreign`` content."""
    for fact in tags:
        if fact.digest is None or fact.tag not in expectation.pins:
            continue
        if fact.registry not in expectation.tags:
            continue
        facts = images.get((fact.registry, fact.digest))
        if (
            facts is not None
            and facts.error is None
            and holds_foreign(facts, expectation.platforms)
        ):
            return True
    return False
