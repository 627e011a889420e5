"""The closed set of platforms publisher builds for."""

from __future__ import annotations

import enum


class Platform(enum.Enum):
    AMD64 = "linux/amd64"
    ARM64 = "linux/arm64"

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

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``linux/amd64``-style text; raise ValueError naming the accepted values."""
        for member in cls:
            if text == member.value:
                return member
        accepted = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown platform {text!r}; publisher builds {accepted}")
