"""Every error publisher raises on purpose, each with its exit code.

Library code raises these; only the CLI turns them into an exit status. A message
says what failed; ``hint`` says what to do about it (which variable to set, which
command to run). Keep both to one or two lines each.

Exit codes (documented in the README, stable across releases):

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     unexpected internal error (a bug: please report it)
2     bad command-line input: usage, image reference, release tag
3     configuration error in matrix.yaml (or an override); render --check: a committed
      Dockerfile changed or missing; build, release, republish: a committed Dockerfile
      of a line to build missing or larger than 1 MiB
4     registry authentication failed or access denied
5     not found on the registry (repository, tag or digest)
6     rate limited by the registry
7     registry unreachable (DNS, connection, TLS, timeout)
8     invalid registry response (bad JSON, wrong digest, oversize)
9     registry refused the request (other 4xx)
10    a required tool is missing (buildah, docker, skopeo, ...) or there but broken
11    a build or another external command failed
12    verification failed (platforms, sizes, digests, tags)
13    smoke test of a built image failed
14    release conflict: a pin tag already points at other content
15    GitHub API error
16    resolve: build the image locally (not an error)
17    resolve: cannot proceed (no usable image, fallback disabled)
18    an output cannot be written or an input file cannot be read; a limit of the machine
      met (open files, threads and processes)
129   interrupted by SIGHUP (128 + signal number, as a shell reports it)
130   interrupted by SIGINT (Ctrl-C)
141   stdout or stderr was closed by its reader (``| head``): stopped quietly
143   interrupted by SIGTERM
====  ==========================================================

``Interrupted`` and ``OutputClosed`` are not failures of a step: they derive
from ``BaseException`` (as ``KeyboardInterrupt`` does), so that no ``except
Exception`` on the way takes them for one, while every ``finally`` still runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shlex
import shutil
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

# The one copy of how a byte that is not UTF-8 is shown (\xff) is resolve's: its errors
# (both entry points) and every other message write such bytes the same way.
from ..resolve import Problem, fs_text, message_text, printable
from .sizes import human_size


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP) stops the run; exit status 128 + its number."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = signum
        self.name = name
        self.exit_code = 128 + signum


class OutputClosed(BaseException):
    """The reader of stdout or stderr has gone (EPIPE): stop quietly, exit status 141."""

    exit_code = 141


class PublisherError(Problem):
    """Base class: a failure we expected and can explain (its message and hint are
    resolve's :class:`~publisher.resolve.Problem`, shared by both entry points)."""

    exit_code = 1
    label = "error"

    def to_dict(self) -> dict[str, object]:
        """The error in a JSON report (``inspect --json``; ``{"ok": false, "error": ...}``
        from any ``--json`` command that fails before printing its result)."""
        return {  # a path's bytes that are not UTF-8 as \\xff: strict JSON readers take it
            "kind": self.label,
            "exit_code": self.exit_code,
            "message": message_text(self.message),
            "hint": None if self.hint is None else message_text(self.hint),
        }


class UsageError(PublisherError):
    """Bad command-line input that click itself did not catch."""

    exit_code = 2
    label = "usage error"


class InvalidReferenceError(UsageError):
    """An image reference that does not follow the distribution grammar."""

    label = "invalid reference"


class InvalidVersionError(UsageError):
    """A release tag that is not ``v`` + semantic version."""

    label = "invalid release tag"


def shown_field(path: str) -> str:
    """A field path as a message shows it: a key is the file's text, so each character a
    terminal would not show as itself (U+FEFF, U+202E, an escape sequence's ESC) is
    written as Python's repr writes it (``\\ufeff``), where it would be unseen or act;
    a byte that is not UTF-8 as ``\\xff`` (``printable``)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in printable(path))


#: How a message ends a value it cuts short (``clip``); the redaction takes what comes
#: before it for a secret's start, which it removes as it does a whole secret.
CUT = "…"


def clip(text: str, limit: int, *, end: int = 0) -> str:
    """``text`` (a registry's answer, a tool's words) cut to at most ``limit`` characters,
    its end then ``…``, the one way a message cuts a value another wrote short; with
    ``end``, its last ``end`` characters kept after the ``…`` (the cut in the middle, where
    the end is what matters: a build's last lines). Redact it first where that can be
    done: a secret cut in two is no longer one, and the redaction finds its start only
    before this mark."""
    if len(text) <= limit:
        return text
    end = max(0, min(end, limit - len(CUT)))
    return text[: limit - len(CUT) - end] + CUT + (text[len(text) - end :] if end else "")


#: How a message quotes what a program printed (``quoted``): each line indented by these
#: four spaces, under the line naming the program. The step summary shows such lines as
#: the program wrote them, in a code block (``output.failure_markdown``); no other text
#: of a message is indented so far.
QUOTE = "    "


def quoted(text: str) -> str:
    """``text``, a program's output, as a message quotes it: each line after ``QUOTE``."""
    return "\n".join(f"{QUOTE}{line}" for line in text.splitlines())


def shown_path(path: str | bytes | os.PathLike[str]) -> str:
    """A path as a message writes it (``shown_field``'s rule): each control character (C0
    such as a line break, DEL, C1) and each other character a terminal would not show as
    itself (ESC, U+202E) written as Python's repr writes it (``\\n``, ``\\x1b``), so a
    file's name can neither forge a line of output nor drive the terminal; a byte that is
    not UTF-8 as ``\\xff``; the rest (a space, an accented letter) as it is, as the path's
    bytes say in every locale (``fs_text``)."""
    return shown_field(fs_text(os.fsdecode(path)))


def json_path(path: str | bytes | os.PathLike[str]) -> str:
    """A path as a JSON document names it: as its bytes say in every locale (``fs_text``:
    "ü dir" under LC_ALL=C or ISO-8859-1 too), a byte that is not UTF-8 as ``\\xff``."""
    return printable(fs_text(os.fsdecode(path)))


class ConfigError(PublisherError):
    """matrix.yaml (or an environment override) is wrong.

    ``source``/``line``/``column`` locate the problem (1-based); ``field`` is the
    dotted path of the offending value, e.g. ``lines[2].php``. ``named_by``: the variable
    that named ``source`` (``PUBLISHER_CONFIG names /x.yaml: ...``), where it is to act.
    """

    exit_code = 3
    label = "configuration error"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        named_by: str | None = None,
    ) -> None:
        self.problem = message
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        where = ""
        if source:
            where = shown_path(source)
            if named_by:
                where = f"{named_by} names {where}"
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        what = f"{shown_field(field)}: " if field else ""
        super().__init__(
            f"{where}{what}{message}",
            hint=hint or _config_hint(source, None if field is None else shown_field(field)),
        )

    def to_dict(self) -> dict[str, object]:
        source = None if self.source is None else json_path(self.source)
        location = {"source": source, "line": self.line, "column": self.column}
        field = None if self.field is None else printable(self.field)  # a key of the file
        return {**super().to_dict(), **location, "field": field}


class NewerSchemaError(ConfigError):
    """A file a newer publisher wrote: its schema number is above the one this publisher
    reads (``core/schema.py``). It is left as it is, and nothing is built or pushed.
    ``schema``: the file's schema number."""

    schema: object = None


def newer_schema_error(
    what: str, schema: object, reads: int, *, source: str, field: str
) -> NewerSchemaError:
    """The refusal of the ``what`` at ``source``, of schema ``schema`` (above ``reads``)."""
    error = NewerSchemaError(
        f"this {what} has schema {schema}, written by a newer publisher; this publisher "
        f"reads schema {reads} and leaves the file as it is",
        source=source,
        field=field,
        hint="run the publisher version that wrote it, or a later one (a job re-run from "
        "an older commit runs that commit's publisher: run it from the current one instead)",
    )
    error.schema = schema
    return error


def _config_hint(source: str | None, field: str | None) -> str | None:
    """What to do about a configuration error raised without a hint of its own: every
    error is said with a tip, and the place it names is where to act."""
    if source == "environment" and field:
        return f"set {field} to a valid value, or unset it (an empty value counts as unset)"
    if source and field:
        return f"correct {field} in {source}, then rerun (the README's matrix.yaml section describes every key)"
    return None


class StaleDockerfilesError(PublisherError):
    """``render --check``: a committed Dockerfile is not what matrix.yaml and the template
    render (changed, or missing).

    Exit 3, the code CI has always seen for a failed check, although nothing need be
    wrong with matrix.yaml: the message names the Dockerfiles, never the matrix.
    """

    exit_code = 3
    label = "render check failed"


class MissingDockerfileError(StaleDockerfilesError):
    """A command that builds (``build``, ``release``, ``republish``, their dry runs and
    rehearsals) found no committed Dockerfile for a line it would build: refused before
    any base is resolved, anything built or pushed. Exit 3, as ``render --check``
    refuses the same."""

    label = "missing Dockerfile"


class OversizedDockerfileError(StaleDockerfilesError):
    """A command that builds found a committed Dockerfile larger than 1 MiB (not one
    ``render`` wrote; ``render --check`` calls it changed) for a line it would build:
    refused before any base is resolved, anything built or pushed. Exit 3, as
    ``render --check`` refuses the same."""

    label = "Dockerfile too large"


class RegistryError(PublisherError):
    """A registry request failed in a way no retry fixes."""

    exit_code = 9
    label = "registry error"

    def __init__(
        self,
        message: str,
        *,
        registry: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.registry = registry
        self.status = status


class TagsNotListedError(RegistryError):
    """The registry answers for the repository's tags with 404 (not saying the repository
    is unknown), 405 or 501: a mirror or proxy that serves tags but does not list them.
    The tags a command needs are then asked one by one (``stages.parallel.listed_tags``);
    none is said to be missing on the list's word."""

    label = "tag list not served"


def refused_as_immutable(exc: BaseException) -> bool:
    """Whether a registry refused a tag write saying the tag is immutable (a 400
    TAG_INVALID "tag is immutable", Harbor's 403 "configured as immutable", a 409): a
    rerun gets the same refusal until the registry's setting changes."""
    if isinstance(exc, DeniedError) and exc.policy is not None:
        return exc.policy == "immutable"
    return (
        isinstance(exc, RegistryError)
        and exc.status in (400, 403, 409)
        and "immutable" in exc.message.lower()
    )


#: What to do about a registry that refuses to move a floating tag (``refused_as_immutable``).
IMMUTABLE_TIP = (
    "the registry refuses to overwrite the tag, saying it is immutable: the floating tags "
    "(`php-X.Y`, `latest`) move with every release, so they must be overwritable there: "
    "turn off tag immutability for them on that registry (a republish rewrites the vX.Y.Z "
    "pins too), then rerun"
)


class AuthError(RegistryError):
    exit_code = 4
    label = "authentication failed"


class DeniedError(AuthError):
    """A 403 that is no refusal of the credentials: the registry took them (a token was
    granted, or requests with them were answered) or named a rule of its own as the reason
    (``policy``: "quota", "immutable" or "rule"; None when it named none)."""

    label = "access denied"
    policy: str | None = None


class NotFoundError(RegistryError):
    exit_code = 5
    label = "not found"
    #: What the registry lacks, when it said which: "repository", "tag" (the repository
    #: was listed: it exists and the client may read it) or "digest"; None when unknown.
    missing: str | None = None


class RateLimitedError(RegistryError):
    exit_code = 6
    label = "rate limited"


class UnreachableError(RegistryError):
    exit_code = 7
    label = "registry unreachable"


#: A registry that did not answer a read: unreachable, or rate-limited past the retries.
#: verify and audit leave it out, name it with what it said, and check the others.
Unanswered = UnreachableError | RateLimitedError
UNANSWERED: Final = (UnreachableError, RateLimitedError)


class InvalidResponseError(RegistryError):
    exit_code = 8
    label = "invalid registry response"


class DamagedBlobError(InvalidResponseError):
    """A blob whose HEAD gives another size (Content-Length) than its descriptor: the
    registry holds a damaged copy of it (cut short on its disk), or serves other content
    under its digest (a proxy altering the header)."""

    def __init__(
        self,
        message: str,
        *,
        served: int,
        expected: int,
        registry: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, registry=registry, hint=hint)
        self.served = served
        self.expected = expected


class ToolMissingError(PublisherError):
    exit_code = 10
    label = "missing tool"


class BrokenToolError(ToolMissingError):
    """A required tool is there but does not work (it fails, hangs or says no version
    when asked, cannot be executed by this user or reach its daemon, or exits as it
    starts): exit 10 as a missing one, labelled for what happened."""

    label = "broken tool"


class MissingDependencyError(ToolMissingError):
    """A Python package publisher needs is not installed (``pip install --no-deps``)."""

    label = "missing dependency"


def missing_dependency_error(exc: BaseException) -> MissingDependencyError | None:
    """The error for a ModuleNotFoundError of a module publisher's package or one of its
    dependencies needs, naming what to install (resolve's ``missing_dependency``); None for
    any other exception."""
    from ..resolve import missing_dependency

    if not isinstance(exc, ModuleNotFoundError):
        return None
    what, how = missing_dependency(exc)
    return MissingDependencyError(f"publisher needs {what}, which is not installed", hint=how)


class StoppedError(PublisherError):
    """Work on another thread that stopped because the run is being interrupted (the
    main thread exits with the signal's code)."""

    exit_code = 130
    label = "interrupted"


class CommandError(PublisherError):
    """An external command (a build, a push, a container run) failed; ``returncode`` is
    its exit status when it ran to an end (negative: minus the signal that killed it)."""

    exit_code = 11
    label = "command failed"

    def __init__(
        self,
        message: str,
        *,
        output: str = "",
        hint: str | None = None,
        returncode: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.output = output
        self.returncode = returncode


class VerificationError(PublisherError):
    """One or more verification rules failed; ``defects`` lists every one."""

    exit_code = 12
    label = "verification failed"

    def __init__(
        self, defects: list[str], *, hint: str | None = None, count: int | None = None
    ) -> None:
        self.defects = list(defects)
        # ``count``: how many defects there are when ``defects`` says some together (audit's
        # releases without a record, ``audit_rules.in_words``)
        count = len(self.defects) if count is None else count
        lines = "\n".join(f"  - {d}" for d in self.defects)
        super().__init__(f"{count} defect{'s' if count != 1 else ''} found:\n{lines}", hint=hint)


class NewerRecordsError(VerificationError):
    """``audit`` met release records a newer publisher wrote (``NewerSchemaError``): it
    audited every other record and lists what it found beside them. Exit 3, the code of a
    newer publisher's file whichever command meets it: upgrade publisher to audit them."""

    exit_code = 3
    label = "audit incomplete"


class PartialVerificationError(VerificationError):
    """A check could not reach some registry, and found nothing wrong on the others.

    Exit 7 (as any unreachable registry): nothing can be concluded about the one
    that did not answer, and rerunning when it answers is what to do. Defects found
    on a registry that answered make it a ``VerificationError`` (exit 12) instead.
    """

    exit_code = 7
    label = "registry unreachable"


class RateLimitedVerificationError(VerificationError):
    """A check whose reads a registry rate-limited, and that found nothing wrong on the
    registries that answered: exit 6 (as any rate limit), since nothing can be concluded
    about the registry that limited it until its limit resets."""

    exit_code = 6
    label = "rate limited"


def unanswered_error(
    defects: list[str], *, rate_limited: bool, hint: str | None
) -> VerificationError:
    """The failure of a check that found nothing wrong but registries that did not
    answer: exit 6 when one of them rate-limited the reads, else 7."""
    kind = RateLimitedVerificationError if rate_limited else PartialVerificationError
    return kind(defects, hint=hint)


class SmokeTestError(PublisherError):
    """``advice`` is what to check first, a piece each; ``hint`` what to do then, with
    ``tries``, the commands that run the failing image by hand, after it ("try it
    yourself: COMMAND"). The error of several failures (``of_all``) says each distinct
    piece once, and each ``hint`` once with the commands of every image it is for."""

    exit_code = 13
    label = "smoke test failed"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        advice: Sequence[str] = (),
        tries: Sequence[str] = (),
    ) -> None:
        self.advice = tuple(advice)
        self.then: dict[str, tuple[str, ...]] = {hint: tuple(tries)} if hint else {}
        super().__init__(message, hint=self._said())

    def _said(self) -> str | None:
        said = list(self.advice)
        for then, tries in self.then.items():
            if len(tries) > 1:
                then += ": " + ", ".join(f"`{t}`" for t in tries)
            elif tries:
                then += f": {tries[0]}"
            said.append(then)
        return "; ".join(said) or None

    @classmethod
    def of_all(cls, message: str, failures: Sequence[SmokeTestError]) -> SmokeTestError:
        """One error for ``failures``: every distinct piece of their advice, then every
        distinct ``hint`` with the commands to try of each failure that gave it, each
        once, in the order the failures give them."""
        error = cls(message, advice=list(dict.fromkeys(a for f in failures for a in f.advice)))
        for failure in failures:
            for then, tries in failure.then.items():
                error.then[then] = tuple(dict.fromkeys(error.then.get(then, ()) + tries))
        error.hint = error._said()
        return error


#: How many conflicting pins a release conflict's message lists before saying how many
#: more there are (its JSON error lists every one).
CONFLICTS_LISTED: Final = 12


def bulleted(items: Sequence[str], *, limit: int | None = None) -> str:
    """``items`` as the list after a message's colon, one ``\n  - `` line each; past
    ``limit`` items, the first ``limit`` and a last line saying how many more there are."""
    shown = list(items if limit is None else items[:limit])
    more = len(items) - len(shown)
    return "".join(f"\n  - {line}" for line in [*shown, *([f"and {more} more"] if more else [])])


class ReleaseConflictError(PublisherError):
    """A pin holds other content than the run would give it. ``conflicts``: every such
    pin, listed after ``message`` (its colon included), the first ``CONFLICTS_LISTED`` in
    the message shown and every one in the JSON error."""

    exit_code = 14
    label = "release conflict"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        conflicts: Sequence[str] = (),
        off_record: Sequence[str] = (),
    ) -> None:
        self.conflicts = tuple(conflicts)
        #: the pins of a recorded release that point elsewhere than its record names
        self.off_record = tuple(off_record)
        self.head = message
        super().__init__(self._listing(CONFLICTS_LISTED), hint=hint)

    def _listing(self, limit: int | None) -> str:
        """The message with the first ``limit`` conflicts listed after it (None: all)."""
        return self.head + bulleted(self.conflicts, limit=limit)

    def to_dict(self) -> dict[str, object]:
        document = super().to_dict()
        if self.message == self._listing(CONFLICTS_LISTED):
            document["message"] = message_text(self._listing(None))
        return document


class GitHubError(PublisherError):
    exit_code = 15
    label = "GitHub API error"


class FileAccessError(PublisherError):
    """A file or directory publisher must write (or read) is not usable.

    Raised before any build or push for the outputs a run will need (digest
    records, release notes), and for any ``OSError`` met on the way.
    """

    exit_code = 18
    label = "file error"


class ResourceLimitError(FileAccessError, CommandError):
    """Publisher, or a command it runs, met a limit of the machine: on open files (EMFILE,
    ENFILE: ``out_of_files``) or on threads and processes (``out_of_tasks``: a pids
    cgroup, ``ulimit -u``, ``ulimit -v``). Exit 18, with a tip naming the limit to raise
    and the options of the running command that lower how much runs at once; never said
    as a bug, nor as the tool's or a registry's failure. A CommandError too (as
    ``FullFileSystemError``): a cleanup that cannot start still does not raise."""

    label = "resource limit"


class FullFileSystemError(FileAccessError, CommandError):
    """A command, or publisher itself, ran out of room on a file system (ENOSPC, "no space
    left on device"): exit 18, as any other output that cannot be written. A CommandError
    too, so that whatever handles a failed command handles this one."""


#: The words of ENOSPC (``strerror``; Go's tools write them in lower case).
NO_SPACE: Final = "no space left on device"


def free_space(where: str | os.PathLike[str]) -> str:
    """``1.1 MB free``, or ``its free space unknown`` when ``where`` cannot be asked."""
    try:
        return f"{human_size(shutil.disk_usage(where).free)} free"
    except OSError:
        return "its free space unknown"


def full_file_system(where: str | os.PathLike[str] | None) -> str:
    """Why a write to ``where`` (a file or directory; None: not known) met ENOSPC or EDQUOT,
    as a tip begins: the file system has no free inodes (``statvfs``'s ``f_favail`` 0 of
    a file system that counts them), which freeing space does not cure, or it (or the
    user's quota) is full. The one wording of a full file system a tip gives."""
    if where is not None and _no_free_inodes(where):
        return (
            "the file system has no free inodes left (no more files can be made there, "
            "however much space it has free, `df -i` shows it): remove files there"
        )
    return "the file system (or the user's quota) is full: free space there"


def _no_free_inodes(where: str | os.PathLike[str]) -> bool:
    """The file system of ``where`` (or of the nearest directory above it that exists)
    counts inodes and has none left for this user; False when it cannot be asked."""
    path = os.path.abspath(where)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        info = os.statvfs(path)
    except OSError:
        return False
    return info.f_files > 0 and info.f_favail == 0


def out_of_room(
    who: str,
    where: str | os.PathLike[str],
    why: str,
    cause: str,
    *,
    needs: str,
    output: str = "",
) -> FullFileSystemError:
    """``who`` ran out of room in ``where``, the directory TMPDIR names (``why``: what is
    kept there), with the tool's or the system's own words (``cause``); the tip points
    TMPDIR at more room (``needs``: how much is needed there), then reruns the command.
    The one wording of a full TMPDIR: a stand-in base, a throwaway registry, a build."""
    return FullFileSystemError(
        f"{who} ran out of room in {shown_path(where)} ({free_space(where)}), where {why}: {cause}",
        output=output,
        hint=f"point TMPDIR at a directory with more room ({needs}), or free space there; "
        "then rerun",
    )


#: What a rehearsal that failed or was interrupted leaves, and what its rerun does.
REHEARSAL_RERUN: Final = (
    "a rehearsal publishes nothing: its throwaway registries are stopped, with all that "
    "was pushed to them. A rerun of the same command rehearses again on new ones"
)


#: What to do when the current directory was removed after the shell entered it.
CWD_GONE_HINT = (
    "cd to the checkout again (a shell stays in a directory that was removed, or replaced "
    "by a new checkout, until it changes directory), then rerun"
)


def cwd_gone() -> bool:
    """Whether the current directory no longer exists (removed after the shell entered
    it): every relative path, and the resolving of one, then fails with ENOENT."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False


#: A path the system cannot follow to its end (ELOOP), in the words every path is said with.
SYMLINK_LOOP = (
    "a symbolic link loop (a link that leads back to itself, or a link in its path that does)"
)
SYMLINK_LOOP_HINT = (
    "point the link at what it stands for (`ls -l` shows where each link leads), "
    "or pass another path"
)


#: The options that set how much a command runs at once, with what each sets: a limit's
#: tip names those the running command takes (``command_takes``), and no other.
AT_ONCE: Final = {"--transfers": "blob copies", "--jobs": "builds and smoke tests"}
_TAKEN: list[str] = []


def command_takes(options: Sequence[str]) -> None:
    """The command now running takes ``options`` (the CLI says so as it starts): a tip
    for a limit met names those of ``AT_ONCE`` among them, as what to lower."""
    _TAKEN[:] = [option for option in AT_ONCE if option in options]


def _lower_at_once(fewer: str) -> str:
    """``; or lower --transfers (...) or --jobs (...)`` for the options the running command
    takes (``command_takes``), ``fewer`` saying what that opens or starts less of; "" when
    it takes none (``verify``, ``audit``: what they run at once is fixed)."""
    if not _TAKEN:
        return ""
    named = " or ".join(f"{option} ({AT_ONCE[option]} at once)" for option in _TAKEN)
    return f"; or lower {named}: {fewer}"


def _pids_max() -> int | None:
    """The lowest ``pids.max`` of this process's pids cgroup and those above it (cgroups
    v1 or v2), None when none is set or none can be read."""
    found: list[int] = []
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if "pids" in controllers.split(","):
            root = "/sys/fs/cgroup/pids"
        elif controllers == "" and path:
            root = "/sys/fs/cgroup"
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):
            try:
                with open(os.path.join(root, *parts[:depth], "pids.max"), encoding="utf-8") as f:
                    value = f.read().strip()
            except (OSError, ValueError):
                continue
            if value.isdigit():
                found.append(int(value))
    return min(found) if found else None


def _task_limits() -> str:
    """The limits on threads and processes this process runs under, as far as it can
    tell: its cgroup's ``pids.max``, ``ulimit -u`` (not applied to root), ``ulimit -v``
    (each thread's stack takes some of it)."""
    said = []
    pids = _pids_max()
    if pids is not None:
        said.append(f"pids.max of its cgroup: {pids}")
    try:  # (``resource`` imported beforehand: nothing to load when the limit is met)
        processes = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        memory = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (OSError, ValueError):
        processes = memory = resource.RLIM_INFINITY
    if processes != resource.RLIM_INFINITY and os.geteuid() != 0:
        said.append(f"`ulimit -u`: {processes}")
    if memory != resource.RLIM_INFINITY:
        said.append(f"`ulimit -v`: {memory // 1024}")
    return "; ".join(said) or "which one, this process cannot see"


def out_of_tasks(what: str, cause: str, *, output: str = "") -> ResourceLimitError:
    """``what`` could not be done (``start a thread``, ``start `buildah from```): the
    machine's limit on threads and processes was reached (a container's --pids-limit, a
    CI runner's TasksMax, ``ulimit -u``), or memory for a thread's stack (``ulimit -v``).
    ``cause``: the system's or the tool's own words. The one wording of it, whether
    publisher or a tool it runs met the limit."""
    return ResourceLimitError(
        f"cannot {what}: the limit on threads and processes was reached ({_task_limits()}): "
        f"{cause}",
        output=output,
        hint="raise the limit: a container's --pids-limit (docker, podman), the TasksMax of "
        "the systemd service or CI runner, `ulimit -u` (and `ulimit -v`) in the shell that "
        "runs publisher" + _lower_at_once("fewer threads and processes at once") + "; then rerun",
    )


def out_of_threads(exc: BaseException) -> ResourceLimitError | None:
    """``exc`` as a thread that could not be started (Python's ``RuntimeError: can't start
    new thread``: ``pthread_create`` refused, EAGAIN), None for any other exception."""
    if isinstance(exc, RuntimeError) and str(exc) == "can't start new thread":
        return out_of_tasks("start a thread", "Resource temporarily unavailable")
    return None


@contextlib.contextmanager
def threads_limited() -> Iterator[None]:
    """Around work that starts threads (a pool): a thread that cannot be started is
    ``out_of_threads`` (a PublisherError: what handles a failed step handles it)."""
    try:
        yield
    except RuntimeError as exc:
        limit = out_of_threads(exc)
        if limit is None:
            raise
        raise limit from None


def out_of_files(exc: BaseException, what: str) -> ResourceLimitError | None:
    """``exc`` as the process (EMFILE) or the system (ENFILE) out of open files, met while
    doing ``what``; None when it is not. ``exc`` is an OSError, or an error that names
    one only in its text (a connection error of requests: ``OSError(24, 'Too many open
    files')``). The one wording of it, whether a file or a connection could not be opened."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENFILE or os.strerror(errno.ENFILE) in text:
        return _no_more_files(what, system=True)
    if code == errno.EMFILE or os.strerror(errno.EMFILE) in text:
        return _no_more_files(what, system=False)
    return None


def _no_more_files(what: str, *, system: bool) -> ResourceLimitError:
    fewer = _lower_at_once("fewer files and connections open at once")
    if system:
        return ResourceLimitError(
            f"cannot {what}: too many open files on this system (its limit: /proc/sys/fs/file-max)",
            hint=f"close programs that hold many files, or raise the system's limit{fewer}; "
            "then rerun",
        )
    try:  # (``resource`` imported beforehand: an import needs a file open)
        limit = f"the limit is {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}, `ulimit -n`"
    except (OSError, ValueError):
        limit = "the limit is `ulimit -n`"
    return ResourceLimitError(
        f"cannot {what}: too many open files ({limit})",
        hint=f"raise the limit (`ulimit -n 4096` in the shell that runs publisher){fewer}; "
        "then rerun",
    )


def file_error(exc: OSError, what: str) -> FileAccessError:
    """A classified error for ``exc`` met while doing ``what`` (e.g. "write the notes")."""
    named = exc.filename
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) and exc.filename2:
        named = exc.filename2  # a copy (source, destination): the full one is written to
    where = f": {shown_path(named)}" if named else ""
    reason = exc.strerror or str(exc) or "the system gave no reason"
    if exc.errno == errno.ELOOP:
        reason = f"it is {SYMLINK_LOOP}"
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return _no_more_files(f"{what}{where}", system=exc.errno == errno.ENFILE)
    gone = exc.errno == errno.ENOENT and cwd_gone()
    if gone and not exc.filename:  # resolving a relative path: the error names nothing
        return FileAccessError(
            f"cannot {what}: the current directory no longer exists (it was removed after "
            "the shell entered it)",
            hint=CWD_GONE_HINT,
        )
    if gone and not os.path.isabs(exc.filename):
        hint = f"the current directory no longer exists: {CWD_GONE_HINT}"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = f"{full_file_system(named)}, or pass another directory"
    elif exc.errno == errno.EROFS:
        hint = "the file system is mounted read-only: pass a directory on a writable one"
    elif exc.errno == errno.ELOOP:
        hint = SYMLINK_LOOP_HINT
    elif exc.errno == errno.EPERM and named and os.geteuid() == 0:
        # permissions do not stop root: an attribute does (``chattr +i``, ``+a``)
        hint = (
            f"root may not change it either, so it is likely immutable or append-only "
            f"(`lsattr -d {shlex.quote(str(named))}` shows an `i` or `a`, which `chattr -i` "
            "or `chattr -a` clears), or the file system refuses the change: clear the "
            "attribute, or pass another path"
        )
    elif exc.errno in (errno.EACCES, errno.EPERM):
        hint = "this user may not use it: check the permissions and owner of the path and "
        hint += "of the directories above it, or pass another path"
    else:
        hint = "check that the path exists, is a directory where one is expected, and is "
        hint += "writable by this user (or pass another directory)"
    return FileAccessError(f"cannot {what}{where}: {reason}", hint=hint)


def unanswered_tip(advice: Mapping[str, str | None], rerun: str) -> str:
    """The tip for registries that did not answer (registry -> its error's own hint, in
    the order given): what to check on each (its certificate after a TLS failure, the
    network after a refused connection), then ``rerun``."""
    checks = "; ".join(
        f"{name}: {tip}" if tip else f"check that {name} can be reached (network, DNS, proxy, port)"
        for name, tip in advice.items()
    )
    return f"{checks}; then run `{rerun}` again"


#: ``hint=NO_HINT`` says on purpose that an error has no advice to give: rare, and only with
#: a ``# no hint: <why>`` comment at the call (tests/unit/test_error_hints.py holds every other
#: place an error is made to giving a hint).
NO_HINT: Final[None] = None

#: Exit codes of ``publisher resolve`` that are decisions, not failures.
EXIT_USE_PREBUILT = 0
EXIT_BUILD_LOCALLY = 16
EXIT_CANNOT_PROCEED = 17
