"""matrix.yaml: loading, validation and the frozen configuration model.

The cascade is resolved once, in this order: built-in defaults, the file's
top-level settings, each line's overrides, then explicit environment overrides
(passed in as a mapping so that tests pass ``{}``). Every error names the file,
line, column and field path, and happens before any subprocess or network call.

Pure: reads one file, no subprocess, no network.
"""

from __future__ import annotations

import contextlib
import decimal
import errno
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml

from ..resolve import (
    IPV6_REGISTRY_HINT,
    fs_text,
    ipv6_registry_problem,
    is_digest,
    is_loopback,
    is_php_line,
    php_line_order,
)
from . import reference
from .errors import ConfigError, InvalidReferenceError, UsageError, clip, file_error, shown_path
from .fileio import NotRegularFileError, dangling_link, nearest_named, read_prefix
from .locations import DEFAULT_CONFIG, shell_word
from .platforms import Platform, did_you_mean
from .reference import Reference
from .settings import setting
from .sizes import budget_bytes

_T = TypeVar("_T")

DEFAULT_BASE_IMAGE = "php:{php}-fpm-alpine"
DEFAULT_SIZE_BUDGET_MB = 700
#: The largest size budget (1 TB): no image comes near it, and a budget is whole bytes
#: (1e30 MB would be a 37-digit integer, read through a float).
MAX_SIZE_BUDGET_MB = 1_000_000
DEFAULT_SIZE_REGRESSION_PERCENT = 10.0
DEFAULT_DOCKERFILES = "dockerfiles"
DEFAULT_TEMPLATE = "dockerfiles/Dockerfile.j2"

#: From PHP 8.5 OPcache is part of PHP (https://wiki.php.net/rfc/make_opcache_required):
#: ``docker-php-ext-install opcache`` fails there ("cp: can't stat 'modules/*'").
OPCACHE_BUILT_IN = (8, 5)
#: PECL packages that build against a PHP line only from some version on:
#: name -> (first PHP line concerned, oldest version that builds). phpredis supports
#: PHP 8.5 from 6.3.0.
PECL_MINIMUM: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {
    "redis": ((8, 5), (6, 3, 0)),
}

#: The extensions of PHP's own source (``ext/``) that ``docker-php-ext-install`` can build
#: on the official images, PHP 8.1 to 8.5 (imap, oci8, pdo_oci and pspell left PHP in
#: 8.4). Anything else is a typo, or a PECL package, which ``extensions.pecl`` installs.
BUNDLED_EXTENSIONS = frozenset(
    # one string read as words: as a list, each name would take a line of its own
    """
    bcmath bz2 calendar ctype curl date dba dl_test dom enchant exif ffi fileinfo filter ftp gd
    gettext gmp hash iconv imap intl json ldap lexbor libxml mbstring mysqli mysqlnd oci8 odbc
    opcache openssl pcntl pcre pdo pdo_dblib pdo_firebird pdo_mysql pdo_oci pdo_odbc
    pdo_pgsql pdo_sqlite pgsql phar posix pspell random readline reflection session shmop
    simplexml snmp soap sockets sodium spl sqlite3 standard sysvmsg sysvsem sysvshm tidy
    tokenizer uri xml xmlreader xmlwriter xsl zend_test zip zlib
    """.split()  # noqa: SIM905
)

#: Environment overrides, each passed in explicitly (see ``load``).
ENV_LINES = "PUBLISHER_LINES"
ENV_PLATFORMS = "PUBLISHER_PLATFORMS"
ENV_BASE_MIRROR = "PUBLISHER_BASE_MIRROR"
ENV_NAMESPACE = "PUBLISHER_NAMESPACE"
ENV_OVERRIDES = (ENV_LINES, ENV_PLATFORMS, ENV_BASE_MIRROR, ENV_NAMESPACE)
#: The overrides that can leave out configured lines (a line none of whose platforms is
#: selected is left out too).
ENV_LINE_SELECTORS = (ENV_LINES, ENV_PLATFORMS)

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
_EXTENSION_RE = re.compile(r"[a-z0-9_]+")
#: A PECL version: numbers joined by dots, each without a leading zero (``06.3.0`` is no
#: PECL release), then maybe a stability and its number (6.3.1RC1, 1.0.0beta2).
_PECL_VERSION_RE = re.compile(r"((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*)([A-Za-z]*)([0-9]*)")
#: NAME or NAME-VERSION (the version as _PECL_VERSION_RE reads it, a stability's number
#: only after a stability).
_PECL_RE = re.compile(
    r"[a-z0-9_]+(-(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*(?:[A-Za-z]+[0-9]*)?)?"
)
#: The same, numbers with leading zeros allowed: what is refused as no PECL version.
_PECL_PADDED_RE = re.compile(r"[a-z0-9_]+-[0-9]+(\.[0-9]+)*([A-Za-z]+[0-9]*)?")
#: Where a stability stands in PECL's ordering (PHP's version_compare) against the release
#: of the same numbers (""); one it does not name comes before them all.
_PECL_STABILITY = {"dev": 0, "alpha": 1, "a": 1, "beta": 2, "b": 2, "rc": 3, "": 4, "pl": 5, "p": 5}


def pecl_version_key(version: str) -> tuple[tuple[int, ...], int, int]:
    """A PECL version (as ``_PECL_RE`` takes it) as a key in PECL's ordering: its numbers,
    then its stability (``6.3.0RC1`` before ``6.3.0``, before ``6.3.0pl1``), then the
    stability's number. A number of 10 digits or more counts as 10**10 (past any minimum;
    int() refuses thousands of digits)."""
    match = _PECL_VERSION_RE.fullmatch(version)
    assert match is not None, version
    numbers, stability, number = match.groups()
    return (
        tuple(int(n) if len(n) < 10 else 10**10 for n in numbers.split(".")),
        _PECL_STABILITY.get(stability.lower(), -1),
        int(number) if number and len(number) < 10 else 10**10 if number else 0,
    )


_PACKAGE_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9+._-]*(?:[<>=~]{1,2}[a-zA-Z0-9+._-]+)?")
_CONFIGURE_FLAG_RE = re.compile(r"--[a-z0-9][a-z0-9-]*(?:=[A-Za-z0-9/._,:-]+)?")

#: What a value that breaks its grammar is told, after its quoted text.
_NOT_A_PHP_LINE = 'is not a PHP line; write MAJOR.MINOR such as "8.4"'
#: What to write instead of an item of a list that is not valid (``what`` of string_list).
_LIST_ITEM_HINTS = {
    "packages": "name each package as the image's package manager takes it, e.g. icu-dev "
    "(a version constraint such as libzip-dev<1.10 may follow)",
    "configure flags": "write each flag as the extension's ./configure takes it, e.g. "
    "--with-jpeg or --with-webp=/usr",
    "extensions": "name each extension in lowercase ASCII letters, digits and _, e.g. gd or pdo_mysql",
}
_NOT_A_DIGEST = "is not a digest; write sha256: followed by 64 lowercase hex digits"
#: Said without the value, which may be the credential itself.
_NOT_AN_ENV_NAME = (
    "is not an environment variable name (its value is not shown: it may be the credential)"
)
_ENV_NAME_HINT = (
    "give the NAME of the variable that holds the credential, such as REGISTRY_PASSWORD, "
    "never the credential itself (change it if it was shared)"
)


#: A line break in any of its Unicode spellings: each would end the Dockerfile line.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ONE_LINE_HINT = (
    "it is written into each Dockerfile: one line of printable text (a YAML '>-' "
    "block folds lines into one)"
)
#: The bidirectional controls: embeddings and overrides (U+202A-U+202E), isolates
#: (U+2066-U+2069) and the marks (U+200E, U+200F, U+061C). Unseen, they show the text
#: after them in another order than it is written (a "Trojan Source" title).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: The invisible format characters (Unicode category Cf) a line of text may hold: the
#: zero-width joiner and non-joiner, which emoji sequences and scripts such as Persian
#: and Hindi need, and which reorder nothing. Every other one is refused: zero-width
#: spaces, word joiners, U+FEFF, soft hyphens, tag characters, the bidirectional controls.
KEPT_FORMAT = frozenset("\u200c\u200d")


def utf8_problem(value: str) -> str | None:
    """Where ``value`` is not UTF-8 text, e.g. "it holds the byte 0xff at character 7",
    or None when it is. Argv and environment bytes that are not UTF-8 arrive as lone
    surrogates, which pass many checks and then fail whatever file, API or pipe they
    are written to."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        what = f"the byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"{code:#x}"
        return f"it holds {what} at character {exc.start + 1}"
    return None


def path_problem(path: str) -> str | None:
    """``utf8_problem`` of a path's bytes (``os.fsencode``), the same in every locale: "ü"
    is UTF-8 under LC_ALL=C too (where Python holds its bytes as lone surrogates), and a
    byte 0xff is not under ISO-8859-1 (where Python reads it as "ÿ")."""
    return utf8_problem(fs_text(path))


def option_text(option: str, value: str, *, hint: str) -> str:
    """An option's text (``--reason``, ``--title``) as its bytes say, judged as a path
    option's are (``path_problem``), the same in every locale: "café" under LC_ALL=C
    with PYTHONUTF8=0 (two lone surrogates for "é") is UTF-8 text, and is kept as
    "café". Bytes that are not UTF-8 are refused naming the first (exit 2, with ``hint``):
    no file, API or pipe the text is written to could hold them."""
    text = fs_text(value)
    not_utf8 = utf8_problem(text)
    if not_utf8:
        raise UsageError(f"{option} is not UTF-8 text: {not_utf8}", hint=hint)
    return text


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot go into one Dockerfile line, or None when it can.

    It is also a label, a row of the release notes or a GitHub release's title, so
    it must read as what it is: no invisible character that reorders or hides text
    (``BIDI_CONTROLS``, and the format characters ``KEPT_FORMAT`` does not keep)."""
    not_utf8 = utf8_problem(value)
    for position, char in enumerate(value, 1):
        category = unicodedata.category(char)
        if char in _LINE_BREAKS:
            return f"must be one line; it holds a line break ({char!a})"
        if category == "Cc":
            return f"must not hold control characters; it holds {char!a}"
        if not_utf8 and category == "Cs":
            return f"must be UTF-8 text; {not_utf8}"
        if category == "Cf" and char not in KEPT_FORMAT:
            what = (
                "a bidirectional control: it shows the text after it in another order"
                if char in BIDI_CONTROLS
                else "an invisible format character"
            )
            name = unicodedata.name(char, "")
            return (
                f"must not hold invisible characters; it holds U+{ord(char):04X}"
                f"{' ' + name if name else ''} at character {position} ({what})"
            )
    return None


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL on one line, or None when it is."""
    problem = text_problem(value)
    if problem:
        return problem
    if any(char.isspace() for char in value):
        return "must be a URL without spaces"
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # a port out of range raises ValueError
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if port == 0:
        return "is not a valid URL (port 0)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host, e.g. https://github.com/OWNER/REPO"
    if parts.username is not None or parts.password is not None:
        # It becomes a label of every published image: a token in it would be public.
        return "carries credentials (user:password@); give the URL without them"
    return None


@dataclass(frozen=True)
class Registry:
    """One publishing target: a full repository on one registry."""

    name: str
    repository: Reference
    primary: bool = False
    username_env: str | None = None
    password_env: str | None = None
    #: ``insecure:`` as matrix.yaml sets it: True, plain HTTP; False, HTTPS even on
    #: loopback (a tunnel to a registry that serves TLS); None (unset), plain HTTP on
    #: loopback only, as docker does
    insecure: bool | None = None

    @property
    def host(self) -> str:
        return self.repository.domain

    @property
    def plain_http(self) -> bool:
        """Plain HTTP when marked ``insecure: true``, HTTPS when marked ``false``; unmarked,
        plain HTTP on loopback only."""
        return is_loopback(self.host) if self.insecure is None else self.insecure

    def ref(self, tag: str | None = None, digest: str | None = None) -> Reference:
        return Reference(self.repository.domain, self.repository.path, tag, digest)


@dataclass(frozen=True)
class Extensions:
    """PHP extensions, installed the way the official images expect."""

    install: tuple[str, ...] = ()
    configure: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pecl: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Module names ``php -m`` should list (pecl versions stripped)."""
        return tuple(sorted({*self.install, *(p.split("-")[0] for p in self.pecl)}))


