"""The FastCGI client: record encoding, answer decoding, CGI responses (sockets: integration)."""

from __future__ import annotations

import struct

import pytest

from publisher.adapters import fastcgi


def test_records_are_padded_to_eight_bytes_and_streams_end_empty() -> None:
    rec = fastcgi.record(fastcgi.STDIN, b"abc")
    assert rec[:8] == bytes([1, fastcgi.STDIN, 0, 1, 0, 3, 5, 0])
    assert len(rec) == 16 and rec[8:11] == b"abc" and rec[11:] == bytes(5)
    big = fastcgi.stream(fastcgi.STDIN, b"x" * 70000)
    records = list(fastcgi.read_records(big))
    assert [len(c) for _, _, c in records] == [65535, 70000 - 65535, 0]
    with pytest.raises(ValueError):
        fastcgi.record(fastcgi.STDIN, b"x" * 65536)


def test_parameter_lengths_use_one_or_four_bytes() -> None:
    encoded = fastcgi.encode_params({"A": "b", "LONG": "v" * 200})
    assert encoded[:4] == b"\x01\x01Ab"
    assert encoded[4:13] == b"\x04" + struct.pack(">I", 200 | 0x80000000) + b"LONG"


def _answer(*records: bytes) -> bytes:
    end = fastcgi.record(fastcgi.END_REQUEST, struct.pack(">IB3x", 0, fastcgi.REQUEST_COMPLETE))
    return b"".join(records) + end


def test_an_answer_collects_stdout_and_stderr_until_end_request() -> None:
    data = _answer(
        fastcgi.record(fastcgi.STDOUT, b"Status: 404 Not Found\r\nContent-type: text/html\r\n"),
        fastcgi.record(fastcgi.STDERR, b"Primary script unknown"),
        fastcgi.record(fastcgi.STDOUT, b"\r\nFile not found.\n"),
    )
    answer = fastcgi.decode_answer(data)
    assert answer.stderr == b"Primary script unknown" and answer.app_status == 0
    response = fastcgi.parse_cgi_response(answer.stdout)
    assert response.status == 404 and response.body == b"File not found.\n"
    assert response.headers["content-type"] == "text/html"
    with pytest.raises(fastcgi.FastCgiError, match="before END_REQUEST"):
        fastcgi.decode_answer(data[:-16])
    with pytest.raises(fastcgi.FastCgiError, match="record version"):
        fastcgi.decode_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n")


def test_cgi_responses_without_status_are_200_and_need_headers() -> None:
    ok = fastcgi.parse_cgi_response(b"Content-Type: application/json\n\n{}")
    assert ok.status == 200 and ok.body == b"{}"
    with pytest.raises(fastcgi.FastCgiError, match="no CGI headers"):
        fastcgi.parse_cgi_response(b"pong")
