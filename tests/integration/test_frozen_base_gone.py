"""A frozen line whose base tag was removed from its registry, in a new release.

Real loopback registries, STAND-IN bases and buildah builds: v1.0.0 publishes PHP 8.1
(past its end, marked ``frozen: true``) and 8.4; then the tag of 8.1's base is removed
from the bases' registry, its manifest still there by digest (as a registry that drops
an old tag keeps what it pointed at). A new release then stops before any build (exit
5), and so do its preflight and a build leg of the line, each with one tip: the
``base_digest`` to pin in matrix.yaml, read from the label of the line's published
image. Pinned so (and rendered), the release builds the line on that base and
publishes it; the committed Dockerfile names the pinned base as its default.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.adapters.localregistry import LocalRegistry
from publisher.core.reference import Reference
from publisher.stages import standins
from tests.conftest import require_tool
from tests.support.builds import quiet_runner
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import raw_delete_manifest, raw_remove_tag
from tests.support.pipeline import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINES = ("8.1", "8.4")
ONE_PLATFORM = {"PUBLISHER_PLATFORMS": "linux/amd64"}
LABEL = "org.opencontainers.image.base.name"
#: republish-check's advice for a line whose base is gone (``ELSEWHERE``)
ELSEWHERE = "point the line's base in matrix.yaml at a tag that exists and publish a new release"


@dataclass
class World:
    stack: Stack
    bases: LocalRegistry
    hub: LocalRegistry
    ghcr: LocalRegistry
    pushed: dict[str, Reference]  # PHP line -> its stand-in base, with its digest


def _matrix(stack: Stack, **line_81: Any) -> None:
    """Give PHP 8.1's line in the stack's matrix.yaml ``line_81``'s keys, then render."""
    data = yaml.safe_load(stack.matrix.read_text(encoding="utf-8"))
    data["lines"][0].update(line_81)
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    stack.ok("render")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_tool("buildah")
    require_tool("docker-registry", "registry")
    root = tmp_path_factory.mktemp("frozen-base-gone")
    with LocalRegistry() as bases, LocalRegistry() as hub, LocalRegistry() as ghcr:
        pushed = standins.push_standins(bases.host, runner=quiet_runner(), lines=LINES)
        stack = Stack(
            root / "s", hub.host, ghcr.host, bases.host, "acme/php-fpm", LINES, ONE_PLATFORM
        )
        _matrix(stack, frozen=True)
        stack.release("v1.0.0", "--no-smoke")
        raw_remove_tag(bases, "stand-in/php", "8.1-fpm-alpine")
        yield World(stack, bases, hub, ghcr, pushed)


def test_a_new_release_preflight_and_leg_say_which_base_digest_to_pin(world: World) -> None:
    """The tag is gone: each stops (exit 5) naming the line and its base, builds nothing,
    and tips the digest of the base v1.0.0's PHP 8.1 image was built on, read from the
    label of the primary's php-8.1 image, the same digest v1.0.0's notes record."""
    stack = world.stack
    last = world.pushed["8.1"].digest
    lines: Any = stack.notes("v1.0.0")["lines"]
    assert {line["php"]: line["base"]["digest"] for line in lines}["8.1"] == last
    digest_file = stack.root / "leg.json"
    leg = ("--php", "8.1", "--platform", "linux/amd64", "--digest-file", str(digest_file))
    runs = {
        "release": ("release", "v1.1.0", "--no-smoke", "--notes-dir", str(stack.notes_dir)),
        "preflight": ("preflight",),
        "build": ("build", "v1.1.0", *leg),
    }
    for name, argv in runs.items():
        result = stack.run(*argv)
        said = result.stdout + result.stderr
        assert result.returncode == 5, f"{name}: {said}"
        assert "PHP 8.1 base " in said and "tag '8.1-fpm-alpine' not found" in said, said
        tip = said.split("tip: ", 1)[1]
        assert f"pin that base by digest: add `base_digest: {last}`" in tip, f"{name}: {tip}"
        assert f"{LABEL} of {world.hub.host}/acme/php-fpm:php-8.1" in tip, tip
        # ./matrix.yaml (given by its whole path) is left out, as of every command a tip names
        assert "`publisher render` and commit" in tip, tip
        assert "`--only 8.4`, or PUBLISHER_LINES=8.4" in tip, tip
        assert "buildah build" not in said and "Traceback" not in said, said
    assert not digest_file.exists()
    assert not (stack.notes_dir / "v1.1.0.json").exists()


