"""Stand-in base images: busybox selection (ELF checks, cache, Debian package), cache keys."""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.adapters.builders import BuilderName
from publisher.adapters.emulation import host_platform
from publisher.adapters.output import Output
from publisher.adapters.runner import Completed
from publisher.core.errors import CommandError, ToolMissingError
from publisher.core.platforms import Platform
from publisher.stages import standins
from tests.conftest import ROOT
from tests.support.fake_runner import Call, FakeRunner, ok

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


@pytest.mark.parametrize("blank", ["", " ", "\r", " \t "])
def test_a_cache_variable_set_to_blanks_counts_as_unset(blank: str) -> None:
    """As every setting publisher reads (README): never a directory named by a space
    under the current one."""
    home = {"HOME": "/home/u"}
    expected = Path("/home/u/.cache/publisher")
    assert standins.cache_root({**home, "PUBLISHER_CACHE_DIR": blank}) == expected
    assert standins.cache_root({**home, "XDG_CACHE_HOME": blank}) == expected
    assert standins.cache_root({**home, "PUBLISHER_CACHE_DIR": blank, "XDG_CACHE_HOME": "/x"}) == (
        Path("/x/publisher")
    )


def test_an_empty_home_is_unset_and_a_relative_xdg_cache_home_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``HOME=''`` counts as unset, as every variable publisher reads set to nothing: the
    cache is under the user's home from the password database, never ``/.cache``; a
    relative ``XDG_CACHE_HOME`` is ignored, as the XDG base directory spec says, never a
    directory under the current one; a relative ``PUBLISHER_CACHE_DIR`` is taken as given."""
    import pwd

    passwd_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    monkeypatch.setenv("HOME", "")  # what Path.home() reads: the run's own environment
    expected = passwd_home / ".cache" / "publisher"
    assert standins.cache_root({"HOME": ""}) == expected
    assert standins.cache_root({"HOME": " "}) == expected
    assert standins.cache_root({"HOME": "/home/u", "XDG_CACHE_HOME": "rel"}) == Path(
        "/home/u/.cache/publisher"
    )
    assert standins.cache_root({"HOME": "/home/u", "PUBLISHER_CACHE_DIR": "rel"}) == Path("rel")


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


def test_a_busybox_override_set_to_blanks_counts_as_unset(tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "busybox" / "arm64" / "busybox"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(elf(183))
    for blank in (" ", "\r", " \t "):
        env = {"PUBLISHER_BUSYBOX_ARM64": blank}
        assert standins.busybox_binary("arm64", FakeRunner(), tmp_path / "cache", env) == cached


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
    assert standins.SOURCE_DIR == ROOT / "publisher/stages/standin-offline"
    php = (standins.SOURCE_DIR / "rootfs/usr/local/bin/php").read_text()
    assert "STAND-IN, not PHP" in php
    for script in (standins.SOURCE_DIR / "rootfs/usr/local/bin").iterdir():
        assert "STAND-IN" in script.read_text(), script.name


# ----------------------------------------------------------------- Debian (real PHP) stand-ins

REAL_PHP = ROOT / "examples/real-php/standin"

#: The stanzas of a real dpkg status file (trimmed), as mmdebstrap leaves it.
DPKG_STATUS = """Package: php8.4-common
Status: install ok installed
Version: 8.4.16-1~deb13u1

Package: php8.4-cli
Status: install ok installed
Priority: optional
Architecture: arm64
Source: php8.4
Version: 8.4.16-1~deb13u1
Depends: libedit2 (>= 3.1-20210522),
 php8.4-common (= 8.4.16-1~deb13u1)

