"""PHP lines' lifecycle (php.net supported versions) and where it shows."""

from __future__ import annotations

import datetime

from publisher.core import lifecycle
from publisher.core.config import load
from tests.conftest import ROOT

D = datetime.date


def test_the_table_covers_the_committed_matrix_with_php_net_dates() -> None:
    cfg = load(ROOT / "matrix.yaml", {})
    assert set(cfg.line_names) <= set(lifecycle.TABLE)
    assert lifecycle.TABLE["8.2"].security_until == D(2026, 12, 31)
    assert lifecycle.TABLE["8.1"].image_updates_ended == D(2026, 1, 1)
    assert "php.net/supported-versions" in lifecycle.SOURCE


def test_end_of_life_and_frozen_bases() -> None:
    s81 = lifecycle.status("8.1", D(2026, 11, 30))
    assert s81.end_of_life and s81.base_frozen
    assert "end of life on 2025-12-31" in (s81.note or "")
    assert "stopped updating it on 2026-01-01 (last: 8.1.34)" in (s81.note or "")
    s82 = lifecycle.status("8.2", D(2026, 11, 30))
    assert not s82.end_of_life and s82.security_only and not s82.base_frozen
    assert lifecycle.warning("8.2", D(2026, 11, 30)) is None  # still updating: no warning
    assert lifecycle.status("8.2", D(2027, 1, 1)).end_of_life
    assert lifecycle.warning("8.4", D(2026, 11, 30)) is None
    # a line frozen while still supported still updates (frozen_too_early warns of it)
    early = lifecycle.status("8.4", D(2026, 11, 30), frozen=True)
    assert not early.base_frozen and early.note is None
    assert lifecycle.warning("8.4", D(2026, 11, 30), frozen=True) is None
    # frozen past its end: php.net's facts keep their source, matrix.yaml's mark after them
    frozen = lifecycle.status("8.2", D(2027, 1, 1), frozen=True)
    assert frozen.base_frozen and frozen.note == (
        "PHP 8.2 reached end of life on 2026-12-31 (no security fixes); the official image "
        "no longer updates it; frozen in matrix.yaml — source: "
        "https://www.php.net/supported-versions.php"
    )
    assert lifecycle.warning("8.2", D(2027, 1, 1), frozen=True) == frozen.note
    unknown = lifecycle.status("9.9", D(2026, 1, 1), frozen=True).note
    assert unknown == "PHP 9.9 is frozen in matrix.yaml"
    assert lifecycle.status("9.9", D(2026, 1, 1)).note is None  # unknown: no claim


def test_a_line_leaving_security_support_within_90_days_is_announced() -> None:
    assert lifecycle.ending_soon("8.2", D(2026, 10, 1)) is None  # 91 days before
    first = lifecycle.ending_soon("8.2", D(2026, 10, 2))
    assert first is not None and "ends on 2026-12-31 (in 90 days)" in first
    assert "(in 31 days)" in (lifecycle.ending_soon("8.2", D(2026, 11, 30)) or "")
    assert "(in 1 day)" in (lifecycle.ending_soon("8.2", D(2026, 12, 30)) or "")
    assert "(today)" in (lifecycle.ending_soon("8.2", D(2026, 12, 31)) or "")
    assert lifecycle.ending_soon("8.2", D(2027, 1, 1)) is None  # past it: warning() says so
    assert lifecycle.warning("8.2", D(2027, 1, 1)) is not None
    # frozen before its end, it still updates: the notice stays (with frozen_too_early's)
    assert lifecycle.ending_soon("8.2", D(2026, 11, 30), frozen=True) == lifecycle.ending_soon(
        "8.2", D(2026, 11, 30)
    )
    assert "(in 30 days)" in (lifecycle.ending_soon("8.1", D(2025, 12, 1)) or "")
    assert lifecycle.ending_soon("9.9", D(2026, 11, 30)) is None  # unknown: no claim


