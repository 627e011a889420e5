"""verify and audit during a partial outage: one registry down, the others checked.

Real loopback registries; the release is published by ``publisher publish`` (see
test_record_scope.World), then one registry is stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_record_scope import make_world
from tests.support.images import OCI_INDEX, OCI_MANIFEST, raw_delete_manifest

pytestmark = pytest.mark.integration


def hub_behind_a_proxy(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> tuple[Any, Any, Any, Path]:
    """ghcr and hub, fresh, hub behind a fault proxy (``front``, ``front.upstream`` is hub);
    a world publishing to them, and its matrix of PHP 8.3 and 8.4 for amd64."""
    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(hub.host)
    world = make_world(tmp_path, write_matrix, hub=front.host, ghcr=ghcr.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    return ghcr, front, world, matrix


def test_verify_and_audit_check_the_registries_that_answer(
    tmp_path: Path, registry: Any, fresh_registry: Callable[..., Any], write_matrix: Any
) -> None:
    ghcr = fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=ghcr.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    ghcr.stop()

    for command in (("verify", "v1.0.0"), ("audit",)):
        text = world.run(*command, matrix=matrix)
        out = text.stdout + text.stderr
        assert text.returncode == 7, out
        assert "ghcr: could not be reached" in out and "connection refused" in out, out
        assert "internal error" not in out and "run `publisher audit --repair`" not in out
        result = world.run(*command, "--json", matrix=matrix)
        assert result.returncode == 7, result.stderr
        report = json.loads(result.stdout)
        assert list(report["unreachable"]) == ["ghcr"]
        # the report says its error as every failure's document does
        assert report["ok"] is False and report["error"]["exit_code"] == 7, report
        assert report["error"]["kind"] == "registry unreachable" and report["error"]["hint"]
        assert "connection refused" in report["unreachable"]["ghcr"]
    checked = json.loads(world.run("verify", "v1.0.0", "--json", matrix=matrix).stdout)
    assert {line["php"]: line["digests"] for line in checked["lines"]} == {
        php: {"hub": digest} for php, digest in digests.items()
    }

    # A defect on the registry that answers is found and decides the exit code.
    world.put_tag("hub", digests["8.4"], "v1.0.0-php-8.3")
    verify = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    assert verify.returncode == 12, verify.stderr
    kinds = {(d["kind"], d["registry"]) for d in json.loads(verify.stdout)["defects"]}
    assert {("pin-moved", "hub"), ("unreachable", "ghcr")} <= kinds
    assert json.loads(verify.stdout)["error"]["kind"] == "verification failed"
    audit = world.run("audit", "--json", matrix=matrix)
    assert audit.returncode == 12, audit.stderr
    kinds = {(f["kind"], f["registry"]) for f in json.loads(audit.stdout)["findings"]}
    assert json.loads(audit.stdout)["error"]["exit_code"] == 12
    assert ("moved", "hub") in kinds and ("unreachable", "ghcr") in kinds
    # --repair mends the registry that answers.
    repaired = world.run("audit", "--repair", matrix=matrix)
    assert repaired.returncode == 7, repaired.stdout + repaired.stderr
    assert "audited and repaired" in repaired.stderr


def test_audit_during_an_outage_never_moves_a_floating_tag_back(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """v2.0.0 wrote every pin on both registries and moved hub's floating tags, then ghcr
    refused its floating-tag writes: the run failed before its record. With ghcr down,
    audit calls hub's tags ahead of the records (v2.0.0 finished on every registry that
    answers), advises no repair that would move them, and a repair leaves them alone."""
    from tests.support.faultproxy import Fault

    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=front.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    front.add(
        Fault("status", method="PUT", path=r"/manifests/(latest|php-)", status=400, times=None)
    )
    try:
        world.publish("v2.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    except AssertionError:
        pass
    else:
        raise AssertionError("v2.0.0 should have failed on ghcr's floating tags")
    assert not (world.notes / "v2.0.0.json").exists()
    ghcr.stop()

    audit = world.run("audit", "--json", matrix=matrix)
    report = json.loads(audit.stdout)
    assert audit.returncode == 12, audit.stdout + audit.stderr
    kinds = {(f["kind"], f["registry"], f["tag"]) for f in report["findings"]}
    assert ("ahead", "hub", "latest") in kinds, kinds
    assert ("unreachable", "ghcr", "") in kinds
    said = world.run("audit", matrix=matrix)
    assert "a repair never moves it back" in said.stderr, said.stderr
    assert "run `publisher audit --repair`" not in said.stderr, said.stderr
    hub_tags = requests.get(f"http://{hub.host}/v2/{world.repo}/tags/list", timeout=10).json()
    latest = requests.head(
        f"http://{hub.host}/v2/{world.repo}/manifests/latest",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    ).headers["Docker-Content-Digest"]
    repaired = world.run("audit", "--repair", matrix=matrix)
    assert repaired.returncode != 0, repaired.stdout + repaired.stderr
    after = requests.head(
        f"http://{hub.host}/v2/{world.repo}/manifests/latest",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    ).headers["Docker-Content-Digest"]
    assert after == latest, repaired.stdout + repaired.stderr
    assert "v2.0.0" in hub_tags["tags"]


def test_a_registry_that_fails_the_repair_s_writes_is_reported_and_the_others_repaired(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """Both registries drifted; ghcr answers the reads, then fails every write through the
    retries (503). audit --repair still repairs hub (ghcr's repairs come first: matrix.yaml
    lists it first, its primary hub second),
    names ghcr as it names a registry that cannot be reached, prints the whole report
    with --json, and its tip is to run the repair again; once ghcr answers, that does it."""
    from tests.support.faultproxy import Fault

    ghcr = fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, ghcr=front.host, hub=registry.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    world.put_tag("hub", digests["8.4"], "v1.0.0-php-8.3")  # a pin moved by hand
    raw_delete_manifest(f"http://{ghcr.host}", world.repo, digests["8.3"])  # its tags gone
    front.add(Fault("status", status=503, methods=("PUT", "POST", "PATCH"), times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    result = world.run("audit", "--repair", "--json", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out  # ghcr, which answered the reads, still lacks its pin
    report = json.loads(result.stdout)
    assert list(report["unreachable"]) == ["ghcr"], report
    assert "HTTP 503" in report["unreachable"]["ghcr"], report
    assert "hub: v1.0.0-php-8.3 -> " + digests["8.3"] in report["repaired"], report
    kinds = {(f["kind"], f["registry"]) for f in report["findings"]}
    assert ("unreachable", "ghcr") in kinds and ("missing", "ghcr") in kinds, kinds
    assert not any(f["registry"] == "hub" for f in report["findings"]), report["findings"]
    hint = report["error"]["hint"]
    assert "ghcr: the registry is having trouble" in hint, hint
    assert "then run `publisher audit --repair` again" in hint, hint
    assert "needs a rerun of the release or a republish" not in hint, hint
    pin = requests.head(
        f"http://{registry.host}/v2/{world.repo}/manifests/v1.0.0-php-8.3",
        headers={"Accept": OCI_INDEX},
        timeout=10,
    ).headers["Docker-Content-Digest"]
    assert pin == digests["8.3"]
    assert "Traceback" not in out and "internal error" not in out

    front.clear()
    again = world.run("audit", "--repair", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert world.run("verify", "v1.0.0", matrix=matrix).returncode == 0


def test_a_repair_whose_source_registry_fails_names_that_registry_not_the_one_repaired(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """ghcr lost v1.0.0's 8.3 index; hub, which holds it, answers the audit's read of it,
    then fails the repair's through the retries. The repair names hub as the registry that
    could not be reached (ghcr answered everything), not ghcr."""
    from tests.support.faultproxy import Fault

    ghcr, front, world, matrix = hub_behind_a_proxy(
        tmp_path, fresh_registry, proxy_for, write_matrix
    )
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    raw_delete_manifest(f"http://{ghcr.host}", world.repo, digests["8.3"])
    index = f"/manifests/{digests['8.3']}"
    front.add(Fault("status", status=503, method="GET", path=index, skip=1, times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    result = world.run("audit", "--repair", "--json", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    report = json.loads(result.stdout)
    assert list(report["unreachable"]) == ["hub"], report["unreachable"]
    assert "HTTP 503" in report["unreachable"]["hub"], report
    assert "then run `publisher audit --repair` again" in report["error"]["hint"], report
    front.clear()
    again = world.run("audit", "--repair", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_repair_whose_blob_download_fails_names_the_source_registry(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """ghcr lost v1.0.0's 8.3 index, its image and its layers; the repair copies them from
    hub, which answers 503 to every download of those layers through the retries. The
    repair names hub as the registry that could not be reached, not ghcr."""
    from tests.support.faultproxy import Fault

    ghcr, front, world, matrix = hub_behind_a_proxy(
        tmp_path, fresh_registry, proxy_for, write_matrix
    )
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    base = f"http://{ghcr.host}/v2/{world.repo}"
    index = requests.get(
        f"{base}/manifests/{digests['8.3']}", headers={"Accept": OCI_INDEX}, timeout=10
    )
    (child,) = [m["digest"] for m in index.json()["manifests"] if "platform" in m]
    image = requests.get(
        f"{base}/manifests/{child}", headers={"Accept": OCI_MANIFEST}, timeout=10
    ).json()
    for digest in (digests["8.3"], child):
        raw_delete_manifest(f"http://{ghcr.host}", world.repo, digest)
    for layer in image["layers"]:
        assert requests.delete(f"{base}/blobs/{layer['digest']}", timeout=10).status_code == 202
        path = f"/blobs/{layer['digest']}"
        front.add(Fault("status", status=503, method="GET", path=path, times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    result = world.run("audit", "--repair", "--json", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out  # ghcr, which answered, still lacks the 8.3 image
    report = json.loads(result.stdout)
    assert list(report["unreachable"]) == ["hub"], report["unreachable"]
    assert "HTTP 503" in report["unreachable"]["hub"], report
    assert "hub: the registry is having trouble" in report["error"]["hint"], report
    front.clear()
    again = world.run("audit", "--repair", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert world.run("verify", "v1.0.0", matrix=matrix).returncode == 0


def test_a_publish_whose_copy_cannot_download_from_the_source_names_the_source(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """publish copies the release from hub to ghcr; hub answers 503 to every download of
    a layer through the retries. The failure names hub, which failed, with its tip, not
    ghcr, which answered: the user is sent to the registry that is in trouble."""
    from tests.support.faultproxy import Fault

    ghcr, front, world, matrix = hub_behind_a_proxy(
        tmp_path, fresh_registry, proxy_for, write_matrix
    )
    digests = world.seed("v1.0.0", ("8.3", "8.4"), ("linux/amd64",))
    for record in digests.glob("*.json"):
        image = requests.get(
            f"http://{front.upstream}/v2/{world.repo}/manifests/{json.loads(record.read_text())['digest']}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=10,
        ).json()
        for layer in image["layers"]:
            path = f"/blobs/{layer['digest']}"
            front.add(Fault("status", status=503, method="GET", path=path, times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    result = world.run("publish", "v1.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    out = result.stdout + result.stderr
    assert result.returncode == 7, out
    assert f"hub ({front.host}): copy blob " in out, out
    assert f"to {ghcr.host}/{world.repo}: the registry kept failing (HTTP 503)" in out, out
    assert f"ghcr ({ghcr.host}): copy blob" not in out, out
    assert "the registry is having trouble" in out, out
    assert "Traceback" not in out and "internal error" not in out
    front.clear()
    again = world.run("publish", "v1.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_tip_for_a_registry_out_of_order_is_its_own_error_s_advice(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """ghcr answers 503 to everything: it is not a network to check, as it would be for a
    connection refused, but a registry having trouble. verify, audit and check-public each
    give that registry's own advice (wait, or allow more time), then their rerun."""
    from tests.support.faultproxy import Fault

    ghcr = fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=front.host)
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, ("8.4",), ("linux/amd64",))
    front.add(Fault("status", status=503, times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    for command, rerun in (
        (("verify", "v1.0.0"), "publisher verify v1.0.0"),
        (("audit",), "publisher audit"),
        (("check-public", "v1.0.0"), "publisher check-public v1.0.0"),
    ):
        result = world.run(*command, "--json", matrix=matrix)
        assert result.returncode == 7, result.stdout + result.stderr
        hint = json.loads(result.stdout)["error"]["hint"]
        assert "ghcr: the registry is having trouble; retry later, or allow more time" in hint
        assert "network, DNS" not in hint, hint
        assert f"then run `{rerun}` again" in hint, hint


def test_a_registry_that_rate_limits_the_reads_is_reported_beside_the_others(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """ghcr answers 429 to everything: verify and audit still check hub, name ghcr as
    rate limited with what it said and its advice, and exit 6 (rate limited) as nothing
    else is wrong; a defect on hub makes it 12, ghcr still named beside it."""
    from tests.support.faultproxy import Fault

    ghcr = fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=front.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    front.add(Fault("status", status=429, headers={"Retry-After": "0"}, times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    for command, rerun in (
        (("verify", "v1.0.0"), "publisher verify v1.0.0"),
        (("audit",), "publisher audit"),
    ):
        result = world.run(*command, "--json", matrix=matrix)
        assert result.returncode == 6, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert list(report["rate_limited"]) == ["ghcr"], report
        assert "HTTP 429" in report["rate_limited"]["ghcr"]
        assert report["unreachable"] == {}
        error = report["error"]
        assert error["exit_code"] == 6 and error["kind"] == "rate limited", error
        assert "ghcr: rate-limited the reads, so nothing on it was checked" in error["message"]
        assert (
            "ghcr: wait for the limit to reset, or authenticate to get a higher limit"
            in error["hint"]
        ), error["hint"]
        assert f"then run `{rerun}` again" in error["hint"], error["hint"]
        text = world.run(*command, matrix=matrix)
        out = text.stdout + text.stderr
        assert text.returncode == 6, out
        assert "error: rate limited:" in text.stderr, out
        assert "Traceback" not in out and "internal error" not in out
    checked = json.loads(world.run("verify", "v1.0.0", "--json", matrix=matrix).stdout)
    assert {line["php"]: line["digests"] for line in checked["lines"]} == {
        php: {"hub": digest} for php, digest in digests.items()
    }
    assert ("rate-limited", "ghcr") in {(d["kind"], d["registry"]) for d in checked["defects"]}
    table = world.run("verify", "v1.0.0", matrix=matrix).stdout
    assert any("ghcr" in row and "rate limited" in row for row in table.splitlines()), table

    # A defect on the registry that answers is found and decides the exit code.
    world.put_tag("hub", digests["8.4"], "v1.0.0-php-8.3")
    verify = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    assert verify.returncode == 12, verify.stderr
    kinds = {(d["kind"], d["registry"]) for d in json.loads(verify.stdout)["defects"]}
    assert {("pin-moved", "hub"), ("rate-limited", "ghcr")} <= kinds
    audit = world.run("audit", "--json", matrix=matrix)
    assert audit.returncode == 12, audit.stderr
    kinds = {(f["kind"], f["registry"]) for f in json.loads(audit.stdout)["findings"]}
    assert ("moved", "hub") in kinds and ("rate-limited", "ghcr") in kinds


def test_a_registry_that_refuses_the_reads_is_reported_beside_the_others(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """A proxy in front of ghcr answers 403 DENIED to everything: verify and audit still
    check hub, name ghcr as refusing the reads with what it said, and exit 4 (access
    denied: a rerun alone gets the same refusal), a defect on hub listed beside it; the
    repair restores hub and writes nothing to ghcr."""
    from tests.support.faultproxy import Fault

    ghcr = fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=front.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    denied = b'{"errors": [{"code": "DENIED", "message": "access to the resource is denied"}]}'
    front.add(Fault("status", status=403, body=denied, times=None))

    for command, kind in ((("verify", "v1.0.0"), "defects"), (("audit",), "findings")):
        result = world.run(*command, "--json", matrix=matrix)
        said = result.stdout + result.stderr
        assert result.returncode == 4, said
        report = json.loads(result.stdout)
        assert [(d["kind"], d["registry"]) for d in report[kind]] == [("refused-read", "ghcr")], (
            said
        )
        assert "ghcr: refused the reads, so nothing on it was" in report[kind][0]["message"]
        assert "denied" in report[kind][0]["message"], said
        assert report["unreachable"] == {} and report["rate_limited"] == {}, said
        assert report["error"]["exit_code"] == 4, said
        assert "the other registries" in report["error"]["hint"], said
        text = world.run(*command, matrix=matrix)
        assert text.returncode == 4, text.stdout + text.stderr
        assert "Traceback" not in text.stderr and "internal error" not in text.stderr
    checked = json.loads(world.run("verify", "v1.0.0", "--json", matrix=matrix).stdout)
    assert checked["refused"] == {"ghcr": checked["defects"][0]["message"].split(": ", 2)[2]}
    assert {line["php"]: line["digests"] for line in checked["lines"]} == {
        php: {"hub": digest} for php, digest in digests.items()
    }
    table = world.run("verify", "v1.0.0", matrix=matrix).stdout
    assert any("ghcr" in row and "refused" in row for row in table.splitlines()), table

    # A defect on the registry that answers is listed beside the refusal.
    world.put_tag("hub", digests["8.4"], "v1.0.0-php-8.3")
    verify = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    assert verify.returncode == 4, verify.stderr
    kinds = {(d["kind"], d["registry"]) for d in json.loads(verify.stdout)["defects"]}
    assert {("pin-moved", "hub"), ("refused-read", "ghcr")} <= kinds
    front.reset_counts()
    audit = world.run("audit", "--repair", "--json", matrix=matrix)
    assert audit.returncode == 4, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    assert [(f["kind"], f["registry"]) for f in report["findings"]] == [("refused-read", "ghcr")]
    assert any("v1.0.0-php-8.3" in line for line in report["repaired"]), report
    assert front.mutating_requests == 0


def test_verify_of_a_release_never_published_says_so_without_judging_floating_tags(
    tmp_path: Path, registry: Any, fresh_registry: Callable[..., Any], write_matrix: Any
) -> None:
    """v1.0.0 is published for amd64; matrix.yaml now adds arm64. `verify v9.9.9` (no pin
    anywhere, no record) says nothing of v9.9.9 is published and how to publish it, not
    that php-8.4 and latest, which carry v1.0.0, lack today's arm64."""
    ghcr = fresh_registry()
    world = make_world(tmp_path, write_matrix, hub=registry.host, ghcr=ghcr.host)
    old = world.matrix("old.yaml", lines=("8.4",), platforms=("linux/amd64",))
    world.publish("v1.0.0", old, ("8.4",), ("linux/amd64",))
    today = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64", "linux/arm64"))

    result = world.run("verify", "v9.9.9", "--json", matrix=today)
    assert result.returncode == 12, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [d["kind"] for d in report["defects"]] == ["tag-missing"], report["defects"]
    said = report["defects"][0]["message"]
    assert said.startswith("nothing of v9.9.9 is published: not one of its pins"), said
    assert said.endswith("is on hub or ghcr"), said  # matrix.yaml's order, the primary first
    assert {tag for line in report["lines"] for tags in line["tags"].values() for tag in tags}
    assert not any(
        digest
        for line in report["lines"]
        for tags in line["tags"].values()
        for digest in tags.values()
    ), report["lines"]
    hint = report["error"]["hint"]
    assert "it was never published" in hint and "`publisher release v9.9.9`" in hint, hint
    text = world.run("verify", "v9.9.9", matrix=today)
    out = text.stdout + text.stderr
    assert text.returncode == 12, out
    assert "error: verification failed: 1 defect found" in text.stderr, out
    assert "arm64" not in text.stderr and "floating" not in text.stderr, text.stderr
    assert "Traceback" not in out


def test_registries_are_named_in_matrix_order_not_by_name(
    tmp_path: Path, fresh_registry: Callable[..., Any], write_matrix: Any
) -> None:
    """matrix.yaml lists hub (the primary), then quay and ghcr, the two others in the
    opposite order of their addresses: publish --dry-run's copies table has a row for
    each in that order; with every registry stopped, verify and audit name each, and
    what to check on it, in that order too, never sorted by name or address."""
    hub, one, two = fresh_registry(), fresh_registry(), fresh_registry()
    late, early = sorted((one, two), key=lambda r: f"http://{r.host}", reverse=True)
    world = make_world(tmp_path, write_matrix, hub=hub.host, quay=late.host, ghcr=early.host)
    matrix = world.matrix("matrix.yaml", lines=("8.4",), platforms=("linux/amd64",))
    digests = world.seed("v1.0.0", ("8.4",), ("linux/amd64",))
    planned = world.run(
        "publish", "v1.0.0", "--digests", str(digests), "--no-smoke", "--dry-run", matrix=matrix
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    copies = planned.stdout[planned.stdout.index("Copies (") :]
    rows = [cells[1] for row in copies.splitlines() if len(cells := row.split()) > 1]
    assert [name for name in rows if name in ("quay", "ghcr")] == ["quay", "ghcr"], copies
    published = world.run(
        "publish", "v1.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix
    )
    assert published.returncode == 0, published.stdout + published.stderr
    for registry in (hub, late, early):
        registry.stop()

    for command, rerun in ((("verify", "v1.0.0"), "verify v1.0.0"), (("audit",), "audit")):
        result = world.run(*command, matrix=matrix)
        assert result.returncode == 7, result.stdout + result.stderr
        tip = result.stderr[result.stderr.index("tip:") :]
        named = [tip.index(f"{name}: check that") for name in ("hub", "quay", "ghcr")]
        assert named == sorted(named), tip
        assert tip.rstrip().endswith(f"then run `publisher {rerun}` again"), tip


def test_a_repair_goes_registry_by_registry_in_matrix_order(
    tmp_path: Path,
    registry: Any,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """matrix.yaml lists hub, quay, ghcr, and a pin moved by hand on each. quay and ghcr
    answer the reads, then fail every write: audit --repair repairs hub, and names quay,
    then ghcr, as registries not reached (findings and tip); once they answer, the repair
    restores quay's pin, then ghcr's. Never sorted by name."""
    from tests.support.faultproxy import Fault

    quay, ghcr = proxy_for(fresh_registry().host), proxy_for(fresh_registry().host)
    world = make_world(tmp_path, write_matrix, hub=registry.host, quay=quay.host, ghcr=ghcr.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    for name in ("hub", "quay", "ghcr"):
        world.put_tag(name, digests["8.4"], "v1.0.0-php-8.3")
    for front in (quay, ghcr):
        front.add(Fault("status", status=503, methods=("PUT", "POST", "PATCH"), times=None))
    world.env = {**world.env, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_MAX_DELAY": "0"}

    result = world.run("audit", "--repair", "--json", matrix=matrix)
    assert result.returncode == 12, result.stdout + result.stderr
    report = json.loads(result.stdout)
    down = [f["registry"] for f in report["findings"] if f["kind"] == "unreachable"]
    assert down == ["quay", "ghcr"], report["findings"]
    hint = report["error"]["hint"]
    assert hint.index("quay: the registry") < hint.index("ghcr: the registry"), hint
    assert report["repaired"] == ["hub: v1.0.0-php-8.3 -> " + digests["8.3"]], report

    for front in (quay, ghcr):
        front.clear()
    summary = tmp_path / "summary.md"
    summary.write_text("", encoding="utf-8")
    world.env = {**world.env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    again = world.run("audit", "--repair", matrix=matrix)
    assert again.returncode == 0, again.stdout + again.stderr
    said = [line for line in again.stdout.splitlines() if "repaired" in line]
    assert said == [  # each repair said once
        f"repaired: {name}: v1.0.0-php-8.3 -> {digests['8.3']}" for name in ("quay", "ghcr")
    ], again.stdout
    # the step summary lists the tags it moved, then its verdict (it held nothing)
    assert summary.read_text(encoding="utf-8") == (
        "### Repaired\n\n"
        + "".join(f"- {n}: v1.0.0-php-8.3 -> {digests['8.3']}\n" for n in ("quay", "ghcr"))
        + "\naudit: 1 release matches its record on every registry\n\n"
    ), summary.read_text(encoding="utf-8")
