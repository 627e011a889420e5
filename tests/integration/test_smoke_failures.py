"""Images that fail their smoke test, for real: an offline rehearsal on stand-in bases
whose Dockerfile template breaks some lines (a configured extension no longer loads),
built with buildah and smoke-tested in the images themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Appended to the template: the lines named lose their redis module.
BREAK_REDIS = (
    '{% if php in ("8.3", "8.4") %}\n'
    'RUN sed -i "/redis/d" /usr/local/lib/php-standin/enabled\n'
    "{% endif %}\n"
)


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_every_image_that_fails_is_named_with_its_php_line(tmp_path: Path) -> None:
    """Two lines fail: one run names both, each with its line, image and platform, so a
    fix of each can be tried by one rerun; the tip is one a rehearsal can follow."""
    require_tool("buildah")
    template = tmp_path / "Dockerfile.j2"
    template.write_text((ROOT / "dockerfiles/Dockerfile.j2").read_text() + BREAK_REDIS)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        (ROOT / "examples/offline/matrix.yaml")
        .read_text()
        .replace("template: ../../dockerfiles/Dockerfile.j2", "template: Dockerfile.j2")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISHER_", "DOCKER_"))}
    env["PUBLISHER_CACHE_DIR"] = os.environ.get("PUBLISHER_CACHE_DIR") or str(
        Path.home() / ".cache" / "publisher"
    )
    env |= {"PUBLISHER_LINES": "8.3,8.4", "PUBLISHER_PLATFORMS": "linux/amd64"}
    rendered = run("render", "--config", str(matrix), cwd=tmp_path, env=env)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr

    result = run(
        *("release", "v1.0.0", "--local", "--config", str(matrix), "--builder", "buildah"),
        cwd=tmp_path,
        env=env,
    )

    assert result.returncode == 13, result.stdout + result.stderr
    assert "error: smoke test failed: 2 of 2 platform images failed:" in result.stderr
    for php in ("8.3", "8.4"):
        said = [line for line in result.stderr.splitlines() if line.startswith(f"  - PHP {php}: ")]
        assert len(said) == 1, result.stderr
        assert "(linux/amd64): `php -m` does not list redis" in said[0], result.stderr
    # the throwaway registries are gone: the tip does not send anyone to pull from them
    assert "try it yourself" not in result.stderr
    assert "  tip: the rehearsal's throwaway registries stop with it" in result.stderr
    assert "run `publisher render`, and rehearse again" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".publisher" / "local" / "release-notes" / "v1.0.0.json").exists()
