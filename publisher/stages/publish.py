"""The publish stage: everything after the builds, from the collected digest records.

Order (each a visible step):

1. read what every registry holds (tags, pins, which indexes exist, and for
   each index a registry lacks, which of its manifests and blobs it holds),
   assemble one OCI index per PHP line from its platform digests, and compute
   the ``PublishPlan`` (pure, ``publisher.core.publish_plan``): every action
   below, down to each blob each registry lacks (its ``TransferPlan``). A
   line whose pin on the primary already holds the same platform images keeps
   that index (a rerun after the bases moved changes nothing); other content
   under a pin is a conflict, refused before anything is written, unless this
   is a republish;
2. push the assembled indexes by digest to the primary (children are already
   there: the builds pushed them), then judge each platform image's size against its
   line's budget from the primary's manifests, before anything is copied;
3. execute the transfer plan: each missing blob downloaded from the primary
   once and uploaded once per registry, then the manifests, children first;
4. verify every index on every registry: platforms, sizes within budget,
   identical digests;
5. smoke-test every platform image by digest;
6. write the pin tags on every registry (the primary first, each step reading its
   pins again just before writing them: another run's found there refuses this one),
   then recompute the floating tags from all pins present on each registry and move them;
7. verify the tags;
8. write the release notes atomically.

Nothing before step 6 writes a tag, so a failure there moves no tag; every step
skips what is already done, so a rerun finishes a failed release. With
``dry_run`` the stage only reads: it prints the same PublishPlan (``--json``
too) and sends no mutating request.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters import stop
from ..adapters.output import Output
from ..adapters.registry import (
    Descriptor,
    Manifest,
    RegistryClient,
    build_index,
    config_labels,
    descriptor_for,
    index_annotations,
    sha256_digest,
)
from ..adapters.registry.transfer import DEFAULT_TRANSFERS, Transfers
from ..core import audit_rules, smoke_rules, verify_rules
from ..core import notes as notes_mod
from ..core import pins as pins_mod
from ..core import plan as planning
from ..core import publish_plan as pp
from ..core.config import Config, Line, Registry
from ..core.errors import (
    IMMUTABLE_TIP,
    REHEARSAL_RERUN,
    ConfigError,
    FileAccessError,
    Interrupted,
    MissingDockerfileError,
    NotFoundError,
    PublisherError,
    ReleaseConflictError,
    SmokeTestError,
    StoppedError,
    UsageError,
    VerificationError,
    file_error,
    refused_as_immutable,
    shown_path,
    threads_limited,
)
from ..core.fileio import (
    PartlyWritten,
    counted,
    directory_locked,
    remove_unfinished_writes,
    write_atomic_set,
)
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations
from ..core.platforms import Platform
from ..core.records import Built, DigestRecord, Leg, match_records, rebuild_cause
from ..core.reference import Reference
from ..core.sizes import human_size, megabytes
from ..core.transfer_plan import SourceTree, Target, TransferPlan
from ..core.version import Release, parse_release
from ..resolve import (
    REFERENCE_DIGEST,
    STAND_IN_WARNING,
    php_line_order,
    release_lines,
    short_digest,
)
from .build import (
    BASE_LABEL,
    base_from_label,
    dockerfile_sha256,
    labelled_dockerfile,
    refuse_reused_built_otherwise,
    refuse_stand_in,
)
from .parallel import (
    built_as,
    following_digests,
    holds,
    in_parallel,
    listed_tags,
    tag_digests,
    try_each,
)
from .verify import check_index, inspect_index

#: Where ``release`` keeps the digest records of a run until it succeeds.
PENDING_DIR = ".pending"

#: What a run that stops before its pin step (stage 6) left, as every tip of one says it:
#: the indexes it pushed are on the registries by digest only.
NO_TAG_WRITTEN = "no tag was written"
#: Beside it where the plan's table of tag moves was shown (the step summary holds it,
#: out of its step's group): none of them happened.
PLAN_NOT_MADE = (
    "none of the plan's tag moves was made: the indexes are on the registries by digest only"
)

#: The PHP version recorded when smoke tests were skipped.
NOT_TESTED = "not smoke-tested"

#: How often the floating tags are recomputed after moving them, so that two
#: concurrent releases converge on the highest one.
FLOATING_ROUNDS = 5

#: While the registries hold different releases and their tags keep changing (another
#: release is writing its pins: the primary gets them first), the plan is read again
#: every SETTLE_PAUSE seconds, for at most SETTLE_SECONDS; a state that holds still
#: between two readings is refused.
SETTLE_PAUSE = 5.0
SETTLE_SECONDS = 90.0

#: Called with the platform image reference, platform, line and its extensions; returns the
#: exact PHP version and what was checked (``smoke_rules.Passed``).
SmokeTest = Callable[[Reference, str, str, tuple[str, ...]], smoke_rules.Passed]


@dataclass(frozen=True)
class LineIndex:
    php: str
    digest: str
    body: bytes
    media_type: str
    children: tuple[Descriptor, ...]
    records: tuple[DigestRecord, ...]
    #: platform -> digest of its image manifest (the record's digest, or the image
    #: inside it when buildx pushed an index with attestations)
    images: tuple[tuple[str, str], ...] = ()

    def image(self, platform: str) -> str:
        return dict(self.images)[platform]


@dataclass(frozen=True)
class PlannedRun:
    """What ``plan_run`` read and computed: the release plan, the publish plan, the
    index of each line, and the manifests the copies start from."""

    plan: planning.Plan
    publish_plan: pp.PublishPlan
    indexes: dict[str, LineIndex]
    copies: pp.CopySource | None = None
    #: warnings said once the plan is shown: ``planning.lines_left_behind`` on the
    #: primary, ``planning.unfinished_above``, ``publish_plan.platforms_lost``
    left_behind: tuple[str, ...] = ()
    #: the floating tags the registries would carry different releases under, in words
    #: (``publish_plan.floating_disagreements``, a repository move's left out)
    disagreements: tuple[str, ...] = ()


@dataclass
class PublishResult:
    plan: planning.Plan
    indexes: dict[str, LineIndex]
    publish_plan: pp.PublishPlan | None = None
    moves: list[pp.TagMove] = field(default_factory=list)
    notes_md: Path | None = None
    notes_json: Path | None = None
    facts: notes_mod.ReleaseFacts | None = None


# --------------------------------------------------------------------------- pure helpers


#: The placeholders of a build leg run again (``publisher build`` after the release).
BUILD_LEG_REBUILT = "--platform P --digest-file F --rebuild"


def built_on(record: DigestRecord) -> str:
    """The base a leg's ``record`` says its image was built on, by digest when it knows it."""
    at = f"@{record.base_digest}" if record.base_digest else ""
    return f"the base {record.base_image}{at}"