@dataclass(frozen=True)
class Line:
    """One PHP line (e.g. 8.4), fully resolved."""

    php: str
    platforms: tuple[Platform, ...]
    base: Reference
    extensions: Extensions
    packages: tuple[str, ...]
    build_packages: tuple[str, ...]
    size_budget_bytes: int
    dockerfile: str
    #: Its base no longer updates (``frozen: true``): republish-check lists it as ``frozen=``,
    #: never in ``lines=``, so the weekly republish leaves it; the lifecycle advice to mark
    #: it ends. A republish given the line still rebuilds it (README, "PHP lifecycle").
    frozen: bool = False

    @property
    def key(self) -> tuple[int, ...]:
        return php_line_order(self.php)


@dataclass(frozen=True)
class Config:
    source: str
    root: str
    namespace: str
    image: str
    title: str
    description: str
    source_url: str | None
    registries: tuple[Registry, ...]
    platforms: tuple[Platform, ...]
    lines: tuple[Line, ...]
    default_line: str
    base_mirror: str | None
    size_regression_percent: float
    dockerfiles: str
    template: str = DEFAULT_TEMPLATE
    stand_in: bool = False
    all_lines: tuple[str, ...] = field(default=())
    #: The environment overrides that left out configured lines, as ``NAME=value``
    #: (so an error about a missing line can say why it is missing).
    narrowed_by: tuple[str, ...] = field(default=())
    #: The lines PUBLISHER_LINES named, when it is set: a published release that lacks
    #: one of them refuses it as that variable's mistake (exit 3), as ``selection`` does
    #: for an option's.
    env_lines: tuple[str, ...] = field(default=())
    #: The lines a command-line option named (``--only``, ``build --php``), when one
    #: did: a published release that lacks one of them refuses it as that option's
    #: mistake (exit 2), where a line only matrix.yaml added is a warning.
    selection: Selection | None = None
    #: Where matrix.yaml writes each top-level key it sets: (line, column) of its value, so
    #: an error found later about what the value names (a template that cannot be read)
    #: points there too.
    written_at: Mapping[str, tuple[int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def error_at(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError about the value of the top-level ``key``, located where it is
        written (when it is: a default is written nowhere)."""
        line, column = self.written_at.get(key, (None, None))
        return ConfigError(
            message, source=self.source, line=line, column=column, field=key, hint=hint
        )

    @property
    def primary(self) -> Registry:
        return next(r for r in self.registries if r.primary)

    @property
    def secondaries(self) -> tuple[Registry, ...]:
        return tuple(r for r in self.registries if not r.primary)

    @property
    def credential_variables(self) -> frozenset[str]:
        """The environment variables the registries' credentials are read from
        (``username_env``, ``password_env``): no command publisher runs is given them."""
        return frozenset(
            name for r in self.registries for name in (r.username_env, r.password_env) if name
        )

    def plain_http_for(self, host: str) -> bool:
        """Whether ``host`` (a registry's, a base image's) is reached over plain HTTP: as the
        configured registry on that host says, else on loopback only."""
        for registry in self.registries:
            if registry.host == host:
                return registry.plain_http
        return is_loopback(host)

    def line(self, php: str) -> Line:
        for line in self.lines:
            if line.php == php:
                return line
        raise ConfigError(
            f"PHP line {php!r} is not selected; selected lines: {', '.join(self.line_names)}",
            source=self.source,
            hint=(
                f"name one of the selected lines, or select {php} too (--only or PUBLISHER_LINES)"
                if php in self.all_lines
                else f"name one of the configured lines: {', '.join(self.all_lines)}"
            ),
        )

    @property
    def line_names(self) -> tuple[str, ...]:
        return tuple(line.php for line in self.lines)

    @property
    def default_selected(self) -> bool:
        return self.default_line in self.line_names

    def dockerfile_path(self, php: str) -> Path:
        return Path(self.root) / self.line(php).dockerfile

    @property
    def template_path(self) -> Path:
        return Path(self.root) / self.template

    def base_pull_ref(self, line: Line) -> Reference:
        """The base image to pull, through the mirror when one is configured."""
        return mirrored(line.base, self.base_mirror)

    def select(self, php_lines: tuple[str, ...], option: str | None = None) -> Config:
        """The same configuration restricted to ``php_lines`` (in configured order).

        ``option`` names the command-line option they came from (``--only``): a line
        that is not there is a ``UsageError`` naming it, and the selection is kept
        (``selection``). Without it the lines are the program's own choice.
        """
        selected = _select_lines(self, php_lines, field_name=option or "--only")
        if option is None:
            return selected
        return Config(**{**selected.__dict__, "selection": Selection(option, php_lines)})


@dataclass(frozen=True)
class Selection:
    """PHP lines a command-line option named: ``--only 8.4,8.5`` is ``("--only", ("8.4", "8.5"))``."""

    option: str
    lines: tuple[str, ...]


def mirrored(ref: Reference, mirror: str | None) -> Reference:
    """Rewrite ``ref`` to pull through a mirror prefix (``host[:port][/path]``)."""
    if not mirror:
        return ref
    domain, _, prefix = mirror.partition("/")
    path = f"{prefix}/{ref.path}" if prefix else ref.path
    return Reference(domain, path, ref.tag, ref.digest)


# --------------------------------------------------------------------------- loading


#: A matrix file larger than this is refused before it is parsed.
MAX_MATRIX_BYTES = 1024 * 1024


def load(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    named_by: str | None = None,
) -> Config:
    """Load and validate ``path``; apply the overrides found in ``env``.

    ``env`` is the mapping to read ``PUBLISHER_*`` overrides from. Pass ``{}`` for
    none; the CLI passes ``os.environ``. ``named_by``: the variable that named ``path``
    (``PUBLISHER_CONFIG``), None for --config or the default: a file that cannot be read
    is said to be the one it names, the tip to correct it or unset it (it wins over
    ./matrix.yaml, wherever the command runs), never to pass --config.
    """
    source = str(path)

    def unread(problem: str, *, option: str, variable: str) -> ConfigError:
        """The refusal of a file that cannot be read as a matrix file: its tip ``option``
        when --config (or the default) named it, ``variable`` when ``named_by`` did."""
        hint = variable if named_by else option
        return ConfigError(problem, source=source, hint=hint, named_by=named_by)

    unset = f"or unset it to read ./{DEFAULT_CONFIG}"
    data_file = f"set {named_by} to the matrix file (not a data file), {unset}"
    not_a_file = f"set {named_by} to the matrix file itself, {unset}"
    try:
        raw = read_prefix(path, MAX_MATRIX_BYTES)
        if len(raw) > MAX_MATRIX_BYTES:
            raise unread(
                f"the file is larger than {MAX_MATRIX_BYTES // 1024} KiB; a matrix file is a "
                "few kilobytes",
                option="pass the matrix file with --config (not a data file)",
                variable=data_file,
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        dangling = dangling_link(path)
        if dangling:
            raise unread(
                f"configuration file not found: {dangling}",
                option="point the link at the matrix file, or pass the file itself with --config",
                variable=f"point the link at the matrix file, or set {named_by} to the file "
                f"itself, {unset}",
            ) from None
        raise unread(
            "configuration file not found" + _looked_in(Path(path)),
            option=_not_found_tip(source),
            variable=f"correct {named_by}, {unset}",
        ) from None
    except IsADirectoryError:
        inside = Path(path, DEFAULT_CONFIG)
        raise unread(
            "cannot read the configuration file: it is a directory",
            option=f"pass the matrix file itself: --config {shell_word(str(inside))}"
            if nearest_named(inside, DEFAULT_CONFIG) == inside
            else f"pass the matrix file itself, e.g. --config {DEFAULT_CONFIG}",
            variable=not_a_file,
        ) from None
    except OSError as exc:
        # a pipe or a device, a file on the way, a NUL in the path (read_prefix's EINVAL)
        if isinstance(exc, (NotRegularFileError, NotADirectoryError)) or exc.errno == errno.EINVAL:
            raise unread(
                f"cannot read the configuration file: {exc.strerror or exc}",
                option="pass the matrix file itself, e.g. --config matrix.yaml",
                variable=not_a_file,
            ) from None
        # no permission, an I/O error: a file it cannot use (exit 18)
        raise file_error(exc, "read the configuration file") from None
    except UnicodeDecodeError as exc:
        raise not_utf8_matrix(raw, exc.start, source=source, named_by=named_by) from None
    root = str(Path(path).resolve().parent)
    return loads(text, source=source, root=root, env=env or {})


def not_utf8_matrix(raw: bytes, at: int, *, source: str, named_by: str | None) -> ConfigError:
    """The refusal of a matrix file whose bytes are not UTF-8 from ``at`` on: the byte and
    where it is (line and column, its annotation too), or that it is UTF-16 (an editor's
    "Unicode"); the tip says to save it as UTF-8, the file named being the matrix file
    more likely than not, or else to name the matrix file."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        said, line, column = "it is UTF-16 (it starts with a UTF-16 byte order mark)", 1, 1
    else:
        line = raw.count(b"\n", 0, at) + 1
        column = len(raw[raw.rfind(b"\n", 0, at) + 1 : at].decode("utf-8")) + 1
        said = f"it holds the byte 0x{raw[at]:02x} there"  # where: the message's file:line:col
    other = (
        f"set {named_by} to the matrix file, or unset it to read ./{DEFAULT_CONFIG}"
        if named_by
        else "pass the matrix file with --config"
    )
    return ConfigError(
        f"cannot read the configuration file: it is not UTF-8 text: {said}",
        source=source,
        line=line,
        column=column,
        hint=f"save the matrix file as UTF-8 text (YAML is read as UTF-8); if {shown_path(source)} is not "
        f"the matrix file, {other}",
        named_by=named_by,
    )


def _not_found_tip(given: str) -> str:
    """The tip for a matrix file not found at ``given``: the default (./matrix.yaml) is
    looked for where the command runs; a path given was mistyped, or is relative to
    another directory (the matrix file nearest to it named, when there is one)."""
    if given == DEFAULT_CONFIG:
        return "run from the repository root, or pass --config PATH"
    near = nearest_named(given, DEFAULT_CONFIG)
    return (
        f"check the path: {shown_path(given)} does not exist"
        + (
            ""
            if Path(given).is_absolute()
            else " (a relative path is read from the current directory)"
        )
        + (f"; did you mean --config {shell_word(str(near))}?" if near else "")
    )


def _looked_in(path: Path) -> str:
    """Where a relative matrix path was looked for: the current directory, or that it is
    gone (removed after the shell entered it)."""
    if path.is_absolute():
        return ""
    try:
        return f" in the current directory {Path.cwd()}"
    except OSError:
        return " (the current directory was removed after the shell entered it: cd again)"


def loads(
    text: str,
    *,
    source: str = "matrix.yaml",
    root: str = ".",
    env: Mapping[str, str] | None = None,
) -> Config:
    node = _compose(text, source)
    return _Reader(source).config(node, root, overrides(env or {}))


def overrides(env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` with the ``PUBLISHER_*`` overrides read as every setting is (``setting``:
    the blanks around a value dropped, one of blanks only unset)."""
    read = {name: setting(env, name) for name in ENV_OVERRIDES if name in env}
    kept = {name: value for name, value in env.items() if name not in read}
    return {**kept, **{name: value for name, value in read.items() if value}}


#: How deep mappings and lists may nest, the file's own mapping included. A matrix
#: nests six levels (the file, lines, a line, its extensions, configure, flags); PyYAML builds nodes recursively, so a file nested
#: thousands of levels deep would exhaust the stack before any value is checked.
MAX_NESTING = 32

#: What to do about a matrix file YAML cannot read.
YAML_HINT = (
    "fix the YAML at that line and column: indent with spaces (never tabs), close every "
    "quote and bracket, and put a space after each colon"
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing mappings and lists nested over ``MAX_NESTING`` deep.

    The composer builds nodes recursively; counting the depth as it goes refuses a
    deep file at the collection that passes the limit, in the same single pass.
    """

    depth = 0

    @contextlib.contextmanager
    def _nested(self) -> Iterator[None]:
        """One level deeper for the collection being composed; refused past the limit."""
        if self.depth >= MAX_NESTING:
            raise _TooDeep(self.peek_event().start_mark)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor not in self.anchors:
                raise _UndefinedAlias(event.anchor, event.start_mark, tuple(self.anchors))
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        with self._nested():
            return super().compose_sequence_node(anchor)

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        with self._nested():
            return super().compose_mapping_node(anchor)


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("nested too deep")
        self.mark = mark


class _UndefinedAlias(Exception):
    def __init__(self, name: str, mark: yaml.Mark, defined: tuple[str, ...]) -> None:
        super().__init__(f"undefined alias {name}")
        self.name = name
        self.mark = mark
        #: The anchors defined before the alias.
        self.defined = defined


def _anchor_line(text: str, name: str) -> int | None:
    """The line where the anchor ``&name`` is defined, or None: a file is read top to
    bottom, so an alias above its anchor is one YAML has not met yet."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            mark = event.start_mark
            if isinstance(event, yaml.AliasEvent) or mark is None:
                continue
            if getattr(event, "anchor", None) == name:
                return int(mark.line) + 1
    except yaml.YAMLError:  # an error further on: the anchor is not found before it
        pass
    return None


def _undefined_alias(exc: _UndefinedAlias, text: str, source: str) -> ConfigError:
    """``*name`` with no ``&name`` before it: located at the alias, and said whether the
    anchor comes later in the file or is missing (perhaps mistyped)."""
    name = exc.name
    later = _anchor_line(text, name)
    if later is not None:
        message = f"alias *{name} is not defined yet: &{name} is on line {later}, after it"
        hint = f"define &{name} before using it: move the value anchored &{name} above *{name}"
    else:
        typo = did_you_mean(f"*{name}", [f"*{anchor}" for anchor in exc.defined])
        message = f"alias *{name} is not defined" + (typo or f"; define &{name} before using it")
        hint = (
            f"anchor a value with &{name} above the alias (e.g. a top-level x-{name}: "
            f"&{name} ...), or correct the alias's name"
        )
    return ConfigError(
        message,
        source=source,
        line=exc.mark.line + 1,
        column=exc.mark.column + 1,
        hint=hint,
    )


#: The line breaks YAML 1.1 reads besides CR and LF: NEXT LINE, LINE SEPARATOR and
#: PARAGRAPH SEPARATOR. Editors and grep show none there, so the rest of a comment after
#: one would be read as YAML unseen, and every line number after it would be off by one.
_UNSEEN_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _refuse_unseen_line_breaks(text: str, source: str) -> None:
    """Refuse the first of ``_UNSEEN_LINE_BREAKS`` in ``text``, located as an editor
    counts lines (by LF alone)."""
    found = _UNSEEN_LINE_BREAKS.search(text)
    if found is None:
        return
    position = found.start()
    char = found.group()
    raise ConfigError(
        f"invalid YAML: the line break U+{ord(char):04X} ({unicodedata.name(char, 'NEXT LINE')}) "
        "is not allowed: YAML starts a new line there, where editors and grep show none",
        source=source,
        line=text.count("\n", 0, position) + 1,
        column=position - (text.rfind("\n", 0, position) + 1) + 1,
        hint="delete it (most editors do not show it), or end the line there with an "
        "ordinary line break",
    )


def _compose(text: str, source: str) -> yaml.Node:
    _refuse_unseen_line_breaks(text, source)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _UndefinedAlias as exc:
        raise _undefined_alias(exc, text, source) from None
    except _TooDeep as exc:
        mark = exc.mark
        raise ConfigError(
            f"mappings and lists nest more than {MAX_NESTING} levels deep here",
            source=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="a matrix nests a few levels (lines, a line, its extensions); "
            "see the README's matrix.yaml reference",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        hint = YAML_HINT
        first = "; first occurrence"
        if exc.context and exc.context.endswith(first) and exc.context_mark:
            # an anchor defined twice: PyYAML's problem is only "second occurrence"
            problem = (
                f"{exc.context.removesuffix(first)} (first on line {exc.context_mark.line + 1})"
            )
            hint = "give each anchor (&name) its own name"
        raise ConfigError(
            f"invalid YAML: {problem}",
            source=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint=hint,
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, anywhere
        position = max(0, min(exc.position, len(text)))
        line_start = text.rfind("\n", 0, position) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise ConfigError(
            f"invalid YAML: the non-printable character U+{ord(char):04X} is not allowed",
            source=source,
            line=text.count("\n", 0, position) + 1,
            column=position - line_start + 1,
            hint='remove it; a string may hold it written as an escape, e.g. "\\x07"',
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source, hint=YAML_HINT) from None
    start = (
        "pass the matrix file itself with --config; to write one, start from "
        "the repository's examples/offline/matrix.yaml (the README's matrix.yaml section "
        "describes every key)"
    )
    if node is None:
        raise ConfigError("the file is empty (or holds only comments)", source=source, hint=start)
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and not node.value
    ):
        # only `---`: PyYAML marks the nothing after it, on a line past the file's last;
        # it is located on the line of its `---`. Without one (a lone `!` tag), where
        # PyYAML marks the empty node.
        mark = node.start_mark
        before = text[: mark.index] if mark else text
        marker = list(re.finditer(r"(?m)^---(?=[ \t]|$)", before))
        line: int | None
        column: int | None
        if marker:
            line, column = before.count("\n", 0, marker[-1].start()) + 1, 1
        else:
            line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ConfigError(
            "the file holds an empty YAML document (no key)",
            source=source,
            line=line,
            column=column,
            hint=start,
        )
    return node


#: The tag PyYAML gives a plain ``<<`` key: a YAML merge key.
MERGE_TAG = "tag:yaml.org,2002:merge"
MERGE_HINT = (
    "write `<<: *name` (or `<<: [*one, *two]`) once per mapping, naming mappings "
    "anchored with `&name`; see the README's matrix.yaml reference"
)
#: Top-level keys starting with this are left alone: a place for anchors (``x-common: &common``).
FREE_KEY_PREFIX = "x-"

_REGISTRY_KEYS = ("name", "repository", "primary", "username_env", "password_env", "insecure")
#: Public registries that serve HTTPS only: ``insecure: true`` there is a mistake.
HTTPS_ONLY = frozenset(("docker.io", "index.docker.io", "registry-1.docker.io", "ghcr.io"))


def https_only(domain: str) -> bool:
    """Whether ``domain`` is one of :data:`HTTPS_ONLY`, however written: a host name is
    case-insensitive (``GHCR.io`` is ghcr.io), and port 443 (``:443``, ``:0443``) is
    HTTPS's own."""
    host, _, port = domain.lower().rpartition(":")
    if not host or not port.isdigit() or int(port) != 443:  # no port, or another one
        host = domain.lower()
    return host in HTTPS_ONLY


_EXTENSION_KEYS = ("install", "configure", "pecl")

#: A line's extensions, in words and as the key holding them (the tips of ``_misplaced``).
_LINE_EXTENSIONS_HINT = (
    "write it in the line's extensions mapping, e.g. `extensions: {install: [bcmath], pecl: "
    "[redis-6.3.0]}`: a line's extensions replace the top-level ones whole (write the others "
    "again, or merge the top-level mapping with <<)"
)


def _misplaced(key: str, *, line: bool) -> tuple[str, str] | None:
    """Where ``key``, unknown at a line (``line``) or at the top level, belongs, when it is
    one written outside its mapping: (what the error says after "unknown key", its tip).
    None when it is no such key (``did_you_mean`` may still know a typo of one)."""
    whose = "the line's extensions" if line else "extensions"
    if key in _EXTENSION_KEYS:
        return (
            f"it belongs under {whose} (extensions.{key})",
            _LINE_EXTENSIONS_HINT
            if line
            else "write it in the extensions mapping, e.g. `extensions: {install: [bcmath], "
            "pecl: [redis-6.3.0]}`",
        )
    if line and key == "base":
        return (
            "did you mean 'base_image'?",
            "a line names its base as base_image: IMAGE (the top level's base.image), e.g. "
            "base_image: php:{php}-fpm-bookworm; base.mirror is the top level's alone",
        )
    if line and key == "image":
        return (
            "did you mean 'base_image'?",
            "a line names its base as base_image: IMAGE; image, the top level's, names the "
            "published repository",
        )
    if key in _REGISTRY_KEYS:
        return (
            f"it belongs in an entry of registries (registries[].{key})",
            "write it in the entry of registries it is for, e.g. `registries: [{name: hub, "
            "repository: docker.io/{namespace}/{image}, primary: true}]`",
        )
    # a key of a top-level mapping (base.image, base.mirror: written as image or mirror,
    # or base.image as a line writes it, base_image), or one only a line sets
    nested = next(
        (k for k in KEYS if "." in k.name and key in (k.name.split(".", 1)[1], k.field)), None
    )
    if not line and nested is not None:
        inner = nested.name.split(".", 1)[1]
        return (
            f"it belongs under {nested.section} ({nested.name})",
            f"write it in the {nested.section} mapping, e.g. `{nested.section}: {{{inner}: ...}}`"
            + (f"; a line sets it as {nested.field}" if nested.line else ""),
        )
    if not line and any(k.field == key and k.line and not k.top for k in KEYS):
        example = "" if key == "php" else f", {key}: ..."
        return (
            f"it belongs on a line (lines[].{key})",
            f'write it in the entry of lines it is for, e.g. `lines: [{{php: "8.4"{example}}}]`',
        )
    if line and nested is not None and not nested.line:
        return (
            f"it belongs under the top level's {nested.section} ({nested.name})",
            f"a line cannot set it: the top level's {nested.name} is every line's",
        )
    if line and any(k.name == key and k.top and not k.line for k in KEYS):
        return (
            f"it belongs at the top level ({key})",
            "a line cannot set it: write it once at the top level of matrix.yaml",
        )
    return None


def _short_tag(tag: str) -> str:
    """A YAML tag as written: ``!!binary`` for the standard ones, a local ``!foo`` as is."""
    standard = "tag:yaml.org,2002:"
    return "!!" + tag[len(standard) :] if tag.startswith(standard) else tag


#: Turns a YAML number the way PyYAML spells it (hexadecimal, sexagesimal, .inf) into its value.
_YAML_VALUES = yaml.constructor.SafeConstructor()
#: Says what a plain (untagged) scalar's text is to YAML: int, float, str, bool, null...
_YAML_TYPES = yaml.resolver.Resolver()
_INT_TAG = "tag:yaml.org,2002:int"
_NUMBER_TAGS = (_INT_TAG, "tag:yaml.org,2002:float")
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
#: A whole number with a leading zero (``017``, ``-0_8``): ``_Reader.refuse_leading_zero``.
_LEADING_ZERO_RE = re.compile(r"[-+]?0[0-9_]*[0-9][0-9_]*")
#: What a value that is not a number is told, tagged or not (``_Reader.number``'s tip).
NUMBER_HINT = "write a number without quotes, e.g. 500"

#: Alpine's ICU ships English only; intl gets every locale from this package unless
#: the matrix says ``icu_data_full: false``.
ICU_DATA_FULL = "icu-data-full"

#: Reads the node at a field path and returns its value, or raises a located ConfigError.
Read = Callable[["_Reader", yaml.Node, str], Any]


@dataclass(frozen=True)
class Derived:
    """A default computed from the top-level values read before it (by key name)."""

    compute: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Key:
    """One row of the matrix table (``KEYS``, below the reader).

    A top-level key is read with ``read`` or takes ``default``; with ``line`` set, each
    line inherits that value and may override it under the same name (``base.image``
    becomes ``base_image``). The value reaches the model by name: the ``Config`` field
    and the ``Line`` field called like the key (dots become underscores), when there is
    one; the few keys that combine with others (the base image and its digest, the size
    budget, ``icu_data_full``) are finished in ``_Reader.line``.
    """

    #: The key as written; ``section.key`` for a key inside a top-level mapping.
    name: str
    #: How to read it; None for the three sections the reader walks itself
    #: (registries, lines, default_line).
    read: Read | None = None
    #: The value when the file does not set it.
    default: Any = None
    #: Whether a line may set it (overriding the top-level value, if any).
    line: bool = False
    #: Whether it may be written at the top level (False: only lines set it).
    top: bool = True
    #: How a line's value combines with the inherited one: (reader, node, path, line
    #: value, inherited value) -> value. None: the line's value replaces it.
    combine: Callable[[_Reader, yaml.Node, str, Any, Any], Any] | None = None
    #: Where a line's hint of allowed keys lists it (keys a line may set, lowest first).
    line_order: int = 99

    @property
    def field(self) -> str:
        """The key as a line writes it, and the model field it fills."""
        return self.name.replace(".", "_")

    @property
    def section(self) -> str:
        """The top-level key it is written under."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class _Value:
    """A value read (or defaulted), with where it was written for later errors."""

    value: Any
    node: yaml.Node | None
    path: str


def _yaml_1_1_reads(node: yaml.ScalarNode) -> str:
    """What YAML 1.1 (PyYAML) makes of a number-like scalar as tagged: ``reads it as the
    octal number 15``, ``reads it as a string``, ``refuses it`` (``!!int 08``)."""
    if node.tag not in _NUMBER_TAGS:
        return "reads it as a string"
    try:
        value = _YAML_VALUES.construct_object(yaml.ScalarNode(node.tag, node.value))
    except (ArithmeticError, LookupError, TypeError, ValueError, yaml.YAMLError):
        return "refuses it"
    if isinstance(value, int) and value != int(str(node.value).replace("_", ""), 10):
        return f"reads it as the octal number {value}"
    return f"reads it as {float(value):g}"


#: YAML 1.2's core schema: its integers and floats (no ``_``, no octal but ``0o``).
_YAML_1_2_INT = re.compile(r"[-+]?[0-9]+")
_YAML_1_2_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _yaml_1_2_reads(node: yaml.ScalarNode) -> str:
    """What YAML 1.2 (core schema) makes of the same scalar: ``reads it as 17``, ``reads
    it as a string`` (``0_8``), ``refuses it`` (``!!float 0_17``), ``reads it as no
    number``: ``0_17``, a string untagged and refused tagged ``!!int``, which a node read
    by YAML 1.1 does not tell apart (both are its integers)."""
    text = str(node.value)
    implicit = _YAML_TYPES.resolve(yaml.ScalarNode, text, (True, False)) == node.tag
    pattern = _YAML_1_2_FLOAT if node.tag.endswith(":float") and not implicit else _YAML_1_2_INT
    if pattern.fullmatch(text):
        return f"reads it as {float(text):g}"
    if node.tag not in _NUMBER_TAGS:
        return "reads it as a string"
    return "reads it as no number" if implicit else "refuses it"


class _Reader:
    """Turns a composed YAML node tree into a Config, locating every error."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.keys = KEYS
        #: Mappings whose merge keys are applied (by node id; an alias is the same node).
        self._merged: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}
        self._merging: set[int] = set()

    # -- error helpers

    def fail(
        self, node: yaml.Node | None, path: str, message: str, hint: str | None = None
    ) -> NoReturn:
        line = column = None
        if node is not None and node.start_mark is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        raise ConfigError(
            message, source=self.source, line=line, column=column, field=path or None, hint=hint
        )

    def _kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        if node.tag == "tag:yaml.org,2002:null":
            return "nothing (null)"
        if node.tag == "tag:yaml.org,2002:bool":
            return f"a boolean ({node.value})"
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            return f"a number ({node.value})"
        if node.tag == "tag:yaml.org,2002:timestamp":
            return f"a date ({node.value})"
        if node.tag != "tag:yaml.org,2002:str":
            return f"a value tagged {_short_tag(node.tag)} ({node.value!r})"
        return f"a string ({node.value!r})"

    def _not_a(self, node: yaml.Node, path: str, what: str, hint: str) -> NoReturn:
        """Refuses a scalar explicitly tagged as ``what`` whose text is not one."""
        self.fail(
            node,
            path,
            f"expected {what}, found {node.value!r} (tagged {_short_tag(node.tag)})",
            hint=hint,
        )

    def as_untagged(self, node: yaml.Node, path: str) -> yaml.Node:
        """A number tagged by hand (``!!int 12``) read as its text is without the tag.

        Python's int() and float() take spellings YAML's numbers do not (``0o17``,
        ``7e2``): untagged, YAML reads those as strings, and ``number`` refuses them;
        tagged, they are refused here alike, with the same tip. A text YAML reads as a
        number is that number (``!!float 0x1F`` is 31, as ``0x1F`` is), but one tagged
        ``!!int`` must be a whole number (``!!int 50.5`` is refused).
        """
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _NUMBER_TAGS:
            return node
        text = str(node.value)
        tag = _YAML_TYPES.resolve(yaml.ScalarNode, text, (True, False))
        if tag not in _NUMBER_TAGS:
            kind = self._kind(yaml.ScalarNode(tag, text)).split(" (")[0]
            self.fail(
                node,
                path,
                f"expected a number, found {text!r} (tagged {_short_tag(node.tag)}: "
                f"YAML reads it untagged as {kind})",
                hint=NUMBER_HINT,
            )
        if node.tag == _INT_TAG and tag != _INT_TAG:  # !!int 50.5: no whole number
            self.fail(
                node,
                path,
                f"expected a whole number, found {text!r} (tagged !!int: YAML reads it "
                "untagged as a number that is not whole)",
                hint=f"write a whole number, or drop the tag !!int to write {text}",
            )
        return yaml.ScalarNode(tag, text, node.start_mark, node.end_mark)

    def refuse_leading_zero(self, node: yaml.Node, path: str) -> None:
        """Refuse a whole number written with a leading zero (``017``, ``-08``, ``0_17``),
        which YAML readers disagree on: YAML 1.1 (PyYAML, and the editors and tools that
        follow it) reads ``017`` as the octal number 15 and ``08`` as a string, YAML 1.2
        reads both as decimal numbers (and ``0_17`` as a string). Tagged ``!!int`` or
        ``!!float`` alike (``as_untagged``: a tagged number is read as its text is
        untagged), each reader's reading said as it reads that tag; a quoted one, or one
        tagged ``!!str``, is a string, refused where a number belongs as every string is.
        ``0`` alone is no leading zero."""
        if not isinstance(node, yaml.ScalarNode) or node.style is not None:
            return
        # a string: untagged, as 08 is (tagged !!str, 017 is a string to every reader)
        untagged = _YAML_TYPES.resolve(yaml.ScalarNode, str(node.value), (True, False))
        if node.tag not in _NUMBER_TAGS and (node.tag, untagged) != (_STR_TAG, _STR_TAG):
            return
        text = str(node.value)
        digits = text.replace("_", "")
        if not _LEADING_ZERO_RE.fullmatch(text) or not _LEADING_ZERO_RE.fullmatch(digits):
            return
        decimal = str(int(digits, 10))
        yaml_1_1, yaml_1_2 = _yaml_1_1_reads(node), _yaml_1_2_reads(node)
        if yaml_1_1 == yaml_1_2:  # 07, !!float 017: alike here, not for every such number
            problem = (
                f"{text} is written with a leading zero: YAML 1.1 and YAML 1.2 both "
                + yaml_1_1.replace("reads it", "read it")
                + (
                    ""
                    if yaml_1_1.endswith("a string")
                    else ", but not every number so written (017 is the octal number 15 to "
                    "YAML 1.1, 17 to YAML 1.2)"
                )
            )
        else:
            both = yaml_1_1.startswith("reads") and yaml_1_2.startswith("reads")
            problem = (
                f"{text} is written with a leading zero, which YAML readers disagree on: "
                f"YAML 1.1 {yaml_1_1}, YAML 1.2 "
                + (yaml_1_2.removeprefix("reads it ") if both else yaml_1_2)
            )
        self.fail(node, path, problem, hint=f"write {decimal}")

    def refuse_yaml_1_2_number(self, node: yaml.Node, path: str) -> None:
        """Refuse a plain (unquoted, untagged) scalar that YAML 1.2 reads as a number and
        YAML 1.1 (PyYAML, which reads matrix.yaml) as a string: an exponent without a point
        or without its sign (``1e3``, ``.5e3``, ``1e+3``). Refused as a string, it would be
        told to lose quotes it does not have; the error says how each reads it, and the
        number to write in digits. Quoted or tagged ``!!str``, it is a string to every reader."""
        if not isinstance(node, yaml.ScalarNode) or node.style is not None or node.tag != _STR_TAG:
            return
        text = str(node.value)
        mark = node.start_mark
        written = "" if mark is None or mark.buffer is None else mark.buffer[mark.pointer :]
        written = re.sub(r"^&\S+\s+", "", written)  # an anchor first: `&budget 1e3`
        if not _YAML_1_2_FLOAT.fullmatch(text) or not written.startswith(text):
            return  # not such a number, or tagged by hand
        self.fail(
            node,
            path,
            f"{text} is a number written as YAML readers disagree on: YAML 1.1 "
            f"{_yaml_1_1_reads(node)}, YAML 1.2 as {float(text):g}",
            hint=f"write {format(decimal.Decimal(text), 'f')}",
        )

    # -- typed accessors

    def pairs(self, node: yaml.MappingNode, path: str) -> list[tuple[yaml.Node, yaml.Node]]:
        """A mapping's key/value nodes with YAML merge keys applied (``<<: *common``).

        The mapping's own keys come first, as written (so a key written twice is still
        reported); then each merged key it does not set itself, from the first merged
        mapping that sets it. Merged nodes keep their own place in the file, so an error
        in one points at the anchored mapping it came from.
        """
        done = self._merged.get(id(node))
        if done is not None:
            return done
        if id(node) in self._merging:
            self.fail(
                node,
                path,
                "a merge key (<<) refers to the mapping it is part of",
                hint="merge a mapping anchored elsewhere in the file (e.g. <<: *common), not "
                "the one the merge key is in",
            )
        own = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        merges = [(k, v) for k, v in node.value if k.tag == MERGE_TAG]
        if len(merges) > 1:
            self.fail(merges[1][0], path, "duplicate key '<<'", hint=MERGE_HINT)
        result = list(own)
        seen = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        self._merging.add(id(node))
        try:
            for _, value in merges:
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        self.fail(
                            source,
                            path,
                            "a merge key (<<) takes a mapping or a list of mappings, "
                            f"found {self._kind(source)}",
                            hint=MERGE_HINT,
                        )
                    self._unique_keys(source, path)
                    for key, item in self.pairs(source, path):
                        name = key.value if isinstance(key, yaml.ScalarNode) else None
                        if name is None or name not in seen:
                            result.append((key, item))
                            seen.add(name)
        finally:
            self._merging.discard(id(node))
        self._merged[id(node)] = result
        return result

    def _unique_keys(self, node: yaml.MappingNode, path: str) -> None:
        """Refuse a key written twice in a mapping merged with ``<<:`` (an ``x-`` anchor
        is read nowhere else; ``mapping`` checks the mappings it reads itself)."""
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
                if key.value in seen:
                    self.fail(
                        key,
                        f"{path}.{key.value}" if path else str(key.value),
                        f"duplicate key {key.value!r}",
                        hint=f"keep one {key.value!r} there: YAML readers disagree on which of "
                        "two counts",
                    )
                seen.add(key.value)

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        allowed: tuple[str, ...],
        *,
        ignored_prefix: str | None = None,
        belongs: str | None = None,
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's entries by key (merge keys applied), refusing unknown and
        repeated keys; keys starting with ``ignored_prefix`` are read and left out.
        ``belongs``: ``top`` or ``line``, the mapping of matrix.yaml read, whose unknown
        keys written outside the mapping they belong to are told where (``_misplaced``)."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(
                node,
                path,
                f"expected a mapping, found {self._kind(node)}",
                hint="write it as indented `key: value` lines (the README's matrix.yaml "
                "section shows every key)",
            )
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        ignored: set[str] = set()
        for key_node, value_node in self.pairs(node, path):
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(
                    key_node,
                    path,
                    "keys must be plain names",
                    hint="write each key as a plain word followed by a colon, e.g. platforms:; "
                    "a list or a mapping cannot be a key",
                )
            key = str(key_node.value)
            where = f"{path}.{key}" if path else key
            if key in result or key in ignored:
                self.fail(
                    key_node,
                    where,
                    f"duplicate key {key!r}",
                    hint=f"keep one {key!r} there: YAML readers disagree on which of two counts",
                )
            if ignored_prefix and key.startswith(ignored_prefix):
                ignored.add(key)
                continue
            if key not in allowed:
                moved = _misplaced(key, line=belongs == "line") if belongs else None
                if moved is not None:
                    self.fail(key_node, where, f"unknown key {key!r}; {moved[0]}", hint=moved[1])
                self.fail(
                    key_node,
                    where,
                    f"unknown key {key!r}{did_you_mean(key, allowed)}",
                    hint=f"allowed keys here: {', '.join(allowed)}",
                )
            result[key] = (key_node, value_node)
        return result

    def expect(
        self, node: yaml.Node, path: str, kinds: tuple[str, ...] | None, what: str, hint: str
    ) -> str:
        """The text of ``node`` if it is a scalar YAML resolved to one of ``kinds`` (short tag
        names: ``str``, ``bool``, ``int``, ``float``; None: any but null or a local tag); else a
        located "expected WHAT, found ..." error."""
        standard = "tag:yaml.org,2002:"  # a local tag (``!<int>``) is none of them
        kind = node.tag.removeprefix(standard) if node.tag.startswith(standard) else None
        if not isinstance(node, yaml.ScalarNode) or (
            kind in (None, "null") if kinds is None else kind not in kinds
        ):
            self.fail(node, path, f"expected {what}, found {self._kind(node)}", hint=hint)
        return str(node.value)

    def scalar(self, node: yaml.Node, path: str) -> str:
        """The raw text of a scalar (so ``8.10`` stays ``8.10``, not the float 8.1)."""
        return self.expect(
            node,
            path,
            None,
            "a value",
            "write one value there (a string, a number or true/false), not a list or a mapping",
        )

    def string(self, node: yaml.Node, path: str) -> str:
        value = self.expect(
            node,
            path,
            ("str",),
            "a string",
            'write a string there; quote it ("8.4") where YAML would read a number or a boolean',
        )
        if not value.strip():
            self.fail(
                node,
                path,
                "must not be empty",
                hint="write a value after the colon, or remove the key where it is optional",
            )
        return value

    def repository_part(self, node: yaml.Node, path: str) -> str:
        """``namespace`` or ``image``: what {namespace} and {image} put in a repository."""
        value = self.string(node, path)

        def valid(text: str) -> bool:
            return all(reference.PATH_COMPONENT_RE.fullmatch(part) for part in text.split("/"))

        if not valid(value):
            fixed = value.lower().replace(" ", "-")
            self.fail(
                node,
                path,
                f"{value!r} is not a valid {path} (lowercase ASCII letters, digits, '.', '_', '-')",
                hint="registries name repositories in lowercase"
                + (
                    f": write {fixed!r}" if valid(fixed) else ", with '.', '_' or '-' between words"
                ),
            )
        return value

    def optional_string(self, node: yaml.Node, path: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return None
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag == "tag:yaml.org,2002:str"
            and node.value == ""
        ):
            return None
        return self.string(node, path)

    def boolean(self, node: yaml.Node, path: str) -> bool:
        text = self.expect(
            node, path, ("bool",), "true or false", "write true or false, without quotes"
        )
        # tagged !!bool by hand: `!!bool maybe`, or `!!bool yES`, which YAML reads untagged
        # as a string (only yes, Yes and YES are booleans): refused, as it is untagged
        untagged = _YAML_TYPES.resolve(yaml.ScalarNode, text, (True, False))
        value = yaml.SafeLoader.bool_values.get(text.lower())
        if untagged != "tag:yaml.org,2002:bool" or value is None:
            self._not_a(node, path, "true or false", "write true or false, without a tag")
        return bool(value)

    def number(
        self,
        node: yaml.Node,
        path: str,
        *,
        minimum: float,
        maximum: float | None = None,
        meaning: str = "",
    ) -> float:
        """The number at ``node``: finite, at least ``minimum`` and at most ``maximum``
        (``meaning`` says what that bound is, in the error)."""
        text = self.expect(
            node, path, ("int", "float"), "a number", "write a number without quotes, e.g. 500"
        )
        try:
            value = float(text.replace("_", ""))
        except ValueError:  # YAML's other spellings: .inf, .nan, 0x1F, 0b101, 1:30
            try:
                number = _YAML_VALUES.construct_object(node)
            except (ArithmeticError, LookupError, TypeError, ValueError, yaml.YAMLError):
                # tagged !!int or !!float by hand: `!!int abc`
                self._not_a(node, path, "a number", "write a number without quotes or a tag")
            try:
                value = float(number)
            except OverflowError:  # a whole number past a float's range (0xFFF...): not finite
                value = float("inf")
        if maximum is not None and not minimum <= value <= maximum:
            self.fail(
                node,
                path,
                f"must be a finite number from {minimum:g} to {maximum:.0f}"
                + (f" ({meaning})" if meaning else ""),
                hint=f"write a number from {minimum:g} to {maximum:.0f}, without quotes",
            )
        if not value >= minimum or value == float("inf"):
            self.fail(
                node,
                path,
                f"must be a finite number of at least {minimum:g}",
                hint=f"write a number of at least {minimum:g}, without quotes",
            )
        return value

    def string_list(
        self, node: yaml.Node, path: str, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(
                node,
                path,
                f"expected a list of {what}, found {self._kind(node)}",
                hint="write a YAML list: one `- item` a line under the key, or [a, b]",
            )
        items: list[str] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            value = self.string(item, where)
            if not pattern.fullmatch(value):
                self.fail(
                    item,
                    where,
                    f"{value!r} is not a valid {what[:-1] if what.endswith('s') else what}",
                    hint=_LIST_ITEM_HINTS.get(what, f"correct {where} in {self.source}"),
                )
            if value in items:
                self.fail(item, where, f"{value!r} is listed twice", hint="keep one of them")
            items.append(value)
        return tuple(items)

    def listing(
        self, pattern: re.Pattern[str], what: str
    ) -> Callable[[yaml.Node, str], tuple[str, ...]]:
        """A reader of a list of ``what``, each matching ``pattern``."""
        return lambda node, path: self.string_list(node, path, pattern, what)

    def optional(
        self,
        entries: Mapping[str, tuple[yaml.Node, yaml.Node]],
        where: str,
        key: str,
        read: Callable[[yaml.Node, str], _T],
        default: _T,
    ) -> _T:
        """``read`` of ``key`` in ``entries`` (located at ``where.key``), or ``default`` when absent."""
        if key not in entries:
            return default
        return read(entries[key][1], f"{where}.{key}")

    def platforms(self, node: yaml.Node, path: str) -> tuple[Platform, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(
                node,
                path,
                "expected a non-empty list of platforms such as linux/amd64",
                hint=f"list at least one of {', '.join(Platform)}",
            )
        result: list[Platform] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            text = self.string(item, where)
            try:
                platform = Platform.parse(text)
            except ValueError as exc:
                self.fail(item, where, str(exc), hint=f"use one of {', '.join(Platform)}")
            if platform in result:
                self.fail(
                    item, where, f"platform {text!r} is listed twice", hint="keep one of them"
                )
            result.append(platform)
        return tuple(result)

    def matching(
        self,
        node: yaml.Node,
        path: str,
        value: str,
        rule: Callable[[str], object],
        problem: str,
        hint: str,
    ) -> str:
        """``value`` when ``rule`` accepts it, else a located error: ``'value' problem``."""
        if not rule(value):
            self.fail(node, path, f"{value!r} {problem}", hint=hint)
        return value

    def php_line(self, node: yaml.Node, path: str) -> str:
        text = self.scalar(node, path)
        return self.matching(
            node,
            path,
            text,
            is_php_line,
            _NOT_A_PHP_LINE,
            # 8.10 unquoted is read as written, not as the number 8.1: no need to quote it
            hint=f'write the PHP line as MAJOR.MINOR, e.g. {path.rsplit(".", 1)[-1]}: "8.4" '
            "(8.4, not 8.4.1)",
        )

    def ref(self, node: yaml.Node, path: str, text: str) -> Reference:
        """An image or repository on a registry a release can build from or publish to."""
        try:
            ref = reference.parse(text)
        except InvalidReferenceError as exc:
            self.fail(node, path, exc.message, hint=exc.hint)
        problem = ipv6_registry_problem(ref.domain)
        if problem:
            self.fail(node, path, problem, hint=IPV6_REGISTRY_HINT)
        return ref

    def env_name(self, node: yaml.Node, path: str) -> str | None:
        value = self.optional_string(node, path)
        if value is None:
            return None
        if not _ENV_NAME_RE.fullmatch(value):
            self.fail(node, path, f"{path.rsplit('.', 1)[-1]} {_NOT_AN_ENV_NAME}", _ENV_NAME_HINT)
        return value

    def mirror(self, node: yaml.Node, path: str) -> str | None:
        value = self.optional_string(node, path)
        if value is None:
            return None
        return _check_mirror(value, lambda msg, hint=None: self.fail(node, path, msg, hint))

    def directory(self, node: yaml.Node, path: str) -> str:
        return self.one_line(node, path).rstrip("/")

    def one_line(self, node: yaml.Node, path: str) -> str:
        """A string that goes into each Dockerfile: one line, no control characters."""
        value = self.string(node, path)
        problem = text_problem(value)
        if problem:
            self.fail(node, path, problem, hint=_ONE_LINE_HINT)
        return value

    def url(self, node: yaml.Node, path: str) -> str | None:
        """An optional absolute http(s) URL (``source_url``)."""
        value = self.optional_string(node, path)
        if value is None:
            return None
        problem = url_problem(value)
        if problem:
            shown = reference.hide_credentials(value) or value
            self.fail(
                node,
                path,
                f"{shown!r} {problem}",
                hint="give the repository's address, e.g. https://github.com/OWNER/REPO, or "
                "remove source_url",
            )
        return value

    def packages(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        return self.string_list(node, path, _PACKAGE_RE, "packages")

    def digest(self, node: yaml.Node, path: str) -> str:
        value = self.string(node, path)
        return self.matching(
            node,
            path,
            value,
            is_digest,
            _NOT_A_DIGEST,
            hint="copy the digest `publisher inspect IMAGE` shows, with its sha256: prefix",
        )

    def narrow_platforms(
        self,
        node: yaml.Node,
        path: str,
        wanted: tuple[Platform, ...],
        platforms: tuple[Platform, ...],
    ) -> tuple[Platform, ...]:
        """A line builds a subset of the top-level platforms, in their order."""
        extra = [p.value for p in wanted if p not in platforms]
        if extra:
            self.fail(
                node,
                path,
                f"{', '.join(extra)} is not in the top-level platforms ({', '.join(p.value for p in platforms)})",
                hint="a line builds some of the top-level platforms: add it to the top-level "
                "platforms, or remove it from the line",
            )
        return tuple(p for p in platforms if p in wanted)

    # -- the table

    def top_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key.section for key in self.keys if key.top))

    def section_keys(self, section: str) -> tuple[str, ...]:
        return tuple(
            key.name.split(".", 1)[1]
            for key in self.keys
            if key.top and "." in key.name and key.section == section
        )

    def line_keys(self) -> tuple[Key, ...]:
        return tuple(sorted((key for key in self.keys if key.line), key=lambda k: k.line_order))

    def settings(
        self,
        top: dict[str, tuple[yaml.Node, yaml.Node]],
        given: Mapping[str, _Value],
        then: Mapping[str, Callable[[], _Value]],
    ) -> dict[str, _Value]:
        """Every top-level setting of the table, read or defaulted, in table order.

        A key in ``given`` is not read from the file; a key in ``then`` is read (and
        checked), then replaced.
        """
        values = dict(given)
        mappings: dict[str, dict[str, tuple[yaml.Node, yaml.Node]]] = {}
        for key in self.keys:
            if not key.top or key.read is None or key.name in values:
                continue
            entries = top
            name = key.name
            if "." in key.name:
                if key.section not in mappings:
                    mappings[key.section] = (
                        self.mapping(
                            top[key.section][1], key.section, self.section_keys(key.section)
                        )
                        if key.section in top
                        else {}
                    )
                entries = mappings[key.section]
                name = key.name.split(".", 1)[1]
            if name in entries:
                node = entries[name][1]
                values[key.name] = _Value(key.read(self, node, key.name), node, key.name)
            else:
                default = key.default
                if isinstance(default, Derived):
                    default = default.compute({k: v.value for k, v in values.items()})
                values[key.name] = _Value(default, None, key.name)
            if key.name in then:
                values[key.name] = then[key.name]()
        return values

    # -- sections

    def refuse_tagged_collections(self, root_node: yaml.Node) -> None:
        """Refuse a list or a mapping tagged by hand (``!foo [a]``, ``!!python/tuple [a]``,
        ``!!set {a}``), located as a tagged scalar is: the tag means nothing to publisher,
        and read without it the value would be what no reader of the file expects. The
        keys left alone (``x-...``) are skipped, as their scalars are."""
        seen: set[int] = set()
        todo: list[tuple[yaml.Node, str]] = [(root_node, "")]
        while todo:
            node, path = todo.pop()
            if id(node) in seen or isinstance(node, yaml.ScalarNode):
                continue
            seen.add(id(node))
            listed = isinstance(node, yaml.SequenceNode)
            if node.tag != (_SEQ_TAG if listed else _MAP_TAG):
                kind = "a list" if listed else "a mapping"
                self.fail(
                    node,
                    path,
                    f"found {kind} tagged {_short_tag(node.tag)}: a matrix file's lists and "
                    "mappings carry no tag",
                    hint=f"remove the tag {_short_tag(node.tag)}",
                )
            if listed:
                todo.extend((item, f"{path}[{n}]") for n, item in enumerate(node.value))
                continue
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if not path and isinstance(name, str) and name.startswith(FREE_KEY_PREFIX):
                    continue
                inner = path if key.tag == MERGE_TAG or name is None else f"{path}.{name}"
                todo.extend([(key, path), (value, inner.lstrip("."))])

    def config(self, root_node: yaml.Node, root: str, env: Mapping[str, str]) -> Config:
        self.refuse_tagged_collections(root_node)
        top = self.mapping(
            root_node, "", self.top_keys(), ignored_prefix=FREE_KEY_PREFIX, belongs="top"
        )
        for required in ("registries", "lines", "default_line"):
            if required not in top:
                self.fail(
                    root_node,
                    required,
                    f"the required key {required!r} is missing",
                    hint=f"add {required}: to {self.source} (the README's matrix.yaml section shows "
                    "an example)",
                )

        # The environment: PUBLISHER_NAMESPACE replaces the file's namespace unread,
        # PUBLISHER_BASE_MIRROR replaces base.mirror once the file's value is checked.
        given: dict[str, _Value] = {}
        if env.get(ENV_NAMESPACE):
            namespace = env[ENV_NAMESPACE]
            if not reference.PATH_COMPONENT_RE.fullmatch(namespace):
                raise ConfigError(
                    f"{namespace!r} is not a valid namespace (lowercase ASCII letters, digits, '.', "
                    "'_', '-')",
                    source="environment",
                    field=ENV_NAMESPACE,
                    hint=f"set {ENV_NAMESPACE} to a namespace such as acme, or unset it to keep "
                    "matrix.yaml's",
                )
            given["namespace"] = _Value(namespace, None, ENV_NAMESPACE)
        then: dict[str, Callable[[], _Value]] = {}
        if env.get(ENV_BASE_MIRROR):
            text = env[ENV_BASE_MIRROR]
            then["base.mirror"] = lambda: _Value(
                _check_mirror(text, lambda msg, hint=None: _env_fail(ENV_BASE_MIRROR, msg, hint)),
                None,
                ENV_BASE_MIRROR,
            )
        values = self.settings(top, given, then)

        registries = self.registries(
            top["registries"][1],
            "registries",
            values["namespace"].value,
            values["image"].value,
            namespace_from_env=values["namespace"].path == ENV_NAMESPACE,
        )

        lines_node = top["lines"][1]
        if not isinstance(lines_node, yaml.SequenceNode) or not lines_node.value:
            self.fail(
                lines_node,
                "lines",
                "expected a non-empty list of PHP lines, each with a 'php' key",
                hint='list at least one line, e.g. lines: [{php: "8.4"}]',
            )
        line_keys = self.line_keys()
        lines: list[Line] = []
        seen: dict[str, yaml.Node] = {}
        for i, line_node in enumerate(lines_node.value):
            where = f"lines[{i}]"
            entries = self.mapping(
                line_node, where, tuple(key.field for key in line_keys), belongs="line"
            )
            if "php" not in entries:
                self.fail(
                    line_node,
                    f"{where}.php",
                    "each line needs a 'php' key, e.g. php: \"8.4\"",
                    hint='add php: "8.4" (the line, quoted) to it',
                )
            got = self.line_values(entries, where, line_keys, values)
            php, php_node = got["php"].value, entries["php"][1]
            if php in seen:
                first = seen[php].start_mark.line + 1
                self.fail(
                    php_node,
                    f"{where}.php",
                    f"PHP line {php} is listed twice (first on line {first})",
                    hint="keep one entry per PHP line, with the settings of both",
                )
            seen[php] = php_node
            line = self.line(got)
            for other in lines:
                # one tag for two lines: php -v would report another line than one of them
                if _same_image(other.base, line.base):
                    image = got["base_image"]
                    self.fail(
                        image.node or php_node,
                        image.path,
                        f"PHP {other.php} and {php} would both build FROM {line.base}",
                        hint="write {php} in the base image where the line goes, as in "
                        f"{DEFAULT_BASE_IMAGE}, or give each line its own base_image",
                    )
            lines.append(line)

        default_node = top["default_line"][1]
        default_line = self.php_line(default_node, "default_line")
        if default_line not in seen:
            self.fail(
                default_node,
                "default_line",
                f"default line {default_line} is not one of the configured lines ({', '.join(seen)})",
                hint=f"set default_line to one of {', '.join(seen)}, or add a line for "
                f"{default_line}",
            )

        model = {
            key.field: values[key.name].value
            for key in self.keys
            if key.name in values and key.field in _CONFIG_FIELDS
        }
        config = Config(
            **model,
            source=self.source,
            root=root,
            registries=registries,
            lines=tuple(sorted(lines, key=lambda ln: ln.key)),
            default_line=default_line,
            all_lines=tuple(sorted(seen, key=php_line_order)),
            written_at={
                name: (read.node.start_mark.line + 1, read.node.start_mark.column + 1)
                for name, read in values.items()
                if read.node is not None and read.node.start_mark is not None
            },
        )
        return _apply_env(config, env)

    def line_values(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        where: str,
        line_keys: tuple[Key, ...],
        inherited: Mapping[str, _Value],
    ) -> dict[str, _Value]:
        """The line's value of every key: its own if it may set it, else the inherited one."""
        got = {key.field: inherited[key.name] for key in self.keys if key.name in inherited}
        for key in line_keys:
            assert key.read is not None, f"{key.name}: a line key needs a reader"
            if key.field in entries:
                node = entries[key.field][1]
                path = f"{where}.{key.field}"
                value = key.read(self, node, path)
                if key.combine is not None and key.top:
                    value = key.combine(self, node, path, value, inherited[key.name].value)
                got[key.field] = _Value(value, node, path)
            elif not key.top:
                got[key.field] = _Value(key.default, None, f"{where}.{key.field}")
        return got

    def line(self, got: Mapping[str, _Value]) -> Line:
        """The Line: the table's values by field name, then the keys that combine."""
        php = got["php"].value
        image = got["base_image"]
        text = image.value.replace("{php}", php)
        base = (
            self.ref(image.node, image.path, text)
            if image.node is not None
            else reference.parse(text)
        )
        if base.tag is None and base.digest is None:
            self.fail(
                image.node,
                image.path,
                f"base image {text!r} needs a tag, e.g. php:{php}-fpm-alpine",
                hint=f"add the tag to {image.path}, e.g. php:{php}-fpm-alpine",
            )
        digest = got["base_digest"].value
        if digest is not None and base.digest not in (None, digest):
            pinned = got["base_digest"]
            self.fail(
                pinned.node,
                pinned.path,
                f"{digest} differs from the digest {image.path} pins ({base.digest})",
                hint=f"pin the base once: remove the @digest from {image.path}, or remove "
                f"{pinned.path}",
            )
        if digest is not None:
            base = Reference(base.domain, base.path, base.tag, digest)
        packages = got["packages"].value
        extensions = got["extensions"].value
        self.check_extensions_for_line(php, got["extensions"], got["php"].path)
        if (
            got["icu_data_full"].value
            and "intl" in extensions.install
            and ICU_DATA_FULL not in packages
        ):
            packages = (*packages, ICU_DATA_FULL)
        model = {name: value.value for name, value in got.items() if name in _LINE_FIELDS}
        return Line(
            **{
                **model,
                "base": base,
                "packages": packages,
                "size_budget_bytes": budget_bytes(got["size_budget_mb"].value),
                "dockerfile": f"{got['dockerfiles'].value}/{php}/Dockerfile",
            }
        )

    def check_extensions_for_line(self, php: str, value: _Value, php_path: str) -> None:
        """Refuse what PHP ``php`` cannot build (see ``PECL_MINIMUM``, ``OPCACHE_BUILT_IN``),
        located at the item written, before any build meets it as a compiler error."""
        where = php_path.rsplit(".", 1)[0]
        own = value.path.startswith(f"{where}.")
        key = php_line_order(php)
        extensions: Extensions = value.value
        if key >= OPCACHE_BUILT_IN and "opcache" in extensions.install:
            self.fail(
                self._item_node(value.node, "install", "opcache"),
                f"{value.path}.install",
                f"PHP {php} builds OPcache in; `docker-php-ext-install opcache` fails there",
                hint=(
                    f"leave opcache out of {where}.extensions.install"
                    if own
                    else f"{where} (PHP {php}) inherits the top-level extensions: give it its "
                    "own extensions, without opcache"
                )
                + " (it is loaded and enabled already)",
            )
        for package in extensions.pecl:
            name, _, version = package.partition("-")
            rule = PECL_MINIMUM.get(name)
            if rule is None or key < rule[0] or not version:
                continue
            given = pecl_version_key(version)
            if given < pecl_version_key(".".join(map(str, rule[1]))):
                shown = ".".join(map(str, rule[1]))
                before = f" (PECL orders {package} before {shown})" if given[0] == rule[1] else ""
                self.fail(
                    self._item_node(value.node, "pecl", package),
                    f"{value.path}.pecl",
                    f"PHP {php} needs {name} {shown} or newer; {package} does not build against "
                    f"it{before}",
                    hint=f"write {name}-{shown} or newer in "
                    + (f"{where}.extensions.pecl" if own else f"{value.path}.pecl"),
                )

    def _item_node(self, node: yaml.Node | None, key: str, item: str) -> yaml.Node | None:
        """The node of ``item`` in the list ``key`` of the mapping ``node`` (else ``node``)."""
        if not isinstance(node, yaml.MappingNode):
            return node
        for key_node, value_node in self.pairs(node, ""):
            if key_node.value == key and isinstance(value_node, yaml.SequenceNode):
                for entry in value_node.value:
                    if isinstance(entry, yaml.ScalarNode) and str(entry.value) == item:
                        return entry
        return node

    def pecl(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        """PECL packages, NAME-VERSION or NAME, each package once (one `pecl install` each)."""
        hint = "write NAME-VERSION as PECL names it, such as redis-6.3.0 or apcu-5.1.24"
        if not isinstance(node, yaml.SequenceNode):
            self.fail(
                node, path, f"expected a list of pecl packages, found {self._kind(node)}", hint
            )
        names: list[str] = []
        packages: list[str] = []
        for i, item in enumerate(node.value):
            value = self.string(item, f"{path}[{i}]")
            if not _PECL_RE.fullmatch(value) and _PECL_PADDED_RE.fullmatch(value):
                name, _, version = value.partition("-")
                self.fail(
                    item,
                    f"{path}[{i}]",
                    f"{value!r} is no PECL version: PECL writes a version's numbers without "
                    "leading zeros",
                    hint=f"write {name}-{re.sub(r'(?<![0-9])0+(?=[0-9])', '', version)}",
                )
            if not _PECL_RE.fullmatch(value):
                self.fail(item, f"{path}[{i}]", f"{value!r} is not a valid pecl package", hint)
            name = value.partition("-")[0]
            if name in names:
                self.fail(
                    item,
                    f"{path}[{i}]",
                    f"pecl package {name!r} is listed twice (first as {path}[{names.index(name)}])",
                    hint="keep one version of it",
                )
            names.append(name)
            packages.append(value)
        return tuple(packages)

    def registries(
        self,
        node: yaml.Node,
        path: str,
        namespace: str,
        image: str,
        *,
        namespace_from_env: bool = False,
    ) -> tuple[Registry, ...]:
        """The registries; ``namespace_from_env``: the namespace is PUBLISHER_NAMESPACE's, so
        a repository it makes invalid (too long) is that variable's mistake, said so."""
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(
                node,
                path,
                "expected a non-empty list of registries",
                hint="list at least one registry, e.g. - {name: dockerhub, repository: "
                "docker.io/acme/php-fpm}",
            )
        result: list[Registry] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            entries = self.mapping(item, where, _REGISTRY_KEYS)
            for required in ("name", "repository"):
                if required not in entries:
                    self.fail(
                        item,
                        f"{where}.{required}",
                        f"each registry needs {required!r}",
                        hint=f"add {required}: to this registry",
                    )
            name_node = entries["name"][1]
            name = self.string(name_node, f"{where}.name")
            if not _NAME_RE.fullmatch(name):
                self.fail(
                    name_node,
                    f"{where}.name",
                    f"{name!r} is not a valid name (lowercase ASCII letters, digits, '-', '_')",
                    hint="name it with lowercase ASCII letters, digits, '-' and '_', e.g. dockerhub",
                )
            repo_node = entries["repository"][1]
            raw = self.string(repo_node, f"{where}.repository")
            if "{namespace}" in raw and not namespace:
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    "uses {namespace} but no top-level 'namespace' is set",
                    hint="set a top-level namespace:, or write the namespace into the repository",
                )
            if "{image}" in raw and not image:
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    "uses {image} but no top-level 'image' is set",
                    hint="set a top-level image:, or write the image name into the repository",
                )
            text = raw.replace("{namespace}", namespace).replace("{image}", image)
            if namespace_from_env and "{namespace}" in raw:
                try:
                    reference.parse(text)
                except InvalidReferenceError as exc:
                    _env_fail(
                        ENV_NAMESPACE,
                        f"{clip(namespace, 40)!r} is not a valid namespace for "
                        f"{where}.repository ({raw}): {exc.message}",
                        f"set {ENV_NAMESPACE} to a shorter namespace such as acme, or unset it "
                        "to keep matrix.yaml's",
                    )
            repo = self.ref(repo_node, f"{where}.repository", text)
            if repo.tag or repo.digest:
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    "a repository may not carry a tag or digest",
                    hint="remove the :tag or @digest: publisher writes the tags itself",
                )
            first = text.split("/")[0]
            if "/" not in text or not ("." in first or ":" in first or first == "localhost"):
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    f"{text!r} does not name its registry; write it in full, "
                    "e.g. docker.io/acme/php-fpm or ghcr.io/acme/php-fpm",
                    hint="write the registry's host first, e.g. docker.io/acme/php-fpm",
                )
            primary = self.optional(entries, where, "primary", self.boolean, False)
            insecure = self.optional(entries, where, "insecure", self.boolean, None)
            if insecure and https_only(repo.domain):
                self.fail(
                    entries["insecure"][1],
                    f"{where}.insecure",
                    f"{repo.domain} answers only over HTTPS: plain HTTP would reach nothing, "
                    "or send its credentials and tokens unencrypted",
                    hint="remove insecure: true (it is for a registry of your own that serves "
                    "plain HTTP)",
                )
            user_env = self.optional(entries, where, "username_env", self.env_name, None)
            pass_env = self.optional(entries, where, "password_env", self.env_name, None)
            if bool(user_env) != bool(pass_env):
                self.fail(
                    item,
                    where,
                    "set both username_env and password_env, or neither",
                    hint="add the missing one (the NAME of the variable holding it), or remove "
                    "both to use the docker config",
                )
            if user_env and user_env == pass_env:  # the token sent as the user name too
                self.fail(
                    entries["password_env"][1],
                    f"{where}.password_env",
                    f"username_env and password_env both name {user_env}: the registry would "
                    "be sent one value as both the user name and the password",
                    hint="name the variable holding the user name in username_env and the one "
                    "holding the password or token in password_env",
                )
            for other in result:
                if other.name == name:
                    self.fail(
                        name_node,
                        f"{where}.name",
                        f"registry name {name!r} is used twice",
                        hint="give each registry its own name",
                    )
                if other.repository == repo:
                    self.fail(
                        repo_node,
                        f"{where}.repository",
                        f"repository {repo.name} is listed twice",
                        hint="list each repository once",
                    )
            result.append(Registry(name, repo, primary, user_env, pass_env, insecure))
        primaries = [r for r in result if r.primary]
        if len(primaries) != 1:
            self.fail(
                node,
                path,
                f"exactly one registry must be marked 'primary: true', found {len(primaries)}",
                hint="builds push to the primary; the others receive copies by digest",
            )
        return tuple(result)

    def extensions(self, node: yaml.Node, path: str) -> Extensions:
        entries = self.mapping(node, path, _EXTENSION_KEYS)
        install: tuple[str, ...] = self.optional(
            entries, path, "install", self.listing(_EXTENSION_RE, "extensions"), ()
        )
        for i, ext in enumerate(install):
            if ext not in BUNDLED_EXTENSIONS:
                self.fail(
                    entries["install"][1].value[i],
                    f"{path}.install[{i}]",
                    f"{ext!r} is not one of PHP's own extensions, which docker-php-ext-install "
                    f"builds{did_you_mean(ext, BUNDLED_EXTENSIONS)}",
                    hint="a PECL package (redis, apcu, imagick, xdebug, ...) goes in "
                    f"{path}.pecl as NAME-VERSION, such as apcu-5.1.24",
                )
        pecl: tuple[str, ...] = self.optional(entries, path, "pecl", self.pecl, ())
        configure: list[tuple[str, tuple[str, ...]]] = []
        if "configure" in entries:
            conf = entries["configure"][1]
            if not isinstance(conf, yaml.MappingNode):
                self.fail(
                    conf,
                    f"{path}.configure",
                    f"expected a mapping of extension → flags, found {self._kind(conf)}",
                    hint=f"write {path}.configure as `extension: [flags]` lines, e.g. gd: "
                    "[--with-jpeg]",
                )
            for key_node, value_node in self.pairs(conf, f"{path}.configure"):
                ext = self.string(key_node, f"{path}.configure")
                where = f"{path}.configure.{ext}"
                if ext not in install:
                    self.fail(
                        key_node,
                        where,
                        f"{ext!r} is configured but not in {path}.install",
                        hint=f"add {ext} to {path}.install, or remove its configure entry",
                    )
                if any(e == ext for e, _ in configure):
                    self.fail(
                        key_node,
                        where,
                        f"{ext!r} is configured twice",
                        hint="keep one entry for it",
                    )
                flags = self.string_list(value_node, where, _CONFIGURE_FLAG_RE, "configure flags")
                if not flags:  # `docker-php-ext-configure gd ;` would configure nothing
                    self.fail(
                        value_node,
                        where,
                        "an empty list of flags configures nothing",
                        hint=f"give {ext} the flags its ./configure takes, e.g. gd: "
                        "[--with-jpeg], or remove its configure entry (docker-php-ext-install "
                        "builds it with its defaults)",
                    )
                configure.append((ext, flags))
        return Extensions(install=install, configure=tuple(configure), pecl=pecl)


