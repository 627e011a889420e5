"""Smoke-test rules (pure) and the smoke tester's orchestration with a scripted runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher import config as config_module
from publisher import smoke_rules
from publisher.builders import base as base_mod
from publisher.errors import CommandError, SmokeTestError
from publisher.platforms import Platform
from publisher.reference import Reference
from publisher.runner import Completed
from publisher.smoke import (
    Engine,
    SmokeTester,
    buildah_from_argv,
    buildah_run_argv,
    docker_exec_argv,
    docker_run_argv,
    health_command,
    server_command,
    smoke_tester,
    start_script,
)
from tests.conftest import ROOT
from tests.unit.runner_fakes import Call, FakeRunner, fail, ok

REAL_PHP_V = """PHP 8.4.12 (cli) (built: Aug 29 2025 21:47:08) (NTS)
Copyright (c) The PHP Group
Built by https://github.com/docker-library/php
Zend Engine v4.4.12, Copyright (c) Zend Technologies
    with Zend OPcache v8.4.12, Copyright (c), by Zend Technologies
"""
RC_PHP_V = "PHP 8.5.0RC1 (cli) (built: Sep 26 2025 00:00:00) (NTS)\n"
STANDIN_PHP_V = "PHP 8.4.99-standin (cli) -- STAND-IN, not PHP (dev.publisher.stand-in=true)\n"
REAL_PHP_M = """[PHP Modules]
bcmath
Core
gd
pdo_mysql
redis
Zend OPcache

[Zend Modules]
Zend OPcache

"""
FPM_OK = (
    "[22-Nov-2025 10:00:00] NOTICE: configuration file /usr/local/etc/php-fpm.conf "
    "test is successful\n"
)
DIGEST = "sha256:" + "c" * 64
IMAGE = Reference("127.0.0.1:5000", "acme/php", None, DIGEST)


@pytest.fixture(autouse=True)
def no_host_binfmt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Do not depend on this machine's QEMU setup (tests that need it set their own)."""
    monkeypatch.setattr(base_mod, "BINFMT_DIR", tmp_path / "binfmt-not-mounted")


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        (REAL_PHP_V, "8.4.12", "8.4"),
        (RC_PHP_V, "8.5.0RC1", "8.5"),
        (STANDIN_PHP_V, "8.4.99-standin", "8.4"),
        ("warning: something\nPHP 8.1.33 (cli) (built: x)\n", "8.1.33", "8.1"),
    ],
)
def test_php_version_is_parsed_exactly(text: str, expected: str, line: str) -> None:
    version = smoke_rules.parse_php_version(text)
    assert str(version) == expected
    assert version.line == line


@pytest.mark.parametrize("text", ["", "sh: php: not found\n", "PHP Warning: x (cli)\n"])
def test_no_version_is_a_smoke_failure(text: str) -> None:
    with pytest.raises(SmokeTestError, match="did not report a PHP version"):
        smoke_rules.parse_php_version(text)


@given(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999))
def test_any_release_version_round_trips(major: int, minor: int, patch: int) -> None:
    text = f"PHP {major}.{minor}.{patch} (cli) (built: x) (NTS)\n"
    assert str(smoke_rules.parse_php_version(text)) == f"{major}.{minor}.{patch}"


def test_modules_are_read_without_section_headers_and_with_aliases() -> None:
    modules = smoke_rules.parse_modules(REAL_PHP_M)
    assert "[php modules]" not in modules and "" not in modules
    assert {"bcmath", "core", "zend opcache"} <= modules
    assert smoke_rules.missing_extensions(["bcmath", "opcache", "redis"], modules) == []
    assert smoke_rules.missing_extensions(["intl", "gd", "zip"], modules) == ["intl", "zip"]


def test_fpm_test_needs_both_status_and_message() -> None:
    assert smoke_rules.fpm_test_passed(0, FPM_OK)
    assert not smoke_rules.fpm_test_passed(78, FPM_OK)
    assert not smoke_rules.fpm_test_passed(0, "ERROR: failed to open configuration file")


def observed(**changes: object) -> smoke_rules.Observed:
    fields: dict[str, object] = {
        "started": True,
        "start_output": "healthy",
        "php_v": REAL_PHP_V,
        "php_m": REAL_PHP_M,
        "fpm_returncode": 0,
        "fpm_output": FPM_OK,
    }
    fields.update(changes)
    return smoke_rules.Observed(**fields)  # type: ignore[arg-type]


