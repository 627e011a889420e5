"""The command line of the pure core: plan, render, inspect --offline; errors and exit codes."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from publisher.core import lifecycle
from publisher.core.notes import RegistryFacts, SizeHistory, release_json
from tests.conftest import ROOT
from tests.support.records import line_facts, release_facts, write_record


def test_plan_json_on_the_committed_matrix_has_five_lines_two_platforms_two_registries(cli):
    result = cli("plan", "v2.0.0", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True  # as in every --json document
    assert len(data["lines"]) == 5
    assert {len(line["platforms"]) for line in data["lines"]} == {2}
    assert {len(line["targets"]) for line in data["lines"]} == {2}
    default = next(line for line in data["lines"] if line["php"] == "8.4")
    assert default["targets"][0]["tags"] == ["v2.0.0-php-8.4", "v2.0.0", "php-8.4", "latest"]
    assert cli("plan", "v2.0.0", "--json").output == result.output  # byte-identical


def test_plan_json_in_actions_writes_the_step_summary_as_plan_does(cli, tmp_path):
    """--json changes what stdout carries, not the step summary: it gets the plan's
    tables either way, and stdout stays the JSON alone."""
    summaries = []
    for extra in (["--json"], []):
        summary = tmp_path / f"summary{len(summaries)}.md"
        summary.write_text("", encoding="utf-8")
        env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        result = cli("plan", "v1.0.1", *extra, "--existing", "v1.1.0", env=env)
        assert result.exit_code == 0, result.output
        summaries.append(summary.read_text(encoding="utf-8"))
        if extra:
            assert json.loads(result.stdout)["ok"] is True
    assert "### Release v1.0.1 (stable); default line 8.4" in summaries[0], summaries[0]
    assert "### Floating tags that stay on another release" in summaries[0]
    assert summaries[0] == summaries[1]


def floating_of(result) -> dict[tuple[str, str], str]:
    """A `plan --json` result's floating tags: (registry, tag) to the tag it follows."""
    return {(f["registry"], f["tag"]): f["source"] for f in json.loads(result.stdout)["floating"]}


def test_plan_with_existing_pins_keeps_floating_tags_on_the_newer_release(cli):
    result = cli("plan", "v1.0.1", "--json", "--existing", "v1.1.0", "--existing", "v1.1.0-php-8.4")
    floating = floating_of(result)
    assert floating[("dockerhub", "latest")] == "v1.1.0"
    assert floating[("dockerhub", "php-8.4")] == "v1.1.0-php-8.4"
    assert floating[("dockerhub", "php-8.3")] == "v1.0.1-php-8.3"


def test_plan_says_why_an_existing_pin_without_its_release_tag_is_not_followed(cli):
    """A release's pins count once its vX.Y.Z is there too (a registry holding only some
    is a release that died while writing them), so `--existing v1.1.0-php-8.4` alone
    leaves php-8.4 on the release planned: the plan says so and how to count the pin,
    rather than moving php-8.4 back without a word. The pin given with its release tag,
    or a prerelease's pin (never followed), gets no such warning."""
    result = cli("plan", "v1.0.1", "--json", "--existing", "v1.1.0-php-8.4")
    assert result.exit_code == 0, result.output
    floating = floating_of(result)
    assert floating[("dockerhub", "php-8.4")] == "v1.0.1-php-8.4"
    assert (
        "warning: --existing v1.1.0-php-8.4 without --existing v1.1.0: no floating tag "
        "follows v1.1.0's pins (a release whose v1.1.0 is not there did not finish writing "
        "them)" in result.stderr
    ), result.stderr
    assert "add --existing v1.1.0 if it was published whole" in result.stderr
    for extra in (["--existing", "v1.1.0"], []):
        quiet = cli("plan", "v1.0.1", "--existing", "v1.1.0-php-8.4", *extra)
        assert quiet.exit_code == 0, quiet.output
        assert ("--existing v1.1.0-php-8.4 without" in quiet.stderr) is not bool(extra)
    prerelease = cli("plan", "v1.0.1", "--existing", "v1.1.0-rc.1-php-8.4")
    assert "without --existing" not in prerelease.stderr, prerelease.stderr


def test_plan_says_which_lines_an_existing_release_tag_without_its_pins_leaves_out(cli):
    """`--existing v1.1.0` alone keeps latest on v1.1.0, but php-A.B tags follow pins
    only, so php-8.4 would move back to the release planned: the plan says so."""
    result = cli("plan", "v1.0.1", "--json", "--existing", "v1.1.0")
    assert result.exit_code == 0, result.output
    floating = floating_of(result)
    assert floating[("dockerhub", "latest")] == "v1.1.0"
    assert (
        "warning: --existing v1.1.0 names none of its pins: php-X.Y tags follow pins "
        "(v1.1.0-php-X.Y) only, so here only latest stays on v1.1.0" in result.stderr
    ), result.stderr
    assert "add --existing v1.1.0-php-X.Y for each line it published" in result.stderr


def test_plan_says_latest_stays_on_an_existing_release_only_when_it_does(cli):
    """`--existing v1.1.0` without its pins, for a newer release planned: latest follows
    the release planned, not v1.1.0, so the warning must not say latest stays there."""
    result = cli("plan", "v2.0.0", "--json", "--existing", "v1.1.0")
    assert result.exit_code == 0, result.output
    assert floating_of(result)[("dockerhub", "latest")] == "v2.0.0"
    assert "latest stays on v1.1.0" not in result.stderr, result.stderr
    assert (
        "warning: --existing v1.1.0 names none of its pins: php-X.Y tags follow pins "
        "(v1.1.0-php-X.Y) only, so here no floating tag stays on v1.1.0" in result.stderr
    ), result.stderr


@pytest.mark.parametrize(
    ("args", "tag", "lines", "dropped"),
    [
        ((), "v2.0.0-php-9.9", "8.1, 8.2, 8.3, 8.4, 8.5", False),  # the release's own pin
        ((), "v1.0.0-php-7.4", "8.1, 8.2, 8.3, 8.4, 8.5", True),  # an earlier release's
        ((), "v1.0.0-rc.1-php-9.9", "8.1, 8.2, 8.3, 8.4, 8.5", False),  # a prerelease's
        (("--only", "8.4"), "v1.0.0-php-8.3", "8.4", True),  # a line --only leaves out
    ],
)
def test_plan_says_an_existing_pin_of_a_line_it_does_not_have_moves_nothing(
    cli, args, tag, lines, dropped
):
    """No php-X.Y tag is planned for a line the plan lacks, so the pin moves nothing: said,
    as the other --existing tags the plan leaves out are, not taken in silence (a mistyped
    line). Its release still names a pin: no "names none of its pins" besides. A line of
    the newest stable release given, which the newer release planned drops, is said once,
    as the line it leaves behind, its php-X.Y staying on that pin."""
    release = tag.split("-php-")[0]
    result = cli("plan", "v2.0.0", *args, "--existing", tag, "--existing", release)
    assert result.exit_code == 0, result.output
    php = tag.rsplit("-php-", 1)[1]
    flat = " ".join(result.stderr.split())
    not_planned = (
        f"warning: --existing {tag}: PHP {php} is not a line of this plan ({lines}): no "
        f"php-{php} tag is planned, so it moves nothing"
    )
    left_behind = f"warning: v2.0.0 has no PHP {php}, which {release}, the newest stable release"
    assert (not_planned in flat) is not dropped, result.stderr
    assert (left_behind in flat) is dropped, result.stderr
    assert f"php-{php} stays on {tag}" in flat or not dropped
    assert "names none of its pins" not in result.stderr
    planned = cli("plan", "v2.0.0", *args, "--json", "--existing", tag)
    assert f"php-{php}" not in {floating for _, floating in floating_of(planned)}
    known = cli("plan", "v2.0.0", "--existing", "v1.0.0-php-8.4", "--existing", "v1.0.0")
    assert "is not a line of this plan" not in known.stderr, known.stderr


