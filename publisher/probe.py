"""A small, fast registry availability probe for ``publisher resolve``.

``resolve`` runs on every start of the stack, so this module stays light: it uses
a small HTTP/1.1 client on ``socket`` (no requests, no oras, not even http.client), and the
whole probe runs under one deadline (default 2 s) so an offline start is never
slow, even when DNS hangs.

What it does, for one image reference and the host platform:

1. GET (or HEAD, when the caller already knows the platforms) the manifest with
   the OCI and Docker Accept headers;
2. on ``401``, follow the challenge: ``Bearer`` (ask the realm for a pull token,
   anonymously or with basic credentials) or ``Basic``;
3. check that the index lists the host platform (or, for a single-platform
   manifest, read its config blob).

Outcomes are classified (:class:`Status`): available, unreachable, not published,
authentication required, platform missing, registry error. The probe never
raises for a registry answer; only programming errors escape.

Credentials come from ``PHP_IMAGE_REGISTRY_USERNAME``/``PHP_IMAGE_REGISTRY_PASSWORD``
or from the docker config (``auths``, ``credHelpers``, ``credsStore``). They are
sent only to the registry and its token realm, and never appear in a result.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

DEFAULT_TIMEOUT = 2.0
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_SMALL_BYTES = 1024 * 1024  # config blobs, token answers, tag lists, error bodies
MAX_REDIRECTS = 3
MAX_TAG_PAGES = 5
USER_AGENT = "publisher-resolve/1"

ENV_USERNAME = "PHP_IMAGE_REGISTRY_USERNAME"
ENV_PASSWORD = "PHP_IMAGE_REGISTRY_PASSWORD"

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)

_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
_CHALLENGE_PARAM_RE = re.compile(
    r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))'
)


class Status(enum.Enum):
    """What the probe found."""

    AVAILABLE = "available"
    #: Already in the local image store (docker's), for this platform: no pull needed.
    CACHED = "cached"
    UNREACHABLE = "unreachable"
    NOT_PUBLISHED = "not-published"
    AUTH_REQUIRED = "auth-required"
    PLATFORM_MISSING = "platform-missing"
    REGISTRY_ERROR = "registry-error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Target:
    """What to probe: ``host`` as in the image reference (``docker.io``, ``127.0.0.1:5000``)."""

    host: str
    repository: str
    reference: str  # a tag or a sha256 digest
    platform: str  # "linux/amd64"
    plain_http: bool = False
    #: When the caller already knows the platforms (from release notes) and the
    #: reference is a digest, a HEAD is enough: the content is fixed by its digest.
    known_platforms: tuple[str, ...] | None = None

    @property
    def image(self) -> str:
        sep = "@" if _DIGEST_RE.fullmatch(self.reference) else ":"
        return f"{self.host}/{self.repository}{sep}{self.reference}"


@dataclass(frozen=True)
class Result:
    status: Status
    detail: str
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    #: Tags seen in the repository (only looked up when the reference was not found).
    tags: tuple[str, ...] | None = None
    elapsed: float = 0.0
    authenticated: bool = False

    @property
    def available(self) -> bool:
        return self.status in (Status.AVAILABLE, Status.CACHED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "detail": self.detail,
            "digest": self.digest,
            "platforms": list(self.platforms),
            "elapsed_ms": round(self.elapsed * 1000, 1),
        }


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str = field(repr=False)
    source: str = "explicit"

    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class _Outcome(Exception):
    """Raised inside the probe to end it with a classified result."""

    def __init__(self, status: Status, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


# --------------------------------------------------------------------------- pure helpers


def api_host(host: str) -> str:
    """The host that serves the registry API (Docker Hub's is ``registry-1.docker.io``)."""
    return DOCKER_HUB_API if host in (DOCKER_HUB, "index.docker.io") else host


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.x.y.z`` or ``[::1]``, with or without a port."""
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name in ("localhost", "::1"):
        return True
    parts = name.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Parse a ``WWW-Authenticate`` value into (scheme, params), scheme lowercased."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for match in _CHALLENGE_PARAM_RE.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def platform_of(entry: Mapping[str, Any]) -> str | None:
    """``linux/arm64`` from an index entry's or a config's platform fields."""
    plat = entry.get("platform", entry)
    if not isinstance(plat, Mapping):
        return None
    os_name, arch = plat.get("os"), plat.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    if os_name == "unknown" or arch == "unknown":
        return None  # attestation manifests
    return f"{os_name}/{arch}"


def index_platforms(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Sorted platforms an image index lists (attestations excluded)."""
    manifests = data.get("manifests")
    if not isinstance(manifests, list):
        raise ValueError("the index has no 'manifests' list")
    found = set()
    for entry in manifests:
        if not isinstance(entry, Mapping):
            raise ValueError("an index entry is not an object")
        annotations = entry.get("annotations") or {}
        if (
            isinstance(annotations, Mapping)
            and annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        ):
            continue
        plat = platform_of(entry)
        if plat:
            found.add(plat)
    return tuple(sorted(found))


def release_lines(tags: tuple[str, ...] | list[str], release: str) -> tuple[str, ...]:
    """PHP lines that have a ``<release>-php-X.Y`` pin among ``tags``, numerically sorted."""
    pattern = re.compile(re.escape(release) + r"-php-([0-9]+)\.([0-9]+)")
    found = {(int(m[1]), int(m[2])) for t in tags if (m := pattern.fullmatch(t))}
    return tuple(f"{a}.{b}" for a, b in sorted(found))


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = env.get("HOME")
    return Path(home) / ".docker" / "config.json" if home else None


def _config_keys(host: str) -> list[str]:
    keys = [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]
    if host in (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API):
        keys = [
            DOCKER_HUB_CONFIG_KEY,
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            *keys,
        ]
    return keys


def credentials_from_config(
    data: Mapping[str, Any],
    host: str,
    *,
    helper: Callable[[str, str], BasicCredentials | None] | None = None,
) -> BasicCredentials | None:
    """Credentials for ``host`` from a parsed docker config; ``helper(name, server)`` asks a
    credential helper. Pure apart from that callback."""
    keys = _config_keys(host)
    helpers = data.get("credHelpers")
    if isinstance(helpers, Mapping) and helper is not None:
        for key in keys:
            name = helpers.get(key)
            if isinstance(name, str) and name:
                return helper(name, key)
    auths = data.get("auths")
    if isinstance(auths, Mapping):
        for key in keys:
            entry = auths.get(key)
            if not isinstance(entry, Mapping):
                continue
            if isinstance(entry.get("auth"), str) and entry["auth"]:
                try:
                    raw = base64.b64decode(entry["auth"], validate=True).decode("utf-8")
                except ValueError:
                    continue
                user, sep, password = raw.partition(":")
                if sep and user:
                    return BasicCredentials(user, password, "docker config")
            name, secret = entry.get("username"), entry.get("password")
            if isinstance(name, str) and isinstance(secret, str) and name:
                return BasicCredentials(name, secret, "docker config")
    store = data.get("credsStore")
    if isinstance(store, str) and store and helper is not None:
        for key in keys[:1]:
            found = helper(store, key)
            if found:
                return found
    return None


# --------------------------------------------------------------------------- credentials (I/O)


def _run_helper(name: str, server: str, timeout: float) -> BasicCredentials | None:
    """``docker-credential-<name> get`` with the server on stdin (never in argv)."""
    import shutil
    import subprocess

    binary = shutil.which(f"docker-credential-{name}")
    if not binary:
        return None
    try:
        proc = subprocess.run(
            [binary, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=max(timeout, 0.1),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or len(proc.stdout) > MAX_SMALL_BYTES:
        return None
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        return None
    user, secret = answer.get("Username"), answer.get("Secret")
    if isinstance(user, str) and isinstance(secret, str) and user and user != "<token>":
        return BasicCredentials(user, secret, f"credential helper {name}")
    return None


def find_credentials(
    host: str, env: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT
) -> BasicCredentials | None:
    """Environment variables first, then the docker config; None means anonymous."""
    user, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
    if user and password:
        return BasicCredentials(user, password, f"env {ENV_USERNAME}/{ENV_PASSWORD}")
    path = docker_config_path(env)
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_SMALL_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, Mapping):
        return None
    return credentials_from_config(
        data, host, helper=lambda name, server: _run_helper(name, server, timeout)
    )


# --------------------------------------------------------------------------- HTTP
#
# A small HTTP/1.1 client on ``socket`` (``ssl`` only for https): http.client
# pulls in the email package, which costs more than the rest of resolve's
# imports. One request per connection (``Connection: close``); bodies by
# Content-Length, chunked, or up to EOF; every size bounded.

MAX_HEADER_BYTES = 64 * 1024


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


class _Truncated(Exception):
    """The body ended before its declared length."""


class _Malformed(Exception):
    """Not an HTTP/1.x response."""


def _connect(scheme: str, host: str, port: int | None, timeout: float) -> socket.socket:
    default = 443 if scheme == "https" else 80
    sock = socket.create_connection((host, port or default), timeout=timeout)
    if scheme != "https":
        return sock
    import ssl

    try:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _exchange(
    sock: socket.socket,
    method: str,
    host_header: str,
    target: str,
    headers: Mapping[str, str],
    limit: int,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request on ``sock`` and read the answer (at most ``limit`` + 1 body bytes)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    reader = sock.makefile("rb")
    try:
        status_line = reader.readline(MAX_HEADER_BYTES + 1)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise _Malformed("not an HTTP/1.x status line")
        status = int(parts[1])
        answer: dict[str, str] = {}
        seen = len(status_line)
        while True:
            line = reader.readline(MAX_HEADER_BYTES + 1)
            seen += len(line)
            if seen > MAX_HEADER_BYTES:
                raise _Malformed("the response headers are too large")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _Truncated("the connection closed inside the headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise _Malformed("a header line without ':'")
            key = name.strip().lower()
            answer[key] = f"{answer[key]}, {value.strip()}" if key in answer else value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, answer, b""
        if "chunked" in answer.get("transfer-encoding", "").lower():
            return status, answer, _read_chunked(reader, limit)
        declared = answer.get("content-length", "")
        if declared:
            if not declared.isdigit():
                raise _Malformed(f"Content-Length {declared!r} is not a number")
            want = int(declared)
            body = _read_exact(reader, min(want, limit + 1))
            if len(body) < min(want, limit + 1):
                raise _Truncated(f"{len(body)} of {want} bytes")
            return status, answer, body
        return status, answer, reader.read(limit + 1)
    finally:
        reader.close()


def _read_exact(reader: Any, count: int) -> bytes:
    chunks, got = [], 0
    while got < count:
        data = reader.read(count - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _read_chunked(reader: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = reader.readline(1024)
        if not size_line:
            raise _Truncated("the connection closed inside a chunked body")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Malformed("a bad chunk size") from None
        if size == 0:
            while reader.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        take = min(size, limit + 1 - len(body))
        data = _read_exact(reader, take)
        if len(data) < take:
            raise _Truncated("a chunk ended early")
        body += data
        if len(body) > limit:
            return bytes(body)
        if _read_exact(reader, 2) not in (b"\r\n",):
            raise _Malformed("a chunk without its CRLF")


class _Session:
    """Requests to one registry under one deadline, with the token dance."""

    def __init__(
        self,
        target: Target,
        credentials: BasicCredentials | None,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self.target = target
        self.credentials = credentials
        self.deadline = deadline
        self.clock = clock
        scheme = "http" if target.plain_http else "https"
        self.base = f"{scheme}://{api_host(target.host)}"
        self.authorization: str | None = None
        self.authenticated = False

    def remaining(self) -> float:
        left = self.deadline - self.clock()
        if left <= 0:
            raise _Outcome(
                Status.UNREACHABLE, f"no answer from {self.target.host} within the timeout"
            )
        return left

    def raw(self, method: str, url: str, headers: Mapping[str, str], limit: int) -> _Response:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Outcome(Status.REGISTRY_ERROR, f"refusing to follow the URL {url!r}")
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            try:
                sock = _connect(parts.scheme, parts.hostname, parts.port, self.remaining())
                try:
                    status, resp_headers, body = _exchange(
                        sock,
                        method,
                        parts.netloc,
                        path,
                        {"User-Agent": USER_AGENT, **headers},
                        limit,
                    )
                finally:
                    sock.close()
            except TimeoutError:
                raise _Outcome(
                    Status.UNREACHABLE,
                    f"{parts.hostname} did not answer within the timeout",
                ) from None
            except _Truncated as exc:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent a truncated response for {parts.path} ({exc})",
                ) from None
            except _Malformed as exc:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent a malformed response for {parts.path}: {exc}",
                ) from None
            except OSError as exc:
                raise _Outcome(
                    Status.UNREACHABLE, f"cannot reach {parts.netloc}: {_describe(exc)}"
                ) from None
            if len(body) > limit:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent more than {limit} bytes for {parts.path}",
                )
            if status in (301, 302, 303, 307, 308) and "location" in resp_headers:
                new_url = urljoin(url, resp_headers["location"])
                if urlsplit(new_url).netloc != parts.netloc:
                    # Never carry credentials to another host (blob CDNs).
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                url = new_url
                continue
            return _Response(status, resp_headers, body, url)
        raise _Outcome(Status.REGISTRY_ERROR, f"too many redirects from {self.target.host}")

    def get(
        self,
        path: str,
        *,
        method: str = "GET",
        accept: str | None = None,
        limit: int = MAX_SMALL_BYTES,
    ) -> _Response:
        """A registry API request; answers one 401 challenge."""
        headers = {"Accept": accept} if accept else {}
        url = self.base + path
        for attempt in range(2):
            if self.authorization:
                headers["Authorization"] = self.authorization
            resp = self.raw(method, url, headers, limit)
            if resp.status != 401 or attempt == 1:
                return resp
            if not self._authenticate(resp.headers.get("www-authenticate", "")):
                return resp
        return resp  # pragma: no cover - the loop always returns

    def _authenticate(self, challenge: str) -> bool:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                return False
            self.authorization = self.credentials.header()
            self.authenticated = True
            return True
        if scheme != "bearer" or not params.get("realm"):
            return False
        query = {"scope": f"repository:{self.target.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        sep = "&" if "?" in params["realm"] else "?"
        url = params["realm"] + sep + urlencode(query)
        headers = {}
        if self.credentials is not None:
            headers["Authorization"] = self.credentials.header()
        resp = self.raw("GET", url, headers, MAX_SMALL_BYTES)
        if resp.status in (401, 403):
            raise _Outcome(
                Status.AUTH_REQUIRED,
                f"the token service of {self.target.host} refused "
                + ("the credentials" if self.credentials else "anonymous access")
                + f" (HTTP {resp.status})",
            )
        if resp.status != 200:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"the token service of {self.target.host} answered HTTP {resp.status}",
            )
        try:
            answer = json.loads(resp.body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"the token service of {self.target.host} sent no token",
            )
        self.authorization = f"Bearer {token}"
        self.authenticated = self.credentials is not None
        return True


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(reason)


def _error_code(body: bytes) -> str:
    """First ``errors[].code`` of a distribution error body, if any."""
    try:
        data = json.loads(body)
        return str(data["errors"][0]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


# --------------------------------------------------------------------------- the probe


def _probe(target: Target, session: _Session, list_tags: bool) -> Result:
    repo = quote(target.repository, safe="/")
    ref = quote(target.reference, safe=":")
    use_head = target.known_platforms is not None and bool(_DIGEST_RE.fullmatch(target.reference))
    resp = session.get(
        f"/v2/{repo}/manifests/{ref}",
        method="HEAD" if use_head else "GET",
        accept=ACCEPT,
        limit=MAX_MANIFEST_BYTES,
    )
    _classify_failure(resp, target, session, list_tags)

    digest = resp.headers.get("docker-content-digest")
    if not use_head:
        body_digest = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        if digest and digest != body_digest:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{target.host} sent a manifest whose digest {body_digest} differs from "
                f"its Docker-Content-Digest {digest}",
            )
        digest = body_digest
    if _DIGEST_RE.fullmatch(target.reference) and digest and digest != target.reference:
        raise _Outcome(
            Status.REGISTRY_ERROR,
            f"{target.host} answered for {target.reference} with content {digest}",
        )

    if use_head:
        platforms = tuple(target.known_platforms or ())
    else:
        platforms = _platforms(resp, target, session)
    if target.platform not in platforms:
        shown = ", ".join(platforms) or "none"
        raise _Outcome(
            Status.PLATFORM_MISSING,
            f"{target.image} has no {target.platform} image (it has: {shown})",
            digest=digest,
            platforms=platforms,
        )
    return Result(
        Status.AVAILABLE,
        f"{target.image} is available for {target.platform}",
        digest=digest,
        platforms=platforms,
    )


def _classify_failure(resp: _Response, target: Target, session: _Session, list_tags: bool) -> None:
    status = resp.status
    if status == 200:
        return
    code = _error_code(resp.body)
    if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"):
        tags = _list_tags(target, session) if list_tags else None
        what = (
            f"repository {target.host}/{target.repository} does not exist"
            if code == "NAME_UNKNOWN"
            else f"{target.image} is not on the registry"
        )
        raise _Outcome(Status.NOT_PUBLISHED, what, tags=tags)
    if status in (401, 403):
        if session.credentials is None:
            detail = (
                f"{target.host} requires authentication for {target.repository} "
                "(or the repository does not exist)"
            )
        else:
            detail = (
                f"{target.host} refused the credentials from {session.credentials.source} "
                f"for {target.repository} (HTTP {status})"
            )
        raise _Outcome(Status.AUTH_REQUIRED, detail)
    if status == 429:
        raise _Outcome(Status.REGISTRY_ERROR, f"{target.host} rate-limited the request (HTTP 429)")
    if status >= 500:
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{target.host} is failing (HTTP {status} for the manifest)"
        )
    raise _Outcome(Status.REGISTRY_ERROR, f"{target.host} answered HTTP {status} for the manifest")


def _platforms(resp: _Response, target: Target, session: _Session) -> tuple[str, ...]:
    media_type = resp.headers.get("content-type", "").split(";")[0].strip()
    try:
        data = json.loads(resp.body)
    except ValueError:
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{target.host} sent a manifest that is not JSON"
        ) from None
    if not isinstance(data, dict):
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{target.host} sent a manifest that is not an object"
        )
    media_type = data.get("mediaType") or media_type
    if media_type in INDEX_TYPES or (not media_type and "manifests" in data):
        try:
            return index_platforms(data)
        except ValueError as exc:
            raise _Outcome(
                Status.REGISTRY_ERROR, f"{target.host} sent a bad index: {exc}"
            ) from None
    if media_type in MANIFEST_TYPES or "config" in data:
        config = data.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            raise _Outcome(Status.REGISTRY_ERROR, f"{target.host} sent a manifest without a config")
        repo = quote(target.repository, safe="/")
        blob = session.get(f"/v2/{repo}/blobs/{digest}")
        if blob.status != 200:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{target.host} answered HTTP {blob.status} for the image config",
            )
        if "sha256:" + hashlib.sha256(blob.body).hexdigest() != digest:
            raise _Outcome(
                Status.REGISTRY_ERROR, f"{target.host} sent a config with a wrong digest"
            )
        try:
            plat = platform_of(json.loads(blob.body))
        except (ValueError, AttributeError):
            plat = None
        return (plat,) if plat else ()
    raise _Outcome(
        Status.REGISTRY_ERROR, f"{target.host} sent an unknown manifest type {media_type!r}"
    )


