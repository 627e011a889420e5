"""A machine other users share: what another user could change is refused, never used.

The cache (``PUBLISHER_CACHE_DIR``) holds the stand-in bases a rehearsal builds on and
runs, and the lock files runs open; ``TMPDIR`` holds the private directories with the
registry credentials. Another user (here uid ``OTHER``, given files with ``os.chown``:
no account is needed) who could write there, or replace what is there, could make a run
use their files or write through their links. Real files, real modes and owners.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.adapters.builders.layout import init_layout
from publisher.core import fileio
from publisher.core.errors import FileAccessError
from publisher.core.fileio import check_cache, check_tmpdir, locked_file, write_atomic
from publisher.stages import standins

#: Another user, who has no account here (said as ``uid 4242``).
OTHER = 4242

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another uid: root")


@pytest.fixture
def umask() -> Iterator[None]:
    """Restores the process's umask after a test that sets its own."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def said(error: FileAccessError) -> str:
    return " ".join(f"{error.message} tip: {error.hint}".split())


# ----------------------------------------------------------------- made private


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_the_cache_is_made_0700_whatever_the_umask(tmp_path: Path, umask: None, mask: int) -> None:
    """The XDG base directory specification: a missing directory is made 0700. Under
    ``umask 000`` the cache was world-writable (0777, its lock files 0666)."""
    home = tmp_path / "home"
    home.mkdir()
    os.umask(mask)
    root = standins.check_cache({"HOME": str(home)})
    with locked_file(root / "smoke-images" / "docker-x.lock"):
        pass
    cache = tmp_path / "other-cache"  # made by the first lock, as a real release does
    with locked_file(cache / "buildah-bases" / "x.lock"):
        pass
    os.umask(0o022)
    assert root == home / ".cache" / "publisher"
    for made in (home / ".cache", root, root / "smoke-images", cache, cache / "buildah-bases"):
        assert mode(made) == 0o700, made
    assert mode(root / "smoke-images" / "docker-x.lock") & 0o077 == 0
    assert mode(cache / "buildah-bases" / "x.lock") & 0o077 == 0
    check_cache({"PUBLISHER_CACHE_DIR": str(cache)})  # its own run's cache: trusted


def test_a_busybox_binary_is_cached_in_a_private_directory(tmp_path: Path, umask: None) -> None:
    source = tmp_path / "busybox"
    source.write_bytes(b"\x7fELF busybox")
    target = tmp_path / "cache" / "standins" / "busybox" / "amd64" / "busybox"
    os.umask(0)
    fileio.make_dirs(target.parent, private=True)
    standins._install(source, target)
    os.umask(0o022)
    assert target.read_bytes() == source.read_bytes()
    assert mode(target) == 0o755
    assert [mode(p) for p in (target.parent, target.parent.parent)] == [0o700, 0o700]


@pytest.mark.parametrize(("mask", "expected"), [(0o000, 0o755), (0o022, 0o755), (0o077, 0o700)])
def test_output_directories_are_at_most_0755_whatever_the_umask(
    tmp_path: Path, umask: None, mask: int, expected: int
) -> None:
    """The notes and digest directories (and ``.publisher/`` above them) are made as
    the files in them are written: under ``umask 000`` they were 0777, so another user
    could replace the notes or a digest record a publish then trusts."""
    notes = tmp_path / ".publisher" / "local" / "release-notes"
    os.umask(mask)
    write_atomic(notes / "v1.0.0.md", "# v1.0.0\n")
    os.umask(0o022)
    for made in (tmp_path / ".publisher", tmp_path / ".publisher" / "local", notes):
        assert mode(made) == expected, made
    assert mode(notes / "v1.0.0.md") == 0o644


def test_a_layout_made_under_umask_000_is_not_writable_by_others(
    tmp_path: Path, umask: None
) -> None:
    """The stand-in layouts are made in the cache: one writable by others would get the
    next run's cache refused."""
    os.umask(0)
    init_layout(tmp_path / "x.oci")
    os.umask(0o022)
    for made in (
        tmp_path / "x.oci",
        tmp_path / "x.oci" / "blobs",
        tmp_path / "x.oci" / "blobs" / "sha256",
    ):
        assert mode(made) == 0o755, made


# ----------------------------------------------------------------- links never followed