def _same_image(a: Reference, b: Reference) -> bool:
    """Whether ``a`` and ``b`` name one image: the same tag (whatever digest pins it)."""
    if a.tag is None or b.tag is None:
        return a == b
    return (a.domain, a.path, a.tag) == (b.domain, b.path, b.tag)


def _at_least(minimum: float, maximum: float | None = None, meaning: str = "") -> Read:
    def read(reader: _Reader, node: yaml.Node, path: str) -> float:
        reader.refuse_leading_zero(node, path)
        reader.refuse_yaml_1_2_number(node, path)
        untagged = reader.as_untagged(node, path)
        return reader.number(untagged, path, minimum=minimum, maximum=maximum, meaning=meaning)

    return read


#: Every key of matrix.yaml, one row each, in the order the top level lists them (in
#: hints and in the README). Adding a key that lines may override is one row with
#: ``line=True`` (and the field of the same name on ``Line`` that holds it).
KEYS: tuple[Key, ...] = (
    Key("namespace", _Reader.repository_part, ""),
    Key("image", _Reader.repository_part, ""),
    Key("title", _Reader.one_line, "PHP-FPM"),
    Key("description", _Reader.one_line, "PHP-FPM images for the development stack"),
    Key("source_url", _Reader.url, None),
    Key("registries"),
    Key(
        "platforms",
        _Reader.platforms,
        tuple(Platform),
        line=True,
        combine=_Reader.narrow_platforms,
        line_order=3,
    ),
    Key("default_line"),
    Key("base.image", _Reader.string, DEFAULT_BASE_IMAGE, line=True, line_order=1),
    Key("base.mirror", _Reader.mirror, None),
    Key(
        "size_budget_mb",
        _at_least(1, MAX_SIZE_BUDGET_MB, "MB: 1 TB"),
        DEFAULT_SIZE_BUDGET_MB,
        line=True,
        line_order=7,
    ),
    Key("size_regression_percent", _at_least(0), DEFAULT_SIZE_REGRESSION_PERCENT),
    Key("dockerfiles", _Reader.directory, DEFAULT_DOCKERFILES),
    Key("template", _Reader.one_line, Derived(lambda v: f"{v['dockerfiles']}/Dockerfile.j2")),
    Key("stand_in", _Reader.boolean, False),
    Key("icu_data_full", _Reader.boolean, True),
    Key("extensions", _Reader.extensions, Extensions(), line=True, line_order=4),
    Key("packages", _Reader.packages, (), line=True, line_order=5),
    Key("build_packages", _Reader.packages, (), line=True, line_order=6),
    Key("lines"),
    Key("php", _Reader.php_line, line=True, top=False, line_order=0),
    Key("base_digest", _Reader.digest, None, line=True, top=False, line_order=2),
    Key("frozen", _Reader.boolean, False, line=True, top=False, line_order=8),
)