@pytest.mark.parametrize(
    ("release", "warned"), [("v2.0.0", True), ("v1.0.1", False), ("v2.0.0-rc.1", False)]
)
def test_plan_says_a_newer_stable_release_leaves_a_dropped_line_s_tag_behind(cli, release, warned):
    """v1.1.0, the newest stable release, has PHP 8.3; a plan without it: php-8.3 stays on
    v1.1.0-php-8.3 and republish-check no longer offers 8.3, said only by a stable release
    newer than v1.1.0 (a backport or a prerelease changes neither)."""
    existing = ("v1.1.0", "v1.1.0-php-8.3", "v1.1.0-php-8.4")
    args = [arg for tag in existing for arg in ("--existing", tag)]
    result = cli("plan", release, "--only", "8.4", *args)
    assert result.exit_code == 0, result.output
    said = (
        f"warning: {release} has no PHP 8.3, which v1.1.0, the newest stable release until "
        "now, has: php-8.3 stays on v1.1.0-php-8.3, and `publisher republish-check`, which "
        "looks at the newest stable release, no longer offers PHP 8.3 for a rebuild"
    )
    assert (said in " ".join(result.stderr.split())) is warned, result.stderr
    assert ("no longer offers" in result.stderr) is warned


def test_plan_names_the_dropped_line_s_commands_with_its_config(cli, repo_root, tmp_path):
    """Run with another matrix file, the warning's `republish-check` and `republish` carry
    its --config and --notes-dir: pasted elsewhere they found no matrix.yaml (exit 3), and
    from a checkout's root they acted on its matrix.yaml, not the one planned."""
    matrix = tmp_path / "m" / "matrix.yaml"
    matrix.parent.mkdir()
    matrix.write_bytes((repo_root / "matrix.yaml").read_bytes())
    notes = tmp_path / "notes"
    notes.mkdir()
    existing = ("v1.1.0", "v1.1.0-php-8.3", "v1.1.0-php-8.4")
    args = [arg for tag in existing for arg in ("--existing", tag)]
    where = ["--config", str(matrix), "--notes-dir", str(notes)]
    result = cli("plan", "v2.0.0", "--only", "8.4", *args, *where)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stderr.split())
    located = f"--config {matrix} --notes-dir {notes}"
    assert f"`publisher republish-check {located}`, which looks at" in flat, flat
    assert f'`publisher republish v1.1.0 --reason "..." --only 8.3 {located}`' in flat, flat


@pytest.mark.parametrize("tag", ["foo", "php-8.4", "latest", "2.0.0-php-8.4", "v2.0-php-8.4"])
def test_plan_refuses_existing_tags_that_are_no_release_or_pin(cli, tag):
    result = cli("plan", "v2.0.1", "--existing", tag)
    assert result.exit_code == 2, result.output
    assert f"--existing {tag!r} is not a release or pin tag" in result.output
    assert "floating tags (php-X.Y, latest) are computed from them" in result.output


def test_plan_table_is_readable(cli):
    result = cli("plan", "v2.1.0-rc.1", "--only", "8.4,8.5")
    assert result.exit_code == 0
    assert "prerelease: floating tags stay put" in result.output
    assert "v2.1.0-rc.1-php-8.5" in result.output


