"""One mistake, one exit code: ``--only`` and ``PUBLISHER_PLATFORMS`` lists, digest records.

Every command that takes ``--only`` reads it the same way: an empty list or an
empty item is refused (never "all lines"), and a line the matrix or the release
does not have is bad input (exit 2). Overrides in the environment are exit 3.
A corrupt digest record is a corrupt input file, as a corrupt release record
(exit 3); a digest directory that cannot be read is exit 18.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.core import notes
from publisher.core.config import load
from tests.conftest import ROOT
from tests.support.matrices import acme_matrix
from tests.support.records import line_facts, release_facts

D = "sha256:" + "d" * 64
E = "sha256:" + "e" * 64

#: The commands that take --only, with what else each needs (RELEASE first).
COMMANDS = {
    "plan": ("plan", "v3.0.0"),
    "matrix": ("matrix", "v1.1.0", "--github"),
    "verify": ("verify", "v1.1.0"),
    "check-public": ("check-public", "v1.1.0"),
    "publish": ("publish", "v1.1.0", "--digests", "digests", "--dry-run"),
    "release": ("release", "v1.1.0", "--dry-run"),
    "republish": ("republish", "v1.1.0", "--reason", "CVE", "--dry-run"),
    "preflight": ("preflight",),
}


def record_of(release: str, lines: tuple[str, ...]) -> str:
    """A release record of the committed matrix.yaml's registries, with ``lines``."""
    cfg = load("matrix.yaml", {})
    facts = release_facts(
        (
            line_facts(
                php,
                release,
                digest=D,
                base_image="docker.io/library/php:{php}-fpm-alpine",
                base_digest=E,
                php_version=f"{php}.1",
            )
            for php in lines
        ),
        release,
        default_line=lines[0],
        published_at="2026-11-22T10:00:00Z",
        registries=[
            notes.RegistryFacts(r.name, r.repository.name, r.primary) for r in cfg.registries
        ],
    )
    return notes.release_json(facts, notes.SizeHistory())


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A notes directory where v1.1.0 was published with PHP 8.3 and 8.4 only."""
    notes_dir = tmp_path / "notes"
    notes_dir.mkdir()
    (notes_dir / "v1.1.0.json").write_text(record_of("v1.1.0", ("8.4", "8.3")))
    return notes_dir


def run(cli, command: str, *extra: str, notes_dir: Path | None = None, env=None):
    args = list(COMMANDS[command])
    if notes_dir is not None and command not in ("plan", "preflight"):
        args += ["--notes-dir", str(notes_dir)]
    return cli(*args, *extra, env=env)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("", "--only: an empty list; name at least one PHP line"),
        (" , ", "--only: ' , ' names no PHP line"),
        ("8.4,", "--only: '8.4,' has an empty item"),
        ("8.4,,8.3", "--only: '8.4,,8.3' has an empty item"),
        (",8.4", "--only: ',8.4' has an empty item"),
    ],
)
def test_an_empty_only_or_an_empty_item_is_refused_by_every_command(
    cli, published, command, given, said
):
    """`republish v1.1.0 --only "$LINES"` with an empty variable must not rebuild every line."""
    result = run(cli, command, "--only", given, notes_dir=published)
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Traceback" not in result.output


def test_an_empty_only_says_how_to_act_on_every_line(cli):
    result = cli("plan", "v3.0.0", "--only", "")
    assert "(empty never means all)" in result.output
    assert "tip: leave out --only to act on every PHP line" in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_line_the_matrix_does_not_have_is_bad_input_in_every_command(cli, published, command):
    """8.9 is in neither matrix.yaml nor the release: exit 2 everywhere, never 3."""
    result = run(cli, command, "--only", "8.9", notes_dir=published)
    assert result.exit_code == 2, result.output
    assert "--only: " in result.output
    assert "8.9" in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_only_given_twice_acts_on_both_lists_in_every_command(cli, published, command):
    """`--only 8.9 --only 8.4` is both lists, as `--only 8.9,8.4`: 8.9 is refused, never
    dropped in silence for the last value alone."""
    result = run(cli, command, "--only", "8.9", "--only", "8.4", notes_dir=published)
    assert result.exit_code == 2, result.output
    assert "--only: " in result.output and "8.9" in result.output
    result = run(cli, command, "--only", "8.4", "--only", "", notes_dir=published)
    assert result.exit_code == 2, result.output
    assert "--only: an empty list; name at least one PHP line" in result.output


def test_only_given_twice_plans_every_line_named(cli):
    result = cli("plan", "v3.0.0", "--only", "8.4", "--only", "8.3,8.4", "--json")
    assert result.exit_code == 0, result.output
    assert [line["php"] for line in json.loads(result.stdout)["lines"]] == ["8.3", "8.4"]


@pytest.mark.parametrize("command", ["matrix", "verify", "check-public", "publish"])
def test_a_line_the_release_does_not_have_is_bad_input_in_every_command(cli, published, command):
    """8.5 is configured, but v1.1.0 was published without it: exit 2, the same words."""
    result = run(cli, command, "--only", "8.4,8.5", notes_dir=published)
    assert result.exit_code == 2, result.output
    assert "usage error: --only: v1.1.0 has no PHP 8.5 (it was published with PHP 8.4, 8.3)" in (
        result.output
    )
    assert "a published release keeps its lines" in result.output


@pytest.mark.parametrize(
    "command", ["matrix", "verify", "check-public", "publish", "release", "republish"]
)
def test_a_line_neither_has_is_refused_naming_the_lines_of_the_release(
    cli, tmp_path, published, command
):
    """8.9 is in neither matrix.yaml nor v1.1.0: the refusal lists the lines the command
    can take (the release's), not matrix.yaml's (8.1, 8.2, 8.5 were never part of it)."""
    result = run(cli, command, "--only", "8.9", notes_dir=published)
    assert result.exit_code == 2, result.output
    assert "--only: v1.1.0 has no PHP 8.9 (it was published with PHP 8.4, 8.3)" in result.output
    assert "8.1" not in result.output and "8.5" not in result.output
    if command in ("verify", "check-public"):
        return
    # A recorded line matrix.yaml dropped cannot be rebuilt or published: not offered.
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    (dropped / "v1.1.0.json").write_text(record_of("v1.1.0", ("8.4", "7.4")))
    result = run(cli, command, "--only", "8.9", notes_dir=dropped)
    assert result.exit_code == 2, result.output
    assert "name lines of v1.1.0 that matrix.yaml has (PHP 8.4)" in result.output


@pytest.mark.parametrize("command", ["matrix", "publish", "release", "republish"])
def test_a_line_of_the_release_matrix_yaml_dropped_is_refused_naming_the_lines_it_can_take(
    cli, tmp_path, command
):
    """7.4 is a line of v1.1.0 that matrix.yaml no longer has: a rerun or republish cannot
    take it, and the refusal names the release's lines it can take, not matrix.yaml's
    (8.1, 8.2, 8.5 were never part of the release)."""
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    (dropped / "v1.1.0.json").write_text(record_of("v1.1.0", ("8.4", "7.4")))
    result = run(cli, command, "--only", "7.4", notes_dir=dropped)
    assert result.exit_code == 2, result.output
    assert "--only: v1.1.0's PHP 7.4 is no longer in matrix.yaml" in result.output
    assert "restore PHP 7.4 in matrix.yaml's lines" in result.output
    assert "name lines of v1.1.0 that matrix.yaml has (PHP 8.4)" in result.output
    assert "8.1" not in result.output and "8.5" not in result.output


def test_a_republish_of_a_release_with_a_line_matrix_yaml_dropped_spells_the_command(cli, tmp_path):
    """v1.1.0 was published with PHP 7.4, which matrix.yaml dropped since: a republish of
    every line is refused (exit 3), its tip spelling the command that republishes the
    others, with the --notes-dir this run was given."""
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    (dropped / "v1.1.0.json").write_text(record_of("v1.1.0", ("8.4", "7.4", "8.3")))
    result = run(cli, "republish", notes_dir=dropped)
    assert result.exit_code == 3, result.output
    assert "v1.1.0 was published with PHP 7.4, which matrix.yaml no longer has" in result.output
    said = " ".join(result.output.split())
    command = f'publisher republish v1.1.0 --reason "..." --only 8.4,8.3 --notes-dir {dropped}'
    assert f"or republish the others alone: `{command}`" in said, said


@pytest.mark.parametrize("command", ["verify", "check-public"])
def test_a_notes_dir_given_that_does_not_exist_is_refused_by_the_checks(cli, tmp_path, command):
    """verify and check-public judge a release by its record: a mistyped --notes-dir
    (in CI too) is refused as audit refuses it (exit 18, its words), never read as a
    release without a record, which turns the comparison with the record off."""
    missing = tmp_path / "mistyped"
    said = {}
    for args in (COMMANDS[command][:2], ("audit",)):
        result = cli(*args, "--notes-dir", str(missing))
        assert result.exit_code == 18, result.output
        said[args[0]] = result.output
    assert said[command] == said["audit"], said
    assert f"cannot read the release records: {missing} does not exist" in said[command]


@pytest.mark.parametrize("command", ["plan", "matrix"])
def test_a_notes_dir_that_does_not_exist_is_said(cli, tmp_path, command):
    """A mistyped --notes-dir must not pass silently for a release without a record:
    plan and matrix would show, and the build legs would build, today's matrix instead
    of the release's recorded lines."""
    missing = tmp_path / "mistyped"
    release = COMMANDS[command][:2]
    once = {"PUBLISHER_RETRY_ATTEMPTS": "1"}  # verify's reads of unreachable registries
    result = cli(*release, "--only", "8.4", "--notes-dir", str(missing), env=once)
    tag = release[1]
    assert f"--notes-dir {missing} does not exist: {tag} is read without its record" in (
        result.output
    )
    result = cli(*release, "--only", "8.4", "--notes-dir", str(tmp_path), env=once)
    assert "does not exist" not in result.output


def test_a_build_leg_of_a_line_the_release_does_not_have_names_php(cli, published, tmp_path):
    result = cli(
        "build",
        "v1.1.0",
        "--php",
        "8.5",
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(tmp_path / "d.json"),
        "--config",
        str(_matrix_beside(published, tmp_path)),
    )
    assert result.exit_code == 2, result.output
    assert "--php: v1.1.0 has no PHP 8.5" in result.output


def test_an_empty_php_of_a_build_leg_is_refused(cli, tmp_path):
    result = cli(
        "build", "v1.1.0", "--php", " ", "--platform", "linux/amd64", "--digest-file", "d.json"
    )
    assert result.exit_code == 2, result.output
    assert "--php is empty; name the PHP line to build, e.g. 8.4" in result.output


def _matrix_beside(notes_dir: Path, tmp_path: Path) -> Path:
    """A copy of the committed matrix whose release-notes/ is ``notes_dir`` (build reads it)."""
    root = tmp_path / "project"
    root.mkdir()
    text = Path("matrix.yaml").read_text(encoding="utf-8")
    (root / "matrix.yaml").write_text(text)
    (root / "dockerfiles").symlink_to(Path("dockerfiles").resolve())
    (root / "release-notes").symlink_to(notes_dir)
    return root / "matrix.yaml"


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("PUBLISHER_PLATFORMS", "linux/amd64,,linux/arm64", "has an empty item"),
        ("PUBLISHER_PLATFORMS", "linux/amd64,", "has an empty item"),
        ("PUBLISHER_PLATFORMS", ",", "',' names no platform"),
        ("PUBLISHER_LINES", "8.4,,8.5", "has an empty item"),
        ("PUBLISHER_LINES", "8.4,", "has an empty item"),
        ("PUBLISHER_LINES", " ,", "names no PHP line"),
    ],
)
def test_overrides_follow_the_same_rule_for_empty_items(cli, name, value, said):
    result = cli("plan", "v3.0.0", env={name: value})
    assert result.exit_code == 3, result.output
    assert f"environment: {name}: " in result.output
    assert said in result.output
    assert "unknown platform ''" not in result.output


