"""What every registry should hold, from the release records, and how it differs.

Pure: ``expected_tags`` derives, for one registry, every pin of every recorded
release (``vX.Y.Z-php-A.B`` and ``vX.Y.Z`` for the release's own default line)
and the floating tags (``php-A.B``, ``latest``) those pins imply; ``compare``
lists each difference as a ``Finding``. Floating tags follow the recorded
releases only: pins of a release without a record (one that died before its
notes were written) are reported, never promoted to ``latest`` or ``php-A.B``,
and a floating tag carrying such content is drift, unless that release is newer
than the records and its pins are alike on every registry holding them: then it
got as far as its tags, and either its record is missing here (its notes not merged
yet) or it stopped before writing it (a rerun finishes it), and the tag is reported
as ``ahead``, which a repair never moves back. ``disagreements``
names each floating tag the registries do not agree on, but for one some of them only
lack, which ``compare`` names missing on each.

A release is judged by its record: ``scopes`` places each recorded release in
the repository its record names for each registry (today's repository for a
registry the record does not name, one added to the matrix later), so after a
repository move the older releases are audited where they were published, and
each repository's floating tags follow the releases recorded there only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Final

from ..resolve import php_line_order, short_digest
from . import plan as planning
from .fileio import counted
from .locations import DEFAULT as DEFAULT_LOCATIONS
from .locations import Locations
from .notes import ReleaseFacts

MISSING = "missing"  # an expected tag is absent
MOVED = "moved"  # a tag points at other content than the record says
FLOATING = "floating"  # a floating tag is not where the pins say
INCOMPLETE = "incomplete"  # a tagged index whose children (or itself) are gone
#: the index a record names holds other images than the record's platforms: the record
#: cannot be confirmed (edited by hand?), and no repair moves a tag on its word
CONTRADICTED = "record-contradicted"
#: the index a record names lists an image built for another platform or another pin than
#: the one it lists it as (``verify_rules.image_mismatches``): its content is wrong, record
#: and all, so a republish replaces it (no repair does)
OTHER_CONTENT = "other-content"
#: a pin of a recorded release for a PHP line its record does not list: the line's entry
#: removed from the record (a hand edit, a bad merge, an older publisher's ``republish
#: --only`` that rewrote the record with that one line), which git restores; a published
#: release keeps its lines, so no run adds it back, and no repair touches it
UNRECORDED_LINE = "unrecorded-line"
PRIVATE = "private"  # anonymous users cannot read the registry
UNRECORDED = "unrecorded"  # pins of a release with no record: an unfinished release
DISAGREE = "disagree"  # a floating tag the registries do not agree on
AHEAD = "ahead"  # a floating tag carries a finished release newer than the records here
UNREACHABLE = "unreachable"  # the registry could not be reached: nothing on it was checked
RATE_LIMITED = "rate-limited"  # the registry rate-limited the reads: nothing on it was checked
#: the registry named other content than it served (a lying registry, or a proxy in front
#: of it): nothing on it was judged
INVALID = "invalid-response"
#: the registry refused the reads (401/403: the credentials, their scope, a proxy denying
#: them): nothing on it was judged
REFUSED_READ = "refused-read"
#: a recorded release whose notes directory lacks what its run writes beside the record
#: (its pins file, its sizes in the size history): its run stopped while writing them;
#: its ``registry`` is the notes directory, and a rerun of the release (no repair) writes them
UNFINISHED_NOTES = "notes-incomplete"
#: the registry refused a write of the repair (read-only, an immutable tag, a denied
#: push): what the repair would have restored on it is still listed beside it
REFUSED = "refused-write"
#: a release record a newer publisher wrote (a schema above the one this publisher reads):
#: left unread and as it is, the other records audited; its ``registry`` is the notes
#: directory, its ``tag`` the file, its ``detail`` the schema; the floating tags it may
#: place (``undecided``) are not judged meanwhile. Exit 3, as every command refuses such a file
NEWER_RECORD = "newer-record"
#: a floating tag a release whose record is unread (``NEWER_RECORD``) may place, pointing
#: neither where the readable records place it nor at that release's content: where it
#: belongs cannot be judged until that record is read (no ``expected``; its ``detail``
#: names those releases), and no repair moves it
UNDECIDED = "undecided"
#: The kinds that say a registry did not answer (nothing on it was judged).
UNANSWERED = (UNREACHABLE, RATE_LIMITED)
#: The kinds that say nothing on a registry was judged.
NOT_JUDGED = (*UNANSWERED, INVALID, REFUSED_READ)
#: Every kind of finding, documented for --json consumers (README, Commands).
KINDS = (
    MISSING,
    MOVED,
    FLOATING,
    INCOMPLETE,
    CONTRADICTED,
    OTHER_CONTENT,
    UNRECORDED_LINE,
    PRIVATE,
    UNRECORDED,
    DISAGREE,
    AHEAD,
    UNREACHABLE,
    RATE_LIMITED,
    INVALID,
    REFUSED_READ,
    REFUSED,
    UNFINISHED_NOTES,
    NEWER_RECORD,
    UNDECIDED,
)


@dataclass(frozen=True)
class Expected:
    digest: str
    release: str
    floating: bool = False


@dataclass(frozen=True)
class Finding:
    registry: str
    kind: str
    tag: str
    expected: str | None
    actual: str | None
    #: the release whose record the finding is about; None when it is no one release's
    #: (registries disagreeing, a floating tag no record has, a registry not read)
    release: str | None
    detail: str = ""
    #: an ``unrecorded`` release whose pins hold images built for other pins (the
    #: primary's, where a rerun of the release reads them), in words: that rerun refuses
    #: them (exit 14), so a republish is what finishes it; "" otherwise
    conflict: str = ""
    #: an ``unrecorded`` release's pins on a registry but the primary that the primary
    #: lacks (comma-separated): publisher writes each pin there first, so no run of it
    #: left them alone (``plan.placed_by_hand`` says the way out); "" otherwise
    not_on_primary: str = ""
    #: an ``unrecorded`` release (or the one an ``ahead`` tag carries) whose pins on the
    #: primary are of fewer lines than a rerun of it would build (``plan.started_with``):
    #: its rerun is named with their --only
    started: planning.Started | None = None

    @property
    def message(self) -> str:
        return self.says(DEFAULT_LOCATIONS)

    def says(self, locations: Locations) -> str:
        """The finding in words, the commands it names carrying ``locations`` (the run's)."""
        if self.kind == MISSING:
            text = (
                f"{self.tag} is missing; {self.release}'s record says {short_digest(self.expected)}"
            )
        elif self.kind == MOVED:
            text = (
                f"{self.tag} points at {short_digest(self.actual)}; {self.release}'s record says "
                f"{short_digest(self.expected)}"
            )
        elif self.kind == FLOATING and self.actual is None:
            text = (
                f"{self.tag} is missing; the recorded pins say {short_digest(self.expected)} "
                f"({self.release})"
            )
        elif self.kind == FLOATING and self.expected is None:
            text = f"{self.tag} points at {short_digest(self.actual)}; no recorded release has it"
        elif self.kind == FLOATING:
            text = (
                f"{self.tag} points at {short_digest(self.actual)}; the recorded pins say "
                f"{short_digest(self.expected)} ({self.release})"
            )
        elif self.kind == UNRECORDED and self.not_on_primary:
            text = (
                f"{self.release} has pins here ({self.detail}) but no record here; "
                + planning.placed_by_hand(
                    str(self.release),
                    self.registry,
                    self.not_on_primary.split(", "),
                    "the primary registry",
                    locations,
                )
            )
        elif self.kind == UNRECORDED and self.conflict:
            text = (
                f"{self.release} has pins here ({self.detail}) but no record here, and a "
                f"rerun of the release (`{locations.command('release', str(self.release))}`) "
                f"refuses them (exit 14): {self.conflict}; "
                f"`{locations.command('republish', str(self.release), '--reason ...')}` "
                "replaces them on purpose"
            )
        elif self.kind == UNRECORDED:
            text = (
                f"{self.release} has pins here ({self.detail}) but no record here: a release "
                "started and never finished, or one whose record is elsewhere; "
                f"{planning.rerun_release(str(self.release), locations, self.started)} to "
                f"finish it; {planning.wait_for_run(str(self.release))}"
            )
        elif self.kind == AHEAD:
            text = (
                f"{self.tag} carries {self.detail}, newer than the records here say "
                f"({self.release}); its pins are on every registry that holds any, so it got "
                f"as far as its tags: either its record is not here yet (copy {self.detail}.json, "
                f"with {self.detail}.md and {self.detail}.env, into the notes directory this "
                f"audit reads), or it stopped before writing it: "
                f"{planning.rerun_release(self.detail, locations, self.started)}, which "
                f"finishes it either way; {planning.wait_for_run(self.detail)}; a repair "
                f"does not move {self.tag} back"
            )
        elif self.kind == DISAGREE:
            text = f"the registries disagree on {self.tag}: {self.detail}"
        elif self.kind == UNFINISHED_NOTES:
            text = (
                f"{self.release}'s record is here, but {self.detail}: its run stopped while "
                f"writing its notes; {planning.rerun_release(str(self.release), locations)}, "
                "which keeps the record and notes as written and writes what they lack"
            )
        elif self.kind == NEWER_RECORD:
            text = (
                f"{self.tag} has schema {self.detail}, written by a newer publisher: upgrade "
                f"publisher to audit it (this one leaves the file as it is); {self.release}'s "
                "pins were not judged, nor a floating tag it may place (one no readable "
                "release newer than it places), which no repair moves until it is read"
            )
        elif self.kind == UNDECIDED:
            releases = self.detail.split(", ")
            where = (
                "is missing" if self.actual is None else f"points at {short_digest(self.actual)}"
            )
            text = (
                f"{self.tag} {where}; where it belongs cannot be judged until "
                f"{_records_of(releases)} {'is' if len(releases) == 1 else 'are'} read "
                f"({', '.join(r + '.json' for r in releases)}, a newer publisher's): "
                f"{'that release' if len(releases) == 1 else 'a release of theirs'} may place "
                "it, being newer than any readable release that does; no repair moves it "
                "meanwhile"
            )
        elif self.kind == UNREACHABLE:
            text = f"could not be reached, so nothing on it was checked: {self.detail}"
        elif self.kind == RATE_LIMITED:
            text = f"rate-limited the reads, so nothing on it was checked: {self.detail}"
        elif self.kind == INVALID:
            text = f"sent an invalid response, so nothing on it was judged: {self.detail}"
        elif self.kind == REFUSED_READ:
            text = f"refused the reads, so nothing on it was judged: {self.detail}"
        elif self.kind == REFUSED:
            text = f"refused the repair's writes, so what they would restore is left: {self.detail}"
        else:
            text = f"{self.tag}: {self.detail}"
        if self.kind == FLOATING and self.detail:
            text += f"; it carries {self.detail}"
        return f"{self.registry}: {text}"

    def to_dict(self, locations: Locations = DEFAULT_LOCATIONS) -> dict[str, object]:
        return {**asdict(self), "message": self.says(locations)}


@dataclass(frozen=True)
class Scope:
    """One registry's repository and the recorded releases published there."""

    registry: str
    repository: str
    releases: tuple[str, ...]
    #: matrix.yaml names this repository today
    today: bool = True

    @property
    def label(self) -> str:
        """How findings name it: the registry, and the repository when it is not today's."""
        return self.registry if self.today else f"{self.registry} ({self.repository})"


def scopes(records: Sequence[ReleaseFacts], registries: Sequence[tuple[str, str]]) -> list[Scope]:
    """Where each recorded release is judged, per registry ``(name, today's repository)``.

    A release belongs to the repository its record names for that registry; a
    record that does not name the registry (added to the matrix later) counts for
    today's repository. Today's repository is always a scope, holding no release
    after a move until one is published there (its stray pins are still found).
    """
    result = []
    for name, now in registries:
        where: dict[str, list[str]] = {now: []}
        for record in records:
            repo = next((r.repository for r in record.registries if r.name == name), now)
            where.setdefault(repo, []).append(record.release)
        result += [Scope(name, repo, tuple(rs), repo == now) for repo, rs in where.items()]
    return result


def moves(found: Sequence[Scope]) -> list[str]:
    """One sentence per registry whose recorded releases are in another repository than
    matrix.yaml names today."""
    now = {s.registry: s.repository for s in found if s.today}
    sentences = []
    for scope in found:
        if scope.today or not scope.releases:
            continue
        one = len(scope.releases) == 1
        sentences.append(
            f"{moved_words(scope, now[scope.registry])}: "
            f"audited there, as {'its record says' if one else 'their records say'}"
        )
    return sentences


def moved_words(scope: Scope, now: str) -> str:
    """``hub: v1.0.0..v1.2.0 (3 releases) were published to OLD, while matrix.yaml names
    NOW``: the releases of a repository that is not today's."""
    ordered = sorted(scope.releases, key=tag_order)
    return (
        f"{scope.registry}: {_span(ordered)} {'was' if len(ordered) == 1 else 'were'} "
        f"published to {scope.repository}, while matrix.yaml names {now}"
    )


def dropped(records: Sequence[ReleaseFacts], registries: Iterable[str]) -> list[str]:
    """One sentence per registry (and repository) that records name but matrix.yaml no
    longer has: the audit neither reads nor repairs it, and says so rather than call the
    releases fine "on every registry" without a word."""
    names = set(registries)
    gone: dict[tuple[str, str], list[str]] = {}
    for record in records:
        for registry in record.registries:
            if registry.name not in names:
                gone.setdefault((registry.name, registry.repository), []).append(record.release)
    sentences = []
    for (name, repository), releases in gone.items():
        ordered = sorted(releases, key=tag_order)
        sentences.append(
            f"{name}: {_span(ordered)} {'was' if len(ordered) == 1 else 'were'} also "
            f"published to {repository}, which matrix.yaml no longer names: not audited there"
        )
    return sentences


def _span(ordered: Sequence[str]) -> str:
    """Releases in version order, in words: ``v1.0.0``, or ``v1.0.0..v1.2.0 (3 releases)``."""
    if len(ordered) == 1:
        return ordered[0]
    return f"{ordered[0]}..{ordered[-1]} ({len(ordered)} releases)"


def tag_order(tag: str) -> tuple[int, object, tuple[int, ...]]:
    """The sort key of a tag or release in version order (``v1.2.0`` before ``v1.10.0``,
    never as text): a release's ``vX.Y.Z`` before its pins, these by PHP line; a tag of no
    release (``latest``, ``php-8.4``) first, as text."""
    parsed = planning.parse_scheme_tag(tag)
    if parsed is None:
        return (0, tag, ())
    return (1, parsed.release, php_line_order(parsed.php) if parsed.php else ())


#: How many releases with pins but no record an audit's text names one by one (its JSON
#: lists every finding): past it, it says how many there are and lists them compactly.
UNRECORDED_LISTED: Final = 12


def in_words(
    findings: Sequence[Finding], locations: Locations, *, recorded: int, notes_dir: str
) -> list[str]:
    """The findings as an audit's text says them, in order.

    Past ``UNRECORDED_LISTED`` releases with pins but no record (each advised a rerun:
    none of their pins built for another pin or off the primary, whose findings are said
    alone), a notes directory lacking them (``notes_dir``, which holds ``recorded``
    records) is likelier than that many releases that never finished: that is said once,
    first, and each registry's are one line, in place of its first, naming the first
    ``UNRECORDED_LISTED`` in version order and how many more.
    """
    plain = [
        f for f in findings if f.kind == UNRECORDED and not f.conflict and not f.not_on_primary
    ]
    releases = {str(f.release) for f in plain}
    if len(releases) <= UNRECORDED_LISTED:
        return [f.says(locations) for f in findings]
    grouped = {id(f) for f in plain}
    per_registry: dict[str, list[str]] = {}
    for f in plain:
        per_registry.setdefault(f.registry, []).append(str(f.release))
    said = [
        f"{counted(len(releases), 'release')} tagged on the registries have no record in "
        f"{notes_dir} (it holds {counted(recorded, 'record')}): a wrong --notes-dir, or a "
        "checkout or branch whose notes directory is not the one the releases write to "
        "(the default branch's), is likelier than that many releases that never finished; "
        "check that before rerunning any of them"
    ]
    for f in findings:
        if id(f) not in grouped:
            said.append(f.says(locations))
        elif f.registry in per_registry:
            ordered = sorted(per_registry.pop(f.registry), key=tag_order)
            more = len(ordered) - UNRECORDED_LISTED
            said.append(
                f"{f.registry}: {counted(len(ordered), 'release')} "
                f"{'has' if len(ordered) == 1 else 'have'} pins here but no record here: "
                f"{', '.join(ordered[:UNRECORDED_LISTED])}"
                f"{f' and {more} more' if more > 0 else ''}; each started and never "
                "finished, or its record is elsewhere "
                f"(`{locations.command('audit', '--json')}` lists each with its pins and "
                "the rerun that finishes it)"
            )
    return said


def _records_of(releases: Sequence[str]) -> str:
    """``the record of v1.1.0``, ``the records of v1.1.0, v1.2.0``."""
    return f"the record{'' if len(releases) == 1 else 's'} of {', '.join(releases)}"


def deciders(want: Expected | None, unread: Iterable[str]) -> tuple[str, ...]:
    """The releases of ``unread`` (whose record a newer publisher wrote) that may place a
    floating tag the readable records place at ``want`` (None: none places it), in version
    order: each stable one newer than ``want``'s release, as a floating tag follows the
    highest stable release (of its line), and any stable one when no readable record
    places it (a line only an unread record may have). A prerelease places none."""
    found = []
    for release in unread:
        parsed = planning.parse_scheme_tag(release)
        if parsed is None or parsed.php is not None or not parsed.release.is_stable:
            continue
        if want is None or _newer(release, want.release):
            found.append(release)
    return tuple(sorted(found, key=tag_order))


def undecided(
    expected: Mapping[str, Expected], actual: Mapping[str, str], unread: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Each floating tag that a release of ``unread`` may place (``deciders``), expected
    or present on the registry -> those releases: no audit judges it until they are read."""
    releases = tuple(unread)
    tags = {t for t, e in expected.items() if e.floating}
    tags |= {t for t in actual if planning.is_floating_tag(t)}
    found = {tag: deciders(expected.get(tag), releases) for tag in tags}
    return {tag: found[tag] for tag in sorted(found, key=tag_order) if found[tag]}


def recorded_pins(records: Iterable[ReleaseFacts]) -> dict[str, Expected]:
    """Every pin of every recorded release -> the index its record names."""
    result: dict[str, Expected] = {}
    for record in records:
        for line in record.lines:
            for tag in record.pins(line.php):
                result[tag] = Expected(line.index_digest, record.release)
    return result


def expected_tags(
    records: Sequence[ReleaseFacts],
    actual: Mapping[str, str],
    registry: str,
    elsewhere: Iterable[str] = (),
) -> tuple[dict[str, Expected], list[Finding]]:
    """Every tag ``registry`` should hold, and one finding per release without a record.

    ``actual`` maps the tags present on the registry to their digests. The
    floating tags are computed from the recorded pins alone. ``elsewhere``: the
    releases recorded in another repository of this registry, or whose record this
    publisher cannot read (``NEWER_RECORD``); pins of theirs here are neither expected
    nor a release without a record.
    """
    expected = recorded_pins(records)
    recorded = {r.release for r in records} | set(elsewhere)
    unrecorded: dict[str, list[str]] = {}
    for tag in sorted(actual, key=tag_order):
        parsed = planning.parse_scheme_tag(tag)
        if parsed is not None and parsed.release.tag not in recorded:
            unrecorded.setdefault(parsed.release.tag, []).append(tag)
    notices = [
        Finding(registry, UNRECORDED, release, None, None, release, ", ".join(tags))
        for release, tags in sorted(unrecorded.items(), key=lambda item: tag_order(item[0]))
    ]
    lines = sorted(
        {line.php for r in records for line in r.lines},
        key=php_line_order,
    )
    pins = {tag: e.digest for tag, e in expected.items()}
    for f in planning.floating_tags(registry, pins, lines):
        expected[f.tag] = Expected(pins[f.source], f.source_release, floating=True)
    return expected, notices


def compare(
    registry: str,
    expected: Mapping[str, Expected],
    actual: Mapping[str, str],
    finished: Iterable[str] = (),
    unread: Iterable[str] = (),
) -> list[Finding]:
    """Each expected tag that is absent or elsewhere on ``registry``, and each
    floating tag present that no recorded release explains.

    A floating tag carrying the content of a pin without a record says whose;
    when that release is in ``finished`` (its pins are alike on every registry:
    ``plan.settled``) and newer than the records' choice, the tag is ``ahead``.
    ``unread``: the releases whose record a newer publisher wrote (``NEWER_RECORD``):
    a floating tag one of them may place (``undecided``) is not judged where the readable
    records place it or where it carries such a release, and is ``UNDECIDED`` elsewhere,
    with no expected digest (the readable records' would be a lower release's); every
    other floating tag is judged as usual, one carrying an unread release said so.
    """
    unreadable = set(unread)
    waiting = undecided(expected, actual, unreadable)
    done = set(finished)
    recorded = {e.digest for e in expected.values()}
    releases = {e.release for e in expected.values()}
    unrecorded = {
        digest: parsed.release.tag
        for tag, digest in sorted(actual.items(), reverse=True)
        if (parsed := planning.parse_scheme_tag(tag)) and parsed.release.tag not in releases
    }

    # pins of recorded releases for a line their record lacks (``UNRECORDED_LINE``)
    lacking = {
        digest: (tag, parsed.release.tag)
        for tag, digest in sorted(actual.items(), reverse=True)
        if tag not in expected
        and (parsed := planning.parse_scheme_tag(tag))
        and parsed.php is not None
        and parsed.release.tag in releases
    }

    def whose(digest: str | None) -> str:
        if digest is None or digest in recorded:
            return ""
        if digest in unrecorded and unrecorded[digest] in unreadable:
            return f"content of {unrecorded[digest]}, whose record is unread (a newer publisher's)"
        if digest in unrecorded:
            return f"content of {unrecorded[digest]}, which has no record"
        if digest in lacking:
            pin, release = lacking[digest]
            return f"{pin}, a pin of a line {release}'s record lacks"
        return ""

    findings = []
    for tag, want in sorted(expected.items(), key=lambda item: tag_order(item[0])):
        have = actual.get(tag)
        if have == want.digest:
            continue
        kind = FLOATING if want.floating else MISSING if have is None else MOVED
        detail = whose(have) if want.floating else ""
        newer = unrecorded.get(have or "")
        if tag in waiting:
            if newer not in waiting[tag]:  # no lower release's digest is where it belongs
                findings.append(_undecided(registry, tag, have, waiting[tag]))
            continue  # else where an unread record may place it: not judged
        if detail and newer in done and _newer(newer, want.release):
            kind, detail = AHEAD, str(newer)
        findings.append(Finding(registry, kind, tag, want.digest, have, want.release, detail))
    for tag, have in sorted(actual.items()):
        if tag not in expected and planning.is_floating_tag(tag):
            if tag in waiting:
                if unrecorded.get(have) not in waiting[tag]:
                    findings.append(_undecided(registry, tag, have, waiting[tag]))
                continue  # else where an unread record may place it: not judged
            findings.append(Finding(registry, FLOATING, tag, None, have, None, whose(have)))
    return findings


def _undecided(registry: str, tag: str, have: str | None, releases: Sequence[str]) -> Finding:
    return Finding(registry, UNDECIDED, tag, None, have, None, ", ".join(releases))


def carried_unrecorded_line(finding: Finding, findings: Iterable[Finding]) -> Finding | None:
    """The ``UNRECORDED_LINE`` finding of ``findings`` whose pin the floating tag of
    ``finding`` carries on the same registry, when no recorded pin says where that tag
    belongs (``expected`` None): a repair leaves both, and the record restored from git
    places them. None otherwise."""
    if finding.kind != FLOATING or finding.expected is not None or finding.actual is None:
        return None
    return next(
        (
            f
            for f in findings
            if f.kind == UNRECORDED_LINE
            and f.registry == finding.registry
            and f.actual == finding.actual
        ),
        None,
    )


def _newer(release: str | None, than: str) -> bool:
    a, b = planning.parse_scheme_tag(release or ""), planning.parse_scheme_tag(than)
    return a is not None and (b is None or b.release < a.release)


def unreachable(
    registry: str,
    error: str,
    *,
    rate_limited: bool = False,
    invalid: bool = False,
    refused: bool = False,
) -> Finding:
    """``registry`` did not answer (``error`` in words; ``rate_limited``: it rate-limited
    the reads; ``invalid``: it named other content than it served; ``refused``: it refused
    the reads, 401/403): one finding, nothing else judged."""
    kind = (
        REFUSED_READ
        if refused
        else INVALID
        if invalid
        else RATE_LIMITED
        if rate_limited
        else UNREACHABLE
    )
    return Finding(registry, kind, "", None, None, None, error)


def disagreements(
    actual: Mapping[str, Mapping[str, str]], said: Iterable[Finding] = ()
) -> list[Finding]:
    """Each floating tag that is not the same on every registry that answered (absent
    counts). A tag the others agree on and some lack, each of which ``said`` already
    names as missing there (a registry added to matrix.yaml after the releases), is not
    named again."""
    names = list(actual)
    missing = {(f.registry, f.tag) for f in said if f.kind == FLOATING and f.actual is None}
    tags = sorted({t for tags in actual.values() for t in tags if planning.is_floating_tag(t)})
    findings = []
    for tag in tags:
        seen = [actual[name].get(tag) for name in names]
        lacking = [name for name, digest in zip(names, seen, strict=True) if digest is None]
        if len(set(seen) - {None}) == 1 and all((name, tag) in missing for name in lacking):
            continue  # each registry lacking it is named so, once: nothing more to say
        if len(set(seen)) > 1:
            detail = ", ".join(
                f"{name} {short_digest(d)}" for name, d in zip(names, seen, strict=True)
            )
            findings.append(Finding(", ".join(names), DISAGREE, tag, None, None, None, detail))
    return findings
