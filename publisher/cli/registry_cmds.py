"""Commands that talk to registries: inspect (online), verify, preflight."""

from __future__ import annotations

from ..errors import UsageError
from ..reference import Reference
from .base import State


def inspect_online(state: State, ref: Reference, as_json: bool) -> None:
    raise UsageError("online inspection is not available yet; use --offline")
