"""The registry client against the real distribution registry (and skopeo as a cross-check)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from publisher.adapters.registry import OCI_INDEX, Manifest, RegistryClient
from publisher.core.errors import AuthError, InvalidResponseError, NotFoundError
from publisher.core.reference import Reference
from tests.conftest import require_tool
from tests.support import pipeline
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, make_layer, write_layout

pytestmark = pytest.mark.integration


def skopeo_digest(host: str, repo: str, reference: str) -> str:
    """The digest skopeo (an independent client) computes from the raw manifest."""
    return pipeline.skopeo_digest(require_tool("skopeo"), host, repo, reference)


def test_resolve_get_manifest_and_sizes(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], seed: Callable[..., str]
) -> None:
    image = make_image(
        attestations=True, sizes={"linux/amd64": (3000,), "linux/arm64": (5000, 100)}
    )
    digest = seed(registry, repo, image, tags=["v1"])
    client = make_client(registry)
    ref = Reference(registry.host, repo, "v1")
    assert client.resolve(ref) == digest
    assert client.resolve(ref.with_digest(digest)) == digest
    manifest = client.get_manifest(ref)
    assert manifest.digest == digest and manifest.is_index
    assert len(manifest.attestations) == 2
    assert client.platform_sizes(ref) == image.sizes  # attestations excluded
    single = client.platform_sizes(ref.with_digest(image.images[1].digest))
    assert single == {"linux/arm64": image.images[1].compressed_size}
    assert client.manifest_exists(repo, digest)
    assert not client.manifest_exists(repo, "sha256:" + "0" * 64)
    config = client.image_config(repo, client.get_manifest_by_digest(repo, image.images[0].digest))
    assert config["architecture"] == "amd64"


def test_not_found_says_repository_tag_or_digest(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], seed: Callable[..., str]
) -> None:
    seed(registry, repo, make_image(), tags=["v1"])
    client = make_client(registry)
    with pytest.raises(NotFoundError, match=r"repository .* not found"):
        client.resolve(Reference(registry.host, repo + "-missing", "v1"))
    with pytest.raises(NotFoundError, match="tag 'v2' not found") as info:
        client.get_manifest(Reference(registry.host, repo, "v2"))
    # the command the tip gives runs as printed (the loopback registry speaks plain HTTP)
    command = (info.value.hint or "").split("`")[1]
    assert command.startswith("skopeo list-tags "), info.value.hint
    listed = subprocess.run(
        [require_tool("skopeo"), *shlex.split(command)[1:]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Tags"] == ["v1"], listed.stdout
    with pytest.raises(NotFoundError, match=r"digest sha256:0+ not found"):
        client.resolve(Reference(registry.host, repo, digest="sha256:" + "0" * 64))
    assert info.value.exit_code == 5


def test_list_tags_paginates_and_tag_digests(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], seed: Callable[..., str]
) -> None:
    tags = [f"t{i}" for i in range(7)]
    digest = seed(registry, repo, make_image(), tags=tags)
    client = make_client(registry)
    assert client.list_tags(repo) == sorted(tags)
    assert client.list_tags(repo + "-missing") == []
    assert client.tag_digests(repo, ["t1", "t5", "nope"]) == {"t1": digest, "t5": digest}
    assert set(client.tag_digests(repo)) == set(tags)


def test_pagination_follows_link_headers(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
) -> None:
    tags = [f"t{i}" for i in range(5)]
    seed(registry, repo, make_image(), tags=tags)
    proxy.add(Fault("paginate", method="GET", path="/tags/list", page_size=2, times=None))
    client = make_client(proxy)
    assert client.list_tags(repo) == tags
    assert proxy.count("GET", "tags") == 3
    assert [s.path.split("?")[1] for s in proxy.log][1:] == ["n=2&last=t1", "n=2&last=t3"]


def test_a_tag_list_link_naming_the_registry_by_another_name_is_refused_as_a_link(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
) -> None:
    """A tag list's next-page Link that names the registry's own host and port is followed;
    one naming it by another name (a proxy rewriting Link to localhost) is not, with the
    registry's credentials: the error names the tag list's Link (no Location, no data sent
    there) and the tip the host to name the registry by, or the proxy rewriting Link."""
    tags = [f"t{i}" for i in range(5)]
    seed(registry, repo, make_image(), tags=tags)
    paged = Fault("paginate", method="GET", path="/tags/list", page_size=2, times=None)
    client = make_client(proxy)
    proxy.add(dataclasses.replace(paged, link_host=proxy.host))
    assert client.list_tags(repo) == tags
    assert proxy.count("GET", "tags") == 3

    proxy.clear()
    elsewhere = f"localhost:{proxy.port}"
    proxy.add(dataclasses.replace(paged, link_host=elsewhere))
    with pytest.raises(InvalidResponseError) as info:
        client.list_tags(repo)
    message, hint = info.value.message, info.value.hint or ""
    assert (
        f"the tag list of {repo}: its next-page Link names another host "
        f"(http://{elsewhere}); publisher does not follow it with the registry's credentials"
    ) in message, message
    assert "Location" not in message and "send data" not in message, message
    assert f"name the registry by the host its Link names ({elsewhere})" in hint, hint
    assert "rewrites the Link header" in hint and "Location" not in hint, hint
    assert proxy.count("GET", "tags") == 1  # the first page, on the name it was given


def test_copy_to_another_registry_keeps_the_digest_and_is_idempotent(
    registry: Any,
    second_registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
) -> None:
    image = make_image(attestations=True, layer_sizes=(20000,))
    digest = seed(registry, repo, image)
    source = make_client(registry)
    counter = proxy_for(second_registry)
    target = make_client(counter)
    copied = source.copy(Reference(registry.host, repo, digest=digest), target, repo)
    assert copied == digest
    assert skopeo_digest(second_registry.host, repo, digest) == digest
    first_bytes = counter.uploaded_bytes
    assert first_bytes >= sum(len(b) for b in image.blobs.values())

    counter.reset_counts()
    assert source.copy(Reference(registry.host, repo, digest=digest), target, repo) == digest
    assert counter.uploaded_bytes == 0
    assert counter.count(kind="upload") == 0

    counter.reset_counts()
    target.tag(repo, digest, "v9")
    assert counter.uploaded_bytes == 0 and counter.count(kind="upload") == 0
    assert counter.count("PUT", "manifest") == 1
    assert skopeo_digest(second_registry.host, repo, "v9") == digest


def test_copy_within_a_registry_mounts_blobs(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
) -> None:
    """RELIABILITY 7: a 201 mount answer means no upload."""
    image = make_image()
    digest = seed(registry, repo, image)
    client = make_client(proxy)
    dst = repo + "-copy"
    assert client.copy(Reference(proxy.host, repo, digest=digest), client, dst) == digest
    mounts = proxy.mounts()
    assert len(mounts) == len(image.blobs)
    assert all(s.status == 201 for s in mounts)
    assert proxy.count("PUT", "upload") == 0 and proxy.count("PATCH", "upload") == 0
    assert proxy.uploaded_bytes == 0
    assert skopeo_digest(registry.host, dst, digest) == digest


def test_mount_answered_202_falls_back_to_upload(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
) -> None:
    """RELIABILITY 7: a 202 mount answer falls back to a normal upload."""
    image = make_image()
    digest = seed(registry, repo, image)
    # The proxy points every mount at a repository that lacks the blob: the registry answers 202.
    proxy.add(
        Fault(
            "rewrite",
            method="POST",
            path="mount=",
            pattern=r"from=[^&]+",
            replacement="from=nowhere%2Fempty",
            times=None,
        )
    )
    client = make_client(proxy)
    dst = repo + "-copy"
    assert client.copy(Reference(proxy.host, repo, digest=digest), client, dst) == digest
    mounts = proxy.mounts()
    assert mounts and all(s.status == 202 for s in mounts)
    assert proxy.count("PUT", "upload") == len(image.blobs)
    assert skopeo_digest(registry.host, dst, digest) == digest


def test_nothing_to_upload_means_no_upload_requests(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    """RELIABILITY 6: every blob exists already: zero POST, PATCH or PUT to uploads."""
    image = make_image()
    child = image.images[0]
    seed(registry, repo, child)
    layout = write_layout(child, tmp_path / "layout")
    client = make_client(proxy)
    assert client.push_layout(layout, repo) == child.digest
    assert proxy.count(kind="upload") == 0
    assert proxy.uploaded_bytes == 0
    assert proxy.count("HEAD", "blob") == len(child.blobs)


def test_push_layout_pushes_by_digest_without_a_tag(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    image = make_image()
    client = make_client(registry)
    digest = client.push_layout(write_layout(image.images[1], tmp_path / "one"), repo)
    assert digest == image.images[1].digest
    assert client.list_tags(repo) == []
    assert client.platform_sizes(Reference(registry.host, repo, digest=digest)) == {
        "linux/arm64": image.images[1].compressed_size
    }
    index_digest = client.push_layout(write_layout(image, tmp_path / "all"), repo)
    assert index_digest == image.digest
    assert skopeo_digest(registry.host, repo, index_digest) == index_digest


def test_push_blob_skips_existing_and_verifies(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    import random

    client = make_client(registry)
    layer = make_layer(10000, random.Random())
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    path = tmp_path / "blob"
    path.write_bytes(layer)
    assert client.push_blob(repo, digest, path) is True
    assert client.push_blob(repo, digest, layer) is False
    assert client.get_blob(repo, digest, limit=len(layer)) == layer
    with pytest.raises(ValueError, match="does not match"):
        client.push_blob(repo, "sha256:" + "1" * 64, layer)


def test_put_manifest_by_digest_then_tag(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], seed: Callable[..., str]
) -> None:
    image = make_image(docker=True)
    for child in image.images:
        seed(registry, repo, child)
    client = make_client(registry)
    manifest = Manifest.parse(image.index)
    digest = client.put_manifest(repo, image.index, manifest.media_type)
    assert digest == image.digest
    assert client.list_tags(repo) == []
    client.tag(repo, digest, "latest")
    assert client.tag_digests(repo) == {"latest": digest}
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/latest",
        headers={"Accept": manifest.media_type},
        timeout=10,
    )
    assert response.content == image.index
    client.delete_manifest(repo, digest)
    assert not client.manifest_exists(repo, digest)


def test_an_index_with_a_missing_child_is_refused_by_the_registry(
    registry: Any, repo: str, make_client: Callable[..., RegistryClient], seed: Callable[..., str]
) -> None:
    image = make_image()
    seed(registry, repo, image.images[0])  # arm64 child never pushed
    client = make_client(registry)
    with pytest.raises(Exception) as info:
        client.put_manifest(repo, image.index, OCI_INDEX)
    assert getattr(info.value, "exit_code", 0) in (5, 9)
    assert client.list_tags(repo) == []


# ------------------------------------------------------------------- auth


def test_basic_auth(
    basic_registry: Any, repo: str, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    client = make_client(basic_registry, credentials=basic_registry.credentials)
    image = make_image()
    assert client.push_layout(write_layout(image, tmp_path / "l"), repo) == image.digest
    client.tag(repo, image.digest, "v1")
    assert client.list_tags(repo) == ["v1"]


def test_basic_auth_wrong_password_and_anonymous(
    basic_registry: Any, repo: str, make_client: Callable[..., RegistryClient]
) -> None:
    from publisher.adapters.registry import Credentials

    wrong = make_client(basic_registry, credentials=Credentials(basic_registry.username, "wrong"))
    with pytest.raises(AuthError, match="not authorized") as info:
        wrong.list_tags(repo)
    assert info.value.exit_code == 4
    assert "check the username and password" in (info.value.hint or "")
    with pytest.raises(AuthError) as info:
        make_client(basic_registry).list_tags(repo)
    assert info.value.message == (
        f"{basic_registry.host}: the registry requires credentials and refused an anonymous "
        "request (HTTP 401)"
    )


def test_token_auth_requests_push_scope_only_when_pushing(
    token_registry: Any, repo: str, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    server = token_registry.server
    server.clear()
    client = make_client(token_registry, credentials=token_registry.pusher)
    image = make_image()
    client.list_tags(repo)
    assert server.scopes_requested() == [[f"repository:{repo}:pull"]]
    client.push_layout(write_layout(image, tmp_path / "l"), repo)
    scopes = [s for request in server.scopes_requested() for s in request]
    assert f"repository:{repo}:pull,push" in scopes
    server.clear()
    reader = make_client(token_registry, credentials=token_registry.reader)
    assert reader.resolve(Reference(token_registry.host, repo, digest=image.digest)) == image.digest
    assert all(s.endswith(":pull") for r in server.scopes_requested() for s in r)
    anonymous = make_client(token_registry)
    assert (
        anonymous.get_manifest(Reference(token_registry.host, repo, digest=image.digest)).digest
        == image.digest
    )


def test_token_auth_read_only_token_cannot_push(
    token_registry: Any, repo: str, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    reader = make_client(token_registry, credentials=token_registry.reader)
    with pytest.raises(AuthError) as info:
        reader.push_layout(write_layout(make_image(), tmp_path / "l"), repo)
    assert info.value.exit_code == 4
    # The password is fine (the token server accepted it): the account lacks push, and the
    # error says so, as publish and audit --repair meet it, not "check the password".
    assert "the credentials of 'reader'" in info.value.message
    assert "has no push access" in info.value.message
    assert f"token scope needed: repository:{repo}:pull,push" in info.value.message
    assert "password" not in str(info.value.hint)
    assert "give the account push access" in str(info.value.hint)
    with pytest.raises(AuthError):
        reader.check_push(repo)
    pusher = make_client(token_registry, credentials=token_registry.pusher)
    pusher.check_push(repo)


def test_token_auth_wrong_password(
    token_registry: Any, repo: str, make_client: Callable[..., RegistryClient]
) -> None:
    from publisher.adapters.registry import Credentials

    client = make_client(token_registry, credentials=Credentials("pusher", "wrong"))
    with pytest.raises(AuthError, match="token server refused the credentials"):
        client.list_tags(repo)


def test_a_token_server_refusing_a_request_without_credentials_says_none_were_sent(
    fresh_registry: Callable[..., Any],
    repo: str,
    make_client: Callable[..., RegistryClient],
    tmp_path: Path,
) -> None:
    """No credentials found for the registry (a credential helper that has none): the token
    server's 401 is said to refuse an anonymous request, not "the credentials"."""
    from tests.support.tokenserver import TokenServer

    server = TokenServer(anonymous_refused=True).start()
    try:
        reg = fresh_registry(extra_config=server.registry_auth_config(tmp_path / "signer.pem"))
        with pytest.raises(AuthError) as info:
            make_client(reg).list_tags(repo)
    finally:
        server.stop()
    assert [r.account for r in server.requests] == [None]
    assert info.value.message == (
        f"{reg.host}: the token server refused an anonymous request (HTTP 401)"
    )
    assert f"no credentials were found for {reg.host}" in str(info.value.hint)


def test_cross_registry_copy_with_token_auth(
    registry: Any,
    token_registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
) -> None:
    image = make_image(attestations=True)
    digest = seed(registry, repo, image)
    target = make_client(token_registry, credentials=token_registry.pusher)
    assert (
        make_client(registry).copy(Reference(registry.host, repo, digest=digest), target, repo)
        == digest
    )
    assert (
        target.get_manifest(Reference(token_registry.host, repo, digest=digest)).body == image.index
    )
    body = json.loads(image.index)
    assert len(body["manifests"]) == 4


def test_resolve_falls_back_to_get_when_head_is_not_supported(
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    proxy: FaultProxy,
) -> None:
    digest = seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(Fault("status", method="HEAD", path="/manifests/", status=405, times=None))
    assert make_client(proxy).resolve(Reference(proxy.host, repo, "v1")) == digest
    assert proxy.count("HEAD", "manifest") == 1 and proxy.count("GET", "manifest") == 1
