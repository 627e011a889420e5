"""The publish plan: every action a publish run takes, computed before it acts.

Pure: ``plan_publish`` takes the release plan (``plan.plan``), what the
registries hold (``Observed``, read once by the stage), the candidate index of
each line (assembled from the build legs' records), the release's record (its
notes JSON, when it was published before) and whether this is a republish, and
returns a frozen ``PublishPlan``: the index of each line and where it comes
from, which registries lack it and how every blob and manifest gets there (the
``TransferPlan`` of ``transfer_plan.py``: each blob once per registry), every
pin write and floating-tag move (old digest -> new), the conflicts that refuse
the run, the republish history entry. The publish stage executes it step by
step; ``--dry-run`` prints the same object. ``copies_to_observe`` tells the
stage which indexes it must look into (what their trees hold on each registry
but the primary, all the way down: one that lost part of an index it holds
lacks it) before planning. ``config_for_record`` makes an existing release keep what its record
says (default line, lines, platforms), whatever today's matrix says.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..resolve import sha256_digest, short_digest
from . import plan as planning
from .config import ENV_LINES, Config, Extensions, Line, Registry
from .errors import ConfigError, InvalidReferenceError, UsageError
from .locations import DEFAULT as DEFAULT_LOCATIONS
from .locations import REASON, Locations
from .notes import LineFacts, RegistryFacts, ReleaseFacts, Republish
from .platforms import Platform
from .reference import parse as parse_reference
from .reference import parse_repository
from .transfer_plan import SourceTree, Target, TransferPlan, plan_transfers
from .version import parse_release

#: 3: the history's changes are objects, as in the notes (2: ``[php, old, new]`` arrays),
#: and no ``conflicts`` or ``notices`` (2: always empty in a printed plan)
PUBLISH_PLAN_SCHEMA = 3

#: Where a line's index comes from.
ASSEMBLED = "assembled"  # built by these records, assembled by this run
PUBLISHED = "published"  # the release's pin on the primary already holds these images
REPLACED = "replaced"  # republish: the new index replaces the pinned one
PENDING = "pending"  # dry run before the builds: known once they ran


def recorded_line(facts: LineFacts) -> Line:
    """A line matrix.yaml no longer has, as its record describes it: its platforms and
    size budget (enough to check or read what was published, not to build it)."""
    try:
        base = parse_reference(facts.base_image)
    except InvalidReferenceError:
        base = parse_reference(f"php:{facts.php}-fpm-alpine")
    return Line(
        php=facts.php,
        platforms=tuple(Platform.parse(p.platform) for p in facts.platforms),
        base=base,
        extensions=Extensions(install=facts.extensions or ()),
        packages=(),
        build_packages=(),
        size_budget_bytes=facts.size_budget_bytes,
        dockerfile="",
    )


def not_in_release(
    record: ReleaseFacts,
    option: str,
    absent: Iterable[str],
    takeable: Sequence[str] | None = None,
) -> UsageError:
    """The refusal of an option (``--only``) that names lines ``record``'s release lacks.

    ``takeable``: the release's lines the command can act on, when not all of them
    (a command that rebuilds or publishes needs them in matrix.yaml)."""
    if takeable is None or list(takeable) == list(record.line_names):
        which = f"name lines of {record.release}"
    elif takeable:
        which = f"name lines of {record.release} that matrix.yaml has (PHP {', '.join(takeable)})"
    else:
        which = f"restore lines of {record.release} in matrix.yaml to act on them"
    return UsageError(
        f"{option}: {record.release} has no PHP {', '.join(absent)} "
        f"(it was published with PHP {', '.join(record.line_names)})",
        hint=f"{which}; a published release keeps its lines (publish another line in a new "
        "release)",
    )


def dropped_from_matrix(
    record: ReleaseFacts, option: str, dropped: Iterable[str], takeable: Sequence[str]
) -> UsageError:
    """The refusal of an option (``--only``) that names lines of ``record``'s release
    that matrix.yaml no longer has: a rerun or a republish builds from matrix.yaml."""
    lines = ", ".join(dropped)
    return UsageError(
        f"{option}: {record.release}'s PHP {lines} is no longer in matrix.yaml, so a rerun "
        "or republish cannot take it",
        hint=f"restore PHP {lines} in matrix.yaml's lines to act on it"
        + (
            f", or name lines of {record.release} that matrix.yaml has (PHP {', '.join(takeable)})"
            if takeable
            else ""
        ),
    )


def config_for_record(
    config: Config,
    record: ReleaseFacts | None,
    *,
    strict: bool = False,
    keep_dropped: bool = False,
    rehearsal: bool = False,
    recorded: Collection[str] = (),
    locations: Locations | None = None,
) -> tuple[Config, list[str]]:
    """``config`` as the recorded release was: its default line, lines and platforms.

    Today's matrix describes the next release; an existing release keeps its own
    facts. Returns the adjusted configuration and one notice per disagreement.
    Lines recorded but no longer in the matrix cannot be rebuilt: with
    ``strict`` (a republish) they are named in a ConfigError; with
    ``keep_dropped`` (reading what was published: verify, check-public) they are
    kept as the record describes them (``recorded_line``); else named in a
    notice and left out. The registries are the record's (see
    ``_recorded_registries``), except in a ``rehearsal``: its throwaway registries
    are new each time, and the record names those of an earlier rehearsal.
    ``recorded``: the release tags with a record next to it (a newer stable one
    among them carries ``latest``, so the notices do not tie it to this release).
    ``locations``: the run's, with which a republish's refusal of a dropped line spells
    the command that republishes the others, and a refusal of a moved repository the
    check of the release where it was published.
    """
    if record is None:
        return config, []
    chosen = config.selection
    if chosen is not None:
        absent = [php for php in chosen.lines if php not in record.line_names]
        if absent:
            raise not_in_release(record, chosen.option, absent)
    notices: list[str] = []
    if record.default_line != config.default_line:
        # latest follows the newest stable release only, never a prerelease
        this = parse_release(record.release)
        newer = any((other := parse_release(tag)).is_stable and this < other for tag in recorded)
        follows = (
            f" (and for latest while {record.release} is the newest stable release)"
            if record.stable and not newer
            else ""
        )
        notices.append(
            f"{record.release} was published with default line {record.default_line}; "
            f"matrix.yaml now says {config.default_line}: keeping {record.default_line} "
            f"for {record.release}{follows}"
        )
    known = {line.php: line for line in config.lines}
    recorded = record.line_names
    configured = set(config.all_lines or config.line_names)
    lines = []
    missing = []
    dropped = []
    for php in recorded:
        if chosen is not None and php not in chosen.lines:
            continue  # left out by --only: neither rebuilt nor read, dropped or not
        line = known.get(php)
        if line is None:
            if php not in configured and keep_dropped and not strict:
                dropped.append(php)
                lines.append(recorded_line(record.line(php)))
            elif php not in configured:
                missing.append(php)
            continue
        platforms = tuple(Platform.parse(p.platform) for p in record.line(php).platforms)
        if set(platforms) != set(line.platforms):
            notices.append(
                f"PHP {php}: {record.release} was published for "
                f"{', '.join(p.value for p in platforms)}; keeping those platforms"
            )
        extensions = line.extensions
        kept = record.line(php).extensions
        if kept is not None and kept != line.extensions.names:
            # Only what the smoke test reads (module names): the images were built from
            # the release's Dockerfile, whatever the matrix says today.
            extensions = Extensions(install=kept)
            notices.append(
                f"PHP {php}: {record.release} was published with the extensions "
                f"{', '.join(kept) or 'none'}; matrix.yaml now names "
                f"{', '.join(line.extensions.names) or 'none'}: checking the published ones"
            )
        lines.append(
            dataclasses.replace(
                line,
                platforms=platforms,
                size_budget_bytes=record.line(php).size_budget_bytes,
                extensions=extensions,
            )
        )
    if dropped:
        notices.append(
            f"{record.release} was published with PHP {', '.join(dropped)}, which matrix.yaml "
            "no longer has: read from its record (pins, digests, platforms, size budget)"
        )
    if missing and not strict:
        notices.append(
            f"{record.release} was published with PHP {', '.join(missing)}, which matrix.yaml "
            "no longer has: left out"
        )
    elif missing:
        others = ",".join(php for php in recorded if php not in missing)
        select = "select the others with --only"
        if locations is not None and others:
            command = locations.command("republish", record.release, REASON, "--only", others)
            select = f"republish the others alone: `{command}`"
        raise ConfigError(
            f"{record.release} was published with PHP {', '.join(missing)}, which matrix.yaml "
            "no longer has",
            field="lines",
            hint=f"restore those lines in matrix.yaml to rebuild or re-plan this release, "
            f"or {select}",
        )
    extra = [
        php
        for php in config.line_names
        if php not in recorded and (chosen is None or php in chosen.lines)
    ]
    if extra:
        notices.append(
            f"{record.release} has no PHP {', '.join(extra)}; a published release keeps "
            "its lines (publish them in a new release)"
        )
    if not lines:
        narrowed = config.narrowed_by
        raise ConfigError(
            f"none of the selected lines is part of {record.release} "
            f"(it has PHP {', '.join(recorded)})",
            source="environment" if narrowed else config.source,
            field=" and ".join(n.split("=")[0] for n in narrowed) if narrowed else "lines",
            hint=f"select lines {record.release} has (PHP {', '.join(recorded)}); a published "
            "release keeps its lines",
        )
    absent = [php for php in config.env_lines if php not in recorded]
    if absent:
        raise ConfigError(
            f"{record.release} has no PHP {', '.join(absent)} "
            f"(it was published with PHP {', '.join(recorded)})",
            source="environment",
            field=ENV_LINES,
            hint=f"name lines of {record.release} in {ENV_LINES}, or unset it; a published "
            "release keeps its lines (publish another line in a new release)",
        )
    registries = (
        config.registries
        if rehearsal
        else _recorded_registries(
            config,
            record,
            read_only=keep_dropped and not strict,
            locations=locations or DEFAULT_LOCATIONS,
        )
    )
    if registries != config.registries:
        notices.append(
            f"{record.release} was published to "
            + ", ".join(
                f"{r.repository.name} ({r.name})"
                for r, now in zip(registries, config.registries, strict=True)
                if r != now
            )
            + ": checking it there, not where matrix.yaml now points"
        )
    gone = dropped_registries(config, record)
    if gone and not rehearsal:
        # A registry dropped from the matrix still serves the release: said, never silent,
        # since no command here reads or writes it any more (a republish leaves its pins
        # at the old content, and its record no longer names it).
        if strict:
            it = "it" if len(gone) == 1 else "them"
            left = (
                "a republish leaves its tags there on the images it replaces, and the record "
                f"it writes no longer names {it} (to republish there too, add {it} back to "
                "matrix.yaml first)"
            )
        elif keep_dropped:
            left = "not checked there"
        else:
            left = "its tags there are left as they are"
        notices.append(
            f"{record.release} was also published to "
            + ", ".join(f"{r.repository} ({r.name})" for r in gone)
            + f", which matrix.yaml no longer names: {left}"
        )
    adjusted = dataclasses.replace(
        config, default_line=record.default_line, lines=tuple(lines), registries=registries
    )
    return adjusted, notices


def dropped_registries(config: Config, record: ReleaseFacts) -> list[RegistryFacts]:
    """The registries ``record`` names that matrix.yaml no longer has: none of the
    commands reads or writes them any more, and the release's tags there stay as they are."""
    named = {r.name for r in config.registries}
    return [r for r in record.registries if r.name not in named]


