"""Release planning: pins, floating tags, and the release sequence from the README."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.core import config
from publisher.core.errors import ConfigError, InvalidVersionError
from publisher.core.locations import Locations
from publisher.core.plan import (
    LATEST,
    default_line_gap,
    dropped_lines,
    is_floating_tag,
    lines_left_behind,
    parse_scheme_tag,
    plan,
    settled,
    unfinished_above,
)
from publisher.core.version import parse_release
from tests.support.matrices import acme_matrix

MATRIX = acme_matrix()


@pytest.fixture
def cfg() -> config.Config:
    return config.loads(MATRIX)


class Registry:
    """A registry as tag -> content, where content names the release and line it came from."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}

    def apply(self, p, registry: str) -> None:
        for line in p.lines:
            content = f"{p.release}/{line.php}"
            for tag in p.pins(line.php):
                self.tags[tag] = content
        for f in p.floating_for(registry):
            self.tags[f.tag] = self.tags[f.source]


def release(cfg, registries, tag):
    p = plan(cfg, tag, {name: list(r.tags) for name, r in registries.items()})
    for name, r in registries.items():
        r.apply(p, name)
    return p


SEQUENCE = [
    # release, expected php-8.3, php-8.4, latest (by release) after it
    ("v1.0.0", "v1.0.0", "v1.0.0", "v1.0.0"),
    ("v1.1.0", "v1.1.0", "v1.1.0", "v1.1.0"),
    ("v1.0.1", "v1.1.0", "v1.1.0", "v1.1.0"),  # backport: floating stay
    ("v2.0.0-rc.1", "v1.1.0", "v1.1.0", "v1.1.0"),  # prerelease: floating stay
    ("v2.0.0", "v2.0.0", "v2.0.0", "v2.0.0"),
    ("v1.1.1", "v2.0.0", "v2.0.0", "v2.0.0"),  # backport after a major
]


def test_release_sequence_moves_floating_tags_only_forward(cfg):
    registries = {"hub": Registry(), "ghcr": Registry()}
    for tag, want83, want84, want_latest in SEQUENCE:
        p = release(cfg, registries, tag)
        for name, r in registries.items():
            assert r.tags["php-8.3"] == f"{want83}/8.3", (tag, name)
            assert r.tags["php-8.4"] == f"{want84}/8.4", (tag, name)
            assert r.tags[LATEST] == f"{want_latest}/8.4", (tag, name)
            # every release keeps its own pins
            assert r.tags[f"{tag}-php-8.3"] == f"{tag}/8.3"
            assert r.tags[f"{tag}-php-8.4"] == f"{tag}/8.4"
            assert r.tags[tag] == f"{tag}/8.4"
        moved = {f.tag for f in p.floating if f.this_release}
        assert moved == ({"php-8.3", "php-8.4", LATEST} if want84 == tag else set())
    final = registries["hub"].tags
    assert final == registries["ghcr"].tags
    assert sorted(t for t in final if parse_scheme_tag(t)) == sorted(
        [t for t, *_ in SEQUENCE] + [f"{t}-php-{p}" for t, *_ in SEQUENCE for p in ("8.3", "8.4")]
    )


def test_plan_lists_every_tag_for_each_line_and_registry(cfg):
    p = plan(cfg, "v2.0.0", {})
    assert [line.php for line in p.lines] == ["8.3", "8.4"]
    by = {(line.php, t.registry): t.tags for line in p.lines for t in line.targets}
    assert by[("8.3", "hub")] == ("v2.0.0-php-8.3", "php-8.3")
    assert by[("8.4", "hub")] == ("v2.0.0-php-8.4", "v2.0.0", "php-8.4", LATEST)
    assert by[("8.4", "ghcr")] == by[("8.4", "hub")]
    assert p.line("8.4").platforms == ("linux/amd64", "linux/arm64")
    assert p.line("8.4").base == "docker.io/library/php:8.4-fpm-alpine"


def test_plan_refuses_tags_of_a_registry_the_matrix_does_not_have(cfg):
    """Tags given for a registry name matrix.yaml lacks (a typo: "gchr") are refused, with
    the names it has, not ignored (its floating tags would silently go unplanned)."""
    with pytest.raises(ConfigError, match="gchr") as caught:
        plan(cfg, "v2.0.0", {"hub": ["v1.0.0"], "gchr": ["v1.0.0"]})
    assert caught.value.exit_code == 3
    assert "hub, ghcr" in caught.value.message
    assert caught.value.hint


