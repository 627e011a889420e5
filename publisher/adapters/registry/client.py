"""The registry client: what a release needs from an OCI registry, nothing more.

Every method maps failures to ``publisher.core.errors`` classes; see ``transport``.
Manifests are always verified against their digest and read with a size cap;
blobs are uploaded once (HEAD first, a cross-repository mount within one
registry), children before their index, and tags only ever by manifest PUT.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ...core.errors import (
    AuthError,
    CommandError,
    DamagedBlobError,
    InvalidResponseError,
    NotFoundError,
    PublisherError,
    TagsNotListedError,
    clip,
    shown_field,
)
from ...core.manifest import (
    ACCEPT,
    MANIFEST_HINT,
    MANIFEST_TYPES,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Manifest,
    config_labels,
    sha256_digest,
)
from ...core.reference import Reference
from ...core.retry import RetryPolicy
from ...resolve import (  # the bounds of a tag list, resolve's too
    MAX_TAG_PAGES,
    MAX_TAGS,
    UNKNOWN_PLATFORM,
    is_digest,
    platform_key,
)
from .credentials import Credentials, credentials_for
from .transport import (
    ALTERED_HINT,
    MALFORMED_HINT,
    Reply,
    SizedBody,
    Transient,
    Transport,
    file_chunks,
    pull_scope,
    push_scope,
)

if TYPE_CHECKING:
    from ...core.config import Registry
    from ..output import Output

#: Largest config blob we read (image configs are a few KiB).
MAX_CONFIG_BLOB = 4 * 1024 * 1024
#: Largest single tags/list page.
MAX_TAGS_PAGE = 4 * 1024 * 1024
TAGS_PAGE_SIZE = 1000
#: Blobs larger than this go up in PATCH requests of this size where the registry allows.
UPLOAD_CHUNK = 64 * 1024 * 1024


#: How many times ``RegistryClient.confirm`` reads a tag again whose HEAD and GET name
#: different content before it calls the registry a liar: a tag another release moves
#: meanwhile agrees on the next read.
CONFIRM_ROUNDS = 3

#: The tip for a blob a registry holds with another size than its descriptor's.
DAMAGED_BLOB_HINT = (
    "the registry holds a damaged copy of the blob (cut short in its storage), or a proxy "
    "in front of it alters the blob's headers; an upload does not replace a blob a "
    "registry holds (the distribution registry keeps its copy and answers the upload "
    "201): delete the blob there (`DELETE /v2/REPOSITORY/blobs/DIGEST` where the registry "
    "allows deletes, else its operator removes it from the storage), then copy the image "
    "again by digest from a registry that holds it complete (`skopeo copy --all "
    "--preserve-digests`), and rerun"
)


class RegistryClient:
    """A client for one registry host. Thread-safe for concurrent operations.

    ``host`` is the registry as written in references (``docker.io``,
    ``ghcr.io``, ``127.0.0.1:5000``); Docker Hub's API host is used automatically.
    Repository paths are relative to the host (``acme/php-fpm``).
    """

    def __init__(
        self,
        host: str,
        *,
        plain_http: bool = False,
        credentials: Credentials | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        output: Output | None = None,
        name: str | None = None,
        username_env: str | None = None,
        password_env: str | None = None,
    ) -> None:
        retry = retry or RetryPolicy()
        self.transport = Transport(
            host,
            plain_http=plain_http,
            credentials=credentials,
            retry=retry,
            # each request's time for its answer: the run's (PUBLISHER_REQUEST_TIMEOUT)
            timeout=retry.request_timeout if timeout is None else timeout,
            output=output,
            name=name,
            username_env=username_env,
            password_env=password_env,
        )
        self.host = host
        self.tags_page_size = TAGS_PAGE_SIZE
        self.upload_chunk = UPLOAD_CHUNK
        #: Repositories a mount may not read from (the token lacks pull there): not asked again.
        self._unmountable: set[str] = set()

    @classmethod
    def for_registry(
        cls,
        registry: Registry,
        env: Mapping[str, str],
        output: Output | None = None,
        **kwargs: Any,
    ) -> RegistryClient:
        """A client for a configured registry: host, plain HTTP and credentials from config."""
        if "credentials" not in kwargs:
            kwargs["credentials"] = credentials_for(registry, env, output)
        return cls(
            registry.host,
            plain_http=registry.plain_http,
            output=output,
            name=registry.name,
            username_env=registry.username_env,
            password_env=registry.password_env,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"RegistryClient({self.label!r}, plain_http={self.transport.plain_http})"

    @property
    def label(self) -> str:
        return self.transport.label

    def same_registry(self, other: RegistryClient) -> bool:
        return self.transport.base == other.transport.base

    def _ref_text(self, repo_path: str, reference: str | None = None) -> str:
        text = f"{self.host}/{repo_path}"
        if reference:
            text += ("@" if reference.startswith("sha256:") else ":") + reference
        return text

    def _check_ref(self, ref: Reference) -> None:
        if ref.domain != self.host:
            raise ValueError(f"{ref} is not on {self.host}")

    def _request(
        self,
        method: str,
        repo_path: str,
        path: str,
        *,
        what: str,
        scopes: list[str] | None = None,
        once: bool = False,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> Reply:
        """``method`` on ``/v2/<repo_path>/<path>``: reads with the pull scope, writes with
        push (unless ``scopes`` says), under the retry policy unless ``once`` (a step of
        an operation that is retried as a whole), with at most ``attempts`` tries when given."""
        if scopes is None:
            read = method in ("GET", "HEAD")
            scopes = [pull_scope(repo_path) if read else push_scope(repo_path)]
        url = self.transport.url(f"/v2/{repo_path}/{path}")
        if once:
            return self.transport.send(method, url, scopes=scopes, what=what, **kwargs)
        return self.transport.request(
            method, url, scopes=scopes, what=what, attempts=attempts, **kwargs
        )

    def _manifest_request(
        self, method: str, repo_path: str, reference: str, **kwargs: Any
    ) -> Reply:
        """``method`` on a manifest; reads ask for every manifest type we parse."""
        if method in ("GET", "HEAD"):
            kwargs["headers"] = {"Accept": ACCEPT}
        what = f"{method} manifest {self._ref_text(repo_path, reference)}"
        return self._request(method, repo_path, f"manifests/{reference}", what=what, **kwargs)

    def _tags_page(
        self,
        repo_path: str,
        url: str,
        params: Mapping[str, str] | None,
        *,
        attempts: int | None = None,
    ) -> Reply:
        return self.transport.request(
            "GET",
            url,
            scopes=[pull_scope(repo_path)],
            what=f"list tags of {self._ref_text(repo_path)}",
            accept=(200, 404, 405, 501),
            params=params,
            limit=MAX_TAGS_PAGE,
            attempts=attempts,
        )

    # -------------------------------------------------------------- reading

    def ping(self, *, repo_path: str | None = None) -> None:
        """Check that the registry answers the API (GET /v2/), authenticating if asked."""
        scopes = [pull_scope(repo_path)] if repo_path else []
        self.transport.request(
            "GET",
            self.transport.url("/v2/"),
            scopes=scopes,
            what="API check (GET /v2/)",
            limit=MAX_TAGS_PAGE,
        )

    def _not_found(
        self, repo_path: str, reference: str, reply: Reply | None, *, attempts: int | None = None
    ) -> NotFoundError:
        """Say whether the repository, the tag or the digest is missing; the repository's
        lookup in at most ``attempts`` tries when given (a side lookup's 404: 1, as the
        request it follows)."""
        codes = reply.error_codes if reply else ()
        repo_missing = "NAME_UNKNOWN" in codes
        unsure = False
        if not repo_missing:
            try:
                repo_missing = not self._repository_exists(repo_path, attempts=attempts)
            except NotFoundError:
                repo_missing = True
            except InvalidResponseError:
                raise  # an answer it cannot take (too large) is said as such, never "unsure"
            except PublisherError:
                unsure = True  # e.g. listing tags needs more access than reading a manifest
        if repo_missing:
            error = self.transport.error(
                NotFoundError,
                f"repository {self.host}/{repo_path} not found",
                status=404,
                hint="check the repository name (and namespace); private repositories "
                "also look missing without credentials",
            )
            error.missing = "repository"
            return error
        if reference.startswith("sha256:"):
            error = self.transport.error(
                NotFoundError,
                f"digest {reference} not found in {self.host}/{repo_path}",
                status=404,
                hint="the content was deleted or never pushed to this registry: check the "
                "digest, or push the image there again",
            )
            error.missing = None if unsure else "digest"
            return error
        maybe = " (or the repository does not exist)" if unsure else ""
        error = self.transport.error(
            NotFoundError,
            f"tag {reference!r} not found in {self.host}/{repo_path}{maybe}",
            status=404,
            hint="list the tags that exist with `skopeo list-tags "
            # a registry reached over plain HTTP: skopeo, as printed, would ask it for HTTPS
            + ("--tls-verify=false " if self.transport.plain_http else "")
            + f"docker://{self.host}/{repo_path}`",
        )
        error.missing = None if unsure else "tag"
        return error

    def _repository_exists(self, repo_path: str, *, attempts: int | None = None) -> bool:
        """Whether the registry lists the repository's tags (a tag list that is no list
        of tags, not JSON or too large, is an invalid answer, never a repository there)."""
        url = self.transport.url(f"/v2/{repo_path}/tags/list")
        reply = self._tags_page(repo_path, url, {"n": "1"}, attempts=attempts)
        if not self._listed(reply, repo_path):
            return False
        self._tag_names(reply, repo_path)
        return True

    def _listed(self, reply: Reply, repo_path: str) -> bool:
        """Whether a tag-list answer lists tags: False for a repository the registry says
        it does not know (404 NAME_UNKNOWN); TagsNotListedError when it answers for the
        list without listing it (another 404, 405, 501), as a mirror that serves every
        tag by name may: a tag is then never said missing on the list's word."""
        if reply.status == 200:
            return True
        if reply.status == 404 and "NAME_UNKNOWN" in reply.error_codes:
            return False
        raise self.transport.error(
            TagsNotListedError,
            f"the registry does not list the tags of {repo_path} "
            f"(GET /v2/{repo_path}/tags/list answered HTTP {reply.status})",
            status=reply.status,
            hint="the tags a command needs are asked one by one there",
        )

    def resolve(
        self, ref: Reference, *, attempts: int | None = None, expected: str | None = None
    ) -> str:
        """The manifest digest ``ref`` points at, from a HEAD's Docker-Content-Digest (a
        HEAD counts against no pull quota). ``attempts``: at most so many tries of each
        request when given (a side lookup: 1): the HEAD, the GET read in its place, and
        after a 404 the lookup of whether the repository is there. A GET whose body is
        hashed says it when the HEAD gives no digest, and, given ``expected`` (the digest
        the caller holds the tag to), when the HEAD names another: a tag is never said to
        point elsewhere on a header's word.

        Raises NotFoundError saying whether the repository, tag or digest is missing;
        InvalidResponseError when the HEAD named other content than the GET serves.
        """
        self._check_ref(ref)
        reference = ref.digest or ref.tag or "latest"
        reply = self._manifest_request(
            "HEAD",
            ref.path,
            reference,
            accept=(200, 404, 405, 501),  # some registries do not implement HEAD: GET then
            attempts=attempts,
        )
        if reply.status == 404:
            raise self._not_found(ref.path, reference, reply, attempts=attempts)
        if reply.status != 200:
            return self.get_manifest(ref, attempts=attempts).digest
        digest = reply.header("Docker-Content-Digest")
        if ref.digest:
            # a digest in another algorithm (sha512) names the content another way: no lie
            if digest and digest.startswith("sha256:") and digest != ref.digest:
                raise self.transport.error(
                    InvalidResponseError,
                    f"asked for {ref.digest} but the registry answered for {shown_field(digest)}",
                    hint=ALTERED_HINT,
                )
            return ref.digest
        if not (digest and is_digest(digest)):
            return self.get_manifest(ref, attempts=attempts).digest
        if expected is None or digest == expected:
            return digest
        return self.confirm(ref, digest)

    def confirm(self, ref: Reference, said: str) -> str:
        """``said``, the digest a HEAD of the tag ``ref`` named, once a GET of the tag
        whose body is hashed agrees: a verdict drawn from a HEAD alone is confirmed so.

        A tag can move between the HEAD and the GET (another release writing it): when
        the body hashes to another digest, the tag is asked again, at most
        ``CONFIRM_ROUNDS`` times; a HEAD now naming what the GET served is a move, and
        that digest is returned.

        Raises InvalidResponseError when the HEAD keeps naming other content than the
        GET serves (the registry, or a proxy in front of it, names other content than it
        serves).
        """
        hashed = self.get_manifest(ref).digest
        for _ in range(CONFIRM_ROUNDS):
            if hashed == said:
                return hashed
            again = self.resolve(ref)  # a HEAD: did the tag move meanwhile?
            if again == hashed:
                return hashed
            if again == said:
                break  # the HEAD still names what the GET does not serve
            said, hashed = again, self.get_manifest(ref).digest  # still moving: once more
        if hashed == said:
            return hashed
        raise self.transport.error(
            InvalidResponseError,
            f"the HEAD of {self._ref_text(ref.path, ref.tag or 'latest')} says {said} "
            f"but its manifest body hashes to {hashed}; refusing it",
            hint=ALTERED_HINT,
        )

    def get_manifest(self, ref: Reference, *, attempts: int | None = None) -> Manifest:
        """Fetch a manifest or index; sha256(body) must equal the digest (at most 4 MiB).
        ``attempts``: at most so many tries (a side lookup: 1), of the GET and, after a
        404, of the lookup of whether the repository is there."""
        self._check_ref(ref)
        return self._get_manifest(ref.path, ref.digest or ref.tag or "latest", attempts=attempts)

    def get_manifest_by_digest(
        self, repo_path: str, digest: str, *, attempts: int | None = None
    ) -> Manifest:
        return self._get_manifest(repo_path, digest, attempts=attempts)

    def _get_manifest(
        self, repo_path: str, reference: str, *, attempts: int | None = None
    ) -> Manifest:
        reply = self._manifest_request(
            "GET",
            repo_path,
            reference,
            accept=(200, 404),
            limit=MAX_MANIFEST_BYTES,
            attempts=attempts,
        )
        if reply.status == 404:
            raise self._not_found(repo_path, reference, reply, attempts=attempts)
        return self._parse_manifest(reply, repo_path, reference)

    def _parse_manifest(self, reply: Reply, repo_path: str, reference: str) -> Manifest:
        where = self._ref_text(repo_path, reference)
        expected = reference if reference.startswith("sha256:") else None
        header = reply.header("Docker-Content-Digest")
        actual = sha256_digest(reply.body)
        if expected and actual != expected:
            raise self.transport.error(
                InvalidResponseError,
                f"the manifest body for {where} does not match its digest "
                f"(got {actual}); refusing it",
                hint=ALTERED_HINT,
            )
        if header and is_digest(header) and header != actual:
            raise self.transport.error(
                InvalidResponseError,
                f"the manifest body for {where} hashes to {actual} but the registry "
                f"says {header}; refusing it",
                hint=ALTERED_HINT,
            )
        try:
            return Manifest.parse(reply.body, reply.header("Content-Type"))
        except InvalidResponseError as exc:
            raise self.transport.error(
                InvalidResponseError, f"{where}: {exc.message}", hint=exc.hint
            ) from None

    def manifest_exists(self, repo_path: str, digest: str) -> bool:
        reply = self._manifest_request("HEAD", repo_path, digest, accept=(200, 404))
        return reply.status == 200

    def list_tags(self, repo_path: str) -> list[str]:
        """Every tag of the repository (all pages); ``[]`` when the repository is missing
        (404 NAME_UNKNOWN); TagsNotListedError when the registry does not list tags."""
        tags: set[str] = set()
        url: str | None = self.transport.url(f"/v2/{repo_path}/tags/list?n={self.tags_page_size}")
        read: set[str] = set()  # the pages' URLs, to refuse a Link back to one of them
        count = 0
        while url:
            if len(read) >= MAX_TAG_PAGES:
                raise self.transport.error(
                    InvalidResponseError,
                    f"more than {MAX_TAG_PAGES} pages of tags for {repo_path}",
                    hint="the registry kept linking to a next page: check that it is not "
                    "sending the same page over (its Link header), or ask its operator",
                )
            read.add(url)
            reply = self._tags_page(repo_path, url, None)
            if not self._listed(reply, repo_path):
                return []
            page = self._tag_names(reply, repo_path)
            count += len(page)
            if count > MAX_TAGS:
                raise self.transport.error(
                    InvalidResponseError,
                    f"the tag list of {repo_path} holds more than {MAX_TAGS} tags "
                    f"({count} in the {len(read)} page{'s' if len(read) > 1 else ''} read), "
                    "the most publisher reads of one repository",
                    hint="no repository publisher writes holds that many tags: check that the "
                    "host is a container registry (not a proxy that rewrites its answers) and "
                    "that the repository is this project's, or ask the registry's operator",
                )
            tags.update(page)
            url = self.transport.next_link(reply, repo_path)
            if url is not None and url in read:
                again = urlsplit(url)
                page_url = again.path + (f"?{again.query}" if again.query else "")
                raise self.transport.error(
                    InvalidResponseError,
                    f"the tag list of {repo_path} loops: page {len(read)} links back to a "
                    f"page already read ({shown_field(clip(self.transport.clean(page_url), 120))}); refusing to "
                    "follow it",
                    hint="the registry's Link header leads back to a page it already sent: "
                    "ask its operator, or check the proxy in front of it",
                )
        return sorted(tags)

    def _tag_names(self, reply: Reply, repo_path: str) -> list[str]:
        """The tag names of one page of the tag list; InvalidResponseError when it is not
        JSON or not a list of names."""
        try:
            data = json.loads(reply.body)
            page = data.get("tags") or []
        except (ValueError, AttributeError, RecursionError):  # Recursion: nested too deep
            raise self.transport.error(
                InvalidResponseError,
                f"the tag list of {repo_path} is not valid JSON",
                hint=MALFORMED_HINT,
            ) from None
        if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
            raise self.transport.error(
                InvalidResponseError,
                f"the tag list of {repo_path} is not a list of tag names",
                hint=MALFORMED_HINT,
            )
        return page

    def tag_digests(
        self,
        repo_path: str,
        tags: Iterable[str] | None = None,
        *,
        attempts: int | None = None,
        expected: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """tag -> digest for ``tags`` (default: every tag). Missing tags are left out.
        ``attempts``: at most so many tries of each (a side lookup: 1); ``expected``: tag
        -> the digest the caller holds it to (``resolve``: another is confirmed by a GET)."""
        wanted = self.list_tags(repo_path) if tags is None else list(tags)
        result: dict[str, str] = {}
        for tag in wanted:
            ref = Reference(self.host, repo_path, tag)
            want = (expected or {}).get(tag)
            try:
                result[tag] = self.resolve(ref, attempts=attempts, expected=want)
            except NotFoundError:
                continue
        return result

    def blob_exists(self, repo_path: str, digest: str, size: int | None = None) -> bool:
        """Whether the registry holds the blob. ``size``: its descriptor's; a HEAD whose
        Content-Length says another raises DamagedBlobError (the blob is there, damaged)."""
        what = f"HEAD blob {digest[:19]} in {self._ref_text(repo_path)}"
        reply = self._request("HEAD", repo_path, f"blobs/{digest}", what=what, accept=(200, 404))
        if reply.status != 200:
            return False
        served = _served_size(reply)
        if size is not None and served is not None and served != size:
            raise DamagedBlobError(
                f"{self.transport.label}: blob {digest} in {self._ref_text(repo_path)} is "
                f"{served} bytes there (the Content-Length of its HEAD), not the {size} "
                "bytes its descriptor says",
                served=served,
                expected=size,
                registry=self.host,
                hint=DAMAGED_BLOB_HINT,
            )
        return True

    def get_blob(
        self,
        repo_path: str,
        digest: str,
        *,
        limit: int = MAX_CONFIG_BLOB,
        attempts: int | None = None,
    ) -> bytes:
        """A small blob (e.g. an image config), verified against its digest, in at most
        ``attempts`` tries when given (a side lookup: 1)."""
        what = f"GET blob {digest[:19]} from {self._ref_text(repo_path)}"
        reply = self._request(
            "GET",
            repo_path,
            f"blobs/{digest}",
            what=what,
            accept=(200, 404),
            limit=limit,
            attempts=attempts,
        )
        if reply.status == 404:
            raise self.transport.error(
                NotFoundError,
                f"blob {digest} not found in {self._ref_text(repo_path)}",
                status=404,
                hint="the image's manifest names a blob the registry does not hold, so the "
                "image is broken there: push it again (a release of this project: `publisher "
                "republish`), or ask the registry's operator whether the blob was removed",
            )
        if sha256_digest(reply.body) != digest:
            raise self.transport.error(
                InvalidResponseError,
                f"blob {digest} from {repo_path} does not match its digest",
                hint=ALTERED_HINT,
            )
        return reply.body

    @contextlib.contextmanager
    def open_blob(self, repo_path: str, digest: str, size: int) -> Iterator[Iterator[bytes]]:
        """Stream a blob: its chunks as they arrive, hashed on the way (no second pass).

        The last chunk is held back until the size and the digest are checked, so
        a consumer that forwards the chunks never sends a wrong blob in full. A
        short body raises Transient (retry); a wrong digest InvalidResponseError.
        No retries here: the caller retries the whole transfer.
        """
        with self.transport.stream(
            self.transport.url(f"/v2/{repo_path}/blobs/{digest}"),
            scopes=[pull_scope(repo_path)],
            what=f"blob {digest[:19]} from {self._ref_text(repo_path)}",
            limit=size,
        ) as chunks:
            yield self.transport.owned(self._verified(chunks, repo_path, digest, size))

    def _verified(
        self, chunks: Iterator[bytes], repo_path: str, digest: str, size: int
    ) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        got = 0
        held: bytes | None = None
        for chunk in chunks:
            hasher.update(chunk)
            got += len(chunk)
            if held is not None:
                yield held
            held = chunk
        if got < size:
            # The answer came whole (a body cut short of its Content-Length, or of its
            # chunked encoding, fails in the read): the registry serves a damaged blob, the
            # same on every retry.
            raise DamagedBlobError(
                f"{self.transport.label}: blob {digest} from {self._ref_text(repo_path)} "
                f"came whole as {got} bytes (the length the registry gave it), not the "
                f"{size} bytes its descriptor says: the registry serves a damaged copy",
                served=got,
                expected=size,
                registry=self.host,
                hint=DAMAGED_BLOB_HINT,
            )
        if got != size:
            raise Transient(
                f"blob {digest[:19]} has {got} bytes, expected {size}", kind="truncated"
            )
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise self.transport.error(
                InvalidResponseError,
                f"blob {digest} from {repo_path} does not match its digest "
                f"(got {actual}); refusing it",
                hint=ALTERED_HINT,
            )
        if held is not None:
            yield held

    def download_blob(self, repo_path: str, digest: str, size: int, dest: Path) -> None:
        """Stream a blob to ``dest``, checking its size and digest on the way."""

        def attempt(_n: int) -> None:
            with self.open_blob(repo_path, digest, size) as chunks, open(dest, "wb") as sink:
                for chunk in chunks:
                    sink.write(chunk)

        self.transport.retrying(f"GET blob {digest[:19]}", attempt)

    def image_config(
        self, repo_path: str, manifest: Manifest, *, attempts: int | None = None
    ) -> dict[str, Any]:
        """The image config JSON of an image manifest (``attempts``: as ``get_blob``)."""
        config = manifest.config
        if config is None:
            raise ValueError("an index has no config")
        body = self.get_blob(repo_path, config.digest, limit=MAX_CONFIG_BLOB, attempts=attempts)
        return self.parse_config(config.digest, body)

    def parse_config(self, digest: str, body: bytes) -> dict[str, Any]:
        """An image config blob's JSON; InvalidResponseError when it is not an object."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            raise self.transport.error(
                InvalidResponseError,
                f"the image config {digest} is not valid JSON",
                hint=MANIFEST_HINT,
            ) from None
        if not isinstance(data, dict):
            raise self.transport.error(
                InvalidResponseError,
                f"the image config {digest} is not a JSON object",
                hint=MANIFEST_HINT,
            )
        return data

    def labels(
        self, repo_path: str, manifest: Manifest, *, attempts: int | None = None
    ) -> dict[str, str]:
        """The labels in the image config of an image manifest ({} when it has none)."""
        return config_labels(self.image_config(repo_path, manifest, attempts=attempts))

    def platform_sizes(self, ref: Reference) -> dict[str, int]:
        """``linux/amd64`` -> compressed bytes (config + layers); attestations excluded."""
        manifest = self.get_manifest(ref)
        return self.manifest_platform_sizes(ref.path, manifest)

    def manifest_platform_sizes(self, repo_path: str, manifest: Manifest) -> dict[str, int]:
        sizes: dict[str, int] = {}
        if manifest.is_index:
            for child in manifest.platform_children:
                child_manifest = self.get_manifest_by_digest(repo_path, child.digest)
                key = child.platform or "unknown"
                sizes[key] = sizes.get(key, 0) + child_manifest.compressed_size
            return sizes
        config = self.image_config(repo_path, manifest)
        sizes[platform_key(config) or UNKNOWN_PLATFORM] = manifest.compressed_size
        return sizes

    # -------------------------------------------------------------- writing

    def _start_upload(
        self, repo_path: str, params: Mapping[str, str] | None, scopes: list[str]
    ) -> Reply:
        return self._request(
            "POST",
            repo_path,
            "blobs/uploads/",
            what=f"start a blob upload to {self._ref_text(repo_path)}",
            scopes=scopes,
            once=True,
            accept=(201, 202),
            params=params,
            headers={"Content-Length": "0"},
        )

    def _mounted(
        self, repo_path: str, params: Mapping[str, str] | None, scopes: list[str], what: str
    ) -> bool:
        """POST an upload: True when the registry answered 201 (a mount, done); a
        session it opened instead is cancelled."""
        reply = self._start_upload(repo_path, params, scopes)
        if reply.status == 201:
            return True
        self._cancel_upload(self.transport.resolve_location(reply, what), repo_path)
        return False

    def _cancel_upload(self, url: str, repo_path: str) -> None:
        try:
            self.transport.send(
                "DELETE",
                url,
                scopes=[push_scope(repo_path)],
                what="cancel an upload session",
                accept=(200, 202, 204, 404),
            )
        except Exception:  # best effort: the registry expires abandoned sessions anyway
            self.transport.debug("could not cancel an upload session")

    def check_push(self, repo_path: str) -> None:
        """Prove that we may push to ``repo_path``: open an upload session, then cancel it.

        Nothing is written. Raises AuthError (with the scope the token needs) when refused.
        """
        scopes = [push_scope(repo_path)]
        self.transport.retrying(
            f"push check on {self._ref_text(repo_path)}",
            lambda _n: self._mounted(repo_path, None, scopes, "push check"),
        )

    def mount_blob(self, repo_path: str, digest: str, from_repo: str) -> Mount:
        """Cross-repository mount within this registry: ``Mount.mounted`` when the registry
        mounted it (201).

        Else the blob is to be uploaded: in the upload session the registry opened in the
        mount's place (202, as the distribution spec allows: ``Mount.session``, for
        ``upload``), or in a new one when it refused the mount's authorization: a mount
        needs pull on ``from_repo`` too (Docker Hub's token scope
        ``repository:<from>:pull``), which a token may lack where push on ``repo_path``
        is granted. The upload then says what is missing, if anything.
        """
        if from_repo in self._unmountable:
            return Mount(False)
        scopes = [push_scope(repo_path), pull_scope(from_repo)]
        params = {"mount": digest, "from": from_repo}
        try:
            reply = self.transport.retrying(
                f"mount blob {digest[:19]} from {from_repo}",
                lambda _n: self._start_upload(repo_path, params, scopes),
            )
        except AuthError:
            self._unmountable.add(from_repo)
            self.transport.debug(f"mount from {from_repo} refused; uploading instead")
            return Mount(False)
        return Mount(True) if reply.status == 201 else Mount(False, reply)

    def push_blob(self, repo_path: str, digest: str, data: bytes | Path) -> bool:
        """Upload a blob unless it exists. False when it already existed.

        Every attempt opens a new upload session (a connection reset mid-upload
        leaves the old one behind) and re-checks with HEAD first on retries.
        """
        if isinstance(data, Path):
            size = data.stat().st_size
        else:
            size = len(data)
            if sha256_digest(data) != digest:
                raise ValueError(f"data does not match {digest}")
        with contextlib.suppress(DamagedBlobError):  # a damaged copy: uploaded again
            if self.blob_exists(repo_path, digest, size):
                return False
        return self.upload(repo_path, digest, size, data)

    def upload(
        self,
        repo_path: str,
        digest: str,
        size: int,
        data: bytes
        | Path
        | Callable[[], contextlib.AbstractContextManager[bytes | Path | Iterable[bytes]]],
        *,
        what: str | None = None,
        progress: Callable[[int], None] | None = None,
        session: Reply | None = None,
    ) -> bool:
        """Upload a blob under the retry policy. False when a retry found it stored.

        ``data`` is the blob's bytes, a file, or a function that opens its chunks
        (a download, see ``open_blob``) or a file, called again for each attempt. Every
        attempt opens a new upload session (a connection reset mid-upload leaves
        the old one behind) and a retry first checks with HEAD whether the
        previous attempt stored the blob after all. ``progress`` is told how many
        bytes of the blob the registry has taken as they go (0 when an attempt starts).
        ``session``: an upload session the registry opened already (a mount's 202), for
        the first attempt.
        """
        what = what or f"upload blob {digest[:19]} ({size} bytes) to {self._ref_text(repo_path)}"

        def attempt(n: int) -> bool:
            if n > 1 and self._blob_stored(repo_path, digest, size):
                return False
            if progress is not None:
                progress(0)
            with data() if callable(data) else contextlib.nullcontext(data) as body:
                opened = session if n == 1 else None
                self._upload_once(repo_path, digest, size, body, progress, opened)
            return True

        return self.transport.retrying(what, attempt)

    def _blob_stored(self, repo_path: str, digest: str, size: int) -> bool:
        """HEAD a blob with no retries and the push scope, inside an upload: there with
        ``size`` bytes (a damaged copy of another size is not stored)."""
        reply = self._request(
            "HEAD",
            repo_path,
            f"blobs/{digest}",
            what="HEAD blob",
            scopes=[push_scope(repo_path)],
            once=True,
            accept=(200, 404),
        )
        return reply.status == 200 and _served_size(reply) in (None, size)

    def _upload_once(
        self,
        repo_path: str,
        digest: str,
        size: int,
        data: bytes | Path | Iterable[bytes],
        progress: Callable[[int], None] | None = None,
        session: Reply | None = None,
    ) -> None:
        """One upload attempt in a new session (or ``session``, one the registry opened
        already), no retries; the caller retries.

        ``data`` is the blob's bytes, a file, or its chunks (a download in
        progress). Blobs over ``upload_chunk`` bytes go up in PATCH requests of
        that size when the registry announces chunked uploads (a ``Range`` on the
        session), otherwise in one PUT. The registry must store exactly ``digest``.
        """
        scopes = [push_scope(repo_path)]
        what = f"upload blob {digest[:19]} ({size} bytes) to {self._ref_text(repo_path)}"
        start = session or self._start_upload(repo_path, None, scopes)
        location = self.transport.resolve_location(start, what)
        if isinstance(data, bytes | Path) and size <= self.upload_chunk:
            body: bytes | Path | SizedBody = data
        else:
            pieces = _Pieces(_chunks_of(data))
            if size > self.upload_chunk and start.header("Range") is not None:
                location = self._patch_chunks(location, pieces, size, scopes, what, progress)
                body = b""
            else:
                body = SizedBody(size, pieces.take(size))
        separator = "&" if "?" in location else "?"
        reply = self.transport.send(
            "PUT",
            f"{location}{separator}digest={quote(digest, safe='')}",
            scopes=scopes,
            what=what,
            accept=(201, 204),
            headers={"Content-Type": "application/octet-stream"},
            data=body,
            progress=progress,
        )
        stored = reply.header("Docker-Content-Digest")
        # The registry checked the blob against ``digest`` (the PUT names it); a digest in
        # another algorithm (sha512) names the same bytes another way.
        if stored and stored.startswith("sha256:") and stored != digest:
            raise self.transport.error(
                InvalidResponseError,
                f"{what}: the registry stored it as {shown_field(clip(self.transport.clean(stored), 100))}",
                hint=ALTERED_HINT,
            )

    def _patch_chunks(
        self,
        location: str,
        pieces: _Pieces,
        size: int,
        scopes: list[str],
        what: str,
        progress: Callable[[int], None] | None = None,
    ) -> str:
        """Send the blob in PATCH requests of ``upload_chunk`` bytes; the session's next URL."""
        offset = 0
        while offset < size:
            taken = None if progress is None else _after(offset, progress)
            length = min(self.upload_chunk, size - offset)
            reply = self.transport.send(
                "PATCH",
                location,
                scopes=scopes,
                what=f"{what}: bytes {offset}-{offset + length - 1}",
                accept=(202,),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + length - 1}",
                },
                data=SizedBody(length, pieces.take(length), taken),
            )
            offset += length
            stored = reply.header("Range")
            if stored and stored.replace("bytes=", "") != f"0-{offset - 1}":
                raise Transient(
                    f"the registry holds {shown_field(clip(self.transport.clean(stored), 64))} of the upload, "
                    f"not 0-{offset - 1}"
                )
            location = self.transport.resolve_location(reply, what)
        return location

    def put_manifest(
        self, repo_path: str, body: bytes, media_type: str, *, tag: str | None = None
    ) -> str:
        """PUT a manifest by digest (or under ``tag``); verify ``Docker-Content-Digest``.

        Returns the digest. A registry that reports another digest is an error; under a
        tag, its hint says the tag may have been written all the same (the PUT was
        answered: a proxy rewriting the header leaves the tag stored).
        """
        if media_type not in MANIFEST_TYPES:
            raise ValueError(f"unsupported manifest media type {media_type!r}")
        if len(body) > MAX_MANIFEST_BYTES:
            raise ValueError("manifest over the 4 MiB limit")
        digest = sha256_digest(body)
        reference = tag or digest
        reply = self._manifest_request(
            "PUT",
            repo_path,
            reference,
            accept=(200, 201, 204),
            headers={"Content-Type": media_type},
            data=body,
        )
        stored = reply.header("Docker-Content-Digest")
        if stored and stored != digest and not _same_bytes(stored, body):
            what = f"PUT manifest {self._ref_text(repo_path, reference)}"
            written = (
                f"the PUT was answered, so {tag} may have been written all the same "
                "(`publisher audit` says where each tag points)"
                if tag
                else "no tag was written"
            )
            raise self.transport.error(
                InvalidResponseError,
                f"{what}: the registry says it stored {shown_field(clip(self.transport.clean(stored), 100))}, but the "
                f"manifest is {digest}",
                hint=f"the registry or a proxy in between altered the manifest or the "
                f"registry's answer; {written}: check that nothing between publisher and the "
                "registry rewrites it, then rerun",
            )
        return digest

    def delete_manifest(self, repo_path: str, digest: str) -> None:
        """Delete a manifest by digest (the registry must allow deletes)."""
        self._manifest_request("DELETE", repo_path, digest, accept=(200, 202))

    def tag(self, repo_path: str, digest: str, tag: str) -> None:
        """Point ``tag`` at ``digest``: manifest GET by digest, PUT under the tag. No blob moves."""
        manifest = self.get_manifest_by_digest(repo_path, digest)
        self.put_manifest(repo_path, manifest.body, manifest.media_type, tag=tag)

    def push_layout(self, layout_dir: Path, repo_path: str) -> str:
        """Push the one image of an OCI image layout by digest (no tag); return its digest.

        Blobs that exist are skipped (HEAD); an index's children go before it.
        """
        layout = Path(layout_dir)
        top = _layout_top(layout)
        return self._push_from_layout(layout, top, repo_path)

    def _push_from_layout(self, layout: Path, desc: Descriptor, repo_path: str) -> str:
        body = _layout_blob(layout, desc.digest).read_bytes()
        manifest = Manifest.parse(body, desc.media_type, desc.digest)
        if manifest.is_index:
            for child in manifest.children:
                self._push_from_layout(layout, child, repo_path)
        else:
            for blob in manifest.blobs:
                self.push_blob(repo_path, blob.digest, _layout_blob(layout, blob.digest))
        return self.put_manifest(repo_path, manifest.body, manifest.media_type)

    def copy(
        self,
        src: Reference,
        dst_client: RegistryClient,
        dst_repo_path: str,
        *,
        transfers: int | None = None,
    ) -> str:
        """Copy ``src`` (which must carry a digest) with its children and blobs.

        Existing blobs and child manifests are skipped; within one registry blobs
        are mounted; children go before the index; attestation manifests are
        carried along. Returns the digest, identical to ``src.digest``. See
        ``transfer.Transfers`` for copying several indexes to several registries.
        """
        from .transfer import DEFAULT_TRANSFERS, Transfers

        self._check_ref(src)
        if not src.digest:
            raise ValueError("copy needs a reference with a digest")
        engine = Transfers(workers=transfers or DEFAULT_TRANSFERS, output=self.transport.output)
        engine.copy(self, src.path, [(dst_client, dst_repo_path)], [src.digest])
        return src.digest


