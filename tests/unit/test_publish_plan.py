"""The publish plan on plain data: every action a publish run takes, before it acts.

A registry here is a dict tag -> digest; a release's index for a line is the
digest of "release/line" (or "release/line/rebuilt" after a republish). Each
test plans with ``plan_publish`` and applies the plan as the stage would: pins
first, then the floating moves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from publisher.core import config
from publisher.core import plan as planning
from publisher.core.errors import ConfigError, UsageError
from publisher.core.locations import Locations
from publisher.core.notes import (
    RegistryFacts,
    ReleaseFacts,
    Republish,
)
from publisher.core.publish_plan import (
    ASSEMBLED,
    PENDING,
    PUBLISHED,
    REPLACED,
    Candidate,
    Conflict,
    Observed,
    TagMove,
    config_for_record,
    left_behind,
    pins_off_record,
    plan_publish,
    registries_behind,
    started_default_line,
    tag_differences,
    tags_to_resolve,
)
from publisher.core.version import parse_release
from publisher.stages.publish import (
    conflict_error,
    floating_words,
    halfway_republish_hint,
    pins_apart,
    republished_earlier,
    require_default_line,
    summary_title,
)
from tests.support.matrices import acme_config, acme_matrix
from tests.support.records import line_facts, release_facts

REGISTRIES = ("hub", "ghcr")


def cfg(default: str = "8.4") -> config.Config:
    return acme_config(default_line=default)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def images(content: str) -> tuple[tuple[str, str], ...]:
    return (
        ("linux/amd64", digest(content + "/amd64")),
        ("linux/arm64", digest(content + "/arm64")),
    )


def candidate(release: str, php: str, suffix: str = "") -> Candidate:
    content = f"{release}/{php}{suffix}"
    return Candidate(php, digest(content), images(content))


class World:
    """Registries as tag -> digest, plus the index contents each registry holds."""

    def __init__(self) -> None:
        self.tags: dict[str, dict[str, str]] = {name: {} for name in REGISTRIES}
        self.indexes: dict[str, set[str]] = {name: set() for name in REGISTRIES}
        self.contents: dict[str, tuple[tuple[str, str], ...]] = {}

    def observe(self, p: planning.Plan) -> Observed:
        wanted = tags_to_resolve(p, {n: list(t) for n, t in self.tags.items()})
        tags = {n: {t: self.tags[n][t] for t in wanted[n]} for n in REGISTRIES}
        pinned = {}
        for line in p.lines:
            d = self.tags["hub"].get(p.pins(line.php)[0])
            if d:
                pinned[line.php] = self.contents[d]
        return Observed(
            tags=tags,
            indexes={n: frozenset(i) for n, i in self.indexes.items()},
            pinned_images=pinned,
        )

    def publish(self, c, tag, candidates=None, *, reason=None, record=None, suffix=""):
        p = planning.plan(c, tag, {n: list(t) for n, t in self.tags.items()})
        cands = candidates or {line.php: candidate(tag, line.php, suffix) for line in c.lines}
        for cand in cands.values():
            if cand.digest:
                self.contents[cand.digest] = cand.images
        pp = plan_publish(
            p,
            self.observe(p),
            cands,
            primary="hub",
            record=record,
            republish_reason=reason,
            date="2026-11-30",
        )
        if pp.conflicts and reason is None:
            return pp
        for action in pp.lines:
            if action.push:
                self.indexes["hub"].add(action.digest)
            for name in action.copy_to:
                self.indexes[name].add(action.digest)
        for move in (*pp.pin_moves, *pp.floating_moves):
            if move.new is not None:
                self.tags[move.registry][move.tag] = move.new
        return pp

    def points(self, registry: str, tag: str) -> str | None:
        return self.tags[registry].get(tag)


def test_the_readme_sequence_with_prereleases_and_backports():
    w = World()
    c = cfg()
    for release, newest in [
        ("v0.9.0", "v0.9.0"),
        ("v1.0.0-rc.9", "v0.9.0"),
        ("v1.0.0-rc.10", "v0.9.0"),
        ("v1.0.0", "v1.0.0"),
        ("v0.9.1", "v1.0.0"),
        ("v1.1.0", "v1.1.0"),
        ("v1.0.1", "v1.1.0"),
        ("v2.0.0-rc.1", "v1.1.0"),
        ("v2.0.0", "v2.0.0"),
        ("v1.1.1", "v2.0.0"),
    ]:
        pp = w.publish(c, release)
        assert not pp.conflicts
        for name in REGISTRIES:
            assert w.points(name, "php-8.3") == digest(f"{newest}/8.3"), release
            assert w.points(name, "php-8.4") == digest(f"{newest}/8.4"), release
            assert w.points(name, "latest") == digest(f"{newest}/8.4"), release
    # every pin still points at its own release; rc.10 is not rc.9
    for name in REGISTRIES:
        assert w.points(name, "v1.0.0-rc.10-php-8.3") == digest("v1.0.0-rc.10/8.3")
        assert w.points(name, "v1.0.0-rc.9") == digest("v1.0.0-rc.9/8.4")
        assert w.points(name, "v1.0.1") == digest("v1.0.1/8.4")


def test_a_backport_plans_only_its_own_pins():
    w = World()
    c = cfg()
    w.publish(c, "v1.1.0")
    pp = w.publish(c, "v1.0.1")
    moved = {(m.registry, m.tag) for m in pp.changes}
    assert moved == {
        (name, tag) for name in REGISTRIES for tag in ("v1.0.1-php-8.3", "v1.0.1-php-8.4", "v1.0.1")
    }


def test_a_rerun_with_nothing_changed_plans_nothing():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    pp = w.publish(c, "v1.0.0")
    assert not pp.mutates
    assert {a.source for a in pp.lines} == {ASSEMBLED}


def test_a_rerun_whose_records_name_the_published_images_keeps_the_pinned_index():
    # e.g. the pinned index carries attestations the re-read records do not
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    other = {
        php: Candidate(php, digest(f"reassembled/{php}"), images(f"v1.0.0/{php}"))
        for php in ("8.3", "8.4")
    }
    pp = w.publish(c, "v1.0.0", other)
    assert not pp.conflicts and not pp.mutates
    assert [(a.source, a.digest) for a in pp.lines] == [
        (PUBLISHED, digest("v1.0.0/8.3")),
        (PUBLISHED, digest("v1.0.0/8.4")),
    ]


def test_other_content_under_a_pin_is_a_conflict_and_plans_no_write_applied():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    before = json.dumps(w.tags, sort_keys=True)
    pp = w.publish(c, "v1.0.0", suffix="/rebuilt")
    assert len(pp.conflicts) == 2
    assert "v1.0.0-php-8.3" in pp.conflicts[0].message
    assert not any(conflict.foreign for conflict in pp.conflicts)
    assert json.dumps(w.tags, sort_keys=True) == before
    # a plan with conflicts refuses its run before it is printed or recorded: the JSON
    # (what --dry-run --json prints, and the notes hash) has no member for them
    assert "conflicts" not in json.loads(pp.to_json())


def test_republish_replaces_the_pins_and_records_history():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    w.publish(c, "v1.1.0")
    pp = w.publish(c, "v1.0.0", reason="CVE-1", suffix="/rebuilt")
    assert {a.source for a in pp.lines} == {REPLACED}
    assert pp.history is not None and pp.history.reason == "CVE-1"
    assert pp.history.changes == (
        ("8.3", digest("v1.0.0/8.3"), digest("v1.0.0/8.3/rebuilt")),
        ("8.4", digest("v1.0.0/8.4"), digest("v1.0.0/8.4/rebuilt")),
    )
    # in the JSON as the notes write them: {php, old, new}
    assert json.loads(pp.to_json())["history"]["changes"][0] == {
        "php": "8.3",
        "old": digest("v1.0.0/8.3"),
        "new": digest("v1.0.0/8.3/rebuilt"),
    }
    for name in REGISTRIES:
        assert w.points(name, "v1.0.0") == digest("v1.0.0/8.4/rebuilt")
        # v1.1.0 is newer: floating tags stay there
        assert w.points(name, "latest") == digest("v1.1.0/8.4")
    # republishing the newest stable release moves the floating tags with it
    w.publish(c, "v1.1.0", reason="CVE-2", suffix="/rebuilt")
    assert w.points("ghcr", "latest") == digest("v1.1.0/8.4/rebuilt")
    assert w.points("ghcr", "php-8.3") == digest("v1.1.0/8.3/rebuilt")


def record_of(release: str, default_line: str, lines=("8.3", "8.4")) -> ReleaseFacts:
    return release_facts(
        (
            line_facts(
                php,
                release,
                digest=digest(f"{release}/{php}"),
                base_image="docker.io/library/php:{php}-fpm-alpine",
                base_digest=None,
                platforms={"linux/amd64": digest("a"), "linux/arm64": digest("b")},
                php_version=f"{php}.1",
                tags=(),
            )
            for php in lines
        ),
        release,
        default_line=default_line,
        published_at="2026-01-01T00:00:00Z",
    )


def test_the_default_line_notice_names_latest_for_a_stable_release_only():
    stable, notices = config_for_record(cfg("8.4"), record_of("v1.1.0", "8.3"))
    assert stable.default_line == "8.3"
    assert notices == [
        "v1.1.0 was published with default line 8.3; matrix.yaml now says 8.4: keeping 8.3 "
        "for v1.1.0 (and for latest while v1.1.0 is the newest stable release)"
    ]
    # an older release: latest follows the newer stable release recorded next to it
    _, notices = config_for_record(
        cfg("8.4"), record_of("v1.0.0", "8.3"), recorded={"v1.0.0", "v1.1.0", "v2.0.0-rc.1"}
    )
    assert notices == [
        "v1.0.0 was published with default line 8.3; matrix.yaml now says 8.4: keeping 8.3 "
        "for v1.0.0"
    ]
    # a newer prerelease does not take latest
    _, notices = config_for_record(
        cfg("8.4"), record_of("v1.1.0", "8.3"), recorded={"v1.0.0", "v1.1.0", "v2.0.0-rc.1"}
    )
    assert notices[0].endswith("(and for latest while v1.1.0 is the newest stable release)")
    rc = dataclasses.replace(record_of("v2.0.0-rc.1", "8.3"), stable=False)
    _, notices = config_for_record(cfg("8.4"), rc)
    assert notices == [
        "v2.0.0-rc.1 was published with default line 8.3; matrix.yaml now says 8.4: "
        "keeping 8.3 for v2.0.0-rc.1"
    ]


def test_a_republish_rerun_records_the_change_from_what_the_record_said():
    """A republish died after moving v1.0.0-php-8.4 on hub to its build; the base moved
    again before the rerun. The history says recorded -> new: the half-way build was
    never the release's record."""
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    half = candidate("v1.0.0", "8.4", "/half-way")
    w.contents[half.digest] = half.images
    w.tags["hub"]["v1.0.0-php-8.4"] = w.tags["hub"]["v1.0.0"] = half.digest
    pp = w.publish(
        c, "v1.0.0", reason="CVE-1", record=record_of("v1.0.0", "8.4"), suffix="/rebuilt"
    )
    assert pp.history is not None
    assert pp.history.changes == (
        ("8.3", digest("v1.0.0/8.3"), digest("v1.0.0/8.3/rebuilt")),
        ("8.4", digest("v1.0.0/8.4"), digest("v1.0.0/8.4/rebuilt")),
    )
    for name in REGISTRIES:
        assert w.points(name, "v1.0.0-php-8.4") == digest("v1.0.0/8.4/rebuilt")


