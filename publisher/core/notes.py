"""Release notes: Markdown for people, JSON for machines, size history.

The notes JSON is the **release record**: the one place that says what a
release was (its default line, lines, platforms, registries, bases, digests,
sizes, PHP versions, dates and republish history). This module owns its schema,
both ways: ``release_json`` writes it and ``parse_record``/``load_record`` read
it, with located errors (exit 3) for a malformed file or one of another schema
(a higher one: a newer publisher wrote it), which is never treated as absent. A
record of this schema with fields a newer publisher added is read for the fields this
one knows and written again with the others as they were (``RECORD_SHAPE``; the size
history's ``HISTORY_SHAPE``). Every reader (publish, republish, republish-check,
verify, audit) goes through here. The size history (``size-history.json``) is
read the same way (``load_size_history``): a corrupt file is a located error
(exit 3), never an empty history.

Rendering is pure; ``load_record``/``read_record``/``record_releases`` and
``load_size_history`` only read files. The publish stage writes ``release-notes/vX.Y.Z.md``,
``release-notes/vX.Y.Z.json`` and ``release-notes/size-history.json`` atomically.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..resolve import STAND_IN_IMAGES, is_digest, php_line_order, short_digest
from . import lifecycle
from .errors import (
    ConfigError,
    NewerSchemaError,
    PublisherError,
    UsageError,
    file_error,
    newer_schema_error,
)
from .fileio import (
    MIB,
    json_kind,
    json_kind_of,
    parse_json,
    read_bytes,
    read_text,
    require_directory,
)
from .pins import file_name as pins_file_name
from .plan import LATEST, RegistryPlan, release_pins
from .platforms import Platform
from .schema import Shape, is_newer
from .sizes import MB, human_size, megabytes, signed_megabytes, signed_percent
from .version import Release, is_release_tag, parse_release

NOTES_SCHEMA = 1
#: A notes file larger than this is refused before it is parsed.
MAX_RECORD_BYTES = 4 * 1024 * 1024
HISTORY_SCHEMA = 1
#: A pins file larger than this is refused before it is read whole: a release's pins
#: file is a few kilobytes.
MAX_PINS_BYTES = 1024 * 1024
#: Release notes (Markdown) larger than this are refused before they are read whole. A
#: release's notes are a few kilobytes, but years of republishes make their history long:
#: publisher writes them from a record of at most ``MAX_RECORD_BYTES``, and no part of
#: the record takes more than 5 times its bytes in the notes (a history row repeats its
#: republish's date and reason for each line it rebuilt, and ``markdown_text`` at most
#: doubles a reason), so every notes file publisher writes is within this bound.
MAX_NOTES_MARKDOWN_BYTES = 8 * MAX_RECORD_BYTES
#: The size history's file name in the notes directory.
HISTORY_FILE = "size-history.json"
#: The heading of the notes' republish history table (the one part a too-long body cuts).
HISTORY_HEADING = "## Republish history"
#: A size history larger than this is refused before it is parsed.
MAX_HISTORY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class PlatformFacts:
    platform: Platform
    digest: str
    size_bytes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform.parse(self.platform))


@dataclass(frozen=True)
class LineFacts:
    php: str
    php_version: str
    index_digest: str
    tags: tuple[str, ...]
    base_image: str
    base_digest: str | None
    size_budget_bytes: int
    platforms: tuple[PlatformFacts, ...]
    #: The module names the smoke test checked (``php -m``); None in a record written
    #: before publisher kept them. A republish checks these, not today's matrix.
    extensions: tuple[str, ...] | None = None


#: A record lists its registries as the release plan does: name, repository, primary.
RegistryFacts = RegistryPlan


@dataclass(frozen=True)
class FloatingFacts:
    registry: str
    tag: str
    release: str
    digest: str


@dataclass(frozen=True)
class Republish:
    """One out-of-band rebuild of an already published release."""

    date: str
    reason: str
    changes: tuple[tuple[str, str, str], ...]  # (php, old digest, new digest)
    #: (php, what gave the line new images: ``records.rebuild_cause``), for the lines of
    #: ``changes`` the republish compared (none in an entry written before publisher did)
    causes: tuple[tuple[str, str], ...] = ()

    def cause(self, php: str) -> str | None:
        """What gave PHP ``php`` new images, as the republish said it; None if unsaid."""
        return dict(self.causes).get(php)

    def cut_to(self, lines: Sequence[str]) -> Republish:
        """The entry with only the changes (and causes) of ``lines``."""
        return Republish(
            self.date,
            self.reason,
            tuple(change for change in self.changes if change[0] in lines),
            tuple(cause for cause in self.causes if cause[0] in lines),
        )


@dataclass(frozen=True)
class ReleaseFacts:
    release: str
    stable: bool
    stand_in: bool
    default_line: str
    published_at: str
    registries: tuple[RegistryFacts, ...]
    lines: tuple[LineFacts, ...]
    floating: tuple[FloatingFacts, ...]
    history: tuple[Republish, ...] = ()
    source_url: str | None = None
    regression_percent: float = 10.0
    plan_sha256: str = ""
    #: sha256 of the publish plan the last run executed (``publisher publish --dry-run --json``)
    publish_plan_sha256: str = ""
    #: The record as its file held it (None for one not read from a file): what a newer
    #: publisher added to it is written back (``RECORD_SHAPE``). Not a fact of the release.
    written: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def line(self, php: str) -> LineFacts:
        return next(line for line in self.lines if line.php == php)

    @property
    def line_names(self) -> tuple[str, ...]:
        return tuple(line.php for line in self.lines)

    @property
    def republished(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each republish of the history: its date and the PHP lines it rebuilt, as
        ``lifecycle.advised`` reads them (where a line past its end stands)."""
        return tuple(
            (entry.date, tuple(php for php, _old, _new in entry.changes)) for entry in self.history
        )

    def pins(self, php: str) -> tuple[str, ...]:
        """The pin tags this release owns for ``php`` (``vX.Y.Z-php-A.B``, plus ``vX.Y.Z``)."""
        return release_pins(self.release, php, self.default_line)

    def pin_digests(self) -> dict[str, str]:
        """Every pin tag of this release -> the index digest it must point at."""
        return {tag: line.index_digest for line in self.lines for tag in self.pins(line.php)}


# --------------------------------------------------------------------------- size history


