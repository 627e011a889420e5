"""Hostile or mistyped input becomes a located, actionable error, never an internal error.

Each case comes from an outside black-box test: environment variables (retry bounds,
GITHUB_API_URL, SOURCE_DATE_EPOCH), line selections (--only, --php, PUBLISHER_LINES),
matrix values that reach the Dockerfile, deep YAML and failing templates.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core import config, smoke_rules
from publisher.core.errors import ConfigError, FileAccessError, ToolMissingError, UsageError
from publisher.core.fileio import ensure_writable
from publisher.core.retry import RetryPolicy
from tests.support.matrices import acme_matrix


def gh_release(cli, tmp_path, env: dict[str, str | None], *args: str, write_notes: bool = True):
    """``publisher gh-release v1.0.0 --repo a/b --notes tmp_path/v1.0.0.md ARGS`` with only
    ``env``; the notes are written first unless ``write_notes`` is false (the test made them)."""
    notes = tmp_path / "v1.0.0.md"
    if write_notes:
        notes.write_text("notes\n")
    return cli("gh-release", "v1.0.0", "--repo", "a/b", "--notes", str(notes), *args, env=env)


def assert_usage_error(result, *words: str) -> None:
    """Exit 2, one located message naming ``words``, no internal error."""
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


# ------------------------------------------------------------ retry bounds (item 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUBLISHER_RETRY_MAX_DELAY", "nan"),
        ("PUBLISHER_RETRY_MAX_DELAY", "inf"),
        ("PUBLISHER_RETRY_INITIAL_DELAY", "1e308"),
        ("PUBLISHER_RETRY_INITIAL_DELAY", "-1"),
        ("PUBLISHER_RETRY_TOTAL_TIMEOUT", "-inf"),
        ("PUBLISHER_RETRY_TOTAL_TIMEOUT", "0"),
        ("PUBLISHER_RETRY_ATTEMPTS", "0"),
        ("PUBLISHER_RETRY_ATTEMPTS", "100000"),
        ("PUBLISHER_RETRY_ATTEMPTS", "2.5"),
        ("PUBLISHER_RETRY_ATTEMPTS", "many"),
        ("PUBLISHER_RETRY_ATTEMPTS", "1_0"),  # Python's int() reads 10
        ("PUBLISHER_RETRY_ATTEMPTS", "\u0665"),  # ARABIC-INDIC DIGIT FIVE: int() reads 5
        ("PUBLISHER_RETRY_INITIAL_DELAY", "0_5"),
        ("PUBLISHER_RETRY_TOTAL_TIMEOUT", "\uff11\uff10"),  # full-width 10
        ("PUBLISHER_RETRY_ATTEMPTS", "+3"),  # int() reads 3
        ("PUBLISHER_RETRY_MAX_DELAY", "1e1"),  # float() reads 10.0
        ("PUBLISHER_REQUEST_TIMEOUT", "0"),
        ("PUBLISHER_REQUEST_TIMEOUT", "0.5"),  # below a second: no registry answers so soon
        ("PUBLISHER_REQUEST_TIMEOUT", "601"),
        ("PUBLISHER_REQUEST_TIMEOUT", "30s"),
    ],
)
def test_retry_variables_outside_their_range_are_usage_errors(name, value):
    with pytest.raises(UsageError) as caught:
        RetryPolicy.from_env({name: value})
    err = caught.value
    assert err.exit_code == 2
    assert name in err.message and repr(value) in err.message
    assert err.hint is not None and name in err.hint and " to " in err.hint  # the range


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("PUBLISHER_REQUEST_TIMEOUT", "-5", "a number from 1 to 600 seconds"),
        ("PUBLISHER_RETRY_MAX_DELAY", "-1", "a number from 0 to 3600 seconds"),
        ("PUBLISHER_RETRY_ATTEMPTS", "-3", "a whole number from 1 to 100"),
        ("PUBLISHER_RETRY_INITIAL_DELAY", "-0.5", "a number from 0 to 600 seconds"),
    ],
)
def test_a_negative_retry_setting_is_out_of_range_not_a_number_refused(name, value, hint):
    """'-5' is a number: said out of range, as '0' is, with the range in the tip."""
    with pytest.raises(UsageError) as caught:
        RetryPolicy.from_env({name: value})
    assert caught.value.message == f"{name}={value!r} is out of range"
    assert caught.value.hint == f"set {name} to {hint}, or unset it"


def test_a_negative_stay_up_window_is_out_of_range_too():
    with pytest.raises(UsageError) as caught:
        smoke_rules.stay_up({"PUBLISHER_SMOKE_STAY_UP": "-1"})
    assert caught.value.message == "PUBLISHER_SMOKE_STAY_UP='-1' is out of range"


@pytest.mark.parametrize("value", ["-0", "-00", "-0.0"])
def test_a_minus_zero_is_zero(value):
    """A sign before a zero delay changes nothing: taken as 0, never as -0.0."""
    policy = RetryPolicy.from_env({"PUBLISHER_RETRY_INITIAL_DELAY": value})
    assert str(policy.initial_delay) == "0.0"


@pytest.mark.parametrize("value", ["-", "--1", "-+1", "- 1", "-x", "-1e1"])
def test_a_minus_before_no_number_is_not_a_number(value):
    with pytest.raises(UsageError, match="is not a number"):
        RetryPolicy.from_env({"PUBLISHER_RETRY_MAX_DELAY": value})


def test_retry_variables_in_range_are_taken():
    policy = RetryPolicy.from_env(
        {
            "PUBLISHER_RETRY_ATTEMPTS": "100",
            "PUBLISHER_RETRY_INITIAL_DELAY": "0",
            "PUBLISHER_RETRY_MAX_DELAY": "3600",
            "PUBLISHER_RETRY_TOTAL_TIMEOUT": " 86400 ",
            "PUBLISHER_REQUEST_TIMEOUT": "2.5",
        }
    )
    assert (policy.attempts, policy.initial_delay, policy.max_delay) == (100, 0.0, 3600.0)
    assert policy.total_timeout == 86400.0
    assert policy.request_timeout == 2.5 and RetryPolicy.from_env({}).request_timeout == 30.0


@pytest.mark.parametrize(
    "value", ["0", "0.5", "601", "-1", "abc", "nan", "inf", "1e1", "+3", "1_0", "\uff15", "5 s"]
)
def test_a_stay_up_window_outside_its_range_is_refused_before_anything_runs(cli, value):
    """A dry run refuses it as the real run would (exit 2, naming the variable and the
    range); ``--no-smoke`` runs no smoke test, so it does not read it."""
    env = {"PUBLISHER_SMOKE_STAY_UP": value}
    result = cli("release", "v1.0.0", "--dry-run", env=env)
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert f"PUBLISHER_SMOKE_STAY_UP={value!r}" in said, said
    assert "from 1 to 600 (default 5), or unset it" in said, said
    # without smoke tests it goes on to look for a builder, which a unit test refuses
    skipped = cli("release", "v1.0.0", "--dry-run", "--no-smoke", env=env)
    assert "PUBLISHER_SMOKE_STAY_UP" not in skipped.output, skipped.output
    assert "unit tests must not run subprocesses" in skipped.output, skipped.output


@pytest.mark.parametrize(
    ("value", "seconds"), [("", 5.0), (" ", 5.0), ("1", 1.0), (" 2.5\r", 2.5), ("600", 600.0)]
)
def test_a_stay_up_window_in_range_is_taken(value: str, seconds: float) -> None:
    assert smoke_rules.stay_up({"PUBLISHER_SMOKE_STAY_UP": value}) == seconds
    assert smoke_rules.stay_up({}) == smoke_rules.STAYS_UP == 5.0


@pytest.mark.parametrize("option", ["--jobs", "--transfers"])
@pytest.mark.parametrize(
    "value", ["1_0", "+3", "\u0663", "\uff15", " 3", "", "0", "33", "9" * 5000]
)
def test_jobs_and_transfers_take_ascii_digits_alone_as_the_retry_variables_do(cli, option, value):
    """click's int() reads '1_0' as 10, '+3' as 3 and other scripts' digits: refused as
    the PUBLISHER_RETRY_* counts are (exit 2, before anything is read), naming the range."""
    result = cli("release", "v1.0.0", option, value, "--dry-run")
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert f"Invalid value for '{option}': {value[:40]!r}"[:60] in said, said
    assert "is not a whole number from 1 to 32" in said, said
    assert "in the digits 0-9 alone" in said and "publisher release --help" in said, said


def test_jobs_and_transfers_in_digits_are_taken() -> None:
    from publisher.cli.options import Count

    assert [Count(1, 32).convert(text, None, None) for text in ("1", "07", "32")] == [1, 7, 32]
    assert Count(1, 32).convert(4, None, None) == 4  # the default, given as a number


def test_a_nan_retry_delay_stops_inspect_before_any_request(cli):
    result = cli("inspect", "127.0.0.1:1/x/y:1", env={"PUBLISHER_RETRY_MAX_DELAY": "nan"})
    assert_usage_error(result, "PUBLISHER_RETRY_MAX_DELAY='nan' is not a number")
    assert "retrying" not in result.output


_LEG = ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", "{tmp}/d.json")
_OFFLINE = ("--config", "examples/offline/matrix.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ("inspect", "127.0.0.1:1/x/y:1"),
        ("preflight",),
        ("verify", "v1.0.0"),
        ("audit",),
        ("check-public", "v1.0.0"),
        ("republish-check",),
        ("gh-release", "v1.0.0", "--repo", "a/b", "--notes", "{tmp}/v1.0.0.md"),
        ("build", "v1.0.0", *_LEG),
        ("publish", "v1.0.0", "--digests", "{tmp}"),
        ("publish", "v1.0.0", "--digests", "{tmp}", "--dry-run"),
        ("release", "v1.0.0"),
        ("release", "v1.0.0", "--dry-run"),
        ("release", "v1.0.0", "--local", *_OFFLINE),
        ("republish", "v1.0.0", "--reason", "CVE"),
        ("republish", "v1.0.0", "--reason", "CVE", "--dry-run"),
    ],
)
def test_a_bad_request_setting_is_refused_before_anything_is_said_or_started(cli, tmp_path, args):
    """Every command that asks a registry (or GitHub) reads PUBLISHER_RETRY_* and
    PUBLISHER_REQUEST_TIMEOUT first: no stage is announced, no warning said, no builder
    probed and no throwaway registry started before the refusal (exit 2), its first line."""
    (tmp_path / "v1.0.0.md").write_text("# v1.0.0\n\nnotes\n", encoding="utf-8")
    env = {"PUBLISHER_RETRY_TOTAL_TIMEOUT": "x", "GITHUB_TOKEN": "t"}
    result = cli(*(a.format(tmp=tmp_path) for a in args), env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        "error: usage error: PUBLISHER_RETRY_TOTAL_TIMEOUT='x' is not a number\n"
    ), result.stderr
    assert result.stdout == "", result.stdout


# ---------------------------------------------------------- GITHUB_API_URL (item 2)


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "ftp://x",
        "http://",
        "https://[::1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "/relative",
        "https://api.example com",
        "https://api.example/\napi",
        "https://user:hunter2@api.example/",
        "https://api.example/?q=1",
    ],
)
def test_a_bad_github_api_url_is_a_usage_error_naming_the_variable(cli, tmp_path, url):
    result = gh_release(cli, tmp_path, {"GITHUB_TOKEN": "t", "GITHUB_API_URL": url})
    assert_usage_error(result, "GITHUB_API_URL=", "https://HOST/api/v3")
    assert "hunter2" not in result.output


@pytest.mark.parametrize(
    "token",
    ["ghp_SECRETpart\nmore", "ghp_SECRET€uro", " ghp_SECRETspace", "ghp_SECRET\r", "ghp SECRET"],
    ids=["newline", "non-ascii", "leading-space", "carriage-return", "inner-space"],
)
def test_a_malformed_github_token_is_refused_without_echoing_it(cli, tmp_path, token):
    result = gh_release(
        cli, tmp_path, {"GITHUB_TOKEN": token, "GITHUB_API_URL": "http://127.0.0.1:9"}
    )
    assert_usage_error(result, "the token in GITHUB_TOKEN holds spaces, line breaks")
    assert "SECRET" not in result.output


@pytest.mark.parametrize(
    ("token", "problem"),
    [(None, "is not set"), ("", "is empty"), (" \t", "is empty")],
    ids=["unset", "empty", "blank"],
)
def test_a_missing_github_token_says_whether_it_is_unset_or_empty(cli, tmp_path, token, problem):
    result = gh_release(cli, tmp_path, {"GITHUB_TOKEN": token})
    assert_usage_error(result, f"no GitHub token: GITHUB_TOKEN {problem}")
    assert "holds spaces" not in result.output


def test_github_releases_from_env_tells_an_unset_token_from_an_empty_one():
    from publisher.adapters.github import GitHubReleases

    with pytest.raises(UsageError) as unset:
        GitHubReleases.from_env({"GITHUB_REPOSITORY": "a/b"})
    assert unset.value.message == "no GitHub token: GITHUB_TOKEN is not set"
    with pytest.raises(UsageError) as empty:
        GitHubReleases.from_env({"GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": ""})
    assert empty.value.message == "no GitHub token: GITHUB_TOKEN is empty"


def test_github_releases_say_whether_the_repository_was_unset_empty_or_given_empty():
    from publisher.adapters.github import GitHubReleases

    token = {"GITHUB_TOKEN": "t"}
    said = []
    for env, repository in (({}, None), ({"GITHUB_REPOSITORY": " "}, None), ({}, "")):
        with pytest.raises(UsageError) as caught:
            GitHubReleases.from_env({**token, **env}, repository=repository)
        said.append(caught.value.message)
    assert said == [
        "which repository? --repo not given and GITHUB_REPOSITORY is not set",
        "which repository? --repo not given and GITHUB_REPOSITORY is empty",
        "--repo is empty: name the repository as OWNER/NAME",
    ]


def test_good_github_api_urls_are_accepted():
    from publisher.adapters.github import check_api_url

    assert check_api_url("https://api.github.com") == "https://api.github.com"
    assert check_api_url("https://ghe.example/api/v3/") == "https://ghe.example/api/v3"
    assert check_api_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert check_api_url("http://[::1]:8080/api") == "http://[::1]:8080/api"


def test_a_github_rate_limit_says_when_to_rerun_from_its_headers():
    from publisher.adapters.github import _rate_limit_wait

    now = 4102444800 - 50 * 60 - 30  # 50.5 minutes before 2100-01-01T00:00:00Z
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"}
    assert _rate_limit_wait(spent, now) == "; the limit resets at 00:00 UTC, in 51 min"
    assert _rate_limit_wait({"retry-after": "60", **spent}, now) == "; GitHub asks to wait 60 s"
    # Nothing usable: no claim about when.
    for headers in (None, {}, {"Retry-After": "soon"}, {**spent, "X-RateLimit-Remaining": "4"}):
        assert _rate_limit_wait(headers, now) == ""
    assert _rate_limit_wait({**spent, "X-RateLimit-Reset": "x1"}, now) == ""
    assert _rate_limit_wait({**spent, "X-RateLimit-Reset": "9" * 30}, now) == ""


# -------------------------------------------------------- SOURCE_DATE_EPOCH (item 6)


@pytest.mark.parametrize(
    ("epoch", "problem"),
    [
        ("99999999999999999", "is after the year 9999"),
        ("253402300800", "is after the year 9999"),
        ("9" * 5000, "is after the year 9999"),
        ("-5", "is before 1970"),
        ("1.5", "must be a whole number of seconds, digits only"),
        ("1_000", "must be a whole number of seconds, digits only"),
        ("+5", "must be a whole number of seconds, digits only"),
    ],
)
def test_an_impossible_source_date_epoch_is_a_usage_error(epoch, problem):
    from publisher.cli.release_cmds import created_from_env

    with pytest.raises(UsageError) as caught:
        created_from_env({"SOURCE_DATE_EPOCH": epoch})
    assert caught.value.message.startswith("SOURCE_DATE_EPOCH=")
    assert problem in caught.value.message
    assert len(caught.value.message) < 200  # a huge value is shortened


def test_source_date_epoch_bounds_are_accepted():
    from publisher.cli.release_cmds import created_from_env

    assert created_from_env({"SOURCE_DATE_EPOCH": "0"}) == "1970-01-01T00:00:00Z"
    assert created_from_env({"SOURCE_DATE_EPOCH": "253402300799"}) == "9999-12-31T23:59:59Z"
    assert created_from_env({"SOURCE_DATE_EPOCH": "0" * 5000 + "1"}) == "1970-01-01T00:00:01Z"
    assert created_from_env({"SOURCE_DATE_EPOCH": " "}) == ""


def test_build_refuses_an_overflowing_source_date_epoch_before_anything_else(cli, tmp_path):
    result = cli(
        "build",
        "v1.0.0",
        "--php",
        "8.4",
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(tmp_path / "d.json"),
        env={"SOURCE_DATE_EPOCH": "99999999999999999"},
    )
    assert_usage_error(result, "SOURCE_DATE_EPOCH=", "after the year 9999")


# ------------------------------------------------------------------------- GITHUB_SHA


@pytest.mark.parametrize(
    ("sha", "problem"),
    [
        ("abc\ndef", "must be one line; it holds a line break ('\\n')"),
        ("abc\u2028def", "must be one line; it holds a line break ('\\u2028')"),
        ("abc\tdef", "must not hold control characters; it holds '\\t'"),
        ("ab\udcffc", "must be UTF-8 text; it holds the byte 0xff at character 3"),
    ],
)
def test_a_github_sha_that_cannot_be_a_label_is_a_usage_error_naming_it(sha, problem):
    """GITHUB_SHA becomes the images' revision label: it gets the one-line UTF-8 check
    every other label value gets, not written into the build as it came."""
    from publisher.cli.release_cmds import revision_from_env

    with pytest.raises(UsageError) as caught:
        revision_from_env({"GITHUB_SHA": sha})
    assert caught.value.message.startswith(f"GITHUB_SHA {problem}"), caught.value.message
    assert "org.opencontainers.image.revision" in caught.value.message
    assert "git rev-parse HEAD" in (caught.value.hint or "")


def test_a_github_sha_is_taken_without_its_surrounding_blanks():
    from publisher.cli.release_cmds import revision_from_env

    assert revision_from_env({"GITHUB_SHA": f" {'a' * 40}\n"}) == "a" * 40
    assert revision_from_env({"GITHUB_SHA": " "}) == revision_from_env({}) == ""


@pytest.mark.parametrize("command", ["build", "release"])
def test_build_and_release_refuse_a_github_sha_with_a_line_break_before_anything(
    cli, tmp_path, command
):
    args = {
        "build": ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", "d.json"),
        "release": ("--only", "8.4", "--dry-run"),
    }[command]
    result = cli(command, "v1.0.0", *args, env={"GITHUB_SHA": "0" * 40 + "\nX=1"})
    assert_usage_error(result, "GITHUB_SHA must be one line; it holds a line break")
    assert "builder:" not in result.output and "Resolve" not in result.output


# ------------------------------------------------- --only, --php, PUBLISHER_LINES (item 7)


def test_an_unconfigured_only_line_names_the_option_once(cli):
    result = cli("plan", "v1.0.0", "--only", "9.9")
    assert_usage_error(result, "--only: 9.9 is not configured; configured lines: 8.1,")
    assert result.output.count("--only") == 1


def test_a_line_left_out_by_publisher_lines_names_the_override(cli):
    result = cli("plan", "v1.0.0", "--only", "8.5", env={"PUBLISHER_LINES": "8.4"})
    assert_usage_error(result, "--only: 8.5 is left out by PUBLISHER_LINES=8.4")
    assert "8.1, 8.2, 8.3, 8.4, 8.5" in result.output  # what is configured


def test_a_line_left_out_by_publisher_platforms_names_that_override():
    text = acme_matrix(line_platforms={"8.3": ["linux/amd64"]})
    cfg = config.loads(text, env={"PUBLISHER_PLATFORMS": "linux/arm64"})
    assert cfg.narrowed_by == ("PUBLISHER_PLATFORMS=linux/arm64",)
    with pytest.raises(UsageError, match=r"--only: 8.3 is left out by PUBLISHER_PLATFORMS"):
        cfg.select(("8.3",))
    with pytest.raises(ConfigError) as caught:
        config.loads(text, env={"PUBLISHER_PLATFORMS": "linux/arm64", "PUBLISHER_LINES": "8.3"})
    assert caught.value.field == "PUBLISHER_LINES" and "PUBLISHER_PLATFORMS" in str(caught.value)


def test_a_publisher_lines_that_keeps_every_line_is_not_named():
    cfg = config.loads(acme_matrix(), env={"PUBLISHER_LINES": "8.3,8.4"})
    assert cfg.narrowed_by == ()


@pytest.mark.parametrize(
    ("php", "message"),
    [
        ("9.9", "--php: 9.9 is not configured"),
        ("9", "--php: '9' is not a PHP line"),
        ("8.3,8.4", "--php: '8.3,8.4' names several lines"),
    ],
)
def test_build_names_php_for_a_bad_line(cli, tmp_path, php, message):
    result = cli(
        "build",
        "v1.0.0",
        "--php",
        php,
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(tmp_path / "d.json"),
    )
    assert_usage_error(result, message)
    assert "--only" not in result.output


# ---------------------------------------------------------- template failures (item 3)


def _render_world(tmp_path, template: str, extra: str = "") -> str:
    """A matrix in ``tmp_path`` using ``template`` (written to T.j2); returns its path."""
    (tmp_path / "T.j2").write_text(template)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(acme_matrix() + "template: T.j2\n" + extra)
    return str(matrix)


@pytest.mark.parametrize(
    ("template", "line", "problem"),
    [
        ("# ok\n{{ nonexistent_var.foo }}\n", 2, "'nonexistent_var' is undefined"),
        ("{{ nonexistent_var }}\n", 1, "'nonexistent_var' is undefined"),
        ('{% include "other.j2" %}\n', 1, "refers to another template ('other.j2')"),
        ('{% extends "base.j2" %}\n', 1, "refers to another template ('base.j2')"),
        ("a\nb\n{{ 1/0 }}\n", 3, "template error: an expression failed: division by zero"),
        ("{{ php.upper(1) }}\n", 1, "an expression failed: str.upper() takes no arguments"),
        ("{{ {}.pop('x') }}\n", 1, "an expression failed: there is no key 'x'"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}\n", 1, "calls itself without end"),
        ("{% if %}\n", 1, "template syntax error"),
    ],
)
def test_every_template_failure_is_located_in_the_template(cli, tmp_path, template, line, problem):
    result = cli("render", "--config", _render_world(tmp_path, template))
    assert result.exit_code == 3, result.output
    assert "internal error" not in result.output
    assert f"T.j2:{line}: " in result.output and problem in result.output
    assert "Error" not in result.output  # no Python class name (ZeroDivisionError)


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("# ok\n{{ titel }}\n", "shared/T.j2:2: template error: 'titel' is undefined"),
        ("{% if %}\n", "shared/T.j2:1: template syntax error"),
        (None, "shared/T.j2: the Dockerfile template is not UTF-8 text"),
    ],
)
def test_a_template_failure_names_the_template_as_the_user_reaches_it(
    cli, tmp_path, monkeypatch, template, said
):
    """matrix.yaml names its template relative to itself (`../shared/T.j2`); an error in
    it names the file from where publisher runs, as `render --check` does."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "example").mkdir()
    body = template.encode() if template is not None else b"\xff\xfe broken\n"
    (tmp_path / "shared" / "T.j2").write_bytes(body)
    (tmp_path / "example" / "matrix.yaml").write_text(acme_matrix() + "template: ../shared/T.j2\n")
    monkeypatch.chdir(tmp_path)
    result = cli("render", "--config", "example/matrix.yaml")
    assert result.exit_code == 3, result.output
    assert f"error: configuration error: {said}" in result.output, result.output


