"""Retry policy and the transport's retry loop, with a fake clock (pure: no sockets)."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable

import pytest

from publisher.adapters.registry import Credentials, RetryPolicy
from publisher.adapters.registry.transport import (
    Reply,
    Transient,
    Transport,
    _renew_after,
    describe_error_body,
    scrub,
)
from publisher.core.errors import (
    AuthError,
    InvalidResponseError,
    RateLimitedError,
    UnreachableError,
    UsageError,
)
from publisher.core.retry import RetriesExhausted, is_retryable_status, parse_retry_after, run
from tests.conftest import ROOT
from tests.support.clock import FakeClock


def transport(retry: RetryPolicy, **kwargs: object) -> Transport:
    return Transport("registry.example", retry=retry, **kwargs)  # type: ignore[arg-type]


def failing(errors: list[Exception], result: str = "ok") -> tuple[list[int], object]:
    attempts: list[int] = []

    def operation(n: int) -> str:
        attempts.append(n)
        if errors:
            raise errors.pop(0)
        return result

    return attempts, operation


def test_backoff_increases_and_is_capped() -> None:
    p = RetryPolicy(initial_delay=0.5, max_delay=4.0, jitter=lambda a, b: b)
    delays = [p.backoff(n) for n in range(1, 7)]
    assert delays == [0.75, 1.5, 3.0, 4.0, 4.0, 4.0]
    q = RetryPolicy(initial_delay=0.5, max_delay=100.0)
    for n in range(1, 6):
        assert q.backoff(n + 1) > q.backoff(n)  # jitter never breaks the order


def test_retry_after_wins_over_a_shorter_backoff() -> None:
    p = RetryPolicy(initial_delay=0.1, jitter=lambda a, b: 0.0)
    assert p.delay(1, 2.0) == 2.0
    assert p.delay(1, None) == 0.1


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("\u00b2") is None  # a digit to str.isdigit(), not to float()
    assert parse_retry_after("9" * 5000) == 10**9  # finite, past any total timeout
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 +" + "9" * 20) is None  # overflows


def test_a_retry_after_date_is_read_against_the_registry_s_own_clock() -> None:
    """RELIABILITY 2 under clock skew: a date in ``Retry-After`` is a moment on the
    registry's clock, which its ``Date`` header gives; this machine's clock an hour off
    either way must not make 10 s an hour's wait, or none."""
    said = "Wed, 21 Oct 2015 07:28:10 GMT"
    theirs = "Wed, 21 Oct 2015 07:28:00 GMT"  # 1445412480
    for ours in (1445412480.0 - 3600, 1445412480.0, 1445412480.0 + 3600):
        assert parse_retry_after(said, now=ours, date=theirs) == 10.0
    # without a Date, or with one that does not parse, this machine's clock it is
    assert parse_retry_after(said, now=1445412480.0 - 3600) == 3610.0
    assert parse_retry_after(said, now=1445412480.0, date="yesterday") == 10.0
    assert (
        parse_retry_after(said, now=1445412480.0, date="Sun, 06 Nov 1994 08:49:37 +" + "9" * 20)
        == 10.0
    )
    assert parse_retry_after("7", now=0.0, date=theirs) == 7.0  # seconds need no clock


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_retryable_statuses(status: int) -> None:
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413])
def test_non_retryable_statuses(status: int) -> None:
    assert not is_retryable_status(status)


def test_policy_from_env() -> None:
    p = RetryPolicy.from_env(
        {"PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_TOTAL_TIMEOUT": "5"}
    )
    assert (p.attempts, p.total_timeout, p.initial_delay) == (2, 5.0, 0.5)
    with pytest.raises(UsageError, match="PUBLISHER_RETRY_ATTEMPTS"):
        RetryPolicy.from_env({"PUBLISHER_RETRY_ATTEMPTS": "many"})
    with pytest.raises(UsageError, match="out of range"):
        RetryPolicy.from_env({"PUBLISHER_RETRY_ATTEMPTS": "0"})