def test_prerelease_plan_moves_no_floating_tag(cfg):
    p = plan(cfg, "v3.0.0-rc.1", {"hub": ["v2.0.0", "v2.0.0-php-8.4", "v2.0.0-php-8.3"]})
    assert not any(f.this_release for f in p.floating)
    assert {f.tag: f.source for f in p.floating_for("hub")} == {
        "php-8.3": "v2.0.0-php-8.3",
        "php-8.4": "v2.0.0-php-8.4",
        LATEST: "v2.0.0",
    }
    # ghcr has no earlier release: the prerelease gives it no floating tag at all
    assert p.floating_for("ghcr") == ()
    assert p.line("8.4").targets[0].tags == ("v3.0.0-rc.1-php-8.4", "v3.0.0-rc.1")


def test_plan_json_is_byte_identical_for_the_same_inputs(cfg):
    existing = {"hub": ["v1.0.0", "v1.0.0-php-8.4", "junk", "latest"], "ghcr": ["v1.0.0-php-8.3"]}
    shuffled = {k: list(reversed(v)) for k, v in reversed(list(existing.items()))}
    a = plan(cfg, "v1.1.0", existing).to_json()
    b = plan(cfg, "v1.1.0", shuffled).to_json()
    assert a == b
    assert json.loads(a)["schema"] == 1


def test_a_release_tag_too_long_for_its_pins_says_how_long_it_may_be(cfg):
    """Its pin tag of any PHP line (up to ``-php-999.999``) fits an image tag's 128
    characters: a release tag has at most 116, whatever the lines of the plan."""
    longest = "v1.0.0-" + "a" * (128 - len("v1.0.0-") - len("-php-999.999"))
    assert plan(cfg, longest, {}).release == longest
    with pytest.raises(InvalidVersionError, match="it has 117 characters, more than 116") as caught:
        plan(cfg, longest + "a", {})
    assert caught.value.exit_code == 2
    assert (
        caught.value.hint == "shorten the prerelease part: a release tag has at most 116 characters"
    )


def test_release_tags_that_look_like_pins_are_refused(cfg):
    with pytest.raises(InvalidVersionError, match="looks like a pin tag"):
        plan(cfg, "v1.0.0-php-8.4", {})


def test_selected_lines_without_the_default_line_move_no_floating_tag(cfg):
    """Without ``v2.0.0`` (the default line's, written last) the release is not
    finished anywhere, so neither ``latest`` nor ``php-8.3`` follows it (only a
    rehearsal may leave the default line out)."""
    only = cfg.select(("8.3",))
    p = plan(only, "v2.0.0", {"hub": ["v1.0.0", "v1.0.0-php-8.4"]})
    assert [line.php for line in p.lines] == ["8.3"]
    assert {f.tag: f.source for f in p.floating_for("hub")} == {LATEST: "v1.0.0"}
    assert p.line("8.3").targets[0].tags == ("v2.0.0-php-8.3",)


def test_committed_matrix_plans_five_lines_two_platforms_two_registries(repo_root):
    cfg = config.load(repo_root / "matrix.yaml", {})
    data = json.loads(plan(cfg, "v2.0.0", {}).to_json())
    assert [line["php"] for line in data["lines"]] == ["8.1", "8.2", "8.3", "8.4", "8.5"]
    for line in data["lines"]:
        assert line["platforms"] == ["linux/amd64", "linux/arm64"]
        assert [t["repository"] for t in line["targets"]] == [
            "docker.io/twentyi/php-fpm",
            "ghcr.io/twentyi/php-fpm",
        ]
        for target in line["targets"]:
            expected = [f"v2.0.0-php-{line['php']}"]
            if line["php"] == "8.4":
                expected.append("v2.0.0")
            expected.append(f"php-{line['php']}")
            if line["php"] == "8.4":
                expected.append("latest")
            assert target["tags"] == expected


# ---------------------------------------------------------------- property

release_tags = st.builds(
    lambda a, b, c, rc: f"v{a}.{b}.{c}" + (f"-rc.{rc}" if rc is not None else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(1, 12)),
)


