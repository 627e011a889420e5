"""The audit stage: every recorded release, every registry, every tag; ``--repair``.

For every release with a record in the notes directory, read what each
registry holds and compare it with what the records imply (``audit_rules``):
missing pins, pins pointing elsewhere, floating tags not where the recorded
pins say, registries disagreeing, pins of a release without a record (an
unfinished release), tagged indexes whose children are gone, and registries
anonymous users cannot read. ``repair`` restores what the records say and never
invents content: a tag is only pointed at an index some registry holds
complete (copied by digest first where it is missing), and floating tags are
pointed where the recorded pins say, the same on every registry. The tags of
a release without a record are left alone: rerunning that release finishes it, unless a
pin of it on the primary holds an image built for another pin (``built_for_others``),
which that rerun refuses: its republish replaces them, and the finding says so.
Before any record, only the primary is read (``Auditor.unrecorded_on_primary``): a
first release that stopped before its record left its pins there first.

A registry that cannot be reached (connection, TLS, a server that keeps
failing) or that rate-limits the reads past the retries is one finding; the registries that answer are still audited, and
repaired with ``repair``.

A release is judged by its record: each recorded release is audited, and
repaired, in the repository its record names for each registry
(``audit_rules.scopes``); after a repository move the older releases are read
where they were published and the run says so once per registry. Floating tags
are computed per repository from the releases recorded there, registries are
compared only with the repositories holding the same releases, and a repair
copies from the same release's repositories on the other registries.

The repositories are read at the same time, each asked at most
``REQUESTS_IN_FLIGHT`` requests at once (its tags, then the indexes they point
at, then those indexes' children); the report does not depend on the order the
answers arrive in.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..adapters.output import Output
from ..adapters.registry import Descriptor, RegistryClient
from ..adapters.registry.transfer import Transfers
from ..core import audit_rules as rules
from ..core import pins as pins_mod
from ..core import verify_rules
from ..core.config import Config, Registry
from ..core.errors import (
    IMMUTABLE_TIP,
    UNANSWERED,
    AuthError,
    InvalidResponseError,
    NewerSchemaError,
    NotFoundError,
    PublisherError,
    RateLimitedError,
    RegistryError,
    Unanswered,
    refused_as_immutable,
    shown_path,
    unanswered_tip,
)
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations
from ..core.notes import (
    HISTORY_FILE,
    LineFacts,
    ReleaseFacts,
    load_record,
    load_size_history,
    record_path,
    record_releases,
    restore_tip,
    size_history_path,
)
from ..core.plan import (
    in_matrix_order,
    is_floating_tag,
    parse_scheme_tag,
    rerun_release,
    scheme_tags,
    settled,
    started_with,
)
from ..core.reference import Reference, parse_repository
from ..resolve import short_digest
from .clients import AnonymousClient
from .parallel import REQUESTS_IN_FLIGHT, ByDigest, in_parallel, listed_tags, tag_digests
from .parallel import built_as as images_built_as
from .public import fix_steps

#: What leaves one repository out of an audit, said as its one finding while the others
#: are audited: it did not answer through the retries, or it named other content than it
#: served (exit 8 once the others are audited). Also what makes a repair's registry one
#: that failed (a refusal of a write is another finding: ``refused-write``).
NOT_AUDITED = (*UNANSWERED, InvalidResponseError)
#: What leaves one repository out of the audit's reads: those, or a refusal of the reads
#: (401/403: exit 4 once the others are audited).
NOT_READ = (*NOT_AUDITED, AuthError)
Unaudited = Unanswered | InvalidResponseError | AuthError
#: Which version of a record lacking a line its pins have to restore from git.
BEFORE_THE_DROP = " as it was before the change that dropped the line"


@dataclass
class AuditReport:
    releases: tuple[str, ...]
    findings: list[rules.Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    unrepairable: list[str] = field(default_factory=list)
    #: the entries of ``unrepairable`` that wait for a record restored from git (its index
    #: holds other images than it lists): neither a rerun nor a republish is the way out
    awaiting_record: list[str] = field(default_factory=list, repr=False)
    #: one sentence per registry whose releases are recorded in another repository
    moved: list[str] = field(default_factory=list)
    #: label of each audited repository (``Scope.label``) -> its registry, for the advice
    targets: dict[str, Registry] = field(default_factory=dict, repr=False)
    #: label of each repository that could not be reached -> what to check, from its error
    advice: dict[str, str | None] = field(default_factory=dict, repr=False)
    #: the location options of the run, which the commands its findings name carry
    locations: Locations = field(default=DEFAULT_LOCATIONS, repr=False)
    #: the notes directory read, in words (``shown_path``), as the text names it
    notes_dir: str = field(default="the notes directory", repr=False)
    #: label of each audited repository -> its floating tags a release whose record is
    #: unread may place (``audit_rules.undecided``), which the audit leaves unjudged
    undecided: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def defects(self) -> list[rules.Finding]:
        return self.findings

    @property
    def messages(self) -> list[str]:
        """The defects in words, their commands carrying the run's location options (many
        releases without a record said together: ``audit_rules.in_words``)."""
        return rules.in_words(
            self.findings, self.locations, recorded=len(self.releases), notes_dir=self.notes_dir
        )

    @property
    def ok(self) -> bool:
        return not self.findings

    def details(self, kind: str) -> dict[str, str]:
        """Registry name -> the detail of its finding of ``kind``."""
        return {f.registry: f.detail for f in self.findings if f.kind == kind}

    @property
    def unreachable(self) -> dict[str, str]:
        """Registry name -> why it could not be reached."""
        return self.details(rules.UNREACHABLE)

    @property
    def rate_limited(self) -> dict[str, str]:
        """Registry name -> what it said when it rate-limited the reads."""
        return self.details(rules.RATE_LIMITED)

    @property
    def invalid(self) -> dict[str, str]:
        """Registry name -> the content it named but did not serve."""
        return self.details(rules.INVALID)

    @property
    def refused(self) -> dict[str, str]:
        """Registry name -> the write of the repair it refused."""
        return self.details(rules.REFUSED)

    @property
    def refused_reads(self) -> dict[str, str]:
        """Registry name -> its refusal of the audit's reads (401/403)."""
        return self.details(rules.REFUSED_READ)

    @property
    def unanswered(self) -> dict[str, str]:
        """Every registry not audited (unreachable or rate-limited) -> what it said."""
        return {**self.unreachable, **self.rate_limited}

    @property
    def only_unanswered(self) -> bool:
        """Nothing found wrong but registries that did not answer."""
        return (
            bool(self.findings)
            and not self.unrepairable
            and all(f.kind in rules.UNANSWERED for f in self.findings)
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "releases": list(self.releases),
            "ok": self.ok,
            "unreachable": dict(sorted(self.unreachable.items())),
            "rate_limited": dict(sorted(self.rate_limited.items())),
            "findings": [f.to_dict(self.locations) for f in self.findings],
            "repaired": self.repaired,
            "unrepairable": self.unrepairable,
            "moved": self.moved,
            "undecided": self.undecided,
        }


