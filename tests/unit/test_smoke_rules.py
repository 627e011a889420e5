"""Smoke-test rules (pure) and the smoke tester's orchestration with a scripted runner."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.adapters import emulation as emulation_mod
from publisher.adapters import fastcgi
from publisher.adapters import runner as runner_module
from publisher.adapters.runner import Completed
from publisher.adapters.smoke import (
    NET_BEGIN,
    NET_END,
    PID_NAMESPACE,
    PORT_TAKEN,
    PROBE_BEGIN,
    PROBE_END,
    STAYS_UP,
    STOPPED,
    ContainerLock,
    Engine,
    ImageHold,
    SmokeTester,
    buildah_from_argv,
    buildah_run_argv,
    cgi_fcgi_command,
    docker_exec_argv,
    docker_run_argv,
    fpm_port,
    health_command,
    login_argv,
    pid_namespace_tool,
    port_holders,
    port_turn,
    probe_from_start_output,
    proc_net_from_start_output,
    server_command,
    smoke_tester,
    start_script,
    stopped_from_start_output,
    sweep_containers,
)
from publisher.core import config as config_module
from publisher.core import smoke_rules
from publisher.core.errors import (
    CommandError,
    PublisherError,
    SmokeTestError,
    ToolMissingError,
)
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from tests.conftest import ROOT
from tests.support.fake_runner import Call, FakeRunner, fail, ok

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


#: Not this machine's QEMU setup (tests that need it set their own).
pytestmark = pytest.mark.usefixtures("no_host_binfmt")


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


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sh: php: not found\n",
        "PHP Warning: x (cli)\n",
        "PHP 8." + "4" * 5000 + ".1 (cli)\n",  # int() refuses so many digits
    ],
)
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


#: Recorded from the real-PHP stand-in (Debian trixie's PHP 8.4.27, linux/amd64) after the
#: template's docker-php-ext-install / pecl / docker-php-ext-enable with matrix.yaml's set.
DEBIAN_PHP_V = """PHP 8.4.27 (cli) (built: Oct 21 2026 07:53:46) (NTS)
Copyright (c) The PHP Group
Built by Debian
Zend Engine v4.4.27, Copyright (c) Zend Technologies
    with Zend OPcache v8.4.27, Copyright (c), by Zend Technologies
