"""The FastCGI client over real loopback sockets (the protocol itself: tests/unit)."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from publisher.adapters import fastcgi

pytestmark = pytest.mark.integration


def _answer(*records: bytes) -> bytes:
    end = fastcgi.record(fastcgi.END_REQUEST, struct.pack(">IB3x", 0, fastcgi.REQUEST_COMPLETE))
    return b"".join(records) + end


def test_a_request_over_a_real_socket() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)
    port = server.getsockname()[1]
    seen: dict[str, object] = {}

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while not data.endswith(fastcgi.record(fastcgi.STDIN, b"")):
                data += conn.recv(4096)
            seen["records"] = [(kind, content) for kind, _, content in fastcgi.read_records(data)]
            body = b"Content-Type: text/plain\r\n\r\n" + b"y" * 100000
            conn.sendall(
                _answer(
                    *(
                        fastcgi.record(fastcgi.STDOUT, body[i : i + 60000])
                        for i in range(0, len(body), 60000)
                    )
                )
            )

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        answer = fastcgi.request("127.0.0.1", port, {"SCRIPT_FILENAME": "/x.php"}, timeout=10)
    finally:
        thread.join()
        server.close()
    records = seen["records"]
    assert isinstance(records, list)
    assert records[0][0] == fastcgi.BEGIN_REQUEST
    assert records[0][1][:2] == b"\x00\x01"  # the responder role
    assert (fastcgi.PARAMS, b"\x0f\x06SCRIPT_FILENAME/x.php") in records
    assert fastcgi.parse_cgi_response(answer.stdout).body == b"y" * 100000


def test_a_refused_connection_is_a_fastcgi_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(fastcgi.FastCgiError) as caught:
        fastcgi.request("127.0.0.1", port, {}, timeout=5)
    assert str(caught.value) == f"cannot talk to FastCGI at 127.0.0.1:{port}: Connection refused"
