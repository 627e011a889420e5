"""`publisher republish-check` against a real registry: which lines moved, which never can.

The newest stable release's notes record each line's base digest. On the registry,
8.4's base has moved, 8.3's has not, and 8.1's official image stopped updating
(publisher/core/lifecycle.py) and its line is frozen: only 8.4 is to be rebuilt.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
import zoneinfo
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output, markdown_text
from publisher.core.config import load
from publisher.core.notes import RegistryFacts, Republish
from publisher.stages.clients import ClientFactory
from publisher.stages.republish_check import check_bases
from tests.conftest import ROOT, require_tool
from tests.support.github_files import parse_outputs
from tests.support.images import make_image, push_raw, raw_delete_manifest, raw_remove_tag
from tests.support.records import PUBLISHED_AT, line_facts, release_facts, write_record

pytestmark = pytest.mark.integration


MOVED = "sha256:" + "0" * 64  # a recorded base the registry does not have: it moved since


@dataclass(frozen=True)
class _Published:
    """Bases pushed to a registry, v1.0.0's record of them, and a matrix.yaml on them."""

    notes: Path
    matrix: Path
    repository: str  # where v1.0.0 was published (and matrix.yaml publishes)
    base_image: str  # the bases, ``{php}`` for the line, as matrix.yaml names them
    current: dict[str, str]  # PHP line -> its base's digest as pushed
    published_at: str

    def path_of(self, php: str) -> str:
        """The repository of PHP ``php``'s base, host included: ``host/bases-.../php``."""
        return self.base_image.replace("{php}", php).rsplit(":", 1)[0]

    def record(
        self, notes: Path, moved: Collection[str] = (), history: tuple[Republish, ...] = ()
    ) -> Path:
        """NOTES (made here) holding v1.0.0's record, written the way publish writes it
        (the strict record reader reads it back): one amd64 line a pushed base, built on
        it (its digest also stands in for the line's index digest), except that each of
        ``moved`` was built on a base the registry does not have; ``history``: its
        republishes."""
        facts = release_facts(
            (
                line_facts(
                    php,
                    digest=MOVED if php in moved else digest,
                    base_image=self.base_image,
                    base_digest=MOVED if php in moved else digest,
                )
                for php, digest in self.current.items()
            ),
            published_at=self.published_at,
            registries=(RegistryFacts("hub", self.repository, True),),
        )
        return write_record(notes, dataclasses.replace(facts, history=history))


def _published(
    tmp_path: Path,
    registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    *,
    lines: tuple[str, ...],
    gone: str | None = None,
    untagged: str | None = None,
    moved: Collection[str] = (),
    published_at: str = PUBLISHED_AT,
    notes: str = "notes",
    matrix_lines: tuple[str, ...] | None = None,
    **matrix: Any,
) -> _Published:
    """An amd64 base for each of ``lines`` pushed to ``registry`` (then ``gone``'s deleted,
    and ``untagged``'s tag removed, its manifest still served by digest),
    v1.0.0's record in ``tmp_path/notes``, published at ``published_at`` with ``lines``
    built on those bases but ``moved``'s (whose base has moved since), and matrix.yaml in
    ``tmp_path`` with ``matrix_lines`` (``lines`` unless told) on the same bases, and
    ``matrix``'s other keywords for ``write_matrix``."""
    prefix = f"bases-{uuid.uuid4().hex[:8]}/library/php"
    current = {
        php: push_raw(
            f"http://{registry.host}", prefix, make_image(("linux/amd64",)), [f"{php}-fpm-alpine"]
        )
        for php in lines
    }
    if gone is not None:
        raw_delete_manifest(f"http://{registry.host}", prefix, current[gone])
    if untagged is not None:
        raw_remove_tag(registry, prefix, f"{untagged}-fpm-alpine")
    repository = f"{registry.host}/acme/php-fpm"
    base_image = f"{registry.host}/{prefix}:{{php}}-fpm-alpine"
    path = write_matrix(
        tmp_path,
        [("hub", repository, True)],
        lines=matrix_lines or lines,
        base_image=base_image,
        **matrix,
    )
    world = _Published(tmp_path / notes, path, repository, base_image, current, published_at)
    world.record(world.notes, moved)
    return world


