"""The pins file: digest-pinned references per line, from the release record."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from publisher.core import notes, pins
from publisher.core.errors import ConfigError
from publisher.core.notes import RegistryFacts, SizeHistory
from tests.support.records import line_facts
from tests.unit.test_notes import D, facts


def record(f: notes.ReleaseFacts | None = None) -> dict:
    return json.loads(notes.release_json(f or facts(), SizeHistory()))


def two_lines() -> notes.ReleaseFacts:
    f = facts("v2.0.0")
    line = f.lines[0]
    older = line_facts(
        "8.10",
        "v2.0.0",
        digest=D["e"],
        base_image="docker.io/library/php:{php}-fpm-alpine@" + D["0"],
        base_digest=D["1"],
        platforms={"linux/amd64": D["2"]},
        php_version="8.10.1",
    )
    return replace(f, lines=(older, line))  # 8.10 first: the file sorts numerically


def test_every_line_pinned_on_both_registries() -> None:
    text = pins.render(record(two_lines()))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "PHP_PINS_SCHEMA='1'",
        "STACK_RELEASE='v2.0.0'",
        "PHP_LINES='8.4 8.10'",
        "PHP_DEFAULT_LINE='8.4'",
        "PHP_STAND_IN='false'",
        "PHP_REPOSITORY='docker.io/acme/php-fpm'",
        "PHP_MIRROR_REPOSITORY='ghcr.io/acme/php-fpm'",
        f"PHP_IMAGE_8_4='docker.io/acme/php-fpm:v2.0.0-php-8.4@{D['a']}'",
        f"PHP_IMAGE_MIRROR_8_4='ghcr.io/acme/php-fpm:v2.0.0-php-8.4@{D['a']}'",
        "PHP_PLATFORMS_8_4='linux/amd64 linux/arm64'",
        f"PHP_BASE_IMAGE_8_4='docker.io/library/php:8.4-fpm-alpine@{D['b']}'",
        f"PHP_IMAGE_8_10='docker.io/acme/php-fpm:v2.0.0-php-8.10@{D['e']}'",
        f"PHP_IMAGE_MIRROR_8_10='ghcr.io/acme/php-fpm:v2.0.0-php-8.10@{D['e']}'",
        "PHP_PLATFORMS_8_10='linux/amd64'",
        # the base digest of the record wins over one written into the image
        f"PHP_BASE_IMAGE_8_10='docker.io/library/php:8.10-fpm-alpine@{D['1']}'",
    ]
    assert text.startswith("# v2.0.0: ") and text.endswith("\n")
    assert "STAND-IN" not in text


def test_same_record_same_bytes() -> None:
    a = pins.render(record(two_lines()))
    shuffled = record(two_lines())
    shuffled["lines"].reverse()
    shuffled["registries"].reverse()  # the primary is marked, not positional
    assert pins.render(shuffled) == a
    assert pins.render(json.loads(json.dumps(shuffled, sort_keys=True))) == a


def test_without_a_mirror_there_are_no_mirror_keys() -> None:
    f = replace(facts(), registries=(RegistryFacts("hub", "docker.io/acme/php-fpm", True),))
    text = pins.render(record(f))
    assert "MIRROR" not in text
    assert "PHP_IMAGE_8_4='docker.io/acme/php-fpm:v1.1.0-php-8.4@" in text


def test_stand_in_releases_say_so() -> None:
    text = pins.render(record(replace(facts(), stand_in=True)))
    assert "PHP_STAND_IN='true'" in text
    # true of the busybox stand-ins and of those holding Debian's real PHP alike
    assert (
        "# STAND-IN REHEARSAL: these images are built on stand-in base images, not the official php images. "
        "Do not use them.\n"
    ) in text
    assert "real PHP" not in text and "offline" not in text


@pytest.mark.parametrize("value", ["it's", "a\nb", "$HOME", "a#b", "back\\slash", 'say "x"', "\t"])
def test_values_that_cannot_be_quoted_safely_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="cannot be written"):
        pins.quote(value)


def test_a_record_without_registries_is_refused() -> None:
    data = record()
    data["registries"] = []
    with pytest.raises(ConfigError, match="registries"):
        pins.render(data)
    assert pins.file_name("v1.0.0") == "v1.0.0.env"
    with pytest.raises(ConfigError):
        pins.line_key("8")


def _without(field: str) -> dict:
    """The record with ``field`` (a dotted path, ``lines.0.index_digest``) removed."""
    data = record()
    *parents, last = field.split(".")
    held = data
    for key in parents:
        held = held[int(key)] if isinstance(held, list) else held[key]
    del held[last]
    return data


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("release", "release"),
        ("registries", "registries"),
        ("registries.0.repository", "registries[0].repository"),
        ("lines", "lines"),
        ("lines.0.php", "lines[0].php"),
        ("lines.0.index_digest", "lines[0].index_digest"),
        ("lines.0.platforms", "lines[0].platforms"),
    ],
)
def test_an_incomplete_record_is_a_configuration_error_naming_the_field(
    field: str, named: str
) -> None:
    """A library caller's record that lacks a field the pins file needs: publisher's own
    error (exit 3) naming the field, never a bare ValueError or KeyError."""
    with pytest.raises(ConfigError) as caught:
        pins.render(_without(field))
    assert caught.value.exit_code == 3
    assert caught.value.message.startswith(f"{named}: "), caught.value.message
    assert caught.value.hint


def _with(field: str, value: object) -> dict:
    """The record with ``field`` (a dotted path, ``lines.0.php``) set to ``value``."""
    data = record()
    *parents, last = field.split(".")
    held = data
    for key in parents:
        held = held[int(key)] if isinstance(held, list) else held[key]
    held[int(last) if isinstance(held, list) else last] = value
    return data


@pytest.mark.parametrize(
    ("field", "value", "named", "said"),
    [
        ("release", 1, "release", "'release' is a whole number, expected a string"),
        ("release", "", "release", "'release' is empty"),
        ("registries", "hub", "registries", "'registries' is a string, expected an array"),
        ("registries", [], "registries", "'registries' is empty"),
        (
            "registries.0",
            "docker.io/acme/php-fpm",
            "registries[0]",
            "'registries[0]' is a string, expected an object",
        ),
        (
            "registries.0.repository",
            None,
            "registries[0].repository",
            "'repository' is null, expected a string",
        ),
        ("lines", "x", "lines", "'lines' is a string, expected an array"),
        ("lines.0", ["8.4"], "lines[0]", "'lines[0]' is an array, expected an object"),
        ("lines.0.php", 8.3, "lines[0].php", "'php' is a number, expected a string"),
        ("lines.0.php", "", "lines[0].php", "'php' is empty"),
        (
            "lines.0.index_digest",
            {},
            "lines[0].index_digest",
            "'index_digest' is an object, expected a string",
        ),
        (
            "lines.0.platforms",
            "linux/amd64",
            "lines[0].platforms",
            "'platforms' is a string, expected an array",
        ),
        (
            "lines.0.platforms.1",
            "linux/arm64",
            "lines[0].platforms[1]",
            "'platforms[1]' is a string, expected an object",
        ),
        (
            "lines.0.platforms.1.platform",
            True,
            "lines[0].platforms[1].platform",
            "'platform' is true or false, expected a string",
        ),
        ("lines.0.base", "php:8.4", "lines[0].base", "'base' is a string, expected an object"),
        (
            "lines.0.base.image",
            8.4,
            "lines[0].base.image",
            "'image' is a number, expected a string",
        ),
        (
            "lines.0.base.digest",
            7,
            "lines[0].base.digest",
            "'digest' is a whole number, expected a string",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_named_with_the_type_it_should_be(
    field: str, value: object, named: str, said: str
) -> None:
    """A field there but of another JSON type than a record holds (``"lines": "x"``, a
    number for ``php``) is said as such, with the type it should be: never as missing."""
    with pytest.raises(ConfigError) as caught:
        pins.render(_with(field, value))
    assert caught.value.exit_code == 3
    assert caught.value.message == f"{named}: release record: {said}", caught.value.message
    assert caught.value.field == named


def test_a_platform_entry_without_its_platform_is_named_missing_not_a_key_error() -> None:
    data = record()
    del data["lines"][0]["platforms"][1]["platform"]
    with pytest.raises(ConfigError) as caught:
        pins.render(data)
    assert caught.value.message == (
        "lines[0].platforms[1].platform: release record: 'platform' is missing"
    )
    with pytest.raises(ConfigError, match=r"^release record: the record is an array, "):
        pins.render([record()])  # type: ignore[arg-type]


def test_the_markdown_notes_name_the_pins_file() -> None:
    assert "`v1.1.0.env` pins every line by digest" in notes.release_markdown(
        facts(), SizeHistory()
    )


def test_a_rehearsal_without_its_default_line_names_no_default_line() -> None:
    """A rehearsal run with --only may leave the default line out: its pins file then
    names no default line, rather than one it pins no image for (which both consumer
    tools refuse as a pins file edited by hand)."""
    data = record(two_lines())
    data["default_line"] = "8.3"
    text = pins.render(data)
    assert "PHP_DEFAULT_LINE=''" in text.splitlines()
    assert "PHP_DEFAULT_LINE='8.4'" in pins.render(record(two_lines())).splitlines()


def test_a_line_past_its_end_of_life_on_the_day_of_publishing_is_said_in_the_file() -> None:
    """PHP 8.2's security support ended on 2026-12-31: a release published on 2027-01-05
    says so in its pins file too (a comment: the keys stay what start.sh and resolve read),
    as its notes do; 8.4, still supported, and a release of 2026-11-22 say nothing."""
    base = facts()
    line_82 = replace(base.lines[0], php="8.2", php_version="8.2.30", tags=("v1.1.0-php-8.2",))
    later = replace(base, lines=(line_82, base.lines[0]), published_at="2027-01-05T10:00:00Z")
    text = pins.render(record(later))
    comments = [line for line in text.splitlines() if line.startswith("# PHP")]
    assert comments == [
        "# PHP 8.2 was past its end of life (2026-12-31, no security fixes) when this release "
        "was published on 2027-01-05; see the release notes."
    ]
    assert "⚠ PHP 8.2 reached end of life on 2026-12-31" in notes.release_markdown(
        later, SizeHistory()
    )
    # published before its end, republished after it: the file the republish writes says so
    entry = notes.Republish("2027-01-05", "weekly", (("8.2", D["a"], D["e"]),))
    republished = replace(later, published_at="2026-12-04T10:00:00Z", history=(entry,))
    assert [
        line for line in pins.render(record(republished)).splitlines() if line.startswith("# PHP")
    ] == [
        "# PHP 8.2 was past its end of life (2026-12-31, no security fixes) when this release "
        "was republished on 2027-01-05; see the release notes."
    ]
    keys = [line for line in text.splitlines() if not line.startswith("#")]
    earlier = pins.render(record(replace(later, published_at="2026-11-22T10:00:00Z")))
    assert "# PHP" not in earlier
    assert keys == [line for line in earlier.splitlines() if not line.startswith("#")]


def test_a_line_without_platforms_is_never_written_empty() -> None:
    """An empty PHP_PLATFORMS_X_Y reads as "not recorded" to the launcher and resolve (they
    ask the registry): publisher, which records the platforms of every index it verified,
    never writes one. A record whose line lists none is not a release record; it once gave
    ``PHP_PLATFORMS_8_4=''``, which both tools read as an image with no platform at all."""
    data = record()
    data["lines"][0]["platforms"] = []
    with pytest.raises(ConfigError, match=r"PHP 8\.4 lists no 'platforms'"):
        pins.render(data)
    del data["lines"][0]["platforms"]
    with pytest.raises(ConfigError, match=r"PHP 8\.4 lists no 'platforms'"):
        pins.render(data)


def test_a_record_whose_line_lists_no_platform_is_a_corrupt_record() -> None:
    """Read back (a republish or an ``--only`` run keeps the lines it does not touch, and
    writes their pins again), such a line is exit 3 naming the field, not a pins file
    saying the image has no platform."""
    data = record()
    data["lines"][0]["platforms"] = []
    with pytest.raises(notes.ConfigError) as caught:
        notes.parse_record(json.dumps(data), "v1.0.0.json")
    assert caught.value.exit_code == 3
    assert "lists at least one platform" in str(caught.value)
    assert caught.value.field == "lines[0].platforms"


@pytest.mark.parametrize(
    ("edit", "named", "said"),
    [
        ("drop base", "lines[0].base", "'base' is missing"),
        ("drop image", "lines[0].base.image", "'image' is missing"),
        ("empty image", "lines[0].base.image", "'image' is empty"),
    ],
)
def test_a_line_without_its_base_is_refused_not_written_without_one(
    edit: str, named: str, said: str
) -> None:
    """Every line of a pins file has its PHP_BASE_IMAGE_X_Y: the launcher and resolve read
    a line without it as a file cut short, so none is written."""
    data = record()
    if edit == "drop base":
        del data["lines"][0]["base"]
    elif edit == "drop image":
        del data["lines"][0]["base"]["image"]
    else:
        data["lines"][0]["base"]["image"] = ""
    with pytest.raises(ConfigError) as caught:
        pins.render(data)
    assert caught.value.message == f"{named}: release record: {said}"
