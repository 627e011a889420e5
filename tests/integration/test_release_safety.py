"""Refusals that protect a published release, against real loopback registries.

One world for the module (two registries, STAND-IN bases, v1.0.0 released once
without smoke tests); every test then runs ``python -m publisher`` on it and
checks, with skopeo, that a refused run moved no tag. The tests restore what
they change, so the world stays v1.0.0 as released. A test that releases images of
its own does so in a repository of its own, checked to hold no tag yet: one an earlier
test released to would make its new release a rerun, taking that test's images unbuilt.

* a republish of a release that was never published is refused (exit 2) before
  any build or push, for ``republish``, its dry run and ``publish --reason``;
* a republish whose rebuild gives the published images says that nothing
  changed and records no history entry; a release (or a build leg) run by hand
  without SOURCE_DATE_EPOCH, whose images no rebuild gives back, warns before it builds;
* a corrupt or misshapen ``size-history.json`` is a located error (exit 3)
  before anything is built or pushed, never an internal error after the tags moved;
* ``publish --dry-run`` refuses missing digest records as the real run does, and
  the dry run's tag moves call a new pin "created", not "unchanged";
* of two runs of one release at once, the one reaching its tags second refuses
  (exit 14) rather than move the pins the other wrote;
* a rerun of a release without its record after default_line changed is refused,
  and its dry run too, before any build; so is one leaving out a line it has a pin of;
* a floating tag moved by hand is named by verify, whose tip is the rerun that puts
  it back, not a republish;
* pins that agree on every registry but not with the record (a republish that
  stopped before its record) refuse a rerun of the release, which would rewrite it;
  verify and audit name the rerun of that republish, which finishes it (also after
  a SIGKILL while it moved the floating tags).
* pins alike by name on every registry but not by content (a republish stopped
  half-way) move no floating tag of a later release, planned before or after it, nor
  does a release tag on none of its pins (the same, on one registry).
* a republish stopped while writing the primary's pins is finished by its rerun on the
  images it pushed, not on new builds, so the history names the images served between.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.adapters.localregistry import LocalRegistry, free_port
from publisher.core.plan import is_floating_tag
from publisher.stages import standins
from tests.conftest import require_tool
from tests.support.builds import quiet_runner
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.pipeline import LINES, TEMPLATE, Stack, kill_group, skopeo_tag_map, wait_for
from tests.support.publishing import tag_map

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A wide terminal, so that each row of a table is one line of output.
WIDE = {"COLUMNS": "400"}


@dataclass
class World:
    stack: Stack
    skopeo: str

    def tags(self) -> list[dict[str, str]]:
        """Every tag on both registries, read by skopeo."""
        return [
            skopeo_tag_map(self.skopeo, host, self.stack.repo)
            for host in (self.stack.primary, self.stack.secondary)
        ]

    def copy(self, source: str, target: str) -> None:
        """Copy the image ``source`` (an index, whole) to ``target`` by hand, with skopeo,
        its digest kept: a tag moved, or a pin written, outside publisher."""
        copied = subprocess.run(
            [
                self.skopeo,
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                f"docker://{source}",
                f"docker://{target}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert copied.returncode == 0, copied.stderr

    def notes(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.stack.notes_dir.iterdir())}

    def own_repo(self, repo: str) -> str:
        """``repo``, checked to hold no tag on either registry: a test's own repository.
        The registries serve the whole module, so a repository an earlier test released
        to would turn this test's new release into a rerun of that one, which takes the
        published images instead of building (at whatever SOURCE_DATE_EPOCH)."""
        for host in (self.stack.primary, self.stack.secondary):
            held = skopeo_tag_map(self.skopeo, host, repo)
            assert not held, f"{host}/{repo} already holds {sorted(held)}: another test used it"
        return repo


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    skopeo = require_tool("skopeo")
    require_tool("buildah")
    require_tool("docker-registry", "registry")
    root = tmp_path_factory.mktemp("release-safety")
    with LocalRegistry() as bases, LocalRegistry() as hub, LocalRegistry() as ghcr:
        standins.push_standins(bases.host, runner=quiet_runner(), lines=LINES)
        stack = Stack(root / "s", hub.host, ghcr.host, bases.host, repo="acme/php-fpm")
        stack.release("v1.0.0", "--no-smoke")
        yield World(stack, skopeo)


def test_a_failed_run_s_records_never_replace_those_of_a_later_run_of_other_lines(
    world: World, tmp_path: Path
) -> None:
    """The digest records of a run replace the earlier ones only when it succeeds: a run
    that built PHP 8.3 and 8.4, then failed, leaves its records pending; a later run of
    8.4 alone that succeeds keeps its own record, never the failed run's 8.3 one (an
    image nothing published), which stays pending as it was."""
    stack, root = world.stack, tmp_path / "s"
    one_platform = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/keep-records")
    dead = f"127.0.0.1:{free_port()}"
    failing = Stack(root, stack.primary, dead, stack.bases, repo=repo, env=one_platform)
    failed = failing.run("release", "v5.0.0", "--no-smoke", env={"PUBLISHER_RETRY_ATTEMPTS": "1"})
    assert failed.returncode == 7, failed.stdout + failed.stderr
    digests = failing.digests_dir("v5.0.0")
    pending = digests / ".pending"
    names = ["8.3-linux-amd64.json", "8.4-linux-amd64.json"]
    assert sorted(p.name for p in pending.glob("*.json")) == names
    assert not list(digests.glob("*.json"))
    stale = (pending / names[0]).read_bytes()

    working = Stack(root, stack.primary, stack.secondary, stack.bases, repo=repo, env=one_platform)
    done = working.ok("release", "v5.0.0", "--only", "8.4", "--no-smoke")
    lines: Any = working.notes("v5.0.0")["lines"]
    assert [line["php"] for line in lines] == ["8.4"]
    assert [p.name for p in digests.glob("*.json")] == [names[1]], done.stdout
    assert (pending / names[0]).read_bytes() == stale


def no_build_ran(result: object) -> bool:
    text = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    return "buildah build" not in text


def test_a_rerun_over_damaged_digest_records_replaces_them_with_a_warning_each(
    world: World,
) -> None:
    """A release rerun whose digest directory holds files that are no record this
    publisher can read (cut short, another file) writes its records over them once it
    succeeds, and says so: a warning names each file and what was wrong with it. One
    holding a file publisher wrote for another use (the release record) refuses the run
    before anything is built, exit 3, and is left as it is."""
    stack = world.stack
    digests = stack.digests_dir("v1.0.0")
    damaged = {
        digests / "8.4-linux-amd64.json": (
            b'{"schema": 1, "release": "v1.',
            "not valid JSON: Unterminated string starting at line 1, column 26",
        ),
        digests / "8.3-linux-arm64.json": (
            b"",  # an empty file
            "not valid JSON: Expecting value at line 1, column 1",
        ),
    }
    saved = {path: path.read_bytes() for path in digests.glob("*.json")}
    history = stack.notes_dir / "size-history.json"
    kept, tags = history.read_bytes(), world.tags()
    try:
        misplaced = digests / "8.3-linux-amd64.json"
        misplaced.write_bytes((stack.notes_dir / "v1.0.0.json").read_bytes())
        refused = stack.run("release", "v1.0.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
        said = " ".join(refused.stderr.split())
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert (
            f"error: configuration error: {misplaced}: this file is the release record of "
            "v1.0.0, which publish writes in the notes directory, not a digest record of "
            "PHP 8.3 linux/amd64"
        ) in said, said
        assert f"tip: move that file out of {digests}, where the run keeps" in said, said
        assert no_build_ran(refused) and "replaced" not in said, said
        assert misplaced.read_bytes() == (stack.notes_dir / "v1.0.0.json").read_bytes()
        misplaced.write_bytes(saved[misplaced])
        for path, (content, _) in damaged.items():
            path.write_bytes(content)
        done = stack.ok("release", "v1.0.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
        said = " ".join(done.stderr.split())
        for path, (_, words) in damaged.items():
            leg = "PHP " + path.stem.replace("-linux-", " linux/")
            assert (
                f"warning: {leg}: replaced {path}, an earlier file that held no digest "
                f"record this publisher can read ({words}), with the leg's record"
            ) in said, said
            assert json.loads(path.read_bytes())["digest"] == json.loads(saved[path])["digest"]
        assert said.count("an earlier file that held no digest record") == len(damaged), said
        assert world.tags() == tags
    finally:
        for path, content in saved.items():
            path.write_bytes(content)
        history.write_bytes(kept)


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("v1.0.0.json", "the release record of v1.0.0"),
        ("v1.0.0.md", "the Markdown release notes of v1.0.0"),
        ("v1.0.0.env", "the pins file of v1.0.0"),
    ],
    ids=["record", "notes", "pins"],
)
def test_a_build_leg_given_a_file_of_the_release_notes_as_its_digest_file_is_refused(
    world: World, name: str, what: str
) -> None:
    """``--digest-file release-notes/v1.0.0.json`` (or the release's ``.md`` notes or
    ``.env`` pins file: a typo for the leg's record) builds nothing and leaves the file as
    it is, exit 3, its tip the leg's path."""
    stack = world.stack
    record = stack.notes_dir / name
    content, tags = record.read_bytes(), world.tags()
    leg = ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", str(record))
    for extra in ((), ("--rebuild",)):
        result = stack.run("build", "v1.0.0", *leg, *extra)
        said = " ".join(result.stderr.split())
        assert result.returncode == 3, result.stdout + result.stderr
        assert (
            f"error: configuration error: {record}: this file is {what}, which publish writes "
            "in the notes directory, not a digest record of PHP 8.4 linux/amd64"
        ) in said, said
        assert "tip: give the leg its own record's file, named after it, e.g. " in said, said
        assert "digests/8.4-linux-amd64.json" in said, said
        assert no_build_ran(result) and "warning" not in said, said
        assert record.read_bytes() == content
    assert world.tags() == tags


def test_a_digest_file_that_is_not_the_leg_s_is_refused_before_any_registry_is_asked(
    world: World, tmp_path: Path
) -> None:
    """The refusal comes before the release's pin is looked for or a base resolved: with
    every registry unreachable, it is still exit 3 (never 7, the registries' failure)."""
    dead = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stack = Stack(tmp_path / "s", *dead, repo="acme/php-fpm")
    stack.notes_dir.mkdir()
    for name in ("v1.0.0.json", "v1.0.0.md"):
        (stack.notes_dir / name).write_bytes((world.stack.notes_dir / name).read_bytes())
    other = tmp_path / "s" / "notes.txt"
    other.write_text("to do: release v2.0.0\n", encoding="utf-8")
    for path, what in (
        (stack.notes_dir / "v1.0.0.md", "the Markdown release notes of v1.0.0"),
        (other, "not a digest record (not JSON)"),
    ):
        content = path.read_bytes()
        leg = ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", str(path))
        result = stack.run("build", "v2.0.0", *leg, env={"PUBLISHER_RETRY_ATTEMPTS": "1"})
        said = " ".join(result.stderr.split())
        assert result.returncode == 3, result.stdout + result.stderr
        assert f"error: configuration error: {path}: this file is {what}" in said, said
        assert not any(host in said for host in dead), said
        assert path.read_bytes() == content


# --------------------------------------------------------------------------- never published


def test_republish_of_a_release_never_published_is_refused(world: World, tmp_path: Path) -> None:
    stack = world.stack
    tags, notes = world.tags(), world.notes()
    notes_dir = ["--notes-dir", str(stack.notes_dir)]
    newest = ", ".join(sorted((p.stem for p in stack.notes_dir.glob("v*.json")), reverse=True))
    assert newest, "the world has published releases"
    for argv in (
        ["republish", "v7.0.0", "--reason", "x", *notes_dir],
        ["republish", "v7.0.0", "--reason", "x", "--dry-run", *notes_dir],
        ["republish", "v7.0.0", "--reason", "x", "--only", "8.4", "--no-smoke", *notes_dir],
    ):
        result = stack.run(*argv)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert "nothing to republish" in result.stderr, result.stderr
        assert "; nothing was built or pushed" in result.stderr, result.stderr
        assert "publisher release v7.0.0" in result.stderr, result.stderr
        # a typo of a tag is told what is recorded
        said = " ".join(result.stderr.split())
        assert "tip: check the tag: the releases recorded in " in said, said
        assert f"{stack.notes_dir} are {newest}; republish rebuilds" in said, said
        assert "internal error" not in result.stderr
        assert no_build_ran(result), result.stdout
        # the release it names takes the lines this run was narrowed to
        tip = re.search(r"`(publisher release v7\.0\.0[^`]*)`", result.stderr)
        assert tip is not None, result.stderr
        named = shlex.split(tip.group(1))
        only = named[named.index("--only") + 1] if "--only" in named else None
        assert only == ("8.4" if "--only" in argv else None), named
    # publish --reason with digest records for v7.0.0 (v1.0.0's images, renamed)
    records = tmp_path / "v7-records"
    records.mkdir()
    for path in stack.digests_dir("v1.0.0").glob("*.json"):
        data = json.loads(path.read_text())
        data["release"] = "v7.0.0"
        (records / path.name).write_text(json.dumps(data))
    for extra in (["--dry-run"], ["--no-smoke"]):
        result = stack.run(
            "publish", "v7.0.0", "--digests", str(records), "--reason", "x", *extra, *notes_dir
        )
        assert result.returncode == 2, (extra, result.stdout, result.stderr)
        assert "nothing to republish" in result.stderr, result.stderr
        # publish comes after the legs, which pushed their images: it wrote no tag
        assert "; no tag was written" in result.stderr, result.stderr
        assert "nothing was built or pushed" not in result.stderr, result.stderr
    assert world.tags() == tags  # php-8.x and latest stay on v1.0.0; no v7.0.0 pin
    assert world.notes() == notes  # no v7.0.0 record with an empty history


# --------------------------------------------------------------------------- identical rebuild


def test_a_republish_that_rebuilds_identical_images_says_nothing_changed(world: World) -> None:
    stack = world.stack
    tags, notes = world.tags(), stack.notes("v1.0.0")
    dry = stack.run(
        "republish", "v1.0.0", "--reason", "r", "--dry-run", "--notes-dir", str(stack.notes_dir)
    )
    assert dry.returncode == 0, dry.stderr
    assert "identical" not in dry.stdout + dry.stderr  # not known before the builds
    result = stack.run(
        "republish",
        "v1.0.0",
        "--reason",
        "CVE-2026-9999 (already fixed)",
        "--only",
        "8.4",
        "--no-smoke",
        "--notes-dir",
        str(stack.notes_dir),
    )
    assert result.returncode == 0, result.stderr
    assert not no_build_ran(result)  # it did rebuild, from the same bases
    said = " ".join((result.stdout + result.stderr).split())
    assert "nothing to republish: the rebuilt images of v1.0.0 (PHP 8.4) are identical" in said
    assert said.count("nothing to republish") == 1, said  # once, as the run's last word
    assert "no history entry is added" in said
    after = stack.notes("v1.0.0")
    assert after["history"] == [] == notes["history"]
    assert after["lines"] == notes["lines"]
    assert world.tags() == tags


def test_a_republish_that_rebuilds_identical_images_says_the_pin_it_puts_back(
    world: World,
) -> None:
    """v1.0.0-php-8.3 moved by hand on ghcr to other content: a republish of 8.3 whose
    rebuild gives the published images adds no history entry, puts the pin back, and
    its warning says so, not that no pin moves."""
    stack = world.stack
    tags, notes = world.tags(), stack.notes("v1.0.0")
    ghcr = f"{stack.secondary}/{stack.repo}"
    world.copy(f"{ghcr}@{tags[1]['v1.0.0-php-8.4']}", f"{ghcr}:v1.0.0-php-8.3")
    try:
        result = stack.run(
            "republish",
            "v1.0.0",
            "--reason",
            "z",
            "--only",
            "8.3",
            "--no-smoke",
            "--notes-dir",
            str(stack.notes_dir),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        said = " ".join((result.stdout + result.stderr).split())
        assert "nothing to republish: the rebuilt images of v1.0.0 (PHP 8.3) are identical" in said
        assert "no pin moves" not in said, said
        assert "no history entry is added" in said
        assert "the pin that differed from the record was put back: v1.0.0-php-8.3 on " in said
        assert world.tags() == tags
        assert stack.notes("v1.0.0")["history"] == [] == notes["history"]
    finally:
        world.copy(f"{ghcr}@{tags[1]['v1.0.0-php-8.3']}", f"{ghcr}:v1.0.0-php-8.3")


def test_a_release_or_a_leg_built_by_hand_without_source_date_epoch_warns_before_building(
    world: World, tmp_path: Path
) -> None:
    """Without SOURCE_DATE_EPOCH every image is stamped with the time it is built: a
    release by hand then publishes images no rebuild gives back, so a later republish
    (stamped with the release commit's time, as it is told to be) republishes a line
    whose base did not move. The release says so before building (its dry run does
    not, nor a rerun that builds nothing), naming the command with the variable set, as a
    republish by hand does; so does a build leg run by hand. With it set, nothing is
    said."""
    stack = world.stack
    unset = {"SOURCE_DATE_EPOCH": "", "PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/unstamped")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo=repo, env=unset)
    notes = ("--notes-dir", str(s.notes_dir))
    warned = (
        "warning: SOURCE_DATE_EPOCH is not set: every image is stamped with the time it is "
        "built, so v6.0.0's images can never be rebuilt identically: a later republish cannot "
        "tell a line whose base did not move, and republishes it with new digests"
    )
    dry = s.ok("release", "v6.0.0", "--only", "8.4", "--dry-run", *notes)
    assert "SOURCE_DATE_EPOCH" not in dry.stderr, dry.stderr
    released = s.ok("release", "v6.0.0", "--only", "8.4", "--no-smoke", *notes)
    said = " ".join(released.stderr.split())
    assert said.count(warned) == 1, said
    assert said.index(warned) < said.index("Build 1 image (up to"), said
    assert (
        "Set it to that time: `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct v6.0.0) publisher "
        "release v6.0.0 --only 8.4`"
    ) in said, said
    # A rerun that builds nothing (its pins hold every image) has nothing to stamp.
    rerun = s.ok("release", "v6.0.0", "--only", "8.4", "--no-smoke", *notes)
    assert "not rebuilding" in rerun.stdout + rerun.stderr, rerun.stdout + rerun.stderr
    assert "SOURCE_DATE_EPOCH" not in rerun.stderr, rerun.stderr
    # What it warns of: the republish, stamped as it should be, finds 8.4 changed.
    epoch = {"SOURCE_DATE_EPOCH": "1767225600"}
    again = s.ok("republish", "v6.0.0", "--reason", "weekly", "--no-smoke", *notes, env=epoch)
    assert "SOURCE_DATE_EPOCH" not in again.stderr, again.stderr
    history: Any = s.notes("v6.0.0")["history"]
    assert [[c["php"] for c in entry["changes"]] for entry in history] == [["8.4"]], history

    digest_file = str(tmp_path / "legs" / "8.4-linux-amd64.json")
    leg = ("build", "v6.1.0", "--php", "8.4", "--platform", "linux/amd64")
    built = s.ok(*leg, "--digest-file", digest_file)
    said = " ".join(built.stderr.split())
    assert said.count(warned.replace("v6.0.0", "v6.1.0")) == 1, said
    assert "`export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct v6.1.0)` before building" in said
    # Run again, the leg reuses its image: its header names no builder, which may not be
    # the one that built it.
    again = s.ok(*leg, "--digest-file", digest_file, "--builder", "docker")
    said = " ".join((again.stdout + again.stderr).split())
    assert "Build PHP 8.4 for linux/amd64 ──" in said and "with docker" not in said, said
    assert "already built and pushed as sha256:" in said, said


def test_a_republish_says_what_gave_each_line_new_images(world: World, tmp_path: Path) -> None:
    """A republish whose rebuild differs from the published images though neither their
    base nor their Dockerfile changed (another SOURCE_DATE_EPOCH here; labels an upgraded
    publisher writes, or another builder, alike) moves the pin, and says, in its output and
    in the history entry, that the base and Dockerfile are the same and what of the build
    differs, so that it is not taken for a moved base. After the committed Dockerfile
    changed, a republish names the Dockerfile's old and new sha256 instead."""
    stack = world.stack
    repo = world.own_repo("acme/rebuilt-otherwise")
    one = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo=repo, env=one)
    notes = ("--only", "8.4", "--no-smoke", "--notes-dir", str(s.notes_dir))
    s.ok("release", "v7.0.0", *notes, env={"SOURCE_DATE_EPOCH": "1767225600"})
    line: Any = s.notes("v7.0.0")["lines"][0]
    base, published = line["base"]["digest"], line["index_digest"]

    later = {"SOURCE_DATE_EPOCH": "1767312000", **WIDE}  # a day after the release's
    again = s.ok("republish", "v7.0.0", "--reason", "weekly", *notes, env=later)
    rebuilt = s.index_digests("v7.0.0")["8.4"]
    assert rebuilt != published
    said = " ".join((again.stdout + again.stderr).split())
    cause = (
        "same base and Dockerfile; the build differs: label org.opencontainers.image.created "
        "2026-01-01T00:00:00Z -> 2026-01-02T00:00:00Z"
    )
    assert cause in said, said
    assert "base sha256:" not in said, said
    (entry,) = s.notes("v7.0.0")["history"]  # type: ignore[misc]
    (change,) = entry["changes"]
    assert (change["old"], change["new"]) == (published, rebuilt), change
    assert change["cause"].startswith(cause), change
    markdown = (s.notes_dir / "v7.0.0.md").read_text(encoding="utf-8")
    assert "same base and Dockerfile; the build differs" in markdown, markdown

    dockerfile = s.root / "dockerfiles" / "8.4" / "Dockerfile"
    before = "sha256:" + hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    dockerfile.write_bytes(dockerfile.read_bytes() + b"# edited by hand\n")
    after = "sha256:" + hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    edited = s.ok("republish", "v7.0.0", "--reason", "edited", *notes, env=later)
    said = " ".join((edited.stdout + edited.stderr).split())
    assert f"Dockerfile {before} -> {after}" in said, said
    assert "same base" not in said and "base sha256:" not in said, said
    second: Any = s.notes("v7.0.0")["history"]
    assert second[1]["changes"][0]["cause"] == f"Dockerfile {before} -> {after}", second
    assert s.notes("v7.0.0")["lines"][0]["base"]["digest"] == base  # the base never moved


