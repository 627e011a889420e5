"""A registry whose tag list is an invalid answer (not JSON, over the size limit).

verify lists each registry's tags before it reads a tag: a list that cannot be taken is
that registry's one ``invalid-response`` defect, the others still checked, exit 8 at the
end, as a HEAD or a body altered on the way is (``test_lying_head``). check-public lists
a registry's tags when a pin is not there, to tell a repository anyone reads from a
private one: that list invalid, the registry is said so, the others still read; release
lists the primary's tags before it builds: exit 8, nothing built or pushed. Real
loopback registries, hub behind a fault proxy
(``test_registry_outage.hub_behind_a_proxy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.test_lying_head import hub_alone_is_invalid
from tests.integration.test_registry_outage import hub_behind_a_proxy
from tests.support.faultproxy import Fault

pytestmark = pytest.mark.integration

#: The tag list's path, every page of it.
TAGS = r"/tags/list"

#: Each invalid tag list, and the words its defect says it with.
INVALID = {
    "not JSON": (
        Fault("body", method="GET", path=TAGS, body=b"<html>", times=None),
        "the tag list of {repo} is not valid JSON",
    ),
    "too large": (
        Fault("huge", method="GET", path=TAGS, status=200, huge_bytes=5 * 1024 * 1024, times=None),
        "GET /v2/{repo}/tags/list: the body is 5242880 bytes, over the 4194304-byte limit",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_tag_list_is_one_defect_of_verify_the_others_checked(
    case: str,
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub's tag list is no answer publisher can take: verify names hub as a registry
    that sent an invalid response (saying what was invalid), checks ghcr in full, prints
    its report (table or JSON) and exits 8 at the end, never a lone error; once ghcr's
    php-8.3 is moved by hand that is reported beside it too. audit says hub the same
    way; publish stops (exit 8) before it writes anything to hub."""
    fault, words = INVALID[case]
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    front.add(fault)

    first, _ = hub_alone_is_invalid(world, front, matrix, digests)
    assert words.format(repo=world.repo) in first["defects"][0]["message"], first

    audit = world.run("audit", "--json", matrix=matrix)
    said = audit.stdout + audit.stderr
    assert audit.returncode == 8, said
    findings = {(f["registry"], f["kind"]) for f in json.loads(audit.stdout)["findings"]}
    assert findings == {("hub", "invalid-response"), ("ghcr", "floating")}, said

    seeded = world.seed("v1.1.0", ("8.3", "8.4"), ("linux/amd64",))
    front.reset_counts()
    published = world.run(
        "publish", "v1.1.0", "--digests", str(seeded), "--no-smoke", matrix=matrix
    )
    said = published.stdout + published.stderr
    assert published.returncode == 8, said
    assert words.format(repo=world.repo) in said and "Traceback" not in said, said
    assert front.mutating_requests == 0, said


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_tag_list_is_said_by_check_public_and_refuses_a_release(
    case: str,
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub lost its 8.3 index, so check-public lists hub's tags to tell whether anyone
    may read the repository: that list is no answer publisher can take. check-public
    says hub sent an invalid response (what was invalid, and what to check there), never
    that hub is private or that the pin is missing from a repository anyone reads; it
    reads every pin on ghcr, prints its report (hub "public": null) and exits 8. A new
    release, whose first read of the primary's tag list meets the same answer, stops
    with exit 8 naming hub and what was invalid, with a tip, and builds or writes
    nothing."""
    fault, words = INVALID[case]
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    world.delete("hub", digests["8.3"])
    front.add(fault)
    invalid = words.format(repo=world.repo)

    result = world.run("check-public", "v1.0.0", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    report = json.loads(result.stdout)
    registries = {r["name"]: r for r in report["registries"]}
    assert registries["hub"]["public"] is None, said
    assert registries["ghcr"]["public"] is True, said
    assert all(pin["digest"] and pin["problem"] is None for pin in registries["ghcr"]["pins"])
    problems = [pin["problem"] or "" for pin in registries["hub"]["pins"]]
    assert any(invalid in problem for problem in problems), said
    error = report["error"]
    assert error["kind"] == "invalid registry response" and error["exit_code"] == 8, said
    assert invalid in error["message"] and "of hub not read" in error["message"], said
    assert error["hint"].startswith("hub: "), said
    assert "anyone can pull every pin on the other registries" in error["hint"], said
    for wrong in ("readable anonymously", "not found anonymously", "One-time steps"):
        assert wrong not in said, said
    table = world.run("check-public", "v1.0.0", matrix=matrix)
    shown = " ".join((table.stdout + table.stderr).split())
    assert table.returncode == 8, shown
    assert "error: invalid registry response" in shown and invalid in shown, shown
    assert "tip: hub: " in shown and "Traceback" not in shown, shown

    (tmp_path / "dockerfiles").mkdir()
    template = (ROOT / "dockerfiles" / "Dockerfile.j2").read_bytes()
    (tmp_path / "dockerfiles" / "Dockerfile.j2").write_bytes(template)
    assert world.run("render", matrix=matrix).returncode == 0
    front.reset_counts()
    released = world.run("release", "v1.1.0", "--no-smoke", matrix=matrix)
    said = " ".join((released.stdout + released.stderr).split())
    assert released.returncode == 8, said
    assert "error: invalid registry response: hub (" in said and invalid in said, said
    assert "tip: " in said and "Traceback" not in said, said
    assert front.mutating_requests == 0, said
    assert not (world.notes / "v1.1.0.json").exists(), said
