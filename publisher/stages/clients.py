"""The one place registry clients are made, with the run's one retry policy.

The retry policy is resolved once at the command-line boundary (flags and
``PUBLISHER_RETRY_*``, see ``RetryPolicy.from_env``) and passed here; every
command that talks to a registry gets its clients from these functions, so every
limit applies everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..adapters.output import Output
from ..adapters.registry import RegistryClient, RetryPolicy, credentials_for_host
from ..core.config import Config, Registry
from ..core.reference import Reference
from ..resolve import is_loopback


def registry_clients(
    config: Config, env: Mapping[str, str], output: Output, retry: RetryPolicy
) -> dict[str, RegistryClient]:
    """A client per configured registry, by name."""
    return {
        r.name: RegistryClient.for_registry(r, env, output, retry=retry) for r in config.registries
    }


def client_for(
    ref: Reference,
    env: Mapping[str, str],
    output: Output,
    retry: RetryPolicy,
    config: Config | None = None,
    *,
    name: str | None = None,
) -> RegistryClient:
    """A client for ``ref``'s registry: a configured registry's settings and credentials
    when one is on that host, else plain HTTP on loopback and the docker config."""
    if config is not None:
        for registry in config.registries:
            if registry.host == ref.domain:
                return RegistryClient.for_registry(registry, env, output, retry=retry)
    return host_client(ref.domain, env, output, retry, name=name)


def anonymous_client(
    registry: Registry, *, retry: RetryPolicy | None = None, output: Output | None = None
) -> RegistryClient:
    """A client with no credentials at all (not from the env, not from the docker config)."""
    return anonymous_host_client(
        registry.host,
        plain_http=registry.plain_http,
        retry=retry,
        output=output,
        name=f"{registry.name} (anonymous)",
    )


def anonymous_host_client(
    host: str,
    *,
    plain_http: bool | None = None,
    retry: RetryPolicy | None = None,
    output: Output | None = None,
    name: str | None = None,
) -> RegistryClient:
    """A client for ``host`` with no credentials; plain HTTP on loopback unless told."""
    return RegistryClient(
        host,
        plain_http=is_loopback(host) if plain_http is None else plain_http,
        credentials=None,
        retry=retry,
        output=output,
        name=name,
    )


def base_client(
    config: Config, base: Reference, env: Mapping[str, str], output: Output, retry: RetryPolicy
) -> RegistryClient:
    """A read-only client for the registry that serves a base image."""
    plain = is_loopback(base.domain) or any(
        r.host == base.domain and r.plain_http for r in config.registries
    )
    return host_client(base.domain, env, output, retry, plain_http=plain, name="base")


def host_client(
    host: str,
    env: Mapping[str, str],
    output: Output,
    retry: RetryPolicy,
    *,
    plain_http: bool | None = None,
    name: str | None = None,
) -> RegistryClient:
    """A client for a host outside matrix.yaml: the docker config's credentials, plain
    HTTP on loopback unless told."""
    return RegistryClient(
        host,
        plain_http=is_loopback(host) if plain_http is None else plain_http,
        credentials=credentials_for_host(host, env, output),
        output=output,
        retry=retry,
        name=name,
    )
