"""A registry holding a damaged blob (cut short in its storage) is found by the size its
HEAD gives, not passed as "complete": verify and a publish rerun say which blob, under
which image and tag, and both sizes (exit 8); a copy uploads it again and says so when
the registry keeps the damaged copy (the distribution registry answers the upload 201
and keeps what it holds). Real loopback registries; the blob file truncated in the
registry's storage directory, the registry restarted (it keeps blob sizes in memory).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_record_scope import World, make_world
from tests.integration.test_registry_outage import hub_behind_a_proxy
from tests.support.faultproxy import Fault
from tests.support.images import OCI_INDEX, make_image, raw_delete_manifest, raw_remove_tag
from tests.support.publishing import seed_image

pytestmark = pytest.mark.integration

OCI_IMAGE = "application/vnd.oci.image.manifest.v1+json"


def _layer(host: str, repo: str, index: str) -> tuple[str, str, int]:
    """(the platform image's digest, its first layer's digest, the layer's size)."""
    base = f"http://{host}/v2/{repo}/manifests"
    children = requests.get(f"{base}/{index}", headers={"Accept": OCI_INDEX}, timeout=30).json()
    child = next(m for m in children["manifests"] if m.get("platform"))["digest"]
    image = requests.get(f"{base}/{child}", headers={"Accept": OCI_IMAGE}, timeout=30).json()
    layer = image["layers"][0]
    return child, layer["digest"], layer["size"]


def _damage(registry: Any, storage: Path, digest: str, size: int) -> None:
    """Cut the blob's file in the storage to ``size`` bytes, the registry restarted."""
    registry.stop()
    os.truncate(
        storage / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data", size
    )
    registry.start()


def _rerun_publish(world: World, matrix: Path) -> subprocess.CompletedProcess[str]:
    """publish v1.0.0 again, from the digests its first publish wrote."""
    return world.rerun("v1.0.0", matrix)


@pytest.fixture
def damaged(
    tmp_path: Path, fresh_registry: Callable[..., Any], write_matrix: Any
) -> tuple[Any, Any, Path, dict[str, Any]]:
    """v1.0.0 (PHP 8.3 and 8.4, amd64) published to hub and ghcr; ghcr's storage at hand."""
    storage = tmp_path / "ghcr-storage"
    hub, ghcr = fresh_registry(), fresh_registry(storage=storage)
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=ghcr.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    facts = {"storage": str(storage), "index": digests["8.3"], "8.4": digests["8.4"], "hub": hub}
    return world, ghcr, matrix, facts


def test_verify_and_a_publish_rerun_name_a_blob_a_registry_holds_damaged(damaged: Any) -> None:
    world, ghcr, matrix, facts = damaged
    _, layer, size = _layer(ghcr.host, world.repo, facts["index"])
    _damage(ghcr, Path(facts["storage"]), layer, size // 2)

    runs = {
        "verify": world.run("verify", "v1.0.0", matrix=matrix),
        "publish": _rerun_publish(world, matrix),
    }
    for command, result in runs.items():
        said = " ".join((result.stdout + result.stderr).split())  # the lines wrapped
        assert result.returncode == 8, (command, said)
        assert ghcr.host in said and layer in said, (command, said)
        assert f"{size // 2} bytes" in said and str(size) in said, (command, said)
        assert "upload does not replace" in said, said
        assert "consistent everywhere" not in said and "Traceback" not in said, said
    # verify names the image and its tags; the copy (before any tag is written) uploads
    # the blob again, and says the registry kept its damaged copy
    said = " ".join(runs["verify"].stderr.split())
    assert "linux/amd64 layer 1 of 1 blob" in said and "v1.0.0-php-8.3" in said, said
    assert f"holds {size // 2} bytes" in said and f"descriptor says {size}" in said, said
    copied = " ".join(runs["publish"].stderr.split())
    assert "it keeps the damaged copy it holds" in copied, copied
    report = json.loads(world.run("verify", "v1.0.0", "--json", matrix=matrix).stdout)
    assert report["error"]["exit_code"] == 8 and layer in report["error"]["message"], report


def test_verify_reports_a_damaged_blob_among_the_other_defects_and_checks_everything_else(
    damaged: Any,
) -> None:
    """ghcr holds PHP 8.3's layer damaged, and neither registry holds the floating tag
    php-8.4 any more: verify reports the damaged blob as one defect (the blob, layer or
    config, its image and tag, the registry, both sizes) beside each missing tag, on
    ghcr too (the rest of ghcr is still checked, not left out as a registry sending an
    invalid response), in text and in --json, and still ends with exit 8."""
    world, ghcr, matrix, facts = damaged
    _, layer, size = _layer(ghcr.host, world.repo, facts["index"])
    raw_remove_tag(facts["hub"], world.repo, "php-8.4")
    storage = Path(facts["storage"])
    shutil.rmtree(
        storage / "docker/registry/v2/repositories" / world.repo / "_manifests/tags/php-8.4"
    )
    _damage(ghcr, storage, layer, size // 2)

    result = world.run("verify", "v1.0.0", matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())  # the lines wrapped
    assert result.returncode == 8, said
    assert "linux/amd64 layer 1 of 1 blob" in said and layer in said, said
    assert "v1.0.0-php-8.3" in said and ghcr.host in said, said
    assert f"holds {size // 2} bytes" in said and f"descriptor says {size}" in said, said
    for registry in ("hub", "ghcr"):
        assert f"tag 'php-8.4' is missing on {registry}" in said, said
    assert "invalid response" not in said and "upload does not replace" in said, said
    assert "consistent everywhere" not in said and "Traceback" not in said, said

    report = json.loads(world.run("verify", "v1.0.0", "--json", matrix=matrix).stdout)
    assert report["error"]["exit_code"] == 8 and not report["ok"], report
    kinds = sorted((d["kind"], d["registry"], d["php"]) for d in report["defects"])
    assert kinds == [
        ("damaged-blob", "ghcr", "8.3"),
        ("tag-missing", "ghcr", "8.4"),
        ("tag-missing", "hub", "8.4"),
    ], report["defects"]
    blob = next(d["message"] for d in report["defects"] if d["kind"] == "damaged-blob")
    assert "layer 1 of 1 blob" in blob and layer in blob and "v1.0.0-php-8.3" in blob, blob
    assert f"holds {size // 2} bytes" in blob and f"descriptor says {size}" in blob, blob
    # ghcr's rows were read: its digests, not "invalid response"
    lines = {line["php"]: line for line in report["lines"]}
    assert lines["8.3"]["digests"]["ghcr"] == facts["index"], lines
    assert lines["8.4"]["digests"]["ghcr"] == facts["8.4"], lines
    assert lines["8.4"]["tags"]["ghcr"]["php-8.4"] is None, lines


def test_a_copy_uploads_a_damaged_blob_again_and_says_when_the_registry_keeps_it(
    damaged: Any,
) -> None:
    """ghcr lost the image (index and platform image) and holds its layer damaged: the
    rerun's copy finds the layer by its size, uploads it, and says that ghcr kept the
    damaged copy all the same."""
    world, ghcr, matrix, facts = damaged
    child, layer, size = _layer(ghcr.host, world.repo, facts["index"])
    for digest in (facts["index"], child):
        raw_delete_manifest(f"http://{ghcr.host}", world.repo, digest)
    _damage(ghcr, Path(facts["storage"]), layer, size // 2)

    result = _rerun_publish(world, matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    assert f"blob {layer}" in said and "uploading it again" in said, said
    assert "it keeps the damaged copy it holds" in said, said
    assert "Traceback" not in said, said


def test_a_full_tmpdir_while_spooling_a_copy_names_it_its_room_and_the_blob(
    tmp_path: Path, fresh_registry: Callable[..., Any], write_matrix: Any, small_disk: Path
) -> None:
    """A copy to two registries spools each blob to TMPDIR once; a TMPDIR of 8 KiB and a
    layer of 64 KiB: exit 18 naming TMPDIR, its free space and the blob's size, the tip
    pointing TMPDIR elsewhere or at a lower --transfers (it said "cannot use a file or
    directory: No space left on device", naming no directory)."""
    hub, ghcr, quay = fresh_registry(), fresh_registry(), fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=ghcr.host, quay=quay.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.root / "digests-v1.0.0"
    digests.mkdir()
    for php in ("8.3", "8.4"):
        image = make_image(("linux/amd64",), seed=int(php[-1]), layer_sizes=(64 * 1024,))
        seed_image(
            digests,
            "v1.0.0",
            php,
            image,
            push_to=hub.host,
            repo=world.repo,
            image_repo=f"{hub.host}/{world.repo}",
        )
    world.env["TMPDIR"] = str(small_disk)
    result = world.run("publish", "v1.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 18, said
    assert f"the copy ran out of room in {small_disk} (" in said and "free)" in said, said
    assert "spools each blob it copies to more than one registry" in said, said
    assert "No space left on device (spooling blob sha256:" in said and "kB)" in said, said
    assert "point TMPDIR at a directory with more room" in said, said
    assert "--transfers" in said and "Traceback" not in said, said


def test_too_many_open_files_is_said_as_the_limit_to_raise_not_as_the_registry_s_failure(
    tmp_path: Path, fresh_registry: Callable[..., Any], write_matrix: Any
) -> None:
    """``ulimit -n`` low, --transfers 32, a copy to two registries: the files and the
    connections run out. Said as the open-files limit (its value, `ulimit -n`, a lower
    --transfers), exit 18; never as a connection failure of a registry, nor as a path's
    permissions."""
    hub, ghcr, quay = fresh_registry(), fresh_registry(), fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=ghcr.host, quay=quay.host)
    lines, platforms = ("8.3", "8.4", "8.5"), ("linux/amd64", "linux/arm64")
    matrix = world.matrix("matrix.yaml", lines=lines, platforms=platforms)
    digests = world.seed("v1.0.0", lines, platforms)
    limit = 16

    def low_limit() -> None:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )

    argv = ["publish", "v1.0.0", "--digests", str(digests), "--no-smoke", "--transfers", "32"]
    result = world.run(*argv, matrix=matrix, preexec=low_limit)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 18, said
    assert f"too many open files (the limit is {limit}, `ulimit -n`)" in said, said
    assert "raise the limit" in said and "lower --transfers" in said, said
    assert "connection failed" not in said and "permissions" not in said, said
    assert "Traceback" not in said, said


def test_a_proxy_adding_to_a_blob_head_s_length_is_a_registry_naming_other_content(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub behind a proxy whose HEADs of one layer say one byte more than the layer has:
    verify names the layer and both sizes (exit 8), with no more requests than a clean
    verify makes."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    _, layer, size = _layer(front.host, world.repo, digests["8.3"])
    front.reset_counts()
    assert world.run("verify", "v1.0.0", matrix=matrix).returncode == 0
    clean = len(front.log)
    front.reset_counts()
    front.add(
        Fault("length", method="HEAD", path=f"/blobs/{layer}", length_delta=size + 1, times=None)
    )
    result = world.run("verify", "v1.0.0", matrix=matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 8, said
    assert layer in said and f"holds {size + 1} bytes" in said and f"says {size}" in said, said
    assert len(front.log) <= clean, (len(front.log), clean)
