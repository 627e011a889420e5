"""The GitHub release adapter (PyGithub) against a local server speaking GitHub's endpoints.

GitHub itself cannot be reached from here: ``tests.support.fake_github`` stands in
for it on loopback. Everything else is real: PyGithub, HTTP, the CLI.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner

import publisher.cli.github_cmds  # noqa: F401  (registers matrix and gh-release)
from publisher.adapters.github import GitHubReleases, Settings, is_latest
from publisher.adapters.output import Output
from publisher.cli import main
from publisher.core.errors import FileAccessError, GitHubError, UsageError
from publisher.core.retry import RetryPolicy
from publisher.core.version import parse_release
from tests.conftest import ROOT
from tests.integration.conftest import GH_REPO, GH_TOKEN
from tests.support.connectproxy import ConnectProxy
from tests.support.fake_github import FORBIDDEN, NOT_FOUND, FakeGitHub
from tests.support.faultproxy import FaultProxy
from tests.support.sockets import Silent, Unaccepting
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration

FAST = Settings(
    timeout=5, retry=RetryPolicy(attempts=1), seconds_between_requests=0, seconds_between_writes=0
)


@pytest.fixture
def streams() -> tuple[io.StringIO, io.StringIO]:
    return io.StringIO(), io.StringIO()


def gh_env(gh: FakeGitHub, token: str = GH_TOKEN) -> dict[str, str]:
    """The environment a workflow step gives publisher to reach the stand-in GitHub."""
    return {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": token, "GITHUB_REPOSITORY": GH_REPO}


#: Retries as in a real run, their waits without jitter (0.5 s, 1 s, 2 s).
AS_SAID = RetryPolicy(attempts=4, jitter=lambda low, _high: low)


def releases(gh: FakeGitHub, streams, token: str = GH_TOKEN, *, retries: int = 0) -> GitHubReleases:
    """A client of the stand-in GitHub; ``retries`` turns retries on, as in a real run."""
    env = gh_env(gh, token)
    out = Output({}, stream=streams[0], err_stream=streams[1])
    return GitHubReleases.from_env(
        env, output=out, settings=replace(FAST, retry=RetryPolicy(attempts=retries + 1))
    )


def pins_to_attach(client: GitHubReleases, tmp_path: Path, *, replacing: bool) -> Path:
    """A pins file for release v2.0.0; when ``replacing``, an older one is attached first."""
    pins = tmp_path / "v2.0.0.env"
    pins.write_text("PHP_PINS_SCHEMA='1'\nOLD=1\n", encoding="utf-8")
    if replacing:
        client.attach("v2.0.0", pins)
        pins.write_text("PHP_PINS_SCHEMA='1'\nNEW=1\n", encoding="utf-8")
    return pins


def test_creates_the_release_when_missing(gh: FakeGitHub, streams) -> None:
    result = releases(gh, streams).upsert("v2.0.0", body="## Digests\n\nsha256:abc")
    assert result.action == "created"
    assert result.latest
    posts = [r for r in gh.writes() if r.method == "POST"]
    assert len(posts) == 1
    assert posts[0].body["tag_name"] == "v2.0.0"
    assert posts[0].body["body"] == "## Digests\n\nsha256:abc"
    assert posts[0].body["prerelease"] is False
    assert posts[0].body["make_latest"] == "true"
    assert gh.release(GH_REPO, "v2.0.0")["body"] == "## Digests\n\nsha256:abc"
    assert all(r.authorization in (f"token {GH_TOKEN}", f"Bearer {GH_TOKEN}") for r in gh.requests)


def test_updates_the_body_of_an_existing_release(gh: FakeGitHub, streams) -> None:
    gh.add_release(GH_REPO, "v2.0.0", body="old notes", draft=False)
    result = releases(gh, streams).upsert("v2.0.0", body="new notes")
    assert result.action == "updated"
    assert [r.method for r in gh.writes()] == ["PATCH"]
    assert gh.release(GH_REPO, "v2.0.0")["body"] == "new notes"
    assert len(gh.releases[GH_REPO]) == 1


def test_a_title_edited_by_hand_is_kept_when_no_title_is_given(gh: FakeGitHub, streams) -> None:
    # gh-release updates the body; a rerun or a weekly republish leaves the title alone.
    gh.add_release(GH_REPO, "v2.0.0", body="old notes", name="v2.0.0: security release")
    client = releases(gh, streams)
    assert client.upsert("v2.0.0", body="new notes").action == "updated"
    assert gh.release(GH_REPO, "v2.0.0")["name"] == "v2.0.0: security release"
    assert client.upsert("v2.0.0", body="new notes").action == "unchanged"
    assert client.upsert("v2.0.0", body="new notes", name="v2.0.0").action == "updated"
    assert gh.release(GH_REPO, "v2.0.0")["name"] == "v2.0.0"


def test_nothing_changed_sends_no_write(gh: FakeGitHub, streams) -> None:
    client = releases(gh, streams)
    client.upsert("v2.0.0", body="notes")
    writes = len(gh.writes())
    assert client.upsert("v2.0.0", body="notes").action == "unchanged"
    assert len(gh.writes()) == writes


@pytest.mark.parametrize(
    "on_github",
    [
        "# v2.0.0\r\n\r\n## Digests\r\n\r\n| 8.4 | sha256:abc |\r\n",  # saved in the web UI
        "# v2.0.0\r\n\r\n## Digests\r\n\r\n| 8.4 | sha256:abc |",  # ... without the last line end
        "# v2.0.0\n\n## Digests\n\n| 8.4 | sha256:abc |\n\n  ",
    ],
)
def test_a_body_saved_in_githubs_web_ui_with_crlf_line_ends_is_unchanged(
    gh: FakeGitHub, streams, on_github: str
) -> None:
    """GitHub's web editor saves a body with CRLF line ends: the same notes are still
    "unchanged" (no write at every rerun); a real edit made there is still replaced."""
    body = "# v2.0.0\n\n## Digests\n\n| 8.4 | sha256:abc |\n"
    gh.add_release(GH_REPO, "v2.0.0", body=on_github)
    client = releases(gh, streams)
    assert client.upsert("v2.0.0", body=body).action == "unchanged"
    assert gh.writes() == []
    gh.release(GH_REPO, "v2.0.0")["body"] = on_github.replace("sha256:abc", "sha256:edited")
    assert client.upsert("v2.0.0", body=body).action == "updated"
    assert gh.release(GH_REPO, "v2.0.0")["body"] == body
    # Spaces ending a line are Markdown (two make a line break): a change there is an edit.
    gh.release(GH_REPO, "v2.0.0")["body"] = body.replace("# v2.0.0\n", "# v2.0.0  \n")
    assert client.upsert("v2.0.0", body=body).action == "updated"


def test_an_empty_body_on_github_is_the_same_as_empty_notes(gh: FakeGitHub, streams) -> None:
    """GitHub gives an empty body as null: empty notes then change nothing."""
    gh.add_release(GH_REPO, "v2.0.0", body=None)
    assert releases(gh, streams).upsert("v2.0.0", body="").action == "unchanged"
    assert gh.writes() == []


def test_prerelease_and_backport_never_take_latest(gh: FakeGitHub, streams) -> None:
    client = releases(gh, streams)
    client.upsert("v1.1.0", body="a")
    rc = client.upsert("v2.0.0-rc.1", body="b")
    backport = client.upsert("v1.0.1", body="c")
    assert not rc.latest and not backport.latest
    assert gh.release(GH_REPO, "v2.0.0-rc.1")["prerelease"] is True
    posts = [r.body for r in gh.writes() if r.method == "POST"]
    assert [p["make_latest"] for p in posts] == ["true", "false", "false"]
    assert client.upsert("v2.0.0", body="d").latest


def test_many_releases_are_paged_through(gh: FakeGitHub, streams) -> None:
    for i in range(105):  # more than one page of 100
        gh.add_release(GH_REPO, f"v1.{i}.0")
    result = releases(gh, streams).upsert("v1.20.1", body="backport")
    assert not result.latest  # v1.104.0 is on the second page
    assert any("page=2" in r.query for r in gh.requests if r.path.endswith("/releases"))


def listed_pages(gh: FakeGitHub) -> list[dict[str, str]]:
    """The query of each request for a page of the list of releases, in turn."""
    lists = [r for r in gh.requests if r.method == "GET" and r.path.endswith("/releases")]
    return [dict(parse_qsl(r.query)) for r in lists]


def test_a_new_release_reads_the_list_once_a_hundred_a_page(gh: FakeGitHub, streams) -> None:
    """Years of releases: a new tag is looked up by its tag (404: no published release),
    then the list, read once, 100 a page (GitHub's most), says whether a draft of it
    exists and whether a higher stable release keeps "latest"."""
    for i in range(250):
        gh.add_release(GH_REPO, f"v1.{i}.0")
    gh.add_release(GH_REPO, "v1.249.1", body="drafted by hand", draft=True)
    result = releases(gh, streams).upsert("v1.249.1", body="backport")
    assert result.action == "updated" and result.draft  # the draft, found in the list
    assert listed_pages(gh) == [
        {"per_page": "100"},
        *({"per_page": "100", "page": p} for p in "23"),
    ]
    by_tag = [r.path for r in gh.requests if "/releases/tags/" in r.path]
    assert by_tag == [f"/repos/{GH_REPO}/releases/tags/v1.249.1"]


def test_an_existing_release_is_found_by_its_tag_and_the_list_read_once(
    gh: FakeGitHub, streams
) -> None:
    for i in range(120):
        gh.add_release(GH_REPO, f"v1.{i}.0")
    result = releases(gh, streams).upsert("v1.119.0", body="new notes")
    assert result.action == "updated" and result.latest
    assert listed_pages(gh) == [{"per_page": "100"}, {"per_page": "100", "page": "2"}]


def test_release_created_meanwhile_is_updated_not_duplicated(gh: FakeGitHub, streams) -> None:
    gh.add_release(GH_REPO, "v2.0.0", body="from the other run")
    # The first lookup misses (the other run had not created it yet); the POST then conflicts.
    gh.script("GET", r"/releases/tags/v2\.0\.0$", 404, NOT_FOUND)
    result = releases(gh, streams).upsert("v2.0.0", body="mine")
    assert result.action == "updated"
    assert len(gh.releases[GH_REPO]) == 1
    assert gh.release(GH_REPO, "v2.0.0")["body"] == "mine"


def test_a_release_stored_before_a_5xx_is_said_created_by_this_run(gh: FakeGitHub, streams) -> None:
    """GitHub stored the new release, then answered 502: the retried POST gets 422 and finds
    it, with this run's notes. This run created it: said so, with the answer lost, never
    "already up to date", which would have an earlier run publish it; no duplicate."""
    gh.script("POST", r"/releases$", 502, {"message": "Server Error"}, stored=True)
    result = releases(gh, streams, retries=1).upsert("v2.0.0", body="mine")
    assert result.action == "created"
    assert len(gh.releases[GH_REPO]) == 1
    out = streams[0].getvalue()
    assert "already up to date" not in out, out
    assert (
        "created GitHub release v2.0.0 (GitHub stored it but its answer was lost: the "
        "retried request found it): http"
    ) in out, out


def test_a_draft_of_the_tag_is_updated_not_duplicated(gh: FakeGitHub, streams) -> None:
    # GitHub never returns a draft by its tag: a draft made by hand (or by a drafter) is
    # found in the list, its body replaced, and it stays a draft, with a warning.
    gh.add_release(GH_REPO, "v2.0.0", body="drafted by hand", draft=True)
    result = releases(gh, streams).upsert("v2.0.0", body="## Digests\n\nsha256:abc")
    assert result.action == "updated"
    assert [r.method for r in gh.writes()] == ["PATCH"]
    assert len(gh.releases[GH_REPO]) == 1
    draft = gh.releases[GH_REPO][0]
    assert draft["body"] == "## Digests\n\nsha256:abc"
    assert draft["draft"] is True
    assert "is a draft" in streams[1].getvalue() + streams[0].getvalue()
    assert result.draft and not result.latest  # GitHub marks no draft "latest"
    again = releases(gh, streams).upsert("v2.0.0", body="## Digests\n\nsha256:abc")
    assert again.action == "unchanged" and again.draft
    assert len(gh.releases[GH_REPO]) == 1


def test_a_draft_of_a_higher_tag_does_not_take_latest_away(gh: FakeGitHub, streams) -> None:
    gh.add_release(GH_REPO, "v3.0.0", body="next release, drafted ahead", draft=True)
    result = releases(gh, streams).upsert("v2.0.0", body="notes")
    assert result.action == "created"
    assert result.latest
    assert [r.body["make_latest"] for r in gh.writes() if r.method == "POST"] == ["true"]


def test_a_tag_not_on_github_gets_no_release_and_no_tag_at_the_default_branch(
    gh: FakeGitHub, streams
) -> None:
    # GitHub creates a missing tag at the default branch's head when a release of it is
    # created: a release of a tag not pushed yet would pin the wrong commit.
    gh.push_tags(GH_REPO, "v1.0.0")
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="notes")
    err = info.value
    assert err.exit_code == 15
    assert "the tag v2.0.0 is not in acme/php-fpm-images on GitHub" in err.message
    assert "git push origin v2.0.0" in (err.hint or "")
    assert gh.writes() == []
    assert gh.tags[GH_REPO] == {"v1.0.0": "main"}
    # a draft of the tag needs none (GitHub makes the tag when it is published): updated
    gh.add_release(GH_REPO, "v2.0.0", body="drafted by hand", draft=True)
    assert releases(gh, streams).upsert("v2.0.0", body="notes").action == "updated"
    # once pushed, the release is created
    gh.push_tags(GH_REPO, "v1.0.0", "v3.0.0")
    assert releases(gh, streams).upsert("v3.0.0", body="notes").action == "created"


def test_401_names_the_token(gh: FakeGitHub, streams) -> None:
    with pytest.raises(GitHubError) as info:
        releases(gh, streams, token="ghs_wrongTokenValue000").upsert("v2.0.0", body="x")
    err = info.value
    assert err.exit_code == 15
    assert "401" in err.message and "GITHUB_TOKEN" in err.message
    assert "GITHUB_TOKEN" in (err.hint or "")
    assert gh.writes() == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_403_names_contents_write(gh: FakeGitHub, streams, method: str) -> None:
    if method == "PATCH":
        gh.add_release(GH_REPO, "v2.0.0", body="old")
    gh.script(method, r"/releases", 403, FORBIDDEN)
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="new")
    err = info.value
    doing = "creating" if method == "POST" else "updating"  # what failed, said as it was
    assert err.message.startswith(f"{doing} the GitHub release v2.0.0 of {GH_REPO} failed")
    assert "403" in err.message and "Resource not accessible by integration" in err.message
    assert "contents: write" in (err.hint or "")
    assert "GITHUB_TOKEN" in (err.hint or "")
    assert GH_REPO in (err.hint or "")


def test_403_echoing_the_token_is_redacted(gh: FakeGitHub, streams) -> None:
    gh.script("POST", r"/releases", 403, {"message": f"token {GH_TOKEN} lacks scope"})
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="new")
    assert GH_TOKEN not in info.value.message
    assert GH_TOKEN not in streams[0].getvalue() + streams[1].getvalue()


def test_unknown_repository(gh: FakeGitHub, streams) -> None:
    env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": GH_TOKEN}
    client = GitHubReleases.from_env(
        env,
        repository="acme/nope",
        settings=FAST,
        output=Output({}, stream=streams[0], err_stream=streams[1]),
    )
    with pytest.raises(GitHubError, match=r"acme/nope not found.*\(404\)") as info:
        client.upsert("v2.0.0", body="x")
    # Nothing was updated (nor created): the repository was not found when the release
    # was looked for, and the message says that, not "updating ... failed".
    assert info.value.message.startswith(
        "looking for the GitHub release v2.0.0 in acme/nope failed"
    )
    assert "nothing on GitHub was created or changed" in info.value.message
    assert gh.writes() == []


def test_unreachable_api(streams) -> None:
    with FakeGitHub(token=GH_TOKEN) as server:
        url = server.url
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": GH_TOKEN, "GITHUB_REPOSITORY": GH_REPO}
    client = GitHubReleases.from_env(
        env, settings=FAST, output=Output({}, stream=streams[0], err_stream=streams[1])
    )
    with pytest.raises(GitHubError, match="cannot reach the GitHub API") as info:
        client.upsert("v2.0.0", body="x")
    assert "GITHUB_API_URL" in (info.value.hint or "")
    assert "(the connection failed: " in info.value.message
    assert "ConnectionError" not in info.value.message  # words, not a Python class name


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _refused_port() -> tuple[socket.socket, int]:
    """A port bound and never listened on (every connection refused), and its socket."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    return held, int(held.getsockname()[1])


def test_a_loopback_github_api_is_reached_directly_whatever_the_proxy_variables_say(
    gh: FakeGitHub, streams, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy_settings(monkeypatch)
    held, port = _refused_port()
    with held:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
        result = releases(gh, streams).upsert("v2.0.0", body="direct")
    assert result.action == "created"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_github_api_s_proxy_that_fails_is_named_with_its_variable(
    scheme: str, streams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that refuses the connection, or wants other credentials (HTTP 407: not
    retried), is said as the proxy's failure, naming it and its variable."""
    _no_proxy_settings(monkeypatch)
    variable = f"{scheme}_proxy"
    env = {"GITHUB_API_URL": f"{scheme}://github.test:1", "GITHUB_TOKEN": GH_TOKEN}
    out = Output({}, stream=streams[0], err_stream=streams[1])
    settings = replace(FAST, retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.01))
    held, port = _refused_port()
    with held:
        monkeypatch.setenv(variable, f"http://corp:Dead-Pr0xy-Pw@127.0.0.1:{port}")
        client = GitHubReleases.from_env(env, repository=GH_REPO, output=out, settings=settings)
        with pytest.raises(GitHubError) as refused:
            client.upsert("v2.0.0", body="x")
    said = refused.value.message + (refused.value.hint or "")
    assert f"cannot reach the proxy 127.0.0.1:{port} ({variable}): connection refused" in said
    assert "after 3 attempts" in said
    assert "ProxyError" not in said and "Pr0xy-Pw" not in said, said

    with Unaccepting() as unaccepting:  # a proxy behind a firewall that drops the connection
        monkeypatch.setenv(variable, f"http://{unaccepting.host}")
        once = replace(FAST, timeout=1)
        client = GitHubReleases.from_env(env, repository=GH_REPO, output=out, settings=once)
        with pytest.raises(GitHubError) as dropped:
            client.upsert("v2.0.0", body="x")
    assert (
        f"cannot reach the proxy {unaccepting.host} ({variable}): no connection within 1 s"
        in dropped.value.message
    )

    with ConnectProxy({}, credentials="corp:Right-Pr0xy-Pw") as proxy:
        monkeypatch.setenv(variable, proxy.url("corp:Wrong-Pr0xy-Pw"))
        client = GitHubReleases.from_env(env, repository=GH_REPO, output=out, settings=settings)
        with pytest.raises(GitHubError) as wrong:
            client.upsert("v2.0.0", body="x")
    said = wrong.value.message + (wrong.value.hint or "")
    assert f"the proxy {proxy.host} ({variable}) wants other credentials (HTTP 407)" in said
    assert f"put the user and password it takes in {variable}" in said
    assert "Pr0xy-Pw" not in said, said
    assert len(proxy.requests) == 1  # not retried


def _gh_release_to_a_silent_api(tmp_path: Path, **settings: str) -> tuple[Any, float, str]:
    """`publisher gh-release` against an API that takes each connection and never answers,
    with the ``PUBLISHER_*`` ``settings``: its result, how long it took and the API's host."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n\nDigests here.\n", encoding="utf-8")
    with Silent() as silent:
        env = {
            "GITHUB_API_URL": f"http://{silent.host}",
            "GITHUB_TOKEN": GH_TOKEN,
            "GITHUB_REPOSITORY": GH_REPO,
            **settings,
        }
        started = time.monotonic()
        result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
        took = time.monotonic() - started
        assert silent.accepted.is_set()
    return result, took, silent.host


def test_cli_gh_release_to_an_api_that_never_answers_is_told_apart_and_bounded(
    tmp_path: Path,
) -> None:
    """An API that accepts the connection and never answers is said as that (its tip is
    about the server, not the network to it), not as a failed connection; and
    PUBLISHER_RETRY_TOTAL_TIMEOUT bounds the run, as it does a registry's."""
    result, took, host = _gh_release_to_a_silent_api(
        tmp_path,
        PUBLISHER_RETRY_ATTEMPTS="3",
        PUBLISHER_RETRY_INITIAL_DELAY="0",
        PUBLISHER_RETRY_TOTAL_TIMEOUT="1",
    )
    assert result.exit_code == 15, result.output + result.stderr
    assert took < 10, took
    said = " ".join(result.stderr.split())
    assert "no answer within 1 s" in said, said
    assert "the connection failed" not in said, said
    assert f"{host} accepted the connection but did not answer in time" in said, said
    assert "PUBLISHER_RETRY_TOTAL_TIMEOUT" in said, said


def test_cli_gh_release_waits_for_an_answer_as_long_as_publisher_request_timeout_says(
    tmp_path: Path,
) -> None:
    """PUBLISHER_REQUEST_TIMEOUT is each request's time for its answer (rounded up to whole
    seconds for the GitHub API), however long the total time the retries may take."""
    result, took, host = _gh_release_to_a_silent_api(
        tmp_path,
        PUBLISHER_RETRY_ATTEMPTS="1",
        PUBLISHER_RETRY_TOTAL_TIMEOUT="600",
        PUBLISHER_REQUEST_TIMEOUT="1.5",
    )
    assert result.exit_code == 15, result.output + result.stderr
    assert took < 20, took
    said = " ".join(result.stderr.split())
    assert "no answer within 2 s" in said, said
    assert f"{host} accepted the connection but did not answer in time" in said, said


def test_an_api_that_never_answers_is_retried_as_the_retry_policy_says(streams) -> None:
    """Each attempt at an API that never answers waits the request's time limit; the
    attempts are the retry policy's, and the error counts them."""
    with Silent() as silent:
        env = {"GITHUB_API_URL": f"http://{silent.host}", "GITHUB_TOKEN": GH_TOKEN,
               "GITHUB_REPOSITORY": GH_REPO}  # fmt: skip
        settings = replace(FAST, timeout=1, retry=RetryPolicy(attempts=2, initial_delay=0))
        client = GitHubReleases.from_env(
            env, settings=settings, output=Output({}, stream=streams[0], err_stream=streams[1])
        )
        with pytest.raises(GitHubError) as info:
            client.upsert("v2.0.0", body="x")
    assert "no answer within 1 s" in info.value.message
    assert "after 2 attempts" in info.value.message, info.value.message
    assert "accepted the connection but did not answer" in (info.value.hint or "")
    assert "GITHUB_API_URL" not in (info.value.hint or "")


def test_an_asset_that_cannot_be_read_is_a_file_error_naming_it(gh: FakeGitHub, streams, tmp_path):
    env = gh_env(gh)
    client = GitHubReleases.from_env(
        env, settings=FAST, output=Output({}, stream=streams[0], err_stream=streams[1])
    )
    with pytest.raises(FileAccessError) as info:
        client.attach("v2.0.0", tmp_path / "v2.0.0.env")
    assert info.value.exit_code == 18
    assert info.value.message.startswith("cannot read v2.0.0.env to attach it to the GitHub")
    assert "No such file or directory" in info.value.message
    assert info.value.hint
    assert gh.writes() == []


def test_a_failed_upload_of_a_new_pins_file_leaves_the_old_one_and_a_rerun_replaces_it(
    gh: FakeGitHub, streams, tmp_path: Path
) -> None:
    gh.add_release(GH_REPO, "v2.0.0", body="notes")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text("PHP_PINS_SCHEMA='1'\nOLD=1\n", encoding="utf-8")
    client = releases(gh, streams)
    assert client.attach("v2.0.0", pins) == "attached"
    pins.write_text("PHP_PINS_SCHEMA='1'\nNEW=1\n", encoding="utf-8")
    gh.script("POST", r"/releases/[0-9]+/assets$", 500, {"message": "Server Error"})
    with pytest.raises(GitHubError):
        client.attach("v2.0.0", pins)
    assets = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert [a["name"] for a in assets] == ["v2.0.0.env"]
    assert "OLD=1" in assets[0]["content"]
    # A run cut off after its upload leaves the new file under the temporary name.
    gh.release(GH_REPO, "v2.0.0")["assets"].append(
        {**assets[0], "id": 999, "name": "v2.0.0.env.uploading", "label": "", "content": "half"}
    )
    assets[1]["url"] = assets[1]["url"].rsplit("/", 1)[0] + "/999"
    assert client.attach("v2.0.0", pins) == "replaced"
    assets = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert [a["name"] for a in assets] == ["v2.0.0.env"]
    assert "NEW=1" in assets[0]["content"]
    assert assets[0]["browser_download_url"].endswith("/download/v2.0.0/v2.0.0.env")
    assert client.attach("v2.0.0", pins) == "unchanged"


@pytest.mark.parametrize("name", ["v2.0.0.env", "v2.0.0.env.uploading"])
def test_an_upload_cut_off_on_github_is_uploaded_again_not_taken_for_attached(
    gh: FakeGitHub, streams, tmp_path: Path, name: str
) -> None:
    """An upload cut off halfway leaves an asset GitHub lists with state "new" (its name and
    label set, its bytes not all there; nobody can download it): a rerun deletes it and
    uploads the file again, instead of saying it is already attached."""
    import hashlib

    release = gh.add_release(GH_REPO, "v2.0.0", body="notes")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    sha = hashlib.sha256(pins.read_bytes()).hexdigest()[:16]
    release["assets"].append(
        {"id": 999, "url": f"{release['url'].rsplit('/', 1)[0]}/assets/999", "name": name,
         "label": f"v2.0.0.env (sha256:{sha})", "state": "new", "content_type": "text/plain",
         "size": 0, "content": "", "download_count": 0,
         "browser_download_url": f"https://github.example/{GH_REPO}/releases/download/v2.0.0/{name}",
         "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}
    )  # fmt: skip
    client = releases(gh, streams)
    assert client.attach("v2.0.0", pins) == "attached"
    assets = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert [(a["name"], a["state"]) for a in assets] == [("v2.0.0.env", "uploaded")]
    assert "PHP_PINS_SCHEMA" in assets[0]["content"]
    assert client.attach("v2.0.0", pins) == "unchanged"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", r"/releases/[0-9]+$"), ("POST", r"/releases$"), ("DELETE", r"/assets/[0-9]+$")],
)
def test_a_5xx_then_success_is_retried_for_every_write(
    gh: FakeGitHub, streams, tmp_path: Path, method: str, path: str
) -> None:
    """With retries on (as in a real run), a passing 502 on a write is retried as on a
    read: an update of the body (a PATCH, sending the same body again) as much as a create."""
    if method != "POST":
        gh.add_release(GH_REPO, "v2.0.0", body="old notes")
    client = releases(gh, streams, retries=2)
    pins = pins_to_attach(client, tmp_path, replacing=method == "DELETE")
    gh.script(method, path, 502, {"message": "Server Error"})
    if method == "DELETE":
        assert client.attach("v2.0.0", pins) == "replaced"
    else:
        assert client.upsert("v2.0.0", body="new notes").action in ("created", "updated")
        assert gh.release(GH_REPO, "v2.0.0")["body"] == "new notes"
    assert [r.method for r in gh.requests].count(method) >= 2


def test_a_5xx_on_every_retry_is_an_answer_not_an_unreachable_api(gh: FakeGitHub, streams) -> None:
    """With retries on (as in a real run), GitHub answering 502 until none is left says
    so, with the outage tip: the API was reached, the network is not to blame."""
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 502, {"message": "Server Error"}, times=3)
    client = releases(gh, streams, retries=1)
    with pytest.raises(GitHubError) as info:
        client.upsert("v2.0.0", body="x")
    err = info.value
    assert "GitHub answered 502" in err.message
    assert "cannot reach" not in err.message
    assert "githubstatus.com" in (err.hint or "")
    assert "GITHUB_API_URL" not in (err.hint or "")
    assert gh.writes() == []


def test_each_retry_of_a_5xx_is_said_with_its_wait_and_attempt(gh: FakeGitHub, streams) -> None:
    """A passing outage is retried in the open: each retry says what GitHub answered,
    when the request goes again, and which attempt of how many it is (on stderr)."""
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 502, {"message": "Server Error"}, times=2)
    assert limited_client(gh, streams).upsert("v2.0.0", body="x").action == "created"
    said = [line for line in streams[1].getvalue().splitlines() if "trying again" in line]
    assert said == [
        "GitHub API: GET /repos/acme/php-fpm-images answered 502; trying again in 0.5 s "
        "(attempt 2 of 4)",
        "GitHub API: GET /repos/acme/php-fpm-images answered 502; trying again in 1 s "
        "(attempt 3 of 4)",
    ], streams[1].getvalue()
    assert "GitHub API" not in streams[0].getvalue()