@pytest.mark.parametrize("make", [True, False])
def test_a_link_where_a_lock_file_goes_is_refused_never_followed(
    tmp_path: Path, make: bool
) -> None:
    """``open(path, "ab")`` followed a link planted at ``NAME.lock``: the run created (as
    root, say) an empty file wherever it pointed."""
    target = tmp_path / "elsewhere" / "nologin"
    target.parent.mkdir()
    if not make:
        target.write_text("kept\n")
    cache = tmp_path / "cache"
    fileio.make_dirs(cache, private=True)
    lock = cache / "x.oci.lock"
    lock.symlink_to(target)
    with pytest.raises(FileAccessError) as info:
        locked_file(lock, make=make)
    assert info.value.exit_code == 18
    assert f"the lock file {lock} is a symbolic link (to {target})" in said(info.value)
    assert f"remove the link (`rm {lock}`)" in said(info.value)
    assert target.exists() is not make
    assert make or target.read_text() == "kept\n"


def test_a_link_where_a_busybox_copy_goes_is_refused_never_followed(tmp_path: Path) -> None:
    """``NAME.PID.tmp`` is predictable: ``shutil.copyfile`` and ``os.chmod`` followed a link
    there, writing the binary over the file it named and making that executable."""
    source = tmp_path / "busybox"
    source.write_bytes(b"\x7fELF busybox")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    target = tmp_path / "cache" / "busybox" / "amd64" / "busybox"
    fileio.make_dirs(target.parent, private=True)
    standins._tmp_path(target).symlink_to(victim)
    with pytest.raises(FileAccessError) as info:
        standins._install(source, target)
    assert "the temporary file" in said(info.value) and "is a symbolic link" in said(info.value)
    assert victim.read_text() == "precious\n" and mode(victim) == 0o600
    assert not target.exists()


# ----------------------------------------------------------------- the cache's owner


def cache_of(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    (cache / "standins" / "layouts").mkdir(parents=True)
    cache.chmod(0o755)
    return cache


@needs_root
@pytest.mark.parametrize(
    ("change", "words", "tip"),
    [
        (
            lambda c: os.chown(c, OTHER, OTHER),
            "the cache {c} (owner uid 4242, mode 0755, drwxr-xr-x) cannot be trusted: it "
            "belongs to uid 4242, not to you",
            "remove it (`rm -rf {c}`, as uid 4242 or root)",
        ),
        (
            lambda c: c.chmod(0o777),
            "the cache {c} (owner root (uid 0), mode 0777, drwxrwxrwx) cannot be trusted: "
            "other users may write to it",
            "make the cache yours alone (`chmod -R go-w {c}`) or remove it",
        ),
        (
            lambda c: c.chmod(0o775),
            "the cache {c} (owner root (uid 0), mode 0775, drwxrwxr-x) cannot be trusted",
            "`chmod -R go-w {c}`",
        ),
        (  # root's rehearsal with the user's HOME left its own folders (t3 finding 8)
            lambda c: os.chown(c / "standins", OTHER, OTHER),
            "the directory {c}/standins (owner uid 4242, mode 0755, drwxr-xr-x) in the cache "
            "{c} cannot be trusted: it belongs to uid 4242",
            "remove it (`rm -rf {c}/standins`, as uid 4242 or root)",
        ),
        (
            lambda c: (c / "standins" / "layouts").chmod(0o1777),
            "the directory {c}/standins/layouts (owner root (uid 0), mode 1777, drwxrwxrwt) in "
            "the cache {c} cannot be trusted: other users may write to it",
            "`chmod -R go-w {c}`",
        ),
        (
            lambda c: os.chown(c.parent, OTHER, OTHER),
            "the cache {c} cannot be trusted: on the way to it, {c.parent} (owner uid 4242, "
            "mode 0755, drwxr-xr-x) is not safe: it belongs to uid 4242, neither to you nor "
            "to root, so another user could put a cache of their own in its place",
            "set PUBLISHER_CACHE_DIR to a directory of your own, in one that only you and "
            "root may change",
        ),
        (
            lambda c: c.parent.chmod(0o777),
            "on the way to it, {c.parent} (owner root (uid 0), mode 0777, drwxrwxrwx) is not "
            "safe: every user may write to it and it lacks the sticky bit",
            "set PUBLISHER_CACHE_DIR",
        ),
    ],
)
def test_a_cache_another_user_could_change_is_refused(tmp_path: Path, change, words, tip) -> None:
    """Whoever owned it, the cache was used: another user's layout ran as this user in
    the build and the smoke test (t3 findings 1, 2 and 8)."""
    cache = cache_of(tmp_path / "parent")
    check_cache({"PUBLISHER_CACHE_DIR": str(cache)})
    change(cache)
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(cache)})
    assert info.value.exit_code == 18
    assert words.format(c=cache) in said(info.value), said(info.value)
    assert tip.format(c=cache) in said(info.value), said(info.value)
    assert "nothing was built or pushed" in said(info.value)