def left_behind(
    config: Config,
    record: ReleaseFacts,
    changes: Sequence[tuple[str, str, str]],
    locations: Locations = DEFAULT_LOCATIONS,
) -> str | None:
    """At the end of a republish of ``record``'s release that replaced ``changes`` (php,
    old digest, new digest): the registries the record named that matrix.yaml no longer
    has still serve the replaced images under the release's tags, and the record it wrote
    no longer names them; None when there is none."""
    gone = dropped_registries(config, record)
    if not gone:
        return None
    tag = record.release
    one = len(gone) == 1
    it = "it" if one else "them"
    replaced = ", ".join(f"PHP {php} {short_digest(old)}" for php, old, _new in changes)
    names = ", ".join(r.name for r in config.registries)
    return (
        f"{tag}'s record now names {names} only: "
        + ", ".join(f"{r.repository} ({r.name})" for r in gone)
        + f", which matrix.yaml no longer names, still {'serves' if one else 'serve'} "
        f"{tag}'s tags there with the images this republish replaced ({replaced}). To "
        f"republish there too, add {it} back to matrix.yaml and run "
        f"`{locations.command('audit', '--repair')}` (it copies the new images there and "
        "points the tags at them); otherwise "
        f"delete {tag}'s tags there"
    )


def moved_repositories(config: Config, record: ReleaseFacts) -> list[tuple[str, str]]:
    """Each registry of ``config`` the record names with another repository than
    matrix.yaml does now, as (registry name, the record's repository): a command that
    writes the release refuses it there (``_recorded_registries``)."""
    recorded = {r.name: r.repository for r in record.registries}
    return [
        (r.name, recorded[r.name])
        for r in config.registries
        if recorded.get(r.name, r.repository.name) != r.repository.name
    ]


