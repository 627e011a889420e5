"""Has the newest stable release's base changed? (For the weekly republish.)

Reads the release records (notes JSON) kept in the repository through
``publisher.core.notes``, finds the newest stable release, resolves each of its base
images again and compares digests.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from ..adapters.registry import RegistryClient
from ..core import lifecycle
from ..core.config import Config
from ..core.errors import ConfigError, NotFoundError, PublisherError, shown_path
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations
from ..core.notes import RECORD_HINT, LineFacts, ReleaseFacts, load_record, record_releases
from ..core.publish_plan import moved_repositories
from ..core.reference import Reference, parse
from .clients import ClientFactory
from .parallel import in_parallel

#: The way on for a line whose base is gone, whatever became of the digest it was built on.
ELSEWHERE = "point the line's base in matrix.yaml at a tag that exists and publish a new release"


@dataclass(frozen=True)
class BaseCheck:
    release: str
    changed: bool
    details: tuple[str, ...]
    #: The PHP lines whose base moved: the only ones to rebuild.
    moved: tuple[str, ...] = ()
    #: Lines that can never change: frozen in matrix.yaml, or the official image stopped.
    frozen: tuple[str, ...] = ()
    #: Lines whose recorded base no longer exists: a rebuild could not pull it, so they
    #: are not rebuilt (and do not hold back the others); a maintainer must act.
    gone: tuple[str, ...] = ()
    #: Lines of ``gone`` whose registry no longer serves the digest they were built on
    #: either: pinning it cannot keep them; drop them, or move them to a base that exists.
    lost: tuple[str, ...] = ()
    #: The details that say what to change in matrix.yaml (a line past its end it does not
    #: mark ``frozen: true``, or one it marks before its end): warnings, where the others
    #: are information.
    advised: tuple[str, ...] = ()
    #: A notice per line of the release, in matrix.yaml and not marked ``frozen: true`` (or
    #: marked before its end, ``lifecycle.frozen_early``), whose
    #: security support ends within ``lifecycle.NOTICE_DAYS`` (as ``plan`` warns): the day,
    #: and what to change in matrix.yaml once the first weekly run past it has run. Not
    #: details: a line's base is as its detail says, whatever its end.
    ending: tuple[str, ...] = ()
    #: Registries whose repository matrix.yaml names is not the one the release was
    #: published to: ``plan``, ``matrix`` and ``republish`` of it refuse this matrix.yaml,
    #: so nothing is offered (no base is checked) and the one detail says why.
    repository_moved: tuple[str, ...] = ()


def newest_stable_record(notes_dir: Path) -> ReleaseFacts | None:
    """The record of the newest stable release in ``notes_dir`` (malformed: exit 3), or
    None before the first stable release."""
    stable = [r for r in record_releases(notes_dir) if r.is_stable]
    if not stable:
        return None
    record = load_record(notes_dir, stable[-1].tag)
    assert record is not None
    return record


def check_bases(
    config: Config,
    notes_dir: Path,
    clients: ClientFactory,
    *,
    today: datetime.date | None = None,
    locations: Locations = DEFAULT_LOCATIONS,
) -> BaseCheck:
    """Resolve every recorded base again (several at once) and compare its digest, on
    ``today`` (default: :func:`lifecycle.today`, in UTC).

    Before the first stable release there is nothing to republish: ``release`` is
    empty, ``changed`` False, and the one detail says why (the weekly run is then a
    no-op, not a failure every week until the first release's notes are merged).
    A recorded line matrix.yaml no longer has is neither checked nor moved: the rebuild
    could not build it, and naming it would fail the weekly run's job matrix every week.
    So is every line of a release published to another repository than matrix.yaml
    names (``repository_moved``): no command republishes it from this matrix.yaml.
    A line whose base no longer exists is ``gone``, not moved: its rebuild could not pull
    the base, and a failed leg would hold back the republish of every other line.
    A line matrix.yaml marks ``frozen: true`` is not asked about, from the day after its
    end (marked before, its base still gets the official image's builds: it is asked as a
    line not marked, and its detail, a warning, says the mark comes too early). One past its end of
    life (or whose official image stopped) that matrix.yaml does not mark yet is still
    asked: a base that moved after the release was published (the official image's last
    builds, up to the end's day) is rebuilt once more, as any moved base, instead of
    leaving the release on the base before it; one that did not move, or is gone, is
    ``frozen``.
    A line of the release that matrix.yaml has, not marked ``frozen: true`` (or marked
    before its end), whose security support ends within ``lifecycle.NOTICE_DAYS`` of ``day`` gets a notice in
    ``ending``, worded as ``plan``'s warning: marking it frozen waits for its end.
    ``locations``: the --config and --notes-dir a republish it tips carries.
    """
    record = newest_stable_record(notes_dir)
    if record is None:
        return BaseCheck(
            "",
            False,
            (
                f"no stable release is recorded in {shown_path(notes_dir)} yet: nothing to republish "
                "(a release's notes land there when its notes pull request is merged)",
            ),
        )
    moved_to = moved_repositories(config, record)
    if moved_to:
        detail = repository_moved_detail(config, record.release, moved_to)
        names = tuple(name for name, _ in moved_to)
        return BaseCheck(
            record.release, False, (detail,), advised=(detail,), repository_moved=names
        )
    day = lifecycle.today() if today is None else today
    configured = {ln.php: ln for ln in config.lines}

    def compare(line: LineFacts) -> tuple[str, str]:
        """(``frozen``, ``dropped``, ``gone``, ``lost`` (gone, and the digest it was built
        on too), ``moved`` or ``same``; the line's detail in words)."""
        php = line.php
        known = configured.get(php)
        marked = bool(known and known.frozen)
        state = lifecycle.status(php, day, frozen=marked)
        # said once its base is asked: what is left to wait for is said with it (last_update)
        note = lifecycle.advised(php, day, frozen=marked, asked=True)
        if state.base_frozen and (marked or known is None):
            if known is None:  # dropped from matrix.yaml already: nothing to change there
                note = state.note
            return "frozen", f"PHP {php}: can never change ({note or 'frozen'})"
        if known is None:  # a republish builds matrix.yaml's lines: this one it cannot
            return "dropped", (
                f"PHP {php}: {record.release} was published with it, which matrix.yaml no "
                "longer has: not checked, not rebuilt (restore the line in matrix.yaml to "
                "republish it)"
            )
        # The recorded image is the reference the build pulled (through the mirror, if any).
        try:
            ref = parse(line.base_image)
        except PublisherError as exc:
            raise ConfigError(
                f"base image {line.base_image!r} is not a reference: {exc.message}",
                source=str(notes_dir / f"{record.release}.json"),
                field=f"lines[php={php}].base.image",
                hint=RECORD_HINT,
            ) from None
        client = clients.for_base(config, ref)
        try:
            current = client.resolve(ref, expected=line.base_digest)
        except NotFoundError:
            if state.base_frozen:  # past its end: nothing more to rebuild it on
                return "frozen", f"PHP {php}: can never change (base {ref} is gone; {note})"
            return gone_detail(client, php, ref, line.base_digest)
        if current != line.base_digest:
            moved = f"PHP {php}: base {ref} moved from {line.base_digest} to {current}"
            if state.base_frozen:  # the official image's last build, after the release
                return "moved", last_update(record.release, php, moved, day, locations)
            return "moved", moved
        if state.base_frozen:
            return "frozen", f"PHP {php}: can never change ({note})"
        return "same", f"PHP {php}: base {ref} unchanged ({current})"

    def judged(line: LineFacts) -> tuple[str, str]:
        """``compare``'s answer, with the warning about a line marked frozen before its
        end (asked as a line that still updates: its base still moves)."""
        kind, detail = compare(line)
        known = configured.get(line.php)
        early = lifecycle.frozen_too_early(line.php, day, frozen=bool(known and known.frozen))
        return kind, f"{detail}; {early}" if early else detail

    found = in_parallel(judged, record.lines)
    lines = [line.php for line in record.lines]
    moved = tuple(php for php, (kind, _) in zip(lines, found, strict=True) if kind == "moved")
    frozen = tuple(php for php, (kind, _) in zip(lines, found, strict=True) if kind == "frozen")
    gone = tuple(
        php for php, (kind, _) in zip(lines, found, strict=True) if kind in ("gone", "lost")
    )
    lost = tuple(php for php, (kind, _) in zip(lines, found, strict=True) if kind == "lost")
    details = tuple(detail for _, detail in found)
    # A line matrix.yaml has, past its end, not marked frozen: its detail (moved or frozen)
    # carries lifecycle.UNFROZEN_ADVICE, what to change there; one marked frozen before its
    # end says to remove the mark until then.
    unmarked = {
        php
        for php, known in configured.items()
        if not known.frozen and lifecycle.advised(php, day) is not None
    }
    early = {
        php
        for php, known in configured.items()
        if lifecycle.frozen_early(php, day, frozen=known.frozen)
    }
    advised = tuple(
        detail
        for php, (kind, detail) in zip(lines, found, strict=True)
        if (php in unmarked and kind in ("moved", "frozen")) or php in early
    )
    matrix = [(ln.php, ln.frozen) for ln in config.lines]
    ending = tuple(
        notice
        for line in record.lines
        if line.php in configured
        and (
            notice := lifecycle.ending_notice(
                line.php,
                day,
                frozen=configured[line.php].frozen,
                # the release keeps its default line; the next one takes matrix.yaml's
                default_line=line.php
                if line.php == record.default_line == config.default_line
                else None,
                lines=matrix,
            )
        )
    )
    return BaseCheck(
        record.release, bool(moved), details, moved, frozen, gone, lost, advised, ending
    )


def repository_moved_detail(config: Config, release: str, moved_to: list[tuple[str, str]]) -> str:
    """The one detail of a release published to other repositories (``moved_to``: registry
    name, the record's repository) than matrix.yaml names: it cannot be republished from
    this matrix.yaml, and the ways on."""
    now = {r.name: r.repository.name for r in config.registries}
    was = ", ".join(f"{repository} ({name})" for name, repository in moved_to)
    names = ", ".join(now[name] for name, _ in moved_to)
    return (
        f"{release} was published to {was}; matrix.yaml now names {names}: it cannot be "
        f"republished from this matrix.yaml (`plan`, `matrix` and `republish` of {release} "
        "refuse it: a release stays where it was published), so no base was checked and "
        "nothing is rebuilt. Publish a new release to the new repository (it builds on "
        f"today's bases), or republish {release} by hand with a matrix.yaml that names where "
        f'it was published (`publisher republish {release} --reason "..." --config FILE`)'
    )


def last_update(
    release: str, php: str, moved: str, day: datetime.date, locations: Locations
) -> str:
    """The detail of PHP ``php``, past its end and not marked frozen, whose base ``moved``
    after ``release`` was published: the official image's last update. This check rebuilds
    nothing, and says so each week until a republish records that base: what rebuilds it,
    and that marking the line frozen comes after (marked, it is no longer asked, and the
    release keeps the base before)."""
    republish = locations.command("republish", release, "--only", php, REASON)
    return (
        f"{moved}, its last update: nothing was rebuilt yet; a republish of {release} with "
        f"PHP {php} rebuilds it on that base once more (the weekly run republishes the "
        f"lines= it outputs; by hand: `{republish}`); once that is published, and not "
        f"before, {lifecycle.UNFROZEN_ADVICE} ({lifecycle.warning(php, day)})"
    )


def gone_detail(
    client: RegistryClient, php: str, ref: Reference, digest: str | None
) -> tuple[str, str]:
    """(``gone`` or ``lost``; the detail in words) of PHP ``php``, whose recorded base
    ``ref`` no longer exists: whether its registry (``client``'s: the one the release
    pulled it from, through its mirror if any) still serves ``digest``, the base it was
    built on, asked with one HEAD by digest (``repo@sha256:...``), tried once: a side
    lookup, made when the line is gone already, whose failure is said in the detail,
    never the check's failure. Served: pin it (``base_digest``) and mark the line frozen;
    gone too (``lost``): the line cannot be rebuilt from that base."""
    gone = f"PHP {php}: base {ref} no longer exists: not rebuilt (a rebuild could not pull it)"
    served: bool | PublisherError | None = None  # None: no digest recorded to ask about
    if digest is not None:
        pinned = Reference(ref.domain, ref.path, None, digest)
        # a base recorded by that very digest was just asked for, and is gone
        served = ref.digest != digest and serves(client, pinned)
        if served is True:
            return "gone", (
                f"{gone}; its registry still serves the base it was built on, {pinned}: mark "
                f"the line `frozen: true` and pin that base, `base_digest: {digest}`, so that "
                f"a new release still builds it, or {ELSEWHERE}"
            )
        if served is False:
            return "lost", (
                f"{gone}, nor does its registry serve the base it was built on any more, "
                f"{pinned}, so the line cannot be rebuilt from that base: {ELSEWHERE}, or "
                "drop the line from matrix.yaml (its published images stay as they are)"
            )
    unknown = (
        f" (whether it does could not be asked: {served.message})"
        if isinstance(served, PublisherError)
        else ""
    )
    return "gone", (
        f"{gone}; {ELSEWHERE}, or mark the line `frozen: true` and pin the base it was built "
        f"on, `base_digest: {digest or 'sha256:...'}`, so that a new release still builds it "
        f"while its registry serves that digest{unknown}"
    )


def serves(client: RegistryClient, ref: Reference) -> bool | PublisherError:
    """Whether ``client``'s registry serves ``ref``, a reference by digest: one HEAD,
    tried once; the error when it could not be asked (down, refusing the read). Asked
    here and by a new release's tip to pin a base whose tag is gone (``base_gone_hint``)."""
    try:
        client.resolve(ref, attempts=1)
    except NotFoundError:
        return False
    except PublisherError as exc:
        return exc
    return True


def gone_hint(check: BaseCheck) -> str:
    """The tip of the error that ends a check with ``gone`` lines: the ways on for each,
    as their details say them (pinning the base a line was built on only for a line whose
    registry may still serve it)."""
    kept = [php for php in check.gone if php not in check.lost]
    pin = (
        "mark the line `frozen: true` and pin the base it was built on by digest (its "
        "`base_digest`, named above) so that a new release still builds it"
    )
    drop = "drop the line from matrix.yaml"
    if not check.lost:
        return f"{ELSEWHERE}, or {pin}"
    lost = f"PHP {', '.join(check.lost)}, whose base digest is gone too"
    if not kept:
        return f"{ELSEWHERE}, or {drop}: the base it was built on is gone too"
    return f"{ELSEWHERE}; or, for PHP {', '.join(kept)}, {pin}; for {lost}, {drop}"
