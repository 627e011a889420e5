"""The files a release writes are read back for years: today's readers read the files an
earlier publisher wrote (``tests/fixtures/records-v1``, from a stand-in rehearsal and its
republish), and give back what was written.

Each reader is checked field by field, optional fields included, so that a reader that
stops accepting a field publisher writes, or reads it under another name, fails here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from publisher import resolve
from publisher.core import notes, pins, records
from publisher.core.errors import ConfigError, UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records-v1"
NOTES = FIXTURES / "release-notes"
DIGESTS = FIXTURES / "digests"
BEFORE = FIXTURES / "before-republish"

HUB = "127.0.0.1:56931/stand-in-example/php-fpm"
GHCR = "127.0.0.1:40861/stand-in-example/php-fpm"
BASES = "127.0.0.1:38865/stand-in/php"
INDEX = {
    "8.4": "sha256:dcae83297e9f49576ab2024b028596fc038ab35970b86a4a09e3cadf22ae31b9",
    "8.5": "sha256:4949be0c0762399c86e6e82b36ebc9fa5d8b57478f5c722654e06fe19425222e",
}
FIRST_INDEX = {
    "8.4": "sha256:4ae19bbb83bd5ae535f3226f729467583ad79d6cdc452f579dc60896ebca7b42",
    "8.5": "sha256:50f4369d3ed963214ede6c4a4f83780342fd520354f8eabfe44a9d858c805bef",
}
BASE_DIGEST = {
    "8.4": "sha256:fd498725c8fc51c56fc021d2eb9807953cf45cfc7d1bcf5c65c1966050742fe2",
    "8.5": "sha256:8ce05220ead86a6be691d512b611118e26acd5269a8910d412cc683f7b3ce889",
}
PLATFORM_DIGEST = {
    (
        "8.4",
        "linux/amd64",
    ): "sha256:735767af5e39d055962ed829628e7adce92f89173389eeafddd2d3bd3ba8fe5a",
    (
        "8.4",
        "linux/arm64",
    ): "sha256:a5d0b9121955bb7eaf7316128e0a2262613df24a06d645067920b9b5ec97b3dc",
    (
        "8.5",
        "linux/amd64",
    ): "sha256:26dc213841b5617d711c0a57b9dd6fbf4889ab40bbea0f8a903ec3c5d29d005c",
    (
        "8.5",
        "linux/arm64",
    ): "sha256:8dab61bdbab6189443ab1c48942c1e01872a70daf6b5db3c96f480f59f5d9e8a",
}
SIZES = {
    "8.4": {"linux/amd64": 1099246, "linux/arm64": 1051821},
    "8.5": {"linux/amd64": 1099229, "linux/arm64": 1051810},
}
REASON = "CVE-2026-0001 in the stand-in base (rehearsal)"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the release record


def test_the_notes_schema_read_today_is_the_one_written() -> None:
    assert _json(NOTES / "v1.0.0.json")["schema"] == notes.NOTES_SCHEMA == 1
    assert _json(BEFORE / "v1.0.0.json")["schema"] == notes.NOTES_SCHEMA


def test_the_record_reads_back_with_every_field() -> None:
    record = notes.load_record(NOTES, "v1.0.0")
    assert record is not None
    assert record.release == "v1.0.0"
    assert record.stable is True
    assert record.stand_in is True
    assert record.default_line == "8.4"
    assert record.published_at == "2026-12-02T03:00:50Z"
    assert record.plan_sha256 == (
        "sha256:e6df1d729bffce11c87f9cbfb2ba8d19ed5823fd9267bd5aab34a6e531cc4c75"
    )
    assert record.publish_plan_sha256 == (
        "sha256:b761ad16f9a266b4b9315c3af0d0473e097e996c1c434174520e8fd1a7efe8d5"
    )
    assert [(r.name, r.repository, r.primary) for r in record.registries] == [
        ("dockerhub", HUB, True),
        ("ghcr", GHCR, False),
    ]
    assert record.line_names == ("8.4", "8.5")
    default = record.line("8.4")
    assert default.php_version == "8.4.99-standin"
    assert default.tags == ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest")
    assert record.line("8.5").tags == ("v1.0.0-php-8.5", "php-8.5")
    assert default.extensions == ("bcmath", "gd", "opcache", "pdo_mysql", "redis")
    assert record.line("8.5").extensions == ("bcmath", "gd", "pdo_mysql", "redis")
    for line in record.lines:
        assert line.index_digest == INDEX[line.php]
        assert line.base_image == f"{BASES}:{line.php}-fpm-alpine"
        assert line.base_digest == BASE_DIGEST[line.php]
        assert line.size_budget_bytes == 50_000_000
        assert [(str(p.platform), p.digest, p.size_bytes) for p in line.platforms] == [
            (platform, PLATFORM_DIGEST[line.php, platform], size)
            for platform, size in SIZES[line.php].items()
        ]
    assert record.pin_digests() == {
        "v1.0.0-php-8.4": INDEX["8.4"],
        "v1.0.0": INDEX["8.4"],
        "v1.0.0-php-8.5": INDEX["8.5"],
    }


def test_the_floating_tags_and_the_republish_history_read_back() -> None:
    record = notes.read_record(NOTES / "v1.0.0.json")
    assert [(f.registry, f.tag, f.release, f.digest) for f in record.floating] == [
        (registry, tag, "v1.0.0", INDEX[php])
        for registry in ("dockerhub", "ghcr")
        for tag, php in (("php-8.4", "8.4"), ("php-8.5", "8.5"), ("latest", "8.4"))
    ]
    assert len(record.history) == 1
    entry = record.history[0]
    assert entry.date == "2026-12-02"
    assert entry.reason == REASON
    assert entry.changes == (
        ("8.4", FIRST_INDEX["8.4"], INDEX["8.4"]),
        ("8.5", FIRST_INDEX["8.5"], INDEX["8.5"]),
    )
    # the other reader of the history, which a republish extends
    assert notes.history_from_json(_json(NOTES / "v1.0.0.json")) == record.history


def test_the_record_of_the_first_run_has_an_empty_history() -> None:
    record = notes.read_record(BEFORE / "v1.0.0.json")
    assert record.history == ()
    assert {line.php: line.index_digest for line in record.lines} == FIRST_INDEX


@pytest.mark.parametrize(
    "path", [NOTES / "v1.0.0.json", BEFORE / "v1.0.0.json"], ids=["republished", "first-run"]
)
def test_writing_back_what_was_read_keeps_every_field_written(path: Path) -> None:
    """Today's writer still writes every field of the record, with the same value: a
    republish or a rerun that writes the record again loses nothing an earlier run wrote."""
    written = _json(path)
    history = notes.load_size_history(NOTES)
    again = json.loads(notes.release_json(notes.read_record(path), history))

    def missing(old: Any, new: Any, where: str) -> list[str]:
        if isinstance(old, dict) and isinstance(new, dict):
            return [
                lost
                for key, value in old.items()
                for lost in (
                    missing(value, new[key], f"{where}.{key}")
                    if key in new
                    else [f"{where}.{key} (dropped)"]
                )
            ]
        if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            return [
                lost
                for i, pair in enumerate(zip(old, new, strict=True))
                for lost in missing(*pair, f"{where}[{i}]")
            ]
        return [] if old == new else [f"{where}: {old!r} became {new!r}"]

    assert missing(written, again, "record") == []


def test_the_references_the_signing_script_reads_are_written_back() -> None:
    """.github/scripts/sign-release.sh signs ``lines[].references`` (one REPOSITORY@DIGEST
    per registry), a field no Python reader reads: a rerun's record must still carry it."""
    again = json.loads(
        notes.release_json(notes.read_record(NOTES / "v1.0.0.json"), notes.load_size_history(NOTES))
    )
    for data in (_json(NOTES / "v1.0.0.json"), again):
        assert [ref for line in data["lines"] for ref in line["references"].values()] == [
            f"{repository}@{INDEX[php]}" for php in ("8.4", "8.5") for repository in (HUB, GHCR)
        ]


