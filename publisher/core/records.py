"""Digest records: what one build leg hands to the publish stage.

A build leg (one PHP line on one platform, possibly on its own runner) pushes
its image by digest to the primary registry and writes one small JSON record.
``publisher publish`` reads every record from a directory. Records are written
atomically, so a killed leg leaves either a whole record or none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ..resolve import is_digest
from .errors import ConfigError, PublisherError, UsageError
from .fileio import write_atomic
from .platforms import Platform

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform.parse(self.platform))

    @property
    def file_name(self) -> str:
        return Leg(self.php, self.platform).record_name

    def to_json(self) -> str:
        return (
            json.dumps({"schema": RECORD_SCHEMA, **asdict(self)}, indent=2, sort_keys=True) + "\n"
        )


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


def parse_record(text: str, source: str) -> DigestRecord:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: not a digest record (invalid JSON at line {exc.lineno})"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != RECORD_SCHEMA:
        raise UsageError(f"{source}: not a digest record of schema {RECORD_SCHEMA}")
    fields = set(DigestRecord.__dataclass_fields__)
    missing = fields - set(data)
    if missing:
        raise UsageError(f"{source}: digest record lacks {', '.join(sorted(missing))}")
    try:
        record = DigestRecord(**{k: data[k] for k in fields})
    except ValueError as exc:  # the platform
        raise UsageError(f"{source}: {exc}") from None
    if not is_digest(record.digest):
        raise UsageError(f"{source}: {record.digest!r} is not a sha256 digest")
    return record


def read_records(paths: Iterable[Path]) -> list[DigestRecord]:
    records = []
    for path in sorted(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read digest record {path}: {exc.strerror}") from None
        records.append(parse_record(text, str(path)))
    return records


def usable_records(paths: Iterable[Path]) -> Iterator[tuple[Path, DigestRecord]]:
    """(path, record) for each of ``paths`` that holds a readable record, in order.

    The others are skipped: an earlier run's leftover is a hint, never an error
    (the registry decides whether its image still exists).
    """
    for path in paths:
        try:
            yield path, parse_record(path.read_text(encoding="utf-8"), str(path))
        except (OSError, PublisherError):
            continue


def read_directory(directory: str | Path) -> list[DigestRecord]:
    """Every ``*.json`` record under ``directory`` (artifact downloads nest one level).

    Hidden files and directories (``.pending/`` of a run in progress, ``.work/``)
    are not records.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(
            f"digest directory {root} does not exist",
            field="--digests",
            hint="point --digests at the directory the build legs wrote their records to",
        )
    return read_records(
        p
        for p in root.rglob("*.json")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
