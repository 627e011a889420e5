"""Dockerfile rendering: one Jinja2 template, one Dockerfile per PHP line.

Pure apart from reading the template and the committed files (through ``fileio``);
the rendered text never depends on the clock or the environment, so
``publisher render --check`` is stable. The check (``check``) classifies every line
whose committed Dockerfile is not what the template renders (changed, missing) and
finds the Dockerfiles of lines matrix.yaml no longer configures (leftovers); the
comparison itself (``compare``, ``diff_excerpt``, ``leftovers``) is pure.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from ..resolve import is_php_line, php_line_order
from .config import Config, Line
from .errors import (
    ConfigError,
    FileAccessError,
    MissingDockerfileError,
    OversizedDockerfileError,
    PublisherError,
    StaleDockerfilesError,
    file_error,
    json_path,
    shown_path,
)
from .fileio import MIB, path_kind, read_bytes, read_prefix, write_atomic
from .locations import Locations, shell_word

#: What the template is given (see ``render_line``); an error about an undefined name lists them.
TEMPLATE_NAMES = (
    "php",
    "base",
    "title",
    "description",
    "source_url",
    "stand_in",
    "template_name",
    "packages",
    "build_packages",
    "install",
    "configure",
    "pecl",
    "pecl_names",
)


def label_value(text: object) -> str:
    """``text`` escaped for a double-quoted Dockerfile LABEL value (the ``label`` filter).

    Inside double quotes the Dockerfile parser treats ``\\``, ``"`` and ``$`` as
    special: each is escaped with a backslash, so the label holds the text as written.
    (The matrix reader has already refused line breaks and control characters.)
    """
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def _no_other_templates(name: str) -> None:
    """The loader: the Dockerfile template is one file, so include/import/extends find nothing."""
    return None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        loader=jinja2.FunctionLoader(_no_other_templates),
    )
    env.filters["label"] = label_value
    return env


def _template_line(exc: BaseException) -> int | None:
    """The template line the failure happened on (Jinja marks its frames), if any."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_error(config: Config, exc: Exception) -> ConfigError:
    """A failure while running the template, located in the template file."""
    hint = "fix the template, then run `publisher render`"
    if isinstance(exc, jinja2.TemplateNotFound):
        problem = (
            f"the template refers to another template ({exc.name!r}): the Dockerfile "
            "template is one file, without include, import or extends"
        )
        hint = "copy what you need into the template itself"
    elif isinstance(exc, jinja2.UndefinedError):
        problem = f"template error: {exc.message}"
        hint = f"the template is given: {', '.join(TEMPLATE_NAMES)}"
    elif isinstance(exc, RecursionError):
        problem = "template error: a macro or loop calls itself without end"
    elif isinstance(exc, jinja2.TemplateError):
        problem = f"template error: {str(exc)[:300]}"
    else:  # Python under an expression: its words, never its class name (KeyError)
        if isinstance(exc, KeyError) and exc.args:
            detail = f"there is no key {exc.args[0]!r}"
        else:
            detail = str(exc) or "it gave no reason"
        problem = f"template error: an expression failed: {detail[:300]}"
    return ConfigError(problem, source=template_shown(config), line=_template_line(exc), hint=hint)


def render_line(config: Config, line: Line, template_text: str) -> str:
    """The Dockerfile text for one line.

    Any failure of the template, from a syntax error to a division by zero, is a
    ``ConfigError`` that names the template file and, when Jinja knows it, the line.
    """
    env = _environment()
    try:
        template = env.from_string(template_text)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template syntax error: {exc.message}",
            source=template_shown(config),
            line=exc.lineno,
            hint="fix the template at that line (one Jinja2 file: no include, import or "
            "extends), then run `publisher render`",
        ) from None
    configure = [(ext, list(flags)) for ext, flags in line.extensions.configure]
    try:
        text = template.render(
            php=line.php,
            base=str(line.base),
            title=config.title,
            description=config.description,
            source_url=config.source_url,
            stand_in=config.stand_in,
            template_name=config.template,
            packages=list(line.packages),
            build_packages=list(line.build_packages),
            install=list(line.extensions.install),
            configure=configure,
            pecl=list(line.extensions.pecl),
            pecl_names=[p.split("-")[0] for p in line.extensions.pecl],
        )
    except Exception as exc:  # the template is code: whatever it raises is the template's error
        raise _render_error(config, exc) from None
    _check_size(config, line, text)
    _check_base_argument(config, text)
    return text