@settings(max_examples=150)
@given(st.lists(release_tags, min_size=1, max_size=12, unique=True), st.data())
def test_floating_tags_point_at_the_highest_stable_release(sequence, data):
    cfg = config.loads(MATRIX)
    registries = {"hub": Registry(), "ghcr": Registry()}
    done = []
    for tag in sequence:
        # Sometimes a release covers only one line, as with --only.
        lines = data.draw(st.sampled_from([("8.3", "8.4"), ("8.4",), ("8.3",)]))
        p = plan(cfg.select(lines), tag, {n: list(r.tags) for n, r in registries.items()})
        for name, r in registries.items():
            r.apply(p, name)
        done.append((parse_release(tag), lines))
        for r in registries.values():
            for php in ("8.3", "8.4"):
                # a release without its default line (8.4) has no vX.Y.Z: it counts nowhere
                stable = [rel for rel, ls in done if rel.is_stable and php in ls and "8.4" in ls]
                if stable:
                    assert r.tags[f"php-{php}"] == f"{max(stable).tag}/{php}"
                else:
                    assert f"php-{php}" not in r.tags
            stable_default = [rel for rel, ls in done if rel.is_stable and "8.4" in ls]
            if stable_default:
                assert r.tags[LATEST] == f"{max(stable_default).tag}/8.4"
            else:
                assert LATEST not in r.tags


# ------------------------------------------------------------- releases that died writing pins


def test_a_release_that_died_writing_its_pins_is_followed_by_no_floating_tag(cfg):
    """v1.1.0 died with all its pins on hub (the primary, written first) and one on
    ghcr: neither registry's floating tags follow it, so they agree; its own rerun
    counts its pins again."""
    v100 = ["v1.0.0", "v1.0.0-php-8.3", "v1.0.0-php-8.4"]
    existing = {
        "hub": [*v100, "v1.1.0", "v1.1.0-php-8.3", "v1.1.0-php-8.4", "latest"],
        "ghcr": [*v100, "v1.1.0-php-8.3", "latest"],
    }
    counted = settled(existing)
    assert counted["hub"] == {*v100, "latest"} and counted["ghcr"] == {*v100, "latest"}
    backport = plan(cfg, "v1.0.1", existing)
    for name in ("hub", "ghcr"):
        sources = {f.tag: f.source for f in backport.floating_for(name)}
        assert sources == {
            "php-8.3": "v1.0.1-php-8.3",
            "php-8.4": "v1.0.1-php-8.4",
            LATEST: "v1.0.1",
        }
    rerun = plan(cfg, "v1.1.0", existing)
    assert {f.source for f in rerun.floating_for("ghcr")} == {
        "v1.1.0-php-8.3",
        "v1.1.0-php-8.4",
        "v1.1.0",
    }


def test_a_release_whose_pins_stopped_before_its_release_tag_counts_nowhere(cfg):
    """One registry: v1.1.0 wrote some of its pins, not ``v1.1.0`` (written last), so
    a backport's floating tags stay off it and ``latest`` follows the backport."""
    v100 = ["v1.0.0", "v1.0.0-php-8.3", "v1.0.0-php-8.4", "latest"]
    existing = {"hub": [*v100, "v1.1.0-php-8.4"]}
    assert settled(existing)["hub"] == set(v100)
    backport = plan(cfg, "v1.0.1", {**existing, "ghcr": v100})
    assert {f.tag: f.source for f in backport.floating_for("hub")}[LATEST] == "v1.0.1"


def test_a_registry_without_a_releases_pins_does_not_hold_it_back() -> None:
    """A registry added to the matrix later holds none of the old release's pins
    (whether floating tags then agree is the publish plan's check)."""
    old = ["v1.0.0", "v1.0.0-php-8.4"]
    counted = settled({"hub": [*old, "junk"], "quay": ["v2.0.0", "v2.0.0-php-8.4"]})
    assert counted["hub"] == {*old, "junk"}
    assert counted["quay"] == {"v2.0.0", "v2.0.0-php-8.4"}


class CountedTag(str):
    """A tag that counts how often it is looked up (hashed), for the work a call does."""

    looked_up = 0

    def __hash__(self) -> int:
        CountedTag.looked_up += 1
        return str.__hash__(self)


