"""Registry reads and tag writes several at a time.

Registry latency, not bandwidth, bounds the many small requests of a release
(tag lookups, manifests, blob HEADs): the stages issue them a few at a time
through ``in_parallel``, which keeps the order of its inputs and lets the first
error through, as the sequential loop it replaces would; tag writes go through
``try_each``, which tries every item and says which failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar, cast

from ..adapters.registry import Manifest, RegistryClient
from ..core.errors import PublisherError, RegistryError, TagsNotListedError, threads_limited
from ..core.manifest import VERSION_LABEL, config_labels
from ..core.plan import is_floating_tag, parse_scheme_tag

T = TypeVar("T")
R = TypeVar("R")

#: Registry requests in flight at once for reads and tag writes (the HTTP pool
#: keeps 32 connections per host, so nested calls stay within it).
REQUESTS_IN_FLIGHT = 8


class ByDigest:
    """Reads of content by digest (a manifest, an image's config, whether a manifest or
    a blob is there), each asked once per registry repository in a run: a digest names
    content that cannot change, so the tags, records and indexes naming the same one share
    one answer, also when they ask at the same time. Its error is every asker's (a HEAD
    giving a blob another size than its descriptor's raises DamagedBlobError each time it
    is asked). A tag is never read through it: a tag moves. Made afresh for each pass over
    the registries, so what a repair wrote is read again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[Hashable, Future[Any]] = {}

    def _once(self, key: Hashable, ask: Callable[[], T]) -> T:
        with self._lock:
            answer = self._known.get(key)
            asks = answer is None
            if answer is None:
                answer = self._known[key] = Future()
        if asks:
            try:
                answer.set_result(ask())
            except BaseException as exc:
                answer.set_exception(exc)
                raise
        return cast(T, answer.result())

    def manifest(self, client: RegistryClient, repo: str, digest: str) -> Manifest:
        """``RegistryClient.get_manifest_by_digest``."""
        key = ("manifest", client.transport.base, repo, digest)
        return self._once(key, lambda: client.get_manifest_by_digest(repo, digest))

    def manifest_exists(self, client: RegistryClient, repo: str, digest: str) -> bool:
        """``RegistryClient.manifest_exists``."""
        key = ("manifest?", client.transport.base, repo, digest)
        return self._once(key, lambda: client.manifest_exists(repo, digest))

    def blob_exists(self, client: RegistryClient, repo: str, digest: str, size: int) -> bool:
        """``RegistryClient.blob_exists``: a HEAD giving another size than ``size`` (the
        descriptor's) raises DamagedBlobError."""
        key = ("blob?", client.transport.base, repo, digest)
        return self._once(key, lambda: client.blob_exists(repo, digest, size))

    def config(self, client: RegistryClient, repo: str, image: Manifest) -> dict[str, Any]:
        """``RegistryClient.image_config`` of the image manifest ``image``."""
        assert image.config is not None, "an index has no config"
        key = ("config", client.transport.base, repo, image.config.digest)
        return self._once(key, lambda: client.image_config(repo, image))


def in_parallel(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int = REQUESTS_IN_FLIGHT,
    *,
    first_alone: bool = False,
) -> list[R]:
    """``[fn(x) for x in items]``, several at a time; the first error propagates (the
    items not yet started are then dropped: for reads, whose results are lost anyway).

    ``first_alone``: ``fn(items[0])`` first, then the rest together. For requests to
    one registry: the first learns its authentication (one token, not one per
    request in flight), and a registry that fails every request costs one
    request's retries before its error propagates.
    """
    if first_alone and items:
        return [fn(items[0]), *in_parallel(fn, items[1:], workers)]
    if len(items) <= 1 or workers <= 1:
        return [fn(x) for x in items]
    with threads_limited(), ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def try_each(
    fn: Callable[[T], object], items: Sequence[T], workers: int = REQUESTS_IN_FLIGHT
) -> list[PublisherError | None]:
    """``fn`` on every item, several at a time, even when some fail: each item's error
    (None where it succeeded), in the items' order. For writes: with ``in_parallel``
    the items not yet started when one fails are dropped, and which those are depends
    on timing. Only ``PublisherError`` is caught."""

    def caught(item: T) -> PublisherError | None:
        try:
            fn(item)
        except PublisherError as error:
            return error
        return None

    return in_parallel(caught, items, workers)