# --------------------------------------------------------------------------- size history


def test_the_size_history_reads_back() -> None:
    history = notes.load_size_history(NOTES)
    assert history.sizes == {"v1.0.0": SIZES}
    assert history.to_json() == (NOTES / "size-history.json").read_text(encoding="utf-8")


def test_the_size_history_rebuilt_from_the_records_is_the_one_written() -> None:
    rebuilt, passed = notes.sizes_from_records(NOTES)
    assert passed == notes.PassedOver()
    assert rebuilt.sizes == notes.load_size_history(NOTES).sizes


# --------------------------------------------------------------------------- digest records


def test_the_digest_records_read_back() -> None:
    read = {(r.php, str(r.platform)): r for r in records.read_directory(DIGESTS)}
    assert set(read) == set(PLATFORM_DIGEST)
    for (php, platform), record in read.items():
        assert record.file_name == f"{php}-{platform.replace('/', '-')}.json"
        assert record.release == "v1.0.0"
        assert record.repository == HUB
        assert record.digest == PLATFORM_DIGEST[php, platform]
        assert record.base_image == f"{BASES}:{php}-fpm-alpine"
        assert record.base_digest == BASE_DIGEST[php]
        assert record.builder == "buildx"
        assert resolve.is_digest(record.dockerfile_sha256)
        # written back, the same bytes
        assert record.to_json() == (DIGESTS / record.file_name).read_text(encoding="utf-8")
    paths = sorted(DIGESTS.glob("*.json"))
    assert [path for path, _ in records.usable_records(paths)] == paths