@pytest.mark.parametrize(
    ("bounds", "said"),
    [
        ({"attempts": 0}, "attempts must be at least 1"),
        ({"initial_delay": float("nan")}, "finite"),
        ({"max_delay": -1.0}, "total_timeout"),
        ({"total_timeout": 0.0}, "total_timeout"),
    ],
)
def test_a_policy_given_impossible_bounds_is_a_usage_error(
    bounds: dict[str, float], said: str
) -> None:
    """A library caller's policy out of bounds: publisher's own error (exit 2) naming the
    bound and the value given, as ``from_env`` refuses the variables, never ValueError."""
    with pytest.raises(UsageError, match=said) as caught:
        RetryPolicy(**bounds)  # type: ignore[arg-type]
    assert caught.value.exit_code == 2
    assert repr(next(iter(bounds.values()))) in caught.value.message
    assert caught.value.hint


def test_the_defaults_are_those_the_readme_states() -> None:
    """README: "bounded by `PUBLISHER_RETRY_ATTEMPTS` (default 5), ..._INITIAL_DELAY (0.5 s),
    ..._MAX_DELAY (20 s) and ..._TOTAL_TIMEOUT (120 s)": with none of them set, a request
    that keeps failing is tried that many times, and the policy holds those bounds."""
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    said = dict(
        re.findall(r"`PUBLISHER_RETRY_([A-Z_]+)` \((?:default )?([0-9.]+)(?: s)?\)", readme)
    )
    assert set(said) == {"ATTEMPTS", "INITIAL_DELAY", "MAX_DELAY", "TOTAL_TIMEOUT"}, said
    clock = FakeClock()
    policy = dataclasses.replace(RetryPolicy.from_env({}), sleep=clock.sleep, clock=clock)
    assert (policy.initial_delay, policy.max_delay, policy.total_timeout) == (
        float(said["INITIAL_DELAY"]),
        float(said["MAX_DELAY"]),
        float(said["TOTAL_TIMEOUT"]),
    )
    attempts, op = failing([Transient("HTTP 503", status=503) for _ in range(100)])
    with pytest.raises(UnreachableError, match="kept failing"):
        transport(policy).retrying("GET manifest", op)  # type: ignore[arg-type]
    assert len(attempts) == int(said["ATTEMPTS"])


def test_transient_failures_then_success_with_increasing_delays() -> None:
    clock = FakeClock()
    t = transport(clock.policy())
    attempts, op = failing([Transient("HTTP 503", status=503), Transient("HTTP 503", status=503)])
    assert t.retrying("upload", op) == "ok"  # type: ignore[arg-type]
    assert attempts == [1, 2, 3]
    assert len(clock.sleeps) == 2 and clock.sleeps[0] < clock.sleeps[1]


def test_gives_up_after_the_configured_attempts() -> None:
    clock = FakeClock()
    t = transport(clock.policy(attempts=4))
    attempts, op = failing([Transient("HTTP 503", status=503) for _ in range(10)])
    with pytest.raises(UnreachableError, match="kept failing") as info:
        t.retrying("PUT manifest", op)  # type: ignore[arg-type]
    assert attempts == [1, 2, 3, 4]
    assert info.value.exit_code != 0
    assert "after 4 attempts in" in str(info.value) and "retry time limit" not in str(info.value)


def test_gives_up_when_the_total_time_would_be_exceeded() -> None:
    clock = FakeClock()
    t = transport(clock.policy(attempts=100, initial_delay=1.0, max_delay=8.0, total_timeout=20.0))
    attempts, op = failing([Transient("HTTP 502", status=502) for _ in range(100)])
    with pytest.raises(UnreachableError):
        t.retrying("GET", op)  # type: ignore[arg-type]
    assert sum(clock.sleeps) <= 20.0
    assert len(attempts) < 100


