"""Which PHP-FPM image a stack should run: the pre-built one, or a local build.

``publisher resolve`` and ``python -m publisher.resolve`` run this module; it is
also meant to be **vendored as a single file**: it imports nothing but the
Python standard library (3.9 or newer), so a stack may copy ``resolve.py`` next
to its launcher and run ``python3 resolve.py --format env``. It makes the same
decisions, with the same words, as the POSIX launcher ``examples/stack/start.sh``.

Inputs are environment variables (flags win), see :data:`OPTIONS`. The release's
**pins file** (``release-notes/vX.Y.Z.env``, written by ``publisher.core.pins``)
names every PHP line's image pinned by digest on the canonical registry and
the mirror, its platforms and its base; with it the reference is exact and
several verdicts need no request. A ``matrix.yaml`` is read only when named
with ``--matrix FILE`` (and then needs the publisher package).

The steps, each separate so tests can drive them with plain data:

1. :func:`parse_inputs` reads and checks the settings;
2. :func:`choose` (pure) picks the deterministic reference: the release pin
   ``vX.Y.Z-php-X.Y`` on the canonical registry (or the mirror), ``@digest``
   from the pins file;
3. the local docker image store, then the registry (:func:`probe`, one
   deadline), say whether it can be had for the platform it runs on (the docker
   engine's, unless PHP_IMAGE_PLATFORM or DOCKER_DEFAULT_PLATFORM names one);
4. :func:`decide` (pure) applies the rules: use the pre-built image, build
   locally from ``dockerfiles/<X.Y>/Dockerfile`` (when its base can be had),
   or stop with what went wrong and how to enable the fallback.

Exit codes: 0 use pre-built, 16 build locally, 17 cannot proceed; 2 invalid
input, 3 missing or broken pins file.

The registry probe is a small HTTP/1.1 client on ``socket`` (``ssl`` for
https): by tag, GET the manifest with the OCI and Docker media types, answer a
``Bearer`` or ``Basic`` challenge, check the index lists the platform and GET the
image manifest it lists for it (its digest, size and shape checked); pinned (a digest
and its platforms from the pins file), one HEAD, or one GET of the index where a
registry refuses HEAD or its answer names no manifest. It
honours ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (loopback registries are
never proxied, as with docker). Credentials come from
``PHP_IMAGE_REGISTRY_USERNAME``/``PHP_IMAGE_REGISTRY_PASSWORD`` or the docker
config (``auths``, ``credHelpers``, ``credsStore``); they go only to the
registry and its token realm and never into a result.

Its "registry core" section is the one copy of what this probe and publisher's
full registry client share (media types, platforms, loopback hosts, proxies,
``WWW-Authenticate`` challenges, the docker config and credential helpers, the
PHP-line grammar and pin tags): the rest of the package imports those from here.
"""

from __future__ import annotations

import base64
import codecs  # loaded at startup: free
import contextlib  # already loaded by dataclasses: free
import enum
import errno  # built in: free
import hashlib
import json
import os
import re
import socket
import stat  # already loaded by os: free
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, quote_plus, unquote, urlencode, urljoin, urlsplit

if sys.version_info < (3, 9):  # noqa: UP036  (vendored copies meet older interpreters)
    # Exit 17, "cannot proceed", as every other refusal of resolve's (1 is a bug).
    # Worded as every other refusal: the decision line, then `error:` and a `  tip:`.
    sys.stderr.write(
        "resolve: decision=none error=python-too-old\n"
        f"error: resolve.py needs Python 3.9 or newer, this is {sys.version.split()[0]}\n"
        "  tip: install a newer python3, or start the stack with start.sh, which needs no "
        "Python\n"
    )
    sys.exit(17)

# --------------------------------------------------------------------------- errors

EXIT_USE_PREBUILT = 0
EXIT_BUILD_LOCALLY = 16
EXIT_CANNOT_PROCEED = 17
EXIT_INVALID_INPUT = 2
EXIT_PINS = 3
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_OUTPUT_CLOSED = 141  # stdout's reader went away (128 + SIGPIPE)


class Problem(Exception):
    """A message for people, and a hint saying what to do."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


def _bytes_back(exc: UnicodeError) -> tuple[bytes, int]:
    """``fs_text``'s error handler: a byte Python could not decode (a lone surrogate,
    U+DC80 to U+DCFF) written back as that byte; any other character the encoding has no
    bytes for (a "…" of a message) as its UTF-8."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    said = b"".join(
        bytes([ord(c) - 0xDC00])
        if 0xDC80 <= ord(c) <= 0xDCFF
        else c.encode("utf-8", "surrogatepass")
        for c in exc.object[exc.start : exc.end]
    )
    return said, exc.end


codecs.register_error("publisher-bytes", _bytes_back)


def fs_text(text: str, encoding: str | None = None) -> str:
    """A path, or text naming one, as its bytes say it, the same in every locale: Python
    decodes argv, the environment and file names with the locale's encoding (ASCII under
    LC_ALL=C with PYTHONUTF8=0, where "ü" is two lone surrogates; ISO-8859-1, where it
    is "Ã¼"), so each is encoded back (``os.fsencode``) and read as UTF-8, a byte that is
    not UTF-8 held as a lone surrogate (``printable`` writes it ``\\xff``). A character
    the encoding has no bytes for is a message's own ("…") and stays as it is."""
    encoding = encoding or sys.getfilesystemencoding()
    if codecs.lookup(encoding).name == "utf-8":
        return text
    return text.encode(encoding, "publisher-bytes").decode("utf-8", "surrogateescape")


#: A run of bytes Python could not decode (lone surrogates): UTF-8 under a locale that
#: is not (LC_ALL=C with PYTHONUTF8=0 holds each byte of "ü" so).
_UNDECODED = re.compile("[\udc80-\udcff]+")


def printable(value: str) -> str:
    """``value`` with each byte that is not UTF-8 (a lone surrogate ``\\udcff``) written
    ``\\xff``, as text any file or JSON reader takes; the rest as it is (bytes a locale
    that is not UTF-8 could not decode read as UTF-8: "ü", not ``\\xc3\\xbc``)."""
    value = _UNDECODED.sub(
        lambda run: bytes(ord(c) - 0xDC00 for c in run[0]).decode("utf-8", "surrogateescape"),
        value,
    )
    return "".join(
        f"\\x{ord(c) - 0xDC00:02x}"
        if 0xDC80 <= ord(c) <= 0xDCFF
        else f"\\u{ord(c):04x}"
        if 0xD800 <= ord(c) <= 0xDFFF
        else c
        for c in value
    )


#: A value quoted with ``repr`` (``{value!r}``): '...' or "..." after no letter or digit (not
#: the apostrophe of "leg's"), each backslash in it the start of an escape.
_REPR_LITERAL = re.compile(r"""(?<!\w)(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")
#: The escapes ``repr`` writes lone surrogates as: an odd run of backslashes before a run
#: of ``udcXX`` (an even run is backslashes of the value itself, each written twice).
_REPR_SURROGATE = re.compile(r"(?<!\\)((?:\\\\)*)((?:\\udc[89a-f][0-9a-f])+)")


def _repr_bytes(escapes: str) -> str:
    """A run of ``\\udcXX`` escapes ``repr`` wrote, as its bytes say: the UTF-8 among them
    as the characters they are (``repr`` would show: "ü", an invisible one escaped), each
    other byte ``\\xff``."""
    text = bytes(int(escapes[i + 4 : i + 6], 16) for i in range(0, len(escapes), 6)).decode(
        "utf-8", "surrogateescape"
    )
    return "".join(
        c
        if c.isprintable()
        else f"\\x{ord(c) - 0xDC00:02x}"
        if 0xDC80 <= ord(c) <= 0xDCFF
        else repr(c)[1:-1]
        for c in text
    )


def repr_bytes(text: str) -> str:
    """``text``, a value ``repr`` quoted, with each run of lone surrogates it wrote as
    ``\\udcXX`` escapes (bytes Python could not decode) written as its bytes say
    (``_repr_bytes``): "ü" for ``\\udcc3\\udcbc`` (UTF-8 under LC_ALL=C), ``\\xff``."""
    return _REPR_SURROGATE.sub(lambda run: run[1] + _repr_bytes(run[2]), text)


def message_text(text: str) -> str:
    """A message or tip as it is shown (stderr, the step summary, a JSON error): each byte
    that is not UTF-8 written ``\\xff``, whether the message holds the value itself (a
    path) or quotes it (``{value!r}`` writes ``\\udcff``: ``repr_bytes``), as ``printable``
    writes it, and UTF-8 Python held as such bytes as the characters it is. Only a quoted
    value's escapes are rewritten: a path held as it is keeps its backslashes
    (``C:\\udcache`` is a folder name, not an escape). Both entry points of resolve, and
    publisher's every message, show them so."""
    return printable(_REPR_LITERAL.sub(lambda quoted: repr_bytes(quoted[0]), text))


#: A control character but LF, which resolve's messages write escaped (a CR in a path would
#: make a terminal overwrite the line): ``\t``, ``\r``, else ``\xNN``, as start.sh writes it.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_CONTROL_ESCAPES = {"\t": "\\t", "\r": "\\r"}


def without_controls(text: str) -> str:
    """``text`` with each control character but LF escaped: a path holding one, as given."""
    return _CONTROL.sub(lambda c: _CONTROL_ESCAPES.get(c[0], f"\\x{ord(c[0]):02x}"), text)


def shown_text(text: str) -> str:
    """A message or a decision's summary as stderr shows it: ``message_text``, each control
    character but LF escaped."""
    return without_controls(message_text(text))


class ResolveError(Problem):
    """Invalid input (exit 2); :class:`PinsError` is an unreadable pins file (exit 3).

    ``error`` is the word the ``decision=none error=…`` line gives a script for it (start.sh
    uses the same words for the same exit codes).
    """

    exit_code = EXIT_INVALID_INPUT
    error = "invalid-input"


class WorkdirError(ResolveError):
    """The current directory is gone: nothing relative can be read (exit 17)."""

    exit_code = EXIT_CANNOT_PROCEED
    error = "file-access"


def _under(cwd: Path | None, path: str | os.PathLike[str]) -> Path:
    """``path`` taken from ``cwd``, the working directory (None: it was gone when the run
    started, said as WorkdirError only now that a relative path needs it, as the launcher
    says it only for a relative PHP_PINS_FILE or PHP_DOCKERFILES)."""
    return (cwd if cwd is not None else _working_directory()) / path


def _working_directory() -> Path:
    """The current directory, which relative paths (the pins file, dockerfiles/) start
    from; WorkdirError when it was removed since the shell entered it."""
    try:
        return Path.cwd()
    except OSError as exc:
        raise WorkdirError(
            f"the current directory cannot be read ({exc.strerror or exc}): it was removed "
            "or renamed after this shell entered it, so no pins file or Dockerfile can be "
            "found from it",
            hint='cd into the stack\'s directory again (`cd "$PWD"` takes a recreated one) and '
            "rerun",
        ) from None


class PinsError(ResolveError):
    exit_code = EXIT_PINS
    error = "pins-file"

    def __init__(self, message: str, *, source: str, hint: str | None = None) -> None:
        super().__init__(f"{source}: {message}", hint=hint)
        self.source = source


# --------------------------------------------------------------------------- names

PLATFORMS = ("linux/amd64", "linux/arm64")
#: The longest image tag (the OCI distribution grammar); a release's numbers fit one too.
TAG_MAX = 128
_NUM = rf"(?:0|[1-9][0-9]{{0,{TAG_MAX - 1}}})"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_RELEASE_RE = re.compile(rf"v{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?")
# The reference grammar (distribution/reference), one copy: ``publisher.core.reference``
# explains each refusal in words with these same patterns.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
TAG_RE = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{TAG_MAX - 1}}}")
PORT_MAX = 65535
_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
DOCKER_HUB = "docker.io"


def is_release(text: str) -> bool:
    """``v`` + SemVer 2.0 without build metadata, e.g. ``v2.0.0`` or ``v2.1.0-rc.1``, that
    can be published (``release_problem``)."""
    return bool(_RELEASE_RE.fullmatch(text)) and release_problem(text) is None


#: The longest release tag: its pin tag of any PHP line (``-php-`` + up to ``999.999``)
#: still fits an image tag.
RELEASE_MAX = TAG_MAX - len("-php-999.999")


def release_problem(text: str) -> str | None:
    """Why a tag shaped as ``v`` + SemVer cannot be published, in words; None when it can:
    a pin tag's shape (``v2.0.0-php-8.4``, whose own pins would read as pins of v2.0.0), or
    more characters than leave room for its pin tags (``publisher.core.version`` and every
    command refuse the same, in the same words)."""
    if split_pin_tag(text) is not None:
        return "it looks like a pin tag (…-php-X.Y)"
    if len(text) > RELEASE_MAX:
        return (
            f"it has {len(text)} characters, more than {RELEASE_MAX}: its pin tags "
            f"(…-php-X.Y) would not fit the {TAG_MAX} characters of an image tag"
        )
    return None


def short_digest(digest: str | None, absent: str = "(absent)") -> str:
    """``sha256:0123456789ab…``: a digest as tables and messages show it (``absent`` for none)."""
    if not digest:
        return absent
    return digest if len(digest) <= 19 else digest[:19] + "…"


def is_digest(text: str) -> bool:
    return bool(_DIGEST_RE.fullmatch(text))


