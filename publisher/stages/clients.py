"""The one place registry clients are made, with the run's one retry policy.

A command makes one :class:`ClientFactory` from its environment, its output and
the retry policy resolved at the command-line boundary (flags and
``PUBLISHER_RETRY_*``, see ``RetryPolicy.from_env``), and every stage that talks
to a registry gets its clients from it, so every limit applies everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..adapters.output import Output
from ..adapters.registry import Credentials, RegistryClient, RetryPolicy, credentials_for_host
from ..core.config import Config, Registry
from ..core.reference import Reference
from ..resolve import is_loopback

#: A client with no credentials for a configured registry (anonymous reads).
AnonymousClient = Callable[[Registry], RegistryClient]


@dataclass(frozen=True)
class ClientFactory:
    """Makes this run's registry clients: credentials from ``env`` (or the docker
    config), messages to ``output``, every request under ``retry``."""

    env: Mapping[str, str]
    output: Output
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def configured(self, config: Config) -> dict[str, RegistryClient]:
        """A client per registry of ``config``, by name, with its settings and credentials."""
        return {r.name: self.for_registry(r) for r in config.registries}

    def for_registry(self, registry: Registry) -> RegistryClient:
        """A client for ``registry`` (at whichever repository it names) with its settings
        and credentials."""
        return RegistryClient.for_registry(registry, self.env, self.output, retry=self.retry)

    def for_reference(self, ref: Reference, config: Config | None = None) -> RegistryClient:
        """A client for ``ref``'s registry: a configured registry's settings and credentials
        when one of ``config`` is on that host, else the docker config's (plain HTTP on
        loopback)."""
        for registry in config.registries if config is not None else ():
            if registry.host == ref.domain:
                return RegistryClient.for_registry(
                    registry, self.env, self.output, retry=self.retry
                )
        return self.for_host(ref.domain)

    def for_base(self, config: Config, base: Reference) -> RegistryClient:
        """A read-only client for the registry that serves a base image."""
        plain = config.plain_http_for(base.domain)
        return self.for_host(base.domain, plain_http=plain, name="base")

    def for_host(
        self, host: str, *, plain_http: bool | None = None, name: str | None = None
    ) -> RegistryClient:
        """A client for a host outside matrix.yaml: the docker config's credentials,
        plain HTTP on loopback unless told."""
        return self._client(
            host, plain_http, credentials_for_host(host, self.env, self.output), name
        )

    def anonymous(self, registry: Registry) -> RegistryClient:
        """A client for a configured registry with no credentials at all (not from the
        environment, not from the docker config): what a stranger may read."""
        return self._client(
            registry.host, registry.plain_http, None, f"{registry.name} (anonymous)"
        )

    def anonymous_host(self, host: str, *, plain_http: bool | None = None) -> RegistryClient:
        """A client for ``host`` with no credentials; plain HTTP on loopback unless told."""
        return self._client(host, plain_http, None, None)

    def _client(
        self,
        host: str,
        plain_http: bool | None,
        credentials: Credentials | None,
        name: str | None,
    ) -> RegistryClient:
        return RegistryClient(
            host,
            plain_http=is_loopback(host) if plain_http is None else plain_http,
            credentials=credentials,
            retry=self.retry,
            output=self.output,
            name=name,
        )


__all__ = ["AnonymousClient", "ClientFactory"]
