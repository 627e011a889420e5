"""The ``publisher`` command line.

The CLI parses arguments, calls a stage and turns errors into exit codes; nothing
else. Commands live in modules grouped by area and register on ``main`` here.
"""

from __future__ import annotations

from . import base, core

main = base.main

# Each module adds its commands to ``main`` when imported.
__all__ = ["base", "core", "main"]