def test_plan_says_which_line_leaves_security_support_within_90_days(cli, monkeypatch):
    today = datetime.datetime.now(datetime.UTC).date()
    soon = dataclasses.replace(
        lifecycle.TABLE["8.3"], security_until=today + datetime.timedelta(days=12)
    )
    monkeypatch.setitem(lifecycle.TABLE, "8.3", soon)
    result = cli("plan", "v2.0.0")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert f"PHP 8.3's security support ends on {soon.security_until} (in 12 days)" in flat
    due = lifecycle.WEEKLY_REPUBLISH.run_on(lifecycle.first_weekly_run("8.3") or today)
    assert (
        f"then, once the first weekly republish past that day, due {due}, has run "
        "(republish.yml: it rebuilds the line once more if republish-check finds its base "
        "moved since the release), mark the line frozen: true in matrix.yaml, or drop it"
    ) in flat
    # --json keeps stdout to the JSON; the same warning goes to stderr
    as_json = cli("plan", "v2.0.0", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["release"] == "v2.0.0"
    assert "PHP 8.3's security support ends" in " ".join(as_json.stderr.split())
    later = dataclasses.replace(soon, security_until=today + datetime.timedelta(days=91))
    monkeypatch.setitem(lifecycle.TABLE, "8.3", later)
    assert "PHP 8.3's security support ends" not in cli("plan", "v2.0.0").output


#: matrix.yaml's edits: its default line 8.1 (past its end), its 8.4 built for amd64 alone
DEFAULT_81 = ('default_line: "8.4"', 'default_line: "8.1"')
NARROW_84 = ('  - php: "8.4"\n', '  - php: "8.4"\n    platforms: [linux/amd64]\n')


def _committed_matrix_with(tmp_path, old: str, new: str):
    """tmp_path/matrix.yaml: the committed matrix.yaml with ``old`` (it has it) as ``new``."""
    text = (ROOT / "matrix.yaml").read_text(encoding="utf-8")
    assert old in text, old
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(text.replace(old, new), "utf-8")
    return matrix


def test_plan_warns_when_the_default_line_lacks_a_platform_the_others_have(cli, tmp_path):
    matrix = _committed_matrix_with(tmp_path, *NARROW_84)
    flat = " ".join(cli("plan", "v3.0.0", "--config", str(matrix)).output.split())
    assert "warning: the default line 8.4 is not built for linux/arm64, while other" in flat
    assert "default line 8.4 is not built" not in " ".join(cli("plan", "v3.0.0").output.split())


def test_plan_warns_when_latest_would_follow_a_line_that_no_longer_updates(
    cli, tmp_path, monkeypatch
):
    matrix = _committed_matrix_with(tmp_path, *DEFAULT_81)
    flat = " ".join(cli("plan", "v3.0.0", "--config", str(matrix)).output.split())
    assert "latest and each release's vX.Y.Z follow the default line 8.1" in flat
    assert "whose base no longer updates" in flat

    # The committed default line, made supported for years whatever today's date is.
    today = datetime.datetime.now(datetime.UTC).date()
    years = datetime.timedelta(days=1000)
    supported = dataclasses.replace(
        lifecycle.TABLE["8.4"], active_until=today + years, security_until=today + 2 * years
    )
    monkeypatch.setitem(lifecycle.TABLE, "8.4", supported)
    assert "follow the default line" not in " ".join(cli("plan", "v3.0.0").output.split())


def test_a_new_release_narrowed_to_its_default_line_is_told_the_lines_matrix_yaml_has(
    cli, tmp_path, monkeypatch
):
    """--only and PUBLISHER_LINES narrow what a release builds, not the lines matrix.yaml
    offers: with its default line 8.1 (past its end) alone selected, the advice said none
    of the lines still updates (add one to matrix.yaml), and with 8.1 and 8.2 it named 8.2
    alone, where matrix.yaml's 8.3, 8.4 and 8.5 still update (on 2026-12-04: from 2028
    on, 8.3 no longer does)."""
    monkeypatch.setattr(lifecycle, "today", lambda: datetime.date(2026, 12, 4))
    matrix = _committed_matrix_with(tmp_path, *DEFAULT_81)
    for argv, env in (
        (("--only", "8.1"), {}),
        (("--only", "8.1,8.2"), {}),
        ((), {"PUBLISHER_LINES": "8.1"}),
    ):
        result = cli("plan", "v3.0.0", *argv, "--config", str(matrix), env=env)
        assert result.exit_code == 0, result.output
        flat = " ".join(result.output.split())
        assert "latest and each release's vX.Y.Z follow the default line 8.1" in flat, flat
        assert "set default_line in matrix.yaml to a line that still does (8.5, 8.4, 8.3" in flat
        assert "none of these lines does" not in flat, (argv, env, flat)


def _published_v1(tmp_path, default_line: str, lines: dict[str, tuple[str, ...]]):
    """A notes folder holding v1.0.0's record: ``default_line``, and each line's platforms."""
    facts = release_facts(
        (line_facts(php, platforms=platforms) for php, platforms in lines.items()),
        default_line=default_line,
        published_at="2025-06-02T10:00:00Z",
        registries=(RegistryFacts("dockerhub", "docker.io/twentyi/php-fpm", True),),
    )
    return write_record(tmp_path / "notes", facts)


@pytest.mark.parametrize(
    ("day", "updating"),
    [
        (
            datetime.date(2026, 12, 4),
            "8.5, 8.4, 8.3; 8.2 too, though its security support ends on 2026-12-31 (in 27 days)",
        ),
        # past PHP 8.2's end (2026-12-31) the official image no longer updates it either
        (datetime.date(2027, 1, 18), "8.5, 8.4, 8.3"),
    ],
)
def test_a_published_release_past_its_default_line_s_end_gets_advice_for_the_next_one(
    cli, tmp_path, monkeypatch, day, updating
):
    """v1.0.0's record says its default line is 8.1, past its end: a published release keeps
    it, so the plan of v1.0.0 does not say to change default_line for it. With matrix.yaml
    already on 8.4 there is nothing to change; still on 8.1, the advice is the next
    release's, naming the lines that still update on the day plan runs."""
    monkeypatch.setattr(lifecycle, "today", lambda: day)
    notes = _published_v1(tmp_path, "8.1", {"8.1": ("linux/amd64",), "8.4": ("linux/amd64",)})
    on_81 = _committed_matrix_with(tmp_path, *DEFAULT_81)

    moved_on = cli("plan", "v1.0.0", "--notes-dir", str(notes))
    assert moved_on.exit_code == 0, moved_on.output
    flat = " ".join(moved_on.stderr.split())
    assert "PHP 8.1 reached end of life on 2025-12-31" in flat
    assert "default_line" not in flat.replace("published with default line 8.1", ""), flat

    still = cli("plan", "v1.0.0", "--notes-dir", str(notes), "--config", str(on_81))
    assert still.exit_code == 0, still.output
    flat = " ".join(still.stderr.split())
    assert "latest and each release's vX.Y.Z follow the default line" not in flat
    assert (
        "a published release keeps its default line, here 8.1, whose base no longer "
        "updates; matrix.yaml's default_line, which the next release takes, is 8.1 too: for "
        "the next release, set default_line in matrix.yaml to a line that still does "
        f"({updating})"
    ) in flat, flat
    # a new release of the same matrix is told as before
    new = " ".join(cli("plan", "v2.0.0", "--config", str(on_81)).stderr.split())
    assert "latest and each release's vX.Y.Z follow the default line 8.1" in new


def test_a_published_release_s_narrow_default_line_gets_advice_for_the_next_one(cli, tmp_path):
    """v1.0.0's record has its default line 8.4 built for amd64 alone, 8.3 for arm64 too: a
    published release keeps its lines' platforms, so its plan does not say to build 8.4 for
    every platform. With matrix.yaml's 8.4 on both there is nothing to change; narrowed
    still, the advice is the next release's."""
    notes = _published_v1(
        tmp_path, "8.4", {"8.3": ("linux/amd64", "linux/arm64"), "8.4": ("linux/amd64",)}
    )
    fact = (
        "the default line 8.4 is not built for linux/arm64, while other lines are: latest "
        "and each release's vX.Y.Z follow it, so they have no image for linux/arm64; a "
        "published release keeps its default line and its lines' platforms"
    )
    moved_on = cli("plan", "v1.0.0", "--notes-dir", str(notes))
    assert moved_on.exit_code == 0, moved_on.output
    flat = " ".join(moved_on.stderr.split())
    assert fact in flat, flat
    assert "build it for every platform" not in flat, flat

    narrow = _committed_matrix_with(tmp_path, *NARROW_84)
    still = cli("plan", "v1.0.0", "--notes-dir", str(notes), "--config", str(narrow))
    assert still.exit_code == 0, still.output
    flat = " ".join(still.stderr.split())
    assert (
        f"{fact}; matrix.yaml's default_line, which the next release takes, is 8.4 too, not "
        "built for linux/arm64: for the next release, build it for every platform, or pick "
        "another default_line in matrix.yaml"
    ) in flat, flat
    # a new release of the same matrix is told as before
    new = " ".join(cli("plan", "v2.0.0", "--config", str(narrow)).stderr.split())
    assert "for linux/arm64; build it for every platform, or pick another default_line" in new


def test_a_mistyped_command_is_exit_2_with_the_closest_one(cli):
    typo = cli("relase", "v1.0.0")
    assert typo.exit_code == 2
    assert "No such command 'relase'; did you mean 'release'?" in typo.output
    far = cli("xyzzy")
    assert far.exit_code == 2 and "No such command 'xyzzy'" in far.output
    assert "did you mean" not in far.output


def test_bad_release_tag_is_exit_2_with_one_line(cli):
    result = cli("plan", "2.0.0")
    assert result.exit_code == 2
    assert "must start with 'v' (did you mean 'v2.0.0'?)" in result.output
    assert "Traceback" not in result.output


def test_inspect_offline_json_has_exactly_the_documented_keys(cli):
    result = cli("inspect", "busybox", "--offline", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "ok": True,
        "name": "docker.io/library/busybox",
        "domain": "docker.io",
        "path": "library/busybox",
        "familiar": "busybox",
        "tag": None,
        "digest": None,
        "canonical": "docker.io/library/busybox:latest",
    }


def test_invalid_reference_exits_2_with_the_reason(cli):
    result = cli("inspect", "Foo/Bar", "--offline")
    assert result.exit_code == 2
    assert "repository name must be lowercase" in result.output


def test_broken_matrix_exits_3_with_its_location(cli, tmp_path):
    bad = tmp_path / "matrix.yaml"
    bad.write_text("registries: []\nplatfroms: [linux/amd64]\n")
    result = cli("plan", "v1.0.0", "--config", str(bad))
    assert result.exit_code == 3
    assert (
        f"{bad}:2:1: platfroms: unknown key 'platfroms'; did you mean 'platforms'?" in result.output
    )


def test_config_errors_become_annotations_in_github_actions(cli, tmp_path):
    bad = tmp_path / "matrix.yaml"
    bad.write_text("registries: []\nlines: [{php: '8'}]\n")
    result = cli("plan", "v1.0.0", "--config", str(bad), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 3
    assert f"::error file={bad},line=1,col=1,title=configuration error::" in result.output
    assert "the required key 'default_line' is missing" in result.output


def test_render_check_passes_on_the_committed_dockerfiles(cli):
    result = cli("render", "--check")
    assert result.exit_code == 0, result.output


def test_every_command_has_help_with_examples(cli):
    from publisher.cli.base import COMMAND_MODULES

    for command in COMMAND_MODULES:
        result = cli(command, "--help")
        assert result.exit_code == 0, command
        assert "Examples" in result.output or "Example" in result.output, command


def test_publisher_alone_prints_its_help_as_help_does(cli):
    """No command: the help with its examples on stdout, exit 0, as ``--help`` (click 8.2
    and later would print it on stderr and end with 2; 8.1 as here)."""
    alone, asked = cli(), cli("--help")
    assert (alone.exit_code, alone.stderr) == (0, ""), alone.output
    assert alone.stdout == asked.stdout and "Examples:" in alone.stdout
    assert "Commands:" in alone.stdout and "error:" not in alone.stdout


def test_every_help_fits_80_columns(cli, capsys, monkeypatch):
    """In an 80-column terminal no line of any --help is wider: click and argparse wrap
    the prose, and keep the lines of a `\\b` block or an epilog (the examples, the exit
    codes) as written. resolve.py's own --help too."""
    from publisher import resolve
    from publisher.cli.base import COMMAND_MODULES

    for command in ((), *((name,) for name in COMMAND_MODULES)):
        result = cli(*command, "--help", env={"COLUMNS": "80"})
        assert result.exit_code == 0, command
        wide = [line for line in result.output.splitlines() if len(line) > 80]
        assert wide == [], (command, wide)
    monkeypatch.setenv("COLUMNS", "80")
    assert resolve.main(["--help"], env={}) == 0
    wide = [line for line in capsys.readouterr().out.splitlines() if len(line) > 80]
    assert wide == [], ("resolve.py", wide)


@pytest.mark.parametrize("command", ["release", "republish"])
def test_the_notes_dir_help_says_where_a_rehearsal_writes_its_notes(cli, command):
    """A rehearsal (--local) writes its notes apart from the real ones: the help says where."""
    from pathlib import Path

    from publisher.cli.options import NOTES, WORK, notes_dir_of

    class Matrix:
        root = "/repo"

    rehearsal = notes_dir_of(Matrix(), None, local=True)  # type: ignore[arg-type]
    assert rehearsal == Path("/repo", WORK, "local", NOTES)
    text = " ".join(cli(command, "--help").output.split())
    assert f"with --local, {rehearsal.relative_to('/repo')}/ there" in text


def test_help_examples_name_matrix_files_that_exist(cli, repo_root):
    """An example's `--config FILE` runs as written from the repository root; the offline
    rehearsal (no Docker Hub needed) is among the top-level examples."""
    import re

    from publisher.cli.base import COMMAND_MODULES

    helps = [cli("--help").output] + [cli(c, "--help").output for c in COMMAND_MODULES]
    named = {m for text in helps for m in re.findall(r"publisher .*--config (\S+)", text)}
    assert named and all((repo_root / path).is_file() for path in named), named
    assert "release v1.0.0 --local --config examples/offline/matrix.yaml" in helps[0]


@pytest.mark.parametrize(
    "args",
    [
        ("publish", "v2.0.0", "--digests", "digests", "--reason", "  "),
        ("republish", "v2.0.0", "--reason", " "),
        ("plan", "v2.0.0", "--reason", " "),  # the republish workflow's check, before the legs
    ],
)
def test_a_blank_republish_reason_is_refused_before_anything_runs(cli, args):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "--reason must say why the release is republished" in result.output


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("x" * 501, "--reason is 501 characters long; it may be at most 500"),
        ("CVE-1\n## Not a heading", "--reason must be one line; it holds a line break ('\\n')"),
        ("CVE-1\x1b[31m", "--reason must not hold control characters; it holds '\\x1b'"),
        ("CVE-1\u2028## Not a heading", "--reason must be one line; it holds a line break"),
        ("CVE-1\x85more", "--reason must be one line; it holds a line break ('\\x85')"),
        ("CVE-1 \udcff", "--reason is not UTF-8 text: it holds the byte 0xff at character 7"),
        (
            "CVE-1 \u202e2-EVC",
            "--reason must not hold invisible characters; it holds U+202E RIGHT-TO-LEFT "
            "OVERRIDE at character 7 (a bidirectional control",
        ),
        ("CVE-1\u200b", "it holds U+200B ZERO WIDTH SPACE at character 6 (an invisible"),
    ],
    ids=[
        "long",
        "line-break",
        "escape",
        "line-separator",
        "next-line",
        "not-utf-8",
        "bidi-override",
        "zero-width-space",
    ],
)
@pytest.mark.parametrize(
    "command",
    [("publish", "v2.0.0", "--digests", "digests"), ("republish", "v2.0.0"), ("plan", "v2.0.0")],
)
def test_a_reason_the_notes_cannot_keep_is_refused_before_anything_runs(cli, command, reason, said):
    result = cli(*command, "--reason", reason)
    assert result.exit_code == 2, result.output
    assert said in result.output