def test_a_republish_s_leg_is_not_tipped_to_pin_the_base_in_matrix_yaml(world: World) -> None:
    """A leg of v1.0.0's republish (``--rebuild`` of a published release) meets the tag
    gone too (exit 5), but a republish builds the release's commit: pinning
    ``base_digest`` in matrix.yaml and committing would not change what it builds, so
    its tip is the registry's own, not that of a new release."""
    stack = world.stack
    digest_file = stack.root / "republish-leg.json"
    leg = ("--php", "8.1", "--platform", "linux/amd64", "--digest-file", str(digest_file))
    result = stack.run("build", "v1.0.0", *leg, "--rebuild")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    assert "PHP 8.1 base " in said and "tag '8.1-fpm-alpine' not found" in said, said
    tip = said.split("tip: ", 1)[1]
    assert "base_digest" not in tip and "publisher render" not in tip, tip
    assert "buildah build" not in said and "Traceback" not in said, said
    assert not digest_file.exists()


def test_a_line_never_published_is_tipped_where_to_find_its_base_digest(
    world: World, tmp_path: Path
) -> None:
    """A repository where the line has no image: the label cannot be read, so the tip
    says to pin the digest that label of its published images names, and how to see it."""
    stack = Stack(
        tmp_path / "s",
        world.hub.host,
        world.ghcr.host,
        world.bases.host,
        "acme/never-published",
        LINES,
        ONE_PLATFORM,
    )
    result = stack.run("release", "v1.0.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    tip = said.split("tip: ", 1)[1]
    shown = f"{world.hub.host}/acme/never-published:php-8.1"
    # the stack pulls its bases through a mirror (base.mirror): checking it comes first,
    # as preflight says it; then the registry's own tip (a tag mistyped is not
    # removed), then how to go on
    mirror = f"every base is pulled through the mirror {world.bases.host} (base.mirror in"
    assert tip.startswith(mirror), tip
    assert "; list the tags that exist with `skopeo list-tags --tls-verify=false docker://" in tip
    assert "; if the tag was removed (a line past its end, say), to keep building" in tip
    assert f"add `base_digest: sha256:...`, the digest the label {LABEL}" in tip, tip
    assert f"(`publisher inspect {shown}` shows it), to the line in" in tip, tip
    assert "buildah build" not in said, said


def test_a_line_newer_than_the_table_without_a_base_yet_is_told_to_wait_for_one(
    world: World, tmp_path: Path
) -> None:
    """PHP 8.7, newer than every line publisher's table knows and never published, has no
    base yet: preflight stops (exit 5, before any build) as for any missing base, but its
    tip was the one for a tag removed past a line's end (pin the digest of its published
    images, which do not exist). It says there is no image for it yet: leave it out until
    there is one."""
    stack = Stack(
        tmp_path / "s",
        world.hub.host,
        world.ghcr.host,
        world.bases.host,
        "acme/php-fpm",
        ("8.4", "8.7"),
        ONE_PLATFORM,
    )
    result = stack.run("preflight")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    assert "PHP 8.7 base " in said and "tag '8.7-fpm-alpine' not found" in said, said
    tip = " ".join(said.split("tip: ", 1)[1].split())
    assert "past its end" not in tip and "base_digest" not in tip, tip
    assert "publisher inspect" not in tip, tip
    assert (
        "PHP 8.7 is newer than every line publisher's table knows (publisher/core/lifecycle.py) "
        "and has no published image: there is no image for it at docker.io/stand-in/php:"
        "8.7-fpm-alpine yet, most likely; leave the line out until there is one: release the "
        "other lines (`--only 8.4`"
    ) in tip, tip


def test_a_line_whose_base_matrix_yaml_changed_is_not_tipped_the_old_base_s_digest(
    world: World, tmp_path: Path
) -> None:
    """matrix.yaml moved PHP 8.1 to another base, whose tag does not exist: the label of
    the primary's php-8.1 image names the base v1.0.0 was built on, not this one, so its
    digest is not one to pin on it (a build would pull the old image under the new
    name). The tip says whose digest it is, and the ways on that hold."""
    stack = Stack(
        tmp_path / "s",
        world.hub.host,
        world.ghcr.host,
        world.bases.host,
        "acme/php-fpm",
        LINES,
        ONE_PLATFORM,
    )
    _matrix(stack, frozen=True, base_image="stand-in/php:8.1-fpm-bookworm")
    result = stack.run("preflight")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    assert "tag '8.1-fpm-bookworm' not found" in said, said
    tip = said.split("tip: ", 1)[1]
    assert "base_digest" not in tip and "publisher inspect" not in tip, tip
    old = f"{world.bases.host}/stand-in/php:8.1-fpm-alpine@{world.pushed['8.1'].digest}"
    assert (
        "; PHP 8.1's published images were built on another base than "
        f"docker.io/stand-in/php:8.1-fpm-bookworm, {old} (the label {LABEL} of "
        f"{world.hub.host}/acme/php-fpm:php-8.1 names it): {stack.matrix} changed the line's "
        "base since, so that digest is not one to pin on it; point the line's base at a tag "
        "that exists, or leave the line out: release the other lines (`--only 8.4`"
    ) in " ".join(tip.split()), tip


def _preflight_base_gone(world: World, tmp_path: Path, front: FaultProxy) -> tuple[str, str]:
    """preflight of a stack whose primary is ``front`` (five tries of a request): it
    stops (exit 5) at PHP 8.1's base tag gone, its tip to pin the digest the label names
    whatever the side lookup read. Returns what it said and its tip."""
    stack = Stack(
        tmp_path / "s",
        front.host,
        world.ghcr.host,
        world.bases.host,
        "acme/php-fpm",
        LINES,
        {**ONE_PLATFORM, "PUBLISHER_RETRY_ATTEMPTS": "5"},
    )
    result = stack.run("preflight")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    assert "PHP 8.1 base " in said and "tag '8.1-fpm-alpine' not found" in said, said
    tip = said.split("tip: ", 1)[1]
    assert f"add `base_digest: sha256:...`, the digest the label {LABEL}" in tip, tip
    return said, tip


def test_a_primary_failing_the_side_lookup_is_asked_once(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The primary (behind a fault proxy) answers the GET of its php-8.1 manifest with
    503: the base's digest cannot be read from the label, so the tip says where to find
    it. The lookup is one request, not one per retry: the error it adds a tip to (the
    base tag is gone) is decided already."""
    front = proxy_for(world.hub)
    front.add(Fault("status", method="GET", path=r"/manifests/php-8\.1$", times=None))
    said, tip = _preflight_base_gone(world, tmp_path, front)
    assert f"(`publisher inspect {front.host}/acme/php-fpm:php-8.1` shows it)" in tip, tip
    asked = [(s.method, s.status) for s in front.log if s.path.endswith("/manifests/php-8.1")]
    assert asked == [("GET", 503)], asked
    assert "Traceback" not in said, said


def test_a_primary_without_the_line_s_tag_is_asked_once_whether_the_repository_is(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The primary (behind a fault proxy) answers the GET of its php-8.1 manifest with
    404 and fails the tag list that would say whether the repository is there (500): the
    lookup after the 404 is part of the side lookup, one request too, not one per retry."""
    front = proxy_for(world.hub)
    front.add(
        Fault("status", method="GET", path=r"/manifests/php-8\.1$", status=404, times=None),
        Fault("status", method="GET", path=r"/tags/list\?n=1$", status=500, times=None),
    )
    said, _ = _preflight_base_gone(world, tmp_path, front)
    asked = [(s.method, s.status) for s in front.log if s.path.endswith("/manifests/php-8.1")]
    assert asked == [("GET", 404)], asked
    looked = [s.status for s in front.log if s.path.endswith("/tags/list?n=1")]
    assert looked == [500], looked
    assert "Traceback" not in said, said


def test_a_base_registry_failing_the_digest_s_question_keeps_the_pin_tip_unchecked(
    world: World, tmp_path: Path, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The bases' registry (behind a fault proxy) answers the HEAD of the base by digest
    with 503: whether it still serves that digest cannot be asked, so the tip pins it as
    before and says the digest was not checked. The question is one HEAD, tried once."""
    front = proxy_for(world.bases)
    front.add(Fault("status", method="HEAD", path=r"/manifests/sha256:", times=None))
    stack = Stack(
        tmp_path / "s",
        world.hub.host,
        world.ghcr.host,
        front.host,
        "acme/php-fpm",
        LINES,
        {**ONE_PLATFORM, "PUBLISHER_RETRY_ATTEMPTS": "5"},
    )
    _matrix(stack, frozen=True)
    result = stack.run("preflight")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    tip = " ".join(said.split("tip: ", 1)[1].split())
    last = world.pushed["8.1"].digest
    assert f"pin that base by digest: add `base_digest: {last}`" in tip, tip
    assert "(whether its registry still serves that digest was not checked: " in tip, tip
    asked = [(s.method, s.status) for s in front.log if s.path.endswith(f"/manifests/{last}")]
    assert asked == [("HEAD", 503)], asked
    assert "Traceback" not in said, said


def test_a_base_gone_by_digest_too_is_not_tipped_to_be_pinned(tmp_path: Path) -> None:
    """v1.0.0's PHP 8.1 base is deleted from its registry, tag and digest: pinning the
    digest its images were built on would fail again. The new release, its preflight
    and a build leg each ask the registry (one HEAD by digest, as republish-check does)
    and say the base is gone too, with republish-check's advice, pinning nothing."""
    require_tool("buildah")
    require_tool("docker-registry", "registry")
    with LocalRegistry() as bases, LocalRegistry() as hub, LocalRegistry() as ghcr:
        pushed = standins.push_standins(bases.host, runner=quiet_runner(), lines=LINES)
        stack = Stack(
            tmp_path / "s", hub.host, ghcr.host, bases.host, "acme/php-fpm", LINES, ONE_PLATFORM
        )
        _matrix(stack, frozen=True)
        stack.release("v1.0.0", "--no-smoke")
        last = pushed["8.1"].digest
        raw_delete_manifest(f"http://{bases.host}", "stand-in/php", last)
        digest_file = stack.root / "leg.json"
        leg = ("--php", "8.1", "--platform", "linux/amd64", "--digest-file", str(digest_file))
        runs = {
            "release": ("release", "v1.1.0", "--no-smoke", "--notes-dir", str(stack.notes_dir)),
            "preflight": ("preflight",),
            "build": ("build", "v1.1.0", *leg),
        }
        for name, argv in runs.items():
            result = stack.run(*argv)
            said = result.stdout + result.stderr
            assert result.returncode == 5, f"{name}: {said}"
            assert "tag '8.1-fpm-alpine' not found" in said, said
            tip = " ".join(said.split("tip: ", 1)[1].split())
            assert "base_digest" not in tip and "publisher render" not in tip, f"{name}: {tip}"
            assert (
                "nor does its registry serve the base PHP 8.1 was built on any more, "
                f"{bases.host}/stand-in/php@{last} (the label {LABEL} of {hub.host}/acme/"
                "php-fpm:php-8.1 names it), so the line cannot be rebuilt from that base: "
                f"{ELSEWHERE}, or leave the line out: release the other lines (`--only 8.4`"
            ) in tip, f"{name}: {tip}"
            assert "buildah build" not in said and "Traceback" not in said, said
        assert not digest_file.exists()
        assert not (stack.notes_dir / "v1.1.0.json").exists()


def test_the_line_pinned_to_its_last_base_by_digest_builds_and_is_released(
    world: World,
) -> None:
    """With ``base_digest`` set to the digest the tip gave, rendered: the committed
    Dockerfile names the pinned base as its default, and v1.1.0 builds PHP 8.1 on that
    base, though its tag is gone, and publishes it with the label naming it."""
    stack = world.stack
    last = world.pushed["8.1"].digest
    _matrix(stack, frozen=True, base_digest=last)
    dockerfile = (stack.root / "dockerfiles" / "8.1" / "Dockerfile").read_text(encoding="utf-8")
    assert f"ARG PHP_BASE_IMAGE=docker.io/stand-in/php:8.1-fpm-alpine@{last}\n" in dockerfile
    stack.ok("preflight")
    stack.release("v1.1.0", "--no-smoke")
    built = stack.index_digests("v1.1.0")
    assert built["8.1"] != stack.index_digests("v1.0.0")["8.1"]  # built anew, as v1.1.0
    lines: Any = stack.notes("v1.1.0")["lines"]
    assert {line["php"]: line["base"]["digest"] for line in lines} == {
        "8.1": last,
        "8.4": world.pushed["8.4"].digest,
    }
    pin = f"{world.hub.host}/acme/php-fpm:v1.1.0-php-8.1"
    inspected = subprocess.run(
        [sys.executable, "-m", "publisher", "inspect", pin],
        capture_output=True,
        text=True,
        env=stack.process_env({"COLUMNS": "400"}),
        timeout=120,
        check=False,
    )
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert f"{world.bases.host}/stand-in/php:8.1-fpm-alpine@{last}" in inspected.stdout


def test_the_default_line_s_base_gone_is_not_tipped_to_be_left_out_by_only(world: World) -> None:
    """Run after the line above is pinned: the default line's base tag gone too, the tip
    gives its digest (from v1.1.0's php-8.4 image) and, as a new release without its
    default line is refused, says to set another default line before dropping it."""
    stack = world.stack
    raw_remove_tag(world.bases, "stand-in/php", "8.4-fpm-alpine")
    result = stack.run("preflight")
    said = result.stdout + result.stderr
    assert result.returncode == 5, said
    tip = said.split("tip: ", 1)[1]
    assert f"add `base_digest: {world.pushed['8.4'].digest}`" in tip, tip
    assert "set another line as default_line and drop PHP 8.4 from" in tip, tip
    assert "--only" not in tip, tip