def _recorded_registries(
    config: Config,
    record: ReleaseFacts,
    *,
    read_only: bool,
    locations: Locations = DEFAULT_LOCATIONS,
) -> tuple[Registry, ...]:
    """Today's registries, each at the repository the record says the release went to.

    A command that only reads the release (``read_only``) reads it there. One that
    writes refuses: a release stays where it was published, and writing part of
    it to another repository would leave it half in each; the check it names carries
    ``locations``, the run's.
    """
    moved = dict(moved_repositories(config, record))
    result = []
    for registry in config.registries:
        was = moved.get(registry.name)
        if was is None:
            result.append(registry)
            continue
        if not read_only:
            raise ConfigError(
                f"{record.release} was published to {was} ({registry.name}); matrix.yaml "
                f"now names {registry.repository.name}",
                field="registries",
                hint="a release stays where it was published: "
                f"`{locations.command('verify', record.release)}` checks it there; publish new releases to the new "
                "repository, and copy older ones by digest if consumers need them there "
                "(their pins files name the old one)",
            )
        result.append(dataclasses.replace(registry, repository=parse_repository(was)))
    return tuple(result)


@dataclass(frozen=True)
class Candidate:
    """A line's index as the build records make it (digest None before the builds)."""

    php: str
    digest: str | None
    #: (platform, image manifest digest) in platform order
    images: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CopySource:
    """What the copies start from: the trees of the run's indexes and what each
    other registry holds of them (see ``copies_to_observe``).

    ``tree``: every manifest below the indexes to copy that some registry lacks
    (``deep``: below every index of the run), as the primary holds it (or as this
    run assembled it). ``targets``: registry
    name -> its repository. ``present``: per target, the digests (manifests and
    blobs) found there. ``deep``: ``tree`` holds every manifest below every index
    of the run and ``present`` every digest under them found on each registry
    (checked below a present index too): a registry holds an index only with all
    of it, and the copies restore what it lost.
    """

    tree: SourceTree
    targets: Mapping[str, Target]
    present: Mapping[Target, frozenset[str]]
    deep: bool = False

    def whole(self, name: str, digest: str) -> bool:
        """Registry ``name`` holds everything under the index ``digest`` (always
        True unless ``deep``: a present index counts as complete)."""
        if not self.deep or digest not in self.tree.manifests:
            return True
        found = self.present.get(self.targets[name], frozenset())
        return self.tree.below(digest) <= found


@dataclass(frozen=True)
class Observed:
    """What the registries hold, read once before planning.

    ``tags``: registry -> tag -> digest, for the tags of the scheme the plan
    needs (present tags only). ``indexes``: registry -> the candidate or pinned
    index digests present there. ``pinned_images``: PHP line -> the
    (platform, image digest) pairs of the index its pin points at on the primary.
    ``copies``: what the copies need (None: not looked into, then the plan has
    no transfer plan).
    """

    tags: Mapping[str, Mapping[str, str]]
    indexes: Mapping[str, frozenset[str]]
    pinned_images: Mapping[str, tuple[tuple[str, str], ...]] = dataclasses.field(
        default_factory=dict
    )
    copies: CopySource | None = None


@dataclass(frozen=True)
class LineAction:
    php: str
    #: the index this release's pins point at after the run (None: known after the builds)
    digest: str | None
    source: str
    #: push the assembled index to the primary (PENDING: once built)
    push: bool
    #: registries that lack the index, or part of it (what they lack is copied there
    #: by digest); PENDING: every other registry, once built
    copy_to: tuple[str, ...]
    #: what the line's pin pointed at before (a republish replaces it)
    previous: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A pin that holds other content than the run would write there: it refuses the run
    (a republish replaces it)."""

    message: str
    #: the pinned index lists images of platforms the release does not publish: a rerun
    #: of the release takes the same images from the pin and is refused the same way
    foreign: bool = False
    #: (registry, tag) of a pin on a registry but the primary that the primary lacks:
    #: publisher writes each pin there first, so no run of it left this one alone
    #: (``plan.placed_by_hand`` says the way out); None otherwise
    placed: tuple[str, str] | None = None


@dataclass(frozen=True)
class TagMove:
    registry: str
    tag: str
    old: str | None
    new: str | None
    kind: str  # "pin" | "floating"
    #: for a floating tag: the release whose content it carries
    source_release: str = ""

    @property
    def changes(self) -> bool:
        """The tag is written: created, or moved (a tag to create whose digest is
        known only after the builds is a change too)."""
        return self.old is None or self.old != self.new

    @property
    def effect(self) -> str:
        """What the run does to the tag, in words: created, moves, unchanged."""
        if self.old is None:
            return "created"
        if self.new is None:
            return "set after the builds"
        return "moves" if self.old != self.new else "unchanged"


@dataclass(frozen=True)
class PublishPlan:
    release: str
    stable: bool
    default_line: str
    republish: bool
    lines: tuple[LineAction, ...]
    pin_moves: tuple[TagMove, ...]
    floating_moves: tuple[TagMove, ...]
    conflicts: tuple[Conflict, ...]
    history: Republish | None
    #: how the indexes of ``copy_to`` reach those registries, blob by blob (None:
    #: the copies were not looked into)
    transfers: TransferPlan | None = None

    def line(self, php: str) -> LineAction:
        return next(line for line in self.lines if line.php == php)

    @property
    def changes(self) -> tuple[TagMove, ...]:
        return tuple(m for m in (*self.pin_moves, *self.floating_moves) if m.changes)

    @property
    def mutates(self) -> bool:
        return bool(self.changes) or any(a.push or a.copy_to for a in self.lines)

    def to_dict(self) -> dict[str, object]:
        """The plan as ``--dry-run --json`` prints it (README, "Publish plan JSON"). No
        ``conflicts``: a plan with any refuses its run before it is printed or executed.
        The history's changes are ``{php, old, new}`` objects, as the notes write them."""
        fields = dataclasses.asdict(self)
        del fields["conflicts"]
        fields["transfers"] = None if self.transfers is None else self.transfers.to_dict()
        if self.history is not None:
            # what gave each line new images is said once the run compared them, after
            # its plan (which a dry run prints before the builds)
            del fields["history"]["causes"]
            fields["history"]["changes"] = [
                {"php": php, "old": old, "new": new} for php, old, new in self.history.changes
            ]
        return {"schema": PUBLISH_PLAN_SCHEMA, **fields}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @property
    def digest(self) -> str:
        """sha256 of ``to_json()``: the notes record it, so a dry run's plan can be
        compared with the one the real run executed."""
        return sha256_digest(self.to_json().encode())


