"""STAND-IN base images for the offline rehearsal (not PHP).

This machine class has no route to Docker Hub, so the offline example
(``examples/offline/``) builds on tiny busybox-static images that imitate what
the Dockerfile template calls: ``apk``, ``docker-php-ext-*``, ``pecl``, ``php``,
``php-fpm``, ``cgi-fcgi``. They are labelled ``dev.publisher.stand-in=true``,
carry ``/STAND-IN-NOT-PHP`` and their ``php -v`` says
``PHP 8.4.99-standin (cli) -- STAND-IN, not PHP``.

``push_standins`` builds one image per PHP line and architecture from
``examples/offline/standin/Containerfile`` with buildah (else docker), merges
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
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .builders import BuilderName, BuildRequest, create_builder
from .builders.base import Builder
from .builders.layout import merge_layouts, read_layout
from .config import Config, is_loopback
from .errors import CommandError, NotFoundError, ToolMissingError
from .platforms import Platform
from .reference import Reference
from .runner import CommandRunner

#: The stand-in sources in a repository checkout.
SOURCE_DIR = Path(__file__).resolve().parent.parent / "examples" / "offline" / "standin"
REPOSITORY = "stand-in/php"
TAG_TEMPLATE = "{php}-fpm-alpine"
LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")
STAND_IN_LABEL = "dev.publisher.stand-in"
#: Fixed build time: the stand-ins are reproducible with buildah (--timestamp 0).
EPOCH = "1970-01-01T00:00:00Z"

#: ELF ``e_machine`` per Debian architecture.
ELF_MACHINES = {"amd64": 62, "arm64": 183}
_PT_INTERP = 3

ENV_CACHE = "PUBLISHER_CACHE_DIR"
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


def cache_root(env: Mapping[str, str]) -> Path:
    if env.get(ENV_CACHE):
        return Path(env[ENV_CACHE])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "publisher"


def busybox_binary(arch: str, runner: CommandRunner, cache: Path, env: Mapping[str, str]) -> Path:
    """A static busybox for ``arch`` (amd64/arm64), cached under ``cache``."""
    override = env.get(busybox_env_var(arch))
    if override:
        if not usable_busybox(Path(override), arch):
            raise ToolMissingError(
                f"{busybox_env_var(arch)}={override} is not a static {arch} ELF executable",
                hint=f"point it at bin/busybox from Debian's busybox-static:{arch}",
            )
        return Path(override)
    cached = cache / "busybox" / arch / "busybox"
    if usable_busybox(cached, arch):
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _host_busyboxes(runner):
        if usable_busybox(candidate, arch):
            _install(candidate, cached)
            return cached
    with tempfile.TemporaryDirectory(prefix="publisher-busybox-") as tmp:
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
            raise CommandError(f"apt-get download left no busybox-static {arch} package in {tmp}")
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


def _host_busyboxes(runner: CommandRunner) -> list[Path]:
    found = [Path("/bin/busybox"), Path("/usr/bin/busybox")]
    on_path = runner.which("busybox")
    if on_path:
        found.insert(0, Path(on_path))
    return found


def _install(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)


# ----------------------------------------------------------------- building


def source_key(source_dir: Path, busyboxes: Mapping[str, Path], builder: BuilderName) -> str:
    """A short hash of everything a stand-in image is made of."""
    digest = hashlib.sha256()
    digest.update(f"recipe={RECIPE}\nbuilder={builder.value}\n".encode())
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


def pick_builder(runner: CommandRunner, name: BuilderName | None = None) -> Builder:
    """buildah, else docker (the stand-ins are laid out locally, so not buildx)."""
    names = [name] if name else [BuilderName.BUILDAH, BuilderName.DOCKER]
    for candidate in names:
        if candidate is BuilderName.BUILDX:
            raise ToolMissingError("stand-in images are built with buildah or docker, not buildx")
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
            raise CommandError("the stand-in builder pushed instead of writing a layout")
        labels = read_layout(output.layout).labels
        if labels.get(STAND_IN_LABEL) != "true":
            raise CommandError(f"the stand-in image for {php} lacks the {STAND_IN_LABEL} label")
        layouts.append(output.layout)
    tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
    digest = merge_layouts(layouts, tmp, TAG_TEMPLATE.format(php=php))
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    for layout in layouts:
        shutil.rmtree(layout, ignore_errors=True)
    return digest


def _cached_digest(layout: Path) -> str | None:
    try:
        index = json.loads((layout / "index.json").read_bytes())
        digest = str(index["manifests"][0]["digest"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return digest if (layout / "blobs" / "sha256" / digest.partition(":")[2]).is_file() else None


# ----------------------------------------------------------------- pushing


def push_standins(
    registry: str,
    *,
    runner: CommandRunner,
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
    from .registry import RegistryClient

    env = dict(os.environ if env is None else env)
    output = runner.output
    if not (source_dir / "Containerfile").is_file():
        raise ToolMissingError(
            f"the stand-in sources are missing: {source_dir}/Containerfile",
            hint="run from a checkout of the publisher repository (examples/offline/standin)",
        )
    cache = cache_root(env) / "standins"
    busyboxes = {p.arch: busybox_binary(p.arch, runner, cache, env) for p in platforms}
    chosen: Builder | None = None
    builder_name = builder or (
        BuilderName.BUILDAH if runner.which("buildah") else BuilderName.DOCKER
    )
    key = source_key(source_dir, busyboxes, builder_name)
    plain = is_loopback(registry) if plain_http is None else plain_http
    client = RegistryClient(registry, plain_http=plain, output=output)
    result: dict[str, Reference] = {}
    with tempfile.TemporaryDirectory(prefix="publisher-standin-") as tmp:
        context = Path(tmp) / "context"
        for php in lines:
            tag = tag_template.format(php=php)
            slug = "-".join(p.arch for p in platforms)
            layout = cache / "layouts" / f"{key}-php-{php}-{slug}.oci"
            digest = _cached_digest(layout)
            if digest is None:
                if chosen is None:
                    chosen = pick_builder(runner, builder_name)
                    _prepare_context(source_dir, busyboxes, context)
                output.info(
                    f"building the STAND-IN base for PHP {php} ({', '.join(map(str, platforms))})"
                )
                digest = build_line(
                    php,
                    builder=chosen,
                    context=context,
                    work_dir=Path(tmp) / "work",
                    platforms=platforms,
                    dest=layout,
                )
                for stale in layout.parent.glob(f"*-php-{php}-{slug}.oci"):
                    if stale != layout:
                        shutil.rmtree(stale, ignore_errors=True)
            ref = Reference(registry, repository, tag, digest)
            try:
                current = client.resolve(Reference(registry, repository, tag))
            except NotFoundError:
                current = None
            if current != digest:
                pushed = client.push_layout(layout, repository)
                if pushed != digest:
                    raise CommandError(f"pushed {pushed} for the stand-in {php}, expected {digest}")
                client.tag(repository, digest, tag)
                output.info(f"pushed STAND-IN {ref}")
            else:
                output.detail(f"up to date: STAND-IN {ref}")
            result[php] = ref
    return result


def push_for_config(
    config: Config,
    registry: str,
    *,
    runner: CommandRunner,
    builder: BuilderName | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Reference]:
    """Push the stand-ins a ``stand_in: true`` matrix's base images name to ``registry``.

    Uses ``<config root>/standin`` as the sources when present.
    """
    if not config.stand_in:
        raise CommandError(
            f"{config.source} is not a stand-in matrix (stand_in: true); refusing to push stand-ins "
            "for its base images"
        )
    groups: dict[tuple[str, str], list[str]] = {}
    for line in config.lines:
        tag = line.base.tag or ""
        template = tag.replace(line.php, "{php}", 1)
        groups.setdefault((line.base.path, template), []).append(line.php)
    source = Path(config.root) / "standin"
    result: dict[str, Reference] = {}
    for (path, template), lines in groups.items():
        result.update(
            push_standins(
                registry,
                runner=runner,
                lines=lines,
                platforms=config.platforms,
                repository=path,
                tag_template=template,
                source_dir=source if (source / "Containerfile").is_file() else SOURCE_DIR,
                builder=builder,
                env=env,
            )
        )
    return result