def test_a_pin_listing_images_the_release_does_not_publish_is_a_conflict_no_rerun_ends():
    """A pin whose index also lists a platform the release does not build: a rerun of
    the release would take the same images from the pin, so the tip names only the
    republish. The plan says so as data, not in words the tip would search for."""
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    pin = w.tags["hub"]["v1.0.0-php-8.3"]
    odd = digest("odd")
    w.contents[pin] = (*w.contents[pin], ("linux/s390x", odd))
    pp = w.publish(c, "v1.0.0", suffix="/rebuilt")
    assert [(conflict.message[:7], conflict.foreign) for conflict in pp.conflicts] == [
        ("PHP 8.3", True),
        ("PHP 8.4", False),
    ]
    assert pp.conflicts[0].message.endswith(
        f"; its index also lists linux/s390x ({odd}), which this release does not publish"
    )
    release = parse_release("v1.0.0")
    error = conflict_error(release, pp.conflicts, [])
    assert error.exit_code == 14 and error.hint
    assert "finishes an interrupted release" not in error.hint
    assert "run `publisher republish v1.0.0 --reason ...`" in error.hint
    # the tip follows the record, whatever its words
    reworded = [dataclasses.replace(pp.conflicts[0], message="PHP 8.3: other words")]
    assert conflict_error(release, reworded, []).hint == error.hint
    plain = [Conflict(pp.conflicts[0].message)]
    assert "finishes an interrupted release" in (conflict_error(release, plain, []).hint or "")


