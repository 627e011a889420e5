"""The tag rules over the life of a release, proven on generated histories.

A history is a sequence of events against the pure core, applied as the publish
stage applies them (``World.publish``: plan, publish plan, its refusals, the pins
primary first and ``vX.Y.Z`` last, then the floating tags from the settled pins):
releases (stable, prereleases, backports out of order), reruns, republishes
(``--reason``, ``--only``), runs killed part-way through their pins and their
reruns, and matrix edits (a line added or dropped, the default line changed, a
registry added, filled by ``audit --repair`` or not). After every event each
floating tag carries the highest stable release that has its line (``latest``:
the highest stable release, on its recorded default line), never a prerelease,
an older release or a release that did not finish; a rerun moves nothing and
leaves the record as it was; every record and plan reads back as written.

A registry is a dict tag -> digest; a line's index is the digest of
``release/php/generation`` (a republish makes a new generation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.adapters.output import Output
from publisher.core import audit_rules
from publisher.core import plan as planning
from publisher.core import publish_plan as pp
from publisher.core.errors import PublisherError, UsageError
from publisher.core.notes import (
    FloatingFacts,
    LineFacts,
    PlatformFacts,
    ReleaseFacts,
    SizeHistory,
    parse_record,
    recorded_tags,
    release_json,
)
from publisher.core.version import Release, parse_release
from publisher.stages.publish import refuse_lines_added, refuse_lines_left_out
from tests.support.matrices import acme_config

PLATFORMS = ("linux/amd64", "linux/arm64")
ALL_LINES = ("8.2", "8.3", "8.4")


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def images(content: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, digest(f"{content}/{p}")) for p in PLATFORMS)


@dataclasses.dataclass
class Matrix:
    """What matrix.yaml says today."""

    lines: list[str]
    default_line: str
    registries: list[str]

    def config(self, only: Sequence[str] | None = None):
        c = acme_config(
            registries=tuple(self.registries),
            lines=tuple(self.lines),
            default_line=self.default_line,
        )
        return c.select(tuple(only), option="--only") if only else c


class Refused(Exception):
    """The stage refuses the run before it writes any tag (the message says why)."""


class Died(Exception):
    """The run was killed after writing some of its pins."""


class RefusedLate(Died):
    """The stage refuses to move the floating tags after writing the pins (exit 12)."""


@dataclasses.dataclass
class World:
    matrix: Matrix
    tags: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    contents: dict[str, tuple[tuple[str, str], ...]] = dataclasses.field(default_factory=dict)
    indexes: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    #: release -> its record, as the notes JSON holds it (written, then read back)
    records: dict[str, ReleaseFacts] = dataclasses.field(default_factory=dict)
    #: (release, PHP line) -> how many republishes replaced its images
    generation: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.matrix.registries:
            self.tags.setdefault(name, {})
            self.indexes.setdefault(name, set())

    @property
    def primary(self) -> str:
        return self.matrix.registries[0]

    # ------------------------------------------------------------------ matrix edits

    def add_registry(self, name: str, *, repair: bool) -> None:
        """A registry added to the matrix; with ``repair`` (``audit --repair``) it gets
        every release's pins and the floating tags, as the primary holds them."""
        self.matrix.registries.append(name)
        self.tags[name] = dict(self.tags[self.primary]) if repair else {}
        self.indexes[name] = set(self.indexes[self.primary]) if repair else set()

    # ------------------------------------------------------------------ a publish run

    def publish(
        self,
        tag: str,
        *,
        reason: str | None = None,
        only: Sequence[str] | None = None,
        die_after: int | None = None,
    ) -> pp.PublishPlan:
        """One ``publish`` (``release``; with ``reason``, ``republish``) as the stage runs
        it; Refused where the stage stops before writing any tag."""
        record = self.records.get(tag)
        try:
            cfg, _ = pp.config_for_record(
                self.matrix.config(only), record, strict=reason is not None
            )
        except PublisherError as exc:
            raise Refused(str(exc)) from None
        release = parse_release(tag)
        if reason is None and record is None and cfg.default_line not in cfg.line_names:
            raise Refused("a release without its default line")  # require_default_line
        present = {n: list(t) for n, t in self.tags.items()}
        if reason is None:
            try:
                refuse_lines_left_out(cfg, release, record, present)
                refuse_lines_added(cfg, release, record, present[self.primary])
            except PublisherError as exc:
                raise Refused(str(exc)) from None
        p = planning.plan(cfg, release, present, set(self.records))
        candidates = {}
        for line in p.lines:
            gen = self.generation.get((tag, line.php), 0) + (reason is not None)
            content = f"{tag}/{line.php}/{gen}"
            candidates[line.php] = pp.Candidate(line.php, digest(content), images(content))
            self.contents[digest(content)] = images(content)
        wanted = pp.tags_to_resolve(p, present, set(self.records))
        observed_tags = {n: {t: self.tags[n][t] for t in wanted[n]} for n in self.tags}
        pinned = {}
        for line in p.lines:
            d = self.tags[self.primary].get(p.pins(line.php)[0])
            if d:
                pinned[line.php] = self.contents[d]
        observed = pp.Observed(
            tags=observed_tags,
            indexes={n: frozenset(i) for n, i in self.indexes.items()},
            pinned_images=pinned,
        )
        plan = pp.plan_publish(
            p,
            observed,
            candidates,
            primary=self.primary,
            record=record,
            republish_reason=reason,
            date="2026-12-01",
        )
        for document in (p.to_json(), plan.to_json()):  # what --dry-run --json prints
            assert json.dumps(json.loads(document), indent=2, sort_keys=True) + "\n" == document
        if plan.conflicts and reason is None:
            raise Refused("; ".join(c.message for c in plan.conflicts))
        if reason is None and pp.pins_off_record(p, plan, record):
            raise Refused("pins off the record")
        if pp.pins_apart_after(plan, present):
            raise Refused("; ".join(pp.pins_apart_after(plan, present)))
        if pp.floating_disagreements(plan):
            raise Refused("; ".join(pp.floating_disagreements(plan)))
        # push, copy, then the pins: the primary first, vX.Y.Z last on each
        for action in plan.lines:
            if action.push:
                self.indexes[self.primary].add(action.digest or "")
            for name in action.copy_to:
                self.indexes[name].add(action.digest or "")
        writes = [
            move
            for first in (True, False)
            for last in (False, True)
            for move in plan.pin_moves
            if move.changes
            and (move.registry == self.primary) is first
            and (move.tag == tag) is last
        ]
        if die_after is not None:
            # killed before its last pin (one killed after it is a run whose pins are
            # all written: the next run moves the floating tags to them, records or not)
            writes = writes[: die_after % max(len(writes), 1)]
        for move in writes:
            assert move.new is not None
            self.tags[move.registry][move.tag] = move.new
        if die_after is not None:
            raise Died(tag)
        self.move_floating(cfg.line_names)
        for php, _old, _new in plan.history.changes if plan.history else ():
            self.generation[(tag, php)] = self.generation.get((tag, php), 0) + 1
        self.write_record(p, plan, record, cfg.line_names)
        return plan

    def move_floating(self, lines: Sequence[str]) -> None:
        """``Publisher.move_floating``: from the settled pins of every registry."""
        counted = planning.settled(self.tags, set(self.records))
        found = []
        for name in self.matrix.registries:
            wanted = planning.floating_tags(name, counted[name], lines)
            followed = {f.source_release for f in wanted}
            digests = {t: d for t, d in self.tags[name].items() if t in counted[name]}
            found.append(pp.floating_moves(name, digests, lines))
            apart = pp.release_tags_apart(name, digests, followed)
            if apart:
                raise RefusedLate(f"pins rewritten half-way: {apart}")
        maps = {
            name: {m.tag: m.new for m in moves}
            for name, moves in zip(self.matrix.registries, found, strict=True)
        }
        differ = pp.tag_differences(maps)
        if differ:
            raise RefusedLate(f"floating tags apart: {differ}")
        for moves in found:
            for m in moves:
                assert m.new is not None
                self.tags[m.registry][m.tag] = m.new

    def write_record(
        self,
        p: planning.Plan,
        plan: pp.PublishPlan,
        record: ReleaseFacts | None,
        lines: Sequence[str],
    ) -> None:
        earlier = {line.php: line for line in record.lines} if record else {}
        facts_lines = {}
        for action in plan.lines:
            assert action.digest is not None
            facts_lines[action.php] = LineFacts(
                php=action.php,
                php_version=f"{action.php}.1",
                index_digest=action.digest,
                tags=p.pins(action.php),
                base_image=f"docker.io/library/php:{action.php}-fpm-alpine",
                base_digest=None,
                size_budget_bytes=700_000_000,
                platforms=tuple(
                    PlatformFacts(platform, d, 1000) for platform, d in self.contents[action.digest]
                ),
                extensions=(),
            )
        for php, line in earlier.items():
            facts_lines.setdefault(php, line)
        history = record.history if record else ()
        if plan.history is not None:
            history = (*history, plan.history)
        floating = tuple(
            FloatingFacts(name, tag, self.release_of(name, tag), d)
            for name in self.matrix.registries
            for tag, d in sorted(self.tags[name].items())
            if planning.is_floating_tag(tag)
        )
        facts = ReleaseFacts(
            release=p.release,
            stable=p.stable,
            stand_in=False,
            default_line=p.default_line,
            published_at=record.published_at if record else "2026-12-01T00:00:00Z",
            registries=p.registries,
            lines=tuple(sorted(facts_lines.values(), key=lambda line: line.php)),
            floating=floating,
            history=history,
            plan_sha256=p.digest,
            publish_plan_sha256=plan.digest,
        )
        if record is not None and not plan.changes and plan.history is None:
            facts = record  # a rerun that moved nothing keeps the record as written
        text = release_json(facts, SizeHistory())
        read = parse_record(text, f"{p.release}.json")
        assert read == facts, "the record reads back as written"
        self.records[p.release] = read

    def release_of(self, registry: str, tag: str) -> str:
        d = self.tags[registry][tag]
        for t, other in self.tags[registry].items():
            if other == d and (parsed := planning.parse_scheme_tag(t)):
                return parsed.release.tag
        return ""

    # ------------------------------------------------------------------ the rules

    def content(self, record: ReleaseFacts, php: str, dirty: Mapping[str, object]) -> set[str]:
        """What ``record``'s line may hold: its recorded index; for a release whose last
        run died, also what its pin holds, when that is alike on every registry holding
        it (the floating tags follow the pins)."""
        allowed = {record.line(php).index_digest}
        if record.release in dirty:
            pin = planning.pin_tag(parse_release(record.release), php)
            found = {tags[pin] for tags in self.tags.values() if pin in tags}
            if len(found) == 1:
                allowed |= found
        return allowed

    def expected_floating(self, dirty: Mapping[str, object]) -> dict[str, set[str]]:
        """Floating tag -> what it may hold, from the records: the highest stable release
        with the line; latest, the highest stable release on its recorded default line."""
        stable = sorted(
            (parse_release(t) for t, r in self.records.items() if r.stable),
            reverse=True,
        )
        want: dict[str, set[str]] = {}
        for release in stable:
            record = self.records[release.tag]
            want.setdefault(planning.LATEST, self.content(record, record.default_line, dirty))
            for line in record.lines:
                want.setdefault(planning.line_tag(line.php), self.content(record, line.php, dirty))
        return want

    def check(self, dirty: Mapping[str, object], *, ran: bool) -> None:
        """The floating tags present carry what the records say (after a run that
        finished, every one of them on the primary, and on every registry unless one
        was added later); each record's pins hold its content, but those of a release
        whose last run died (``dirty``) or on a registry that never got them."""
        want = self.expected_floating(dirty)
        for name in self.matrix.registries:
            floating = {t: d for t, d in self.tags[name].items() if planning.is_floating_tag(t)}
            assert all(d in want.get(t, ()) for t, d in floating.items()), (name, floating, want)
            if ran and (name == self.primary or len(self.tags) == 2):
                assert floating.keys() == want.keys(), (name, floating, want)
        if ran and not dirty and len(self.tags) == 2:
            # ``publisher audit`` (floating tags from the records alone) finds nothing
            for name in self.matrix.registries:
                expected, _ = audit_rules.expected_tags(list(self.records.values()), {}, name)
                assert audit_rules.compare(name, expected, self.tags[name]) == [], name
        for tag, record in self.records.items():
            if tag in dirty:
                continue
            for name in self.matrix.registries:
                found = {pin: self.tags[name].get(pin) for pin in record.pin_digests()}
                if name != self.primary:  # one added later holds what was copied there
                    found = {pin: d for pin, d in found.items() if d is not None}
                assert found.items() <= record.pin_digests().items(), (name, tag, found)


