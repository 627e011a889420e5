"""Publisher's own files: atomic writes (a killed run never leaves a half-written
file behind), bounded reads, a strict JSON parse for the records, and temporary
directories a later run removes when the run that made them was killed."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..resolve import user_home

try:
    import fcntl
except ImportError:  # pragma: no cover - no flock here: runs sharing a directory are not fenced
    fcntl = None  # type: ignore[assignment]
from .errors import (
    CWD_GONE_HINT,
    SYMLINK_LOOP,
    ConfigError,
    FileAccessError,
    cwd_gone,
    file_error,
    free_space,
    full_file_system,
    shown_path,
)

MIB = 1024 * 1024
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: Moves publisher's cache (the stand-in bases, the smoke tests' image holds).
ENV_CACHE = "PUBLISHER_CACHE_DIR"
#: What publisher writes in its cache, each a directory: the rehearsal's stand-ins
#: (stages/standins.py), the locks of the bases buildah builds from
#: (adapters/builders/buildah.py), the smoke tests' image holds and container locks
#: (adapters/smoke.py); nothing else (bar a write check's hidden ``.publisher-*`` file,
#: made and removed at once). A directory holding these alone (hidden files aside) is
#: publisher's cache: only such a one is a tip's to change or remove. One holding anything
#: else (``foreign_entries``) is not a cache, and is refused.
CACHE_STANDINS = "standins"
CACHE_BUILDAH_BASES = "buildah-bases"
CACHE_SMOKE_IMAGES = "smoke-images"
CACHE_SMOKE_CONTAINERS = "smoke-containers"
CACHE_ENTRIES = frozenset(
    {CACHE_STANDINS, CACHE_BUILDAH_BASES, CACHE_SMOKE_IMAGES, CACHE_SMOKE_CONTAINERS}
)
#: What a directory may hold besides ``CACHE_ENTRIES`` and hidden files and still be a
#: cache of its own: a file system's, mounted there for the cache alone.
_NOT_CONTENT = frozenset({"lost+found"})


def cache_root(env: Mapping[str, str]) -> Path:
    """``$PUBLISHER_CACHE_DIR`` (a relative one under the current directory, as given),
    else ``$XDG_CACHE_HOME/publisher``, else ``~/.cache/publisher`` (``home_dir``); a
    variable set to blanks only counts as unset (README), never a directory named by a
    space under the current one, and a relative ``XDG_CACHE_HOME`` is ignored, as the XDG
    base directory specification says."""
    from .settings import setting

    if setting(env, ENV_CACHE):
        return Path(setting(env, ENV_CACHE))
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "publisher"
    return home_dir(env) / ".cache" / "publisher"


def home_dir(env: Mapping[str, str]) -> Path:
    """The user's home: ``$HOME``, else (unset, empty or blanks only, as every variable
    publisher reads) the home the password database gives this user, as docker and
    buildah find it. Never ``Path.home()``, which reads the process's own environment and
    takes ``HOME=''`` for ``/``."""
    home = user_home(env)
    if home is None:
        raise ConfigError(
            f"HOME is not set and user {os.getuid()} has no entry in the password database",
            source="environment",
            field="HOME",
            hint=f"set HOME to your home directory (for publisher's cache alone, {ENV_CACHE} "
            "to a directory will do)",
        )
    return home


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    return write_atomic_set({Path(path): text})[0]


#: The temporary file ``write_atomic_set`` writes ``NAME`` to beside it, before renaming
#: it into place: ``.NAME.XXXXXXXX.tmp`` (mkstemp's eight random letters, digits or _).
_STAGED = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def write_atomic_set(files: dict[Path, str]) -> list[Path]:
    """Write several files as one: every text goes to a temporary file beside its target
    first (where a full disk or a quota shows), and only once all are written are they
    renamed into place. A failure leaves every target as it was: never some of the
    set new and the rest old or missing. A rename that fails once others are done (a
    file another user owns in a sticky directory, an immutable one, a file system made
    read-only meanwhile) undoes them: each target's old file was kept aside first (a
    hard link, else a copy) and is renamed back, and one that had none is removed. An
    OSError names the target, not the temporary file; ``PartlyWritten`` when even that
    undoing failed, naming what is new. A run killed meanwhile leaves its temporary
    files (``remove_unfinished_writes`` removes them)."""
    staged: list[tuple[str, Path]] = []
    aside: dict[Path, str] = {}  # target -> its old file, kept aside until the set is in
    done: list[Path] = []
    kept: set[str] = set()  # what undoing could not put back: left for the user
    try:
        for target, text in files.items():
            try:
                make_dirs(target.parent)
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
                staged.append((tmp, target))
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o644)
            except OSError as exc:
                raise _naming(exc, target) from None
        for _tmp, target in staged:  # what would stop a rename halfway, before the first
            if target.is_dir() and not target.is_symlink():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            if target.exists() and not target.is_file():  # a rename would replace the device
                raise _not_regular(os.stat(target).st_mode, target)
        for _tmp, target in staged:
            if os.path.lexists(target):
                try:
                    aside[target] = _keep_aside(target)
                except OSError as exc:
                    raise _naming(exc, target) from None
        try:
            for tmp, target in staged:
                os.replace(tmp, target)
                done.append(target)
        except BaseException as exc:
            failed = staged[len(done)][1]
            left = _undo(done, aside)
            kept.update(aside[target] for target, _why in left if target in aside)
            if isinstance(exc, OSError) and left:
                raise PartlyWritten(exc, failed, left, aside, list(files)) from None
            if isinstance(exc, OSError):
                raise _naming(exc, failed) from None
            raise
    except BaseException:
        _drop({tmp for tmp, _target in staged} | set(aside.values()) - kept)
        raise
    _drop(set(aside.values()))
    return list(files)


class PartlyWritten(OSError):
    """``write_atomic_set`` failed at a rename, and putting back the files it had renamed
    into place before failed too: ``new`` are the targets left with their new text (made,
    where there was none), ``old`` those as they were (or still missing). Its errno,
    strerror and filename are the first failure's; ``undone`` says why each of ``new``
    could not be put back, and where its old file is kept, if it had one."""

    def __init__(
        self,
        exc: BaseException,
        failed: Path,
        left: list[tuple[Path, str]],
        aside: Mapping[Path, str],
        targets: list[Path],
    ) -> None:
        number = exc.errno if isinstance(exc, OSError) else None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        super().__init__(number, reason, str(failed))
        self.new = [target for target, _why in left]
        self.old = [target for target in targets if target not in self.new]
        self.undone = [
            f"{shown_path(target)} ({why}"
            + (
                f"; its old file is kept as {shown_path(aside[target])})"
                if target in aside
                else ")"
            )
            for target, why in left
        ]


def _keep_aside(target: Path) -> str:
    """A second name for ``target``'s old file beside it, ``.NAME.XXXXXXXX.tmp`` (as a
    staged file: a killed run's is removed by ``remove_unfinished_writes``): a hard link,
    or where the file system (or ``protected_hardlinks``) refuses one, a copy. Of another
    user's file in a sticky directory a copy too: a link would be that user's file, which
    this user could not remove afterwards, while the copy is this user's."""
    for _ in range(100 if _may_remove_a_link(target) else 0):
        name = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.link(target, name, follow_symlinks=False)
            return str(name)
        except FileExistsError:
            continue
        except OSError:
            break
    fd, copy = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.close(fd)
        if target.is_symlink():
            os.unlink(copy)
            os.symlink(os.readlink(target), copy)
        else:
            shutil.copy2(target, copy)
            with open(copy, "rb") as handle:
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(copy)
        raise
    return copy