@pytest.mark.parametrize(
    "beside",
    [
        None,  # an empty cache made under umask 002
        ".DS_Store",  # a hidden file Finder left: no content, the cache stays publisher's
        ".publisher-write-check.x1y2",  # a killed run's write check
    ],
)
def test_a_group_writable_cache_with_nothing_but_its_own_is_offered_the_chmod(
    tmp_path: Path, beside: str | None
) -> None:
    """A cache refused for its mode that holds nothing but what publisher may hold is
    publisher's to change: the tip is the `chmod -R go-w`, never "holds other files"."""
    cache = tmp_path / "cache"
    cache.mkdir()
    if beside is None:
        cache.chmod(0o775)
    else:
        (cache / "standins").mkdir()
        (cache / beside).write_text("")
        cache.chmod(0o775)
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(cache)})
    assert f"`chmod -R go-w {cache}`" in said(info.value), said(info.value)
    assert "other files than publisher's" not in said(info.value), said(info.value)


@pytest.mark.parametrize(
    ("setting", "shared"),
    [
        ("PUBLISHER_CACHE_DIR", "."),  # /tmp: the directory itself is 1777
        ("PUBLISHER_CACHE_DIR", "tmp"),  # /: a directory in it is 1777
        ("XDG_CACHE_HOME", "publisher/tmp"),  # XDG_CACHE_HOME=/ with a /publisher of others
    ],
)
def test_a_refused_directory_that_is_not_a_cache_is_never_offered_to_be_removed(
    tmp_path: Path, setting: str, shared: str
) -> None:
    """tA finding 1: ``PUBLISHER_CACHE_DIR=/tmp`` (or ``/``, ``$HOME``) was refused with
    the tip to ``rm -rf /tmp`` or ``chmod -R go-w /``, "it is only a cache". A directory
    holding other files than publisher's is not its to remove or change."""
    top = tmp_path / "top"
    (top / "publisher" / "tmp").mkdir(parents=True)
    (top / "tmp").mkdir()
    (top / "etc").mkdir()
    (top / "publisher" / "notes.txt").write_text("theirs\n")
    (top / shared).chmod(0o1777)
    env = {setting: str(top)}
    cache = top / "publisher" if setting == "XDG_CACHE_HOME" else top
    with pytest.raises(FileAccessError) as info:
        check_cache(env)
    words = said(info.value)
    assert info.value.exit_code == 18
    assert "cannot be trusted" in words and "nothing was built or pushed" in words
    assert "rm -rf" not in words and "chmod" not in words, words
    assert "it is only a cache" not in words, words
    points = "points at" if setting == "PUBLISHER_CACHE_DIR" else "puts the cache at"
    assert f"{setting} {points} {cache}, which holds other files than publisher's" in words, words
    assert "a directory of its own" in words, words
    assert (top / shared).is_dir() and (top / "publisher" / "notes.txt").exists()


def test_a_directory_that_is_not_a_cache_is_judged_on_its_first_level_alone(
    tmp_path: Path,
) -> None:
    """``/usr``'s refusal walked all of it (6.5 s) to a directory publisher never reads
    (polkit's rules.d): a directory that is not publisher's cache alone is refused for
    what its own entries are, never for what lies deeper, and publisher's entries in it
    are looked at to the end."""
    top = tmp_path / "top"
    (top / "share" / "polkit-1" / "rules.d").mkdir(parents=True)
    (top / "share" / "polkit-1" / "rules.d").chmod(0o777)
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(top)})
    words = f"PUBLISHER_CACHE_DIR points at {top}, which holds other files than publisher's (share)"
    assert words in said(info.value), said(info.value)
    assert "polkit" not in said(info.value) and "cannot be trusted" not in said(info.value)
    (top / "standins" / "layouts").mkdir(parents=True)
    (top / "standins" / "layouts").chmod(0o777)
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(top)})
    assert f"the directory {top}/standins/layouts" in said(info.value), said(info.value)
    assert "rm -rf" not in said(info.value) and "chmod" not in said(info.value)