def test_a_rerun_after_default_line_changed_names_the_line_the_release_started_with():
    """v1.0.0 died before writing its record, with default line 8.3; matrix.yaml now
    says 8.4. The rerun refuses to move `v1.0.0`, and says which line finishes it."""
    w = World()
    w.publish(cfg("8.3"), "v1.0.0")
    for default, started in (("8.4", "8.3"), ("8.3", None)):
        p = planning.plan(cfg(default), "v1.0.0", {n: list(t) for n, t in w.tags.items()})
        cands = {line.php: candidate("v1.0.0", line.php) for line in p.lines}
        pp = plan_publish(p, w.observe(p), cands, primary="hub")
        assert bool(pp.conflicts) == (started is not None)
        assert started_default_line(p, pp) == started
    error = conflict_error(parse_release("v1.0.0"), pp.conflicts, [], started=("8.3", "8.4"))
    assert 'Set default_line: "8.3" to finish v1.0.0' in (error.hint or "")


def test_a_default_line_change_never_moves_an_older_release_to_another_line():
    w = World()
    old = cfg("8.3")
    w.publish(old, "v1.1.0")
    assert w.points("hub", "v1.1.0") == digest("v1.1.0/8.3")
    new = cfg("8.4")
    w.publish(new, "v2.0.0")
    assert w.points("hub", "latest") == digest("v2.0.0/8.4")
    # republish v1.1.0 with today's matrix, judged by its record
    adjusted, notices = config_for_record(new, record_of("v1.1.0", "8.3"))
    assert adjusted.default_line == "8.3"
    assert any("default line 8.3" in n for n in notices)
    w.publish(adjusted, "v1.1.0", reason="CVE", suffix="/rebuilt")
    assert w.points("hub", "v1.1.0") == digest("v1.1.0/8.3/rebuilt")
    assert w.points("ghcr", "latest") == digest("v2.0.0/8.4")
    # a v1.1.1 backport made with the old matrix does not pull latest back
    w.publish(old, "v1.1.1")
    assert w.points("hub", "latest") == digest("v2.0.0/8.4")
    assert w.points("hub", "v1.1.1") == digest("v1.1.1/8.3")


def test_a_partially_published_line_is_completed_by_copying():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    # ghcr lost the 8.4 index and its pins (an outage mid-release)
    d = digest("v1.0.0/8.4")
    w.indexes["ghcr"].discard(d)
    for tag in ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest"):
        del w.tags["ghcr"][tag]
    p = planning.plan(c, "v1.0.0", {n: list(t) for n, t in w.tags.items()})
    pp = plan_publish(p, w.observe(p), {}, primary="hub")
    line = pp.line("8.4")
    assert (line.source, line.digest, line.push, line.copy_to) == (PUBLISHED, d, False, ("ghcr",))
    assert {(m.registry, m.tag) for m in pp.changes} == {
        ("ghcr", "v1.0.0-php-8.4"),
        ("ghcr", "v1.0.0"),
        ("ghcr", "php-8.4"),
        ("ghcr", "latest"),
    }


def test_a_dry_run_before_the_builds_knows_what_is_pending():
    w = World()
    c = cfg()
    p = planning.plan(c, "v1.0.0", {})
    pp = plan_publish(p, w.observe(p), {}, primary="hub")
    assert {a.source for a in pp.lines} == {PENDING}
    assert all(m.new is None for m in pp.pin_moves)
    # built by the run, then pushed and copied: the JSON says so, as the human output
    assert {(a.push, a.copy_to) for a in pp.lines} == {(True, ("ghcr",))}
    lines = json.loads(pp.to_json())["lines"]
    assert {(line["push"], tuple(line["copy_to"])) for line in lines} == {(True, ("ghcr",))}
    # whose blobs are counted only once they exist
    assert pp.transfers is not None and pp.transfers.is_noop
    assert pp.to_json() == plan_publish(p, w.observe(p), {}, primary="hub").to_json()


def test_a_republish_dry_run_before_the_builds_sets_the_pins_after_the_builds():
    # The real run rebuilds every line and moves its pins (and the floating tags that
    # follow them): before the builds the dry run cannot call them "unchanged".
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    p = planning.plan(c, "v1.0.0", {n: list(t) for n, t in w.tags.items()})
    pp = plan_publish(p, w.observe(p), {}, primary="hub", republish_reason="CVE-1")
    assert {a.source for a in pp.lines} == {PENDING}
    assert {a.previous for a in pp.lines} == {digest("v1.0.0/8.3"), digest("v1.0.0/8.4")}
    assert {m.effect for m in pp.pin_moves} == {"set after the builds"}
    assert {m.effect for m in pp.floating_moves} == {"set after the builds"}
    assert pp.conflicts == () and pp.history is None
    assert {(a.push, a.copy_to) for a in pp.lines} == {(True, ("ghcr",))}


def test_a_pin_on_a_secondary_with_other_content_is_a_conflict():
    w = World()
    c = cfg()
    w.tags["ghcr"]["v1.0.0-php-8.3"] = digest("someone else")
    pp = w.publish(c, "v1.0.0")
    assert any("on ghcr" in conflict.message for conflict in pp.conflicts)


def test_record_lines_and_platforms_win_over_todays_matrix():
    c = acme_config(lines=("8.3", "8.4", "8.5"))
    record = dataclasses.replace(record_of("v1.0.0", "8.4"))
    adjusted, notices = config_for_record(c, record)
    assert adjusted.line_names == ("8.3", "8.4")
    assert any("has no PHP 8.5" in n for n in notices)
    older = acme_config()
    gone = record_of("v1.0.0", "8.4", lines=("8.2", "8.3", "8.4"))
    with pytest.raises(ConfigError, match=r"8\.2"):
        config_for_record(older, gone, strict=True)
    adjusted, notices = config_for_record(older, gone)
    assert any("no longer has" in n for n in notices)


def test_a_republish_with_only_leaves_out_a_line_matrix_yaml_dropped():
    """v1.0.0 had PHP 8.2, which matrix.yaml dropped since: the refusal's tip says
    to select the others with --only, and --only 8.4 then republishes 8.4 alone."""
    gone = record_of("v1.0.0", "8.2", lines=("8.2", "8.4"))
    with pytest.raises(ConfigError, match=r"8\.2") as info:
        config_for_record(acme_config(), gone, strict=True)
    assert "select the others with --only" in (info.value.hint or "")
    only = acme_config().select(("8.4",), option="--only")
    adjusted, notices = config_for_record(only, gone, strict=True)
    assert adjusted.line_names == ("8.4",) and adjusted.default_line == "8.2"
    assert not any("no longer has" in n for n in notices)
    read, notices = config_for_record(only, gone, keep_dropped=True)
    assert read.line_names == ("8.4",)
    assert not any("no longer has" in n for n in notices)