def settled_lookups(releases: int) -> int:
    """Tag look-ups of one ``settled`` call over ``releases`` releases on two registries."""
    tags = [
        CountedTag(tag)
        for n in range(releases)
        for tag in (f"v{n}.0.0", f"v{n}.0.0-php-8.3", f"v{n}.0.0-php-8.4")
    ]
    existing = {"hub": [*tags, CountedTag("latest")], "ghcr": tags}
    CountedTag.looked_up = 0
    counted = settled(existing)
    assert counted["ghcr"] == set(tags)  # every release finished
    return CountedTag.looked_up


def test_settled_looks_each_tag_up_a_bounded_number_of_times() -> None:
    """Years of releases: the work grows with the tags, not with releases times tags."""
    small, large = settled_lookups(50), settled_lookups(200)
    assert small <= 12 * (2 * 3 * 50 + 1)
    assert large <= 4.4 * small  # 4 times the tags: about 4 times the work


@settings(max_examples=150)
@given(st.lists(release_tags, min_size=2, max_size=10, unique=True), st.data())
def test_floating_tags_never_follow_a_release_that_died_writing_pins(sequence, data):
    """Any release of a sequence may die after writing some of its pins, on each
    registry a different part; the later releases' floating tags agree on both
    registries and carry only releases that finished."""
    cfg = config.loads(MATRIX)
    registries = {"hub": Registry(), "ghcr": Registry()}
    finished = []
    for tag in sequence:
        p = plan(cfg, tag, {n: list(r.tags) for n, r in registries.items()})
        if data.draw(st.booleans(), label=f"{tag} dies"):
            pins = [(line.php, t) for line in p.lines for t in p.pins(line.php)]
            # The pins are written on hub (the primary, first), then on ghcr, each
            # registry's in any order but vX.Y.Z last; the run died after ``done`` of
            # those writes. (Dying with every pin on hub and none on ghcr leaves hub's
            # floating tags to follow it: the publish plan then finds the registries'
            # floating tags pointing apart and refuses, see test_publish_plan.)
            last = [(php, t) for php, t in pins if t == tag]
            others = [(php, t) for php, t in pins if t != tag]
            writes = [
                (name, pin)
                for name in ("hub", "ghcr")
                for pin in [
                    *data.draw(st.permutations(others), label=f"{tag} on {name}"),
                    *last,
                ]
            ]
            done = data.draw(st.integers(1, len(writes) - 2), label=f"{tag} writes done")
            done += done >= len(pins)  # never every pin on hub and none on ghcr
            for name, (php, pin) in writes[:done]:
                registries[name].tags[pin] = f"{tag}/{php}"
            continue
        for name, r in registries.items():
            r.apply(p, name)
        finished.append(parse_release(tag))
        floating = [
            {t: c for t, c in r.tags.items() if t in ("php-8.3", "php-8.4", LATEST)}
            for r in registries.values()
        ]
        assert floating[0] == floating[1]
        stable = [rel for rel in finished if rel.is_stable]
        if stable:
            assert floating[0][LATEST] == f"{max(stable).tag}/8.4"


@pytest.mark.parametrize(
    ("tag", "floating"),
    [
        ("latest", True),
        ("php-8.4", True),
        ("php-10.0", True),
        ("php-8", False),
        ("php-08.4", False),
        ("php-8.4-rc", False),
        ("php-fpm", False),
        ("v1.0.0-php-8.4", False),
        ("v1.0.0", False),
        ("Latest", False),
    ],
)
def test_which_tags_float(tag: str, floating: bool) -> None:
    """One rule for the plan, the publish stage's repair report and audit."""
    assert is_floating_tag(tag) is floating


def test_a_default_line_with_fewer_platforms_says_what_latest_lacks():
    """latest and vX.Y.Z follow the default line: built for amd64 alone, they have no arm64
    image while php-8.3 has one, and Apple Silicon Macs pulling latest would fail."""
    narrow = config.loads(acme_matrix(line_platforms={"8.4": ["linux/amd64"]}))
    gap = default_line_gap(narrow)
    assert gap is not None
    assert gap.startswith("the default line 8.4 is not built for linux/arm64, while other")
    assert "latest and each release's vX.Y.Z follow it" in gap
    assert default_line_gap(config.loads(MATRIX)) is None
    other = config.loads(acme_matrix(line_platforms={"8.3": ["linux/amd64"]}))
    assert default_line_gap(other) is None  # a narrower other line takes nothing from latest
    assert default_line_gap(narrow.select(("8.3",), option="--only")) is None