#: The template's commands that install PHP extensions, as an image's build history
#: keeps them: ``docker-php-ext-install -j"$(nproc)" a b`` and ``docker-php-ext-enable c``.
_EXTENSION_COMMAND_RE = re.compile(
    r"docker-php-ext-(?:install(?:\s+-j\S+)?|enable)((?:[ \t]+[A-Za-z0-9_][A-Za-z0-9_-]*)+)"
)
#: What the template's extensions step runs first, whatever the matrix: it tells that step
#: from the base image's own (the official images run `docker-php-ext-enable sodium`).
_EXTENSIONS_STEP = "apk add --no-cache fcgi"


def built_extensions(image_config: object) -> tuple[str, ...] | None:
    """The extensions an image was built with, sorted as ``Extensions.names``: the
    names the ``docker-php-ext-install`` and ``docker-php-ext-enable`` commands of this
    template's extensions step gave, as the image's build history keeps it (none when
    it had none); None when the history holds no such step (an image built from another
    template, or by a builder that keeps no history)."""
    history = image_config.get("history") if isinstance(image_config, dict) else None
    steps = [
        command
        for step in (history if isinstance(history, list) else ())
        if isinstance(step, dict)
        and isinstance(command := step.get("created_by"), str)
        and _EXTENSIONS_STEP in command
    ]
    if not steps:
        return None
    names = {
        name
        for command in steps
        for match in _EXTENSION_COMMAND_RE.finditer(command)
        for name in match.group(1).split()
    }
    return tuple(sorted(names))


def _check_size(config: Config, line: Line, text: str) -> None:
    """Refuse a rendered Dockerfile larger than a command that builds takes
    (``MAX_DOCKERFILE_BYTES``): written, `render --check` would call it changed and a build
    refuse it as not one render wrote, each advising `publisher render` again."""
    size = len(text.encode("utf-8"))
    if size > MAX_DOCKERFILE_BYTES:
        raise ConfigError(
            f"the Dockerfile the template renders for PHP {line.php} is larger than "
            f"{MAX_DOCKERFILE_BYTES // MIB} MiB ({size} bytes), more than a build takes: a "
            "rendered Dockerfile is a few KiB",
            source=template_shown(config),
            hint="fix the template (a loop or an expression that repeats text), then run "
            "`publisher render`",
        )


#: ``ARG PHP_BASE_IMAGE[=default]`` and a ``FROM`` that builds on it (see ``_check_base_argument``).
_ARG_BASE_RE = re.compile(r"\s*ARG\s+PHP_BASE_IMAGE(=\S*)?\s*", re.IGNORECASE)
_FROM_BASE_RE = re.compile(
    r"\s*FROM\s+(--\S+\s+)*(\$PHP_BASE_IMAGE|\$\{PHP_BASE_IMAGE\})(\s+AS\s+\S+)?\s*",
    re.IGNORECASE,
)
#: Any ``FROM``: the ARGs declared before the first one are the only ones a FROM reads.
_FROM_RE = re.compile(r"\s*FROM\s", re.IGNORECASE)


#: A parser directive (``# escape=`` is the one read here), before any other line.
_DIRECTIVE_RE = re.compile(r"\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*")