def test_an_empty_override_is_the_same_as_none(cli):
    """An empty variable is unset (how CI passes an input nobody gave)."""
    result = cli("plan", "v3.0.0", "--json", env={"PUBLISHER_LINES": "", "PUBLISHER_PLATFORMS": ""})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["lines"]) == 5


@pytest.mark.parametrize("blank", [" ", "\t", " \r"])
def test_a_blank_override_is_the_same_as_none(cli, blank):
    """A variable of blanks only is unset too, as for every other setting publisher reads
    (PUBLISHER_BUILD_CACHE, PUBLISHER_RETRY_*) and as resolve reads one: the CR of an env
    file edited on Windows, a workflow's `${{ inputs.x }} ` are not a value."""
    names = (
        "PUBLISHER_LINES",
        "PUBLISHER_PLATFORMS",
        "PUBLISHER_BASE_MIRROR",
        "PUBLISHER_NAMESPACE",
    )
    result = cli("plan", "v3.0.0", "--json", env=dict.fromkeys(names, blank))
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert len(plan["lines"]) == 5
    assert plan["registries"][0]["repository"] == "docker.io/twentyi/php-fpm"


def test_a_release_the_override_leaves_no_line_of_is_an_override_error(cli, published):
    result = cli("matrix", "v1.1.0", "--notes-dir", str(published), env={"PUBLISHER_LINES": "8.5"})
    assert result.exit_code == 3, result.output
    assert "environment: PUBLISHER_LINES: none of the selected lines is part of v1.1.0" in (
        result.output
    )