@pytest.mark.parametrize(
    "template",
    [
        "FROM {{ base }}\nRUN php -m\n",  # the base as a literal: no digest pin, no mirror
        "FROM ${PHP_BASE_IMAGE}\nARG PHP_BASE_IMAGE={{ base }}\n",  # declared too late
        "ARG PHP_BASE_IMAGE={{ base }}\nFROM alpine\n",
        # declared inside a stage: a FROM reads only the ARGs before the first FROM
        "FROM alpine AS tools\nARG PHP_BASE_IMAGE={{ base }}\nFROM ${PHP_BASE_IMAGE}\n",
        # a stage's FROM continued over two lines is still the first FROM
        "FROM \\\n  alpine AS tools\nARG PHP_BASE_IMAGE={{ base }}\nFROM ${PHP_BASE_IMAGE}\n",
    ],
)
def test_a_template_whose_dockerfile_ignores_the_base_argument_is_refused(cli, tmp_path, template):
    result = cli("render", "--config", _render_world(tmp_path, template))
    assert result.exit_code == 3, result.output
    assert "T.j2: the Dockerfile the template renders does not build FROM the build argument" in (
        result.output
    )
    assert "`ARG PHP_BASE_IMAGE={{ base }}`, then `FROM ${PHP_BASE_IMAGE}`" in result.output
    assert "Dockerfile.j2 does" not in result.output  # not a file to copy: it may be this one
    assert not (tmp_path / "dockerfiles").exists()  # nothing written


