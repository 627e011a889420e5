"""The distribution: builds with no warning, says what it is, and installs with pipx.

The sdist and the wheel are built with `python -m build --no-isolation` and every
Python warning turned into an error, with the build backend the lock pins (so the
test needs no network and sees exactly what a release build sees). The wheel is
then installed with pipx into a throwaway home, offline, its dependencies taken
from the environment the lock installed, and `publisher --version` must run.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from publisher import __version__
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DIST = "php-fpm-publisher"


def _source_tree(tmp_path: Path) -> Path:
    """A copy of the checkout (its files git tracks or would, as a clone has them), so the
    sdist is the one built from a checkout, and no build/ or *.egg-info lands in it."""
    src = tmp_path / "src"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the work tree: not there
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    return src


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pin = backend["build-system"]["requires"][0]
    installed = f"setuptools=={metadata.version('setuptools')}"
    assert installed == pin, (
        f"{installed} is installed, the build pins {pin}: install from the lock"
    )
    tmp = tmp_path_factory.mktemp("packaging")
    src = _source_tree(tmp)
    out = tmp / "dist"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-m",
            "build",
            "--no-isolation",
            "--sdist",
            "--wheel",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    wheel = next(out.glob("*.whl"))
    sdist = next(out.glob("*.tar.gz"))
    return wheel, sdist, log


def test_build_prints_no_deprecation_warning(built: tuple[Path, Path, str]) -> None:
    _, _, log = built
    for word in ("Deprecat", "deprecated", "Warning", "By 20"):
        assert word not in log, f"the build printed {word!r}:\n{log[-4000:]}"


def test_the_wheel_names_the_distribution_and_its_licence(built: tuple[Path, Path, str]) -> None:
    wheel, sdist, _ = built
    assert wheel.name == f"php_fpm_publisher-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(meta_name))
        entry_points = zf.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Name"] == DIST
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "publisher = publisher.__main__:main" in entry_points
    # The rehearsal's stand-in sources ship inside the package, every file of them.
    standin = ROOT / "publisher/stages/standin-offline"
    shipped = {
        f"publisher/stages/standin-offline/{p.relative_to(standin).as_posix()}"
        for p in standin.rglob("*")
        if p.is_file()
    }
    assert "publisher/stages/standin-offline/Containerfile" in shipped
    assert shipped <= set(names), sorted(shipped - set(names))
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    assert f"php_fpm_publisher-{__version__}/LICENSE" in members
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST and project["license"] == "MIT"


def test_the_sdist_holds_the_package_and_nothing_of_the_checkout_else(
    built: tuple[Path, Path, str],
) -> None:
    """Built from a checkout, the sdist took tests/test_quality.py (setuptools' default
    ``test*.py`` rule); and package-data named a templates/ directory that matches nothing."""
    _, sdist, _ = built
    with tarfile.open(sdist) as tf:
        tops = {Path(name).parts[1] for name in tf.getnames() if len(Path(name).parts) > 1}
    assert tops == {
        "LICENSE",
        "MANIFEST.in",
        "PKG-INFO",
        "README.md",
        "pyproject.toml",
        "setup.cfg",
        "php_fpm_publisher.egg-info",
        "publisher",
    }, sorted(tops)
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for pattern in package_data["tool"]["setuptools"]["package-data"]["publisher"]:
        assert any((ROOT / "publisher").glob(pattern)), f"package-data {pattern} matches nothing"


def test_pipx_installs_the_wheel_and_publisher_runs(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    wheel, _, _ = built
    home, bin_dir = tmp_path / "pipx", tmp_path / "bin"
    # pipx would upgrade its shared pip from the index (offline: impossible); a
    # freshly made venv (ensurepip, no network) is a valid, current shared-libs venv.
    shared = tmp_path / "pipx-shared"
    subprocess.run([sys.executable, "-m", "venv", str(shared)], check=True, timeout=120)
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PIPX_", "VIRTUAL_ENV", "PYTHONPATH"))
        },
        "PIPX_HOME": str(home),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        "PIPX_SHARED_LIBS": str(shared),
        "PIPX_DEFAULT_PYTHON": sys.executable,
        # Offline: the dependencies come from this (locked) environment.
        "PIP_NO_INDEX": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--system-site-packages", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    installed = bin_dir / "publisher"
    assert installed.is_file(), result.stdout + result.stderr
    version = subprocess.run(
        [str(installed), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"publisher, version {__version__}"
    # It runs the wheel's copy, not the checkout's.
    where = subprocess.run(
        [
            str(installed.resolve().parent / "python"),
            "-c",
            "import publisher; print(publisher.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert str(home) in where.stdout, where.stdout + where.stderr


def test_a_wheel_installed_without_its_dependencies_names_the_one_missing(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """``pip install --no-deps``: ``publisher --version`` names the package it needs (click)
    and how to install it, exit 10, not a traceback; ``python -m publisher.resolve --matrix``
    names PyYAML, not the publisher package that is installed; ``publisher resolve`` keeps
    resolve's contract, answering as ``python -m publisher.resolve`` (never 10)."""
    wheel, _, _ = built
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PIP_NO_INDEX"] = "1"
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
        )

    version = run("-m", "publisher", "--version")
    assert version.returncode == 10, version.stderr
    assert version.stderr.startswith(
        "error: missing dependency: publisher needs the Python package click (module 'click'), "
        "which is not installed\n  tip: install it: `python3 -m pip install click`"
    ), version.stderr
    assert "Traceback" not in version.stderr
    matrix = str(ROOT / "matrix.yaml")
    resolved = run("-m", "publisher.resolve", "--matrix", matrix, "--php", "8.4")
    assert resolved.returncode == 2, resolved.stderr
    assert (
        f"error: --matrix {matrix} needs the Python package PyYAML (module 'yaml'), which is "
        "not installed\n  tip: install it: `python3 -m pip install PyYAML`"
    ) in resolved.stderr, resolved.stderr
    flags = ("--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false")
    for fmt in ("env", "json"):
        command = run("-m", "publisher", "resolve", *flags, "--format", fmt)
        alone = run("-m", "publisher.resolve", *flags, "--format", fmt)
        assert command.returncode == alone.returncode == 17, command.stderr  # no Dockerfile
        assert (command.stdout, command.stderr) == (alone.stdout, alone.stderr)
        assert command.stderr.startswith("resolve: decision=cannot-proceed "), command.stderr
