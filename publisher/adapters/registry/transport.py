"""One registry's HTTP transport: session, auth, bounded reads, retries, error mapping.

A plain ``requests.Session`` that refuses every cookie (some registries set
one and then expect CSRF tokens as if talking to a browser), the strict
``WWW-Authenticate`` parser of the registry core (``publisher.resolve``), and the retry loop of
``retry.py``. docs/design.md says why there is no registry library underneath.

Everything a caller sees from here is a ``publisher.core.errors`` class: requests and
urllib3 exceptions never cross this boundary.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import dataclasses
import heapq
import itertools
import json
import math
import os
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3.connection
import urllib3.exceptions
import urllib3.util.wait

try:
    import fcntl
except ImportError:  # pragma: no cover - no send queue to read here
    fcntl = None  # type: ignore[assignment]

from ...core import retry as retry_loop
from ...core.errors import (
    CUT,
    AuthError,
    DeniedError,
    InvalidResponseError,
    NotFoundError,
    PublisherError,
    RateLimitedError,
    RegistryError,
    StoppedError,
    UnreachableError,
    clip,
    out_of_files,
    shown_field,
)
from ...core.plan import either
from ...core.retry import RetryPolicy, is_retryable_status, parse_retry_after
from ...core.sizes import seconds
from ...resolve import (
    DOCKER_HUB_API,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    TOKEN_UNVERIFIED,
    TOKEN_UNVERIFIED_FIX,
    Challenge,
    LinkElsewhere,
    api_host,
    challenge_error,
    is_loopback,
    next_page,
    parse_challenges,
    same_origin,
    without_secrets,
)
from .. import network, stop
from ..output import redacted
from .credentials import Credentials

if TYPE_CHECKING:
    from ..output import Output

T = TypeVar("T")
E = TypeVar("E", bound=RegistryError)

#: How much of an error body we read (the rest is dropped with the connection: the text
#: read is then said cut short, with ``clip``'s mark, before anything else reads it).
MAX_ERROR_BODY = 64 * 1024
#: How much of a token response we read.
MAX_TOKEN_BODY = 64 * 1024
#: A token's lifetime when its answer gives no ``expires_in`` (the token specification's).
TOKEN_LIFETIME = 60.0
#: How long before a token runs out it is renewed (at most half its lifetime).
TOKEN_MARGIN = 30.0
#: The cap on any success body when the caller names none (uploads, deletes, pings).
DEFAULT_BODY_LIMIT = 1024 * 1024
CHUNK = 64 * 1024
#: Connections kept open per registry (the largest --transfers).
POOL_SIZE = 32
#: The size of the pieces a file or a download is sent in (one socket write each).
STREAM_CHUNK = 256 * 1024
#: The size of the reads of a streamed download.
READ_CHUNK = 256 * 1024
#: A blob transfer has no time limit (a layer can be gigabytes), but one that moves fewer
#: than STALL_BYTES in STALL_WINDOW seconds is stalled (about 270 bytes a second: a link
#: that slow would take days for one layer, and no working link is that slow).
STALL_WINDOW = 60.0
STALL_BYTES = 16 * 1024
#: Linux's ioctl for the bytes written to a socket that its peer has not acknowledged yet
#: (SIOCOUTQ, TIOCOUTQ's number); elsewhere the queue is not read.
SIOCOUTQ = 0x5411 if sys.platform.startswith("linux") else None

#: What to do about an answer that breaks the distribution API (bad JSON, a bad header).
MALFORMED_HINT = (
    "check that the host is a container registry (the distribution API), not a web server or "
    "a proxy in front of one that rewrites its answers, then rerun"
)
#: What else a refused pull may mean.
UNKNOWN_REPOSITORY = (
    "or the repository does not exist: Docker Hub and GHCR answer 401, not 404, for a "
    "repository they do not have, so check its name"
)
#: What to do about content that is not what was sent or asked for.
ALTERED_HINT = (
    "the registry, or a proxy or mirror in front of it, changed the content: check that "
    "nothing between publisher and the registry rewrites it, then rerun"
)

#: A 403's reason naming a storage quota used up, or a tag immutability rule.
_QUOTA_RE = re.compile(r"(?i)quota|storage limit|exceed\w* (?:the )?(?:storage|size|space)")
_IMMUTABLE_RE = re.compile(r"(?i)immutab")
#: Words of a 403's reason about who may do what (the credentials or the account's rights).
_ACCESS_RE = re.compile(
    r"(?i)access|auth|credential|permission|forbidden|login|password|token|scope|denied|privilege"
)
#: What to do about a 403 the registry gave a reason of its own for (``DeniedError.policy``).
POLICY_HINTS = {
    "quota": "the registry's storage quota is used up (the credentials are not the cause): "
    "free space there (delete images or tags no longer needed, then run its garbage "
    "collection) or have its operator raise the quota, then rerun; blobs already stored are "
    "not sent again",
    "immutable": "a tag immutability rule of the registry protects this tag (the credentials "
    "are not the cause): a tag it holds cannot be written again there; if it must move, have "
    "the rule changed (Harbor: the project's Policy, Tag Immutability), then rerun",
    "rule": "the registry refuses this operation by a rule of its own (the credentials are not "
    "the cause): the reason it gave says which; have its operator change that rule, then rerun",
}
#: What a server's 400 says to a plain-HTTP request on its TLS port (Go's net/http, which
#: the distribution registry serves with; nginx).
_TLS_PORT_SAYS = (
    b"Client sent an HTTP request to an HTTPS server",
    b"plain HTTP request was sent to HTTPS port",
)
#: What a manifest of each media type is, in words.
MANIFEST_KINDS = {
    OCI_INDEX: "an OCI image index",
    DOCKER_LIST: "a Docker manifest list",
    OCI_MANIFEST: "an OCI image manifest",
    DOCKER_MANIFEST: "a Docker image manifest",
}
#: The methods that write.
WRITES = ("PUT", "POST", "PATCH", "DELETE")

_SECRET_RE = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{4,}")
#: An ``Authorization`` value a text quotes (``Authorization: SCHEME CREDENTIALS``, in JSON
#: too): the credentials alone are removed, up to the first blank or delimiter (a token68,
#: ``***`` already), or the whole list of a scheme's parameters (Digest's). A first word no
#: scheme publisher knows may be the secret itself, and the word after it its rest: both go.
_AUTH_SCHEMES = (
    r"basic|bearer|digest|negotiate|ntlm|token|hoba|mutual|vapid|dpop|privatetoken|"
    r"aws4-hmac-sha256|scram-sha-1|scram-sha-256"
)
#: What ends a credential: a blank, a delimiter, a quote, a closing bracket.
_AUTH_STOP = r"\s,;\"'\])}"
_AUTH_WORD = rf"[^{_AUTH_STOP}]+"
_AUTH_PARAM = r'[\w-]+=(?:"(?:[^"\\]|\\.)*"|[^\s,;"]*)'
_AUTHZ_RE = re.compile(
    rf'(?i)(authorization"?\s*[:=]\s*\[?"?)'
    rf"(?:({_AUTH_SCHEMES})(?=[{_AUTH_STOP}]|$)"
    rf"(?:[ \t]+(?:{_AUTH_PARAM}(?:\s*,\s*{_AUTH_PARAM})*|{_AUTH_WORD}))?"
    rf"|{_AUTH_WORD}(?:[ \t]+[A-Za-z0-9._~+/*-]+=*(?=[{_AUTH_STOP}]|$))?)"
)
#: A JSON string field holding a secret (a token server's ``token``, ``access_token``,
#: ``refresh_token``, ``id_token``; a ``password``, a ``client_secret``), up to its closing
#: quote or the end of the text (a body cut short).
_SECRET_FIELD_RE = re.compile(
    r'(?i)("(?:[a-z]+_?)?(?:token|password|secret)"\s*:\s*")(?:[^"\\]|\\.)+'
)


def scrub(text: str) -> str:
    """Remove anything that looks like an Authorization value, or the value of a JSON field
    holding a token or a password (a token server's error echoing the token it issued),
    from registry-provided text."""
    text = _SECRET_RE.sub(lambda m: f"{m.group(1)} ***", text)
    text = _SECRET_FIELD_RE.sub(lambda m: f"{m.group(1)}***", text)
    return _AUTHZ_RE.sub(_without_credentials, text)


def _without_credentials(found: re.Match[str]) -> str:
    """An ``Authorization`` value ``_AUTHZ_RE`` found, its credentials replaced by ``***``
    (the scheme kept when publisher knows it)."""
    prefix, scheme = found.group(1), found.group(2)
    if scheme is None:
        return f"{prefix}***"
    return f"{prefix}{scheme} ***" if found.end() > found.start(2) + len(scheme) else found[0]


def pull_scope(repo_path: str) -> str:
    return f"repository:{repo_path}:pull"


def push_scope(repo_path: str) -> str:
    return f"repository:{repo_path}:pull,push"


class SizedBody:
    """A request body of known length sent from an iterator of chunks, never held whole.

    It can be sent once: the chunks come from a file or a download in progress.
    ``progress``, when given, is told how many bytes of it the peer has taken, after
    each piece and while the last ones drain from the connection's send queue.
    """

    def __init__(
        self,
        length: int,
        chunks: Iterable[bytes],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.length = length
        self.chunks = chunks
        self.progress = progress
        #: The bytes of the pieces the connection has taken, and when the first was asked for.
        self.sent = 0
        self.started: float | None = None
        #: The socket it goes out on (set by the connection as it sends).
        self.sock: Any = None

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        self.started = time.monotonic()
        for chunk in self.chunks:
            stop.check("an upload")  # between two pieces: an interrupted run ends promptly
            yield chunk
            self.sent += len(chunk)  # the next piece is asked for once this one went out
            self.report()

    def taken(self) -> int:
        """The bytes the peer has taken: those sent less those still in the send queue."""
        unsent = _unsent(self.sock) if self.sock is not None else None
        return max(0, self.sent - (unsent or 0))

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.taken())


@dataclass
class Reply:
    """A finished response: status, headers and the (bounded) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    url: str = ""
    #: The body is longer than was read (an error's past ``MAX_ERROR_BODY``) or broke off.
    cut: bool = False

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if value is None else str(value)

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in _error_entries(self.body))


class Transient(Exception):
    """A failure worth retrying. Converted to a publisher error when retries run out."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str = "http",
        host: str | None = None,
        role: str = "where the registry sent us",
        origin: Transport | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        #: what to do when the retries run out, when the failure itself says it (a proxy's)
        self.hint = hint
        #: the host that failed, when it is not the registry (a token server, a redirect)
        self.host = host
        #: what ``host`` is to the registry
        self.role = role
        #: the registry's token server that failed, when it is on the registry's own host
        #: (GHCR's ghcr.io/token): its host and path
        self.token_server: str | None = None
        #: the registry that failed, when it is not the one retrying (the one a copy
        #: streams from): it names itself, with its own tip, when the retries run out
        self.origin = origin
        self.status = status
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        #: "http", "connection" (none made, or one broken), "no answer" (a connection
        #: made, the answer not whole in time), "truncated", "stalled", "refused mid-upload"
        self.kind = kind
        #: a "refused mid-upload": the request refused, in words ("a PATCH (a chunk of the
        #: blob)"), the error its 401's challenge named, the registry's error body (": ..."
        #: redacted, or empty) and the request's scopes
        self.refused: tuple[str, str | None, str, tuple[str, ...]] | None = None

    @property
    def at(self) -> str:
        """Where it failed, in words to follow its reason: empty for the registry's API."""
        if self.host:
            return f" (at {self.host}, {self.role})"
        if self.token_server:
            return f" (at the registry's token server, {self.token_server})"
        return ""

    @property
    def failing(self) -> str:
        """What failed, in words: the registry, or what ``at`` names."""
        if self.host:
            return f"{self.host} ({self.role})"
        if self.token_server:
            return f"the registry's token server ({self.token_server})"
        return "the registry"


