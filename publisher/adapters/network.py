"""What every server publisher talks to over HTTP (a registry, the GitHub API) shares:
the proxy each request goes through, chosen by one rule (resolve's ``proxy_for``), and
how a request that got no answer failed, in the same words: a connection never made, or
one the server accepted and then left unanswered, which is no fault of the network, DNS
or port.

Also, for both: which CAs their certificates are checked against (REQUESTS_CA_BUNDLE,
else SSL_CERT_FILE, which buildah and skopeo read too), and what a failed TLS handshake
means (an issuer not trusted, an expired certificate, one for another name, a server
that speaks plain HTTP), with the tip for each.
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..core.errors import UsageError, clip, shown_field, shown_path
from ..core.sizes import seconds
from ..resolve import Proxy, proxy_for, proxy_wants_credentials

#: What to do about a proxy setting publisher cannot use.
PROXY_URL_HINT = (
    "publisher goes through an http:// proxy only (no SOCKS or https:// proxy; ALL_PROXY is "
    "not read): write it http://host:port, with user:password@ before the host for a proxy "
    "that wants credentials, each percent-encoded (%40 for @, %3A for :, %2F for /, %3F "
    "for ?, %23 for #); or unset it"
)


def proxy_of(url: str, env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy a request to ``url`` goes through (None: direct), by resolve's rule for
    every request publisher makes: HTTPS_PROXY or HTTP_PROXY by the URL's scheme, never
    for loopback, NO_PROXY as resolve, buildah and skopeo read it (``HOST:PORT`` entries
    too), ALL_PROXY not read. A proxy URL it cannot use is a usage error naming its
    variable. ``env``: the environment (``os.environ`` when None)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # no port: the request fails on its own, naming the URL
        port = 0
    try:
        return proxy_for(
            parts.scheme, parts.hostname or "", port, os.environ if env is None else env
        )
    except ValueError as exc:
        raise UsageError(str(exc), hint=PROXY_URL_HINT) from None


def _proxies(url: str) -> dict[str, str]:
    """requests' ``proxies`` for a request to ``url``: the one ``proxy_of`` picks, for
    either scheme; none (direct) when it picks none."""
    proxy = proxy_of(url)
    return {} if proxy is None else {"http": proxy.url(), "https": proxy.url()}


class Session(requests.Session):
    """A session whose every request, each redirect it follows too, goes through the
    proxy ``proxy_of`` picks for its URL, or direct, never one requests would add from
    the environment itself; the environment's other settings (``REQUESTS_CA_BUNDLE``)
    still as requests reads them."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        merged = super().merge_environment_settings(url, {}, stream, verify, cert)
        merged["proxies"] = _proxies(url)
        return merged

    def rebuild_proxies(self, prepared_request: Any, proxies: Any) -> Any:
        # requests' own adds the environment's (ALL_PROXY's too) to a redirect sent direct;
        # a proxy's credentials go in the proxy's own headers (the adapter's), not these
        prepared_request.headers.pop("Proxy-Authorization", None)
        return _proxies(prepared_request.url or "")


