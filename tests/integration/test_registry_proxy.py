"""The registry client behind a proxy: HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.

The registry serves HTTPS with a self-signed certificate for ``registry.test``, a
name that only the local CONNECT proxy resolves: a read that succeeds went through
the proxy. NO_PROXY sends the client direct (and so nowhere); a loopback registry
is always reached directly, whatever the proxy variables say.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.adapters.localregistry import LocalRegistry
from tests.conftest import ROOT
from tests.integration.conftest import HttpsRegistry, matrix_text
from tests.support.connectproxy import ConnectProxy
from tests.support.images import make_image, push_raw

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