def test_retry_after_waits_of_an_outage_count_toward_the_bound(gh: FakeGitHub, streams) -> None:
    """A 503 asking to wait 2 s each time is waited for once; the second ask, which would
    take the request's waits past the bound (3 s), fails at once with GitHub's answer."""
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 503, {"message": "Service Unavailable"},
              headers={"Retry-After": "2"}, times=3)  # fmt: skip
    client = limited_client(gh, streams, max_wait=3)
    with pytest.raises(GitHubError) as info:
        client.upsert("v2.0.0", body="x")
    assert "GitHub answered 503" in info.value.message
    said = [line for line in streams[1].getvalue().splitlines() if "trying again" in line]
    assert said == [
        "GitHub API: GET /repos/acme/php-fpm-images answered 503; trying again in 2 s, "
        "as its Retry-After asks (attempt 2 of 4)"
    ], streams[1].getvalue()
    assert [r.method for r in gh.requests].count("GET") == 2
    assert gh.writes() == []


@pytest.mark.parametrize(
    ("status", "message", "headers", "wait"),
    [
        # A secondary rate limit answered with 429: a rate limit, not an outage.
        (429, "You have exceeded a secondary rate limit", {"Retry-After": "60"}, "wait 60 s"),
        # The primary limit, spent: when it resets.
        (
            403,
            "API rate limit exceeded for installation ID 1.",
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"},
            "resets at 00:00 UTC",
        ),
    ],
)
def test_a_rate_limit_says_so_and_when_to_rerun(
    gh: FakeGitHub, streams, status: int, message: str, headers: dict[str, str], wait: str
) -> None:
    gh.script("GET", r"/repos/[^/]+/[^/]+$", status, {"message": message}, headers=headers)
    client = GitHubReleases.from_env(  # a wait longer than its bound
        gh_env(gh),
        output=Output({}, stream=streams[0], err_stream=streams[1]),
        settings=replace(FAST, max_wait=30),
    )
    with pytest.raises(GitHubError) as info:
        client.upsert("v2.0.0", body="x")
    err = info.value
    assert err.exit_code == 15
    assert f"rate limit exceeded ({status}: {message})" in err.message
    assert wait in err.message
    assert "githubstatus" not in (err.hint or "")
    assert "rerun the step" in (err.hint or "")
    assert gh.writes() == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "You have exceeded a secondary rate limit"),
        (403, "You have exceeded a secondary rate limit. Please wait a few minutes."),
    ],
)
def test_a_retry_after_longer_than_the_wait_allowed_fails_at_once_saying_it(
    gh: FakeGitHub, streams, status: int, message: str
) -> None:
    """With retries on (as in a real run), a secondary rate limit asking to wait an hour is
    not slept through in silence (three times over): it fails at once, saying the wait."""
    import threading

    gh.script("GET", r"/repos/[^/]+/[^/]+$", status, {"message": message},
              headers={"Retry-After": "3600"}, times=4)  # fmt: skip
    client = GitHubReleases.from_env(
        gh_env(gh),
        settings=Settings(timeout=5, retry=AS_SAID, seconds_between_requests=0),
        output=Output({}, stream=streams[0], err_stream=streams[1]),
    )
    raised: list[BaseException] = []

    def run() -> None:
        try:
            client.upsert("v2.0.0", body="x")
        except BaseException as exc:  # handed to the test's thread
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "slept through the Retry-After"
    assert len(raised) == 1 and isinstance(raised[0], GitHubError), raised
    assert f"rate limit exceeded ({status}: {message})" in raised[0].message
    assert "GitHub asks to wait 3600 s" in raised[0].message
    assert gh.writes() == []


