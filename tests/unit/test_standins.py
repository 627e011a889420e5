"""Stand-in base images: busybox selection (ELF checks, cache, Debian package), cache keys."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from publisher import standins
from publisher.builders import BuilderName
from publisher.builders.base import host_platform
from publisher.errors import ToolMissingError
from publisher.platforms import Platform
from publisher.runner import Completed
from tests.conftest import ROOT
from tests.unit.runner_fakes import Call, FakeRunner, ok

PT_LOAD, PT_INTERP = 1, 3
#: An architecture this host's own busybox cannot serve.
FOREIGN = "amd64" if host_platform() is Platform.ARM64 else "arm64"
FOREIGN_MACHINE = standins.ELF_MACHINES[FOREIGN]


def elf(machine: int, segments: tuple[int, ...] = (PT_LOAD,)) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = struct.pack(
        "<16sHHIQQQIHHHHHH", ident, 2, machine, 1, 0, 64, 0, 0, 64, 56, len(segments), 0, 0, 0
    )
    program = b"".join(struct.pack("<I", kind) + bytes(52) for kind in segments)
    return header + program + bytes(128)


def test_elf_info_reads_machine_and_static_linking() -> None:
    assert standins.elf_info(elf(62)) == standins.ElfInfo(62, True)
    assert standins.elf_info(elf(183, (PT_LOAD, PT_INTERP))) == standins.ElfInfo(183, False)
    assert standins.elf_info(b"#!/bin/sh\necho hi\n" + bytes(64)) is None
    assert standins.elf_info(b"\x7fELF" + bytes([1, 1]) + bytes(100)) is None  # 32-bit


def test_usable_busybox_matches_the_architecture(tmp_path: Path) -> None:
    arm = tmp_path / "arm"
    arm.write_bytes(elf(183))
    dynamic = tmp_path / "dyn"
    dynamic.write_bytes(elf(62, (PT_INTERP, PT_LOAD)))
    assert standins.usable_busybox(arm, "arm64")
    assert not standins.usable_busybox(arm, "amd64")
    assert not standins.usable_busybox(dynamic, "amd64")
    assert not standins.usable_busybox(tmp_path / "missing", "amd64")


def test_cache_root_follows_the_environment() -> None:
    assert standins.cache_root({"PUBLISHER_CACHE_DIR": "/c"}) == Path("/c")
    assert standins.cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/publisher")
    assert standins.cache_root({"HOME": "/home/u"}) == Path("/home/u/.cache/publisher")


def test_a_busybox_override_must_be_right(tmp_path: Path) -> None:
    wrong = tmp_path / "bb"
    wrong.write_bytes(elf(62))
    env = {"PUBLISHER_BUSYBOX_ARM64": str(wrong)}
    with pytest.raises(ToolMissingError, match="is not a static arm64 ELF executable"):
        standins.busybox_binary("arm64", FakeRunner(), tmp_path / "cache", env)
    right = tmp_path / "bb-arm"
    right.write_bytes(elf(183))
    env = {"PUBLISHER_BUSYBOX_ARM64": str(right)}
    assert standins.busybox_binary("arm64", FakeRunner(), tmp_path / "cache", env) == right


def test_a_foreign_busybox_comes_from_the_debian_package_once(tmp_path: Path) -> None:
    runner = FakeRunner(tools={"apt-get": "/usr/bin/apt-get", "dpkg-deb": "/usr/bin/dpkg-deb"})

    def download(call: Call) -> Completed:
        assert call.cwd is not None
        Path(call.cwd, f"busybox-static_1.35.0-4_{FOREIGN}.deb").write_bytes(b"deb")
        return ok()

    def extract(call: Call) -> Completed:
        target = Path(call.argv[3]) / "bin"
        target.mkdir(parents=True)
        (target / "busybox").write_bytes(elf(FOREIGN_MACHINE))
        return ok()

    runner.on(["/usr/bin/apt-get", "download"], download)
    runner.on(["/usr/bin/dpkg-deb", "-x"], extract)
    cache = tmp_path / "cache"
    found = standins.busybox_binary(FOREIGN, runner, cache, {})
    assert found == cache / f"busybox/{FOREIGN}/busybox"
    assert standins.usable_busybox(found, FOREIGN)
    assert runner.argvs()[0] == ("/usr/bin/apt-get", "download", f"busybox-static:{FOREIGN}")
    calls = len(runner.calls)
    assert standins.busybox_binary(FOREIGN, runner, cache, {}) == found
    assert len(runner.calls) == calls  # cached: no second download


def test_without_apt_the_error_names_the_override(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as caught:
        standins.busybox_binary(FOREIGN, FakeRunner(), tmp_path, {})
    assert f"PUBLISHER_BUSYBOX_{FOREIGN.upper()}" in (caught.value.hint or "")


def test_source_key_changes_with_any_input(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "rootfs").mkdir(parents=True)
    (source / "Containerfile").write_text("FROM scratch\n")
    (source / "rootfs" / "php").write_text("#!/bin/sh\n")
    bb = tmp_path / "bb"
    bb.write_bytes(elf(62))
    key = standins.source_key(source, {"amd64": bb}, BuilderName.BUILDAH)
    assert key == standins.source_key(source, {"amd64": bb}, BuilderName.BUILDAH)
    assert key != standins.source_key(source, {"amd64": bb}, BuilderName.DOCKER)
    (source / "rootfs" / "php").write_text("#!/bin/sh\necho changed\n")
    changed = standins.source_key(source, {"amd64": bb}, BuilderName.BUILDAH)
    assert changed != key
    (source / "rootfs" / "php").chmod(0o755)
    assert standins.source_key(source, {"amd64": bb}, BuilderName.BUILDAH) != changed


def test_the_stand_in_sources_are_labelled_as_stand_ins() -> None:
    containerfile = (standins.SOURCE_DIR / "Containerfile").read_text()
    assert 'dev.publisher.stand-in="true"' in containerfile
    assert standins.SOURCE_DIR == ROOT / "examples/offline/standin"
    php = (standins.SOURCE_DIR / "rootfs/usr/local/bin/php").read_text()
    assert "STAND-IN, not PHP" in php
    for script in (standins.SOURCE_DIR / "rootfs/usr/local/bin").iterdir():
        assert "STAND-IN" in script.read_text(), script.name
