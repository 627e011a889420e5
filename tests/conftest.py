"""Shared test configuration.

Unit tests (tests/unit) are pure: an autouse guard makes any subprocess or
network call fail. Integration tests (tests/integration) use real tools; when a
tool is missing they skip and say which, except under
PUBLISHER_REQUIRE_ALL_TOOLS=1 (set by .ci/run), where a missing tool fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import real_php_bases

ROOT = Path(__file__).resolve().parent.parent

# The smoke tests' stay-up window (README, "Builders and smoke tests") is 1 s in the
# suite, whose hundreds of smoke tests through the CLI would each wait 5 s for it;
# ``SmokeTester`` keeps its default of 5 s whatever the environment, and the tests of the
# window set their own. ``PUBLISHER_SMOKE_STAY_UP=5`` runs the suite at the default.
os.environ.setdefault("PUBLISHER_SMOKE_STAY_UP", "1")

# No property test is timed: Hypothesis's default 200 ms deadline per example fails a
# test on a loaded machine (CI shares its cores) for no fault of the code. A test's own
# @settings inherits this profile and keeps its example count.
settings.register_profile("publisher", deadline=None)
settings.load_profile("publisher")


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run that will run test_real_php starts making its real-PHP bases now, in the
    background, while the tests before it run (``tests/support/real_php_bases.py``)."""
    if session.config.option.collectonly:
        return
    if any(item.path.name == "test_real_php.py" for item in session.items):
        real_php_bases.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    real_php_bases.stop()  # one still running: the run was stopped before test_real_php


def require_tool(*names: str) -> str:
    """Return the first of ``names`` on PATH, or skip (fail in CI) naming them."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"needs {' or '.join(names)} on PATH"
    if os.environ.get("PUBLISHER_REQUIRE_ALL_TOOLS") == "1":
        pytest.fail(message + " (CI installs it; .ci/run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def python_tempdir_kept() -> Iterator[None]:
    """``check_tmpdir`` points Python's temporary files at the TMPDIR it checked
    (``tempfile.tempdir``), as the CLI does for one command: a test calling it directly
    leaves the next test Python's own choice again."""
    kept = tempfile.tempdir
    yield
    tempfile.tempdir = kept


@pytest.fixture
def repo_root() -> Path:
    return ROOT
