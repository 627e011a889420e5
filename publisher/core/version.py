"""Release tags: ``v`` + a SemVer 2.0 version, ordered by SemVer precedence.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import InvalidVersionError

_NUM = r"0|[1-9][0-9]*"
_IDENT = r"[0-9A-Za-z-]+"
_SEMVER_RE = re.compile(
    rf"v(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?"
)


@functools.total_ordering
@dataclass(frozen=True, eq=True)
class Release:
    """A stack release such as ``v2.0.0`` or ``v2.1.0-rc.1``."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @property
    def is_stable(self) -> bool:
        return not self.prerelease

    @property
    def tag(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text

    def __str__(self) -> str:
        return self.tag

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release):
            return NotImplemented
        return _precedence(self) < _precedence(other)


def _precedence(r: Release) -> tuple[object, ...]:
    """SemVer 2.0 precedence: a release sorts after its prereleases; numeric
    identifiers compare numerically and before alphanumeric ones."""
    if not r.prerelease:
        return (r.major, r.minor, r.patch, 1, ())
    idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in r.prerelease)
    return (r.major, r.minor, r.patch, 0, idents)


def parse_release(text: str) -> Release:
    """Parse ``vMAJOR.MINOR.PATCH[-PRE][+BUILD]``; raise InvalidVersionError otherwise."""
    if not isinstance(text, str):
        raise InvalidVersionError(f"release tag must be a string, got {type(text).__name__}")
    m = _SEMVER_RE.fullmatch(text)
    if m is None:
        raise InvalidVersionError(_explain(text), hint="use a tag such as v2.0.0 or v2.1.0-rc.1")
    pre = tuple(m["pre"].split(".")) if m["pre"] else ()
    for ident in pre:
        if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
            raise InvalidVersionError(
                f"release tag {text!r} is not valid: numeric prerelease identifier "
                f"{ident!r} has a leading zero",
                hint="use a tag such as v2.1.0-rc.1",
            )
    if m["build"]:
        raise InvalidVersionError(
            f"release tag {text!r} is not valid: build metadata ('+...') cannot appear in an image tag",
            hint="drop the '+' part, or use a prerelease such as -rc.1",
        )
    return Release(int(m["major"]), int(m["minor"]), int(m["patch"]), pre)


def is_release_tag(text: str) -> bool:
    try:
        parse_release(text)
    except InvalidVersionError:
        return False
    return True


def _explain(text: str) -> str:
    shown = text if len(text) <= 60 else text[:57] + "..."
    prefix = f"release tag {shown!r} is not valid: "
    if not text:
        return prefix + "it is empty"
    if not text.startswith("v"):
        if re.match(r"[0-9]", text):
            return prefix + f"it must start with 'v' (did you mean 'v{shown}'?)"
        return prefix + "it must start with 'v' followed by MAJOR.MINOR.PATCH"
    core = re.split(r"[-+]", text[1:], maxsplit=1)[0]
    parts = core.split(".")
    if len(parts) != 3:
        return prefix + f"it needs exactly three numbers MAJOR.MINOR.PATCH, found {len(parts)}"
    for part in parts:
        if not part.isdigit():
            return prefix + f"{part!r} is not a number"
        if len(part) > 1 and part.startswith("0"):
            return prefix + f"{part!r} has a leading zero"
    return prefix + "prerelease and build parts may only hold letters, digits, '-' and '.'"