def test_a_good_image_has_no_defects() -> None:
    version, found = smoke_rules.defects(observed(), "8.4", ["bcmath", "opcache"])
    assert str(version) == "8.4.12" and found == []


def test_every_defect_is_reported_at_once() -> None:
    version, found = smoke_rules.defects(
        observed(
            started=False,
            start_output="publisher-smoke: the server exited\nERROR: port 9000 in use",
            fpm_returncode=78,
            fpm_output="ERROR: bad config",
        ),
        "8.3",
        ["bcmath", "intl"],
    )
    assert str(version) == "8.4.12"
    assert len(found) == 4
    assert "did not start" in found[0] and "port 9000 in use" in found[0]
    assert found[1] == "`php -v` reports PHP 8.4.12, expected the 8.3 line"
    assert found[2] == "`php-fpm -t` failed (exit status 78): ERROR: bad config"
    assert found[3] == "`php -m` does not list intl"


# ----------------------------------------------------------------- smoke.py helpers


def test_health_commands() -> None:
    assert health_command({"Test": ["CMD", "php-fpm-healthcheck"]}) == ["php-fpm-healthcheck"]
    assert health_command({"Test": ["CMD-SHELL", "curl -f x"]}) == ["/bin/sh", "-c", "curl -f x"]
    assert health_command({"Test": ["NONE"]}) is None
    assert health_command(None) is None


def test_server_command_is_entrypoint_plus_cmd() -> None:
    config = {"Entrypoint": ["docker-php-entrypoint"], "Cmd": ["php-fpm"]}
    assert server_command(config) == ["docker-php-entrypoint", "php-fpm"]
    with pytest.raises(SmokeTestError, match="neither ENTRYPOINT nor CMD"):
        server_command({"Entrypoint": None, "Cmd": None})


def test_start_script_waits_for_the_health_check() -> None:
    script = start_script(["php-fpm-healthcheck"], 30)
    assert '"$@" >"$log" 2>&1 &' in script
    assert "if php-fpm-healthcheck >/dev/null 2>&1; then" in script
    assert 'while [ "$i" -lt 120 ]' in script  # every 0.25s for 30s
    assert "not healthy within 30s" in script
    assert 'if [ "$i" -ge 4 ]; then' in start_script(None, 5)  # alive for 1s


def test_engine_argv() -> None:
    assert buildah_from_argv(IMAGE, Platform.ARM64, "n", plain_http=True) == [
        "buildah",
        "from",
        "--name",
        "n",
        "--os",
        "linux",
        "--arch",
        "arm64",
        "--tls-verify=false",
        f"docker://127.0.0.1:5000/acme/php@{DIGEST}",
    ]
    assert buildah_run_argv("n", ["php", "-v"]) == [
        "buildah",
        "run",
        "--isolation",
        "chroot",
        "n",
        "--",
        "php",
        "-v",
    ]
    assert docker_run_argv(IMAGE, Platform.ARM64, "n") == [
        "docker",
        "run",
        "-d",
        "--name",
        "n",
        "--platform",
        "linux/arm64",
        f"127.0.0.1:5000/acme/php@{DIGEST}",
    ]
    assert docker_exec_argv("n", ["php", "-m"]) == ["docker", "exec", "n", "php", "-m"]


# ----------------------------------------------------------------- orchestration


DOCKER = "/usr/bin/docker"
CONFIG = {
    "Entrypoint": ["docker-php-entrypoint"],
    "Cmd": ["php-fpm"],
    "Healthcheck": {"Test": ["CMD", "php-fpm-healthcheck"]},
}


def docker_runner(*, php_v: str = REAL_PHP_V, healthy_after: int = 2) -> FakeRunner:
    runner = FakeRunner(tools={"docker": DOCKER})
    polls = {"n": 0}

    def health(call: Call) -> Completed:
        polls["n"] += 1
        return ok() if polls["n"] >= healthy_after else fail(1)

    runner.on([DOCKER, "inspect", "--format", "{{json .Config}}"], ok(json.dumps(CONFIG)))
    runner.on([DOCKER, "inspect", "--format", "{{.State.Running}}"], ok("true\n"))
    runner.on([DOCKER, "exec"], lambda call: _docker_exec(call, php_v, health))
    return runner