@pytest.mark.parametrize("field", ["digest", "base_digest", "dockerfile_sha256"])
@pytest.mark.parametrize("value", ["4eac" * 16, "sha256:" + "D" * 64, "sha256:abc"])
def test_a_digest_record_whose_digest_is_malformed_is_refused_when_read(
    field: str, value: str
) -> None:
    """Publish copies these into the release record and the pins file: each is checked as
    the record is read, before anything is pushed (a Dockerfile's hash without its
    algorithm was refused later, as the hash of another Dockerfile)."""
    path = DIGESTS / "8.4-linux-amd64.json"
    data = _json(path)
    assert records.parse_record(json.dumps(data), str(path)).digest == data["digest"]
    with pytest.raises(ConfigError) as caught:
        records.parse_record(json.dumps({**data, field: value}), str(path))
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(f"{path}: {field}: {value!r} is not a sha256 digest")


# --------------------------------------------------------------------------- pins file


FIRST_HUB = "127.0.0.1:38201/stand-in-example/php-fpm"
FIRST_GHCR = "127.0.0.1:58265/stand-in-example/php-fpm"
FIRST_BASES = "127.0.0.1:34555/stand-in/php"


@pytest.mark.parametrize(
    "folder,index,hub,ghcr,bases",
    [(NOTES, INDEX, HUB, GHCR, BASES), (BEFORE, FIRST_INDEX, FIRST_HUB, FIRST_GHCR, FIRST_BASES)],
    ids=["republished", "first-run"],
)
def test_resolve_reads_the_pins_file_with_its_own_parser(
    folder: Path, index: dict[str, str], hub: str, ghcr: str, bases: str
) -> None:
    text = (folder / "v1.0.0.env").read_text(encoding="utf-8")
    values = resolve.read_pins_text(text, source="v1.0.0.env")
    assert values["PHP_PINS_SCHEMA"] == resolve.PINS_SCHEMA == str(pins.PINS_SCHEMA)
    assert values["PHP_LINES"] == "8.4 8.5"
    parsed = resolve.parse_pins(text, source="v1.0.0.env")
    assert parsed.release == "v1.0.0"
    assert parsed.default_line == "8.4"
    assert parsed.stand_in is True
    assert parsed.repository.name == hub
    assert parsed.mirror is not None and parsed.mirror.name == ghcr
    assert [line.php for line in parsed.lines] == ["8.4", "8.5"]
    for line in parsed.lines:
        assert str(line.image) == f"{hub}:v1.0.0-php-{line.php}@{index[line.php]}"
        assert str(line.mirror_image) == f"{ghcr}:v1.0.0-php-{line.php}@{index[line.php]}"
        assert line.platforms == ("linux/amd64", "linux/arm64")
        assert line.base_image == f"{bases}:{line.php}-fpm-alpine@{BASE_DIGEST[line.php]}"
    choice = resolve.choose(resolve.Inputs(php=None, release=None), parsed, "linux/arm64")
    assert (choice.php, choice.release, choice.digest) == ("8.4", "v1.0.0", index["8.4"])
    assert choice.known_platforms == ("linux/amd64", "linux/arm64")
    assert choice.stand_in is True


