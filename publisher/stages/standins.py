"""STAND-IN base images for the offline rehearsal (not PHP).

This machine class has no route to Docker Hub, so the offline example
(``examples/offline/``) builds on tiny busybox-static images that imitate what
the Dockerfile template calls: ``apk``, ``docker-php-ext-*``, ``pecl``, ``php``,
``php-fpm``, ``cgi-fcgi``. They are labelled ``dev.publisher.stand-in=true``,
carry ``/STAND-IN-NOT-PHP`` and their ``php -v`` says
``PHP 8.4.99-standin (cli) -- STAND-IN, not PHP``.

``push_standins`` builds one image per PHP line and architecture from
``publisher/stages/standin-offline/Containerfile`` (shipped in the package) with buildah (else docker), merges
each line's two images into a multi-arch index and pushes it to a registry as
``stand-in/php:X.Y-fpm-alpine``. It is idempotent and fast on reruns: the
busybox binaries and the built layouts are cached under
``$PUBLISHER_CACHE_DIR`` (default ``~/.cache/publisher``), keyed by the content
of the stand-in sources, and blobs or tags already on the registry are not sent
again.

busybox comes from Debian's ``busybox-static`` package: the host's own binary
when it matches the architecture, otherwise ``apt-get download
busybox-static:ARCH`` + ``dpkg-deb -x`` (needs ``dpkg --add-architecture
arm64 && apt-get update`` once). ``PUBLISHER_BUSYBOX_AMD64`` /
``PUBLISHER_BUSYBOX_ARM64`` may name a static busybox binary instead.

A stand-in source directory with a ``debian.yaml`` (``examples/real-php/standin``)
makes stand-ins with REAL PHP instead: ``mmdebstrap`` installs Debian's php-fpm
packages per line and architecture (arm64 under QEMU), ``rootfs/`` and its
``setup`` lay them out like the official ``php:X.Y-fpm`` images with shims for the
Alpine and compile steps the template runs, and the root file system becomes a
one-layer OCI image (``layout.tar_to_layout``) labelled as a stand-in that says
what is real and what is not. Same cache, index, push and tag as the busybox ones.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import shutil
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapters.builders import BuilderName, BuildRequest, create_builder
from ..adapters.builders.base import Builder
from ..adapters.builders.buildah import isolation_from_env, local_engine
from ..adapters.builders.layout import merge_layouts, read_layout
from ..adapters.emulation import host_platform
from ..adapters.runner import Runner
from ..core import reference
from ..core.config import Config
from ..core.errors import (
    CommandError,
    FileAccessError,
    InvalidReferenceError,
    NotFoundError,
    ToolMissingError,
    UsageError,
    out_of_room,
    shown_path,
)
from ..core.fileio import (
    CACHE_STANDINS,
    cache_root,
    create_new,
    lock_in_place,
    make_dirs,
    temp_dir,
)
from ..core.manifest import STAND_IN_LABEL
from ..core.platforms import Platform
from ..core.reference import Reference
from ..core.retry import RetryPolicy
from ..core.settings import setting
from ..resolve import sha256_digest

#: The stand-in sources in a repository checkout.
SOURCE_DIR = Path(__file__).resolve().parent / "standin-offline"
REPOSITORY = "stand-in/php"
TAG_TEMPLATE = "{php}-fpm-alpine"
LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")
#: Fixed build time: the stand-ins are reproducible with buildah (--timestamp 0).
EPOCH = "1970-01-01T00:00:00Z"

#: ELF ``e_machine`` per Debian architecture.
ELF_MACHINES = {"amd64": 62, "arm64": 183}
_PT_INTERP = 3

#: Bump when the way stand-ins are built changes, so cached layouts are rebuilt.
RECIPE = 2


def busybox_env_var(arch: str) -> str:
    return f"PUBLISHER_BUSYBOX_{arch.upper()}"


# ----------------------------------------------------------------- busybox binaries


@dataclass(frozen=True)
class ElfInfo:
    machine: int
    static: bool


def elf_info(data: bytes) -> ElfInfo | None:
    """Machine and static-ness of a 64-bit little-endian ELF executable, else None."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    static = True
    for i in range(phnum):
        offset = phoff + i * phentsize
        if offset + 4 > len(data):
            return None
        if struct.unpack_from("<I", data, offset)[0] == _PT_INTERP:
            static = False
    return ElfInfo(machine, static)


def usable_busybox(path: Path, arch: str) -> bool:
    """Is ``path`` a static ELF executable for ``arch``?"""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False
    info = elf_info(head)
    return info is not None and info.static and info.machine == ELF_MACHINES.get(arch)


def check_cache(env: Mapping[str, str]) -> Path:
    """The stand-in cache, refused when another user could change it or it cannot be
    written, and made if needed (mode 0700) before anything starts (``fileio.check_cache``:
    FileAccessError, exit 18, naming it and the variable that moves it)."""
    from ..core.fileio import check_cache as checked

    return checked(env, what="the stand-in cache", create=True)


