"""The pins file of a release: ``release-notes/vX.Y.Z.env``.

Pure: the release record (the notes JSON the publish stage writes, parsed into
a dict) in, text out. Per PHP line it holds the reference pinned by digest on
the canonical registry (the record's primary) and on the mirror (the first of the
record's other registries, in matrix.yaml's order; a third one and later are not
named), the platforms and the base image, as
``KEY='value'`` lines that mean the same to ``docker compose --env-file`` and
to a POSIX shell (``. ./vX.Y.Z.env``). The stack's launcher
(``examples/stack/start.sh``) and ``publisher resolve`` read it; a stack
vendors it with the launcher.

Keys (``A_B`` is the PHP line ``A.B`` with the dot replaced)::

    PHP_PINS_SCHEMA='1'
    STACK_RELEASE='v2.0.0'
    PHP_LINES='8.3 8.4'                  # the lines this release published
    PHP_DEFAULT_LINE='8.4'
    PHP_STAND_IN='false'                 # true: STAND-IN images (stand_in: true)
    PHP_REPOSITORY='docker.io/twentyi/php-fpm'
    PHP_MIRROR_REPOSITORY='ghcr.io/twentyi/php-fpm'   # absent without a mirror
    PHP_IMAGE_8_4='docker.io/twentyi/php-fpm:v2.0.0-php-8.4@sha256:...'
    PHP_IMAGE_MIRROR_8_4='ghcr.io/twentyi/php-fpm:v2.0.0-php-8.4@sha256:...'
    PHP_PLATFORMS_8_4='linux/amd64 linux/arm64'
    PHP_BASE_IMAGE_8_4='docker.io/library/php:8.4-fpm-alpine@sha256:...'

Same record, same bytes: nothing here depends on the clock or on dict order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..resolve import (
    END_OF_LIFE_COMMENT,
    STAND_IN_IMAGES,
    is_php_line,
    php_line_order,
    pin_tag,
)
from . import lifecycle
from .errors import ConfigError
from .fileio import json_kind

PINS_SCHEMA = 1

#: What a value may hold: image references, PHP lines, platforms, words. No
#: quote, backslash, ``$``, ``#``, whitespace other than a single space, or
#: control character, so single quotes mean the same to sh and to compose.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._/:@+ -]*")


#: What to do about a record no pins file can be written from.
_RECORD_HINT = (
    "a pins file is written from a whole release record, as publisher writes it "
    "(release-notes/vX.Y.Z.json): give the record as read, with every line and registry"
)


def _refused(message: str, field: str | None = None) -> ConfigError:
    """A record no pins file can be written from: exit 3, naming the field."""
    return ConfigError(f"release record: {message}", field=field, hint=_RECORD_HINT)


def _typed(item: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    """``item[key]``, of JSON's ``kind`` (``str``, ``list``, or ``Mapping``: an object), or
    the error naming ``where.key``: missing, or of another type and the one it should be."""
    field = f"{where}.{key}" if where else key
    if key not in item:
        raise _refused(f"'{key}' is missing", field)
    value = item[key]
    if not isinstance(value, kind):
        expected = "a string" if kind is str else "an array" if kind is list else "an object"
        raise _refused(f"'{key}' is {json_kind(value)}, expected {expected}", field)
    return value


def _field(item: Mapping[str, Any], key: str, where: str) -> str:
    """``item[key]``, a text that is not empty, or the error naming ``where.key``."""
    value: str = _typed(item, key, where, str)
    if not value:
        raise _refused(f"'{key}' is empty", f"{where}.{key}" if where else key)
    return value


def _objects(item: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    """``item[key]``, an array of objects, or the error naming the field or the entry
    (``lines[0]``) that is not one."""
    entries: list[Any] = _typed(item, key, where, list)
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            name = f"{key}[{n}]"
            raise _refused(
                f"'{name}' is {json_kind(entry)}, expected an object",
                f"{where}.{name}" if where else name,
            )
    return entries


def file_name(release: str) -> str:
    """``v2.0.0.env``: the pins file next to ``v2.0.0.json``."""
    return f"{release}.env"


def line_key(php: str) -> str:
    """``8_4`` for the line ``8.4``: the suffix of that line's keys."""
    if not is_php_line(php):
        raise _refused(f"not a PHP line: {php!r}")
    return php.replace(".", "_")


def quote(value: str) -> str:
    """``'value'`` for both sh and ``docker compose --env-file``; refuses what cannot be."""
    if not _SAFE_VALUE.fullmatch(value):
        raise _refused(f"value {value!r} cannot be written to a pins file")
    return f"'{value}'"


def _sort_lines(lines: list[str]) -> list[str]:
    return sorted(lines, key=php_line_order)


def _without_digest(image: str) -> str:
    return image.split("@", 1)[0]