def floating_moves(
    registry: str,
    tags: Mapping[str, str],
    lines: Iterable[str],
    pending: Mapping[str, str | None] | None = None,
) -> list[TagMove]:
    """Where ``registry``'s floating tags must point, from its pins.

    ``tags`` maps the tags present to their digests (it must hold the digests of
    the floating tags and of their source pins); ``pending`` adds pins about to be
    written (None: a digest not known yet).
    """
    present: dict[str, str | None] = {**tags, **(pending or {})}
    wanted = planning.floating_tags(registry, present, lines)
    return [
        TagMove(
            registry, f.tag, tags.get(f.tag), present.get(f.source), "floating", f.source_release
        )
        for f in wanted
        if f.source in present
    ]


def _line_source(
    candidate: Candidate,
    pinned: str | None,
    pinned_images: tuple[tuple[str, str], ...] | None,
    republish: bool,
) -> tuple[str | None, str, str | None, bool]:
    """(digest, source, previous, conflict) for one line."""
    if candidate.digest is None:
        if pinned and not republish:
            return pinned, PUBLISHED, None, False
        # Before the builds: a republish replaces the pinned index with one not built yet.
        return None, PENDING, pinned, False
    if pinned is None or pinned == candidate.digest:
        return candidate.digest, ASSEMBLED, None, False
    if pinned_images is not None and sorted(pinned_images) == sorted(candidate.images):
        # The same platform images (the pinned index may carry attestations the
        # records do not): the release is already published with this content.
        return pinned, PUBLISHED, None, False
    if republish:
        return candidate.digest, REPLACED, pinned, False
    return candidate.digest, ASSEMBLED, pinned, True


#: The platform ``Observed.pinned_images`` gives an image whose index entry names none.
NO_PLATFORM = "unknown"


def foreign_images(
    pinned: tuple[tuple[str, str], ...] | None, built: tuple[tuple[str, str], ...]
) -> str:
    """``; its index also lists ...``: the images of the pinned index whose platform the
    build has none of (an image naming no platform said so, by its digest); "" for none."""
    platforms = {platform for platform, _ in built}
    extra = [
        f"{'an image with no platform' if platform == NO_PLATFORM else platform} ({digest})"
        for platform, digest in pinned or ()
        if platform not in platforms
    ]
    if not extra:
        return ""
    return f"; its index also lists {', '.join(extra)}, which this release does not publish"


@dataclass(frozen=True)
class _Lines:
    actions: tuple[LineAction, ...]
    conflicts: tuple[Conflict, ...]
    pin_moves: tuple[TagMove, ...]
    pending_pins: Mapping[str, Mapping[str, str | None]]


def _plan_lines(
    plan: planning.Plan,
    observed: Observed,
    candidates: Mapping[str, Candidate],
    primary: str,
    republish: bool,
) -> _Lines:
    """Each line's index, where it comes from and goes, its pin moves and conflicts."""
    registries = [r.name for r in plan.registries]
    primary_tags = observed.tags.get(primary, {})
    actions: list[LineAction] = []
    conflicts: list[Conflict] = []
    pending_pins: dict[str, dict[str, str | None]] = {name: {} for name in registries}
    pin_moves: list[TagMove] = []
    for line in plan.lines:
        pins = plan.pins(line.php)
        candidate = candidates.get(line.php, Candidate(line.php, None))
        pinned = primary_tags.get(pins[0])
        digest, source, previous, conflict = _line_source(
            candidate, pinned, observed.pinned_images.get(line.php), republish
        )
        if conflict:
            foreign = foreign_images(observed.pinned_images.get(line.php), candidate.images)
            conflicts.append(
                Conflict(
                    f"PHP {line.php}: {pins[0]} is {pinned} on {primary}, this build is "
                    f"{candidate.digest}{foreign}",
                    foreign=bool(foreign),
                )
            )
        # Secondary registries: a pin elsewhere pointing at other content is a conflict too.
        for name in registries:
            for tag in pins:
                old = observed.tags.get(name, {}).get(tag)
                if (
                    old is not None
                    and digest is not None
                    and old != digest
                    and not republish
                    and not (name == primary and tag == pins[0] and conflict)
                    and old != pinned
                ):
                    alone = name != primary and tag not in primary_tags
                    conflicts.append(
                        Conflict(
                            f"PHP {line.php}: {tag} is {old} on {name}, expected {digest}",
                            placed=(name, tag) if alone else None,
                        )
                    )
                pin_moves.append(TagMove(name, tag, old, digest, "pin", plan.release))
                pending_pins[name][tag] = digest
        # A registry holds the index once it holds all of it: one that lost a child or a
        # blob below it (seen by a deep observation) gets the missing pieces copied again.
        copies = observed.copies
        has = {
            name: digest in observed.indexes.get(name, frozenset())
            and (name == primary or digest is None or copies is None or copies.whole(name, digest))
            for name in registries
        }
        # A line still to build (PENDING) is pushed and copied once built, as the real run
        # does (it skips only an index a registry holds then, or the pinned one rebuilt).
        pending = source == PENDING
        push = pending or (source in (ASSEMBLED, REPLACED) and not has[primary])
        copy_to = tuple(
            name for name in registries if name != primary and (pending or not has[name])
        )
        actions.append(LineAction(line.php, digest, source, push, copy_to, previous))
    return _Lines(tuple(actions), tuple(conflicts), tuple(pin_moves), pending_pins)


