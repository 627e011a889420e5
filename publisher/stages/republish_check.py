"""Has the newest stable release's base changed? (For the weekly republish.)

Reads the release records (notes JSON) kept in the repository through
``publisher.core.notes``, finds the newest stable release, resolves each of its base
images again and compares digests.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from ..core import lifecycle
from ..core.config import Config
from ..core.errors import ConfigError, NotFoundError, PublisherError, UsageError
from ..core.notes import ReleaseFacts, load_record, record_releases
from ..core.reference import parse
from .clients import ClientFactory


@dataclass(frozen=True)
class BaseCheck:
    release: str
    changed: bool
    details: tuple[str, ...]
    #: The PHP lines whose base moved (or vanished): the only ones to rebuild.
    moved: tuple[str, ...] = ()
    #: Lines that can never change: frozen in matrix.yaml, or the official image stopped.
    frozen: tuple[str, ...] = ()


def newest_stable_record(notes_dir: Path) -> ReleaseFacts:
    """The record of the newest stable release in ``notes_dir`` (malformed: exit 3)."""
    stable = [r for r in record_releases(notes_dir) if r.is_stable]
    if not stable:
        raise UsageError(
            f"no stable release notes in {notes_dir}",
            hint="publish a stable release first; republish-check reads its notes JSON",
        )
    record = load_record(notes_dir, stable[-1].tag)
    assert record is not None
    return record


def check_bases(config: Config, notes_dir: Path, clients: ClientFactory) -> BaseCheck:
    record = newest_stable_record(notes_dir)
    details: list[str] = []
    moved: list[str] = []
    changed = False
    today = datetime.date.today()
    configured = {ln.php: ln for ln in config.lines}
    frozen: list[str] = []
    for line in record.lines:
        php = line.php
        known = configured.get(php)
        state = lifecycle.status(php, today, frozen=bool(known and known.frozen))
        if state.base_frozen:
            frozen.append(php)
            details.append(f"PHP {php}: can never change ({state.note or 'frozen'})")
            continue
        # The recorded image is the reference the build pulled (through the mirror, if any).
        try:
            ref = parse(line.base_image)
        except PublisherError as exc:
            raise ConfigError(
                f"base image {line.base_image!r} is not a reference: {exc.message}",
                source=str(notes_dir / f"{record.release}.json"),
                field=f"lines[php={line.php}].base.image",
            ) from None
        client = clients.for_base(config, ref)
        try:
            current = client.resolve(ref)
        except NotFoundError:
            details.append(f"PHP {line.php}: base {ref} no longer exists")
            changed = True
            moved.append(line.php)
            continue
        if current != line.base_digest:
            changed = True
            moved.append(line.php)
            details.append(f"PHP {line.php}: base {ref} moved from {line.base_digest} to {current}")
        else:
            details.append(f"PHP {line.php}: base {ref} unchanged ({current})")
    return BaseCheck(record.release, changed, tuple(details), tuple(moved), tuple(frozen))
