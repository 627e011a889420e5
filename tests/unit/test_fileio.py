"""Artifact files: written atomically, and a failure names the file the caller asked for."""

from __future__ import annotations

import dataclasses
import errno
import os
import resource
import signal
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.core import config, fileio, render
from publisher.core import errors as errors_module
from publisher.core.errors import (
    ConfigError,
    FileAccessError,
    MissingDockerfileError,
    OversizedDockerfileError,
    file_error,
)
from publisher.core.fileio import (
    NotRegularFileError,
    append_whole,
    check_tmpdir,
    ensure_writable,
    kind_of,
    path_kind,
    read_prefix,
    read_text,
    write_atomic,
    write_atomic_set,
)
from tests.conftest import ROOT


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "notes" / "v1.0.0.md"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["v1.0.0.md"]


def test_a_failed_write_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "v1.4.0.md"
    target.mkdir()  # a directory where the notes should go
    with pytest.raises(IsADirectoryError) as info:
        write_atomic(target, "notes\n")
    assert info.value.filename == str(target)
    message = file_error(info.value, "write the release notes").message
    assert message == f"cannot write the release notes: {target}: Is a directory"
    assert [p.name for p in tmp_path.iterdir()] == ["v1.4.0.md"]  # no temporary left


def test_a_set_of_files_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    md, js, env = tmp_path / "v1.0.0.md", tmp_path / "v1.0.0.json", tmp_path / "v1.0.0.env"
    md.write_text("old\n")
    env.mkdir()  # the last one cannot be written
    with pytest.raises(IsADirectoryError) as info:
        write_atomic_set({md: "new\n", js: "{}\n", env: "PINS\n"})
    assert info.value.filename == str(env)
    assert md.read_text() == "old\n" and not js.exists()  # none of the set moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.0.0.env", "v1.0.0.md"]
    env.rmdir()
    assert write_atomic_set({md: "new\n", js: "{}\n", env: "PINS\n"}) == [md, js, env]
    assert (md.read_text(), js.read_text(), env.read_text()) == ("new\n", "{}\n", "PINS\n")


def test_a_full_disk_says_to_free_space() -> None:
    error = file_error(OSError(28, "No space left on device", "/n/v1.md"), "write the notes")
    assert error.message == "cannot write the notes: /n/v1.md: No space left on device"
    assert error.hint is not None and "full: free space there" in error.hint


def test_a_copy_onto_a_full_disk_names_the_copy_not_its_source() -> None:
    """shutil.copyfile's ENOSPC names the source first and the destination second: the
    full file system is the destination's."""
    full = OSError(28, "No space left on device", "/cache/busybox", None, "/tmp/ctx/busybox")
    error = file_error(full, "use a file or directory")
    assert error.message == (
        "cannot use a file or directory: /tmp/ctx/busybox: No space left on device"
    )


def test_an_error_without_a_file_name_reads_cleanly() -> None:
    message = file_error(OSError(75, "Value too large"), "use the clock").message
    assert message == "cannot use the clock: Value too large"


@pytest.mark.parametrize("create", [True, False], ids=["run", "dry-run"])
@pytest.mark.parametrize("under", ["", "d"])
def test_a_file_in_place_of_a_directory_is_said_so(
    tmp_path: Path, under: str, create: bool
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    directory = blocker / under if under else blocker
    with pytest.raises(FileAccessError) as info:
        ensure_writable(directory, "the digest record's directory", create=create)
    assert info.value.exit_code == 18
    assert "a regular file stands where a directory is needed" in info.value.message
    assert "File exists" not in info.value.message


@pytest.mark.parametrize("create", [True, False], ids=["run", "dry-run"])
def test_a_pipe_in_place_of_a_directory_is_said_to_be_a_pipe(tmp_path: Path, create: bool) -> None:
    fifo = tmp_path / "digests"
    os.mkfifo(fifo)
    with pytest.raises(FileAccessError) as info:
        ensure_writable(fifo, "the digest records directory", create=create)
    assert "a named pipe stands where a directory is needed" in info.value.message
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_kind_of_names_what_stands_at_a_path(tmp_path: Path) -> None:
    """The words every refusal of a path uses ("is a named pipe, not a directory")."""
    import socket

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "plain").write_text("")
    (tmp_path / "nowhere").symlink_to(tmp_path / "missing")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        assert path_kind(tmp_path / "sock") == "a socket"
    assert path_kind(fifo) == "a named pipe"
    assert path_kind(tmp_path / "plain") == "a regular file"
    assert path_kind(tmp_path) == "a directory"
    assert path_kind("/dev/zero") == "a character device"  # only looked at
    assert path_kind(tmp_path / "nowhere") == "a symbolic link to nowhere"
    assert path_kind(tmp_path / "missing") == "nothing"
    assert kind_of(stat.S_IFBLK) == "a block device"