def _may_remove_a_link(target: Path) -> bool:
    """Whether this user may remove a second name of ``target``'s file beside it: in a
    sticky directory (``/tmp``'s 1777) only the file's owner, the directory's or root may."""
    user = os.geteuid()
    try:
        file, folder = target.lstat(), target.parent.stat()
    except OSError:
        return True  # (the link itself then says what is wrong)
    sticky = bool(folder.st_mode & stat.S_ISVTX)
    return not sticky or user in (0, file.st_uid, folder.st_uid)


def _undo(done: list[Path], aside: Mapping[Path, str]) -> list[tuple[Path, str]]:
    """Put back each of ``done`` (renamed into place, latest first): its old file kept
    aside renamed over it, or, where it had none, the new one removed. The targets that
    could not be put back, each with why."""
    left = []
    for target in reversed(done):
        try:
            if target in aside:
                os.replace(aside[target], target)
            else:
                os.unlink(target)
        except OSError as exc:
            left.append((target, exc.strerror or str(exc)))
    return list(reversed(left))


def _drop(paths: set[str]) -> None:
    """Remove each of ``paths`` that is there and can be removed (no failure hides the one
    being raised)."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


def remove_unfinished_writes(
    directory: Path, of: Callable[[str], bool] | None = None
) -> list[Path]:
    """Remove from ``directory`` the temporary files ``write_atomic_set`` left there when a
    run was killed while writing (``.NAME.XXXXXXXX.tmp``), of the names ``NAME`` that ``of``
    accepts (every name without it). Only for a directory no other run writes into now
    (one the caller holds the lock of, or its own): a file of that shape is then never
    another run's, about to be renamed into place. Nothing else is touched (a file named
    otherwise, what is not a regular file); one that cannot be removed stays, as does
    everything in a directory that cannot be listed. Returns the files removed."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    removed = []
    for name in names:
        match = _STAGED.fullmatch(name)
        if match is None or (of is not None and not of(match.group("name"))):
            continue
        path = directory / name
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
                removed.append(path)
    return removed


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` naming the file the caller asked for (not the temporary one, nor none)."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(target))


def ensure_writable(
    directory: str | os.PathLike[str],
    what: str,
    *,
    create: bool = True,
    option: str = "",
    private: bool = False,
) -> Path:
    """Create ``directory`` if needed and prove a file can be written there.

    Raises FileAccessError (exit 18) naming ``what`` (e.g. "the release notes
    directory"), so a run fails before its first build or push, not after.
    ``create=False`` (a dry run, or a run that makes the directory only when it first
    writes there, so that a failure before then leaves none empty) makes the same first
    move without keeping anything: a probe file in the directory if it exists, else a
    probe directory in the nearest existing one above it, removed at once. So a dry
    run refuses what the real run refuses (a read-only or pseudo file system, a file or
    a symbolic link to nowhere in the way, no permission), in the same words.
    ``option`` (``--notes-dir DIR``): the option that takes another directory, which a
    tip saying to pass one names. ``private``: what is made is mode 0700 (``make_dirs``).
    """
    target = Path(directory)
    try:
        _refuse_dangling_link(target)
        if create:
            make_dirs(target, private=private)
            _probe_file(target)
        else:
            _could_write(target)
    except OSError as exc:
        error = file_error(exc, f"write to {what} {shown_path(target)}")
        reason = exc.strerror or str(exc)
        hint = error.hint
        if isinstance(exc, _DanglingLink):
            reason = str(exc)
        elif isinstance(exc, (FileExistsError, NotADirectoryError)):
            reason = f"{path_kind(_nearest(target))} stands where a directory is needed"
        elif isinstance(exc, FileNotFoundError) and cwd_gone() and not target.is_absolute():
            reason = "the current directory no longer exists: it was removed after the shell "
            reason += "entered it"
            hint = CWD_GONE_HINT
        elif isinstance(exc, FileNotFoundError) and target.is_dir():  # /proc: takes no file
            reason = f"it exists, but no file can be created in it: {reason}"
            hint = (
                "its file system takes no new files (as /proc): pass a directory on one that does"
            )
        elif isinstance(exc, FileNotFoundError):  # the file system refuses new entries
            reason = f"it cannot be created under {shown_path(_nearest(target))}: {reason}"
        if option and hint and ("pass a" in hint or "pass another" in hint):  # it ends the tip
            hint = hint[:-1] + f" with {option})" if hint.endswith(")") else f"{hint} with {option}"
        raise FileAccessError(
            f"{what} {shown_path(target)} is not writable ({reason}); nothing was built or pushed",
            hint=hint,
        ) from None
    return target


class _DanglingLink(OSError):
    """A symbolic link whose target does not exist, where a directory is needed."""


def _refuse_dangling_link(target: Path) -> None:
    """Raise _DanglingLink if ``target`` or a directory above it is a link to nowhere."""
    said = dangling_link(target)
    if said:
        raise _DanglingLink(said)


def dangling_link(target: str | os.PathLike[str]) -> str | None:
    """The words for ``target``, or the directory above it that stands nearest to it,
    being a symbolic link to nowhere ("X is a dangling symbolic link (to Y, which does not
    exist)", or "X is a symbolic link loop (...)" when it leads back to itself): the one
    way a path that is a link to nowhere is said. None if it is not."""
    path = _nearest(Path(target))
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{shown_path(path)} is {SYMLINK_LOOP}"
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise
    return (
        f"{shown_path(path)} is a dangling symbolic link (to {shown_path(os.readlink(path))}, "
        "which does not exist)"
    )


def nearest_named(path: str | os.PathLike[str], name: str) -> Path | None:
    """The file ``name`` in the nearest of the directories ``path`` is written under
    (``m/a/x.yaml``: m/a, then m, then the current directory for a relative path), the
    one a mistyped path most likely meant; None when none holds one (a few ``stat`` calls,
    nothing read)."""
    for parent in Path(path).parents:
        candidate = parent / name
        try:
            if stat.S_ISREG(os.stat(candidate).st_mode):
                return candidate
        except (OSError, ValueError):  # missing, unreadable, or a NUL in the path
            continue
    return None


def _nearest(target: Path) -> Path:
    """``target`` if anything stands there (a broken link too), else the nearest path above it that does."""
    path = target
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


#: What ``check_tmpdir`` writes to TMPDIR (and removes): a full file system takes an
#: empty file, but not a page of bytes.
TMPDIR_PROBE_BYTES = 4096


def check_tmpdir(env: Mapping[str, str]) -> None:
    """A TMPDIR that is set must be a writable directory with room for a file of
    ``TMPDIR_PROBE_BYTES`` (written, synced and removed): Python quietly falls back to
    /tmp, but buildah and docker do not, and fail halfway through a build. Once it
    passes, Python's own temporary files go there too (``tempfile.tempdir``), never to
    its fallback, so publisher and the builders keep theirs in one place, and a message
    about a full TMPDIR names it (the CLI restores ``tempfile.tempdir`` when the command
    ends). Nor may
    another user be able to replace what it holds (``shared_hazard``: one that another
    user owns, or that all may write to without the sticky bit, or such a directory
    above it): they could swap the private temporary directories publisher makes there
    (the docker config and auth file holding the registry credentials, the build
    context) for links to their own. FileAccessError (exit 18) before anything starts."""
    value = env.get("TMPDIR", "")
    if not value:
        return
    target = Path(value)
    try:
        if not target.is_dir():
            if target.exists() or target.is_symlink():
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", value)
            raise FileNotFoundError(errno.ENOENT, "no such directory", value)
        _probe_file(target, size=TMPDIR_PROBE_BYTES)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise FileAccessError(
                f"TMPDIR={shown_path(value)} is full (writing {TMPDIR_PROBE_BYTES} bytes there: "
                f"{exc.strerror}; {free_space(value)}): the builders and publisher keep their "
                "temporary files there, each build its whole image; nothing was built or pushed",
                hint=f"{full_file_system(value)}, or point TMPDIR at a directory with more "
                "room; then rerun",
            ) from None
        raise FileAccessError(
            f"TMPDIR={shown_path(value)} is not a writable directory ({exc.strerror or exc}): the builders "
            "and publisher keep their temporary files there; nothing was built or pushed",
            hint="point TMPDIR at a writable directory with room, or unset it (then /tmp)",
        ) from None
    hazard = shared_hazard(target)
    if hazard is not None:
        at, info, why = hazard
        said = f"({_owner_mode(info)})"
        if at == Path(os.path.realpath(target)) != Path(os.path.abspath(target)):
            said = f"(a link to {shown_path(at)}: {_owner_mode(info)})"
        elif at != Path(os.path.abspath(target)):
            said = f"is in {shown_path(at)} {said}, which"
        raise FileAccessError(
            f"TMPDIR={shown_path(value)} {said} cannot be trusted: {why}, so another user "
            "could swap the private temporary directories publisher makes there (the docker "
            "config and auth file holding your registry credentials among them) for links "
            "to their own; nothing was built or pushed",
            hint="point TMPDIR at a directory of your own (`mkdir -m 700 ~/tmp` and "
            "`export TMPDIR=~/tmp`; where the home is not yours, as in a container job, "
            "`export TMPDIR=$(mktemp -d /tmp/publisher.XXXXXX)`), or unset it (then /tmp)",
        )
    tempfile.tempdir = os.path.abspath(value)


# --------------------------------------------------------------------------- shared machines
#
# Another user on the machine must not be able to change what a run reads or where it
# writes: the cache (a stand-in base a rehearsal builds on and runs as this user, lock
# files) and TMPDIR (the credentials' private directories). As ssh and pip do, a
# directory another user could change is refused before anything starts, never used.


def _user(uid: int) -> str:
    """``NAME (uid N)``, or ``uid N`` for one the password database does not know."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _owner_mode(info: os.stat_result) -> str:
    """``owner NAME (uid N), mode 0777, drwxrwxrwx``: who may change a file, in words."""
    mode = info.st_mode
    return f"owner {_user(info.st_uid)}, mode {stat.S_IMODE(mode):04o}, {stat.filemode(mode)}"


def _replaceable(info: os.stat_result) -> str | None:
    """Why another user may rename what a directory holds and put something else (a
    link) in its place: it is theirs (not this user's, nor root's), or all may write to
    it and it lacks the sticky bit (which lets only an entry's owner rename it); else None."""
    if info.st_uid not in (0, os.geteuid()):
        return f"it belongs to {_user(info.st_uid)}, neither to you nor to root"
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        return "every user may write to it and it lacks the sticky bit"
    return None


def _not_private(info: os.stat_result) -> str | None:
    """Why a directory is not this user's alone to change: another user owns it, or its
    group or all may write to it; else None."""
    if info.st_uid != os.geteuid():
        return f"it belongs to {_user(info.st_uid)}, not to you ({_user(os.geteuid())})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "other users may write to it"
    return None


def shared_hazard(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result, str] | None:
    """The first directory, from ``/`` down to ``path`` itself (as written, then as its
    symbolic links lead), whose entries another user may replace (``_replaceable``), or
    a symbolic link on the way that another user owns (they may point it elsewhere),
    with its ``lstat`` and why; None when there is none. The walk ends at the first part
    not there yet (made later, by this user)."""
    seen: set[Path] = set()
    for chain in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
        for at in [*reversed(chain.parents), chain]:
            if at in seen:
                continue
            seen.add(at)
            try:
                info = os.lstat(at)
                if stat.S_ISLNK(info.st_mode):
                    if info.st_uid not in (0, os.geteuid()):
                        owner = _user(info.st_uid)
                        return (
                            at,
                            info,
                            f"it is a symbolic link of {owner}, who may point it elsewhere",
                        )
                    continue  # where it leads: judged on the way ``realpath`` takes
            except OSError:
                break
            why = _replaceable(info) if stat.S_ISDIR(info.st_mode) else None
            if why is not None:
                return at, info, why
    return None


def check_cache(env: Mapping[str, str], *, what: str = "the cache", create: bool = False) -> Path:
    """The cache (``cache_root``), refused (FileAccessError, exit 18) before anything
    starts when it cannot be written (``ensure_writable``: made, mode 0700, with
    ``create``, as a rehearsal's stand-ins are written there at once; else proven writable
    without keeping anything, so a dry run refuses it too and leaves nothing; ``what``
    names it), or when another user could change it: a directory above it whose entries another
    user may replace (``shared_hazard``), or the cache itself or a directory in it that
    is not this user's alone (``_not_private``: another user's, or writable by its group
    or by all). What is there is read and run as this user (a stand-in base a rehearsal
    builds on, a lock file opened, a smoke test's mark that removes an image), so it must
    be theirs; a directory in it that another user (root) made is refused here too,
    rather than when the run first writes there. A directory holding other entries than
    publisher's (``foreign_entries``: ``$HOME``, ``/usr``) is refused too, not written
    into. A cache not there yet, or empty, passes these (it is made private, mode 0700,
    when first written), where it could be made. Returns its path."""
    root = cache_root(env)
    default = "by default the cache is $XDG_CACHE_HOME/publisher, else ~/.cache/publisher"
    hazard = shared_hazard(root)
    itself = {Path(os.path.abspath(root)), Path(os.path.realpath(root))}
    if hazard is not None and (hazard[0] not in itself or stat.S_ISLNK(hazard[1].st_mode)):
        at, info, why = hazard  # the cache's own directory: _not_private, below
        raise FileAccessError(
            f"the cache {shown_path(root)} cannot be trusted: on the way to it, "
            f"{shown_path(at)} ({_owner_mode(info)}) is not safe: {why}, so another user "
            "could put a cache of their own in its place, whose content your runs would "
            "use; nothing was built or pushed",
            hint=f"set {ENV_CACHE} to a directory of your own, in one that only you and root "
            f"may change ({default})",
        )
    entries = _entries(root)
    home = user_home(env)
    foreign = foreign_entries(
        root, entries or (), home=home is not None and _same_directory(root, home)
    )
    for at, info in _cache_directories(root, entries):
        reason = _not_private(info) if stat.S_ISDIR(info.st_mode) else None
        if reason is None:
            continue
        said = f"the cache {shown_path(root)} ({_owner_mode(info)})"
        if at != root:
            said = f"the directory {shown_path(at)} ({_owner_mode(info)}) in the cache {shown_path(root)}"
        if entries is None or foreign:
            hint = (
                f"{_cache_setting(env, root)}, which holds "
                + (
                    f"other files than publisher's ({_listed(foreign)})"
                    if foreign
                    else "what could not be listed"
                )
                + ", so it is not publisher's to change or remove: point "
                f"{ENV_CACHE} at a directory of its own, which publisher makes private to you "
                f"(mode 0700) when it is not there yet ({default})"
            )
        else:
            if info.st_uid != os.geteuid():
                change = f"remove it (`rm -rf {shown_path(at)}`, {_as_owner(info.st_uid)})"
            else:
                change = (
                    f"make the cache yours alone (`chmod -R go-w {shown_path(root)}`) or remove it"
                )
            hint = (
                f"{change}: it is only a cache, which the next run makes anew, private to you "
                f"(mode 0700); or set {ENV_CACHE} to a directory of your own ({default})"
            )
        raise FileAccessError(
            f"{said} cannot be trusted: {reason}; what another user puts there (a stand-in base "
            "image, a link where a lock file goes) would be used by your runs; nothing was "
            "built or pushed",
            hint=hint,
        )
    if foreign:
        from .settings import setting

        chosen = setting(env, ENV_CACHE)
        raise FileAccessError(
            f"{_cache_setting(env, root)}, which holds other files than publisher's "
            f"({_listed(foreign)}): publisher keeps its cache (stand-in bases, lock files) "
            "in a directory of its own, never among other files; nothing was built or pushed",
            hint=f"point {ENV_CACHE} at a directory of its own, new or empty, which publisher "
            "makes private to you (mode 0700)"
            + (
                f", or unset it: {default}, publisher's own"
                if chosen
                else f", such as ~/.cache/php-fpm-publisher; publisher leaves {shown_path(root)} "
                "as it is"
            ),
        )
    try:
        return ensure_writable(root, what, create=create, private=True)
    except FileAccessError as exc:  # (what to do there, e.g. free space, kept first)
        exc.hint = "; or ".join(
            [
                *([exc.hint] if exc.hint else []),
                f"set {ENV_CACHE} to a writable directory; {default}",
            ]
        )
        raise


def foreign_entries(root: Path, entries: Iterable[str], *, home: bool = False) -> list[str]:
    """Those of ``entries`` (the names in directory ``root``) that make it no cache of
    publisher's: all but its own (``CACHE_ENTRIES``), a file system's ``lost+found`` and
    hidden files (``.DS_Store``, a write check's ``.publisher-write-check.*``). A hidden
    directory (``.git``, ``.cache``) is someone's content, and in the ``home`` directory
    a hidden file too (``.bashrc``)."""
    return [
        name
        for name in entries
        if name not in CACHE_ENTRIES
        and name not in _NOT_CONTENT
        and (home or not name.startswith(".") or not _regular_file(root / name))
    ]


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return True  # gone meanwhile: nothing


def _same_directory(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def _entries(root: Path) -> list[str] | None:
    """The names in directory ``root``, sorted; None when it cannot be listed."""
    try:
        return sorted(os.listdir(root))
    except OSError:
        return None


def _listed(names: Sequence[str], most: int = 3) -> str:
    """``a, b, c and 4 more``: some of ``names``, as a message shows them."""
    shown = ", ".join(shown_path(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _as_owner(uid: int) -> str:
    """``as NAME (uid N) or root``, or ``as root`` for root's: who may run a command."""
    return "as root" if uid == 0 else f"as {_user(uid)} or root"


def _cache_setting(env: Mapping[str, str], root: Path) -> str:
    """Which setting put the cache at ``root``, in words, as ``cache_root`` read it."""
    from .settings import setting

    if setting(env, ENV_CACHE):
        return f"{ENV_CACHE} points at {shown_path(root)}"
    if os.path.isabs(env.get("XDG_CACHE_HOME", "")):
        return f"XDG_CACHE_HOME puts the cache at {shown_path(root)}"
    return f"the cache is {shown_path(root)} (by default)"


def _cache_directories(
    root: Path, entries: Sequence[str] | None
) -> Iterator[tuple[Path, os.stat_result]]:
    """The cache ``root``, the directories among its ``entries`` (the names in it), and
    every directory in those of publisher's (``CACHE_ENTRIES``; a link to one followed,
    not walked into), each with its ``stat``; nothing when it is not there. Another
    directory in it is not walked into: publisher reads nothing there (a ``/usr`` given
    as the cache, walked whole, took seconds). A directory that cannot be listed ends its
    branch (its own owner and mode are given first)."""
    try:
        yield root, os.stat(root)
    except OSError:
        return
    for name in entries or ():
        path = root / name
        try:
            info = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode):
            continue
        yield path, info
        if name not in CACHE_ENTRIES or os.path.islink(path):
            continue
        for directory, names, _files in os.walk(path):
            for inner in names:
                found = Path(directory) / inner
                with contextlib.suppress(OSError):
                    yield found, os.stat(found)


def make_dirs(
    directory: str | os.PathLike[str], mode: int = 0o755, *, private: bool = False
) -> Path:
    """Make ``directory`` and each missing one above it with ``mode`` less the umask (at
    most ``mode``: never one all may write to, whatever the umask, as ``mkdir -p`` would
    make under ``umask 000``), or, ``private``, exactly 0700 whatever the umask (the
    cache, as the XDG base directory specification asks); one already there is left as
    it is. FileExistsError when something else than a directory stands at ``directory``,
    and, ``private``, when one another user made (``_not_private``) appeared meanwhile."""
    target = Path(directory)
    missing = []
    at = target
    while not os.path.lexists(at) and at.parent != at:
        missing.append(at)
        at = at.parent
    for made in reversed(missing):
        try:
            os.mkdir(made, 0o700 if private else mode)
        except FileExistsError:
            if made.is_dir() and not (private and _not_private(os.stat(made))):
                continue  # another run of this user made it meanwhile
            raise
        if private:
            os.chmod(made, 0o700)
    if not target.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    return target


def link_refused(path: Path, what: str) -> FileAccessError:
    """The refusal of a symbolic link found where publisher makes a ``what`` ("lock file")
    of its own: never written through (exit 18)."""
    try:
        to = f" (to {shown_path(os.readlink(path))})"
    except OSError:
        to = ""
    return FileAccessError(
        f"the {what} {shown_path(path)} is a symbolic link{to}: publisher never writes "
        "through a link there, and wrote nothing",
        hint=f"remove the link (`rm {shown_path(path)}`): publisher makes the file itself. "
        "Only you or root could put it in your cache: find out what did",
    )


def create_new(path: Path, mode: int) -> int:
    """A descriptor of a new file at ``path``, open to write, of mode ``mode`` exactly:
    made with O_EXCL and O_NOFOLLOW, so a symbolic link there is refused
    (``link_refused``), never followed; anything else there raises FileExistsError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    except FileExistsError:
        if os.path.islink(path):
            raise link_refused(path, "temporary file") from None
        raise
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _probe_file(directory: Path, size: int = 0) -> None:
    """Make a file in ``directory``, write ``size`` bytes to it and sync them (where a full
    file system shows: it takes an empty file), then remove it."""
    fd, probe = tempfile.mkstemp(prefix=".publisher-write-check.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if size:
                handle.write(b"\0" * size)
                handle.flush()
                os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def _could_write(target: Path) -> None:
    """Raise the OSError that creating and writing in ``target`` would meet.

    The first thing the real run does is made and undone here: a file in ``target``
    if it is a directory, else a directory in the nearest existing one above it.
    """
    existing = _nearest(target)
    if existing == target and target.is_dir():
        _probe_file(target)
        return
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    os.rmdir(tempfile.mkdtemp(prefix=".publisher-write-check.", dir=existing))


class NotRegularFileError(OSError):
    """A pipe, a socket or a device where a file is to be read: refused, never waited on."""


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words for a message ("is a named pipe,
    not a directory"): the one place a refusal says what stands at a path."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    return next((words for test, words in kinds if test(mode)), "a file of an unknown kind")


def path_kind(path: str | os.PathLike[str]) -> str:
    """``kind_of`` what stands at ``path`` (a link followed; a link to nowhere said so,
    nothing there "nothing")."""
    try:
        return kind_of(os.stat(path).st_mode)
    except OSError:
        return "a symbolic link to nowhere" if os.path.islink(path) else "nothing"


def require_directory(root: Path, what: str, *, hint: str) -> None:
    """Refuse ``root`` unless it is a directory: FileAccessError (exit 18) "cannot read
    ``what``: ROOT does not exist" (or "is a named pipe, not a directory"); a directory
    above it this user may not search is said as the read of ``what``; a relative ROOT
    missing because the current directory was removed says so, with its tip."""
    try:
        is_dir = root.is_dir()
    except OSError as exc:
        raise file_error(exc, f"read {what}") from None
    if not is_dir:
        there = f"is {path_kind(root)}, not a directory" if root.exists() else "does not exist"
        if not root.exists() and not root.is_absolute() and cwd_gone():
            there += " (the current directory no longer exists: it was removed after the "
            there += "shell entered it)"
            hint = CWD_GONE_HINT
        raise FileAccessError(f"cannot read {what}: {shown_path(root)} {there}", hint=hint)


def _not_regular(mode: int, path: str | os.PathLike[str]) -> NotRegularFileError:
    return NotRegularFileError(errno.EINVAL, f"{kind_of(mode)}, not a regular file", str(path))


def read_prefix(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path``: the one way publisher
    opens a file it reads. A directory raises IsADirectoryError, and a pipe or a device
    NotRegularFileError before anything is read (a FIFO would block the run for ever,
    a device would never end); a missing file raises FileNotFoundError, and a path holding
    a NUL character (from Python only: argv and the environment cannot carry one) an
    OSError, as every other path no file can be read at, never os.open's ValueError."""
    if "\0" in os.fsdecode(path):
        raise OSError(errno.EINVAL, "a path cannot hold a NUL character", os.fspath(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)


def append_whole(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` (UTF-8) to the file at ``path`` in one write, so that a failure
    or a signal never leaves part of it written (creating the file when missing; after
    a short write that the next one fails, a full disk, the file is cut back). An
    empty ``text`` only opens it: whether it can be appended to. A named pipe or a
    socket is refused with NotRegularFileError, never waited on (opening a FIFO to
    append blocks until a reader comes); a device is written to as a file (``/dev/full``
    fails the write, ``/dev/null`` takes it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | _CLOEXEC, 0o666)
    except OSError:  # ENXIO: a FIFO no one reads
        mode = 0
        with contextlib.suppress(OSError):
            mode = os.stat(path).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise _not_regular(mode, path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise _not_regular(mode, path)
        os.set_blocking(fd, True)
        size = os.fstat(fd).st_size if stat.S_ISREG(mode) else None
        data = text.encode("utf-8")
        try:
            while data:  # one write; more only after a short one, which a full disk ends
                data = data[os.write(fd, data) :]
        except BaseException:  # the part written is taken back: all of it or none
            if size is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def read_bytes(
    path: str | os.PathLike[str], *, limit: int, what: str, hint: str | None = None
) -> bytes:
    """At most ``limit + 1`` bytes of the file, which should be a ``what`` ("Dockerfile"):
    more than ``limit`` means it is larger, and the caller says what that means.

    A missing file raises FileNotFoundError (the caller says what absence means);
    another read failure (a directory, no permission) is FileAccessError (exit 18). A
    directory, a pipe or a device where the file belongs is said so in its tip, followed
    by ``hint`` (what the file should be, or how to write it again), not told to check
    permissions it does not lack.
    """
    target = Path(path)
    try:
        return read_prefix(target, limit)
    except FileNotFoundError:
        raise
    except OSError as exc:  # no permission: the tip every path option gives (file_error)
        if exc.errno == errno.ELOOP:
            raise file_error(exc, f"read the {what}") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            tip = file_error(exc, f"read the {what}").hint
        elif isinstance(exc, (IsADirectoryError, NotRegularFileError)):
            tip = f"{shown_path(target)} is {path_kind(target)}, not a regular file: "
            tip += hint or f"name the {what} itself"
        else:
            tip = "check the path and its permissions"
        raise FileAccessError(
            f"cannot read the {what} {shown_path(target)}: {exc.strerror or exc}", hint=tip
        ) from None


def read_text(path: str | os.PathLike[str], *, limit: int, what: str, hint: str) -> str:
    """The UTF-8 text of the file, which should be a ``what`` ("release record").

    At most ``limit`` bytes are read. A missing file raises FileNotFoundError (the
    caller says what absence means); another read failure is FileAccessError
    (exit 18); a larger file, or one that is not UTF-8, is ConfigError (exit 3)
    naming the file, with ``hint``.
    """
    target = Path(path)
    raw = read_bytes(target, limit=limit, what=what, hint=hint)
    if len(raw) > limit:
        raise ConfigError(
            f"the file is larger than {_size(limit)}; not a {what}", source=str(target), hint=hint
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"not UTF-8 text; not a {what}", source=str(target), hint=hint) from None


#: JSON's names for the Python types ``json.loads`` gives (bool before int: it is one).
_JSON_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "true or false"),
    (int, "a whole number"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's words ("null", "an array"): never a Python
    type name (``NoneType``, ``dict``) in a message about a file."""
    if value is None:
        return "null"
    return next((word for kind, word in _JSON_KINDS if isinstance(value, kind)), "a value")


def json_kind_of(kind: type) -> str:
    """The JSON word for values of the Python type ``kind`` (``int``: "a whole number")."""
    return next((word for known, word in _JSON_KINDS if known is kind), "a value")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and its noun, in the plural unless one: "1 line", "2 lines", "0 lines";
    ``plural`` where adding "s" is wrong ("registry", "registries")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_json(text: str, source: str, *, limit: int, what: str, hint: str) -> Any:
    """``text`` parsed as JSON, or a ConfigError (exit 3) at ``source``: more than ``limit``
    bytes, broken JSON (with its line and column), or a key given twice in one object."""
    if len(text) > limit:
        raise ConfigError(
            f"the file is larger than {_size(limit)}; not a {what}",
            source=source,
            hint=hint,
        )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        # "Unterminated string starting at", "Invalid control character at": json's
        # message leaves its position to the caller
        at = f" line {exc.lineno}, column {exc.colno}" if exc.msg.endswith(" at") else ""
        raise ConfigError(
            f"not valid JSON: {exc.msg}{at}",
            source=source,
            line=exc.lineno,
            column=exc.colno,
            hint=hint,
        ) from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise ConfigError("not valid JSON: nested too deeply", source=source, hint=hint) from None
    except _DuplicateKey as exc:
        raise ConfigError(
            f"the key {exc.key!r} appears twice in one object (JSON readers would disagree "
            "on which one counts)",
            source=source,
            hint=hint,
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (json keeps the last one silently)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // 1024} KiB"


# --------------------------------------------------------------------------- temporary dirs


def _owner() -> str:
    """This process as a temporary directory's name gives it: ``<pid namespace>.<pid>``
    (the namespace keeps runs in containers sharing /tmp apart; 0 where there is none)."""
    try:
        namespace = re.sub(r"\D", "", os.readlink("/proc/self/ns/pid")) or "0"
    except OSError:
        namespace = "0"
    return f"{namespace}.{os.getpid()}"


def _alive(pid: int) -> bool:
    if os.name != "posix":  # elsewhere os.kill ends the process: never swept there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    except OverflowError:  # no pid at all (a name another user made up): never swept
        return True
    return True


def _mount_points(mountinfo: str = "/proc/self/mountinfo") -> list[str] | None:
    """This mount namespace's mount points (bind mounts too); None where it cannot be read."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as handle:
            fields = [line.split(" ") for line in handle.read(MIB * 4).splitlines()]
    except OSError:
        return None
    # The fifth field; a blank, tab, newline or backslash in it is written in octal.
    return [
        re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f[4])
        for f in fields
        if len(f) > 4
    ]


