"""A published release is read from its record, whatever matrix.yaml says today.

Real loopback registries; the releases are published by ``publisher publish``
(as a separate process) from platform images seeded on the primary and their
digest records, so the release records are the ones the publish stage writes.
Then matrix.yaml changes (a line dropped, lines and platforms added) and
``verify``, ``check-public``, ``matrix`` and ``audit`` must still read the
release as it was published.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from publisher.adapters.localregistry import free_port
from publisher.core.manifest import VERSION_LABEL
from publisher.core.notes import load_record
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import BasicAuthRegistry
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import OCI_INDEX, make_image, push_raw, raw_delete_manifest
from tests.support.publishing import isolated_env, point_tag, run_publisher, seed_image

pytestmark = pytest.mark.integration


@dataclass
class World:
    """Two registries, a repository, a directory holding matrix files and release notes."""

    root: Path
    hosts: dict[str, str]
    repo: str
    write_matrix: Callable[..., Path]
    env: dict[str, str]
    credentials: dict[str, tuple[str, str]] | None = None

    def matrix(
        self,
        name: str,
        lines: Sequence[str] = ("8.3", "8.4", "8.5"),
        platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    ) -> Path:
        return self.write_matrix(
            self.root,
            [(n, f"{host}/{self.repo}", n == "hub") for n, host in self.hosts.items()],
            name=name,
            lines=lines,
            platforms=platforms,
            credentials=self.credentials,
        )

    @property
    def notes(self) -> Path:
        return self.root / "release-notes"  # the default, next to the matrix files

    def run(
        self, *args: str, matrix: Path, preexec: Callable[[], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_publisher(*args, config=matrix, env=self.env, cwd=self.root, preexec=preexec)

    def publish(
        self,
        release: str,
        matrix: Path,
        lines: Sequence[str],
        platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
        *extra: str,
        session: requests.Session | None = None,
        labelled: bool = False,
    ) -> dict[str, str]:
        """Build legs stand-in: seed each leg's image on the primary with its digest
        record; then ``publisher publish``. Returns each line's index digest.
        ``labelled``: each image says the pin it was built for, as a build's do."""
        digests = self.seed(release, lines, platforms, labelled=labelled)
        result = self.run(
            "publish", release, "--digests", str(digests), "--no-smoke", *extra, matrix=matrix
        )
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads((self.notes / f"{release}.json").read_text())
        return {line["php"]: line["index_digest"] for line in record["lines"]}

    def rerun(self, release: str, matrix: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        """``publisher publish`` of ``release`` again, from the digest records its
        ``publish`` left (``digests-<release>``)."""
        digests = str(self.root / f"digests-{release}")
        return self.run(
            "publish", release, "--digests", digests, "--no-smoke", *extra, matrix=matrix
        )

    def seed(
        self,
        release: str,
        lines: Sequence[str],
        platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
        *,
        labelled: bool = False,
    ) -> Path:
        """Build legs stand-in: each leg's image on the primary, with its digest record
        in ``digests-<release>``; returns that directory. ``labelled``: each image's
        version label names its pin, as a build's does."""
        digests = self.root / f"digests-{release}"
        digests.mkdir()
        primary = self.hosts["hub"]
        for php in lines:
            seed_image(
                digests,
                release,
                php,
                make_image(
                    platforms,
                    labels={VERSION_LABEL: f"{release}-php-{php}"} if labelled else None,
                ),
                push_to=primary,
                repo=self.repo,
                image_repo=f"{primary}/{self.repo}",
            )
        return digests

    def delete(self, registry: str, digest: str) -> None:
        """Delete the manifest ``digest`` from ``registry`` by hand (not through publisher)."""
        raw_delete_manifest(f"http://{self.hosts[registry]}", self.repo, digest)

    def put_tag(self, registry: str, digest: str, tag: str) -> None:
        """Point ``tag`` at the index ``digest`` by hand (not through publisher)."""
        point_tag(self.hosts[registry], self.repo, tag, digest)


def make_world(tmp_path: Path, write_matrix: Callable[..., Path], **hosts: str) -> World:
    env = isolated_env(tmp_path)
    repo = f"scope/php-fpm-{uuid.uuid4().hex[:8]}"
    return World(tmp_path, hosts, repo, write_matrix, env)


@pytest.fixture
def world(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> World:
    return make_world(tmp_path, write_matrix, hub=registry.host, ghcr=second_registry.host)


# ------------------------------------------------------------------ verify


def test_verify_checks_a_line_matrix_yaml_no_longer_has_from_the_record(world: World) -> None:
    """Finding 1: a recorded line dropped from matrix.yaml, its pin pointing at the
    wrong index on one registry: verify must fail (it said "verified", exit 0)."""
    published = world.matrix("matrix.yaml")
    digests = world.publish("v1.0.0", published, ("8.3", "8.4", "8.5"))
    today = world.matrix("matrix2.yaml", lines=("8.4", "8.5"))

    clean = world.run("verify", "v1.0.0", "--json", matrix=today)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads(clean.stdout)
    checked = {line["php"]: line["digests"] for line in report["lines"]}
    assert checked["8.3"] == {"hub": digests["8.3"], "ghcr": digests["8.3"]}
    assert "not checked" not in clean.stderr
    assert "read from its record" in clean.stderr

    # The job matrix leaves the dropped line out with a warning; in GitHub Actions that
    # warning is a workflow command on stderr, and stdout is still the one line of JSON.
    world.env["GITHUB_ACTIONS"] = "true"
    world.env["GITHUB_OUTPUT"] = str(world.root / "github-output")
    try:
        legs = world.run("matrix", "v1.0.0", "--github", matrix=today)
    finally:
        del world.env["GITHUB_ACTIONS"], world.env["GITHUB_OUTPUT"]
    assert legs.returncode == 0, legs.stdout + legs.stderr
    assert len(legs.stdout.splitlines()) == 1
    assert {leg["php"] for leg in json.loads(legs.stdout)["include"]} == {"8.4", "8.5"}
    assert "::warning::v1.0.0 was published with PHP 8.3" in legs.stderr

    world.put_tag("hub", digests["8.4"], "v1.0.0-php-8.3")
    found = world.run("verify", "v1.0.0", matrix=today)
    out = found.stdout + found.stderr
    assert found.returncode == 12, out
    assert "verified" not in out
    assert "hub tag v1.0.0-php-8.3 points at" in out  # compared with the record
    assert "the registries hold different digests" in out
    # Finding 4: the tip is not "rerun the release" (a rerun refuses a wrong pin, exit 14).
    assert "rerun the release" not in out
    assert "publisher audit --repair" in out and "publisher republish v1.0.0 --reason" in out

    data = json.loads(world.run("verify", "v1.0.0", "--json", matrix=today).stdout)
    kinds = {(d["kind"], d["php"]) for d in data["defects"]}
    assert ("pin-moved", "8.3") in kinds and ("registries-disagree", "8.3") in kinds

    # The tip works: audit --repair puts the pin back, then verify passes.
    repaired = world.run("audit", "--repair", matrix=today)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    again = world.run("verify", "v1.0.0", matrix=today)
    assert again.returncode == 0, again.stdout + again.stderr
    # --only selects among the release's lines, the dropped one included.
    one = world.run("verify", "v1.0.0", "--only", "8.3", "--json", matrix=today)
    assert one.returncode == 0, one.stdout + one.stderr
    assert [line["php"] for line in json.loads(one.stdout)["lines"]] == ["8.3"]
    none = world.run("verify", "v1.0.0", "--only", "8.2", matrix=today)
    assert none.returncode == 2, none.stdout + none.stderr  # bad input, as in every command
    assert "--only: v1.0.0 has no PHP 8.2 (it was published with PHP 8.3, 8.4, 8.5)" in none.stderr


def test_verify_finds_a_pin_moved_everywhere_to_other_content(world: World) -> None:
    """Every tag of a line moved together (the registries agree): only the record can tell."""
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"))
    for registry in ("hub", "ghcr"):
        for tag in ("v1.0.0-php-8.3", "php-8.3"):
            world.put_tag(registry, digests["8.4"], tag)
    result = world.run("verify", "v1.0.0", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert "hub tag v1.0.0-php-8.3 points at" in out and "ghcr tag v1.0.0-php-8.3" in out
    assert "publisher audit --repair" in out


def test_verify_tip_for_a_missing_tag_is_still_a_rerun(world: World) -> None:
    matrix = world.matrix("matrix.yaml", lines=("8.4",))
    digests = world.publish("v1.0.0", matrix, ("8.4",))
    world.delete("ghcr", digests["8.4"])
    result = world.run("verify", "v1.0.0", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert "is missing on ghcr" in out
    assert "rerun the release (`publisher release v1.0.0`)" in out
    assert "republish" not in out


# ------------------------------------------------------------ check-public and matrix


def test_check_public_and_matrix_read_the_release_record(world: World) -> None:
    """Finding 2: v1.1.0 published with one line on one platform; today's matrix has
    three lines on two platforms. check-public reads only the release's pins, and
    the job matrix of a rerun builds what the release is."""
    published = world.matrix("published.yaml", lines=("8.4",), platforms=("linux/amd64",))
    world.publish("v1.1.0", published, ("8.4",), ("linux/amd64",))
    today = world.matrix("matrix.yaml")

    public = world.run("check-public", "v1.1.0", matrix=today)
    out = public.stdout + public.stderr
    assert public.returncode == 0, out
    assert "4 pins readable without credentials on 2 registries" in out
    assert "v1.1.0-php-8.3" not in out

    legs = world.run("matrix", "v1.1.0", "--github", matrix=today)
    assert legs.returncode == 0, legs.stdout + legs.stderr
    assert json.loads(legs.stdout) == {
        "include": [
            {
                "php": "8.4",
                "platform": "linux/amd64",
                "runner": "ubuntu-24.04",
                "slug": "8.4-linux-amd64",
            }
        ]
    }
    # Asking for a line the release does not have is an error, not a leg.
    other = world.run("matrix", "v1.1.0", "--github", "--only", "8.3", matrix=today)
    assert other.returncode == 2, other.stdout + other.stderr  # bad input, as in verify
    assert "--only: v1.1.0 has no PHP 8.3 (it was published with PHP 8.4)" in other.stderr
    # A release without a record (a new one) still takes today's matrix.
    new = world.run("matrix", "v1.2.0", "--github", matrix=today)
    assert len(json.loads(new.stdout)["include"]) == 6
    unpublished = world.run("check-public", "v1.2.0", matrix=today)
    assert unpublished.returncode == 12
    out = unpublished.stdout + unpublished.stderr
    # The repository is readable anonymously: the pins are not there, nothing is private.
    assert "v1.2.0-php-8.3: no such tag (the repository is readable anonymously)" in out
    assert "`publisher verify v1.2.0` names every missing tag" in out
    assert "readable without credentials in that registry's settings" not in out
    report = json.loads(world.run("check-public", "v1.2.0", "--json", matrix=today).stdout)
    assert [r["public"] for r in report["registries"]] == [True, True]


def test_check_public_reads_a_line_matrix_yaml_no_longer_has(world: World) -> None:
    published = world.matrix("published.yaml", lines=("8.3", "8.4"))
    digests = world.publish("v1.0.0", published, ("8.3", "8.4"))
    world.delete("ghcr", digests["8.3"])
    today = world.matrix("matrix.yaml", lines=("8.4",))
    result = world.run("check-public", "v1.0.0", matrix=today)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert f"{world.hosts['ghcr']}/{world.repo}:v1.0.0-php-8.3: no such tag" in out
    only = world.run("check-public", "v1.0.0", "--only", "8.3", matrix=today)
    out = only.stdout + only.stderr
    assert only.returncode == 12, out
    assert "1 defect found" in out and "v1.0.0-php-8.3: no such tag" in out
    assert "v1.0.0-php-8.4" not in out


def test_check_public_tip_for_a_published_pin_deleted_by_hand_is_a_repair(world: World) -> None:
    """A recorded release was published: a pin gone from a repository anyone can read was
    deleted since, not "never pushed"; the tip's `audit --repair` puts it back."""
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.4",), ("linux/amd64",))
    world.delete("ghcr", digests["8.4"])
    result = world.run("check-public", "v1.0.0", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert "v1.0.0 has a record, so a pin missing from a registry" in out
    assert "was deleted there after it was published" in out
    assert "`publisher audit --repair` copies them back" in out
    assert "never pushed there" not in out and "finishes the release" not in out
    repair = world.run("audit", "--repair", matrix=matrix)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    again = world.run("check-public", "v1.0.0", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr


# ------------------------------------------------------------------ audit


def test_audit_names_the_platform_of_each_image_an_index_lost(world: World) -> None:
    """Where an index is broken: which platform's image is gone, not a count."""
    matrix = world.matrix("matrix.yaml", lines=("8.4",))
    digests = world.publish("v1.0.0", matrix, ("8.4",))
    ghcr = f"http://{world.hosts['ghcr']}/v2/{world.repo}/manifests"
    index = requests.get(f"{ghcr}/{digests['8.4']}", headers={"Accept": OCI_INDEX}, timeout=30)
    index.raise_for_status()
    arm64 = next(
        m["digest"] for m in index.json()["manifests"] if m["platform"]["architecture"] == "arm64"
    )
    world.delete("ghcr", arm64)
    result = world.run("audit", "--json", matrix=matrix)
    assert result.returncode == 12, result.stdout + result.stderr
    details = {
        (f["registry"], f["tag"]): f["detail"] for f in json.loads(result.stdout)["findings"]
    }
    gone = f"its linux/arm64 image ({arm64[:19]}…) is gone"
    assert details[("ghcr", "v1.0.0-php-8.4")] == gone, details
    assert f"ghcr: latest: {gone}" in world.run("audit", matrix=matrix).stderr
    # verify's tip names both what copies it back: a rerun, and (the release has a record)
    # the repair
    checked = world.run("verify", "v1.0.0", matrix=matrix)
    flat = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 12, flat
    assert (
        "which the primary holds whole: rerun the release (`publisher release v1.0.0`), which "
        "copies back from the primary what another registry lacks under the release's indexes, "
        "or `publisher audit --repair`, which copies it back from a registry that holds it;" in flat
    ), flat
    # The repair copies the lost image back: no blob to upload, and the line says so cleanly.
    repaired = world.run("audit", "--repair", matrix=matrix)
    out = repaired.stdout + repaired.stderr
    assert repaired.returncode == 0, out
    assert "copy: 0 blobs to place, 0 downloads\n" in out, out
    again = world.run("verify", "v1.0.0", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr


def test_audit_advice_for_a_registry_anonymous_users_cannot_read(
    tmp_path: Path,
    registry: Any,
    basic_registry: BasicAuthRegistry,
    write_matrix: Callable[..., Path],
) -> None:
    """Finding 3: the fix is the registry's visibility, not a repair or a republish."""
    world = make_world(tmp_path, write_matrix, hub=registry.host, private=basic_registry.host)
    world.credentials = {"private": ("PRIVATE_USER", "PRIVATE_TOKEN")}
    world.env.update(PRIVATE_USER=basic_registry.username, PRIVATE_TOKEN=basic_registry.password)
    matrix = world.matrix("matrix.yaml", lines=("8.4",))
    world.publish("v1.0.0", matrix, ("8.4",))

    for args in (("audit",), ("audit", "--repair")):
        result = world.run(*args, matrix=matrix)
        out = result.stdout + result.stderr
        assert result.returncode == 12, out
        assert "anonymous users cannot read it" in out
        assert "readable without credentials in that registry's settings" in out
        assert f"repository {world.repo} on {basic_registry.host}" in out
        assert "run `publisher audit --repair`" not in out
        assert "needs a rerun of the release or a republish" not in out
        assert basic_registry.password not in out


def test_audit_does_not_call_a_registry_that_rate_limits_its_anonymous_read_private(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> None:
    """A 429 says nothing of who may read the repository: audit warns that the anonymous
    read was not checked, and finds nothing to make public."""
    proxy = proxy_for(second_registry)
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=proxy.host)
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, ("8.4",), ("linux/amd64",))
    # the audit's own read of the pin answers; the anonymous read after it is rate-limited
    pin = "/manifests/v1.0.0-php-8.4$"
    proxy.add(Fault("status", method="HEAD", path=pin, status=429, skip=1, times=None))
    result = world.run("audit", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "anonymous users cannot read it" not in out
    assert "ghcr: whether anonymous users can read v1.0.0-php-8.4 was not checked" in out
    assert "(HTTP 429)" in out


def test_a_release_is_judged_where_its_record_says_it_was_published(world: World) -> None:
    """The repositories moved after v1.0.0 (another namespace in matrix.yaml): verify
    and check-public read v1.0.0 where it was published, and say so; a rerun or a
    republish refuses, naming both repositories, before anything is pushed."""
    published = world.matrix("matrix.yaml", lines=("8.4",))
    world.publish("v1.0.0", published, ("8.4",))
    moved = world.root / "moved.yaml"
    moved.write_text(
        published.read_text().replace(world.repo, world.repo + "-moved"), encoding="utf-8"
    )
    verified = world.run("verify", "v1.0.0", matrix=moved)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"was published to {world.hosts['hub']}/{world.repo} (hub)" in verified.stderr
    public = world.run("check-public", "v1.0.0", matrix=moved)
    assert public.returncode == 0, public.stdout + public.stderr
    for argv in (
        ("release", "v1.0.0", "--dry-run"),
        ("republish", "v1.0.0", "--reason", "r", "--dry-run"),
    ):
        refused = world.run(*argv, matrix=moved)
        assert refused.returncode == 3, (argv, refused.stdout + refused.stderr)
        assert f"now names {world.hosts['hub']}/{world.repo}-moved" in refused.stderr
        assert "a release stays where it was published" in refused.stderr
        # the check it names reads the same matrix file
        assert f"`publisher verify v1.0.0 --config {moved}` checks it there" in refused.stderr


def test_a_registry_dropped_from_the_matrix_is_said_by_every_command(world: World) -> None:
    """v1.0.0 went to hub and ghcr; matrix.yaml then drops ghcr. No command reads or
    writes ghcr any more: verify, check-public and audit say so instead of passing
    "everywhere" without a word, and what a rerun or a republish would write (its plan,
    its jobs) says its tags there stay as they are."""
    published = world.matrix("matrix.yaml", lines=("8.4",))
    world.publish("v1.0.0", published, ("8.4",))
    dropped = world.root / "dropped.yaml"
    world.write_matrix(
        world.root,
        [("hub", f"{world.hosts['hub']}/{world.repo}", True)],
        name=dropped.name,
        lines=("8.4",),
    )
    said = f"also published to {world.hosts['ghcr']}/{world.repo} (ghcr), which matrix.yaml"
    for argv, ends in (
        (("verify", "v1.0.0"), "no longer names: not checked there"),
        (("check-public", "v1.0.0"), "no longer names: not checked there"),
        (("plan", "v1.0.0"), "no longer names: its tags there are left as they are"),
        (("matrix", "v1.0.0", "--github"), "no longer names: its tags there are left as they are"),
    ):
        result = world.run(*argv, matrix=dropped)
        assert result.returncode == 0, (argv, result.stdout + result.stderr)
        assert f"{said} {ends}" in " ".join(result.stderr.split()), (argv, result.stderr)
    audited = world.run("audit", matrix=dropped)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert (
        f"ghcr: v1.0.0 was also published to {world.hosts['ghcr']}/{world.repo}, "
        "which matrix.yaml no longer names: not audited there"
    ) in " ".join(audited.stderr.split())


def test_audit_judges_each_release_where_its_record_says_it_was_published(
    world: World,
) -> None:
    """After a repository move, audit reads (and --repair restores) each recorded release
    in the repository its record names, says so once per registry, and writes nothing
    to the repository matrix.yaml names now."""
    published = world.matrix("matrix.yaml", lines=("8.4",))
    first = world.publish("v1.0.0", published, ("8.4",))["8.4"]
    newest = world.publish("v1.1.0", published, ("8.4",))["8.4"]
    moved = world.root / "moved.yaml"
    moved.write_text(
        published.read_text().replace(world.repo, world.repo + "-moved"), encoding="utf-8"
    )
    clean = world.run("audit", matrix=moved)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for name in ("hub", "ghcr"):
        assert (
            f"{name}: v1.0.0..v1.1.0 (2 releases) were published to "
            f"{world.hosts[name]}/{world.repo}, while matrix.yaml names "
            f"{world.hosts[name]}/{world.repo}-moved"
        ) in clean.stderr, clean.stderr

    # The newest release's index gone from ghcr's recorded repository: every tag on it.
    world.delete("ghcr", newest)
    found = world.run("audit", matrix=moved)
    assert found.returncode == 12, found.stdout + found.stderr
    label = f"ghcr ({world.hosts['ghcr']}/{world.repo})"
    assert f"{label}: v1.1.0-php-8.4 is missing" in found.stderr
    assert f"{label}: latest is missing; the recorded pins say" in found.stderr
    assert "v1.0.0-php-8.4 is missing" not in found.stderr
    repaired = world.run("audit", "--repair", matrix=moved)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    out = repaired.stdout + repaired.stderr
    assert f"copied {newest[:19]}… from hub ({world.hosts['hub']}/{world.repo})" in out
    assert out.count("were published to") == 2, out
    for name in ("hub", "ghcr"):
        base = f"http://{world.hosts[name]}/v2/{world.repo}"
        tags = requests.get(f"{base}/tags/list", timeout=30).json()["tags"]
        assert {"v1.1.0", "v1.1.0-php-8.4", "latest", "php-8.4"} <= set(tags), (name, tags)
        head = requests.head(f"{base}/manifests/latest", headers={"Accept": OCI_INDEX}, timeout=30)
        assert head.headers["Docker-Content-Digest"] == newest
        untouched = requests.get(f"{base}-moved/tags/list", timeout=30)
        assert untouched.status_code == 404, untouched.text

    # A release published in the new repositories: each repository's floating tags
    # follow the releases recorded there, under either matrix.
    old_repo = world.repo
    world.repo = old_repo + "-moved"
    moved_newest = world.publish("v1.2.0", moved, ("8.4",))["8.4"]
    for matrix in (moved, published):
        after = world.run("audit", matrix=matrix)
        assert after.returncode == 0, (matrix.name, after.stdout + after.stderr)
    assert (
        f"hub: v1.2.0 was published to {world.hosts['hub']}/{world.repo}, "
        f"while matrix.yaml names {world.hosts['hub']}/{old_repo}"
    ) in after.stderr
    for repo, digest in ((old_repo, newest), (world.repo, moved_newest)):
        head = requests.head(
            f"http://{world.hosts['ghcr']}/v2/{repo}/manifests/latest",
            headers={"Accept": OCI_INDEX},
            timeout=30,
        )
        assert head.headers["Docker-Content-Digest"] == digest, repo

    # Content gone from every repository the record names: the tip says where a
    # republish can run (a release stays where it was published).
    for name in ("hub", "ghcr"):
        raw_delete_manifest(f"http://{world.hosts[name]}", old_repo, first)
    lost = world.run("audit", "--repair", matrix=moved)
    assert lost.returncode == 12, lost.stdout + lost.stderr
    assert "no repository where v1.0.0 is recorded holds" in lost.stderr
    assert "run it with a matrix.yaml that names that repository" in lost.stderr


def _tags_of(world: World, repos: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each registry's tags in the repository ``repos`` names for it -> their digests."""
    found: dict[str, dict[str, str]] = {}
    for name, repo in repos.items():
        base = f"http://{world.hosts[name]}/v2/{repo}"
        listed = requests.get(f"{base}/tags/list", timeout=30).json()["tags"] or []
        found[name] = {
            tag: requests.head(
                f"{base}/manifests/{tag}", headers={"Accept": OCI_INDEX}, timeout=30
            ).headers["Docker-Content-Digest"]
            for tag in listed
        }
    return found


def test_a_backport_released_by_hand_as_the_readme_says_merges_its_notes_cleanly(
    world: World,
) -> None:
    """A backport released by hand from its branch wrote its size history from the
    branch's, without the releases published since the branch was cut, and its notes
    committed there conflicted in size-history.json when the branch was merged into the
    default one (taking the default branch's notes first too). The README says what the
    workflow's `release-notes.sh` does: take the default branch's release-notes/ first,
    commit the notes on the default branch; every release's sizes are kept, and the
    backport's branch still merges cleanly."""
    git_tool = require_tool("git")
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    take = "git checkout main -- release-notes"
    assert (
        f"it first takes the default branch's `release-notes/` (`{take}` on the backport's "
        "branch, `main` being the default branch, pulled first)"
    ) in readme, "README: a backport by hand"
    assert (
        "commits them on the default branch (`git switch main`, which keeps the new notes, then "
        "`git add release-notes` and commit), not on the backport's branch"
    ) in readme, "README: a backport by hand"
    ident = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env = {**world.env, **ident, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [git_tool, *args], cwd=world.root, env=env, capture_output=True, text=True, timeout=60
        )

    def ok(*args: str) -> None:
        done = git(*args)
        assert done.returncode == 0, (args, done.stdout + done.stderr)

    def release(tag: str) -> None:  # published, and its notes committed
        world.publish(tag, matrix, ("8.4",), ("linux/amd64",))
        ok("add", "release-notes")
        ok("commit", "-q", "-m", tag)

    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    ok("init", "-q", "-b", "main")
    ok("add", "matrix.yaml")
    ok("commit", "-q", "-m", "matrix")
    release("v1.0.0")
    ok("branch", "release-1.0")
    release("v1.1.0")

    # The branch's own notes: the merge conflicts in the size history.
    ok("checkout", "-q", "-b", "as-it-was", "release-1.0")
    release("v1.0.1")
    ok("checkout", "-q", "main")
    conflicted = git("merge", "--no-edit", "as-it-was")
    assert conflicted.returncode != 0, conflicted.stdout
    assert "CONFLICT (content): Merge conflict in release-notes/size-history.json" in (
        conflicted.stdout
    ), conflicted.stdout
    ok("merge", "--abort")

    # Taken from the default branch first, committed on the backport's branch: the same.
    ok("checkout", "-q", "-b", "taken", "release-1.0")
    ok(*take.split()[1:])
    release("v1.0.2")
    ok("checkout", "-q", "main")
    conflicted = git("merge", "--no-edit", "taken")
    assert "Merge conflict in release-notes/size-history.json" in conflicted.stdout
    ok("merge", "--abort")

    # As the README says: the default branch's notes first, committed there.
    ok("checkout", "-q", "release-1.0")
    ok(*take.split()[1:])
    world.publish("v1.0.3", matrix, ("8.4",), ("linux/amd64",))
    ok("switch", "-q", "main")
    ok("add", "release-notes")
    ok("commit", "-q", "-m", "v1.0.3")
    (world.root / "fix.txt").write_text("a backport's fix\n", encoding="utf-8")
    ok("switch", "-q", "release-1.0")
    ok("add", "fix.txt")
    ok("commit", "-q", "-m", "fix")
    ok("switch", "-q", "main")
    ok("merge", "--no-edit", "release-1.0")
    sizes = json.loads((world.notes / "size-history.json").read_text(encoding="utf-8"))
    assert sorted(sizes["releases"]) == ["v1.0.0", "v1.0.3", "v1.1.0"]
    assert (world.notes / "v1.0.3.json").exists() and (world.root / "fix.txt").exists()


def test_a_backport_after_one_registry_s_repository_moved_compares_the_releases_both_hold(
    world: World,
) -> None:
    """v1.0.0 and v1.1.0 published to hub and ghcr; then hub's repository moves and v1.2.0
    is published there (ghcr's unchanged). A backport from an older branch, whose
    matrix.yaml still names hub's old repository, finds latest and php-X.Y on v1.1.0 on hub
    and on v1.2.0 on ghcr: the move explains it (v1.2.0's record places it elsewhere on
    hub), not a release that did not finish. It is published without reading the
    registries again, moving no floating tag back on either; a rerun of a recorded release
    there does the same. A difference the move does not explain is still refused, its tip
    naming the move."""
    lines = ("8.3", "8.4")
    old = world.matrix("matrix.yaml", lines=lines)
    world.publish("v1.0.0", old, lines)
    world.publish("v1.1.0", old, lines)
    old_repo, new_repo = world.repo, world.repo + "-new"
    hub = world.hosts["hub"]
    moved = world.root / "moved.yaml"
    moved.write_text(
        old.read_text().replace(f"{hub}/{old_repo}", f"{hub}/{new_repo}"), encoding="utf-8"
    )
    world.repo = new_repo  # (the legs push to hub's repository of the day)
    world.publish("v1.2.0", moved, lines)
    world.repo = old_repo
    repos = {"hub": old_repo, "ghcr": old_repo}
    before = _tags_of(world, repos)

    digests = world.seed("v1.0.1", lines)
    started = time.monotonic()
    backport = world.run("publish", "v1.0.1", "--digests", str(digests), "--no-smoke", matrix=old)
    out = backport.stdout + backport.stderr
    assert backport.returncode == 0, out
    assert "reading them again" not in out
    assert time.monotonic() - started < 60, out
    after = _tags_of(world, repos)
    floating = ("latest", "php-8.3", "php-8.4")
    for name in ("hub", "ghcr"):
        assert {t: after[name][t] for t in floating} == {t: before[name][t] for t in floating}
        assert {"v1.0.1", "v1.0.1-php-8.3", "v1.0.1-php-8.4"} <= set(after[name]), name
    assert after["hub"]["latest"] == before["hub"]["v1.1.0"]
    assert after["ghcr"]["latest"] == before["ghcr"]["v1.2.0"]
    for argv in (
        ("publish", "v1.1.0", "--digests", str(world.root / "digests-v1.1.0"), "--no-smoke"),
        ("verify", "v1.0.1"),
        ("audit",),
    ):
        again = world.run(*argv, matrix=old)
        assert again.returncode == 0, (argv, again.stdout + again.stderr)
        assert "reading them again" not in again.stdout + again.stderr
    assert _tags_of(world, repos) == after

    # A release that stopped after writing its pins on hub (the primary) only: the move
    # does not explain latest on v1.1.5 there; the tip names the move too.
    for tag, php in (("v1.1.5-php-8.3", "8.3"), ("v1.1.5-php-8.4", "8.4"), ("v1.1.5", "8.4")):
        world.put_tag("hub", after["hub"][f"v1.1.0-php-{php}"], tag)
    digests = world.seed("v1.0.2", lines)
    refused = world.run("publish", "v1.0.2", "--digests", str(digests), "--no-smoke", matrix=old)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 12, refused.stdout + refused.stderr
    assert "latest would point at v1.1.5" in said, said
    assert (
        f"hub: v1.2.0 was published to {hub}/{new_repo}, while matrix.yaml names {hub}/{old_repo}"
    ) in said, said
    assert "v1.0.2" not in _tags_of(world, repos)["ghcr"]


def test_after_a_repository_move_one_release_under_a_floating_tag_with_two_contents_is_refused(
    world: World,
) -> None:
    """As above, but v1.2.0 (published after hub's repository moved) has PHP 8.4 alone, so
    php-8.3 follows v1.1.0 on both registries; and a republish of v1.1.0's PHP 8.3 stopped
    after rewriting its pin on hub (the primary, written first). php-8.3 would then carry
    two contents of one release: the move explains a tag that follows different
    releases, never that. The backport is refused (exit 12) before any tag is written,
    naming the pin rewritten half-way and the republish to rerun."""
    lines = ("8.3", "8.4")
    old = world.matrix("matrix.yaml", lines=lines)
    first = world.publish("v1.0.0", old, lines)
    world.publish("v1.1.0", old, lines)
    old_repo, new_repo = world.repo, world.repo + "-new"
    hub = world.hosts["hub"]
    moved = world.matrix("moved.yaml", lines=("8.4",))
    moved.write_text(
        moved.read_text().replace(f"{hub}/{old_repo}", f"{hub}/{new_repo}"), encoding="utf-8"
    )
    world.repo = new_repo
    world.publish("v1.2.0", moved, ("8.4",))
    world.repo = old_repo
    world.put_tag("hub", first["8.3"], "v1.1.0-php-8.3")  # the republish's new build, say
    repos = {"hub": old_repo, "ghcr": old_repo}
    before = _tags_of(world, repos)

    digests = world.seed("v1.0.1", lines)
    refused = world.run("publish", "v1.0.1", "--digests", str(digests), "--no-smoke", matrix=old)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 12, refused.stdout + refused.stderr
    assert (
        "the registries hold different content: php-8.3 would point at v1.1.0 "
        f"({before['hub']['v1.1.0-php-8.3'][:19]}…) on hub; v1.1.0 "
        f"({before['ghcr']['v1.1.0-php-8.3'][:19]}…) on ghcr"
    ) in said, said
    assert "pin rewritten half-way: v1.1.0-php-8.3" in said, said
    assert "`publisher republish v1.1.0 --reason ...`" in said, said
    assert _tags_of(world, repos) == before


def audit_while_held(
    world: World,
    matrix: Path,
    held: Sequence[tuple[FaultProxy, str]],
    at_least: int,
    *,
    settle: float = 0.0,
    only: Sequence[str] = (),
) -> tuple[list[int], str]:
    """Run ``publisher audit`` while each proxy holds every request by digest for a
    manifest (``only``: for one of these digests) with the given method; wait until each
    holds ``at_least`` of them (or audit ends, or 20 s pass), then ``settle`` s more.
    Returns how many each held at once, and audit's output once released (audit must
    then pass)."""
    path = f"/manifests/({'|'.join(only)})$" if only else r"/manifests/sha256:"
    faults = []
    for proxy, method in held:
        fault = Fault("stall", method=method, path=path, stall_seconds=60, times=None)
        proxy.add(fault)
        faults.append(fault)
    audit = subprocess.Popen(
        [sys.executable, "-m", "publisher", "audit", "--config", str(matrix)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=world.env,
        cwd=world.root,
    )
    try:
        deadline = time.monotonic() + 20
        while (
            min(fault.fired for fault in faults) < at_least
            and time.monotonic() < deadline
            and audit.poll() is None
        ):
            time.sleep(0.05)
        time.sleep(settle)
        at_once = [fault.fired for fault in faults]
    finally:
        for proxy, _ in held:
            proxy.release()
        out, err = audit.communicate(timeout=300)
    assert audit.returncode == 0, out + err
    return at_once, out + err


def recorded_images(world: World, releases: Sequence[str]) -> list[str]:
    """The digests of the platform images the records of ``releases`` list (the children
    of their indexes, which audit reads whole: what each was built as)."""
    records = [load_record(world.notes, release) for release in releases]
    return [p.digest for r in records if r for line in r.lines for p in line.platforms]


def test_audit_reads_a_long_history_several_indexes_at_a_time(
    tmp_path: Path,
    proxy: FaultProxy,
    second_registry: Any,
    write_matrix: Callable[..., Path],
) -> None:
    """Years of releases are hundreds of indexes: audit checks the indexes the tags point
    at several at a time, not one request after another (a distant registry made a
    notes directory of 150 releases take many minutes). Every index read by digest on
    hub is held at the proxy until audit has asked for a second one at once."""
    world = make_world(tmp_path, write_matrix, hub=proxy.host, ghcr=second_registry.host)
    published = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    world.publish("v1.0.0", published, ("8.3", "8.4"))
    world.publish("v1.1.0", published, ("8.3", "8.4"))
    (at_once,), said = audit_while_held(world, published, [(proxy, "GET")], 2)
    assert at_once >= 2, f"one index read at a time ({at_once} held at once)"
    assert "2 releases match their records on every registry" in said


# ------------------------------------------------------------- release and republish


def test_release_and_republish_warn_about_the_lines_they_write(world: World) -> None:
    """v1.0.0 was published with PHP 8.4 and 8.6; matrix.yaml now adds 8.7. A rerun or a
    republish writes v1.0.0's lines only: the lifecycle warnings name 8.6 (not in
    publisher's table of PHP lines), once, and never 8.7, which the run does not touch;
    the record's notices are said once. A new release warns about today's lines."""
    base = f"{world.hosts['ghcr']}/bases/php:{{php}}-fpm-alpine"
    published = world.write_matrix(
        world.root,
        [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()],
        name="matrix.yaml",
        lines=("8.4", "8.6"),
        base_image=base,
    )
    world.publish("v1.0.0", published, ("8.4", "8.6"))
    for php in ("8.4", "8.6", "8.7"):
        push_raw(
            f"http://{world.hosts['ghcr']}",
            "bases/php",
            make_image(),
            tags=[f"{php}-fpm-alpine"],
        )
    today = world.write_matrix(
        world.root,
        [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()],
        name="today.yaml",
        lines=("8.4", "8.6", "8.7"),
        base_image=base,
    )
    (world.root / "dockerfiles").mkdir()
    template = ROOT / "dockerfiles" / "Dockerfile.j2"
    (world.root / "dockerfiles" / "Dockerfile.j2").write_bytes(template.read_bytes())
    rendered = world.run("render", matrix=today)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    table = "not in publisher's table of PHP lines"
    for argv in (
        ("release", "v1.0.0", "--dry-run"),
        ("republish", "v1.0.0", "--reason", "base fix", "--dry-run"),
    ):
        result = world.run(*argv, matrix=today)
        said = " ".join(result.stderr.split())
        assert result.returncode == 0, (argv, result.stdout + result.stderr)
        assert said.count(f"PHP 8.6 is {table}") == 1, (argv, said)
        assert "PHP 8.7 is" not in said, (argv, said)
        assert said.count("v1.0.0 has no PHP 8.7") == 1, (argv, said)
    fresh = world.run("release", "v1.1.0", "--dry-run", matrix=today)
    said = " ".join(fresh.stderr.split())
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert f"PHP 8.6 is {table}" in said and f"PHP 8.7 is {table}" in said, said
    # Its JSON says what the human output says: each line, built by the run, is pushed to
    # the primary and copied to ghcr (what copying takes is counted once it exists).
    assert "Copies: PHP 8.4, 8.6, 8.7: built by this run, then copied to ghcr" in fresh.stdout
    planned = world.run("release", "v1.1.0", "--dry-run", "--json", matrix=today)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    lines = json.loads(planned.stdout)["lines"]
    assert [(a["php"], a["source"], a["digest"], a["push"], a["copy_to"]) for a in lines] == [
        (php, "pending", None, True, ["ghcr"]) for php in ("8.4", "8.6", "8.7")
    ]


def test_a_republish_without_source_date_epoch_is_warned_before_it_builds(world: World) -> None:
    """Without SOURCE_DATE_EPOCH every image is stamped with the time it is built: a
    republish by hand then rebuilds every line with new digests, whatever its base did.
    It says so before building, as its dry run does, naming the variable to set; with it
    set, nothing is said."""
    base = f"{world.hosts['ghcr']}/bases/php:{{php}}-fpm-alpine"
    published = world.write_matrix(
        world.root,
        [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()],
        name="matrix.yaml",
        lines=("8.4",),
        base_image=base,
    )
    world.publish("v1.0.0", published, ("8.4",))
    push_raw(f"http://{world.hosts['ghcr']}", "bases/php", make_image(), tags=["8.4-fpm-alpine"])
    (world.root / "dockerfiles").mkdir()
    template = ROOT / "dockerfiles" / "Dockerfile.j2"
    (world.root / "dockerfiles" / "Dockerfile.j2").write_bytes(template.read_bytes())
    assert world.run("render", matrix=published).returncode == 0
    argv = ("republish", "v1.0.0", "--reason", "weekly", "--dry-run")
    world.env.pop("SOURCE_DATE_EPOCH", None)
    unset = world.run(*argv, matrix=published)
    said = " ".join(unset.stderr.split())
    assert unset.returncode == 0, unset.stdout + unset.stderr
    assert "SOURCE_DATE_EPOCH is not set" in said, said
    assert "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct v1.0.0) publisher republish v1.0.0" in (
        said
    ), said
    world.env["SOURCE_DATE_EPOCH"] = "1700000000"
    kept = world.run(*argv, matrix=published)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "SOURCE_DATE_EPOCH" not in kept.stderr
    helped = world.run("republish", "--help", matrix=published)
    assert "SOURCE_DATE_EPOCH" in helped.stdout


def test_a_published_release_s_default_line_past_its_end_is_advice_for_the_next_release(
    world: World,
) -> None:
    """v1.0.0 was published with default line 8.1, now past its end; a published release
    keeps it, so a rerun or a republish of v1.0.0 never says to set default_line for it.
    With matrix.yaml on 8.4 there is nothing to change; still on 8.1, the advice is the next
    release's."""
    base = f"{world.hosts['ghcr']}/bases/php:{{php}}-fpm-alpine"
    registries = [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()]
    published = world.write_matrix(
        world.root, registries, name="matrix.yaml", lines=("8.1", "8.4"), default_line="8.1",
        base_image=base,
    )  # fmt: skip
    world.publish("v1.0.0", published, ("8.1", "8.4"))
    for php in ("8.1", "8.4"):
        push_raw(
            f"http://{world.hosts['ghcr']}", "bases/php", make_image(), tags=[f"{php}-fpm-alpine"]
        )
    moved_on = world.write_matrix(
        world.root, registries, name="today.yaml", lines=("8.1", "8.4"), base_image=base
    )
    (world.root / "dockerfiles").mkdir()
    template = ROOT / "dockerfiles" / "Dockerfile.j2"
    (world.root / "dockerfiles" / "Dockerfile.j2").write_bytes(template.read_bytes())
    assert world.run("render", matrix=moved_on).returncode == 0
    for argv in (
        ("release", "v1.0.0", "--dry-run"),
        ("republish", "v1.0.0", "--reason", "base fix", "--dry-run"),
        # --only narrows what is rebuilt, not the next release's lines the advice names
        ("release", "v1.0.0", "--dry-run", "--only", "8.1"),
        ("republish", "v1.0.0", "--reason", "base fix", "--dry-run", "--only", "8.1"),
    ):
        for matrix, advised in ((moved_on, False), (published, True)):
            result = world.run(*argv, matrix=matrix)
            said = " ".join(result.stderr.split())
            assert result.returncode == 0, (argv, result.stdout + result.stderr)
            assert "PHP 8.1 reached end of life on 2025-12-31" in said, (argv, said)
            assert "latest and each release's vX.Y.Z follow the default line" not in said
            next_release = "for the next release, set default_line in matrix.yaml to a line"
            assert (said.count(next_release) == 1) is advised, (argv, said)
            if advised:
                assert "a published release keeps its default line, here 8.1" in said
                assert f"{next_release} that still does (8.4)" in said, (argv, said)
    # a new release narrowed to its default line: the advice names matrix.yaml's other line
    # (it said none of the lines still updates, add one), for --only as for PUBLISHER_LINES
    for argv, env in (
        (("release", "v2.0.0", "--dry-run", "--only", "8.1"), {}),
        (("release", "v2.0.0", "--dry-run"), {"PUBLISHER_LINES": "8.1"}),
    ):
        result = run_publisher(*argv, config=published, env={**world.env, **env}, cwd=world.root)
        said = " ".join(result.stderr.split())
        assert result.returncode == 0, (argv, result.stdout + result.stderr)
        assert "follow the default line 8.1, whose base no longer updates" in said, said
        assert "set default_line in matrix.yaml to a line that still does (8.4)" in said, said
        assert "none of these lines does" not in said, (argv, env, said)


def test_audit_reads_the_registries_at_once_and_an_index_children_several_at_a_time(
    tmp_path: Path,
    registry: Any,
    second_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> None:
    """One index per registry (one release of one line, two platforms): audit reads its
    two children at once, and both registries' at the same time, not one registry after
    the other. Every child read by digest is held at its proxy until audit has asked for
    both children on both registries."""
    proxies = {"hub": proxy_for(registry), "ghcr": proxy_for(second_registry)}
    world = make_world(tmp_path, write_matrix, **{n: p.host for n, p in proxies.items()})
    published = world.matrix("matrix.yaml", lines=("8.4",))
    world.publish("v1.0.0", published, ("8.4",))
    at_once, said = audit_while_held(
        world,
        published,
        [(proxies["hub"], "GET"), (proxies["ghcr"], "GET")],
        2,
        only=recorded_images(world, ["v1.0.0"]),
    )
    assert at_once == [2, 2], f"children held at once (hub, ghcr): {at_once}"
    assert "1 release matches its record on every registry" in said


def test_audit_asks_a_registry_at_most_eight_requests_at_once(
    tmp_path: Path,
    proxy: FaultProxy,
    second_registry: Any,
    write_matrix: Callable[..., Path],
) -> None:
    """Six indexes of twelve children on hub: the children are read eight at a time
    (REQUESTS_IN_FLIGHT), never all twelve, however the checks are nested."""
    world = make_world(tmp_path, write_matrix, hub=proxy.host, ghcr=second_registry.host)
    published = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    for release in ("v1.0.0", "v1.1.0", "v1.2.0"):
        world.publish(release, published, ("8.3", "8.4"))
    # Then a second's wait: time for a ninth, were there one.
    children = recorded_images(world, ["v1.0.0", "v1.1.0", "v1.2.0"])
    (at_once,), said = audit_while_held(
        world, published, [(proxy, "GET")], 8, settle=1, only=children
    )
    assert at_once == 8, f"{at_once} children read at once"
    assert "3 releases match their records on every registry" in said


# ------------------------------------------------------------------ a new release's matrix
# `matrix` refuses the selections `release` and `publish` refuse, before any leg: in GitHub
# Actions the matrix job feeds the build legs, which would build for minutes before
# `publish` refused; the words and exit codes are `release`'s.


def test_matrix_refuses_a_new_release_without_its_default_line(world: World) -> None:
    today = world.matrix("matrix.yaml")  # default line 8.4
    legs = world.run("matrix", "v2.0.0", "--github", "--only", "8.3", matrix=today)
    assert legs.returncode == 2, legs.stdout + legs.stderr
    assert legs.stdout == ""  # no legs for the workflow
    assert "v2.0.0 would be published without PHP 8.4, its default line" in legs.stderr
    assert "nothing was built or pushed" in legs.stderr
    assert "include it (`--only 8.3,8.4`) or leave --only out" in legs.stderr
    # with the default line, the legs are listed
    kept = world.run("matrix", "v2.0.0", "--github", "--only", "8.3,8.4", matrix=today)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert len(json.loads(kept.stdout)["include"]) == 4


def test_matrix_refuses_the_environment_leaving_out_the_default_line(world: World) -> None:
    world.env["PUBLISHER_PLATFORMS"] = "linux/arm64"
    today = world.write_matrix(
        world.root,
        [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()],
        lines=("8.3", "8.4"),
        line_overrides={"8.4": {"platforms": ["linux/amd64"]}},
    )
    legs = world.run("matrix", "v2.0.0", "--github", matrix=today)
    assert legs.returncode == 3, legs.stdout + legs.stderr
    assert legs.stdout == ""
    assert "v2.0.0 would be published without PHP 8.4, its default line" in legs.stderr
    assert "change or unset PUBLISHER_PLATFORMS so that it keeps PHP 8.4" in legs.stderr


def test_matrix_refuses_leaving_out_a_line_an_earlier_run_pinned(world: World) -> None:
    published = world.matrix("published.yaml", lines=("8.3", "8.4"))
    indexes = world.publish("v1.0.0", published, ("8.3", "8.4"))
    # an earlier run of v2.0.0 wrote PHP 8.3's pin, then stopped
    world.put_tag("hub", indexes["8.3"], "v2.0.0-php-8.3")
    legs = world.run("matrix", "v2.0.0", "--github", "--only", "8.4", matrix=published)
    assert legs.returncode == 2, legs.stdout + legs.stderr
    assert legs.stdout == ""
    assert "v2.0.0 was started with PHP 8.3 (v2.0.0-php-8.3 on hub)" in legs.stderr
    # A published release without its record (notes not merged yet) may be republished
    # line by line: its legs are listed, and `publish` tells a republish from a release.
    (world.notes / "v1.0.0.json").unlink()
    again = world.run("matrix", "v1.0.0", "--github", "--only", "8.3", matrix=published)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [leg["php"] for leg in json.loads(again.stdout)["include"]] == ["8.3", "8.3"]


def test_matrix_refuses_a_line_matrix_yaml_dropped_since_an_earlier_run_pinned_it(
    world: World, tmp_path: Path
) -> None:
    """No selection: an earlier run of v2.0.0 wrote PHP 8.3's pin, then matrix.yaml dropped
    8.3. `release` and `publish` refuse to finish v2.0.0 without it, after every leg built:
    `matrix` refuses it first, in their words and exit code. A rehearsal's legs (--local)
    refuse none of it and read nothing."""
    published = world.matrix("published.yaml", lines=("8.3", "8.4"))
    indexes = world.publish("v1.0.0", published, ("8.3", "8.4"))
    today = world.matrix("today.yaml", lines=("8.4", "8.5"))
    fresh = world.run("matrix", "v2.0.0", "--github", matrix=today)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr  # no earlier run: its legs
    assert [leg["php"] for leg in json.loads(fresh.stdout)["include"]] == ["8.4"] * 2 + ["8.5"] * 2
    world.put_tag("hub", indexes["8.3"], "v2.0.0-php-8.3")  # an earlier run, then it stopped
    legs = world.run("matrix", "v2.0.0", "--github", matrix=today)
    assert legs.returncode == 2, legs.stdout + legs.stderr
    assert legs.stdout == ""
    assert (
        "error: usage error: v2.0.0 was started with PHP 8.3 (v2.0.0-php-8.3 on hub), which this "
        "run leaves out: a release keeps its lines, and one whose registries hold different pins "
        "of it is followed by no floating tag; nothing was built or pushed"
    ) in legs.stderr
    assert "restore PHP 8.3 in matrix.yaml to finish v2.0.0 with `publisher release v2.0.0" in (
        " ".join(legs.stderr.split())
    )
    # the legs of a rehearsal (image-build.yml's) read nothing: not even a primary that is down
    down = world.write_matrix(
        tmp_path,
        [("hub", f"127.0.0.1:{free_port()}/{world.repo}", True)],
        name="down.yaml",
        lines=("8.4",),
    )
    for config in (today, down):
        rehearsed = world.run("matrix", "v2.0.0", "--github", "--local", matrix=config)
        assert rehearsed.returncode == 0, rehearsed.stdout + rehearsed.stderr
    unread = world.run("matrix", "v2.0.0", "--github", matrix=down)
    assert unread.returncode != 0 and unread.stdout == "", unread.stderr  # a new release: read


# ------------------------------------------------------------------ verify, never published


def test_verify_of_a_release_never_published_reads_no_other_release(world: World) -> None:
    """v9.9.9 has no pin anywhere: the floating tags carry v1.0.0, which is not judged,
    so its images are not read either; the one defect says v9.9.9 has no pins."""
    today = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    indexes = world.publish("v1.0.0", today, ("8.3", "8.4"))
    result = world.run("verify", "v9.9.9", matrix=today)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert "nothing of v9.9.9 is published: not one of its pins" in out
    assert "checking" not in out, out
    for digest in indexes.values():
        assert digest not in out
    # a published release still has its floating tags' images read
    again = world.run("verify", "v1.0.0", matrix=today)
    assert again.returncode == 0, again.stdout + again.stderr


# ------------------------------------------------------------------ a record edited by hand


def _drop_from_record(path: Path, php: str) -> None:
    """PHP ``php``'s entry and its floating tag removed from the release record ``path``
    (a hand edit, a bad merge, or an older publisher's republish --only)."""
    record = json.loads(path.read_text())
    record["lines"] = [line for line in record["lines"] if line["php"] != php]
    record["floating"] = [f for f in record["floating"] if f["tag"] != f"php-{php}"]
    path.write_text(json.dumps(record, indent=2))


def _tags(world: World) -> dict[str, dict[str, str]]:
    """Every registry's tags -> the digest each points at, read by hand."""
    return _tags_of(world, dict.fromkeys(world.hosts, world.repo))


def _published_twice(world: World) -> tuple[Path, dict[str, str]]:
    """v1.0.0 then v1.1.0 with PHP 8.3, 8.4 and 8.5 (default 8.4); v1.1.0's indexes."""
    matrix = world.matrix("matrix.yaml")
    world.publish("v1.0.0", matrix, ("8.3", "8.4", "8.5"))
    return matrix, world.publish("v1.1.0", matrix, ("8.3", "8.4", "8.5"))


def _edit_index(record: dict[str, Any], newer: dict[str, str]) -> None:
    record["lines"][0]["index_digest"] = newer["8.3"]  # references and platforms unchanged


def _edit_default_line(record: dict[str, Any], newer: dict[str, str]) -> None:
    record["default_line"] = "8.3"  # 8.4's tags and latest still say 8.4


def _drop_line(record: dict[str, Any], newer: dict[str, str]) -> None:
    record["lines"] = [line for line in record["lines"] if line["php"] != "8.5"]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (_edit_index, "lines[0].references.hub"),
        (_edit_default_line, "lines[1].tags"),
        (_drop_line, "floating[2].tag"),
    ],
)
def test_a_record_whose_fields_contradict_each_other_is_refused_before_any_tag_moves(
    world: World, edit: Callable[[dict[str, Any], dict[str, str]], None], field: str
) -> None:
    """A hand edit or a bad merge of a record: verify and audit --repair refuse it (exit 3,
    naming the file and the field, with the way back), and no published pin moves (audit
    --repair moved v1.0.0's pins on every registry to what the edit said)."""
    matrix, newer = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    record = json.loads(path.read_text())
    edit(record, newer)
    path.write_text(json.dumps(record, indent=2))
    before = _tags(world)
    for args in (("verify", "v1.0.0"), ("audit", "--repair"), ("audit",)):
        result = world.run(*args, matrix=matrix)
        out = result.stdout + result.stderr
        assert result.returncode == 3, (args, out)
        assert f"{path}: {field}:" in out, (args, out)
        assert f"git log -p -- {path}" in " ".join(out.split()), (args, out)
        assert "repaired" not in out
    assert _tags(world) == before


def _named_with_care(record: dict[str, Any], digest: str) -> dict[str, Any]:
    """``record`` edited to name ``digest`` as PHP 8.3's index, its references and its
    floating tags edited alike (so that the record reads)."""
    line = record["lines"][0]
    assert line["php"] == "8.3"
    line["index_digest"] = digest
    line["references"] = {
        name: f"{ref.split('@')[0]}@{digest}" for name, ref in line["references"].items()
    }
    for entry in record["floating"]:
        if entry["tag"] == "php-8.3" and entry["release"] == record["release"]:
            entry["digest"] = digest
    return record


def test_a_record_naming_an_index_on_no_registry_is_said_as_possibly_wrong(world: World) -> None:
    """The tips of verify and of the repair that cannot act both say the record itself
    may be wrong and how to restore it (they offered only the repair, or a republish)."""
    matrix, _ = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    nowhere = "sha256:" + "e" * 64
    path.write_text(json.dumps(_named_with_care(json.loads(path.read_text()), nowhere)))
    restore = "git log -p -- release-notes/v1.0.0.json"
    checked = world.run("verify", "v1.0.0", matrix=matrix)
    said = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 12, said
    assert "if the record itself is wrong" in said and restore in said
    repair = world.run("audit", "--repair", matrix=matrix)
    said = " ".join((repair.stdout + repair.stderr).split())
    assert repair.returncode == 12, said
    assert "if the record itself is wrong" in said and restore in said


def test_audit_repair_never_moves_a_pin_to_an_index_holding_other_images_than_the_record(
    world: World,
) -> None:
    """A record edited with care (its index, references and floating tags agree) naming
    another release's index: the index's images are not the record's platforms, so audit
    names the record as contradicted and its repair moves nothing (it moved the pins)."""
    matrix, newer = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps(_named_with_care(record, newer["8.3"]), indent=2))
    before = _tags(world)

    result = world.run("audit", "--repair", matrix=matrix)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 12, out
    assert "holds other images than the record lists" in out
    assert f"git log -p -- {path}" in out or "git log -p -- release-notes/v1.0.0.json" in out
    assert "repaired: hub" not in out and "-> sha256" not in out
    assert _tags(world) == before
    # No closing tip sends the maintainer to a repair or a rerun that would trust it.
    assert "rerun of the release or a republish" not in out, out
    assert "to restore what the records say" not in out, out
    assert "restore the record of v1.0.0 from git as said above, then run" in out, out

    judged = world.run("audit", "--json", matrix=matrix)
    kinds = {(f["kind"], f["registry"]) for f in json.loads(judged.stdout)["findings"]}
    assert ("record-contradicted", "hub") in kinds and ("record-contradicted", "ghcr") in kinds

    # The pin moved by hand to what the record says (as the old repair did): verify no
    # longer calls the release complete and consistent.
    for registry in ("hub", "ghcr"):
        world.put_tag(registry, newer["8.3"], "v1.0.0-php-8.3")
    checked = world.run("verify", "v1.0.0", matrix=matrix)
    said = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 12, said
    assert "holds other images than the record lists" in said and "git log -p" in said
    again = world.run("audit", "--repair", matrix=matrix)
    assert again.returncode == 12, again.stdout + again.stderr
    assert "holds other images than the record lists" in again.stdout + again.stderr


def test_audit_names_the_pins_of_a_line_removed_from_the_record(world: World) -> None:
    """PHP 8.5's entry and its floating tags removed from v1.0.0's record: audit names
    v1.0.0-php-8.5 on every registry (it passed, never mentioning them), and its repair
    leaves them."""
    matrix, _ = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    _drop_from_record(path, "8.5")
    before = _tags(world)
    for args in (("audit",), ("audit", "--repair")):
        result = world.run(*args, matrix=matrix)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 12, said
        for registry in ("hub", "ghcr"):
            assert f"{registry}: v1.0.0-php-8.5: v1.0.0's record has no PHP 8.5" in said, said
        assert "git log -p -- release-notes/v1.0.0.json" in said
    assert _tags(world) == before


def test_a_line_removed_from_the_only_release_is_advised_git_alone(world: World) -> None:
    """PHP 8.5's entry removed from v1.0.0's record, the only release (php-8.5 carries its
    pin and no other record's): audit and its repair name restoring the record from git
    as the way back, never `release v1.0.0 --only 8.5` (refused: a published release keeps
    its lines), a repair that leaves them, nor a rerun or a republish; the record restored,
    audit passes."""
    matrix = world.matrix("matrix.yaml")
    world.publish("v1.0.0", matrix, ("8.3", "8.4", "8.5"))
    path = world.notes / "v1.0.0.json"
    original = path.read_text()
    _drop_from_record(path, "8.5")
    before = _tags(world)
    refused = world.run("release", "v1.0.0", "--only", "8.5", "--dry-run", matrix=matrix)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    for args in (("audit",), ("audit", "--repair")):
        result = world.run(*args, matrix=matrix)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 12, said
        for registry in ("hub", "ghcr"):
            assert f"{registry}: v1.0.0-php-8.5: v1.0.0's record has no PHP 8.5" in said, said
            assert f"{registry}: php-8.5 points at" in said, said
        assert "carries v1.0.0-php-8.5, a pin of a line v1.0.0's record lacks" in said, said
        assert "--only 8.5" not in said and "finishes it" not in said, said
        assert "to restore what the records say" not in said, said
        assert "rerun of the release or a republish" not in said, said
        assert "finish the release it came from" not in said, said
        assert "as it was before the change that dropped the line" in said, said
        assert "restore the record of v1.0.0 from git as said above, then run" in said, said
    assert _tags(world) == before
    path.write_text(original)
    restored = world.run("audit", matrix=matrix)
    assert restored.returncode == 0, restored.stdout + restored.stderr


def _republish(world: World, release: str, php: str, matrix: Path) -> None:
    """``publisher publish RELEASE --reason`` of ``php`` alone, from images of another size
    seeded on the primary."""
    digests = world.root / f"digests-republish-{release}"
    digests.mkdir()
    seed_image(
        digests,
        release,
        php,
        make_image(("linux/amd64", "linux/arm64"), layer_sizes=(4096,)),
        push_to=world.hosts["hub"],
        repo=world.repo,
        image_repo=f"{world.hosts['hub']}/{world.repo}",
    )
    args = ("--digests", str(digests), "--no-smoke", "--reason", "base", "--only", php)
    result = world.run("publish", release, *args, matrix=matrix)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_kept_rerun_and_a_republish_keep_the_sizes_of_a_line_the_record_lacks(
    world: World,
) -> None:
    """PHP 8.5's entry removed from v1.0.0's record (an older publisher's republish --only
    wrote it so): a rerun that keeps the notes ("every fact is as recorded") leaves
    size-history.json byte for byte (it dropped v1.0.0's 8.5 sizes, the last trace of the
    line, and v1.1.0's size comparisons with them: a republish of v1.1.0 then called its
    8.5 images, which it did not rebuild, a first release), and a republish of v1.0.0's
    8.4 replaces its sizes alone."""
    matrix, _ = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    _drop_from_record(path, "8.5")
    sizes = world.notes / "size-history.json"
    before = sizes.read_bytes()
    two = world.matrix("two.yaml", lines=("8.3", "8.4"))
    again = world.rerun("v1.0.0", two, "--only", "8.3,8.4")
    said = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, said
    assert "every fact is as recorded" in said, said
    assert sizes.read_bytes() == before
    _republish(world, "v1.1.0", "8.4", matrix)
    newer = json.loads((world.notes / "v1.1.0.json").read_text())
    for line in newer["lines"]:
        for platform in line["platforms"]:
            assert (platform["size_change"] or {}).get("previous_release") == "v1.0.0", line
    _republish(world, "v1.0.0", "8.4", two)
    old = json.loads(before)["releases"]["v1.0.0"]
    new = json.loads(sizes.read_text())["releases"]["v1.0.0"]
    assert new["8.5"] == old["8.5"] and new["8.3"] == old["8.3"], (old, new)
    assert new["8.4"] != old["8.4"] and set(new) == {"8.3", "8.4", "8.5"}, (old, new)


def test_audit_goes_on_past_a_record_a_newer_publisher_wrote(world: World) -> None:
    """v1.1.0's record of schema 2 (a newer publisher's): audit still audits v1.0.0 (its
    pin moved by hand is named), names v1.1.0.json, its schema and the upgrade, calls no
    pin of v1.1.0 a release without a record, judges no floating tag carrying v1.1.0, and
    exits 3 (a newer publisher's file, as every command refuses it). Its repair points
    v1.0.0's pin back but moves no floating tag, not even ghcr's php-8.3 moved by hand
    onto v1.0.0's 8.4 (where it belongs depends on every record, one unread), and says
    why; the file is left as it is."""
    matrix, newer = _published_twice(world)
    path = world.notes / "v1.1.0.json"
    record = json.loads(path.read_text())
    record["schema"] = 2
    path.write_text(json.dumps(record))
    written = path.read_bytes()
    point_tag(world.hosts["hub"], world.repo, "v1.0.0-php-8.3", newer["8.3"])
    point_tag(world.hosts["ghcr"], world.repo, "php-8.3", "v1.0.0-php-8.4")
    before = _tags(world)
    for args in (("audit",), ("audit", "--repair")):
        result = world.run(*args, matrix=matrix)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 3, said
        assert "v1.1.0.json has schema 2" in said, said
        assert "written by a newer publisher: upgrade publisher to audit it" in said, said
        assert "no record" not in said and "hub: latest points" not in said, said
        assert "ghcr: php-8.3 points at" in said, said
        if args == ("audit",):
            assert "hub: v1.0.0-php-8.3 points at" in said, said
            assert _tags(world) == before
        else:
            assert "repaired: hub: v1.0.0-php-8.3 ->" in said, said
            assert "ghcr: php-8.3: not moved while the record of v1.1.0 is unread" in said
        # v1.1.0 may place php-8.3: no lower release's digest is said to be its place
        assert "where it belongs cannot be judged until the record of v1.1.0 is" in said, said
        assert "ghcr: php-8.3 points at" in said and "recorded pins say" not in said, said
    after = _tags(world)
    assert after["hub"]["v1.0.0-php-8.3"] != newer["8.3"]
    floating = [t for t in before["hub"] if not t.startswith("v")]
    assert floating and all(after[n][t] == before[n][t] for n in after for t in floating)
    assert path.read_bytes() == written


def test_an_unread_record_of_an_older_release_hides_no_rollback_of_the_floating_tags(
    world: World,
) -> None:
    """v1.0.0's record of schema 2, v1.1.0's read: latest and php-8.4 pointed back at
    v1.0.0's images on both registries are where no record of v1.0.0 could place them (the
    newer v1.1.0 has 8.4), so audit reports all four as floating drift carrying v1.0.0
    (exit 3 all the same, for the unread file) and --repair points them back at v1.1.0's;
    no floating tag is left undecided, and the next audit finds only the unread file."""
    matrix, newer = _published_twice(world)
    path = world.notes / "v1.0.0.json"
    record = json.loads(path.read_text())
    record["schema"] = 2
    path.write_text(json.dumps(record))
    for name in world.hosts:
        for tag in ("latest", "php-8.4"):
            point_tag(world.hosts[name], world.repo, tag, "v1.0.0-php-8.4")
    result = world.run("audit", "--json", matrix=matrix)
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    found = {(f["registry"], f["kind"], f["tag"]): f for f in report["findings"]}
    for name in world.hosts:
        for tag in ("latest", "php-8.4"):
            finding = found.get((name, "floating", tag))
            assert finding and finding["expected"] == newer["8.4"], report["findings"]
            assert "it carries content of v1.0.0, whose record is unread" in finding["message"]
    assert report["undecided"] == {}, report
    result = world.run("audit", "--repair", matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 3, said
    assert "repaired: hub: latest ->" in said and "repaired: ghcr: php-8.4 ->" in said, said
    assert "not moved" not in said and "left unjudged" not in said, said
    after = _tags(world)
    assert all(after[n][t] == newer["8.4"] for n in after for t in ("latest", "php-8.4"))
    result = world.run("audit", "--json", matrix=matrix)
    kinds = [f["kind"] for f in json.loads(result.stdout)["findings"]]
    assert result.returncode == 3 and kinds == ["newer-record"], result.stdout


def test_a_pin_moved_by_hand_onto_another_release_is_repaired_as_verify_says(
    world: World,
) -> None:
    """tG's finding: v1.1.0's 8.4 pin on hub moved by hand onto v1.0.0's index, whose
    images say they were built as v1.0.0-php-8.4. verify named a republish of v1.1.0
    (every line rebuilt, every pin moved) and said no repair helps; its tip is now the
    repair, which points the pin back with one tag write, and verify then passes."""
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    old = world.publish("v1.0.0", matrix, ("8.4",), ("linux/amd64",), labelled=True)
    new = world.publish("v1.1.0", matrix, ("8.4",), ("linux/amd64",), labelled=True)
    world.put_tag("hub", old["8.4"], "v1.1.0-php-8.4")
    checked = world.run("verify", "v1.1.0", "--json", matrix=matrix)
    assert checked.returncode == 12, checked.stdout + checked.stderr
    kinds = {d["kind"] for d in json.loads(checked.stdout)["defects"]}
    assert {"pin-moved", "other-release"} <= kinds, kinds
    checked = world.run("verify", "v1.1.0", matrix=matrix)
    tip = " ".join(checked.stderr.split("tip:", 1)[1].split())
    assert "hub v1.1.0-php-8.4 points at other content than the release's record" in tip, tip
    assert "`publisher audit --repair` points it back" in tip, tip
    assert "neither a rerun nor a repair" not in tip, tip
    repaired = world.run("audit", "--repair", matrix=matrix)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    again = world.run("verify", "v1.1.0", "--json", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["lines"][0]["digests"]["hub"] == new["8.4"]


def test_a_corrupt_record_moved_aside_is_written_again_by_a_rerun(world: World) -> None:
    """The way out a corrupt record's tip gives when it was never committed: moved out of
    the notes directory, the release's rerun writes it again from the images its pins
    hold (the same indexes, nothing replaced), with a new published_at."""
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    indexes = world.publish("v1.0.0", matrix, ("8.4",), ("linux/amd64",))
    path = world.notes / "v1.0.0.json"
    published = json.loads(path.read_text())["published_at"]
    path.write_text('{"schema": 1, "release": ')
    refused = world.run("verify", "v1.0.0", matrix=matrix)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 3, said
    assert "move it out of the notes directory and rerun the release" in said, said
    path.rename(world.root / "v1.0.0.json.corrupt")
    time.sleep(1.1)  # published_at counts seconds
    rerun = world.rerun("v1.0.0", matrix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    record = json.loads(path.read_text())
    assert {line["php"]: line["index_digest"] for line in record["lines"]} == indexes
    assert record["published_at"] != published
    checked = world.run("verify", "v1.0.0", matrix=matrix)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert world.run("audit", matrix=matrix).returncode == 0
