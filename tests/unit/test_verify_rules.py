"""Verification rules: each defect is found, and all of them at once (pure)."""

from __future__ import annotations

from dataclasses import replace

from publisher.core.manifest import STAND_IN_LABEL, VERSION_LABEL
from publisher.core.verify_rules import (
    KINDS,
    BuiltAs,
    ImageFacts,
    LineExpectation,
    TagFacts,
    build_report,
    built_as,
    check_image,
    check_line,
    image_mismatches,
    line_digests,
    stand_in_said,
)
from publisher.resolve import STAND_IN_IMAGES, short_digest

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
MB = 1_000_000
PLATFORMS = ("linux/amd64", "linux/arm64")
GOOD = {"linux/amd64": 100 * MB, "linux/arm64": 90 * MB}

EXPECT = LineExpectation(
    php="8.4",
    platforms=PLATFORMS,
    budget_bytes=700 * MB,
    tags={
        "hub": ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest"),
        "ghcr": ("v1.0.0-php-8.4", "v1.0.0"),
    },
)


def all_tags(digest_hub: str | None = A, digest_ghcr: str | None = A) -> list[TagFacts]:
    facts = [TagFacts("hub", t, digest_hub) for t in EXPECT.tags["hub"]]
    facts += [TagFacts("ghcr", t, digest_ghcr) for t in EXPECT.tags["ghcr"]]
    return facts


def images(**overrides: ImageFacts) -> dict[tuple[str, str], ImageFacts]:
    result = {
        ("hub", A): ImageFacts("hub", A, platforms=GOOD),
        ("ghcr", A): ImageFacts("ghcr", A, platforms=GOOD),
    }
    for key, facts in overrides.items():
        registry, digest = key.split("_")
        result[(registry, {"A": A, "B": B}[digest])] = facts
    return result


def kinds(defects: list) -> list[str]:
    return [d.kind for d in defects]


def test_a_good_release_has_no_defects() -> None:
    assert check_line(EXPECT, all_tags(), images()) == []


def test_missing_architecture() -> None:
    facts = ImageFacts("hub", A, platforms={"linux/amd64": 10})
    defects = check_image(facts, PLATFORMS, 700 * MB, php="8.4")
    assert kinds(defects) == ["platform-missing"]
    assert "linux/arm64 is missing" in defects[0].message and "PHP 8.4" in defects[0].message


def test_unexpected_extra_architecture() -> None:
    facts = ImageFacts("hub", A, platforms={**GOOD, "linux/s390x": 5})
    defects = check_image(facts, PLATFORMS, 700 * MB)
    assert kinds(defects) == ["platform-extra"]
    assert "linux/s390x" in defects[0].message


def test_over_budget_platform() -> None:
    facts = ImageFacts("hub", A, platforms={"linux/amd64": 812_300_000, "linux/arm64": 10})
    defects = check_image(facts, PLATFORMS, 700 * MB)
    assert kinds(defects) == ["over-budget"]
    assert (
        "linux/amd64 is 812,300,000 bytes (812.3 MB), 112,300,000 bytes over the "
        "700,000,000-byte budget" in defects[0].message
    )


def test_a_few_bytes_over_budget_are_shown_exactly() -> None:
    # Rounded to 0.1 MB this read "700.0 MB, over the 700.0 MB budget".
    facts = ImageFacts("hub", A, platforms={"linux/amd64": 700_040_000, "linux/arm64": 10})
    (defect,) = check_image(facts, PLATFORMS, 700 * MB)
    assert "700,040,000 bytes (700.0 MB), 40,000 bytes over the 700,000,000-byte budget" in (
        defect.message
    )
    (small,) = check_image(
        ImageFacts("hub", A, platforms={"linux/amd64": 1_000_001, "linux/arm64": 1}),
        PLATFORMS,
        MB,
    )
    assert "1,000,001 bytes (1.0 MB), 1 byte over the 1,000,000-byte budget" in small.message


def test_an_image_exactly_at_its_budget_is_within_it() -> None:
    """The budget is the most an image may weigh: at it, no defect; a byte over, one."""
    at = ImageFacts("hub", A, platforms={"linux/amd64": 700 * MB, "linux/arm64": 10})
    assert check_image(at, PLATFORMS, 700 * MB) == []
    over = ImageFacts("hub", A, platforms={"linux/amd64": 700 * MB + 1, "linux/arm64": 10})
    assert kinds(check_image(over, PLATFORMS, 700 * MB)) == ["over-budget"]


