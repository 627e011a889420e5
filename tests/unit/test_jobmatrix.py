"""The GitHub job matrix: one leg per (PHP line, platform), native runners or QEMU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.core import config, jobmatrix
from publisher.core.errors import ConfigError
from publisher.core.plan import plan
from tests.support.matrices import acme_matrix

MATRIX = acme_matrix(lines=("8.3", "8.4", "8.5"), line_platforms={"8.5": ["linux/amd64"]})


@pytest.fixture
def release_plan():
    return plan(config.loads(MATRIX), "v2.0.0", {})


def test_native_runners_per_platform(release_plan) -> None:
    matrix = jobmatrix.github_matrix(release_plan)
    assert matrix == {
        "include": [
            {
                "php": "8.3",
                "platform": "linux/amd64",
                "runner": "ubuntu-24.04",
                "slug": "8.3-linux-amd64",
            },
            {
                "php": "8.3",
                "platform": "linux/arm64",
                "runner": "ubuntu-24.04-arm",
                "slug": "8.3-linux-arm64",
            },
            {
                "php": "8.4",
                "platform": "linux/amd64",
                "runner": "ubuntu-24.04",
                "slug": "8.4-linux-amd64",
            },
            {
                "php": "8.4",
                "platform": "linux/arm64",
                "runner": "ubuntu-24.04-arm",
                "slug": "8.4-linux-arm64",
            },
            {
                "php": "8.5",
                "platform": "linux/amd64",
                "runner": "ubuntu-24.04",
                "slug": "8.5-linux-amd64",
            },
        ]
    }
    assert not any(leg.emulated for leg in jobmatrix.legs(release_plan))


def test_qemu_puts_every_leg_on_one_runner_type(release_plan) -> None:
    legs = jobmatrix.legs(release_plan, qemu=True)
    assert {leg.runner for leg in legs} == {"ubuntu-24.04"}
    assert [leg.slug for leg in legs if leg.emulated] == ["8.3-linux-arm64", "8.4-linux-arm64"]
    # The same legs either way: only the runner differs.
    assert [leg.slug for leg in legs] == [leg.slug for leg in jobmatrix.legs(release_plan)]


def test_slugs_are_unique_and_file_name_safe(release_plan) -> None:
    slugs = [leg.slug for leg in jobmatrix.legs(release_plan)]
    assert len(set(slugs)) == len(slugs)
    assert all("/" not in s and " " not in s for s in slugs)


def test_only_selected_lines(release_plan) -> None:
    cfg = config.loads(MATRIX).select(("8.4",))
    matrix = jobmatrix.github_matrix(plan(cfg, "v2.0.0", {}))
    assert [e["slug"] for e in matrix["include"]] == ["8.4-linux-amd64", "8.4-linux-arm64"]


def test_json_is_one_compact_line_that_round_trips(release_plan) -> None:
    matrix = jobmatrix.github_matrix(release_plan)
    text = jobmatrix.to_json(matrix)
    assert "\n" not in text and " " not in text
    assert json.loads(text) == matrix
    assert jobmatrix.to_json(matrix) == jobmatrix.to_json(jobmatrix.github_matrix(release_plan))


def test_empty_plan_is_a_config_error(release_plan) -> None:
    with pytest.raises(ConfigError, match="no build legs"):
        jobmatrix.legs(replace(release_plan, lines=()))


def test_too_many_legs_is_a_config_error(release_plan) -> None:
    line = release_plan.lines[0]
    many = tuple(replace(line, php=f"9.{i}") for i in range(jobmatrix.MAX_JOBS // 2 + 1))
    with pytest.raises(ConfigError, match="at most 256"):
        jobmatrix.legs(replace(release_plan, lines=many))


def test_repository_matrix_fans_out_all_lines(repo_root: Path) -> None:
    cfg = config.load(repo_root / "matrix.yaml", {})
    legs = jobmatrix.legs(plan(cfg, "v1.0.0", {}))
    assert len(legs) == len(cfg.lines) * 2
    assert {leg.runner for leg in legs} == {"ubuntu-24.04", "ubuntu-24.04-arm"}
