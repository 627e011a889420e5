"""The command a tip names carries the location options its run was given."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

import click
import pytest

from publisher.cli import main
from publisher.cli import options as cli_options
from publisher.core import audit_rules as rules
from publisher.core.locations import (
    ACCEPTS,
    CARRIES_ONLY,
    CONFIG,
    DEFAULT,
    DIGESTS,
    LOCAL,
    NOTES_DIR,
    OFFLINE,
    ONLY,
    REASON,
    Locations,
)
from publisher.core.platforms import Platform
from publisher.core.verify_rules import ImageFacts, LineExpectation, Report, TagFacts, build_report
from publisher.stages.audit import AuditReport, advice
from publisher.stages.publish import halfway_republish_hint
from publisher.stages.verify import defects_error, defects_hint
from tests.support.matrices import acme_config

BLOB = "sha256:" + "a" * 64


def test_a_run_given_no_location_names_the_command_alone() -> None:
    assert DEFAULT.command("audit", "--repair") == "publisher audit --repair"
    assert Locations(config="matrix.yaml").command("verify", "v1.0.0") == (
        "publisher verify v1.0.0"
    )


def test_the_config_and_notes_dir_given_follow_the_command_shell_quoted() -> None:
    here = Locations(config="my setup/m3.yaml", notes_dir="notes 5")
    command = here.command("check-public", "v3.0.0")
    assert (
        command == "publisher check-public v3.0.0 --config 'my setup/m3.yaml' --notes-dir 'notes 5'"
    )
    # the shell reads back what was given
    assert shlex.split(command)[-4:] == ["--config", "my setup/m3.yaml", "--notes-dir", "notes 5"]
    assert Locations(config="m3.yaml").command("audit", "--repair") == (
        "publisher audit --repair --config m3.yaml"
    )


def test_an_option_the_command_does_not_take_is_left_out() -> None:
    here = Locations(config="m3.yaml", notes_dir="notes", digests="out")
    assert here.command("release", "v1.0.0") == (
        "publisher release v1.0.0 --config m3.yaml --notes-dir notes --digests out"
    )
    assert here.command("audit") == "publisher audit --config m3.yaml --notes-dir notes"
    assert here.command("build", "v1.0.0") == "publisher build v1.0.0 --config m3.yaml"
    assert here.command("render", "--check") == "publisher render --check --config m3.yaml"


def _location_options(command: click.Command) -> set[str]:
    return {
        flag
        for param in command.params
        if isinstance(param, click.Option)
        for flag in param.opts
        if flag in (CONFIG, NOTES_DIR, DIGESTS, ONLY, LOCAL)
    }


@pytest.mark.parametrize("name", sorted(ACCEPTS))
def test_each_command_takes_every_location_option_its_tips_give_it(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None, name
    taken = _location_options(command)
    assert ACCEPTS[name] <= taken, (name, taken)
    # publish's --digests is its required input, never carried from another run
    assert taken - ACCEPTS[name] <= ({DIGESTS} if name == "publish" else set()), name


def test_only_is_carried_to_commands_that_take_it() -> None:
    assert {name for name in CARRIES_ONLY if ONLY not in ACCEPTS[name]} == set()
    assert all(name in ACCEPTS for name in OFFLINE)


def test_a_narrowed_run_s_lines_follow_a_rerun_of_its_release_alone() -> None:
    here = Locations(config="m3.yaml", release="v1.0.0", only=("8.3", "8.4"))
    assert here.command("release", "v1.0.0") == (
        "publisher release v1.0.0 --config m3.yaml --only 8.3,8.4"
    )
    assert here.command("republish", "v1.0.0", REASON) == (
        'publisher republish v1.0.0 --reason "..." --config m3.yaml --only 8.3,8.4'
    )
    # a check reads the whole release; another release is not narrowed by this run
    assert here.command("verify", "v1.0.0") == "publisher verify v1.0.0 --config m3.yaml"
    assert here.command("audit", "--repair") == "publisher audit --repair --config m3.yaml"
    assert here.command("republish", "v0.9.0", REASON) == (
        'publisher republish v0.9.0 --reason "..." --config m3.yaml'
    )
    # a tip choosing the lines keeps its own
    assert here.command("release", "v1.0.0", "--only", "8.2,8.3,8.4") == (
        "publisher release v1.0.0 --only 8.2,8.3,8.4 --config m3.yaml"
    )


def test_a_rehearsal_s_tips_rehearse_again() -> None:
    here = Locations(
        config="m.yaml", release="v1.0.0", only=("8.4",), rehearsal=("release", "v1.0.0")
    )
    assert here.command("release", "v1.0.0") == (
        "publisher release v1.0.0 --config m.yaml --only 8.4 --local"
    )
    assert here.command("republish", "v1.0.0", REASON) == (
        'publisher republish v1.0.0 --reason "..." --config m.yaml --only 8.4 --local'
    )
    # its registries are gone: a command that cannot take --local is the rehearsal again
    for name, args in (("audit", ("--repair",)), ("verify", ("v1.0.0",)), ("build", ("v1.0.0",))):
        assert here.command(name, *args) == (
            "publisher release v1.0.0 --config m.yaml --only 8.4 --local"
        ), name
    assert here.command("render") == "publisher render --config m.yaml"
    republished = Locations(release="v1.0.0", rehearsal=("republish", "v1.0.0", REASON))
    assert republished.command("audit", "--repair") == (
        'publisher republish v1.0.0 --reason "..." --local'
    )


def test_the_cli_leaves_out_what_is_the_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_options.locations_of("matrix.yaml") == DEFAULT
    # ./matrix.yaml however written, and the notes next to it
    same = cli_options.locations_of(str(tmp_path / "matrix.yaml"), Path("release-notes"))
    assert same == DEFAULT
    other = cli_options.locations_of("sub/m.yaml", Path("sub/release-notes"), Path("d"))
    assert other == Locations(config="sub/m.yaml", digests="d")
    given = cli_options.locations_of("m3.yaml", Path("notes5"))
    assert given == Locations(config="m3.yaml", notes_dir="notes5")
    # a rehearsal's notes are its own: the real ones, given, are named
    rehearsal = ("release", "v1.0.0")
    real = cli_options.locations_of("matrix.yaml", Path("release-notes"), rehearsal=rehearsal)
    assert real == Locations(notes_dir="release-notes", rehearsal=rehearsal)
    own = cli_options.locations_of(
        "matrix.yaml", Path(".publisher/local/release-notes"), rehearsal=rehearsal
    )
    assert own == Locations(rehearsal=rehearsal)


def _started(locations: Locations = DEFAULT) -> Report:
    """v9.9.9 with a record whose pin is on hub without its bare tag: a rerun finishes it."""
    expect = LineExpectation(
        "8.4", (Platform.AMD64,), 700_000_000, {"hub": ("v9.9.9-php-8.4", "v9.9.9")}
    )
    found = [TagFacts("hub", "v9.9.9-php-8.4", BLOB), TagFacts("hub", "v9.9.9", None)]
    images = {("hub", BLOB): ImageFacts("hub", BLOB, platforms={"linux/amd64": 1})}
    report = build_report("v9.9.9", [expect], found, images)
    return dataclasses.replace(report, recorded=True, locations=locations)


def test_verify_tips_carry_the_config_and_notes_dir() -> None:
    here = Locations(config="m3.yaml", notes_dir="notes")
    hint = defects_hint(_started(here))
    assert "`publisher release v9.9.9 --config m3.yaml --notes-dir notes`" in hint, hint
    assert "`publisher audit --repair --config m3.yaml --notes-dir notes`" in hint, hint
    assert "`publisher verify v9.9.9 --json --config m3.yaml --notes-dir notes`" in hint, hint
    hint = defects_hint(_started())  # a run given none: the commands as before
    assert "`publisher release v9.9.9`" in hint and "`publisher audit --repair`" in hint, hint


def test_verify_s_tip_for_a_registry_that_did_not_answer_reruns_it_where_it_ran() -> None:
    started = _started(Locations(config="m3.yaml"))
    down = dataclasses.replace(started, unreachable={"ghcr": "could not be reached"})
    failure = defects_error(down)
    assert failure is not None
    assert "`publisher verify v9.9.9 --config m3.yaml`" in (failure.hint or ""), failure.hint


def test_audit_advice_carries_the_config_and_notes_dir() -> None:
    moved = rules.Finding(
        "hub", rules.MOVED, "v2.1.1-php-8.4", BLOB, "sha256:" + "b" * 64, "v2.1.1"
    )
    here = Locations(config="m3.yaml", notes_dir="notes")
    report = AuditReport(releases=("v2.1.1",), findings=[moved], locations=here)
    said = advice(acme_config(), report, repaired=False, locations=here)
    assert "`publisher audit --repair --config m3.yaml --notes-dir notes`" in said, said
    assert "`publisher republish v2.1.1 --reason ... --config m3.yaml --notes-dir notes`" in said


def test_an_audit_finding_names_the_rerun_with_the_run_s_locations() -> None:
    unrecorded = rules.Finding("hub", rules.UNRECORDED, "v1.0.0", None, None, "v1.0.0", "v1.0.0")
    here = Locations(config="m3.yaml")
    report = AuditReport(releases=(), findings=[unrecorded], locations=here)
    assert "(`publisher release v1.0.0 --config m3.yaml`)" in report.messages[0]
    assert "(`publisher release v1.0.0`)" in unrecorded.message
    document: Any = report.to_dict()
    assert "--config m3.yaml" in document["findings"][0]["message"]
    assert "locations" not in document["findings"][0]


def test_a_republish_stopped_half_way_is_rerun_with_its_own_lines_not_this_run_s() -> None:
    here = Locations(config="m3.yaml", release="v1.0.0", only=("8.3",))
    hint = halfway_republish_hint(["v1.0.0"], "no tag was written", here)
    assert "`publisher republish v1.0.0 --reason ... --config m3.yaml`, with the --only it had" in (
        hint
    ), hint


def test_a_command_to_paste_names_each_path_as_its_bytes_in_the_output_s_encoding() -> None:
    """A dry run's build commands on an ASCII stdout (LC_ALL=C, PYTHONIOENCODING=ascii):
    a path holding "é" or "—" is bash's $'...' with the character's UTF-8 bytes, which
    paste as that path in every locale, never '...\\u00e9...' (single quotes keep the
    escape as it is: a file that does not exist). On a UTF-8 stdout it is shown as it is.
    An invisible character is its UTF-8 bytes too: bash's \\u202e is text of its locale's
    (under LC_ALL=C, "\\u202E" itself)."""
    from publisher.core.locations import shell_command, shell_word

    argv = ["docker", "build", "-f", "/w/r\u00e9po\u2014x/Dockerfile", "it's"]
    assert shell_command(argv, "ascii") == (
        "docker build -f $'/w/r\\xc3\\xa9po\\xe2\\x80\\x94x/Dockerfile' 'it'\"'\"'s'"
    )
    assert shell_command(argv, "utf-8") == (
        "docker build -f '/w/r\u00e9po\u2014x/Dockerfile' 'it'\"'\"'s'"
    )
    assert shell_command(argv, "latin-1").split()[3] == "$'/w/r\u00e9po\\xe2\\x80\\x94x/Dockerfile'"
    assert shell_word("x\u202ey") == "$'x\\xe2\\x80\\xaey'"
    assert shell_word("x\udcff\n'") == "$'x\\xff\\n\\''"


def test_the_render_command_a_tip_names_follows_the_run_s_config_as_every_other_does() -> None:
    """The exit-14 tip of a rerun after the extensions changed names `publisher render`,
    then `publisher release vX.Y.Z`: both from the run's locations, so ./matrix.yaml given
    by its whole path (PUBLISHER_CONFIG) is left out of both, and another matrix is named
    in both as the run was given it. Without the run's locations (``render`` itself, a
    preflight), the matrix file's own path is named unless it is matrix.yaml."""
    from publisher.core.render import render_command
    from tests.support.matrices import acme_config

    config = dataclasses.replace(acme_config(), source="/work/m/matrix.yaml")
    at_default = Locations()  # what locations_of makes of ./matrix.yaml however written
    assert render_command(config, locations=at_default) == "publisher render"
    assert at_default.command("release", "v1.3.0") == "publisher release v1.3.0"
    given = Locations(config="m/matrix.yaml", notes_dir="notes", release="v1.3.0", only=("8.4",))
    assert render_command(config, "--check", locations=given) == (
        "publisher render --check --config m/matrix.yaml"
    )
    assert given.command("release", "v1.3.0") == (
        "publisher release v1.3.0 --config m/matrix.yaml --notes-dir notes --only 8.4"
    )
    rehearsal = dataclasses.replace(given, rehearsal=("release", "v1.3.0"))
    assert render_command(config, locations=rehearsal) == (
        "publisher render --config m/matrix.yaml"
    )
    assert render_command(config) == "publisher render --config /work/m/matrix.yaml"