# --------------------------------------------------------------------------- histories

versions = st.builds(
    lambda a, b, c, pre: Release(a, b, c, pre).tag,
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 1),
    st.sampled_from([(), (), ("rc", "1"), ("rc", "2"), ("rc", "10"), ("beta",)]),
)

events = st.one_of(
    st.tuples(st.just("release"), versions),
    st.tuples(st.just("rerun")),
    st.tuples(st.just("republish"), st.lists(st.sampled_from(ALL_LINES), max_size=2)),
    st.tuples(st.just("add line"), st.sampled_from(ALL_LINES)),
    st.tuples(st.just("drop line"), st.sampled_from(ALL_LINES)),
    st.tuples(st.just("default line"), st.sampled_from(ALL_LINES)),
    st.tuples(st.just("add registry"), st.booleans()),
    st.tuples(st.just("dies"), versions, st.integers(0, 12)),
    st.tuples(st.just("republish dies"), st.integers(0, 12)),
    st.tuples(st.just("finish")),
)


def run_history(history: Sequence[tuple], data: st.DataObject) -> None:
    world = World(Matrix(["8.3", "8.4"], "8.4", ["hub", "ghcr"]))
    #: release -> (the options of its last run, which died; the matrix then)
    dirty: dict[str, tuple[dict[str, object], Matrix]] = {}

    def attempt(tag: str, **kwargs: object) -> bool:
        record = world.records.get(tag)
        try:
            plan = world.publish(tag, **kwargs)  # type: ignore[arg-type]
        except Refused:
            return False
        except Died:
            dirty[tag] = (
                kwargs,
                dataclasses.replace(
                    world.matrix,
                    lines=list(world.matrix.lines),
                    registries=list(world.matrix.registries),
                ),
            )
            return False
        if record is None or {a.php for a in plan.lines} >= set(record.line_names):
            dirty.pop(tag, None)  # finished, unless some lines were left as they were
        return True

    for event in history:
        kind = event[0]
        ran = False
        if kind == "release":
            ran = attempt(event[1])
        elif kind == "dies":
            attempt(event[1], die_after=event[2])
        elif kind == "rerun" and set(world.records) - set(dirty):
            tag = data.draw(st.sampled_from(sorted(set(world.records) - set(dirty))), label="rerun")
            before = {n: dict(t) for n, t in world.tags.items()}
            record = world.records[tag]
            try:
                plan = world.publish(tag)
            except Refused as exc:
                # only while another release is unfinished, or registries were added unrepaired
                assert dirty or len(world.tags) > 2, f"a rerun of {tag} was refused: {exc}"
                continue
            ran = True
            assert (not plan.changes and not plan.mutates) or len(world.tags) > 2, plan.changes
            if len(world.tags) == 2:
                assert world.tags == before
            assert world.records[tag] == record or len(world.tags) > 2
        elif kind in ("republish", "republish dies") and world.records:
            tag = data.draw(st.sampled_from(sorted(world.records)), label="republish")
            lines = (
                event[1]
                if kind == "republish"
                else data.draw(st.lists(st.sampled_from(ALL_LINES), max_size=2))
            )
            only = [php for php in lines if php in world.records[tag].line_names]
            die = None if kind == "republish" else event[1]
            ran = attempt(tag, reason="base moved", only=only or None, die_after=die)
        elif kind == "finish" and dirty:
            tag = data.draw(st.sampled_from(sorted(dirty)), label="finish")
            how, matrix = dirty[tag]
            ran = attempt(tag, **{**how, "die_after": None})
            if matrix == world.matrix and len(dirty) == 1 and len(world.tags) == 2:
                assert ran, f"{tag} could not be finished"
        elif kind == "add line" and event[1] not in world.matrix.lines:
            world.matrix.lines = sorted([*world.matrix.lines, event[1]])
        elif kind == "drop line" and event[1] != world.matrix.default_line:
            world.matrix.lines = [php for php in world.matrix.lines if php != event[1]]
        elif kind == "default line" and event[1] in world.matrix.lines:
            world.matrix.default_line = event[1]
        elif kind == "add registry" and "quay" not in world.matrix.registries:
            world.add_registry("quay", repair=event[1])
        world.check(dirty, ran=ran and not dirty)