def test_a_published_release_s_default_line_gap_is_advice_for_the_next_release():
    """A published release keeps its default line and its lines' platforms: the gap is
    said as a fact, and what to change is about matrix.yaml's default line, which the next
    release takes, and only when that one lacks a platform too."""
    narrow = config.loads(acme_matrix(line_platforms={"8.4": ["linux/amd64"]}))
    fact = (
        "the default line 8.4 is not built for linux/arm64, while other lines are: latest "
        "and each release's vX.Y.Z follow it, so they have no image for linux/arm64; a "
        "published release keeps its default line and its lines' platforms"
    )
    assert default_line_gap(narrow, upcoming=config.loads(MATRIX)) == fact
    assert default_line_gap(narrow, upcoming=narrow) == (
        f"{fact}; matrix.yaml's default_line, which the next release takes, is 8.4 too, not "
        "built for linux/arm64: for the next release, build it for every platform, or pick "
        "another default_line in matrix.yaml"
    )
    moved = config.loads(acme_matrix(default_line="8.3", line_platforms={"8.3": ["linux/amd64"]}))
    assert default_line_gap(narrow, upcoming=moved) == (
        f"{fact}; matrix.yaml's default_line 8.3, which the next release takes, is not built "
        "for linux/arm64 either: for the next release, build it for every platform, or pick "
        "another default_line in matrix.yaml"
    )
    # a new release is told as before
    assert default_line_gap(narrow).endswith(  # type: ignore[union-attr]
        "; build it for every platform, or pick another default_line"
    )
    assert default_line_gap(config.loads(MATRIX), upcoming=narrow) is None


def test_a_newer_stable_release_left_half_pinned_is_named_by_a_stable_release_only() -> None:
    """Pins of v1.2.0 on one registry without its vX.Y.Z and without a record: no floating
    tag follows them, which a stable release below it says; a prerelease (it moves no
    floating tag), a release above it, or a record of v1.2.0 says nothing."""
    tags = {
        "hub": ["v1.0.0", "v1.0.0-php-8.4", "v1.2.0-php-8.4", "v1.3.0-rc.1-php-8.4", "latest"],
        "ghcr": ["v1.0.0", "v1.0.0-php-8.4", "latest"],
    }
    said = unfinished_above(parse_release("v1.1.0"), tags)
    assert len(said) == 1, said
    assert said[0].startswith("v1.2.0 did not finish writing its pins (hub holds v1.2.0-php-8.4;")
    assert "`publisher release v1.2.0` finishes it" in said[0]
    assert unfinished_above(parse_release("v1.2.1"), tags) == []
    assert unfinished_above(parse_release("v1.1.0-rc.1"), tags) == []
    assert unfinished_above(parse_release("v1.1.0"), tags, {"v1.2.0"}) == []
    settled_everywhere = {name: [*held, "v1.2.0-php-8.4", "v1.2.0"] for name, held in tags.items()}
    assert unfinished_above(parse_release("v1.1.0"), settled_everywhere) == []


def test_a_newer_release_s_pin_only_on_another_registry_than_the_primary_is_named_for_deletion() -> (
    None
):
    """A pin of v1.2.0 on ghcr that hub, the primary, lacks: no publisher run left it (the
    primary gets each pin first), so a stable release below it names its deletion by hand,
    then the release of v1.2.0, not that release as finishing it (it would not take it)."""
    tags = {
        "hub": ["v1.0.0", "v1.0.0-php-8.4", "latest"],
        "ghcr": ["v1.0.0", "v1.0.0-php-8.4", "v1.2.0-php-8.4", "latest"],
    }
    (said,) = unfinished_above(parse_release("v1.1.0"), tags, primary="hub")
    assert said.startswith("v1.2.0 did not finish writing its pins (ghcr holds v1.2.0-php-8.4;")
    assert "so no run of it left v1.2.0-php-8.4 on ghcr as it is" in said, said
    assert "delete it from ghcr by hand" in said and "finishes it" not in said, said
    # one the primary holds too was left there by a run that stopped: its rerun finishes it
    tags["hub"].append("v1.2.0-php-8.4")
    (said,) = unfinished_above(parse_release("v1.1.0"), tags, primary="hub")
    assert "`publisher release v1.2.0` finishes it" in said and "by hand" not in said, said


