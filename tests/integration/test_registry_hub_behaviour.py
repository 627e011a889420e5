"""What Docker Hub and GHCR do that a plain distribution registry does not, reproduced on
loopback: token scopes per repository, blob downloads redirected to another host.

Each test puts the real registry behind the token server or a small HTTP server that
answers the way Hub or GHCR do, and drives the registry client through it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.registry import Credentials, RegistryClient
from publisher.core.reference import Reference
from tests.conftest import require_tool
from tests.support.faultproxy import FaultProxy
from tests.support.images import make_image, write_layout
from tests.support.tokenserver import TokenServer

pytestmark = pytest.mark.integration

PUSHER = Credentials("pusher", "pusher-scoped-secret-41c7")
READER = Credentials("reader", "reader-scoped-secret-93be")


class ScopedTokenServer(TokenServer):
    """A token server that grants ``PUSHER`` nothing on the repositories in ``withheld``,
    whatever it may do elsewhere (as Hub does for a repository the account cannot read)."""

    withheld: frozenset[str] = frozenset()

    def issue(
        self, account: str | None, scopes: list[str], actions_allowed: str, service: str
    ) -> str:
        if account == PUSHER.username:
            scopes = [s for s in scopes if s.split(":")[1] not in self.withheld]
        return super().issue(account, scopes, actions_allowed, service)


@pytest.fixture
def scoped_registry() -> Iterator[tuple[LocalRegistry, ScopedTokenServer]]:
    require_tool("docker-registry", "registry")
    server = ScopedTokenServer(
        users={
            PUSHER.username: (PUSHER.password, "pull,push"),
            READER.username: (READER.password, "pull,push"),
        }
    ).start()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = server.registry_auth_config(Path(tmp) / "signer.pem")
            with LocalRegistry(extra_config=config) as reg:
                yield reg, server
        finally:
            server.stop()


def test_a_mount_whose_token_lacks_pull_on_the_source_falls_back_to_an_upload(
    scoped_registry: tuple[LocalRegistry, ScopedTokenServer],
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    tmp_path: Path,
) -> None:
    """A mount asks for pull on the source (``repository:<from>:pull``, as Hub requires);
    a token server that grants push on the target but nothing on the source makes the
    registry answer 401 insufficient_scope: the blobs are uploaded instead, the copy
    succeeds, and the refused source is not asked again for every blob."""
    registry, server = scoped_registry
    proxy = proxy_for(registry)
    source = make_client(proxy, credentials=READER)
    image = make_image(layer_sizes=(3000, 2000))
    digest = source.push_layout(write_layout(image, tmp_path / "layout"), "team/source")
    server.withheld = frozenset({"team/source"})
    server.clear()
    proxy.reset_counts()
    target = make_client(proxy, credentials=PUSHER)
    ref = Reference(proxy.host, "team/source", digest=digest)
    assert source.copy(ref, target, "team/target", transfers=1) == digest
    asked = [scopes for scopes in server.scopes_requested() if "team/source:pull" in scopes[-1]]
    assert asked[0] == ["repository:team/target:pull,push", "repository:team/source:pull"]
    # Refused once (a try and its one re-authentication), then every blob was uploaded.
    assert len(proxy.mounts()) == 2
    assert all(s.status == 401 for s in proxy.mounts())
    assert sorted(proxy.uploads_by_digest()) == sorted(image.blobs)
    assert target.get_manifest(Reference(proxy.host, "team/target", digest=digest)).body == (
        image.index
    )