Package: php8.2-cli
Status: deinstall ok config-files
Version: 8.2.30-1~deb12u1
"""


def test_the_real_php_recipe_names_a_suite_per_line_and_the_template_extensions() -> None:
    recipe = standins.load_debian_recipe(REAL_PHP)
    assert recipe is not None
    assert recipe.suite("8.2") == "bookworm" and recipe.suite("8.4") == "trixie"
    packages = recipe.package_list("8.4")
    for ext in ("fpm", "cli", "bcmath", "gd", "intl", "mysql", "opcache", "redis", "zip"):
        assert f"php8.4-{ext}" in packages
    assert "libfcgi-bin" in packages  # cgi-fcgi for the health check
    with pytest.raises(CommandError, match=r"has no PHP 8\.1"):
        recipe.suite("8.1")
    assert standins.load_debian_recipe(standins.SOURCE_DIR) is None  # busybox stand-ins


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "expected a mapping"),
        ("lines: {'8.4': trixie}\npackages: []\n", "`lines` must map"),
        ("lines: {'8.4': {suite: trixie}}\npackages: php\n", "`packages` must be a list"),
        ("lines: {'8.4': {suite: trixie}}\npackages: []\nbuiltin: x\n", "`builtin` must be"),
        ("lines: [\n", "is not valid YAML at line 2, column 1: expected the node content"),
    ],
)
def test_a_broken_recipe_is_a_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "debian.yaml").write_text(text)
    with pytest.raises(CommandError, match=problem) as caught:
        standins.load_debian_recipe(tmp_path)
    assert "\n" not in caught.value.message  # YAML's own lines joined into the one message


def test_mmdebstrap_lays_out_the_image_and_skips_debians_module_enabling() -> None:
    recipe = standins.load_debian_recipe(REAL_PHP)
    assert recipe is not None
    argv = standins.mmdebstrap_argv(recipe, "8.2", "arm64", Path("/w/rootfs.tar"))
    assert argv[0] == "mmdebstrap" and "--architectures=arm64" in argv
    assert argv[-3:] == ["bookworm", "/w/rootfs.tar", "http://deb.debian.org/debian"]
    include = next(a for a in argv if a.startswith("--include="))
    assert "php8.2-fpm" in include and "{php}" not in include
    assert "--skip=output/dev" in argv
    essential = [a for a in argv if a.startswith("--essential-hook=")]
    customize = [a for a in argv if a.startswith("--customize-hook=")]
    # do-nothing helpers go in before the packages install and Debian's come back after
    for stubbed in standins.STUBBED_DURING_INSTALL:
        name = stubbed.rsplit("/", 1)[1]
        assert (REAL_PHP / "hooks" / name).is_file()
        divert = f'chroot "$1" dpkg-divert --quiet --local --rename --add {stubbed}'
        upload = f"upload {REAL_PHP / 'hooks' / name} {stubbed}"
        assert essential.index(f"--essential-hook={divert}") < essential.index(
            f"--essential-hook={upload}"
        )
        remove = f'chroot "$1" dpkg-divert --quiet --local --rename --remove {stubbed}'
        assert customize.index(f'--customize-hook=rm "$1{stubbed}"') < customize.index(
            f"--customize-hook={remove}"
        )
    assert customize[-2] == f"--customize-hook=sync-in {REAL_PHP / 'rootfs'} /"
    assert customize[-1].startswith(
        '--customize-hook=chroot "$1" /usr/local/lib/php-standin/setup 8.2 ctype '
    )


def test_the_php_version_comes_from_the_installed_cli_package() -> None:
    assert standins.debian_package_version(DPKG_STATUS, "php8.4-cli") == "8.4.16-1~deb13u1"
    assert standins.debian_package_version(DPKG_STATUS, "php8.2-cli") is None  # not installed
    assert standins.upstream_php_version("8.4.16-1~deb13u1") == "8.4.16"
    assert standins.upstream_php_version("1:8.2.30-1") == "8.2.30"
    assert standins.upstream_php_version("8.3.0") == "8.3.0"


def test_a_debian_stand_in_says_what_is_real_and_what_is_not(tmp_path: Path) -> None:
    config = standins.debian_image_config("8.4", "8.4.16", "trixie", "arm64")
    labels = config["config"]["Labels"]  # type: ignore[index]
    assert labels[standins.STAND_IN_LABEL] == "true"
    assert "PHP 8.4.16, PHP-FPM and the extensions" in labels["dev.publisher.stand-in.real"]
    assert "not Alpine" in labels["dev.publisher.stand-in.not-real"]
    assert labels["org.opencontainers.image.title"].startswith("STAND-IN php:8.4-fpm")
    assert config["config"]["Entrypoint"] == ["docker-php-entrypoint"]  # type: ignore[index]
    assert config["config"]["Cmd"] == ["php-fpm"]  # type: ignore[index]
    assert "PHP_VERSION=8.4.16" in config["config"]["Env"]  # type: ignore[index]
    notice = (REAL_PHP / "rootfs/STAND-IN-DEBIAN-PHP").read_text()
    assert "NOT the official php image" in notice
    for script in (REAL_PHP / "rootfs/usr/local/bin").iterdir():
        assert "STAND-IN" in script.read_text(), script.name


def test_making_a_debian_stand_in_says_it_takes_minutes_before_mmdebstrap_starts(
    tmp_path: Path,
) -> None:
    """The real-PHP bases take minutes (a foreign platform's under QEMU, several) and a
    dry run makes them too: the line naming them says so before mmdebstrap runs, where it
    named the line and platforms alone and the minutes went by unexplained. It is the
    run's progress, on stderr: a rehearsal's stdout carries its result alone."""
    host = host_platform()
    foreign = next(p for p in Platform if p is not host)
    runner = FakeRunner(tools={"mmdebstrap": "/usr/bin/mmdebstrap"})
    stdout = io.StringIO()
    runner.output = Output(env={}, stream=stdout, err_stream=runner.stream)
    said: list[str] = []

    def mmdebstrap(call: Call) -> Completed:
        said.append(runner.stream.getvalue())
        return Completed(call.argv, 1, "", "E: stopped here")

    runner.on(["mmdebstrap"], mmdebstrap)
    with pytest.raises(CommandError):
        standins.push_standins(
            "127.0.0.1:9",
            runner=runner,
            lines=["8.4"],
            platforms=tuple(Platform),
            source_dir=REAL_PHP,
            env={"PUBLISHER_CACHE_DIR": str(tmp_path)},
        )
    assert said, "mmdebstrap never ran"
    assert stdout.getvalue() == ""
    line = " ".join(said[0].split())
    assert "building the STAND-IN base with Debian's real PHP 8.4 (trixie; " in line
    assert f"several minutes for {foreign} under QEMU" in line
    if host is not None:
        assert f"about a minute for {host}," in line
    assert f"made once, later runs take it from {tmp_path}/standins/debian-layouts" in line


def test_a_root_file_system_tar_becomes_a_reproducible_one_layer_layout(tmp_path: Path) -> None:
    import io
    import json
    import tarfile

    from publisher.adapters.builders.layout import read_layout, tar_to_layout

    status = tarfile.TarInfo("./var/lib/dpkg/status")
    data = DPKG_STATUS.encode()
    status.size = len(data)
    with tarfile.open(tmp_path / "rootfs.tar", "w") as tar:
        tar.addfile(status, io.BytesIO(data))
    assert standins.rootfs_php_version(tmp_path / "rootfs.tar", "8.4") == "8.4.16"
    with pytest.raises(CommandError, match=r"has no php8\.2-cli installed"):
        standins.rootfs_php_version(tmp_path / "rootfs.tar", "8.2")
    config = standins.debian_image_config("8.4", "8.4.16", "trixie", "arm64")
    first = tar_to_layout(tmp_path / "rootfs.tar", tmp_path / "one", config)
    assert tar_to_layout(tmp_path / "rootfs.tar", tmp_path / "two", config) == first
    image = read_layout(tmp_path / "one")
    assert image.digest == first and image.architecture == "arm64"
    assert len(image.manifest["layers"]) == 1
    assert image.labels[standins.STAND_IN_LABEL] == "true"
    index = json.loads((tmp_path / "one/index.json").read_text())
    assert index["manifests"][0]["platform"] == {"architecture": "arm64", "os": "linux"}


# ----------------------------------------------------------------- the shared cache


def _index_layout(tmp_path: Path, name: str, php_version: str = "8.4.16") -> Path:
    """A one-platform index layout, as the cache holds, at ``tmp_path / name``."""
    import io
    import tarfile

    from publisher.adapters.builders.layout import tar_to_layout

    status = tarfile.TarInfo("./var/lib/dpkg/status")
    data = DPKG_STATUS.encode()
    status.size = len(data)
    rootfs = tmp_path / f"{name}.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.addfile(status, io.BytesIO(data))
    config = standins.debian_image_config("8.4", php_version, "trixie", "amd64")
    single = tmp_path / f"{name}.single"
    tar_to_layout(rootfs, single, config)
    dest = tmp_path / f"{name}.oci"
    standins._merge_into([single], dest, "8.4-fpm-alpine")
    return dest


def _blobs(layout: Path) -> dict[str, Path]:
    import json

    top = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    index = json.loads((layout / "blobs/sha256" / top[7:]).read_text())
    child = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs/sha256" / child[7:]).read_text())
    named = {"config": manifest["config"], "layer": manifest["layers"][0]}
    return {what: layout / "blobs/sha256" / d["digest"][7:] for what, d in named.items()}


@pytest.mark.parametrize("missing", ["config", "layer"])
def test_a_cached_layout_missing_any_blob_is_rebuilt_not_pushed(
    tmp_path: Path, missing: str
) -> None:
    layout = _index_layout(tmp_path, "cached")
    assert standins._cached_digest(layout) is not None
    _blobs(layout)[missing].unlink()  # a run killed mid-copy, a hand-cleaned cache
    assert standins._cached_digest(layout) is None


@pytest.mark.parametrize("damaged", ["config", "layer"])
@pytest.mark.parametrize("how", ["altered", "cut short"])
def test_a_cached_layout_with_a_damaged_blob_is_rebuilt_not_pushed(
    tmp_path: Path, damaged: str, how: str
) -> None:
    """A blob that is there but not what its digest says (a disk error, a copy cut
    short) would be refused by the registry on every rehearsal: it is built again."""
    layout = _index_layout(tmp_path, "cached")
    assert standins._cached_digest(layout) is not None
    blob = _blobs(layout)[damaged]
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]) if how == "altered" else data[:-1])
    assert standins._cached_digest(layout) is None


def test_a_layout_another_run_is_reading_is_not_removed(tmp_path: Path) -> None:
    """Two rehearsals may share one cache: a sweep leaves a layout being pushed."""
    layout = _index_layout(tmp_path, "held")
    later = time.time() + 60
    with standins._in_use(layout):  # another run's lock: its own open file
        assert not standins._remove_unused(layout, later)
        assert standins._cached_digest(layout) is not None
    assert not standins._remove_unused(layout, 0.0)  # used since: kept
    assert standins._remove_unused(layout, later)
    assert not layout.exists()
    assert not list(tmp_path.glob("*.trash"))
    assert not standins._lock_path(layout).exists()  # removed with it, under it


def test_the_lock_of_a_layout_gone_is_removed_unless_a_run_holds_it(tmp_path: Path) -> None:
    """A layout removed by a run killed before its lock went (or by a version that kept
    locks) leaves ``NAME.lock`` alone: the next sweep removes it, but never the lock of a
    layout a run is building (held, its layout not there yet), nor one still in use."""
    kept = _index_layout(tmp_path, "kept")
    for name in ("gone", "building"):
        standins._lock_path(tmp_path / f"{name}.oci").touch()
    with standins._in_use(tmp_path / "building.oci"):
        standins._sweep_old(tmp_path, keep=tmp_path / "other.oci")
    assert sorted(p.name for p in tmp_path.glob("*.lock")) == ["building.oci.lock"]
    with standins._in_use(kept):  # its lock file, as every read of it makes
        pass
    standins._sweep_old(tmp_path, keep=tmp_path / "other.oci")  # the build ended: none
    assert sorted(p.name for p in tmp_path.glob("*.lock")) == [f"{kept.name}.lock"]
    assert standins._cached_digest(kept) is not None


def test_a_finished_layout_never_replaces_a_complete_one_in_place(tmp_path: Path) -> None:
    """Another run installed its layout first: that one stays, whole, and is the answer;
    an incomplete one is replaced."""
    first = _index_layout(tmp_path, "first")
    kept = standins._cached_digest(first)
    other = _index_layout(tmp_path, "other", php_version="8.4.17")
    assert standins._cached_digest(other) not in (None, kept)
    assert standins._install_layout(other, first) == kept
    assert not other.exists() and standins._cached_digest(first) == kept

    _blobs(first)["layer"].unlink()
    newer = _index_layout(tmp_path, "newer", php_version="8.4.17")
    wanted = standins._cached_digest(newer)
    assert standins._install_layout(newer, first) == wanted
    assert standins._cached_digest(first) == wanted


def test_a_user_buildah_cannot_serve_builds_the_stand_ins_with_docker(
    user_without_subids: Callable[[int], None],
) -> None:

    both = {"buildah": "/usr/bin/buildah", "docker": "/usr/bin/docker"}
    assert standins.default_builder(FakeRunner(tools=both)) is BuilderName.DOCKER
    # Without docker, buildah is still the choice: its check says what is missing.
    alone = FakeRunner(tools={"buildah": "/usr/bin/buildah"})
    assert standins.default_builder(alone) is BuilderName.BUILDAH
    with pytest.raises(ToolMissingError, match="rootless as uid 4242"):
        standins.pick_builder(
            alone.on(["/usr/bin/buildah", "--version"], ok("buildah version 1.28.2\n")),
            BuilderName.BUILDAH,
        )

    user_without_subids(0)  # root needs no range
    assert standins.default_builder(FakeRunner(tools=both)) is BuilderName.BUILDAH
    assert standins.default_builder(FakeRunner(tools={"docker": "/usr/bin/docker"})) is (
        BuilderName.DOCKER
    )


def test_buildah_isolation_is_checked_only_when_buildah_builds_the_stand_ins() -> None:
    """Refused before the rehearsal's registries start when buildah builds the stand-ins
    (exit 2); a run whose stand-ins docker builds, or a Debian recipe (no builder), does
    not read the variable: it must not stop a docker or buildx run."""
    from publisher.core import config
    from publisher.core.errors import UsageError

    offline = config.load(str(ROOT / "examples/offline/matrix.yaml"), {})
    bogus = {"BUILDAH_ISOLATION": "bogus"}
    runner = FakeRunner()
    with pytest.raises(UsageError, match="BUILDAH_ISOLATION='bogus' is not an isolation"):
        standins.check_engine(offline, runner, BuilderName.BUILDAH, env=bogus)
    standins.check_engine(offline, runner, BuilderName.DOCKER, env=bogus)
    standins.check_engine(offline, runner, BuilderName.BUILDAH, env={"BUILDAH_ISOLATION": "OCI"})
    real_php = config.load(str(ROOT / "examples/real-php/matrix.yaml"), {})
    standins.check_engine(real_php, runner, BuilderName.BUILDAH, env=bogus)