def test_a_short_retry_after_is_waited_for_and_said(gh: FakeGitHub, streams) -> None:
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 429,
              {"message": "You have exceeded a secondary rate limit"},
              headers={"Retry-After": "1"})  # fmt: skip
    client = GitHubReleases.from_env(
        gh_env(gh),
        settings=Settings(timeout=5, retry=AS_SAID, seconds_between_requests=0),
        output=Output({}, stream=streams[0], err_stream=streams[1]),
    )
    assert client.upsert("v2.0.0", body="x").action == "created"
    said = streams[1].getvalue()  # progress, on stderr: stdout is for the result
    assert (
        "GitHub API: secondary rate limit (429 to GET /repos/acme/php-fpm-images); waiting 1 s, "
        "until "
    ) in said, said
    assert "UTC, as its Retry-After asks" in said, said
    assert "GitHub API" not in streams[0].getvalue()


@pytest.mark.parametrize("attempts", ["1", "2"])
def test_rate_limits_are_waited_for_whatever_the_retry_attempts(
    gh: FakeGitHub, tmp_path: Path, attempts: str
) -> None:
    """PUBLISHER_RETRY_ATTEMPTS bounds the retries after a failure (no answer, a failed
    connection, a 5xx), not the waits for a rate limit: with one attempt, or two, a 429 and
    then a 403 saying a rate limit, each asking to wait, are waited for as GitHub asks."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 429,
              {"message": "You have exceeded a secondary rate limit"},
              headers={"Retry-After": "1"}, times=2)  # fmt: skip
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 403, {"message": "API rate limit exceeded"},
              headers={"Retry-After": "1", "X-RateLimit-Remaining": "0"})  # fmt: skip
    env = dict(gh_env(gh), PUBLISHER_RETRY_ATTEMPTS=attempts, PUBLISHER_RETRY_TOTAL_TIMEOUT="1")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output + result.stderr
    assert took >= 3, took
    waits = [line for line in result.stderr.splitlines() if "rate limit" in line]
    assert len(waits) == 3, result.stderr
    assert "waiting 1 s" in waits[2] and "primary rate limit (403 to GET" in waits[2], waits
    assert [r.method for r in gh.writes()] == ["POST"]


def limited_client(gh: FakeGitHub, streams, *, debug: bool = False, **shrunk: float):
    """A client retrying as in a real run, its waits for a rate limit ``shrunk``."""
    return GitHubReleases.from_env(
        gh_env(gh),
        settings=Settings(timeout=5, retry=AS_SAID, seconds_between_requests=0, **shrunk),
        output=Output({}, stream=streams[0], err_stream=streams[1], debug=debug),
    )


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_spent_primary_limit_is_waited_for_saying_why_and_until_when(
    gh: FakeGitHub, streams, capfd: pytest.CaptureFixture[str], debug: bool
) -> None:
    """A spent primary limit that resets soon is waited for: publisher's own progress line
    says the cause and when it ends; PyGithub's own log lines ("Setting next backoff to
    29.7s", naming neither) are --debug lines only, and never raw on stderr."""
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 1)}
    gh.script("GET", r"/repos/[^/]+/[^/]+$", 403, {"message": "API rate limit exceeded"},
              headers=limited)  # fmt: skip
    assert limited_client(gh, streams, debug=debug).upsert("v2.0.0", body="x").action == "created"
    said = streams[1].getvalue()  # progress, on stderr
    waits = [line for line in said.splitlines() if "waiting" in line]
    assert len(waits) == 1, said
    assert waits[0].startswith(
        "GitHub API: primary rate limit (403 to GET /repos/acme/php-fpm-images); waiting "
    ), said
    assert waits[0].endswith(" UTC, when the limit resets"), said
    assert "backoff" not in said, said
    # the URL as requested, its port too (PyGithub's own line leaves it out)
    assert (f"debug: GitHub API: GET {gh.url}/repos/acme/php-fpm-images " in said) == debug, said
    assert all(line.startswith("debug: ") for line in said.splitlines() if "==>" in line), said
    raw = capfd.readouterr().err
    assert "Request GET" not in raw and "backoff" not in raw and "==>" not in raw, raw


