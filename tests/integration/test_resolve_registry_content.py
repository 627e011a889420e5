"""resolve against a registry stand-in that serves crafted content over real HTTP.

A real distribution registry refuses to store what these serve (an index whose platform
entry is no image manifest, an index of indexes) and never sends a malformed challenge
or a token no header can carry; a registry behind a broken proxy, or a server that is
no registry, may. resolve must call each a registry error (exit 17 without the
fallback, which then builds locally) rather than ``use-prebuilt`` (docker's pull would
fail on it), ``platform-missing`` or ``auth-required`` (no ``docker login`` helps).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from publisher import resolve
from publisher.adapters import probe as probing
from tests.support.httpserver import LoopbackServer
from tests.support.images import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, digest_of

pytestmark = pytest.mark.integration

REPO = "team/php"
TAG = "v1.0.0-php-8.4"


def as_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


@dataclass
class ContentRegistry(LoopbackServer):
    """Serves ``manifests`` (by digest, or the tag ``TAG`` for ``top``), with a Bearer
    challenge (``challenge``) and a token (``token``) when ``challenge`` is set; records
    each request as ``METHOD path``."""

    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    top: str = ""
    challenge: str | None = None
    token: str = "tok"
    requests: list[str] = field(default_factory=list)

    def add(self, body: bytes, media_type: str = OCI_MANIFEST) -> dict[str, Any]:
        """Store ``body``; its descriptor."""
        self.manifests[digest_of(body)] = (body, media_type)
        return {"mediaType": media_type, "digest": digest_of(body), "size": len(body)}

    def start(self) -> ContentRegistry:
        registry = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                with lock:
                    registry.requests.append(f"{self.command} {self.path.split('?')[0]}")
                if self.path.startswith("/token"):
                    return self.answer(200, as_json({"token": registry.token}), {})
                if (
                    registry.challenge is not None
                    and self.headers.get("Authorization") != "Bearer " + registry.token.strip()
                ):
                    return self.answer(
                        401,
                        as_json({"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]}),
                        {"WWW-Authenticate": registry.challenge} if registry.challenge else {},
                    )
                ref = self.path.rsplit("/", 1)[1]
                found = registry.manifests.get(registry.top if ref == TAG else ref)
                if "/manifests/" not in self.path or found is None:
                    unknown = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]}
                    return self.answer(404, as_json(unknown), {})
                body, media_type = found
                self.answer(
                    200,
                    body,
                    {"Content-Type": media_type, "Docker-Content-Digest": digest_of(body)},
                )

        self._serve(Handler)
        return self

    def image(self, seed: str) -> dict[str, Any]:
        """A well-formed image manifest (its blobs are never asked for); its descriptor."""
        config = as_json({"architecture": "amd64", "os": "linux", "seed": seed})
        layer = b"layer " + seed.encode()
        return self.add(
            as_json(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": 9},
                    "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(layer), "size": 6}],
                }
            )
        )

    def index(self, *entries: dict[str, Any]) -> dict[str, Any]:
        return self.add(
            as_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(entries)}),
            OCI_INDEX,
        )

    def publish(self, amd64: dict[str, Any]) -> str:
        """The tag's index: ``amd64`` for linux/amd64, a good image for linux/arm64."""
        arm64 = self.image("arm64")
        top = self.index(
            {**amd64, "platform": {"os": "linux", "architecture": "amd64"}},
            {**arm64, "platform": {"os": "linux", "architecture": "arm64"}},
        )
        self.top = top["digest"]
        return self.top

    def manifest_gets(self) -> int:
        return sum(
            1 for line in self.requests if line.startswith("GET /v2/") and "/manifests/" in line
        )


@pytest.fixture
def content() -> Iterator[ContentRegistry]:
    with ContentRegistry() as server:
        yield server


def probe_of(server: ContentRegistry, reference: str) -> probing.Result:
    target = probing.Target(server.host, REPO, reference, "linux/amd64", plain_http=True)
    return probing.probe(target, timeout=10, env={})