@pytest.mark.parametrize("command", ["matrix", "verify", "check-public", "publish"])
def test_a_line_the_release_does_not_have_in_the_override_is_an_override_error(
    cli, published, command
):
    """PUBLISHER_LINES=8.4,8.5 for v1.1.0, published without 8.5: the same mistake as
    --only 8.4,8.5, so exit 3 naming the variable, never a warning and a run of 8.4 alone."""
    result = run(cli, command, notes_dir=published, env={"PUBLISHER_LINES": "8.4,8.5"})
    assert result.exit_code == 3, result.output
    assert (
        "environment: PUBLISHER_LINES: v1.1.0 has no PHP 8.5 (it was published with PHP 8.4, 8.3)"
    ) in result.output
    assert "a published release keeps its lines" in result.output
    # one registry attempt: check-public then reads registries the unit tests may not reach
    once = {"PUBLISHER_LINES": "8.4", "PUBLISHER_RETRY_ATTEMPTS": "1"}
    result = run(cli, command, notes_dir=published, env=once)
    assert "PUBLISHER_LINES" not in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_only_line_the_override_leaves_out_is_the_same_usage_error_in_every_command(
    cli, published, command
):
    """PUBLISHER_LINES=8.4 with --only 8.3, for v1.1.0 published with both: the two
    selections leave no line. Every command says so as `plan` does (exit 2, naming the
    variable), also verify and check-public, which read the release's record: never an
    override error (exit 3) saying none of the lines is part of the release, which both
    are."""
    result = run(cli, command, "--only", "8.3", notes_dir=published, env={"PUBLISHER_LINES": "8.4"})
    assert result.exit_code == 2, result.output
    assert "--only: 8.3 is left out by PUBLISHER_LINES=8.4 (lines it leaves: 8.4)" in (
        result.output
    )
    assert "none of the selected lines is part of" not in result.output


