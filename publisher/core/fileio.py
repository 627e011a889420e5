"""Atomic file writes: a killed run never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
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


def ensure_writable(directory: str | os.PathLike[str], what: str) -> Path:
    """Create ``directory`` if needed and prove a file can be written there.

    Raises FileAccessError (exit 18) naming ``what`` (e.g. "the release notes
    directory"), so a run fails before its first build or push, not after.
    """
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".publisher-write-check.", dir=target)
        os.close(fd)
        os.unlink(probe)
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
