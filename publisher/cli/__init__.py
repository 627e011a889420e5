"""The ``publisher`` command line.

The CLI parses arguments, calls a stage and turns errors into exit codes; nothing
else. Commands live in modules grouped by area (``core``, ``registry_cmds``,
``release_cmds``, ``github_cmds``, ``resolve_cmd``); ``base.COMMAND_MODULES``
maps each command to its module, which is imported when the command is used.
An option more than one command takes is declared once, in ``options``.
"""

from __future__ import annotations

from .base import main

__all__ = ["main"]
