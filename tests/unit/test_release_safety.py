"""What protects a published release: the size history reader, the republish
refusal of a release never published, and the wording of the dry run's tag moves."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.core import notes
from publisher.core.errors import ConfigError, FileAccessError, UsageError
from publisher.core.publish_plan import TagMove
from publisher.core.version import parse_release
from publisher.stages.publish import PENDING_DIR, load_release, republish_config, select_release
from publisher.stages.release import keep_records
from tests.support.fake_registry import FakeRegistryClient
from tests.support.matrices import acme_config
from tests.support.records import line_facts, release_facts, write_record

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
GOOD = {
    "schema": 1,
    "releases": {
        "v1.0.0": {"8.4": {"linux/amd64": 90_000_000, "linux/arm64": 94_000_000}},
        "v1.1.0-rc.1": {"8.3": {"linux/amd64": 1}},
    },
}

# --------------------------------------------------------------------------- size history


def test_a_size_history_round_trips_and_a_missing_one_is_empty(tmp_path: Path) -> None:
    history = notes.parse_size_history(json.dumps(GOOD), "h.json")
    assert history.sizes == GOOD["releases"]
    assert notes.parse_size_history(history.to_json(), "h.json") == history
    assert notes.load_size_history(tmp_path) == notes.SizeHistory()
    (tmp_path / "size-history.json").write_text(history.to_json())
    assert notes.load_size_history(tmp_path) == history


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("[]", None, "expected an object, got an array"),
        ('{"schema": 0, "releases": {}}', "schema", "is not one this publisher reads"),
        ('{"schema": true, "releases": {}}', "schema", "is not one this publisher reads"),
        ('{"schema": 1}', "releases", "missing"),
        ('{"releases": ["v1.1.0"]}', "releases", "expected an object, got an array"),
        ('{"releases": {"1.0": {}}}', 'releases["1.0"]', "is not a release tag"),
        ('{"releases": {"v1.0.0": null}}', 'releases["v1.0.0"]', "got null"),
        ('{"releases": {"v1.0.0": {"eight": {}}}}', 'releases["v1.0.0"]["eight"]', "PHP line"),
        ('{"releases": {"v1.0.0": {"8.4": 5}}}', 'releases["v1.0.0"]["8.4"]', "got a whole number"),
        (
            '{"releases": {"v1.0.0": {"8.4": {"linux/amd64": "big"}}}}',
            'releases["v1.0.0"]["8.4"]["linux/amd64"]',
            "expected a size in bytes",
        ),
        (
            '{"releases": {"v1.0.0": {"8.4": {"linux/amd64": -1}}}}',
            'releases["v1.0.0"]["8.4"]["linux/amd64"]',
            "expected a size in bytes",
        ),
        (
            '{"releases": {"v1.0.0": {"8.4": {"linux/amd64": true}}}}',
            'releases["v1.0.0"]["8.4"]["linux/amd64"]',
            "expected a size in bytes",
        ),
    ],
)
def test_a_misshapen_size_history_is_a_located_error(
    text: str, field: str | None, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        notes.parse_size_history(text, "notes/size-history.json")
    error = caught.value
    assert error.exit_code == 3
    assert error.source == "notes/size-history.json" and error.field == field
    assert message in error.problem
    assert error.hint and "restore it from git history" in error.hint


def test_invalid_json_names_the_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "size-history.json").write_text('{"schema": 1,\n "releases": {')
    with pytest.raises(ConfigError) as caught:
        notes.load_size_history(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'size-history.json'}:2:")
    assert "not valid JSON" in str(caught.value)


def test_undecodable_oversized_and_unreadable_histories_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "size-history.json"
    path.write_bytes(b'{"releases": {"\xff": {}}}')
    with pytest.raises(ConfigError, match="not UTF-8"):
        notes.load_size_history(tmp_path)
    path.write_text(" " * (notes.MAX_HISTORY_BYTES + 1))
    with pytest.raises(ConfigError, match="larger than"):
        notes.load_size_history(tmp_path)
    path.unlink()
    path.mkdir()
    with pytest.raises(FileAccessError) as caught:
        notes.load_size_history(tmp_path)
    assert caught.value.exit_code == 18 and "size history" in str(caught.value)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        notes.parse_size_history('{"releases": {}, "releases": {"v1.0.0": {}}}', "h.json")


def test_from_json_validates_too() -> None:
    assert notes.SizeHistory.from_json("") == notes.SizeHistory()
    with pytest.raises(ConfigError):
        notes.SizeHistory.from_json('{"releases": ["v1.0.0"]}')


# --------------------------------------------------------------------------- republish


def record(release: str = "v1.0.0") -> notes.ReleaseFacts:
    """``release``'s record: PHP 8.4 on linux/amd64, published to the hub."""
    line = line_facts(
        "8.4",
        release,
        digest=D,
        base_image="docker.io/library/php:{php}-fpm-alpine",
        base_digest=E,
        php_version="8.4.12",
    )
    return release_facts([line], release)