def test_defects_of_an_image_name_the_tags_and_the_registry() -> None:
    broken = ImageFacts("ghcr", A, platforms=GOOD, missing=(f"linux/arm64 config blob {A[:19]}",))
    (defect,) = check_line(EXPECT, all_tags(), images(ghcr_A=broken))
    assert defect.kind == "child-missing" and defect.registry == "ghcr"
    assert defect.message.startswith(
        "PHP 8.4: ghcr tags v1.0.0-php-8.4, v1.0.0 (sha256:aaaaaaaaaaaa…): linux/arm64 config blob"
    )
    hub = ImageFacts("hub", A, platforms={"linux/amd64": 10})
    (defect,) = check_line(EXPECT, all_tags(), images(hub_A=hub))
    assert "hub tags v1.0.0-php-8.4, v1.0.0, php-8.4 and 1 more (sha256:" in defect.message
    one = check_image(hub, PLATFORMS, 700 * MB, php="8.4", tags=["latest"])
    assert one[0].message.startswith("PHP 8.4: hub tag latest (sha256:aaaaaaaaaaaa…): ")
    # Without tags (the publish stage checks an index before tagging) the digest names it.
    assert check_image(hub, PLATFORMS, 700 * MB)[0].message.startswith("hub sha256:aaaa")


def test_a_platform_the_index_lists_but_whose_image_is_gone_is_one_defect_not_two() -> None:
    """The index still names linux/arm64: the defect is its image, not an absent platform."""
    facts = ImageFacts(
        "ghcr",
        A,
        platforms={"linux/amd64": 10},
        missing=(f"linux/arm64 manifest {A[:19]}",),
        unfetched=("linux/arm64",),
    )
    found = check_image(facts, PLATFORMS, 700 * MB)
    assert [d.kind for d in found] == ["child-missing"], found
    extra = ImageFacts("ghcr", A, platforms=GOOD, unfetched=("linux/s390x",))
    assert [d.kind for d in check_image(extra, PLATFORMS, 700 * MB)] == ["platform-extra"]


def test_missing_child_and_duplicates_and_single_image() -> None:
    facts = ImageFacts(
        "hub",
        A,
        is_index=False,
        platforms=GOOD,
        duplicate_platforms=("linux/amd64",),
        missing=("linux/arm64 manifest sha256:bbbb",),
    )
    assert kinds(check_image(facts, PLATFORMS, 700 * MB)) == [
        "not-an-index",
        "platform-duplicate",
        "child-missing",
    ]


def test_unreadable_digest_reports_only_that() -> None:
    facts = ImageFacts("hub", A, error="the index itself is not found")
    assert kinds(check_image(facts, PLATFORMS, 700 * MB)) == ["unreadable"]


def test_tag_missing_on_one_registry() -> None:
    tags = [
        t if not (t.registry == "ghcr" and t.tag == "v1.0.0") else TagFacts("ghcr", "v1.0.0", None)
        for t in all_tags()
    ]
    defects = check_line(EXPECT, tags, images())
    assert kinds(defects) == ["tag-missing"]
    assert defects[0].registry == "ghcr" and "'v1.0.0'" in defects[0].message


def test_digests_disagree_between_registries() -> None:
    defects = check_line(
        EXPECT, all_tags(A, B), images(ghcr_B=ImageFacts("ghcr", B, platforms=GOOD))
    )
    assert kinds(defects) == ["registries-disagree"]
    assert "hub sha256:aaaa" in defects[0].message and "ghcr sha256:bbbb" in defects[0].message


def test_tags_of_one_line_disagree_on_one_registry() -> None:
    tags = [TagFacts(t.registry, t.tag, B if t.tag == "latest" else t.digest) for t in all_tags()]
    defects = check_line(EXPECT, tags, images(hub_B=ImageFacts("hub", B, platforms=GOOD)))
    assert kinds(defects) == ["tags-disagree"]
    assert "latest -> sha256:bbbb" in defects[0].message