def test_a_release_is_read_where_it_was_published_and_never_written_elsewhere():
    """The Docker Hub org moved after v1.1.0 (namespace: other): reading v1.1.0
    (verify, check-public) goes to the recorded repository and says so; a command
    that writes refuses, before anything is built or pushed."""
    moved = dataclasses.replace(
        cfg(),
        registries=tuple(
            dataclasses.replace(
                r, repository=dataclasses.replace(r.repository, path="other/php-fpm")
            )
            if r.name == "hub"
            else r
            for r in cfg().registries
        ),
    )
    record = record_of("v1.1.0", "8.4")
    read, notices = config_for_record(moved, record, keep_dropped=True)
    hub = next(r for r in read.registries if r.name == "hub")
    assert hub.repository.name == "docker.io/acme/php-fpm" and hub.primary
    assert [r.repository.name for r in read.registries][1] == "ghcr.io/acme/php-fpm"
    assert any("published to docker.io/acme/php-fpm (hub)" in n for n in notices)
    for writing in ({}, {"strict": True}):
        with pytest.raises(ConfigError, match=r"now names docker\.io/other/php-fpm") as info:
            config_for_record(moved, record, **writing)
        assert "a release stays where it was published" in (info.value.hint or "")
    located = Locations(config="moved.yaml", notes_dir="notes")
    with pytest.raises(ConfigError) as info:
        config_for_record(moved, record, locations=located)
    assert "`publisher verify v1.1.0 --config moved.yaml --notes-dir notes` checks it" in (
        info.value.hint or ""
    )
    same, notices = config_for_record(cfg(), record, keep_dropped=True)
    assert same.registries == cfg().registries and not any("published to" in n for n in notices)


def test_a_registry_dropped_from_the_matrix_is_said_never_silently_forgotten():
    """v1.1.0 went to hub and a team registry; matrix.yaml no longer names the team one.
    Nothing reads or writes it any more, so verify must not call the release consistent
    "everywhere" without a word, nor a republish leave its old pins there unsaid."""
    record = dataclasses.replace(
        record_of("v1.1.0", "8.4"),
        registries=(
            RegistryFacts("hub", "docker.io/acme/php-fpm", True),
            RegistryFacts("team", "registry.example.com/acme/php-fpm", False),
        ),
    )
    dropped = "v1.1.0 was also published to registry.example.com/acme/php-fpm (team)"
    _, read = config_for_record(cfg(), record, keep_dropped=True)
    assert [n for n in read if n.startswith(dropped)] == [
        dropped + ", which matrix.yaml no longer names: not checked there"
    ]
    _, notices = config_for_record(cfg(), record)
    assert [n for n in notices if n.startswith(dropped)] == [
        dropped + ", which matrix.yaml no longer names: its tags there are left as they are"
    ]
    # A republish moves the pins elsewhere: the replaced images stay there, unrecorded.
    _, notices = config_for_record(cfg(), record, strict=True)
    assert [n for n in notices if n.startswith(dropped)] == [
        dropped + ", which matrix.yaml no longer names: a republish leaves its tags there on "
        "the images it replaces, and the record it writes no longer names it (to republish "
        "there too, add it back to matrix.yaml first)"
    ]
    # A rehearsal's registries are new each time: nothing to say about the earlier ones.
    _, rehearsed = config_for_record(cfg(), record, rehearsal=True)
    assert not any(n.startswith(dropped) for n in rehearsed)
    _, same = config_for_record(cfg(), record_of("v1.1.0", "8.4"), keep_dropped=True)
    assert not any("also published" in n for n in same)


def test_a_republish_says_registries_matrix_yaml_dropped_in_words_for_one_or_many():
    """Two registries dropped from matrix.yaml: the notice before a republish's builds and
    the warning at its end speak of them, not of one "it" that "still serves"."""
    team = RegistryFacts("team", "registry.example.com/acme/php-fpm", False)
    lab = RegistryFacts("lab", "lab.example.com/acme/php-fpm", False)
    hub = RegistryFacts("hub", "docker.io/acme/php-fpm", True)
    changes = (("8.4", digest("old"), digest("new")),)
    for gone, it, serve in (((team,), "it", "serves"), ((team, lab), "them", "serve")):
        record = dataclasses.replace(record_of("v1.1.0", "8.4"), registries=(hub, *gone))
        _, notices = config_for_record(cfg(), record, strict=True)
        [notice] = [n for n in notices if "no longer names" in n]
        assert notice.endswith(
            f"the record it writes no longer names {it} (to republish there too, add {it} "
            "back to matrix.yaml first)"
        ), notice
        said = left_behind(cfg(), record, changes)
        assert said is not None
        assert f", which matrix.yaml no longer names, still {serve} v1.1.0's tags there" in said
        assert f"To republish there too, add {it} back to matrix.yaml" in said, said
    assert left_behind(cfg(), dataclasses.replace(record, registries=(hub,)), changes) is None


def test_floating_tags_the_plan_would_point_apart_are_named_before_any_write():
    """ghcr lost v1.1.0 (a registry emptied, or added to the matrix later): a backport
    would point ghcr's floating tags at itself and hub's at v1.1.0. The plan says so;
    a release on registries that hold the same releases has nothing to say."""
    from publisher.core.publish_plan import floating_disagreements

    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    w.publish(c, "v1.1.0")
    assert floating_disagreements(w.publish(c, "v1.0.1")) == []
    w.tags["ghcr"] = {t: d for t, d in w.tags["ghcr"].items() if not t.startswith("v1.1.0")}
    p = planning.plan(c, "v1.0.2", {n: list(t) for n, t in w.tags.items()})
    planned = plan_publish(
        p,
        w.observe(p),
        {line.php: candidate("v1.0.2", line.php) for line in c.lines},
        primary="hub",
    )
    found = floating_disagreements(planned)
    assert [f.split(" ")[0] for f in found] == ["latest", "php-8.3", "php-8.4"]
    assert "v1.1.0" in found[0] and "on hub" in found[0] and "v1.0.2" in found[0]
    # the registries in matrix.yaml's order, the primary first, not alphabetically
    assert found[0].index("on hub") < found[0].index("on ghcr"), found[0]
    # before the builds, this release's digest is not known yet: said whole, not cut short
    before = dataclasses.replace(
        planned,
        floating_moves=tuple(
            dataclasses.replace(m, new=None) if m.source_release == "v1.0.2" else m
            for m in planned.floating_moves
        ),
    )
    assert "v1.0.2 (set after the builds) on ghcr" in floating_disagreements(before)[0]


def test_tag_differences_name_each_tag_and_registry_in_words() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    found = {
        "dockerhub": {"latest": a, "php-8.4": a, "php-8.3": b},
        "ghcr": {"latest": b, "php-8.4": a},
    }
    assert tag_differences(found) == [
        "latest: dockerhub sha256:aaaaaaaaaaaa…, ghcr sha256:bbbbbbbbbbbb…",
        "php-8.3: dockerhub sha256:bbbbbbbbbbbb…, ghcr (absent)",
    ]
    assert tag_differences({"dockerhub": {"latest": a}, "ghcr": {"latest": a}}) == []