@settings(max_examples=60)
@given(st.lists(events, min_size=1, max_size=14), st.data())
def test_floating_tags_follow_the_records_over_any_history(history, data):
    run_history(history, data)


# --------------------------------------------------------------------------- cases found


def two_registries() -> World:
    return World(Matrix(["8.3", "8.4"], "8.4", ["hub", "ghcr"]))


def floating_of(world: World, name: str) -> dict[str, str]:
    """Floating tag -> the release whose content it carries there."""
    return {t: world.release_of(name, t) for t in world.tags[name] if planning.is_floating_tag(t)}


def test_a_rerun_without_a_line_an_earlier_run_pinned_is_refused_before_any_tag() -> None:
    """v1.0.0 died after writing ``v1.0.0-php-8.3`` on hub; 8.3 left matrix.yaml before
    the rerun. Writing only 8.4 would leave hub holding a pin ghcr lacks: the release
    would count nowhere, and the run that said it published v1.0.0 left ``latest`` unset."""
    world = two_registries()
    with pytest.raises(Died):
        world.publish("v1.0.0", die_after=1)
    assert set(world.tags["hub"]) == {"v1.0.0-php-8.3"}
    world.matrix.lines = ["8.4"]
    with pytest.raises(
        Refused, match=r"v1\.0\.0 was started with PHP 8\.3 \(v1\.0\.0-php-8\.3 on hub\)"
    ):
        world.publish("v1.0.0")
    assert world.tags["ghcr"] == {}
    world.matrix.lines = ["8.3", "8.4"]  # restored: the rerun finishes it
    world.publish("v1.0.0")
    assert floating_of(world, "ghcr") == {
        "php-8.3": "v1.0.0",
        "php-8.4": "v1.0.0",
        "latest": "v1.0.0",
    }


