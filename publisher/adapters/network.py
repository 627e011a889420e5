"""How a request that got no answer failed, in the same words for every server publisher
talks to (a registry, the GitHub API): a connection never made, or one the server
accepted and then left unanswered, which is no fault of the network, DNS or port.

Also, for both: which CAs their certificates are checked against (REQUESTS_CA_BUNDLE,
else SSL_CERT_FILE, which buildah and skopeo read too).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import requests
import urllib3.exceptions

from ..core.sizes import seconds


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
