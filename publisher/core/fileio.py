"""Atomic file writes: a killed run never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from .errors import FileAccessError, file_error


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.replace(tmp, target)
        except OSError as exc:  # name the file the caller asked for, not the temporary one
            raise type(exc)(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def ensure_writable(directory: str | os.PathLike[str], what: str, *, create: bool = True) -> Path:
    """Create ``directory`` if needed and prove a file can be written there.

    Raises FileAccessError (exit 18) naming ``what`` (e.g. "the release notes
    directory"), so a run fails before its first build or push, not after.
    ``create=False`` (a dry run) checks without writing anything: the directory,
    or the nearest existing one above it, must be a directory this process may
    write to on a writable file system.
    """
    target = Path(directory)
    try:
        if create:
            target.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".publisher-write-check.", dir=target)
            os.close(fd)
            os.unlink(probe)
        else:
            _could_write(target)
    except OSError as exc:
        error = file_error(exc, f"write to {what} {target}")
        reason = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            reason = "a file stands where a directory is needed"
        raise FileAccessError(
            f"{what} {target} is not writable ({reason}); nothing was built or pushed",
            hint=error.hint,
        ) from None
    return target


def _could_write(target: Path) -> None:
    """Raise the OSError that creating and writing in ``target`` would meet, if foreseeable."""
    existing = target
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    if os.statvfs(existing).f_flag & os.ST_RDONLY:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(existing))