def test_a_refused_directory_lists_only_what_is_not_publishers(tmp_path: Path) -> None:
    """tF's nit: a world-writable ``standins`` beside ``notes.txt`` was said to hold
    "other files than publisher's (notes.txt, standins)"."""
    cache = tmp_path / "cache"
    (cache / "standins").mkdir(parents=True)
    (cache / "standins").chmod(0o777)
    (cache / "notes.txt").write_text("theirs\n")
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(cache)})
    words = said(info.value)
    assert f"the directory {cache}/standins (" in words, words
    assert "which holds other files than publisher's (notes.txt)," in words, words


def home_like(top: Path) -> Path:
    """A private directory holding a user's files, as ``$HOME``, ``/root`` or ``/usr``:
    five entries, one of them hidden, none of them unsafe."""
    for name in ("projects", "src", "Downloads"):
        (top / name).mkdir(parents=True)
    (top / "notes.txt").write_text("theirs\n")
    (top / ".bashrc").write_text("# theirs\n")
    top.chmod(0o700)
    return top


@pytest.mark.parametrize(
    ("setting", "chooses"),
    [
        ("PUBLISHER_CACHE_DIR", "PUBLISHER_CACHE_DIR points at {c}"),
        ("XDG_CACHE_HOME", "XDG_CACHE_HOME puts the cache at {c}"),
        ("HOME", "the cache is {c} (by default)"),
    ],
)
def test_a_directory_holding_other_files_is_refused_as_the_cache(
    tmp_path: Path, setting: str, chooses: str
) -> None:
    """tF finding 1: ``PUBLISHER_CACHE_DIR=$HOME`` (``/usr``, ``/root`` as root) was used
    as the cache, its first level being safe: a dry run exited 0 and the rehearsal wrote
    ``standins/`` (15 MB in /usr) among the user's files. Refused before anything starts,
    naming the directory, the setting that chose it and some of what it holds, with
    nothing written there."""
    top = tmp_path / "home"
    top.mkdir()
    cache = {
        "PUBLISHER_CACHE_DIR": top,
        "XDG_CACHE_HOME": top / "publisher",
        "HOME": top / ".cache" / "publisher",
    }[setting]
    home_like(cache)
    before = sorted(os.listdir(cache))
    for check in (check_cache, standins.check_cache):
        with pytest.raises(FileAccessError) as info:
            check({setting: str(top)})
        words = said(info.value)
        assert info.value.exit_code == 18
        assert chooses.format(c=cache) in words, words
        assert (
            "which holds other files than publisher's (Downloads, notes.txt, projects and 1 more)"
            in words
        ), words
        assert "nothing was built or pushed" in words, words
        assert "point PUBLISHER_CACHE_DIR at a directory of its own" in words, words
        assert "rm -rf" not in words and "chmod" not in words, words
        assert sorted(os.listdir(cache)) == before


def test_what_publisher_writes_in_its_cache_never_makes_it_refused(tmp_path: Path) -> None:
    """A suite, or two rehearsals, share one cache: nothing publisher leaves there (each
    writer's own directory, a write check a killed run left, macOS's ``.DS_Store``) makes
    a later run refuse it; an empty directory, or none yet, is a cache of its own too, as
    is a file system's root (``lost+found``)."""
    from publisher.adapters import smoke
    from publisher.adapters.builders import buildah

    cache = tmp_path / "cache"
    env = {"PUBLISHER_CACHE_DIR": str(cache)}
    assert check_cache(env) == cache and not cache.exists()
    cache.mkdir(mode=0o700)
    assert check_cache(env) == cache
    locks = [
        buildah._base_lock(env, "localhost:5000/php"),
        smoke._hold_file(cache / smoke.HOLDS_DIR, smoke.Engine.BUILDAH, "sha256:ab", "lock"),
        cache / smoke.CONTAINERS_DIR / "buildah-x.lock",
        cache / "standins" / "layouts" / "k-php-8.4-amd64.oci.lock",
        cache / "standins" / "debian-layouts" / "k-php-8.4-amd64.oci.lock",
    ]
    for lock in locks:
        with locked_file(lock):
            pass
    (cache / ".publisher-write-check.k1x2y3z4").write_text("")
    (cache / ".DS_Store").write_text("")
    (cache / "lost+found").mkdir()  # a file system of its own mounted there
    assert standins.check_cache(env) == cache
    assert check_cache(env) == cache
    assert {p.relative_to(cache).parts[0] for p in locks} == fileio.CACHE_ENTRIES