@pytest.mark.parametrize("template", ["", "\n\n", "# nothing yet\n{# nor here #}\n"])
def test_an_empty_template_is_told_what_a_template_holds(cli, tmp_path, template):
    """The template renders no instruction: the error says so, and its tip what the file
    must hold (not to copy a file, which may be this very one)."""
    result = cli("render", "--config", _render_world(tmp_path, template))
    said = " ".join(result.output.split())
    assert result.exit_code == 3, result.output
    assert "T.j2: the template renders an empty Dockerfile (no instruction)" in said, said
    assert "Dockerfile.j2 does" not in said
    assert "`ARG PHP_BASE_IMAGE={{ base }}`, then `FROM ${PHP_BASE_IMAGE}`" in said
    assert "{{ packages }}" in said and "{{ pecl }}" in said  # the steps after the FROM
    assert not (tmp_path / "dockerfiles").exists()  # nothing written


@pytest.mark.parametrize(
    "template",
    [
        "ARG PHP_BASE_IMAGE={{ base }}\nfrom --platform=$TARGETPLATFORM $PHP_BASE_IMAGE AS php\n",
        # directives, comments, several ARGs, one with no default, before the first FROM
        "# syntax=docker/dockerfile:1\n# the base: FROM below\nARG RELEASE\n"
        "ARG PHP_BASE_IMAGE\nARG X=1\nFROM ${PHP_BASE_IMAGE}\n",
        # an instruction continued over lines (a comment between them is skipped), as docker
        # and buildah read it: they build on the base argument
        "ARG PHP_BASE_IMAGE={{ base }}\nFROM \\\n# the base\n  ${PHP_BASE_IMAGE} \\\n  AS php\n",
        "ARG \\\n  PHP_BASE_IMAGE={{ base }}\nFROM ${PHP_BASE_IMAGE}\n",
        "# escape=`\nARG PHP_BASE_IMAGE={{ base }}\nFROM `\n  ${PHP_BASE_IMAGE}\n",
        # a comment ending in a backslash continues nothing
        "# see README \\\nARG PHP_BASE_IMAGE={{ base }}\nFROM ${PHP_BASE_IMAGE}\n",
    ],
)
def test_a_template_building_on_the_base_argument_renders(cli, tmp_path, template):
    result = cli("render", "--config", _render_world(tmp_path, template))
    assert result.exit_code == 0, result.output