def read_records(notes_dir: Path) -> tuple[list[ReleaseFacts], list[rules.Finding]]:
    """Every release record in ``notes_dir``, oldest first (none before the first
    release), and a ``newer-record`` finding for each one a newer publisher wrote
    (``NewerSchemaError``): left unread and as it is, the others still audited. Any other
    record that cannot be read stops the audit, as before."""
    records = []
    newer = []
    for release in record_releases(notes_dir):
        try:
            record = load_record(notes_dir, release.tag)
        except NewerSchemaError as exc:
            newer.append(
                rules.Finding(
                    shown_path(notes_dir),
                    rules.NEWER_RECORD,
                    record_path(notes_dir, release.tag).name,
                    None,
                    None,
                    release.tag,
                    str(exc.schema),
                )
            )
            continue
        assert record is not None
        records.append(record)
    return records, newer


def load_records(notes_dir: Path) -> list[ReleaseFacts]:
    """The release records in ``notes_dir`` this publisher reads, oldest first
    (``read_records``: those a newer publisher wrote are left out)."""
    return read_records(notes_dir)[0]


def unfinished_notes(notes_dir: Path, records: Sequence[ReleaseFacts]) -> list[rules.Finding]:
    """A finding (``notes-incomplete``) for each recorded release whose notes directory
    lacks what its run writes with the record: its pins file ``vX.Y.Z.env`` (written beside
    every record that has a ``publish_plan_sha256``; older publishers wrote none), or its
    sizes in a size history that is there (a missing one is rebuilt from the records)."""
    history = None
    if size_history_path(notes_dir).exists():
        try:
            history = load_size_history(notes_dir)
        except (PublisherError, OSError):  # not the audit's to judge: the next release says it
            history = None
    found = []
    for record in records:
        lacking = []
        pins = pins_mod.file_name(record.release)
        if record.publish_plan_sha256 and not (notes_dir / pins).exists():
            lacking.append(f"its pins file {pins} is missing")
        if history is not None and record.release not in history.sizes:
            lacking.append(f"{HISTORY_FILE} lacks its sizes")
        if lacking:
            found.append(
                rules.Finding(
                    shown_path(notes_dir),
                    rules.UNFINISHED_NOTES,
                    "",
                    None,
                    None,
                    record.release,
                    " and ".join(lacking),
                )
            )
    return found


@dataclass(frozen=True)
class Target:
    """One audited repository: its scope (registry, releases recorded there) and the
    registry settings pointed at it."""

    scope: rules.Scope
    registry: Registry

    @property
    def label(self) -> str:
        return self.scope.label


def targets(config: Config, records: Sequence[ReleaseFacts]) -> list[Target]:
    """Every repository to audit: per registry, today's and each one a record names."""
    found = rules.scopes(records, [(r.name, r.repository.name) for r in config.registries])
    by_name = {r.name: r for r in config.registries}
    result = []
    for scope in found:
        registry = by_name[scope.registry]
        if not scope.today:
            registry = dataclasses.replace(registry, repository=parse_repository(scope.repository))
        result.append(Target(scope, registry))
    return result


def _gone_words(missing: Sequence[Descriptor]) -> str:
    """The children of an index the registry lacks, each by platform and digest."""
    named = ", ".join(
        ("attestation manifest" if c.is_attestation else f"{c.platform or 'unknown'} image")
        + f" ({short_digest(c.digest)})"
        for c in missing
    )
    return f"its {named} {'is' if len(missing) == 1 else 'are'} gone"