def test_the_dry_run_check_writes_nothing(tmp_path: Path) -> None:
    """``create=False`` accepts a directory that would be created, and creates nothing."""
    target = tmp_path / "a" / "b" / "notes"
    assert ensure_writable(target, "the release notes directory", create=False) == target
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "here").mkdir()
    ensure_writable(tmp_path / "here", "the release notes directory", create=False)
    assert list((tmp_path / "here").iterdir()) == []


def refusal(directory: Path, create: bool) -> str:
    with pytest.raises(FileAccessError) as info:
        ensure_writable(directory, "the release notes directory", create=create)
    assert info.value.exit_code == 18
    return info.value.message


@pytest.mark.parametrize("under", ["", "d/e"])
def test_a_link_to_nowhere_is_refused_alike_by_the_run_and_the_dry_run(
    tmp_path: Path, under: str
) -> None:
    link = tmp_path / "dangle"
    link.symlink_to(tmp_path / "nonexistent" / "x")
    directory = link / under if under else link
    dry, real = refusal(directory, create=False), refusal(directory, create=True)
    assert dry == real
    said = f"{link} is a dangling symbolic link (to {tmp_path}/nonexistent/x, which does not exist)"
    assert said in dry
    assert "a file stands" not in dry
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangle"]  # nothing created


def test_a_link_to_a_directory_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for create in (False, True):
        ensure_writable(tmp_path / "link" / "notes", "the release notes directory", create=create)
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["notes"]
    assert list((tmp_path / "real" / "notes").iterdir()) == []


def test_a_pseudo_file_system_is_refused_alike_by_the_run_and_the_dry_run() -> None:
    directory = Path("/proc/publisher-notes-check/notes")
    assert refusal(directory, create=False) == refusal(directory, create=True)
    assert not directory.parent.exists()
    assert "not writable (it cannot be created under /proc: No such file" in refusal(
        directory, create=True
    )


def test_read_text_bounds_the_read_and_names_the_file(tmp_path: Path) -> None:
    """One bounded reader for the records and the size history: a larger file or one
    that is not UTF-8 is a corrupt input (exit 3), an unreadable one exit 18, and a
    missing one is left to the caller."""
    from publisher.core.errors import ConfigError
    from publisher.core.fileio import read_text

    path = tmp_path / "v1.0.0.json"
    path.write_bytes(b"x" * 2048)
    assert read_text(path, limit=2048, what="release record", hint="h") == "x" * 2048
    with pytest.raises(ConfigError, match="larger than 1 KiB; not a release record"):
        read_text(path, limit=1024, what="release record", hint="h")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8 text; not a digest record") as info:
        read_text(path, limit=1024, what="digest record", hint="h")
    assert info.value.exit_code == 3 and str(path) in str(info.value)
    with pytest.raises(FileAccessError) as denied:
        read_text(tmp_path, limit=1024, what="size history", hint="restore it")  # a directory
    assert denied.value.exit_code == 18
    # said for what it is, then the caller's tip: no permission is missing
    assert denied.value.hint == f"{tmp_path} is a directory, not a regular file: restore it"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileAccessError) as piped:
        read_text(fifo, limit=1024, what="size history", hint="restore it")
    assert piped.value.hint == f"{fifo} is a named pipe, not a regular file: restore it"
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "absent.json", limit=1024, what="size history", hint="h")


def test_a_tmpdir_that_is_set_must_be_a_writable_directory(tmp_path: Path) -> None:
    check_tmpdir({})  # unset: /tmp
    check_tmpdir({"TMPDIR": ""})
    check_tmpdir({"TMPDIR": str(tmp_path)})
    a_file = tmp_path / "file"
    a_file.write_text("")
    for value, reason in ((tmp_path / "none", "no such directory"), (a_file, "not a directory")):
        with pytest.raises(FileAccessError) as info:
            check_tmpdir({"TMPDIR": str(value)})
        assert info.value.message.startswith(
            f"TMPDIR={value} is not a writable directory ({reason})"
        )