def test_a_secondary_limit_naming_no_wait_is_waited_for_within_the_bound_then_said(
    gh: FakeGitHub, streams
) -> None:
    """A secondary rate limit with no Retry-After is waited for (GitHub's docs: a minute;
    shrunk here), said each time, and the waits of one request together stay within the
    bound (2 minutes in a real run): past it, the error says it is a secondary rate limit
    and how long was waited, not "403 to every attempt" with an outage tip."""
    gh.script("POST", r"/releases$", 403,
              {"message": "You have exceeded a secondary rate limit. Please wait a few "
               "minutes before you try again."}, times=10)  # fmt: skip
    client = limited_client(gh, streams, secondary_wait=0.2, max_wait=0.5)
    with pytest.raises(GitHubError) as info:
        client.upsert("v2.0.0", body="x")
    err = info.value
    assert err.exit_code == 15
    assert "failed: GitHub API secondary rate limit exceeded (403: You have exceeded" in err.message
    assert "still after waiting 0.4 s" in err.message, err.message
    assert "GitHub names no time to wait" in err.message, err.message
    assert "every attempt" not in err.message
    assert "githubstatus" not in (err.hint or "")
    said = streams[1].getvalue()
    waits = [line for line in said.splitlines() if "waiting" in line]
    assert len(waits) == 2, said
    assert all(
        line.startswith(
            "GitHub API: secondary rate limit (403 to POST /repos/acme/php-fpm-images/releases);"
            " waiting 0.2 s, until "
        )
        and line.endswith(" UTC, as GitHub names no time to wait")
        for line in waits
    ), said
    assert [r.method for r in gh.writes()] == ["POST"] * 3
    assert gh.releases[GH_REPO] == []


def test_a_429_naming_no_wait_is_a_secondary_limit_waited_for_as_a_403_is(
    gh: FakeGitHub, streams
) -> None:
    gh.script("POST", r"/releases$", 429, {"message": "Too many requests"})
    client = limited_client(gh, streams, secondary_wait=0.2)
    assert client.upsert("v2.0.0", body="x").action == "created"
    said = streams[1].getvalue()
    assert "GitHub API: secondary rate limit (429 to POST /repos/" in said, said
    assert [r.method for r in gh.writes()] == ["POST", "POST"]


def test_a_secondary_limit_longer_than_the_bound_fails_at_once_saying_so(
    gh: FakeGitHub, streams
) -> None:
    """The real bound and the real wait: a secondary limit naming no wait would be waited
    for a minute, and never past the 2 minutes docs/workflows.md promises."""
    gh.script("POST", r"/releases$", 429, {"message": "You have exceeded a secondary rate limit"},
              times=10)  # fmt: skip
    client = limited_client(gh, streams, max_wait=59)
    started = time.monotonic()
    with pytest.raises(GitHubError) as info:
        client.upsert("v2.0.0", body="x")
    assert time.monotonic() - started < 10
    assert "secondary rate limit exceeded (429: You have exceeded" in info.value.message
    assert "its docs ask for a minute at least" in info.value.message
    assert "waiting" not in info.value.message
    assert len(gh.writes()) == 1
    assert Settings().max_wait == 120 and Settings().secondary_wait == 60