class Auditor:
    def __init__(
        self,
        config: Config,
        records: Sequence[ReleaseFacts],
        connect: Callable[[Registry], RegistryClient],
        output: Output,
        *,
        anonymous: AnonymousClient | None = None,
        transfers: int = 8,
        locations: Locations = DEFAULT_LOCATIONS,
        unread: Sequence[str] = (),
    ) -> None:
        self.config = config
        #: the releases whose record a newer publisher wrote (``read_records``): their pins
        #: are not judged, and no repair moves a floating tag (it depends on every record)
        self.unread = tuple(unread)
        #: label of each repository judged -> its floating tags an unread record may place
        self.undecided: dict[str, list[str]] = {}
        #: the run's location options, which the commands its findings name carry
        self.locations = locations
        self.records = list(records)
        self.targets = targets(config, self.records)
        self._clients: dict[tuple[str, str], RegistryClient] = {}
        self.connect = connect
        self.output = output
        self.anonymous = anonymous
        self.transfers = Transfers(workers=transfers, output=output)
        self._complete: dict[tuple[str, str], tuple[bool, str]] = {}
        #: each manifest, image config and manifest's presence read once per repository
        #: in a pass over the registries, however many tags and records name it
        self.reads = ByDigest()
        #: (target label, index digest) -> its children's digest by platform (None: gone)
        self._children: dict[tuple[str, str], dict[str, str] | None] = {}
        #: (release, index digest) whose index contradicts the release's record: no
        #: repair moves a tag to it
        self.contradicted: set[tuple[str, str]] = set()
        #: target label -> why it could not be reached or was rate-limited (left out of
        #: the audit and repair)
        self.down: dict[str, Unaudited] = {}
        #: label of each repository a repair's requests failed on through the retries,
        #: or that named other content than it stored or served -> the error: its other
        #: repairs are not tried, and the report names it as down (or as invalid)
        self.failed: dict[str, Unaudited] = {}
        #: label of each repository that refused a repair's request (read-only, an
        #: immutable tag, a denied push: an answer no retry changes) -> the error: its
        #: other repairs are not tried, and the report names it as refusing
        self.refused: dict[str, RegistryError] = {}
        #: target label -> the tags the records hold to a digest there (``actual``)
        self._held: dict[str, frozenset[str]] = {}

    def client(self, target: Target) -> RegistryClient:
        """One client per registry and host (a moved repository may be on another host)."""
        key = (target.registry.name, target.registry.host)
        if key not in self._clients:
            self._clients[key] = self.connect(target.registry)
        return self._clients[key]

    @property
    def primary(self) -> Target:
        """The primary registry's repository matrix.yaml names today (where a rerun of
        a release reads the images its pins hold)."""
        name = self.config.primary.name
        return next(t for t in self.targets if t.registry.name == name and t.scope.today)

    # ---------------------------------------------------------------- reading

    def recorded_here(self, target: Target) -> tuple[list[ReleaseFacts], list[str]]:
        """The records of the releases published in ``target``'s repository, and the
        releases recorded in another repository of its registry."""
        here = set(target.scope.releases)
        records = [r for r in self.records if r.release in here]
        # a release whose record is unread is neither judged nor one without a record
        return records, [r.release for r in self.records if r.release not in here] + list(
            self.unread
        )

    def actual(self, target: Target) -> dict[str, str]:
        """Every tag of the scheme in ``target``'s repository -> its digest: a tag the
        records place elsewhere than its HEAD says is read by a GET (``resolve``)."""
        client = self.client(target)
        path = target.registry.repository.path
        records, elsewhere = self.recorded_here(target)
        expected = rules.expected_tags(records, {}, target.label, elsewhere)[0]
        self._held[target.label] = frozenset(expected)
        # a registry that does not list tags is asked for those the records imply
        wanted = [*expected, *scheme_tags([], self.config.line_names)]
        (listed,) = listed_tags([(client, path)], wanted, tell=self.output.warning)
        assert isinstance(listed, list)  # (no error is caught)
        tags = [t for t in listed if parse_scheme_tag(t) is not None or is_floating_tag(t)]
        return tag_digests(client, path, tags, {t: e.digest for t, e in expected.items()})

    def confirm_apart(self, group: Sequence[Target], actual: dict[str, dict[str, str]]) -> None:
        """Confirm by a GET whose body is hashed (``RegistryClient.confirm``) each tag no
        record holds to a digest (a pin of a release without a record, a floating tag no
        record explains) that the repositories of ``group`` read (by HEAD) at different
        digests: whether a release finished, whose content a floating tag carries and
        which floating tags disagree are never judged on a header's word. A repository
        that stops answering meanwhile joins ``down``."""
        read = [t for t in group if t.label in actual]
        doubted = []
        for tag in sorted({tag for t in read for tag in actual[t.label]}):
            free = [t for t in read if tag in actual[t.label] and tag not in self._held[t.label]]
            if len({actual[t.label][tag] for t in free}) > 1:
                doubted += [(t, tag) for t in free]

        def confirm(item: tuple[Target, str]) -> Unaudited | None:
            target, tag = item
            client = self.client(target)
            ref = Reference(client.host, target.registry.repository.path, tag)
            try:
                client.confirm(ref, actual[target.label][tag])
            except NOT_READ as exc:
                return exc
            return None

        for (target, _), exc in zip(doubted, in_parallel(confirm, doubted), strict=True):
            if exc is not None and target.label in actual:
                self.down[target.label] = exc
                del actual[target.label]

    def complete(self, target: Target, digest: str) -> tuple[bool, str]:
        """Is the index (or image) at ``digest`` there with every child manifest?

        Asked once per (repository, digest) in a run: several pins and floating tags
        name the same index, and a repair records what it copied.
        """
        key = (target.label, digest)
        if key not in self._complete:
            self._complete[key] = self._check_complete(target, digest)
        return self._complete[key]

    def _check_complete(self, target: Target, digest: str) -> tuple[bool, str]:
        self.check_indexes(target, [digest], workers=1)
        return self._complete[(target.label, digest)]

    def check_indexes(
        self,
        target: Target,
        digests: Sequence[str],
        workers: int = REQUESTS_IN_FLIGHT,
        *,
        reading: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Whether each index at ``digests`` is there with every child manifest, into
        ``complete``'s answers: the indexes read ``workers`` at a time, then their
        children asked about ``workers`` at a time (one level, so the requests to
        ``target`` in flight never exceed ``workers``). ``reading``: index digest -> the
        platforms whose images the caller reads next (``built_otherwise``): those are read
        whole here (an image read is there), not asked about by a HEAD first."""
        client = self.client(target)
        repo = target.registry.repository.path
        todo = [d for d in dict.fromkeys(digests) if (target.label, d) not in self._complete]

        def children(digest: str) -> list[Descriptor] | None:
            try:
                return list(self.reads.manifest(client, repo, digest).children)
            except NotFoundError:
                return None

        listed = dict(zip(todo, in_parallel(children, todo, workers), strict=True))
        for digest, found in listed.items():
            self._children[(target.label, digest)] = (
                None if found is None else {c.platform: c.digest for c in found if c.platform}
            )
        whole = {
            child
            for digest, platforms in (reading or {}).items()
            for platform, child in (self._children.get((target.label, digest)) or {}).items()
            if platform in platforms
        }

        def exists(child: str) -> bool:
            if child not in whole:
                return self.reads.manifest_exists(client, repo, child)
            try:
                self.reads.manifest(client, repo, child)
            except NotFoundError:
                return False
            return True

        asked = list(dict.fromkeys(c.digest for found in listed.values() for c in found or ()))
        there = dict(zip(asked, in_parallel(exists, asked, workers), strict=True))
        for digest, found in listed.items():
            missing = [c for c in found or () if not there[c.digest]]
            answer = (True, "")
            if found is None:
                answer = (False, "the index itself is gone")
            elif missing:
                answer = (False, _gone_words(missing))
            self._complete[(target.label, digest)] = answer

    def readable_anonymously(self, registry: Registry, tag: str) -> str | None:
        """None when anyone may read ``tag``; else what went wrong."""
        if self.anonymous is None:
            return None
        try:
            self.anonymous(registry).resolve(registry.ref(tag=tag))
        except AuthError as exc:
            return f"refused ({exc.message})"
        except NotFoundError:
            return "not found anonymously (a private repository answers so)"
        except RateLimitedError as exc:
            # a rate limit says nothing of who may read the repository: not a finding
            self.output.warning(
                f"{registry.name}: whether anonymous users can read {tag} was not checked: "
                f"{exc.message}; `{self.locations.command('check-public')}` checks it once "
                "the limit resets"
            )
        return None

    def _actual_or_error(self, target: Target) -> dict[str, str] | Unaudited:
        try:
            return self.actual(target)
        except NOT_READ as exc:
            return exc

    def run(self) -> AuditReport:
        report = AuditReport(tuple(r.release for r in self.records), locations=self.locations)
        report.moved = rules.moves([t.scope for t in self.targets])
        report.targets = {t.label: t.registry for t in self.targets}
        self.down = {}
        self.undecided = {}
        self.reads = ByDigest()  # what a repair wrote is read afresh
        for target in self.targets:
            self.client(target)  # made here, not by the threads
        found = in_parallel(self._actual_or_error, self.targets)
        actual: dict[str, dict[str, str]] = {}
        for target, tags in zip(self.targets, found, strict=True):
            if isinstance(tags, NOT_READ):
                self.down[target.label] = tags
            else:
                actual[target.label] = tags
        # Repositories holding the same recorded releases are compared with each
        # other only: the tags of different repositories are never mixed.
        groups: dict[tuple[str, ...], list[Target]] = {}
        for target in self.targets:
            groups.setdefault(tuple(sorted(target.scope.releases)), []).append(target)
        #: each part of the report in order: a group's disagreements, then each of its
        #: repositories' findings (filled in once every repository has been judged)
        findings: list[list[rules.Finding]] = []
        todo: list[tuple[Target, dict[str, str], set[str]]] = []
        placed: list[int] = []
        #: where each group's disagreements go, and the tags its repositories hold
        disagreeing: list[tuple[int, dict[str, dict[str, str]]]] = []
        for group in groups.values():
            self.confirm_apart(group, actual)
            held = {t.label: actual[t.label] for t in group if t.label in actual}
            disagreeing.append((len(findings), held))
            findings.append([])  # once its repositories are judged (below)
            # Releases whose pins are alike on every repository holding them:
            # finished, whether or not their record is here.
            finished = {
                parsed.release.tag
                for tags in settled(held).values()
                for tag in tags
                if (parsed := parse_scheme_tag(tag))
            }
            for target in group:
                if target.label not in self.down:
                    todo.append((target, held[target.label], finished))
                    placed.append(len(findings))
                findings.append([])
        # The repositories at once (up to REQUESTS_IN_FLIGHT of them), each asked at
        # most REQUESTS_IN_FLIGHT requests at a time: one level of requests each, never
        # nested pools multiplying them. The findings keep the order of the loop above;
        # an error other than a registry out of reach propagates, the first
        # repository's first, as one repository after another would have it.
        judged = in_parallel(lambda job: self._findings_or_error(*job), todo)
        for (target, _, _), at, judgement in zip(todo, placed, judged, strict=True):
            if isinstance(judgement, NOT_READ):
                self.down[target.label] = judgement
            else:
                findings[at] = judgement
        # a floating tag a repository lacks (one added to matrix.yaml after the releases)
        # is named missing there once, not also as the repositories disagreeing on it
        judged_findings = [f for part in findings for f in part]
        for at, held in disagreeing:
            findings[at] = rules.disagreements(held, judged_findings)
        report.findings += [f for part in findings for f in part]
        if self.primary.label in actual and self.primary.label not in self.down:
            self.built_for_others(report.findings, actual[self.primary.label])
            self.placed_elsewhere(report.findings, actual[self.primary.label])
            self.started_on_primary(report.findings, actual[self.primary.label])
        report.findings[:0] = [
            rules.unreachable(
                name,
                exc.message,
                rate_limited=isinstance(exc, RateLimitedError),
                invalid=isinstance(exc, InvalidResponseError),
                refused=isinstance(exc, AuthError),
            )
            for name, exc in self.down.items()
        ]
        report.advice = {name: exc.hint for name, exc in self.down.items()}
        report.undecided = {
            t.label: self.undecided[t.label] for t in self.targets if self.undecided.get(t.label)
        }
        return report

    def unrecorded_on_primary(self) -> AuditReport:
        """Before any record: the pins on the primary, which gets a release's pins first,
        each release's an ``unrecorded`` finding (a first release that stopped before
        writing its record; a rerun of it finishes it). The primary out of reach, or
        naming other content than it serves, is the one finding, as in every audit. A
        primary that refuses the read is a warning, as before any record nothing was read:
        Docker Hub and GHCR refuse a repository they do not have (before the first
        release's push) as they refuse a read denied."""
        primary = self.primary
        report = AuditReport(
            releases=(), targets={primary.label: primary.registry}, locations=self.locations
        )
        tags = self._actual_or_error(primary)
        if isinstance(tags, AuthError):
            self.output.warning(
                f"the pins on {primary.label} were not read: {tags.message} (a registry "
                "such as Docker Hub or GHCR refuses so a repository it does not have yet, "
                f"before the first release's push){'; ' + tags.hint if tags.hint else ''}"
            )
            return report
        if isinstance(tags, NOT_AUDITED):
            report.findings.append(
                rules.unreachable(
                    primary.label,
                    tags.message,
                    rate_limited=isinstance(tags, RateLimitedError),
                    invalid=isinstance(tags, InvalidResponseError),
                )
            )
            report.advice = {primary.label: tags.hint}
            return report
        report.findings += rules.expected_tags([], tags, primary.label)[1]
        self.built_for_others(report.findings, tags)
        self.started_on_primary(report.findings, tags)
        return report

    def built_for_others(self, findings: list[rules.Finding], held: dict[str, str]) -> None:
        """Name, in each ``unrecorded`` finding of ``findings``, the pins of its release on
        the primary (holding ``held``: a rerun of the release takes its images from there)
        that hold an image built for another pin (copied there by hand): that rerun
        refuses them (exit 14), so the finding names a republish instead of it. A pin
        that cannot be read is not judged."""
        releases = {f.release for f in findings if f.kind == rules.UNRECORDED}
        primary = self.primary
        pins = sorted(
            (tag, digest, parsed.release.tag)
            for tag, digest in held.items()
            if (parsed := parse_scheme_tag(tag)) and parsed.php and parsed.release.tag in releases
        )

        def built_as(pin: tuple[str, str, str]) -> str | None:
            tag, digest, _ = pin
            names = self.built_as(primary, digest)
            return next((name for name in names or () if name != tag), None)

        said: dict[str, list[str]] = {}
        for (tag, _, release), name in zip(pins, in_parallel(built_as, pins), strict=True):
            if name is not None:
                words = "one" if release in said else "an image"
                said.setdefault(release, []).append(f"{tag} holds {words} built as {name!r}")
        for at, finding in enumerate(findings):
            if finding.kind == rules.UNRECORDED and str(finding.release) in said:
                words = f"on {primary.label}, {', '.join(said[str(finding.release)])}"
                findings[at] = dataclasses.replace(finding, conflict=words)

    def started_on_primary(self, findings: list[rules.Finding], held: dict[str, str]) -> None:
        """Name, in each ``unrecorded`` finding of ``findings`` and each ``ahead`` one, the
        lines whose pins the primary (holding ``held``) has of the release without a record,
        when they are fewer than matrix.yaml's (``plan.started_with``): its run was narrowed
        to them (``--only``), or stopped while writing them, and a rerun given every line
        would add the others to it for good, so the finding names the rerun with them."""
        for at, finding in enumerate(findings):
            release = (
                finding.release
                if finding.kind == rules.UNRECORDED
                else finding.detail
                if finding.kind == rules.AHEAD
                else None
            )
            if release:
                started = started_with(str(release), held, self.config.line_names)
                findings[at] = dataclasses.replace(finding, started=started)

    def placed_elsewhere(self, findings: list[rules.Finding], held: dict[str, str]) -> None:
        """Name, in each ``unrecorded`` finding of findings of a registry but the primary
        (at the repository matrix.yaml names today), the pins of its release there that
        the primary (holding ``held``) lacks: publisher writes each pin on the primary
        first, so no run of it left those alone, and the finding names their deletion,
        then the release, not a rerun of the release (which would not take them)."""
        others = {
            t.label
            for t in self.targets
            if t.scope.today and t.registry.name != self.config.primary.name
        }
        for at, finding in enumerate(findings):
            if finding.kind != rules.UNRECORDED or finding.registry not in others:
                continue
            lacking = [tag for tag in finding.detail.split(", ") if tag not in held]
            if lacking:
                findings[at] = dataclasses.replace(finding, not_on_primary=", ".join(lacking))

    def built_as(self, target: Target, digest: str) -> list[str] | None:
        """The pins the images of the index ``digest`` in ``target``'s repository were
        built as (their version labels, sorted; an image built before the label existed
        names none), or None when they cannot be read."""
        client, path = self.client(target), target.registry.repository.path
        found = images_built_as(client, path, digest, self.reads)
        return None if found is None else sorted({name for _, name in found})

    def rebuild_of_itself(self, finding: rules.Finding, target: Target) -> str | None:
        """The PHP line of the pin ``finding`` says moved, when what it holds in
        ``target``'s repository are images built as that very pin (their version labels):
        the rebuild of a republish that stopped before writing its record. None otherwise."""
        parsed = parse_scheme_tag(finding.tag)
        if finding.kind != rules.MOVED or finding.actual is None or parsed is None:
            return None
        if parsed.php is None or self.built_as(target, finding.actual) != [finding.tag]:
            return None
        return parsed.php

    def _findings_or_error(
        self, target: Target, actual: dict[str, str], finished: set[str]
    ) -> list[rules.Finding] | Unaudited:
        try:
            return self._findings(target, actual, finished)
        except NOT_READ as exc:
            return exc

    def _findings(
        self, target: Target, actual: dict[str, str], finished: set[str]
    ) -> list[rules.Finding]:
        """What differs in ``target``'s repository (holding ``actual``) from what the
        records of the releases published there say; ``finished``: the releases whose
        pins are alike on every repository holding them."""
        findings: list[rules.Finding] = []
        records, elsewhere = self.recorded_here(target)
        label = target.label
        expected, notices = rules.expected_tags(records, actual, label, elsewhere)
        findings += notices
        findings += rules.compare(label, expected, actual, finished, self.unread)
        self.undecided[label] = list(rules.undecided(expected, actual, self.unread))
        # Each index the tags point at is checked once, several at a time: years of
        # releases are hundreds of indexes, each a GET and a HEAD per child.
        held = [want.digest for tag, want in expected.items() if actual.get(tag) == want.digest]
        # the index each recorded line names, too: a record is trusted only as far as the
        # index it names holds the images it lists
        named = [line.index_digest for record in records for line in record.lines]
        # the images of the platforms each record lists, which ``built_otherwise`` reads
        reading: dict[str, set[str]] = {}
        for record in records:
            for line in record.lines:
                reading.setdefault(line.index_digest, set()).update(
                    str(p.platform) for p in line.platforms
                )
        self.check_indexes(target, [*held, *named], reading=reading)
        findings += self.contradictions(target, records)
        findings += self.built_otherwise(target, records)
        findings += self.unrecorded_lines(target, records, actual)
        for tag, want in sorted(expected.items(), key=lambda item: rules.tag_order(item[0])):
            if actual.get(tag) != want.digest:
                continue
            ok, detail = self.complete(target, want.digest)
            if not ok:
                findings.append(
                    rules.Finding(
                        label,
                        rules.INCOMPLETE,
                        tag,
                        want.digest,
                        want.digest,
                        want.release,
                        detail,
                    )
                )
        newest = max(
            (t for t, e in expected.items() if not e.floating),
            key=lambda t: parse_scheme_tag(t).release,  # type: ignore[union-attr]
            default=None,
        )
        if newest and actual.get(newest):
            problem = self.readable_anonymously(target.registry, newest)
            if problem:
                findings.append(
                    rules.Finding(
                        label,
                        rules.PRIVATE,
                        newest,
                        None,
                        None,
                        expected[newest].release,
                        f"anonymous users cannot read it: {problem}",
                    )
                )
        return findings

    def contradictions(
        self, target: Target, records: Sequence[ReleaseFacts]
    ) -> list[rules.Finding]:
        """A finding for each recorded line whose index in ``target``'s repository holds
        other images than the record's platforms (the record was edited, or merged badly)."""
        found = []
        for record in records:
            for line in record.lines:
                children = self._children.get((target.label, line.index_digest))
                if children is None:
                    continue  # not there: a missing or incomplete finding says so
                wrong = [
                    f"{p.platform} is {short_digest(children.get(str(p.platform)))}, the "
                    f"record says {short_digest(p.digest)}"
                    for p in line.platforms
                    if children.get(str(p.platform)) != p.digest
                ]
                if not wrong:
                    continue
                self.contradicted.add((record.release, line.index_digest))
                found.append(
                    rules.Finding(
                        target.label,
                        rules.CONTRADICTED,
                        record.pins(line.php)[0],
                        line.index_digest,
                        None,
                        record.release,
                        f"{record.release}'s record names index {short_digest(line.index_digest)} "
                        f"for PHP {line.php}, which holds other images than the record lists "
                        f"({'; '.join(wrong)}): the record may have been edited, so no repair "
                        f"moves a tag to it; {restore_tip(self.locations.notes_dir, record.release)}",
                    )
                )
        return found

    def built_otherwise(
        self, target: Target, records: Sequence[ReleaseFacts]
    ) -> list[rules.Finding]:
        """A finding for each recorded line whose index in ``target``'s repository lists
        an image built for another platform or another release than it lists it as (its
        config says so: ``verify_rules.image_mismatches``; what an image's config does not
        say, as the version label of an image built before it existed, is not judged)."""
        client, repo = self.client(target), target.registry.repository.path
        work = [
            (record, line, platform, child)
            for record in records
            for line in record.lines
            if (children := self._children.get((target.label, line.index_digest))) is not None
            for platform, child in sorted(children.items())
            if platform in {str(p.platform) for p in line.platforms}
        ]

        def read(item: tuple[ReleaseFacts, LineFacts, str, str]) -> verify_rules.BuiltAs | None:
            try:
                image = self.reads.manifest(client, repo, item[3])
                if image.is_index or image.config is None:
                    return None
                return verify_rules.built_as(self.reads.config(client, repo, image))
            except NotFoundError:  # gone: an incomplete finding says so
                return None

        found = []
        for (record, line, platform, child), built in zip(
            work, in_parallel(read, work), strict=True
        ):
            if built is None:
                continue
            pin = record.pins(line.php)[0]
            for _, words in verify_rules.image_mismatches(platform, built, pin):
                found.append(
                    rules.Finding(
                        target.label,
                        rules.OTHER_CONTENT,
                        pin,
                        line.index_digest,
                        None,
                        record.release,
                        f"{record.release}'s index {short_digest(line.index_digest)} for PHP "
                        f"{line.php} lists {short_digest(child)} as {words}: "
                        "published from a wrong digest record, so no repair fixes it; "
                        f"`{self.locations.command('republish', record.release, REASON)}` "
                        "replaces its images",
                    )
                )
        return found

    def unrecorded_lines(
        self, target: Target, records: Sequence[ReleaseFacts], actual: dict[str, str]
    ) -> list[rules.Finding]:
        """A finding for each pin in ``target``'s repository of a recorded release for a
        line its record does not list: no repair touches it."""
        lines = {record.release: record.line_names for record in records}
        found = []
        for tag in sorted(actual, key=rules.tag_order):
            parsed = parse_scheme_tag(tag)
            if parsed is None or parsed.php is None:
                continue
            release = parsed.release.tag
            if release not in lines or parsed.php in lines[release]:
                continue
            found.append(
                rules.Finding(
                    target.label,
                    rules.UNRECORDED_LINE,
                    tag,
                    None,
                    actual[tag],
                    release,
                    f"{release}'s record has no PHP {parsed.php}, yet its pin is here "
                    f"({short_digest(actual[tag])}); a published release keeps its lines, "
                    "so no rerun or republish adds it back, and a repair leaves it: if an "
                    "earlier version of the record has the line (its entry removed by a hand "
                    "edit, a bad merge, or an older publisher's `republish --only`, which "
                    "rewrote the record with that one line), "
                    + restore_tip(self.locations.notes_dir, release, when=BEFORE_THE_DROP)
                    + f"; if none has it (a republish of {release} run before its record "
                    f"was in the notes directory, from a matrix.yaml without PHP "
                    f"{parsed.php}), leave the pin, or delete it by hand",
                )
            )
        return found

    # ---------------------------------------------------------------- repairing

    def holder(self, digest: str, release: str, exclude: Target) -> Target | None:
        """A repository holding ``digest`` complete where ``release`` is recorded on
        another registry (not ``exclude``, not one that is down)."""
        for target in self.targets:
            if (
                target.label in self.down
                or target.label in self.failed
                or target.registry.name == exclude.registry.name
                or release not in target.scope.releases
            ):
                continue
            if self.complete(target, digest)[0]:
                return target
        return None

    def repair(self, report: AuditReport) -> None:
        """Restore what the records say; pins first, then floating tags."""
        order = {rules.INCOMPLETE: 0, rules.MISSING: 1, rules.MOVED: 1, rules.FLOATING: 2}
        by_label = {t.label: t for t in self.targets}
        found = [f for f in report.defects if f.kind in order]
        # each kind registry by registry in matrix.yaml's order, as the report says them
        labels = in_matrix_order((f.registry for f in found), by_label)
        todo = sorted(found, key=lambda f: (order[f.kind], labels.index(f.registry), f.tag))
        for finding in todo:
            target = by_label[finding.registry]
            if target.label in self.failed or target.label in self.refused:
                continue  # said once, as a registry that could not be reached or refused
            try:
                self._repair(finding, target, report)
            except RegistryError as exc:  # the other repositories are still repaired
                # the registry that failed: the one repaired, or the one copied from
                hosts = (target, *self.targets)
                failed = next((t for t in hosts if self.client(t).host == exc.registry), target)
                if isinstance(exc, NOT_AUDITED):
                    self.failed[failed.label] = exc
                else:
                    self.refused[failed.label] = exc
        held = [f for f in report.defects if f.kind == rules.UNDECIDED]
        if held:
            # A floating tag an unread record may place: a move would follow a lower
            # release's word, so none is made; the others were moved as usual.
            tags = ", ".join(f"{f.registry}: {f.tag}" for f in held)
            waiting = sorted({r for f in held for r in f.detail.split(", ")}, key=rules.tag_order)
            one = len(waiting) == 1
            left = (
                f"{tags}: not moved while the record{'' if one else 's'} of "
                f"{', '.join(waiting)} {'is' if one else 'are'} unread, as "
                f"{'that release' if one else 'a release of theirs'} may place "
                f"{'it' if len(held) == 1 else 'them'} (a newer publisher wrote "
                f"{'it' if one else 'them'}); upgrade publisher, then run "
                f"`{self.locations.command('audit', '--repair')}` again"
            )
            report.unrepairable.append(left)
            report.awaiting_record.append(left)

    def _repair(self, finding: rules.Finding, target: Target, report: AuditReport) -> None:
        """Restore what ``finding`` says is wrong in ``target``'s repository."""
        registry = target.registry
        digest, release = finding.expected, finding.release
        lacking = rules.carried_unrecorded_line(finding, report.findings)
        if lacking is not None:  # the record restored from git places it
            left = f"{finding.says(report.locations)}: the repair leaves it, as it leaves {lacking.tag}"
            report.unrepairable.append(left)
            report.awaiting_record.append(left)
            return
        if digest is None or release is None:
            report.unrepairable.append(
                f"{finding.says(report.locations)}: no recorded release says where it belongs, so the "
                "repair leaves it; finish the release it came from"
            )
            return
        if (release, digest) in self.contradicted:
            left = (
                f"{finding.says(report.locations)}: that index holds other images than "
                f"{release}'s record lists, so the repair leaves it; "
                f"{restore_tip(self.locations.notes_dir, release)}"
            )
            report.unrepairable.append(left)
            report.awaiting_record.append(left)
            return
        if not self.complete(target, digest)[0]:
            source = self.holder(digest, release, target)
            if source is None:
                report.unrepairable.append(
                    f"{finding.says(report.locations)}: no repository where {finding.release} is recorded "
                    f"holds {digest} complete; republish the release, or, if the record "
                    f"itself is wrong, {restore_tip(self.locations.notes_dir, release)}"
                )
                return
            # The index and its children as roots: a present index with
            # children gone gets exactly the children it lacks.
            path = source.registry.repository.path
            children = self.reads.manifest(self.client(source), path, digest).children
            self.transfers.copy(
                self.client(source),
                path,
                [(self.client(target), registry.repository.path)],
                [*(c.digest for c in children), digest],
            )
            self._complete[(target.label, digest)] = (True, "")
            report.repaired.append(
                f"{target.label}: copied {short_digest(digest)} from {source.label}"
            )
        if finding.kind == rules.INCOMPLETE:
            return
        rebuilt = self.rebuild_of_itself(finding, target)
        self.client(target).tag(registry.repository.path, digest, finding.tag)
        # what the repair undid, a republish's rebuild, is said with the rerun making it again
        undone = (
            f" (it held {short_digest(finding.actual)}, a rebuild of {finding.tag} no record "
            "names: a republish that stopped before writing its record? `"
            + self.locations.command("republish", release, "--reason ...", "--only", rebuilt)
            + "` makes it again)"
            if rebuilt
            else ""
        )
        report.repaired.append(f"{target.label}: {finding.tag} -> {digest}{undone}")


def audit(
    config: Config,
    notes_dir: Path,
    connect: Callable[[Registry], RegistryClient],
    output: Output,
    *,
    repair: bool = False,
    anonymous: AnonymousClient | None = None,
    locations: Locations = DEFAULT_LOCATIONS,
) -> AuditReport:
    """Audit every recorded release where its record says it was published; with
    ``repair``, fix what can be fixed and audit again. ``connect`` makes the client
    of a registry (at today's repository or a recorded one); ``locations``: the run's
    location options, which the commands the report names carry."""
    records, newer = read_records(notes_dir)
    if not records and not newer:  # before the first release's notes are merged: not a mistake
        output.warning(nothing_recorded(notes_dir, config.primary))
        # nothing to repair from: a repair would leave these pins alone
        started = Auditor(config, records, connect, output, locations=locations)
        report = started.unrecorded_on_primary()
        report.notes_dir = shown_path(notes_dir)
        return report
    auditor = Auditor(
        config,
        records,
        connect,
        output,
        anonymous=anonymous,
        locations=locations,
        unread=[str(f.release) for f in newer],
    )
    # the records a newer publisher wrote, named after what was audited; the notes left
    notes = [*unfinished_notes(notes_dir, records), *newer]
    report = auditor.run()
    report.notes_dir = shown_path(notes_dir)
    report.findings += notes
    for sentence in report.moved:
        output.warning(sentence)
    for sentence in rules.dropped(records, (r.name for r in config.registries)):
        output.warning(sentence)
    if not repair or report.ok or report.only_unanswered:
        return report
    auditor.repair(report)
    again = auditor.run()
    again.notes_dir = report.notes_dir
    again.repaired = report.repaired
    again.unrepairable = report.unrepairable
    again.awaiting_record = report.awaiting_record
    # A registry that failed the repair's requests through the retries (it answered the
    # reads, then not the writes) is said as one that could not be reached; one that
    # named other content than it stored or served, as such.
    failed = []
    for label in in_matrix_order(auditor.failed, again.targets):
        exc = auditor.failed[label]
        if label not in {**again.unanswered, **again.invalid, **again.refused_reads}:
            failed.append(
                rules.unreachable(
                    label,
                    exc.message,
                    rate_limited=isinstance(exc, RateLimitedError),
                    invalid=isinstance(exc, InvalidResponseError),
                )
            )
            again.advice[label] = exc.hint
    # A registry that refused a write (read-only, an immutable tag, a denied push) is one
    # finding beside what is still wrong on it.
    for label in in_matrix_order(auditor.refused, again.targets):
        refusal = auditor.refused[label]
        if label not in {**again.unanswered, **again.invalid, **again.refused_reads}:
            failed.append(
                rules.Finding(label, rules.REFUSED, "", None, None, None, refusal.message)
            )
            again.advice[label] = refused_advice(refusal, locations.command("audit", "--repair"))
    again.findings[:0] = failed  # first, in matrix.yaml's order
    again.findings += notes  # no repair writes notes: a rerun of the release does
    return again


def refused_advice(exc: RegistryError, rerun: str = "publisher audit --repair") -> str:
    """What to do about a registry that refused a repair's write: make the tags
    overwritable when it said they are immutable, else what its refusal says; then
    ``rerun``."""
    if refused_as_immutable(exc):
        return f"{IMMUTABLE_TIP} `{rerun}`"
    # a tip that already ends "…, then rerun" (blobs already stored …) names the command
    # instead of saying it twice
    said = re.sub(
        r"[;,]? then rerun(?: \([^()]*\))?$", "", exc.hint or "check what the registry said"
    )
    return f"{said}; then rerun `{rerun}`"


def nothing_recorded(notes_dir: Path, primary: Registry) -> str:
    """What an audit of a notes directory without a release record says (exit 0 unless
    the primary holds pins of a release that started: ``Auditor.unrecorded_on_primary``)."""
    return (
        f"no release is recorded in {shown_path(notes_dir)} yet: nothing to audit but the pins on "
        f"{primary.name} of a release that started without finishing (a release's notes land "
        "there when its notes pull request is merged; pass --notes-dir if the releases wrote "
        "them elsewhere)"
    )


def _others_audited(
    report: AuditReport, about: Sequence[str], *, repaired: bool, joined: str
) -> str:
    """``joined`` and which registries but ``about`` were audited (and repaired): "the
    other registries" when every one was, else those named; "" when none was (each
    other one did not answer, or named other content than it served)."""
    others = [label for label in report.targets if label not in about]
    unaudited = {**report.unanswered, **report.invalid, **report.refused_reads}
    audited = [label for label in others if label not in unaudited]
    if not audited:
        return ""
    done = "audited and repaired" if repaired else "audited"
    if audited == others:
        return f"{joined}the other registries were {done}"
    return f"{joined}{', '.join(audited)} {'was' if len(audited) == 1 else 'were'} {done}"


def advice(
    config: Config,
    report: AuditReport,
    *,
    repaired: bool,
    locations: Locations = DEFAULT_LOCATIONS,
) -> str:
    """What to do about the defects ``report`` still lists; the commands it names carry
    ``locations``, the run's.

    A registry anonymous users cannot read is a visibility setting of that
    repository: neither ``--repair`` nor a republish changes it, so it gets the
    one-time steps of ``check-public``. A release with pins but no record is
    finished by rerunning it (a repair leaves its tags alone). Drifted tags and
    content get a repair, and what a repair could not restore a rerun or a
    republish. A registry that could not be reached gets audited again when it answers.
    """
    tips = []
    rerun = locations.command("audit", *(["--repair"] if repaired else []))
    newer = [f for f in report.defects if f.kind == rules.NEWER_RECORD]
    waiting = {tag for tags in report.undecided.values() for tag in tags}
    if newer:
        one = len(newer) == 1
        files = ", ".join(f.tag for f in newer)
        unjudged = "; ".join(
            f"{label}: {', '.join(tags)}" for label, tags in report.undecided.items()
        )
        tips.append(
            f"{files} {'was' if one else 'were'} written by a newer publisher: "
            f"upgrade publisher to the version that wrote {'it' if one else 'them'} (or a "
            f"later one), then run `{rerun}` again: it audits "
            f"{'that release' if one else 'those releases'}"
            + (
                f", and the floating tags {'it' if one else 'they'} may place are left "
                f"unjudged until then ({unjudged}): no readable release newer than "
                f"{'it' if one else 'them'} places them"
                if unjudged
                else ""
            )
            + " ("
            + (
                "the other records were audited"
                if report.releases
                else "no other record is here to audit"
            )
            + "; a job re-run from an older commit runs that commit's publisher)"
        )
    if any(f.kind == rules.AHEAD for f in report.defects):
        tips.append(
            "a floating tag ahead of the records carries a release that finished on every "
            "registry: a repair never moves it back; bring its record into the notes "
            "directory this audit reads (merge its notes pull request, or copy its vX.Y.Z.json, "
            ".md and .env there) or rerun that release"
        )
    down = in_matrix_order(report.unanswered, report.targets)
    if down:
        advice = {name: report.advice.get(name) for name in down}
        tips.append(
            unanswered_tip(advice, rerun)
            + _others_audited(report, down, repaired=repaired, joined=": ")
        )
    for label in in_matrix_order(report.invalid, report.targets):
        tips.append(
            f"{label}: {report.advice.get(label) or 'check the registry'}"
            + _others_audited(report, [label], repaired=repaired, joined="; ")
        )
    for label in in_matrix_order(report.refused_reads, report.targets):
        tips.append(
            f"{label}: {report.advice.get(label) or 'check the credentials it is given'}"
            + _others_audited(report, [label], repaired=repaired, joined="; ")
        )
    for label in in_matrix_order(report.refused, report.targets):
        tips.append(
            f"{label}: {report.advice.get(label) or 'check the registry'}"
            + _others_audited(report, [label], repaired=repaired, joined="; ")
        )
    if any(f.kind == rules.UNRECORDED for f in report.defects):
        tips.append(
            "no floating tag follows a release without a record, and a repair leaves its "
            "tags alone (it has no record to restore them from); if its record exists "
            "elsewhere, copy its vX.Y.Z.json, .md and .env into the notes directory this "
            "audit reads"
        )
    unfinished = sorted(
        {str(f.release) for f in report.defects if f.kind == rules.UNFINISHED_NOTES},
        key=rules.tag_order,
    )
    if unfinished:
        release = unfinished[0] if len(unfinished) == 1 else "vX.Y.Z"
        tips.append(
            f"{rerun_release(release, locations)}"
            f"{'' if len(unfinished) == 1 else ' for each of ' + ', '.join(unfinished)}: it "
            "writes the notes files it finds missing beside the record (no repair writes notes)"
        )
    # A record its registries contradict: its findings say how to restore it; a repair or
    # a rerun trusting it is no way out.
    contradicted = {(f.release, f.expected) for f in report.defects if f.kind == rules.CONTRADICTED}
    # Pins of a line a record lacks, and the floating tags carrying one that no recorded pin
    # places: no repair, rerun or republish adds a line to a published release.
    lacking = [f for f in report.defects if f.kind == rules.UNRECORDED_LINE]
    drift = [
        f
        for f in report.defects
        if f.kind
        not in (
            rules.PRIVATE,
            rules.UNRECORDED,
            rules.AHEAD,
            rules.CONTRADICTED,
            rules.OTHER_CONTENT,
            rules.UNRECORDED_LINE,
            *rules.NOT_JUDGED,
            rules.REFUSED,
            rules.UNFINISHED_NOTES,
            rules.NEWER_RECORD,
            rules.UNDECIDED,
        )
        # a floating tag an unread record may place waits for it: no repair moves it
        and not (f.kind == rules.DISAGREE and f.tag in waiting)
        and (f.release, f.expected) not in contradicted
        and rules.carried_unrecorded_line(f, lacking) is None
        # what a repair left on a registry that stopped answering (one named with others,
        # "hub, ghcr", when they disagree), the rerun of the repair restores
        and not (repaired and set(f.registry.split(", ")) & {*report.unanswered, *report.refused})
    ]
    if contradicted:
        releases = sorted({release for release, _ in contradicted if release}, key=rules.tag_order)
        tips.append(
            f"restore the record{'s' if len(releases) > 1 else ''} of {', '.join(releases)} "
            f"from git as said above, then run `{locations.command('audit')}` again: no "
            "repair moves a tag on the word of a record its registries contradict"
        )
    if lacking:
        releases = sorted({str(f.release) for f in lacking}, key=rules.tag_order)
        tips.append(
            f"a published release keeps its lines: restore the record{'s' if len(releases) > 1 else ''} "
            f"of {', '.join(releases)} from git as said above, then run "
            f"`{locations.command('audit')}` again (or, for a line no version of a record "
            "has, leave its pins or delete them by hand); no repair, rerun or republish adds "
            "a line"
        )
    if [u for u in report.unrepairable if u not in report.awaiting_record] or drift:
        tips.append(
            "what is left needs a rerun of the release or a republish"
            if repaired
            else f"run `{locations.command('audit', '--repair')}` to restore what the records say"
        )
    moved_pins = sorted(
        {f.release for f in report.defects if f.kind == rules.MOVED and f.release},
        key=rules.tag_order,
    )
    if moved_pins and not repaired:
        tips.append(
            f"if the pins of {', '.join(moved_pins)} moved because a republish stopped "
            "half-way, rerun that republish instead (`"
            + locations.command(
                "republish", moved_pins[0] if len(moved_pins) == 1 else "vX.Y.Z", "--reason ..."
            )
            + "`): a repair "
            "points them back at the images the record names"
        )
    moved = [label for label, registry in report.targets.items() if label != registry.name]
    left = [f.registry for f in drift] + report.unrepairable
    if repaired and any(label in text for label in moved for text in left):
        tips.append(
            "a release stays where it was published: to rerun or republish one that went "
            "to a repository matrix.yaml no longer names, run it with a matrix.yaml that "
            "names that repository"
        )
    private = {f.registry for f in report.defects if f.kind == rules.PRIVATE}
    for label, registry in report.targets.items():
        if label in private:
            tips.append(
                f"{label} cannot be read without credentials: that is the repository's "
                "visibility setting, which neither a repair nor a republish changes. "
                + fix_steps(config, registry, locations.command("audit"))
            )
    return "\n".join(tips)
