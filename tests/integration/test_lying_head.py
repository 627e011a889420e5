"""A manifest HEAD's Docker-Content-Digest is a registry's word, not the manifest.

audit and verify learn where each tag points from HEADs (a HEAD counts against no
pull quota); a digest other than the record's is confirmed by a GET whose body is
hashed. Real loopback registries, hub behind a fault proxy rewriting its answers
(``test_registry_outage.hub_behind_a_proxy``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_registry_outage import hub_behind_a_proxy
from tests.support.faultproxy import Fault
from tests.support.images import OCI_INDEX

pytestmark = pytest.mark.integration

#: The manifest HEADs of v1.0.0's 8.3 pins (``v1.0.0-php-8.3``, ``v1.0.0-php-8.3.X``).
PINS_83 = r"/manifests/v1\.0\.0-php-8\.3(\.\d+)?$"


def lie(front: Any, path: str, digest: str) -> None:
    """From now on, ``front`` answers every manifest HEAD whose path matches ``path``
    with ``digest`` as its Docker-Content-Digest ("": none), whatever the body is."""
    front.add(Fault("digest", method="HEAD", path=path, digest=digest, times=None))


def test_a_head_naming_other_content_than_the_manifest_is_a_lying_registry_not_a_moved_pin(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub's HEADs of the 8.3 pins name the 8.4 index, which hub holds: the GET of the
    tag serves the 8.3 index. audit, verify and check-public say the registry lies
    (exit 8), never that the pins moved; a repair writes nothing."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    lie(front, PINS_83, digests["8.4"])

    commands = (("audit",), ("audit", "--repair"), ("verify", "v1.0.0"), ("check-public", "v1.0.0"))
    for command in commands:
        front.reset_counts()
        result = world.run(*command, "--json", matrix=matrix)
        said = result.stdout + result.stderr
        assert result.returncode == 8, said
        error = json.loads(result.stdout)["error"]
        assert error["kind"] == "invalid registry response", said
        assert digests["8.4"] in error["message"] and digests["8.3"] in error["message"], said
        assert "v1.0.0-php-8.3" in error["message"], said
        assert error["hint"] and "rewrites" in error["hint"], said
        # a lying registry is audit's finding beside the others' (none here), never a move
        findings = json.loads(result.stdout).get("findings", [])
        assert [f["kind"] for f in findings] in ([], ["invalid-response"]), said
        assert "moved" not in error["message"] + result.stderr, said
        assert "Traceback" not in said, said
        assert front.mutating_requests == 0, command

    front.clear()
    assert world.run("audit", matrix=matrix).returncode == 0


def test_heads_that_agree_with_the_records_do_the_reading_alone(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """An audit of a release where it should be reads each tag by one HEAD: no manifest
    GET by tag (the GETs are of the indexes and of their platform images by digest, whose
    configs say what each image is), nor does a verify of the newest release or of an
    earlier one. A HEAD without its Docker-Content-Digest is read by a GET, hashed: still
    no finding."""
    ghcr, front, world, matrix = hub_behind_a_proxy(
        tmp_path, fresh_registry, proxy_for, write_matrix
    )
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    tags = json.loads(world.run("audit", "--json", matrix=matrix).stdout)
    assert tags["ok"] is True, tags

    front.reset_counts()
    result = world.run("audit", matrix=matrix)
    assert result.returncode == 0, result.stdout + result.stderr
    by_tag = [s for s in front.log if s.kind == "manifest" and "sha256:" not in s.path]
    heads = [s for s in by_tag if s.method == "HEAD"]
    assert heads and all(s.method == "HEAD" for s in by_tag), [(s.method, s.path) for s in by_tag]
    # one HEAD per tag, and the newest pin's once more by the anonymous client
    assert len(heads) == len({s.path for s in heads}) + 1, [s.path for s in heads]
    gets = [s for s in front.log if s.kind == "manifest" and s.method == "GET"]
    indexes = set(digests.values())
    assert {s.path.rsplit("/", 1)[1] for s in gets} == indexes | _children(ghcr, world, indexes)

    # verify: the same, of the newest release and of one before it
    world.publish("v1.1.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for release in ("v1.1.0", "v1.0.0"):
        front.reset_counts()
        result = world.run("verify", release, matrix=matrix)
        assert result.returncode == 0, result.stdout + result.stderr
        by_tag = [s for s in front.log if s.kind == "manifest" and "sha256:" not in s.path]
        assert by_tag and all(s.method == "HEAD" for s in by_tag), release

    lie(front, "/manifests/", "")
    front.reset_counts()
    result = world.run("audit", matrix=matrix)
    assert result.returncode == 0, result.stdout + result.stderr
    read = {s.path for s in front.log if s.kind == "manifest" and s.method == "GET"}
    assert {s.path for s in heads} <= read


def _children(registry: Any, world: Any, indexes: set[str]) -> set[str]:
    """The digests of the manifests ``indexes`` list, read from ``registry``."""
    children: set[str] = set()
    for digest in indexes:
        base = f"http://{registry.host}/v2/{world.repo}/manifests/{digest}"
        reply = requests.get(base, headers={"Accept": OCI_INDEX}, timeout=30)
        reply.raise_for_status()
        children |= {child["digest"] for child in reply.json()["manifests"]}
    return children


def _index_of(world: Any, registry: str, tag: str) -> str:
    """The digest ``tag`` holds on ``registry``, from its manifest body (hashed)."""
    base = f"http://{world.hosts[registry]}/v2/{world.repo}/manifests/{tag}"
    reply = requests.get(base, headers={"Accept": OCI_INDEX}, timeout=30)
    reply.raise_for_status()
    return "sha256:" + hashlib.sha256(reply.content).hexdigest()


def test_publish_never_judges_nor_moves_a_tag_on_a_lying_head(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """publish reads its own pins and the floating tags by HEAD, holding each to the
    index it is about to write or wrote (a floating tag to its pin's): a HEAD naming
    other content is confirmed by a hashed GET, so a lying one stops the run as a
    lying registry (exit 8, both digests named), never as a moved pin, a conflict or
    floating tags that keep changing, and no tag is written on its word. A rerun whose
    HEADs agree reads no manifest by tag."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    v100 = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))

    def publish(release: str, digests: Path) -> Any:
        front.reset_counts()
        return world.run("publish", release, "--digests", str(digests), "--no-smoke", matrix=matrix)

    def lying(result: Any, tag: str, said: str, real: str) -> None:
        out = result.stdout + result.stderr
        assert result.returncode == 8, out
        assert "invalid registry response" in out and "rewrites it" in out, out
        assert f":{tag} says {said} but its manifest body hashes to {real}" in out, out
        assert "conflict" not in out and "half-way" not in out and "Traceback" not in out, out

    # a rerun of v1.0.0: hub's HEADs of the 8.3 pins name the 8.4 index
    lie(front, PINS_83, v100["8.4"])
    rerun = publish("v1.0.0", tmp_path / "digests-v1.0.0")
    lying(rerun, "v1.0.0-php-8.3", v100["8.4"], v100["8.3"])
    assert front.mutating_requests == 0
    front.clear()

    # v1.1.0: hub's HEAD of php-8.3 names the 8.4 index of v1.0.0
    seeded = world.seed("v1.1.0", ("8.3", "8.4"), ("linux/amd64",))
    lie(front, r"/manifests/php-8\.3$", v100["8.4"])
    lying(publish("v1.1.0", seeded), "php-8.3", v100["8.4"], v100["8.3"])
    assert front.mutating_requests == 0
    front.clear()
    assert publish("v1.1.0", seeded).returncode == 0
    v110 = {php: _index_of(world, "hub", f"v1.1.0-php-{php}") for php in ("8.3", "8.4")}

    # v1.2.0: once written, hub's HEADs of its 8.3 pins name v1.0.0's 8.3 index: the
    # floating tags are not moved to it, nor are the pins said to be elsewhere
    seeded = world.seed("v1.2.0", ("8.3", "8.4"), ("linux/amd64",))
    lie(front, r"/manifests/v1\.2\.0-php-8\.3(\.\d+)?$", v100["8.3"])
    stopped = publish("v1.2.0", seeded)
    lying(stopped, "v1.2.0-php-8.3", v100["8.3"], _index_of(world, "hub", "v1.2.0-php-8.3"))
    assert _index_of(world, "hub", "php-8.3") == v110["8.3"]
    assert _index_of(world, "ghcr", "php-8.3") == v110["8.3"]
    front.clear()
    assert publish("v1.2.0", seeded).returncode == 0

    # a rerun whose HEADs all agree reads every tag by HEAD alone
    again = publish("v1.2.0", seeded)
    assert again.returncode == 0, again.stdout + again.stderr
    by_tag = [s for s in front.log if s.kind == "manifest" and "sha256:" not in s.path]
    assert by_tag and all(s.method == "HEAD" for s in by_tag), [(s.method, s.path) for s in by_tag]


def test_tags_without_a_record_are_said_apart_only_once_their_bodies_say_so(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """Without the release's record, verify holds no tag to a digest: tags of a line
    read (by HEAD) at different digests are confirmed by hashed GETs before the line is
    said to disagree, so hub's HEADs naming another index than its 8.3 pins hold are a
    lying registry (exit 8), not tags or registries that disagree; tags that do differ
    are still said to."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for suffix in ("json", "md"):
        (world.notes / f"v1.0.0.{suffix}").unlink()
    assert world.run("verify", "v1.0.0", matrix=matrix).returncode == 0

    lie(front, PINS_83, digests["8.4"])
    result = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "invalid registry response", said
    assert f"v1.0.0-php-8.3 says {digests['8.4']}" in error["message"], said
    assert digests["8.3"] in error["message"] and "rewrites" in error["hint"], said
    assert "different digests" not in said, said

    front.clear()
    world.put_tag("ghcr", digests["8.4"], "v1.0.0-php-8.3")
    moved = world.run("verify", "v1.0.0", matrix=matrix)
    assert moved.returncode == 12, moved.stdout + moved.stderr
    assert "the tags on ghcr point at different digests" in moved.stdout + moved.stderr


def test_audit_confirms_the_tags_no_record_holds_before_judging_by_them(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """v1.1.0 finished on both registries, its record not here yet: the floating tags
    carrying it are ahead of the records, which a repair never moves back. hub's HEADs
    of its 8.3 pins naming v1.0.0's 8.3 index would make it look unfinished there (and
    its floating tags merely off the records): the pins the registries read apart are
    confirmed by hashed GETs first, so the audit and its repair end as a lying registry
    (exit 8) and nothing is written."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    v100 = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    world.publish("v1.1.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for suffix in ("json", "md"):
        (world.notes / f"v1.1.0.{suffix}").unlink()
    ahead = json.loads(world.run("audit", "--json", matrix=matrix).stdout)
    assert {f["kind"] for f in ahead["findings"]} == {"unrecorded", "ahead"}, ahead

    lie(front, r"/manifests/v1\.1\.0-php-8\.3(\.\d+)?$", v100["8.3"])
    for command in (("audit",), ("audit", "--repair")):
        front.reset_counts()
        result = world.run(*command, "--json", matrix=matrix)
        said = result.stdout + result.stderr
        assert result.returncode == 8, said
        error = json.loads(result.stdout)["error"]
        assert error["kind"] == "invalid registry response", said
        assert f"v1.1.0-php-8.3 says {v100['8.3']}" in error["message"], said
        assert front.mutating_requests == 0, command
    front.clear()
    again = json.loads(world.run("audit", "--json", matrix=matrix).stdout)
    assert again["findings"] == ahead["findings"]


def test_a_lying_registry_is_one_finding_of_the_audit_the_others_audited_and_repaired(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub's HEADs of the 8.3 pins name the 8.4 index while ghcr's php-8.3 was moved by
    hand: the audit names hub as a registry naming other content than it serves and
    still reports ghcr's floating tag (exit 8 at the end); its repair puts ghcr's tag
    back and writes nothing to hub."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    world.put_tag("ghcr", digests["8.4"], "php-8.3")
    lie(front, PINS_83, digests["8.4"])

    result = world.run("audit", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    report = json.loads(result.stdout)
    kinds = {(f["registry"], f["kind"], f["tag"]) for f in report["findings"]}
    assert kinds == {("hub", "invalid-response", ""), ("ghcr", "floating", "php-8.3")}, said
    assert report["error"]["kind"] == "invalid registry response", said
    assert f"v1.0.0-php-8.3 says {digests['8.4']}" in report["error"]["message"], said
    assert "rewrites it" in report["error"]["hint"], said
    assert "the other registries were audited" in report["error"]["hint"], said

    front.reset_counts()
    repaired = world.run("audit", "--repair", "--json", matrix=matrix)
    said = repaired.stdout + repaired.stderr
    assert repaired.returncode == 8, said
    report = json.loads(repaired.stdout)
    assert [f["kind"] for f in report["findings"]] == ["invalid-response"], said
    assert report["repaired"] and "php-8.3" in report["repaired"][0], said
    assert front.mutating_requests == 0
    assert _index_of(world, "ghcr", "php-8.3") == digests["8.3"]


def test_a_lying_registry_is_one_defect_of_verify_the_others_checked(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub's HEADs of the 8.3 pins name the 8.4 index: verify names hub as a registry
    naming other content than it serves, one defect beside ghcr's results (its rows say
    so), and exits 8 at the end; once ghcr's php-8.3 is moved by hand, that is reported
    beside it too, as an unreachable registry's would be."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    lie(front, PINS_83, digests["8.4"])

    first, moved = hub_alone_is_invalid(world, front, matrix, digests)
    assert f"v1.0.0-php-8.3 says {digests['8.4']}" in first["defects"][0]["message"], first
    assert "rewrites it" in first["error"]["hint"], first
    assert "audit --repair" in moved["error"]["hint"], moved


def hub_alone_is_invalid(
    world: Any, front: Any, matrix: Path, digests: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``verify v1.0.0 --json`` (of 8.3 and 8.4 on hub and ghcr, published as
    ``digests``) while hub sends invalid answers: hub is its one defect of kind
    invalid-response, ghcr is checked in full (every tag of both lines read there, none
    on hub), exit 8, nothing written; the table says hub's rows are an invalid
    response. Then ghcr's php-8.3 is moved by hand, which is reported beside hub's
    defect. Returns both reports."""
    front.reset_counts()
    result = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    report = json.loads(result.stdout)
    assert [(d["kind"], d["registry"]) for d in report["defects"]] == [
        ("invalid-response", "hub")
    ], said
    assert report["defects"][0]["message"].startswith("hub: sent an invalid response"), said
    assert {tuple(line["tags"]) for line in report["lines"]} == {("ghcr",)}, said
    assert all(all(line["tags"]["ghcr"].values()) for line in report["lines"]), said
    assert {line["php"]: line["digests"] for line in report["lines"]} == {
        php: {"ghcr": digest} for php, digest in digests.items()
    }, said
    error = report["error"]
    assert error["kind"] == "invalid registry response" and error["exit_code"] == 8, said
    assert "the other registries that answered hold the release complete" in error["hint"]
    assert "Traceback" not in said and front.mutating_requests == 0, said

    table = world.run("verify", "v1.0.0", matrix=matrix)
    assert table.returncode == 8, table.stdout + table.stderr
    assert "invalid response" in table.stdout, table.stdout
    assert digests["8.3"] in table.stdout, table.stdout

    world.put_tag("ghcr", digests["8.4"], "php-8.3")
    result = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    moved = json.loads(result.stdout)
    kinds = {(d["kind"], d["registry"]) for d in moved["defects"]}
    assert kinds == {("invalid-response", "hub"), ("floating-moved", "ghcr")}, said
    assert "the other registries were checked" in moved["error"]["hint"], said
    return report, moved


def test_a_registry_lying_to_a_repair_is_one_finding_and_the_others_are_repaired(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """v1.0.0's 8.3 pin moved on both registries; hub says it stored another manifest
    than the repair's PUT sent: audit --repair still repairs ghcr and reports hub as one
    finding of kind invalid-response beside what it repaired (exit 8), as a registry
    lying to the audit's reads is, never a lone error that loses the report. Its PUT was
    answered: hub stored the tag, so its hint says the tag may have been written."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for registry in ("hub", "ghcr"):
        world.put_tag(registry, digests["8.4"], "v1.0.0-php-8.3")
    put = r"/manifests/v1\.0\.0-php-8\.3$"
    front.add(Fault("digest", method="PUT", path=put, digest=digests["8.4"], times=None))

    result = world.run("audit", "--repair", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    report = json.loads(result.stdout)
    assert report["error"]["kind"] == "invalid registry response", said
    assert [(f["registry"], f["kind"]) for f in report["findings"]] == [
        ("hub", "invalid-response")
    ], said
    assert f"the registry says it stored {digests['8.4']}" in report["findings"][0]["detail"]
    assert report["repaired"] == [f"ghcr: v1.0.0-php-8.3 -> {digests['8.3']}"], said
    assert "the other registries were audited and repaired" in report["error"]["hint"], said
    assert _index_of(world, "ghcr", "v1.0.0-php-8.3") == digests["8.3"]
    assert "Traceback" not in said, said
    # the PUT was answered: hub stored the tag, which its hint does not deny
    assert "v1.0.0-php-8.3 may have been written" in report["error"]["hint"], said
    assert "nothing was tagged" not in said, said
    assert _index_of(world, "hub", "v1.0.0-php-8.3") == digests["8.3"]
    front.clear()
    assert world.run("audit", matrix=matrix).returncode == 0


def test_a_primary_lying_before_any_record_is_audit_s_one_finding(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """No record yet: audit reads the primary (hub) alone. hub's HEAD of a pin names no
    digest and its GET names another than its body hashes to: audit --json prints its
    report all the same, hub's one finding of kind invalid-response (exit 8), as an
    unreachable primary's is of kind unreachable."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for suffix in ("json", "md"):
        (world.notes / f"v1.0.0.{suffix}").unlink()
    pin = r"/manifests/v1\.0\.0-php-8\.3$"
    lie(front, pin, "")
    front.add(Fault("digest", method="GET", path=pin, digest=digests["8.4"], times=None))

    result = world.run("audit", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    report = json.loads(result.stdout)
    assert report["error"]["kind"] == "invalid registry response", said
    assert [(f["registry"], f["kind"]) for f in report["findings"]] == [
        ("hub", "invalid-response")
    ], said
    assert digests["8.4"] in report["findings"][0]["detail"], said
    assert "other registries" not in report["error"]["hint"], said
    assert "Traceback" not in said, said


def test_a_tag_moved_between_its_head_and_its_get_is_a_move_not_a_lie(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub's first HEAD of v1.0.0-php-8.3 names the 8.4 index, its GET and every later
    HEAD the 8.3 index, as when another release moves a tag between a HEAD and the GET
    confirming it (two releases published at once): the tag is asked again and taken
    where it points, so verify passes (exit 0), not a lying registry (exit 8)."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    pin = r"/manifests/v1\.0\.0-php-8\.3$"
    front.add(Fault("digest", method="HEAD", path=pin, digest=digests["8.4"], times=1))

    front.reset_counts()
    result = world.run("verify", "v1.0.0", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    asked = [s.method for s in front.log if s.path.endswith("/manifests/v1.0.0-php-8.3")]
    assert asked[:3] == ["HEAD", "GET", "HEAD"], asked
