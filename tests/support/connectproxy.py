"""A tiny HTTP proxy for tests: ``CONNECT`` tunnels and absolute-form forwarding.

It resolves host names through its own table (``hosts``: name -> ``127.0.0.1``),
so a name that only the proxy knows proves a request went through it. With
``credentials`` (``user:password``) it answers 407 unless ``Proxy-Authorization``
carries them. ``requests`` records every request line it served.
"""

from __future__ import annotations

import base64
import socket

from tests.support.sockets import Listener, relay


class ConnectProxy(Listener):
    backlog = 32

    def __init__(self, hosts: dict[str, str], credentials: str | None = None) -> None:
        self.hosts = hosts
        self.expected = (
            "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        )
        self.requests: list[str] = []
        super().__init__()

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}{self.host}"

    def _upstream(self, authority: str) -> socket.socket:
        name, _, port = authority.rpartition(":")
        return socket.create_connection((self.hosts.get(name, name), int(port)), timeout=5)

    def handle(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            self.requests.append(f"{method} {target}")
            headers = [h for h in lines[1:] if h]
            auth = next(
                (h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("proxy-auth")),
                None,
            )
            if self.expected and auth != self.expected:
                client.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                return
            if method == "CONNECT":
                upstream = self._upstream(target)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                assert target.startswith("http://"), target
                authority, _, path = target[len("http://") :].partition("/")
                upstream = self._upstream(authority if ":" in authority else authority + ":80")
                kept = [h for h in headers if not h.lower().startswith("proxy-")]
                request = "\r\n".join([f"{method} /{path} {version}", *kept]) + "\r\n\r\n"
                upstream.sendall(request.encode("latin-1") + rest)
            with upstream:
                relay(client, upstream)