def test_an_undefined_name_lists_what_the_template_is_given(cli, tmp_path):
    result = cli("render", "--config", _render_world(tmp_path, "{{ titel }}\n"))
    assert result.exit_code == 3
    assert "the template is given: php, base, title," in result.output


def test_a_template_that_is_not_utf8_is_a_located_error(cli, tmp_path):
    matrix = _render_world(tmp_path, "")
    (tmp_path / "T.j2").write_bytes(b"\xff\xfe broken\n")
    result = cli("render", "--config", matrix)
    assert result.exit_code == 3, result.output
    assert "T.j2: the Dockerfile template is not UTF-8 text" in result.output


# ------------------------------------------------------------ deep nesting (item 4)


@pytest.mark.parametrize(
    "value",
    ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000],
    ids=["lists", "mappings"],
)
def test_yaml_nested_thousands_deep_is_a_located_config_error(value):
    with pytest.raises(ConfigError) as caught:
        config.loads(f"namespace: {value}\n" + acme_matrix())
    err = caught.value
    assert err.line == 1 and err.column is not None
    assert "nest more than 32 levels" in err.problem


def test_block_yaml_nested_deep_is_refused_too(cli, tmp_path):
    deep = "namespace:" + "".join("\n" + " " * (i + 1) + "a:" for i in range(200)) + " x\n"
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(deep + acme_matrix())
    result = cli("render", "--config", str(matrix))
    assert result.exit_code == 3, result.output
    assert "nest more than 32 levels" in result.output


def test_nesting_up_to_the_limit_is_left_to_the_usual_checks():
    # the top-level mapping is one level: 31 lists under it reach the limit of 32
    with pytest.raises(ConfigError, match="expected a string, found a list"):
        config.loads("namespace: " + "[" * 31 + "]" * 31 + "\n" + acme_matrix())
    with pytest.raises(ConfigError, match="nest more than 32 levels"):
        config.loads("namespace: " + "[" * 32 + "]" * 32 + "\n" + acme_matrix())