def sha256_digest(data: bytes) -> str:
    """The content digest of ``data``: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Repository:
    """A normalized repository: ``docker.io/library/php`` for ``php``."""

    domain: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ImageRef:
    repository: Repository
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.repository.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def small_number(text: str, most: int) -> int | None:
    """``text`` as a whole number if it is ASCII digits worth at most ``most``, else None.

    Lengths are compared first: ``int()`` refuses strings of over 4300 digits, and a
    registry, a proxy setting or an image may send any number of them.
    """
    if not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(most)):
        return None
    value = int(digits)
    return value if value <= most else None


#: DNS: a name's labels are at most 63 characters, the whole name at most 253.
LABEL_MAX = 63
HOST_NAME_MAX = 253


def domain_problem(domain: str) -> str | None:
    """What no registry ``domain`` (a host the grammar accepts, with its port) can be, or
    None: a name no DNS holds (a label over 63 characters, a name over 253), a port out
    of 1-65535. Refused before any request: the HTTP clients fail on them with errors of
    their own (``UnicodeError``, ``LocationParseError``, ``ValueError``)."""
    bracketed = domain.startswith("[")
    host, colon, port = domain.rpartition(":") if not domain.endswith("]") else ("", "", "")
    host = host if colon else domain
    if not bracketed:
        if len(host) > HOST_NAME_MAX:
            return f"registry host is {len(host)} characters long: a host name is at most {HOST_NAME_MAX}"
        label = max(host.split("."), key=len)
        if len(label) > LABEL_MAX:
            shown = label[:12] + "…"
            return (
                f"registry host label {shown!r} is {len(label)} characters long: "
                f"a label is at most {LABEL_MAX}"
            )
    if not colon or not port.isdigit() or small_number(port, PORT_MAX) not in (None, 0):
        return None
    shown = port if len(port) <= 12 else port[:12] + "…"
    return f"registry port {shown} is out of range: a port is 1 to {PORT_MAX}"


_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: What follows '@' in a reference with a digest of any algorithm (only sha256 passes later).
_DIGEST_LIKE_RE = re.compile(r"(?:[a-z0-9]+(?:[+._-][a-z0-9]+)*:)?[0-9a-fA-F]{32,}")
#: A digest mistyped after '@' (``sha512:aa``, ``sha256:xyz``): an algorithm's name (letters
#: then digits, as sha256, sha512, blake3, md5), ':' and what is no port, which no
#: ``user:password@host[:port]`` ends with.
_DIGEST_TYPED_RE = re.compile(r"[a-z]+[0-9]+(?:[+_-][a-z0-9]+)*:(?![0-9]*$)[A-Za-z0-9=_.-]*")


def hide_credentials(text: str) -> str | None:
    """``text`` with the ``user:password@`` it starts with (after an optional ``scheme://``)
    shown as ``***@``, or None when it carries none.

    An ``@`` is a digest's unless what follows it is no digest (a host:
    ``alice:s3cret@registry.example/team/php``), or another ``@`` comes before it
    (``alice@registry.example/team/php@sha256:...``); the password may hold any character.
    """
    scheme = _SCHEME_RE.match(text)
    start = scheme.end() if scheme else 0
    rest = text[start:]
    at = rest.rfind("@")
    if at == -1:
        return None
    after = rest[at + 1 :]
    if not (
        after.startswith("sha256:")
        or _DIGEST_LIKE_RE.fullmatch(after)
        or _DIGEST_TYPED_RE.fullmatch(after)
    ):
        return text[:start] + "***" + rest[at:]
    if scheme:  # before a digest: the authority's
        authority = rest.split("/", 1)[0]
        at = authority.rfind("@")
        return None if at == -1 else text[:start] + "***" + rest[at:]
    # another '@' before a digest, followed by no digest: a user or token before a host
    # (`token@ghcr.io/team/php@sha256:...`), not a digest typed twice
    at = rest.rfind("@", 0, at)
    between = rest[at + 1 :].partition("@")[0]
    if at == -1 or between.startswith("sha256:") or _DIGEST_LIKE_RE.fullmatch(between):
        return None
    return "***" + rest[at:]


def parse_reference(text: str) -> ImageRef:
    """Parse ``[domain/]path[:tag][@digest]`` the way docker normalizes it; ValueError if not."""
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not is_digest(digest):
            raise ValueError(f"{digest!r} is not a sha256 digest")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not TAG_RE.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a valid tag")
    parts = rest.split("/")
    if len(parts) > 1 and (
        "." in parts[0]
        or ":" in parts[0]
        or parts[0] == "localhost"
        or parts[0] != parts[0].lower()
    ):
        domain, path_parts = parts[0], parts[1:]
        if not DOMAIN_RE.fullmatch(domain):
            raise ValueError(f"{domain!r} is not a registry host")
        problem = domain_problem(domain)
        if problem:
            raise ValueError(problem)
    else:
        domain, path_parts = DOCKER_HUB, parts
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and len(path_parts) == 1:
        path_parts = ["library", *path_parts]
    if not all(PATH_COMPONENT_RE.fullmatch(p) for p in path_parts):
        raise ValueError(
            "a repository path is lowercase ASCII letters, digits and separators ('.', '_', '-')"
        )
    return ImageRef(Repository(domain, "/".join(path_parts)), tag, digest)


def parse_repository(text: str) -> Repository:
    """A repository name with neither tag nor digest; ValueError otherwise."""
    ref = parse_reference(text)
    if ref.tag is not None or ref.digest is not None:
        raise ValueError("a repository name may not have a tag or digest here")
    return ref.repository


def is_repository_name(text: str) -> bool:
    """Whether ``text`` is a repository name with neither tag nor digest (``php``,
    ``localhost:5000/php``), never a user or token (``alice:pw``, ``ghp_AbC``)."""
    if not text.isascii() or "@" in text:
        return False
    try:
        parse_repository(text)
    except ValueError:
        return False
    return True


def sort_lines(lines: Any) -> tuple[str, ...]:
    def key(php: str) -> tuple[int, ...]:
        try:
            return php_line_order(php)
        except ValueError:
            return (1 << 30,)

    return tuple(sorted(set(lines), key=key))


# =========================================================================== the registry core
#
# The one copy of what both sides of publisher need to talk to a registry: media
# types, the platform of a descriptor, the host's platform, loopback hosts, the proxy
# a request goes through, auth challenges, the docker config and its credential helpers. The probe below uses
# it, and the full client (``publisher.core`` and ``publisher.adapters``) imports it
# from here instead of keeping its own copy, so this file stays one
# self-contained, stdlib-only piece that stacks can still vendor.

DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"

# --------------------------------------------------------------------------- media types

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_TYPES = INDEX_TYPES | IMAGE_TYPES
#: The Accept header for manifest requests, preferred types first.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
#: Largest manifest accepted (the distribution registry's own limit is 4 MiB).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

#: buildx's attestation entries of an index: this annotation, platform unknown/unknown.
REFERENCE_TYPE = "vnd.docker.reference.type"
#: ... and the image an attestation entry attests, by digest.
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION = "attestation-manifest"
UNKNOWN_PLATFORM = "unknown/unknown"

# --------------------------------------------------------------------------- platforms

#: Machine and architecture names (``uname -m``, docker's ``Architecture``) that are
#: not the OCI architecture they mean. A 32-bit machine is named as its docker engine
#: names itself (``docker version``: ``linux/arm``, ``linux/386``), the launcher's name.
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv8": "arm64",
    "armv8l": "arm64",
    **dict.fromkeys(("armv5l", "armv5tel", "armv6l", "armv7l", "armhf", "armel"), "arm"),
    **dict.fromkeys(("i386", "i486", "i586", "i686", "x86"), "386"),
}
#: The variants an image for ``linux/arm`` (no variant: a 32-bit ARM engine's own name)
#: may have, as docker picks one for ``docker pull --platform linux/arm``.
_ARM_VARIANTS = ("", "v7", "v6", "v5")


def serves(wanted: str, listed: str) -> bool:
    """Whether an image for the platform ``listed`` (an index's ``linux/arm/v7``) is the one
    docker runs for ``wanted`` (the engine's ``linux/arm``): the same platform, or an
    ``arm`` image of a variant docker takes for ``linux/arm``."""
    if wanted == listed:
        return True
    os_name, _, variant = listed.partition("/arm/")
    return wanted == f"{os_name}/arm" and variant in _ARM_VARIANTS


def platform_key(platform: Mapping[str, Any] | None) -> str | None:
    """``linux/amd64`` from a descriptor's ``platform`` object (or an image config's
    fields); ``linux/arm64`` also for variant v8, other variants kept
    (``linux/arm/v7``); missing fields read ``unknown``."""
    if not platform:
        return None
    os_name = str(platform.get("os", "unknown"))
    arch = str(platform.get("architecture", "unknown"))
    variant = platform.get("variant")
    if variant and not (arch == "arm64" and variant == "v8"):
        return f"{os_name}/{arch}/{variant}"
    return f"{os_name}/{arch}"


def platform_of(entry: Mapping[str, Any]) -> str | None:
    """The platform of an index entry or an image config; None when it names none, or
    ``unknown`` (an attestation)."""
    plat = entry.get("platform", entry)
    if not isinstance(plat, Mapping):
        return None
    os_name, arch = plat.get("os"), plat.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or "unknown" in (os_name, arch):
        return None
    return platform_key(plat)


def platform_fields(platform: str | Mapping[str, Any]) -> dict[str, str]:
    """A descriptor's ``platform`` object from ``linux/arm/v7`` or from an image config."""
    if isinstance(platform, str):
        parts = platform.split("/")
        os_name, arch = parts[0], parts[1] if len(parts) > 1 else ""
        variant: Any = parts[2] if len(parts) > 2 else None
    else:
        os_name = str(platform.get("os", ""))
        arch = str(platform.get("architecture", ""))
        variant = platform.get("variant")
    fields = {"architecture": arch, "os": os_name}
    if variant:
        fields["variant"] = str(variant)
    return fields


def host_platform(system: str, machine: str, *, arm64_hardware: bool = False) -> str:
    """The platform to run natively (pure).

    ``arm64_hardware`` says an x86_64 process runs translated on Apple Silicon
    (Rosetta), where docker runs arm64 containers natively.
    """
    if system == "Darwin" and arm64_hardware:
        return "linux/arm64"
    arch = machine.lower()
    return f"linux/{_ARCH_ALIASES.get(arch, arch) or 'unknown'}"


def detect_host_platform() -> str:
    """The host's platform: linux/arm64 on Apple Silicon and ARM Linux, linux/amd64 on x86."""
    uname = os.uname() if hasattr(os, "uname") else None
    if uname is None:  # Windows
        import platform

        return host_platform(platform.system(), platform.machine())
    arm64_hardware = False
    if uname.sysname == "Darwin" and uname.machine == "x86_64":
        arm64_hardware = _darwin_arm64_hardware()
    return host_platform(uname.sysname, uname.machine, arm64_hardware=arm64_hardware)


def _darwin_arm64_hardware() -> bool:  # pragma: no cover - macOS only
    try:
        status, out = run_command(["sysctl", "-n", "hw.optional.arm64"], b"", 1.0)
    except (OSError, TimeoutError):
        return False
    return status == 0 and out.strip() == b"1"


# --------------------------------------------------------------------------- PHP lines and pins

#: A PHP line: MAJOR.MINOR without leading zeros (``8.4``, ``8.10``), each at most 3
#: digits (no file name, tag or int() is asked to hold thousands).
PHP_LINE = r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
_PHP_LINE_RE = re.compile(PHP_LINE)
_PIN_TAG_RE = re.compile(rf"(?P<release>v.+)-php-(?P<php>{PHP_LINE})")


def is_php_line(text: str) -> bool:
    return bool(_PHP_LINE_RE.fullmatch(text))


def php_line_order(php: str) -> tuple[int, ...]:
    """The sort key of a PHP line: ``8.10`` after ``8.9``. ValueError if not numeric."""
    return tuple(int(part) for part in php.split("."))


def pin_tag(release: str, php: str) -> str:
    """``v2.0.0-php-8.4``: the tag a release pins one PHP line's image with."""
    return f"{release}-php-{php}"


def split_pin_tag(tag: str) -> tuple[str, str] | None:
    """(release, PHP line) of a ``<release>-php-X.Y`` tag, else None; the release part is
    any text after ``v`` here, for the caller to check."""
    found = _PIN_TAG_RE.fullmatch(tag)
    return (found["release"], found["php"]) if found else None


# --------------------------------------------------------------------------- hosts


def api_host(host: str) -> str:
    """The host that serves the registry API (Docker Hub's is ``registry-1.docker.io``)."""
    return DOCKER_HUB_API if host in (DOCKER_HUB, "index.docker.io") else host


def _ipv4_octets(name: str) -> list[int] | None:
    """The four numbers of a dotted-quad address, strictly: no leading zeros, each at most
    255 (``127.000.000.001`` is no address: resolvers differ on what it means)."""
    parts = name.split(".")
    if len(parts) != 4:
        return None
    octets = []
    for part in parts:
        octet = small_number(part, 255) if not (len(part) > 1 and part[0] == "0") else None
        if octet is None:
            return None
        octets.append(octet)
    return octets


#: A ``Link`` header's next page (``<URL>; rel="next"``), as a paginated tag list sends it.
_NEXT_LINK_RE = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


class LinkElsewhere:
    """A next-page ``Link`` off the registry's origin, not followed with its credentials:
    ``other`` is ``"scheme"`` (the registry's own host, another scheme: a TLS terminator's
    rewrite) or ``"host"``; ``host`` is as the Link names it, with no user info. A plain
    class, not a dataclass: one costs half a millisecond of the launcher's import."""

    __slots__ = ("host", "other", "scheme")

    def __init__(self, other: str, scheme: str, host: str) -> None:
        self.other, self.scheme, self.host = other, scheme, host

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"


def next_page(link: str, url: str, base: str) -> str | LinkElsewhere | None:
    """The next page a ``Link`` header names (``rel="next"``), relative or absolute,
    resolved against ``url``, the page's own: its absolute URL on ``base``'s origin (the
    registry's: ``same_origin``, where its credentials may go), else ``LinkElsewhere``;
    None when it names none. ValueError for a malformed one (an unclosed IPv6 bracket).
    The probe and the registry client each say a ``LinkElsewhere`` in their words."""
    match = _NEXT_LINK_RE.search(link)
    if not match:
        return None
    following = urljoin(url, match.group(1).strip())
    if same_origin(following, base):
        return following
    theirs = urlsplit(following)
    other = "scheme" if theirs.netloc.lower() == urlsplit(base).netloc.lower() else "host"
    return LinkElsewhere(other, theirs.scheme, theirs.netloc.rpartition("@")[2])


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs name the same scheme, host and port: where credentials may go
    (a redirect elsewhere, or off TLS, must not carry them)."""
    mine, theirs = urlsplit(url), urlsplit(other)
    return (mine.scheme, mine.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1`` (also IPv4-mapped), with or without a port
    (``[::1]:5000``; a bare IPv6 address has no port)."""
    if host.startswith("["):
        if "]" not in host:
            return False
        name = host[1 : host.find("]")]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name.lower() == "localhost":
        return True
    octets = _ipv4_octets(name)
    if octets is not None:
        return octets[0] == 127
    if ":" not in name:
        return False
    try:
        packed = socket.inet_pton(socket.AF_INET6, name)
    except (OSError, ValueError):
        return False
    if packed == bytes(15) + b"\x01":
        return True
    return packed[:12] == bytes(10) + b"\xff\xff" and packed[12] == 127  # ::ffff:127.x.y.z


#: What to write instead of a registry named by its IPv6 address (``ipv6_registry_problem``).
IPV6_REGISTRY_HINT = (
    "name the registry by a host name that resolves to that address: localhost for ::1, "
    "else a name in DNS or /etc/hosts (e.g. `fd00::2 registry.internal`, then "
    "registry.internal:5000/team/php-fpm)"
)


def ipv6_registry_problem(domain: str) -> str | None:
    """Why a release cannot build from or publish to a registry ``domain`` (its host and
    port) written as a bracketed IPv6 address (``[::1]:5000``), or None for any other.

    The one rule for every registry address a matrix names (its registries, its base
    image, its mirror): buildah 1.28 and skopeo 1.9 (Debian 12's) refuse such a reference
    ("invalid reference format"), after the images are pushed in the smoke test's case,
    and the pins file and the stack's start.sh, which read its values in shell, hold no
    brackets. publisher's own client reads them (``resolve --repository``, ``inspect``)."""
    if not domain.startswith("["):
        return None
    return (
        f"{domain} is an IPv6 address: buildah and skopeo cannot read a reference to it "
        "(invalid reference format), nor can the pins file and the stack's start.sh hold it"
    )


# --------------------------------------------------------------------------- proxies
#
# Which proxy a request goes through, one rule for every request publisher makes (this
# probe's, the registry client's, the GitHub client's), as docker and the Go tools
# (buildah, skopeo) decide it for the requests they make.


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy from ``HTTPS_PROXY``/``HTTP_PROXY`` (``http://[user:pass@]host:port``)."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)
    #: the variable it was read from, as it is set (``HTTPS_PROXY`` or ``https_proxy``)
    variable: str = "HTTPS_PROXY"
    #: ``user:password`` percent-encoded (each part as ``quote`` writes it), or ""
    userinfo: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def named(self) -> str:
        """``the proxy HOST:PORT (HTTPS_PROXY)``: where it is and where it came from."""
        return f"the proxy {self} ({self.variable})"

    def url(self) -> str:
        """The proxy as a URL with its credentials, for a client that takes one."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{self.userinfo + '@' if self.userinfo else ''}{host}:{self.port}"


def _no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (comma separated: ``*``, names, ``.suffix``, ``name:port``,
    IP addresses, CIDR blocks) exempts ``host``."""
    name = host.strip("[]").lower()
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port = None
        if entry.count(":") == 1 and not entry.startswith("["):
            entry, _, port_text = entry.partition(":")
            entry_port = small_number(port_text, PORT_MAX)
        entry = entry.strip("[]")
        if entry_port is not None and entry_port != port:
            continue
        if "/" in entry:
            import ipaddress

            try:
                if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry.lstrip(".")
        if name == suffix or name.endswith("." + suffix):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int, env: Mapping[str, str]) -> Proxy | None:
    """The proxy for a request (None: direct), as docker decides it: ``HTTPS_PROXY`` for
    https, ``HTTP_PROXY`` for http (lower case names too, which win), never for loopback
    hosts nor for hosts ``NO_PROXY`` names; ``ALL_PROXY`` is not read. Raises ValueError
    for a proxy URL it cannot use (naming the variable, never repeating its value)."""
    if is_loopback(host):
        return None
    name = "https_proxy" if scheme == "https" else "http_proxy"
    variable = name if env.get(name) else name.upper()
    value = env.get(variable)
    if not value:
        return None
    if _no_proxy_matches(host, port, env.get("no_proxy") or env.get("NO_PROXY") or ""):
        return None
    try:
        parts = urlsplit(value if "://" in value else f"http://{value}")
    except ValueError:  # an unclosed "[": no host can be read from it
        parts = urlsplit("http://")
    try:
        port = parts.port or 80
    except ValueError:
        port = 0
    if parts.scheme != "http" or not parts.hostname or not port:
        # Say what is wrong without repeating the value: it may hold the proxy's password.
        wrong = (
            f"it is a {parts.scheme}:// URL"
            if parts.scheme != "http"
            else "it names no usable host and port"
        )
        raise ValueError(
            f"{variable} must be an http:// proxy URL such as http://proxy.example:3128; " + wrong
        )
    authorization, userinfo = None, ""
    if parts.username is not None:
        user, password = unquote(parts.username), unquote(parts.password or "")
        raw = f"{user}:{password}".encode()
        authorization = "Basic " + base64.b64encode(raw).decode("ascii")
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return Proxy(parts.hostname, port, authorization, variable, userinfo)


def proxy_wants_credentials(proxy: Proxy) -> tuple[str, str]:
    """A proxy's 407 in words, and what to do about it."""
    return (
        f"{proxy.named} wants other credentials (HTTP 407)",
        f"put the user and password it takes in {proxy.variable}, as user:password@ "
        "before its host",
    )


# --------------------------------------------------------------------------- auth challenges
#
# ``WWW-Authenticate`` (RFC 9110 section 11), parsed strictly. A header holds one or
# more challenges: a scheme, then either a token68 or a comma-separated list of
# ``name=value`` parameters, where a value is a token or a quoted string
# (``"a \" quote"``). Anything else is a malformed header: the parser raises
# ``ValueError`` rather than guessing.

# tchar: any visible ASCII character except the delimiters "(),/:;<=>?@[\]{}
_CH_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CH_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
# qdtext is HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E and obs-text; a quoted-pair escapes
# HTAB, SP, VCHAR or obs-text.
_CH_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_CH_OWS = re.compile(r"[ \t]*")
_CH_SP = re.compile(r"[ \t]+")
_CH_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class Challenge:
    """One challenge: its scheme (lowercase) and its parameters (names lowercase)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


class _ChallengeReader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found

    def skip_list_separators(self) -> None:
        """OWS and empty list elements (``a, , b`` is allowed by the list rule)."""
        while True:
            self.match(_CH_OWS)
            if self.peek() != ",":
                return
            self.pos += 1

    def fail(self, what: str) -> ValueError:
        shown = self.text[self.pos : self.pos + 20]
        return ValueError(f"{what} at character {self.pos + 1} ({shown!r})")

    def param_ahead(self) -> bool:
        """Whether the text here is ``name BWS "="`` (a parameter, not a scheme)."""
        found = _CH_TOKEN.match(self.text, self.pos)
        if not found:
            return False
        after = _CH_OWS.match(self.text, found.end())
        end = after.end() if after else found.end()
        return self.text[end : end + 1] == "="

    def token68_ahead(self) -> bool:
        """``abc==`` then the end or a comma: a token68 whose padding looks like ``name=``."""
        found = _CH_TOKEN68.match(self.text, self.pos)
        if not found or not found.group(0).endswith("="):
            return False
        after = _CH_OWS.match(self.text, found.end())
        end = after.end() if after else found.end()
        return end == len(self.text) or self.text[end] == ","


def parse_challenges(header: str) -> tuple[Challenge, ...]:
    """Every challenge of a ``WWW-Authenticate`` value, in order. ``ValueError`` when malformed."""
    reader = _ChallengeReader(header)
    challenges: list[Challenge] = []
    reader.skip_list_separators()
    while not reader.at_end():
        scheme = reader.match(_CH_TOKEN)
        if not scheme:
            raise reader.fail("expected an authentication scheme")
        params: dict[str, str] = {}
        token68: str | None = None
        separated = reader.match(_CH_SP) is not None
        if separated and reader.peek() == ",":
            # Empty list elements may come before the first parameter ("Bearer , realm=x").
            start = reader.pos
            reader.skip_list_separators()
            if not reader.param_ahead():
                reader.pos = start
        if separated and not reader.at_end() and reader.peek() != ",":
            if not reader.param_ahead() or reader.token68_ahead():
                found = reader.match(_CH_TOKEN68)
                if not found:
                    raise reader.fail("expected parameters or a token68")
                token68 = found.group(0)
                reader.match(_CH_OWS)
            else:
                _read_challenge_params(reader, params)
        if not reader.at_end() and reader.peek() != ",":
            raise reader.fail("expected a comma between challenges")
        challenges.append(Challenge(scheme.group(0).lower(), params, token68))
        reader.skip_list_separators()
    if not challenges:
        raise ValueError("the header is empty")
    return tuple(challenges)


def _read_challenge_params(reader: _ChallengeReader, params: dict[str, str]) -> None:
    """``name=value`` pairs up to the end or the start of the next challenge."""
    while True:
        name = reader.match(_CH_TOKEN)
        if not name:
            raise reader.fail("expected a parameter name")
        reader.match(_CH_OWS)
        if reader.peek() != "=":
            raise reader.fail("expected '=' after a parameter name")
        reader.pos += 1
        reader.match(_CH_OWS)
        if reader.peek() == '"':
            quoted = reader.match(_CH_QUOTED)
            if not quoted:
                raise reader.fail("unterminated or invalid quoted string")
            value = _CH_UNESCAPE.sub(r"\1", quoted.group(1))
        else:
            token = reader.match(_CH_TOKEN)
            if not token:
                raise reader.fail("expected a parameter value")
            value = token.group(0)
        key = name.group(0).lower()
        if key in params:
            raise ValueError(f"the parameter {key!r} appears twice")
        params[key] = value
        reader.match(_CH_OWS)
        if reader.at_end():
            return
        if reader.peek() != ",":
            raise reader.fail("expected a comma between parameters")
        start = reader.pos
        reader.skip_list_separators()
        if reader.at_end():
            return
        if not reader.param_ahead():
            reader.pos = start  # the next challenge begins here
            return


def first_challenge(header: str) -> Challenge:
    """The first challenge of a ``WWW-Authenticate`` value (the one a client answers)."""
    return parse_challenges(header)[0]


def challenge_error(header: str) -> str | None:
    """The error a ``WWW-Authenticate`` value's challenge names (RFC 6750: ``invalid_token``
    when the registry could not verify the token sent, ``insufficient_scope`` when the token
    grants too little), or None: none named, or a malformed header."""
    try:
        challenges = parse_challenges(header)
    except ValueError:
        return None
    return next((c.params["error"] for c in challenges if c.params.get("error")), None)


#: Why a registry refuses, as ``invalid_token``, a token its own token server issued: it
#: cannot verify it (the usual faults of a self-hosted token-auth registry).
TOKEN_UNVERIFIED = (
    "the clocks of the token server and the registry disagree (the token arrives expired or "
    "not yet valid), or the registry's token settings do not match its token server (its "
    "rootcertbundle lacks the certificate the tokens are signed with, as after a key "
    "rotation, or its issuer or service differs)"
)

#: What makes a registry take the tokens its own token server issues (``TOKEN_UNVERIFIED``):
#: work for its operator, which waiting does not do.
TOKEN_UNVERIFIED_FIX = (
    "have the registry's operator check its log, its clock against the token server's, and "
    "its token settings (rootcertbundle, issuer, service) against the token server's"
)


# --------------------------------------------------------------------------- credentials
#
# The docker config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``),
# looked up the way docker does: the host's ``credHelpers`` entry, else the
# ``credsStore``, else ``auths``. A helper is ``docker-credential-<name> get`` with
# the server on stdin (never in argv), run by a ``RunCommand``: a subprocess here,
# ``publisher.adapters.runner`` in the full client.

MAX_CONFIG_BYTES = 1024 * 1024
MAX_HELPER_OUTPUT = 64 * 1024
HELPER_TIMEOUT = 60.0

#: Runs ``argv`` with ``stdin`` bytes, at most ``timeout`` seconds; returns (exit
#: status, stdout). Raises FileNotFoundError when the command is not installed,
#: TimeoutError when it does not finish in time.
RunCommand = Callable[[Sequence[str], bytes, float], tuple[int, bytes]]


@dataclass(frozen=True)
class BasicCredentials:
    """A username and a password or token. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)
    #: Where they came from, for messages: ``env DOCKERHUB_TOKEN``, ``docker config``.
    source: str = "explicit"

    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***', source={self.source!r})"

    def __str__(self) -> str:
        return repr(self)


#: The ``user:password@`` of a URL inside a message (up to its last ``@``).
_USERINFO_RE = re.compile(r"(?<=://)[^/?#\s'\"]*@(?!sha256:)")


#: Shortest form of a secret other than itself (an escaped form, a base64 fragment) that
#: is redacted: a shorter one would be found in unrelated text.
MIN_SECRET_FORM = 6


#: A secret of these characters alone is written the same by every quoting below.
_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")


def secret_forms(secret: str) -> list[str]:
    """``secret`` and every form a message, a document or a server can show it in, longest
    first: the one list every redaction matches (publisher's output, a probe's detail).

    * as it is, and as messages write a byte that is not UTF-8 (``printable``: ``\\xff``;
      a matrix key as ``shown_field`` writes it);
    * quoted with ``repr`` or ``ascii`` (``{value!r}``, ``{value!a}``) inside ``'...'`` or
      ``"..."``, a lone surrogate written ``\\udcff`` or, once ``message_text`` rewrote it,
      ``\\xff``;
    * each of those JSON-escaped, as publisher's documents write it (``\\u00e4``) and as a
      server may (the character itself; ``\\u0026`` for ``&`` as Go does);
    * URL-quoted (``%C3%A4``, ``+`` for a space), as in a query or a URL's userinfo;
    * in base64 at any byte offset (an HTTP Basic ``Authorization`` header holds
      ``user:secret``): for each of the three alignments, the characters made of the
      secret's bits alone.

    Forms other than ``secret`` itself shorter than :data:`MIN_SECRET_FORM` are left out.
    """
    try:  # an environment's bytes as they are, one that is not UTF-8 included
        raw = secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte stands for (a YAML escape)
        raw = secret.encode("utf-8", "surrogatepass")
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = -(-8 * shift // 6)  # first character made only of the secret's bits
        end = (8 * (shift + len(raw))) // 6  # last one, exclusive
        forms.add(encoded[start:end])
    if not _PLAIN.fullmatch(secret):  # a token's characters: no quoting changes them
        forms |= _escaped(secret, raw)
    kept = {f for f in forms if len(f) >= MIN_SECRET_FORM} | {secret}
    return sorted(kept, key=len, reverse=True)


def _escaped(secret: str, raw: bytes) -> set[str]:
    """The forms of :func:`secret_forms` a message, JSON or a URL writes ``secret`` in."""
    shown = printable(secret)
    texts = {
        secret,
        shown,
        "".join(c if c.isprintable() else ascii(c)[1:-1] for c in shown),  # shown_field
    }
    for quoted in (repr, ascii):
        inner = quoted('"' + secret)[2:-1]  # inside '...': a quote written \'
        variants = {inner} if '"' in secret else {inner, inner.replace("\\'", "'")}
        texts |= variants | {repr_bytes(v) for v in variants}
    forms = set(texts)
    for text in texts:
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]
        forms |= {json.dumps(text)[1:-1], escaped}
        forms.add(escaped.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))
    return forms | {quote(raw, safe=""), quote(raw), quote_plus(raw)}


def without_secrets(text: str, credentials: BasicCredentials | None = None) -> str:
    """``text``, a message quoting what a registry sent, without the ``user:password@`` of
    any URL in it, nor the password of ``credentials`` in any form a message or a server
    shows it in (:func:`secret_forms`), nor the base64 of ``user:password``."""
    text = _USERINFO_RE.sub("***@", text)
    if credentials is None or len(credentials.password) < 3:
        return text
    secret = credentials.password
    forms = set(secret_forms(secret))
    with contextlib.suppress(UnicodeEncodeError):  # its fragments are forms all the same
        raw = f"{credentials.username}:{secret}".encode("utf-8", "surrogateescape")
        forms.add(base64.b64encode(raw).decode())
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


_announced: set[str] = set()


def announce_secret(credentials: BasicCredentials | None, env: Mapping[str, str]) -> None:
    """In GitHub Actions, ``::add-mask::`` the password (and its base64 with the user, as
    sent) before it is first used, on stderr: stdout may be the env file being written."""
    if credentials is None or not in_actions(env):
        return
    basic = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    for value in (*credentials.password.splitlines(), basic):
        value = value.strip()
        if len(value) < 3 or value in _announced:
            continue
        _announced.add(value)
        escaped = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        say(sys.stderr, f"::add-mask::{escaped}\n")


class CredentialsError(Problem):
    """The docker config or a credential helper gave nothing usable; ``hint`` says what to do."""