def test_resolve_loads_the_pins_file_from_the_notes_directory() -> None:
    loaded = resolve.load_pins(str(NOTES), "v1.0.0", cwd=FIXTURES)
    assert loaded is not None and loaded.release == "v1.0.0"


#: The stand-in comment of the pins files these publishers wrote, and today's (true of the
#: stand-ins holding Debian's real PHP too): the one line of them written otherwise now.
STAND_IN_COMMENT_THEN = "# STAND-IN REHEARSAL: these images contain no real PHP. Do not use them."
STAND_IN_COMMENT_NOW = (
    f"# STAND-IN REHEARSAL: these images are {resolve.STAND_IN_IMAGES}. Do not use them."
)


def rendered_as_written(folder: Path) -> None:
    """The pins file the record in ``folder`` gives is the one written beside it, byte for
    byte, but for the stand-in comment's words (the file holds the earlier ones)."""
    written = (folder / "v1.0.0.env").read_text(encoding="utf-8")
    assert written.count(STAND_IN_COMMENT_THEN + "\n") == 1, written
    now = written.replace(STAND_IN_COMMENT_THEN, STAND_IN_COMMENT_NOW)
    assert pins.render(_json(folder / "v1.0.0.json")) == now


@pytest.mark.parametrize("folder", [NOTES, BEFORE], ids=["republished", "first-run"])
def test_the_pins_file_is_what_the_record_beside_it_gives(folder: Path) -> None:
    rendered_as_written(folder)


# --------------------------------------------------------------------------- Markdown notes


def test_gh_release_knows_the_rehearsal_by_each_of_its_files() -> None:
    body = (NOTES / "v1.0.0.md").read_text(encoding="utf-8")
    assert body.splitlines()[0] == "# v1.0.0"
    assert body.splitlines()[2].startswith(notes.STAND_IN_BANNER)
    with pytest.raises(UsageError) as caught:
        notes.refuse_stand_in(NOTES / "v1.0.0.md", "v1.0.0", body)
    said = str(caught.value)
    assert "says stand_in: true" in said
    assert "says PHP_STAND_IN=true" in said
    assert "say STAND-IN REHEARSAL" in said
    assert (
        "Its images are built on stand-in base images, not the official php images; nothing was sent to GitHub"
        in said
    )


# --------------------------------------------------------------------------- a newer publisher's fields