def test_lines_an_earlier_run_pinned_are_named_with_what_to_do() -> None:
    cfg = Matrix(["8.2", "8.4"], "8.4", ["hub", "ghcr"]).config(["8.4"])
    present = {"hub": ["v2.0.0-php-8.2", "v2.0.0-php-8.3", "v1.0.0-php-8.1"], "ghcr": []}
    with pytest.raises(UsageError) as caught:
        refuse_lines_left_out(cfg, parse_release("v2.0.0"), None, present)
    error = caught.value
    assert error.exit_code == 2
    assert error.message == (
        "v2.0.0 was started with PHP 8.2, 8.3 (v2.0.0-php-8.2 on hub; v2.0.0-php-8.3 on hub), "
        "which this run leaves out: a release keeps its lines, and one whose registries hold "
        "different pins of it is followed by no floating tag; no tag was written"
    )
    assert error.hint == (
        "a release keeps the lines it was started with: restore PHP 8.3 in matrix.yaml and "
        "select PHP 8.2 too (`--only 8.2,8.4`, or leave --only out) to finish v2.0.0 with "
        "`publisher release v2.0.0`; or delete those pins from the registries by hand, then rerun"
    )
    refuse_lines_left_out(cfg, parse_release("v3.0.0"), None, present)  # no pin of v3.0.0
    refuse_lines_left_out(cfg, parse_release("v2.0.0"), None, {"hub": ["v2.0.0-php-8.4"]})