def _instructions(text: str) -> list[str]:
    """``text``'s lines with each instruction continued over several (a line ending in the
    escape character, ``\\`` or the one ``# escape=`` sets) joined into one, as docker reads
    them: ``FROM \\`` then ``${PHP_BASE_IMAGE}`` builds on the base. A comment or empty
    line inside an instruction is skipped, as docker skips it; a comment is never continued."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:
        directive = _DIRECTIVE_RE.fullmatch(line)
        if directive is None:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("`", "\\"):
            escape = directive.group(2)
    joined: list[str] = []
    current: str | None = None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            if current is None:
                joined.append(line)
            continue
        stripped = line.rstrip()
        continued = stripped.endswith(escape)
        current = (current or "") + (stripped[: -len(escape)] if continued else line)
        if not continued:
            joined.append(current)
            current = None
    if current is not None:
        joined.append(current)
    return joined


def _check_base_argument(config: Config, text: str) -> None:
    """Refuse a Dockerfile that does not build FROM the build argument PHP_BASE_IMAGE,
    declared before the first FROM (the only ARGs a FROM reads): builders pass the base there, pinned to the digest they resolved
    (through the mirror), and the release records that digest as the image's base."""
    lines = _instructions(text)
    begin = "`ARG PHP_BASE_IMAGE={{ base }}`, then `FROM ${PHP_BASE_IMAGE}`"
    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines):
        raise ConfigError(
            "the template renders an empty Dockerfile (no instruction): there is no image to build",
            source=template_shown(config),
            hint=f"write the image's Dockerfile there as a Jinja2 template: {begin}, then the "
            "RUN steps that install the packages and extensions matrix.yaml names "
            "({{ packages }}, {{ build_packages }}, {{ install }} with {{ configure }}, "
            "{{ pecl }}); the README's Dockerfiles section lists every name it is given",
        )
    declared = next((i for i, ln in enumerate(lines) if _ARG_BASE_RE.fullmatch(ln)), None)
    used = next((i for i, ln in enumerate(lines) if _FROM_BASE_RE.fullmatch(ln)), None)
    # A FROM reads only the ARGs declared before the first FROM; one inside a stage is not seen.
    first_from = next((i for i, ln in enumerate(lines) if _FROM_RE.match(ln)), None)
    if declared is None or used is None or first_from is None or first_from < declared:
        raise ConfigError(
            "the Dockerfile the template renders does not build FROM the build argument "
            "PHP_BASE_IMAGE: builders pass the base there, pinned to the digest they resolved "
            "and that the release records",
            source=template_shown(config),
            hint=f"begin the template with {begin}, before any other FROM",
        )


#: The largest Dockerfile template read (the committed one is a few KiB).
MAX_TEMPLATE_BYTES = MIB


def read_template(config: Config) -> str:
    path = config.template_path
    try:
        raw = read_prefix(path, MAX_TEMPLATE_BYTES)
        if len(raw) > MAX_TEMPLATE_BYTES:
            raise ConfigError(
                "the Dockerfile template is larger than 1 MiB; a template is a few KiB",
                source=template_shown(config),
                hint=f"check that {os.path.normpath(path)} is the Dockerfile template (the "
                "template key in matrix.yaml names it)",
            )
        return raw.decode("utf-8")
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # no file to put there: a link to follow, said as one
            raise file_error(exc, "read the Dockerfile template") from None
        raise config.error_at(
            "template",
            f"cannot read the Dockerfile template {template_shown(config)}: {exc.strerror or exc}",
            hint=f"put the Dockerfile template at {shown_path(os.path.normpath(path))}, or set "
            "the template "
            "key in matrix.yaml to where it is",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the Dockerfile template is not UTF-8 text (byte {exc.start})",
            source=template_shown(config),
            hint="save the template as UTF-8",
        ) from None


@dataclass(frozen=True)
class Rendered:
    php: str
    path: Path
    text: str

    @property
    def current(self) -> bool:
        """Whether the file on disk holds exactly this text (a missing one does not)."""
        return compare(self, read_committed(self.path)) is None


def refuse_dockerfiles_not_a_directory(config: Config) -> None:
    """Refuse a ``dockerfiles`` key naming what is not a directory (``/dev/null``, a
    file): matrix.yaml's mistake, located at the key, not a Dockerfile below it that
    cannot be read. One that does not exist yet is fine: render makes it."""
    root = Path(config.root) / config.dockerfiles
    if os.path.lexists(root) and not root.is_dir():
        raise config.error_at(
            "dockerfiles",
            f"{shown_path(config.dockerfiles)} is {path_kind(root)}, not a directory",
            hint="set dockerfiles to the directory the Dockerfiles are committed in, e.g. "
            "dockerfiles",
        )


def render_all(config: Config) -> tuple[Rendered, ...]:
    """Render every selected line (nothing is written)."""
    refuse_dockerfiles_not_a_directory(config)
    text = read_template(config)
    return tuple(
        Rendered(line.php, config.dockerfile_path(line.php), render_line(config, line, text))
        for line in config.lines
    )


