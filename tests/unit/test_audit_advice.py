"""Audit's advice: the tip for a registry that refused a repair's write names the rerun
once; a record whose notes lack its pins file or sizes names the rerun that writes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from publisher.core import config
from publisher.core.errors import RegistryError
from publisher.stages.audit import (
    AuditReport,
    advice,
    load_records,
    refused_advice,
    unfinished_notes,
)


@pytest.mark.parametrize(
    "hint",
    [
        "check what sits in front of the registry (and its logs), then rerun",
        "no proxy drops the Authorization header; then rerun (blobs already stored are not "
        "sent again)",
        "check the reason it gave",
    ],
)
def test_the_rerun_is_said_once_whatever_the_refusal_s_tip_ends_with(hint: str) -> None:
    advice = refused_advice(RegistryError("PUT manifest: refused", hint=hint))
    assert advice.count("rerun") == 1, advice
    assert advice.endswith("; then rerun `publisher audit --repair`"), advice
    assert advice.startswith(hint.split(", then rerun")[0].split("; then rerun")[0])


FIXTURES = Path(__file__).parents[1] / "fixtures" / "records-v1"


def test_a_record_without_its_pins_file_or_its_sizes_is_a_finding_naming_the_rerun(
    tmp_path: Path,
) -> None:
    """A release whose run stopped while writing its notes left its record without the
    pins file the launcher reads, or without its sizes: audit names what is missing and
    the rerun that writes it, where it otherwise says every release matches its record."""
    notes = tmp_path / "notes"
    shutil.copytree(FIXTURES / "release-notes", notes)
    records = load_records(notes)
    assert unfinished_notes(notes, records) == []
    (notes / "v1.0.0.env").unlink()
    history = json.loads((notes / "size-history.json").read_text())
    del history["releases"]["v1.0.0"]
    (notes / "size-history.json").write_text(json.dumps(history))
    (finding,) = unfinished_notes(notes, records)
    assert finding.kind == "notes-incomplete" and finding.release == "v1.0.0"
    assert finding.message == (
        f"{notes}: v1.0.0's record is here, but its pins file v1.0.0.env is missing and "
        "size-history.json lacks its sizes: its run stopped while writing its notes; rerun "
        "the release (`publisher release v1.0.0`), which keeps the record and notes as "
        "written and writes what they lack"
    )
    report = AuditReport(("v1.0.0",), findings=[finding])
    said = advice(config.load(FIXTURES.parents[2] / "matrix.yaml", {}), report, repaired=False)
    assert said == (
        "rerun the release (`publisher release v1.0.0`): it writes the notes files it finds "
        "missing beside the record (no repair writes notes)"
    )


def test_a_record_from_before_pins_files_needs_none(tmp_path: Path) -> None:
    """The first publisher wrote no pins file (its records have no publish_plan_sha256)."""
    notes = tmp_path / "notes"
    shutil.copytree(FIXTURES / "older" / "first-writer", notes)
    assert unfinished_notes(notes, load_records(notes)) == []
