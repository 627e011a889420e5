"""The release pipeline end to end, against real loopback registries.

Every test runs ``python -m publisher`` as a separate process on a stand-in
matrix (two PHP lines x two platforms, STAND-IN busybox bases), builds for real
with buildah (arm64 under QEMU), and reads the result back with skopeo.
Faults come from the fault-injecting proxy in front of a registry. Covers the
issue's end-to-end sequence and RELIABILITY.md scenarios 11-18.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml

from publisher.adapters.localregistry import LocalRegistry
from publisher.core.records import DigestRecord
from publisher.resolve import STAND_IN_WARNING as STAND_IN
from publisher.stages import standins
from tests.conftest import require_tool
from tests.support.builds import quiet_runner
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.github_files import parse_outputs
from tests.support.pipeline import (
    DEFAULT_LINE,
    LINES,
    Stack,
    kill_group,
    pins_of,
    skopeo_children_present,
    skopeo_digest,
    skopeo_tag_map,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TAG_PUT = r"^/v2/.+/manifests/(?!sha256:)[^/]+$"


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    return {
        "skopeo": require_tool("skopeo"),
        "buildah": require_tool("buildah"),
        "registry": require_tool("docker-registry", "registry"),
    }


@pytest.fixture(scope="module")
def bases(tools: dict[str, str]) -> Iterator[LocalRegistry]:
    """The STAND-IN base images for the test lines, on their own registry."""
    with LocalRegistry() as reg:
        standins.push_standins(reg.host, runner=quiet_runner(), lines=LINES)
        yield reg


def make_stack(
    tmp_path: Path, primary: str, secondary: str, bases: LocalRegistry, name: str = "s"
) -> Stack:
    return Stack(tmp_path / name, primary, secondary, bases.host, repo="acme/php-fpm")


def patch_base(
    tmp_path: Path, bases: LocalRegistry, label: str, lines: tuple[str, ...] = ("8.4",)
) -> None:
    """A security patch lands in a STAND-IN base: same tag, new content."""
    patched = tmp_path / f"standin-{label}"
    shutil.copytree(standins.SOURCE_DIR, patched)
    with open(patched / "Containerfile", "a", encoding="utf-8") as handle:
        handle.write(f'\nLABEL dev.publisher.stand-in.patch="{label}"\n')
    standins.push_standins(
        bases.host,
        runner=quiet_runner(),
        lines=lines,
        source_dir=patched,
    )


def tag_maps(stack: Stack, skopeo: str, *hosts: str) -> list[dict[str, str]]:
    return [
        skopeo_tag_map(skopeo, host, stack.repo)
        for host in hosts or (stack.primary, stack.secondary)
    ]


def copy_image(skopeo: str, source: str, target: str) -> None:
    """Copy an image by hand (``docker://`` references), as an operator or another run would."""
    subprocess.run(
        [
            skopeo,
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            source,
            target,
        ],
        check=True,
        capture_output=True,
    )


# --------------------------------------------------------------------------- end to end


def expected_tags(stack: Stack, done: list[str], lines: tuple[str, ...] = LINES) -> dict[str, str]:
    """Where every tag must point after the releases in ``done``, from their notes."""
    from publisher.core.version import parse_release

    expected: dict[str, str] = {}
    for tag in done:
        digests = stack.index_digests(tag)
        for php in lines:
            expected[f"{tag}-php-{php}"] = digests[php]
        expected[tag] = digests["8.4"]
    stable = [t for t in done if parse_release(t).is_stable]
    if stable:
        newest = max(stable, key=parse_release)
        digests = stack.index_digests(newest)
        for php in lines:
            expected[f"php-{php}"] = digests[php]
        expected["latest"] = digests["8.4"]
    return expected


def test_release_sequence_and_republish_end_to_end(tmp_path, tools, bases, fresh_registry):
    """v1.0.0, v1.1.0, v1.0.1, v2.0.0-rc.1, v2.0.0, then republish v1.1.0; skopeo checks every tag."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    skopeo = tools["skopeo"]
    done: list[str] = []
    for release in ("v1.0.0", "v1.1.0", "v1.0.1", "v2.0.0-rc.1", "v2.0.0"):
        stack.release(release)
        done.append(release)
        on_hub, on_ghcr = tag_maps(stack, skopeo)
        assert on_hub == on_ghcr, release
        assert on_hub == expected_tags(stack, done), release
        for digest in set(on_hub.values()):
            assert skopeo_children_present(skopeo, hub.host, stack.repo, digest)
            assert skopeo_children_present(skopeo, ghcr.host, stack.repo, digest)
    before = stack.index_digests("v1.1.0")
    floating_before = {t: d for t, d in on_hub.items() if t.startswith("php-") or t == "latest"}

    published = stack.notes("v1.1.0")["published_at"]
    base_before = {line["php"]: line["base"]["digest"] for line in stack.notes("v1.1.0")["lines"]}
    patch_base(tmp_path, bases, "security-patch-2")
    stack.ok(
        "republish",
        "v1.1.0",
        "--reason",
        "CVE-2026-0001 in the base",
        "--notes-dir",
        str(stack.notes_dir),
    )

    after = stack.index_digests("v1.1.0")
    assert after["8.3"] == before["8.3"]  # unchanged base, reproducible build: same digest
    assert after["8.4"] != before["8.4"]
    on_hub, on_ghcr = tag_maps(stack, skopeo)
    assert on_hub == on_ghcr
    assert on_hub["v1.1.0-php-8.4"] == after["8.4"] and on_hub["v1.1.0"] == after["8.4"]
    # v2.0.0 is newer: the republish moves no floating tag.
    assert {
        t: d for t, d in on_hub.items() if t.startswith("php-") or t == "latest"
    } == floating_before
    notes = stack.notes("v1.1.0")
    base_after = {line["php"]: line["base"]["digest"] for line in notes["lines"]}
    assert base_after["8.4"] != base_before["8.4"]
    # what gave 8.4 new images: its base, old -> new
    cause = f"base {base_before['8.4']} -> {base_after['8.4']}"
    assert notes["history"] == [
        {
            "date": notes["history"][0]["date"],
            "reason": "CVE-2026-0001 in the base",
            "changes": [{"php": "8.4", "old": before["8.4"], "new": after["8.4"], "cause": cause}],
        }
    ]
    assert notes["published_at"] == published  # the day of the release; history says the rest
    text = (stack.notes_dir / "v1.1.0.md").read_text()
    assert "## Republish history" in text and "CVE-2026-0001" in text
    pins = (stack.notes_dir / "v1.1.0.env").read_text()  # the launcher's pins follow
    assert f"PHP_IMAGE_8_4='{hub.host}/{stack.repo}:v1.1.0-php-8.4@{after['8.4']}'" in pins
    assert f"PHP_IMAGE_MIRROR_8_3='{ghcr.host}/{stack.repo}:v1.1.0-php-8.3@{after['8.3']}'" in pins


def test_republish_of_the_newest_release_moves_floating_tags(
    tmp_path, tools, bases, fresh_registry
):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--only", "8.4")
    before = stack.index_digests("v1.0.0")["8.4"]
    patch_base(tmp_path, bases, "newest")
    stack.ok(
        "republish",
        "v1.0.0",
        "--reason",
        "openssl",
        "--only",
        "8.4",
        "--notes-dir",
        str(stack.notes_dir),
    )
    after = stack.index_digests("v1.0.0")["8.4"]
    assert after != before
    for tags in tag_maps(stack, tools["skopeo"]):
        assert tags["latest"] == tags["php-8.4"] == tags["v1.0.0"] == after


def test_a_republish_rerun_before_its_notes_are_merged_says_an_earlier_run_moved_the_tags(
    tmp_path, tools, bases, fresh_registry
):
    """The weekly republish run again ("Re-run all jobs") before its notes pull request is
    merged: its notes start from the default branch's, without the entry, and the rebuild
    of the same commit on the same base gives the images the first run published, so no
    tag moves. The notes keep the entry (the merge needs it); the digest table's heading
    says the republish was an earlier run's, not this one's."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--only", "8.4", "--no-smoke")
    default_branch = tmp_path / "default-branch"
    shutil.copytree(stack.notes_dir, default_branch)
    patch_base(tmp_path, bases, "rerun-before-merge")
    republish = ("republish", "v1.0.0", "--reason", "weekly check", "--only", "8.4", "--no-smoke")
    wide = {"COLUMNS": "400"}
    heading = "Republished v1.0.0, PHP 8.4 (weekly check)"
    first_notes = tmp_path / "first-run"
    shutil.copytree(default_branch, first_notes)
    first = stack.ok(*republish, "--notes-dir", str(first_notes), env=wide)
    assert f"{heading}: {STAND_IN}" in first.stdout, first.stdout
    tags = tag_maps(stack, tools["skopeo"])

    rerun_notes = tmp_path / "rerun"
    shutil.copytree(default_branch, rerun_notes)
    rerun = stack.ok(*republish, "--notes-dir", str(rerun_notes), env=wide)
    assert "every tag already points where it should; nothing moved" in rerun.stdout
    assert tag_maps(stack, tools["skopeo"]) == tags
    assert (
        f"{heading} by an earlier run (this run moved no tag; its notes record it): " + STAND_IN
    ) in rerun.stdout, rerun.stdout
    assert f"{heading}: STAND-IN" not in rerun.stdout
    recorded = json.loads((first_notes / "v1.0.0.json").read_text())["history"]
    assert json.loads((rerun_notes / "v1.0.0.json").read_text())["history"] == recorded


# --------------------------------------------------------------------------- scenario 11


def skopeo_json(skopeo: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", *args], capture_output=True, check=True
    ).stdout
    return json.loads(out)


