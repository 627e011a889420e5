"""The transfer plan: pure, from the source's manifests and what each target holds."""

from __future__ import annotations

import json
import random

from publisher.adapters.registry.transfer import DEFAULT_TRANSFERS
from publisher.core.manifest import Manifest
from publisher.core.transfer_plan import SourceTree, Target, TransferPlan, plan_transfers
from tests.support.images import (
    IN_TOTO,
    OCI_INDEX,
    TestImage,
    canonical,
    digest_of,
    make_image,
    make_layer,
)

SRC = Target("http://primary", "acme/php")
A = Target("http://second", "acme/php")
B = Target("http://third", "acme/php")
A2 = Target("http://second", "acme/php-mirror")

SHARED = make_layer(5000, random.Random(7), "base")


def release(*images: TestImage) -> SourceTree:
    manifests = {}
    for image in images:
        for child in image.manifests:
            manifests[child.digest] = Manifest.parse(child.manifest, child.media_type)
        manifests[image.digest] = Manifest.parse(image.index, image.media_type)
    return SourceTree(SRC, tuple(i.digest for i in images), manifests)


def two_lines() -> tuple[TestImage, TestImage]:
    return (
        make_image(seed=1, shared_layer=SHARED, attestations=True),
        make_image(seed=2, shared_layer=SHARED),
    )


def unique_blobs(*images: TestImage) -> dict[str, int]:
    blobs: dict[str, int] = {}
    for image in images:
        blobs.update({d: len(b) for d, b in image.blobs.items()})
    return blobs


def test_every_blob_once_per_registry_and_one_download_for_two_registries() -> None:
    one, two = two_lines()
    blobs = unique_blobs(one, two)
    plan = plan_transfers(release(one, two), {A: set(), B: set()})
    assert sorted(s.digest for s in plan.blobs) == sorted(blobs)  # each unique blob one step
    assert all(set(s.uploads) == {A, B} and not s.mounts and not s.after for s in plan.blobs)
    assert plan.download_count == len(blobs)
    assert plan.upload_bytes() == {
        "http://second": sum(blobs.values()),
        "http://third": sum(blobs.values()),
    }
    sizes = [s.size for s in plan.blobs]
    assert sizes == sorted(sizes, reverse=True)  # largest first


def test_manifests_go_children_first_then_the_indexes() -> None:
    one, two = two_lines()
    plan = plan_transfers(release(one, two), {A: set()})
    assert len(plan.manifests) == 2
    children, roots = plan.manifests
    assert {s.digest for s in roots} == {one.digest, two.digest}
    assert {s.digest for s in children} == {m.digest for m in [*one.manifests, *two.manifests]}
    assert {(s.target, s.digest) for s in plan.missing_roots} == {
        (A, one.digest),
        (A, two.digest),
    }


def test_an_attestation_listed_with_a_blob_media_type_is_copied_as_a_manifest() -> None:
    """A hand-made index lists its attestation manifests with their in-toto content's media
    type: each is still a manifest to copy before the index, its blobs with it; it was
    left out, and the other registry refused the index for a child it did not hold."""
    image = make_image(seed=3, attestations=True)
    index = json.loads(image.index)
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest":
            entry["mediaType"] = IN_TOTO
    odd = TestImage(canonical(index), OCI_INDEX, image.images, image.attestations)
    plan = plan_transfers(release(odd), {A: set()})
    children, roots = plan.manifests
    assert {s.digest for s in roots} == {odd.digest}
    assert {s.digest for s in children} == {m.digest for m in odd.manifests}
    assert {a.digest for a in odd.attestations} <= {s.digest for s in children}
    assert {b.digest for b in plan.blobs} == set(unique_blobs(odd))


def test_two_repositories_of_one_registry_upload_once_and_mount() -> None:
    one, two = two_lines()
    plan = plan_transfers(release(one, two), {A: set(), A2: set()})
    for step in plan.blobs:
        assert step.uploads == (A,)
        assert step.after == ((A2, A.repository),)
    assert plan.upload_bytes() == {"http://second": sum(unique_blobs(one, two).values())}


def test_within_the_source_registry_every_blob_is_mounted() -> None:
    one, _ = two_lines()
    same = Target(SRC.registry, "acme/php-copy")
    plan = plan_transfers(release(one), {same: set()})
    assert plan.download_count == 0
    assert all(s.mounts == ((same, SRC.repository),) and not s.uploads for s in plan.blobs)


def test_a_blob_held_by_another_repository_of_the_registry_is_mounted_from_it() -> None:
    one, _ = two_lines()
    layer = digest_of(SHARED)
    plan = plan_transfers(release(one), {A: {layer}, A2: set()})
    step = next(s for s in plan.blobs if s.digest == layer)
    assert step.mounts == ((A2, A.repository),) and not step.uploads
    assert layer not in {s.digest for s in plan.blobs if s.uploads}


def test_present_manifests_count_as_complete() -> None:
    one, two = two_lines()
    tree = release(one, two)
    # The first line's index is there: nothing below it is planned for that target.
    plan = plan_transfers(tree, {A: {one.digest}})
    assert one.digest not in {s.digest for wave in plan.manifests for s in wave}
    planned = {s.digest for s in plan.blobs}
    assert digest_of(SHARED) not in planned  # held below the present index
    assert planned == set(unique_blobs(two)) - set(unique_blobs(one))
    # A present image manifest: its blobs are not planned.
    image = two.images[0]
    plan = plan_transfers(tree, {A: {one.digest, image.digest}})
    assert not set(image.blobs) & {s.digest for s in plan.blobs}


def test_nothing_missing_is_a_noop() -> None:
    one, two = two_lines()
    plan = plan_transfers(release(one, two), {A: {one.digest, two.digest}})
    assert plan == TransferPlan(blobs=(), manifests=(), missing_roots=())
    assert plan.is_noop


def test_the_cli_default_matches_the_engine() -> None:
    from publisher.cli import options

    assert options.TRANSFERS == DEFAULT_TRANSFERS
