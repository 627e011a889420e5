"""A fault-injecting HTTP proxy to put in front of a real registry.

It forwards every request to the upstream registry unchanged (the ``Host``
header included, so the registry's absolute ``Location`` URLs point back at the
proxy) unless a scripted ``Fault`` matches. Without a fault, bodies stream through
both ways (memory stays flat for any blob size; a request body cut short is cut
short upstream too). It counts requests by method and
kind of path (``ping``, ``manifest``, ``blob``, ``upload``, ``tags``,
``other``) and the request-body bytes sent to upload endpoints; ``uploads_by_digest()``,
``downloads_by_digest()`` and ``mounts()`` read its log per blob, ``reads_by_digest()`` per
manifest and blob. Given ``tls`` (a
certificate and its key, as ``tests.support.tls.self_signed`` writes them) it serves
HTTPS; it speaks plain HTTP to the upstream all the same.

Faults (``Fault.action``):

* ``status``    answer ``status`` with ``headers`` and ``body`` instead of forwarding
* ``reset``     read part of the request body, then reset the connection
* ``truncate``  forward, then send only half the body (with the full Content-Length)
* ``length``    forward, then declare ``length_delta`` more bytes than sent and close
* ``huge``      answer ``status`` with a body of ``huge_bytes`` streamed bytes
* ``digest``    forward, then replace the Docker-Content-Digest header with ``digest``
                (drop it when ``digest`` is empty)
* ``body``      forward, then replace the body with ``body`` (headers kept, length fixed)
* ``location``  forward, then rewrite Location: ``relative``, ``drop`` or ``other-host``
* ``chunked``   forward, then send the body chunked with no Content-Length
* ``paginate``  serve tags/list in pages of ``page_size`` with ``Link: <...>; rel="next"``
                headers (distribution 2.8 itself ignores ``n`` for tags): a path, or with
                ``link_host`` an absolute URL on that host and port (a proxy that names the
                registry by another name)
* ``rewrite``   rewrite the request path with ``pattern`` -> ``replacement``, then forward
* ``stall``     wait ``stall_seconds`` (or until ``release()``, the proxy's or the fault's
                own: the requests one fault holds let through, another's still held),
                then forward
* ``hang``      take the request and never answer it, nor forward it: the connection stays
                open until the client gives up on it (or ``release()``, which closes it)
* ``throttle``  forward, reading the request body 64 KiB at a time with a pause of
                ``stall_seconds`` before each piece (a slow uplink)
* ``drip``      forward, then send the answer one byte every ``stall_seconds`` (until
                ``release()``): all of it, or with ``drip="body"`` the headers at once and
                the body dripped (a registry, or a link, that trickles its answer)
* ``echo``      answer ``status`` with a body (and a header) echoing the request's
                Authorization header, as a careless registry might
* ``raw``       answer with ``body`` as it is (the status line and headers included, HTTP
                or not), then close the connection: a malformed answer
* ``cut``       forward, then send half the body (with the full Content-Length) and reset
                the connection
* ``bad_chunk`` forward, then send the body chunked: its first half as one chunk, then a
                chunk-size line that is no number, and close the connection
* ``route``     forward to ``upstream`` instead (another server behind the same host and
                port: a token server beside the registry)

``body`` with ``fix_digest=True`` also sets Docker-Content-Digest to the new body's digest.

A fault applies to requests matching ``method`` (or any of ``methods``), the regex ``path`` (and the
regex ``user_agent``, when given: to fault one client only), after
``skip`` matching requests have passed, ``times`` times (None: forever). ``Outage`` is
a registry going down at one request and staying down.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import select
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.support.httpserver import LoopbackServer

RELAY_CHUNK = 256 * 1024
#: What a ``throttle`` fault reads of a request body after each pause.
THROTTLED_CHUNK = 64 * 1024

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
}


def path_kind(path: str) -> str:
    path = urlsplit(path).path
    if path.rstrip("/") == "/v2":
        return "ping"
    if "/blobs/uploads" in path:
        return "upload"
    if "/manifests/" in path:
        return "manifest"
    if "/blobs/" in path:
        return "blob"
    if path.endswith("/tags/list"):
        return "tags"
    return "other"


@dataclass
class Fault:
    action: str
    method: str | None = None
    path: str = ".*"
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int | None = 1
    skip: int = 0
    digest: str = "sha256:" + "0" * 64
    location: str = "relative"
    huge_bytes: int = 64 * 1024 * 1024
    length_delta: int = 100
    reset_after: int = 1024
    pattern: str = ""
    replacement: str = ""
    fix_digest: bool = False
    page_size: int = 2
    link_host: str = ""  # ``paginate``'s: the host and port its Link URLs name
    stall_seconds: float = 60.0
    drip: str = "headers"
    user_agent: str = ""
    methods: tuple[str, ...] = ()  # any of these (with ``method``, its alternatives too)
    upstream: str = ""  # ``route``'s
    seen: int = 0
    fired: int = 0
    #: set by ``release()``: the requests this fault stalls go on (the proxy's
    #: ``release()`` sets it too)
    opened: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def release(self) -> None:
        """Let the requests this fault stalls (and later ones it matches) through."""
        self.opened.set()

    def matches(self, method: str, path: str, user_agent: str = "") -> bool:
        wanted = (*((self.method,) if self.method else ()), *self.methods)
        if wanted and method not in wanted:
            return False
        if self.user_agent and not re.search(self.user_agent, user_agent):
            return False
        if not re.search(self.path, path):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class Outage(Fault):
    """The registry goes down at the first request ``trigger_method`` to a path matching
    ``trigger`` (that one included) and stays down: every request from then on gets the
    fault (``status``, ``reset`` for a connection broken each time, or ``hang`` for a
    registry that takes each request and never answers). ``since`` counts those requests,
    ``at`` is when the first came (``time.monotonic``)."""

    trigger: str = ".*"
    trigger_method: str = "PUT"
    times: int | None = None
    since: int = 0
    at: float = 0.0

    def matches(self, method: str, path: str, user_agent: str = "") -> bool:
        if not self.since and not (method == self.trigger_method and re.search(self.trigger, path)):
            return False
        if not self.since:
            self.at = time.monotonic()
        self.since += 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    kind: str
    status: int | None
    fault: str | None
    headers: dict[str, str]
    #: When the proxy took the request's answer (time.monotonic), before passing it on:
    #: the order of requests to two proxies, one after the other's answer.
    at: float = field(default_factory=time.monotonic)


class FaultProxy(LoopbackServer):
    """Start with ``start()`` (or as a context manager); ``host`` is ``127.0.0.1:PORT``."""

    def __init__(self, upstream: str, *, tls: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        self.tls = tls  # serve HTTPS with this certificate and key (the upstream stays HTTP)
        self._released = threading.Event()
        self.faults: list[Fault] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.uploaded_bytes = 0
        self.log: list[Seen] = []
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- script

    def add(self, *faults: Fault) -> FaultProxy:
        with self._lock:
            self.faults.extend(faults)
            if self._released.is_set():
                for fault in faults:
                    fault.release()
        return self

    def release(self) -> None:
        """Let stalled requests (and later ones) through at once."""
        with self._lock:
            self._released.set()
            for fault in self.faults:
                fault.release()

    def clear(self) -> None:
        """Forget faults and counts."""
        with self._lock:
            self.faults.clear()
            self.counts.clear()
            self.uploaded_bytes = 0
            self.log.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.uploaded_bytes = 0
            self.log.clear()

    def count(self, method: str | None = None, kind: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, k), n in self.counts.items()
                if (method is None or m == method) and (kind is None or k == kind)
            )

    @property
    def mutating_requests(self) -> int:
        return sum(self.count(m) for m in ("POST", "PUT", "PATCH", "DELETE"))

    def uploads_by_digest(self) -> Counter[str]:
        """Completed uploads (the PUT that names the digest, answered 201) per blob digest."""
        with self._lock:
            paths = [
                s.path
                for s in self.log
                if s.method == "PUT" and s.kind == "upload" and s.status == 201
            ]
        return Counter(parse_qs(urlsplit(path).query)["digest"][0] for path in paths)

    def downloads_by_digest(self) -> Counter[str]:
        """Blob GETs per digest."""
        with self._lock:
            paths = [s.path for s in self.log if s.method == "GET" and s.kind == "blob"]
        return Counter(urlsplit(path).path.rsplit("/blobs/", 1)[1] for path in paths)

    def reads_by_digest(self) -> Counter[str]:
        """Manifest and blob GETs per digest (manifests read by tag left out)."""
        counted: Counter[str] = Counter()
        for (method, _, digest), n in self.asked_by_digest().items():
            counted[digest] += n if method == "GET" else 0
        return +counted

    def asked_by_digest(self) -> Counter[tuple[str, str, str]]:
        """(method, ``manifest`` or ``blob``, digest) -> how many times it was asked for
        (manifests asked by tag left out)."""
        with self._lock:
            asked = [
                (s.method, s.kind, urlsplit(s.path).path.rsplit("/", 1)[1])
                for s in self.log
                if s.kind in ("manifest", "blob")
            ]
        return Counter(key for key in asked if key[2].startswith("sha256:"))

    def mounts(self) -> list[Seen]:
        """The cross-repository mount requests (``POST ...?mount=``), in order."""
        with self._lock:
            return [s for s in self.log if s.method == "POST" and "mount=" in s.path]

    def _pick(self, method: str, path: str, user_agent: str = "") -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, user_agent):
                    return fault
        return None

    # ---------------------------------------------------------------- server

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self, limit: int | None = None) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return bytes(data)
                        data += self.rfile.read(size)
                        self.rfile.readline()
                        if limit is not None and len(data) >= limit:
                            return bytes(data)
                length = int(self.headers.get("Content-Length") or 0)
                if limit is not None:
                    length = min(length, limit)
                return self.rfile.read(length) if length else b""

            def _record(
                self, kind: str, status: int | None, fault: Fault | None, uploaded: int
            ) -> None:
                with proxy._lock:
                    proxy.counts[(self.command, kind)] += 1
                    if kind == "upload":
                        proxy.uploaded_bytes += uploaded
                    proxy.log.append(
                        Seen(
                            self.command,
                            self.path,
                            kind,
                            status,
                            fault.action if fault else None,
                            dict(self.headers),
                        )
                    )

            def _send(
                self,
                status: int,
                headers: list[tuple[str, str]],
                body: bytes,
                *,
                close: bool = False,
            ) -> None:
                if any(name.lower() == "date" for name, _ in headers):
                    # a Date of the fault's own (a registry whose clock is off): not two
                    self.log_request(status)
                    self.send_response_only(status)
                    self.send_header("Server", self.version_string())
                else:
                    self.send_response(status)
                length = str(len(body))
                for name, value in headers:
                    if name.lower() == "content-length" and self.command == "HEAD":
                        length = value  # HEAD describes the body it does not send
                    if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", length)
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _hang(self) -> None:
                """Read and drop whatever the client sends, answering nothing, until it
                closes the connection (or ``release()``: then close it)."""
                self.close_connection = True
                sock = self.connection
                while not proxy._released.is_set():
                    if not select.select([sock], [], [], 0.05)[0]:
                        continue
                    try:
                        if not sock.recv(RELAY_CHUNK):
                            return
                    except OSError:
                        return

            def _reset(self) -> None:
                self.close_connection = True
                sock = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

            def handle_any(self) -> None:
                kind = path_kind(self.path)
                original = self.path
                fault = proxy._pick(self.command, self.path, self.headers.get("User-Agent", ""))
                if fault is None:
                    self._relay(kind)
                    return
                if fault.action == "stall":
                    fault.opened.wait(fault.stall_seconds)
                    self._relay(kind)
                    return
                if fault.action == "hang":
                    self._record(kind, None, fault, 0)
                    self._hang()
                    return
                if fault.action == "throttle":  # read the request body slowly: a slow link
                    self._pause = fault.stall_seconds
                    self._relay(kind)
                    return
                if fault.action == "route":
                    self._relay(kind, fault.upstream)
                    return
                if fault and fault.action == "reset":
                    body = self._body(limit=fault.reset_after)
                    self._record(kind, None, fault, len(body))
                    self._reset()
                    return
                body = self._body()
                if fault and fault.action == "rewrite":
                    self.path = re.sub(fault.pattern, fault.replacement, self.path)
                    status, headers, answer = self._forward(body)
                    self._record(kind, status, fault, len(body))
                    self._send(status, headers, answer)
                    return
                if fault and fault.action == "paginate":
                    parts = urlsplit(self.path)
                    query = parse_qs(parts.query)
                    self.path = parts.path
                    status, headers, answer = self._forward(body)
                    self.path = original
                    self._record(kind, status, fault, len(body))
                    data = json.loads(answer)
                    tags = sorted(data.get("tags") or [])
                    last = (query.get("last") or [""])[0]
                    rest = [t for t in tags if t > last] if last else tags
                    page = rest[: fault.page_size]
                    out = [(n, v) for n, v in headers if n.lower() != "link"]
                    if len(rest) > len(page):
                        origin = f"http://{fault.link_host}" if fault.link_host else ""
                        following = f"{origin}{parts.path}?n={fault.page_size}&last={page[-1]}"
                        out.append(("Link", f'<{following}>; rel="next"'))
                    self._send(
                        status, out, json.dumps({"name": data.get("name"), "tags": page}).encode()
                    )
                    return
                if fault and fault.action == "echo":
                    auth = self.headers.get("Authorization", "")
                    echoed = json.dumps(
                        {
                            "errors": [
                                {
                                    "code": "DENIED",
                                    "message": f"bad header Authorization: {auth}",
                                    "detail": {"Authorization": auth},
                                }
                            ]
                        }
                    ).encode()
                    self._record(kind, fault.status, fault, len(body))
                    self._send(
                        fault.status,
                        [("Content-Type", "application/json"), ("X-Echo-Authorization", auth)],
                        echoed,
                        close=True,
                    )
                    return
                if fault.action == "raw":
                    self._record(kind, None, fault, len(body))
                    self.close_connection = True
                    self.wfile.write(fault.body)
                    return
                if fault and fault.action == "status":
                    self._record(kind, fault.status, fault, len(body))
                    self._send(fault.status, list(fault.headers.items()), fault.body, close=True)
                    return
                if fault and fault.action == "huge":
                    self._record(kind, fault.status, fault, len(body))
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(fault.huge_bytes))
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    chunk = b'{"errors":[{"code":"X","message":"' + b"A" * 65000
                    sent = 0
                    try:
                        while sent < fault.huge_bytes:
                            piece = chunk[: fault.huge_bytes - sent]
                            self.wfile.write(piece)
                            sent += len(piece)
                    except OSError:
                        pass
                    return
                status, headers, answer = self._forward(body)
                self._record(kind, status, fault, len(body))
                if fault is None:
                    self._send(status, headers, answer)
                    return
                self._apply(fault, status, headers, answer)

            def _request_chunks(self) -> Iterator[bytes]:
                """The request body as it arrives (chunked or by Content-Length)."""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return
                        while size:
                            piece = self.rfile.read(min(size, RELAY_CHUNK))
                            if not piece:
                                return
                            size -= len(piece)
                            yield piece
                        self.rfile.readline()
                remaining = int(self.headers.get("Content-Length") or 0)
                while remaining:
                    time.sleep(getattr(self, "_pause", 0.0))
                    piece = self.rfile.read(
                        min(
                            remaining,
                            THROTTLED_CHUNK if getattr(self, "_pause", 0.0) else RELAY_CHUNK,
                        )
                    )
                    if not piece:
                        return
                    remaining -= len(piece)
                    yield piece

            def _relay(self, kind: str, upstream: str = "") -> None:
                """Forward without a fault (to ``upstream``, else the proxy's), streaming both
                ways (memory flat for any body)."""
                chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
                conn = http.client.HTTPConnection(upstream or proxy.upstream, timeout=120)
                sent = 0
                try:
                    conn.putrequest(
                        self.command, self.path, skip_host=True, skip_accept_encoding=True
                    )
                    for name, value in self.headers.items():
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            conn.putheader(name, value)
                    if chunked:
                        conn.putheader("Transfer-Encoding", "chunked")
                    elif self.headers.get("Content-Length") or self.command in (
                        "POST",
                        "PUT",
                        "PATCH",
                    ):
                        conn.putheader("Content-Length", self.headers.get("Content-Length") or "0")
                    conn.endheaders()
                    for piece in self._request_chunks():
                        sent += len(piece)
                        conn.send(
                            f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                        )
                    if chunked:
                        conn.send(b"0\r\n\r\n")
                    elif sent < int(self.headers.get("Content-Length") or 0):
                        # The client gave up mid-body: so does the upstream request.
                        self._record(kind, None, None, sent)
                        self.close_connection = True
                        return
                    response = conn.getresponse()
                    headers = response.getheaders()
                    length = response.getheader("Content-Length")
                    self._record(kind, response.status, None, sent)
                    if self.command == "HEAD" or length is not None:
                        self.send_response(response.status)
                        for name, value in headers:
                            if name.lower() not in HOP_BY_HOP:
                                self.send_header(name, value)
                        self.end_headers()
                        if self.command != "HEAD":
                            try:
                                while piece := response.read(RELAY_CHUNK):
                                    self.wfile.write(piece)
                            except OSError:  # the client stopped reading: drop the connection
                                self.close_connection = True
                        return
                    self._send(response.status, headers, response.read())
                finally:
                    conn.close()

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    headers.pop("Content-Length", None)
                    if body or self.command in ("POST", "PUT", "PATCH"):
                        headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    return response.status, list(response.getheaders()), answer
                finally:
                    conn.close()

            def _apply(
                self, fault: Fault, status: int, headers: list[tuple[str, str]], answer: bytes
            ) -> None:
                action = fault.action
                if action == "truncate" or action == "length":
                    declared = (
                        len(answer) if action == "truncate" else len(answer) + fault.length_delta
                    )
                    sent = answer[: len(answer) // 2] if action == "truncate" else answer
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(declared))
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(sent)
                    return
                if action == "cut" or action == "bad_chunk":
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    half = answer[: len(answer) // 2]
                    if action == "cut":
                        self.send_header("Content-Length", str(len(answer)))
                    else:
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if action == "cut":
                        self.wfile.write(half)
                        self._reset()
                        return
                    self.close_connection = True
                    self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\nzz\r\n")
                    return
                if action == "chunked":
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    data = fault.body or answer
                    for i in range(0, len(data), 65536):
                        piece = data[i : i + 65536]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if action == "drip":
                    self._drip(fault, status, headers, answer)
                    return
                if action == "digest":  # an empty ``digest`` drops the header
                    headers = [
                        (n, fault.digest if n.lower() == "docker-content-digest" else v)
                        for n, v in headers
                        if fault.digest or n.lower() != "docker-content-digest"
                    ]
                elif action == "body":
                    answer = fault.body
                    if fault.fix_digest:
                        fixed = "sha256:" + hashlib.sha256(answer).hexdigest()
                        headers = [
                            (n, fixed if n.lower() == "docker-content-digest" else v)
                            for n, v in headers
                        ]
                elif action == "location":
                    new: list[tuple[str, str]] = []
                    for name, value in headers:
                        if name.lower() == "location":
                            parts = urlsplit(value)
                            if fault.location == "drop":
                                continue
                            if fault.location == "relative":
                                value = parts.path + (f"?{parts.query}" if parts.query else "")
                            elif fault.location == "other-host":
                                value = parts._replace(netloc="203.0.113.7:5000").geturl()
                        new.append((name, value))
                    headers = new
                self._send(status, headers, answer)

            def _drip(
                self, fault: Fault, status: int, headers: list[tuple[str, str]], answer: bytes
            ) -> None:
                lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'X')}"]
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        lines.append(f"{name}: {value}")
                lines += [f"Content-Length: {len(answer)}", "Connection: close", "", ""]
                head = "\r\n".join(lines).encode("latin-1")
                body = answer if self.command != "HEAD" else b""
                self.close_connection = True
                at_once, dripped = (head, body) if fault.drip == "body" else (b"", head + body)
                try:
                    self.wfile.write(at_once)
                    for at in range(len(dripped)):
                        if proxy._released.wait(fault.stall_seconds):
                            self.wfile.write(dripped[at:])
                            return
                        self.wfile.write(dripped[at : at + 1])
                except OSError:  # the client gave up: so do we
                    pass

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self._serve(Handler)
        return self