def test_the_notice_of_a_line_ending_soon_is_plan_s_warning_about_it() -> None:
    """One text, what ``plan`` warns and ``republish-check`` notes: the default line's hands
    latest on first, another line's is ``ending_soon``'s."""
    lines = [("8.2", False), ("8.3", False), ("8.4", False)]
    day = D(2026, 12, 4)
    planned = lifecycle.matrix_warnings(lines, "8.2", day)
    noted = lifecycle.ending_notice("8.2", day, default_line="8.2", lines=lines)
    assert planned == [noted] and "(in 27 days)" in (noted or "")
    assert "it is the default line" in (noted or "")
    other = lifecycle.ending_notice("8.2", day, default_line="8.4", lines=lines)
    assert (
        other
        == lifecycle.ending_soon("8.2", day)
        == lifecycle.matrix_warnings(lines, "8.4", day)[0]
    )
    early = lifecycle.ending_notice("8.2", day, frozen=True, default_line="8.2", lines=lines)
    assert early == noted  # marked before its end, it still updates until then
    assert lifecycle.ending_notice("8.4", day, default_line="8.4", lines=lines) is None


def test_notes_are_judged_on_the_day_they_were_last_written() -> None:
    published = "2026-12-04T10:00:00Z"
    first = lifecycle.written(published)
    assert first == lifecycle.Written(D(2026, 12, 4), "release") and first.verb == "published"
    newest = lifecycle.written(published, ["2026-12-20", "2027-01-05", "2026-12-28"])
    assert newest == lifecycle.Written(D(2027, 1, 5), "republish")
    assert newest.verb == "republished"
    # a history date that is not one is passed over; one before publishing cannot be newer
    assert lifecycle.written(published, ["soon", "2026-01-01"]) == lifecycle.written(published)
    assert lifecycle.written("unknown", ["2027-01-05"]) is None
    # only YYYY-MM-DD is a recorded day: not ISO's other spellings a hand edit may leave,
    # nor a day that does not exist
    odd = ["20270105", "2027-W01-1", "2027-02-30", "2027-01-0512", "27-01-05"]
    assert lifecycle.written(published, odd) == lifecycle.written(published)
    assert lifecycle.written("20261204T100000Z") is None


def test_the_default_line_leaving_security_support_soon_hands_latest_on_first() -> None:
    """The default line ending within 90 days was told to be marked frozen or dropped, as
    any line: frozen, latest would stay on it; dropped, matrix.yaml no longer loads
    (default_line is not one of its lines). The notice says to set default_line to a line
    that still updates after that day first."""
    lines = [("8.1", True), ("8.2", False), ("8.3", False), ("8.4", False), ("8.5", False)]
    day = D(2026, 11, 30)
    said = lifecycle.matrix_warnings(lines, "8.2", day)
    assert len(said) == 2, said
    assert said[1] == (
        "PHP 8.2's security support ends on 2026-12-31 (in 31 days), and the official image "
        "stops updating it after that day: then, once the first weekly republish past that "
        "day, due Monday 2027-01-04 05:17 UTC, has run (republish.yml: it rebuilds the line "
        "once more if republish-check "
        "finds its base moved since the release), mark the line frozen: true in matrix.yaml, or drop it; it is the default line, which latest and each release's "
        "vX.Y.Z follow: first set default_line in matrix.yaml to a line that still updates "
        "after that day (8.5, 8.4, 8.3) — source: " + lifecycle.SOURCE
    )
    # another line's notice is as before; a lone default line is told to add one
    assert "it is the default line" not in lifecycle.matrix_warnings(lines, "8.4", day)[1]
    alone = lifecycle.matrix_warnings([("8.2", False)], "8.2", day)
    assert "first add a line php.net supports longer to matrix.yaml" in alone[0]
    # a published release whose next one (matrix.yaml) has another default line: no advice
    upcoming = ("8.4", lines)
    kept = lifecycle.matrix_warnings([("8.2", False)], "8.2", day, upcoming=upcoming)
    assert "it is the default line" not in kept[0]
    still = lifecycle.matrix_warnings([("8.2", False)], "8.2", day, upcoming=("8.2", lines))
    assert still[0].endswith("after that day (8.5, 8.4, 8.3) — source: " + lifecycle.SOURCE)