def test_a_floating_tag_away_from_the_agreeing_pins_is_floating_moved() -> None:
    pinned = replace(EXPECT, pins=("v1.0.0-php-8.4", "v1.0.0"), recorded=A)
    tags = [TagFacts(t.registry, t.tag, B if t.tag == "latest" else t.digest) for t in all_tags()]
    defects = check_line(pinned, tags, images(hub_B=ImageFacts("hub", B, platforms=GOOD)))
    assert kinds(defects) == ["floating-moved"]
    # the message names the floating tag that moved, and where the release is
    assert defects[0].message.startswith(
        "PHP 8.4: the floating tag latest on hub points elsewhere than the release's "
        "sha256:aaaaaaaaaaaa… ("
    ), defects[0].message
    assert "latest -> sha256:bbbb" in defects[0].message
    # a pin away from the other pin is still a wrong pin
    tags = [TagFacts(t.registry, t.tag, B if t.tag == "v1.0.0" else t.digest) for t in all_tags()]
    defects = check_line(pinned, tags, images(hub_B=ImageFacts("hub", B, platforms=GOOD)))
    assert "tags-disagree" in kinds(defects) and "floating-moved" not in kinds(defects)
    # without a record (a run that stopped when a registry refused its floating-tag
    # writes), the pins that agree are the release's: the floating tag moved, and a
    # rerun moves it; a pin away from the other pin is still a wrong pin
    tags = [TagFacts(t.registry, t.tag, B if t.tag == "latest" else t.digest) for t in all_tags()]
    unrecorded = replace(pinned, recorded=None)
    defects = check_line(unrecorded, tags, images(hub_B=ImageFacts("hub", B, platforms=GOOD)))
    assert kinds(defects) == ["floating-moved"]
    tags = [TagFacts(t.registry, t.tag, B if t.tag == "v1.0.0" else t.digest) for t in all_tags()]
    defects = check_line(unrecorded, tags, images(hub_B=ImageFacts("hub", B, platforms=GOOD)))
    assert "tags-disagree" in kinds(defects) and "floating-moved" not in kinds(defects)
    # ... and so are pins that agree on one registry but not with another registry's
    tags = [
        TagFacts(t.registry, t.tag, B if t.registry == "hub" and t.tag != "latest" else A)
        for t in all_tags()
    ]
    facts = images(hub_B=ImageFacts("hub", B, platforms=GOOD))
    assert "tags-disagree" in kinds(check_line(unrecorded, tags, facts))


def test_a_registry_without_the_pins_is_not_said_to_hold_other_content() -> None:
    """The run stopped before writing its pins on ghcr: ghcr's floating tags still carry
    the earlier release, which is no digest of this release's line there: a floating tag
    a rerun moves, not registries holding other content (which a rerun refuses)."""
    both = ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest")
    expect = replace(EXPECT, tags={"hub": both, "ghcr": both}, pins=both[:2])
    tags = [TagFacts("hub", t, A) for t in both]
    tags += [TagFacts("ghcr", t, None if t in both[:2] else B) for t in both]
    facts = images(ghcr_B=ImageFacts("ghcr", B, platforms=GOOD))
    found = check_line(expect, tags, facts)
    assert kinds(found) == ["tag-missing", "tag-missing", "floating-moved"]
    assert found[-1].message == (
        "PHP 8.4: the floating tags on ghcr point at sha256:bbbbbbbbbbbb…, not at the "
        "release's sha256:aaaaaaaaaaaa… (its pins are missing there)"
    )
    assert line_digests(expect, tags) == {"hub": A, "ghcr": None}


def test_a_registry_without_the_pins_whose_floating_tags_differ_is_floating_moved() -> None:
    """ghcr has none of the release's pins, and its floating tags carry two earlier
    releases (latest the earlier default line's, php-8.4 this line's): a rerun writes the
    pins and moves both, so they are floating tags it moves, not tags that disagree."""
    both = ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest")
    expect = replace(EXPECT, tags={"hub": both, "ghcr": both}, pins=both[:2])
    C = "sha256:" + "c" * 64
    tags = [TagFacts("hub", t, A) for t in both]
    tags += [TagFacts("ghcr", "v1.0.0-php-8.4", None), TagFacts("ghcr", "v1.0.0", None)]
    tags += [TagFacts("ghcr", "php-8.4", B), TagFacts("ghcr", "latest", C)]
    facts = images(ghcr_B=ImageFacts("ghcr", B, platforms=GOOD))
    facts[("ghcr", C)] = ImageFacts("ghcr", C, platforms=GOOD)
    for recorded in (A, None):
        found = check_line(replace(expect, recorded=recorded), tags, facts)
        assert kinds(found) == ["tag-missing", "tag-missing", "floating-moved"], recorded


