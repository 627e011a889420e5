"""Has the newest stable release's base changed? (For the weekly republish.)

Reads the release notes JSON kept in the repository, finds the newest stable
release, resolves each of its base images again and compares digests.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import lifecycle
from ..config import Config
from ..errors import NotFoundError, UsageError
from ..output import Output
from ..reference import parse
from ..version import is_release_tag, parse_release
from .build import base_client


@dataclass(frozen=True)
class BaseCheck:
    release: str
    changed: bool
    details: tuple[str, ...]
    #: The PHP lines whose base moved (or vanished): the only ones to rebuild.
    moved: tuple[str, ...] = ()
    #: Lines that can never change: frozen in matrix.yaml, or the official image stopped.
    frozen: tuple[str, ...] = ()


def newest_stable_notes(notes_dir: Path) -> tuple[str, dict[str, object]]:
    candidates = []
    for path in notes_dir.glob("v*.json"):
        if is_release_tag(path.stem) and parse_release(path.stem).is_stable:
            candidates.append(parse_release(path.stem))
    if not candidates:
        raise UsageError(
            f"no stable release notes in {notes_dir}",
            hint="publish a stable release first; republish-check reads its notes JSON",
        )
    newest = max(candidates)
    data = json.loads((notes_dir / f"{newest.tag}.json").read_text(encoding="utf-8"))
    return newest.tag, data


def check_bases(
    config: Config, notes_dir: Path, env: Mapping[str, str], output: Output
) -> BaseCheck:
    tag, data = newest_stable_notes(notes_dir)
    details: list[str] = []
    moved: list[str] = []
    changed = False
    lines = data.get("lines", [])
    assert isinstance(lines, list)
    today = datetime.date.today()
    configured = {ln.php: ln for ln in config.lines}
    frozen: list[str] = []
    for line in lines:
        php = str(line.get("php"))
        known = configured.get(php)
        state = lifecycle.status(php, today, frozen=bool(known and known.frozen))
        if state.base_frozen:
            frozen.append(php)
            details.append(f"PHP {php}: can never change ({state.note or 'frozen'})")
            continue
        base = line.get("base", {})
        recorded = base.get("digest")
        # The recorded image is the reference the build pulled (through the mirror, if any).
        ref = parse(base["image"])
        client = base_client(config, ref, env, output)
        try:
            current = client.resolve(ref)
        except NotFoundError:
            details.append(f"PHP {line['php']}: base {ref} no longer exists")
            changed = True
            moved.append(str(line["php"]))
            continue
        if current != recorded:
            changed = True
            moved.append(str(line["php"]))
            details.append(f"PHP {line['php']}: base {ref} moved from {recorded} to {current}")
        else:
            details.append(f"PHP {line['php']}: base {ref} unchanged ({current})")
    return BaseCheck(tag, changed, tuple(details), tuple(moved), tuple(frozen))
