"""RELIABILITY.md scenarios 1-10: registry faults, with a scripted proxy in front of a real registry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import socket
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from click.testing import CliRunner

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import OCI_INDEX, RegistryClient, RetryPolicy
from publisher.adapters.registry.transport import _WATCHDOG, UNKNOWN_REPOSITORY, _close, _Deadline
from publisher.core.errors import (
    AuthError,
    DeniedError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    UnreachableError,
)
from publisher.core.reference import Reference
from tests.support.clock import FakeClock
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, make_layer, raw_push_blob, write_layout
from tests.support.sockets import CorruptTls, FixedAnswer, Silent, Unaccepting
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration

BIG = 64 * 1024 * 1024


def client_via(proxy: FaultProxy, retry: RetryPolicy, **kwargs: Any) -> RegistryClient:
    return RegistryClient(proxy.host, plain_http=True, retry=retry, timeout=10.0, **kwargs)


Refusal = TypeVar("Refusal", bound=RegistryError)


def upload_puts(proxy: FaultProxy) -> list[str]:
    return [s.path for s in proxy.log if s.method == "PUT" and s.kind == "upload"]


def refused_push(
    proxy: FaultProxy, repo: str, size: int, seed: int, refusal: type[Refusal]
) -> tuple[Refusal, bytes]:
    """A layer of ``size`` random bytes pushed through ``proxy``: the error, and the layer."""
    layer = make_layer(size, random.Random(seed))
    with pytest.raises(refusal) as info:
        client_via(proxy, FakeClock().policy()).push_blob(
            repo, "sha256:" + hashlib.sha256(layer).hexdigest(), layer
        )
    return info.value, layer


# ----------------------------------------------------------- 1. transient 5xx


def test_1_blob_upload_503_503_then_success(proxy: FaultProxy, repo: str, tmp_path: Path) -> None:
    child = make_image(platforms=["linux/amd64"]).images[0]
    raw_push_blob(f"http://{proxy.upstream}", repo, child.config)  # the config is there already
    clock = FakeClock()
    # The jitter at its top every time: the hardest case for delays to keep increasing.
    client = client_via(proxy, clock.policy(max_delay=8.0, jitter=lambda low, high: high))
    proxy.add(Fault("status", method="PUT", path="/blobs/uploads/", status=503, times=2))
    assert client.push_layout(write_layout(child, tmp_path / "l"), repo) == child.digest
    # Only the layer was missing: 3 attempts at it (503, 503, 201); the config never uploaded.
    assert len(upload_puts(proxy)) == 3
    config_digest = "sha256:" + hashlib.sha256(child.config).hexdigest()
    assert not any(config_digest in p for p in upload_puts(proxy))
    assert len(clock.sleeps) == 2 and clock.sleeps[0] < clock.sleeps[1]
    proxy.reset_counts()
    assert client.push_layout(write_layout(child, tmp_path / "l2"), repo) == child.digest
    assert proxy.count(kind="upload") == 0  # HEAD showed both present: never uploaded again


# ----------------------------------------------------------- 2. rate limit


def test_2_rate_limit_retry_after_is_honoured(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    digest = seed(registry, repo, make_image(), tags=["v1"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    client = client_via(
        proxy, RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, sleep=sleep)
    )
    proxy.add(
        Fault("status", method="HEAD", path="/manifests/", status=429, headers={"Retry-After": "2"})
    )
    start = time.monotonic()
    assert client.resolve(Reference(proxy.host, repo, "v1")) == digest
    assert time.monotonic() - start >= 2.0
    assert waits == [2.0]
    assert proxy.count("HEAD", "manifest") == 2


@pytest.mark.parametrize("skew", [3600, -3600], ids=["registry-ahead", "registry-behind"])
def test_2_a_retry_after_date_is_honoured_whatever_the_registry_s_clock_says(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str], skew: int
) -> None:
    """A 429 whose Retry-After is a date 2 s past the registry's own Date, from a registry
    whose clock is an hour off this machine's: the wait is 2 s, not an hour (a give-up
    at once) nor none (a retry the registry refuses again)."""
    digest = seed(registry, repo, make_image(), tags=["v1"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    client = client_via(
        proxy,
        RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, total_timeout=60, sleep=sleep),
    )
    theirs = int(time.time()) + skew
    proxy.add(
        Fault(
            "status",
            method="HEAD",
            path="/manifests/",
            status=429,
            headers={
                "Date": formatdate(theirs, usegmt=True),
                "Retry-After": formatdate(theirs + 2, usegmt=True),
            },
        )
    )
    assert client.resolve(Reference(proxy.host, repo, "v1")) == digest
    assert waits == [2.0]
    assert proxy.count("HEAD", "manifest") == 2


def test_2_rate_limit_give_up_advises_authenticating(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    seed(registry, repo, make_image(), tags=["v1"])
    clock = FakeClock()
    client = client_via(proxy, clock.policy(attempts=3, max_delay=8.0))
    headers = {
        "Retry-After": "1",
        "ratelimit-limit": "100;w=21600",
        "ratelimit-remaining": "0;w=21600",
    }
    proxy.add(Fault("status", path="/manifests/", status=429, headers=headers, times=None))
    with pytest.raises(RateLimitedError) as info:
        client.resolve(Reference(proxy.host, repo, "v1"))
    error = info.value
    assert error.exit_code == 6
    assert "rate-limited" in error.message and "ratelimit-remaining: 0;w=21600" in error.message
    assert "authenticate" in (error.hint or "")
    assert proxy.count("HEAD", "manifest") == 3
    assert all(s >= 1.0 for s in clock.sleeps)


def test_2_a_used_up_pull_quota_stops_at_once(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    """Docker Hub's pull limit: 429, no pulls left in a six-hour window, no Retry-After.
    Waiting seconds cannot help: one request, then the rate-limit error at once."""
    seed(registry, repo, make_image(), tags=["v1"])
    clock = FakeClock()
    client = client_via(proxy, clock.policy(attempts=5, max_delay=20.0))
    headers = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}
    proxy.add(Fault("status", path="/manifests/", status=429, headers=headers, times=None))
    with pytest.raises(RateLimitedError) as info:
        client.resolve(Reference(proxy.host, repo, "v1"))
    error = info.value
    assert error.exit_code == 6
    assert "ratelimit-remaining: 0;w=21600 (ratelimit-limit: 100;w=21600)" in error.message
    assert "authenticate" in (error.hint or "")
    assert proxy.count("HEAD", "manifest") == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "retry_after",
    ["9" * 5000, "\u00b2", "Sun, 06 Nov 1994 08:49:37 +" + "9" * 20],  # a date, an absurd zone
)
def test_2_a_retry_after_that_is_no_plain_number_is_a_clean_give_up(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str], retry_after: str
) -> None:
    """Thousands of digits (a wait past any total timeout), a character isdigit()
    calls a digit ("²") but no header means, or a date whose zone overflows: the run
    gives up as rate-limited,
    never sleeps for ever, never fails inside the header's parser."""
    seed(registry, repo, make_image(), tags=["v1"])
    clock = FakeClock()
    client = client_via(proxy, clock.policy(attempts=3, max_delay=8.0))
    headers = {"Retry-After": retry_after}
    proxy.add(Fault("status", path="/manifests/", status=429, headers=headers, times=None))
    with pytest.raises(RateLimitedError) as info:
        client.resolve(Reference(proxy.host, repo, "v1"))
    assert info.value.exit_code == 6
    assert all(wait < 3600 for wait in clock.sleeps), clock.sleeps


# ----------------------------------------------------------- 3. endless 503


def test_3_endless_503_fails_bounded_and_moves_no_tag(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    digest = seed(registry, repo, make_image())
    proxy.add(Fault("status", method="PUT", path="/manifests/", status=503, times=None))
    client = client_via(
        proxy, RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.05, total_timeout=5.0)
    )
    start = time.monotonic()
    with pytest.raises(UnreachableError, match="kept failing") as info:
        client.tag(repo, digest, "latest")
    assert time.monotonic() - start < 5.0
    assert info.value.exit_code != 0
    assert proxy.count("PUT", "manifest") == 4
    tags = requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=10).json().get("tags")
    assert not tags


def test_3_total_timeout_bounds_the_run(proxy: FaultProxy, registry: Any, repo: str) -> None:
    clock = FakeClock()
    policy = RetryPolicy(
        attempts=1000,
        initial_delay=1.0,
        max_delay=10.0,
        total_timeout=30.0,
        sleep=clock.sleep,
        clock=clock,
    )
    proxy.add(Fault("status", path="/tags/list", status=503, times=None))
    with pytest.raises(UnreachableError):
        client_via(proxy, policy).list_tags(repo)
    assert sum(clock.sleeps) <= 30.0
    assert proxy.count("GET", "tags") < 10


def judged_down(proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]) -> Any:
    """A client of ``proxy`` that has judged the registry down: its GET of a manifest spent
    its 3 attempts on 503s. The fault is cleared."""
    seed(registry, repo, make_image(), tags=["v1"])
    client = client_via(proxy, FakeClock().policy(attempts=3))
    proxy.add(Fault("status", method="GET", path="/manifests/", status=503, times=None))
    with pytest.raises(UnreachableError, match="after 3 attempts"):
        client.get_manifest(Reference(proxy.host, repo, "v1"))
    assert proxy.count("GET", "manifest") == 3
    proxy.clear()
    return client


