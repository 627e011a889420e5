"""The registry client with a real buildah-built multi-arch image (a stand-in: busybox only).

buildah writes a Docker manifest list over OCI image manifests: a mixed case the
client must copy byte for byte. skopeo cross-checks the digests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.registry import RegistryClient
from publisher.core.config import Extensions, Line, Registry
from publisher.core.platforms import Platform
from publisher.core.reference import Reference, parse
from publisher.stages.verify import check_index
from tests.conftest import require_tool
from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.integration

ARM64_BUSYBOX = Path("/tmp/bbarm/bin/busybox")
CONTAINERFILE = """\
FROM scratch
ARG TARGETARCH
COPY payload-${TARGETARCH} /bin/busybox
LABEL dev.publisher.stand-in="true" dev.publisher.test-run="RUN_ID"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A two-platform manifest list built by buildah, plus a one-platform OCI layout."""
    buildah = require_tool("buildah")
    context = tmp_path_factory.mktemp("buildah-context")
    run_id = uuid.uuid4().hex[:12]
    (context / "Containerfile").write_text(CONTAINERFILE.replace("RUN_ID", run_id))
    (context / "payload-amd64").write_bytes(
        Path("/bin/busybox").read_bytes() if Path("/bin/busybox").exists() else os.urandom(200_000)
    )
    # The arm64 busybox when it is around; otherwise stand-in bytes (nothing runs them here).
    (context / "payload-arm64").write_bytes(
        ARM64_BUSYBOX.read_bytes() if ARM64_BUSYBOX.exists() else os.urandom(200_000)
    )
    name = f"localhost/publisher-regtest-{run_id}"

    def run(*args: str) -> str:
        return subprocess.run([buildah, *args], capture_output=True, text=True, check=True).stdout

    run(
        "build",
        "--isolation",
        "chroot",
        "--platform",
        "linux/amd64,linux/arm64",
        "--manifest",
        name,
        "-f",
        str(context / "Containerfile"),
        str(context),
    )
    run(
        "build",
        "--isolation",
        "chroot",
        "--platform",
        "linux/arm64",
        "-t",
        f"{name}-arm64",
        "-f",
        str(context / "Containerfile"),
        str(context),
    )
    layout = tmp_path_factory.mktemp("layout") / "arm64"
    digest_file = layout.parent / "digest"
    run("push", "--digestfile", str(digest_file), f"{name}-arm64", f"oci:{layout}")
    try:
        yield {
            "buildah": buildah,
            "name": name,
            "layout": layout,
            "layout_digest": digest_file.read_text().strip(),
        }
    finally:
        subprocess.run([buildah, "manifest", "rm", name], capture_output=True, check=False)
        ids = run("images", "-q", "--filter", f"label=dev.publisher.test-run={run_id}").split()
        if ids:
            subprocess.run(
                [buildah, "rmi", "-f", *sorted(set(ids))], capture_output=True, check=False
            )


def skopeo_raw_digest(reference: str) -> str:
    skopeo = require_tool("skopeo")
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True,
        check=True,
    ).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_buildah_image_copy_verify_and_layout(
    built: dict[str, Any],
    registry: Any,
    second_registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    proxy_for: Callable[[Any], FaultProxy],
) -> None:
    subprocess.run(
        [
            built["buildah"],
            "manifest",
            "push",
            "--all",
            "--tls-verify=false",
            built["name"],
            f"docker://{registry.host}/{repo}:built",
        ],
        capture_output=True,
        check=True,
    )
    source = make_client(registry)
    ref = Reference(registry.host, repo, "built")
    digest = source.resolve(ref)
    assert digest == skopeo_raw_digest(f"{registry.host}/{repo}:built")
    manifest = source.get_manifest(ref)
    assert manifest.is_index
    sizes = source.platform_sizes(ref)
    assert set(sizes) == {"linux/amd64", "linux/arm64"}
    assert all(size > 100_000 for size in sizes.values())

    counter = proxy_for(second_registry)
    target = make_client(counter)
    assert source.copy(ref.with_digest(digest), target, repo) == digest
    assert skopeo_raw_digest(f"{second_registry.host}/{repo}@{digest}") == digest
    assert counter.uploaded_bytes >= sum(sizes.values())
    counter.reset_counts()
    assert source.copy(ref.with_digest(digest), target, repo) == digest
    assert counter.uploaded_bytes == 0
    target.tag(repo, digest, "v1")
    assert counter.uploaded_bytes == 0

    line = Line(
        "8.4",
        (Platform.AMD64, Platform.ARM64),
        parse("php:8.4-fpm-alpine"),
        Extensions(),
        (),
        (),
        700_000_000,
        "x",
    )
    entry = Registry("ghcr", parse(f"{second_registry.host}/{repo}"), False)
    result = check_index(make_client(second_registry), entry, digest, line)
    assert result.ok, result.defects
    assert result.sizes == sizes

    layout_digest = make_client(registry).push_layout(built["layout"], repo + "-layout")
    assert layout_digest == built["layout_digest"]
    layout_sizes = make_client(registry).platform_sizes(
        Reference(registry.host, repo + "-layout", digest=layout_digest)
    )
    assert list(layout_sizes) == ["linux/arm64"]
    # The same layer; only the config (its build time) may differ by a few bytes.
    assert abs(layout_sizes["linux/arm64"] - sizes["linux/arm64"]) < 100