class HelperHung(CredentialsError):
    """A credential helper did not answer in time (a locked keychain, a pinentry waiting):
    nothing was asked of the registry. ``binary`` is the helper's command."""

    def __init__(self, message: str, *, binary: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.binary = binary


class DockerConfigError(CredentialsError):
    """The docker config file itself cannot be read; ``source`` is its path."""

    def __init__(self, message: str, *, source: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source


def run_command(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
    """The default :data:`RunCommand`: a subprocess. This is the vendored file's own way to
    start a command; publisher's full client passes one through its runner instead.

    The command runs in a session of its own, and its whole process group is killed when it
    does not finish in time (a helper's own children, a ``sleep`` or a pinentry, too)."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(stdin, timeout=max(timeout, 0.1))
    except BaseException as exc:  # the deadline, or an interrupt: none of it is left running
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise TimeoutError(f"{argv[0]} did not finish within {timeout:g} s") from None
        raise
    return proc.returncode, out


def user_home(env: Mapping[str, str]) -> Path | None:
    """The user's home as docker finds it: ``$HOME``, else (unset, empty or blanks only)
    the password database's entry for this user; None without either."""
    home = env.get("HOME", "")
    if home.strip():
        return Path(home)
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        return None


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = user_home(env)
    return home / ".docker" / "config.json" if home else None


def read_docker_config(path: Path) -> dict[str, Any]:
    """The parsed docker config; ``{}`` when there is none. DockerConfigError when unreadable."""
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a directory: said below
            raise DockerConfigError(  # a pipe would block for ever, a device never end
                "the docker config is not a regular file (a pipe, a socket or a device)",
                source=str(path),
                hint="make it a file, or point DOCKER_CONFIG at another directory; or set "
                "the credential environment variables instead",
            )
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):  # none there (HOME a file: none either)
        return {}
    except OSError as exc:
        raise DockerConfigError(
            f"cannot read the docker config: {exc.strerror or exc}",
            source=str(path),
            hint="make it a file this user can read, or point DOCKER_CONFIG at another "
            "directory; or set the credential environment variables instead",
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise DockerConfigError(
            "the docker config is larger than 1 MiB",
            source=str(path),
            hint="a docker config is a few KB: look at what wrote it, or point DOCKER_CONFIG "
            "at another directory",
        )
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise DockerConfigError(
            "the docker config is not valid JSON",
            source=str(path),
            hint="fix or remove it, or set the credential environment variables instead",
        ) from None
    return data if isinstance(data, dict) else {}


def _config_keys(host: str) -> list[str]:
    """Keys a docker config may use for ``host``, most specific first."""
    if host in (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API):
        return [
            DOCKER_HUB_CONFIG_KEY,
            "index.docker.io",
            "docker.io",
            "https://docker.io",
            DOCKER_HUB_API,
            "https://registry-1.docker.io",
        ]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]


def config_hostname(key: str) -> str:
    """A docker config key as the registry host it stands for, as docker reads it (its
    ``ConvertToHostname``): without a scheme or a path, ``https://HOST/v1/`` is ``HOST``."""
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    return key.split("/", 1)[0]


def _matching_keys(entries: Mapping[str, Any], host: str) -> list[str]:
    """The keys of a docker config's ``credHelpers`` or ``auths`` that stand for ``host``:
    the usual spellings first (most specific first), then any other spelling of it."""
    spellings = _config_keys(host)
    names = {config_hostname(key) for key in spellings}
    found = [key for key in spellings if key in entries]
    found += sorted(
        key
        for key in entries
        if isinstance(key, str) and key not in found and config_hostname(key) in names
    )
    return found


def helper_credentials(
    helper: str, host: str, *, run: RunCommand = run_command, timeout: float = HELPER_TIMEOUT
) -> BasicCredentials | None:
    """What ``docker-credential-<helper> get`` has for ``host`` (Docker Hub's legacy
    server URL for Docker Hub); None when it has nothing. CredentialsError when the
    helper is missing, fails, hangs or answers nonsense."""
    binary = f"docker-credential-{helper}"
    server = DOCKER_HUB_CONFIG_KEY if api_host(host) == DOCKER_HUB_API else host
    instead = "or set the registry's credential environment variables"
    try:
        status, out = run([binary, "get"], server.encode(), timeout)
    except FileNotFoundError:
        raise CredentialsError(
            f"the docker credential helper {binary} is not installed",
            hint=f"install it, remove it from the docker config, {instead}",
        ) from None
    except TimeoutError:
        raise HelperHung(
            f"the docker credential helper {binary} did not answer within {timeout:g} s",
            binary=binary,
            hint=f"it may be waiting for its store to be unlocked (a keychain or pass prompt): "
            f"unlock it and try again, {instead}",
        ) from None
    except OSError as exc:
        raise CredentialsError(
            f"the docker credential helper {binary} could not be started: {exc.strerror or exc}",
            hint=f"check that {binary} is executable, {instead}",
        ) from None
    if status != 0:
        if b"credentials not found" in out.lower():
            return None
        # Its output is not echoed: it is ours to judge, and may hold more than an error.
        raise CredentialsError(
            f"the docker credential helper {binary} failed (exit {status})",
            hint="check `docker login` for this registry",
        )
    if not out.strip():
        return None
    try:
        if len(out) > MAX_HELPER_OUTPUT:
            raise ValueError("too long")
        answer = json.loads(out)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CredentialsError(
            f"the docker credential helper {binary} gave an unreadable answer (not the JSON "
            "of Username and Secret it should print)",
            hint=f"`echo {server} | {binary} get` shows what it prints; `docker login {host}` "
            f"stores the credentials again, {instead}",
        ) from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    if not username or username == "<token>":
        return None  # an identity token, for docker's own OAuth flow: not a password
    return BasicCredentials(username, secret, f"docker credential helper {helper}")


def _auth_entry(entry: Mapping[str, Any], where: str) -> BasicCredentials | None:
    user, secret = entry.get("username"), entry.get("password")
    if user and secret:
        return BasicCredentials(str(user), str(secret), "docker config")
    if entry.get("identitytoken"):  # `auth` then holds "user:" alone
        raise CredentialsError(
            f"{where} holds an identity token (an OAuth login, as `az acr login` writes), "
            "which is not supported: only a username with a password or token is",
            hint="log in with a username and a password or access token instead (`docker "
            "logout` for this registry, then `docker login -u USER` with the password or "
            "token on stdin), or set the registry's credential environment variables",
        )
    encoded = entry.get("auth")
    if not encoded:
        return None
    try:
        decoded = base64.b64decode(str(encoded), validate=False).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        decoded = ""
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise CredentialsError(
            f"the 'auth' value in {where} is not base64 of user:password",
            hint="run `docker login` again for this registry",
        )
    return BasicCredentials(username, password, "docker config")


def credentials_from_config(
    data: Mapping[str, Any],
    host: str,
    *,
    helper: Callable[[str], BasicCredentials | None] | None = None,
    where: str = "the docker config",
) -> BasicCredentials | None:
    """Credentials for ``host`` from a parsed docker config, or None; ``helper(name)`` asks
    a credential helper (see :func:`helper_credentials`), without it helpers are skipped.
    Pure apart from that callback. CredentialsError for an unusable ``auths`` entry."""
    helpers = data.get("credHelpers")
    if helper is not None and isinstance(helpers, Mapping):
        for key in _matching_keys(helpers, host):
            name = helpers.get(key)
            if isinstance(name, str) and name:
                return helper(name)
    store = data.get("credsStore")
    if helper is not None and isinstance(store, str) and store:
        found = helper(store)
        if found is not None:
            return found
    auths = data.get("auths")
    if isinstance(auths, Mapping):
        for key in _matching_keys(auths, host):
            entry = auths.get(key)
            if isinstance(entry, Mapping):
                found = _auth_entry(entry, f"{where} (auths[{key!r}])")
                if found is not None:
                    return found
    return None


def docker_config_credentials(
    host: str, env: Mapping[str, str], *, run: RunCommand = run_command, timeout: float
) -> BasicCredentials | None:
    """Credentials for ``host`` from the docker config ``env`` points at (helpers run by
    ``run``), or None. CredentialsError (DockerConfigError for the file) when unusable."""
    path = docker_config_path(env)
    if path is None:
        return None
    return credentials_from_config(
        read_docker_config(path),
        host,
        helper=lambda name: helper_credentials(name, host, run=run, timeout=timeout),
        where=str(path),
    )


# =========================================================================== the registry probe

DEFAULT_TIMEOUT = 2.0
MAX_SMALL_BYTES = 1024 * 1024  # config blobs, token answers, tag lists, error bodies
MAX_REDIRECTS = 3
#: The most of the probe's time left unused by the tag listing, to answer in.
TAG_LIST_MARGIN = 0.2
#: Most pages of a repository's tag list read (``Link`` after ``Link``), and most tags, all
#: pages together: far above any real repository's (a release writes a handful), so that
#: a registry sending page after page of names cannot fill the memory; publisher's
#: registry client reads tag lists to the same bounds. resolve reads them only to name the
#: published lines, within its deadline: a list it could not read whole names none.
MAX_TAG_PAGES = 1000
MAX_TAGS = 100_000
USER_AGENT = "publisher-resolve/1"

ENV_USERNAME = "PHP_IMAGE_REGISTRY_USERNAME"
ENV_PASSWORD = "PHP_IMAGE_REGISTRY_PASSWORD"


class _Word(enum.Enum):
    """An enumeration that prints as its value (``available``, ``use-prebuilt``)."""

    def __str__(self) -> str:
        return str(self.value)


class Status(_Word):
    """What the probe found."""

    AVAILABLE = "available"
    #: Already in the local image store (docker's), for this platform: no pull needed.
    CACHED = "cached"
    UNREACHABLE = "unreachable"
    NOT_PUBLISHED = "not-published"
    AUTH_REQUIRED = "auth-required"
    PLATFORM_MISSING = "platform-missing"
    RATE_LIMITED = "rate-limited"
    #: The pins file lists the image, this registry lacks its digest (a mirror not synced).
    NOT_ON_REGISTRY = "not-on-registry"
    REGISTRY_ERROR = "registry-error"


@dataclass(frozen=True)
class Target:
    """What to probe: ``host`` as in the image reference (``docker.io``, ``127.0.0.1:5000``)."""

    host: str
    repository: str
    reference: str  # a tag or a sha256 digest
    platform: str  # "linux/amd64"
    plain_http: bool = False
    #: When the caller already knows the platforms (from the pins file) and the
    #: reference is a digest, a HEAD is enough: the content is fixed by its digest.
    known_platforms: tuple[str, ...] | None = None

    @property
    def image(self) -> str:
        sep = "@" if _DIGEST_RE.fullmatch(self.reference) else ":"
        return f"{self.host}/{self.repository}{sep}{self.reference}"


#: The label a build sets (``--label``, not the Dockerfile) to the sha256 of the Dockerfile
#: it built: a rerun of a published release tells by it whether its checkout renders the
#: Dockerfile the images its pins hold were built from (a tag moved to another commit); a
#: fallback (resolve's, start.sh's) starts an earlier local build only of the same Dockerfile.
DOCKERFILE_LABEL = "dev.publisher.dockerfile"


@dataclass(frozen=True)
class Result:
    status: Status
    detail: str
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    #: Tags seen in the repository (only looked up when the reference was not found);
    #: None when not looked up, or not read whole.
    tags: tuple[str, ...] | None = None
    #: Why the repository's tags were not read whole, in words (the deadline came, more
    #: pages than ``MAX_TAG_PAGES``): its published lines are then unknown, never "none".
    tags_cut: str | None = None
    elapsed: float = 0.0
    authenticated: bool = False
    #: Why the docker config gave no credentials for the registry, when it has a problem
    #: (the probe then asked anonymously, or, for a helper that hung, not at all).
    credentials_problem: CredentialsError | None = None
    #: What to do about a registry error that trying again does not mend (its own token
    #: server's token refused: ``TOKEN_UNVERIFIED_FIX``); None for "try again later".
    fix: str | None = None
    #: A local build found in the image store: the sha256 of the Dockerfile it was built
    #: from, its ``DOCKERFILE_LABEL`` ("" when it has none); None when not looked at.
    built_from: str | None = None

    @property
    def available(self) -> bool:
        return self.status in (Status.AVAILABLE, Status.CACHED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "detail": self.detail,
            "digest": self.digest,
            "platforms": list(self.platforms),
            "elapsed_ms": round(self.elapsed * 1000, 1),
        }


class _Outcome(Exception):
    """Raised inside the probe to end it with a classified result."""

    def __init__(self, status: Status, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


# --------------------------------------------------------------------------- pure helpers


def index_platforms(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Sorted platforms an image index lists (attestations excluded)."""
    manifests = data.get("manifests")
    if not isinstance(manifests, list):
        raise ValueError("the index has no 'manifests' list")
    found = set()
    for entry in manifests:
        if not isinstance(entry, Mapping):
            raise ValueError("an index entry is not an object")
        if _is_attestation(entry):
            continue
        plat = platform_of(entry)
        if plat:
            found.add(plat)
    return tuple(sorted(found))


def _is_attestation(entry: Mapping[str, Any]) -> bool:
    """Whether an index entry is buildx's attestation of an image, not an image."""
    annotations = entry.get("annotations") or {}
    return isinstance(annotations, Mapping) and annotations.get(REFERENCE_TYPE) == ATTESTATION


def release_lines(tags: tuple[str, ...] | list[str], release: str) -> tuple[str, ...]:
    """PHP lines that have a ``<release>-php-X.Y`` pin among ``tags``, numerically sorted."""
    pins = (split_pin_tag(tag) for tag in tags)
    return sort_lines(pin[1] for pin in pins if pin is not None and pin[0] == release)


# --------------------------------------------------------------------------- credentials (I/O)


def find_credentials(
    host: str,
    env: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    run: RunCommand = run_command,
) -> BasicCredentials | None:
    """Environment variables first, then the docker config; None means anonymous (also
    when the config or a helper gives nothing usable: see :func:`lookup_credentials`)."""
    return lookup_credentials(host, env, timeout=timeout, run=run)[0]


def lookup_credentials(
    host: str,
    env: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    run: RunCommand = run_command,
) -> tuple[BasicCredentials | None, CredentialsError | None]:
    """:func:`find_credentials`, and why the docker config gave none when it has a problem
    (not valid JSON, an ``auth`` that is no base64 of user:password, a helper that fails,
    answers nonsense or hangs): the probe then asks anonymously, and says so."""
    user, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
    if user and password:
        return BasicCredentials(user, password, f"env {ENV_USERNAME}/{ENV_PASSWORD}"), None
    try:
        return docker_config_credentials(host, env, run=run, timeout=timeout), None
    except DockerConfigError as exc:
        return None, CredentialsError(f"{exc.message} ({exc.source})", hint=exc.hint)
    except CredentialsError as exc:
        return None, exc


# --------------------------------------------------------------------------- HTTP
#
# A small HTTP/1.1 client on ``socket`` (``ssl`` only for https): http.client
# pulls in the email package, which costs more than the rest of resolve's
# imports. One request per connection (``Connection: close``); bodies by
# Content-Length, chunked, or up to EOF; every size bounded.

MAX_HEADER_BYTES = 64 * 1024
#: The largest Content-Length read as a number (a larger one is a malformed answer).
MAX_CONTENT_LENGTH = 2**63 - 1


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


class _Truncated(Exception):
    """The body ended before its declared length."""


class _Malformed(Exception):
    """Not an HTTP/1.x response."""


def _tunnel(sock: socket.socket, host: str, port: int, proxy: Proxy) -> None:
    """``CONNECT host:port`` through ``proxy`` on ``sock``; _Outcome when it refuses."""
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)  # byte by byte: nothing of the tunnel is read here
        if not byte:
            raise _Truncated("the proxy closed the connection during CONNECT")
        answer += byte
        if len(answer) > MAX_HEADER_BYTES:
            raise _Malformed("the proxy's CONNECT answer is too large")
    status = answer.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status.split(None, 2)
    if len(parts) >= 2 and parts[1] == "407":
        raise _Outcome(Status.UNREACHABLE, "; ".join(proxy_wants_credentials(proxy)))
    if len(parts) < 2 or parts[1] != "200":
        raise _Outcome(
            Status.UNREACHABLE,
            f"{proxy.named} refused to connect to {host}:{port} ({status.strip()})",
        )


def _connect(
    scheme: str, host: str, port: int | None, timeout: float, proxy: Proxy | None = None
) -> socket.socket:
    default = 443 if scheme == "https" else 80
    if proxy is None:
        sock = socket.create_connection((host, port or default), timeout=timeout)
    else:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    if scheme != "https":
        return sock
    import ssl

    try:
        if proxy is not None:
            _tunnel(sock, host, port or default, proxy)
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _exchange(
    sock: socket.socket,
    method: str,
    host_header: str,
    target: str,
    headers: Mapping[str, str],
    limit: int,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """Send one request on ``sock`` and read the answer (at most ``limit`` + 1 body bytes)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    reader = sock.makefile("rb")
    try:
        status_line = reader.readline(MAX_HEADER_BYTES + 1)
        parts = status_line.split(None, 2)
        code = small_number(parts[1].decode("latin-1"), 999) if len(parts) >= 2 else None
        if code is None or not parts[0].startswith(b"HTTP/1."):
            raise _Malformed("not an HTTP/1.x status line")
        status = code
        answer: dict[str, str] = {}
        seen = len(status_line)
        while True:
            line = reader.readline(MAX_HEADER_BYTES + 1)
            seen += len(line)
            if seen > MAX_HEADER_BYTES:
                raise _Malformed("the response headers are too large")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _Truncated("the connection closed inside the headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise _Malformed("a header line without ':'")
            key = name.strip().lower()
            answer[key] = f"{answer[key]}, {value.strip()}" if key in answer else value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, answer, b""
        if "chunked" in answer.get("transfer-encoding", "").lower():
            return status, answer, _read_chunked(reader, limit)
        declared = answer.get("content-length", "")
        if declared:
            want = small_number(declared, MAX_CONTENT_LENGTH)
            if want is None:
                shown = declared if len(declared) <= 24 else declared[:24] + "…"
                raise _Malformed(f"Content-Length {shown!r} is not a number of bytes")
            body = _read_exact(reader, min(want, limit + 1))
            if len(body) < min(want, limit + 1):
                raise _Truncated(f"{len(body)} of {want} bytes")
            return status, answer, body
        return status, answer, reader.read(limit + 1)
    finally:
        reader.close()


def _read_exact(reader: Any, count: int) -> bytes:
    chunks, got = [], 0
    while got < count:
        data = reader.read(count - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _read_chunked(reader: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = reader.readline(1024)
        if not size_line:
            raise _Truncated("the connection closed inside a chunked body")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Malformed("a bad chunk size") from None
        if size == 0:
            while reader.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        take = min(size, limit + 1 - len(body))
        data = _read_exact(reader, take)
        if len(data) < take:
            raise _Truncated("a chunk ended early")
        body += data
        if len(body) > limit:
            return bytes(body)
        if _read_exact(reader, 2) not in (b"\r\n",):
            raise _Malformed("a chunk without its CRLF")


#: A token sent back as ``Authorization: Bearer TOKEN``: visible ASCII characters only.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


class _Session:
    """Requests to one registry under one deadline, with the token dance."""

    def __init__(
        self,
        target: Target,
        credentials: BasicCredentials | None,
        deadline: float,
        clock: Callable[[], float],
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.env = {} if env is None else env
        self.target = target
        self.credentials = credentials
        self.deadline = deadline
        self.clock = clock
        #: The seconds it was given, which a message says (as start.sh says its own).
        self.timeout = max(deadline - clock(), 0) if timeout is None else timeout
        scheme = "http" if target.plain_http else "https"
        self.base = f"{scheme}://{api_host(target.host)}"
        self.authorization: str | None = None
        self.authenticated = False
        #: The host of the token server that granted the token sent, once one did.
        self.token_server: str | None = None

    def remaining(self) -> float:
        left = self.deadline - self.clock()
        if left <= 0:
            raise _Outcome(
                Status.UNREACHABLE, f"no answer from {self.target.host} within {self.shown_timeout}"
            )
        return left

    @property
    def shown_timeout(self) -> str:
        return f"{self.timeout:g} s"

    def raw(self, method: str, url: str, headers: Mapping[str, str], limit: int) -> _Response:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Outcome(Status.REGISTRY_ERROR, f"refusing to follow the URL {url!r}")
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError as exc:  # a redirect to a port out of range
                raise _Outcome(
                    Status.REGISTRY_ERROR, f"refusing to follow the URL {url!r}: {exc}"
                ) from None
            try:
                proxy = proxy_for(parts.scheme, parts.hostname, port, self.env)
            except ValueError as exc:
                raise _Outcome(Status.UNREACHABLE, str(exc)) from None
            sent_headers = {"User-Agent": USER_AGENT, **headers}
            if proxy is not None and parts.scheme == "http":
                # A forward proxy takes the absolute URL (and its own credentials).
                path = f"http://{parts.netloc}{path}"
                if proxy.authorization:
                    sent_headers["Proxy-Authorization"] = proxy.authorization
            try:
                sock = _connect(parts.scheme, parts.hostname, parts.port, self.remaining(), proxy)
                try:
                    status, resp_headers, body = _exchange(
                        sock,
                        method,
                        parts.netloc,
                        path,
                        sent_headers,
                        limit,
                    )
                finally:
                    sock.close()
            except TimeoutError:
                # named with its port when the URL gives one, as start.sh names it
                raise _Outcome(
                    Status.UNREACHABLE,
                    f"no answer from {parts.netloc.rpartition('@')[2]} within {self.shown_timeout}",
                ) from None
            except _Truncated as exc:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent a truncated response for {parts.path} ({exc})",
                ) from None
            except _Malformed as exc:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent a malformed response for {parts.path}: {exc}",
                ) from None
            except OSError as exc:
                raise _Outcome(
                    Status.UNREACHABLE,
                    f"cannot reach {parts.netloc}"
                    + (f" through {proxy.named}" if proxy else "")
                    + f": {_describe(exc)}",
                ) from None
            if proxy is not None and status == 407:
                raise _Outcome(Status.UNREACHABLE, "; ".join(proxy_wants_credentials(proxy)))
            if len(body) > limit:
                raise _Outcome(
                    Status.REGISTRY_ERROR,
                    f"{parts.netloc} sent more than {limit} bytes for {parts.path}",
                )
            if status in (301, 302, 303, 307, 308) and "location" in resp_headers:
                try:
                    new_url = urljoin(url, resp_headers["location"])
                    same = same_origin(new_url, url)
                except ValueError:  # an unclosed IPv6 bracket
                    raise _Outcome(
                        Status.REGISTRY_ERROR,
                        f"refusing to follow the URL {resp_headers['location']!r}",
                    ) from None
                if not same:
                    # Never carry credentials to another host (blob CDNs), nor off TLS.
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                url = new_url
                continue
            return _Response(status, resp_headers, body, url)
        raise _Outcome(Status.REGISTRY_ERROR, f"too many redirects from {self.target.host}")

    def get(
        self,
        path: str,
        *,
        method: str = "GET",
        accept: str | None = None,
        limit: int = MAX_SMALL_BYTES,
    ) -> _Response:
        """A registry API request; answers one 401 challenge."""
        headers = {"Accept": accept} if accept else {}
        url = self.base + path
        for attempt in range(2):
            if self.authorization:
                headers["Authorization"] = self.authorization
            resp = self.raw(method, url, headers, limit)
            if resp.status != 401 or attempt == 1 or not self._answered_here(resp):
                # A 401 from where a redirect led (a blob CDN) is that host's: its
                # challenge must not get a token request, let alone the credentials.
                return resp
            if not self._authenticate(resp.headers.get("www-authenticate", "")):
                return resp
        return resp  # pragma: no cover - the loop always returns

    def _answered_here(self, resp: _Response) -> bool:
        """Whether ``resp`` came from the registry itself, not from where it redirected."""
        return same_origin(self.base, resp.url)

    def _authenticate(self, header: str) -> bool:
        if not header.strip():
            return False  # a 401 naming no way in: authentication required
        try:
            challenge = first_challenge(header)
        except ValueError as exc:  # the registry's fault: no login would get past it
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{self.target.host} sent a malformed WWW-Authenticate header ({exc})",
            ) from None
        scheme, params = challenge.scheme, challenge.params
        if scheme == "basic":
            if self.credentials is None:
                return False
            self.authorization = self.credentials.header()
            self.authenticated = True
            return True
        if scheme != "bearer":
            return False
        if not params.get("realm"):  # the registry's fault: no login gets past it
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{self.target.host} asks for a Bearer token and names no token service "
                "(its WWW-Authenticate header has no realm)",
            )
        query = {"scope": f"repository:{self.target.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        sep = "&" if "?" in params["realm"] else "?"
        url = params["realm"] + sep + urlencode(query)
        headers = {}
        if self.credentials is not None:
            headers["Authorization"] = self.credentials.header()
        resp = self.raw("GET", url, headers, MAX_SMALL_BYTES)
        if resp.status in (401, 403):
            raise _Outcome(
                Status.AUTH_REQUIRED,
                f"the token service of {self.target.host} refused "
                + ("the credentials" if self.credentials else "anonymous access")
                + f" (HTTP {resp.status})",
            )
        if resp.status != 200:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"the token service of {self.target.host} answered HTTP {resp.status}",
            )
        try:
            answer = json.loads(resp.body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"the token service of {self.target.host} sent no token",
            )
        if not _TOKEN_RE.fullmatch(token):  # it would break the Authorization header
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"the token service of {self.target.host} sent a token that no header can "
                "carry (it holds a space, a control character or a character beyond ASCII)",
            )
        self.authorization = f"Bearer {token}"
        self.authenticated = self.credentials is not None
        self.token_server = urlsplit(url).netloc.rpartition("@")[2]
        return True

    def token_refused(self, resp: _Response) -> str | None:
        """What a 401 says when it refuses, as ``invalid_token``, the token the registry's
        own token server granted: the registry could not verify it (neither the credentials
        nor the repository is the cause); None for any other answer."""
        header = resp.headers.get("www-authenticate", "")
        if resp.status != 401 or self.token_server is None or not self._answered_here(resp):
            return None
        if challenge_error(header) != "invalid_token":
            return None
        return (
            f"{self.target.host} refused the token its own token server ({self.token_server}) "
            f"issued (HTTP 401 invalid_token): it could not verify it, likely because "
            f"{TOKEN_UNVERIFIED}"
        )


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(reason)


def _error_code(body: bytes) -> str:
    """First ``errors[].code`` of a distribution error body, if any."""
    try:
        data = json.loads(body)
        return str(data["errors"][0]["code"])
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return ""


# --------------------------------------------------------------------------- the probe


def _probe(target: Target, session: _Session, list_tags: bool) -> Result:
    repo = quote(target.repository, safe="/")
    ref = quote(target.reference, safe=":")
    pinned = target.known_platforms is not None and bool(_DIGEST_RE.fullmatch(target.reference))
    use_head = pinned
    resp = session.get(
        f"/v2/{repo}/manifests/{ref}",
        method="HEAD" if use_head else "GET",
        accept=ACCEPT,
        limit=MAX_MANIFEST_BYTES,
    )
    if not (use_head and resp.status in (405, 501)):  # a registry without HEAD: GET then
        _classify_failure(resp, target, session, list_tags)
    if use_head and not _head_names_a_manifest(resp):
        # A HEAD answer proves the image only with a digest and a manifest media type;
        # anything else (a captive portal's page, a proxy's guess) is checked by a GET.
        use_head = False
        resp = session.get(f"/v2/{repo}/manifests/{ref}", accept=ACCEPT, limit=MAX_MANIFEST_BYTES)
        _classify_failure(resp, target, session, list_tags)

    digest = resp.headers.get("docker-content-digest")
    if not use_head:
        body_digest = sha256_digest(resp.body)
        if digest and digest != body_digest:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{target.host} sent a manifest whose digest {body_digest} differs from "
                f"its Docker-Content-Digest {digest}",
            )
        digest = body_digest
    if _DIGEST_RE.fullmatch(target.reference) and digest and digest != target.reference:
        raise _Outcome(
            Status.REGISTRY_ERROR,
            f"{target.host} answered for {target.reference} with content {digest}",
        )

    if use_head:
        platforms = tuple(target.known_platforms or ())
    else:
        # Pinned, and read by a GET where the HEAD was refused or said too little: the
        # index alone, as the HEAD would have been enough; docker's pull checks the rest.
        platforms = _platforms(resp, target, session, read_image=not pinned)
    if not any(serves(target.platform, listed) for listed in platforms):
        shown = ", ".join(platforms) or "none"
        raise _Outcome(
            Status.PLATFORM_MISSING,
            f"{target.image} has no {target.platform} image (it has: {shown})",
            digest=digest,
            platforms=platforms,
        )
    return Result(
        Status.AVAILABLE,
        f"{target.image} is available for {target.platform}",
        digest=digest,
        platforms=platforms,
    )


def _head_names_a_manifest(resp: _Response) -> bool:
    """Whether a HEAD answer carries a content digest and a manifest media type."""
    media_type = resp.headers.get("content-type", "").split(";")[0].strip()
    digest = resp.headers.get("docker-content-digest", "")
    return media_type in MANIFEST_TYPES and bool(_DIGEST_RE.fullmatch(digest))


def _classify_failure(resp: _Response, target: Target, session: _Session, list_tags: bool) -> None:
    status = resp.status
    if status == 200:
        return
    code = _error_code(resp.body)
    if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"):
        tags, cut = _list_tags(target, session) if list_tags else (None, None)
        what = (
            f"repository {target.host}/{target.repository} does not exist"
            if code == "NAME_UNKNOWN"
            else f"{target.image} is not on the registry"
        )
        raise _Outcome(Status.NOT_PUBLISHED, what, tags=tags, tags_cut=cut)
    refused = session.token_refused(resp)
    if refused is not None:  # the registry's fault: no login gets past it
        raise _Outcome(Status.REGISTRY_ERROR, refused, fix=TOKEN_UNVERIFIED_FIX)
    if status in (401, 403):
        if session.credentials is None:
            detail = (
                f"{target.host} requires authentication for {target.repository} "
                "(or the repository does not exist)"
            )
        else:
            detail = (
                f"{target.host} refused the credentials from {session.credentials.source} "
                f"for {target.repository} (HTTP {status})"
            )
        raise _Outcome(Status.AUTH_REQUIRED, detail)
    if status == 429 or code == "TOOMANYREQUESTS":
        extra = [
            f"{name} {resp.headers[name]}"
            for name in ("retry-after", "ratelimit-remaining")
            if name in resp.headers
        ]
        raise _Outcome(
            Status.RATE_LIMITED,
            f"{target.host} answered HTTP {status} (too many requests"
            + (f"; {', '.join(extra)}" if extra else "")
            + ")",
        )
    if status >= 500:
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{target.host} is failing (HTTP {status} for the manifest)"
        )
    raise _Outcome(Status.REGISTRY_ERROR, f"{target.host} answered HTTP {status} for the manifest")


def _platforms(
    resp: _Response, target: Target, session: _Session, read_image: bool = True
) -> tuple[str, ...]:
    """The platforms the manifest ``resp`` serves, once the one for ``target.platform`` has
    been read as an image manifest: an index's entry for it by one more GET (its digest
    and size checked; with ``read_image`` false, the entry alone), a single image's config
    blob for its platform."""
    media_type = resp.headers.get("content-type", "").split(";")[0].strip()
    data = _json_object(resp.body, f"{target.host} sent a manifest that")
    media_type = _media_type(data) or media_type
    if media_type in INDEX_TYPES or (not media_type and "manifests" in data):
        try:
            platforms = index_platforms(data)
        except ValueError as exc:
            raise _Outcome(
                Status.REGISTRY_ERROR, f"{target.host} sent a bad index: {exc}"
            ) from None
        entry = _platform_entry(data["manifests"], target.platform)
        if entry is not None:
            _check_platform_manifest(entry, target, session, fetch=read_image)
        elif any(_media_type(entry) in INDEX_TYPES for entry in data["manifests"]):
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{target.image} is an index of image indexes, which resolve does not read "
                f"(it lists an index where it should list the {target.platform} image)",
            )
        return platforms
    if media_type in IMAGE_TYPES or "config" in data:
        problem = _image_manifest_problem(data)
        if problem:
            raise _Outcome(Status.REGISTRY_ERROR, f"{target.host} sent a manifest that {problem}")
        digest = data["config"]["digest"]
        repo = quote(target.repository, safe="/")
        blob = session.get(f"/v2/{repo}/blobs/{digest}")
        if blob.status != 200:
            raise _Outcome(
                Status.REGISTRY_ERROR,
                f"{target.host} answered HTTP {blob.status} for the image config",
            )
        if sha256_digest(blob.body) != digest:
            raise _Outcome(
                Status.REGISTRY_ERROR, f"{target.host} sent a config with a wrong digest"
            )
        try:
            plat = platform_of(json.loads(blob.body))
        except (ValueError, AttributeError, RecursionError):
            plat = None
        return (plat,) if plat else ()
    raise _Outcome(
        Status.REGISTRY_ERROR, f"{target.host} sent an unknown manifest type {media_type!r}"
    )


def _media_type(data: Mapping[str, Any]) -> str:
    """The ``mediaType`` a manifest or a descriptor names; "" when it names none (or no
    string)."""
    value = data.get("mediaType")
    return value if isinstance(value, str) else ""


def _json_object(body: bytes, subject: str) -> dict[str, Any]:
    """``body`` read as a JSON object; else a registry error: ``subject`` and what it is not."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise _Outcome(Status.REGISTRY_ERROR, f"{subject} is not JSON") from None
    if not isinstance(data, dict):
        raise _Outcome(Status.REGISTRY_ERROR, f"{subject} is not an object")
    return data


def _image_manifest_problem(data: Mapping[str, Any]) -> str | None:
    """What keeps ``data`` from being an image manifest docker can pull (a config by
    sha256 digest, a list of layers each with a digest), in words; None when nothing."""
    if _media_type(data) in INDEX_TYPES or "manifests" in data:
        return "is an image index, not an image manifest"
    config = data.get("config")
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        return "has no config"
    layers = data.get("layers")
    if not isinstance(layers, list) or not all(
        isinstance(layer, dict) and isinstance(layer.get("digest"), str) for layer in layers
    ):
        return "has no list of layers"
    return None


def _platform_entry(manifests: list[Any], platform: str) -> Mapping[str, Any] | None:
    """The entry of an index's ``manifests`` docker pulls for ``platform``: the one listed
    for it exactly, else the ``arm`` variant it prefers (``serves``); None when none is."""
    found = None
    for entry in manifests:
        listed = None if _is_attestation(entry) else platform_of(entry)
        if listed and serves(platform, listed):
            rank = (listed != platform, _ARM_VARIANTS.index(listed.partition("/arm/")[2]))
            if found is None or rank < found[0]:
                found = (rank, entry)
    return found[1] if found else None


def _check_platform_manifest(
    entry: Mapping[str, Any], target: Target, session: _Session, fetch: bool = True
) -> None:
    """GET the image manifest an index's ``entry`` names for ``target.platform`` (unless
    ``fetch`` is false: the entry alone) and check it is that content (digest, size) and
    an image manifest; else a registry error, as docker's pull would fail on it."""
    digest, size = entry.get("digest"), entry.get("size")
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise _Outcome(
            Status.REGISTRY_ERROR,
            f"the {target.platform} entry of {target.image} has no sha256 digest",
        )
    if _media_type(entry) in INDEX_TYPES:
        raise _Outcome(
            Status.REGISTRY_ERROR,
            f"{target.image} is an index of image indexes, which resolve does not read "
            f"(it lists an index where it should list the {target.platform} image)",
        )
    if not fetch:
        return
    named = f"the {target.platform} image manifest {short_digest(digest)} that {target.image} lists"
    repo = quote(target.repository, safe="/")
    resp = session.get(f"/v2/{repo}/manifests/{digest}", accept=ACCEPT, limit=MAX_MANIFEST_BYTES)
    if resp.status != 200 and (resp.status == 404 or _error_code(resp.body) == "MANIFEST_UNKNOWN"):
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{named} is not on {target.host} (HTTP {resp.status})"
        )
    _classify_failure(resp, target, session, list_tags=False)
    body_digest = sha256_digest(resp.body)
    if body_digest != digest:
        raise _Outcome(
            Status.REGISTRY_ERROR, f"{target.host} sent other content ({body_digest}) for {named}"
        )
    if isinstance(size, int) and size != len(resp.body):
        raise _Outcome(
            Status.REGISTRY_ERROR,
            f"{target.host} sent {len(resp.body)} bytes for {named}, whose index entry says {size}",
        )
    problem = _image_manifest_problem(_json_object(resp.body, named))
    if problem:
        raise _Outcome(Status.REGISTRY_ERROR, f"{named} {problem}")


def _list_tags(target: Target, session: _Session) -> tuple[tuple[str, ...] | None, str | None]:
    """Best effort: the repository's tags, to name the published lines, every page of them
    (``Link`` after ``Link``) read before the probe's deadline, with a margin to answer in;
    else None and why the list was not read whole, in words (a part names no line: the
    lines on the pages not read would go unsaid). ``()`` for a repository not there."""
    repo = quote(target.repository, safe="/")
    path = f"/v2/{repo}/tags/list?n=1000"
    tags: list[str] = []
    pages = 0
    deadline = session.deadline
    # the verdict, once the list is read (or given up), still comes before the deadline
    session.deadline = deadline - min(TAG_LIST_MARGIN, session.timeout / 10)
    try:
        while True:
            if pages >= MAX_TAG_PAGES:
                return None, f"it has more than {MAX_TAG_PAGES} pages of tags"
            resp = session.get(path)
            pages += 1
            if resp.status == 404 and pages == 1:
                return (), None
            if resp.status != 200:
                return None, f"page {pages} of its tags answered HTTP {resp.status}"
            data = json.loads(resp.body)
            tags.extend(t for t in (data.get("tags") or []) if isinstance(t, str))
            if len(tags) > MAX_TAGS:
                return None, f"it has more than {MAX_TAGS} tags"
            try:
                following = next_page(resp.headers.get("link", ""), resp.url, session.base)
            except ValueError:
                return None, f"the next-page Link of page {pages} of its tags is malformed"
            if following is None:
                break
            if isinstance(following, LinkElsewhere):
                return None, (
                    f"the next-page Link of page {pages} of its tags names another "
                    f"{following.other} ({following.origin}), not followed with the "
                    "registry's credentials"
                )
            parts = urlsplit(following)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
    except _Outcome as out:
        if out.status is Status.UNREACHABLE and session.clock() >= session.deadline:
            return None, (
                f"page {pages + 1} of its tags did not come within the {session.shown_timeout} "
                f"deadline ({len(tags)} tag{'' if len(tags) == 1 else 's'} read)"
            )
        return None, f"page {pages + 1} of its tags could not be read ({out.detail})"
    except (ValueError, AttributeError, RecursionError):
        return None, f"page {pages} of its tags is not a tag list"
    finally:
        session.deadline = deadline
    return tuple(tags), None


def probe(
    target: Target,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    credentials: BasicCredentials | None = None,
    list_tags: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    """Probe ``target`` within ``timeout`` seconds; never raises for a registry answer.

    ``credentials`` default to :func:`find_credentials` over ``env`` (``os.environ``
    when None). ``list_tags`` looks up the repository's tags when the reference is
    missing, so the caller can name the published lines.
    """
    start = clock()
    deadline = start + timeout
    env = os.environ if env is None else env
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            creds, problem = credentials, None
            if creds is None:  # a helper gets most of the time: the rest is for the registry
                creds, problem = lookup_credentials(target.host, env, timeout=timeout * 0.8)
            if isinstance(problem, HelperHung):  # the registry was not asked
                box["result"] = Result(
                    Status.UNREACHABLE,
                    f"{problem.message}, so {target.host} was not asked",
                    credentials_problem=problem,
                )
                return
            announce_secret(creds, env)
            session = _Session(target, creds, deadline, clock, env, timeout)
            try:
                result = _probe(target, session, list_tags)
            except _Outcome as out:
                result = Result(
                    out.status,
                    out.detail,
                    digest=out.extra.get("digest"),
                    platforms=tuple(out.extra.get("platforms", ())),
                    tags=out.extra.get("tags"),
                    tags_cut=out.extra.get("tags_cut"),
                    fix=out.extra.get("fix"),
                )
            # The detail may quote a URL or a body the registry sent: it may echo a secret.
            detail = without_secrets(result.detail, creds)
            box["result"] = replace(
                result,
                detail=detail,
                authenticated=session.authenticated,
                credentials_problem=problem,
            )
        except _Outcome as out:
            box["result"] = Result(out.status, without_secrets(out.detail))
        except BaseException as exc:  # a bug: hand it to the caller's thread
            box["error"] = exc

    # DNS lookups ignore socket timeouts: run the probe in a daemon thread and stop
    # waiting at the deadline, so an offline start is bounded by ``timeout``.
    worker = threading.Thread(target=work, name="publisher-probe", daemon=True)
    worker.start()
    worker.join(max(timeout, 0) + 0.05)
    elapsed = clock() - start
    if "error" in box:
        raise box["error"]
    result = box.get("result")
    if result is None:
        return Result(
            Status.UNREACHABLE,
            f"no answer from {target.host} within {timeout:g} s",
            elapsed=elapsed,
        )
    return replace(result, elapsed=elapsed)


# --------------------------------------------------------------------------- the local image store

CACHE_TIMEOUT = 0.5
PLATFORM_CHECK_TIMEOUT = 2.0


def docker_host(env: Mapping[str, str]) -> str:
    """The engine the docker CLI asks, as a ``DOCKER_HOST`` URL: ``DOCKER_HOST``, else the
    endpoint of the docker context (``DOCKER_CONTEXT``, else the config's ``currentContext``:
    Colima, Rancher Desktop, OrbStack, a remote engine); "" for the default engine."""
    if env.get("DOCKER_HOST"):
        return env["DOCKER_HOST"]
    config = docker_config_path(env)
    if config is None:
        return ""
    name = env.get("DOCKER_CONTEXT", "")
    if not name:
        try:
            name = str(read_docker_config(config).get("currentContext") or "")
        except DockerConfigError:  # docker says so itself; the probe says it for credentials
            return ""
    if not name or name == "default":
        return ""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config.parent / "contexts" / "meta" / digest / "meta.json"
    try:
        if not stat.S_ISREG(meta.stat().st_mode):
            return ""
        with open(meta, "rb") as handle:
            host = json.loads(handle.read(MAX_SMALL_BYTES))["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, LookupError, TypeError, RecursionError):
        return ""
    return host if isinstance(host, str) else ""


def docker_address(env: Mapping[str, str]) -> str | tuple[str, int] | None:
    """The docker (or podman) engine to ask, as the docker CLI picks it (:func:`docker_host`)
    or the usual sockets: a unix socket's path, ``(host, port)`` for a plain ``tcp://``
    engine; None when none is found or resolve cannot speak to it (``ssh://``, TLS)."""
    host = docker_host(env)
    if host:
        if host.startswith("unix://"):
            return host[len("unix://") :]
        if (
            host.startswith("tcp://")
            and not env.get("DOCKER_TLS_VERIFY")
            and not env.get("DOCKER_TLS")
        ):
            try:
                parts = urlsplit(host)
                port = parts.port or 2375
            except ValueError:
                return None
            return (parts.hostname, port) if parts.hostname else None
        return None
    candidates = ["/var/run/docker.sock"]
    home = user_home(env)
    if home:
        candidates.append(str(home / ".docker" / "run" / "docker.sock"))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(str(Path(env["XDG_RUNTIME_DIR"]) / "docker.sock"))
    return next((c for c in candidates if os.path.exists(c)), None)


def docker_socket(env: Mapping[str, str]) -> str | None:
    """The docker (or podman) API unix socket to ask, or None (remote or no daemon)."""
    address = docker_address(env)
    return address if isinstance(address, str) else None


def _docker_api(
    address: str | tuple[str, int],
    method: str,
    target: str,
    timeout: float,
    body: bytes = b"",
    want: int = 204,
) -> bytes:
    """One request to the docker API (its unix socket, or a plain tcp:// engine); ValueError
    unless it answers ``want``."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
        status, _, answer = _exchange(sock, method, "localhost", target, {}, MAX_SMALL_BYTES, body)
    finally:
        sock.close()
    if status != want or len(answer) > MAX_SMALL_BYTES:
        raise ValueError(f"docker answered {status}")
    return answer


#: What an engine's answer that cannot be used raises: no engine, a broken or cut-off
#: answer, JSON of the wrong shape or nested thousands deep.
_ENGINE_ANSWER_ERRORS = (
    OSError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    RecursionError,
    _Truncated,
    _Malformed,
)


def cached_image(
    reference: str,
    platform: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = CACHE_TIMEOUT,
) -> Result | None:
    """A Result (CACHED) when the local docker image store has ``reference`` for
    ``platform``; None when it does not, or when there is no local daemon to ask.

    One request to the daemon's socket (``GET /images/<ref>/json``; two more for an image
    not built here, ``localhost/…``), so a cached start needs no registry at all and works
    offline.
    """
    env = os.environ if env is None else env
    path = docker_address(env)
    if path is None:
        return None
    start = time.monotonic()
    target = "/images/" + quote(reference, safe="/:@") + "/json"
    try:
        data = json.loads(_docker_api(path, "GET", target, timeout, want=200))
        arch = _ARCH_ALIASES.get(str(data.get("Architecture")), str(data.get("Architecture")))
        if f"{data.get('Os')}/{arch}" != platform or not reference.startswith("localhost/"):
            # A local build is the engine's own image. Any other is asked for a container: a
            # multi-platform image in the containerd image store has inspect name one of its
            # platforms (the engine's when present), and docker 26's API answers for another
            # one only by creating a container for it, which never pulls: then remove it; an
            # index of indexes has the platform named too, yet no image (docker: "manifest has
            # incorrect mediatype"), which the registry is then asked about. (Slower: removing
            # takes 0.2-0.4 s, so it gets its own deadline and never leaves one behind.)
            query = "/containers/create?platform=" + quote(platform, safe="")
            spec = json.dumps({"Image": reference, "Cmd": ["true"]}).encode()
            wait = max(timeout, PLATFORM_CHECK_TIMEOUT)
            created = json.loads(_docker_api(path, "POST", query, wait, spec, want=201))
            with contextlib.suppress(OSError, ValueError, _Truncated, _Malformed):  # it is here
                _docker_api(path, "DELETE", "/containers/" + quote(str(created["Id"])), wait)
    except _ENGINE_ANSWER_ERRORS:
        return None
    digests = data.get("RepoDigests") or []
    digest = reference.rpartition("@")[2] if "@" in reference else None
    if digest is None and isinstance(digests, list) and digests:
        digest = str(digests[0]).rpartition("@")[2] or None
    built_from = None
    if reference.startswith(LOCAL_DOMAIN + "/"):  # a local build: the Dockerfile it was of
        config = data.get("Config")
        labels = config.get("Labels") if isinstance(config, Mapping) else None
        label = labels.get(DOCKERFILE_LABEL) if isinstance(labels, Mapping) else None
        built_from = label if isinstance(label, str) else ""
    return Result(
        Status.CACHED,
        f"{reference} is in the local image store for {platform}",
        digest=digest,
        platforms=(platform,),
        elapsed=time.monotonic() - start,
        built_from=built_from,
    )


def engine_platform(env: Mapping[str, str], timeout: float) -> str | None:
    """The platform the docker engine runs containers for (``GET /version``: its ``Os``
    and ``Arch``, as ``docker version`` shows them), or None when no engine answers."""
    address = docker_address(env)
    if address is None:
        return None
    try:
        data = json.loads(_docker_api(address, "GET", "/version", timeout, want=200))
        os_name, arch = data.get("Os"), data.get("Arch")
    except _ENGINE_ANSWER_ERRORS:
        return None
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return None
    return f"{os_name.lower()}/{_ARCH_ALIASES.get(arch.lower(), arch.lower())}"


def asks_engine(env: Mapping[str, str], system: str) -> bool:
    """Whether the engine may run another platform than this machine (pure): any engine but
    the default one on Linux (no DOCKER_HOST, no context), whose kernel is this machine's. On
    macOS the engine is a VM (of either architecture: Colima's ``--arch``, a Rosetta shell);
    DOCKER_HOST or a context may name anything, a unix socket too (Colima or Lima on Linux
    run a VM, ``--arch aarch64`` on an x86 machine; a socket forwarded over ssh)."""
    return system != "Linux" or bool(docker_host(env))


def run_platform(
    env: Mapping[str, str], timeout: float, system: str | None = None
) -> tuple[str, str | None]:
    """The platform to run when PHP_IMAGE_PLATFORM is not set, as the launcher picks it: the
    docker engine's (the image runs there), else this machine's; and a note when DOCKER_HOST
    names an engine elsewhere that could not be asked."""
    if system is None:
        system = os.uname().sysname if hasattr(os, "uname") else ""
    if not asks_engine(env, system):
        return detect_host_platform(), None
    found = engine_platform(env, timeout)
    if found is not None:
        return found, None
    host = detect_host_platform()
    engine = docker_host(env)
    if not engine:
        return host, None  # the engine of this machine (or none): the same platform
    # a unix:// one named too: a VM's (Colima, Lima) or a socket forwarded from elsewhere
    shown = hide_credentials(engine) or engine
    return host, (
        f"the docker engine at {shown} (DOCKER_HOST or the docker context) could not be "
        f"asked its platform (resolve speaks to unix:// and plain tcp:// engines, within "
        f"{timeout:g} s): this machine's {host} is used; set {ENV_PLATFORM} to the engine's "
        "(`docker version` shows it)"
    )


# =========================================================================== resolve

ENV_PHP = "PHP_VERSION"
ENV_RELEASE = "STACK_RELEASE"
ENV_USE_PREBUILT = "USE_PREBUILT"
ENV_FALLBACK = "ALLOW_LOCAL_BUILD_FALLBACK"
ENV_REGISTRY = "PREBUILT_REGISTRY"
ENV_PMA = "PMA_IMAGE"
ENV_PLATFORM = "PHP_IMAGE_PLATFORM"
#: docker's own default platform (the docker CLI and compose take it when no platform is
#: given): the image's platform when PHP_IMAGE_PLATFORM (or --platform) is not set.
ENV_DEFAULT_PLATFORM = "DOCKER_DEFAULT_PLATFORM"
ENV_REPOSITORY = "PHP_IMAGE_REPOSITORY"
ENV_MIRROR = "PHP_IMAGE_MIRROR"
ENV_PINS = "PHP_PINS_FILE"
#: How the first launcher gave the release record (vX.Y.Z.json), read no longer: the pins
#: file (vX.Y.Z.env) replaced it, which a command line or an environment naming one is told.
RETIRED_NOTES_FLAG = "--notes"
RETIRED_NOTES_ENV = "PHP_RELEASE_NOTES"


def notes_retired(name: str, pins: str) -> str:
    """What ``name`` (the retired ``--notes`` or ``PHP_RELEASE_NOTES``) is told: the pins
    file, given as ``pins``, replaced the release record it named."""
    return (
        f"{name} (the release record, vX.Y.Z.json) is no longer read: give the release's "
        f"pins file, {pins}, which publisher writes beside the record"
    )


ENV_DOCKERFILES = "PHP_DOCKERFILES"
ENV_TIMEOUT = "RESOLVE_TIMEOUT"
#: start.sh's name for the same deadline: read when RESOLVE_TIMEOUT is not set.
ENV_STACK_TIMEOUT = "STACK_REGISTRY_TIMEOUT"
ENV_CACHE = "PHP_IMAGE_CACHE_CHECK"
#: Not an environment variable: only ``--matrix FILE`` makes resolve read a matrix.yaml.
MATRIX_FLAG = "--matrix"

#: Where the images live when no pins file (or --matrix) says otherwise.
DEFAULT_CANONICAL = "docker.io/twentyi/php-fpm"
DEFAULT_MIRROR = "ghcr.io/twentyi/php-fpm"
DEFAULT_PINS_DIR = "release-notes"
DEFAULT_DOCKERFILES = "dockerfiles"
MAX_TIMEOUT = 60.0
#: Local builds are tagged under this registry name, which never resolves to a
#: remote registry, so a missing local image is never pulled from somewhere else.
LOCAL_DOMAIN = "localhost"
PINS_SCHEMA = "1"
#: A pins file is a few KB; anything larger is not one (start.sh has the same limit, which
#: keeps its shell loop over the lines well under a second).
MAX_PINS_BYTES = 64 * 1024

#: The blanks around a setting that do not count (a stray space, the CR of an env file edited
#: on Windows): ASCII ones alone, as the launcher reads them in every shell and locale. A
#: Unicode space (a no-break space pasted with a value) is part of the value, and refused.
BLANKS = " \t\n\r\x0b\x0c"


def trimmed(value: str) -> str:
    """``value`` without the blanks around it (``BLANKS``)."""
    return value.strip(BLANKS)


def words(value: str) -> list[str]:
    """The words of a pins file's list (``PHP_LINES``, ``PHP_PLATFORMS_X_Y``): split at
    spaces and tabs alone, as the launcher's shell splits them. Another blank (a vertical
    tab, a no-break space) is part of a word, which is then refused."""
    return [word for word in re.split("[ \t]+", value) if word]


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_BASE_ARG_RE = re.compile(r"^ARG\s+PHP_BASE_IMAGE=(\S+)\s*$", re.MULTILINE)
_PINS_LINE_RE = re.compile(r"([A-Z][A-Z0-9_]*)='([^']*)'")
#: A pins file's schema line in any syntax a later schema may write (quoted or not, `=` or
#: `:`), read before any line is judged: a newer publisher's file is said to be one even
#: when its lines changed too (start.sh reads it the same way).
_PINS_SCHEMA_RE = re.compile(
    r"^[ \t\r\f\v]*PHP_PINS_SCHEMA[ \t\r\f\v]*[=:][ \t\r\f\v]*['\"]?([0-9]+)['\"]?[ \t\r\f\v]*$",
    re.MULTILINE | re.ASCII,
)


#: How a pins file's comment on a line past its end of life when the release was written
#: begins (``publisher.core.pins`` writes it): ``# PHP 8.1 was past its end of life
#: (2025-12-31, no security fixes) when this release was published on …; see the release
#: notes.`` A start of that line says it in a note, without the ``# `` and the last period,
#: in resolve's and start.sh's words alike.
END_OF_LIFE_COMMENT = "# PHP {php} was past its end of life ("
_END_OF_LIFE_RE = re.compile(r"# (PHP ([0-9]+\.[0-9]+) was past its end of life \(.*?)\.?")


def end_of_life_notes(text: str) -> dict[str, str]:
    """Per PHP line, the note of a pins file's comment that the line was past its end of life
    (``END_OF_LIFE_COMMENT``): the first one, blanks around it aside; one holding a control
    character is none (start.sh reads them the same way)."""
    notes: dict[str, str] = {}
    for raw in text.split("\n"):
        line = trimmed(raw)
        found = _END_OF_LIFE_RE.fullmatch(line)
        if found and not any(ord(c) < 32 or ord(c) == 127 for c in line):
            notes.setdefault(found[2], found[1])
    return notes


#: What the images of a stand-in matrix (``stand_in: true``) are, in every warning that
#: names them: the summary of its release or rehearsal, its notes, its pins file, and
#: resolve's and start.sh's words on a pins file saying ``PHP_STAND_IN=true``. True of the
#: busybox stand-ins (no PHP) and of those holding Debian's real PHP alike.
STAND_IN_IMAGES = "built on stand-in base images, not the official php images"
#: The warning of the summary and of start.sh (its very words) on such a release.
STAND_IN_WARNING = f"STAND-IN images, {STAND_IN_IMAGES}: do not use them"


class RegistryChoice(enum.Enum):
    CANONICAL = "canonical"
    MIRROR = "mirror"


@dataclass(frozen=True)
class Option:
    """One input: its environment variable, its flag, and what it accepts."""

    env: str
    flag: str
    metavar: str
    help: str
    #: the variables read, in this order, when neither the flag nor ``env`` is set
    also: tuple[str, ...] = ()

    @property
    def variables(self) -> str:
        """The variables it reads, as ``--help`` names them in brackets: in the order
        they win (``RESOLVE_TIMEOUT, else STACK_REGISTRY_TIMEOUT``)."""
        return ", else ".join((self.env, *self.also))


#: Every input, in the order ``--help`` lists them. Flags override the environment.
OPTIONS: tuple[Option, ...] = (
    Option(ENV_PHP, "--php", "X.Y", "PHP line, e.g. 8.4 (default: the pins file's default line)."),
    Option(
        ENV_RELEASE,
        "--release",
        "vX.Y.Z",
        "The stack release, e.g. v2.0.0 (required without a pins file).",
    ),
    Option(
        ENV_USE_PREBUILT,
        "--use-prebuilt",
        "true|false",
        "Use the pre-built image (default true); false always builds locally.",
    ),
    Option(
        ENV_FALLBACK,
        "--allow-fallback",
        "true|false",
        "Build locally when the pre-built image is unusable (default true).",
    ),
    Option(
        ENV_REGISTRY,
        "--registry",
        "canonical|mirror",
        f"Pull from the canonical registry or the mirror (default canonical: {DEFAULT_CANONICAL}).",
    ),
    Option(ENV_PMA, "--pma-image", "REF", "phpMyAdmin image, passed through trimmed."),
    Option(
        ENV_PLATFORM,
        "--platform",
        "linux/amd64|linux/arm64",
        "Platform to run (default: the docker engine's, linux/arm64 on Apple Silicon).",
        also=(ENV_DEFAULT_PLATFORM,),
    ),
    Option(
        ENV_REPOSITORY,
        "--repository",
        "REPO",
        "Pull the same digests from this repository, e.g. a private registry's copy.",
    ),
    Option(ENV_MIRROR, "--mirror-repository", "REPO", "Mirror repository override."),
    Option(
        ENV_PINS,
        "--pins",
        "PATH",
        f"The release's pins file vX.Y.Z.env, or a directory holding it "
        f"(default ./{DEFAULT_PINS_DIR}/STACK_RELEASE.env if present).",
    ),
    Option(
        ENV_DOCKERFILES,
        "--dockerfiles",
        "DIR",
        f"Directory holding <X.Y>/Dockerfile (default ./{DEFAULT_DOCKERFILES}).",
    ),
    Option(
        ENV_TIMEOUT,
        "--timeout",
        "SECONDS",
        f"Seconds each registry has to answer (default {DEFAULT_TIMEOUT:g}).",
        also=(ENV_STACK_TIMEOUT,),
    ),
    Option(
        ENV_CACHE,
        "--cache-check",
        "true|false",
        "Use an image already in the local docker image store without asking the "
        "registry (default true); false asks the registry first, and takes from the store "
        "only a local build's base that its registry cannot give.",
    ),
)


@dataclass(frozen=True)
class Inputs:
    php: str | None  # None: the pins file's default line
    release: str | None  # None: the pins file's release
    use_prebuilt: bool = True
    allow_fallback: bool = True
    registry: RegistryChoice = RegistryChoice.CANONICAL
    pma_image: str | None = None
    platform: str | None = None  # None: DOCKER_DEFAULT_PLATFORM's, else the engine's
    #: DOCKER_DEFAULT_PLATFORM, read when no platform is given (None: not set, or not read).
    default_platform: str | None = None
    #: Whether DOCKER_DEFAULT_PLATFORM is set (not blank), read or not: with the platform
    #: given, unsetting that alone would make it the platform.
    default_platform_set: bool = False
    repository: Repository | None = None
    mirror_repository: Repository | None = None
    pins: str | None = None  # None: ./release-notes/<release>.env if present
    dockerfiles: str = DEFAULT_DOCKERFILES
    timeout: float = DEFAULT_TIMEOUT
    cache_check: bool = True
    matrix: str | None = None
    #: The inputs (by variable) whose value came from a flag, which errors then name.
    flags: frozenset[str] = frozenset()
    #: Whether PHP_IMAGE_REGISTRY_USERNAME and _PASSWORD are both set: the registry is
    #: asked with them, before any docker config login.
    env_credentials: bool = False

    def named(self, env: str) -> str:
        """How the user gave the input ``env``: its flag (``--pins``), or the variable."""
        if env in self.flags:
            return next(o.flag for o in OPTIONS if o.env == env)
        return env

    def setting(self, env: str, value: str) -> str:
        """``NAME=value`` as a reason says it, or ``--flag value`` when a flag gave it."""
        named = self.named(env)
        return f"{env}={value}" if named == env else f"{named} {value}"

    def change(self, env: str, value: str) -> str:
        """How to give the input another value: ``set NAME=value``, or ``pass --flag value``."""
        named = self.named(env)
        return f"set {env}={value}" if named == env else f"pass {named} {value}"

    def drop(self, env: str) -> str:
        """How to leave the input out: ``unset NAME``, or ``drop --flag``."""
        named = self.named(env)
        return f"unset {env}" if named == env else f"drop {named}"

    def to(self, env: str, what: str) -> str:
        """How to give the input a kind of value: ``set NAME to what``, or ``give --flag what``."""
        named = self.named(env)
        return f"set {env} to {what}" if named == env else f"give {named} {what}"


def as_shown(value: str) -> str:
    """A value refused, as the messages show it: whole up to 60 characters, else its first
    57 and "...", quoted by ``repr`` (an invisible character escaped); start.sh's
    ``utf8 repr`` writes the same. Counted in the characters of its UTF-8 (``fs_text``) in
    every locale, so never cut inside one, and given back as the locale holds text
    (``fs_text`` reads the message it goes into once, whole)."""
    text = fs_text(value)
    shown = repr(text if len(text) <= 60 else text[:57] + "...")
    encoding = sys.getfilesystemencoding()
    if codecs.lookup(encoding).name == "utf-8":
        return shown
    return shown.encode("utf-8", "surrogateescape").decode(encoding, "surrogateescape")


#: What PMA_IMAGE may not hold besides whitespace and control characters, and the words
#: both resolve and start.sh refuse such a value with. No image reference holds one (the
#: reference grammar has no '#': in GitHub Actions ``##[`` would be a workflow command).
PMA_REFUSED = "'\"\\#"
PMA_ACCEPTED = (
    "an image reference may not contain whitespace, control characters, quotes, backslashes or '#'"
)


def _bad(name: str, value: str, accepted: str) -> ResolveError:
    """The value of ``name`` refused: ``name`` is the variable, or the flag (``--timeout``)
    when the value came from one, as the user gave it but for the blanks around it, which
    do not count (start.sh says the same words)."""
    value = trimmed(value)
    shown = as_shown(hide_credentials(value) or value)  # never the password
    if name.startswith("--"):
        return ResolveError(
            f"{name} {shown} is not valid: {accepted}", hint=f"correct the flag {name}"
        )
    return ResolveError(
        f"{name}={shown} is not valid: {accepted}",
        hint=f"correct the environment variable {name}",
    )


def parse_bool(name: str, value: str) -> bool:
    text = trimmed(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(name, value, "use true or false (1/0, yes/no, on/off are accepted too)")


def parse_php(value: str, name: str = ENV_PHP) -> str:
    text = trimmed(value)
    if is_php_line(text):
        return text
    full = re.fullmatch(r"([0-9]+\.[0-9]+)\.[0-9]+\S*", text)
    if full:
        raise _bad(name, value, f"give the PHP line MAJOR.MINOR ({full[1]}), not a full version")
    raise _bad(name, value, "use a PHP line MAJOR.MINOR, e.g. 8.4")


#: The spellings docker reads as each platform (lowercase; OS/ARCH[/VARIANT], containerd's
#: normalization): x86_64 is amd64, whose variant v1 is no variant; aarch64 is arm64, whose
#: variant v8 is the only one. start.sh's platform_of takes the same, case-insensitively.
_PLATFORM_SPELLINGS = {
    **dict.fromkeys(
        (
            f"linux/{arch}{variant}"
            for arch in ("amd64", "x86_64", "x86-64")
            for variant in ("", "/v1")
        ),
        "linux/amd64",
    ),
    **dict.fromkeys(
        (
            f"linux/{arch}{variant}"
            for arch in ("arm64", "aarch64")
            for variant in ("", "/8", "/v8", "/v8.0")
        ),
        "linux/arm64",
    ),
}


def docker_platform(text: str) -> str | None:
    """``linux/amd64`` or ``linux/arm64`` when docker reads ``text`` as one of them
    (``linux/arm64/v8``, ``Linux/x86_64``), else None."""
    return _PLATFORM_SPELLINGS.get(text.lower()) if text.isascii() else None


def parse_platform(value: str, name: str = ENV_PLATFORM) -> str:
    """``linux/amd64`` or ``linux/arm64`` from a value docker reads as one of them
    (``linux/arm64/v8``, ``Linux/x86_64``), else the value refused, naming ``name``."""
    text = trimmed(value)
    platform = docker_platform(text)
    if platform:
        return platform
    accepted = "use " + " or ".join(PLATFORMS)
    if name == ENV_DEFAULT_PLATFORM:  # docker's, set for every project: say what it does here
        accepted += f" (the PHP image's platform when {ENV_PLATFORM} is not set)"
    raise _bad(name, value, accepted)


#: Seconds as the launcher reads them: digits with at most one '.', at most 9 characters
#: (no sign, exponent, '_' or non-ASCII digits, which float() would take).
_SECONDS_RE = re.compile(r"(?=[0-9.]{1,9}$)[0-9]*\.?[0-9]*")


def parse_timeout(value: str, name: str = ENV_TIMEOUT) -> float:
    text = trimmed(value)  # the blanks around a setting do not count (a CR, a stray space)
    number = float(text) if _SECONDS_RE.fullmatch(text) and text != "." else -1.0
    if not 0 < number <= MAX_TIMEOUT:
        raise _bad(name, value, f"use a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return number


def parse_path(name: str, value: str) -> str:
    """A path (the pins file, the Dockerfiles' folder, the matrix file; ``resolve``'s
    ``cwd``, DOCKER_CONFIG and HOME) as given; one
    holding a NUL byte, which no file's name can (the library's callers can give one;
    argv and the environment cannot), refused naming ``name``."""
    if "\x00" in value:
        raise _bad(name, value, "a path holds no NUL byte")
    return value


#: The engine's platform ``resolve(host=...)`` takes: os/arch[/variant], as ``docker
#: version`` gives it (a 32-bit engine's linux/arm too: an image it cannot run is a
#: decision, as for a detected one).
_ENGINE_PLATFORM_RE = re.compile(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?")


def parse_host(value: str) -> str:
    """``resolve``'s ``host``: read as ``PHP_IMAGE_PLATFORM`` is (``Linux/x86_64`` is
    linux/amd64), another engine's os/arch[/variant] as it is; anything else (``garbage``)
    refused as invalid input, as it is there, not decided as a platform the image lacks."""
    text = trimmed(value)
    platform = docker_platform(text)
    if platform:
        return platform
    if _ENGINE_PLATFORM_RE.fullmatch(text):
        return text
    raise ResolveError(
        f"host={as_shown(value)} is not valid: use "
        "the docker engine's platform, os/arch[/variant] (e.g. linux/amd64 or linux/arm64)",
        hint="pass the platform `docker version` gives, or leave host out to ask the engine",
    )


def parse_release(name: str, value: str) -> str:
    text = trimmed(value)
    if not is_release(text):
        raise _bad(name, value, _release_advice(text))
    return text


def _release_advice(text: str) -> str:
    """What a refused release tag should be: one that lacks its lowercase ``v`` (``2.0.0``,
    ``V2.0.0``) is named with it (start.sh says the same words)."""
    if _RELEASE_RE.fullmatch(text):
        return release_problem(text) or ""
    if text[:1] == "V" and is_release("v" + text[1:]):
        return f"a release tag starts with a lowercase 'v' (did you mean v{text[1:]}?)"
    if is_release("v" + text):
        return f"a release tag starts with 'v' (did you mean v{text}?)"
    return "use v + a semantic version, e.g. v2.0.0 or v2.1.0-rc.1"


def parse_inputs(
    env: Mapping[str, str], overrides: Mapping[str, str | None] | None = None
) -> Inputs:
    """Read the inputs from ``env``; ``overrides`` (same keys, e.g. from flags) win.

    Empty values count as unset. Raises ResolveError naming the variable and what
    it accepts.
    """
    merged: dict[str, str] = {}
    named: dict[str, str] = {}  # each input as the user gave it: the flag, or the variable
    for option in OPTIONS:
        value = (overrides or {}).get(option.env)
        named[option.env] = option.env if value is None else option.flag
        if value is None:
            value = env.get(option.env)
        if value is not None and trimmed(value) != "":
            merged[option.env] = value
    matrix = (overrides or {}).get(MATRIX_FLAG)

    registry = RegistryChoice.CANONICAL
    if ENV_REGISTRY in merged:
        text = trimmed(merged[ENV_REGISTRY]).lower()
        try:
            registry = RegistryChoice(text)
        except ValueError:
            raise _bad(
                named[ENV_REGISTRY], merged[ENV_REGISTRY], "use canonical or mirror"
            ) from None

    pma = trimmed(merged[ENV_PMA]) if ENV_PMA in merged else None  # a CR is no part of it
    # No image reference holds them, and the env file could not hold a quote or a control
    # character safely (nor a '#' in GitHub Actions): refused in every format, before any
    # decision (start.sh alike).
    if pma is not None and any(
        c.isspace() or ord(c) < 32 or ord(c) == 127 or c in PMA_REFUSED for c in pma
    ):
        raise _bad(named[ENV_PMA], pma, PMA_ACCEPTED)

    def repository(name: str) -> Repository | None:
        if name not in merged:
            return None
        value = trimmed(merged[name])
        if hide_credentials(value) is not None:
            before, _, after = value.rpartition("@")
            if (not after or TAG_RE.fullmatch(after)) and is_repository_name(before):
                # `localhost:5000/php@8.4`: a tag typed where a digest goes, not a password
                # (the part before '@' still not echoed)
                raise _bad(
                    named[name],
                    merged[name],
                    f"what follows '@' ({after!r}) is not a digest, and a repository name "
                    "may not have a tag or digest here (e.g. registry.example.com/team/php-fpm)",
                )
            raise _bad(
                named[name],
                merged[name],
                "it carries credentials (user:password@): give the repository alone, and run "
                f"`docker login` for its registry (resolve also reads {ENV_USERNAME} and "
                f"{ENV_PASSWORD})",
            )
        try:
            return parse_repository(trimmed(merged[name]))
        except ValueError as exc:
            raise _bad(
                named[name], merged[name], f"{exc} (e.g. registry.example.com/team/php-fpm)"
            ) from None

    def release(name: str) -> str | None:
        return parse_release(named[name], merged[name]) if name in merged else None

    def flag(name: str) -> bool:
        return parse_bool(named[name], merged.get(name, "true"))

    return Inputs(
        php=parse_php(merged[ENV_PHP], named[ENV_PHP]) if ENV_PHP in merged else None,
        release=release(ENV_RELEASE),
        use_prebuilt=flag(ENV_USE_PREBUILT),
        allow_fallback=flag(ENV_FALLBACK),
        registry=registry,
        pma_image=pma,
        platform=parse_platform(merged[ENV_PLATFORM], named[ENV_PLATFORM])
        if ENV_PLATFORM in merged
        else None,
        # docker's default platform, as docker takes it, unless a platform is given (then it
        # is not read, nor refused)
        default_platform=parse_platform(env[ENV_DEFAULT_PLATFORM], ENV_DEFAULT_PLATFORM)
        if ENV_PLATFORM not in merged and trimmed(env.get(ENV_DEFAULT_PLATFORM, ""))
        else None,
        default_platform_set=bool(trimmed(env.get(ENV_DEFAULT_PLATFORM, ""))),
        repository=repository(ENV_REPOSITORY),
        mirror_repository=repository(ENV_MIRROR),
        # a CR is no part of it
        pins=trimmed(parse_path(named[ENV_PINS], merged[ENV_PINS])) if ENV_PINS in merged else None,
        dockerfiles=trimmed(
            parse_path(named[ENV_DOCKERFILES], merged.get(ENV_DOCKERFILES, DEFAULT_DOCKERFILES))
        ),
        timeout=parse_timeout(merged[ENV_TIMEOUT], named[ENV_TIMEOUT])
        if ENV_TIMEOUT in merged
        else parse_timeout(env[ENV_STACK_TIMEOUT], ENV_STACK_TIMEOUT)
        if trimmed(env.get(ENV_STACK_TIMEOUT, ""))
        else DEFAULT_TIMEOUT,
        cache_check=flag(ENV_CACHE),
        matrix=parse_path(MATRIX_FLAG, matrix) if matrix else None,
        flags=frozenset(name for name in merged if named[name] != name),
    )


# --------------------------------------------------------------------------- the pins file


#: A word of a pins file's PHP_PLATFORMS_X_Y: os/arch[/variant] (start.sh's is_platform).
_PINNED_PLATFORM_RE = re.compile(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?")


@dataclass(frozen=True)
class PinnedLine:
    php: str
    image: ImageRef  # on the canonical registry, tag and digest
    mirror_image: ImageRef | None
    #: None: the pins file records none (``PHP_PLATFORMS_X_Y`` empty or missing), so the
    #: registry is asked; never taken for a line published for no platform.
    platforms: tuple[str, ...] | None
    base_image: str | None

    @property
    def digest(self) -> str:
        assert self.image.digest is not None
        return self.image.digest


@dataclass(frozen=True)
class Pins:
    """A release's pins file (``release-notes/vX.Y.Z.env``, schema 1)."""

    source: str
    release: str
    default_line: str | None
    stand_in: bool
    repository: Repository
    mirror: Repository | None
    lines: tuple[PinnedLine, ...]
    #: Per PHP line, the note of its comment that it was past its end of life when the
    #: release was written (``end_of_life_notes``).
    end_of_life: Mapping[str, str] = field(default_factory=dict)

    def line(self, php: str) -> PinnedLine | None:
        return next((line for line in self.lines if line.php == php), None)

    @property
    def line_names(self) -> tuple[str, ...]:
        return sort_lines(line.php for line in self.lines)


#: What an editor saving "UTF-8 with BOM" puts first: no pins file publisher writes.
BYTE_ORDER_MARK = "\ufeff"

#: The tip for a pins file whose default line is not one publisher writes (the launcher
#: says the same words).
EDITED_PINS = (
    "use the pins file publisher wrote, unmodified: this one was edited by hand (take the "
    "release's vX.Y.Z.env again)"
)


def read_pins_text(text: str, *, source: str) -> dict[str, str]:
    """The ``KEY='value'`` pairs of a pins file; PinsError names the line it cannot read."""
    values: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.split("\n"), 1):  # as the launcher's `read` splits it
        line = trimmed(raw)
        if not line or line.startswith("#"):
            continue
        match = _PINS_LINE_RE.fullmatch(line)
        if not match or match[1] in seen:
            what = (
                "is not KEY='value'"
                if not match
                else f"gives {match[1]} again (line {seen[match[1]]})"
            )
            raise PinsError(
                f"line {number} {what}",
                source=source,
                hint="use the pins file publisher wrote, unmodified",
            )
        values[match[1]] = match[2]
        seen[match[1]] = number
    return values


