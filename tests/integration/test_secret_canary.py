"""A canary password where it does not belong, seen from outside: publisher run as a
process, against registries on loopback, and everything it prints, writes and runs
searched for the canary (and its encoded forms)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from publisher.adapters.builders import dockercli
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output, markdown_text
from publisher.adapters.runner import TAIL_CHARS, Runner
from publisher.core.errors import CommandError
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import GH_REPO, GH_TOKEN, BasicAuthRegistry
from tests.support.builds import quiet_runner
from tests.support.fake_github import ECHO_AUTHORIZATION, FakeGitHub
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.pipeline import Stack

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


def without_masks(text: str) -> str:
    """``text`` less its ``::add-mask::`` lines, which do name the secret (for Actions)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


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


def test_the_throwaway_docker_config_keeps_the_users_helpers_stores_and_other_logins(
    basic_registry: BasicAuthRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A build with credentials for the primary pulls its base through the user's docker
    config: the throwaway one holds the user's credHelpers and credsStore (by name) and
    the other registries' auths entries as written, while `docker login` keeps the
    primary's password in this file, not in the user's store or helper."""
    docker = require_tool("docker")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "store-calls.txt"
    for name in ("docker-credential-userstore", "docker-credential-mirrorhelper"):
        shim = bindir / name
        shim.write_text(f'#!/bin/sh\ncat >/dev/null\necho "{name} $*" >> {calls}\nexit 1\n')
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    user_dir = tmp_path / "user-docker"
    user_dir.mkdir()
    other = {"auth": base64.b64encode(b"bob:other-registry-secret").decode()}
    user = {
        "auths": {"registry.example:5000": other, basic_registry.host: {"auth": "c3RhbGU6b2xk"}},
        "credHelpers": {"mirror.example": "mirrorhelper", basic_registry.host: "mirrorhelper"},
        "credsStore": "userstore",
        "detachKeys": "ctrl-x,x",
    }
    (user_dir / "config.json").write_text(json.dumps(user))
    monkeypatch.setenv("DOCKER_CONFIG", str(user_dir))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with dockercli.logged_in_config(
        Runner(), basic_registry.host, basic_registry.credentials, docker=docker
    ) as env:
        directory = Path(env["DOCKER_CONFIG"])
        file = directory / "config.json"
        assert (directory.stat().st_mode & 0o777, file.stat().st_mode & 0o777) == (0o700, 0o600)
        config = json.loads(file.read_text())
        assert config["credHelpers"]["mirror.example"] == "mirrorhelper"
        assert config["credHelpers"][basic_registry.host] == ""  # none: this file keeps it
        assert config["credsStore"] == "userstore"
        assert config["auths"]["registry.example:5000"] == other
        assert config["detachKeys"] == "ctrl-x,x"
        logged = base64.b64decode(config["auths"][basic_registry.host]["auth"]).decode()
        assert logged == f"{basic_registry.username}:{basic_registry.password}"
        assert set(config["auths"]) == {"registry.example:5000", basic_registry.host}
    assert not calls.exists(), calls.read_text()  # neither store nor helper kept the password
    assert json.loads((user_dir / "config.json").read_text()) == user  # the user's untouched
    assert list(scratch.iterdir()) == []  # the throwaway config is gone


def test_docker_hub_credentials_are_filed_where_docker_login_puts_them() -> None:
    assert dockercli.config_key("docker.io") == "https://index.docker.io/v1/"
    assert dockercli.config_key("127.0.0.1:5000") == "127.0.0.1:5000"


# ------------------------------------------ a registry that echoes the password back


@pytest.fixture
def canary_registry(fresh_registry: Callable[..., LocalRegistry], tmp_path: Path) -> LocalRegistry:
    htpasswd = require_tool("htpasswd")
    line = subprocess.run(
        [htpasswd, "-niB", "alice"], input=CANARY, capture_output=True, text=True, check=True
    ).stdout.strip()
    path = tmp_path / "htpasswd"
    path.write_text(line + "\n")
    return fresh_registry(
        extra_config={"auth": {"htpasswd": {"realm": "canary", "path": str(path)}}}
    )


def fragments(secret: str = CANARY, size: int = 6) -> list[str]:
    """Every piece of ``secret`` of ``size`` characters: what a cut leaves of it."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def _errors(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


#: Answers that put the canary where the message that quotes them is cut short.
ECHOES = {
    "error message": Fault("status", status=400, body=_errors("DENIED", "x" * 190 + CANARY)),
    "error code": Fault("status", status=400, body=_errors("C" * 54 + CANARY, "denied")),
    "plain body": Fault("status", status=400, body=("y" * 190 + CANARY).encode()),
    "WWW-Authenticate": Fault(
        "status",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="http://x/' + "z" * 67 + CANARY},
    ),
    "WWW-Authenticate, parser's excerpt": Fault(
        "status", status=401, headers={"WWW-Authenticate": 'Bearer realm="abcd' + CANARY}
    ),
    "token realm": Fault(
        "status",
        status=401,
        headers={"WWW-Authenticate": f'Bearer realm="ftp://{"z" * 84}{CANARY}",service="s"'},
    ),
    "ratelimit-remaining": Fault(
        "status",
        status=429,
        headers={"ratelimit-remaining": "r" * 54 + CANARY, "Retry-After": "0"},
    ),
}


@pytest.mark.parametrize("echo", list(ECHOES), ids=list(ECHOES))
def test_a_password_echoed_where_a_message_is_cut_short_leaves_no_piece_of_it(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[object], FaultProxy],
    tmp_path: Path,
    echo: str,
) -> None:
    proxy = proxy_for(canary_registry)
    fault = ECHOES[echo]
    fault.path, fault.times = "/manifests/", None
    proxy.add(fault)
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    auth = base64.b64encode(f"alice:{CANARY}".encode()).decode()
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {proxy.host: {"auth": auth}}})
    )
    env = {"HOME": str(home), "PUBLISHER_RETRY_ATTEMPTS": "1", **actions_env(tmp_path)}
    ref = f"{proxy.host}/acme/php-fpm:v1"
    for args in (("--debug", "inspect", ref), ("inspect", ref, "--json")):
        result = run_publisher(*args, env=env, cwd=tmp_path)
        assert result.returncode in (4, 6, 7, 8, 9), (result.stdout, result.stderr)
        shown = "\n".join(
            line
            for line in (result.stdout + result.stderr).splitlines()
            if not line.startswith("::add-mask::")
        )
        assert [f for f in fragments() if f in shown] == [], shown
    assert [s for s in proxy.log if s.fault == "status"]  # the registry did answer so