@dataclass(frozen=True)
class Mount:
    """What a cross-repository mount came to: ``mounted`` (201); else the blob is to be
    uploaded, in ``session`` when the registry opened one in the mount's place (202)."""

    mounted: bool
    session: Reply | None = None


class _Pieces:
    """Hands out exact byte counts from an iterator of chunks of any size."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def take(self, count: int) -> Iterator[bytes]:
        while count > 0:
            if not self._rest:
                self._rest = next(self._chunks, b"")
                if not self._rest:
                    raise Transient(f"the blob ended {count} bytes early", kind="truncated")
            piece, self._rest = self._rest[:count], self._rest[count:]
            count -= len(piece)
            yield piece


def _same_bytes(said: str, body: bytes) -> bool:
    """Whether a digest in another algorithm than sha256 (a registry answering in
    sha512) is that of ``body``: the same content, named another way."""
    algorithm, _, value = said.partition(":")
    if algorithm not in ("sha384", "sha512"):
        return False
    return hashlib.new(algorithm, body).hexdigest() == value.lower()


def _after(offset: int, progress: Callable[[int], None]) -> Callable[[int], None]:
    """``progress`` told of a piece's bytes as counted from ``offset``."""
    return lambda count: progress(offset + count)


def _served_size(reply: Reply) -> int | None:
    """The size a blob HEAD says the blob has (its Content-Length), None when it says none.

    A Content-Length of 0 says none too: some proxies and CDNs answer a HEAD with an empty
    body's length, and no image's config or layer is empty."""
    value = (reply.header("Content-Length") or "").strip()
    return int(value) or None if value.isdigit() else None


