"""An older publisher re-running a job over the files a newer one wrote
(``tests/fixtures/records-v1-newer``): a republish keeps the fields it does not know
where they were, and a file of a newer schema is refused before anything is built.

Each run is a real stand-in rehearsal (``examples/offline/matrix.yaml``, ``--local``:
buildah and throwaway loopback registries), as the fixtures' own runs were.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from publisher.core import notes
from tests.conftest import ROOT, require_tool
from tests.support.publishing import run_cli, without_run_settings

pytestmark = pytest.mark.integration

MATRIX = str(ROOT / "examples/offline/matrix.yaml")
NEWER = ROOT / "tests" / "fixtures" / "records-v1-newer"
REASON = "openssl in the stand-in base"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A notes directory and a digests directory as a newer publisher left them."""
    require_tool("buildah")
    shutil.copytree(NEWER / "release-notes", tmp_path / "notes")
    shutil.copytree(NEWER / "digests", tmp_path / "digests")
    return tmp_path


def publisher(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    places = ("--notes-dir", str(tmp_path / "notes"), "--digests", str(tmp_path / "digests"))
    return run_cli(*args, "--config", MATRIX, *places, env=without_run_settings(), cwd=tmp_path)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _at(data: Any, path: str) -> Any:
    for part in path.replace("[", ".[").split("."):
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return data


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_republish_keeps_what_a_newer_publisher_added_to_the_record(world: Path) -> None:
    before = _json(world / "notes" / "v1.0.0.json")
    added = notes.RECORD_SHAPE.unknown(before)
    assert len(added) == 28  # at every level: see the fixture's README
    run = publisher(world, "republish", "v1.0.0", "--local", "--no-smoke", "--reason", REASON)
    assert run.returncode == 0, run.stdout + run.stderr
    after = _json(world / "notes" / "v1.0.0.json")
    # the republish rewrote the record: new registries, new digests, a history entry ...
    assert after["registries"][0]["repository"] != before["registries"][0]["repository"]
    assert [line["index_digest"] for line in after["lines"]] != [
        line["index_digest"] for line in before["lines"]
    ]
    assert [entry["reason"] for entry in after["history"]] == [
        before["history"][0]["reason"],
        REASON,
    ]
    # ... and kept every field it does not know, in its place, with its value
    assert notes.RECORD_SHAPE.unknown(after) == added
    for path in added:
        assert _at(after, path) == _at(before, path), path
    assert list(after["lines"][0]["base"]) == ["pulled_at", "image", "digest"]
    assert list(after)[list(after).index("published_at") + 1] == "signed"
    # the size history keeps its added fields too, with this run's sizes
    history = _json(world / "notes" / "size-history.json")
    assert list(history) == ["schema", "unit", "releases", "kept_since"]
    assert history["unit"] == "bytes, compressed, as the registry counts them"
    assert history["kept_since"] == "v1.0.0"
    assert history["releases"]["v1.0.0"]["8.4"] == {
        p["platform"]: p["size_bytes"] for p in after["lines"][0]["platforms"]
    }


def test_a_record_of_a_newer_schema_stops_a_republish_before_anything_is_built(
    world: Path,
) -> None:
    record = world / "notes" / "v1.0.0.json"
    record.write_text(
        record.read_text(encoding="utf-8").replace('"schema": 1', '"schema": 2', 1),
        encoding="utf-8",
    )
    before = _files(world / "notes"), _files(world / "digests")
    run = publisher(world, "republish", "v1.0.0", "--local", "--no-smoke", "--reason", REASON)
    assert run.returncode == 3, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert f"{record}: schema: this release record has schema 2, written by a newer" in said
    assert "run the publisher version that wrote it" in said
    assert "Build " not in said and "Traceback" not in said
    assert (_files(world / "notes"), _files(world / "digests")) == before


def test_a_digest_record_of_a_newer_schema_stops_a_release_before_anything_is_built(
    world: Path,
) -> None:
    digest = world / "digests" / "8.5-linux-arm64.json"
    digest.write_text(
        digest.read_text(encoding="utf-8").replace('"schema": 1', '"schema": 2', 1),
        encoding="utf-8",
    )
    before = _files(world / "notes"), _files(world / "digests")
    run = publisher(world, "release", "v1.0.0", "--local", "--no-smoke")
    assert run.returncode == 3, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert f"{digest}: schema: this digest record has schema 2, written by a newer" in said
    assert "Build " not in said and "Traceback" not in said
    assert (_files(world / "notes"), _files(world / "digests")) == before