def quiet() -> tuple[Output, io.StringIO]:
    err = io.StringIO()
    return Output(env={}, stream=io.StringIO(), err_stream=err), err


def test_a_republish_of_a_release_never_published_is_refused() -> None:
    config = acme_config()
    out, _ = quiet()
    with pytest.raises(UsageError) as caught:
        republish_config(
            config, parse_release("v7.0.0"), None, set(), Path("notes"), out, primary=_held()
        )
    error = caught.value
    assert error.exit_code == 2
    assert "nothing to republish" in str(error) and "notes/v7.0.0.json" in str(error)
    assert f"v7.0.0-php-{config.line_names[0]}" in str(error)
    assert error.hint and "publisher release v7.0.0" in error.hint
    # `publish --reason` refuses it after the legs pushed their images: it says only what
    # it knows, that it wrote no tag; `republish`, before its builds, says more
    assert str(error).endswith("; no tag was written"), str(error)
    with pytest.raises(UsageError) as before:
        republish_config(
            config,
            parse_release("v7.0.0"),
            None,
            set(),
            Path("notes"),
            out,
            primary=_held(),
            said="nothing was built or pushed",
        )
    assert str(before.value).endswith("; nothing was built or pushed"), str(before.value)


def test_a_recorded_release_is_republished_as_recorded_whatever_the_pins() -> None:
    config = acme_config()
    out, err = quiet()
    kept = republish_config(
        config, parse_release("v1.0.0"), record(), set(), Path("n"), out, primary=_held()
    )
    assert kept is config and err.getvalue() == ""


def test_without_a_record_the_pins_say_which_lines_are_republished() -> None:
    config = acme_config()
    assert len(config.line_names) > 1
    out, err = quiet()
    pins = [f"v1.0.0-php-{php}" for php in config.line_names]
    every = republish_config(
        config,
        parse_release("v1.0.0"),
        None,
        set(config.line_names),
        Path("n"),
        out,
        primary=_held(*pins),
    )
    assert every.line_names == config.line_names
    assert "no release record for v1.0.0" in err.getvalue()
    some = republish_config(
        config,
        parse_release("v1.0.0"),
        None,
        {config.line_names[-1]},
        Path("n"),
        out,
        primary=_held(pins[-1]),
    )
    assert some.line_names == (config.line_names[-1],)
    assert f"no pin for PHP {config.line_names[0]}" in err.getvalue()


def test_without_a_record_a_pin_of_a_line_matrix_yaml_dropped_refuses_the_republish() -> None:
    """Its record would be written without that line: refused before anything is
    written, naming the line, its pin and the ways out; a line matrix.yaml has but the
    run does not select (--only) is kept from its pin instead."""
    config = acme_config()  # PHP 8.3 and 8.4
    out, _ = quiet()
    primary = _held("v1.0.0-php-8.1", "v1.0.0-php-8.3", "v1.0.0-php-8.4", "v1.0.0")
    with pytest.raises(UsageError) as caught:
        republish_config(
            config,
            parse_release("v1.0.0"),
            None,
            {"8.3", "8.4"},
            Path("notes"),
            out,
            primary=primary,
            said="nothing was built or pushed",
        )
    error = caught.value
    assert error.exit_code == 2
    assert str(error) == (
        "v1.0.0 has no release record (notes/v1.0.0.json) and hub holds its pin "
        "v1.0.0-php-8.1 of PHP 8.1, which matrix.yaml no longer has: its republish would "
        "record v1.0.0 without that line; nothing was built or pushed"
    )
    assert error.hint and "`git show v1.0.0:matrix.yaml`" in error.hint
    assert "--notes-dir" in error.hint
    narrowed = republish_config(
        config.select(("8.4",)),
        parse_release("v1.0.0"),
        None,
        {"8.4"},
        Path("notes"),
        out,
        primary=_held("v1.0.0-php-8.3", "v1.0.0-php-8.4", "v1.0.0"),
    )
    assert narrowed.line_names == ("8.4",)


def _held(*tags: str) -> FakeRegistryClient:
    """The primary registry, holding ``tags``."""
    return FakeRegistryClient(tags=tags)


# --------------------------------------------------------------------------- tag moves


def test_a_new_pin_is_created_not_unchanged() -> None:
    pending = TagMove("hub", "v1.1.0-php-8.4", None, None, "pin")
    assert pending.changes and pending.effect == "created"
    new = TagMove("hub", "v1.1.0-php-8.4", None, D, "pin")
    assert new.changes and new.effect == "created"
    moved = TagMove("hub", "php-8.4", D, E, "floating")
    assert moved.changes and moved.effect == "moves"
    later = TagMove("hub", "php-8.4", D, None, "floating")
    assert later.changes and later.effect == "set after the builds"
    same = TagMove("hub", "v1.0.0-php-8.4", D, D, "pin")
    assert not same.changes and same.effect == "unchanged"


# --------------------------------------------------------------------------- rehearsals