def test_the_client_librarys_log_lines_never_reach_stderr_raw_in_a_real_process(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """PyGithub puts a handler of its own on stderr when it is imported: in a real run
    (not under pytest's capture) its log lines come out only with --debug, as debug lines."""
    gh.script("POST", r"/releases$", 403, FORBIDDEN, times=2)
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),  # this checkout's publisher, not an installed one
        "GITHUB_ACTIONS": "true",
        **gh_env(gh),
    }
    for debug in ([], ["--debug"]):
        proc = subprocess.run(
            [sys.executable, "-m", "publisher", *debug, "gh-release", "v2.0.0", "--notes",
             str(notes)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        assert proc.returncode == 15, proc.stdout + proc.stderr
        logged = [line for line in proc.stderr.splitlines() if "==>" in line]
        assert bool(logged) == bool(debug), proc.stderr
        assert all(line.startswith("debug: GitHub API: ") for line in logged), proc.stderr
        assert "==>" not in proc.stdout, proc.stdout
        shown = [line for line in (proc.stdout + proc.stderr).splitlines() if GH_TOKEN in line]
        assert all(line.startswith("::add-mask::") for line in shown), shown
        assert "error: GitHub API error:" in proc.stderr, proc.stderr


def test_a_list_of_releases_that_is_no_list_is_a_github_error(gh: FakeGitHub, streams) -> None:
    gh.script("GET", r"/releases$", 200, {"message": "weird"}, times=3)
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="x")
    err = info.value
    assert err.exit_code == 15
    assert (
        "GitHub answered the list of releases in acme/php-fpm-images with something that is "
        "not a list of releases"
    ) in err.message, err.message
    assert "nothing on GitHub was created or changed" in err.message
    assert gh.writes() == []


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("<html>captive portal</html>", "a JSON string, not an object"),
        ({"message": "weird"}, "it has no id"),
        ({**{"id": 7, "url": "x"}}, "it has no tag_name"),
        ("tag", 'its tag_name is "v1.0.0", not v2.0.0'),
    ],
    ids=["text", "object", "partial", "another-tag"],
)
def test_a_lookup_answered_with_no_release_of_the_tag_is_not_taken_for_one(
    gh: FakeGitHub, streams, answer, problem: str
) -> None:
    """A 200 to the lookup of a release by its tag that is not that release is said as it
    is, before anything is written: never PATCHed, as if it were, at a URL of its own."""
    if answer == "tag":
        answer = gh.add_release(GH_REPO, "v1.0.0", body="old")
    gh.script("GET", r"/releases/tags/v2\.0\.0$", 200, answer)
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="x")
    err = info.value
    assert err.exit_code == 15
    assert (
        "GitHub answered the lookup of the release v2.0.0 in acme/php-fpm-images with "
        f"something that is not a release ({problem})"
    ) in err.message, err.message
    assert "not found" not in err.message
    assert gh.writes() == []


def test_cli_gh_release_created_with_an_answer_that_is_no_release_says_so_not_created(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub stored the release, its 201 is no release: exit 15, saying what GitHub
    answered, and nothing said created (or written to the step's outputs) before it is
    known; a rerun finds the release and takes it as it is."""
    gh.script("POST", r"/releases$", 201, {"id": "x"}, stored=True)
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n\nDigests here.\n", encoding="utf-8")
    outputs = tmp_path / "out"
    outputs.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), **gh_env(gh)}
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 15, result.output + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    assert "created GitHub release" not in result.stdout, result.stdout
    assert (
        "GitHub answered the creation of the release v2.0.0 in acme/php-fpm-images with "
        'something that is not a release (its id is "x"); GitHub may hold the release v2.0.0'
    ) in result.stderr, result.stderr
    assert "release-action" not in outputs.read_text()
    again = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert again.exit_code == 0, again.output + again.stderr
    assert "release-action=unchanged" in outputs.read_text()
    assert len(gh.releases[GH_REPO]) == 1


@pytest.mark.parametrize(
    ("answer", "problem"),
    [({"message": "weird"}, "it reads as no list of objects"), ([{"id": 3}], "it has no url")],
    ids=["object", "no-asset"],
)
def test_a_list_of_assets_that_is_no_list_of_assets_is_a_github_error(
    gh: FakeGitHub, streams, tmp_path: Path, answer, problem: str
) -> None:
    client = releases(gh, streams)
    client.upsert("v2.0.0", body="notes")
    gh.script("GET", r"/releases/[0-9]+/assets$", 200, answer)
    with pytest.raises(GitHubError) as info:
        pins_to_attach(client, tmp_path, replacing=True)
    assert info.value.exit_code == 15
    assert (
        "GitHub answered the list of assets of the release v2.0.0 in acme/php-fpm-images with "
        f"something that is not a list of assets ({problem})"
    ) in info.value.message, info.value.message
    assert [r.method for r in gh.writes()] == ["POST"]


def test_an_update_answered_with_no_release_is_a_github_error(gh: FakeGitHub, streams) -> None:
    gh.add_release(GH_REPO, "v2.0.0", body="old")
    gh.script("PATCH", r"/releases/[0-9]+$", 200, ["not", "a", "release"])
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="new")
    assert (
        "GitHub answered the update of the release v2.0.0 in acme/php-fpm-images with something "
        "that is not a release (a JSON array, not an object); GitHub may have made the update"
    ) in info.value.message, info.value.message
    assert "updated GitHub release" not in streams[0].getvalue()


def test_a_validation_failure_gives_githubs_reasons_and_no_outage_tip(
    gh: FakeGitHub, streams
) -> None:
    invalid = {
        "message": "Validation Failed",
        "errors": [
            {"resource": "Release", "code": "custom", "field": "tag_name",
             "message": "tag_name is not a valid tag"},
            {"resource": "Release", "code": "invalid", "field": "target_commitish"},
        ],
    }  # fmt: skip
    gh.script("POST", r"/releases$", 422, invalid)
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="x")
    err = info.value
    assert err.message.endswith(
        "GitHub answered 422: Validation Failed; tag_name is not a valid tag; "
        "Release target_commitish invalid"
    )
    assert "githubstatus" not in (err.hint or "")
    # A 5xx is still GitHub's trouble: the outage tip.
    gh.script("POST", r"/releases$", 500, {"message": "Server Error"})
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="x")
    assert "githubstatus.com" in (info.value.hint or "")


def test_cli_gh_release_behind_a_proxy_to_a_github_naming_another_address_says_both(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub behind a port-forwarding proxy (or an Enterprise Server configured under
    another address than GITHUB_API_URL) names its own address in its answers, where the
    GitHub client sends no token: a GitHub API error naming both addresses and what to set,
    before any write; never an internal error."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n\nDigests here.\n", encoding="utf-8")
    with FaultProxy(gh.host) as proxy:
        env = {**gh_env(gh), "GITHUB_API_URL": proxy.url}
        result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
        assert proxy.counts, "the request went through the proxy"
        via = proxy.url
    said = " ".join(result.stderr.split())
    assert result.exit_code == 15, result.output + result.stderr
    assert "internal error" not in said and "AssertionError" not in said, said
    assert f"the GitHub API at {via} answered with addresses on {gh.url} (" in said, said
    assert f"set GITHUB_API_URL to the address the server names itself by ({gh.url})" in said
    assert f"rewrite the addresses in its answers to {via}" in said, said
    assert "nothing on GitHub was created or changed" in said, said
    assert gh.writes() == []


ELSEWHERE = "http://127.0.0.1:9"  # never contacted: refused before any connection


@pytest.mark.parametrize("where", ["next-page", "upload", "asset"])
def test_an_answer_naming_another_address_is_a_github_error_naming_it(
    gh: FakeGitHub, streams, tmp_path: Path, where: str
) -> None:
    """Every address GitHub's answers give is checked, the Link to a list's next page too,
    and refused as a GitHub API error saying where it points."""
    release = gh.add_release(GH_REPO, "v2.0.0", body="notes")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    client = releases(gh, streams)
    if where == "next-page":
        link = f'<{ELSEWHERE}/repos/{GH_REPO}/releases?page=2>; rel="next"'
        gh.script("GET", r"/releases$", 200, [release], headers={"Link": link})
        act: Any = lambda: client.upsert("v2.0.0", body="new notes")  # noqa: E731
    elif where == "upload":
        release["upload_url"] = f"{ELSEWHERE}/repos/{GH_REPO}/releases/1/assets{{?name,label}}"
        act = lambda: client.attach("v2.0.0", pins)  # noqa: E731
    else:
        client.attach("v2.0.0", pins)
        release["assets"][0]["url"] = f"{ELSEWHERE}/repos/{GH_REPO}/releases/assets/1"
        pins.write_text("PHP_PINS_SCHEMA='1'\nNEW=1\n", encoding="utf-8")
        act = lambda: client.attach("v2.0.0", pins)  # noqa: E731
    writes = len(gh.writes())
    with pytest.raises(GitHubError) as info:
        act()
    err = info.value
    assert err.exit_code == 15
    assert f"the GitHub API at {gh.url} answered with addresses on {ELSEWHERE} (" in err.message
    assert "GITHUB_API_URL" in (err.hint or "")
    assert all(r.method != "DELETE" for r in gh.writes()[writes:])


def test_githubs_own_uploads_host_is_no_other_address() -> None:
    """github.com takes uploads at uploads.github.com: that address is GitHub's, not
    refused (it is checked before any request: nothing is sent here)."""
    client = GitHubReleases("acme/app", "t0ken-abcdefgh", settings=FAST)
    check = client._client.requester._Requester__assertUrlAllowed  # type: ignore[attr-defined]
    check("https://uploads.github.com/repos/acme/app/releases/1/assets")
    check("https://api.github.com/repos/acme/app/releases?page=2")
    for elsewhere in ("https://api.github.com:8443/x", "http://api.github.com/x",
                      "https://uploads.example.org/x"):  # fmt: skip
        with pytest.raises(Exception) as info:  # publisher's own, private exception
            check(elsewhere)
        assert not isinstance(info.value, AssertionError)
        assert str(info.value) == elsewhere  # the address, for the error to name it


def test_a_plain_http_address_from_an_https_api_gets_no_token(
    streams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From an https:// API, an answer naming a plain http:// address, on the API's own host
    and port, is refused: the token would go there unencrypted."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    server = FakeGitHub(token=GH_TOKEN)
    server.tls = (str(cert), str(key))
    with server as gh:
        gh.add_repo(GH_REPO)
        release = gh.add_release(GH_REPO, "v2.0.0", body="notes")
        plain = gh.url.replace("https://", "http://")
        release["upload_url"] = f"{plain}/repos/{GH_REPO}/releases/1/assets{{?name,label}}"
        pins = tmp_path / "v2.0.0.env"
        pins.write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
        with pytest.raises(GitHubError) as info:
            releases(gh, streams).attach("v2.0.0", pins)
        assert [r.method for r in gh.requests] == ["GET", "GET", "GET"]  # repo, release, assets
        api = gh.url
    err = info.value
    assert f"the GitHub API at {api} answered with addresses on {plain} (" in err.message
    assert "unencrypted" in (err.hint or ""), err.hint


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("http://other.example/repos/acme/php-fpm-images", "from host 127.0.0.1 to other.example"),
        ("https://127.0.0.1/repos/acme/php-fpm-images", "from http protocol to https"),
    ],
    ids=["host", "scheme"],
)
def test_a_redirect_to_another_address_is_a_github_error_saying_so(
    gh: FakeGitHub, streams, location: str, says: str
) -> None:
    gh.script("GET", r"/repos/acme/php-fpm-images$", 301, {}, headers={"Location": location})
    with pytest.raises(GitHubError) as info:
        releases(gh, streams).upsert("v2.0.0", body="x")
    err = info.value
    assert f"the GitHub API at {gh.url} redirected the request to another address" in err.message
    assert says in err.message, err.message
    assert "base_url" not in err.message, err.message  # the library's words, not the user's
    assert "GITHUB_API_URL" in (err.hint or "")


def test_an_answer_the_github_client_trips_on_is_a_github_error_not_an_internal_one(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """An answer whose rate-limit headers are no numbers makes the GitHub client itself fail
    (a ValueError of its own): that is GitHub's answer (or a proxy's) at fault, exit 15."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n\nDigests here.\n", encoding="utf-8")
    gh.script(
        "GET", r"/repos/acme/php-fpm-images$", 200, {"id": 1},
        headers={"X-RateLimit-Remaining": "many", "X-RateLimit-Limit": "lots"},
    )  # fmt: skip
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=gh_env(gh)
    )
    said = " ".join(result.stderr.split())
    assert result.exit_code == 15, result.output + result.stderr
    assert "internal error" not in said and "ValueError" not in said, said
    assert "the GitHub client could not read GitHub's answer" in said, said
    assert gh.writes() == []


