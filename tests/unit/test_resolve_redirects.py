"""resolve's redirects: where the Authorization header goes (pure: the sockets are stood in for)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from publisher import resolve
from publisher.resolve import Target


class _Socket:
    def close(self) -> None:
        pass


def _follow(monkeypatch: pytest.MonkeyPatch, location: str) -> list[tuple[str, dict[str, str]]]:
    """GET a blob of https://registry.example that redirects to ``location``: each hop's
    host and headers."""
    sent: list[tuple[str, dict[str, str]]] = []
    answers = [(307, {"location": location}, b""), (200, {}, b"blob")]

    def connect(scheme: str, host: str, port: int | None, *_: Any, **__: Any) -> _Socket:
        sent.append((f"{scheme}://{host}:{port}", {}))
        return _Socket()

    def exchange(
        _sock: Any, _method: str, _host: str, _target: str, headers: Mapping[str, str], *_: Any
    ) -> tuple[int, dict[str, str], bytes]:
        sent[-1][1].update(headers)
        return answers.pop(0)

    monkeypatch.setattr(resolve, "_connect", connect)
    monkeypatch.setattr(resolve, "_exchange", exchange)
    session = resolve._Session(
        Target("registry.example", "acme/php", "v1", "linux/amd64"), None, 1e9, lambda: 0.0
    )
    url = "https://registry.example/v2/acme/php/blobs/sha256:" + "a" * 64
    answer = session.raw("GET", url, {"Authorization": "Bearer secret-token"}, 1024)
    assert answer.status == 200
    return sent


def test_a_redirect_within_the_registry_keeps_the_authorization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = _follow(monkeypatch, "/v2/acme/php/blobs/elsewhere")
    assert [headers.get("Authorization") for _host, headers in sent] == ["Bearer secret-token"] * 2


@pytest.mark.parametrize(
    "location",
    [
        "https://cdn.example/blob?signature=abc",  # another host (a CDN)
        "http://registry.example/v2/acme/php/blobs/plain",  # the same host, without TLS
        "https://registry.example:8443/blob",  # another port
    ],
)
def test_a_redirect_elsewhere_drops_the_authorization(
    monkeypatch: pytest.MonkeyPatch, location: str
) -> None:
    sent = _follow(monkeypatch, location)
    assert sent[0][1].get("Authorization") == "Bearer secret-token"
    assert "Authorization" not in sent[1][1], sent[1]