def busybox_binary(arch: str, runner: Runner, cache: Path, env: Mapping[str, str]) -> Path:
    """A static busybox for ``arch`` (amd64/arm64), cached under ``cache``."""
    override = setting(env, busybox_env_var(arch))
    if override:  # set to blanks only, it counts as unset (README)
        if not usable_busybox(Path(override), arch):
            raise ToolMissingError(
                f"{busybox_env_var(arch)}={override} is not a static {arch} ELF executable",
                hint=f"point it at bin/busybox from Debian's busybox-static:{arch}",
            )
        return Path(override)
    cached = cache / "busybox" / arch / "busybox"
    _sweep_leftovers(cached.parent)
    if usable_busybox(cached, arch):
        return cached
    make_dirs(cached.parent, private=True)
    for candidate in _host_busyboxes(runner):
        if usable_busybox(candidate, arch):
            _install(candidate, cached)
            return cached
    with temp_dir("publisher-busybox-") as tmp:
        apt = runner.require(
            "apt-get",
            hint=f"set {busybox_env_var(arch)} to a static {arch} busybox "
            f"(bin/busybox from Debian's busybox-static:{arch})",
        )
        runner.run(
            [apt, "download", f"busybox-static:{arch}"],
            cwd=tmp,
            what=f"apt-get download busybox-static:{arch}",
            hint=f"for a foreign architecture run `dpkg --add-architecture {arch} && apt-get "
            f"update` first, or set {busybox_env_var(arch)}",
        )
        debs = sorted(Path(tmp).glob("busybox-static_*.deb"))
        if not debs:
            raise CommandError(
                f"apt-get download left no busybox-static {arch} package in {tmp}",
                hint=f"check that `apt-cache policy busybox-static:{arch}` shows a candidate, or "
                f"set {busybox_env_var(arch)} to a static {arch} busybox binary",
            )
        runner.run([runner.require("dpkg-deb"), "-x", str(debs[0]), str(Path(tmp) / "root")])
        for relative in ("bin/busybox", "usr/bin/busybox"):
            found = Path(tmp) / "root" / relative
            if usable_busybox(found, arch):
                _install(found, cached)
                return cached
    raise ToolMissingError(
        f"the busybox-static:{arch} package held no static {arch} busybox",
        hint=f"set {busybox_env_var(arch)} to a static {arch} busybox binary",
    )


def _host_busyboxes(runner: Runner) -> list[Path]:
    found = [Path("/bin/busybox"), Path("/usr/bin/busybox")]
    on_path = runner.which("busybox")
    if on_path:
        found.insert(0, Path(on_path))
    return found


def _install(source: Path, target: Path) -> None:
    """Copy ``source`` beside ``target`` (a new file, ``fileio.create_new``) and rename it
    into place whole; the copy is removed when that fails (a full disk, an interrupt).
    Another run may be copying too: it holds ``target``'s lock meanwhile
    (``_sweep_leftovers``)."""
    tmp = _tmp_path(target)
    with _in_use(target):
        written = create_new(tmp, 0o755)  # never through a link there (exit 18)
        try:
            with os.fdopen(written, "wb") as copy, open(source, "rb") as original:
                shutil.copyfileobj(original, copy)
            os.replace(tmp, target)
        finally:
            _delete(tmp)


# ----------------------------------------------------------------- building