def parse_pins(text: str, *, source: str) -> Pins:
    """Parse a pins file (schema 1); raise PinsError naming the key. A newer schema is
    refused as such before any line is read, whatever their syntax."""
    newer = _PINS_SCHEMA_RE.search(text)
    if newer and int(newer[1]) > int(PINS_SCHEMA):
        schema = newer[1]
        raise PinsError(
            f"PHP_PINS_SCHEMA is {schema!r}: a newer publisher wrote this pins file; this "
            f"launcher reads schema {PINS_SCHEMA}",
            source=source,
            hint="update the stack's start.sh and resolve.py to the publisher version that "
            "wrote the pins file (its release's examples/stack), or use a pins file of schema "
            f"{PINS_SCHEMA}",
        )
    values = read_pins_text(text, source=source)

    def fail(message: str) -> PinsError:
        return PinsError(
            message, source=source, hint="use the pins file publisher wrote, unmodified"
        )

    if not values:
        raise fail("the pins file is empty")
    schema = values.get("PHP_PINS_SCHEMA")
    if schema != PINS_SCHEMA:
        raise fail(
            ("PHP_PINS_SCHEMA is missing" if schema is None else f"PHP_PINS_SCHEMA is {schema!r}")
            + f"; schema {PINS_SCHEMA} is expected (is it a pins file?)"
        )
    release = values.get("STACK_RELEASE", "")
    if not is_release(release):
        raise fail(f"STACK_RELEASE {release!r} is not a release tag")
    stand_in = values.get("PHP_STAND_IN", "false")
    if stand_in not in ("true", "false"):  # any other word would drop the STAND-IN banner
        raise fail(f"PHP_STAND_IN: {as_shown(stand_in)} is not true or false")

    def ref(key: str, value: str) -> ImageRef:
        try:
            return parse_reference(value)
        except ValueError as exc:
            raise fail(f"{key}: {exc}") from None

    try:
        repository = parse_repository(values.get("PHP_REPOSITORY", ""))
        mirror_text = values.get("PHP_MIRROR_REPOSITORY")
        mirror = parse_repository(mirror_text) if mirror_text else None
    except ValueError as exc:
        raise fail(f"PHP_REPOSITORY/PHP_MIRROR_REPOSITORY: {exc}") from None
    lines = []
    for php in words(values.get("PHP_LINES", "")):
        if not is_php_line(php):
            raise fail(f"PHP_LINES: {as_shown(php)} is not a PHP line")
        key = php.replace(".", "_")
        image_text = values.get(f"PHP_IMAGE_{key}")
        if image_text is None:
            raise fail(f"PHP_IMAGE_{key} is missing (PHP_LINES lists {php})")
        image = ref(f"PHP_IMAGE_{key}", image_text)
        if image.digest is None:
            raise fail(f"PHP_IMAGE_{key} is not pinned by digest")
        # A key publisher writes for every line, missing, is a file cut short (a download's
        # last lines lost): never a line read as if pinned without it.
        if mirror is not None and f"PHP_IMAGE_MIRROR_{key}" not in values:
            raise fail(f"PHP_IMAGE_MIRROR_{key} is missing (PHP_MIRROR_REPOSITORY names a mirror)")
        mirror_image = None
        if f"PHP_IMAGE_MIRROR_{key}" in values:
            mirror_image = ref(f"PHP_IMAGE_MIRROR_{key}", values[f"PHP_IMAGE_MIRROR_{key}"])
        if f"PHP_PLATFORMS_{key}" not in values:
            raise fail(f"PHP_PLATFORMS_{key} is missing (PHP_LINES lists {php})")
        listed = words(values.get(f"PHP_PLATFORMS_{key}", ""))
        for word in listed:  # the first in the file's order, as the launcher names it
            if not _PINNED_PLATFORM_RE.fullmatch(word):
                raise fail(
                    f"PHP_PLATFORMS_{key}: {as_shown(word)} is not a platform (os/arch, e.g. "
                    "linux/amd64)"
                )
        platforms = tuple(sorted(listed)) or None  # None: not recorded, the registry is asked
        if f"PHP_BASE_IMAGE_{key}" not in values:
            raise fail(f"PHP_BASE_IMAGE_{key} is missing (PHP_LINES lists {php})")
        base = values[f"PHP_BASE_IMAGE_{key}"] or None  # empty: the Dockerfile's default
        if base is not None:  # a reference (by digest when publisher knew it), no option
            ref(f"PHP_BASE_IMAGE_{key}", base)
        lines.append(PinnedLine(php, image, mirror_image, platforms, base))
    default_line = values.get("PHP_DEFAULT_LINE") or None
    if default_line is not None and not is_php_line(default_line):
        raise PinsError(
            f"PHP_DEFAULT_LINE: '{default_line}' is not a PHP line", source=source, hint=EDITED_PINS
        )
    return Pins(
        source=source,
        release=release,
        default_line=default_line,
        stand_in=stand_in == "true",
        repository=repository,
        mirror=mirror,
        lines=tuple(lines),
        end_of_life=end_of_life_notes(text),
    )


