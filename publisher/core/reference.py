"""Image references, parsed and normalized the way docker and the registries do.

The grammar is the distribution/reference one::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path
    domain           := host [":" port]
    port             := [0-9]+, 1 to 65535
    host             := domain-name | IPv4 | "[" IPv6 "]"
    domain-name      := domain-component ("." domain-component)*
    domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
    path             := path-component ("/" path-component)*
    path-component   := [a-z0-9]+ (separator [a-z0-9]+)*
    separator        := "." | "_" | "__" | "-"+
    tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest           := "sha256:" 64 lowercase hex digits

Normalization follows docker: a first component is a domain only when it is
``localhost``, contains ``.`` or ``:``, or has an uppercase letter; otherwise the
domain is ``docker.io``. ``index.docker.io`` becomes ``docker.io``, and
``library/`` is added only on docker.io for one-component paths. The path (not
the whole name) may be at most 255 characters. Only sha256 digests are accepted.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..resolve import (
    DOMAIN_RE,
    PATH_COMPONENT_RE,
    TAG_MAX,
    TAG_RE,
    domain_problem,
    hide_credentials,
    is_digest,
    is_repository_name,
    parse_reference,
)
from .errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"
PATH_MAX = 255

_HEX64_RE = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True, order=True)
class Reference:
    """A normalized image reference: always has a domain and a full path."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar(self) -> str:
        """The short name docker shows: ``busybox``, ``fooo/bar``; ``name`` elsewhere."""
        if self.domain != DOCKER_HUB:
            return self.name
        prefix = OFFICIAL_NAMESPACE + "/"
        if self.path.startswith(prefix) and "/" not in self.path[len(prefix) :]:
            return self.path[len(prefix) :]
        return self.path

    @property
    def canonical(self) -> str:
        """What to pull: ``name@digest`` when a digest is known, else ``name:tag``."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or DEFAULT_TAG}"

    @property
    def full(self) -> str:
        """All the reference names, normalized: ``name:tag@digest`` keeps the tag that
        ``canonical`` drops; ``name:latest`` when it names neither."""
        if self.tag is not None and self.digest is not None:
            return f"{self.name}:{self.tag}@{self.digest}"
        return self.canonical

    def with_tag(self, tag: str) -> Reference:
        _check_tag(tag)
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        _check_digest(digest)
        return Reference(self.domain, self.path, None, digest)

    def repository(self) -> Reference:
        """The same repository with neither tag nor digest."""
        return Reference(self.domain, self.path)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def as_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "domain": self.domain,
            "path": self.path,
            "familiar": self.familiar,
            "tag": self.tag,
            "digest": self.digest,
            "canonical": self.canonical,
        }


#: What a reference looks like, the tip of a refused one that has no better advice.
GRAMMAR_HINT = (
    "write it as docker does: [HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST], the path in "
    "lowercase, e.g. docker.io/library/php:8.4-fpm-alpine"
)


def _fail(text: str, reason: str, hint: str | None = None) -> InvalidReferenceError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidReferenceError(
        f"invalid image reference {shown!r}: {reason}", hint=hint or GRAMMAR_HINT
    )


#: Where registry credentials belong (a reference or a URL with them is refused).
CREDENTIALS_HINT = (
    "credentials come from the environment variables matrix.yaml names for the registry "
    "(username_env, password_env) or from the docker config (`docker login HOST`); remove "
    "them from the reference, and change the password if it was shared"
)


def _check_tag(tag: str, text: str | None = None) -> None:
    if TAG_RE.fullmatch(tag):
        return
    source = text if text is not None else tag
    if not tag:
        raise _fail(source, "the tag after ':' is empty")
    if len(tag) > TAG_MAX:
        raise _fail(source, f"a tag may be at most {TAG_MAX} characters, this one has {len(tag)}")
    if tag[0] in ".-":
        raise _fail(source, "a tag must start with a letter, a digit or '_'")
    raise _fail(source, "a tag may only contain letters, digits, '_', '.' and '-'")


def _check_digest(digest: str, text: str | None = None) -> None:
    if is_digest(digest):
        return
    source = text if text is not None else digest
    algorithm, sep, hexpart = digest.partition(":")
    if not sep:
        raise _fail(source, "a digest must look like 'sha256:' followed by 64 hex digits")
    if algorithm != "sha256":
        raise _fail(source, f"only sha256 digests are supported, not {algorithm!r}")
    if hexpart.lower() != hexpart and re.fullmatch(r"[a-fA-F0-9]{64}", hexpart):
        raise _fail(source, "digest hex digits must be lowercase")
    if not re.fullmatch(r"[a-fA-F0-9]*", hexpart):
        raise _fail(source, "a digest may only contain hex digits after 'sha256:'")
    raise _fail(source, f"a sha256 digest has 64 hex digits, this one has {len(hexpart)}")


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash or (
        first != "localhost" and "." not in first and ":" not in first and first.lower() == first
    ):
        domain, path = DOCKER_HUB, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DOCKER_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    return domain, path


def _check_domain(domain: str, text: str) -> None:
    if DOMAIN_RE.fullmatch(domain):
        problem = domain_problem(domain)
        if problem:
            raise _fail(text, problem)
        return
    host, _, port = domain.rpartition(":") if not domain.endswith("]") else (domain, "", "")
    if domain.startswith("[") and not re.fullmatch(r"\[[a-fA-F0-9:]+\](?::[0-9]+)?", domain):
        raise _fail(text, f"registry host {domain!r} is not a valid bracketed IPv6 address")
    if host and port and not port.isdigit():
        raise _fail(text, f"registry port {port!r} must be a number")
    raise _fail(
        text,
        f"registry host {domain!r} is not valid: use letters, digits, '-' and '.', "
        "optionally followed by ':' and a port",
    )


def _check_path(path: str, text: str) -> None:
    if not path:
        raise _fail(text, "the repository name is empty")
    if len(path) > PATH_MAX:
        raise _fail(
            text,
            f"the repository path may be at most {PATH_MAX} characters, this one has {len(path)}",
        )
    for component in path.split("/"):
        if PATH_COMPONENT_RE.fullmatch(component):
            continue
        if not component:
            raise _fail(
                text,
                "the repository path has an empty component (check for '//' or a trailing '/')",
            )
        if component.lower() != component:
            raise _fail(text, "repository name must be lowercase")
        if not component[0].isalnum() or not component[-1].isalnum():
            raise _fail(
                text,
                f"path component {component!r} must start and end with a lowercase letter or digit",
            )
        raise _fail(
            text,
            f"path component {component!r} may only contain lowercase letters, digits and "
            "the separators '.', '_', '__' or '-'",
        )


def _is_tagged_path(text: str) -> bool:
    """``acme/php:8.4``: a repository path with a '/' before its tag, which no
    ``user:password`` is (a user name holds no '/'); so it may be echoed."""
    name, colon, _tag = text.partition(":")
    if not colon or "/" not in name or "@" in text or not text.isascii():
        return False
    try:
        parse_reference(text)
    except ValueError:
        return False
    return True


_IPV4_RE = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}")


def _names_a_host(text: str) -> bool:
    """Whether ``text`` (a tag's characters: no ':', no '/') could be the host of a
    ``user:password@host``: localhost, an IPv4 address, or a DNS name, whose last label
    (a top-level domain) is letters (``8.4``, ``8.4-fpm`` and ``latest`` are none)."""
    last = text.rpartition(".")[2].lower()
    return (
        text.lower() == "localhost"
        or bool(_IPV4_RE.fullmatch(text))
        or ("." in text and (last.isalpha() or last.startswith("xn--")))
    )


def _is_tagged_name(text: str) -> bool:
    """``php:8.4``: an image name and its tag, as ``user:password`` is written too (told
    apart by what follows '@'); no host (``localhost:5000``) before the ':'."""
    name, colon, _tag = text.rpartition(":")
    if not colon or "/" in text or "@" in text or not text.isascii() or _names_a_host(name):
        return False
    try:
        return parse_reference(text).tag is not None
    except ValueError:
        return False


def parse(text: str) -> Reference:
    """Parse and normalize an image reference; raise InvalidReferenceError with a sentence."""
    if not isinstance(text, str) or not text:
        raise _fail(str(text), "the reference is empty")
    hidden = hide_credentials(text)
    if hidden is not None:  # checked first: no other message may echo the password
        before, _, after = text.rpartition("@")
        if (not after or TAG_RE.fullmatch(after)) and (
            is_repository_name(before)
            or _is_tagged_path(before)
            or (_is_tagged_name(before) and not _names_a_host(after))
        ):
            # `php@8.4`: an image name before '@' (no password, no upper case of a token),
            # a tag after it (no host:port, no path): a tag or a digest mistyped, said as
            # such (the part before '@' still not echoed). `php:8.4@8.4` is written as
            # `alice:s3cret@8.4` is, but no password goes before what names no host.
            raise _fail(
                hidden,
                f"what follows '@' ({after!r}) is not a digest",
                "write a tag after ':' (php:8.4) and a digest after '@' as @sha256: and "
                "its 64 hex digits; credentials never go in a reference",
            )
        raise _fail(hidden, "it carries credentials (user:password@)", CREDENTIALS_HINT)
    if text != text.strip() or any(c.isspace() for c in text):
        raise _fail(text, "a reference may not contain whitespace")
    if not text.isascii():
        raise _fail(text, "a reference may only contain ASCII characters")
    scheme, sep, rest = text.partition("://")
    if sep and rest:  # a URL copied from a browser or a registry's docs
        raise _fail(
            text,
            f"a reference has no scheme ({scheme}://)",
            f"write it without one, as docker does: {rest.rstrip('/')!r}",
        )

    remainder, at, digest = text.partition("@")
    if at:
        if "@" in digest:
            raise _fail(text, "a reference may contain at most one '@'")
        _check_digest(digest, text)
    else:
        digest = ""

    # The tag is what follows the last ':' unless that ':' belongs to a port
    # (i.e. a '/' comes after it).
    name, tag = remainder, ""
    colon = remainder.rfind(":")
    if colon != -1 and "/" not in remainder[colon + 1 :] and not remainder.endswith("]"):
        name, tag = remainder[:colon], remainder[colon + 1 :]
        _check_tag(tag, text)
    elif colon != -1 and remainder.endswith("]"):
        raise _fail(text, "a registry host needs a repository path after it")

    if not name:
        raise _fail(text, "the repository name is empty")
    if _HEX64_RE.fullmatch(name):
        raise _fail(text, "a 64-character hexadecimal string is an image ID, not a repository name")

    domain, path = _split_domain(name)
    _check_domain(domain, text)
    _check_path(path, text)
    return Reference(domain, path, tag or None, digest or None)


def parse_repository(text: str) -> Reference:
    """Parse a repository: a name with neither tag nor digest."""
    ref = parse(text)
    if ref.tag is not None or ref.digest is not None:
        raise _fail(text, "a repository name may not have a tag or digest here")
    return ref
