"""RELIABILITY.md 21 (canary secret) and 22 (credentials on disk) for the registry layer."""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient, credentials_for, credentials_for_host
from publisher.adapters.registry import credentials as registry_credentials
from publisher.adapters.registry.transport import MAX_ERROR_BODY
from publisher.adapters.runner import Runner
from publisher.core.config import Registry
from publisher.core.errors import AuthError, PublisherError, RegistryError
from publisher.core.reference import Reference, parse
from tests.conftest import require_tool
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, write_layout

pytestmark = pytest.mark.integration

CANARY_USER = "canary-user"
CANARY = "canary-7d1f0b9e4c2a-secret"
CANARY_B64 = base64.b64encode(f"{CANARY_USER}:{CANARY}".encode()).decode()


def _htpasswd_registry(
    fresh_registry: Callable[..., LocalRegistry], tmp_path: Path, password: str
) -> LocalRegistry:
    htpasswd = require_tool("htpasswd")
    line = subprocess.run(
        [htpasswd, "-niB", CANARY_USER], input=password, capture_output=True, text=True, check=True
    ).stdout.strip()
    path = tmp_path / "htpasswd"
    path.write_text(line + "\n")
    return fresh_registry(
        extra_config={"auth": {"htpasswd": {"realm": "canary", "path": str(path)}}}
    )


@pytest.fixture
def canary_registry(fresh_registry: Callable[..., LocalRegistry], tmp_path: Path) -> LocalRegistry:
    return _htpasswd_registry(fresh_registry, tmp_path, CANARY)


