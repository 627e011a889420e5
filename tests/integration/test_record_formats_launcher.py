"""The stack's launcher (examples/stack/start.sh, in the shell, with its own parser) and
resolve, run as a script, read the pins files earlier runs wrote
(``tests/fixtures/records-v1``) and pull the digest each one pins.

The stand-in rehearsal's registries are gone, so the pull cannot succeed: what counts
is that the pins file is read (no ``error=pins-file``) and the reference pulled is the one
it pins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from publisher import resolve
from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "tests" / "fixtures" / "records-v1"
START = ROOT / "examples" / "stack" / "start.sh"
RESOLVE = ROOT / "publisher" / "resolve.py"

CASES = {
    "republished": ("release-notes/v1.0.0.env", None),
    "first-run": ("before-republish/v1.0.0.env", None),
    "before-extensions": ("older/before-extensions/v1.0.0.env", None),
    "unpinned-default-line": ("older/unpinned-default-line/v1.0.0.env", "8.5"),
    # keys a newer publisher added are passed over
    "newer-publisher": ("../records-v1-newer/release-notes/v1.0.0.env", None),
}


def _fields(stderr: str, prefix: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stderr.splitlines():
        if line.startswith(f"{prefix}: decision="):
            fields = dict(part.split("=", 1) for part in line[len(prefix) + 2 :].split())
    return fields


@pytest.mark.parametrize("case", list(CASES))
def test_the_launcher_and_resolve_read_each_pins_file_written(case: str, tmp_path: Path) -> None:
    docker = "/usr/bin/docker" if Path("/usr/bin/docker").is_file() else require_tool("docker")
    relative, php = CASES[case]
    path = FIXTURES / relative
    pinned = resolve.parse_pins(path.read_text(encoding="utf-8"), source=str(path))
    line = pinned.line(php or pinned.default_line or "")
    assert line is not None
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DOCKER": docker,
        "PHP_PINS_FILE": str(path),
        "PHP_DOCKERFILES": str(tmp_path / "no-dockerfiles"),
        "STACK_REGISTRY_TIMEOUT": "2",
        **({"PHP_VERSION": php} if php else {}),
    }
    shell = shutil.which("dash") or "sh"
    launcher = subprocess.run(
        [shell, str(START)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    fields = _fields(launcher.stderr, "start")
    assert fields.get("decision") not in (None, "none"), launcher.stderr
    assert f"pulling {line.image}" in launcher.stderr, launcher.stderr

    script = subprocess.run(
        [sys.executable, str(RESOLVE), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    decided = json.loads(script.stdout)
    assert decided["decision"] == fields["decision"], script.stdout
    assert decided["prebuilt"] == str(line.image), script.stdout
    assert decided["published_lines"] == [pinned_line.php for pinned_line in pinned.lines]
    assert decided["stand_in"] is True
