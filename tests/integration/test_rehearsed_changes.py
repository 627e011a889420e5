"""What a rehearsal says of the images a changed Dockerfile template gives, for real: an
offline rehearsal on stand-in bases, built with buildah and smoke-tested in the images
themselves, from a copy of the offline matrix whose template has steps appended."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from publisher.adapters.builders.buildah import building_from
from publisher.core.reference import Reference
from tests.conftest import ROOT, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Appended to the template: the lines named lose their redis module.
BREAK_REDIS = (
    '{% if php in ("8.3", "8.4") %}\n'
    'RUN sed -i "/redis/d" /usr/local/lib/php-standin/enabled\n'
    "{% endif %}\n"
)
#: Appended to the template: 300 kB that do not compress, on a 1.1 MB stand-in image.
GROW = "RUN head -c 300000 /dev/urandom > /grown\n"


class Rehearsal:
    """A copy of the offline matrix in ``root``, whose template each ``rehearse`` writes."""

    def __init__(self, root: Path, lines: str) -> None:
        self.root = root
        self.matrix = root / "matrix.yaml"
        self.matrix.write_text(
            (ROOT / "examples/offline/matrix.yaml")
            .read_text()
            .replace("template: ../../dockerfiles/Dockerfile.j2", "template: Dockerfile.j2")
        )
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PUBLISHER_", "DOCKER_"))
        }
        self.env["PUBLISHER_CACHE_DIR"] = os.environ.get("PUBLISHER_CACHE_DIR") or str(
            Path.home() / ".cache" / "publisher"
        )
        self.env |= {"PUBLISHER_LINES": lines, "PUBLISHER_PLATFORMS": "linux/amd64"}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "publisher", *args, "--config", str(self.matrix)],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )

    def rehearse(self, release: str, tail: str = "") -> subprocess.CompletedProcess[str]:
        template = (ROOT / "dockerfiles/Dockerfile.j2").read_text() + tail
        (self.root / "Dockerfile.j2").write_text(template)
        rendered = self.run("render")
        assert rendered.returncode == 0, rendered.stdout + rendered.stderr
        return self.run("release", release, "--local", "--builder", "buildah")


def test_every_image_that_fails_is_named_with_its_php_line(tmp_path: Path) -> None:
    """Two lines fail: one run names both, each with its line, image and platform, so a
    fix of each can be tried by one rerun; the tip is one a rehearsal can follow."""
    require_tool("buildah")

    result = Rehearsal(tmp_path, "8.3,8.4").rehearse("v1.0.0", BREAK_REDIS)

    assert result.returncode == 13, result.stdout + result.stderr
    assert "error: smoke test failed: 2 of 2 platform images failed:" in result.stderr
    for php in ("8.3", "8.4"):
        said = [line for line in result.stderr.splitlines() if line.startswith(f"  - PHP {php}: ")]
        assert len(said) == 1, result.stderr
        assert "(linux/amd64): `php -m` does not list redis" in said[0], result.stderr
    # the throwaway registries are gone: the tip does not send anyone to pull from them
    assert "try it yourself" not in result.stderr
    assert "  tip: the rehearsal's throwaway registries stop with it" in result.stderr
    # the Dockerfiles of the matrix rehearsed, named as the run was given it: here
    # ./matrix.yaml (by its whole path), left out as of every command a tip names
    assert "run `publisher render`, and rehearse again" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".publisher" / "local" / "release-notes" / "v1.0.0.json").exists()


def test_a_foreign_image_whose_php_ran_gets_no_qemu_advice(tmp_path: Path) -> None:
    """Both platform images lack the module, the foreign one run under QEMU: its php ran,
    so emulation works and the tip does not send anyone to install it."""
    require_tool("buildah")
    rehearsal = Rehearsal(tmp_path, "8.4")
    rehearsal.env["PUBLISHER_PLATFORMS"] = "linux/amd64,linux/arm64"

    result = rehearsal.rehearse("v1.0.0", BREAK_REDIS)

    assert result.returncode == 13, result.stdout + result.stderr
    for platform in ("linux/amd64", "linux/arm64"):
        assert f"({platform}): `php -m` does not list redis" in result.stderr
    [tip] = [line for line in result.stderr.splitlines() if line.startswith("  tip: ")]
    assert tip.startswith("  tip: the rehearsal's throwaway registries stop with it"), tip
    assert "QEMU" not in result.stderr and "emulation" not in result.stderr


def test_an_image_grown_past_the_regression_threshold_is_said_by_the_run(
    tmp_path: Path,
) -> None:
    """The notes flag a platform image that grew more than size_regression_percent since
    the previous stable release, and the run says so too, in bytes and percent."""
    require_tool("buildah")
    rehearsal = Rehearsal(tmp_path, "8.4")
    first = rehearsal.rehearse("v1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "size_regression_percent" not in first.stderr

    grown = rehearsal.rehearse("v1.1.0", GROW)

    assert grown.returncode == 0, grown.stdout + grown.stderr
    said = [line for line in grown.stderr.splitlines() if "size_regression_percent" in line]
    assert len(said) == 1, grown.stderr
    assert said[0].startswith("warning: PHP 8.4 linux/amd64: "), said
    assert "since v1.0.0: over the 10% size_regression_percent of matrix.yaml" in said[0]
    notes = (tmp_path / ".publisher/local/release-notes/v1.1.0.md").read_text()
    assert "over the 10% threshold" in notes


def test_a_rehearsed_backport_says_the_real_one_moves_no_floating_tag(tmp_path: Path) -> None:
    """v1.0.1 rehearsed after v1.1.0: its registries start empty, so it moves `latest` and
    `php-8.4`, which the real backport would not; the run and its notes say so."""
    require_tool("buildah")
    rehearsal = Rehearsal(tmp_path, "8.4")
    newer = rehearsal.rehearse("v1.1.0")
    assert newer.returncode == 0, newer.stdout + newer.stderr
    assert "higher stable release" not in newer.stderr

    backport = rehearsal.rehearse("v1.0.1")

    assert backport.returncode == 0, backport.stdout + backport.stderr
    notes_dir = tmp_path / ".publisher/local/release-notes"
    said = [line for line in backport.stderr.splitlines() if "higher stable release" in line]
    assert said == [
        f"notice: rehearsal: {notes_dir} records v1.1.0, a higher stable release: a real "
        "v1.0.1 after it writes only its own pins and `v1.0.1`, moving neither `latest` nor "
        "the `php-X.Y` tag of a line v1.1.0 has; this rehearsal's registries start empty, "
        "so it moves them to v1.0.1"
    ], backport.stderr
    notes = (notes_dir / "v1.0.1.md").read_text().splitlines()
    banner = notes.index(next(line for line in notes if line.startswith("> **STAND-IN")))
    assert notes[banner + 2].startswith("> Backport: the notes directory records v1.1.0"), notes
    # the newer release rehearsed again says nothing of the backport below it
    again = rehearsal.rehearse("v1.1.0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "higher stable release" not in again.stderr
    assert "Backport" not in (notes_dir / "v1.1.0.md").read_text()


def _throwaway_hosts(result: subprocess.CompletedProcess[str]) -> set[str]:
    said = result.stdout + result.stderr
    hosts = set(re.findall(r"rehearsal: .* (?:is played|are served) by http://(\S+)", said))
    assert len(hosts) == 3, said  # the two registries and the stand-in bases'
    return hosts


def test_a_buildah_rehearsal_leaves_no_name_of_its_registries_in_buildahs_store(
    tmp_path: Path,
) -> None:
    """buildah names the stand-in base it pulls after the rehearsal's throwaway registry
    (``127.0.0.1:PORT/stand-in/php@sha256:...``): gone with the rehearsal, as the
    registry is. So is the base of the other platform, which that name left (buildah
    1.28 gives a name to one image only: the last platform pulled by that digest takes it,
    the first one's is left nameless). Not while another run builds from that repository:
    buildah finds a base by digest under any registry's name, so that run may be using
    this very image. A nameless one the store held before the run is not the run's, and
    stays. An image store and a cache of the test's own: the base is pulled, not found
    there from another run, and no other run building holds its repository."""
    require_tool("buildah")
    storage = tmp_path / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "graph"}"\n'
        f'runroot = "{tmp_path / "run"}"\n'
    )
    rehearsal = Rehearsal(tmp_path, "8.4")
    rehearsal.env |= {
        "CONTAINERS_STORAGE_CONF": str(storage),
        "PUBLISHER_CACHE_DIR": str(tmp_path / "cache"),
    }

    def names() -> list[str]:
        listed = subprocess.run(
            ["buildah", "images", "--json"],
            env=rehearsal.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return [n for image in json.loads(listed.stdout or "[]") for n in image.get("names") or []]

    def nameless() -> list[str]:  # the store is the test's own: every one is the run's
        listed = subprocess.run(
            ["buildah", "images", "--all", "--json", "--no-trunc"],
            env=rehearsal.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return [i["id"] for i in json.loads(listed.stdout or "[]") if not i.get("names")]

    rehearsal.env["PUBLISHER_PLATFORMS"] = "linux/amd64,linux/arm64"
    result = rehearsal.rehearse("v1.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = _throwaway_hosts(result)
    assert [n for n in names() if n.partition("/")[0] in hosts] == []
    assert nameless() == [], result.stderr

    another_run = Reference("127.0.0.1:1", "stand-in/php", None, "sha256:" + "0" * 64)
    with building_from(rehearsal.env, another_run):
        result = rehearsal.rehearse("v1.0.1")
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = _throwaway_hosts(result)
    kept = [n for n in names() if n.partition("/")[0] in hosts]
    assert [n.partition("@")[0].partition("/")[2] for n in kept] == ["stand-in/php"], kept
    kept_base = nameless()
    assert len(kept_base) == 1, result.stderr  # the other platform's, kept with it
    # one the store held before a run is never that run's, though the same base
    result = rehearsal.rehearse("v1.0.2")
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = _throwaway_hosts(result)
    assert [n for n in names() if n.partition("/")[0] in hosts] == []
    assert nameless() == kept_base, result.stderr
