"""The closed sets publisher builds for and with: platforms and builders.

Each parses its text through ``parse_member``, which refuses any other name
and lists the choices.

A ``Platform`` is also its ``linux/amd64``-style string (it compares, hashes,
formats and serialises to JSON as that text), so typed fields need no
conversion at the edges where text is written. Platforms read from a registry
stay plain text: an index may hold one publisher does not build.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..resolve import docker_platform

_Member = TypeVar("_Member", bound=enum.StrEnum)


def did_you_mean(text: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the choice closest to a mistyped ``text``, else ``""``:
    the ending of every "unknown name" message (matrix keys, platforms, commands)."""
    close = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_member(
    kind: type[_Member], text: str, noun: str, meant: Callable[[str], str] | None = None
) -> _Member:
    """The member of ``kind`` named ``text`` (or ``text`` itself); raise ValueError naming the
    choices, and the one ``text`` means: ``meant``'s ending when given, else the closest
    one when ``text`` looks like a typo."""
    try:
        return kind(text)
    except ValueError:
        choices = [member.value for member in kind]
        raise ValueError(
            f"unknown {noun} {text!r}; choose one of {', '.join(choices)}"
            + (meant or (lambda typed: did_you_mean(typed, choices)))(text)
        ) from None


def _platform_meant(text: str) -> str:
    """``; did you mean 'linux/amd64'?`` for a spelling docker reads as a platform publisher
    builds (``linux/x86_64``, ``Linux/AMD64``, ``linux/arm64/v8``), or one with its OS left
    out or another OS (``aarch64``, ``darwin/arm64``: the images are Linux images on every
    host), or a typo of the architecture (``linux/amd46``); else ``""``. Never the closest
    whole text: ``linux/x86_64`` is amd64, not arm64, and ``linux/386`` is neither."""
    arch = text.split("/", 1)[1] if "/" in text else text
    for spelling in (text, f"linux/{arch}"):
        platform = docker_platform(spelling.strip())
        if platform:
            return f"; did you mean {platform!r}?"
    # a typo of the architecture alone (linux/amd46), never of the 'linux/' all share
    close = difflib.get_close_matches(arch, [member.arch for member in Platform], n=1)
    return f"; did you mean {f'linux/{close[0]}'!r}?" if close else ""


class Platform(enum.StrEnum):
    AMD64 = "linux/amd64"
    ARM64 = "linux/arm64"

    def __hash__(self) -> int:
        # The text's hash, so a Platform and its text find the same dict entry.
        return hash(self.value)

    @property
    def os(self) -> str:
        return self.value.split("/")[0]

    @property
    def arch(self) -> str:
        return self.value.split("/")[1]

    @property
    def slug(self) -> str:
        """File-name-safe form, e.g. ``linux-arm64``."""
        return self.value.replace("/", "-")

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``linux/amd64``-style text (or a Platform)."""
        return parse_member(cls, text, "platform", _platform_meant)


class BuilderName(enum.StrEnum):
    """The closed set of builders, in default preference order."""

    BUILDX = "buildx"
    BUILDAH = "buildah"
    DOCKER = "docker"

    @classmethod
    def parse(cls, text: str) -> BuilderName:
        return parse_member(cls, text, "builder")