def _one_filesystem(path: str, mountinfo: str = "/proc/self/mountinfo") -> bool:
    """Nothing under ``path`` is mounted (removing it stays inside it): no mount point
    of this mount namespace, a bind mount of the same filesystem included, and, where
    that list cannot be read, no directory on another device."""
    points = _mount_points(mountinfo)
    if points is not None:
        inside = os.path.realpath(path) + os.sep
        if any(point.startswith(inside) for point in points):
            return False
    try:
        device = os.lstat(path).st_dev
        for root, dirs, _files in os.walk(path):
            if any(os.lstat(os.path.join(root, d)).st_dev != device for d in dirs):
                return False
    except OSError:
        return False
    return True


def remove_stale_temp_dirs(
    prefix: str,
    parent: str | os.PathLike[str] | None = None,
    before: Callable[[Path], bool] | None = None,
) -> list[Path]:
    """Remove the directories ``temp_dir(prefix, parent)`` made for runs that are gone.

    A run killed with SIGKILL cannot remove its temporary directories (a docker config
    or an auth file holding credentials, a builder's scratch space). Each is named
    ``<prefix><pid namespace>.<pid>-<random>``: one of this user's, in this pid
    namespace, whose process no longer exists, is removed, unless something is mounted
    inside it. A directory whose pid was reused stays until that process ends.
    ``before(path)`` first ends what the gone run left running there (a throwaway
    registry); False keeps the directory. Returns the directories removed."""
    directory = Path(parent if parent is not None else tempfile.gettempdir())
    namespace = _owner().split(".")[0]
    if namespace == "0" and os.path.isdir("/proc/self"):
        # /proc without a readable pid namespace: runs in containers sharing this /tmp
        # could not be told apart, so nothing is swept.
        return []
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.(\d+)-[^/]+\Z")
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        match = pattern.match(name)
        if match is None or match.group(1) != namespace or _alive(int(match.group(2))):
            continue
        path = directory / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        if not _one_filesystem(str(path)) or (before is not None and not before(path)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def make_temp_dir(
    prefix: str,
    parent: str | os.PathLike[str] | None = None,
    before: Callable[[Path], bool] | None = None,
) -> Path:
    """A new directory (mode 0700) in ``parent`` (Python's temporary directory when None),
    which the caller removes. Its name says which process made it, so that the next run
    removes it if this one is killed (``remove_stale_temp_dirs``, run here first)."""
    remove_stale_temp_dirs(prefix, parent, before)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{_owner()}-", dir=parent))


@contextlib.contextmanager
def temp_dir(prefix: str, parent: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """``make_temp_dir``, removed afterwards, also when the run is interrupted."""
    path = make_temp_dir(prefix, parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def can_flock() -> bool:
    """Whether this platform has ``flock`` (fcntl): without it no lock is taken, and what
    only a lock makes safe (removing what another run may use) is left undone."""
    return fcntl is not None


def flock(
    handle: int | IO[Any],
    *,
    shared: bool = False,
    wait: bool = True,
    waiting: Callable[[], None] | None = None,
) -> None:
    """Lock the open file (or descriptor) ``handle`` with ``flock``, ``shared`` or
    exclusive, until it is closed. ``wait``: wait for another holder (``waiting`` is
    called once before, to say so); else raise ``BlockingIOError`` (an ``OSError``) at
    once. ``OSError`` too where the file system refuses ``flock``. Without fcntl
    (``can_flock``), nothing: the caller goes on unlocked."""
    if fcntl is None:
        return
    operation = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    if wait and waiting is None:
        fcntl.flock(handle, operation)
        return
    try:
        fcntl.flock(handle, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait or waiting is None:
            raise
        with contextlib.suppress(OSError):  # a line that cannot be written: still wait
            waiting()
        fcntl.flock(handle, operation)


def locked_file(
    path: Path, *, shared: bool = False, wait: bool = True, make: bool = True
) -> IO[bytes]:
    """The lock file ``path`` opened and locked (``flock``: ``shared``, ``wait``), which the
    caller closes (the lock goes with it). ``make``: the file (mode 0600) and its folder
    (0700, ``make_dirs``) are made when missing; else a missing one raises
    ``FileNotFoundError``. ``OSError`` when it cannot be opened or locked, or is not a
    regular file; a symbolic link there is never followed (``link_refused``, exit 18).
    Opened but unlocked without fcntl (``can_flock``)."""
    if make:
        make_dirs(path.parent, private=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT if make else os.O_RDONLY
    try:
        fd = os.open(path, flags | _NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, 0o600)
    except OSError:
        if os.path.islink(path):
            raise link_refused(path, "lock file") from None
        raise
    handle = os.fdopen(fd, "ab" if make else "rb")
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # a pipe is never waited on, a device never locked
            raise _not_regular(mode, path)
        flock(handle, shared=shared, wait=wait)
    except BaseException:
        handle.close()
        raise
    return handle


def same_file(handle: IO[Any], path: Path) -> bool:
    """``path`` still names the file ``handle`` has open (not removed, nor made anew)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def lock_in_place(
    path: Path, *, shared: bool = False, wait: bool = True, make: bool = True
) -> IO[bytes]:
    """``locked_file``, for a lock file that is removed by a run holding it exclusively
    (with what it guards): one that was removed (or made anew) while this run waited
    for it is let go, and the file at ``path`` now is locked instead. So a run never
    holds a lock file gone from its place, which another run could make anew and hold
    too. ``FileNotFoundError`` when it is gone and ``make`` is false."""
    while True:
        handle = locked_file(path, shared=shared, wait=wait, make=make)
        try:
            if same_file(handle, path):
                return handle
        except BaseException:
            handle.close()
            raise
        handle.close()


@contextlib.contextmanager
def directory_locked(
    directory: str | os.PathLike[str], waiting: Callable[[], None] | None = None
) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``directory`` itself (opened read-only, so no lock
    file appears in it) while the block runs: two runs that read a file in it, change it
    and write it back take turns, neither dropping what the other wrote. ``waiting`` is
    called once before waiting for another holder (to say so). Where there is no
    ``flock`` (no fcntl, a file system refusing it) or the directory cannot be opened,
    the block runs unguarded, as before. Gives whether the lock is held (what only the
    holder may do, removing what another run may be writing, is left undone when not)."""
    fd = None
    held = False
    if can_flock():
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    try:
        if fd is not None:
            with contextlib.suppress(OSError):  # a file system refusing flock: unguarded
                flock(fd, waiting=waiting)
                held = True
        yield held
    finally:
        if fd is not None:
            os.close(fd)  # (the lock goes with it)


def link_beside(source: Path, into: Path, *, but: str) -> None:
    """Link each entry of the directory ``source`` into ``into``, all but the one named
    ``but``: a throwaway docker config keeps the user's plugins (buildx), buildx's builders
    and the one in use, and the docker contexts. Nothing when ``source`` cannot be listed."""
    try:
        entries = sorted(source.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name != but:
            (into / entry.name).symlink_to(entry)