def test_3_a_registry_judged_down_fails_a_later_operation_at_once_with_its_own_error(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    """Bounded time: a later operation failing so too makes one attempt, not the policy's;
    its error names it and its own cause, not the operation that judged the registry down."""
    client = judged_down(proxy, registry, repo, seed)
    proxy.add(Fault("status", path="/tags/list", status=500, times=None))
    with pytest.raises(UnreachableError) as info:
        client.list_tags(repo)
    said = info.value.message
    assert proxy.count("GET", "tags") == 1
    assert said.startswith(f"{proxy.host}: list tags of {proxy.host}/{repo}: "), said
    assert "kept failing (HTTP 500) after 1 attempt" in said and "manifest" not in said, said
    assert "not retried: an earlier request found the registry down" in said, said


@pytest.mark.parametrize(
    ("status", "headers", "refusal", "code"),
    [(429, {"Retry-After": "1"}, RateLimitedError, 6), (403, {}, AuthError, 4)],
    ids=["429", "403"],
)
def test_3_any_answer_from_a_registry_judged_down_lifts_the_judgement(
    proxy: FaultProxy,
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    status: int,
    headers: dict[str, str],
    refusal: type[RegistryError],
    code: int,
) -> None:
    """A 429 or a 403 is an answer in time: the registry is up. The operation that got it
    ends as it would on any client (a 429 retried, then rate-limited, exit 6), with its own
    error, not the stored one of the operation that judged the registry down; and the next
    operation failing with a 5xx is retried as before."""
    client = judged_down(proxy, registry, repo, seed)
    proxy.add(Fault("status", path="/tags/list", status=status, headers=headers, times=None))
    with pytest.raises(refusal) as info:
        client.list_tags(repo)
    said = info.value.message
    assert info.value.exit_code == code, said
    assert said.startswith(f"{proxy.host}: list tags of {proxy.host}/{repo}: "), said
    assert f"(HTTP {status})" in said and "manifest" not in said, said
    assert proxy.count("GET", "tags") == (3 if status == 429 else 1)
    if status == 429:
        assert "it asked to wait 1 s" in said, said
    proxy.clear()
    proxy.add(Fault("status", path="/tags/list", status=503, times=None))
    with pytest.raises(UnreachableError) as later:
        client.list_tags(repo)
    said = later.value.message
    assert proxy.count("GET", "tags") == 3
    assert said.startswith(f"{proxy.host}: list tags of {proxy.host}/{repo}: "), said
    assert "kept failing (HTTP 503) after 3 attempts" in said, said


# ----------------------------------------------------------- 4. non-retryable


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [(400, RegistryError, 9), (403, AuthError, 4), (404, NotFoundError, 5)],
)
def test_4_manifest_put_non_retryable(
    status: int,
    error: type[Exception],
    code: int,
    proxy: FaultProxy,
    registry: Any,
    repo: str,
    seed: Callable[..., str],
) -> None:
    image = make_image()
    for child in image.images:
        seed(registry, repo, child)
    body = json.dumps({"errors": [{"code": "DENIED", "message": "no"}]}).encode()
    proxy.add(
        Fault("status", method="PUT", path="/manifests/", status=status, body=body, times=None)
    )
    clock = FakeClock()
    with pytest.raises(error) as info:
        client_via(proxy, clock.policy(max_delay=8.0)).put_manifest(repo, image.index, OCI_INDEX)
    assert proxy.count("PUT", "manifest") == 1
    assert clock.sleeps == []
    assert getattr(info.value, "exit_code", None) == code
    assert f"HTTP {status}" in str(info.value) or status == 404