def _in_actions(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A GitHub Actions step's output and summary files (empty, in ``tmp_path``) and its
    environment, which names them (the machine's other ``GITHUB_*`` variables left out)."""
    out, summary = tmp_path / "github-output", tmp_path / "summary"
    out.write_text("")
    summary.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    return out, summary, env


def test_only_moved_lines_are_rebuilt_and_frozen_lines_are_named(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.1", "8.3", "8.4"),
        moved=("8.4",),
        line_overrides={"8.1": {"frozen": True}},
    )
    matrix, notes = world.matrix, world.notes
    out = tmp_path / "github-output"
    out.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "publisher",
            "republish-check",
            "--config",
            str(matrix),
            "--notes-dir",
            str(notes),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            **os.environ,
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(out),
            # each base is checked where the record says the release pulled it: a mirror
            # set today (here a port nothing listens on) is not where it was pulled from
            "PUBLISHER_BASE_MIRROR": "127.0.0.1:1",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # stdout is the key=value lines alone (a script may `eval` them); the words go to stderr
    assert result.stdout == "release=v1.0.0\nchanged=true\nlines=8.4\nfrozen=8.1\ngone=\n"
    outputs = dict(
        line.split("=", 1)
        for line in out.read_text().splitlines()
        if "=" in line and "<<" not in line
    )
    assert outputs["lines"] == "8.4"
    assert outputs["frozen"] == "8.1"
    said = result.stderr
    assert "PHP 8.1: can never change" in said
    # the step output `details`: the same lines, as a JSON list
    details = json.loads(outputs["details"])
    assert [line.split(":")[0] for line in details] == ["PHP 8.1", "PHP 8.3", "PHP 8.4"]
    assert all(line in said for line in details)
    assert "PHP 8.3: base" in said and "unchanged" in said
    # the bases are resolved together, and told in the record's order of lines
    assert said.index("PHP 8.1: can") < said.index("PHP 8.3: base") < said.index("PHP 8.4: base")


def test_a_named_pipe_for_github_output_is_refused_not_waited_on(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """`republish-check` and `matrix --github` with GITHUB_OUTPUT a named pipe no one
    reads: exit 18 saying what it is (opening it to append would wait for ever), and
    nothing half-written."""
    world = _published(tmp_path, registry, write_matrix, lines=("8.4",), moved=("8.4",))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _, _, env = _in_actions(tmp_path)
    env["GITHUB_OUTPUT"] = str(fifo)
    for argv in (
        ["republish-check", "--config", str(world.matrix), "--notes-dir", str(world.notes)],
        ["matrix", "v1.1.0", "--config", str(world.matrix), "--github"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "publisher", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=env,
        )
        assert result.returncode == 18, result.stdout + result.stderr
        assert f"GITHUB_OUTPUT={fifo} is a named pipe, not a regular file" in result.stderr


def _at(instant: datetime.datetime, zone: str, *argv: str, env: dict[str, str]) -> str:
    """stdout and stderr of ``publisher ARGV`` run at ``instant`` on a machine whose
    time zone is ``zone`` (faketime reads the wall clock it is given in that zone).
    ``DONT_FAKE_MONOTONIC=1`` keeps timeouts on the real clock, but makes ``time.sleep``
    fail: ``argv`` must be a command that neither sleeps nor waits for a subprocess."""
    wall = instant.astimezone(zoneinfo.ZoneInfo(zone)).strftime("@%Y-%m-%d %H:%M:%S")
    result = subprocess.run(
        [require_tool("faketime"), "-f", wall, sys.executable, "-m", "publisher", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**env, "TZ": zone, "DONT_FAKE_MONOTONIC": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("instant", "zone", "ended"),
    [
        # 16:00 UTC on 2026-12-31 is already 2027-01-01 at UTC+14
        (datetime.datetime(2026, 12, 31, 16, tzinfo=datetime.UTC), "Pacific/Kiritimati", False),
        # 00:30 UTC on 2027-01-01 is still 2026-12-31 at UTC-8
        (datetime.datetime(2027, 1, 1, 0, 30, tzinfo=datetime.UTC), "America/Los_Angeles", True),
    ],
)
def test_plan_and_republish_check_judge_a_line_on_the_same_day_in_any_time_zone(
    tmp_path: Path,
    registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    instant: datetime.datetime,
    zone: str,
    ended: bool,
) -> None:
    """PHP 8.2's security support ends on 2026-12-31 (UTC, the day notes are dated by):
    at one moment, `plan` and the weekly `republish-check` agree on whether it has ended,
    whatever the machine's time zone."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.2", "8.4"),
        published_at="2026-06-01T10:00:00Z",
    )
    matrix, notes = world.matrix, world.notes
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT")}
    planned = _at(instant, zone, "plan", "v1.1.0", "--config", str(matrix), env=env)
    checked = _at(
        instant,
        zone,
        "republish-check",
        "--config",
        str(matrix),
        "--notes-dir",
        str(notes),
        env=env,
    )
    if ended:
        assert "PHP 8.2 reached end of life on 2026-12-31" in planned
        assert "frozen=8.2\n" in checked and "PHP 8.2: can never change" in checked
        # 8.2 is not marked frozen in matrix.yaml: each says, once, what to change there
        advice = "mark the line frozen: true in matrix.yaml"
        assert planned.count(advice) == 1 and checked.count(advice) == 1, planned + checked
    else:
        assert "PHP 8.2's security support ends on 2026-12-31 (today)" in planned
        assert "frozen=\n" in checked and "PHP 8.2: base" in checked


def test_the_first_weekly_run_after_a_line_ends_rebuilds_its_last_base(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """Monday 2027-01-04 05:17 UTC, the first weekly run after PHP 8.2's security support
    ended on 2026-12-31: 8.2's base moved after the last weekly run (the official image's
    last build, before its end). The release is rebuilt on it once more, not left for good
    on the base before it as a line that "can never change"; 8.1, past its end too, whose
    base is gone from the registry, can never change (no red run); 8.4 is unchanged."""
    world = _published(
        tmp_path, registry, write_matrix, lines=("8.1", "8.2", "8.4"), gone="8.1", moved=("8.2",)
    )
    matrix, notes = world.matrix, world.notes
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT")}
    argv = ["republish-check", "--config", str(matrix), "--notes-dir", str(notes)]
    monday = datetime.datetime(2027, 1, 4, 5, 17, tzinfo=datetime.UTC)
    checked = _at(monday, "America/Adak", *argv, env=env)
    assert checked.startswith("release=v1.0.0\nchanged=true\nlines=8.2\nfrozen=8.1\ngone=\n")
    # republish-check rebuilds nothing: the detail says so, what rebuilds the line (with
    # the run's --config and --notes-dir), and that marking it frozen comes after that
    assert "PHP 8.2: base" in checked and "rebuilt on it once more" not in checked
    assert (
        "its last update: nothing was rebuilt yet; a republish of v1.0.0 with PHP 8.2 "
        "rebuilds it on that base once more (the weekly run republishes the lines= it "
        f'outputs; by hand: `publisher republish v1.0.0 --only 8.2 --reason "..." --config '
        f"{matrix} --notes-dir {notes}`); once that is published, and not before, mark the "
        "line frozen: true in matrix.yaml"
    ) in " ".join(checked.split()), checked
    assert "PHP 8.2 reached end of life on 2026-12-31" in checked
    assert "PHP 8.1: can never change (base" in checked and "is gone;" in checked
    # 8.2 is not marked frozen: once rebuilt (the record then holds its last base), the
    # next run finds it unchanged, and it can never change; marked frozen, it is not asked.
    world.record(tmp_path / "notes-after")
    after = [
        "republish-check",
        "--config",
        str(matrix),
        "--notes-dir",
        str(tmp_path / "notes-after"),
    ]
    next_monday = _at(monday + datetime.timedelta(days=7), "UTC", *after, env=env)
    assert next_monday.startswith("release=v1.0.0\nchanged=false\nlines=\nfrozen=8.1,8.2\n")
    assert "PHP 8.2: can never change (PHP 8.2 reached end of life" in next_monday


def test_plan_past_a_line_s_end_says_where_the_maintainer_stands(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """`plan` said "once the first weekly republish past its end has run" for ever: in 2030
    too, and after a republish had rebuilt the line past its end. It names the day that run
    is due (Monday 2027-01-04 05:17 UTC for 8.2, republish.yml's cron); past that day, to
    mark the line now if the run ran; once the release's history holds a republish of the
    line past its end, to mark it now; and the plan of a republish of the line (`--reason`,
    as republish.yml's check plans it), to mark it once that has succeeded."""
    world = _published(
        tmp_path, registry, write_matrix, lines=("8.2", "8.4"), published_at="2026-06-01T10:00:00Z"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT")}
    plan = ("plan", "v1.0.0", "--config", str(world.matrix), "--notes-dir", str(world.notes))

    def said(instant: datetime.datetime, zone: str, *extra: str) -> str:
        return " ".join(_at(instant, zone, *plan, *extra, env=env).split())

    mark = "mark the line frozen: true in matrix.yaml"
    # Friday 2027-01-01 09:00 UTC, 23:00 the day before at UTC-10: judged on UTC's day
    friday = said(datetime.datetime(2027, 1, 1, 9, tzinfo=datetime.UTC), "America/Adak")
    assert (
        "PHP 8.2 reached end of life on 2026-12-31 (no security fixes); the official image no "
        "longer updates it: once the first weekly republish past its end, due Monday "
        f"2027-01-04 05:17 UTC (in 3 days), has run (republish.yml: it rebuilds the line once "
        f"more if republish-check finds its base moved since the release), {mark}"
    ) in friday, friday
    for instant in (
        datetime.datetime(2027, 1, 5, 0, 0, 1, tzinfo=datetime.UTC),
        datetime.datetime(2030, 6, 15, 12, tzinfo=datetime.UTC),
    ):
        late = said(instant, "Pacific/Kiritimati")
        assert "once the first weekly republish" not in late, late
        assert (
            "the first weekly republish past its end was due Monday 2027-01-04 05:17 UTC "
            "(republish.yml: it rebuilds the line once more if republish-check finds its base "
            "moved since the release): if it ran (a schedule may not have: republish.yml's "
            "runs say so, and republish-check whether the line's base is still to be "
            f"rebuilt), now {mark}"
        ) in late, late
    # the plan of the weekly republish of 8.2 (republish.yml's check, on that Monday)
    monday = datetime.datetime(2027, 1, 4, 5, 17, 30, tzinfo=datetime.UTC)
    rebuilding = said(monday, "UTC", "--only", "8.2", "--reason", "weekly check")
    assert (
        "this republish rebuilds it past its end, on a base that no longer moves: once it has "
        f"succeeded, {mark}"
    ) in rebuilding, rebuilding
    # a republish of 8.4 alone says nothing of 8.2, which it does not rebuild
    in_2030 = datetime.datetime(2030, 6, 15, tzinfo=datetime.UTC)
    only_84 = said(in_2030, "UTC", "--only", "8.4", "--reason", "weekly check")
    assert "PHP 8.2" not in only_84 and only_84.count("this republish rebuilds it") == 1, only_84
    # once that republish is in the release's history, the advice says so, in 2030 too
    world.record(
        world.notes,
        history=(
            Republish(
                "2027-01-04",
                "weekly check: base image digests changed",
                (("8.2", world.current["8.2"], MOVED),),
            ),
        ),
    )
    for instant in (monday + datetime.timedelta(hours=1), datetime.datetime(2030, 6, 15)):
        rebuilt = said(instant.replace(tzinfo=datetime.UTC), "UTC")
        assert (
            "the official image no longer updates it: a republish rebuilt it on 2027-01-04, "
            f"past its end, on a base that no longer moves: now {mark}"
        ) in rebuilt, rebuilt
        assert rebuilt.count("once the first weekly") == 0, rebuilt
        assert rebuilt.count("a republish rebuilt it on") == 1, rebuilt  # 8.4's is not


def _weekly_run_in_actions(
    tmp_path: Path,
    registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    when: datetime.datetime,
) -> tuple[Any, str, Path, Path, dict[str, str]]:
    """v1.0.0 published with 8.1 (marked frozen), 8.2 and 8.4, then the weekly
    ``republish-check`` run at ``when`` in GitHub Actions: the release, what the run
    said (stdout and stderr), its step output and summary files and its environment."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.1", "8.2", "8.4"),
        line_overrides={"8.1": {"frozen": True}},
    )
    out, summary, env = _in_actions(tmp_path)
    argv = ["republish-check", "--config", str(world.matrix), "--notes-dir", str(world.notes)]
    return world, _at(when, "UTC", *argv, env=env), out, summary, env


def test_the_advice_to_mark_a_line_frozen_is_a_warning_on_the_run_s_page(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """Monday 2027-01-04 in GitHub Actions: PHP 8.2 is past its end and matrix.yaml does
    not mark it frozen. What to change there is a ::warning:: annotation (what the run's
    page shows), said once in the log, once in the summary and once in `details`; 8.1,
    marked frozen, and 8.4, unchanged, stay lines of the log."""
    monday = datetime.datetime(2027, 1, 4, 5, 17, tzinfo=datetime.UTC)
    _, said, out, summary, _ = _weekly_run_in_actions(tmp_path, registry, write_matrix, monday)
    assert said.startswith("release=v1.0.0\nchanged=false\nlines=\nfrozen=8.1,8.2\n"), said
    advice = "mark the line frozen: true in matrix.yaml"
    warnings = [line for line in said.splitlines() if line.startswith("::warning::")]
    assert len(warnings) == 1, said
    assert warnings[0].startswith("::warning::PHP 8.2: can never change (PHP 8.2 reached end")
    assert advice in warnings[0] and said.count(advice) == 1, said
    assert "\nPHP 8.1: can never change" in said and "\nPHP 8.4: base" in said
    assert summary.read_text().count(advice) == 1
    details = json.loads(parse_outputs(out.read_text())["details"])
    assert sum(advice in line for line in details) == 1


def test_a_line_near_its_end_is_a_notice_on_the_run_s_page_and_changes_no_output(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """Monday 2026-12-07 in GitHub Actions, 24 days before PHP 8.2's security support
    ends: the weekly run says so, as `plan` warns it, in one ::notice:: annotation (the
    day, the first weekly run past it, then frozen: true) and, in the same words, in a
    section of its step summary after the bases'; its stdout, step outputs and the
    bases' section are what they were without it. 8.1, marked frozen, and 8.4 get none;
    nor does 8.2 once matrix.yaml marks it frozen."""
    monday = datetime.datetime(2026, 12, 7, 5, 17, tzinfo=datetime.UTC)
    world, said, out, summary, env = _weekly_run_in_actions(
        tmp_path, registry, write_matrix, monday
    )
    matrix, notes = world.matrix, world.notes
    assert said.startswith("release=v1.0.0\nchanged=false\nlines=\nfrozen=8.1\ngone=\n"), said
    notices = [line for line in said.splitlines() if line.startswith("::notice::")]
    # plan, run in another step of the same moment, warns the same words
    (tmp_path / "plan").mkdir()
    _, _, planning = _in_actions(tmp_path / "plan")
    planned = _at(monday, "UTC", "plan", "v1.1.0", "--config", str(matrix), env=planning)
    assert notices == [
        "::notice::" + line.removeprefix("::warning::")
        for line in planned.splitlines()
        if line.startswith("::warning::PHP 8.2's security support ends")
    ], said + planned
    assert notices[0].startswith(
        "::notice::PHP 8.2's security support ends on 2026-12-31 (in 24 days)"
    ) and notices[0].endswith(
        "then, once the first weekly republish past that day, due Monday 2027-01-04 05:17 "
        "UTC, has run (republish.yml: it rebuilds the line once more if republish-check "
        "finds its base moved since the release), mark the line frozen: true in matrix.yaml, or drop it — source: https://www.php.net/supported-versions.php"
    )
    assert "::warning::" not in said, said
    outputs = parse_outputs(out.read_text())
    details = json.loads(outputs["details"])
    assert [line.split(":")[0] for line in details] == ["PHP 8.1", "PHP 8.2", "PHP 8.4"]
    assert not any("security support ends" in line for line in details)
    bases, ending = summary.read_text().split("\n\n### ")
    assert bases.startswith("### Base images of v1.0.0: no base moved\n\n- PHP 8.1: can")
    assert "security support ends" not in bases
    assert ending == (
        "Lines near the end of their security support\n\n"
        f"- {notices[0].removeprefix('::notice::')}\n\n"
    ), ending
    # marked frozen before its end, 8.2 still updates: still asked (never "can never
    # change"), its notice kept, and a warning that the mark comes too early
    marked = write_matrix(
        tmp_path,
        [("hub", world.repository, True)],
        name="frozen.yaml",
        lines=("8.1", "8.2", "8.4"),
        base_image=world.base_image,
        line_overrides={"8.1": {"frozen": True}, "8.2": {"frozen": True}},
    )
    argv = ["republish-check", "--config", str(marked), "--notes-dir", str(notes)]
    early = _at(monday, "UTC", *argv, env=env)
    assert early.startswith("release=v1.0.0\nchanged=false\nlines=\nfrozen=8.1\n"), early
    assert [line for line in early.splitlines() if line.startswith("::notice::")] == notices
    assert "PHP 8.2: can never change" not in early
    (warned,) = [line for line in early.splitlines() if line.startswith("::warning::")]
    assert warned.startswith("::warning::PHP 8.2: base") and "unchanged" in warned
    assert (
        "; PHP 8.2 is marked frozen: true in matrix.yaml before its end: php.net supports it "
        "until 2026-12-31 (in 24 days)"
    ) in warned
    assert "mark a line frozen: true after the first weekly republish past its end" in warned


def test_a_line_marked_frozen_before_its_end_is_still_rebuilt_when_its_base_moves(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """PHP 8.2 marked frozen: true on 2026-12-06, 25 days before its end: its base still
    gets the official image's security builds. republish-check called it "can never
    change" and never asked its base; it asks it, offers it when it moved, and warns that
    the mark comes too early. From the day after its end, frozen: true is as marked."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.2", "8.4"),
        moved=("8.2",),
        published_at="2026-11-02T10:00:00Z",
        line_overrides={"8.2": {"frozen": True}},
    )
    marked = load(world.matrix, {})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    clients = ClientFactory(env, Output(env=env, stream=io.StringIO(), err_stream=io.StringIO()))
    early = check_bases(marked, world.notes, clients, today=datetime.date(2026, 12, 6))
    assert (early.moved, early.frozen) == (("8.2",), ())
    assert early.details[0].startswith(f"PHP 8.2: base {world.path_of('8.2')}:8.2-fpm-alpine moved")
    assert "can never change" not in early.details[0]
    assert "PHP 8.2 is marked frozen: true in matrix.yaml before its end" in early.details[0]
    assert early.advised == (early.details[0],)
    assert early.ending and early.ending[0].startswith("PHP 8.2's security support ends")
    after = check_bases(marked, world.notes, clients, today=datetime.date(2027, 1, 1))
    assert (after.moved, after.frozen, after.advised) == ((), ("8.2",), ())
    assert after.details[0].startswith("PHP 8.2: can never change (PHP 8.2 reached end of life")


def test_a_line_is_asked_until_its_end_and_after_it_until_marked_frozen(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """PHP 8.3's base moved after the release. On 2027-12-31, its last day of security
    support, it is a moved base as any; on 2028-01-01 it is still rebuilt, as its last
    update; once matrix.yaml marks it frozen, it is not asked about (the day injected)."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.3",),
        moved=("8.3",),
        published_at="2027-06-01T10:00:00Z",
        default_line="8.3",
    )
    notes = world.notes
    asked = load(world.matrix, {})
    marked = load(
        write_matrix(
            tmp_path,
            [("hub", world.repository, True)],
            name="frozen.yaml",
            lines=("8.3",),
            default_line="8.3",
            base_image=world.base_image,
            line_overrides={"8.3": {"frozen": True}},
        ),
        {},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    clients = ClientFactory(env, Output(env=env, stream=io.StringIO(), err_stream=io.StringIO()))
    last_day = check_bases(asked, notes, clients, today=datetime.date(2027, 12, 31))
    assert (last_day.moved, last_day.frozen) == (("8.3",), ())
    assert "last update" not in last_day.details[0]
    after = check_bases(asked, notes, clients, today=datetime.date(2028, 1, 1))
    assert (after.moved, after.frozen) == (("8.3",), ())
    assert (last_day.advised, after.advised) == ((), after.details)  # what to change: a warning
    assert after.details[0].endswith(
        "its last update: nothing was rebuilt yet; a republish of v1.0.0 with PHP 8.3 "
        "rebuilds it on that base once more (the weekly run republishes the lines= it "
        'outputs; by hand: `publisher republish v1.0.0 --only 8.3 --reason "..."`); once '
        "that is published, and not before, mark the line frozen: true in matrix.yaml (its "
        "published images stay, and no republish waits for its base), or drop it (PHP 8.3 "
        "reached end of life on 2027-12-31 (no security fixes); the official image no longer "
        "updates it — source: https://www.php.net/supported-versions.php)"
    )
    frozen = check_bases(marked, notes, clients, today=datetime.date(2028, 1, 1))
    assert (frozen.changed, frozen.moved, frozen.frozen) == (False, (), ("8.3",))
    assert "mark the line" not in frozen.details[0] and frozen.advised == ()


def test_a_line_dropped_from_the_matrix_is_not_offered_for_a_rebuild(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """PHP 8.3 still receives security fixes, but matrix.yaml dropped it after the newest
    release: its moved base is not a line to rebuild (the weekly run's `matrix --only`
    would refuse it, exit 2, every week, and 8.4's rebuild with it); 8.4's is."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.3", "8.4"),
        moved=("8.3", "8.4"),  # both bases moved since the release
        published_at="2027-02-01T10:00:00Z",
        notes="release-notes",  # the default, next to matrix.yaml
        matrix_lines=("8.4",),
    )
    matrix, notes = world.matrix, world.notes
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT")}
    argv = [sys.executable, "-m", "publisher"]
    config = ["--config", str(matrix)]
    checked = subprocess.run(
        [*argv, "republish-check", *config, "--notes-dir", str(notes)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "release=v1.0.0\nchanged=true\nlines=8.4\nfrozen=\ngone=\n"
    assert "PHP 8.3: v1.0.0 was published with it, which matrix.yaml no longer has" in (
        checked.stderr
    )
    # What the weekly workflow runs next with those lines works.
    legs = subprocess.run(
        [*argv, "matrix", "v1.0.0", "--github", "--only", "8.4", *config],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert legs.returncode == 0, legs.stdout + legs.stderr


def test_a_release_published_to_another_repository_than_matrix_yaml_names_is_not_offered(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.0 was published to acme/php-fpm; matrix.yaml now names acme/php-fpm-g2, and
    8.4's base moved. `plan`, `matrix` and `republish` of v1.0.0 refuse this matrix.yaml
    (a release stays where it was published), so the weekly run must not offer 8.4: the
    check says v1.0.0 cannot be republished from it, naming the move and the way out, and
    outputs `changed=false`, `repository_moved=hub`, which the workflow tells apart from
    bases that did not move."""
    world = _published(tmp_path, registry, write_matrix, lines=("8.3", "8.4"), moved=("8.4",))
    moved = write_matrix(
        tmp_path,
        [("hub", world.repository + "-g2", True)],
        name="moved.yaml",
        lines=("8.3", "8.4"),
        base_image=world.base_image,
    )
    out, summary, env = _in_actions(tmp_path)
    argv = [sys.executable, "-m", "publisher"]
    config = ["--config", str(moved), "--notes-dir", str(world.notes)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, *args, *config], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
        )

    for args in (
        ("plan", "v1.0.0"),
        ("matrix", "v1.0.0", "--github", "--only", "8.4"),
        ("republish", "v1.0.0", "--only", "8.4", "--reason", "weekly", "--dry-run"),
    ):
        refused = run(*args)
        assert refused.returncode == 3, (args, refused.stdout + refused.stderr)
        assert "matrix.yaml now names" in refused.stdout + refused.stderr
    out.write_text("")
    checked = run("republish-check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "release=v1.0.0\nchanged=false\nlines=\nfrozen=\ngone=\n"
    outputs = parse_outputs(out.read_text())
    assert (outputs["changed"], outputs["lines"], outputs["repository_moved"]) == (
        "false",
        "",
        "hub",
    )
    said = " ".join(checked.stderr.split())
    words = (
        f"v1.0.0 was published to {world.repository} (hub); matrix.yaml now names "
        f"{world.repository}-g2: it cannot be republished from this matrix.yaml"
    )
    assert f"::warning::{words}" in said, said
    assert "Publish a new release to the new repository" in said, said
    (detail,) = json.loads(outputs["details"])  # the one line, in place of each base's
    assert words in detail, detail
    assert "base moved" not in said and "unchanged" not in said  # no base was asked about
    assert "### Base images of v1.0.0: not checked" in summary.read_text()


def test_a_base_that_no_longer_exists_is_said_loudly_and_holds_back_no_other_line(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """8.3's base was deleted from its registry and 8.4's moved: only 8.4 is to be
    rebuilt (8.3's leg could not pull its base, and a failed leg would hold back 8.4's
    security rebuild); 8.3 is `gone=`, an ::error annotation and in the summary."""
    world = _published(
        tmp_path, registry, write_matrix, lines=("8.3", "8.4"), gone="8.3", moved=("8.4",)
    )
    matrix, notes = world.matrix, world.notes
    out, summary, env = _in_actions(tmp_path)
    argv = [sys.executable, "-m", "publisher"]
    config = ["--config", str(matrix)]
    checked = subprocess.run(
        [*argv, "republish-check", *config, "--notes-dir", str(notes)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "release=v1.0.0\nchanged=true\nlines=8.4\nfrozen=\ngone=8.3\n"
    outputs = parse_outputs(out.read_text())
    assert (outputs["lines"], outputs["gone"]) == ("8.4", "8.3")
    assert "PHP 8.3: base" in checked.stderr
    assert "no longer exists: not rebuilt" in checked.stderr
    # deleted by digest: the base it was built on is gone too (asked by digest, once), so
    # pinning it cannot keep the line; the ways on are another base, or dropping it
    assert (
        ", nor does its registry serve the base it was built on any more, "
        f"{world.path_of('8.3')}@{world.current['8.3']}, so the line cannot be rebuilt from that base: "
        "point the line's base in matrix.yaml at a tag that exists and publish a new "
        "release, or drop the line from matrix.yaml (its published images stay as they are)"
    ) in checked.stderr, checked.stderr
    assert "base_digest" not in checked.stderr, checked.stderr
    assert "::error title=" in checked.stderr
    assert "the base image of PHP 8.3 no longer exists" in checked.stderr
    assert "or drop the line from matrix.yaml: the base it was built on is gone too" in (
        checked.stderr
    )
    said = summary.read_text()
    assert said.startswith(
        "### Base images of v1.0.0: rebuilding PHP 8.4; base of PHP 8.3 gone, not rebuilt\n"
    ), said
    # What the weekly workflow runs next with those lines works.
    legs = subprocess.run(
        [*argv, "matrix", "v1.0.0", "--github", "--only", outputs["lines"], *config],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={k: v for k, v in env.items() if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT")},
    )
    assert legs.returncode == 0, legs.stdout + legs.stderr
    assert {leg["php"] for leg in json.loads(legs.stdout)["include"]} == {"8.4"}
    # Outside Actions the same news is a warning on stderr, stdout unchanged.
    local = subprocess.run(
        [*argv, "republish-check", *config, "--notes-dir", str(notes)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={k: v for k, v in env.items() if not k.startswith("GITHUB_")},
    )
    assert local.returncode == 0, local.stdout + local.stderr
    assert local.stdout == checked.stdout
    assert "warning: the base image of PHP 8.3 no longer exists" in local.stderr


def _republish_check(world: _Published, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``publisher republish-check`` of ``world``'s matrix.yaml and notes, in ``env``."""
    config = ["--config", str(world.matrix), "--notes-dir", str(world.notes)]
    return subprocess.run(
        [sys.executable, "-m", "publisher", "republish-check", *config],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_a_base_tag_gone_says_whether_its_registry_still_serves_the_digest_built_on(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """8.3's base tag was removed from its registry, the manifest still served by digest;
    8.4's base was deleted, digest and all. Asked by digest (one HEAD each): 8.3 is told to
    pin the base it was built on, which its registry serves, and mark the line frozen;
    8.4, that it cannot be rebuilt from that base: another base, or drop the line. Both
    are `gone=`, and the closing error's tip gives each line its own way on."""
    world = _published(
        tmp_path, registry, write_matrix, lines=("8.3", "8.4"), untagged="8.3", gone="8.4"
    )
    out, summary, env = _in_actions(tmp_path)
    # asked where the record says the release pulled it: not through a mirror set today
    checked = _republish_check(world, {**env, "PUBLISHER_BASE_MIRROR": "127.0.0.1:1"})
    said = checked.stderr
    assert checked.returncode == 0, checked.stdout + said
    assert checked.stdout == "release=v1.0.0\nchanged=false\nlines=\nfrozen=\ngone=8.3,8.4\n"
    kept, lost = json.loads(parse_outputs(out.read_text())["details"])
    assert kept == (
        f"PHP 8.3: base {world.path_of('8.3')}:8.3-fpm-alpine no longer exists: not rebuilt "
        "(a rebuild could not pull it); its registry still serves the base it was built on, "
        f"{world.path_of('8.3')}@{world.current['8.3']}: mark the line `frozen: true` and "
        f"pin that base, `base_digest: {world.current['8.3']}`, so that a new release still "
        "builds it, or point the line's base in matrix.yaml at a tag that exists and publish "
        "a new release"
    ), kept
    assert lost.startswith(
        f"PHP 8.4: base {world.path_of('8.4')}:8.4-fpm-alpine no longer exists: not rebuilt "
        "(a rebuild could not pull it), nor does its registry serve the base it was built "
        f"on any more, {world.path_of('8.4')}@{world.current['8.4']}, so the line cannot "
        "be rebuilt from that base"
    ), lost
    assert "base_digest" not in lost and "while its registry serves" not in said, said
    assert kept in said and lost in said and markdown_text(kept) in summary.read_text()
    assert (
        "tip: point the line's base in matrix.yaml at a tag that exists and publish a new "
        "release; or, for PHP 8.3, mark the line `frozen: true` and pin the base it was "
        "built on by digest (its `base_digest`, named above) so that a new release still "
        "builds it; for PHP 8.4, whose base digest is gone too, drop the line from matrix.yaml"
    ) in said, said


def test_a_registry_failing_the_digest_lookup_of_a_gone_base_is_asked_once_and_said(
    tmp_path: Path, registry: LocalRegistry, proxy: Any, write_matrix: Callable[..., Path]
) -> None:
    """8.3's base tag is gone; the bases' registry (behind a fault proxy) answers the HEAD
    of the digest it was built on with 503, with retries allowed: asked once (a side
    lookup, once the line is gone), the detail says it could not be asked, with the way
    on that holds while the registry serves the digest, and the check goes on (exit 0)."""
    from tests.support.faultproxy import Fault

    world = _published(tmp_path, proxy, write_matrix, lines=("8.3", "8.4"))
    raw_remove_tag(registry, world.path_of("8.3").split("/", 1)[1], "8.3-fpm-alpine")
    digest = world.current["8.3"]
    proxy.add(Fault("status", method="HEAD", path=f"/manifests/{digest}$", times=None))
    proxy.reset_counts()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    checked = _republish_check(world, {**env, "PUBLISHER_RETRY_ATTEMPTS": "5"})
    said = checked.stderr
    assert checked.returncode == 0, checked.stdout + said
    assert checked.stdout == "release=v1.0.0\nchanged=false\nlines=\nfrozen=\ngone=8.3\n"
    assert (
        f"pin the base it was built on, `base_digest: {digest}`, so that a new release still "
        "builds it while its registry serves that digest (whether it does could not be "
        "asked: "
    ) in said, said
    asked = [(s.method, s.status) for s in proxy.log if s.path.endswith(f"/manifests/{digest}")]
    assert asked == [("HEAD", 503)], asked
    assert "Traceback" not in said, said


def test_a_base_head_naming_other_content_than_its_manifest_is_refused_not_called_moved(
    tmp_path: Path, proxy: Any, write_matrix: Callable[..., Path]
) -> None:
    """The bases' registry, behind a proxy whose HEADs of 8.4's base name 8.3's: the GET
    of 8.4's base serves the recorded image, so the registry lies (exit 8) and no line is
    said to have moved; 8.3's HEAD, as recorded, is all 8.3's base costs."""
    from tests.support.faultproxy import Fault

    world = _published(tmp_path, proxy, write_matrix, lines=("8.3", "8.4"))
    proxy.add(
        Fault(
            "digest",
            method="HEAD",
            path=r"/manifests/8\.4-fpm-alpine$",
            digest=world.current["8.3"],
            times=None,
        )
    )
    proxy.reset_counts()
    argv = [sys.executable, "-m", "publisher", "republish-check", "--config", str(world.matrix)]
    checked = subprocess.run(
        [*argv, "--notes-dir", str(world.notes)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
    )
    said = checked.stdout + checked.stderr
    assert checked.returncode == 8, said
    assert "invalid registry response" in said and "moved" not in said, said
    assert world.current["8.3"] in said and world.current["8.4"] in said, said
    assert "Traceback" not in said, said
    by_tag = [(s.method, s.path.rsplit("/", 1)[1]) for s in proxy.log if s.kind == "manifest"]
    assert ("GET", "8.3-fpm-alpine") not in by_tag and ("HEAD", "8.3-fpm-alpine") in by_tag


def test_a_republish_of_a_line_whose_base_is_gone_names_it_and_how_to_republish_the_others(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    """PHP 8.2 is past its end and marked frozen, and its base was removed from its
    registry; a republish by hand of every line (the workflow's `only` left empty) cannot
    rebuild it. It stops before any build (exit 5), naming the line, its base, and the
    command that republishes the other lines."""
    world = _published(
        tmp_path,
        registry,
        write_matrix,
        lines=("8.2", "8.4"),
        gone="8.2",
        line_overrides={"8.2": {"frozen": True}},
    )
    argv = [sys.executable, "-m", "publisher"]
    config = ["--config", str(world.matrix)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PUBLISHER_BUILDER"] = require_tool("buildah") and "buildah"
    (tmp_path / "dockerfiles").mkdir()
    shutil.copy(ROOT / "dockerfiles" / "Dockerfile.j2", tmp_path / "dockerfiles")
    rendered = subprocess.run(
        [*argv, "render", *config], capture_output=True, text=True, timeout=120, env=env
    )
    assert rendered.returncode == 0, rendered.stderr
    notes = ["--notes-dir", str(world.notes)]
    base = world.base_image.replace("{php}", "8.2")
    for only, others in (((), "8.4"), (("--only", "8.2,8.4"), "8.4"), (("--only", "8.2"), None)):
        result = subprocess.run(
            [*argv, "republish", "v1.0.0", "--reason", "openssl", *only, *notes, *config],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 5, result.stdout + result.stderr
        said = result.stderr
        assert f"error: not found: PHP 8.2 base {base}: tag '8.2-fpm-alpine' not found" in said
        # the republish it names reads the same records (--notes-dir), not ./release-notes
        command = (
            f'`publisher republish v1.0.0 --reason "..." --only {others} '
            f"--notes-dir {shlex.quote(str(world.notes))}`"
        )
        assert (command in said) == (others is not None), said
        assert "the published images of PHP 8.2 stay as they are" in said or others is None
        assert "pushed" not in result.stdout + said  # nothing built or pushed