#: Plain words for the usual causes of a failed connection, found in the text of what
#: requests raises (a nest of urllib3 reprs that says them at the far end); ``{who}``:
#: the server it was to.
_CONNECTION_CAUSES = (
    ("Connection refused", "connection refused (nothing listens on that port)"),
    ("Name or service not known", "the host name does not resolve (DNS)"),
    ("Temporary failure in name resolution", "the host name does not resolve (DNS)"),
    ("No address associated with hostname", "the host name does not resolve (DNS)"),
    ("nodename nor servname", "the host name does not resolve (DNS)"),
    ("Connection reset by peer", "the connection was reset"),
    ("RemoteDisconnected", "{who} closed the connection without answering"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "the network is unreachable"),
)
#: "[Errno 111] Connection refused" inside requests' and urllib3's reprs.
SYSTEM_ERROR = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
#: A proxy's answer to CONNECT other than 200, as urllib3 says it.
_TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: (\d{3})(?: ([^'\"\\)]*))?")


def connection_cause(exc: BaseException, who: str) -> str | None:
    """Why a connection to ``who`` (``the registry``) failed, in plain words, when it is
    one of the usual causes; None otherwise."""
    text = str(exc)
    for marker, cause in _CONNECTION_CAUSES:
        if marker in text:
            return cause.format(who=who)
    return None


#: What http.client and urllib3 say of an answer that is not valid HTTP, and the same in words.
_MALFORMED_WORDS = (
    (re.compile(r"Content-Length contained multiple unmatching values \((.*)\)"),
     "its Content-Length headers disagree ({})"),
    (re.compile(r"got more than (\d+) bytes when reading (.*)"), "a {1} is over {0} bytes"),
    (re.compile(r"got more than (\d+) headers"), "it has over {} header lines"),
)  # fmt: skip


def malformed_answer(exc: BaseException) -> str | None:
    """What makes the answer under ``exc`` (a request's failure, as requests raises it) no
    valid HTTP, in words: a status line that is not HTTP, a line too long, too many
    headers, Content-Length headers that disagree; None when ``exc`` is no such answer
    (a connection closed without one among them: no answer at all)."""
    for item in _under(exc):
        if isinstance(item, http.client.RemoteDisconnected | http.client.IncompleteRead):
            return None
        if isinstance(item, http.client.BadStatusLine):
            line = str(item.args[0] if item.args else "").strip()
            return f"its status line is not HTTP ('{shown_field(clip(line, 60))}')"
        if isinstance(item, http.client.UnknownProtocol):
            return f"its HTTP version is not 1.0 or 1.1 ('{shown_field(clip(str(item), 30))}')"
        if isinstance(item, http.client.UnknownTransferEncoding):
            return "its Transfer-Encoding is not one HTTP/1.1 knows"
        if isinstance(item, urllib3.exceptions.InvalidHeader | http.client.HTTPException):
            text = str(item)
            for pattern, words in _MALFORMED_WORDS:
                found = pattern.search(text)
                if found is not None:
                    return words.format(*found.groups())
            if isinstance(item, urllib3.exceptions.InvalidHeader | http.client.LineTooLong):
                return f"a malformed header ({shown_field(clip(text, 100))})"
    return None


#: What http.client's chunked reading makes of a chunk-size line: int(line, 16) failing.
_CHUNK_SIZE_LINE = re.compile(r"invalid literal for int\(\) with base 16: b'(.*)'")


def broken_off(exc: BaseException) -> str:
    """Why the body of an answer stopped coming part-way (``exc``: what its read raised),
    in words, never the reprs urllib3 nests them in: the connection reset, a chunk of the
    body malformed, the rest not in time, a TLS failure, the connection closed early."""
    closed = False
    for item in _under(exc):
        if isinstance(item, urllib3.exceptions.InvalidChunkLength) or (
            isinstance(item, http.client.LineTooLong) and "chunk size" in str(item)
        ):
            return "a chunk of the body was malformed"
        size_line = _CHUNK_SIZE_LINE.match(str(item)) if isinstance(item, ValueError) else None
        if size_line is not None and size_line.group(1):  # empty: the connection closed
            return "a chunk of the body was malformed"
        closed = closed or isinstance(item, http.client.IncompleteRead)
    cause = connection_cause(exc, "the server")
    if cause is not None:
        return cause
    if timed_out(exc) is not None:
        return "the rest of it did not come in time"
    text = str(exc)
    tls = _SSL_WORDS.findall(text)
    if tls:
        return f"the TLS connection failed ({tls[-1].strip()})"
    if closed:
        return "the connection was closed before the body's end"
    said = SYSTEM_ERROR.findall(text)
    return said[-1].strip() if said else "the connection broke off"


@dataclass(frozen=True)
class ProxyFailure:
    """How a request's proxy failed it: what happened, what to do, and whether another
    attempt may go otherwise."""

    message: str
    hint: str
    transient: bool


def tunnel_refused(exc: BaseException) -> int | None:
    """The status a proxy answered ``CONNECT`` with, when ``exc`` (requests' or urllib3's
    ``ProxyError``) is that refusal; None otherwise."""
    refused = _TUNNEL_REFUSED.search(str(exc))
    return int(refused.group(1)) if refused is not None else None


def proxy_wants(proxy: Proxy) -> ProxyFailure:
    """``proxy`` answered 407: it wants other credentials than it was given (none, or
    those its variable holds); no use retrying."""
    said, todo = proxy_wants_credentials(proxy)
    return ProxyFailure(said, f"{todo} (each percent-encoded), then rerun", transient=False)


def proxy_failure(exc: BaseException, proxy: Proxy, target: str, timeout: float) -> ProxyFailure:
    """What ``exc`` (requests' ``ProxyError``) says of ``proxy``, asked for ``target``
    (``host:port``): it wants other credentials (407: no use retrying), refuses the tunnel
    (another status), or cannot be reached (refused, DNS, no connection in time)."""
    refused = _TUNNEL_REFUSED.search(str(exc))
    status = int(refused.group(1)) if refused is not None else None
    if status == 407:
        return proxy_wants(proxy)
    host = target.rsplit(":", 1)[0] if target.count(":") == 1 else target
    direct = f"or name {host} in NO_PROXY to reach it directly"
    if refused is not None and status is not None:
        reason = " ".join(filter(None, (f"HTTP {status}", (refused.group(2) or "").strip())))
        return ProxyFailure(
            f"{proxy.named} refused to connect to {target} ({reason})",
            f"the proxy will not open a connection to {target}: ask its operator, {direct}",
            transient=status >= 500,
        )
    said = SYSTEM_ERROR.findall(str(exc))
    why = (
        timeout_cause(exc, timeout)
        or connection_cause(exc, "the proxy")
        or (said[-1].strip() if said else "the connection failed")
    )
    return ProxyFailure(
        f"cannot reach {proxy.named}: {why}",
        f"check that the proxy {proxy.variable} names ({proxy}) runs and this machine can "
        f"reach it; or correct or unset {proxy.variable}, {direct}",
        transient=True,
    )


def timed_out(exc: BaseException) -> str | None:
    """Which time limit a request's failure ``exc`` is: "connect" (the connection not made
    in time), "read" (made, and no answer in time) or None (no time limit at all).

    Takes requests' exceptions, urllib3's (as a retry sees them) and requests' wrapping
    of the ``MaxRetryError`` that ended urllib3's own retries. (urllib3 makes a refused
    connection a kind of connect timeout: it is none here.)
    """
    wrapped = exc.args[0] if exc.args else None
    if isinstance(wrapped, urllib3.exceptions.MaxRetryError) and wrapped.reason is not None:
        exc = wrapped.reason
    if isinstance(exc, urllib3.exceptions.ProxyError):  # the connection to the proxy
        exc = exc.original_error
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.ReadTimeoutError):
        return "read"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
        exc, urllib3.exceptions.NewConnectionError
    ):
        return "connect"
    return None


def answer_late(exc: BaseException) -> bool:
    """Whether ``exc`` is a request that reached the server and waited for its answer in
    vain (a read timeout), not one that could not connect (in time, or at all)."""
    return timed_out(exc) == "read"


def timeout_cause(exc: BaseException, timeout: float) -> str | None:
    """A request's time limit ``timeout`` that ran out, in words: the connection not made,
    or made and no answer; None when ``exc`` is no timeout."""
    kind = timed_out(exc)
    if kind is None:
        return None
    return f"no {'connection' if kind == 'connect' else 'answer'} within {timeout:g} s"


def no_answer_hint(host: str) -> str:
    """The tip for a server that took the connection and did not answer."""
    return (
        f"{host} accepted the connection but did not answer in time: check that it (or a "
        "proxy in front of it) is not overloaded or hung; PUBLISHER_RETRY_ATTEMPTS and "
        "PUBLISHER_RETRY_TOTAL_TIMEOUT give it more tries"
    )


def tries(count: int, elapsed: float, next_wait: float | None, total_timeout: float) -> str:
    """How the retries of a request ended: "after 3 attempts in 1.2 s", and, when the
    total time ended them, the wait that would have passed it."""
    said = f"after {count} attempt{'' if count == 1 else 's'} in {seconds(elapsed, 1)}"
    if next_wait is not None:
        said += (
            f" (the next wait, {seconds(next_wait, 1)}, would pass the retry time limit of "
            f"{seconds(total_timeout)}, PUBLISHER_RETRY_TOTAL_TIMEOUT)"
        )
    return said


# ------------------------------------------------------------------ trusted CAs

#: The variables requests reads for the CAs to trust in place of its own roots (certifi's),
#: the first one set first.
REQUESTS_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
#: The variables OpenSSL and Go read (buildah, skopeo and resolve among the tools): a
#: bundle of certificates, and a directory of them (named by their hash, `openssl rehash`).
SYSTEM_CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def trusted_cas(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable that names the CAs publisher's own HTTPS client (registries, the GitHub
    API) trusts, and its value: REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE (requests reads
    them itself), else SSL_CERT_FILE when it is a file, else SSL_CERT_DIR when it is a
    directory, as buildah and skopeo read those; None: requests' own roots (certifi's).
    Each replaces the roots the client would trust without it. An empty one is unset."""
    for name in REQUESTS_CA_VARIABLES:
        if env.get(name):
            return name, env[name]
    file, directory = (env.get(name) for name in SYSTEM_CA_VARIABLES)
    if file and os.path.isfile(file):
        return "SSL_CERT_FILE", file
    if directory and os.path.isdir(directory):
        return "SSL_CERT_DIR", directory
    return None


def verify_setting(env: Mapping[str, str]) -> bool | str:
    """What publisher's HTTPS client verifies a server's certificate with (requests'
    ``verify``): True, where requests reads REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE itself
    (and at each request, so they keep their precedence) or takes its own roots; else the
    file or directory SSL_CERT_FILE or SSL_CERT_DIR names (``trusted_cas``)."""
    found = trusted_cas(env)
    if found is None or found[0] in REQUESTS_CA_VARIABLES:
        return True
    return found[1]


#: Where Go takes the system's roots from when SSL_CERT_FILE is unset: the first that exists.
_SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
    "/etc/ssl/cert.pem",
)


def tools_trust_others(env: Mapping[str, str]) -> tuple[str, str, str] | None:
    """When publisher's client takes its CAs from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE and
    buildah and skopeo (Go) from another file, SSL_CERT_FILE's or else the system's bundle:
    that variable, its value, and the tools' file in words; else None."""
    found = trusted_cas(env)
    if found is None or found[0] not in REQUESTS_CA_VARIABLES:
        return None
    name, value = found
    theirs = env.get("SSL_CERT_FILE") or next(
        (path for path in _SYSTEM_BUNDLES if os.path.exists(path)), None
    )
    if theirs is not None and _same_file(value, theirs):
        return None
    if env.get("SSL_CERT_FILE"):
        return name, value, f"SSL_CERT_FILE ({shown_path(theirs or '')})"
    return name, value, "the system's roots" + (f" ({shown_path(theirs)})" if theirs else "")


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them is missing
        return os.path.realpath(one) == os.path.realpath(other)