# --------------------------------------------------------------------------- digest records


def publish(cli, digests: Path, notes_dir: Path):
    return cli(
        "publish", "v1.2.0", "--digests", str(digests), "--notes-dir", str(notes_dir), "--dry-run"
    )


def test_a_digest_directory_that_cannot_be_read_is_a_file_error(cli, tmp_path):
    missing = tmp_path / "nonexistent"
    result = publish(cli, missing, tmp_path / "notes")
    assert result.exit_code == 18, result.output
    assert f"file error: cannot read the digest records: {missing} does not exist" in result.output
    assert "configuration error" not in result.output


def test_a_record_that_is_a_directory_is_a_file_error(cli, tmp_path):
    (tmp_path / "digests" / "8.4-linux-amd64.json").mkdir(parents=True)
    result = publish(cli, tmp_path / "digests", tmp_path / "notes")
    assert result.exit_code == 18, result.output
    assert "cannot read the digest record" in result.output


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"schema":1', "not valid JSON: Expecting ',' delimiter"),
        # cut short: the position json names is said, not left hanging on its "at"
        ('{"schema": 1, "release": "v1.', "Unterminated string starting at line 1, column 26"),
        ('{"schema": 1, "release": "v1.\x01"}', "Invalid control character at line 1, column 30"),
        ('{"schema": 1, "schema": 1}', "the key 'schema' appears twice in one object"),
        ('{"schema": 0}', "not a digest record of schema 1"),
        ('{"schema": true}', "not a digest record of schema 1"),  # true == 1 in Python
        ('{"schema": 1.0}', "not a digest record of schema 1"),
        ('{"schema": 1}', "digest record lacks base_digest, base_image, builder"),
        ("\xff", "not a digest record"),
        ("[" * 50_000, "not valid JSON: nested too deeply"),
        ("x" * 70_000, "larger than 64 KiB; not a digest record"),
    ],
)
def test_a_corrupt_digest_record_is_exit_3_as_a_corrupt_release_record(cli, tmp_path, text, said):
    digests = tmp_path / "digests"
    digests.mkdir()
    path = digests / "8.4-linux-amd64.json"
    path.write_text(text, encoding="latin-1")
    result = publish(cli, digests, tmp_path / "notes")
    assert result.exit_code == 3, result.output
    assert f"configuration error: {path}:" in result.output  # then its line and column, if any
    assert said in result.output
    assert "rerun that leg" in result.output


def test_a_digest_record_a_newer_publisher_wrote_is_refused_naming_it(cli, tmp_path):
    digests = tmp_path / "digests"
    digests.mkdir()
    path = digests / "8.4-linux-amd64.json"
    path.write_text('{"schema": 2, "release": "v1.0.0"}', encoding="utf-8")
    result = publish(cli, digests, tmp_path / "notes")
    assert result.exit_code == 3, result.output
    assert f"configuration error: {path}: schema:" in result.output
    assert "this digest record has schema 2, written by a newer publisher" in result.output
    assert "run the publisher version that wrote it" in result.output

    notes_dir = tmp_path / "notes"
    notes_dir.mkdir(exist_ok=True)
    (notes_dir / "v1.2.0.json").write_text('{"schema":1')
    result = publish(cli, digests, notes_dir)
    assert result.exit_code == 3, result.output  # the same class of mistake, the same code