def _with_unknown_keys(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    data["signed_by"] = "a later publisher"
    data["registries"][0]["region"] = "eu"
    data["lines"][0]["sbom"] = {"format": "spdx"}
    data["lines"][0]["platforms"][0]["layers"] = 3
    data["lines"][0]["base"]["pulled_at"] = "2026-12-02"
    data["floating"][0]["moved_from"] = None
    data["history"][0]["by"] = "weekly job"
    data["history"][0]["changes"][0]["base"] = "sha256:" + "0" * 64
    return data


def test_a_record_with_fields_a_later_publisher_adds_is_read_as_today(tmp_path: Path) -> None:
    """A field the reader does not know is passed over at every level (schema 1 says
    nothing of it), so an older publisher re-running a job reads a newer publisher's
    record (and writes it again with those fields: ``records-v1-newer`` below)."""
    newer = _with_unknown_keys(_json(NOTES / "v1.0.0.json"))
    path = tmp_path / "v1.0.0.json"
    path.write_text(json.dumps(newer, indent=2), encoding="utf-8")
    assert notes.read_record(path) == notes.read_record(NOTES / "v1.0.0.json")


def test_a_digest_record_with_a_later_field_is_read_as_today(tmp_path: Path) -> None:
    data = _json(DIGESTS / "8.4-linux-amd64.json")
    data["provenance"] = {"builder_version": "0.20"}
    path = tmp_path / "8.4-linux-amd64.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert records.read_record_file(path) == records.read_record_file(
        DIGESTS / "8.4-linux-amd64.json"
    )


def test_a_pins_file_with_a_later_key_is_read_as_today() -> None:
    text = (NOTES / "v1.0.0.env").read_text(encoding="utf-8")
    newer = text + "PHP_SBOM_8_4='127.0.0.1:56931/stand-in-example/php-fpm:sbom'\n"
    assert resolve.parse_pins(newer, source="v1.0.0.env") == resolve.parse_pins(
        text, source="v1.0.0.env"
    )


def test_a_size_history_with_a_later_top_level_key_is_read_as_today() -> None:
    data = _json(NOTES / "size-history.json")
    data["unit"] = "bytes"
    history = notes.parse_size_history(json.dumps(data), "size-history.json")
    assert history.sizes == {"v1.0.0": SIZES}


# --------------------------------------------------------------------------- earlier versions' files

OLDER = FIXTURES / "older"


def test_the_first_writers_record_reads_without_the_fields_added_since() -> None:
    record = notes.read_record(OLDER / "first-writer" / "v1.0.0.json")
    assert record.publish_plan_sha256 == ""
    assert record.plan_sha256 == "sha256:" + "6" * 64
    assert [line.extensions for line in record.lines] == [None, None]
    assert record.default_line == "8.4"
    assert record.line("8.4").tags == ("v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest")
    assert record.line("8.4").base_digest == "sha256:" + "9" * 64
    assert record.history[0].reason == "openssl update"
    assert record.history[0].changes == (("8.4", "sha256:" + "7" * 64, "sha256:" + "b" * 64),)
    assert len(record.floating) == 6
    sizes = notes.load_size_history(OLDER / "first-writer").sizes
    assert sizes["v1.0.0"]["8.3"] == {"linux/amd64": 30_000_000, "linux/arm64": 30_000_001}
    digest = records.read_record_file(OLDER / "first-writer" / "8.4-linux-amd64.json")
    assert (digest.php, str(digest.platform), digest.builder) == ("8.4", "linux/amd64", "buildah")
    # today's pins file can still be made from it (a republish writes one)
    parsed = resolve.parse_pins(
        pins.render(_json(OLDER / "first-writer" / "v1.0.0.json")), source="v1.0.0.env"
    )
    assert parsed.default_line == "8.4" and [line.php for line in parsed.lines] == ["8.3", "8.4"]


def test_a_record_from_before_extensions_were_kept_reads_with_none() -> None:
    folder = OLDER / "before-extensions"
    record = notes.read_record(folder / "v1.0.0.json")
    assert record.stand_in is True
    assert record.line_names == ("8.4", "8.5")
    assert [line.extensions for line in record.lines] == [None, None]
    assert record.publish_plan_sha256.startswith("sha256:")
    assert notes.load_size_history(folder).sizes["v1.0.0"]["8.4"]["linux/arm64"] == 1051771
    parsed = resolve.parse_pins((folder / "v1.0.0.env").read_text(encoding="utf-8"), source="env")
    assert {line.php: line.digest for line in parsed.lines} == {
        line.php: line.index_digest for line in record.lines
    }
    rendered_as_written(folder)