def test_each_index_repeats_the_labels_its_images_share_as_annotations(
    tmp_path, tools, bases, fresh_registry
):
    """GHCR shows a multi-platform image's description from its index: the index carries
    the OCI labels both platform images share (read back by skopeo, on both registries)."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0")
    skopeo = tools["skopeo"]
    for php, digest in stack.index_digests("v1.0.0").items():
        for host in (hub.host, ghcr.host):
            index = skopeo_json(skopeo, "--raw", f"docker://{host}/{stack.repo}@{digest}")
            annotations = index["annotations"]
            labels = [
                skopeo_json(skopeo, "--config", f"docker://{host}/{stack.repo}@{child['digest']}")[
                    "config"
                ]["Labels"]
                for child in index["manifests"]
            ]
            assert len(labels) == 2
            assert annotations["org.opencontainers.image.version"] == f"v1.0.0-php-{php}"
            for key in (
                "org.opencontainers.image.title",
                "org.opencontainers.image.description",
                "org.opencontainers.image.version",
            ):
                assert annotations[key] == labels[0][key] == labels[1][key], key
            # only the OCI labels the images share: no base, no publisher-specific label
            assert all(key.startswith("org.opencontainers.image.") for key in annotations)
            assert not any(key.startswith("org.opencontainers.image.base.") for key in annotations)


def test_a_release_whose_indexes_carry_no_annotations_reruns_without_conflict(
    tmp_path, tools, bases, fresh_registry
):
    """A release published before indexes repeated their images' labels: its rerun keeps
    the indexes it has (the same platform images), refuses nothing and moves no tag."""
    import requests

    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0")
    skopeo = tools["skopeo"]
    renamed: dict[str, str] = {}
    for host in (hub.host, ghcr.host):
        tags = skopeo_tag_map(skopeo, host, stack.repo)
        for digest in stack.index_digests("v1.0.0").values():
            url = f"http://{host}/v2/{stack.repo}/manifests"
            got = requests.get(
                f"{url}/{digest}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}
            )
            index = got.json()
            assert index.pop("annotations")  # what this publisher writes
            body = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            for reference in ["", *sorted(t for t, d in tags.items() if d == digest)]:
                put = requests.put(
                    f"{url}/{reference or 'sha256:' + hashlib.sha256(body).hexdigest()}",
                    body,
                    headers=headers,
                )
                assert put.status_code == 201, put.text
            renamed[digest] = "sha256:" + hashlib.sha256(body).hexdigest()
    for path in stack.notes_dir.iterdir():  # the record an earlier publisher wrote
        text = path.read_text(encoding="utf-8")
        for old, new in renamed.items():
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    before = tag_maps(stack, skopeo)
    assert set(before[0].values()) == set(renamed.values())

    result = stack.release("v1.0.0")
    assert "conflict" not in (result.stdout + result.stderr).lower()
    assert tag_maps(stack, skopeo) == before
    assert set(stack.index_digests("v1.0.0").values()) == set(renamed.values())
    stack.ok("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))


def test_push_order_children_then_index_then_tags(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """On the primary (pushed) and on the other registry (copied alike): every child
    manifest before any index, every index before any tag. Then the tags in the order a
    maintainer relies on when a release stops half-way: the primary's pins, then its
    `vX.Y.Z`; then the other registry's pins, then its `vX.Y.Z`; only then any floating
    tag, on any registry. So a registry holding `vX.Y.Z` holds every pin of the release,
    the primary holds every pin written anywhere (a rerun takes its images), and no
    floating tag follows a release some registry lacks."""
    hub, ghcr = fresh_registry(), fresh_registry()
    fronts = [proxy_for(hub.host), proxy_for(ghcr.host)]
    stack = make_stack(tmp_path, fronts[0].host, fronts[1].host, bases)
    stack.release("v1.0.0")
    indexes = set(stack.index_digests("v1.0.0").values())
    for front in fronts:
        manifest_puts = [s for s in front.log if s.method == "PUT" and s.kind == "manifest"]
        by_digest = [
            s.path.rsplit("/", 1)[1] for s in manifest_puts if "/manifests/sha256:" in s.path
        ]
        first_tag = next(
            i for i, s in enumerate(manifest_puts) if "/manifests/sha256:" not in s.path
        )
        index_positions = [
            i for i, s in enumerate(manifest_puts) if s.path.rsplit("/", 1)[1] in indexes
        ]
        child_positions = [
            i
            for i, s in enumerate(manifest_puts)
            if "/manifests/sha256:" in s.path and s.path.rsplit("/", 1)[1] not in indexes
        ]
        assert len(index_positions) == len(LINES) and len(child_positions) == 2 * len(LINES)
        assert max(child_positions) < min(index_positions) < first_tag, front.upstream
        assert all("/manifests/sha256:" not in s.path for s in manifest_puts[first_tag:])
        assert len(by_digest) == 3 * len(LINES)
    writes = sorted(
        (s.at, registry, s.path.rsplit("/manifests/", 1)[1])
        for registry, front in enumerate(fronts)
        for s in front.log
        if s.method == "PUT"
        and s.kind == "manifest"
        and s.status == 201
        and "/manifests/sha256:" not in s.path
    )

    def phase(registry: int, tag: str) -> int:
        if tag.startswith("v1.0.0-php-"):
            return 2 * registry  # a pin
        if tag == "v1.0.0":
            return 2 * registry + 1
        return 4  # a floating tag: php-X.Y, latest

    order = [phase(registry, tag) for _, registry, tag in writes]
    assert order == sorted(order), [(registry, tag) for _, registry, tag in writes]
    pins = {f"v1.0.0-php-{php}" for php in LINES}
    for registry in (0, 1):
        written = [tag for _, r, tag in writes if r == registry]
        assert set(written[: len(pins)]) == pins and written[len(pins)] == "v1.0.0"
        assert {"latest", *(f"php-{php}" for php in LINES)} <= set(written[len(pins) + 1 :])


def test_an_index_with_a_missing_child_is_never_tagged(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.ok(
        "release", "v1.0.0", "--only", "8.4", "--no-smoke", "--notes-dir", str(stack.notes_dir)
    )
    # A build leg "pushed" an image that is gone from the primary by publish time.
    records = stack.digests_dir("v1.0.0")
    record = json.loads((records / "8.4-linux-arm64.json").read_text())
    missing = "sha256:" + "0" * 64
    record["digest"] = missing
    record["release"] = "v1.1.0"
    arm = records.parent.parent / "v1.1.0" / "digests"
    arm.mkdir(parents=True)
    (arm / "8.4-linux-arm64.json").write_text(json.dumps(record))
    amd = json.loads((records / "8.4-linux-amd64.json").read_text())
    amd["release"] = "v1.1.0"
    (arm / "8.4-linux-amd64.json").write_text(json.dumps(amd))
    before = tag_maps(stack, tools["skopeo"])
    result = stack.run(
        "publish",
        "v1.1.0",
        "--digests",
        str(arm),
        "--only",
        "8.4",
        "--notes-dir",
        str(stack.notes_dir),
    )
    assert result.returncode == 5, result.stderr
    assert "not found" in result.stderr and missing[:19] in result.stderr
    assert tag_maps(stack, tools["skopeo"]) == before
    assert not (stack.notes_dir / "v1.1.0.json").exists()


def test_a_registry_lying_about_the_stored_index_stops_the_release_before_any_tag(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """RELIABILITY 8 through the pipeline: the primary answers publisher's index PUTs
    with another Docker-Content-Digest. The release fails as an invalid answer, and no
    tag or release note appears anywhere."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    front.add(
        Fault(
            "digest", method="PUT", path="/manifests/sha256:", user_agent="^publisher", times=None
        )
    )
    result = stack.run("release", "v1.0.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    assert result.returncode == 8, result.stdout + result.stderr
    assert "says it stored sha256:0000" in result.stderr
    assert [s for s in front.log if s.fault == "digest"]
    assert tag_maps(stack, tools["skopeo"], hub.host, ghcr.host) == [{}, {}]
    assert not (stack.notes_dir / "v1.0.0.json").exists()


# --------------------------------------------------------------------------- scenario 12 and 3


def test_second_registry_failing_moves_no_floating_tag_and_a_rerun_finishes(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub.host, front.host, bases)
    stack.release("v1.0.0")
    start = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)

    # ghcr breaks for good: every write answers 503.
    front.add(Fault("status", method="PUT", status=503, times=None))
    front.add(Fault("status", method="POST", status=503, times=None))
    began = time.monotonic()
    result = stack.run("release", "v1.1.0", "--notes-dir", str(stack.notes_dir))
    elapsed = time.monotonic() - began
    assert result.returncode in (7, 9), result.stderr
    assert "503" in result.stderr or "unavailable" in result.stderr.lower()
    assert elapsed < 300
    # A refused write (blob uploads, copied in parallel) was tried the configured number
    # of times: 3, Stack's PUBLISHER_RETRY_ATTEMPTS.
    assert "after 3 attempts" in result.stderr, result.stderr
    # ... and says what is left: its images are built and kept, which the rerun reuses
    said = " ".join(result.stderr.split())
    images = f"the {2 * len(LINES)} images of this run are built and pushed to hub"
    assert images in said, result.stderr
    assert "a rerun of the same command reuses them, without building them again" in said
    # One of them spent those 3; each other upload in flight (at most --transfers, 6, at
    # once) sent its first request only, waited for that one, then failed with its error.
    refused = [s for s in front.log if s.fault]
    assert 3 <= len(refused) <= 3 + 5, [(s.method, s.path) for s in refused]
    now_hub, now_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    floating = ("php-8.3", "php-8.4", "latest")
    for tag in floating:
        assert now_hub[tag] == start[0][tag] and now_ghcr[tag] == start[1][tag]
    assert not pins_of(now_hub, "v1.1.0") and not pins_of(now_ghcr, "v1.1.0")
    assert not (stack.notes_dir / "v1.1.0.json").exists()

    # The registry recovers; the same command finishes the job without rebuilding.
    front.clear()
    rerun = stack.release("v1.1.0")
    assert no_build_ran(rerun), rerun.stderr  # the builds' echoes are progress, on stderr
    assert rerun.stdout.count("not rebuilding") == 2 * len(LINES)
    now_hub, now_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    assert now_hub == now_ghcr
    assert now_hub["latest"] == stack.index_digests("v1.1.0")["8.4"]