def _chunks_of(data: bytes | Path | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes):
        return iter([data])
    if isinstance(data, Path):
        return file_chunks(data)
    return iter(data)


def _layout_blob(layout: Path, digest: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    path = layout / "blobs" / algo / hexpart
    if not is_digest(digest) or not path.is_file():
        raise CommandError(
            f"the OCI layout {layout} is incomplete: blob {digest} is missing",
            hint="rebuild the image; the build did not write a complete layout",
        )
    return path


#: What to do about an OCI layout whose index.json cannot be read.
_LAYOUT_HINT = (
    "rebuild the image: the build wrote a layout whose index.json is not one publisher can push"
)


def _layout_top(layout: Path) -> Descriptor:
    index_path = layout / "index.json"
    if not (layout / "oci-layout").is_file() or not index_path.is_file():
        raise CommandError(
            f"{layout} is not an OCI image layout (oci-layout and index.json are required)",
            hint="build with `buildah push IMAGE oci:DIR` or the docker builder's converter",
        )
    try:
        data = json.loads(index_path.read_bytes())
        entries = data["manifests"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CommandError(f"{index_path} is not a valid OCI index", hint=_LAYOUT_HINT) from None
    if not isinstance(entries, list) or len(entries) != 1:
        count = len(entries) if isinstance(entries, list) else 0
        raise CommandError(
            f"{layout} holds {count} images; publisher pushes layouts with exactly one",
            hint="write each build to its own, fresh layout directory",
        )
    try:
        return Descriptor.from_dict(entries[0], "index.json entry")
    except InvalidResponseError as exc:
        raise CommandError(f"{index_path}: {exc.message}", hint=_LAYOUT_HINT) from None