def test_pins_that_disagree_across_registries_name_no_digest_as_the_release_s() -> None:
    """No record, and hub's pins hold A where ghcr's hold B: which index is the release's
    is unknown, so quay (its pins missing, its floating tags on an earlier release) is
    not said to be away from "the release's" A, a floating tag a rerun would move: it
    lacks its pins, and its floating tags that disagree are tags that disagree."""
    C = "sha256:" + "c" * 64
    both = ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest")
    expect = replace(EXPECT, tags={"hub": both, "ghcr": both, "quay": both}, pins=both[:2])
    tags = [TagFacts("hub", t, A) for t in both] + [TagFacts("ghcr", t, B) for t in both]
    facts = {(r, d): ImageFacts(r, d, platforms=GOOD) for r, d in (("hub", A), ("ghcr", B))}
    facts[("quay", C)] = ImageFacts("quay", C, platforms=GOOD)
    facts[("quay", B)] = ImageFacts("quay", B, platforms=GOOD)
    for latest, said in ((C, []), (B, ["tags-disagree"])):
        quay = {"php-8.4": C, "latest": latest}
        found = check_line(
            expect, [*tags, *(TagFacts("quay", t, quay.get(t)) for t in both)], facts
        )
        assert kinds(found) == ["tag-missing", "tag-missing", *said, "registries-disagree"], found
        assert not any("the release's" in d.message for d in found), found


def test_every_defect_is_listed_not_just_the_first() -> None:
    tags = all_tags(A, B)
    tags[0] = TagFacts("hub", "v1.0.0-php-8.4", None)  # the pin is missing on hub
    facts = images(
        hub_A=ImageFacts(
            "hub", A, platforms={"linux/amd64": 900 * MB, "linux/riscv64": 1}, missing=("x",)
        ),
        ghcr_B=ImageFacts("ghcr", B, platforms={"linux/amd64": 1}),
    )
    found = kinds(check_line(EXPECT, tags, facts))
    for kind in (
        "tag-missing",
        "registries-disagree",
        "platform-missing",
        "platform-extra",
        "over-budget",
        "child-missing",
    ):
        assert kind in found, kind
    assert set(found) <= set(KINDS)


def test_report_lists_lines_digests_sizes_and_defects() -> None:
    other = LineExpectation(
        "8.3", PLATFORMS, 700 * MB, {"hub": ("v1.0.0-php-8.3",), "ghcr": ("v1.0.0-php-8.3",)}
    )
    tags = [
        *all_tags(),
        TagFacts("hub", "v1.0.0-php-8.3", B),
        TagFacts("ghcr", "v1.0.0-php-8.3", None),
    ]
    facts = images(hub_B=ImageFacts("hub", B, platforms={"linux/amd64": 1, "linux/arm64": 2}))
    report = build_report("v1.0.0", [EXPECT, other], tags, facts)
    assert not report.ok
    assert [d.kind for d in report.defects] == ["tag-missing"]
    data = report.to_dict()
    assert data["ok"] is False
    assert data["lines"][0]["digests"] == {"hub": A, "ghcr": A}
    assert data["lines"][0]["sizes"] == GOOD
    assert data["lines"][1]["tags"]["ghcr"] == {"v1.0.0-php-8.3": None}
    assert data["defects"][0]["php"] == "8.3"


def test_an_entry_of_no_platform_or_a_nested_index_is_a_defect_naming_it() -> None:
    """Not a platform called "unknown", nor a platform missing: the child by its digest."""
    bare = ImageFacts("hub", A, platforms=GOOD, unplatformed=(B,))
    found = check_image(bare, PLATFORMS, 700 * MB)
    assert [d.kind for d in found] == ["platform-extra"], found
    assert f"lists {B[:19]}… with no platform" in found[0].message
    nested = ImageFacts("hub", A, platforms={"linux/arm64": 9}, nested={"linux/amd64": B})
    found = check_image(nested, PLATFORMS, 700 * MB)
    assert [d.kind for d in found] == ["platform-nested"], found
    assert f"lists linux/amd64 as the index {B[:19]}…" in found[0].message
    pinned = replace(EXPECT, pins=("v1.0.0-php-8.4", "v1.0.0"))
    report = build_report("v1.0.0", [pinned], all_tags(), {("hub", A): bare, ("ghcr", A): bare})
    assert report.foreign_pins
    clean = ImageFacts("hub", A, platforms=GOOD)
    report = build_report("v1.0.0", [pinned], all_tags(), {("hub", A): clean, ("ghcr", A): clean})
    assert not report.foreign_pins