@dataclass(frozen=True)
class SizeHistory:
    """Compressed size per release, PHP line and platform, kept in the repository."""

    sizes: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    #: The history as its file held it: what a newer publisher added is written back.
    written: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_json(cls, text: str | None, source: str = HISTORY_FILE) -> SizeHistory:
        """Parse the size history; ConfigError (exit 3) names what is wrong, and where."""
        if not text:
            return cls()
        return parse_size_history(text, source)

    def to_json(self) -> str:
        ordered = {
            r: {p: dict(sorted(v.items())) for p, v in sorted(self.sizes[r].items(), key=_line_key)}
            for r in sorted(self.sizes, key=parse_release)
        }
        data = HISTORY_SHAPE.carry(self.written, {"schema": HISTORY_SCHEMA, "releases": ordered})
        return json.dumps(data, indent=2) + "\n"

    def with_release(self, facts: ReleaseFacts, *, keep_lines: bool = False) -> SizeHistory:
        """The history with ``facts.release``'s sizes replaced by its record's: a line the
        record no longer holds (an earlier rehearsal of the tag with more lines) keeps no
        size there. A real run's record carries every line the release was published
        with (``--only`` keeps the others' facts), unless the record lost a line's entry
        (an older publisher's ``republish --only``, a hand edit): ``keep_lines`` (a real
        run's) keeps the sizes of the lines ``facts`` lacks, the last trace of that line,
        which later releases' size comparisons are made against."""
        merged = {r: {p: dict(v) for p, v in lines.items()} for r, lines in self.sizes.items()}
        entry: dict[str, dict[str, int]] = {
            line.php: {p.platform: p.size_bytes for p in line.platforms} for line in facts.lines
        }
        if keep_lines:
            before = merged.get(facts.release, {})
            entry = {**{php: v for php, v in before.items() if php not in entry}, **entry}
        merged[facts.release] = entry
        return SizeHistory(merged, self.written)

    def with_missing(self, facts: ReleaseFacts) -> SizeHistory:
        """The history with the sizes of ``facts`` it lacks added, every size it holds kept
        as it is (a rerun that keeps a release's notes as written); ``self`` when it lacks
        none."""
        held = self.sizes.get(facts.release, {})
        missing = [
            (line.php, p.platform, p.size_bytes)
            for line in facts.lines
            for p in line.platforms
            if p.platform not in held.get(line.php, {})
        ]
        if not missing:
            return self
        merged = {r: {p: dict(v) for p, v in lines.items()} for r, lines in self.sizes.items()}
        for php, platform, size in missing:
            merged.setdefault(facts.release, {}).setdefault(php, {})[platform] = size
        return SizeHistory(merged, self.written)

    def previous_stable(self, release: str, php: str, platform: str) -> tuple[str, int] | None:
        """The highest stable release below ``release`` with a size for (php, platform)."""
        current = parse_release(release)
        best: tuple[Release, int] | None = None
        for tag, lines in self.sizes.items():
            candidate = parse_release(tag)
            if not candidate.is_stable or not candidate < current:
                continue
            size = lines.get(php, {}).get(platform)
            if size is not None and (best is None or best[0] < candidate):
                best = (candidate, size)
        return (best[0].tag, best[1]) if best else None


#: The size history's fields: ``releases`` is a map of release tags (to PHP lines, to
#: platforms, to bytes), where a newer publisher has no field to add.
HISTORY_SHAPE = Shape({"schema", "releases"})


def _line_key(item: tuple[str, Any]) -> tuple[int, ...]:
    return php_line_order(item[0])


#: What to do about a size history publisher cannot read.
HISTORY_HINT = (
    "restore it from git history (publisher writes it atomically), or delete it: it is "
    "then rebuilt from the release records next to it"
)


def parse_size_history(text: str, source: str) -> SizeHistory:
    """Parse ``size-history.json``: ``{"schema": 1, "releases": {tag: {php: {platform:
    bytes}}}}``. Anything else is a ConfigError (exit 3) naming the file and field."""
    data = parse_json(text, source, limit=MAX_HISTORY_BYTES, what="size history", hint=HISTORY_HINT)

    def error(message: str, *keys: str) -> ConfigError:
        field = "".join(f"[{json.dumps(k)}]" for k in keys[1:])
        return ConfigError(
            message, source=source, field=(keys[0] + field) if keys else None, hint=HISTORY_HINT
        )

    if not isinstance(data, dict):
        raise error(f"expected an object, got {json_kind(data)}")
    schema = data.get("schema", HISTORY_SCHEMA)
    if is_newer(schema, HISTORY_SCHEMA):
        raise newer_schema_error(
            "size history", schema, HISTORY_SCHEMA, source=source, field="schema"
        )
    if schema != HISTORY_SCHEMA or isinstance(schema, bool):
        raise error(
            f"schema {schema!r} is not one this publisher reads (it reads {HISTORY_SCHEMA})",
            "schema",
        )
    releases = data.get("releases")
    if not isinstance(releases, dict):
        raise error(
            "missing" if releases is None else f"expected an object, got {json_kind(releases)}",
            "releases",
        )
    sizes: dict[str, dict[str, dict[str, int]]] = {}
    for tag, lines in releases.items():
        if not is_release_tag(tag):
            raise error(f"{tag!r} is not a release tag", "releases", tag)
        if not isinstance(lines, dict):
            raise error(f"expected an object, got {json_kind(lines)}", "releases", tag)
        sizes[tag] = {}
        for php, platforms in lines.items():
            if not _is_php_line(php):
                raise error(f"{php!r} is not a PHP line (X.Y)", "releases", tag, php)
            if not isinstance(platforms, dict):
                raise error(f"expected an object, got {json_kind(platforms)}", "releases", tag, php)
            sizes[tag][php] = {}
            for platform, size in platforms.items():
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise error(
                        f"expected a size in bytes, got {size!r}", "releases", tag, php, platform
                    )
                sizes[tag][php][platform] = size
    return SizeHistory(sizes, data)


def _is_php_line(text: str) -> bool:
    major, dot, minor = text.partition(".")
    return text.isascii() and bool(dot) and major.isdigit() and minor.isdigit()


def size_history_path(notes_dir: str | Path) -> Path:
    return Path(notes_dir) / HISTORY_FILE


def written_by_a_release(name: str) -> bool:
    """Whether ``name`` is a file a release writes into its notes directory: its notes
    (``vX.Y.Z.md``), its record (``vX.Y.Z.json``), its pins file (``vX.Y.Z.env``), or the
    size history."""
    tag, dot, _ = name.rpartition(".")
    return name == HISTORY_FILE or (
        bool(dot)
        and is_release_tag(tag)
        and name in (f"{tag}.md", f"{tag}.json", pins_file_name(tag))
    )


def load_size_history(notes_dir: str | Path) -> SizeHistory:
    """The size history in ``notes_dir``; when there is no such file, the one its release
    records give (``sizes_from_records``: empty before the first release).

    A file that exists but cannot be read or parsed is an error, never "empty":
    the publish stage reads it before anything is built or pushed.
    """
    path = size_history_path(notes_dir)
    try:
        text = read_text(path, limit=MAX_HISTORY_BYTES, what="size history", hint=HISTORY_HINT)
    except FileNotFoundError:
        return sizes_from_records(notes_dir)[0]
    return parse_size_history(text, str(path))


def check_size_history(notes_dir: str | Path) -> None:
    """Refuse a size history that exists but cannot be read or parsed (a located error,
    as ``load_size_history`` gives), reading only the file: the check the release and
    publish stages make before anything is built, while a missing file is rebuilt from
    the records only when the notes are written."""
    path = size_history_path(notes_dir)
    try:
        text = read_text(path, limit=MAX_HISTORY_BYTES, what="size history", hint=HISTORY_HINT)
    except FileNotFoundError:
        return
    parse_size_history(text, str(path))