"""
DEBIAN_PHP_M = "\n".join(
    [
        "[PHP Modules]",
        "bcmath",
        "Core",
        "ctype",
        "date",
        "dom",
        "exif",
        "fileinfo",
        "filter",
        "gd",
        "hash",
        "iconv",
        "igbinary",
        "intl",
        "json",
        "libxml",
        "mbstring",
        "mysqli",
        "mysqlnd",
        "openssl",
        "pcntl",
        "pcre",
        "PDO",
        "pdo_mysql",
        "Phar",
        "posix",
        "random",
        "redis",
        "Reflection",
        "session",
        "SimpleXML",
        "sodium",
        "SPL",
        "standard",
        "tokenizer",
        "xml",
        "xmlreader",
        "xmlwriter",
        "Zend OPcache",
        "zip",
        "zlib",
        "",
        "[Zend Modules]",
        "Zend OPcache",
        "",
        "",
    ]
)
DEBIAN_FPM_T = (
    "[30-Nov-2026 04:53:01] NOTICE: configuration file /etc/php/8.4/fpm/php-fpm.conf "
    "test is successful\n"
)
#: Its answer to the probe over FastCGI (the CGI body), recorded with publisher's client.
DEBIAN_PROBE = (
    '{"mark":"publisher-smoke-probe","sapi":"fpm-fcgi","version":"8.4.27","checks":{'
    '"bcmath":true,"exif":true,"gd":true,"intl":true,"mysqli":true,"opcache":true,'
    '"pdo_mysql":true,"zip":true,"redis":true}}'
)
PRODUCTION_SET = [
    "bcmath",
    "exif",
    "gd",
    "intl",
    "mysqli",
    "opcache",
    "pcntl",
    "pdo_mysql",
    "zip",
    "redis",
]
REAL_PROBE = DEBIAN_PROBE


def test_recorded_real_php_outputs_pass_every_rule() -> None:
    real = observed(
        php_v=DEBIAN_PHP_V, php_m=DEBIAN_PHP_M, fpm_output=DEBIAN_FPM_T, probe=(200, DEBIAN_PROBE)
    )
    version, found = smoke_rules.defects(real, "8.4", PRODUCTION_SET)
    assert (str(version), found) == ("8.4.27", [])
    assert smoke_rules.defects(real, "8.4", [*PRODUCTION_SET, "soap"])[1] == [
        "`php -m` does not list soap"
    ]


def test_a_passed_smoke_test_says_what_it_checked() -> None:
    """One line of every check passed: the version, php-fpm -t, the extensions php -m lists
    and those the FastCGI probe ran (pcntl is the command line's alone), no startup
    warning, the machine its programs run as and how long the server stayed up."""
    real = observed(
        php_v=DEBIAN_PHP_V,
        php_m=DEBIAN_PHP_M,
        fpm_output=DEBIAN_FPM_T,
        probe=(200, DEBIAN_PROBE),
        machine="uname -m: aarch64\nphp: aarch64\n",
        expected_machine="aarch64",
        platform="linux/arm64",
    )
    version, found = smoke_rules.defects(real, "8.4", PRODUCTION_SET)
    assert found == [] and version is not None
    assert smoke_rules.passed_words(real, version, PRODUCTION_SET, 5.0) == (
        "PHP 8.4.27 starts, php-fpm -t passes, php -m lists its 10 extensions, the FastCGI "
        "probe of 9 passes on port 9000, no startup warning, runs as aarch64, up 5 s"
    )
    # no extension configured, a port of its own, a window of PUBLISHER_SMOKE_STAY_UP's
    bare = dataclasses.replace(real, port=9001)
    assert smoke_rules.passed_words(bare, version, (), 2.5) == (
        "PHP 8.4.27 starts, php-fpm -t passes, the FastCGI probe passes on port 9001, "
        "no startup warning, runs as aarch64, up 2.5 s"
    )
    # a busybox stand-in runs no script: its answer was not judged, and it is not said
    standin = smoke_rules.parse_php_version("PHP 8.4.99-standin (cli) -- STAND-IN, not PHP")
    assert smoke_rules.passed_words(real, standin, ("intl",), 5.0) == (
        "PHP 8.4.99-standin starts, php-fpm -t passes, php -m lists its 1 extension, "
        "no FastCGI probe (a stand-in without PHP), no startup warning, runs as aarch64, up 5 s"
    )


def observed(**changes: object) -> smoke_rules.Observed:
    fields: dict[str, object] = {
        "started": True,
        "start_output": "healthy",
        "php_v": REAL_PHP_V,
        "php_m": REAL_PHP_M,
        "fpm_returncode": 0,
        "fpm_output": FPM_OK,
        "probe": (200, REAL_PROBE),
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


#: What a `php-fpm -t` that exited 0 saying no notice is told of the likely cause.
LOG_LEVEL = (
    " (php-fpm says it only at its default log_level = notice: a log_level above it, "
    "warning, error or alert, hides it)"
)


def test_php_fpm_t_that_exits_0_without_its_verdict_is_not_said_to_have_failed() -> None:
    """Its likely cause is said when no notice came out: a log_level above notice (a
    php-fpm that says notices said something else)."""
    for output, said in (
        ("", "no output" + LOG_LEVEL),
        ("[06-Dec-2026] WARNING: odd\n", "[06-Dec-2026] WARNING: odd" + LOG_LEVEL),
        ("NOTICE: hello\n", "NOTICE: hello"),
    ):
        _, found = smoke_rules.defects(
            observed(fpm_returncode=0, fpm_output=output), "8.4", ["bcmath", "opcache"]
        )
        assert found == [
            "`php-fpm -t` exited 0 but did not say its configuration test is successful: " + said
        ]


def test_a_check_run_again_for_printing_nothing_says_how_many_times() -> None:
    """buildah runs a check that printed nothing again; its defect says how often."""
    _, found = smoke_rules.defects(
        observed(
            php_v="",
            php_m="",
            fpm_output="",
            silent={"php -v": 5, "php -m": 5, "php-fpm -t": 5},
        ),
        "8.4",
        ["bcmath"],
    )
    runs = " (run 5 times, with no output each time)"
    assert found[:3] == [
        "`php -v` did not report a PHP version (it printed 'nothing')" + runs,
        "`php-fpm -t` exited 0 but did not say its configuration test is successful: "
        "no output" + runs + LOG_LEVEL,
        "`php -m` does not list bcmath" + runs,
    ], found
    _, once = smoke_rules.defects(observed(fpm_output="", silent={"php -v": 5}), "8.4", [])
    assert once == [
        "`php-fpm -t` exited 0 but did not say its configuration test is successful: no output"
        + LOG_LEVEL
    ]


# ----------------------------------------------------------------- smoke.py helpers


def test_health_commands() -> None:
    assert health_command({"Test": ["CMD", "php-fpm-healthcheck"]}) == ["php-fpm-healthcheck"]
    assert health_command({"Test": ["CMD-SHELL", "curl -f x"]}) == ["/bin/sh", "-c", "curl -f x"]
    assert health_command({"Test": ["NONE"]}) is None
    assert health_command(None) is None


def test_server_command_is_entrypoint_plus_cmd() -> None:
    config = {"Entrypoint": ["docker-php-entrypoint"], "Cmd": ["php-fpm"]}
    assert server_command(config, "r/x@sha256:1 (linux/arm64)") == [
        "docker-php-entrypoint",
        "php-fpm",
    ]
    # named with its platform: the two images of a line failing alike are told apart
    with pytest.raises(
        SmokeTestError,
        match=r"^r/x@sha256:1 \(linux/arm64\): the image has neither ENTRYPOINT nor CMD",
    ):
        server_command({"Entrypoint": None, "Cmd": None}, "r/x@sha256:1 (linux/arm64)")


def test_start_script_waits_for_the_health_check() -> None:
    script = start_script(["php-fpm-healthcheck"], 30)
    assert ': >"$log"; "$@" >>"$log" 2>&1 &' in script  # appended to: whole lines
    assert "if php-fpm-healthcheck >/dev/null 2>&1; then" in script
    assert 'while [ "$i" -lt 120 ]' in script  # every 0.25s for 30s
    assert "not healthy within 30 s" in script
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


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The smoke tests' image holds (``ImageHold``) go to a cache of the test's own."""
    monkeypatch.setenv("PUBLISHER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def not_in_store(runner: FakeRunner) -> FakeRunner:
    """Neither image store has the image before the smoke test pulls it."""
    runner._answers[:0] = [
        (("/usr/bin/buildah", "inspect", "--type", "image"), fail(125, stderr="image not known")),
        ((DOCKER, "image", "inspect"), fail(1, stderr="No such image")),
    ]
    return runner


def docker_runner(*, php_v: str = REAL_PHP_V, healthy_after: int = 2) -> FakeRunner:
    """A docker whose container answers like a real-PHP image (the probe: ``fake_fastcgi``)."""
    runner = not_in_store(FakeRunner(tools={"docker": DOCKER}))
    polls = {"n": 0}

    def health(call: Call) -> Completed:
        polls["n"] += 1
        return ok() if polls["n"] >= healthy_after else fail(1)

    runner.on([DOCKER, "inspect", "--format", "{{json .Config}}"], ok(json.dumps(CONFIG)))
    runner.on([DOCKER, "inspect", "--format", "{{.State.Running}}"], ok("true\n"))
    runner.on(
        [
            DOCKER,
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        ],
        ok("172.17.0.9 \n"),
    )
    runner.on([DOCKER, "exec"], lambda call: _docker_exec(call, php_v, health))
    return runner


def _docker_exec(call: Call, php_v: str, health: Callable[[Call], Completed]) -> Completed:
    command = tuple(a for a in call.argv[2:] if a != "-i")[1:]
    if command[:2] == ("/bin/sh", "-c") and "cat >" in command[2]:
        return ok() if call.stdin and "<?php" in call.stdin else fail(1)
    if command == ("php-fpm-healthcheck",):
        return health(call)
    if command == ("php", "-v"):
        return ok(php_v)
    if command == ("php", "-m"):
        return ok(REAL_PHP_M)
    if command == ("php-fpm", "-t"):
        return ok(stderr=FPM_OK)
    return fail(127, stderr="not found")


def the_checks(call: Call, answer: Callable[[tuple[str, ...]], Completed]) -> Completed | None:
    """What the image's shell prints for the checks' one ``buildah run``
    (``smoke_rules.checks_script``) when each check answers as ``answer`` says; None
    for any other run."""
    framed = re.search(rf"{smoke_rules.CHECK_MARK} ([0-9a-f]+) 0 out", call.argv[-1])
    if framed is None:
        return None
    mark, text = framed.group(1), ""
    for index, check in enumerate(smoke_rules.IMAGE_CHECKS):
        said = answer(check)
        frame = f"{smoke_rules.CHECK_MARK} {mark} {index}"
        text += f"{frame} out\n{said.stdout}\n{frame} err\n{said.stderr.rstrip()}\n"
        text += f"{frame} end {said.returncode}\n"
    return ok(text)


def docker_answers(command: tuple[str, ...]) -> Completed:
    """A check's answer in a container of a real-PHP image (``_docker_exec``'s)."""
    return _docker_exec(
        Call(("d", "exec", "n", *command), None, {}, None, True, ()), REAL_PHP_V, lambda c: ok()
    )


def fake_fastcgi(body: str = REAL_PROBE, status: str = "") -> Callable[..., fastcgi.Answer]:
    sent: list[tuple[str, int, dict[str, str]]] = []

    def request(host: str, port: int, params: dict[str, str], **_: object) -> fastcgi.Answer:
        sent.append((host, port, params))
        head = (status + "\r\n" if status else "") + "Content-type: application/json\r\n\r\n"
        return fastcgi.Answer((head + body).encode(), b"", 0, 0)

    request.sent = sent  # type: ignore[attr-defined]
    return request


def test_docker_smoke_passes_and_cleans_up() -> None:
    runner = docker_runner()
    sleeps: list[float] = []
    probe = fake_fastcgi()
    tester = SmokeTester(runner, Engine.DOCKER, sleep=sleeps.append, fastcgi_request=probe)
    result = tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=["bcmath", "opcache"])
    assert result.php_version == "8.4.12"
    assert "zend opcache" in result.modules
    # healthy on the second poll, no real waiting; then what is left of the time it must stay up
    assert sleeps[:2] == [0.25, 0.25] and len(sleeps) == 3 and 0 < sleeps[2] <= STAYS_UP
    assert runner.argvs()[0] == (DOCKER, "image", "inspect", "--format", "{{.Id}}", str(IMAGE))
    run = runner.argvs()[1]
    assert run[:3] == (DOCKER, "run", "-d") and run[-1] == str(IMAGE)
    name = run[run.index("--name") + 1]
    assert runner.cleanups() == [(DOCKER, "rm", "-f", name), (DOCKER, "image", "rm", str(IMAGE))]
    assert runner.argvs()[-2:] == runner.cleanups()
    [(host, port, params)] = probe.sent  # type: ignore[attr-defined]
    assert (host, port) == ("172.17.0.9", 9000)
    assert params["SCRIPT_FILENAME"] == smoke_rules.PROBE_PATH
    written = next(c for c in runner.calls if "-i" in c.argv)
    assert written.stdin is not None and "opcache_get_status" in written.stdin


def test_docker_smoke_fails_when_the_probe_fails_under_fpm() -> None:
    body = REAL_PROBE.replace('"opcache":true', '"opcache":"OPcache is not enabled"')
    tester = SmokeTester(
        docker_runner(), Engine.DOCKER, sleep=lambda _s: None, fastcgi_request=fake_fastcgi(body)
    )
    with pytest.raises(SmokeTestError) as caught:
        tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=["bcmath", "opcache"])
    assert "opcache fails its check under php-fpm: OPcache is not enabled" in caught.value.message


