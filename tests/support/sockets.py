"""Raw TCP stand-ins for registries that misbehave below HTTP, on 127.0.0.1 (or ``address``).

``Listener`` accepts connections on a free port and hands each to ``handle`` on
its own thread (``accepted`` is set at the first); ``close()`` stops accepting and
closes every connection it took.
Built on it:

* ``Silent``       accepts and never answers: a registry that hangs
* ``Unaccepting``  a port whose connections are never made: a host behind a firewall that
  drops them, on this machine
* ``FixedAnswer``  answers every request with one canned HTTP response (401, 429, ...)
* ``CorruptTls``   an HTTPS answer whose body breaks off with a TLS record that fails its check
* ``TcpRelay``     relays bytes to an upstream; ``close()`` takes the upstream "offline"
* ``UnixRelay``    relays a unix socket of its own to another one (the docker engine's):
  ``close()`` is an engine that went away (``DOCKER_HOST=unix://`` its ``host``); with
  ``held`` (a regular expression) it never passes on a request whose first line matches it:
  an engine that stops answering part-way (``POST …/networks/create``)
* ``EngineVersion`` a docker engine elsewhere (``DOCKER_HOST=tcp://``) that runs another
  platform: it answers ``/_ping`` and ``/version`` as docker 26 on ``os/arch`` (after
  ``delay`` seconds: a busy engine), nothing else; on a unix socket when ``address`` is a path

``relay(a, b)`` copies two sockets into each other until both sides are done
(also used by ``ConnectProxy``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from typing import Self


class Listener:
    backlog = 64

    def __init__(self, address: str = "127.0.0.1") -> None:
        if address.startswith("/"):  # a unix socket at that path (``host`` is the path)
            self.listener = socket.socket(socket.AF_UNIX)
            self.listener.bind(address)
            self.host = address
        else:
            self.listener = socket.socket()
            self.listener.bind((address, 0))
            self.host = f"{address}:{self.listener.getsockname()[1]}"
        self.listener.listen(self.backlog)
        self.listener.settimeout(0.1)  # so that close() ends the accept loop promptly
        self._open: list[socket.socket] = []
        self.accepted = threading.Event()  # set at the first connection accepted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection (on its own thread); the base keeps it open."""

    def keep(self, sock: socket.socket) -> socket.socket:
        """Close ``sock`` with the listener (for sockets a handler opens itself)."""
        self._open.append(sock)
        return sock

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.accepted.set()
            threading.Thread(target=self._handle, args=(self.keep(conn),), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handle(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Unaccepting:
    """A port that never completes a connection: Linux drops a SYN while the listener's
    accept queue is full, as a firewall that drops packets would, so a client's connect
    waits until its own time limit. The queue (of one) is filled at once, and never
    accepted from."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._filling: list[socket.socket] = []
        for _ in range(2):  # the one the queue holds, and one left waiting
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", self.listener.getsockname()[1]))
            self._filling.append(sock)
        time.sleep(0.1)  # the first one's handshake is done: the queue is full

    def close(self) -> None:
        for sock in [*self._filling, self.listener]:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def relay_one_way(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until ``source`` ends, then end ``sink``'s writing side."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def relay(a: socket.socket, b: socket.socket) -> None:
    """Copy ``a`` to ``b`` and ``b`` to ``a`` until both ends have closed (10 s at most after)."""
    other = threading.Thread(target=relay_one_way, args=(b, a), daemon=True)
    other.start()
    relay_one_way(a, b)
    other.join(10)


class Silent(Listener):
    """Accepts TCP connections and never answers: a registry that hangs."""


class FixedAnswer(Listener):
    """Answers every request with one HTTP response (401, 429, ...), as a registry would.

    It answers a TLS hello too, with a plain HTTP status line, so docker falls
    back to plain HTTP as it does for any loopback registry (on another ``address``,
    which docker and resolve reach over HTTPS only, that answer is a TLS failure).
    """

    def __init__(
        self,
        status: str,
        headers: dict[str, str],
        body: bytes,
        address: str = "127.0.0.1",
        content_type: str = "application/json",
    ) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self.answer = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self.requests: list[bytes] = []
        super().__init__(address)

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            seen = b""
            with contextlib.suppress(TimeoutError):
                while b"\r\n\r\n" not in seen and len(seen) < 65536:
                    data = conn.recv(65536)
                    if not data:
                        break
                    seen += data
            self.requests.append(seen)
            conn.sendall(self.answer)


class CorruptTls(Listener):
    """An HTTPS registry whose answer breaks in the middle of its body: it sends the
    status line, the headers and the first bytes over TLS, then a TLS record that fails
    its integrity check (what a faulty middlebox or NIC does to a stream)."""

    def __init__(self, cert: str, key: str) -> None:
        import ssl

        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        import os
        import time

        with self.context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n"
            tls.sendall(head + b"\r\n" + b" " * 100)
            time.sleep(0.2)
            os.write(tls.fileno(), b"\x17\x03\x03\x00\x40" + os.urandom(64))  # bad record MAC
            time.sleep(1)


class TcpRelay(Listener):
    """Relays TCP byte for byte to ``upstream``; ``close()`` takes the registry "offline"."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        relay(conn, self.keep(socket.create_connection(self.upstream)))


class UnixRelay(Listener):
    """Relays a unix socket at ``path`` byte for byte to the unix socket ``upstream`` (the docker
    engine's); ``close()`` removes its socket, then cuts every connection: an engine that
    stopped in the middle of a call (a connection tried after the cut finds no engine, never
    one that takes it and stays silent while the listener winds down)."""

    def __init__(
        self, path: str, upstream: str = "/var/run/docker.sock", held: str | None = None
    ) -> None:
        self.upstream = upstream
        self.held = re.compile(held.encode(), re.MULTILINE) if held else None
        self.holding = threading.Event()  # set once a request was held
        super().__init__(path)

    def handle(self, conn: socket.socket) -> None:
        engine = self.keep(socket.socket(socket.AF_UNIX))
        engine.connect(self.upstream)
        if self.held is None:
            relay(conn, engine)
            return
        threading.Thread(target=relay_one_way, args=(engine, conn), daemon=True).start()
        while data := conn.recv(65536):
            if self.held.search(data):  # a request's line and headers come in one write
                self.holding.set()
                self._stop.wait()  # never answered while the relay is open
                return
            engine.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.host)  # first: no new connection lands in the closing listener
        for sock in list(self._open):  # a call under way sees its connection end at once
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        super().close()


class EngineVersion(Listener):
    """A remote docker engine's ``/_ping`` and ``/version`` (docker 26 on ``platform``), for
    ``DOCKER_HOST=tcp://HOST``: what ``docker version`` and resolve ask to learn the engine's
    platform. Any other request is answered 404, as for an image it does not hold."""

    def __init__(self, platform: str, delay: float = 0.0, address: str = "127.0.0.1") -> None:
        os_name, arch = platform.split("/")
        self.delay = delay  # seconds before each answer: a busy engine (Docker Desktop's VM)
        self.version = json.dumps(
            {
                "Version": "26.1.5", "ApiVersion": "1.45", "MinAPIVersion": "1.24",
                "Os": os_name, "Arch": arch, "KernelVersion": "6.1.0", "GoVersion": "go1.22",
                "GitCommit": "stand-in", "BuildTime": "2026-01-01T00:00:00.000000000+00:00",
                "Platform": {"Name": "EngineVersion stand-in"},
                "Components": [{"Name": "Engine", "Version": "26.1.5", "Details": {
                    "ApiVersion": "1.45", "Arch": arch, "Os": os_name, "MinAPIVersion": "1.24",
                }}],
            }
        ).encode()  # fmt: skip
        self.paths: list[str] = []
        super().__init__(address)

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            seen = b""
            while b"\r\n\r\n" not in seen and len(seen) < 65536:
                data = conn.recv(65536)
                if not data:
                    return
                seen += data
            method, path, *_ = [*seen.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
            self.paths.append(path)
            if self.delay:
                time.sleep(self.delay)
            headers = {"Api-Version": "1.45", "Ostype": "linux", "Content-Type": "text/plain"}
            if path.rstrip("/").endswith("/_ping"):
                status, body = "200 OK", b"OK"
            elif path.split("?")[0].endswith("/version"):
                status, body = "200 OK", self.version
                headers["Content-Type"] = "application/json"
            else:
                status, body = "404 Not Found", b'{"message":"no such image (stand-in engine)"}'
                headers["Content-Type"] = "application/json"
            head = [f"HTTP/1.1 {status}", "Connection: close", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            answer = ("\r\n".join(head) + "\r\n\r\n").encode()
            conn.sendall(answer + (b"" if method == "HEAD" else body))