def copies_to_observe(
    plan: planning.Plan,
    observed: Observed,
    candidates: Mapping[str, Candidate],
    *,
    primary: str,
    republish: bool = False,
    deep: bool = True,
) -> dict[str, list[str]]:
    """Per registry but the primary, the index digests of the run's lines: those it
    lacks, to copy there, and those it holds, to check whole (``deep=False``: only
    those it lacks, each index a registry holds taken as whole, as the copy step did
    before; ``bench/rerun_bench.py`` compares the two).

    The stage looks into these all the way down (``CopySource.deep``: their trees
    on the primary, which of their manifests and blobs each registry holds) and
    passes it as ``Observed.copies``, so that ``plan_publish`` can plan every blob
    and count a registry that lost part of an index as lacking it. A rerun with
    nothing to copy reads every manifest under the indexes on the primary and
    HEADs each of their manifests and blobs once per registry.
    """
    wanted: dict[str, list[str]] = {}
    for action in _plan_lines(plan, observed, candidates, primary, republish).actions:
        if action.digest is None:
            continue
        if not deep:
            for name in action.copy_to:
                wanted.setdefault(name, []).append(action.digest)
            continue
        for registry in plan.registries:
            if registry.name != primary:
                wanted.setdefault(registry.name, []).append(action.digest)
    return wanted


def transfers_for(
    actions: Iterable[LineAction], indexes: Mapping[str, frozenset[str]], copies: CopySource
) -> TransferPlan:
    """Every blob and manifest the ``copy_to`` of ``actions`` need, as one plan."""
    roots = list(dict.fromkeys(a.digest for a in actions if a.copy_to and a.digest))
    if not roots:
        return TransferPlan()
    unread = [r for r in roots if r not in copies.tree.manifests]
    if unread:
        raise ValueError(f"the copies were not looked into for {', '.join(unread)}")
    names = list(dict.fromkeys(name for a in actions if a.digest for name in a.copy_to))
    present = {
        copies.targets[name]: copies.present.get(copies.targets[name], frozenset())
        | indexes.get(name, frozenset())
        for name in names
    }
    tree = SourceTree(copies.tree.source, tuple(roots), copies.tree.manifests)
    return plan_transfers(tree, present, exact=copies.deep)


def plan_publish(
    plan: planning.Plan,
    observed: Observed,
    candidates: Mapping[str, Candidate],
    *,
    primary: str,
    record: ReleaseFacts | None = None,
    republish_reason: str | None = None,
    date: str = "",
) -> PublishPlan:
    """Every action of the publish run, in order; see the module docstring."""
    republish = republish_reason is not None
    registries = [r.name for r in plan.registries]
    lines_plan = _plan_lines(plan, observed, candidates, primary, republish)
    actions = lines_plan.actions

    floating: list[TagMove] = []
    lines = [line.php for line in plan.lines]
    for name in registries:
        floating += floating_moves(
            name, observed.tags.get(name, {}), lines, lines_plan.pending_pins[name]
        )

    history = None
    if republish:
        # What the release was: its record's index (a republish that died after moving
        # some pins left them on a build no record names), else what the pin held.
        earlier = {line.php: line.index_digest for line in record.lines} if record else {}
        was = {a.php: earlier.get(a.php) or a.previous for a in actions}
        changes = tuple(
            (a.php, old, a.digest)
            for a in actions
            if a.digest is not None and (old := was[a.php]) and old != a.digest
        )
        if changes:
            history = Republish(date=date, reason=republish_reason or "", changes=changes)

    transfers = None
    if observed.copies is not None:
        transfers = transfers_for(actions, observed.indexes, observed.copies)
    elif not any(a.copy_to and a.digest for a in actions):
        # (a line still to build has no blobs to count yet)
        transfers = TransferPlan()

    return PublishPlan(
        release=plan.release,
        stable=plan.stable,
        default_line=plan.default_line,
        republish=republish,
        lines=actions,
        pin_moves=lines_plan.pin_moves,
        floating_moves=tuple(floating),
        conflicts=lines_plan.conflicts,
        history=history,
        transfers=transfers,
    )


def floating_followed(
    plan: planning.Plan,
    tags_present: Mapping[str, Iterable[str]],
    recorded: Collection[str] = (),
) -> dict[str, dict[str, str]]:
    """Per registry, each floating tag -> the pin it should carry once this release's
    pins are written (``recorded``: the releases with a record, see ``plan.settled``)."""
    lines = [line.php for line in plan.lines]
    this = {tag for line in plan.lines for tag in plan.pins(line.php)}
    counted = planning.settled(tags_present, recorded)
    return {
        registry.name: {
            f.tag: f.source
            for f in planning.floating_tags(
                registry.name, counted.get(registry.name, set()) | this, lines
            )
        }
        for registry in plan.registries
    }


def tags_to_resolve(
    plan: planning.Plan,
    tags_present: Mapping[str, Iterable[str]],
    recorded: Collection[str] = (),
) -> dict[str, list[str]]:
    """Per registry, the tags whose digests ``plan_publish`` needs: this release's
    pins, the floating tags, and the pins the floating tags should carry
    (``recorded``: the releases with a record, see ``plan.settled``)."""
    pins = [tag for line in plan.lines for tag in plan.pins(line.php)]
    followed = floating_followed(plan, tags_present, recorded)
    result: dict[str, list[str]] = {}
    for registry in plan.registries:
        present = set(tags_present.get(registry.name, ()))
        follows = followed[registry.name]
        names = [*pins, *follows, *follows.values()]
        result[registry.name] = [t for t in dict.fromkeys(names) if t in present]
    return result


