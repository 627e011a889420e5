"""What Docker Hub and GHCR do that a plain distribution registry does not, reproduced on
loopback: token scopes per repository, blob downloads redirected to another host.

Each test puts the real registry behind the token server or a small HTTP server that
answers the way Hub or GHCR do, and drives the registry client through it.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.registry import Credentials, RegistryClient
from publisher.core.errors import AuthError, InvalidResponseError, UnreachableError
from publisher.core.reference import Reference
from publisher.resolve import (
    BasicCredentials,
    DockerfileFacts,
    Inputs,
    Status,
    Target,
    choose,
    decide,
    probe,
)
from tests.conftest import require_tool
from tests.support.connectproxy import ConnectProxy
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.httpserver import LoopbackServer
from tests.support.images import digest_of, make_image, write_layout
from tests.support.tokenserver import TokenServer

pytestmark = pytest.mark.integration

PUSHER = Credentials("pusher", "pusher-scoped-secret-41c7")
READER = Credentials("reader", "reader-scoped-secret-93be")


class ScopedTokenServer(TokenServer):
    """A token server that grants ``PUSHER`` and anonymous users nothing on the repositories
    in ``withheld``, whatever they may do elsewhere (as Hub does for a repository the
    account cannot read, or that does not exist)."""

    withheld: frozenset[str] = frozenset()

    def issue(
        self, account: str | None, scopes: list[str], actions_allowed: str, service: str
    ) -> str:
        if account in (PUSHER.username, None):
            scopes = [s for s in scopes if s.split(":")[1] not in self.withheld]
        return super().issue(account, scopes, actions_allowed, service)


@pytest.fixture
def scoped_registry() -> Iterator[tuple[LocalRegistry, ScopedTokenServer]]:
    require_tool("docker-registry", "registry")
    server = ScopedTokenServer(
        users={
            PUSHER.username: (PUSHER.password, "pull,push"),
            READER.username: (READER.password, "pull,push"),
        },
        anonymous_actions="pull",
    ).start()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = server.registry_auth_config(Path(tmp) / "signer.pem")
            with LocalRegistry(extra_config=config) as reg:
                yield reg, server
        finally:
            server.stop()


def test_a_mount_whose_token_lacks_pull_on_the_source_falls_back_to_an_upload(
    scoped_registry: tuple[LocalRegistry, ScopedTokenServer],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    tmp_path: Path,
) -> None:
    """A mount asks for pull on the source (``repository:<from>:pull``, as Hub requires);
    a token server that grants push on the target but nothing on the source makes the
    registry answer 401 insufficient_scope: the blobs are uploaded instead, the copy
    succeeds, and the refused source is not asked again for every blob."""
    registry, server = scoped_registry
    proxy = proxy_for(registry)
    source = make_client(proxy, credentials=READER)
    image = make_image(layer_sizes=(3000, 2000))
    digest = source.push_layout(write_layout(image, tmp_path / "layout"), "team/source")
    server.withheld = frozenset({"team/source"})
    server.clear()
    proxy.reset_counts()
    target = make_client(proxy, credentials=PUSHER)
    ref = Reference(proxy.host, "team/source", digest=digest)
    assert source.copy(ref, target, "team/target", transfers=1) == digest
    asked = [scopes for scopes in server.scopes_requested() if "team/source:pull" in scopes[-1]]
    assert asked[0] == ["repository:team/target:pull,push", "repository:team/source:pull"]
    # Refused once (a try and its one re-authentication), then every blob was uploaded.
    assert len(proxy.mounts()) == 2
    assert all(s.status == 401 for s in proxy.mounts())
    assert sorted(proxy.uploads_by_digest()) == sorted(image.blobs)
    assert target.get_manifest(Reference(proxy.host, "team/target", digest=digest)).body == (
        image.index
    )


class BlobCdn(LoopbackServer):
    """A stand-in for the CDN Hub and GHCR send blob downloads to: serves ``blobs`` at
    ``/blobs/<digest>`` (or what ``answers`` says for a path), and records each request's
    path and headers."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    def location(self, digest: str) -> str:
        return f"{self.url}/blobs/{digest}?signature=abc&expires=60"

    def start(self) -> BlobCdn:
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                cdn.seen.append((self.path, dict(self.headers.items())))
                path = urlsplit(self.path).path
                status, headers, body = cdn.answers.get(path, (404, {}, b"no such blob"))
                digest = path.rsplit("/", 1)[-1]
                if path not in cdn.answers and digest in cdn.blobs:
                    status, headers, body = 200, {}, cdn.blobs[digest]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

        self._serve(Handler)
        return self


