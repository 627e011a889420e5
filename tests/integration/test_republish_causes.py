"""A republish's causes come from what the run read already (real registries).

Two PHP lines on two registries, each behind a counting proxy: a release, then a
republish of new images (another build of the same base and Dockerfile). What gave each
line new images (``rebuild_cause``) is judged from the manifests and image configs the
run holds (the rebuilt images, which assembling the indexes read) and, read once before
any tag moves, the published ones it lacks: no manifest nor config is read twice on the
primary for it, and a primary that stops answering once the tags moved neither delays
nor fails the notes. Published images the primary does not answer for are said not
known, after one wait (nothing more is read once a read failed)."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core import notes as notes_mod
from publisher.core.records import DigestRecord
from publisher.core.version import parse_release
from publisher.resolve import DOCKERFILE_LABEL
from publisher.stages.publish import Publisher, PublishOptions
from tests.support.faultproxy import Fault, FaultProxy, Outage
from tests.support.images import TestImage, digest_of, make_image

pytestmark = pytest.mark.integration

RELEASE = "v1.0.0"
LINES = ("8.3", "8.4")
#: The primary's client timeout: a read the primary never answers waits this long.
TIMEOUT = 3.0


class StepOutput(Output):
    """An ``Output`` that calls ``at_step`` with each step's title as the step begins."""

    def __init__(self, at_step: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at_step = at_step

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.at_step(title)
        with super().step(title):
            yield


def test_a_republish_s_causes_read_nothing_twice_and_never_wait_on_the_primary(
    registry: Any,
    second_registry: Any,
    repo: str,
    proxy_for: Callable[[Any], FaultProxy],
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    primary, mirror = proxy_for(registry), proxy_for(second_registry)
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{primary.host}/{repo}", True), ("mirror", f"{mirror.host}/{repo}", False)],
        lines=LINES,
    )
    cfg = config_mod.load(matrix, {})
    notes = tmp_path / "notes"
    notes.mkdir()

    def built(created: str) -> tuple[dict[str, TestImage], list[DigestRecord]]:
        label = {"org.opencontainers.image.created": created}
        images = {php: make_image(labels=label) for php in LINES}
        for image in images.values():
            for platform_image in image.images:
                seed(registry, repo, platform_image)
        records = [
            DigestRecord(
                RELEASE,
                php,
                p.platform,
                cfg.primary.repository.name,
                p.digest,
                "php:stand-in",
                "sha256:" + "b" * 64,
                "buildah",
                "sha256:" + "d" * 64,
            )
            for php, image in images.items()
            for p in image.images
        ]
        return images, records

    def run(records: list[DigestRecord], reason: str | None, outage: Outage | None = None) -> float:
        """The publish stage (``reason``: a republish); with ``outage``, the primary stops
        answering as the notes' step begins. The primary's reads are counted afresh;
        returns how long the notes' step took."""
        began: list[float] = []

        def at_step(title: str) -> None:
            if title.startswith("8/8"):
                began.append(time.monotonic())
                before.update(primary.reads_by_digest())
                if outage is not None:
                    primary.add(outage)

        primary.reset_counts()
        before: Counter[str] = Counter()
        output = StepOutput(at_step, env={}, stream=io.StringIO(), err_stream=io.StringIO())
        clients = {
            r.name: RegistryClient(r.host, plain_http=True, name=r.name, timeout=TIMEOUT)
            for r in cfg.registries
        }
        options = PublishOptions(notes_dir=notes, republish_reason=reason)
        Publisher(cfg, parse_release(RELEASE), clients, output, options).run(records)
        took = time.monotonic() - began[0]
        assert primary.reads_by_digest() == before, "the notes' step read the primary"
        return took

    def said(old: str, new: str) -> str:
        """The cause of a rebuild whose images differ from the published ones by their
        creation label and layers (the test images carry no Dockerfile label)."""
        return (
            f"same base; the Dockerfile of the published images is not known (they carry no "
            f"{DOCKERFILE_LABEL} label: an earlier publisher built them); the build differs: "
            f"label org.opencontainers.image.created {old} -> {new}; its layers"
        )

    def causes() -> list[str]:
        entry = notes_mod.load_record(notes, RELEASE).history[-1]  # type: ignore[union-attr]
        return [cause for _php, cause in entry.causes]

    published, released = built("2026-01-01T00:00:00Z")
    run(released, None)
    rebuilt, again = built("2026-01-02T00:00:00Z")
    run(again, "weekly")
    assert causes() == [said("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")] * len(LINES)
    counts = primary.reads_by_digest()
    # Each published image (the record names them) and its config read once, for the
    # causes; each rebuilt image's config once, by assembling its line's index (the causes
    # take it from there); its manifest by assembling and by verification, which reads
    # what the primary holds once the index is pushed (never what the run holds).
    for image in (i for line in published.values() for i in line.images):
        assert counts[image.digest] == 1, image.platform
        assert counts[digest_of(image.config)] == 1, image.platform
    for image in (i for line in rebuilt.values() for i in line.images):
        assert counts[image.digest] == 2, image.platform
        assert counts[digest_of(image.config)] == 1, image.platform

    # The primary stops answering once the tags moved (it takes each request and never
    # answers): the notes are written at once, every cause known.
    rebuilt_too, third = built("2026-01-03T00:00:00Z")
    took = run(third, "weekly", Outage("hang", trigger_method="GET", methods=("GET", "HEAD")))
    assert took < TIMEOUT, took
    assert causes() == [said("2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")] * len(LINES)

    # The published images cannot be read (the primary takes the first read and never
    # answers it): the causes say so, after one wait, not one per image; the notes are
    # written all the same.
    held = "|".join(i.digest for line in rebuilt_too.values() for i in line.images)
    hang = Fault("hang", method="GET", path=f"/manifests/({held})$", times=None)
    primary.clear()  # (the outage above ends)
    primary.add(hang)
    _, fourth = built("2026-01-04T00:00:00Z")
    run(fourth, "weekly")
    assert hang.fired == 1
    assert causes() == [
        "same base; the Dockerfile of the published images is not known (they carry no "
        f"{DOCKERFILE_LABEL} label: an earlier publisher built them); the build differs: "
        "the published image's config could not be read"
    ] * len(LINES)