def pins_off_record(
    plan: planning.Plan, publish_plan: PublishPlan, record: ReleaseFacts | None
) -> list[str]:
    """The pins of a recorded release that point at other content than its record names
    (``"ghcr v1.0.0-php-8.3"``): moved by hand, which ``publisher audit --repair`` points
    back. Empty without a record, or when every pin present is the recorded index."""
    if record is None:
        return []
    recorded = {line.php: line.index_digest for line in record.lines}
    line_of = {tag: php for php in recorded for tag in plan.pins(php)}
    return [
        f"{move.registry} {move.tag}"
        for move in publish_plan.pin_moves
        if move.old is not None and move.tag in line_of and move.old != recorded[line_of[move.tag]]
    ]


def off_record_hint(
    release: str, pins: Sequence[str], locations: Locations = DEFAULT_LOCATIONS
) -> str:
    """The tip of a run refused for pins of a recorded release that point elsewhere than
    its record names (``moved_pins_tip``), which it left as they are."""
    return f"nothing was changed. {moved_pins_tip(release, pins, locations)}"


def moved_pins_tip(
    release: str, pins: Sequence[str], locations: Locations = DEFAULT_LOCATIONS
) -> str:
    """What to do about ``pins`` of a recorded release that point elsewhere than its record
    names (moved by hand), the one wording a refused run and ``verify`` give: the repair
    points them back; a republish replaces on purpose. The commands it names carry
    ``locations``, the run's."""
    one = len(pins) == 1
    return (
        f"{', '.join(pins)} {'points' if one else 'point'} at other "
        f"content than the release's record names (moved by hand?): "
        f"`{locations.command('audit', '--repair')}` points {'it' if one else 'them'} back "
        f"at the recorded {'index' if one else 'indexes'}; to replace the release's content "
        "on purpose, or to finish a republish that stopped before writing the record, run "
        f"`{locations.command('republish', release, '--reason ...')}`"
    )


def audit_repairs_image(locations: Locations = DEFAULT_LOCATIONS) -> str:
    """What restores an image (or another manifest) of a recorded release the primary
    lost, the command carrying ``locations``."""
    return (
        f"`{locations.command('audit', '--repair')}` copies it back, with any of its blobs "
        "the primary lacks, from a registry that holds it"
    )


#: What restores an image (or another manifest) of a recorded release the primary lost.
AUDIT_REPAIRS_IMAGE = audit_repairs_image()


def still_on(where: Sequence[str]) -> str:
    """`` (still on A, B)`` after what the primary lost: the registries ``where`` that
    hold it yet; nothing when none does."""
    return f" (still on {', '.join(where)})" if where else ""


def lost_image_hint(
    release: str,
    recorded: bool,
    lost: str = "the image",
    locations: Locations = DEFAULT_LOCATIONS,
) -> str:
    """The tip for an image (or another manifest, ``lost``: an attestation manifest)
    the primary lost from under a release's index: the copies to the other registries
    start from the primary, so it is put back first."""
    back = (
        audit_repairs_image(locations)
        if recorded
        else "copy it back by digest from a registry that holds it (`skopeo copy --all "
        "--preserve-digests docker://OTHER-HOST/REPOSITORY@DIGEST "
        "docker://HOST/REPOSITORY@DIGEST`)"
    )
    return (
        f"nothing was written; the copies to the other registries start from the primary, "
        f"so it needs {lost} back first: {back}, then rerun "
        f"(`{locations.command('verify', release)}` names every registry that lacks it); "
        "if none holds it, replace the content: "
        f"`{locations.command('republish', release, REASON)}`"
    )


def lost_blob_hint(
    release: str, said: str = "nothing was written", locations: Locations = DEFAULT_LOCATIONS
) -> str:
    """The tip for a blob (a config or a layer) the primary lost from under an image of
    a release that it still holds: neither a rerun (the copies start from the primary)
    nor ``audit --repair`` (it reads manifests, and copies back the images a registry
    lacks) restores it; a copy of the index by digest from a registry that holds it
    complete does."""
    return (
        f"{said}; the copies to the other registries start from the primary, so it needs "
        f"the blob back first, and `{locations.command('audit', '--repair')}` does not "
        "restore it (it copies "
        "back images a registry lacks, not a blob of one it holds): copy the index again "
        "by digest from a registry that holds it complete, which uploads what the primary "
        "lacks (`skopeo copy --all --preserve-digests docker://OTHER-HOST/REPOSITORY@DIGEST "
        f"docker://HOST/REPOSITORY@DIGEST`), then rerun "
        f"(`{locations.command('verify', release)}` names every registry that lacks it); "
        "if none holds it, replace the content: "
        f"`{locations.command('republish', release, REASON)}`"
    )


def started_default_line(plan: planning.Plan, publish_plan: PublishPlan) -> str | None:
    """The default line an earlier, unfinished run of the release wrote ``vX.Y.Z`` for,
    when it is not the plan's (default_line changed before the rerun): the line whose
    pin holds what the release's bare tag holds on some registry; else None."""
    for move in publish_plan.pin_moves:
        if move.tag != plan.release or move.old is None or move.old == move.new:
            continue
        for line in plan.lines:
            pin = plan.pins(line.php)[0]
            if line.php != plan.default_line and any(
                m.registry == move.registry and m.tag == pin and m.old == move.old
                for m in publish_plan.pin_moves
            ):
                return line.php
    return None


