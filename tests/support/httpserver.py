"""What the test HTTP servers share: a threaded server on 127.0.0.1, a free port, stop.

``FaultProxy``, ``TokenServer`` and ``FakeGitHub`` each bring their own request
handler and call ``_serve(Handler)`` from ``start()``; this base owns the server,
its thread, ``port``, ``stop()`` and the context-manager protocol. A server given a
certificate (``tls``: its certificate and key files) serves HTTPS instead.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """A base class: subclasses define ``start()`` (which calls ``_serve``) and return ``self``."""

    _server: ThreadingHTTPServer | None = None
    #: The certificate and key files to serve HTTPS with; None: plain HTTP.
    tls: tuple[str, str] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