def test_a_pins_file_naming_a_default_line_it_does_not_pin_is_read_for_its_lines() -> None:
    """Written by publisher before its pins file left such a default line out: resolve
    reads it, and a PHP line asked for by name is chosen from it as ever."""
    text = (OLDER / "unpinned-default-line" / "v1.0.0.env").read_text(encoding="utf-8")
    parsed = resolve.parse_pins(text, source="v1.0.0.env")
    assert parsed.default_line == "8.4"
    assert [line.php for line in parsed.lines] == ["8.5"]
    choice = resolve.choose(resolve.Inputs(php="8.5", release=None), parsed, "linux/amd64")
    assert choice.digest == parsed.lines[0].digest


# --------------------------------------------------------------------------- a newer publisher's files

NEWER = FIXTURES.parent / "records-v1-newer"
NEWER_NOTES = NEWER / "release-notes"

#: Every field ``records-v1-newer`` holds that schema 1 does not name.
ADDED = [
    "signed",
    "source_commit",
    "registries[0].region",
    "registries[1].anonymous_pull",
    *(
        f"lines[{i}].{name}"
        for i in (0, 1)
        for name in ("php_api", "sbom", *(["built_on"] if i == 0 else []))
    ),
    *(f"lines[{i}].base.pulled_at" for i in (0, 1)),
    *(
        f"lines[{i}].platforms[{j}].{n}"
        for i in (0, 1)
        for j in (0, 1)
        for n in ("layers", "uncompressed_bytes")
    ),
    *(f"floating[{i}].moved_at" for i in range(6)),
    "history[0].requested_by",
    "history[0].changes[0].base_before",
    "history[0].changes[1].base_before",
]


def _paths(data: Any, path: str = "") -> set[str]:
    """Every field path in ``data`` (``lines[0].base.image``)."""
    if isinstance(data, dict):
        return {
            found
            for key, value in data.items()
            for found in {f"{path}.{key}".lstrip(".")} | _paths(value, f"{path}.{key}".lstrip("."))
        }
    if isinstance(data, list):
        return {found for i, item in enumerate(data) for found in _paths(item, f"{path}[{i}]")}
    return set()


def test_the_newer_fixture_adds_fields_at_every_level_of_the_record() -> None:
    newer, written = _json(NEWER_NOTES / "v1.0.0.json"), _json(NOTES / "v1.0.0.json")
    assert sorted(notes.RECORD_SHAPE.unknown(newer)) == sorted(ADDED)
    assert _paths(newer) - _paths(written) == {
        found for added in ADDED for found in {added} | _paths(_at(newer, added), added)
    }
    # today's writer writes only the fields its shape names
    assert notes.RECORD_SHAPE.unknown(written) == []


def _at(data: Any, path: str) -> Any:
    for part in path.replace("[", ".[").split("."):
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return data


def test_a_newer_publishers_record_is_written_back_byte_for_byte() -> None:
    """An older publisher re-running a job writes a newer one's record again as it was:
    the fields it does not know stay, in their place, with their values."""
    record = notes.read_record(NEWER_NOTES / "v1.0.0.json")
    assert record == notes.read_record(NOTES / "v1.0.0.json")
    history = notes.load_size_history(NEWER_NOTES)
    assert notes.release_json(record, history) == (NEWER_NOTES / "v1.0.0.json").read_text(
        encoding="utf-8"
    )
    # the same after the size history is written again for it, as publish does
    assert history.with_release(record).to_json() == (NEWER_NOTES / "size-history.json").read_text(
        encoding="utf-8"
    )


