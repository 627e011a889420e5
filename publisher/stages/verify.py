"""The verify stage: fetch what the registries hold and apply ``verify_rules``.

``verify_release`` checks a whole release (every expected tag on every
registry); ``check_index`` checks one index digest without looking at tags (the
publish stage runs it before any tag moves). Missing content becomes defects.
A registry that cannot be reached (connection,
TLS, a server that keeps failing) or that rate-limits the reads past the retries
is one defect, and the registries that answer are still checked: during a partial
outage the report says what holds everywhere else. So is one that names other content
than it serves (a HEAD or a body it, or a proxy in front of it, altered: a manifest or a
config whose body does not match its digest) or sends an answer that cannot be taken (a
tag list, manifest or config malformed or over the size limit):
its defect says so, the others are checked, and the check ends as an invalid registry
response. A blob a registry holds with another size than its descriptor says (damaged) is
one defect of the image it belongs to: the rest of that registry is checked all the same,
and the check ends as an invalid registry response too. A registry that refuses the reads
(401 or 403: credentials it does not take, a token without read scope, a proxy denying
them) is one defect as well, the others checked, and the check ends as the refusal (exit
4, unless an invalid response makes it 8): a rerun alone gets the same refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..adapters.output import Output
from ..adapters.registry import Manifest, RegistryClient
from ..adapters.registry.client import DAMAGED_BLOB_HINT
from ..core import notes
from ..core import verify_rules as rules
from ..core.config import Config, Line, Registry, Selection
from ..core.errors import (
    UNANSWERED,
    AuthError,
    DamagedBlobError,
    InvalidResponseError,
    NotFoundError,
    PublisherError,
    RateLimitedError,
    Unanswered,
    VerificationError,
    unanswered_error,
    unanswered_tip,
)
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations
from ..core.notes import ReleaseFacts
from ..core.plan import (
    Plan,
    Started,
    in_matrix_order,
    is_floating_tag,
    rerun_release,
    wait_for_run,
)
from ..core.publish_plan import audit_repairs_image, config_for_record, moved_pins_tip
from ..core.reference import Reference
from ..core.sizes import human_size, megabytes
from ..core.verify_rules import Defect, ImageFacts, LineExpectation, Report, TagFacts
from ..core.version import Release
from ..resolve import STAND_IN_IMAGES, short_digest
from .parallel import REQUESTS_IN_FLIGHT, ByDigest, in_parallel, listed_tags

T = TypeVar("T")

#: What leaves one registry out of a check, said as its one defect while the others are
#: checked: it did not answer through the retries, it named other content than it
#: served (exit 8 once the others are checked), or it refused the reads (401/403: exit 4).
NOT_CHECKED = (*UNANSWERED, InvalidResponseError, AuthError)
Unchecked = Unanswered | InvalidResponseError | AuthError


def _missing_blobs(
    client: RegistryClient,
    repo_path: str,
    manifest: Manifest,
    label: str,
    cache: ByDigest,
) -> tuple[list[str], list[rules.DamagedBlob]]:
    """The blobs of ``manifest`` the registry lacks (``linux/arm64 config blob sha256:…``,
    ``linux/arm64 layer 2 of 3 blob sha256:…``), and those it holds with another size than
    their descriptors say (damaged: the registry, or a proxy, serves other content)."""
    missing: list[str] = []
    damaged: list[rules.DamagedBlob] = []
    layers = manifest.layers
    blobs = [(f"{label}config blob", manifest.config)] if manifest.config is not None else []
    blobs += [(f"{label}layer {n} of {len(layers)} blob", b) for n, b in enumerate(layers, 1)]
    for named, blob in blobs:
        try:
            there = cache.blob_exists(client, repo_path, blob.digest, blob.size)
        except DamagedBlobError as exc:
            at = client.transport.label
            damaged.append(
                rules.DamagedBlob(named, blob.digest, exc.served, blob.size, at, repo_path)
            )
            continue
        if not there:
            missing.append(f"{named} {short_digest(blob.digest)}")
    return missing, damaged


def inspect_index(
    client: RegistryClient,
    registry_name: str,
    repo_path: str,
    digest: str,
    *,
    reads: ByDigest | None = None,
    configs: Mapping[str, bytes] | None = None,
) -> ImageFacts:
    """Everything the rules need to know about one digest: platforms, sizes, what is
    missing or damaged (a blob there with another size than its descriptor's), what each
    image's config says it is (``configs``: config blobs already read, by digest, not
    downloaded again; ``reads``: the run's blob checks, each blob asked once per
    repository even when several indexes that share layers are inspected at once).

    Content the registry sends altered or malformed (a manifest or config whose body
    does not match its digest, or cannot be parsed) raises InvalidResponseError: the
    registry's answer, not a defect of the release (a rerun or a repair restores nothing
    of it)."""
    cache = reads or ByDigest()
    try:
        manifest = client.get_manifest_by_digest(repo_path, digest)
    except NotFoundError:
        return ImageFacts(registry_name, digest, error="the index itself is not found")
    missing: list[str] = []
    damaged: list[rules.DamagedBlob] = []
    if not manifest.is_index:
        missing, damaged = _missing_blobs(client, repo_path, manifest, "", cache)
        gone_blobs = len(missing)
        try:
            sizes = client.manifest_platform_sizes(repo_path, manifest)
        except NotFoundError as exc:
            return ImageFacts(
                registry_name,
                digest,
                is_index=False,
                missing=(*missing, exc.message),
                missing_blobs=gone_blobs,
                damaged=tuple(damaged),
            )
        return ImageFacts(
            registry_name,
            digest,
            is_index=False,
            platforms=sizes,
            missing=tuple(missing),
            missing_blobs=gone_blobs,
            damaged=tuple(damaged),
        )
    platforms: dict[str, int] = {}
    duplicates: list[str] = []
    unfetched: list[str] = []
    children: dict[str, str] = {}
    nested: dict[str, str] = {}
    #: platform -> what its image's config says it is (the first image listed for it)
    built: dict[str, rules.BuiltAs] = {}
    # An entry naming no platform that is no attestation either: said by its digest, never
    # as a platform (there is none to name).
    unplatformed = [
        c.digest for c in manifest.children if not c.is_attestation and c.platform is None
    ]
    gone_blobs = gone_manifests = 0
    for child in manifest.children:
        short = short_digest(child.digest)
        # A child is said by its platform; one listed with none, by its digest (there is
        # no platform to name: not "unknown platform", a name nobody wrote).
        if child.is_attestation or child.platform is not None:
            label = "attestation" if child.is_attestation else child.platform
            listed, prefix = f"{label} manifest {short}", f"{label} "
        else:
            listed, prefix = f"manifest {short} (listed with no platform)", f"image {short}'s "
        if child.platform is not None and not child.is_attestation:
            children.setdefault(child.platform, child.digest)
        try:
            child_manifest = client.get_manifest_by_digest(repo_path, child.digest)
        except NotFoundError:
            missing.append(listed)
            gone_manifests += 1
            if not child.is_attestation and child.platform is not None:
                unfetched.append(child.platform)
            continue
        gone, cut = _missing_blobs(client, repo_path, child_manifest, prefix, cache)
        missing += gone
        gone_blobs += len(gone)
        damaged += cut
        if child.is_attestation or child.platform is None:
            continue
        key = child.platform
        if child_manifest.is_index:
            nested.setdefault(key, child.digest)
            continue
        if key in platforms:
            duplicates.append(key)
        platforms[key] = child_manifest.compressed_size
        config = child_manifest.config
        if (
            config is not None
            and key not in built
            and all(blob.digest != config.digest for blob in cut)  # a damaged one: not read
            and cache.blob_exists(client, repo_path, config.digest, config.size)  # (asked above)
        ):
            try:
                known = (configs or {}).get(config.digest)
                built[key] = rules.built_as(
                    client.parse_config(config.digest, known)
                    if known is not None
                    else client.image_config(repo_path, child_manifest)
                )
            except NotFoundError:
                missing.append(f"{prefix}config blob {short_digest(config.digest)}")
                gone_blobs += 1
    return ImageFacts(
        registry_name,
        digest,
        is_index=True,
        platforms=platforms,
        duplicate_platforms=tuple(duplicates),
        missing=tuple(missing),
        unfetched=tuple(unfetched),
        children=children,
        unplatformed=tuple(unplatformed),
        nested=nested,
        missing_blobs=gone_blobs,
        missing_manifests=gone_manifests,
        built=built,
        damaged=tuple(damaged),
    )


@dataclass(frozen=True)
class IndexCheck:
    """The result of checking one index digest on one registry."""

    facts: ImageFacts
    found: tuple[Defect, ...]

    @property
    def defects(self) -> list[str]:
        return [d.message for d in self.found]

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.facts.platforms)

    @property
    def ok(self) -> bool:
        return not self.found


def check_index(
    client: RegistryClient,
    registry: Registry,
    digest: str,
    line: Line,
    pin: str | None = None,
    *,
    configs: Mapping[str, bytes] | None = None,
) -> IndexCheck:
    """Check one index digest (no tags): exactly the line's platforms, within budget,
    complete, each image built for its platform (and for ``pin``, the line's pin);
    ``configs``: as ``inspect_index``. A blob there damaged raises DamagedBlobError naming
    it, its image and the index, and content sent altered or malformed InvalidResponseError
    (exit 8: publish writes no tag on such a registry's word)."""
    path = registry.repository.path
    facts = inspect_index(client, registry.name, path, digest, configs=configs)
    for blob in facts.damaged[:1]:
        under = f"the index {digest}" + (f" ({pin})" if pin else "")
        raise DamagedBlobError(
            f"{blob.registry}: {blob.named} {blob.digest} under {under} in "
            f"{path} is damaged: the registry holds {blob.served} bytes of it (the "
            f"Content-Length of its HEAD), its descriptor says {blob.expected}",
            served=blob.served,
            expected=blob.expected,
            registry=client.host,
            hint=DAMAGED_BLOB_HINT,
        )
    found = rules.check_image(facts, line.platforms, line.size_budget_bytes, php=line.php, pin=pin)
    return IndexCheck(facts, tuple(found))


def load_published(
    config: Config,
    notes_dir: Path,
    release: Release,
    output: Output,
    only: tuple[str, ...] | None = None,
) -> tuple[Config, ReleaseFacts | None]:
    """``config`` as ``release`` was published, for commands that read what it is.

    Like ``publish.load_release``, but a line the release was published with that
    matrix.yaml no longer has is kept as its record describes it (its pins,
    digests, platforms and size budget can be checked without today's matrix).
    ``only`` (``--only``) selects among the release's lines, such a line included;
    without a record, among matrix.yaml's.
    """
    record = notes.load_record(notes_dir, release.tag)
    if record is None:
        return (config.select(only, option="--only") if only is not None else config), None
    if only is not None:
        # A recorded line the environment's override leaves out is refused as every
        # command refuses it (exit 2, naming the override), not left out in silence.
        off = tuple(
            php
            for php in only
            if php in record.line_names and php in config.all_lines and php not in config.line_names
        )
        if off and config.narrowed_by:
            config.select(off, option="--only")  # raises, naming the override
        # Selected, not narrowed yet: a line the matrix dropped may be chosen from the record.
        config = dataclasses.replace(config, selection=Selection("--only", only))
    adjusted, notices = config_for_record(
        config, record, keep_dropped=True, recorded=notes.recorded_tags(notes_dir)
    )
    for notice in notices:
        output.warning(notice)
    if only is not None:
        adjusted = dataclasses.replace(
            adjusted, lines=tuple(line for line in adjusted.lines if line.php in only)
        )
    return adjusted, record


def expectations(
    config: Config, plan: Plan, record: ReleaseFacts | None = None
) -> list[LineExpectation]:
    """What every selected line of ``plan`` must look like on every registry.

    With the release's ``record``, each pin must also point at the index it names.
    """
    recorded = {line.php: line.index_digest for line in record.lines} if record else {}
    images = (
        {line.php: {str(p.platform): p.digest for p in line.platforms} for line in record.lines}
        if record
        else {}
    )
    result = []
    for line_plan in plan.lines:
        tags = {t.registry: tuple(t.tags) for t in line_plan.targets}
        result.append(
            LineExpectation(
                php=line_plan.php,
                platforms=tuple(line_plan.platforms),
                budget_bytes=line_plan.size_budget_bytes,
                tags=tags,
                recorded=recorded.get(line_plan.php),
                recorded_images=images.get(line_plan.php, {}),
                pins=plan.pins(line_plan.php),
                stand_in=config.stand_in or (record is not None and record.stand_in),
            )
        )
    return result


def existing_tags(
    config: Config,
    clients: Mapping[str, RegistryClient],
    wanted: Iterable[str] = (),
    output: Output | None = None,
) -> tuple[dict[str, list[str]], dict[str, Unchecked]]:
    """The tags on each registry that answers, and each one left out of the check
    (registry name -> its error): it cannot be reached, rate-limits the read, or sends a
    tag list that is no valid answer (not JSON, over the size limit, pages without end).
    The registries are asked at the same time; one that does not list tags is asked for
    ``wanted`` (and the tags the others list) one by one (``listed_tags``), and
    ``output`` says so."""
    registries = list(config.registries)
    found = listed_tags(
        [(clients[r.name], r.repository.path) for r in registries],
        wanted,
        caught=NOT_CHECKED,
        tell=output.warning if output is not None else None,
    )
    existing: dict[str, list[str]] = {}
    unchecked: dict[str, Unchecked] = {}
    for registry, answer in zip(registries, found, strict=True):
        if isinstance(answer, NOT_CHECKED):
            unchecked[registry.name] = answer
        else:
            assert isinstance(answer, list)
            existing[registry.name] = answer
    return existing, unchecked


#: One registry's answer: where each tag points, and what each digest holds.
_RegistryFacts = tuple[list[TagFacts], dict[tuple[str, str], ImageFacts]]


def confirm_disagreeing(
    config: Config,
    wanted: Sequence[LineExpectation],
    tags: Sequence[TagFacts],
    clients: Mapping[str, RegistryClient],
    workers: int = REQUESTS_IN_FLIGHT,
) -> dict[str, Unchecked]:
    """Confirm by a GET whose body is hashed (``RegistryClient.confirm``) each tag of a
    line without a record whose tags were read (by HEAD) at different digests: a line
    is never said to disagree on a header's word. Returns the registries that stopped
    answering meanwhile, or that named other content than they serve (their tags then
    not judged)."""
    doubted: list[TagFacts] = []
    for line in wanted:
        read = [f for f in tags if f.digest and f.tag in line.tags.get(f.registry, ())]
        if line.recorded is None and len({f.digest for f in read}) > 1:
            doubted += read
    repositories = {r.name: r.repository for r in config.registries}

    def confirm(fact: TagFacts) -> Unchecked | None:
        repo = repositories[fact.registry]
        assert fact.digest is not None
        try:
            clients[fact.registry].confirm(Reference(repo.domain, repo.path, fact.tag), fact.digest)
        except NOT_CHECKED as exc:
            return exc
        return None

    down: dict[str, Unchecked] = {}
    for fact, exc in zip(doubted, in_parallel(confirm, doubted, workers), strict=True):
        if exc is not None:
            down.setdefault(fact.registry, exc)
    return down


def verify_release(
    config: Config,
    plan: Plan,
    clients: Mapping[str, RegistryClient],
    output: Output,
    *,
    record: ReleaseFacts | None = None,
    unchecked: Mapping[str, Unchecked] | None = None,
    workers: int = REQUESTS_IN_FLIGHT,
    locations: Locations = DEFAULT_LOCATIONS,
    started: Started | None = None,
) -> Report:
    """Check every expected tag of ``plan`` on every registry; return every defect found.

    With ``record``, every pin must point at the index the record names.
    ``unchecked`` (from ``existing_tags``) names registries already known to be
    down, rate-limiting or sending invalid answers (their tag list); one that stops
    answering during the check joins them, as does one that names other content than
    it serves. Each is a defect, the others are
    checked. Does not raise on defects (see ``defects_error``); authentication errors
    propagate.

    The registries are read at the same time, and on each up to ``workers`` tags
    are resolved and indexes inspected at once (``workers=1``: one request at a
    time); the report does not depend on the order the answers arrive in.
    ``locations``: the run's location options, which the commands its tips name carry;
    ``started`` (``plan.started_with``, without a record): the lines whose pins the primary
    holds, fewer than a rerun would build, which the rerun the tips name is given.
    """
    wanted = expectations(config, plan, record)
    down: dict[str, Unchecked] = dict(unchecked or {})
    cache = ByDigest()

    def read(registry: Registry) -> _RegistryFacts | Unchecked:
        """What ``registry`` holds of the release, or why it could not be read."""
        client = clients[registry.name]
        repo = registry.repository
        #: set by the first request that finds the registry gone (or lying): the requests
        #: still queued for it then end at once instead of each waiting out retries.
        gone: list[Unchecked] = []

        def unless_gone(ask: Callable[[str], T]) -> Callable[[str], T]:
            def asked(item: str) -> T:
                if gone:
                    raise gone[0]
                try:
                    return ask(item)
                except NOT_CHECKED as exc:
                    gone.append(exc)
                    raise

            return asked

        @unless_gone
        def resolve(tag: str) -> str | None:
            ref = Reference(repo.domain, repo.path, tag)
            try:
                return client.resolve(ref, expected=recorded.get(tag))
            except NotFoundError:
                return None

        @unless_gone
        def inspect(digest: str) -> ImageFacts:
            output.progress(f"checking {registry.name} {repo.name}@{digest}")
            return inspect_index(client, registry.name, repo.path, digest, reads=cache)

        tags = [tag for line in wanted for tag in line.tags.get(registry.name, ())]
        #: each tag -> the index its line's record names (a HEAD naming another is
        #: confirmed by a GET)
        recorded = {
            tag: line.recorded
            for line in wanted
            if line.recorded
            for tag in line.tags.get(registry.name, ())
        }
        try:
            if registry.name not in resolved:
                digests = in_parallel(resolve, tags, workers, first_alone=True)
                resolved[registry.name] = dict(zip(tags, digests, strict=True))
            found = [TagFacts(registry.name, t, d) for t, d in resolved[registry.name].items()]
            # a floating tag's content waits until a pin of the release is found somewhere
            distinct = list(
                dict.fromkeys(
                    f.digest
                    for f in found
                    if f.digest
                    and (pinned or not is_floating_tag(f.tag))
                    and (registry.name, f.digest) not in images  # read in the first pass
                )
            )
            inspected = in_parallel(inspect, distinct, workers)
        except NOT_CHECKED as exc:
            return exc
        return found, {(registry.name, d): f for d, f in zip(distinct, inspected, strict=True)}

    resolved: dict[str, dict[str, str | None]] = {}
    tag_facts: list[TagFacts] = []
    images: dict[tuple[str, str], ImageFacts] = {}
    # Without a record, a release with no pin on any registry was never published: the
    # floating tags carry an earlier release, not judged, so its images are not read.
    pinned = record is not None
    for _ in range(1 if pinned else 2):
        answering = [r for r in config.registries if r.name not in down]
        for registry, answer in zip(answering, in_parallel(read, answering, workers), strict=True):
            if isinstance(answer, NOT_CHECKED):
                down[registry.name] = answer
            else:
                tag_facts += answer[0]
                images.update(answer[1])
        if pinned or not any(f.digest for f in tag_facts if not is_floating_tag(f.tag)):
            break
        pinned, tag_facts = True, []  # a pin found: read again, with the floating tags' images
    images = {key: facts for key, facts in images.items() if key[0] not in down}
    for name, exc in confirm_disagreeing(config, wanted, tag_facts, clients, workers).items():
        down[name] = exc
        tag_facts = [f for f in tag_facts if f.registry != name]
    said = {name: exc.message for name, exc in down.items()}
    limited = {n: said.pop(n) for n, exc in down.items() if isinstance(exc, RateLimitedError)}
    lying = {n: said.pop(n) for n, exc in down.items() if isinstance(exc, InvalidResponseError)}
    refused = {n: said.pop(n) for n, exc in down.items() if isinstance(exc, AuthError)}
    report = rules.build_report(
        plan.release,
        wanted,
        tag_facts,
        images,
        said,
        limited,
        primary=config.primary.name,
        invalid=lying,
        refused=refused,
        registries=[r.name for r in config.registries],
    )
    return dataclasses.replace(
        report,
        advice={name: exc.hint for name, exc in down.items()},
        locations=locations,
        started=started,
    )


def report_rows(report: Report, registries: Sequence[str]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for line in report.lines:
        for name in registries:
            if name in report.unanswered or name in report.invalid or name in report.refused:
                state = (
                    "rate limited"
                    if name in report.rate_limited
                    else "invalid response"
                    if name in report.invalid
                    else "refused"
                    if name in report.refused
                    else "unreachable"
                )
                rows.append((line.php, name, state, "-", "-", "-"))
                continue
            found = line.registry_sizes.get(name, {})
            sizes = ", ".join(f"{p} {human_size(found[p])}" for p in sorted(found)) or "-"
            tags = line.tags.get(name, {})
            digest = line.digests.get(name)
            # the tags on the row's digest: a tag that points elsewhere is not counted,
            # so "4/4" never stands beside a floating tag left on another release
            held = sum(1 for d in tags.values() if d and (digest is None or d == digest))
            rows.append(
                (
                    line.php,
                    name,
                    digest or "-",
                    f"{held}/{len(tags)}",
                    sizes,
                    megabytes(line.budget_bytes),
                )
            )
    return rows


def show_report(report: Report, config: Config, output: Output) -> None:
    output.table(
        f"Release {report.release}: index digests and compressed sizes",
        ("PHP", "registry", "index digest", "tags", "size per platform", "budget"),
        report_rows(report, [r.name for r in config.registries]),
    )
    if report.left_out and report.started is not None:
        lines = report.left_out
        output.warning(
            f"PHP {', '.join(lines)} {'is' if len(lines) == 1 else 'are'} not checked: the run "
            f"that published {report.release} was narrowed to PHP "
            f"{', '.join(report.started.lines)}, and no record of it is here; to write its "
            f"record, {rerun_release(report.release, report.locations, report.started)}"
        )
    if report.ok:
        output.verdict(f"verified: release {report.release} is complete and consistent everywhere")


def defects_hint(report: Report) -> str:
    """What to do about ``report``'s defects.

    A tag pointing at other content is refused by a rerun of the release (exit
    14): it is put back from the record (``audit --repair``) or replaced on
    purpose (``republish``), which also finishes a republish that stopped before
    writing the record. Missing tags or content are what a rerun finishes (an image
    or a blob another registry lost under an index it holds too: the rerun copies it
    back from the primary, and ``audit --repair`` a lost image of a recorded release too),
    but for what the primary itself lost under an index it holds, which only a copy of it
    by digest from another registry (or a republish) restores. Each applies beside the
    others: what restores a lost image or blob is said beside what fixes a pin, and an
    image over its size budget beside any of them (none of them, nor a rerun, makes it
    smaller).
    """
    release = report.release
    at = report.locations
    scripts = f"`{at.command('verify', release, '--json')}` lists the defects for scripts"
    if report.nothing_published:
        return (
            f"no tag of {release} is on any registry that answered, and no record of it is "
            f"here: it was never published (is the tag mistyped? `git tag --list` and the "
            f"release notes directory name the releases); `{at.command('release', release)}` "
            f"publishes it; {wait_for_run(release)}"
        )
    if any(d.kind == "record-contradicted" for d in report.defects):
        # neither a rerun nor a repair may act on a record the registry contradicts
        return (
            f"{release}'s record names an index holding other images than it lists: it was "
            f"edited or merged badly; {notes.restore_tip(at.notes_dir, release)}, then verify "
            f"again (neither a rerun nor `{at.command('audit', '--repair')}` moves a pin on its "
            f"word); {scripts}"
        )
    # an image of an index a pin was moved onto by hand is that index's, not the
    # release's: the repair points the pin back at the one the record names
    moved = {(d.php, d.registry) for d in report.defects if d.kind == "pin-moved"}
    own = [d for d in report.defects if (d.php, d.registry) not in moved]
    if any(d.kind == "stand-in" for d in own):
        # published as PHP, yet built on stand-in bases: a rerun and a repair keep them
        return (
            f"{release} was published from STAND-IN images, {STAND_IN_IMAGES} (a base "
            "mirror serving stand-ins, PUBLISHER_BASE_MIRROR or base.mirror): point the "
            "mirror at the real bases (or unset it), then replace the images on purpose: "
            f"`{at.command('republish', release, REASON)}`; {scripts}"
        )
    if any(d.kind in rules.OTHER_CONTENT_KINDS for d in own):
        # the images are wrong, record and all: a rerun and a repair keep them
        return (
            f"an index of {release} lists an image built for another platform or another "
            "release than it lists it as (published from a digest record naming another "
            "leg's image): neither a rerun nor a repair changes an index's images; replace "
            f"them on purpose: `{at.command('republish', release, REASON)}`; {scripts}"
        )
    # a rerun pushes the same images again: it finishes the rest, not this
    grown = (
        "a rerun pushes the same images, so it brings none within its size budget: see "
        "what grew (`publisher inspect` shows each platform's compressed size), then make "
        "the image smaller, or raise the line's budget (size_budget_mb in matrix.yaml) "
        "when the growth is expected"
    )
    # said beside what fixes a pin or restores a lost image or blob, which leave the
    # sizes as they are
    too_big = f"; {grown}" if any(d.kind == "over-budget" for d in report.defects) else ""
    pins = _pins_tip(report)
    if pins is not None:
        # a rerun refuses while a pin holds other content: what it would finish
        # (a missing tag) waits for the pins, what restores a lost piece does not
        lost = _lost_tip(report, [], pins_first=True)
        return pins + (f"; {lost}" if lost else "") + f"{too_big}; {scripts}"
    # what a rerun does finish beside it (a missing tag): said too
    rest = [
        d
        for d in report.defects
        if d.kind not in ("child-missing", "over-budget", *rules.NOT_JUDGED_KINDS)
    ]
    lost = _lost_tip(report, rest)
    if lost is not None:
        return f"{lost}{too_big}; {scripts}"
    rerun = f"{rerun_release(release, at, report.started)} to finish or repair it" + (
        f"; `{at.command('audit', '--repair')}` restores the tags the record names"
        if report.recorded
        else ""
    )
    # no record yet: a run of the release may be writing its tags now
    wait = "" if report.recorded else f"; {wait_for_run(release)}"
    if not too_big:
        return f"{rerun}{wait}; {scripts}"
    others = [d for d in report.defects if d.kind not in ("over-budget", *rules.NOT_JUDGED_KINDS)]
    return (
        f"{grown}; {rerun} for the other defects{wait}; {scripts}"
        if others
        else f"{grown}; {scripts}"
    )


def _pins_tip(report: Report) -> str | None:
    """What fixes a tag pointing at other content than the release's, or a pin whose
    index holds content publish never writes (None: neither): a rerun refuses both."""
    release = report.release
    at = report.locations
    republish = f"`{at.command('republish', release, REASON)}`"
    # a platform the matrix dropped: without a record, today's matrix names the platforms
    dropped = (
        "if matrix.yaml no longer lists a platform the release was published with, put it back"
    )
    if report.off_record:
        # the one wording of a refused run's tip (`release --dry-run`, exit 14)
        return moved_pins_tip(release, report.off_record, at) + (
            f"; if the record itself is wrong (edited by hand, merged badly), "
            f"{notes.restore_tip(at.notes_dir, release)}"
        )
    if report.wrong_pins:
        # no record names the release's indexes (a pin off its record is said above); a
        # pin also holding a platform publish never wrote there: put the platform back
        foreign = (
            f"; a pin's index also lists what the line is not published with: {dropped}"
            if report.foreign_pins and not report.recorded
            else ""
        )
        return (
            f"a tag of {release} points at other content than the release's, which a rerun "
            f"refuses: to replace the content on purpose, {republish}{foreign}"
        )
    if report.foreign_pins:
        return (
            f"a pin of {release} points at an index that lists an image of a platform the "
            "line is not published for, an image naming no platform (an attestation "
            "manifest is neither), or an index in place of a platform's image: a rerun "
            "refuses to replace what a pin holds (exit 14). "
            f"{dropped[0].upper()}{dropped[1:]}; otherwise replace the content on purpose: "
            f"{republish}"
        )
    return None


def _lost_tip(report: Report, rest: Sequence[Defect], *, pins_first: bool = False) -> str | None:
    """What restores an image or a blob a registry lost under an index it holds (None:
    none is lost); ``rest``: the other defects a rerun finishes, said beside it.
    ``pins_first``: a pin holds other content, which a rerun refuses until it is fixed."""
    release = report.release
    at = report.locations
    repair = at.command("audit", "--repair")
    if not (report.blobs_gone or report.children_gone):
        return None
    gone = (
        "one of its blobs (its config or a layer)"
        if not report.children_gone
        else "one of the manifests it lists (an image, an attestation manifest)"
        if not report.blobs_gone
        else "some of the manifests it lists and the blobs of others"
    )
    if not report.gone_on_primary:
        tags = "restores the tags the record names"
        # audit reads manifests, not blobs: it copies back a lost manifest of a recorded
        # release only
        repairs = (
            f", or `{repair}`, which copies it back from a registry that holds "
            "it" + (f" and {tags}" if rest else "")
            if report.recorded and report.children_gone and not report.blobs_gone
            else f"; `{repair}` {tags}"
            if report.recorded and rest
            else ""
        )
        return (
            f"a registry holds an index or image of {release} without {gone}, which the "
            f"primary holds whole: "
            + ("once the pins hold the release's content, " if pins_first else "")
            + f"{rerun_release(release, at, report.started)}, which copies back from the "
            "primary what another registry lacks under the release's indexes"
            + (" and finishes the other defects" if rest else "")
            + repairs
        )
    if report.children_gone and report.recorded and not report.blobs_gone:
        return (
            f"the primary holds an index of {release} without one of the manifests it lists "
            "(an image, an attestation manifest), which a rerun does not restore (the copies "
            f"start from the primary; it refuses, naming it): {audit_repairs_image(at)}"
        )
    rerun = f"{rerun_release(release, at, report.started)} to finish or repair it" + (
        f"; `{repair}` restores the tags the record names" if report.recorded else ""
    )
    return (
        f"the primary holds an index or image of {release} without {gone}: a rerun does "
        "not restore it (the copies to the other registries start from the primary), nor "
        f"does `{repair}` "
        + (
            "(it copies missing images back, not the blobs of one a registry holds)"
            if report.recorded
            else "(it leaves a release without a record alone)"
        )
        + "; copy the index again by digest from a registry that holds it complete, "
        "which uploads what the other lacks "
        "(`skopeo copy --all --preserve-digests docker://HOST/REPOSITORY@DIGEST "
        "docker://OTHER-HOST/REPOSITORY@DIGEST`)"
        + (
            f", or replace the content: `{at.command('republish', release, REASON)}`"
            if report.recorded
            else ""
        )
        + (f"; {rerun} for the other defects" if rest else "")
    )


def unreachable_hint(report: Report) -> str:
    return unanswered_tip(
        {
            name: report.advice.get(name)
            for name in in_matrix_order(report.unanswered, report.registries)
        },
        report.locations.command("verify", report.release),
    )


def defects_error(report: Report) -> PublisherError | None:
    """The VerificationError listing every defect, or None when there is none.

    When the only defects are registries that could not be reached or rate-limited
    the reads, the error says so (exit 7, or 6 when one was rate-limited): the others
    hold the release as they should. A registry that named other content than it
    served, or holds a blob damaged, makes it an InvalidResponseError listing every
    defect all the same (exit 8); else one that refused the reads, an AuthError (exit 4).
    """
    messages = [d.message for d in report.defects]
    if report.invalid or report.damaged or report.refused:  # every defect listed, as exit 8/4
        listed = VerificationError(messages, hint=_invalid_hint(report))
        kind = InvalidResponseError if report.invalid or report.damaged else AuthError
        return kind(listed.message, hint=listed.hint)
    if report.only_unanswered:
        answered = any(line.tags for line in report.lines)
        return unanswered_error(
            messages,
            rate_limited=bool(report.rate_limited),
            hint=(
                "the registries that answered hold the release complete and consistent; "
                if answered
                else ""
            )
            + unreachable_hint(report),
        )
    if report.defects:
        hint = defects_hint(report)
        if report.unanswered:
            hint += "; " + unreachable_hint(report)
        return VerificationError(messages, hint=hint)
    return None


def _invalid_hint(report: Report) -> str:
    """What to check on each registry that named other content than it served or refused
    the reads, and on each holding a blob damaged, then what the other defects call for."""
    tips = [
        f"{name}: "
        + (
            report.advice.get(name)
            or ("check the credentials it is given" if name in report.refused else "")
            or "check the registry"
        )
        for name in in_matrix_order({**report.invalid, **report.refused}, report.registries)
    ]
    tips += [f"{name}: {DAMAGED_BLOB_HINT}" for name in report.damaged]
    if any(line.tags for line in report.lines):  # some registry was checked beside it
        rest = dataclasses.replace(
            report, defects=tuple(d for d in report.defects if d.kind != rules.DAMAGED_BLOB)
        )
        judged = [d for d in rest.defects if d.kind not in rules.NOT_JUDGED_KINDS]
        if judged:
            checked = "the rest was" if report.damaged else "the other registries were"
            tips.append(f"{checked} checked: {defects_hint(rest)}")
        elif report.damaged:
            tips.append("the rest of the release is complete and consistent where it was read")
        else:
            tips.append(
                "the other registries that answered hold the release complete and consistent"
            )
    if report.unanswered:
        tips.append(unreachable_hint(report))
    return "; ".join(tips)