_CONFIG_FIELDS = frozenset(f.name for f in fields(Config))
_LINE_FIELDS = frozenset(f.name for f in fields(Line))


#: What a base image mirror is written as.
_MIRROR_HINT = "give the mirror as HOST[:PORT][/PREFIX], e.g. mirror.gcr.io or 127.0.0.1:5000/hub"


def _check_mirror(value: str, fail: Callable[..., NoReturn]) -> str:
    value = value.rstrip("/")
    hidden = reference.hide_credentials(value)
    if hidden is not None:  # before any message that would echo the password
        fail(f"{hidden!r} carries credentials (user:password@)", hint=reference.CREDENTIALS_HINT)
    domain, _, prefix = value.partition("/")
    try:
        probe = reference.parse(f"{domain}/{prefix + '/' if prefix else ''}probe")
    except InvalidReferenceError:
        fail(
            f"{value!r} is not a registry host (with an optional path prefix), e.g. mirror.gcr.io",
            hint=_MIRROR_HINT,
        )
    if probe.domain != domain:
        fail(
            f"{value!r} must start with a registry host, e.g. mirror.gcr.io or 127.0.0.1:5000",
            hint=_MIRROR_HINT,
        )
    problem = ipv6_registry_problem(domain)
    if problem:
        fail(problem, hint=IPV6_REGISTRY_HINT)
    return value