@pytest.fixture
def cdn() -> Iterator[Callable[[dict[str, bytes]], BlobCdn]]:
    with contextlib.ExitStack() as started:
        yield lambda blobs: started.enter_context(BlobCdn(blobs))


def _redirect_blobs(
    proxy: FaultProxy, cdn: BlobCdn, digests: Iterable[str], method: str = "GET"
) -> None:
    """Answer every blob GET (or HEAD) of ``digests`` with a 307 to ``cdn``, as Hub and
    GHCR do."""
    for digest in digests:
        proxy.add(
            Fault(
                "status",
                method=method,
                path=f"/blobs/{digest}",
                status=307,
                headers={"Location": cdn.location(digest)},
                times=None,
            )
        )


def test_a_blob_download_redirected_to_a_cdn_is_followed_without_the_token(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    tmp_path: Path,
) -> None:
    proxy = proxy_for(token_registry)
    client = make_client(proxy, credentials=token_registry.pusher)
    image = make_image(("linux/amd64",), layer_sizes=(300_000,))
    repo = "hub/redirected"
    client.push_layout(write_layout(image, tmp_path / "layout"), repo)
    store = cdn(dict(image.blobs))
    _redirect_blobs(proxy, store, image.blobs)
    config, layer = (digest_of(b) for b in (image.images[0].config, image.images[0].layers[0]))
    assert client.get_blob(repo, config) == image.blobs[config]
    client.download_blob(repo, layer, len(image.blobs[layer]), tmp_path / "layer")
    assert (tmp_path / "layer").read_bytes() == image.blobs[layer]
    assert len(store.seen) == 2
    assert all("Authorization" not in headers for _path, headers in store.seen)
    assert all("signature=abc" in path for path, _headers in store.seen)  # the query is kept
    # The registry itself got the token: the request was authenticated before it was sent on.
    assert all("Authorization" in s.headers for s in proxy.log if s.fault == "status")


def test_a_blob_head_redirected_to_a_cdn_is_answered_there_without_the_token(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    tmp_path: Path,
) -> None:
    """The copies' HEADs of the blobs under an index a registry holds (every rerun) may be
    sent to a CDN, as a download is: followed without the token, the CDN's answer taken
    (a registry answers 404 itself for a blob it does not hold, and redirects only
    what it holds)."""
    proxy = proxy_for(token_registry)
    client = make_client(proxy, credentials=token_registry.pusher)
    image = make_image(("linux/amd64",), layer_sizes=(1000,))
    repo = "hub/redirected-heads"
    client.push_layout(write_layout(image, tmp_path / "layout"), repo)
    store = cdn(dict(image.blobs))
    _redirect_blobs(proxy, store, image.blobs, method="HEAD")
    assert all(client.blob_exists(repo, digest) for digest in image.blobs)
    assert len(store.seen) == len(image.blobs)
    assert not client.blob_exists(repo, "sha256:" + "0" * 64)  # the registry's own 404
    assert all("Authorization" not in headers for _path, headers in store.seen)


def test_what_the_cdn_refuses_is_retried_and_never_answered_with_credentials(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    tmp_path: Path,
) -> None:
    """A 401 or 403 from the host a download was redirected to (an expired signed URL) is
    that host's, not the registry's: no token dance with a challenge it sends (which would
    hand the registry's credentials to a realm of its choosing), no advice about the
    password; a retry asks the registry again for a fresh URL, and the error names the host."""
    proxy = proxy_for(token_registry)
    client = make_client(proxy, credentials=token_registry.pusher)
    image = make_image(("linux/amd64",))
    repo = "hub/expired"
    client.push_layout(write_layout(image, tmp_path / "layout"), repo)
    layer = digest_of(image.images[0].layers[0])
    store = cdn({})
    _redirect_blobs(proxy, store, [layer])
    with TokenServer() as elsewhere:
        challenge = f'Bearer realm="{elsewhere.realm}",service="cdn",scope="blob:read"'
        store.answers[f"/blobs/{layer}"] = (401, {"WWW-Authenticate": challenge}, b"")
        with pytest.raises(UnreachableError) as info:
            client.download_blob(repo, layer, len(image.blobs[layer]), tmp_path / "blob")
        assert elsewhere.requests == []  # the credentials went nowhere
    assert f"{store.host} (where the registry sent us) kept failing (HTTP 401)" in str(info.value)
    assert proxy.count("GET", "blob") == 3  # each attempt asked the registry again
    expired = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    store.answers[f"/blobs/{layer}"] = (403, {"Content-Type": "application/xml"}, expired)
    with pytest.raises(UnreachableError) as info:
        client.get_blob(repo, layer)
    assert "HTTP 403: <Error><Code>AccessDenied" in str(info.value)
    assert "password" not in str(info.value.hint) and store.host in str(info.value.hint)
    # The client still talks to the registry with its token afterwards.
    store.answers.clear()
    store.blobs[layer] = image.blobs[layer]
    assert client.get_blob(repo, layer) == image.blobs[layer]


