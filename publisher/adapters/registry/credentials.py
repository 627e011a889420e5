"""Where registry credentials come from: environment variables, then the docker config.

Credentials are never written anywhere. The environment variables named in
matrix.yaml (``username_env``/``password_env``) come first; otherwise the docker
config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``): its
``credHelpers``/``credsStore`` (``docker-credential-<helper> get``, the host on
STDIN, never in argv) and its ``auths``. Without either, access is anonymous.
Every secret is registered with ``Output.mask()`` before it is used.
"""

from __future__ import annotations

import base64
import binascii
import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.errors import AuthError, ConfigError

if TYPE_CHECKING:
    from ...core.config import Registry
    from ..output import Output

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_LEGACY_KEY = "https://index.docker.io/v1/"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_HELPER_OUTPUT = 64 * 1024

#: Runs ``argv`` with ``stdin`` bytes and returns stdout; raises on failure.
HelperRunner = Callable[[list[str], bytes], bytes]


@dataclass(frozen=True)
class Credentials:
    """A username and a password or token. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)
    #: Where they came from, for messages: ``env DOCKERHUB_TOKEN``, ``docker config``.
    source: str = "explicit"

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***', source={self.source!r})"

    def __str__(self) -> str:
        return repr(self)


def api_host(host: str) -> str:
    """The host that serves the registry API: Docker Hub's is ``registry-1.docker.io``."""
    return DOCKER_HUB_API if host in (DOCKER_HUB, "index.docker.io") else host


def _config_keys(host: str) -> list[str]:
    """Keys a docker config may use for ``host``, most specific first."""
    if host in (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API):
        return [
            DOCKER_HUB_LEGACY_KEY,
            "index.docker.io",
            "docker.io",
            "https://docker.io",
            DOCKER_HUB_API,
            "https://registry-1.docker.io",
        ]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = env.get("HOME")
    if home:
        return Path(home) / ".docker" / "config.json"
    return None


def _read_docker_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"cannot read the docker config: {exc.strerror}", source=str(path)
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("the docker config is larger than 1 MiB", source=str(path))
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ConfigError(
            "the docker config is not valid JSON",
            source=str(path),
            hint="fix or remove it, or set the credential environment variables instead",
        ) from None
    return data if isinstance(data, dict) else {}


def _default_helper_runner(argv: list[str], stdin: bytes) -> bytes:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise AuthError(
            f"the docker credential helper {argv[0]} is not installed",
            hint="install it, remove it from the docker config, or set the credential "
            "environment variables named in matrix.yaml",
        ) from None
    except subprocess.TimeoutExpired:
        raise AuthError(
            f"the docker credential helper {argv[0]} did not answer within 60s"
        ) from None
    if proc.returncode != 0:
        message = proc.stdout.decode(errors="replace").strip()[:200]
        if "credentials not found" in message.lower():
            return b""
        # Do not echo the helper's output further than its first line: it is ours to judge.
        raise AuthError(
            f"the docker credential helper {argv[0]} failed (exit {proc.returncode})",
            hint="check `docker login` for this registry",
        )
    return proc.stdout[:MAX_HELPER_OUTPUT]


def _from_helper(helper: str, host: str, runner: HelperRunner) -> Credentials | None:
    binary = f"docker-credential-{helper}"
    server = DOCKER_HUB_LEGACY_KEY if api_host(host) == DOCKER_HUB_API else host
    out = runner([binary, "get"], server.encode())
    if not out.strip():
        return None
    try:
        data = json.loads(out)
        username, secret = data["Username"], data["Secret"]
    except (ValueError, KeyError, TypeError):
        raise AuthError(
            f"the docker credential helper {binary} gave an unreadable answer"
        ) from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials(username, secret, source=f"docker credential helper {helper}")


def _from_auth_entry(entry: Mapping[str, Any], where: str) -> Credentials | None:
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]), source=where)
    encoded = entry.get("auth")
    if not encoded:
        return None
    try:
        decoded = base64.b64decode(str(encoded), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(
            f"the 'auth' value in {where} is not base64 of user:password",
            hint="run `docker login` again for this registry",
        ) from None
    username, sep, password = decoded.partition(":")
    if not sep or not password:
        raise AuthError(
            f"the 'auth' value in {where} is not base64 of user:password",
            hint="run `docker login` again for this registry",
        )
    return Credentials(username, password, source=where)


def from_docker_config(
    host: str,
    env: Mapping[str, str],
    *,
    helper_runner: HelperRunner | None = None,
) -> Credentials | None:
    """Credentials for ``host`` from the docker config, or None."""
    path = docker_config_path(env)
    if path is None:
        return None
    data = _read_docker_config(path)
    runner = helper_runner or _default_helper_runner
    keys = _config_keys(host)
    helpers = data.get("credHelpers") or {}
    if isinstance(helpers, Mapping):
        for key in keys:
            if isinstance(helpers.get(key), str):
                return _from_helper(helpers[key], host, runner)
    auths = data.get("auths") or {}
    store = data.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, host, runner)
        if found:
            return found
    if isinstance(auths, Mapping):
        for key in keys:
            entry = auths.get(key)
            if isinstance(entry, Mapping):
                creds = _from_auth_entry(entry, f"{path} (auths[{key!r}])")
                if creds:
                    return Credentials(creds.username, creds.password, source="docker config")
    return None


def credentials_for_host(
    host: str,
    env: Mapping[str, str],
    output: Output | None = None,
    *,
    username_env: str | None = None,
    password_env: str | None = None,
    helper_runner: HelperRunner | None = None,
) -> Credentials | None:
    """Credentials for ``host``: the named env vars, else the docker config, else None."""
    creds: Credentials | None = None
    if username_env and password_env:
        user, password = env.get(username_env, ""), env.get(password_env, "")
        if user and password:
            creds = Credentials(user, password, source=f"env {username_env}/{password_env}")
        elif user or password:
            missing = password_env if user else username_env
            raise AuthError(
                f"{missing} is empty or unset while {username_env if user else password_env} is set",
                registry=host,
                hint=f"set both {username_env} and {password_env}, or neither (anonymous access)",
            )
    if creds is None:
        creds = from_docker_config(host, env, helper_runner=helper_runner)
    if creds is not None and output is not None:
        output.mask(creds.password)
        output.mask(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode())
    return creds


def credentials_for(
    registry: Registry,
    env: Mapping[str, str],
    output: Output | None = None,
    *,
    helper_runner: HelperRunner | None = None,
) -> Credentials | None:
    """Credentials for a configured registry (see the module docstring for the order)."""
    return credentials_for_host(
        registry.host,
        env,
        output,
        username_env=registry.username_env,
        password_env=registry.password_env,
        helper_runner=helper_runner,
    )