def write(rendered: Rendered) -> None:
    """Write one rendered Dockerfile atomically."""
    write_atomic(rendered.path, rendered.text)


#: The largest committed Dockerfile compared line by line (a rendered one is a few KiB).
MAX_DOCKERFILE_BYTES = MIB
#: Lines of a changed Dockerfile's diff shown, after its two header lines.
DIFF_EXCERPT_LINES = 10
#: Longest diff line shown; a longer one is cut with an ellipsis.
DIFF_LINE_WIDTH = 160

CHANGED = "changed"
MISSING = "missing"


@dataclass(frozen=True)
class Difference:
    """A line whose committed Dockerfile is not what ``render`` writes.

    ``kind`` is ``CHANGED`` (the file differs: edited by hand, or not rendered again
    after matrix.yaml or the template changed) or ``MISSING``; a changed file's
    ``excerpt`` holds the first lines of the unified diff from the committed file
    to the rendered text.
    """

    rendered: Rendered
    kind: str
    excerpt: tuple[str, ...] = ()

    @property
    def php(self) -> str:
        return self.rendered.php

    @property
    def path(self) -> Path:
        return self.rendered.path

    def describe(self) -> str:
        """``8.4 changed (/repo/dockerfiles/8.4/Dockerfile)``."""
        return f"{self.php} {self.kind} ({shown_path(self.path)})"


@dataclass(frozen=True)
class Leftover:
    """A Dockerfile in the directory of a line matrix.yaml does not configure."""

    php: str
    path: Path

    def describe(self, config: Config) -> str:
        return (
            f"{shown_path(self.path)} is for PHP {self.php}, which {shown_path(config.source)} "
            "does not configure (a dropped line's leftover): remove it with "
            f"`git rm {shell_word(str(self.path))}` (or delete "
            "it, if it was never committed)"
        )


@dataclass(frozen=True)
class Check:
    """What ``render --check`` found: the lines that are current, those that differ, and
    the leftovers (a warning, never a failure)."""

    current: tuple[Rendered, ...]
    differences: tuple[Difference, ...]
    leftovers: tuple[Leftover, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self, config: Config, *, written: bool) -> dict[str, object]:
        """The check as JSON (``render --json``): each line's Dockerfile and its state,
        ``current``, ``changed`` or ``missing``, or ``written`` when ``written`` (a plain
        ``render`` rewrote it), with the start of the diff of a changed one; then the
        leftovers. Every path is absolute, the template's too (``template_absolute``)."""
        lines: list[dict[str, object]] = [
            {"php": item.php, "path": json_path(item.path), "state": "current"}
            for item in self.current
        ]
        for difference in self.differences:
            entry: dict[str, object] = {"php": difference.php, "path": json_path(difference.path)}
            entry["state"] = "written" if written else difference.kind
            if difference.excerpt:
                entry["diff"] = list(difference.excerpt)
            lines.append(entry)
        return {
            "ok": written or self.ok,
            "template": json_path(template_absolute(config)),
            "lines": sorted(lines, key=lambda entry: php_line_order(str(entry["php"]))),
            "leftovers": [
                {"php": item.php, "path": json_path(item.path)} for item in self.leftovers
            ],
        }

    def error(self, config: Config, hint: str) -> StaleDockerfilesError:
        """The failure of the check: every difference, classified, in one message."""
        sources = f"{shown_path(config.source)} and {template_shown(config)}"
        found = ", ".join(d.describe() for d in self.differences)
        return StaleDockerfilesError(
            f"the committed Dockerfiles differ from what {sources} render: {found}",
            hint=hint,
        )


def template_shown(config: Config) -> str:
    """The template's path as the user would write it, beside matrix.yaml's path as given,
    as a message shows a path (``shown_path``)."""
    return shown_path(
        os.path.normpath(os.path.join(os.path.dirname(config.source), config.template))
    )


def dockerfile_shown(config: Config, php: str) -> str:
    """Line ``php``'s Dockerfile as the user would write it, beside matrix.yaml's path as
    given (``template_shown``'s way)."""
    return shown_path(
        os.path.normpath(os.path.join(os.path.dirname(config.source), config.line(php).dockerfile))
    )


