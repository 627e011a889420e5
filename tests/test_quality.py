"""Code quality gates run with the test suite: ruff (lint + format) and mypy."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SOURCES = [d for d in ("publisher", "tests", "examples", "bench") if (ROOT / d).is_dir()]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint():
    result = run(sys.executable, "-m", "ruff", "check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = run(sys.executable, "-m", "ruff", "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_on_the_package_and_the_benchmarks():
    """The benchmarks call the stages as the CLI does; a signature they no longer match
    is found here, not when someone next runs them."""
    result = run(sys.executable, "-m", "mypy", "publisher", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("matrix", ["matrix.yaml", "examples/offline/matrix.yaml"])
def test_committed_dockerfiles_are_current(matrix):
    result = run(sys.executable, "-m", "publisher", "render", "--check", "--config", matrix)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_tip_installs_the_unrelated_pypi_publisher():
    """`publisher` on PyPI is an unrelated project, and php-fpm-publisher is not published
    there: a tip or a doc names php-fpm-publisher from this repository, never
    `install publisher`."""
    said = re.compile(r"\b(?:re)?install\s+(?:-\S+\s+)*publisher\b", re.IGNORECASE)
    files = [*sorted((ROOT / "publisher").rglob("*.py")), *sorted(ROOT.glob("*.md"))]
    files += sorted((ROOT / "docs").rglob("*.md"))
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if said.search(line)
    ]
    assert not found, "\n".join(found)


def test_temporary_files_and_directories_come_from_fileio():
    """A temporary directory made with ``tempfile`` stays forever when its run is killed
    (SIGKILL); ``fileio.temp_dir`` names it after its process so that the next run removes
    it (CONTRIBUTING). Only ``core/fileio.py`` makes them with ``tempfile``."""
    makes = re.compile(
        r"\btempfile\.(?:TemporaryDirectory|mkdtemp|mkstemp|mktemp|NamedTemporaryFile"
        r"|TemporaryFile|SpooledTemporaryFile)\b"
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "publisher").rglob("*.py"))
        if path != ROOT / "publisher" / "core" / "fileio.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if makes.search(line)
    ]
    assert not found, "use fileio.temp_dir:\n" + "\n".join(found)