def test_a_dropped_line_is_said_against_the_newest_stable_release_never_a_prerelease() -> None:
    """Floating tags follow stable releases only: a prerelease leaves no line behind, and
    a stable release that drops a line names the newest stable release's pin as where
    php-X.Y stays, never a prerelease's (which php-X.Y never pointed at)."""
    tags = ["v1.0.0", "v1.0.0-php-8.2", "v1.0.0-php-8.4"]
    tags += ["v2.0.0-rc.1", "v2.0.0-rc.1-php-8.2", "v2.0.0-rc.1-php-8.4"]
    for prerelease in ("v2.0.0-rc.2", "v1.1.0-rc.1"):
        assert dropped_lines(parse_release(prerelease), tags, ["8.4"]) == (None, [])
        assert lines_left_behind(parse_release(prerelease), tags, ["8.4"]) == []
    newest, dropped = dropped_lines(parse_release("v2.0.0"), tags, ["8.4"])
    assert (newest, dropped) == (parse_release("v1.0.0"), ["8.2"])
    (said,) = lines_left_behind(parse_release("v2.0.0"), tags, ["8.4"])
    assert said.startswith(
        "v2.0.0 has no PHP 8.2, which v1.0.0, the newest stable release until now, has: "
        "php-8.2 stays on v1.0.0-php-8.2,"
    ), said
    assert "rc" not in said, said


def test_a_dropped_line_names_its_commands_with_the_run_s_locations() -> None:
    """The warning of a release that drops a line names `republish` and `republish-check`
    with the run's --config and --notes-dir, as every tip naming a command does: pasted,
    they acted on ./matrix.yaml (or found none) instead of the matrix the run used."""
    tags = ["v1.2.0", "v1.2.0-php-8.4", "v1.2.0-php-8.5"]
    at = Locations(config="m/matrix.yaml", notes_dir="m/notes", release="v1.3.0", only=("8.4",))
    (said,) = lines_left_behind(parse_release("v1.3.0"), tags, ["8.4"], at)
    assert (
        '`publisher republish v1.2.0 --reason "..." --only 8.5 --config m/matrix.yaml '
        "--notes-dir m/notes`" in said
    ), said
    assert "`publisher republish-check --config m/matrix.yaml --notes-dir m/notes`" in said, said
    # a run given none: the commands as written without options
    (said,) = lines_left_behind(parse_release("v1.3.0"), tags, ["8.4"])
    assert '`publisher republish v1.2.0 --reason "..." --only 8.5`' in said, said


def test_a_newer_release_left_half_pinned_after_a_narrowed_run_is_named_with_its_only() -> None:
    """v1.2.0's pins on hub, the primary, are of PHP 8.4 alone of matrix.yaml's 8.4 and
    8.5, with no record (its run was narrowed to 8.4, or stopped while writing them): the
    way out names the rerun with --only 8.4 (``plan.rerun_release``), and that a rerun
    without it would add PHP 8.5 to it for good; with every line held, the plain rerun as
    before."""
    tags = {
        "hub": ["v1.0.0", "v1.0.0-php-8.4", "v1.2.0-php-8.4", "latest"],
        "ghcr": ["v1.0.0", "v1.0.0-php-8.4", "latest"],
    }
    said = unfinished_above(parse_release("v1.1.0"), tags, primary="hub", matrix=("8.4", "8.5"))
    assert len(said) == 1, said
    assert "`publisher release v1.2.0 --only 8.4`" in said[0], said[0]
    assert "`publisher release v1.2.0` finishes it" not in said[0], said[0]
    assert "PHP 8.5 to it for good" in said[0], said[0]
    plain = unfinished_above(parse_release("v1.1.0"), tags, primary="hub", matrix=("8.4",))
    assert "`publisher release v1.2.0` finishes it" in plain[0], plain[0]