def test_the_committed_matrix_keeps_8_1_frozen() -> None:
    cfg = load(ROOT / "matrix.yaml", {})
    assert cfg.line("8.1").frozen
    assert not any(line.frozen for line in cfg.lines if line.php != "8.1")


def test_the_matrix_warnings_on_one_day() -> None:
    lines = [("8.1", True), ("8.2", False), ("8.3", False), ("8.4", False), ("8.5", False)]
    today = lifecycle.matrix_warnings(lines, "8.4", D(2026, 11, 30))
    assert len(today) == 2
    assert today[0].startswith("PHP 8.1 reached end of life on 2025-12-31")
    assert today[1].startswith("PHP 8.2's security support ends on 2026-12-31 (in 31 days)")
    on_81 = lifecycle.matrix_warnings(lines, "8.1", D(2026, 11, 30))
    assert on_81[2].startswith("latest and each release's vX.Y.Z follow the default line 8.1")
    # the lines that still update are named, newest first, one ending soon said so
    assert on_81[2].endswith(
        "to a line that still does (8.5, 8.4, 8.3; 8.2 too, though its security support ends "
        "on 2026-12-31 (in 31 days)) — source: " + lifecycle.SOURCE
    )
    next_year = lifecycle.matrix_warnings(lines, "8.4", D(2027, 1, 1))
    assert [text[:24] for text in next_year] == [
        "PHP 8.1 reached end of l",
        "PHP 8.2 reached end of l",
    ]
    # 8.2 is not marked frozen yet: the warning says what to change; 8.1 is, so it does not
    assert "mark the line frozen: true in matrix.yaml" not in next_year[0]
    assert next_year[1].endswith(
        "the official image no longer updates it: once the first weekly republish past its "
        "end, due Monday 2027-01-04 05:17 UTC (in 3 days), has run (republish.yml: it "
        "rebuilds the line once more if republish-check finds "
        "its base moved since the release), mark the line frozen: true in matrix.yaml (its "
        "published images stay, and no republish waits for its base), or drop it"
        " — source: " + lifecycle.SOURCE
    )
    marked = lifecycle.matrix_warnings([("8.2", True)], "8.4", D(2027, 1, 1))
    assert len(marked) == 1 and "mark the line" not in marked[0]


def test_a_line_the_table_lacks_is_said_and_older_lines_have_their_dates() -> None:
    """A plan never stays silent about a line's end of life: 7.4 and 8.0 are known (long
    past); a line php.net has not listed here is named as unchecked."""
    day = D(2026, 11, 30)
    found = lifecycle.matrix_warnings([("7.4", False), ("8.0", False), ("9.0", False)], "8.0", day)
    assert found[0].startswith("PHP 7.4 reached end of life on 2022-11-28")
    assert found[1].startswith("PHP 8.0 reached end of life on 2023-11-26")
    assert found[2].startswith("PHP 9.0 is not in publisher's table of PHP lines (7.4, 8.0,")
    assert "its end of life is not checked; add it there when php.net lists it" in found[2]
    assert found[3].startswith("latest and each release's vX.Y.Z follow the default line 8.0")
    older = lifecycle.matrix_warnings([("5.6", False)], "5.6", day)
    assert older == [
        "PHP 5.6 is not in publisher's table of PHP lines (7.4, 8.0, 8.1, 8.2, 8.3, 8.4, 8.5; "
        "publisher/core/lifecycle.py): its end of life is not checked — source: " + lifecycle.SOURCE
    ]
    assert lifecycle.status("7.4", day).base_frozen  # never rebuilt by a republish