def _is(path: Path, kind: Callable[[int], bool]) -> bool:
    """Whether ``path`` is there as a ``kind`` (``stat.S_ISREG``, ``stat.S_ISDIR``): a path
    the system cannot even look up (a name too long, a loop) is not there."""
    try:
        return kind(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def find_pins(
    pins: str | None, release: str | None, *, cwd: Path | None, name: str = ENV_PINS
) -> tuple[Path | None, str | None]:
    """Where the pins file should be, and what the user named (with ``name``: the
    variable, or the flag ``--pins``): ``"file"``, ``"directory"`` (of vX.Y.Z.env), or
    None for the default location."""
    if pins is None:
        if release is None:
            return None, None
        candidate = _under(cwd, Path(DEFAULT_PINS_DIR) / f"{release}.env")
        return (candidate if _is(candidate, stat.S_ISREG) else None), None
    path = Path(pins)
    if not path.is_absolute():
        path = _under(cwd, path)
    if _is(path, stat.S_ISDIR):
        if release is None:
            raise ResolveError(
                f"{name} names a directory ({path}), and {ENV_RELEASE} is not set",
                hint=f"set {ENV_RELEASE}, or point {name} at the vX.Y.Z.env file",
            )
        return path / f"{release}.env", "directory"
    return path, "file"


def load_pins(
    pins: str | None,
    release: str | None,
    *,
    cwd: Path | None,
    name: str = ENV_PINS,
    drop_release: str = f"unset {ENV_RELEASE}",
    point_pins: str = f"set {ENV_PINS} to this file",
) -> Pins | None:
    """The pins file at hand for ``release``, or None.

    A path the user named (with ``name``: the variable, or the flag ``--pins``) must exist
    and be for ``release`` (when given); the default location is optional. ``drop_release``
    is how to leave the release out (``drop --release`` when a flag gave it);
    ``point_pins`` how to name this very file (``give --pins this file``): a file taken
    from a directory by the release is used without it only when named itself.
    """
    path, named = find_pins(pins, release, cwd=cwd, name=name)
    explicit = named is not None
    if path is None:
        return None
    not_pins = "use the pins file publisher wrote (vX.Y.Z.env), unmodified"
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a device or a pipe: never read
            raise PinsError(
                "not a regular file, so not a pins file", source=str(path), hint=not_pins
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_PINS_BYTES + 1)
        if len(data) > MAX_PINS_BYTES:
            raise PinsError(
                f"larger than {MAX_PINS_BYTES // 1024} KiB, so not a pins file",
                source=str(path),
                hint=not_pins,
            )
        text = data.decode("utf-8")
        if text.startswith(BYTE_ORDER_MARK):  # sh would take it for part of line 1's first word
            raise PinsError(
                "line 1 starts with a byte order mark (U+FEFF): an editor saved the file as "
                "UTF-8 with BOM, which sh reads as part of that line",
                source=str(path),
                hint="use the pins file publisher wrote, unmodified (download it again)",
            )
        if "\0" in text:  # the launcher's shell would drop it unsaid (UTF-16 without a BOM)
            number = text.count("\n", 0, text.index("\0")) + 1
            raise PinsError(
                f"line {number} holds a NUL byte (0x00): not a pins file, or one saved in "
                "another encoding",
                source=str(path),
                hint="use the pins file publisher wrote, unmodified (download it again)",
            )
    except UnicodeDecodeError as exc:
        number = data.count(b"\n", 0, exc.start) + 1
        raise PinsError(
            f"line {number} holds a byte that is not UTF-8 ({data[exc.start]:#04x}): not a "
            "pins file, or one saved in another encoding",
            source=str(path),
            hint="use the pins file publisher wrote, unmodified (download it again)",
        ) from None
    except FileNotFoundError:
        if not explicit:
            return None
        # start.sh's words for what the user named: a file, or a directory of vX.Y.Z.env
        hint = (
            f"check {ENV_RELEASE}, or put the release's {path.name} in the directory {name} names"
            if named == "directory"
            else f"check the path in {name}, or point {name} at the release's vX.Y.Z.env"
        )
        with contextlib.suppress(OSError):  # a link whose target is missing: named (start.sh alike)
            target = os.readlink(path)
            other = (
                f"check {ENV_RELEASE}"
                if named == "directory"
                else f"point {name} at the release's vX.Y.Z.env"
            )
            raise PinsError(
                f"pins file not found: it is a symbolic link to {target}, which does not exist",
                source=str(path),
                hint=f"restore {target} or point the link at the release's vX.Y.Z.env, or {other}",
            ) from None
        if named == "directory" and release and _is(path.with_suffix(".json"), stat.S_ISREG):
            raise _no_pins_yet(release, path, name) from None
        raise PinsError("pins file not found", source=str(path), hint=hint) from None
    except OSError as exc:
        copy = f"point {name} at a copy" if explicit else f"set {name} to a copy"
        if isinstance(exc, PermissionError):
            readable = " it can read" if explicit else ""
            hint = f"give this user read access to it (and search access to its folders), or {copy}{readable}"
        else:
            hint = f"check the path and the disk it is on, or {copy}"
        raise PinsError(
            f"cannot read the pins file: {exc.strerror or exc}", source=str(path), hint=hint
        ) from None
    if text.lstrip(" \t\n\r\v\f").startswith("{"):  # a JSON object: no pins file
        # a release record names "release" and "lines" (start.sh's test: a grep for each)
        if all(re.search(rf'"{key}"[ \t\r\v\f]*:', text) for key in ("release", "lines")):
            raise _release_record(path, name)
        raise PinsError(
            "this is JSON, not a pins file (KEY='value' lines)",
            source=str(path),
            hint="use the pins file publisher wrote (vX.Y.Z.env), unmodified",
        )
    parsed = parse_pins(text, source=str(path))
    if release is not None and parsed.release != release:
        # start.sh's words; without the release, a directory's file is not found: named itself
        use = f"{point_pins} and {drop_release}" if named == "directory" else drop_release
        raise PinsError(
            f"this pins file is for {parsed.release}, not {release}",
            source=str(path),
            hint=f"take the pins file of {release}, or {use} to use this one ({parsed.release})",
        )
    return parsed


def _rerun(release: str) -> str:
    return (
        f"ask its maintainer to rerun `publisher release {release}` (rebuilds nothing, "
        f"writes {release}.env)"
    )


def _release_record(path: Path, name: str) -> PinsError:
    """A release record (``vX.Y.Z.json``, JSON) given where its pins file goes (start.sh
    says the same words)."""
    stem = path.name[: -len(".json")] if path.name.endswith(".json") else ""
    release = stem if is_release(stem) else "vX.Y.Z"
    return PinsError(
        f"this is the release record {release}.json, not its pins file {release}.env",
        source=str(path),
        hint=f"point {name} at {release}.env, which publisher writes beside it; a release "
        f"published before publisher wrote pins files has none: {_rerun(release)}",
    )


def _no_pins_yet(release: str, path: Path, name: str) -> PinsError:
    """A directory with the release record of ``release`` but not its pins file ``path``
    (start.sh says the same words)."""
    return PinsError(
        f"pins file not found: {release} was published before publisher wrote pins files "
        f"(the directory holds its release record {release}.json, and no {release}.env)",
        source=str(path),
        hint=f"{_rerun(release)}, then put it in the directory {name} names; or check "
        f"{ENV_RELEASE}",
    )


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Choice:
    """The deterministic pre-built reference, and what the pins already tell."""

    php: str
    release: str
    registry: RegistryChoice
    repository: Repository
    pin: str
    digest: str | None
    platform: str
    #: Lines published in this release, when known without asking the registry.
    published_lines: tuple[str, ...] | None
    #: Platforms of this line, from the pins file.
    known_platforms: tuple[str, ...] | None
    #: A verdict the pins give without any network request (line or platform missing).
    precheck: Result | None
    base_image: str | None
    pins: str | None
    stand_in: bool = False
    #: The repository path of local builds: the canonical one, whichever registry pulls.
    local_path: str | None = None
    #: Something to know that changes nothing (the mirror asked for, and there is none).
    note: str | None = None
    #: Whether the other PREBUILT_REGISTRY would pull another repository (advice names it).
    other_registry: bool = True
    #: The docker engine's own platform, when asked for a platform DOCKER_DEFAULT_PLATFORM
    #: gave (None: not asked, or it could not be).
    engine: str | None = None

    @property
    def reference(self) -> str:
        return str(ImageRef(self.repository, self.pin, self.digest))

    @property
    def local_image(self) -> str:
        """The local build's tag, keyed on its base: a republished base is a new build."""
        return local_tag(self.local_path or self.repository.path, self.pin, self.base_image)

    def target(self) -> Target:
        return Target(
            host=self.repository.domain,
            repository=self.repository.path,
            reference=self.digest or self.pin,
            platform=self.platform,
            plain_http=is_loopback(self.repository.domain),
            known_platforms=self.known_platforms if self.digest else None,
        )


def local_tag(path: str, pin: str, base_image: str | None) -> str:
    """``localhost/PATH:PIN``, plus ``-base-`` and 12 hex of the base digest when it has one
    (start.sh names it the same way)."""
    digest = (base_image or "").partition("@sha256:")[2]
    return f"{LOCAL_DOMAIN}/{path}:{pin}" + (f"-base-{digest[:12]}" if digest else "")


#: The Python packages publisher needs (pyproject.toml's dependencies), by the module each
#: is imported as: a ModuleNotFoundError names the module, pip the package.
DEPENDENCIES = {
    "click": "click",
    "jinja2": "Jinja2",
    "yaml": "PyYAML",
    "requests": "requests",
    "urllib3": "urllib3",
    "rich": "rich",
    "github": "PyGithub",
}
#: How to put php-fpm-publisher in place with what it needs.
INSTALL_PUBLISHER = (
    "install php-fpm-publisher from the publisher repository with its dependencies "
    "(`pip install .` in its checkout, without --no-deps; it is not on PyPI)"
)


def missing_dependency(exc: ImportError) -> tuple[str, str]:
    """(what is not installed, how to install it) for an ImportError publisher's package met
    loading: the dependency it names (``pip install --no-deps`` left PyYAML out: "the Python
    package PyYAML (module 'yaml')"), a module one of them needs, or the package itself."""
    module = (exc.name or "publisher").partition(".")[0]
    if module == "publisher":
        return "the publisher package", INSTALL_PUBLISHER
    if module in DEPENDENCIES:
        package = DEPENDENCIES[module]
        return (
            f"the Python package {package} (module {module!r})",
            f"install it: `python3 -m pip install {package}` with the Python that runs "
            f"publisher; or {INSTALL_PUBLISHER}",
        )
    return f"the Python module {module!r}, which publisher's dependencies need", INSTALL_PUBLISHER


def matrix_repositories(path: str, env: Mapping[str, str]) -> tuple[Repository, Repository]:
    """(canonical, mirror) from a matrix.yaml named with --matrix (needs the publisher package
    and PyYAML: ``missing_dependency`` names which is not installed, and its Python: one
    older than the package runs on is told so, not shown a traceback)."""
    try:
        from publisher import PYTHON_REQUIRED

        if sys.version_info < PYTHON_REQUIRED:  # resolve alone runs on 3.9, the package not
            wanted = ".".join(map(str, PYTHON_REQUIRED))
            raise ResolveError(
                f"{MATRIX_FLAG} {path} needs the publisher package, which needs Python "
                f"{wanted} or newer; this is " + ".".join(map(str, sys.version_info[:3])),
                hint=f"run resolve with Python {wanted} or newer, the publisher package "
                f"installed there; or drop {MATRIX_FLAG} and ship the release's pins file",
            )
        from publisher.core import config  # yaml and the whole package: only on this path
    except ImportError as exc:
        what, how = missing_dependency(exc)
        raise ResolveError(
            f"{MATRIX_FLAG} {path} needs {what}, which is not installed",
            hint=f"{how}; or drop {MATRIX_FLAG} and ship the release's pins file",
        ) from None
    from publisher.core.errors import PublisherError

    if not os.path.exists(path):  # False too for a path that cannot be looked up
        raise ResolveError(
            f"{MATRIX_FLAG} {path}: no such file",
            hint=f"give {MATRIX_FLAG} the path of the stack's matrix.yaml, or drop it and "
            "ship the release's pins file",
        )
    try:
        cfg = config.load(Path(path), {})
    except PublisherError as exc:
        # The loader's tips name publisher's own option for the file; here it is --matrix.
        hint = exc.hint.replace("--config", MATRIX_FLAG) if exc.hint else None
        raise ResolveError(f"{MATRIX_FLAG}: {exc.message}", hint=hint) from None
    primary = cfg.primary.repository.repository()
    secondaries = cfg.secondaries
    mirror = (secondaries[0] if secondaries else cfg.primary).repository.repository()
    return Repository(primary.domain, primary.path), Repository(mirror.domain, mirror.path)


def _repositories(pins: Pins | None) -> tuple[Repository, Repository]:
    if pins is not None:
        return pins.repository, pins.mirror or pins.repository
    return parse_repository(DEFAULT_CANONICAL), parse_repository(DEFAULT_MIRROR)


def choose(inputs: Inputs, pins: Pins | None, platform: str) -> Choice:
    """The reference to use, deterministically, and what the pins say about it (pure)."""
    release = inputs.release or (pins.release if pins else None)
    php = inputs.php or (pins.default_line if pins else None)
    if release is None:
        raise ResolveError(
            f"{ENV_RELEASE} is not set, and there is no pins file",
            hint=f"set {ENV_RELEASE} (e.g. v2.0.0), or {ENV_PINS} to the release's vX.Y.Z.env",
        )
    if inputs.php is None and pins is not None and php is not None and pins.line(php) is None:
        raise PinsError(
            f"PHP_DEFAULT_LINE: '{php}' is not one of PHP_LINES, so the pins file pins no "
            f"image for it (no PHP_IMAGE_{php.replace('.', '_')})",
            source=pins.source,
            hint=f"{EDITED_PINS}, or set {ENV_PHP} to a line it lists",
        )
    if php is None:  # the example: the newest line the pins file holds (the launcher's too)
        example = pins.line_names[-1] if pins is not None and pins.lines else "8.4"
        raise ResolveError(
            f"{ENV_PHP} is not set"
            + (" (and the pins file names no default line)" if pins is not None else ""),
            hint=f"set {ENV_PHP} (e.g. {ENV_PHP}={example}) or pass --php {example}",
        )
    canonical, mirror = _repositories(pins)
    on_canonical = inputs.repository or canonical
    on_mirror = inputs.mirror_repository or inputs.repository or mirror
    if inputs.registry is RegistryChoice.CANONICAL:
        repository, other = on_canonical, on_mirror
    else:
        repository, other = on_mirror, on_canonical
    pin = pin_tag(release, php)
    digest = published = known = precheck = base_image = note = None
    if (
        inputs.use_prebuilt
        and inputs.registry is RegistryChoice.MIRROR
        and pins is not None
        and pins.mirror is None
        and inputs.mirror_repository is None
    ):
        note = (
            f"{ENV_REGISTRY}=mirror, but the pins file names no mirror (a release on one "
            f"registry) and {ENV_MIRROR} is not set: the images come from {repository}"
        )
    if pins is not None:
        published = pins.line_names
        line = pins.line(php)
        if line is None:
            precheck = Result(
                Status.NOT_PUBLISHED,
                f"the pins file {pins.source} lists no PHP {php} image",
            )
        else:
            digest = line.digest
            known = line.platforms  # None: not recorded, the registry is asked
            base_image = line.base_image
            if line.platforms is not None and platform not in line.platforms:
                shown = ", ".join(line.platforms)
                image = str(ImageRef(repository, pin, digest))
                precheck = Result(
                    Status.PLATFORM_MISSING,
                    f"{image} has no {platform} image (it has: {shown}; pins file)",
                    digest=digest,
                    platforms=line.platforms,
                )
    return Choice(
        php=php,
        release=release,
        registry=inputs.registry,
        repository=repository,
        pin=pin,
        digest=digest,
        platform=platform,
        published_lines=published,
        known_platforms=known,
        precheck=precheck,
        base_image=base_image,
        pins=pins.source if pins else None,
        stand_in=pins.stand_in if pins else False,
        local_path=(pins.repository if pins else inputs.repository or canonical).path,
        note=note,
        other_registry=other != repository,
    )


# --------------------------------------------------------------------------- the decision


class Action(_Word):
    USE_PREBUILT = "use-prebuilt"
    BUILD_LOCALLY = "build-locally"
    CANNOT_PROCEED = "cannot-proceed"

    @property
    def exit_code(self) -> int:
        return {
            Action.USE_PREBUILT: EXIT_USE_PREBUILT,
            Action.BUILD_LOCALLY: EXIT_BUILD_LOCALLY,
            Action.CANNOT_PROCEED: EXIT_CANNOT_PROCEED,
        }[self]


@dataclass(frozen=True)
class DockerfileFacts:
    path: str
    exists: bool
    #: The default of ``ARG PHP_BASE_IMAGE=`` in the Dockerfile.
    base_default: str | None = None
    #: Why this user may not read it (``Permission denied``: the file, or a folder above
    #: it it may not search), or None.
    denied: str | None = None
    #: Why this user may not list its folder, the build context docker sends (``Permission
    #: denied``: a Dockerfile readable in a folder it may search but not read), or None.
    context_denied: str | None = None
    #: The sha256 of its bytes (``sha256:HEX``), when read: a local build carries it as its
    #: ``DOCKERFILE_LABEL``.
    digest: str | None = None

    @property
    def context(self) -> str:
        return str(Path(self.path).parent)

    @property
    def buildable(self) -> bool:
        """Whether a local build can read it, and the build context it sits in."""
        return self.exists and self.denied is None and self.context_denied is None


@dataclass(frozen=True)
class Decision:
    action: Action
    php: str
    release: str
    platform: str
    #: What to run: the pre-built reference, the local tag to build, or "" (cannot proceed).
    image: str
    #: The deterministic pre-built reference (also when it is not used).
    prebuilt: str
    dockerfile: str
    build_context: str
    #: PHP_BASE_IMAGE build argument for a local build (pinned by digest with pins).
    base_image: str | None
    reason: str
    #: What to do: how to enable the fallback, which line to pick, how to log in.
    fix: str | None
    #: The availability verdict (a Status value), or None when not checked.
    availability: str | None
    published_lines: tuple[str, ...] | None
    pma_image: str | None
    pins: str | None
    stand_in: bool = False
    elapsed_ms: float | None = None
    note: str | None = None
    #: A fallback's local build of an earlier start, started as it is (the launcher's
    #: "using the local build"): nothing to build, so PHP_BUILD is 0.
    reused: bool = False
    #: The sha256 of the Dockerfile (``DockerfileFacts.digest``), which compose.yaml labels a
    #: local build with (``PHP_DOCKERFILE_DIGEST``).
    dockerfile_digest: str | None = None

    @property
    def exit_code(self) -> int:
        return self.action.exit_code

    @property
    def build(self) -> bool:
        """Whether the image is to be built (``docker compose up --build``): a local build,
        not one an earlier start left (its Dockerfile may be unreadable, its base gone)."""
        return self.action is Action.BUILD_LOCALLY and not self.reused

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.action.value,
            "exit_code": self.exit_code,
            "php": self.php,
            "release": self.release,
            "platform": self.platform,
            "image": self.image,
            "prebuilt": self.prebuilt,
            "build": self.build,
            "dockerfile": self.dockerfile,
            "build_context": self.build_context,
            "base_image": self.base_image,
            "reason": self.reason,
            "fix": self.fix,
            "availability": self.availability,
            "published_lines": list(self.published_lines)
            if self.published_lines is not None
            else None,
            "pma_image": self.pma_image,
            "pins": self.pins,
            "stand_in": self.stand_in,
            "note": self.note,
        }

    def env(self) -> list[tuple[str, str]]:
        """``KEY=value`` pairs for ``docker compose --env-file`` (fixed order)."""
        if self.action is Action.CANNOT_PROCEED:
            return [("PHP_DECISION", self.action.value)]
        pairs = [
            ("PHP_DECISION", self.action.value),
            ("PHP_IMAGE", self.image),
            ("PHP_BUILD", "1" if self.build else "0"),
            ("PHP_VERSION", self.php),
            ("PHP_PLATFORM", self.platform),
            ("PHP_DOCKERFILE", self.dockerfile),
            ("PHP_BUILD_CONTEXT", self.build_context),
        ]
        if self.base_image:
            pairs.append(("PHP_BASE_IMAGE", self.base_image))
        if self.dockerfile_digest:  # compose.yaml labels a build with it
            pairs.append(("PHP_DOCKERFILE_DIGEST", self.dockerfile_digest))
        pairs.append(("STACK_RELEASE", self.release))
        if self.pma_image is not None:
            pairs.append(("PMA_IMAGE", self.pma_image))
        return pairs


