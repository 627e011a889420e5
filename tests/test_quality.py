"""Code quality gates run with the test suite: ruff (lint + format) and mypy."""

from __future__ import annotations

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
