"""The closed sets publisher builds for and with: platforms and builders.

A ``Platform`` is also its ``linux/amd64``-style string (it compares, hashes,
formats and serialises to JSON as that text), so typed fields need no
conversion at the edges where text is written. Platforms read from a registry
stay plain text: an index may hold one publisher does not build.
"""

from __future__ import annotations

import enum

from .errors import ConfigError


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
        """Parse ``linux/amd64``-style text (or a Platform); raise ValueError naming the accepted values."""
        try:
            return cls(text)
        except ValueError:
            raise ValueError(
                f"unknown platform {text!r}; publisher builds {', '.join(cls)}"
            ) from None


class BuilderName(enum.StrEnum):
    """The closed set of builders, in default preference order."""

    BUILDX = "buildx"
    BUILDAH = "buildah"
    DOCKER = "docker"

    @classmethod
    def parse(cls, text: str) -> BuilderName:
        try:
            return cls(text)
        except ValueError:
            raise ConfigError(
                f"unknown builder {text!r}; choose one of {', '.join(cls)}", field="--builder"
            ) from None