def _lines_text(lines: tuple[str, ...] | None, cut: str | None = None) -> str:
    """The published lines as a reason names them; unknown, never "none", when the
    registry's tag list was not read whole (``cut``, why: in words)."""
    if lines is None:
        if cut:
            return f"unknown (no pins file, and the registry listed only part of its tags: {cut})"
        return "unknown (no pins file, and the registry did not list them)"
    return ", ".join(lines) if lines else "none"


def _other(choice: Choice) -> str:
    return "mirror" if choice.registry is RegistryChoice.CANONICAL else "canonical"


def _problem(choice: Choice, result: Result, inputs: Inputs) -> tuple[str, str]:
    """(what went wrong, what to do about it) for an unusable pre-built image.

    The words match examples/stack/start.sh, class for class; an input a flag gave is
    named as that flag. A docker config that gave no credentials for a problem of its own
    (a helper that hung, failed or answered nonsense, a file that is no JSON, an ``auth``
    that is no base64 of user:password) is named first, as the likely cause.
    """
    why, fix = _registry_problem(choice, result, inputs)
    problem = result.credentials_problem
    if problem is None or result.status is Status.PLATFORM_MISSING:
        return why, fix
    host = choice.repository.domain
    if isinstance(problem, HelperHung):  # start.sh's words, for what it can only suspect
        return (
            f"{problem.message}: {host} was not asked",
            f"a credential helper ({problem.binary}) may be waiting, for a locked keychain or "
            f"a pinentry: unlock it, and check that `echo {host} | {problem.binary} get "
            f">/dev/null` ends; else {fix}",
        )
    hint = problem.hint or "fix the docker config"
    if result.status is Status.UNREACHABLE:  # no answer: the docker config is no likely cause
        return (
            f"{why} (nor did the docker config give credentials: {problem.message})",
            f"{fix}; and for the docker config: {hint}",
        )
    return (
        f"{why} (asked without credentials: {problem.message})",
        f"{hint} (the docker config's problem is the likely cause); else {fix}",
    )