# ------------------------------------------------ label values in the Dockerfile (item 5)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("title", r'"a\nLABEL evil=1\nRUN curl x"', "must be one line"),
        ("title", r'"a\rb"', "must be one line"),
        ("title", r'"a\u2028b"', "must be one line"),
        ("title", r'"tab\there"', "must not hold control characters"),
        ("description", r'"a\x1b[31mred"', "must not hold control characters"),
        ("title", r'"a\ud800b"', "must be UTF-8 text; it holds 0xd800 at character 2"),
        (
            "title",
            r'"PHP \u202eMPF-"',
            "must not hold invisible characters; it holds U+202E RIGHT-TO-LEFT OVERRIDE at "
            "character 5 (a bidirectional control: it shows the text after it in another order)",
        ),
        (
            "description",
            r'"zero\u200bwidth"',
            "it holds U+200B ZERO WIDTH SPACE at character 5 (an invisible format character)",
        ),
        ("description", r'"a\u00adb"', "it holds U+00AD SOFT HYPHEN at character 2"),
        ("template", r'"T\ufeff.j2"', "it holds U+FEFF ZERO WIDTH NO-BREAK SPACE at character 2"),
        ("title", r'"a\udcffb"', "must be UTF-8 text; it holds the byte 0xff at character 2"),
        ("description", ">\n  folded but kept a newline\n", "must be one line"),
        ("template", r'"T.j2\nRUN x"', "must be one line"),
        ("dockerfiles", r'"out\ndir"', "must be one line"),
        ("source_url", "javascript:alert(1)", "must be an http:// or https:// URL"),
        ("source_url", "github.com/acme/x", "must be an http:// or https:// URL"),
        ("source_url", "https://", "must be an http:// or https:// URL"),
        ("source_url", '"https://x.example/a b"', "without spaces"),
        ("source_url", '"https://x.example/a\\nRUN x"', "must be one line"),
        ("source_url", "https://x.example:99999/", "is not a valid URL"),
        ("source_url", "https://[::1/", "is not a valid URL"),
    ],
)
def test_values_written_into_the_dockerfile_are_validated_with_their_location(key, value, problem):
    text = acme_matrix() + f"{key}: {value}\n"
    with pytest.raises(ConfigError) as caught:
        config.loads(text)
    err = caught.value
    assert err.field == key and err.line == text.count("\n", 0, text.index(f"{key}:")) + 1
    assert problem in err.problem


@pytest.mark.parametrize("char", sorted(config.BIDI_CONTROLS))
def test_every_bidirectional_control_is_refused_in_a_line_of_text(char: str) -> None:
    problem = config.text_problem(f"v1.0.0 {char}x")
    assert problem is not None and f"U+{ord(char):04X}" in problem, problem
    assert "at character 8 (a bidirectional control" in problem


@pytest.mark.parametrize(
    "text",
    [
        "PHP-FPM \U0001f469\u200d\U0001f4bb",  # an emoji sequence: the zero-width joiner
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: the non-joiner
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 PHP",  # right-to-left text, no control
        "caf\u00e9 \u00a0\u3000",
    ],
)
def test_a_line_of_text_keeps_joiners_and_right_to_left_letters(text: str) -> None:
    assert config.text_problem(text) is None


def test_a_label_value_that_is_not_utf8_is_refused_naming_the_byte(cli, tmp_path):
    """``title: "PHP\\udcff"`` in matrix.yaml: ``publisher render`` refuses it, worded as
    every value that is not UTF-8 is (the byte and where), located, before rendering."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(acme_matrix() + 'title: "PHP\\udcff"\n')
    result = cli("render", "--config", str(matrix))
    assert result.exit_code == 3, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    line = acme_matrix().count("\n") + 1
    said = f"matrix.yaml:{line}:8: title: must be UTF-8 text; it holds the byte 0xff at character 4"
    assert said in result.output, result.output
    assert not (tmp_path / "dockerfiles").exists()  # nothing written


def test_legal_special_characters_are_escaped_inside_the_label(repo_root):
    from publisher.core import render

    text = (
        acme_matrix()
        + "title: 'say \"hi\" $HOME \\'\n"
        + "description: 'costs $5 \"net\"'\n"
        + "source_url: https://x.example/a$b\n"
    )
    cfg = config.loads(text, root=str(repo_root))
    assert cfg.title == 'say "hi" $HOME \\'
    dockerfile = render.render_line(cfg, cfg.line("8.4"), render.read_template(cfg))
    assert 'org.opencontainers.image.title="say \\"hi\\" \\$HOME \\\\" \\\n' in dockerfile
    assert 'image.description="costs \\$5 \\"net\\" (PHP 8.4)" \\\n' in dockerfile
    assert 'image.source="https://x.example/a\\$b" \\\n' in dockerfile
    assert "${PUBLISHER_RELEASE}" in dockerfile  # the template's own variables stay live


def test_label_value_escapes_backslash_quote_and_dollar_only():
    from publisher.core.render import label_value

    assert label_value('a\\b"c$d') == 'a\\\\b\\"c\\$d'
    assert label_value("PHP-FPM (8.4) ünïcode 'x'") == "PHP-FPM (8.4) ünïcode 'x'"


# ------------------------------------------------------------ oversized inputs (RELIABILITY 29)

HUGE = 64 * 1024 * 1024


def _refused_within(read, limit: int) -> ConfigError:
    """Run ``read`` (which must refuse its input); its peak Python memory stays near ``limit``."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="larger than") as info:
            read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * limit + 1024 * 1024, f"peak {peak} bytes for a {limit}-byte limit"
    return info.value


def _huge(path):
    """A 64 MiB file (sparse: quick to make), far over every input limit."""
    with open(path, "wb") as handle:
        handle.truncate(HUGE)
    return path


def test_oversized_inputs_are_refused_in_bounded_memory(tmp_path):
    """A multi-megabyte matrix, release record, digest record or size history is refused
    after reading at most its limit: never read whole."""
    from publisher.core import notes, records

    error = _refused_within(
        lambda: config.load(_huge(tmp_path / "matrix.yaml"), {}), config.MAX_MATRIX_BYTES
    )
    assert error.exit_code == 3 and "matrix.yaml" in str(error)
    (tmp_path / "notes").mkdir()
    _refused_within(
        lambda: notes.read_record(_huge(tmp_path / "notes" / "v1.0.0.json")),
        notes.MAX_RECORD_BYTES,
    )
    _huge(tmp_path / "notes" / notes.HISTORY_FILE)
    _refused_within(lambda: notes.load_size_history(tmp_path / "notes"), notes.MAX_HISTORY_BYTES)
    _refused_within(
        lambda: records.read_record_file(_huge(tmp_path / "8.4-linux-amd64.json")),
        records.MAX_DIGEST_RECORD_BYTES,
    )