def test_docker_smoke_failure_lists_defects_and_still_cleans_up() -> None:
    runner = docker_runner(php_v="PHP 8.3.7 (cli) (built: x)\n", healthy_after=99)
    tester = SmokeTester(runner, Engine.DOCKER, start_timeout=3, sleep=lambda _s: None)
    with pytest.raises(SmokeTestError) as caught:
        tester.test(IMAGE, Platform.AMD64, php_line="8.4", extensions=["intl"])
    message = caught.value.message
    assert "did not start" in message and "not healthy within 3 s" in message
    assert "reports PHP 8.3.7, expected the 8.4 line" in message
    assert "does not list intl" in message
    assert caught.value.exit_code == 13
    assert any(a[1:3] == ("rm", "-f") for a in runner.argvs())


def test_the_qemu_advice_is_for_a_foreign_image_whose_php_did_not_run() -> None:
    """An image of another platform whose php ran has working emulation: a missing
    extension gets no QEMU advice; one whose php could not run (exec format error) does,
    and the host's own image never."""
    host = emulation_mod.host_platform()
    foreign = next(p for p in Platform if p is not host)
    qemu = emulation_mod.foreign_hint(foreign)
    assert qemu is not None

    def failure(platform: Platform, php_v: str = REAL_PHP_V) -> SmokeTestError:
        tester = SmokeTester(
            docker_runner(php_v=php_v),
            Engine.DOCKER,
            sleep=lambda _s: None,
            fastcgi_request=fake_fastcgi(),
        )
        with pytest.raises(SmokeTestError) as caught:
            tester.test(IMAGE, platform, php_line="8.4", extensions=["intl"])
        return caught.value

    ran = failure(foreign)
    assert "does not list intl" in ran.message
    assert ran.hint == f"try it yourself: docker run --rm -it --platform {foreign} {IMAGE} sh"
    unrun = "exec /usr/local/bin/php: exec format error\n"
    assert failure(foreign, unrun).hint == f"{qemu}; {ran.hint}"
    if host is not None:
        own = failure(host, unrun)
        assert "QEMU" not in (own.hint or "") and "emulation" not in (own.hint or "")


def test_docker_smoke_of_a_server_that_exits_runs_the_checks_in_a_container_of_their_own() -> None:
    """php-fpm exits at start: the report is that failure, with the checks that still
    mean something (`php -v`, `php -m`, `php-fpm -t` in a fresh container from the image),
    never "container is not running" read as a missing PHP or missing extensions."""
    runner = docker_runner(php_v="PHP 8.3.7 (cli) (built: x)\n")
    gone = "Error response from daemon: container publisher-smoke-x is not running"

    def in_a_container_of_its_own(call: Call) -> Completed:
        command = call.argv[call.argv.index(str(IMAGE)) + 1 :]
        as_exec = Call((DOCKER, "exec", "name", *command), None, {}, None, False, ())
        return _docker_exec(as_exec, "PHP 8.3.7 (cli)\n", lambda _call: fail(1))

    runner._answers[:0] = [
        ((DOCKER, "inspect", "--format", "{{.State.Running}}"), ok("false\n")),
        ((DOCKER, "logs"), ok(stderr="ERROR: unable to bind listening socket for address 9000")),
        ((DOCKER, "exec"), fail(1, stderr=gone)),
        ((DOCKER, "run", "--rm"), in_a_container_of_its_own),
    ]
    tester = SmokeTester(runner, Engine.DOCKER, sleep=lambda _s: None)
    with pytest.raises(SmokeTestError) as caught:
        tester.test(IMAGE, Platform.AMD64, php_line="8.4", extensions=["bcmath", "opcache"])
    message = caught.value.message
    assert "did not start" in message and "unable to bind listening socket" in message
    assert "reports PHP 8.3.7, expected the 8.4 line" in message  # php -v did run
    assert "not running" not in message and "does not list" not in message, message
    assert "php-fpm -t" not in message  # it passed
    checks = runner.argvs()
    name = checks[1][checks[1].index("--name") + 1]
    run = next(a for a in checks if a[1:3] == ("run", "--rm"))
    assert run[run.index("--name") + 1] == name and run[-2:] == ("php", "-v")
    assert run[run.index("--pull") + 1] == "never" and str(IMAGE) in run
    assert runner.cleanups()[-2:] == [
        (DOCKER, "rm", "-f", name),
        (DOCKER, "image", "rm", str(IMAGE)),
    ]


def test_smoke_needs_a_digest() -> None:
    tester = SmokeTester(FakeRunner(tools={"docker": DOCKER}), Engine.DOCKER)
    with pytest.raises(ValueError, match="by digest"):
        tester.test(
            Reference("127.0.0.1:5000", "acme/php", "latest"),
            Platform.AMD64,
            php_line="8.4",
            extensions=[],
        )


def test_only_the_last_smoke_test_using_an_image_removes_it_and_only_when_one_pulled_it(
    tmp_path: Path,
) -> None:
    """Runs sharing an image store (real ``flock`` on the hold files): one ending while
    another holds the image keeps it; the last removes it when a smoke test pulled it; an
    image that was in the store before any of them is never removed."""
    removed: list[str] = []

    def remove(who: str) -> Callable[[], Completed]:
        return lambda: removed.append(who) or ok()

    first, second = (ImageHold(tmp_path, Engine.BUILDAH, IMAGE) for _ in range(2))
    first.enter(lambda: False)  # pulls it
    second.enter(lambda: True)  # finds it pulled
    first.release(remove("first"))
    assert removed == []  # the second still uses it
    second.release(remove("second"))
    assert removed == ["second"]
    assert list(tmp_path.iterdir()) == []  # the mark and the lock file go with the last

    users = ImageHold(tmp_path, Engine.BUILDAH, IMAGE)
    users.enter(lambda: True)  # the user's own image
    users.release(remove("users"))
    assert removed == ["second"]
    other = ImageHold(tmp_path, Engine.DOCKER, IMAGE)  # the other engine's store
    other.enter(lambda: False)
    other.release(remove("docker"))
    assert removed == ["second", "docker"]
    nowhere = ImageHold(None, Engine.BUILDAH, IMAGE)
    nowhere.enter(lambda: False)
    nowhere.release(remove("nowhere"))
    assert removed == ["second", "docker"]  # no lock: kept