def _env_fail(name: str, message: str, hint: str | None = None) -> NoReturn:
    raise ConfigError(message, source="environment", field=name, hint=hint)


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    if env.get(ENV_PLATFORMS):
        wanted: list[Platform] = []
        for text in split_list(
            env[ENV_PLATFORMS], ENV_PLATFORMS, "platform", "linux/amd64,linux/arm64"
        ):
            try:
                platform = Platform.parse(text)
            except ValueError as exc:
                _env_fail(
                    ENV_PLATFORMS,
                    str(exc),
                    hint=f"set {ENV_PLATFORMS} to some of {', '.join(Platform)}, comma-separated",
                )
            if platform not in config.platforms:
                configured = ", ".join(config.platforms)
                _env_fail(
                    ENV_PLATFORMS,
                    f"{platform} is not a configured platform (configured: {configured})",
                    hint=f"name some of {configured} in {ENV_PLATFORMS}, or unset it",
                )
            if platform not in wanted:
                wanted.append(platform)
        lines = tuple(
            Line(**{**line.__dict__, "platforms": tuple(p for p in line.platforms if p in wanted)})
            for line in config.lines
        )
        kept = tuple(ln for ln in lines if ln.platforms)
        config = Config(
            **{
                **config.__dict__,
                "platforms": tuple(p for p in config.platforms if p in wanted),
                "lines": kept,
                "narrowed_by": _narrowed(config, kept, ENV_PLATFORMS, env),
            }
        )
    if env.get(ENV_LINES):
        selected = _select_lines(config, parse_line_list(env[ENV_LINES], ENV_LINES), ENV_LINES)
        config = Config(
            **{
                **selected.__dict__,
                "narrowed_by": _narrowed(config, selected.lines, ENV_LINES, env),
                "env_lines": selected.line_names,
            }
        )
    return config