def test_gh_release_refuses_oversized_notes_or_pins_in_bounded_memory(cli, tmp_path):
    """The Markdown notes gh-release sends, and the pins file beside them, are refused at
    their size (exit 3) before they are read whole, and before any request."""
    import tracemalloc

    from publisher.core import notes

    env = {"GITHUB_TOKEN": "ghs_" + "a" * 36}
    for huge, small, limit in (
        ("v1.0.0.md", "v1.0.0.env", notes.MAX_NOTES_MARKDOWN_BYTES),  # 32 MiB
        ("v1.0.0.env", "v1.0.0.md", notes.MAX_PINS_BYTES),  # 1 MiB
    ):
        assert limit < HUGE
        for name in (huge, small):
            (tmp_path / name).unlink(missing_ok=True)
        _huge(tmp_path / huge)
        (tmp_path / small).write_text("notes\n" if small.endswith(".md") else "X='y'\n")
        tracemalloc.start()
        try:
            result = gh_release(cli, tmp_path, env, write_notes=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.exit_code == 3, result.output
        said = f"larger than {limit // (1024 * 1024)} MiB"
        assert said in result.output and str(tmp_path / huge) in result.output
        assert "internal error" not in result.output
        # Bounded by the notes' limit, read first: a read of at most ``limit + 1`` bytes
        # reserves them (untouched pages, never written), whatever the file holds.
        bound = notes.MAX_NOTES_MARKDOWN_BYTES
        assert peak < 2 * bound + 1024 * 1024, f"peak {peak} bytes reading {huge}"


def test_a_title_that_is_not_utf8_is_refused_before_github_is_asked(cli, tmp_path) -> None:
    """``--title $'x\\xff'``: argv bytes that are not UTF-8 (a lone surrogate) are refused
    naming the byte, before the token or GitHub is used (port 1: nothing answers)."""
    env = {"GITHUB_TOKEN": "x", "GITHUB_API_URL": "http://127.0.0.1:1"}
    result = gh_release(cli, tmp_path, env, "--title", "x\udcff")
    assert_usage_error(result, "--title is not UTF-8 text: it holds the byte 0xff at character 2")


@pytest.mark.parametrize(
    ("title", "said"),
    [
        ("", "--title is empty"),
        ("   ", "--title is empty"),
        ("v1.0.0\nextra", "--title must be one line; it holds a line break ('\\n')"),
        ("a\tb", "--title must not hold control characters; it holds '\\t'"),
        (
            "v1.0.0 \u2067nuf\u2069",
            "--title must not hold invisible characters; it holds U+2067 RIGHT-TO-LEFT "
            "ISOLATE at character 8 (a bidirectional control",
        ),
    ],
)
def test_a_blank_or_multi_line_title_is_refused_before_github_is_asked(
    cli, tmp_path, title, said
) -> None:
    """``--title ""`` would have retitled an existing release with its tag (an existing
    release keeps its title unless one is given), and a line break has no place in a
    title: both are refused before the token or GitHub is used (port 1: nothing answers)."""
    env = {"GITHUB_TOKEN": "x", "GITHUB_API_URL": "http://127.0.0.1:1"}
    result = gh_release(cli, tmp_path, env, "--title", title)
    assert_usage_error(result, said, "leave out --title")


def test_publisher_prints_a_path_of_bytes_that_are_not_utf8_instead_of_crashing(
    cli, tmp_path
) -> None:
    """``publisher resolve --dockerfiles $'/tmp/p\\xff'``: click's stdout is strict, as a
    terminal's is in most UTF-8 locales; the answer names the path (its bytes as given),
    not an internal error."""
    where = f"{tmp_path}/p\udcff"
    result = cli(
        "resolve", "--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false",
        "--dockerfiles", where,
    )  # fmt: skip
    assert result.exit_code == 17, result.output
    assert os.fsencode(f"{where}/8.4/Dockerfile") in result.stdout_bytes


_DIGEST_FILE = ("--digest-file", "d/8.4\udcff.json")


def _strict_json(text: str) -> dict:
    """``text`` as a strict JSON reader takes it: UTF-8, no lone-surrogate escape."""
    import json

    assert "\\ud" not in text.lower(), text
    text.encode("utf-8")
    return json.loads(text)


@pytest.mark.parametrize(
    ("args", "option", "at"),
    [
        (("audit", "--notes-dir", "notes\udcff", "--json"), "--notes-dir", 6),
        (("plan", "v1.0.0", "--notes-dir", "notes\udcff", "--json"), "--notes-dir", 6),
        (("publish", "v1.0.0", "--digests", "d\udcff", "--dry-run", "--json"), "--digests", 2),
        (("plan", "v1.0.0", "--config", "m\udcff.yaml", "--json"), "--config", 2),
        (
            ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", *_DIGEST_FILE),
            "--digest-file",
            6,
        ),
        (("gh-release", "v1.0.0", "--repo", "a/b", "--notes", "n\udcff.md"), "--notes", 2),
    ],
)
def test_a_path_option_that_is_not_utf8_is_refused_naming_the_byte(cli, args, option, at):
    """``--notes-dir $'notes\\xff'``: a path JSON reports and records would hold as a
    lone-surrogate escape ("\\udcff", which strict JSON readers reject) is refused up
    front, exit 2, naming the byte; --json prints a document any reader takes."""
    result = cli(*args)
    assert_usage_error(
        result,
        f"Invalid value for '{option}': must be UTF-8 text; it holds the byte 0xff at "
        f"character {at}",
    )
    assert "tip: rename it, or move the repository, to a path that is UTF-8 text" in result.stderr
    if "--json" in args:
        assert _strict_json(result.stdout)["error"]["exit_code"] == 2


#: The tip of an empty directory option: `.` is the current directory.
_HERE = "tip: name the path; write . for the current directory"


@pytest.mark.parametrize(
    ("args", "option", "tip"),
    [
        (("audit", "--notes-dir", "", "--json"), "--notes-dir", _HERE),
        (("plan", "v1.0.0", "--notes-dir", "", "--json"), "--notes-dir", _HERE),
        (("publish", "v1.0.0", "--digests", "", "--dry-run", "--json"), "--digests", _HERE),
        (
            ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", ""),
            "--digest-file",
            "tip: name the record's file, e.g. digests/8.4-linux-amd64.json (one per leg)",
        ),
        (
            ("gh-release", "v1.0.0", "--repo", "a/b", "--notes", ""),
            "--notes",
            "tip: name the Markdown notes, e.g. release-notes/v2.0.0.md, or leave --notes out "
            "to read release-notes/RELEASE.md",
        ),
    ],
)
def test_an_empty_path_option_is_refused_as_empty(cli, args, option, tip):
    """``--digest-file ''`` is said to be empty (exit 2), never read as the current
    directory (``Path('')`` is ``.``) nor said as "--digest-file . is a directory". Its
    tip suits the option: `.` for a directory's, never for a file's (``--digest-file .``
    and ``--notes .`` are refused as directories)."""
    result = cli(*args)
    assert_usage_error(result, f"Invalid value for '{option}': the path is empty")
    said = " ".join(result.stderr.split())
    assert tip in said, said
    assert "is a directory" not in result.output
    if "--json" in args:
        assert _strict_json(result.stdout)["error"]["exit_code"] == 2


def test_a_publisher_config_that_is_not_utf8_is_refused_naming_the_byte(cli):
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": "m\udcff.yaml"})
    assert_usage_error(result, "Invalid value for PUBLISHER_CONFIG (the environment's --config)")
    assert "must be UTF-8 text; it holds the byte 0xff at character 2" in result.output
    result = cli("inspect", "127.0.0.1:1/x", "--json", env={"PUBLISHER_CONFIG": "m\udcff.yaml"})
    assert_usage_error(result, "PUBLISHER_CONFIG must be UTF-8 text; it holds the byte 0xff")
    assert _strict_json(result.stdout)["ok"] is False


def test_a_matrix_file_in_a_directory_that_is_not_utf8_is_refused(cli, tmp_path):
    """Every default path (release-notes/, the digests under .publisher/) is under the
    matrix file's directory: one whose name is not UTF-8 is refused, said with \\xff."""
    from tests.conftest import ROOT

    where = tmp_path / "repo\udcff"
    where.mkdir()
    (where / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "link").symlink_to(where)  # a UTF-8 name for it: what is read is the same
    result = cli("plan", "v1.0.0", "--config", str(tmp_path / "link/matrix.yaml"), "--json")
    assert_usage_error(result, "the directory of the matrix file, ", "repo\\xff, must be UTF-8")
    message = _strict_json(result.stdout)["error"]["message"]
    assert message.startswith(f"the directory of the matrix file, {tmp_path}/repo\\xff,")


def _matrix_in(folder: Path) -> Path:
    from tests.conftest import ROOT

    folder.mkdir()
    (folder / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text("utf-8"), "utf-8")
    shutil.copytree(ROOT / "dockerfiles", folder / "dockerfiles")
    return folder / "matrix.yaml"


def test_a_path_is_judged_and_named_by_its_bytes_in_every_locale(cli, tmp_path, monkeypatch):
    """A matrix file in "ü dir" under LC_ALL=C with PYTHONUTF8=0 (Python holds each byte
    of "ü" as a lone surrogate): accepted, as its bytes are UTF-8, and named "ü dir" in
    JSON. Under ISO-8859-1, where Python reads the byte 0xff as "ÿ", a directory of that
    byte is refused as under UTF-8 (exit 2, naming the byte)."""
    matrix = _matrix_in(tmp_path / "\u00fc dir")
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    decoded = os.fsencode(str(matrix)).decode("ascii", "surrogateescape")
    result = cli("render", "--check", "--json", "--config", decoded)
    assert result.exit_code == 0, result.output
    paths = [line["path"] for line in _strict_json(result.stdout)["lines"]]
    assert f"{tmp_path}/\u00fc dir/dockerfiles/8.4/Dockerfile" in paths, paths
    matrix = _matrix_in(tmp_path / "bad\u00ff")  # its name's bytes 0xc3 0xbf: held as "ÿ"
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "latin-1")
    result = cli("render", "--check", "--config", str(matrix))
    at = len(f"{tmp_path}/bad") + 1
    assert_usage_error(result, f"it holds the byte 0xff at character {at}")