def test_a_republish_smoke_tests_the_extensions_the_release_was_published_with():
    """The images are rebuilt from the release's Dockerfile: an extension added to
    matrix.yaml since is not in them, and one removed still is."""
    c = acme_config(lines=("8.3", "8.4"))
    today = c.line("8.4").extensions.names
    published = ("bcmath", "gd")
    assert today != published
    record = record_of("v1.0.0", "8.4")
    kept = dataclasses.replace(
        record,
        lines=tuple(dataclasses.replace(line, extensions=published) for line in record.lines),
    )
    adjusted, notices = config_for_record(c, kept)
    assert adjusted.line("8.4").extensions.names == published
    assert (
        f"PHP 8.4: v1.0.0 was published with the extensions bcmath, gd; matrix.yaml now names {', '.join(today) or 'none'}: checking the published ones"
        in notices
    )
    # a record from before publisher kept them: today's matrix, and nothing said
    adjusted, notices = config_for_record(c, record)
    assert adjusted.line("8.4").extensions == c.line("8.4").extensions
    assert not any("extensions" in n for n in notices)


def test_a_pin_of_a_recorded_release_moved_by_hand_is_named_for_audit_repair():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    record = record_of("v1.0.0", "8.4")
    w.tags["ghcr"]["v1.0.0-php-8.3"] = digest("moved by hand")
    p = planning.plan(c, "v1.0.0", {n: list(t) for n, t in w.tags.items()})
    pp = w.publish(c, "v1.0.0", record=record)
    assert any("on ghcr" in conflict.message for conflict in pp.conflicts)
    assert pins_off_record(p, pp, record) == ["ghcr v1.0.0-php-8.3"]
    error = conflict_error(parse_release("v1.0.0"), pp.conflicts, ["ghcr v1.0.0-php-8.3"])
    assert error.exit_code == 14 and error.hint
    assert "`publisher audit --repair` points it back" in error.hint
    assert "publisher release v1.0.0" not in error.hint  # that is the run just refused


def test_other_content_from_a_rebuild_is_not_a_pin_moved_off_the_record():
    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    record = record_of("v1.0.0", "8.4")
    p = planning.plan(c, "v1.0.0", {n: list(t) for n, t in w.tags.items()})
    pp = w.publish(c, "v1.0.0", record=record, suffix="/rebuilt")
    assert pp.conflicts  # the records name other images than the pins hold
    assert pins_off_record(p, pp, record) == []
    assert pins_off_record(p, pp, None) == []
    error = conflict_error(parse_release("v1.0.0"), pp.conflicts, [])
    assert error.hint and "`publisher release v1.0.0` finishes an interrupted release" in error.hint


def test_pins_alike_by_name_but_not_by_content_are_named_as_a_republish_stopped_half_way():
    """A republish of v1.1.0 rewrote hub's pins, then stopped before ghcr's: a backport
    would point the floating tags at v1.1.0's new content on hub and its old on ghcr.
    The plan names v1.1.0 as rewritten half-way; a registry that lost v1.1.0 is not
    that (its names differ), nor is a release whose registries agree."""
    from publisher.core.publish_plan import floating_disagreements, rewritten_halfway

    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    w.publish(c, "v1.1.0")
    assert rewritten_halfway(w.publish(c, "v1.0.1")) == []
    new = "sha256:" + "9" * 64
    w.tags["hub"] = {t: new if t.startswith("v1.1.0") else d for t, d in w.tags["hub"].items()}
    p = planning.plan(c, "v1.0.2", {n: list(t) for n, t in w.tags.items()})
    planned = plan_publish(
        p,
        w.observe(p),
        {line.php: candidate("v1.0.2", line.php) for line in c.lines},
        primary="hub",
    )
    assert floating_disagreements(planned) and rewritten_halfway(planned) == ["v1.1.0"]
    w.tags["ghcr"] = {t: d for t, d in w.tags["ghcr"].items() if not t.startswith("v1.1.0")}
    p = planning.plan(c, "v1.0.2", {n: list(t) for n, t in w.tags.items()})
    lost = plan_publish(
        p,
        w.observe(p),
        {line.php: candidate("v1.0.2", line.php) for line in c.lines},
        primary="hub",
    )
    assert floating_disagreements(lost) and rewritten_halfway(lost) == []


def test_a_release_tag_on_none_of_its_pins_is_named_as_pins_rewritten_half_way():
    """v1.1.0's pins were rewritten, then the republish stopped before v1.1.0 itself:
    v1.1.0 holds none of them. A finished release's tag holds its default line's pin;
    a release whose vX.Y.Z is absent (a rehearsal without its default line) is not judged."""
    from publisher.core.publish_plan import release_tags_apart

    a, b, c = ("sha256:" + x * 64 for x in "abc")
    whole = {"v1.1.0": b, "v1.1.0-php-8.3": a, "v1.1.0-php-8.4": b, "latest": b}
    assert release_tags_apart("hub", whole, ["v1.1.0"]) == []
    half = {**whole, "v1.1.0-php-8.4": c}
    [(release, said)] = release_tags_apart("hub", half, ["v1.1.0"])
    assert release == "v1.1.0" and said.startswith("hub: v1.1.0 is sha256:bbbbbbbbbbbb")
    assert release_tags_apart("hub", {"v1.1.0-php-8.3": a}, ["v1.1.0"]) == []
    assert release_tags_apart("hub", half, ["v1.0.0"]) == []


def test_digest_records_of_another_repository_are_refused_with_what_to_do():
    """Records built with another matrix or namespace name another primary repository:
    publishing them is refused before any request, and the tip says how to match them."""
    from publisher.core.errors import UsageError
    from publisher.core.records import DigestRecord, match_records

    config_ = cfg()
    records = [
        DigestRecord(
            release="v1.0.0",
            php=line.php,
            platform=platform,
            repository="docker.io/other/php-fpm",
            digest=digest(f"{line.php}{platform}"),
            base_image="docker.io/library/php:8.4-fpm-alpine",
            base_digest=None,
            builder="buildah",
            dockerfile_sha256=digest("dockerfile"),
        )
        for line in config_.lines
        for platform in line.platforms
    ]
    with pytest.raises(UsageError, match=r"names docker\.io/other/php-fpm") as caught:
        match_records(config_, parse_release("v1.0.0"), records)
    assert "PUBLISHER_NAMESPACE" in (caught.value.hint or "")


