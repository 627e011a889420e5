"""`publisher check-public`: every pin readable without credentials, against real registries.

One loopback registry is open (as a public repository is); the other asks for a
login (as a private GHCR package does). The credentials for it are in the
environment and in the docker config, and must not be used.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core.version import parse_release
from publisher.stages.public import check_public
from tests.conftest import ROOT
from tests.integration.conftest import BasicAuthRegistry, matrix_text
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, push_raw, write_layout

pytestmark = pytest.mark.integration

RELEASE = "v1.2.0"
LINES = ("8.3", "8.4")
PINS = (f"{RELEASE}-php-8.3", f"{RELEASE}-php-8.4", RELEASE)


def run(matrix: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "publisher",
            "check-public",
            RELEASE,
            "--config",
            str(matrix),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture
def environment(tmp_path: Path, basic_registry: BasicAuthRegistry) -> dict[str, str]:
    """Credentials for the login-only registry everywhere a client could find them."""
    docker = tmp_path / "docker"
    docker.mkdir()
    auth = base64.b64encode(f"{basic_registry.username}:{basic_registry.password}".encode())
    (docker / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": auth.decode()}}}), encoding="utf-8"
    )
    return {
        **os.environ,
        "DOCKER_CONFIG": str(docker),
        "PRIVATE_USER": basic_registry.username,
        "PRIVATE_TOKEN": basic_registry.password,
        "PUBLISHER_RETRY_ATTEMPTS": "1",
    }


def seed_pins(host: str, repo: str, session: requests.Session | None = None) -> str:
    return push_raw(f"http://{host}", repo, make_image(("linux/amd64",)), PINS, session)


def seeded(*hosts: str, kind: str = "public") -> tuple[str, list[str]]:
    """A repository of its own, ``KIND/php-fpm-…``, with the pins on each of ``hosts``
    (open registries): its name, and the digest the pins point at on each host."""
    repo = f"{kind}/php-fpm-{uuid.uuid4().hex[:8]}"
    return repo, [seed_pins(host, repo) for host in hosts]


def two_registries(
    write_matrix: Callable[..., Path],
    tmp_path: Path,
    repo: str,
    hub: str,
    other: tuple[str, str],
    **kwargs: Any,
) -> Path:
    """matrix.yaml of the lines LINES naming ``repo`` on the primary ``hub`` (a host) and on
    ``other`` (its name and host)."""
    name, host = other
    return write_matrix(
        tmp_path,
        [("hub", f"{hub}/{repo}", True), (name, f"{host}/{repo}", False)],
        lines=LINES,
        **kwargs,
    )


def test_open_registries_pass(
    tmp_path: Path,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    repo, _ = seeded(registry.host, second_registry.host)
    matrix = two_registries(
        write_matrix, tmp_path, repo, registry.host, ("ghcr", second_registry.host)
    )
    summary = tmp_path / "summary.md"
    summary.write_text("", encoding="utf-8")
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run(matrix, {**environment, **actions})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 pins readable without credentials on 2 registries" in result.stdout + result.stderr
    # the step summary says the check passed (it was empty)
    assert summary.read_text(encoding="utf-8") == (
        "6 pins readable without credentials on 2 registries\n\n"
    )


def test_a_registry_that_refuses_anonymous_reads_fails_with_the_steps(
    tmp_path: Path,
    registry: LocalRegistry,
    basic_registry: BasicAuthRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    repo, _ = seeded(registry.host, kind="private")
    session = basic_registry.session()
    seed_pins(basic_registry.host, repo, session)
    # Pushed and readable with credentials: only the anonymous read can tell.
    assert session.get(
        f"http://{basic_registry.host}/v2/{repo}/manifests/{RELEASE}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=30,
    ).ok
    matrix = two_registries(
        write_matrix,
        tmp_path,
        repo,
        registry.host,
        ("private", basic_registry.host),
        credentials={"private": ("PRIVATE_USER", "PRIVATE_TOKEN")},
    )
    result = run(matrix, environment)
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    for tag in PINS:
        assert f"{basic_registry.host}/{repo}:{tag}: refused" in out
        assert f"{registry.host}/{repo}:{tag}: refused" not in out
    assert "3 defects found" in out
    assert "readable without credentials in that registry's settings" in out
    # the command to rerun is whole: check-public takes the release
    # the command to rerun checks the same matrix
    rerun = f"publisher check-public {RELEASE} --config {matrix}"
    assert f"(anonymous pull), then rerun `{rerun}` (or the failed job)." in " ".join(
        out.split()
    ), out
    assert basic_registry.password not in out


def test_json_says_per_registry_whether_anyone_can_pull_and_what_was_refused(
    tmp_path: Path,
    registry: LocalRegistry,
    basic_registry: BasicAuthRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    """--json: stdout is the document alone, one entry per registry and repository with
    each pin's digest or refusal, the usual error (exit 12, steps as hint) when one refused."""
    repo, [digest] = seeded(registry.host, kind="private")
    seed_pins(basic_registry.host, repo, basic_registry.session())
    matrix = two_registries(
        write_matrix,
        tmp_path,
        repo,
        registry.host,
        ("private", basic_registry.host),
        credentials={"private": ("PRIVATE_USER", "PRIVATE_TOKEN")},
    )
    result = run(matrix, environment, "--json")
    assert result.returncode == 12, result.stdout + result.stderr
    document = json.loads(result.stdout)  # the JSON alone: nothing else on stdout
    assert set(document) == {"ok", "release", "registries", "error"}
    assert document["ok"] is False and document["release"] == RELEASE
    hub, private = document["registries"]
    assert (hub["name"], hub["repository"], hub["public"]) == (
        "hub",
        f"{registry.host}/{repo}",
        True,
    )
    assert hub["pins"] == [
        {"reference": f"{registry.host}/{repo}:{tag}", "digest": digest, "problem": None}
        for tag in PINS
    ]
    assert (private["name"], private["repository"], private["public"]) == (
        "private",
        f"{basic_registry.host}/{repo}",
        False,
    )
    assert [pin["reference"] for pin in private["pins"]] == [
        f"{basic_registry.host}/{repo}:{tag}" for tag in PINS
    ]
    for pin in private["pins"]:
        assert set(pin) == {"reference", "digest", "problem"}
        assert pin["digest"] is None and pin["problem"].startswith("refused ("), pin
    error = document["error"]
    assert set(error) == {"kind", "exit_code", "message", "hint"}
    assert error["exit_code"] == 12
    assert f"{basic_registry.host}/{repo}:{RELEASE}: refused" in error["message"]
    assert "readable without credentials in that registry's settings" in error["hint"]
    assert "error: " in result.stderr  # the usual message, on stderr
    assert basic_registry.password not in result.stdout + result.stderr