def test_a_digest_record_field_of_the_wrong_type_is_named(cli, tmp_path):
    digests = tmp_path / "digests"
    digests.mkdir()
    fields = {
        "schema": 1,
        "release": "v1.2.0",
        "php": 8.4,
        "platform": "linux/amd64",
        "repository": "docker.io/acme/php",
        "digest": D,
        "base_image": "php:8.4-fpm-alpine",
        "base_digest": None,
        "builder": "buildah",
        "dockerfile_sha256": "sha256:" + "0" * 64,
    }
    path = digests / "8.4-linux-amd64.json"
    path.write_text(json.dumps(fields))
    result = publish(cli, digests, tmp_path / "notes")
    assert result.exit_code == 3, result.output
    assert f"{path}: php: expected a string, got a number" in result.output


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("base_digest", "x", "base_digest: 'x' is not a sha256 digest"),
        ("base_digest", "sha256:" + "D" * 64, f"base_digest: 'sha256:{'D' * 64}' is not a sha256"),
        ("base_image", "not a ref", "base_image: invalid image reference 'not a ref'"),
        # a Dockerfile's hash without its algorithm was refused later, as another Dockerfile
        ("dockerfile_sha256", "4eac" * 16, f"dockerfile_sha256: '{'4eac' * 16}' is not a sha256"),
        ("base_image", "", "base_image: invalid image reference '': the reference is empty"),
    ],
)
def test_a_digest_record_whose_base_publish_would_record_is_not_one_is_refused(
    cli, tmp_path, field, value, said
):
    """The base a record names goes into the release record and the pins file: one that is
    not a digest or an image reference is refused before anything is pushed, not written
    into a record every later command refuses as corrupt."""
    digests = tmp_path / "digests"
    digests.mkdir()
    fields = {
        "schema": 1,
        "release": "v1.2.0",
        "php": "8.4",
        "platform": "linux/amd64",
        "repository": "docker.io/acme/php",
        "digest": D,
        "base_image": "php:8.4-fpm-alpine",
        "base_digest": E,
        "builder": "buildah",
        "dockerfile_sha256": "sha256:" + "0" * 64,
        field: value,
    }
    path = digests / "8.4-linux-amd64.json"
    path.write_text(json.dumps(fields))
    result = publish(cli, digests, tmp_path / "notes")
    assert result.exit_code == 3, result.output
    assert f"configuration error: {path}: {said}" in " ".join(result.output.split())
    assert "rerun that leg" in result.output


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "v1.1.0"),
        ("check-public", "v1.1.0"),
        ("matrix", "v1.1.0"),
        ("audit",),
        ("republish-check",),
        ("publish", "v1.1.0", "--digests", "digests", "--dry-run"),
        ("release", "v1.1.0", "--dry-run"),
        ("republish", "v1.1.0", "--reason", "CVE", "--dry-run"),
    ],
)
@pytest.mark.parametrize("kind", ["a regular file", "a named pipe"])
def test_a_file_where_the_notes_directory_should_be_is_exit_18_in_every_command(
    cli, tmp_path, args, kind
):
    """As `--notes-dir FILE/sub` already was: one mistake, one code (not click's 2); the
    refusal says what stands there (README, exit 18: a pipe or device where a folder
    belongs), not "a file" for a pipe."""
    import os
    import stat

    plain = tmp_path / "notes"
    if kind == "a named pipe":
        os.mkfifo(plain)
    else:
        plain.write_text("")
    result = cli(*args, "--notes-dir", str(plain))
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"file error: --notes-dir {plain} is {kind}, not a directory" in said
    assert stat.S_ISFIFO(os.lstat(plain).st_mode) == (kind == "a named pipe")


def test_a_device_as_the_notes_directory_is_said_to_be_a_device(cli):
    """/dev/zero named where a folder belongs: refused (nothing written there) as the
    character device it is."""
    result = cli("audit", "--notes-dir", "/dev/zero")
    assert result.exit_code == 18, result.output
    assert "--notes-dir /dev/zero is a character device, not a directory" in result.output


def test_a_pipe_as_the_digest_records_directory_is_said_to_be_a_pipe(cli, tmp_path):
    import os

    fifo = tmp_path / "digests"
    os.mkfifo(fifo)
    result = cli("publish", "v1.1.0", "--digests", str(fifo), "--dry-run")
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"cannot read the digest records: {fifo} is a named pipe, not a directory" in said


@pytest.mark.parametrize("command", ["audit", "republish-check"])
def test_the_commands_that_read_records_need_their_directory(cli, tmp_path, command):
    """A missing --notes-dir is exit 18, as every missing input (README's exit codes). A
    directory that holds no record yet is no mistake: before the first release's notes
    are merged there is nothing to republish (which the weekly schedule asks then too):
    a warning, exit 0, and no registry is read (none answers here). audit reads the
    primary then, for the pins of a first release that stopped before its record:
    tests/integration/test_half_written_release.py."""
    missing = cli(command, "--notes-dir", str(tmp_path / "nowhere"))
    assert missing.exit_code == 18, missing.output
    flat = " ".join(missing.output.split())
    assert f"cannot read the release records: {tmp_path / 'nowhere'} does not exist" in flat
    if command == "republish-check":
        empty = cli(command, "--notes-dir", str(tmp_path))
        assert f"in {tmp_path}" in empty.output
        assert empty.exit_code == 0, empty.output
        assert empty.stdout.startswith("release=\nchanged=false\n")
        assert "warning: no stable release is recorded in" in empty.stderr
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text("utf-8"), "utf-8")
    (repo / "release-notes").write_text("")  # a file where the default directory belongs
    shadowed = cli(command, "--config", str(repo / "matrix.yaml"))
    assert shadowed.exit_code == 18, shadowed.output
    assert f"{repo / 'release-notes'} is a regular file, not a directory" in " ".join(
        shadowed.output.split()
    )


def test_a_file_where_the_digest_directory_should_be_is_exit_18(cli, tmp_path):
    plain = tmp_path / "file"
    plain.write_text("")
    result = publish(cli, plain, tmp_path / "notes")
    assert result.exit_code == 18, result.output
    assert (
        f"cannot read the digest records: {plain} is a regular file, not a directory"
        in " ".join(result.output.split())
    )


def test_a_directory_as_the_digest_file_of_a_build_leg_is_exit_18(cli, tmp_path):
    args = ("build", "v1.1.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file")
    result = cli(*args, str(tmp_path))
    assert result.exit_code == 18, result.output
    assert f"--digest-file {tmp_path} is a directory; nothing was built or pushed" in result.output
    assert f"{tmp_path}/8.4-linux-amd64.json" in result.output


