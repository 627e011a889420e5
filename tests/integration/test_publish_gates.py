"""Gates of the publish stage between its plan and its tags, on real loopback registries.

Releases are published by ``publisher publish`` from platform images seeded on the
primary with their digest records (``test_record_scope``'s world), so each run is the
real stage, fast:

* a rerun of a published release writes no tag: every pin is already in place;
* a rerun of some lines (``--only``) onto a registry added to the matrix later, which
  would leave that registry with only some of the release's pins, is refused before any
  tag is written, naming what it would lack;
* a run whose floating tags the registries' pins call apart once it has moved them (a
  concurrent run wrote another release's tags on one registry) is not verified;
* a rerun of a release whose pins file is missing (an older publisher wrote none) writes
  it and says so, keeping the other notes files.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_record_scope import make_world
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.pipeline import kill_group, wait_for
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration

LINES = ("8.3", "8.4")
AMD64 = ("linux/amd64",)


def test_a_rerun_of_a_published_release_writes_no_tag(
    tmp_path: Path,
    proxy: FaultProxy,
    second_registry: Any,
    write_matrix: Callable[..., Path],
) -> None:
    """Every pin and floating tag of v1.0.0 is in place: its rerun reads the registries
    and writes no manifest to either (a tag rewritten with the same content is still a
    write, which an immutable-tags registry refuses)."""
    world = make_world(tmp_path, write_matrix, hub=proxy.host, ghcr=second_registry.host)
    matrix = world.matrix("matrix.yaml", lines=LINES, platforms=AMD64)
    world.publish("v1.0.0", matrix, LINES, AMD64)
    before = tag_map(second_registry.host, world.repo)
    proxy.reset_counts()
    digests = str(world.root / "digests-v1.0.0")
    again = world.run("publish", "v1.0.0", "--digests", digests, "--no-smoke", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert proxy.count("PUT", "manifest") == 0, [s.path for s in proxy.log if s.method == "PUT"]
    assert tag_map(second_registry.host, world.repo) == before


def test_a_rerun_writes_a_missing_pins_file_and_says_which_files_it_kept(
    tmp_path: Path, registry: Any, write_matrix: Callable[..., Path]
) -> None:
    """v1.0.0 was published by a publisher that wrote no pins file (v1.0.0.env): its
    rerun writes it, as it would have been, keeps v1.0.0.md and v1.0.0.json as they
    are, and says which it kept and which it wrote, not that it kept all three."""
    world = make_world(tmp_path, write_matrix, hub=registry.host)
    matrix = world.matrix("matrix.yaml", lines=LINES, platforms=AMD64)
    world.publish("v1.0.0", matrix, LINES, AMD64)
    env = world.notes / "v1.0.0.env"
    pins = env.read_bytes()
    env.unlink()
    kept = {p.name: p.read_bytes() for p in world.notes.iterdir() if p != env}
    digests = str(world.root / "digests-v1.0.0")
    again = world.run("publish", "v1.0.0", "--digests", digests, "--no-smoke", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert env.read_bytes() == pins
    assert {p.name: p.read_bytes() for p in world.notes.iterdir() if p != env} == kept
    said = " ".join(again.stdout.split())
    assert (
        f"kept {world.notes}/v1.0.0.md and {world.notes}/v1.0.0.json (every fact as "
        "recorded); wrote "
        "the pins file v1.0.0.env, missing until now"
    ) in said, again.stdout
    assert "every fact is as recorded" not in said, again.stdout


def test_a_rerun_of_some_lines_onto_a_registry_added_later_is_refused(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    write_matrix: Callable[..., Path],
) -> None:
    """v1.0.0 (PHP 8.3 and 8.4) went to hub alone; ghcr is then added to matrix.yaml. A
    rerun of v1.0.0 with ``--only 8.4`` would write v1.0.0-php-8.4 and v1.0.0 to ghcr, but
    not v1.0.0-php-8.3: a release ghcr holds only in part counts nowhere there. It is
    refused before any tag is written, naming the pin ghcr would lack and the
    ``audit --repair`` that fills it."""
    ghcr = fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=ghcr.host)
    first = write_matrix(
        world.root,
        [("hub", f"{registry.host}/{world.repo}", True)],
        name="first.yaml",
        lines=LINES,
        platforms=AMD64,
    )
    world.publish("v1.0.0", first, LINES, AMD64)
    matrix = world.matrix("matrix.yaml", lines=LINES, platforms=AMD64)
    hub = tag_map(registry.host, world.repo)
    digests = str(world.root / "digests-v1.0.0")
    refused = world.run(
        "publish", "v1.0.0", "--digests", digests, "--no-smoke", "--only", "8.4", matrix=matrix
    )
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 12, refused.stdout + refused.stderr
    assert (
        "after this run the registries would hold different pins of v1.0.0: "
        "ghcr would lack v1.0.0-php-8.3"
    ) in said, said
    assert "no tag was written" in said and "publisher audit --repair" in said, said
    assert tag_map(ghcr.host, world.repo) == {}
    assert tag_map(registry.host, world.repo) == hub


def test_floating_tags_the_registries_pins_call_apart_once_moved_are_not_verified(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> None:
    """v1.1.0's run has moved latest and php-X.Y on hub and ghcr and is checking them when
    a run of v1.2.0 from a matrix.yaml naming hub alone publishes there (pins and floating
    tags). Each registry's floating tags are where its own pins say, but hub's pins call
    for v1.2.0 and ghcr's for v1.1.0: v1.1.0's run is not verified (exit 12), saying the
    registries' pins call for different floating tags, and writes no record. It names
    v1.2.0's pins as missing from ghcr (that release did not finish there: its release
    rerun, or `audit --repair`, finishes it), not as rewritten half-way by a republish,
    nor v1.1.0's, alike on both; and says it moved the floating tags before the check.
    The repair it names, then a rerun, finish v1.1.0."""
    ghcr = fresh_registry()
    fronts = [proxy_for(registry.host), proxy_for(ghcr.host)]
    world = make_world(tmp_path, write_matrix, hub=fronts[0].host, ghcr=fronts[1].host)
    matrix = world.matrix("matrix.yaml", lines=LINES, platforms=AMD64)
    world.publish("v1.0.0", matrix, LINES, AMD64)
    hub_alone = write_matrix(
        world.root,
        [("hub", f"{registry.host}/{world.repo}", True)],  # not through the proxy
        name="hub.yaml",
        lines=LINES,
        platforms=AMD64,
    )
    # Each registry's tags are listed as the run plans, and as it reads where the
    # floating tags go before and after moving them; the fourth list is its check of them.
    for front in fronts:
        front.add(Fault("stall", method="GET", path=r"/tags/list\?n=1000$", skip=3))
    digests = world.seed("v1.1.0", LINES, AMD64)
    publish = ["publish", "v1.1.0", "--digests", str(digests), "--no-smoke"]
    run = subprocess.Popen(
        [sys.executable, "-m", "publisher", *publish, "--config", str(matrix)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=world.env,
        cwd=world.root,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: all(f.faults[0].fired for f in fronts), timeout=120)
        moved = tag_map(ghcr.host, world.repo)
        assert moved["latest"] == moved["v1.1.0"], moved  # stalled after the floating moves
        world.hosts["hub"] = registry.host  # (v1.2.0's legs push there directly)
        world.publish("v1.2.0", hub_alone, LINES, AMD64)
        for front in fronts:
            front.release()
        out, err = run.communicate(timeout=300)
    finally:
        kill_group(run)
    said = " ".join(err.split())
    assert run.returncode == 12, out + err
    assert "the registries' pins call for different floating tags: latest" in said, said
    for pin in ("v1.2.0", "v1.2.0-php-8.3", "v1.2.0-php-8.4"):
        assert f"pin missing from ghcr: {pin}: hub sha256:" in said, said
    assert "v1.2.0's pins named above are missing from ghcr" in said, said
    assert "`publisher release v1.2.0`" in said and "`publisher audit --repair`" in said, said
    assert "half-way" not in said and "republish" not in said, said
    assert "v1.1.0-php" not in said and "The pins of v1.1.0" not in said, said
    assert (
        "this run wrote its pins (6 tags) and moved latest, php-8.3, php-8.4 onto v1.1.0 on "
        "hub and ghcr before this check, and its record is not written"
    ) in said, said
    assert not (world.notes / "v1.1.0.json").exists()
    hub = tag_map(registry.host, world.repo)
    assert hub["latest"] == hub["v1.2.0"] and tag_map(ghcr.host, world.repo) == moved

    # (the repair still finds v1.1.0 unfinished: exit 12, as it says; it copied v1.2.0)
    repaired = world.run("audit", "--repair", matrix=matrix)
    pins = ("v1.2.0", "v1.2.0-php-8.3", "v1.2.0-php-8.4")
    on_ghcr = tag_map(ghcr.host, world.repo)
    assert {p: on_ghcr.get(p) for p in pins} == {p: hub[p] for p in pins}, repaired.stderr
    again = world.run("publish", *publish[1:], matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert tag_map(registry.host, world.repo) == tag_map(ghcr.host, world.repo)
