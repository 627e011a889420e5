"""Release tags: ``v`` + a SemVer 2.0 version, ordered by SemVer precedence.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..resolve import RELEASE_MAX, TAG_MAX, release_problem
from .errors import InvalidVersionError
from .fileio import json_kind

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
    # A numeric identifier has no leading zero: the longer is the larger, and at one
    # length the order is the text's (no int(), which refuses over 4300 digits).
    idents = tuple((0, len(p), p) if p.isdigit() else (1, 0, p) for p in r.prerelease)
    return (r.major, r.minor, r.patch, 0, idents)


def parse_release(text: str) -> Release:
    """Parse ``vMAJOR.MINOR.PATCH[-PRE]``, a tag that can be published (not shaped as a pin
    tag, short enough for its pins: ``resolve.release_problem``); raise InvalidVersionError
    otherwise. Every command parses its RELEASE here, before anything is read or built."""
    if not isinstance(text, str):
        raise InvalidVersionError(
            f"a release tag is a string such as v2.0.0, not {json_kind(text)}",
            hint="write the release tag as a string, e.g. v2.0.0",
        )
    m = _SEMVER_RE.fullmatch(text)
    if m is None:
        raise InvalidVersionError(_explain(text), hint="use a tag such as v2.0.0 or v2.1.0-rc.1")
    for part in ("major", "minor", "patch"):
        if len(m[part]) > TAG_MAX:  # also beyond what int() reads from a string
            raise InvalidVersionError(
                f"release tag {_short(text)!r} is not valid: its {part.upper()} has "
                f"{len(m[part])} digits, more than an image tag of {TAG_MAX} characters holds",
                hint="use a tag such as v2.0.0 or v2.1.0-rc.1",
            )
    pre = tuple(m["pre"].split(".")) if m["pre"] else ()
    zero = _leading_zero(pre)
    if zero is not None:
        raise InvalidVersionError(
            f"release tag {_short(text)!r} is not valid: numeric prerelease identifier "
            f"{_short(zero)!r} has a leading zero",
            hint="use a tag such as v2.1.0-rc.1",
        )
    if m["build"]:
        raise InvalidVersionError(
            f"release tag {_short(text)!r} is not valid: build metadata ('+...') cannot appear in an image tag",
            hint="drop the '+' part, or use a prerelease such as -rc.1",
        )
    problem = release_problem(text)
    if problem is not None:
        raise InvalidVersionError(
            f"release tag {_short(text)!r} is not valid: {problem}",
            hint=f"shorten the prerelease part: a release tag has at most {RELEASE_MAX} characters"
            if len(text) > RELEASE_MAX
            else "use a tag such as v2.0.0 or v2.1.0-rc.1",
        )
    return Release(int(m["major"]), int(m["minor"]), int(m["patch"]), pre)


def is_release_tag(text: str) -> bool:
    try:
        parse_release(text)
    except InvalidVersionError:
        return False
    return True


def _leading_zero(pre: tuple[str, ...]) -> str | None:
    """The first numeric prerelease identifier with a leading zero (SemVer forbids them)."""
    for ident in pre:
        if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
            return ident
    return None


def _valid(text: str) -> bool:
    """Would ``parse_release`` take ``text``? (Without building any message.)"""
    m = _SEMVER_RE.fullmatch(text)
    if m is None or m["build"] or release_problem(text) is not None:
        return False
    return _leading_zero(tuple(m["pre"].split(".")) if m["pre"] else ()) is None


def _split(body: str) -> tuple[str, str, str]:
    """``1.0.0-rc.1+b`` -> (``1.0.0``, ``-``, ``rc.1+b``): the core, the sign after it, the rest."""
    m = re.match(r"([^+-]*)([+-]?)(.*)", body, re.DOTALL)
    assert m is not None  # the pattern matches every string
    return m[1], m[2], m[3]


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


#: Longest tag offered as a suggestion.
_MAX_SUGGESTION = 60


def _suggest(text: str) -> str | None:
    """The valid tag ``text`` probably means, or None: ``V1.0.0`` and ``1.0.0`` mean
    ``v1.0.0``; ``1.0``, ``v1.0`` and ``v1`` mean ``v1.0.0``. Whatever it returns parses."""
    fixed = text
    if fixed[:1] == "V":
        fixed = "v" + fixed[1:]
    elif fixed[:1].isascii() and fixed[:1].isdigit():
        fixed = "v" + fixed
    if not fixed.startswith("v"):
        return None
    if not _valid(fixed):
        core, sign, rest = _split(fixed[1:])
        parts = core.split(".")
        if len(parts) >= 3 or not all(re.fullmatch(_NUM, part) for part in parts):
            return None
        fixed = "v" + ".".join(parts + ["0"] * (3 - len(parts))) + sign + rest
    if fixed == text or len(fixed) > _MAX_SUGGESTION or not _valid(fixed):
        return None
    return fixed


def _explain(text: str) -> str:
    """Why ``text`` is not a release tag, with a valid tag it may mean."""
    return f"release tag {_short(text)!r} is not valid: {_reason(text)}"


def _reason(text: str) -> str:
    if not text:
        return "it is empty"
    stripped = text.strip()
    if not stripped:
        return "it holds only blanks"
    if stripped != text:  # a blank or a line break typed or pasted with it
        meant = stripped if _valid(stripped) else _suggest(stripped)
        if meant:
            return f"it has blanks or line breaks around it (did you mean {meant!r}?)"
        return f"it has blanks or line breaks around it; also, {_reason(stripped)}"
    suggestion = _suggest(text)
    tail = f" (did you mean {suggestion!r}?)" if suggestion else ""
    if text.startswith("v"):
        return (_problem(text[1:]) or "it is not vMAJOR.MINOR.PATCH[-PRERELEASE]") + tail
    if text.startswith("V") or (text[0].isascii() and text[0].isdigit()):
        first = "it must start with a lowercase 'v'" if text[0] == "V" else "it must start with 'v'"
        other = _problem(text[1:] if text[0] == "V" else text)
        return first + (f"; also, {other}" if other else "") + tail
    return "it must start with 'v' followed by MAJOR.MINOR.PATCH" + tail


def _problem(body: str) -> str | None:
    """What is wrong with ``v`` + ``body`` as a release tag; None when nothing is."""
    core, sign, rest = _split(body)
    parts = core.split(".") if core else []
    if len(parts) != 3:
        return f"it needs exactly three numbers MAJOR.MINOR.PATCH, found {len(parts) or 'none'}"
    for part in parts:
        if not part:
            return f"{_short(core)!r} is missing a number"
        if not (part.isascii() and part.isdigit()):
            return f"{_short(part)!r} is not a number"
        if len(part) > 1 and part.startswith("0"):
            return f"{_short(part)!r} has a leading zero"
    pre, plus, _build = rest.partition("+") if sign == "-" else ("", sign, rest)
    if sign == "-":
        problem = _prerelease_problem(pre)
        if problem:
            return problem
    if plus:
        return "build metadata ('+...') cannot appear in an image tag"
    return None


def _prerelease_problem(pre: str) -> str | None:
    """What is wrong with the prerelease ``pre`` (the text between '-' and any '+')."""
    if not pre:
        return "the prerelease after '-' is empty"
    shown = _short(pre)
    if pre.startswith("."):
        return f"the prerelease {shown!r} starts with a dot (an empty identifier)"
    if pre.endswith("."):
        return f"the prerelease {shown!r} ends with a dot (an empty identifier)"
    if ".." in pre:
        return f"the prerelease {shown!r} has an empty identifier between two dots"
    bad = re.search(r"[^0-9A-Za-z.-]", pre)
    if bad:
        return (
            f"the prerelease {shown!r} holds {bad[0]!r}; it may only hold ASCII letters, digits, "
            "'-' and '.'"
        )
    zero = _leading_zero(tuple(pre.split(".")))
    if zero is not None:
        return f"numeric prerelease identifier {_short(zero)!r} has a leading zero"
    return None