def test_a_token_echoed_where_github_s_message_is_cut_short_leaves_no_piece_of_it(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    notes = tmp_path / "v1.0.0.md"
    notes.write_text("notes\n", encoding="utf-8")
    gh.script("POST", r"/releases", 403, {"message": "m" * 284 + ECHO_AUTHORIZATION})
    env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": GH_TOKEN, **actions_env(tmp_path)}
    args = ("gh-release", "v1.0.0", "--repo", GH_REPO, "--notes", str(notes))
    result = run_publisher(*args, env=env, cwd=tmp_path)
    assert result.returncode == 15, result.stdout + result.stderr
    shown = "\n".join(
        line
        for line in (result.stdout + result.stderr).splitlines()
        if not line.startswith("::add-mask::")
    )
    assert "m" * 100 in shown  # the message is there, cut short
    assert [f for f in fragments(GH_TOKEN) if f in shown] == [], shown


# ------------------------------------------------ the launcher and resolve, alike


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("PHP_IMAGE_REPOSITORY", "alice:{canary}@{host}/team/php-fpm", "***@{host}/team/php-fpm"),
        ("PHP_IMAGE_MIRROR", "https://alice:{canary}@{host}/team/php-fpm", "https://***@{host}/team/php-fpm"),
        ("PHP_IMAGE_REPOSITORY", "alice:{canary}/x@{host}/team/php-fpm", "***@{host}/team/php-fpm"),
        ("PMA_IMAGE", "alice:{canary}@{host}/pma latest", "***@{host}/pma latest"),
        # a token before the host, a digest after: the only other '@' is no digest's
        ("PHP_IMAGE_REPOSITORY", "{canary}@{host}/team/php-fpm@sha256:abc", "***@{host}/team/php-fpm@sha256:abc"),
    ],
)  # fmt: skip
def test_the_launcher_and_resolve_refuse_credentials_in_a_setting_without_echoing_them(
    registry: LocalRegistry, tmp_path: Path, name: str, value: str, shown: str
) -> None:
    text = value.format(canary=CANARY, host=registry.host)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DOCKER": "/bin/false",  # refused before any docker command
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v1.0.0",
        name: text,
    }
    stack = ROOT / "examples" / "stack"
    said = []
    for argv in (
        [shutil.which("dash") or "sh", str(stack / "start.sh")],
        [sys.executable, str(ROOT / "publisher" / "resolve.py"), "--format", "json"],
    ):
        proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert leaked(proc.stdout + proc.stderr) == [], proc.stderr
        error = next(line for line in proc.stderr.splitlines() if "error: " in line)
        said.append(error.split("error: ", 1)[1])
        assert f"{name}='{shown.format(host=registry.host)}' is not valid" in error
    assert said[0] == said[1]  # the same words