def test_a_default_line_past_its_end_when_every_line_is_gets_advice_it_can_follow() -> None:
    """On 2030-01-01 every line of the committed matrix is past its end: "set default_line
    to a line that still does" names none, since there is none; the advice says to add one."""
    lines = [(line.php, line.frozen) for line in load(ROOT / "matrix.yaml", {}).lines]
    said = lifecycle.matrix_warnings(lines, "8.4", D(2030, 1, 1))
    assert len(said) == 6, said  # each line past its end, then the default line's advice
    advice = said[5]
    assert advice.startswith(
        "latest and each release's vX.Y.Z follow the default line 8.4, whose base no longer "
        "updates: set default_line in matrix.yaml to a line that still does; none of these "
        "lines does: add a line php.net still supports to matrix.yaml"
    ), advice
    assert "publisher/core/lifecycle.py" in advice and "make it default_line" in advice
    # on 8.5's last day, 8.5 still updates: it is the one named, with its end
    before = lifecycle.matrix_warnings(lines, "8.4", D(2029, 12, 31))
    said_85 = (
        "to a line that still does (8.5, though its security support ends on 2029-12-31 (today))"
        " — source: " + lifecycle.SOURCE
    )
    assert any(text.endswith(said_85) for text in before), before
    # a line publisher's table lacks (a newer one, unchecked) is not offered in its place
    newer = lifecycle.matrix_warnings([*lines, ("9.0", False)], "8.4", D(2030, 1, 1))
    assert "that still does; none of these lines does: add a line" in newer[-1], newer


def test_a_published_release_s_default_line_advice_is_about_the_next_release() -> None:
    """A published release keeps its default line: past its end, the advice is for the next
    release (matrix.yaml's default line and lines), and none when that one still updates."""
    recorded = [("8.1", False), ("8.4", False)]
    day = D(2026, 12, 3)
    matrix = [("8.1", True), ("8.2", False), ("8.3", False), ("8.4", False), ("8.5", False)]
    moved_on = lifecycle.matrix_warnings(recorded, "8.1", day, upcoming=("8.4", matrix))
    assert len(moved_on) == 1 and moved_on[0].startswith("PHP 8.1 reached end of life")
    still = lifecycle.matrix_warnings(recorded, "8.1", day, upcoming=("8.1", matrix))
    assert still[1] == (
        "a published release keeps its default line, here 8.1, whose base no longer updates; "
        "matrix.yaml's default_line, which the next release takes, is 8.1 too: for the next "
        "release, set default_line in matrix.yaml to a line that still does (8.5, 8.4, 8.3; "
        "8.2 too, though its security support ends on 2026-12-31 (in 28 days)) — source: "
        + lifecycle.SOURCE
    )
    other = lifecycle.matrix_warnings(
        recorded, "8.1", D(2030, 1, 1), upcoming=("8.5", [("8.5", False)])
    )
    assert len(other) == 3, other  # 8.1 and 8.4 past their end, then the advice about 8.1
    assert "matrix.yaml's default_line 8.5, which the next release takes, no longer " in other[2]
    assert "none of these lines does: add a line php.net still supports" in other[2]


def test_the_offline_rehearsal_says_about_each_line_what_the_real_matrix_does() -> None:
    """The README's first command rehearses the real release on examples/offline: its lines
    are the real matrix's, frozen where it is, so a rehearsal's warnings are a release's
    (no advice to mark 8.1 frozen, which matrix.yaml already does)."""
    from publisher.core.plan import line_warnings

    real = load(ROOT / "matrix.yaml", {})
    offline = load(ROOT / "examples/offline/matrix.yaml", {})
    assert [(line.php, line.frozen) for line in offline.lines] == [
        (line.php, line.frozen) for line in real.lines
    ]
    for day in (D(2026, 12, 3), D(2027, 1, 1), D(2030, 1, 1)):
        assert line_warnings(offline, day) == line_warnings(real, day), day
    assert lifecycle.UNFROZEN_ADVICE not in " ".join(line_warnings(offline, D(2026, 12, 3)))


#: When to mark a line frozen, as the README orders it (said before the end and after it).
AFTER_THE_WEEKLY_RUN = (
    "once the first weekly republish past {}, due Monday 2027-01-04 05:17 UTC{}, has run "
    "(republish.yml: it rebuilds the line once more if republish-check finds its base moved "
    "since the release), mark the line frozen: true in matrix.yaml"
)


