"""Terminal and CI output: rich locally, GitHub-native in Actions.

Every stage talks to an ``Output``; it never prints directly. In GitHub Actions
(``GITHUB_ACTIONS=true``) a step is a ``::group::``, errors become
``::error file=,line=::`` annotations, secrets are masked with ``::add-mask::``
before first use, tables (and a failed run's error) also go to
``$GITHUB_STEP_SUMMARY`` and values to ``$GITHUB_OUTPUT``. Every other line written
in Actions is ``inert``: text of other programs (a build's log) is never obeyed as a
workflow command; a JSON result is ``inert_json``, parsing to the same value. Locally, steps are rich rules and tables are rich tables.

Which stream carries what: stdout the command's result alone (its ``info`` lines and
``detail``s, its tables, its JSON document, its ``key=value`` lines); stderr the run's
progress (``progress``: retries and their waits, steps, commands echoed or still running)
in every mode, ``--json`` included, and every warning, notice and error. (In Actions the
workflow commands a step writes, ``::group::`` and its title, go with stdout unless
``quiet``: the runner reads both streams.)

Everything written passes through ``redact`` so a registered secret never
reaches the terminal, a file or a summary.

When the reader of stdout or stderr goes away (``publisher verify | head -1``),
the stream is pointed at /dev/null (so the interpreter's last flush does not
fail again) and ``OutputClosed`` is raised in the writing thread and in every
later write: the CLI stops quietly with exit status 141, as a command killed by
SIGPIPE would.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import errno
import functools
import html
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ..core.config import utf8_problem
from ..core.errors import (
    CUT,
    QUOTE,
    ConfigError,
    FileAccessError,
    OutputClosed,
    PublisherError,
    UsageError,
    clip,
    full_file_system,
    message_text,
    printable,
)
from ..core.fileio import NotRegularFileError, append_whole
from ..core.sizes import seconds
from ..resolve import (  # inert and inert_json: resolve writes its decision so in Actions too
    MIN_SECRET_FORM,
    inert,
    inert_json,
    secret_forms,
    tip_lines,
    without_secrets,
)

_REDACTED = "***"

#: Names of environment variables whose values are secrets wherever they appear
#: (suffixes, upper case): redacted from every output, tracebacks included.
SECRET_ENV_SUFFIXES = ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "_PAT", "API_KEY")
#: Shortest such value taken for a secret (shorter ones are flags, not credentials).
_MIN_ENV_SECRET = 8
#: Proxy variables, whose URL may carry a password (``http://user:password@proxy:3128``).
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


class _Console(Console):
    @classmethod
    def on(cls, stream: IO[str], *, plain: bool, forced: bool) -> _Console:
        """A console drawing on ``stream``. Logs and pipes get wide tables (digests stay
        on one line); terminals keep their width. Styles on a terminal, or anywhere when
        ``forced``; never when ``plain``. No markup: every text it draws (a table's title,
        headers and cells, a step's rule) is shown as written, user values included (a
        registry ``[fd00::2]:5000`` is no style tag)."""
        return cls(
            file=stream,
            markup=False,
            highlight=False,
            soft_wrap=True,
            emoji=False,
            width=None if _isatty(stream) else 200,
            color_system=None if plain else "auto",
            force_terminal=forced or _isatty(stream),
        )

    def on_broken_pipe(self) -> None:
        # rich would exit 1 on its own; the CLI decides (quietly, 141).
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


#: Terminals narrower than this get each table row as "column: value" lines: a table
#: crushed into a few columns folds or drops what its cells hold.
MIN_TABLE_WIDTH = 60

#: Shortest secret redacted (and masked in Actions). A one- or two-character value would
#: be replaced wherever those characters occur (in every digest holding "ab", every word
#: holding "a"): the log would be unreadable, and the gaps themselves would show the secret.
#: Such a credential is said once, as a warning, instead (the line of a multi-line secret
#: that is this short is skipped silently: the other lines are masked).
MIN_SECRET = 3


class Output:
    """One run's output channel. Thread-safe: build legs log from worker threads."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        stream: IO[str] | None = None,
        err_stream: IO[str] | None = None,
        quiet: bool = False,
        debug: bool = False,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.github = self.env.get("GITHUB_ACTIONS") == "true"
        self.quiet = quiet
        #: whether ``print_text`` began writing the command's result (its JSON) to stdout:
        #: one stopped halfway (a signal, a broken pipe) is followed by no other document
        self.printed = False
        self.debug_enabled = debug
        self._stream = stream or sys.stdout
        self._err = err_stream or sys.stderr
        # NO_COLOR (https://no-color.org) set and not empty: no escape sequence at all, bold
        # and dim included (rich would drop only the colours); a pipe or file never gets any.
        plain = bool(self.env.get("NO_COLOR"))
        # A terminal gets styles, and so does a pipe or file when FORCE_COLOR is set and not
        # empty (https://force-color.org); decided here from this env, never by rich from
        # os.environ (nor by its own TTY_COMPATIBLE).
        forced = bool(self.env.get("FORCE_COLOR")) and not plain
        self._console = _Console.on(self._stream, plain=plain, forced=forced)
        #: the run's progress (``progress``, ``step``, ``command``), drawn on stderr
        self._err_console = _Console.on(self._err, plain=plain, forced=forced)
        self._secrets: set[str] = set()
        self._proxy_passwords: set[str] = set()
        #: the secrets and their forms, longest first, and the regex that finds the first
        #: few characters of any of them (None until the first redaction needs it): one
        #: pass over a line that holds none, the common case, rather than one per form
        self._redaction: tuple[tuple[str, ...], re.Pattern[str] | None] = ((), None)
        self._lock = threading.RLock()
        self._group_depth = 0
        self._closed = False
        self._summary_failed = False
        self._warned_short = False
        for name, value in self.env.items():
            if name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= _MIN_ENV_SECRET:
                self._protect(value)
            elif name.upper() in PROXY_ENV:
                for password in _url_passwords(value):
                    for form in (password, urllib.parse.unquote(password)):
                        self._protect(form)
                        self._proxy_passwords.add(form)

    # ---------------------------------------------------------------- secrets

    def mask(self, secret: str | None) -> None:
        """Register a secret: redacted everywhere from now on, masked in Actions.

        In Actions, ``::add-mask::`` is printed at once, before the caller first
        uses the secret. Redaction also covers every form a message, a document or a
        server shows it in (``secret_forms``: escaped as a message or ``repr`` writes it,
        inside JSON, a URL or an HTTP Basic ``Authorization`` header).
        """
        if not secret:
            return
        if 0 < len(secret.strip()) < MIN_SECRET and not self._warned_short:
            self._warned_short = True
            self.warning(
                f"a credential of {len(secret.strip())} character(s) is in use: too short to "
                "be redacted from the output (every occurrence of those characters would be), "
                "so it may appear in it; use a real token or password"
            )
        with self._lock:
            for value in {secret, *secret.splitlines()}:
                value = value.strip()
                if len(value) < MIN_SECRET or value in self._secrets:
                    continue
                self._secrets.add(value)
                if self.github:
                    self._write(
                        self._commands,
                        f"::add-mask::{_escape_data(value)}\n",
                        redact=False,
                        verbatim=True,
                    )
                self._protect(value)

    def mask_proxy_passwords(self) -> None:
        """Mask the passwords of the proxy URLs in the environment (in Actions, before the
        first request that may go through a proxy); redacted from the start anyway."""
        for password in sorted(self._proxy_passwords):
            self.mask(password)

    def _protect(self, secret: str) -> None:
        """Redact ``secret`` (and its encoded forms) from everything written from now on."""
        with self._lock:
            for value in {secret, *secret.splitlines()}:
                value = value.strip()
                if len(value) < MIN_SECRET:
                    continue
                patterns = set(self._redaction[0]) | set(secret_forms(value))
                self._redaction = (tuple(sorted(patterns, key=len, reverse=True)), None)

    def redact(self, text: str) -> str:
        patterns, starts = self._redaction
        if patterns and starts is None:
            starts = self._starts(patterns)
        if starts is not None:
            text = _redacted(text, patterns, starts)
        return without_secrets(text)  # and the user:password@ of any URL

    def _starts(self, patterns: tuple[str, ...]) -> re.Pattern[str]:
        """``_starts_of`` ``patterns``, compiled once for a set of secrets."""
        compiled = _starts_of(patterns)
        with self._lock:
            if self._redaction[0] is patterns:  # no secret came meanwhile
                self._redaction = (patterns, compiled)
        return compiled

    # ---------------------------------------------------------------- writing

    @property
    def _commands(self) -> IO[str]:
        """Where a step's workflow commands (``::group::``, ``::add-mask::``) go: stdout,
        unless it carries only the command's JSON (``quiet``); Actions reads both streams."""
        return self._err if self.quiet else self._stream

    def _write(
        self, stream: IO[str], text: str, *, redact: bool = True, verbatim: bool = False
    ) -> None:
        """Write ``text``; in Actions, ``inert`` unless ``verbatim``: a workflow command
        publisher gives itself (its data escaped, ``_escape_data``), or its result."""
        text = self.redact(text) if redact else text
        if self.github and not verbatim:
            text = inert(text)
        text = readable(text, stream)
        with self._writing(stream):
            stream.write(text)
            stream.flush()

    @contextlib.contextmanager
    def _writing(self, stream: IO[str]) -> Iterator[None]:
        """Hold the lock while writing; a vanished reader becomes ``OutputClosed``."""
        with self._lock:
            if self._closed:
                raise OutputClosed()
            try:
                yield
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    silence(stream)  # what is still buffered goes nowhere, not here again
                    if stream is self._stream:
                        raise stream_error(exc, "stdout") from None
                    # stderr (a full disk under `2>log`): its messages are lost, but the
                    # run is not stopped for them, and its exit code stays its own
                    return
                self._closed = True
                silence(stream)
                _stop_commands(stream)
                raise OutputClosed() from None

    @property
    def encoding(self) -> str:
        """The encoding of stdout (UTF-8 where it names none): a command given to paste
        writes each character it has no byte for as bash's ``$'\\xc3\\xa9'``
        (``shell_command``), never as the ``\\u00e9`` stdout would write it."""
        return getattr(self._stream, "encoding", None) or "utf-8"

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write(self._stream, message + "\n")

    def note(self, message: str) -> None:
        """Information beside a result that stdout carries alone (``quiet``: ``key=value``
        lines a script reads): on stderr, never mixed into the result."""
        self._write(self._err, message + "\n")

    def progress(self, message: str) -> None:
        """The run's progress: a retry and its wait, a command echoed or still running, a
        copy's advance, a step. On stderr in every mode (``quiet``, for ``--json`` and the
        ``key=value`` lines, and Actions included): stdout carries the command's result
        alone (``info`` lines, tables, ``print_text``, ``print_lines``). Dimmed locally."""
        self._dimmed(self._err, self._err_console, message)

    def detail(self, message: str) -> None:
        """Secondary information of the result (on stdout, none when ``quiet``): dimmed
        locally. The run's progress is ``progress``."""
        if not self.quiet:
            self._dimmed(self._stream, self._console, message)

    def _dimmed(self, stream: IO[str], console: Console, message: str) -> None:
        """``message`` as a line on ``stream`` (``console`` draws on it): dimmed locally,
        plain in Actions."""
        if self.github:
            self._write(stream, message + "\n")
        else:
            with self._writing(stream):
                console.print(readable(self.redact(message), stream), style="dim")

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._write(self._err, f"debug: {message}\n")

    def command(self, argv_text: str) -> None:
        """Echo a command about to run (already redacted by the runner): progress."""
        self.progress(f"+ {argv_text}")

    def warning(self, message: str) -> None:
        """A warning; a byte of a path or value in it that is not UTF-8 written ``\\xff``
        (``message_text``), as in every error and JSON document, after the redaction."""
        self._flag("warning", message)

    def notice(self, message: str) -> None:
        """A notice: something coming that needs no change yet, written as a warning is
        (``::notice::`` in Actions, shown on the run's page; ``notice:`` on stderr)."""
        self._flag("notice", message)

    def _flag(self, kind: str, message: str) -> None:
        """``message`` as a ``kind`` annotation in Actions, else ``kind: message`` on stderr."""
        said = message_text(self.redact(message))
        if self.github:
            shown = _escape_data(annotation_message(said))
            self._write(self._err, f"::{kind}::{shown}\n", redact=False, verbatim=True)
        else:
            self._write(self._err, f"{kind}: {said}\n", redact=False)

    def error(self, exc: PublisherError) -> None:
        """Report an error: one or two lines; in Actions also an annotation, and the end
        of the step summary (whose tables, written before, would read as a success).
        A byte of a path or value that is not UTF-8 is written ``\\xff`` in each, as in
        its JSON document (``message_text``, after the redaction)."""
        self.annotate(exc)
        said = message_text(self.redact(f"error: {exc.label}: {exc.message}\n"))
        self._write(self._err, said, redact=False)
        if exc.hint:
            self._write(self._err, message_text(self.redact(tip_lines(exc.hint))), redact=False)
        self.summary(failure_markdown(exc, self.redact))

    def annotate(self, exc: PublisherError) -> None:
        """In Actions, the ``::error`` annotation of ``exc`` (located for a matrix error)."""
        if not self.github:
            return
        self._write(self._err, self.annotation(exc), redact=False, verbatim=True)

    def annotation(self, exc: PublisherError) -> str:
        """The ``::error`` line of ``exc``, redacted and escaped, not written: ``annotate``
        writes it; the forced exit, from its own thread, without the output's lock."""
        props = ""
        if isinstance(exc, ConfigError) and exc.source:
            props = f" file={_escape_prop(printable(exc.source))}"
            if exc.line is not None:
                props += f",line={exc.line}"
                if exc.column is not None:
                    props += f",col={exc.column}"
        props += ("," if props else " ") + f"title={_escape_prop(self.redact(exc.label))}"
        hint = message_text(self.redact(exc.hint)) if exc.hint else None
        annotation = annotation_message(message_text(self.redact(exc.message)), hint)
        # Not inert, and need not be (a command's output quoted, with its ``::`` and ``##[``):
        # CR and LF escaped, the runner reads one line (it ends lines there alone), and a
        # line that parses as a ``::`` command is that command only: it looks for ``##[``
        # only in a line that is none (tests/integration/test_builders.py relays one).
        return f"::error{props}::{_escape_data(annotation)}\n"

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        """A visible stage of the run: a group in Actions, a rule on stderr locally.

        Actions cannot nest groups: a step inside a step prints its title as a
        plain line inside the outer group.
        """
        start = time.monotonic()
        with self._lock:
            outer = self._group_depth == 0
            self._group_depth += 1
        if self.github:
            if outer:
                self._write(
                    self._commands,
                    f"::group::{_escape_data(self.redact(title))}\n",
                    redact=False,
                    verbatim=True,
                )
            else:
                self._write(self._commands, f"-- {title}\n")
        else:  # progress: on stderr, --json or not
            with self._writing(self._err):
                shown = readable(self.redact(title), self._err)
                self._err_console.rule(shown, align="left", style="cyan")
        try:
            yield
        finally:
            elapsed = time.monotonic() - start
            with self._lock:
                self._group_depth -= 1
            if self.github and outer:
                self._write(self._commands, "::endgroup::\n", verbatim=True)
            self.progress(f"  ({title}: {seconds(elapsed, 1)})")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table on the terminal, and in the step summary when in Actions."""
        cells = [[self.redact(str(cell)) for cell in row] for row in rows]
        if self.github:  # each cell redacted before its '|' is escaped ('\\|')
            self.summary(markdown_table(self.redact(title), columns, cells))
        if self.quiet:
            return
        # drawn by rich, whose stream would write a character it has no byte for escaped
        heads = [readable(column, self._stream) for column in columns]
        shown = [[readable(cell, self._stream) for cell in row] for row in cells]
        table = Table(title=readable(self.redact(title), self._stream), title_justify="left")
        for column in heads:  # wrapped at their spaces only (``_fit_columns``)
            table.add_column(column, overflow="fold")
        for row in shown:
            table.add_row(*row)
        # the table's width with no cell wrapped
        needed = self._console.measure(table, options=self._console.options.update_width(1 << 16))
        width = self._console.width
        if not _isatty(self._stream) and needed.maximum > width:
            # a log or a pipe: each row on one line, for grep (and the table as wide as
            # that: a console that soft-wraps crops nothing)
            width = table.width = needed.maximum
        fits = width >= needed.maximum or _fit_columns(
            table, self._console, [heads, *shown], needed.maximum - width
        )
        if width < MIN_TABLE_WIDTH or not fits:
            # a terminal narrower than the table with no word cut (each digest whole on its
            # row): a table would crush (and drop or fold) its cells; each row as
            # "column: value" lines instead
            lines = [title]
            for values in rows:
                said = [f"{c}: {v}" for c, v in zip(columns, map(str, values), strict=False)]
                lines += [said[0], *(f"  {cell}" for cell in said[1:])]
            self._write(self._stream, "\n".join(lines) + "\n")
            return
        if self.github:  # drawn first, to be written inert as all text is
            with self._console.capture() as drawn:
                self._console.print(table)
            self._write(self._stream, drawn.get(), redact=False)
            return
        with self._writing(self._stream):
            self._console.print(table)

    def verdict(self, message: str) -> None:
        """The command's outcome in a line (``verified: ...``): ``info``, and in Actions a
        line of the step summary too (written as text), so that a step that passed says so
        on the run's page as one that failed does."""
        self.info(message)
        self.summary(markdown_text(self.redact(message)))

    def summary(self, markdown: str) -> None:
        """Append to ``$GITHUB_STEP_SUMMARY`` (only in Actions). ``markdown`` is Markdown
        publisher wrote: each text in it that is not publisher's own (a registry's message,
        a value of matrix.yaml, a path) written with ``markdown_text``."""
        entry = self.summary_entry(markdown)
        if entry is None:
            return
        path, text = entry
        try:
            with self._lock:
                append_whole(path, text)
        except OSError as exc:  # a summary is for reading: the run goes on without it
            self._summary_failed = True
            self.warning(
                f"cannot append to the step summary GITHUB_STEP_SUMMARY={path} "
                f"({exc.strerror or exc}); its tables are in this log only"
            )

    def summary_entry(self, markdown: str) -> tuple[str, str] | None:
        """Where ``summary`` appends ``markdown``, and the text it appends, redacted, a byte of
        a path or value that is not UTF-8 written ``\\xff`` (``message_text``); None outside
        Actions, or once an append failed. Not written: ``summary`` writes it under the
        output's lock; the forced exit, from its own thread, without it."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not (self.github and path) or self._summary_failed:
            return None
        return path, message_text(self.redact(markdown)).rstrip("\n") + "\n\n"

    def set_output(self, name: str, value: str) -> None:
        """Write a step output to ``$GITHUB_OUTPUT`` (only in Actions): ``set_outputs``
        of one."""
        self.set_outputs([(name, value)])

    def set_outputs(self, outputs: Sequence[tuple[str, str]]) -> None:
        """Write step outputs, ``(name, value)``, to ``$GITHUB_OUTPUT`` (only in Actions),
        all in one write: a failure or a signal leaves all of them written or none.

        ``name=value`` only for a value of printable characters; any other (a line
        break, a lone CR, another control character, a Unicode line separator) goes
        between delimiter lines no value holds. The runner ends a line at LF alone (CRLF
        on Windows), but a reader that ends one at CR too, as Python's ``splitlines``
        does, would take ``a<CR>latest=...`` for a second output.
        """
        path = self.env.get("GITHUB_OUTPUT")
        if not (self.github and path and outputs):
            return
        lines = []
        for name, value in outputs:
            value = self.redact(value)
            not_utf8 = utf8_problem(value)  # later steps would read another value, or none
            if not_utf8:
                raise UsageError(
                    f"the step output {name!r} is not UTF-8 text: {not_utf8}",
                    hint="give publisher UTF-8 text and paths (GitHub reads GITHUB_OUTPUT as "
                    "UTF-8); check the terminal's or the workflow's encoding",
                )
            if value.isprintable():
                lines.append(f"{name}={value}\n")
            else:
                delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                while delimiter in value:  # never: a fresh random one each time
                    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        names = [name for name, _ in outputs]
        what = f"the step output {names[0]!r}" if len(names) == 1 else "the step outputs"
        try:
            with self._lock:
                append_whole(path, "".join(lines))
        except OSError as exc:  # later steps read it: an error, naming the variable
            raise _output_error(what, path, exc) from None

    def check_step_outputs(self) -> None:
        """In Actions, refuse a run that changes things before it writes its step outputs
        when ``$GITHUB_OUTPUT`` cannot be opened to append to (a directory, a missing
        directory, no permission): before it changes anything, not after it has done it all.
        Opened, nothing written (the runner makes the file before the step)."""
        path = self.env.get("GITHUB_OUTPUT")
        if not (self.github and path):
            return
        try:
            append_whole(path, "")
        except OSError as exc:
            error = _output_error("step outputs", path, exc)
            error.message += "; nothing was done"
            raise error from None

    def print_text(self, text: str) -> None:
        """The command's result, a JSON document: never dimmed; in Actions, each ``##[`` in
        it written ``##\\u005b`` (``inert_json``), which parses to the same value but is no
        workflow command (a ``::`` cannot start a line of JSON)."""
        self.printed = True  # before: a write a signal stops halfway is the result all the same
        text = self.redact(text)
        if self.github:
            text = inert_json(text)
        self._write(
            self._stream, text if text.endswith("\n") else text + "\n", redact=False, verbatim=True
        )

    def print_lines(self, text: str) -> None:
        """The command's result, ``key=value`` lines a script reads: never dimmed; in
        Actions ``inert`` as other text (each line starts with its key, so only a ``##[`` in
        a value, which its values never hold, would be changed)."""
        self.printed = True
        self._write(self._stream, text if text.endswith("\n") else text + "\n")


#: The ASCII a character of publisher's words is written as on a stream whose encoding has
#: no byte for it (LC_ALL=C, an ISO-8859-1 locale, PYTHONIOENCODING=ascii): a cut's "…"
#: reads "...", a dash "--" or "-", never the escape ``\u2026`` the stream's error handler
#: writes (``resolve.escaped``), which any other such character still gets ("é" on ASCII,
#: a curly quote, which publisher's words never hold and a file name may).
READABLE = {
    "\u2026": "...",  # … a cut (``clip``), a command's script echoed on one line
    "\u2014": "--",  # — between a warning's parts
    "\u2013": "-",  # – an en dash
    "\u2212": "-",  # − a minus sign (a size's change)
    "\u2192": "->",  # → a mapping
    "\u26a0": "!",  # ⚠ a line past its end of life
}


@functools.lru_cache(maxsize=16)
def _stand_ins(encoding: str) -> dict[int, str]:
    """The characters of ``READABLE`` that ``encoding`` has no byte for, with their ASCII."""
    table = {}
    for char, ascii_text in READABLE.items():
        try:
            char.encode(encoding)
        except (UnicodeError, LookupError):
            table[ord(char)] = ascii_text
    return table


def readable(text: str, stream: IO[str]) -> str:
    """``text`` as ``stream`` writes it readably: each character of ``READABLE`` its
    encoding has no byte for as its ASCII; every other character as it is (a path's
    characters it can encode, its bytes under ISO-8859-1, written back exactly)."""
    table = _stand_ins(getattr(stream, "encoding", None) or "utf-8")
    return text.translate(table) if table else text


def _fit_columns(table: Table, console: Console, rows: Sequence[Sequence[str]], by: int) -> bool:
    """Narrow ``table`` by ``by`` characters with no word cut, if it can be: the widest
    column gives way a character at a time, none narrower than its longest word (a digest,
    a repository), its cells then wrapped at their spaces; False, the table untouched, if
    that is not enough. Rich would narrow the widest columns whatever their words hold
    (``ghcr.io/twentyi/php-fp`` above ``m``), even where a table that cuts none fits."""
    options = console.options.update_width(1 << 16)
    spans = [
        [Measurement.get(console, options, row[index]) for row in rows if index < len(row)]
        for index in range(len(table.columns))
    ]
    widths = [max(span.maximum for span in column) for column in spans]
    least = [max(span.minimum for span in column) for column in spans]  # the longest words
    if sum(widths) - sum(least) < by:
        return False
    for _ in range(by):
        narrowable = [i for i, width in enumerate(widths) if width > least[i]]
        widths[max(narrowable, key=lambda i: widths[i])] -= 1
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    return True


def _output_error(what: str, path: str, exc: OSError) -> FileAccessError:
    if isinstance(exc, NotRegularFileError):  # said for what it is, never waited on
        said = f"cannot write {what}: GITHUB_OUTPUT={path} is {exc.strerror}"
    else:
        said = f"cannot write {what} to GITHUB_OUTPUT={path}: {exc.strerror or exc}"
    hint = (
        "in GitHub Actions the runner sets GITHUB_OUTPUT to a writable file; "
        "by hand, unset GITHUB_ACTIONS (or GITHUB_OUTPUT)"
    )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # writable, but no room
        hint = f"{full_file_system(path)} (on the runner, its work directory's disk); then rerun"
    return FileAccessError(said, hint=hint)


#: What makes text in Markdown (as GitHub renders a step summary) more than text: HTML
#: and autolinks (``<``), entities (``&``), links and images (``[``), emphasis, code and
#: strikethrough, headings, table cells (``|``), math (``$``), and the escape itself.
_MARKDOWN_MARKS = re.compile(r"[\\`*_\[\]<&~|#$]")
#: A line of ``=`` or ``-`` alone: it would make the line before it a heading, or a rule.
_UNDERLINE = re.compile(r"^([ \t]*)([=-][=\- \t]*)$", re.MULTILINE)


def markdown_text(text: str) -> str:
    """``text`` (a registry's message, a value of matrix.yaml, a path, an error's words)
    written in Markdown as the text it is: each mark that would make it an image, a link,
    emphasis, HTML (an unclosed ``<!--`` hides all after it), a heading or a table cell
    escaped with a backslash, which GitHub shows as the mark itself. Redact first (an
    escape would hide a secret from the redaction)."""
    return _UNDERLINE.sub(r"\1\\\2", _MARKDOWN_MARKS.sub(r"\\\g<0>", text))


def markdown_link(text: str, url: str) -> str:
    """A link of the step summary to ``url`` (an API's answer), shown as ``text``: the URL
    with each character that could end or change the link (a parenthesis, a space, a
    bracket, ``<``) percent-encoded, the text written as text (``markdown_text``)."""
    target = urllib.parse.quote(url, safe=":/?#@!$&'*+,;=%~-._")
    return f"[{markdown_text(text)}]({target})"


def markdown_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of the step summary, its title and cells written as text (``markdown_text``)."""

    def cell(value: object) -> str:
        return markdown_text(str(value).replace("\n", " "))

    lines = [f"### {markdown_text(title)}", "", "| " + " | ".join(map(cell, columns)) + " |"]
    lines += ["|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_list(title: str, items: Sequence[str]) -> str:
    """A list of the step summary under its heading, its title and items written as text
    (``markdown_text``; each redacted first)."""
    listed = "".join(f"- {markdown_text(item)}\n" for item in items)
    return f"### {markdown_text(title)}\n\n{listed}"


def failure_markdown(exc: PublisherError, redact: Callable[[str], str]) -> str:
    """A failed run's last words in the step summary: its error, exit code and tip, each
    redacted and quoted, each line of them on a line of its own as the log shows it
    (``markdown_lines``)."""
    said = [exc.message] + ([f"tip: {exc.hint}"] if exc.hint else [])
    quoted = "\n>\n".join(
        "\n".join(f"> {line}" if line else ">" for line in markdown_lines(redact(part)).split("\n"))
        for part in said
    )
    label = markdown_text(exc.label)
    return f"**Failed: {label} (exit {exc.exit_code})**\n\n{quoted}"


#: A line of a message that is an item of a list: ``  - defect``, ``1. open ...``.
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*]|\d{1,9}[.)])[ \t]")