def test_retry_after_beyond_the_total_time_gives_up_at_once() -> None:
    clock = FakeClock()
    t = transport(clock.policy(total_timeout=30.0))
    headers = {
        "Retry-After": "3600",
        "ratelimit-remaining": "0;w=21600",
        "ratelimit-limit": "100;w=21600",
    }
    attempts, op = failing([Transient("HTTP 429", status=429, retry_after=3600.0, headers=headers)])
    with pytest.raises(RateLimitedError) as info:
        t.retrying("GET manifest", op)  # type: ignore[arg-type]
    assert attempts == [1] and clock.sleeps == []
    message = str(info.value)
    assert "rate-limited" in message and "ratelimit-remaining: 0;w=21600" in message
    # One request was made, and the message says so and why it stopped there.
    assert "after 1 attempt in 0.0 s" in message and "5 attempt" not in message
    assert "the next wait, 3600.0 s, would pass the retry time limit of 30 s" in message
    assert "authenticate" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("remaining", "retry_after", "attempts"),
    [
        ("0;w=21600", None, [1]),  # Docker Hub's pull limit: six hours, no wait named
        ("0;w=21600", 2.0, [1, 2]),  # a Retry-After is honoured, whatever the quota says
        ("0;w=10", None, [1, 2]),  # a window the retries can outwait
        ("0", None, [1, 2]),  # no window: unclear, retried as before
        ("5;w=21600", None, [1, 2]),  # pulls left: a short burst limit, retried
    ],
)
def test_a_used_up_quota_without_retry_after_stops_at_once(
    remaining: str, retry_after: float | None, attempts: list[int]
) -> None:
    clock = FakeClock()
    t = transport(clock.policy(total_timeout=120.0))
    headers = {"ratelimit-remaining": remaining, "ratelimit-limit": "100;w=21600"}
    made, op = failing(
        [Transient("HTTP 429", status=429, retry_after=retry_after, headers=headers)]
    )
    if attempts == [1]:
        with pytest.raises(RateLimitedError) as info:
            t.retrying("GET manifest", op)  # type: ignore[arg-type]
        assert clock.sleeps == []
        message = str(info.value)
        assert "after 1 attempt" in message
        assert "ratelimit-remaining: 0;w=21600 (ratelimit-limit: 100;w=21600)" in message
        assert "used up for a window of 21600 s" in message
        assert "authenticate" in (info.value.hint or "")
    else:
        assert t.retrying("GET manifest", op) == "ok"  # type: ignore[arg-type]
    assert made == attempts


def test_rate_limit_hint_names_the_env_vars() -> None:
    clock = FakeClock()
    t = Transport(
        "docker.io",
        retry=clock.policy(attempts=2),
        username_env="DOCKERHUB_USERNAME",
        password_env="DOCKERHUB_TOKEN",
    )
    _, op = failing([Transient("HTTP 429", status=429) for _ in range(3)])
    with pytest.raises(RateLimitedError) as info:
        t.retrying("GET", op)  # type: ignore[arg-type]
    assert "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("headers", "retry_after", "when"),
    [
        ({}, None, ""),
        ({"Retry-After": "120"}, 120.0, " (it asked to wait 120 s)"),
        ({"ratelimit-reset": "300"}, None, " (ratelimit-reset: 300)"),
    ],
)
@pytest.mark.parametrize("credentials", [None, Credentials("me", "x")])
def test_a_rate_limit_tip_says_to_wait_for_the_reset_with_or_without_credentials(
    headers: dict[str, str],
    retry_after: float | None,
    when: str,
    credentials: Credentials | None,
) -> None:
    """An anonymous limit resets as an account's does: the tip says to wait (and when, if
    the registry said), then how to get a higher limit."""
    clock = FakeClock()
    t = transport(clock.policy(attempts=2, total_timeout=1.0), credentials=credentials)
    _, op = failing(
        [Transient("HTTP 429", status=429, retry_after=retry_after, headers=headers)] * 3
    )
    with pytest.raises(RateLimitedError) as info:
        t.retrying("GET", op)  # type: ignore[arg-type]
    hint = info.value.hint or ""
    assert hint.startswith(f"wait for the limit to reset{when}, or "), hint
    if credentials is None:
        assert "authenticate to get a higher limit: " in hint
        assert "docker login registry.example" in hint, hint
    else:
        assert hint.endswith("use an account with a higher limit"), hint
    if "ratelimit-reset" in headers:
        assert "; ratelimit-reset: 300" in str(info.value)