# ------------------------------------------------------------------ TLS failures

#: OpenSSL's verify results (``X509_V_ERR_*``, the same in every version) by what they mean.
_UNTRUSTED_ISSUER = frozenset({2, 18, 19, 20, 21})  # no trusted CA found for the chain
_EXPIRED, _NOT_YET_VALID = 10, 9
_WRONG_NAME = frozenset({62, 64})  # hostname, IP address mismatch
#: The same in OpenSSL's words, for a failure known only by its text.
_VERIFY_WORDS = (
    (re.compile(r"local issuer|issuer certificate|self[- ]signed|verify the first"), 20),
    (re.compile(r"has expired"), 10),
    (re.compile(r"not yet valid"), 9),
    (re.compile(r"(?i)hostname mismatch"), 62),
    (re.compile(r"(?i)IP address mismatch"), 64),
)
_VERIFY_FAILED = re.compile(r"certificate verify failed: (.*?)\.? \(_ssl\.c:\d+\)")
#: A server that answers TLS with plain HTTP (OpenSSL 3.0 and 3.2 on).
_NO_TLS = ("WRONG_VERSION_NUMBER", "record layer failure")
#: OpenSSL's words for another failure, inside the reprs requests wraps them in.
_SSL_WORDS = re.compile(r"\[SSL(?:: [A-Z0-9_]+)?\] ([^()'\"]+?) \(_ssl\.c:\d+\)")


