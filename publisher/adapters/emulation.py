"""This machine and foreign platforms: the host's own platform, whether an enabled
binfmt_misc handler (QEMU user emulation, Rosetta) runs another's programs, and what to
do when none does.

Builders check it before a foreign build, the smoke test before running a foreign
image; a build on a foreign platform that fails as emulation does when missing or
broken (``emulation_failed``) gets ``foreign_hint`` as its tip (``emulation_advice``),
and so does a smoke test of a foreign image that did not run its php.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import CommandError, ToolMissingError, shown_path
from ..core.locations import shell_word
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
#: Each platform's ELF machine number (``e_machine``): EM_X86_64, EM_AARCH64.
ELF_MACHINE = {Platform.AMD64: 62, Platform.ARM64: 183}
EMULATION_HINT = (
    "install QEMU user emulation: `apt-get install qemu-user-static binfmt-support` "
    "(then `update-binfmts --enable`), or `docker run --privileged --rm tonistiigi/binfmt "
    "--install all`; in GitHub Actions use docker/setup-qemu-action or a native runner"
)


def elf_headers(platform: Platform) -> tuple[bytes, ...]:
    """The first 20 bytes of a ``platform`` program as binfmt_misc matches them: a 64-bit
    little-endian ELF header up to its machine, static (ET_EXEC) and position-independent
    (ET_DYN)."""
    machine = ELF_MACHINE[platform].to_bytes(2, "little")
    return tuple(
        b"\x7fELF\x02\x01\x01" + bytes(9) + bytes([e_type, 0]) + machine for e_type in (2, 3)
    )


def runs(entry: str, platform: Platform) -> bool:
    """True when the binfmt_misc entry that reads ``entry`` takes ``platform``'s programs,
    as the kernel matches them (each byte of its magic, under its mask, at its offset),
    whatever its name: ``qemu-aarch64`` (Debian's binfmt-support and systemd-binfmt,
    tonistiigi/binfmt), ``buildkit-qemu-aarch64``, ``rosetta``; never
    ``qemu-aarch64_be`` (big-endian) or an entry by file name extension."""
    fields = dict(line.partition(" ")[::2] for line in entry.splitlines())
    try:
        offset = int(fields["offset"])
        magic = bytes.fromhex(fields["magic"])
        mask = bytes.fromhex(fields["mask"]) if "mask" in fields else b"\xff" * len(magic)
    except (KeyError, ValueError):
        return False
    headers = elf_headers(platform)
    if not magic or len(mask) != len(magic) or offset < 0 or offset + len(magic) > 20:
        return False
    return all(
        all((header[offset + i] ^ byte) & mask[i] == 0 for i, byte in enumerate(magic))
        for header in headers
    )


@dataclass(frozen=True)
class NoEmulation:
    """Why a foreign platform's programs cannot run here (``reason``), and the ``fix``."""

    reason: str
    fix: str


def emulation_problem(
    platform: Platform, *, host: Platform | None = None, binfmt_dir: Path | None = None
) -> NoEmulation | None:
    """Why ``platform`` binaries cannot run here: binfmt_misc switched off (its ``status``
    reads ``disabled``), or no enabled entry takes them (``runs``): one registered but
    disabled, or none. None when ``platform`` is native, when one can, or when
    binfmt_misc cannot be read (we cannot tell)."""
    host = host_platform() if host is None else host
    binfmt_dir = BINFMT_DIR if binfmt_dir is None else binfmt_dir
    if host is None or platform is host:
        return None
    try:
        status = (binfmt_dir / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    shown = shown_path(binfmt_dir)
    if status.strip() == "disabled":
        return NoEmulation(
            f"binfmt_misc is switched off ({shown}/status reads disabled)",
            f"switch it on: `echo 1 > {shell_word(str(binfmt_dir / 'status'))}` (as root)",
        )
    cpu = QEMU_CPU[platform]
    disabled: list[str] = []
    for entry in sorted(binfmt_dir.iterdir()):
        if entry.name in ("status", "register"):
            continue
        try:
            text = entry.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not runs(text, platform):
            continue
        if text.splitlines()[:1] == ["enabled"]:
            return None
        disabled.append(entry.name)
    if disabled:
        names = ", ".join(shown_path(name) for name in disabled)
        return NoEmulation(
            f"the handler for {cpu} in {shown} ({names}) is registered but disabled",
            f"enable it: `update-binfmts --enable {shell_word(disabled[0])}` (binfmt-support), "
            f"or `echo 1 > {shell_word(str(binfmt_dir / disabled[0]))}` (as root)",
        )
    return NoEmulation(f"no QEMU handler for {cpu} is registered in {shown}", EMULATION_HINT)


def emulation_missing(
    platform: Platform, *, host: Platform | None = None, binfmt_dir: Path | None = None
) -> bool:
    """True when ``platform`` is foreign here and cannot run (``emulation_problem``)."""
    return emulation_problem(platform, host=host, binfmt_dir=binfmt_dir) is not None


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
    problem = emulation_problem(platform, binfmt_dir=binfmt_dir)
    if problem is not None:
        raise ToolMissingError(
            f"cannot run {platform} binaries on this {host_platform()} machine: {problem.reason}",
            hint=problem.fix,
        )


def require_emulation_for(platforms: Iterable[Platform], *, binfmt_dir: Path | None = None) -> None:
    """Raise ToolMissingError before a run starts when any of ``platforms`` cannot run
    here, naming every one: no leg is built or pushed, only for another to fail."""
    problems = {
        p: emulation_problem(p, binfmt_dir=binfmt_dir) for p in sorted(set(platforms), key=str)
    }
    missing = {p: problem for p, problem in problems.items() if problem is not None}
    if missing:
        reasons = "; ".join(dict.fromkeys(problem.reason for problem in missing.values()))
        fixes = "; ".join(dict.fromkeys(problem.fix for problem in missing.values()))
        raise ToolMissingError(
            f"cannot run {', '.join(map(str, missing))} binaries on this {host_platform()} "
            f"machine: {reasons}; nothing was built or pushed",
            hint=f"{fixes}; or leave them out for now: "
            f"PUBLISHER_PLATFORMS={host_platform()} builds this machine's own",
        )
