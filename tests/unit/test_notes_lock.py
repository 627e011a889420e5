"""Two runs writing their notes into one directory take turns on its size history.

``Publisher.write_notes`` reads ``size-history.json``, adds its release's sizes and
writes it back while it holds an exclusive ``flock`` on the notes directory itself:
another run caught in between (here the test, holding that lock as such a run does)
never has its release's sizes dropped, and no lock file appears in the directory.

Holding that lock, it removes the temporary files of notes a run killed while writing
them left (``.v1.0.0.md.XXXXXXXX.tmp``), and nothing else; never while another run holds
the lock (it may be writing its own), nor where the lock cannot be taken.

Holding it, it reads the release's record again: one another run of the release wrote
since this run read it, naming other indexes, refuses the notes (exit 14) rather than be
replaced without a word; one naming the same indexes (the same builds) is written over; a
rehearsal says it replaces the notes another rehearsal of the tag wrote meanwhile.
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
from publisher.core.errors import ReleaseConflictError
from publisher.core.version import parse_release
from publisher.stages.publish import Publisher, PublishOptions
from tests.support.matrices import acme_config
from tests.support.records import line_facts, release_facts

fcntl = pytest.importorskip("fcntl")


def facts(release: str, size: int, index: str = "a") -> notes_mod.ReleaseFacts:
    """``release``'s record: PHP 8.4 for linux/amd64, ``size`` bytes, its index
    ``sha256:`` and 64 times ``index``."""
    line = line_facts("8.4", release, digest=f"sha256:{index * 64}", platforms=("linux/amd64",))
    sized = dataclasses.replace(line.platforms[0], size_bytes=size)
    return release_facts([dataclasses.replace(line, platforms=(sized,))], release)


def publisher(notes: Path, err: io.StringIO | None = None, *, rehearsal: bool = False) -> Publisher:
    """v1.0.0's publish stage, writing its notes into ``notes`` (as a rehearsal's)."""
    return Publisher(
        acme_config(lines=("8.4",), registries=("hub",)),
        parse_release("v1.0.0"),
        {},
        Output(env={}, stream=io.StringIO(), err_stream=err or io.StringIO()),
        PublishOptions(notes_dir=notes, jobs=1, rehearsal=rehearsal),
    )


#: The notes files v1.0.0's stage writes.
WRITTEN = ["size-history.json", "v1.0.0.env", "v1.0.0.json", "v1.0.0.md"]
#: What runs killed while writing their notes left (write_atomic_set's temporary files:
#: v1.0.0's own, an older release's, the size history's), mode 0600, part of a text.
KILLED = [
    ".v1.0.0.json.fvk0417y.tmp",
    ".v1.0.0.md._fh87es3.tmp",
    ".v0.9.0.env.a1b2c3d4.tmp",
    ".size-history.json.zz9_0xqw.tmp",
]
#: What is not such a file: another program's, named otherwise, or not a release's notes.
OTHERS = [
    ".draft.md.abcdefgh.tmp",
    ".v1.0.0.json.tmp",
    ".v1.0.0.json.abc.tmp",
    "v1.0.0.json.abcdefgh.tmp",
    ".v1.0.0.md.abcdefgh.tmp.swp",
    "notes.tmp",
]


def leave(notes: Path, names: list[str]) -> None:
    for name in names:
        fd = os.open(notes / name, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b'{"schema": 1, "rel')
        os.close(fd)


def test_the_temporary_files_of_notes_a_killed_run_was_writing_are_removed_nothing_else(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "release-notes"
    notes.mkdir()
    leave(notes, KILLED + OTHERS)
    (notes / ".v1.1.0.md.dirdirdi.tmp").mkdir()  # not a file: not write_atomic_set's
    publisher(notes).write_notes(facts("v1.0.0", 1_000))
    assert sorted(os.listdir(notes)) == sorted([*WRITTEN, *OTHERS, ".v1.1.0.md.dirdirdi.tmp"])


def test_without_the_directory_s_lock_no_temporary_file_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the lock cannot be taken (a file system refusing flock), another run may be
    writing its notes now: their temporary files stay."""
    notes = tmp_path / "release-notes"
    notes.mkdir()
    leave(notes, KILLED)

    def refuse(fd: int, operation: int) -> None:
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)
    publisher(notes).write_notes(facts("v1.0.0", 1_000))
    assert sorted(os.listdir(notes)) == sorted([*WRITTEN, *KILLED])


