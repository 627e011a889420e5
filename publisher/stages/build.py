"""The build stage: one leg is one (PHP line, platform).

A leg resolves the base image to a digest, builds FROM that digest, pushes the
image by digest (never under a tag) to the primary registry and writes a digest
record atomically. Legs can run on different machines (GitHub Actions fans out
one job per leg) or in parallel in one process (``publisher release``).

A leg is not rebuilt when the release already holds its image: when the
release's pin (``vX.Y.Z-php-A.B``) is on the primary registry, the leg's record
is written from the image that pin holds for its platform, whatever the bases
did since (pins are the truth of what a release published; only a republish
rebuilds). Likewise a leg whose record already names an image present on the
primary, built from the same Dockerfile and base, is not rebuilt: that is what
lets a rerun finish a failed release without rebuilding what was pushed.
"""

from __future__ import annotations

import errno
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..adapters.builders import Builder, BuildRequest
from ..adapters.builders.layout import read_layout
from ..adapters.localregistry import out_of_room_under
from ..adapters.output import Output
from ..adapters.registry import RegistryClient
from ..adapters.runner import tmpdir_full
from ..adapters.smoke import rehearsal_hint
from ..core import lifecycle
from ..core.config import Config, Line
from ..core.errors import (
    ConfigError,
    MissingDockerfileError,
    NotFoundError,
    OversizedDockerfileError,
    PublisherError,
    ReleaseConflictError,
    UsageError,
    file_error,
    shown_path,
    threads_limited,
)
from ..core.fileio import read_bytes, temp_dir
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations, shell_command
from ..core.manifest import DOCKERFILE_LABEL, VERSION_LABEL, config_labels
from ..core.plan import line_tag, pin_tag
from ..core.platforms import BuilderName
from ..core.publish_plan import lost_blob_hint, lost_image_hint, off_record_hint, still_on
from ..core.records import (
    DigestRecord,
    Leg,
    check_not_newer,
    replaced_file,
    replaced_warning,
    usable_records,
    write_record_file,
)
from ..core.reference import Reference, parse
from ..core.render import MAX_DOCKERFILE_BYTES, built_extensions, render_command, rewrite_hint
from ..core.verify_rules import stand_in_said
from ..core.version import Release
from ..resolve import STAND_IN_IMAGES, is_digest, sha256_digest
from .clients import ClientFactory
from .parallel import holds, in_parallel
from .republish_check import ELSEWHERE, serves

#: The builder named in a record taken from a published pin instead of a build.
PUBLISHED_BUILDER = "published"

#: The OCI label the Dockerfile sets to the digest-pinned base image.
BASE_LABEL = "org.opencontainers.image.base.name"
#: The OCI label of the source revision (commit) an image was built from.
REVISION_LABEL = "org.opencontainers.image.revision"


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How the images are built."""

    #: builds in parallel
    jobs: int = 2
    #: reuse an image the release's pin or an earlier record already holds
    reuse: bool = True
    #: without ``reuse`` (a republish): still reuse the images an interrupted run of the
    #: same command built and pushed, from the records it left where this run writes its
    #: own (never a finished run's, moved out of there): its rerun finishes that run
    resume: bool = False
    #: RFC 3339 build date (``SOURCE_DATE_EPOCH``); empty: now
    created: str = ""
    #: the source revision the images are labelled with
    revision: str = ""
    #: buildx: attach provenance and SBOM attestations to every image
    attestations: bool = False
    #: the location options the run was given, which a tip naming a command carries
    locations: Locations = DEFAULT_LOCATIONS


def legs(config: Config) -> tuple[Leg, ...]:
    """Every (line, platform) of the selected lines, in configured order."""
    return tuple(Leg(line.php, p) for line in config.lines for p in line.platforms)


def dockerfile_sha256(config: Config, php: str, locations: Locations | None = None) -> str:
    """The sha256 of the line's committed Dockerfile as it is now."""
    return sha256_digest(dockerfile_bytes(config, php, locations))


def dockerfile_bytes(config: Config, php: str, locations: Locations | None = None) -> bytes:
    """The line's committed Dockerfile as it is now (a build reads it once: ``_build_and_push``);
    ``locations``: the run's, which the render command its tips name carries."""
    path = config.dockerfile_path(php)
    render = render_command(config, locations=locations)
    try:
        data = read_bytes(
            path,
            limit=MAX_DOCKERFILE_BYTES,
            what="Dockerfile",
            hint=rewrite_hint(config, locations),
        )
    except FileNotFoundError:  # removed since the run checked (require_committed)
        raise MissingDockerfileError(
            f"there is no committed Dockerfile for PHP {php} at {shown_path(path)}",
            hint=f"run `{render}` and commit the result",
        ) from None
    if len(data) > MAX_DOCKERFILE_BYTES:  # grown since the run checked (require_committed)
        raise OversizedDockerfileError(
            f"the committed Dockerfile for PHP {php} at {shown_path(path)} is larger than 1 MiB, "
            "so not "
            "one render wrote",
            hint=f"run `{render}` and commit the result",
        )
    return data