def test_lines_left_out_of_a_narrowed_published_release_are_named_as_it_was_run() -> None:
    """v2.0.0 (no record) was run with ``--only 8.3,8.4``: the primary holds v2.0.0 and the
    pins of 8.3 and 8.4. A run given 8.2 and 8.4 leaves 8.3 out; its tip names the lines
    the release was run with, exactly (``--only 8.3,8.4``), never "leave --only out" nor
    the lines this run added, which ``refuse_lines_added`` would refuse next."""
    cfg = Matrix(["8.2", "8.3", "8.4"], "8.4", ["hub", "ghcr"])
    release = parse_release("v2.0.0")
    held = ["v2.0.0-php-8.3", "v2.0.0-php-8.4", "v2.0.0"]
    for only, ways in (
        (["8.2", "8.4"], "select PHP 8.3 too and leave PHP 8.2 out"),
        (["8.4"], "select PHP 8.3 too"),
    ):
        with pytest.raises(UsageError) as caught:
            refuse_lines_left_out(cfg.config(only), release, None, {"hub": held, "ghcr": []})
        hint = caught.value.hint
        assert hint == (
            f"a release keeps the lines it was started with: {ways} (the primary holds v2.0.0 "
            "and the pins of PHP 8.3, 8.4 only: the run that published it was narrowed to "
            "them) to finish v2.0.0 with `publisher release v2.0.0 --only 8.3,8.4`; or, if "
            "v2.0.0 is to have this run's lines, delete its pins from every registry by hand "
            "first, then rerun"
        ), hint
        # the command that tip names is not refused
        named = cfg.config(["8.3", "8.4"])
        refuse_lines_left_out(named, release, None, {"hub": held, "ghcr": []})
        refuse_lines_added(named, release, None, held)
    # one line added: "it", not "them"
    with pytest.raises(UsageError) as caught:
        refuse_lines_added(cfg.config(["8.2", "8.3", "8.4"]), release, None, held)
    assert "if v2.0.0 is to have it, delete" in caught.value.hint, caught.value.hint