def test_json_of_open_registries_is_ok_without_an_error(
    tmp_path: Path,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    repo, digests = seeded(registry.host, second_registry.host)
    matrix = two_registries(
        write_matrix, tmp_path, repo, registry.host, ("ghcr", second_registry.host)
    )
    result = run(matrix, environment, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"ok", "release", "registries"} and document["ok"] is True
    assert [(r["name"], r["public"]) for r in document["registries"]] == [
        ("hub", True),
        ("ghcr", True),
    ]
    for entry, digest in zip(document["registries"], digests, strict=True):
        assert [(pin["digest"], pin["problem"]) for pin in entry["pins"]] == [(digest, None)] * 3
    assert "readable" not in result.stdout  # the text report went quiet


def test_json_of_a_check_that_cannot_start_is_the_error_document(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    result = run(tmp_path / "missing.yaml", environment, "--json")
    assert result.returncode == 3, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 3, document


def test_pins_are_read_together_after_one_anonymous_token(
    tmp_path: Path,
    token_registry: Any,
    repo: str,
    make_client: Callable[..., RegistryClient],
) -> None:
    """Several pins are read at once, after the first has fetched the registry's
    anonymous token: one token request, not one per read in flight."""
    pusher = make_client(token_registry, credentials=token_registry.pusher)
    image = make_image(("linux/amd64",))
    digest = pusher.push_layout(write_layout(image, tmp_path / "layout"), repo)
    for tag in PINS:
        pusher.tag(repo, digest, tag)
    config = config_mod.loads(
        matrix_text([("tok", f"{token_registry.host}/{repo}", True)], lines=LINES)
    )
    server = token_registry.server
    server.clear()
    out = io.StringIO()
    result = check_public(
        config,
        parse_release(RELEASE),
        anonymous=lambda registry: make_client(registry.host),
        output=Output(env={}, stream=out, err_stream=out),
    )
    assert [read.reference for read in result.reads] == [
        f"{token_registry.host}/{repo}:{tag}" for tag in PINS
    ]
    assert all(read.digest == digest for read in result.reads), result.reads
    assert [request.account for request in server.requests] == [None]
    # reported in the order of the pins, whatever order the answers came in
    assert [line.split(": ")[0] for line in out.getvalue().splitlines()] == [
        read.reference for read in result.reads
    ]


def test_a_registry_that_does_not_answer_is_reported_beside_the_ones_that_did(
    tmp_path: Path,
    registry: LocalRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    """One registry down: the other is still read and reported (its pins, public true), the
    one down says why once, its pins are not retried one by one, public is null (unknown),
    and the exit code is 7 (unreachable: rerun), not 12 (a visibility defect)."""
    repo, [digest] = seeded(registry.host)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{probe.getsockname()[1]}"
    matrix = two_registries(write_matrix, tmp_path, repo, registry.host, ("ghcr", down))
    result = run(matrix, environment, "--json")
    assert result.returncode == 7, result.stdout + result.stderr
    document = json.loads(result.stdout)
    hub, ghcr = document["registries"]
    assert hub["public"] is True
    assert [(p["digest"], p["problem"]) for p in hub["pins"]] == [(digest, None)] * 3
    assert ghcr["public"] is None
    problems = [p["problem"] for p in ghcr["pins"]]
    assert all(p.startswith(f"not read: ghcr ({down}, anonymous): ") for p in problems), problems
    assert len(set(problems)) == 1
    error = document["error"]
    assert error["exit_code"] == 7 and error["kind"] == "registry unreachable"
    assert error["message"].count("connection refused") == 1, error["message"]
    assert "; 3 pins of ghcr not read" in error["message"]
    assert error["hint"].startswith("anyone can pull every pin on the registries that answered;")
    assert f"ghcr: check that {down} is reachable (network, DNS, proxy, port)" in error["hint"]
    assert f"publisher check-public {RELEASE} --config {matrix}` again" in error["hint"]
    text = run(matrix, environment)
    assert text.returncode == 7
    assert f"{registry.host}/{repo}:{RELEASE}: readable anonymously" in text.stdout + text.stderr
    assert "Traceback" not in text.stderr


def test_a_registry_that_rate_limits_the_anonymous_reads_is_not_called_private(
    tmp_path: Path,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
) -> None:
    """A 429 says nothing of who may read the repository: the registry's visibility is
    unknown (public null), the exit code is 6 (rate limited), and the tip says to wait and
    rerun, not to make a repository public that may be public already."""
    repo, _ = seeded(registry.host, second_registry.host)
    limit = Fault("status", status=429, headers={"Retry-After": "1"}, times=None)
    with FaultProxy(second_registry.host).add(limit) as limited:
        matrix = two_registries(write_matrix, tmp_path, repo, registry.host, ("ghcr", limited.host))
        result = run(matrix, environment, "--json")
        text = run(matrix, environment)
    assert result.returncode == 6, result.stdout + result.stderr
    document = json.loads(result.stdout)
    hub, ghcr = document["registries"]
    assert hub["public"] is True
    assert ghcr["public"] is None
    assert all(p["problem"].startswith("rate limited (") for p in ghcr["pins"]), ghcr["pins"]
    error = document["error"]
    assert error["exit_code"] == 6 and error["kind"] == "rate limited"
    assert "One-time steps" not in error["hint"] and "readable without" not in error["hint"]
    assert error["hint"].startswith("ghcr: the registry rate-limited the anonymous reads")
    assert f"`publisher check-public {RELEASE} --config {matrix}` again" in error["hint"]
    assert text.returncode == 6
    assert "error: rate limited: 3 defects found" in text.stderr
    assert "Traceback" not in text.stderr


@pytest.mark.parametrize("pushed", [False, True], ids=["repository-never-pushed", "other-tags"])
def test_an_open_registry_missing_the_pins_is_told_to_publish_not_to_open_up(
    tmp_path: Path,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    environment: dict[str, str],
    write_matrix: Callable[..., Path],
    pushed: bool,
) -> None:
    """A registry that lets anyone read (no 401/403) answers a pin it lacks with 404: the
    release did not push it there. The tip says to finish the release, never to make the
    repository readable without credentials, which it already is."""
    repo, _ = seeded(registry.host)
    if pushed:  # the repository holds another release's pins only
        push_raw(f"http://{second_registry.host}", repo, make_image(("linux/amd64",)), ["v1.0.0"])
    matrix = two_registries(
        write_matrix, tmp_path, repo, registry.host, ("ghcr", second_registry.host)
    )
    result = run(matrix, environment, "--json")
    out = result.stdout + result.stderr
    assert result.returncode == 12, out
    report = json.loads(result.stdout)
    registries = {r["name"]: r for r in report["registries"]}
    assert registries["hub"]["public"] is True, out
    assert registries["ghcr"]["public"] is not False, out  # nothing says it is private
    assert all(pin["problem"] for pin in registries["ghcr"]["pins"]), out
    hint = " ".join(report["error"]["hint"].split())
    assert f"`publisher release {RELEASE} --config {matrix}` finishes the release" in hint, hint
    for wrong in ("One-time steps", "readable without credentials in that registry's settings"):
        assert wrong not in hint, hint
