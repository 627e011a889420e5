"""The ``publisher`` command line.

The CLI parses arguments, calls a stage and turns errors into exit codes; nothing
else. Commands live in modules grouped by area and register on ``main`` when
imported; each imports its heavy dependencies inside the command, so that
``publisher --help`` and ``publisher resolve`` start fast.
"""

from __future__ import annotations

from . import base, core, github_cmds, registry_cmds, release_cmds

main = base.main

__all__ = ["base", "core", "github_cmds", "main", "registry_cmds", "release_cmds"]