def tag_digests(
    client: RegistryClient,
    repo: str,
    tags: Sequence[str],
    expected: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """tag -> digest for the tags present (resolved several at a time); ``expected``: tag
    -> the digest the caller holds it to (``RegistryClient.resolve``)."""
    found = in_parallel(
        lambda tag: client.tag_digests(repo, [tag], expected=expected),
        list(dict.fromkeys(tags)),
    )
    return {tag: digest for one in found for tag, digest in one.items()}


def listed_tags(
    repositories: Sequence[tuple[RegistryClient, str]],
    wanted: Iterable[str] = (),
    *,
    caught: tuple[type[PublisherError], ...] = (),
    tell: Callable[[str], None] | None = None,
    asked: set[int] | None = None,
) -> list[list[str] | PublisherError]:
    """The tags of each repository (a client and its path), listed at the same time, in
    the order given. A registry that does not list tags (``TagsNotListedError``: a
    mirror answering 404 or 405 for the list while it serves every tag by name) is asked
    for ``wanted`` and every tag of the scheme the others list, one by one: a tag is
    never said missing on a list's word; ``tell`` is told so when it holds any. An error
    of ``caught`` takes the place of that repository's tags; any other propagates.
    ``asked`` is given the positions of the repositories whose tags were asked one by one
    (their lists hold only the tags asked: no other run may take them as a listing)."""

    def listing(repository: tuple[RegistryClient, str]) -> list[str] | PublisherError:
        client, path = repository
        try:
            return client.list_tags(path)
        except TagsNotListedError as exc:
            return exc
        except caught as exc:
            return exc

    found = in_parallel(listing, repositories)
    ask = list(
        dict.fromkeys(
            [
                *wanted,
                *sorted(
                    tag
                    for tags in found
                    if isinstance(tags, list)
                    for tag in tags
                    if parse_scheme_tag(tag) is not None or is_floating_tag(tag)
                ),
            ]
        )
    )
    result: list[list[str] | PublisherError] = []
    for position, ((client, path), tags) in enumerate(zip(repositories, found, strict=True)):
        if isinstance(tags, TagsNotListedError):
            if asked is not None:
                asked.add(position)
            unlisted = tags
            try:
                tags = sorted(tag_digests(client, path, ask))
            except caught as exc:
                tags = exc
            if tell is not None and isinstance(tags, list) and tags:
                tell(f"{unlisted.message}: the {len(ask)} tags needed were asked one by one")
        result.append(tags)
    return result


def following_digests(
    client: RegistryClient,
    repo: str,
    tags: Sequence[str],
    follows: Mapping[str, str],
    expected: Mapping[str, str],
) -> dict[str, str]:
    """``tag_digests`` of ``tags``, each floating tag of ``follows`` (-> the pin it should
    carry) held to that pin's digest (read, else ``expected``), and a pin ``expected``
    does not name held to its floating tag's digest when the two differ: a HEAD naming
    other content than the tag it should agree with is confirmed by a hashed GET
    (``RegistryClient.resolve``), so no tag is moved, nor said apart, on a header's word."""
    names = list(dict.fromkeys(tags))
    floating = [t for t in names if t in follows]
    digests = tag_digests(client, repo, [t for t in names if t not in follows], expected)
    held = {
        t: digest
        for t in floating
        if (digest := digests.get(follows[t]) or expected.get(follows[t])) is not None
    }
    digests.update(tag_digests(client, repo, floating, {**expected, **held}))
    doubted: dict[str, str] = {}
    for tag in floating:
        pin = follows[tag]
        if (
            pin in digests
            and pin not in expected
            and digests.get(tag, digests[pin]) != digests[pin]
        ):
            doubted.setdefault(pin, digests[tag])
    digests.update(tag_digests(client, repo, list(doubted), doubted))
    return digests


def holds(client: RegistryClient, path: str, digest: str, *, blob: bool = False) -> bool | None:
    """Whether the repository ``path`` holds the manifest (``blob``: the blob) ``digest``,
    asked while the error of a primary that lost it is made: None when the registry did
    not answer (down, rate-limited, refusing the read), so that its failure does not
    replace the primary's error (it is then not named as holding it)."""
    try:
        if blob:
            return client.blob_exists(path, digest)
        return client.manifest_exists(path, digest)
    except PublisherError:
        return None


def built_as(
    client: RegistryClient, path: str, digest: str, reads: ByDigest | None = None
) -> list[tuple[str, str]] | None:
    """Each image of the index ``digest`` in the repository ``path`` as (its platform, the
    pin it was built as: its version label), in the index's order; an image built before
    the label existed is left out. None when they cannot be read (a registry error).
    ``reads``: the run's reads by digest, shared with its other readers."""
    reads = reads or ByDigest()
    try:
        index = reads.manifest(client, path, digest)
        found = []
        for child in index.children if index.is_index else ():
            if child.is_attestation:
                continue
            image = reads.manifest(client, path, child.digest)
            name = config_labels(reads.config(client, path, image)).get(VERSION_LABEL)
            if name:
                found.append((child.platform or "unknown", name))
    except RegistryError:
        return None
    return found