def test_connection_errors_become_unreachable_and_truncation_invalid() -> None:
    clock = FakeClock()
    t = transport(clock.policy(attempts=2))
    _, op = failing([Transient("cut off", kind="truncated") for _ in range(3)])
    with pytest.raises(InvalidResponseError, match="cut off"):
        t.retrying("GET", op)  # type: ignore[arg-type]
    assert t.trouble.down is None  # an answer cut short: the registry answered
    _, op = failing([Transient("connection refused", kind="connection") for _ in range(3)])
    with pytest.raises(UnreachableError, match="connection refused") as first:
        t.retrying("GET", op)  # type: ignore[arg-type]
    # Judged down: the next operation fails after one attempt, with its own error ...
    attempts, op = failing([Transient("HTTP 502", status=502)] * 2)
    with pytest.raises(UnreachableError) as later:
        t.retrying("PUT", op)  # type: ignore[arg-type]
    assert attempts == [1] and later.value.message == (
        "registry.example: PUT: the registry kept failing (HTTP 502) after 1 attempt in 0.0 s "
        "(not retried: an earlier request found the registry down)"
    )
    assert (later.value.hint or "").startswith("the registry is having trouble")
    assert later.value.registry == "registry.example" and first.value.message.startswith(
        "registry.example: GET: connection refused"
    )
    # ... one whose failure says nothing of it (a 429) is retried, never given another's
    # error ...
    assert t.trouble.down is not None
    attempts, op = failing([Transient("HTTP 429", status=429)])
    assert t.retrying("GET", op) == "ok" and attempts == [1, 2]  # type: ignore[arg-type]
    # ... and once one gets an answer the registry is up again, and retried as before.
    attempts, op = failing([])
    assert t.retrying("GET", op) == "ok" and t.trouble.down is None  # type: ignore[arg-type]
    attempts, op = failing([Transient("HTTP 502", status=502)])
    assert t.retrying("PUT", op) == "ok" and attempts == [1, 2]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failure", "attempts", "down"),
    [
        (Transient("HTTP 503", status=503), 2, True),
        (Transient("connection refused", kind="connection"), 2, True),
        (Transient("HTTP 503", status=503), 1, False),  # no retry: nothing to spare
        (Transient("HTTP 429", status=429), 2, False),
        (Transient("no answer", kind="no answer"), 2, True),  # a registry that hangs
        (Transient("stalled", kind="stalled"), 2, False),
        (Transient("HTTP 503", status=503, host="token.example"), 2, False),
    ],
    ids=["503", "refused", "one-attempt", "429", "no-answer", "stalled", "token-server"],
)
def test_what_judges_a_registry_down(failure: Transient, attempts: int, down: bool) -> None:
    clock = FakeClock()
    t = transport(clock.policy(attempts=attempts))
    _, op = failing([failure] * attempts)
    with pytest.raises((UnreachableError, RateLimitedError)):
        t.retrying("GET", op)  # type: ignore[arg-type]
    assert (t.trouble.down is not None) is down


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    said: list[object] = []

    def run_it() -> None:
        try:
            said.append(fn())
        except Exception as exc:  # handed to the test
            said.append(exc)

    thread = threading.Thread(target=run_it)
    thread.start()
    return thread, said


@pytest.mark.parametrize(
    "failure",
    [Transient("HTTP 503", status=503), Transient("no answer within 30 s", kind="no answer")],
    ids=["503", "no-answer"],
)
@pytest.mark.parametrize("recovers", [False, True], ids=["stays-down", "comes-back"])
def test_a_request_failing_while_another_retries_waits_for_it(
    recovers: bool, failure: Transient
) -> None:
    """The probe (the first to fail) retries; another that fails meanwhile waits for its
    end instead of retrying: then fails with its error, unsent (the registry judged
    down), or retries at once when the probe got an answer (a slow registry's, too)."""
    t = transport(RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02))
    probe_tries: list[int] = []

    def probe(n: int) -> str:
        probe_tries.append(n)
        if n == 2:  # the other has failed and waits for this one (a few seconds at most)
            given_up = time.monotonic() + 5
            while not t.trouble._waiting and time.monotonic() < given_up:
                time.sleep(0.005)
        if n == 3 and recovers:
            return "probe"
        raise failure

    first, probed = _in_thread(lambda: t.retrying("PUT a", probe))
    while not probe_tries:
        time.sleep(0.005)
    other_tries, other = failing([failure], result="other")
    second, waited = _in_thread(lambda: t.retrying("PUT b", other))  # type: ignore[arg-type]
    first.join(10)
    second.join(10)
    assert probe_tries == [1, 2, 3]
    if recovers:
        assert probed == ["probe"] and waited == ["other"] and other_tries == [1, 2]
        assert t.trouble.down is None
    else:
        (error,) = probed
        assert isinstance(error, UnreachableError) and "after 3 attempts" in error.message
        assert other_tries == [1] and isinstance(waited[0], UnreachableError)
        assert waited[0].message == error.message


