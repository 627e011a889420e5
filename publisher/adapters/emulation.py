"""This machine and foreign platforms: the host's own platform, whether QEMU user
emulation is registered for another (binfmt_misc), and what to do when it is not.

Builders check it before a foreign build, the smoke test before running a foreign
image; a build on a foreign platform that fails as emulation does when missing or
broken (``emulation_failed``) gets ``foreign_hint`` as its tip (``emulation_advice``),
and so does a smoke test of a foreign image that did not run its php.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..core.errors import CommandError, ToolMissingError
from ..core.platforms import Platform
from ..resolve import detect_host_platform


def host_platform() -> Platform | None:
    """The platform this machine runs natively, if publisher builds for it."""
    try:
        return Platform(detect_host_platform())
    except ValueError:
        return None


BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
#: The QEMU name of each platform's CPU, as in binfmt_misc entries (``qemu-aarch64``).
QEMU_CPU = {Platform.AMD64: "x86_64", Platform.ARM64: "aarch64"}
EMULATION_HINT = (
    "install QEMU user emulation: `apt-get install qemu-user-static binfmt-support` "
    "(then `update-binfmts --enable`), or `docker run --privileged --rm tonistiigi/binfmt "
    "--install all`; in GitHub Actions use docker/setup-qemu-action or a native runner"
)


def emulation_missing(
    platform: Platform, *, host: Platform | None = None, binfmt_dir: Path | None = None
) -> bool:
    """True when ``platform`` is foreign here and no enabled QEMU binfmt handler exists.

    False when it is native, or when binfmt_misc cannot be read (we cannot tell).
    """
    host = host_platform() if host is None else host
    binfmt_dir = BINFMT_DIR if binfmt_dir is None else binfmt_dir
    if host is None or platform is host or not (binfmt_dir / "status").is_file():
        return False
    cpu = QEMU_CPU[platform]
    for entry in binfmt_dir.iterdir():
        if cpu not in entry.name:
            continue
        try:
            first = entry.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        except OSError:
            continue
        if first == ["enabled"]:
            return False
    return True


def foreign_hint(platform: Platform) -> str | None:
    """What to check when building or running a ``platform`` image fails here; None
    when ``platform`` is this machine's own."""
    if platform == host_platform():
        return None
    return (
        f"{platform} binaries run under QEMU on this machine: install qemu-user-static and "
        "binfmt-support (`update-binfmts --enable`); 'exec format error' in the output means "
        "emulation is missing"
    )


#: What a failed build prints when a foreign program could not start, in the words of
#: the kernel as runc, crun, buildah and BuildKit pass them on: no QEMU handler ("exec
#: /bin/sh: exec format error", buildah's "fork/exec ...: exec format error"), a handler
#: whose interpreter is not there ("exec /bin/sh: no such file or directory"), or QEMU's
#: own failure. A RUN step that fails on its own ("exit code: 3", "/bin/sh: curl: not
#: found") says none of them.
EMULATION_FAILURE = re.compile(
    r"exec format error"
    r"|\bexec:? `?/[^\s`:]*`?: no such file or directory"
    r"|\bqemu(?:-[a-z0-9_]+)?: uncaught target signal",
    re.IGNORECASE,
)


def emulation_failed(output: str) -> bool:
    """True when a failed command's ``output`` says a foreign program could not run."""
    return EMULATION_FAILURE.search(output) is not None


@contextlib.contextmanager
def emulation_advice(platform: Platform) -> Iterator[None]:
    """Around a build for ``platform``: a CommandError whose output says a foreign
    program could not run (``emulation_failed``) gets ``foreign_hint`` as its tip; any
    other failure (a RUN step that fails on every platform) keeps its own."""
    try:
        yield
    except CommandError as exc:
        hint = foreign_hint(platform)
        if hint is not None and emulation_failed(exc.output):
            exc.hint = hint
        raise


def require_emulation(platform: Platform, *, binfmt_dir: Path | None = None) -> None:
    """Raise ToolMissingError up front when ``platform`` binaries cannot run here."""
    if emulation_missing(platform, binfmt_dir=binfmt_dir):
        raise ToolMissingError(
            f"cannot run {platform} binaries on this {host_platform()} machine: no QEMU "
            f"handler for {QEMU_CPU[platform]} is registered in {binfmt_dir or BINFMT_DIR}",
            hint=EMULATION_HINT,
        )


def require_emulation_for(platforms: Iterable[Platform], *, binfmt_dir: Path | None = None) -> None:
    """Raise ToolMissingError before a run starts when any of ``platforms`` cannot run
    here, naming every one: no leg is built or pushed, only for another to fail."""
    missing = sorted({p for p in platforms if emulation_missing(p, binfmt_dir=binfmt_dir)}, key=str)
    if missing:
        cpus = ", ".join(QEMU_CPU[p] for p in missing)
        raise ToolMissingError(
            f"cannot run {', '.join(map(str, missing))} binaries on this {host_platform()} "
            f"machine: no QEMU handler for {cpus} is registered in {binfmt_dir or BINFMT_DIR}; "
            "nothing was built or pushed",
            hint=f"{EMULATION_HINT}; or leave them out for now: "
            f"PUBLISHER_PLATFORMS={host_platform()} builds this machine's own",
        )
