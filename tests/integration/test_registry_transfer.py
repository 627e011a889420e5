"""The transfer engine against real registries behind counting proxies: each blob once."""

from __future__ import annotations

import hashlib
import io
import random
import re
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import ACCEPT, RegistryClient
from publisher.adapters.registry.transfer import Transfers
from publisher.core.errors import DamagedBlobError, InvalidResponseError, UnreachableError
from publisher.core.sizes import human_size
from tests.support.clock import FakeClock
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import TestImage, make_image, make_layer

pytestmark = pytest.mark.integration


def two_lines(layer: int = 40_000) -> tuple[TestImage, TestImage]:
    """Two PHP lines (2 platforms each) sharing one base layer, with attestations."""
    shared = make_layer(layer * 2, random.Random(), "base")
    return (
        make_image(layer_sizes=(layer, layer // 2), shared_layer=shared, attestations=True),
        make_image(layer_sizes=(layer, layer // 2), shared_layer=shared),
    )


def unique_blobs(*images: TestImage) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    for image in images:
        blobs.update(image.blobs)
    return blobs


def upload_puts(proxy: FaultProxy) -> list[str]:
    return [s.path for s in proxy.log if s.method == "PUT" and s.kind == "upload"]


def stored(registry_host: str, repo: str, digest: str) -> bool:
    reply = requests.head(f"http://{registry_host}/v2/{repo}/blobs/{digest}", timeout=10)
    return reply.status_code == 200


def manifest_there(registry_host: str, repo: str, digest: str) -> bool:
    reply = requests.head(
        f"http://{registry_host}/v2/{repo}/manifests/{digest}",
        headers={"Accept": ACCEPT},
        timeout=10,
    )
    return reply.status_code == 200


@pytest.fixture(params=[1, 2], ids=["streamed", "spooled"])
def targets(
    request: pytest.FixtureRequest,
    second_registry: LocalRegistry,
    fresh_registry: Callable[..., LocalRegistry],
) -> list[LocalRegistry]:
    """The registries to copy to: with one the blob streams through, with two it is spooled."""
    return [second_registry] if request.param == 1 else [second_registry, fresh_registry()]


@pytest.fixture
def lines(registry: Any, repo: str, seed: Callable[..., str]) -> tuple[TestImage, TestImage]:
    one, two = two_lines()
    seed(registry, repo, one)
    seed(registry, repo, two)
    return one, two


def test_two_lines_sharing_a_layer_upload_each_blob_once_at_high_parallelism(
    registry: Any,
    second_registry: Any,
    repo: str,
    lines: tuple[TestImage, TestImage],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    one, two = lines
    blobs = unique_blobs(one, two)
    source_proxy, target_proxy = proxy_for(registry), proxy_for(second_registry)
    source, target = make_client(source_proxy), make_client(target_proxy)
    engine = Transfers(workers=32)
    plan = engine.copy(source, repo, [(target, repo)], [one.digest, two.digest])

    assert target_proxy.uploads_by_digest() == Counter(set(blobs))  # each blob exactly once
    assert target_proxy.uploaded_bytes == sum(len(b) for b in blobs.values())
    assert source_proxy.downloads_by_digest() == Counter(set(blobs))  # each downloaded once
    assert plan.download_count == len(blobs)
    for image in lines:
        assert manifest_there(second_registry.host, repo, image.digest)
    # Manifests went children first: every platform manifest before any index.
    puts = [
        s.path.rsplit("/", 1)[1]
        for s in target_proxy.log
        if s.method == "PUT" and s.kind == "manifest"
    ]
    assert set(puts[-2:]) == {one.digest, two.digest}

    # A rerun finds the indexes and stops there: HEADs only, no byte moves.
    source_proxy.reset_counts()
    target_proxy.reset_counts()
    assert (
        Transfers(workers=32).copy(source, repo, [(target, repo)], [one.digest, two.digest]).is_noop
    )
    assert target_proxy.mutating_requests == 0 and target_proxy.uploaded_bytes == 0
    assert target_proxy.count() == 2  # one HEAD per index
    assert source_proxy.count("GET", "blob") == 0


def test_two_target_registries_download_each_blob_once(
    registry: Any,
    second_registry: Any,
    fresh_registry: Callable[..., Any],
    repo: str,
    lines: tuple[TestImage, TestImage],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    one, two = lines
    blobs = unique_blobs(one, two)
    third = fresh_registry()
    source_proxy = proxy_for(registry)
    proxies = [proxy_for(second_registry), proxy_for(third)]
    targets = [(make_client(p), repo) for p in proxies]
    Transfers(workers=16).copy(make_client(source_proxy), repo, targets, [one.digest, two.digest])

    assert source_proxy.downloads_by_digest() == Counter(set(blobs))
    for proxy in proxies:
        assert proxy.uploads_by_digest() == Counter(set(blobs))
        assert proxy.uploaded_bytes == sum(len(b) for b in blobs.values())
    for host in (second_registry.host, third.host):
        assert all(manifest_there(host, repo, image.digest) for image in lines)


def test_two_repositories_of_one_registry_get_one_upload_and_a_mount(
    registry: Any,
    second_registry: Any,
    repo: str,
    lines: tuple[TestImage, TestImage],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """RELIABILITY 7 on the engine: the second repository mounts (201), nothing uploads twice."""
    one, two = lines
    blobs = unique_blobs(one, two)
    target_proxy = proxy_for(second_registry)
    target = make_client(target_proxy)
    mirror = repo + "-mirror"
    Transfers(workers=8).copy(
        make_client(registry), repo, [(target, repo), (target, mirror)], [one.digest, two.digest]
    )
    assert target_proxy.uploads_by_digest() == Counter(set(blobs))
    assert target_proxy.uploaded_bytes == sum(len(b) for b in blobs.values())
    mounts = target_proxy.mounts()
    assert len(mounts) == len(blobs) and all(s.status == 201 for s in mounts)
    assert all(manifest_there(second_registry.host, mirror, i.digest) for i in lines)


def test_a_mount_answered_202_uploads_in_the_session_it_opened(
    registry: Any,
    second_registry: Any,
    repo: str,
    lines: tuple[TestImage, TestImage],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """A registry that answers a cross-repository mount with 202 (an upload session, as
    the distribution spec allows): the blob goes up in that session, one POST per blob,
    not a second session opened beside it (nor the first cancelled)."""
    one, two = lines
    blobs = unique_blobs(one, two)
    target_proxy = proxy_for(second_registry)
    # the registry never sees the mount: it opens a plain upload session, 202
    target_proxy.add(
        Fault("rewrite", method="POST", path="mount=", pattern=r"\?.*", replacement="", times=None)
    )
    target = make_client(target_proxy)
    mirror = repo + "-mirror"
    Transfers(workers=8).copy(
        make_client(registry), repo, [(target, repo), (target, mirror)], [one.digest, two.digest]
    )
    in_mirror = [s for s in target_proxy.log if f"/v2/{mirror}/blobs/uploads/" in s.path]
    assert Counter(s.method for s in in_mirror) == {"POST": len(blobs), "PUT": len(blobs)}
    assert all(s.status == 202 for s in in_mirror if s.method == "POST")
    assert target_proxy.count("DELETE") == 0
    assert target_proxy.uploads_by_digest() == Counter({d: 2 for d in blobs})
    assert all(manifest_there(second_registry.host, mirror, i.digest) for i in lines)
    # Mounted from where the registry holds them already (each blob streamed from the source)
    target_proxy.reset_counts()
    third = repo + "-third"
    Transfers(workers=8).copy(make_client(registry), repo, [(target, third)], [one.digest])
    in_third = [s for s in target_proxy.log if f"/v2/{third}/blobs/uploads/" in s.path]
    blobs_of_one = unique_blobs(one)
    assert Counter(s.method for s in in_third) == {
        "POST": len(blobs_of_one),
        "PUT": len(blobs_of_one),
    }
    assert target_proxy.count("DELETE") == 0
    assert manifest_there(second_registry.host, third, one.digest)


def test_a_reset_mid_upload_retries_the_transfer_in_a_new_session(
    registry: Any,
    second_registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """RELIABILITY 5 on the streaming path (download and upload at once)."""
    image = make_image(platforms=["linux/amd64"], layer_sizes=(300_000,))
    seed(registry, repo, image)
    target_proxy = proxy_for(second_registry)
    target_proxy.add(
        Fault("reset", method="PUT", path="/blobs/uploads/", reset_after=8192, times=1)
    )
    clock = FakeClock()
    target = make_client(target_proxy, retry=clock.policy(attempts=3, max_delay=2.0))
    Transfers(workers=1).copy(make_client(registry), repo, [(target, repo)], [image.digest])
    puts = [s.path for s in target_proxy.log if s.method == "PUT" and s.kind == "upload"]
    sessions = {p.split("/blobs/uploads/")[1].split("?")[0] for p in puts}
    assert len(puts) == len(sessions) == len(image.blobs) + 1  # one retried in a new session
    for digest, data in image.blobs.items():
        body = requests.get(f"http://{second_registry.host}/v2/{repo}/blobs/{digest}", timeout=10)
        assert (
            hashlib.sha256(body.content).hexdigest()
            == digest.split(":")[1]
            == hashlib.sha256(data).hexdigest()
        )
    assert manifest_there(second_registry.host, repo, image.digest)


@pytest.mark.parametrize(
    "failure",
    [
        {"action": "status", "status": 503},  # answered once the whole blob went up
        {"action": "reset", "reset_after": 8192},  # cut off early in the blob
    ],
    ids=["503-after-the-body", "reset-mid-body"],
)
def test_a_retried_upload_downloads_the_blob_once(
    failure: dict[str, Any],
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The first target's upload of the layer fails twice, then goes up: the source is
    asked for the layer once, streamed or spooled (README, "What a release does" step 5),
    not once per attempt."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    proxies = [proxy_for(target) for target in targets]
    uploaded = "/blobs/uploads/.*digest=" + layer.replace(":", "%3A")
    proxies[0].add(Fault(**failure, method="PUT", path=uploaded, times=2))
    clients = [(make_client(p, retry=FakeClock().policy(attempts=3)), repo) for p in proxies]
    Transfers(workers=4).copy(make_client(source_proxy), repo, clients, [image.digest])
    assert source_proxy.downloads_by_digest() == Counter(set(image.blobs))
    assert len([s for s in upload_puts(proxies[0]) if layer.split(":")[1] in s]) == 3
    for proxy in proxies:
        assert proxy.uploads_by_digest() == Counter(set(image.blobs))
        assert (
            hashlib.sha256(
                requests.get(f"http://{proxy.upstream}/v2/{repo}/blobs/{layer}", timeout=10).content
            ).hexdigest()
            == layer.split(":")[1]
        )


def test_a_streamed_blob_with_no_room_to_keep_it_still_goes_up(
    registry: Any,
    second_registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    small_disk: Path,
) -> None:
    """Keeping a streamed blob for the retries is best effort: with no room for it in the
    spool directory, it streams all the same, and a retry downloads it again."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy, target_proxy = proxy_for(registry), proxy_for(second_registry)
    uploaded = "/blobs/uploads/.*digest=" + layer.replace(":", "%3A")
    target_proxy.add(Fault("status", status=503, method="PUT", path=uploaded, times=1))
    target = make_client(target_proxy, retry=FakeClock().policy(attempts=3))
    Transfers(workers=4, spool_dir=small_disk).copy(
        make_client(source_proxy), repo, [(target, repo)], [image.digest]
    )
    assert source_proxy.downloads_by_digest()[layer] == 2
    assert target_proxy.uploads_by_digest() == Counter(set(image.blobs))
    assert list(small_disk.iterdir()) == []


def test_a_corrupted_blob_from_the_source_is_never_stored(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """RELIABILITY 8 for blobs: same length, other bytes: refused, nothing stored, no manifest."""
    image = make_image(platforms=["linux/amd64"], layer_sizes=(200_000,))
    seed(registry, repo, image)
    layer = image.images[0].layers[0]
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    corrupted = bytes([layer[0] ^ 0xFF]) + layer[1:]
    source_proxy = proxy_for(registry)
    source_proxy.add(
        Fault("body", method="GET", path=f"/blobs/{digest}", body=corrupted, times=None)
    )
    proxies = [proxy_for(target) for target in targets]
    clients = [
        (make_client(p, retry=FakeClock().policy(attempts=3, max_delay=2.0)), repo) for p in proxies
    ]
    with pytest.raises(InvalidResponseError, match="does not match its digest"):
        Transfers(workers=4).copy(make_client(source_proxy), repo, clients, [image.digest])
    for proxy in proxies:
        assert not stored(proxy.upstream, repo, digest)
        assert not manifest_there(proxy.upstream, repo, image.images[0].digest)
        assert not manifest_there(proxy.upstream, repo, image.digest)
        # Streamed, the upload stopped short of the last bytes; spooled, it never started.
        puts = [s for s in proxy.log if s.method == "PUT" and digest.split(":")[1] in s.path]
        assert all(s.status is None for s in puts) and len(puts) == (1 if len(targets) == 1 else 0)


def test_a_source_serving_a_blob_whole_but_short_serves_a_damaged_blob(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The source answers a layer's GET with its first 1000 bytes, whole (Content-Length
    1000), as a registry whose copy was cut short in its storage: said at once as a damaged
    blob there (exit 8), both sizes named, not retried nor blamed on the network path."""
    image, digest = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    layer = image.images[0].layers[0]
    source_proxy.add(
        Fault("body", method="GET", path=f"/blobs/{digest}", body=layer[:1000], times=None)
    )
    clients = [
        (make_client(proxy_for(target), retry=FakeClock().policy()), repo) for target in targets
    ]
    source = make_client(source_proxy, retry=FakeClock().policy())
    with pytest.raises(DamagedBlobError) as raised:
        Transfers(workers=4).copy(source, repo, clients, [image.digest])
    said = raised.value.message + (raised.value.hint or "")
    assert "came whole as 1000 bytes" in said and f"not the {len(layer)} bytes" in said, said
    assert "damaged" in said and "network path" not in said, said
    gets = [s for s in source_proxy.log if s.method == "GET" and digest in s.path]
    assert len(gets) == 1, gets
    for target in targets:
        assert not stored(target.host, repo, digest)


def one_layer_image(registry: Any, repo: str, seed: Callable[..., str]) -> tuple[TestImage, str]:
    """An amd64 image of one 200 kB layer on ``registry``, and its layer's digest."""
    image = make_image(platforms=["linux/amd64"], layer_sizes=(200_000,))
    seed(registry, repo, image)
    return image, "sha256:" + hashlib.sha256(image.images[0].layers[0]).hexdigest()


@pytest.mark.parametrize("failing", ["source", "target"])
def test_a_registry_that_keeps_failing_a_blob_copy_is_the_one_named(
    failing: str,
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The source answers 503 to the layer's download, or the target to its upload, through
    the retries: the error is the failing registry's (its label, its host, its tip), whether
    the blob streams through or is spooled; the registry that answered is not blamed."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    proxies = [proxy_for(target) for target in targets]
    failing_proxy = source_proxy if failing == "source" else proxies[0]
    method = "GET" if failing == "source" else "PUT"
    uploaded = "digest=" + layer.replace(":", "%3A")  # as the upload's PUT names it
    where = f"/blobs/{layer}" if failing == "source" else f"/blobs/uploads/.*{uploaded}"
    failing_proxy.add(Fault("status", status=503, method=method, path=where, times=None))
    source = make_client(source_proxy, name="hub")
    clients = [(make_client(p, name=f"mirror{i}"), repo) for i, p in enumerate(proxies)]
    with pytest.raises(UnreachableError) as caught:
        Transfers(workers=4).copy(source, repo, clients, [image.digest])
    error = caught.value
    named = "hub" if failing == "source" else "mirror0"
    assert error.registry == failing_proxy.host, error
    assert str(error).startswith(f"{named} ({failing_proxy.host}): "), error
    assert "the registry kept failing (HTTP 503)" in str(error), error
    assert error.hint and error.hint.startswith("the registry is having trouble"), error.hint
    answered = [p.host for p in (source_proxy, *proxies) if p is not failing_proxy]
    assert not any(host in str(error).split(": ")[0] for host in answered), error
    assert failing_proxy.count(method, "blob" if failing == "source" else "upload") >= 3


def test_a_source_that_keeps_cutting_a_blob_short_is_the_one_named(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The source sends half the layer every time: the error, cut short after the retries,
    is the source's, not the target's it was streaming into."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    source_proxy.add(Fault("truncate", method="GET", path=f"/blobs/{layer}", times=None))
    source = make_client(source_proxy, name="hub")
    clients = [(make_client(target, name="mirror"), repo) for target in targets]
    with pytest.raises(InvalidResponseError) as caught:
        Transfers(workers=4).copy(source, repo, clients, [image.digest])
    error = caught.value
    assert error.registry == source_proxy.host, error
    assert str(error).startswith(f"hub ({source_proxy.host}): "), error
    assert f"blob {layer[:19]}" in str(error), error
    assert error.hint and "the answer was cut short every time" in error.hint, error.hint
    assert not any(stored(target.host, repo, layer) for target in targets)


@pytest.mark.parametrize(
    ("action", "said"),
    [("cut", "the connection was reset"), ("bad_chunk", "a chunk of the body was malformed")],
    ids=["reset", "bad-chunk"],
)
def test_a_download_cut_off_is_said_in_words_not_python_reprs(
    action: str,
    said: str,
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The source's download of a layer breaks off every time, reset half-way or with a
    chunk whose size line is no number: the error says so as the upload side says a
    reset, never with the exception reprs urllib3 nests it in."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    source_proxy.add(Fault(action, method="GET", path=f"/blobs/{layer}", times=None))
    source = make_client(source_proxy, name="hub", retry=FakeClock().policy(attempts=2))
    clients = [(make_client(target, name="mirror"), repo) for target in targets]
    with pytest.raises(InvalidResponseError) as caught:
        Transfers(workers=4).copy(source, repo, clients, [image.digest])
    message = caught.value.message
    assert message.startswith(f"hub ({source_proxy.host}): "), message
    assert f"the response body was cut off: {said} after " in message, message
    for noise in ("Connection broken", "Error(", "InvalidChunkLength", "(("):
        assert noise not in message, message
    assert not any(stored(target.host, repo, layer) for target in targets)


def test_a_source_that_stalls_a_streamed_copy_is_the_one_named(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The source sends the layer's headers, then nothing for 5 s, past its 0.5 s time
    limit: the stalled transfer is the source's, not the target's (with 10 s, it was
    waiting for the bytes to stream)."""
    image, layer = one_layer_image(registry, repo, seed)
    source_proxy = proxy_for(registry)
    source_proxy.add(
        Fault(
            "drip", drip="body", stall_seconds=5.0, method="GET", path=f"/blobs/{layer}", times=None
        )
    )
    source = make_client(source_proxy, name="hub", timeout=0.5)
    clients = [(make_client(target, name="mirror"), repo) for target in targets]
    with pytest.raises(UnreachableError) as caught:
        Transfers(workers=4).copy(source, repo, clients, [image.digest])
    error = caught.value
    assert error.registry == source_proxy.host, error
    assert str(error).startswith(f"hub ({source_proxy.host}): "), error
    assert "the transfer stalled: 0 bytes in the last 0.5 s" in str(error), error
    source_proxy.release()


def test_large_blobs_go_up_in_chunks(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    image = make_image(platforms=["linux/amd64"], layer_sizes=(250_000,))
    seed(registry, repo, image)
    layer = image.images[0].layers[0]
    proxies = [proxy_for(target) for target in targets]
    clients = []
    for proxy in proxies:
        client = make_client(proxy)
        client.upload_chunk = 100_000
        clients.append((client, repo))
    Transfers(workers=4).copy(make_client(registry), repo, clients, [image.digest])
    for proxy in proxies:
        patches = [s for s in proxy.log if s.method == "PATCH"]
        pieces = [
            (start, min(start + 100_000, len(layer)) - 1) for start in range(0, len(layer), 100_000)
        ]
        assert [s.headers["Content-Range"] for s in patches] == [f"{a}-{b}" for a, b in pieces]
        assert proxy.uploaded_bytes == sum(len(b) for b in image.blobs.values())
        assert manifest_there(proxy.upstream, repo, image.digest)


def test_concurrent_copies_share_the_transfer_in_flight(
    registry: Any,
    second_registry: Any,
    repo: str,
    lines: tuple[TestImage, TestImage],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """Two copies at once through one Transfers (one line each): the shared layer goes up once."""
    import threading

    one, two = lines
    blobs = unique_blobs(one, two)
    target_proxy = proxy_for(second_registry)
    source, target = make_client(registry), make_client(target_proxy)
    engine = Transfers(workers=8)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def copy(digest: str) -> None:
        start.wait()
        try:
            engine.copy(source, repo, [(target, repo)], [digest])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=copy, args=(i.digest,)) for i in lines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert target_proxy.uploads_by_digest() == Counter(set(blobs))
    assert all(manifest_there(second_registry.host, repo, i.digest) for i in lines)


def test_memory_stays_flat_whatever_the_layer_size(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    make_client: Callable[..., RegistryClient],
) -> None:
    """A 24 MB layer is copied with a few hundred kB of Python memory, never held whole."""
    import tracemalloc

    image = make_image(platforms=["linux/amd64"], layer_sizes=(24_000_000,))
    seed(registry, repo, image)
    size = len(image.images[0].layers[0])
    hosts = [target.host for target in targets]
    source = make_client(registry)
    clients = [(make_client(h), repo) for h in hosts]
    tracemalloc.start()
    try:
        Transfers(workers=2).copy(source, repo, clients, [image.digest])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 6, f"peak {peak} bytes for a {size}-byte layer"
    assert all(stored(h, repo, d) for h in hosts for d in image.blobs)


def test_an_empty_blob_is_copied(
    targets: list[LocalRegistry],
    registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
) -> None:
    """A zero-byte layer (some builders write one) goes through like any other blob."""
    from tests.support.images import canonical, digest_of, raw_push_blob, raw_put_manifest

    config = canonical({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}})
    base = f"http://{registry.host}"
    raw_push_blob(base, repo, config)
    raw_push_blob(base, repo, b"")
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest_of(b""),
                    "size": 0,
                }
            ],
        }
    )
    digest = raw_put_manifest(base, repo, manifest, "application/vnd.oci.image.manifest.v1+json")
    hosts = [target.host for target in targets]
    clients = [(make_client(h), repo) for h in hosts]
    Transfers(workers=2).copy(make_client(registry), repo, clients, [digest])
    for host in hosts:
        assert stored(host, repo, digest_of(b""))
        assert manifest_there(host, repo, digest)


def test_a_long_copy_says_how_far_it_is_and_a_short_one_says_nothing_more(
    registry: Any,
    fresh_registry: Callable[..., LocalRegistry],
    repo: str,
    lines: tuple[TestImage, TestImage],
    make_client: Callable[..., RegistryClient],
) -> None:
    """Gigabytes to a slow registry take minutes: every ``progress_every`` seconds a line
    says how many blobs (and bytes) are placed; a copy done sooner prints no such line."""
    roots = [image.digest for image in lines]
    blobs = unique_blobs(*lines)
    total = sum(len(data) for data in blobs.values())
    ticks = iter(range(0, 10_000, 4))  # each look at the clock is 4 s later

    def run(**options: Any) -> list[str]:
        out, err = io.StringIO(), io.StringIO()
        output = Output(env={}, stream=out, err_stream=err)
        target = make_client(fresh_registry())
        Transfers(workers=1, output=output, **options).copy(
            make_client(registry), repo, [(target, repo)], roots
        )
        assert out.getvalue() == ""  # progress, on stderr: stdout is for the result
        return [line for line in err.getvalue().splitlines() if " placed, " in line]

    assert run() == []  # a copy of a few kB: well within the first 10 s
    said = run(progress_every=10.0, clock=lambda: float(next(ticks)))
    counts = [int(line.split()[1]) for line in said]  # "copy: 3 of 16 blobs placed, ..."
    assert counts and counts == sorted(counts) and counts[-1] < len(blobs)  # the last: none
    times = [int(line.rsplit("(", 1)[1].split()[0]) for line in said]
    assert all(later - earlier == 12 for earlier, later in pairwise([0, *times]))
    assert all(f" of {len(blobs)} blobs placed, " in line for line in said)
    assert all(
        line.endswith(f" of {human_size(total)} ({t} s)")
        for line, t in zip(said, times, strict=True)
    )


def test_a_long_copy_says_how_far_it_is_while_a_large_blob_is_still_going_up(
    registry: Any,
    fresh_registry: Callable[..., LocalRegistry],
    repo: str,
    seed: Callable[..., str],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The bytes of a blob count as the registry takes them, not once it is placed: a
    copy of one large layer says every ``progress_every`` seconds how far it is."""
    image = make_image(platforms=["linux/amd64"], layer_sizes=(3_000_000,))
    seed(registry, repo, image)
    ticks = iter(range(10_000))  # each look at the clock is 1 s later
    err = io.StringIO()
    output = Output(env={}, stream=io.StringIO(), err_stream=err)
    Transfers(workers=1, output=output, progress_every=3.0, clock=lambda: float(next(ticks))).copy(
        make_client(registry), repo, [(make_client(fresh_registry()), repo)], [image.digest]
    )
    said = [
        re.match(r"copy: (\d) of 2 blobs placed, ([\d.]+) (kB|MB) of ", line)
        for line in err.getvalue().splitlines()
        if " placed, " in line
    ]
    assert all(said), err.getvalue()
    moved = [float(m[2]) * (1000 if m[3] == "kB" else 1_000_000) for m in said if m]
    assert len(moved) >= 2, err.getvalue()  # a blob placed at the end: no line of its own
    assert moved == sorted(moved) and moved[0] < moved[-1], err.getvalue()