def test_a_redirect_loop_is_a_clear_error(
    registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
) -> None:
    image = make_image(("linux/amd64",))
    seed(registry, "hub/loop", image)
    proxy = proxy_for(registry)
    config = digest_of(image.images[0].config)
    store = cdn({})
    _redirect_blobs(proxy, store, [config])
    store.answers[f"/blobs/{config}"] = (307, {"Location": store.location(config)}, b"")
    with pytest.raises(InvalidResponseError) as info:
        make_client(proxy).get_blob("hub/loop", config)
    assert "the redirects go round in a loop" in info.value.message
    assert info.value.exit_code == 8


def test_a_cdn_that_cannot_be_reached_is_named(
    registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
) -> None:
    image = make_image(("linux/amd64",))
    seed(registry, "hub/gone", image)
    proxy = proxy_for(registry)
    config = digest_of(image.images[0].config)
    with BlobCdn({}) as gone:
        nowhere = gone.location(config)
        host = gone.host
    proxy.add(Fault("status", method="GET", status=307, headers={"Location": nowhere}, times=None))
    with pytest.raises(UnreachableError) as info:
        make_client(proxy).get_blob("hub/gone", config)
    assert f"connection refused (nothing listens on that port) (at {host}," in info.value.message
    assert f"check that {host} is reachable" in str(info.value.hint)