def markdown_lines(text: str) -> str:
    """A message (redacted) as Markdown, as the log shows it: its words written as text
    (``markdown_text``: a registry's message can hold any Markdown), each line on a line of
    its own (a hard break: Markdown joins lines), a list (``  - defect``, numbered steps)
    a list, a blank line after it; and each run of lines a program printed (``QUOTE``d:
    a build's last output) in a code block as it printed them, unescaped, in a fence of
    more backticks than any run of them in it."""
    lines = text.split("\n")
    out: list[str] = []
    at = 0
    while at < len(lines):
        if lines[at].startswith(QUOTE):
            end = at
            while end < len(lines) and lines[end].startswith(QUOTE):
                end += 1
            block = [line[len(QUOTE) :] for line in lines[at:end]]
            longest = max((len(run) for run in re.findall(r"`+", "\n".join(block))), default=0)
            fence = "`" * max(3, longest + 1)
            out += [fence, *block, fence]
            at = end
            continue
        line = markdown_text(lines[at])
        following = lines[at + 1] if at + 1 < len(lines) else ""
        if line.strip() and following.strip() and not following.startswith(QUOTE):
            if _LIST_ITEM.match(lines[at]) and not _LIST_ITEM.match(following):
                line += "\n"  # a blank line: the line after a list is not its item's text
            elif not _LIST_ITEM.match(following):
                line += "\\"  # a hard break (a list item starts a line of its own)
        out.append(line)
        at += 1
    return "\n".join(out)


