"""A minimal FastCGI client (the responder role), standard library only.

Enough to send php-fpm one request and read its answer, as a web server would:
``BEGIN_REQUEST``, the CGI parameters in ``PARAMS`` records, an empty ``STDIN``,
then ``STDOUT``/``STDERR`` records until ``END_REQUEST``. The record encoding and
the CGI response parsing are pure functions; ``request`` is the only I/O.
Protocol: FastCGI 1.0 (records of at most 65535 content bytes, 8-byte headers).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1
REQUEST_COMPLETE = 0
_HEADER = struct.Struct(">BBHHBx")
MAX_CONTENT = 0xFFFF
REQUEST_ID = 1


class FastCgiError(Exception):
    """The server's answer is not valid FastCGI, or the connection failed."""


def record(kind: int, content: bytes, request_id: int = REQUEST_ID) -> bytes:
    """One record: header, content, padding to a multiple of 8 bytes."""
    if len(content) > MAX_CONTENT:
        raise ValueError("a FastCGI record holds at most 65535 bytes")
    padding = -len(content) % 8
    return _HEADER.pack(VERSION, kind, request_id, len(content), padding) + content + bytes(padding)


def stream(kind: int, content: bytes, request_id: int = REQUEST_ID) -> bytes:
    """A stream (PARAMS, STDIN): the content in records, then an empty record."""
    chunks = [content[i : i + MAX_CONTENT] for i in range(0, len(content), MAX_CONTENT)]
    return b"".join(record(kind, c, request_id) for c in chunks) + record(kind, b"", request_id)


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params: Mapping[str, str]) -> bytes:
    """Name-value pairs: each length in 1 byte (< 128) or 4 bytes (high bit set)."""
    out = bytearray()
    for name, value in params.items():
        key, val = name.encode(), value.encode()
        out += _length(len(key)) + _length(len(val)) + key + val
    return bytes(out)


def encode_request(params: Mapping[str, str], body: bytes = b"") -> bytes:
    begin = struct.pack(">HB5x", RESPONDER, 0)
    return (
        record(BEGIN_REQUEST, begin) + stream(PARAMS, encode_params(params)) + stream(STDIN, body)
    )


@dataclass(frozen=True)
class Answer:
    """What php-fpm sent back for one request."""

    stdout: bytes
    stderr: bytes
    app_status: int
    protocol_status: int


def read_records(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(type, request id, content)`` of each complete record in ``data``."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        version, kind, request_id, length, padding = _HEADER.unpack_from(data, offset)
        if version != VERSION:
            raise FastCgiError(f"not a FastCGI answer (record version {version})")
        start = offset + _HEADER.size
        end = start + length
        if end + padding > len(data):
            return
        yield kind, request_id, data[start:end]
        offset = end + padding


def decode_answer(data: bytes) -> Answer:
    """Collect STDOUT and STDERR up to END_REQUEST; FastCgiError when it never came."""
    out, err = bytearray(), bytearray()
    for kind, _request_id, content in read_records(data):
        if kind == STDOUT:
            out += content
        elif kind == STDERR:
            err += content
        elif kind == END_REQUEST:
            app_status, protocol_status = struct.unpack_from(">IB", content)
            return Answer(bytes(out), bytes(err), app_status, protocol_status)
    raise FastCgiError("the FastCGI answer ended before END_REQUEST")


@dataclass(frozen=True)
class Response:
    """A CGI response: status code, headers (lowercase names), body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def parse_cgi_response(stdout: bytes) -> Response:
    """Split ``Status:`` and the other headers from the body (no Status means 200)."""
    head, sep, body = stdout.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = stdout.partition(b"\n\n")
    if not sep:
        raise FastCgiError("the FastCGI answer has no CGI headers")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    status_text = headers.get("status", "200").split(" ", 1)[0]
    try:
        status = int(status_text)
    except ValueError:
        raise FastCgiError(f"the CGI Status header {headers['status']!r} is not a code") from None
    return Response(status=status, headers=headers, body=body)


def request(
    host: str,
    port: int,
    params: Mapping[str, str],
    *,
    body: bytes = b"",
    timeout: float = 30.0,
) -> Answer:
    """Send one request to a FastCGI server and read its whole answer."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(encode_request(params, body))
            received = bytearray()
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received += chunk
                try:
                    return decode_answer(bytes(received))
                except FastCgiError:
                    continue
    except OSError as exc:
        reason = exc.strerror or str(exc) or "the connection failed"  # "Connection refused"
        raise FastCgiError(f"cannot talk to FastCGI at {host}:{port}: {reason}") from None
    return decode_answer(bytes(received))
