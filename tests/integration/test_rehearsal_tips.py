"""The tips of a rehearsal (``--local``) name commands that rehearse: run as printed, they
act on throwaway loopback registries again, never on the configured (real) ones, and
keep the lines the run was narrowed to (``--only``).

Each run is a real stand-in rehearsal of a copy of ``examples/offline`` (buildah and
throwaway loopback registries), so that its notes stay in the copy.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.support.publishing import run_cli, without_run_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    """A checkout holding the offline example (its matrix names ../../dockerfiles)."""
    require_tool("buildah")
    shutil.copytree(ROOT / "examples" / "offline", tmp_path / "examples" / "offline")
    shutil.copytree(ROOT / "dockerfiles", tmp_path / "dockerfiles")
    return tmp_path


def publisher(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # one leg per line: enough for a tip
    return run_cli(*args, env=without_run_settings(PUBLISHER_PLATFORMS="linux/amd64"), cwd=where)


def test_a_rehearsed_republish_of_a_release_never_rehearsed_names_its_rehearsal(
    offline: Path,
) -> None:
    config = ("--config", "examples/offline/matrix.yaml")
    republish = ("republish", "v7.0.0", "--reason", "x", "--local", "--only", "8.4", *config)
    refused = publisher(offline, *republish, "--no-smoke")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "nothing to republish" in refused.stderr, refused.stderr
    tip = re.search(r"`(publisher release v7\.0\.0[^`]*)`", refused.stderr)
    assert tip is not None, refused.stderr
    named = shlex.split(tip.group(1))
    # a rehearsal of the same line, not a release to docker.io and ghcr.io
    assert "--local" in named, named
    assert named[named.index("--only") + 1] == "8.4", named
    assert named[named.index("--config") + 1] == config[1], named
    rehearsed = publisher(offline, *named[1:], "--no-smoke")
    assert rehearsed.returncode == 0, rehearsed.stdout + rehearsed.stderr
    assert "nothing was published" in rehearsed.stderr + rehearsed.stdout
    notes = offline / "examples" / "offline" / ".publisher" / "local" / "release-notes"
    assert (notes / "v7.0.0.json").is_file(), sorted(notes.iterdir())
    # the republish it was for now finds the rehearsal's record
    again = publisher(offline, *republish, "--no-smoke")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_rehearsed_republish_of_a_line_the_matrix_dropped_names_a_rehearsed_one(
    offline: Path,
) -> None:
    config = ("--config", "examples/offline/matrix.yaml")
    first = publisher(offline, "release", "v1.0.0", "--local", "--only", "8.3,8.4", *config)
    assert first.returncode == 0, first.stdout + first.stderr
    matrix = offline / config[1]
    text = matrix.read_text(encoding="utf-8")
    matrix.write_text(text.replace('  - php: "8.3"\n', ""), encoding="utf-8")
    refused = publisher(offline, "republish", "v1.0.0", "--reason", "x", "--local", *config)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    tip = re.search(r"`(publisher republish v1\.0\.0[^`]*)`", refused.stderr)
    assert tip is not None, refused.stderr
    named = shlex.split(tip.group(1).replace('"..."', '"openssl"'))
    assert "--local" in named and named[named.index("--only") + 1] == "8.4", named
    republished = publisher(offline, *named[1:], "--no-smoke")
    assert republished.returncode == 0, republished.stdout + republished.stderr
    assert "nothing was published" in republished.stderr + republished.stdout


def test_a_rehearsal_whose_build_fails_names_a_rehearsal_showing_its_whole_output(
    offline: Path,
) -> None:
    """A Dockerfile whose RUN step fails: exit 11. The build's command named the run's
    private copy of the Dockerfile and a stand-in base on a throwaway registry, both gone
    once the rehearsal ends: the tip says so and names the rehearsal again with --debug,
    which shows the build's output from its first step."""
    dockerfile = offline / "examples" / "offline" / "dockerfiles" / "8.4" / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    broken = text.replace("\nHEALTHCHECK ", "\nRUN echo a-broken-step && exit 7\nHEALTHCHECK ", 1)
    dockerfile.write_text(broken, encoding="utf-8")
    env = without_run_settings(PUBLISHER_PLATFORMS="linux/amd64", PUBLISHER_BUILDER="buildah")
    config = ("--config", "examples/offline/matrix.yaml")
    failed = run_cli("release", "v1.0.0", "--local", "--only", "8.4", *config, env=env, cwd=offline)
    assert failed.returncode == 11, failed.stdout + failed.stderr
    tip = failed.stderr.partition("\n  tip: ")[2]
    assert "a-broken-step" in failed.stderr.partition("\n  tip: ")[0]
    assert tip.startswith("the rehearsal's throwaway registries stop with it"), tip
    assert "rerun the command" not in tip and "publisher-build" not in tip, tip
    named = re.search(r"`(publisher release v1\.0\.0[^`]*)`", tip)
    assert named is not None, tip
    argv = shlex.split(named.group(1))
    assert "--local" in argv and "--debug" in argv, argv
    assert argv[argv.index("--only") + 1] == "8.4", argv
    again = run_cli(*argv[1:], env=env, cwd=offline)
    assert again.returncode == 11, again.stdout + again.stderr
    whole = again.stderr.partition("output of `buildah build")[2]
    assert "STEP 1/" in whole and "a-broken-step" in whole, again.stderr


def test_a_rehearsal_with_attestations_that_cannot_pull_the_sbom_scanner_says_so(
    offline: Path,
) -> None:
    """--attestations has BuildKit run its SBOM scanner, an image it pulls from Docker Hub:
    a machine that cannot reach it (this one, offline) fails the build, and the tip says
    that the scanner could not be pulled, not to change matrix.yaml or the template."""
    require_tool("docker")
    if subprocess.run(["docker", "buildx", "inspect"], capture_output=True).returncode != 0:
        pytest.skip("needs a working docker buildx")
    env = without_run_settings(PUBLISHER_PLATFORMS="linux/amd64", PUBLISHER_BUILDER="buildx")
    config = ("--config", "examples/offline/matrix.yaml")
    run = ("release", "v1.0.0", "--local", "--only", "8.4", "--no-smoke", *config)
    failed = run_cli(*run, "--attestations", env=env, cwd=offline)
    if failed.returncode == 0:
        pytest.skip("needs a machine that cannot pull from Docker Hub")
    assert failed.returncode == 11, failed.stdout + failed.stderr
    said, _, tip = failed.stderr.partition("\n  tip: ")
    assert "docker/buildkit-syft-scanner" in said, failed.stderr
    tip = " ".join(tip.split())
    assert tip.startswith(
        "BuildKit could not pull docker.io/docker/buildkit-syft-scanner:stable-1, the SBOM "
        "scanner --attestations has it run"
    ), tip
    assert "leave --attestations out" in tip and "matrix.yaml" not in tip, tip
