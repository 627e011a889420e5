"""``verify`` of a release never published reads nothing of the other releases.

Real loopback registries; an earlier release is published by ``publisher publish``.
"""

from __future__ import annotations

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


def test_verify_of_a_release_never_published_reads_no_other_release(world: World) -> None:
    """v9.9.9 has no pin anywhere: the floating tags carry v1.0.0, which is not judged,
    so its images are not read either; the one defect says v9.9.9 has no pins."""
    today = world.matrix("matrix.yaml", lines=("8.3", "8.4"))
    indexes = world.publish("v1.0.0", today, ("8.3", "8.4"))
    result = world.run("verify", "v9.9.9", matrix=today)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    assert "nothing of v9.9.9 is published: not one of its pins" in out
    assert "checking" not in out, out
    for digest in indexes.values():
        assert digest not in out
    # a published release still has its floating tags' images read
    again = world.run("verify", "v1.0.0", matrix=today)
    assert again.returncode == 0, again.stdout + again.stderr
