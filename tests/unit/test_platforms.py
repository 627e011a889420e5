"""Platforms are typed where they are ours and keep their text everywhere they are written."""

from __future__ import annotations

import json

import pytest

from publisher.core import notes
from publisher.core.errors import ConfigError
from publisher.core.platforms import BuilderName, Platform
from publisher.core.records import DigestRecord, parse_record
from tests.unit.test_notes import facts

DIGEST = "sha256:" + "a" * 64


def record(platform: str | Platform = "linux/arm64") -> DigestRecord:
    return DigestRecord(
        release="v1.0.0",
        php="8.4",
        platform=platform,  # type: ignore[arg-type]
        repository="docker.io/acme/php-fpm",
        digest=DIGEST,
        base_image="docker.io/library/php:8.4-fpm-alpine",
        base_digest=None,
        builder="buildah",
        dockerfile_sha256=DIGEST,
    )


def test_a_platform_is_its_text_for_comparison_hashing_formatting_and_json() -> None:
    arm = Platform.ARM64
    assert arm == "linux/arm64" and f"{arm}" == "linux/arm64" and str(arm) == "linux/arm64"
    assert {"linux/arm64": 1}[arm] == 1 and {arm: 1}["linux/arm64"] == 1
    assert json.dumps([arm]) == '["linux/arm64"]'
    assert Platform.parse(arm) is arm


def test_an_unknown_member_names_the_choices_and_the_closest_one() -> None:
    with pytest.raises(ValueError) as typo:
        BuilderName.parse("buildahh")
    assert str(typo.value) == (
        "unknown builder 'buildahh'; choose one of buildx, buildah, docker; did you mean 'buildah'?"
    )
    with pytest.raises(ValueError) as far:
        Platform.parse("s390x")
    assert str(far.value).endswith("choose one of linux/amd64, linux/arm64")  # nothing close


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("linux/x86_64", "linux/amd64"),  # docker's spelling: amd64, though arm64 reads closer
        ("Linux/AMD64", "linux/amd64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("aarch64", "linux/arm64"),  # the OS left out
        ("darwin/arm64", "linux/arm64"),  # the Mac's OS: the images are Linux's
        ("linux/amd46", "linux/amd64"),  # a typo of the architecture
        ("linux/386", None),  # neither: 'linux/' alone is no likeness
        ("linux/ppc64le", None),
    ],
)
def test_an_unknown_platform_is_offered_the_one_it_means_never_the_closest_text(
    written: str, meant: str | None
) -> None:
    with pytest.raises(ValueError) as err:
        Platform.parse(written)
    choices = f"unknown platform {written!r}; choose one of linux/amd64, linux/arm64"
    assert str(err.value) == choices + (f"; did you mean {meant!r}?" if meant else "")


def test_a_digest_record_carries_a_platform_and_writes_the_same_json() -> None:
    typed = record(Platform.ARM64)
    from_text = record("linux/arm64")
    assert from_text.platform is Platform.ARM64 and from_text == typed
    assert json.loads(typed.to_json())["platform"] == "linux/arm64"
    assert parse_record(typed.to_json(), "r.json") == typed
    assert typed.file_name == "8.4-linux-arm64.json"


def test_a_digest_record_of_a_foreign_platform_is_refused_with_its_file_named() -> None:
    text = record().to_json().replace("linux/arm64", "linux/arm/v7")
    with pytest.raises(ConfigError, match=r"r\.json: platform: unknown platform 'linux/arm/v7'"):
        parse_record(text, "r.json")


def test_a_release_record_reads_platforms_typed_and_names_a_foreign_one() -> None:
    text = notes.release_json(facts(), notes.SizeHistory({}))
    parsed = notes.parse_record(text, "v1.1.0.json")
    assert {p.platform for p in parsed.lines[0].platforms} == {Platform.AMD64, Platform.ARM64}
    assert all(type(p.platform) is Platform for p in parsed.lines[0].platforms)
    bad = text.replace('"linux/arm64"', '"windows/amd64"', 1)
    with pytest.raises(ConfigError) as caught:
        notes.parse_record(bad, "v1.1.0.json")
    assert "windows/amd64" in str(caught.value) and "platform" in str(caught.value)