@dataclass(frozen=True)
class TlsFailure:
    """Why a TLS connection to a server failed, in words, and the tip for it."""

    reason: str
    hint: str
    #: The server answered in plain HTTP (the caller may know how to speak that to it).
    plain_http: bool = False


def tls_failure(
    exc: BaseException,
    host: str,
    *,
    server: str,
    named_in: str,
    env: Mapping[str, str] | None = None,
) -> TlsFailure:
    """What ``exc`` says went wrong in the TLS handshake with ``host`` (``server``: "the
    registry", "the GitHub API"), whose name comes from ``named_in`` (the repository in
    matrix.yaml, GITHUB_API_URL), and the tip for it. ``env``: where the CA variables are
    read (the process's environment by default, as requests reads it)."""
    env = os.environ if env is None else env
    verify = _verify_error(exc)
    text = str(exc)
    found = _VERIFY_FAILED.search(text) if verify is None else None
    if found is not None:
        words = found.group(1)
        verify = next((c for pattern, c in _VERIFY_WORDS if pattern.search(words)), None), words
    if verify is not None:
        code, words = verify
        reason = f"the certificate is not trusted ({words})"
        if code in _UNTRUSTED_ISSUER:
            return TlsFailure(reason, untrusted_hint(host, env))
        if code == _EXPIRED:
            return TlsFailure(
                reason,
                f"the certificate {host} presents has expired: it must be renewed on the "
                "server (or on the proxy in front of it that ends TLS); if it has not, check "
                "this machine's clock (`date -u`)",
            )
        if code == _NOT_YET_VALID:
            return TlsFailure(
                reason,
                f"the certificate {host} presents is not valid yet: check this machine's "
                "clock (`date -u`)",
            )
        if code in _WRONG_NAME:
            return TlsFailure(
                reason,
                f"the certificate {host} presents is not for that name: the host in "
                f"{named_in} must be one the certificate names (its subject alternative "
                f"names: `openssl s_client -connect {host} </dev/null | openssl x509 -noout "
                "-ext subjectAltName`), or the certificate must name it",
            )
        return TlsFailure(
            reason, f"check the certificate {host} presents (and the CAs in its chain)"
        )
    if any(marker in text for marker in _NO_TLS):
        return TlsFailure(
            f"{server} does not speak TLS on that port", f"check the port of {host}", True
        )
    said = _SSL_WORDS.findall(text)
    return TlsFailure(
        f"the TLS handshake failed ({said[-1].strip()})" if said else "the TLS handshake failed",
        f"check the TLS setup of {host} (or of a proxy in front of it that ends TLS)",
    )