def test_missing_token_and_repository_are_explained() -> None:
    """Input mistakes, found before any request: exit 2, not a GitHub API error."""
    with pytest.raises(UsageError, match="GITHUB_TOKEN is not set"):
        GitHubReleases.from_env({"GITHUB_REPOSITORY": GH_REPO})
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY is not set"):
        GitHubReleases.from_env({"GITHUB_TOKEN": GH_TOKEN})
    for wrong in ("no-slash", "acme/..", "acme/php images", "-acme/x"):
        with pytest.raises(UsageError, match="not a GitHub repository name") as info:
            GitHubReleases.from_env({"GITHUB_TOKEN": GH_TOKEN}, repository=wrong)
        assert info.value.exit_code == 2


def test_is_latest_is_semver_ordered() -> None:
    assert is_latest(parse_release("v1.10.0"), ["v1.9.0", "v2.0.0-rc.1", "not-a-tag"])
    assert not is_latest(parse_release("v1.9.1"), ["v1.10.0"])
    assert not is_latest(parse_release("v3.0.0-rc.1"), [])


# ------------------------------------------------------------------------ CLI


def test_cli_gh_release_in_actions(gh: FakeGitHub, tmp_path: Path) -> None:
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n\nDigests here.\n", encoding="utf-8")
    outputs, summary = tmp_path / "out", tmp_path / "summary"
    outputs.touch()
    summary.touch()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        **gh_env(gh),
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"::add-mask::{GH_TOKEN}" in result.stdout.splitlines()[0]
    assert gh.release(GH_REPO, "v2.0.0")["body"] == "# v2.0.0\n\nDigests here.\n"
    assert (
        "release-url=https://github.example/acme/php-fpm-images/releases/tag/v2.0.0"
        in outputs.read_text()
    )
    assert "release-action=created" in outputs.read_text()
    assert "v2.0.0" in summary.read_text()
    assert "created (marked latest)" in summary.read_text()
    # the notes came without their pins file: said, since the launcher looks for it
    assert "::warning" in result.stderr and "no pins file" in result.stderr
    # a rerun changes nothing: its summary says so, and marks nothing
    again = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert again.exit_code == 0, again.output + again.stderr
    assert "unchanged (the latest)" in summary.read_text().strip().splitlines()[-1]


def test_cli_gh_release_of_a_tag_not_on_github_fails_in_actions_before_any_write(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    gh.push_tags(GH_REPO)
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    outputs, summary = tmp_path / "out", tmp_path / "summary"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        **gh_env(gh),
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 15, result.output + result.stderr
    assert "::error title=GitHub API error::the tag v2.0.0 is not in" in result.stderr
    assert "git push origin v2.0.0" in result.stderr
    assert gh.writes() == [] and gh.tags[GH_REPO] == {}
    assert outputs.read_text() == ""  # no release-url: there is no release
    assert "**Failed: GitHub API error (exit 15)**" in summary.read_text()


def test_cli_gh_release_with_step_outputs_it_cannot_write_sends_no_request(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    # else the release is made, then the step fails before its pins file is attached
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    (tmp_path / "v2.0.0.env").write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    for outputs in (tmp_path, tmp_path / "missing" / "out"):
        env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), **gh_env(gh)}
        args = ["gh-release", "v2.0.0", "--notes", str(notes)]
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 18, result.output + result.stderr
        assert f"cannot write step outputs to GITHUB_OUTPUT={outputs}" in result.stderr
        assert "nothing was done" in result.stderr
    assert gh.requests == []


