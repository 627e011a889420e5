"""Copy images between registries: every blob exactly once, in parallel, straight through.

The plan is pure and lives in the core (``publisher.core.transfer_plan``:
``plan_transfers(tree, present) -> TransferPlan``; the publish plan carries one).
This module is the engine around it:

* **observe**: reads from the source the manifests some target lacks (a
  ``SourceTree``) and HEADs what the plan needs to know in the targets (each
  digest once per target repository, in parallel), top down;
* **execute**: carries a ``TransferPlan`` out with a bounded pool of blob
  transfers. Each blob is downloaded from the source once, hashed while it
  arrives, and streamed straight into the target when one target needs it (kept
  in a temporary file as it goes, where there is room, for a retry of the upload:
  ``_Kept``); with several targets it is spooled to one temporary file and
  uploaded from there to each. Memory stays flat whatever the layer size. One
  transfer is in flight per (registry, repository, digest), shared by every
  caller of the same ``Transfers``.

``Transfers.copy`` does all three in one call (``audit --repair``,
``RegistryClient.copy``); ``publish`` observes, plans within its publish plan,
and executes that plan.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from ...core.errors import DamagedBlobError, FileAccessError, file_error, out_of_room
from ...core.fileio import counted, temp_dir
from ...core.manifest import Manifest
from ...core.sizes import human_size, seconds
from ...core.transfer_plan import (
    BlobStep,
    ManifestStep,
    SourceTree,
    Target,
    TransferPlan,
    plan_transfers,
)
from .client import Mount
from .transport import Reply, Transient

if TYPE_CHECKING:
    from ..output import Output
    from .client import RegistryClient

#: Blob transfers in flight at once, by default (HEAD checks and manifest pushes too).
DEFAULT_TRANSFERS = 6
#: Seconds between two progress lines of a long copy (a short one prints none).
PROGRESS_EVERY = 10.0

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "DEFAULT_TRANSFERS",
    "BlobStep",
    "ManifestStep",
    "SourceTree",
    "Target",
    "TransferPlan",
    "Transfers",
    "plan_transfers",
]


# --------------------------------------------------------------------------- the executor


class Transfers:
    """Copies manifests with their blobs from one registry to others (see the module doc).

    ``workers`` bounds the blob transfers in flight (and the HEAD checks and
    manifest pushes). Thread-safe: concurrent ``copy`` calls share in-flight
    transfers. A copy that lasts says how far it is every ``progress_every``
    seconds (by ``clock``).
    """

    def __init__(
        self,
        *,
        workers: int = DEFAULT_TRANSFERS,
        output: Output | None = None,
        spool_dir: Path | None = None,
        progress_every: float = PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workers = max(1, workers)
        self.output = output
        self.spool_dir = spool_dir
        self.progress_every = progress_every
        self.clock = clock
        self._lock = threading.Lock()
        self._inflight: dict[tuple[str, str, str], Future[None]] = {}
        #: (registry, repository, digest) -> the size of a blob found there damaged
        self._damaged: dict[tuple[str, str, str], int] = {}

    def _detail(self, message: str) -> None:
        if self.output is not None:
            self.output.progress(message)

    # ------------------------------------------------------------ the whole copy

    def copy(
        self,
        source: RegistryClient,
        source_repo: str,
        targets: Sequence[tuple[RegistryClient, str]],
        roots: Sequence[str],
    ) -> TransferPlan:
        """Copy ``roots`` (manifest digests in ``source_repo``) to every target repository.

        ``observe``, then ``plan_transfers``, then ``execute``. Returns the plan it
        carried out. Raises the first failure (publisher errors); nothing is
        pushed above a manifest whose content failed.
        """
        clients = self.clients(source, source_repo, targets)
        tree, present = self.observe(source, source_repo, roots, clients)
        plan = plan_transfers(tree, present)
        self.execute(source, tree, plan, clients)
        return plan

    @staticmethod
    def clients(
        source: RegistryClient, source_repo: str, targets: Sequence[tuple[RegistryClient, str]]
    ) -> dict[Target, RegistryClient]:
        """The target repositories by ``Target`` (the source itself left out)."""
        clients: dict[Target, RegistryClient] = {}
        for client, repo in targets:
            clients.setdefault(Target(client.transport.base, repo), client)
        clients.pop(Target(source.transport.base, source_repo), None)
        return clients

    def execute(
        self,
        source: RegistryClient,
        tree: SourceTree,
        plan: TransferPlan,
        clients: Mapping[Target, RegistryClient],
        held: Mapping[str, bytes] | None = None,
    ) -> None:
        """Carry out ``plan``: every blob step on the pool, then the manifests wave by wave.

        ``held``: blobs the caller has already read from the source (digest -> verified
        bytes, e.g. image configs); they are uploaded from memory, not downloaded again.
        """
        if plan.is_noop:
            self._detail("copy: every target holds every manifest already")
            return
        uploads = plan.upload_bytes()
        self._detail(
            ", ".join(
                [
                    f"copy: {counted(len(plan.blobs), 'blob')} to place",
                    f"{counted(plan.download_count, 'download')}",
                    *(f"{human_size(n)} to {r.split('://')[-1]}" for r, n in uploads.items()),
                ]
            )
        )
        src = tree.source
        progress = _Progress(self, plan.blobs)
        with temp_dir("publisher-copy-", self.spool_dir) as tmp:

            def place(step: BlobStep) -> None:
                self._blob(source, src, step, clients, tmp, held or {}, progress)
                progress.placed(step)

            self._run_all(place, plan.blobs)
        for wave in plan.manifests:
            self._run_all(lambda step: self._manifest(tree, step, clients), wave)

    def observe(
        self,
        source: RegistryClient,
        source_repo: str,
        roots: Sequence[str],
        clients: Mapping[Target, RegistryClient],
        *,
        known: Mapping[str, Manifest] | None = None,
        lacking: Mapping[Target, Set[str]] | None = None,
        deep: bool = False,
    ) -> tuple[SourceTree, dict[Target, set[str]]]:
        """What the plan needs: the source's manifests and what each target holds.

        Top down, level by level: HEAD the roots in every target, read (verified,
        once) the manifests some target lacks, HEAD their children there, and so
        on down to the blobs. Each digest is checked once per target repository;
        nothing below a present manifest is read or checked (unless ``deep``), so a
        copy that has nothing to do costs one HEAD per root and target.

        ``known``: manifests the caller holds already (an index it assembled and
        has not pushed yet), not read again. ``lacking``: when the caller has
        checked the roots already, the roots each target lacks (the others are
        present there); then the roots are not checked again. ``deep``: check
        below present manifests too (every manifest under the roots is read, every
        digest under them checked in every target), for ``plan_transfers(...,
        exact=True)``: a registry that lost a child or a blob under a manifest it
        holds gets it back.
        """
        src = Target(source.transport.base, source_repo)
        unique = list(dict.fromkeys(roots))
        manifests: dict[str, Manifest] = {}
        kinds = dict.fromkeys(unique, True)  # digest -> is a manifest
        present: dict[Target, set[str]] = {t: set() for t in clients}
        checked: set[tuple[Target, str]] = set()
        frontier: list[tuple[Target, str]] = []
        missing: list[tuple[Target, str]] = []
        if lacking is None:
            frontier = [(t, root) for t in clients for root in unique]
        else:
            for target in clients:
                absent = lacking.get(target, set())
                present[target].update(r for r in unique if r not in absent)
                missing += [(target, r) for r in unique if deep or r in absent]
            checked.update((t, r) for t in clients for r in unique)

        sizes: dict[str, int] = {}  # blob digest -> its descriptor's size

        def head(item: tuple[Target, str]) -> bool:
            target, digest = item
            client = clients[target]
            if kinds[digest]:
                return client.manifest_exists(target.repository, digest)
            try:
                return client.blob_exists(target.repository, digest, sizes.get(digest))
            except DamagedBlobError as exc:  # there, damaged: uploaded again, then asked
                self._detail(f"copy: {exc.message}; uploading it again")
                with self._lock:
                    self._damaged[(target.registry, target.repository, digest)] = exc.expected
                return False

        def read(digest: str) -> Manifest:
            if known is not None and digest in known:
                return known[digest]
            return source.get_manifest_by_digest(src.repository, digest)

        while frontier or missing:
            if frontier:
                frontier = [item for item in dict.fromkeys(frontier) if item not in checked]
                checked.update(frontier)
                found = self._run_all(head, frontier)
                missing = [item for item, there in zip(frontier, found, strict=True) if not there]
                lacking_now = set(missing)
                for target, digest in frontier:
                    if (target, digest) not in lacking_now:
                        present[target].add(digest)
                if deep:  # below a present manifest too
                    missing = list(frontier)
            wanted = list(dict.fromkeys(d for _, d in missing if kinds[d] and d not in manifests))
            manifests.update(zip(wanted, self._run_all(read, wanted), strict=True))
            frontier = []
            for target, digest in missing:
                if not kinds[digest]:
                    continue
                manifest = manifests[digest]
                if manifest.is_index:
                    children = [c.digest for c in manifest.children if c.names_manifest]
                    kinds.update(dict.fromkeys(children, True))
                else:
                    children = [b.digest for b in manifest.blobs]
                    sizes.update((b.digest, b.size) for b in manifest.blobs)
                    for child in children:
                        kinds.setdefault(child, False)
                frontier += [(target, child) for child in children]
            missing = []
        return SourceTree(src, tuple(unique), manifests), present

    # ------------------------------------------------------------ one blob

    def _once(self, key: tuple[str, str, str], work: Callable[[], None]) -> None:
        """Run ``work`` unless the same (registry, repository, digest) is done or in flight.

        A caller that finds it in flight waits for it; if that transfer failed,
        the caller tries itself.
        """
        while True:
            with self._lock:
                found = self._inflight.get(key)
                future: Future[None] = found if found is not None else Future()
                if found is None:
                    self._inflight[key] = future
            if found is None:
                break
            try:
                found.result()
                return
            except Exception:  # the owner reports its own failure; try ourselves
                continue
        try:
            work()
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
            future.set_exception(exc)
            raise
        future.set_result(None)

    def _blob(
        self,
        source: RegistryClient,
        src: Target,
        step: BlobStep,
        clients: Mapping[Target, RegistryClient],
        tmp: Path,
        held: Mapping[str, bytes],
        progress: _Progress,
    ) -> None:
        digest = step.digest
        uploads = list(step.uploads)
        #: the upload sessions registries opened in a mount's place (its 202), by target
        sessions: dict[Target, Reply | None] = {}
        for target, origin in step.mounts:
            mount = self._mount(clients[target], target, digest, origin)
            if not mount.mounted:
                uploads.append(target)
                sessions[target] = mount.session
        after = list(step.after)
        if not uploads:
            return
        if digest not in held and len(uploads) + len(after) == 1:
            (target,) = uploads
            self._once(
                (target.registry, target.repository, digest),
                lambda: self._stream(
                    source,
                    src,
                    clients[target],
                    target,
                    step,
                    progress.sending(step, target),
                    _Kept(tmp / f"{digest.replace(':', '-')}.kept"),
                    sessions.get(target),
                ),
            )
            return
        spool = tmp / digest.replace(":", "-")
        try:
            data: bytes | Path = held.get(digest) or spool
            if data is spool:
                try:
                    source.download_blob(src.repository, digest, step.size, spool)
                except OSError as exc:
                    spool.unlink(missing_ok=True)  # its free space said without it
                    raise self._spool_error(exc, step, tmp) from None

            def upload(target: Target) -> None:
                self._once(
                    (target.registry, target.repository, digest),
                    lambda: self._push(
                        clients[target],
                        target,
                        digest,
                        data,
                        progress.sending(step, target),
                        sessions.get(target),
                    ),
                )

            self._run_all(upload, uploads, workers=len(uploads))
            for target, origin in after:
                mount = self._mount(clients[target], target, digest, origin)
                if not mount.mounted:
                    sessions[target] = mount.session
                    upload(target)
        finally:
            spool.unlink(missing_ok=True)

    def _spool_error(self, exc: OSError, step: BlobStep, tmp: Path) -> FileAccessError:
        """The spooling of ``step``'s blob to ``tmp`` failed: a full file system is said
        as a full TMPDIR (where, its free space, the blob's size); any other, as
        ``file_error`` says it (too many open files among them)."""
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return file_error(exc, f"spool blob {step.digest[:19]} to a temporary file")
        return out_of_room(
            "the copy",
            tmp.parent,
            "it spools each blob it copies to more than one registry, up to --transfers "
            f"({self.workers}) at once",
            f"{exc.strerror or exc} (spooling blob {step.digest[:19]}, {human_size(step.size)})",
            needs=f"{human_size(step.size)} for this blob, more for several at once; a lower "
            "--transfers spools fewer at once",
        )

    def _mount(self, client: RegistryClient, target: Target, digest: str, origin: str) -> Mount:
        """Mount the blob in ``target`` from ``origin``: mounted (or placed meanwhile by
        another transfer), else the blob is to be uploaded (in the mount's session)."""
        mount = Mount(True)

        def work() -> None:
            nonlocal mount
            mount = client.mount_blob(target.repository, digest, origin)
            if not mount.mounted:
                raise _NotMounted

        try:
            self._once((target.registry, target.repository, digest), work)
        except _NotMounted:
            return mount
        return Mount(True)

    def _stream(
        self,
        source: RegistryClient,
        src: Target,
        client: RegistryClient,
        target: Target,
        step: BlobStep,
        progress: Callable[[int], None],
        kept: _Kept,
        session: Reply | None = None,
    ) -> None:
        """Download and upload at once: the chunks go to the target as they arrive, and
        into ``kept`` for a retry of the upload, which sends them from there (``session``:
        one a mount opened, for the first attempt)."""
        try:
            client.upload(
                target.repository,
                step.digest,
                step.size,
                lambda: kept.body(lambda: source.open_blob(src.repository, step.digest, step.size)),
                what=f"copy blob {step.digest[:19]} ({step.size} bytes) from {src} to {target}",
                progress=progress,
                session=session,
            )
        finally:
            kept.path.unlink(missing_ok=True)
        self._repaired(client, target, step.digest)

    def _push(
        self,
        client: RegistryClient,
        target: Target,
        digest: str,
        data: bytes | Path,
        progress: Callable[[int], None],
        session: Reply | None = None,
    ) -> None:
        """Upload a blob held in memory or spooled to a file (``session``: one a mount
        opened, for the first attempt)."""
        size = len(data) if isinstance(data, bytes) else data.stat().st_size
        what = f"upload blob {digest[:19]} ({size} bytes) to {target}"
        client.upload(
            target.repository, digest, size, data, what=what, progress=progress, session=session
        )
        self._repaired(client, target, digest)

    def _repaired(self, client: RegistryClient, target: Target, digest: str) -> None:
        """After the upload of a blob ``target`` held damaged, whether it holds it whole
        now: a registry may keep the copy it holds and still answer the upload as stored
        (the distribution registry does); DamagedBlobError says so."""
        with self._lock:
            size = self._damaged.pop((target.registry, target.repository, digest), None)
        if size is None:
            return
        try:
            client.blob_exists(target.repository, digest, size)
        except DamagedBlobError as exc:
            raise DamagedBlobError(
                f"{exc.message}, after a new upload of it that the registry answered as "
                "stored: it keeps the damaged copy it holds",
                served=exc.served,
                expected=exc.expected,
                registry=exc.registry,
                hint=exc.hint,
            ) from None

    # ------------------------------------------------------------ manifests

    def _manifest(
        self, tree: SourceTree, step: ManifestStep, clients: Mapping[Target, RegistryClient]
    ) -> None:
        manifest = tree.manifests[step.digest]
        target = step.target

        def work() -> None:
            clients[target].put_manifest(target.repository, manifest.body, manifest.media_type)

        self._once((target.registry, target.repository, step.digest), work)

    # ------------------------------------------------------------ the pool

    def _run_all(
        self, fn: Callable[[T], R], items: Sequence[T], workers: int | None = None
    ) -> list[R]:
        """``[fn(x) for x in items]`` on the pool; the first failure is raised after the rest stop."""
        if len(items) <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(workers or self.workers, len(items))) as pool:
            futures = [pool.submit(fn, x) for x in items]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise


class _Progress:
    """Counts the blobs a copy has placed, and the bytes of those still going up; says
    so when ``progress_every`` has passed, mid-blob too."""

    def __init__(self, transfers: Transfers, steps: Sequence[BlobStep]) -> None:
        self._transfers = transfers
        self._total = len(steps)
        self._total_bytes = sum(step.size for step in steps)
        self._done = 0
        self._bytes = 0
        #: digest -> target -> the bytes it has taken, of each blob still going up
        self._going: dict[str, dict[Target, int]] = {}
        self._start = self._last = transfers.clock()
        self._lock = threading.Lock()

    def sending(self, step: BlobStep, target: Target) -> Callable[[int], None]:
        """What an upload of ``step`` to ``target`` tells the bytes it has sent."""

        def sent(count: int) -> None:
            with self._lock:
                going = self._going.get(step.digest)
                if going is None:  # placed already
                    return
                going[target] = min(count, step.size)
                message = self._due()
            if message:
                self._transfers._detail(message)

        with self._lock:
            self._going.setdefault(step.digest, {})[target] = 0
        return sent

    def placed(self, step: BlobStep) -> None:
        with self._lock:
            self._done += 1
            self._bytes += step.size
            self._going.pop(step.digest, None)
            message = None if self._done == self._total else self._due()
        if message:
            self._transfers._detail(message)

    def _due(self) -> str | None:
        """The progress line, when ``progress_every`` has passed since the last (locked)."""
        now = self._transfers.clock()
        if now - self._last < self._transfers.progress_every:
            return None
        self._last = now
        # a blob going up to several targets counts what they have taken on average
        going = sum(sum(sent.values()) // len(sent) for sent in self._going.values() if sent)
        return (
            f"copy: {self._done} of {counted(self._total, 'blob')} placed, "
            f"{human_size(self._bytes + going)} of {human_size(self._total_bytes)} "
            f"({seconds(now - self._start, 0)})"
        )


class _Kept:
    """A streamed blob's bytes, kept in ``path`` as they go up, for the retries of its
    upload: a retry sends them from there, not downloading the blob again.

    The download opens once the upload's body starts (a target that fails before that
    costs none). An upload that fails part-way (a ``Transient`` of the target's, to be
    retried) reads the rest of the download into the file first, so the file holds the
    whole blob, checked against its digest. Where the file cannot be written (a full
    ``TMPDIR``), the blob still streams, and a retry downloads it again; so too when the
    download itself fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: The file holds the whole blob, its size and digest checked.
        self.whole = False
        #: The file being written, while the download goes (None: not kept).
        self._sink: IO[bytes] | None = None

    @contextlib.contextmanager
    def body(
        self, download: Callable[[], contextlib.AbstractContextManager[Iterable[bytes]]]
    ) -> Iterator[Path | Iterator[bytes]]:
        """What one attempt sends: the file once it holds the blob, else the chunks of
        ``download`` (opened when the first is asked for), each written to the file too."""
        if self.whole:
            yield self.path
            return
        with contextlib.ExitStack() as stack:

            def chunks() -> Generator[bytes, None, None]:
                self._sink = self._open()
                try:
                    for chunk in stack.enter_context(download()):
                        self._keep(chunk)
                        yield chunk
                    self.whole = self._close()
                finally:
                    self._close()

            flowing = chunks()
            try:
                yield flowing
            except Transient as exc:
                if self._sink is not None and exc.origin is None:  # the target's failure
                    self._drain(flowing)
                raise
            finally:
                flowing.close()

    def _open(self) -> IO[bytes] | None:
        try:
            return open(self.path, "wb")
        except OSError:  # no room, no right: the blob streams all the same
            return None

    def _keep(self, chunk: bytes) -> None:
        if self._sink is None:
            return
        try:
            self._sink.write(chunk)
        except OSError:  # no room left: kept no more (a retry downloads the blob again)
            self._close()
            self.path.unlink(missing_ok=True)

    def _close(self) -> bool:
        """Close the file: whether it holds all that was written to it."""
        sink, self._sink = self._sink, None
        if sink is None:
            return False
        try:
            sink.close()
        except OSError:  # its last bytes found no room
            self.path.unlink(missing_ok=True)
            return False
        return True

    def _drain(self, flowing: Iterator[bytes]) -> None:
        """Read the rest of the download into the file; a download that fails leaves the
        file partial, not to be sent (a retry downloads the blob again)."""
        with contextlib.suppress(Transient):
            for _ in flowing:
                pass


class _NotMounted(Exception):
    """A mount was not made (202, or refused): the blob must be uploaded instead."""