def test_a_check_of_a_narrowed_release_without_a_record_leaves_out_lines_it_was_not_given() -> None:
    """verify of v2.0.0 (no record), whose primary holds v2.0.0 and the 8.4 pin only: its
    run was narrowed to 8.4, so 8.2 and 8.3 are expected absent (the rerun its tip names,
    ``--only 8.4``, leaves them), not missing; when it stopped while writing its pins
    (no v2.0.0) it is not known, and every line is checked."""
    cfg = Matrix(["8.2", "8.3", "8.4"], "8.4", ["hub", "ghcr"]).config()
    whole = planning.started_with("v2.0.0", ["v2.0.0-php-8.4", "v2.0.0"], cfg.line_names)
    assert planning.as_started(cfg, whole).line_names == ("8.4",)
    stopped = planning.started_with("v2.0.0", ["v2.0.0-php-8.4"], cfg.line_names)
    assert planning.as_started(cfg, stopped).line_names == ("8.2", "8.3", "8.4")
    assert planning.as_started(cfg, None).line_names == ("8.2", "8.3", "8.4")
    # verify --only 8.2, a line that run left out: checked as asked (its defects say so)
    only = Matrix(["8.2", "8.3", "8.4"], "8.4", ["hub", "ghcr"]).config(["8.2"])
    assert planning.as_started(only, whole).line_names == ("8.2",)


def test_lines_a_rerun_would_add_to_a_narrowed_release_are_refused_or_warned_of() -> None:
    """v2.0.0 (no record) was run with ``--only 8.4``: the primary holds its vX.Y.Z and the
    8.4 pin only, so a rerun given every line would add PHP 8.2 to it for good; refused
    (exit 2), naming the narrowed rerun. Without v2.0.0 on the primary, the run that wrote
    the pin stopped while writing them, with those lines or more: a warning, naming both
    reruns, as audit and verify name them (``plan.rerun_release``)."""
    cfg = Matrix(["8.2", "8.4"], "8.4", ["hub", "ghcr"]).config()
    release = parse_release("v2.0.0")
    whole = ["v1.0.0-php-8.2", "v2.0.0-php-8.4", "v2.0.0"]
    with pytest.raises(UsageError) as caught:
        refuse_lines_added(cfg, release, None, whole)
    error = caught.value
    assert error.exit_code == 2
    assert error.message == (
        "v2.0.0 was published by a run narrowed to PHP 8.4 (the primary holds v2.0.0 and the "
        "pins of PHP 8.4 only, and no record of it is here): this run would add PHP 8.2 to it, "
        "and a published release keeps its lines; no tag was written"
    )
    assert error.hint == (
        "finish v2.0.0 as it was run: `publisher release v2.0.0 --only 8.4`; publish PHP 8.2 "
        "in a later release; or, if v2.0.0 is to have it, delete its pins from every "
        "registry by hand first, then rerun"
    )
    started = planning.started_with("v2.0.0", whole, cfg.line_names)
    assert started == planning.Started("v2.0.0", ("8.4",), True, ("8.2", "8.4"))
    assert planning.rerun_release("v2.0.0", started=started) == (
        "rerun the release as it was run, on PHP 8.4 alone (`publisher release v2.0.0 --only "
        "8.4`: the primary holds v2.0.0 and the pins of PHP 8.4 only, so its run was narrowed "
        "to them; without --only the rerun would add PHP 8.2 to it for good, as a published "
        "release keeps its lines)"
    )
    # stopped while writing its pins: told, not refused
    err = io.StringIO()
    output = Output({}, stream=io.StringIO(), err_stream=err)
    refuse_lines_added(cfg, release, None, whole[:2], output=output)
    said = " ".join(err.getvalue().split())
    assert said == (
        "warning: v2.0.0 has no record, and the primary holds the pins of PHP 8.4 alone, "
        "without v2.0.0: a run of it stopped while writing them, and this one adds PHP 8.2 to "
        "the release for good; if that run was narrowed (--only), stop this one and rerun the "
        "release as it was run: `publisher release v2.0.0` if it was given every line, else "
        "with its --only (`publisher release v2.0.0 --only 8.4` if it was narrowed to PHP "
        "8.4, the lines whose pins the primary holds so far: it stopped while writing them; "
        "without --only the rerun would add PHP 8.2 to it for good, as a published release "
        "keeps its lines)"
    ), said
    # every line selected is on the primary, a record, or no pin at all: nothing to say
    world = World(Matrix(["8.2", "8.4"], "8.4", ["hub", "ghcr"]))
    world.publish("v2.0.0", only=["8.4"])
    recorded = world.records["v2.0.0"]
    refuse_lines_added(cfg.select(("8.4",), option="--only"), release, None, whole, output=output)
    refuse_lines_added(cfg, release, recorded, whole, output=output)
    refuse_lines_added(cfg, parse_release("v3.0.0"), None, whole, output=output)
    assert " ".join(err.getvalue().split()) == said