def test_cli_gh_release_on_a_full_github_output_still_attaches_the_pins_file_then_fails(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    # A full disk is only met by the write, once the release is made: the release is
    # finished (its pins file attached) before the step fails saying so.
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    (tmp_path / "v2.0.0.env").write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    summary = tmp_path / "summary"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": "/dev/full",
        "GITHUB_STEP_SUMMARY": str(summary),
        **gh_env(gh),
    }
    args = ["gh-release", "v2.0.0", "--notes", str(notes)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 18, result.output + result.stderr
    release = gh.release(GH_REPO, "v2.0.0")
    assert release is not None
    assert [a["name"] for a in release["assets"]] == ["v2.0.0.env"]
    said = " ".join(result.stderr.split())
    assert "cannot write the step outputs to GITHUB_OUTPUT=/dev/full" in said
    assert f"the GitHub release v2.0.0 was created all the same ({release['html_url']})" in said
    text = summary.read_text()
    assert f"GitHub release [v2.0.0]({release['html_url']}): created" in text
    assert text.index("created") < text.index("**Failed: file error (exit 18)**")


def test_cli_gh_release_writes_its_two_step_outputs_both_or_neither(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """A disk that takes the first output's line but not the second's (a file size limit,
    as a full disk) leaves neither: a later step never reads a release-url without its
    release-action."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    (tmp_path / "v2.0.0.env").write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    outputs = tmp_path / "out"
    outputs.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), **gh_env(gh)}
    url_line = f"release-url=https://github.example/{GH_REPO}/releases/tag/v2.0.0\n"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(url_line) + 5, hard))
    try:
        args = ["gh-release", "v2.0.0", "--notes", str(notes)]
        result = CliRunner().invoke(main, args, env=env)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert result.exit_code == 18, result.output + result.stderr
    assert outputs.read_text(encoding="utf-8") == ""
    assert "cannot write the step outputs to GITHUB_OUTPUT=" in result.stderr
    assert gh.release(GH_REPO, "v2.0.0") is not None


def test_cli_gh_release_of_a_draft_says_so_in_the_summary(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.add_release(GH_REPO, "v2.0.0", body="drafted by hand", draft=True)
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    summary = tmp_path / "summary"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        **gh_env(gh),
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert "::warning::the GitHub release v2.0.0 is a draft" in result.stderr
    said = summary.read_text()
    assert "updated (a draft: publish it on GitHub)" in said and "latest" not in said, said


def test_cli_gh_release_attaches_the_pins_file_beside_the_notes(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    (tmp_path / "v2.0.0.env").write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    env = gh_env(gh)
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert "no pins file" not in result.stderr
    assert [a["name"] for a in gh.release(GH_REPO, "v2.0.0")["assets"]] == ["v2.0.0.env"]


def test_cli_gh_release_of_notes_over_githubs_limit_leaves_out_the_oldest_history(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    # Years of weekly republishes: the notes outgrow what GitHub holds in a release body.
    from publisher.adapters.github import MAX_BODY
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, D, facts

    reason = "weekly rebuild for the base image's security updates " * 2
    history = tuple(
        notes.Republish(f"2027-01-01T00:00:{w:05d}Z", f"{reason}{w}", (("8.4", D["a"], D["e"]),))
        for w in range(1200)
    )
    text = notes.release_markdown(facts("v2.0.0", history=history), HISTORY)
    assert len(text) > MAX_BODY
    path = tmp_path / "v2.0.0.md"
    path.write_text(text, encoding="utf-8")
    env = gh_env(gh)
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(path)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    body = gh.release(GH_REPO, "v2.0.0")["body"]
    assert len(body) <= MAX_BODY
    assert body.startswith(text[: text.index("## Republish history")])
    assert f"{reason}1199 |" in body and f"{reason}0 |" not in body
    # no path of the machine gh-release ran on: outside a git checkout, the file names
    assert "in `v2.0.0.md` and `v2.0.0.json` in the repository" in body
    assert path.read_text(encoding="utf-8") == text  # the file keeps every row
    assert "oldest republishes of its republish history" in result.stderr + result.stdout


def test_cli_gh_release_takes_notes_over_1_mib_that_publisher_wrote_and_cuts_their_history(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """500 republishes of 4 lines with reasons of ~480 characters: notes of over 1 MiB,
    which publisher writes. gh-release refused them as "larger than 1 MiB; not a release
    notes file" though it cuts their history to fit; it takes them, leaves out whole
    republishes (4 rows each), counts republishes, and names the files in the checkout
    from its root, not as the absolute --notes path."""
    import dataclasses

    from publisher.adapters.github import MAX_BODY
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, D, facts

    one = facts("v2.0.0").lines[0]
    lines = (
        *(
            dataclasses.replace(one, php=php, tags=(f"v2.0.0-php-{php}",))
            for php in ("8.1", "8.2", "8.3")
        ),
        one,
    )
    reason = "weekly rebuild for the base image's security updates, " * 9
    history = tuple(
        notes.Republish(
            f"2027-{1 + w // 28 % 12:02d}-{1 + w % 28:02d}",
            f"{reason}{w}",
            tuple((line.php, D["a"], D["e"]) for line in lines),
        )
        for w in range(500)
    )
    text = notes.release_markdown(
        dataclasses.replace(facts("v2.0.0"), lines=lines, history=history), HISTORY
    )
    assert notes.body_size(text) > 1024 * 1024
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "release-notes").mkdir()
    path = checkout / "release-notes" / "v2.0.0.md"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(path)], env=gh_env(gh)
    )
    assert result.exit_code == 0, result.output + result.stderr
    body = gh.release(GH_REPO, "v2.0.0")["body"]
    assert notes.body_size(body) <= MAX_BODY
    assert body.startswith(text[: text.index("## Republish history")])
    rows = [row for row in body.splitlines() if "weekly rebuild" in row]
    kept = len(rows) // 4
    assert len(rows) == 4 * kept and 0 < kept < 500
    assert rows[0].startswith(f"| {history[500 - kept].date} | 8.1 |")
    assert rows[0].endswith(f"| {reason}{500 - kept} |")
    assert (
        f"_{500 - kept} earlier republishes are left out here (a GitHub release body holds "
        "at most 125,000 characters): the full history is in `release-notes/v2.0.0.md` and "
        "`release-notes/v2.0.0.json` in the repository._"
    ) in body
    said = " ".join((result.stdout + result.stderr).split())
    assert f"leaves out the {500 - kept} oldest republishes of its republish history" in said


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history-too-short"])
def test_cli_gh_release_refuses_notes_too_long_without_their_history_before_any_request(
    gh: FakeGitHub, tmp_path: Path, history: bool
) -> None:
    """Notes over 125,000 characters even with no republish history in the body: refused
    before anything is sent (exit 3, naming the file), never "GitHub API error" (exit 15)
    for a request that was not made."""
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, D, facts

    entries = (notes.Republish("2027-01-01", "CVE-2027-1", (("8.4", D["a"], D["e"]),)),)
    text = notes.release_markdown(facts("v2.0.0", history=entries if history else ()), HISTORY)
    text = text.replace("## PHP 8.4", "x" * 130_000 + "\n\n## PHP 8.4", 1)
    path = tmp_path / "v2.0.0.md"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(path)], env=gh_env(gh)
    )
    assert result.exit_code == 3, result.output + result.stderr
    said = " ".join(result.stderr.split())
    names = {"notes": path.name, "record": "v2.0.0.json"}
    size = notes.body_size(notes.shortest_body(text, 125_000, **names))
    assert f"error: configuration error: {path}: the release notes are {size:,} bytes" in said
    assert "more than the 125,000 a GitHub release body holds (counted in UTF-8 bytes)" in said
    assert ("even with their whole republish history left out" in said) == history
    assert "nothing was sent to GitHub" in said and "GitHub API error" not in said
    assert gh.requests == []


def test_cli_gh_release_403_exit_code_and_tip(gh: FakeGitHub, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("notes", encoding="utf-8")
    gh.script("POST", r"/releases", 403, FORBIDDEN)
    env = {
        **gh_env(gh),
        "GITHUB_ACTIONS": "",
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 15
    assert "contents: write" in result.stderr
    assert GH_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("text", ["", "\n", "  \r\n\t\n"], ids=["empty", "newline", "blank"])
def test_cli_gh_release_refuses_empty_notes_before_any_request(
    gh: FakeGitHub, tmp_path: Path, text: str
) -> None:
    """Notes that are empty (or only white space) would wipe the published release body
    without a word: refused as a file that is not the notes (exit 3), naming it, before
    GitHub is asked anything."""
    gh.add_release(GH_REPO, "v2.0.0", body="# v2.0.0\n\npublished notes\n")
    notes = tmp_path / "empty.md"
    notes.write_bytes(text.encode())
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=gh_env(gh)
    )
    assert result.exit_code == 3, result.output + result.stderr
    assert f"error: configuration error: {notes}: " in result.stderr
    assert "is empty" in result.stderr and "release body" in result.stderr
    assert "publisher publish v2.0.0" in result.stderr and "--notes" in result.stderr
    assert gh.requests == []
    assert gh.release(GH_REPO, "v2.0.0")["body"] == "# v2.0.0\n\npublished notes\n"


def test_cli_gh_release_without_notes(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["gh-release", "v2.0.0", "--notes", str(tmp_path / "missing.md")],
        env={"GITHUB_TOKEN": "x"},
    )
    assert result.exit_code == 18  # a file that cannot be read, as --digests
    assert "publisher publish v2.0.0" in result.stderr


def test_cli_gh_release_refuses_a_stand_in_rehearsal(gh: FakeGitHub, tmp_path: Path) -> None:
    """Notes, record and pins as publisher writes them for a stand-in rehearsal: each
    one alone is enough to refuse, before any request (a wrong --notes path must not
    make a rehearsal a real release)."""
    import dataclasses
    import json

    from publisher.core import notes, pins
    from tests.unit.test_notes import HISTORY, facts

    rehearsal = dataclasses.replace(facts("v2.0.0"), stand_in=True)
    record = notes.release_json(rehearsal, HISTORY)
    texts = {
        "v2.0.0.md": notes.release_markdown(rehearsal, HISTORY),
        "v2.0.0.json": record,
        "v2.0.0.env": pins.render(json.loads(record)),
    }
    real = notes.release_markdown(facts("v2.0.0"), HISTORY)
    env = gh_env(gh)
    for name, text in texts.items():
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / "v2.0.0.md").write_text(real, encoding="utf-8")
        (folder / name).write_text(text, encoding="utf-8")
        argv = ["gh-release", "v2.0.0", "--notes", str(folder / "v2.0.0.md")]
        result = CliRunner().invoke(main, argv, env=env)
        assert result.exit_code == 2, (name, result.output + result.stderr)
        assert "is a STAND-IN rehearsal, not a release" in result.stderr
        assert str(folder / name) in result.stderr.replace("\n", "")
    assert gh.release(GH_REPO, "v2.0.0") is None and not gh.writes()
    # Rehearsing the workflow against a test GitHub server: said, then let through.
    allowed = {**env, "PUBLISHER_ALLOW_STAND_IN_RELEASE": "1"}
    result = CliRunner().invoke(main, argv, env=allowed)
    assert result.exit_code == 0, result.output + result.stderr
    assert "PUBLISHER_ALLOW_STAND_IN_RELEASE=1" in result.stderr


@pytest.mark.parametrize("evidence", ["both", "record", "heading"])
def test_cli_gh_release_refuses_the_notes_of_another_release(
    gh: FakeGitHub, tmp_path: Path, evidence: str
) -> None:
    """v1.1.0's notes passed for v1.2.0-rc.1 would publish another release's body (and
    its digests): their record beside them or their heading names v1.1.0, so they are
    refused (exit 2) before any request, naming both releases and the right file."""
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, facts

    stable = facts("v1.1.0")
    text = notes.release_markdown(stable, HISTORY)
    assert text.startswith("# v1.1.0\n")
    if evidence == "record":  # a heading edited by hand: the record still tells
        text = text.replace("# v1.1.0\n", "# Release notes\n", 1)
    path = tmp_path / ("notes.md" if evidence == "heading" else "v1.1.0.md")
    path.write_text(text, encoding="utf-8")
    if evidence != "heading":
        (tmp_path / "v1.1.0.json").write_text(notes.release_json(stable, HISTORY))
    argv = ["gh-release", "v1.2.0-rc.1", "--notes", str(path)]
    result = CliRunner().invoke(main, argv, env=gh_env(gh))
    assert result.exit_code == 2, result.output + result.stderr
    said = " ".join(result.stderr.split())
    assert f"{path} are the notes of v1.1.0, not of v1.2.0-rc.1" in said, said
    if evidence == "heading":  # no record beside them: not a folder publish writes notes in
        assert str(tmp_path / "v1.2.0-rc.1.md") not in said, said
        assert (
            "tip: pass the notes of v1.2.0-rc.1: `publisher publish v1.2.0-rc.1` writes them "
            "as v1.2.0-rc.1.md in release-notes/ next to the matrix file, or in the "
            "--notes-dir it is given (--notes release-notes/v1.2.0-rc.1.md from the "
            "repository root)" in said
        ), said
    else:  # beside their record: where publish writes the notes of every release
        assert (
            f"tip: pass the notes of v1.2.0-rc.1: --notes {tmp_path / 'v1.2.0-rc.1.md'}, "
            "where `publisher publish v1.2.0-rc.1` writes them" in said
        ), said
    assert gh.requests == []


def test_cli_gh_release_says_how_to_mend_its_notes_file_holding_another_release(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """v1.1.0's notes copied over v1.0.0.md, v1.0.0's record beside them: the file is where
    publish writes v1.0.0's notes, so the tip says to restore or rewrite it there, never to
    pass the file just refused; the message says the record beside it names v1.0.0."""
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, facts

    own = facts("v1.0.0")
    (tmp_path / "v1.0.0.json").write_text(notes.release_json(own, HISTORY), encoding="utf-8")
    path = tmp_path / "v1.0.0.md"
    path.write_text(notes.release_markdown(facts("v1.1.0"), HISTORY), encoding="utf-8")
    argv = ["gh-release", "v1.0.0", "--notes", str(path)]
    result = CliRunner().invoke(main, argv, env=gh_env(gh))
    assert result.exit_code == 2, result.output + result.stderr
    said = " ".join(result.stderr.split())
    assert f"{path} are the notes of v1.1.0, not of v1.0.0" in said, said
    assert f"their record {tmp_path / 'v1.0.0.json'} beside them names v1.0.0" in said, said
    assert f"--notes {path}" not in said, said
    assert (
        f"tip: put the notes of v1.0.0 back in {path}, where `publisher publish v1.0.0` "
        f"writes them: restore the file from git (git checkout -- {path}), or delete it and "
        "rerun `publisher publish v1.0.0` (or `publisher release v1.0.0`): a rerun writes a "
        "notes file it finds missing again; then pass it again" in said
    ), said
    assert gh.requests == []


def test_cli_gh_release_names_the_notes_of_the_release_beside_those_of_another(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """Another release's notes copied out of their folder: the tip names the notes of the
    release beside them when they are there, else where publish writes them, never a file
    of the copy's folder publish never wrote (it once named ../v1.0.1.md for ../v1.0.0.md)."""
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, facts

    copy = tmp_path / "v1.0.0.md"
    copy.write_text(notes.release_markdown(facts("v1.0.0"), HISTORY), encoding="utf-8")
    argv = ["gh-release", "v1.0.1", "--notes", str(copy)]
    said = " ".join(CliRunner().invoke(main, argv, env=gh_env(gh)).stderr.split())
    assert str(tmp_path / "v1.0.1.md") not in said, said
    assert "`publisher publish v1.0.1` writes them as v1.0.1.md in release-notes/" in said, said
    (tmp_path / "v1.0.1.md").write_text("# v1.0.1\n", encoding="utf-8")
    result = CliRunner().invoke(main, argv, env=gh_env(gh))
    assert result.exit_code == 2, result.output + result.stderr
    said = " ".join(result.stderr.split())
    assert f"tip: pass the notes of v1.0.1: --notes {tmp_path / 'v1.0.1.md'}, beside these" in (
        said
    ), said
    assert gh.requests == []


@pytest.mark.parametrize("value", ["true", "yes", "on", " 1 "])
def test_cli_gh_release_reads_the_stand_in_switch_as_every_yes_no_variable(
    gh: FakeGitHub, tmp_path: Path, value: str
) -> None:
    """PUBLISHER_ALLOW_STAND_IN_RELEASE=true lets a rehearsal's notes through as =1 does,
    as every yes/no variable of publisher reads true, yes and on."""
    import dataclasses

    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, facts

    path = tmp_path / "v2.0.0.md"
    rehearsal = dataclasses.replace(facts("v2.0.0"), stand_in=True)
    path.write_text(notes.release_markdown(rehearsal, HISTORY), encoding="utf-8")
    env = {
        **gh_env(gh),
        "PUBLISHER_ALLOW_STAND_IN_RELEASE": value,
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(path)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"PUBLISHER_ALLOW_STAND_IN_RELEASE={value.strip()}: a STAND-IN" in result.stderr
    assert gh.release(GH_REPO, "v2.0.0") is not None


@pytest.mark.parametrize("notes_stand_in", [True, False])
def test_cli_gh_release_refuses_a_stand_in_switch_it_cannot_read(
    gh: FakeGitHub, tmp_path: Path, notes_stand_in: bool
) -> None:
    """A value that is neither yes nor no is exit 2 naming the variable, before any request,
    never taken for "no" (which refused a rehearsal without saying the switch was not read)."""
    import dataclasses

    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, facts

    path = tmp_path / "v2.0.0.md"
    release = dataclasses.replace(facts("v2.0.0"), stand_in=notes_stand_in)
    path.write_text(notes.release_markdown(release, HISTORY), encoding="utf-8")
    env = {
        **gh_env(gh),
        "PUBLISHER_ALLOW_STAND_IN_RELEASE": "maybe",
    }
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(path)], env=env)
    assert result.exit_code == 2, result.output + result.stderr
    assert "PUBLISHER_ALLOW_STAND_IN_RELEASE='maybe' is not valid" in result.stderr
    assert "tip:" in result.stderr
    assert gh.release(GH_REPO, "v2.0.0") is None and not gh.writes()


def test_cli_gh_release_fits_notes_of_multi_byte_characters_whichever_unit_github_counts(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """Reasons written in another script: the notes hold fewer than 125,000 characters but
    more UTF-8 bytes. GitHub's refusal says "characters" while some of its limits count
    bytes; the body sent must fit either way, so it is measured in bytes."""
    from publisher.adapters.github import MAX_BODY
    from publisher.core import notes
    from tests.unit.test_notes import HISTORY, D, facts

    gh.body_limit_unit = "bytes"
    reason = "基础镜像的每周安全更新，重新构建 " * 4  # 3 bytes per character
    history = tuple(
        notes.Republish(f"2027-01-01T00:00:{w:05d}Z", f"{reason}{w}", (("8.4", D["a"], D["e"]),))
        for w in range(700)
    )
    text = notes.release_markdown(facts("v2.0.0", history=history), HISTORY)
    assert len(text) <= MAX_BODY < len(text.encode("utf-8"))
    path = tmp_path / "v2.0.0.md"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(path)], env=gh_env(gh)
    )
    assert result.exit_code == 0, result.output + result.stderr
    body = gh.release(GH_REPO, "v2.0.0")["body"]
    assert len(body.encode("utf-8")) <= MAX_BODY
    assert body.startswith(text[: text.index("## Republish history")])
    assert f"{reason}699 |" in body and f"{reason}0 |" not in body
    assert "oldest republishes of its republish history" in result.stderr + result.stdout