def untrusted_hint(host: str, env: Mapping[str, str]) -> str:
    """The tip for a certificate of ``host`` whose issuer is not trusted: the CA variable
    publisher's client read, or the one to set."""
    whose = (
        f"the CA that issued the certificate of {host} (a private CA, or that of a proxy "
        "that intercepts TLS)"
    )
    found = trusted_cas(env)
    if found is None:
        ignored = next(
            (f"{name} ({shown_path(env[name])}) names no {kind}, so it is not read; "
             for name, kind in zip(SYSTEM_CA_VARIABLES, ("file", "directory"), strict=True)
             if env.get(name)),
            "",
        )  # fmt: skip
        return (
            f"{ignored}trust {whose}: set SSL_CERT_FILE to a bundle of the system's roots and "
            "that CA (`cat /etc/ssl/certs/ca-certificates.crt ca.pem > bundle.pem`), which "
            "publisher and the tools it runs (buildah, skopeo) read; the docker daemon takes "
            "the CA in /etc/docker/certs.d/HOST:PORT/ca.crt (README, Private certificate authorities)"
        )
    name, value = found
    if name == "SSL_CERT_DIR":
        return (
            f"add {whose} to the directory SSL_CERT_DIR names ({shown_path(value)}), under "
            "the name of its hash (`openssl rehash DIR`)"
        )
    tools = (
        "; buildah and skopeo do not read it: set SSL_CERT_FILE to the same bundle"
        if name in REQUESTS_CA_VARIABLES and not env.get("SSL_CERT_FILE")
        else ""
    )
    return (
        f"add {whose} to the bundle {name} names ({shown_path(value)}): publisher's client "
        f"trusts the CAs in it in place of its own roots, so keep the public roots in it "
        f"too{tools}"
    )


def _verify_error(exc: BaseException) -> tuple[int | None, str] | None:
    """The certificate check that failed under ``exc`` (requests and urllib3 wrap it in
    layers): OpenSSL's verify result and its words; None when none did."""
    for item in _under(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            words = str(item.verify_message or "").rstrip(".")
            return item.verify_code, words or str(item.reason or "")
    return None


def _under(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception under it, each once: requests and urllib3 wrap the one
    that says what happened in layers (arguments, ``reason``, causes, contexts)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