def test_the_digest_table_heading_says_whether_a_run_published_republished_or_rebuilt() -> None:
    facts = record_of("v1.0.0", "8.4")
    assert summary_title(facts, rehearsal=False) == "Published v1.0.0"
    entry = Republish("2026-02-01", "CVE-1", (("8.4", digest("old"), digest("new")),))
    assert (
        summary_title(facts, rehearsal=False, republish=entry)
        == "Republished v1.0.0, PHP 8.4 (CVE-1)"
    )
    # A rerun whose tags already held the rebuilt images: the entry is an earlier run's.
    assert summary_title(facts, rehearsal=False, republish=entry, moved=False) == (
        "Republished v1.0.0, PHP 8.4 (CVE-1) by an earlier run (this run moved no tag; its "
        "notes record it)"
    )
    # A release run again, its tags already where they should be: an earlier run published.
    assert summary_title(facts, rehearsal=False, moved=False) == (
        "Published v1.0.0 by an earlier run (this run moved no tag; its notes record it)"
    )
    # A rerun that moved no pin, only put floating tags back: an earlier run published.
    assert summary_title(facts, rehearsal=False, repaired=["latest"]) == (
        "Published v1.0.0 by an earlier run (this run only put back the floating tag latest; "
        "its notes record it)"
    )
    assert summary_title(facts, rehearsal=False, repaired=["latest", "php-8.4"]) == (
        "Published v1.0.0 by an earlier run (this run only put back the floating tags "
        "latest, php-8.4; its notes record it)"
    )
    assert summary_title(facts, rehearsal=False, rebuilt=True) == (
        "Rebuilt v1.0.0: identical to the published images, nothing republished"
    )
    stand_in = dataclasses.replace(facts, stand_in=True)
    assert summary_title(stand_in, rehearsal=True) == (
        "Rehearsed v1.0.0 on throwaway registries: STAND-IN images, built on stand-in base "
        "images, not the official php images: do not use them"
    )


def test_a_republish_that_changed_nothing_reruns_the_newest_entry_of_its_lines() -> None:
    old, new, newer = digest("old"), digest("new"), digest("newer")
    both = Republish("2026-02-01", "CVE-1", (("8.3", old, new), ("8.4", old, new)))
    later = Republish("2026-03-01", "base", (("8.4", new, newer),))
    record = dataclasses.replace(record_of("v1.0.0", "8.4"), history=(both, later))
    # cut to the lines rebuilt, whatever this run's reason
    assert republished_earlier(record, {"8.3": new}) == (
        dataclasses.replace(both, changes=(("8.3", old, new),)),
    )
    assert republished_earlier(record, {"8.4": newer}) == (later,)
    # not the newest entry of the line: its index is not what that entry published
    assert republished_earlier(record, {"8.4": new}) == ()
    # one line never republished
    never = dataclasses.replace(record, history=(later,))
    assert republished_earlier(never, {"8.3": digest("v1.0.0/8.3"), "8.4": newer}) == ()
    assert republished_earlier(record_of("v1.0.0", "8.4"), {"8.4": new}) == ()
    assert republished_earlier(None, {"8.4": new}) == ()


def test_a_republish_that_changed_nothing_reruns_each_line_s_newest_entry() -> None:
    """Lines last republished by different entries: each entry, cut to its lines, in the
    history's order, and the heading names each with its reason."""
    old, new, newer = digest("old"), digest("new"), digest("newer")
    both = Republish("2026-02-01", "CVE-1", (("8.3", old, new), ("8.4", old, new)))
    later = Republish("2026-03-01", "base", (("8.4", new, newer),))
    record = dataclasses.replace(record_of("v1.0.0", "8.4"), history=(both, later))
    earlier = republished_earlier(record, {"8.4": newer, "8.3": new})
    assert earlier == (dataclasses.replace(both, changes=(("8.3", old, new),)), later)
    assert summary_title(record, rehearsal=False, republish=earlier, moved=False) == (
        "Republished v1.0.0, PHP 8.3 (CVE-1) and PHP 8.4 (base) by earlier runs (this run "
        "moved no tag; its notes record it)"
    )
    assert summary_title(record, rehearsal=False, republish=earlier, repaired=["latest"]) == (
        "Republished v1.0.0, PHP 8.3 (CVE-1) and PHP 8.4 (base) by earlier runs (this run "
        "only put back the floating tag latest; its notes record it)"
    )
    # one of them not to the index rebuilt: no earlier run republished them both
    assert republished_earlier(record, {"8.4": new, "8.3": new}) == ()


@pytest.mark.parametrize(
    ("tag", "follow"),
    [
        ("v2.0.0", "`v2.0.0` and `latest` follow the default line"),
        # a prerelease never moves `latest`: the sentence names its own tag alone
        ("v2.0.0-rc.1", "`v2.0.0-rc.1` follows the default line"),
    ],
)
def test_leaving_out_the_default_line_names_the_tags_that_follow_it(tag: str, follow: str) -> None:
    """The refusal of ``--only`` without the default line, and the rehearsal's warning,
    say which tags follow the default line: a prerelease's own tag, never ``latest``."""
    import io

    from publisher.adapters.output import Output

    only_83 = cfg().select(("8.3",), "--only")
    release = parse_release(tag)
    with pytest.raises(UsageError) as refused:
        require_default_line(only_83, release, None, set())
    assert follow in refused.value.message
    assert ("latest" in refused.value.message) is release.is_stable
    err = io.StringIO()
    require_default_line(
        only_83,
        release,
        None,
        set(),
        rehearsal_output=Output({}, stream=io.StringIO(), err_stream=err),
    )
    assert follow in err.getvalue()
    assert ("latest" in err.getvalue()) is release.is_stable, err.getvalue()


@pytest.mark.parametrize(
    ("by", "warned"), [("--only", False), ("PUBLISHER_LINES", True), ("PUBLISHER_PLATFORMS", True)]
)
def test_a_rehearsal_warns_of_the_default_line_left_out_only_when_not_asked(by, warned) -> None:
    """A build check rehearses the line ``--only`` names (image-build.yml: one job per line):
    the default line left out is what was asked, said as the run's progress, never a
    warning on every green run. Left out by an environment override, which nobody named on
    the command line, it stays a warning (an annotation in Actions)."""
    import io

    from publisher.adapters.output import Output

    if by == "--only":
        narrowed = cfg().select(("8.3",), "--only")
    else:
        text = acme_matrix(line_platforms={"8.4": ["linux/arm64"]})
        value = "8.3" if by == "PUBLISHER_LINES" else "linux/amd64"
        narrowed = config.loads(text, env={by: value})
    err = io.StringIO()
    output = Output({"GITHUB_ACTIONS": "true"}, stream=io.StringIO(), err_stream=err)
    require_default_line(narrowed, parse_release("v0.0.0-build-check"), None, set(),
                         rehearsal_output=output)  # fmt: skip
    said = err.getvalue()
    assert "rehearsing v0.0.0-build-check without PHP 8.4, its default line" in said, said
    assert ("::warning::" in said) is warned, said


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PUBLISHER_LINES": "8.3"}, "PUBLISHER_LINES"),
        ({"PUBLISHER_PLATFORMS": "linux/amd64"}, "PUBLISHER_PLATFORMS"),
    ],
)
def test_an_override_leaving_out_the_default_line_is_its_mistake(env, named) -> None:
    """Left out by an environment override, not by --only: the refusal is that variable's
    mistake (exit 3, as its other ones), and the tip changes it, not an --only never given."""
    text = acme_matrix(line_platforms={"8.4": ["linux/arm64"]})
    narrowed = config.loads(text, env=env)
    with pytest.raises(ConfigError) as refused:
        require_default_line(narrowed, parse_release("v2.0.0"), None, set())
    err = refused.value
    assert err.exit_code == 3 and err.field == named and err.source == "environment"
    assert "v2.0.0 would be published without PHP 8.4, its default line" in err.message
    assert "--only" not in (err.hint or "") and f"change or unset {named}" in (err.hint or "")