def test_a_pipe_or_device_as_the_digest_file_of_a_build_leg_is_exit_18_and_left_alone(
    cli, tmp_path
):
    """README, exit 18: a pipe or device where a file belongs is refused (`build
    --digest-file`); the record is never renamed over it (`--digest-file /dev/null` run
    as root would otherwise replace /dev/null with a file)."""
    import os
    import stat

    fifo = tmp_path / "record.fifo"
    os.mkfifo(fifo)
    args = ("build", "v1.1.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file")
    result = cli(*args, str(fifo))
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"--digest-file {fifo} is a named pipe, not a regular file" in said
    assert "nothing was built or pushed" in said
    assert "digests/8.4-linux-amd64.json" in said
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_directory_as_the_matrix_file_is_exit_3_as_a_missing_one(cli, tmp_path):
    missing = cli("plan", "v1.0.0", "--config", str(tmp_path / "matrix.yaml"))
    assert missing.exit_code == 3, missing.output
    folder = cli("plan", "v1.0.0", "--config", str(tmp_path))
    assert folder.exit_code == 3, folder.output
    assert f"{tmp_path}: cannot read the configuration file: it is a directory" in folder.output
    assert "Errno" not in folder.output
    assert "--config matrix.yaml" in folder.output


@pytest.mark.parametrize("command", [*sorted(COMMANDS), "render", "audit"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_config_is_bad_input_naming_the_option(cli, command, value):
    args = COMMANDS.get(command, (command,))
    result = cli(*args, "--config", value)
    assert result.exit_code == 2, result.output
    assert "error: usage error: --config is empty" in result.output
    assert "leave --config out to read ./matrix.yaml" in result.output
    assert "directory" not in result.output and "not found" not in result.output


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_publisher_config_is_bad_input_naming_the_variable(cli, value):
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": value})
    assert result.exit_code == 2, result.output
    assert "error: usage error: PUBLISHER_CONFIG is set but empty" in result.output
    assert "unset it to read ./matrix.yaml" in result.output
    assert (
        cli("plan", "v1.0.0", "--config", "matrix.yaml", env={"PUBLISHER_CONFIG": value}).exit_code
        == 0
    )


@pytest.mark.parametrize("value", ["", " "])
def test_inspect_refuses_an_empty_publisher_config_before_any_request(cli, value):
    """inspect has no --config and reads PUBLISHER_CONFIG for credentials: set but empty
    is exit 2 there too (README, exit codes), not a silent read of ./matrix.yaml."""
    ref = "127.0.0.1:9/acme/php-fpm:v1.0.0-php-8.4"
    result = cli("inspect", ref, env={"PUBLISHER_CONFIG": value})
    assert result.exit_code == 2, result.output
    assert "error: usage error: PUBLISHER_CONFIG is set but empty" in result.output
    document = json.loads(cli("inspect", ref, "--json", env={"PUBLISHER_CONFIG": value}).stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 2, document
    assert cli("inspect", ref, "--offline", env={"PUBLISHER_CONFIG": value}).exit_code == 0


def test_a_matrix_file_that_is_not_utf8_is_exit_3_in_words(cli, tmp_path):
    """Named with the byte and where it is, and the tip says to save it as UTF-8: the
    user passed the matrix file (--config), which is not what the tip should send them
    to do again. A UTF-16 file (an editor's "Unicode") is said to be UTF-16."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_bytes(b"title: caf\xc3\xa9\nlines:\n  caf\xe9: {}\n")
    result = cli("plan", "v1.0.0", "--config", str(matrix))
    assert result.exit_code == 3, result.output
    assert (
        f"{matrix}:3:6: cannot read the configuration file: it is not UTF-8 text: it holds "
        "the byte 0xe9 there"
    ) in result.output
    assert "tip: save the matrix file as UTF-8 text" in result.output, result.output
    assert "codec" not in result.output
    matrix.write_bytes("title: x\n".encode("utf-16"))
    result = cli("plan", "v1.0.0", "--config", str(matrix))
    assert result.exit_code == 3, result.output
    assert "it is not UTF-8 text: it is UTF-16" in result.output, result.output
    assert "tip: save the matrix file as UTF-8 text" in result.output, result.output


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_release_notes_gh_release_cannot_read_are_exit_18(cli, tmp_path, make):
    notes_path = tmp_path / "v1.1.0.md"
    if make == "directory":
        notes_path.mkdir()
    result = cli("gh-release", "v1.1.0", "--notes", str(notes_path), env={"GITHUB_TOKEN": "x"})
    assert result.exit_code == 18, result.output
    assert str(notes_path) in result.output


def _build_leg_of_php_83(
    cli, tmp_path: Path, platform: str, digest_file: Path, env: dict[str, str] | None = None
):
    """``publisher build v2.0.0 --php 8.3 --platform PLATFORM --digest-file DIGEST_FILE``
    with a matrix that builds PHP 8.3 for linux/amd64 alone."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(acme_matrix(line_platforms={"8.3": ["linux/amd64"]}))
    return cli(
        "build", "v2.0.0", "--php", "8.3", "--platform", platform,
        "--digest-file", str(digest_file), "--config", str(matrix), env=env,
    )  # fmt: skip


def test_a_build_leg_of_a_platform_the_line_is_not_built_for_is_refused_before_any_request(
    cli, tmp_path
):
    result = _build_leg_of_php_83(cli, tmp_path, "linux/arm64", tmp_path / "d.json")
    assert result.exit_code == 2, result.output  # no builder or registry was asked
    assert "--platform: PHP 8.3 is not built for linux/arm64; configured: linux/amd64" in (
        result.output
    )
    # the matrix it suggests reads the --config given, not ./matrix.yaml
    matrix = tmp_path / "matrix.yaml"
    assert f"`publisher matrix v2.0.0 --config {matrix}` lists every leg" in result.output


@pytest.mark.parametrize(
    ("refusal", "code"),
    [("platform", 2), ("tmpdir", 18)],
)
def test_a_build_leg_refused_before_its_record_leaves_no_directory_for_it(
    cli, tmp_path, refusal, code
):
    """--digest-file's directory is proven writable, not made: it is made with the
    record, so a leg refused (or interrupted) before it has one to write leaves no
    empty directory behind."""
    digests = tmp_path / "digests" / "8.3"
    env = {"TMPDIR": str(tmp_path / "no-such-tmp")} if refusal == "tmpdir" else None
    platform = "linux/arm64" if refusal == "platform" else "linux/amd64"
    result = _build_leg_of_php_83(cli, tmp_path, platform, digests / "d.json", env=env)
    assert result.exit_code == code, result.output
    assert not (tmp_path / "digests").exists()


def test_a_build_leg_whose_digest_directory_cannot_be_made_is_exit_18_before_anything(
    cli, tmp_path
):
    (tmp_path / "file").write_text("")
    digests = tmp_path / "file" / "digests"
    # linux/arm64: a refusal that would come later
    result = _build_leg_of_php_83(cli, tmp_path, "linux/arm64", digests / "d.json")
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"the digest record's directory {digests} is not writable" in said
    assert "a regular file stands where a directory is needed" in said
    assert (tmp_path / "file").is_file()


def test_only_warns_about_no_line_it_leaves_out(published):
    """v1.1.0 has PHP 8.4 and 8.3; matrix.yaml also has 8.1, 8.2 and 8.5. `--only 8.4`
    reads 8.4 alone, and says nothing about the lines it did not select."""
    import io

    from publisher.adapters.output import Output
    from publisher.core.version import parse_release
    from publisher.stages.verify import load_published

    said = io.StringIO()
    output = Output({}, stream=said, err_stream=said)
    cfg = load("matrix.yaml", {})
    release = parse_release("v1.1.0")
    chosen, record = load_published(cfg, published, release, output, ("8.4",))
    assert record is not None and chosen.line_names == ("8.4",)
    assert "has no PHP" not in said.getvalue(), said.getvalue()
    everything, _ = load_published(cfg, published, release, output)
    assert "v1.1.0 has no PHP 8.1, 8.2, 8.5" in said.getvalue()
    assert set(everything.line_names) == {"8.3", "8.4"}


def test_plan_of_a_published_release_keeps_its_recorded_default_line_and_lines(cli, tmp_path):
    """v1.1.0 was published with PHP 8.3 (its default line) and 8.4; matrix.yaml now has
    8.1 to 8.5 with default line 8.4. The plan a republish workflow prints first must
    say what the republish writes: vX.Y.Z and latest stay on 8.3, and no other line."""
    (tmp_path / "v1.1.0.json").write_text(record_of("v1.1.0", ("8.3", "8.4")))
    result = cli("plan", "v1.1.0", "--json", "--notes-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["default_line"] == "8.3"
    assert sorted(line["php"] for line in planned["lines"]) == ["8.3", "8.4"]
    assert "v1.1.0 was published with default line 8.3" in " ".join(result.stderr.split())
    table = " ".join(cli("plan", "v1.1.0", "--notes-dir", str(tmp_path)).output.split())
    assert "Release v1.1.0 (stable); default line 8.3" in table
    # A new release is planned from today's matrix.yaml.
    fresh = json.loads(cli("plan", "v1.2.0", "--json", "--notes-dir", str(tmp_path)).stdout)
    assert fresh["default_line"] == "8.4" and len(fresh["lines"]) == 5


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "v1.1.0"),
        ("republish-check",),
        ("publish", "v1.1.0", "--digests", "DIR/digests"),
    ],
    ids=lambda args: args[0],
)
def test_a_record_a_newer_publisher_wrote_stops_every_command_before_the_registries(
    cli, tmp_path, args
):
    """Refused before any registry is asked (the unit tests' guard fails any socket a
    command would open before), so nothing is built, pushed or moved; release and
    republish, which check their builder first, are in tests/integration/test_record_skew.py.
    audit audits the other records and names it (exit 3 all the same):
    tests/integration/test_record_scope.py."""
    notes_dir = tmp_path / "notes"
    notes_dir.mkdir()
    record = notes_dir / "v1.1.0.json"
    record.write_text(record_of("v1.1.0", ("8.4", "8.3")).replace('"schema": 1', '"schema": 2'))
    (tmp_path / "digests").mkdir()
    args = tuple(arg.replace("DIR", str(tmp_path)) for arg in args)
    result = cli(*args, "--notes-dir", str(notes_dir))
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert f"{record}: schema: this release record has schema 2, written by a newer" in flat
    assert "run the publisher version that wrote it" in flat


def test_a_dangling_link_as_the_digest_file_of_a_build_leg_is_exit_18_and_left_alone(cli, tmp_path):
    """A --digest-file that is a symbolic link to nowhere is refused before anything is
    built, naming where it points: the record would be renamed over the link (never
    written where it points), after a whole build."""
    import os

    link = tmp_path / "8.4-linux-amd64.json"
    link.symlink_to(tmp_path / "gone" / "record.json")
    args = ("build", "v1.1.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file")
    result = cli(*args, str(link))
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"--digest-file {link} is a dangling symbolic link (to {tmp_path}/gone/" in said
    assert "nothing was built or pushed" in said and "remove the link" in said
    assert "Build PHP" not in said
    assert os.readlink(link) == str(tmp_path / "gone" / "record.json")


def test_a_digest_file_that_is_a_link_is_written_where_it_points(tmp_path):
    """A --digest-file that is a symbolic link to a file: the record is written to that
    file (atomically, in its own directory), and the link stays a link; the rename
    replaced the link by a regular file, leaving the file it pointed to as it was."""
    import os

    from publisher.cli.release_cmds import check_digest_file
    from publisher.core.fileio import write_atomic

    (tmp_path / "kept").mkdir()
    target = tmp_path / "kept" / "record.json"
    target.write_text("{}\n")
    link = tmp_path / "8.4-linux-amd64.json"
    link.symlink_to("kept/record.json")
    written = check_digest_file(link, "8.4-linux-amd64.json")
    assert written == target
    write_atomic(written, "new\n")
    assert os.readlink(link) == "kept/record.json" and target.read_text() == "new\n"
    plain = tmp_path / "plain.json"
    assert check_digest_file(plain, "plain.json") == plain  # a new file: as given


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "v1.0.0"),
        ("render", "--check"),
        ("audit",),
        ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", "d.json"),
        ("publish", "v1.0.0", "--digests", "d", "--dry-run", "--config", str(ROOT / "matrix.yaml")),
        ("audit", "--notes-dir", "n", "--config", str(ROOT / "matrix.yaml")),
        ("plan", "v1.0.0", "--notes-dir", "n", "--config", str(ROOT / "matrix.yaml")),
        ("matrix", "v1.0.0", "--notes-dir", "n", "--config", str(ROOT / "matrix.yaml")),
    ],
    ids=[
        "plan",
        "render",
        "audit",
        "build",
        "publish --digests",
        "audit --notes-dir",
        "plan --notes-dir",  # it only warned "n does not exist"
        "matrix --notes-dir",
    ],
)
def test_a_removed_current_directory_is_said_so_with_a_tip(tmp_path, monkeypatch, args):
    """Run from a directory removed after the shell entered it, a command that needs a
    relative path said "cannot use a file or directory: No such file or directory",
    naming nothing: it says the current directory no longer exists, and to cd again."""
    from click.testing import CliRunner

    from publisher.cli import main

    gone = tmp_path / "checkout"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    if args[0] == "build":
        args = (*args, "--config", str(ROOT / "matrix.yaml"))
    result = CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)
    assert result.exit_code == 18, result.output
    said = " ".join(result.stderr.split())
    assert "the current directory no longer exists" in said, said
    assert "tip: cd to the checkout again" in said, said
    assert "Traceback" not in said