#: Answers of a registry that quote the password back in a URL resolve refuses to follow.
RESOLVE_ECHOES = {
    "redirect to another scheme": {"Location": f"ftp://alice:{CANARY}@127.0.0.1/v2/x"},
    "redirect to a port out of range": {"Location": f"http://alice:{CANARY}@127.0.0.1:99999/x"},
    "redirect, URL-encoded": {
        "Location": f"ftp://alice:{urllib.parse.quote(CANARY + '/@', safe='')}@127.0.0.1/x"
    },
    "token realm": {"WWW-Authenticate": f'Bearer realm="ftp://alice:{CANARY}@127.0.0.1:1/t"'},
}


@pytest.mark.parametrize("echo", list(RESOLVE_ECHOES), ids=list(RESOLVE_ECHOES))
def test_resolve_says_why_a_registry_failed_without_the_password_it_echoed(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[object], FaultProxy],
    tmp_path: Path,
    echo: str,
) -> None:
    proxy = proxy_for(canary_registry)
    headers = RESOLVE_ECHOES[echo]
    status = 401 if "WWW-Authenticate" in headers else 302
    proxy.add(Fault("status", path="/manifests/", status=status, headers=headers, times=None))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PHP_IMAGE_REGISTRY_USERNAME": "alice",
        "PHP_IMAGE_REGISTRY_PASSWORD": CANARY + ("/@" if "encoded" in echo else ""),
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v1.0.0",
        "PHP_IMAGE_REPOSITORY": f"{proxy.host}/team/php-fpm",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "PHP_IMAGE_CACHE_CHECK": "false",
    }
    for argv in (
        [sys.executable, "-m", "publisher", "resolve", "--format", "json"],
        [sys.executable, str(ROOT / "publisher" / "resolve.py"), "--format", "text"],
    ):
        proc = subprocess.run(
            argv, env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 17, proc.stdout + proc.stderr  # it could not be used
        assert "***@127.0.0.1" in proc.stdout + proc.stderr  # the URL is named, without it
        assert leaked(proc.stdout + proc.stderr) == [], proc.stdout + proc.stderr
    assert [s for s in proxy.log if s.fault == "status"]


# ------------------------------------------------------------ a secret in --reason


def test_a_republish_reason_holding_the_password_is_refused_before_anything_runs(
    canary_registry: LocalRegistry,
    second_registry: LocalRegistry,
    fresh_registry: Callable[..., LocalRegistry],
    tmp_path: Path,
) -> None:
    """The reason goes into the release notes and their history, which are published."""
    require_tool("buildah")
    bases = fresh_registry()
    standins.push_standins(bases.host, runner=quiet_runner(), lines=("8.4",))
    stack = Stack(
        tmp_path / "stack", canary_registry.host, second_registry.host, bases.host,
        repo=f"acme/reason-{uuid.uuid4().hex[:8]}", lines=("8.4",),
    )  # fmt: skip
    data = yaml.safe_load(stack.matrix.read_text())
    data["platforms"] = ["linux/amd64"]
    data["registries"][0].update(username_env="HUB_USER", password_env="HUB_CANARY")
    stack.matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    stack.env.update({"HUB_USER": "alice", "HUB_CANARY": CANARY, **actions_env(tmp_path)})
    stack.release("v1.0.0", "--no-smoke")
    # A security patch lands in the base, so that a republish has something to record.
    patched = tmp_path / "patched"
    shutil.copytree(standins.SOURCE_DIR, patched)
    with open(patched / "Containerfile", "a", encoding="utf-8") as handle:
        handle.write('\nLABEL dev.publisher.stand-in.patch="1"\n')
    standins.push_standins(bases.host, runner=quiet_runner(), lines=("8.4",), source_dir=patched)
    notes = {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()}
    nd = str(stack.notes_dir)
    for args in (
        ("republish", "v1.0.0", "--reason", f"rotated {CANARY}", "--notes-dir", nd, "--no-smoke"),
        ("republish", "v1.0.0", "--dry-run", "--reason", f"{CANARY} leaked", "--notes-dir", nd),
    ):
        result = stack.run(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "--reason holds the value of HUB_CANARY" in result.stderr
        assert leaked(result.stdout + result.stderr) == []
    assert {p.name: p.read_bytes() for p in stack.notes_dir.iterdir()} == notes
    assert leaked(files_left(tmp_path).replace(CANARY + "\n", "")) == []


def test_resolve_in_github_actions_masks_the_password_before_using_it(
    canary_registry: LocalRegistry, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "PHP_IMAGE_REGISTRY_USERNAME": "alice",
        "PHP_IMAGE_REGISTRY_PASSWORD": CANARY,
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v1.0.0",
        "PHP_IMAGE_REPOSITORY": f"{canary_registry.host}/team/php-fpm",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "PHP_IMAGE_CACHE_CHECK": "false",
    }
    basic = base64.b64encode(f"alice:{CANARY}".encode()).decode()
    for argv in (
        [sys.executable, "-m", "publisher", "resolve", "--format", "env"],
        [sys.executable, str(ROOT / "publisher" / "resolve.py"), "--format", "env"],
    ):
        proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 17, proc.stderr  # asked with the credentials: not published
        lines = proc.stderr.splitlines()
        assert lines[:2] == [f"::add-mask::{CANARY}", f"::add-mask::{basic}"], proc.stderr
        assert leaked("\n".join(lines[2:]) + proc.stdout) == []
        assert "::" not in proc.stdout  # the env file stays an env file


# ---------------------------------------------------------- the proxy's password


@pytest.mark.parametrize(
    "proxy",
    [
        "http://proxy-user:{canary}@127.0.0.1:99999",  # no port: refused, exit 2
        "http://proxy-user:{quoted}@127.0.0.1:99999",
        "http://proxy-user:{canary}@127.0.0.1:1",  # nothing listens there
    ],
)
def test_a_proxy_password_never_shows(tmp_path: Path, proxy: str) -> None:
    url = proxy.format(canary=CANARY, quoted=urllib.parse.quote(CANARY + "/@", safe=""))
    env = {"HTTPS_PROXY": url, "PUBLISHER_RETRY_ATTEMPTS": "1", **actions_env(tmp_path)}
    ref = "registry.example.invalid/acme/php-fpm:v1"  # not loopback: through the proxy
    for args in (("--debug", "inspect", ref), ("inspect", ref, "--json")):
        result = run_publisher(*args, env=env, cwd=tmp_path)
        assert result.returncode == (2 if "99999" in proxy else 7), result.stdout + result.stderr
        shown = without_masks(result.stdout + result.stderr)  # Actions is told to mask it
        assert leaked(shown) == [], shown
        assert urllib.parse.quote(CANARY + "/@", safe="") not in shown


# --------------------------------------------- what gh-release publishes, checked


@pytest.mark.parametrize("where", ["title", "notes", "pins"])
def test_gh_release_publishes_nothing_that_holds_a_known_secret(
    gh: FakeGitHub, tmp_path: Path, where: str
) -> None:
    notes = tmp_path / "v1.0.0.md"
    notes.write_text(
        "# v1.0.0\n" + (f"republished: rotated {CANARY}\n" if where == "notes" else ""),
        encoding="utf-8",
    )
    pins = "PHP_PINS_SCHEMA='1'\nSTACK_RELEASE='v1.0.0'\n"
    (tmp_path / "v1.0.0.env").write_text(
        pins + (f"PHP_IMAGE_8_4='https://u:{CANARY}@r.example/x'\n" if where == "pins" else "")
    )
    title = ["--title", f"v1.0.0 {GH_TOKEN}"] if where == "title" else []
    env = {
        "GITHUB_API_URL": gh.url,
        "GITHUB_TOKEN": GH_TOKEN,
        "HUB_PASSWORD": CANARY,  # a credential variable of the run
        **actions_env(tmp_path),
    }
    args = ("gh-release", "v1.0.0", "--repo", GH_REPO, "--notes", str(notes), *title)
    result = run_publisher(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "it would be published on the GitHub release" in result.stderr
    assert gh.writes() == []  # nothing was sent
    shown = "\n".join(
        line
        for line in (result.stdout + result.stderr).splitlines()
        if not line.startswith("::add-mask::")
    )
    assert leaked(shown) == [] and GH_TOKEN not in shown


def test_a_token_in_the_github_api_url_s_query_is_not_echoed(tmp_path: Path) -> None:
    other = "ghp_QUERYcanary0123456789abcdef"  # not GITHUB_TOKEN: nothing else knows it
    notes = tmp_path / "v1.0.0.md"
    notes.write_text("# v1.0.0\n", encoding="utf-8")
    env = {
        "GITHUB_API_URL": f"https://127.0.0.1:1/api/v3?access_token={other}",
        "GITHUB_TOKEN": GH_TOKEN,
        **actions_env(tmp_path),
    }
    args = ("gh-release", "v1.0.0", "--repo", GH_REPO, "--notes", str(notes))
    result = run_publisher(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "has a query or a fragment" in result.stderr
    assert [f for f in fragments(other) if f in result.stdout + result.stderr] == []


# ------------------------------------------------ a failed command's last output


def test_a_failed_command_s_output_cut_short_shows_no_piece_of_a_secret() -> None:
    """The tail of a failed command's output starts where it is cut: a password printed
    (by the tool, or echoed by a registry) just before that point lost its first part."""
    out = io.StringIO()
    runner = Runner(output=Output(env={}, stream=out, err_stream=out))
    # The secret comes on stdin (never argv); the tool prints it, then filler up to the cut.
    script = (
        f"import sys\nprint(sys.stdin.read() + 'y' * {TAIL_CHARS - 8}, file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    with pytest.raises(CommandError) as caught:
        runner.run([sys.executable, "-c", script], stdin=CANARY, secrets=[CANARY])
    shown = caught.value.message + (caught.value.hint or "") + caught.value.output + out.getvalue()
    assert "yyyy" in caught.value.message  # the tail is there
    assert [f for f in fragments() if f in shown] == [], caught.value.message[:200]


def test_in_github_actions_a_proxy_password_is_masked_before_the_first_request(
    tmp_path: Path,
) -> None:
    env = {
        "HTTPS_PROXY": f"http://proxy-user:{CANARY}@127.0.0.1:1",
        "PUBLISHER_RETRY_ATTEMPTS": "1",
        **actions_env(tmp_path),
    }
    ref = "registry.example.invalid/acme/php-fpm:v1"
    result = run_publisher("--debug", "inspect", ref, env=env, cwd=tmp_path)
    assert result.returncode == 7, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert lines[0] == f"::add-mask::{CANARY}", lines[:3]
    result = run_publisher("inspect", ref, "--json", env=env, cwd=tmp_path)
    assert json.loads(result.stdout)["reachable"] is False  # stdout is JSON only
    assert f"::add-mask::{CANARY}" in result.stderr.splitlines()


# ------------------------------------------------------------ an internal-error path


def test_a_password_that_is_no_text_is_an_auth_error_not_an_internal_one(
    canary_registry: LocalRegistry, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 in the password variable: once an internal error from deep
    in the HTTP client; now said, naming the variable, with nothing of its value."""
    matrix = write_matrix(
        tmp_path,
        [("local", f"{canary_registry.host}/test/php-fpm", True)],
        lines=("8.4",),
        credentials={"local": ("HUB_USER", "HUB_PASS")},
    )
    password = "CANARY-\udcff\udcfe-s3cr3t"  # what Python makes of the bytes 0xff 0xfe
    env = {"HUB_USER": "alice", "HUB_PASS": password, **actions_env(tmp_path)}
    for args in (("--debug", "verify", "v1.0.0"), ("verify", "v1.0.0", "--json")):
        result = run_publisher(*args, "--config", str(matrix), env=env, cwd=tmp_path)
        assert result.returncode == 4, result.stdout + result.stderr
        assert "HUB_PASS is not UTF-8 text" in result.stderr
        assert "internal error" not in result.stdout + result.stderr
        assert "CANARY-" not in result.stdout + result.stderr and "s3cr3t" not in result.stderr


# ------------------------------------------- a secret quoted as a message quotes it


@pytest.mark.parametrize(
    "secret",
    [
        "CANäRY-s3cr3t\udcff",  # non-ASCII and a byte that is not UTF-8 (0xff)
        "CAN'äRY\"-s3cr3t\\\udcfe",  # quotes and a backslash: escaped by repr, by JSON
    ],
)
@pytest.mark.parametrize(
    "args",
    [("inspect", "Registry/{secret}"), ("plan", "v1.0.0-{secret}")],
    ids=["refused reference", "refused release tag"],
)
def test_a_secret_quoted_in_a_message_shows_nowhere(
    tmp_path: Path, args: tuple[str, ...], secret: str
) -> None:
    """A value refused with its repr quoted (``{value!r}``: ``'CAN\\xe4RY'`` and
    ``\\udcff``, rewritten ``\\xff``) that holds a registry password from the environment:
    the password is in none of stderr, the ``::error`` annotation, the step summary and
    the ``--json`` error document, in any of the forms they write it."""
    env = {"HUB_PASSWORD": secret, **actions_env(tmp_path)}
    argv = [arg.format(secret=secret) for arg in args]
    for extra in ((), ("--json",)):
        result = run_publisher(*argv, *extra, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
        assert "::error title=" in result.stdout + result.stderr
        assert markdown_text("***") in summary  # the mark, shown as "***"
        for where, text in {
            "stdout": result.stdout,
            "stderr": result.stderr,
            "summary": summary,
        }.items():
            assert "s3cr3t" not in text and "CAN" not in text, f"{where}: {text}"
        if extra:
            assert "***" in json.loads(result.stdout)["error"]["message"]
