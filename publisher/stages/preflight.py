"""Preflight: before any build, prove the release can get through.

1. every target registry answers its API (reachable, credentials accepted);
2. the credentials may push to the target repository (an upload session is
   opened and cancelled: nothing is written);
3. every base image exists, with every platform its line is built for.

It fails fast: the first failure raises its classified error (auth 4, not found
5, rate limited 6, unreachable 7, ...), after the checks that passed were shown;
the failed check, named, ends the list of checks (``--json`` prints them all).
The bases are read several at a time (the first alone), then checked in the
lines' order: the first line whose base fails is the one reported.
A base pulled through the mirror (PUBLISHER_BASE_MIRROR) is named as the PHP
line's base via the mirror, whichever registry client reached it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from ..adapters import network
from ..adapters.registry import RegistryClient
from ..core.config import Config, Line, Registry, https_only
from ..core.errors import (
    AuthError,
    DeniedError,
    NotFoundError,
    PublisherError,
    TagsNotListedError,
    shown_path,
)
from ..core.locations import Locations
from ..core.manifest import Manifest
from ..core.reference import Reference
from ..resolve import is_loopback
from .build import base_gone_hint, base_named, mirror_tip
from .clients import ClientFactory
from .inspect import index_entries
from .parallel import in_parallel


@dataclass(frozen=True)
class Check:
    what: str
    detail: str
    #: None: passed; else the exit code of the failure ``detail`` describes
    failed: int | None = None

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "check": self.what,
            "ok": self.failed is None,
            "result": self.detail,
        }
        if self.failed is not None:
            result["exit_code"] = self.failed
        return result


def base_platforms(client: RegistryClient, path: str, manifest: Manifest) -> set[str]:
    """The platforms a base has an image for, through nested indexes (``index_entries``)."""
    if not manifest.is_index:
        return set(client.manifest_platform_sizes(path, manifest))
    return {
        entry.platform
        for entry in index_entries(client, path, manifest)
        if entry.platform and not entry.is_attestation
    }


def push_refused(client: RegistryClient, registry: Registry, refused: AuthError) -> AuthError:
    """The error for a refused push check: a scope problem when the account may still pull.

    The credentials were accepted if the same account can list the repository's
    tags; then the password is fine and the account (or its token) lacks push.
    """
    who = client.transport.credentials
    repo = registry.repository
    if who is None or refused.status not in (401, 403):
        return refused
    if isinstance(refused, DeniedError) and refused.policy is not None:
        return refused  # a rule of the registry (a quota), not the account's rights
    try:
        client.list_tags(repo.path)
    except AuthError:
        return refused  # it may not pull either: the credentials themselves are refused
    except TagsNotListedError:
        pass  # it answered for the repository (a mirror that does not list tags)
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
    checks: list[Check] | None = None,
    locations: Locations | None = None,
) -> list[Check]:
    """Run every check in order; return what passed, or raise the first failure.

    ``checks`` (when given) receives each check as it passes and, on a failure,
    the failed one (``failed``: its exit code) before the error is raised.
    ``locations``: the run's, which the commands its tips name carry.
    """
    passed: list[Check] = [] if checks is None else checks
    output = clients.output
    current = ""

    def ok(what: str, detail: str) -> None:
        passed.append(Check(what, detail))
        output.info(f"ok  {what}: {detail}")

    try:
        registries = clients.configured(config)
        for registry in config.registries:
            client = registries[registry.name]
            repo = registry.repository
            current = f"{registry.name} reachable"
            client.ping(repo_path=repo.path)
            who = client.transport.credentials
            ok(
                current,
                f"{repo.domain} answers the registry API"
                + (f" (as {who.username}, {who.source})" if who else " (anonymous)"),
            )
            current = f"{registry.name} push access"
            try:
                client.check_push(repo.path)
            except AuthError as refused:
                raise push_refused(client, registry, refused) from None
            ok(current, f"may push to {repo.name}")

        refs = [config.base_pull_ref(line) for line in config.lines]
        found = _read_bases(refs, clients, config)
        for line, ref in zip(config.lines, refs, strict=True):
            current = f"PHP {line.php} base"
            platforms = found[str(ref)]
            if isinstance(platforms, _Unread):
                raise platforms.error
            if isinstance(platforms, tuple):
                client, exc = platforms
                raise _as_base(exc, client, line, ref, config, clients, locations) from None
            wanted = [p.value for p in line.platforms]
            absent = [p for p in wanted if p not in platforms]
            if absent:
                raise NotFoundError(
                    f"{base_named(config, line, ref)} has no image for {', '.join(absent)} "
                    f"(it has {', '.join(sorted(platforms)) or 'none'})",
                    registry=ref.domain,
                    hint="pick a base that is published for every configured platform, or "
                    "limit the line's platforms in matrix.yaml",
                )
            ok(current, f"{ref} has {', '.join(wanted)}")
    except PublisherError as exc:
        passed.append(Check(current or "configuration", exc.message, exc.exit_code))
        raise
    return passed


def ca_warning(config: Config, env: Mapping[str, str]) -> str | None:
    """The warning for a release whose buildah (the buildah builder pulling a base, the
    buildah smoke test pulling from the primary) would trust other CAs than publisher's
    own client, which preflight checks the registries with: a registry whose CA only the
    client trusts passes preflight, and the release fails at the smoke test, after its
    push. Only a registry of one's own counts (over TLS, neither loopback nor Docker Hub
    nor GHCR); None when there is none, or both read the same bundle."""
    primary = config.primary
    hosts = [primary.host] if not primary.plain_http else []
    hosts += [config.base_pull_ref(line).domain for line in config.lines]
    private = list(dict.fromkeys(h for h in hosts if not is_loopback(h) and not https_only(h)))
    other = network.tools_trust_others(env) if private else None
    if other is None:
        return None
    name, value, theirs = other
    return (
        f"publisher's client trusts the CAs in {name} ({shown_path(value)}), and buildah and "
        f"skopeo, which reach {', '.join(private)} in a release (a base's pull, the smoke "
        f"test's), those in {theirs}: a registry whose CA is in one of them only passes "
        "preflight, and the release fails at the smoke test after its push; set SSL_CERT_FILE "
        f"to the bundle {name} names (README, Private certificate authorities)"
    )


@dataclass(frozen=True)
class _Unread:
    """A base whose registry client could not be made (its credentials, say)."""

    error: PublisherError


def _read_bases(
    refs: list[Reference], clients: ClientFactory, config: Config
) -> dict[str, set[str] | tuple[RegistryClient, PublisherError] | _Unread]:
    """Each base's platforms, or what failed reading it, by reference.

    Several are read at a time; the first alone (it learns the registry's token, and
    a registry that fails it decides the check): when it fails, the rest are not read,
    as the first failure in order is the one preflight reports.
    """
    made: dict[str, RegistryClient | _Unread] = {}
    for ref in refs:
        if ref.domain not in made:
            try:
                made[ref.domain] = clients.for_reference(ref, config)
            except PublisherError as exc:
                made[ref.domain] = _Unread(exc)
    unique = list({str(ref): ref for ref in refs}.values())

    def read(ref: Reference) -> set[str] | tuple[RegistryClient, PublisherError] | _Unread:
        client = made[ref.domain]
        if isinstance(client, _Unread):
            return client
        try:
            return base_platforms(client, ref.path, client.get_manifest(ref))
        except PublisherError as exc:
            return client, exc

    results = [read(unique[0])] if unique else []
    if results and isinstance(results[0], set):
        results += in_parallel(read, unique[1:])
    return {str(ref): result for ref, result in zip(unique, results, strict=False)}


def _as_base(
    exc: PublisherError,
    client: RegistryClient,
    line: Line,
    ref: Reference,
    config: Config,
    clients: ClientFactory,
    locations: Locations | None = None,
) -> PublisherError:
    """``exc`` (met reading ``ref``, the base of ``line``) named as that base: through the
    mirror it is the mirror's copy of the line's base, whichever registry's client read it
    (``base_named``, ``mirror_tip``). A base whose tag is gone gets the tip a release gives
    (``base_gone_hint``)."""
    message = exc.message
    label = f"{client.transport.label}: "
    if message.startswith(label):
        message = message[len(label) :]
    renamed = copy.copy(exc)
    renamed.message = f"{base_named(config, line, ref)}: {message}"
    renamed.args = (renamed.message,)
    renamed.hint = mirror_tip(
        config, line, base_gone_hint(exc, ref, config, line.php, clients, locations)
    )
    return renamed
