"""The command a tip tells the user to run next, with the locations this run was given.

A tip naming another publisher command (``publisher audit --repair``) must check the
setup the user is working on: the matrix file of ``--config`` and the records of
``--notes-dir`` (and a release's ``--digests``). ``Locations`` holds those the run was
given and ``Locations.command`` writes the command with the ones it accepts, each
shell-quoted, leaving out one that is the default (a ``PUBLISHER_CONFIG`` stays in the
environment, but naming it costs nothing and survives a copy to another shell).

A narrowed run (``--only``) carries its lines to a rerun of its release or republish
(``CARRIES_ONLY``, naming the run's ``release``): without them it would build other
lines, or be refused; another release's rerun is not narrowed by this run's; a check
(``verify``, ``audit``) reads the whole release and is named without them. A tip that
chooses the lines itself (``--only`` in its arguments) keeps its own. PUBLISHER_LINES and
PUBLISHER_PLATFORMS stay in the environment, as PUBLISHER_CONFIG does.

A rehearsal (``--local``) carries ``--local`` to ``release`` and ``republish``. Its
throwaway registries are stopped when it ends, so no other command can check or repair
what it pushed, and without ``--local`` one would act on the configured (real)
registries: a tip naming one (``OFFLINE`` commands aside, which read no registry) names
the rehearsal itself, run again, instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass


def shell_word(value: str, encoding: str = "utf-8") -> str:
    """``value`` as one word of a command a message gives to paste: ``shlex.quote``'s,
    or, for a value holding a character a terminal would not show as itself (a line
    break, ESC, DEL, a C1 control), a byte that is not UTF-8, or a character the output's
    ``encoding`` has no byte for ("é" on an ASCII stdout, which would write it ``\\u00e9``),
    bash's ``$'...'`` with each such one escaped (``$'x\\nerror\\x1b'``, ``$'r\\xc3\\xa9po'``):
    the command still pastes as it is, and a path can neither forge a line of output nor
    drive the terminal. A character is escaped as its UTF-8 bytes, as the name holds it,
    never ``\\u00e9``, which bash turns into text of its locale's (under LC_ALL=C, into
    ``\\u00E9`` itself)."""
    if (
        value.isprintable()
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        and _encodes(value, encoding)
    ):
        return shlex.quote(value)
    words = []
    for c in value:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
            words.append(f"\\x{code - 0xDC00:02x}")
        elif c in "\\'":
            words.append("\\" + c)
        elif c.isprintable() and _encodes(c, encoding):
            words.append(c)
        elif code < 0x80:
            words.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c, f"\\x{code:02x}"))
        else:  # its UTF-8 bytes, as the name holds it, in every locale
            words.append("".join(f"\\x{byte:02x}" for byte in c.encode("utf-8", "surrogatepass")))
    return "$'" + "".join(words) + "'"


def shell_command(argv: Sequence[str], encoding: str = "utf-8") -> str:
    """``argv`` as a command to paste into a shell, written in ``encoding`` (the output's:
    each word a ``shell_word``)."""
    return " ".join(shell_word(str(arg), encoding) for arg in argv)


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


#: The matrix file when --config is not given.
DEFAULT_CONFIG = "matrix.yaml"

CONFIG = "--config"
NOTES_DIR = "--notes-dir"
DIGESTS = "--digests"
ONLY = "--only"
LOCAL = "--local"

#: The placeholder of a republish's reason in a tip.
REASON = '--reason "..."'

#: The options of a run each command accepts, as its --help lists them. ``publish``'s
#: --digests (the build legs' records, which it requires) is left out: a tip never names
#: it without its own placeholder.
ACCEPTS: dict[str, frozenset[str]] = {
    "release": frozenset({CONFIG, NOTES_DIR, DIGESTS, ONLY, LOCAL}),
    "republish": frozenset({CONFIG, NOTES_DIR, DIGESTS, ONLY, LOCAL}),
    "publish": frozenset({CONFIG, NOTES_DIR, ONLY}),
    "audit": frozenset({CONFIG, NOTES_DIR}),
    "verify": frozenset({CONFIG, NOTES_DIR, ONLY}),
    "check-public": frozenset({CONFIG, NOTES_DIR, ONLY}),
    "matrix": frozenset({CONFIG, NOTES_DIR, ONLY, LOCAL}),
    "plan": frozenset({CONFIG, NOTES_DIR, ONLY}),
    "republish-check": frozenset({CONFIG, NOTES_DIR}),
    "build": frozenset({CONFIG}),
    "render": frozenset({CONFIG}),
    "preflight": frozenset({CONFIG, ONLY}),
}

#: The commands a narrowed run's --only is carried to: the reruns of its lines. Every
#: other takes the release whole, as a tip means it.
CARRIES_ONLY = frozenset({"release", "republish"})

#: The commands that read no registry: a rehearsal's tip names them as they are.
OFFLINE = frozenset({"render", "plan"})


@dataclass(frozen=True)
class Locations:
    """Where this run reads and writes, as given: ``config`` the matrix file (--config
    or PUBLISHER_CONFIG), ``notes_dir`` the records (--notes-dir; None: next to the
    matrix), ``digests`` a release's digest records (--digests; None: its default),
    ``release`` the release the run acts on and ``only`` the lines --only named (empty:
    every line), ``rehearsal`` the command of a rehearsal (--local) without its options
    (``("release", "v1.0.0")``; empty: a real run)."""

    config: str = DEFAULT_CONFIG
    notes_dir: str | None = None
    digests: str | None = None
    release: str | None = None
    only: tuple[str, ...] = ()
    rehearsal: tuple[str, ...] = ()

    def options(self, name: str, *args: str) -> list[str]:
        """The options of this run that command ``name`` (given ``args``) is named with:
        those it accepts that are not its default (nor empty, which the command refuses),
        each followed by its value; --only when ``name`` reruns the lines of this run's
        release (its first argument) and ``args`` choose none; --local in a rehearsal."""
        accepts = ACCEPTS.get(name, frozenset())
        rerun = name in CARRIES_ONLY and args[:1] == (self.release,)
        only = rerun and ONLY not in args
        given = [
            (CONFIG, None if self.config == DEFAULT_CONFIG else self.config),
            (NOTES_DIR, self.notes_dir),
            (DIGESTS, self.digests),
            (ONLY, ",".join(self.only) if only else None),
        ]
        named = [
            part
            for option, value in given
            if value and option in accepts
            for part in (option, value)
        ]
        return [*named, LOCAL] if self.rehearsal and LOCAL in accepts else named

    def command(self, name: str, *args: str) -> str:
        """``publisher NAME ARGS``, then the options of this run ``name`` is named with
        (shell-quoted). ``args`` are written as they are (a placeholder such as
        ``--reason "..."`` stays readable), so quote a value taken from input. In a
        rehearsal, a command that would read the configured registries, which cannot take
        --local, is the rehearsal again (``ARGS`` are its own)."""
        if self.rehearsal and LOCAL not in ACCEPTS.get(name, frozenset()) and name not in OFFLINE:
            name, *rest = self.rehearsal
            args = tuple(rest)
        located = " ".join(shell_word(part) for part in self.options(name, *args))
        return " ".join(part for part in ("publisher", name, *args, located) if part)


#: The locations of a run given none: every command as written without options.
DEFAULT = Locations()