def leaks(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [s for s in (CANARY, CANARY_B64, *extra) if s in text]


def registry_entry(host: str) -> Registry:
    return Registry(
        "canary", parse(f"{host}/canary/php-fpm"), True, "CANARY_USERNAME", "CANARY_PASSWORD"
    )


ENV = {"CANARY_USERNAME": CANARY_USER, "CANARY_PASSWORD": CANARY}


def test_21_echoed_authorization_never_reaches_output(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = proxy_for(canary_registry)
    out, err = io.StringIO(), io.StringIO()
    output = Output({}, stream=out, err_stream=err, debug=True)
    caplog.set_level(logging.DEBUG)
    client = RegistryClient.for_registry(registry_entry(proxy.host), ENV, output)
    image = make_image()
    proxy.add(Fault("echo", method="PUT", path="/manifests/", status=400, times=None))
    with pytest.raises(RegistryError) as info, tempfile.TemporaryDirectory() as tmp:
        client.push_layout(write_layout(image, Path(tmp)), "canary/php-fpm")
    # The registry really did echo the header back...
    echoed = [s for s in proxy.log if s.fault == "echo"]
    assert echoed and echoed[0].headers.get("Authorization") == f"Basic {CANARY_B64}"
    # ...and it appears nowhere we write.
    output.error(info.value)
    assert "DENIED" in err.getvalue()
    for text in (
        out.getvalue(),
        err.getvalue(),
        str(info.value),
        info.value.hint or "",
        caplog.text,
    ):
        assert leaks(text) == [], text


def test_21_credentials_echoed_in_other_words_are_removed_from_errors(
    canary_registry: LocalRegistry, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """A registry that quotes the password and the Basic value in its own words (not as
    an Authorization header): a client used as a library, with no Output to redact,
    still raises an error without them."""
    from publisher.adapters.registry import Credentials

    proxy = proxy_for(canary_registry)
    said = f"user {CANARY_USER} with password {CANARY} (token {CANARY_B64}) may not push"
    body = json.dumps({"errors": [{"code": "DENIED", "message": said}]}).encode()
    proxy.add(Fault("status", method="PUT", path="/manifests/", status=403, body=body, times=None))
    client = RegistryClient(
        proxy.host, plain_http=True, credentials=Credentials(CANARY_USER, CANARY)
    )
    with pytest.raises(PublisherError) as info, tempfile.TemporaryDirectory() as tmp:
        client.push_layout(write_layout(make_image(), Path(tmp)), "canary/php-fpm")
    assert proxy.count("PUT", "manifest") >= 1
    assert f"DENIED: user {CANARY_USER} with password *** (token ***) may not push" in str(
        info.value
    )
    assert leaks(str(info.value) + repr(info.value.args) + (info.value.hint or "")) == []


#: The start of the Basic value that is the username's alone (``canary-user:``): no secret.
_B64_USER = base64.b64encode(f"{CANARY_USER}:".encode()).decode()


def _page_cut_inside(secret: str, kept: int) -> bytes:
    """A proxy's HTML error page of more than the ``MAX_ERROR_BODY`` publisher reads, its
    tags and blanks taking the bytes before ``secret``, so that the read stops after
    ``kept`` characters of it and what the page says (its words) is short."""
    head = b"<html><body><h1>Error</h1><p>debug: the password you sent was </p>"
    pad = MAX_ERROR_BODY - kept - len(head) - len(b"<p>")
    tail = b" (it was refused)</p></body></html>" + b" " * 4096
    return head + b"<i></i>" * (pad // 7) + b" " * (pad % 7) + b"<p>" + secret.encode() + tail


@pytest.mark.parametrize(
    ("secret", "kept"),
    [(CANARY, len(CANARY) - 1), (CANARY, 10), (CANARY_B64, len(CANARY_B64) - 8)],
    ids=["password-all-but-one", "password-10", "basic-value"],
)
@pytest.mark.parametrize("shown", ["library", "output"])
def test_21_a_secret_an_error_body_read_cut_in_two_shows_none_of_its_start(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    secret: str,
    kept: int,
    shown: str,
) -> None:
    """publisher reads an error body's first 64 KiB alone: a secret the body holds across
    that cut is not whole in what was read, and its start is redacted all the same, the
    body said to be cut (``…``), by the client used as a library and through an Output."""
    from publisher.adapters.registry import Credentials

    proxy = proxy_for(canary_registry)
    page = _page_cut_inside(secret, kept)
    assert page[MAX_ERROR_BODY - kept : MAX_ERROR_BODY] == secret[:kept].encode()
    headers = {"Content-Type": "text/html"}
    proxy.add(
        Fault("status", method="PUT", path="/manifests/", status=400, headers=headers, body=page)
    )
    err = io.StringIO()
    output = Output({}, stream=io.StringIO(), err_stream=err, debug=True)
    client = RegistryClient(
        proxy.host,
        plain_http=True,
        credentials=Credentials(CANARY_USER, CANARY),
        output=output if shown == "output" else None,
    )
    with pytest.raises(RegistryError) as info, tempfile.TemporaryDirectory() as tmp:
        client.push_layout(write_layout(make_image(), Path(tmp)), "canary/php-fpm")
    output.error(info.value)
    said = str(info.value) + (info.value.hint or "") + err.getvalue()
    # the page's words, the secret's start redacted, then the mark of the cut
    assert str(info.value).endswith("the password you sent was ***…") or (
        secret == CANARY_B64 and str(info.value).endswith(f"sent was {_B64_USER}***…")
    ), str(info.value)
    assert secret[:kept] not in said and CANARY[:10] not in said, said


#: A password with characters servers write as escapes: ' + & (and a plain part).
ESCAPED_CANARY = "Canary'Pw+7f&3a9e-x"


def _go_html(text: str) -> str:
    """``text`` as Go's html/template writes it: ``&#39; &#34; &#43;`` and ``&amp;``."""
    for char, ref in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("+", "&#43;")):
        text = text.replace(char, ref)
    return text


#: As JavaScript's encodeURIComponent writes it: ' kept, + and & as %2B and %26.
_URI_COMPONENT = quote(ESCAPED_CANARY, safe="'")

_PAGE = "<html><body><h1>Bad credentials</h1><p>rejected password {} for user</p></body></html>"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", _PAGE.format(_go_html(ESCAPED_CANARY))),  # &#39; &#43; &amp;
        ("text/html", _PAGE.format(html.escape(ESCAPED_CANARY))),  # &#x27; &amp;
        ("text/html", _PAGE.format(html.escape(ESCAPED_CANARY, quote=False))),  # &amp;
        ("text/plain", f"login failed for password={_URI_COMPONENT} here"),
        ("text/plain", f"password={_URI_COMPONENT.replace('%2B', '%2b')} refused"),
        # raw JSON (not a registry's errors) that writes ' as \\u0027 (PHP's JSON_HEX_APOS)
        ("application/json", '{"message": "bad password Canary\\u0027Pw+7f\\u00263a9e-x"}'),
        # the 64 KiB read cut inside &amp;: the start of the password before it, "Canary'Pw+7f&am"
        ("text/html", None),
    ],
    ids=["go-html", "python-html", "amp", "percent", "percent-lower", "json-u", "cut-in-amp"],
)
@pytest.mark.parametrize("shown", ["library", "output"])
def test_21_a_password_a_registry_writes_escaped_is_never_shown(
    fresh_registry: Callable[..., LocalRegistry],
    tmp_path: Path,
    proxy_for: Callable[[Any], FaultProxy],
    content_type: str,
    body: str | None,
    shown: str,
) -> None:
    """t33 N1: a registry's error page that writes the password with HTML character
    references (``&#39;``, ``&#x27;``, ``&amp;``), percent-encoded or JSON-escaped, even
    partly, is redacted as the password itself is; so is its start before a cut inside an
    escape."""
    from publisher.adapters.registry import Credentials

    registry = _htpasswd_registry(fresh_registry, tmp_path, ESCAPED_CANARY)
    proxy = proxy_for(registry)
    if body is None:
        written = html.escape(ESCAPED_CANARY, quote=False)
        kept = written.index("&amp;") + len("&am")
        page = _page_cut_inside(written, kept)
        assert page[:MAX_ERROR_BODY].endswith(b"Canary'Pw+7f&am")
    else:
        page = body.encode()
    headers = {"Content-Type": content_type}
    proxy.add(
        Fault("status", method="PUT", path="/manifests/", status=400, headers=headers, body=page)
    )
    err = io.StringIO()
    output = Output({}, stream=io.StringIO(), err_stream=err, debug=True)
    client = RegistryClient(
        proxy.host,
        plain_http=True,
        credentials=Credentials(CANARY_USER, ESCAPED_CANARY),
        output=output if shown == "output" else None,
    )
    with pytest.raises(RegistryError) as info, tempfile.TemporaryDirectory() as tmp:
        client.push_layout(write_layout(make_image(), Path(tmp)), "canary/php-fpm")
    assert proxy.count("PUT", "manifest") >= 1
    output.error(info.value)
    said = str(info.value) + (info.value.hint or "") + err.getvalue()
    assert "***" in str(info.value), str(info.value)
    assert "Canary" not in said and "3a9e" not in said, said


def test_21_a_secret_an_error_body_read_cut_in_two_never_reaches_the_cli_output(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
    write_matrix: Callable[..., Path],
) -> None:
    """The run t29 made: a registry failing (HTTP 500, retried) with a page that holds the
    password across the 64 KiB publisher reads. Its retry lines, its error, ``--debug``,
    ``--json``, the Actions annotation and the step summary show the page's words and
    none of the password's start."""
    import publisher.cli.registry_cmds  # noqa: F401
    from publisher.cli.base import main

    proxy = proxy_for(canary_registry)
    matrix = write_matrix(
        tmp_path,
        [("canary", f"{proxy.host}/canary/php-fpm", True)],
        credentials={"canary": ("CANARY_USERNAME", "CANARY_PASSWORD")},
    )
    page = _page_cut_inside(CANARY, len(CANARY) - 1)
    headers = {"Content-Type": "text/html"}
    proxy.add(
        Fault("status", path="/manifests/", status=500, headers=headers, body=page, times=None)
    )
    summary = tmp_path / "summary.md"
    env = {
        **ENV,
        "PUBLISHER_CONFIG": str(matrix),
        "HOME": str(tmp_path),
        "PUBLISHER_RETRY_ATTEMPTS": "2",
        "PUBLISHER_RETRY_INITIAL_DELAY": "0",
    }
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    reference = f"{proxy.host}/canary/php-fpm:v1"
    results = [
        CliRunner().invoke(main, args, env={**env, **extra})
        for args, extra in (
            (["inspect", reference], {}),
            (["--debug", "inspect", reference, "--json"], {}),
            (["--debug", "inspect", reference], actions),
        )
    ]
    assert [r.exit_code for r in results] == [7, 7, 7], results[0].output
    said = [r.stdout + r.stderr for r in results]
    assert "the password you sent was ***…" in said[0], said[0]
    assert "retrying" in said[0] and "after 2 attempts" in said[0], said[0]
    message = json.loads(results[1].stdout)["error"]["message"]
    assert "the password you sent was ***…) after 2 attempts" in message, message
    said.append(summary.read_text(encoding="utf-8"))
    for text in said:
        shown = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
        assert CANARY[:10] not in shown, shown


def test_21_canary_absent_from_cli_output_and_json(
    canary_registry: LocalRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
    write_matrix: Callable[..., Path],
    seed: Callable[..., str],
) -> None:
    import publisher.cli.registry_cmds  # noqa: F401
    from publisher.cli.base import main

    proxy = proxy_for(canary_registry)
    matrix = write_matrix(
        tmp_path,
        [("canary", f"{proxy.host}/canary/php-fpm", True)],
        credentials={"canary": ("CANARY_USERNAME", "CANARY_PASSWORD")},
    )
    proxy.add(Fault("echo", path="/manifests/", status=400, times=None))
    env = {
        **ENV,
        "PUBLISHER_CONFIG": str(matrix),
        "HOME": str(tmp_path),
        "PUBLISHER_RETRY_ATTEMPTS": "1",
    }
    runner = CliRunner()
    for args in (
        ["--debug", "inspect", f"{proxy.host}/canary/php-fpm:v1", "--json"],
        ["--debug", "verify", "v1.0.0", "--json", "--config", str(matrix)],
    ):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 9, result.output
        assert leaks(result.output) == [], result.output
        assert leaks(result.stderr if hasattr(result, "stderr") else "") == []
    result = runner.invoke(main, ["inspect", f"{proxy.host}/canary/php-fpm:v1", "--json"], env=env)
    data = json.loads(result.stdout)
    assert data["error"]["exit_code"] == 9
    assert leaks(json.dumps(data)) == []


def test_21_add_mask_comes_before_first_use_in_github_actions(
    canary_registry: LocalRegistry, tmp_path: Path
) -> None:
    out = io.StringIO()  # stdout and stderr together, so that their order shows
    summary = tmp_path / "summary.md"
    output = Output(
        {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        stream=out,
        err_stream=out,
        debug=True,
    )
    creds = credentials_for(registry_entry(canary_registry.host), ENV, output)
    assert out.getvalue().splitlines()[0] == f"::add-mask::{CANARY}"
    client = RegistryClient(canary_registry.host, plain_http=True, credentials=creds, output=output)
    client.list_tags("canary/php-fpm")
    lines = out.getvalue().splitlines()
    assert f"::add-mask::{CANARY_B64}" in lines
    first_use = next(i for i, line in enumerate(lines) if line.startswith("debug: GET"))
    assert lines.index(f"::add-mask::{CANARY}") < first_use
    assert (
        leaks(
            out.getvalue()
            .replace(f"::add-mask::{CANARY_B64}", "")
            .replace(f"::add-mask::{CANARY}", "")
        )
        == []
    )


@pytest.fixture
def fake_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A ``docker-credential-canary`` helper on PATH that records its argv and stdin."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "helper-calls.jsonl"
    script = bindir / "docker-credential-canary"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"host = sys.stdin.read()\n"
        f"open({str(record)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'stdin': host}}) + '\\n')\n"
        f"print(json.dumps({{'ServerURL': host, 'Username': {CANARY_USER!r}, 'Secret': {CANARY!r}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    yield record


def files_containing(root: Path, needles: tuple[str, ...]) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(n.encode() in data for n in needles):
                found.append(path)
    return found


def test_22_credentials_never_touch_disk_or_argv(
    canary_registry: LocalRegistry,
    second_registry: LocalRegistry,
    fake_helper: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"credsStore": "canary"}))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    env = {"HOME": str(home)}

    creds = credentials_for_host(canary_registry.host, env, Output({}, stream=io.StringIO()))
    assert creds is not None and creds.password == CANARY
    calls = [json.loads(line) for line in fake_helper.read_text().splitlines()]
    assert calls == [
        {"argv": ["get"], "stdin": canary_registry.host}
    ]  # the host on stdin, nothing secret in argv

    client = RegistryClient(canary_registry.host, plain_http=True, credentials=creds)
    image = make_image(attestations=True)
    layout = write_layout(image, tmp_path / "layout")
    digest = client.push_layout(layout, "canary/php-fpm")
    client.tag(repo_path="canary/php-fpm", digest=digest, tag="v1")
    other = RegistryClient(second_registry.host, plain_http=True)
    # A cross-registry copy downloads blobs to temporary files: they must be gone, and hold no secret.
    client.copy(
        Reference(canary_registry.host, "canary/php-fpm", digest=digest), other, "canary/php-fpm"
    )
    assert list(scratch.iterdir()) == []
    # The docker config is exactly as it was: nothing was written into it or next to it.
    assert json.loads((home / ".docker" / "config.json").read_text()) == {"credsStore": "canary"}
    assert sorted(p.name for p in (home / ".docker").iterdir()) == ["config.json"]
    assert files_containing(tmp_path, (CANARY, CANARY_B64)) == [
        fake_helper.parent / "bin" / "docker-credential-canary"
    ]