def test_the_advice_past_a_line_s_end_waits_for_the_first_weekly_run_as_the_readme_does() -> None:
    """README: let the first weekly republish past a line's end run, then mark it frozen:
    true, not before. From the day after the end, plans said to mark it at once; they say
    it in the README's order, in the words of the notice before the end."""
    lines = [("8.2", False), ("8.4", False)]
    before = lifecycle.ending_soon("8.2", D(2026, 12, 5)) or ""
    assert AFTER_THE_WEEKLY_RUN.format("that day", "") in before
    for day, left in ((D(2027, 1, 1), " (in 3 days)"), (D(2027, 1, 2), " (in 2 days)")):
        said = lifecycle.matrix_warnings(lines, "8.4", day)
        assert said == [
            "PHP 8.2 reached end of life on 2026-12-31 (no security fixes); the official image "
            "no longer updates it: " + AFTER_THE_WEEKLY_RUN.format("its end", left) + " (its "
            "published images stay, and no republish waits for its base), or drop it — "
            "source: " + lifecycle.SOURCE
        ], said
    # republish-check, which found the base to be the release's, has no run to wait for
    asked = lifecycle.advised("8.2", D(2027, 1, 4), asked=True) or ""
    assert "once the first weekly" not in asked
    assert asked.endswith(lifecycle.UNFROZEN_ADVICE + " — source: " + lifecycle.SOURCE)


def test_a_line_frozen_before_its_end_is_told_so_and_still_updates() -> None:
    """frozen: true on a line php.net still supports was accepted without a word, and the
    line's notice of its end vanished: it is a warning in the README's words, and the line
    is judged as one that still updates until its end (its base still moves)."""
    day = D(2026, 12, 6)
    said = lifecycle.matrix_warnings([("8.2", True), ("8.4", False)], "8.4", day)
    assert said[0] == (
        "PHP 8.2 is marked frozen: true in matrix.yaml before its end: php.net supports it "
        "until 2026-12-31 (in 25 days), and the official image updates it until then, so it "
        "is judged as a line that still updates (republish-check asks its base, and a "
        "republish rebuilds it when that moved); mark a line frozen: true after the first "
        "weekly republish past its end (Monday 2027-01-04 05:17 UTC) has run, not before: "
        "remove frozen: true from it until then — source: " + lifecycle.SOURCE
    )
    assert said[1].startswith("PHP 8.2's security support ends on 2026-12-31 (in 25 days)")
    assert len(said) == 2, said
    assert not lifecycle.status("8.2", day, frozen=True).base_frozen
    # its last day is still before its end; the day after, frozen: true is as it should be
    last = lifecycle.frozen_too_early("8.2", D(2026, 12, 31), frozen=True) or ""
    assert "until 2026-12-31 (today)" in last
    assert lifecycle.frozen_too_early("8.2", D(2027, 1, 1), frozen=True) is None
    assert lifecycle.status("8.2", D(2027, 1, 1), frozen=True).base_frozen
    assert lifecycle.matrix_warnings([("8.2", True)], "8.4", D(2027, 1, 1)) == [
        "PHP 8.2 reached end of life on 2026-12-31 (no security fixes); the official image "
        "no longer updates it; frozen in matrix.yaml — source: " + lifecycle.SOURCE
    ]
    # far from its end: no days counted; a line the table lacks is frozen as marked
    far = lifecycle.frozen_too_early("8.4", day, frozen=True) or ""
    assert "php.net supports it until 2028-12-31, and the official" in far
    assert lifecycle.frozen_too_early("8.1", day, frozen=True) is None  # past its end
    assert lifecycle.frozen_too_early("9.9", day, frozen=True) is None
    assert lifecycle.status("9.9", day, frozen=True).base_frozen