def _registry_problem(choice: Choice, result: Result, inputs: Inputs) -> tuple[str, str]:
    """:func:`_problem` for what the registry answered."""
    host = choice.repository.domain
    status = result.status
    # The other registry is advised only when it is another repository: a release on one
    # registry (or PHP_IMAGE_REPOSITORY for both) would only fail the same way there.
    elsewhere = choice.other_registry
    if status is Status.UNREACHABLE:
        return (
            f"registry {host} is offline or unreachable: {result.detail}",
            "check the network or proxy, "
            + (f"try {inputs.setting(ENV_REGISTRY, _other(choice))}, " if elsewhere else "")
            + f"or point {inputs.named(ENV_REPOSITORY)} at a registry you can reach",
        )
    if status is Status.NOT_PUBLISHED:
        lines = _published(choice, result)
        return (
            f"PHP {choice.php} is not published for release {choice.release} "
            f"({result.detail}); published lines: {_lines_text(lines, result.tags_cut)}",
            inputs.to(ENV_PHP, "a published line") + (f" ({', '.join(lines)})" if lines else ""),
        )
    if status is Status.NOT_ON_REGISTRY:
        return (
            f"{choice.reference} is not on this registry (mirror not synced?): {result.detail}",
            (f"try {inputs.setting(ENV_REGISTRY, _other(choice))}, " if elsewhere else "")
            + "take the release's current pins file (a "
            "republish replaces digests, and a registry may prune old ones), or copy the "
            f"release's digests to {choice.repository}",
        )
    if status is Status.AUTH_REQUIRED:
        if inputs.env_credentials:  # refused: those, not the docker config's, were tried
            fix = (
                f"correct {ENV_USERNAME} and {ENV_PASSWORD} ({host} refused them; they are "
                f"tried before any `docker login`), or unset both and run `docker login {host}`"
            )
        else:
            fix = f"run `docker login {host}` (or set {ENV_USERNAME} and {ENV_PASSWORD})"
        return (f"authentication required: {result.detail}", fix)
    if status is Status.PLATFORM_MISSING:
        other = "linux/arm64" if choice.platform == "linux/amd64" else "linux/amd64"
        # the engine's own platform (DOCKER_DEFAULT_PLATFORM naming it too): the other one
        # is emulated
        advice = f"{inputs.change(ENV_PLATFORM, other)} to run it under emulation"
        if inputs.platform is not None:  # given (the engine is not asked): it may be the other
            # DOCKER_DEFAULT_PLATFORM set too would be the platform once that one is dropped
            drop = inputs.drop(ENV_PLATFORM)
            if inputs.default_platform_set:  # start.sh's words: unset A and B
                unset = "" if drop.startswith("unset ") else "unset "
                drop = f"{drop} and {unset}{ENV_DEFAULT_PLATFORM}"
            advice = (
                f"{drop} to run the docker engine's own platform natively, "
                f"or {inputs.change(ENV_PLATFORM, other)} (under emulation unless the engine "
                f"is {other})"
            )
        elif inputs.default_platform is not None and choice.engine == other:
            advice = (  # docker's default, set for every project: this stack alone, too
                f"unset {ENV_DEFAULT_PLATFORM}, or {inputs.change(ENV_PLATFORM, other)} for "
                "this stack alone, to run the docker engine's own platform natively"
            )
        elif inputs.default_platform is not None and choice.engine is None:  # not known
            advice = (
                f"unset {ENV_DEFAULT_PLATFORM} to run the docker engine's own platform "
                f"natively, or {inputs.change(ENV_PLATFORM, other)} (under emulation unless "
                f"the engine is {other})"
            )
        return (f"platform {choice.platform} missing: {result.detail}", advice)
    if status is Status.RATE_LIMITED:
        return (
            f"registry {host} rate-limited the pull: {result.detail}",
            f"wait and try again, run `docker login {host}` for a higher limit, or "
            f"{inputs.change(ENV_REGISTRY, _other(choice))}"
            if elsewhere
            else f"wait and try again, or run `docker login {host}` for a higher limit",
        )
    again = f"{result.fix} (trying again later does not help)" if result.fix else "try again later"
    return (
        f"registry {host} failed: {result.detail}",
        again + (f", or {inputs.change(ENV_REGISTRY, _other(choice))}" if elsewhere else ""),
    )


def _base_fix(status: Status, base_image: str, inputs: Inputs, published: bool = True) -> str:
    """What makes a local build's base obtainable, for why it could not be pulled (the
    words of start.sh's base_fix); the pre-built image is named as the other thing to pull
    only for a ``published`` line (one the pins file lists)."""
    target = base_target(base_image, "")
    host = target.host if target else "its registry"
    or_prebuilt = " (or the pre-built image)" if published else ""
    if status is Status.UNREACHABLE:
        return f"pull {base_image}{or_prebuilt} once while online"
    if status in (Status.NOT_ON_REGISTRY, Status.NOT_PUBLISHED):
        return (
            f"take the release's current pins file and Dockerfiles: the base {base_image} "
            "is no longer on its registry"
        )
    if status is Status.AUTH_REQUIRED:
        return f"run `docker login {host}` to pull the base {base_image}"
    if status is Status.RATE_LIMITED:
        return f"pull {base_image} once {host} allows it again (`docker login {host}` raises the limit)"
    if status is Status.PLATFORM_MISSING:
        return f"{inputs.to(ENV_PLATFORM, 'a platform')} the base {base_image} has"
    return f"pull {base_image}{or_prebuilt} once {host} answers"


def _published(choice: Choice, result: Result) -> tuple[str, ...] | None:
    if choice.published_lines is not None:
        return choice.published_lines
    if result.tags is not None:
        return release_lines(result.tags, choice.release)
    return None


def decide(
    inputs: Inputs,
    choice: Choice,
    availability: Result | None,
    dockerfile: DockerfileFacts,
    base: Result | None = None,
    reused: bool = False,
) -> Decision:
    """The rules (pure). ``availability`` is None when nothing was checked; ``base``
    is whether the base of a local build can be had (None: not checked, assumed);
    ``reused``: a fallback finds an earlier start's local build in the image store, which
    it takes as start.sh does (needing neither its base nor its Dockerfile)."""
    base_image = choice.base_image or dockerfile.base_default
    choice = replace(choice, base_image=base_image)  # the local tag is keyed on it
    # USE_PREBUILT=false asks nothing about the pre-built image: no verdict to report.
    verdict = (choice.precheck or availability) if inputs.use_prebuilt else None
    # A line the pins file does not list (or the registry does not have) has no pre-built
    # image to point to.
    published = not any(
        found is not None and found.status is Status.NOT_PUBLISHED
        for found in (choice.precheck, verdict)
    )

    def make(action: Action, reason: str, fix: str | None, image: str) -> Decision:
        return Decision(
            action=action,
            php=choice.php,
            release=choice.release,
            platform=choice.platform,
            image=image,
            prebuilt=choice.reference,
            dockerfile=dockerfile.path,
            build_context=dockerfile.context,
            base_image=base_image,
            dockerfile_digest=dockerfile.digest,
            reason=reason,
            fix=fix,
            availability=verdict.status.value if verdict else None,
            published_lines=_published(choice, verdict) if verdict else choice.published_lines,
            pma_image=inputs.pma_image,
            pins=choice.pins,
            stand_in=choice.stand_in,
            elapsed_ms=round(verdict.elapsed * 1000, 1)
            if verdict and not choice.precheck
            else None,
            note=choice.note,
        )

    no_dockerfile = f"there is no Dockerfile for PHP {choice.php} at {dockerfile.path}"
    # start.sh's words for the variables; a flag the user gave is named as given.
    other_line = "a line that has one"
    dockerfile_fix = (
        f"{inputs.to(ENV_DOCKERFILES, 'the directory holding <X.Y>/Dockerfile')}, or "
        + (
            f"{ENV_PHP} to {other_line}"
            if inputs.named(ENV_PHP) == ENV_PHP
            else inputs.to(ENV_PHP, other_line)
        )
    )
    if dockerfile.denied is not None:  # as an unreadable pins file is said
        no_dockerfile = (
            f"the Dockerfile for PHP {choice.php} at {dockerfile.path} cannot be read: "
            f"{dockerfile.denied}"
        )
    elif dockerfile.context_denied is not None:  # docker could not send it: no build either
        no_dockerfile = (
            f"the build context for PHP {choice.php} at {dockerfile.context} (the "
            f"Dockerfile's folder) cannot be read: {dockerfile.context_denied}"
        )
    if dockerfile.denied is not None or dockerfile.context_denied is not None:
        dockerfile_fix = (
            "give this user read access to it (and search access to its folders), or "
            + inputs.to(ENV_DOCKERFILES, "a copy it can read")
        )

    def build(why: str, advice: str, building: str, sep: str = "; ") -> Decision:
        """A local build, or why it cannot work either."""
        if not dockerfile.buildable:
            return make(
                Action.CANNOT_PROCEED,
                f"{why}; the local build fallback is allowed, but {no_dockerfile}",
                f"{advice}; or {dockerfile_fix}",
                "",
            )
        if base is not None and not base.available:
            return make(
                Action.CANNOT_PROCEED,
                f"{why}; a local build cannot work either: its base {base_image} is not in the "
                f"local image store and cannot be pulled ({base.status.value}: {base.detail})",
                f"{advice}; or {_base_fix(base.status, base_image or '', inputs, published)}",
                "",
            )
        return make(Action.BUILD_LOCALLY, f"{why}{sep}{building}", None, choice.local_image)

    if not inputs.use_prebuilt:
        if not dockerfile.buildable:
            return make(
                Action.CANNOT_PROCEED,
                f"{inputs.setting(ENV_USE_PREBUILT, 'false')}, but {no_dockerfile}",
                dockerfile_fix,
                "",
            )
        lines = choice.published_lines
        return build(
            inputs.setting(ENV_USE_PREBUILT, "false"),
            f"{inputs.change(ENV_USE_PREBUILT, 'true')} to use the pre-built image"
            if published
            else inputs.to(ENV_PHP, "a published line")
            + (f" ({', '.join(lines)})" if lines else "")
            + f" and {inputs.change(ENV_USE_PREBUILT, 'true')} to use its pre-built image",
            f"building {choice.local_image} locally from {dockerfile.path}",
            sep=": ",
        )

    if verdict is None:  # pragma: no cover - resolve() always probes when needed
        raise ValueError("decide() needs the availability of the pre-built image")
    if verdict.available:
        stand_in = f" (STAND-IN images, {STAND_IN_IMAGES})" if choice.stand_in else ""
        where = (
            "is in the local image store (no registry request)"
            if verdict.status is Status.CACHED
            else "is available"
        )
        return make(
            Action.USE_PREBUILT,
            f"pre-built image {choice.reference} {where} for {choice.platform}{stand_in}",
            None,
            choice.reference,
        )

    problem, advice = _problem(choice, verdict, inputs)
    if inputs.allow_fallback and reused:  # started, not built: start.sh's words
        return replace(
            make(
                Action.BUILD_LOCALLY,
                f"{problem}; using the local build {choice.local_image} from an earlier start "
                f"({inputs.setting(ENV_FALLBACK, 'true')}; remove it to rebuild)",
                None,
                choice.local_image,
            ),
            reused=True,
        )
    if inputs.allow_fallback:
        return build(
            problem,
            advice,
            f"falling back to a local build of {choice.local_image} from {dockerfile.path} "
            f"({inputs.setting(ENV_FALLBACK, 'true')})",
        )
    enable = inputs.change(ENV_FALLBACK, "true")  # start.sh says the same for the variable
    also = "" if enable.startswith("set ") else "set "
    fallback = (
        f"or {enable} to build locally from {dockerfile.path}"
        if dockerfile.buildable  # one it may not read is said, as below a locked folder
        else f"or, to build locally, {enable} and {also}{ENV_DOCKERFILES} to the directory "
        f"holding <X.Y>/Dockerfile ({no_dockerfile})"
    )
    return make(
        Action.CANNOT_PROCEED,
        f"{problem}; the local build fallback is disabled "
        f"({inputs.setting(ENV_FALLBACK, 'false')})",
        f"{advice}; {fallback}",
        "",
    )


# --------------------------------------------------------------------------- wiring (I/O)


def dockerfile_facts(dockerfiles: str, php: str, *, cwd: Path | None) -> DockerfileFacts:
    # Named by its absolute path, as the pins file is (and as start.sh names both): a
    # relative setting is taken from the working directory, which the message then shows,
    # and compose reads a relative build context from the compose file's folder instead.
    path = Path(dockerfiles) / php / "Dockerfile"
    path = path if path.is_absolute() else _under(cwd, path)
    shown = str(path)
    try:
        data = path.read_bytes()
    except PermissionError as exc:  # the file, or a folder above it (as start.sh tells them)
        return DockerfileFacts(shown, _is(path, stat.S_ISREG), denied=exc.strerror or str(exc))
    except OSError:
        return DockerfileFacts(shown, _is(path, stat.S_ISREG))
    digest = sha256_digest(data)  # as start.sh hashes it
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return DockerfileFacts(shown, _is(path, stat.S_ISREG), digest=digest)
    match = _BASE_ARG_RE.search(text)
    facts = DockerfileFacts(shown, True, match.group(1) if match else None, digest=digest)
    try:  # docker sends the Dockerfile's folder as the build context: it must be listed
        with os.scandir(path.parent) as entries:
            next(entries, None)
    except PermissionError as exc:  # a folder it may search (the file was read), not read
        return replace(facts, context_denied=exc.strerror or str(exc))
    except OSError:
        pass  # anything else is docker's to say, as before
    return facts


ProbeFn = Callable[..., Result]
CacheFn = Callable[..., "Result | None"]


def base_target(base_image: str, platform: str) -> Target | None:
    """What to probe for a local build's base, or None when it is not a valid reference."""
    try:
        ref = parse_reference(base_image)
    except ValueError:
        return None
    return Target(
        host=ref.repository.domain,
        repository=ref.repository.path,
        reference=ref.digest or ref.tag or "latest",
        platform=platform,
        plain_http=is_loopback(ref.repository.domain),
    )


def default_platform_note(platform: str, engine: str | None, inputs: Inputs) -> str:
    """What a decision notes about a platform DOCKER_DEFAULT_PLATFORM gave that is not the
    docker engine's own (``engine``; None: it could not be asked), in start.sh's words."""
    if engine is None:
        return f"platform {platform} ({ENV_DEFAULT_PLATFORM})"
    if engine not in PLATFORMS:  # linux/arm, linux/386: no value either tool takes
        return (
            f"platform {platform} ({ENV_DEFAULT_PLATFORM}; emulated on this {engine} engine, "
            f"which no PHP-FPM image is built for: they are {' and '.join(PLATFORMS)} only)"
        )
    return (
        f"platform {platform} ({ENV_DEFAULT_PLATFORM}; emulated on this {engine} engine): "
        f"{inputs.change(ENV_PLATFORM, engine)} to run the engine's own natively"
    )


def resolve(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    probe: ProbeFn = probe,
    cache: CacheFn | None = cached_image,
    host: str | None = None,
    writes_env: bool = False,
    actions: bool = False,
) -> Decision:
    """Decide which image to run. The function launchers call.

    ``env`` defaults to ``os.environ`` (also used for registry credentials and
    proxies); ``overrides`` are flag values keyed by the variable names (see
    OPTIONS, plus ``--matrix``); ``cwd`` anchors relative paths; ``host``
    overrides the platform detection (the engine's, see :func:`run_platform`; one that is
    no os/arch[/variant] is invalid input, ``parse_host``); ``probe`` and ``cache`` replace the
    registry probe and the local image store lookup (None: never look there).
    ``writes_env``: the decision is for ``--format env``: a Dockerfile path it could not
    write there safely (``env_quote``; ``actions``: in GitHub Actions) is refused before
    anything is decided or asked, so that no decision is said before that refusal.
    Raises ResolveError (invalid input) or PinsError (unreadable pins file); an
    unusable image is a Decision, not an exception.
    """
    env = os.environ if env is None else env
    probe_fn, cache_fn = probe, cache
    inputs = parse_inputs(env, overrides)
    # the paths not read as settings: where relative ones start, where the docker config is
    for name, given in (
        ("cwd", cwd),
        ("DOCKER_CONFIG", env.get("DOCKER_CONFIG")),
        ("HOME", env.get("HOME")),
    ):
        if given is not None:
            parse_path(name, os.fsdecode(given))
    unset = [name for name in (ENV_USERNAME, ENV_PASSWORD) if not env.get(name)]
    if len(unset) == 1:
        given = ENV_PASSWORD if unset[0] == ENV_USERNAME else ENV_USERNAME
        raise ResolveError(
            f"{given} is set but {unset[0]} is not",
            hint=f"set both {ENV_USERNAME} and {ENV_PASSWORD}, or neither (then the docker "
            "config's credentials are used)",
        )
    inputs = replace(inputs, env_credentials=not unset)
    if not inputs.cache_check:
        cache_fn = None
    try:  # a working directory gone is said when a relative path needs it (_under)
        base: Path | None = Path(cwd) if cwd is not None else Path.cwd()
    except OSError:
        base = None
    pins = load_pins(
        inputs.pins,
        inputs.release,
        cwd=base,
        name=inputs.named(ENV_PINS),
        drop_release=inputs.drop(ENV_RELEASE),
        point_pins=inputs.to(ENV_PINS, "this file"),
    )
    if inputs.matrix is not None and pins is None:
        path = (
            inputs.matrix if Path(inputs.matrix).is_absolute() else str(_under(base, inputs.matrix))
        )
        canonical, mirror = matrix_repositories(path, env)
        inputs = replace(
            inputs,
            repository=inputs.repository or canonical,
            mirror_repository=inputs.mirror_repository or mirror,
        )
    engine, engine_note = None if host is None else parse_host(host), None
    if inputs.platform is not None:  # given: the engine is not asked
        platform = inputs.platform
    else:
        if engine is None:
            # The engine's, where the image will run (as the launcher's), asked also under
            # DOCKER_DEFAULT_PLATFORM, to say whether that one is emulated. The engine is no
            # registry: its own deadline, whatever RESOLVE_TIMEOUT is (as the launcher's
            # engine calls): a short registry timeout never picks another platform.
            engine, engine_note = run_platform(env, CACHE_TIMEOUT)
        platform = inputs.default_platform or engine
    choice = choose(inputs, pins, platform)
    if inputs.default_platform is not None:
        # the engine's platform is not taken: one that could not be asked is not known
        engine = None if engine_note is not None else engine
        choice = replace(choice, engine=engine)
        engine_note = (
            None if platform == engine else default_platform_note(platform, engine, inputs)
        )
    if engine_note is not None:
        choice = replace(choice, note="; ".join(filter(None, (choice.note, engine_note))))
    if env.get(RETIRED_NOTES_ENV) and pins is None:  # the first launcher's, ignored
        retired = notes_retired(RETIRED_NOTES_ENV, f"{ENV_PINS}=release-notes/vX.Y.Z.env (--pins)")
        choice = replace(choice, note="; ".join(filter(None, (choice.note, retired))))
    if pins is not None and choice.php in pins.end_of_life:  # said last, as start.sh says it
        ended = pins.end_of_life[choice.php]
        choice = replace(choice, note="; ".join(filter(None, (choice.note, ended))))

    def available(reference: str, target: Target | None) -> Result:
        if cache_fn is not None:
            # as the engine's: a cached image is found offline at any timeout
            found = cache_fn(reference, platform, env=env, timeout=CACHE_TIMEOUT)
            if found is not None:
                return found
        if target is None:
            return Result(Status.REGISTRY_ERROR, f"{reference} is not a valid image reference")
        # the registry's own RESOLVE_TIMEOUT, whatever a busy engine took before it
        return probe_fn(target, timeout=inputs.timeout, env=env)

    facts = dockerfile_facts(inputs.dockerfiles, choice.php, cwd=base)
    if writes_env:  # every decision but cannot-proceed writes both paths
        env_quote("PHP_DOCKERFILE", facts.path, actions=actions)
        env_quote("PHP_BUILD_CONTEXT", facts.context, actions=actions)
    availability = None
    if inputs.use_prebuilt and choice.precheck is None:
        availability = available(choice.reference, choice.target())
        if availability.status is Status.NOT_PUBLISHED and choice.digest is not None:
            # The pins list this line: the release has it, this registry does not.
            availability = replace(availability, status=Status.NOT_ON_REGISTRY)
    usable = availability is not None and availability.available and choice.precheck is None
    base_check = None
    base_image = choice.base_image or facts.base_default
    # A fallback to an earlier start's local build on this base needs no base (offline,
    # after `docker image prune -a` took the base), nor a Dockerfile this user may read, as
    # start.sh reuses it; one that is not there at all is no fallback's.
    # One built from another Dockerfile than this one (its label; none for a build of an
    # earlier launcher) is not taken, and said so in a note, as start.sh says it.
    local_image = replace(choice, base_image=base_image).local_image
    earlier = (
        cache_fn(local_image, platform, env=env, timeout=CACHE_TIMEOUT)
        if not usable
        and (facts.exists or facts.denied is not None)
        and inputs.use_prebuilt
        and inputs.allow_fallback
        and cache_fn is not None
        else None
    )
    reused = earlier is not None
    if (
        earlier is not None
        and facts.digest is not None
        and earlier.built_from is not None  # None: not read (an image store that says none)
        and earlier.built_from != facts.digest
    ):
        reused = False
        stale = (
            f"the local build {local_image} of an earlier start is not started again: it "
            f"was built from another Dockerfile than {facts.path} (its label "
            f"{DOCKERFILE_LABEL}: {earlier.built_from or 'none'}; the file's: {facts.digest})"
        )
        choice = replace(choice, note="; ".join(filter(None, (choice.note, stale))))
    if (
        not usable
        and not reused
        and facts.buildable
        and base_image
        and (inputs.allow_fallback or not inputs.use_prebuilt)
    ):
        # A build starts by pulling its base: find out now, not after a doomed build.
        target = base_target(base_image, platform)  # None: no name docker could store
        base_check = available(base_image, target)
        if base_check.status is Status.NOT_PUBLISHED:
            # not-published is a word for the release's lines: a base, by digest or by
            # tag, is one its registry does not have (start.sh's not-on-registry)
            base_check = replace(base_check, status=Status.NOT_ON_REGISTRY)
        if not (base_check.available or inputs.cache_check or target is None or cache is None):
            # PHP_IMAGE_CACHE_CHECK=false asks the base's registry first; a base it cannot
            # give still builds from the image store, as compose builds on it (start.sh's)
            base_check = cache(base_image, platform, env=env, timeout=CACHE_TIMEOUT) or base_check
    return decide(inputs, choice, availability, facts, base_check, reused=bool(reused))