@pytest.mark.parametrize("command", ["publish", "release", "republish"])
def test_json_without_dry_run_is_refused(cli, command):
    extra = {"publish": ("--digests", "digests"), "republish": ("--reason", "CVE")}
    result = cli(command, "v2.0.0", "--json", *extra.get(command, ()))
    assert result.exit_code == 2, result.output
    assert "--json prints the dry run's plan; add --dry-run" in result.output


def test_release_refuses_a_bad_source_date_epoch_before_building(cli):
    result = cli("release", "v2.0.0", "--only", "8.4", env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 2, result.output
    assert "SOURCE_DATE_EPOCH='yesterday' must be a whole number of seconds" in result.output


def test_publish_requires_the_digest_records(cli):
    result = cli("publish", "v2.0.0")
    assert result.exit_code == 2, result.output
    assert "Missing option '--digests'" in result.output


def test_notes_and_digest_records_default_to_folders_next_to_the_matrix(repo_root, tmp_path):
    from publisher.cli import options
    from publisher.core import config

    cfg = config.load(str(repo_root / "examples" / "offline" / "matrix.yaml"), {})
    root = repo_root / "examples" / "offline"
    assert options.notes_dir_of(cfg, None) == root / "release-notes"
    assert options.notes_dir_of(cfg, None, local=True) == root / ".publisher/local/release-notes"
    assert options.notes_dir_of(cfg, tmp_path, local=True) == tmp_path
    digests = options.digests_dir_of
    assert digests(cfg, None, "v2.0.0", local=False, republish=False) == (
        root / ".publisher/builds/v2.0.0/digests"
    )
    assert digests(cfg, None, "v2.0.0", local=True, republish=True) == (
        root / ".publisher/local/v2.0.0/republish"
    )
    assert digests(cfg, tmp_path, "v2.0.0", local=True, republish=True) == tmp_path


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("verify", "vX", "--json"), 2, "invalid release tag"),
        (("plan", "v1.0.0", "--json", "--config", "absent.yaml"), 3, "configuration error"),
        (("audit", "--json", "--config", "absent.yaml"), 3, "configuration error"),
        (("inspect", "Upper/Case:v1", "--offline", "--json"), 2, "invalid reference"),
        (("publish", "v2.0.0", "--digests", "d", "--json"), 2, "usage error"),
    ],
)
@pytest.mark.parametrize("actions", [False, True])
def test_json_commands_print_a_document_when_they_fail_before_their_result(
    cli, args, code, kind, actions
):
    """stdout carries JSON only, even in Actions (its workflow commands go to stderr)."""
    result = cli(*args, env={"GITHUB_ACTIONS": "true"} if actions else None)
    assert result.exit_code == code, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"]["kind"] == kind and document["error"]["exit_code"] == code
    assert document["error"]["message"] in result.stderr.replace("%0A", "\n")
    if actions:
        assert "::error" in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("release", "v1.0.0", "--dry-run", "--json", "--jobs", "0"), "'--jobs': '0' is not a"),
        (("plan", "--json"), "Missing argument 'RELEASE'"),
        (("verify", "v1.0.0", "--json", "--bogus"), "No such option '--bogus'"),
        (("preflight", "--json", "extra"), "unexpected extra argument (extra)"),
        (("plan", "v1.0.0", "--json", "--config"), "Option '--config' requires an argument."),
    ],
)
def test_json_commands_print_a_document_when_click_refuses_the_command_line(cli, args, said):
    """click's own refusals (exit 2) are failures before the result too: stdout is JSON."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"]["kind"] == "usage error" and document["error"]["exit_code"] == 2
    assert said in document["error"]["message"] and said in result.stderr
    assert f"publisher {args[0]} --help" in document["error"]["hint"]


def test_preflight_help_says_what_a_failure_before_the_first_check_prints(cli, tmp_path):
    """preflight --json is a list of checks, but a failure before the first (the command
    line, matrix.yaml) prints the error object every --json command prints: said so."""
    result = cli("preflight", "--json", "--config", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["ok"] is False
    said = " ".join(cli("preflight", "--help").stdout.split())
    assert 'a failure before the first check prints {"ok": false, "error": ...}' in said, said


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("PUBLISHER_RETRY_ATTEMPTS", "x", "PUBLISHER_RETRY_ATTEMPTS='x' is not a whole number"),
        ("PUBLISHER_RETRY_MAX_DELAY", "x", "PUBLISHER_RETRY_MAX_DELAY='x' is not a number"),
        ("PUBLISHER_REQUEST_TIMEOUT", "0", "PUBLISHER_REQUEST_TIMEOUT='0' is out of range"),
    ],
)
def test_preflight_json_of_a_bad_request_setting_is_the_error_object(cli, variable, value, said):
    """Read before the first check: the {"ok": false, "error": ...} object, never an empty
    list of checks (which has no error and no `.[-1].ok`)."""
    result = cli("preflight", "--json", env={variable: value})
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["message"] == said, document
    assert document["error"]["exit_code"] == 2


def test_a_missing_file_publisher_config_names_is_said_to_come_from_it(cli, tmp_path):
    """A stale PUBLISHER_CONFIG: the message names the variable, and the tip says to correct
    or unset it (running from the repository root changes nothing: the variable wins)."""
    gone = tmp_path / "gone.yaml"
    for args in (("verify", "v1.0.0"), ("plan", "v1.0.0"), ("inspect", "127.0.0.1:1/x/y:1")):
        result = cli(*args, env={"PUBLISHER_CONFIG": str(gone)})
        assert result.exit_code == 3, result.output
        said = " ".join(result.stderr.split())
        assert (
            f"error: configuration error: PUBLISHER_CONFIG names {gone}: configuration file "
            "not found tip: correct PUBLISHER_CONFIG, or unset it to read ./matrix.yaml"
        ) in said, said
        assert "--config" not in said and "repository root" not in said, said
    document = json.loads(
        cli("verify", "v1.0.0", "--json", env={"PUBLISHER_CONFIG": str(gone)}).stdout
    )
    assert document["error"]["source"] == str(gone), document
    # --config wins over the variable: a --config missing is said as before
    given = cli("plan", "v1.0.0", "--config", str(gone), env={"PUBLISHER_CONFIG": "matrix.yaml"})
    assert given.exit_code == 3, given.output
    said = " ".join(given.stderr.split())
    assert (
        f"{gone}: configuration file not found" in said
        and f"check the path: {gone} does not exist" in said
    ), said
    assert "PUBLISHER_CONFIG" not in said, said


def test_a_publisher_config_naming_a_link_to_nowhere_or_a_directory_says_to_correct_it(
    cli, tmp_path
):
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "nowhere.yaml")
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": str(link)})
    assert result.exit_code == 3, result.output
    said = " ".join(result.stderr.split())
    assert f"PUBLISHER_CONFIG names {link}: configuration file not found:" in said, said
    assert "point the link at the matrix file, or set PUBLISHER_CONFIG to the file itself" in said
    assert "--config" not in said, said
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": str(tmp_path)})
    assert result.exit_code == 3, result.output
    said = " ".join(result.stderr.split())
    assert f"PUBLISHER_CONFIG names {tmp_path}: cannot read the configuration file" in said, said
    assert "set PUBLISHER_CONFIG to the matrix file itself" in said and "--config" not in said


@pytest.mark.parametrize(
    ("args", "said", "usage"),
    [
        (("plan", "v1.0.0", "--bogus"), "No such option '--bogus'.", "plan [OPTIONS] RELEASE"),
        (("plan",), "Missing argument 'RELEASE'.", "plan [OPTIONS] RELEASE"),
        (("plan", "v1.0.0", "--config"), "'--config' requires an argument.", "plan [OPTIONS]"),
        (("verfy",), "No such command 'verfy'; did you mean 'verify'?", "[OPTIONS] COMMAND"),
        (("--bogus",), "No such option '--bogus'.", "[OPTIONS] COMMAND [ARGS]..."),
        (("release", "v1.0.0", "--jobs", "0"), "'--jobs': '0' is not a", "release [OPTIONS]"),
        # --json where the command's JSON comes another way: named, not click's near misses
        (
            ("matrix", "v1.0.0", "--json"),
            "publisher matrix has no --json: it prints JSON with --github",
            "matrix [OPTIONS] RELEASE",
        ),
        (("republish-check", "--json"), "No such option '--json'.", "republish-check [OPTIONS]"),
    ],
)
def test_click_refusals_read_as_every_publisher_error(cli, args, said, usage):
    """`error: KIND: MESSAGE` and `  tip: ...` on stderr, exit 2, as `plan v9` says its own
    mistake: click's words kept, its `Usage:`/`Try`/`Error:` layout not."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    first, tip = result.stderr.splitlines()
    assert first.startswith("error: usage error: ") and said in first, result.stderr
    command = args[0] if not args[0].startswith("-") and args[0] != "verfy" else None
    where = f"publisher {command}" if command else "publisher"
    assert tip.startswith(f"  tip: see `{where} --help` (usage: publisher "), tip
    assert usage in tip
    assert "Error:" not in result.output and "Try '" not in result.output
    own = cli("plan", "v9")
    assert own.exit_code == 2 and own.stderr.startswith("error: invalid release tag: ")
    assert own.stderr.splitlines()[1].startswith("  tip: ")