@pytest.mark.parametrize(
    ("dry_run", "said"),
    [(False, "and replaces those notes"), (True, "would replace those notes (this dry run")],
)
def test_a_rehearsal_of_a_tag_rehearsed_before_says_what_becomes_of_its_notes(
    tmp_path: Path, dry_run: bool, said: str
) -> None:
    """A dry run writes nothing, so it does not say it replaces the earlier notes. Said
    as the run's progress, on stderr: stdout carries the rehearsal's result alone."""
    write_record(tmp_path, record())
    config = acme_config()
    stdout, stream = io.StringIO(), io.StringIO()
    out = Output(env={}, stream=stdout, err_stream=stream)
    kept, earlier = load_release(
        config, tmp_path, parse_release("v1.0.0"), out, rehearsal=True, dry_run=dry_run
    )
    assert kept is config and earlier is None  # starts afresh from today's matrix
    text = " ".join(stream.getvalue().split())
    assert "v1.0.0 was rehearsed before" in text and said in text
    assert ("would replace" in text) is dry_run
    assert stdout.getvalue() == ""


def test_a_command_with_only_reads_the_release_record_once(tmp_path: Path) -> None:
    """--only is checked against the record, and the release is then loaded from the
    same read: a record that changes between the two (here: broken) is not read again."""
    write_record(tmp_path, record())
    version = parse_release("v1.0.0")
    selected, read = select_release(acme_config(), ("8.4",), tmp_path, version)
    (tmp_path / "v1.0.0.json").write_text("{")
    out, _ = quiet()
    _config, facts = load_release(selected, tmp_path, version, out, record=read)
    assert facts == record()
    with pytest.raises(ConfigError):  # read anew, it would be refused
        load_release(selected, tmp_path, version, out)


# --------------------------------------------------------------------------- digest records


def test_a_record_a_killed_run_left_half_written_does_not_fail_a_later_release(
    tmp_path: Path,
) -> None:
    """A run killed while writing a record leaves write_atomic's temporary file among the
    pending records; the next release, which succeeded, keeps its records and does not
    fail on that file (nor would any rerun)."""
    digests = tmp_path / "digests"
    pending = digests / PENDING_DIR
    pending.mkdir(parents=True)
    # the temporary file as write_atomic names it, as SIGKILL leaves it
    fd, _ = tempfile.mkstemp(prefix=".8.4-linux-amd64.json.", suffix=".tmp", dir=pending)
    os.close(fd)
    (pending / "8.4-linux-amd64.json").write_text("{}", encoding="utf-8")
    keep_records(pending, digests, ["8.4-linux-amd64.json"])
    assert (digests / "8.4-linux-amd64.json").read_text(encoding="utf-8") == "{}"
    assert not pending.exists()


def test_a_release_conflict_lists_its_first_pins_and_how_many_more_and_its_json_every_one() -> None:
    """A refusal meeting 15 pins that hold other content names the first 12 and says
    3 more, so the terminal is not flooded; its JSON error's message lists all 15, and
    its other members are the usual ones."""
    from publisher.core.publish_plan import Conflict
    from publisher.stages.publish import conflict_error

    conflicts = [
        Conflict(f"PHP 8.{n}: v1.0.0-php-8.{n} is sha256:{n:064x} on hub, expected sha256:{0:064x}")
        for n in range(15)
    ]
    error = conflict_error(parse_release("v1.0.0"), conflicts, ())
    shown = error.message.splitlines()
    assert shown[0] == "release v1.0.0 is already published with other content:"
    assert shown[1:13] == [f"  - {c.message}" for c in conflicts[:12]]
    assert shown[13:] == ["  - and 3 more"]
    document = error.to_dict()
    assert sorted(document) == ["exit_code", "hint", "kind", "message"]
    assert document["message"] == "\n  - ".join(
        ["release v1.0.0 is already published with other content:"] + [c.message for c in conflicts]
    )
    assert error.exit_code == 14 and "publisher republish v1.0.0" in str(document["hint"])


# --------------------------------------------------------------------------- half-pinned


def test_a_release_half_pinned_after_a_narrowed_run_is_finished_with_its_only() -> None:
    """v1.2.0's pins are missing from ghcr; the primary holds v1.2.0 and PHP 8.4's pin
    only, of matrix.yaml's 8.4 and 8.5 (``plan.started_with``: a run narrowed to 8.4): the
    tip names the rerun with --only 8.4, never the plain rerun, which would add 8.5 to it
    for good. A release that started with every line gets the plain rerun."""
    from publisher.core.plan import started_with
    from publisher.stages.publish import unfinished_words

    narrowed = started_with("v1.2.0", ["v1.2.0", "v1.2.0-php-8.4"], ["8.4", "8.5"])
    assert narrowed is not None
    said = unfinished_words({"v1.2.0": ("ghcr",)}, started={"v1.2.0": narrowed})
    assert "`publisher release v1.2.0 --only 8.4`" in said, said
    assert "`publisher release v1.2.0`" not in said, said
    plain = unfinished_words({"v1.2.0": ("ghcr",)})
    assert "`publisher release v1.2.0`" in plain, plain