# --------------------------------------------------------------------------- GitHub Actions


def in_actions(env: Mapping[str, str] | None) -> bool:
    """Whether this run is a GitHub Actions step (``GITHUB_ACTIONS=true``; None: this
    process's environment), whose runner reads its stdout and stderr for workflow commands."""
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


#: A workflow command the runner would read in a line of ``inert``'s text: ``::`` after
#: nothing but blanks (which it trims) at the text's start or a line's (it ends one at
#: LF, CR or CRLF; every other break Python knows is counted too), and ``##[``, the old
#: form, anywhere in a line.
_COMMAND = re.compile(r"(?:^|(?<=[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]))[\s\u180e]*(::)|(##)\[")
#: Put between the two characters that open a command: invisible, and no blank.
_BREAK = "\u200b"


def inert(text: str) -> str:
    """``text`` that GitHub Actions cannot read as a workflow command: a zero-width space
    between the ``::`` a line starts with (after blanks), and in each ``##[``. Publisher
    writes all its text so in Actions (a build's output it relays, a message quoting a
    registry or a file), all but the commands it means and its result (``Output._write``);
    resolve its messages and its decision (``for_actions``)."""

    def broken(found: re.Match[str]) -> str:
        at = found.start(1 if found[1] else 2) + 1 - found.start()  # after the first : or #
        return found[0][:at] + _BREAK + found[0][at:]

    return _COMMAND.sub(broken, text)


def inert_json(text: str) -> str:
    """JSON ``text`` that GitHub Actions cannot read as a workflow command, parsing to the
    same value: each ``##[`` written ``##\\u005b``. A ``#`` is only ever in a string (and
    never part of an escape), where ``\\u005b`` is the ``[`` it was; a line of JSON starts
    with a blank, a bracket, a quote or a value, never ``::``; and a line break in a
    string is escaped."""
    return text.replace("##[", "##\\u005b")


def for_actions(text: str, fmt: str) -> str:
    """The decision as both entry points write it in GitHub Actions: a value or path it
    quotes (a Dockerfile's, a setting's, a registry's answer) is never read as a workflow
    command. JSON ``inert_json``, parsing to the same value; text ``inert``; env lines
    too, which change nothing there: each starts with its key, and ``render`` refuses a
    value holding ``##[`` (a changed value would be another path or image)."""
    return inert_json(text) if fmt == "json" else inert(text)


# --------------------------------------------------------------------------- rendering


FORMATS = ("text", "env", "json")


#: The env-file keys that hold paths (the rest hold image references and words).
_PATH_KEYS = frozenset({"PHP_DOCKERFILE", "PHP_BUILD_CONTEXT"})


def env_quote(key: str, value: str, *, actions: bool = False) -> str:
    """``KEY='value'``: the same value for POSIX sh and ``docker compose --env-file``; in
    GitHub Actions (``actions``) a value holding ``##[`` is refused: the runner would read
    the line as a workflow command, and a value made inert would be another one."""
    if actions and "##[" in value:
        where = (
            f"move the stack to a path without '##[', or set {ENV_DOCKERFILES} to one"
            if key in _PATH_KEYS
            else f"check {key}: an image reference holds no '#'"
        )
        raise ResolveError(
            f"{key} cannot be written in GitHub Actions safely: {as_shown(value)} holds "
            "'##[', which the runner would read as a workflow command",
            hint=where,
        )
    if "'" in value or value.endswith("\\") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        if key in _PATH_KEYS:
            hint = (
                "move the stack to a path without them, or set the matching setting "
                f"(e.g. {ENV_DOCKERFILES}) to one"
            )
        else:  # an image reference never holds them: a mistyped setting
            hint = f"check {key}: an image reference holds no quote, control character or backslash"
        raise ResolveError(
            f"{key} cannot be written to an env file safely: {value!r} holds a single quote, "
            "a control character or a trailing backslash",
            hint=hint,
        )
    return f"{key}='{value}'"


#: The fields of the JSON decision that are messages (``message_text``); the others are
#: values and paths (``printable``).
_MESSAGES = frozenset({"reason", "fix", "note"})


def json_document(decision: Decision) -> dict[str, Any]:
    """The decision as ``--format json`` writes it: UTF-8 text only, the same in every
    locale. A path, and a message naming one, as its bytes say (``fs_text``: "ü" under
    LC_ALL=C too), each byte that is not UTF-8 written ``\\xff`` as in an error, never the
    escape ``\\udcff`` strict JSON readers reject."""
    return {
        key: (message_text if key in _MESSAGES else printable)(fs_text(value))
        if isinstance(value, str)
        else value
        for key, value in decision.to_dict().items()
    }


def render(decision: Decision, fmt: str, *, actions: bool = False) -> str:
    """The decision as ``env`` lines, ``json`` (sorted keys) or readable ``text``; in
    GitHub Actions (``actions``) an env value holding ``##[`` is refused (``env_quote``):
    the caller writes the text ``for_actions``."""
    if fmt == "env":  # a path as its bytes say (``fs_text``), written back as they are
        return fs_text(
            "".join(env_quote(key, value, actions=actions) + "\n" for key, value in decision.env())
        )
    if fmt == "json":
        return json.dumps(json_document(decision), indent=2, sort_keys=True) + "\n"
    if fmt != "text":
        raise ResolveError(
            f"unknown format {fmt!r}", hint=f"give --format one of: {', '.join(FORMATS)}"
        )
    headline = {
        Action.USE_PREBUILT: f"use pre-built image {decision.image}",
        Action.BUILD_LOCALLY: f"build locally: {decision.image} from {decision.dockerfile}",
        Action.CANNOT_PROCEED: f"cannot proceed with PHP {decision.php}",
    }[decision.action]
    if decision.reused:  # started as it is: nothing is built, from that Dockerfile or any
        headline = f"start the local build {decision.image} from an earlier start"
    out = [f"{headline}\n", f"  why: {decision.reason}\n"]
    if decision.stand_in:  # whatever it decides, as start.sh opens with it
        out.insert(0, f"{STAND_IN_WARNING}\n")
    if decision.fix:
        out.append(f"  fix: {decision.fix}\n")
    if decision.action is not Action.CANNOT_PROCEED:
        out.append(f"  platform: {decision.platform}\n")
    if decision.build and decision.base_image:
        out.append(f"  base: {decision.base_image}\n")
    if decision.note:
        out.append(f"  note: {decision.note}\n")
    return without_controls(fs_text("".join(out)))  # a path's bytes as they are (stdout)


def summary(decision: Decision) -> str:
    """stderr lines for the env and json formats, whose stdout is for machines (a byte
    that is not UTF-8 written ``\\xff``, as in an error: ``message_text``); a stand-in
    pins file's banner second, after the ``decision=`` line."""
    line = (
        f"resolve: decision={decision.action.value} "
        f"availability={decision.availability or 'none'}\n"
        # start.sh's banner, whatever the decision: after the line stderr starts with
        + (f"resolve: {STAND_IN_WARNING}\n" if decision.stand_in else "")
        + f"resolve: why: {decision.reason}"
    )
    if decision.fix:
        line += f"\nresolve: fix: {decision.fix}"
    if decision.note:
        line += f"\nresolve: note: {decision.note}"
    return shown_text(fs_text(line) + "\n")


#: How stdout writes a character its encoding has no bytes for (``_stdout_escape``).
STDOUT_ERRORS = "publisher-stdout"
#: How stderr writes one (``_stderr_escape``).
STDERR_ERRORS = "publisher-stderr"


def escaped(char: str) -> str:
    """The one way a character a stream has no bytes for is written (a "…" or a "—", or a
    "ü" under LC_ALL=C or PYTHONIOENCODING=ascii): its code point, ``\\u2026``,
    ``\\u00fc`` (``\\U0001f600`` past U+FFFF); never ``\\xfc``, which messages keep for
    a byte that is not UTF-8 (``printable``). publisher's output writes the punctuation of
    its own words readably first (``adapters/output.py``: ``READABLE``, "..." for "…")."""
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _stream_escape(exc: UnicodeError, undecoded: Callable[[int], bytes]) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    said = b"".join(
        undecoded(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else escaped(c).encode("ascii")
        for c in exc.object[exc.start : exc.end]
    )
    return said, exc.end


def _stdout_escape(exc: UnicodeError) -> tuple[bytes, int]:
    """stdout's error handler: a byte of a path or value that is not UTF-8 (which Python
    holds as a lone surrogate, U+DC80 to U+DCFF) written back as that byte, as
    ``surrogateescape`` does; any other character the encoding has no bytes for
    ``escaped``, ``\\u2026``, as stderr writes it."""
    return _stream_escape(exc, lambda byte: bytes([byte]))


def _stderr_escape(exc: UnicodeError) -> tuple[bytes, int]:
    """stderr's error handler: a byte that is not UTF-8 written ``\\xff``, as a message
    writes it (``printable``), any other character ``escaped``, ``\\u2026``."""
    return _stream_escape(exc, lambda byte: f"\\x{byte:02x}".encode("ascii"))


codecs.register_error(STDOUT_ERRORS, _stdout_escape)
codecs.register_error(STDERR_ERRORS, _stderr_escape)


def pass_undecodable_bytes(stdout: Any = None, stderr: Any = None) -> None:
    """Let the standard streams write back the bytes of a path or value that are not UTF-8,
    and write every other character they cannot encode, escaped: no output raises
    UnicodeEncodeError.

    Python holds argv and environment bytes it cannot decode as lone surrogates; a
    stream opened ``strict`` (any UTF-8 locale but C.UTF-8, or PYTHONIOENCODING=utf-8)
    raised UnicodeEncodeError printing them, even while printing the error that names
    them, and one that is not UTF-8 (PYTHONIOENCODING=latin-1, or ascii in the C locale,
    whose stdout is ``surrogateescape``) raised it printing a "…". stdout writes the
    original bytes (a path printed is the path given) and any other character escaped
    (``STDOUT_ERRORS``); stderr gets errors and summaries written ``\\xff`` already
    (``message_text``), and escapes any other such character as stdout does (``escaped``,
    where Python's ``backslashreplace`` wrote a "ü" ``\\xfc``, as a byte that is not UTF-8
    is written). A stream told another way (PYTHONIOENCODING=ascii:replace) keeps it."""
    for stream, errors, raising in (
        (stdout or sys.stdout, STDOUT_ERRORS, ("strict", "surrogateescape")),
        (stderr or sys.stderr, STDERR_ERRORS, ("strict", "backslashreplace")),
    ):
        if getattr(stream, "errors", None) in raising and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):  # closed, or not reconfigurable
                stream.reconfigure(errors=errors)


def given_more_than_once(name: str, given: Sequence[str]) -> str:
    """How every entry point refuses an option that holds one value given more than once
    on the command line (``--php 8.4 --php 9.9``): named, its values in quotes (a control
    character escaped, a long one cut short), never the last one kept without a word."""
    times = "twice" if len(given) == 2 else f"{len(given)} times"
    values = ", ".join(as_shown(value) for value in given)
    return f"{name} given {times} ({values}); give it once"


def tip_lines(hint: str) -> str:
    """``hint`` under an ``  tip:`` label; its further lines indented under the first's text."""
    return "  tip: " + hint.replace("\n", "\n       ") + "\n"


def error_text(exc: ResolveError) -> str:
    """How both entry points (this module and ``publisher resolve``) word an error: first
    the ``decision=`` line every outcome has (``decision=none error=<word>``: no decision
    was made), as the launcher's ``start: decision=none error=<word>``. A byte of a value
    or path that is not UTF-8 is written ``\\xff`` (``message_text``), as publisher's
    other commands write it."""
    return shown_text(
        fs_text(
            f"resolve: decision=none error={exc.error}\nerror: {exc.message}\n"
            + (tip_lines(exc.hint) if exc.hint else "")
        )
    )


# --------------------------------------------------------------------------- entry point


HELP_EPILOG = f"""\
exit codes: {EXIT_USE_PREBUILT} use the pre-built image, {EXIT_BUILD_LOCALLY} build locally, \
{EXIT_CANNOT_PROCEED} cannot proceed,
{EXIT_INVALID_INPUT} invalid input, {EXIT_PINS} missing or broken pins file.

examples:
  PHP_VERSION=8.4 python3 resolve.py --pins release-notes/v2.0.0.env \\
    --format env > php.env
  docker compose --env-file php.env up -d          # PHP_BUILD='0' in php.env
  docker compose --env-file php.env up -d --build  # PHP_BUILD='1' (without
                                                   # --build, compose starts
                                                   # an image of that tag
                                                   # built before)
  python3 -m publisher.resolve --php 8.4 --release v2.0.0 --use-prebuilt false
  python3 -m publisher.resolve --php 8.6 --release v2.0.0 \\
    --allow-fallback false --format json
"""


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Any = None,
    stderr: Any = None,
    invoked_as: str = "resolve.py",
) -> int:
    """``python3 resolve.py`` / ``python -m publisher.resolve``: the same as ``publisher resolve``.
    ``invoked_as``: how it was run, which a tip naming ``--help`` gives (``_invoked_as``).

    A stderr that cannot take the messages (a full disk under ``2>log``, closed with
    ``2>&-``) loses them, never the exit code; its reader gone is the quiet 141 of a
    stdout's (``say``)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    pass_undecodable_bytes(stdout, stderr)
    try:
        return _main(argv, env, stdout, stderr, invoked_as)
    except StderrGone:  # quietly, as a shell tool its SIGPIPE ends
        return EXIT_OUTPUT_CLOSED


def read_command_line(
    argv: Sequence[str] | None, invoked_as: str = "resolve.py"
) -> tuple[Any, dict[str, Any]]:
    """The parser of the command line and what it read from ``argv``: each input by its
    variable's name, ``--matrix``, ``format`` and ``help``. A command line it refuses (an
    unknown flag, a bad --format, a flag without its value or given twice) is a
    ResolveError in the same words from both entry points: ``publisher resolve`` reads
    its command line here first (``invoked_as``: how it was run, which the tip names)."""
    import argparse

    words = sys.argv[1:] if argv is None else list(argv)
    retired = any(w == RETIRED_NOTES_FLAG or w.startswith(f"{RETIRED_NOTES_FLAG}=") for w in words)

    class Parser(argparse.ArgumentParser):
        """Refuses a command line as every other invalid input: the ``decision=none`` line,
        ``error:`` and a tip (exit 2); a flag is never taken from its first letters. The
        first launcher's ``--notes`` is told the pins file replaced it."""

        def error(self, message: str) -> NoReturn:
            hint = (
                f"see `{invoked_as} --help`: each flag there also has an environment "
                "variable, named in brackets"
            )
            if retired and message.startswith("unrecognized arguments"):
                pins = f"--pins release-notes/vX.Y.Z.env ({ENV_PINS})"
                hint = f"{notes_retired(RETIRED_NOTES_FLAG, pins)}; {hint}"
            raise ResolveError(f"{message}", hint=hint)

    parser = Parser(
        # the usage line names what was typed: `python3 -m publisher.resolve`, else the file
        prog=invoked_as if invoked_as.startswith(("python3 -m ", "publisher ")) else "resolve.py",
        allow_abbrev=False,
        description="Choose the PHP-FPM image to run: pre-built, or a local build. Each\n"
        "flag overrides the environment variable named in brackets (where two are\n"
        "named, the second is read when the first is not set).",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,  # --help is shown after the whole line is read, as below
    )
    given: dict[str, list[str]] = {}  # each option's values, in the order given

    class Once(argparse.Action):
        """Keeps each value given, so that one given twice is refused, not overwritten."""

        def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
            given.setdefault(max(self.option_strings, key=len), []).append(values)
            setattr(namespace, self.dest, values)

    # argparse shows the help as soon as it meets --help, so `--help extra` was exit 0:
    # read as a flag, it is shown only for a command line that is valid otherwise, and
    # `--help extra` is refused (exit 2) as start.sh refuses it.
    parser.add_argument("-h", "--help", action="store_true", help="show this help message and exit")
    for option in OPTIONS:
        parser.add_argument(
            option.flag,
            dest=option.env,
            action=Once,
            metavar=option.metavar,
            help=f"{option.help} [{option.variables}]",
        )
    parser.add_argument(
        MATRIX_FLAG,
        dest=MATRIX_FLAG,
        action=Once,
        metavar="FILE",
        help="Take the repositories from this matrix.yaml when there is no pins file "
        "(needs the publisher package). Never read unless given.",
    )
    parser.add_argument(
        "--format", action=Once, choices=FORMATS, default="text", help="Output format."
    )
    args = vars(parser.parse_args(argv))
    twice = [(name, values) for name, values in given.items() if len(values) > 1]
    if twice and not args["help"]:  # the help is shown, nothing is run: nothing is lost
        parser.error(given_more_than_once(*twice[0]))
    return parser, args


def _main(
    argv: Sequence[str] | None,
    env: Mapping[str, str] | None,
    stdout: Any,
    stderr: Any,
    invoked_as: str = "resolve.py",
) -> int:
    actions = in_actions(env)
    try:
        parser, args = read_command_line(argv, invoked_as)
        if args.pop("help"):  # argparse's print_help drops a failed write: exit 0, no help
            failed = write_decision(parser.format_help(), stdout, stderr, what="the help")
            return 0 if failed is None else failed
        fmt = args.pop("format")
        decision = resolve(env, args, writes_env=fmt == "env", actions=actions)
        text = render(decision, fmt, actions=actions)
    except ResolveError as exc:
        say(stderr, error_text(exc), actions=actions)
        return exc.exit_code
    except OSError as exc:  # a file or directory this run could not use: never a traceback
        where = f" {exc.filename}" if exc.filename else ""
        problem = ResolveError(
            f"cannot use{where}: {exc.strerror or exc}",
            hint=f"check that {exc.filename} is there and this user may use it, then rerun"
            if exc.filename
            else "check the files this run reads (the pins file, the Dockerfiles, the docker "
            "configuration) are there and this user may use them, then rerun",
        )
        problem.exit_code = EXIT_CANNOT_PROCEED
        problem.error = WorkdirError.error
        say(stderr, error_text(problem), actions=actions)
        return EXIT_CANNOT_PROCEED
    except KeyboardInterrupt:  # Ctrl-C: one line and 130, as publisher's commands
        return _interrupted(stderr)
    try:
        failed = write_decision(for_actions(text, fmt) if actions else text, stdout, stderr)
        if failed is not None:
            return failed
        if fmt != "text":
            say(stderr, summary(decision), actions=actions)
    except KeyboardInterrupt:  # while the decision was written: none of it is left
        return _interrupted(stderr)
    return decision.exit_code


def _interrupted(stderr: Any) -> int:
    say(stderr, "interrupted by SIGINT: stopped before finishing\n")
    return EXIT_INTERRUPTED


def write_decision(
    text: str, stdout: Any, stderr: Any, *, what: str = "the decision"
) -> int | None:
    """Write the decision (or ``what`` else resolve prints there) to ``stdout`` (None:
    closed since the start, ``>&-``), as both entry points do, whole or not at all
    (``_write_whole``); None when it was written, else the exit code of the failure, said
    on ``stderr`` (see ``_stdout_failed``). An interruption (Ctrl-C) while it is written
    goes on to the caller, which says it."""
    try:
        if stdout is None:  # started with stdout closed (>&-)
            raise OSError(errno.EBADF, "stdout is closed")
        _write_whole(text, stdout)
    except OSError as exc:  # /dev/full, a full disk under `> php.env`: no half-read answer
        return _stdout_failed(exc, stdout, stderr, what)
    return None


def _write_whole(text: str, stdout: Any) -> None:
    """``text`` on ``stdout``, so that no reader ever finds part of it: in a file (``>
    php.env``, ``>> log``), what a failed or interrupted write (a full disk, Ctrl-C) left
    is cut off again, back to the file's length before; a pipe takes a text of up to
    PIPE_BUF bytes (4 KiB or more: every env decision) in one write, whole or none of it.
    A stream that is no file (``io.StringIO``) is simply written."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        write_utf8(stdout, text, STDOUT_ERRORS)
        return
    stdout.flush()  # nothing of the decision waits there: it goes out below, at once
    data = text.encode("utf-8", STDOUT_ERRORS)  # as write_utf8
    info = os.fstat(fd)
    # where the decision starts in a file: its end for `>>`, its position for `>`
    start = max(info.st_size, os.lseek(fd, 0, os.SEEK_CUR)) if stat.S_ISREG(info.st_mode) else None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:  # OSError, KeyboardInterrupt, publisher's Interrupted
        if start is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
        raise


def _stdout_failed(exc: OSError, stdout: Any, stderr: Any, what: str) -> int:
    """``what`` could not be written: its reader gone (EPIPE), quietly 141 as a shell
    tool; any other failure said (exit 17, ``error=file-access``, whichever entry point),
    since a launcher reading ``php.env`` must not take a truncated file for an answer."""
    silence(stdout)  # the exit's flush
    if exc.errno == errno.EPIPE:
        return EXIT_OUTPUT_CLOSED
    file = "php.env" if what == "the decision" else "resolve-help.txt"
    problem = WorkdirError(
        f"cannot write {what} to stdout: {exc.strerror or exc}",
        hint=f"redirect stdout instead of closing it (`> {file}` keeps {what})"
        if stdout is None
        else f"redirect stdout to a file on a file system with room (`> {file}`), or to a "
        "pipe, then rerun",
    )
    say(stderr, error_text(problem))
    return problem.exit_code


def write_utf8(stream: Any, text: str, errors: str) -> None:
    """``text`` on ``stream`` as UTF-8 in every locale, as start.sh writes it: a value or
    path resolve names (``fs_text``) is its own bytes, never the locale's encoding of it
    (ISO-8859-1 wrote a "ü" as the byte 0xfc, LC_ALL=C as ``\\u00fc``); ``errors`` says
    how a byte that is not UTF-8 is written (``STDOUT_ERRORS``: itself; ``STDERR_ERRORS``:
    ``\\xff``). A stream of text only (``io.StringIO``) takes the text."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
        stream.flush()
        return
    stream.flush()  # what was written to it before goes first
    buffer.write(text.encode("utf-8", errors))
    buffer.flush()


class StderrGone(Exception):
    """stderr's reader went away (EPIPE): the run stops quietly, exit 141."""


def say(stderr: Any, text: str, *, actions: bool = False) -> None:
    """``text`` on ``stderr``, the messages of both entry points; in GitHub Actions
    (``actions``) ``inert``: a value or path it quotes is never read as a workflow command.
    One it cannot take (a full disk under ``2>log``, closed ``2>&-``) is lost, never the
    exit code, as with publisher's other commands; its reader gone raises ``StderrGone``."""
    if stderr is None:  # started with stderr closed and nothing in its place
        return
    if actions:
        text = inert(text)
    try:
        write_utf8(stderr, text, STDERR_ERRORS)
    except OSError as exc:
        silence(stderr)  # what is still buffered, and the exit's flush, go nowhere
        if exc.errno == errno.EPIPE:
            raise StderrGone() from None


def silence(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null (nothing when it has none)."""
    if stream is None:
        return
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def _invoked_as() -> str:
    """How this run was started, as a tip names it: ``python3 -m publisher.resolve``, or
    ``python3 PATH`` (the path as given, single-quoted when the shell would split it)."""
    spec = globals().get("__spec__")
    if spec is not None and spec.name not in (None, "", "__main__"):  # python -m
        return f"python3 -m {spec.name}"
    path = sys.argv[0] if sys.argv and sys.argv[0] else "resolve.py"
    if re.fullmatch(r"[\w@%+=:,./-]+", path, re.ASCII) is None:
        path = "'" + path.replace("'", "'\"'\"'") + "'"
    return f"python3 {path}"


if __name__ == "__main__":
    sys.exit(main(invoked_as=_invoked_as()))