def test_a_rewrite_keeps_the_added_fields_of_what_it_keeps_and_drops_those_of_what_it_drops() -> (
    None
):
    """A republish changes a line's digests and adds a history entry: the fields a newer
    publisher added stay with their entry (named by its PHP line, platform, registry and
    tag), and leave with a line the rewrite no longer holds."""
    record = notes.read_record(NEWER_NOTES / "v1.0.0.json")
    new_index = "sha256:" + "e" * 64
    line = record.line("8.4")
    moved = dataclasses.replace(
        line,
        index_digest=new_index,
        platforms=tuple(reversed(line.platforms)),  # the order changes, not the names
    )
    entry = notes.Republish("2026-12-09", "openssl", (("8.4", line.index_digest, new_index),))
    rewritten = dataclasses.replace(record, lines=(moved,), history=(*record.history, entry))
    data = json.loads(notes.release_json(rewritten, notes.load_size_history(NEWER_NOTES)))
    newer = _json(NEWER_NOTES / "v1.0.0.json")
    for path in ADDED:
        if path.startswith("lines[1]"):
            continue  # 8.5 is gone, and what was added to it
        kept = path.replace("platforms[0]", "platforms[X]").replace("platforms[1]", "platforms[0]")
        kept = kept.replace("platforms[X]", "platforms[1]")
        assert _at(data, kept) == _at(newer, path), path
    assert [line["php"] for line in data["lines"]] == ["8.4"]
    assert data["lines"][0]["index_digest"] == new_index
    assert sorted(notes.RECORD_SHAPE.unknown(data)) == sorted(
        a.replace("platforms[0]", "platforms[X]")
        .replace("platforms[1]", "platforms[0]")
        .replace("platforms[X]", "platforms[1]")
        for a in ADDED
        if not a.startswith("lines[1]")
    )
    assert "requested_by" not in data["history"][1]  # the new entry has only its own fields


def test_a_newer_publishers_digest_records_are_written_back_byte_for_byte() -> None:
    for path in sorted((NEWER / "digests").glob("*.json")):
        record = records.read_record_file(path)
        assert record == records.read_record_file(DIGESTS / path.name)
        assert record.to_json() == path.read_text(encoding="utf-8")
        # a rerun that reuses the record writes it with what it does not know
        again = records.parse_record(record.to_json(), str(path))
        assert again.written is not None and again.written["provenance"]["builder_version"]


def test_the_launcher_reader_reads_a_newer_publishers_pins_file_as_its_twin() -> None:
    text = (NEWER_NOTES / "v1.0.0.env").read_text(encoding="utf-8")
    assert "PHP_SBOM_8_4" in text
    assert resolve.parse_pins(text, source="v1.0.0.env") == resolve.parse_pins(
        (NOTES / "v1.0.0.env").read_text(encoding="utf-8"), source="v1.0.0.env"
    )


def _schema(text: str, schema: int) -> str:
    return text.replace('"schema": 1', f'"schema": {schema}', 1)


@pytest.mark.parametrize(
    ("read", "path", "what"),
    [
        (notes.read_record, NEWER_NOTES / "v1.0.0.json", "release record"),
        (notes.load_size_history, NEWER_NOTES / "size-history.json", "size history"),
        (records.read_record_file, NEWER / "digests" / "8.4-linux-amd64.json", "digest record"),
    ],
    ids=["record", "size-history", "digest-record"],
)
def test_a_file_of_a_newer_schema_is_refused_saying_a_newer_publisher_wrote_it(
    tmp_path: Path, read: Any, path: Path, what: str
) -> None:
    target = tmp_path / path.name
    target.write_text(_schema(path.read_text(encoding="utf-8"), 2), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read(tmp_path if what == "size history" else target)
    error = caught.value
    assert error.exit_code == 3
    assert (error.source, error.field) == (str(target), "schema")
    assert error.problem == (
        f"this {what} has schema 2, written by a newer publisher; this publisher reads "
        "schema 1 and leaves the file as it is"
    )
    assert error.hint is not None and "run the publisher version that wrote it" in error.hint
