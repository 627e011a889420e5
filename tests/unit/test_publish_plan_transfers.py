"""The transfer plan inside the publish plan, on plain data.

Three registries (hub is the primary); two PHP lines whose images share a base
layer. A registry here is the set of digests (manifests and blobs) it holds.
Each test observes as the stage does (``copies_to_observe``, then what each
registry but the primary holds of the indexes' trees, all the way down) and
plans with ``plan_publish``.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Mapping

from publisher.core import config
from publisher.core import plan as planning
from publisher.core.manifest import Manifest
from publisher.core.publish_plan import (
    Candidate,
    CopySource,
    Observed,
    PublishPlan,
    copies_to_observe,
    plan_publish,
)
from publisher.core.transfer_plan import SourceTree, Target
from publisher.core.version import parse_release
from tests.support.images import TestImage, digest_of, make_image, make_layer
from tests.support.matrices import acme_matrix

MATRIX = acme_matrix(registries=("hub", "ghcr", "quay"))

TARGETS = {
    "hub": Target("https://registry-1.docker.io", "acme/php-fpm"),
    "ghcr": Target("https://ghcr.io", "acme/php-fpm"),
    "quay": Target("https://quay.io", "acme/php-fpm"),
}

SHARED = make_layer(40_000, random.Random(3), "base")
LINES = {
    "8.3": make_image(seed=83, shared_layer=SHARED, layer_sizes=(9_000,), attestations=True),
    "8.4": make_image(seed=84, shared_layer=SHARED, layer_sizes=(7_000,)),
}


def manifests() -> dict[str, Manifest]:
    found = {}
    for image in LINES.values():
        for child in image.manifests:
            found[child.digest] = Manifest.parse(child.manifest, child.media_type)
        found[image.digest] = Manifest.parse(image.index, image.media_type)
    return found


def everything(*images: TestImage) -> set[str]:
    """Every digest of ``images``: indexes, manifests and blobs."""
    held: set[str] = set()
    for image in images:
        held |= {image.digest, *(m.digest for m in image.manifests), *image.blobs}
    return held


def unique_blobs() -> dict[str, int]:
    return {d: len(b) for image in LINES.values() for d, b in image.blobs.items()}


def candidates() -> dict[str, Candidate]:
    return {
        php: Candidate(
            php, image.digest, tuple(sorted((i.platform, i.digest) for i in image.images))
        )
        for php, image in LINES.items()
    }


def observe(held: Mapping[str, set[str]]) -> tuple[planning.Plan, Observed]:
    """What the stage observes when each registry holds ``held[name]``: the indexes
    present, then (``copies_to_observe``) every manifest and blob under them on every
    registry but the primary."""
    c = config.loads(MATRIX)
    p = planning.plan(c, parse_release("v1.0.0"), {name: [] for name in TARGETS})
    cands = candidates()
    observed = Observed(
        tags={name: {} for name in TARGETS},
        indexes={
            name: frozenset(i.digest for i in LINES.values() if i.digest in held[name])
            for name in TARGETS
        },
    )
    wanted = copies_to_observe(p, observed, cands, primary="hub")
    roots = tuple(dict.fromkeys(d for digests in wanted.values() for d in digests))
    present = {TARGETS[name]: frozenset(held[name]) for name in wanted}
    copies = CopySource(SourceTree(TARGETS["hub"], roots, manifests()), TARGETS, present, deep=True)
    return p, Observed(observed.tags, observed.indexes, copies=copies)


def publish(held: Mapping[str, set[str]], *, looked: bool = True) -> PublishPlan:
    """Plan publishing both lines as v1.0.0 when each registry holds ``held[name]``
    (``looked``: as observed, else without looking into the copies).

    The indexes are assembled by this run: the primary holds their children,
    not the indexes themselves (unless ``held`` says so).
    """
    p, observed = observe(held)
    if not looked:
        observed = Observed(observed.tags, observed.indexes)
    return plan_publish(p, observed, candidates(), primary="hub")


def primary_only() -> dict[str, set[str]]:
    """The builds pushed every platform image to the primary; nothing else anywhere."""
    images = everything(*LINES.values()) - {i.digest for i in LINES.values()}
    return {"hub": images, "ghcr": set(), "quay": set()}


def test_two_lines_sharing_a_layer_two_targets_every_blob_once_per_registry() -> None:
    plan = publish(primary_only())
    transfers = plan.transfers
    assert transfers is not None
    blobs = unique_blobs()
    assert [a.copy_to for a in plan.lines] == [("ghcr", "quay"), ("ghcr", "quay")]
    # One step per unique blob (the shared base layer once), downloaded once,
    # uploaded once to each target registry.
    assert sorted(s.digest for s in transfers.blobs) == sorted(blobs)
    assert all(set(s.uploads) == {TARGETS["ghcr"], TARGETS["quay"]} for s in transfers.blobs)
    assert transfers.download_count == len(blobs)
    total = sum(blobs.values())
    assert transfers.upload_bytes() == {"https://ghcr.io": total, "https://quay.io": total}
    # Manifests children first, the two indexes last, on each target.
    *children, roots = transfers.manifests
    assert {(s.target, s.digest) for s in roots} == {
        (TARGETS[n], i.digest) for n in ("ghcr", "quay") for i in LINES.values()
    }
    below = {s.digest for wave in children for s in wave}
    assert below == {m.digest for i in LINES.values() for m in i.manifests}
    summary = {row.target: row for row in transfers.summary()}
    for name in ("ghcr", "quay"):
        row = summary[TARGETS[name]]
        assert (row.uploads, row.upload_bytes, row.mounts) == (len(blobs), total, 0)
        assert row.manifests == len(below) + 2


def test_a_target_holding_some_blobs_gets_only_the_others() -> None:
    held = primary_only()
    base = digest_of(SHARED)
    eighty_three = LINES["8.3"]
    held["ghcr"] = {base} | set(eighty_three.blobs)  # an earlier, interrupted copy
    plan = publish(held)
    transfers = plan.transfers
    assert transfers is not None
    to_ghcr = {s.digest for s in transfers.blobs if TARGETS["ghcr"] in s.uploads}
    to_quay = {s.digest for s in transfers.blobs if TARGETS["quay"] in s.uploads}
    assert to_quay == set(unique_blobs())
    assert to_ghcr == set(LINES["8.4"].blobs) - {base}
    assert transfers.upload_bytes()["https://ghcr.io"] == sum(
        len(b) for d, b in LINES["8.4"].blobs.items() if d != base
    )
    # Every manifest is still put there: holding the blobs is not holding the images.
    puts = {s.digest for wave in transfers.manifests for s in wave if s.target == TARGETS["ghcr"]}
    assert puts == {i.digest for i in LINES.values()} | {
        m.digest for i in LINES.values() for m in i.manifests
    }


def test_a_registry_with_one_index_already_gets_only_the_other_line() -> None:
    held = primary_only()
    held["ghcr"] = everything(LINES["8.3"])
    plan = publish(held)
    assert [a.copy_to for a in plan.lines] == [("quay",), ("ghcr", "quay")]
    transfers = plan.transfers
    assert transfers is not None
    to_ghcr = {s.digest for s in transfers.blobs if TARGETS["ghcr"] in s.uploads}
    # The shared base layer is below the 8.3 index ghcr holds: not sent again.
    assert to_ghcr == set(LINES["8.4"].blobs) - {digest_of(SHARED)}
    assert LINES["8.3"].digest not in {
        s.digest for wave in transfers.manifests for s in wave if s.target == TARGETS["ghcr"]
    }


def test_nothing_to_copy_is_a_noop_that_still_looks_under_every_index() -> None:
    full = everything(*LINES.values())
    held = {name: set(full) for name in TARGETS}
    c = config.loads(MATRIX)
    p = planning.plan(c, parse_release("v1.0.0"), {name: [] for name in TARGETS})
    observed = Observed(
        tags={name: {} for name in TARGETS},
        indexes={name: frozenset(i.digest for i in LINES.values()) for name in TARGETS},
    )
    # Every index is looked into on every other registry, held or not: a registry
    # can lose a child or a blob under an index it holds.
    indexes = [i.digest for i in LINES.values()]
    assert copies_to_observe(p, observed, candidates(), primary="hub") == {
        "ghcr": indexes,
        "quay": indexes,
    }
    # deep=False (what bench/rerun_bench.py compares with): an index held is taken whole
    assert copies_to_observe(p, observed, candidates(), primary="hub", deep=False) == {}
    lacking = dataclasses.replace(
        observed, indexes={**observed.indexes, "quay": frozenset(indexes[1:])}
    )
    assert copies_to_observe(p, lacking, candidates(), primary="hub", deep=False) == {
        "quay": indexes[:1]
    }
    plan = publish(held)
    assert plan.transfers is not None and plan.transfers.is_noop
    assert all(not a.copy_to and not a.push for a in plan.lines)
    assert json.loads(plan.to_json())["transfers"] == {
        "blobs": [],
        "manifests": [],
        "downloads": 0,
        "upload_bytes": {},
    }


def test_the_plan_json_and_its_digest_cover_the_transfers() -> None:
    plan = publish(primary_only())
    data = json.loads(plan.to_json())
    assert data["schema"] == 3
    blobs = data["transfers"]["blobs"]
    assert {b["digest"] for b in blobs} == set(unique_blobs())
    assert all(b["upload"] == ["ghcr.io/acme/php-fpm", "quay.io/acme/php-fpm"] for b in blobs)
    # One blob more on a target changes the plan, and so its digest.
    held = primary_only()
    held["quay"] = {digest_of(SHARED)}
    other = publish(held)
    assert other.lines == plan.lines and other.pin_moves == plan.pin_moves
    assert other.transfers != plan.transfers
    assert other.digest != plan.digest
    assert publish(primary_only()).digest == plan.digest  # deterministic


def test_copies_not_looked_into_leave_the_transfer_plan_unknown() -> None:
    plan = publish(primary_only(), looked=False)
    assert plan.transfers is None
    assert json.loads(plan.to_json())["transfers"] is None


def test_a_registry_that_lost_an_image_under_an_index_it_holds_gets_that_image_back() -> None:
    held = {name: everything(*LINES.values()) for name in TARGETS}
    lost = LINES["8.4"].images[1]
    held["ghcr"] = held["ghcr"] - {lost.digest}
    plan = publish(held)
    assert [a.copy_to for a in plan.lines] == [(), ("ghcr",)]
    transfers = plan.transfers
    assert transfers is not None
    # Its blobs are there still: only the image manifest is put, not the index.
    assert transfers.blobs == ()
    assert [[(s.target, s.digest) for s in wave] for wave in transfers.manifests] == [
        [(TARGETS["ghcr"], lost.digest)]
    ]
    assert transfers.missing_roots == ()


def test_a_registry_that_lost_a_blob_under_an_image_it_holds_gets_that_blob_back() -> None:
    held = {name: everything(*LINES.values()) for name in TARGETS}
    layer = digest_of(LINES["8.3"].images[0].layers[-1])
    held["quay"] = held["quay"] - {layer}
    plan = publish(held)
    assert [a.copy_to for a in plan.lines] == [("quay",), ()]
    transfers = plan.transfers
    assert transfers is not None
    assert [(s.digest, s.uploads) for s in transfers.blobs] == [(layer, (TARGETS["quay"],))]
    assert transfers.manifests == ()
