"""The registry client behind a proxy: HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.

The registry serves HTTPS with a self-signed certificate for ``registry.test``, a
name that only the local CONNECT proxy resolves: a read that succeeds went through
the proxy. NO_PROXY sends the client direct (and so nowhere); a loopback registry
is always reached directly, whatever the proxy variables say.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from publisher.adapters.localregistry import LocalRegistry
from tests.conftest import ROOT
from tests.integration.conftest import HttpsRegistry, matrix_text
from tests.support.connectproxy import ConnectProxy
from tests.support.images import make_image, push_raw
from tests.support.sockets import FixedAnswer

pytestmark = pytest.mark.integration

RELEASE = "v1.3.0"
PINS = (f"{RELEASE}-php-8.4", RELEASE)


def check_public(matrix: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }
    return subprocess.run(
        [sys.executable, "-m", "publisher", "check-public", RELEASE, "--config", str(matrix)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "PUBLISHER_RETRY_ATTEMPTS": "1", **env},
        cwd=ROOT,
    )


def test_the_client_reaches_an_https_registry_through_a_connect_proxy(
    tmp_path: Path, https_registry: HttpsRegistry, write_matrix: Callable[..., Path]
) -> None:
    host, cert = https_registry.host, https_registry.cert
    repo = "proxy/php-fpm"
    push_raw(
        f"https://{host}", repo, make_image(("linux/amd64",)), PINS, session=https_registry.session
    )
    port = host.rsplit(":", 1)[1]
    matrix = write_matrix(tmp_path, [("hub", f"registry.test:{port}/{repo}", True)], lines=("8.4",))
    trust = {"REQUESTS_CA_BUNDLE": str(cert)}
    with ConnectProxy({"registry.test": "127.0.0.1"}, credentials="carol:tunn3l") as proxy:
        via = check_public(matrix, {**trust, "HTTPS_PROXY": proxy.url("carol:tunn3l")})
        assert via.returncode == 0, via.stdout + via.stderr
        assert proxy.requests and set(proxy.requests) == {f"CONNECT registry.test:{port}"}

        served = len(proxy.requests)
        direct = check_public(
            matrix,
            {
                **trust,
                "https_proxy": proxy.url("carol:tunn3l"),
                "NO_PROXY": "example.com,.test",
            },
        )
        assert direct.returncode == 7, direct.stdout + direct.stderr  # unreachable directly
        assert len(proxy.requests) == served  # NO_PROXY: not through the proxy

        wrong = check_public(matrix, {**trust, "HTTPS_PROXY": proxy.url("carol:wrong")})
        said = wrong.stdout + wrong.stderr
        assert wrong.returncode == 7, said
        assert "407" in said
        assert "wrong" not in said.replace("went wrong", "") and "tunn3l" not in said


def test_http_proxy_forwards_and_loopback_goes_direct(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    repo = f"proxy/plain-{uuid.uuid4().hex[:8]}"
    push_raw(f"http://{registry.host}", repo, make_image(("linux/amd64",)), PINS)
    port = registry.host.rsplit(":", 1)[1]
    with ConnectProxy({"registry.test": "127.0.0.1"}) as proxy:
        # A plain-HTTP registry by a name only the proxy knows: absolute-form forwarding.
        text = matrix_text([("hub", f"registry.test:{port}/{repo}", True)], lines=("8.4",))
        named = tmp_path / "named.yaml"
        named.write_text(text.replace("primary: true", "primary: true\n  insecure: true"))
        via = check_public(named, {"HTTP_PROXY": proxy.url()})
        assert via.returncode == 0, via.stdout + via.stderr
        assert any(f" http://registry.test:{port}/v2/" in r for r in proxy.requests), proxy.requests
        served = len(proxy.requests)
        # The same registry on loopback: direct, even with both proxy variables set.
        local = check_public(
            write_matrix(tmp_path, [("hub", f"{registry.host}/{repo}", True)], lines=("8.4",)),
            {"HTTP_PROXY": proxy.url(), "HTTPS_PROXY": proxy.url()},
        )
        assert local.returncode == 0, local.stdout + local.stderr
        assert len(proxy.requests) == served


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound and never listened on: every connection to it is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def test_proxies_are_chosen_by_resolve_s_rule(
    tmp_path: Path,
    https_registry: HttpsRegistry,
    write_matrix: Callable[..., Path],
    refused_port: int,
) -> None:
    """ALL_PROXY is not read (buildah, skopeo and resolve do not read it), a NO_PROXY
    entry written HOST:PORT sends that registry direct (they honour it), and a proxy URL
    publisher cannot use (SOCKS) is refused naming its variable (exit 2)."""
    host, repo = https_registry.host, "proxy/rule"
    image = make_image(("linux/amd64",))
    push_raw(f"https://{host}", repo, image, PINS, session=https_registry.session)
    port = host.rsplit(":", 1)[1]
    matrix = write_matrix(tmp_path, [("hub", f"registry.test:{port}/{repo}", True)], lines=("8.4",))
    trust = {"REQUESTS_CA_BUNDLE": str(https_registry.cert)}
    with ConnectProxy({"registry.test": "127.0.0.1"}) as proxy:
        for name in ("ALL_PROXY", "all_proxy"):
            direct = check_public(matrix, {**trust, name: proxy.url()})
            assert direct.returncode == 7, direct.stdout + direct.stderr  # no such host
            assert "does not resolve" in direct.stdout + direct.stderr
        assert proxy.requests == []

        for no_proxy in ("NO_PROXY", "no_proxy"):
            env = {**trust, "HTTPS_PROXY": proxy.url(), no_proxy: f"registry.test:{port}"}
            direct = check_public(matrix, env)
            assert direct.returncode == 7, direct.stdout + direct.stderr
        assert proxy.requests == []
        other_port = {**trust, "HTTPS_PROXY": proxy.url(), "NO_PROXY": "registry.test:1"}
        via = check_public(matrix, other_port)
        assert via.returncode == 0, via.stdout + via.stderr
        assert proxy.requests

    socks = f"socks5://corp:S0cksPassw0rd@127.0.0.1:{refused_port}"
    refused = check_public(matrix, {**trust, "HTTPS_PROXY": socks})
    said = refused.stdout + refused.stderr
    assert refused.returncode == 2, said
    assert "HTTPS_PROXY must be an http:// proxy URL" in said and "socks5://" in said
    assert "SOCKS support" not in said and "S0cksPassw0rd" not in said
    assert check_public(matrix, {**trust, "ALL_PROXY": socks}).returncode == 7  # not read


def test_a_proxy_that_refuses_is_said_in_words(
    tmp_path: Path,
    https_registry: HttpsRegistry,
    write_matrix: Callable[..., Path],
    refused_port: int,
) -> None:
    """A proxy that is down: named, with the variable it came from, no library repr; one
    that wants other credentials (407): said so at once, not retried as unreachable."""
    port = https_registry.host.rsplit(":", 1)[1]
    matrix = write_matrix(
        tmp_path, [("hub", f"registry.test:{port}/proxy/php-fpm", True)], lines=("8.4",)
    )
    trust = {"REQUESTS_CA_BUNDLE": str(https_registry.cert)}
    dead = refused_port
    down = check_public(
        matrix, {**trust, "https_proxy": f"http://corp:Dead-Pr0xy-Pw@127.0.0.1:{dead}"}
    )
    said = down.stdout + down.stderr
    assert down.returncode == 7, said
    assert f"cannot reach the proxy 127.0.0.1:{dead} (https_proxy): connection refused" in said
    assert "ProxyError" not in said and "_Watched" not in said and "Dead-Pr0xy-Pw" not in said

    with ConnectProxy({"registry.test": "127.0.0.1"}, credentials="corp:Right-Pr0xy-Pw") as proxy:
        env = {**trust, "PUBLISHER_RETRY_ATTEMPTS": "3"}
        wrong = check_public(matrix, {**env, "HTTPS_PROXY": proxy.url("corp:Wrong-Pr0xy-Pw")})
        said = wrong.stdout + wrong.stderr
        assert wrong.returncode == 7, said
        assert f"the proxy {proxy.host} (HTTPS_PROXY) wants other credentials (HTTP 407)" in said
        assert "put the user and password it takes in HTTPS_PROXY, as user:password@" in said
        assert "ProxyError" not in said and "Pr0xy-Pw" not in said
        assert len(proxy.requests) == 1  # not retried

    # a proxy whose policy refuses the tunnel: said with its answer, not retried
    with FixedAnswer("403 Forbidden", {}, b"blocked by policy") as policy:
        denied = check_public(matrix, {**env, "HTTPS_PROXY": f"http://{policy.host}"})
        said = denied.stdout + denied.stderr
        assert denied.returncode == 7, said
        assert (
            f"the proxy {policy.host} (HTTPS_PROXY) refused to connect to registry.test:{port} "
            "(HTTP 403 Forbidden)"
        ) in said
        assert len(policy.requests) == 1


def test_a_plain_http_request_s_proxy_that_wants_credentials_is_said_so(
    tmp_path: Path, registry: LocalRegistry
) -> None:
    """The 407 a forwarding proxy answers a plain-HTTP request itself: the proxy's
    credentials, not the registry refusing the request, and not retried."""
    port = registry.host.rsplit(":", 1)[1]
    text = matrix_text([("hub", f"registry.test:{port}/proxy/plain", True)], lines=("8.4",))
    named = tmp_path / "named.yaml"
    named.write_text(text.replace("primary: true", "primary: true\n  insecure: true"))
    with ConnectProxy({"registry.test": "127.0.0.1"}, credentials="corp:Right-Pr0xy-Pw") as proxy:
        env = {"PUBLISHER_RETRY_ATTEMPTS": "3", "http_proxy": proxy.url("corp:Wrong-Pr0xy-Pw")}
        wrong = check_public(named, env)
    said = wrong.stdout + wrong.stderr
    assert wrong.returncode == 7, said
    assert f"the proxy {proxy.host} (http_proxy) wants other credentials (HTTP 407)" in said
    assert "Pr0xy-Pw" not in said
    assert len(proxy.requests) == 1
