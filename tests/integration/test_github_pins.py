"""``publisher gh-release`` attaches the pins file next to the notes (fake GitHub, real PyGithub)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

import publisher.cli.github_cmds  # noqa: F401  (registers gh-release)
from publisher.cli import main
from tests.integration.conftest import GH_REPO, GH_TOKEN
from tests.support.fake_github import FakeGitHub

pytestmark = pytest.mark.integration

PINS = "PHP_PINS_SCHEMA='1'\nSTACK_RELEASE='v2.0.0'\nPHP_IMAGE_8_4='docker.io/acme/php-fpm:v2.0.0-php-8.4@sha256:{}'\n"


def gh_release(gh: FakeGitHub, notes: Path) -> str:
    env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": GH_TOKEN, "GITHUB_REPOSITORY": GH_REPO}
    result = CliRunner().invoke(main, ["gh-release", "v2.0.0", "--notes", str(notes)], env=env)
    assert result.exit_code == 0, result.output
    assert GH_TOKEN not in result.output
    return result.output


def test_the_pins_file_is_attached_once_and_replaced_when_it_changes(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text(PINS.format("a" * 64))

    gh_release(gh, notes)
    release = gh.release(GH_REPO, "v2.0.0")
    assert release is not None
    (asset,) = release["assets"]
    assert asset["name"] == "v2.0.0.env"
    assert asset["content"] == pins.read_text()
    digest = hashlib.sha256(pins.read_bytes()).hexdigest()[:16]
    assert asset["label"] == f"v2.0.0.env (sha256:{digest})"

    writes = len(gh.writes())
    gh_release(gh, notes)  # same notes, same pins: nothing to write
    assert len(gh.writes()) == writes

    pins.write_text(PINS.format("b" * 64))  # a republish moved the digest
    gh_release(gh, notes)
    (replaced,) = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert replaced["content"] == pins.read_text()
    assert replaced["name"] == "v2.0.0.env"
    # The new file goes up first (under a temporary name), then the old one goes.
    assert [r.method for r in gh.writes()[writes:]] == ["POST", "DELETE", "PATCH"]


def test_without_a_pins_file_nothing_is_attached(gh: FakeGitHub, tmp_path: Path) -> None:
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n")
    gh_release(gh, notes)
    assert gh.release(GH_REPO, "v2.0.0")["assets"] == []


def test_a_pins_file_stored_by_github_before_a_502_is_attached_not_a_failed_step(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub stores the upload and answers 502; the retried upload is told the name is
    taken: the step sees its own file there and succeeds (it used to fail, and its rerun
    said "unchanged")."""
    notes = tmp_path / "v2.0.0.md"
    notes.write_text("# v2.0.0\n")
    pins = tmp_path / "v2.0.0.env"
    pins.write_text(PINS.format("a" * 64))
    gh.script("POST", r"/releases/[0-9]+/assets$", 502, {"message": "Server Error"}, stored=True)
    gh_release(gh, notes)
    (asset,) = gh.release(GH_REPO, "v2.0.0")["assets"]
    assert (asset["name"], asset["state"]) == ("v2.0.0.env", "uploaded")
    assert asset["content"] == pins.read_text()
