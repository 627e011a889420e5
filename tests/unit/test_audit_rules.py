"""What a registry should hold according to the release records, on plain data."""

from __future__ import annotations

import dataclasses

from publisher.cli.audit_cmd import failure_of
from publisher.core import audit_rules as rules
from publisher.core.errors import NewerRecordsError, VerificationError
from publisher.stages.audit import AuditReport, advice
from tests.support.matrices import acme_config
from tests.unit.test_publish_plan import digest, record_of


def test_a_registry_matching_its_records_has_no_finding():
    records = [record_of("v1.0.0", "8.4"), record_of("v1.1.0", "8.3")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "php-8.3": digest("v1.1.0/8.3"),
            "php-8.4": digest("v1.1.0/8.4"),
            # v1.1.0 was released with default line 8.3: latest is its 8.3 image
            "latest": digest("v1.1.0/8.3"),
        }
    )
    expected, notices = rules.expected_tags(records, actual, "hub")
    assert not notices
    assert rules.compare("hub", expected, actual) == []
    assert expected["v1.0.0"].digest == digest("v1.0.0/8.4")
    assert expected["v1.1.0"].digest == digest("v1.1.0/8.3")


def test_missing_moved_and_floating_drift_are_each_named():
    records = [record_of("v1.0.0", "8.4"), record_of("v1.1.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    del actual["v1.0.0-php-8.3"]
    actual["v1.1.0-php-8.3"] = digest("other")
    actual.update(
        {
            "php-8.3": digest("v1.1.0/8.3"),
            "php-8.4": digest("v1.0.0/8.4"),  # moved back by hand
            "latest": digest("v1.1.0/8.4"),
        }
    )
    expected, _ = rules.expected_tags(records, actual, "ghcr")
    found = {(f.kind, f.tag) for f in rules.compare("ghcr", expected, actual)}
    assert found == {
        (rules.MISSING, "v1.0.0-php-8.3"),
        (rules.MOVED, "v1.1.0-php-8.3"),
        (rules.FLOATING, "php-8.4"),
    }


def test_a_release_without_a_record_is_reported_and_never_moves_a_floating_tag():
    # v2.0.0 died before its record was written: its pins are on the registry.
    records = [record_of("v1.0.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "v2.0.0-php-8.4": digest("v2/8.4"),
            "v2.0.0-php-8.5": digest("v2/8.5"),
            "v2.0.0": digest("v2/8.4"),
            "php-8.3": digest("v1.0.0/8.3"),
            "php-8.4": digest("v1.0.0/8.4"),
            "latest": digest("v2/8.4"),  # moved before the run died
            "php-8.5": digest("v2/8.5"),  # a line only the unfinished release has
        }
    )
    expected, notices = rules.expected_tags(records, actual, "hub")
    assert [(n.kind, n.release) for n in notices] == [(rules.UNRECORDED, "v2.0.0")]
    assert "rerun the release (`publisher release v2.0.0`) to finish it" in notices[0].message
    # unless a run of it is writing its tags now: a second run at once would race it
    assert (
        "to finish it; if a run of v2.0.0 is in progress (the workflow, another maintainer), "
        "wait for it to end first" in notices[0].message
    )
    assert expected["latest"].digest == digest("v1.0.0/8.4")
    assert "php-8.5" not in expected
    found = {f.tag: f for f in rules.compare("hub", expected, actual)}
    assert set(found) == {"latest", "php-8.5"}
    assert found["latest"].expected == digest("v1.0.0/8.4")
    assert "content of v2.0.0, which has no record" in found["latest"].message
    assert found["php-8.5"].expected is None and "no recorded release" in found["php-8.5"].message
    assert found["php-8.5"].to_dict()["release"] is None


def test_floating_tags_the_registries_disagree_on_are_named():
    same = {"latest": digest("a"), "php-8.4": digest("a"), "v1.0.0": digest("a")}
    assert rules.disagreements({"hub": same, "ghcr": dict(same)}) == []
    other = {**same, "latest": digest("b")}
    del other["php-8.4"]
    found = rules.disagreements({"hub": same, "ghcr": other})
    assert [(f.kind, f.tag) for f in found] == [
        (rules.DISAGREE, "latest"),
        (rules.DISAGREE, "php-8.4"),
    ]
    assert "ghcr (absent)" in found[1].message
    # audit --json: a finding no one release's has "release": null, never ""
    assert [f.to_dict()["release"] for f in found] == [None, None]
    down = rules.unreachable("ghcr", "connection refused")
    assert down.to_dict()["release"] is None


def test_a_floating_tag_a_registry_only_lacks_is_one_finding_missing_there():
    """A registry added to matrix.yaml after the releases lacks their floating tags: each is
    one ``floating`` finding there, said missing, not also the registries disagreeing."""
    records = [record_of("v1.0.0", "8.4")]
    held = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    expected, _ = rules.expected_tags(records, held, "added")
    said = rules.compare("added", expected, {})
    latest = next(f for f in said if f.tag == "latest")
    assert latest.kind == rules.FLOATING and latest.actual is None
    assert latest.message == (
        f"added: latest is missing; the recorded pins say {digest('v1.0.0/8.4')[:19]}… (v1.0.0)"
    )
    actual = {"hub": {**held, "latest": expected["latest"].digest}, "added": {}}
    assert [f.tag for f in rules.disagreements(actual)] == ["latest"]
    assert rules.disagreements(actual, said) == []
    # registries that disagree on what they hold are still named so
    actual["ghcr"] = {"latest": digest("other")}
    assert [f.tag for f in rules.disagreements(actual, said)] == ["latest"]


def test_a_release_whose_record_a_newer_publisher_wrote_is_neither_unrecorded_nor_ahead():
    """v2.0.0's record is unread (a newer publisher's schema): its pins are no release
    without a record, a floating tag carrying it is not judged (its record may place it
    there), and one carrying other content than the readable records say still is."""
    records = [record_of("v1.0.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "v2.0.0-php-8.4": digest("v2/8.4"),
            "v2.0.0": digest("v2/8.4"),
            "php-8.4": digest("v2/8.4"),
            "latest": digest("v2/8.4"),
            "php-8.3": actual["v1.0.0-php-8.4"],
        }
    )
    expected, unrecorded = rules.expected_tags(records, actual, "hub", ["v2.0.0"])
    assert unrecorded == []
    found = rules.compare("hub", expected, actual, {"v2.0.0"}, unread=["v2.0.0"])
    # php-8.3 is a line only v2.0.0 may have: where it belongs waits for its record
    assert [(f.kind, f.tag) for f in found] == [(rules.UNDECIDED, "php-8.3")], found


def test_an_unread_record_older_than_the_release_placing_a_floating_tag_hides_no_rollback():
    """v1.0.0's record is unread, v1.1.0's is read: v1.1.0 places latest and php-8.4
    whatever v1.0.0's record says, so both moved back onto v1.0.0's images are floating
    drift, said to carry the unread release and placed back by a repair (expected: v1.1.0's
    digest); php-8.5, a line v1.1.0 lacks, is v1.0.0's to place: not judged."""
    records = [record_of("v1.1.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "v1.0.0-php-8.4": digest("v1.0.0/8.4"),
            "v1.0.0-php-8.5": digest("v1.0.0/8.5"),
            "v1.0.0": digest("v1.0.0/8.4"),
            "php-8.3": digest("v1.1.0/8.3"),
            "php-8.4": digest("v1.0.0/8.4"),
            "latest": digest("v1.0.0/8.4"),
            "php-8.5": digest("v1.0.0/8.5"),
        }
    )
    expected, unrecorded = rules.expected_tags(records, actual, "hub", ["v1.0.0"])
    assert unrecorded == []
    found = rules.compare("hub", expected, actual, unread=["v1.0.0"])
    assert [(f.kind, f.tag, f.expected) for f in found] == [
        (rules.FLOATING, "latest", digest("v1.1.0/8.4")),
        (rules.FLOATING, "php-8.4", digest("v1.1.0/8.4")),
    ], found
    assert "it carries content of v1.0.0, whose record is unread" in found[0].message
    assert rules.undecided(expected, actual, ["v1.0.0"]) == {"php-8.5": ("v1.0.0",)}
    # php-8.5 elsewhere than v1.0.0's pin: still v1.0.0's to place, so not judged either
    actual["php-8.5"] = digest("v1.1.0/8.3")
    found = rules.compare("hub", expected, actual, unread=["v1.0.0"])
    assert [(f.kind, f.tag) for f in found][-1] == (rules.UNDECIDED, "php-8.5"), found


def test_a_floating_tag_an_unread_newer_record_could_place_names_no_older_expected_digest():
    """v1.1.0 and v1.2.0 are unread, v1.0.0 read: php-8.3 moved onto v1.0.0's 8.4 image is
    not said to belong at v1.0.0's 8.3 (v1.2.0 may place it): no expected digest, the
    unread releases named. A prerelease's unread record places no floating tag."""
    records = [record_of("v1.0.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "php-8.3": digest("v1.0.0/8.4"),
            "php-8.4": digest("v1.0.0/8.4"),
            "latest": digest("v1.0.0/8.4"),
        }
    )
    unread = ["v1.1.0", "v1.2.0", "v1.3.0-rc.1"]
    expected, _ = rules.expected_tags(records, actual, "ghcr", unread)
    found = rules.compare("ghcr", expected, actual, unread=unread)
    assert [(f.kind, f.tag, f.expected) for f in found] == [(rules.UNDECIDED, "php-8.3", None)], (
        found
    )
    said = found[0].message
    assert said.startswith("ghcr: php-8.3 points at "), said
    assert "cannot be judged until the records of v1.1.0, v1.2.0 are read" in said, said
    assert "rc" not in said and "recorded pins say" not in said, said
    assert found[0].to_dict()["expected"] is None
    assert rules.undecided(expected, actual, unread) == {
        tag: ("v1.1.0", "v1.2.0") for tag in ("latest", "php-8.3", "php-8.4")
    }
    # with the prerelease alone unread, the readable record decides as usual
    found = rules.compare("ghcr", expected, actual, unread=["v1.3.0-rc.1"])
    assert [(f.kind, f.tag, f.expected) for f in found] == [
        (rules.FLOATING, "php-8.3", digest("v1.0.0/8.3"))
    ], found


def test_a_finished_release_whose_record_is_not_here_is_ahead_never_rolled_back():
    """v2.0.0 finished on every registry, but its record is not in this notes
    directory (its notes pull request is not merged): the floating tags carrying it
    are ``ahead``, which a repair leaves; an unfinished v2.0.0 would be drift."""
    records = [record_of("v1.0.0", "8.4")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "v2.0.0-php-8.3": digest("v2/8.3"),
            "v2.0.0-php-8.4": digest("v2/8.4"),
            "v2.0.0": digest("v2/8.4"),
            "php-8.3": digest("v2/8.3"),
            "php-8.4": digest("v2/8.4"),
            "latest": digest("v2/8.4"),
        }
    )
    expected, _ = rules.expected_tags(records, actual, "hub")
    found = {f.tag: f for f in rules.compare("hub", expected, actual, finished={"v2.0.0"})}
    assert {tag: f.kind for tag, f in found.items()} == {
        "latest": rules.AHEAD,
        "php-8.3": rules.AHEAD,
        "php-8.4": rules.AHEAD,
    }
    message = found["latest"].message
    assert "copy v2.0.0.json, with v2.0.0.md and v2.0.0.env, into the notes directory" in message
    # it may also have stopped after its tags, before its record: a rerun finishes it
    assert (
        "or it stopped before writing it: rerun the release (`publisher release v2.0.0`), "
        "which finishes it either way" in message
    ), message
    # or it is still running, about to write its record: not a run to start again
    assert (
        "if a run of v2.0.0 is in progress (the workflow, another maintainer), wait for it "
        "to end first" in message
    )
    assert "so it finished" not in message
    assert "does not move latest back" in found["latest"].message
    unfinished = {f.tag: f.kind for f in rules.compare("hub", expected, actual)}
    assert set(unfinished.values()) == {rules.FLOATING}


def test_each_release_is_judged_in_the_repository_its_record_names():
    """After a move of hub (ghcr added later, named by no record), the older releases
    stay in hub's old repository, the newer one in the new; ghcr keeps today's."""
    from dataclasses import replace

    from publisher.core.notes import RegistryFacts

    old = [record_of("v1.0.0", "8.4"), record_of("v1.1.0", "8.4")]
    new = replace(
        record_of("v1.2.0", "8.4"),
        registries=(RegistryFacts("hub", "docker.io/other/php-fpm", True),),
    )
    found = rules.scopes(
        [*old, new], [("hub", "docker.io/other/php-fpm"), ("ghcr", "ghcr.io/other/php-fpm")]
    )
    assert [(s.label, s.releases) for s in found] == [
        ("hub", ("v1.2.0",)),
        ("hub (docker.io/acme/php-fpm)", ("v1.0.0", "v1.1.0")),
        ("ghcr", ("v1.0.0", "v1.1.0", "v1.2.0")),
    ]
    assert rules.moves(found) == [
        "hub: v1.0.0..v1.1.0 (2 releases) were published to docker.io/acme/php-fpm, "
        "while matrix.yaml names docker.io/other/php-fpm: audited there, as their records say"
    ]
    one = rules.scopes([old[0], new], [("hub", "docker.io/other/php-fpm")])
    assert rules.moves(one) == [
        "hub: v1.0.0 was published to docker.io/acme/php-fpm, "
        "while matrix.yaml names docker.io/other/php-fpm: audited there, as its record says"
    ]
    # Without a move, one scope per registry holding every release, and nothing to say.
    same = rules.scopes(old, [("hub", "docker.io/acme/php-fpm")])
    assert [(s.label, s.releases) for s in same] == [("hub", ("v1.0.0", "v1.1.0"))]
    assert rules.moves(same) == []


def test_a_registry_the_records_name_and_the_matrix_dropped_is_said():
    """v1.0.0 and v1.1.0 also went to a team registry, since dropped from matrix.yaml: the
    audit does not read it, and says so once, instead of "every registry" without a word."""
    from dataclasses import replace

    from publisher.core.notes import RegistryFacts

    team = RegistryFacts("team", "registry.example.com/acme/php-fpm", False)
    records = [
        replace(r, registries=(*r.registries, team))
        for r in (record_of("v1.1.0", "8.4"), record_of("v1.0.0", "8.4"))
    ]
    assert rules.dropped([*records, record_of("v1.2.0", "8.4")], ["hub", "ghcr"]) == [
        "team: v1.0.0..v1.1.0 (2 releases) were also published to "
        "registry.example.com/acme/php-fpm, which matrix.yaml no longer names: not audited there"
    ]
    assert rules.dropped(records, ["hub", "team"]) == []
    # One release is said as one: no "(1 release(s)) were".
    assert rules.dropped(records[1:], ["hub", "ghcr"]) == [
        "team: v1.0.0 was also published to registry.example.com/acme/php-fpm, which "
        "matrix.yaml no longer names: not audited there"
    ]


def test_pins_of_a_release_recorded_in_another_repository_are_not_unrecorded():
    """Copies of an older release in the new repository are neither expected there nor
    a release without a record."""
    old = record_of("v1.0.0", "8.4")
    actual = {tag: e.digest for tag, e in rules.recorded_pins([old]).items()}
    _, notices = rules.expected_tags([], actual, "hub")
    assert [n.release for n in notices] == ["v1.0.0"]
    expected, notices = rules.expected_tags([], actual, "hub", elsewhere=["v1.0.0"])
    assert expected == {} and notices == []


def test_a_pin_moved_off_its_record_is_advised_a_repair_or_the_republish_that_stopped():
    """A republish killed after moving hub's pins of v2.1.1: a repair points them back at
    the published images; rerunning the republish finishes it. The advice names both."""
    moved = rules.Finding(
        "hub", rules.MOVED, "v2.1.1-php-8.4", digest("recorded"), digest("rebuilt"), "v2.1.1"
    )
    report = AuditReport(releases=("v2.1.1",), findings=[moved])
    text = advice(acme_config(), report, repaired=False)
    assert "run `publisher audit --repair` to restore what the records say" in text
    assert "if the pins of v2.1.1 moved because a republish stopped half-way" in text
    assert "`publisher republish v2.1.1 --reason ...`" in text
    missing = dataclasses.replace(moved, kind=rules.MISSING, actual=None)
    text = advice(
        acme_config(), AuditReport(releases=("v2.1.1",), findings=[missing]), repaired=False
    )
    assert "republish stopped" not in text


def test_an_unanswered_registry_is_advised_the_others_were_audited_only_when_they_were():
    """Before any record, audit reads the primary alone: when it does not answer, the tip
    says what to check and to run audit again, never that other registries were audited
    (none was read). When another registry answered, the tip says so."""
    config = acme_config()
    hub, ghcr = config.registries[0], config.registries[1]
    down = rules.unreachable(hub.name, "connection failed")
    alone = AuditReport(releases=(), findings=[down], targets={hub.name: hub})
    text = advice(config, alone, repaired=False)
    assert "then run `publisher audit` again" in text
    assert "other registries" not in text
    both = AuditReport(
        releases=("v1.0.0",), findings=[down], targets={hub.name: hub, ghcr.name: ghcr}
    )
    text = advice(config, both, repaired=False)
    assert "then run `publisher audit` again: the other registries were audited" in text
    assert "were audited and repaired" in advice(config, both, repaired=True)


def test_a_lying_registry_is_advised_the_others_were_audited_only_when_they_were():
    """hub named other content than it served, ghcr could not be reached: neither tip
    says the other registries were audited (neither was). hub lying alone under
    --repair: the other registries were audited and repaired, as an unanswered one's
    tip says."""
    config = acme_config()
    hub, ghcr = config.registries[0], config.registries[1]
    lying = rules.unreachable(hub.name, "the HEAD says one digest", invalid=True)
    down = rules.unreachable(ghcr.name, "connection failed")
    targets = {hub.name: hub, ghcr.name: ghcr}
    both = AuditReport(releases=("v1.0.0",), findings=[lying, down], targets=targets)
    both.advice = {hub.name: "check that nothing rewrites it, then rerun"}
    for repaired in (False, True):
        text = advice(config, both, repaired=repaired)
        assert "hub: check that nothing rewrites it, then rerun" in text, text
        assert "other registries" not in text and "audited" not in text, text
    alone = AuditReport(releases=("v1.0.0",), findings=[lying], targets=targets)
    alone.advice = both.advice
    assert "then rerun; the other registries were audited and repaired" in advice(
        config, alone, repaired=True
    )
    assert advice(config, alone, repaired=False).endswith(
        "then rerun; the other registries were audited"
    )


def test_a_pin_of_a_line_its_record_lacks_and_the_floating_tag_it_carries_name_git_only():
    """v2.0.0's record lost PHP 8.3's entry (an older publisher's republish --only rewrote
    it with one line, or a hand edit): its pin and php-8.3, which carries it, are no drift a
    repair restores, and a published release keeps its lines, so no run adds the line back.
    The floating tag says whose content it carries; the advice names git, never --repair
    nor a rerun or a republish."""
    records = [record_of("v2.0.0", "8.4", lines=("8.4",))]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    actual.update(
        {
            "v2.0.0-php-8.3": digest("v2.0.0/8.3"),
            "php-8.3": digest("v2.0.0/8.3"),
            "php-8.4": digest("v2.0.0/8.4"),
            "latest": digest("v2.0.0/8.4"),
        }
    )
    expected, notices = rules.expected_tags(records, actual, "hub")
    assert notices == []
    [floating] = rules.compare("hub", expected, actual)
    assert (floating.kind, floating.tag, floating.expected) == (rules.FLOATING, "php-8.3", None)
    assert "carries v2.0.0-php-8.3, a pin of a line v2.0.0's record lacks" in floating.message
    pin = rules.Finding(
        "hub", rules.UNRECORDED_LINE, "v2.0.0-php-8.3", None, digest("v2.0.0/8.3"), "v2.0.0"
    )
    report = AuditReport(releases=("v2.0.0",), findings=[pin, floating])
    for repaired in (False, True):
        text = advice(acme_config(), report, repaired=repaired)
        assert "--repair" not in text and "rerun of the release or a republish" not in text
        assert "restore the record of v2.0.0 from git as said above" in text, text
        assert "then run `publisher audit` again" in text, text


def test_findings_and_the_releases_they_name_are_in_version_order_not_text_order():
    """v1.2.0 before v1.10.0: a list of hundreds reads in the order releases were made."""
    records = [record_of(tag, "8.4") for tag in ("v1.2.0", "v1.10.0", "v1.9.0")]
    actual = {tag: e.digest for tag, e in rules.recorded_pins(records).items()}
    for tag in ("v1.2.0-php-8.3", "v1.10.0-php-8.3", "v1.9.0-php-8.3"):
        del actual[tag]
    for tag in ("v2.10.0", "v2.2.0-php-8.4", "v2.10.0-php-8.4", "v2.2.0"):
        actual[tag] = digest(tag)
    expected, notices = rules.expected_tags(records, actual, "hub")
    assert [n.release for n in notices] == ["v2.2.0", "v2.10.0"]
    assert notices[0].detail == "v2.2.0, v2.2.0-php-8.4"
    missing = [f.tag for f in rules.compare("hub", expected, actual) if f.kind == rules.MISSING]
    assert missing == ["v1.2.0-php-8.3", "v1.9.0-php-8.3", "v1.10.0-php-8.3"]
    moved = [
        rules.Finding("hub", rules.MOVED, f"{tag}-php-8.4", digest("a"), digest("b"), tag)
        for tag in ("v1.10.0", "v1.2.0")
    ]
    text = advice(acme_config(), AuditReport(("v1.2.0", "v1.10.0"), moved), repaired=False)
    assert "if the pins of v1.2.0, v1.10.0 moved" in text


def unrecorded(registry: str, release: str) -> rules.Finding:
    pins = f"{release}, {release}-php-8.4"
    return rules.Finding(registry, rules.UNRECORDED, release, None, None, release, pins)


def test_many_releases_without_a_record_are_said_once_up_front_and_listed_compactly():
    """The notes directory holds 2 of 1,002 tagged releases (a wrong --notes-dir, checkout or
    branch): the text says so once, then one line per registry lists the releases (the
    first ones in version order, then how many more), not 2,000 findings each advising a
    rerun; the JSON keeps every finding."""
    tags = [f"v1.{minor}.0" for minor in range(1000)]
    moved = rules.Finding("ghcr", rules.MOVED, "php-8.4", digest("a"), digest("b"), "v2.0.0")
    findings = (
        [unrecorded("hub", t) for t in tags] + [moved] + [unrecorded("ghcr", t) for t in tags]
    )
    report = AuditReport(("v2.0.0", "v2.1.0"), findings, notes_dir="release-notes")
    said = report.messages
    assert len(said) == 4, said
    assert said[0].startswith(
        "1000 releases tagged on the registries have no record in release-notes "
        "(it holds 2 records): a wrong --notes-dir, or a checkout or branch"
    ), said[0]
    first = ", ".join(tags[: rules.UNRECORDED_LISTED])
    assert said[1].startswith(
        f"hub: 1000 releases have pins here but no record here: {first} and 988 more; "
    ), said[1]
    assert "v1.2.0, v1.3.0" in said[1] and "v1.10.0" in said[1]
    assert said[2] == moved.message
    assert said[3].startswith("ghcr: 1000 releases have pins here but no record here: v1.0.0, ")
    assert "`publisher audit --json`" in said[1]
    assert sum(map(len, said)) < 3000
    assert len(report.to_dict()["findings"]) == 2001  # type: ignore[arg-type]
    error = VerificationError(said, count=len(findings))
    assert error.message.startswith("2001 defects found:\n  - 1000 releases tagged")


def test_a_few_releases_without_a_record_are_each_said_with_its_rerun():
    findings = [unrecorded("hub", f"v1.{minor}.0") for minor in range(rules.UNRECORDED_LISTED)]
    report = AuditReport(("v2.0.0",), findings, notes_dir="release-notes")
    assert report.messages == [f.message for f in findings]


def test_the_tip_on_a_newer_record_names_what_waits_for_it_and_no_other_records_when_none():
    """A newer publisher's record alone: the tip does not say the other records were
    audited, there being none; beside readable ones it says so, and names the floating
    tags the unread record may place, left unjudged."""
    newer = rules.Finding(
        "release-notes", rules.NEWER_RECORD, "v1.0.0.json", None, None, "v1.0.0", "2"
    )
    text = " ".join(advice(acme_config(), AuditReport((), [newer]), repaired=False).split())
    assert "the other records were audited" not in text, text
    assert "no other record is here to audit" in text, text
    both = AuditReport(("v1.1.0",), [newer], undecided={"hub": ["php-8.5"]})
    text = " ".join(advice(acme_config(), both, repaired=False).split())
    assert "the other records were audited" in text, text
    assert "the floating tags it may place are left unjudged until then (hub: php-8.5)" in text


def test_a_newer_record_beside_many_releases_without_one_counts_every_defect():
    """The newer publisher's record makes the error exit 3; its header still counts every
    defect, the releases said together included, as the plain audit's does."""
    newer = rules.Finding(
        "release-notes", rules.NEWER_RECORD, "v3.0.0.json", None, None, "v3.0.0", "2"
    )
    findings = [unrecorded("hub", f"v1.{minor}.0") for minor in range(150)] + [newer]
    error = failure_of(AuditReport(("v2.0.0",), findings, notes_dir="release-notes"), "tip")
    assert isinstance(error, NewerRecordsError) and error.exit_code == 3
    assert error.message.startswith("151 defects found:"), error.message
