"""`buildah login` and `docker login` (the smoke test's pull, a buildx build) against a
real registry behind a fault proxy: a 5xx, a 429 or a connection failure is retried under
PUBLISHER_RETRY_*, as publisher's own requests are, and the tip of the last failure
blames the credentials only when the registry refused them (401, 403)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.builders import dockercli
from publisher.adapters.builders.base import log_in
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.adapters.smoke import Engine, SmokeTester, login_argv
from publisher.core.errors import CommandError
from publisher.core.fileio import temp_dir
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
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


#: Where each engine's throwaway login of a smoke test's pull lives while it runs.
THROWAWAY = ("publisher-smoke-auth-", "publisher-docker-config-", "--authfile")


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_a_smoke_pull_that_fails_logged_in_tips_commands_that_run_as_it_did(
    basic_registry: BasicAuthRegistry,
    ping_proxy: FaultProxy,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The smoke test pulls logged in through a throwaway auth file (buildah) or
    DOCKER_CONFIG (docker), removed before its failure is said: the tip names no such
    file, says how to log in as it did (the user, where the password came from, never the
    password), and the command to rerun then fails as the smoke test did (the registry
    refuses the pull), not on a missing file."""
    tool = require_tool(engine.value)
    creds = BasicCredentials(basic_registry.username, basic_registry.password, "env REG_U/REG_P")
    image = Reference(ping_proxy.host, "smoke/php-fpm", None, "sha256:" + "5" * 64)
    tester = SmokeTester(
        _runner(),
        engine,
        logins={ping_proxy.host: creds},
        holds=tmp_path / "holds",
        containers=tmp_path / "containers",
    )
    denied = b'{"errors": [{"code": "DENIED", "message": "pulls are paused here"}]}'
    ping_proxy.add(Fault("status", path="/manifests/", status=400, body=denied, times=None))
    with pytest.raises(CommandError) as caught:
        tester.test(image, Platform.AMD64, php_line="8.4", extensions=(), plain_http=True)
    said = caught.value.message
    # docker says the first way it tried (HTTPS), buildah the registry's answer
    failure = "failed to resolve reference" if engine is Engine.DOCKER else "pulls are paused here"
    assert failure in said, said
    hint = caught.value.hint or ""
    assert not [word for word in THROWAWAY if word in hint], hint
    assert basic_registry.password not in hint
    assert "env REG_U/REG_P" in hint, hint
    login, rerun = (shlex.split(command) for command in re.findall(r"`([^`]+)`", hint)[-2:])
    assert login[1:] == ["login", "--username", basic_registry.username, *login[4:]], hint
    assert login[-1] == ping_proxy.host and Path(login[0]).name == engine.value, hint
    # As the maintainer does it (the password typed: here given on stdin), with a store
    # of this test's own.
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    subprocess.run(
        [*login[:-1], "--password-stdin", login[-1]],
        input=basic_registry.password,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    again = subprocess.run(rerun, env=env, capture_output=True, text=True, check=False)
    assert again.returncode != 0 and failure in again.stderr, again.stderr
    assert Path(rerun[0]).name == engine.value and tool