def source_key(source_dir: Path, busyboxes: Mapping[str, Path], builder: BuilderName | str) -> str:
    """A short hash of everything a stand-in image is made of."""
    digest = hashlib.sha256()
    digest.update(f"recipe={RECIPE}\nbuilder={builder}\n".encode())
    for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(source_dir).as_posix()
        mode = path.stat().st_mode & 0o777
        digest.update(f"{rel}\0{mode:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for arch in sorted(busyboxes):
        digest.update(f"busybox-{arch}\0".encode())
        digest.update(hashlib.sha256(busyboxes[arch].read_bytes()).digest())
    return digest.hexdigest()[:16]


def _prepare_context(source_dir: Path, busyboxes: Mapping[str, Path], context: Path) -> None:
    shutil.copytree(source_dir, context, symlinks=True)
    for arch, path in busyboxes.items():
        target = context / f"busybox-{arch}"
        shutil.copyfile(path, target)
        os.chmod(target, 0o755)
    for script in (context / "rootfs" / "usr" / "local" / "bin").iterdir():
        os.chmod(script, 0o755)


def default_builder(runner: Runner) -> BuilderName:
    """The machine's engine (``local_engine``); docker when it has none, whose check
    then says what is missing."""
    return local_engine(runner) or BuilderName.DOCKER


def pick_builder(runner: Runner, name: BuilderName | None = None) -> Builder:
    """buildah, else docker (the stand-ins are laid out locally, so not buildx)."""
    names = [name] if name else [BuilderName.BUILDAH, BuilderName.DOCKER]
    for candidate in names:
        if candidate is BuilderName.BUILDX:
            raise ToolMissingError(
                "stand-in images are built with buildah or docker, not buildx",
                hint="ask for buildah or docker, or for no builder: the first of them installed "
                "is used",
            )
        builder = create_builder(candidate, runner)
        if builder.available():
            builder.check()
            return builder
    raise ToolMissingError(
        "building the stand-in base images needs buildah or docker",
        hint="apt-get install buildah (or docker.io)",
    )


def build_line(
    php: str,
    *,
    builder: Builder,
    context: Path,
    work_dir: Path,
    platforms: Sequence[Platform],
    dest: Path,
    ref_name: str,
) -> str:
    """Build the stand-in for ``php`` on every platform into one index layout at ``dest``."""
    layouts: list[Path] = []
    for platform in platforms:
        request = BuildRequest(
            php=php,
            platform=platform,
            context=context,
            dockerfile=context / "Containerfile",
            repository=Reference("localhost", REPOSITORY),
            work_dir=work_dir,
            created=EPOCH,
            release=f"{php}.99-standin",
            extra_args=(("PHP_LINE", php),),
        )
        output = builder.build(request)
        if output.layout is None:  # pragma: no cover - buildx is refused above
            raise CommandError(
                "the stand-in builder pushed instead of writing a layout",
                hint="this is a bug in publisher: rerun with --debug and report the traceback",
            )
        labels = read_layout(output.layout).labels
        if labels.get(STAND_IN_LABEL) != "true":
            raise CommandError(
                f"the stand-in image for {php} lacks the {STAND_IN_LABEL} label",
                hint=f'the stand-in Containerfile must keep LABEL {STAND_IN_LABEL}="true", as '
                "publisher's own does: put it back, then rerun",
            )
        layouts.append(output.layout)
    return _merge_into(layouts, dest, ref_name)


def _merge_into(layouts: list[Path], dest: Path, ref_name: str) -> str:
    """Merge single-platform ``layouts`` into one index layout installed at ``dest``;
    the parts are removed. Returns the digest of the index ``dest`` then holds."""
    tmp = _tmp_path(dest)
    try:
        merge_layouts(layouts, tmp, ref_name)
        for layout in layouts:
            shutil.rmtree(layout, ignore_errors=True)
        return _install_layout(tmp, dest)
    finally:
        _delete(tmp)  # what a failure (a full disk, an interrupt) left half written


# ----------------------------------------------------------------- the shared cache
#
# Several runs may use one cache at once (two rehearsals, a rehearsal beside the
# tests, checkouts whose stand-in sources differ and so whose keys differ). A layout is
# never changed in place: it is built aside and renamed into place, and a run holds a
# shared lock on ``NAME.lock`` while it reads it. Each run removes the layouts nobody
# has built or used for ``CACHE_DAYS`` (another checkout's keys stay meanwhile), taking
# that lock exclusively without waiting, so a layout another run is pushing is left for
# a later sweep.
#
# A file or layout is written beside its place as ``NAME.PID.tmp`` by a run holding
# ``NAME.lock`` (shared), and a layout is removed by renaming it to ``NAME.PID.trash``
# first. A run stopped half-way (SIGKILL, a power cut) leaves these; each run removes
# the ones whose ``NAME.lock`` it can take exclusively (no run is writing them), before
# it takes its own. A layout removed takes its ``NAME.lock`` with it, removed while held
# exclusively: a run that was waiting for that lock file takes the one made anew
# (``fileio.lock_in_place``), never one gone from its place.


@contextlib.contextmanager
def _in_use(layout: Path) -> Iterator[None]:
    """Hold ``layout`` against removal by other runs while the block reads it."""
    with lock_in_place(_lock_path(layout), shared=True):
        yield


def _lock_path(layout: Path) -> Path:
    return layout.with_name(layout.name + ".lock")


def _tmp_path(target: Path) -> Path:
    """Where this run writes ``target`` before renaming it into place."""
    return target.with_name(f"{target.name}.{os.getpid()}.tmp")


#: The endings of what a run leaves beside NAME while it writes or removes it.
LEFTOVER_SUFFIXES = ("tmp", "trash")


def _leftover_of(name: str) -> str | None:
    """NAME, when ``name`` is ``NAME.PID.tmp`` or ``NAME.PID.trash`` (of one of those, too);
    else None."""
    owner = None
    while True:
        stem, _, suffix = name.rpartition(".")
        base, _, pid = stem.rpartition(".")
        if suffix not in LEFTOVER_SUFFIXES or not pid.isdigit() or not base:
            return owner
        owner = name = base


def _sweep_leftovers(directory: Path) -> None:
    """Remove the half-written or half-removed copies in ``directory`` that no run is
    writing: those of each NAME whose lock this run takes exclusively without waiting.
    Called before this run takes any lock there."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    found: dict[str, list[Path]] = {}
    for entry in entries:
        owner = _leftover_of(entry.name)
        if owner is not None:
            found.setdefault(owner, []).append(entry)
    for owner, leftovers in found.items():
        try:
            lock = _lock_path(directory / owner)
            with lock_in_place(lock, wait=False):  # OSError: in use
                for leftover in leftovers:
                    _delete(leftover)
                _unlink_held(lock, directory / owner)
        except OSError:
            continue  # a run is writing it (or the directory is read-only): left for later


def _unlink_held(lock: Path, guarded: Path) -> None:
    """Remove ``lock``, which this run holds exclusively, when what it guards is gone (a
    run waiting for it then takes the one made anew: ``fileio.lock_in_place``)."""
    if not guarded.exists():
        with contextlib.suppress(OSError):
            lock.unlink()


def _delete(path: Path) -> None:
    """Remove the file or directory ``path`` if there (a symlink itself, not its target)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_unused(layout: Path, before: float) -> bool:
    """Remove ``layout`` unless another run holds it or it was used since ``before``
    (a time); True when it is gone."""
    lock = _lock_path(layout)
    try:
        with lock_in_place(lock, wait=False):  # OSError: in use
            if layout.stat().st_mtime >= before:
                return False  # used meanwhile
            _discard(layout)
            _unlink_held(lock, layout)
    except OSError:
        return False  # held by another run (or unreadable): a later sweep removes it
    return not layout.exists()


def _discard(path: Path) -> None:
    """Rename ``path`` aside, then delete it: a reader never sees it half removed."""
    trash = path.with_name(f"{path.name}.{os.getpid()}.trash")
    try:
        os.replace(path, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _install_layout(tmp: Path, dest: Path) -> str:
    """Rename the finished layout ``tmp`` to ``dest``; return the digest at ``dest``.

    When another run installed a complete layout there first, that one stays (it is
    built from the same sources) and ``tmp`` is dropped; an incomplete one is
    replaced.
    """
    for _attempt in range(2):
        if _cached_digest(dest) is None and dest.exists():
            _discard(dest)
        try:
            os.replace(tmp, dest)
            break
        except OSError:  # another run's layout is there now
            continue
    shutil.rmtree(tmp, ignore_errors=True)
    digest = _cached_digest(dest)
    if digest is None:
        raise CommandError(
            f"could not install the stand-in layout {dest}",
            hint="another publisher run may be writing the same cache; "
            "run again, or give each run its own PUBLISHER_CACHE_DIR",
        )
    return digest


#: Cached layouts neither built nor used for this many days are removed by the next run.
CACHE_DAYS = 7


def _sweep_old(directory: Path, *, keep: Path) -> None:
    """Remove the cached layouts in ``directory`` unused for ``CACHE_DAYS`` and held by
    no run: another checkout's, or one made from sources since changed."""
    import time

    if not directory.is_dir():
        return
    cutoff = time.time() - CACHE_DAYS * 86400
    for entry in directory.glob("*.oci"):
        try:
            old = entry != keep and entry.stat().st_mtime < cutoff
        except OSError:
            continue
        if old:
            _remove_unused(entry, cutoff)
    for lock in directory.glob("*.oci.lock"):  # one a run killed while removing it left
        layout = lock.with_name(lock.name.removesuffix(".lock"))
        if layout != keep and not layout.exists():
            with contextlib.suppress(OSError), lock_in_place(lock, wait=False, make=False):
                _unlink_held(lock, layout)


def _cached_digest(layout: Path) -> str | None:
    """The index digest of a complete cached layout: every blob its index, manifests
    and configs name is there, of its size and digest; else None (absent, half written
    or damaged), so that the layout is built again rather than pushed and refused."""
    blobs = layout / "blobs" / "sha256"

    def path(descriptor: Any) -> Path:
        return blobs / str(descriptor["digest"]).partition(":")[2]

    def intact(descriptor: Any) -> bool:
        """The blob is there, of the descriptor's size and digest (read by pieces)."""
        hashed, size = hashlib.sha256(), 0
        with path(descriptor).open("rb") as handle:
            while piece := handle.read(1 << 20):
                hashed.update(piece)
                size += len(piece)
        return f"sha256:{hashed.hexdigest()}" == descriptor["digest"] and size == descriptor.get(
            "size", size
        )

    try:
        top = json.loads((layout / "index.json").read_bytes())
        pending = [top["manifests"][0]]
        digest = str(pending[0]["digest"])
        while pending:
            descriptor = pending.pop()
            raw = path(descriptor).read_bytes()  # an index or a manifest: small
            if sha256_digest(raw) != descriptor["digest"]:
                return None
            node = json.loads(raw)
            pending += node.get("manifests") or []
            named = [node.get("config"), *(node.get("layers") or [])]
            if not all(intact(blob) for blob in named if blob):
                return None
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return digest


# ----------------------------------------------------------------- pushing


def registry_host(value: str, what: str = "the stand-ins' registry") -> str:
    """``value`` when it is a registry host (``HOST[:PORT]``); else a UsageError (exit 2)
    naming ``what``: an empty value, a URL or a path is an input mistake, not an outage."""
    try:
        host = reference.parse(f"{value}/probe").domain
    except InvalidReferenceError:
        host = None
    if host != value:
        raise UsageError(
            f"{what} {value!r} is not a registry host",
            hint="give HOST[:PORT] with no scheme and no path, e.g. 127.0.0.1:5000",
        )
    return value


def debian_duration(platforms: Sequence[Platform]) -> str:
    """How long mmdebstrap takes to make a Debian stand-in for ``platforms``, as the line
    announcing it says before the minutes start: a foreign one runs Debian's package
    scripts under QEMU."""
    host = host_platform()
    native = [str(p) for p in platforms if p is host]
    foreign = [str(p) for p in platforms if p is not host]
    said = [f"about a minute for {', '.join(native)}"] if native else []
    if foreign:
        said.append(f"several minutes for {', '.join(foreign)} under QEMU")
    return ", ".join(said)


def push_standins(
    registry: str,
    *,
    runner: Runner,
    lines: Iterable[str] = LINES,
    platforms: Sequence[Platform] = (Platform.AMD64, Platform.ARM64),
    repository: str = REPOSITORY,
    tag_template: str = TAG_TEMPLATE,
    source_dir: Path = SOURCE_DIR,
    builder: BuilderName | None = None,
    env: Mapping[str, str] | None = None,
    plain_http: bool | None = None,
) -> dict[str, Reference]:
    """Build (or reuse) and push the stand-ins to ``registry`` (``host:port``).

    Returns, per PHP line, the pushed reference with its tag and index digest,
    e.g. ``127.0.0.1:5000/stand-in/php:8.4-fpm-alpine@sha256:...``.
    """
    from .clients import ClientFactory

    registry_host(registry)
    env = dict(os.environ if env is None else env)
    output = runner.output
    recipe = load_debian_recipe(source_dir)
    if recipe is None and not (source_dir / "Containerfile").is_file():
        raise ToolMissingError(
            f"the stand-in sources are missing: {source_dir}/Containerfile",
            hint=(
                "reinstall php-fpm-publisher from its repository (`pip install .` in the"
                " checkout): the stand-in sources ship inside the package"
                " (publisher/stages/standin-offline)"
            ),
        )
    cache = cache_root(env) / CACHE_STANDINS
    chosen: Builder | None = None
    builder_name = builder or default_builder(runner)
    if recipe is not None:  # Debian's real PHP, laid out without a builder
        busyboxes: dict[str, Path] = {}
        key = source_key(source_dir, busyboxes, f"debian-{DEBIAN_RECIPE_VERSION}")
    else:
        busyboxes = {p.arch: busybox_binary(p.arch, runner, cache, env) for p in platforms}
        key = source_key(source_dir, busyboxes, builder_name)
    # PUBLISHER_RETRY_* bound these pushes too, as every registry request of the run.
    retry = RetryPolicy.from_env(env)
    client = ClientFactory(env, output, retry).anonymous_host(registry, plain_http=plain_http)
    result: dict[str, Reference] = {}
    with temp_dir("publisher-standin-") as tmp:
        context = Path(tmp) / "context"
        for php in lines:
            with contextlib.ExitStack() as held:
                tag = tag_template.format(php=php)
                slug = "-".join(p.arch for p in platforms)
                # Debian layouts take minutes to make: their own directory, never
                # swept by a busybox build of the same line.
                kind = "layouts" if recipe is None else "debian-layouts"
                layout = cache / kind / f"{key}-php-{php}-{slug}.oci"
                _sweep_leftovers(layout.parent)  # before this run holds any layout
                held.enter_context(_in_use(layout))  # no other run removes it until pushed
                _sweep_old(layout.parent, keep=layout)
                digest = _cached_digest(layout)
                if digest is None:
                    built_for = ", ".join(map(str, platforms))
                    if recipe is not None:
                        output.progress(
                            f"building the STAND-IN base with Debian's real PHP {php} "
                            f"({recipe.suite(php)}; {built_for}) with mmdebstrap: "
                            f"{debian_duration(platforms)}; made once, later runs take it "
                            f"from {layout.parent}"
                        )
                        build = functools.partial(build_debian_line, recipe=recipe, runner=runner)
                    else:
                        if chosen is None:
                            chosen = pick_builder(runner, builder_name)
                            try:
                                _prepare_context(source_dir, busyboxes, context)
                            except OSError as exc:
                                full = _out_of_room(exc, Path(tmp), php, layout.parent)
                                raise full or exc from None
                        output.progress(f"building the STAND-IN base for PHP {php} ({built_for})")
                        build = functools.partial(build_line, builder=chosen, context=context)
                    try:
                        digest = build(
                            php,
                            work_dir=Path(tmp) / "work",
                            platforms=platforms,
                            dest=layout,
                            ref_name=tag,
                        )
                    except OSError as exc:
                        raise _out_of_room(exc, Path(tmp), php, layout.parent) or exc from None
                with contextlib.suppress(OSError):
                    os.utime(layout)  # built or used now: not swept as old
                ref = Reference(registry, repository, tag, digest)
                try:
                    current = client.resolve(Reference(registry, repository, tag))
                except NotFoundError:
                    current = None
                if current != digest:
                    pushed = client.push_layout(layout, repository)
                    if pushed != digest:
                        raise CommandError(
                            f"pushed {pushed} for the stand-in {php}, expected {digest}",
                            hint=f"the registry {registry} stored other content than the "
                            f"layout holds: check that nothing else pushes to {repository} "
                            "there, then rerun",
                        )
                    client.tag(repository, digest, tag)
                    output.progress(f"pushed STAND-IN {ref}")
                else:
                    output.progress(f"up to date: STAND-IN {ref}")
                result[php] = ref
    return result


def _out_of_room(exc: OSError, tmp: Path, php: str, cache: Path) -> FileAccessError | None:
    """A stand-in build that filled the file system under TMPDIR, where it lays the
    image out before it is cached: said as such (exit 18), naming TMPDIR, not the file
    it was copying from. None for any other error, or a full file system elsewhere."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    written = exc.filename2 if exc.filename2 is not None else exc.filename
    if written is None or not Path(os.fsdecode(written)).is_relative_to(tmp):
        return None
    return out_of_room(
        f"building the STAND-IN base for PHP {php}",
        tmp.parent,
        "each stand-in is laid out before it is cached",
        f"{exc.strerror}: {os.fsdecode(written)}",
        needs=f"a stand-in is built there once, then kept in {cache}",
    )


def source_dir_for(config: Config) -> Path:
    """The stand-in sources of a stand-in matrix: ``<config root>/standin`` when it holds a
    Containerfile or a Debian recipe, else publisher's own."""
    source = Path(config.root) / "standin"
    if (source / "Containerfile").is_file() or (source / DEBIAN_RECIPE).is_file():
        return source
    return SOURCE_DIR


def check_engine(
    config: Config,
    runner: Runner,
    builder: BuilderName | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Before any throwaway registry starts: when a stand-in matrix's stand-ins are built
    with buildah (``builder``, else this machine's engine; a Debian recipe needs none), a
    ``BUILDAH_ISOLATION`` buildah does not know is refused (UsageError, exit 2), whatever
    builds the release's own images: it was said only once the registries had started."""
    if load_debian_recipe(source_dir_for(config)) is not None:
        return
    if (builder or default_builder(runner)) is BuilderName.BUILDAH:
        isolation_from_env(os.environ if env is None else env)


def push_for_config(
    config: Config,
    registry: str,
    *,
    runner: Runner,
    builder: BuilderName | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Reference]:
    """Push the stand-ins a ``stand_in: true`` matrix's base images name to ``registry``,
    each line's for the platforms it builds (a line narrowed to linux/amd64 makes no
    arm64 stand-in: minutes of QEMU saved for a Debian one).

    Uses ``<config root>/standin`` as the sources when present.
    """
    if not config.stand_in:
        raise CommandError(
            f"{shown_path(config.source)} is not a stand-in matrix (stand_in: true); refusing to push stand-ins "
            "for its base images",
            hint=f"set `stand_in: true` in {shown_path(config.source)} to rehearse with stand-in base images",
        )
    groups: dict[tuple[str, str, tuple[Platform, ...]], list[str]] = {}
    for line in config.lines:
        tag = line.base.tag or ""
        template = tag.replace(line.php, "{php}", 1)
        groups.setdefault((line.base.path, template, line.platforms), []).append(line.php)
    result: dict[str, Reference] = {}
    for (path, template, platforms), lines in groups.items():
        result.update(
            push_standins(
                registry,
                runner=runner,
                lines=lines,
                platforms=platforms,
                repository=path,
                tag_template=template,
                source_dir=source_dir_for(config),
                builder=builder,
                env=env,
            )
        )
    return result


# ----------------------------------------------------------------- Debian (real PHP) stand-ins

#: A stand-in source directory holding this file is built from Debian's PHP packages.
DEBIAN_RECIPE = "debian.yaml"
#: Bump when the way Debian stand-ins are made changes, so cached layouts are rebuilt.
DEBIAN_RECIPE_VERSION = 1
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PHPIZE_DEPS = "autoconf dpkg-dev dpkg file g++ gcc libc-dev make pkgconf re2c"
REAL = "PHP {version}, PHP-FPM and the extensions, from Debian {suite}'s packages"
NOT_REAL = (
    "the official image: the system is Debian, not Alpine (apk does nothing; sh is bash), "
    "and nothing is compiled (docker-php-ext-install, -configure, -enable and pecl enable "
    "Debian's prebuilt modules)"
)
#: mmdebstrap leaves these out: documentation (copyright notices kept) and translations.
DPKG_PATH_FILTERS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/maybe-merged-usr")
#: Files replaced by the stand-in's ``hooks/`` while Debian's packages install.
STUBBED_DURING_INSTALL = ("/usr/lib/php/php-maintscript-helper", "/usr/bin/ucf", "/usr/bin/ucfr")


@dataclass(frozen=True)
class DebianRecipe:
    """``debian.yaml``: which Debian suite builds each PHP line, with which packages."""

    source_dir: Path
    mirror: str
    suites: Mapping[str, str]
    packages: tuple[str, ...]
    builtin: tuple[str, ...]

    def suite(self, php: str) -> str:
        try:
            return self.suites[php]
        except KeyError:
            known = ", ".join(sorted(self.suites)) or "none"
            raise CommandError(
                f"the Debian stand-in recipe {self.source_dir / DEBIAN_RECIPE} has no PHP {php} "
                f"(it has {known})",
                hint="add the line with its Debian suite under `lines:`",
            ) from None

    def package_list(self, php: str) -> list[str]:
        return [p.format(php=php) for p in self.packages]


def load_debian_recipe(source_dir: Path) -> DebianRecipe | None:
    """The Debian recipe of a stand-in source directory, or None when it has none."""
    import yaml

    path = source_dir / DEBIAN_RECIPE
    if not path.is_file():
        return None

    def bad(what: str) -> CommandError:
        return CommandError(f"{path}: {what}", hint="see examples/real-php/standin/debian.yaml")

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror or 'unreadable'})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = getattr(exc, "problem", None)
        raise bad(f"is not valid YAML{where}" + (f": {said}" if said else "")) from None
    if not isinstance(data, dict):
        raise bad("expected a mapping")
    lines = data.get("lines")
    packages = data.get("packages")
    if not isinstance(lines, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("suite"), str) for v in lines.values()
    ):
        raise bad("`lines` must map each PHP line to {suite: NAME}")
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise bad("`packages` must be a list of package names")
    builtin = data.get("builtin") or []
    if not isinstance(builtin, list) or not all(isinstance(m, str) for m in builtin):
        raise bad("`builtin` must be a list of module names")
    return DebianRecipe(
        source_dir=source_dir,
        mirror=str(data.get("mirror") or "http://deb.debian.org/debian"),
        suites={str(k): str(v["suite"]) for k, v in lines.items()},
        packages=tuple(packages),
        builtin=tuple(builtin),
    )


def mmdebstrap_argv(recipe: DebianRecipe, php: str, arch: str, target: Path) -> list[str]:
    """The mmdebstrap command that writes the root file system tar of one stand-in."""
    argv = [
        "mmdebstrap",
        "--mode=root",
        "--variant=essential",
        f"--architectures={arch}",
        "--include=" + ",".join(recipe.package_list(php)),
        "--skip=output/dev",
    ]
    if MERGED_USR_HOOKS.is_dir():
        argv.append(f"--hook-dir={MERGED_USR_HOOKS}")
    source = recipe.source_dir.resolve()
    argv += [f"--dpkgopt={f}" for f in DPKG_PATH_FILTERS]
    # Debian's PHP maintainer scripts enable every module for every SAPI and run
    # ucf (perl's debconf) for every ini file, one process at a time: many minutes
    # under QEMU, for configuration the setup replaces. Do-nothing stand-ins from
    # hooks/ are diverted in for the install only; Debian's own come back after.
    argv += ['--essential-hook=mkdir -p "$1/usr/lib/php"']
    for stubbed in STUBBED_DURING_INSTALL:
        stub = source / "hooks" / Path(stubbed).name
        argv += [
            f'--essential-hook=chroot "$1" dpkg-divert --quiet --local --rename --add {stubbed}',
            f"--essential-hook=upload {stub} {stubbed}",
            f'--essential-hook=chmod 0755 "$1{stubbed}"',
        ]
    for stubbed in STUBBED_DURING_INSTALL:
        argv += [
            f'--customize-hook=rm "$1{stubbed}"',
            f'--customize-hook=chroot "$1" dpkg-divert --quiet --local --rename --remove {stubbed}',
        ]
    argv += [
        f"--customize-hook=sync-in {source / 'rootfs'} /",
        '--customize-hook=chroot "$1" /usr/local/lib/php-standin/setup '
        + " ".join([php, *recipe.builtin]),
        recipe.suite(php),
        str(target),
        recipe.mirror,
    ]
    return argv


def debian_package_version(status: str, package: str) -> str | None:
    """The version of ``package`` in a dpkg status file (``Version:`` of its stanza)."""
    for stanza in status.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                fields[key] = value.strip()
        if fields.get("Package") == package and "install ok installed" in fields.get("Status", ""):
            return fields.get("Version")
    return None


def upstream_php_version(debian_version: str) -> str:
    """``8.4.16`` from ``8.4.16-1~deb13u1`` (epoch and Debian revision dropped)."""
    version = debian_version.split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


def rootfs_php_version(tar_path: Path, php: str) -> str:
    """The PHP version Debian installed in a root file system tar."""
    import tarfile

    with tarfile.open(tar_path, "r:") as archive:
        for name in ("./var/lib/dpkg/status", "var/lib/dpkg/status"):
            try:
                handle = archive.extractfile(name)
            except KeyError:
                continue
            if handle is not None:
                status = handle.read().decode("utf-8", "replace")
                found = debian_package_version(status, f"php{php}-cli")
                if found:
                    return upstream_php_version(found)
    raise CommandError(
        f"the Debian root file system {tar_path} has no php{php}-cli installed",
        hint=f"check that the suite the stand-in recipe ({DEBIAN_RECIPE}) names for {php} "
        f"ships php{php}-cli, then rerun",
    )


def _add_empty_dev(tar_path: Path) -> None:
    """An empty /dev for runtimes to mount on (mmdebstrap leaves device nodes out)."""
    import tarfile

    with tarfile.open(tar_path, "a:") as archive:
        names = set(archive.getnames())
        if "./dev" in names or "dev" in names:
            return
        entry = tarfile.TarInfo("./dev")
        entry.type = tarfile.DIRTYPE
        entry.mode = 0o755
        entry.mtime = 0
        archive.addfile(entry)


def debian_image_config(php: str, version: str, suite: str, arch: str) -> dict[str, object]:
    """The image config of a Debian stand-in, laid out like the official php:X.Y-fpm."""
    real = REAL.format(version=version, suite=suite)
    labels = {
        STAND_IN_LABEL: "true",
        f"{STAND_IN_LABEL}.real": real,
        f"{STAND_IN_LABEL}.not-real": NOT_REAL,
        "org.opencontainers.image.title": f"STAND-IN php:{php}-fpm (Debian {suite}'s real PHP "
        f"{version}; not the official image)",
        "org.opencontainers.image.description": f"Stand-in base image for publisher's "
        f"rehearsals. Real: {real}. Not real: {NOT_REAL}.",
        "org.opencontainers.image.version": version,
    }
    return {
        "architecture": arch,
        "os": "linux",
        "created": EPOCH,
        "config": {
            "Env": [
                f"PATH={DEBIAN_PATH}",
                f"PHP_VERSION={version}",
                "PHP_INI_DIR=/usr/local/etc/php",
                f"PHPIZE_DEPS={PHPIZE_DEPS}",
            ],
            "Entrypoint": ["docker-php-entrypoint"],
            "Cmd": ["php-fpm"],
            "WorkingDir": "/var/www/html",
            "StopSignal": "SIGQUIT",
            "ExposedPorts": {"9000/tcp": {}},
            "Labels": labels,
        },
        "history": [
            {
                "created": EPOCH,
                "created_by": f"mmdebstrap {suite} (publisher STAND-IN with Debian's PHP {version})",
            }
        ],
    }


def build_debian_line(
    php: str,
    *,
    recipe: DebianRecipe,
    runner: Runner,
    work_dir: Path,
    platforms: Sequence[Platform],
    dest: Path,
    ref_name: str,
) -> str:
    """Build the Debian stand-in for ``php`` on every platform into one index layout."""
    from ..adapters.builders.layout import tar_to_layout

    if not runner.which("mmdebstrap"):
        raise ToolMissingError(
            "building the Debian (real PHP) stand-in bases needs mmdebstrap",
            hint="apt-get install mmdebstrap arch-test qemu-user-static binfmt-support "
            "(scripts/setup-machine does)",
        )
    suite = recipe.suite(php)
    work_dir.mkdir(parents=True, exist_ok=True)

    def one(platform: Platform) -> Path:
        tar_path = work_dir / f"rootfs-{php}-{platform.arch}.tar"
        tar_path.unlink(missing_ok=True)
        runner.run(
            mmdebstrap_argv(recipe, php, platform.arch, tar_path),
            what=f"mmdebstrap {suite} PHP {php} ({platform})",
            hint="run it as root with deb.debian.org reachable; for a foreign architecture "
            "install QEMU (qemu-user-static, binfmt-support)",
            timeout=1800,
        )
        _add_empty_dev(tar_path)
        version = rootfs_php_version(tar_path, php)
        layout = work_dir / f"php-{php}-{platform.arch}.oci"
        tar_to_layout(tar_path, layout, debian_image_config(php, version, suite, platform.arch))
        tar_path.unlink()
        return layout

    # The platforms at once: the native one mostly waits for the mirror and dpkg,
    # the emulated one for the CPU.
    with ThreadPoolExecutor(max_workers=len(platforms) or 1) as pool:
        layouts = list(pool.map(one, platforms))
    return _merge_into(layouts, dest, ref_name)