# --------------------------------------------------------------------------- size history


def test_a_release_or_a_leg_from_stale_dockerfiles_says_so(world: World, tmp_path: Path) -> None:
    """matrix.yaml edited and `publisher render` forgotten: the builds use the committed
    Dockerfiles, and the release says they are not what the matrix renders now, as does a
    build leg, in the same words. (A rerun of the published v1.0.0 from such a Dockerfile
    is then refused: its images were built from another.)"""
    stack = world.stack
    dockerfile = stack.root / "dockerfiles" / "8.4" / "Dockerfile"
    saved = dockerfile.read_bytes()
    notes_dir = ["--notes-dir", str(stack.notes_dir)]
    current = stack.run("release", "v1.0.0", "--dry-run", *notes_dir)
    assert current.returncode == 0, current.stderr
    assert "differ from what" not in current.stderr
    try:
        dockerfile.write_bytes(saved + b"# edited by hand\n")
        stale = stack.run("release", "v1.0.0", "--dry-run", *notes_dir)
        assert stale.returncode == 14, stale.stderr
        said = " ".join(stale.stderr.split())
        assert "release conflict" in said and "PHP 8.4" in said, said
        assert f"warning: the committed Dockerfiles differ from what {stack.matrix}" in said
        assert f"8.4 changed ({dockerfile})" in said, said
        assert "run `publisher render` if matrix.yaml" in said, said  # ./matrix.yaml
        warned = said[said.index("warning: the committed Dockerfiles") :].split(" error:")[0]
        leg = ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64")
        built = stack.run(*leg, "--digest-file", str(tmp_path / "8.4-linux-amd64.json"))
        assert built.returncode == 14, built.stderr  # refused, but said first
        said = " ".join(built.stderr.split())
        assert warned in said, said
        assert said.index(warned) < said.index("release conflict"), said
    finally:
        dockerfile.write_bytes(saved)