def test_non_transient_errors_are_not_retried() -> None:
    clock = FakeClock()
    t = transport(clock.policy())
    attempts, op = failing([AuthError("denied")])
    with pytest.raises(AuthError):
        t.retrying("PUT", op)  # type: ignore[arg-type]
    assert attempts == [1] and clock.sleeps == []


def test_auth_hints_name_scopes_and_env_vars() -> None:
    ghcr = Transport("ghcr.io", username_env="GHCR_USERNAME", password_env="GHCR_TOKEN")
    assert "write:packages" in ghcr.auth_hint(push=True)
    assert "read:packages" in ghcr.auth_hint(push=False)
    assert "GHCR_USERNAME and GHCR_TOKEN" in ghcr.auth_hint(push=True)
    hub = Transport("docker.io", credentials=Credentials("me", "x"))
    assert hub.api_host == "registry-1.docker.io"
    assert hub.base == "https://registry-1.docker.io"
    assert "Read & Write" in hub.auth_hint(push=True)
    other = Transport("127.0.0.1:5000", plain_http=True)
    assert "docker login 127.0.0.1:5000" in other.auth_hint(push=False)


def test_error_bodies_are_summarized_and_scrubbed() -> None:
    body = b'{"errors":[{"code":"DENIED","message":"header Authorization: Bearer abc.def.ghi was refused"}]}'
    text = describe_error_body(body)
    assert text.startswith("DENIED:")
    assert "abc.def.ghi" not in text
    assert scrub("Basic dXNlcjpwYXNz") == "Basic ***"
    assert "dXNlcjpwYXNz" not in scrub('{"Authorization": "Basic dXNlcjpwYXNz"}')
    assert len(describe_error_body(b"x" * 100000)) <= 300


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (  # a registry echoing the header, then the words and body it answers with
            "you sent Authorization: Basic dXNlcjpwYXNz (that is user:***); "
            'original: {"errors":[{"code":"UNAUTHORIZED"}]}',
            "you sent Authorization: Basic *** (that is user:***); "
            'original: {"errors":[{"code":"UNAUTHORIZED"}]}',
        ),
        ("Authorization: Bearer abc.def.ghi was refused", "Authorization: Bearer *** was refused"),
        ("authorization=Token t0k3n-value, then more", "authorization=Token ***, then more"),
        (
            'Authorization: Digest username="u", response="6629fae4", realm="r" was wrong',
            "Authorization: Digest *** was wrong",
        ),
        (
            '{"Authorization": "Basic dXNlcjpwYXNz", "n": 1}',
            '{"Authorization": "Basic ***", "n": 1}',
        ),
        ('{"Authorization":["Bearer abc.def"],"n":1}', '{"Authorization":["Bearer ***"],"n":1}'),
        # no scheme publisher knows: the word and the one after it may both be the secret
        ("Authorization: rawsecret42 (sent)", "Authorization: *** (sent)"),
        ("Authorization: Custom s3cr3t; then", "Authorization: ***; then"),
    ],
)
def test_an_echoed_authorization_header_loses_its_credentials_alone(text: str, shown: str) -> None:
    assert scrub(text) == shown