def pins_file(directory: Path, server: ContentRegistry, digest: str, platforms: str) -> Path:
    """A release's pins file naming ``digest`` on ``server`` (its platforms as given)."""
    image = f"{server.host}/{REPO}:{TAG}@{digest}"
    path = directory / "v1.0.0.env"
    path.write_text(
        "PHP_PINS_SCHEMA='1'\nSTACK_RELEASE='v1.0.0'\nPHP_LINES='8.4'\nPHP_DEFAULT_LINE='8.4'\n"
        f"PHP_STAND_IN='false'\nPHP_REPOSITORY='{server.host}/{REPO}'\n"
        f"PHP_MIRROR_REPOSITORY='{server.host}/{REPO}'\nPHP_IMAGE_8_4='{image}'\n"
        f"PHP_IMAGE_MIRROR_8_4='{image}'\nPHP_PLATFORMS_8_4='{platforms}'\n"
        f"PHP_BASE_IMAGE_8_4='{server.host}/{REPO}:base@{digest}'\n"
    )
    return path


def resolve_run(directory: Path, pins: Path) -> tuple[int, dict[str, Any]]:
    """``resolve --format json`` as a launcher runs it, without the fallback."""
    stdout, stderr = io.StringIO(), io.StringIO()
    env = {
        "HOME": str(directory),
        "DOCKER_CONFIG": str(directory / "docker-config"),
        "PHP_IMAGE_PLATFORM": "linux/amd64",
        "PHP_IMAGE_CACHE_CHECK": "false",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "PHP_PINS_FILE": str(pins),
    }
    code = resolve.main(["--format", "json"], env, stdout, stderr)
    return code, json.loads(stdout.getvalue())


GARBAGE = {
    "not JSON": (b"<html>sign in</html>", "is not JSON"),
    "a list": (b"[1,2]", "is not an object"),
    "null": (b"null", "is not an object"),
    "no config": (
        as_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": None, "layers": None}),
        "has no config",
    ),
    "no layers": (
        as_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + "1" * 64, "size": 2},
                "layers": None,
            }
        ),
        "has no list of layers",
    ),
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_a_platform_manifest_that_is_no_image_is_a_registry_error(
    kind: str, content: ContentRegistry, tmp_path: Path
) -> None:
    """The index's digest is right, its linux/amd64 entry names content the registry does
    serve by that digest, but no image manifest: docker's pull fails on it, so resolve
    must not say use-prebuilt when it reads the index (by tag, or pinned by a pins file
    that records no platforms)."""
    body, phrase = GARBAGE[kind]
    top = content.publish(content.add(body))
    code, decision = resolve_run(tmp_path, pins_file(tmp_path, content, top, ""))
    assert code == resolve.EXIT_CANNOT_PROCEED, decision
    assert decision["availability"] == "registry-error", decision["reason"]
    assert f"the linux/amd64 image manifest {digest_of(body)[:19]}" in decision["reason"]
    assert phrase in decision["reason"], decision["reason"]
    assert content.manifest_gets() == 2  # the index, then the platform's manifest

    content.requests.clear()
    found = probe_of(content, TAG)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert phrase in found.detail, found.detail
    assert content.manifest_gets() == 2


def test_a_pinned_start_with_its_platforms_sends_one_head(
    content: ContentRegistry, tmp_path: Path
) -> None:
    """The pins file fixes the content by the digest publisher verified when it published,
    and docker's pull verifies what it gets against it: one HEAD (which Docker Hub does not
    count as a pull) is enough, even where the platform's manifest is no image."""
    top = content.publish(content.add(b"<html>sign in</html>"))
    code, decision = resolve_run(
        tmp_path, pins_file(tmp_path, content, top, "linux/amd64 linux/arm64")
    )
    assert code == resolve.EXIT_USE_PREBUILT, decision
    assert content.requests == [f"HEAD /v2/{REPO}/manifests/{top}"]