def resolve_base(config: Config, line: Line, client: RegistryClient) -> Reference:
    """The base image to build FROM, through the mirror and pinned by digest."""
    ref = config.base_pull_ref(line)
    # A pinned reference resolves to its own digest, which proves it exists.
    return Reference(ref.domain, ref.path, ref.tag, client.resolve(ref))


def reusable_record(
    paths: Sequence[Path],
    *,
    release: Release,
    leg: Leg,
    base: Reference,
    dockerfile: str,
    primary: RegistryClient,
    repository: Reference,
) -> tuple[Path, DigestRecord] | None:
    """The first earlier record of the leg that still describes an image on the primary
    (``repository``: a record of another primary, before matrix.yaml changed it, is not)."""
    for path, record in usable_records(paths):
        same = (
            record.release == release.tag
            and record.repository == repository.name
            and record.php == leg.php
            and record.platform == leg.platform
            and record.base_digest == base.digest
            and record.dockerfile_sha256 == dockerfile
        )
        if same and primary.manifest_exists(repository.path, record.digest):
            return path, record
    return None


def other_registries(
    config: Config, clients: Mapping[str, RegistryClient]
) -> dict[str, tuple[RegistryClient, str]]:
    """Each registry but the primary, by name: its client and repository path (whom
    ``published_record`` asks whether they still hold what the primary lost)."""
    return {r.name: (clients[r.name], r.repository.path) for r in config.secondaries}


def _holders(
    others: Mapping[str, tuple[RegistryClient, str]], digest: str, *, blob: bool = False
) -> list[str]:
    """The names of the registries in ``others`` that hold the manifest (``blob``: the
    blob) ``digest``; one that cannot be read is left out: it is not known to hold it."""
    items = list(others.items())
    found = in_parallel(lambda item: holds(*item[1], digest, blob=blob), items)
    return [name for (name, _), there in zip(items, found, strict=True) if there]


def one_refusal(release: Release, refusals: Sequence[ReleaseConflictError]) -> ReleaseConflictError:
    """The refusal of a run whose pins hold other content (``published_record``'s for
    each leg): every pin listed, so that fixing one does not only reveal the next, each
    tip said once (the pins moved off the record named in one)."""
    if len(refusals) == 1:
        return refusals[0]
    moved = list(dict.fromkeys(pin for r in refusals for pin in r.off_record))
    hints = [off_record_hint(release.tag, moved)] if moved else []
    hints += [r.hint for r in refusals if r.hint and not r.off_record]
    return ReleaseConflictError(
        f"release {release.tag} is already published with other content:",
        conflicts=[c for r in refusals for c in (r.conflicts or [r.message])],
        hint="; ".join(dict.fromkeys(hints)),
        off_record=moved,
    )


def published_record(
    config: Config,
    release: Release,
    leg: Leg,
    *,
    primary: RegistryClient,
    recorded_base: tuple[str, str | None] | None = None,
    recorded_index: str | None = None,
    others: Mapping[str, tuple[RegistryClient, str]] | None = None,
    locations: Locations = DEFAULT_LOCATIONS,
) -> DigestRecord | None:
    """The leg's record taken from the release's pin on the primary, if it holds one.

    ``recorded_base`` is the base (image, digest) the release record names for
    the line; without a record the base is taken as unknown. ``recorded_index`` is
    the index the record names: a pin holding other content was moved away from it,
    which ``publisher audit --repair`` undoes. ``others`` (each other registry's
    client and repository path, by name) are asked whether they still hold an image
    the primary lost, to name them. ``locations``: the run's location options, which the
    commands its tips name carry.
    """
    repo = config.primary.repository
    pin = pin_tag(release, leg.php)
    # held to the recorded index: a HEAD naming another is confirmed by a hashed GET
    found = primary.tag_digests(
        repo.path, [pin], expected={pin: recorded_index} if recorded_index else None
    )
    if pin not in found:
        return None
    index = primary.get_manifest_by_digest(repo.path, found[pin])
    if index.is_index:
        images = [
            c.digest for c in index.children if not c.is_attestation and c.platform == leg.platform
        ]
    else:
        images = []

    def lost(exc: NotFoundError, what: str, digest: str, *, blob: bool, hint: str) -> NotFoundError:
        """The error for what the pin's image lost on the primary (a GC bug, a restore)."""
        where = _holders(others or {}, digest, blob=blob)
        return NotFoundError(
            f"{repo.name}:{pin} lists the {leg.platform} image {images[0]}, {what} "
            f"{config.primary.name} no longer holds"
            + still_on(where)
            + f", so {leg.label} cannot be taken from the published release",
            registry=config.primary.name,
            status=exc.status,
            hint=hint,
        )

    try:
        image = primary.get_manifest_by_digest(repo.path, images[0]) if len(images) == 1 else None
    except NotFoundError as exc:  # listed by the index, lost since
        hint = lost_image_hint(release.tag, recorded_index is not None, locations=locations)
        raise lost(exc, "which", images[0], blob=False, hint=hint) from exc
    if image is None or image.is_index:  # none, several, or an index nested where it should be
        raise ReleaseConflictError(
            f"{repo.name}:{pin} holds no single {leg.platform} image, so {leg.label} "
            f"cannot be taken from the published release",
            hint=f"run `{locations.command('audit')}` to see what {release.tag} holds; "
            f"republish it on purpose with `{locations.command('republish', release.tag, REASON)}`",
        )
    try:
        labels = primary.labels(repo.path, image)
    except NotFoundError as exc:  # its config, lost since
        if image.config is None:
            raise
        what = f"whose config blob {image.config.digest}"
        hint = lost_blob_hint(release.tag, locations=locations)
        raise lost(exc, what, image.config.digest, blob=True, hint=hint) from exc
    built_as = labels.get(VERSION_LABEL)
    if built_as is not None and built_as != pin:
        # never said on a header's word: a registry naming other content is exit 8
        primary.confirm(Reference(primary.host, repo.path, pin), found[pin])
        republish = f"`{locations.command('republish', release.tag, '--reason ...')}`"
        off_record = recorded_index is not None and found[pin] != recorded_index
        raise ReleaseConflictError(
            f"release {release.tag} is already published with other content:",
            conflicts=[
                f"PHP {leg.php}: {pin} is {found[pin]} on {config.primary.name}, whose "
                f"{leg.platform} image was built as {built_as!r}, not {pin!r}"
            ],
            hint=(
                off_record_hint(release.tag, [pin], locations)
                if off_record
                else f"nothing was changed. To replace it on purpose, run {republish}"
            ),
            off_record=[pin] if off_record else (),
        )
    base_image, base_digest = (
        recorded_base
        or base_from_label(labels.get(BASE_LABEL))
        or (str(config.base_pull_ref(config.line(leg.php))), None)
    )
    return DigestRecord(
        release=release.tag,
        php=leg.php,
        platform=leg.platform,
        repository=repo.name,
        digest=images[0],
        base_image=base_image,
        base_digest=base_digest,
        builder=PUBLISHED_BUILDER,
        # the Dockerfile the image's label names (what it was built from), else today's
        dockerfile_sha256=labelled_dockerfile(labels) or dockerfile_sha256(config, leg.php),
    )


