"""Copy images between registries: every blob exactly once, in parallel, straight through.

Two halves:

* **The plan** (pure): ``plan_transfers(tree, present)`` takes the manifests read
  from the source (``SourceTree``) and what each target repository already holds,
  and returns a frozen ``TransferPlan``: for each unique blob, the mounts and
  uploads it needs (one upload per target registry: other repositories of that
  registry mount it), then the manifests each target lacks, children first,
  indexes last.
* **The executor** (``Transfers.copy`` = ``observe``, ``plan_transfers``,
  ``execute``): reads the manifests from the source, HEADs what the plan needs to
  know (each digest once per target repository, in parallel), computes the plan
  and carries it out with a bounded pool of blob transfers. Each blob is downloaded from the source once, hashed while it
  arrives, and streamed straight into the target when one target needs it; with
  several targets it is spooled to one temporary file and uploaded from there to
  each. Memory stays flat whatever the layer size. One transfer is in flight per
  (registry, repository, digest), shared by every caller of the same
  ``Transfers``.

A manifest present in a target is taken as complete there (its children and blobs
are present): registries refuse manifests whose content is missing, and this copy
pushes children before their parents.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ...core.manifest import Manifest

if TYPE_CHECKING:
    from ..output import Output
    from .client import RegistryClient

#: Blob transfers in flight at once, by default (HEAD checks and manifest pushes too).
DEFAULT_TRANSFERS = 6

T = TypeVar("T")
R = TypeVar("R")


# --------------------------------------------------------------------------- the plan (pure)


@dataclass(frozen=True, order=True)
class Target:
    """A repository on a registry. ``registry`` identifies the registry (its API base URL)."""

    registry: str
    repository: str

    def __str__(self) -> str:
        return f"{self.registry.split('://')[-1]}/{self.repository}"


@dataclass(frozen=True)
class SourceTree:
    """What the source holds for the roots: every manifest reachable from them, by digest."""

    source: Target
    roots: tuple[str, ...]
    manifests: Mapping[str, Manifest] = field(compare=False, hash=False)

    def children(self, digest: str) -> tuple[str, ...]:
        """The digests a manifest refers to: child manifests of an index, blobs of an image."""
        manifest = self.manifests[digest]
        if manifest.is_index:
            return tuple(c.digest for c in manifest.children if c.is_manifest)
        return tuple(b.digest for b in manifest.blobs)

    def blob_sizes(self) -> dict[str, int]:
        return {
            b.digest: b.size for m in self.manifests.values() if not m.is_index for b in m.blobs
        }


@dataclass(frozen=True)
class BlobStep:
    """How one blob reaches every target that lacks it.

    ``mounts`` come first (the registry holds it in ``from`` already; a 202 answer
    turns a mount into an upload); ``uploads`` receive the bytes downloaded once
    from the source; ``after`` mount from a repository an upload just filled.
    """

    digest: str
    size: int
    mounts: tuple[tuple[Target, str], ...] = ()
    uploads: tuple[Target, ...] = ()
    after: tuple[tuple[Target, str], ...] = ()

    @property
    def receivers(self) -> int:
        """Targets that may need the downloaded bytes (uploads, and mounts made after them)."""
        return len(self.uploads) + len(self.after)


@dataclass(frozen=True)
class ManifestStep:
    target: Target
    digest: str


@dataclass(frozen=True)
class TransferPlan:
    """Blob steps (largest first), then manifest pushes in waves: children first, roots last."""

    blobs: tuple[BlobStep, ...]
    manifests: tuple[tuple[ManifestStep, ...], ...]
    #: the roots each target lacked (each becomes a manifest push in the last wave)
    missing_roots: tuple[ManifestStep, ...] = ()

    @property
    def is_noop(self) -> bool:
        return not self.blobs and not self.manifests

    def upload_bytes(self) -> dict[str, int]:
        """Bytes the plan uploads per registry (mount fallbacks not counted)."""
        sizes: dict[str, int] = {}
        for step in self.blobs:
            for target in step.uploads:
                sizes[target.registry] = sizes.get(target.registry, 0) + step.size
        return sizes

    @property
    def download_count(self) -> int:
        return sum(1 for step in self.blobs if step.uploads)


def plan_transfers(tree: SourceTree, present: Mapping[Target, Set[str]]) -> TransferPlan:
    """What each target in ``present`` lacks, and how it gets there. Pure.

    ``present[target]`` holds the digests (manifests and blobs) known to be in
    that repository; a digest not in it counts as missing, except below a present
    manifest, which counts as complete.
    """
    sizes = tree.blob_sizes()
    height: dict[str, int] = {}

    def depth(digest: str) -> int:
        """0 for an image manifest, 1 + the deepest child for an index."""
        if digest not in height:
            kids = [d for d in tree.children(digest) if d in tree.manifests]
            height[digest] = 1 + max((depth(d) for d in kids), default=-1) if kids else 0
        return height[digest]

    holds: dict[Target, set[str]] = {}
    lacks_blobs: dict[Target, list[str]] = {}
    lacks_manifests: dict[Target, list[str]] = {}
    for target in sorted(present):
        have, blobs, manifests = _lacking(tree, present[target])
        holds[target] = have
        lacks_blobs[target] = blobs
        lacks_manifests[target] = manifests

    steps: list[BlobStep] = []
    order = list(dict.fromkeys(b for t in sorted(present) for b in lacks_blobs[t]))
    for digest in sorted(order, key=lambda d: -sizes.get(d, 0)):
        mounts: list[tuple[Target, str]] = []
        uploads: list[Target] = []
        after: list[tuple[Target, str]] = []
        lacking = [t for t in sorted(present) if digest in lacks_blobs[t]]
        for registry in dict.fromkeys(t.registry for t in lacking):
            here = [t for t in lacking if t.registry == registry]
            holder = (
                tree.source.repository
                if tree.source.registry == registry
                else next(
                    (
                        t.repository
                        for t in sorted(present)
                        if t.registry == registry and digest in holds[t]
                    ),
                    None,
                )
            )
            if holder is not None:
                mounts += [(t, holder) for t in here]
            else:
                uploads.append(here[0])
                after += [(t, here[0].repository) for t in here[1:]]
        steps.append(
            BlobStep(digest, sizes.get(digest, 0), tuple(mounts), tuple(uploads), tuple(after))
        )

    waves: dict[int, list[ManifestStep]] = {}
    for target in sorted(present):
        for digest in lacks_manifests[target]:
            waves.setdefault(depth(digest), []).append(ManifestStep(target, digest))
    roots = tuple(
        ManifestStep(t, r) for t in sorted(present) for r in tree.roots if r in lacks_manifests[t]
    )
    return TransferPlan(
        blobs=tuple(steps),
        manifests=tuple(tuple(waves[h]) for h in sorted(waves)),
        missing_roots=roots,
    )


def _lacking(tree: SourceTree, present: Set[str]) -> tuple[set[str], list[str], list[str]]:
    """What one target holds (present, and below present manifests), the blobs it
    lacks, and the manifests it lacks (children before parents)."""
    have = set(present)
    seen: set[str] = set()
    blobs: list[str] = []
    manifests: list[str] = []

    def complete(digest: str) -> None:
        have.add(digest)
        if digest in tree.manifests:
            for child in tree.children(digest):
                complete(child)

    def walk(digest: str) -> None:
        if digest in seen:
            return
        seen.add(digest)
        if digest in have:
            complete(digest)
        elif digest not in tree.manifests:
            blobs.append(digest)
        else:
            for child in tree.children(digest):
                walk(child)
            manifests.append(digest)

    for root in tree.roots:
        walk(root)
    return have, [b for b in blobs if b not in have], manifests


# --------------------------------------------------------------------------- the executor


class Transfers:
    """Copies manifests with their blobs from one registry to others (see the module doc).

    ``workers`` bounds the blob transfers in flight (and the HEAD checks and
    manifest pushes). Thread-safe: concurrent ``copy`` calls share in-flight
    transfers.
    """

    def __init__(
        self,
        *,
        workers: int = DEFAULT_TRANSFERS,
        output: Output | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        self.workers = max(1, workers)
        self.output = output
        self.spool_dir = spool_dir
        self._lock = threading.Lock()
        self._inflight: dict[tuple[str, str, str], Future[None]] = {}

    def _detail(self, message: str) -> None:
        if self.output is not None:
            self.output.detail(message)

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
    ) -> None:
        """Carry out ``plan``: every blob step on the pool, then the manifests wave by wave."""
        if plan.is_noop:
            self._detail("copy: every target holds every manifest already")
            return
        uploads = plan.upload_bytes()
        self._detail(
            f"copy: {len(plan.blobs)} blob(s) to place, {plan.download_count} download(s), "
            + ", ".join(f"{n / 1e6:.1f} MB to {r.split('://')[-1]}" for r, n in uploads.items())
        )
        src = tree.source
        with tempfile.TemporaryDirectory(prefix="publisher-copy-", dir=self.spool_dir) as tmp:
            self._run_all(
                lambda step: self._blob(source, src, step, clients, Path(tmp)), plan.blobs
            )
        for wave in plan.manifests:
            self._run_all(lambda step: self._manifest(tree, step, clients), wave)

    def observe(
        self,
        source: RegistryClient,
        source_repo: str,
        roots: Sequence[str],
        clients: Mapping[Target, RegistryClient],
    ) -> tuple[SourceTree, dict[Target, set[str]]]:
        """What the plan needs: the source's manifests and what each target holds.

        Top down, level by level: HEAD the roots in every target, read (verified,
        once) the manifests some target lacks, HEAD their children there, and so
        on down to the blobs. Each digest is checked once per target repository;
        nothing below a present manifest is read or checked, so a copy that has
        nothing to do costs one HEAD per root and target.
        """
        src = Target(source.transport.base, source_repo)
        manifests: dict[str, Manifest] = {}
        kinds = dict.fromkeys(roots, True)  # digest -> is a manifest
        present: dict[Target, set[str]] = {t: set() for t in clients}
        frontier = [(t, root) for t in clients for root in dict.fromkeys(roots)]
        checked: set[tuple[Target, str]] = set()
        while frontier:
            frontier = [item for item in dict.fromkeys(frontier) if item not in checked]
            checked.update(frontier)

            def head(item: tuple[Target, str]) -> bool:
                target, digest = item
                client = clients[target]
                if kinds[digest]:
                    return client.manifest_exists(target.repository, digest)
                return client.blob_exists(target.repository, digest)

            found = self._run_all(head, frontier)
            missing = [
                (target, digest)
                for (target, digest), there in zip(frontier, found, strict=True)
                if not there
            ]
            lacking = set(missing)
            for target, digest in frontier:
                if (target, digest) not in lacking:
                    present[target].add(digest)
            wanted = list(dict.fromkeys(d for _, d in missing if kinds[d] and d not in manifests))
            fetched = self._run_all(
                lambda digest: source.get_manifest_by_digest(src.repository, digest), wanted
            )
            manifests.update(zip(wanted, fetched, strict=True))
            frontier = []
            for target, digest in missing:
                if not kinds[digest]:
                    continue
                manifest = manifests[digest]
                if manifest.is_index:
                    children = [c.digest for c in manifest.children if c.is_manifest]
                    kinds.update(dict.fromkeys(children, True))
                else:
                    children = [b.digest for b in manifest.blobs]
                    for child in children:
                        kinds.setdefault(child, False)
                frontier += [(target, child) for child in children]
        return SourceTree(src, tuple(dict.fromkeys(roots)), manifests), present

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
    ) -> None:
        digest = step.digest
        uploads = list(step.uploads)
        for target, origin in step.mounts:
            if not self._mount(clients[target], target, digest, origin):
                uploads.append(target)
        after = list(step.after)
        if not uploads:
            return
        if len(uploads) + len(after) == 1:
            (target,) = uploads
            self._once(
                (target.registry, target.repository, digest),
                lambda: self._stream(source, src, clients[target], target, step),
            )
            return
        spool = tmp / digest.replace(":", "-")
        try:
            source.download_blob(src.repository, digest, step.size, spool)

            def upload(target: Target) -> None:
                client = clients[target]
                self._once(
                    (target.registry, target.repository, digest),
                    lambda: self._push_file(client, target, digest, spool),
                )

            self._run_all(upload, uploads, workers=len(uploads))
            for target, origin in after:
                if not self._mount(clients[target], target, digest, origin):
                    upload(target)
        finally:
            spool.unlink(missing_ok=True)

    def _mount(self, client: RegistryClient, target: Target, digest: str, origin: str) -> bool:
        mounted = False

        def work() -> None:
            nonlocal mounted
            mounted = client.mount_blob(target.repository, digest, origin)
            if not mounted:
                raise _NotMounted

        try:
            self._once((target.registry, target.repository, digest), work)
        except _NotMounted:
            return False
        return True

    def _stream(
        self,
        source: RegistryClient,
        src: Target,
        client: RegistryClient,
        target: Target,
        step: BlobStep,
    ) -> None:
        """Download and upload at once: the chunks go to the target as they arrive."""
        what = f"copy blob {step.digest[:19]} ({step.size} bytes) to {target}"

        def attempt(n: int) -> None:
            if n > 1 and client.blob_present_once(target.repository, step.digest):
                return
            with source.open_blob(src.repository, step.digest, step.size) as chunks:
                client.upload_once(target.repository, step.digest, step.size, chunks)

        client.transport.retrying(what, attempt)

    def _push_file(self, client: RegistryClient, target: Target, digest: str, path: Path) -> None:
        size = path.stat().st_size
        what = f"upload blob {digest[:19]} ({size} bytes) to {target}"

        def attempt(n: int) -> None:
            if n > 1 and client.blob_present_once(target.repository, digest):
                return
            client.upload_once(target.repository, digest, size, path)

        client.transport.retrying(what, attempt)

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


class _NotMounted(Exception):
    """A mount answered 202: the blob must be uploaded instead."""