@pytest.mark.parametrize("home", [True, False])
def test_a_directory_holding_only_hidden_entries_of_its_own_is_refused_too(
    tmp_path: Path, home: bool
) -> None:
    """``/root`` holds only hidden entries (``.bashrc``, ``.cache``, ``.config``), and
    a fresh home only hidden files: hidden files (``.DS_Store``) are passed over, but not
    in the home directory itself, and never a hidden directory (``.git``, ``.cache``)."""
    top = tmp_path / "root"
    top.mkdir(mode=0o700)
    (top / ".bashrc").write_text("# theirs\n")
    (top / ".profile").write_text("# theirs\n")
    env = {"PUBLISHER_CACHE_DIR": str(top), **({"HOME": str(top)} if home else {})}
    if home:
        with pytest.raises(FileAccessError) as info:
            check_cache(env)
        assert "other files than publisher's (.bashrc, .profile)" in said(info.value)
    else:
        assert check_cache(env) == top
    (top / ".git").mkdir()
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(top)})
    assert f"{top}, which holds other files than publisher's (.git)" in said(info.value)


def test_a_rehearsal_with_a_cache_holding_other_files_starts_nothing(cli, tmp_path: Path) -> None:
    """tF finding 1, as it was met: ``PUBLISHER_CACHE_DIR=$HOME publisher release v1.0.0
    --local --dry-run`` exited 0 and made ``~/standins``. Exit 18 before anything starts
    (a unit test fails on the first process run)."""
    home = home_like(tmp_path / "home")
    result = cli(
        "release",
        "v1.0.0",
        "--local",
        "--dry-run",
        "--config",
        "examples/offline/matrix.yaml",
        "--notes-dir",
        str(tmp_path / "notes"),
        env={"PUBLISHER_CACHE_DIR": str(home)},
    )
    assert result.exit_code == 18, result.output
    words = " ".join(result.stderr.split())
    assert f"PUBLISHER_CACHE_DIR points at {home}, which holds other files" in words, words
    assert not (home / "standins").exists()


def test_a_tip_to_act_as_the_owner_names_root_once() -> None:
    """ "as root (uid 0) or root" said root twice (tA finding 1)."""
    assert fileio._as_owner(0) == "as root"
    assert fileio._as_owner(OTHER) == "as uid 4242 or root"


@needs_root
def test_a_cache_behind_a_link_another_user_owns_is_refused(tmp_path: Path) -> None:
    """The link's owner may point it at a cache of their own at any time."""
    cache = cache_of(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(cache)
    check_cache({"PUBLISHER_CACHE_DIR": str(link)})
    os.lchown(link, OTHER, OTHER)
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(link)})
    assert f"on the way to it, {link} (owner uid 4242" in said(info.value)
    assert "it is a symbolic link of uid 4242, who may point it elsewhere" in said(info.value)


@needs_root
def test_a_cache_in_a_shared_sticky_directory_is_trusted_when_it_is_ones_own(
    tmp_path: Path,
) -> None:
    """/tmp-like: 1777 and root's (or this user's). Another user's entry beside it does not
    matter; the cache not there yet passes, and is made private."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "theirs").mkdir()
    os.chown(shared / "theirs", OTHER, OTHER)
    check_cache({"PUBLISHER_CACHE_DIR": str(shared / "pubcache")})
    assert not (shared / "pubcache").exists()
    assert standins.check_cache({"PUBLISHER_CACHE_DIR": str(shared / "pubcache")})
    assert mode(shared / "pubcache") == 0o700


@needs_root
def test_a_cache_another_user_made_first_in_a_shared_directory_is_refused(
    tmp_path: Path,
) -> None:
    """t3's finding 1: the attacker made ``$shared/pubcache`` before the victim's run."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    cache = shared / "pubcache"
    (cache / "standins" / "layouts").mkdir(parents=True)
    for made in (cache, cache / "standins", cache / "standins" / "layouts"):
        os.chown(made, OTHER, OTHER)
    with pytest.raises(FileAccessError) as info:
        standins.check_cache({"PUBLISHER_CACHE_DIR": str(cache)})
    assert f"the cache {cache} (owner uid 4242, mode 0755" in said(info.value)