@pytest.mark.parametrize(
    "args",
    [
        ("republish", "v1.0.0", "--reason", "-h"),
        ("republish", "v1.0.0", "--only", "8.4", "--reason", "--help"),
        ("release", "v1.0.0", "--dry-run", "--notes-dir", "-h"),
        ("plan", "v1.0.0", "--config", "--help"),
    ],
)
def test_a_help_word_where_an_option_s_value_belongs_is_a_missing_value(cli, args):
    """click takes the word after ``--reason`` for its value, whatever it is: ``--reason
    -h`` would republish "because -h" (and ``--notes-dir -h`` write into ./-h), where the
    user forgot the value or asked for help. Refused as a missing value, naming the way
    to give that value on purpose."""
    option, word = args[-2:]
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" not in result.output  # no help shown as if asked for, exit 0
    first, tip = result.stderr.splitlines()
    assert first == (
        f"error: usage error: {option} needs a value; {word} after it asks for help, not for "
        f"a value (to give the value {word}, write {option}={word})"
    )
    assert tip.startswith(f"  tip: see `publisher {args[0]} --help`")


def test_a_help_word_after_a_value_or_after_the_options_still_asks_for_help(cli):
    for args in (("republish", "v1.0.0", "--reason", "r", "-h"), ("plan", "--json", "--help")):
        result = cli(*args)
        assert result.exit_code == 0 and "Usage: " in result.stdout, result.output
    # after --, no word is an option: click's own refusal of the extra arguments
    result = cli("plan", "v1.0.0", "--", "--config", "-h")
    assert result.exit_code == 2 and "unexpected extra arguments" in result.stderr, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("republish", "v1.0.0", "--reason", "--only", "8.4"),
        ("republish", "v1.0.0", "--only", "--dry-run"),
        ("release", "v1.0.0", "--notes-dir", "--no-attestations", "--dry-run"),
        ("gh-release", "v1.0.0", "--title", "--notes", "notes.md"),
        ("verify", "v1.0.0", "--only", "--only=8.4"),
        ("audit", "--config", "--debug"),
    ],
)
def test_an_option_where_another_option_s_value_belongs_is_a_missing_value(cli, args):
    """click takes the word after ``--reason`` for its value even when it is one of the
    command's own options: ``--reason --only 8.4`` republished "because --only" and then
    refused 8.4 as an extra argument (``--reason --json`` republished every line).
    Refused as a missing value before anything runs, naming the way to give that value."""
    index = next(i for i, word in enumerate(args) if word.startswith("--"))
    option, word = args[index : index + 2]
    result = cli(*args)
    assert result.exit_code == 2, result.output
    first, tip = result.stderr.splitlines()[-2:]
    assert first == (
        f"error: usage error: {option} needs a value; {word} after it is an option of its "
        f"own, not a value (to give the value {word}, write {option}={word})"
    )
    assert tip.startswith(f"  tip: see `publisher {args[0]} --help`")


@pytest.mark.parametrize(
    "args",
    [
        ("republish", "v1.0.0", "--reason", "--json"),
        ("plan", "v1.0.0", "--config", "--json"),
        ("verify", "v1.0.0", "--json", "--only", "--json"),
    ],
)
def test_json_after_an_option_missing_its_value_is_refused_in_a_json_document(cli, args):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 2
    assert document["error"]["kind"] == "usage error"
    option = args[-2]
    assert document["error"]["message"] == (
        f"{option} needs a value; --json after it is an option of its own, not a value "
        f"(to give the value --json, write {option}=--json)"
    )
    assert f"publisher {args[0]} --help" in document["error"]["hint"]


@pytest.mark.parametrize(
    ("args", "value"),
    [
        (("plan", "v1.0.0", "--config", "-1"), "-1"),
        (("plan", "v1.0.0", "--config", "--foo"), "--foo"),  # no option of plan's
        (("plan", "v1.0.0", "--config=--json"), "--json"),  # the value on purpose
        (("republish", "v1.0.0", "--reason", "--foo", "--config", "absent.yaml"), "absent.yaml"),
        (("republish", "v1.0.0", "--reason=--only", "--config", "absent.yaml"), "absent.yaml"),
    ],
)
def test_a_dashed_word_that_is_no_option_of_the_command_is_still_a_value(cli, args, value):
    """Only the command's own option names are refused after an option: ``-1`` or
    ``--foo`` is taken for the value as before, and ``--config=--json`` is that value."""
    result = cli(*args)
    assert result.exit_code == 3, result.output  # the matrix file named is not there
    assert f"configuration error: {value}: configuration file not found" in result.stderr


