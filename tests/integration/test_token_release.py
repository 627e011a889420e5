"""A whole release through the CLI to a registry that authenticates as Docker Hub and
GHCR do: bearer tokens from a token server, short-lived, scoped per repository.

The first registry is open; the second asks the token server (tokens that last one
second, so a release outlives several of them); the credentials come from the docker
config, as on a maintainer's machine. The images are STAND-INs built from publisher's
busybox stand-in bases, not PHP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.stages import standins
from tests.conftest import require_tool
from tests.integration.conftest import PUSHER, PUSHER_PASSWORD, READER, READER_PASSWORD
from tests.support.builds import quiet_runner
from tests.support.pipeline import Stack, skopeo_tag_map
from tests.support.tokenserver import TokenServer

pytestmark = pytest.mark.integration

LINES = ("8.4",)


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    server = TokenServer(
        users={PUSHER: (PUSHER_PASSWORD, "pull,push"), READER: (READER_PASSWORD, "pull")},
        anonymous_actions="pull",
        lifetime=1,
    ).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_release_to_a_token_registry_with_short_tokens_is_complete_and_leaks_nothing(
    tmp_path: Path, token_server: TokenServer
) -> None:
    skopeo = require_tool("skopeo")
    require_tool("buildah")
    require_tool("docker-registry", "registry")
    auth = token_server.registry_auth_config(tmp_path / "signer.pem")
    with (
        LocalRegistry() as bases,
        LocalRegistry() as hub,
        LocalRegistry(extra_config=auth) as ghcr,
    ):
        standins.push_standins(bases.host, runner=quiet_runner(), lines=LINES)
        docker = tmp_path / "docker"
        docker.mkdir()
        login = base64.b64encode(f"{PUSHER}:{PUSHER_PASSWORD}".encode()).decode()
        (docker / "config.json").write_text(
            json.dumps({"auths": {ghcr.host: {"auth": login}}}), encoding="utf-8"
        )
        env = {"DOCKER_CONFIG": str(docker), "PUBLISHER_PLATFORMS": "linux/amd64"}
        stack = Stack(
            tmp_path / "s", hub.host, ghcr.host, bases.host, "acme/php-fpm", LINES, env=env
        )
        first = stack.release("v1.0.0", "--no-smoke")
        hub_tags = skopeo_tag_map(skopeo, hub.host, stack.repo)
        ghcr_tags = skopeo_tag_map(skopeo, ghcr.host, stack.repo)  # anonymous pull
        assert ghcr_tags == hub_tags, (hub_tags, ghcr_tags)
        assert {"v1.0.0", "v1.0.0-php-8.4", "php-8.4", "latest"} <= set(hub_tags)
        assert hub_tags["latest"] == stack.index_digests("v1.0.0")["8.4"]
        # the pushes asked for push on this repository only, with the pusher's password
        pushes = [r for r in token_server.requests if r.account == PUSHER]
        assert pushes and all(
            scope in (f"repository:{stack.repo}:pull,push", f"repository:{stack.repo}:pull")
            for request in pushes
            for scope in request.scopes
        ), [r.scopes for r in pushes]
        # a rerun, a verify and an anonymous check all pass, with tokens long expired
        again = stack.release("v1.0.0", "--no-smoke")
        assert skopeo_tag_map(skopeo, ghcr.host, stack.repo) == ghcr_tags
        verified = stack.ok("verify", "v1.0.0", "--notes-dir", str(stack.notes_dir))
        public = stack.ok("check-public", "v1.0.0", "--notes-dir", str(stack.notes_dir))
        for result in (first, again, verified, public):
            said = result.stdout + result.stderr
            assert PUSHER_PASSWORD not in said and "Bearer " not in said
        notes = b"".join(p.read_bytes() for p in stack.notes_dir.iterdir())
        assert PUSHER_PASSWORD.encode() not in notes
