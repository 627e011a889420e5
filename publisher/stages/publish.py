"""The publish stage: everything after the builds, from the collected digest records.

Order (each a visible step):

1. read the tags present on every registry and compute the plan;
2. assemble one OCI index per PHP line from its platform digests and push it by
   digest to the primary (children are already there: the builds pushed them);
3. copy each index to every other registry by digest;
4. verify every index on every registry: platforms, sizes within budget,
   identical digests;
5. smoke-test every platform image by digest;
6. write the pin tags on every registry, then recompute the floating tags from
   all pins present on each registry and move them;
7. verify the tags;
8. write the release notes atomically.

Nothing before step 6 writes a tag, so a failure there moves no tag; every step
skips what is already done, so a rerun finishes a failed release. A pin that
already points at other content is refused unless this is a republish. With
``dry_run`` the stage only reads: it prints the plan and every tag move
(old digest -> new) and sends no mutating request.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .. import notes as notes_mod
from .. import pins as pins_mod
from .. import plan as planning
from ..config import Config, Registry
from ..errors import ReleaseConflictError, UsageError, VerificationError
from ..fileio import write_atomic
from ..output import Output
from ..records import DigestRecord
from ..reference import Reference
from ..registry import Descriptor, RegistryClient, build_index, descriptor_for, sha256_digest
from ..registry.transfer import DEFAULT_TRANSFERS, Transfers
from ..version import Release
from .verify import check_index

#: The PHP version recorded when smoke tests were skipped.
NOT_TESTED = "not smoke-tested"

#: How often the floating tags are recomputed after moving them, so that two
#: concurrent releases converge on the highest one.
FLOATING_ROUNDS = 5

#: Called with the platform image reference, platform, line; returns the exact PHP version.
SmokeTest = Callable[[Reference, str, str, tuple[str, ...]], str]


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
class TagMove:
    registry: str
    tag: str
    old: str | None
    new: str
    #: for a floating tag: the release whose content it carries
    source_release: str = ""

    @property
    def changes(self) -> bool:
        return self.old != self.new


@dataclass
class PublishResult:
    plan: planning.Plan
    indexes: dict[str, LineIndex]
    moves: list[TagMove] = field(default_factory=list)
    notes_md: Path | None = None
    notes_json: Path | None = None
    facts: notes_mod.ReleaseFacts | None = None


T = TypeVar("T")
R = TypeVar("R")

#: Registry requests in flight at once for reads and tag writes.
REQUESTS_IN_FLIGHT = 8


def in_parallel(
    fn: Callable[[T], R], items: Sequence[T], workers: int = REQUESTS_IN_FLIGHT
) -> list[R]:
    """``[fn(x) for x in items]``, several at a time; the first error propagates."""
    if len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def tag_digests(client: RegistryClient, repo: str, tags: Sequence[str]) -> dict[str, str]:
    """tag -> digest for the tags present (resolved several at a time)."""
    found = in_parallel(lambda tag: client.tag_digests(repo, [tag]), list(dict.fromkeys(tags)))
    return {tag: digest for one in found for tag, digest in one.items()}


def plan_digest(p: planning.Plan) -> str:
    return "sha256:" + hashlib.sha256(p.to_json().encode()).hexdigest()


# --------------------------------------------------------------------------- pure helpers


def match_records(
    config: Config, release: Release, records: Sequence[DigestRecord]
) -> dict[str, list[DigestRecord]]:
    """The records of each selected line in platform order; every leg must be present."""
    by_key: dict[tuple[str, str], DigestRecord] = {}
    for record in records:
        if record.release != release.tag:
            continue
        key = (record.php, record.platform)
        if key in by_key and by_key[key].digest != record.digest:
            raise UsageError(
                f"two digest records for PHP {record.php} {record.platform} disagree "
                f"({by_key[key].digest} and {record.digest})",
                hint="keep only the records of one build run in the --digests directory",
            )
        by_key[key] = record
    missing: list[str] = []
    result: dict[str, list[DigestRecord]] = {}
    for line in config.lines:
        result[line.php] = []
        for platform in line.platforms:
            found = by_key.get((line.php, platform.value))
            if found is None:
                missing.append(f"{line.php} {platform}")
                continue
            record = found
            if record.repository != config.primary.repository.name:
                raise UsageError(
                    f"the record for PHP {line.php} {platform} names {record.repository}, "
                    f"but the primary registry is {config.primary.repository.name}"
                )
            result[line.php].append(record)
    if missing:
        raise UsageError(
            f"no digest record for release {release.tag}: {', '.join(missing)}",
            hint="run `publisher build` for those legs (or `publisher release`) first",
        )
    return result


# --------------------------------------------------------------------------- the stage


class Publisher:
    """Runs the publish steps for one release against real registries."""

    def __init__(
        self,
        config: Config,
        release: Release,
        clients: Mapping[str, RegistryClient],
        output: Output,
        *,
        notes_dir: Path,
        smoke: SmokeTest | None = None,
        republish_reason: str | None = None,
        dry_run: bool = False,
        jobs: int = 2,
        transfers: int = DEFAULT_TRANSFERS,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.config = config
        self.jobs = max(1, jobs)
        #: blob transfers in flight while copying to the other registries
        self.transfers = Transfers(workers=transfers, output=output)
        #: manifest bodies this run assembled, so tagging them needs no GET
        self._bodies: dict[str, tuple[bytes, str]] = {}
        self.release = release
        self.clients = clients
        self.output = output
        self.notes_dir = notes_dir
        self.smoke = smoke
        self.republish_reason = republish_reason
        self.dry_run = dry_run
        self.now = now

    def client(self, registry: Registry) -> RegistryClient:
        return self.clients[registry.name]

    @property
    def primary(self) -> Registry:
        return self.config.primary

    # ---------------------------------------------------------------- steps

    def read_plan(self) -> planning.Plan:
        existing = {
            r.name: self.client(r).list_tags(r.repository.path) for r in self.config.registries
        }
        return planning.plan(self.config, self.release, existing)

    def assemble(self, by_line: Mapping[str, list[DigestRecord]]) -> dict[str, LineIndex]:
        primary = self.client(self.primary)
        repo = self.primary.repository.path
        indexes = {}
        fetched = in_parallel(
            lambda record: primary.get_manifest_by_digest(repo, record.digest),
            [record for records in by_line.values() for record in records],
        )
        manifests = {m.digest: m for m in fetched}
        for php, records in by_line.items():
            children: list[Descriptor] = []
            attestations: list[Descriptor] = []
            images: list[tuple[str, str]] = []
            for record in records:
                manifest = manifests[record.digest]
                if manifest.is_index:
                    # buildx with provenance/SBOM pushes a small index: the image
                    # plus its attestation manifests, which are carried along.
                    found = [c for c in manifest.children if not c.is_attestation]
                    if len(found) != 1:
                        raise UsageError(
                            f"the record for PHP {php} {record.platform} names an index with "
                            f"{len(found)} images; a build leg must push exactly one platform image"
                        )
                    attestations.extend(manifest.attestations)
                    manifest = primary.get_manifest_by_digest(repo, found[0].digest)
                children.append(descriptor_for(manifest, record.platform))
                images.append((record.platform, manifest.digest))
            body, media_type = build_index([*children, *attestations])
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
        return indexes

    def check_conflicts(self, p: planning.Plan, indexes: Mapping[str, LineIndex]) -> dict[str, str]:
        """Pins of this release that point elsewhere: refuse, or (republish) return old digests."""
        conflicts: list[str] = []
        old: dict[str, str] = {}
        for registry in self.config.registries:
            client = self.client(registry)
            for line in p.lines:
                pins = p.pins(line.php)
                present = tag_digests(client, registry.repository.path, pins)
                for tag, digest in present.items():
                    if digest != indexes[line.php].digest:
                        conflicts.append(
                            f"{registry.repository.name}:{tag} is {digest}, this build is {indexes[line.php].digest}"
                        )
                        old.setdefault(line.php, digest)
        if conflicts and self.republish_reason is None:
            raise ReleaseConflictError(
                f"release {self.release.tag} is already published with other content:\n  - "
                + "\n  - ".join(conflicts),
                hint=f"to replace it on purpose, run `publisher republish {self.release.tag} --reason ...`; "
                "to finish an interrupted release, rerun with the same digest records",
            )
        return old

    def push_indexes(self, indexes: Mapping[str, LineIndex]) -> None:
        client = self.client(self.primary)
        repo = self.primary.repository.path
        for index in indexes.values():
            if client.manifest_exists(repo, index.digest):
                self.output.detail(
                    f"PHP {index.php}: index {index.digest} already on {self.primary.name}"
                )
                continue
            client.put_manifest(repo, index.body, index.media_type)
            self.output.info(
                f"PHP {index.php}: pushed index {index.digest} to {self.primary.repository.name}"
            )

    def copy_indexes(self, indexes: Mapping[str, LineIndex]) -> None:
        """Copy every index to every other registry by digest: each blob once per registry.

        One transfer plan for all lines and registries (``registry.transfer``):
        each blob is downloaded from the primary once and uploaded once per
        registry, up to ``transfers`` at a time; children go before the indexes.
        """
        targets = [(self.client(r), r.repository.path) for r in self.config.secondaries]
        if not targets or not indexes:
            return
        plan = self.transfers.copy(
            self.client(self.primary),
            self.primary.repository.path,
            targets,
            [index.digest for index in indexes.values()],
        )
        pushed = {
            (step.target.registry, step.target.repository, step.digest)
            for step in plan.missing_roots
        }
        for registry in self.config.secondaries:
            base = self.client(registry).transport.base
            for index in indexes.values():
                if (base, registry.repository.path, index.digest) in pushed:
                    self.output.info(
                        f"PHP {index.php}: copied {index.digest} to {registry.repository.name}"
                    )
                else:
                    self.output.detail(f"PHP {index.php}: already on {registry.name}")

    def verify_indexes(self, indexes: Mapping[str, LineIndex]) -> dict[str, dict[str, int]]:
        defects: list[str] = []
        sizes: dict[str, dict[str, int]] = {}
        work = [(r, index) for r in self.config.registries for index in indexes.values()]
        checks = in_parallel(
            lambda item: check_index(
                self.client(item[0]), item[0], item[1].digest, self.config.line(item[1].php)
            ),
            work,
        )
        for (registry, index), found in zip(work, checks, strict=True):
            defects += found.defects
            if registry.primary:
                sizes[index.php] = dict(found.sizes)
        if defects:
            raise VerificationError(defects, hint="no tag was written; fix the cause and rerun")
        rows = [
            (
                php,
                platform,
                f"{size / 1e6:.1f} MB",
                f"{self.config.line(php).size_budget_bytes / 1e6:.0f} MB",
            )
            for php, by_platform in sizes.items()
            for platform, size in sorted(by_platform.items())
        ]
        self.output.table(
            "Compressed size per platform image", ("PHP", "platform", "size", "budget"), rows
        )
        return sizes

    def smoke_test(self, indexes: Mapping[str, LineIndex]) -> dict[str, str]:
        """Smoke-test every platform image (up to ``jobs`` at once); the exact PHP version per line."""
        smoke = self.smoke
        if smoke is None:
            return {}
        work = [
            (index, record.platform, self.primary.ref(digest=index.image(record.platform)))
            for index in indexes.values()
            for record in index.records
        ]

        def one(item: tuple[LineIndex, str, Reference]) -> str:
            index, platform, ref = item
            line = self.config.line(index.php)
            version = smoke(ref, platform, index.php, line.extensions.names)
            self.output.info(f"PHP {index.php} {platform}: PHP {version} starts, php-fpm -t passes")
            return version

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            results = list(pool.map(one, work))
        found: dict[str, dict[str, str]] = {}
        for (index, platform, _ref), version in zip(work, results, strict=True):
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
        self, indexes: Mapping[str, LineIndex], pin_moves: Sequence[TagMove]
    ) -> dict[str, str]:
        """The versions an earlier, finished run recorded for exactly these indexes; else {}."""
        if any(m.changes for m in pin_moves):
            return {}
        earlier = self.previous_notes() or {}
        lines = earlier.get("lines")
        if not isinstance(lines, list):
            return {}
        recorded = {
            str(line.get("php")): (line.get("index_digest"), line.get("php_version"))
            for line in lines
            if isinstance(line, dict)
        }
        versions = {}
        for php, index in indexes.items():
            digest, version = recorded.get(php, (None, None))
            if digest != index.digest or not isinstance(version, str) or version == NOT_TESTED:
                return {}
            versions[php] = version
        return versions

    def desired_pins(
        self, p: planning.Plan, indexes: Mapping[str, LineIndex]
    ) -> list[tuple[str, str]]:
        return [(tag, indexes[line.php].digest) for line in p.lines for tag in p.pins(line.php)]

    def pin_moves(self, p: planning.Plan, indexes: Mapping[str, LineIndex]) -> list[TagMove]:
        pins = self.desired_pins(p, indexes)

        def one(registry: Registry) -> list[TagMove]:
            present = tag_digests(
                self.client(registry), registry.repository.path, [t for t, _ in pins]
            )
            return [TagMove(registry.name, tag, present.get(tag), digest) for tag, digest in pins]

        return [m for moves in in_parallel(one, list(self.config.registries)) for m in moves]

    def floating_moves(
        self, registry: Registry, extra: Mapping[str, str] | None = None
    ) -> list[TagMove]:
        """Where the floating tags of ``registry`` must point, from the pins present there.

        ``extra`` adds pins not written yet (for a dry run's preview).
        """
        client = self.client(registry)
        repo = registry.repository.path
        tags = set(client.list_tags(repo)) | set(extra or {})
        wanted = planning.floating_tags(registry.name, tags, self.config.line_names)
        lookup = [f.source for f in wanted] + [f.tag for f in wanted]
        digests = tag_digests(client, repo, [t for t in lookup if t not in (extra or {})])
        digests.update(extra or {})
        return [
            TagMove(registry.name, f.tag, digests.get(f.tag), digests[f.source], f.source_release)
            for f in wanted
            if f.source in digests
        ]

    def write_pins(self, moves: Sequence[TagMove]) -> None:
        """Point each tag at its digest (several at once); skip tags already there."""
        pending = [m for m in moves if m.changes]

        def one(move: TagMove) -> None:
            registry = next(r for r in self.config.registries if r.name == move.registry)
            client = self.client(registry)
            known = self._bodies.get(move.new)
            if known is None:
                client.tag(registry.repository.path, move.new, move.tag)
            else:
                client.put_manifest(registry.repository.path, known[0], known[1], tag=move.tag)
            self.output.info(f"{registry.repository.name}:{move.tag} -> {move.new}")

        in_parallel(one, pending)

    def move_floating(self) -> list[TagMove]:
        applied: list[TagMove] = []
        for _ in range(FLOATING_ROUNDS):
            found = in_parallel(self.floating_moves, list(self.config.registries))
            pending = [m for moves in found for m in moves if m.changes]
            if not pending:
                return applied
            self.write_pins(pending)
            applied += pending
        raise VerificationError(
            [f"floating tags kept changing after {FLOATING_ROUNDS} rounds (concurrent releases?)"],
            hint="rerun: floating tags are recomputed from the pins present",
        )

    def verify_tags(
        self, p: planning.Plan, indexes: Mapping[str, LineIndex]
    ) -> list[notes_mod.FloatingFacts]:
        """Every pin in place; floating tags where the pins say, identical on every registry.

        A concurrent release may still be moving floating tags; then they are
        recomputed (as in step 6) and checked again a few times before giving up.
        """
        pins = dict(self.desired_pins(p, indexes))

        def check_pins(registry: Registry) -> list[str]:
            present = tag_digests(self.client(registry), registry.repository.path, list(pins))
            return [
                f"{registry.repository.name}:{tag} is {present.get(tag)}, expected {digest}"
                for tag, digest in pins.items()
                if present.get(tag) != digest
            ]

        defects = [
            d for found in in_parallel(check_pins, list(self.config.registries)) for d in found
        ]
        if defects:
            raise VerificationError(defects, hint="rerun the same command to finish the release")
        for attempt in range(FLOATING_ROUNDS):
            defects, floating = self._check_floating()
            if not defects:
                return floating
            self.output.detail(
                "floating tags changed meanwhile (a concurrent release?); recomputing"
            )
            time.sleep(0.2 * (attempt + 1))
            self.move_floating()
        raise VerificationError(defects, hint="rerun the same command to finish the release")

    def _check_floating(self) -> tuple[list[str], list[notes_mod.FloatingFacts]]:
        registries = list(self.config.registries)
        found = in_parallel(self.floating_moves, registries)
        defects = [
            f"{m.registry}:{m.tag} is {m.old}, expected {m.new}"
            for moves in found
            for m in moves
            if m.changes
        ]
        maps = {
            r.name: {m.tag: m.new for m in moves}
            for r, moves in zip(registries, found, strict=True)
        }
        reference = maps[self.primary.name]
        defects += [
            f"floating tags on {name} differ from {self.primary.name}: {tags} vs {reference}"
            for name, tags in maps.items()
            if tags != reference
        ]
        floating = [
            notes_mod.FloatingFacts(m.registry, m.tag, m.source_release, m.new)
            for moves in found
            for m in moves
        ]
        return defects, floating

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
        lines = []
        for line_plan in p.lines:
            index = indexes[line_plan.php]
            line = self.config.line(line_plan.php)
            first = index.records[0]
            tags = next(t.tags for t in line_plan.targets if t.registry == self.primary.name)
            lines.append(
                notes_mod.LineFacts(
                    php=line_plan.php,
                    php_version=versions.get(line_plan.php, NOT_TESTED),
                    index_digest=index.digest,
                    tags=tags,
                    base_image=first.base_image,
                    base_digest=first.base_digest,
                    size_budget_bytes=line.size_budget_bytes,
                    platforms=tuple(
                        notes_mod.PlatformFacts(
                            r.platform,
                            index.image(r.platform),
                            sizes[line_plan.php].get(r.platform, 0),
                        )
                        for r in index.records
                    ),
                )
            )
        return notes_mod.ReleaseFacts(
            release=self.release.tag,
            stable=self.release.is_stable,
            stand_in=self.config.stand_in,
            default_line=self.config.default_line,
            published_at=self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            registries=tuple(
                notes_mod.RegistryFacts(r.name, r.repository.name, r.primary)
                for r in self.config.registries
            ),
            lines=tuple(lines),
            floating=tuple(floating),
            history=history,
            source_url=self.config.source_url,
            regression_percent=self.config.size_regression_percent,
            plan_sha256=plan_digest(p),
        )

    def previous_notes(self) -> dict[str, object] | None:
        path = self.notes_dir / f"{self.release.tag}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def write_notes(self, facts: notes_mod.ReleaseFacts) -> tuple[Path, Path]:
        history_path = self.notes_dir / "size-history.json"
        try:
            history = notes_mod.SizeHistory.from_json(history_path.read_text(encoding="utf-8"))
        except OSError:
            history = notes_mod.SizeHistory()
        md = write_atomic(
            self.notes_dir / f"{self.release.tag}.md", notes_mod.release_markdown(facts, history)
        )
        js = write_atomic(
            self.notes_dir / f"{self.release.tag}.json", notes_mod.release_json(facts, history)
        )
        write_atomic(history_path, history.with_release(facts).to_json())
        # The launcher's pins (digest-pinned references per line), from the record just written.
        write_atomic(
            self.notes_dir / pins_mod.file_name(self.release.tag),
            pins_mod.render(notes_mod.to_dict(facts, history)),
        )
        return md, js

    # ---------------------------------------------------------------- the run

    def run(self, records: Sequence[DigestRecord]) -> PublishResult:
        out = self.output
        with out.step("1/8 Read the tags on every registry and compute the plan"):
            p = self.read_plan()
            by_line = match_records(self.config, self.release, records)
            self._show_plan(p)
        with out.step("2/8 Assemble one index per PHP line"):
            indexes = self.assemble(by_line)
            old = self.check_conflicts(p, indexes)
            for index in indexes.values():
                out.info(
                    f"PHP {index.php}: index {index.digest} over {len(index.images)} platform images"
                )
            if not self.dry_run:
                self.push_indexes(indexes)
        result = PublishResult(plan=p, indexes=indexes)
        if self.dry_run:
            self._show_dry_run(p, indexes)
            return result
        with out.step("3/8 Copy every index to the other registries by digest"):
            self.copy_indexes(indexes)
        with out.step("4/8 Verify platforms, sizes and digests on every registry"):
            sizes = self.verify_indexes(indexes)
        with out.step("5/8 Smoke-test every platform image"):
            pin_moves = self.pin_moves(p, indexes)
            versions = self.tested_before(indexes, pin_moves)
            if versions:
                out.info(
                    "every pin already points at these indexes and the notes record their "
                    "smoke-tested versions: not testing again"
                )
            else:
                versions = self.smoke_test(indexes)
                if self.smoke is None:
                    out.warning("smoke tests skipped (--no-smoke)")
        with out.step("6/8 Write the pin tags, then move the floating tags"):
            self.write_pins(pin_moves)
            result.moves = [m for m in pin_moves if m.changes] + self.move_floating()
            if not result.moves:
                out.info("every tag already points where it should; nothing moved")
        with out.step("7/8 Verify the tags"):
            floating = self.verify_tags(p, indexes)
        with out.step("8/8 Write the release notes"):
            history = self._history(old, indexes)
            facts = self.facts(p, indexes, sizes, versions, floating, history)
            result.notes_md, result.notes_json = self.write_notes(facts)
            result.facts = facts
            out.info(f"wrote {result.notes_md} and {result.notes_json}")
        self._report(facts)
        return result

    def _history(
        self, old: Mapping[str, str], indexes: Mapping[str, LineIndex]
    ) -> tuple[notes_mod.Republish, ...]:
        earlier = self.previous_notes()
        history = notes_mod.history_from_json(earlier) if earlier else ()
        if self.republish_reason is None:
            return history
        changes = []
        earlier_lines = (earlier or {}).get("lines", [])
        previous_lines = {
            str(line["php"]): str(line["index_digest"])
            for line in (earlier_lines if isinstance(earlier_lines, list) else [])
        }
        for php in self.config.line_names:
            before = old.get(php) or previous_lines.get(php)
            if before is not None and before != indexes[php].digest:
                changes.append((php, before, indexes[php].digest))
        if not changes:
            return history  # a rerun of a finished republish changes nothing
        return (
            *history,
            notes_mod.Republish(
                date=self.now().strftime("%Y-%m-%d"),
                reason=self.republish_reason,
                changes=tuple(changes),
            ),
        )

    def _show_plan(self, p: planning.Plan) -> None:
        rows = [
            (line.php, ", ".join(line.platforms), t.repository, ", ".join(t.tags))
            for line in p.lines
            for t in line.targets
        ]
        self.output.table(f"Plan for {p.release}", ("PHP", "platforms", "repository", "tags"), rows)

    def _show_dry_run(self, p: planning.Plan, indexes: Mapping[str, LineIndex]) -> None:
        moves = self.pin_moves(p, indexes)
        for registry in self.config.registries:
            extra = {m.tag: m.new for m in moves if m.registry == registry.name}
            moves += self.floating_moves(registry, extra)
        rows = [
            (m.registry, m.tag, m.old or "(new)", m.new, "moves" if m.changes else "unchanged")
            for m in moves
        ]
        self.output.table(
            "Dry run: tags that would move (nothing was written)",
            ("registry", "tag", "old", "new", ""),
            rows,
        )
        self.output.info("plan JSON:")
        self.output.print_text(p.to_json())

    def _report(self, facts: notes_mod.ReleaseFacts) -> None:
        rows = []
        for line in facts.lines:
            for platform in line.platforms:
                rows.append(
                    (
                        line.php,
                        line.php_version,
                        platform.platform,
                        platform.digest,
                        f"{platform.size_bytes / 1e6:.1f} MB",
                    )
                )
            self.output.set_output(f"digest-{line.php}", line.index_digest)
        self.output.table(
            f"Published {facts.release}", ("PHP", "version", "platform", "digest", "size"), rows
        )
        self.output.set_output(
            "digests",
            json.dumps({line.php: line.index_digest for line in facts.lines}, sort_keys=True),
        )
