"""A release whose pin writes stopped half-way, on a single registry.

Real loopback registry; releases are published by ``publisher publish`` (see
test_record_scope.World). A fault-injecting proxy refuses one pin write, so the run
stops with some of its pins written and others not. Then:

* no other run (``audit --repair``, a backport, a later release's dry run) takes the
  half-written release for a finished one: ``latest`` and ``php-X.Y`` stay on the last
  finished release;
* ``verify`` and ``audit`` name the unfinished release;
* a rerun finishes it, and only then do the floating tags move to it.

A release killed (SIGKILL) while it writes its notes, every temporary file written and
none renamed into place yet, leaves them in the notes directory: the rerun writes the
notes and removes them, so that a ``git add release-notes`` never commits them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
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


def test_a_first_release_stopped_in_its_pins_is_named_by_audit_until_rerun(
    tmp_path: Path, fresh_registry: Callable[..., Any], proxy_for: Any, write_matrix: Any
) -> None:
    """The first release stopped after some of its pins were on the primary, before it
    wrote its record: with no record in the notes directory, audit read no registry and
    said "nothing to audit" (exit 0). It reads the primary, which gets a release's pins
    first, and names the release started and never finished, with what finishes it
    (exit 12, as a release without a record among recorded ones); --repair leaves its
    pins alone and says so; once the rerun has finished it, audit exits 0."""
    hub = fresh_registry()
    front = proxy_for(hub.host)
    world: World = make_world(tmp_path, write_matrix, hub=front.host, ghcr=fresh_registry().host)
    lines = ("8.3", "8.4")
    matrix = world.matrix("matrix.yaml", lines=lines, platforms=("linux/amd64",))
    world.notes.mkdir(exist_ok=True)
    before = world.run("audit", "--json", matrix=matrix)
    assert before.returncode == 0, before.stdout + before.stderr
    assert json.loads(before.stdout)["findings"] == []
    assert before.stderr.startswith(
        f"warning: no release is recorded in {world.notes} yet: nothing to audit but the pins "
        "on hub of a release that started without finishing"
    ), before.stderr
    # The primary out of reach is what any audit says of one: exit 7, naming it.
    closed = world.root / "closed.yaml"
    closed.write_text(matrix.read_text().replace(front.host, "127.0.0.1:9"))
    world.env["PUBLISHER_RETRY_ATTEMPTS"] = "1"
    down = world.run("audit", "--json", matrix=closed)
    assert down.returncode == 7, down.stdout + down.stderr
    assert [(f["registry"], f["kind"]) for f in json.loads(down.stdout)["findings"]] == [
        ("hub", "unreachable")
    ]
    del world.env["PUBLISHER_RETRY_ATTEMPTS"]
    # Docker Hub and GHCR refuse to read a repository they do not have (401, 403), as they
    # refuse a read denied: before the first release's push, a warning, as before any
    # record audit read nothing (exit 0), not "authentication failed" (exit 4).
    denied = (
        b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
    )
    for status in (401, 403):
        front.add(Fault("status", method="GET", path="/tags/list", status=status, body=denied))
        refused = world.run("audit", "--json", matrix=matrix)
        front.clear()
        said = refused.stdout + refused.stderr
        assert refused.returncode == 0, said
        assert json.loads(refused.stdout)["findings"] == [], said
        flat = " ".join(refused.stderr.split())
        assert "warning: the pins on hub were not read:" in flat, said
        assert "refuses so a repository it does not have yet" in flat, said

    front.add(Fault("status", method="PUT", path=r"/manifests/v1\.0\.0-php-8\.3$", status=400))
    with pytest.raises(AssertionError):
        world.publish("v1.0.0", matrix, lines, ("linux/amd64",))
    assert not (world.notes / "v1.0.0.json").exists()
    half = tag_map(hub.host, world.repo)
    pins = sorted(t for t in half if t.startswith("v1.0.0"))
    assert pins and "v1.0.0-php-8.3" not in pins, half

    audit = world.run("audit", "--json", matrix=matrix)
    assert audit.returncode == 12, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    found = [(f["registry"], f["kind"], f["release"], f["detail"]) for f in report["findings"]]
    assert found == [("hub", "unrecorded", "v1.0.0", ", ".join(pins))], found
    said = " ".join(audit.stderr.split())
    assert "a release started and never finished" in said, said
    # it stopped while writing its pins on hub, which holds 8.4's alone: run with every
    # line, or narrowed to 8.4, which hub cannot tell; both reruns are named
    assert (
        "rerun the release as it was run: `publisher release v1.0.0` if it was given every "
        "line, else with its --only (`publisher release v1.0.0 --only 8.4` if it was narrowed "
        "to PHP 8.4, the lines whose pins the primary holds so far"
    ) in said, said
    repaired = world.run("audit", "--repair", matrix=matrix)
    assert repaired.returncode == 12, repaired.stdout + repaired.stderr
    assert tag_map(hub.host, world.repo) == half
    assert "a repair leaves its tags alone (it has no record to restore them from)" in " ".join(
        repaired.stderr.split()
    ), repaired.stderr

    front.clear()
    digests = str(world.root / "digests-v1.0.0")
    rerun = world.run("publish", "v1.0.0", "--digests", digests, "--no-smoke", matrix=matrix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    done = world.run("audit", matrix=matrix)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 release matches its record on every registry" in done.stdout


#: ``python -c KILLED_WRITING_NOTES ARGS...``: ``publisher ARGS...`` that gets SIGKILL as
#: it renames the first temporary file written in the directory KILL_IN into place.
KILLED_WRITING_NOTES = """
import os, runpy, signal, sys

def hook(event, args):
    if event == "os.rename" and os.path.dirname(os.fsdecode(args[0])) == os.environ["KILL_IN"]:
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
sys.argv = ["publisher", *sys.argv[1:]]
runpy.run_module("publisher", run_name="__main__", alter_sys=True)
"""


def test_a_release_killed_while_writing_its_notes_leaves_no_temporary_file_past_its_rerun(
    tmp_path: Path, registry: Any, second_registry: Any, write_matrix: Any
) -> None:
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=second_registry.host)
    lines = ("8.3", "8.4")
    matrix = world.matrix("matrix.yaml", lines=lines, platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, lines, ("linux/amd64",))
    published = sorted(p.name for p in world.notes.iterdir())
    digests = str(world.seed("v1.1.0", lines, ("linux/amd64",)))
    args = ["publish", "v1.1.0", "--digests", digests, "--no-smoke", "--config", str(matrix)]

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITING_NOTES, *args],
        cwd=world.root,
        env={**world.env, "PYTHONPATH": str(ROOT), "KILL_IN": str(world.notes)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    left = sorted(set(os.listdir(world.notes)) - set(published))
    staged = [re.fullmatch(r"\.(.+)\.[a-z0-9_]{8}\.tmp", name) for name in left]
    # the new size history staged, and its old file kept aside (a second name) to be put
    # back should a rename fail: both named as a staged file, so the rerun removes both
    assert [m.group(1) if m else None for m in staged] == [
        "size-history.json",
        "size-history.json",
        "v1.1.0.env",
        "v1.1.0.json",
        "v1.1.0.md",
    ], left

    rerun = world.run(*args[:-2], matrix=matrix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(p.name for p in world.notes.iterdir()) == sorted(
        [*published, "v1.1.0.env", "v1.1.0.json", "v1.1.0.md"]
    )