def test_a_token_or_password_field_of_an_error_body_is_shown_without_its_value() -> None:
    """A token server's error that echoes the token it issued (any ``...token`` field, an
    escaped quote in it, the body cut short inside it) or a password shows the fields,
    never their values; the error's own words stay."""
    body = (
        b'{"error":"bad scope","token":"TOK-1","access_token" : "TOK-\\"2","refreshToken":'
        b'"TOK-3","id_token":"TOK-4","client_secret":"TOK-5","password":"TOK-6",'
        b'"token_type":"Bearer","expires_in":300,"refresh_token":"TOK-7-cut-sh'
    )
    text = describe_error_body(body)
    assert "TOK" not in text, text
    assert text.startswith('{"error":"bad scope","token":"***","access_token" : "***",'), text
    assert '"token_type":"Bearer"' in text and '"expires_in":300' in text
    assert scrub('{"token":""}') == '{"token":""}'  # nothing to hide


def test_an_unknown_error_says_the_cause_the_registry_gave_in_its_detail() -> None:
    """distribution answers a full disk with 500 UNKNOWN "unknown error", the cause in
    ``detail``; a detail that is not text (an echo of headers) is never shown."""
    full = (
        b'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":"write /tmp/r/'
        b'storage/data: no space left on device"}]}'
    )
    assert describe_error_body(full) == (
        "UNKNOWN: no space left on device (write /tmp/r/storage/data)"
    )
    driver = (
        b'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{"DriverName":'
        b'"filesystem","Enclosed":{"Op":"write","Path":"/tmp/r/startedat","Err":28}}}]}'
    )
    assert describe_error_body(driver) == (
        "UNKNOWN: No space left on device (filesystem: write /tmp/r/startedat)"
    )
    deep = (
        b'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{"DriverName":'
        b'"filesystem","Enclosed":{"Op":"write","Path":"/tmp/' + b"d/" * 200 + b'x","Err":28}}}]}'
    )
    assert describe_error_body(deep).startswith("UNKNOWN: No space left on device (filesystem:")
    echoed = b'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{"a":"b"}}]}'
    assert describe_error_body(echoed) == "UNKNOWN: unknown error"
    named = b'{"errors":[{"code":"DENIED","message":"denied","detail":"Bearer abc.def.ghi"}]}'
    assert describe_error_body(named) == "DENIED: denied"


def test_an_unknown_error_whose_detail_is_odd_says_unknown_error() -> None:
    """A storage driver's detail with an errno no system has (past a C int: os.strerror
    would raise) or a driver name that is not text is left out: the message, never an
    internal error or a Python repr."""
    for err, name in ((10**20, "filesystem"), (-1, "filesystem"), (28, {"x": 1})):
        detail = {"DriverName": name, "Enclosed": {"Op": "write", "Path": "/r/x", "Err": err}}
        body = json.dumps(
            {"errors": [{"code": "UNKNOWN", "message": "unknown error", "detail": detail}]}
        ).encode()
        text = describe_error_body(body)
        assert "{" not in text, text
        assert text in (
            "UNKNOWN: unknown error",
            "UNKNOWN: No space left on device (storage: write /r/x)",
        ), text


def test_an_error_body_quoted_cut_short_ends_with_the_mark_of_a_cut() -> None:
    """A registry's message is quoted up to 200 characters, the whole summary up to 300:
    text cut there ends with ``…`` (as every value a message cuts short), within the
    limit; text that fits is quoted whole, unmarked."""
    words = " ".join(["headers"] * 60)  # 479 characters
    one = json.dumps({"errors": [{"code": "DENIED", "message": words}]}).encode()
    assert describe_error_body(one) == f"DENIED: {words[:199]}…"
    many = json.dumps({"errors": [{"code": "DENIED", "message": words[:150]}] * 3}).encode()
    summary = describe_error_body(many)
    assert len(summary) == 300 and summary.endswith(" hea…"), summary
    assert describe_error_body(words.encode()) == f"{words[:199]}…"
    assert describe_error_body(b'{"errors":[{"code":"DENIED","message":"no"}]}') == "DENIED: no"


