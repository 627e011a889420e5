"""A registry client on plain data, for unit tests of the stages: it opens no socket.

``FakeRegistryClient`` answers what the stages ask a ``RegistryClient``: manifests
by digest (``manifests``), whether a blob exists (``present``), a repository's tags
(``tags``, or the error ``listing`` raises). Its ``transport`` is a real
``Transport`` for ``host`` and ``credentials`` (it connects only when asked to
send, which this client never does), so host and credential logic stay real.
"""

from __future__ import annotations

from collections.abc import Iterable

from publisher.adapters.registry import Credentials, Manifest
from publisher.adapters.registry.transport import Transport


class FakeRegistryClient:
    def __init__(
        self,
        host: str = "registry.test",
        *,
        credentials: Credentials | None = None,
        manifests: Iterable[Manifest] = (),
        present: Iterable[str] = (),
        tags: Iterable[str] = ("v1",),
        listing: Exception | None = None,
    ) -> None:
        self.transport = Transport(host, credentials=credentials)
        self.manifests = {m.digest: m for m in manifests}
        self.present = set(present)
        self.tags = list(tags)
        self.listing = listing

    def list_tags(self, repo_path: str) -> list[str]:
        if self.listing is not None:
            raise self.listing
        return list(self.tags)

    def get_manifest_by_digest(self, repo_path: str, digest: str) -> Manifest:
        return self.manifests[digest]

    def blob_exists(self, repo_path: str, digest: str, size: int | None = None) -> bool:
        return digest in self.present

    def manifest_platform_sizes(self, repo_path: str, manifest: Manifest) -> dict[str, int]:
        return {"linux/amd64": manifest.compressed_size}