def _narrowed(
    config: Config, kept: tuple[Line, ...], name: str, env: Mapping[str, str]
) -> tuple[str, ...]:
    """``config.narrowed_by``, plus ``NAME=value`` when that override left out lines."""
    if len(kept) == len(config.lines):
        return config.narrowed_by
    return (*config.narrowed_by, f"{name}={env[name]}")


def split_list(text: str, field_name: str, noun: str, example: str) -> tuple[str, ...]:
    """The items of a comma-separated list (``--only``, ``PUBLISHER_PLATFORMS``), each stripped.

    An empty list, or an empty item (``8.4,,8.5``, a comma at either end), is
    refused rather than skipped: ``--only "$LINES"`` with an empty variable must
    not mean every line. ``field_name`` decides the kind of error (see
    ``parse_line_list``); ``noun`` names an item and ``example`` shows a valid list.
    """
    items = tuple(item.strip() for item in text.split(","))
    if not any(items):
        given = "an empty list" if not text.strip() else f"{text!r} names no {noun}"
        if field_name.startswith("-"):
            hint = f"leave out {field_name} to act on every {noun}"
        else:
            hint = f"unset {field_name} to use every configured {noun}"
        raise _input_error(
            field_name,
            f"{given}; name at least one {noun}, e.g. {example} (empty never means all)",
            hint=hint,
        )
    if not all(items):
        raise _input_error(
            field_name,
            f"{text!r} has an empty item (two commas in a row, or a comma at one end); "
            f"separate the {noun}s by single commas, e.g. {example}",
            hint=f"write the list again with one comma between items, e.g. {example}",
        )
    return items


