"""Two runs writing their notes into one directory take turns on its size history.

``Publisher.write_notes`` reads ``size-history.json``, adds its release's sizes and
writes it back while it holds an exclusive ``flock`` on the notes directory itself:
another run caught in between (here the test, holding that lock as such a run does)
never has its release's sizes dropped, and no lock file appears in the directory.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.core import notes as notes_mod
from publisher.core.version import parse_release
from publisher.stages.publish import Publisher, PublishOptions
from tests.support.matrices import acme_config
from tests.support.records import line_facts, release_facts

fcntl = pytest.importorskip("fcntl")


def facts(release: str, size: int) -> notes_mod.ReleaseFacts:
    """``release``'s record: PHP 8.4 for linux/amd64, ``size`` bytes."""
    line = line_facts("8.4", release, platforms=("linux/amd64",))
    sized = dataclasses.replace(line.platforms[0], size_bytes=size)
    return release_facts([dataclasses.replace(line, platforms=(sized,))], release)


def test_a_run_writing_its_notes_waits_for_another_that_is_rewriting_the_size_history(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "release-notes"
    notes.mkdir()
    err = io.StringIO()
    stage = Publisher(
        acme_config(lines=("8.4",), registries=("hub",)),
        parse_release("v1.0.0"),
        {},
        Output(env={}, stream=io.StringIO(), err_stream=err),
        PublishOptions(notes_dir=notes, jobs=1),
    )
    history = notes_mod.size_history_path(notes)
    other = os.open(notes, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        # the other run (v1.1.0) read the history (there is none yet) before this one writes
        theirs = notes_mod.load_size_history(notes) if history.exists() else notes_mod.SizeHistory()
        failed: list[BaseException] = []

        def write() -> None:
            try:
                stage.write_notes(facts("v1.0.0", 1_000))
            except BaseException as exc:  # said by the assertion after the join
                failed.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(2.0)
        assert writer.is_alive(), "the notes were written while another run held the directory"
        assert not history.exists()
        # the wait is said, not silent: a forgotten holder is then found
        assert f"waiting for another run writing its notes in {notes} to finish" in (
            err.getvalue()
        ), err.getvalue()
        # the other run writes what it read, with its own release's sizes, then lets go
        history.write_text(theirs.with_release(facts("v1.1.0", 2_000)).to_json(), encoding="utf-8")
    finally:
        os.close(other)
    writer.join(30)
    assert not writer.is_alive() and not failed, failed
    sizes = json.loads(history.read_text(encoding="utf-8"))["releases"]
    assert sizes["v1.0.0"]["8.4"]["linux/amd64"] == 1_000
    assert sizes["v1.1.0"]["8.4"]["linux/amd64"] == 2_000
    assert err.getvalue().count("waiting for another run") == 1
    assert sorted(p.name for p in notes.iterdir()) == sorted(
        ["size-history.json", "v1.0.0.md", "v1.0.0.json", "v1.0.0.env"]
    )


def test_without_flock_or_the_directory_the_block_runs_unguarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fcntl (a platform without flock), a directory that cannot be opened, a file
    system refusing flock: the block runs all the same, as every lock of publisher's."""
    from publisher.core import fileio

    ran = []
    with fileio.directory_locked(tmp_path / "missing"):
        ran.append("missing")

    def refuse(fd: int, operation: int) -> None:
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fileio.fcntl, "flock", refuse)
    with fileio.directory_locked(tmp_path):
        ran.append("refused")
    monkeypatch.setattr(fileio, "fcntl", None)
    with fileio.directory_locked(tmp_path):
        ran.append("no fcntl")
    assert ran == ["missing", "refused", "no fcntl"]