def test_a_body_read_cut_short_has_the_start_of_a_secret_there_redacted() -> None:
    """An error body longer than publisher reads (or broken off) ends inside what the
    registry sent: a secret there is not whole, and its start is redacted as one (the
    body said cut with ``…``), by the transport's own secrets with no Output; a character
    the cut split in two is left out, never a U+FFFD between the start and the mark."""
    password = "canary-pässwörd-9e1"
    client = Transport(
        "registry.example", credentials=Credentials("user", password), plain_http=True
    )
    raw = password.encode()
    split = raw.index("ö".encode()) + 1  # the cut inside "ö"
    for kept in (len(raw) - 1, split, 6):
        body = b"<p>you sent " + raw[:kept]
        said = describe_error_body(body, client.clean, cut=True)
        assert said == "you sent ***…", (kept, said)
    assert describe_error_body(b"you sent pass", client.clean) == "you sent pass"


def test_an_error_body_is_summarized_on_one_line() -> None:
    """A registry's message with line breaks stays one line: in Actions, a line of its own
    starting with "::" would be obeyed as a workflow command (a mask, an annotation)."""
    body = b'{"errors":[{"code":"DENIED","message":"no\\n::add-mask::x\\r\\n::error::y"}]}'
    assert describe_error_body(body) == "DENIED: no ::add-mask::x ::error::y"


def test_location_resolution() -> None:
    t = Transport("127.0.0.1:5000", plain_http=True)
    relative = Reply(202, {"Location": "/v2/a/blobs/uploads/u1?_state=abc%3D"})
    assert (
        t.resolve_location(relative, "upload")
        == "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=abc%3D"
    )
    absolute = Reply(202, {"Location": "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?x=1"})
    assert t.resolve_location(absolute, "upload").endswith("?x=1")
    with pytest.raises(InvalidResponseError, match="no Location"):
        t.resolve_location(Reply(202, {}), "upload")
    with pytest.raises(InvalidResponseError, match="another host"):
        t.resolve_location(Reply(202, {"Location": "http://evil.example/v2/x"}), "upload")
    with pytest.raises(InvalidResponseError, match="another scheme"):
        t.resolve_location(Reply(202, {"Location": "https://127.0.0.1:5000/v2/x"}), "upload")
    link = Reply(200, {"Link": '</v2/a/tags/list?last=b&n=2>; rel="next"'})
    assert t.next_link(link, "a") == "http://127.0.0.1:5000/v2/a/tags/list?last=b&n=2"
    assert t.next_link(Reply(200, {}), "a") is None


@pytest.mark.parametrize(
    ("link", "said", "tip"),
    [
        (
            "http://localhost:5000/v2/a/tags/list?last=b",
            "names another host (http://localhost:5000)",
            "name the registry by the host its Link names (localhost:5000), or fix the proxy",
        ),
        (
            "https://127.0.0.1:5000/v2/a/tags/list?last=b",
            "names another scheme (https://127.0.0.1:5000, where publisher speaks http)",
            "a proxy in front of it that rewrites the Link header (a TLS terminator",
        ),
    ],
)
def test_a_tag_list_link_elsewhere_is_refused_as_the_link_it_is(
    link: str, said: str, tip: str
) -> None:
    """A tag list's next page on another host or scheme is not followed: the error names
    the tag list's Link, not a Location, and no data is said to be sent."""
    t = Transport("127.0.0.1:5000", plain_http=True)
    with pytest.raises(InvalidResponseError) as info:
        t.next_link(Reply(200, {"Link": f'<{link}>; rel="next"'}), "a")
    message, hint = info.value.message, info.value.hint or ""
    assert f"the tag list of a: its next-page Link {said}; publisher does not follow it" in message
    assert "Location" not in message + hint and "send data" not in message, message
    assert tip in hint, hint


def test_the_loop_counts_attempts_and_says_why_it_ended() -> None:
    clock = FakeClock()
    p = clock.policy(attempts=3, total_timeout=100.0)
    slept: list[tuple[int, float]] = []
    attempts, op = failing([ValueError("a"), ValueError("b"), ValueError("c")])
    with pytest.raises(RetriesExhausted) as info:
        run(
            p,
            op,  # type: ignore[arg-type]
            retryable=ValueError,
            retry_after=lambda exc: None,
            before_sleep=lambda exc, n, wait: slept.append((n, wait)),
        )
    assert attempts == [1, 2, 3] and [n for n, _ in slept] == [1, 2]
    assert [w for _, w in slept] == clock.sleeps
    assert info.value.attempts == 3 and info.value.next_wait is None
    assert str(info.value.last) == "c"


