"""A release whose pin writes stopped half-way, on a single registry.

Real loopback registry; releases are published by ``publisher publish`` (see
test_record_scope.World). A fault-injecting proxy refuses one pin write, so the run
stops with some of its pins written and others not. Then:

* no other run (``audit --repair``, a backport, a later release's dry run) takes the
  half-written release for a finished one: ``latest`` and ``php-X.Y`` stay on the last
  finished release;
* ``verify`` and ``audit`` name the unfinished release;
* a rerun finishes it, and only then do the floating tags move to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_record_scope import World, make_world
from tests.support.faultproxy import Fault
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration


def test_a_release_stopped_half_way_through_its_pins_moves_no_floating_tag_until_rerun(
    tmp_path: Path, fresh_registry: Callable[..., Any], proxy_for: Any, write_matrix: Any
) -> None:
    hub = fresh_registry()
    front = proxy_for(hub.host)
    world: World = make_world(tmp_path, write_matrix, hub=front.host)
    lines = ("8.3", "8.4")
    matrix = world.matrix("matrix.yaml", lines=lines, platforms=("linux/amd64",))
    v1 = world.publish("v1.0.0", matrix, lines, ("linux/amd64",))
    before = tag_map(hub.host, world.repo)
    assert before["latest"] == v1["8.4"] and before["php-8.3"] == v1["8.3"]

    # v2.0.0: the registry refuses one of its pins; the others get written.
    front.add(Fault("status", method="PUT", path=r"/manifests/v2\.0\.0-php-8\.3$", status=400))
    with pytest.raises(AssertionError):
        world.publish("v2.0.0", matrix, lines, ("linux/amd64",))
    half = tag_map(hub.host, world.repo)
    assert "v2.0.0-php-8.3" not in half
    assert {t: d for t, d in half.items() if not t.startswith("v2.")} == before

    checked = world.run("verify", "v2.0.0", matrix=matrix)
    assert checked.returncode == 12, checked.stdout + checked.stderr
    assert "tag 'v2.0.0-php-8.3' is missing on hub" in checked.stderr, checked.stderr
    # Nothing that recomputes floating tags takes v2.0.0 for finished.
    audit = world.run("audit", "--json", matrix=matrix)
    assert audit.returncode != 0, audit.stdout + audit.stderr
    findings = json.loads(audit.stdout)["findings"]
    assert [(f["kind"], f["release"]) for f in findings] == [("unrecorded", "v2.0.0")]
    repaired = world.run("audit", "--repair", matrix=matrix)
    assert tag_map(hub.host, world.repo) == half, repaired.stdout + repaired.stderr
    backport = world.publish("v1.0.1", matrix, lines, ("linux/amd64",))
    after = tag_map(hub.host, world.repo)
    assert after["latest"] == backport["8.4"], "latest follows the highest finished release"
    assert after["php-8.3"] == backport["8.3"] and after["php-8.4"] == backport["8.4"]

    # The rerun (the same build legs' images) finishes v2.0.0; then the floating tags
    # follow it.
    digests = str(world.root / "digests-v2.0.0")
    rerun = world.run("publish", "v2.0.0", "--digests", digests, "--no-smoke", matrix=matrix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    v2 = {
        line["php"]: line["index_digest"]
        for line in json.loads((world.notes / "v2.0.0.json").read_text())["lines"]
    }
    done = tag_map(hub.host, world.repo)
    assert done["v2.0.0-php-8.3"] == v2["8.3"] and done["v2.0.0"] == v2["8.4"]
    assert done["latest"] == v2["8.4"] and done["php-8.3"] == v2["8.3"]