def template_absolute(config: Config) -> str:
    """The template's absolute path, as ``render --json`` gives it beside the Dockerfiles'
    (matrix.yaml's directory joined with the template key; ``..`` folded away)."""
    return os.path.normpath(config.template_path)


def _shown(line: str) -> str:
    """One diff line for a terminal: no line break, a carriage return made visible, cut."""
    text = line.rstrip("\n").replace("\r", "\\r")
    if len(text) > DIFF_LINE_WIDTH:
        text = text[: DIFF_LINE_WIDTH - 1] + "…"
    return text


def diff_excerpt(
    committed: str, rendered: str, *, limit: int = DIFF_EXCERPT_LINES
) -> tuple[str, ...]:
    """The start of the unified diff from ``committed`` to ``rendered`` (one line of
    context): its header, at most ``limit`` lines, then how many more were left out."""
    diff = list(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            "committed",
            "rendered",
            n=1,
        )
    )
    body: list[str] = []
    for line in diff[2:]:
        body.append(_shown(line))
        if not line.endswith("\n"):
            body.append("\\ No newline at end of file")
    shown = [_shown(line) for line in diff[:2]] + body[:limit]
    if len(body) > limit:
        more = len(body) - limit
        shown.append(f"… {more} more line{'s' if more != 1 else ''} of diff")
    return tuple(shown)


def compare(rendered: Rendered, committed: bytes | None) -> Difference | None:
    """How the committed file (its bytes, at most ``MAX_DOCKERFILE_BYTES`` + 1 of them;
    ``None``: there is none) differs from the rendered text, or ``None`` if it does not."""
    if committed is None:
        return Difference(rendered, MISSING)
    expected = rendered.text.encode("utf-8")
    if committed == expected:
        return None
    if len(committed) > MAX_DOCKERFILE_BYTES:
        note = f"the committed file is larger than {MAX_DOCKERFILE_BYTES // MIB} MiB"
        return Difference(rendered, CHANGED, (note,))
    text = committed.decode("utf-8", errors="replace")
    return Difference(rendered, CHANGED, diff_excerpt(text, rendered.text))


def leftovers(config: Config, found: Iterable[tuple[str, Path]]) -> tuple[Leftover, ...]:
    """Of the Dockerfiles ``found`` (the name of the directory holding each, and its path),
    those in the directory of a PHP line matrix.yaml does not configure. A line that an
    override only left out (``PUBLISHER_LINES``) is still configured; a directory whose
    name is not a PHP line (``X.Y``) is not a line's, and is left alone."""
    configured = set(config.all_lines or config.line_names)
    chosen = [
        Leftover(name, path) for name, path in found if is_php_line(name) and name not in configured
    ]
    return tuple(sorted(chosen, key=lambda item: php_line_order(item.php)))


def read_committed(
    path: Path, config: Config | None = None, locations: Locations | None = None
) -> bytes | None:
    """The committed Dockerfile at ``path`` (at most ``MAX_DOCKERFILE_BYTES`` + 1 bytes),
    ``None`` if there is none; one that cannot be read is FileAccessError (exit 18), a
    directory or a pipe in its place tipped to be moved away and ``config``'s Dockerfiles
    rendered again (``render_command``, with the run's ``locations``)."""
    try:
        return read_bytes(
            path,
            limit=MAX_DOCKERFILE_BYTES,
            what="Dockerfile",
            hint=rewrite_hint(config, locations),
        )
    except FileNotFoundError:
        return None


def rewrite_hint(config: Config | None, locations: Locations | None = None) -> str:
    """What to do about something else standing where a committed Dockerfile belongs."""
    command = (
        render_command(config, locations=locations) if config is not None else "publisher render"
    )
    return f"move it away, then run `{command}` and commit the result"


def dockerfiles_found(config: Config) -> tuple[tuple[str, Path], ...]:
    """Every ``<dir>/Dockerfile`` in the Dockerfiles directory: the directory's name and
    the file's path (nothing when the directory itself does not exist)."""
    root = Path(config.root) / config.dockerfiles
    found: list[tuple[str, Path]] = []
    try:  # only a warning depends on it: a directory that cannot be listed has none
        for entry in sorted(root.iterdir()):
            if entry.is_dir() and (entry / "Dockerfile").is_file():
                found.append((entry.name, entry / "Dockerfile"))
    except OSError:
        return tuple(found)
    return tuple(found)


