"""Shared fixtures for integration tests: real registries on loopback.

Registries (CNCF distribution, ``docker-registry serve``), each a
``publisher.adapters.localregistry.LocalRegistry`` with ``.host`` (``127.0.0.1:PORT``)
and ``.url``:

* ``registry``          plain, no auth (session-wide; use a unique ``repo``)
* ``second_registry``   another plain, independent instance ("the other registry")
* ``basic_registry``    htpasswd basic auth -> ``BasicAuthRegistry`` (.registry, .username, .password)
* ``token_registry``    Bearer token auth with a token server in this process ->
                        ``TokenAuthRegistry`` (.registry, .server, users ``pusher``/``reader``)
* ``fresh_registry``    factory: a new plain registry for a test that wants its own
* ``https_registry``    a new registry serving HTTPS with a self-signed certificate ->
                        ``HttpsRegistry`` (.registry, .cert, .session trusting it)

GitHub (the one part faked, ``tests.support.fake_github``):

* ``gh``                a ``FakeGitHub`` serving ``GH_REPO``, answering to ``GH_TOKEN``

Helpers:

* ``repo``              a unique repository path for this test, e.g. ``test/copy-3f2a1c``
* ``fast_retry``        a ``RetryPolicy`` with tiny delays (retries kept, just fast)
* ``make_client``       factory: ``make_client(registry_or_proxy, credentials=..., retry=...)``
* ``proxy``             a ``FaultProxy`` in front of ``registry`` (fresh per test; counts reset)
* ``proxy_for``         factory: a ``FaultProxy`` in front of any registry host
* ``seed``              ``seed(registry, repo, image, tags=())`` pushes with raw HTTP (not our client)
* ``write_matrix``      ``write_matrix(tmp_path, registries=[(name, host/repo, primary)], ...)``
                        writes a matrix.yaml (or ``name=``) pointing at loopback registries
* ``latin1_locale``     the environment (``LOCPATH``, ``LC_ALL``) of an ISO-8859-1 locale
                        built with ``localedef``, where Python reads a file name's "ü" as "Ã¼"
* ``small_disk``        a tmpfs of 8 KiB mounted in ``tmp_path`` (root only; grow it with
                        ``mount -o remount,size=...``), unmounted afterwards

Every registry fixture skips (fails in CI) when the registry binary is missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.registry import Credentials, RegistryClient, RetryPolicy
from tests.conftest import require_tool
from tests.support.fake_github import FakeGitHub
from tests.support.faultproxy import FaultProxy
from tests.support.images import PlatformImage, TestImage, push_raw
from tests.support.tls import self_signed
from tests.support.tokenserver import TokenServer

if TYPE_CHECKING:
    from tests.integration.test_record_scope import World

BASIC_USER = "alice"
BASIC_PASSWORD = "alice-basic-secret-0f1e"
PUSHER = "pusher"
PUSHER_PASSWORD = "pusher-token-secret-9c2d"
READER = "reader"
READER_PASSWORD = "reader-token-secret-7a41"
GH_TOKEN = "ghs_CANARYt0kenNeverPrinted0123456789"  # a canary: never in any output
GH_REPO = "acme/php-fpm-images"


def _require_registry() -> None:
    require_tool("docker-registry", "registry")


@dataclass
class BasicAuthRegistry:
    registry: LocalRegistry
    username: str
    password: str

    @property
    def host(self) -> str:
        return self.registry.host

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password)

    def session(self) -> requests.Session:
        """A ``requests`` session that sends the credentials (to seed with raw HTTP)."""
        session = requests.Session()
        session.auth = (self.username, self.password)
        return session


@dataclass
class TokenAuthRegistry:
    registry: LocalRegistry
    server: TokenServer

    @property
    def host(self) -> str:
        return self.registry.host

    pusher = Credentials(PUSHER, PUSHER_PASSWORD)
    reader = Credentials(READER, READER_PASSWORD)


@dataclass
class HttpsRegistry:
    registry: LocalRegistry
    cert: Path
    session: requests.Session  # verifies with ``cert``, ignores proxy and CA variables

    @property
    def host(self) -> str:
        return self.registry.host


@pytest.fixture(scope="session")
def registry() -> Iterator[LocalRegistry]:
    _require_registry()
    with LocalRegistry() as reg:
        yield reg


@pytest.fixture(scope="session")
def second_registry() -> Iterator[LocalRegistry]:
    _require_registry()
    with LocalRegistry() as reg:
        yield reg


@pytest.fixture
def fresh_registry() -> Iterator[Callable[..., LocalRegistry]]:
    _require_registry()
    with contextlib.ExitStack() as started:
        yield lambda **kwargs: started.enter_context(LocalRegistry(**kwargs))


@pytest.fixture
def https_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsRegistry]:
    _require_registry()
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    reg = LocalRegistry(extra_config={"http": {"tls": {"certificate": str(cert), "key": str(key)}}})
    with reg:
        session = requests.Session()
        session.verify = str(cert)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        yield HttpsRegistry(reg, cert, session)
        session.close()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BasicAuthRegistry]:
    _require_registry()
    htpasswd = require_tool("htpasswd")
    # -i: the password on stdin, never in argv.
    line = subprocess.run(
        [htpasswd, "-niB", BASIC_USER],
        input=BASIC_PASSWORD,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    path.write_text(line + "\n")
    config = {"auth": {"htpasswd": {"realm": "publisher-test", "path": str(path)}}}
    with LocalRegistry(extra_config=config) as reg:
        yield BasicAuthRegistry(reg, BASIC_USER, BASIC_PASSWORD)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenAuthRegistry]:
    _require_registry()
    server = TokenServer(
        users={PUSHER: (PUSHER_PASSWORD, "pull,push"), READER: (READER_PASSWORD, "pull")},
        anonymous_actions="pull",
    ).start()
    cert = tmp_path_factory.mktemp("token") / "signer.pem"
    try:
        with LocalRegistry(extra_config=server.registry_auth_config(cert)) as reg:
            yield TokenAuthRegistry(reg, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def latin1_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``LOCPATH`` and ``LC_ALL`` of en_US.ISO-8859-1, built for this run (a system seldom
    has a locale that is not UTF-8): its file system encoding is ISO-8859-1."""
    require_tool("localedef")
    where = tmp_path_factory.mktemp("locales")
    subprocess.run(
        ["localedef", "-i", "en_US", "-f", "ISO-8859-1", str(where / "en_US.ISO-8859-1")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return {"LOCPATH": str(where), "LC_ALL": "en_US.ISO-8859-1", "PYTHONUTF8": "0"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A file system of 8 KiB (two pages): room for a probe, not for a release's notes
    nor an image (a real tmpfs: root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=GH_TOKEN) as server:
        server.add_repo(GH_REPO)
        yield server


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    return f"test/{name or 'repo'}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, total_timeout=20.0)


@pytest.fixture
def make_client(fast_retry: RetryPolicy) -> Callable[..., RegistryClient]:
    def make(target: Any, **kwargs: Any) -> RegistryClient:
        host = target if isinstance(target, str) else target.host
        kwargs.setdefault("retry", fast_retry)
        kwargs.setdefault("timeout", 10.0)
        return RegistryClient(host, plain_http=True, **kwargs)

    return make


@pytest.fixture
def proxy_for() -> Iterator[Callable[[Any], FaultProxy]]:
    with contextlib.ExitStack() as started:

        def start(target: Any) -> FaultProxy:
            host = target if isinstance(target, str) else target.host
            return started.enter_context(FaultProxy(host))

        yield start


@pytest.fixture
def proxy(registry: LocalRegistry, proxy_for: Callable[[Any], FaultProxy]) -> FaultProxy:
    return proxy_for(registry)


@pytest.fixture
def seed() -> Callable[..., str]:
    def push(
        target: Any, repo: str, image: TestImage | PlatformImage, tags: Iterable[str] = ()
    ) -> str:
        host = target if isinstance(target, str) else target.host
        return push_raw(f"http://{host}", repo, image, tags)

    return push


def matrix_text(
    registries: Sequence[tuple[str, str, bool]],
    *,
    lines: Sequence[str] = ("8.3", "8.4"),
    default_line: str = "8.4",
    platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    size_budget_mb: float = 700,
    base_image: str = "php:{php}-fpm-alpine",
    credentials: dict[str, tuple[str, str]] | None = None,
    line_overrides: dict[str, dict[str, Any]] | None = None,
) -> str:
    regs = []
    for name, repository, primary in registries:
        entry: dict[str, Any] = {"name": name, "repository": repository, "primary": primary}
        if credentials and name in credentials:
            entry["username_env"], entry["password_env"] = credentials[name]
        regs.append(entry)
    data = {
        "namespace": "test",
        "image": "php-fpm",
        "registries": regs,
        "platforms": list(platforms),
        "default_line": default_line,
        "base": {"image": base_image},
        "size_budget_mb": size_budget_mb,
        "extensions": {"install": ["zip"]},
        "lines": [{"php": php, **(line_overrides or {}).get(php, {})} for php in lines],
    }
    return yaml.safe_dump(data, sort_keys=False)


def write_matrix_file(
    directory: Path,
    registries: Sequence[tuple[str, str, bool]],
    *,
    name: str = "matrix.yaml",
    **kwargs: Any,
) -> Path:
    """``directory/name`` holding ``matrix_text(registries, **kwargs)``; returns its path
    (the ``write_matrix`` fixture, for a fixture of a wider scope)."""
    path = directory / name
    path.write_text(matrix_text(registries, **kwargs), encoding="utf-8")
    return path


@pytest.fixture
def write_matrix() -> Callable[..., Path]:
    return write_matrix_file


@pytest.fixture
def ghcr_behind_a_proxy(
    tmp_path: Path,
    fresh_registry: Callable[..., LocalRegistry],
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> tuple[LocalRegistry, LocalRegistry, FaultProxy, World, Path]:
    """hub and ghcr, fresh, ghcr behind a fault proxy (``front``); a world publishing to
    them, and its matrix of PHP 8.3 and 8.4 for amd64 (``test_registry_outage``'s
    ``hub_behind_a_proxy`` the other way round)."""
    from tests.integration.test_record_scope import make_world  # it imports this module

    hub, ghcr = fresh_registry(), fresh_registry()
    front = proxy_for(ghcr.host)
    world = make_world(tmp_path, write_matrix, hub=hub.host, ghcr=front.host)
    matrix = world.matrix("matrix.yaml", lines=("8.3", "8.4"), platforms=("linux/amd64",))
    return hub, ghcr, front, world, matrix