def test_cli_gh_release_failing_after_the_release_still_gives_its_url_and_says_the_failure(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """The release was created, then the pins file could not be attached: the step's
    outputs and summary still name the release, and the summary says the step failed,
    so a summary read alone is not taken for a success."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    (tmp_path / "v2.0.0.env").write_text("PHP_PINS_SCHEMA='1'\n", encoding="utf-8")
    outputs, summary = tmp_path / "out", tmp_path / "summary"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        **gh_env(gh),
    }
    gh.script("POST", r"/releases/[0-9]+/assets$", 422,
              {"message": "Validation Failed", "errors": [
                  {"resource": "ReleaseAsset", "code": "custom", "field": "size",
                   "message": "size is too large"}]})  # fmt: skip
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 15, result.output + result.stderr
    assert gh.release(GH_REPO, "v2.0.0") is not None
    said = outputs.read_text(encoding="utf-8")
    assert "release-url=https://github.example/acme/php-fpm-images/releases/tag/v2.0.0" in said
    assert "release-action=created" in said
    text = summary.read_text(encoding="utf-8")
    assert "GitHub release [v2.0.0](" in text and "created (marked latest)" in text, text
    failure = text[text.index("created (marked latest)") :]
    assert "GitHub API error" in failure and "exit 15" in failure, text
    assert "attaching v2.0.0.env to the GitHub release v2.0.0" in failure, text
    assert "size is too large" in failure and "tip:" in failure, text
    assert GH_TOKEN not in text


def test_notes_over_the_limit_only_in_bytes_that_cannot_be_cut_are_sent_for_github_to_judge(
    gh: FakeGitHub, streams
) -> None:
    """No history to leave out: a body within 125,000 characters is sent (GitHub may count
    characters and hold it); one over them is refused before any request."""
    client = releases(gh, streams)
    assert client.upsert("v2.0.0", body="é" * 70_000).action == "created"
    with pytest.raises(GitHubError, match="130,000 characters; GitHub allows 125,000"):
        client.upsert("v2.0.1", body="é" * 130_000)
    assert [r.method for r in gh.writes()] == ["POST"]


ALREADY_EXISTS = {"message": "Validation Failed", "errors": [
    {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("replacing", "state"), [(False, "uploaded"), (False, "new"), (True, "uploaded"), (True, "new")]
)
def test_an_upload_stored_then_answered_5xx_is_taken_as_it_is_on_the_retry(
    gh: FakeGitHub, streams, tmp_path: Path, replacing: bool, state: str
) -> None:
    """GitHub stored the upload, then answered 502: the retried POST gets 422 already_exists.
    The asset there is looked at: the same file (its label's hash), uploaded, is attached
    as it is; one left in state new is deleted and uploaded again. The step succeeds."""
    gh.add_release(GH_REPO, "v2.0.0", body="notes")
    client = releases(gh, streams, retries=2)
    pins = pins_to_attach(client, tmp_path, replacing=replacing)
    before = len(gh.requests)
    gh.script("POST", r"/releases/[0-9]+/assets$", 502, {"message": "Server Error"},
              stored=True, stored_state=state)  # fmt: skip
    assert client.attach("v2.0.0", pins) == ("replaced" if replacing else "attached")
    assets = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert [(a["name"], a["state"]) for a in assets] == [("v2.0.0.env", "uploaded")]
    assert assets[0]["content"] == pins.read_text(encoding="utf-8")
    uploads = [r for r in gh.requests[before:] if r.method == "POST"]
    # the 502, the retry answered 422; a third upload only after an unfinished one is deleted
    assert len(uploads) == (2 if state == "uploaded" else 3)
    # what the retry found is the run's progress (stderr), not the command's result
    found = "GitHub already holds" if state == "uploaded" else "GitHub holds another"
    assert found not in streams[0].getvalue() and found in streams[1].getvalue()
    assert client.attach("v2.0.0", pins) == "unchanged"


def test_an_asset_of_another_file_found_by_a_retried_upload_is_replaced(
    gh: FakeGitHub, streams, tmp_path: Path
) -> None:
    """The asset a retried upload collides with carries another file's hash (another run's,
    uploaded meanwhile): it is deleted and this file uploaded, never taken for this one."""
    release = gh.add_release(GH_REPO, "v2.0.0", body="notes")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text("PHP_PINS_SCHEMA='1'\nNEW=1\n", encoding="utf-8")
    release["assets"].append(
        {"id": 999, "url": f"{release['url'].rsplit('/', 1)[0]}/assets/999", "name": "v2.0.0.env",
         "label": "v2.0.0.env (sha256:0000000000000000)", "state": "uploaded",
         "content_type": "text/plain", "size": 5, "content": "OTHER", "download_count": 0,
         "browser_download_url": f"https://github.example/{GH_REPO}/releases/download/v2.0.0/v2.0.0.env",
         "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}
    )  # fmt: skip
    # The first listing is from before the other run's upload: it shows no asset yet.
    gh.script("GET", r"/releases/[0-9]+/assets$", 200, [])
    assert releases(gh, streams).attach("v2.0.0", pins) == "attached"
    (asset,) = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert asset["content"] == pins.read_text(encoding="utf-8") and asset["id"] != 999


def test_cli_gh_release_without_a_pins_file_names_the_rerun_that_writes_it(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """Notes whose pins file is missing (a run that stopped while writing its notes): the
    release is made without it, and the warning names the rerun that writes it."""
    notes_dir = tmp_path / "notes"
    notes_dir.mkdir()
    notes = notes_dir / "v2.0.0.md"
    notes.write_text("# v2.0.0\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=gh_env(gh)
    )
    assert result.exit_code == 0, result.output + result.stderr
    said = " ".join(result.stderr.split())
    assert f"no pins file {notes_dir / 'v2.0.0.env'} beside the notes" in said, said
    assert f"`publisher release v2.0.0 --notes-dir {notes_dir}` writes the notes files" in said, (
        said
    )