def test_a_registry_added_later_is_said_to_lack_the_recorded_releases_before_it():
    """extra holds v1.1.0 (written by this run) but neither v1.0.0 nor the php-8.3 its
    8.3 pin carries on the others; a release without a record (unfinished, said
    elsewhere) and a registry holding everything are not named."""
    full = ["v1.0.0", "v1.0.0-php-8.3", "v1.0.0-php-8.4", "php-8.3", "php-8.4", "latest"]
    tags = {
        "hub": [*full, "v1.1.0", "v1.1.0-php-8.4", "v1.2.0-php-8.4"],
        "ghcr": [*full, "v1.1.0", "v1.1.0-php-8.4"],
        "extra": ["v1.1.0", "v1.1.0-php-8.4", "php-8.4", "latest"],
    }
    assert registries_behind(tags, {"v1.0.0", "v1.1.0"}) == {"extra": (["v1.0.0"], ["php-8.3"])}
    assert registries_behind({k: tags[k] for k in ("hub", "ghcr")}, {"v1.0.0"}) == {}


def test_the_tip_for_pins_rewritten_half_way_speaks_of_one_republish_or_of_each():
    """Two releases whose pins a republish left half-way: the tip says to rerun each, with
    the --only each had, not "it" as though there were one."""
    one = halfway_republish_hint(["v1.0.0"], "no tag was written")
    assert "a republish stopped while rewriting them" in one, one
    assert "Rerun it as it was run (`publisher republish v1.0.0 --reason ...`, with the " in one
    two = halfway_republish_hint(["v1.0.0", "v1.1.0"], "no tag was written")
    assert "a republish of each stopped while rewriting them" in two, two
    assert (
        "Rerun each as it was run (`publisher republish v1.0.0 --reason ...`; `publisher "
        "republish v1.1.0 --reason ...`, with the --only each had, if any" in two
    ), two


def test_pins_missing_from_a_registry_are_told_apart_from_pins_rewritten_half_way():
    """v1.2.0's pins are on hub alone (a release that did not finish on ghcr), v1.1.0's
    8.4 pin holds other content on each (a republish stopped), v1.0.0's are alike: each
    is named as what it is, v1.0.0 not at all."""
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    alike = {"v1.0.0": a, "v1.0.0-php-8.4": a}
    found = {
        "hub": {**alike, "v1.1.0-php-8.4": a, "v1.2.0": b, "v1.2.0-php-8.4": b},
        "ghcr": {**alike, "v1.1.0-php-8.4": b},
    }
    apart = pins_apart(found)
    assert apart.rewritten == ("v1.1.0",)
    assert dict(apart.missing) == {"v1.2.0": ("ghcr",)}
    assert apart.defects == (
        "pin rewritten half-way: v1.1.0-php-8.4: hub sha256:aaaaaaaaaaaa…, ghcr "
        "sha256:bbbbbbbbbbbb…",
        "pin missing from ghcr: v1.2.0: hub sha256:bbbbbbbbbbbb…, ghcr (absent)",
        "pin missing from ghcr: v1.2.0-php-8.4: hub sha256:bbbbbbbbbbbb…, ghcr (absent)",
    )
    assert pins_apart({"hub": alike, "ghcr": alike}) == pins_apart({})


def test_the_floating_tags_a_run_moved_are_said_per_release_and_registries():
    def move(registry: str, tag: str, release: str) -> TagMove:
        return TagMove(registry, tag, None, "sha256:" + "a" * 64, "floating", release)

    moves = [
        move("hub", "php-8.4", "v1.1.0"),
        move("hub", "latest", "v1.1.0"),
        move("ghcr", "latest", "v1.1.0"),
        move("ghcr", "php-8.3", "v1.0.0"),
        move("ghcr", "latest", "v1.1.0"),  # moved again: said once
    ]
    assert floating_words(moves, ["hub", "ghcr"]) == (
        "latest onto v1.1.0 on hub and ghcr; php-8.3 onto v1.0.0 on ghcr; php-8.4 onto "
        "v1.1.0 on hub"
    )


def test_digest_records_of_another_release_are_named_when_none_is_of_this_one():
    """`--digests` holding another release's records (a leftover directory, the wrong
    artifact) is refused naming the release they are of and where to point it, not only
    with the legs to build."""
    from publisher.core.errors import UsageError
    from publisher.core.records import DigestRecord, match_records

    config_ = cfg()
    records = [
        DigestRecord(
            release=release,
            php=line.php,
            platform=platform,
            repository=config_.primary.repository.name,
            digest=digest(f"{release}{line.php}{platform}"),
            base_image="docker.io/library/php:8.4-fpm-alpine",
            base_digest=None,
            builder="buildah",
            dockerfile_sha256=digest("dockerfile"),
        )
        for release in ("v1.0.0", "v1.1.0-rc.1")
        for line in config_.lines
        for platform in line.platforms
    ]
    with pytest.raises(UsageError, match=r"no digest record for release v1\.2\.0") as caught:
        match_records(config_, parse_release("v1.2.0"), records)
    message = str(caught.value)
    assert "the digest records given are of v1.0.0, v1.1.0-rc.1, not of v1.2.0" in message
    assert "point --digests at v1.2.0's records" in (caught.value.hint or "")