def test_registries_failing_for_a_while_mid_release_are_ridden_out_within_the_attempts(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """RELIABILITY 1 through the CLI: while a release copies v1.1.0 to the registries,
    each kind of request publisher sends meets a registry that fails, then recovers, on
    the third attempt at the latest (Stack's PUBLISHER_RETRY_ATTEMPTS is 3). The primary
    answers blob reads 500 or sends half a body; the secondary answers 500 to upload
    starts, to manifests by digest, to a pin and to floating tags. The run ends 0 with
    both registries alike, every floating tag on v1.1.0, no blob uploaded twice and no
    request tried a fourth time."""
    hub, ghcr = fresh_registry(), fresh_registry()
    hub_front, ghcr_front = proxy_for(hub.host), proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub_front.host, ghcr_front.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    hub_front.reset_counts()
    ghcr_front.reset_counts()
    ours = "^publisher"  # publisher's own requests, not the builder's pushes
    hub_front.add(
        Fault("status", method="GET", path=r"/blobs/sha256:", status=500, user_agent=ours),
        Fault("truncate", method="GET", path=r"/blobs/sha256:", user_agent=ours),
    )
    flaky = (
        ("POST", r"/blobs/uploads/$", 503),
        ("PUT", r"/manifests/sha256:", 500),
        ("PUT", r"/manifests/v1\.1\.0-php-8\.4$", 502),
        ("PUT", r"/manifests/php-8\.4$", 500),
        ("PUT", r"/manifests/latest$", 500),
    )
    for method, path, status in flaky:
        ghcr_front.add(Fault("status", method=method, path=path, status=status, times=2))
    result = stack.run("release", "v1.1.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "Traceback" not in said and "internal error" not in said
    # every fault was met, as many times as it was set to be
    assert len([s for s in hub_front.log if s.fault]) == 2, hub_front.log
    assert len([s for s in ghcr_front.log if s.fault]) == 2 * len(flaky), ghcr_front.log
    for method, path, _status in flaky[2:]:
        tries = [s for s in ghcr_front.log if s.method == method and re.search(path, s.path)]
        assert [s.status for s in tries][-1] in (200, 201), (path, tries)
        assert len(tries) == 3, (path, [(s.status, s.fault) for s in tries])
    assert all(n == 1 for n in ghcr_front.uploads_by_digest().values()), (
        ghcr_front.uploads_by_digest()
    )
    now_hub, now_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    assert now_hub == now_ghcr
    indexes = stack.index_digests("v1.1.0")
    assert now_hub["latest"] == indexes["8.4"]
    assert now_hub["php-8.3"] == indexes["8.3"] and now_hub["php-8.4"] == indexes["8.4"]
    assert (stack.notes_dir / "v1.1.0.json").exists()


# --------------------------------------------------------------------------- scenario 13


def invariants(stack: Stack, skopeo: str, hosts: tuple[str, str]) -> None:
    """No tag on a half-pushed index; floating tags only on releases whose pins are all in place."""
    maps = [skopeo_tag_map(skopeo, host, stack.repo) for host in hosts]
    for host, tags in zip(hosts, maps, strict=True):
        for tag, digest in tags.items():
            assert skopeo_children_present(skopeo, host, stack.repo, digest), (host, tag)
    for tags in maps:
        for floating in [t for t in tags if t.startswith("php-") or t == "latest"]:
            digest = tags[floating]
            owners = [t for t, d in tags.items() if d == digest and t.startswith("v")]
            assert owners, (floating, digest)
            release = owners[0].split("-php-")[0]
            for other in maps:  # that release is complete on every registry
                assert sorted(pins_of(other, release)) == sorted(
                    [release] + [f"{release}-php-{php}" for php in LINES]
                ), (floating, release)


def test_sigkill_before_the_tags_moves_nothing_and_the_rerun_does_not_rebuild(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    fronts = [proxy_for(hub.host), proxy_for(ghcr.host)]
    stack = make_stack(tmp_path, fronts[0].host, fronts[1].host, bases)
    # Every tag write on either registry answers 503; kill the run when the first one arrives,
    # after the builds, pushes, copies, verification and smoke tests.
    for front in fronts:
        front.add(Fault("status", method="PUT", path=TAG_PUT, status=503, times=None))
    process = stack.start("release", "v1.0.0", "--notes-dir", str(stack.notes_dir))
    try:
        assert wait_for(
            lambda: any(s.method == "PUT" and s.fault for f in fronts for s in f.log), 300
        )
    finally:
        kill_group(process)
    for tags in tag_maps(stack, tools["skopeo"], hub.host, ghcr.host):
        assert tags == {}  # everything was pushed, but no tag at all
    assert fronts[0].count("PUT", "manifest") > 0 and fronts[1].count("PUT", "manifest") > 0
    for front in fronts:
        front.clear()
    rerun = stack.release("v1.0.0")
    assert rerun.stdout.count("not rebuilding") == 2 * len(LINES)
    assert no_build_ran(rerun)
    on_hub, on_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    assert on_hub == on_ghcr == expected_tags(stack, ["v1.0.0"])


def test_sigkill_at_random_points_keeps_the_invariants(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    timer = time.monotonic()
    stack.release("v1.0.0", "--no-smoke")
    duration = time.monotonic() - timer
    rng = random.Random(20261122)
    for _ in range(4):
        process = stack.start(
            "release", "v1.2.0", "--no-smoke", "--notes-dir", str(stack.notes_dir)
        )
        time.sleep(rng.uniform(0.3, duration))
        kill_group(process)
        invariants(stack, tools["skopeo"], (hub.host, ghcr.host))
    stack.release("v1.2.0", "--no-smoke")
    invariants(stack, tools["skopeo"], (hub.host, ghcr.host))
    on_hub, on_ghcr = tag_maps(stack, tools["skopeo"])
    assert on_hub == on_ghcr == expected_tags(stack, ["v1.0.0", "v1.2.0"])


# --------------------------------------------------------------------------- scenario 15


def test_two_releases_at_once_converge_on_the_higher_one(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    # Build both releases' legs first, so that their publish steps overlap.
    for release in ("v1.1.0", "v1.2.0"):
        for php in LINES:
            for platform in ("linux/amd64", "linux/arm64"):
                stack.ok(
                    "build",
                    release,
                    "--php",
                    php,
                    "--platform",
                    platform,
                    "--digest-file",
                    str(tmp_path / release / f"{php}-{platform.replace('/', '-')}.json"),
                )
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def publish(release: str) -> None:
        results[release] = stack.run(
            "publish",
            release,
            "--digests",
            str(tmp_path / release),
            "--no-smoke",
            "--notes-dir",
            str(stack.notes_dir),
        )

    threads = [threading.Thread(target=publish, args=(r,)) for r in ("v1.2.0", "v1.1.0")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for release, result in results.items():
        assert result.returncode == 0, (release, result.stderr)
    high = stack.index_digests("v1.2.0")
    for tags in tag_maps(stack, tools["skopeo"]):
        assert tags["latest"] == high["8.4"]
        assert tags["php-8.3"] == high["8.3"] and tags["php-8.4"] == high["8.4"]
        assert tags["v1.1.0-php-8.4"] == stack.index_digests("v1.1.0")["8.4"]


def test_the_lower_of_two_releases_at_once_records_only_the_tags_it_holds(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """v1.1.0 plans its floating moves, then its pins are held back on the primary while
    v1.2.0 publishes whole. v1.1.0 then finds the floating tags on v1.2.0 and leaves
    them there: its notes list its pins only, and it says why, never that `latest` is
    v1.1.0."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    for php in LINES:
        for platform in ("linux/amd64", "linux/arm64"):
            stack.ok(
                "build",
                "v1.2.0",
                "--php",
                php,
                "--platform",
                platform,
                "--digest-file",
                str(tmp_path / "v1.2.0" / f"{php}-{platform.replace('/', '-')}.json"),
            )
    held = Fault(
        "stall", method="PUT", path=r"/manifests/v1\.1\.0-php-", stall_seconds=600, times=None
    )
    front.add(held)  # every first pin of v1.1.0, written at once: none of them lands
    lower = stack.start(  # (held back for as long as v1.2.0 takes: 5 s a try)
        "release",
        "v1.1.0",
        "--no-smoke",
        "--notes-dir",
        str(stack.notes_dir),
        env={
            "PUBLISHER_RETRY_ATTEMPTS": "100",
            "PUBLISHER_RETRY_TOTAL_TIMEOUT": "600",
            "PUBLISHER_REQUEST_TIMEOUT": "5",
        },
    )
    log = stack.root / "run.log"
    try:
        assert wait_for(lambda: held.fired > 0 or lower.poll() is not None, 600)
        assert lower.poll() is None, log.read_text(encoding="utf-8")
        stack.ok(
            "publish",
            "v1.2.0",
            "--digests",
            str(tmp_path / "v1.2.0"),
            "--no-smoke",
            "--notes-dir",
            str(stack.notes_dir),
        )
    finally:
        front.release()
    assert lower.wait(timeout=600) == 0, log.read_text(encoding="utf-8")
    said = log.read_text(encoding="utf-8")
    high = stack.index_digests("v1.2.0")
    for tags in tag_maps(stack, tools["skopeo"], hub.host, ghcr.host):
        assert tags["latest"] == high["8.4"]
        assert tags["php-8.3"] == high["8.3"] and tags["php-8.4"] == high["8.4"]
    recorded = {line["php"]: line["tags"] for line in stack.notes("v1.1.0")["lines"]}
    assert recorded == {"8.3": ["v1.1.0-php-8.3"], "8.4": ["v1.1.0-php-8.4", "v1.1.0"]}
    words = "php-8.3, php-8.4 and latest stay on v1.2.0, published meanwhile"
    assert f"notice: {words}; this release keeps its pins" in said, said
    markdown = (stack.notes_dir / "v1.1.0.md").read_text(encoding="utf-8")
    assert "`php-8.3`, `php-8.4` and `latest` stay on v1.2.0, published meanwhile" in markdown
    assert "`latest`" not in markdown.split("stay on v1.2.0")[1], markdown
    assert "Default line: PHP 8.4 (`v1.1.0`)." in markdown, markdown


# --------------------------------------------------------------------------- scenario 16 and 18


def test_rerun_with_nothing_changed_sends_no_mutating_request(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front_hub, front_ghcr = proxy_for(hub.host), proxy_for(ghcr.host)
    stack = make_stack(tmp_path, front_hub.host, front_ghcr.host, bases)
    stack.release("v1.0.0")
    before = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    front_hub.reset_counts()
    front_ghcr.reset_counts()
    stack.release("v1.0.0")
    for front in (front_hub, front_ghcr):
        assert front.mutating_requests == 0, [
            (s.method, s.path) for s in front.log if s.method != "GET" and s.method != "HEAD"
        ]
        assert front.uploaded_bytes == 0
    assert tag_maps(stack, tools["skopeo"], hub.host, ghcr.host) == before


def test_an_image_over_its_budget_is_refused_on_the_primary_before_it_is_copied(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """Its size is known from the primary's manifests once its index is pushed there: the
    release refuses it then (exit 12, verification's words), each image over the budget
    listed once, naming the registries the release was for; nothing is sent to ghcr, and
    no tag is written."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front_ghcr = proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub.host, front_ghcr.host, bases)
    matrix = yaml.safe_load(stack.matrix.read_text(encoding="utf-8"))
    stack.matrix.write_text(yaml.safe_dump({**matrix, "size_budget_mb": 1}), encoding="utf-8")
    amd64 = {"PUBLISHER_PLATFORMS": "linux/amd64", "COLUMNS": "400"}
    result = stack.run("release", "v1.0.0", "--no-smoke", "--only", "8.4", env=amd64)
    said = result.stdout + result.stderr
    assert result.returncode == 12, said
    assert "verification failed: 1 defect found" in said, said
    over = re.findall(
        r"PHP 8\.4: (sha256:[0-9a-f]{12}…) for hub and ghcr: linux/amd64 is [0-9,]+ bytes "
        r"\([0-9.]+ MB\), [0-9,]+ bytes over the 1,000,000-byte budget",
        said,
    )
    assert len(over) == 1 and said.count("over the 1,000,000-byte budget") == 1, said
    assert "no tag was written, and nothing was copied to ghcr" in said, said
    assert "Copy every index to the other registries" not in said, said
    assert front_ghcr.mutating_requests == 0 and front_ghcr.uploaded_bytes == 0
    for host in (hub.host, ghcr.host):
        assert skopeo_tag_map(tools["skopeo"], host, stack.repo) == {}


def test_dry_run_writes_nothing_and_its_plan_is_what_the_real_run_executes(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front_hub, front_ghcr = proxy_for(hub.host), proxy_for(ghcr.host)
    stack = make_stack(tmp_path, front_hub.host, front_ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    front_hub.reset_counts()
    front_ghcr.reset_counts()
    dry = stack.release("v1.1.0", "--dry-run")
    assert front_hub.mutating_requests == 0 and front_ghcr.mutating_requests == 0
    assert "buildah build" in dry.stdout  # the commands it would run
    assert not (stack.notes_dir / "v1.1.0.json").exists()
    planned = json.loads(stack.release("v1.1.0", "--dry-run", "--json").stdout)
    assert front_hub.mutating_requests == 0 and front_ghcr.mutating_requests == 0
    moves = planned["pin_moves"] + planned["floating_moves"]
    assert {m["registry"] for m in moves} == {"hub", "ghcr"}, moves
    stack.release("v1.1.0")
    # every tag the dry run planned is one the release then gave its images, and no other
    recorded = {tag for line in stack.notes("v1.1.0")["lines"] for tag in line["tags"]}
    assert {m["tag"] for m in moves} == recorded, (moves, recorded)
    # and with the builds done, a dry run shows every move: old digest -> new
    dry_publish = stack.run(
        "publish",
        "v1.1.0",
        "--digests",
        str(stack.digests_dir("v1.1.0")),
        "--dry-run",
        "--notes-dir",
        str(stack.notes_dir),
    )
    assert dry_publish.returncode == 0
    assert "unchanged" in dry_publish.stdout
    # stdout a pipe: each digest of the table whole on its row, under a named column
    digests = re.findall(r"sha256:[0-9a-f]*", dry_publish.stdout)
    assert digests and all(len(d) == 71 for d in digests), dry_publish.stdout
    assert re.search(r"┃ new +┃ change +┃", dry_publish.stdout), dry_publish.stdout


# --------------------------------------------------------------------------- scenario 17


def test_existing_pin_with_other_content_is_refused_unless_republish(
    tmp_path, tools, bases, fresh_registry
):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke", "--only", "8.4")
    # Someone pushed v1.1.0-php-8.4 by hand, pointing at v1.0.0's content.
    skopeo = tools["skopeo"]
    old = stack.index_digests("v1.0.0")["8.4"]
    copy_image(
        skopeo,
        f"docker://{hub.host}/{stack.repo}@{old}",
        f"docker://{hub.host}/{stack.repo}:v1.1.0-php-8.4",
    )
    before = tag_maps(stack, skopeo)
    result = stack.run(
        "release", "v1.1.0", "--no-smoke", "--only", "8.4", "--notes-dir", str(stack.notes_dir)
    )
    assert result.returncode == 14, result.stderr
    assert "already published with other content" in result.stderr and "republish" in result.stderr
    assert tag_maps(stack, skopeo) == before
    stack.ok(
        "republish",
        "v1.1.0",
        "--reason",
        "replace a hand-pushed tag",
        "--no-smoke",
        "--only",
        "8.4",
        "--notes-dir",
        str(stack.notes_dir),
    )
    new = stack.index_digests("v1.1.0")["8.4"]
    for tags in tag_maps(stack, skopeo):
        assert tags["v1.1.0-php-8.4"] == new != old
        assert tags["latest"] == new


# --------------------------------------------------------------------------- fan-out


def test_build_and_publish_path_equals_release(tmp_path, tools, bases, fresh_registry):
    """One build process per leg plus publish gives the same indexes and tags as `release`."""
    a_hub, a_ghcr, b_hub, b_ghcr = (
        fresh_registry(),
        fresh_registry(),
        fresh_registry(),
        fresh_registry(),
    )
    fanout = make_stack(tmp_path, a_hub.host, a_ghcr.host, bases, name="fanout")
    single = make_stack(tmp_path, b_hub.host, b_ghcr.host, bases, name="single")
    artifacts = tmp_path / "artifacts"
    for php in LINES:
        for platform in ("linux/amd64", "linux/arm64"):
            leg = artifacts / f"digest-{php}-{platform.replace('/', '-')}"
            fanout.ok(
                "build",
                "v1.0.0",
                "--php",
                php,
                "--platform",
                platform,
                "--digest-file",
                str(leg / "record.json"),
            )
    fanout.ok(
        "publish", "v1.0.0", "--digests", str(artifacts), "--notes-dir", str(fanout.notes_dir)
    )
    single.release("v1.0.0")
    assert fanout.index_digests("v1.0.0") == single.index_digests("v1.0.0")
    skopeo = tools["skopeo"]
    maps = tag_maps(fanout, skopeo) + tag_maps(single, skopeo)
    assert all(m == maps[0] for m in maps)
    assert skopeo_digest(skopeo, a_hub.host, fanout.repo, "latest") == skopeo_digest(
        skopeo, b_ghcr.host, single.repo, "latest"
    )


# --------------------------------------------------------------------------- attestations


def test_build_records_with_attestations_are_carried_into_the_line_index(
    tmp_path, tools, bases, fresh_registry
):
    """buildx with provenance/SBOM pushes image + attestation as an index; publish carries both."""
    from publisher.adapters.registry import OCI_INDEX, OCI_MANIFEST, RegistryClient, sha256_digest

    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    # the legs of v1.1.0 built (each image labelled as built for v1.1.0-php-8.4), not
    # published: publish refuses images of another release
    legs = tmp_path / "legs"
    built: dict[str, str] = {}
    for platform in ("linux/amd64", "linux/arm64"):
        leg = legs / f"8.4-{platform.replace('/', '-')}.json"
        stack.ok(
            "build", "v1.1.0", "--php", "8.4", "--platform", platform, "--digest-file", str(leg)
        )
        built[platform] = json.loads(leg.read_text())["digest"]
    client = RegistryClient(hub.host, plain_http=True)
    records_dir = tmp_path / "attested"
    attestation_digests = []
    for record_path in legs.glob("*.json"):
        record = json.loads(record_path.read_text())
        image = client.get_manifest_by_digest(stack.repo, record["digest"])
        statement = json.dumps(
            {"_type": "https://in-toto.io/Statement/v0.1", "subject": [record["digest"]]}
        ).encode()
        config = b"{}"
        client.push_blob(stack.repo, sha256_digest(statement), statement)
        client.push_blob(stack.repo, sha256_digest(config), config)
        attestation = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha256_digest(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.in-toto+json",
                        "digest": sha256_digest(statement),
                        "size": len(statement),
                        "annotations": {
                            "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"
                        },
                    }
                ],
            },
            sort_keys=True,
        ).encode()
        attestation_digest = client.put_manifest(stack.repo, attestation, OCI_MANIFEST)
        attestation_digests.append(attestation_digest)
        arch = record["platform"].split("/")[1]
        small_index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": image.media_type,
                        "digest": image.digest,
                        "size": len(image.body),
                        "platform": {"os": "linux", "architecture": arch},
                    },
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": attestation_digest,
                        "size": len(attestation),
                        "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {
                            "vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": image.digest,
                        },
                    },
                ],
            },
            sort_keys=True,
        ).encode()
        record["digest"] = client.put_manifest(stack.repo, small_index, OCI_INDEX)
        record["release"] = "v1.1.0"
        records_dir.mkdir(exist_ok=True)
        (records_dir / record_path.name).write_text(json.dumps(record))
    stack.ok(
        "publish",
        "v1.1.0",
        "--digests",
        str(records_dir),
        "--only",
        "8.4",
        "--notes-dir",
        str(stack.notes_dir),
    )
    notes = stack.notes("v1.1.0")
    line = notes["lines"][0]
    index_digest = line["index_digest"]
    for host in (hub.host, ghcr.host):
        raw = subprocess.run(
            [
                tools["skopeo"],
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{host}/{stack.repo}@{index_digest}",
            ],
            capture_output=True,
            check=True,
        ).stdout
        children = json.loads(raw)["manifests"]
        assert sorted(c["digest"] for c in children if c["platform"]["os"] == "unknown") == sorted(
            attestation_digests
        )
        assert skopeo_children_present(tools["skopeo"], host, stack.repo, index_digest)
    # the notes name the platform images, not the attestation-carrying indexes
    assert {p["platform"]: p["digest"] for p in line["platforms"]} == built
    assert {p["platform"] for p in line["platforms"]} == {"linux/amd64", "linux/arm64"}


# --------------------------------------------------------------------------- the life of a release
# RELIABILITY.md scenarios 24-30: reruns after the world moved, refused runs,
# records over today's matrix, limits everywhere, unwritable outputs.

FLOATING_PUT = r"^/v2/.+/manifests/(latest|php-[0-9.]+)$"


def no_build_ran(result: subprocess.CompletedProcess[str]) -> bool:
    return "buildah build" not in result.stdout + result.stderr


def test_rerun_after_the_bases_moved_finishes_without_rebuilding(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front_hub, front_ghcr = proxy_for(hub.host), proxy_for(ghcr.host)
    stack = make_stack(tmp_path, front_hub.host, front_ghcr.host, bases)
    # Interrupted after some pins were written: the second registry refuses tag writes.
    front_ghcr.add(Fault("status", method="PUT", path=TAG_PUT, status=503, times=None))
    failed = stack.run("release", "v1.0.0", "--notes-dir", str(stack.notes_dir))
    assert failed.returncode != 0, failed.stdout
    front_ghcr.clear()
    written = skopeo_tag_map(tools["skopeo"], hub.host, stack.repo)
    assert "v1.0.0-php-8.4" in written, failed.stderr
    # The log names exactly the pins written, in the plan's order (the default line's
    # vX.Y.Z after its pin), whatever order the writes finished in.
    said = [line for line in failed.stdout.splitlines() if " -> sha256:" in line]
    order = ["v1.0.0-php-8.3", "v1.0.0-php-8.4", "v1.0.0"]
    assert said == [f"{front_hub.host}/{stack.repo}:{t} -> {written[t]}" for t in order]
    # The official images are rebuilt weekly: the bases move before the rerun.
    patch_base(tmp_path, bases, "moved-before-rerun", lines=LINES)
    front_hub.reset_counts()
    rerun = stack.release("v1.0.0")
    assert no_build_ran(rerun), rerun.stdout
    assert "not rebuilding" in rerun.stdout
    assert front_hub.count(kind="upload") == 0 and front_hub.uploaded_bytes == 0
    on_hub, on_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    assert on_hub == on_ghcr == expected_tags(stack, ["v1.0.0"])
    # The pins the interrupted run wrote did not move.
    assert {tag: on_hub[tag] for tag in written} == written
    # Finished: rerunning again, and its dry run, change nothing at all.
    for front in (front_hub, front_ghcr):
        front.reset_counts()
    notes_before = {p.name: p.read_bytes() for p in stack.notes_dir.iterdir() if p.is_file()}
    again = stack.release("v1.0.0")
    assert no_build_ran(again)
    # its heading says an earlier run published, as a republish's rerun says it
    assert "every tag already points where it should; nothing moved" in again.stdout
    heading = "Published v1.0.0 by an earlier run (this run moved no tag; its notes record it)"
    assert heading in " ".join(again.stdout.split()), again.stdout
    assert "by an earlier run" not in rerun.stdout, rerun.stdout  # it moved tags
    # ... not even the notes, whose published_at stays.
    notes_after = {p.name: p.read_bytes() for p in stack.notes_dir.iterdir() if p.is_file()}
    assert notes_after == notes_before
    dry = stack.release("v1.0.0", "--dry-run")
    assert no_build_ran(dry)
    for front in (front_hub, front_ghcr):
        assert front.mutating_requests == 0, [(s.method, s.path) for s in front.log]
    assert tag_maps(stack, tools["skopeo"], hub.host, ghcr.host) == [on_hub, on_ghcr]

    # "Re-run all jobs" in Actions: each build leg, then publish.
    legs_dir = tmp_path / "rerun-legs"
    # ... one leg's --digest-file a symbolic link to its record of the first run: the
    # record is written where the link points, and the link kept
    legs_dir.mkdir()
    kept = tmp_path / "kept-record.json"
    kept.write_bytes((stack.digests_dir("v1.0.0") / "8.4-linux-amd64.json").read_bytes())
    (legs_dir / "8.4-linux-amd64.json").symlink_to(kept)
    for php in LINES:
        for platform in ("linux/amd64", "linux/arm64"):
            leg = stack.ok(
                "build",
                "v1.0.0",
                "--php",
                php,
                "--platform",
                platform,
                "--digest-file",
                str(legs_dir / f"{php}-{platform.replace('/', '-')}.json"),
            )
            assert no_build_ran(leg), leg.stdout
    published = stack.notes("v1.0.0")
    for line in published["lines"]:
        for platform in line["platforms"]:
            record = json.loads(
                (
                    legs_dir / f"{line['php']}-{platform['platform'].replace('/', '-')}.json"
                ).read_text()
            )
            assert record["digest"] == platform["digest"]
            assert record["base_digest"] == line["base"]["digest"]
    assert (legs_dir / "8.4-linux-amd64.json").readlink() == kept
    for front in (front_hub, front_ghcr):
        front.reset_counts()
    stack.ok("publish", "v1.0.0", "--digests", str(legs_dir), "--notes-dir", str(stack.notes_dir))
    for front in (front_hub, front_ghcr):
        assert front.mutating_requests == 0
    assert tag_maps(stack, tools["skopeo"], hub.host, ghcr.host) == [on_hub, on_ghcr]


def test_a_leg_rerun_after_its_base_moved_is_not_published_beside_the_others(
    tmp_path, tools, bases, fresh_registry
):
    """A "Re-run failed jobs" in Actions: the legs that passed keep their records, the failed
    one is built again, days later, on a base that moved meanwhile. One index must not hold
    images of two bases (its record and pins file name one): refused before any write,
    and "Re-run all jobs" (every leg built again) publishes."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    artifacts = tmp_path / "artifacts"

    def leg(php: str, platform: str, where: Path) -> None:
        stack.ok(
            "build", "v1.0.0", "--php", php, "--platform", platform,
            "--digest-file", str(where / f"{php}-{platform.replace('/', '-')}.json"),
        )  # fmt: skip

    for platform in ("linux/amd64", "linux/arm64"):
        leg("8.4", platform, artifacts)
    first = json.loads((artifacts / "8.4-linux-amd64.json").read_text())
    patch_base(tmp_path, bases, "moved-between-attempts")
    leg("8.4", "linux/arm64", tmp_path / "attempt-2")  # a new runner, no record of its own
    shutil.copy(tmp_path / "attempt-2" / "8.4-linux-arm64.json", artifacts)
    again = json.loads((artifacts / "8.4-linux-arm64.json").read_text())
    assert again["base_digest"] != first["base_digest"]
    publish = ("publish", "v1.0.0", "--only", "8.4", "--digests", str(artifacts), "--no-smoke")
    refused = stack.run(*publish, "--notes-dir", str(stack.notes_dir))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert (
        "the digest records of PHP 8.4 were built from different base images "
        f"(linux/amd64 from {first['base_digest']}, linux/arm64 from {again['base_digest']})"
    ) in said, said
    assert "Re-run all jobs" in said and "--rebuild" in said
    assert tag_maps(stack, tools["skopeo"]) == [{}, {}]
    assert not (stack.notes_dir / "v1.0.0.json").exists()
    # "Re-run all jobs": every leg on a new runner, built again on today's base
    rerun = tmp_path / "attempt-3"
    for platform in ("linux/amd64", "linux/arm64"):
        leg("8.4", platform, rerun)
    stack.ok(*publish[:5], str(rerun), "--no-smoke", "--notes-dir", str(stack.notes_dir))
    line = stack.notes("v1.0.0")["lines"][0]
    assert line["base"]["digest"] == again["base_digest"]


def test_legs_built_from_another_dockerfile_are_not_published_unless_pinned_or_republished(
    tmp_path, tools, bases, fresh_registry
):
    """Digest records of another commit (the checkout moved on after the legs, artifacts
    of another run): the release's images would not be what its Dockerfile builds, which
    the launcher's local fallback builds. Refused before any write; publishing from the
    commit the legs built passes, and so does a rerun from it. A rerun from the later
    commit (the tag moved there) is refused (exit 14) naming both Dockerfiles, not taken
    for a rerun; a republish (whose legs build the release's commit while its job runs
    at a later one) still passes."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    dockerfile = stack.root / "dockerfiles" / "8.4" / "Dockerfile"
    released = dockerfile.read_bytes()
    later = released + b"\n# a later commit\n"
    artifacts = tmp_path / "artifacts"

    def legs(where: Path, *extra: str) -> None:
        for platform in ("linux/amd64", "linux/arm64"):
            stack.ok(
                "build", "v1.0.0", "--php", "8.4", "--platform", platform, *extra,
                "--digest-file", str(where / f"8.4-{platform.replace('/', '-')}.json"),
            )  # fmt: skip

    legs(artifacts)
    dockerfile.write_bytes(later)
    publish = ("publish", "v1.0.0", "--only", "8.4", "--no-smoke")
    notes = ("--notes-dir", str(stack.notes_dir))
    refused = stack.run(*publish, "--digests", str(artifacts), *notes)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    built, here = (hashlib.sha256(data).hexdigest() for data in (released, later))
    assert (
        f"the digest records of PHP 8.4 were built from the Dockerfile sha256:{built}, not "
        f"from this checkout's {dockerfile} (sha256:{here})"
    ) in said, said
    assert "no registry was changed" in said and "--rebuild" in said
    assert "check that the --digests directory holds the records of this run's legs" in said
    assert tag_maps(stack, tools["skopeo"]) == [{}, {}]
    assert not (stack.notes_dir / "v1.0.0.json").exists()
    dry = stack.run(*publish, "--digests", str(artifacts), "--dry-run", *notes)
    assert dry.returncode == 2 and "not from this checkout's" in dry.stderr, dry.stderr
    # from the commit the legs built: published
    dockerfile.write_bytes(released)
    stack.ok(*publish, "--digests", str(artifacts), *notes)
    published = stack.index_digests("v1.0.0")["8.4"]
    stack.ok(*publish, "--digests", str(artifacts), *notes)  # a rerun: nothing to do
    assert stack.index_digests("v1.0.0")["8.4"] == published
    # the checkout moves on (the tag pushed again on a later commit): refused, not a rerun
    dockerfile.write_bytes(later)
    held = tag_maps(stack, tools["skopeo"])
    moved = stack.run(*publish, "--digests", str(artifacts), *notes)
    assert moved.returncode == 14, moved.stdout + moved.stderr
    said = " ".join(moved.stderr.split())
    assert f"sha256:{built}" in said and f"sha256:{here}" in said, said
    assert tag_maps(stack, tools["skopeo"]) == held
    # a republish: its legs build the release's commit, its publish runs at the later one
    patch_base(tmp_path, bases, "after-a-later-commit")
    dockerfile.write_bytes(released)
    legs(tmp_path / "rebuilt", "--rebuild")
    dockerfile.write_bytes(later)
    stack.ok(*publish, "--digests", str(tmp_path / "rebuilt"), "--reason", "openssl", *notes)
    assert stack.index_digests("v1.0.0")["8.4"] != published


def test_a_refused_run_destroys_nothing(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke", "--only", "8.4")
    records = stack.digests_dir("v1.0.0")
    saved = {p.name: p.read_bytes() for p in records.rglob("*.json")}
    notes = {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()}
    tags = tag_maps(stack, tools["skopeo"])
    # Other images for the same release: rebuilt from a moved base, pushed by digest only.
    patch_base(tmp_path, bases, "other-content")
    other = tmp_path / "other-records"
    for platform in ("linux/amd64", "linux/arm64"):
        stack.ok(
            "build",
            "v1.0.0",
            "--php",
            "8.4",
            "--platform",
            platform,
            "--rebuild",
            "--digest-file",
            str(other / f"8.4-{platform.replace('/', '-')}.json"),
        )
    refused = stack.run(
        "publish",
        "v1.0.0",
        "--only",
        "8.4",
        "--digests",
        str(other),
        "--notes-dir",
        str(stack.notes_dir),
        "--no-smoke",
    )
    assert refused.returncode == 14, refused.stdout + refused.stderr
    assert "nothing was changed" in refused.stderr
    assert {p.name: p.read_bytes() for p in records.rglob("*.json")} == saved
    assert {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()} == notes
    assert tag_maps(stack, tools["skopeo"]) == tags
    # The documented recovery still works: the release finishes from its pins.
    stack.release("v1.0.0", "--no-smoke", "--only", "8.4")
    assert tag_maps(stack, tools["skopeo"]) == tags


@pytest.mark.parametrize("fault", ["missing", "a directory"])
def test_a_dockerfile_missing_or_unreadable_is_refused_before_any_registry_or_build(
    tmp_path, tools, bases, fresh_registry, proxy_for, fault
):
    """`publisher render` never run, or a Dockerfile deleted: every command that builds
    (and its dry run, rehearsal and one leg) refuses it at once, naming each file and
    the fix, before any registry is asked or anything is built."""
    hub, ghcr = fresh_registry(), fresh_registry()
    fronts = [proxy_for(hub.host), proxy_for(ghcr.host), proxy_for(bases.host)]
    stack = Stack(
        tmp_path / "s", fronts[0].host, fronts[1].host, fronts[2].host, repo="acme/php-fpm"
    )
    files = {php: stack.root / "dockerfiles" / php / "Dockerfile" for php in LINES}
    for path in files.values():
        path.unlink()
        if fault == "a directory":  # read as a file, it cannot be: exit 18, as render --check
            path.mkdir()
    code = 3 if fault == "missing" else 18
    checked = stack.run("render", "--check")
    assert checked.returncode == code, checked.stderr
    notes = ("--notes-dir", str(stack.notes_dir))
    leg = ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", str(tmp_path / "d.json"))
    runs = {
        ("release", "v1.0.0", *notes): LINES,
        ("release", "v1.0.0", "--dry-run", *notes): LINES,
        ("release", "v1.0.0", "--dry-run", "--json", *notes): LINES,
        ("release", "v1.0.0", "--only", "8.3", *notes): ("8.3",),
        ("release", "v1.0.0", "--local", *notes): LINES,
        # (a republish without a record builds only the lines its pins hold: it reads them
        # first; tests/unit/test_render_check.py holds what it refuses then)
        ("build", "v1.0.0", *leg): ("8.4",),
    }
    for argv, named in runs.items():
        result = stack.run(*argv)
        said = " ".join(result.stderr.split())
        assert result.returncode == code, (argv, result.stdout, result.stderr)
        assert "Traceback" not in said and "internal error" not in said, said
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (argv, said)  # one error, naming every file
        for php in LINES:
            assert (str(files[php]) in said) == (php in named), (argv, said)
        assert "nothing was built or pushed" in said, (argv, said)
        if fault == "missing":
            assert "error: missing Dockerfile: there is no committed Dockerfile for PHP" in said
            assert "tip: run `publisher render` to write" in said, said  # ./matrix.yaml
            assert "then commit the result" in said, said
        else:
            assert "Is a directory" in said, said
        if "--json" in argv:
            assert json.loads(result.stdout)["error"]["exit_code"] == code
        assert no_build_ran(result), (argv, result.stdout)
        assert "rehearsal:" not in result.stdout + result.stderr  # no throwaway registry
        for front in fronts:
            assert front.count() == 0, (argv, [(s.method, s.path) for s in front.log])
    assert not stack.notes_dir.exists() and not (tmp_path / "d.json").exists()
    assert not (stack.root / ".publisher").exists()
    assert skopeo_tag_map(tools["skopeo"], hub.host, stack.repo) == {}


def test_a_build_leg_that_fails_names_a_build_that_still_runs_once_it_ended(
    tmp_path, tools, bases, fresh_registry
):
    """A Dockerfile whose RUN step fails: exit 11. The leg built the run's private copy
    of the Dockerfile, removed with its work directory; its tip's command, run after the
    leg ended, builds the committed Dockerfile from the same base and fails at that step,
    its whole output shown."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    dockerfile = stack.root / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo a-broken-step && exit 7\n")
    leg = ("--php", "8.4", "--platform", "linux/amd64", "--digest-file", str(tmp_path / "d.json"))
    failed = stack.run("build", "v1.0.0", *leg)
    assert failed.returncode == 11, failed.stdout + failed.stderr
    tips = re.findall(r"^  tip: rerun the [^:]*full output: (.+)$", failed.stderr, re.MULTILINE)
    assert len(tips) == 1, failed.stderr
    argv = shlex.split(tips[0])
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 7, again.stdout + again.stderr
    assert "STEP 1/" in again.stdout and "a-broken-step" in again.stdout, again.stdout
    assert argv[1] == "build" and str(dockerfile) in argv, argv  # the one the user edits
    assert skopeo_tag_map(tools["skopeo"], hub.host, stack.repo) == {}


def test_an_older_release_keeps_its_recorded_default_line(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    v100 = stack.index_digests("v1.0.0")
    # The default line changes from 8.4 to 8.3 in today's matrix.
    text = stack.matrix.read_text()
    stack.matrix.write_text(text.replace("default_line: '8.4'", "default_line: '8.3'"))
    assert "default_line: '8.3'" in stack.matrix.read_text()
    verified = stack.ok("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))
    assert "keeping 8.4" in verified.stdout + verified.stderr
    patch_base(tmp_path, bases, "after-default-change", lines=LINES)
    republished = stack.ok(
        "republish",
        "v1.0.0",
        "--reason",
        "CVE-2026-0002",
        "--no-smoke",
        "--notes-dir",
        str(stack.notes_dir),
    )
    assert "keeping 8.4" in republished.stdout + republished.stderr
    after = stack.index_digests("v1.0.0")
    assert after["8.4"] != v100["8.4"]
    assert stack.notes("v1.0.0")["default_line"] == "8.4"
    for tags in tag_maps(stack, tools["skopeo"]):
        assert tags["v1.0.0"] == after["8.4"] == tags["latest"]
        assert tags["php-8.3"] == after["8.3"]
    stack.ok("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))


def test_a_line_a_newer_release_dropped_keeps_its_tag_where_an_older_branch_moves_it(
    tmp_path, tools, bases, fresh_registry
):
    """v1.1.0 drops PHP 8.3 while it is still supported: php-8.3 stays on v1.0.0's pin, and
    republish-check (the newest stable release's lines) no longer looks at it, as the
    release that dropped it warns. A backport
    v1.0.1 from a checkout that still has 8.3 is then the highest stable release for that
    line: it moves php-8.3 and nothing else, and so does its republish of 8.3 alone (neither
    latest, which follows v1.1.0, nor v1.0.1's own 8.4 moves). README "PHP lifecycle"."""
    hub, ghcr = fresh_registry(), fresh_registry()
    skopeo = tools["skopeo"]
    one_platform = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    root = tmp_path / "s"

    def stack(lines: tuple[str, ...]) -> Stack:  # matrix.yaml of a branch, same checkout
        return Stack(root, hub.host, ghcr.host, bases.host, "acme/php-fpm", lines, one_platform)

    def floating() -> list[dict[str, str]]:
        return [
            {t: d for t, d in tags.items() if t.startswith("php-") or t == "latest"}
            for tags in tag_maps(older, skopeo)
        ]

    older = stack(LINES)
    older.release("v1.0.0", "--no-smoke")
    v100 = older.index_digests("v1.0.0")
    newer = stack(("8.4",))
    dropped = newer.release("v1.1.0", "--no-smoke")
    assert (
        "warning: v1.1.0 has no PHP 8.3, which v1.0.0, the newest stable release until now, "
        "has: php-8.3 stays on v1.0.0-php-8.3, and `publisher republish-check`, which looks at "
        "the newest stable release, no longer offers PHP 8.3 for a rebuild"
    ) in " ".join(dropped.stderr.split()), dropped.stderr
    v110 = newer.index_digests("v1.1.0")
    assert (
        floating() == [{"php-8.3": v100["8.3"], "php-8.4": v110["8.4"], "latest": v110["8.4"]}] * 2
    )
    checked = newer.ok("republish-check", "--notes-dir", str(newer.notes_dir))
    assert checked.stdout.startswith("release=v1.1.0\n"), checked.stdout
    assert "8.3" not in checked.stdout + checked.stderr

    older = stack(LINES)  # the v1.0.x branch
    backport = older.release("v1.0.1", "--no-smoke")
    assert "no longer offers" not in backport.stdout + backport.stderr  # it drops nothing
    v101 = older.index_digests("v1.0.1")
    assert v101["8.3"] != v100["8.3"]  # another release's image (its version label)
    assert (
        floating() == [{"php-8.3": v101["8.3"], "php-8.4": v110["8.4"], "latest": v110["8.4"]}] * 2
    )

    patch_base(tmp_path, bases, "after-the-drop", lines=("8.3",))
    older.ok(
        "republish",
        "v1.0.1",
        "--only",
        "8.3",
        "--reason",
        "CVE-2026-0003",
        "--no-smoke",
        "--notes-dir",
        str(older.notes_dir),
    )
    after = older.index_digests("v1.0.1")
    assert after["8.3"] != v101["8.3"] and after["8.4"] == v101["8.4"]
    for tags in tag_maps(older, skopeo):
        assert tags["v1.0.1-php-8.3"] == tags["php-8.3"] == after["8.3"]
        assert tags["v1.0.1"] == tags["v1.0.1-php-8.4"] == v101["8.4"]
        assert tags["latest"] == tags["php-8.4"] == tags["v1.1.0"] == v110["8.4"]
        assert tags["v1.0.0-php-8.3"] == v100["8.3"]
    older.ok("audit", "--notes-dir", str(older.notes_dir))


REGISTRY_COMMANDS = [
    ["build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", "d.json"],
    ["publish", "v1.0.0", "--digests", "records"],
    ["release", "v1.0.0"],
    ["republish", "v1.0.0", "--reason", "r"],
    ["verify", "v1.0.0"],
    ["preflight"],
    ["check-public", "v1.0.0"],
]

#: The retry limits checked on every registry command: the number of attempts, and the
#: total time (with room for a hundred attempts, 1 s lets only two or three through).
RETRY_LIMITS = {
    "attempts": ({"PUBLISHER_RETRY_ATTEMPTS": "2"}, 2, 2),
    "total-timeout": (
        {
            "PUBLISHER_RETRY_ATTEMPTS": "100",
            "PUBLISHER_RETRY_INITIAL_DELAY": "0.4",
            "PUBLISHER_RETRY_MAX_DELAY": "0.4",
            "PUBLISHER_RETRY_TOTAL_TIMEOUT": "1",
        },
        2,
        3,
    ),
}


@pytest.mark.parametrize("limit", list(RETRY_LIMITS))
@pytest.mark.parametrize("command", REGISTRY_COMMANDS, ids=lambda argv: argv[0])
def test_every_registry_command_honours_the_retry_limit(
    tmp_path, tools, bases, fresh_registry, proxy_for, command, limit
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    front.add(Fault("status", status=502, times=None))
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    # publish reads its records before any registry: one record, so it gets that far
    (stack.root / "records").mkdir()
    record = DigestRecord(
        release="v1.0.0",
        php="8.4",
        platform="linux/amd64",
        repository=f"{front.host}/{stack.repo}",
        digest="sha256:" + "1" * 64,
        base_image="stand-in/php:8.4-fpm-alpine",
        base_digest=None,
        builder="buildah",
        dockerfile_sha256="sha256:" + "2" * 64,
    )
    (stack.root / "records" / record.file_name).write_text(record.to_json(), encoding="utf-8")
    env, fewest, most = RETRY_LIMITS[limit]
    result = stack.run(*command, env=env, timeout=120)
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    assert fewest <= len(front.log) <= most, [(s.method, s.path) for s in front.log]
    # RELIABILITY 3: nothing was tagged and no release notes were written.
    assert all(s.method in ("GET", "HEAD") for s in front.log)
    assert skopeo_tag_map(tools["skopeo"], hub.host, stack.repo) == {}
    # Nor made: a directory is made when the run first writes there, none left empty.
    assert not stack.notes_dir.exists()
    assert not (stack.root / ".publisher").exists() or command[0] not in ("release", "republish")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory no one may write to: a read-only mount as root, mode 0555 otherwise."""
    import os

    path = tmp_path / "read-only"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.mark.parametrize("which", ["--digests", "--notes-dir"])
def test_unwritable_outputs_are_refused_before_any_build(
    tmp_path, tools, bases, fresh_registry, proxy_for, read_only_dir, which
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    result = stack.run("release", "v1.0.0", which, str(read_only_dir / "out"))
    assert result.returncode == 18, result.stdout + result.stderr
    assert "not writable" in result.stderr and "internal error" not in result.stderr
    assert no_build_ran(result)
    assert front.mutating_requests == 0
    # The dry run says what the real run would meet, without writing anything.
    dry = stack.run("release", "v1.0.0", "--dry-run", which, str(read_only_dir / "out"))
    assert dry.returncode == 18, dry.stdout + dry.stderr
    assert "not writable" in dry.stderr
    assert "Read-only file system" in dry.stderr or "Permission denied" in dry.stderr
    for extra in ((), ("--dry-run",)):
        publish = stack.run(
            "publish",
            "v1.0.0",
            "--digests",
            str(tmp_path),
            "--notes-dir",
            str(read_only_dir),
            *extra,
        )
        assert publish.returncode == 18, publish.stderr
    assert front.mutating_requests == 0


def test_a_cache_that_cannot_be_written_is_refused_before_any_build_or_write(
    tmp_path, tools, bases, fresh_registry, proxy_for, read_only_dir
):
    """A real release (not --local) keeps its smoke tests' locks, marks and image holds in
    the cache: one that cannot be written is exit 18 before anything starts, as the
    rehearsal's is, rather than a run that builds, pushes and smoke-tests without them
    (leaving the smoke-tested images in buildah's store). The dry run and publish say the
    same, and nothing is made where it would go."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    cache = read_only_dir / "cache"
    digests = Path(__file__).parents[1] / "fixtures" / "records-v1" / "digests"
    notes = ("--notes-dir", str(stack.notes_dir))
    leg = str(tmp_path / "leg" / "record.json")
    for args in (
        ("release", "v1.0.0", *notes),
        ("release", "v1.0.0", "--dry-run", *notes),
        ("publish", "v1.0.0", "--digests", str(digests), *notes),
        ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", leg),
    ):
        result = stack.run(*args, env={"PUBLISHER_CACHE_DIR": str(cache)})
        said = " ".join(result.stderr.split())
        assert result.returncode == 18, (args, result.stdout + said)
        assert f"the cache {cache} is not writable" in said, (args, said)
        assert "set PUBLISHER_CACHE_DIR to a writable directory" in said, (args, said)
        assert no_build_ran(result), (args, result.stdout)
    assert front.mutating_requests == 0
    assert not cache.exists()


@pytest.mark.parametrize("where", ["a directory", "read-only"])
def test_step_outputs_that_cannot_be_written_are_refused_before_any_build_or_write(
    tmp_path, tools, bases, fresh_registry, proxy_for, read_only_dir, where
):
    """In Actions, `release` and `publish` write their step outputs once the release is
    recorded: a GITHUB_OUTPUT they cannot append to is said before anything is done, not
    after every tag has moved."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    outputs = tmp_path if where == "a directory" else read_only_dir / "out"
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    digests = Path(__file__).parents[1] / "fixtures" / "records-v1" / "digests"
    for args in (("release", "v1.0.0"), ("publish", "v1.0.0", "--digests", str(digests))):
        result = stack.run(*args, "--notes-dir", str(stack.notes_dir), env=actions)
        assert result.returncode == 18, result.stdout + result.stderr
        said = " ".join(result.stderr.split())
        assert f"cannot write step outputs to GITHUB_OUTPUT={outputs}" in said, said
        assert "nothing was done" in said
        assert "::error title=file error::cannot write step outputs" in result.stderr
        assert no_build_ran(result)
    assert front.mutating_requests == 0
    assert not stack.notes_dir.exists() or not any(stack.notes_dir.iterdir())


def test_a_full_disk_leaves_no_half_written_notes_and_the_rerun_writes_them(
    tmp_path, tools, bases, fresh_registry, small_disk
):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    result = stack.run("release", "v1.0.0", "--notes-dir", str(small_disk))
    assert result.returncode == 18, result.stdout + result.stderr
    assert "cannot write the release notes" in result.stderr
    assert f"{small_disk}/" in result.stderr  # the file, by name
    assert "No space left on device" in result.stderr and "free space" in result.stderr
    assert "no notes file was changed" in result.stderr and "rerun" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == []  # nothing half done
    # Room again: the rerun builds nothing, moves nothing, and writes every notes file.
    subprocess.run(["mount", "-o", "remount,size=1m", str(small_disk)], check=True)
    rerun = stack.run("release", "v1.0.0", "--notes-dir", str(small_disk))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert no_build_ran(rerun)
    assert sorted(p.name for p in small_disk.iterdir()) == [
        "size-history.json",
        "v1.0.0.env",
        "v1.0.0.json",
        "v1.0.0.md",
    ]


def test_a_full_tmpdir_is_refused_before_any_build_naming_tmpdir(
    tmp_path, tools, bases, fresh_registry, proxy_for, small_disk
):
    """A full TMPDIR still takes an empty file (and Python's tempfile would quietly move to
    /tmp while the builders keep filling TMPDIR): the check at the start writes bytes, so
    the run stops before any build or push, naming TMPDIR."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    stack = make_stack(tmp_path, front.host, ghcr.host, bases)
    with contextlib.suppress(OSError), open(small_disk / "filler", "wb") as filler:
        while True:
            filler.write(b"\0" * 1024)
            filler.flush()
    result = stack.run("release", "v1.0.0", env={"TMPDIR": str(small_disk)})
    assert result.returncode == 18, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert f"TMPDIR={small_disk} is full (writing 4096 bytes there: No space" in said, said
    assert "nothing was built or pushed" in said and "free space there" in said
    assert no_build_ran(result) and front.mutating_requests == 0
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_a_rename_failing_halfway_leaves_every_notes_file_as_it_was(
    tmp_path, tools, bases, fresh_registry
):
    """The notes are renamed into place one by one (md, json, size history, pins): when
    the size history cannot be renamed over (here a file bind-mounted on it, EBUSY; a
    file another user owns in a sticky directory, or an immutable one, fails the same
    way), the two renamed before it are put back, so no record stands without its pins
    file and its sizes, and the rerun writes them all."""
    import os

    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    first = stack.run("release", "v1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    before = {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()}
    history = stack.notes_dir / "size-history.json"
    pinned = tmp_path / "pinned-history.json"
    pinned.write_bytes(history.read_bytes())
    subprocess.run(["mount", "--bind", str(pinned), str(history)], check=True)
    try:
        result = stack.run("release", "v1.1.0")
    finally:
        subprocess.run(["umount", str(history)], check=False)
    assert result.returncode == 18, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert f"cannot write the release notes: {history}: Device or resource busy" in said, said
    assert "no notes file was changed, while every tag is written" in said
    assert {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()} == before
    rerun = stack.run("release", "v1.1.0")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert no_build_ran(rerun)
    assert {"v1.1.0.md", "v1.1.0.json", "v1.1.0.env"} <= {p.name for p in stack.notes_dir.iterdir()}
    assert "v1.1.0" in json.loads(history.read_text())["releases"]
    # A record left without its pins file (a run of an earlier publisher, a file removed):
    # audit names it, with the rerun that writes it, as it names a record's missing tags.
    (stack.notes_dir / "v1.1.0.env").unlink()
    audit = stack.run("audit")
    assert audit.returncode == 12, audit.stdout + audit.stderr
    said = " ".join(audit.stderr.split())
    assert "v1.1.0's record is here, but its pins file v1.1.0.env is missing" in said, said
    assert "publisher release v1.1.0" in said
    assert stack.run("release", "v1.1.0").returncode == 0
    assert (stack.notes_dir / "v1.1.0.env").is_file()
    assert stack.run("audit").returncode == 0


def test_step_outputs_a_full_disk_refuses_say_the_release_is_done_all_the_same(
    tmp_path, tools, bases, fresh_registry
):
    """In Actions, the step outputs are written last: a full disk there is exit 18 with the
    full-disk tip (not "the runner sets GITHUB_OUTPUT to a writable file"), saying every
    tag and the notes are written."""
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": "/dev/full"}
    result = stack.run("release", "v1.0.0", env=actions)
    assert result.returncode == 18, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "cannot write the step outputs to GITHUB_OUTPUT=/dev/full" in said, said
    assert "every tag of v1.0.0 and its notes are written all the same" in said, said
    assert "is full: free space there" in said and "writable file" not in said, said
    assert (stack.notes_dir / "v1.0.0.env").is_file()


def test_oversized_inputs_are_refused_at_once(tmp_path, tools, bases, fresh_registry):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    big = tmp_path / "big.yaml"
    with open(big, "w", encoding="utf-8") as handle:
        handle.write("lines:\n")
        for _ in range(1_000_000):
            handle.write('  - php: "8.4"\n')
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "plan", "v1.0.0", "--config", str(big)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3 and "larger than" in result.stderr
    assert time.monotonic() - started < 30
    stack.notes_dir.mkdir(parents=True, exist_ok=True)
    (stack.notes_dir / "v1.0.0.json").write_text(" " * (5 * 1024 * 1024) + "{}")
    verify = stack.run("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))
    assert verify.returncode == 3 and "larger than" in verify.stderr


def test_a_corrupt_record_is_an_error_everywhere_never_absent(
    tmp_path, tools, bases, fresh_registry
):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.notes_dir.mkdir(parents=True)
    (stack.notes_dir / "v1.0.0.json").write_text('{"schema": 1, "release": "v1.0.0",')
    for argv in (
        ["verify", "v1.0.0", "--notes-dir", str(stack.notes_dir)],
        ["republish", "v1.0.0", "--reason", "r", "--notes-dir", str(stack.notes_dir)],
        ["publish", "v1.0.0", "--digests", str(tmp_path), "--notes-dir", str(stack.notes_dir)],
        ["republish-check", "--notes-dir", str(stack.notes_dir)],
    ):
        result = stack.run(*argv)
        assert result.returncode == 3, (argv, result.stderr)
        assert "v1.0.0.json:1:" in result.stderr and "internal error" not in result.stderr


def test_half_moved_floating_tags_are_named_and_a_rerun_makes_the_registries_identical(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    hub, ghcr = fresh_registry(), fresh_registry()
    front_ghcr = proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub.host, front_ghcr.host, bases)
    front_ghcr.add(Fault("status", method="PUT", path=FLOATING_PUT, status=403, times=None))
    result = stack.run("release", "v1.0.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    assert result.returncode != 0
    assert "registries now disagree" in result.stderr
    said = " ".join(result.stderr.split())
    # v1.0.0 has no record yet, so audit --repair could not converge: the tip says the rerun
    assert "latest" in said and "rerun the same command" in said, said
    assert "v1.0.0 has no record yet" in said and "or run `" not in said, said
    # Which tags differ where: each floating tag hub holds now, with its digest there,
    # and ghcr without it.
    on_hub = skopeo_tag_map(tools["skopeo"], hub.host, stack.repo)
    floating = sorted(t for t in on_hub if t == "latest" or t.startswith("php-"))
    assert floating == ["latest", "php-8.3", "php-8.4"], on_hub
    for tag in floating:
        line = f"  - {tag}: hub {on_hub[tag][:19]}…, ghcr (absent)"
        assert line in result.stderr.splitlines(), result.stderr
    front_ghcr.clear()
    stack.release("v1.0.0", "--no-smoke")
    on_hub, on_ghcr = tag_maps(stack, tools["skopeo"], hub.host, ghcr.host)
    assert on_hub == on_ghcr == expected_tags(stack, ["v1.0.0"])


def test_audit_reports_each_drift_and_repair_restores_the_records(
    tmp_path, tools, bases, fresh_registry
):
    hub, ghcr = fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    skopeo = tools["skopeo"]
    for release in ("v1.0.0", "v1.1.0"):
        stack.release(release, "--no-smoke")
    expected = expected_tags(stack, ["v1.0.0", "v1.1.0"])
    clean = stack.ok("audit", "--notes-dir", str(stack.notes_dir))
    assert "2 releases match their records" in clean.stdout + clean.stderr
    # Drift 1: v1.0.0's 8.3 index is deleted on ghcr (its tags go with it).
    gone = stack.index_digests("v1.0.0")["8.3"]
    subprocess.run(
        [skopeo, "delete", "--tls-verify=false", f"docker://{ghcr.host}/{stack.repo}@{gone}"],
        check=True,
        capture_output=True,
    )
    # Drift 2: php-8.4 moved back to v1.0.0 by hand on hub.
    back = stack.index_digests("v1.0.0")["8.4"]
    copy_image(
        skopeo,
        f"docker://{hub.host}/{stack.repo}@{back}",
        f"docker://{hub.host}/{stack.repo}:php-8.4",
    )
    on_hub, on_ghcr = tag_maps(stack, skopeo)
    assert on_hub != on_ghcr  # the registries disagree
    found = stack.run("audit", "--notes-dir", str(stack.notes_dir), "--json")
    assert found.returncode == 12, found.stderr
    report = json.loads(found.stdout)
    seen = {(f["registry"], f["kind"], f["tag"]) for f in report["findings"]}
    assert ("ghcr", "missing", "v1.0.0-php-8.3") in seen
    assert ("hub", "floating", "php-8.4") in seen
    repaired = stack.ok("audit", "--repair", "--notes-dir", str(stack.notes_dir))
    assert "copied" in repaired.stdout + repaired.stderr
    stack.ok("audit", "--notes-dir", str(stack.notes_dir))
    on_hub, on_ghcr = tag_maps(stack, skopeo)
    assert on_hub == on_ghcr == expected
    assert skopeo_children_present(skopeo, ghcr.host, stack.repo, gone)


def test_audit_after_a_half_finished_release_keeps_floating_tags_on_the_records(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """A release that died writing its pins (all on hub, the primary, which gets
    them first; one on ghcr; no record) is named with the command that finishes it;
    no floating tag follows it, and --repair makes the floating tags identical
    everywhere, as the records say."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub.host, front.host, bases)
    skopeo = tools["skopeo"]
    stack.release("v1.0.0", "--no-smoke")
    front.add(
        Fault(
            "status", method="PUT", path=r"/manifests/v1\.1\.0(-php-8\.4)?$", status=403, times=None
        )
    )
    died = stack.run("release", "v1.1.0", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    assert died.returncode != 0 and not (stack.notes_dir / "v1.1.0.json").exists()
    front.clear()
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert len(pins_of(on_hub, "v1.1.0")) == 3 and pins_of(on_ghcr, "v1.1.0") == ["v1.1.0-php-8.3"]
    recorded = expected_tags(stack, ["v1.0.0"])
    floating = ("latest", "php-8.3", "php-8.4")
    unfinished = {t: d for t, d in on_hub.items() if t.startswith("v1.1.0")}

    def audit(*extra: str) -> subprocess.CompletedProcess[str]:
        return stack.run("audit", "--notes-dir", str(stack.notes_dir), *extra)

    found = audit()
    assert found.returncode == 12 and "`publisher release v1.1.0`" in found.stderr
    repaired = audit("--repair")
    assert repaired.returncode == 12 and "`publisher release v1.1.0`" in repaired.stderr
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    for tag in floating:
        assert on_hub[tag] == on_ghcr[tag] == recorded[tag], tag
    assert {t: d for t, d in on_hub.items() if t.startswith("v1.1.0")} == unfinished

    # Had a run moved a floating tag to it, hub's latest would carry v1.1.0.
    copy_image(
        skopeo,
        f"docker://{hub.host}/{stack.repo}:v1.1.0",
        f"docker://{hub.host}/{stack.repo}:latest",
    )
    report = json.loads(audit("--json").stdout)
    seen = {(f["registry"], f["kind"], f["tag"]) for f in report["findings"]}
    assert {("hub", "floating", "latest"), ("hub, ghcr", "disagree", "latest")} <= seen
    assert [f["release"] for f in report["findings"] if f["kind"] == "disagree"] == [None]
    assert "content of v1.1.0, which has no record" in json.dumps(report)
    assert audit("--repair").returncode == 12
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert on_hub["latest"] == on_ghcr["latest"] == recorded["latest"]

    # Another release meanwhile (a backport) follows only finished releases with
    # its floating tags, on both registries alike.
    stack.release("v1.0.1", "--no-smoke")
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    after_backport = expected_tags(stack, ["v1.0.0", "v1.0.1"])
    for tag in floating:
        assert on_hub[tag] == on_ghcr[tag] == after_backport[tag], tag

    # Finishing the release is what makes the audit pass.
    stack.release("v1.1.0", "--no-smoke")
    stack.ok("audit", "--notes-dir", str(stack.notes_dir))
    finished = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert finished == [expected_tags(stack, ["v1.0.0", "v1.0.1", "v1.1.0"])] * 2

    # A notes directory without v1.1.0's record (its notes not merged yet): the
    # floating tags carrying it are ahead of the records; a repair never rolls
    # them back to v1.0.1.
    stale = tmp_path / "stale-notes"
    stale.mkdir()
    for name in ("v1.0.0.json", "v1.0.1.json"):
        (stale / name).write_bytes((stack.notes_dir / name).read_bytes())
    ahead = stack.run("audit", "--repair", "--json", "--notes-dir", str(stale))
    assert ahead.returncode == 12, ahead.stdout + ahead.stderr
    kinds = {(f["registry"], f["tag"]): f["kind"] for f in json.loads(ahead.stdout)["findings"]}
    assert kinds[("hub", "latest")] == kinds[("ghcr", "latest")] == "ahead"
    assert tag_maps(stack, skopeo, hub.host, ghcr.host) == finished


def expected_from_records(stack: Stack, done: Sequence[str]) -> dict[str, str]:
    """Every tag after the releases in ``done``, from their records: each pin, ``vX.Y.Z`` =
    that release's own default-line pin, ``php-A.B`` = the highest stable release with
    that line, ``latest`` = the content of the highest stable ``vX.Y.Z``."""
    from publisher.core.version import parse_release

    expected: dict[str, str] = {}
    by_line: dict[str, tuple[object, str]] = {}
    for tag in done:
        notes = stack.notes(tag)
        digests = stack.index_digests(tag)
        for php, digest in digests.items():
            expected[f"{tag}-php-{php}"] = digest
            release = parse_release(tag)
            if release.is_stable and (
                php not in by_line or by_line[php][0] < release  # type: ignore[operator]
            ):
                by_line[php] = (release, digest)
        expected[tag] = digests[str(notes["default_line"])]
    for php, (_release, digest) in by_line.items():
        expected[f"php-{php}"] = digest
    stable = [t for t in done if parse_release(t).is_stable]
    if stable:
        expected["latest"] = expected[max(stable, key=parse_release)]
    return expected


def test_the_life_of_a_release_on_three_registries(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """The issue's whole sequence: prereleases, backports, concurrent releases, a default-line
    change, a backport with the old matrix, a republish and a rerun after the bases moved,
    and a dry run; every tag on every registry checked with skopeo after each step."""
    regs = [fresh_registry() for _ in range(3)]
    fronts = [proxy_for(r.host) for r in regs]
    stack = Stack(
        tmp_path / "s",
        fronts[0].host,
        fronts[1].host,
        bases.host,
        repo="acme/php-fpm",
        more=(fronts[2].host,),
    )
    skopeo = tools["skopeo"]
    done: list[str] = []

    def check(step: str) -> list[dict[str, str]]:
        maps = [skopeo_tag_map(skopeo, r.host, stack.repo) for r in regs]
        expected = expected_from_records(stack, done)
        for found in maps:
            assert found == expected, step
        return maps

    for release in ("v0.9.0", "v1.0.0-rc.9", "v1.0.0-rc.10", "v1.0.0", "v0.9.1"):
        stack.release(release, "--no-smoke")
        done.append(release)
        check(release)
    # v1.1.0 and v1.0.1 at once
    runs = [
        stack.start("release", tag, "--no-smoke", "--notes-dir", str(stack.notes_dir))
        for tag in ("v1.1.0", "v1.0.1")
    ]
    assert [p.wait(timeout=900) for p in runs] == [0, 0], (stack.root / "run.log").read_text()
    done += ["v1.1.0", "v1.0.1"]
    check("v1.1.0 with v1.0.1")
    # v2.0.0 with the default line changed to 8.3
    old_matrix = stack.root / "matrix-8.4.yaml"
    shutil.copy(stack.matrix, old_matrix)
    text = stack.matrix.read_text()
    stack.matrix.write_text(text.replace("default_line: '8.4'", "default_line: '8.3'"))
    stack.release("v2.0.0", "--no-smoke")
    done.append("v2.0.0")
    maps = check("v2.0.0, default line 8.3")
    assert maps[0]["latest"] == stack.index_digests("v2.0.0")["8.3"]
    # a v1.1.1 backport made with the old matrix (default 8.4)
    new_matrix, stack.matrix = stack.matrix, old_matrix
    stack.release("v1.1.1", "--no-smoke")
    stack.matrix = new_matrix
    done.append("v1.1.1")
    maps = check("v1.1.1 backport with the old matrix")
    assert maps[0]["v1.1.1"] == stack.index_digests("v1.1.1")["8.4"]
    # republish v1.1.0 after its bases changed: it keeps its recorded default line 8.4
    patch_base(tmp_path, bases, "republish-v1.1.0", lines=LINES)
    before = stack.index_digests("v1.1.0")
    stack.ok(
        "republish",
        "v1.1.0",
        "--reason",
        "base update",
        "--no-smoke",
        "--notes-dir",
        str(stack.notes_dir),
    )
    after = stack.index_digests("v1.1.0")
    assert after != before and stack.notes("v1.1.0")["default_line"] == "8.4"
    maps = check("republish v1.1.0")
    assert maps[0]["v1.1.0"] == after["8.4"]
    # rerun v1.0.0 after the bases moved again: no build, no tag or manifest change
    patch_base(tmp_path, bases, "rerun-v1.0.0", lines=LINES)
    for front in fronts:
        front.reset_counts()
    recorded = stack.notes("v1.0.0")
    assert "latest" in {tag for line in recorded["lines"] for tag in line["tags"]}
    notes_before = {p.name: p.read_bytes() for p in stack.notes_dir.glob("v1.0.0.*")}
    rerun = stack.release("v1.0.0", "--no-smoke")
    assert no_build_ran(rerun), rerun.stdout
    # ... and its notes stay as written when it was the newest release (its date, plan,
    # floating tags, and the latest/php-X.Y tags a newer release holds since).
    assert {p.name: p.read_bytes() for p in stack.notes_dir.glob("v1.0.0.*")} == notes_before
    dry = stack.release("v1.0.0", "--dry-run")
    assert no_build_ran(dry)
    for front in fronts:
        assert front.mutating_requests == 0, [(s.method, s.path) for s in front.log]
    assert check("rerun and dry run of v1.0.0") == maps


def test_a_rehearsal_and_its_dry_run_after_an_earlier_rehearsal(tmp_path, tools, bases):
    """Each rehearsal runs on new throwaway registries, so the digest records an
    earlier one left name registries that are gone: the rerun rebuilds those legs,
    and its dry run says it will, instead of refusing the records. The earlier
    rehearsal's record binds nothing either: a rehearsal after a matrix change
    rehearses today's matrix and says it replaces the earlier notes."""
    stack = make_stack(tmp_path, "127.0.0.1:1", "127.0.0.1:2", bases)
    first = stack.run("release", "v1.0.0", "--local", "--no-smoke", "--only", "8.4")
    assert first.returncode == 0, first.stdout + first.stderr
    notes = (stack.root / ".publisher" / "local" / "release-notes" / "v1.0.0.md").read_text(
        encoding="utf-8"
    )
    assert "Rehearsed on throwaway registries" in notes and "Published" not in notes
    assert "v1.0.0.json and the pins file v1.0.0.env" in first.stdout  # all it wrote
    dry = stack.run("release", "v1.0.0", "--local", "--dry-run", "--only", "8.4")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Resolve the base images (1 line)" in first.stderr + dry.stderr, first.stderr
    assert "buildah build" in dry.stdout  # the commands it would run: it rebuilds
    # what the copy of a line not built yet takes is unknown: said, never "nothing"
    assert "Copies: PHP 8.4: built by this run, then copied to ghcr" in dry.stdout
    assert "nothing to copy" not in dry.stdout
    # the human dry run is its tables; the plan as JSON is --json's (no trailing dump)
    assert "add --json to print this plan as JSON" in dry.stdout
    assert not [line for line in dry.stdout.splitlines() if line.strip() in ("{", "}")]
    # In Actions too, --json leaves stdout to the plan: the log groups go to stderr.
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    planned = stack.run(
        "release", "v1.0.0", "--local", "--dry-run", "--json", "--only", "8.4", env=actions
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert json.loads(planned.stdout)["release"] == "v1.0.0"
    assert "::group::" in planned.stderr
    record = stack.root / ".publisher" / "local" / "release-notes" / "v1.0.0.json"

    def budget() -> int:
        return int(json.loads(record.read_text(encoding="utf-8"))["lines"][0]["size_budget_bytes"])

    assert budget() == 50_000_000
    matrix = yaml.safe_load(stack.matrix.read_text(encoding="utf-8"))
    stack.matrix.write_text(yaml.safe_dump({**matrix, "size_budget_mb": 45}), encoding="utf-8")
    again = stack.run("release", "v1.0.0", "--local", "--no-smoke", "--only", "8.4")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "v1.0.0 was rehearsed before; this rehearsal starts from today's" in again.stderr
    assert "rehearsed before" not in again.stdout  # the run's progress, not its result
    assert budget() == 45_000_000  # today's matrix, not the earlier rehearsal's record
    # The record names the earlier rehearsal's registries: not a repository move.
    rehearsed = stack.run(
        "republish", "v1.0.0", "--reason", "r", "--local", "--no-smoke", "--only", "8.4"
    )
    assert rehearsed.returncode == 0, rehearsed.stdout + rehearsed.stderr


def test_a_rehearsal_with_fewer_lines_leaves_no_size_of_the_lines_it_replaced(
    tmp_path, tools, bases
):
    """A rehearsal replaces an earlier rehearsal of the same tag, record and sizes alike:
    after v1.0.0 with both lines, then with 8.4 alone, size-history.json holds 8.4's
    sizes for v1.0.0, as its record does, and no 8.3 size from the replaced one that a
    later size-regression check would take for v1.0.0's."""
    stack = make_stack(tmp_path, "127.0.0.1:1", "127.0.0.1:2", bases)
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    both = stack.run("release", "v1.0.0", "--local", "--no-smoke", "--jobs", "1", env=env)
    assert both.returncode == 0, both.stdout + both.stderr
    notes = stack.root / ".publisher" / "local" / "release-notes"

    def sized() -> list[str]:
        history = json.loads((notes / "size-history.json").read_text(encoding="utf-8"))
        return sorted(history["releases"]["v1.0.0"])

    assert sized() == sorted(LINES)
    again = stack.run("release", "v1.0.0", "--local", "--no-smoke", "--only", DEFAULT_LINE, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    record = json.loads((notes / "v1.0.0.json").read_text(encoding="utf-8"))
    assert [line["php"] for line in record["lines"]] == [DEFAULT_LINE]
    assert sized() == [DEFAULT_LINE]


@pytest.mark.parametrize("by", ["--only", "PUBLISHER_LINES"])
def test_the_build_check_rehearses_a_line_that_is_not_the_default(tmp_path, tools, bases, by):
    """image-build.yml rehearses each line alone (`--only X.Y`, one platform): a line other
    than the default is rehearsed, saying so (as progress: no warning on every green run),
    where a release refuses to leave the default line out. PUBLISHER_LINES leaving it out is
    told as a warning: a rehearsal publishes nothing that could be kept, so it is no mistake
    there, but no one asked for it on the command line."""
    stack = make_stack(tmp_path, "127.0.0.1:1", "127.0.0.1:2", bases)
    other = next(php for php in LINES if php != DEFAULT_LINE)
    argv = ["release", "v0.0.0-build-check", "--local", "--no-smoke"]
    env = {"PUBLISHER_PLATFORMS": "linux/amd64"}
    if by == "--only":
        argv += ["--only", other]
    else:
        env[by] = other
    checked = stack.run(*argv, "--jobs", "1", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    said = " ".join(checked.stderr.split())
    assert f"rehearsing v0.0.0-build-check without PHP {DEFAULT_LINE}, its default line" in said
    # what --only asked for is no warning: image-build.yml's green runs warn of nothing
    assert ("warning: rehearsing v0.0.0-build-check" in said) is (by != "--only"), said
    record = stack.root / ".publisher" / "local" / "release-notes" / "v0.0.0-build-check.json"
    facts = json.loads(record.read_text(encoding="utf-8"))
    assert [line["php"] for line in facts["lines"]] == [other]
    # what a later republish smoke-tests, whatever matrix.yaml says by then
    assert facts["lines"][0]["extensions"] == ["bcmath", "gd", "redis"]


def v110_on_the_primary_only(
    tmp_path: Path, bases: LocalRegistry, fresh_registry, proxy_for
) -> tuple[Stack, LocalRegistry, LocalRegistry, FaultProxy]:
    """v1.0.0 released on hub and ghcr, then v1.1.0 run until it has written its pins
    on hub (the primary) and none on ghcr, which refuses every tag write meanwhile (the
    stack reaches ghcr through the proxy returned, cleared)."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(ghcr.host)
    stack = make_stack(tmp_path, hub.host, front.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    front.add(Fault("status", method="PUT", path=TAG_PUT, status=503, times=None))
    died = stack.run(
        "release",
        "v1.1.0",
        "--no-smoke",
        "--notes-dir",
        str(stack.notes_dir),
        env={"PUBLISHER_RETRY_ATTEMPTS": "1"},
    )
    assert died.returncode != 0, died.stdout + died.stderr
    front.clear()
    return stack, hub, ghcr, front


def test_a_release_that_reached_only_the_primary_stops_the_next_one_before_any_tag(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """v1.1.0 died after writing its pins on hub (the primary, first) and before
    ghcr got any. A backport would point hub's floating tags at v1.1.0 and ghcr's at
    itself: it stops before writing any tag, saying how to finish v1.1.0; once
    v1.1.0 is finished, the backport moves nothing floating."""
    stack, hub, ghcr, _front = v110_on_the_primary_only(tmp_path, bases, fresh_registry, proxy_for)
    skopeo = tools["skopeo"]
    before = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert "v1.1.0" in before[0] and "v1.1.0" not in before[1]
    backport = stack.run("release", "v1.0.1", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    assert backport.returncode == 12, backport.stdout + backport.stderr
    assert "the registries hold different releases" in backport.stderr
    # Read twice, found alike, refused: no waiting out the whole settling time.
    assert backport.stderr.count("reading them again") == 1, backport.stderr
    assert "`publisher release`" in backport.stderr
    assert tag_maps(stack, skopeo, hub.host, ghcr.host) == before  # no tag written
    stack.release("v1.1.0", "--no-smoke")
    stack.release("v1.0.1", "--no-smoke")
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert on_hub == on_ghcr == expected_tags(stack, ["v1.0.0", "v1.1.0", "v1.0.1"])


def test_a_release_caught_between_the_registries_is_waited_for(
    tmp_path, tools, bases, fresh_registry, proxy_for
):
    """Scenario 15 at its narrowest: a backport reads the registries while another
    release has written its pins on the primary and not yet on the other registry.
    It reads them again after a pause, finds them moving, and goes on once the
    other release's pins are everywhere; the floating tags then agree.

    The backport's next reading of ghcr is held until those pins are all there: on a
    loaded machine, copying them can take longer than its pause, and a reading that
    found nothing moved yet would refuse (rightly: nothing moved)."""
    stack, hub, ghcr, front = v110_on_the_primary_only(tmp_path, bases, fresh_registry, proxy_for)
    skopeo = tools["skopeo"]
    backport = stack.start("release", "v1.0.1", "--no-smoke", "--notes-dir", str(stack.notes_dir))
    log = stack.root / "run.log"
    deadline = time.monotonic() + 300
    while "reading them again" not in log.read_text(encoding="utf-8"):
        assert backport.poll() is None, log.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
        time.sleep(0.1)
    held = Fault("stall", method="GET", path="/tags/list", stall_seconds=600, times=None)
    front.add(held)  # (the backport is pausing: its next reading lists the tags again)
    try:
        # The other release goes on writing its pins: now on ghcr too (not through front).
        for tag in ["v1.1.0", *(f"v1.1.0-php-{php}" for php in LINES)]:
            copy_image(
                skopeo,
                f"docker://{hub.host}/{stack.repo}:{tag}",
                f"docker://{ghcr.host}/{stack.repo}:{tag}",
            )
    finally:
        front.release()
    assert backport.wait(timeout=600) == 0, log.read_text(encoding="utf-8")
    on_hub, on_ghcr = tag_maps(stack, skopeo, hub.host, ghcr.host)
    assert on_hub == on_ghcr
    v110 = {f"v1.1.0-php-{php}": on_hub[f"v1.1.0-php-{php}"] for php in LINES}
    assert on_hub["latest"] == v110["v1.1.0-php-8.4"]
    assert all(on_hub[f"php-{php}"] == v110[f"v1.1.0-php-{php}"] for php in LINES)


# --------------------------------------------------------------------------- scenarios 21, 22, 31


def test_a_canary_password_echoed_back_in_debug_mode_appears_nowhere(
    tmp_path, tools, bases, basic_registry, fresh_registry, proxy_for
):
    """A whole release in GitHub Actions mode with --debug, its primary behind basic auth
    with a canary password, while the registry echoes the Authorization header back in
    two 503 answers. The release finishes; the canary is masked before its first use
    and is in no output, notes, JSON, digest record, step summary or lasting file; the
    smoke tests pull with it through stdin, never argv (RELIABILITY 21, 22 and 31)."""
    import base64
    import os
    import uuid

    secret = basic_registry.password
    basic = base64.b64encode(f"{basic_registry.username}:{secret}".encode()).decode()
    front = proxy_for(basic_registry)
    ghcr = fresh_registry()
    stack = Stack(
        tmp_path / "s",
        front.host,
        ghcr.host,
        bases.host,
        repo=f"acme/canary-{uuid.uuid4().hex[:8]}",
        lines=("8.4",),
    )
    data = yaml.safe_load(stack.matrix.read_text())
    data["registries"][0].update(username_env="HUB_USER", password_env="HUB_PASSWORD")
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    # Every buildah call goes through a shim that records its argv.
    shims = tmp_path / "bin"
    shims.mkdir()
    argv_log = tmp_path / "buildah-argv.log"
    (shims / "buildah").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{tools["buildah"]}" "$@"\n'
    )
    (shims / "buildah").chmod(0o755)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "home").mkdir()
    summary = tmp_path / "summary.md"
    env = {
        "HUB_USER": basic_registry.username,
        "HUB_PASSWORD": secret,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "TMPDIR": str(tmp_path / "tmp"),
        "HOME": str(tmp_path / "home"),
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
    }
    # A careless registry echoes the credentials back: once in a retryable answer, then
    # in a refusal of every tag write, which stops the first run with its error.
    front.add(Fault("echo", method="HEAD", path="/blobs/", status=503, times=1))
    front.add(Fault("echo", method="PUT", path=TAG_PUT, status=400, times=None))
    runtime_auth = Path(f"/run/containers/{os.getuid()}/auth.json")
    runtime_before = runtime_auth.read_bytes() if runtime_auth.exists() else None

    def release() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            stack.argv("--debug", "release", "v1.0.0", "--notes-dir", str(stack.notes_dir)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, so that the order of mask and use shows
            text=True,
            env=stack.process_env(env),
            cwd=stack.root,
            timeout=600,
            check=False,
        )

    refused = release()
    assert refused.returncode == 9, refused.stdout
    assert "DENIED" in refused.stdout  # the registry's error, as it said it
    echoed = [s for s in front.log if s.fault == "echo"]
    assert {s.method for s in echoed} == {"HEAD", "PUT"}
    assert all(s.headers.get("Authorization") == f"Basic {basic}" for s in echoed)
    front.clear()
    finished = release()
    assert finished.returncode == 0, finished.stdout
    out = refused.stdout + finished.stdout

    for run in (refused, finished):
        lines = run.stdout.splitlines()
        assert f"::add-mask::{secret}" in lines
        # The first use: a request to the release's repository, or a command given the
        # primary (a login), whichever the debug log shows first.
        first_use = next(
            i
            for i, line in enumerate(lines)
            if line.startswith("debug: ")
            and (f" /v2/{stack.repo}/" in line or (" + " in line and front.host in line))
        )
        assert lines.index(f"::add-mask::{secret}") < first_use
    lines = out.splitlines()
    unmasked = "\n".join(line for line in lines if not line.startswith("::add-mask::"))
    for needle in (secret, basic):
        assert needle not in unmasked
        assert needle not in summary.read_text(encoding="utf-8")
        leaked = [
            p
            for p in tmp_path.rglob("*")
            if p.is_file() and not p.is_symlink() and needle.encode() in p.read_bytes()
        ]
        assert leaked == [], leaked  # notes, JSON, digest records, outputs, temporary files
    assert json.loads((stack.notes_dir / "v1.0.0.json").read_text())["release"] == "v1.0.0"
    assert list(stack.digests_dir("v1.0.0").glob("*.json"))
    assert "### Published v1.0.0" in summary.read_text(encoding="utf-8")
    # the step outputs, in one write by the run that finished (the refused one wrote none)
    written = (tmp_path / "output.txt").read_text(encoding="utf-8")
    outputs = parse_outputs(written)
    digests = json.loads(outputs["digests"])
    assert digests and all(outputs[f"digest-{php}"] == d for php, d in digests.items())
    assert written.count("\ndigests=") + written.startswith("digests=") == 1, written
    assert not [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("publisher-")]
    after = runtime_auth.read_bytes() if runtime_auth.exists() else None
    assert after == runtime_before  # buildah's own auth file was not used

    # The smoke tests pulled from the primary with the credentials: given on stdin.
    calls = argv_log.read_text().splitlines()
    logins = [c for c in calls if c.startswith("login ")]
    assert any("--password-stdin" in c and c.endswith(front.host) for c in logins), calls
    assert any(c.startswith("from ") and "--authfile" in c and front.host in c for c in calls)
    assert not [c for c in calls if secret in c or basic in c]


def test_audit_names_each_floating_tag_a_registry_added_later_lacks_once(
    tmp_path, tools, bases, fresh_registry
):
    """A registry added to matrix.yaml after a release was published holds none of its
    tags: each floating tag it lacks is one finding (not also the registries
    disagreeing on it, nor "points at (absent)"), its tip `audit --repair`, which copies
    them."""
    hub, ghcr, added = fresh_registry(), fresh_registry(), fresh_registry()
    stack = make_stack(tmp_path, hub.host, ghcr.host, bases)
    stack.release("v1.0.0", "--no-smoke")
    grown = Stack(stack.root, hub.host, ghcr.host, bases.host, repo=stack.repo, more=[added.host])
    found = grown.run("audit", "--notes-dir", str(grown.notes_dir))
    assert found.returncode == 12, found.stdout + found.stderr
    said = found.stderr
    assert "disagree" not in said, said
    recorded = expected_tags(stack, ["v1.0.0"])
    for tag in ("latest", "php-8.3", "php-8.4"):
        assert said.count(f" {tag} ") == 1, said
        assert (
            f"extra0: {tag} is missing; the recorded pins say {recorded[tag][:19]}… (v1.0.0)"
        ) in said, said
    assert "(absent)" not in said, said
    assert "tip: run `publisher audit --repair` to restore what the records say" in said, said
    report = json.loads(grown.run("audit", "--notes-dir", str(grown.notes_dir), "--json").stdout)
    seen = sorted((f["registry"], f["kind"], f["tag"]) for f in report["findings"])
    assert seen == [
        ("extra0", "floating", "latest"),
        ("extra0", "floating", "php-8.3"),
        ("extra0", "floating", "php-8.4"),
        ("extra0", "missing", "v1.0.0"),
        ("extra0", "missing", "v1.0.0-php-8.3"),
        ("extra0", "missing", "v1.0.0-php-8.4"),
    ], seen
    assert all(f["actual"] is None for f in report["findings"])
    grown.ok("audit", "--repair", "--notes-dir", str(grown.notes_dir))
    grown.ok("audit", "--notes-dir", str(grown.notes_dir))