@dataclass(frozen=True)
class Outage:
    """A registry judged down: one operation spent its retries (more than one attempt, the
    policy's whole number or its total time) on connection failures, answers that did not
    come within the time limit, or 5xx answers of the registry itself. The operations that
    had failed meanwhile, and waited for it, fail at once, unsent, with the error that
    operation ended with (the same class, message and tip); a later one makes one attempt,
    and fails with its own error, not retried, when that fails so as well. Any answer of the
    registry in time (a 429, a 404 as well as a success; not a 5xx) means it is up again
    (``Trouble.answered``)."""

    message: str
    status: int | None
    hint: str | None

    def error(self, registry: str) -> UnreachableError:
        return UnreachableError(self.message, registry=registry, status=self.status, hint=self.hint)


def judges_down(exc: Transient) -> bool:
    """Whether ``exc`` says the registry itself is down: no connection to it, no answer
    from it within the time limit (a registry that hangs), or a 5xx from it (not from a
    token server, a CDN or the registry a copy reads from; not a 429, a stalled transfer
    or an answer cut short, whose causes are not the registry being down). A registry
    that is only slow is not judged down: an answer in time ends the retries of the
    request that got it, and lifts the judgement."""
    if exc.host is not None or exc.origin is not None:
        return False
    return exc.kind in ("connection", "no answer") or (
        exc.kind == "http" and exc.status is not None and 500 <= exc.status <= 599
    )