def _list_tags(target: Target, session: _Session) -> tuple[str, ...] | None:
    """Best effort: the repository's tags, to name the published lines. None if unknown."""
    repo = quote(target.repository, safe="/")
    path: str | None = f"/v2/{repo}/tags/list?n=1000"
    tags: list[str] = []
    try:
        for _ in range(MAX_TAG_PAGES):
            if path is None:
                break
            resp = session.get(path)
            if resp.status == 404:
                return ()
            if resp.status != 200:
                return None
            data = json.loads(resp.body)
            tags.extend(t for t in (data.get("tags") or []) if isinstance(t, str))
            link = resp.headers.get("link", "")
            match = re.match(r"\s*<([^>]+)>", link)
            path = match.group(1) if match and match.group(1).startswith("/v2/") else None
    except (_Outcome, ValueError, AttributeError):
        return tuple(tags) if tags else None
    return tuple(tags)


def probe(
    target: Target,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    credentials: BasicCredentials | None = None,
    list_tags: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    """Probe ``target`` within ``timeout`` seconds; never raises for a registry answer.

    ``credentials`` default to :func:`find_credentials` over ``env`` (``os.environ``
    when None). ``list_tags`` looks up the repository's tags when the reference is
    missing, so the caller can name the published lines.
    """
    start = clock()
    deadline = start + timeout
    env = os.environ if env is None else env
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            creds = credentials or find_credentials(target.host, env, timeout=timeout)
            session = _Session(target, creds, deadline, clock)
            try:
                result = _probe(target, session, list_tags)
            except _Outcome as out:
                result = Result(
                    out.status,
                    out.detail,
                    digest=out.extra.get("digest"),
                    platforms=tuple(out.extra.get("platforms", ())),
                    tags=out.extra.get("tags"),
                )
            box["result"] = replace(result, authenticated=session.authenticated)
        except _Outcome as out:
            box["result"] = Result(out.status, out.detail)
        except BaseException as exc:  # a bug: hand it to the caller's thread
            box["error"] = exc

    # DNS lookups ignore socket timeouts: run the probe in a daemon thread and stop
    # waiting at the deadline, so an offline start is bounded by ``timeout``.
    worker = threading.Thread(target=work, name="publisher-probe", daemon=True)
    worker.start()
    worker.join(max(timeout, 0) + 0.05)
    elapsed = clock() - start
    if "error" in box:
        raise box["error"]
    result = box.get("result")
    if result is None:
        return Result(
            Status.UNREACHABLE,
            f"no answer from {target.host} within {timeout:g} s",
            elapsed=elapsed,
        )
    return replace(result, elapsed=elapsed)


# --------------------------------------------------------------------------- the local image store

CACHE_TIMEOUT = 0.5
_ARCH_ALIASES = {"x86_64": "amd64", "aarch64": "arm64"}


def docker_socket(env: Mapping[str, str]) -> str | None:
    """The docker (or podman) API socket to ask, or None (remote or no daemon)."""
    host = env.get("DOCKER_HOST", "")
    if host:
        return host[len("unix://") :] if host.startswith("unix://") else None
    candidates = ["/var/run/docker.sock"]
    if env.get("HOME"):
        candidates.append(str(Path(env["HOME"]) / ".docker" / "run" / "docker.sock"))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(str(Path(env["XDG_RUNTIME_DIR"]) / "docker.sock"))
    return next((c for c in candidates if os.path.exists(c)), None)


def cached_image(
    reference: str,
    platform: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = CACHE_TIMEOUT,
) -> Result | None:
    """A Result (CACHED) when the local docker image store has ``reference`` for
    ``platform``; None when it does not, or when there is no local daemon to ask.

    One request to the daemon's unix socket (``GET /images/<ref>/json``), so a
    cached start needs no registry at all and works offline.
    """
    env = os.environ if env is None else env
    path = docker_socket(env)
    if path is None:
        return None
    start = time.monotonic()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        target = "/images/" + quote(reference, safe="/:@") + "/json"
        status, _, body = _exchange(sock, "GET", "localhost", target, {}, MAX_SMALL_BYTES)
        if status != 200 or len(body) > MAX_SMALL_BYTES:
            return None
        data = json.loads(body)
    except (OSError, ValueError, _Truncated, _Malformed):
        return None
    finally:
        sock.close()
    if not isinstance(data, dict):
        return None
    arch = _ARCH_ALIASES.get(str(data.get("Architecture")), str(data.get("Architecture")))
    found = f"{data.get('Os')}/{arch}"
    if found != platform:
        return None
    digests = data.get("RepoDigests") or []
    digest = reference.rpartition("@")[2] if "@" in reference else None
    if digest is None and isinstance(digests, list) and digests:
        digest = str(digests[0]).rpartition("@")[2] or None
    return Result(
        Status.CACHED,
        f"{reference} is in the local image store for {platform}",
        digest=digest,
        platforms=(platform,),
        elapsed=time.monotonic() - start,
    )