def test_the_next_default_line_offered_is_one_the_table_knows_to_last() -> None:
    """A line newer than the table (8.6, before php.net lists it: no official image yet)
    was offered first as the next default line, and 8.2, ending in 25 days, as a good one:
    the table's lines that still update come first, newest first, one ending soon is said
    so, and a line the table lacks is named apart, never offered."""
    day = D(2026, 12, 6)
    lines = [("8.1", True), ("8.2", False), ("8.3", False), ("8.4", False), ("8.5", False)]
    lines.append(("8.6", False))
    on_81 = lifecycle.matrix_warnings(lines, "8.1", day)
    assert on_81[-1].endswith(
        "set default_line in matrix.yaml to a line that still does (8.5, 8.4, 8.3; 8.2 too, "
        "though its security support ends on 2026-12-31 (in 25 days); not 8.6, which "
        "publisher's table of PHP lines does not know (whether it still updates is not "
        "checked)) — source: " + lifecycle.SOURCE
    ), on_81
    on_82 = lifecycle.matrix_warnings(lines, "8.2", day)
    assert "it is the default line" in on_82[1]
    assert "still updates after that day (8.5, 8.4, 8.3; not 8.6, which" in on_82[1], on_82
    # only a line ending soon still updates: offered, and said so
    alone = lifecycle.matrix_warnings([("8.1", True), ("8.2", False)], "8.1", day)
    assert alone[-1].endswith(
        "to a line that still does (8.2, though its security support ends on 2026-12-31 "
        "(in 25 days)) — source: " + lifecycle.SOURCE
    ), alone
    # a line the table lacks is never the one offered: with no other, one is to be added
    newer = lifecycle.matrix_warnings([("8.1", True), ("8.6", False)], "8.1", day)
    assert "none of these lines does: add a line php.net still supports" in newer[-1], newer


def test_the_weekly_republish_schedule_is_republish_yml_s() -> None:
    """The advice names the day of the first weekly republish past a line's end from
    :data:`lifecycle.WEEKLY_REPUBLISH`: it is republish.yml's cron, and what the workflow's
    comment and docs/workflows.md say of it."""
    import yaml

    text = (ROOT / ".github/workflows/republish.yml").read_text(encoding="utf-8")
    triggers = yaml.safe_load(text)[True]  # YAML 1.1 reads the key `on` as true
    weekly = lifecycle.WEEKLY_REPUBLISH
    assert [entry["cron"] for entry in triggers["schedule"]] == [weekly.cron]
    assert f'cron: "{weekly.cron}" # {weekly.words}' in text
    assert f"**Weekly** ({weekly.words};" in (ROOT / "docs/workflows.md").read_text()
    assert weekly.cron == "17 5 * * 1" and weekly.words == "Mondays 05:17 UTC"
    # the first run on or after a day: 2027-01-01 is a Friday; a Monday is its own
    assert lifecycle.first_weekly_run("8.2") == D(2027, 1, 4)
    assert lifecycle.first_weekly_run("8.1") == D(2026, 1, 5)  # image ended on Thu 2026-01-01
    assert lifecycle.first_weekly_run("9.9") is None
    assert weekly.first_on_or_after(D(2027, 1, 4)) == D(2027, 1, 4)


#: The first weekly republish past 8.2's end, as the advice names it.
DUE_82 = "Monday 2027-01-04 05:17 UTC"
#: What that run does, as the advice says it.
RUN_DOES = (
    "republish.yml: it rebuilds the line once more if republish-check finds its base moved "
    "since the release"
)
ENDED_82 = (
    "PHP 8.2 reached end of life on 2026-12-31 (no security fixes); the official image no "
    "longer updates it: "
)
MARK = lifecycle.UNFROZEN_ADVICE + " — source: " + lifecycle.SOURCE