class Trouble:
    """One registry's failures, shared by every operation of its transport (``retrying``).

    The first operation whose request fails as ``judges_down`` says is the probe: it
    retries under the policy. Another that fails so meanwhile waits for the probe's end
    instead of retrying on its own: so a registry that is down, or hangs, costs one
    operation's retries, not one per operation in flight. The probe spending its retries judges the
    registry down (``down``: the waiting operations fail at once, a later one after one
    attempt); the probe ending otherwise (an answer, another error) lets them retry.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: the probe: (its thread, its operation)
        self._probe: tuple[int, object] | None = None
        self._waiting: list[threading.Event] = []
        self.down: Outage | None = None

    def failed(self, operation: object) -> threading.Event | None:
        """``operation`` (on this thread) failed as ``judges_down`` says: None when it
        retries on its own (the probe, or an operation nested in the probe's), else the
        event set when the probe ends."""
        with self._lock:
            if self._probe is None:
                self._probe = (threading.get_ident(), operation)
            if self._probe[0] == threading.get_ident():
                return None
            ended = threading.Event()
            self._waiting.append(ended)
            return ended

    def answered(self) -> None:
        """The registry answered a request in time (any answer but a 5xx of its own): a
        registry judged down is up again."""
        if self.down is not None:
            with self._lock:
                self.down = None

    def ended(self, operation: object, down: Outage | None) -> None:
        """``operation``'s retries are over (``down``: it judged the registry down)."""
        with self._lock:
            if down is not None and self.down is None:
                self.down = down
            if self._probe is None or self._probe[1] is not operation:
                return
            self._probe = None
            waiting, self._waiting = self._waiting, []
        for event in waiting:
            event.set()


def _storage_failure(detail: object) -> str | None:
    """The cause distribution gives, as ``detail``, for its "unknown error" (a full disk,
    a storage driver's failure): a text, or its storage driver's error
    (``{"DriverName": ..., "Enclosed": {"Op": ..., "Path": ..., "Err": ERRNO}}``), the
    cause first, so a long path is what a clipped message loses."""
    if isinstance(detail, str):  # Go's "write PATH: no space left on device": the cause first
        where, sep, cause = " ".join(detail.split()).rpartition(": ")
        return (f"{cause} ({where})" if sep and where else cause) or None
    if not isinstance(detail, dict) or not isinstance(detail.get("Enclosed"), dict):
        return None
    enclosed = detail["Enclosed"]
    op, path, err = enclosed.get("Op"), enclosed.get("Path"), enclosed.get("Err")
    # An errno is small: any other number (one past a C int would stop os.strerror) says nothing.
    if not (isinstance(op, str) and isinstance(path, str) and type(err) is int and 0 < err < 4096):
        return None
    driver = detail.get("DriverName")
    driver = driver if isinstance(driver, str) and driver else "storage"
    return f"{os.strerror(err)} ({driver}: {op} {path})"


def _error_entries(
    body: bytes, clean: Callable[[str], str] = lambda text: text
) -> list[tuple[str, str]]:
    try:
        data = json.loads(body[:MAX_ERROR_BODY])
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    result = []
    for entry in errors[:5]:
        if isinstance(entry, dict):
            said = str(entry.get("message", ""))
            if said.strip().lower() in ("", "unknown error"):
                said = _storage_failure(entry.get("detail")) or said
            code, message = clean(str(entry.get("code", ""))), clean(said)
            result.append((clip(code, 64), clip(message, 200)))
    return result


#: An error body's text: a character the read cut in two is left out, not said to be
#: U+FFFD (which would stand between a secret's start and the mark of the cut).
_decoder = codecs.getincrementaldecoder("utf-8")


def _html_text(text: str) -> str:
    """The words of an HTML page (a proxy's error page), its tags and scripts dropped;
    any other text as it is."""
    if not re.match(r"\s*<(?:!doctype|html|head|body|h\d|p|center|title)\b", text, re.I):
        return text
    # the head (its title is the heading again), scripts and styles say nothing more
    text = re.sub(r"(?is)<(head|script|style)\b.*?</\1\s*>", " ", text)
    text = re.sub(r"(?s)<[^>]*>", " ", text)
    for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"')):
        text = text.replace(entity, char)
    return " ".join(text.replace("&amp;", "&").split())


def _policy_of(body: bytes, described: str) -> str | None:
    """The rule a 403 names as its reason ("quota", "immutable", or "rule": a reason the
    registry gave in its error JSON that is not about access, taken as a rule only once
    the registry took the credentials), None when it names none."""
    stated = " ".join(message for _, message in _error_entries(body) if message)
    text = f"{stated} {described}"
    if _IMMUTABLE_RE.search(text):
        return "immutable"
    if _QUOTA_RE.search(text):
        return "quota"
    if stated.strip() and not _ACCESS_RE.search(stated):
        return "rule"
    return None


def _sent_bytes(data: object) -> int | None:
    """The length of a request body: bytes, a file, a SizedBody."""
    if isinstance(data, bytes):
        return len(data)
    if isinstance(data, SizedBody):
        return data.length
    if isinstance(data, Path):
        with contextlib.suppress(OSError):
            return data.stat().st_size
    return None


class _Session(network.Session):
    """A session that takes each request's proxy from ``network.proxy_of`` (a redirect's
    too: a CDN named in NO_PROXY, or on loopback, is reached directly)."""

    def get_redirect_target(self, resp: Any) -> Any:
        try:
            return super().get_redirect_target(resp)
        except ValueError:  # a Location that is not UTF-8: ``_open`` says so; free the socket
            resp.close()
            raise


def describe_error_body(
    body: bytes, clean: Callable[[str], str] = scrub, *, cut: bool = False
) -> str:
    """A short summary of a registry error body, ``clean`` (by default ``scrub``) applied
    before anything is cut short (``clip``); one line, each control character the registry
    sent (ESC, BEL, a C1 control) escaped (``shown_field``), so it cannot drive the terminal.

    A body that was ``cut`` (longer than publisher reads, or broken off) ends with ``clip``'s
    mark before it is read, so that ``clean`` takes the start of a secret the cut split for
    one, as it does in any text cut short."""
    entries = _error_entries(body, clean)
    if entries:
        text = "; ".join(f"{code}: {message}" if message else code for code, message in entries)
    else:
        said = _decoder("replace").decode(body[:MAX_ERROR_BODY], final=not cut) + (
            CUT if cut else ""
        )
        text = clip(clean(_html_text(said)), 200)
    # One line: a line of its own starting "::" would be a workflow command in Actions.
    return clip(shown_field(clean(" ".join(text.split()))), 300)


class _Deadline:
    """A limit on the time an answer takes, headers and body: when it passes before the
    answer is whole, the connection the answer comes on is shut down, which ends the
    read blocked on it. So too, at once, when the run is stopping: a worker reading a
    trickling answer ends then, not up to its time limit later.

    Armed by the connection when its request is sent (``_WatchedConnection``), never
    before; ``cancel`` disarms it (always called: until then the watchdog holds it).
    The process's one ``_Watchdog`` keeps the time of every deadline and shuts
    connections under its lock: once ``cancel`` returns, the deadline shuts nothing (the
    connection may already serve another request), and an answer read whole is never
    shut, even before ``cancel`` (its connection went back to the pool as it ended)."""

    __slots__ = (
        "answer",
        "body",
        "done",
        "due",
        "fired",
        "late",
        "seconds",
        "sock",
        "stopped",
    )

    def __init__(self, seconds: float, body: SizedBody | None = None) -> None:
        self.seconds = seconds
        #: The request's streamed body (a blob's): its time starts once the peer took it all.
        self.body = body
        #: When it falls due (``time.monotonic``): None until armed, infinite once lifted.
        self.due: float | None = None
        #: Its time ran out (whether or not the answer was whole by then).
        self.late = False
        #: Its time ran out before the answer was whole: the connection was shut.
        self.fired = False
        #: The run stopped before the answer was whole: the connection was shut.
        self.stopped = False
        #: The socket of the request in flight, and its answer once the headers came.
        self.sock: Any = None
        self.answer: Any = None
        self.done = False

    def sending(self, sock: Any) -> None:
        """The request's body is going out on ``sock``: no time limit on that (each
        piece's socket write has its own), but a stop shuts it."""
        _WATCHDOG.sending(self, sock)

    def attach(self, sock: Any) -> None:
        """The request went out on ``sock``: its answer's time starts now (the first
        time; a followed redirect's answer counts against the same time)."""
        _WATCHDOG.attach(self, sock)

    def answered(self, answer: Any) -> None:
        """The headers of the answer came (urllib3's response): once it is read whole,
        its connection goes back to the pool, and the deadline leaves it alone."""
        self.answer = answer  # one reference, written once: the watchdog reads it locked

    def lift(self) -> None:
        """No time limit any more (a blob's body, which has none): only a stop shuts it."""
        _WATCHDOG.lift(self)

    def cancel(self) -> None:
        _WATCHDOG.disarm(self)

    def whole(self) -> bool:
        """The answer came whole (its connection may be back in the pool)."""
        return self.answer is not None and bool(self.answer.closed)


class _Watchdog:
    """The one thread that keeps the time of every ``_Deadline`` of the process.

    A heap of the armed deadlines by when they fall due: the thread sleeps until the
    first, shuts the connection of each whose answer is not whole by then, and while
    any is armed looks at the stop flag every ``STOP_POLL`` seconds (then it shuts every
    connection whose answer is still coming). A disarmed deadline stays in the heap
    until it falls due, or until such ones are many (the heap is then rebuilt without
    them). Arming and disarming cost a lock and a heap push, not a thread each."""

    #: Seconds between two looks at the stop flag while a deadline is armed.
    STOP_POLL = 0.1
    #: How many disarmed entries the heap may hold beyond the armed ones.
    SLACK = 1024

    def __init__(self) -> None:
        self._forget()

    def _forget(self) -> None:
        """Keep no deadline, and no thread yet: at the start, and in a child process after
        a fork, whose copies of its parent's deadlines are not its own (its watchdog would
        shut the parent's connections, which the child shares) and whose lock the parent's
        watchdog may have held."""
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._armed: set[_Deadline] = set()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        #: When the thread wakes next by itself (infinite: only when told).
        self._wakes = math.inf

    def attach(self, deadline: _Deadline, sock: Any) -> None:
        with self._cond:
            if deadline.done:
                return
            deadline.sock, deadline.answer = sock, None
            if deadline.late or deadline.stopped:  # a redirect after the time ran out, or a stop
                deadline.fired = deadline.fired or deadline.late
                _shut(sock)
                return
            if stop.stopping():  # no new request while the run is stopping
                deadline.stopped = True
                _shut(sock)
                return
            if deadline.due is not None:  # a followed redirect: the same time
                return
            deadline.due = time.monotonic() + deadline.seconds
            self._armed.add(deadline)
            heapq.heappush(self._heap, (deadline.due, next(self._order), deadline))
            if deadline.due < self._wakes:  # asleep for good, or until after it falls due
                self._cond.notify()
            self._start()

    def sending(self, deadline: _Deadline, sock: Any) -> None:
        with self._cond:
            if deadline.done or deadline.sock is sock:  # watched from its first piece
                return
            deadline.sock, deadline.answer = sock, None
            if stop.stopping():
                deadline.stopped = True
                _shut(sock)
                return
            self._armed.add(deadline)  # for a stop only: its time starts with ``attach``
            self._start()

    def _start(self) -> None:
        """Start the thread if it is not running (the lock held)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="publisher-deadlines", daemon=True
            )
            self._thread.start()
        if self._wakes == math.inf:  # asleep until told: it must look at the stop flag
            self._cond.notify()

    def lift(self, deadline: _Deadline) -> None:
        with self._cond:
            if not deadline.done and deadline.due is not None:
                deadline.due = math.inf  # its heap entry is stale now

    def disarm(self, deadline: _Deadline) -> None:
        with self._cond:
            deadline.done = True
            deadline.sock = deadline.answer = None
            self._armed.discard(deadline)
            if len(self._heap) > 2 * len(self._armed) + self.SLACK:
                self._heap = [entry for entry in self._heap if self._current(entry)]
                heapq.heapify(self._heap)

    def armed(self) -> int:
        """How many deadlines are armed (each is disarmed once its answer is handed back)."""
        with self._cond:
            return len(self._armed)

    @staticmethod
    def _current(entry: tuple[float, int, _Deadline]) -> bool:
        due, _, deadline = entry
        return not deadline.done and deadline.due == due

    @staticmethod
    def _cut(deadline: _Deadline, why: str) -> None:
        """Shut the connection of ``deadline``'s answer unless it came whole, having set
        ``why`` (``fired`` or ``stopped``) first: the reader wakes as soon as it is shut."""
        if deadline.sock is None or deadline.whole():
            return
        setattr(deadline, why, True)
        _shut(deadline.sock)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    entry = heapq.heappop(self._heap)
                    if self._current(entry):
                        deadline = entry[2]
                        deadline.late = True
                        self._cut(deadline, "fired")
                        self._armed.discard(deadline)
                if self._armed and stop.stopping():
                    for deadline in self._armed:
                        if not deadline.stopped:
                            self._cut(deadline, "stopped")
                if not self._armed:
                    self._heap.clear()  # only disarmed entries are left
                    self._wakes = math.inf
                    self._cond.wait()
                else:
                    first = self._heap[0][0] if self._heap else math.inf
                    self._wakes = min(first, now + self.STOP_POLL)
                    self._cond.wait(max(0.0, self._wakes - now))


def _shut(sock: Any) -> None:
    """Shut ``sock`` down both ways (a TLS-in-TLS transport: the socket under it).

    The plain socket's ``shutdown`` even for a TLS socket: its own unwraps it, under a
    reader that may be half-way into a read on another thread, which then fails with
    an error no read expects (a ValueError, an AttributeError) instead of finding the
    connection ended."""
    target = _plain_socket(sock)
    if target is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(target, socket.SHUT_RDWR)


def _plain_socket(sock: Any) -> socket.socket | None:
    """The socket itself, or the one under a TLS-in-TLS transport."""
    target = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    return target if isinstance(target, socket.socket) else None


def _unsent(sock: Any) -> int | None:
    """How many bytes written to ``sock`` its peer has not taken yet (queued here or not
    acknowledged); None where that cannot be read."""
    target = _plain_socket(sock)
    if SIOCOUTQ is None or fcntl is None or target is None:
        return None
    try:
        raw = fcntl.ioctl(target.fileno(), SIOCOUTQ, b"\0" * 4)
    except (OSError, ValueError):  # closed, or not a TCP socket
        return None
    return int(struct.unpack("i", raw)[0])


class _Untaken(Exception):
    """An upload's body sits in its connection's send queue, less than a piece of it taken
    within the time limit: ``unsent`` bytes are left."""

    def __init__(self, unsent: int) -> None:
        super().__init__(unsent)
        self.unsent = unsent


def _drain(body: SizedBody, seconds: float) -> None:
    """Wait until the peer has taken all of ``body``.

    The socket's buffers take megabytes of a body at once, so its last write ends long
    before the body is out on a slow link (or one whose proxy buffers the request): the
    answer's time starts only once the body is taken. Raises ``_Untaken`` when less than
    ``STREAM_CHUNK`` of it (or what is left) is taken within ``seconds``; returns at once
    when the answer starts to come first, or where the send queue cannot be read."""
    sock = body.sock
    unsent = _unsent(sock) if sock is not None else None
    if not unsent:
        return
    mark, since, pause = unsent, time.monotonic(), 0.005
    while True:
        stop.check("an upload")
        if urllib3.util.wait.wait_for_read(sock, timeout=pause):  # an early answer, or an end
            return
        pause = min(2 * pause, 0.25)
        unsent = _unsent(sock)
        body.report()
        if not unsent:
            return
        now = time.monotonic()
        if mark - unsent >= STREAM_CHUNK:
            mark, since = unsent, now
        elif now - since >= seconds:
            raise _Untaken(unsent)


#: The process's one watchdog, shared by every request of every registry.
_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._forget)
#: The deadline of the request this thread is sending, for its connection to arm.
_sending = threading.local()


class _WatchedConnection(urllib3.connection.HTTPConnection):
    """A connection that arms the sending thread's deadline once its request is sent
    (and has a stop shut it while the request's body goes out)."""

    def send(self, data: Any) -> None:
        deadline = getattr(_sending, "deadline", None)
        if deadline is not None and self.sock is not None:  # connected: the body goes out
            deadline.sending(self.sock)
            if deadline.body is not None:
                deadline.body.sock = self.sock
        super().send(data)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_sending, "deadline", None)
        if deadline is not None:
            if deadline.body is not None:
                _drain(deadline.body, deadline.seconds)
            deadline.attach(self.sock)
        answer = super().getresponse(*args, **kwargs)
        if deadline is not None:
            deadline.answered(answer)
        return answer


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    """The same over TLS."""


class _Adapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections arm the sending thread's ``_Deadline`` once a
    request is sent (requests' own timeout bounds each socket read, not an answer)."""

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool: Any = super().get_connection_with_tls_context(*args, **kwargs)
        if pool.ConnectionCls is urllib3.connection.HTTPSConnection:
            pool.ConnectionCls = _WatchedHTTPSConnection
        elif pool.ConnectionCls is urllib3.connection.HTTPConnection:
            pool.ConnectionCls = _WatchedConnection
        return pool


#: The attribute of a response that holds its ``_Deadline``.
_DEADLINE = "_publisher_deadline"


def _deadline_of(response: requests.Response) -> _Deadline | None:
    deadline = getattr(response, _DEADLINE, None)
    return deadline if isinstance(deadline, _Deadline) else None


def _close(response: requests.Response) -> None:
    """Stop the response's deadline, then close it (its connection goes back to the pool)."""
    deadline = _deadline_of(response)
    if deadline is not None:
        deadline.cancel()
    response.close()


@dataclass
class Transport:
    """HTTP access to one registry, shared by every operation of a RegistryClient."""

    host: str
    plain_http: bool = False
    credentials: Credentials | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    output: Output | None = None
    name: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    #: Seconds, for when a token is due for renewal (``time.monotonic``).
    clock: Callable[[], float] = time.monotonic
    #: A blob download that moves fewer than ``stall_bytes`` in ``stall_window`` seconds
    #: is stalled.
    stall_window: float = STALL_WINDOW
    stall_bytes: int = STALL_BYTES

    def __post_init__(self) -> None:
        self.api_host = api_host(self.host)
        self.scheme = "http" if self.plain_http else "https"
        self.base = f"{self.scheme}://{self.api_host}"
        self.session = _Session()
        # No cookies, ever: a registry that sets one may then want CSRF tokens.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # Enough kept-alive connections for the parallel transfers (--transfers <= 32).
        adapter = _Adapter(pool_maxsize=POOL_SIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The CAs of REQUESTS_CA_BUNDLE, else those of SSL_CERT_FILE, as buildah reads it.
        self.session.verify = network.verify_setting(os.environ)
        self.session.headers["User-Agent"] = "publisher"
        # Exact Content-Length checks, and no decompression bombs.
        self.session.headers["Accept-Encoding"] = "identity"
        self._lock = threading.Lock()
        self.trouble = Trouble()
        self._scheme: str | None = None  # "basic" or "bearer" once the registry said so
        self._challenge: Challenge | None = None
        #: scope key -> (token, when to get a new one, by ``clock``)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._secrets: set[str] = set()
        #: The registry (or its token server) took the credentials: a request carrying them
        #: got an answer other than 401 and 403, or a token was granted for them.
        self.accepted = False
        if self.credentials:
            self._secrets.add(self.credentials.password)
            raw = f"{self.credentials.username}:{self.credentials.password}".encode()
            self._secrets.add(base64.b64encode(raw).decode())
            if self.output:
                self.output.mask(self.credentials.password)
        if self.output is not None:
            self.output.mask_proxy_passwords()  # requests may send them to a proxy

    # ----------------------------------------------------------------- naming

    def clean(self, text: str) -> str:
        """Remove every secret this transport knows (and Authorization-shaped values)."""
        return self._redact(scrub(text))

    def _redact(self, text: str) -> str:
        """Remove every secret this transport and its output know, in every form a message
        or a server shows it in (``secret_forms``: escaped, quoted, URL-encoded, base64),
        and the start of one cut short before ``clip``'s mark (``redacted``)."""
        with self._lock:
            secrets = list(self._secrets)
        text = redacted(text, secrets)
        return self.output.redact(text) if self.output is not None else without_secrets(text)

    @property
    def label(self) -> str:
        """``hub (HOST)``; a name with a note of its own, ``ghcr (anonymous)``, gets the
        host inside it, ``ghcr (HOST, anonymous)``, not a second pair of parentheses."""
        if not self.name:
            return self.host
        name, _, note = self.name.partition(" (")
        if note.endswith(")"):
            return f"{name} ({self.host}, {note}"
        return f"{self.name} ({self.host})"

    def url(self, path: str) -> str:
        return self.base + path

    def error(
        self, kind: type[E], message: str, *, status: int | None = None, hint: str | None = None
    ) -> E:
        """A ``kind`` error about this registry; the message starts with its label."""
        return kind(f"{self.label}: {message}", registry=self.host, status=status, hint=hint)

    def debug(self, message: str) -> None:
        if self.output is not None:
            self.output.debug(message)

    # ------------------------------------------------------------------- auth

    def _basic_value(self) -> str:
        assert self.credentials is not None
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        value = base64.b64encode(raw).decode()
        if self.output is not None:
            self.output.mask(value)
        return f"Basic {value}"

    def _auth_header(self, scopes: Sequence[str]) -> dict[str, str]:
        with self._lock:
            if self._scheme == "basic" and self.credentials:
                return {"Authorization": self._basic_value()}
            if self._scheme == "bearer":
                token, renew_at = self._tokens.get(_scope_key(scopes), ("", 0.0))
                if token and self.clock() < renew_at:
                    return {"Authorization": f"Bearer {token}"}
        if self._scheme == "bearer" and self._challenge is not None:
            # We know the token server: get a token for these scopes up front (a new
            # one before the last runs out: a 401 in the middle of an upload would
            # throw away what was sent).
            token = self._fetch_token(self._challenge, scopes)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def _from_env(self) -> bool:
        """The credentials sent are those of matrix.yaml's variables (they are set)."""
        return (
            self.credentials is not None
            and bool(self.username_env and self.password_env)
            and self.credentials.source == f"env {self.username_env}/{self.password_env}"
        )

    def _where(self) -> str:
        """Where this registry's credentials are set."""
        env = (
            f"{self.username_env} and {self.password_env}"
            if self.username_env and self.password_env
            else None
        )
        if env and self._from_env():  # set already: what they hold is what to change
            return f"put such credentials in {env} (named in matrix.yaml)"
        return f"set {env} (named in matrix.yaml)" if env else f"run `docker login {self.host}`"

    def auth_hint(self, *, push: bool) -> str:
        where = self._where()
        if self.api_host == "ghcr.io":
            need = "write:packages" if push else "read:packages"
            return (
                f"GHCR needs a token with {need} (write:packages to push, read:packages to pull); "
                f"{where}"
            )
        if self.api_host == DOCKER_HUB_API:
            need = "Read & Write" if push else "Read-only (or better)"
            return f"use a Docker Hub access token with {need} access; {where}"
        if self.credentials is None:
            return f"no credentials were found for {self.host}: {where}"
        if self._from_env():
            return (
                f"the registry refused the username and password in {self.username_env} and "
                f"{self.password_env} (named in matrix.yaml): check both values"
            )
        return f"check the username and password ({self.credentials.source}); {where}"

    def _blanks(self) -> str:
        """What the registry was sent that the variables' values hide, said by the
        variable's name, never its value: a newline at the end (a hand-made env file's,
        ``NAME=$'token\\n'``) or blanks around one. A credential is sent as given, never
        changed in silence. Empty when none (or when not from the environment)."""
        if self.credentials is None or not self._from_env():
            return ""
        said = []
        for name, role, value in (
            (self.username_env, "username", self.credentials.username),
            (self.password_env, "password", self.credentials.password),
        ):
            if value == value.strip():
                continue
            newline = value.endswith(("\n", "\r"))
            how = "ends with a newline" if newline else "has blanks around it"
            said.append(
                f"the value of {name} {how}, sent as part of the {role} (a credential is "
                f"sent as given): set {name} without {'it' if newline else 'them'}; "
            )
        return "".join(said)

    def _auth_failed(
        self,
        message: str,
        anonymous: str,
        scopes: Sequence[str],
        status: int,
        detail: str = "",
        hint: str | None = None,
    ) -> AuthError:
        """The refusal of a request: ``message`` when it carried credentials (who they are
        follows it), ``anonymous`` when it carried none (saying so), then ``detail`` (what
        the server said), so that neither reads as the server's words; ``hint``: else what
        to do about the credentials."""
        push = any(s.endswith(",push") for s in scopes)
        said = (
            f"{message} as {self.credentials.username!r} ({self.credentials.source})"
            if self.credentials
            else anonymous
        )
        return self.error(
            AuthError,
            f"{said}{detail}",
            status=status,
            hint=hint or self._blanks() + self.auth_hint(push=push),
        )

    def _fetch_token(self, challenge: Challenge, scopes: Sequence[str]) -> str:
        realm = challenge.realm or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.error(
                InvalidResponseError,
                f"the token realm {clip(self.clean(realm), 100)!r} is not an http(s) URL",
                hint="the registry's WWW-Authenticate challenge must name its token server by "
                "an http(s) URL: check the registry's auth configuration, or the registry host",
            )
        if parts.scheme == "http" and self.credentials and not self.plain_http:
            raise self.error(
                AuthError,
                f"refusing to send credentials to a plain-HTTP token server ({parts.netloc})",
                hint="the registry's token realm must use HTTPS: have its operator serve the "
                "token server over HTTPS, or mark the registry insecure in matrix.yaml if it "
                "is a test registry on a trusted network",
            )
        wanted = list(dict.fromkeys(scopes))
        if challenge.scope:
            for scope in challenge.scope.split(" "):
                if scope and scope not in wanted and not _covered(scope, wanted):
                    wanted.append(scope)
        params: list[tuple[str, str]] = []
        if challenge.service:
            params.append(("service", challenge.service))
        params += [("scope", s) for s in wanted]
        headers = {"Accept": "application/json"}
        if self.credentials:
            headers["Authorization"] = self._basic_value()
            params.append(("account", self.credentials.username))
        self.debug(
            f"token request to {parts.scheme}://{parts.netloc}{parts.path} for {' '.join(wanted)}"
        )
        asked = self.clock()
        try:
            response = self._open(
                "GET",
                realm,
                headers=headers,
                params=params,
                what=f"token request to {parts.netloc}",
            )
            reply = self._reply("GET", realm, response, MAX_TOKEN_BODY)
            if reply.status in (401, 403):
                raise self._auth_failed(
                    f"the token server refused the credentials (HTTP {reply.status})",
                    f"the token server refused an anonymous request (HTTP {reply.status})",
                    scopes,
                    reply.status,
                )
            if reply.status == 404:  # the image may well exist: the realm serves no tokens
                raise self.error(
                    InvalidResponseError,
                    f"the token server {parts.netloc}{parts.path} that the registry names "
                    "answered 404 to the token request",
                    status=404,
                    hint="the registry's WWW-Authenticate realm points at no token service: "
                    "check the registry's auth configuration (or its proxy)",
                )
            if reply.status != 200:
                self._raise_for(reply, f"token request to {parts.netloc}", scopes, accept=(200,))
        except Transient as failed:
            # The token server failed, not the registry's API: say which (elsewhere, the
            # registry is not judged down by it; on its own host, by its path).
            if parts.netloc.lower() != self.api_host.lower():
                failed.host, failed.role = parts.netloc, "the registry's token server"
            else:
                failed.token_server = shown_field(self.clean(f"{parts.netloc}{parts.path}"))
            raise
        try:
            data = json.loads(reply.body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            data, token = None, None
        if not isinstance(token, str) or not token:
            raise self.error(
                InvalidResponseError,
                "the token server answered without a token",
                hint=f"check that the realm the registry names is its token server, and the "
                f"credentials ({self._where()})",
            )
        if self.output is not None:
            self.output.mask(token)
        if self.credentials:
            self.accepted = True
        with self._lock:
            self._tokens[_scope_key(scopes)] = (token, asked + _renew_after(data))
            self._secrets.add(token)
        return token

    def _authenticate(self, reply: Reply, scopes: Sequence[str]) -> None:
        raw = reply.header("WWW-Authenticate") or ""
        try:
            challenge: Challenge | None = parse_challenges(raw)[0] if raw.strip() else None
        except ValueError as exc:
            why = str(exc)
            if self._redact(raw) != raw:
                # The parser quotes a piece of the header, which may hold part of a secret.
                why = why.split(" (", 1)[0]
            raise self.error(
                InvalidResponseError,
                f"the registry sent a malformed WWW-Authenticate header "
                f"({clip(self.clean(raw), 100)!r}: {shown_field(self.clean(why))})",
                hint=MALFORMED_HINT,
            ) from None
        scheme = challenge.scheme if challenge else ""
        if scheme == "basic":
            if not self.credentials:
                raise self._auth_failed(
                    "the registry requires credentials",
                    "the registry requires credentials and refused an anonymous request (HTTP 401)",
                    scopes,
                    401,
                )
            with self._lock:
                self._scheme = "basic"
            return
        if scheme == "bearer" and challenge is not None:
            with self._lock:
                self._scheme = "bearer"
                self._challenge = challenge
                self._tokens.pop(_scope_key(scopes), None)
            self._fetch_token(challenge, scopes)
            return
        raise self._no_challenge(scopes)

    def _granted_by(self) -> str | None:
        """The host of the registry's token server, once it granted a token (for the
        credentials, if any: it took them); None before, or for a registry without one."""
        with self._lock:
            realm = self._challenge.realm if self._scheme == "bearer" and self._challenge else None
            granted = realm is not None and bool(self._tokens)
        return shown_field(self.clean(urlsplit(realm or "").netloc)) if granted else None

    def _no_challenge(self, scopes: Sequence[str]) -> AuthError:
        """A 401 naming no way to authenticate that publisher speaks (no WWW-Authenticate
        challenge, or one of another scheme): no refusal of the credentials, which its
        token server may even have taken."""
        server = self._granted_by()
        accepted = ""
        if server is not None:
            accepted = f", though its token server ({server}) " + (
                "accepted the credentials and granted tokens (they are not the cause)"
                if self.credentials
                else "granted tokens"
            )
        return self._auth_failed(
            "the registry asked for authentication without a usable WWW-Authenticate header",
            "the registry refused an anonymous request (HTTP 401) without a usable "
            "WWW-Authenticate header",
            scopes,
            401,
            hint=f"the registry answered HTTP 401 without a challenge publisher can answer "
            f"(Basic or Bearer){accepted}: likely a proxy or load balancer in front of "
            f"{self.host} that answers 401 itself or drops the Authorization header, or a "
            "registry fault; check what sits in front of the registry (and its logs), then rerun",
        )

    # ------------------------------------------------------------- sending

    def _open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        data: bytes | Path | SizedBody | None = None,
        progress: Callable[[int], None] | None = None,
        what: str | None = None,
    ) -> requests.Response:
        """Send one request (``what``: the operation, in words) and return the response
        with its body unread.

        Its answer must come within ``timeout`` of the request being sent (of its body,
        when streamed, being taken by the registry): the headers and the body too, read
        before the response is closed (unless ``_lift`` lifts the limit from an accepted
        blob's body); a slower answer is taken for none. ``progress``: see ``SizedBody``
        (a body of a few bytes, sent whole, tells it nothing)."""
        body: bytes | SizedBody | None
        if isinstance(data, Path):
            body = SizedBody(data.stat().st_size, file_chunks(data))
        elif isinstance(data, bytes) and len(data) > STREAM_CHUNK:
            # In pieces, like a file: one socket write of it all would have to end within
            # ``timeout``, however large.
            body = SizedBody(len(data), _pieces(data))
        else:
            body = data
        if isinstance(body, SizedBody) and progress is not None:
            body.progress = progress
        deadline = _Deadline(self.timeout, body if isinstance(body, SizedBody) else None)
        _sending.deadline = deadline
        sent = False
        try:
            response = self._send_one(
                method, url, headers=headers, params=params, body=body, what=what
            )
            sent = True
        except _Untaken as exc:  # written out, but not taken by the registry
            assert isinstance(body, SizedBody)
            raise self._stalled(body, max(0, body.sent - exc.unsent)) from None
        except (PublisherError, Transient) as exc:
            doing = "an upload" if isinstance(body, SizedBody) else "a request"
            cut = None if isinstance(exc, StoppedError) else self._cut_by(deadline, url, doing)
            if cut is not None:  # what the shut connection made of it
                raise cut from None
            if isinstance(exc, Transient) and isinstance(body, SizedBody):
                raise self._stalled_upload(exc, body) from None
            raise
        finally:
            _sending.deadline = None
            if not sent:
                deadline.cancel()
        setattr(response, _DEADLINE, deadline)
        return response

    def _lift(self, response: requests.Response, url: str) -> None:
        """An accepted blob's body has no time limit (a stop still shuts it): lift its
        deadline, unless that already shut the connection. Any other answer's body, an
        error's too, must come within the time limit."""
        deadline = _deadline_of(response)
        if deadline is None:
            return
        deadline.lift()
        cut = self._cut_by(deadline, url)
        if cut is not None:
            _close(response)
            raise cut

    def _cut_by(
        self, deadline: _Deadline | None, url: str, what: str = "a request"
    ) -> Transient | None:
        """What became of ``what`` (a request) whose connection ``deadline`` shut:
        StoppedError (raised) when the run is stopping, else no answer; None when it
        shut nothing."""
        if deadline is None or not (deadline.fired or deadline.stopped):
            return None
        stop.check(what)  # the stop shut it: say so, not that the registry failed
        return self._no_answer(url) if deadline.fired else None

    def _stalled_upload(self, exc: Transient, body: SizedBody) -> Transient:
        """``exc`` as a stalled upload when a piece of ``body`` could not be sent within
        ``timeout`` (the request time limit bounds each socket write)."""
        timed_out = "timed out" in exc.reason or "no answer within" in exc.reason
        if (
            exc.origin not in (None, self)  # the registry the body comes from failed
            or exc.kind not in ("connection", "no answer")
            or not timed_out
            or (body.started is None or body.sent >= len(body))
        ):
            return exc  # not a timeout, or one waiting for the answer: the body went out
        return self._stalled(body, body.sent, exc.host)

    def _stalled(self, body: SizedBody, sent: int, host: str | None = None) -> Transient:
        """The upload of ``body`` stalled, ``sent`` bytes of it taken."""
        elapsed = max(time.monotonic() - (body.started or time.monotonic()), 1e-3)
        return Transient(
            f"the transfer stalled: {sent} of {len(body)} bytes sent in {elapsed:.1f} s "
            f"({sent / elapsed:.0f} bytes/s); a piece of {STREAM_CHUNK // 1024} KiB "
            f"could not be sent within {self.timeout:g} s",
            kind="stalled",
            host=host,
        )

    def _tls_failed(self, exc: requests.exceptions.SSLError, url: str) -> UnreachableError:
        """The TLS handshake with the registry (or where it redirected: ``url``) failed."""
        where = urlsplit(url).netloc
        own = where == self.api_host
        failure = network.tls_failure(
            exc,
            where,
            server="the registry" if own else "the server",
            named_in="the repository in matrix.yaml" if own else "the registry's redirect",
        )
        hint = failure.hint
        if failure.plain_http and own:
            hint = (
                f"{where} answers in plain HTTP: if that registry serves no TLS, mark it "
                "`insecure: true` in matrix.yaml; else check its port"
            )
        said = f"TLS failed: {failure.reason}" + ("" if own else f" (at {where})")
        return self.error(UnreachableError, shown_field(self.clean(said)), hint=self.clean(hint))

    def _no_answer(self, url: str) -> Transient:
        """A request whose answer did not come in full within ``timeout``: as if none came."""
        elsewhere = urlsplit(url).netloc
        return Transient(
            f"connection failed: no answer within {self.timeout:g} s",
            kind="no answer",
            host=elsewhere if elsewhere != self.api_host else None,
        )

    def _send_one(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        body: bytes | SizedBody | None = None,
        what: str | None = None,
    ) -> requests.Response:
        send_headers = dict(headers or {})
        if body is not None:
            send_headers["Content-Length"] = str(len(body))
        if isinstance(body, SizedBody) and not len(body):
            body = b""  # requests would mark an empty stream as chunked
        try:
            response = self.session.request(
                method,
                url,
                headers=send_headers,
                params=params,
                data=body,
                stream=True,
                timeout=self.timeout,
                allow_redirects=method in ("GET", "HEAD"),
                # the proxy: network.proxy_of's (a loopback registry: always direct)
            )
        except requests.exceptions.SSLError as exc:
            raise self._tls_failed(exc, getattr(exc.request, "url", None) or url) from None
        except requests.exceptions.ProxyError as exc:
            raise self._proxy_failed(exc, getattr(exc.request, "url", None) or url) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # After a followed redirect, the request that failed is the redirected one.
            failed = getattr(exc.request, "url", None) or url
            malformed = self._malformed(exc, failed, what or f"{method} {urlsplit(url).path}")
            if malformed is not None:
                raise malformed from None
            no_files = out_of_files(exc, f"open a connection to {urlsplit(failed).netloc}")
            if no_files is not None:  # this process's doing, not the registry's
                raise no_files from None
            elsewhere = urlsplit(failed).netloc
            raise Transient(
                "connection failed: "
                + clip(shown_field(self.clean(_connection_cause(exc, self.timeout))), 200),
                kind="no answer" if network.answer_late(exc) else "connection",
                host=elsewhere if elsewhere != self.api_host else None,
            ) from None
        except requests.exceptions.TooManyRedirects:
            raise self.error(
                InvalidResponseError,
                f"{method} {urlsplit(url).path}: the redirects go round in a loop (more than "
                f"{self.session.max_redirects})",
                hint="the registry, or the host it sends downloads to, redirects back to "
                "itself: check for a proxy or mirror in front of the registry that rewrites "
                "Location headers, then rerun",
            ) from None
        except requests.exceptions.RequestException as exc:
            failed = getattr(exc.request, "url", None) or url
            malformed = self._malformed(exc, failed, what or f"{method} {urlsplit(url).path}")
            if malformed is not None:
                raise malformed from None
            raise self.error(
                UnreachableError,
                f"request failed: {clip(shown_field(self.clean(_short(exc))), 200)}",
                hint=f"check the registry host {self.host}, and HTTPS_PROXY, HTTP_PROXY and "
                "NO_PROXY when a proxy is in the way, then rerun",
            ) from None
        except ValueError as exc:
            # requests checks the URL it is given (InvalidURL, above), not always the
            # Location of a redirect it follows: a malformed one fails as a ValueError
            # (an unclosed IPv6 bracket, bytes that are not UTF-8, a host label too long).
            if method not in ("GET", "HEAD"):  # no redirect was followed: not that
                raise
            raise self.error(
                InvalidResponseError,
                f"{method} {urlsplit(url).path}: the registry redirected to a malformed "
                f"Location ({clip(shown_field(self.clean(str(exc))), 120)})",
                hint=MALFORMED_HINT,
            ) from None
        self.debug(f"{method} {urlsplit(response.url or url).path} -> {response.status_code}")
        proxy = network.proxy_of(response.url or url) if response.status_code == 407 else None
        if proxy is not None:  # a plain-HTTP request's proxy answered itself
            response.close()
            wants = network.proxy_wants(proxy)
            raise self.error(UnreachableError, wants.message, status=407, hint=wants.hint)
        return response

    def _malformed(self, exc: BaseException, url: str, what: str) -> InvalidResponseError | None:
        """The answer to ``what`` (a request to ``url``) that ``exc`` failed on, when it is
        no valid HTTP (``network.malformed_answer``): an invalid answer, not retried, as any
        other malformed one; None when ``exc`` is no such answer."""
        words = network.malformed_answer(exc)
        if words is None:
            return None
        elsewhere = urlsplit(url).netloc
        who = (
            "the registry"
            if elsewhere == self.api_host
            else f"{shown_field(elsewhere)}, where the registry sent us,"
        )
        return self.error(
            InvalidResponseError,
            f"{what}: {who} sent an answer that is not valid HTTP: {self.clean(words)}",
            hint=MALFORMED_HINT,
        )

    def _proxy_failed(self, exc: BaseException, url: str) -> PublisherError | Transient:
        """The proxy of a request to ``url`` failed it (``exc``: requests' ProxyError):
        an error at once when no retry can help (it wants other credentials), else a
        Transient that names the proxy and says what to check."""
        parts = urlsplit(url)
        elsewhere = parts.netloc if parts.netloc != self.api_host else None
        proxy = network.proxy_of(url)
        if proxy is None:  # none was chosen for it: said as any failed connection
            reason = clip(shown_field(self.clean(_connection_cause(exc, self.timeout))), 200)
            return Transient(f"connection failed: {reason}", kind="connection", host=elsewhere)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        failure = network.proxy_failure(exc, proxy, f"{parts.hostname}:{port}", self.timeout)
        if not failure.transient:
            return self.error(UnreachableError, failure.message, hint=failure.hint)
        return Transient(failure.message, kind="connection", host=elsewhere, hint=failure.hint)

    def _redirected_host(self, response: requests.Response) -> str | None:
        """The host a followed redirect ended on, when it is not the registry."""
        if not response.history:
            return None
        final = response.url or ""
        if same_origin(final, self.base):
            return None
        return urlsplit(final).netloc or None

    def _declared_length(self, response: requests.Response, what: str) -> int | None:
        value = response.headers.get("Content-Length")
        if value is None or response.headers.get("Content-Encoding"):
            return None
        try:
            length = int(value)
        except ValueError:
            raise self.error(
                InvalidResponseError,
                f"{what}: invalid Content-Length {clip(self.clean(value), 40)!r}",
                hint=MALFORMED_HINT,
            ) from None
        if length < 0:
            raise self.error(
                InvalidResponseError,
                f"{what}: invalid Content-Length {length}",
                hint=MALFORMED_HINT,
            )
        return length

    def _chunks(
        self, response: requests.Response, limit: int, what: str, *, stall: bool = False
    ) -> Iterator[bytes]:
        """The body's chunks as they arrive, bounded by ``limit`` and checked against
        Content-Length; with ``stall`` (a blob's body, which has no time limit), a body
        that comes slower than ``stall_bytes`` in ``stall_window`` seconds is stalled."""
        declared = self._declared_length(response, what)
        if limit and declared is not None and declared > limit:
            raise self.error(
                InvalidResponseError,
                f"{what}: the body is {declared} bytes, over the {limit}-byte limit",
                hint=_oversize_hint(what),
            )
        total = 0
        for chunk in self._flowing(response) if stall else _iter_raw(response, READ_CHUNK):
            total += len(chunk)
            if limit and total > limit:
                raise self.error(
                    InvalidResponseError,
                    f"{what}: the body is over the {limit}-byte limit; stopped reading",
                    hint=_oversize_hint(what),
                )
            yield chunk
        if declared is not None and total != declared:
            raise Transient(
                f"the body has {total} bytes but Content-Length said {declared}", kind="truncated"
            )

    def _flowing(self, response: requests.Response) -> Iterator[bytes]:
        """A body's pieces as they come, whatever their size (``read1``), so that a
        body that trickles in is seen to: fewer than ``stall_bytes`` in any
        ``stall_window`` seconds is a stalled transfer (Transient, retried)."""
        read1 = response.raw.read1  # urllib3 2.3 or later (pyproject.toml says so)
        since = time.monotonic()
        moved = total = 0

        def stalled(elapsed: float) -> Transient:
            return Transient(
                f"the transfer stalled: {moved} bytes in the last {elapsed:.1f} s "
                f"({moved / max(elapsed, 1e-3):.0f} bytes/s, under the minimum of "
                f"{self.stall_bytes} bytes in {self.stall_window:g} s), {total} bytes in all",
                kind="stalled",
            )

        while True:
            try:
                chunk = read1(READ_CHUNK, decode_content=True)
            except _READ_ERRORS as exc:
                stop.check("a download")  # the stop shut the connection: not a failure
                if "timed out" in str(exc):  # nothing at all for ``timeout``
                    raise stalled(time.monotonic() - since) from None
                raise _cut_off(exc) from None
            if not chunk:
                return
            stop.check("a download")
            moved += len(chunk)
            total += len(chunk)
            elapsed = time.monotonic() - since
            if elapsed >= self.stall_window:
                if moved < self.stall_bytes:
                    raise stalled(elapsed)
                since, moved = time.monotonic(), 0
            yield chunk

    def _reply(self, method: str, url: str, response: requests.Response, limit: int = 0) -> Reply:
        """Read ``response`` into a Reply and close it: a success body up to ``limit``
        bytes (it must match its Content-Length), an error body's first bytes, no body for HEAD.
        """
        deadline = _deadline_of(response)
        cut = False
        try:
            if method == "HEAD":
                body = b""
            elif 200 <= response.status_code < 300:
                what = f"{method} {urlsplit(response.url or url).path}"
                chunks = self._chunks(response, limit or DEFAULT_BODY_LIMIT, what)
                body = b"".join(chunks)
            else:
                body, cut = _read_prefix(response, MAX_ERROR_BODY)
        except Transient:
            late = self._cut_by(deadline, response.url or url)
            if late is not None:
                raise late from None
            raise
        finally:
            _close(response)
        late = self._cut_by(deadline, response.url or url)  # an error body cut short by it
        if late is not None:
            raise late
        return Reply(response.status_code, response.headers, body, response.url or url, cut=cut)

    @contextlib.contextmanager
    def _exchange(
        self,
        method: str,
        url: str,
        *,
        scopes: Sequence[str],
        what: str,
        accept: Sequence[int] = (200,),
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        data: bytes | Path | SizedBody | None = None,
        whole: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[requests.Response]:
        """One authenticated request, no retries: the response, body unread, when its
        status is in ``accept`` (with ``whole`` False, a blob's: its body without the
        answer time limit, which still bounds an error's).

        A 401 re-authenticates once and sends again; retryable statuses raise
        Transient; the rest become classified errors describing ``what``.
        """
        reauthenticated = False
        while True:
            authorization = self._auth_header(scopes)
            response = self._open(
                method,
                url,
                headers={**authorization, **(headers or {})},
                params=params,
                data=data,
                progress=progress,
                what=what,
            )
            if authorization and self.credentials and response.status_code not in (401, 403):
                self.accepted = True
            elsewhere = self._redirected_host(response)
            if response.status_code in accept and not (elsewhere and response.status_code >= 300):
                if not whole:
                    self._lift(response, url)
                    self.trouble.answered()  # in time: its body has no time limit
                break
            refused = self._reply(method, url, response)
            if elsewhere or not 500 <= refused.status <= 599:  # a 429 or a 404 is an answer too
                self.trouble.answered()
            if elsewhere:
                # A blob download the registry sent to a CDN: the CDN's 401, 403 or 404 is
                # not the registry's (no re-authentication: its challenge would take our
                # credentials elsewhere). A retry asks the registry again, for a fresh URL.
                detail = describe_error_body(refused.body, self.clean, cut=refused.cut)
                raise Transient(
                    f"HTTP {refused.status}" + (f": {detail}" if detail else ""),
                    status=refused.status,
                    retry_after=parse_retry_after(
                        refused.header("Retry-After"), date=refused.header("Date")
                    ),
                    headers=refused.headers,
                    host=elsewhere,
                )
            if refused.status == 401 and not reauthenticated:
                self._authenticate(refused, scopes)
                reauthenticated = True
                if isinstance(data, SizedBody):
                    # A streamed body is gone once sent: the caller restarts the transfer.
                    midway = Transient(
                        "the registry refused the credentials in the middle of the upload "
                        "(HTTP 401); re-authenticated, restarting the upload",
                        status=401,
                        kind="refused mid-upload",
                    )
                    said = challenge_error(refused.header("WWW-Authenticate") or "")
                    detail = describe_error_body(refused.body, self.clean, cut=refused.cut)
                    midway.refused = (
                        "a PATCH (a chunk of the blob)"
                        if method == "PATCH"
                        else f"its closing {method} (the blob)",
                        self.clean(said) if said else None,
                        f": {detail}" if detail else "",
                        tuple(scopes),
                    )
                    raise midway
                continue
            self._raise_for(
                refused,
                what,
                scopes,
                method=method,
                sent_type=(headers or {}).get("Content-Type"),
                sent_bytes=_sent_bytes(data),
                accept=accept,
            )
        try:
            yield response
        finally:
            _close(response)

    def send(self, method: str, url: str, *, limit: int = 0, **exchange: Any) -> Reply:
        """One request with authentication, no retries, its body read up to ``limit``
        bytes; ``exchange`` holds ``_exchange``'s keywords (scopes, what, accept, ...)."""
        with self._exchange(method, url, **exchange) as response:
            reply = self._reply(method, url, response, limit)
        self.trouble.answered()
        return reply

    @contextlib.contextmanager
    def stream(
        self, url: str, *, scopes: Sequence[str], what: str, limit: int
    ) -> Iterator[Iterator[bytes]]:
        """GET ``url`` and yield its body as chunks while they arrive (never held whole).

        Authenticates and fails like ``send`` (404 as NotFoundError, 5xx as
        Transient). The chunks stop with an error past ``limit`` bytes or short of
        Content-Length.
        """
        with contextlib.ExitStack() as stack:
            with self._owning():
                response = stack.enter_context(
                    self._exchange("GET", url, scopes=scopes, what=what, whole=False)
                )
            yield self.owned(self._chunks(response, limit, f"GET {what}", stall=True))

    def owned(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks`` (a download from this registry), a failure of theirs marked as this
        registry's (see ``_owning``)."""
        with self._owning():
            yield from chunks

    @contextlib.contextmanager
    def _owning(self) -> Iterator[None]:
        """Mark a retryable failure inside as this registry's: another registry that
        retries a transfer fed by this one (a copy's upload) names this one when the
        retries run out, not itself."""
        try:
            yield
        except Transient as exc:
            exc.origin = exc.origin or self
            raise

    def _raise_for(
        self,
        reply: Reply,
        what: str,
        scopes: Sequence[str],
        *,
        method: str = "",
        sent_type: str | None = None,
        sent_bytes: int | None = None,
        accept: Sequence[int] = (),
    ) -> None:
        """Raise the error an answer other than those in ``accept`` is: a refusal (4xx), a
        failure (5xx), or an answer the request does not expect (any other status: a 2xx
        or 3xx not in ``accept``, one HTTP does not define); ``method`` the request's,
        ``sent_type`` and ``sent_bytes`` the media type and length of the body it carried."""
        status = reply.status
        detail = describe_error_body(reply.body, self.clean, cut=reply.cut)
        suffix = f": {detail}" if detail else ""
        if is_retryable_status(status):
            raise Transient(
                f"HTTP {status}{suffix}",
                status=status,
                retry_after=parse_retry_after(
                    reply.header("Retry-After"), date=reply.header("Date")
                ),
                headers=reply.headers,
            )
        if not 400 <= status <= 599:
            raise self.error(
                InvalidResponseError,
                f"{what}: the registry answered HTTP {status}, not the HTTP "
                f"{either(str(code) for code in accept)} this request expects{suffix}",
                status=status,
                hint=MALFORMED_HINT,
            )
        if status == 401:
            said = challenge_error(reply.header("WWW-Authenticate") or "")
            server = self._granted_by()
            if said == "insufficient_scope" and self.credentials and server is not None:
                refused = self._scope_refused(reply, what, scopes)
            elif server is not None and (
                said == "invalid_token" or (self.credentials and not said)
            ):
                refused = self._token_refused(what, scopes, server, said, suffix)
            elif self.credentials and self.accepted and method in WRITES:
                request = f"this {method}"
                refused = self._refused_after(what, request, scopes, said, suffix)
            else:
                refused = self._auth_failed(
                    f"{what}: not authorized (HTTP 401)",
                    f"{what}: an anonymous request was not authorized (HTTP 401)",
                    scopes,
                    status,
                    suffix,
                )
            # A token registry's 401 to a read may mean no such repository (not once it
            # said the token itself is invalid); a password registry's (htpasswd) means the
            # password, as it answers 404 for a repository.
            push = any(s.endswith(",push") for s in scopes)
            if self._scheme == "bearer" and not push and said != "invalid_token":
                refused.hint = f"{refused.hint}; {UNKNOWN_REPOSITORY}"
            raise refused
        if status == 403:
            raise self._denied(reply, what, scopes, detail)
        if status == 404:
            raise self.error(
                NotFoundError,
                f"{what}: not found{suffix}",
                status=404,
                hint="check the repository and tag names, and that the credentials may read "
                "the repository (some registries answer 404 for a private one)",
            )
        raise self._refused(reply, what, detail, method, sent_type, sent_bytes)

    def _refused_after(
        self,
        what: str,
        request: str,
        scopes: Sequence[str],
        said: str | None,
        suffix: str,
        *,
        tries: str = "",
    ) -> AuthError:
        """A 401 to ``request`` (in words; ``said`` its challenge's error, ``suffix`` the
        registry's error body) after the registry took the credentials for earlier requests
        (``tries``: an upload's, refused so at each attempt): the password is not the
        cause; the account's push access, or its token's scope, likely is."""
        assert self.credentials is not None
        repos = [s.split(":")[1] for s in scopes if s.startswith("repository:")]
        repo = repos[0] if repos else ""
        scope = f" (a token scope of {push_scope(repo)})" if repo else ""
        earlier = "to start the upload (its POST)" if tries else "for earlier requests"
        again = f", at each attempt, even with a new token; gave up {tries}" if tries else ""
        return self.error(
            AuthError,
            f"{what}: the registry accepted the credentials of {self.credentials.username!r} "
            f"({self.credentials.source}) {earlier}, then refused {request} with HTTP 401"
            f"{f' {said}' if said else ''}{suffix}{again}",
            status=401,
            hint=f"the password is not the cause (the registry took it {earlier}): the "
            f"account, or its token's scope, likely may pull but not push to "
            f"{repo or 'this repository'}: give it push access{scope}, or use one that has "
            f"it ({self._where()}); else a proxy or load balancer in front of the registry "
            "drops the Authorization header, or sends later requests to a registry node that "
            "does not trust the token; then rerun (blobs already stored are not sent again)",
        )

    def _denied(self, reply: Reply, what: str, scopes: Sequence[str], detail: str) -> AuthError:
        """A 403: a refusal of the credentials, unless the registry took them or named a
        rule of its own as the reason (a quota, an immutable tag): then a DeniedError that
        says so, quoting the reason, with a tip that fits it."""
        suffix = f": {detail}" if detail else ""
        policy = _policy_of(reply.body, detail)
        accepted = self.credentials is not None and self.accepted
        if policy == "rule" and not accepted:
            # Any other reason, sent anonymously or with credentials never taken ("you are
            # not allowed to pull this repository", "not a member"), is most likely about
            # access: the login tip, with the reason quoted, not "the credentials are fine".
            policy = None
        if policy is None and not accepted:
            return self._auth_failed(
                f"{what}: access denied (HTTP 403)",
                f"{what}: an anonymous request was denied access (HTTP 403)",
                scopes,
                403,
                suffix,
            )
        took = (
            f"the registry accepted the credentials of {self.credentials.username!r} "
            f"({self.credentials.source})"
            if self.credentials is not None and accepted
            else ""
        )
        if policy is not None:
            message = (
                f"{what}: the registry refused the operation by policy (HTTP 403)"
                + (f", though {took.replace('the registry ', 'it ', 1)}" if took else "")
                + suffix
            )
            hint = POLICY_HINTS[policy]
        else:
            access = "push" if any(s.endswith(",push") for s in scopes) else "pull"
            message = f"{what}: access denied (HTTP 403), though {took}{suffix}"
            hint = (
                f"the credentials are fine (the registry took them for earlier requests), but "
                f"the account may lack {access} access to this repository, or a rule of the "
                f"registry refuses this operation: check the reason it gave and the account's "
                f"rights; to use another account, {self._where()}"
            )
        error = self.error(DeniedError, message, status=403, hint=hint)
        error.policy = policy
        return error

    def _refused(
        self,
        reply: Reply,
        what: str,
        detail: str,
        method: str,
        sent_type: str | None,
        sent_bytes: int | None,
    ) -> RegistryError:
        """Any other 4xx: the request as it is was refused, and a rerun alone sends it
        again. Its likely cause, when the answer shows one: a registry that takes no
        writes now, a body over a size limit, a manifest type the registry does not take,
        a registry that takes blobs in chunks only."""
        status = reply.status
        suffix = f": {detail}" if detail else ""
        path = urlsplit(reply.url).path
        allow = self._header(reply.headers, "Allow")
        codes = reply.error_codes
        size = f" of {sent_bytes} bytes" if sent_bytes else ""
        if status == 405 and method in WRITES and allow is not None:
            allowed = {m.strip().upper() for m in allow.split(",")}
            if not allowed & set(WRITES):
                return self.error(
                    RegistryError,
                    f"{what}: the registry accepts no writes now (HTTP 405, Allow: {allow})"
                    f"{suffix}",
                    status=status,
                    hint="the registry answers reads but refuses every write: it is likely in "
                    "read-only or maintenance mode (as distribution's "
                    "storage.maintenance.readonly puts it); rerun once its operator ends it",
                )
        if status == 413:
            thing = "manifest" if "/manifests/" in path else "blob" if "/blobs/" in path else ""
            sent = f"the {thing}{size}" if thing else f"the request{size}"
            if method == "PATCH":
                sent = f"a chunk{size} of the blob"
            return self.error(
                RegistryError,
                f"{what}: {sent} is over the size limit of the registry or of a proxy in "
                f"front of it (HTTP 413){suffix}",
                status=status,
                hint="the registry, or a proxy in front of it (nginx's client_max_body_size, "
                f"a load balancer's body limit), takes no request body that large: raise that "
                f"limit above {sent_bytes or 'that'} bytes, then rerun",
            )
        if (
            method == "PUT"
            and "/manifests/" in path
            and sent_type in MANIFEST_TYPES
            and (status == 415 or (status == 400 and "MANIFEST_INVALID" in codes))
        ):
            kind = MANIFEST_KINDS.get(sent_type or "", "a manifest")
            return self.error(
                RegistryError,
                f"{what}: the registry refused the manifest (HTTP {status}){suffix}; the "
                f"manifest sent was {kind} (media type {sent_type})",
                status=status,
                hint=f"the registry, or a proxy in front of it, likely takes no {kind.split(' ', 1)[1]} "
                f"({sent_type}){' (HTTP 415: unsupported media type)' if status == 415 else ''}"
                ": use a registry that takes this media type (distribution 2.7 or later, "
                "Harbor, GHCR, Docker Hub do), or have its operator enable it; a rerun alone "
                "sends the same manifest",
            )
        if (
            status == 400
            and method == "PUT"
            and "/blobs/uploads/" in path
            and sent_bytes
            and "BLOB_UPLOAD_INVALID" in codes
        ):
            return self.error(
                RegistryError,
                f"{what}: the registry refused the blob{size} sent whole in one PUT (HTTP 400)"
                f"{suffix}",
                status=status,
                hint="the registry seems to take blobs only in chunks (PATCH requests), not "
                "whole in the upload's closing PUT; publisher sends chunks only for a blob "
                "over 64 MiB to a registry whose upload session announces them (a Range "
                "header): use a registry that takes monolithic uploads, as the distribution "
                "API requires, or have its operator allow them",
            )
        if status == 400 and self.plain_http and any(s in reply.body for s in _TLS_PORT_SAYS):
            marked = "insecure: true" if not is_loopback(self.api_host) else None
            return self.error(
                RegistryError,
                f"{what}: {self.api_host} serves HTTPS, and publisher spoke plain HTTP to it "
                f"(HTTP 400){suffix}",
                status=status,
                hint=f"remove `{marked}` from its registry's entry in matrix.yaml"
                if marked
                else "publisher speaks plain HTTP to a registry on loopback unless matrix.yaml "
                "marks it `insecure: false`: mark it so (a tunnel or a port-forward to a "
                "registry that serves TLS), then rerun",
            )
        return self.error(
            RegistryError,
            f"{what}: the registry refused the request (HTTP {status}){suffix}",
            status=status,
            hint=f"the registry refuses the request as it is (HTTP {status}), so a rerun alone "
            "sends it again unchanged: check the reason it gave and the repository name",
        )

    def _token_refused(
        self, what: str, scopes: Sequence[str], server: str, said: str | None, suffix: str
    ) -> AuthError:
        """A 401 to the token the registry's own token ``server`` just granted (for the
        credentials: it took them), ``said`` the error its challenge names:
        ``invalid_token`` (the registry could not verify the token), or none. Neither the
        password nor (for ``invalid_token``) the repository is the cause."""
        whose = (
            f"the credentials of {self.credentials.username!r} ({self.credentials.source})"
            if self.credentials
            else "an anonymous request"
        )
        took = (
            "the token server accepted the credentials and granted a token, so the password "
            "is not the cause"
            if self.credentials
            else "the token server granted a token to the anonymous request"
        )
        if said == "invalid_token":
            hint = (
                f"{took}; the registry could not verify that token (invalid_token): likely "
                f"{TOKEN_UNVERIFIED}; {TOKEN_UNVERIFIED_FIX}, then rerun"
            )
        else:
            access = "push" if any(s.endswith(",push") for s in scopes) else "pull"
            hint = (
                f"{took}; the registry did not take that token (its log says why): a proxy or "
                f"load balancer in front of {self.host} may drop the Authorization header, "
                f"the account may lack {access} access to this repository, or the registry "
                f"cannot verify the token, as when {TOKEN_UNVERIFIED}"
            )
        return self.error(
            AuthError,
            f"{what}: the registry refused the token its own token server ({server}) issued "
            f"for {whose} (HTTP 401{' invalid_token' if said == 'invalid_token' else ''})"
            f"{suffix}",
            status=401,
            hint=hint,
        )

    def _scope_refused(self, reply: Reply, what: str, scopes: Sequence[str]) -> AuthError:
        assert self.credentials is not None
        push = any(s.endswith(",push") for s in scopes)
        needed = " ".join(dict.fromkeys(scopes)) or "?"
        who = f"{self.credentials.username!r} ({self.credentials.source})"
        access = "push" if push else "pull"
        if push and self.api_host == "ghcr.io":
            needed += ", which a GHCR token gets with write:packages"
        elif push and self.api_host == DOCKER_HUB_API:
            needed += ", which a Docker Hub access token gets with Read & Write access"
        return self.error(
            AuthError,
            f"{what}: the credentials of {who} were accepted, but the account has no {access} "
            f"access to this repository (HTTP 401 insufficient_scope; token scope needed: "
            f"{needed})",
            status=reply.status,
            hint=f"give the account {access} access to this repository, or use one that has it: "
            f"{self._where()}",
        )

    # ------------------------------------------------------------- retrying

    def retrying(
        self, what: str, operation: Callable[[int], T], *, attempts: int | None = None
    ) -> T:
        """Run ``operation(attempt)`` under the retry policy (attempt starts at 1), with at
        most ``attempts`` tries when given (a side lookup: 1, its failure classified).

        An interrupted run wakes from a retry's wait at once and makes no new attempt.
        While another operation retries after a connection failure, no answer in time or
        a 5xx, a retry after the same waits for that one; a registry it judged down
        (``Trouble``) fails the operation that waited with that one's error, and a later one
        that fails so after its first attempt, with its own.
        """
        policy = self.retry
        if attempts is not None:
            policy = dataclasses.replace(policy, attempts=min(attempts, policy.attempts))
        start = policy.clock()
        this = object()  # this operation, to ``trouble``
        #: the event to wait for instead of the backoff: the probe's end
        behind: list[threading.Event | None] = [None]

        def sleep(wait: float) -> None:
            ended = behind[0]
            if ended is None:
                stop.wait(wait)
            else:  # for the probe's retries, however long they take (its own bound them)
                stop.wait(policy.total_timeout + self.timeout, ended)

        if policy.sleep is time.sleep:
            policy = dataclasses.replace(policy, sleep=sleep)

        def attempt(number: int) -> T:
            stop.check(what)
            down = self.trouble.down
            if down is not None and behind[0] is not None:  # the probe it waited for judged it
                raise down.error(self.host)
            behind[0] = None
            try:
                done = operation(number)
            except Transient as exc:
                window = quota_spent_for(exc)
                if window is not None and window > policy.total_timeout:
                    # No wait within the retry time can bring the quota back: stop now.
                    ended = retry_loop.RetriesExhausted(exc, number, policy.clock() - start, None)
                    raise (exc.origin or self)._gave_up(exc, what, ended) from None
                if judges_down(exc):
                    if self.trouble.down is not None:  # still down: no more retries against it
                        ended = retry_loop.RetriesExhausted(
                            exc, number, policy.clock() - start, None
                        )
                        raise self._gave_up(exc, what, ended, judged=True) from None
                    behind[0] = self.trouble.failed(this)
                raise
            self.trouble.answered()
            return done

        def before_sleep(exc: Transient, attempt: int, wait: float) -> None:
            if self.output is not None:
                failed = exc.origin or self
                then = (
                    f"retrying in {seconds(wait, 1)} (attempt {attempt + 1} of {policy.attempts})"
                    if behind[0] is None
                    else "another request to it is being retried: waiting for its end"
                )
                self.output.progress(f"{failed.label}: {what}: {exc.reason}{exc.at}; {then}")

        down: Outage | None = None
        try:
            return retry_loop.run(
                policy,
                attempt,
                retryable=Transient,
                retry_after=lambda exc: exc.retry_after,
                before_sleep=before_sleep,
            )
        except retry_loop.RetriesExhausted as ended:
            assert isinstance(ended.last, Transient)
            # the registry that failed: this one, or the one a transfer reads from
            error = (ended.last.origin or self)._gave_up(ended.last, what, ended)
            spent = attempts is None and ended.attempts > 1  # the policy's retries, all
            if spent and judges_down(ended.last) and isinstance(error, UnreachableError):
                down = Outage(error.message, error.status, error.hint)
            raise error from None
        finally:
            self.trouble.ended(this, down)

    def _gave_up(
        self,
        exc: Transient,
        what: str,
        ended: retry_loop.RetriesExhausted,
        *,
        judged: bool = False,
    ) -> PublisherError:
        """The error ``what`` ends with when its retries are over, ``exc`` its last failure
        (``judged``: it was not retried, the registry judged down by an earlier operation)."""
        tries = network.tries(
            ended.attempts, ended.elapsed, ended.next_wait, self.retry.total_timeout
        )
        if judged:
            tries += " (not retried: an earlier request found the registry down)"
        if exc.status == 429:
            remaining = self._header(exc.headers, "ratelimit-remaining")
            limit = self._header(exc.headers, "ratelimit-limit")
            reset = self._header(exc.headers, "ratelimit-reset")
            quota = ""
            if remaining is not None:
                quota = f"; ratelimit-remaining: {remaining}"
                if limit is not None:
                    quota += f" (ratelimit-limit: {limit})"
            if reset is not None:
                quota += f"; ratelimit-reset: {reset}"
            # when the limit resets, as the registry said it (Retry-After, else ratelimit-reset)
            when = ""
            if exc.retry_after is not None:
                quota += f"; it asked to wait {seconds(exc.retry_after, 0)}"
            if exc.retry_after is not None and exc.retry_after >= 1:
                when = f" (it asked to wait {seconds(exc.retry_after, 0)})"
            elif reset is not None:
                when = f" (ratelimit-reset: {reset})"
            window = quota_spent_for(exc)
            if window is not None and window > self.retry.total_timeout:
                quota += (
                    f"; the quota is used up for a window of {seconds(window)} and no Retry-After "
                    "was given, so no wait within the retry time limit can help"
                )
            # An anonymous limit resets too: waiting works with or without credentials.
            hint = f"wait for the limit to reset{when}, or " + (
                "use an account with a higher limit"
                if self.credentials
                else "authenticate to get a higher limit: " + self.auth_hint(push=False)
            )
            return self.error(
                RateLimitedError,
                f"{what}: the registry rate-limited us (HTTP 429) {tries}{quota}",
                status=429,
                hint=hint,
            )
        if exc.kind == "truncated":
            return self.error(
                InvalidResponseError,
                f"{what}: {exc.reason} {tries}",
                hint="the answer was cut short every time: check the network path (a proxy or "
                "VPN that cuts long transfers), then rerun; blobs the registry already holds "
                "are not sent again",
            )
        if exc.kind == "stalled":
            return self.error(
                UnreachableError,
                f"{what}: {exc.reason}; gave up {tries}",
                hint="the registry, or the network path to it, moves the data far too slowly "
                "(a blob has no time limit, but not this slow): check for a proxy or VPN "
                "that throttles long transfers, then rerun; blobs already placed are not "
                "sent again",
            )
        if exc.kind == "refused mid-upload":
            if exc.refused is not None and self.credentials is not None:
                request, said, suffix, scopes = exc.refused
                return self._refused_after(what, request, scopes, said, suffix, tries=tries)
            return self.error(
                AuthError,
                f"{what}: the registry refused a later request of the upload (HTTP 401) at "
                f"each attempt, after it took the request that started it; gave up {tries}",
                status=401,
                hint="the registry takes the request that starts an upload but not a later "
                "one: a proxy or load balancer in front of the registry may drop the "
                "Authorization header; then rerun (blobs already stored are not sent again)",
            )
        at = exc.at
        if exc.kind == "connection":
            host = exc.host or self.api_host
            proxied = not is_loopback(urlsplit(f"//{host}").hostname or "")
            return self.error(
                UnreachableError,
                f"{what}: {exc.reason}{at} {tries}",
                hint=exc.hint
                or f"check that {host} is reachable (network, DNS, proxy, port)"
                + ("; HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply to it" if proxied else ""),
            )
        if exc.kind == "no answer":  # reached: the network, DNS and port are not the cause
            return self.error(
                UnreachableError,
                f"{what}: {exc.reason}{at} {tries}",
                hint=network.no_answer_hint(exc.host or self.api_host),
            )
        return self.error(
            UnreachableError,
            f"{what}: {exc.failing} kept failing ({exc.reason}) {tries}",
            status=exc.status,
            hint=f"{exc.host or exc.failing} is having trouble; retry later, or allow more "
            "time with PUBLISHER_RETRY_ATTEMPTS and PUBLISHER_RETRY_TOTAL_TIMEOUT",
        )

    def _header(self, headers: Mapping[str, str], name: str) -> str | None:
        """A header a registry sent, to be shown: cleaned, its control characters escaped
        (``shown_field``), then cut short."""
        value = _header(headers, name)
        return None if value is None else clip(shown_field(self.clean(value)), 64)

    def request(
        self, method: str, url: str, *, what: str, attempts: int | None = None, **exchange: Any
    ) -> Reply:
        """``send`` under the retry policy (at most ``attempts`` tries when given)."""
        return self.retrying(
            what, lambda _attempt: self.send(method, url, what=what, **exchange), attempts=attempts
        )

    # ------------------------------------------------------------ locations

    def resolve_location(self, reply: Reply, what: str) -> str:
        """The absolute URL of a ``Location`` header; relative ones are resolved here.

        The query string is kept. A missing Location, or one on another host or
        scheme, is rejected.
        """
        location = reply.header("Location")
        if not location:
            raise self.error(
                InvalidResponseError,
                f"{what}: the registry sent no Location header",
                hint=MALFORMED_HINT,
            )
        try:
            absolute = urljoin(self.base + "/", location.strip())
            theirs = urlsplit(absolute)
        except ValueError:  # an unclosed IPv6 bracket, a port out of range
            raise self.error(
                InvalidResponseError,
                f"{what}: the registry sent a malformed Location "
                f"({clip(self.clean(location), 100)!r})",
                hint=MALFORMED_HINT,
            ) from None
        ours = urlsplit(self.base)
        if theirs.netloc.lower() == ours.netloc.lower() and theirs.scheme != ours.scheme:
            raise self.error(
                InvalidResponseError,
                f"{what}: the registry sent a Location with another scheme "
                f"({theirs.scheme}://{theirs.netloc}, where publisher speaks {ours.scheme}); "
                "refusing to send data there",
                hint=_other_scheme_hint("sends data", "Location headers"),
            )
        if not same_origin(absolute, self.base):
            raise self.error(
                InvalidResponseError,
                f"{what}: the registry sent a Location on another host "
                f"({theirs.scheme}://{theirs.netloc}); refusing to send data there",
                hint="publisher sends data only to the registry it was given: check for a proxy "
                "that rewrites Location headers, or name the registry by the host it sends",
            )
        return absolute

    def next_link(self, reply: Reply, repo_path: str) -> str | None:
        """The next page of ``repo_path``'s tag list, which ``reply`` (a page of it) names
        in its ``Link`` header, as an absolute URL; None on the last page. One on another
        host or scheme is refused: the registry's credentials go only to the registry."""
        what = f"the tag list of {repo_path}"
        link = reply.header("Link") or ""
        try:
            found = next_page(link, reply.url or self.base + "/", self.base)
        except ValueError:  # an unclosed IPv6 bracket
            raise self.error(
                InvalidResponseError,
                f"{what}: its next-page Link is malformed ({clip(self.clean(link), 100)!r})",
                hint=MALFORMED_HINT,
            ) from None
        if not isinstance(found, LinkElsewhere):
            return found
        scheme = found.other == "scheme"
        host = shown_field(self.clean(found.host))
        raise self.error(
            InvalidResponseError,
            f"{what}: its next-page Link names another {found.other} "
            f"({found.scheme}://{host}"
            + (f", where publisher speaks {urlsplit(self.base).scheme}" if scheme else "")
            + "); publisher does not follow it with the registry's credentials",
            hint=_other_scheme_hint("reads the tag list", "the Link header")
            if scheme
            else f"publisher reads the tag list only from the registry it was given "
            f"({self.host}): name the registry by the host its Link names ({host}), or fix "
            "the proxy in front of it that rewrites the Link header",
        )


def _other_scheme_hint(does: str, header: str) -> str:
    """What to do about a URL the registry names in ``header`` on its own host with another
    scheme than publisher speaks to it (``does``: what publisher does only that way)."""
    return (
        f"publisher {does} only the way it reaches the registry: check for a proxy in front "
        f"of it that rewrites {header} (a TLS terminator that names https while the registry "
        "is reached over http, or the other way), and that the registry's insecure setting "
        "in matrix.yaml matches how it is served"
    )


def _oversize_hint(what: str) -> str:
    """What to do about an answer far larger than what was asked for can be."""
    return (
        f"publisher bounds what it reads, and no {what.split(':')[0]} answer is that large: "
        "check that the host is a container registry, not a web server or a proxy in front of one"
    )


def _renew_after(answer: Mapping[str, Any]) -> float:
    """Seconds after it was asked for when a token is renewed: well before the
    ``expires_in`` of the token answer runs out (60 s when it says none, as the token
    specification has it)."""
    try:
        lifetime = float(answer.get("expires_in") or TOKEN_LIFETIME)
    except (TypeError, ValueError, OverflowError):  # Overflow: a whole number of 400 digits
        lifetime = TOKEN_LIFETIME
    if not math.isfinite(lifetime) or lifetime <= 0:
        lifetime = TOKEN_LIFETIME
    return max(lifetime - TOKEN_MARGIN, lifetime / 2)


def _scope_key(scopes: Sequence[str]) -> str:
    return " ".join(sorted(set(scopes)))


def _covered(scope: str, wanted: Sequence[str]) -> bool:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    for have in wanted:
        hk, _, hrest = have.partition(":")
        hname, _, hactions = hrest.rpartition(":")
        if hk == kind and hname == name and set(actions.split(",")) <= set(hactions.split(",")):
            return True
    return False


def quota_spent_for(exc: Transient) -> float | None:
    """The window, in seconds, of a 429 saying the quota is used up and naming no wait.

    Docker Hub's pull limit answers 429 with ``ratelimit-remaining: 0;w=21600`` (no
    pulls left in a six-hour window) and no ``Retry-After``: retrying within seconds
    cannot succeed. None for any other failure, for a 429 with ``Retry-After`` (the
    wait is honoured) and for one whose remaining count or window is absent or unclear.
    """
    if exc.status != 429 or exc.retry_after is not None:
        return None
    remaining = _header(exc.headers, "ratelimit-remaining")
    if remaining is None:
        return None
    count, _, params = remaining.partition(";")
    if count.strip() != "0":
        return None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        value = value.strip()
        if name.strip().lower() == "w" and value.isascii() and value.isdigit():
            return float(value[:12])
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _connection_cause(exc: BaseException, timeout: float) -> str:
    """Why a connection failed, in a few words."""
    return (
        network.timeout_cause(exc, timeout)
        or network.connection_cause(exc, "the registry")
        or _short(exc)
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 wraps the interesting part deep inside; keep the last clause.
    match = re.search(r"\(Caused by (.*)\)\s*$", text)
    if match:
        text = match.group(1)
    return scrub(text)


#: What a body read may raise: every urllib3 error (a broken connection, a read timeout,
#: an undecodable body, and a TLS record that fails its check: urllib3's SSLError, which
#: is no OSError).
_READ_ERRORS = (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError)


def _cut_off(exc: BaseException) -> Transient:
    """A body read that failed, as the Transient it is."""
    incomplete = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", str(exc))
    if incomplete:
        return Transient(
            f"the body is shorter than its Content-Length ({incomplete.group(1)} bytes read, "
            f"{incomplete.group(2)} more expected)",
            kind="truncated",
        )
    return Transient(f"the response body was cut off: {network.broken_off(exc)}", kind="truncated")


def _iter_raw(response: requests.Response, size: int = CHUNK) -> Iterator[bytes]:
    try:
        for chunk in response.raw.stream(size, decode_content=True):
            stop.check("a download")
            yield chunk
    except _READ_ERRORS as exc:
        raise _cut_off(exc) from None


def file_chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in ``STREAM_CHUNK`` pieces; the file is open while they are read."""
    with open(path, "rb") as handle:
        while chunk := handle.read(STREAM_CHUNK):
            yield chunk


def _pieces(data: bytes) -> Iterator[bytes]:
    """``data`` in ``STREAM_CHUNK`` pieces."""
    for at in range(0, len(data), STREAM_CHUNK):
        yield data[at : at + STREAM_CHUNK]


def _read_prefix(response: requests.Response, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes of an error body, and whether there was more (or the
    body broke off): then the bytes read end inside what the registry sent; never fails."""
    buffer = bytearray()
    try:
        for chunk in response.raw.stream(CHUNK, decode_content=True):
            buffer += chunk
            if len(buffer) > cap:
                break
    except Exception:  # an error body that breaks off is still an error body
        return bytes(buffer[:cap]), True
    return bytes(buffer[:cap]), len(buffer) > cap
