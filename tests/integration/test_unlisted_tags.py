"""A registry that does not list tags: a mirror or proxy answering 404 (not "repository
unknown") or 405 for ``/v2/<repo>/tags/list`` while it serves every tag by name.

No tag is said missing on the list's word: the tags a command needs are asked one by
one there (``stages.parallel.listed_tags``), and the run says the registry does not list
tags. audit finds nothing wrong, publish moves the floating tags on both registries, and
its rerun changes nothing. Real loopback registries, ghcr behind a fault proxy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.faultproxy import Fault
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration

#: Each way a tag list is not served, as a mirror answers it.
UNLISTED = {
    "404": Fault(
        "status",
        method="GET",
        path=r"/tags/list",
        status=404,
        headers={"Content-Type": "application/json"},
        body=b'{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}',
        times=None,
    ),
    "405": Fault(
        "status",
        method="GET",
        path=r"/tags/list",
        status=405,
        headers={"Allow": "HEAD, GET"},
        body=b"Method not allowed",
        times=None,
    ),
}


@pytest.mark.parametrize("case", list(UNLISTED))
def test_a_registry_that_does_not_list_tags_is_asked_for_each_tag(
    case: str, ghcr_behind_a_proxy: Any
) -> None:
    hub, ghcr, front, world, matrix = ghcr_behind_a_proxy
    world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    front.add(UNLISTED[case])
    unlisted = f"does not list the tags of {world.repo}"

    verified = world.run("verify", "v1.0.0", matrix=matrix)
    said = verified.stdout + verified.stderr
    assert verified.returncode == 0, said
    told = [said]

    audit = world.run("audit", "--repair", "--no-anonymous-check", "--json", matrix=matrix)
    said = audit.stdout + audit.stderr
    assert audit.returncode == 0, said
    report = json.loads(audit.stdout)
    assert report["findings"] == [] and report["repaired"] == [], said
    told.append(audit.stderr)

    seeded = world.seed("v1.1.0", ("8.3", "8.4"), ("linux/amd64",))
    for attempt in ("publish", "rerun"):
        published = world.run(
            "publish", "v1.1.0", "--digests", str(seeded), "--no-smoke", matrix=matrix
        )
        said = published.stdout + published.stderr
        assert published.returncode == 0, f"{attempt}: {said}"
        told.append(said)
    record = json.loads((world.notes / "v1.1.0.json").read_text())
    new = {line["php"]: line["index_digest"] for line in record["lines"]}
    held = tag_map(ghcr.host, world.repo)
    assert held == tag_map(hub.host, world.repo), said
    assert held["latest"] == held["php-8.4"] == new["8.4"] and held["php-8.3"] == new["8.3"]
    assert all(unlisted in words for words in told), told
