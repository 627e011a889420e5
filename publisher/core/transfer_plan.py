"""The transfer plan: how images reach the registries that lack them, every blob once. Pure.

``plan_transfers(tree, present)`` takes the manifests read from the source
(``SourceTree``) and what each target repository already holds, and returns a
frozen ``TransferPlan``: for each unique blob, the mounts and uploads it needs
(one upload per target registry: other repositories of that registry mount it),
then the manifests each target lacks, children first, indexes last.

The publish plan (``publish_plan.plan_publish``) carries one for the whole
release; the engine in ``adapters/registry/transfer.py`` observes what this
module needs (reads the source's manifests, HEADs the targets) and executes the
plan.

A manifest present in a target is taken as complete there (its children and
blobs are present): registries refuse manifests whose content is missing, and a
copy pushes children before their parents. A registry can still lose a child or
a blob later (a garbage-collection bug, a restore from a backup, a manifest
deleted by hand): with ``exact``, ``present`` lists every digest found below the
roots (the observer checked below present manifests too), and whatever is not in
it is copied, under a present manifest as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from .manifest import Manifest


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
            return tuple(c.digest for c in manifest.children if c.names_manifest)
        return tuple(b.digest for b in manifest.blobs)

    def below(self, digest: str) -> set[str]:
        """Every digest under ``digest`` (manifests and blobs; none under a manifest
        not read)."""
        found: set[str] = set()
        todo = [digest]
        while todo:
            current = todo.pop()
            if current not in self.manifests:
                continue
            for child in self.children(current):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

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

    def to_dict(self) -> dict[str, object]:
        return {
            "digest": self.digest,
            "size": self.size,
            "mount": [{"to": str(t), "from": origin} for t, origin in self.mounts],
            "upload": [str(t) for t in self.uploads],
            "mount_after_upload": [{"to": str(t), "from": origin} for t, origin in self.after],
        }


@dataclass(frozen=True)
class ManifestStep:
    target: Target
    digest: str


@dataclass(frozen=True)
class TargetSummary:
    """What a plan does to one target repository (for ``--dry-run``)."""

    target: Target
    uploads: int = 0
    upload_bytes: int = 0
    mounts: int = 0
    manifests: int = 0


@dataclass(frozen=True)
class TransferPlan:
    """Blob steps (largest first), then manifest pushes in waves: children first, roots last."""

    blobs: tuple[BlobStep, ...] = ()
    manifests: tuple[tuple[ManifestStep, ...], ...] = ()
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

    def summary(self) -> tuple[TargetSummary, ...]:
        """Per target repository, in target order: blobs uploaded (and bytes), blobs
        mounted, manifests put."""
        counts: dict[Target, list[int]] = {}

        def add(target: Target, slot: int, amount: int = 1) -> None:
            counts.setdefault(target, [0, 0, 0, 0])[slot] += amount

        for step in self.blobs:
            for target in step.uploads:
                add(target, 0)
                add(target, 1, step.size)
            for target, _origin in (*step.mounts, *step.after):
                add(target, 2)
        for wave in self.manifests:
            for manifest in wave:
                add(manifest.target, 3)
        return tuple(TargetSummary(t, *counts[t]) for t in sorted(counts))

    def to_dict(self) -> dict[str, object]:
        return {
            "blobs": [step.to_dict() for step in self.blobs],
            "manifests": [
                [{"to": str(s.target), "digest": s.digest} for s in wave] for wave in self.manifests
            ],
            "downloads": self.download_count,
            "upload_bytes": {
                registry.split("://")[-1]: size
                for registry, size in sorted(self.upload_bytes().items())
            },
        }


def plan_transfers(
    tree: SourceTree, present: Mapping[Target, Set[str]], *, exact: bool = False
) -> TransferPlan:
    """What each target in ``present`` lacks, and how it gets there. Pure.

    ``present[target]`` holds the digests (manifests and blobs) known to be in
    that repository; a digest not in it counts as missing, except below a present
    manifest, which counts as complete. With ``exact``, ``present`` was checked
    all the way down: below a present manifest too, a digest not in it is missing.
    Every root and every manifest below a root that some target lacks (with
    ``exact``: every manifest below a root) must be in ``tree.manifests``.
    """
    sizes = tree.blob_sizes()
    height: dict[str, int] = {}

    def depth(digest: str) -> int:
        """0 for an image manifest, 1 + the deepest child for an index."""
        if digest not in height:
            kids = [d for d in tree.children(digest) if d in tree.manifests]
            height[digest] = 1 + max((depth(d) for d in kids), default=-1) if kids else 0
        return height[digest]

    targets = sorted(present)
    holds: dict[Target, set[str]] = {}
    lacks_blobs: dict[Target, list[str]] = {}
    lacks_manifests: dict[Target, list[str]] = {}
    for target in targets:
        holds[target], lacks_blobs[target], lacks_manifests[target] = _lacking(
            tree, present[target], exact
        )

    steps: list[BlobStep] = []
    order = list(dict.fromkeys(b for t in targets for b in lacks_blobs[t]))
    for digest in sorted(order, key=lambda d: -sizes.get(d, 0)):
        mounts: list[tuple[Target, str]] = []
        uploads: list[Target] = []
        after: list[tuple[Target, str]] = []
        lacking = [t for t in targets if digest in lacks_blobs[t]]
        for registry in dict.fromkeys(t.registry for t in lacking):
            here = [t for t in lacking if t.registry == registry]
            holder = _holder(tree, targets, holds, registry, digest)
            if holder is not None:
                mounts += [(t, holder) for t in here]
            else:
                uploads.append(here[0])
                after += [(t, here[0].repository) for t in here[1:]]
        steps.append(
            BlobStep(digest, sizes.get(digest, 0), tuple(mounts), tuple(uploads), tuple(after))
        )

    waves: dict[int, list[ManifestStep]] = {}
    for target in targets:
        for digest in lacks_manifests[target]:
            waves.setdefault(depth(digest), []).append(ManifestStep(target, digest))
    roots = tuple(
        ManifestStep(t, r) for t in targets for r in tree.roots if r in lacks_manifests[t]
    )
    return TransferPlan(
        blobs=tuple(steps),
        manifests=tuple(tuple(waves[h]) for h in sorted(waves)),
        missing_roots=roots,
    )


def _holder(
    tree: SourceTree,
    targets: list[Target],
    holds: Mapping[Target, set[str]],
    registry: str,
    digest: str,
) -> str | None:
    """A repository of ``registry`` that holds ``digest`` already (to mount from), if any."""
    if tree.source.registry == registry:
        return tree.source.repository
    return next(
        (t.repository for t in targets if t.registry == registry and digest in holds[t]), None
    )


def _lacking(
    tree: SourceTree, present: Set[str], exact: bool = False
) -> tuple[set[str], list[str], list[str]]:
    """What one target holds (present, and below present manifests unless ``exact``),
    the blobs it lacks, and the manifests it lacks (children before parents)."""
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
        if digest in have and not (exact and digest in tree.manifests):
            complete(digest)
        elif digest not in tree.manifests:
            blobs.append(digest)
        else:
            for child in tree.children(digest):
                walk(child)
            if digest not in have:
                manifests.append(digest)

    for root in tree.roots:
        walk(root)
    return have, [b for b in blobs if b not in have], manifests