def _opened(path: Path) -> int:
    """How many of this process's file descriptors have ``path`` open."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in os.listdir(fds) if os.path.realpath(fds / fd) == str(path))


def test_a_smoke_test_starting_while_the_last_one_removes_the_image_holds_the_new_lock_file(
    tmp_path: Path,
) -> None:
    """The last run using an image removes the image, its mark and its lock file; one that
    opened that lock file meanwhile waits, then finds it removed and holds the one made
    anew: a third run sees it held (it cannot take it alone), so the image stays."""
    first, second = (ImageHold(tmp_path, Engine.BUILDAH, IMAGE) for _ in range(2))
    first.enter(lambda: False)
    looked: list[bool] = []
    entering = threading.Thread(target=second.enter, args=(lambda: looked.append(True) or False,))

    def remove() -> Completed:
        entering.start()
        deadline = time.monotonic() + 10
        while _opened(tmp_path / first.lock.name) < 2 and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.01)
        time.sleep(0.1)  # waiting for the lock
        assert looked == []  # it looks for the image once it is gone
        return ok()

    first.release(remove)
    entering.join(10)
    assert looked == [True]
    assert second.lock is not None and second.lock.exists() and second.mark is not None
    with open(second.lock, "rb") as third, pytest.raises(BlockingIOError):
        fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
    removed: list[str] = []
    second.release(lambda: removed.append("second") or ok())
    assert removed == ["second"]
    assert list(tmp_path.iterdir()) == []


def test_the_containers_of_runs_gone_are_removed_and_those_of_runs_going_are_kept(
    tmp_path: Path,
) -> None:
    """Real ``flock`` on the container locks: a run still going holds its lock; a killed
    run's lock is free (as ``release`` without removing leaves it). Its container is
    removed, or its lock kept when it could not be and is still there; a lock whose
    container was never made goes quietly; the other engine's are not this sweep's."""
    name = {key: f"publisher-smoke-{key * 12}" for key in "abcd"}
    live = ContainerLock(tmp_path, Engine.DOCKER, name["a"])
    live.take()
    killed = [ContainerLock(tmp_path, Engine.DOCKER, name[key]) for key in "bcd"]
    killed.append(ContainerLock(tmp_path, Engine.BUILDAH, name["b"]))
    for lock in killed:
        lock.take()
        lock.release(removed=False)  # the lock file stays, as a killed run's does
    asked: list[str] = []

    def remove(container: str) -> bool:
        asked.append(container)
        return container == name["b"]

    listing = {name["a"], name["c"]}
    swept = sweep_containers(tmp_path, Engine.DOCKER, remove, lambda: listing)
    assert swept == [name["b"]] and asked == [name["b"], name["c"], name["d"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"buildah-{name['b']}.lock",
        f"docker-{name['a']}.lock",
        f"docker-{name['c']}.lock",
    ]
    assert sweep_containers(tmp_path, Engine.DOCKER, remove, lambda: None) == []
    assert asked[3:] == [name["c"]]  # tried again; kept when docker cannot list
    live.release(removed=True)
    assert sweep_containers(None, Engine.DOCKER, remove, lambda: None) == []
    assert not (tmp_path / f"docker-{name['a']}.lock").exists()


def test_buildah_smoke_removes_the_container_even_when_a_check_crashes() -> None:
    buildah = "/usr/bin/buildah"
    runner = not_in_store(FakeRunner(tools={"buildah": buildah}))
    runner.on([buildah, "inspect"], ok("{not json"))
    tester = SmokeTester(runner, Engine.BUILDAH)
    with pytest.raises(CommandError, match="printed no JSON"):
        tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=[], plain_http=True)
    name = runner.argvs()[1][3]
    assert runner.cleanups() == [(buildah, "rm", name), (buildah, "rmi", str(IMAGE))]
    assert runner.argvs()[-2:] == runner.cleanups()


NOFILE_REFUSED = (
    'Error: setting "RLIMIT_NOFILE" limit to soft=1024,hard=1024 (was soft=256,hard=256): '
    "operation not permitted\n"
)
GO_THREADS = (
    "runtime/cgo: pthread_create failed: Resource temporarily unavailable\nSIGABRT: abort\n"
    + "".join(f"goroutine {n} [idle]:\nruntime.gcBgMarkWorker()\n" for n in range(60))
)


def test_a_check_a_tool_dies_in_for_the_thread_limit_is_that_limit_not_the_image_s() -> None:
    """docker (Go) dying as it starts a thread in every check: every image would fail
    alike. Said as the limit (exit 18), with the line saying why rather than the goroutine
    dump, never as a smoke-test failure with QEMU advice; the container and image still
    removed."""
    runner = docker_runner()
    runner._answers.insert(0, ((DOCKER, "exec"), fail(2, stderr=GO_THREADS)))
    tester = SmokeTester(
        runner, Engine.DOCKER, sleep=lambda _s: None, fastcgi_request=fake_fastcgi()
    )
    with pytest.raises(CommandError) as caught:
        tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=[], plain_http=True)
    error = caught.value
    assert not isinstance(error, SmokeTestError)
    assert error.exit_code == 18 and error.label == "resource limit", error.message
    assert error.message.startswith("cannot run `docker exec ")
    assert "the limit on threads and processes was reached" in error.message
    assert "`runtime/cgo: pthread_create failed: Resource temporarily" in error.message
    assert "goroutine" not in error.message
    assert error.hint is not None and "QEMU" not in error.hint
    assert runner.cleanups()[-1][-1] == str(IMAGE)


def test_buildah_refusing_each_container_s_open_files_limit_is_not_the_image_s_failure() -> None:
    """buildah refusing each container's open-files limit (the hard limit below 1024):
    every image would fail alike. Said as the machine's limit to raise (exit 11, nothing
    found wrong with the image), never as a smoke-test failure with QEMU advice; the
    container and image still removed."""
    buildah = "/usr/bin/buildah"
    runner = not_in_store(FakeRunner(tools={"buildah": buildah}))
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))
    runner.on([buildah, "run"], fail(125, stderr=NOFILE_REFUSED))
    with pytest.raises(CommandError) as caught:
        SmokeTester(runner, Engine.BUILDAH).test(
            IMAGE, Platform.ARM64, php_line="8.4", extensions=[], plain_http=True
        )
    error = caught.value
    assert not isinstance(error, SmokeTestError) and error.exit_code == 11, error.message
    assert error.message.startswith("`buildah run /bin/sh (linux/arm64)` cannot run commands")
    assert "above the hard limit of this run (256, `ulimit -Hn`)" in error.message
    assert "nothing was found wrong with the image" in error.message
    assert error.hint is not None and "`ulimit -Hn 1024` as root" in error.hint
    assert "QEMU" not in error.hint
    assert runner.cleanups() == [
        (buildah, "rm", runner.argvs()[1][3]),
        (buildah, "rmi", str(IMAGE)),
    ]


def test_a_buildah_pull_raced_in_the_image_store_is_pulled_again() -> None:
    """Two smoke tests pulling images that share layers: buildah's pull can find a layer
    gone ("layer not known"). The container is removed, if it was made, and pulled again."""
    buildah = "/usr/bin/buildah"
    raced = 'Error: writing blob: locating layer for blob "sha256:8951": layer not known'
    answers = iter([fail(125, stderr=raced)])
    runner = not_in_store(FakeRunner(tools={"buildah": buildah}))
    runner.on([buildah, "from"], lambda _call: next(answers, ok()))
    runner.on([buildah, "inspect"], ok("{not json"))  # stops the test after the pull
    with pytest.raises(CommandError, match="printed no JSON"):
        SmokeTester(runner, Engine.BUILDAH).test(
            IMAGE, Platform.ARM64, php_line="8.4", extensions=[], plain_http=True
        )
    name = runner.argvs()[1][3]
    assert [a[1] for a in runner.argvs()][:5] == ["inspect", "from", "rm", "from", "inspect"]
    assert runner.argvs()[2] == (buildah, "rm", name)
    said = runner.stream.getvalue()
    assert "another buildah process changed the image store at the same time" in said, said
    assert "running it again (attempt 2 of 3)" in said


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER])
def test_an_interrupt_during_the_checks_still_removes_the_container_and_image(
    engine: Engine,
) -> None:
    """Ctrl-C while ``php -v`` runs (docker: its own ``docker exec``; buildah: the one
    run of every check): the check is terminated, nothing after it runs or is judged
    (docker's next check is refused), and the container and image are still removed
    (cleanup commands run while stopping)."""
    buildah = "/usr/bin/buildah"
    runner = not_in_store(
        docker_runner() if engine is Engine.DOCKER else FakeRunner(tools={"buildah": buildah})
    )
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))

    def interrupted(call: Call) -> Completed:
        if ("php" in call.argv and "-v" in call.argv) or smoke_rules.CHECK_MARK in call.argv[-1]:
            runner_module.stop_children()  # what the signal handler does
            return fail(-15)
        return ok("publisher-smoke: healthy after 1 checks\n")

    runner.on([buildah, "run"], interrupted)
    runner._answers.insert(0, ((DOCKER, "exec"), interrupted))  # before docker_runner's
    tester = SmokeTester(runner, engine, sleep=lambda _s: None, fastcgi_request=fake_fastcgi())
    try:
        with pytest.raises(PublisherError, match="publisher is stopping"):
            tester.test(IMAGE, Platform.AMD64, php_line="8.4", extensions=[], plain_http=True)
    finally:
        runner_module.allow_children()
    first = runner.argvs()[1]
    name = first[first.index("--name") + 1]
    assert runner.argvs()[-2:] == runner.cleanups()  # nothing after the interrupted check
    if engine is Engine.BUILDAH:
        assert runner.cleanups() == [(buildah, "rm", name), (buildah, "rmi", str(IMAGE))]
    else:
        assert runner.cleanups() == [
            (DOCKER, "rm", "-f", name),
            (DOCKER, "image", "rm", str(IMAGE)),
        ]


def test_smoke_tester_for_the_publish_stage_follows_config_and_builder() -> None:
    buildah = "/usr/bin/buildah"
    runner = FakeRunner(tools={"buildah": buildah, "docker": DOCKER})
    runner.on([buildah, "--version"], ok("buildah version 1.28.2 (image-spec 1.1.0-rc2)\n"))
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))

    def run(call: Call) -> Completed:
        command = call.argv[call.argv.index("--") + 1 :]
        if command[:2] == ("/bin/sh", "-c") and "cat >" in command[2]:
            return ok()
        if command[:2] == ("/bin/sh", "-c") and "publisher-smoke" in command:
            assert "cgi-fcgi -bind -connect 127.0.0.1:9000" in command[2]
            return ok(
                "publisher-smoke: healthy after 1 checks\n"
                f"{PROBE_BEGIN}\nContent-type: application/json\r\n\r\n{REAL_PROBE}\n"
                f"{PROBE_END} 0\n"
            )
        checks = the_checks(call, docker_answers)
        assert checks is not None, command
        return checks

    runner.on([buildah, "run"], run)
    cfg = config_module.load(ROOT / "examples/offline/matrix.yaml", {})
    smoke = smoke_tester(runner, cfg, prefer="buildah")
    hub = Reference("docker.io", "stand-in-example/php-fpm", None, DIGEST)
    passed = smoke(hub, "linux/amd64", "8.4", ("bcmath", "opcache"))
    assert passed.version == "8.4.12"
    assert passed.checked == (
        "PHP 8.4.12 starts, php-fpm -t passes, php -m lists its 2 extensions, the FastCGI "
        "probe of 2 passes on port 9000, no startup warning, "
        f"up {smoke_rules.stay_up(os.environ):g} s"
    )  # (the machine is said once the image said it: this one's uname answers nothing)
    assert runner.argvs()[0] == (buildah, "--version")  # checked before any image is run
    assert "--tls-verify=true" in next(a for a in runner.argvs() if a[1] == "from")
    assert smoke(IMAGE, "linux/amd64", "8.4", ()).version == "8.4.12"
    loopback_from = [a for a in runner.argvs() if a[1] == "from"][-1]
    assert "--tls-verify=false" in loopback_from


# ----------------------------------------------------------------- the FastCGI probe


def test_the_probe_script_exercises_each_extension_under_fpm() -> None:
    script = smoke_rules.probe_script(["gd", "intl", "pdo_mysql", "pcntl", "exif", "calendar"])
    assert script.startswith("<?php\n")
    assert "imagepng($im)" in script and "NumberFormatter('de_DE'" in script
    assert "'fr_FR'" in script and "PDO::getAvailableDrivers()" in script
    assert "exif_read_data" in script and "{jpeg}" not in script
    assert "$checks['calendar']" in script  # unknown: it must at least be loaded
    assert "'pcntl'" not in script  # command line only
    assert "extension_loaded('zend opcache')" in smoke_rules.probe_script(["opcache"])


def test_the_tiny_jpeg_carries_an_exif_make_tag() -> None:
    jpeg = smoke_rules.tiny_jpeg()
    assert jpeg[:4] == b"\xff\xd8\xff\xe1" and jpeg[-2:] == b"\xff\xd9"
    assert b"Exif\x00\x00II*\x00" in jpeg and b"publisher\x00" in jpeg


@pytest.mark.parametrize(
    ("status", "body", "defect"),
    [
        (404, "File not found.", "status 404 (File not found.)"),
        (200, "pong", "did not run the probe script through FastCGI (it answered pong)"),
        (200, '{"mark": "other"}', "did not run the probe script"),
        (200, REAL_PROBE.replace("fpm-fcgi", "cli"), "ran under 'cli', not php-fpm"),
        (200, REAL_PROBE.replace('"bcmath":true', '"bcmath":"bcmul gave 0"'), "bcmul gave 0"),
        (200, REAL_PROBE.replace('"bcmath":true,', ""), "bcmath fails its check under php-fpm"),
    ],
)
def test_probe_defects(status: int, body: str, defect: str) -> None:
    found = smoke_rules.probe_defects(status, body, ["bcmath", "opcache", "pcntl"])
    assert len(found) == 1 and defect in found[0]


def test_no_fastcgi_answer_is_a_defect_except_for_busybox_stand_ins() -> None:
    silent = {"probe": None, "probe_error": "connection refused"}
    _, found = smoke_rules.defects(observed(**silent), "8.4", ["bcmath"])
    assert found == ["php-fpm did not answer a FastCGI request (connection refused)"]
    standin = observed(**silent, php_v=STANDIN_PHP_V)
    assert smoke_rules.defects(standin, "8.4", ["bcmath"])[1] == []
    # an extension `php -m` misses is reported once, not again by the probe
    _, found = smoke_rules.defects(observed(php_m="[PHP Modules]\nCore\n"), "8.4", ["bcmath"])
    assert found == ["`php -m` does not list bcmath"]


def test_the_start_script_sends_the_probe_once_healthy() -> None:
    command = cgi_fcgi_command(9000)
    assert command.startswith("env GATEWAY_INTERFACE=CGI/1.1 ")
    assert f"SCRIPT_FILENAME={smoke_rules.PROBE_PATH}" in command
    assert command.endswith("cgi-fcgi -bind -connect 127.0.0.1:9000")
    script = start_script(["php-fpm-healthcheck"], 30, command)
    assert f'echo "{PROBE_BEGIN}"; {command} 2>&1; s=$?; echo; echo "{PROBE_END} $s"; ' in script


def test_the_probe_answer_is_read_from_the_start_output() -> None:
    good = f"healthy\n{PROBE_BEGIN}\nStatus: 200 OK\r\nX: y\r\n\r\n{REAL_PROBE}\n\n{PROBE_END} 0\n"
    assert probe_from_start_output(good) == ((200, REAL_PROBE), "")
    refused = f"{PROBE_BEGIN}\nCould not connect to 127.0.0.1:9000\n\n{PROBE_END} 1\n"
    assert probe_from_start_output(refused, 9000) == (
        None,
        "no connection could be made to port 9000: is php-fpm listening elsewhere (a unix "
        "socket, another port)? The stack's web server sends to port 9000 "
        "(Could not connect to 127.0.0.1:9000)",
    )
    # whatever cgi-fcgi's exit status
    assert probe_from_start_output(refused.replace(" 1\n", " 0\n"), 9000) == (
        probe_from_start_output(refused, 9000)
    )
    failed = f"{PROBE_BEGIN}\nsh: cgi-fcgi: not found\n\n{PROBE_END} 127\n"
    assert probe_from_start_output(failed) == (None, "cgi-fcgi failed (sh: cgi-fcgi: not found)")
    assert probe_from_start_output("publisher-smoke: the server exited")[0] is None


def test_fpm_port_follows_the_one_exposed_port() -> None:
    assert fpm_port({"ExposedPorts": {"9000/tcp": {}}}) == 9000
    assert fpm_port({"ExposedPorts": {"9001/tcp": {}}}) == 9001
    assert fpm_port({"ExposedPorts": {"80/tcp": {}, "9000/tcp": {}}}) == 9000
    assert fpm_port({}) == 9000
    # not a port: FPM's usual one (int() refuses thousands of digits)
    assert fpm_port({"ExposedPorts": {"9" * 5000 + "/tcp": {}}}) == 9000
    assert fpm_port({"ExposedPorts": {"70000/tcp": {}}}) == 9000
    assert fpm_port({"ExposedPorts": {"0/tcp": {}}}) == 9000


class Creds:
    username = "puller"
    password = "pull-s3cret-canary"


def test_pulls_log_in_through_stdin_with_a_throwaway_auth(tmp_path: Path) -> None:
    runner = docker_runner()
    runner.env["DOCKER_CONFIG"] = str(tmp_path / "user")
    tester = SmokeTester(
        runner,
        Engine.DOCKER,
        sleep=lambda _s: None,
        fastcgi_request=fake_fastcgi(),
        logins={IMAGE.domain: Creds()},
    )
    tester.test(IMAGE, Platform.ARM64, php_line="8.4", extensions=["bcmath", "opcache"])
    login = next(c for c in runner.calls if c.argv[1] == "login")
    assert login.argv == (DOCKER, "login", "--username", "puller", "--password-stdin", IMAGE.domain)
    assert login.stdin == Creds.password + "\n" and Creds.password in login.secrets
    run = next(c for c in runner.calls if c.argv[1] == "run")
    assert run.env["DOCKER_CONFIG"] == login.env["DOCKER_CONFIG"] != str(tmp_path / "user")
    assert not Path(login.env["DOCKER_CONFIG"]).exists()  # removed afterwards
    assert all(Creds.password not in " ".join(c.argv) for c in runner.calls)
    assert login_argv(
        Engine.BUILDAH, "h:5000", "u", tool="buildah", plain_http=True, authfile="/t/a.json"
    ) == [
        "buildah",
        "login",
        "--username",
        "u",
        "--password-stdin",
        "--tls-verify=false",
        "--authfile",
        "/t/a.json",
        "h:5000",
    ]


def test_a_buildah_run_that_passes_on_no_output_is_run_once_more() -> None:
    buildah = "/usr/bin/buildah"
    runner = FakeRunner(tools={"buildah": buildah})
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))
    passed_on = [ok("")]  # the first run of the checks: none of their output

    def run(call: Call) -> Completed:
        command = call.argv[call.argv.index("--") + 1 :]
        if command[:2] == ("/bin/sh", "-c") and "cat >" in command[2]:
            return ok()
        if command[:2] == ("/bin/sh", "-c") and "publisher-smoke" in command:
            return ok(
                "publisher-smoke: healthy after 1 checks\n"
                f"{PROBE_BEGIN}\nContent-type: application/json\r\n\r\n{DEBIAN_PROBE}\n"
                f"{PROBE_END} 0\n"
            )
        if passed_on:
            return passed_on.pop()

        def answer(check: tuple[str, ...]) -> Completed:
            if check == ("php", "-v"):
                return ok(DEBIAN_PHP_V)
            if check == ("php", "-m"):
                return ok(DEBIAN_PHP_M)
            return ok(stderr=DEBIAN_FPM_T) if check == ("php-fpm", "-t") else ok("")

        checks = the_checks(call, answer)
        assert checks is not None, command
        return checks

    runner.on([buildah, "run"], run)
    result = SmokeTester(runner, Engine.BUILDAH).test(
        IMAGE, Platform.AMD64, php_line="8.4", extensions=PRODUCTION_SET, plain_http=True
    )
    assert result.php_version == "8.4.27"
    assert len([c for c in runner.argvs() if smoke_rules.CHECK_MARK in c[-1]]) == 2


# /proc/net/tcp and tcp6 as read in a real-PHP image's container (docker's DNS on 127.0.0.11,
# FPM on every address, a health check's connection closing), and with FPM on 127.0.0.1 only.
TCP_HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
DNS = "   0: 0B00007F:81F5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
CLOSING = "   1: 0100007F:AD34 0100007F:2328 06 00000000:00000000 03:0000042C 00000000     0\n"
FPM_ANY6 = (
    "   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000     0\n"
)
FPM_LOOPBACK4 = (
    "   2: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
)
FPM_LOOPBACK6 = (
    "   1: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000     0\n"
)
FPM_ANY4 = "   3: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"


def test_fpm_listening_on_loopback_only_is_found_from_proc_net() -> None:
    every = TCP_HEAD + DNS + CLOSING + TCP_HEAD + FPM_ANY6
    assert smoke_rules.listening_addresses(every, 9000) == {"0" * 32}
    assert not smoke_rules.loopback_only(every, 9000)
    assert not smoke_rules.loopback_only(TCP_HEAD + FPM_ANY4 + FPM_LOOPBACK4, 9000)
    assert smoke_rules.loopback_only(TCP_HEAD + DNS + CLOSING + FPM_LOOPBACK4, 9000)
    assert smoke_rules.loopback_only(TCP_HEAD + FPM_LOOPBACK4 + TCP_HEAD + FPM_LOOPBACK6, 9000)
    # nothing listening on the port (a stand-in, or not read at all): nothing to say
    assert not smoke_rules.loopback_only(TCP_HEAD + DNS + CLOSING, 9000)
    assert not smoke_rules.loopback_only("", 9000)
    assert not smoke_rules.loopback_only("garbage :zz 0A\n", 9000)
    assert smoke_rules.loopback_only(FPM_LOOPBACK4.replace(":2328", ":2329"), 9001)


def test_a_pool_the_web_server_cannot_reach_is_a_defect() -> None:
    # The probe reached FPM on 127.0.0.1 (the buildah engine shares the host's network),
    # yet the stack's web server, in another container, could not.
    _, found = smoke_rules.defects(
        observed(proc_net=TCP_HEAD + FPM_LOOPBACK4), "8.4", ["bcmath", "opcache"]
    )
    assert found == [
        "php-fpm listens on port 9000 of the loopback address only: the stack's web server,"
        " in another container, cannot reach it (FPM's pool needs `listen = 9000`)"
    ]
    assert smoke_rules.defects(observed(proc_net=TCP_HEAD + FPM_ANY6), "8.4", ["bcmath"])[1] == []


def test_the_start_script_prints_the_sockets_once_healthy() -> None:
    script = start_script(["php-fpm-healthcheck"], 30, cgi_fcgi_command(9000))
    sockets = f'echo "{NET_BEGIN}"; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; echo "{NET_END}"'
    assert sockets in script and script.index(sockets) < script.index(PROBE_BEGIN)
    printed = f"healthy\n{NET_BEGIN}\n{TCP_HEAD}{FPM_LOOPBACK4}{NET_END}\n{PROBE_BEGIN}\n"
    assert proc_net_from_start_output(printed) == f"\n{TCP_HEAD}{FPM_LOOPBACK4}"
    assert proc_net_from_start_output("publisher-smoke: the server exited") == ""


def test_a_user_buildah_cannot_serve_smoke_tests_with_docker(
    user_without_subids: Callable[[int], None],
) -> None:
    from publisher.adapters.smoke import check_engine

    docker, builder = "/usr/bin/docker", "/usr/bin/buildah"
    both = FakeRunner(tools={"buildah": builder, "docker": docker})
    both.on([docker, "version", "--format", "{{.Server.Version}}"], ok("26.1.5\n"))
    assert check_engine(both) == f"docker 26.1.5 ({docker})"
    # Without docker, buildah is still the engine: its check says what is missing.
    alone = FakeRunner(tools={"buildah": builder})
    alone.on([builder, "--version"], ok("buildah version 1.28.2 (image-spec 1.0.2-dev)\n"))
    with pytest.raises(ToolMissingError, match="rootless as uid 4242"):
        check_engine(alone)
    user_without_subids(0)  # root needs no range
    assert SmokeTester(FakeRunner(tools={"buildah": builder, "docker": docker}))._engine() is (
        Engine.BUILDAH
    )


@pytest.mark.parametrize(
    ("stderr", "own"),
    [
        (
            "ERROR: bad pool\nsubprocess exited with status 78\n"
            "subprocess exited with status 78\nError: exit status 78\n",
            "ERROR: bad pool",
        ),
        (  # a command that could not start: buildah glues its line to the last one
            'exec: "php-fpm": executable file not found in $PATHprocess exited with error: '
            "exec: not startedsubprocess exited with status 1\nError: exit status 1\n",
            'exec: "php-fpm": executable file not found in $PATHprocess exited with error: '
            "exec: not started",
        ),
        ("subprocess exited with status 1\nError: exit status 1\n", ""),
        (
            "said: Error: exit status 2 is not the end\n",
            "said: Error: exit status 2 is not the end\n",
        ),
    ],
    ids=["trailer", "glued", "only-trailer", "mid-line"],
)
def test_buildah_runs_own_lines_are_not_taken_for_the_commands(stderr: str, own: str) -> None:
    from publisher.adapters.smoke import without_buildah_trailer

    assert without_buildah_trailer(stderr) == own


if TYPE_CHECKING:
    from publisher.adapters.output import Output
    from publisher.core.config import Config
    from publisher.stages.publish import LineIndex, Publisher


def one_line_index() -> tuple[Config, tuple[tuple[str, str], ...], LineIndex]:
    """PHP 8.4 of acme's matrix, its two platform images and their index, as the publish
    stage hands them to its smoke test."""
    from publisher.core.records import DigestRecord
    from publisher.stages.publish import LineIndex
    from tests.support.matrices import acme_config

    config = acme_config(lines=("8.4",))
    platforms = ("linux/amd64", "linux/arm64")
    images = tuple((p, "sha256:" + str(n) * 64) for n, p in enumerate(platforms, 1))
    index = LineIndex(
        php="8.4",
        digest="sha256:" + "0" * 64,
        body=b"{}",
        media_type="application/vnd.oci.image.index.v1+json",
        children=(),
        records=tuple(
            DigestRecord("v1.0.0", "8.4", p, "r", d, "php:8.4-fpm", None, "buildah", "x")
            for p, d in images
        ),
        images=images,
    )
    return config, images, index


def smoke_stage(
    config: Config, output: Output, notes: Path, smoke: Callable[..., Any]
) -> Publisher:
    """The publish stage of v1.0.0 with no registry, its smoke test ``smoke``."""
    from publisher.core.version import parse_release
    from publisher.stages.publish import Publisher, PublishOptions

    options = PublishOptions(notes_dir=notes, jobs=1)
    return Publisher(config, parse_release("v1.0.0"), {}, output, options, smoke=smoke)


def test_failed_smoke_tests_of_several_images_keep_every_piece_of_advice_once(tmp_path) -> None:
    """amd64 fails first with the native tip, arm64 under QEMU with the QEMU advice: the
    one error for both says the QEMU advice, each command to try, and "try" once."""
    import io

    from publisher.adapters.emulation import foreign_hint
    from publisher.adapters.output import Output

    qemu = foreign_hint(Platform.ARM64) or "arm64 runs under QEMU"

    def smoke(ref: Reference, platform: str, php: str, extensions: tuple[str, ...]) -> str:
        try_it = f"docker run --rm -it --platform {platform} {ref} sh"
        advice = [qemu] if platform == "linux/arm64" else []
        raise SmokeTestError(
            f"{ref} ({platform}): broken", hint="try it yourself", advice=advice, tries=[try_it]
        )

    config, images, index = one_line_index()
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    stage = smoke_stage(config, output, tmp_path, smoke)
    with pytest.raises(SmokeTestError) as caught:
        stage.smoke_test({"8.4": index})
    hint = caught.value.hint or ""
    tries = [
        f"docker run --rm -it --platform {p} {config.primary.ref(digest=d)} sh" for p, d in images
    ]
    # first that no tag moved: the step summary shows the plan's tag moves, out of the
    # group that says they are a plan, as if they were made
    left = (
        "no tag was written (none of the plan's tag moves was made: the indexes are on the "
        "registries by digest only); "
    )
    assert hint == f"{left}{qemu}; try it yourself: `{tries[0]}`, `{tries[1]}`"
    assert hint.count(qemu) == 1 and hint.count("yourself") == 1
    # one failure's hint is said as it was
    one = SmokeTestError("x", hint="try it yourself", advice=[qemu], tries=tries[:1])
    assert one.hint == f"{qemu}; try it yourself: {tries[0]}"
    assert SmokeTestError.of_all("one", [one]).hint == one.hint
    # a rehearsal's tip, the same for both, is said once after the QEMU advice
    rehearsal = [
        SmokeTestError("a", hint="rehearse again"),
        SmokeTestError("b", hint="rehearse again", advice=[qemu]),
    ]
    assert SmokeTestError.of_all("both", rehearsal).hint == f"{qemu}; rehearse again"


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_step_summary_titles_the_tag_moves_as_the_plan_s(tmp_path, dry_run) -> None:
    """The tag moves go to the step summary as the run plans them, before anything is
    pushed: a run that then fails leaves them there, so their heading says they are the
    plan's (as the tips of a failure name them: "none of the plan's tag moves was made"),
    never "Tag moves", which reads as moves made."""
    import io

    from publisher.adapters.output import Output
    from publisher.core import publish_plan as pp
    from publisher.core.version import parse_release
    from publisher.stages.publish import Publisher, PublishOptions

    config, _images, index = one_line_index()
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    output = Output(env=env, stream=io.StringIO(), err_stream=io.StringIO())
    options = PublishOptions(notes_dir=tmp_path, jobs=1, dry_run=dry_run)
    stage = Publisher(config, parse_release("v1.0.0"), {}, output, options)
    move = pp.TagMove("hub", "php-8.4-v1.0.0", None, index.digest, "pin")
    line = pp.LineAction("8.4", index.digest, "built", True, ())
    plan = pp.PublishPlan("v1.0.0", True, "8.4", False, (line,), (move,), (), (), None)
    stage._show_actions(plan)
    headings = [h for h in summary.read_text(encoding="utf-8").splitlines() if h[:4] == "### "]
    moves = next(h for h in headings if "tag moves" in h.lower())
    assert moves.startswith("### The plan's tag moves ("), headings
    assert ("dry run: nothing was written" in moves) is dry_run, moves
    assert dry_run or "step 6/8" in moves, moves


def test_the_publish_stage_says_what_each_passed_smoke_test_checked(tmp_path) -> None:
    """Each platform image that passed has a line naming it and what its smoke test
    checked, in the tester's words; the line's version is the one found."""
    import io

    from publisher.adapters.output import Output

    def smoke(
        ref: Reference, platform: str, php: str, extensions: tuple[str, ...]
    ) -> smoke_rules.Passed:
        machine = "aarch64" if platform == "linux/arm64" else "x86_64"
        return smoke_rules.Passed("8.4.12", f"PHP 8.4.12 starts, ..., runs as {machine}")

    config, _, index = one_line_index()
    stream = io.StringIO()
    output = Output(env={}, stream=stream, err_stream=stream)
    stage = smoke_stage(config, output, tmp_path, smoke)
    assert stage.smoke_test({"8.4": index}) == {"8.4": "8.4.12"}
    said = stream.getvalue()
    assert "PHP 8.4 linux/amd64: PHP 8.4.12 starts, ..., runs as x86_64\n" in said, said
    assert "PHP 8.4 linux/arm64: PHP 8.4.12 starts, ..., runs as aarch64\n" in said, said


def test_the_try_it_tip_for_a_plain_http_registry_off_loopback_names_docker_s_setting() -> None:
    """docker pulls over plain HTTP from loopback only: the `docker run` tip for an image
    on a LAN registry configured `insecure: true` says what the daemon needs first; one on
    a loopback registry, or on an HTTPS one, gets the tip alone."""
    image = Reference("registry.lan:5000", "acme/php-fpm", None, DIGEST)
    loopback = Reference("127.0.0.1:5000", "acme/php-fpm", None, DIGEST)

    def failure(ref: Reference, plain_http: bool) -> SmokeTestError:
        tester = SmokeTester(
            docker_runner(), Engine.DOCKER, sleep=lambda _s: None, fastcgi_request=fake_fastcgi()
        )
        with pytest.raises(SmokeTestError) as caught:
            tester.test(
                ref, Platform.AMD64, php_line="8.4", extensions=["intl"], plain_http=plain_http
            )
        return caught.value

    lan = failure(image, plain_http=True).hint or ""
    assert '"insecure-registries": ["registry.lan:5000"]' in lan, lan
    assert "docker run --rm -it" in lan
    for ref, plain in ((image, False), (loopback, True)):
        assert "insecure-registries" not in (failure(ref, plain).hint or "")


STARTUP_WARNING = (
    "PHP Warning:  PHP Startup: Unable to load dynamic library 'nonexistent_ext.so' (tried: "
    "/usr/lib/php/20240924/nonexistent_ext.so (cannot open shared object file)) in Unknown "
    "on line 0"
)


def test_a_php_startup_error_is_a_defect_quoted_once() -> None:
    shown = STARTUP_WARNING.replace("PHP Warning:  ", "Warning: ")
    _, found = smoke_rules.defects(
        observed(
            php_v=f"{shown}\n{REAL_PHP_V}",
            php_m=f"{shown}\n{REAL_PHP_M}",
            php_m_stderr=STARTUP_WARNING + "\n",
            fpm_output=f"[05-Dec-2026 09:00:00] NOTICE: PHP message: {STARTUP_WARNING}\n{FPM_OK}",
        ),
        "8.4",
        ["bcmath", "opcache"],
    )
    assert found == [f"PHP reports an error as it starts: {shown}"]


def test_a_long_php_startup_error_is_quoted_cut_with_an_ellipsis() -> None:
    """The report's line: cut at 300 characters, the last of them an ellipsis; one of 300
    is quoted whole."""
    tried = "/usr/lib/php/20240924/intl (cannot open shared object file: No such file), "
    long = (
        "PHP Warning:  PHP Startup: Unable to load dynamic library 'intl' (tried: "
        + tried * 4
        + ") in Unknown on line 0"
    )
    assert len(long) > 300
    found = smoke_rules.startup_errors(long)
    assert found == [long[:299] + "…"]
    exact = long[:300]
    assert smoke_rules.startup_errors(exact) == [exact]


def test_programs_of_another_machine_are_a_defect() -> None:
    def machine(output: str, expected: str = "aarch64") -> list[str]:
        return smoke_rules.defects(
            observed(machine=output, expected_machine=expected, platform="linux/arm64"),
            "8.4",
            [],
        )[1]

    assert machine("uname -m: aarch64\nphp: aarch64\n") == []
    assert machine("uname -m: x86_64\n") == [
        "the linux/arm64 image runs x86_64 programs (uname -m says x86_64; aarch64 expected): "
        "its binaries are another platform's"
    ]
    assert machine("uname -m: aarch64\nphp: x86_64\n") == [
        "the linux/arm64 image runs x86_64 programs (php says x86_64; aarch64 expected): "
        "its binaries are another platform's"
    ]
    assert machine("") == []  # says nothing: its other checks fail


def test_the_start_script_checks_the_server_stays_up() -> None:
    script = start_script(["php-fpm-healthcheck"], 30, "cgi-fcgi")
    stay = int(STAYS_UP / 0.25)
    assert f'while [ "$i" -lt {stay} ]; do sleep 0.25' in script
    # PUBLISHER_SMOKE_STAY_UP's seconds (smoke_rules.stay_up), counted from the start
    longer = start_script(["php-fpm-healthcheck"], 30, "cgi-fcgi", stays_up=12.5)
    assert 'while [ "$i" -lt 50 ]; do sleep 0.25' in longer and f"-lt {stay} ]" not in longer
    assert script.index(f'[ "$i" -lt {stay} ]') < script.index('kill "$pid"; wait "$pid"; exit 0')
    output = f"healthy\n{STOPPED} 6 s\nNOTICE: ready\nCRASHED\n"
    said = stopped_from_start_output(output)
    assert said == (
        "the server exited 6 s after it started, having answered its health check "
        "(NOTICE: ready | CRASHED)"
    )
    assert stopped_from_start_output("healthy\n") == ""
    _, found = smoke_rules.defects(observed(stopped=said), "8.4", [])
    assert found == [said]


def test_a_buildah_smoke_test_whose_port_is_taken_blames_the_machine_not_the_image() -> None:
    """Each ``buildah run`` runs in a PID namespace of its own, for root: what the image
    started ends with it."""
    buildah, unshare = "/usr/bin/buildah", "/usr/bin/unshare"
    runner = not_in_store(FakeRunner(tools={"buildah": buildah, "unshare": unshare}))
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))
    wrap = (unshare, *PID_NAMESPACE) if os.geteuid() == 0 else ()
    runner.on([*wrap, buildah, "run"], ok(f"{PORT_TAKEN} 9000\n"))
    with pytest.raises(CommandError) as caught:
        SmokeTester(runner, Engine.BUILDAH, sleep=lambda _s: None).test(
            IMAGE, Platform.AMD64, php_line="8.4", extensions=[], plain_http=True
        )
    message = caught.value.message
    assert message.startswith(
        f"{IMAGE} (linux/amd64): port 9000 on this machine is in use already, before the smoke "
        "test started the image's server ("
    ), message
    assert "nothing was found wrong with the image" in message
    assert "`ss -ltnp 'sport = :9000'`" in (caught.value.hint or "")
    # no docker here: the tip offers no builder whose smoke tests would run with it
    assert (caught.value.hint or "").endswith("and run again"), caught.value.hint
    runs = runner.argvs(containing="run")
    assert runs and all(r[: len(wrap) + 2] == (*wrap, buildah, "run") for r in runs), runs
    script = runs[-1][runs[-1].index("-c") + 1]
    assert "grep -Eq '^ *[0-9]+: [0-9A-F]+:2328 " in script.splitlines()[0]
    name = runner.argvs()[1][3]
    assert runner.cleanups() == [(buildah, "rm", name), (buildah, "rmi", str(IMAGE))]


def test_a_taken_port_offers_the_docker_builders_installed_here() -> None:
    """A docker 20.10 CLI, which builds with BuildKit without a buildx plugin, and has
    none: the tip offers the docker builder, not buildx."""
    buildah, docker = "/usr/bin/buildah", "/usr/bin/docker"
    runner = not_in_store(FakeRunner(tools={"buildah": buildah, "docker": docker}))
    runner.on([buildah, "inspect"], ok(json.dumps({"Docker": {"config": CONFIG}})))
    runner.on([buildah, "run"], ok(f"{PORT_TAKEN} 9000\n"))
    runner.on([docker, "version"], ok("20.10.24\n"))
    runner.on([docker, "buildx", "version"], fail(1, stderr="'buildx' is not a docker command.\n"))
    with pytest.raises(CommandError) as caught:
        SmokeTester(runner, Engine.BUILDAH, sleep=lambda _s: None).test(
            IMAGE, Platform.AMD64, php_line="8.4", extensions=[], plain_http=True
        )
    assert (caught.value.hint or "").endswith(
        "and run again; or use --builder docker, whose smoke tests run each image in a "
        "network of its own"
    ), caught.value.hint


def test_only_root_runs_the_buildah_checks_in_a_pid_namespace_of_their_own() -> None:
    runner = FakeRunner(tools={"unshare": "/usr/bin/unshare"})
    assert pid_namespace_tool(runner, uid=0) == "/usr/bin/unshare"
    assert pid_namespace_tool(runner, uid=1000) is None  # may not make one
    assert pid_namespace_tool(FakeRunner(), uid=0) is None  # no unshare: as they are


def test_a_port_turn_waits_for_its_holder_and_goes_on_without_one_past_its_wait() -> None:
    """Turns are per port: another port's is free at once; a held one is waited for
    (``waiting`` said once), and taken when let go, or gone without past ``wait``."""
    port = 40000 + os.getpid() % 20000  # no other run of this test holds it
    held, let_go = threading.Event(), threading.Event()

    def holder() -> None:
        with port_turn(port, lambda: None):
            held.set()
            let_go.wait(30)

    threading.Thread(target=holder, daemon=True).start()
    assert held.wait(30)
    said: list[str] = []
    with port_turn(port + 1, lambda: said.append("other port")):
        pass
    assert said == []
    start = time.monotonic()
    with port_turn(port, lambda: said.append("gave up"), wait=0.6):
        pass  # went on without a turn
    assert said == ["gave up"] and 0.5 <= time.monotonic() - start < 10
    threading.Timer(0.5, let_go.set).start()
    with port_turn(port, lambda: said.append("waited")):
        assert let_go.is_set()  # its turn came once the holder let go
        with port_turn(port, lambda: said.append("now held"), wait=0.3):
            pass
    with port_turn(port, lambda: said.append("not free")):
        pass
    assert said == ["gave up", "waited", "now held"]


def test_port_holders_still_names_a_process_one_of_whose_files_closed_while_it_was_read(
    tmp_path: Path,
) -> None:
    """/proc/PID/fd changes under the reader: a file closed between the listing and its
    readlink (here an entry readlink refuses) leaves the process's other files, the
    listening socket among them, to be read."""
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    listening = (
        "   0: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4242\n"
    )
    (tmp_path / "net" / "tcp").write_text(header + listening)
    fds = tmp_path / "77" / "fd"
    fds.mkdir(parents=True)
    (fds / "3").write_text("")  # not a link: readlink fails, as for a file closed meanwhile
    (fds / "4").symlink_to("socket:[4242]")
    (tmp_path / "77" / "cmdline").write_bytes(b"php-fpm: master process\0")
    assert port_holders(9000, proc=tmp_path) == ["php-fpm: master process (pid 77)"]
