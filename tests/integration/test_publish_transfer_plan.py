"""The publish stage executes the transfer plan its dry run prints (real registries).

Two PHP lines sharing a base layer, built stand-ins seeded on the primary (their
platform images only, as build legs leave them), two other registries, every
registry behind a counting proxy: ``publish --dry-run --json`` prints a plan
whose transfer plan names every blob once per registry, and sends no mutating
request; the real run executes exactly that plan (same digest, recorded in the
notes), uploading each blob once per registry and downloading it once; a rerun
has nothing to copy and sends no mutating request. Legs as buildx pushes them (with
attestation manifests): the same, and what a registry lost under an index it holds
(an attestation manifest, a blob) is planned and copied back, nothing more.
"""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core import plan as planning
from publisher.core.errors import NotFoundError, PublisherError, UsageError
from publisher.core.records import DigestRecord
from publisher.core.version import parse_release
from publisher.resolve import sha256_digest
from publisher.stages.audit import audit
from publisher.stages.publish import Publisher, PublishOptions, PublishResult
from publisher.stages.verify import defects_hint, existing_tags, load_published, verify_release
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import (
    OCI_INDEX,
    TestImage,
    canonical,
    make_image,
    make_layer,
    raw_delete_blob,
    raw_delete_manifest,
    raw_put_manifest,
)

pytestmark = pytest.mark.integration

RELEASE = "v1.0.0"