def test_4_401_reauthenticates_once_and_no_more(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    image = make_image()
    pusher = RegistryClient(token_registry.host, plain_http=True, credentials=token_registry.pusher)
    for child in image.images:
        pusher.push_layout(write_layout(child, tmp_path / child.platform.replace("/", "-")), repo)
    proxy = proxy_for(token_registry)
    server = token_registry.server
    challenge = f'Bearer realm="{server.realm}",service="publisher-test-registry",scope="repository:{repo}:pull,push"'
    proxy.add(
        Fault(
            "status",
            method="PUT",
            path="/manifests/",
            status=401,
            headers={"WWW-Authenticate": challenge},
            # Then the registry lets the PUT through: a client re-authenticating without
            # end succeeds (and fails this test) instead of hanging it.
            times=3,
        )
    )
    server.clear()
    client = client_via(proxy, FakeClock().policy(max_delay=8.0), credentials=token_registry.pusher)
    with pytest.raises(AuthError) as info:
        client.put_manifest(repo, image.index, OCI_INDEX)
    assert info.value.exit_code == 4
    assert proxy.count("PUT", "manifest") == 2
    assert len(server.requests) == 1


def test_4_a_401_without_a_challenge_after_tokens_were_granted_does_not_blame_the_credentials(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The token server granted push tokens for the credentials, then a manifest PUT
    meets a 401 with no WWW-Authenticate (a proxy in front of the registry): the tip
    says the credentials were accepted, not that the registry refused them."""
    proxy = proxy_for(token_registry)
    proxy.add(
        Fault(
            "status",
            method="PUT",
            path="/manifests/",
            status=401,
            headers={"Content-Type": "application/json"},
            body=b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
            times=None,
        )
    )
    client = client_via(proxy, FakeClock().policy(attempts=2), credentials=token_registry.pusher)
    image = make_image(platforms=["linux/amd64"]).images[0]
    for digest, data in image.blobs.items():
        assert client.push_blob(repo, digest, data)  # with a push token from its token server
    with pytest.raises(AuthError) as info:
        client.put_manifest(repo, image.manifest, image.media_type)
    hint = info.value.hint or ""
    assert "without a usable WWW-Authenticate header" in info.value.message
    assert "without a challenge publisher can answer" in hint, hint
    assert f"token server ({token_registry.server.realm.split('/')[2]}) accepted the " in hint
    assert "check the username and password" not in hint, hint


def test_4_a_401_naming_no_error_after_a_granted_token_does_not_blame_the_password(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The token server granted a token for the credentials, and the registry still answers
    401 with a challenge naming no error (a proxy that drops the Authorization header, or a
    registry that says no more): the error says the registry refused the token its own
    token server issued, not the credentials; the tip says the password is not the cause,
    gives the likely causes, and for a read that the repository may not exist."""
    proxy = proxy_for(token_registry)
    server = token_registry.server
    challenge = (
        f'Bearer realm="{server.realm}",service="publisher-test-registry",'
        f'scope="repository:{repo}:pull"'
    )
    proxy.add(
        Fault(
            "status",
            method="GET",
            path="/manifests/",
            status=401,
            headers={"WWW-Authenticate": challenge, "Content-Type": "application/json"},
            body=b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
            times=None,
        )
    )
    server.clear()
    client = client_via(proxy, FakeClock().policy(), credentials=token_registry.pusher)
    with pytest.raises(AuthError) as info:
        client.get_manifest(Reference(proxy.host, repo, "v1"))
    message, hint = info.value.message, info.value.hint or ""
    assert [r.granted for r in server.requests] == [True]
    assert (
        f"the registry refused the token its own token server ({server.realm.split('/')[2]}) "
        "issued for the credentials of 'pusher' (explicit) (HTTP 401): UNAUTHORIZED"
    ) in message, message
    assert "invalid_token" not in message, message
    assert hint.startswith(
        "the token server accepted the credentials and granted a token, so the password is "
        "not the cause; the registry did not take that token"
    ), hint
    assert "may drop the Authorization header" in hint, hint
    assert "clocks of the token server and the registry" in hint, hint
    assert hint.endswith(f"; {UNKNOWN_REPOSITORY}"), hint
    assert "check the username and password" not in hint, hint


def test_4_an_upload_refused_mid_way_at_every_attempt_says_what_was_refused_after_what(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    """A first blob goes up whole; every upload of the next starts (its POST accepted),
    then its first PATCH meets 401 even with a new token (the chunk sent is gone): the
    upload is restarted up to the attempts, then an AuthError says which request was
    refused after which was accepted, with the registry's words (redacted), and the likely
    cause (push access to the repository, a token's scope), not the password."""
    proxy = proxy_for(token_registry)
    server = token_registry.server
    challenge = (
        f'Bearer realm="{server.realm}",service="publisher-test-registry",'
        f'scope="repository:{repo}:pull,push",error="insufficient_scope"'
    )
    password = token_registry.pusher.password
    denied = {"code": "DENIED", "message": f"no push for pusher:{password} here"}
    proxy.add(
        Fault(
            "status",
            method="PATCH",
            path="/blobs/uploads/",
            status=401,
            headers={"WWW-Authenticate": challenge, "Content-Type": "application/json"},
            body=json.dumps({"errors": [denied]}).encode(),
            times=None,
        )
    )
    layer = make_layer(3000, random.Random(4))
    blob = tmp_path / "layer"
    blob.write_bytes(layer)
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    clock = FakeClock()
    client = client_via(
        proxy, clock.policy(attempts=3, max_delay=8.0), credentials=token_registry.pusher
    )
    small = make_layer(500, random.Random(5))
    assert client.push_blob(repo, "sha256:" + hashlib.sha256(small).hexdigest(), small)
    client.upload_chunk = 1024
    with pytest.raises(AuthError) as info:
        client.push_blob(repo, digest, blob)
    error = info.value
    message, hint = error.message, error.hint or ""
    assert error.exit_code == 4
    patches = [s.status for s in proxy.log if s.method == "PATCH"]
    assert patches == [401] * 3  # 3 attempts, each its upload's first chunk
    assert len(server.requests) >= 3  # a new token at each
    assert "kept refusing the credentials" not in message, message
    assert (
        "the registry accepted the credentials of 'pusher' (explicit) to start the upload "
        "(its POST), then refused a PATCH (a chunk of the blob) with HTTP 401 "
        "insufficient_scope: DENIED: no push for pusher:"
    ) in message, message
    assert password not in message, message
    assert " here, at each attempt, even with a new token; gave up after 3 attempts" in message
    assert "restarting the upload" not in message
    assert hint.startswith("the password is not the cause"), hint
    assert f"the account, or its token's scope, likely may pull but not push to {repo}" in hint, (
        hint
    )
    assert f"repository:{repo}:pull,push" in hint, hint
    assert "Authorization header" in hint, hint
    assert "check the username and password" not in hint, hint


# ----------------------------------------------------------- 5. connection reset


def test_5_connection_reset_mid_upload_uses_a_new_session(
    proxy: FaultProxy, registry: Any, repo: str
) -> None:
    layer = make_layer(300_000, random.Random())
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    proxy.add(Fault("reset", method="PUT", path="/blobs/uploads/", reset_after=8192, times=1))
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    assert client.push_blob(repo, digest, layer) is True
    puts = upload_puts(proxy)
    assert len(puts) == 2
    sessions = {p.split("/blobs/uploads/")[1].split("?")[0] for p in puts}
    assert len(sessions) == 2  # a new upload session, not the broken one
    assert proxy.count("POST", "upload") == 2
    stored = requests.get(f"{registry.url}/v2/{repo}/blobs/{digest}", timeout=10).content
    assert hashlib.sha256(stored).hexdigest() == digest.split(":")[1]


# ----------------------------------------------------------- 8. lying registry


def test_8_lying_docker_content_digest_on_put_fails_and_no_tag_moves(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    for child in image.images:
        seed(registry, repo, child)
    proxy.add(Fault("digest", method="PUT", path="/manifests/", times=None))
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))

    def publish() -> None:  # the publish order: index by digest, verified, then tags
        digest = client.put_manifest(repo, image.index, OCI_INDEX)
        client.tag(repo, digest, "latest")

    with pytest.raises(InvalidResponseError, match=r"says it stored sha256:0+") as info:
        publish()
    assert info.value.exit_code == 8
    assert proxy.count("PUT", "manifest") == 1
    assert not requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=10).json().get("tags")


@pytest.mark.parametrize("by", ["digest", "tag"])
def test_8_altered_manifest_body_is_refused(
    by: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    digest = seed(registry, repo, image, tags=["v1"])
    altered = image.index.replace(b'"schemaVersion":2', b'"schemaVersion":2 ')
    proxy.add(Fault("body", method="GET", path="/manifests/", body=altered, times=None))
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    ref = (
        Reference(proxy.host, repo, digest=digest)
        if by == "digest"
        else Reference(proxy.host, repo, "v1")
    )
    with pytest.raises(InvalidResponseError, match="refusing it"):
        client.get_manifest(ref)


def test_8_copy_from_a_lying_source_puts_nothing(
    proxy: FaultProxy, registry: Any, second_registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    digest = seed(registry, repo, image)
    proxy.add(
        Fault(
            "body", method="GET", path=f"/manifests/{digest}", body=image.index + b" ", times=None
        )
    )
    source = client_via(proxy, FakeClock().policy(max_delay=8.0))
    target = RegistryClient(second_registry.host, plain_http=True)
    with pytest.raises(InvalidResponseError):
        source.copy(Reference(proxy.host, repo, digest=digest), target, repo)
    assert not target.manifest_exists(repo, digest)


# ----------------------------------------------------------- 9. hostile bodies


def _peak_during(func: Callable[[], Any]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        func()
        error: BaseException | None = None
    except Exception as exc:
        error = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        (
            Fault("huge", method="GET", path="/manifests/", status=200, huge_bytes=BIG, times=None),
            "over the 4194304-byte limit",
        ),
        (
            Fault(
                "chunked",
                method="GET",
                path="/manifests/",
                body=b'{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}',
                times=None,
            ),
            "over the 4194304-byte limit",
        ),
        (
            Fault(
                "body",
                method="GET",
                path="/manifests/",
                body=b"{not json",
                fix_digest=True,
                times=None,
            ),
            "not valid JSON",
        ),
        (
            Fault("length", method="GET", path="/manifests/", times=None),
            "shorter than its Content-Length",
        ),
        (
            Fault("truncate", method="GET", path="/manifests/", times=None),
            "shorter than its Content-Length|Content-Length said|cut off",
        ),
    ],
    ids=["oversize", "oversize-chunked", "malformed-json", "length-mismatch", "truncated"],
)
def test_9_hostile_manifest_bodies(
    fault: Fault, match: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(fault)
    client = client_via(proxy, FakeClock().policy(attempts=2, max_delay=8.0))
    error, peak = _peak_during(lambda: client.get_manifest(Reference(proxy.host, repo, "v1")))
    assert isinstance(error, InvalidResponseError), error
    assert error is not None and re.search(match, str(error))
    assert error.hint and "check" in error.hint  # what to do, as every error says
    assert peak < 16 * 1024 * 1024, f"peak memory {peak} bytes"


def test_9_one_truncated_answer_is_retried(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    digest = seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(Fault("truncate", method="GET", path="/manifests/", times=1))
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    assert client.get_manifest(Reference(proxy.host, repo, "v1")).digest == digest


@pytest.mark.parametrize(
    ("action", "said"),
    [("cut", "the connection was reset"), ("bad_chunk", "a chunk of the body was malformed")],
    ids=["reset", "bad-chunk"],
)
def test_9_a_manifest_cut_off_is_said_in_words_not_python_reprs(
    action: str, said: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(Fault(action, method="GET", path="/manifests/", times=None))
    client = client_via(proxy, FakeClock().policy(attempts=2))
    with pytest.raises(InvalidResponseError) as caught:
        client.get_manifest(Reference(proxy.host, repo, "v1"))
    message = caught.value.message
    assert f"the response body was cut off: {said} after 2 attempts" in message, message
    for noise in ("Connection broken", "Error(", "InvalidChunkLength", "(("):
        assert noise not in message, message
    assert proxy.count("GET", "manifest") == 2


@pytest.mark.parametrize("status", [200, 400])
def test_9_deeply_nested_tag_list_is_a_classified_error(
    status: int, proxy: FaultProxy, repo: str
) -> None:
    """JSON nested past Python's recursion limit, as a tag list or an error body."""
    nested = b'{"tags":' * 60_000
    proxy.add(Fault("status", method="GET", path="/tags/list", status=status, body=nested))
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    expected = InvalidResponseError if status == 200 else RegistryError
    with pytest.raises(expected) as caught:
        client.list_tags(repo)
    assert caught.value.hint


def test_9_huge_error_body_is_read_only_up_to_a_cap(
    proxy: FaultProxy, registry: Any, repo: str
) -> None:
    proxy.add(
        Fault("huge", method="GET", path="/tags/list", status=400, huge_bytes=BIG, times=None)
    )
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    error, peak = _peak_during(lambda: client.list_tags(repo))
    assert isinstance(error, RegistryError) and error.status == 400
    assert len(str(error)) < 600
    assert peak < 16 * 1024 * 1024


HOSTILE_MANIFESTS = {
    "oversize": Fault("huge", path="/manifests/", status=200, huge_bytes=BIG, times=None),
    "malformed-json": Fault(
        "body", path="/manifests/", body=b"{not json", fix_digest=True, times=None
    ),
    "length-mismatch": Fault("length", path="/manifests/", times=None),
    "truncated": Fault("truncate", path="/manifests/", times=None),
    "huge-error": Fault("huge", path="/manifests/", status=400, huge_bytes=BIG, times=None),
    # JSON nested deeper than Python's recursion limit: a RecursionError, not a ValueError
    "nested-json": Fault(
        "body", path="/manifests/", body=b"[" * 100_000, fix_digest=True, times=None
    ),
    "nested-error": Fault("status", path="/manifests/", status=400, body=b"[" * 60_000, times=None),
}


@pytest.mark.parametrize("kind", list(HOSTILE_MANIFESTS))
def test_9_cli_shows_a_clean_error_without_traceback(
    kind: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    """Each hostile answer through the command line: one classified error line and a
    tip, no traceback, no internal error, and none of the hostile body echoed."""
    import publisher.cli.registry_cmds  # noqa: F401  (registers the commands)
    from publisher.cli.base import main

    seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(HOSTILE_MANIFESTS[kind])
    result = CliRunner().invoke(
        main,
        ["inspect", f"{proxy.host}/{repo}:v1"],
        env={"PUBLISHER_RETRY_ATTEMPTS": "2", "HOME": "/nonexistent"},
    )
    assert result.exit_code == (9 if kind.endswith("-error") else 8), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert len(result.output) < 1500, result.output[:2000]


MALFORMED_ANSWERS = {
    "conflicting-lengths": (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
        b"Content-Length: 0\r\n\r\n",
        "its Content-Length headers disagree (10, 0)",
    ),
    "not-http": (b"garbage not http\r\n\r\n", "its status line is not HTTP ('garbage not http')"),
    "long-header": (
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        "a header line is over 65536 bytes",
    ),
    "many-headers": (
        b"HTTP/1.1 200 OK\r\n" + b"X-Many: a\r\n" * 200 + b"\r\n",
        "it has over 100 header lines",
    ),
}


@pytest.mark.parametrize("kind", list(MALFORMED_ANSWERS))
@pytest.mark.parametrize("request_kind", ["tags", "blob-head"])
def test_9_a_malformed_http_answer_is_an_invalid_response_naming_the_operation(
    kind: str, request_kind: str, proxy: FaultProxy, registry: Any, repo: str
) -> None:
    """An answer that is no valid HTTP (two Content-Lengths that disagree, a status line
    that is not HTTP, a header line too long, too many headers): the registry answered,
    so it is an invalid registry response (exit 8) naming the operation, not retried as
    the other malformed answers are not, never "unreachable" with a network tip."""
    raw, said = MALFORMED_ANSWERS[kind]
    digest = "sha256:" + "ab" * 32
    method, path = ("GET", "/tags/list") if request_kind == "tags" else ("HEAD", f"/blobs/{digest}")
    proxy.add(Fault("raw", method=method, path=path, body=raw, times=None))
    client = client_via(proxy, FakeClock().policy(attempts=3, max_delay=8.0))
    with pytest.raises(InvalidResponseError) as info:
        if request_kind == "tags":
            client.list_tags(repo)
        else:
            client.blob_exists(repo, digest)
    error = info.value
    assert error.exit_code == 8
    doing = (
        f"list tags of {proxy.host}/{repo}"
        if request_kind == "tags"
        else f"HEAD blob {digest[:19]}"
    )
    assert f"{doing} in {proxy.host}/{repo}" in error.message or f"{doing}:" in error.message, error
    assert f"the registry sent an answer that is not valid HTTP: {said}" in error.message, error
    for noise in ("request failed", "connection failed", "Connection aborted", "BadStatusLine"):
        assert noise not in error.message, error
    assert error.hint and "container registry" in error.hint and "PROXY" not in error.hint
    assert proxy.count(method) == 1  # not retried


def test_9_a_connection_closed_without_an_answer_stays_a_connection_failure(
    proxy: FaultProxy, repo: str
) -> None:
    proxy.add(Fault("raw", method="GET", path="/tags/list", body=b"", times=None))
    message = _unreachable(client_via(proxy, FakeClock().policy(attempts=2)), repo)
    assert "the registry closed the connection without answering" in message
    assert proxy.count("GET") == 2


@pytest.mark.parametrize("status", [202, 999, 302])
def test_9_an_answer_that_is_no_error_but_not_the_one_expected_is_an_invalid_response(
    status: int, proxy: FaultProxy, repo: str
) -> None:
    """The upload's closing PUT answered 202 (a session still open), 302 or 999 (no
    status HTTP defines): not a refusal (exit 9) but an answer the request does not
    expect, exit 8, saying which it expects; not retried."""
    layer = make_layer(50_000, random.Random(9))
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    proxy.add(
        Fault(
            "status",
            method="PUT",
            path="/blobs/uploads/",
            status=status,
            headers={"Location": f"/v2/{repo}/blobs/uploads/x"},
            times=None,
        )
    )
    with pytest.raises(InvalidResponseError) as info:
        client_via(proxy, FakeClock().policy(attempts=3)).push_blob(repo, digest, layer)
    error = info.value
    assert error.exit_code == 8
    assert (
        f"upload blob {digest[:19]} ({len(layer)} bytes) to {proxy.host}/{repo}: the registry "
        f"answered HTTP {status}, not the HTTP 201 or 204 this request expects"
    ) in error.message, error
    assert "refuse" not in error.message + (error.hint or ""), error
    assert error.hint and "container registry" in error.hint
    assert len(upload_puts(proxy)) == 1


def test_9_a_tag_list_answered_with_no_content_is_an_invalid_response(
    proxy: FaultProxy, repo: str
) -> None:
    proxy.add(Fault("status", method="GET", path="/tags/list", status=204, times=None))
    with pytest.raises(InvalidResponseError) as info:
        client_via(proxy, FakeClock().policy(attempts=3)).list_tags(repo)
    assert "the registry answered HTTP 204, not the HTTP 200 or 404 or 405 or 501" in (
        info.value.message
    ), info.value


# ----------------------------------------------------------- 10. Location headers


def test_10_relative_location_is_resolved_and_keeps_its_query(
    proxy: FaultProxy, registry: Any, repo: str, tmp_path: Path
) -> None:
    proxy.add(
        Fault("location", method="POST", path="/blobs/uploads/", location="relative", times=None)
    )
    image = make_image(platforms=["linux/amd64"])
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    assert (
        client.push_layout(write_layout(image.images[0], tmp_path / "l"), repo)
        == image.images[0].digest
    )
    puts = upload_puts(proxy)
    assert puts and all("_state=" in p and "digest=" in p for p in puts)  # the query survived


@pytest.mark.parametrize(
    ("mode", "match"), [("drop", "no Location header"), ("other-host", "another host")]
)
def test_10_missing_or_foreign_location_is_rejected(
    mode: str, match: str, proxy: FaultProxy, repo: str
) -> None:
    proxy.add(Fault("location", method="POST", path="/blobs/uploads/", location=mode, times=None))
    layer = make_layer(1000, random.Random())
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    with pytest.raises(InvalidResponseError, match=match) as caught:
        client.push_blob(repo, "sha256:" + hashlib.sha256(layer).hexdigest(), layer)
    assert caught.value.hint and "check" in caught.value.hint
    assert upload_puts(proxy) == []


@pytest.mark.parametrize("location", ["http://[bad", "//[::1", "http://\u00e9x/"])
def test_10_malformed_location_is_a_classified_error(
    location: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    """A Location that cannot be parsed (an upload's, or a redirect's requests follows)
    is an invalid answer from the registry, never a ValueError escaping as a bug."""
    layer = make_layer(1000, random.Random())
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    headers = {"Location": location}
    proxy.add(Fault("status", method="POST", path="/blobs/uploads/", status=202, headers=headers))
    with pytest.raises(InvalidResponseError, match=r"malformed Location|another host") as caught:
        client.push_blob(repo, digest, layer)
    assert caught.value.hint and "check" in caught.value.hint
    assert upload_puts(proxy) == []
    image = make_image(platforms=["linux/amd64"])
    seed(registry, repo, image, tags=["v1"])
    proxy.add(Fault("status", method="GET", path="/manifests/", status=307, headers=headers))
    with pytest.raises(InvalidResponseError, match="malformed Location") as caught:
        client.get_manifest(Reference(proxy.host, repo, "v1"))
    assert caught.value.hint and "check" in caught.value.hint


def test_9_huge_success_body_is_not_read(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    for child in image.images:
        seed(registry, repo, child)
    proxy.add(
        Fault("huge", method="PUT", path="/manifests/", status=201, huge_bytes=BIG, times=None)
    )
    client = client_via(proxy, FakeClock().policy(max_delay=8.0))
    error, peak = _peak_during(lambda: client.put_manifest(repo, image.index, OCI_INDEX))
    assert isinstance(error, InvalidResponseError) and "byte limit" in str(error)
    assert peak < 16 * 1024 * 1024


def test_3_cli_exits_non_zero_within_the_configured_bounds(
    proxy: FaultProxy, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    import publisher.cli.registry_cmds  # noqa: F401  (registers the commands)
    from publisher.cli.base import main

    proxy.add(Fault("status", status=503, times=None))
    matrix = write_matrix(tmp_path, [("hub", f"{proxy.host}/{repo}", True)])
    env = {
        "HOME": str(tmp_path),
        "PUBLISHER_RETRY_ATTEMPTS": "3",
        "PUBLISHER_RETRY_INITIAL_DELAY": "0.05",
        "PUBLISHER_RETRY_TOTAL_TIMEOUT": "10",
    }
    start = time.monotonic()
    result = CliRunner().invoke(main, ["verify", "v1.0.0", "--config", str(matrix)], env=env)
    assert time.monotonic() - start < 10
    assert result.exit_code == 7, result.output
    assert "after 3 attempts" in result.output
    assert proxy.count() == 3


# ------------------------------- a failed connection is said in plain words


def _unreachable(client: RegistryClient, repo: str) -> str:
    return _unreachable_error(client, repo).message


def _unreachable_error(client: RegistryClient, repo: str) -> UnreachableError:
    with pytest.raises(UnreachableError) as info:
        client.list_tags(repo)
    message = info.value.message
    # None of the nested urllib3 and ssl reprs reaches the user.
    for noise in ("Errno", "HTTPConnection", "MaxRetryError", "SSLError(", "_ssl.c"):
        assert noise not in message, message
    assert info.value.hint
    return info.value


def test_a_closed_port_is_said_to_refuse_the_connection(repo: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    client = RegistryClient(host, plain_http=True, retry=FakeClock().policy(attempts=2))
    assert "connection failed: connection refused" in _unreachable(client, repo)


def test_a_registry_that_never_answers_is_said_to_time_out(repo: str) -> None:
    """The connection was made: the tip is about the registry, not the network to it."""
    with Silent() as silent:
        client = RegistryClient(
            silent.host, plain_http=True, timeout=0.5, retry=FakeClock().policy(attempts=2)
        )
        error = _unreachable_error(client, repo)
    assert "connection failed: no answer within 0.5 s" in error.message
    assert f"{silent.host} accepted the connection but did not answer in time" in error.hint
    assert "PUBLISHER_RETRY_TOTAL_TIMEOUT" in error.hint
    assert "DNS" not in error.hint and "port" not in error.hint, error.hint


def test_a_registry_whose_connection_is_never_made_is_told_to_check_the_network(
    repo: str,
) -> None:
    """A connection that is never made (its SYN dropped, as by a firewall) is no registry
    failing to answer: the tip names the network, DNS, proxy and port."""
    with Unaccepting() as port:
        client = RegistryClient(
            port.host, plain_http=True, timeout=0.5, retry=FakeClock().policy(attempts=2)
        )
        error = _unreachable_error(client, repo)
    assert "connection failed: no connection within 0.5 s" in error.message, error.message
    assert f"check that {port.host} is reachable (network, DNS, proxy, port)" in error.hint
    assert "did not answer" not in error.hint, error.hint


#: The schedule of the tests bounding a run by the total time plus one wait: each attempt
#: waits WAIT s, then the retry waits 0.05 s. The first attempt ends at 1.0 s and leaves
#: time for a second (even 0.55 s late, on a loaded machine), which ends at 2.05 s; the
#: next wait would pass TOTAL, so the run gives up there, after exactly 2 attempts (a
#: loaded machine makes attempts later, never more). The bound, TOTAL + WAIT + 0.4 s,
#: leaves 0.95 s for a loaded machine, while a run that waits once more past the total (a
#: third attempt) ends at 3.1 s at the soonest and exceeds it, as its attempt count does.
#: An attempt that waits twice its limit ends at 2.0 s after 1 attempt: the count fails it.
WAIT, TOTAL = 1.0, 1.6
BOUND = TOTAL + WAIT + 0.4


def test_a_registry_that_never_answers_ends_within_the_total_time_and_one_answer_wait(
    repo: str,
) -> None:
    """README: the total time is checked before each wait, and one request waits at most
    its answer time limit, so a silent registry is given up on within their sum."""
    policy = RetryPolicy(attempts=100, initial_delay=0.05, max_delay=0.05, total_timeout=TOTAL)
    with Silent() as silent:
        client = RegistryClient(silent.host, plain_http=True, timeout=WAIT, retry=policy)
        started = time.monotonic()
        message = _unreachable(client, repo)
        elapsed = time.monotonic() - started
    assert "no answer within 1 s" in message
    assert "after 2 attempts" in message, message  # retried while time was left, then no more
    assert elapsed < BOUND, elapsed  # the total and one answer wait (see BOUND)


def test_an_upload_stalled_mid_body_ends_within_the_total_time_and_one_request_wait(
    proxy: FaultProxy, repo: str
) -> None:
    """A registry that takes the connection and the upload's headers, then reads no more
    of its body: the sender blocks inside one socket call once the buffers are full. Each
    blocked send waits at most the request time limit, so the upload is given up on within
    the total time plus one request wait, as for a silent registry."""
    proxy.add(Fault("stall", method="PUT", path="/blobs/uploads/", times=None, stall_seconds=120))
    data = random.Random(7).randbytes(48 * 1024 * 1024)  # more than the socket buffers hold
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    policy = RetryPolicy(attempts=100, initial_delay=0.05, max_delay=0.05, total_timeout=TOTAL)
    client = RegistryClient(proxy.host, plain_http=True, timeout=WAIT, retry=policy)
    started = time.monotonic()
    try:
        with pytest.raises(UnreachableError) as caught:
            client.push_blob(repo, digest, data)
    finally:
        proxy.release()
    elapsed = time.monotonic() - started
    message = caught.value.message
    # Stalled, naming the registry, the blob, what went out and the rate.
    assert message.startswith(f"{proxy.host}: upload blob {digest[:19]}"), message
    assert re.search(
        r"the transfer stalled: \d+ of 50331648 bytes sent in \d+\.\d s \(\d+ bytes/s\); "
        r"a piece of 256 KiB could not be sent within 1 s",
        message,
    ), message
    assert "after 2 attempts" in message, message
    # The total and one request wait (see BOUND; filling the buffers adds ~0.1 s an attempt).
    assert elapsed < BOUND, elapsed


def _end_the_drip_after(proxy: FaultProxy, seconds: float) -> threading.Timer:
    """Let a dripping answer through at once after ``seconds``: a client that waits for
    it all (no limit on a whole answer) then gets it, instead of waiting minutes."""
    timer = threading.Timer(seconds, proxy.release)
    timer.daemon = True
    timer.start()
    return timer


def _no_deadline_left() -> None:
    """Every deadline was disarmed (none stays with the watchdog), and no request
    started a thread of its own: the one watchdog keeps them all."""
    assert _WATCHDOG.armed() == 0
    assert [t.name for t in threading.enumerate()].count("publisher-deadlines") == 1


def test_a_forked_child_s_requests_never_shut_its_parent_s_connections() -> None:
    """A child forked while a request of its parent was in flight shares that request's
    socket: its own watchdog must not keep the parent's time limit, or it shuts the
    connection once that limit passes, though the parent had its answer in time."""
    mine, theirs = socket.socketpair()
    # The parent's limit leaves a loaded machine 1 s to fork and cancel; the child's
    # request outlives it by 0.5 s (a child keeping the parent's limit shuts the socket).
    parent = _Deadline(1.0)
    parent.attach(mine)  # a request in flight at the fork
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # forking with threads running
        pid = os.fork()
    if pid == 0:  # the child: a request of its own starts its watchdog, past the parent's limit
        code = 1
        try:
            own, _ = socket.socketpair()
            child = _Deadline(30.0)
            child.attach(own)
            time.sleep(1.5)
            child.cancel()
            code = 0
        finally:
            os._exit(code)
    parent.cancel()  # the parent's answer came in time
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    theirs.sendall(b"still open")
    mine.settimeout(2.0)
    assert mine.recv(32) == b"still open"
    mine.close()
    theirs.close()
    _no_deadline_left()


@pytest.mark.parametrize(
    ("answer", "drip"),
    [("tags", "headers"), ("tags", "body"), ("an error", "body")],
)
def test_an_answer_that_trickles_in_is_taken_for_none_within_the_total_time_and_one_answer_wait(
    proxy: FaultProxy, seed: Callable[..., str], repo: str, answer: str, drip: str
) -> None:
    """A registry that sends its answer a byte at a time never leaves a socket read
    waiting its time limit: the whole answer, headers and body (an error's too), must
    come within the answer time limit, or it is taken for no answer (retried, then
    "no answer within"), as README says."""
    if answer == "tags":
        seed(proxy.upstream, repo, make_image(platforms=["linux/amd64"]).images[0], ["1"])
    proxy.add(
        Fault("drip", method="GET", path="/tags/list", drip=drip, stall_seconds=0.05, times=None)
    )
    policy = RetryPolicy(attempts=100, initial_delay=0.05, max_delay=0.05, total_timeout=TOTAL)
    client = RegistryClient(proxy.host, plain_http=True, timeout=WAIT, retry=policy)
    safety = _end_the_drip_after(proxy, 8.0)
    started = time.monotonic()
    try:
        message = _unreachable(client, repo)
    finally:
        safety.cancel()
        proxy.release()
    elapsed = time.monotonic() - started
    assert "no answer within 1 s" in message, message
    assert "after 2 attempts" in message, message  # retried while time was left, then no more
    assert elapsed < BOUND, elapsed  # the total and one answer wait (see BOUND)
    if answer == "an error":  # the repository is missing: the body dripped was a 404's
        assert {s.status for s in proxy.log if s.kind == "tags"} == {404}
    _no_deadline_left()


def test_a_blob_download_that_trickles_is_stalled_retried_then_named(
    proxy: FaultProxy, repo: str, tmp_path: Path
) -> None:
    """A blob has no total time limit, but one that moves less than the minimum over the
    window is stalled: retried, then an error naming the blob, the registry, what moved
    and the rate."""
    data = random.Random(3).randbytes(8192)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    raw_push_blob(f"http://{proxy.upstream}", repo, data)
    proxy.add(
        Fault(
            "drip", method="GET", path="/blobs/sha256:", drip="body", stall_seconds=0.01, times=None
        )
    )
    policy = RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.01, total_timeout=30.0)
    client = RegistryClient(proxy.host, plain_http=True, timeout=10.0, retry=policy)
    client.transport.stall_window, client.transport.stall_bytes = 0.5, 4096
    safety = _end_the_drip_after(proxy, 8.0)
    started = time.monotonic()
    try:
        with pytest.raises(UnreachableError) as caught:
            client.download_blob(repo, digest, len(data), tmp_path / "blob")
    finally:
        safety.cancel()
        proxy.release()
    elapsed = time.monotonic() - started
    message = caught.value.message
    assert message.startswith(f"{proxy.host}: "), message  # the registry
    assert digest[:19] in message, message  # the blob
    assert "the transfer stalled" in message and "under the minimum of 4096 bytes in 0.5 s" in (
        message
    ), message
    assert re.search(r"\d+ bytes in the last 0\.\d s \(\d+ bytes/s", message), message
    assert "after 2 attempts" in message, message
    assert proxy.count("GET", "blob") == 2
    assert elapsed < 2 * (0.5 + 0.5) + 1.0, elapsed
    _no_deadline_left()


def test_a_blob_download_refused_with_an_error_body_that_trickles_ends_within_the_time_limit(
    proxy: FaultProxy, repo: str, tmp_path: Path
) -> None:
    """Only a blob's own body goes without the answer time limit: the error body of a
    refused download (here the registry's 404) that trickles in is taken for no answer,
    not read a byte at a time for minutes."""
    data = random.Random(6).randbytes(4096)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()  # never pushed: a 404
    raw_push_blob(f"http://{proxy.upstream}", repo, b"something else")
    proxy.add(
        Fault(
            "drip", method="GET", path="/blobs/sha256:", drip="body", stall_seconds=0.2, times=None
        )
    )
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=1.5, retry=FakeClock().policy(attempts=1)
    )
    safety = _end_the_drip_after(proxy, 15.0)
    started = time.monotonic()
    try:
        with pytest.raises(UnreachableError) as caught:
            client.download_blob(repo, digest, len(data), tmp_path / "blob")
    finally:
        safety.cancel()
        proxy.release()
    elapsed = time.monotonic() - started
    assert "no answer within 1.5 s" in caught.value.message, caught.value.message
    assert {s.status for s in proxy.log if s.kind == "blob"} == {404}
    # One answer wait, and 1.4 s for a loaded machine: a second wait ends at 3.0 s.
    assert elapsed < 2 * 1.5 - 0.1, elapsed
    _no_deadline_left()


def test_a_blob_download_whose_body_never_comes_is_stalled_not_cut_short(
    proxy: FaultProxy, repo: str, tmp_path: Path
) -> None:
    """Headers, then not a byte of the blob for the read time limit: stalled, with what
    moved (nothing) and the rate, like a trickle."""
    data = random.Random(5).randbytes(4096)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    raw_push_blob(f"http://{proxy.upstream}", repo, data)
    proxy.add(
        Fault(
            "drip", method="GET", path="/blobs/sha256:", drip="body", stall_seconds=60, times=None
        )
    )
    policy = RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.01, total_timeout=30.0)
    client = RegistryClient(proxy.host, plain_http=True, timeout=0.5, retry=policy)
    try:
        with pytest.raises(UnreachableError) as caught:
            client.download_blob(repo, digest, len(data), tmp_path / "blob")
    finally:
        proxy.release()
    message = caught.value.message
    assert message.startswith(f"{proxy.host}: GET blob {digest[:19]}"), message
    assert re.search(r"the transfer stalled: 0 bytes in the last 0\.\d s \(0 bytes/s", message)
    assert "after 2 attempts" in message, message


def test_a_blob_download_slower_than_the_answer_time_limit_but_moving_is_not_cut(
    proxy: FaultProxy, repo: str, tmp_path: Path
) -> None:
    """Only what is not a blob's body must come within the answer time limit: a layer
    that takes longer, at more than the minimum rate, is downloaded whole."""
    data = random.Random(4).randbytes(200)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    raw_push_blob(f"http://{proxy.upstream}", repo, data)
    proxy.add(
        Fault(
            "drip", method="GET", path="/blobs/sha256:", drip="body", stall_seconds=0.01, times=None
        )
    )
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=0.5, retry=FakeClock().policy(attempts=1)
    )
    client.transport.stall_window, client.transport.stall_bytes = 0.5, 10
    started = time.monotonic()
    client.download_blob(repo, digest, len(data), tmp_path / "blob")
    assert time.monotonic() - started > 1.0  # well past the answer time limit
    assert (tmp_path / "blob").read_bytes() == data


def test_an_upload_slower_than_the_request_time_limit_but_moving_is_not_cut(
    proxy: FaultProxy, repo: str
) -> None:
    """A blob held in memory goes up in pieces like a file: only each piece must go out
    within the request time limit, not the whole blob (one socket write of 48 MiB on a
    link that takes seconds for it would time out)."""
    proxy.add(
        Fault("throttle", method="PUT", path="/blobs/uploads/", stall_seconds=0.005, times=None)
    )
    data = random.Random(8).randbytes(48 * 1024 * 1024)  # about 4 s at 64 KiB per 5 ms
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=1.5, retry=FakeClock().policy(attempts=1)
    )
    started = time.monotonic()
    assert client.push_blob(repo, digest, data)
    assert time.monotonic() - started > 2 * 1.5  # well past the request time limit
    assert client.get_blob(repo, digest, limit=len(data)) == data


def test_an_upload_whose_body_the_link_drains_slowly_is_waited_for_not_cut(
    proxy: FaultProxy, repo: str
) -> None:
    """The socket's buffers take megabytes of a body at once, long before a slow link (or
    a proxy that buffers the request) has carried it: the answer's time limit starts once
    the registry has taken the body, not once the last piece was queued here."""
    proxy.add(
        Fault("throttle", method="PUT", path="/blobs/uploads/", stall_seconds=0.05, times=None)
    )
    data = random.Random(9).randbytes(3 * 1024 * 1024)  # about 2.5 s at 64 KiB per 50 ms
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=0.5, retry=FakeClock().policy(attempts=1)
    )
    started = time.monotonic()
    assert client.push_blob(repo, digest, data)  # each 256 KiB piece goes in 0.2 s
    assert time.monotonic() - started > 3 * 0.5  # well past the request time limit
    assert client.get_blob(repo, digest, limit=len(data)) == data


def test_an_upload_the_registry_stops_taking_is_stalled_not_unanswered(
    proxy: FaultProxy, repo: str
) -> None:
    """A body queued here whole but not taken (64 KiB a second: no 256 KiB piece in the
    time limit) is a stalled transfer, with the bytes taken, not a registry that did not
    answer."""
    proxy.add(
        Fault("throttle", method="PUT", path="/blobs/uploads/", stall_seconds=1.0, times=None)
    )
    data = random.Random(10).randbytes(1024 * 1024)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=0.3, retry=FakeClock().policy(attempts=1)
    )
    with pytest.raises(UnreachableError) as info:
        client.push_blob(repo, digest, data)
    message = info.value.message
    assert "the transfer stalled: " in message, message
    assert f" of {len(data)} bytes sent in " in message, message
    assert "no answer" not in message, message


def test_an_untrusted_certificate_is_named(https_registry: Any, repo: str) -> None:
    client = RegistryClient(https_registry.host, retry=FakeClock().policy(attempts=1))
    message = _unreachable(client, repo)
    assert "TLS failed: the certificate is not trusted (self-signed certificate)" in message


def test_a_tls_record_failing_its_check_mid_body_is_retried_then_classified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urllib3 raises its own SSLError (no OSError) for a TLS record that fails its
    integrity check while a body streams: a cut-off answer, retried, then an
    invalid-response error, never an internal error."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with CorruptTls(str(cert), str(key)) as server:
        client = RegistryClient(server.host, retry=FakeClock().policy(attempts=2))
        with pytest.raises(InvalidResponseError, match="cut off") as caught:
            client.list_tags("test/repo")
    assert caught.value.hint and "check the network path" in caught.value.hint


def test_https_to_a_plain_http_registry_says_it_does_not_speak_tls(
    registry: Any, repo: str
) -> None:
    client = RegistryClient(registry.host, plain_http=False, retry=FakeClock().policy(attempts=1))
    assert "TLS failed: the registry does not speak TLS on that port" in _unreachable(client, repo)


def test_an_unreachable_token_server_is_named_not_the_registry(repo: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        realm_host = f"127.0.0.1:{sock.getsockname()[1]}"
    challenge = f'Bearer realm="http://{realm_host}/token",service="test"'
    with FixedAnswer("401 Unauthorized", {"WWW-Authenticate": challenge}, b"{}") as registry:
        client = RegistryClient(
            registry.host, plain_http=True, retry=FakeClock().policy(attempts=2)
        )
        with pytest.raises(UnreachableError) as info:
            client.list_tags(repo)
    assert f"connection refused (nothing listens on that port) (at {realm_host}" in (
        info.value.message
    )
    assert f"check that {realm_host} is reachable" in (info.value.hint or "")


@pytest.fixture
def token_realm(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    fresh_registry: Callable[..., Any],
    tmp_path: Path,
) -> tuple[FaultProxy, RegistryClient]:
    """A registry whose token realm is reached through a fault proxy: the proxy, and a
    client of the registry (two attempts)."""
    front = proxy_for(token_registry.server.host)
    config = token_registry.server.registry_auth_config(tmp_path / "signer.pem")
    config["auth"]["token"]["realm"] = f"{front.url}/token"
    registry = fresh_registry(extra_config=config)
    return front, RegistryClient(
        registry.host, plain_http=True, retry=FakeClock().policy(attempts=2)
    )


def test_a_failing_token_server_is_named_not_the_registry(
    token_realm: tuple[FaultProxy, RegistryClient], repo: str
) -> None:
    """The registry answers; the token server it sends us to keeps answering 503."""
    front, client = token_realm
    front.add(Fault("status", path="^/token", status=503, body=b"token service down", times=None))
    with pytest.raises(UnreachableError) as info:
        client.list_tags(repo)
    message = info.value.message
    assert f"{front.host} (the registry's token server) kept failing (HTTP 503" in message
    assert "the registry kept failing" not in message
    assert (info.value.hint or "").startswith(f"{front.host} is having trouble")
    front.clear()
    assert client.list_tags(repo) == []


def test_a_failing_token_server_on_the_registry_s_own_host_is_named_in_each_retry(
    token_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    fresh_registry: Callable[..., Any],
    tmp_path: Path,
    repo: str,
) -> None:
    """The token server answers on the registry's own host and port (GHCR's is
    ghcr.io/token), 503 twice: each retry line says the 503 came from the token server,
    naming it, not that the registry's request failed; the third try gets its token."""
    front = proxy_for("127.0.0.1:1")  # its upstream: the registry, once it runs
    config = token_registry.server.registry_auth_config(tmp_path / "signer.pem")
    config["auth"]["token"]["realm"] = f"{front.url}/token"
    front.upstream = fresh_registry(extra_config=config).host
    front.add(
        Fault("status", path="^/token", status=503, body=b"token service down", times=2),
        Fault("route", path="^/token", upstream=token_registry.server.host, times=None),
    )
    err = io.StringIO()
    client = RegistryClient(
        front.host,
        plain_http=True,
        retry=FakeClock().policy(attempts=3),
        output=Output(env={}, stream=io.StringIO(), err_stream=err),
        name="ghcr",
    )
    assert client.list_tags(repo) == []
    retries = [line for line in err.getvalue().splitlines() if "retrying in" in line]
    assert len(retries) == 2, err.getvalue()
    for line in retries:
        assert f"list tags of {front.host}/{repo}: HTTP 503: token service down (at " in line
        assert f"the registry's token server, {front.host}/token)" in line, line
    front.clear()
    front.add(Fault("status", path="^/token", status=503, body=b"token service down", times=None))
    again = RegistryClient(front.host, plain_http=True, retry=FakeClock().policy(attempts=2))
    with pytest.raises(UnreachableError) as info:
        again.list_tags(repo)
    assert f"the registry's token server ({front.host}/token) kept failing (HTTP 503" in (
        info.value.message
    ), info.value
    assert (info.value.hint or "").startswith("the registry's token server ("), info.value.hint


def test_a_token_realm_that_serves_no_tokens_is_not_a_missing_image(
    token_realm: tuple[FaultProxy, RegistryClient], repo: str
) -> None:
    """A realm answering 404 (a misconfigured registry or proxy) is an invalid answer
    (exit 8) naming the token server, not "not found" (exit 5), which reads as no image."""
    front, client = token_realm
    front.add(Fault("status", path="^/token", status=404, body=b"404 page not found", times=None))
    with pytest.raises(InvalidResponseError) as info:
        client.list_tags(repo)
    assert info.value.exit_code == 8
    assert f"the token server {front.host}/token that the registry names answered 404" in (
        info.value.message
    )
    assert "realm points at no token service" in (info.value.hint or "")


def test_a_deadline_passing_after_its_answer_came_whole_spares_the_next_request_on_that_connection(
    proxy: FaultProxy, repo: str
) -> None:
    """An answer read whole, whose thread is slow to hand it back (its deadline still
    armed), puts its kept-alive connection back in the pool at once: the next request
    takes it, and that answer's deadline passing meanwhile must not shut it under the
    next request (which would fail once and be retried)."""
    client = RegistryClient(
        proxy.host, plain_http=True, timeout=0.5, retry=FakeClock().policy(attempts=1)
    )
    transport = client.transport
    first = transport._open("GET", transport.url("/v2/"))
    assert first.status_code == 200 and first.raw.read() == b"{}"  # whole: back in the pool
    transport.timeout = 10.0
    proxy.add(Fault("stall", method="GET", path="/tags/list", stall_seconds=1.5))
    try:
        # Sent on the first answer's connection; answered after that answer's deadline.
        assert client.list_tags(repo) == []
    finally:
        proxy.release()
        _close(first)
    assert proxy.count("GET", "tags") == 1  # no second attempt


@pytest.mark.parametrize("drip", ["headers", "body"])
def test_an_answer_that_trickles_in_over_tls_is_taken_for_none(
    registry: Any,
    seed: Callable[..., str],
    repo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    drip: str,
) -> None:
    """Over HTTPS too, an answer that trickles in must come whole within the answer time
    limit: its TLS connection is shut like a plain one, and the answer taken for none."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    seed(registry, repo, make_image(platforms=["linux/amd64"]).images[0], ["1"])
    with FaultProxy(registry.host, tls=(str(cert), str(key))) as front:
        client = RegistryClient(front.host, timeout=0.5, retry=FakeClock().policy(attempts=1))
        assert client.list_tags(repo) == ["1"]  # over TLS, and trusted
        front.add(
            Fault(
                "drip", method="GET", path="/tags/list", drip=drip, stall_seconds=0.05, times=None
            )
        )
        safety = _end_the_drip_after(front, 8.0)
        started = time.monotonic()
        try:
            message = _unreachable(client, repo)
        finally:
            safety.cancel()
            front.release()
        elapsed = time.monotonic() - started
    assert "no answer within 0.5 s" in message, message
    assert elapsed < 0.5 + 2.0, elapsed  # one answer wait, and slack (the drip lasts 8 s)
    _no_deadline_left()


@pytest.mark.parametrize("drip", ["headers", "body"])
def test_a_token_server_that_trickles_its_answer_is_named_as_not_answering(
    token_realm: tuple[FaultProxy, RegistryClient], repo: str, drip: str
) -> None:
    """The token answer, too, must come whole within the answer time limit: a token
    server that trickles it is taken for one that does not answer, and named."""
    front, client = token_realm
    client.transport.timeout = 0.5
    front.add(Fault("drip", path="^/token", drip=drip, stall_seconds=0.05, times=None))
    safety = _end_the_drip_after(front, 8.0)
    started = time.monotonic()
    try:
        with pytest.raises(UnreachableError) as info:
            client.list_tags(repo)
    finally:
        safety.cancel()
        front.release()
    elapsed = time.monotonic() - started
    message = info.value.message
    assert (
        f"connection failed: no answer within 0.5 s (at {front.host}, the registry's token server)"
        in message
    ), message
    assert "after 2 attempts" in message, message
    assert elapsed < 2 * 0.5 + 2.0, elapsed  # two answer waits, and slack (the drip lasts 8 s)
    _no_deadline_left()


# ----------------------------------------------------------- refusals by policy, plain 4xx


def denied(message: str) -> bytes:
    return json.dumps({"errors": [{"code": "DENIED", "message": message}]}).encode()


def test_a_quota_403_after_the_credentials_were_taken_is_a_policy_refusal_not_a_password(
    basic_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """Harbor's quota: blob uploads meet 403 DENIED "quota exceeded" once requests with
    the same credentials were answered. The error quotes the reason and tips at the
    quota, not at the password."""
    proxy = proxy_for(basic_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=basic_registry.credentials)
    image = make_image(platforms=["linux/amd64"], seed=31).images[0]
    config, *layers = image.blobs.items()
    assert client.push_blob(repo, *config)  # the credentials are taken
    reason = "quota exceeded: storage limit of 10 GiB reached for project acme"
    proxy.add(
        Fault("status", method="PUT", path="/blobs/uploads/", status=403, body=denied(reason))
    )
    with pytest.raises(DeniedError) as info:
        client.push_blob(repo, *layers[0])
    error = info.value
    assert error.exit_code == 4 and error.policy == "quota"
    assert (
        f"refused the operation by policy (HTTP 403), though it accepted the credentials of "
        f"{basic_registry.username!r} (explicit): DENIED: {reason}"
    ) in error.message
    assert "free space" in (error.hint or "") and "raise the quota" in (error.hint or "")
    assert "password" not in (error.hint or ""), error.hint


def test_an_immutable_tag_403_names_the_immutability_rule(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    proxy = proxy_for(token_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=token_registry.pusher)
    image = make_image(platforms=["linux/amd64"], seed=32).images[0]
    digest = client.push_layout(write_layout(image, tmp_path / "l"), repo)
    reason = f"Failed to process request due to '{repo}:v1' configured as immutable."
    proxy.add(Fault("status", method="PUT", path="/manifests/v1$", status=403, body=denied(reason)))
    with pytest.raises(DeniedError) as info:
        client.tag(repo, digest, "v1")
    error = info.value
    assert error.policy == "immutable" and error.exit_code == 4
    assert "refused the operation by policy (HTTP 403)" in error.message
    assert "configured as immutable" in error.message
    assert "immutability rule" in (error.hint or "")
    assert "username and password" not in (error.hint or ""), error.hint


def test_a_reason_of_its_own_after_the_credentials_were_taken_is_a_rule_of_the_registry(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    """A 403 with a reason not about access, after the token server granted a token for
    the credentials: a rule of the registry, its reason quoted, not the password."""
    proxy = proxy_for(token_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=token_registry.pusher)
    image = make_image(platforms=["linux/amd64"], seed=34).images[0]
    digest = client.push_layout(write_layout(image, tmp_path / "l"), repo)
    reason = "listing tags is disabled on this mirror"
    proxy.add(Fault("status", method="GET", path="/tags/list", status=403, body=denied(reason)))
    with pytest.raises(DeniedError) as info:
        client.list_tags(repo)
    error = info.value
    assert digest and error.policy == "rule" and error.exit_code == 4
    assert reason in error.message
    assert "by a rule of its own" in (error.hint or ""), error.hint


def test_an_account_denied_an_operation_after_its_credentials_were_taken_is_told_about_rights(
    token_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    """A 403 naming no rule, after the token server granted a token for the credentials:
    the account's rights are the likely cause, not the password."""
    proxy = proxy_for(token_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=token_registry.pusher)
    image = make_image(platforms=["linux/amd64"], seed=33).images[0]
    reason = "requested access to the resource is denied"
    proxy.add(Fault("status", method="PUT", path="/manifests/", status=403, body=denied(reason)))
    with pytest.raises(DeniedError) as info:
        client.push_layout(write_layout(image, tmp_path / "l"), repo)
    error = info.value
    assert error.policy is None
    assert "access denied (HTTP 403), though the registry accepted the credentials" in (
        error.message
    )
    assert "may lack push access" in (error.hint or ""), error.hint


def test_a_manifest_refused_with_401_after_its_blobs_went_up_is_not_told_about_the_password(
    basic_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    """The blobs go up with the credentials, then the manifest's PUT meets 401 (a proxy or
    a registry that lets the account pull but not push there): the error says the PUT was
    refused after the credentials were taken, with the registry's words redacted, and the
    likely cause, the account's push access to the repository, not the password."""
    proxy = proxy_for(basic_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=basic_registry.credentials)
    image = make_image(platforms=["linux/amd64"], seed=35).images[0]
    password = basic_registry.password
    proxy.add(
        Fault(
            "status",
            method="PUT",
            path="/manifests/",
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="publisher-test"'},
            body=denied(f"no push here for {basic_registry.username}:{password}"),
            times=None,
        )
    )
    with pytest.raises(AuthError) as info:
        client.push_layout(write_layout(image, tmp_path / "l"), repo)
    message, hint = info.value.message, info.value.hint or ""
    assert [s.status for s in proxy.log if "/blobs/uploads/" in s.path and s.method == "PUT"]
    assert password not in message, message
    assert (
        f"the registry accepted the credentials of {basic_registry.username!r} (explicit) for "
        "earlier requests, then refused this PUT with HTTP 401: DENIED: no push here for"
    ) in message, message
    assert hint.startswith("the password is not the cause"), hint
    assert f"likely may pull but not push to {repo}" in hint, hint
    assert "check the username and password" not in hint, hint


def test_a_read_refused_with_401_after_the_credentials_were_taken_is_not_told_about_push(
    basic_registry: Any, repo: str, proxy_for: Callable[[Any], FaultProxy], tmp_path: Path
) -> None:
    """The image goes up with the credentials, then reading its tags meets 401 (a
    registry whose rules let the account write but not list there): a read is no push,
    so the error is the credentials' refusal, not the pull-but-not-push advice."""
    proxy = proxy_for(basic_registry)
    client = client_via(proxy, FakeClock().policy(), credentials=basic_registry.credentials)
    client.push_layout(write_layout(make_image(seed=36).images[0], tmp_path / "l"), repo)
    challenge = {"WWW-Authenticate": 'Basic realm="publisher-test"'}
    proxy.add(
        Fault("status", method="GET", path="/tags/list", status=401, headers=challenge, times=None)
    )
    with pytest.raises(AuthError) as info:
        client.list_tags(repo)
    message, hint = info.value.message, info.value.hint or ""
    assert "not authorized (HTTP 401)" in message, message
    assert "may pull but not push" not in hint, hint
    assert "the password is not the cause" not in hint, hint


@pytest.mark.parametrize(
    ("reason", "policy"),
    [
        ("storage quota exceeded for this project", "quota"),
        ("requested access is denied", None),
        # a reason naming no rule, sent to no credentials, is about access: the login tip
        ("you are not allowed to pull this repository", None),
        ("listing tags is disabled on this mirror", None),
    ],
)
def test_an_anonymous_403_is_a_policy_refusal_only_when_its_reason_names_one(
    reason: str, policy: str | None, proxy: FaultProxy, repo: str
) -> None:
    proxy.add(Fault("status", method="GET", path="/tags/list", status=403, body=denied(reason)))
    with pytest.raises(AuthError) as info:
        client_via(proxy, FakeClock().policy()).list_tags(repo)
    error = info.value
    assert reason in error.message and error.exit_code == 4
    if policy is None:
        assert not isinstance(error, DeniedError)
        assert "no credentials were found" in (error.hint or "")
    else:
        assert isinstance(error, DeniedError) and error.policy == policy
        assert "refused the operation by policy" in error.message
        assert "credentials are not the cause" in (error.hint or "")


def test_a_read_only_registry_is_said_to_accept_no_writes(
    fresh_registry: Callable[..., LocalRegistry], repo: str, tmp_path: Path
) -> None:
    storage = {
        "filesystem": {"rootdirectory": str(tmp_path / "storage")},
        "maintenance": {"readonly": {"enabled": True}},
    }
    registry = fresh_registry(extra_config={"storage": storage})
    client = RegistryClient(registry.host, plain_http=True, retry=FakeClock().policy())
    layer = make_layer(1000, random.Random(5))
    with pytest.raises(RegistryError) as info:
        client.push_blob(repo, "sha256:" + hashlib.sha256(layer).hexdigest(), layer)
    error = info.value
    assert error.exit_code == 9
    assert "the registry accepts no writes now (HTTP 405, Allow: GET, HEAD)" in error.message
    assert "read-only or maintenance mode" in (error.hint or "")


def test_a_413_says_what_was_too_large_in_the_words_of_its_html_page(
    proxy: FaultProxy, repo: str
) -> None:
    page = (
        b"<html><head><title>413 Request Entity Too Large</title></head><body><center>"
        b"<h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>"
    )
    headers = {"Content-Type": "text/html"}
    proxy.add(
        Fault(
            "status", method="PUT", path="/blobs/uploads/", status=413, headers=headers, body=page
        )
    )
    error, layer = refused_push(proxy, repo, 3000, 6, RegistryError)
    assert f"the blob of {len(layer)} bytes is over the size limit" in error.message
    assert "(HTTP 413): 413 Request Entity Too Large nginx" in error.message
    assert "<" not in error.message
    assert "client_max_body_size" in (error.hint or "")


@pytest.mark.parametrize(
    ("status", "code"), [(400, "MANIFEST_INVALID"), (415, "UNSUPPORTED")], ids=["400", "415"]
)
def test_a_registry_refusing_oci_indexes_is_told_the_media_type_it_was_sent(
    status: int, code: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    for child in image.images:
        seed(registry, repo, child)
    body = json.dumps({"errors": [{"code": code, "message": "manifest invalid"}]}).encode()
    proxy.add(Fault("status", method="PUT", path="/manifests/", status=status, body=body))
    with pytest.raises(RegistryError) as info:
        client_via(proxy, FakeClock().policy()).put_manifest(repo, image.index, OCI_INDEX)
    error = info.value
    assert f"the manifest sent was an OCI image index (media type {OCI_INDEX})" in error.message
    assert "takes no OCI image index" in (error.hint or ""), error.hint


def test_a_registry_that_takes_blobs_in_chunks_only_is_said_so(
    proxy: FaultProxy, repo: str
) -> None:
    body = json.dumps(
        {"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "monolithic upload unsupported"}]}
    ).encode()
    proxy.add(Fault("status", method="PUT", path="/blobs/uploads/", status=400, body=body))
    error, layer = refused_push(proxy, repo, 1000, 7, RegistryError)
    assert f"refused the blob of {len(layer)} bytes sent whole in one PUT" in error.message
    assert "only in chunks (PATCH requests)" in (error.hint or ""), error.hint


def test_a_manifest_digest_in_sha512_of_the_same_bytes_is_no_lie(
    proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    image = make_image()
    for child in image.images:
        seed(registry, repo, child)
    same = "sha512:" + hashlib.sha512(image.index).hexdigest()
    proxy.add(Fault("digest", method="PUT", path="/manifests/", digest=same))
    client = client_via(proxy, FakeClock().policy())
    assert client.put_manifest(repo, image.index, OCI_INDEX, tag="v1") == image.digest
    other = "sha512:" + hashlib.sha512(image.index + b" ").hexdigest()
    proxy.add(Fault("digest", method="PUT", path="/manifests/", digest=other))
    with pytest.raises(InvalidResponseError, match="says it stored sha512:"):
        client.put_manifest(repo, image.index, OCI_INDEX, tag="v2")


def test_an_upload_location_with_another_scheme_is_said_so(proxy: FaultProxy, repo: str) -> None:
    location = f"https://{proxy.host}/v2/{repo}/blobs/uploads/abc?_state=x"
    proxy.add(
        Fault(
            "status",
            method="POST",
            path="/blobs/uploads/",
            status=202,
            headers={"Location": location},
        )
    )
    error, _ = refused_push(proxy, repo, 1000, 8, InvalidResponseError)
    assert f"a Location with another scheme (https://{proxy.host}" in error.message
    assert "another host" not in error.message
    assert upload_puts(proxy) == []
