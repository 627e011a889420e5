"""A small Docker-registry token server (the Bearer flow Docker Hub and GHCR use).

It signs RS256 JWTs with a key whose self-signed certificate is the registry's
``rootcertbundle``; the certificate travels in the JWT's ``x5c`` header, which
is how distribution 2.8 finds the verification key. Users have a password and
the actions they may be granted (``pull`` or ``pull,push``); anonymous users get
``anonymous_actions``. Every request is recorded for assertions (scopes asked,
who asked).

``registry_auth_config()`` is the ``auth`` section for ``LocalRegistry(extra_config=...)``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.support.httpserver import LoopbackServer

SERVICE = "publisher-test-registry"
ISSUER = "publisher-test-token-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRequest:
    account: str | None
    scopes: list[str]
    service: str | None
    granted: bool


@dataclass
class TokenServer(LoopbackServer):
    """Start with ``start()``; ``realm`` is the URL to put in the registry config."""

    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (password, actions)
    anonymous_actions: str = ""
    #: A request without credentials is refused (401), as by a server for accounts only.
    anonymous_refused: bool = False
    #: How long a token works at least, in seconds (``expires_in``): ``exp`` is whole
    #: seconds, counted from the issuing second's end, so a token never dies sooner than
    #: its answer says (counted from the second's start, a one-second token could die
    #: a few milliseconds after it was issued, before a client such as skopeo used it).
    lifetime: int = 300
    #: How long past its ``exp`` distribution 2.8 still accepts a token: taken off
    #: ``exp``, so that a token stops working ``lifetime`` seconds (less than one more)
    #: after it is issued.
    registry_leeway: int = 60
    #: The fields of a token answer (Hub sends ``token``, ``access_token``,
    #: ``expires_in`` and ``issued_at``; some servers only one token field, no expiry).
    answer_fields: tuple[str, ...] = ("token", "access_token", "expires_in")
    #: The ``expires_in`` the answers say, when not ``lifetime`` (a server's own words)
    said_expires_in: Any = None
    #: When set, a granted request is answered with this status instead, its body
    #: echoing the token issued and the Authorization sent (a server that says too much
    #: in an error): ``{"error": ..., "token": ..., "access_token": ...,
    #: "refresh_token": ..., "your_auth": ...}``.
    echo_status: int | None = None
    #: Every token issued, in order (an echoed one too).
    issued: list[str] = field(default_factory=list)
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "publisher test token signer")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self._lock = threading.Lock()

    # --------------------------------------------------------------- tokens

    def sign(self, claims: dict[str, Any]) -> str:
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def issue(
        self, account: str | None, scopes: list[str], actions_allowed: str, service: str
    ) -> str:
        allowed = set(filter(None, actions_allowed.split(",")))
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a in allowed]
            if kind == "repository" and granted:
                access.append({"type": kind, "name": name, "actions": granted})
        now = time.time()
        return self.sign(
            {
                "iss": ISSUER,
                "sub": account or "",
                "aud": service,
                "exp": math.ceil(now) + self.lifetime - self.registry_leeway,
                "nbf": int(now) - 10,
                "iat": int(now),
                "jti": uuid.uuid4().hex,
                "access": access,
            }
        )

    # --------------------------------------------------------------- server

    def start(self) -> TokenServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                service = (query.get("service") or [SERVICE])[0]
                auth = self.headers.get("Authorization", "")
                account: str | None = None
                actions = server.anonymous_actions
                if auth.lower().startswith("basic "):
                    try:
                        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    except Exception:
                        user, password = "", ""
                    entry = server.users.get(user)
                    if entry is None or entry[0] != password:
                        with server._lock:
                            server.requests.append(TokenRequest(user, scopes, service, False))
                        self._answer(401, b'{"details":"incorrect username or password"}')
                        return
                    account, actions = user, entry[1]
                elif server.anonymous_refused:
                    with server._lock:
                        server.requests.append(TokenRequest(None, scopes, service, False))
                    self._answer(401, b'{"details":"authentication required"}')
                    return
                with server._lock:
                    server.requests.append(TokenRequest(account, scopes, service, True))
                token = server.issue(account, scopes, actions, service)
                with server._lock:
                    server.issued.append(token)
                if server.echo_status is not None:
                    echoed = {
                        "error": "bad scope",
                        "token": token,
                        "access_token": token,
                        "refresh_token": token,
                        "your_auth": auth,
                    }
                    self._answer(server.echo_status, json.dumps(echoed).encode())
                    return
                issued = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
                fields = {
                    "token": token,
                    "access_token": token,
                    "expires_in": (
                        server.lifetime
                        if server.said_expires_in is None
                        else server.said_expires_in
                    ),
                    "issued_at": issued,
                }
                body = json.dumps({k: fields[k] for k in server.answer_fields}).encode()
                self._answer(200, body)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._serve(Handler)
        return self

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def write_cert(self, path: Path) -> Path:
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def registry_auth_config(self, cert_path: Path) -> dict[str, Any]:
        self.write_cert(cert_path)
        return {
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(cert_path),
                }
            }
        }

    def scopes_requested(self) -> list[list[str]]:
        with self._lock:
            return [list(r.scopes) for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
