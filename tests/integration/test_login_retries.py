"""`buildah login` and `docker login` (the smoke test's pull, a buildx build) against a
real registry behind a fault proxy: a 5xx, a 429 or a connection failure is retried under
PUBLISHER_RETRY_*, as publisher's own requests are, and the tip of the last failure
blames the credentials only when the registry refused them (401, 403)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.builders import dockercli
from publisher.adapters.builders.base import log_in
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.adapters.smoke import Engine, login_argv
from publisher.core.errors import CommandError
from publisher.core.fileio import temp_dir
from publisher.resolve import BasicCredentials
from tests.conftest import require_tool
from tests.integration.conftest import BasicAuthRegistry
from tests.support.faultproxy import Fault, FaultProxy

pytestmark = pytest.mark.integration

CREDENTIALS_TIP = "check the registry credentials"


def _runner(**settings: str) -> Runner:
    env = {**os.environ, "PUBLISHER_RETRY_INITIAL_DELAY": "0", **settings}
    return Runner(output=Output(env={}, quiet=True), env=env)


def _buildah_login(runner: Runner, host: str, creds: BasicCredentials) -> None:
    buildah = require_tool("buildah")
    with temp_dir("publisher-test-auth-") as tmp:
        argv = login_argv(
            Engine.BUILDAH,
            host,
            creds.username,
            tool=buildah,
            plain_http=True,
            authfile=str(tmp / "auth.json"),
        )
        log_in(runner, argv, creds)


def _docker_login(runner: Runner, host: str, creds: BasicCredentials) -> None:
    docker = require_tool("docker")
    with dockercli.logged_in_config(runner, host, creds, docker=docker):
        pass


LOGINS = {"buildah": _buildah_login, "docker": _docker_login}


@pytest.fixture
def ping_proxy(
    basic_registry: BasicAuthRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> FaultProxy:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return proxy_for(basic_registry)


def _pings(proxy: FaultProxy) -> int:
    return sum(1 for seen in proxy.log if seen.path == "/v2/")


@pytest.mark.parametrize("tool", list(LOGINS))
@pytest.mark.parametrize("status", [503, 429])
def test_a_login_answered_a_passing_5xx_or_429_is_retried(
    basic_registry: BasicAuthRegistry, ping_proxy: FaultProxy, tool: str, status: int
) -> None:
    # docker's daemon asks /v2/ again without credentials after a failed first ask, and
    # says the 401 of that one: the registry fails both here
    times = 2 if tool == "docker" else 1
    ping_proxy.add(Fault("status", path="^/v2/$", status=status, times=times))
    LOGINS[tool](_runner(), ping_proxy.host, basic_registry.credentials)
    assert ping_proxy.log[0].status == status and _pings(ping_proxy) >= 2


@pytest.mark.parametrize("tool", list(LOGINS))
def test_a_login_the_registry_keeps_failing_says_its_answer_not_the_credentials(
    basic_registry: BasicAuthRegistry, ping_proxy: FaultProxy, tool: str
) -> None:
    ping_proxy.add(Fault("status", path="^/v2/$", status=503, times=None))
    with pytest.raises(CommandError) as caught:
        LOGINS[tool](
            _runner(PUBLISHER_RETRY_ATTEMPTS="3"), ping_proxy.host, basic_registry.credentials
        )
    hint = caught.value.hint or ""
    assert "the registry answered 503" in hint and "after 3 attempts" in hint, hint
    assert CREDENTIALS_TIP not in hint
    assert caught.value.exit_code == 11
    assert _pings(ping_proxy) == 3 * (2 if tool == "docker" else 1)  # docker: twice a login


@pytest.mark.parametrize("tool", list(LOGINS))
def test_a_login_that_reaches_no_registry_is_retried_and_says_so(tool: str) -> None:
    with pytest.raises(CommandError) as caught:
        LOGINS[tool](
            _runner(PUBLISHER_RETRY_ATTEMPTS="2"), "127.0.0.1:1", BasicCredentials("u", "pw-x1")
        )
    hint = caught.value.hint or ""
    assert "connection refused" in hint and "after 2 attempts" in hint, hint
    assert CREDENTIALS_TIP not in hint


@pytest.mark.parametrize("tool", list(LOGINS))
@pytest.mark.parametrize("status", [401, 403])
def test_a_login_refused_is_not_retried_and_blames_the_credentials(
    basic_registry: BasicAuthRegistry, ping_proxy: FaultProxy, tool: str, status: int
) -> None:
    if status == 401:  # the registry's own refusal of a wrong password
        creds = BasicCredentials(basic_registry.username, "not-the-password")
    else:
        creds = basic_registry.credentials
        ping_proxy.add(Fault("status", path="^/v2/$", status=status, times=None))
    with pytest.raises(CommandError) as caught:
        LOGINS[tool](_runner(), ping_proxy.host, creds)
    assert CREDENTIALS_TIP in (caught.value.hint or ""), caught.value.hint
    assert _pings(ping_proxy) <= 2  # docker asks /v2/ once without, once with credentials
