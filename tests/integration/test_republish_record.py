"""A republish of a published release, checked and recorded, against a real registry.

Real loopback registry; ``publisher publish`` runs as a separate process over the legs'
platform images seeded on it with their digest records
(``tests.support.publishing.seed_image``), as the republish workflow's legs leave them.

* The checks a republish workflow makes before any leg is built (``plan --reason``,
  ``matrix --reason``) refuse what ``publish --reason`` refuses once they are built: a
  recorded line matrix.yaml no longer has, in the same words; without a reason (a rerun)
  the line is left out with a warning.
* A rerun of a republish that finished (same rebuilt images, with its reason or another)
  says that earlier run republished, with the recorded reason, and keeps the record byte
  for byte; it does not say the bases did not change.
* A republish of an older release after a newer one: the record keeps its ``floating``
  facts as at publication, and no line's ``tags`` names a floating tag the newer release
  holds, whether the republish rebuilt the line or not; ``plan`` of that republish shows no
  floating tag moving.
* A backport with no record yet, after a newer release: each floating tag ``plan`` says
  stays or moves is where its publish then leaves it.
* A republish of some lines (``--only``): each line it did not rebuild keeps, in the
  ``.json`` and ``.md`` records, the floating tags its images still hold on every
  registry, and none a newer release took; ``verify``, ``audit`` and a rerun take it. One
  moved by hand on one registry stays in the record (the release's, by its pins) with a
  warning naming where it points; ``verify`` says the drift until ``audit --repair``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import make_image
from tests.support.publishing import (
    isolated_env,
    point_tag,
    run_publisher,
    seed_image,
    tag_map,
)

pytestmark = pytest.mark.integration

REASON = "base image update"


class _World:
    """A repository on the registry, a matrix of PHP 8.3 and 8.4 (default 8.4) publishing
    there, and the environment publisher runs in."""

    def __init__(
        self,
        tmp_path: Path,
        registry: Any,
        write_matrix: Callable[..., Path],
        mirror: Any = None,
    ):
        self.tmp = tmp_path
        self.registry = registry
        self.mirror = mirror  # a second registry the release is copied to, if any
        self.write_matrix = write_matrix
        self.repo = f"acme/php-{uuid.uuid4().hex[:8]}"
        self.matrix = self.lines("8.3", "8.4")
        self.env = isolated_env(tmp_path)
        self.seeds = 0

    def lines(self, *lines: str) -> Path:
        """matrix.yaml with ``lines``."""
        registries = [("hub", f"{self.registry.host}/{self.repo}", True)]
        if self.mirror is not None:
            registries.append(("ghcr", f"{self.mirror.host}/{self.repo}", False))
        self.matrix = self.write_matrix(self.tmp, registries, lines=lines)
        return self.matrix

    def run(self, *args: str) -> Any:
        return run_publisher(*args, config=self.matrix, env=self.env, cwd=self.tmp)

    def legs(self, release: str, *lines: str, base: str | None = None) -> Path:
        """The legs of ``release`` for ``lines`` built anew: a digests directory. ``base``
        (``{php}`` its line, ``@sha256:...``): the base the images' label and the records
        name, as a build's do."""
        self.seeds += 1
        digests = self.tmp / f"digests-{self.seeds}"
        for php in lines:
            named = base.format(php=php) if base else None
            image, _, digest = named.partition("@") if named else (None, "", None)
            labels = {"org.opencontainers.image.base.name": named} if named else None
            seed_image(
                digests, release, php,
                make_image(seed=self.seeds * 10 + len(php) + int(php[-1]), labels=labels),
                push_to=self.registry.host, repo=self.repo,
                image_repo=f"{self.registry.host}/{self.repo}", base=image,
                base_digest=digest or None,
            )  # fmt: skip
        return digests

    def publish(
        self, release: str, *lines: str, extra: tuple[str, ...] = (), base: str | None = None
    ) -> Any:
        digests = self.legs(release, *lines, base=base)
        result = self.run("publish", release, "--digests", str(digests), "--no-smoke", *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def record(self, release: str) -> dict[str, Any]:
        path = self.tmp / "release-notes" / f"{release}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def point(self, host: str, tag: str, at: str) -> None:
        """Point ``tag`` on ``host`` at the tag ``at``'s manifest, by hand."""
        point_tag(host, self.repo, tag, at)


def _refusal(stderr: str) -> str:
    """The error and its tip, from the first ``error:`` line on (warnings before it)."""
    return stderr[stderr.index("error:") :]


def test_the_checks_of_a_republish_refuse_a_dropped_line_as_its_publish_does(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    world = _World(tmp_path, registry, write_matrix)
    world.publish("v1.0.0", "8.3", "8.4")
    world.lines("8.4")  # PHP 8.3 dropped from matrix.yaml since
    rebuilt = world.legs("v1.0.0", "8.4")

    published = world.run("publish", "v1.0.0", "--digests", str(rebuilt), "--reason", REASON)
    assert published.returncode == 3, published.stdout + published.stderr
    refused = _refusal(published.stderr)
    assert refused.startswith(
        "error: configuration error: lines: v1.0.0 was published with PHP 8.3, which "
        "matrix.yaml no longer has"
    ), refused
    assert "--only 8.4" in refused, refused
    for argv in (
        ("plan", "v1.0.0", "--reason", REASON),
        ("matrix", "v1.0.0", "--github", "--reason", REASON),
    ):
        checked = world.run(*argv)
        assert checked.returncode == 3, (*argv, checked.stdout, checked.stderr)
        assert _refusal(checked.stderr) == refused, argv
        assert checked.stdout == "", argv
    # the republish of the lines matrix.yaml has passes the same checks
    legs = world.run("matrix", "v1.0.0", "--github", "--reason", REASON, "--only", "8.4")
    assert legs.returncode == 0, legs.stderr
    assert {leg["php"] for leg in json.loads(legs.stdout)["include"]} == {"8.4"}
    assert world.run("plan", "v1.0.0", "--reason", REASON, "--only", "8.4").returncode == 0
    # a rerun (no reason) leaves the line out, with a warning
    for argv in (("plan", "v1.0.0"), ("matrix", "v1.0.0", "--github")):
        rerun = world.run(*argv)
        assert rerun.returncode == 0, (*argv, rerun.stderr)
        assert "which matrix.yaml no longer has: left out" in rerun.stderr, rerun.stderr


def test_a_republish_with_no_record_refuses_a_pinned_line_matrix_yaml_dropped(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.0 published with PHP 8.3 and 8.4, its record not in the notes directory, PHP
    8.3 dropped from matrix.yaml since: a republish would write a record without the line
    its pins hold. ``republish`` (and its dry run) refuses before anything is built or
    pushed, ``matrix --reason`` before any leg is listed, ``publish --reason`` before any
    tag is written (exit 2), naming the line, its pin and the ways out."""
    world = _World(tmp_path, registry, write_matrix)
    world.publish("v1.0.0", "8.3", "8.4")
    (tmp_path / "release-notes").rename(tmp_path / "notes-pr")  # no record
    world.lines("8.4")  # PHP 8.3 dropped from matrix.yaml since
    before = tag_map(registry.host, world.repo)
    rebuilt = world.legs("v1.0.0", "8.4")
    for argv, said in (
        (("republish", "v1.0.0", "--reason", REASON, "--no-smoke"), "nothing was built or pushed"),
        (("republish", "v1.0.0", "--reason", REASON, "--dry-run"), "nothing was built or pushed"),
        (("matrix", "v1.0.0", "--github", "--reason", REASON), "nothing was built or pushed"),
        (
            ("publish", "v1.0.0", "--digests", str(rebuilt), "--reason", REASON),
            "no tag was written",
        ),
    ):
        refused = world.run(*argv)
        assert refused.returncode == 2, (argv, refused.stdout, refused.stderr)
        words = " ".join(_refusal(refused.stderr).split())
        assert words.startswith("error: usage error: v1.0.0 has no release record ("), words
        assert (
            "hub holds its pin v1.0.0-php-8.3 of PHP 8.3, which matrix.yaml no longer has"
        ) in words, (argv, words)
        assert said in words, (argv, words)
        assert "git show v1.0.0:matrix.yaml" in words and "--notes-dir" in words, (argv, words)
        assert not (tmp_path / "release-notes" / "v1.0.0.json").exists(), argv
        assert tag_map(registry.host, world.repo) == before, argv
    # with its record, the republish of the lines matrix.yaml has goes on
    planned = world.run(
        "plan", "v1.0.0", "--reason", REASON, "--notes-dir", "notes-pr", "--only", "8.4"
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr


def _newer_release_published(world: _World) -> list[dict[str, Any]]:
    """v1.0.0 published, then v2.0.0 (both PHP 8.3 and 8.4): v1.0.0's ``floating`` facts
    as recorded at its publication."""
    world.publish("v1.0.0", "8.3", "8.4")
    at_publication: list[dict[str, Any]] = world.record("v1.0.0")["floating"]
    assert {(f["tag"], f["release"]) for f in at_publication} == {
        ("php-8.3", "v1.0.0"), ("php-8.4", "v1.0.0"), ("latest", "v1.0.0")
    }  # fmt: skip
    world.publish("v2.0.0", "8.3", "8.4")
    return at_publication


def test_the_plan_of_a_republish_after_a_newer_release_moves_no_floating_tag(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    world = _World(tmp_path, registry, write_matrix)
    _newer_release_published(world)
    for only in ((), ("--only", "8.4")):
        planned = world.run("plan", "v1.0.0", "--reason", REASON, *only, "--json")
        assert planned.returncode == 0, planned.stderr
        plan = json.loads(planned.stdout)
        assert {line["php"]: line["targets"][0]["tags"] for line in plan["lines"]} == {
            "8.3": ["v1.0.0-php-8.3"], "8.4": ["v1.0.0-php-8.4", "v1.0.0"]
        } if not only else {"8.4": ["v1.0.0-php-8.4", "v1.0.0"]}  # fmt: skip
        assert not any(f["this_release"] for f in plan["floating"]), plan["floating"]
        assert {(f["tag"], f["source"]) for f in plan["floating"]} >= {
            ("php-8.4", "v2.0.0-php-8.4"), ("latest", "v2.0.0")
        }  # fmt: skip
    shown = world.run("plan", "v1.0.0", "--reason", REASON)
    assert "Floating tags that stay on another release" in shown.stdout, shown.stdout


def test_the_plan_of_a_backport_with_no_record_moves_the_floating_tags_its_publish_moves(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.1 after v2.0.0, before v1.0.1 has a record: each floating tag plan (--json and
    text) says stays or moves is where the publish then leaves it (on v2.0.0)."""
    world = _World(tmp_path, registry, write_matrix)
    _newer_release_published(world)
    planned = world.run("plan", "v1.0.1", "--json")
    assert planned.returncode == 0, planned.stderr
    shown = world.run("plan", "v1.0.1")
    assert shown.returncode == 0, shown.stderr
    world.publish("v1.0.1", "8.3", "8.4")
    plan = json.loads(planned.stdout)
    stated = {f["tag"]: f["source"] for f in plan["floating"]}
    assert set(stated) == {"php-8.3", "php-8.4", "latest"}, plan["floating"]
    tags = tag_map(registry.host, world.repo)
    assert {tag: tags[tag] for tag in stated} == {
        tag: tags[source] for tag, source in stated.items()
    }, stated
    assert {tag: tags[tag] for tag in stated} == {
        tag: tags[source] for tag, source in
        (("php-8.3", "v2.0.0-php-8.3"), ("php-8.4", "v2.0.0-php-8.4"), ("latest", "v2.0.0"))
    }  # fmt: skip
    assert not any(f["this_release"] for f in plan["floating"]), plan["floating"]
    assert {line["php"]: line["targets"][0]["tags"] for line in plan["lines"]} == {
        "8.3": ["v1.0.1-php-8.3"], "8.4": ["v1.0.1-php-8.4", "v1.0.1"]
    }  # fmt: skip
    assert "Floating tags that stay on another release" in shown.stdout, shown.stdout
    stays = shown.stdout[shown.stdout.index("stay on another release") :].splitlines()
    for tag, source in stated.items():  # a row each: the tag, and the pin it stays on
        assert any(tag in row.split() and source in row for row in stays), shown.stdout


def test_a_republish_after_a_newer_release_records_no_floating_tag_it_does_not_hold(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    world = _World(tmp_path, registry, write_matrix)
    at_publication = _newer_release_published(world)
    world.publish("v1.0.0", "8.4", extra=("--only", "8.4", "--reason", REASON))
    tags = tag_map(registry.host, world.repo)
    assert {tags[t] for t in ("php-8.3", "php-8.4", "latest")} == {
        tags["v2.0.0-php-8.3"], tags["v2.0.0-php-8.4"]
    }  # fmt: skip
    record = world.record("v1.0.0")
    assert {line["php"]: line["tags"] for line in record["lines"]} == {
        "8.3": ["v1.0.0-php-8.3"],  # not rebuilt
        "8.4": ["v1.0.0-php-8.4", "v1.0.0"],  # rebuilt
    }
    assert record["floating"] == at_publication
    assert len(record["history"]) == 1
    notes = (tmp_path / "release-notes" / "v1.0.0.md").read_text(encoding="utf-8")
    for tag in ("php-8.3", "php-8.4", "latest"):
        assert f"`{tag}`" not in notes, tag
    # the record reads back as written: its floating tags name the index the republish
    # replaced, which its history records; verify, audit and a rerun all take it
    for args in (("verify", "v1.0.0"), ("audit", "--no-anonymous-check")):
        done = world.run(*args)
        assert done.returncode == 0, (args, done.stdout + done.stderr)
    world.publish("v1.0.0", "8.4", extra=("--only", "8.4", "--reason", "CVE-2026-0002"))
    again = world.record("v1.0.0")
    assert again["floating"] == at_publication and len(again["history"]) == 2


def test_a_rerun_of_a_finished_republish_says_an_earlier_run_republished(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    world = _World(tmp_path, registry, write_matrix, mirror=second_registry)
    world.publish("v1.0.0", "8.3", "8.4")
    rebuilt = world.legs("v1.0.0", "8.4")  # the 8.4 base moved: new images
    republish = ("publish", "v1.0.0", "--digests", str(rebuilt), "--no-smoke", "--only", "8.4")
    first = world.run(*republish, "--reason", REASON)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Republished v1.0.0, PHP 8.4 ({REASON})\n" in first.stdout, first.stdout
    notes = [tmp_path / "release-notes" / f"v1.0.0.{ext}" for ext in ("json", "md")]
    written = [path.read_bytes() for path in notes]
    (entry,) = world.record("v1.0.0")["history"]
    assert entry["reason"] == REASON, entry

    heading = (
        f"Republished v1.0.0, PHP 8.4 ({REASON}) by an earlier run "
        "(this run moved no tag; its notes record it)"
    )
    for reason in (REASON, "CVE-2026-0001"):
        again = world.run(*republish, "--reason", reason)
        said = again.stdout + again.stderr
        assert again.returncode == 0, said
        assert heading in again.stdout, (reason, again.stdout)
        assert "nothing republished" not in said, (reason, said)
        assert "did not change" not in said, (reason, said)
        assert "the reason is not recorded" not in said, (reason, said)
        assert [path.read_bytes() for path in notes] == written, reason
        kept = f"the reason of the republish of {entry['date']} ({REASON}) is kept"
        assert (kept in again.stderr) == (reason != REASON), (reason, again.stderr)


def test_a_rerun_of_lines_republished_by_different_runs_names_each_earlier_republish(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """PHP 8.4 republished for one reason, then PHP 8.3 for another; a republish of both
    that rebuilds those same images says each earlier republish, with its reason, not that
    nothing was republished, and keeps the record byte for byte."""
    world = _World(tmp_path, registry, write_matrix)
    world.publish("v1.0.0", "8.3", "8.4")
    first, second = world.legs("v1.0.0", "8.4"), world.legs("v1.0.0", "8.3")
    for digests, php, reason in ((first, "8.4", REASON), (second, "8.3", "CVE-1")):
        republish = ("--digests", str(digests), "--only", php, "--reason", reason)
        done = world.run("publish", "v1.0.0", "--no-smoke", *republish)
        assert done.returncode == 0, done.stdout + done.stderr
    both = tmp_path / "digests-both"
    both.mkdir()
    for leg in (*first.iterdir(), *second.iterdir()):
        (both / leg.name).write_bytes(leg.read_bytes())
    notes = [tmp_path / "release-notes" / f"v1.0.0.{ext}" for ext in ("json", "md")]
    written = [path.read_bytes() for path in notes]
    dates = [entry["date"] for entry in world.record("v1.0.0")["history"]]
    again = world.run(
        "publish", "v1.0.0", "--digests", str(both), "--no-smoke", "--reason", "CVE-2"
    )
    said = again.stdout + again.stderr
    assert again.returncode == 0, said
    assert (
        f"Republished v1.0.0, PHP 8.4 ({REASON}) and PHP 8.3 (CVE-1) by earlier runs "
        "(this run moved no tag; its notes record it)"
    ) in again.stdout, again.stdout
    assert "nothing republished" not in said, said
    assert "did not change" not in said, said
    assert (
        f"the republishes of {dates[0]} (PHP 8.4) and {dates[1]} (PHP 8.3) published"
    ) in " ".join(again.stderr.split()), again.stderr
    assert [path.read_bytes() for path in notes] == written


def _line_tags(world: _World, release: str) -> dict[str, list[str]]:
    return {line["php"]: line["tags"] for line in world.record(release)["lines"]}


def test_a_rerun_of_a_republish_of_a_changed_and_an_unchanged_line_says_which_is_which(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """``republish --only 8.3,8.4`` after 8.4's base moved: 8.4 republished, 8.3 identical.
    The same command again rebuilds both identical: not a rerun of that republish alone
    (8.3 was never republished), so nothing is republished, and the warning says why in
    true words: 8.4's images are those the republish published (its base did change, then),
    8.3's base did not change since the release, and this run's reason is the one that
    republish recorded (another reason is not recorded). The record stays byte for byte."""
    world = _World(tmp_path, registry, write_matrix)
    world.publish("v1.0.0", "8.3", "8.4")
    published = tmp_path / "digests-1"  # the legs v1.0.0 was published from
    moved = world.legs("v1.0.0", "8.4")  # the 8.4 base moved: new images
    both = tmp_path / "digests-both"
    both.mkdir()
    for leg in (*published.glob("*8.3*"), *moved.iterdir()):
        (both / leg.name).write_bytes(leg.read_bytes())
    republish = ("publish", "v1.0.0", "--digests", str(both), "--no-smoke", "--only", "8.3,8.4")
    first = world.run(*republish, "--reason", REASON)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Republished v1.0.0, PHP 8.4 ({REASON})\n" in first.stdout, first.stdout
    (entry,) = world.record("v1.0.0")["history"]
    notes = [tmp_path / "release-notes" / f"v1.0.0.{ext}" for ext in ("json", "md")]
    written = [path.read_bytes() for path in notes]
    origin = (
        "nothing to republish: the rebuilt images of v1.0.0 (PHP 8.3, 8.4) are identical to "
        f"the published ones (PHP 8.4's are those the republish of {entry['date']} ({REASON}) "
        "published; the base of PHP 8.3 did not change since v1.0.0 was published), so no "
        "pin moves and no history entry is added: "
    )
    for reason, words in (
        (
            REASON,
            f"this run's reason ({REASON}) is the one the republish of {entry['date']} recorded",
        ),
        ("CVE-2026-0001", "this run's reason (CVE-2026-0001) is not recorded"),
    ):
        again = world.run(*republish, "--reason", reason)
        said = " ".join(again.stderr.split())
        assert again.returncode == 0, again.stdout + said
        assert origin + words in said, (reason, said)
        assert "the reason is not recorded" not in said and "bases did not change" not in said
        assert (
            "Rebuilt v1.0.0: identical to the published images, nothing republished" in again.stdout
        ), again.stdout
        assert [path.read_bytes() for path in notes] == written, reason


def test_a_republish_of_some_lines_keeps_the_floating_tags_the_others_hold(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    world = _World(tmp_path, registry, write_matrix, mirror=second_registry)
    world.lines("8.2", "8.3", "8.4", "8.5")  # default 8.4
    world.publish("v1.2.0", "8.2", "8.3", "8.4", "8.5")
    published = _line_tags(world, "v1.2.0")
    assert published["8.2"] == ["v1.2.0-php-8.2", "php-8.2"], published
    notes = [tmp_path / "release-notes" / f"v1.2.0.{ext}" for ext in ("json", "md")]
    # the 8.4 base moved, then the default line (8.4) left untouched
    for only, reason in (("8.4", REASON), ("8.2", "CVE-2026-0003")):
        before = world.record("v1.2.0")
        world.publish("v1.2.0", only, extra=("--only", only, "--reason", reason))
        record = world.record("v1.2.0")
        assert _line_tags(world, "v1.2.0") == published, only
        assert {(f["registry"], f["tag"]) for f in record["floating"]} == {
            (f["registry"], f["tag"]) for f in before["floating"]
        }, only
        digests = {line["php"]: line["index_digest"] for line in record["lines"]}
        assert {(f["registry"], f["tag"]): f["digest"] for f in record["floating"]} == {
            (name, tag): digests[php]
            for name in ("hub", "ghcr")
            for php in ("8.2", "8.3", "8.4", "8.5")
            for tag in (f"php-{php}", *(["latest"] if php == "8.4" else []))
        }, only
        for host in (registry.host, second_registry.host):
            tags = tag_map(host, world.repo)
            for php in ("8.2", "8.3", "8.5"):
                assert tags[f"php-{php}"] == tags[f"v1.2.0-php-{php}"] == digests[php]
        md = notes[1].read_text(encoding="utf-8")
        for tag in ("php-8.2", "php-8.3", "php-8.4", "php-8.5", "latest"):
            assert f"`{tag}`" in md, (only, tag)
        for args in (("verify", "v1.2.0"), ("audit", "--no-anonymous-check")):
            done = world.run(*args)
            assert done.returncode == 0, (only, args, done.stdout + done.stderr)
        written = [path.read_bytes() for path in notes]
        rerun = world.run(
            "publish", "v1.2.0", "--digests", str(tmp_path / f"digests-{world.seeds}"),
            "--no-smoke", "--only", only, "--reason", reason,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert [path.read_bytes() for path in notes] == written, only


def test_a_republish_of_some_lines_lists_no_floating_tag_a_newer_release_took(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.0 (PHP 8.3 and 8.4), then v2.0.0 with PHP 8.4 only: ``php-8.3`` stays on
    v1.0.0, ``php-8.4`` and ``latest`` go to v2.0.0. A republish of v1.0.0 lists on each
    line it did not rebuild the floating tags it still holds, and only those."""
    world = _World(tmp_path, registry, write_matrix)
    world.publish("v1.0.0", "8.3", "8.4")
    world.lines("8.4")
    world.publish("v2.0.0", "8.4")
    world.lines("8.3", "8.4")
    tags = tag_map(registry.host, world.repo)
    assert tags["php-8.3"] == tags["v1.0.0-php-8.3"]
    assert tags["php-8.4"] == tags["latest"] == tags["v2.0.0-php-8.4"]
    world.publish("v1.0.0", "8.4", extra=("--only", "8.4", "--reason", REASON))
    assert _line_tags(world, "v1.0.0") == {
        "8.3": ["v1.0.0-php-8.3", "php-8.3"],  # not rebuilt, still holds php-8.3
        "8.4": ["v1.0.0-php-8.4", "v1.0.0"],
    }
    world.publish("v1.0.0", "8.3", extra=("--only", "8.3", "--reason", "CVE-2026-0004"))
    assert _line_tags(world, "v1.0.0") == {
        "8.3": ["v1.0.0-php-8.3", "php-8.3"],
        "8.4": ["v1.0.0-php-8.4", "v1.0.0"],  # not rebuilt: v2.0.0 holds php-8.4, latest
    }
    notes = (tmp_path / "release-notes" / "v1.0.0.md").read_text(encoding="utf-8")
    assert "`php-8.3`" in notes
    for tag in ("php-8.4", "latest"):
        assert f"`{tag}`" not in notes, tag
    for args in (("verify", "v1.0.0"), ("audit", "--no-anonymous-check")):
        done = world.run(*args)
        assert done.returncode == 0, (args, done.stdout + done.stderr)


def test_a_republish_of_some_lines_keeps_and_warns_of_a_floating_tag_moved_by_hand(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.0, then v1.2.0 (PHP 8.3 and 8.4); php-8.3 moved back to v1.0.0's image by hand
    on ghcr only; then a republish of v1.2.0's PHP 8.4. The 8.3 line keeps php-8.3 in the
    record, as its ``floating`` facts say (the pins call for it), with a warning; verify
    says the drift until ``audit --repair`` puts it back, and a rerun then keeps it all."""
    world = _World(tmp_path, registry, write_matrix, mirror=second_registry)
    world.publish("v1.0.0", "8.3", "8.4")
    world.publish("v1.2.0", "8.3", "8.4")
    published = world.record("v1.2.0")
    world.point(second_registry.host, "php-8.3", "v1.0.0-php-8.3")
    elsewhere = tag_map(second_registry.host, world.repo)["v1.0.0-php-8.3"]
    done = world.publish("v1.2.0", "8.4", extra=("--only", "8.4", "--reason", REASON))
    record = world.record("v1.2.0")
    assert _line_tags(world, "v1.2.0")["8.3"] == ["v1.2.0-php-8.3", "php-8.3"]
    assert [line for line in record["lines"] if line["php"] == "8.3"] == [
        line for line in published["lines"] if line["php"] == "8.3"
    ]
    digests = {line["php"]: line["index_digest"] for line in record["lines"]}
    assert {(f["registry"], f["tag"]): f["digest"] for f in record["floating"]} == {
        (name, tag): digests[php]
        for name in ("hub", "ghcr")
        for php, tag in (("8.3", "php-8.3"), ("8.4", "php-8.4"), ("8.4", "latest"))
    }
    notes = [tmp_path / "release-notes" / f"v1.2.0.{ext}" for ext in ("json", "md")]
    assert "`php-8.3`" in notes[1].read_text(encoding="utf-8")
    said = " ".join(done.stderr.split())
    assert "warning: php-8.3 on ghcr" in said, done.stderr
    assert f"points at {elsewhere}" in said, done.stderr
    assert "`publisher audit --repair` puts it back" in said, done.stderr
    drift = world.run("verify", "v1.2.0")
    assert drift.returncode == 12, drift.stdout + drift.stderr
    assert "the floating tag php-8.3 on ghcr points elsewhere" in drift.stderr, drift.stderr
    repaired = world.run("audit", "--repair", "--no-anonymous-check")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    tags = tag_map(second_registry.host, world.repo)
    assert tags["php-8.3"] == tags["v1.2.0-php-8.3"] == digests["8.3"]
    for args in (("verify", "v1.2.0"), ("audit", "--no-anonymous-check")):
        checked = world.run(*args)
        assert checked.returncode == 0, (args, checked.stdout + checked.stderr)
    written = [path.read_bytes() for path in notes]
    rerun = world.run(
        "publish", "v1.2.0", "--digests", str(tmp_path / f"digests-{world.seeds}"),
        "--no-smoke", "--only", "8.4", "--reason", REASON,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "php-8.3 on ghcr" not in " ".join(rerun.stderr.split()), rerun.stderr
    assert [path.read_bytes() for path in notes] == written


@pytest.mark.parametrize("only", ["8.4", "8.3"])
def test_a_republish_of_some_lines_with_no_record_keeps_every_line_its_pins_hold(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    write_matrix: Callable[..., Path],
    only: str,
) -> None:
    """The release's notes are not merged yet (its notes PR is open): the republish finds
    no record, and its record, notes and pins file keep the line it did not rebuild, as its
    pin on the primary describes it."""
    world = _World(tmp_path, registry, write_matrix, mirror=second_registry)
    base = "mirror.example/library/php:{php}-fpm-alpine@sha256:" + "b" * 64
    world.publish("v1.2.0", "8.3", "8.4", base=base)  # default 8.4
    published = world.record("v1.2.0")
    notes = tmp_path / "release-notes"
    notes.rename(tmp_path / "notes-pr")  # the default branch has no record
    world.publish("v1.2.0", only, extra=("--only", only, "--reason", REASON))
    record = world.record("v1.2.0")
    assert [line["php"] for line in record["lines"]] == ["8.3", "8.4"], record["lines"]
    kept = next(line for line in record["lines"] if line["php"] != only)
    before = next(line for line in published["lines"] if line["php"] != only)
    # as published, but for the PHP version: this run did not smoke-test it
    assert {**kept, "php_version": before["php_version"]} == before
    assert {(f["registry"], f["tag"]): f["digest"] for f in record["floating"]} == {
        (f["registry"], f["tag"]): f["digest"]
        for f in published["floating"]
        if f["tag"] != f"php-{only}" and not (only == "8.4" and f["tag"] == "latest")
    } | {
        (f["registry"], f["tag"]): f["digest"]
        for f in record["floating"]
        if f["tag"] == f"php-{only}" or (only == "8.4" and f["tag"] == "latest")
    }
    pins = (notes / "v1.2.0.env").read_text(encoding="utf-8")
    assert "PHP_LINES='8.3 8.4'" in pins, pins
    assert "## PHP 8.3" in (notes / "v1.2.0.md").read_text(encoding="utf-8")
    done = world.run("verify", "v1.2.0")
    assert done.returncode == 0, done.stdout + done.stderr