def pins_apart_after(
    publish_plan: PublishPlan, tags_present: Mapping[str, Iterable[str]]
) -> list[str]:
    """The registries that would hold only some of the release's pins once the run wrote
    its own (``tags_present``: registry -> every tag there before the run), each in words
    with the pins it would lack; empty when every registry holding any holds them all.

    Such a release counts nowhere (``plan.settled``), as one that died while writing them
    does: no floating tag would follow it, or they would go back to an older release,
    after a run that wrote only some of its lines (``--only``) on a registry added to the
    matrix later. A release without its ``vX.Y.Z`` (a rehearsal leaving out the default
    line) counts nowhere anyway and is not judged.
    """
    release = publish_plan.release
    after = {name: set(tags) for name, tags in tags_present.items()}
    for move in publish_plan.pin_moves:
        after.setdefault(move.registry, set()).add(move.tag)
    held = {
        name: {
            t
            for t in tags
            if (parsed := planning.parse_scheme_tag(t)) and parsed.release.tag == release
        }
        for name, tags in after.items()
    }
    held = {name: pins for name, pins in held.items() if pins}
    every = set().union(*held.values()) if held else set()
    if release not in every:
        return []
    return [
        f"{name} would lack {', '.join(sorted(every - pins))}"
        for name, pins in held.items()
        if pins != every
    ]


@dataclass(frozen=True)
class Moved:
    """After a repository move: the recorded releases whose record places them in
    another repository of a registry than the run's (``elsewhere``: registry -> those
    releases), and every registry's tags the floating tags follow (``counted``: its
    settled tags, with the run's own pins). Two registries are compared on the releases
    both of their repositories hold, as ``audit`` compares them: a backport from a
    branch whose matrix.yaml names a registry's old repository finds ``latest`` there on
    the newest release published before the move, and on a newer one elsewhere."""

    elsewhere: Mapping[str, frozenset[str]]
    counted: Mapping[str, frozenset[str]]
    lines: tuple[str, ...]

    def _follows(self, registry: str, without: Collection[str]) -> dict[str, str]:
        """Each floating tag of ``registry`` -> the release it follows, leaving out the
        pins of the releases ``without``."""
        tags = {
            t
            for t in self.counted.get(registry, ())
            if not ((parsed := planning.parse_scheme_tag(t)) and parsed.release.tag in without)
        }
        return {f.tag: f.source_release for f in planning.floating_tags(registry, tags, self.lines)}

    def explains(self, tag: str, targets: Mapping[str, tuple[str | None, str] | None]) -> bool:
        """Whether the move explains why ``tag`` would carry different content on the
        registries of ``targets`` (registry -> (digest, release it follows), None: no such
        tag there): every two that differ follow different releases, and the same one
        (or none) once the releases either repository does not hold are left out."""
        names = list(targets)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                here, there = targets[a], targets[b]
                if here == there:
                    continue
                if here is not None and there is not None and here[1] == there[1]:
                    return False  # one release, two contents: no move explains that
                without = self.elsewhere.get(a, frozenset()) | self.elsewhere.get(b, frozenset())
                if not without:
                    return False
                if self._follows(a, without).get(tag) != self._follows(b, without).get(tag):
                    return False
        return True


def floating_disagreements(publish_plan: PublishPlan, moved: Moved | None = None) -> list[str]:
    """The floating tags the plan would point at different content on different
    registries: the registries do not hold the same releases (one added to the
    matrix later, a pin moved by hand, a run that died half-way). A tag on which
    they differ only by releases recorded in another repository (``moved``) is left
    out: each registry's floating tags follow the releases its repository holds."""
    # in matrix.yaml's order (the primary first), as every message lists registries
    registries = list(
        dict.fromkeys(m.registry for m in (*publish_plan.pin_moves, *publish_plan.floating_moves))
    )
    wanted: dict[str, dict[str, TagMove]] = {}
    for move in publish_plan.floating_moves:
        wanted.setdefault(move.tag, {})[move.registry] = move
    found = []
    for tag, where in sorted(wanted.items()):
        targets = {name: where.get(name) for name in registries}
        if len({(m.new, m.source_release) if m else None for m in targets.values()}) <= 1:
            continue
        if moved is not None and moved.explains(
            tag, {name: (m.new, m.source_release) if m else None for name, m in targets.items()}
        ):
            continue
        found.append(
            f"{tag} would point at "
            + "; ".join(
                f"{m.source_release or 'its pin'} ({short_digest(m.new, 'set after the builds')}) "
                f"on {name}"
                if m
                else f"nothing on {name} (it holds no stable release)"
                for name, m in targets.items()
            )
        )
    return found


#: One floating tag's move on one registry, as ``platforms_lost`` judges it: (registry,
#: tag, the release it leaves, that index's platforms, the release it moves to, that
#: index's platforms).
FloatingLoss = tuple[str, str, str, Collection[str], str, Collection[str]]


def platforms_lost(
    plan: planning.Plan,
    publish_plan: PublishPlan,
    known: Mapping[str, tuple[str, Collection[str]]],
) -> list[str]:
    """The floating tags (``php-X.Y``, ``latest``) the plan moves from an index listing a
    platform to one that lacks it, in words (``lost_words``). ``known``: index digest ->
    (its release, its platforms), from the records; a tag whose index now is none of
    them is not judged. The index it moves to is this release's line (its platforms as
    the plan says, known before the builds), else one ``known`` names."""
    this = {line.php: {p.value for p in line.platforms} for line in plan.lines}
    moves: list[FloatingLoss] = []
    for move in publish_plan.floating_moves:
        if not move.changes or move.old is None or move.old not in known:
            continue
        left, had = known[move.old]
        if move.source_release == plan.release:
            now = this.get(_line_of(plan, move.tag))
        else:
            now = set(known[move.new][1]) if move.new is not None and move.new in known else None
        if now is not None:
            moves.append((move.registry, move.tag, left, had, move.source_release, now))
    return lost_words(plan, moves)


def followed_before(
    plan: planning.Plan,
    tags_present: Mapping[str, Iterable[str]],
    recorded: Collection[str] = (),
) -> set[str]:
    """The releases the floating tags of the plan's lines follow on some registry before
    this release's pins count there (``recorded``: see ``plan.settled``): those whose
    indexes the floating tags it moves leave."""
    lines = [line.php for line in plan.lines]
    this = {tag for line in plan.lines for tag in plan.pins(line.php)}
    return {
        f.source_release
        for name, tags in planning.settled(tags_present, recorded).items()
        for f in planning.floating_tags(name, tags - this, lines)
    }