# ----------------------------------------------------------------- TMPDIR


@needs_root
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda t: os.chown(t, OTHER, OTHER),
            "TMPDIR={t} (owner uid 4242, mode 0700, drwx------) cannot be trusted: it belongs "
            "to uid 4242, neither to you nor to root",
        ),
        (  # the classic `mkdir -p /tmp/ci-tmp`, someone else's first: sticky or not
            lambda t: (os.chown(t, OTHER, OTHER), t.chmod(0o1777)),
            "TMPDIR={t} (owner uid 4242, mode 1777, drwxrwxrwt) cannot be trusted",
        ),
        (
            lambda t: t.chmod(0o777),
            "TMPDIR={t} (owner root (uid 0), mode 0777, drwxrwxrwx) cannot be trusted: every "
            "user may write to it and it lacks the sticky bit",
        ),
        (
            lambda t: os.chown(t.parent, OTHER, OTHER),
            "TMPDIR={t} is in {t.parent} (owner uid 4242, mode 0755, drwxr-xr-x), which cannot "
            "be trusted: it belongs to uid 4242",
        ),
    ],
)
def test_a_tmpdir_another_user_could_change_is_refused(tmp_path: Path, change, words) -> None:
    """Another user who may rename what TMPDIR holds swaps publisher's 0700
    ``publisher-docker-config-*`` for a link to their own directory, and ``docker login``
    writes the password there (t3 finding 3)."""
    tmpdir = tmp_path / "parent" / "tmp"
    tmpdir.mkdir(parents=True)
    tmpdir.parent.chmod(0o755)
    tmpdir.chmod(0o700)
    check_tmpdir({"TMPDIR": str(tmpdir)})
    change(tmpdir)
    with pytest.raises(FileAccessError) as info:
        check_tmpdir({"TMPDIR": str(tmpdir)})
    assert info.value.exit_code == 18
    assert words.format(t=tmpdir) in said(info.value), said(info.value)
    assert "registry credentials" in said(info.value)
    assert "point TMPDIR at a directory of your own (`mkdir -m 700 ~/tmp`" in said(info.value)


