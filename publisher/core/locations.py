"""The command a tip tells the user to run next, with the locations this run was given.

A tip naming another publisher command (``publisher audit --repair``) must check the
setup the user is working on: the matrix file of ``--config`` and the records of
``--notes-dir`` (and a release's ``--digests``). ``Locations`` holds those the run was
given and ``Locations.command`` writes the command with the ones it accepts, each
shell-quoted, leaving out one that is the default (a ``PUBLISHER_CONFIG`` stays in the
environment, but naming it costs nothing and survives a copy to another shell).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: The matrix file when --config is not given.
DEFAULT_CONFIG = "matrix.yaml"

CONFIG = "--config"
NOTES_DIR = "--notes-dir"
DIGESTS = "--digests"

#: The placeholder of a republish's reason in a tip.
REASON = '--reason "..."'

#: The location options each command accepts, as its --help lists them. ``publish``'s
#: --digests (the build legs' records, which it requires) is left out: a tip never names
#: it without its own placeholder.
ACCEPTS: dict[str, frozenset[str]] = {
    "release": frozenset({CONFIG, NOTES_DIR, DIGESTS}),
    "republish": frozenset({CONFIG, NOTES_DIR, DIGESTS}),
    "publish": frozenset({CONFIG, NOTES_DIR}),
    "audit": frozenset({CONFIG, NOTES_DIR}),
    "verify": frozenset({CONFIG, NOTES_DIR}),
    "check-public": frozenset({CONFIG, NOTES_DIR}),
    "matrix": frozenset({CONFIG, NOTES_DIR}),
    "plan": frozenset({CONFIG, NOTES_DIR}),
    "republish-check": frozenset({CONFIG, NOTES_DIR}),
    "build": frozenset({CONFIG}),
    "render": frozenset({CONFIG}),
    "preflight": frozenset({CONFIG}),
}


@dataclass(frozen=True)
class Locations:
    """Where this run reads and writes, as given: ``config`` the matrix file (--config
    or PUBLISHER_CONFIG), ``notes_dir`` the records (--notes-dir; None: next to the
    matrix), ``digests`` a release's digest records (--digests; None: its default)."""

    config: str = DEFAULT_CONFIG
    notes_dir: str | None = None
    digests: str | None = None

    def options(self, name: str) -> list[str]:
        """The location options of this run that command ``name`` accepts and that are
        not its default (nor empty, which the command refuses), each followed by its value."""
        accepts = ACCEPTS.get(name, frozenset())
        given = [
            (CONFIG, None if self.config == DEFAULT_CONFIG else self.config),
            (NOTES_DIR, self.notes_dir),
            (DIGESTS, self.digests),
        ]
        return [
            part
            for option, value in given
            if value and option in accepts
            for part in (option, value)
        ]

    def command(self, name: str, *args: str) -> str:
        """``publisher NAME ARGS``, then the location options ``name`` accepts (shell-
        quoted). ``args`` are written as they are (a placeholder such as
        ``--reason "..."`` stays readable), so quote a value taken from input."""
        located = " ".join(shlex.quote(part) for part in self.options(name))
        return " ".join(part for part in ("publisher", name, *args, located) if part)


#: The locations of a run given none: every command as written without options.
DEFAULT = Locations()