def test_a_republish_of_some_lines_onto_a_registry_added_later_is_refused_before_any_tag() -> None:
    """quay joined the matrix after v1.0.0 and was not repaired. ``republish --only 8.4``
    copies 8.4 there and not 8.3: quay would hold some of v1.0.0's pins, so v1.0.0 would
    count nowhere, and ``latest`` and ``php-8.4`` would keep the image the republish
    replaced (or go back to an older release), the run saying it republished."""
    world = two_registries()
    world.publish("v1.0.0")
    old = dict(world.tags["hub"])
    world.add_registry("quay", repair=False)
    with pytest.raises(Refused, match=r"quay would lack v1\.0\.0-php-8\.3"):
        world.publish("v1.0.0", reason="base moved", only=["8.4"])
    assert world.tags["hub"] == old and world.tags["quay"] == {}
    world.publish("v1.0.0", reason="base moved")  # every line: quay holds them all
    assert world.tags["quay"]["latest"] == world.tags["hub"]["latest"] != old["latest"]


def test_a_run_that_died_copying_a_release_to_a_registry_added_later_takes_no_tag_back() -> None:
    """quay joined after v1.1.0; a republish of v1.1.0 died after writing its pins on hub
    and all but ``v1.1.0`` on ghcr, and one on quay. v1.1.0 is recorded, so it still counts where its vX.Y.Z
    is: the backport v1.0.1 is refused (quay's floating tags would point elsewhere)
    instead of moving latest and php-X.Y back to v1.0.1 on every registry."""
    world = two_registries()
    world.publish("v1.0.0")
    world.publish("v1.1.0")
    world.add_registry("quay", repair=False)
    with pytest.raises(Died):
        world.publish("v1.1.0", reason="base moved", die_after=6)
    assert set(world.tags["quay"]) == {"v1.1.0-php-8.3"}
    latest = {name: tags["latest"] for name, tags in world.tags.items() if "latest" in tags}
    with pytest.raises(Refused, match=r"latest would point at v1\.1\.0"):
        world.publish("v1.0.1")
    assert {n: t["latest"] for n, t in world.tags.items() if "latest" in t} == latest
    world.publish("v1.1.0", reason="base moved")  # finishes the republish, on quay too
    world.publish("v1.0.1")
    for name in world.matrix.registries:
        assert floating_of(world, name) == dict.fromkeys(("php-8.3", "php-8.4", "latest"), "v1.1.0")


def test_a_recorded_release_counts_where_its_release_tag_is() -> None:
    existing = {
        "hub": ["v1.1.0", "v1.1.0-php-8.3", "v1.1.0-php-8.4"],
        "quay": ["v1.1.0-php-8.3"],
    }
    assert planning.settled(existing)["hub"] == set()  # by the tags alone: it died
    counted = planning.settled(existing, recorded={"v1.1.0"})
    assert counted == {"hub": set(existing["hub"]), "quay": set()}


def test_the_recorded_releases_are_the_record_files_of_the_notes_directory(tmp_path) -> None:
    assert recorded_tags(tmp_path / "none yet") == frozenset()
    for name in ("v1.0.0.json", "v1.1.0-rc.1.json", "v1.0.0.md", "size-history.json", "v1.json"):
        (tmp_path / name).write_text("{}")
    assert recorded_tags(tmp_path) == {"v1.0.0", "v1.1.0-rc.1"}
