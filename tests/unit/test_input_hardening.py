"""Hostile or mistyped input becomes a located, actionable error, never an internal error.

Each case comes from an outside black-box test: environment variables (retry bounds,
GITHUB_API_URL, SOURCE_DATE_EPOCH), line selections (--only, --php, PUBLISHER_LINES),
matrix values that reach the Dockerfile, deep YAML and failing templates.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.core import config
from publisher.core.errors import ConfigError, UsageError
from publisher.core.retry import RetryPolicy
from tests.support.matrices import acme_matrix


@pytest.fixture
def cli(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)

    def run(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)

    return run


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
    ],
)
def test_retry_variables_outside_their_range_are_usage_errors(name, value):
    with pytest.raises(UsageError) as caught:
        RetryPolicy.from_env({name: value})
    err = caught.value
    assert err.exit_code == 2
    assert name in err.message and repr(value) in err.message
    assert err.hint is not None and name in err.hint and " to " in err.hint  # the range


def test_retry_variables_in_range_are_taken():
    policy = RetryPolicy.from_env(
        {
            "PUBLISHER_RETRY_ATTEMPTS": "100",
            "PUBLISHER_RETRY_INITIAL_DELAY": "0",
            "PUBLISHER_RETRY_MAX_DELAY": "3600",
            "PUBLISHER_RETRY_TOTAL_TIMEOUT": " 86400 ",
        }
    )
    assert (policy.attempts, policy.initial_delay, policy.max_delay) == (100, 0.0, 3600.0)
    assert policy.total_timeout == 86400.0


def test_a_nan_retry_delay_stops_inspect_before_any_request(cli):
    result = cli("inspect", "127.0.0.1:1/x/y:1", env={"PUBLISHER_RETRY_MAX_DELAY": "nan"})
    assert_usage_error(result, "PUBLISHER_RETRY_MAX_DELAY='nan' is out of range")
    assert "retrying" not in result.output


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
    notes = tmp_path / "v1.0.0.md"
    notes.write_text("notes\n")
    result = cli(
        "gh-release",
        "v1.0.0",
        "--repo",
        "a/b",
        "--notes",
        str(notes),
        env={"GITHUB_TOKEN": "t", "GITHUB_API_URL": url},
    )
    assert_usage_error(result, "GITHUB_API_URL=", "https://HOST/api/v3")
    assert "hunter2" not in result.output


def test_good_github_api_urls_are_accepted():
    from publisher.adapters.github import check_api_url

    assert check_api_url("https://api.github.com") == "https://api.github.com"
    assert check_api_url("https://ghe.example/api/v3/") == "https://ghe.example/api/v3"
    assert check_api_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert check_api_url("http://[::1]:8080/api") == "http://[::1]:8080/api"


# -------------------------------------------------------- SOURCE_DATE_EPOCH (item 6)


@pytest.mark.parametrize(
    ("epoch", "problem"),
    [
        ("99999999999999999", "is after the year 9999"),
        ("253402300800", "is after the year 9999"),
        ("9" * 5000, "is after the year 9999"),
        ("-5", "is before 1970"),
        ("1.5", "is not a number of seconds"),
        ("1_000", "is not a number of seconds"),
        ("+5", "is not a number of seconds"),
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