def refuse_other_dockerfile(
    config: Config,
    release: Release,
    php: str,
    records: Sequence[DigestRecord],
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse one line's legs built from another Dockerfile than this checkout's committed
    one: records of another commit or another run (an artifact downloaded from elsewhere,
    legs built before a checkout moved on). The release's images would not be what its
    own Dockerfile builds, which the launcher's local fallback builds. Not for a line
    the release's pin already holds (a rerun keeps what was published), nor a republish
    (its legs build the release's commit, the job runs at the default branch's); a
    checkout without the line's Dockerfile has nothing to compare with."""
    try:
        here = dockerfile_sha256(config, php, locations)
    except MissingDockerfileError:
        return
    built = sorted({r.dockerfile_sha256 for r in records} - {here})
    if not built:
        return
    path = config.dockerfile_path(php)
    raise UsageError(
        f"the digest records of PHP {php} were built from the Dockerfile {built[0]}, not "
        f"from this checkout's {shown_path(path)} ({here}): they come from another commit or another "
        "run, and the release would publish images its own Dockerfile does not build; "
        "no registry was changed",
        hint=f"build every leg of PHP {php} again from this checkout (`"
        + locations.command("build", release.tag, "--php", php, BUILD_LEG_REBUILT)
        + "` for each), or "
        "check that the --digests directory holds the records of this run's legs",
    )


@dataclass(eq=False)
class ReleaseRecord:
    """``release``'s record in ``notes_dir``, read once per command: when first needed
    (by ``select_release`` when ``--only`` is checked against it, else by
    ``load_release``), then kept."""

    notes_dir: Path
    release: Release
    _read: tuple[notes_mod.ReleaseFacts | None] | None = field(default=None, init=False)

    def facts(self) -> notes_mod.ReleaseFacts | None:
        """The record; None when the notes directory holds none."""
        if self._read is None:
            self._read = (notes_mod.load_record(self.notes_dir, self.release.tag),)
        return self._read[0]


def load_release(
    config: Config,
    notes_dir: Path,
    release: Release,
    output: Output,
    *,
    republish: bool = False,
    rehearsal: bool = False,
    dry_run: bool = False,
    record: ReleaseRecord | None = None,
    locations: Locations | None = None,
) -> tuple[Config, notes_mod.ReleaseFacts | None]:
    """``config`` as ``release`` was published, and its record (None for a new release).

    A published release keeps its recorded default line, lines and platforms;
    each disagreement with today's matrix is said once. A republish needs a
    record or at least pins; without a record, the matrix is used and that is said.
    A rehearsal's record of the same tag describes an earlier rehearsal, whose
    throwaway registries are gone: a new rehearsal starts from today's matrix
    (and replaces those notes, which its dry run leaves as they are). ``record``:
    the one ``select_release`` gave, so the command reads it once.
    """
    facts = (record or ReleaseRecord(notes_dir, release)).facts()
    if facts is not None and not reads_record(rehearsal=rehearsal, republish=republish):
        replaces = (
            "would replace those notes (this dry run writes nothing)"
            if dry_run
            else "replaces those notes"
        )
        output.progress(
            f"rehearsal: {release.tag} was rehearsed before; this rehearsal starts from "
            f"today's matrix.yaml on new throwaway registries and {replaces} ({shown_path(notes_dir)})"
        )
        return config, None
    if facts is None:
        return config, None
    adjusted, notices = pp.config_for_record(
        config,
        facts,
        strict=republish,
        rehearsal=rehearsal,
        recorded=notes_mod.recorded_tags(notes_dir),
        locations=locations,
    )
    for notice in notices:
        output.warning(notice)
    return adjusted, facts


def building_config(
    config: Config,
    record: ReleaseRecord,
    *,
    rehearsal: bool = False,
    republish: bool = False,
    locations: Locations | None = None,
) -> Config | None:
    """The lines ``load_release`` will give a run of the release, saying nothing (it says
    each disagreement with the record in its turn): what a check made before anything
    starts (the committed Dockerfiles) is about. None for a republish without a record:
    only the pins on the primary say which lines it builds (``republish_config``), so
    ``release`` checks them once it has read them."""
    facts = record.facts() if reads_record(rehearsal=rehearsal, republish=republish) else None
    if republish and facts is None:
        return None
    return pp.config_for_record(
        config, facts, strict=republish, rehearsal=rehearsal, locations=locations
    )[0]


def conflict_error(
    release: Release,
    conflicts: Sequence[pp.Conflict],
    off_record: Sequence[str],
    *,
    started: tuple[str, str] | None = None,
    primary: str = "the primary registry",
    locations: Locations = DEFAULT_LOCATIONS,
) -> ReleaseConflictError:
    """The refusal of a run whose pins hold other content. Pins of a recorded release
    moved away from its record (``off_record``) go back with ``publisher audit
    --repair``; an unfinished release ``started`` with another default line (that
    line, today's) is finished with that line; a pin on another registry than the
    ``primary`` (its name) that the primary lacks (``Conflict.placed``) is deleted by
    hand, then the release run (``planning.placed_by_hand``); otherwise a rerun of the
    release finishes it from what its pins hold."""
    tag = release.tag
    republish = f"`{locations.command('republish', tag, '--reason ...')}`"
    rerun = f"`{locations.command('release', tag)}`"
    if started is not None:
        line, today = started
        hint = (
            f"nothing was changed. {tag} holds PHP {line}'s image ({tag}-php-{line}): the "
            f"run that wrote it had default_line {line}, and matrix.yaml now says {today}. "
            f'Set default_line: "{line}" to finish {tag} with {rerun} '
            f"(change it again for the next release), or replace {tag} on purpose with "
            f"{republish}"
        )
    elif off_record:
        hint = pp.off_record_hint(tag, off_record, locations)
    elif any(conflict.foreign for conflict in conflicts):
        # `publisher release` would take the same images from the pin: refused the same
        hint = f"nothing was changed. To replace it on purpose, run {republish}"
    else:
        hint = (
            f"nothing was changed. To replace it on purpose, run {republish}; "
            f"{rerun} finishes an interrupted release from the images its pins hold"
        )
    placed: dict[str, list[str]] = {}
    for conflict in conflicts:
        if conflict.placed is not None and started is None and not off_record:
            placed.setdefault(conflict.placed[0], []).append(conflict.placed[1])
    if placed:
        ways = "; ".join(
            planning.placed_by_hand(tag, name, tags, primary, locations)
            for name, tags in placed.items()
        )
        alone = all(conflict.placed is not None for conflict in conflicts)
        hint = f"nothing was changed. {ways}" if alone else f"{hint}; {ways}"
    return ReleaseConflictError(
        f"release {tag} is already published with other content:",
        hint=hint,
        conflicts=[conflict.message for conflict in conflicts],
    )


def refuse_started_with_another_default(
    config: Config,
    release: Release,
    primary: RegistryClient,
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse (exit 14) before any build a release without a record whose ``vX.Y.Z``
    holds another line's image, while today's default line has no pin yet: the run that
    wrote it had another default_line. The publish plan refuses it too, but only once
    the default line is built, so a dry run (which builds nothing) could not."""
    repo = config.primary.repository.path
    default = config.default_line
    bare = primary.tag_digests(repo, [release.tag]).get(release.tag)
    if bare is None:
        return
    pins = {line.php: planning.pin_tag(release, line.php) for line in config.lines}
    held = primary.tag_digests(repo, list(pins.values()))
    if pins.get(default) in held:
        return  # the publish plan compares both digests
    for php, pin in pins.items():
        if held.get(pin) == bare:
            raise conflict_error(
                release,
                [
                    pp.Conflict(
                        f"{release.tag} is {bare} on {config.primary.name}: PHP {php}'s image "
                        f"({pin}), and default_line is {default}"
                    )
                ],
                (),
                started=(php, default),
                locations=locations,
            )


def release_pins_of(config: Config, release: Release) -> dict[str, str]:
    """Each pin of ``release``'s selected lines -> its line."""
    return {
        tag: line.php
        for line in config.lines
        for tag in planning.release_pins(release.tag, line.php, config.default_line)
    }


def pins_held_elsewhere(
    config: Config, release: Release, others: Mapping[str, tuple[RegistryClient, str]]
) -> dict[str, dict[str, str]]:
    """The pins of ``release`` (its selected lines') each registry of ``others`` (by name:
    its client and repository path) holds, with their digests; a registry holding none is
    left out. One tag read per pin and registry, tried once: a side lookup, so a registry
    that does not answer is left out too (the run meets it where it needs it)."""
    pins = list(release_pins_of(config, release))

    def read(entry: tuple[RegistryClient, str]) -> dict[str, str]:
        client, path = entry
        try:
            return client.tag_digests(path, pins, attempts=1)
        except PublisherError:
            return {}

    items = list(others.items())
    found = in_parallel(lambda item: read(item[1]), items)
    return {name: digests for (name, _), digests in zip(items, found, strict=True) if digests}


def refuse_pins_placed_elsewhere(
    config: Config,
    release: Release,
    primary: RegistryClient,
    others: Mapping[str, tuple[RegistryClient, str]],
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse (exit 14, before anything is built) a new release whose pin on a registry
    but the primary (``others``: each one's client and repository path, by name) holds an
    image built as another pin (its version label), as ``published_record`` judges the
    primary's pins: publisher writes each pin on the primary first, then the same index on
    the others, so no run of it left that (``planning.placed_by_hand`` says the way out).
    Every such pin is named at once. A pin holding the primary's index is judged there; one
    whose images say they were built as it is left to the publish plan, which compares its
    index with the run's, and so is a registry or an image that cannot be read now. One tag
    read per pin and registry; the images only of a pin found there with another index
    than the primary's."""
    held = pins_held_elsewhere(config, release, others)
    if not held:
        return
    pins = release_pins_of(config, release)
    repo = config.primary.repository.path
    on_primary = primary.tag_digests(repo, sorted({t for tags in held.values() for t in tags}))
    judged = [
        (name, tag, digest)
        for name, digests in held.items()
        for tag, digest in digests.items()
        if on_primary.get(tag) != digest
    ]
    labels = in_parallel(
        lambda item: built_as(others[item[0]][0], others[item[0]][1], item[2]), judged
    )
    conflicts: list[str] = []
    placed: dict[str, list[str]] = {}
    for (name, tag, digest), images in zip(judged, labels, strict=True):
        pin = planning.pin_tag(release, pins[tag])
        other = next(((p, n) for p, n in images or () if n != pin), None)
        if other is None:
            continue
        client, path = others[name]
        # never said on a header's word: a registry naming other content is exit 8
        digest = client.confirm(Reference(client.host, path, tag), digest)
        conflicts.append(
            f"PHP {pins[tag]}: {tag} is {digest} on {name}, whose {other[0]} image was "
            f"built as {other[1]!r}, not {pin!r}"
        )
        placed.setdefault(name, []).append(tag)
    if conflicts:
        raise ReleaseConflictError(
            f"release {release.tag} is already published with other content:",
            conflicts=conflicts,
            hint="nothing was built or pushed. "
            + "; ".join(
                planning.placed_by_hand(release.tag, name, tags, config.primary.name, locations)
                for name, tags in placed.items()
            ),
        )


def select_release(
    config: Config,
    only: tuple[str, ...] | None,
    notes_dir: Path,
    release: Release,
    *,
    rehearsal: bool = False,
    republish: bool = False,
) -> tuple[Config, ReleaseRecord]:
    """``config`` narrowed to the lines ``--only`` names, for a command that rebuilds or
    publishes ``release`` (``release``, ``republish``, ``publish``, ``plan``, ``matrix``,
    ``gh-release``), and the release's record, read once for the command: pass it on
    to ``load_release``.

    A release with a record has the lines it was published with: a line it lacks, or
    one of them matrix.yaml dropped, is refused naming them (those matrix.yaml still
    has, which the command can take), not matrix.yaml's, which may hold lines the
    release never had."""
    record = ReleaseRecord(notes_dir, release)
    if only is None:
        return config, record
    facts = record.facts() if reads_record(rehearsal=rehearsal, republish=republish) else None
    if facts is not None:
        configured = set(config.all_lines or config.line_names)
        takeable = [php for php in facts.line_names if php in configured]
        absent = [php for php in only if php not in facts.line_names]
        if absent:
            raise pp.not_in_release(facts, "--only", absent, takeable)
        dropped = [php for php in only if php not in configured]
        if dropped:
            raise pp.dropped_from_matrix(facts, "--only", dropped, takeable)
    return config.select(only, option="--only"), record


def reads_record(*, rehearsal: bool, republish: bool) -> bool:
    """Does a run build on the release's record? Always, but for a rehearsal of a release:
    its registries are new, so a record of the same tag is an earlier rehearsal's, of
    images that no longer exist anywhere (a rehearsed republish rebuilds that one)."""
    return republish or not rehearsal


def require_default_line(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    primary_tags: Collection[str],
    *,
    rehearsal_output: Output | None = None,
) -> None:
    """Refuse to start a release without its default line (``--only`` leaving it out).

    ``vX.Y.Z`` (and, for a stable release, ``latest``) follow the default line, and a
    published release keeps its lines, so no later run could add it. A release that has a record,
    or whose default-line pin the primary holds, is already started: fine. A
    rehearsal (``rehearsal_output``: where it says so) publishes nothing that could be kept: it is told,
    and goes on (a build check of one line rehearses that line alone). Left out by ``--only``,
    the lines asked for, that is said as the run's progress (image-build.yml's jobs each
    rehearse one line: no warning on every green run); left out by an environment override,
    which no one named on the command line, it is a warning.
    """
    default = config.default_line
    # a prerelease never moves `latest`: only its own vX.Y.Z-rc.N follows the default line
    follow = planning.default_line_left_out(
        config, release, recorded=record is not None, tags=primary_tags
    )
    if follow is None:
        return
    # Left out by PUBLISHER_LINES or PUBLISHER_PLATFORMS rather than by --only: that
    # variable's mistake (exit 3, as its others), which --only cannot undo.
    left_out_by = planning.default_line_left_out_by(config)
    if rehearsal_output is not None:
        told = rehearsal_output.progress if left_out_by == ("--only",) else rehearsal_output.warning
        told(
            f"rehearsing {release.tag} without PHP {default}, its default line: a release "
            f"would refuse this ({follow}), so "
            f"{'neither is' if release.is_stable else 'it is not'} rehearsed, nor any "
            f"floating tag; PHP {', '.join(config.line_names)} only"
        )
        return
    refused = (
        f"{release.tag} would be published without PHP {default}, its default line: "
        f"{follow}, and a published release "
        "keeps its lines, so no later run could add it; nothing was built or pushed"
    )
    if left_out_by != ("--only",):
        names = " and ".join(left_out_by)
        raise ConfigError(
            refused,
            source="environment",
            field=names,
            hint=f"change or unset {names} so that it keeps PHP {default}; to make another "
            "line the default, set default_line in matrix.yaml",
        )
    lines = sorted({*config.line_names, default}, key=lambda php: tuple(map(int, php.split("."))))
    raise UsageError(
        refused,
        hint=f"include it (`--only {','.join(lines)}`) or leave --only out; to make another "
        "line the default, set default_line in matrix.yaml",
    )


def refuse_lines_left_out(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    tags_present: Mapping[str, Collection[str]],
    *,
    said: str = NO_TAG_WRITTEN,
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse (exit 2, before any tag is written; ``said`` says so) to finish a release without a record
    while leaving out a line an earlier run of it already pinned (``--only``, or a line
    dropped from matrix.yaml since). Its registries would then hold different pins of
    it, the mark of a release that did not finish (``plan.settled``): no floating tag
    would ever follow it, while the run said it was published."""
    if record is not None:
        return
    selected = set(config.line_names)
    where: dict[str, list[str]] = {}
    for name, tags in tags_present.items():
        for php in release_lines(list(tags), release.tag):
            if php not in selected:
                where.setdefault(php, []).append(name)
    if not where:
        return
    left_out = sorted(where, key=php_line_order)
    held = "; ".join(
        f"{planning.pin_tag(release, php)} on {', '.join(where[php])}" for php in left_out
    )
    configured = config.all_lines or config.line_names
    dropped = [php for php in left_out if php not in configured]
    unselected = [php for php in left_out if php in configured]
    ways = []
    if dropped:
        ways.append(f"restore PHP {', '.join(dropped)} in matrix.yaml")
    # the primary holds vX.Y.Z: the run that wrote these pins was given exactly their lines
    # (``plan.started_with``), and ``refuse_lines_added`` refuses a rerun given more
    started = planning.started_with(
        release.tag, tags_present.get(config.primary.name, ()), configured
    )
    if started is not None and started.whole:
        extra = [php for php in config.line_names if php not in started.lines]
        ways += [f"select PHP {', '.join(unselected)} too"] if unselected else []
        ways += [f"leave PHP {', '.join(extra)} out"] if extra else []
        narrowed = f"PHP {', '.join(started.lines)}"
        raise UsageError(
            left_out_message(release, left_out, held, said),
            hint=f"a release keeps the lines it was started with: {' and '.join(ways)} (the "
            f"primary holds {release.tag} and the pins of {narrowed} only: the run that "
            f"published it was narrowed to them) to finish {release.tag} with "
            f"`{locations.command('release', release.tag, *started.only)}`; or, if "
            f"{release.tag} is to have this run's lines, delete its pins from every registry "
            "by hand first, then rerun",
        )
    if unselected:
        lines = sorted({*config.line_names, *unselected}, key=php_line_order)
        ways.append(
            f"select PHP {', '.join(unselected)} too (`--only {','.join(lines)}`, or leave "
            "--only out)"
        )
    # the rerun takes the lines it was started with, not this run's --only
    rerun = ("--only", ",".join(sorted({*config.line_names, *left_out}, key=php_line_order)))
    raise UsageError(
        left_out_message(release, left_out, held, said),
        hint=f"a release keeps the lines it was started with: {' and '.join(ways)} to finish "
        f"{release.tag} with `{locations.command('release', release.tag, *(rerun if locations.only else ()))}`; or delete those "
        "pins from the "
        "registries by hand, then rerun",
    )


def left_out_message(release: Release, left_out: Sequence[str], held: str, said: str) -> str:
    """What ``refuse_lines_left_out`` refuses: lines an earlier run pinned (``held``: which
    pins, on which registries) that this run leaves out."""
    return (
        f"{release.tag} was started with PHP {', '.join(left_out)} ({held}), which this run "
        "leaves out: a release keeps its lines, and one whose registries hold different "
        f"pins of it is followed by no floating tag; {said}"
    )


def refuse_lines_added(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    primary_tags: Collection[str],
    *,
    said: str = NO_TAG_WRITTEN,
    locations: Locations = DEFAULT_LOCATIONS,
    output: Output | None = None,
) -> None:
    """Refuse (exit 2; ``said`` says what this run left undone) to finish a release without
    a record while adding lines to it: the primary holds its ``vX.Y.Z`` and the pins of
    fewer lines than this run selects (``plan.started_with``), so the run that wrote them
    was narrowed to those (``--only``), and a published release keeps its lines. When the
    primary holds such pins without ``vX.Y.Z`` (the run stopped while writing them, on
    those lines or more), ``output`` is warned instead, naming the narrowed rerun."""
    if record is not None:
        return
    started = planning.started_with(release.tag, primary_tags, config.line_names)
    if started is None:
        return
    held = f"PHP {', '.join(started.lines)}"
    added = f"PHP {', '.join(started.added)}"
    if not started.whole:
        if output is not None:
            output.warning(
                f"{release.tag} has no record, and the primary holds the pins of {held} "
                f"alone, without {release.tag}: a run of it stopped while writing them, and "
                f"this one adds {added} to the release for good; if that run was narrowed "
                f"(--only), stop this one and "
                f"{planning.rerun_release(release.tag, locations, started)}"
            )
        return
    narrowed = locations.command("release", release.tag, *started.only)
    raise UsageError(
        f"{release.tag} was published by a run narrowed to {held} (the primary holds "
        f"{release.tag} and the pins of {held} only, and no record of it is here): this run "
        f"would add {added} to it, and a published release keeps its lines; {said}",
        hint=f"finish {release.tag} as it was run: `{narrowed}`; publish {added} in a later "
        f"release; or, if {release.tag} is to have "
        f"{'them' if len(started.added) > 1 else 'it'}, delete its pins from every registry "
        "by hand first, then rerun",
    )


def refuse_before_build(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    primary: RegistryClient,
    *,
    rehearsal_output: Output | None = None,
    maybe_republish: bool = False,
    others: Mapping[str, tuple[RegistryClient, str]] | None = None,
    locations: Locations = DEFAULT_LOCATIONS,
    listed: dict[str, list[str]] | None = None,
    output: Output | None = None,
) -> None:
    """What a new release (no ``record``) is refused before anything is built: by
    ``release`` before its legs, and by ``matrix`` before it lists them (the workflow's
    legs would build for minutes, then ``publish`` would refuse the same). A default
    line left out (``require_default_line``, its pin read on the primary), a release
    started with another default line, a line an earlier run pinned that this selection
    leaves out, a line this selection adds to those whose pins the primary holds with
    ``vX.Y.Z`` (``refuse_lines_added``, which warns ``output`` when the primary holds such
    pins without it), and, given ``others`` (the other registries, by name: ``release`` and
    its dry run), a pin there holding an image built as another pin
    (``refuse_pins_placed_elsewhere``); a rehearsal (``rehearsal_output``) is told of the
    first and goes on.
    ``maybe_republish`` (``matrix``, which cannot tell a republish's legs from a
    release's): a release whose ``vX.Y.Z`` the primary holds is published, and a
    republish of it may leave lines out; ``publish`` tells the two apart.
    ``listed`` is given the primary's tags (by its name) when it listed them, so that a dry
    run, which writes nothing meanwhile, plans on them rather than listing them again
    (``Publisher.listed_before``)."""
    if record is not None:
        return
    repo = config.primary.repository.path
    if config.default_line not in config.line_names:
        held = primary.tag_digests(repo, [planning.pin_tag(release, config.default_line)])
        require_default_line(config, release, record, held, rehearsal_output=rehearsal_output)
    if rehearsal_output is not None:
        return
    refuse_started_with_another_default(config, release, primary, locations)
    asked: set[int] = set()
    (tags,) = listed_tags(
        [(primary, repo)], planning.scheme_tags([release.tag], config.line_names), asked=asked
    )
    assert isinstance(tags, list)  # (no error is caught)
    if listed is not None and not asked:
        listed[config.primary.name] = tags
    if maybe_republish and release.tag in tags:
        return
    refuse_lines_left_out(
        config,
        release,
        record,
        {config.primary.name: tags},
        said="nothing was built or pushed",
        locations=locations,
    )
    refuse_lines_added(
        config,
        release,
        record,
        tags,
        said="nothing was built or pushed",
        locations=locations,
        output=output,
    )
    refuse_pins_placed_elsewhere(config, release, primary, others or {}, locations)


def republished_floating(
    recorded: Sequence[notes_mod.FloatingFacts],
    found: Sequence[notes_mod.FloatingFacts],
    release: str,
) -> tuple[notes_mod.FloatingFacts, ...]:
    """The ``floating`` facts of ``release``'s record after a republish: as ``recorded`` at
    publication, but for each of its own floating tags the run found on it (``found``, once
    verified), on the images it holds now; a floating tag a newer release took since stays
    as it was at publication, and one the run found on the release that the record lacks
    is added."""
    now = {(f.registry, f.tag): f for f in found if f.release == release}
    kept = [now.pop((f.registry, f.tag), f) if f.release == release else f for f in recorded]
    return (*kept, *now.values())


def floating_differences(
    registries: Sequence[Registry], found: Sequence[Sequence[pp.TagMove]]
) -> dict[str, str]:
    """Each floating tag the registries' pins (``found``: per registry, in matrix order,
    as ``expected_floating`` reads them) call for different content under, in words."""
    maps = {
        r.name: {m.tag: m.new for m in moves} for r, moves in zip(registries, found, strict=True)
    }
    return {text.split(":", 1)[0]: text for text in pp.tag_differences(maps)}


def floating_apart(found: Mapping[str, Mapping[str, str | None]]) -> str | None:
    """The floating tags the registries (name -> tag -> digest) now disagree on, in the
    words a run stopped while moving them says (None: they agree): a failed one adds them
    to its error, an interrupted one to the line saying so."""
    differ = pp.tag_differences(found)
    if not differ:
        return None
    return "the registries now disagree on these floating tags:\n  - " + "\n  - ".join(differ)


def floating_left(
    registries: Sequence[Registry],
    found: Sequence[Sequence[pp.TagMove]],
    written: Sequence[pp.TagMove],
) -> dict[str, dict[str, str | None]]:
    """The floating tags of each registry (name -> tag -> digest) as far as a run that
    stopped moving them knows, without a request: where they were read (``found``: per
    registry, in matrix order, where they were and must go), but the moves it saw
    confirmed since (``written``)."""
    held = {
        r.name: {m.tag: m.old for m in moves} for r, moves in zip(registries, found, strict=True)
    }
    for move in written:
        held[move.registry][move.tag] = move.new
    return held


@dataclass(frozen=True)
class PinsApart:
    """The pins of some releases that the registries do not hold alike (``pins_apart``)."""

    #: each pin in words, with its digest on each registry
    defects: tuple[str, ...] = ()
    #: the releases with a pin two registries hold with different content: a republish
    #: stopped while rewriting them
    rewritten: tuple[str, ...] = ()
    #: release -> the registries (in matrix order) lacking a pin of it another holds: the
    #: release did not finish there
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: release of ``missing`` -> the lines its pins on the primary are of, when fewer than
    #: matrix.yaml's (``plan.started_with``; absent: every line, or not known)
    started: Mapping[str, planning.Started | None] = field(default_factory=dict)


def pins_apart(found: Mapping[str, Mapping[str, str]]) -> PinsApart:
    """Of the pins ``found`` (registry, in matrix order -> pin -> digest), those the
    registries do not hold alike: each held with different content (rewritten half-way),
    or missing from a registry, told apart."""
    defects: list[str] = []
    rewritten: set[str] = set()
    missing: dict[str, list[str]] = {}
    for words in pp.tag_differences(found):
        tag = words.split(":", 1)[0]
        parsed = planning.parse_scheme_tag(tag)
        release = parsed.release.tag if parsed else tag
        seen = {name: tags.get(tag) for name, tags in found.items()}
        lacking = [name for name, digest in seen.items() if digest is None]
        if lacking:
            held = missing.setdefault(release, [])
            held += [name for name in lacking if name not in held]
        if len({d for d in seen.values() if d is not None}) > 1:
            rewritten.add(release)
            defects.append(f"pin rewritten half-way: {words}")
        else:
            defects.append(f"pin missing from {' and '.join(lacking)}: {words}")
    order = list(found)
    return PinsApart(
        tuple(defects),
        tuple(sorted(rewritten, key=parse_release)),
        {
            release: tuple(planning.in_matrix_order(names, order))
            for release, names in sorted(missing.items(), key=lambda item: parse_release(item[0]))
        },
    )


def unfinished_words(
    missing: Mapping[str, Sequence[str]],
    locations: Locations = DEFAULT_LOCATIONS,
    started: Mapping[str, planning.Started | None] | None = None,
) -> str:
    """What to do about pins of releases (``missing``: release -> the registries lacking
    some of its pins) that other registries hold, in words, for a tip. ``started``: release
    -> the lines its pins on the primary are of, when fewer than matrix.yaml's
    (``plan.started_with``): its rerun is named with their --only (``plan.rerun_release``),
    as a rerun given every line would add the others to it for good."""
    whole = dataclasses.replace(locations, only=())  # each as it was run, not with this --only
    known = started or {}
    rerun = "; ".join(
        planning.rerun_release(release, whole, known.get(release)) for release in missing
    )
    if len(missing) == 1:
        ((release, names),) = missing.items()
        where = (
            f"{release}'s pins named above are missing from {' and '.join(names)}, which "
            "another registry holds. That release did not finish there"
        )
    else:
        each = ", ".join(f"{r}'s from {' and '.join(n)}" for r, n in missing.items())
        where = (
            f"The pins named above are missing: {each} (another registry holds them). "
            "Each of those releases did not finish there"
        )
    it = "it" if len(missing) == 1 else "each"
    return (
        f"{where} (it stopped, or was published from a matrix.yaml naming only some "
        "registries), or another run of it is writing them now (wait for it to end). "
        f"Finish {it} with a matrix.yaml naming every registry: {rerun}; or, once it "
        f"has a record, `{locations.command('audit', '--repair')}` copies its pins from a "
        "registry that holds them"
    )


def floating_words(moves: Sequence[pp.TagMove], registries: Sequence[str]) -> str:
    """The floating tags ``moves`` wrote, in words: ``latest, php-8.4 onto v1.1.0 on hub and
    ghcr`` (the last move of each tag on each registry)."""
    last = {(m.registry, m.tag): m for m in moves}
    where: dict[tuple[str, str], list[str]] = {}
    for (registry, tag), move in last.items():
        where.setdefault((tag, move.source_release), []).append(registry)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (tag, release), names in sorted(where.items()):
        on = tuple(planning.in_matrix_order(names, registries))
        groups.setdefault((release, on), []).append(tag)
    return "; ".join(
        f"{', '.join(tags)} onto {release} on {' and '.join(on)}"
        for (release, on), tags in groups.items()
    )


def notes_said(files: Sequence[Path], written: Collection[Path]) -> str:
    """Which of a release's notes ``files`` (Markdown, JSON, then the pins file) a run
    wrote and which it kept as they were (every fact as recorded), in words: a file of
    a kept record that was missing (the pins file, which an older publisher did not
    write) is written."""

    def named(paths: Sequence[Path]) -> str:
        words = [  # as every path is said (a line of stdout, as stderr writes them)
            f"the pins file {shown_path(p.name)}" if p == files[-1] else shown_path(p)
            for p in paths
        ]
        return " and ".join(w for w in (", ".join(words[:-1]), words[-1]) if w)

    kept = [p for p in files if p not in written]
    wrote = [p for p in files if p in written]
    if not kept:
        return f"wrote {named(wrote)}"
    if not wrote:
        return f"kept {named(kept)}: every fact is as recorded"
    return f"kept {named(kept)} (every fact as recorded); wrote {named(wrote)}, missing until now"


def halfway_republish_hint(
    releases: Sequence[str], said: str, locations: Locations = DEFAULT_LOCATIONS
) -> str:
    """The tip when pins alike by name on every registry are not alike by content."""
    # each as it was run: with its own --only, which the tip says, not this run's
    whole = dataclasses.replace(locations, only=())
    republish = "; ".join(
        f"`{whole.command('republish', tag, '--reason ...')}`" for tag in releases
    )
    why, rerun = (
        (
            "a republish stopped while rewriting them, or another run of it is rewriting "
            "them now (wait for it to end). Rerun it",
            "the --only it had",
        )
        if len(releases) == 1
        else (
            "a republish of each stopped while rewriting them, or another run of it is "
            "rewriting them now (wait for it to end). Rerun each",
            "the --only each had",
        )
    )
    return (
        f"{said}. The pins of {', '.join(releases)} hold different content on different "
        f"registries: {why} as it was run ({republish}, with {rerun}, if any, so that it "
        "takes the lines of the pins named above; a pin moved by hand: "
        f"`{locations.command('audit', '--repair')}`), then rerun this command"
    )


def summary_title(
    facts: notes_mod.ReleaseFacts,
    *,
    rehearsal: bool,
    republish: notes_mod.Republish | Sequence[notes_mod.Republish] = (),
    rebuilt: bool = False,
    moved: bool = True,
    repaired: Sequence[str] = (),
) -> str:
    """The heading of a publish run's digest table: what happened, and what the images are.

    ``republish``: the history entry this run added (a republish that replaced images),
    or the recorded entries a rerun repeats, each with its lines and reason;
    ``rebuilt``: a republish whose rebuilt images were all the published ones;
    ``moved``: the run wrote a tag. A republish whose every tag already held the rebuilt
    images (a rerun before the notes of the run that moved them are merged, or after
    that run failed before its notes) records the entry but republished nothing itself;
    so does a release run again with nothing to do, and a republish whose rebuilt images
    are the ones recorded republishes published (``republished_earlier``: passed as
    ``republish``, ``moved`` false): each says an earlier run (or runs) did it.
    ``repaired``: the floating tags a rerun put back, having moved no pin and kept the
    record as written; it too says an earlier run published.
    """
    entries = (republish,) if isinstance(republish, notes_mod.Republish) else tuple(republish)
    earlier = "by earlier runs" if len(entries) > 1 else "by an earlier run"
    if rehearsal:
        title = f"Rehearsed {facts.release} on throwaway registries"
    elif entries:
        title = f"Republished {facts.release}, " + " and ".join(
            f"PHP {', '.join(php for php, _old, _new in entry.changes)} ({entry.reason})"
            for entry in entries
        )
    elif rebuilt:
        title = f"Rebuilt {facts.release}: identical to the published images, nothing republished"
    else:
        title = f"Published {facts.release}"
    if not moved and not rebuilt and not rehearsal:
        title += f" {earlier} (this run moved no tag; its notes record it)"
    elif repaired and not rebuilt and not rehearsal:
        title += (
            f" {earlier} (this run only put back the floating "
            f"{'tag' if len(repaired) == 1 else 'tags'} {', '.join(repaired)}; "
            "its notes record it)"
        )
    if facts.stand_in:
        title += f": {STAND_IN_WARNING}"
    return title


def republished_earlier(
    record: notes_mod.ReleaseFacts | None, rebuilt: Mapping[str, str]
) -> tuple[notes_mod.Republish, ...]:
    """The republishes of ``record``'s history a republish that changed nothing reruns.

    ``rebuilt``: each line rebuilt identical to the published index, and that index. When
    every one of them was last republished to that index, the run is a rerun of those
    history entries (with their reasons or another one): ``republished_by``'s entries.
    ``()`` otherwise (a line never republished: its base did not change since it was
    published).
    """
    entries, published = republished_by(record, rebuilt)
    return () if published else entries


def republished_by(
    record: notes_mod.ReleaseFacts | None, rebuilt: Mapping[str, str]
) -> tuple[tuple[notes_mod.Republish, ...], tuple[str, ...]]:
    """Whose images the lines rebuilt identical (``rebuilt``: each line -> the published
    index it gave again) are: each history entry of ``record`` that last republished some of
    them to that index, cut to those lines, in the history's order (one, or several when
    different runs republished the lines); and the lines no entry republished so, whose
    images are those the release was published with (their bases did not change since)."""
    if record is None or not rebuilt:
        return (), tuple(rebuilt)
    newest: dict[str, tuple[int, str]] = {}
    for n, entry in enumerate(record.history):
        for php, _old, new in entry.changes:
            newest[php] = (n, new)
    found = {
        php: newest[php][0]
        for php, digest in rebuilt.items()
        if php in newest and newest[php][1] == digest
    }
    entries = tuple(
        record.history[n].cut_to([php for php, m in found.items() if m == n])
        for n in sorted(set(found.values()))
    )
    return entries, tuple(php for php in rebuilt if php not in found)


def nothing_to_republish(
    config: Config,
    release: Release,
    notes_dir: Path,
    locations: Locations = DEFAULT_LOCATIONS,
    *,
    said: str = NO_TAG_WRITTEN,
    elsewhere: Mapping[str, Collection[str]] | None = None,
) -> UsageError:
    """The refusal of a republish of a release with no record and no pin on the primary;
    ``said`` says what the run did not do: before its builds (``republish``, ``matrix``),
    nothing was built or pushed; ``publish`` comes after legs that may have pushed.
    ``elsewhere``: the release's pins the other registries hold, by name, when read: no
    publisher run left those without the primary's, and the tip says how to remove them
    (``planning.placed_by_hand``) before the release publishes it."""
    pins = ", ".join(planning.pin_tag(release, php) for php in config.line_names)
    placed = {name: sorted(tags) for name, tags in (elsewhere or {}).items() if tags}
    held = "".join(f"; {name} holds {', '.join(tags)}" for name, tags in placed.items())
    publish = (
        f", which {release.tag} is not; "
        + "; ".join(
            planning.placed_by_hand(release.tag, name, tags, config.primary.name, locations)
            for name, tags in placed.items()
        )
        if placed
        else f": run `{locations.command('release', release.tag)}` to publish it first (or "
        "check --notes-dir, --only and the primary registry)"
    )
    return UsageError(
        f"nothing to republish: {release.tag} has no release record "
        f"({shown_path(notes_mod.record_path(notes_dir, release.tag))}) and {config.primary.name} "
        f"({config.primary.repository.name}) holds none of its pins ({pins}){held}; {said}",
        hint=_recorded_instead(notes_dir) + f"republish rebuilds a published release{publish}",
    )


def _recorded_instead(notes_dir: Path, most: int = 3) -> str:
    """The newest releases recorded in ``notes_dir``, for a tag that may be a typo: the
    start of a tip ("" when none is, or the folder cannot be listed)."""
    try:
        recorded = sorted(map(parse_release, notes_mod.recorded_tags(notes_dir)), reverse=True)
    except PublisherError:
        return ""
    if not recorded:
        return ""
    newest = ", ".join(r.tag for r in recorded[:most])
    more = f" and {len(recorded) - most} older" if len(recorded) > most else ""
    return f"check the tag: the releases recorded in {shown_path(notes_dir)} are {newest}{more}; "


def refuse_republish_of_dropped_lines(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    primary: RegistryClient,
    notes_dir: Path,
    *,
    said: str = NO_TAG_WRITTEN,
) -> None:
    """Refuse (exit 2; ``said`` says what the run did not do) a republish of a release
    without a record whose pins on the primary hold a line matrix.yaml no longer has at
    all: only matrix.yaml and those pins say what the release is, and its record would
    be written without that line (``audit``'s ``unrecorded-line``). A line matrix.yaml
    has but this run does not select (``--only``, ``PUBLISHER_LINES``) is kept from its
    pin, as ``described_from_pin`` says."""
    if record is not None:
        return
    repo = config.primary.repository.path
    configured = set(config.all_lines or config.line_names)
    listed = listed_tags([(primary, repo)], planning.scheme_tags([release.tag], configured))
    tags = listed[0]
    assert isinstance(tags, list)  # (no error is caught)
    dropped = [php for php in release_lines(tags, release.tag) if php not in configured]
    if not dropped:
        return
    pins = [planning.pin_tag(release, php) for php in dropped]
    its = "its pin" if len(pins) == 1 else "its pins"
    path = notes_mod.record_path(notes_dir, release.tag)
    raise UsageError(
        f"{release.tag} has no release record ({shown_path(path)}) and "
        f"{config.primary.name} holds {its} "
        f"{', '.join(pins)} of PHP {', '.join(dropped)}, which matrix.yaml no longer has: "
        f"its republish would record {release.tag} without "
        f"{'that line' if len(dropped) == 1 else 'those lines'}; {said}",
        hint=f"restore PHP {', '.join(dropped)} in matrix.yaml (as {release.tag} had it: "
        f"`git show {release.tag}:matrix.yaml`), or republish with {release.tag}'s record "
        f"(--notes-dir DIR holding {path.name})",
    )


def republish_config(
    config: Config,
    release: Release,
    record: notes_mod.ReleaseFacts | None,
    pinned: Collection[str],
    notes_dir: Path,
    output: Output,
    locations: Locations = DEFAULT_LOCATIONS,
    *,
    primary: RegistryClient,
    said: str = NO_TAG_WRITTEN,
    others: Mapping[str, tuple[RegistryClient, str]] | None = None,
) -> Config:
    """The lines a republish rebuilds, refusing a release that was never published.

    ``pinned``: the selected lines whose pin is on the primary. A release with a
    record is published (``load_release`` already made ``config`` what it
    records). Without one, only its pins say what it is: a pin of a line matrix.yaml
    no longer has refuses it (``refuse_republish_of_dropped_lines``, which reads the
    ``primary``'s tags); with none, there is
    nothing to republish (UsageError, before any tag is written; ``said`` says
    what the run did not do, as ``nothing_to_republish``, which names the pins
    ``others``, the other registries, hold); lines without a pin are not part of it
    and are left out, as for a record.
    """
    if record is not None:
        return config
    refuse_republish_of_dropped_lines(config, release, record, primary, notes_dir, said=said)
    if not pinned:
        elsewhere = pins_held_elsewhere(config, release, others or {})
        raise nothing_to_republish(
            config, release, notes_dir, locations, said=said, elsewhere=elsewhere
        )
    output.warning(
        f"no release record for {release.tag} in {shown_path(notes_dir)}: using matrix.yaml's "
        f"default line ({config.default_line}) and the lines whose pin is on "
        f"{config.primary.name}"
    )
    missing = [php for php in config.line_names if php not in pinned]
    if not missing:
        return config
    output.warning(
        f"{release.tag} has no pin for PHP {', '.join(missing)} on {config.primary.name}: "
        "not part of the release, not republished (publish them in a new release)"
    )
    return config.select(tuple(php for php in config.line_names if php in pinned))


def described_from_pin(
    config: Config, release: Release, line: Line, client: RegistryClient, digest: str
) -> notes_mod.LineFacts:
    """``line`` of ``release`` as its pin on ``config``'s primary (index ``digest``)
    describes it, for a record that keeps a line the run did not rebuild when no record
    says it (a republish of some lines before the release's notes are merged): its
    images, their sizes, the base their label names (else the line's, without a digest),
    the tags the release gives it (the floating ones its images hold are kept as for a
    recorded line: ``held_tags``), and no PHP version (it was not smoke-tested by this
    run). A pin whose index cannot be read whole, or holds images built for another pin,
    is refused before any tag is written; what verify judges against the record (its
    platforms, sizes) is described as it is."""
    registry, php = config.primary, line.php
    pin = planning.pin_tag(release, php)
    found = inspect_index(client, registry.name, registry.repository.path, digest)
    problems = [
        *([found.error] if found.error else []),
        *found.missing,
        *(f"{b.named} {b.digest} is damaged" for b in found.damaged),
        *(f"{platform}: an index in place of an image" for platform in found.nested),
        *(
            f"{platform}: its image was built for {built.version}"
            for platform, built in found.built.items()
            if built.version is not None and built.version != pin
        ),
    ]
    children = {p: found.children[p] for p in found.platforms if p in found.children}
    if problems or not children:
        raise VerificationError(
            [f"{registry.name}: {pin} ({digest}): {said}" for said in problems]
            or [f"{registry.name}: {pin} ({digest}) lists no platform image"],
            hint=f"{NO_TAG_WRITTEN}: {release.tag} has no record here, so its record "
            f"would keep PHP {php} as its pin holds it; republish PHP {php} too (add it to "
            "--only), or merge the release's notes and rerun",
        )
    first = client.get_manifest_by_digest(registry.repository.path, next(iter(children.values())))
    base = base_from_label(client.labels(registry.repository.path, first).get(BASE_LABEL))
    base_image, base_digest = base or (str(config.base_pull_ref(line)), None)
    default = php == config.default_line
    tags = (
        *planning.release_pins(release.tag, php, config.default_line),
        planning.line_tag(php),
        *((planning.LATEST,) if default and release.is_stable else ()),
    )
    return notes_mod.LineFacts(
        php=php,
        php_version=NOT_TESTED,
        index_digest=digest,
        tags=tags,
        base_image=base_image,
        base_digest=base_digest,
        size_budget_bytes=line.size_budget_bytes,
        extensions=line.extensions.names,
        platforms=tuple(
            notes_mod.PlatformFacts(Platform.parse(platform), image, found.platforms[platform])
            for platform, image in children.items()
        ),
    )


# --------------------------------------------------------------------------- the stage


@dataclass(frozen=True, kw_only=True)
class PublishOptions:
    """How a publish runs; what it publishes comes from the config and the record."""

    notes_dir: Path
    jobs: int = 2
    #: blob transfers in flight while copying to the other registries
    transfers: int = DEFAULT_TRANSFERS
    dry_run: bool = False
    #: dry run: also print the publish plan as JSON
    json_plan: bool = False
    #: why a published release is rebuilt (``republish``); None for a release
    republish_reason: str | None = None
    #: ``--local``: the registries are throwaway stand-ins, so the summary says
    #: "Rehearsed", not "Published"
    rehearsal: bool = False
    #: the location options the run was given, which a tip naming a command carries
    locations: Locations = DEFAULT_LOCATIONS


def pins_left_hint(hint: str | None, wrote: str) -> str:
    """What a run that failed while writing its pins adds to the error's hint: ``wrote``
    (``pins_said``: the pins it wrote, per registry, and those it did not), that no
    floating tag moved onto them (a release with only some of its pins counts nowhere),
    and that a rerun writes the rest. The tip names the pins itself: the log lists the
    tags written inside its step's group, and neither the annotation nor the step
    summary (whose plan lists every pin as to be written) shows them. Not for a
    rehearsal: its throwaway registries stop with it, and its rerun rehearses again on
    new ones."""
    said = (
        f"this run stopped while writing its pins: {wrote}; no floating tag moved and its "
        "record is not written; once the cause is fixed, a rerun of the same command "
        "writes the rest, then the floating tags"
    )
    return f"{hint}; {said}" if hint else said


def pins_said(
    written: Sequence[pp.TagMove], planned: Sequence[pp.TagMove], registries: Sequence[str]
) -> str:
    """The pins of ``planned`` a run wrote (``written``, a refused one never stopping those
    beside it) and those it did not, per registry (in matrix order, ``registries``), in
    words: ``it wrote v1.0.0-php-8.4, v1.0.0 on hub and none on ghcr (not
    v1.0.0-php-8.4, v1.0.0 on ghcr)``."""
    done = set(written)
    pending = [m for m in planned if m.changes and m.new is not None]
    left = [m for m in pending if m not in done]
    return f"it wrote {pins_words(written, pending, registries)}" + (
        f" (not {pins_words(left, left, registries)})" if left else ""
    )


def pins_words(
    moves: Sequence[pp.TagMove], among: Sequence[pp.TagMove], registries: Sequence[str]
) -> str:
    """The tags of ``moves`` per registry of ``among`` (in matrix order), in words:
    ``v1.0.0-php-8.4, v1.0.0 on hub and none on ghcr``."""
    names = planning.in_matrix_order({m.registry for m in among}, registries)
    return " and ".join(
        f"{', '.join(m.tag for m in moves if m.registry == name) or 'none'} on {name}"
        for name in names
    )


@dataclass(eq=False)
class Publisher:
    """Runs the publish steps for one release against real registries.

    ``config`` must already describe the release as recorded (see
    ``load_release``); the stage reads what the registries hold, computes the
    ``PublishPlan`` (pure) and executes it.
    """

    config: Config
    release: Release
    clients: Mapping[str, RegistryClient]
    output: Output
    options: PublishOptions
    _: dataclasses.KW_ONLY
    smoke: SmokeTest | None = None
    #: the release's record; read from ``options.notes_dir`` when not given
    record: notes_mod.ReleaseFacts | None = None
    #: today's whole matrix.yaml, before ``--only`` narrowed ``config``: a republish
    #: without a record keeps in its record each other line whose pin the primary holds
    #: (``unrecorded_lines``)
    matrix: Config | None = None
    #: a dry run of ``release`` before its builds: a line whose legs have no
    #: digest record yet is planned as pending (every other run needs them all)
    before_builds: bool = False
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    #: check every image and blob under the release's indexes on the other registries
    #: (False: take an index a registry holds as whole, as the copy step did before;
    #: ``bench/rerun_bench.py`` measures what the check costs)
    deep: bool = True
    #: blob transfers in flight while copying to the other registries
    transfers: Transfers = field(init=False)
    #: manifest bodies this run assembled or fetched, so tagging them needs no GET
    _bodies: dict[str, tuple[bytes, str]] = field(init=False, default_factory=dict)
    #: image config blobs read from the primary (for the index's annotations), by digest:
    #: the copies upload them from here, so the run reads each blob from the primary once
    _configs: dict[str, bytes] = field(init=False, default_factory=dict)
    #: the releases with a record in the notes directory: each finished once, so its
    #: pins count wherever its vX.Y.Z is (``plan.settled``)
    recorded: frozenset[str] = field(init=False, default=frozenset())
    #: registries' tags this run listed already, by name (a dry run of ``release``, which
    #: read the primary's before its builds and wrote nothing since): its first listing
    #: takes them instead of listing them again; every later one reads the registries
    listed_before: dict[str, list[str]] = field(default_factory=dict)
    #: every registry's tags as the floating tags were last computed from them
    _listed: dict[str, list[str]] = field(init=False, default_factory=dict)
    #: what was said of each registry that does not list tags (said once)
    _unlisted: set[str] = field(init=False, default_factory=set)
    #: the pins this run wrote (moved), each once its write was confirmed
    pins_written: list[pp.TagMove] = field(init=False, default_factory=list)
    #: the floating tags this run moved, in the order it moved them, each once its write
    #: was confirmed (also in a group of writes that failed or was interrupted)
    floating_written: list[pp.TagMove] = field(init=False, default_factory=list)
    #: this release's pin tags -> the index each should hold (the record's, else the
    #: run's; once written, the one written): a HEAD naming another is confirmed by a
    #: hashed GET (``RegistryClient.resolve``)
    _held: dict[str, str] = field(init=False, default_factory=dict)
    #: the lines this run does not rebuild that its record keeps, described from their
    #: pins, when no record describes them (``unrecorded_lines``)
    _unrecorded: tuple[notes_mod.LineFacts, ...] = field(init=False, default=())
    #: the release's record as the command read it at its start (``select_release``), else
    #: read when the stage is made: a record the notes directory holds otherwise when the
    #: notes are written was written meanwhile (``written_meanwhile``)
    found: ReleaseRecord | None = None
    #: ``found``'s record (None: the notes directory held none)
    _at_start: notes_mod.ReleaseFacts | None = field(init=False, default=None)
    #: per registry, the tags ``floating_states`` read last (those it asked for) and what
    #: each held (a tag asked for and missing has none): the read after write of this
    #: run's pins takes those it holds from there rather than read them again
    _floating_read: dict[str, tuple[frozenset[str], dict[str, str]]] = field(
        init=False, default_factory=dict
    )
    #: ``repository_moves``, once read
    _moves: tuple[dict[str, frozenset[str]], list[str]] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.transfers = Transfers(workers=self.options.transfers, output=self.output)
        reads = reads_record(
            rehearsal=self.options.rehearsal, republish=self.options.republish_reason is not None
        )
        if self.record is None and reads:
            self.record = notes_mod.load_record(self.options.notes_dir, self.release.tag)
        if self.found is not None:
            self._at_start = self.found.facts()
        else:
            self._at_start = self.record if reads else self._record_now()
        if not self.options.rehearsal:
            self.recorded = notes_mod.recorded_tags(self.options.notes_dir)
        # The notes are written last, after the tags moved: a size history that
        # cannot be read refuses the run now, before anything is pushed.
        notes_mod.check_size_history(self.options.notes_dir)

    def client(self, registry: Registry) -> RegistryClient:
        return self.clients[registry.name]

    def registry(self, name: str) -> Registry:
        return next(r for r in self.config.registries if r.name == name)

    @property
    def primary(self) -> Registry:
        return self.config.primary

    # ---------------------------------------------------------------- observing

    def list_tags(self) -> dict[str, list[str]]:
        """Each registry's tags; one that does not list tags is asked one by one for those
        of this release, of the recorded releases and of the others' lists, and the
        floating tags (``listed_tags``)."""
        known, self.listed_before = self.listed_before, {}  # taken once: then read again
        registries = [r for r in self.config.registries if r.name not in known]
        wanted = [
            *planning.scheme_tags(
                [*sorted(self.recorded), self.release.tag], self.config.line_names
            ),
            # the tags of the scheme a registry listed before, as if listed now (one that
            # does not list tags is asked for them too)
            *sorted(
                tag
                for tags in known.values()
                for tag in tags
                if planning.parse_scheme_tag(tag) is not None or planning.is_floating_tag(tag)
            ),
        ]
        found = listed_tags(
            [(self.client(r), r.repository.path) for r in registries], wanted, tell=self._tell
        )
        read = dict(zip((r.name for r in registries), found, strict=True))
        listed: dict[str, list[str]] = {}
        for registry in self.config.registries:
            tags = known[registry.name] if registry.name in known else read[registry.name]
            assert isinstance(tags, list)  # (no error is caught)
            listed[registry.name] = tags
        return listed

    def _tell(self, words: str) -> None:
        if words not in self._unlisted:
            self._unlisted.add(words)
            self.output.warning(words)

    def read_plan(self) -> planning.Plan:
        return planning.plan(self.config, self.release, self.list_tags(), self.recorded)

    def observe(
        self,
        p: planning.Plan,
        tags_present: Mapping[str, Sequence[str]],
        candidates: Mapping[str, LineIndex],
    ) -> pp.Observed:
        """Read the digests of every tag the plan needs, the pinned indexes and which
        index digests each registry holds."""
        wanted = pp.tags_to_resolve(p, tags_present, self.recorded)
        followed = pp.floating_followed(p, tags_present, self.recorded)
        held = {php: index.digest for php, index in candidates.items()}
        if self.record is not None:
            held |= {line.php: line.index_digest for line in self.record.lines}
        self._held = {
            tag: held[line.php] for line in p.lines if line.php in held for tag in p.pins(line.php)
        }
        registries = list(self.config.registries)
        found = in_parallel(
            lambda r: following_digests(
                self.client(r), r.repository.path, wanted[r.name], followed[r.name], self._held
            ),
            registries,
        )
        tags = {r.name: digests for r, digests in zip(registries, found, strict=True)}
        primary_tags = tags[self.primary.name]
        pinned_images: dict[str, tuple[tuple[str, str], ...]] = {}
        pinned_digests: dict[str, str] = {}
        for line in p.lines:
            pinned = primary_tags.get(p.pins(line.php)[0])
            candidate = candidates.get(line.php)
            if pinned and (candidate is None or candidate.digest != pinned):
                pinned_digests[line.php] = pinned
        fetched = in_parallel(
            lambda item: self.client(self.primary).get_manifest_by_digest(
                self.primary.repository.path, item[1]
            ),
            list(pinned_digests.items()),
        )
        for (php, _digest), manifest in zip(pinned_digests.items(), fetched, strict=True):
            self._bodies[manifest.digest] = (manifest.body, manifest.media_type)
            pinned_images[php] = tuple(
                sorted(
                    (c.platform or pp.NO_PLATFORM, c.digest)
                    for c in manifest.children
                    if not c.is_attestation
                )
            )
        digests = sorted({i.digest for i in candidates.values()} | set(pinned_digests.values()))
        work = [(r, d) for r in registries for d in digests]
        present = in_parallel(
            lambda item: self.client(item[0]).manifest_exists(item[0].repository.path, item[1]),
            work,
        )
        indexes: dict[str, set[str]] = {r.name: set() for r in registries}
        for (registry, digest), exists in zip(work, present, strict=True):
            if exists:
                indexes[registry.name].add(digest)
        return pp.Observed(
            tags=tags,
            indexes={name: frozenset(d) for name, d in indexes.items()},
            pinned_images=pinned_images,
        )

    def targets(self) -> dict[str, Target]:
        """Every registry's repository, as the transfer plan names it."""
        return {
            r.name: Target(self.client(r).transport.base, r.repository.path)
            for r in self.config.registries
        }

    def observe_copies(
        self, p: planning.Plan, observed: pp.Observed, candidates: Mapping[str, pp.Candidate]
    ) -> pp.Observed:
        """``observed`` with what the copies need: the trees of the run's indexes
        (read from the primary, or assembled by this run) and which of their
        manifests and blobs each other registry holds, all the way down: a registry
        that lost a child or a blob under an index it holds lacks it."""
        wanted = pp.copies_to_observe(
            p,
            observed,
            candidates,
            primary=self.primary.name,
            republish=self.options.republish_reason is not None,
            deep=self.deep,
        )
        if not wanted:
            return observed
        targets = self.targets()
        clients = {targets[name]: self.client(self.registry(name)) for name in wanted}
        roots = list(dict.fromkeys(d for digests in wanted.values() for d in digests))
        known = {digest: Manifest.parse(*body, digest) for digest, body in self._bodies.items()}
        try:
            tree, present = self.transfers.observe(
                self.client(self.primary),
                self.primary.repository.path,
                roots,
                clients,
                known=known,
                lacking={
                    targets[name]: {d for d in digests if d not in observed.indexes.get(name, ())}
                    for name, digests in wanted.items()
                },
                deep=self.deep,
            )
        except NotFoundError as exc:  # a manifest the indexes list, read from the primary
            pinned = observed.tags.get(self.primary.name, {})
            line_of = {pinned.get(p.pins(line.php)[0]): line.php for line in p.lines}
            line_of.update({c.digest: c.php for c in candidates.values()})
            listed = [(line_of[d], known[d]) for d in roots if d in known and d in line_of]
            raise self.lost_children(listed, exc) from exc
        copies = pp.CopySource(
            tree,
            targets,
            {target: frozenset(found) for target, found in present.items()},
            deep=self.deep,
        )
        return dataclasses.replace(observed, copies=copies)

    def plan_run(self, records: Sequence[DigestRecord]) -> PlannedRun:
        """Read the registries once and compute the whole publish plan."""
        tags_present = self.list_tags()
        if self.options.republish_reason is None and not self.options.rehearsal:
            # (a rehearsal was told by ``release``, before its builds)
            require_default_line(
                self.config, self.release, self.record, tags_present.get(self.primary.name, ())
            )
            refuse_lines_left_out(
                self.config,
                self.release,
                self.record,
                tags_present,
                locations=self.options.locations,
            )
            refuse_lines_added(
                self.config,
                self.release,
                self.record,
                tags_present.get(self.primary.name, ()),
                locations=self.options.locations,
            )
        p = planning.plan(self.config, self.release, tags_present, self.recorded)
        if self.options.republish_reason is not None and self.record is None:
            held = set(tags_present.get(self.primary.name, ()))
            if not any(p.pins(line.php)[0] in held for line in p.lines):
                pins = release_pins_of(self.config, self.release)
                raise nothing_to_republish(
                    self.config,
                    self.release,
                    self.options.notes_dir,
                    self.options.locations,
                    elsewhere={
                        name: [t for t in tags if t in pins]
                        for name, tags in tags_present.items()
                        if name != self.primary.name
                    },
                )
        by_line = match_records(
            self.config,
            self.release,
            records,
            allow_missing=self.options.dry_run and self.before_builds,
            locations=self.options.locations,
        )
        if self.options.republish_reason is None:
            pinned = set(tags_present.get(self.primary.name, ()))
            for php, legs in by_line.items():
                if planning.pin_tag(self.release, php) not in pinned:
                    refuse_other_dockerfile(
                        self.config, self.release, php, legs, self.options.locations
                    )
            # the images the pins hold, built from this checkout's Dockerfiles: not a release
            # started before they changed, nor one whose tag moved to another commit since
            refuse_reused_built_otherwise(
                self.config,
                self.release,
                {
                    Leg(r.php, r.platform): r
                    for php, legs in by_line.items()
                    if planning.pin_tag(self.release, php) in pinned
                    for r in legs
                },
                (),
                self.client(self.primary),
                locations=self.options.locations,
            )
        candidates = self.assemble(by_line)
        planned = {
            php: pp.Candidate(php, index.digest, tuple(sorted(index.images)))
            for php, index in candidates.items()
        }
        observed = self.observe(p, tags_present, candidates)
        observed = self.observe_copies(p, observed, planned)
        publish_plan = pp.plan_publish(
            p,
            observed,
            planned,
            primary=self.primary.name,
            record=self.record,
            republish_reason=self.options.republish_reason,
            date=self.now().strftime("%Y-%m-%d"),
        )
        apart = pp.pins_apart_after(publish_plan, tags_present)
        if apart:
            raise VerificationError(
                [
                    f"after this run the registries would hold different pins of {p.release}: {a}"
                    for a in apart
                ],
                hint=f"{NO_TAG_WRITTEN}. A registry added to the matrix later holds only what "
                f"was written there since: run `{self.options.locations.command('audit', '--repair')}` "
                "(it copies every recorded release there), or this run without --only; then rerun",
            )
        indexes = self.final_indexes(publish_plan, candidates)
        left_behind = (
            ()
            if self.record is not None or self.options.republish_reason is not None
            else planning.lines_left_behind(
                self.release,
                tags_present.get(self.primary.name, ()),
                [line.php for line in p.lines],
                self.options.locations,
            )
        )
        disagree = pp.floating_disagreements(publish_plan)
        if disagree:  # (the records are read only then)
            this = {tag for line in p.lines for tag in p.pins(line.php)}
            disagree = pp.floating_disagreements(publish_plan, self.moved(tags_present, this))
        unfinished = planning.unfinished_above(
            self.release,
            tags_present,
            self.recorded,
            self.options.locations,
            primary=self.primary.name,
            matrix=self.config.all_lines or self.config.line_names,
        )
        narrowed = pp.platforms_lost(
            p, publish_plan, self.recorded_indexes(p, publish_plan, tags_present)
        )
        return PlannedRun(
            p,
            publish_plan,
            indexes,
            observed.copies,
            (*left_behind, *unfinished, *narrowed),
            tuple(disagree),
        )

    def recorded_indexes(
        self,
        p: planning.Plan,
        publish_plan: pp.PublishPlan,
        tags_present: Mapping[str, Sequence[str]],
    ) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each index the records of the releases the floating tags followed before this
        one name -> (its release, its platforms), read only when the plan moves a floating
        tag off an index (the plan reads the tags' digests, not their indexes): what
        ``pp.platforms_lost`` judges the move by. A record that cannot be read is left out
        (``audit`` names it)."""
        if not any(m.changes and m.old is not None for m in publish_plan.floating_moves):
            return {}
        known: dict[str, tuple[str, tuple[str, ...]]] = {}
        for tag in pp.followed_before(p, tags_present, self.recorded) & self.recorded:
            try:
                record = notes_mod.load_record(self.options.notes_dir, tag)
            except (PublisherError, OSError):
                continue
            for line in record.lines if record is not None else ():
                known[line.index_digest] = (tag, tuple(f.platform.value for f in line.platforms))
        return known

    def repository_moves(self) -> tuple[dict[str, frozenset[str]], list[str]]:
        """Per registry, the recorded releases whose record places them in another
        repository of it than this run's (a repository move since, or a backport from a
        branch whose matrix.yaml names the old one); and each such repository in words.
        A record that cannot be read counts as published here (its release is compared
        on every registry, as before any move)."""
        if self._moves is None:
            records = []
            for tag in sorted(self.recorded, key=parse_release):
                try:
                    record = notes_mod.load_record(self.options.notes_dir, tag)
                except (PublisherError, OSError):
                    continue
                if record is not None:
                    records.append(record)
            now = {r.name: r.repository.name for r in self.config.registries}
            found = [s for s in audit_rules.scopes(records, list(now.items())) if not s.today]
            elsewhere: dict[str, frozenset[str]] = {}
            for scope in found:
                elsewhere[scope.registry] = elsewhere.get(scope.registry, frozenset()) | set(
                    scope.releases
                )
            words = [audit_rules.moved_words(s, now[s.registry]) for s in found if s.releases]
            self._moves = ({k: v for k, v in elsewhere.items() if v}, words)
        return self._moves

    def moved(
        self, tags_present: Mapping[str, Collection[str]], pins: Collection[str] = ()
    ) -> pp.Moved | None:
        """What compares the registries on the releases both repositories hold
        (``publish_plan.Moved``), from their tags (with ``pins``, this run's, about to be
        written); None when no recorded release is in another repository."""
        elsewhere, _ = self.repository_moves()
        if not elsewhere:
            return None
        counted = planning.settled(tags_present, self.recorded)
        return pp.Moved(
            elsewhere,
            {name: frozenset(tags | set(pins)) for name, tags in counted.items()},
            tuple(self.config.line_names),
        )

    def floating_apart(self, found: Sequence[Sequence[pp.TagMove]]) -> dict[str, str]:
        """``floating_differences`` of ``found`` (as ``floating_states`` read them), less
        the tags on which the registries differ only by releases recorded in another
        repository (``moved``)."""
        differ = floating_differences(self.config.registries, found)
        moved = self.moved(self._listed) if differ else None
        if moved is None:
            return differ
        registries = [r.name for r in self.config.registries]
        return {
            tag: words
            for tag, words in differ.items()
            if not moved.explains(
                tag,
                {
                    name: next(((m.new, m.source_release) for m in moves if m.tag == tag), None)
                    for name, moves in zip(registries, found, strict=True)
                },
            )
        }

    def plan_settled(self, records: Sequence[DigestRecord]) -> PlannedRun:
        """``plan_run``, read again while the registries hold different releases and
        what they hold is still changing.

        A concurrent release writes its pins to the primary first, then to the other
        registries; caught in between, the registries look as if one of them missed
        a release, which ``run`` refuses. Reading again after a pause tells the two
        apart: a run in progress moves tags in the meantime, a release that died or
        a registry added later does not.
        """
        planned = self.plan_run(records)
        deadline = time.monotonic() + SETTLE_SECONDS
        while planned.disagreements and time.monotonic() < deadline:
            self.output.progress(
                "the registries hold different releases (another release may be writing its "
                f"tags): reading them again in {SETTLE_PAUSE:g} s"
            )
            time.sleep(SETTLE_PAUSE)
            again = self.plan_run(records)
            if again.publish_plan.digest == planned.publish_plan.digest:
                return again
            planned = again
        return planned

    def final_indexes(
        self, publish_plan: pp.PublishPlan, candidates: Mapping[str, LineIndex]
    ) -> dict[str, LineIndex]:
        """The index each line's pins point at after the run: the assembled one, or the
        published one when the pin already holds the same images."""
        result: dict[str, LineIndex] = {}
        for action in publish_plan.lines:
            candidate = candidates.get(action.php)
            if action.digest is None:
                continue
            if candidate is not None and candidate.digest == action.digest:
                result[action.php] = candidate
                continue
            body, media_type = self._bodies[action.digest]
            manifest = Manifest.parse(body, media_type, action.digest)
            children = tuple(manifest.children)
            images = tuple(
                (c.platform or "unknown", c.digest) for c in children if not c.is_attestation
            )
            result[action.php] = LineIndex(
                action.php,
                action.digest,
                body,
                media_type,
                children,
                candidate.records if candidate else (),
                images,
            )
        return result

    def assemble(self, by_line: Mapping[str, list[DigestRecord]]) -> dict[str, LineIndex]:
        primary = self.client(self.primary)
        repo = self.primary.repository.path
        indexes = {}
        stand_ins: list[tuple[str, str, str]] = []
        wanted = [record for records in by_line.values() for record in records]
        try:
            fetched = in_parallel(
                lambda record: primary.get_manifest_by_digest(repo, record.digest), wanted
            )
        except NotFoundError as exc:
            raise self.lost_images(wanted, exc) from exc
        manifests = {m.digest: m for m in fetched}
        for manifest in fetched:  # (the copies look into them without reading them again)
            self._bodies[manifest.digest] = (manifest.body, manifest.media_type)
        for php, records in by_line.items():
            children: list[Descriptor] = []
            attestations: list[Descriptor] = []
            images: list[tuple[str, str]] = []
            platform_images: list[Manifest] = []
            for record in records:
                manifest = manifests[record.digest]
                if manifest.is_index:
                    # buildx with provenance/SBOM pushes a small index: the image
                    # plus its attestation manifests, which are carried along.
                    found = [c for c in manifest.children if not c.is_attestation]
                    if len(found) != 1:
                        raise UsageError(
                            f"the record for PHP {php} {record.platform} names an index with "
                            f"{len(found)} images; a build leg must push exactly one platform image",
                            hint="build each leg for its one platform (`"
                            + self.options.locations.command(
                                "build",
                                self.release.tag,
                                *("--php", php, "--platform", record.platform),
                            )
                            + "`), then publish again",
                        )
                    # an index carries manifests only: an attestation buildx's annotation
                    # names is one whatever its media type, as the copies take it
                    odd = [c for c in manifest.attestations if not c.names_manifest]
                    if odd:
                        raise UsageError(
                            f"the record for PHP {php} {record.platform} names an index whose "
                            f"attestation {odd[0].digest} has the media type "
                            f"{odd[0].media_type!r}, not a manifest's, and no annotation "
                            "calling it an attestation manifest: it cannot be carried "
                            "into the line's index",
                            hint="build the leg again (`"
                            + self.options.locations.command(
                                "build",
                                self.release.tag,
                                *("--php", php, "--platform", record.platform, "--rebuild"),
                            )
                            + "`), then publish again",
                        )
                    attestations.extend(manifest.attestations)
                    try:
                        manifest = primary.get_manifest_by_digest(repo, found[0].digest)
                    except NotFoundError as exc:
                        raise self.lost_children([(php, manifest)], exc) from exc
                    self._bodies[manifest.digest] = (manifest.body, manifest.media_type)
                children.append(descriptor_for(manifest, record.platform))
                images.append((record.platform, manifest.digest))
                platform_images.append(manifest)
            # The index repeats the labels its images share (title, description,
            # version, source, ...): GHCR shows a multi-platform image's description
            # from its index. The same images give the same index, on every run.
            labels = in_parallel(lambda image: self.labels(primary, repo, image), platform_images)
            stand_ins += [
                (f"PHP {php} {record.platform}", built_on(record), how)
                for record, said in zip(records, labels, strict=True)
                if (how := verify_rules.stand_in_said(said)) is not None
            ]
            self.refuse_other_content(php, records, platform_images)
            body, media_type = build_index([*children, *attestations], index_annotations(labels))
            self._bodies[sha256_digest(body)] = (body, media_type)
            indexes[php] = LineIndex(
                php,
                sha256_digest(body),
                body,
                media_type,
                tuple(children + attestations),
                tuple(records),
                tuple(images),
            )
        refuse_stand_in(
            self.config,
            stand_ins,
            left="no index was pushed and no tag written",
            locations=self.options.locations,
        )
        return indexes

    def held_elsewhere(self, digests: Sequence[str], *, blob: bool = False) -> dict[str, list[str]]:
        """Manifest (or blob) digest -> the registries but the primary that hold it
        (those that hold none of ``digests`` left out)."""
        work = [(d, registry) for d in digests for registry in self.config.secondaries]
        held = in_parallel(lambda item: self._holds(item[1], item[0], blob=blob), work)
        where: dict[str, list[str]] = {}
        for (digest, registry), there in zip(work, held, strict=True):
            if there:
                where.setdefault(digest, []).append(registry.name)
        return where

    def primary_lacks(self, digests: Sequence[str], *, blob: bool = False) -> set[str]:
        """Those of the manifest (or blob) ``digests`` the primary, asked again, does not
        hold; none when it did not answer (its 404 is then what is known)."""
        asked = list(dict.fromkeys(digests))
        on_primary = in_parallel(lambda d: self._holds(self.primary, d, blob=blob), asked)
        if None in on_primary:
            return set()
        return {d for d, there in zip(asked, on_primary, strict=True) if not there}

    def lost_children(
        self, indexes: Sequence[tuple[str, Manifest]], exc: NotFoundError
    ) -> NotFoundError:
        """The error for manifests the indexes (``(php, index)``) list that the primary
        does not hold (an image, an attestation manifest): each one named, with the
        registries that still hold it. An index lists only what was pushed with it, so
        one lost is said even when no registry holds it any more."""
        listed = list(
            dict.fromkeys(
                (php, child, index)
                for php, index in indexes
                for child in index.children
                if child.names_manifest
            )
        )
        lost = self.primary_lacks([child.digest for _, child, _ in listed])
        gone = [item for item in listed if item[1].digest in lost]
        if not gone:
            return exc  # (it did not answer, or something else was not found: what it said)
        where = self.held_elsewhere(list(dict.fromkeys(c.digest for _, c, _ in gone)))

        def name(php: str, child: Descriptor, index: Manifest) -> str:
            if not child.is_attestation:
                return f"PHP {php} {child.platform or 'unknown'} image {child.digest}"
            of = child.annotations.get(REFERENCE_DIGEST)
            platform = next((c.platform for c in index.children if c.digest == of), None)
            return (
                f"PHP {php} {platform + ' ' if platform else ''}attestation manifest {child.digest}"
            )

        named = [
            name(php, child, index) + pp.still_on(where.get(child.digest, []))
            for php, child, index in gone
        ]
        attestations = all(child.is_attestation for _, child, _ in gone)
        return self.not_on_primary(
            "the manifests these indexes list: " + "; ".join(named),
            exc,
            pp.lost_image_hint(
                self.release.tag,
                self.record is not None,
                "the attestation manifest" if attestations else "the image",
                self.options.locations,
            ),
        )

    def lost_images(self, records: Sequence[DigestRecord], exc: NotFoundError) -> NotFoundError:
        """The error for digest records whose images the primary does not hold: each one
        named, with the registries that still hold it (a primary that lost an image of
        a published release: the copies cannot start from there)."""
        lost = self.primary_lacks([r.digest for r in records])
        gone = [r for r in records if r.digest in lost]
        where = self.held_elsewhere(list(dict.fromkeys(r.digest for r in gone)))
        if not gone or (not where and self.record is None):
            return exc  # (images never pushed: what the registry said is the whole story)
        named = [
            f"PHP {r.php} {r.platform} image {r.digest}{pp.still_on(where.get(r.digest, []))}"
            for r in gone
        ]
        return self.not_on_primary(
            "the images these digest records name: " + "; ".join(named),
            exc,
            pp.lost_image_hint(
                self.release.tag, self.record is not None, locations=self.options.locations
            ),
        )

    def lost_blob(self, image: Manifest, digest: str, exc: NotFoundError) -> NotFoundError:
        """The error for the config blob ``digest`` of ``image`` the primary does not
        hold: named, with the registries that still hold it (a primary that lost a blob
        of a published release: the copies cannot start from there)."""
        where = self.held_elsewhere([digest], blob=True).get(digest, [])
        if not where:
            return exc  # (never pushed whole: what the registry said is the whole story)
        return self.not_on_primary(
            f"the config blob {digest} of the image {image.digest}{pp.still_on(where)}",
            exc,
            pp.lost_blob_hint(self.release.tag, locations=self.options.locations),
        )

    def not_on_primary(self, what: str, exc: NotFoundError, hint: str) -> NotFoundError:
        """The error for content the primary, asked again, does not hold: ``what`` (each
        piece named, with the registries that still hold it), with the status of the
        request it failed (``exc``) and ``hint``, what puts it back."""
        return NotFoundError(
            f"{self.primary.name} does not hold {what}",
            registry=self.primary.name,
            status=exc.status,
            hint=hint,
        )

    def _holds(self, registry: Registry, digest: str, *, blob: bool = False) -> bool | None:
        """``parallel.holds`` on ``registry``'s repository."""
        return holds(self.client(registry), registry.repository.path, digest, blob=blob)

    def refuse_other_content(
        self, php: str, records: Sequence[DigestRecord], images: Sequence[Manifest]
    ) -> None:
        """Refuse (exit 12, before the line's index is pushed) records naming an image
        built for another platform or another release (``verify_rules.image_mismatches``,
        read from its config, which ``labels`` kept)."""
        pin = planning.pin_tag(self.release, php)
        found = []
        kinds: set[str] = set()
        for record, image in zip(records, images, strict=True):
            blob = image.config
            body = self._configs.get(blob.digest) if blob else None
            if blob is None or body is None:
                continue
            config = self.client(self.primary).parse_config(blob.digest, body)
            for kind, words in verify_rules.image_mismatches(
                str(record.platform), verify_rules.built_as(config), pin
            ):
                kinds.add(kind)
                found.append(
                    f"PHP {php}: the record {record.file_name} names "
                    f"{short_digest(record.digest)}: {words}"
                )
        if found:
            from ..core.render import dockerfile_shown

            # a Dockerfile's own LABEL after the template's wins over the release's
            label = (
                f" A Dockerfile that sets the {verify_rules.VERSION_LABEL} label itself "
                "builds such images too: remove that LABEL from "
                f"{dockerfile_shown(self.config, php)} "
                "(publisher sets it) before building again."
                if "other-release" in kinds
                else ""
            )
            raise VerificationError(
                found,
                hint="nothing was pushed or tagged. The digest records name images other than "
                "their legs built (records edited, swapped, or taken from another release): "
                f"put each leg's own record in the --digests directory, or build the leg again "
                f"(`{self.options.locations.command('build', self.release.tag, '--php', php, '--platform', 'PLATFORM', '--rebuild')}`), "
                "then publish again." + label,
            )

    def labels(self, client: RegistryClient, repo: str, image: Manifest) -> dict[str, str]:
        """The labels of a platform image on the primary; its config blob is kept for
        the copies (``_configs``)."""
        config = image.config
        if config is None:
            return {}
        body = self._configs.get(config.digest)
        if body is None:
            try:
                body = client.get_blob(repo, config.digest)
            except NotFoundError as exc:
                raise self.lost_blob(image, config.digest, exc) from exc
            self._configs[config.digest] = body
        return config_labels(client.parse_config(config.digest, body))

    def push_indexes(self, publish_plan: pp.PublishPlan, indexes: Mapping[str, LineIndex]) -> None:
        client = self.client(self.primary)
        repo = self.primary.repository.path
        for action in publish_plan.lines:
            index = indexes.get(action.php)
            if index is None:
                continue
            if not action.push:
                self.output.detail(
                    f"PHP {index.php}: index {index.digest} already on {self.primary.name}"
                )
                continue
            client.put_manifest(repo, index.body, index.media_type)
            self.output.info(
                f"PHP {index.php}: pushed index {index.digest} to {self.primary.repository.name}"
            )

    def refuse_over_budget(self, indexes: Mapping[str, LineIndex]) -> None:
        """Refuse (exit 12, verification's words) each platform image over its line's size
        budget, its size known from the manifests read from the primary, once its index is
        there and before it is copied to the other registries: each listed once, with the
        registries the release is for (verification would list it once per registry, after
        every copy). An image whose manifest was not read is left to verification."""
        registries = [r.name for r in self.config.registries]
        named = " and ".join(w for w in (", ".join(registries[:-1]), registries[-1]) if w)
        defects: list[str] = []
        for php, index in indexes.items():
            budget = self.config.line(php).size_budget_bytes
            for platform, digest in index.images:
                if digest not in self._bodies:
                    continue
                body, media_type = self._bodies[digest]
                size = Manifest.parse(body, media_type, digest).compressed_size
                if size > budget:
                    defects.append(
                        f"PHP {php}: {short_digest(index.digest)} for {named}: "
                        + verify_rules.over_budget(platform, size, budget)
                    )
        if defects:
            others = [r.name for r in self.config.secondaries]
            copied = f", and nothing was copied to {' and '.join(others)}" if others else ""
            raise VerificationError(
                defects, hint=f"{NO_TAG_WRITTEN}{copied}; fix the cause and rerun"
            )

    def copy(self, planned: PlannedRun) -> None:
        """Execute the publish plan's transfer plan: every blob once per registry.

        Each missing blob is downloaded from the primary once and uploaded once
        per registry (other repositories of that registry mount it), up to
        ``transfers`` at a time; manifests follow, children before the indexes.
        """
        transfers = planned.publish_plan.transfers
        if transfers is None or transfers.is_noop or planned.copies is None:
            self.output.detail("every registry holds every index already")
            return
        clients = {planned.copies.targets[r.name]: self.client(r) for r in self.config.secondaries}
        try:
            self.transfers.execute(
                self.client(self.primary), planned.copies.tree, transfers, clients, self._configs
            )
        except NotFoundError as exc:  # a blob the primary lost, which no target holds either
            raise self.lost_copied_blobs(
                planned.copies.tree, transfers, planned.indexes, exc
            ) from exc
        self._copied(transfers, planned.indexes, planned.copies.tree)

    def lost_copied_blobs(
        self,
        tree: SourceTree,
        plan: TransferPlan,
        indexes: Mapping[str, LineIndex],
        exc: NotFoundError,
    ) -> NotFoundError:
        """The error for blobs the copies download from the primary that it does not
        hold (a layer of an image, a blob of an attestation manifest, lost there and
        lacking in a target as well): each one named with what it is under, its line and
        the registries that still hold it, as ``lost_blob`` says it before any write.
        Asked only after a copy failed: a copy that succeeds sends nothing more."""
        wanted = [
            step.digest
            for step in plan.blobs
            if step.digest not in self._configs  # (uploaded from memory, not downloaded)
        ]
        lost = self.primary_lacks(wanted, blob=True)
        gone = [d for d in wanted if d in lost]
        if not gone:
            return exc  # (it did not answer, or something else was not found: what it said)
        where = self.held_elsewhere(gone, blob=True)

        def owner(digest: str) -> str:
            image = next(
                (
                    m
                    for m in tree.manifests.values()
                    if not m.is_index and digest in {b.digest for b in m.blobs}
                ),
                None,
            )
            if image is None:
                return f"blob {digest}"
            kind = "config" if image.config and image.config.digest == digest else "layer"
            for index in indexes.values():
                child = next((c for c in index.children if c.digest == image.digest), None)
                if child is None:
                    continue
                what = (
                    "attestation manifest"
                    if child.is_attestation
                    else f"{child.platform or 'unknown'} image"
                )
                return f"{kind} blob {digest} of the PHP {index.php} {what} {image.digest}"
            return f"{kind} blob {digest} of the manifest {image.digest}"

        named = [owner(d) + pp.still_on(where.get(d, [])) for d in gone]
        return self.not_on_primary(
            "the blobs the copies need: " + "; ".join(named),
            exc,
            pp.lost_blob_hint(self.release.tag, NO_TAG_WRITTEN, self.options.locations),
        )

    def _copied(
        self, plan: TransferPlan, indexes: Mapping[str, LineIndex], tree: SourceTree
    ) -> None:
        pushed = {
            (step.target.registry, step.target.repository, step.digest)
            for step in plan.missing_roots
        }
        placed: dict[Target, set[str]] = {}
        for wave in plan.manifests:
            for manifest in wave:
                placed.setdefault(manifest.target, set()).add(manifest.digest)
        for blob in plan.blobs:
            for target in (*blob.uploads, *(t for t, _ in (*blob.mounts, *blob.after))):
                placed.setdefault(target, set()).add(blob.digest)
        for registry in self.config.secondaries:
            target = Target(self.client(registry).transport.base, registry.repository.path)
            for index in indexes.values():
                restored = placed.get(target, set()) & tree.below(index.digest)
                if (target.registry, target.repository, index.digest) in pushed:
                    self.output.info(
                        f"PHP {index.php}: copied {index.digest} to {registry.repository.name}"
                    )
                elif restored:
                    # a registry that lost part of an index it holds (a manifest: an
                    # image's, or an attestation's)
                    manifests = len(restored & set(tree.manifests))
                    pieces = [
                        counted(n, noun)
                        for n, noun in (
                            (manifests, "manifest"),
                            (len(restored) - manifests, "blob"),
                        )
                        if n
                    ]
                    self.output.info(
                        f"PHP {index.php}: {registry.repository.name} had lost part of "
                        f"{index.digest}: restored {' and '.join(pieces)}"
                    )
                else:
                    self.output.detail(f"PHP {index.php}: already on {registry.name}")

    def verify_indexes(self, indexes: Mapping[str, LineIndex]) -> dict[str, dict[str, int]]:
        defects: list[str] = []
        sizes: dict[str, dict[str, int]] = {}
        work = [(r, index) for r in self.config.registries for index in indexes.values()]
        checks = in_parallel(
            lambda item: check_index(
                self.client(item[0]),
                item[0],
                item[1].digest,
                self.config.line(item[1].php),
                planning.pin_tag(self.release, item[1].php),
                configs=self._configs,
            ),
            work,
        )
        lost = False  # a blob gone from under an image the primary holds
        for (registry, index), found in zip(work, checks, strict=True):
            defects += found.defects
            if registry.primary:
                sizes[index.php] = dict(found.sizes)
                lost = lost or found.facts.missing_blobs > 0
        if defects:
            hint = (
                pp.lost_blob_hint(self.release.tag, NO_TAG_WRITTEN, self.options.locations)
                if lost
                else f"{NO_TAG_WRITTEN}; fix the cause and rerun"
            )
            raise VerificationError(defects, hint=hint)
        rows = [
            (
                php,
                platform,
                human_size(size),
                megabytes(self.config.line(php).size_budget_bytes),
            )
            for php, by_platform in sizes.items()
            for platform, size in sorted(by_platform.items())
        ]
        self.output.table(
            "Compressed size per platform image", ("PHP", "platform", "size", "budget"), rows
        )
        return sizes

    def smoke_test(self, indexes: Mapping[str, LineIndex]) -> dict[str, str]:
        """Smoke-test every platform image (up to ``jobs`` at once); the exact PHP version per line.

        Every image is tested even when one fails, and the error names each one that
        failed with its PHP line, so one rerun can follow the fixes of all of them."""
        smoke = self.smoke
        if smoke is None:
            return {}
        work = [
            (index, record.platform, self.primary.ref(digest=index.image(record.platform)))
            for index in indexes.values()
            for record in index.records
        ]

        def one(item: tuple[LineIndex, str, Reference]) -> str | SmokeTestError:
            index, platform, ref = item
            line = self.config.line(index.php)
            try:
                passed = smoke(ref, platform, index.php, line.extensions.names)
            except SmokeTestError as exc:
                return exc
            self.output.info(f"PHP {index.php} {platform}: {passed.checked}")
            return passed.version

        with threads_limited(), ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool:
            results = list(pool.map(one, work))
        failed = [
            (index.php, result)
            for (index, _platform, _ref), result in zip(work, results, strict=True)
            if isinstance(result, SmokeTestError)
        ]
        if failed:
            said = [f"PHP {php}: {exc.message}" for php, exc in failed]
            error = SmokeTestError.of_all(
                said[0]
                if len(said) == 1
                else f"{len(said)} of {len(work)} platform images failed:\n"
                + "\n".join(f"  - {line}" for line in said),
                [exc for _php, exc in failed],
            )
            # first, as the plan's tag moves (in the step summary, out of their group)
            # would read as made; a rehearsal's registries are gone with it (its tip says so)
            if not self.options.rehearsal:
                left = f"{NO_TAG_WRITTEN} ({PLAN_NOT_MADE})"
                error.hint = f"{left}; {error.hint}" if error.hint else left
            raise error
        found: dict[str, dict[str, str]] = {}
        for (index, platform, _ref), version in zip(work, results, strict=True):
            if isinstance(version, str):  # every one is, once none failed
                found.setdefault(index.php, {})[platform] = version
        versions: dict[str, str] = {}
        for php, by_platform in found.items():
            distinct = sorted(set(by_platform.values()))
            if len(distinct) > 1:
                self.output.warning(
                    f"PHP {php}: platforms report different versions: {by_platform}"
                )
            versions[php] = distinct[-1]
        return versions

    def tested_before(
        self, indexes: Mapping[str, LineIndex], publish_plan: pp.PublishPlan
    ) -> dict[str, str]:
        """The versions an earlier, finished run recorded for exactly these indexes; else {}."""
        if any(m.changes for m in publish_plan.pin_moves) or self.record is None:
            return {}
        recorded = {line.php: line for line in self.record.lines}
        versions = {}
        for php, index in indexes.items():
            line = recorded.get(php)
            if line is None or line.index_digest != index.digest or line.php_version == NOT_TESTED:
                return {}
            versions[php] = line.php_version
        return versions

    def refuse_pins_written_meanwhile(
        self,
        moves: Sequence[pp.TagMove],
        written: Sequence[pp.TagMove] = (),
        *,
        read: Mapping[str, tuple[Collection[str], Mapping[str, str]]] | None = None,
    ) -> None:
        """Refuse (exit 14) when another run of the same release (a maintainer's and the
        workflow's at once) wrote its pins while this one ran, read just before this run
        writes more tags: a pin this run is about to write (``moves``: one step of
        ``write_pins``) that now points at content it did not find there when it planned,
        nor would write; or a pin this run wrote in its earlier steps (``written``: read
        after write) that no longer holds what it wrote, as when the two runs' steps go in
        lockstep, each reading its next pins before the other writes them. A pin only moves
        by a republish. One tag read per pin, each registry's at once; ``written`` is also
        said in the tip (its first pins may have landed over the other run's). ``read``:
        per registry, the tags just read (after this run's writes, as ``floating_states``
        reads them, each held to the digest this run holds) and what they held: a pin
        among them is taken from there, not read a second time in a row."""
        pending = [m for m in moves if m.changes and m.new is not None]
        landed = [m for m in written if m.new is not None]
        names = list(dict.fromkeys(m.registry for m in (*landed, *pending)))

        def fresh(name: str) -> dict[str, str]:
            registry = self.registry(name)
            asked, found = (read or {}).get(name, ((), {}))
            # held to what the plan found there (else what it writes), a pin written to
            # what was written: a HEAD naming another is confirmed by a hashed GET before
            # the run is refused
            held = {m.tag: m.old or m.new for m in pending if m.registry == name and m.new}
            held.update({m.tag: m.new for m in landed if m.registry == name and m.new})
            known = {tag: found[tag] for tag in held if tag in asked and tag in found}
            unread = {tag: digest for tag, digest in held.items() if tag not in asked}
            if not unread:
                return known
            return known | tag_digests(
                self.client(registry), registry.repository.path, list(unread), unread
            )

        now = dict(zip(names, in_parallel(fresh, names), strict=True))
        moved = [
            f"{m.registry}: {m.tag} -> {found} (this run wrote {m.new})"
            for m in landed  # (one still on what the plan found: this run's write unseen yet)
            if (found := now[m.registry].get(m.tag)) is not None and found not in (m.old, m.new)
        ] + [
            f"{m.registry}: {m.tag} -> {found} (this run found "
            f"{m.old or 'no such tag'} and would write {m.new})"
            for m in pending
            if (found := now[m.registry].get(m.tag)) is not None and found not in (m.old, m.new)
        ]
        if moved:
            raise self.pins_written_meanwhile(moved, written)

    def pins_written_meanwhile(
        self, moved: Sequence[str], written: Sequence[pp.TagMove]
    ) -> ReleaseConflictError:
        """The refusal of a run whose pins another run of the release wrote meanwhile
        (``moved``: each such pin, with the digest it holds and this run's)."""
        return ReleaseConflictError(
            f"release {self.release.tag}: another run wrote its pins while this one ran:",
            conflicts=moved,
            hint=self._written_meanwhile_hint(written),
        )

    def _written_meanwhile_hint(self, written: Sequence[pp.TagMove]) -> str:
        """The tip of ``pins_written_meanwhile``: what this run wrote (nothing, or its pins
        of the earlier steps, which may have landed over the other run's, and the floating
        tags it moved), and the commands that check, finish or undo it."""
        tag = self.release.tag
        at = self.options.locations
        verify = f"`{at.command('verify', tag)}` checks what the other run published"
        republish = f"`{at.command('republish', tag, REASON)}`"
        if not written:
            return (
                f"nothing was tagged by this run. {verify}; `{at.command('release', tag)}` "
                f"finishes it from the images its pins hold; {republish} replaces them on "
                "purpose"
            )
        pins = ", ".join(f"{m.tag} on {m.registry}" for m in written)
        if self.floating_written:
            registries = [r.name for r in self.config.registries]
            done = (
                f"this run wrote {counted(len(written), 'pin')} ({pins}; listed above) and "
                f"moved {floating_words(self.floating_written, registries)} before this "
                "check, which may have landed over the other run's; its record is not written"
            )
        else:
            done = (
                f"this run wrote {counted(len(written), 'pin')} before this check ({pins}; "
                "listed above), which may have landed over the other run's; nothing more was "
                "tagged by this run (no floating tag moved) and its record is not written"
            )
        if self.options.republish_reason is not None:
            # two republishes at once: the rerun republishes over the other's, its history
            # entry after the other's
            return (
                f"{done}. Rerun this command once the other run has ended: it rewrites "
                f"every pin, its history entry after the other's; {verify}"
            )
        return (
            f"{done}. {verify}; once its record is in the notes directory, "
            f"`{at.command('audit', '--repair')}` puts those pins back where it names; "
            f"{republish} replaces them on purpose"
        )

    def write_pins(self, moves: Sequence[pp.TagMove], *, primary_first: bool = False) -> None:
        """Point each tag at its digest (several at once); skip tags already there.

        With ``primary_first`` (the release's pins): the primary, then the other
        registries, so a rerun finds on the primary every pin written anywhere and
        takes those images instead of rebuilding; on each, ``vX.Y.Z`` after the
        other pins, so a registry holding it holds them all (``plan.settled``: a
        release that stopped before counts nowhere). Each of those four steps reads its
        pins again just before writing them, and the pins the steps before it wrote
        (``refuse_pins_written_meanwhile``: one tag read per pin), so that another run of
        the release whose pins landed over this run's, or under them, stops this one at
        its first step that reads after that write landed: in lockstep, the run whose
        writes landed first stops at its next step, never on the next registry. No
        registry sets a tag only if it still holds a given digest, so what is left is a
        write still on its way when a step reads, unseen until the next read.
        """
        pending = [m for m in moves if m.changes and m.new is not None]
        written: set[pp.TagMove] = set()

        def one(move: pp.TagMove) -> None:
            registry = self.registry(move.registry)
            client = self.client(registry)
            assert move.new is not None
            known = self._bodies.get(move.new)
            if known is None:
                client.tag(registry.repository.path, move.new, move.tag)
            else:
                client.put_manifest(registry.repository.path, known[0], known[1], tag=move.tag)
            written.add(move)

        def write(group: list[pp.TagMove]) -> None:
            """The group at once, every tag tried even when one fails (the same tags move
            on every run, whatever the timing); then each tag written, in the plan's order
            (also when one failed: the log says exactly which tags moved); the first
            failure in the plan's order is the error raised, each other one a warning, once
            (a registry judged down fails every tag to it with one error). An
            interruption is raised before any refusal: the run is stopping."""
            try:
                errors = try_each(one, group)
            finally:  # also when the main thread is interrupted while the group runs
                self.floating_written += [m for m in group if m in written and m.kind == "floating"]
                self.pins_written += [m for m in group if m in written and m.kind == "pin"]
                for move in group:
                    if move in written:
                        name = self.registry(move.registry).repository.name
                        self.output.info(f"{name}:{move.tag} -> {move.new}")
            failed = [error for error in errors if error is not None]
            if not failed:
                return
            raised = next((e for e in failed if isinstance(e, StoppedError)), failed[0])
            said = {raised.message}
            for error in failed:
                if error.message not in said and not isinstance(error, StoppedError):
                    said.add(error.message)
                    self.output.warning(f"also not written: {error.message}")
            raise raised

        if not primary_first:
            write(pending)
            return
        # Each step reads its pins again just before writing them, and those this run
        # wrote before (read after write), so that another run of the release caught
        # meanwhile (whose pins this run's first writes may have landed over, or that
        # landed over them) is refused before this run writes any more of its own.
        primary = self.primary.name
        last = self.release.tag
        for first in (True, False):
            here = [m for m in pending if (m.registry == primary) is first]
            for step in ([m for m in here if m.tag != last], [m for m in here if m.tag == last]):
                self.refuse_pins_written_meanwhile(step, [m for m in pending if m in written])
                write(step)

    def floating_state(
        self, registry: Registry, counted: set[str]
    ) -> tuple[list[pp.TagMove], list[tuple[str, str]]]:
        """Where the floating tags of ``registry`` must point, from its settled pins; and
        the releases they follow whose pins there are being rewritten
        (``publish_plan.release_tags_apart``)."""
        client = self.client(registry)
        repo = registry.repository.path
        lines = self.config.line_names
        wanted = planning.floating_tags(registry.name, counted, lines)
        followed = {f.source_release for f in wanted}
        own = [
            t
            for t in sorted(counted)
            if (parsed := planning.parse_scheme_tag(t)) and parsed.release.tag in followed
        ]
        lookup = [f.source for f in wanted] + [f.tag for f in wanted] + own
        asked = [t for t in dict.fromkeys(lookup) if t in counted]
        digests = following_digests(
            client, repo, asked, {f.tag: f.source for f in wanted}, self._held
        )
        self._floating_read[registry.name] = (frozenset(asked), dict(digests))
        moves = pp.floating_moves(registry.name, digests, lines)
        return moves, pp.release_tags_apart(registry.name, digests, followed)

    def floating_states(self) -> tuple[list[list[pp.TagMove]], list[tuple[str, str]]]:
        """Per registry (in matrix order), where its floating tags must point; and, in
        words, the releases they follow whose pins are being rewritten somewhere."""
        registries = list(self.config.registries)
        self._listed = self.list_tags()
        counted = planning.settled(self._listed, self.recorded)
        states = in_parallel(lambda r: self.floating_state(r, counted[r.name]), registries)
        return [moves for moves, _ in states], [a for _, apart in states for a in apart]

    def expected_floating(self) -> list[list[pp.TagMove]]:
        """Per registry (in matrix order), where its floating tags must point."""
        return self.floating_states()[0]

    def move_floating(self) -> list[pp.TagMove]:
        """Recompute the floating tags from the settled pins of the registries and move
        them, until nothing changes (a concurrent release may move pins meanwhile).

        Pins alike by name are not alike by content when a republish stopped while
        rewriting them (one registry's pins on the new images, another's on the old):
        then no floating tag moves (``settled_floating``), so that ``latest`` and
        ``php-X.Y`` never carry the new content on one registry and the old on another.
        """
        applied: list[pp.TagMove] = []
        for _ in range(FLOATING_ROUNDS):
            found = self.settled_floating()
            pending = [m for moves in found for m in moves if m.changes]
            if not pending:
                return applied
            # the pins this run wrote, read again (by ``settled_floating``, those the
            # floating tags follow; here, the others): another run's over them refuses it
            self.refuse_pins_written_meanwhile((), self.pins_written, read=self._floating_read)
            before = len(self.floating_written)
            try:
                self.write_pins(pending)
            except PublisherError as exc:
                if stop.stopping():  # a write the stop cut short: the interruption says it
                    self._leave_apart(found, self.floating_written[before:])
                    raise
                left = self._left_behind(exc, found, self.floating_written[before:])
                if refused_as_immutable(exc):  # a rerun meets the same refusal
                    left.hint = f"{IMMUTABLE_TIP} the same command"
                raise left from None
            except Interrupted:
                self._leave_apart(found, self.floating_written[before:])
                raise
            applied += pending
        raise VerificationError(
            [f"floating tags kept changing after {FLOATING_ROUNDS} rounds (concurrent releases?)"],
            hint="rerun: floating tags are recomputed from the pins present",
        )

    def settled_floating(self) -> list[list[pp.TagMove]]:
        """``expected_floating``, once the registries' pins call for the same content
        under every floating tag and no release they follow is being rewritten; read
        again while that is still changing (a concurrent run writing its pins), refused
        (exit 12, before any floating tag is written) when it holds still."""
        state = self.floating_states()
        deadline = time.monotonic() + SETTLE_SECONDS
        checked = False
        while self.floating_apart(state[0]) or state[1]:
            if not checked:
                # another run may be writing pins: this run's, written over, refuse it now
                self.refuse_pins_written_meanwhile((), self.pins_written, read=self._floating_read)
                checked = True
            if time.monotonic() >= deadline:
                break
            self.output.progress(
                "the registries' pins call for different floating tags (another run may be "
                f"writing its pins): reading them again in {SETTLE_PAUSE:g} s"
            )
            time.sleep(SETTLE_PAUSE)
            again = self.floating_states()
            if again == state:
                break
            state = again
        else:
            return state[0]
        found, apart = state
        differ = self.floating_apart(found)
        followed = sorted(
            {m.source_release for moves in found for m in moves if m.tag in differ}
            | {release for release, _ in apart},
            key=parse_release,
        )
        told = {release for release, _ in apart}
        pins = self.halfway_pins([r for r in followed if r not in told])
        rewritten = sorted(told | set(pins.rewritten if pins else ()), key=parse_release)
        missing = pins.missing if pins else {}
        said = self.done_so_far()
        at = self.options.locations
        if missing:
            said = f"{said}. {unfinished_words(missing, at, pins.started if pins else None)}"
        if rewritten:
            hint = halfway_republish_hint(rewritten, said, at)
        elif missing:
            hint = f"{said}, then rerun this command"
        elif pins is None:
            hint = (
                f"{said}. The pins of {', '.join(followed)} could not be read again to compare "
                f"them: `{at.command('audit')}` names what differs, then rerun this command"
            )
        else:
            hint = (
                f"{said}. The pins of {', '.join(followed)} are alike on every registry now "
                "(another run was writing them): rerun this command"
            )
        raise VerificationError(
            [f"the registries' pins call for different floating tags: {d}" for d in differ.values()]
            + [f"pins rewritten half-way: {words}" for _, words in apart]
            + list(pins.defects if pins else ()),
            hint=hint,
        )

    def done_so_far(self) -> str:
        """What this run wrote before a check refused it, in words: its pins and the
        floating tags it moved (before the check, as a concurrent run may move them
        since)."""
        registries = [r.name for r in self.config.registries]
        floating = (
            f"moved {floating_words(self.floating_written, registries)} before this check"
            if self.floating_written
            else "moved no floating tag"
        )
        if self.pins_written:
            return (
                f"this run wrote its pins ({counted(len(self.pins_written), 'tag')}) and "
                f"{floating}, and its record is not written"
            )
        if self.floating_written:
            return f"this run wrote no pin and {floating}"
        return "no floating tag was moved by this run"

    def halfway_pins(self, releases: Sequence[str]) -> PinsApart | None:
        """The pins of ``releases`` that the registries do not hold alike (``pins_apart``;
        read again; None on an error)."""
        if not releases:
            return PinsApart()
        wanted = set(releases)

        registries = list(self.config.registries)
        try:
            listed = self.list_tags()

            def read(registry: Registry) -> dict[str, str]:
                names = [
                    t
                    for t in listed[registry.name]
                    if (parsed := planning.parse_scheme_tag(t)) and parsed.release.tag in wanted
                ]
                return tag_digests(self.client(registry), registry.repository.path, names)

            found = in_parallel(read, registries)
        except PublisherError:
            return None
        apart = pins_apart({r.name: tags for r, tags in zip(registries, found, strict=True)})
        # the lines each release half-pinned was run with, from the primary, which a run
        # writes first: a rerun of a narrowed one is named with its --only
        on_primary = listed[self.primary.name]
        matrix = self.config.all_lines or self.config.line_names
        started = {r: planning.started_with(r, on_primary, matrix) for r in apart.missing}
        return dataclasses.replace(apart, started=started)

    def _leave_apart(
        self, found: Sequence[Sequence[pp.TagMove]], written: Sequence[pp.TagMove]
    ) -> None:
        """The run is stopping while it moves the floating tags (``found``: per registry, in
        matrix order, where they were read and must go; ``written``: the moves confirmed
        since): the tags the registries now disagree on, as far as the run knows, no
        request made as it stops, said with the interruption (``stop.leave``) as a failure
        there says them (``floating_apart``), and the moves still under way."""
        registries = list(self.config.registries)
        words = floating_apart(floating_left(registries, found, written))
        if words is None:
            return
        done = set(written)
        unsure = [m for moves in found for m in moves if m.changes and m not in done]
        if unsure:
            names = [r.name for r in registries]
            words += (
                f"\nthis run's moves of {floating_words(unsure, names)} were under way when it "
                "stopped: they may land yet"
            )
        stop.leave(words)

    def _left_behind(
        self,
        exc: PublisherError,
        found: Sequence[Sequence[pp.TagMove]],
        written: Sequence[pp.TagMove],
    ) -> PublisherError:
        """``exc`` (a failure while moving the floating tags) with the tags that now differ
        between the registries: read again, or, when a registry cannot be read (the one
        that failed is unreachable), as far as this run knows (``floating_left`` of
        ``found`` and the moves it saw confirmed, ``written``). Its tip keeps what the
        error advises (a registry to reach, credentials to mend) and adds the rerun."""
        maps: Mapping[str, Mapping[str, str | None]]
        try:
            read: dict[str, dict[str, str]] = {}
            listed = self.list_tags()
            for registry in self.config.registries:
                client = self.client(registry)
                names = [t for t in listed[registry.name] if planning.is_floating_tag(t)]
                read[registry.name] = tag_digests(client, registry.repository.path, names)
            maps, known = read, ""
        except PublisherError:
            maps = floating_left(self.config.registries, found, written)
            known = (
                "\n(as this run left them, from the writes it saw confirmed: not every "
                "registry could be read again)"
            )
        apart = floating_apart(maps)
        if apart is None:
            return exc
        exc.message = f"{exc.message}\n{apart}{known}"
        exc.args = (exc.message,)
        advice = f"{exc.hint}; then " if exc.hint else ""
        rerun = (
            "rerun the same command (it recomputes the floating tags from the pins on every "
            "registry)"
        )
        # audit --repair puts the tags where the records say: right for a recorded release
        # rerun, not for one without a record (none to follow) nor a republish (its record
        # still names the images it replaces)
        repair = f"`{self.options.locations.command('audit', '--repair')}`"
        if self.options.republish_reason is not None:
            exc.hint = (
                f"{advice}{rerun}: {self.release.tag}'s record still names the images this "
                f"republish replaces until the rerun writes it, so {repair} would not finish it"
            )
        elif self.record is None:
            exc.hint = (
                f"{advice}{rerun}: {self.release.tag} has no record yet, which {repair} would "
                "need, so only the rerun finishes it"
            )
        else:
            exc.hint = f"{advice}{rerun}, or run {repair}"
        return exc

    def verify_tags(self, indexes: Mapping[str, LineIndex]) -> list[notes_mod.FloatingFacts]:
        """Every pin in place; floating tags where the pins say, identical on every registry.

        A pin holding other content than this run's was written by another run of the
        release meanwhile (exit 14, ``pins_written_meanwhile``). A concurrent release may
        still be moving floating tags; then they are recomputed and checked again a few
        times before giving up.
        """
        pins = {
            tag: indexes[line.php].digest
            for line in self.config.lines
            if line.php in indexes
            for tag in self.pins(line.php)
        }

        registries = list(self.config.registries)
        present = in_parallel(
            lambda r: tag_digests(self.client(r), r.repository.path, list(pins), pins), registries
        )
        wrote = {(m.registry, m.tag): m.old for m in self.pins_written}
        # a pin holding other content than this run's, and than what the run found there
        # (its write unseen yet: a defect below): another run of the release wrote it
        moved = [
            f"{r.name}: {tag} -> {found} (this run "
            + ("wrote" if (r.name, tag) in wrote else "found it on")
            + f" {digest})"
            for r, held in zip(registries, present, strict=True)
            for tag, digest in pins.items()
            if (found := held.get(tag)) is not None
            and found != digest
            and found != wrote.get((r.name, tag))
        ]
        if moved:
            raise self.pins_written_meanwhile(moved, self.pins_written)
        defects = [
            f"{r.repository.name}:{tag} is {held.get(tag)}, expected {digest}"
            for r, held in zip(registries, present, strict=True)
            for tag, digest in pins.items()
            if held.get(tag) != digest
        ]
        if defects:
            raise VerificationError(defects, hint="rerun the same command to finish the release")
        for attempt in range(FLOATING_ROUNDS):
            defects, floating = self._check_floating()
            if not defects:
                return floating
            self.output.progress(
                "floating tags changed meanwhile (a concurrent release?); recomputing"
            )
            time.sleep(0.2 * (attempt + 1))
            self.move_floating()
        raise VerificationError(defects, hint="rerun the same command to finish the release")

    def pins(self, php: str) -> tuple[str, ...]:
        return planning.release_pins(self.release.tag, php, self.config.default_line)

    def _check_floating(self) -> tuple[list[str], list[notes_mod.FloatingFacts]]:
        found = self.expected_floating()
        defects = [
            f"{m.registry}:{m.tag} is {m.old}, expected {m.new}"
            for moves in found
            for m in moves
            if m.changes
        ]
        defects += [
            f"the registries' pins call for different floating tags: {difference}"
            for difference in self.floating_apart(found).values()
        ]
        floating = [
            notes_mod.FloatingFacts(m.registry, m.tag, m.source_release, m.new or "")
            for moves in found
            for m in moves
        ]
        return defects, floating

    def taken_meanwhile(
        self, p: planning.Plan, floating: Sequence[notes_mod.FloatingFacts]
    ) -> dict[str, list[str]]:
        """The floating tags the plan moves onto this release that another release holds
        once they are verified (``floating``), per release holding them, in the plan's
        order (on the primary: they agree on every registry then). A higher release
        published meanwhile took them: ``move_floating`` recomputes them from the pins
        present when it moves them, so this run's move, backwards by then, was dropped."""
        primary = self.primary.name
        holders = {f.tag: f.release for f in floating if f.registry == primary}
        taken: dict[str, list[str]] = {}
        for line in p.lines:
            for tag in next(t.tags for t in line.targets if t.registry == primary):
                holder = holders.get(tag)
                if planning.is_floating_tag(tag) and holder not in (None, self.release.tag):
                    taken.setdefault(holder, []).append(tag)
        return taken

    def held_tags(
        self, tags: Iterable[str], digest: str, floating: Sequence[notes_mod.FloatingFacts]
    ) -> tuple[str, ...]:
        """``tags`` (a line's, with index ``digest``) less the floating tags its images do
        not hold once they are verified (``floating``, on the primary: they agree on every
        registry then): not all those the plan meant to move, as a higher release published
        meanwhile keeps those it took (``taken_meanwhile``), nor those a line's record
        names that a newer release took since."""
        held = {
            f.tag
            for f in floating
            if f.registry == self.primary.name
            and f.release == self.release.tag
            and f.digest == digest
        }
        return tuple(t for t in tags if not planning.is_floating_tag(t) or t in held)

    def untouched_floating(self, done: Collection[str]) -> list[notes_mod.FloatingFacts]:
        """The ``php-X.Y`` of each line of the record this run did not touch (not in
        ``done``: ``--only``) that the registries' settled pins, as last listed, have follow
        this release on every registry: the line's recorded index, as the pins call for
        (none for a tag a newer release's pins took: ``held_tags`` then drops it). One read
        by name per such tag and registry: one a registry holds elsewhere (moved by hand)
        is said, with the repair that puts it back, and kept on this release."""
        lines = {
            line.php: line.index_digest
            for line in (self.record.lines if self.record is not None else self._unrecorded)
            if line.php not in done
        }
        if not lines or not self._listed:
            return []
        counted = planning.settled(self._listed, self.recorded)
        registries = list(self.config.registries)
        follows = [
            {
                f.tag
                for f in planning.floating_tags(r.name, counted[r.name], lines)
                if f.source_release == self.release.tag
            }
            for r in registries
        ]
        wanted = {
            tag: (php, digest)
            for php, digest in lines.items()
            if all((tag := planning.line_tag(php)) in f for f in follows)
        }
        found = in_parallel(
            lambda r: tag_digests(
                self.client(r),
                r.repository.path,
                list(wanted),
                {tag: digest for tag, (_, digest) in wanted.items()},
            ),
            registries,
        )
        repair = self.options.locations.command("audit", "--repair")
        for registry, present in zip(registries, found, strict=True):
            for tag, (php, digest) in wanted.items():
                if (there := present.get(tag)) != digest:
                    where = f"points at {there}" if there else "is missing"
                    self.output.warning(
                        f"{tag} on {registry.name} ({registry.repository.name}) {where}, "
                        f"not at {self.release.tag}'s PHP {php} index {digest} its pins call "
                        f"for (moved by hand?): this run did not rebuild PHP {php} and left it "
                        f"as it is, the release notes keep it on {self.release.tag}; "
                        f"`{repair}` puts it back"
                    )
        return [
            notes_mod.FloatingFacts(r.name, tag, self.release.tag, digest)
            for r in registries
            for tag, (_, digest) in wanted.items()
        ]

    def unrecorded_lines(self) -> tuple[notes_mod.LineFacts, ...]:
        """A republish of some lines (``--only``) of a release with no record (its notes
        not merged yet) keeps in its record every other line of ``matrix`` whose pin the
        primary holds, described from that pin (``described_from_pin``), as a recorded
        release keeps the record's other lines; () for any other run."""
        if self.record is not None or self.options.republish_reason is None:
            return ()
        others = [
            line
            for line in (self.matrix.lines if self.matrix is not None else ())
            if line.php not in self.config.line_names
        ]
        if not others:
            return ()
        client, path = self.client(self.primary), self.primary.repository.path
        pins = {line.php: planning.pin_tag(self.release, line.php) for line in others}
        held = tag_digests(client, path, list(pins.values()))
        kept = [line for line in others if pins[line.php] in held]
        return tuple(
            in_parallel(
                lambda line: described_from_pin(
                    self.config, self.release, line, client, held[pins[line.php]]
                ),
                kept,
            )
        )

    # ---------------------------------------------------------------- notes

    def facts(
        self,
        p: planning.Plan,
        indexes: Mapping[str, LineIndex],
        sizes: Mapping[str, Mapping[str, int]],
        versions: Mapping[str, str],
        floating: Sequence[notes_mod.FloatingFacts],
        history: tuple[notes_mod.Republish, ...],
    ) -> notes_mod.ReleaseFacts:
        """The release record after this run; lines of the record this run did not
        touch (``--only``) keep their recorded facts."""
        earlier = {
            line.php: line
            for line in (self.record.lines if self.record is not None else self._unrecorded)
        }
        lines = []
        for line_plan in p.lines:
            index = indexes[line_plan.php]
            line = self.config.line(line_plan.php)
            before = earlier.get(line_plan.php)
            if index.records:
                base_image, base_digest = index.records[0].base_image, index.records[0].base_digest
            elif before is not None:
                base_image, base_digest = before.base_image, before.base_digest
            else:
                base_image, base_digest = line_plan.base, None
            version = versions.get(line_plan.php)
            if version is None and before is not None and before.index_digest == index.digest:
                version = before.php_version
            planned = next(t.tags for t in line_plan.targets if t.registry == self.primary.name)
            lines.append(
                notes_mod.LineFacts(
                    php=line_plan.php,
                    php_version=version or NOT_TESTED,
                    index_digest=index.digest,
                    tags=self.held_tags(planned, index.digest, floating),
                    base_image=base_image,
                    base_digest=base_digest,
                    size_budget_bytes=line.size_budget_bytes,
                    extensions=line.extensions.names,
                    platforms=tuple(
                        notes_mod.PlatformFacts(
                            Platform.parse(platform),
                            digest,
                            sizes.get(line_plan.php, {}).get(platform, 0),
                        )
                        for platform, digest in index.images
                    ),
                )
            )
        done = {line.php for line in lines}
        # a line this run did not touch keeps its facts, but not a floating tag another
        # release holds by now (a republish of an older release, after a newer one)
        lines += [
            dataclasses.replace(line, tags=self.held_tags(line.tags, line.index_digest, floating))
            for php, line in earlier.items()
            if php not in done
        ]
        lines.sort(key=lambda line: php_line_order(line.php))
        republish = self.record is not None and self.options.republish_reason is not None
        return notes_mod.ReleaseFacts(
            release=self.release.tag,
            stable=self.release.is_stable,
            stand_in=self.config.stand_in,
            default_line=self.config.default_line,
            # A republish keeps the day the release was published; its history says when
            # and why it was rebuilt.
            published_at=(
                self.record.published_at
                if self.record is not None and republish
                else self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            registries=p.registries,
            lines=tuple(lines),
            floating=(
                republished_floating(self.record.floating, floating, self.release.tag)
                if self.record is not None and republish
                else tuple(floating)
            ),
            history=history,
            source_url=self.config.source_url,
            regression_percent=self.config.size_regression_percent,
            plan_sha256=p.digest,
            written=self.record.written if self.record is not None else None,
        )

    def _as_recorded(self, facts: notes_mod.ReleaseFacts) -> notes_mod.ReleaseFacts | None:
        """The record as written, for a rerun that moved no pin (it moved nothing, or only
        put floating tags back) and found every line's index as recorded (``None``
        otherwise).

        Its date, plan and floating facts, and each line's tags, describe the moment the
        release was published: a newer release may hold ``latest`` and ``php-X.Y`` since,
        which does not make this release's notes change. Only what the record lacks is
        taken from the rerun: a PHP version where it says the line was not tested.
        """
        record = self.record
        if record is None:
            return None
        found = {line.php: line for line in facts.lines}
        if {line.php: line.index_digest for line in record.lines} != {
            php: line.index_digest for php, line in found.items()
        }:
            return None
        lines = tuple(
            dataclasses.replace(line, php_version=found[line.php].php_version)
            if line.php_version == NOT_TESTED
            else line
            for line in record.lines
        )
        return self._recorded_as(dataclasses.replace(record, lines=lines), facts)

    @staticmethod
    def _recorded_as(
        record: notes_mod.ReleaseFacts, facts: notes_mod.ReleaseFacts
    ) -> notes_mod.ReleaseFacts:
        """``record`` with what a record does not keep taken from ``facts`` (today's
        settings): the source URL (the notes' signature check) and the size threshold."""
        return dataclasses.replace(
            record, source_url=facts.source_url, regression_percent=facts.regression_percent
        )

    def _warn_size_growth(
        self, facts: notes_mod.ReleaseFacts, history: notes_mod.SizeHistory
    ) -> None:
        """Say each platform image that grew past ``size_regression_percent`` since the
        previous stable release, as its notes flag it."""
        for line in facts.lines:
            for platform in line.platforms:
                change = notes_mod.size_change(facts, history, line.php, platform)
                if change is None or not change.regression:
                    continue
                self.output.warning(
                    f"PHP {line.php} {platform.platform}: {platform.size_bytes:,} bytes, "
                    f"{change.change_bytes:+,} bytes ({change.change_percent:+g}%) since "
                    f"{change.previous_release}: over the {facts.regression_percent:g}% "
                    "size_regression_percent of matrix.yaml (the notes flag it)"
                )

    def write_notes(
        self,
        facts: notes_mod.ReleaseFacts,
        *,
        keep: bool = False,
        taken: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[Path, Path, Path, frozenset[Path]]:
        """Write the notes, the size history and the pins file; ``keep`` leaves the
        notes files that exist as they are (only a missing one is written); ``taken``:
        the floating tags a release published meanwhile took (``taken_meanwhile``), said
        in the Markdown notes. Returns the Markdown, JSON and pins files' paths, and
        those of them it wrote.

        Another run writing its notes into the same directory (another tag) reads and
        rewrites the size history too: each does it holding an exclusive ``flock`` on the
        directory (``directory_locked``), so that neither drops the other's sizes. Holding
        it, no other run is writing there: the temporary files of notes a run killed
        while writing them left (``remove_unfinished_writes``) are removed first, never
        committed with the notes."""
        notes_dir = self.options.notes_dir

        def waiting() -> None:
            self.output.progress(
                f"waiting for another run writing its notes in {shown_path(notes_dir)} to finish "
                "(it holds the directory's lock; Ctrl-C stops this run, a rerun writes the "
                "notes)"
            )

        with directory_locked(notes_dir, waiting) as held:
            if held:
                remove_unfinished_writes(notes_dir, notes_mod.written_by_a_release)
            return self._write_notes(facts, keep=keep, taken=taken)

    def _record_now(self) -> notes_mod.ReleaseFacts | None:
        """The release's record as the notes directory holds it now; None when it holds
        none, or one that cannot be read (replaced by the notes, as it always was)."""
        try:
            return notes_mod.load_record(self.options.notes_dir, self.release.tag)
        except (PublisherError, OSError):
            return None

    def written_meanwhile(self) -> notes_mod.ReleaseFacts | None:
        """The release's record, when another run wrote it since this one started (the
        notes directory holds another than it did then: ``_at_start``); else None."""
        now = self._record_now()
        return now if now is not None and now != self._at_start else None

    def refuse_record_written_meanwhile(
        self, found: notes_mod.ReleaseFacts, facts: notes_mod.ReleaseFacts
    ) -> None:
        """Refuse (exit 14, no notes file changed) to write over ``found``, the record of
        this release another run wrote while this one ran (``written_meanwhile``), when it
        names other indexes than this run's ``facts``: its run published other images
        (its pins were written between this run's reads and writes of them), or the
        record was put there (notes pulled meanwhile). One naming the same indexes (the
        same builds) is written over, as before."""
        theirs = {line.php: line.index_digest for line in found.lines}
        ours = {line.php: line.index_digest for line in facts.lines}
        if theirs == ours:
            return
        tag = self.release.tag
        path = shown_path(notes_mod.record_path(self.options.notes_dir, tag))
        at = self.options.locations
        differ = [
            f"PHP {php}: {path} names {theirs.get(php) or 'no such line'}, this run "
            f"published {ours.get(php) or 'no such line'}"
            for php in sorted(theirs.keys() | ours.keys(), key=php_line_order)
            if theirs.get(php) != ours.get(php)
        ]
        said = "no notes file was changed, while the tags this run moved are written"
        if self.options.republish_reason is not None:
            hint = (
                f"{said}: rerun this command once the other run has ended; it reads that "
                "record again and writes its history entry after the other's"
            )
        else:
            hint = (
                f"{said}. `{at.command('verify', tag)}` compares them with that record; "
                f"`{at.command('audit', '--repair')}` puts them back where it names; "
                f"`{at.command('republish', tag, REASON)}` records this run's images on purpose"
            )
        raise ReleaseConflictError(
            f"release {tag}: another run wrote its record while this one ran:",
            conflicts=differ,
            hint=hint,
        )

    def _write_notes(
        self,
        facts: notes_mod.ReleaseFacts,
        *,
        keep: bool,
        taken: Mapping[str, Sequence[str]] | None,
    ) -> tuple[Path, Path, Path, frozenset[Path]]:
        """``write_notes``, once the notes directory is held: no other run writes there
        meanwhile, so a record another run wrote since this one started
        (``written_meanwhile``) is found here, before any file is written: a rehearsal
        says it replaces its notes, another run is refused when it names other indexes
        (``refuse_record_written_meanwhile``)."""
        meanwhile = self.written_meanwhile()
        if meanwhile is not None and self.options.rehearsal:
            self.output.notice(
                f"rehearsal: another rehearsal of {self.release.tag} wrote its notes in "
                f"{shown_path(self.options.notes_dir)} while this one ran: this rehearsal "
                "replaces them"
            )
        elif meanwhile is not None:
            self.refuse_record_written_meanwhile(meanwhile, facts)
        history_path = notes_mod.size_history_path(self.options.notes_dir)
        if history_path.exists():
            history = notes_mod.load_size_history(self.options.notes_dir)
        else:
            history, passed = notes_mod.sizes_from_records(self.options.notes_dir)
            if history.sizes:
                self.output.warning(
                    f"{shown_path(history_path)} was missing: rebuilt from the sizes in the "
                    f"{counted(len(history.sizes), 'release record')} next to it" + passed.said()
                )
        self._warn_size_growth(facts, history)
        md = self.options.notes_dir / f"{self.release.tag}.md"
        js = self.options.notes_dir / f"{self.release.tag}.json"
        env = self.options.notes_dir / pins_mod.file_name(self.release.tag)
        files: dict[Path, str] = {}
        if not (keep and md.exists()):
            higher = (
                notes_mod.higher_stable_recorded(self.options.notes_dir, self.release)
                if self.options.rehearsal and self.options.republish_reason is None
                else None
            )
            files[md] = notes_mod.release_markdown(
                facts,
                history,
                rehearsal=self.options.rehearsal,
                higher=None if higher is None else higher.tag,
                taken=taken,
            )
        if not (keep and js.exists()):
            files[js] = notes_mod.release_json(facts, history)
        if not keep:
            # a rehearsal's sizes replace an earlier rehearsal's; a real run keeps those
            # of a line its record lacks
            merged = history.with_release(facts, keep_lines=not self.options.rehearsal)
            files[history_path] = merged.to_json()
        elif (filled := history.with_missing(facts)) is not history or not history_path.exists():
            # notes kept as written: the size history as it is, but for sizes it lacks
            files[history_path] = filled.to_json()
        # The launcher's pins (digest-pinned references per line), from the record just written.
        if not (keep and env.exists()):
            files[env] = pins_mod.render(notes_mod.to_dict(facts, history))
        try:
            write_atomic_set(files)  # all of them or none
        except OSError as exc:
            error = file_error(exc, "write the release notes")
            changed = "no notes file was changed"
            if isinstance(exc, PartlyWritten):
                changed = (
                    "putting back the notes files renamed into place before it failed too: "
                    f"{', '.join(exc.undone)}; so these are new: "
                    f"{', '.join(p.name for p in exc.new)}, and these as they were (or "
                    f"missing): {', '.join(p.name for p in exc.old)}"
                )
            error.message += f"; {changed}" + (
                f": {REHEARSAL_RERUN}"
                if self.options.rehearsal
                else ", while every tag is written: rerun the same command once they can be "
                "written, and it writes only the notes"
            )
            raise error from None
        return md, js, env, frozenset(files) & {md, js, env}

    # ---------------------------------------------------------------- the run

    def run(self, records: Sequence[DigestRecord]) -> PublishResult:
        out = self.output
        with out.step("1/8 Read what the registries hold and plan every action"):
            planned = self.plan_settled(records)
            p, publish_plan, indexes = planned.plan, planned.publish_plan, planned.indexes
            self._unrecorded = self.unrecorded_lines()
            self._show_plan(p)
            self._show_actions(publish_plan)
            for text in planned.left_behind:
                out.warning(text)
            identical = self.identical_lines(publish_plan)
            # (a real run ends with this warning)
            if (
                identical
                and self.options.dry_run
                and (notice := self._identical_notice(identical, publish_plan))
            ):
                out.warning(notice)
        result = PublishResult(plan=p, indexes=indexes, publish_plan=publish_plan)
        off_record = (
            []
            if self.options.republish_reason is not None
            else pp.pins_off_record(p, publish_plan, self.record)
        )
        if publish_plan.conflicts and self.options.republish_reason is None:
            line = None if self.record else pp.started_default_line(p, publish_plan)
            raise conflict_error(
                self.release,
                publish_plan.conflicts,
                off_record,
                started=(line, p.default_line) if line else None,
                primary=self.primary.name,
                locations=self.options.locations,
            )
        if off_record:
            # the pins agree with the builds but not with the record: moved by hand on
            # every registry, or a republish that stopped before writing the record
            raise conflict_error(
                self.release,
                [
                    pp.Conflict(f"{pin} is not the index the release's record names")
                    for pin in off_record
                ],
                off_record,
                locations=self.options.locations,
            )
        disagree = list(planned.disagreements)
        halfway = pp.rewritten_halfway(publish_plan)
        if disagree and halfway:
            raise VerificationError(
                [f"the registries hold different content: {d}" for d in disagree]
                + list(apart.defects if (apart := self.halfway_pins(halfway)) else ()),
                hint=halfway_republish_hint(halfway, NO_TAG_WRITTEN, self.options.locations),
            )
        at = self.options.locations
        if disagree:
            _, moves = self.repository_moves()
            compared = (
                f" After a repository move ({'; '.join(moves)}), the registries are compared "
                "on the releases both repositories hold, and these differ even so."
                if moves
                else ""
            )
            raise VerificationError(
                [f"the registries hold different releases: {d}" for d in disagree],
                hint=f"{NO_TAG_WRITTEN}.{compared} A release whose pins only some registries "
                "hold did not finish: finish it with `publisher release` of that release "
                f"(`{at.command('audit')}` names it). A registry added to the matrix, or a pin "
                f"moved by hand: run `{at.command('audit', '--repair')}`. Then rerun",
            )
        if self.options.dry_run:
            out.info("dry run: nothing was written")
            if self.options.json_plan:
                out.print_text(publish_plan.to_json())
            else:  # the tables above say it all; the JSON is for --json to print
                out.info("add --json to print this plan as JSON")
            return result
        # this run's history entry, with what gave each line new images: judged now, from
        # what the run read (the rest read while the primary answers the run), so the
        # notes, written once the tags moved, wait on no registry read
        entry = (
            None
            if publish_plan.history is None
            else self.with_causes(publish_plan.history, indexes)
        )
        with out.step("2/8 Push each line's index to the primary registry"):
            self.push_indexes(publish_plan, indexes)
            self.refuse_over_budget(indexes)
        with out.step("3/8 Copy every index to the other registries by digest"):
            self.copy(planned)
        with out.step("4/8 Verify platforms, sizes and digests on every registry"):
            sizes = self.verify_indexes(indexes)
        with out.step("5/8 Smoke-test every platform image"):
            versions = self.tested_before(indexes, publish_plan)
            if versions:
                out.info(
                    "every pin already points at these indexes and the notes record their "
                    "smoke-tested versions: not testing again"
                )
            else:
                versions = self.smoke_test(indexes)
                if self.smoke is None:
                    out.warning("smoke tests skipped (--no-smoke)")
            refuse_stand_in(
                self.config,
                [
                    (f"PHP {php}", built_on(indexes[php].records[0]), how)
                    for php, version in versions.items()
                    if php in indexes
                    and (how := verify_rules.stand_in_said({}, version)) is not None
                ],
                left=NO_TAG_WRITTEN,
                locations=self.options.locations,
            )
        with out.step("6/8 Write the pin tags, then move the floating tags"):
            registries = [r.name for r in self.config.registries]
            try:
                self.write_pins(publish_plan.pin_moves, primary_first=True)
            except ReleaseConflictError:
                raise  # another run's pins: its own tip says what was left
            except (StoppedError, Interrupted):
                if not self.options.rehearsal:  # the interruption says which pins it wrote
                    wrote = pins_said(self.pins_written, publish_plan.pin_moves, registries)
                    stop.leave(
                        f"while writing its pins {wrote}, as far as it knows (a write under "
                        "way as it stopped may land yet); no floating tag moved onto them"
                    )
                raise
            except PublisherError as exc:
                if not self.options.rehearsal:  # (whose rerun starts on new registries)
                    wrote = pins_said(self.pins_written, publish_plan.pin_moves, registries)
                    exc.hint = pins_left_hint(exc.hint, wrote)
                raise
            self._held = {m.tag: m.new for m in publish_plan.pin_moves if m.new is not None}
            pins_moved = [m for m in publish_plan.pin_moves if m.changes]
            floating_moved = self.move_floating()
            moved = pins_moved + floating_moved
            result.moves = moved
            if not moved:
                out.info("every tag already points where it should; nothing moved")
        with out.step("7/8 Verify the tags"):
            floating = self.verify_tags(indexes)
            floating += self.untouched_floating(indexes)
            taken = self.taken_meanwhile(p, floating)
            for words in notes_mod.taken_meanwhile(taken):
                out.notice(words)
        with out.step("8/8 Write the release notes"):
            history = self.record.history if self.record else ()
            if entry is not None:
                history = (*history, entry)
            facts = self.facts(p, indexes, sizes, versions, floating, history)
            facts = dataclasses.replace(facts, publish_plan_sha256=publish_plan.digest)
            # A rerun that moved no pin describes the release as published, whether it
            # moved nothing or only put floating tags back (on this release or another).
            repaired: list[str] = []
            if not pins_moved and publish_plan.history is None:
                recorded = self._as_recorded(facts)
                if recorded is not None:
                    facts = recorded
                    repaired = sorted({m.tag for m in floating_moved})
            # Nothing new: the notes stay as written (their size comparisons and charts
            # date from the run that published, before any newer or backported release).
            kept = self.record is not None and facts == self._recorded_as(self.record, facts)
            result.notes_md, result.notes_json, pins, written = self.write_notes(
                facts, keep=kept, taken=taken
            )
            result.facts = facts
            out.info(notes_said((result.notes_md, result.notes_json, pins), written))
        # A rerun of a republish that finished (nothing moved but floating tags put back)
        # says that republish, with its reason, as a rerun of a release says its release.
        earlier = () if pins_moved else self._republished_earlier(publish_plan)
        self._report(
            facts,
            republish=entry or earlier,
            rebuilt=(
                self.options.republish_reason is not None
                and publish_plan.history is None
                and not earlier
            ),
            moved=bool(moved),
            repaired=repaired,
        )
        if identical and (notice := self._identical_notice(identical, publish_plan)):
            out.warning(notice)
        if publish_plan.history is not None:
            self._warn_left_behind(publish_plan.history)
        self._warn_registries_behind()
        return result

    def _warn_registries_behind(self) -> None:
        """A registry added to the matrix later holds this release (the run wrote it there)
        but not the recorded releases before it, nor the floating tags only they carry
        (``php-X.Y`` of a line this release lacks): said, with the command that fills it."""
        if self.options.rehearsal:
            return
        recorded = set(self.recorded) - {self.release.tag}
        if not self._listed:  # no floating tag was computed: nothing read to judge by
            return
        behind = pp.registries_behind(self._listed, recorded)
        for name, (missing_releases, lacks) in behind.items():
            # after a repository move, the new repository holds the releases since only
            here = self.registry(name).repository.name
            releases = [tag for tag in missing_releases if self._recorded_at(tag, name, here)]
            if not releases:
                continue
            missing = (
                f" and the floating {'tag' if len(lacks) == 1 else 'tags'} {', '.join(lacks)} "
                "the other registries carry"
                if lacks
                else ""
            )
            self.output.warning(
                f"{name} ({self.registry(name).repository.name}) lacks the recorded "
                f"{'release' if len(releases) == 1 else 'releases'} {', '.join(releases)}"
                f"{missing} (a registry added to the matrix later holds only what was "
                "written there since; this run wrote only its own release and the floating "
                f"tags of its lines): `{self.options.locations.command('audit', '--repair')}` "
                "copies them there"
            )

    def _recorded_at(self, tag: str, name: str, repository: str) -> bool:
        """Does ``tag``'s record leave it at ``repository`` on registry ``name`` (or not
        name that registry)? A record that cannot be read counts as yes: this is said at
        the end of a run that succeeded, which it must not fail (`audit` says what is
        wrong with the record)."""
        try:
            record = notes_mod.load_record(self.options.notes_dir, tag)
        except (PublisherError, OSError):
            return True
        return record is None or all(
            r.repository == repository for r in record.registries if r.name == name
        )

    def _warn_left_behind(self, history: notes_mod.Republish) -> None:
        """Said again at the end of a republish (the notice before its builds is long
        gone): the registries the record named that matrix.yaml no longer has still serve
        the replaced images under the release's tags, and the record no longer names them."""
        if self.record is None or self.options.rehearsal:
            return
        notice = pp.left_behind(self.config, self.record, history.changes, self.options.locations)
        if notice is not None:
            self.output.warning(notice)

    def with_causes(
        self, history: notes_mod.Republish, indexes: Mapping[str, LineIndex]
    ) -> notes_mod.Republish:
        """``history`` with what gave each of its lines new images (``rebuild_cause``):
        the published images (the record's, else those of the old index on the primary)
        and this run's, compared from the manifests and image configs this run holds (the
        rebuilt images, read to assemble the indexes; the old index, read by the plan),
        the rest read from the primary once (``_held_image``). ``run`` asks it before any
        tag moves, so the notes wait on no registry. What cannot be read is said as not
        known, and once a read failed nothing more is read (each would wait as long): the
        run never fails on it."""
        failed: list[str] = []
        causes = []
        for php, old, _new in history.changes:
            index = indexes.get(php)
            if index is None:
                continue
            records = {str(r.platform): r for r in index.records}
            rebuilt = [
                self._built(php, str(platform), digest, failed, record=records.get(str(platform)))
                for platform, digest in index.images
            ]
            causes.append((php, rebuild_cause(self._published(php, old, failed), rebuilt)))
        return dataclasses.replace(history, causes=tuple(causes))

    def _held_manifest(self, digest: str, failed: list[str]) -> Manifest | None:
        """The manifest ``digest`` as this run holds it (``_bodies``), else read from the
        primary (one try; kept); None when it cannot be had: a failure but a 404 is put in
        ``failed``, after which nothing more is read (``with_causes``)."""
        held = self._bodies.get(digest)
        try:
            if held is not None:
                return Manifest.parse(*held, digest)
            if failed:
                return None
            found = self.client(self.primary).get_manifest_by_digest(
                self.primary.repository.path, digest, attempts=1
            )
        except NotFoundError:
            return None  # (gone: the primary answers, the next read goes on)
        except (PublisherError, ValueError) as exc:
            failed.append(str(exc))
            return None
        self._bodies[digest] = (found.body, found.media_type)
        return found

    def _held_image(
        self, digest: str, failed: list[str]
    ) -> tuple[Manifest | None, Mapping[str, Any] | None]:
        """The platform image ``digest`` (the image inside it, for buildx's index with its
        attestations) and its image config, as ``_held_manifest`` has them: the config
        from ``_configs``, else read from the primary (one try). None: not had."""
        image = self._held_manifest(digest, failed)
        if image is not None and image.is_index:
            children = image.platform_children
            image = self._held_manifest(children[0].digest, failed) if children else None
        if image is None or image.config is None:
            return image, None
        blob = image.config
        client = self.client(self.primary)
        body = self._configs.get(blob.digest)
        try:
            if body is not None:
                return image, client.parse_config(blob.digest, body)
            if failed:
                return image, None
            return image, client.image_config(self.primary.repository.path, image, attempts=1)
        except NotFoundError:
            return image, None  # (gone: the primary answers, the next read goes on)
        except (PublisherError, ValueError) as exc:
            failed.append(str(exc))
            return image, None

    def _published(self, php: str, index: str, failed: list[str]) -> list[Built]:
        """The platform images of ``index``, PHP ``php``'s published one: as the record
        names them (with its base) when it names that index, else as the primary lists them."""
        line = next(
            (
                line
                for line in (self.record.lines if self.record else ())
                if line.php == php and line.index_digest == index
            ),
            None,
        )
        if line is not None:
            return [
                self._built(php, str(p.platform), p.digest, failed, base=line.base_digest or "")
                for p in line.platforms
            ]
        found = self._held_manifest(index, failed)
        children = found.platform_children if found is not None and found.is_index else ()
        return [self._built(php, str(c.platform), c.digest, failed) for c in children if c.platform]

    def _built(
        self,
        php: str,
        platform: str,
        digest: str,
        failed: list[str],
        *,
        record: DigestRecord | None = None,
        base: str | None = None,
    ) -> Built:
        """One platform image as ``rebuild_cause`` compares it: what its digest record
        (``record``, this run's) says, and its image config and layers (``_held_image``:
        as this run holds them, else read from the primary). ``base``: its base digest as
        the release record names it ("": none named), else its label's."""
        image, config = self._held_image(digest, failed)
        layers = tuple(layer.digest for layer in image.layers) if image is not None else None
        labels = config_labels(config) if config is not None else {}
        if base is None:
            base = (
                record.base_digest
                if record
                else (base_from_label(labels.get(BASE_LABEL)) or ("", None))[1]
            )
        return Built(
            platform=platform,
            digest=digest,
            base_digest=base or None,
            dockerfile_sha256=(record.dockerfile_sha256 if record else None)
            or labelled_dockerfile(labels),
            config=config,
            layers=layers,
        )

    def identical_lines(self, publish_plan: pp.PublishPlan) -> list[str]:
        """A republish: the lines whose rebuilt index is the one already published
        (none before the builds: what they give is not known yet)."""
        if self.options.republish_reason is None or self.before_builds:
            return []
        changed = (
            {php for php, _old, _new in publish_plan.history.changes}
            if publish_plan.history
            else set()
        )
        return [a.php for a in publish_plan.lines if a.digest is not None and a.php not in changed]

    def _republished_earlier(self, publish_plan: pp.PublishPlan) -> tuple[notes_mod.Republish, ...]:
        """The recorded republishes a republish that changed nothing reruns, if any
        (``republished_earlier``)."""
        if publish_plan.history is not None:
            return ()
        identical = self.identical_lines(publish_plan)
        rebuilt = {a.php: a.digest for a in publish_plan.lines if a.php in identical and a.digest}
        return republished_earlier(self.record, rebuilt)

    def _identical_origin(self, publish_plan: pp.PublishPlan) -> tuple[str, str]:
        """Of a republish whose every rebuilt line is identical, some of them to the images
        a recorded republish published (``republished_by``; a rerun of that republish alone
        is ``_republished_earlier``'s): whose images each line's are, in words, and what
        becomes of this run's reason (the one those republishes recorded, or not recorded)."""
        identical = self.identical_lines(publish_plan)
        rebuilt = {a.php: a.digest for a in publish_plan.lines if a.php in identical and a.digest}
        entries, published = republished_by(self.record, rebuilt)
        tag = self.release.tag
        origin = [
            f"PHP {', '.join(php for php, _o, _n in entry.changes)}'s are those the republish "
            f"of {entry.date} ({entry.reason}) published"
            for entry in entries
        ]
        if published and entries:
            one = len(published) == 1
            origin.append(
                f"the {'base' if one else 'bases'} of PHP {', '.join(published)} did not "
                f"change since {tag} was published"
            )
        elif published:
            origin.append(f"their bases did not change since {tag} was published")
        reason = self.options.republish_reason
        same = [entry for entry in entries if entry.reason == reason]
        recorded = (
            f"this run's reason ({reason}) is the one the "
            + (
                f"republish of {same[0].date}"
                if len(same) == 1
                else "republishes of " + " and ".join(e.date for e in same)
            )
            + " recorded"
            if same
            else f"this run's reason ({reason}) is not recorded"
        )
        return "; ".join(origin), recorded

    def _identical_notice(
        self, identical: Sequence[str], publish_plan: pp.PublishPlan
    ) -> str | None:
        lines = ", ".join(identical)
        if publish_plan.history is None:
            # the pins a registry held other content under (moved by hand) were put back
            back = [f"{m.tag} on {m.registry}" for m in publish_plan.pin_moves if m.changes]
            earlier = self._republished_earlier(publish_plan)
            if earlier:
                # a rerun of recorded republishes: its heading says so; the record stays
                reason = self.options.republish_reason
                said = []
                if any(reason != entry.reason for entry in earlier):
                    reasons = " and ".join(f"{e.date} ({e.reason})" for e in earlier)
                    kept = (
                        f"the reason of the republish of {reasons} is"
                        if len(earlier) == 1
                        else f"the reasons of the republishes of {reasons} are"
                    )
                    said.append(f"{kept} kept and this run's ({reason}) is not recorded")
                if back:
                    said.append(
                        f"the {'pin' if len(back) == 1 else 'pins'} that differed from the "
                        f"record {'was' if len(back) == 1 else 'were'} put back: "
                        f"{', '.join(back)}"
                    )
                if not said:
                    return None
                which = (
                    f"the republish of {earlier[0].date}"
                    if len(earlier) == 1
                    else "the republishes of "
                    + " and ".join(
                        f"{e.date} (PHP {', '.join(php for php, _o, _n in e.changes)})"
                        for e in earlier
                    )
                )
                return (
                    f"the rebuilt images of {self.release.tag} (PHP {lines}) are the ones "
                    f"{which} published, so no history entry is added: {'; '.join(said)}"
                )
            origin, reason = self._identical_origin(publish_plan)
            pins = (
                f"no history entry is added, and {reason}; the "
                f"{'pin' if len(back) == 1 else 'pins'} that differed from the record "
                f"{'was' if len(back) == 1 else 'were'} put back: {', '.join(back)}"
                if back
                else f"no pin moves and no history entry is added: {reason}"
            )
            return (
                f"nothing to republish: the rebuilt images of {self.release.tag} (PHP {lines}) "
                f"are identical to the published ones ({origin}), so {pins}"
            )
        return (
            f"PHP {lines}: the rebuilt images are identical to the published ones; their pins "
            "stay and the history entry lists only the lines that changed"
        )

    def _show_plan(self, p: planning.Plan) -> None:
        rows = [
            (line.php, ", ".join(line.platforms), t.repository, ", ".join(t.tags))
            for line in p.lines
            for t in line.targets
        ]
        self.output.table(f"Plan for {p.release}", ("PHP", "platforms", "repository", "tags"), rows)

    def _show_actions(self, publish_plan: pp.PublishPlan) -> None:
        rows = [
            (
                a.php,
                a.digest or "(after the builds)",
                a.source,
                "yes" if a.push else "-",
                ", ".join(a.copy_to) or "-",
            )
            for a in publish_plan.lines
        ]
        self.output.table("Indexes", ("PHP", "index", "source", "push to primary", "copy to"), rows)
        moves = [
            (
                m.registry,
                m.tag,
                m.kind,
                m.old or "(new)",
                m.new or "(after the builds)",
                m.effect,
            )
            for m in (*publish_plan.pin_moves, *publish_plan.floating_moves)
        ]
        # In the step summary before anything is pushed, where a run that fails leaves it: its
        # heading says it is the plan, as a failure's tips name it (``PLAN_NOT_MADE``).
        title = "The plan's tag moves " + (
            "(dry run: nothing was written)"
            if self.options.dry_run
            else "(step 6/8 makes them, once every index is pushed, copied, verified and "
            "smoke-tested)"
        )
        self.output.table(title, ("registry", "tag", "kind", "old", "new", "change"), moves)
        pending = [a.php for a in publish_plan.lines if a.digest is None]
        self._show_transfers(publish_plan.transfers, pending)

    def _show_transfers(self, transfers: TransferPlan | None, pending: Sequence[str] = ()) -> None:
        """Per target registry: blobs and bytes to upload, blobs mounted, manifests to put.

        ``pending``: lines a dry run plans before their builds; what copying them takes
        is known only once they are built, so they are named apart, never as nothing."""
        if pending:
            others = [r.name for r in self.config.registries if not r.primary]
            if others:
                self.output.info(
                    f"Copies: PHP {', '.join(pending)}: built by this run, then copied to "
                    f"{', '.join(others)}; their blobs are counted once they exist"
                )
        if transfers is None:
            return
        if transfers.is_noop:
            self.output.info("Copies: nothing " + ("else " if pending else "") + "to copy")
            return
        names = {target: name for name, target in self.targets().items()}
        summary = {names.get(row.target, str(row.target)): row for row in transfers.summary()}
        rows = []
        for name in planning.in_matrix_order(summary, (r.name for r in self.config.registries)):
            row = summary[name]
            rows.append(
                (
                    name,
                    str(row.uploads),
                    human_size(row.upload_bytes),
                    str(row.mounts),
                    str(row.manifests),
                )
            )
        self.output.table(
            f"Copies ({counted(transfers.download_count, 'blob')} to download from "
            f"{self.primary.name})",
            ("registry", "blobs to upload", "bytes", "blobs to mount", "manifests to put"),
            rows,
        )

    def _report(
        self,
        facts: notes_mod.ReleaseFacts,
        *,
        republish: notes_mod.Republish | Sequence[notes_mod.Republish] = (),
        rebuilt: bool = False,
        moved: bool = True,
        repaired: Sequence[str] = (),
    ) -> None:
        rows = []
        for line in facts.lines:
            for platform in line.platforms:
                rows.append(
                    (
                        line.php,
                        line.php_version,
                        platform.platform,
                        platform.digest,
                        human_size(platform.size_bytes),
                    )
                )
        self.output.table(
            summary_title(
                facts,
                rehearsal=self.options.rehearsal,
                republish=republish,
                rebuilt=rebuilt,
                moved=moved,
                repaired=repaired,
            ),
            ("PHP", "version", "platform", "digest", "size"),
            rows,
        )
        entries = (republish,) if isinstance(republish, notes_mod.Republish) else republish
        said = [
            (php, short_digest(old), short_digest(new), cause)
            for entry in entries
            for php, old, new in entry.changes
            if (cause := entry.cause(php)) is not None
        ]
        if said:  # so that a rebuild that moved no base is not taken for one that did
            self.output.table(
                "What gave each republished line new images",
                ("PHP", "old", "new", "what changed"),
                said,
            )
        # in one write: a failure or a signal leaves every output written, or none
        try:
            self.output.set_outputs(
                [
                    *((f"digest-{line.php}", line.index_digest) for line in facts.lines),
                    (
                        "digests",
                        json.dumps(
                            {line.php: line.index_digest for line in facts.lines}, sort_keys=True
                        ),
                    ),
                ]
            )
        except FileAccessError as exc:  # (a full disk: checked before anything otherwise)
            exc.message += (
                "; the rehearsal ran to its end all the same: only the step outputs are missing"
                if self.options.rehearsal
                else f"; every tag of {self.release.tag} and its notes are written all the "
                "same: only the step outputs are missing"
            )
            raise