def test_a_path_found_in_a_directory_that_is_not_utf8_is_written_with_its_byte(cli, tmp_path):
    """A path no option gave (a file found under --digests) cannot be refused up front:
    a JSON error names it with the byte written \\xff, never the escape "\\udcff"."""
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / "8.4\udcff.json").write_text("{}\n")
    result = cli("publish", "v1.0.0", "--digests", str(digests), "--dry-run", "--json")
    assert result.exit_code == 3, result.output
    error = _strict_json(result.stdout)["error"]
    assert error["message"].startswith(f"{digests}/8.4\\xff.json: ")


def test_a_byte_that_is_not_utf8_is_written_the_same_on_stderr_as_in_json(cli, tmp_path):
    """A path found under --digests (held in the message as it is) and a release tag
    (quoted in it, ``{value!r}``) whose bytes are not UTF-8: stderr writes the byte \\xff
    as the JSON error does, never Python's escape "\\udcff"."""
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / "8.4\udcff.json").write_text("{}\n")
    for args, said in (
        (
            ("publish", "v1.0.0", "--digests", str(digests), "--dry-run"),
            f"{digests}/8.4\\xff.json: ",
        ),
        (("plan", "v1.0.0\udcff"), "release tag 'v1.0.0\\xff' is not valid: '0\\xff' is not"),
    ):
        result = cli(*args)
        assert result.exit_code in (2, 3), result.output
        assert said in result.stderr and "\\udc" not in result.stderr, result.stderr
        result = cli(*args, "--json")
        assert said in _strict_json(result.stdout)["error"]["message"], result.stdout


def test_a_matrix_key_that_is_not_utf8_is_named_in_json_as_text_any_reader_takes(cli, tmp_path):
    """``"x\\udcff": 1`` in matrix.yaml (a YAML escape of a lone surrogate): the JSON
    error's ``field`` names the key with the byte written \\xff, as its source is
    named, never the escape "\\udcff" strict JSON readers reject."""
    import json

    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(acme_matrix() + '"x\\udcff": 1\n')
    result = cli("plan", "v1.0.0", "--config", str(matrix), "--json")
    assert result.exit_code == 3, result.output
    assert "\\udcff" not in result.stdout.replace("\\\\udcff", "")  # not the JSON escape
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "x\\xff" and "unknown key" in error["message"]


def test_a_path_holding_a_backslash_before_udc_is_shown_as_it_is(cli, tmp_path):
    """A path held in the message as it is keeps its backslashes: a Windows-like
    ``C:\\udcache\\digests`` (a folder named ``udcache``) is never taken for Python's
    escape of a byte that is not UTF-8 and written ``C:\\xache``, on stderr or in JSON;
    a quoted value's escape (``{value!r}``) is still written ``\\xff``."""
    import json

    digests = tmp_path / "C:\\udcache\\digests"
    result = cli("publish", "v1.0.0", "--digests", str(digests), "--dry-run")
    assert result.exit_code == 18, result.output
    assert f"{digests} does not exist" in result.stderr, result.stderr
    result = cli("publish", "v1.0.0", "--digests", str(digests), "--dry-run", "--json")
    # json.loads: its text holds the folder's backslash escaped, which _strict_json refuses
    assert f"{digests} does not exist" in json.loads(result.stdout)["error"]["message"]
    result = cli("plan", "v1.0.0\udcff", "--json")
    assert "release tag 'v1.0.0\\xff'" in _strict_json(result.stdout)["error"]["message"]


# ------------------------------------- blanks around every PUBLISHER_* setting (one rule)

#: What a hand-made env file or ``$'...\n'`` puts around a value: never part of it.
AROUND = (" {} ", "{}\n", "{}\r\n", "\t{}\n")


@pytest.mark.parametrize("around", AROUND)
def test_blanks_around_a_cache_directory_are_not_part_of_it(around):
    """``PUBLISHER_CACHE_DIR=$'/tmp/x/new\\n'`` is /tmp/x/new, never a directory whose
    name ends in a newline."""
    from publisher.core.fileio import cache_root

    assert cache_root({"PUBLISHER_CACHE_DIR": around.format("/c/x")}) == Path("/c/x")


@pytest.mark.parametrize("around", AROUND)
def test_blanks_around_a_matrix_override_are_not_part_of_it(around):
    """``PUBLISHER_NAMESPACE=$'x\\n'`` and ``PUBLISHER_BASE_MIRROR=$'host\\n'`` are read as
    ``x`` and ``host``, as PUBLISHER_LINES and PUBLISHER_PLATFORMS were, never refused."""
    env = {
        "PUBLISHER_NAMESPACE": around.format("x"),
        "PUBLISHER_BASE_MIRROR": around.format("mirror.gcr.io"),
    }
    cfg = config.loads(acme_matrix(), env=env)
    assert cfg.namespace == "x" and cfg.base_mirror == "mirror.gcr.io"


@pytest.mark.parametrize("around", AROUND)
def test_blanks_around_an_option_setting_are_not_part_of_it(around):
    """``PUBLISHER_BUILDER=$'buildah\\n'`` is buildah (exit 0), as the yes/no ones were."""
    import click
    from click.testing import CliRunner

    from publisher.cli import options

    @click.command()
    @options.builder
    @options.attestations
    def command(builder: str, attestations: bool) -> None:
        click.echo(f"{builder} {attestations}")

    env = {
        "PUBLISHER_BUILDER": around.format("buildah"),
        "PUBLISHER_ATTESTATIONS": around.format("true"),
    }
    result = CliRunner().invoke(command, [], env=env)
    assert result.exit_code == 0 and result.output == "buildah True\n", result.output


@pytest.mark.parametrize("around", AROUND)
def test_blanks_around_a_matrix_file_setting_are_not_part_of_it(cli, tmp_path, around):
    """``PUBLISHER_CONFIG=$'matrix.yaml\\n'`` reads matrix.yaml."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(acme_matrix())
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": around.format(matrix)})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("around", AROUND)
def test_blanks_around_a_busybox_setting_are_not_part_of_it(tmp_path, monkeypatch, around):
    from publisher.stages import standins
    from tests.support.fake_runner import FakeRunner

    busybox = tmp_path / "bb"
    monkeypatch.setattr(standins, "usable_busybox", lambda path, arch: path == busybox)
    env = {standins.busybox_env_var("amd64"): around.format(busybox)}
    assert standins.busybox_binary("amd64", FakeRunner(), tmp_path, env) == busybox


# ------------------------------------------------ a --config or --notes-dir that is odd


def test_a_matrix_file_that_is_a_dangling_link_is_said_to_be_one(cli, tmp_path):
    """Said as ``build --digest-file`` says it, not only "not found in the current
    directory", where the link itself is."""
    link = tmp_path / "matrix.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    result = cli("plan", "v1.0.0", "--config", str(link))
    assert result.exit_code == 3, result.output
    said = f"{link} is a dangling symbolic link (to {tmp_path}/gone.yaml, which does not exist)"
    assert said in result.stderr, result.stderr


