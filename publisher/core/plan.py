"""Release planning: which image gets which tags on which registry.

``plan(config, release, existing)`` is pure: the same inputs give the same
frozen Plan and byte-identical ``to_json()``.

The tag scheme, for release ``vX.Y.Z`` and PHP line ``A.B``:

* ``vX.Y.Z-php-A.B`` -- the release pin for that line; written by every release.
* ``vX.Y.Z`` -- the release pin for the default line.
* ``php-A.B`` -- floating: the highest *stable* ``v*-php-A.B`` pin on the registry.
* ``latest`` -- floating: the content of the highest *stable* ``vX.Y.Z`` tag.

Floating tags are derived from the pin tags that exist (plus this release), never
from memory of earlier runs: any run can recompute them, a prerelease or a
backport never moves them backwards, and two concurrent runs converge. Only
*settled* pins count (``settled``): when the registries holding a release's pins
do not all hold the same ones, the release died while writing them, and no
floating tag follows it until a rerun finishes it; ``vX.Y.Z`` is written last
on each registry, so a registry lacking it has not got them all. ``latest``
follows the ``vX.Y.Z`` tags rather than the current default line so that a
backport built with an older default line cannot pull it back.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from ..resolve import is_php_line, php_line_order, release_lines, sha256_digest, split_pin_tag
from ..resolve import pin_tag as resolve_pin_tag
from . import lifecycle
from .config import ENV_LINES, Config
from .errors import ConfigError, InvalidVersionError, shown_field
from .locations import DEFAULT as DEFAULT_LOCATIONS
from .locations import REASON, Locations
from .platforms import Platform
from .version import Release, parse_release

LATEST = "latest"
PLAN_SCHEMA = 1


def pin_tag(release: Release, php: str) -> str:
    return resolve_pin_tag(release.tag, php)


def release_pins(release: str, php: str, default_line: str) -> tuple[str, ...]:
    """The pin tags (never floating) release ``release`` owns for ``php``.

    ``vX.Y.Z-php-A.B`` for every line, plus ``vX.Y.Z`` itself on the default line:
    the one rule the plan, the release record and the publish stage share.
    """
    pin = resolve_pin_tag(release, php)
    return (pin, release) if php == default_line else (pin,)


def selected_pins(config: Config, release: Release) -> tuple[str, ...]:
    """Every pin tag ``release`` writes for the selected lines, in line order."""
    return tuple(
        tag
        for line in config.lines
        for tag in release_pins(release.tag, line.php, config.default_line)
    )


def line_tag(php: str) -> str:
    return f"php-{php}"


def scheme_tags(releases: Iterable[str], lines: Iterable[str]) -> list[str]:
    """The tags of the scheme ``releases`` and ``lines`` can have: each release's
    ``vX.Y.Z`` and its pins, then ``latest`` and each line's ``php-X.Y``. A registry that
    does not list tags is asked for these one by one (``stages.parallel.listed_tags``)."""
    names = list(dict.fromkeys(lines))
    tags = [
        tag
        for release in dict.fromkeys(releases)
        for php in names
        for tag in release_pins(release, php, php)
    ]
    return list(dict.fromkeys([*tags, LATEST, *(line_tag(php) for php in names)]))


def either(names: Iterable[str]) -> str:
    """Registry names as a message offers them, ``hub or ghcr``: each once, in the order
    given, which is matrix.yaml's (the primary first) as every message lists registries,
    never sorted (``ghcr or hub`` would put a secondary before the primary)."""
    return " or ".join(dict.fromkeys(names))


def in_matrix_order(names: Iterable[str], order: Iterable[str]) -> list[str]:
    """``names``, each once, in ``order`` (matrix.yaml's registries, the primary first) as
    every message lists registries, never sorted by name; a name ``order`` lacks (a
    registry a record names that matrix.yaml no longer has) after them, as given."""
    rank = {name: i for i, name in enumerate(dict.fromkeys(order))}
    return sorted(dict.fromkeys(names), key=lambda name: rank.get(name, len(rank)))


@dataclass(frozen=True)
class Started:
    """The lines of a release without a record whose pins the primary holds (``lines``:
    an earlier run of it wrote them), fewer than the lines a rerun of it without --only
    would build (``matrix``): the earlier run may have been narrowed (``--only``), and a
    rerun given every line adds the others to it for good (a published release keeps its
    lines). ``whole``: the primary holds ``vX.Y.Z`` too, which publisher writes there after
    every other pin of the run, so ``lines`` are all of that run's; else it stopped while
    writing them, and had those lines or more."""

    release: str
    lines: tuple[str, ...]
    whole: bool
    matrix: tuple[str, ...]

    @property
    def added(self) -> tuple[str, ...]:
        """The lines a rerun without --only would add: ``matrix``'s that the primary
        holds no pin of."""
        return tuple(php for php in self.matrix if php not in self.lines)

    @property
    def only(self) -> tuple[str, str]:
        """The ``--only`` that reruns the lines the primary holds."""
        return ("--only", ",".join(self.lines))


def started_with(
    release: str, primary_tags: Iterable[str], matrix: Iterable[str]
) -> Started | None:
    """What the primary's tags (``primary_tags``) say of the lines an earlier run of
    ``release`` (which has no record) was given, against ``matrix``, the lines a rerun of
    it without --only would build: a ``Started`` when the primary holds pins of some of
    them only; None when it holds none (nothing was started) or every one. The one reading
    that audit's findings, verify's tip and ``release`` (``refuse_lines_added``) share."""
    tags = list(primary_tags)
    lines = release_lines(tags, release)
    wanted = tuple(sorted(dict.fromkeys(matrix), key=php_line_order))
    if not lines or all(php in lines for php in wanted):
        return None
    return Started(release, lines, release in tags, wanted)


def as_started(config: Config, started: Started | None) -> Config:
    """``config`` (a check's: verify's lines) without the lines the run that published a
    release without a record was not given: when the primary holds ``vX.Y.Z``
    (``started.whole``), that run was narrowed to ``started.lines``, so the others are
    expected absent, as the rerun its tip names (``rerun_release``) leaves them; as it is
    otherwise, or when it keeps none of them (a check of a line that run left out)."""
    if started is None or not started.whole:
        return config
    kept = tuple(php for php in config.line_names if php in started.lines)
    return config.select(kept) if kept else config


def rerun_release(
    release: str,
    locations: Locations = DEFAULT_LOCATIONS,
    started: Started | None = None,
) -> str:
    """What finishes a release that stopped before its end (some pins written, or no
    record): its rerun, as verify's tip and audit's finding say it, with the location
    options of the run that says it (``locations``). ``started`` (``started_with``): the
    primary holds pins of fewer lines than a rerun would build, so the rerun is named with
    the ``--only`` of those lines, and what it would add without it."""
    plain = locations.command("release", release)
    if started is None or not started.added:
        return f"rerun the release (`{plain}`)"
    narrowed = locations.command("release", release, *started.only)
    held = f"PHP {', '.join(started.lines)}"
    added = f"PHP {', '.join(started.added)} to it for good, as a published release keeps its lines"
    if started.whole:
        return (
            f"rerun the release as it was run, on {held} alone (`{narrowed}`: the primary "
            f"holds {release} and the pins of {held} only, so its run was narrowed to them; "
            f"without --only the rerun would add {added})"
        )
    return (
        f"rerun the release as it was run: `{plain}` if it was given every line, else with "
        f"its --only (`{narrowed}` if it was narrowed to {held}, the lines whose pins the "
        f"primary holds so far: it stopped while writing them; without --only the rerun "
        f"would add {added})"
    )


def wait_for_run(release: str) -> str:
    """Said beside the advice to run ``release`` where what is seen may be a run of it
    still under way (nothing published yet, its pins written part of the way, its record
    not written yet), as verify's tip and audit's findings say it: a second run of it
    started meanwhile, of other builds, is refused, or refuses the first."""
    return (
        f"if a run of {release} is in progress (the workflow, another maintainer), wait "
        "for it to end first"
    )


def placed_by_hand(
    release: str,
    registry: str,
    tags: Sequence[str],
    primary: str,
    locations: Locations = DEFAULT_LOCATIONS,
) -> str:
    """The way out of ``release``'s pins ``tags`` on ``registry`` (not the primary) that no
    publisher run left there as they are: the primary (named by ``primary``) holds none of
    them, or their images were built for other pins. publisher writes each pin on the
    primary first, then the same index on the others: deleted by hand, the release writes
    them anew. A registry that deletes by digest takes the other tags on the same image
    with them, which ``audit --repair`` puts back for the recorded releases. For a tip:
    ``release``, ``republish`` (nothing to republish) and ``audit`` all say it."""
    one = len(tags) == 1
    them = "it" if one else "them"
    return (
        f"publisher writes each pin on {primary} first, then the same index on the other "
        f"registries, so no run of it left {', '.join(tags)} on {registry} as "
        f"{'it is' if one else 'they are'} (copied there by hand?): delete {them} from "
        f"{registry} by hand (a registry that deletes by digest takes the other tags on the "
        f"same image with {them}, which `{locations.command('audit', '--repair')}` puts "
        f"back for the recorded releases), then run `{locations.command('release', release)}`"
    )


def is_floating_tag(tag: str) -> bool:
    """``latest`` or a line's ``php-X.Y``: the tags a release moves, never its own pins."""
    return tag == LATEST or (tag.startswith("php-") and is_php_line(tag[len("php-") :]))


@dataclass(frozen=True, order=True)
class ParsedTag:
    """A tag recognized as part of the scheme."""

    release: Release
    php: str | None  # None for the bare ``vX.Y.Z`` release tag


def parse_scheme_tag(tag: str) -> ParsedTag | None:
    """Classify ``tag`` as a pin (``v…-php-A.B``) or release tag (``v…``); else None."""
    pin = split_pin_tag(tag)
    try:
        if pin:
            return ParsedTag(parse_release(pin[0]), pin[1])
        return ParsedTag(parse_release(tag), None)
    except InvalidVersionError:
        return None


def settled(
    existing: Mapping[str, Iterable[str]], recorded: Collection[str] = ()
) -> dict[str, set[str]]:
    """Per registry, its tags less the pins of releases that did not finish writing them.

    A release's pins count when every registry that holds any of them holds the
    same ones, its ``vX.Y.Z`` among them: a release that died while writing them
    is followed by no floating tag on any registry. The publish stage writes each
    registry's ``vX.Y.Z`` after its other pins there, the primary's first, so
    ``vX.Y.Z`` says that registry holds them all, and a registry with more of the
    pins than another (the primary, written first) is not followed either. A
    release without ``vX.Y.Z`` (a rehearsal leaving out the default line) moves
    no floating tag. A registry that holds none of a release's pins (one added to the
    matrix later, or one the run died before reaching) does not hold it back:
    the publish stage then finds its floating tags pointing apart and refuses
    before writing any (``publish_plan.floating_disagreements``).

    A ``recorded`` release (one with a record: it finished once) counts on each registry
    holding its ``vX.Y.Z``, whatever another holds: a later run that died while writing
    its pins to a registry added since leaves that registry with some of them, and the
    others' floating tags must not go back to an older release for it (that registry's
    then point elsewhere, which the publish stage refuses).
    """
    held = {name: set(tags) for name, tags in existing.items()}
    release_of = {
        tag: parsed.release.tag
        for tags in held.values()
        for tag in tags
        if (parsed := parse_scheme_tag(tag))
    }
    # One pass over each registry's tags, grouped by release: never a pass per release,
    # which years of releases (thousands of tags) would make quadratic.
    grouped: dict[str, dict[str, set[str]]] = {}
    for name, tags in held.items():
        for tag in tags:
            if (release := release_of.get(tag)) is not None:
                grouped.setdefault(release, {}).setdefault(name, set()).add(tag)
    pins = {
        release: {name: frozenset(tags) for name, tags in where.items()}
        for release, where in grouped.items()
    }
    finished = {
        release
        for release, where in pins.items()
        if len(set(where.values())) == 1 and release in next(iter(where.values()))
    }
    return {
        name: {
            t
            for t in tags
            if t not in release_of
            or release_of[t] in finished
            or (release_of[t] in recorded and release_of[t] in tags)
        }
        for name, tags in held.items()
    }


@dataclass(frozen=True)
class FloatingTag:
    """A floating tag on one registry and the pin tag whose content it should carry."""

    registry: str
    tag: str
    source: str
    source_release: str
    this_release: bool


@dataclass(frozen=True)
class Target:
    """The tags one line's image gets from this release on one registry."""

    registry: str
    repository: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LinePlan:
    php: str
    platforms: tuple[Platform, ...]
    base: str
    dockerfile: str
    size_budget_bytes: int
    extensions: tuple[str, ...]
    pin: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class RegistryPlan:
    name: str
    repository: str
    primary: bool


@dataclass(frozen=True)
class Plan:
    release: str
    stable: bool
    default_line: str
    registries: tuple[RegistryPlan, ...]
    lines: tuple[LinePlan, ...]
    floating: tuple[FloatingTag, ...]

    def line(self, php: str) -> LinePlan:
        return next(line for line in self.lines if line.php == php)

    def pins(self, php: str) -> tuple[str, ...]:
        """The pin tags (never floating) this release writes for ``php``."""
        return release_pins(self.release, php, self.default_line)

    def floating_for(self, registry: str) -> tuple[FloatingTag, ...]:
        return tuple(f for f in self.floating if f.registry == registry)

    def to_dict(self) -> dict[str, object]:
        return {"schema": PLAN_SCHEMA, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @property
    def digest(self) -> str:
        """sha256 of ``to_json()``, recorded in the notes as ``plan_sha256``."""
        return sha256_digest(self.to_json().encode())


def floating_tags(
    registry: str,
    tags: Iterable[str],
    lines: Iterable[str],
) -> tuple[FloatingTag, ...]:
    """Where each floating tag should point, given every tag present on ``registry``.

    ``lines`` are the PHP lines whose ``php-A.B`` tag to compute. ``latest`` is
    computed when any stable ``vX.Y.Z`` tag is present.
    """
    best_line: dict[str, Release] = {}
    best_release: Release | None = None
    for tag in tags:
        parsed = parse_scheme_tag(tag)
        if parsed is None or not parsed.release.is_stable:
            continue
        if parsed.php is None:
            if best_release is None or best_release < parsed.release:
                best_release = parsed.release
        elif parsed.php not in best_line or best_line[parsed.php] < parsed.release:
            best_line[parsed.php] = parsed.release
    result = []
    for php in lines:
        if php in best_line:
            release = best_line[php]
            result.append(
                FloatingTag(registry, line_tag(php), pin_tag(release, php), release.tag, False)
            )
    if best_release is not None:
        result.append(FloatingTag(registry, LATEST, best_release.tag, best_release.tag, False))
    return tuple(result)


def dropped_lines(
    release: Release, tags: Iterable[str], lines: Collection[str]
) -> tuple[Release | None, list[str]]:
    """The newest stable release among ``tags`` (a registry's, or plan's ``--existing``)
    and the lines it has (its pins among ``tags``) that ``lines`` lacks, when a stable
    ``release`` newer than every other one drops them (pure); (None, []) for a prerelease,
    a backport, or none given."""
    if not release.is_stable:
        return None, []
    held = set(tags)
    newest: Release | None = None
    for tag in held:
        parsed = parse_scheme_tag(tag)
        if parsed is None or parsed.php is not None or not parsed.release.is_stable:
            continue
        if parsed.release.tag != release.tag and (newest is None or newest < parsed.release):
            newest = parsed.release
    if newest is None or release < newest:
        return None, []
    dropped = sorted(
        (
            parsed.php
            for tag in held
            if (parsed := parse_scheme_tag(tag)) is not None
            and parsed.release.tag == newest.tag
            and parsed.php is not None
            and parsed.php not in lines
        ),
        key=php_line_order,
    )
    return newest, dropped


def lines_left_behind(
    release: Release,
    tags: Iterable[str],
    lines: Collection[str],
    locations: Locations = DEFAULT_LOCATIONS,
) -> list[str]:
    """What a stable ``release`` newer than every stable release among ``tags`` leaves
    behind (``dropped_lines``, pure): for each line the newest of those has and ``lines``
    lacks, the words saying that ``php-X.Y`` stays on that pin, and that
    ``republish-check``, which looks at the newest stable release, no longer offers the
    line for a rebuild; [] for a prerelease, a backport, or when it drops no line. The
    commands it names carry ``locations``, the run's."""
    newest, dropped = dropped_lines(release, tags, lines)
    if newest is None:
        return []
    check = locations.command("republish-check")
    return [
        f"{release.tag} has no PHP {php}, which {newest.tag}, the newest stable release until "
        f"now, has: {line_tag(php)} stays on {pin_tag(newest, php)}, and `{check}`, which "
        f"looks at the newest stable release, no longer offers PHP {php} for a rebuild; a "
        "release or a republish "
        f"(`{locations.command('republish', newest.tag, REASON, '--only', php)}`) from a "
        f'checkout whose matrix.yaml has the line still moves {line_tag(php)} (README "PHP '
        'lifecycle")'
        for php in dropped
    ]


def unfinished_above(
    release: Release,
    existing: Mapping[str, Iterable[str]],
    recorded: Collection[str] = (),
    locations: Locations = DEFAULT_LOCATIONS,
    *,
    primary: str | None = None,
    matrix: Iterable[str] = (),
) -> list[str]:
    """For each stable release newer than ``release`` (a stable one) with pins on a
    registry that no floating tag follows (``settled`` leaves them out: no record, and not
    every registry holds them with its ``vX.Y.Z``), the words naming it: a run that stopped,
    or one still writing them; ``latest`` and ``php-X.Y`` follow ``release`` or another
    finished one meanwhile. [] for a prerelease, which moves no floating tag. Pins on
    another registry than ``primary`` (its name, when given) that the primary lacks were
    left by no run (it writes each pin on the primary first): their deletion by hand is
    named (``placed_by_hand``), not the release's rerun. ``matrix``: the lines a rerun
    without --only would build; when the primary holds pins of fewer of them
    (``started_with``), the rerun named is given the --only of those (``rerun_release``)."""
    if not release.is_stable:
        return []
    counted = settled(existing, recorded)
    held: dict[Release, dict[str, set[str]]] = {}
    for name, tags in existing.items():
        for tag in set(tags) - counted.get(name, set()):
            parsed = parse_scheme_tag(tag)
            if parsed is None or parsed.release.tag in recorded:
                continue
            if parsed.release.is_stable and release < parsed.release:
                held.setdefault(parsed.release, {}).setdefault(name, set()).add(tag)
    on_primary = set(existing.get(primary, ())) if primary is not None else set()
    wanted = tuple(matrix)

    def way_out(newer: Release, where: Mapping[str, set[str]]) -> str:
        alone = {
            name: sorted(tags - on_primary)
            for name, tags in sorted(where.items())
            if primary is not None and name != primary and tags - on_primary
        }
        if alone:
            return "; ".join(
                placed_by_hand(newer.tag, name, tags, primary or "", locations)
                for name, tags in alone.items()
            )
        started = started_with(newer.tag, on_primary, wanted) if primary is not None else None
        if started is not None:
            return (
                f"if no run of {newer.tag} is going, {rerun_release(newer.tag, locations, started)}"
            )
        return (
            f"if no run of {newer.tag} is going, "
            f"`{locations.command('release', newer.tag)}` finishes it"
        )

    return [
        f"{newer.tag} did not finish writing its pins ("
        + "; ".join(
            f"{name} holds {', '.join(sorted(tags))}" for name, tags in sorted(where.items())
        )
        + f"; it has no record): no floating tag follows it, so `latest` and `php-X.Y` "
        f"follow finished releases such as {release.tag} meanwhile; {way_out(newer, where)}"
        for newer, where in sorted(held.items())
    ]


def _default_line_lacks(config: Config) -> list[str] | None:
    """The platforms other lines of ``config`` are built for and its default line is not,
    sorted (None: the default line is not among the selected lines)."""
    default = next((line for line in config.lines if line.php == config.default_line), None)
    if default is None:
        return None
    others = {p for line in config.lines for p in line.platforms}
    return sorted(p.value for p in others - set(default.platforms))


def default_line_gap(config: Config, *, upcoming: Config | None = None) -> str | None:
    """What ``latest`` and ``vX.Y.Z`` lack when the default line, which they follow, is
    built for fewer platforms than other lines are (None: nothing, or the default line is
    not among the selected lines).

    ``upcoming``: when ``config`` is a published release's, which keeps its default line
    and lines, the next release's (today's matrix.yaml): what to change is then about its
    default line, and nothing is advised when that one lacks no platform."""
    missing = _default_line_lacks(config)
    if not missing:
        return None
    lacked = ", ".join(missing)
    fact = (
        f"the default line {config.default_line} is not built for {lacked}, while other "
        "lines are: latest and each release's vX.Y.Z follow it, so they have no image for "
        f"{lacked}"
    )
    if upcoming is None:
        return f"{fact}; build it for every platform, or pick another default_line"
    fact += "; a published release keeps its default line and its lines' platforms"
    following = _default_line_lacks(upcoming)
    if not following:  # the next release's default line lacks nothing (or is left out)
        return fact
    also = ", ".join(following)
    which = (
        f"matrix.yaml's default_line, which the next release takes, is {config.default_line} "
        f"too, not built for {also}"
        if upcoming.default_line == config.default_line
        else f"matrix.yaml's default_line {upcoming.default_line}, which the next release "
        f"takes, is not built for {also} either"
    )
    return (
        f"{fact}; {which}: for the next release, build it for every platform, or pick "
        "another default_line in matrix.yaml"
    )


def default_line_left_out(
    config: Config, release: Release, *, recorded: bool, tags: Collection[str]
) -> str | None:
    """What a release started without its default line loses (pure): None when the release
    has a record (it keeps its lines), ``config`` has the default line, or ``tags`` (the
    primary's) hold the default line's pin (it is started); else the words for what follows
    that line (``vX.Y.Z``, and ``latest`` for a stable release), which nothing could add
    later: a published release keeps its lines."""
    default = config.default_line
    if recorded or default in config.line_names or pin_tag(release, default) in tags:
        return None
    if release.is_stable:
        return f"`{release.tag}` and `latest` follow the default line"
    return f"`{release.tag}` follows the default line"


def default_line_left_out_by(config: Config) -> tuple[str, ...]:
    """What left the default line out of ``config`` (pure), as ``release`` refuses it and
    ``plan`` warns of it: the overrides that did (``PUBLISHER_LINES`` alone when it does
    not name the line; not when it names it, as another override left it out), or
    ``("--only",)`` when the refusal is --only's (it was given and not only because of
    ``PUBLISHER_LINES``)."""
    default = config.default_line
    overrides = [named.split("=")[0] for named in config.narrowed_by]
    if config.env_lines and default not in config.env_lines:
        overrides = [ENV_LINES]
    elif config.env_lines:  # it names the default line: another override left it out
        overrides = [name for name in overrides if name != ENV_LINES]
    if overrides and (config.selection is None or overrides == [ENV_LINES]):
        return tuple(overrides)
    return ("--only",)


def line_warnings(
    config: Config,
    today: datetime.date,
    *,
    upcoming: Config | None = None,
    matrix: Config | None = None,
    republished: Iterable[tuple[str, Collection[str]]] = (),
    rebuilding: bool = False,
) -> list[str]:
    """What ``plan``, ``release`` and ``republish`` warn about the lines ``config`` writes
    on ``today``: each line's lifecycle (``lifecycle.matrix_warnings``), and what
    ``latest`` lacks when the default line has fewer platforms than the others. A
    published release is judged by its recorded lines (``config`` as its record
    says), not by today's matrix.yaml; ``upcoming`` is then today's matrix.yaml, the
    next release's, which advice about the default line is for (the published release
    keeps its own). ``matrix``: matrix.yaml with every line, when ``--only`` or the
    environment narrowed ``config``: the lines that advice may name. ``republished``: the
    published release's history (``ReleaseFacts.republished``), and ``rebuilding``: a
    republish of it (``plan --reason`` too) rebuilds ``config``'s lines: where a line past
    its end stands (``lifecycle.advised``)."""
    lines = [(line.php, line.frozen) for line in config.lines]
    following = (
        None
        if upcoming is None
        else (upcoming.default_line, [(line.php, line.frozen) for line in upcoming.lines])
    )
    offered = None if matrix is None else [(line.php, line.frozen) for line in matrix.lines]
    found = lifecycle.matrix_warnings(
        lines,
        config.default_line,
        today,
        upcoming=following,
        matrix=offered,
        republished=republished,
        rebuilding=rebuilding,
    )
    gap = default_line_gap(config, upcoming=upcoming)
    return [*found, gap] if gap is not None else found


def plan(
    config: Config,
    release: Release | str,
    existing: Mapping[str, Iterable[str]],
    recorded: Collection[str] = (),
) -> Plan:
    """Compute the release plan.

    ``existing`` maps a registry name to the tags present on it (any tags; those
    outside the scheme are ignored). A registry missing from the mapping has none; a
    name ``config`` has no registry of is a ConfigError (exit 3), not ignored.
    ``recorded``: the releases with a record (see ``settled``).
    """
    if isinstance(release, str):
        release = parse_release(release)
    names = [registry.name for registry in config.registries]
    unknown = [name for name in existing if name not in names]
    if unknown:
        raise ConfigError(
            f"tags given for {', '.join(shown_field(name) for name in unknown)}, not a "
            f"registry of the matrix (its registries: {', '.join(names)})",
            field="registries",
            hint="key the existing tags by the names of matrix.yaml's registries, or add "
            "the registry to matrix.yaml",
        )
    this_tags = set(selected_pins(config, release))
    # Without its vX.Y.Z (the default line left out) the release counts nowhere.
    counts = this_tags if release.tag in this_tags else set()

    floating: list[FloatingTag] = []
    counted = settled(existing, recorded)
    for registry in config.registries:
        present = counted.get(registry.name, set()) | counts
        for f in floating_tags(registry.name, present, config.line_names):
            mine = f.source_release == release.tag and f.source in this_tags
            floating.append(FloatingTag(f.registry, f.tag, f.source, f.source_release, mine))

    lines: list[LinePlan] = []
    for line in config.lines:
        pin = pin_tag(release, line.php)
        targets = []
        for registry in config.registries:
            tags = [pin]
            if line.php == config.default_line:
                tags.append(release.tag)
            for f in floating:
                if f.registry != registry.name or not f.this_release:
                    continue
                points_here = f.source == pin or (
                    f.tag == LATEST and line.php == config.default_line
                )
                if points_here:
                    tags.append(f.tag)
            targets.append(Target(registry.name, registry.repository.name, tuple(tags)))
        lines.append(
            LinePlan(
                php=line.php,
                platforms=line.platforms,
                base=str(config.base_pull_ref(line)),
                dockerfile=line.dockerfile,
                size_budget_bytes=line.size_budget_bytes,
                extensions=line.extensions.names,
                pin=pin,
                targets=tuple(targets),
            )
        )

    return Plan(
        release=release.tag,
        stable=release.is_stable,
        default_line=config.default_line,
        registries=tuple(
            RegistryPlan(r.name, r.repository.name, r.primary) for r in config.registries
        ),
        lines=tuple(lines),
        floating=tuple(floating),
    )
