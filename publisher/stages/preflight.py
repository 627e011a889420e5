"""Preflight: before any build, prove the release can get through.

1. every target registry answers its API (reachable, credentials accepted);
2. the credentials may push to the target repository (an upload session is
   opened and cancelled: nothing is written);
3. every base image exists, with every platform its line is built for.

It fails fast: the first failure raises its classified error (auth 4, not found
5, rate limited 6, unreachable 7, ...), after the checks that passed were shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..adapters.registry import RegistryClient
from ..core.config import Config, Registry
from ..core.errors import AuthError, NotFoundError
from .clients import ClientFactory


@dataclass(frozen=True)
class Check:
    what: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.what, "result": self.detail}


def base_platforms(client: RegistryClient, path: str, manifest: Any) -> set[str]:
    if manifest.is_index:
        return {c.platform for c in manifest.platform_children if c.platform}
    return set(client.manifest_platform_sizes(path, manifest))


def push_refused(client: RegistryClient, registry: Registry, refused: AuthError) -> AuthError:
    """The error for a refused push check: a scope problem when the account may still pull.

    The credentials were accepted if the same account can list the repository's
    tags; then the password is fine and the account (or its token) lacks push.
    """
    who = client.transport.credentials
    repo = registry.repository
    if who is None or refused.status not in (401, 403):
        return refused
    try:
        client.list_tags(repo.path)
    except AuthError:
        return refused  # it may not pull either: the credentials themselves are refused
    scope = f"repository:{repo.path}:pull,push"
    if client.transport.api_host == "ghcr.io":
        needed = f"{scope}, which a GHCR token gets with write:packages"
    elif client.transport.api_host == "registry-1.docker.io":
        needed = f"{scope}, which a Docker Hub access token gets with Read & Write access"
    else:
        needed = scope
    env = (
        f"{registry.username_env} and {registry.password_env}"
        if registry.username_env and registry.password_env
        else None
    )
    where = f"set {env} (named in matrix.yaml)" if env else f"run `docker login {registry.host}`"
    return AuthError(
        f"{registry.name}: this account ({who.username}, {who.source}) may pull but not push "
        f"to {repo.name} (token scope needed: {needed})",
        registry=registry.host,
        status=refused.status,
        hint=f"give the account push access to {repo.name}, or use one that has it: {where}",
    )


def preflight(
    config: Config,
    clients: ClientFactory,
) -> list[Check]:
    """Run every check in order; return what passed, or raise the first failure."""
    passed: list[Check] = []
    output = clients.output
    registries = clients.configured(config)

    def ok(what: str, detail: str) -> None:
        passed.append(Check(what, detail))
        output.info(f"ok  {what}: {detail}")

    for registry in config.registries:
        client = registries[registry.name]
        repo = registry.repository
        client.ping(repo_path=repo.path)
        who = client.transport.credentials
        ok(
            f"{registry.name} reachable",
            f"{repo.domain} answers the registry API"
            + (f" (as {who.username}, {who.source})" if who else " (anonymous)"),
        )
        try:
            client.check_push(repo.path)
        except AuthError as refused:
            raise push_refused(client, registry, refused) from None
        ok(f"{registry.name} push access", f"may push to {repo.name}")

    cache: dict[str, RegistryClient] = {}
    seen: dict[str, set[str]] = {}
    for line in config.lines:
        ref = config.base_pull_ref(line)
        if ref.domain not in cache:
            cache[ref.domain] = clients.for_reference(ref, config)
        client = cache[ref.domain]
        key = str(ref)
        if key not in seen:
            manifest = client.get_manifest(ref)
            seen[key] = base_platforms(client, ref.path, manifest)
        wanted = [p.value for p in line.platforms]
        absent = [p for p in wanted if p not in seen[key]]
        if absent:
            raise NotFoundError(
                f"base image {ref} of PHP {line.php} has no image for {', '.join(absent)} "
                f"(it has {', '.join(sorted(seen[key])) or 'none'})",
                registry=ref.domain,
                hint="pick a base that is published for every configured platform, or limit "
                "the line's platforms in matrix.yaml",
            )
        ok(f"PHP {line.php} base", f"{ref} has {', '.join(wanted)}")
    return passed
