"""A registry that goes down while publish writes its tags costs one operation's retries.

Two real registries, hub (the primary) and ghcr, each behind a fault proxy; five PHP
lines on one platform. v1.0.0 is published clean; then, while ``publisher publish``
writes v2.0.0's pins or floating tags, one registry goes down (``Outage``: every request
from that write on answered 503, or its connection reset) and stays down. The pins of
one registry (a floating tag's too) are written at once, so before, each spent the whole
retry budget: lines x attempts requests to the registry that is down (5 x 3 = 15 here),
and a floating tag's failure one more budget for the tag list read after it. Now the
first to fail retries, the others wait for it, and once it has spent its attempts the
registry is judged down: the others fail at once with the same error, and a later
request (that tag list) after its one attempt.
The run still fails after the configured number of attempts (exit 7, the registry
named), moves no floating tag on the registry that is down, writes no notes, and a
rerun once the registry is back completes the release. Down while the floating tags move
(the other registry's moved), the error lists the floating tags the registries now
disagree on, as the run left them (the one down cannot be read again), and its tip keeps
the error's own advice and adds the rerun that moves them alike.

A registry that hangs (``hang``: it takes each request and never answers) is judged
down the same way once the first request has spent its attempts on answers that did not
come within the time limit (``PUBLISHER_REQUEST_TIMEOUT``, 30 s by default, 5 s and two
attempts here, to keep the test short); before, each request spent its own attempts, the
tag list read after the floating tags too (another two times the limit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_record_scope import make_world
from tests.support.faultproxy import Outage
from tests.support.images import OCI_INDEX

pytestmark = pytest.mark.integration

LINES = ("8.1", "8.2", "8.3", "8.5", "8.4")
ATTEMPTS = 3
#: The attempts against a registry that hangs: each waits the answer time limit.
HUNG_ATTEMPTS = 2
#: That limit (``PUBLISHER_REQUEST_TIMEOUT``), seconds.
HUNG_LIMIT = 5
#: Waits long enough that every write of a group has sent its first request before the
#: first to fail has spent its attempts, however loaded the machine.
RETRIES = {
    "PUBLISHER_RETRY_ATTEMPTS": str(ATTEMPTS),
    "PUBLISHER_RETRY_INITIAL_DELAY": "0.5",
    "PUBLISHER_RETRY_MAX_DELAY": "1",
}
PINS = r"/manifests/v2\.0\.0-php-"
FLOATING = r"/manifests/(latest|php-)"


def floating_tags(host: str, repo: str) -> dict[str, str]:
    """Each floating tag of ``repo`` on ``host`` -> its digest (read with plain HTTP)."""
    base = f"http://{host}/v2/{repo}"
    tags = requests.get(f"{base}/tags/list", timeout=10).json()["tags"]
    return {
        tag: requests.head(
            f"{base}/manifests/{tag}", headers={"Accept": OCI_INDEX}, timeout=10
        ).headers["Docker-Content-Digest"]
        for tag in tags
        if tag == "latest" or tag.startswith("php-")
    }


@pytest.mark.parametrize(
    ("down", "start", "action", "writes", "later"),
    [
        ("ghcr", PINS, "status", len(LINES), 0),  # its five pins
        ("hub", PINS, "reset", len(LINES), 0),  # the primary's five pins, connections broken
        # php-8.1 ... php-8.5 and latest; then the tags are listed, to say which now differ
        ("ghcr", FLOATING, "status", len(LINES) + 1, 1),
        ("ghcr", FLOATING, "reset", len(LINES) + 1, 1),  # its connections broken
        ("ghcr", PINS, "hang", len(LINES), 0),  # no answer to its five pins
        ("ghcr", FLOATING, "hang", len(LINES) + 1, 1),
    ],
    ids=[
        "pins-503",
        "primary-pins-reset",
        "floating-503",
        "floating-reset",
        "pins-hung",
        "floating-hung",
    ],
)
def test_a_registry_down_while_the_tags_are_written_costs_one_operation_s_retries(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
    down: str,
    start: str,
    action: str,
    writes: int,
    later: int,
) -> None:
    registries = {name: fresh_registry() for name in ("hub", "ghcr")}
    fronts = {name: proxy_for(registry.host) for name, registry in registries.items()}
    world = make_world(tmp_path, write_matrix, **{n: f.host for n, f in fronts.items()})
    matrix = world.matrix("matrix.yaml", lines=LINES, platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, LINES, ("linux/amd64",))
    before = {n: floating_tags(r.host, world.repo) for n, r in registries.items()}
    digests = world.seed("v2.0.0", LINES, ("linux/amd64",))
    attempts = HUNG_ATTEMPTS if action == "hang" else ATTEMPTS
    world.env = {**world.env, **RETRIES, "PUBLISHER_RETRY_ATTEMPTS": str(attempts)}
    if action == "hang":
        world.env["PUBLISHER_REQUEST_TIMEOUT"] = str(HUNG_LIMIT)
    outage = Outage(action, status=503, trigger=start)
    fronts[down].add(outage)

    result = world.run("publish", "v2.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 7, out
    said = result.stderr.split("error: registry unreachable: ", 1)[1]
    assert said.startswith(f"{down} ({fronts[down].host}): PUT manifest "), said
    failing = {
        "status": "kept failing (HTTP 503)",
        "reset": "connection failed",
        "hang": f"connection failed: no answer within {HUNG_LIMIT} s",
    }[action]
    assert failing in said and f"after {attempts} attempts" in said, said
    assert "Traceback" not in out and "internal error" not in out, out
    # One write spent its attempts; each other one of its group sent its first request
    # only, then waited for it and failed with its error; a later request made one attempt
    # (before: ``attempts`` each, the later tag list read too).
    assert outage.since == attempts + writes - 1 + later, (outage.since, out)
    assert out.count("another request to it is being retried: waiting for its end") == writes - 1
    assert "also not written" not in out, out  # the same error, not said again per tag
    if start == FLOATING:
        # hub's floating tags moved with its pins, the one down's did not: the error
        # lists which now differ where (as this run left them: ghcr cannot be read
        # again), and its tip says a rerun moves them alike, the registry's own advice kept.
        listed = said.split("the registries now disagree on these floating tags:\n", 1)[1]
        for tag in ("latest", *(f"php-{php}" for php in LINES)):
            assert f"  - {tag}: hub sha256:" in listed and ", ghcr sha256:" in listed, listed
        tip = said.split("tip: ", 1)[1]
        advice = {
            "status": "the registry is having trouble",
            "reset": f"check that {fronts[down].host} is reachable",
            "hang": f"{fronts[down].host} accepted the connection but did not answer in time",
        }[action]
        assert tip.startswith(advice), tip
        assert "; then rerun the same command (it recomputes the floating tags" in tip, tip
    # No floating tag moved: on any registry while pins were left to write, on the one
    # down when the floating tags were being moved (the others' move with their pins).
    for name in registries if start == PINS else [down]:
        assert floating_tags(registries[name].host, world.repo) == before[name], name
    assert not (world.notes / "v2.0.0.json").exists()

    fronts[down].clear()
    again = world.run("publish", "v2.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    record = json.loads((world.notes / "v2.0.0.json").read_text())
    published = {line["php"]: line["index_digest"] for line in record["lines"]}
    for registry in registries.values():
        tags = floating_tags(registry.host, world.repo)
        assert tags["latest"] == tags["php-8.4"] == published["8.4"], tags
        assert all(tags[f"php-{php}"] == published[php] for php in LINES), tags