def platforms_lost_planned(
    plan: planning.Plan,
    existing: Mapping[str, Iterable[str]],
    platforms_of: Callable[[str, str], Collection[str] | None],
) -> list[str]:
    """``platforms_lost`` of an offline plan (``publisher plan --existing``): each floating
    tag the release takes, from the release it follows among ``existing`` (registry ->
    tags) before; ``platforms_of(release, tag)``: the platforms of the index ``tag`` would
    carry in that published release, from its record (None: not judged)."""
    this = {line.php: {p.value for p in line.platforms} for line in plan.lines}
    lines = [line.php for line in plan.lines]
    moves: list[FloatingLoss] = []
    for name, tags in planning.settled(existing).items():
        before = {f.tag: f.source_release for f in planning.floating_tags(name, tags, lines)}
        for f in plan.floating_for(name):
            left = before.get(f.tag)
            now = this.get(_line_of(plan, f.tag))
            if not f.this_release or left is None or left == f.source_release or now is None:
                continue
            had = platforms_of(left, f.tag)
            if had is not None:
                moves.append((name, f.tag, left, had, f.source_release, now))
    return lost_words(plan, moves)


def _line_of(plan: planning.Plan, tag: str) -> str:
    """The line of this release the floating ``tag`` follows."""
    return plan.default_line if tag == planning.LATEST else tag[len("php-") :]


def lost_words(plan: planning.Plan, moves: Iterable[FloatingLoss]) -> list[str]:
    """Of ``moves``, each that leaves an index listing a platform for one that lacks it,
    in words, one per tag, releases and platforms lost (with the registries): the tag's
    consumers on those platforms lose their image. A release may narrow a line's
    platforms on purpose, so this is said, never refused."""
    found: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
    for registry, tag, left, had, new, now in moves:
        lost = tuple(sorted(set(had) - set(now)))
        if lost and left != new:
            found.setdefault((tag, left, new, lost), []).append(registry)
    said = []
    for (tag, left, new, lost), where in found.items():
        them = "it" if len(lost) == 1 else "them"
        text = (
            f"{tag} leaves {left}, whose index lists {', '.join(lost)}, for {new}, whose "
            f"index lacks {them} (on {', '.join(where)}): consumers of {tag} on "
            f"{', '.join(lost)} get no image from it once it moves"
        )
        if new == plan.release:
            text += (
                f"; a release may narrow a line's platforms on purpose, else add {them} to "
                f"PHP {_line_of(plan, tag)}'s platforms in matrix.yaml before publishing {new}"
            )
        said.append(text)
    return said


def release_tags_apart(
    registry: str, tags: Mapping[str, str], releases: Iterable[str]
) -> list[tuple[str, str]]:
    """Of ``releases`` (those the floating tags of ``registry`` follow), each whose
    ``vX.Y.Z`` there points at none of its ``vX.Y.Z-php-A.B`` pins (``tags``: tag ->
    digest, holding them), in words: a republish stopped while rewriting them (it writes
    ``vX.Y.Z`` after the other pins), so ``latest`` and ``php-A.B`` would carry two
    builds of one line. A release whose ``vX.Y.Z`` is not there is not judged. Each as
    (release, in words)."""
    found = []
    for release in sorted(set(releases), key=parse_release):
        digest = tags.get(release)
        pins = {
            d
            for t, d in tags.items()
            if (parsed := planning.parse_scheme_tag(t))
            and parsed.php
            and parsed.release.tag == release
        }
        if digest is not None and pins and digest not in pins:
            found.append(
                (
                    release,
                    f"{registry}: {release} is {short_digest(digest)}, which none of its "
                    "vX.Y.Z-php-A.B pins there holds",
                )
            )
    return found


def rewritten_halfway(publish_plan: PublishPlan) -> list[str]:
    """The releases whose pins every registry holds by name but not with the same
    content, as the plan's floating tags show them: a republish that stopped while
    rewriting them (a release that stopped while writing them is told by the names)."""
    registries = {m.registry for m in publish_plan.pin_moves} | {
        m.registry for m in publish_plan.floating_moves
    }
    wanted: dict[str, dict[str, TagMove]] = {}
    for move in publish_plan.floating_moves:
        wanted.setdefault(move.tag, {})[move.registry] = move
    found = {
        next(iter(where.values())).source_release
        for where in wanted.values()
        if set(where) == registries
        and len({m.source_release for m in where.values()}) == 1
        and None not in {m.new for m in where.values()}
        and len({m.new for m in where.values()}) > 1
    }
    return sorted(found, key=parse_release)


def registries_behind(
    tags_present: Mapping[str, Collection[str]], recorded: Collection[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """Per registry that holds none of the pins of a recorded release another registry
    holds (one added to the matrix later holds only what was written there since): those
    releases, and the floating tags the other registries carry that it lacks. A run writes
    only its own release and the floating tags of its lines; `audit --repair` fills the rest."""
    held: dict[str, set[str]] = {}
    for name, tags in tags_present.items():
        held[name] = {
            parsed.release.tag
            for tag in tags
            if (parsed := planning.parse_scheme_tag(tag)) and parsed.release.tag in recorded
        }
    every = set().union(*held.values()) if held else set()
    floating = {t for tags in tags_present.values() for t in tags if planning.is_floating_tag(t)}
    result = {}
    for name, tags in tags_present.items():
        missing = sorted(every - held[name], key=parse_release)
        if missing:
            lacks = sorted(floating - set(tags))
            result[name] = (missing, lacks)
    return result


def tag_differences(found: Mapping[str, Mapping[str, str | None]]) -> list[str]:
    """Each tag the registries (name -> tag -> digest) disagree on, in words:
    ``latest: dockerhub sha256:0123456789ab…, ghcr (absent)``, sorted by tag."""

    tags = sorted({tag for tags in found.values() for tag in tags})
    differ = []
    for tag in tags:
        seen = {name: tags.get(tag) for name, tags in found.items()}
        if len(set(seen.values())) > 1:
            differ.append(f"{tag}: " + ", ".join(f"{n} {short_digest(d)}" for n, d in seen.items()))
    return differ