@dataclass(frozen=True)
class PassedOver:
    """The release records ``sizes_from_records`` could not take sizes from, by file name."""

    #: unreadable or corrupt (the command acting on such a record says what is wrong)
    unreadable: tuple[str, ...] = ()
    #: of a schema a newer publisher writes (``errors.newer_schema_error``)
    newer: tuple[str, ...] = ()

    def said(self) -> str:
        """``; passed over, ...`` for the warning that the history was rebuilt; "" for none."""
        parts = []
        if self.unreadable:
            parts.append(f"unreadable: {', '.join(self.unreadable)}")
        if self.newer:
            them, their = ("it", "its") if len(self.newer) == 1 else ("them", "their")
            parts.append(
                f"written by a newer publisher (the version that wrote {them}, or a later one, "
                f"reads {their} sizes): {', '.join(self.newer)}"
            )
        return "".join(f"; passed over, {part}" for part in parts)


def sizes_from_records(notes_dir: str | Path) -> tuple[SizeHistory, PassedOver]:
    """The sizes the release records in ``notes_dir`` hold, and the records passed over
    (unreadable or corrupt, or a newer publisher's: a lost size history is rebuilt from
    what can be read; the command acting on such a record says what is wrong with it)."""
    history = SizeHistory()
    unreadable: list[str] = []
    newer: list[str] = []
    root = Path(notes_dir)
    if not root.is_dir():
        return history, PassedOver()
    for path in _record_files(root):
        try:
            record = read_record(path)
        except NewerSchemaError:
            newer.append(path.name)
            continue
        except (PublisherError, OSError):
            unreadable.append(path.name)
            continue
        if record.release == path.stem:
            history = history.with_release(record)
    return history, PassedOver(tuple(unreadable), tuple(newer))


@dataclass(frozen=True)
class SizeChange:
    previous_release: str
    previous_bytes: int
    change_bytes: int
    change_percent: float
    regression: bool


def size_change(
    facts: ReleaseFacts, history: SizeHistory, php: str, platform: PlatformFacts
) -> SizeChange | None:
    previous = history.previous_stable(facts.release, php, platform.platform)
    if previous is None:
        return None
    tag, before = previous
    delta = platform.size_bytes - before
    percent = (delta / before * 100.0) if before else 0.0
    return SizeChange(tag, before, delta, round(percent, 2), percent > facts.regression_percent)


# --------------------------------------------------------------------------- JSON

#: The fields of the release record this publisher knows (``to_dict`` writes them), and
#: how its lists name their entries: what a newer publisher added anywhere else is
#: written back as the file held it, within the entry of the same name.
RECORD_SHAPE = Shape(
    {
        "schema",
        "release",
        "stable",
        "stand_in",
        "default_line",
        "published_at",
        "plan_sha256",
        "publish_plan_sha256",
    },
    registries=Shape({"name", "repository", "primary"}, names=("name",)),
    lines=Shape(
        {
            "php",
            "php_version",
            "index_digest",
            "tags",
            "size_budget_bytes",
            "extensions",
            "references",  # one REPOSITORY@DIGEST per registry: written whole each time
        },
        names=("php",),
        base=Shape({"image", "digest"}),
        platforms=Shape(
            {"platform", "digest", "size_bytes", "within_budget"},
            names=("platform",),
            size_change=Shape(SizeChange.__dataclass_fields__),
        ),
    ),
    floating=Shape({"registry", "tag", "release", "digest"}, names=("registry", "tag")),
    history=Shape(
        {"date", "reason"},
        names=("date", "reason"),
        changes=Shape({"php", "old", "new", "cause"}, names=("php",)),
    ),
)


def to_dict(facts: ReleaseFacts, history: SizeHistory) -> dict[str, Any]:
    lines = []
    for line in facts.lines:
        platforms = []
        for p in line.platforms:
            item: dict[str, Any] = asdict(p)
            change = size_change(facts, history, line.php, p)
            item["size_change"] = asdict(change) if change else None
            item["within_budget"] = p.size_bytes <= line.size_budget_bytes
            platforms.append(item)
        lines.append(
            {
                "php": line.php,
                "php_version": line.php_version,
                "index_digest": line.index_digest,
                "tags": list(line.tags),
                "base": {"image": line.base_image, "digest": line.base_digest},
                "size_budget_bytes": line.size_budget_bytes,
                **({} if line.extensions is None else {"extensions": list(line.extensions)}),
                "platforms": platforms,
                "references": {
                    r.name: f"{r.repository}@{line.index_digest}" for r in facts.registries
                },
            }
        )
    data = {
        "schema": NOTES_SCHEMA,
        "release": facts.release,
        "stable": facts.stable,
        "stand_in": facts.stand_in,
        "default_line": facts.default_line,
        "published_at": facts.published_at,
        "plan_sha256": facts.plan_sha256,
        "publish_plan_sha256": facts.publish_plan_sha256,
        "registries": [asdict(r) for r in facts.registries],
        "lines": lines,
        "floating": [asdict(f) for f in facts.floating],
        "history": [
            {
                "date": h.date,
                "reason": h.reason,
                "changes": [_change(h, php, old, new) for php, old, new in h.changes],
            }
            for h in facts.history
        ],
    }
    return RECORD_SHAPE.carry(facts.written, data)


def _change(entry: Republish, php: str, old: str, new: str) -> dict[str, str]:
    """One change of a history entry as the record writes it: ``cause`` when it was said."""
    cause = entry.cause(php)
    return {"php": php, "old": old, "new": new, **({} if cause is None else {"cause": cause})}


def release_json(facts: ReleaseFacts, history: SizeHistory) -> str:
    return json.dumps(to_dict(facts, history), indent=2, sort_keys=False) + "\n"


def history_from_json(data: Mapping[str, Any]) -> tuple[Republish, ...]:
    """The republish history of an earlier notes JSON."""
    result = []
    for entry in data.get("history", []):
        changes = tuple((c["php"], c["old"], c["new"]) for c in entry.get("changes", []))
        causes = tuple((c["php"], c["cause"]) for c in entry.get("changes", []) if "cause" in c)
        result.append(Republish(entry["date"], entry["reason"], changes, causes))
    return tuple(result)


# --------------------------------------------------------------------------- reading the record


#: What to do about a release record publisher cannot read.
RECORD_HINT = (
    "use the release notes JSON that publisher wrote, unmodified (restore it from git history)"
)


#: What to do about a release record that is not JSON (cut short, overwritten). Without
#: it, a rerun of the release finishes it as one that stopped before its record: from the
#: images its pins hold, which it does not rebuild.
CORRUPT_RECORD_HINT = (
    "restore the file from git history (publisher writes it atomically); if it was never "
    "committed, move it out of the notes directory and rerun the release with the same "
    "--config and --notes-dir (its --dry-run first shows what it does): it writes the record "
    "again from the images the release's pins hold, with a new published_at and without "
    "any republish history the file held"
)