def labelled_dockerfile(labels: Mapping[str, str]) -> str | None:
    """The sha256 of the Dockerfile an image was built from, as its ``DOCKERFILE_LABEL``
    names it; None for an image built without it (by an earlier publisher)."""
    named = labels.get(DOCKERFILE_LABEL)
    return named if named is not None and is_digest(named) else None


def refuse_reused_built_otherwise(
    config: Config,
    release: Release,
    published: Mapping[Leg, DigestRecord],
    record_dirs: Sequence[Path],
    primary: RegistryClient,
    *,
    revision: str = "",
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse (exit 14, before anything is built or any tag moves) to take the images a
    release's pins hold (``published``) when they were built from another Dockerfile than
    this checkout's: matrix.yaml (its extensions, packages, ...) or the template changed
    between the run that pushed them and this one, or the release's tag was deleted and
    pushed again on another commit. Each image is told by the extensions its build
    history installed (``built_extensions``), else by the Dockerfile digest an earlier
    run's digest record (in ``record_dirs``) names, else by its ``DOCKERFILE_LABEL``; the
    release would otherwise be smoke-tested, and recorded, for what its images lack, and
    a moved tag would pass as a rerun. ``revision``: this checkout's commit (GITHUB_SHA),
    said beside the one the image's revision label names, when known."""
    repo = config.primary.repository
    found: dict[str, list[str]] = {}
    added: set[str] = set()
    removed: set[str] = set()
    for leg, held in published.items():
        today = config.line(leg.php).extensions.names
        built: tuple[str, ...] | None = None
        labels: dict[str, str] = {}
        try:
            image = primary.get_manifest_by_digest(repo.path, held.digest)
            if not image.is_index:
                image_config = primary.image_config(repo.path, image)
                built = built_extensions(image_config)
                labels = config_labels(image_config)
        except (PublisherError, ValueError):  # not read: the earlier record alone tells
            built = None
        earlier = earlier_record(
            [folder / leg.record_name for folder in record_dirs], held.digest, repo.name
        )
        labelled = labelled_dockerfile(labels)
        try:
            here: str | None = dockerfile_sha256(config, leg.php, locations)
        except MissingDockerfileError:  # (a publish's checkout) nothing to compare with
            here = None
        rendered = (
            f"not from {config.line(leg.php).dockerfile} ({here}) as matrix.yaml and the "
            "template render it here"
        )
        if built is not None and built != today:
            more = [name for name in today if name not in built]
            fewer = [name for name in built if name not in today]
            added.update(more)
            removed.update(fewer)
            change = "; ".join(
                [f"added since: {', '.join(more)}"] * bool(more)
                + [f"removed since: {', '.join(fewer)}"] * bool(fewer)
            )
            why = (
                f"built with the extensions {', '.join(built) or 'none'}, and matrix.yaml "
                f"now names {', '.join(today) or 'none'} ({change})"
            )
        elif here is not None and earlier is not None and earlier.dockerfile_sha256 != here:
            why = (
                f"built from the Dockerfile {earlier.dockerfile_sha256} (as the earlier run's "
                f"digest record names it), {rendered}"
            )
        elif here is not None and labelled is not None and labelled != here:
            why = (
                f"built from the Dockerfile {labelled} (as its label {DOCKERFILE_LABEL} "
                f"names it), {rendered}"
            )
        else:
            continue
        built_at = labels.get(REVISION_LABEL, "").strip()
        if built_at:
            why += f"; it was built at commit {built_at}"
            if revision and revision != built_at:
                why += f", this checkout is {revision}"
        found.setdefault(leg.php, []).append(
            f"PHP {leg.php}: {pin_tag(release, leg.php)}'s {leg.platform} image "
            f"{held.digest} was {why}"
        )
    if not found:
        return
    lines = sorted(found, key=lambda php: tuple(map(int, php.split("."))))
    tag = release.tag
    undo = "; ".join(
        [f"take {', '.join(sorted(added))} out again"] * bool(added)
        + [f"put {', '.join(sorted(removed))} back"] * bool(removed)
    )
    back = (
        f"set matrix.yaml's extensions back to what that run built with ({undo})"
        if undo
        else "set matrix.yaml and the template back to what that run built from"
    )
    raise ReleaseConflictError(
        f"{tag} holds images built from other Dockerfiles than matrix.yaml and the "
        f"template render in this checkout: those its pins hold for PHP {', '.join(lines)} "
        "were built before they changed (or from another commit, its tag moved since), and "
        "a rerun keeps the images a release was started with, never building them again:",
        hint=(
            "nothing was changed: publish the change as a new release (a new tag). To finish "
            f"or rerun {tag} as it was built, {back} (or push its tag again on the commit it "
            f"was built from), run `{render_command(config, locations=locations)}`, then "
            f"`{locations.command('release', tag)}`. Or replace its images on purpose with "
            f"`{locations.command('republish', tag, REASON)}`"
        ),
        conflicts=[said for php in lines for said in found[php]],
    )


def base_from_label(name: str | None) -> tuple[str, str | None] | None:
    """The base an image was built FROM, from its ``org.opencontainers.image.base.name``
    label (the Dockerfile sets it to the digest-pinned base); None when absent."""
    if not name:
        return None
    image, _, digest_part = name.partition("@")
    return image, (digest_part if is_digest(digest_part) else None)


@dataclass(frozen=True)
class BuiltOn:
    """The base a line's published images were built on, as their label names it."""

    #: the image the label names, as the build pulled it (through the mirror, if any)
    image: Reference
    #: its digest; None when the label names none
    digest: str | None
    #: the line's base in matrix.yaml (through a mirror or not), not another one
    #: (matrix.yaml changed it since)
    of_line: bool


def last_base(config: Config, php: str, primary: RegistryClient) -> BuiltOn | None:
    """The base PHP ``php``'s published images were built on: what the
    ``org.opencontainers.image.base.name`` label of the image the primary's ``php-X.Y``
    tag (the line's newest pin) points at names. None when that cannot be read (no such
    tag, the registry failing, no such label).

    A side lookup for a tip, made when the outcome (the base tag is gone) is already
    decided: each request is tried once, so a primary that is down does not hold the
    error up through the retries."""
    repo = config.primary.repository
    base = config.line(php).base
    ref = Reference(repo.domain, repo.path, line_tag(php), None)
    try:
        found = primary.get_manifest(ref, attempts=1)
        children = found.platform_children if found.is_index else ()
        image = (
            primary.get_manifest_by_digest(repo.path, children[0].digest, attempts=1)
            if children
            else found
        )
        if image.is_index:
            return None
        named = base_from_label(primary.labels(repo.path, image, attempts=1).get(BASE_LABEL))
        built_on = parse(named[0]) if named else None
    except PublisherError:
        return None
    if named is None or built_on is None:
        return None
    # the same image, or the same one through a mirror (its path prefixed)
    same = built_on.path == base.path or built_on.path.endswith(f"/{base.path}")
    return BuiltOn(built_on, named[1], built_on.tag == base.tag and same)


def base_named(config: Config, line: Line, ref: Reference) -> str:
    """How an error met reading ``ref``, the base of ``line``, names it (preflight, a new
    release, a republish, a build leg): through the mirror, as the mirror's copy of the
    line's base, whichever registry's client read it."""
    if config.base_mirror:
        return f"PHP {line.php} base {line.base} via the mirror {config.base_mirror} ({ref})"
    return f"PHP {line.php} base {ref}"


def mirror_tip(config: Config, line: Line, hint: str | None) -> str | None:
    """``hint``, the tip for the base of ``line`` not read (preflight's, a release's, a
    build leg's), after checking the mirror every base is pulled through, when one is
    configured: it may not serve the base the registry has."""
    mirror = config.base_mirror
    if not mirror:
        return hint
    return (
        f"every base is pulled through the mirror {mirror} (base.mirror in matrix.yaml, "
        f"or PUBLISHER_BASE_MIRROR): check that it serves {line.base}, or unset it"
        + (f"; {hint}" if hint else "")
    )


def refuse_stand_in(
    config: Config,
    found: Sequence[tuple[str, str, str]],
    *,
    left: str,
    locations: Locations | None = None,
) -> None:
    """Refuse (exit 3) the images ``found`` say are STAND-INs (``stand_in_said``) when
    matrix.yaml does not say ``stand_in: true``: built FROM a stand-in base (a base
    mirror serving stand-ins), they would be published as a real release, their notes
    and pins not saying they are stand-ins. ``found``: (the image, as ``PHP 8.4 linux/amd64``; its base, as
    ``base_named`` names it; how it says so). ``left``: what the run left, in words."""
    if config.stand_in or not found:
        return
    said = [
        f"{image}, built on {base}, is a STAND-IN image ({STAND_IN_IMAGES}): {how}"
        for image, base, how in found
    ]
    mirror = config.base_mirror
    where = (
        f"the base mirror {mirror} (base.mirror in matrix.yaml, or PUBLISHER_BASE_MIRROR) "
        "serves STAND-IN bases: point it at a mirror of the real bases, or unset it"
        if mirror
        else "the base is a STAND-IN: point base.image (or the line's base) in matrix.yaml "
        "at the real base image"
    )
    raise ConfigError(
        "; ".join(said) + f"; yet the matrix does not say stand_in: true; {left}",
        source=config.source,
        field="stand_in",
        hint=f"for a release, {where}; to rehearse on stand-in bases, set `stand_in: true` "
        f"in {shown_path(config.source)} and run `{render_command(config, locations=locations)}` (a stand-in "
        "rehearsal is labelled as one everywhere, and its notes are never published)",
    )


def base_gone_hint(
    exc: PublisherError,
    ref: Reference,
    config: Config,
    php: str,
    clients: ClientFactory,
    locations: Locations | None = None,
) -> str | None:
    """The tip for ``exc``, met by a new release (a build leg, its preflight) reading
    ``ref``, PHP ``php``'s base. When the registry lacks its tag of a line newer than
    publisher's table that has no published image: there is no image for it yet, so leave
    it out until there is one. Of another line (a line past its end, its
    tag removed; not a base pinned by digest, nor a repository gone): pin the line's last
    base by digest in matrix.yaml, which the committed Dockerfile then names too, or leave
    the line out. The digest is read from the line's published image (``last_base``)
    when it can be; else the tip says where to find it, after the registry's own (the tag
    may be mistyped). When that image was built on another base (matrix.yaml changed the
    line's base since), its digest is not one to pin: the tip says so, after the
    registry's own. Before tipping a digest, whether the base's registry still serves it
    is asked as ``publisher republish-check`` asks it (``serves``: one HEAD, tried once):
    gone too, the tip says so and gives that command's advice; not asked (the registry
    failing), the tip says the digest was not checked. Any other error keeps its own tip."""
    if not (isinstance(exc, NotFoundError) and exc.missing == "tag" and ref.digest is None):
        return exc.hint
    repo = config.primary.repository
    try:
        built = last_base(config, php, clients.for_registry(config.primary))
    except PublisherError:  # the primary's client could not be made (its credentials)
        built = None
    digest = built.digest if built is not None and built.of_line else None
    shown = f"{repo.name}:{line_tag(php)}"
    pin = (
        f"`base_digest: {digest}` (the base its published images were built on, as the "
        f"label {BASE_LABEL} of {shown} names it)"
        if digest
        else f"`base_digest: sha256:...`, the digest the label {BASE_LABEL} of its published "
        f"images names (`publisher inspect {shown}` shows it),"
    )
    others = ",".join(name for name in (config.all_lines or config.line_names) if name != php)
    if php == config.default_line:
        only = (
            f"set another line as default_line and drop PHP {php} from {shown_path(config.source)}"
        )
    else:
        only = (
            f"release the other lines (`--only {others}`, or PUBLISHER_LINES={others} for a "
            f"release a tag push starts), or drop it from {shown_path(config.source)}"
            if others
            else f"drop it from {shown_path(config.source)}"
        )
    if built is None and lifecycle.beyond_table(php):
        # never published, and newer than every line php.net had listed: not a tag removed
        # past the line's end, but one not made yet
        base = config.line(php).base
        official = (base.domain, base.path) == ("docker.io", "library/php")
        return (f"{exc.hint}; " if exc.hint else "") + (
            f"PHP {php} is newer than every line publisher's table knows "
            "(publisher/core/lifecycle.py) and has no published image: there is no "
            + ("official image for it" if official else f"image for it at {base}")
            + f" yet, most likely; leave the line out until there is one: {only}"
        )
    if built is not None and not built.of_line:
        # its digest is another image's: pinned on this base, a build would pull that one
        at = f"@{built.digest}" if built.digest else ""
        return (f"{exc.hint}; " if exc.hint else "") + (
            f"PHP {php}'s published images were built on another base than "
            f"{config.line(php).base}, {built.image}{at} (the label {BASE_LABEL} of "
            f"{shown} names it): {shown_path(config.source)} changed the "
            "line's base since, so that digest is not one to pin on it; point the line's "
            f"base at a tag that exists, or leave the line out: {only}"
        )
    served: bool | PublisherError = False
    if digest:
        # as republish-check asks it: one HEAD by digest, tried once (a side lookup)
        pinned = Reference(ref.domain, ref.path, None, digest)
        try:
            served = serves(clients.for_base(config, ref), pinned)
        except PublisherError as exc_client:  # the base's client could not be made
            served = exc_client
        if served is False:
            return (
                f"nor does its registry serve the base PHP {php} was built on any more, "
                f"{pinned} (the label {BASE_LABEL} of {shown} names it), so the line cannot "
                f"be rebuilt from that base: {ELSEWHERE}, or leave the line out: {only}"
                + (f"; {exc.hint}" if exc.hint else "")
            )
    unchecked = (
        f" (whether its registry still serves that digest was not checked: {served.message})"
        if isinstance(served, PublisherError)
        else ""
    )
    tip = (
        f"pin that base by digest: add {pin} to the line in {shown_path(config.source)}{unchecked}, "
        f"then run `{render_command(config, locations=locations)}` and commit (the Dockerfile "
        "then names it too); "
        f"or leave the line out: {only}"
    )
    if digest:
        return f"to keep building PHP {php} on its last base, {tip}"
    return (f"{exc.hint}; " if exc.hint else "") + (
        f"if the tag was removed (a line past its end, say), to keep building PHP {php} "
        f"on its last base, {tip}"
    )


def earlier_record(paths: Sequence[Path], digest: str, repository: str) -> DigestRecord | None:
    """A record among ``paths`` naming exactly ``digest`` in ``repository`` (it knows the
    true base); one of another primary, before matrix.yaml changed it, is not taken."""
    return next(
        (
            record
            for _, record in usable_records(paths)
            if record.digest == digest and record.repository == repository
        ),
        None,
    )


def write_record(path: Path, record: DigestRecord) -> None:
    try:
        write_record_file(path, record)
    except OSError as exc:
        raise file_error(exc, "write the digest record") from None


def record_paths(leg: Leg, digests_dir: Path, records_dir: Path | None = None) -> tuple[Path, ...]:
    """The records a run's build of ``leg`` reads to reuse an image instead of building it:
    first the one it writes (in ``records_dir``, default ``digests_dir``), then the earlier
    one in ``digests_dir`` when it writes elsewhere. ``BuildStage.all`` and the dry run of
    ``release`` ask the same files, so the dry run lists no build for a leg the real run
    takes from a record (one a failed run left in ``records_dir``, too)."""
    target = records_dir or digests_dir
    record = target / leg.record_name
    return (record,) if target == digests_dir else (record, digests_dir / leg.record_name)


@dataclass(frozen=True)
class BuildStage:
    """Builds the legs of one release with one builder and pushes each image by digest
    to the primary registry (``publisher build`` runs one leg, ``release`` all of them)."""

    config: Config
    release: Release
    builder: Builder
    primary: RegistryClient
    output: Output
    options: BuildOptions
    #: the other registries (``other_registries``), asked whether they still hold an
    #: image of the release's pin the primary lost, to name them
    others: Mapping[str, tuple[RegistryClient, str]] = field(default_factory=dict)
    #: a republish's rerun: the images each line's pin lists, read once (``_pin_lists``)
    _pinned_images: dict[str, frozenset[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.options.attestations and self.builder.name != BuilderName.BUILDX:
            self.output.warning(
                f"--attestations is for buildx builds only: the {self.builder.name} builds "
                "carry no provenance or SBOM attestations"
            )

    def leg(
        self,
        leg: Leg,
        *,
        base: Reference | None,
        record_path: Path,
        earlier_records: tuple[Path, ...] = (),
        recorded_base: tuple[str, str | None] | None = None,
        published: Mapping[Leg, DigestRecord] | None = None,
        recorded_index: str | None = None,
    ) -> DigestRecord:
        """Build and push one leg; write and return its digest record.

        With ``options.reuse`` (everything but a republish or ``--rebuild``), a leg whose
        image the release's pin already holds, or whose earlier record still
        describes an image on the primary, is not built again. ``base`` may be None
        only when the pin exists (the base is not needed then). ``published``, when
        given, is what the caller already read from the release's pins (a leg absent
        from it has no pin), so the primary is not asked again.
        """
        config, release, output = self.config, self.release, self.output
        line = config.line(leg.php)
        if leg.platform not in line.platforms:
            raise UsageError(
                f"PHP {leg.php} is not built for {leg.platform}; configured: "
                + ", ".join(p.value for p in line.platforms),
                hint="build one of the line's platforms "
                f"(`{self.options.locations.command('matrix', release.tag)}` lists the legs), "
                "or add the platform to the line in matrix.yaml",
            )
        # a record a newer publisher wrote is not this one's to replace, nor is a file
        # publisher wrote that is not the leg's record (a release record, another leg's)
        check_not_newer(earlier_records)
        damaged = replaced_file(record_path, leg)  # no record (cut short): replaced, said
        repo = config.primary.repository
        dockerfile = dockerfile_sha256(config, leg.php, self.options.locations)
        found = self.reused(
            leg,
            base=base,
            record_paths=(record_path, *earlier_records),
            recorded_base=recorded_base,
            published=published,
            recorded_index=recorded_index,
        )
        if found is not None:
            record, why = found
            self.write(leg, record_path, record, damaged)
            output.info(f"{leg.label}: {why}")
            return record
        if base is None:
            raise UsageError(
                f"{leg.label}: the base image was not resolved: the release's pin for PHP "
                f"{leg.php} was found when the run started, yet holds no image to reuse for it",
                hint=f"`{self.options.locations.command('republish-check')}` shows what the "
                "pins hold; if "
                "they hold this leg, rerun with --debug and report the output as a bug",
            )
        digest, dockerfile = self._build_and_push(leg, base)
        record = DigestRecord(
            release=release.tag,
            php=leg.php,
            platform=leg.platform,
            repository=repo.name,
            digest=digest,
            base_image=str(Reference(base.domain, base.path, base.tag)),
            base_digest=base.digest,
            builder=str(self.builder.name),
            dockerfile_sha256=dockerfile,
        )
        self.write(leg, record_path, record, damaged)
        output.info(f"{leg.label}: pushed {digest} to {repo.name}")
        return record

    def write(self, leg: Leg, path: Path, record: DigestRecord, damaged: str | None) -> None:
        """Write the leg's ``record`` at ``path``; a file there that held no record this
        publisher could read (``damaged``: why) is said replaced, in a warning."""
        write_record(path, record)
        if damaged is not None:
            self.output.warning(replaced_warning(leg, path, damaged))

    def request(self, leg: Leg, base: Reference, work_dir: Path) -> BuildRequest:
        """What the builder is asked to build for ``leg`` (the real run and the dry run).
        A rehearsal's failed build is not rebuilt by a command: its base may be on a
        throwaway registry, gone with it; its tip rehearses again, showing the output."""
        options = self.options
        request = BuildRequest.for_line(
            self.config,
            self.config.line(leg.php),
            leg.platform,
            base=base,
            work_dir=work_dir,
            release=self.release.tag,
            created=options.created,
            revision=options.revision,
            credentials=self.primary.transport.credentials,
            provenance=options.attestations,
            sbom=options.attestations,
        )
        locations = options.locations
        request = replace(
            request, dockerfile_sha256=dockerfile_sha256(self.config, leg.php, locations)
        )
        if not locations.rehearsal:
            return request
        again = locations.command(*locations.rehearsal)
        seen = f"`{again} --debug` rehearses again, showing each build's whole output"
        render = render_command(self.config, locations=locations)
        return replace(request, rehearsal_tip=rehearsal_hint(render, seen))

    def commands(
        self, bases: Mapping[str, Reference], work_dir: Path, reused: Collection[Leg] = ()
    ) -> None:
        """Print the commands a build of each leg with a base (and not ``reused``)
        would run; run nothing."""
        todo = [leg for leg in legs(self.config) if leg.php in bases and leg not in reused]
        if not todo:
            self.output.info("  none: every image is already built and pushed")
        for leg in todo:
            for argv in self.builder.commands(self.request(leg, bases[leg.php], work_dir)):
                # to paste: each word redacted, then quoted for stdout's encoding
                words = [self.output.redact(str(arg)) for arg in argv]
                self.output.info("  " + shell_command(words, self.output.encoding))

    def reused(
        self,
        leg: Leg,
        *,
        base: Reference | None,
        record_paths: Sequence[Path],
        recorded_base: tuple[str, str | None] | None = None,
        published: Mapping[Leg, DigestRecord] | None = None,
        recorded_index: str | None = None,
    ) -> tuple[DigestRecord, str] | None:
        """The record ``leg`` takes instead of a build, and why in words; None: it builds.

        With ``options.reuse`` (everything but a republish or ``--rebuild``): the
        image the release's pin holds, else an earlier record (``record_paths``)
        that still describes an image on the primary for the same base and
        Dockerfile. With ``options.resume`` alone (a republish): only the record an
        interrupted run left where this one writes its own (``record_paths``' first),
        by the same test, and only while the release's pin on the primary lists its
        image (that run began to publish it), so its rerun finishes that republish on
        the images it pinned rather than on new ones; an image it pushed but never
        pinned is built again (a republish left unfinished long ago publishes no old
        build). Reads the primary; writes nothing (the dry run asks too).
        """
        if not self.options.reuse:
            resumed = self._resumed(leg, base, record_paths[:1]) if self.options.resume else None
            if resumed is None or not self._pin_lists(leg, resumed[0].digest):
                return None
            return resumed
        config, release, primary = self.config, self.release, self.primary
        pinned = (
            published.get(leg)
            if published is not None
            else published_record(
                config,
                release,
                leg,
                primary=primary,
                recorded_base=recorded_base,
                recorded_index=recorded_index,
                others=self.others,
                locations=self.options.locations,
            )
        )
        if pinned is not None:
            pinned = earlier_record(record_paths, pinned.digest, pinned.repository) or pinned
            if published is None:  # (a caller that read the pins refused already)
                refuse_reused_built_otherwise(
                    config,
                    release,
                    {leg: pinned},
                    (),
                    primary,
                    revision=self.options.revision,
                    locations=self.options.locations,
                )
            pin = pin_tag(release, leg.php)
            return pinned, f"{release.tag} already holds {pinned.digest} ({pin}); not rebuilding"
        return self._resumed(leg, base, record_paths)

    def _pin_lists(self, leg: Leg, digest: str) -> bool:
        """Whether the release's pin of ``leg``'s line on the primary lists ``digest``: the
        pin read once a line, for all its platforms' legs."""
        images = self._pinned_images.get(leg.php)
        if images is None:
            repo = self.config.primary.repository
            pin = pin_tag(self.release, leg.php)
            found = self.primary.tag_digests(repo.path, [pin])
            index = self.primary.get_manifest_by_digest(repo.path, found[pin]) if found else None
            listed = index.children if index is not None and index.is_index else ()
            images = frozenset(child.digest for child in listed)
            self._pinned_images[leg.php] = images
        return digest in images

    def _resumed(
        self, leg: Leg, base: Reference | None, record_paths: Sequence[Path]
    ) -> tuple[DigestRecord, str] | None:
        """The first of ``record_paths`` that describes an image still on the primary,
        built for this release from ``base`` and the line's Dockerfile as it is now (a
        leg an earlier run built and pushed), and why in words; None: it builds."""
        if base is None:
            return None
        config = self.config
        reusable = reusable_record(
            record_paths,
            release=self.release,
            leg=leg,
            base=base,
            dockerfile=dockerfile_sha256(config, leg.php, self.options.locations),
            primary=self.primary,
            repository=config.primary.repository,
        )
        if reusable is None:
            return None
        return reusable[1], f"already built and pushed as {reusable[1].digest}; not rebuilding"

    def _build_and_push(self, leg: Leg, base: Reference) -> tuple[str, str]:
        """Build the leg's image FROM ``base`` and push it by digest; its digest and the
        sha256 of the Dockerfile built. The builder reads a private copy of the Dockerfile
        made from the bytes hashed (the build context stays the checkout): a render
        rewriting the checkout's meanwhile does not make the record name another one. The
        copy goes with the run: a failed build's tip names the committed file."""
        primary = self.primary
        with temp_dir("publisher-build-") as tmp:
            data = dockerfile_bytes(self.config, leg.php)
            request = self.request(leg, base, tmp)
            copy = tmp / f"{request.slug}.Dockerfile"
            dockerfile = sha256_digest(data)
            request = replace(
                request, dockerfile=copy, committed=request.dockerfile, dockerfile_sha256=dockerfile
            )
            try:
                request.dockerfile.write_bytes(data)
                result = self.builder.build(request)
            except OSError as exc:  # publisher's own writing there (docker save's conversion)
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                named = exc.filename2 or exc.filename
                cause = exc.strerror or str(exc)
                cause += f": {shown_path(named)}" if named else ""
                raise tmpdir_full(f"{leg.label}: the build", cause) from None
            if result.layout is None:  # pushed by the builder: the publish stage reads it
                return result.digest, dockerfile
            line = self.config.line(leg.php)
            how = stand_in_said(read_layout(result.layout).labels)
            if how is not None:
                found = [(leg.label, base_named(self.config, line, base), how)]
                refuse_stand_in(
                    self.config,
                    found,
                    left="the image was not pushed and no tag written",
                    locations=self.options.locations,
                )
            pushed = primary.push_layout(result.layout, self.config.primary.repository.path)
            if pushed != result.digest:
                raise PublisherError(
                    f"{leg.label}: pushed {pushed} but the builder reported {result.digest}",
                    hint="the OCI layout changed between build and push; rerun the leg",
                )
            return pushed, dockerfile

    def all(
        self,
        bases: Mapping[str, Reference],
        digests_dir: Path,
        *,
        records_dir: Path | None = None,
        recorded_bases: Mapping[str, tuple[str, str | None]] | None = None,
        published: Mapping[Leg, DigestRecord] | None = None,
    ) -> list[DigestRecord]:
        """Build every leg, up to ``options.jobs`` at a time; fail after all finished,
        listing every failure.

        Records are written to ``records_dir`` (default ``digests_dir``); earlier
        records in ``digests_dir`` still count for reuse.
        """
        todo = list(legs(self.config))
        records: list[DigestRecord] = []
        failures: list[tuple[Leg, PublisherError]] = []

        def run(leg: Leg) -> DigestRecord:
            record_path, *earlier = record_paths(leg, digests_dir, records_dir)
            return self.leg(
                leg,
                base=bases.get(leg.php),
                record_path=record_path,
                earlier_records=tuple(earlier),
                recorded_base=(recorded_bases or {}).get(leg.php),
                published=published,
            )

        with threads_limited(), ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool:
            futures = {pool.submit(run, leg): leg for leg in todo}
            for future, leg in futures.items():
                try:
                    record = future.result()
                except PublisherError as failed:
                    # a rehearsal's throwaway registry in a full TMPDIR: said as such
                    exc = (
                        out_of_room_under(failed, "a throwaway registry of the rehearsal") or failed
                    )
                    failures.append((leg, exc))
                    if len(todo) > 1:  # said as it happens; a run's one leg is its error
                        self.output.warning(f"{leg.label}: {exc.label}: {exc.message}")
                    continue
                records.append(record)
        if len(failures) == 1:
            raise failures[0][1]
        if failures:
            first = failures[0][1]
            names = ", ".join(leg.label for leg, _ in failures)
            combined = PublisherError(
                f"{len(failures)} of {len(todo)} builds failed ({names}); first: {first.message}",
                hint=first.hint or "fix the cause and rerun: finished legs are not rebuilt",
            )
            combined.exit_code = first.exit_code
            combined.label = first.label
            raise combined
        return records