def test_the_proxy_for_a_redirected_download_is_chosen_for_where_it_goes(
    registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    seed: Callable[..., str],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The registry by a name only the proxy knows (so reached through HTTP_PROXY) sends
    a download to a CDN: a CDN on loopback is reached directly, a CDN named in NO_PROXY
    directly too, any other through the proxy."""
    image = make_image(("linux/amd64",))
    seed(registry, "hub/proxied", image)
    config = digest_of(image.images[0].config)
    front = proxy_for(registry)
    store = cdn({config: image.blobs[config]})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    names = {"registry.test": "127.0.0.1", "cdn.test": "127.0.0.1"}
    with ConnectProxy(names) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        client = make_client(f"registry.test:{front.port}")

        def fetched_through_proxy(location: str) -> list[str]:
            front.clear()
            front.add(
                Fault(
                    "status", method="GET", status=307, headers={"Location": location}, times=None
                )
            )
            proxy.requests.clear()
            assert client.get_blob("hub/proxied", config) == image.blobs[config]
            return [r for r in proxy.requests if "signature=" in r]

        assert fetched_through_proxy(store.location(config)) == []  # loopback: direct
        named = store.location(config).replace("127.0.0.1", "cdn.test")
        assert fetched_through_proxy(named) == [f"GET {named}"]
        monkeypatch.setenv("NO_PROXY", "example.com,cdn.test")
        with pytest.raises(UnreachableError) as info:  # direct, and only the proxy knows it
            fetched_through_proxy(named)
        assert "the host name does not resolve (DNS) (at cdn.test:" in info.value.message
        assert not [r for r in proxy.requests if "cdn.test" in r]


@pytest.fixture
def short_tokens(request: pytest.FixtureRequest) -> Iterator[tuple[LocalRegistry, TokenServer]]:
    """A registry whose tokens work for 2 s (Hub's work for 300 s, a release takes longer);
    its token answers have the fields the test's parameter names, if it has one."""
    require_tool("docker-registry", "registry")
    server = TokenServer(
        users={PUSHER.username: (PUSHER.password, "pull,push")},
        anonymous_actions="pull",
        lifetime=2,
    )
    server.answer_fields = getattr(request, "param", server.answer_fields)
    server.start()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = server.registry_auth_config(Path(tmp) / "signer.pem")
            with LocalRegistry(extra_config=config) as reg:
                yield reg, server
        finally:
            server.stop()


def test_the_stand_in_token_server_keeps_the_lifetime_it_says_even_at_a_seconds_end(
    short_tokens: tuple[LocalRegistry, TokenServer],
) -> None:
    """``exp`` is whole seconds: a 2 s token asked for in the last tenth of a second still
    works 1.5 s later at the real registry (counted from the second's start it died 1.1 s
    after it was issued, and one-second tokens could die before skopeo used them), and no
    longer 3.1 s later."""
    registry, server = short_tokens
    base = f"http://{registry.host}/v2/hub/none/tags/list"
    while time.time() % 1 < 0.9:
        time.sleep(0.01)
    with urllib.request.urlopen(
        f"{server.realm}?service=publisher-test-registry&scope=repository:hub/none:pull"
    ) as answer:
        token = json.load(answer)["token"]

    def status() -> int:
        ask = urllib.request.Request(base, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(ask) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return refused.code

    time.sleep(1.5)
    assert status() == 404  # allowed in: the repository does not exist
    time.sleep(1.6)
    assert status() == 401


def test_a_chunked_upload_that_outlives_its_token_finishes(
    short_tokens: tuple[LocalRegistry, TokenServer],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """An upload longer than the token's lifetime: the token is renewed before it runs out
    (``expires_in``), so no PATCH of the upload meets a 401, which would throw the bytes
    sent so far away and start again, and again, never finishing."""
    registry, _server = short_tokens
    proxy = proxy_for(registry)
    client = make_client(proxy, credentials=PUSHER)
    client.upload_chunk = 64 * 1024
    blob = bytes(range(256)) * 2048  # 512 KiB: 8 PATCH requests
    digest = digest_of(blob)
    # A slow uplink: 0.4 s per 64 KiB, so the upload takes over 3 s.
    proxy.add(Fault("throttle", method="PATCH", stall_seconds=0.4, times=None))
    assert client.push_blob("hub/slow", digest, blob)
    patches = [s for s in proxy.log if s.method == "PATCH"]
    assert len(patches) == 8 and all(s.status == 202 for s in patches)
    assert client.get_blob("hub/slow", digest, limit=len(blob)) == blob


@pytest.mark.parametrize(
    "short_tokens",
    [
        ("access_token",),
        ("token",),
        ("token", "expires_in"),
        ("token", "access_token", "expires_in", "issued_at"),
    ],
    indirect=True,
    ids=["access_token only", "token only", "token and expires_in", "as Hub answers"],
)
def test_tokens_that_expire_during_a_run_are_renewed_one_401_at_most_per_request(
    short_tokens: tuple[LocalRegistry, TokenServer],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    tmp_path: Path,
) -> None:
    """Every token answer shape Hub, GHCR and others send works, and a run that outlives
    its tokens goes on: each request meets at most one 401 (then a new token), none fails."""
    registry, server = short_tokens
    proxy = proxy_for(registry)
    client = make_client(proxy, credentials=PUSHER)
    image = make_image(layer_sizes=(4000, 3000))
    digest = client.push_layout(write_layout(image, tmp_path / "layout"), "hub/long")
    time.sleep(3.1)  # a 2 s token dies within 3 s of its issue
    source = Reference(proxy.host, "hub/long", digest=digest)
    assert client.copy(source, client, "hub/long-copy", transfers=1) == digest
    time.sleep(3.1)
    assert client.resolve(source) == digest
    client.tag("hub/long", digest, "v1")
    time.sleep(3.1)
    anonymous = make_client(proxy)
    assert anonymous.get_manifest(source.with_digest(digest)).body == image.index
    assert client.list_tags("hub/long") == ["v1"]
    log = [(s.method, s.path, s.status) for s in proxy.log]
    for i, (method, path, status) in enumerate(log):
        if status == 401:
            again = next(s for m, p, s in log[i + 1 :] if (m, p) == (method, path))
            assert again != 401, f"{method} {path} met 401 twice"
    assert all(s in (200, 201, 202, 204, 307, 401, 404) for _m, _p, s in log), log
    assert len(server.requests) < len(log)


def test_resolve_follows_a_config_download_to_a_cdn_and_never_answers_its_challenge(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    tmp_path: Path,
) -> None:
    """resolve's light probe reads the config of a single-platform image: redirected to a
    CDN, it goes there without the token and checks the digest; a 401 the CDN sends back
    is a registry error, not a token request with the credentials to a realm it names."""
    proxy = proxy_for(token_registry)
    client = make_client(proxy, credentials=token_registry.pusher)
    image = make_image(("linux/amd64",))
    single = image.images[0]
    client.push_layout(write_layout(image, tmp_path / "layout"), "hub/single")
    client.put_manifest("hub/single", single.manifest, single.media_type, tag="v1")
    store = cdn(dict(single.blobs))
    _redirect_blobs(proxy, store, single.blobs)
    target = Target(proxy.host, "hub/single", "v1", "linux/amd64", plain_http=True)
    pusher = token_registry.pusher
    credentials = BasicCredentials(pusher.username, pusher.password)
    found = probe(target, env={}, timeout=10, credentials=credentials)
    assert found.status == Status.AVAILABLE, found.detail
    assert [("Authorization" in headers) for _path, headers in store.seen] == [False]
    config = f"/blobs/{digest_of(single.config)}"
    store.answers[config] = (200, {}, b'{"architecture":"amd64","os":"linux"}')
    altered = probe(target, env={}, timeout=10, credentials=credentials)
    assert altered.status == Status.REGISTRY_ERROR
    assert "a config with a wrong digest" in altered.detail
    with TokenServer() as elsewhere:
        challenge = f'Bearer realm="{elsewhere.realm}",service="cdn"'
        store.answers[config] = (401, {"WWW-Authenticate": challenge}, b"")
        refused = probe(target, env={}, timeout=10, credentials=credentials)
        assert elsewhere.requests == []
    assert refused.status == Status.REGISTRY_ERROR
    assert "answered HTTP 401 for the image config" in refused.detail


def test_a_pull_refused_with_401_may_be_a_repository_that_does_not_exist(
    scoped_registry: tuple[LocalRegistry, ScopedTokenServer],
    make_client: Callable[..., RegistryClient],
) -> None:
    """Docker Hub and GHCR answer 401, not 404, for a repository they do not have, to
    anonymous users and accounts alike: the advice for a refused pull says so, besides
    the credentials (a mistyped base image is the usual cause)."""
    registry, server = scoped_registry
    server.withheld = frozenset({"library/phpp"})
    ref = Reference(registry.host, "library/phpp", "8.4-fpm-alpine")
    for who in (None, PUSHER):
        with pytest.raises(AuthError) as info:
            make_client(registry, credentials=who).get_manifest(ref)
        assert info.value.exit_code == 4
        assert "or the repository does not exist" in str(info.value.hint), info.value.hint


def test_a_copy_from_a_registry_that_sends_downloads_to_a_cdn(
    token_registry: Any,
    registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    cdn: Callable[[dict[str, bytes]], BlobCdn],
    tmp_path: Path,
) -> None:
    """publish copies from the primary (Hub) to the others: its blob downloads go to the
    CDN without the token, and a blob the CDN alters is never stored or referenced."""
    source_proxy = proxy_for(token_registry)
    source = make_client(source_proxy, credentials=token_registry.pusher)
    image = make_image(attestations=True, layer_sizes=(50_000,))
    digest = source.push_layout(write_layout(image, tmp_path / "layout"), "hub/copied")
    store = cdn(dict(image.blobs))
    _redirect_blobs(source_proxy, store, image.blobs)
    target = make_client(registry)
    ref = Reference(source_proxy.host, "hub/copied", digest=digest)
    assert source.copy(ref, target, "mirror/copied") == digest
    assert len(store.seen) == len(image.blobs)
    assert not any("Authorization" in headers for _path, headers in store.seen)
    altered = make_image(("linux/amd64",), layer_sizes=(40_000,))
    bad = source.push_layout(write_layout(altered, tmp_path / "altered"), "hub/altered")
    layer = digest_of(altered.images[0].layers[0])
    store.blobs.update(altered.blobs)
    store.blobs[layer] = altered.blobs[layer][:-1] + b"!"
    _redirect_blobs(source_proxy, store, altered.blobs)
    with pytest.raises(InvalidResponseError, match="does not match its digest"):
        source.copy(Reference(source_proxy.host, "hub/altered", digest=bad), target, "mirror/x")
    assert not target.blob_exists("mirror/x", layer)
    assert not target.manifest_exists("mirror/x", altered.images[0].digest)


@pytest.mark.parametrize("said", [10**400, -5, "soon", 1e300])
def test_a_token_answer_with_an_unusable_expires_in_keeps_the_default_lifetime(
    said: Any, make_client: Callable[..., RegistryClient], tmp_path: Path
) -> None:
    """``expires_in`` too large for a float (a whole number of 400 digits), negative,
    not a number or absurdly long: the token is used for the token specification's 60 s,
    and nothing fails in the answer's parser."""
    require_tool("docker-registry", "registry")
    server = TokenServer(
        users={PUSHER.username: (PUSHER.password, "pull,push")}, said_expires_in=said
    ).start()
    try:
        config = server.registry_auth_config(tmp_path / "signer.pem")
        with LocalRegistry(extra_config=config) as registry:
            client = make_client(registry, credentials=PUSHER)
            image = make_image(platforms=["linux/amd64"])
            digest = client.push_layout(write_layout(image, tmp_path / "layout"), "hub/said")
            assert client.resolve(Reference(registry.host, "hub/said", digest=digest)) == digest
    finally:
        server.stop()


@pytest.fixture(params=["expired", "signed by another key"])
def refused_tokens(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[LocalRegistry, TokenServer]]:
    """A registry that refuses every token its token server grants (``invalid_token``):
    tokens already expired past distribution's 60 s leeway when issued (the token server's
    clock behind the registry's), or signed by a key the registry's rootcertbundle lacks
    (a rotated signing key)."""
    require_tool("docker-registry", "registry")
    server = TokenServer(
        users={PUSHER.username: (PUSHER.password, "pull,push")},
        anonymous_actions="pull",
        lifetime=-120 if request.param == "expired" else 300,
    ).start()
    try:
        config = server.registry_auth_config(tmp_path / "signer.pem")
        if request.param == "signed by another key":
            TokenServer().write_cert(tmp_path / "signer.pem")
        with LocalRegistry(extra_config=config) as registry:
            yield registry, server
    finally:
        server.stop()


def test_a_token_the_registry_refuses_is_not_blamed_on_the_credentials(
    refused_tokens: tuple[LocalRegistry, TokenServer],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The token server takes the credentials and grants a token, and the registry answers
    it 401 invalid_token, again after one new token: the error says the registry refused
    the token its own token server issued, naming invalid_token, and the tip gives the
    likely causes (clocks, the registry's token certificate, issuer or service), never the
    password, the account's access nor the repository's name. resolve's probe says the same
    of its one try, as a registry error, not a refusal of the credentials."""
    registry, server = refused_tokens
    realm = server.realm.split("/")[2]
    ref = Reference(registry.host, "hub/refused", "v1")
    blob = b"refused token"
    for who, refusal in (
        (PUSHER, lambda c: c.get_manifest(ref)),
        (PUSHER, lambda c: c.push_blob("hub/refused", digest_of(blob), blob)),
        (None, lambda c: c.get_manifest(ref)),
    ):
        server.clear()
        with pytest.raises(AuthError) as info:
            refusal(make_client(registry, credentials=who))
        message, hint = info.value.message, info.value.hint or ""
        assert info.value.exit_code == 4
        assert server.requests and all(r.granted for r in server.requests)
        whose = "the credentials of 'pusher'" if who else "an anonymous request"
        assert (
            f"the registry refused the token its own token server ({realm}) issued for {whose}"
        ) in message, message
        assert "(HTTP 401 invalid_token)" in message, message
        assert "clocks of the token server and the registry" in hint, hint
        assert "rootcertbundle" in hint and "issuer" in hint and "service" in hint, hint
        if who:
            assert hint.startswith(
                "the token server accepted the credentials and granted a "
                "token, so the password is not the cause; "
            ), hint
        blames = ("check both", "check the username", "does not exist", "its name", "access")
        for blame in (*blames, "docker login"):
            assert blame not in hint, (blame, hint)

    target = Target(registry.host, "hub/refused", "v1", "linux/amd64", plain_http=True)
    for credentials in (BasicCredentials(PUSHER.username, PUSHER.password), None):
        found = probe(target, env={}, timeout=10, credentials=credentials)
        assert found.status == Status.REGISTRY_ERROR, found.detail
        assert (
            f"{registry.host} refused the token its own token server ({realm}) issued "
            "(HTTP 401 invalid_token)"
        ) in found.detail, found.detail
        assert "clocks of the token server and the registry" in found.detail, found.detail
        assert "refused the credentials" not in found.detail, found.detail
        # what to do: the registry's operator's work, which waiting does not do (t33 N5)
        wanted = Inputs(php="8.4", release="v1", allow_fallback=False)
        dockerfile = DockerfileFacts("dockerfiles/8.4/Dockerfile", True, "php:8.4-fpm-alpine")
        fix = decide(wanted, choose(wanted, None, "linux/amd64"), found, dockerfile).fix or ""
        assert "try again later" not in fix, fix
        assert "have the registry's operator check its log, its clock" in fix, fix
        assert "rootcertbundle" in fix, fix