def test_22_wrong_password_error_names_no_secret(canary_registry: LocalRegistry) -> None:
    from publisher.adapters.registry import Credentials

    client = RegistryClient(
        canary_registry.host, plain_http=True, credentials=Credentials(CANARY_USER, CANARY + "x")
    )
    with pytest.raises(PublisherError) as info:
        client.list_tags("canary/php-fpm")
    assert info.value.exit_code == 4
    assert leaks(str(info.value) + (info.value.hint or ""), (CANARY + "x",)) == []


def test_21_a_token_echoed_in_a_token_servers_error_is_never_shown(
    fresh_registry: Callable[..., LocalRegistry], tmp_path: Path
) -> None:
    """A token server that refuses a request (HTTP 400) with a body echoing the token it
    issued (``token``, ``access_token``, ``refresh_token``) and the Authorization sent:
    the error quotes the body, the token's values and the header's redacted, on stderr,
    in the ``--json`` document and in the Actions annotation."""
    import publisher.cli.registry_cmds  # noqa: F401
    from publisher.cli.base import main
    from tests.support.tokenserver import TokenServer

    server = TokenServer(users={CANARY_USER: (CANARY, "pull")}, echo_status=400).start()
    try:
        reg = fresh_registry(extra_config=server.registry_auth_config(tmp_path / "signer.pem"))
        docker = tmp_path / "docker"
        docker.mkdir()
        auths = {"auths": {reg.host: {"auth": CANARY_B64}}}
        (docker / "config.json").write_text(json.dumps(auths), encoding="utf-8")
        env = {
            "HOME": str(tmp_path),
            "DOCKER_CONFIG": str(docker),
            "PUBLISHER_CONFIG": None,
            "PUBLISHER_RETRY_ATTEMPTS": "1",
        }
        reference = f"{reg.host}/team/php-fpm:v1"
        plain = CliRunner().invoke(main, ["inspect", reference], env=env)
        as_json = CliRunner().invoke(main, ["inspect", reference, "--json"], env=env)
        actions = CliRunner().invoke(
            main,
            ["inspect", reference],
            env={**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": None},
        )
    finally:
        server.stop()
    assert len(server.issued) == 3  # each run got a token, echoed in the error
    message = json.loads(as_json.stdout)["error"]["message"]
    annotation = [line for line in actions.output.splitlines() if line.startswith("::error ")]
    for result in (plain, as_json, actions):
        assert result.exit_code == 9, result.output
    # The body is quoted (what the server said is kept), its secrets are not.
    assert '"token": "***"' in message and '"access_token": "***"' in message, message
    assert '"your_auth": "Basic ***"' in message, message
    assert '"token": "***"' in plain.stderr and annotation, actions.output
    assert '"token": "***"' in annotation[0], annotation
    # A message is cut short, and a token (a JWT) is long: its start is what would show.
    tokens = tuple(token[:24] for token in server.issued)
    for result in (plain, as_json, actions):
        said = result.stdout + result.stderr
        shown = [line for line in said.splitlines() if not line.startswith("::add-mask::")]
        assert leaks("\n".join(shown), tokens) == [], result.output


def _docker_config(tmp_path: Path, data: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "config.json").write_text(json.dumps(data))
    return {"DOCKER_CONFIG": str(tmp_path)}


def helper_on_path(tmp_path: Path, name: str, body: str) -> dict[str, str]:
    """A real ``docker-credential-NAME`` script on PATH (the runner runs it)."""
    folder = tmp_path / "helpers"
    folder.mkdir(exist_ok=True)
    helper = folder / f"docker-credential-{name}"
    helper.write_text(f"#!/bin/sh\n{body}\n")
    helper.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def test_a_hanging_helper_is_said_to_wait_for_its_store_not_a_bare_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_credentials, "HELPER_TIMEOUT", 0.5)
    env = {
        **_docker_config(tmp_path, {"credHelpers": {"ghcr.io": "hangs"}}),
        **helper_on_path(tmp_path, "hangs", "sleep 30"),
    }
    with pytest.raises(AuthError) as info:
        credentials_for_host("ghcr.io", env, runner=Runner(env=env))
    assert info.value.message == (
        "credentials for ghcr.io: the docker credential helper docker-credential-hangs did not "
        "answer within 0.5 s"
    )
    assert (info.value.hint or "").startswith(
        "it may be waiting for its store to be unlocked (a keychain or pass prompt)"
    )


@pytest.mark.parametrize("key", ["https://ghcr.io/", "http://ghcr.io/", "ghcr.io/"])
def test_a_credential_helper_under_any_key_docker_reads_for_the_host_is_asked(
    tmp_path: Path, key: str
) -> None:
    """docker reads a credHelpers key by its host alone, without scheme or path."""
    helped = {
        **_docker_config(tmp_path, {"credHelpers": {key: "kept"}}),
        **helper_on_path(tmp_path, "kept", 'echo \'{"Username": "h", "Secret": "s"}\''),
    }
    found = credentials_for_host("ghcr.io", helped, runner=Runner(env=helped))
    assert found is not None and found.source == "docker credential helper kept"
