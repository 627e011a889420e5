"""``matrix`` refuses the selections ``release`` and ``publish`` refuse, before any leg.

In GitHub Actions the matrix job feeds the build legs: a selection ``publish`` would
refuse must stop there, not after every leg built for minutes. Real loopback
registries; the words and exit codes are ``release``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_record_scope import World, make_world

pytestmark = pytest.mark.integration


@pytest.fixture
def world(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Callable[..., Path]
) -> World:
    return make_world(tmp_path, write_matrix, hub=registry.host, ghcr=second_registry.host)


def test_matrix_refuses_a_new_release_without_its_default_line(world: World) -> None:
    today = world.matrix("matrix.yaml")  # default line 8.4
    legs = world.run("matrix", "v2.0.0", "--github", "--only", "8.3", matrix=today)
    assert legs.returncode == 2, legs.stdout + legs.stderr
    assert legs.stdout == ""  # no legs for the workflow
    assert "v2.0.0 would be published without PHP 8.4, its default line" in legs.stderr
    assert "nothing was built or pushed" in legs.stderr
    assert "include it (`--only 8.3,8.4`) or leave --only out" in legs.stderr
    # with the default line, the legs are listed
    kept = world.run("matrix", "v2.0.0", "--github", "--only", "8.3,8.4", matrix=today)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert len(json.loads(kept.stdout)["include"]) == 4


def test_matrix_refuses_the_environment_leaving_out_the_default_line(world: World) -> None:
    world.env["PUBLISHER_PLATFORMS"] = "linux/arm64"
    today = world.write_matrix(
        world.root,
        [(n, f"{host}/{world.repo}", n == "hub") for n, host in world.hosts.items()],
        lines=("8.3", "8.4"),
        line_overrides={"8.4": {"platforms": ["linux/amd64"]}},
    )
    legs = world.run("matrix", "v2.0.0", "--github", matrix=today)
    assert legs.returncode == 3, legs.stdout + legs.stderr
    assert legs.stdout == ""
    assert "v2.0.0 would be published without PHP 8.4, its default line" in legs.stderr
    assert "change or unset PUBLISHER_PLATFORMS so that it keeps PHP 8.4" in legs.stderr


def test_matrix_refuses_leaving_out_a_line_an_earlier_run_pinned(world: World) -> None:
    published = world.matrix("published.yaml", lines=("8.3", "8.4"))
    indexes = world.publish("v1.0.0", published, ("8.3", "8.4"))
    # an earlier run of v2.0.0 wrote PHP 8.3's pin, then stopped
    world.put_tag("hub", indexes["8.3"], "v2.0.0-php-8.3")
    legs = world.run("matrix", "v2.0.0", "--github", "--only", "8.4", matrix=published)
    assert legs.returncode == 2, legs.stdout + legs.stderr
    assert legs.stdout == ""
    assert "v2.0.0 was started with PHP 8.3 (v2.0.0-php-8.3 on hub)" in legs.stderr
    # A published release without its record (notes not merged yet) may be republished
    # line by line: its legs are listed, and `publish` tells a republish from a release.
    (world.notes / "v1.0.0.json").unlink()
    again = world.run("matrix", "v1.0.0", "--github", "--only", "8.3", matrix=published)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [leg["php"] for leg in json.loads(again.stdout)["include"]] == ["8.3", "8.3"]