def test_a_good_platform_manifest_costs_one_more_get(
    content: ContentRegistry, tmp_path: Path
) -> None:
    amd64 = content.image("amd64")
    top = content.publish(amd64)
    code, decision = resolve_run(tmp_path, pins_file(tmp_path, content, top, ""))
    assert code == resolve.EXIT_USE_PREBUILT, decision
    assert content.requests == [
        f"GET /v2/{REPO}/manifests/{top}",
        f"GET /v2/{REPO}/manifests/{amd64['digest']}",
    ]

    content.requests.clear()
    assert probe_of(content, TAG).status is probing.Status.AVAILABLE
    assert content.requests == [
        f"GET /v2/{REPO}/manifests/{TAG}",
        f"GET /v2/{REPO}/manifests/{amd64['digest']}",
    ]


def test_a_platform_manifest_other_than_its_index_entry_says_is_a_registry_error(
    content: ContentRegistry,
) -> None:
    """Served by its digest, but of another size than the entry, or not served at all."""
    amd64 = content.image("amd64")
    top = content.publish({**amd64, "size": amd64["size"] + 1})
    found = probe_of(content, top)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert f"bytes for the linux/amd64 image manifest {amd64['digest'][:19]}" in found.detail

    top = content.publish({**amd64, "digest": "sha256:" + "2" * 64})
    found = probe_of(content, top)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert "is not on" in found.detail and "HTTP 404" in found.detail


def test_an_index_of_indexes_is_said_so_not_platform_missing(content: ContentRegistry) -> None:
    """``publisher inspect`` follows such an index; resolve does not, and says what it is."""
    inner = content.index(
        {**content.image("amd64"), "platform": {"os": "linux", "architecture": "amd64"}},
        {**content.image("arm64"), "platform": {"os": "linux", "architecture": "arm64"}},
    )
    top = content.index(inner)["digest"]
    found = probe_of(content, top)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert "is an index of image indexes, which resolve does not read" in found.detail

    # an index listed for the platform itself: never fetched as if it were an image
    top = content.index({**inner, "platform": {"os": "linux", "architecture": "amd64"}})["digest"]
    content.requests.clear()
    found = probe_of(content, top)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert "is an index of image indexes" in found.detail
    assert content.manifest_gets() == 1


def test_a_token_no_header_can_carry_is_a_registry_error(content: ContentRegistry) -> None:
    """A token holding ESC, CR or LF would break the request it goes in (a CR LF ends the
    headers there): the token service is broken, no login helps."""
    top = content.publish(content.image("amd64"))
    content.challenge = f'Bearer realm="http://{content.host}/token",service="x"'
    content.token = "s3cret\x1b[31m\r\n"
    found = probe_of(content, top)
    assert found.status is probing.Status.REGISTRY_ERROR, found.detail
    assert "sent a token that no header can carry" in found.detail
    assert "s3cret" not in found.detail  # a token is a secret, never said

    content.token = "tok"  # the same exchange with a good token
    assert probe_of(content, top).status is probing.Status.AVAILABLE


def test_a_malformed_challenge_is_a_registry_error_not_a_login(
    content: ContentRegistry, tmp_path: Path
) -> None:
    """``publisher inspect`` calls it a malformed WWW-Authenticate header (exit 8); resolve
    said auth-required and advised ``docker login``."""
    top = content.publish(content.image("amd64"))
    content.challenge = f'Bearer realm="http://{content.host}/token\x1b[2J,service=\r"x'
    code, decision = resolve_run(tmp_path, pins_file(tmp_path, content, top, "linux/amd64"))
    assert code == resolve.EXIT_CANNOT_PROCEED, decision
    assert decision["availability"] == "registry-error", decision["reason"]
    assert "sent a malformed WWW-Authenticate header" in decision["reason"]
    assert "docker login" not in decision["fix"]

    for bare in ("Bearer", 'Bearer service="x"'):  # no realm: no token service to ask
        content.challenge = bare
        _, decision = resolve_run(tmp_path, pins_file(tmp_path, content, top, "linux/amd64"))
        assert decision["availability"] == "registry-error", (bare, decision["reason"])
        assert (
            "names no token service (its WWW-Authenticate header has no realm)"
            in decision["reason"]
        )
        assert "docker login" not in decision["fix"]

    content.challenge = ""  # a 401 naming no way in at all is still authentication
    found = probe_of(content, top)
    assert found.status is probing.Status.AUTH_REQUIRED, found.detail
