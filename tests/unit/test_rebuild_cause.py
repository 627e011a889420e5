"""What gave a republished line new images (``records.rebuild_cause``), from the published
images and the rebuilt ones as the primary serves them: a moved base, a changed Dockerfile,
or neither, with what of the build differs (an upgraded publisher's labels, another
builder, another SOURCE_DATE_EPOCH), so that a maintainer does not take it for a moved base."""

from __future__ import annotations

from typing import Any

from publisher.core.records import Built, rebuild_cause

BASE, BASE2 = "sha256:" + "b" * 64, "sha256:" + "c" * 64
DOCKERFILE, DOCKERFILE2 = "sha256:" + "d" * 64, "sha256:" + "e" * 64
LAYER, LAYER2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
CREATED = "org.opencontainers.image.created"


def config(
    created: str = "2026-01-01T00:00:00Z",
    labels: dict[str, str] | None = None,
    layer: str = LAYER,
    comment: str | None = None,
) -> dict[str, Any]:
    step: dict[str, Any] = {"created": created, "created_by": "RUN make"}
    if comment is not None:
        step["comment"] = comment
    return {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {CREATED: created, **(labels or {})}, "Env": ["A=1"]},
        "rootfs": {"type": "layers", "diff_ids": [layer]},
        "history": [step],
    }


def image(
    n: int,
    *,
    base: str | None = BASE,
    dockerfile: str | None = DOCKERFILE,
    platform: str = "linux/amd64",
    **made: Any,
) -> Built:
    return Built(
        platform=platform,
        digest=f"sha256:{n:064x}",
        base_digest=base,
        dockerfile_sha256=dockerfile,
        config=config(**made),
        layers=(made.get("layer", LAYER),),
    )


def test_a_moved_base_is_said_with_its_digests_and_nothing_of_the_build():
    old, new = image(1), image(2, base=BASE2, created="2026-02-01T00:00:00Z", layer=LAYER2)
    assert rebuild_cause([old], [new]) == f"base {BASE} -> {BASE2}"


def test_a_changed_dockerfile_is_said_with_its_sha256s():
    old, new = image(1), image(2, dockerfile=DOCKERFILE2, layer=LAYER2)
    assert rebuild_cause([old], [new]) == f"Dockerfile {DOCKERFILE} -> {DOCKERFILE2}"
    both = image(3, base=BASE2, dockerfile=DOCKERFILE2)
    assert rebuild_cause([old], [both]) == (
        f"base {BASE} -> {BASE2}; Dockerfile {DOCKERFILE} -> {DOCKERFILE2}"
    )


def test_another_source_date_epoch_is_said_as_the_same_base_and_dockerfile_built_otherwise():
    old, new = image(1), image(2, created="2026-01-02T00:00:00Z", layer=LAYER2)
    assert rebuild_cause([old], [new]) == (
        "same base and Dockerfile; the build differs: label "
        f"{CREATED} 2026-01-01T00:00:00Z -> 2026-01-02T00:00:00Z; "
        "created 2026-01-01T00:00:00Z -> 2026-01-02T00:00:00Z; its layers"
    )


def test_an_image_an_earlier_publisher_built_names_the_label_an_upgrade_added():
    """t25: the published images carry no dev.publisher.dockerfile label (built before
    publisher set it): their Dockerfile is said unknown, and the label as added."""
    old = image(1, dockerfile=None)
    new = image(2, labels={"dev.publisher.dockerfile": DOCKERFILE})
    assert rebuild_cause([old], [new]) == (
        "same base; the Dockerfile of the published images is not known (they carry no "
        "dev.publisher.dockerfile label: an earlier publisher built them); the build "
        "differs: labels added: dev.publisher.dockerfile"
    )


def test_another_builder_is_named_as_the_image_configs_tell_it():
    old = image(1, labels={"io.buildah.version": "1.28.2"})
    new = image(2, comment="buildkit.dockerfile.v0")
    assert rebuild_cause([old], [new]) == (
        "same base and Dockerfile; the build differs: builder buildah 1.28.2 -> BuildKit"
    )
    upgraded = image(3, labels={"io.buildah.version": "1.39.3"})
    assert rebuild_cause([old], [upgraded]) == (
        "same base and Dockerfile; the build differs: builder buildah 1.28.2 -> buildah 1.39.3"
    )


def test_other_config_fields_are_named_and_the_history_only_when_nothing_else_differs():
    old, new = image(1), image(2)
    assert isinstance(new.config, dict)
    new.config["config"]["Env"] = ["A=2"]
    assert rebuild_cause([old], [new]) == (
        "same base and Dockerfile; the build differs: image config config.Env"
    )
    steps = image(3)
    assert isinstance(steps.config, dict)
    steps.config["history"][0]["created_by"] = "RUN make install"
    assert rebuild_cause([old], [steps]) == (
        "same base and Dockerfile; the build differs: its build steps (the image config's history)"
    )
    recompressed = Built("linux/amd64", "sha256:" + "9" * 64, BASE, DOCKERFILE, config(), (LAYER2,))
    assert rebuild_cause([old], [recompressed]) == (
        "same base and Dockerfile; the build differs: its layers' compression"
    )


def test_every_platform_saying_the_same_is_said_once():
    arm = {"platform": "linux/arm64"}
    old = [image(1), image(2, **arm)]
    new = [
        image(3, created="2026-01-02T00:00:00Z"),
        image(4, created="2026-01-02T00:00:00Z", **arm),
    ]
    said = rebuild_cause(old, new)
    assert said.count("; created 2026-01-01T00:00:00Z -> 2026-01-02T00:00:00Z") == 1, said


def test_what_cannot_be_read_is_said_as_not_known():
    unread = Built("linux/amd64", "sha256:" + "1" * 64, BASE, DOCKERFILE)
    assert rebuild_cause([unread], [image(2)]) == (
        "same base and Dockerfile; the build differs: the published image's config could "
        "not be read"
    )
    assert rebuild_cause([], [image(2)]) == "the published images could not be read"
    no_base = image(1, base=None, dockerfile=None)
    assert rebuild_cause([no_base], [image(2, created="x")]).startswith(
        "the base and Dockerfile of the published images are not known; the build differs: "
    )


def test_the_same_platform_images_under_another_index_are_said_so():
    same = image(1)
    assert rebuild_cause([same], [same]) == (
        "the same platform images under another index (its annotations or attestations)"
    )
