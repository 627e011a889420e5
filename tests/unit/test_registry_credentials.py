"""Where credentials come from, and that they never show (pure: helpers are injected)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import (
    Credentials,
    api_host,
    credentials_for,
    credentials_for_host,
)
from publisher.adapters.runner import Completed
from publisher.core.config import Registry
from publisher.core.errors import AuthError, ConfigError
from publisher.core.reference import parse
from tests.support.fake_runner import FakeRunner, fail, ok

CANARY = "canary-3f9d8e7c6b5a"


def registry(
    host: str = "ghcr.io", user: str | None = "GHCR_USERNAME", pw: str | None = "GHCR_TOKEN"
) -> Registry:
    return Registry("ghcr", parse(f"{host}/acme/php-fpm"), True, user, pw)


def docker_config(tmp_path: Path, data: dict) -> dict[str, str]:
    (tmp_path / "config.json").write_text(json.dumps(data))
    return {"DOCKER_CONFIG": str(tmp_path)}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_repr_never_shows_the_password() -> None:
    creds = Credentials("me", CANARY)
    assert CANARY not in repr(creds)
    assert CANARY not in str(creds)
    assert CANARY not in f"{creds!r} {[creds]}"


def test_env_vars_come_first_and_are_masked(tmp_path: Path) -> None:
    env = {
        "GHCR_USERNAME": "me",
        "GHCR_TOKEN": CANARY,
        **docker_config(tmp_path, {"auths": {"ghcr.io": {"auth": b64("other:pw")}}}),
    }
    out = io.StringIO()
    output = Output({"GITHUB_ACTIONS": "true"}, stream=out, err_stream=io.StringIO())
    creds = credentials_for(registry(), env, output)
    assert creds == Credentials("me", CANARY, source="env GHCR_USERNAME/GHCR_TOKEN")
    assert f"::add-mask::{CANARY}" in out.getvalue()
    assert output.redact(f"token {CANARY}") == "token ***"


def test_half_set_env_vars_are_an_error() -> None:
    with pytest.raises(AuthError, match="GHCR_TOKEN is empty or unset") as info:
        credentials_for(registry(), {"GHCR_USERNAME": "me"})
    assert "GHCR_USERNAME and GHCR_TOKEN" in (info.value.hint or "")


def test_docker_config_auths(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"auths": {"https://ghcr.io": {"auth": b64("me:" + CANARY)}}})
    creds = credentials_for(registry(), env)
    assert creds is not None and (creds.username, creds.password) == ("me", CANARY)
    assert creds.source == "docker config"


def test_docker_config_username_password_fields(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"auths": {"127.0.0.1:5000": {"username": "u", "password": "p"}}})
    assert credentials_for_host("127.0.0.1:5000", env) == Credentials(
        "u", "p", source="docker config"
    )


def test_docker_hub_legacy_key(tmp_path: Path) -> None:
    env = docker_config(
        tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:tok")}}}
    )
    creds = credentials_for_host("docker.io", env)
    assert creds is not None and creds.username == "hub"
    assert api_host("docker.io") == "registry-1.docker.io"
    assert api_host("ghcr.io") == "ghcr.io"


def test_home_docker_config(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(
        json.dumps({"auths": {"ghcr.io": {"auth": b64("me:pw")}}})
    )
    assert credentials_for(registry(user=None, pw=None), {"HOME": str(tmp_path)}) is not None


def test_nothing_means_anonymous(tmp_path: Path) -> None:
    assert credentials_for(registry(), {"HOME": str(tmp_path)}) is None
    assert credentials_for(registry(), {}) is None


def helper_runner(name: str, answer: Completed) -> FakeRunner:
    binary = f"docker-credential-{name}"
    return FakeRunner(tools={binary: f"/usr/bin/{binary}"}).on([binary, "get"], answer)


def test_cred_helper_gets_the_host_on_stdin_through_the_runner(tmp_path: Path) -> None:
    answer = json.dumps({"ServerURL": "ghcr.io", "Username": "me", "Secret": CANARY})
    runner = helper_runner("pass", ok(answer))
    env = docker_config(tmp_path, {"credHelpers": {"ghcr.io": "pass"}})
    creds = credentials_for(registry(), env, runner=runner)
    assert creds is not None and creds.password == CANARY
    assert [(c.argv, c.stdin) for c in runner.calls] == [
        (("docker-credential-pass", "get"), "ghcr.io")
    ]
    assert CANARY not in runner.stream.getvalue()  # the answer is never echoed


def test_creds_store_for_docker_hub_uses_the_legacy_server_url(tmp_path: Path) -> None:
    runner = helper_runner("desktop", ok(""))  # not found
    env = docker_config(tmp_path, {"credsStore": "desktop"})
    assert credentials_for_host("docker.io", env, runner=runner) is None
    assert [c.stdin for c in runner.calls] == ["https://index.docker.io/v1/"]


def test_helper_failures_are_auth_errors(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"credsStore": "pass"})
    with pytest.raises(AuthError, match=r"docker-credential-pass failed \(exit 1\)"):
        credentials_for_host("ghcr.io", env, runner=helper_runner("pass", fail(1, "boom")))
    not_found = helper_runner("pass", fail(1, "credentials not found in native keychain"))
    assert credentials_for_host("ghcr.io", env, runner=not_found) is None
    with pytest.raises(AuthError, match="docker-credential-pass is not installed") as info:
        credentials_for_host("ghcr.io", env, runner=FakeRunner())
    assert "remove it from the docker config" in (info.value.hint or "")


@pytest.mark.parametrize("helper", ["desktop", "osxkeychain"])
def test_a_credential_helper_not_installed_leaves_a_loopback_registry_anonymous(
    tmp_path: Path, helper: str
) -> None:
    """A docker config copied from a Mac names a helper this machine lacks: the
    rehearsal's throwaway registries (loopback) need no credential, so it stops nothing
    there; its ``auths`` still count; a registry elsewhere still says what to do."""
    env = docker_config(
        tmp_path,
        {
            "credsStore": helper,
            "credHelpers": {"localhost:5000": helper},
            "auths": {"https://index.docker.io/v1/": {}, "127.0.0.1:6000": {"auth": b64("u:p")}},
        },
    )
    for host in ("127.0.0.1:41945", "localhost:5000", "[::1]:5000"):
        assert credentials_for_host(host, env, runner=FakeRunner()) is None, host
    found = credentials_for_host("127.0.0.1:6000", env, runner=FakeRunner())
    assert found is not None and found.username == "u"
    for host in ("ghcr.io", "docker.io"):
        with pytest.raises(AuthError, match=f"docker-credential-{helper} is not installed"):
            credentials_for_host(host, env, runner=FakeRunner())


def test_a_helper_that_is_missing_names_the_registry_and_its_variables(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"credsStore": "desktop"})
    with pytest.raises(AuthError) as info:
        credentials_for(registry(), env, runner=FakeRunner())
    assert info.value.message == (
        "credentials for ghcr.io: the docker credential helper docker-credential-desktop "
        "is not installed"
    )
    assert info.value.registry == "ghcr.io"
    assert "the variables for ghcr.io are GHCR_USERNAME and GHCR_TOKEN" in (info.value.hint or "")


def test_a_broken_docker_config_before_a_run_says_how_to_get_past_it(tmp_path: Path) -> None:
    """The run reads it whatever the credential variables say: setting them is no way out."""
    from publisher.adapters.registry.credentials import check_docker_config

    (tmp_path / "config.json").write_text('{"auths": {')
    env = {"DOCKER_CONFIG": str(tmp_path), "GHCR_USERNAME": "me", "GHCR_TOKEN": CANARY}
    with pytest.raises(ConfigError, match="not valid JSON") as info:
        check_docker_config(env)
    hint = info.value.hint or ""
    assert "point DOCKER_CONFIG at a directory" in hint
    assert "set the credential environment variables instead" not in hint
    # removing it, or a directory without one, buildah refuses next ("checking authfile"):
    # the tip offers what every builder takes, an empty config
    assert "remove" not in hint and "has none" not in hint, hint
    assert f"echo '{{}}' > {tmp_path / 'config.json'}" in hint, hint


@pytest.mark.parametrize("text", ["{broken", '{"auths":' * 100_000])
def test_unreadable_docker_config_is_a_config_error(tmp_path: Path, text: str) -> None:
    """Broken JSON, or JSON nested past Python's recursion limit (a RecursionError)."""
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError, match="not valid JSON"):
        credentials_for_host("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)})


def test_a_pipe_as_the_docker_config_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO is never opened (opening it for reading would block until a writer came)."""
    import os
    import threading

    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    done = threading.Event()

    def writer() -> None:  # unblocks a reader that waits on the pipe, after 5 s
        if done.wait(5):
            return
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet
                done.wait(0.1)
                continue
            os.write(fd, b"{}")
            os.close(fd)
            return

    threading.Thread(target=writer, daemon=True).start()
    try:
        with pytest.raises(ConfigError, match="not a regular file"):
            credentials_for_host("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)})
    finally:
        done.set()


def test_bad_auth_value_says_what_to_do(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"auths": {"ghcr.io": {"auth": b64("no-colon")}}})
    with pytest.raises(AuthError, match="not base64 of user:password") as info:
        credentials_for_host("ghcr.io", env)
    assert "docker login" in (info.value.hint or "")


def test_docker_hubs_legacy_key_still_serves_docker_io_and_no_other_host(tmp_path: Path) -> None:
    env = docker_config(
        tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}}
    )
    assert credentials_for_host("docker.io", env) is not None
    assert credentials_for_host("ghcr.io", env) is None


def test_an_identity_token_login_is_said_to_be_unsupported_with_what_to_do(tmp_path: Path) -> None:
    """What docker writes for an OAuth login (ACR): ``auth`` is "user:" and the token is apart."""
    entry = {"auth": b64("tester:"), "identitytoken": "refresh-token"}
    env = docker_config(tmp_path, {"auths": {"ghcr.io": entry}})
    with pytest.raises(AuthError) as info:
        credentials_for_host("ghcr.io", env)
    assert "holds an identity token" in info.value.message
    assert "not base64 of user:password" not in info.value.message
    assert "refresh-token" not in info.value.message + (info.value.hint or "")
    assert "username and a password or access token" in (info.value.hint or "")


@pytest.mark.parametrize("key", ["https://ghcr.io/", "http://ghcr.io/", "ghcr.io/"])
def test_every_key_docker_reads_for_the_host_is_read(tmp_path: Path, key: str) -> None:
    """docker reads a key by its host alone, without scheme or path (ConvertToHostname)."""
    env = docker_config(tmp_path, {"auths": {key: {"auth": b64("me:pw")}}})
    found = credentials_for_host("ghcr.io", env)
    assert found is not None and (found.username, found.password) == ("me", "pw")