def test_an_image_is_judged_only_on_what_its_config_says() -> None:
    def config(labels: dict[str, str] | None = None, **fields: str) -> BuiltAs:
        return built_as({**fields, "config": {"Labels": labels} if labels else {}})

    pin = "v0.9.0-php-8.3"
    amd64 = config(os="linux", architecture="amd64")
    assert image_mismatches("linux/amd64", amd64, pin) == []
    assert [kind for kind, _ in image_mismatches("linux/arm64", amd64, pin)] == [
        "platform-mismatch"
    ]
    # arm64's variant v8 is arm64; a variant the listed platform does not name is not judged
    assert (
        image_mismatches("linux/arm64", config(os="linux", architecture="arm64", variant="v8"), pin)
        == []
    )
    assert image_mismatches(
        "linux/arm/v7", config(os="linux", architecture="arm", variant="v6"), pin
    )
    assert image_mismatches("linux/arm/v7", config(os="linux", architecture="arm"), pin) == []
    # a config naming no platform (an old or hand-made image) is not judged on it
    assert image_mismatches("linux/amd64", config(), pin) == []
    built = config({VERSION_LABEL: "v1.1.0-php-8.3"}, os="linux", architecture="amd64")
    assert image_mismatches("linux/amd64", built, pin) == [
        (
            "other-release",
            f"linux/amd64 is an image built as 'v1.1.0-php-8.3' (its {VERSION_LABEL} label), "
            f"not for {pin}",
        )
    ]
    assert image_mismatches("linux/amd64", built, "v1.1.0-php-8.3") == []
    assert image_mismatches("linux/amd64", built, None) == []


def test_an_image_says_it_is_a_stand_in_by_its_label_or_its_php_version() -> None:
    assert stand_in_said({STAND_IN_LABEL: "true"}) == f"it carries the label {STAND_IN_LABEL}=true"
    assert stand_in_said({}, "8.4.99-standin") == "its php -v says PHP 8.4.99-standin"
    assert stand_in_said({STAND_IN_LABEL: "false"}, "8.4.12") is None
    assert stand_in_said({}) is None
    labelled = built_as({"config": {"Labels": {STAND_IN_LABEL: "true"}}})
    assert labelled.stand_in and not built_as({"config": {"Labels": {}}}).stand_in


def test_a_stand_in_image_is_a_defect_only_where_stand_ins_are_not_expected() -> None:
    stand_in = built_as(
        {"os": "linux", "architecture": "amd64", "config": {"Labels": {STAND_IN_LABEL: "true"}}}
    )
    facts = ImageFacts("hub", A, platforms=GOOD, built={"linux/amd64": stand_in})
    assert check_image(facts, PLATFORMS, 700 * MB) == []
    found = check_image(facts, PLATFORMS, 700 * MB, php="8.4", stand_in=False)
    assert kinds(found) == ["stand-in"]
    assert found[0].message == (
        f"PHP 8.4: hub {short_digest(A)}: linux/amd64 is a STAND-IN image, {STAND_IN_IMAGES} "
        f"(it carries the label {STAND_IN_LABEL}=true)"
    )
    expected = replace(EXPECT, stand_in=False)
    line = check_line(expected, all_tags(), images(hub_A=facts))
    assert kinds(line) == ["stand-in"]


def test_the_json_names_the_lines_a_narrowed_release_left_out() -> None:
    """A release without a record whose run was narrowed to PHP 8.4 (the primary holds
    v1.0.0 and its 8.4 pin alone, of matrix.yaml's 8.3 and 8.4): verify checks 8.4 alone,
    and its JSON names 8.3 in ``left_out``, as its text does; [] otherwise."""
    from publisher.core.plan import started_with

    report = build_report("v1.0.0", [EXPECT], all_tags(), images())
    assert report.to_dict()["left_out"] == []
    started = started_with("v1.0.0", ["v1.0.0", "v1.0.0-php-8.4"], ["8.3", "8.4"])
    assert report.ok and started is not None and started.whole
    assert replace(report, started=started).to_dict()["left_out"] == ["8.3"]