def test_the_loop_stops_before_a_wait_past_the_total_time() -> None:
    clock = FakeClock()
    p = clock.policy(attempts=5, total_timeout=30.0)
    attempts, op = failing([KeyError("x")] * 5)
    with pytest.raises(RetriesExhausted) as info:
        run(
            p,
            op,  # type: ignore[arg-type]
            retryable=KeyError,
            retry_after=lambda exc: 60.0,
            before_sleep=lambda *a: None,
        )
    assert attempts == [1] and clock.sleeps == []
    assert info.value.attempts == 1 and info.value.next_wait == 60.0


def test_the_loop_lets_other_errors_through_and_returns_results() -> None:
    clock = FakeClock()
    p = clock.policy()
    attempts, op = failing([KeyError("x"), AuthError("denied")])
    with pytest.raises(AuthError):
        run(p, op, retryable=KeyError, retry_after=lambda e: None, before_sleep=lambda *a: None)  # type: ignore[arg-type]
    assert attempts == [1, 2]
    attempts, op = failing([KeyError("x")], result="done")
    assert (
        run(p, op, retryable=KeyError, retry_after=lambda e: None, before_sleep=lambda *a: None)  # type: ignore[arg-type]
        == "done"
    )


def test_the_retry_after_wait_is_honoured() -> None:
    clock = FakeClock()
    t = transport(clock.policy(initial_delay=0.01, max_delay=0.05))
    attempts, op = failing([Transient("HTTP 429", status=429, retry_after=2.0)])
    assert t.retrying("GET", op) == "ok"  # type: ignore[arg-type]
    assert attempts == [1, 2] and clock.sleeps == [2.0]


def test_the_session_refuses_every_cookie() -> None:
    import http.cookiejar
    import urllib.request

    t = Transport("registry.example")
    request = urllib.request.Request("https://registry.example/v2/")
    cookie = http.cookiejar.Cookie(
        0, "csrf", "1", None, False, "registry.example", True, False, "/", True,
        False, None, False, None, None, {},
    )  # fmt: skip
    assert not t.session.cookies.get_policy().set_ok(cookie, request)
    assert t.session.headers["Accept-Encoding"] == "identity"


def test_a_malformed_challenge_is_a_classified_error() -> None:
    t = Transport("registry.example", credentials=Credentials("me", "secret-pass"))
    reply = Reply(401, {"WWW-Authenticate": 'Bearer realm="https://auth.example/token'})
    with pytest.raises(InvalidResponseError, match="malformed WWW-Authenticate"):
        t._authenticate(reply, ["repository:a:pull"])
    reply = Reply(401, {"WWW-Authenticate": "Digest"})
    with pytest.raises(AuthError, match="without a usable WWW-Authenticate") as info:
        t._authenticate(reply, ["repository:a:pull"])
    # no challenge publisher can answer: the credentials were not what it refused
    assert "check the username and password" not in (info.value.hint or "")


@pytest.mark.parametrize(
    ("answer", "renew"),
    [
        ({"token": "t", "expires_in": 300}, 270.0),  # Docker Hub: renewed 30 s early
        ({"token": "t", "expires_in": 2}, 1.0),  # a short one: half-way
        ({"token": "t"}, 30.0),  # none: the token specification's 60 s
        ({"token": "t", "expires_in": "600"}, 570.0),
        ({"token": "t", "expires_in": 0}, 30.0),
        ({"token": "t", "expires_in": -5}, 30.0),
        ({"token": "t", "expires_in": "soon"}, 30.0),
        ({"token": "t", "expires_in": float("nan")}, 30.0),
        ({"token": "t", "expires_in": [1]}, 30.0),
    ],
)
def test_a_token_is_renewed_before_its_expires_in_runs_out(
    answer: dict[str, object], renew: float
) -> None:
    assert _renew_after(answer) == renew