@needs_root
def test_a_tmpdir_that_is_a_link_is_judged_where_it_leads(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    link = tmp_path / "tmp"
    link.symlink_to(theirs)
    check_tmpdir({"TMPDIR": str(link)})
    os.chown(theirs, OTHER, OTHER)
    with pytest.raises(FileAccessError) as info:
        check_tmpdir({"TMPDIR": str(link)})
    assert f"TMPDIR={link} (a link to {theirs}: owner uid 4242, mode 0755" in said(info.value)


@needs_root
def test_the_usual_tmpdirs_pass(tmp_path: Path) -> None:
    """/tmp (root's, 1777), a sticky one of this user's, one of this user's alone."""
    check_tmpdir({"TMPDIR": "/tmp"})
    check_tmpdir({"TMPDIR": str(tmp_path)})
    sticky = tmp_path / "ci-tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    check_tmpdir({"TMPDIR": str(sticky)})
    group = tmp_path / "group"
    group.mkdir()
    group.chmod(0o775)  # a user private group's umask 002
    check_tmpdir({"TMPDIR": str(group)})


# ----------------------------------------------------------------- through the command line


@needs_root
def test_a_rehearsal_with_another_users_cache_starts_nothing(cli, tmp_path: Path) -> None:
    """Exit 18 before any registry starts or any build: no process at all is run here (a
    unit test fails on the first one)."""
    cache = cache_of(tmp_path)
    os.chown(cache / "standins" / "layouts", OTHER, OTHER)
    result = cli(
        "release",
        "v1.0.0",
        "--local",
        "--config",
        "examples/offline/matrix.yaml",
        "--notes-dir",
        str(tmp_path / "notes"),
        "--digests",
        str(tmp_path / "digests"),
        env={"PUBLISHER_CACHE_DIR": str(cache)},
    )
    assert result.exit_code == 18, result.output
    assert f"the directory {cache}/standins/layouts (owner uid 4242" in result.stderr
    assert not (tmp_path / "notes").exists() and not (tmp_path / "digests").exists()


@needs_root
def test_a_build_leg_refuses_a_tmpdir_another_user_owns(cli, tmp_path: Path) -> None:
    tmpdir = tmp_path / "ci-tmp"
    tmpdir.mkdir()
    tmpdir.chmod(0o1777)
    os.chown(tmpdir, OTHER, OTHER)
    result = cli(
        "build",
        "v1.0.0",
        "--php",
        "8.4",
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(tmp_path / "digests" / "8.4-linux-amd64.json"),
        env={"PUBLISHER_CONFIG": "examples/offline/matrix.yaml", "TMPDIR": str(tmpdir)},
    )
    assert result.exit_code == 18, result.output
    assert f"TMPDIR={tmpdir} (owner uid 4242, mode 1777" in " ".join(result.stderr.split())
    assert not (tmp_path / "digests").exists()


def test_build_never_replaces_a_file_a_linked_digest_file_points_to(cli, tmp_path: Path) -> None:
    """``--digest-file`` is written where a link points: a link to a file that holds no
    digest record (a docker config, ``{"auths": …}``) is refused, not overwritten (t3
    finding 6)."""
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"auths": {"ghcr.io": {"auth": "c2VjcmV0"}}}))
    digests = tmp_path / "digests"
    digests.mkdir()
    link = digests / "8.4-linux-amd64.json"
    link.symlink_to(config)
    before = config.read_bytes()
    result = cli(
        "build",
        "v1.0.0",
        "--php",
        "8.4",
        "--platform",
        "linux/amd64",
        "--digest-file",
        str(link),
        env={"PUBLISHER_CONFIG": "examples/offline/matrix.yaml"},
    )
    assert result.exit_code == 18, result.output
    words = " ".join(result.stderr.split())
    assert (
        f"--digest-file {link} is a symbolic link to {config}, which holds no digest record"
        in words
    )
    assert "so that file is left as it is, and nothing was built or pushed" in words
    assert config.read_bytes() == before and link.is_symlink()


# ----------------------------------------------------------------- writable


def test_a_cache_that_cannot_be_written_is_refused_by_every_run_not_only_a_rehearsal(
    tmp_path: Path,
) -> None:
    """The one check of the cache that ``build``, ``publish`` and ``release`` make before
    anything starts (``fileio.check_cache``) proves it can be written, as the rehearsal's
    (``standins.check_cache``) did alone: a real run's smoke tests keep their locks, marks
    and image holds there, and without them leave the smoke-tested images in the engine's
    store. It makes nothing where the cache would go (a dry run calls it too)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache's parent should be\n")
    for cache in (Path("/proc/publisher-cache"), blocker / "cache"):
        for check in (check_cache, standins.check_cache):
            with pytest.raises(FileAccessError) as info:
                check({"PUBLISHER_CACHE_DIR": str(cache)})
            assert info.value.exit_code == 18
            words = said(info.value)
            assert f"cache {cache} is not writable (" in words, words
            assert "nothing was built or pushed" in words, words
            assert "set PUBLISHER_CACHE_DIR to a writable directory" in words, words
    fine = tmp_path / "cache"
    assert check_cache({"PUBLISHER_CACHE_DIR": str(fine)}) == fine
    assert not fine.exists()


def test_a_cache_refused_keeps_the_tip_for_what_stands_in_its_way(tmp_path: Path) -> None:
    """A cache that cannot be written is refused with the tip its cause calls for (here a
    file where the directory goes: the path checked) before the tip to choose another
    cache, not that one alone."""
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache should be\n")
    with pytest.raises(FileAccessError) as info:
        check_cache({"PUBLISHER_CACHE_DIR": str(blocker)})
    hint = info.value.hint or ""
    assert "is a directory where one is expected" in hint, hint
    assert hint.endswith(
        "; or set PUBLISHER_CACHE_DIR to a writable directory; by default the cache is "
        "$XDG_CACHE_HOME/publisher, else ~/.cache/publisher"
    ), hint
