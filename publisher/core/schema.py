"""Schema numbers of the files a release leaves behind, across publisher versions.

A release lives for years and its jobs are re-run with the publisher of their commit,
so a file one publisher wrote is read and written again by an older or a newer one.
Within a schema number, a newer publisher only adds optional fields; a change of
meaning takes a new number (CONTRIBUTING, "Record formats across publisher versions"):

- a file of a higher schema number is refused (``errors.newer_schema_error``, exit 3):
  a newer publisher wrote it, and only that version knows what it means;
- a file of the same number is read for the fields this publisher knows, and when it
  writes the file again it keeps every field it does not know as it was, in the same
  object, after the same field (``Shape.carry``). A field inside an entry of a list
  (a PHP line, a platform) belongs to that entry, named by its ``names``: it is kept
  while the entry is, and leaves with it.

Pure: JSON values in, JSON values out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def is_newer(schema: object, reads: int) -> bool:
    """Whether ``schema`` is a schema number above ``reads`` (a newer publisher's file)."""
    return isinstance(schema, int) and not isinstance(schema, bool) and schema > reads


class Shape:
    """The fields this publisher knows in one object of a format, and the objects nested
    in it (one, or a list of entries, by field name).

    ``names``: for the entries of a list, the fields that name an entry, so that what a
    newer publisher added to an entry goes back to the entry of the same name.
    """

    def __init__(self, known: Iterable[str], *, names: tuple[str, ...] = (), **nested: Shape):
        self.nested: dict[str, Shape] = dict(nested)
        self.known = frozenset(known) | frozenset(nested)
        self.names = names

    def carry(self, written: Any, new: Mapping[str, Any]) -> dict[str, Any]:
        """``new`` (an object this publisher writes) with the fields of ``written`` (the
        object as the file held it, or None) that this publisher does not know, each after
        the field it followed there."""
        if not isinstance(written, Mapping):
            written = {}
        after: dict[str | None, list[str]] = {}
        anchor: str | None = None
        for key in written:
            if key not in self.known and key not in new:
                after.setdefault(anchor, []).append(key)
            elif key in new:
                anchor = key
        out = {key: written[key] for key in after.get(None, ())}
        for key, value in new.items():
            shape = self.nested.get(key)
            out[key] = value if shape is None else shape._value(written.get(key), value)
            out.update((kept, written[kept]) for kept in after.get(key, ()))
        return out

    def _value(self, written: Any, value: Any) -> Any:
        if isinstance(value, Mapping):
            return self.carry(written, value)
        if not isinstance(value, list):
            return value
        entries: dict[str, list[Any]] = {}
        for entry in written if isinstance(written, list) else ():
            if isinstance(entry, Mapping):
                entries.setdefault(self._name(entry), []).append(entry)
        return [
            self.carry((entries.get(self._name(item)) or [None]).pop(0), item)
            if isinstance(item, Mapping)
            else item
            for item in value
        ]

    def _name(self, entry: Mapping[str, Any]) -> str:
        return json.dumps([entry.get(name) for name in self.names], sort_keys=True)

    def unknown(self, data: Any, path: str = "") -> list[str]:
        """The paths of the fields in ``data`` this publisher does not know."""
        if isinstance(data, list):
            return [
                found for i, item in enumerate(data) for found in self.unknown(item, f"{path}[{i}]")
            ]
        if not isinstance(data, Mapping):
            return []
        found = [f"{path}.{key}".lstrip(".") for key in data if key not in self.known]
        for key, shape in self.nested.items():
            found += shape.unknown(data.get(key), f"{path}.{key}".lstrip("."))
        return found