def test_a_run_writing_its_notes_waits_for_another_that_is_rewriting_the_size_history(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "release-notes"
    notes.mkdir()
    err = io.StringIO()
    stage = publisher(notes, err)
    history = notes_mod.size_history_path(notes)
    other = os.open(notes, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        # the other run (v1.1.0) read the history (there is none yet) before this one writes
        theirs = notes_mod.load_size_history(notes) if history.exists() else notes_mod.SizeHistory()
        # and is writing it, as write_atomic_set does: to a temporary file beside it
        staged = notes / ".size-history.json.k3p9_x2m.tmp"
        staged.write_text(theirs.with_release(facts("v1.1.0", 2_000)).to_json(), encoding="utf-8")
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
        # the other run renames what it wrote into place (never removed meanwhile), then
        # lets go
        os.replace(staged, history)
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


def test_a_record_another_run_wrote_meanwhile_naming_other_indexes_refuses_the_notes(
    tmp_path: Path,
) -> None:
    """Two runs of v1.0.0 at once, of different builds: the one writing its notes second
    finds the record the other wrote since it started, naming other indexes. It refuses
    (exit 14), every notes file as the other wrote it, rather than replace that record
    without a word."""
    notes = tmp_path / "release-notes"
    notes.mkdir()
    stage = publisher(notes)  # started before any record of v1.0.0
    publisher(notes).write_notes(facts("v1.0.0", 1_000, "b"))
    before = {p.name: p.read_bytes() for p in notes.iterdir()}
    with pytest.raises(ReleaseConflictError) as refused:
        stage.write_notes(facts("v1.0.0", 1_000, "a"))
    error = refused.value
    assert error.exit_code == 14
    assert "another run wrote its record while this one ran" in error.message, error.message
    said = " ".join(error.conflicts)
    assert f"sha256:{'b' * 64}" in said and f"sha256:{'a' * 64}" in said, said
    assert error.hint and "no notes file was changed" in error.hint, error.hint
    assert {p.name: p.read_bytes() for p in notes.iterdir()} == before


def test_a_record_another_run_wrote_meanwhile_naming_the_same_indexes_is_written_over(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "release-notes"
    notes.mkdir()
    stage = publisher(notes)
    publisher(notes).write_notes(facts("v1.0.0", 1_000))
    stage.write_notes(facts("v1.0.0", 1_000))
    assert sorted(p.name for p in notes.iterdir()) == WRITTEN


def test_a_rehearsal_says_it_replaces_the_notes_another_rehearsal_wrote_meanwhile(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "release-notes"
    notes.mkdir()
    err = io.StringIO()
    stage = publisher(notes, err, rehearsal=True)
    publisher(notes, rehearsal=True).write_notes(facts("v1.0.0", 1_000, "b"))
    stage.write_notes(facts("v1.0.0", 1_000, "a"))
    said = " ".join(err.getvalue().split())
    assert (
        f"rehearsal: another rehearsal of v1.0.0 wrote its notes in {notes} while this one "
        "ran: this rehearsal replaces them"
    ) in said, said
    assert notes_mod.load_record(notes, "v1.0.0").lines[0].index_digest == f"sha256:{'a' * 64}"
    # one that finds the notes as they were when it started says nothing more
    quiet = io.StringIO()
    publisher(notes, quiet, rehearsal=True).write_notes(facts("v1.0.0", 1_000, "c"))
    assert "replaces them" not in quiet.getvalue(), quiet.getvalue()
