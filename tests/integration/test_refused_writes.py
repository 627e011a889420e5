"""A registry that refuses tag writes for good: read-only (405) or tag immutability (400
TAG_INVALID "tag is immutable", Harbor's 403 "configured as immutable").

``audit --repair`` lists such a registry as a defect (kind ``refused-write``) beside what
is still wrong on it, repairs the others and reports what it repaired (``--json``: the
whole report). ``publish``, refused a floating tag, says the floating tags must be
overwritable there, not to rerun (a rerun gets the same refusal). Real loopback
registries, ghcr behind a fault proxy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.faultproxy import Fault
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration

#: A PUT of a manifest by tag (never by digest).
TAG_PUT = r"/manifests/(?!sha256:)"


def _json_error(status: int, code: str, message: str) -> Fault:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Fault(
        "status",
        method="PUT",
        path=TAG_PUT,
        status=status,
        headers={"Content-Type": "application/json"},
        body=body,
        times=None,
    )


#: Each lasting refusal of a tag write, and whether it says the tag is immutable.
REFUSALS = {
    "read-only": (
        Fault(
            "status", method="PUT", path=TAG_PUT, status=405, body=b"Method not allowed", times=None
        ),
        False,
    ),
    "immutable 400": (_json_error(400, "TAG_INVALID", "tag is immutable"), True),
    "immutable 403": (
        _json_error(
            403,
            "DENIED",
            "Failed to process request due to 'acme/php-fpm:latest' configured as immutable.",
        ),
        True,
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_registry_refusing_the_repairs_writes_is_a_defect_the_others_repaired(
    case: str, ghcr_behind_a_proxy: Any
) -> None:
    fault, immutable = REFUSALS[case]
    hub, ghcr, front, world, matrix = ghcr_behind_a_proxy
    old = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    new = world.publish("v1.1.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    world.put_tag("hub", old["8.3"], "php-8.3")  # drift on both registries
    world.put_tag("ghcr", old["8.4"], "latest")
    front.add(fault)

    audit = world.run("audit", "--repair", "--no-anonymous-check", "--json", matrix=matrix)
    said = audit.stdout + audit.stderr
    assert audit.returncode == 12, said
    report = json.loads(audit.stdout)
    kinds = {(f["registry"], f["kind"], f["tag"]) for f in report["findings"]}
    assert ("ghcr", "refused-write", "") in kinds, said
    assert ("ghcr", "floating", "latest") in kinds, said
    assert not {k for k in kinds if k[0] == "hub"}, said
    assert report["repaired"] == [f"hub: php-8.3 -> {new['8.3']}"], said
    assert tag_map(hub.host, world.repo)["php-8.3"] == new["8.3"]
    assert tag_map(ghcr.host, world.repo)["latest"] == old["8.4"]
    hint = report["error"]["hint"]
    assert "the other registries were audited and repaired" in hint, said
    assert "needs a rerun of the release or a republish" not in hint, said
    assert ("must be overwritable" in hint) is immutable, said

    table = world.run("audit", "--repair", "--no-anonymous-check", matrix=matrix)
    shown = table.stdout + table.stderr
    assert table.returncode == 12 and "refused the repair's writes" in shown, shown

    front.clear()
    again = world.run("audit", "--repair", "--no-anonymous-check", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert tag_map(ghcr.host, world.repo) == tag_map(hub.host, world.repo)


@pytest.mark.parametrize("case", [c for c, (_, immutable) in REFUSALS.items() if immutable])
def test_publish_refused_an_immutable_floating_tag_says_to_make_it_overwritable(
    case: str, ghcr_behind_a_proxy: Any
) -> None:
    fault, _ = REFUSALS[case]
    _, ghcr, front, world, matrix = ghcr_behind_a_proxy
    old = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    fault.path = r"/manifests/(latest|php-)"  # the pins are written, the floating tags not
    front.add(fault)
    seeded = world.seed("v1.1.0", ("8.3", "8.4"), ("linux/amd64",))
    for attempt in ("publish", "rerun"):
        published = world.run(
            "publish", "v1.1.0", "--digests", str(seeded), "--no-smoke", matrix=matrix
        )
        said = " ".join((published.stdout + published.stderr).split())
        assert published.returncode in (4, 9), f"{attempt}: {said}"
        tip = said[said.index("tip: ") :]
        assert "must be overwritable" in tip and "immutability" in tip, said
        assert "it recomputes the floating tags" not in tip, said
    assert tag_map(ghcr.host, world.repo)["latest"] == old["8.4"]
