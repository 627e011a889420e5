"""The verify stage's inspection names what is missing: a config or a layer blob (fake client)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from publisher.adapters.registry import OCI_INDEX, OCI_MANIFEST, Manifest, sha256_digest
from publisher.core.errors import DamagedBlobError, InvalidResponseError
from publisher.core.platforms import Platform
from publisher.core.publish_plan import AUDIT_REPAIRS_IMAGE, moved_pins_tip
from publisher.core.verify_rules import (
    BuiltAs,
    DamagedBlob,
    ImageFacts,
    LineExpectation,
    TagFacts,
    build_report,
    check_image,
)
from publisher.resolve import short_digest as short
from publisher.stages.verify import (
    check_index,
    defects_error,
    defects_hint,
    inspect_index,
    report_rows,
)
from tests.support.fake_registry import FakeRegistryClient
from tests.support.matrices import acme_config


def blob(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


def image_manifest(config: str, layers: list[str]) -> Manifest:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config,
                "size": 10,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": d,
                    "size": 100,
                }
                for d in layers
            ],
        }
    ).encode()
    return Manifest.parse(body, OCI_MANIFEST)


def arm64_index_of(child: Manifest) -> Manifest:
    """An OCI index listing ``child`` as its one (linux/arm64) image."""
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child.digest,
                    "size": len(child.body),
                    "platform": {"os": "linux", "architecture": "arm64"},
                }
            ],
        }
    ).encode()
    return Manifest.parse(body, OCI_INDEX)


def test_a_missing_config_and_a_missing_layer_are_named_as_such() -> None:
    child = image_manifest(blob(1), [blob(2), blob(3)])
    index = arm64_index_of(child)
    client: Any = FakeRegistryClient(manifests=[index, child], present={blob(2)})
    facts = inspect_index(client, "ghcr", "acme/php", index.digest)
    assert facts.missing == (
        f"linux/arm64 config blob {short(blob(1))}",
        f"linux/arm64 layer 2 of 2 blob {short(blob(3))}",
    )
    defects = check_image(facts, ["linux/arm64"], 10**9, php="8.4", tags=["v1.0.0-php-8.4"])
    assert [d.message for d in defects] == [
        f"PHP 8.4: ghcr tag v1.0.0-php-8.4 ({short(index.digest)}): linux/arm64 config blob "
        f"{short(blob(1))} cannot be fetched",
        f"PHP 8.4: ghcr tag v1.0.0-php-8.4 ({short(index.digest)}): linux/arm64 layer 2 of 2 "
        f"blob {short(blob(3))} cannot be fetched",
    ]


class _DamagedConfig(FakeRegistryClient):
    """Holds blob(1) (a config of 10 bytes) cut to 5."""

    host = "registry.test"

    def blob_exists(self, repo_path: str, digest: str, size: int | None = None) -> bool:
        if digest == blob(1):
            raise DamagedBlobError("cut short", served=5, expected=size or 0)
        return super().blob_exists(repo_path, digest, size)


def test_a_damaged_config_blob_is_named_beside_a_missing_layer_and_stops_publish_s_check() -> None:
    """The inspection goes on past a damaged config (not read for what it says it is) and
    names it, its image and both sizes beside a missing layer; publish's check of the
    index raises it (exit 8: no tag is written on such a registry's word)."""
    child = image_manifest(blob(1), [blob(2), blob(3)])
    index = arm64_index_of(child)
    client: Any = _DamagedConfig(manifests=[index, child], present={blob(2)})
    facts = inspect_index(client, "ghcr", "acme/php", index.digest)
    assert facts.missing == (f"linux/arm64 layer 2 of 2 blob {short(blob(3))}",)
    assert [(d.named, d.digest, d.served, d.expected) for d in facts.damaged] == [
        ("linux/arm64 config blob", blob(1), 5, 10)
    ]
    assert not facts.built
    defects = check_image(facts, ["linux/arm64"], 10**9, php="8.4")
    assert [d.kind for d in defects] == ["child-missing", "damaged-blob"]
    config = acme_config()
    ghcr = config.registries[1]
    try:
        check_index(client, ghcr, index.digest, config.line("8.4"), "v1.0.0-php-8.4")
    except DamagedBlobError as exc:
        assert exc.exit_code == 8 and (exc.served, exc.expected) == (5, 10)
        assert exc.message == (
            f"registry.test: linux/arm64 config blob {blob(1)} under the index "
            f"{index.digest} (v1.0.0-php-8.4) in acme/php-fpm is damaged: the "
            "registry holds 5 bytes of it (the Content-Length of its HEAD), its "
            "descriptor says 10"
        ), exc.message
    else:
        raise AssertionError("check_index took a damaged config blob")


def test_a_single_image_names_its_missing_layer() -> None:
    single = image_manifest(blob(4), [blob(5)])
    client: Any = FakeRegistryClient(manifests=[single], present={blob(4)})
    facts = inspect_index(client, "hub", "acme/php", single.digest)
    assert not facts.is_index
    assert facts.missing == (f"layer 1 of 1 blob {short(blob(5))}",)
    assert sha256_digest(single.body) == single.digest


def test_a_release_with_no_tag_anywhere_was_never_published() -> None:
    """`verify v9.9.9`: not one tag on a registry that answered, and no record."""
    expect = LineExpectation(
        "8.4", (Platform.AMD64,), 700_000_000, {"hub": ("v9.9.9-php-8.4", "v9.9.9")}
    )
    absent = [TagFacts("hub", tag, None) for tag in expect.tags["hub"]]
    report = build_report("v9.9.9", [expect], absent, {})
    assert report.nothing_published
    assert "it was never published (is the tag mistyped?" in defects_hint(report)
    # or its run has not written a tag yet: a second run at once would race it
    wait = "if a run of v9.9.9 is in progress (the workflow, another maintainer), wait for it"
    assert f"`publisher release v9.9.9` publishes it; {wait} to end first" in defects_hint(report)
    # php-8.4 and latest hold an earlier release until this one moves them: not its tags
    floating = LineExpectation(
        "8.4",
        (Platform.AMD64,),
        700_000_000,
        {"hub": ("v9.9.9-php-8.4", "v9.9.9", "php-8.4", "latest")},
    )
    earlier = [*absent, TagFacts("hub", "php-8.4", blob(7)), TagFacts("hub", "latest", blob(7))]
    held = {("hub", blob(7)): ImageFacts("hub", blob(7), platforms={"linux/amd64": 1})}
    assert build_report("v9.9.9", [floating], earlier, held).nothing_published
    # one tag found is a release to finish, not one never published
    found = [TagFacts("hub", "v9.9.9-php-8.4", blob(1)), absent[1]]
    images = {("hub", blob(1)): ImageFacts("hub", blob(1), platforms={"linux/amd64": 1})}
    started = build_report("v9.9.9", [expect], found, images)
    assert not started.nothing_published
    assert f"(`publisher release v9.9.9`) to finish or repair it; {wait}" in defects_hint(started)
    # the command the hint gives for scripts is one that runs as written
    assert "`publisher verify v9.9.9 --json` lists the defects" in defects_hint(started)


def test_an_image_over_its_budget_is_not_sent_to_a_rerun_alone() -> None:
    """A rerun pushes the same images: it finishes a missing tag, but brings no image
    within its size budget. The tip says so, and what does; with another defect the
    rerun is still given for that one."""
    expect = LineExpectation(
        "8.4", (Platform.AMD64,), 1_000_000, {"hub": ("v9.9.9-php-8.4", "v9.9.9")}
    )
    tags = [TagFacts("hub", tag, blob(1)) for tag in expect.tags["hub"]]
    big = {("hub", blob(1)): ImageFacts("hub", blob(1), platforms={"linux/amd64": 1_200_000})}
    over = build_report("v9.9.9", [expect], tags, big)
    assert [d.kind for d in over.defects] == ["over-budget"]
    hint = defects_hint(over)
    assert hint.startswith(
        "a rerun pushes the same images, so it brings none within its size budget: see what "
        "grew (`publisher inspect` shows each platform's compressed size), then make the "
        "image smaller, or raise the line's budget (size_budget_mb in matrix.yaml) when the "
        "growth is expected; "
    ), hint
    assert "rerun the release" not in hint
    both = build_report("v9.9.9", [expect], [tags[0], TagFacts("hub", "v9.9.9", None)], big)
    assert (
        "; rerun the release (`publisher release v9.9.9`) to finish or repair it for the "
        "other defects;" in defects_hint(both)
    )


def test_a_missing_blob_beside_a_missing_tag_still_sends_the_tag_to_a_rerun() -> None:
    """A blob gone from under an index a registry holds is restored by a copy by digest,
    not by a rerun; a tag missing beside it is what a rerun finishes. The tip named the
    copy alone, so the missing tag was left without any advice."""
    expect = LineExpectation("8.4", (Platform.AMD64,), 10**9, {"hub": ("v9.9.9-php-8.4", "v9.9.9")})
    gone = {
        ("hub", blob(1)): ImageFacts(
            "hub",
            blob(1),
            platforms={"linux/amd64": 1},
            missing=(f"linux/amd64 layer 1 of 1 blob {short(blob(2))}",),
            missing_blobs=1,
        )
    }
    alone = build_report(
        "v9.9.9", [expect], [TagFacts("hub", t, blob(1)) for t in expect.tags["hub"]], gone
    )
    assert [d.kind for d in alone.defects] == ["child-missing"]
    assert "rerun the release" not in defects_hint(alone)
    tags = [TagFacts("hub", "v9.9.9-php-8.4", blob(1)), TagFacts("hub", "v9.9.9", None)]
    both = build_report("v9.9.9", [expect], tags, gone)
    assert sorted(d.kind for d in both.defects) == ["child-missing", "tag-missing"]
    hint = defects_hint(both)
    assert "copy the index again by digest" in hint
    assert (
        "; rerun the release (`publisher release v9.9.9`) to finish or repair it for the "
        "other defects;" in hint
    ), hint


def test_the_table_counts_the_tags_on_the_row_s_digest_not_a_tag_left_elsewhere() -> None:
    """php-8.4 still on an earlier release's index: the row of the release's digest says
    3 of its 4 tags are there, not 4/4 beside the floating-moved defect."""
    tags = ("v9.9.9-php-8.4", "v9.9.9", "php-8.4", "latest")
    expect = LineExpectation("8.4", (Platform.AMD64,), 700_000_000, {"hub": tags}, pins=tags[:2])
    facts = [TagFacts("hub", tag, blob(7) if tag == "php-8.4" else blob(1)) for tag in tags]
    images = {
        ("hub", digest): ImageFacts("hub", digest, platforms={"linux/amd64": 1})
        for digest in (blob(1), blob(7))
    }
    report = build_report("v9.9.9", [expect], facts, images)
    assert [d.kind for d in report.defects] == ["floating-moved"]
    [row] = report_rows(report, ["hub"])
    assert row[2:4] == (blob(1), "3/4"), row
    # a missing tag is not there either
    facts[3] = TagFacts("hub", "latest", None)
    [row] = report_rows(build_report("v9.9.9", [expect], facts, images), ["hub"])
    assert row[2:4] == (blob(1), "2/4"), row


def pinned_on_hub_and_ghcr(budget: int) -> tuple[LineExpectation, list[TagFacts]]:
    """Line 8.4 of v9.9.9 on amd64 within ``budget`` bytes, its pin and ``v9.9.9`` on hub
    (the primary) and ghcr, each on the index ``blob(1)``."""
    expect = LineExpectation(
        "8.4",
        (Platform.AMD64,),
        budget,
        {name: ("v9.9.9-php-8.4", "v9.9.9") for name in ("hub", "ghcr")},
    )
    tags = [TagFacts(name, t, blob(1)) for name in ("hub", "ghcr") for t in expect.tags[name]]
    return expect, tags


def test_a_blob_or_image_another_registry_lost_is_sent_to_a_rerun_one_the_primary_lost_is_not() -> (
    None
):
    """A rerun copies back from the primary what another registry lost under an index it
    holds; what the primary itself lost it cannot copy from there."""
    expect, tags = pinned_on_hub_and_ghcr(10**9)

    def lost_on(name: str, down: str = "", **missing: int) -> str:
        whole = {"hub": ImageFacts("hub", blob(1)), "ghcr": ImageFacts("ghcr", blob(1))}
        whole[name] = ImageFacts(
            name,
            blob(1),
            platforms={"linux/amd64": 1},
            missing=(f"linux/amd64 layer 1 of 1 blob {short(blob(2))}",),
            **missing,
        )
        if down:  # a registry that did not answer: nothing read there
            del whole[down]
        report = build_report(
            "v9.9.9",
            [expect],
            [t for t in tags if t.registry != down],
            {(n, f.digest): f for n, f in whole.items()},
            {down: "connection refused"} if down else None,
            primary="hub",
        )
        return defects_hint(report)

    for missing in ({"missing_blobs": 1}, {"missing_manifests": 1}):
        hint = lost_on("ghcr", **missing)
        assert (
            "which the primary holds whole: rerun the release (`publisher release v9.9.9`)" in hint
        )
        assert "skopeo copy" not in hint
        hint = lost_on("hub", **missing)
        assert "the primary holds an index or image of v9.9.9 without" in hint, hint
        assert "a rerun does not restore it" in hint and "skopeo copy" in hint
        # the primary did not answer: whether it holds it whole is not known
        hint = lost_on("ghcr", down="hub", **missing)
        assert "which the primary holds whole" not in hint, hint
        assert "a rerun does not restore it" in hint and "skopeo copy" in hint


def test_an_image_another_registry_lost_of_a_recorded_release_names_the_repair_beside_the_rerun() -> (
    None
):
    """A manifest another registry lost under an index of a recorded release is copied back
    by a rerun and by `audit --repair` alike: the tip names both. A blob is not (audit reads
    manifests, not blobs), nor anything of a release without a record."""
    expect, tags = pinned_on_hub_and_ghcr(10**9)
    repair = (
        "which copies back from the primary what another registry lacks under the release's "
        "indexes, or `publisher audit --repair`, which copies it back from a registry that "
        "holds it"
    )
    for missing, recorded, named in (
        ("missing_manifests", True, True),
        ("missing_manifests", False, False),
        ("missing_blobs", True, False),
    ):
        whole = {
            "hub": ImageFacts("hub", blob(1), platforms={"linux/amd64": 1}),
            "ghcr": ImageFacts(
                "ghcr",
                blob(1),
                platforms={"linux/amd64": 1},
                missing=(f"linux/amd64 manifest {short(blob(2))}",),
                **{missing: 1},
            ),
        }
        report = build_report(
            "v9.9.9", [expect], tags, {(n, f.digest): f for n, f in whole.items()}, primary="hub"
        )
        hint = defects_hint(dataclasses.replace(report, recorded=recorded))
        assert "rerun the release (`publisher release v9.9.9`)" in hint, hint
        assert (repair in hint) is named, (missing, recorded, hint)
        assert (AUDIT_REPAIRS_IMAGE in hint) is False, hint  # the primary lacks nothing
        # beside another defect (hub's platform gone): the repair restores the tags too, said once
        whole["hub"] = ImageFacts("hub", blob(1))
        report = build_report(
            "v9.9.9", [expect], tags, {(n, f.digest): f for n, f in whole.items()}, primary="hub"
        )
        hint = defects_hint(dataclasses.replace(report, recorded=recorded))
        assert "and finishes the other defects" in hint, hint
        assert hint.count("`publisher audit --repair`") == (1 if recorded else 0), hint
        assert (
            "which copies it back from a registry that holds it and restores the tags the "
            "record names" in hint
        ) is named, hint


def test_an_image_over_its_budget_keeps_its_advice_beside_a_lost_image_or_blob() -> None:
    """A registry that lost an image or a blob of the release while an image is over its
    budget: the tip says what restores the lost piece and what to do about the size.
    It gave the first alone, so the size was left without any advice."""
    expect, tags = pinned_on_hub_and_ghcr(1_000_000)
    size_advice = (
        "; a rerun pushes the same images, so it brings none within its size budget: see what "
        "grew (`publisher inspect` shows each platform's compressed size), then make the image "
        "smaller, or raise the line's budget (size_budget_mb in matrix.yaml) when the growth is "
        "expected; "
    )

    def lost_on(name: str, recorded: bool, **missing: int) -> str:
        big = {"linux/amd64": 1_200_000}
        whole = {n: ImageFacts(n, blob(1), platforms=big) for n in ("hub", "ghcr")}
        whole[name] = ImageFacts(
            name,
            blob(1),
            platforms=big,
            missing=(f"linux/amd64 layer 1 of 1 blob {short(blob(2))}",),
            **missing,
        )
        report = build_report(
            "v9.9.9", [expect], tags, {(n, f.digest): f for n, f in whole.items()}, primary="hub"
        )
        assert "over-budget" in [d.kind for d in report.defects]
        return defects_hint(dataclasses.replace(report, recorded=recorded))

    rerun = "which the primary holds whole: rerun the release"
    repair = (
        "`publisher audit --repair` copies it back, with any of its blobs the primary lacks, "
        "from a registry that holds it"
    )
    copy = "skopeo copy --all --preserve-digests"
    for name, recorded, missing, restore in (
        ("ghcr", True, "missing_blobs", rerun),
        ("ghcr", False, "missing_manifests", rerun),
        ("hub", True, "missing_manifests", repair),
        ("hub", True, "missing_blobs", copy),
        ("hub", False, "missing_manifests", copy),
    ):
        hint = lost_on(name, recorded, **{missing: 1})
        assert restore in hint, (name, recorded, missing, hint)
        assert size_advice in hint, (name, recorded, missing, hint)


def test_a_pin_holding_other_content_keeps_the_advice_for_the_size_and_a_lost_piece() -> None:
    """A pin moved to other content, or holding a platform the line is not published for,
    beside an image over its budget or a blob another registry lost: the tip says what
    fixes the pin and, beside it, what to do about the size and the lost blob. It gave
    the pin's fix alone, so the size and the blob were left without any advice."""
    pins = ("v9.9.9-php-8.4", "v9.9.9")
    size_advice = (
        "; a rerun pushes the same images, so it brings none within its size budget: see what "
        "grew (`publisher inspect` shows each platform's compressed size), then make the image "
        "smaller, or raise the line's budget (size_budget_mb in matrix.yaml) when the growth is "
        "expected; "
    )
    lost_blob = (f"linux/amd64 layer 1 of 1 blob {short(blob(2))}",)

    def hint(
        recorded: str | None,
        pointing: dict[str, str],
        held: dict[tuple[str, str], ImageFacts],
        kinds: set[str],
    ) -> str:
        expect = LineExpectation(
            "8.4",
            (Platform.AMD64,),
            1_000_000,
            {name: pins for name in ("hub", "ghcr")},
            recorded=recorded,
            pins=pins,
        )
        tags = [TagFacts(name, t, pointing[name]) for name in ("hub", "ghcr") for t in pins]
        report = build_report("v9.9.9", [expect], tags, held, primary="hub")
        assert kinds <= {d.kind for d in report.defects}, report.defects
        return " ".join(defects_hint(report).split())

    def facts(name: str, digest: str, size: int = 1, **more: Any) -> ImageFacts:
        return ImageFacts(name, digest, platforms={"linux/amd64": size}, **more)

    # a pin moved by hand to an image over its budget: the repair, and the size advice
    moved = hint(
        blob(1),
        {"hub": blob(3), "ghcr": blob(1)},
        {
            ("hub", blob(3)): facts("hub", blob(3), 1_200_000),
            ("ghcr", blob(1)): facts("ghcr", blob(1)),
        },
        {"pin-moved", "over-budget"},
    )
    assert "`publisher audit --repair` points them back" in moved, moved
    assert size_advice in moved, moved
    # a pin holding a platform the line is not published for, over its budget too
    extra = ImageFacts("hub", blob(1), platforms={"linux/amd64": 1_200_000, "linux/s390x": 1})
    foreign = hint(
        None,
        {"hub": blob(1), "ghcr": blob(1)},
        {("hub", blob(1)): extra, ("ghcr", blob(1)): dataclasses.replace(extra, registry="ghcr")},
        {"platform-extra", "over-budget"},
    )
    assert "a rerun refuses to replace what a pin holds (exit 14)" in foreign, foreign
    assert size_advice in foreign, foreign
    # the registries disagree, one holding a platform the matrix may have dropped: the
    # republish, and putting the platform back, both said
    disagree = hint(
        None,
        {"hub": blob(1), "ghcr": blob(3)},
        {
            ("hub", blob(1)): facts("hub", blob(1)),
            ("ghcr", blob(3)): dataclasses.replace(extra, registry="ghcr", digest=blob(3)),
        },
        {"registries-disagree", "platform-extra"},
    )
    assert "points at other content than the release's, which a rerun refuses" in disagree
    assert (
        "if matrix.yaml no longer lists a platform the release was published with, put it back"
        in disagree
    ), disagree
    # a pin moved on the primary while another registry lost a blob of the release's index
    lost = hint(
        blob(1),
        {"hub": blob(3), "ghcr": blob(1)},
        {
            ("hub", blob(3)): facts("hub", blob(3)),
            ("ghcr", blob(1)): facts("ghcr", blob(1), missing=lost_blob, missing_blobs=1),
        },
        {"pin-moved", "child-missing"},
    )
    assert "`publisher audit --repair` points them back" in lost, lost
    assert (
        "a registry holds an index or image of v9.9.9 without one of its blobs (its config or a "
        "layer), which the primary holds whole: once the pins hold the release's content, "
        "rerun the release (`publisher release v9.9.9`)" in lost
    ), lost


def test_a_lying_registry_is_one_defect_beside_the_others_and_exit_8() -> None:
    """hub named other content than it served, ghcr lacks a tag, quay did not answer:
    each is said, hub's rows say `invalid response`, ghcr's tag is sent to a rerun,
    and the error is exit 8 with hub's own advice first."""
    tags = ("v9.9.9-php-8.4", "v9.9.9")
    expect = LineExpectation(
        "8.4", (Platform.AMD64,), 700_000_000, {"hub": tags, "ghcr": tags, "quay": tags}
    )
    found = [TagFacts("ghcr", tags[0], blob(1)), TagFacts("ghcr", tags[1], None)]
    images = {("ghcr", blob(1)): ImageFacts("ghcr", blob(1), platforms={"linux/amd64": 1})}
    report = dataclasses.replace(
        build_report(
            "v9.9.9",
            [expect],
            found,
            images,
            {"quay": "connection refused"},
            invalid={
                "hub": "the HEAD of hub:v9.9.9 says sha256:aa but its body hashes to sha256:bb"
            },
        ),
        advice={"hub": "check that nothing rewrites it", "quay": None},
    )
    assert {(d.kind, d.registry) for d in report.defects} == {
        ("invalid-response", "hub"),
        ("unreachable", "quay"),
        ("tag-missing", "ghcr"),
    }
    assert not report.only_unanswered and list(report.unreachable) == ["quay"]
    rows = {row[1]: row[2] for row in report_rows(report, ["hub", "ghcr", "quay"])}
    assert rows == {"hub": "invalid response", "ghcr": blob(1), "quay": "unreachable"}
    error = defects_error(report)
    assert isinstance(error, InvalidResponseError) and error.exit_code == 8
    assert "3 defects found" in error.message and "says sha256:aa" in error.message
    assert error.hint is not None
    assert error.hint.startswith("hub: check that nothing rewrites it; the other registries were")
    assert "rerun the release" in error.hint and "check that quay can be reached" in error.hint


def test_a_damaged_blob_is_one_defect_of_its_image_beside_the_others_and_exit_8() -> None:
    """ghcr holds a layer of the line's image damaged, hub lacks a tag: both are said,
    ghcr's rows are read (not `invalid response`), the error is exit 8 with the damaged
    blob's advice first, the missing tag sent to a rerun; the damaged blob alone says
    the rest is complete."""
    tags = ("v9.9.9-php-8.4", "v9.9.9")
    expect = LineExpectation("8.4", (Platform.AMD64,), 700_000_000, {"hub": tags, "ghcr": tags})
    cut = DamagedBlob("linux/amd64 layer 1 of 2 blob", blob(2), 50, 100, "ghcr (HOST)", "acme/php")
    images = {
        (name, blob(1)): ImageFacts(
            name, blob(1), platforms={"linux/amd64": 1}, damaged=(cut,) if name == "ghcr" else ()
        )
        for name in ("hub", "ghcr")
    }
    found = [TagFacts(name, tag, blob(1)) for name in ("hub", "ghcr") for tag in tags]
    whole = build_report("v9.9.9", [expect], found, images, registries=["hub", "ghcr"])
    report = build_report("v9.9.9", [expect], found[1:], images, registries=["hub", "ghcr"])
    assert [(d.kind, d.registry) for d in report.defects] == [
        ("tag-missing", "hub"),
        ("damaged-blob", "ghcr"),
    ]
    damaged = report.defects[1].message
    assert damaged == (
        f"PHP 8.4: ghcr tags v9.9.9-php-8.4, v9.9.9 ({short(blob(1))}): linux/amd64 layer 1 "
        f"of 2 blob {blob(2)} is damaged: ghcr (HOST) holds 50 bytes of it in acme/php (the "
        "Content-Length of its HEAD), its descriptor says 100"
    )
    assert report.damaged == ["ghcr"]
    rows = {row[1]: row[2] for row in report_rows(report, ["hub", "ghcr"])}
    assert rows == {"hub": blob(1), "ghcr": blob(1)}
    for checked, rest in (
        (report, "; the rest was checked: rerun the release (`publisher release v9.9.9`)"),
        (whole, "; the rest of the release is complete and consistent where it was read"),
    ):
        error = defects_error(checked)
        assert isinstance(error, InvalidResponseError) and error.exit_code == 8
        assert damaged in error.message and error.hint is not None
        assert error.hint.startswith("ghcr: the registry holds a damaged copy of the blob")
        assert rest in error.hint, error.hint


def test_a_pin_moved_by_hand_onto_another_release_is_sent_to_the_repair() -> None:
    """A pin of a recorded release moved by hand onto another release's index: its images
    are built as that release's pin, yet the record names the right index, which
    `audit --repair` points the pin back at with one tag write. verify said neither a
    rerun nor a repair helps and named the republish, which rebuilds every line and moves
    every pin, the right ones too. Its tip is now the one `release --dry-run` gives."""
    pins = ("v9.9.9-php-8.4", "v9.9.9")
    expect = LineExpectation(
        "8.4",
        (Platform.AMD64,),
        10**9,
        {name: pins for name in ("hub", "ghcr")},
        recorded=blob(1),
        pins=pins,
    )
    pointing = {"hub": blob(3), "ghcr": blob(1)}
    tags = [TagFacts(name, t, pointing[name]) for name in ("hub", "ghcr") for t in pins]

    def built(version: str) -> dict[str, BuiltAs]:
        return {"linux/amd64": BuiltAs("linux/amd64", ("linux", "amd64", None), version)}

    held = {
        ("hub", blob(3)): ImageFacts(
            "hub", blob(3), platforms={"linux/amd64": 1}, built=built("v1.0.0-php-8.4")
        ),
        ("ghcr", blob(1)): ImageFacts(
            "ghcr", blob(1), platforms={"linux/amd64": 1}, built=built("v9.9.9-php-8.4")
        ),
    }
    report = build_report("v9.9.9", [expect], tags, held, primary="hub")
    assert {"pin-moved", "other-release"} <= {d.kind for d in report.defects}, report.defects
    hint = " ".join(defects_hint(report).split())
    moved = moved_pins_tip("v9.9.9", ["hub v9.9.9-php-8.4", "hub v9.9.9"])
    assert moved in hint, hint
    assert "neither a rerun nor a repair" not in hint, hint
    # the index the record names itself lists another release's image: no repair helps
    held[("ghcr", blob(1))] = dataclasses.replace(held[("hub", blob(3))], registry="ghcr")
    held[("ghcr", blob(1))] = dataclasses.replace(held[("ghcr", blob(1))], digest=blob(1))
    report = build_report("v9.9.9", [expect], tags, held, primary="hub")
    hint = " ".join(defects_hint(report).split())
    assert "neither a rerun nor a repair changes an index's images" in hint, hint
