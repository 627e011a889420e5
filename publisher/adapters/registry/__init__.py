"""The registry layer: an OCI distribution client for publishing (requests underneath).

Public API (import from ``publisher.adapters.registry``)::

    Credentials(username, password)              # repr never shows the password
    credentials_for(registry, env, output)       # env vars from matrix.yaml, else docker config, else None
    credentials_for_host(host, env, output)      # the same for a host outside matrix.yaml (base images)
    RetryPolicy(attempts=5, initial_delay=0.5, max_delay=20.0, total_timeout=120.0, sleep=time.sleep)

    client = RegistryClient.for_registry(cfg.primary, env, output)   # or RegistryClient(host, ...)
    client.resolve(ref, expected=None) -> digest  # HEAD, GET fallback; NotFoundError (repo/tag/digest)
                                                  # a HEAD naming another digest than expected:
                                                  # a hashed GET confirms it (or InvalidResponseError)
    client.get_manifest(ref) -> Manifest          # sha256(body) verified; <= 4 MiB
    client.get_manifest_by_digest(repo_path, digest) -> Manifest
    client.manifest_exists(repo_path, digest) -> bool
    client.list_tags(repo_path) -> list[str]      # all pages; [] when the repository is missing;
                                                  # TagsNotListedError when the list is not served
    client.tag_digests(repo_path, tags=None, expected=None) -> {tag: digest}   # missing tags left out
    client.blob_exists(repo_path, digest) -> bool
    client.get_blob(repo_path, digest) -> bytes   # small blobs (configs), verified
    client.image_config(repo_path, manifest) -> dict
    client.labels(repo_path, manifest) -> {label: value}   # the image config's Labels
    client.parse_config(digest, body) -> dict     # a config blob already read
    client.push_blob(repo_path, digest, data: bytes | Path) -> bool   # False when it existed
    client.mount_blob(repo_path, digest, from_repo) -> Mount          # .mounted (201), else
                                                  # .session: the upload session of its 202
    client.upload(repo_path, digest, size, data, what=None, session=None) -> bool
                                                  # retried; data: bytes, a file or an opener of
                                                  # chunks (open_blob); False when a retry found
                                                  # it stored; session: a mount's, for attempt 1
    client.put_manifest(repo_path, body, media_type, tag=None) -> digest   # verifies Docker-Content-Digest
    client.push_layout(layout_dir, repo_path) -> digest   # OCI layout, pushed by digest, no tag
    client.copy(src_ref_with_digest, dst_client, dst_repo_path) -> digest  # identical digest
    client.open_blob(repo_path, digest, size)     # context: chunks as they arrive, hashed on the way

    transfer.Transfers(workers=6).copy(src_client, src_repo, [(client, repo), ...], [digest, ...])
                                                  # each blob downloaded once, uploaded once per
                                                  # registry, in parallel; returns the TransferPlan
                                                  # copy = observe (reads, HEADs) + plan + execute;
                                                  # the plan is pure: core.transfer_plan.plan_transfers
    client.tag(repo_path, digest, tag)            # manifest GET by digest + PUT under tag; no blobs
    client.delete_manifest(repo_path, digest)
    client.platform_sizes(ref) -> {"linux/amd64": bytes}   # config + layers; attestations excluded
    client.ping()                                 # GET /v2/

    Manifest.parse(body, media_type, digest)      # .is_index .children .platform_children
                                                  # .attestations .config .layers .blobs .compressed_size
    Descriptor(media_type, digest, size, platform, annotations)   # .is_attestation
    build_index(children, annotations) -> (body, media_type)   # pure, deterministic OCI index bytes
    index_annotations([labels, ...]) -> {key: value}   # the OCI labels all images share
    descriptor_for(manifest, platform) -> Descriptor

``repo_path`` is the repository path on the host (``acme/php-fpm``), as in
``config.Registry.repository.path``. Every failure is a ``publisher.core.errors``
class: AuthError (4), NotFoundError (5), RateLimitedError (6), UnreachableError
(7), InvalidResponseError (8), RegistryError (9).
"""

from __future__ import annotations

from ...core.manifest import (
    ACCEPT,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    IMAGE_TYPES,
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    build_index,
    config_labels,
    descriptor_for,
    index_annotations,
    platform_key,
    sha256_digest,
)
from ...core.retry import RetryPolicy
from .client import RegistryClient
from .credentials import Credentials, api_host, credentials_for, credentials_for_host

__all__ = [
    "ACCEPT",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "IMAGE_TYPES",
    "INDEX_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Credentials",
    "Descriptor",
    "Manifest",
    "RegistryClient",
    "RetryPolicy",
    "api_host",
    "build_index",
    "config_labels",
    "credentials_for",
    "credentials_for_host",
    "descriptor_for",
    "index_annotations",
    "platform_key",
    "sha256_digest",
]