def test_records_of_this_release_for_lines_left_out_are_not_called_another_release():
    """`--only 8.4` with --digests holding this release's 8.3 records beside an earlier
    release's: the records given are not all of the other release, so the legs missing
    are named, not "the digest records given are of v1.0.0, not of v1.2.0"."""
    from publisher.core.errors import UsageError
    from publisher.core.records import DigestRecord, match_records

    config_ = cfg()
    first, *rest = config_.lines
    selected = config_.select([rest[0].php], option="--only")

    def record(release: str, php: str, platform: str) -> DigestRecord:
        return DigestRecord(
            release=release,
            php=php,
            platform=platform,
            repository=config_.primary.repository.name,
            digest=digest(f"{release}{php}{platform}"),
            base_image="docker.io/library/php:8.4-fpm-alpine",
            base_digest=None,
            builder="buildah",
            dockerfile_sha256=digest("dockerfile"),
        )

    records = [record("v1.2.0", first.php, p.value) for p in first.platforms] + [
        record("v1.0.0", line.php, p.value) for line in config_.lines for p in line.platforms
    ]
    with pytest.raises(UsageError, match=r"no digest record for release v1\.2\.0") as caught:
        match_records(selected, parse_release("v1.2.0"), records)
    message = str(caught.value)
    assert "the digest records given are of" not in message, message
    assert f"v1.2.0: {rest[0].php} {rest[0].platforms[0]}" in message, message
    assert "run `publisher build v1.2.0` for those legs" in (caught.value.hint or "")
    located = Locations(config="m.yaml", notes_dir="n")
    with pytest.raises(UsageError) as caught:
        match_records(selected, parse_release("v1.2.0"), records, locations=located)
    assert (
        "run `publisher build v1.2.0 --config m.yaml` for those legs (or `publisher release "
        "v1.2.0 --config m.yaml --notes-dir n`) first"
    ) in (caught.value.hint or "")


def test_two_digest_records_of_one_leg_that_disagree_are_refused_not_one_picked():
    """--digests holding the artifacts of two build runs: two records for one leg naming
    different images. Publishing either would be a guess: refused naming both digests
    (a second copy of the same record is no disagreement)."""
    from publisher.core.errors import UsageError
    from publisher.core.records import DigestRecord, match_records

    config_ = cfg()
    line = config_.lines[0]
    platform = line.platforms[0]

    def record(php: str, platform: str, run: str) -> DigestRecord:
        return DigestRecord(
            release="v1.2.0",
            php=php,
            platform=platform,
            repository=config_.primary.repository.name,
            digest=digest(f"{run}{php}{platform}"),
            base_image="docker.io/library/php:8.4-fpm-alpine",
            base_digest=None,
            builder="buildah",
            dockerfile_sha256=digest("dockerfile"),
        )

    first = [record(each.php, p, "one") for each in config_.lines for p in each.platforms]
    again = record(line.php, platform, "one")
    assert match_records(config_, parse_release("v1.2.0"), [*first, again])
    other = record(line.php, platform, "two")
    for given in ([*first, other], [other, *first]):
        with pytest.raises(UsageError) as caught:
            match_records(config_, parse_release("v1.2.0"), given)
        message = str(caught.value)
        assert f"two digest records for PHP {line.php} {platform} disagree" in message
        assert digest(f"one{line.php}{platform}") in message
        assert digest(f"two{line.php}{platform}") in message
        assert "records of one build run" in (caught.value.hint or "")


def test_one_lines_legs_built_from_different_dockerfiles_are_refused_naming_each():
    """A leg built again by hand after a render, beside the other legs' records: the
    line's index would hold images of two Dockerfiles. A record without a base digest
    (null) is no disagreement."""
    from publisher.core.errors import UsageError
    from publisher.core.records import DigestRecord, match_records

    config_ = cfg()
    line = config_.lines[0]

    def records(dockerfile_of: dict[str, str]) -> list[DigestRecord]:
        return [
            DigestRecord(
                release="v1.2.0",
                php=each.php,
                platform=platform,
                repository=config_.primary.repository.name,
                digest=digest(f"{each.php}{platform}"),
                base_image="docker.io/library/php:8.4-fpm-alpine",
                base_digest=None if platform == line.platforms[0] else digest("base"),
                builder="buildah",
                dockerfile_sha256=digest(dockerfile_of.get(f"{each.php} {platform}", "one")),
            )
            for each in config_.lines
            for platform in each.platforms
        ]

    assert match_records(config_, parse_release("v1.2.0"), records({}))
    last = line.platforms[-1]
    assert len(line.platforms) > 1
    with pytest.raises(UsageError) as caught:
        match_records(config_, parse_release("v1.2.0"), records({f"{line.php} {last}": "two"}))
    message = str(caught.value)
    assert f"the digest records of PHP {line.php} were built from different Dockerfiles" in message
    assert f"{last} from {digest('two')}" in message
    assert f"{line.platforms[0]} from {digest('one')}" in message
    assert "no registry was changed" in message
    assert "--rebuild" in (caught.value.hint or "")
    mixed = records({f"{line.php} {last}": "two"})
    with pytest.raises(UsageError) as caught:
        match_records(config_, parse_release("v1.2.0"), mixed, locations=Locations(config="m.yaml"))
    assert (
        f"(`publisher build v1.2.0 --php {line.php} --platform P --digest-file F --rebuild "
        "--config m.yaml` for each;"
    ) in (caught.value.hint or "")


def test_a_floating_tag_moving_to_an_index_with_fewer_platforms_is_named_with_what_it_loses():
    """v1.1.0 builds PHP 8.3 for linux/amd64 only: php-8.3 leaves v1.0.0's index, which
    lists linux/arm64 too, on every registry (said once, before the builds as after);
    php-8.4 and latest keep their platforms; an index no record names is not judged."""
    from publisher.core.publish_plan import platforms_lost

    w = World()
    c = cfg()
    w.publish(c, "v1.0.0")
    both = ("linux/amd64", "linux/arm64")
    known = {digest(f"v1.0.0/{php}"): ("v1.0.0", both) for php in ("8.3", "8.4")}
    amd64 = tuple(p for p in c.line("8.3").platforms if p.value == "linux/amd64")
    narrowed = dataclasses.replace(
        c,
        lines=tuple(
            dataclasses.replace(line, platforms=amd64) if line.php == "8.3" else line
            for line in c.lines
        ),
    )
    p = planning.plan(narrowed, "v1.1.0", {n: list(t) for n, t in w.tags.items()})
    for cands in ({}, {line.php: candidate("v1.1.0", line.php) for line in c.lines}):
        planned = plan_publish(p, w.observe(p), cands, primary="hub")
        assert platforms_lost(p, planned, known) == [
            "php-8.3 leaves v1.0.0, whose index lists linux/arm64, for v1.1.0, whose index "
            "lacks it (on hub, ghcr): consumers of php-8.3 on linux/arm64 get no image from "
            "it once it moves; a release may narrow a line's platforms on purpose, else add "
            "it to PHP 8.3's platforms in matrix.yaml before publishing v1.1.0"
        ]
        assert platforms_lost(p, planned, {}) == []
    same = planning.plan(c, "v1.1.0", {n: list(t) for n, t in w.tags.items()})
    assert platforms_lost(same, plan_publish(same, w.observe(same), {}, primary="hub"), known) == []