def test_a_link_loop_as_the_digest_file_or_the_template_is_said_as_one(cli, tmp_path):
    """A --digest-file or a template that is a symbolic link loop is exit 18, said as a
    loop (not as a link to nowhere, nor as a template to put at that same path)."""
    loop = tmp_path / "loop1.json"
    loop.symlink_to(tmp_path / "loop2.json")
    (tmp_path / "loop2.json").symlink_to(loop)
    args = ("build", "v1.1.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file")
    result = cli(*args, str(loop))
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"--digest-file {loop} is a symbolic link loop (a link that leads back" in said
    assert "dangling" not in said
    matrix = tmp_path / "matrix.yaml"
    text = (ROOT / "examples/offline/matrix.yaml").read_text(encoding="utf-8")
    matrix.write_text(
        text.replace("template: ../../dockerfiles/Dockerfile.j2", f"template: {loop}")
    )
    (tmp_path / "dockerfiles").symlink_to(ROOT / "examples/offline/dockerfiles")
    result = cli("render", "--check", "--config", str(matrix))
    assert result.exit_code == 18, result.output
    said = " ".join(result.output.split())
    assert f"{loop}: it is a symbolic link loop (a link that leads back" in said, said
    assert "Too many levels" not in said and "put the Dockerfile template at" not in said