def test_python_keeps_its_temporary_files_in_the_tmpdir_checked(tmp_path: Path) -> None:
    """Python's tempfile would fall back to /tmp on its own when TMPDIR is full, while the
    builders keep using TMPDIR: once checked, TMPDIR is Python's temporary directory too,
    so a message about a full TMPDIR names the one the builders filled."""
    mine = tmp_path / "tmp"
    mine.mkdir()
    check_tmpdir({"TMPDIR": str(mine)})
    assert tempfile.gettempdir() == str(mine)
    assert [p.name for p in mine.iterdir()] == []  # its probe, of a page of bytes, removed


def _within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread: the exception it raised, failing if it blocks."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        with open(_within.fifo, "wb"):  # type: ignore[attr-defined]  (unblocks the reader)
            pass
        pytest.fail("the read blocked on a pipe")
    return raised[0] if raised else None


@pytest.mark.parametrize("reader", ["config", "read_text", "template"])
def test_a_pipe_where_a_file_belongs_is_refused_not_waited_on(tmp_path: Path, reader: str) -> None:
    """A FIFO given as --config, a record, notes or the template: said at once, never read."""
    fifo = tmp_path / "matrix.yaml"
    os.mkfifo(fifo)
    _within.fifo = fifo  # type: ignore[attr-defined]
    calls: dict[str, Callable[[], object]] = {
        "config": lambda: config.load(fifo, env={}),
        "read_text": lambda: read_text(fifo, limit=1024, what="release record", hint="-"),
        "template": lambda: render.read_template(
            dataclasses.replace(config.load(ROOT / "matrix.yaml", env={}), template=str(fifo))
        ),
    }
    raised = _within(5, calls[reader])
    assert isinstance(raised, (ConfigError, FileAccessError)), raised
    expected = FileAccessError if reader == "read_text" else ConfigError
    assert type(raised) is expected and raised.exit_code == (18 if reader == "read_text" else 3)
    assert "a named pipe, not a regular file" in raised.message
    with pytest.raises(IsADirectoryError):
        read_prefix(tmp_path, 10)


def test_the_dockerfile_a_build_records_is_read_bounded_and_never_from_a_pipe(
    tmp_path: Path,
) -> None:
    """`build` hashes the committed Dockerfile into its record: a pipe there is refused at
    once, and one too large to be rendered is refused rather than hashed in part."""
    from publisher.stages.build import dockerfile_sha256

    cfg = dataclasses.replace(config.load(ROOT / "matrix.yaml", env={}), root=str(tmp_path))
    fifo = cfg.dockerfile_path("8.4")
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    _within.fifo = fifo  # type: ignore[attr-defined]
    raised = _within(5, lambda: dockerfile_sha256(cfg, "8.4"))
    assert isinstance(raised, FileAccessError) and "not a regular file" in raised.message
    fifo.unlink()
    fifo.write_bytes(b"#" * (render.MAX_DOCKERFILE_BYTES + 1))
    with pytest.raises(OversizedDockerfileError, match="larger than 1 MiB") as raised_large:
        dockerfile_sha256(cfg, "8.4")
    assert raised_large.value.exit_code == 3  # as render --check and the up-front check
    with pytest.raises(MissingDockerfileError, match=r"no committed Dockerfile for PHP 8\.5"):
        dockerfile_sha256(cfg, "8.5")


# --------------------------------------------------------------------------- temporary dirs


def test_a_temporary_dir_is_removed_afterwards_and_names_its_process(tmp_path: Path) -> None:
    with fileio.temp_dir("publisher-x-", tmp_path) as made:
        assert made.is_dir() and made.parent == tmp_path
        assert f".{os.getpid()}-" in made.name
        assert stat.S_IMODE(made.stat().st_mode) == 0o700
        (made / "config.json").write_text("{}")
    assert not made.exists()