def test_a_republish_after_the_extensions_changed_says_it_builds_today_s_dockerfiles(
    world: World,
) -> None:
    """intl added to matrix.yaml after v1.0.0 (recorded without it) and `publisher render`
    run: the committed Dockerfiles are current (render --check agrees), so no run says to
    render; a rerun of v1.0.0, whose images were built from other Dockerfiles, is refused
    (exit 14) naming both, not taken for a rerun that builds nothing, and a local
    republish says that it builds the committed (today's) Dockerfiles, not v1.0.0's own,
    which a republish from v1.0.0's commit builds."""
    stack = world.stack
    saved = stack.matrix.read_text()
    notes_dir = ["--notes-dir", str(stack.notes_dir)]
    data = yaml.safe_load(saved)
    data["extensions"]["install"].append("intl")
    try:
        stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
        stack.ok("render")
        assert stack.run("render", "--check").returncode == 0
        rerun = stack.run("release", "v1.0.0", "--dry-run", *notes_dir)
        assert rerun.returncode == 14, rerun.stderr
        refused = " ".join(rerun.stderr.split())
        assert "release conflict" in refused and "PHP 8.3, 8.4" in refused, refused
        assert "publish the change as a new release" in refused, refused
        assert "differ from what" not in refused, refused  # (they are current)
        republish = stack.run("republish", "v1.0.0", "--reason", "r", "--dry-run", *notes_dir)
        said = " ".join(republish.stderr.split())
        assert republish.returncode == 0, republish.stdout + republish.stderr
        assert "run `publisher render" not in said and "differ from what" not in said, said
        assert (
            "the committed Dockerfiles of PHP 8.3, 8.4 are current (matrix.yaml and the "
            "template render them), but not what v1.0.0 was built from"
        ) in said, said
        assert "PHP 8.4: recorded bcmath, gd, redis, matrix.yaml bcmath, gd, intl, redis" in said
        assert "A local republish builds the committed Dockerfiles" in said, said
        assert "republish from the commit that published it" in said, said
    finally:
        stack.matrix.write_text(saved)
        stack.ok("render")


def test_a_release_whose_template_no_longer_renders_says_so(world: World) -> None:
    """The template edited into an error and `publisher render` not run: the builds use
    the committed Dockerfiles, and the release says the template does not render."""
    stack = world.stack
    saved = stack.matrix.read_text()
    template = stack.root / "broken.j2"
    template.write_text(TEMPLATE.read_text() + "# {{ no_such_name }}\n")
    try:
        stack.matrix.write_text(saved.replace(str(TEMPLATE), str(template)))
        result = stack.run("release", "v1.0.0", "--dry-run", "--notes-dir", str(stack.notes_dir))
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stderr.split())
        assert "warning: the committed Dockerfiles could not be compared with what" in said
        assert "'no_such_name' is undefined" in said and "the builds use the committed" in said
    finally:
        stack.matrix.write_text(saved)


def test_a_lost_size_history_is_rebuilt_from_the_release_records(world: World) -> None:
    """Deleted (as a corrupt one's hint allows), the size history is not started afresh
    with one release: a rerun rebuilds it from the sizes every record holds, and says so."""
    stack = world.stack
    history = stack.notes_dir / "size-history.json"
    saved = history.read_bytes()
    tags, notes = world.tags(), stack.notes("v1.0.0")
    try:
        history.unlink()
        result = stack.run(
            "publish",
            "v1.0.0",
            "--digests",
            str(stack.digests_dir("v1.0.0")),
            "--no-smoke",
            "--notes-dir",
            str(stack.notes_dir),
        )
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stderr.split())
        assert "size-history.json was missing: rebuilt from the sizes in the 1 release" in said
        rebuilt = json.loads(history.read_text())["releases"]
        assert rebuilt == json.loads(saved)["releases"]
        assert rebuilt["v1.0.0"] == {
            line["php"]: {p["platform"]: p["size_bytes"] for p in line["platforms"]}
            for line in notes["lines"]
        }
        assert world.tags() == tags
    finally:
        history.write_bytes(saved)


@pytest.mark.parametrize(
    ("content", "located"),
    [
        ('{"schema": 1, "releases": {', "size-history.json:1:"),
        ('{"releases": ["v1.1.0"]}\n', "size-history.json: releases: expected an object"),
        (
            '{"schema": 1, "releases": {"v1.0.0": {"8.4": {"linux/amd64": "big"}}}}',
            'size-history.json: releases["v1.0.0"]["8.4"]["linux/amd64"]: expected a size',
        ),
        ("[]", "size-history.json: expected an object, got an array"),
    ],
)
def test_a_corrupt_size_history_is_refused_before_anything_moves(
    world: World, content: str, located: str
) -> None:
    stack = world.stack
    history = stack.notes_dir / "size-history.json"
    saved = history.read_bytes()
    tags = world.tags()
    try:
        history.write_text(content)
        notes = world.notes()
        notes_dir = ["--notes-dir", str(stack.notes_dir)]
        for argv in (
            ["release", "v1.1.0", "--no-smoke", *notes_dir],
            ["release", "v1.1.0", "--dry-run", *notes_dir],
            ["publish", "v1.0.0", "--digests", str(stack.digests_dir("v1.0.0")), *notes_dir],
        ):
            result = stack.run(*argv)
            assert result.returncode == 3, (argv, result.stdout, result.stderr)
            said = " ".join(result.stderr.split())
            assert located in said, said
            assert "restore it from git history" in said
            assert "internal error" not in said
            assert no_build_ran(result), result.stdout
        assert world.tags() == tags
        assert world.notes() == notes
    finally:
        history.write_bytes(saved)


# --------------------------------------------------------------------------- dry run


def test_a_dry_run_refuses_what_the_real_run_refuses(world: World, tmp_path: Path) -> None:
    stack = world.stack
    empty = tmp_path / "no-records"
    empty.mkdir()
    argv = ["publish", "v1.1.0", "--digests", str(empty), "--notes-dir", str(stack.notes_dir)]
    real = stack.run(*argv, "--no-smoke")
    dry = stack.run(*argv, "--dry-run")
    assert real.returncode == 2 and "no digest records in" in real.stderr
    assert dry.returncode == 2, dry.stdout
    assert "no digest records in" in dry.stderr and "no registry was asked" in dry.stderr
    assert not (stack.notes_dir / "v1.1.0.json").exists()


def test_a_new_pin_in_the_dry_run_plan_is_created_not_unchanged(world: World) -> None:
    stack = world.stack
    dry = stack.run("release", "v1.1.0", "--dry-run", "--notes-dir", str(stack.notes_dir), env=WIDE)
    assert dry.returncode == 0, dry.stderr
    rows = [
        line for line in dry.stdout.splitlines() if "v1.1.0-php-8.4 " in line and " pin " in line
    ]
    assert rows, dry.stdout
    for row in rows:
        assert "(new)" in row and "created" in row and "unchanged" not in row, row


def test_the_reruns_dry_run_still_calls_unchanged_pins_unchanged(world: World) -> None:
    stack = world.stack
    dry = stack.run(
        "publish",
        "v1.0.0",
        "--digests",
        str(stack.digests_dir("v1.0.0")),
        "--dry-run",
        "--notes-dir",
        str(stack.notes_dir),
        env=WIDE,
    )
    assert dry.returncode == 0, dry.stderr
    rows = [
        line for line in dry.stdout.splitlines() if "v1.0.0-php-8.4 " in line and " pin " in line
    ]
    assert rows and all("unchanged" in row and "created" not in row for row in rows), dry.stdout


# --------------------------------------------------------------------------- the default line


def test_a_new_release_without_its_default_line_is_refused_before_any_build(
    world: World, tmp_path: Path
) -> None:
    """``vX.Y.Z`` and ``latest`` follow the default line (8.4), and a published
    release keeps its lines: ``--only 8.3`` on a new release is refused by
    release, its dry run and publish, before anything is built or written."""
    stack = world.stack
    tags, notes = world.tags(), world.notes()
    notes_dir = ["--notes-dir", str(stack.notes_dir)]
    for argv in (
        ["release", "v1.9.0", "--only", "8.3", "--no-smoke", *notes_dir],
        ["release", "v1.9.0", "--only", "8.3", "--dry-run", *notes_dir],
        # records there are (v1.0.0's): the default line is refused before they are read
        ["publish", "v1.9.0", "--only", "8.3", "--digests", str(stack.digests_dir("v1.0.0")),
         *notes_dir],
    ):  # fmt: skip
        result = stack.run(*argv)
        assert result.returncode == 2, (argv, result.stdout + result.stderr)
        assert "without PHP 8.4, its default line" in result.stderr, result.stderr
        assert "--only 8.3,8.4" in result.stderr
        assert no_build_ran(result)
    # Left out by PUBLISHER_LINES, not --only: that variable's mistake (exit 3), said by
    # release, its dry run, a prerelease and publish, the tip changing it
    lines_83 = {"PUBLISHER_LINES": "8.3", **WIDE}
    for argv in (
        ["release", "v1.9.0", "--no-smoke", *notes_dir],
        ["release", "v1.9.0", "--dry-run", *notes_dir],
        ["release", "v1.9.0-rc.1", "--dry-run", *notes_dir],
        ["publish", "v1.9.0", "--digests", str(stack.digests_dir("v1.0.0")), *notes_dir],
    ):
        result = stack.run(*argv, env=lines_83)
        said = " ".join(result.stderr.split())
        assert result.returncode == 3, (argv, result.stdout + result.stderr)
        assert "environment: PUBLISHER_LINES: v1.9.0" in said, said
        assert "without PHP 8.4, its default line" in said
        assert "change or unset PUBLISHER_LINES so that it keeps PHP 8.4" in said
        assert "--only" not in said
        assert no_build_ran(result)
    assert world.tags() == tags and world.notes() == notes
    # A published release is finished or republished line by line, as before.
    rerun = stack.run("release", "v1.0.0", "--only", "8.3", "--dry-run", *notes_dir)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rerun = stack.run("release", "v1.0.0", "--dry-run", *notes_dir, env=lines_83)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr


def test_a_rerun_without_its_record_leaving_out_a_pinned_line_is_refused_before_any_build(
    world: World, tmp_path: Path
) -> None:
    """v1.0.0 without its record (it died before writing it, or the record is not in
    this directory), rerun with ``--only 8.4`` while the primary holds its 8.3 pin: the
    run and its dry run refuse (exit 2) before building, naming the pin and the lines
    to select, rather than publish v1.0.0 as a release of 8.4 alone."""
    stack = world.stack
    tags, notes = world.tags(), world.notes()
    elsewhere = ["--notes-dir", str(tmp_path / "notes")]
    for extra in (["--dry-run"], ["--no-smoke"]):
        result = stack.run("release", "v1.0.0", "--only", "8.4", *elsewhere, *extra)
        assert result.returncode == 2, (extra, result.stdout + result.stderr)
        assert "v1.0.0 was started with PHP 8.3 (v1.0.0-php-8.3 on hub)" in result.stderr
        assert "`--only 8.3,8.4`, or leave --only out" in result.stderr
        assert no_build_ran(result) and "Resolve the base images" not in result.stderr
    # the rerun it names takes the lines the release was started with, not this run's
    tip = re.search(r"to finish v1\.0\.0 with `(publisher release [^`]*)`", result.stderr)
    assert tip is not None, result.stderr
    named = shlex.split(tip.group(1))
    assert named[named.index("--only") + 1] == "8.3,8.4", named
    dry = stack.run(*named[1:], "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert world.tags() == tags and world.notes() == notes


def test_a_narrowed_release_stopped_before_its_record_is_rerun_with_its_only(
    world: World, tmp_path: Path
) -> None:
    """v1.1.0 released with ``--only 8.4``, its record gone (the run stopped before writing
    it): the primary holds v1.1.0 and its 8.4 pin only. audit (its ``unrecorded`` and
    ``ahead`` findings) and verify name its rerun with ``--only 8.4``, verify checking 8.4
    alone (8.3 is expected absent, no defect); the plain rerun and its dry run, which would
    add PHP 8.3 to v1.1.0 for good, are refused (exit 2) before any build, naming the
    narrowed command, as is a run leaving 8.4 out, which finishes it with its lines alone."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/narrowed-unrecorded")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    s.release("v1.1.0", "--only", "8.4", "--no-smoke")
    away = tmp_path / "away"
    away.mkdir()
    for path in s.notes_dir.glob("v1.1.0.*"):
        path.rename(away / path.name)
    notes = ["--notes-dir", str(s.notes_dir)]
    narrowed = "publisher release v1.1.0 --only 8.4"
    audit = s.run("audit", "--json", *notes)
    assert audit.returncode == 12, audit.stdout + audit.stderr
    findings = json.loads(audit.stdout)["findings"]
    kinds = sorted(
        {f["kind"] for f in findings if f["release"] == "v1.1.0" or f["kind"] == "ahead"}
    )
    assert kinds == ["ahead", "unrecorded"], findings
    for finding in findings:
        if finding["kind"] in ("ahead", "unrecorded"):
            assert finding["started"] == {
                "release": "v1.1.0",
                "lines": ["8.4"],
                "whole": True,
                "matrix": ["8.3", "8.4"],
            }, finding
            said = finding["message"]
            assert f"`{narrowed}`" in said, said
            assert "without --only the rerun would add PHP 8.3 to it for good" in said, said
            assert "`publisher release v1.1.0`" not in said, said
    # verify checks the lines that run was given: PHP 8.3 is expected absent, no defect
    verify = s.run("verify", "v1.1.0", *notes)
    said = " ".join(verify.stderr.split())
    assert verify.returncode == 0, verify.stdout + said
    assert "PHP 8.3 is not checked: the run that published v1.1.0 was narrowed to PHP 8.4" in (
        said
    ), said
    assert f"`{narrowed}`" in said and "`publisher release v1.1.0`" not in said, said
    assert "tag 'v1.1.0-php-8.3' is missing" not in verify.stdout + said
    # a run leaving out the line it was published with is told that line, exactly
    left = s.run("release", "v1.1.0", "--only", "8.3", "--dry-run", *notes)
    said = " ".join(left.stderr.split())
    assert left.returncode == 2, left.stdout + said
    assert "select PHP 8.4 too and leave PHP 8.3 out" in said, said
    assert f"to finish v1.1.0 with `{narrowed}`" in said, said
    assert "leave --only out" not in said, said
    before = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
    for extra in (["--dry-run"], ["--no-smoke"]):
        refused = s.run("release", "v1.1.0", *notes, *extra)
        said = " ".join(refused.stderr.split())
        assert refused.returncode == 2, (extra, refused.stdout + said)
        assert (
            "v1.1.0 was published by a run narrowed to PHP 8.4 (the primary holds v1.1.0 and "
            "the pins of PHP 8.4 only, and no record of it is here): this run would add PHP "
            "8.3 to it"
        ) in said, said
        assert f"finish v1.1.0 as it was run: `{narrowed}`" in said, said
        assert no_build_ran(refused), refused.stdout
    assert [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)] == (
        before
    )
    finished = s.release("v1.1.0", "--only", "8.4", "--no-smoke")
    assert no_build_ran(finished), finished.stdout
    assert [line["php"] for line in s.notes("v1.1.0")["lines"]] == ["8.4"]  # type: ignore[index]
    s.ok("audit", *notes)


# --------------------------------------------------------------------------- the same release twice


def test_a_run_whose_pins_another_run_wrote_meanwhile_refuses_and_moves_none(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """Two runs of one new release at once (a maintainer's and the workflow's), whose
    builds differ: both read the registries before either wrote a pin. The one that
    reaches its tags second finds the pins written by the other and refuses (exit
    14) instead of moving them: a pin only moves by a republish."""
    stack = world.stack
    ghcr = proxy_for(stack.secondary)
    ghcr.add(Fault("stall", method="PUT", path="/manifests/sha256:", stall_seconds=120))
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/twice")
    slow = Stack(tmp_path / "slow", stack.primary, ghcr.host, stack.bases, repo, env=env)
    other = {**env, "SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    fast = Stack(tmp_path / "fast", stack.primary, stack.secondary, stack.bases, repo)
    fast.env = other
    first = slow.start("release", "v1.0.0", "--no-smoke", "--notes-dir", str(slow.notes_dir))
    try:
        # the slow run has planned and is copying its indexes to ghcr: no tag yet
        assert wait_for(lambda: ghcr.faults[0].fired, timeout=300)
        fast.release("v1.0.0", "--no-smoke")
        published = skopeo_tag_map(world.skopeo, stack.primary, repo)
        ghcr.release()
        first.wait(timeout=300)
    finally:
        kill_group(first)
    log = (slow.root / "run.log").read_text()
    assert first.returncode == 14, log
    assert "v1.0.0-php-8.4" in log and "internal error" not in log
    for host in (stack.primary, stack.secondary):
        assert skopeo_tag_map(world.skopeo, host, repo) == published
    assert published["v1.0.0"] == fast.index_digests("v1.0.0")["8.4"]
    assert not (slow.notes_dir / "v1.0.0.json").exists()


def test_a_run_whose_first_pins_landed_over_another_run_s_refuses_its_next_pins(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """Two runs of one new release at once, whose builds differ: the slow one's pins to
    the primary are in flight (a slow registry) while the other reads the registries,
    publishes and finishes. They land over the other's pins; the slow run then reads
    each next pin again just before writing it (``vX.Y.Z`` on the primary first), finds
    the other's and refuses (exit 14): it writes no pin on the other registry, no
    ``vX.Y.Z``, no floating tag and no record, and says what its own writes landed over."""
    stack = world.stack
    hub = proxy_for(stack.primary)
    pins = r"/manifests/v1\.0\.0-php-8\.[0-9]+$"
    hub.add(Fault("stall", method="PUT", path=pins, times=None, stall_seconds=300))
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/landed-over")
    slow = Stack(tmp_path / "slow", hub.host, stack.secondary, stack.bases, repo, env=env)
    other = {**env, "SOURCE_DATE_EPOCH": "1767225800"}  # another build: other digests
    fast = Stack(tmp_path / "fast", stack.primary, stack.secondary, stack.bases, repo, env=other)
    first = slow.start("release", "v1.0.0", "--no-smoke", "--notes-dir", str(slow.notes_dir))
    try:
        # the slow run checked its pins and is writing them to the primary
        assert wait_for(lambda: hub.faults[0].fired == len(LINES), timeout=300)
        fast.release("v1.0.0", "--no-smoke")
        published = [
            skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)
        ]
        hub.release()
        first.wait(timeout=300)
    finally:
        kill_group(first)
    log = " ".join((slow.root / "run.log").read_text().split())
    assert first.returncode == 14, log
    assert "another run wrote its pins while this one ran" in log, log
    assert "internal error" not in log, log
    fast_pins = fast.index_digests("v1.0.0")
    assert f"hub: v1.0.0 -> {fast_pins['8.4']}" in log, log
    # only the slow run's first pins landed (over the fast run's), and it says so
    now = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
    assert now[1] == published[1]
    landed = {f"v1.0.0-php-{php}" for php in LINES}
    assert {t: d for t, d in now[0].items() if t not in landed} == {
        t: d for t, d in published[0].items() if t not in landed
    }
    assert all(now[0][t] != published[0][t] for t in landed), (now, published)
    assert not (slow.notes_dir / "v1.0.0.json").exists()
    assert fast.index_digests("v1.0.0") == fast_pins
    # the tip's repair puts them back where the other run's record names
    assert "`publisher audit --repair` puts those pins back where it names" in log, log
    fast.ok("audit", "--repair", "--notes-dir", str(fast.notes_dir))
    assert [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)] == (
        published
    )


#: What verify and audit add to their advice to rerun a release whose pins they find
#: incomplete or without a record: a run of it may be writing them.
WAIT_FOR_THE_RUN = (
    "if a run of v1.0.0 is in progress (the workflow, another maintainer), wait for it to end first"
)


def test_two_runs_whose_pin_steps_go_in_lockstep_the_loser_stops_after_one_step(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """Two runs of one new release at once, whose builds differ (A and B), each behind a
    proxy of its own to the primary, their pin steps in lockstep: each read its first
    pins before the other's landed, A's first pins land, then B's over them, and each
    step reads only the tags it writes, in which the other's are not yet. A, reading
    again before its next step the pins it already wrote (read after write), finds B's
    and refuses (exit 14, naming each pin with both digests) after that one step: it
    never writes to the second registry, nor its floating tags or record. B finishes.
    Meanwhile, with A held after its first pins, verify and audit find v1.0.0 half
    written and, beside their advice to rerun it, say to wait for a run in progress."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/lockstep")
    pins = r"/manifests/v1\.0\.0-php-8\.[0-9]+$"
    hubs = [proxy_for(stack.primary), proxy_for(stack.primary)]
    for hub in hubs:  # each run's first pins, then its v1.0.0 on the primary, held
        hub.add(
            Fault("stall", method="PUT", path=pins, times=len(LINES), stall_seconds=300),
            Fault("stall", method="PUT", path=r"/manifests/v1\.0\.0$", stall_seconds=300),
        )
    a_hub, b_hub = hubs
    a = Stack(tmp_path / "a", a_hub.host, stack.secondary, stack.bases, repo, env=env)
    other = {**env, "SOURCE_DATE_EPOCH": "1767225900"}  # another build: other digests
    b = Stack(tmp_path / "b", b_hub.host, stack.secondary, stack.bases, repo, env=other)
    notes_a, notes_b = ["--notes-dir", str(a.notes_dir)], ["--notes-dir", str(b.notes_dir)]
    run_a = a.start("release", "v1.0.0", "--no-smoke", *notes_a)
    run_b: subprocess.Popen[str] | None = None
    try:
        # A read its first pins (none) and is writing them; then B, before A's landed
        assert wait_for(lambda: a_hub.faults[0].fired == len(LINES), timeout=300)
        run_b = b.start("release", "v1.0.0", "--no-smoke", *notes_b)
        assert wait_for(lambda: b_hub.faults[0].fired == len(LINES), timeout=300)
        a_hub.faults[0].release()  # A's first pins land; A is writing its v1.0.0
        assert wait_for(lambda: a_hub.faults[1].fired, timeout=60)
        # half written: verify and audit tell to wait for the run before rerunning it
        a.notes_dir.mkdir(exist_ok=True)  # (A writes there once it finishes)
        verify = a.run("verify", "v1.0.0", *notes_a, env=WIDE)
        said = " ".join((verify.stdout + verify.stderr).split())
        assert verify.returncode == 12, said
        assert "publisher release v1.0.0" in said and WAIT_FOR_THE_RUN in said, said
        audit = a.run("audit", *notes_a, env=WIDE)
        said = " ".join((audit.stdout + audit.stderr).split())
        assert audit.returncode == 12, said
        assert "publisher release v1.0.0" in said and WAIT_FOR_THE_RUN in said, said
        b_hub.faults[0].release()  # B's first pins land over A's; B is writing its v1.0.0
        assert wait_for(lambda: b_hub.faults[1].fired, timeout=60)
        a_hub.faults[1].release()  # A's v1.0.0 lands over nothing: its next step reads
        run_a.wait(timeout=300)
        held = skopeo_tag_map(world.skopeo, stack.secondary, repo)
        b_hub.faults[1].release()
        run_b.wait(timeout=300)
    finally:
        kill_group(run_a)
        if run_b is not None:
            kill_group(run_b)
    log = " ".join((a.root / "run.log").read_text().split())
    assert run_a.returncode == 14, log
    assert "another run wrote its pins while this one ran" in log, log
    assert "internal error" not in log and "Traceback" not in log, log
    assert held == {}, held  # A wrote nothing on ghcr, B had not reached it
    assert not (a.notes_dir / "v1.0.0.json").exists()
    b_log = (b.root / "run.log").read_text()
    assert run_b.returncode == 0, b_log
    theirs = b.index_digests("v1.0.0")
    ours = {php: re.findall(rf"/lockstep:v1\.0\.0-php-{php} -> (sha256:\w+)", log) for php in LINES}
    for php in LINES:  # each pin A wrote, named with B's digest over it and A's
        assert ours[php] and ours[php][0] != theirs[php], (php, log)
        assert f"hub: v1.0.0-php-{php} -> {theirs[php]} (this run wrote {ours[php][0]})" in log
    assert "nothing more was tagged by this run" in log, log
    tags = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
    assert tags[0] == tags[1] and tags[0]["v1.0.0"] == tags[0]["latest"] == theirs["8.4"]
    assert {php: tags[0][f"v1.0.0-php-{php}"] for php in LINES} == theirs


def test_a_rerun_after_the_default_line_changed_is_refused_before_any_build(
    world: World, tmp_path: Path
) -> None:
    """v1.0.0 without its record (it died before writing it, or the record is not in
    this directory), rerun after default_line moved to a new line 8.5: ``v1.0.0`` holds
    8.4's image. The run and its dry run refuse alike (exit 14, naming 8.4), before
    building 8.5: the dry run, which builds nothing, had seen no conflict."""
    stack = world.stack
    standins.push_standins(stack.bases, runner=quiet_runner(), lines=("8.5",))
    moved = Stack(
        tmp_path / "moved",
        stack.primary,
        stack.secondary,
        stack.bases,
        stack.repo,
        lines=(*LINES, "8.5"),
    )
    data = yaml.safe_load(moved.matrix.read_text())
    data["default_line"] = "8.5"
    moved.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    tags = world.tags()
    for extra in (["--dry-run"], ["--no-smoke"]):
        result = moved.run("release", "v1.0.0", "--notes-dir", str(moved.notes_dir), *extra)
        assert result.returncode == 14, (extra, result.stdout + result.stderr)
        assert 'Set default_line: "8.4"' in result.stderr, result.stderr
        assert "Resolve the base images" not in result.stderr, result.stderr  # nor built
    assert world.tags() == tags


