"""Digest records: what one build leg hands to the publish stage.

A build leg (one PHP line on one platform, possibly on its own runner) pushes
its image by digest to the primary registry and writes one small JSON record.
``publisher publish`` reads every record from a directory. Records are written
atomically, so a killed leg leaves either a whole record or none.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..resolve import is_digest
from . import reference
from .config import Config
from .errors import (
    ConfigError,
    InvalidReferenceError,
    NewerSchemaError,
    PublisherError,
    UsageError,
    file_error,
    newer_schema_error,
    shown_field,
)
from .fileio import (
    json_kind,
    parse_json,
    read_prefix,
    read_text,
    require_directory,
    write_atomic,
)
from .locations import DEFAULT as DEFAULT_LOCATIONS
from .locations import Locations
from .manifest import DOCKERFILE_LABEL, config_labels
from .platforms import Platform
from .schema import Shape, is_newer
from .version import Release, is_release_tag

RECORD_SCHEMA = 1


@dataclass(frozen=True)
class DigestRecord:
    release: str
    php: str
    platform: Platform
    repository: str
    digest: str
    base_image: str
    base_digest: str | None
    builder: str
    dockerfile_sha256: str
    #: The record as its file held it (None for a record not read from one): what a newer
    #: publisher added to it is written back when a rerun reuses the record.
    written: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform.parse(self.platform))

    @property
    def file_name(self) -> str:
        return Leg(self.php, self.platform).record_name

    def to_json(self) -> str:
        data = {"schema": RECORD_SCHEMA, **{name: getattr(self, name) for name in FIELDS}}
        return json.dumps(SHAPE.carry(self.written, data), indent=2, sort_keys=True) + "\n"


#: The fields of a digest record (besides ``schema``), each a string (``base_digest`` may
#: be null); what a newer publisher added besides them is written back as it was.
FIELDS = tuple(f.name for f in fields(DigestRecord) if f.compare)
SHAPE = Shape({"schema", *FIELDS})


@dataclass(frozen=True)
class Leg:
    """One image to build: a PHP line on one platform; its digest record is named after it."""

    php: str
    platform: Platform

    @property
    def slug(self) -> str:
        """``8.4-linux-arm64``: names the digest record and the workflow artifact."""
        return f"{self.php}-{self.platform.slug}"

    @property
    def label(self) -> str:
        return f"PHP {self.php} {self.platform}"

    @property
    def record_name(self) -> str:
        return f"{self.slug}.json"


def write_record_file(path: str | Path, record: DigestRecord) -> Path:
    return write_atomic(path, record.to_json())


#: A digest record is a few hundred bytes; a larger file is not one (read no further).
MAX_DIGEST_RECORD_BYTES = 64 * 1024

#: What to do about a digest record that is not one.
RECORD_HINT = (
    "a build leg writes it atomically: rerun that leg (`publisher build ... --digest-file`) "
    "or remove the file, and keep only digest records in the --digests directory"
)


def _corrupt(source: str, message: str, field: str | None = None) -> ConfigError:
    """A digest record that cannot be used: a corrupt input file, as a corrupt release record."""
    return ConfigError(message, source=source, field=field, hint=RECORD_HINT)


def parse_record(text: str, source: str) -> DigestRecord:
    """Parse a digest record; ConfigError (exit 3) naming the file and what is wrong."""
    data = parse_json(
        text, source, limit=MAX_DIGEST_RECORD_BYTES, what="digest record", hint=RECORD_HINT
    )
    if notes_file(data) is not None:
        raise ConfigError(  # `--digests .` at the repository root reaches release-notes/
            "not a digest record: release notes JSON (a release record or the size "
            "history), which publish reads from the notes directory, never from --digests",
            source=source,
            hint="point --digests at the directory the build legs wrote their digest records "
            "to (`X.Y-linux-ARCH.json`, e.g. digests/), not at one that holds release notes",
        )
    if isinstance(data, dict) and is_newer(data.get("schema"), RECORD_SCHEMA):
        raise newer_schema_error(
            "digest record", data["schema"], RECORD_SCHEMA, source=source, field="schema"
        )
    # `true` and `1.0` equal 1 in Python: the schema is the whole number, as a release
    # record's and the size history's are
    if (
        not isinstance(data, dict)
        or type(data.get("schema")) is not int
        or data["schema"] != RECORD_SCHEMA
    ):
        raise _corrupt(source, f"not a digest record of schema {RECORD_SCHEMA}")
    missing = set(FIELDS) - set(data)
    if missing:
        raise _corrupt(source, f"digest record lacks {', '.join(sorted(missing))}")
    for name in FIELDS:
        value = data[name]
        if not isinstance(value, str) and not (name == "base_digest" and value is None):
            raise _corrupt(source, f"expected a string, got {json_kind(value)}", name)
    try:
        record = DigestRecord(**{k: data[k] for k in FIELDS}, written=data)
    except ValueError as exc:  # the platform
        raise _corrupt(source, str(exc), "platform") from None
    # what publish copies into the release record and the pins file is checked here, before
    # anything is pushed: a release record holding it would be refused by every later command
    for name in ("digest", "base_digest", "dockerfile_sha256"):
        value = data[name]
        if value is not None and not is_digest(value):
            raise _corrupt(source, f"{value[:80]!r} is not a sha256 digest", name)
    try:
        reference.parse(record.base_image)
    except InvalidReferenceError as exc:
        raise _corrupt(source, str(exc), "base_image") from None
    return record


def read_record_file(path: Path) -> DigestRecord:
    """Read and parse one digest record: unreadable is exit 18, not a record exit 3."""
    try:
        text = read_text(
            path, limit=MAX_DIGEST_RECORD_BYTES, what="digest record", hint=RECORD_HINT
        )
    except FileNotFoundError as exc:
        raise file_error(exc, "read the digest record") from None
    return parse_record(text, str(path))


def read_records(paths: Iterable[Path]) -> list[DigestRecord]:
    return [read_record_file(path) for path in sorted(paths)]


def usable_records(paths: Iterable[Path]) -> Iterator[tuple[Path, DigestRecord]]:
    """(path, record) for each of ``paths`` that holds a readable record, in order.

    The others are skipped: an earlier run's leftover is a hint, never an error
    (the registry decides whether its image still exists). A record a newer publisher
    wrote is the exception: NewerSchemaError, as that record is not this publisher's to
    replace (``check_not_newer`` makes a run say so before it builds anything).
    """
    for path in paths:
        try:
            yield path, read_record_file(path)
        except NewerSchemaError:
            raise
        except PublisherError:
            continue


def notes_file(data: object) -> str | None:
    """What the parsed JSON ``data`` is when it is release notes JSON, which publish writes
    in the notes directory (a release record, the size history), in words; else None."""
    if not isinstance(data, dict):
        return None
    if {"release", "lines"} <= set(data):
        tag = data["release"]
        known = isinstance(tag, str) and is_release_tag(tag)
        return f"the release record of {tag}" if known else "a release record"
    if "releases" in data:
        return "the size history"
    return None


def _notes_file_at(path: Path) -> str | None:
    """``notes_file`` of the file at ``path`` (as large as a size history may be); None
    when it cannot be read or parsed."""
    try:
        text = read_text(path, limit=MAX_NOTES_JSON_BYTES, what="JSON file", hint="")
        return notes_file(parse_json(text, str(path), limit=MAX_NOTES_JSON_BYTES, what="", hint=""))
    except (PublisherError, OSError):
        return None


#: How much of a file that is no JSON object is read to say what it is.
_SNIFF_BYTES = 64 * 1024

#: The first line of a release's Markdown notes (``# vX.Y.Z``), and the line of its pins
#: file (``release-notes/vX.Y.Z.env``) that names the release.
_NOTES_TITLE = re.compile(r"\A# (\S+)[ \t]*\r?$", re.MULTILINE)
_PINS_RELEASE = re.compile(r"^STACK_RELEASE='([^'\n]*)'\r?$", re.MULTILINE)
_PINS_SCHEMA = re.compile(r"^PHP_PINS_SCHEMA='", re.MULTILINE)


def _not_json_file(path: Path) -> str | None:
    """What the file at ``path`` is when it holds no JSON object at all (its first
    character other than a blank is not ``{``), in words: the Markdown notes or the pins
    file of a release, known by its name beside the release's record (``vX.Y.Z.md``,
    ``vX.Y.Z.env`` beside ``vX.Y.Z.json``) or by what it holds, else "not a digest
    record (not JSON)". None when it starts as a JSON object would (a record cut short:
    publisher writes each whole, so what is cut short still starts with ``{``), when it
    is empty or blank, or when it cannot be read (the read that follows says why)."""
    try:
        head = read_prefix(path, _SNIFF_BYTES)[:_SNIFF_BYTES]
    except OSError:
        return None
    # a byte order mark, then the blanks; a file of NUL bytes is what a crash may leave
    start = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x00")
    if not start or start.startswith(b"{"):
        return None
    stem, suffix = path.stem, path.suffix
    kinds = {".md": "the Markdown release notes", ".env": "the pins file"}
    if suffix in kinds and is_release_tag(stem) and path.with_name(f"{stem}.json").exists():
        return f"{kinds[suffix]} of {stem}, which publish writes in the notes directory"
    text = start.decode("utf-8", errors="replace")
    pins = _PINS_RELEASE.search(text)
    if pins or _PINS_SCHEMA.search(text):
        tag = pins.group(1) if pins else ""
        named = f"the pins file of {tag}" if is_release_tag(tag) else "a release's pins file"
        return f"{named}, which publish writes in the notes directory"
    title = _NOTES_TITLE.match(text)
    if title and is_release_tag(title.group(1)):
        return (
            f"the Markdown release notes of {title.group(1)}, which publish writes in the "
            "notes directory"
        )
    if start.startswith(b"["):
        return "not a digest record (a JSON array, not an object)"
    return "not a digest record (not JSON)"


#: The largest release notes JSON recognized where a digest record should be (the size
#: history's limit); a larger file is said to be no digest record, as any other.
MAX_NOTES_JSON_BYTES = 16 * 1024 * 1024


def replaced_file(path: Path, leg: Leg, *, tip: str | None = None) -> str | None:
    """What a build of ``leg`` that writes its record at ``path`` replaces: None when no
    file is there or it holds a digest record of ``leg`` (of any release); why, in words
    without the path, when it holds no record this publisher can read (an earlier run's
    leftover, cut short, say: the record replaces it, and ``replaced_warning`` says so).

    A file publisher wrote that is something else is refused (ConfigError, exit 3) and
    left as it is: a release record or the size history (a --digest-file that names the
    notes directory's files by mistake), another leg's digest record (it would be lost
    to the publish that needs it), its ``tip`` what to do (default: give the leg its
    own file, as ``build --digest-file`` is given). So is any file that is no JSON object
    at all (``_not_json_file``: a release's Markdown notes or pins file, any other text),
    which no run of publisher left there; an empty one is replaced, with the warning. A
    record a newer publisher wrote raises NewerSchemaError, as in ``usable_records``."""
    if not os.path.lexists(path):
        return None
    try:
        record = read_record_file(path)
    except NewerSchemaError:
        raise
    except ConfigError as exc:
        if (what := _not_json_file(path)) is not None:
            raise _not_the_legs(path, leg, what, tip) from None
        what = _notes_file_at(path)
        if what is not None:
            notes = f"{what}, which publish writes in the notes directory"
            raise _not_the_legs(path, leg, notes, tip) from None
        column = "" if exc.column is None else f", column {exc.column}"
        where = "" if exc.line is None else f" at line {exc.line}{column}"
        if exc.problem.endswith(where):  # "Unterminated string starting at line 1, ..."
            where = ""
        field = "" if exc.field is None else f"{shown_field(exc.field)}: "
        return f"{field}{exc.problem}{where}"
    except PublisherError as exc:  # a read that failed: its message names the file
        return exc.message
    other = Leg(record.php, record.platform)
    if other != leg:
        what = f"the digest record of another leg, {other.label} of {record.release}"
        raise _not_the_legs(path, leg, what, tip)
    return None


def _not_the_legs(path: Path, leg: Leg, what: str, tip: str | None) -> ConfigError:
    """The refusal of the file at ``path``, ``what`` in words, where ``leg`` would write
    its record (``tip``: what to do, when not to give the leg its own file)."""
    if not what.startswith("not a digest record"):
        what = f"{what}, not a digest record of {leg.label}"
    return ConfigError(
        f"this file is {what}: the leg's record would "
        "replace it, so it is left as it is, and nothing was built or pushed",
        source=str(path),
        hint=tip
        or f"give the leg its own record's file, named after it, e.g. "
        f"digests/{leg.record_name} (one per leg: `publisher matrix RELEASE` lists them), "
        "or move that file out of the way if it is not needed there",
    )


def replaced_warning(leg: Leg, path: Path, why: str) -> str:
    """The warning of ``leg``'s record written over a file at ``path`` that held no
    record this publisher can read (``why``: what ``replaced_file`` said)."""
    return (
        f"{leg.label}: replaced {path}, an earlier file that held no digest record this "
        f"publisher can read ({why}), with the leg's record"
    )


def check_not_newer(paths: Iterable[Path]) -> None:
    """Raise NewerSchemaError for the first of ``paths`` a newer publisher wrote; the
    other records, readable or not, are left to ``usable_records``."""
    for _ in usable_records(paths):
        pass


def read_directory(directory: str | Path) -> list[DigestRecord]:
    """Every ``*.json`` record under ``directory`` (artifact downloads nest one level).

    Hidden files and directories (``.pending/`` of a run in progress, ``.work/``)
    are not records.
    """
    root = Path(directory)
    require_directory(
        root,
        "the digest records",
        hint="point --digests at the directory the build legs wrote their records to",
    )
    try:
        paths = _record_paths(root)
    except OSError as exc:
        raise file_error(exc, "read the digest records") from None
    return read_records(paths)


def _raise(exc: OSError) -> None:
    raise exc


def _record_paths(root: Path) -> list[Path]:
    """Every ``*.json`` under ``root``, hidden entries left out. A directory that cannot
    be listed raises (``Path.rglob`` skips one it may not read, its records unsaid)."""
    paths: list[Path] = []
    for where, dirs, files in os.walk(root, onerror=_raise):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        names = (*dirs, *files)  # a link to a directory is listed, never followed
        paths += [Path(where, n) for n in names if n.endswith(".json") and n[0] != "."]
    return paths


def match_records(
    config: Config,
    release: Release,
    records: Sequence[DigestRecord],
    *,
    allow_missing: bool = False,
    locations: Locations = DEFAULT_LOCATIONS,
) -> dict[str, list[DigestRecord]]:
    """The records of each selected line in platform order; every leg must be present.

    With ``allow_missing`` (a dry run before the builds), a line lacking any leg
    is left out instead. The commands a refusal names carry ``locations``, the run's.
    """
    by_key: dict[tuple[str, str], DigestRecord] = {}
    for record in records:
        if record.release != release.tag:
            continue
        key = (record.php, record.platform)
        if key in by_key and by_key[key].digest != record.digest:
            raise UsageError(
                f"two digest records for PHP {record.php} {record.platform} disagree "
                f"({by_key[key].digest} and {record.digest})",
                hint="keep only the records of one build run in the --digests directory",
            )
        by_key[key] = record
    missing: list[str] = []
    result: dict[str, list[DigestRecord]] = {}
    for line in config.lines:
        result[line.php] = []
        for platform in line.platforms:
            found = by_key.get((line.php, platform.value))
            if found is None:
                missing.append(f"{line.php} {platform}")
                continue
            record = found
            if record.repository != config.primary.repository.name:
                raise UsageError(
                    f"the record for PHP {line.php} {platform} names {record.repository}, "
                    f"but the primary registry is {config.primary.repository.name}",
                    hint="the build ran with another matrix.yaml or PUBLISHER_NAMESPACE: "
                    "publish with the same ones, or build the legs again with these",
                )
            result[line.php].append(record)
    if missing and allow_missing:
        incomplete = {m.split(" ")[0] for m in missing}
        result = {php: legs for php, legs in result.items() if php not in incomplete}
    elif missing:
        others = {record.release for record in records} - {release.tag}
        if others and not by_key:  # every record is another release's
            given = ", ".join(sorted(others))
            raise UsageError(
                f"no digest record for release {release.tag}: the digest records given are "
                f"of {given}, not of {release.tag}; no registry was changed",
                hint=f"point --digests at {release.tag}'s records (the directory its "
                f"`publisher build` legs wrote), or publish the release they are of",
            )
        raise UsageError(
            f"no digest record for release {release.tag}: {', '.join(missing)}",
            hint=f"run `{locations.command('build', release.tag)}` for those legs (or "
            f"`{locations.command('release', release.tag)}`) first",
        )
    for php, legs in result.items():
        refuse_mixed_builds(release, php, legs, locations)
    return result


def refuse_mixed_builds(
    release: Release,
    php: str,
    records: Sequence[DigestRecord],
    locations: Locations = DEFAULT_LOCATIONS,
) -> None:
    """Refuse one line's legs built from different base images or Dockerfiles: a leg run
    again later ("Re-run failed jobs" after the base tag moved, a leg built again by hand
    after a render) beside the others. Its index would hold images of two builds, and the
    record (and the pins file's ``PHP_BASE_IMAGE``) would name one base for them all.
    The command the refusal names carries ``locations``, the run's."""
    for what, of in (
        ("base images", lambda r: r.base_digest),
        ("Dockerfiles", lambda r: r.dockerfile_sha256),
    ):
        if len({of(r) for r in records} - {None}) < 2:
            continue
        said = ", ".join(f"{r.platform} from {of(r)}" for r in records if of(r) is not None)
        rebuild = locations.command(
            "build", release.tag, "--php", php, "--platform P --digest-file F --rebuild"
        )
        raise UsageError(
            f"the digest records of PHP {php} were built from different {what} ({said}): "
            "its legs were not built by one run, and one index holds the images of one "
            "build; no registry was changed",
            hint=f"build every leg of PHP {php} again (`{rebuild}` for each; in GitHub Actions, "
            '"Re-run all jobs"), then publish again',
        )


# --------------------------------------------------------------------------- a rebuild's cause


@dataclass(frozen=True)
class Built:
    """One platform image of a line as a republish knows it: the published one, or the
    one its rebuild gave (``rebuild_cause`` compares the two). What is not known is None."""

    platform: str
    digest: str
    base_digest: str | None = None
    #: the sha256 of the Dockerfile it was built from: its digest record's, or its
    #: ``DOCKERFILE_LABEL`` (None for an image an earlier publisher built without it)
    dockerfile_sha256: str | None = None
    #: its image config as the registry served it (None: not read)
    config: Mapping[str, Any] | None = None
    #: its manifest's layer digests, compressed (None: not read)
    layers: tuple[str, ...] | None = None


#: A label value longer than this is named, not quoted, when a rebuild changed it.
QUOTED_LABEL = 80

#: The label buildah sets to its version on every image it builds.
BUILDAH_LABEL = "io.buildah.version"


def rebuild_cause(published: Sequence[Built], rebuilt: Sequence[Built]) -> str:
    """What gave a republished line new images, in words: between ``published`` (its
    platform images as the release served them) and ``rebuilt`` (this republish's), the
    base moved (``base OLD -> NEW``), the Dockerfile changed (``Dockerfile OLD -> NEW``), or
    neither: ``same base and Dockerfile; the build differs: ...``, naming what does
    (the builder, as the image configs tell it, labels, the creation time, the layers,
    other config fields, else the build steps), so that a
    maintainer can tell a rebuild by an upgraded publisher or another builder from a
    moved base. What is not known of the published images is said as not known."""
    if not published:
        return "the published images could not be read"
    old = {b.platform: b for b in published}
    pairs = [(old[b.platform], b) for b in rebuilt if b.platform in old]
    said: list[str] = []
    if set(old) != {b.platform for b in rebuilt}:
        said.append(
            f"platforms {', '.join(old) or 'none'} -> {', '.join(b.platform for b in rebuilt)}"
        )
    if pairs and all(o.digest == n.digest for o, n in pairs):
        return "; ".join(
            said
            or ["the same platform images under another index (its annotations or attestations)"]
        )
    bases = _moved([(o.base_digest, n.base_digest) for o, n in pairs])
    dockerfiles = _moved([(o.dockerfile_sha256, n.dockerfile_sha256) for o, n in pairs])
    said += [f"base {a} -> {b}" for a, b in bases.moved]
    said += [f"Dockerfile {a} -> {b}" for a, b in dockerfiles.moved]
    if said:
        return "; ".join(said)
    if bases.known and dockerfiles.known:
        same = "same base and Dockerfile"
    elif bases.known:
        same = (
            "same base; the Dockerfile of the published images is not known (they carry "
            f"no {DOCKERFILE_LABEL} label: an earlier publisher built them)"
        )
    elif dockerfiles.known:
        same = "same Dockerfile; the base of the published images is not known"
    else:
        same = "the base and Dockerfile of the published images are not known"
    differs = list(dict.fromkeys(words for o, n in pairs for words in _build_differs(o, n)))
    return f"{same}; the build differs: {'; '.join(differs) or 'its image manifest'}"


@dataclass(frozen=True)
class _Compared:
    #: each (old, new) pair that differs, both known
    moved: tuple[tuple[str, str], ...]
    #: every old and new value is known
    known: bool


def _moved(pairs: Sequence[tuple[str | None, str | None]]) -> _Compared:
    moved = tuple(dict.fromkeys((a, b) for a, b in pairs if a and b and a != b))
    return _Compared(moved, all(a and b for a, b in pairs))


def _build_differs(old: Built, new: Built) -> list[str]:
    """What differs between two builds of one platform image from the same base and
    Dockerfile, each in words; [] when nothing read tells them apart."""
    if old.config is None or new.config is None:
        return ["the published image's config could not be read"]
    said = []
    builders = built_with(old.config), built_with(new.config)
    if builders[0] != builders[1]:
        said.append("builder " + " -> ".join(builder or "(not named)" for builder in builders))
    before, after = config_labels(old.config), config_labels(new.config)
    for labels in (before, after):  # said as the builder
        labels.pop(BUILDAH_LABEL, None)
    if added := [name for name in after if name not in before]:
        said.append(f"labels added: {', '.join(added)}")
    if removed := [name for name in before if name not in after]:
        said.append(f"labels removed: {', '.join(removed)}")
    for name in (name for name in after if name in before and before[name] != after[name]):
        a, b = before[name], after[name]
        short = len(a) <= QUOTED_LABEL and len(b) <= QUOTED_LABEL
        said.append(f"label {name} {a} -> {b}" if short else f"label {name}")
    if old.config.get("created") != new.config.get("created"):
        said.append(f"created {old.config.get('created')} -> {new.config.get('created')}")
    if old.config.get("rootfs") != new.config.get("rootfs"):
        said.append("its layers")
    elif old.layers is not None and new.layers is not None and old.layers != new.layers:
        said.append("its layers' compression")
    fields = _other_fields(old.config, new.config)
    if fields:
        said.append(f"image config {', '.join(fields)}")
    elif not said and _steps(old.config) != _steps(new.config):
        said.append("its build steps (the image config's history)")
    return said


def built_with(config: Mapping[str, Any]) -> str | None:
    """The builder an image config tells: ``buildah 1.28.2`` (its ``BUILDAH_LABEL``),
    ``BuildKit`` (buildx, and docker's own: their history's comments name it), else None."""
    version = config_labels(config).get(BUILDAH_LABEL)
    if version is not None:
        return f"buildah {version}"
    history = config.get("history")
    steps = history if isinstance(history, list) else []
    if any(
        "buildkit" in str(step.get("comment", "")) for step in steps if isinstance(step, Mapping)
    ):
        return "BuildKit"
    return None


#: The image config fields ``_other_fields`` passes over: those ``_build_differs`` names by
#: themselves, and the docker format's record of the build's last container (its id, and
#: its config, which repeats the labels), which differ whenever anything does.
_SAID_APART = frozenset({"created", "history", "rootfs", "config", "container", "container_config"})


def _other_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The image config fields that differ but for those ``_build_differs`` names by
    themselves (labels, creation time, layers, history): ``config.Env`` and such."""
    top = [
        key
        for key in dict.fromkeys((*old, *new))
        if key not in _SAID_APART and old.get(key) != new.get(key)
    ]
    a, b = _inner(old), _inner(new)
    inner = [
        f"config.{key}"
        for key in dict.fromkeys((*a, *b))
        if key != "Labels" and a.get(key) != b.get(key)
    ]
    return sorted(top + inner)


def _inner(config: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = config.get("config")
    return inner if isinstance(inner, Mapping) else {}


def _steps(config: Mapping[str, Any]) -> list[Any]:
    """The build steps of an image config's history, without their times."""
    history = config.get("history")
    if not isinstance(history, list):
        return []
    return [
        {k: v for k, v in step.items() if k != "created"} if isinstance(step, Mapping) else step
        for step in history
    ]
