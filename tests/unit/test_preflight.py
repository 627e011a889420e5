"""Preflight's refused push check: a scope problem is not blamed on the password (fake client)."""

from __future__ import annotations

from typing import Any

import pytest

from publisher.adapters.registry import Credentials
from publisher.core.config import Registry
from publisher.core.errors import AuthError
from publisher.core.reference import parse_repository
from publisher.stages.preflight import push_refused
from tests.support.fake_registry import FakeRegistryClient

REFUSED = AuthError("POST upload: not authorized (HTTP 401)", status=401, hint="check the password")
READER = Credentials("reader", "s3cret", source="env TOK_TOKEN")


def registry(text: str) -> Registry:
    return Registry("tok", parse_repository(text), True, "TOK_USERNAME", "TOK_TOKEN")


def test_an_account_that_may_pull_but_not_push_is_told_so() -> None:
    client: Any = FakeRegistryClient("registry.example", credentials=READER)
    error = push_refused(client, registry("registry.example/acme/php"), REFUSED)
    assert error.message == (
        "tok: this account (reader, env TOK_TOKEN) may pull but not push to "
        "registry.example/acme/php (token scope needed: repository:acme/php:pull,push)"
    )
    assert error.exit_code == 4 and error.status == 401
    assert "password" not in str(error) and "TOK_USERNAME and TOK_TOKEN" in (error.hint or "")


@pytest.mark.parametrize(
    ("host", "words"),
    [("ghcr.io", "write:packages"), ("docker.io", "Read & Write")],
)
def test_the_scope_names_what_the_registry_calls_it(host: str, words: str) -> None:
    client: Any = FakeRegistryClient(host, credentials=READER)
    error = push_refused(client, registry(f"{host}/acme/php"), REFUSED)
    assert "may pull but not push" in error.message and words in error.message


def test_refused_credentials_keep_the_original_error() -> None:
    denied = AuthError("the token server refused the credentials (HTTP 401)", status=401)
    client: Any = FakeRegistryClient("registry.example", credentials=READER, listing=denied)
    assert push_refused(client, registry("registry.example/acme/php"), REFUSED) is REFUSED


def test_anonymous_or_other_statuses_keep_the_original_error() -> None:
    anonymous: Any = FakeRegistryClient("registry.example")
    assert push_refused(anonymous, registry("registry.example/acme/php"), REFUSED) is REFUSED
    other = AuthError("refusing to send credentials to a plain-HTTP token server")
    client: Any = FakeRegistryClient("registry.example", credentials=READER)
    assert push_refused(client, registry("registry.example/acme/php"), other) is other