def test_a_rerun_after_the_extensions_changed_is_refused_before_any_tag_moves(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A release that failed while writing its pins (ghcr refusing them, exit 7) is
    rerun after intl was added to matrix.yaml's extensions and the Dockerfiles rendered
    again: the images its pins hold were built without intl. The run and its dry run
    refuse alike (exit 14) before any tag moves, naming the line, the extension added
    and the way out; set back, the rerun finishes it, and its record names the
    extensions the images were built with, never today's."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/extensions-changed")
    ghcr = proxy_for(stack.secondary)
    ghcr.add(Fault("status", method="PUT", path=r"/manifests/v1\.0\.0", status=503, times=None))
    s = Stack(tmp_path / "s", stack.primary, ghcr.host, stack.bases, repo, env=env)
    failed = s.run("release", "v1.0.0", "--no-smoke", env={"PUBLISHER_RETRY_ATTEMPTS": "1"})
    assert failed.returncode == 7, failed.stdout + failed.stderr
    ghcr.clear()
    kept = s.matrix.read_text()
    data = yaml.safe_load(kept)
    data["extensions"]["install"].append("intl")
    s.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    s.ok("render")
    held = [skopeo_tag_map(world.skopeo, host, repo) for host in (stack.primary, stack.secondary)]
    assert held[0] and "v1.0.0-php-8.4" in held[0], held
    for extra in (["--dry-run"], ["--no-smoke"], []):
        result = s.run("release", "v1.0.0", *extra)
        said = " ".join(result.stderr.split())
        assert result.returncode == 14, (extra, result.stdout + result.stderr)
        assert "PHP 8.4" in said and "PHP 8.3" in said, said
        assert "(added since: intl)" in said, said
        assert "set matrix.yaml's extensions back to what that run built with" in said, said
        assert "(take intl out again)" in said, said
        assert "publish the change as a new release" in said, said
        # one rule for every command of the tip: ./matrix.yaml (given here by its whole
        # path) is the default, left out of render's as of release's
        assert "run `publisher render`, then `publisher release v1.0.0`" in said, said
        assert "5/8 Smoke-test" not in result.stderr and no_build_ran(result)
        after = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
        assert after == held, extra
        assert not (s.notes_dir / "v1.0.0.json").exists()
    # the publish job of a workflow, given the legs' records, refuses the same
    pending = s.digests_dir("v1.0.0") / ".pending"
    refused = s.run("publish", "v1.0.0", "--digests", str(pending), "--no-smoke")
    assert refused.returncode == 14, refused.stdout + refused.stderr
    assert "(added since: intl)" in " ".join(refused.stderr.split()), refused.stderr
    after = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
    assert after == held and not (s.notes_dir / "v1.0.0.json").exists()
    # another package, the extensions as they were: the earlier run's records tell
    data = yaml.safe_load(kept)
    data["packages"].append("curl")
    s.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    s.ok("render")
    refused = s.run("release", "v1.0.0", "--no-smoke")
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 14, refused.stdout + refused.stderr
    assert "as the earlier run's digest record names it" in said, said
    assert "set matrix.yaml and the template back to what that run built from" in said, said
    s.matrix.write_text(kept)
    s.ok("render")
    done = s.ok("release", "v1.0.0", "--no-smoke")
    assert "not rebuilding" in done.stdout, done.stdout
    lines: Any = s.notes("v1.0.0")["lines"]
    assert all("intl" not in line["extensions"] for line in lines), lines


def test_pins_holding_another_release_s_builds_are_named_all_at_once_and_audit_says_republish(
    world: World, tmp_path: Path
) -> None:
    """v2.0.0's pins on the primary were copied there by hand from v1.0.0's indexes (every
    line), and v2.0.0 has no record. Its release and dry run refuse (exit 14) naming every
    such pin with its digest and the pin its image was built for, not the first alone, and
    so does the dry run's --json error; audit, before any record of the repository and after one,
    names those pins and the republish that replaces them, not the rerun refused, and
    keeps the rerun's advice for a release without a record whose pins hold its own
    builds. The republish it names finishes v2.0.0, and the audit then finds nothing."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/copied-pins")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.ok("release", "v1.0.0", "--no-smoke", "--notes-dir", str(tmp_path / "elsewhere"))
    held = skopeo_tag_map(world.skopeo, stack.primary, repo)
    for php in LINES:
        world.copy(
            f"{stack.primary}/{repo}:v1.0.0-php-{php}", f"{stack.primary}/{repo}:v2.0.0-php-{php}"
        )
    before = skopeo_tag_map(world.skopeo, stack.primary, repo)
    notes = ["--notes-dir", str(s.notes_dir)]
    for extra in (["--dry-run"], ["--no-smoke"], ["--dry-run", "--json"]):
        refused = s.run("release", "v2.0.0", *notes, *extra)
        assert refused.returncode == 14, (extra, refused.stdout + refused.stderr)
        said = (
            json.loads(refused.stdout)["error"]["message"] if "--json" in extra else refused.stderr
        )
        for php in LINES:
            pin = f"v2.0.0-php-{php}"
            assert f"PHP {php}: {pin} is {held[f'v1.0.0-php-{php}']} on hub" in said, said
            assert f"built as 'v1.0.0-php-{php}', not '{pin}'" in said, said
        assert "publisher republish v2.0.0" in refused.stderr, refused.stderr
        assert no_build_ran(refused), refused.stdout
    assert skopeo_tag_map(world.skopeo, stack.primary, repo) == before
    # before any record here (only the primary is read), then with v1.0.0's
    s.notes_dir.mkdir()
    for directory in (s.notes_dir, tmp_path / "elsewhere"):
        audit = s.run("audit", "--json", "--notes-dir", str(directory))
        assert audit.returncode == 12, audit.stdout + audit.stderr
        found = {
            (f["registry"], f["release"]): f
            for f in json.loads(audit.stdout)["findings"]
            if f["kind"] == "unrecorded"
        }
        copied_pins = found[("hub", "v2.0.0")]
        assert copied_pins["conflict"] == (
            "on hub, v2.0.0-php-8.3 holds an image built as 'v1.0.0-php-8.3', "
            "v2.0.0-php-8.4 holds one built as 'v1.0.0-php-8.4'"
        ), copied_pins
        message = copied_pins["message"]
        # the commands named carry the --notes-dir audit was given, unless the default
        located = "" if directory == s.notes_dir else f" --notes-dir {directory}"
        assert f"a rerun of the release (`publisher release v2.0.0{located}`) refuses them" in (
            message
        ), message
        assert f"`publisher republish v2.0.0 --reason ...{located}` replaces them" in message, (
            message
        )
        if directory == s.notes_dir:  # v1.0.0 unrecorded too: its pins hold its own builds
            own = found[("hub", "v1.0.0")]
            assert (
                own["conflict"] == ""
                and "(`publisher release v1.0.0`) to finish it" in (own["message"])
            ), own
    republished = ["republish", "v2.0.0", "--reason", "copied by hand", "--no-smoke"]
    s.ok(*republished, "--notes-dir", str(tmp_path / "elsewhere"))
    s.ok("audit", "--notes-dir", str(tmp_path / "elsewhere"))


def test_a_pin_of_a_new_release_placed_on_another_registry_by_hand_is_named_for_deletion(
    world: World, tmp_path: Path
) -> None:
    """v1.1.0 (no record) has a pin on ghcr, copied there by hand from v1.0.0's 8.4 image,
    while hub, where publisher writes each pin first, holds none of v1.1.0's: no publisher
    run left it. The release and its dry run judge it as they judge the primary's pins and
    refuse before any build (exit 14), naming the image's version label; release,
    republish (which finds nothing to republish) and audit name the same way out, not each
    other: delete it from ghcr by hand, then run the release. Deleted (by digest, taking
    v1.0.0's tags on that image with it) and v1.0.0 repaired as the tip says, the release
    publishes."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/placed-elsewhere")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    image = skopeo_tag_map(world.skopeo, stack.secondary, repo)["v1.0.0-php-8.4"]
    world.copy(
        f"{stack.secondary}/{repo}:v1.0.0-php-8.4", f"{stack.secondary}/{repo}:v1.1.0-php-8.4"
    )
    before = [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)]
    notes = ["--notes-dir", str(s.notes_dir)]
    way_out = "delete it from ghcr by hand"
    for extra in (["--dry-run"], ["--no-smoke"]):
        refused = s.run("release", "v1.1.0", *notes, *extra)
        said = " ".join(refused.stderr.split())
        assert refused.returncode == 14, (extra, refused.stdout + said)
        assert (
            f"PHP 8.4: v1.1.0-php-8.4 is {image} on ghcr, whose linux/amd64 image was built "
            "as 'v1.0.0-php-8.4', not 'v1.1.0-php-8.4'"
        ) in said, said
        assert way_out in said and "then run `publisher release v1.1.0" in said, said
        assert "publisher republish" not in said, said
        assert no_build_ran(refused), refused.stdout
    republish = s.run("republish", "v1.1.0", "--reason", "placed", "--no-smoke", *notes)
    said = " ".join(republish.stderr.split())
    assert republish.returncode == 2, said
    assert "ghcr holds v1.1.0-php-8.4" in said and way_out in said, said
    audit = s.run("audit", *notes)
    said = " ".join((audit.stdout + audit.stderr).split())
    assert audit.returncode == 12, said
    assert way_out in said and "then run `publisher release v1.1.0" in said, said
    assert [skopeo_tag_map(world.skopeo, h, repo) for h in (stack.primary, stack.secondary)] == (
        before
    )
    # the way out: deleted (a registry deleting by digest takes v1.0.0's tags with it,
    # which the repair puts back), then the release
    deleted = subprocess.run(
        [
            world.skopeo,
            "delete",
            "--tls-verify=false",
            f"docker://{stack.secondary}/{repo}@{image}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert deleted.returncode == 0, deleted.stderr
    s.ok("audit", "--repair", *notes)
    s.release("v1.1.0", "--no-smoke")
    s.ok("audit", *notes)


def test_a_pin_of_a_new_release_placed_elsewhere_built_as_it_is_named_after_the_builds(
    world: World, tmp_path: Path
) -> None:
    """v1.0.0's pin on ghcr holds another build of v1.0.0 (built as that very pin, copied
    there by hand from another repository), while hub holds none of its pins: nothing
    tells it apart before the builds, and the publish plan refuses it (exit 14) once the
    run's own image differs. Its tip names the way out that works (delete it from ghcr,
    then run the release), not a republish (nothing to republish) nor the release itself."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    elsewhere = world.own_repo("acme/placed-built-as-it-src")
    other = {**env, "SOURCE_DATE_EPOCH": "1767225900"}  # another build: other digests
    Stack(
        tmp_path / "o", stack.primary, stack.secondary, stack.bases, elsewhere, env=other
    ).release("v1.0.0", "--no-smoke")
    repo = world.own_repo("acme/placed-built-as-it")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    world.copy(
        f"{stack.secondary}/{elsewhere}:v1.0.0-php-8.4", f"{stack.secondary}/{repo}:v1.0.0-php-8.4"
    )
    refused = s.run("release", "v1.0.0", "--no-smoke", "--notes-dir", str(s.notes_dir))
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 14, refused.stdout + said
    assert "v1.0.0-php-8.4 is " in said and " on ghcr, expected " in said, said
    assert "delete it from ghcr by hand" in said, said
    assert "then run `publisher release v1.0.0" in said, said
    assert "publisher republish" not in said, said
    assert not skopeo_tag_map(world.skopeo, stack.primary, repo)


# --------------------------------------------------------------------------- drift


def test_a_floating_tag_moved_by_hand_is_put_back_by_a_rerun_as_verify_says(world: World) -> None:
    """``latest`` moved by hand on ghcr to 8.3's image: verify names the drift and
    says what puts it back (a rerun, or ``audit --repair``), not a republish, whose
    rebuild would move the pins; the rerun then restores every tag."""
    stack = world.stack
    tags = world.tags()
    ghcr = tags[1]
    world.copy(
        f"{stack.secondary}/{stack.repo}@{ghcr['v1.0.0-php-8.3']}",
        f"{stack.secondary}/{stack.repo}:latest",
    )
    checked = stack.run("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))
    assert checked.returncode == 12, checked.stdout + checked.stderr
    assert "latest -> " in checked.stderr
    tip = checked.stderr.split("tip:", 1)[1]
    assert "publisher release v1.0.0" in tip and "republish" not in tip, tip
    stack.release("v1.0.0", "--no-smoke")
    assert world.tags() == tags


def test_a_rerun_that_only_puts_floating_tags_back_keeps_the_record_as_written(
    world: World, tmp_path: Path
) -> None:
    """``latest`` on ghcr moved by hand to v1.0.0 after v1.1.0 took it: a rerun of
    v1.0.0 puts it back on v1.1.0, and a rerun of v1.1.0 after the same drift puts it
    back on v1.1.0. Neither moved a pin: each keeps its record as written (its date,
    the tags it had at publication, its floating facts), byte for byte, and says that
    an earlier run published and this one only put the floating tag back."""
    stack = world.stack
    repo = world.own_repo("acme/drifted")
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    s.release("v1.1.0", "--no-smoke")
    tags = [skopeo_tag_map(world.skopeo, h, repo) for h in (s.primary, s.secondary)]
    assert tags[1]["latest"] == tags[1]["v1.1.0"] != tags[1]["v1.0.0"]
    notes = {p.name: p.read_bytes() for p in sorted(s.notes_dir.iterdir())}
    for release in ("v1.0.0", "v1.1.0"):
        world.copy(f"{s.secondary}/{repo}:v1.0.0", f"{s.secondary}/{repo}:latest")
        rerun = s.release(release, "--no-smoke")
        assert [skopeo_tag_map(world.skopeo, h, repo) for h in (s.primary, s.secondary)] == tags
        assert {p.name: p.read_bytes() for p in sorted(s.notes_dir.iterdir())} == notes
        said = " ".join(rerun.stdout.split())
        assert (
            f"Published {release} by an earlier run (this run only put back the floating "
            "tag latest; its notes record it)"
        ) in said, rerun.stdout
        assert "kept " in said and "every fact is as recorded" in said, rerun.stdout


def test_pins_off_the_record_on_every_registry_refuse_a_rerun_until_the_republish_finishes(
    world: World, tmp_path: Path
) -> None:
    """A republish moved v1.0.0-php-8.3 on every registry, then stopped before writing
    the record (its notes are as before). A rerun of the release refuses (exit 14)
    instead of rewriting the record from the registries (the republish's history and
    the release's date lost); the republish, rerun, finishes and records its history."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/offrecord")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    before = {p.name: p.read_bytes() for p in s.notes_dir.glob("v1.0.0.*")}
    republish = [
        "republish", "v1.0.0", "--reason", "base fix", "--only", "8.3", "--no-smoke",
        "--notes-dir", str(s.notes_dir),
    ]  # fmt: skip
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    s.ok(*republish, env=rebuilt)
    for name, data in before.items():  # as if it had stopped before the notes
        (s.notes_dir / name).write_bytes(data)
    tags = [skopeo_tag_map(world.skopeo, h, s.repo) for h in (s.primary, s.secondary)]
    for extra in (["--dry-run"], ["--no-smoke"]):
        rerun = s.run("release", "v1.0.0", "--notes-dir", str(s.notes_dir), *extra)
        assert rerun.returncode == 14, (extra, rerun.stdout + rerun.stderr)
        assert "ghcr v1.0.0-php-8.3" in rerun.stderr and "publisher republish" in rerun.stderr
    assert {p.name: p.read_bytes() for p in s.notes_dir.glob("v1.0.0.*")} == before
    assert [skopeo_tag_map(world.skopeo, h, s.repo) for h in (s.primary, s.secondary)] == tags
    s.ok(*republish, env=rebuilt)
    history = s.notes("v1.0.0")["history"]
    assert isinstance(history, list) and [h["reason"] for h in history] == ["base fix"]
    assert s.index_digests("v1.0.0")["8.3"] == tags[0]["v1.0.0-php-8.3"]


def released_with_ghcr_behind_a_proxy(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy], name: str
) -> tuple[Stack, FaultProxy, dict[str, str], list[str]]:
    """v1.0.0 released (amd64, no smoke test) to hub and to ghcr behind a fault proxy, in a
    repository of its own (acme/NAME): the stack, the proxy, v1.0.0's index digests by
    line, and the --notes-dir option of its notes."""
    stack = world.stack
    ghcr = proxy_for(stack.secondary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo(f"acme/{name}")
    s = Stack(tmp_path / "s", stack.primary, ghcr.host, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    return s, ghcr, s.index_digests("v1.0.0"), ["--notes-dir", str(s.notes_dir)]


def test_a_republish_killed_while_moving_floating_tags_is_finished_by_its_rerun(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A republish of v1.0.0 is killed (SIGKILL) while it moves the floating tags: every
    pin and hub's floating tags hold the rebuilt images, ghcr's latest the old one, and
    the record still names the old images. verify and audit name the rerun of that
    republish as what finishes it (a repair would point the pins back); the rerun moves
    the tag left behind, records the history, and verify then passes."""
    s, ghcr, old, notes = released_with_ghcr_behind_a_proxy(world, tmp_path, proxy_for, "killed")
    republish = ["republish", "v1.0.0", "--reason", "base fix", "--no-smoke", *notes]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    ghcr.add(Fault("stall", method="PUT", path=r"/manifests/latest$", stall_seconds=300))
    killed = s.start(*republish, env=rebuilt)

    def hub_moved() -> bool:
        """hub's floating tags on its pins, which the republish rewrote before them."""
        tags = tag_map(s.primary, s.repo)
        follows = {"latest": "v1.0.0", "php-8.4": "v1.0.0-php-8.4", "php-8.3": "v1.0.0-php-8.3"}
        return all(tags[floating] == tags[pin] for floating, pin in follows.items())

    try:
        assert wait_for(lambda: ghcr.faults[0].fired, timeout=300)
        # hub's floating tags are written beside the held one, by other threads: killed
        # before they land (a loaded machine), they would stay on the old images
        assert wait_for(hub_moved, timeout=60), (s.root / "run.log").read_text()
    finally:
        kill_group(killed)
    ghcr.clear()
    hub, other = (skopeo_tag_map(world.skopeo, h, s.repo) for h in (s.primary, ghcr.host))
    assert hub["v1.0.0-php-8.4"] == hub["latest"] != old["8.4"] == other["latest"]
    assert s.index_digests("v1.0.0") == old  # the record was not written

    checked = s.run("verify", "v1.0.0", *notes)
    assert checked.returncode == 12, checked.stdout + checked.stderr
    tip = checked.stderr.split("tip:", 1)[1]
    finish = "to finish a republish that stopped before writing the record, run `publisher republish v1.0.0"
    assert finish in " ".join(tip.split()), tip
    audit = s.run("audit", *notes)
    assert audit.returncode == 12, audit.stdout + audit.stderr
    assert "rerun that republish instead" in audit.stderr, audit.stderr

    s.ok(*republish, env=rebuilt)
    new = s.index_digests("v1.0.0")
    history = s.notes("v1.0.0")["history"]
    assert isinstance(history, list) and [h["reason"] for h in history] == ["base fix"]
    assert {c["php"]: (c["old"], c["new"]) for c in history[0]["changes"]} == {
        php: (old[php], new[php]) for php in old
    }
    for host in (s.primary, ghcr.host):
        tags = skopeo_tag_map(world.skopeo, host, s.repo)
        assert tags["latest"] == tags["php-8.4"] == tags["v1.0.0"] == new["8.4"] != old["8.4"]
        assert tags["php-8.3"] == tags["v1.0.0-php-8.3"] == new["8.3"]
    s.ok("verify", "v1.0.0", *notes)


def test_a_republish_says_a_registry_matrix_yaml_dropped_keeps_the_replaced_images(
    world: World, tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """v1.0.0 went to hub, ghcr and extra0; matrix.yaml then drops extra0 and v1.0.0 is
    republished. extra0 keeps the old images under v1.0.0's tags, and the record the
    republish writes names hub and ghcr only: the run says both, before its builds and
    again at its end, with what republishes there too (extra0 back in matrix.yaml, then
    `publisher audit --repair`), which works."""
    stack = world.stack
    extra = fresh_registry()
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/dropped")
    s = Stack(
        tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo,
        env=env, more=(extra.host,),
    )  # fmt: skip
    s.release("v1.0.0", "--no-smoke")
    old = s.index_digests("v1.0.0")
    published = yaml.safe_load(s.matrix.read_text(encoding="utf-8"))
    dropped = dict(published, registries=published["registries"][:2])
    s.matrix.write_text(yaml.safe_dump(dropped, sort_keys=False), encoding="utf-8")
    notes = ["--notes-dir", str(s.notes_dir)]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    done = s.ok("republish", "v1.0.0", "--reason", "base fix", "--no-smoke", *notes, env=rebuilt)
    said = " ".join(done.stderr.split())
    where = f"{extra.host}/{s.repo} (extra0)"
    assert (
        f"v1.0.0 was also published to {where}, which matrix.yaml no longer names: a "
        "republish leaves its tags there on the images it replaces, and the record it writes "
        "no longer names it"
    ) in said, done.stderr
    assert (
        f"v1.0.0's record now names hub, ghcr only: {where}, which matrix.yaml no longer "
        "names, still serves v1.0.0's tags there with the images this republish replaced "
        f"(PHP 8.3 {old['8.3'][:19]}…, PHP 8.4 {old['8.4'][:19]}…)"
    ) in said, done.stderr
    assert "add it back to matrix.yaml and run `publisher audit --repair`" in said
    record: Any = s.notes("v1.0.0")
    assert [r["name"] for r in record["registries"]] == ["hub", "ghcr"]
    new = s.index_digests("v1.0.0")
    left = skopeo_tag_map(world.skopeo, extra.host, s.repo)
    assert left["v1.0.0-php-8.4"] == left["latest"] == old["8.4"] != new["8.4"]

    s.matrix.write_text(yaml.safe_dump(published, sort_keys=False), encoding="utf-8")
    s.ok("audit", "--repair", *notes)
    hub = skopeo_tag_map(world.skopeo, stack.primary, s.repo)
    assert skopeo_tag_map(world.skopeo, extra.host, s.repo) == hub
    assert hub["latest"] == new["8.4"]


def _released_then_registry_added(
    world: World, tmp_path: Path, extra: LocalRegistry, repo: str, *v100: str
) -> Stack:
    """v1.0.0 (released with the options ``v100``, as ``--only 8.4``) and v1.1.0 (8.4
    alone) released to hub and ghcr, then ``extra`` added to matrix.yaml as extra0."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    s = Stack(
        tmp_path / "s", stack.primary, stack.secondary, stack.bases, world.own_repo(repo),
        env=env, more=(extra.host,),
    )  # fmt: skip
    later = yaml.safe_load(s.matrix.read_text(encoding="utf-8"))
    first = dict(later, registries=later["registries"][:2])
    s.matrix.write_text(yaml.safe_dump(first, sort_keys=False), encoding="utf-8")
    s.release("v1.0.0", "--no-smoke", *v100)
    s.release("v1.1.0", "--no-smoke", "--only", "8.4")
    s.matrix.write_text(yaml.safe_dump(later, sort_keys=False), encoding="utf-8")
    return s


def test_a_republish_says_what_a_registry_added_later_lacks_and_what_fills_it(
    world: World, tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """v1.0.0 (PHP 8.3, 8.4) and v1.1.0 (8.4 alone) went to hub and ghcr; extra0 is added
    to matrix.yaml and v1.1.0 republished. The republish writes v1.1.0, latest and php-8.4
    there, not v1.0.0 nor php-8.3 (which follows v1.0.0-php-8.3 on the others): it says
    so, naming `publisher audit --repair`, which fills it."""
    stack = world.stack
    extra = fresh_registry()
    s = _released_then_registry_added(world, tmp_path, extra, "acme/added")
    notes = ["--notes-dir", str(s.notes_dir)]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    done = s.ok("republish", "v1.1.0", "--reason", "base fix", "--no-smoke", *notes, env=rebuilt)
    said = " ".join(done.stderr.split())
    assert (
        f"extra0 ({extra.host}/{s.repo}) lacks the recorded release v1.0.0 and the floating "
        "tag php-8.3 the other registries carry"
    ) in said, done.stderr
    assert "`publisher audit --repair` copies them there" in said, done.stderr
    added = skopeo_tag_map(world.skopeo, extra.host, s.repo)
    assert sorted(added) == ["latest", "php-8.4", "v1.1.0", "v1.1.0-php-8.4"]
    s.ok("audit", "--repair", *notes)
    hub = skopeo_tag_map(world.skopeo, stack.primary, s.repo)
    assert skopeo_tag_map(world.skopeo, extra.host, s.repo) == hub
    assert "php-8.3" in hub
    again = s.ok("republish", "v1.1.0", "--reason", "base fix", "--no-smoke", *notes, env=rebuilt)
    assert "lacks the recorded" not in again.stderr, again.stderr


def test_a_damaged_older_record_leaves_a_republish_to_a_registry_added_later_a_success(
    world: World, tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """The warning about what a registry added later lacks is said at the end of a run
    that succeeded: an older release's record that cannot be read (damaged) leaves the
    run a success, the release named among those the registry lacks, not an error after
    every tag moved and the notes were written."""
    extra = fresh_registry()
    s = _released_then_registry_added(world, tmp_path, extra, "acme/damaged", "--only", "8.4")
    (s.notes_dir / "v1.0.0.json").write_text('{"schema": 1, "release": ', encoding="utf-8")
    notes = ["--notes-dir", str(s.notes_dir)]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    done = s.ok("republish", "v1.1.0", "--reason", "base fix", "--no-smoke", *notes, env=rebuilt)
    said = " ".join(done.stderr.split())
    assert f"extra0 ({extra.host}/{s.repo}) lacks the recorded release v1.0.0" in said, said


def test_a_release_moves_no_floating_tag_onto_a_republish_stopped_half_way(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A backport (v1.0.1) plans while v1.1.0, the newest stable release, is whole; a
    republish of v1.1.0 then stops half-way (every pin rewritten on hub, only the 8.3
    pin on ghcr). The pins' names are alike everywhere, their content is not: the
    backport, reaching its floating tags, moves none of them rather than point latest
    and php-X.Y at new content on one registry and old on the other (exit 12, naming
    the republish to rerun), nor does its rerun, and the republish, rerun, moves them
    together."""
    stack = world.stack
    hub, ghcr = proxy_for(stack.primary), proxy_for(stack.secondary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/halfway")
    s = Stack(tmp_path / "s", hub.host, ghcr.host, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    s.release("v1.1.0", "--no-smoke")
    notes = ["--notes-dir", str(s.notes_dir)]
    republish = ["republish", "v1.1.0", "--reason", "base fix", "--no-smoke", *notes]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests

    def floating() -> list[dict[str, str]]:
        maps = [skopeo_tag_map(world.skopeo, h, s.repo) for h in (hub.host, ghcr.host)]
        return [{t: d for t, d in tags.items() if is_floating_tag(t)} for tags in maps]

    before = floating()
    hub.add(Fault("stall", method="PUT", path=r"/manifests/v1\.0\.1-php-8\.3$", stall_seconds=300))
    backport = s.start("release", "v1.0.1", "--no-smoke", *notes)
    try:
        assert wait_for(lambda: hub.faults[0].fired, timeout=300)  # planned; no tag yet
        ghcr.add(Fault("status", method="PUT", path=r"/manifests/v1\.1\.0-php-8\.4$", status=400))
        stopped = s.run(*republish, env=rebuilt)
        # Stopped where planted: ghcr refused the write of v1.1.0-php-8.4 (exit 9).
        assert stopped.returncode == 9 and "v1.1.0-php-8.4" in stopped.stderr, (
            stopped.stdout + stopped.stderr
        )
        hub.release()
        backport.wait(timeout=300)
    finally:
        kill_group(backport)
    log = (s.root / "run.log").read_text()
    assert backport.returncode == 12, log
    assert "publisher republish v1.1.0" in log and "internal error" not in log, log
    assert floating() == before
    again = s.run("release", "v1.0.1", "--no-smoke", *notes)  # refused as it plans
    assert again.returncode == 12, again.stdout + again.stderr
    assert "publisher republish v1.1.0" in again.stderr, again.stderr
    assert floating() == before
    s.ok(*republish, env=rebuilt)
    after = floating()
    assert after[0] == after[1] != before[0]
    assert after[0]["latest"] == after[0]["php-8.4"] == s.index_digests("v1.1.0")["8.4"]
    s.release("v1.0.1", "--no-smoke")  # the backport finishes; latest stays on v1.1.0
    assert floating() == after


def test_a_republish_of_one_line_names_the_pins_another_left_half_way_and_what_to_rerun(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """`republish --only 8.4` stopped part-way (hub's v1.0.0-php-8.4 and v1.0.0 rewritten,
    ghcr refused its first). `republish --only 8.3` then refuses before writing any tag
    (exit 12), naming each pin whose content differs, with its digest on each registry,
    and the republish to rerun as it was run; rerun, both finish and verify passes."""
    stack = world.stack
    ghcr = proxy_for(stack.secondary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/oneline")
    s = Stack(tmp_path / "s", stack.primary, ghcr.host, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    notes = ["--notes-dir", str(s.notes_dir)]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests

    def republish(php: str) -> list[str]:
        return ["republish", "v1.0.0", "--reason", f"fix {php}", "--only", php, "--no-smoke"]

    ghcr.add(Fault("status", method="PUT", path=r"/manifests/v1\.0\.0-php-8\.4$", status=400))
    stopped = s.run(*republish("8.4"), *notes, env=rebuilt)
    assert stopped.returncode == 9, stopped.stdout + stopped.stderr
    ghcr.clear()
    hosts = (s.primary, ghcr.host)
    half = [skopeo_tag_map(world.skopeo, h, s.repo) for h in hosts]
    assert half[0]["v1.0.0-php-8.4"] != half[1]["v1.0.0-php-8.4"]

    refused = s.run(*republish("8.3"), *notes, env=rebuilt)
    assert refused.returncode == 12, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    for pin in ("v1.0.0-php-8.4", "v1.0.0"):
        assert (
            f"pin rewritten half-way: {pin}: hub {half[0][pin][:19]}…, ghcr {half[1][pin][:19]}…"
        ) in said, refused.stderr
    assert "no tag was written" in said and "internal error" not in said, said
    assert "`publisher republish v1.0.0 --reason ...`, with the --only it had" in said, said
    assert [skopeo_tag_map(world.skopeo, h, s.repo) for h in hosts] == half

    s.ok(*republish("8.4"), *notes, env=rebuilt)
    s.ok(*republish("8.3"), *notes, env=rebuilt)
    history = s.notes("v1.0.0")["history"]
    assert isinstance(history, list) and [h["reason"] for h in history] == ["fix 8.4", "fix 8.3"]
    s.ok("verify", "v1.0.0", *notes)


def test_a_republish_stopped_while_writing_the_primary_s_pins_is_finished_on_its_images(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A republish stopped while writing the primary's pins (hub refusing ``v1.0.0``,
    which it writes last) left hub's ``v1.0.0-php-A.B`` on its new images N1, which hub
    then serves. Its rerun, whose builds would give other digests (run by hand without
    SOURCE_DATE_EPOCH, each build is stamped with its own time), reuses the images the
    stopped run built and pushed from the same bases and Dockerfiles instead of building:
    every pin ends on N1 and the history records old -> N1, naming the images served in
    between. A new republish once that one finished builds again."""
    stack = world.stack
    hub = proxy_for(stack.primary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/resumed")
    s = Stack(tmp_path / "s", hub.host, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    old = s.index_digests("v1.0.0")
    republish = ["republish", "v1.0.0", "--reason", "base fix", "--no-smoke"]
    republish += ["--notes-dir", str(s.notes_dir)]
    hub.add(Fault("status", method="PUT", path=r"/manifests/v1\.0\.0$", status=400, times=None))
    stopped = s.run(*republish, env={"SOURCE_DATE_EPOCH": "1767225700"})
    assert stopped.returncode == 9, stopped.stdout + stopped.stderr
    hub.clear()
    hosts = (hub.host, stack.secondary)
    half = [skopeo_tag_map(world.skopeo, h, repo) for h in hosts]
    interim = {php: half[0][f"v1.0.0-php-{php}"] for php in LINES}
    assert all(interim[php] != old[php] for php in LINES), (interim, old)
    assert half[0]["v1.0.0"] == old["8.4"] and half[1]["v1.0.0-php-8.4"] == old["8.4"]

    rerun = s.ok(*republish, env={"SOURCE_DATE_EPOCH": "1767225800"})  # other digests
    said = " ".join((rerun.stdout + rerun.stderr).split())
    assert said.count("already built and pushed as") == len(LINES), said
    for host in hosts:
        tags = skopeo_tag_map(world.skopeo, host, repo)
        assert {php: tags[f"v1.0.0-php-{php}"] for php in LINES} == interim, host
        assert tags["v1.0.0"] == tags["latest"] == interim["8.4"], host
    assert s.index_digests("v1.0.0") == interim
    history = s.notes("v1.0.0")["history"]
    assert isinstance(history, list) and len(history) == 1, history
    assert sorted((c["php"], c["old"], c["new"]) for c in history[0]["changes"]) == [
        (php, old[php], interim[php]) for php in LINES
    ]
    # a new republish, the earlier one finished, builds again: new digests, recorded
    again = s.ok(*republish, env={"SOURCE_DATE_EPOCH": "1767225900"})
    assert "already built and pushed" not in again.stdout + again.stderr, again.stdout
    assert all(s.index_digests("v1.0.0")[php] != interim[php] for php in LINES)
    # one stopped before any pin: what it pushed was never served, its rerun builds anew
    hub.add(Fault("status", method="PUT", path=r"/manifests/v1\.0\.0", status=400, times=None))
    unpinned = s.run(*republish, env={"SOURCE_DATE_EPOCH": "1767226000"})
    assert unpinned.returncode == 9, unpinned.stdout + unpinned.stderr
    hub.clear()
    fresh = s.ok(*republish, env={"SOURCE_DATE_EPOCH": "1767226100"})
    assert "already built and pushed" not in fresh.stdout + fresh.stderr, fresh.stdout


@pytest.mark.parametrize(
    ("held", "code", "said"),
    [
        # X's first pins (on the primary) land over Y's: X's next step reads its pins again
        ("first", 14, "another run wrote its pins while this one ran"),
        # X's last pin (v1.0.0 on ghcr) lands over Y's: before its floating tags, X reads
        # again the pins it wrote, and finds Y's over the others
        ("last", 14, "another run wrote its pins while this one ran"),
    ],
)
def test_two_republishes_at_once_leave_no_floating_tag_off_the_record_and_a_rerun_settles(
    world: World,
    tmp_path: Path,
    proxy_for: Callable[[Any], FaultProxy],
    held: str,
    code: int,
    said: str,
) -> None:
    """Two republishes of v1.0.0 at once, of different builds (X and Y). X checked its pins
    and is writing them when Y runs through: Y moves every tag and writes the record. X's
    writes then land over Y's pins. Its first ones (a pin on the primary): X reads the
    pins of its next step again before writing them, finds Y's and refuses (exit 14),
    naming its own rerun. Its last one (``v1.0.0`` on ghcr): before its floating tags, X
    reads again the pins it wrote (read after write), finds Y's over the others and
    refuses the same way, moving none. Either way the floating tags stay on the content
    the record names (Y's); X, rerun, finishes: every tag on X's build, the history
    holding both, verify passing."""
    stack = world.stack
    slow = proxy_for(stack.primary if held == "first" else stack.secondary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo(f"acme/two-republishes-{held}")
    hosts = (slow.host, stack.secondary) if held == "first" else (stack.primary, slow.host)
    s = Stack(tmp_path / "s", *hosts, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    notes = ["--notes-dir", str(s.notes_dir)]
    x = ["republish", "v1.0.0", "--reason", "X", "--no-smoke", *notes]
    x_build = {"SOURCE_DATE_EPOCH": "1767226100"}  # builds of their own
    pin = r"/manifests/v1\.0\.0-php-8\.3$" if held == "first" else r"/manifests/v1\.0\.0$"
    slow.add(Fault("stall", method="PUT", path=pin, stall_seconds=300))
    first = s.start(*x, env=x_build)
    try:
        assert wait_for(lambda: slow.faults[0].fired, timeout=300)  # X is writing its pins
        # Y keeps its digest records apart (another checkout's): from X's, still pending,
        # it would take X's images, built from the same bases and Dockerfiles
        own = tmp_path / "y-digests"
        own.mkdir()
        y = ["republish", "v1.0.0", "--reason", "Y", "--no-smoke", *notes, "--digests", str(own)]
        s.ok(*y, env={"SOURCE_DATE_EPOCH": "1767226200"})
        ys = s.index_digests("v1.0.0")
        slow.release()
        first.wait(timeout=300)
    finally:
        kill_group(first)
    log = " ".join((s.root / "run.log").read_text().split())
    assert first.returncode == code, log
    assert said in log, log
    if code == 14:
        assert "Rerun this command once the other run has ended" in log, log
    for tags in (skopeo_tag_map(world.skopeo, h, s.repo) for h in hosts):
        assert tags["latest"] == tags["php-8.4"] == ys["8.4"] and tags["php-8.3"] == ys["8.3"]
    s.ok(*x, env=x_build)
    xs = s.index_digests("v1.0.0")
    history: Any = s.notes("v1.0.0")["history"]
    assert [h["reason"] for h in history] == ["Y", "X"]
    assert {c["php"]: c["old"] for c in history[1]["changes"]} == ys
    for tags in (skopeo_tag_map(world.skopeo, h, s.repo) for h in hosts):
        assert tags["latest"] == tags["v1.0.0"] == xs["8.4"] != ys["8.4"]
    s.ok("verify", "v1.0.0", *notes)


def test_a_release_moves_no_floating_tag_onto_pins_rewritten_half_way_on_one_registry(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """One registry: a republish of v1.1.0 rewrote its vX.Y.Z-php-A.B pins, then stopped
    before v1.1.0 itself. A backport then moves neither latest (which follows v1.1.0,
    still the old build) nor php-8.4 (which follows v1.1.0-php-8.4, the new one): two
    builds of one line under one release's floating tags. It refuses (exit 12), naming
    the republish to rerun; rerun, the republish moves them together."""
    stack = world.stack
    hub = proxy_for(stack.primary)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/alone")
    s = Stack(tmp_path / "s", hub.host, stack.secondary, stack.bases, repo, env=env)
    data = yaml.safe_load(s.matrix.read_text(encoding="utf-8"))
    data["registries"] = data["registries"][:1]
    s.matrix.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    s.release("v1.0.0", "--no-smoke")
    s.release("v1.1.0", "--no-smoke")
    notes = ["--notes-dir", str(s.notes_dir)]
    republish = ["republish", "v1.1.0", "--reason", "base fix", "--no-smoke", *notes]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests

    def floating() -> dict[str, str]:
        tags = skopeo_tag_map(world.skopeo, hub.host, s.repo)
        return {t: d for t, d in tags.items() if is_floating_tag(t)}

    before = floating()
    hub.add(Fault("status", method="PUT", path=r"/manifests/v1\.1\.0$", status=400, times=None))
    stopped = s.run(*republish, env=rebuilt)
    said = stopped.stdout + stopped.stderr
    # Stopped where planted: the registry refused the write of v1.1.0 (exit 9).
    assert stopped.returncode == 9 and "v1.1.0" in stopped.stderr, said
    hub.clear()
    tags = skopeo_tag_map(world.skopeo, hub.host, s.repo)
    assert tags["v1.1.0"] == before["latest"] != tags["v1.1.0-php-8.4"], said
    backport = s.run("release", "v1.0.1", "--no-smoke", *notes)
    assert backport.returncode == 12, backport.stdout + backport.stderr
    assert "publisher republish v1.1.0" in backport.stderr, backport.stderr
    assert floating() == before
    s.ok(*republish, env=rebuilt)
    after = floating()
    assert (
        after["latest"] == after["php-8.4"] == s.index_digests("v1.1.0")["8.4"] != before["latest"]
    )
    s.release("v1.0.1", "--no-smoke")
    assert floating() == after


# ----------------------------------------------------------- tips for another setup


@dataclass
class Elsewhere:
    """A setup not at ./matrix.yaml: m3.yaml names hub, ghcr and extra0 (added after
    v1.0.0 and v1.1.0 were released to the first two), the records are in notes5/, and
    ./matrix.yaml beside them names hub and ghcr alone, where all is well."""

    stack: Stack
    extra: str
    #: the location options every command of this setup is given (--config: Stack's)
    notes: tuple[str, ...] = ("--notes-dir", "notes5")

    @property
    def located(self) -> str:
        """What a tip naming a command of this setup ends with."""
        return f"--config {shlex.quote(str(self.stack.matrix))} --notes-dir notes5"

    def run_tip(self, said: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run the command ``said`` names in backticks, starting with ``command``, as
        the user would from the checkout: its words as written."""
        found = re.search(rf"`(publisher {command}[^`]*)`", said)
        assert found, said
        words = shlex.split(found.group(1))
        return subprocess.run(
            [sys.executable, "-m", "publisher", *words[1:]],
            capture_output=True,
            text=True,
            env=self.stack.process_env(),
            cwd=self.stack.root,
            timeout=600,
            check=False,
        )


def _elsewhere(world: World, root: Path, extra: LocalRegistry, repo: str) -> Elsewhere:
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    s = Stack(
        root, world.stack.primary, world.stack.secondary, world.stack.bases,
        world.own_repo(repo), env=env, more=(extra.host,),
    )  # fmt: skip
    later = yaml.safe_load(s.matrix.read_text(encoding="utf-8"))
    first = dict(later, registries=later["registries"][:2])
    s.matrix.write_text(yaml.safe_dump(first, sort_keys=False), encoding="utf-8")
    m3 = s.root / "m3.yaml"
    m3.write_text(yaml.safe_dump(first, sort_keys=False), encoding="utf-8")
    s.matrix = m3  # every command of the stack: --config m3.yaml (as a path)
    here = Elsewhere(s, extra.host)
    s.ok("release", "v1.0.0", "--no-smoke", *here.notes)
    s.ok("release", "v1.1.0", "--no-smoke", "--only", "8.4", *here.notes)
    m3.write_text(yaml.safe_dump(later, sort_keys=False), encoding="utf-8")
    return here


@pytest.fixture(scope="module")
def elsewhere(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Elsewhere]:
    """``Elsewhere``, for the commands that only read it."""
    with LocalRegistry() as extra:
        yield _elsewhere(world, tmp_path_factory.mktemp("elsewhere"), extra, "acme/elsewhere")


def test_audit_s_tip_repairs_the_setup_it_audited(elsewhere: Elsewhere) -> None:
    """`audit --config m3.yaml --notes-dir notes5` finds extra0 lacking v1.0.0: its tip
    names the repair of that setup, not of ./matrix.yaml (where all is well)."""
    found = elsewhere.stack.run("audit", *elsewhere.notes)
    said = " ".join(found.stderr.split())
    assert found.returncode == 12, found.stdout + found.stderr
    assert (
        f"run `publisher audit --repair {elsewhere.located}` to restore what the records say"
    ) in said, found.stderr


def test_verify_s_tip_names_the_commands_of_the_setup_it_verified(elsewhere: Elsewhere) -> None:
    """`verify v1.0.0` of m3.yaml finds extra0 lacking its tags: the rerun and the repair
    its tip names read m3.yaml and notes5/."""
    found = elsewhere.stack.run("verify", "v1.0.0", *elsewhere.notes)
    said = " ".join(found.stderr.split())
    assert found.returncode == 12, found.stdout + found.stderr
    assert f"`publisher release v1.0.0 {elsewhere.located}`" in said, found.stderr
    assert f"`publisher audit --repair {elsewhere.located}`" in said, found.stderr
    assert f"`publisher verify v1.0.0 --json {elsewhere.located}`" in said, found.stderr


def test_check_public_s_tip_names_the_commands_of_the_setup_it_checked(
    elsewhere: Elsewhere,
) -> None:
    """`check-public v1.0.0` of m3.yaml: extra0 lets anyone read and answers "not found"
    for the pins of a recorded release (deleted there, or the registry added later): the
    verify that names the missing pins and the repair that copies them back read m3.yaml
    and notes5/."""
    found = elsewhere.stack.run("check-public", "v1.0.0", *elsewhere.notes)
    said = " ".join(found.stderr.split())
    assert found.returncode == 12, found.stdout + found.stderr
    assert f"`publisher verify v1.0.0 {elsewhere.located}` names every missing tag" in said
    assert f"`publisher audit --repair {elsewhere.located}` copies them back" in said, said


def test_a_release_s_tip_for_a_registry_added_later_repairs_that_setup(
    world: World, tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """`release v1.2.0 --only 8.4` of m3.yaml says extra0 lacks v1.0.0, with the repair
    that fills it: run as written, from the checkout, it copies them there (the repair of
    ./matrix.yaml, which names no extra0, would find all well and repair nothing)."""
    extra = fresh_registry()
    here = _elsewhere(world, tmp_path / "s", extra, "acme/elsewhere-release")
    done = here.stack.ok("release", "v1.2.0", "--no-smoke", "--only", "8.4", *here.notes)
    said = " ".join(done.stderr.split())
    assert f"`publisher audit --repair {here.located}` copies them there" in said, done.stderr
    assert "v1.0.0-php-8.3" not in skopeo_tag_map(world.skopeo, extra.host, here.stack.repo)
    repaired = here.run_tip(said, "audit --repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired:" in repaired.stdout + repaired.stderr
    hub = skopeo_tag_map(world.skopeo, world.stack.primary, here.stack.repo)
    assert skopeo_tag_map(world.skopeo, extra.host, here.stack.repo) == hub
    assert "v1.0.0-php-8.3" in hub


def test_a_release_names_a_newer_release_left_half_pinned_that_no_floating_tag_follows(
    world: World, tmp_path: Path
) -> None:
    """v1.2.0 stopped after writing one pin on the primary (killed: no vX.Y.Z, no
    record). v1.1.0 then moves ``latest`` and ``php-8.4`` to itself, as the floating
    tags follow finished releases only, and says so: the newer release is named with
    the rerun that finishes it, so the maintainer does not take v1.1.0 for the newest."""
    stack = world.stack
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    repo = world.own_repo("acme/half-newer")
    s = Stack(tmp_path / "s", stack.primary, stack.secondary, stack.bases, repo, env=env)
    s.release("v1.0.0", "--no-smoke")
    world.copy(f"{stack.primary}/{repo}:v1.0.0-php-8.4", f"{stack.primary}/{repo}:v1.2.0-php-8.4")

    result = s.release("v1.1.0", "--no-smoke")
    said = " ".join((result.stdout + result.stderr).split())
    tags = skopeo_tag_map(world.skopeo, stack.primary, repo)
    assert tags["latest"] == tags["v1.1.0"], said
    assert "v1.2.0 did not finish writing its pins (hub holds v1.2.0-php-8.4" in said, said
    assert "release v1.2.0" in said, said


def test_a_republish_killed_while_writing_its_pins_is_named_by_the_repair_that_undoes_it(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A republish of v1.0.0's PHP 8.4 is killed (SIGKILL) while it writes the pins on
    ghcr: hub's pin holds the rebuilt image, ghcr's pin and every floating tag the old
    one, and the record still names the old images. verify and audit name the rerun of
    that republish beside the repair; `audit --repair` points hub's pin back, and says
    it undid a rebuild of that pin and which republish makes it again, which does."""
    s, ghcr, old, notes = released_with_ghcr_behind_a_proxy(world, tmp_path, proxy_for, "pinkilled")
    only = ["--only", "8.4", "--no-smoke", *notes]
    republish = ["republish", "v1.0.0", "--reason", "base fix", *only]
    rebuilt = {"SOURCE_DATE_EPOCH": "1767225700"}  # another build: other digests
    pin = r"/manifests/v1\.0\.0-php-8\.4$"
    ghcr.add(Fault("stall", method="PUT", path=pin, stall_seconds=300))
    killed = s.start(*republish, env=rebuilt)
    try:
        assert wait_for(lambda: ghcr.faults[0].fired, timeout=300)
        assert wait_for(
            lambda: tag_map(s.primary, s.repo)["v1.0.0-php-8.4"] != old["8.4"], timeout=60
        ), (s.root / "run.log").read_text()
    finally:
        kill_group(killed)
    ghcr.clear()
    hub, other = (skopeo_tag_map(world.skopeo, h, s.repo) for h in (s.primary, ghcr.host))
    new = hub["v1.0.0-php-8.4"]
    assert new != old["8.4"] == other["v1.0.0-php-8.4"] == hub["latest"] == other["latest"]

    checked = s.run("verify", "v1.0.0", *notes)
    assert checked.returncode == 12, checked.stdout + checked.stderr
    tip = " ".join(checked.stderr.split("tip:", 1)[1].split())
    assert "to finish a republish that stopped before writing the record, run" in tip, tip
    audit = s.run("audit", *notes)
    assert audit.returncode == 12, audit.stdout + audit.stderr
    assert "rerun that republish instead" in audit.stderr, audit.stderr

    repaired = s.run("audit", "--repair", *notes)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    said = " ".join((repaired.stdout + repaired.stderr).split())
    assert (
        f"hub: v1.0.0-php-8.4 -> {old['8.4']} (it held {new[:19]}…, a rebuild of "
        "v1.0.0-php-8.4 no record names: a republish that stopped before writing its "
        "record? `publisher republish v1.0.0 --reason ... --only 8.4"
    ) in said, said
    assert skopeo_tag_map(world.skopeo, s.primary, s.repo)["v1.0.0-php-8.4"] == old["8.4"]

    s.ok(*republish, env=rebuilt)  # makes it again: the same rebuild, recorded this time
    assert s.index_digests("v1.0.0")["8.4"] == new
    for host in (s.primary, ghcr.host):
        tags = skopeo_tag_map(world.skopeo, host, s.repo)
        assert tags["latest"] == tags["php-8.4"] == tags["v1.0.0-php-8.4"] == new
    s.ok("verify", "v1.0.0", *notes)
