"""A canary password where it does not belong, seen from outside: publisher run as a
process, against registries on loopback, and everything it prints, writes and runs
searched for the canary (and its encoded forms)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from publisher.adapters.builders import dockercli
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.runner import Runner
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import BasicAuthRegistry

pytestmark = pytest.mark.integration

CANARY = "CANARY-s3cr3t-9f8e"


def canary_forms(secret: str = CANARY, user: str = "alice") -> tuple[str, ...]:
    return (
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(f"{user}:{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
    )


def leaked(text: str, secret: str = CANARY) -> list[str]:
    return [form for form in canary_forms(secret) if form in text]


def run_publisher(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PUBLISHER_"))}
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        timeout=timeout,
        check=False,
    )


def actions_env(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
    }


def files_left(root: Path) -> str:
    """Every file under ``root``, as text, for a search."""
    texts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(texts)


# ------------------------------------------------------------ credentials in a URL


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("repository", "alice:{canary}@{host}/test/php-fpm"),
        ("repository", "https://alice:{canary}@{host}/test/php-fpm"),
        ("repository", "alice:{canary}@{host}"),
        ("base_image", "alice:{canary}@{host}/library/php:{{php}}-fpm-alpine"),
        ("mirror", "alice:{canary}@{host}"),
        ("mirror", "https://alice:{canary}@{host}/prefix"),
        ("mirror_env", "alice:{canary}@{host}"),
        ("source_url", "https://x-access-token:{canary}@github.com/acme/php-fpm"),
    ],
)
def test_credentials_in_a_url_are_refused_without_echoing_them(
    registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
    where: str,
    value: str,
) -> None:
    text = value.format(canary=CANARY, host=registry.host)
    repository = f"{registry.host}/test/php-fpm"
    env = actions_env(tmp_path)
    matrix = write_matrix(tmp_path, [("local", repository, True)], lines=("8.4",))
    data = yaml.safe_load(matrix.read_text())
    if where == "repository":
        data["registries"][0]["repository"] = text
    elif where == "base_image":
        data["base"]["image"] = text
    elif where == "mirror":
        data["base"]["mirror"] = text
    elif where == "mirror_env":
        env["PUBLISHER_BASE_MIRROR"] = text
    else:
        data["source_url"] = text
    matrix.write_text(yaml.safe_dump(data))
    for args in (
        ("--debug", "plan", "v1.0.0"),
        ("plan", "v1.0.0", "--json"),
        ("--debug", "preflight", "--json"),
        ("verify", "v1.0.0", "--json"),
    ):
        result = run_publisher(*args, "--config", str(matrix), env=env, cwd=tmp_path)
        assert result.returncode == 3, (args, result.stdout, result.stderr)
        assert "carries credentials" in result.stdout + result.stderr
        assert leaked(result.stdout + result.stderr) == [], (args, result.stderr)
    assert leaked(files_left(tmp_path).replace(matrix.read_text(), "")) == []


@pytest.mark.parametrize(
    "ref",
    [
        "alice:{canary}@{host}/test/php-fpm:v1",
        "https://alice:{canary}@{host}/test/php-fpm:v1",
        "https://alice:{canary}/x@{host}/test/php-fpm",
        "alice:{canary}@{host}",
    ],
)
def test_credentials_in_an_inspected_reference_are_refused_without_echoing_them(
    registry: LocalRegistry, tmp_path: Path, ref: str
) -> None:
    text = ref.format(canary=CANARY, host=registry.host)
    for args in (("--debug", "inspect", text), ("inspect", text, "--json", "--offline")):
        result = run_publisher(*args, env=actions_env(tmp_path), cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "carries credentials" in result.stdout + result.stderr
        assert leaked(result.stdout + result.stderr) == [], result.stdout + result.stderr


# ------------------------------------------- docker login into a throwaway config


def test_docker_login_keeps_the_password_out_of_the_platform_credential_store(
    basic_registry: BasicAuthRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `pass` and docker-credential-pass installed (as on many desktops), `docker login`
    into a config without credentials files the password in the pass store, where it stays
    after the throwaway config is gone."""
    docker = require_tool("docker")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "store-calls.txt"
    for name in ("pass", "docker-credential-pass"):
        shim = bindir / name
        shim.write_text(f'#!/bin/sh\ncat >/dev/null\necho "{name} $*" >> {calls}\n')
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    runner = Runner()
    with dockercli.logged_in_config(
        runner, basic_registry.host, basic_registry.credentials, docker=docker
    ) as env:
        config = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())
        assert "credsStore" not in config
        assert config["auths"][basic_registry.host]["auth"]  # logged in, in this file
    assert not calls.exists(), calls.read_text()  # no credential store was asked to keep it
    assert list(scratch.iterdir()) == []  # the throwaway config is gone


def test_docker_hub_credentials_are_filed_where_docker_login_puts_them() -> None:
    assert dockercli.config_key("docker.io") == "https://index.docker.io/v1/"
    assert dockercli.config_key("127.0.0.1:5000") == "127.0.0.1:5000"