def test_the_advice_past_a_line_s_end_says_where_the_maintainer_stands() -> None:
    """Plans said "once the first weekly republish past its end has run" for ever, in 2030
    too, and after a republish had rebuilt the line past its end. They name the day that run
    is due; once it is past, they say to mark the line now if it ran (a schedule may not
    have); once the release's history holds a republish of the line past its end, or while
    a republish rebuilds it, that is where the maintainer stands."""
    for day, when in ((D(2027, 1, 1), "in 3 days"), (D(2027, 1, 4), "today")):
        assert lifecycle.advised("8.2", day) == (
            f"{ENDED_82}once the first weekly republish past its end, due {DUE_82} ({when}), "
            f"has run ({RUN_DOES}), {MARK}"
        )
    late = (
        f"{ENDED_82}the first weekly republish past its end was due {DUE_82} ({RUN_DOES}): "
        "if it ran (a schedule may not have: republish.yml's runs say so, and republish-check "
        f"whether the line's base is still to be rebuilt), now {MARK}"
    )
    for day in (D(2027, 1, 5), D(2030, 6, 15)):
        assert lifecycle.advised("8.2", day) == late, day
    # the release's history: a republish that rebuilt 8.2 past its end
    rebuilt = (
        f"{ENDED_82}a republish rebuilt it on 2027-01-04, past its end, on a base that no "
        f"longer moves: now {MARK}"
    )
    history = [("2026-12-30", ("8.2",)), ("2027-01-04", ("8.2", "8.4")), ("2027-02-01", ("8.4",))]
    for day in (D(2027, 1, 4), D(2030, 6, 15)):
        assert lifecycle.advised("8.2", day, republished=history) == rebuilt
    # one before its end, of another line, or not a date, tells nothing about it
    other = [("2026-12-31", ("8.2",)), ("2027-01-04", ("8.4",)), ("soon", ("8.2",))]
    assert lifecycle.advised("8.2", D(2030, 6, 15), republished=other) == late
    # a republish rebuilding it now
    assert lifecycle.advised("8.2", D(2030, 6, 15), rebuilding=True) == (
        f"{ENDED_82}this republish rebuilds it past its end, on a base that no longer moves: "
        f"once it has succeeded, {MARK}"
    )
    # republish-check asked its base: nothing is left to wait for (as before)
    assert lifecycle.advised("8.2", D(2027, 1, 4), asked=True) == ENDED_82 + MARK
    # plan and release say the same (matrix_warnings, with the history of the release)
    lines = [("8.2", False), ("8.4", False)]
    in_2030 = lifecycle.matrix_warnings(lines, "8.4", D(2030, 6, 1))
    assert len(in_2030) == 3 and in_2030[0] == late, in_2030
    assert "past its end was due Monday 2029-01-01 05:17 UTC (" in in_2030[1]  # 8.4's
    said = lifecycle.matrix_warnings(lines, "8.4", D(2027, 1, 5), republished=history)
    assert said == [rebuilt]
    assert lifecycle.matrix_warnings(lines, "8.4", D(2027, 1, 5), rebuilding=True)[0] == (
        lifecycle.advised("8.2", D(2027, 1, 5), rebuilding=True)
    )
    # the notice before the end and the warning of a mark too early name that day too
    soon = lifecycle.ending_soon("8.2", D(2026, 12, 5)) or ""
    assert f"once the first weekly republish past that day, due {DUE_82}, has run" in soon
    early = lifecycle.frozen_too_early("8.2", D(2026, 12, 5), frozen=True) or ""
    assert f"after the first weekly republish past its end ({DUE_82}) has run" in early


def test_the_default_line_advice_comes_last_with_its_source() -> None:
    """The advice about the default line lacked the source every other lifecycle line has,
    and in 2030 came between the 8.4 and 8.5 warnings: it comes after every line's."""
    lines = [(line.php, line.frozen) for line in load(ROOT / "matrix.yaml", {}).lines]
    for day in (D(2029, 1, 1), D(2030, 1, 1), D(2030, 6, 15)):
        said = lifecycle.matrix_warnings(lines, "8.4", day)
        assert all(text.endswith(" — source: " + lifecycle.SOURCE) for text in said), said
        advice = [text for text in said if text.startswith("latest and each release's")]
        assert len(advice) == 1 and said[-1] == advice[0], said
    kept = lifecycle.matrix_warnings(
        [("8.1", False), ("8.4", False)], "8.1", D(2026, 12, 3), upcoming=("8.1", lines)
    )
    assert kept[-1].startswith("a published release keeps its default line")
    assert kept[-1].endswith(" — source: " + lifecycle.SOURCE)