def test_a_refused_value_is_redacted_in_the_json_document_as_on_stderr(cli):
    """A secret or a URL's password given where click refuses it never reaches stdout."""
    token = "sekrit-token-value"
    for value in (token, "https://me:hunter2hunter2@host"):
        result = cli(
            "release", "v1.0.0", "--dry-run", "--json", "--jobs", value,
            env={"DOCKERHUB_TOKEN": token},
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert token not in result.output and "hunter2hunter2" not in result.output
        assert "Invalid value for '--jobs'" in json.loads(result.stdout)["error"]["message"]


def test_click_refusals_are_annotated_in_github_actions(cli):
    """A bad value from the workflow (PUBLISHER_QEMU=bogus) or the command line is an
    ::error annotation in Actions, as publisher's own usage errors are."""
    actions = {"GITHUB_ACTIONS": "true"}
    result = cli("plan", "v1.0.0", "--bogus", env=actions)
    assert result.exit_code == 2
    assert "::error title=usage error::No such option '--bogus'" in result.stderr
    assert "see `publisher plan --help`" in result.stderr
    assert "::error" not in result.stdout  # every error on stderr, Actions too
    result = cli("verify", "v1.0.0", "--json", "--bogus", env=actions)
    assert "::error title=usage error::" in result.stderr
    assert json.loads(result.stdout)["ok"] is False
    assert "::error" not in cli("plan", "v1.0.0", "--bogus").output


def test_json_commands_print_a_document_when_publisher_itself_fails(cli, monkeypatch):
    """An internal error (a bug) still leaves the reader of stdout one JSON document."""

    def broken(text):
        raise RuntimeError("a bug")

    monkeypatch.setattr("publisher.core.reference.parse", broken)
    result = cli("inspect", "busybox", "--offline", "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"]["kind"] == "internal error"
    assert document["error"]["message"] == "unexpected RuntimeError: a bug"
    assert "this is a bug in publisher" in document["error"]["hint"]


def test_a_thread_the_machine_s_limit_refuses_is_that_limit_not_a_bug(cli, monkeypatch):
    """``RuntimeError: can't start new thread`` (a pids cgroup, ``ulimit -u``) wherever it
    is met: exit 18, kind "resource limit", the limits to raise; no option to lower where
    the command takes none (``inspect``), never "this is a bug"."""

    def no_thread(text):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr("publisher.core.reference.parse", no_thread)
    result = cli("inspect", "busybox", "--offline", "--json")
    assert result.exit_code == 18, result.output
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "resource limit" and error["exit_code"] == 18
    assert error["message"].startswith(
        "cannot start a thread: the limit on threads and processes was reached ("
    )
    assert "--pids-limit" in error["hint"] and "`ulimit -u`" in error["hint"]
    assert "bug" not in error["hint"] and "--jobs" not in error["hint"]
    assert "--transfers" not in error["hint"]


def _not_installed(module: str):
    def missing(*args, **kwargs):
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    return missing


def test_a_dependency_a_command_loads_that_is_not_installed_is_named(cli, monkeypatch):
    """``pip install --no-deps``: a module a command loads as it runs (requests, for a
    registry) is named with how to install it, exit 10, never an internal error."""
    monkeypatch.setattr("publisher.core.reference.parse", _not_installed("requests"))
    result = cli("inspect", "busybox", "--offline", "--json")
    assert result.exit_code == 10, result.output
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "missing dependency"
    assert error["message"] == (
        "publisher needs the Python package requests (module 'requests'), which is not installed"
    )
    assert error["hint"].startswith("install it: `python3 -m pip install requests`")


@pytest.mark.parametrize("json_flag", [False, True])
def test_python_m_publisher_names_a_dependency_it_cannot_load(monkeypatch, capsys, json_flag):
    """``python -m publisher --version`` where click is not installed (the CLI cannot even
    load): one error naming it and how to install it, exit 10, not a traceback."""
    import publisher.__main__ as entry
    import publisher.cli

    monkeypatch.setattr(publisher.cli, "main", _not_installed("click"))
    monkeypatch.setattr("sys.argv", ["publisher", "--version", *(["--json"] * json_flag)])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 10
    said = capsys.readouterr()
    assert said.err.startswith(
        "error: missing dependency: publisher needs the Python package click (module 'click'), "
        "which is not installed\n  tip: install it: `python3 -m pip install click`"
    ), said.err
    if json_flag:
        assert json.loads(said.out)["error"]["exit_code"] == 10
    else:
        assert said.out == ""


@pytest.mark.parametrize("fmt", ["env", "json"])
def test_publisher_resolve_without_a_dependency_answers_as_resolve_alone(
    monkeypatch, capsys, tmp_path, fmt
):
    """``pip install --no-deps`` (rich or click not installed): ``publisher resolve`` keeps
    resolve's contract (docs/consumers.md: its ``decision=`` line, its JSON on stdout, its
    exit codes, never publisher's 10), answering as ``python -m publisher.resolve``, which
    needs no dependency; publisher's ``--debug`` is no flag of resolve's."""
    import publisher.__main__ as entry
    import publisher.cli

    monkeypatch.chdir(tmp_path)  # no dockerfiles/8.4/Dockerfile: cannot proceed
    monkeypatch.setattr(publisher.cli, "main", _not_installed("rich"))
    flags = ["--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false"]
    monkeypatch.setattr("sys.argv", ["publisher", "--debug", "resolve", *flags, "--format", fmt])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 17
    said = capsys.readouterr()
    assert said.err.splitlines()[0] == "resolve: decision=cannot-proceed availability=none"
    if fmt == "json":
        assert json.loads(said.out)["decision"] == "cannot-proceed"
    else:
        assert said.out.startswith("PHP_DECISION='cannot-proceed'\n")
    assert "missing dependency" not in said.err

    monkeypatch.setattr("sys.argv", ["publisher", "resolve", "--bogus"])  # refused as resolve.py
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[:3] == [
        "resolve: decision=none error=invalid-input",
        "error: unrecognized arguments: --bogus",
        "  tip: see `publisher resolve --help`: each flag there also has an environment "
        "variable, named in brackets",
    ]


def test_publisher_resolve_meets_a_missing_output_channel_before_deciding(cli, monkeypatch):
    """rich not installed is met before resolve decides anything (a registry asked, its
    timeout waited), so that resolve alone (above) decides once, not twice."""
    from publisher.cli.base import State

    def not_installed(_state):
        raise ModuleNotFoundError("No module named 'rich'", name="rich")

    decisions = []

    def decided(*args, **kwargs):
        decisions.append(args)
        raise AssertionError("resolve decided before the output channel was loaded")

    monkeypatch.setattr(State, "output", property(not_installed))
    monkeypatch.setattr("publisher.resolve.resolve", decided)
    with pytest.raises(ModuleNotFoundError):
        cli("resolve", "--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false")
    assert decisions == []


@pytest.mark.parametrize("json_flag", [False, True])
def test_python_m_publisher_on_a_python_too_old_says_which_it_needs(monkeypatch, capsys, json_flag):
    """``PYTHONPATH=checkout python3.10 -m publisher``, where pip's requires-python does
    not stand guard: one error naming the Python it needs and this one, exit 10, before the
    CLI is loaded (it would tip to install click, or end in a traceback). Run by hand under
    pyenv's 3.7 to 3.10; CI has only 3.11, so the version is faked here."""
    import publisher.__main__ as entry
    import publisher.cli

    monkeypatch.setattr(publisher.cli, "main", _not_installed("click"))  # never reached
    monkeypatch.setattr("sys.version_info", (3, 10, 13, "final", 0))
    monkeypatch.setattr("sys.argv", ["publisher", "--help", *(["--json"] * json_flag)])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 10
    said = capsys.readouterr()
    assert said.err == (
        "error: missing tool: publisher needs Python 3.11 or newer, this is 3.10.13\n"
        "  tip: run it with Python 3.11 or newer (`python3.11 -m publisher`); resolve alone "
        "runs on 3.9: `python3 -m publisher.resolve`\n"
    )
    if json_flag:
        error = json.loads(said.out)["error"]
        assert (error["kind"], error["exit_code"]) == ("missing tool", 10)
        assert error["message"] == "publisher needs Python 3.11 or newer, this is 3.10.13"
    else:
        assert said.out == ""


def test_the_entry_point_reads_as_python_3_8_and_asks_what_pyproject_requires():
    """The version check runs on the Python it refuses: ``__main__`` (and the package's
    ``__init__``, which it imports first) hold no syntax newer than 3.8's, and the Python
    it asks for is pyproject.toml's requires-python."""
    import ast
    import tomllib

    import publisher
    from tests.conftest import ROOT

    for name in ("__init__.py", "__main__.py"):
        ast.parse((ROOT / "publisher" / name).read_text(encoding="utf-8"), feature_version=(3, 8))
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    assert requires == ">=" + ".".join(map(str, publisher.PYTHON_REQUIRED))


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_debug_shows_the_traceback_before_or_after_the_command_name(cli, monkeypatch, where):
    """The internal error's hint says "rerun with --debug": it works wherever it is put,
    and as the variable its help names (PUBLISHER_DEBUG)."""

    def broken(text):
        raise RuntimeError("a bug")

    monkeypatch.setattr("publisher.core.reference.parse", broken)
    command = ["inspect", "busybox", "--offline"]
    args = {"before": ["--debug", *command], "after": [*command, "--debug"], "env": command}
    result = cli(*args[where], env={"PUBLISHER_DEBUG": "1"} if where == "env" else None)
    assert result.exit_code == 1, result.output
    assert "Traceback (most recent call last)" in result.stderr
    assert "rerun with --debug" in result.stderr
    assert "Traceback" not in cli(*command).stderr


def test_without_json_click_refusals_leave_stdout_empty(cli):
    result = cli("plan", "v1.0.0", "--bogus")
    assert result.exit_code == 2
    assert result.stdout == "" and "No such option '--bogus'" in result.stderr


def test_inspect_json_of_a_mistake_before_any_request_is_the_usual_error_shape(cli):
    """Not an inspection that says "reachable: false": nothing was asked of a registry."""
    result = cli("inspect", "busybox", "--json", env={"PUBLISHER_RETRY_ATTEMPTS": "0"})
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is False and "reachable" not in data
    assert data["error"]["message"] == "PUBLISHER_RETRY_ATTEMPTS='0' is out of range"


@pytest.mark.parametrize(
    ("env", "args", "said"),
    [
        ({"PUBLISHER_QEMU": "maybe"}, ("matrix", "v2.0.0", "--github"), "use true or false"),
        ({"PUBLISHER_DEBUG": "maybe"}, ("plan", "v2.0.0"), "use true or false"),
        ({"PUBLISHER_ATTESTATIONS": "sure"}, ("release", "v2.0.0", "--dry-run"), "true or false"),
        (
            {"PUBLISHER_BUILDER": "kaniko"},
            ("release", "v2.0.0", "--dry-run"),
            "'kaniko' is not one of",
        ),
    ],
)
def test_a_refused_environment_value_names_its_variable(cli, env, args, said):
    """The user never typed --qemu: the message names the variable that was read."""
    result = cli(*args, env=env)
    assert result.exit_code == 2, result.output
    (variable,) = env
    assert f"Invalid value for {variable} (the environment's --" in result.output
    assert said in result.output
    assert "Recognized values: ," not in result.output


def test_publish_with_no_digest_records_stops_before_asking_a_registry(cli, tmp_path):
    """Nothing to publish is known from the directory alone (here, with no network)."""
    (tmp_path / "digests").mkdir()
    result = cli("publish", "v2.0.0", "--digests", str(tmp_path / "digests"), "--dry-run")
    assert result.exit_code == 2, result.output
    assert "no digest records in" in result.output and "no registry was asked" in result.output


def test_publish_with_no_digest_records_in_actions_says_how_to_rerun(cli, tmp_path):
    """In a workflow, no records is what "Re-run failed jobs" meets once the legs'
    artifacts (kept 7 days) are gone: the hint says to re-run all jobs."""
    (tmp_path / "digests").mkdir()
    result = cli(
        "publish", "v2.0.0", "--digests", str(tmp_path / "digests"), "--dry-run",
        env={"GITHUB_ACTIONS": "true"},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "digest-* artifacts" in said and "Re-run all jobs" in said, said


def test_a_json_error_quoting_a_workflow_command_is_not_one_in_actions(cli):
    """The --json document quotes what it refused; in Actions the runner, which obeys a
    ``##[`` anywhere in a line of stdout, finds no command in it, and it parses the same."""
    from tests.support.github_files import workflow_commands

    ref = "a##[add-mask]x"
    result = cli("inspect", "--offline", "--json", ref, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2, result.output
    assert workflow_commands(result.stdout) == [], result.stdout
    error = json.loads(result.stdout)["error"]
    assert f"invalid image reference '{ref}'" in error["message"]
    assert [name for name, _ in workflow_commands(result.stderr)] == ["error"]


@pytest.mark.parametrize("actions", [False, True])
def test_republish_check_keeps_stdout_to_its_key_value_lines(cli, tmp_path, actions):
    """Before the first stable release: the five lines on stdout, the warning on stderr,
    in Actions too (where it is a ::warning), so `eval "$(publisher republish-check)"` works."""
    env = {"GITHUB_ACTIONS": "true"} if actions else None
    result = cli("republish-check", "--notes-dir", str(tmp_path), env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "release=\nchanged=false\nlines=\nfrozen=\ngone=\n"
    assert "no stable release is recorded in" in result.stderr
    assert ("::warning::" in result.stderr) is actions


@pytest.mark.parametrize("notes_file", ["v1.0.0.json", "size-history.json"])
def test_publish_pointed_at_release_notes_says_they_are_not_digest_records(
    cli, tmp_path, notes_file
):
    """`--digests .` at the repository root reaches release-notes/: its JSON files are
    said to be release notes, with where the digest records are, not a missing field."""
    facts = release_facts([line_facts("8.4")])
    notes = tmp_path / "release-notes"
    notes.mkdir()
    text = {
        "v1.0.0.json": release_json(facts, SizeHistory()),
        "size-history.json": SizeHistory().with_release(facts).to_json(),
    }[notes_file]
    (notes / notes_file).write_text(text)
    result = cli(
        "publish", "v1.0.0", "--digests", str(tmp_path), "--notes-dir", str(tmp_path / "n"),
        "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert f"{notes_file}: not a digest record: release notes JSON" in flat, flat
    assert "point --digests at the directory the build legs wrote" in flat


@pytest.mark.parametrize(
    ("args", "env", "by"),
    [
        (["--only", "8.3"], {}, "--only"),
        ([], {"PUBLISHER_LINES": "8.3"}, "PUBLISHER_LINES"),
        # what left it out is said as release says it: PUBLISHER_LINES naming the line did
        # not (--only did), and one that does not is the mistake, whatever --only says
        (["--only", "8.3"], {"PUBLISHER_LINES": "8.3,8.4"}, "--only"),
        (["--only", "8.3"], {"PUBLISHER_LINES": "8.3"}, "PUBLISHER_LINES"),
    ],
)
def test_plan_warns_that_a_release_without_its_default_line_is_one_release_refuses(
    cli, args, env, by
):
    """A new release planned without its default line (8.4 here) moves neither vX.Y.Z nor
    latest, and `publisher release` refuses to start it so: the plan says so and what left
    the line out, where it showed the pins alone without a word. Once the default line's pin
    is there (--existing), the release is started and the plan is silent."""
    result = cli("plan", "v9.0.0", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True  # the warning stays on stderr
    assert (
        f"warning: v9.0.0 is planned without PHP 8.4, its default line (left out by {by}): "
        "`v9.0.0` and `latest` follow the default line" in result.stderr
    ), result.stderr
    assert "`publisher release` refuses to start a release so" in result.stderr
    started = cli("plan", "v9.0.0", *args, "--existing", "v9.0.0-php-8.4", env=env)
    assert started.exit_code == 0, started.output
    assert "its default line" not in started.stderr, started.stderr
    whole = cli("plan", "v9.0.0")  # every line: nothing to say
    assert "its default line" not in whole.stderr, whole.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("republish", "v1.4.0-rc.1", "--reason", "first", "--reason", "second"),
            "--reason given twice ('first', 'second'); give it once",
        ),
        (
            ("build", "v1.4.0", "--php", "8.4", "--php", "9.9", "--digest-file", "leg.json"),
            "--php given twice ('8.4', '9.9'); give it once",
        ),
        (
            ("plan", "v1.0.0", "--config=examples/offline/matrix.yaml", "--config", "matrix.yaml"),
            "--config given twice ('examples/offline/matrix.yaml', 'matrix.yaml'); give it once",
        ),
        (
            ("gh-release", "v1.3.0", "--notes", "a.md", "--title", "T", "--notes=b.md"),
            "--notes given twice ('a.md', 'b.md'); give it once",
        ),
        (
            ("publish", "v1.0.0", "--dry-run", "--jobs", "2", "--jobs", "3"),
            "--jobs given twice ('2', '3'); give it once",
        ),
        (
            ("verify", "v1.0.0", "--notes-dir", "a", "--notes-dir", "b", "--notes-dir", "c"),
            "--notes-dir given 3 times ('a', 'b', 'c'); give it once",
        ),
        (
            ("release", "v1.0.0", "--dry-run", "--attestations", "--no-attestations"),
            "--attestations and --no-attestations given together; give one of them",
        ),
    ],
)
def test_an_option_given_twice_is_refused_naming_both_values(cli, args, said):
    """A single-valued option given twice kept its last value without a word (a republish
    recorded the second --reason alone): refused before anything runs, naming the values."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    first, tip = result.stderr.splitlines()[-2:]
    assert first == f"error: usage error: {said}"
    assert tip.startswith(f"  tip: see `publisher {args[0]} --help`")


def test_an_option_given_twice_with_json_is_refused_in_a_json_document(cli):
    result = cli("plan", "v1.0.0", "--json", "--config", "matrix.yaml", "--config", "x.yaml")
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 2
    assert document["error"]["message"] == (
        "--config given twice ('matrix.yaml', 'x.yaml'); give it once"
    )


def test_repeated_flags_only_and_a_variable_beside_its_option_are_no_option_given_twice(cli):
    """A flag given twice says the same thing twice (nothing is lost); --only adds its
    lines up by design; a variable standing for an option (PUBLISHER_CONFIG) beside the
    option itself is not the option given twice: the option wins, as README says."""
    twice = ("--json", "--json", "--only", "8.4", "--only", "8.3")
    result = cli("--debug", "--debug", "plan", "v1.0.0", *twice)
    assert result.exit_code == 0, result.output
    assert [line["php"] for line in json.loads(result.stdout)["lines"]] == ["8.3", "8.4"]
    offline = {"PUBLISHER_CONFIG": "examples/offline/matrix.yaml", "PUBLISHER_QEMU": "1"}
    result = cli("plan", "v1.0.0", "--json", "--config", "matrix.yaml", env=offline)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["lines"]) == 5
    result = cli("matrix", "v1.0.0", "--github", "--qemu", "--local", env=offline)
    assert result.exit_code == 0, result.output
    assert "ubuntu-24.04-arm" not in result.stdout
    # --help runs nothing: it is shown as before, whatever else the line holds
    result = cli("plan", "v1.0.0", "--config", "a.yaml", "--config", "b.yaml", "--help")
    assert result.exit_code == 0 and result.stdout.startswith("Usage: "), result.output


_PIN_SHAPED = "v1.0.0-php-8.4"
_TOO_LONG = "v1.0.0-" + "a" * 120  # 127 characters: fits an image tag, its pins do not


@pytest.mark.parametrize(
    ("tag", "said"),
    [
        (_PIN_SHAPED, "it looks like a pin tag (…-php-X.Y)"),
        (_TOO_LONG, "it has 127 characters, more than 116: its pin tags (…-php-X.Y) would not fit"),
    ],
)
@pytest.mark.parametrize(
    "args",
    [
        ("plan", "{tag}"),
        ("matrix", "{tag}", "--github", "--local"),
        ("verify", "{tag}"),
        ("check-public", "{tag}"),
        ("build", "{tag}", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", "d.json"),
        ("publish", "{tag}", "--digests", "digests", "--dry-run"),
        ("release", "{tag}", "--local", "--only", "8.4", "--no-smoke"),
        ("release", "{tag}", "--dry-run", "--local"),
        ("republish", "{tag}", "--reason", "base image update"),
        ("gh-release", "{tag}", "--repo", "acme/php"),
        ("resolve", "--release", "{tag}", "--php", "8.4", "--format", "json"),
    ],
)
def test_every_command_refuses_a_release_tag_it_could_not_publish_before_anything(
    cli, tmp_path, args, tag, said
):
    """A tag shaped as a pin, or too long for its pins to be image tags, is refused as
    `plan` refuses it (exit 2, the same words) by every command that takes a release, before
    any builder, registry or GitHub is asked: a unit test runs no subprocess and opens no
    socket (``no_io``), so a command that went on to build or push would fail otherwise."""
    argv = [arg.format(tag=tag) for arg in args]
    argv = [str(tmp_path / arg) if arg in ("d.json", "digests") else arg for arg in argv]
    env = {"GITHUB_TOKEN": "t", "PUBLISHER_CONFIG": "examples/offline/matrix.yaml"}
    result = cli(*argv, env=env)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize("php", ["8.4 ", "8.4\n", " 8.4"])
def test_build_reads_its_php_line_as_only_reads_one(cli, tmp_path, php):
    """`--php '8.4 '` is PHP 8.4, as `--only '8.4 '` is: the blanks around it do not count,
    and no error blames matrix.yaml for a line it has. The run goes on to its next check
    (TMPDIR, refused here before any builder is asked)."""
    missing = tmp_path / "no-such-tmpdir"
    args = ("--platform", "linux/amd64", "--digest-file", str(tmp_path / "d.json"))
    result = cli(
        "build",
        "v1.0.0",
        "--php",
        php,
        *args,
        env={"PUBLISHER_CONFIG": "examples/offline/matrix.yaml", "TMPDIR": str(missing)},
    )
    assert result.exit_code == 18, result.output
    assert f"TMPDIR={missing} is not a writable directory" in result.stderr, result.stderr
    assert "is not selected" not in result.stderr


@pytest.mark.parametrize(
    "args", [("plan", "v1.0.0", "--json"), ("verify", "v1.0.0", "--json", "--debug")]
)
def test_a_bad_debug_variable_with_json_is_said_on_stdout_as_json(cli, args):
    """PUBLISHER_DEBUG is the group's option, refused before the command reads its own:
    with the command's --json, stdout still carries the JSON error alone."""
    result = cli(*args, env={"PUBLISHER_DEBUG": "maybe"})
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 2
    assert "Invalid value for PUBLISHER_DEBUG" in document["error"]["message"]
    assert "Invalid value for PUBLISHER_DEBUG" in result.stderr
    assert cli(*[a for a in args if a != "--json"], env={"PUBLISHER_DEBUG": "maybe"}).stdout == ""


def test_plan_warns_when_a_floating_tag_would_leave_a_platform_its_record_lists(cli, tmp_path):
    """v1.0.0's record has PHP 8.4 for linux/amd64 and linux/arm64; v3.0.0's matrix builds
    it for linux/amd64 only: its plan says php-8.4 and latest lose linux/arm64 (on every
    registry, said once each). Without that record, or with both platforms, nothing."""
    notes = _published_v1(tmp_path, "8.4", {"8.4": ("linux/amd64", "linux/arm64")})
    matrix = _committed_matrix_with(tmp_path, *NARROW_84)
    given = ["--existing", "v1.0.0", "--existing", "v1.0.0-php-8.4"]
    flat = " ".join(
        cli(
            "plan", "v3.0.0", "--config", str(matrix), "--notes-dir", str(notes), *given
        ).output.split()
    )
    for tag in ("php-8.4", "latest"):
        said = (
            f"warning: {tag} leaves v1.0.0, whose index lists linux/arm64, for v3.0.0, whose "
            f"index lacks it (on dockerhub, ghcr): consumers of {tag} on linux/arm64 get no "
            "image from it once it moves; a release may narrow a line's platforms on purpose, "
            "else add it to PHP 8.4's platforms in matrix.yaml before publishing v3.0.0"
        )
        assert flat.count(said) == 1, flat
    for argv in (
        ["--config", str(matrix), "--notes-dir", str(tmp_path / "none"), *given],
        ["--notes-dir", str(notes), *given],
    ):
        assert "leaves v1.0.0" not in " ".join(cli("plan", "v3.0.0", *argv).output.split())