def test_a_killed_runs_temporary_dir_is_removed_by_the_next_one(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves its directory; the next ``temp_dir`` of that
    prefix removes it once its process is gone, and leaves alone the directories of
    living processes, other prefixes and other pid namespaces."""
    with fileio.temp_dir("publisher-x-", tmp_path) as mine:
        namespace = mine.name[len("publisher-x-") :].split(".")[0]
        gone = 2**31 - 2  # above any pid_max: no such process
        stale = tmp_path / f"publisher-x-{namespace}.{gone}-abc"
        (stale / "sub").mkdir(parents=True)
        (stale / "sub" / "config.json").write_text('{"auths": {"h": {"auth": "x"}}}')
        kept = [
            tmp_path / f"publisher-x-{namespace}.{os.getpid()}-live",  # a living process
            tmp_path / f"publisher-y-{namespace}.{gone}-abc",  # another prefix
            tmp_path / f"publisher-x-1{namespace}.{gone}-abc",  # another pid namespace
        ]
        for path in kept:
            path.mkdir()
        with fileio.temp_dir("publisher-x-", tmp_path) as other:
            assert not stale.exists()
            assert all(path.exists() for path in kept) and mine.exists()
        assert not other.exists()
        assert fileio.remove_stale_temp_dirs("publisher-x-", tmp_path) == []


def test_a_dir_named_with_a_pid_beyond_any_process_is_passed_over(tmp_path: Path) -> None:
    """Anyone may create a name in a shared /tmp: one whose pid no process can have
    (beyond a C long) is left alone, never the run's end with an internal error."""
    with fileio.temp_dir("publisher-x-", tmp_path) as mine:
        namespace = mine.name[len("publisher-x-") :].split(".")[0]
        odd = tmp_path / f"publisher-x-{namespace}.{10**20}-abc"
        odd.mkdir()
        assert fileio.remove_stale_temp_dirs("publisher-x-", tmp_path) == []
        assert odd.exists()


def test_a_dir_with_a_mount_inside_is_never_removed_a_bind_mount_included(tmp_path: Path) -> None:
    """A bind mount of the same filesystem has the same device number as its parent: the
    mount namespace's own list of mount points tells it (a blank in a path is written
    \\040 there), so removing a gone run's directory never deletes through a mount."""
    stale = tmp_path / "publisher-x-1.2-abc"
    (stale / "rootfs dir").mkdir(parents=True)
    inside = str((stale / "rootfs dir").resolve()).replace(" ", "\\040")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"99 22 8:1 /srv/data {inside} rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    )
    assert not fileio._one_filesystem(str(stale), str(mountinfo))
    mountinfo.write_text("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
    assert fileio._one_filesystem(str(stale), str(mountinfo))
    # Where the list cannot be read, only other devices are seen: this tree has none.
    assert fileio._one_filesystem(str(stale), str(tmp_path / "no-such-mountinfo"))


def test_nothing_is_swept_where_the_pid_namespace_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs in containers sharing one /tmp are told apart by their pid namespace: where
    /proc cannot say it, another container's living run could look gone, so none is."""
    gone = 2**31 - 2
    stale = tmp_path / f"publisher-x-0.{gone}-abc"
    stale.mkdir()

    def unreadable(path: str) -> str:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(fileio.os, "readlink", unreadable)
    assert fileio.remove_stale_temp_dirs("publisher-x-", tmp_path) == []
    assert stale.exists()


def test_a_count_takes_the_plural_unless_it_is_one():
    """What a user reads: "1 line", never "1 lines" nor "line(s)"."""
    from publisher.core.fileio import counted

    assert counted(1, "line") == "1 line"
    assert counted(0, "line") == "0 lines"
    assert counted(2, "blob") == "2 blobs"
    assert counted(1, "registry", "registries") == "1 registry"
    assert counted(3, "registry", "registries") == "3 registries"


def test_write_atomic_never_renames_over_a_pipe_or_device(tmp_path: Path) -> None:
    """A rename would replace the device itself (as root, /dev/null): the target must
    be a regular file, or nothing; it is left as it was, with no temporary beside it."""
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    for target in (fifo, link):
        with pytest.raises(OSError, match="a named pipe, not a regular file"):
            write_atomic(target, "{}\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "record.json"]


# ------------------------------------------------------------------- append_whole


def test_append_whole_adds_to_the_file_and_makes_a_missing_one(tmp_path: Path) -> None:
    target = tmp_path / "outputs"
    append_whole(target, "a=1\n")
    append_whole(target, "b=2\n")
    append_whole(target, "")
    assert target.read_text() == "a=1\nb=2\n"


@pytest.mark.parametrize("reader", [False, True], ids=["no reader", "a reader"])
def test_append_whole_refuses_a_named_pipe_without_waiting(tmp_path: Path, reader: bool) -> None:
    """Opening a FIFO to append blocks until a reader comes: refused at once, for what it
    is, with a reader or without."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK) if reader else None
    failed: list[BaseException] = []

    def append() -> None:
        try:
            append_whole(fifo, "a=1\n")
        except BaseException as exc:
            failed.append(exc)

    worker = threading.Thread(target=append, daemon=True)
    worker.start()
    worker.join(10)
    alive = worker.is_alive()
    if alive:  # unblock it: a reader lets the open finish
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    if held is not None:
        assert os.read(held, 100) == b""  # nothing was written into it
        os.close(held)
    assert not alive, "append_whole waited on a named pipe"
    assert isinstance(failed[0], NotRegularFileError)
    assert failed[0].strerror == "a named pipe, not a regular file"


def test_append_whole_writes_to_a_device_as_to_a_file() -> None:
    append_whole("/dev/null", "a=1\n")
    with pytest.raises(OSError) as caught:
        append_whole("/dev/full", "a=1\n")
    assert caught.value.errno == errno.ENOSPC


def test_append_whole_leaves_none_of_a_text_the_disk_has_no_room_for(tmp_path: Path) -> None:
    """A file size limit (as a full disk) lets the first bytes in and refuses the rest:
    the file is cut back to what it held."""
    target = tmp_path / "outputs"
    target.write_text("kept=1\n")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (20, hard))
    try:
        with pytest.raises(OSError) as caught:
            append_whole(target, "digest-8.4=sha256:ab\ndigests={}\n")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert caught.value.errno == errno.EFBIG
    assert target.read_text() == "kept=1\n"


LOOP = "is a symbolic link loop (a link that leads back to itself, or a link in its path that does)"


def test_a_link_loop_is_said_as_one_not_as_a_link_to_nowhere(tmp_path: Path) -> None:
    """A loop (one.yaml -> two.yaml -> one.yaml) is no dangling link: its target exists,
    and leads back. Said as a loop wherever a path is checked or read."""
    (tmp_path / "one.yaml").symlink_to("two.yaml")
    (tmp_path / "two.yaml").symlink_to("one.yaml")
    said = fileio.dangling_link(tmp_path / "one.yaml")
    assert said == f"{tmp_path / 'one.yaml'} {LOOP}"
    assert fileio.dangling_link(tmp_path / "one.yaml" / "x.json") == said  # a loop above it
    with pytest.raises(FileAccessError) as info:
        fileio.read_bytes(tmp_path / "one.yaml", limit=10, what="Dockerfile")
    assert info.value.exit_code == 18 and LOOP.removeprefix("is ") in info.value.message
    assert "Too many levels" not in info.value.message
    assert info.value.hint is not None and "`ls -l` shows where each link leads" in info.value.hint


def _failing_rename(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """Make ``os.replace`` onto any of ``names`` fail as a sticky directory fails it for a
    file another user owns (EPERM); the names renamed onto are listed in order."""
    renamed: list[str] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        renamed.append(Path(dst).name)
        if Path(dst).name in names:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)
        real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    return renamed


def _notes_set(notes: Path) -> dict[Path, str]:
    return {
        notes / "v1.2.0.md": "new notes\n",
        notes / "v1.2.0.json": "{}\n",
        notes / "size-history.json": "new history\n",
        notes / "v1.2.0.env": "PINS\n",
    }


@pytest.mark.parametrize("linked", [True, False], ids=["hard-link", "copy"])
def test_a_rename_failing_halfway_puts_back_the_files_renamed_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked: bool
) -> None:
    """The third of four renames fails (a size history another user owns in a sticky
    directory, an immutable one): the two renamed before it are undone, the one that had
    an old file gets it back (kept aside as a hard link or, where none can be made, a
    copy), the one that had none is removed; nothing of the set is left beside them."""
    (tmp_path / "v1.2.0.md").write_text("old notes\n")
    (tmp_path / "size-history.json").write_text("old history\n")
    (tmp_path / "v1.1.0.json").write_text("another release\n")
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    if not linked:
        monkeypatch.setattr(
            fileio.os, "link", lambda *a, **k: (_ for _ in ()).throw(PermissionError(1, "no"))
        )
    renamed = _failing_rename(monkeypatch, "size-history.json")
    with pytest.raises(PermissionError) as info:
        write_atomic_set(_notes_set(tmp_path))
    assert not isinstance(info.value, fileio.PartlyWritten)
    assert info.value.filename == str(tmp_path / "size-history.json")
    assert renamed[:3] == ["v1.2.0.md", "v1.2.0.json", "size-history.json"]
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before


def test_a_set_that_cannot_be_put_back_says_which_files_are_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When putting back fails too (the file system went read-only in between), the
    error says which targets are new and which are as they were, and where an old file
    that could not be put back is kept."""
    (tmp_path / "v1.2.0.md").write_text("old notes\n")
    (tmp_path / "size-history.json").write_text("old history\n")
    real = os.replace
    state = {"failing": False}

    def replace(src: str, dst: str) -> None:
        if Path(dst).name == "size-history.json":
            state["failing"] = True
        if state["failing"]:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), dst)
        real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    monkeypatch.setattr(
        fileio.os, "unlink", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EROFS, "ro"))
    )
    with pytest.raises(fileio.PartlyWritten) as info:
        write_atomic_set(_notes_set(tmp_path))
    error = info.value
    assert error.errno == errno.EROFS and error.filename == str(tmp_path / "size-history.json")
    md, js = tmp_path / "v1.2.0.md", tmp_path / "v1.2.0.json"
    assert error.new == [md, js]
    assert error.old == [tmp_path / "size-history.json", tmp_path / "v1.2.0.env"]
    assert md.read_text() == "new notes\n" and js.read_text() == "{}\n"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".v1.2.0.md.")]
    assert [p.read_text() for p in kept] == ["old notes\n"]
    assert error.undone[0] == f"{md} (Read-only file system; its old file is kept as {kept[0]})"
    assert error.undone[1] == f"{js} (ro)"