class _Fields:
    """Typed access to one JSON object, each error naming the file and the field path."""

    def __init__(self, data: Any, source: str, path: str, *, hint: str = RECORD_HINT) -> None:
        self.source = source
        self.path = path
        self.hint = hint
        if not isinstance(data, dict):
            raise self.error(f"expected an object, got {json_kind(data)}")
        self.data = data

    def error(self, message: str, key: str | None = None) -> ConfigError:
        where = f"{self.path}.{key}" if self.path and key else (key or self.path or None)
        return ConfigError(message, source=self.source, field=where, hint=self.hint)

    def get(self, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.data:
            if optional:
                return None
            raise self.error("missing", key)
        value = self.data[key]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            kinds = (kind,) if isinstance(kind, type) else kind
            names = " or ".join(json_kind_of(k) for k in kinds)
            raise self.error(f"expected {names}, got {json_kind(value)}", key)
        return value

    def objects(self, key: str, *, optional: bool = False) -> list[_Fields]:
        items = self.get(key, list, optional=optional) or []
        prefix = f"{self.path}.{key}" if self.path else key
        return [
            _Fields(item, self.source, f"{prefix}[{i}]", hint=self.hint)
            for i, item in enumerate(items)
        ]


def _digest(fields: _Fields, key: str, *, optional: bool = False) -> Any:
    value = fields.get(key, str, optional=optional)
    if value is not None and not is_digest(value):
        raise fields.error(f"{value!r} is not a sha256 digest", key)
    return value


def _names(fields: _Fields, key: str) -> tuple[str, ...] | None:
    """An optional list of names (a record written before the key existed has none)."""
    value = fields.get(key, list, optional=True)
    if value is None:
        return None
    if not all(isinstance(item, str) and item for item in value):
        raise fields.error("expected a list of names", key)
    return tuple(value)


def _platform(fields: _Fields) -> Platform:
    text = fields.get("platform", str)
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise fields.error(str(exc), "platform") from None


def parse_record(text: str, source: str) -> ReleaseFacts:
    """Parse a release record (the notes JSON); ConfigError (exit 3) names what is wrong."""
    data = parse_json(
        text,
        source,
        limit=MAX_RECORD_BYTES,
        what="release record",
        hint=CORRUPT_RECORD_HINT,
    )
    top = _Fields(data, source, "")
    schema = top.get("schema", int)
    if is_newer(schema, NOTES_SCHEMA):
        raise newer_schema_error(
            "release record", schema, NOTES_SCHEMA, source=source, field="schema"
        )
    if schema != NOTES_SCHEMA:
        raise top.error(
            f"schema {schema} is not one this publisher reads (it reads {NOTES_SCHEMA})",
            "schema",
        )
    release = top.get("release", str)
    if not is_release_tag(release):
        raise top.error(f"{release!r} is not a release tag", "release")
    registries = tuple(
        RegistryFacts(r.get("name", str), r.get("repository", str), r.get("primary", bool))
        for r in top.objects("registries")
    )
    lines = []
    line_fields = top.objects("lines")
    for line in line_fields:
        base = _Fields(line.get("base", dict), source, f"{line.path}.base")
        if not line.objects("platforms"):
            # Every publisher wrote the platforms of the index it verified: none is a record
            # edited by hand, whose pins file would say the image has no platform at all.
            raise line.error("a line of a release record lists at least one platform", "platforms")
        lines.append(
            LineFacts(
                php=line.get("php", str),
                php_version=line.get("php_version", str),
                index_digest=_digest(line, "index_digest"),
                tags=tuple(str(t) for t in line.get("tags", list)),
                base_image=base.get("image", str),
                base_digest=_digest(base, "digest", optional=True),
                size_budget_bytes=line.get("size_budget_bytes", int),
                extensions=_names(line, "extensions"),
                platforms=tuple(
                    PlatformFacts(_platform(p), _digest(p, "digest"), p.get("size_bytes", int))
                    for p in line.objects("platforms")
                ),
            )
        )
    if not lines:
        raise top.error("a release record lists at least one PHP line", "lines")
    default_line = top.get("default_line", str)
    floating = tuple(
        FloatingFacts(
            f.get("registry", str), f.get("tag", str), f.get("release", str), _digest(f, "digest")
        )
        for f in top.objects("floating", optional=True)
    )
    history = []
    for entry in top.objects("history", optional=True):
        items = entry.objects("changes")
        changes = tuple((c.get("php", str), _digest(c, "old"), _digest(c, "new")) for c in items)
        causes = tuple(
            (c.get("php", str), cause)
            for c in items
            if (cause := c.get("cause", str, optional=True)) is not None
        )
        history.append(Republish(entry.get("date", str), entry.get("reason", str), changes, causes))
    _check_consistent(
        top,
        release,
        default_line,
        list(zip(line_fields, lines, strict=True)),
        floating,
        replaced={(php, old) for h in history for php, old, _new in h.changes},
    )
    return ReleaseFacts(
        release=release,
        stable=top.get("stable", bool),
        stand_in=top.get("stand_in", bool),
        default_line=default_line,
        published_at=top.get("published_at", str),
        registries=registries,
        lines=tuple(lines),
        floating=floating,
        history=tuple(history),
        plan_sha256=top.get("plan_sha256", str, optional=True) or "",
        publish_plan_sha256=top.get("publish_plan_sha256", str, optional=True) or "",
        written=data,
    )


#: What to do about a record whose fields contradict each other.
CONTRADICTION_HINT = (
    "publisher never writes such a record: it was edited by hand or merged badly; restore it "
    "from git (`git log -p -- {file}` shows its changes) before verify, audit or a republish "
    "trusts it"
)


def restore_tip(notes_dir: str | None, release: str, *, when: str = "") -> str:
    """How to put back ``release``'s record, edited by hand: from git, seeing its changes
    (``notes_dir`` as the run was given it; None: the default; ``when``: which version of
    it, as " as it was before ...")."""
    path = Path(notes_dir or "release-notes") / f"{release}.json"
    return f"restore {path} from git{when} (`git log -p -- {path}` shows its changes)"


def _check_consistent(
    top: _Fields,
    release: str,
    default_line: str,
    lines: list[tuple[_Fields, LineFacts]],
    floating: tuple[FloatingFacts, ...],
    *,
    replaced: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> None:
    """Refuse a record whose fields contradict each other (exit 3, naming the field): its
    lines' pins, the default line, the references and the floating tags it moved all come
    from one run, so a record where they disagree was edited, and acting on it would move
    published pins. A floating tag of the release's own may name an index a republish
    replaced since (``replaced``: the history's (php, old digest) pairs): a newer release
    took that tag before the republish, so the record keeps it as it was at publication."""
    hint = CONTRADICTION_HINT.format(file=top.source)

    def refuse(message: str, where: str) -> ConfigError:
        return ConfigError(message, source=top.source, field=where, hint=hint)

    by_php: dict[str, LineFacts] = {}
    for fields, line in lines:
        if line.php in by_php:
            raise refuse(f"PHP {line.php} is listed twice", f"{fields.path}.php")
        by_php[line.php] = line
        pins = release_pins(release, line.php, default_line)
        for tag in line.tags:
            if tag not in pins and (tag == release or tag.startswith(f"{release}-php-")):
                raise refuse(
                    f"PHP {line.php}'s tags name {tag}, a pin of another line than "
                    f"{line.php} (default_line is {default_line})",
                    f"{fields.path}.tags",
                )
        references = fields.data.get("references")
        for name, reference in references.items() if isinstance(references, dict) else ():
            if not isinstance(reference, str) or not reference.endswith(f"@{line.index_digest}"):
                raise refuse(
                    f"{reference!r} is not the line's index_digest {line.index_digest}",
                    f"{fields.path}.references.{name}",
                )
    for i, entry in enumerate(floating):
        if entry.release != release:
            continue  # a tag another release holds: that release's record says it
        where = f"floating[{i}]"
        php = default_line if entry.tag == LATEST else entry.tag.removeprefix("php-")
        held = by_php.get(php)
        if held is None:
            if entry.tag == LATEST:
                continue  # a run of other lines (--only): latest stays on the default line
            raise refuse(
                f"{entry.tag} on {entry.registry} names PHP {php} of {release}, a line this "
                "record does not have",
                f"{where}.tag",
            )
        if entry.digest != held.index_digest and (php, entry.digest) not in replaced:
            raise refuse(
                f"{entry.tag} on {entry.registry} is {short_digest(entry.digest)}, but PHP "
                f"{php}'s index_digest is {short_digest(held.index_digest)}"
                + (f" (default_line is {default_line})" if entry.tag == LATEST else ""),
                f"{where}.digest",
            )


def record_path(notes_dir: str | Path, release: str) -> Path:
    return Path(notes_dir) / f"{release}.json"


def read_record(path: str | Path) -> ReleaseFacts:
    """Read and parse one record file; unreadable or oversized files are errors."""
    target = Path(path)
    try:
        text = read_text(target, limit=MAX_RECORD_BYTES, what="release record", hint=RECORD_HINT)
    except FileNotFoundError as exc:
        raise file_error(exc, "read the release record") from None
    return parse_record(text, str(target))


def load_record(notes_dir: str | Path, release: str) -> ReleaseFacts | None:
    """The record of ``release`` in ``notes_dir``; None only when there is no such file.

    A file that exists but cannot be read or parsed is an error, never "absent".
    """
    path = record_path(notes_dir, release)
    try:
        os.lstat(path)  # a dangling link is there: a record unread, not "no record"
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # a notes directory this user may not search: exit 18, not a traceback
        raise file_error(exc, "read the release record") from None
    record = read_record(path)
    if record.release != release:
        raise ConfigError(
            f"this is the record of {record.release}, not {release}",
            source=str(path),
            field="release",
            hint=f"each record is named after its release: restore {path.name} from git "
            "history (publisher writes it unmodified)",
        )
    return record


def record_releases(notes_dir: str | Path) -> list[Release]:
    """Every release with a record file in ``notes_dir``, oldest first (``audit`` and
    ``republish-check``, which act on records): a directory that is not there (or a
    file) is a FileAccessError (exit 18), as every missing input is."""
    root = Path(notes_dir)
    require_directory(
        root,
        "the release records",
        hint="pass --notes-dir with the directory the releases wrote their notes and records "
        "to (default: release-notes/ next to the matrix file)",
    )
    return sorted(parse_release(p.stem) for p in _record_files(root))


def _record_files(root: Path) -> list[Path]:
    """The release record files in the directory ``root`` (``vX.Y.Z.json``), in name
    order. A directory that cannot be listed is a FileAccessError (exit 18), never read
    as holding none (``Path.glob`` skips it silently): republish-check would say there
    is nothing to republish."""
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        raise file_error(exc, "read the release records") from None
    files = [root / name for name in names if name.endswith(".json")]
    return [path for path in files if is_release_tag(path.stem)]


def recorded_tags(notes_dir: str | Path) -> frozenset[str]:
    """The release tags with a record file in ``notes_dir`` (none when there is no such
    directory yet): each such release finished once (``plan.settled``)."""
    if not Path(notes_dir).is_dir():
        return frozenset()
    return frozenset(release.tag for release in record_releases(notes_dir))


def higher_stable_recorded(notes_dir: str | Path, release: Release) -> Release | None:
    """The highest stable release recorded in ``notes_dir`` above ``release`` (a stable
    one): there, ``release`` is a backport, which moves no floating tag of the lines that
    release has. None for a prerelease (it moves none anyway), or when there is none."""
    if not release.is_stable or not Path(notes_dir).is_dir():
        return None
    higher = [r for r in record_releases(notes_dir) if r.is_stable and release < r]
    return max(higher) if higher else None


def newer_recorded_pins(notes_dir: str | Path, release: Release) -> tuple[str, ...]:
    """The pins (``vX.Y.Z`` among them) of each stable release recorded in ``notes_dir``
    above ``release``, as its registries hold them once it was published: the floating
    tags a rerun or republish of ``release`` leaves on them (``plan``). None when there
    is no such directory."""
    if not Path(notes_dir).is_dir():
        return ()
    pins: list[str] = []
    for other in record_releases(notes_dir):
        facts = load_record(notes_dir, other.tag) if other.is_stable and release < other else None
        if facts is not None:
            pins += [
                tag
                for line in facts.lines
                for tag in release_pins(facts.release, line.php, facts.default_line)
            ]
    return tuple(pins)


def rehearsed_backport(release: str, higher: str, where: str) -> str:
    """What a rehearsal of ``release`` (its registries new and empty) does that the real
    one, after ``higher`` (recorded in ``where``), would not: the words of its notice
    and of its notes."""
    return (
        f"{where} records {higher}, a higher stable release: a real {release} after it "
        f"writes only its own pins and `{release}`, moving neither `latest` nor the "
        f"`php-X.Y` tag of a line {higher} has; this rehearsal's registries start empty, "
        f"so it moves them to {release}"
    )


def taken_meanwhile(taken: Mapping[str, Sequence[str]], *, code: bool = False) -> list[str]:
    """The floating tags a release planned to move that a higher release took while it
    ran (``taken``: that release -> its tags, in plan order), in words: one sentence
    per release holding them, its tags in backticks when ``code`` (the notes)."""
    said = []
    for holder, tags in taken.items():
        names = [f"`{t}`" if code else t for t in tags]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        said.append(
            f"{listed} {'stays' if len(names) == 1 else 'stay'} on {holder}, published "
            "meanwhile; this release keeps its pins"
        )
    return said


# --------------------------------------------------------------------------- Markdown


def written_on(facts: ReleaseFacts) -> lifecycle.Written | None:
    """The day the notes of ``facts`` judge each line's lifecycle on: that of its newest
    republish, which rewrote them, else the day of publishing (None: not a date)."""
    return lifecycle.written(facts.published_at, (entry.date for entry in facts.history))


def _lifecycle(php: str, written: lifecycle.Written | None) -> list[str]:
    """``- ⚠ ...`` when the line is past its end of life or its base no longer updates;
    else the support it has on the day the notes were written (``written_on``), and until
    when."""
    if written is None:
        return []
    note = lifecycle.warning(php, written.day)
    if note:
        return [f"- ⚠ {note}"]
    support = lifecycle.support(php, written.day, event=written.event)
    return [f"- {support}"] if support else []


#: The first words of a stand-in rehearsal's notes (``release_markdown``).
STAND_IN_BANNER = "> **STAND-IN REHEARSAL.**"
_PINS_STAND_IN = re.compile(r"^PHP_STAND_IN=['\"]?true['\"]?[ \t]*\r?$", re.MULTILINE)


def read_pins_text(path: Path) -> str:
    """A release's pins file, read as text (an odd byte replaced), at most
    ``MAX_PINS_BYTES``: a larger one is ConfigError; a missing one FileNotFoundError."""
    raw = read_bytes(path, limit=MAX_PINS_BYTES, what="pins file")
    if len(raw) > MAX_PINS_BYTES:
        raise ConfigError(
            f"the file is larger than {MAX_PINS_BYTES // MIB} MiB; not a pins file",
            source=str(path),
            hint="restore it from git history, or write it again with `publisher publish`",
        )
    return raw.decode("utf-8", errors="replace")


def refuse_stand_in(notes_path: Path, release: str, body: str) -> None:
    """Raise UsageError when the notes at ``notes_path`` (text ``body``) are a stand-in
    rehearsal's: their record beside them says ``stand_in: true``, the pins file beside
    them says ``PHP_STAND_IN=true``, or the notes carry the rehearsal banner.

    Such images are not the official php images: they must never become a published release.
    """
    marks = []
    record = load_record(notes_path.parent, release)
    if record is not None and record.stand_in:
        marks.append(f"its record {record_path(notes_path.parent, release)} says stand_in: true")
    pins = notes_path.with_name(f"{release}.env")
    if pins.is_file():
        try:
            text = read_pins_text(pins)
        except FileNotFoundError as exc:
            raise file_error(exc, "read the pins file") from None
        if _PINS_STAND_IN.search(text):
            marks.append(f"its pins file {pins} says PHP_STAND_IN=true")
    if any(line.startswith(STAND_IN_BANNER) for line in body.splitlines()):
        marks.append(f"the notes {notes_path} say STAND-IN REHEARSAL")
    if marks:
        raise UsageError(
            f"{release} at {notes_path} is a STAND-IN rehearsal, not a release: "
            + "; ".join(marks)
            + f". Its images are {STAND_IN_IMAGES}; nothing was sent to GitHub",
            hint="pass --notes with the notes of a real release (published with a matrix "
            "without `stand_in: true`); a rehearsal's notes are never published",
        )


def release_markdown(
    facts: ReleaseFacts,
    history: SizeHistory,
    *,
    rehearsal: bool = False,
    higher: str | None = None,
    taken: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The release notes in Markdown; ``rehearsal`` (``--local``: throwaway registries)
    says the release was rehearsed there, never that it was published; ``higher``: the
    higher stable release recorded beside a rehearsal's notes (``higher_stable_recorded``),
    said under its banner; ``taken``: the floating tags a higher release published
    meanwhile took from this one (``taken_meanwhile``), said under the first sentence."""
    primary = next(r for r in facts.registries if r.primary)
    out: list[str] = [f"# {facts.release}", ""]
    if facts.stand_in:
        out += [
            f"{STAND_IN_BANNER} These images are {STAND_IN_IMAGES}.",
            "> Do not use them.",
        ]
        moved = any(f.release == facts.release for f in facts.floating)
        if rehearsal and higher is not None and moved:
            said = rehearsed_backport(facts.release, higher, "the notes directory")
            out.append(f"> Backport: {said}.")
        out.append("")
    kind = (
        "Stable release"
        if facts.stable
        else "Prerelease (floating tags `php-X.Y` and `latest` were not moved)"
    )
    if any(line.php == facts.default_line for line in facts.lines):
        # what the default line's images hold (``tags``), not the record's floating facts
        # of the time it was published: a republish after a newer release keeps those
        default = f"PHP {facts.default_line} (`{facts.release}`" + (
            ", `latest`" if LATEST in facts.line(facts.default_line).tags else ""
        )
    else:  # a rehearsal of fewer lines (`--local --only`): its default line's tags not written
        default = (
            f"PHP {facts.default_line}, left out of this "
            + ("rehearsal" if rehearsal else "release")
            + f" (`{facts.release}` and `latest` follow it: neither was written"
        )
    written = written_on(facts)
    out += [
        f"{kind}. Default line: {default}). "
        + ("Rehearsed on throwaway registries" if rehearsal else "Published")
        + f" {facts.published_at}."
        + (
            f" Republished {written.day}: each line's support below is that of this day."
            if written is not None and written.event == "republish"
            else ""
        ),
        "",
    ]
    for words in taken_meanwhile(taken or {}, code=True):
        out += [f"{words}.", ""]
    out += [
        "| PHP | version | index digest (identical on every registry) | tags |",
        "|---|---|---|---|",
    ]
    for line in facts.lines:
        tags = ", ".join(f"`{t}`" for t in line.tags)
        out.append(
            f"| {line.php} | {markdown_text(line.php_version)} | `{line.index_digest}` | {tags} |"
        )
    out.append("")

    for line in facts.lines:
        out += [f"## PHP {line.php}", ""]
        out += [
            f"- Exact version: PHP {markdown_text(line.php_version)}",
            f"- Tags: {', '.join(f'`{t}`' for t in line.tags)}",
            f"- Base image: `{line.base_image}`"
            + (f" at `{line.base_digest}`" if line.base_digest else ""),
            f"- Size budget: {megabytes(line.size_budget_bytes)} compressed per platform",
            *_lifecycle(line.php, written),
            "",
            "| registry | repository | index digest |",
            "|---|---|---|",
        ]
        for r in facts.registries:
            out.append(f"| {r.name} | `{r.repository}` | `{line.index_digest}` |")
        out += [
            "",
            "| platform | manifest digest | compressed size | change |",
            "|---|---|---|---|",
        ]
        for p in line.platforms:
            change = size_change(facts, history, line.php, p)
            if change is None:
                text = "first release"
            else:
                text = (
                    f"{signed_megabytes(change.change_bytes)} "
                    f"({signed_percent(change.change_percent)}) vs {change.previous_release}"
                )
                if change.regression:
                    text = f"**⚠ {text}: over the {facts.regression_percent:g}% threshold**"
            over = " **over budget**" if p.size_bytes > line.size_budget_bytes else ""
            out.append(
                f"| {p.platform} | `{p.digest}` | {human_size(p.size_bytes)}{over} | {text} |"
            )
        out += [
            "",
            "Pull by digest:",
            "",
            "```sh",
            f"docker pull {primary.repository}@{line.index_digest}",
            "```",
            "",
        ]

    out += _size_chart(facts, history)

    identity = signer_identity_pattern(facts.source_url)
    if identity and not facts.stand_in:
        out += [
            "## Verify the signatures",
            "",
            "Each index digest is signed keylessly by the release workflow:",
            "",
            "```sh",
        ]
        for line in facts.lines:
            out.append(
                f"cosign verify {primary.repository}@{line.index_digest} \\\n"
                f"  --certificate-identity-regexp '{identity}' \\\n"
                "  --certificate-oidc-issuer https://token.actions.githubusercontent.com"
            )
        out += ["```", ""]

    if facts.history:
        # what changed: a column once a republish said it (notes of a history without
        # one are written as before)
        compared = any(entry.causes for entry in facts.history)
        out += [
            HISTORY_HEADING,
            "",
            "| date | PHP | old digest | new digest | reason |"
            + (" what changed |" if compared else ""),
            "|---|---|---|---|---|" + ("---|" if compared else ""),
        ]
        for entry in facts.history:
            date, reason = markdown_text(entry.date), markdown_text(entry.reason)
            for php, old, new in entry.changes:
                cause = f" {markdown_text(entry.cause(php) or '')} |" if compared else ""
                out.append(
                    f"| {date} | {php} | `{short_digest(old)}` | `{short_digest(new)}` | {reason} |"
                    + cause
                )
        out.append("")

    out += [
        "<sub>Written by publisher; the machine-readable twin of this page is "
        f"`{facts.release}.json`, and `{facts.release}.env` pins every line by digest "
        "for the stack's launcher.</sub>",
        "",
    ]
    return "\n".join(out)


# A repository's address on GitHub, as source_url gives it: https://github.com/OWNER/REPO,
# perhaps with .git or a slash at its end. GitHub's own characters only (no quote, no
# space), so what is taken from it cannot leave the shell quotes of the notes' command.
_GITHUB_REPOSITORY_RE = re.compile(
    r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?"
)


def signer_identity_pattern(source_url: str | None) -> str | None:
    """The ``--certificate-identity-regexp`` of the notes' ``cosign verify`` commands: the
    identities keyless signing gives the release and republish workflows of the repository
    at ``source_url`` (``.../release.yml@refs/tags/vX.Y.Z``; ``.../republish.yml@refs/heads/
    BRANCH``, or ``@refs/tags/vX.Y.Z`` when it was started from a tag, which its
    ``workflow_dispatch`` allows), and no other. cosign finds the pattern anywhere in the identity, so it is
    held at both ends, and its literal parts are escaped (a bare dot matches any character).
    The owner and repository match in any case (``(?i:...)``, which Go's RE2 and Python
    read alike): the identity spells them as GitHub does, while ``source_url`` is written by
    hand in matrix.yaml, and GitHub, whose addresses ignore case, never holds two
    repositories whose names differ only in case. The rest stays exact.

    None when ``source_url`` is not a GitHub repository's address: nothing to verify against.
    """
    if source_url is None:
        return None
    found = _GITHUB_REPOSITORY_RE.fullmatch(source_url)
    if found is None:
        return None
    owner, repository = found.groups()
    named = _regexp_literal(f"{owner}/{repository}")
    workflows = f"(?i:{named})" + _regexp_literal("/.github/workflows/")
    return (
        f"^https://github\\.com/{workflows}"
        "(release\\.yml@refs/tags/v[^/]+|republish\\.yml@refs/(heads/.+|tags/v[^/]+))$"
    )


def _regexp_literal(text: str) -> str:
    """``text`` as a pattern that matches it alone, in Go's regexp syntax (cosign's) as in
    Python's: each metacharacter behind a backslash."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


#: What GitHub's Markdown (CommonMark, with its tables, strikethrough, math and links
#: made of bare web addresses) could read as markup in a line of text: each character
#: Markdown could take for markup, and the ``:`` of ``http://``, ``https://``,
#: ``ftp://`` and the ``.`` of ``www.``, which would start a link (whose address would
#: take the backslashes in), are written behind a backslash (``markdown_text``).
_MARKDOWN_SPECIAL = re.compile(
    r"[\\`*_\[\]<&|~$]|(?<=http):|(?<=https):|(?<=ftp):|(?<=www)\.", re.IGNORECASE
)
#: A web address as GitHub's autolinks find one: ``http://``, ``https://`` or ``www.``
#: after the start or a character other than a letter, up to a blank or a ``<``, the
#: end then judged by ``_link_end``. Its host is held to ASCII letters, digits, ``-``
#: and ``.`` (one GitHub might not link, with a ``_`` say, is shown as text instead).
_ADDRESS = re.compile(
    r"(?:(?<![A-Za-z])https?://|(?<![^\s(])www\.)"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?![\w\\-]|\.[\w\\-])[^\s<]*"
)


def _link_end(address: str) -> int:
    """Where GitHub's autolink of ``address`` ends: trailing ``?!.,:*_~'"`` and ``;``, an
    entity such as ``&amp;`` at the end and a ``)`` with no ``(`` to match are no part
    of it (GFM's extended autolink path validation)."""
    end, unmatched = len(address), address.count(")") - address.count("(")
    while end:
        last = address[end - 1]
        if last == ")" and unmatched > 0:
            unmatched -= 1
        elif last == ";":
            entity = re.search(r"&[A-Za-z]+;$", address[:end])
            end = entity.start() + 1 if entity else end
        elif last not in "?!.,:*_~'\"":
            return end
        end -= 1
    return end


def markdown_text(text: str) -> str:
    """``text`` (a republish's reason, say) as Markdown that GitHub shows as written, on
    one line: each character it could read as markup is backslash-escaped (a ``<tag>``
    is shown, never taken for HTML, which GitHub would drop; a ``|`` never ends a table
    cell; a ``\\`` stays a backslash), and a line break is a space. A web address
    (``http://``, ``https://``, ``www.``) stays as written, ``_``, ``&``, ``~``, ``%``
    and all, a link on GitHub: with a blank or the end after it, as GitHub's autolink
    takes in anything up to a blank, backslashes too. One GitHub would not link as
    written (a ``|`` or ``<`` in it or right after it, an entity such as ``&amp;`` or a
    ``*_~`` but in a last run at its end, a host with ``_``) is shown as text. It is at most twice the bytes of ``text``.
    The record keeps the text as written."""
    text = text.replace("\r", " ").replace("\n", " ")
    out: list[str] = []
    at = 0
    for address in _ADDRESS.finditer(text):
        whole = address.group()
        after = text[address.end() : address.end() + 1]
        tail = whole[_link_end(whole) :]  # no part of the link, yet no backslash there
        if (after and not after.isspace()) or "|" in whole or "&" in tail:
            continue  # not linked as written: shown as text
        if set(tail.rstrip(tail[-1:])) & set("*_~"):  # could open emphasis: text too
            continue
        out += [_MARKDOWN_SPECIAL.sub(r"\\\g<0>", text[at : address.start()]), whole]
        at = address.end()
    out += [_MARKDOWN_SPECIAL.sub(r"\\\g<0>", text[at:])]
    return "".join(out)


def body_size(text: str) -> int:
    """How much of a GitHub release body's limit ``text`` takes: its UTF-8 bytes.

    GitHub's refusal says "characters", yet some of its text limits count UTF-8 bytes (an
    issue body's does: 4-byte emoji fill it four times as fast), and which one a release
    body's counts is not documented. The bytes are never fewer than the characters (nor
    than the UTF-16 units), so a body within the limit in bytes fits on every reading.
    """
    return len(text.encode("utf-8"))


def fit_body(markdown: str, limit: int, *, notes: str, record: str) -> tuple[str, int]:
    """The release notes cut to ``limit`` (measured by ``body_size``: UTF-8 bytes) for a
    GitHub release body, and how many republishes were left out of their history.

    Only the ``## Republish history`` table is cut, a republish at a time (all its rows,
    one per line it rebuilt, go or stay together): the newest republishes (the last) that
    fit are kept, and one line says how many earlier ones are left out and that the full
    history is in ``notes`` and ``record`` in the repository (names the caller gives as
    the repository's). Everything above it (the digests) is never cut: notes too long even
    without their history come back whole (GitHub refuses them, and gh-release says so,
    with the size of their ``shortest_body``).
    """
    if body_size(markdown) <= limit:
        return markdown, 0
    cut, left_out = _cut_history(markdown, limit, notes=notes, record=record, keep=True)
    if body_size(cut) > limit:
        return markdown, 0
    return cut, left_out


def shortest_body(markdown: str, limit: int, *, notes: str, record: str) -> str:
    """The release notes as ``fit_body`` cuts them with their whole republish history left
    out (the line saying so in its place): the shortest body it makes of them. Notes
    without a republish history come back whole."""
    return _cut_history(markdown, limit, notes=notes, record=record, keep=False)[0]


def _cut_history(
    markdown: str, limit: int, *, notes: str, record: str, keep: bool
) -> tuple[str, int]:
    """``fit_body``'s cut, however long it is: the newest republishes that fit in ``limit``
    (none unless ``keep``), and how many are left out."""
    size_of = body_size
    lines = markdown.split("\n")
    try:
        start = lines.index(HISTORY_HEADING)
    except ValueError:
        return markdown, 0
    # heading, blank, table head (2 lines), rows up to the blank line after them
    first = start + 4
    end = first
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    head, table, rows, tail = (
        lines[: start + 2],
        lines[start + 2 : first],
        lines[first:end],
        lines[end:],
    )
    # What is always there, and the table's head: each line counted with its "\n".
    fixed = size_of("\n".join(head + tail)) + 1 + sum(size_of(t) + 1 for t in table)

    def note(left_out: int) -> str:
        earlier = (
            "1 earlier republish is" if left_out == 1 else f"{left_out} earlier republishes are"
        )
        return (
            f"_{earlier} left out here (a GitHub release body holds at most {limit:,} "
            f"characters): the full history is in `{notes}` and `{record}` in the repository._"
        )

    # The longest tail of republishes that fits; with none kept, the table goes too.
    republishes = _republish_rows(rows)
    kept = len(republishes) if keep else 0
    sizes = [sum(size_of(row) + 1 for row in group) for group in republishes]
    size = sum(sizes)
    while kept > 0:
        left_out = len(republishes) - kept
        if fixed + size_of(note(left_out)) + 2 + size <= limit:
            break
        size -= sizes[left_out]
        kept -= 1
    left_out = len(republishes) - kept
    shown = [row for group in republishes[left_out:] for row in group]
    middle = [note(left_out), ""] + (table + shown if kept else [])
    return "\n".join(head + middle + tail), left_out


def _republish_rows(rows: Sequence[str]) -> list[list[str]]:
    """The rows of the notes' republish history table (``release_markdown``), one list
    per republish, in order: a republish's rows follow one another with its date and
    reason, one per line it rebuilt (a line met again starts the next republish; two
    republishes of one day and reason that rebuilt other lines each read as one)."""
    republishes: list[list[str]] = []
    key: tuple[str, str] | None = None
    seen: set[str] = set()
    for row in rows:
        # | date | php | `old` | `new` | reason | (what changed |): a | in a reason or in
        # what changed is \|, so " | " parts the cells
        cells = row.removeprefix("| ").removesuffix(" |").split(" | ")
        php = cells[1] if len(cells) > 1 else ""
        this = (cells[0], cells[4] if len(cells) > 4 else cells[-1])
        if republishes and this == key and php not in seen:
            republishes[-1].append(row)
            seen.add(php)
        else:
            republishes.append([row])
            key, seen = this, {php}
    return republishes


def _size_chart(facts: ReleaseFacts, history: SizeHistory) -> list[str]:
    """Mermaid xycharts of compressed size across stable releases up to this one (and
    this one): notes written again later (a republish, a lost file) show what they did."""
    merged = history.with_release(facts)
    current = parse_release(facts.release)
    releases = sorted(
        (
            r
            for r in merged.sizes
            if r == facts.release or (parse_release(r).is_stable and parse_release(r) < current)
        ),
        key=parse_release,
    )[-12:]
    if not releases:
        return []
    out = ["## Size history", ""]
    platforms = sorted({p.platform for line in facts.lines for p in line.platforms})
    lines = [line.php for line in facts.lines]
    for platform in platforms:
        # A release without an image of a line for this platform (the line came later, or
        # did not build the platform then) is left out of that line's series, never drawn
        # as 0 MB: mermaid's xychart takes a line's values in x-axis order and cannot skip
        # one (no null, no gap), so the lines with sizes in the same releases share a
        # chart whose x-axis is those releases, and a line with sizes in others gets a
        # chart of its own. The table below has every release, `–` where there was none.
        charts: dict[tuple[str, ...], list[tuple[str, list[float]]]] = {}
        for php in lines:
            points = [(r, merged.sizes.get(r, {}).get(php, {}).get(platform)) for r in releases]
            known = [(r, v) for r, v in points if v is not None]
            if known:
                charts.setdefault(tuple(r for r, _ in known), []).append(
                    (php, [round(v / MB, 1) for _, v in known])
                )
        for shown, series in charts.items():
            named = ", ".join("PHP " + php for php, _ in series)
            top = max(max(values) for _, values in series)
            out += [
                "```mermaid",
                "xychart-beta",
                f'  title "Compressed size, {platform}'
                + (f", {named}" if len(charts) > 1 else "")
                + ' (MB)"',
                "  x-axis [" + ", ".join(f'"{r}"' for r in shown) + "]",
                f'  y-axis "MB" 0 --> {max(1, int(top * 1.2) + 1)}',
            ]
            out += [f"  line [{', '.join(str(v) for v in values)}]" for _, values in series]
            out += ["```", "", f"Lines, in series order: {named}.", ""]
    table_head = (
        "| release | "
        + " | ".join(f"{php} {p.split('/')[1]}" for php in lines for p in platforms)
        + " |"
    )
    out += [table_head, "|---|" + "---|" * (len(lines) * len(platforms))]
    for r in releases:
        cells = []
        for php in lines:
            for p in platforms:
                size = merged.sizes.get(r, {}).get(php, {}).get(p)
                cells.append(human_size(size) if size is not None else "–")
        out.append(f"| {r} | " + " | ".join(cells) + " |")
    out.append("")
    return out