def test_a_matrix_file_that_is_a_link_loop_is_said_to_be_one(cli, tmp_path):
    """Never the tip about a directory where one is expected, writable by this user: the
    file is to be read, and the link leads back to itself."""
    link = tmp_path / "matrix.yaml"
    link.symlink_to(link)
    result = cli("plan", "v1.0.0", "--config", str(link))
    assert result.exit_code == 18, result.output
    assert "symbolic link loop" in result.stderr, result.stderr
    assert "a directory where one is expected" not in result.stderr, result.stderr


def test_an_existing_notes_dir_that_takes_no_file_is_said_to_exist(tmp_path):
    """``--notes-dir /proc``: it exists, so never "it cannot be created under /proc"."""
    from publisher.core.errors import FileAccessError
    from publisher.core.fileio import ensure_writable

    for create in (False, True):
        with pytest.raises(FileAccessError) as caught:
            ensure_writable(Path("/proc"), "the release notes directory", create=create)
        message = caught.value.message
        assert "/proc is not writable (it exists, but no file can be created in it" in message
        assert "cannot be created under" not in message
        assert "a directory where one is expected" not in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("make", "code", "said"),
    [
        (lambda p: p.mkdir(), 3, "it is a directory"),
        (lambda p: None, 3, "configuration file not found"),
        (lambda p: p.write_text("lines: [\n"), 3, "invalid YAML"),
    ],
    ids=["directory", "missing", "broken"],
)
def test_inspect_refuses_a_publisher_config_it_cannot_read(cli, tmp_path, make, code, said):
    """An explicit PUBLISHER_CONFIG that cannot be read is an error, as in every other
    command, before any request: never silently left out (its registries' credentials
    unused, and an authentication failure later that does not say why)."""
    matrix = tmp_path / "matrix.yaml"
    make(matrix)
    ref = "127.0.0.1:9/acme/php-fpm:v1.0.0-php-8.4"
    result = cli("inspect", ref, env={"PUBLISHER_CONFIG": str(matrix)})
    assert result.exit_code == code, result.output
    assert said in result.stderr and "127.0.0.1:9" not in result.stderr, result.stderr
    assert "--config PATH" not in result.stderr and "--config matrix.yaml" not in result.stderr


# ------------------------------------------- a path that holds control characters

#: A directory name that would forge a line of output and colour the terminal.
FORGING = "x\nerror: forged\x1b[31m\x7f\x9b"
#: How a message writes it.
FORGING_SHOWN = "x\\nerror: forged\\x1b[31m\\x7f\\x9b"


def _forging_case(cli, root, case: str) -> tuple[tuple[str, ...], int]:
    """A command whose error names a path under ``root / FORGING`` (a matrix file there,
    its Dockerfiles rendered): its args and exit code."""
    hostile = root / FORGING
    hostile.mkdir()
    matrix = hostile / "matrix.yaml"
    matrix.write_text(acme_matrix())
    m = ("--config", str(matrix))
    if case == "digest record":
        (hostile / "digests").mkdir()
        (hostile / "digests" / "r.json").write_text("{}")
        return ("publish", "v1.0.1", "--digests", str(hostile / "digests"), "--dry-run", *m), 3
    if case == "notes dir":
        return ("audit", "--notes-dir", str(hostile / "notes"), *m), 18
    if case == "config file":
        return ("plan", "v1.0.0", "--config", str(hostile / "none.yaml")), 3
    if case == "template file":
        return ("render", *m), 3  # there is none
    if case == "template":
        (hostile / "T.j2").write_text("{{ nonexistent_var }}\n")
        matrix.write_text(acme_matrix() + "template: T.j2\n")
        return ("render", *m), 3
    (hostile / "T.j2").write_text("ARG PHP_BASE_IMAGE={{ base }}\nFROM ${PHP_BASE_IMAGE}\n")
    matrix.write_text(acme_matrix() + "template: T.j2\n")
    assert case == "Dockerfile", case
    return ("release", "v0.0.0-x", "--local", "--dry-run", *m), 3


@pytest.mark.parametrize(
    "case",
    ["digest record", "notes dir", "config file", "template file", "template", "Dockerfile"],
)
@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_a_path_with_control_characters_is_written_escaped_never_forging_a_line(
    cli, tmp_path, case, json_mode
):
    """A line break, ESC, DEL or a C1 control in a directory's name is written escaped
    (``\\n``, ``\\x1b``) in the error naming it, and in its tip's command (bash's
    ``$'...'``): it can neither start a line of its own (``error: forged``) nor drive the
    terminal; the JSON error holds the same words."""
    args, code = _forging_case(cli, tmp_path, case)
    result = cli(*args, *(["--json"] if json_mode else []))
    assert result.exit_code == code, result.output
    assert FORGING_SHOWN in result.stderr, result.stderr
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines())
    assert not any(c in result.stderr for c in "\x1b\x7f\x9b"), result.stderr
    if case == "Dockerfile":  # its tip's command, to paste
        assert "render --config $'" in result.stderr, result.stderr
    if json_mode:
        assert FORGING_SHOWN in json.loads(result.stdout)["error"]["message"]


def test_a_directory_that_cannot_be_written_is_named_escaped(tmp_path):
    """The check of a directory publisher writes to (the stand-in cache, the notes, the
    digest records) names it escaped too."""
    (tmp_path / FORGING).mkdir()
    (tmp_path / FORGING / "file").write_text("a file where the cache belongs")
    with pytest.raises(FileAccessError) as caught:
        ensure_writable(tmp_path / FORGING / "file" / "cache", "the stand-in cache")
    said = caught.value.message + (caught.value.hint or "")
    assert f"{FORGING_SHOWN}/file/cache" in said, said
    assert not any(c in said for c in "\n\x1b\x7f\x9b"), said


def test_a_tool_that_cannot_be_run_is_named_escaped_in_its_chmod_tip(tmp_path):
    """A tool named by path (PUBLISHER_BUILDER) in a directory whose name holds control
    characters, not executable by this user: the error names it escaped, and the tip's
    ``chmod +x`` quotes it as bash's ``$'...'``, so it still pastes."""
    (tmp_path / FORGING).mkdir()
    tool = tmp_path / FORGING / "buildah"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o644)
    runner = Runner(output=Output(env={}, quiet=True), env={"PATH": "/nonexistent"})
    with pytest.raises(ToolMissingError) as caught:
        runner.require(str(tool))
    said = caught.value.message + (caught.value.hint or "")
    assert f"{FORGING_SHOWN}/buildah is not executable" in said, said
    assert "chmod +x $'" in said, said
    assert not any(c in said for c in "\n\x1b\x7f\x9b"), said


def test_text_options_are_judged_and_kept_by_their_bytes_in_every_locale(
    cli, tmp_path, monkeypatch
):
    """``--reason "café"`` and ``--title "café"`` under LC_ALL=C with PYTHONUTF8=0, where
    Python holds each byte of "é" as a lone surrogate: UTF-8 text, as a path option's bytes
    are judged, kept as "café" (the notes and GitHub get it), and a character after it is
    counted where it is (character 5, not 6)."""
    from publisher.cli.github_cmds import _check_title
    from publisher.cli.release_cmds import republish_reason

    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    said = "caf\udcc3\udca9"  # "café" as argv holds it under LC_ALL=C, PYTHONUTF8=0
    assert republish_reason(f" {said} fix ") == "caf\u00e9 fix"
    assert _check_title(said) == "caf\u00e9"
    override = "U+202E RIGHT-TO-LEFT OVERRIDE at character 5"
    env = {"GITHUB_TOKEN": "x", "GITHUB_API_URL": "http://127.0.0.1:1"}
    assert_usage_error(gh_release(cli, tmp_path, env, "--title", f"{said}\u202e"), override)
    result = cli("plan", "v1.0.0", "--reason", f"{said}\u202e")
    assert_usage_error(result, f"--reason must not hold invisible characters; it holds {override}")
