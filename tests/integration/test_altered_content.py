"""Content a registry, or a proxy in front of it, alters (a body that does not match its
digest) is that registry's invalid response, not a defect of the release: verify says it
as audit does (one ``invalid-response`` defect, its rows said so, exit 8, the other
registries checked), while content a registry lacks (404) stays a defect of the release.
Real loopback registries, hub behind a fault proxy replacing one body
(``test_registry_outage.hub_behind_a_proxy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_lying_head import hub_alone_is_invalid
from tests.integration.test_registry_outage import hub_behind_a_proxy
from tests.support.faultproxy import Fault
from tests.support.images import OCI_INDEX

pytestmark = pytest.mark.integration

OCI_IMAGE = "application/vnd.oci.image.manifest.v1+json"


def _pieces(host: str, repo: str, index: str) -> dict[str, str]:
    """The index, its platform image and that image's config blob, by their digests."""
    base = f"http://{host}/v2/{repo}/manifests"
    listed = requests.get(f"{base}/{index}", headers={"Accept": OCI_INDEX}, timeout=30).json()
    image = next(m for m in listed["manifests"] if m.get("platform"))["digest"]
    read = requests.get(f"{base}/{image}", headers={"Accept": OCI_IMAGE}, timeout=30).json()
    return {"index": index, "image": image, "config": read["config"]["digest"]}


@pytest.mark.parametrize("altered", ["index", "image", "config"])
def test_verify_says_content_a_registry_alters_as_its_invalid_response(
    altered: str,
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub (the primary) sends the 8.3 index, its platform image or that image's config
    with another body than its digest names: verify says hub sent an invalid response,
    its one defect (not "unreadable", nor a child "cannot be fetched" that a rerun or a
    repair would restore), ghcr checked in full beside it, exit 8. A platform image ghcr
    lacks (404) is still a missing child of the release, said beside hub's answer."""
    ghcr, front, world, matrix = hub_behind_a_proxy(
        tmp_path, fresh_registry, proxy_for, write_matrix
    )
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    piece = _pieces(front.upstream, world.repo, digests["8.3"])[altered]
    where = "/blobs/" if altered == "config" else "/manifests/"
    front.add(Fault("body", method="GET", path=f"{where}{piece}$", body=b"{}", times=None))

    first, _ = hub_alone_is_invalid(world, front, matrix, digests)
    message = first["defects"][0]["message"]
    assert piece in message and "does not match its digest" in message, first
    assert "rewrites it" in first["error"]["hint"], first
    assert "rerun the release" not in first["error"]["hint"], first

    # ghcr loses 8.4's platform image: a missing child there, hub still its one answer
    gone = _pieces(ghcr.host, world.repo, digests["8.4"])["image"]
    world.delete("ghcr", gone)
    result = world.run("verify", "v1.0.0", "--json", matrix=matrix)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said
    kinds = {(d["kind"], d["registry"]) for d in json.loads(result.stdout)["defects"]}
    assert kinds == {
        ("invalid-response", "hub"),
        ("floating-moved", "ghcr"),
        ("child-missing", "ghcr"),
    }, said


def test_a_publish_rerun_stops_on_an_index_a_registry_alters_with_exit_8(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], Any],
    write_matrix: Any,
) -> None:
    """hub sends the 8.3 index with another body than its digest when publish checks it
    before any tag moves: publish stops as on any invalid answer (exit 8, the tip to check
    what rewrites it), writing nothing; it said "verification failed" (exit 12) and "fix
    the cause and rerun"."""
    _, front, world, matrix = hub_behind_a_proxy(tmp_path, fresh_registry, proxy_for, write_matrix)
    digests = world.publish("v1.0.0", matrix, ("8.3", "8.4"), ("linux/amd64",))
    index = digests["8.3"]
    front.add(Fault("body", method="GET", path=f"/manifests/{index}$", body=b"{}", times=None))
    front.reset_counts()
    result = world.rerun("v1.0.0", matrix)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 8, said
    assert "error: invalid registry response:" in said and index in said, said
    assert "does not match its digest" in said and "rewrites it" in said, said
    assert "Traceback" not in said and front.mutating_requests == 0, said