#: The most an annotation's message holds on GitHub (the runner's _maxIssueMessageLength,
#: in UTF-16 code units, counted once its escapes are read): the rest is cut off.
ANNOTATION_LIMIT = 4096
#: Where ``annotation_message`` cut a message, after it, before the tip.
ANNOTATION_CUT = (
    f"(cut at {CUT} to fit an annotation: the step's log and summary hold the whole message)"
)


def annotation_message(message: str, hint: str | None = None, limit: int = ANNOTATION_LIMIT) -> str:
    """The text of an annotation: ``message``, then ``tip: hint``, within ``limit`` (GitHub
    keeps the first 4096 characters and drops the rest, which held the tip and the end of
    a build's output: its ``ERROR:`` line). Longer, the message is cut in its middle
    (``clip``): its first line and as many of its last lines as fit are kept, then a line
    saying so (``ANNOTATION_CUT``), then the whole tip. Redacted already: a cut secret is
    no longer found."""
    tip = f"\ntip: {hint}" if hint else ""
    if _utf16(message + tip) <= limit:
        return message + tip
    note = f"\n{ANNOTATION_CUT}"
    tip = clip(tip, limit // 2)  # never so long: the tip's end is cut then
    room = limit - len(note) - len(tip)
    while True:  # fewer characters while some count twice in UTF-16 (an emoji)
        head = min(len(message.split("\n", 1)[0]), room // 2)
        text = clip(message, room, end=_last_lines(message, room - head - len(CUT))) + note + tip
        over = _utf16(text) - limit
        if over <= 0:
            return text
        room -= over


def _last_lines(text: str, room: int) -> int:
    """How many characters of ``text``'s end make its last lines that fit in ``room``
    (from a line's start, the line break before it kept); ``room`` when its last line alone
    is longer."""
    start = len(text)
    while (found := text.rfind("\n", 0, start)) >= 0 and len(text) - found <= room:
        start = found
    return len(text) - start if start < len(text) else room


def _utf16(text: str) -> int:
    """``text``'s length as GitHub's runner counts it (UTF-16 code units)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _url_passwords(url: str) -> list[str]:
    """The password of a URL's ``user:password@`` (up to its last ``@``), and what a URL
    parser takes for it, or for a port, when the password holds an unencoded ``#``, ``/``
    or ``?``: those end the authority for urllib3, urllib and Go's net/url, which then
    show the part before as ``user:part`` (``'bob:Slash' is not a valid host or port``).
    Nothing without a password of ``_MIN_ENV_SECRET`` characters or more; a part shorter
    than ``MIN_SECRET`` is not redacted (as a credential that short is not)."""
    rest = url.partition("://")[2] if "://" in url else url  # ``user:pw@proxy:3128`` too
    userinfo, at, _ = rest.rpartition("@")
    password = userinfo.partition(":")[2] if at else ""
    if len(password) < _MIN_ENV_SECRET:
        return []
    # a parser that ends the authority at one of those (or at an earlier ``@``) takes the
    # part before it
    cuts = [cut for cut, char in enumerate(password) if char in "#/?@" and cut >= MIN_SECRET]
    return [password, *(password[:cut] for cut in cuts)]


#: How a message ends a value it cuts short: ``value[:77] + "..."`` (a refused reference),
#: or an ellipsis (``clip``'s: a registry's error, a diff line ``render --check`` shows, a
#: registry host's label), which a JSON document writes ``\u2026``.
_CUTS = ("...", CUT, "\\u2026")


def redacted(text: str, secrets: Iterable[str]) -> str:
    """``text`` without ``secrets`` (each in every form ``secret_forms`` gives), nor the
    start of one cut short before ``...`` or ``…`` (``clip``): what ``Output.redact`` does
    with the secrets it was given, for a caller that holds secrets of its own (a registry
    transport used without an Output)."""
    forms = {
        form for secret in secrets if len(secret) >= MIN_SECRET for form in secret_forms(secret)
    }
    patterns = tuple(sorted(forms, key=len, reverse=True))
    return _redacted(text, patterns, _starts_of(patterns)) if patterns else text


def _starts_of(patterns: Sequence[str]) -> re.Pattern[str]:
    """The regex of the first characters of each of ``patterns`` (a few characters each,
    however long the tokens)."""
    starts = sorted({p[:MIN_SECRET_FORM] for p in patterns}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, starts)))


def _redacted(text: str, patterns: Sequence[str], starts: re.Pattern[str]) -> str:
    """``text`` without ``patterns`` (longest first), nor the start of one before a cut;
    nor either as a server may write it escaped (``_without_escaped_secrets``)."""
    if starts.search(text):
        for pattern in patterns:
            if pattern in text:
                text = text.replace(pattern, _REDACTED)
        if any(cut in text for cut in _CUTS):
            text = _without_cut_secrets(text, patterns, starts)
    if _ESCAPE_MARK.search(text):
        text = _without_escaped_secrets(text, patterns, starts)
    return text


def _without_cut_secrets(text: str, patterns: Sequence[str], starts: re.Pattern[str]) -> str:
    """``text`` without the start of a secret (any of its ``patterns``) that a message cut
    short before ``...`` or ``…`` (``_cut_spans``)."""
    kept: list[str] = []
    done = 0  # text[:done] is in kept
    for at, end in _cut_spans(text, patterns, starts):
        kept += [text[done:at], _REDACTED]
        done = end
    return "".join(kept) + text[done:] if kept else text


def _cut_spans(
    text: str, patterns: Sequence[str], starts: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """Where ``text`` holds the start of a secret (any of its ``patterns``) that a message
    cut short before ``...`` or ``…``: the whole secret is not there to be found. At least
    ``MIN_SECRET_FORM`` characters of it count (a shorter start, such as two characters
    of a three-character secret, is found in other words, and its gap would show it).

    Only where ``starts`` (the first characters of a pattern) finds one is a cut looked
    for, the longest start followed by a cut: the whole secrets are replaced already, so
    that is seldom, and a long text with many ``...`` (a build's log) holding one costs a
    pass, not a look at every length of every pattern before every ``...``."""
    done = 0
    found = starts.search(text)
    while found is not None:
        at = found.start()
        longest = 0
        for pattern in patterns:
            if len(pattern) <= MIN_SECRET_FORM or not text.startswith(
                pattern[:MIN_SECRET_FORM], at
            ):
                continue
            same = MIN_SECRET_FORM  # how far text goes on as the pattern does, short of it whole
            limit = min(len(pattern) - 1, len(text) - at)
            while same < limit and text[at + same] == pattern[same]:
                same += 1
            for size in range(same, max(longest, MIN_SECRET_FORM - 1), -1):
                if text.startswith(_CUTS, at + size):
                    longest = size
                    break
        if longest:
            yield at, at + longest
            done = at + longest
        found = starts.search(text, done if longest else at + 1)


#: A character a server may write a secret's character escaped with: ``&`` (an HTML
#: character reference), ``%`` (percent-encoding), a backslash (a JSON or ``repr`` escape).
_ESCAPE_MARK = re.compile(r"&[#0-9A-Za-z]|%[0-9A-Fa-f]|\\")

#: An escape as ``_unescaped`` reads it: an HTML character reference, named, decimal or
#: hex (``&amp;`` ``&#39;`` ``&#x27;``, a legacy one without its ``;``); a run of
#: percent-encoded bytes (``%2B``, ``%C3%A4``); a JSON ``\u`` escape (a surrogate pair
#: whole) or backslash escape (``\"``, ``\'`` as ``repr`` writes it); or the start of one,
#: which counts for nothing when a cut follows it.
_ESCAPE = re.compile(
    r"&#?[0-9A-Za-z]*;?"
    r"|(?:%[0-9A-Fa-f]{2})+|%[0-9A-Fa-f]?"
    r"|\\u[dD][89abAB][0-9A-Fa-f]{2}\\u[dD][c-fC-F][0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}"
    r"|\\[\"\\/'bfnrt]|\\u?[0-9A-Fa-f]{0,3}"
)


def _unescape(escape: str, before_cut: bool) -> str | None:
    """The characters ``escape`` (a match of ``_ESCAPE``) stands for; "" for the start of
    one a cut follows; None when it stands for no other (text as it is)."""
    if escape.startswith("&"):
        text = html.unescape(escape)
        if text != escape:
            return text
    elif escape.startswith("%") and len(escape) >= 3:
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        # a character the cut split leaves its bytes out, as the start of a reference
        return decoder.decode(bytes.fromhex(escape.replace("%", "")), final=not before_cut)
    elif escape == "\\'":
        return "'"
    elif escape.startswith("\\"):
        with contextlib.suppress(ValueError):
            return str(json.loads(f'"{escape}"'))
    return "" if before_cut else None


#: How many levels of escapes ``_escaped_spans`` reads a text through: a secret escaped
#: twice (an HTML page quoting an escaped one, ``&amp;#39;``; a query percent-encoded
#: again, ``%2527``) or a few times over; bounded, so a text cannot make it loop.
_ESCAPE_LEVELS = 4


def _without_escaped_secrets(text: str, patterns: Sequence[str], starts: re.Pattern[str]) -> str:
    """``text`` without a secret (any of its ``patterns``, or its start before a cut) that a
    server wrote with escapes (``_escaped_spans``): what is redacted is the text that holds
    it, escapes and all (the start of an escape a cut split too)."""
    kept: list[str] = []
    done = 0
    for start, stop in _escaped_spans(text, patterns, starts, _ESCAPE_LEVELS):
        if start >= done:
            kept += [text[done:start], _REDACTED]
        done = max(done, stop)  # one that overlaps the last is redacted with it
    return "".join(kept) + text[done:] if kept else text


def _escaped_spans(
    text: str, patterns: Sequence[str], starts: re.Pattern[str], levels: int
) -> list[tuple[int, int]]:
    """Where ``text`` holds a secret (any of its ``patterns``, or its start before a cut)
    that a server wrote with escapes, even a few of its characters alone and mixed: HTML
    character references (an error page's ``Canary&#39;Pw``, ``&#x27;``, ``&amp;``),
    percent-encoding (``Pw%2B7f``) or JSON's ``\\u0027``; escaped again, up to ``levels``
    levels (``&amp;#39;``, ``%2527``). The secret is looked for in the text with each
    escape read as the characters it stands for, and in that text read so again; sorted."""
    # pieces of the text: (its start in text, its end, where it starts in the unescaped
    # text, escaped: it stands for what it says as a whole); a cut escape is no piece
    pieces: list[tuple[int, int, int, bool]] = []
    parts: list[str] = []
    size = done = 0
    again = False  # an escape stood for the start of another: read the text once more
    for escape in _ESCAPE.finditer(text):
        said = _unescape(escape.group(), text.startswith(_CUTS, escape.end()))
        if said is None:
            continue
        if escape.start() > done:
            pieces.append((done, escape.start(), size, False))
            parts.append(text[done : escape.start()])
            size += escape.start() - done
        if said:
            pieces.append((escape.start(), escape.end(), size, True))
            parts.append(said)
            size += len(said)
            again = again or any(mark in said for mark in "&%\\")
        done = escape.end()
    if not pieces:
        return []
    pieces.append((done, len(text), size, False))
    parts.append(text[done:])
    unescaped = "".join(parts)
    found: list[tuple[int, int]] = []
    if starts.search(unescaped):
        found += [
            (at, at + len(pattern))
            for pattern in patterns
            for at in _occurrences(unescaped, pattern)
        ]
        if any(cut in unescaped for cut in _CUTS):
            found += _cut_spans(unescaped, patterns, starts)
    if again and levels > 1 and _ESCAPE_MARK.search(unescaped):  # escaped twice or more
        found += _escaped_spans(unescaped, patterns, starts, levels - 1)
    if not found:
        return []
    heads = [piece[2] for piece in pieces]

    def place(at: int, end: bool) -> int:
        """Where the unescaped text's ``at`` is in ``text`` (the escape's start or end)."""
        start, stop, head, escaped = pieces[bisect.bisect_right(heads, at) - 1]
        if escaped:
            return stop if end else start
        return start + at - head + end

    spans = []
    for first, last in sorted(found):
        start, stop = place(first, False), place(last - 1, True)
        while (
            stop < len(text)
            and (cut := _ESCAPE.match(text, stop))
            and (_unescape(cut.group(), text.startswith(_CUTS, cut.end())) == "")
        ):
            stop = cut.end()  # the start of an escape a cut split: part of the secret
        spans.append((start, stop))
    return sorted(spans)


def _occurrences(text: str, pattern: str) -> Iterator[int]:
    """Where ``pattern`` starts in ``text``, each occurrence."""
    at = text.find(pattern)
    while at >= 0:
        yield at
        at = text.find(pattern, at + len(pattern))


def stream_error(exc: OSError, name: str) -> FileAccessError:
    """Writing to ``name`` (stdout) failed otherwise than by its reader going away
    (``/dev/full``, a full disk under a redirection, an I/O error): exit 18, naming it."""
    return FileAccessError(
        f"cannot write to {name}: {exc.strerror or exc}",
        hint=f"publisher writes its output there: redirect {name} to a file on a file "
        f"system with room (or to /dev/null to discard it), then rerun",
    )


def silence(stream: IO[str]) -> None:
    """Point ``stream``'s file descriptor at /dev/null: what is still buffered, and the
    interpreter's flush at exit, then go nowhere instead of failing with EPIPE again."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _stop_commands(stream: IO[str]) -> None:
    """The process's own stdout or stderr is gone: as SIGPIPE would end a shell tool, the
    commands the run waits for are stopped (then the run unwinds, cleaning up)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    runner = sys.modules.get("publisher.adapters.runner")  # not imported: nothing runs
    if fd in (1, 2) and runner is not None:
        runner.stop_children()


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