def test_publish_executes_the_transfer_plan_its_dry_run_prints(
    registry: Any,
    second_registry: Any,
    fresh_registry: Callable[..., Any],
    repo: str,
    proxy_for: Callable[[Any], FaultProxy],
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    shared = make_layer(60_000, random.Random(), "base")
    lines: dict[str, TestImage] = {
        "8.3": make_image(layer_sizes=(30_000,), shared_layer=shared),
        "8.4": make_image(layer_sizes=(20_000,), shared_layer=shared),
    }
    for image in lines.values():
        for platform_image in image.images:
            seed(registry, repo, platform_image)
    blobs = {d: len(b) for image in lines.values() for d, b in image.blobs.items()}

    primary = proxy_for(registry)
    others = {"mirror": proxy_for(second_registry), "backup": proxy_for(fresh_registry())}
    proxies = {"hub": primary, **others}
    matrix = write_matrix(
        tmp_path,
        [(name, f"{p.host}/{repo}", name == "hub") for name, p in proxies.items()],
    )
    cfg = config_mod.load(matrix, {})
    records = [
        DigestRecord(
            RELEASE,
            php,
            platform_image.platform,
            cfg.primary.repository.name,
            platform_image.digest,
            "php:stand-in",
            None,
            "buildah",
            "sha256:" + "0" * 64,
        )
        for php, image in lines.items()
        for platform_image in image.images
    ]
    notes = tmp_path / "notes"
    notes.mkdir()

    def run(*, dry_run: bool) -> tuple[PublishResult, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        output = Output(env={}, stream=stdout, err_stream=stderr, quiet=dry_run)
        clients = {
            r.name: RegistryClient(r.host, plain_http=True, name=r.name) for r in cfg.registries
        }
        options = PublishOptions(notes_dir=notes, dry_run=dry_run, json_plan=dry_run, transfers=16)
        publisher = Publisher(cfg, parse_release(RELEASE), clients, output, options)
        return publisher.run(records), stdout.getvalue()

    dry, printed = run(dry_run=True)
    assert all(p.mutating_requests == 0 for p in proxies.values())
    plan = json.loads(printed)
    transfers = plan["transfers"]
    mirror_repo = f"{others['mirror'].host}/{repo}"
    backup_repo = f"{others['backup'].host}/{repo}"
    assert sorted(b["digest"] for b in transfers["blobs"]) == sorted(blobs)
    assert all(
        sorted(b["upload"]) == sorted([mirror_repo, backup_repo]) for b in transfers["blobs"]
    )
    assert transfers["downloads"] == len(blobs)
    assert dry.publish_plan is not None and dry.publish_plan.transfers is not None
    assert "sha256:" in dry.publish_plan.digest

    for proxy in proxies.values():
        proxy.reset_counts()
    real, _ = run(dry_run=False)
    assert real.publish_plan is not None
    assert real.publish_plan.transfers == dry.publish_plan.transfers
    assert real.publish_plan.digest == dry.publish_plan.digest
    assert real.facts is not None and real.facts.publish_plan_sha256 == dry.publish_plan.digest
    assert primary.downloads_by_digest() == Counter(set(blobs))  # each blob downloaded once
    for proxy in others.values():
        assert proxy.uploads_by_digest() == Counter(set(blobs))  # and uploaded once per registry
        assert proxy.uploaded_bytes == sum(blobs.values())

    for proxy in proxies.values():
        proxy.reset_counts()
    again, _ = run(dry_run=False)
    assert again.publish_plan is not None and again.publish_plan.transfers is not None
    assert again.publish_plan.transfers.is_noop
    assert all(not a.copy_to for a in again.publish_plan.lines)
    assert all(p.mutating_requests == 0 for p in proxies.values())


def test_a_leg_index_whose_attestation_is_no_manifest_is_refused_not_a_crash(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """A leg's record names an index (buildx's image plus its attestations) whose
    attestation entry (``unknown/unknown``) has a media type no index may carry and no
    annotation calling it an attestation manifest (one annotated so is a manifest
    whatever its media type, as the copies take it): the publish refuses it, naming the
    leg to build again, before anything is written."""
    image = make_image(platforms=["linux/amd64"], attestations=True)
    seed(registry, repo, image)
    data = json.loads(image.index)
    for entry in data["manifests"]:
        if entry["platform"]["os"] == "unknown":
            entry["mediaType"] = "application/vnd.example.unknown+json"
            del entry["annotations"]
    index = canonical(data)
    digest = raw_put_manifest(f"http://{registry.host}", repo, index, OCI_INDEX)
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{registry.host}/{repo}", True)],
        lines=("8.4",),
        platforms=("linux/amd64",),
    )
    cfg = config_mod.load(matrix, {})
    record = DigestRecord(
        RELEASE, "8.4", "linux/amd64", cfg.primary.repository.name, digest, "php", None,
        "buildx", "sha256:" + "0" * 64,
    )  # fmt: skip
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    clients = {"hub": RegistryClient(registry.host, plain_http=True, name="hub")}
    options = PublishOptions(notes_dir=tmp_path / "notes", dry_run=True)
    publisher = Publisher(cfg, parse_release(RELEASE), clients, output, options)
    with pytest.raises(UsageError, match="cannot be carried into the line's index") as caught:
        publisher.run([record])
    assert "--rebuild" in (caught.value.hint or "")


@dataclass
class BuildxLegs:
    """Legs as buildx pushes them (each an index of its image and an attestation
    manifest), seeded on the primary "hub"; "hub" and "mirror" each behind a counting
    proxy; the publish stage run over the legs' records (``buildx_legs``)."""

    legs: dict[tuple[str, str], TestImage]
    primary: FaultProxy
    mirror: FaultProxy
    cfg: config_mod.Config
    records: list[DigestRecord]
    notes: Path
    #: What each run printed, in order.
    said: list[str] = field(default_factory=list)

    def clients(self) -> dict[str, RegistryClient]:
        return {
            r.name: RegistryClient(r.host, plain_http=True, name=r.name)
            for r in self.cfg.registries
        }

    def run(self, *, dry_run: bool, rehearsal: bool = False) -> PublishResult:
        """The publish stage (``dry_run``: its dry run, the plan printed as JSON; ``rehearsal``:
        as ``release --local`` runs it), counted afresh on both proxies; what it printed is
        added to ``said``."""
        for proxy in (self.primary, self.mirror):
            proxy.reset_counts()
        stdout, stderr = io.StringIO(), io.StringIO()
        output = Output(env={}, stream=stdout, err_stream=stderr, quiet=dry_run)
        options = PublishOptions(
            notes_dir=self.notes, dry_run=dry_run, json_plan=dry_run, rehearsal=rehearsal
        )
        publisher = Publisher(self.cfg, parse_release(RELEASE), self.clients(), output, options)
        try:
            return publisher.run(self.records)
        finally:
            self.said.append(stdout.getvalue() + stderr.getvalue())

    def wrote_nothing(self) -> bool:
        """Neither proxy saw a mutating request since the last run began."""
        return all(p.mutating_requests == 0 for p in (self.primary, self.mirror))


@pytest.fixture
def buildx_legs(
    registry: Any,
    second_registry: Any,
    repo: str,
    proxy_for: Callable[[Any], FaultProxy],
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> Callable[[tuple[str, ...]], BuildxLegs]:
    """``BuildxLegs`` of the given lines, each on linux/amd64 and linux/arm64."""

    def make(lines: tuple[str, ...]) -> BuildxLegs:
        legs = {
            (php, platform): make_image(platforms=[platform], attestations=True)
            for php in lines
            for platform in ("linux/amd64", "linux/arm64")
        }
        for leg in legs.values():
            seed(registry, repo, leg)
        primary, mirror = proxy_for(registry), proxy_for(second_registry)
        matrix = write_matrix(
            tmp_path,
            [("hub", f"{primary.host}/{repo}", True), ("mirror", f"{mirror.host}/{repo}", False)],
            lines=lines,
        )
        cfg = config_mod.load(matrix, {})
        records = [
            DigestRecord(
                RELEASE, php, platform, cfg.primary.repository.name, sha256_digest(leg.index),
                "php:stand-in", None, "buildx", "sha256:" + "0" * 64,
            )
            for (php, platform), leg in legs.items()
        ]  # fmt: skip
        (tmp_path / "notes").mkdir()
        return BuildxLegs(legs, primary, mirror, cfg, records, tmp_path / "notes")

    return make


def test_attestations_under_the_indexes_are_checked_and_restored_without_a_needless_write(
    buildx_legs: Callable[[tuple[str, ...]], BuildxLegs], second_registry: Any, repo: str
) -> None:
    """Legs as buildx pushes them (each an index of its image and an attestation
    manifest): a rerun with nothing changed sends no mutating request; after the mirror
    lost an attestation manifest and a blob of another, the dry run plans their copies
    and the rerun makes exactly those, then again nothing."""
    legs = buildx_legs(("8.3", "8.4"))

    def plan(*, dry_run: bool) -> Any:
        result = legs.run(dry_run=dry_run)
        assert result.publish_plan is not None and result.publish_plan.transfers is not None
        return result.publish_plan

    plan(dry_run=False)
    assert plan(dry_run=False).transfers.is_noop
    assert legs.wrote_nothing()

    attestation = legs.legs[("8.3", "linux/amd64")].attestations[0]
    image = legs.legs[("8.4", "linux/arm64")].attestations[0]
    blob = next(iter(image.blobs))
    raw_delete_manifest(f"http://{second_registry.host}", repo, attestation.digest)
    raw_delete_blob(f"http://{second_registry.host}", repo, blob)
    dry = plan(dry_run=True)
    assert legs.wrote_nothing()
    assert [a.copy_to for a in dry.lines] == [("mirror",), ("mirror",)]
    assert [s.digest for wave in dry.transfers.manifests for s in wave] == [attestation.digest]
    assert [b.digest for b in dry.transfers.blobs] == [blob]
    real = plan(dry_run=False)
    assert real.transfers == dry.transfers
    assert legs.mirror.uploads_by_digest() == Counter({blob: 1})
    mirror_repo = next(r for r in legs.cfg.registries if r.name == "mirror").repository.name
    for php, restored in (("8.3", "1 manifest"), ("8.4", "1 blob")):
        digest = next(a.digest for a in real.lines if a.php == php)
        assert (
            f"PHP {php}: {mirror_repo} had lost part of {digest}: restored {restored}\n"
            in legs.said[-1]
        ), legs.said[-1]
    assert plan(dry_run=False).transfers.is_noop
    assert legs.wrote_nothing()


@pytest.mark.parametrize("rehearsal", [False, True], ids=["release", "rehearsal"])
def test_a_refused_pin_says_a_rerun_writes_the_rest_but_in_a_rehearsal(
    buildx_legs: Callable[[tuple[str, ...]], BuildxLegs], rehearsal: bool
) -> None:
    """A registry refuses a pin: the tip says the run stopped while writing its pins and
    that a rerun of the same command writes the rest. Not in a rehearsal, whose throwaway
    registries stop with it (its rerun rehearses again on new ones): it said so there too."""
    legs = buildx_legs(("8.4",))
    refused = Fault("status", method="PUT", path=r"/manifests/v1\.0\.0-php-8\.4$", status=400)
    legs.mirror.add(refused)
    with pytest.raises(PublisherError) as caught:
        legs.run(dry_run=False, rehearsal=rehearsal)
    assert refused.fired == 1, legs.said[-1]
    hint = caught.value.hint or ""
    assert ("this run stopped while writing its pins" in hint) is not rehearsal, hint
    assert ("a rerun of the same command writes the rest" in hint) is not rehearsal, hint
    # the pins it wrote and those it did not, named in the tip itself (the log, the
    # annotation and the step summary all show it; above it in the summary is the plan)
    wrote = (
        "it wrote v1.0.0-php-8.4, v1.0.0 on hub and none on mirror "
        "(not v1.0.0-php-8.4, v1.0.0 on mirror)"
    )
    assert (wrote in hint) is not rehearsal, hint
    assert "listed above" not in hint, hint


def test_every_pin_refused_in_a_group_is_named_not_only_the_first(
    buildx_legs: Callable[[tuple[str, ...]], BuildxLegs],
) -> None:
    """Both pins of the mirror refused: every pin of the group is tried, the first refusal
    in the plan's order is the error and the other is said beside it (it was not said, and
    before every pin was tried, not even tried)."""
    legs = buildx_legs(("8.3", "8.4"))
    faults = {
        php: Fault("status", method="PUT", path=rf"/manifests/v1\.0\.0-php-{php}$", status=400)
        for php in ("8.3", "8.4")
    }
    legs.mirror.add(*faults.values())
    with pytest.raises(PublisherError) as caught:
        legs.run(dry_run=False)
    assert [f.fired for f in faults.values()] == [1, 1], legs.said[-1]
    raised = [php for php in faults if f":v1.0.0-php-{php}:" in caught.value.message]
    assert len(raised) == 1, caught.value.message
    other = "8.4" if raised == ["8.3"] else "8.3"
    warned = [ln for ln in legs.said[-1].splitlines() if "also not written:" in ln]
    assert len(warned) == 1 and f":v1.0.0-php-{other}:" in warned[0], legs.said[-1]
    assert "(HTTP 400)" in warned[0], warned


def test_an_attestation_manifest_the_primary_lost_is_refused_by_name_before_any_write(
    buildx_legs: Callable[[tuple[str, ...]], BuildxLegs], registry: Any, repo: str
) -> None:
    """The primary lost an attestation manifest under a published index (legs as buildx
    pushes them): the rerun, dry or real, names it with the registry that still holds
    it and the repair, and writes nothing; the repair it names puts it back, and the
    rerun then has nothing to do; verify names it with the same repair. The image under a leg's index is named the same way."""
    legs = buildx_legs(("8.4",))
    cfg, notes = legs.cfg, legs.notes
    legs.run(dry_run=False)
    assert (notes / f"{RELEASE}.json").exists()
    lost = legs.legs[("8.4", "linux/arm64")].attestations[0].digest
    raw_delete_manifest(f"http://{registry.host}", repo, lost)
    for dry_run in (True, False):
        with pytest.raises(NotFoundError) as caught:
            legs.run(dry_run=dry_run)
        assert legs.wrote_nothing()
        said = caught.value.message
        assert f"PHP 8.4 linux/arm64 attestation manifest {lost} (still on mirror)" in said, said
        assert "hub does not hold" in said, said
        assert "`publisher audit --repair`" in (caught.value.hint or "")

    # verify names it too, and the same repair
    clients = legs.clients()
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    existing, _ = existing_tags(cfg, clients)
    release = parse_release(RELEASE)
    _, record = load_published(cfg, notes, release, output)
    plan = planning.plan(cfg, release, existing)
    report = verify_release(cfg, plan, clients, output, record=record)
    assert [(d.registry, d.kind) for d in report.defects] == [("hub", "child-missing")]
    assert f"attestation manifest {lost[:19]}" in report.defects[0].message
    hint = " ".join(defects_hint(report).split())
    assert "without one of the manifests it lists (an image, an attestation manifest)" in hint
    assert "`publisher audit --repair` copies it back" in hint, hint

    connect = lambda r: clients[r.name]  # noqa: E731
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    assert audit(cfg, notes, connect, output, repair=True).ok
    assert legs.run(dry_run=False).publish_plan.transfers.is_noop  # type: ignore[union-attr]
    assert legs.wrote_nothing()

    image = legs.legs[("8.4", "linux/arm64")].images[0].digest  # the image under a leg's index
    raw_delete_manifest(f"http://{registry.host}", repo, image)  # (the same)
    with pytest.raises(
        NotFoundError, match=rf"PHP 8\.4 linux/arm64 image {image} \(still on mirror\)"
    ):
        legs.run(dry_run=True)