def _docker_exec(call: Call, php_v: str, health: Callable[[Call], Completed]) -> Completed:
    command = call.argv[3:]
    if command == ("php-fpm-healthcheck",):
        return health(call)
    if command == ("php", "-v"):
        return ok(php_v)
    if command == ("php", "-m"):
        return ok(REAL_PHP_M)
    if command == ("php-fpm", "-t"):
        return ok(stderr=FPM_OK)
    return fail(127, stderr="not found")


def test_docker_smoke_passes_and_cleans_up() -> None:
    runner = docker_runner()
    sleeps: list[float] = []
    tester = SmokeTester(runner, Engine.DOCKER, sleep=sleeps.append)
    result = tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=["bcmath", "opcache"])
    assert result.php_version == "8.4.12"
    assert "zend opcache" in result.modules
    assert sleeps == [0.25, 0.25]  # healthy on the second poll, no real waiting
    run = runner.argvs()[0]
    assert run[:3] == (DOCKER, "run", "-d") and run[-1] == str(IMAGE)
    name = run[run.index("--name") + 1]
    assert runner.argvs()[-2] == (DOCKER, "rm", "-f", name)
    assert runner.argvs()[-1] == (DOCKER, "image", "rm", str(IMAGE))


def test_docker_smoke_failure_lists_defects_and_still_cleans_up() -> None:
    runner = docker_runner(php_v="PHP 8.3.7 (cli) (built: x)\n", healthy_after=99)
    tester = SmokeTester(runner, Engine.DOCKER, start_timeout=3, sleep=lambda _s: None)
    with pytest.raises(SmokeTestError) as caught:
        tester.test(IMAGE, Platform.AMD64, php_line="8.4", extensions=["intl"])
    message = caught.value.message
    assert "did not start" in message and "not healthy within 3s" in message
    assert "reports PHP 8.3.7, expected the 8.4 line" in message
    assert "does not list intl" in message
    assert caught.value.exit_code == 13
    assert any(a[1:3] == ("rm", "-f") for a in runner.argvs())


def test_smoke_needs_a_digest() -> None:
    tester = SmokeTester(FakeRunner(tools={"docker": DOCKER}), Engine.DOCKER)
    with pytest.raises(ValueError, match="by digest"):
        tester.test(
            Reference("127.0.0.1:5000", "acme/php", "latest"),
            Platform.AMD64,
            php_line="8.4",
            extensions=[],
        )


def test_buildah_smoke_removes_the_container_even_when_a_check_crashes() -> None:
    buildah = "/usr/bin/buildah"
    runner = FakeRunner(tools={"buildah": buildah})
    runner.on([buildah, "inspect"], ok("{not json"))
    tester = SmokeTester(runner, Engine.BUILDAH)
    with pytest.raises(CommandError, match="printed no JSON"):
        tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=[], plain_http=True)
    name = runner.argvs()[0][3]
    assert runner.argvs()[-2] == (buildah, "rm", name)
    assert runner.argvs()[-1] == (buildah, "rmi", str(IMAGE))


def test_smoke_tester_for_the_publish_stage_follows_config_and_builder() -> None:
    buildah = "/usr/bin/buildah"
    runner = FakeRunner(tools={"buildah": buildah, "docker": DOCKER})
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))

    def run(call: Call) -> Completed:
        command = call.argv[call.argv.index("--") + 1 :]
        if command[:2] == ("/bin/sh", "-c"):
            return ok("publisher-smoke: healthy after 1s")
        return _docker_exec(
            Call(("d", "exec", "n", *command), None, {}, None, True, ()), REAL_PHP_V, lambda c: ok()
        )

    runner.on([buildah, "run"], run)
    cfg = config_module.load(ROOT / "examples/offline/matrix.yaml", {})
    smoke = smoke_tester(runner, cfg, prefer="buildah")
    hub = Reference("docker.io", "stand-in-example/php-fpm", None, DIGEST)
    assert smoke(hub, "linux/amd64", "8.4", ("bcmath", "opcache")) == "8.4.12"
    assert "--tls-verify=true" in runner.argvs()[0]
    assert smoke(IMAGE, "linux/amd64", "8.4", ()) == "8.4.12"
    loopback_from = [a for a in runner.argvs() if a[1] == "from"][-1]
    assert "--tls-verify=false" in loopback_from