def parse_line_list(text: str, field_name: str = "--only") -> tuple[str, ...]:
    """Parse ``8.4,8.5`` into a tuple of PHP lines.

    ``field_name`` is where the text came from: a command-line option (``--only``),
    whose mistakes are a ``UsageError``, or an environment variable, whose mistakes
    are a ``ConfigError`` located in the environment. An empty list or item is
    refused (``split_list``).
    """
    items = split_list(text, field_name, "PHP line", "8.4,8.5")
    for item in items:
        if not is_php_line(item):
            raise _input_error(
                field_name,
                f"{item!r} is not a PHP line; write MAJOR.MINOR such as 8.4",
                hint="name the PHP lines as matrix.yaml's lines do, e.g. 8.4,8.5",
            )
    return items


def _input_error(
    field_name: str, message: str, hint: str | None = None
) -> UsageError | ConfigError:
    """A command-line option's mistake (``--only``) or an environment variable's."""
    if field_name.startswith("-"):
        return UsageError(f"{field_name}: {message}", hint=hint)
    return ConfigError(message, source="environment", field=field_name, hint=hint)


def _select_lines(config: Config, php_lines: tuple[str, ...], field_name: str) -> Config:
    unknown = [p for p in php_lines if p not in config.line_names]
    if unknown:
        listed = ", ".join(unknown)
        verb = "is" if len(unknown) == 1 else "are"
        configured = ", ".join(config.all_lines or config.line_names)
        off = [p for p in unknown if p in config.all_lines]
        if off and config.narrowed_by:
            overrides = " and ".join(config.narrowed_by)
            selected = ", ".join(config.line_names) or "none"
            raise _input_error(
                field_name,
                f"{listed} {verb} left out by {overrides} (lines it leaves: {selected})",
                hint=f"configured lines: {configured}; change or unset "
                f"{' and '.join(o.split('=')[0] for o in config.narrowed_by)} to build the others",
            )
        raise _input_error(
            field_name,
            f"{listed} {verb} not configured; configured lines: {configured}",
            hint="add the line to matrix.yaml's lines, or choose a configured one",
        )
    lines = tuple(line for line in config.lines if line.php in php_lines)
    return Config(**{**config.__dict__, "lines": lines})