def check(config: Config) -> Check:
    """Compare every selected line's rendered Dockerfile with the committed file, and
    find the leftovers of lines matrix.yaml no longer configures (nothing is written)."""
    current: list[Rendered] = []
    differences: list[Difference] = []
    for item in render_all(config):
        difference = compare(item, read_committed(item.path, config))
        if difference is None:
            current.append(item)
        else:
            differences.append(difference)
    return Check(tuple(current), tuple(differences), leftovers(config, dockerfiles_found(config)))


def render_command(config: Config, *args: str, locations: Locations | None = None) -> str:
    """The command that writes ``config``'s Dockerfiles: ``publisher render`` (with
    ``args``, as ``--check``), named as every command of a tip is (``Locations.command``)
    with the run's ``locations``: --config when the matrix is not ./matrix.yaml however
    written, as the run was given it. Without them (a run that has none, such as
    ``render`` itself), --config names ``config.source`` unless it is ``matrix.yaml``."""
    named = locations if locations is not None else Locations(config=config.source)
    return named.command("render", *args)


def require_committed(config: Config, locations: Locations | None = None) -> None:
    """Refuse a build of ``config``'s lines when a committed Dockerfile is missing or
    cannot be read, before any base is resolved, anything built or pushed (every
    build leg would fail on it): ``committed_refusal``'s error, said so."""
    refusal = committed_refusal(config, then="; nothing was built or pushed", locations=locations)
    if refusal is not None:
        raise refusal


def committed_refusal(
    config: Config, *, then: str = "", locations: Locations | None = None
) -> PublisherError | None:
    """Why a build of ``config``'s lines cannot start, naming every Dockerfile at fault
    in one error: missing is MissingDockerfileError, larger than ``MAX_DOCKERFILE_BYTES``
    (not one render wrote, whose hash a build leg refuses) OversizedDockerfileError, both
    exit 3 as ``render --check`` (which calls the latter changed); unreadable is
    FileAccessError (exit 18, as ``render --check`` too), said beside the others when
    there are any; None when every one can be read. A Dockerfile that is there but not
    what the template renders is built as committed (a warning, see ``check``).
    ``then``: what the message ends with; ``locations``: the run's, which the render
    command the tip names carries (``render_command``)."""
    try:
        refuse_dockerfiles_not_a_directory(config)
    except ConfigError as exc:
        return exc
    missing: list[tuple[str, Path]] = []
    oversized: list[tuple[str, Path]] = []
    unreadable: list[FileAccessError] = []
    for line in config.lines:
        path = config.dockerfile_path(line.php)
        try:
            committed = read_committed(path, config, locations)
        except FileAccessError as exc:
            unreadable.append(exc)
            continue
        if committed is None:
            missing.append((line.php, path))
        elif len(committed) > MAX_DOCKERFILE_BYTES:
            oversized.append((line.php, path))
    faults: list[str] = []
    if missing:
        found = ", ".join(f"PHP {php} at {shown_path(path)}" for php, path in missing)
        faults.append(f"there is no committed Dockerfile for {found}")
    if oversized:
        found = ", ".join(f"PHP {php} at {shown_path(path)}" for php, path in oversized)
        size = f"{MAX_DOCKERFILE_BYTES // MIB} MiB"
        files = "Dockerfile for" if len(oversized) == 1 else "Dockerfiles for"
        verb = "is" if len(oversized) == 1 else "are"
        faults.append(
            f"the committed {files} {found} {verb} larger than {size}, so not one render wrote"
        )
    if faults:
        faults.extend(exc.message for exc in unreadable)
        count = len(missing) + len(oversized)
        error = MissingDockerfileError if missing else OversizedDockerfileError
        return error(
            "; ".join(faults) + then,
            hint=f"run `{render_command(config, locations=locations)}` to write "
            f"{'it' if count == 1 else 'them'} from {shown_path(config.source)} and "
            f"{template_shown(config)}, then commit the result (the builds use the "
            "committed files)",
        )
    if unreadable:
        return FileAccessError(
            "; ".join(exc.message for exc in unreadable) + then, hint=unreadable[0].hint
        )
    return None