def test_a_file_system_without_free_inodes_is_said_so_not_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC where the file system has room but no inode left (``df -i``): freeing space
    there does not help, removing files does; one whose inodes it cannot count (f_files
    0, as btrfs) is said to be full."""
    real = os.statvfs_result
    counted = real((4096, 4096, 100, 80, 80, 48, 0, 0, 0, 255))
    uncounted = real((4096, 4096, 100, 0, 0, 0, 0, 0, 0, 255))
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.tmp"))
    monkeypatch.setattr(errors_module.os, "statvfs", lambda path: counted)
    hint = file_error(full, "use a file or directory").hint
    assert hint == (
        "the file system has no free inodes left (no more files can be made there, however "
        "much space it has free, `df -i` shows it): remove files there, or pass another directory"
    )
    monkeypatch.setattr(errors_module.os, "statvfs", lambda path: uncounted)
    hint = file_error(full, "use a file or directory").hint
    assert hint is not None and hint.startswith("the file system (or the user's quota) is full")


def test_an_old_file_another_user_owns_in_a_sticky_directory_is_kept_aside_as_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a sticky directory (1777) only a file's owner (or the directory's, or root) may
    remove it: a hard link to another user's file would be a second name this user could
    not remove afterwards, so the old file is kept aside as a copy, which is this user's.
    Elsewhere, or a file of this user's, a hard link (the same file)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    target = notes / "size-history.json"
    target.write_text("old\n")
    notes.chmod(0o1777)
    mine = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: mine + 4242)  # another user runs it
    aside = Path(fileio._keep_aside(target))
    assert aside.read_text() == "old\n" and not aside.samefile(target)
    assert aside.name.startswith(".size-history.json.") and aside.suffix == ".tmp"
    aside.unlink()
    notes.chmod(0o755)  # not sticky: the link is removed by whoever may write the directory
    linked = Path(fileio._keep_aside(target))
    assert linked.samefile(target)
    linked.unlink()
    notes.chmod(0o1777)
    monkeypatch.setattr(os, "geteuid", lambda: mine)  # the file is this user's
    linked = Path(fileio._keep_aside(target))
    assert linked.samefile(target)


def test_an_operation_root_is_not_permitted_tips_the_immutable_attribute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Root is not stopped by permissions: its EPERM on a file is an attribute
    (`chattr +i`, `+a`), which `lsattr` shows, not the permissions and owner."""
    denied = OSError(errno.EPERM, "Operation not permitted", "/n/size-history.json")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    hint = file_error(denied, "write the notes").hint
    assert hint is not None and "lsattr -d /n/size-history.json" in hint, hint
    assert "immutable" in hint and "permissions and owner" not in hint, hint
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    hint = file_error(denied, "write the notes").hint
    assert hint is not None and "check the permissions and owner" in hint, hint
    assert "lsattr" not in hint, hint