def pins(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (key, value) pairs of the pins file, in file order, from the release record.

    Raises ConfigError (exit 3, naming the field) for a record that is not a whole
    release record.
    """
    if not isinstance(record, Mapping):
        raise _refused(f"the record is {json_kind(record)}, expected an object")
    release = _field(record, "release", "")
    registries = _objects(record, "registries", "")
    if not registries:
        raise _refused("'registries' is empty", "registries")
    repositories = [_field(r, "repository", f"registries[{n}]") for n, r in enumerate(registries)]
    primary = next((n for n, r in enumerate(registries) if r.get("primary") is True), 0)
    canonical = repositories[primary]
    others = [name for n, name in enumerate(repositories) if n != primary]
    mirror = others[0] if others else None

    lines = _objects(record, "lines", "")
    by_php: dict[str, Mapping[str, Any]] = {}
    where: dict[str, str] = {}
    for n, item in enumerate(lines):
        php = _field(item, "php", f"lines[{n}]")
        if not is_php_line(php):
            raise _refused(f"not a PHP line: {php!r}", f"lines[{n}].php")
        by_php[php] = item
        where[php] = f"lines[{n}]"
    order = _sort_lines(list(by_php))
    # A rehearsal may leave its default line out: the file then names no default line,
    # rather than one it pins no image for.
    default = str(record.get("default_line") or "")
    if default not in by_php:
        default = ""

    out: list[tuple[str, str]] = [
        ("PHP_PINS_SCHEMA", str(PINS_SCHEMA)),
        ("STACK_RELEASE", release),
        ("PHP_LINES", " ".join(order)),
        ("PHP_DEFAULT_LINE", default),
        ("PHP_STAND_IN", "true" if record.get("stand_in") is True else "false"),
        ("PHP_REPOSITORY", canonical),
    ]
    if mirror is not None:
        out.append(("PHP_MIRROR_REPOSITORY", mirror))
    for php in order:
        item = by_php[php]
        key = line_key(php)
        digest = _field(item, "index_digest", where[php])
        pin = pin_tag(release, php)
        out.append((f"PHP_IMAGE_{key}", f"{canonical}:{pin}@{digest}"))
        if mirror is not None:
            out.append((f"PHP_IMAGE_MIRROR_{key}", f"{mirror}:{pin}@{digest}"))
        listed = _objects(item, "platforms", where[php]) if item.get("platforms") else []
        platforms = sorted(
            _field(p, "platform", f"{where[php]}.platforms[{n}]") for n, p in enumerate(listed)
        )
        if not platforms:
            # An empty value would read as "not recorded" (the launcher and resolve ask the
            # registry); a release record always has the platforms of the index it verified.
            raise _refused(f"PHP {php} lists no 'platforms'", f"{where[php]}.platforms")
        out.append((f"PHP_PLATFORMS_{key}", " ".join(platforms)))
        # Every line has its base (by digest where the record knows it): the launcher and
        # resolve read a line without PHP_BASE_IMAGE_X_Y as a file cut short.
        base = _typed(item, "base", where[php], Mapping)
        image = _field(base, "image", f"{where[php]}.base")
        base_digest = (
            _typed(base, "digest", f"{where[php]}.base", str) if base.get("digest") else ""
        )
        ref = f"{_without_digest(image)}@{base_digest}" if base_digest else image
        out.append((f"PHP_BASE_IMAGE_{key}", ref))
    return out


def _past_end_of_life(record: Mapping[str, Any], lines: list[str]) -> list[str]:
    """A comment for each line past its end of life on the day the file was written, as
    the notes judge it (``lifecycle.written``: the day the release was published, or
    its newest republish's): whoever opens the file sees it, and start.sh and resolve say
    it in a note when that line is started."""
    history = record.get("history")
    written = lifecycle.written(
        str(record.get("published_at") or ""),
        (
            str(entry.get("date") or "")
            for entry in (history if isinstance(history, list) else ())
            if isinstance(entry, Mapping)
        ),
    )
    if written is None:
        return []
    said = []
    for php in lines:
        line = lifecycle.TABLE.get(php)
        if line is not None and lifecycle.status(php, written.day).end_of_life:
            said.append(
                END_OF_LIFE_COMMENT.format(php=php)
                + f"{line.security_until}, no security fixes) when this release was "
                f"{written.verb} on {written.day}; see the release notes."
            )
    return said


def render(record: Mapping[str, Any]) -> str:
    """The pins file's text (deterministic bytes)."""
    pairs = pins(record)
    release = str(record.get("release"))
    head = [
        f"# {release}: the PHP-FPM images of this release, pinned by digest (written by publisher).",
        "# For `docker compose --env-file` and POSIX sh (`. ./" + file_name(release) + "`);",
        "# read by the stack's start.sh and by `publisher resolve`. Do not edit.",
    ]
    if record.get("stand_in") is True:
        head.append(f"# STAND-IN REHEARSAL: these images are {STAND_IN_IMAGES}. Do not use them.")
    head += _past_end_of_life(record, dict(pairs)["PHP_LINES"].split())
    body = [f"{key}={quote(value)}" for key, value in pairs]
    return "\n".join(head + body) + "\n"
