"""``resolve`` against a REAL distribution registry on loopback.

Every combination of USE_PREBUILT x ALLOW_LOCAL_BUILD_FALLBACK x (registry up /
registry down / tag missing / platform missing) runs the real entry point in a
fresh process (``python -m publisher.resolve``) and checks the decision, the
exit code and the message. The images are small multi-arch test indexes pushed
blob by blob (``tests.support.images``), labelled as stand-ins.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from publisher.adapters import probe as probing
from publisher.adapters.localregistry import LocalRegistry, free_port
from publisher.core import pins
from publisher.core.errors import EXIT_BUILD_LOCALLY, EXIT_CANNOT_PROCEED, EXIT_USE_PREBUILT
from publisher.core.notes import RegistryFacts, SizeHistory, release_json
from publisher.resolve import detect_host_platform
from tests.conftest import ROOT
from tests.integration.conftest import HttpsRegistry
from tests.support import images as test_images
from tests.support.connectproxy import ConnectProxy
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, push_raw
from tests.support.pipeline import default_stop_signals
from tests.support.records import line_facts, release_facts
from tests.support.sockets import FixedAnswer, Silent

pytestmark = pytest.mark.integration

STAND_IN = {"dev.publisher.stand-in": "true"}
RELEASE = "v2.0.0"
HOST = detect_host_platform()
OTHER = "linux/arm64" if HOST == "linux/amd64" else "linux/amd64"
EXIT = {
    "use-prebuilt": EXIT_USE_PREBUILT,
    "build-locally": EXIT_BUILD_LOCALLY,
    "cannot-proceed": EXIT_CANNOT_PROCEED,
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.stdout)


@pytest.fixture(scope="module")
def base_image(registry: LocalRegistry) -> str:
    """The base a local build starts from, on the loopback registry (a stand-in)."""
    repo = f"resolve-base-{os.urandom(3).hex()}/php"
    push_raw(f"http://{registry.host}", repo, stand_in(seed=9), ["8.4-fpm-alpine"])
    return f"{registry.host}/{repo}:8.4-fpm-alpine"


@pytest.fixture
def workdir(tmp_path: Path, base_image: str) -> Path:
    """A stack checkout: dockerfiles/8.4/Dockerfile (a stand-in), an empty docker config."""
    dockerfile = tmp_path / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text(
        "# STAND-IN Dockerfile for resolve tests, not PHP\n"
        f"ARG PHP_BASE_IMAGE={base_image}\nFROM ${{PHP_BASE_IMAGE}}\n"
    )
    (tmp_path / "docker-config").mkdir()
    return tmp_path


def resolve_process(workdir: Path, env: dict[str, str], *args: str, fmt: str = "json") -> Run:
    """``python -m publisher.resolve`` in a fresh process, as a launcher runs it."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "DOCKER_CONFIG": str(workdir / "docker-config"),
        "PYTHONPATH": str(ROOT),
        "STACK_RELEASE": RELEASE,
        "PHP_VERSION": "8.4",
        **env,
    }
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "publisher.resolve", "--format", fmt, *args],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        errors="backslashreplace",  # a locale that is not UTF-8 writes its own bytes
        timeout=60,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def stand_in(
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"), seed: int = 1
) -> test_images.TestImage:
    return make_image(platforms, seed=seed, labels=STAND_IN)


# --------------------------------------------------------------------------- the 16 combinations


@dataclass(frozen=True)
class Published:
    up: str  # repository with v2.0.0-php-8.4 for both platforms
    tag_missing: str  # repository with the 8.3 and 8.5 pins only
    platform_missing: str  # repository whose 8.4 pin lacks the host platform
    down: str  # a registry address where nothing listens
    up_digest: str


@pytest.fixture(scope="module")
def published(registry: LocalRegistry) -> Published:
    base = f"http://{registry.host}"
    suffix = os.urandom(3).hex()
    up, missing, other = (f"resolve-{suffix}/{name}" for name in ("up", "missing", "platform"))
    up_digest = push_raw(base, up, stand_in(), [f"{RELEASE}-php-8.4", f"{RELEASE}-php-8.3"])
    push_raw(
        base,
        missing,
        stand_in(seed=2),
        [f"{RELEASE}-php-8.3", f"{RELEASE}-php-8.5", "v1.0.0-php-8.4"],
    )
    push_raw(base, other, stand_in((OTHER,), seed=3), [f"{RELEASE}-php-8.4"])
    return Published(
        up=f"{registry.host}/{up}",
        tag_missing=f"{registry.host}/{missing}",
        platform_missing=f"{registry.host}/{other}",
        down=f"127.0.0.1:{free_port()}/twentyi/php-fpm",
        up_digest=up_digest,
    )


SCENARIO_PHRASES = {
    "up": None,
    "down": "offline or unreachable",
    "tag-missing": f"PHP 8.4 is not published for release {RELEASE}",
    "platform-missing": f"platform {HOST} missing",
}


def expected(use_prebuilt: bool, fallback: bool, scenario: str) -> str:
    if not use_prebuilt:
        return "build-locally"
    if scenario == "up":
        return "use-prebuilt"
    return "build-locally" if fallback else "cannot-proceed"


@pytest.mark.parametrize("scenario", list(SCENARIO_PHRASES))
@pytest.mark.parametrize("fallback", [True, False], ids=["fallback", "no-fallback"])
@pytest.mark.parametrize("use_prebuilt", [True, False], ids=["prebuilt", "local"])
def test_every_combination(
    published: Published, workdir: Path, use_prebuilt: bool, fallback: bool, scenario: str
) -> None:
    repository = {
        "up": published.up,
        "down": published.down,
        "tag-missing": published.tag_missing,
        "platform-missing": published.platform_missing,
    }[scenario]
    run = resolve_process(
        workdir,
        {
            "USE_PREBUILT": str(use_prebuilt).lower(),
            "ALLOW_LOCAL_BUILD_FALLBACK": str(fallback).lower(),
            "PHP_IMAGE_REPOSITORY": repository,
        },
    )
    want = expected(use_prebuilt, fallback, scenario)
    data = run.data
    assert data["decision"] == want, run.stderr
    assert run.code == EXIT[want] == data["exit_code"]
    assert data["prebuilt"] == f"{repository}:{RELEASE}-php-8.4"
    assert data["platform"] == HOST
    reason = data["reason"]
    assert f"resolve: decision={want} availability={data['availability'] or 'none'}\n" in (
        run.stderr
    )
    assert f"resolve: why: {reason}" in run.stderr
    path = repository.split("/", 1)[1]
    local = f"localhost/{path}:{RELEASE}-php-8.4"
    dockerfile = workdir / "dockerfiles" / "8.4" / "Dockerfile"  # named by its absolute path

    if not use_prebuilt:
        assert reason == (f"USE_PREBUILT=false: building {local} locally from {dockerfile}")
        assert data["availability"] is None  # not even asked
        assert data["image"] == local
        return
    if scenario == "up":
        assert reason == f"pre-built image {repository}:{RELEASE}-php-8.4 is available for {HOST}"
        assert data["image"] == f"{repository}:{RELEASE}-php-8.4"
        assert data["build"] is False
        assert data["availability"] == "available"
        return
    phrase = SCENARIO_PHRASES[scenario]
    assert phrase is not None and phrase in reason
    if scenario == "tag-missing":
        assert "published lines: 8.3, 8.5" in reason
        assert data["published_lines"] == ["8.3", "8.5"]
    if scenario == "platform-missing":
        assert f"(it has: {OTHER})" in reason
    if fallback:
        assert data["image"] == local
        assert data["build"] is True
        assert reason.endswith(
            f"falling back to a local build of {local} from {dockerfile} "
            "(ALLOW_LOCAL_BUILD_FALLBACK=true)"
        )
        assert data["fix"] is None
    else:
        assert data["image"] == ""
        assert "the local build fallback is disabled (ALLOW_LOCAL_BUILD_FALLBACK=false)" in reason
        assert data["fix"].endswith(
            f"; or set ALLOW_LOCAL_BUILD_FALLBACK=true to build locally from {dockerfile}"
        )
        assert f"resolve: fix: {data['fix']}" in run.stderr


def test_env_output_is_deterministic_and_ready_for_compose(
    published: Published, workdir: Path, base_image: str
) -> None:
    env = {"PHP_IMAGE_REPOSITORY": published.up, "PMA_IMAGE": "phpmyadmin:5.2"}
    first = resolve_process(workdir, env, fmt="env")
    second = resolve_process(workdir, env, fmt="env")
    assert first.code == second.code == EXIT_USE_PREBUILT
    assert first.stdout == second.stdout  # byte for byte
    pairs = {k: v.strip("'") for k, v in (line.split("=", 1) for line in first.stdout.splitlines())}
    assert pairs["PHP_IMAGE"] == f"{published.up}:{RELEASE}-php-8.4"
    assert pairs["PHP_BUILD"] == "0"
    # absolute: compose reads a relative build context from the compose file's folder
    assert pairs["PHP_DOCKERFILE"] == str(workdir / "dockerfiles" / "8.4" / "Dockerfile")
    assert pairs["PHP_BUILD_CONTEXT"] == str(workdir / "dockerfiles" / "8.4")
    assert pairs["PHP_BASE_IMAGE"] == base_image
    assert pairs["PMA_IMAGE"] == "phpmyadmin:5.2"


def test_invalid_input_is_exit_2(workdir: Path) -> None:
    run = resolve_process(workdir, {"USE_PREBUILT": "maybe"})
    assert run.code == 2
    assert run.stdout == ""
    assert "USE_PREBUILT='maybe' is not valid: use true or false" in run.stderr
    run = resolve_process(workdir, {"PHP_VERSION": "8"})
    assert run.code == 2
    assert "PHP_VERSION='8' is not valid: use a PHP line MAJOR.MINOR, e.g. 8.4" in run.stderr


@pytest.mark.parametrize("locale", ["C", "ISO-8859-1"])
def test_json_names_a_path_as_its_bytes_say_in_every_locale(
    locale: str, latin1_locale: dict[str, str], tmp_path: Path
) -> None:
    """A pins file in "ü dir" is named "ü dir" in the JSON decision (and its reason) under
    LC_ALL=C with PYTHONUTF8=0 and under ISO-8859-1, where Python decodes the path's bytes
    otherwise; in "$'bad\\xff'", where they are not UTF-8, with the byte written ``\\xff``."""
    (tmp_path / "docker-config").mkdir()
    told = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    env = latin1_locale if locale == "ISO-8859-1" else told
    for name, shown in (("\u00fc dir", "\u00fc dir"), ("bad\udcff", "bad\\xff")):
        (tmp_path / name).mkdir()
        pins_file = tmp_path / name / "pins.env"
        facts = release_facts([line_facts("8.4", RELEASE)], RELEASE)
        pins_file.write_text(pins.render(json.loads(release_json(facts, SizeHistory()))))
        run = resolve_process(tmp_path, env, "--pins", str(pins_file), "--php", "8.9")
        assert run.code == EXIT_CANNOT_PROCEED, run.stderr
        assert run.data["pins"] == f"{tmp_path}/{shown}/pins.env", run.stdout
        assert f"the pins file {tmp_path}/{shown}/pins.env lists" in run.data["reason"]


@pytest.mark.parametrize("locale", ["C", "ISO-8859-1"])
@pytest.mark.parametrize("fmt", ["text", "env"])
def test_text_and_stderr_name_a_path_as_its_bytes_in_every_locale(
    locale: str, fmt: str, latin1_locale: dict[str, str], tmp_path: Path
) -> None:
    """Under LC_ALL=C with PYTHONUTF8=0 and under ISO-8859-1, the readable decision on
    stdout and the summary on stderr name a Dockerfiles folder in "ü dir" by its UTF-8
    bytes, as start.sh does (not 0xfc, nor ``\\u00fc``), one in "bad\\xff" by its own
    byte on stdout and ``\\xff`` on stderr."""
    told = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    env = latin1_locale if locale == "ISO-8859-1" else told
    for name, out, err in (
        ("\u00fc dir", b"\xc3\xbc dir", b"\xc3\xbc dir"),
        ("bad\udcff", b"bad\xff", b"bad\\xff"),
    ):
        folder = os.fsencode(tmp_path / name)
        run = subprocess.run(
            [sys.executable, "-m", "publisher.resolve", "--format", fmt, "--php", "8.4"],
            cwd=tmp_path,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(tmp_path),
                "PYTHONPATH": str(ROOT),
                "STACK_RELEASE": RELEASE,
                "USE_PREBUILT": "false",
                "PHP_DOCKERFILES": os.fsdecode(folder),
                **env,
            },
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == EXIT_CANNOT_PROCEED, run.stderr
        where = os.fsencode(tmp_path) + b"/"
        said = b"why: USE_PREBUILT=false, but there is no Dockerfile for PHP 8.4 at " + where
        if fmt == "text":  # stdout: the readable decision
            assert said + out + b"/8.4/Dockerfile" in run.stdout, run.stdout
        else:  # stderr: the summary
            assert b"resolve: " + said + err + b"/8.4/Dockerfile" in run.stderr, run.stderr


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists(),
    reason="needs root (to run resolve.py as another user), setpriv and /usr/bin/python3",
)
def test_a_pins_file_this_user_may_not_read_is_said_with_a_tip(tmp_path: Path) -> None:
    """Run as nobody, resolve.py meets a pins file only root may read: exit 3, in words."""
    folder = Path(tempfile.mkdtemp(prefix="resolve-eacces-"))
    try:
        folder.chmod(0o755)
        pins_file = folder / "v2.0.0.env"
        pins_file.write_text("PHP_PINS_SCHEMA='1'\n")
        pins_file.chmod(0o600)
        proc = subprocess.run(
            [
                *NOBODY,
                "/usr/bin/python3",
                str(ROOT / "publisher" / "resolve.py"),
                "--php",
                "8.4",
                "--pins",
                str(pins_file),
            ],
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], "HOME": str(folder)},
            cwd=folder,
            timeout=60,
        )
    finally:
        shutil.rmtree(folder)
    assert proc.returncode == 3, proc.stderr
    assert f"error: {pins_file}: cannot read the pins file: Permission denied\n" in proc.stderr
    assert "Errno" not in proc.stderr
    assert (
        "  tip: give this user read access to it (and search access to its folders), or point "
        "--pins at a copy it can read\n"
    ) in proc.stderr


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
def test_a_bad_flag_value_names_the_flag_in_both_entry_points(
    workdir: Path, entry: tuple[str, ...]
) -> None:
    """The flag wins over the variable, so its value is the one refused, and named so."""
    run = subprocess.run(
        [sys.executable, *entry, "--timeout", "abc", "--php", "8.4", "--release", "v2.0.0"],
        env={**os.environ, "RESOLVE_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr == (
        "resolve: decision=none error=invalid-input\n"
        "error: --timeout 'abc' is not valid: use a number of seconds above 0 and at most 60\n"
        "  tip: correct the flag --timeout\n"
    )


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--php", "8.4", "--php", "9.9"], "--php given twice ('8.4', '9.9'); give it once"),
        (
            ["--release=v2.0.0", "--php", "8.4", "--release", "v1.0.0", "--release=v3.0.0"],
            "--release given 3 times ('v2.0.0', 'v1.0.0', 'v3.0.0'); give it once",
        ),
        (
            ["--format", "env", "--format", "json"],
            "--format given twice ('env', 'json'); give it once",
        ),
    ],
    ids=["php", "release-3-times", "format"],
)
def test_an_option_given_twice_is_refused_by_both_entry_points(
    workdir: Path, entry: tuple[str, ...], args: list[str], said: str
) -> None:
    """``--php 8.4 --php 9.9`` kept the last value without a word in the vendorable file,
    and started PHP 9.9: both entry points refuse it (exit 2, ``decision=none
    error=invalid-input``), naming the option and its values, before asking anything."""
    run = subprocess.run(
        [sys.executable, *entry, *args, "--use-prebuilt", "false"],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith("resolve: decision=none error=invalid-input\nerror: "), run.stderr
    assert said + "\n  tip: see `" in run.stderr
    # with --help in the line, the help is shown and nothing is run
    helped = subprocess.run(
        [sys.executable, *entry, *args, "--help"],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
    )
    assert helped.returncode == 0, helped.stderr
    assert "--php" in helped.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--php", "8.4", "extra"], "unrecognized arguments: extra"),
        (
            ["--format", "yaml"],
            "argument --format: invalid choice: 'yaml' (choose from 'text', 'env', 'json')",
        ),
        (["--php"], "argument --php: expected one argument"),
        (["--php", "-h"], "argument --php: expected one argument"),
        (["--php", "8.4", "--php", "8.3"], "--php given twice ('8.4', '8.3'); give it once"),
    ],
    ids=["unknown-flag", "extra-word", "bad-format", "no-value", "help-for-value", "twice"],
)
def test_a_refused_command_line_is_said_in_the_same_words_by_both_entry_points(
    workdir: Path, args: list[str], said: str
) -> None:
    """``publisher resolve --bogus`` said click's ``usage error: No such option`` where
    ``python -m publisher.resolve --bogus`` said ``unrecognized arguments``: both now say
    resolve.py's words (exit 2), each tip naming the entry point that was run."""
    runs = {
        entry: subprocess.run(
            [sys.executable, "-m", *entry.split(), *args],
            capture_output=True,
            text=True,
            cwd=workdir,
            timeout=60,
        )
        for entry in ("publisher.resolve", "publisher resolve")
    }
    for entry, run in runs.items():
        assert run.returncode == 2, run.stderr
        assert run.stdout == ""
        named = "publisher resolve" if entry == "publisher resolve" else "publisher.resolve"
        assert run.stderr == (
            "resolve: decision=none error=invalid-input\n"
            f"error: {said}\n"
            f"  tip: see `{run.stderr.split('`')[1]}`: each flag there also has an environment "
            "variable, named in brackets\n"
        ), run.stderr
        assert run.stderr.split("`")[1].endswith(f"{named} --help"), run.stderr


@pytest.mark.parametrize(
    ("entry", "usage"),
    [
        (("-m", "publisher.resolve"), "usage: python3 -m publisher.resolve [-h]"),
        ((str(ROOT / "publisher" / "resolve.py"),), "usage: resolve.py [-h]"),
    ],
    ids=["module", "file"],
)
def test_the_help_names_the_entry_point_that_was_run(
    workdir: Path, entry: tuple[str, ...], usage: str
) -> None:
    """``python -m publisher.resolve --help`` said ``usage: resolve.py``, a command that
    was not typed."""
    run = subprocess.run(
        [sys.executable, *entry, "--help"], capture_output=True, text=True, cwd=workdir, timeout=60
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.startswith(usage), run.stdout


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
def test_a_removed_working_directory_is_said_not_a_traceback(
    tmp_path: Path, entry: tuple[str, ...]
) -> None:
    gone = tmp_path / "stack"
    gone.mkdir()
    script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    run = subprocess.run(
        ["sh", "-c", script, "sh", str(gone), sys.executable, *entry],
        env={**os.environ, "STACK_RELEASE": "v2.0.0", "PHP_VERSION": "8.4"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == EXIT_CANNOT_PROCEED, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert run.stderr.startswith(
        "resolve: decision=none error=file-access\nerror: the current directory cannot be read"
    )
    assert 'cd "$PWD"' in run.stderr


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
@pytest.mark.parametrize("where", ["/dev/full", "closed"])
def test_a_decision_that_cannot_be_written_is_said_not_a_traceback(
    workdir: Path, where: str, entry: tuple[str, ...]
) -> None:
    """``resolve.py --format env > php.env`` on a full disk, or with stdout closed: exit 17
    and what to do, never a traceback (nor a truncated php.env read as an answer); the
    same from ``publisher resolve``, not the 18 of publisher's other commands."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STACK_RELEASE": RELEASE,
        "PHP_VERSION": "8.4",
        "USE_PREBUILT": "false",
        "DOCKER_CONFIG": str(workdir / "docker-config"),
    }
    redirect = ">/dev/full" if where == "/dev/full" else ">&-"
    run = subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", sys.executable, *entry, "--format", "env"],
        env=env, cwd=workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == EXIT_CANNOT_PROCEED, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(
        "resolve: decision=none error=file-access\nerror: cannot write the decision to stdout: "
    )
    assert "  tip: redirect stdout " in run.stderr


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
@pytest.mark.parametrize("redirect", ["2>/dev/full", "2>&-"], ids=["full", "closed"])
def test_a_stderr_that_cannot_be_written_keeps_resolves_exit_code(
    tmp_path: Path, redirect: str, entry: tuple[str, ...]
) -> None:
    """A stderr that cannot take resolve's messages loses them, never the exit code, from
    either entry point: a decision whose summary met a full stderr was exit 1 (a
    traceback, from resolve.py) or 18 (publisher resolve), and so was invalid input."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STACK_RELEASE": RELEASE,
        "USE_PREBUILT": "false",  # decided at once, offline: there is no Dockerfile here
        "PHP_IMAGE_PLATFORM": "linux/amd64",
    }

    def run(php: str, out: str) -> int:
        command = f'exec "$@" --php {php} --format env >{out} {redirect}'
        return subprocess.run(
            ["sh", "-c", command, "sh", sys.executable, *entry],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        ).returncode  # fmt: skip

    decided = tmp_path / "php.env"
    assert run("8.4", str(decided)) == EXIT_CANNOT_PROCEED
    assert decided.read_text(encoding="utf-8") == "PHP_DECISION='cannot-proceed'\n"
    assert run("8", str(decided)) == 2  # invalid input, said on the stderr that is lost
    assert run("8.4", "/dev/full") == EXIT_CANNOT_PROCEED  # nor can stdout take the decision


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
def test_a_stderr_whose_reader_has_gone_is_the_quiet_141(
    tmp_path: Path, entry: tuple[str, ...]
) -> None:
    """resolve.py ended with a traceback and exit 1 there, where publisher resolve (and
    every command of publisher's) stops quietly with 141, as a shell tool's SIGPIPE."""
    env = {**_no_decision_env(tmp_path), "PHP_IMAGE_PLATFORM": "linux/amd64"}
    read, write = os.pipe()
    os.close(read)
    try:
        with open(tmp_path / "php.env", "w", encoding="utf-8") as out:
            run = subprocess.run(
                [sys.executable, *entry, "--format", "env"],
                env=env, cwd=tmp_path, stdout=out, stderr=write, timeout=60, check=False,
            )  # fmt: skip
    finally:
        os.close(write)
    assert run.returncode == 141


@pytest.mark.parametrize(
    "entry",
    [(str(ROOT / "publisher/resolve.py"),), ("-m", "publisher", "resolve")],
    ids=["file", "cli"],
)
@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
def test_resolve_py_help_that_cannot_be_written_is_said_not_exit_0(
    tmp_path: Path, redirect: str, entry: tuple[str, ...]
) -> None:
    """`resolve.py --help` to a stdout that cannot take it printed nothing (argparse drops
    the failed write; with stdout closed, the help went to stderr) and exited 0: it is
    exit 17, `error=file-access`, as for a decision resolve cannot write. The same from
    `publisher resolve --help`, which was the 18 of publisher's other commands."""
    run = subprocess.run(
        ["sh", "-c", f'exec "$@" --help {redirect}', "sh", sys.executable, *entry],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == EXIT_CANNOT_PROCEED, run.stderr
    assert run.stderr.startswith(
        "resolve: decision=none error=file-access\nerror: cannot write the help to stdout: "
    )
    assert "usage:" not in run.stderr


def _no_decision_env(workdir: Path) -> dict[str, str]:
    """A run that decides at once, offline: USE_PREBUILT=false and no Dockerfile."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "STACK_RELEASE": RELEASE,
        "PHP_VERSION": "8.4",
        "USE_PREBUILT": "false",
        "DOCKER_CONFIG": str(workdir / "docker-config"),
    }


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
def test_ctrl_c_while_the_decision_is_written_leaves_none_of_it(
    workdir: Path, entry: tuple[str, ...]
) -> None:
    """Ctrl-C while the decision goes out (here: to a pipe its reader has not emptied):
    exit 130 and one line, and the reader finds no part of the decision."""
    reader, writer = os.pipe()
    os.set_blocking(writer, False)
    unread = 0
    with contextlib.suppress(BlockingIOError):
        while True:
            unread += os.write(writer, b"x" * 65536)
    os.set_blocking(writer, True)
    proc = subprocess.Popen(
        [sys.executable, *entry, "--format", "env"],
        env=_no_decision_env(workdir), cwd=workdir, stdout=writer, stderr=subprocess.PIPE,
        text=True, preexec_fn=default_stop_signals,
    )  # fmt: skip
    os.close(writer)
    try:
        wchan = Path(f"/proc/{proc.pid}/wchan")
        deadline = time.monotonic() + 60
        while "pipe_write" not in wchan.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "pipe_write" in wchan.read_text()  # blocked writing the decision
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    left = b""
    while chunk := os.read(reader, 65536):
        left += chunk
    os.close(reader)
    assert proc.returncode == 130, err
    assert err == "interrupted by SIGINT: stopped before finishing\n"
    assert left == b"x" * unread


@pytest.mark.parametrize(
    "entry", [("-m", "publisher.resolve"), ("-m", "publisher", "resolve")], ids=["file", "cli"]
)
def test_a_decision_cut_short_leaves_the_file_as_it_was(
    workdir: Path, entry: tuple[str, ...]
) -> None:
    """`>> php.env` whose file cannot grow past 512 bytes (`ulimit -f 1`) half-way through
    the decision: exit 17, and the file holds what it held, not part of a decision."""
    target = workdir / "php.env"
    target.write_text("# kept\n")
    run = subprocess.run(
        ["sh", "-c", f'ulimit -f 1 && exec "$@" >>"{target}"', "sh", sys.executable, *entry,
         "--format", "json"],
        env=_no_decision_env(workdir), cwd=workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == EXIT_CANNOT_PROCEED, run.stderr
    assert run.stderr.startswith(
        "resolve: decision=none error=file-access\nerror: cannot write the decision to stdout: "
    )
    assert target.read_text() == "# kept\n"


def test_ctrl_c_while_the_registry_is_asked_is_one_line_not_a_traceback(
    silent_server: Silent, workdir: Path
) -> None:
    """SIGINT once resolve has connected to the registry (not after a time: a loaded
    machine can take seconds to import publisher, and a signal then is a traceback)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STACK_RELEASE": RELEASE,
        "PHP_VERSION": "8.4",
        "DOCKER_CONFIG": str(workdir / "docker-config"),
        "PHP_IMAGE_REPOSITORY": f"{silent_server.host}/twentyi/php-fpm",
        "RESOLVE_TIMEOUT": "30",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher.resolve", "--format", "env"],
        env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_stop_signals,  # as from a terminal, even under `nohup ... &`
    )  # fmt: skip
    assert silent_server.accepted.wait(120), "resolve never asked the registry"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert (out, err) == ("", "interrupted by SIGINT: stopped before finishing\n")


# --------------------------------------------------------------------------- the pins file


def write_notes(
    workdir: Path,
    repository: str,
    digest: str,
    platforms: tuple[str, ...],
    base: str = "docker.io/library/busybox:stable",
) -> Path:
    """The release's pins file, rendered by publisher.core.pins from its record (a
    stand-in rehearsal's, as publish writes it)."""
    line = line_facts(
        "8.4",
        RELEASE,
        digest=digest,
        base_image=base,
        base_digest=None,
        platforms=dict.fromkeys(platforms, "sha256:" + "c" * 64),
        php_version="8.4.99-standin",
        tags=(f"{RELEASE}-php-8.4", RELEASE, "php-8.4", "latest"),
    )
    registries = (
        RegistryFacts("local", repository, True),
        RegistryFacts("mirror", f"{repository}-mirror", False),
    )
    facts = release_facts([line], RELEASE, registries=registries, stand_in=True)
    path = workdir / "release-notes" / f"{RELEASE}.env"
    path.parent.mkdir(exist_ok=True)
    path.write_text(pins.render(json.loads(release_json(facts, SizeHistory()))))
    return path


def test_notes_pin_by_digest(published: Published, workdir: Path) -> None:
    write_notes(workdir, published.up, published.up_digest, ("linux/amd64", "linux/arm64"))
    run = resolve_process(workdir, {})
    assert run.code == EXIT_USE_PREBUILT, run.stderr
    data = run.data
    assert data["image"] == f"{published.up}:{RELEASE}-php-8.4@{published.up_digest}"
    assert data["base_image"] == "docker.io/library/busybox:stable"
    assert data["stand_in"] is True
    assert "STAND-IN" in data["reason"]


def test_notes_digest_missing_from_the_registry(published: Published, workdir: Path) -> None:
    absent = "sha256:" + "9" * 64
    write_notes(workdir, published.up, absent, ("linux/amd64", "linux/arm64"))
    run = resolve_process(workdir, {"ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert run.code == EXIT_CANNOT_PROCEED
    assert run.data["availability"] == "not-on-registry"
    assert (
        f"{published.up}:{RELEASE}-php-8.4@{absent} is not on this registry (mirror not synced?)"
    ) in run.data["reason"]
    assert "not published" not in run.data["reason"]  # the pins say it is
    assert "try PREBUILT_REGISTRY=mirror" in run.data["fix"]


def test_a_head_answer_that_names_no_manifest_is_checked_by_a_get(
    published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    """A captive portal answers 200 to anything: by digest, a HEAD counts only when it
    names a manifest (its media type and digest); otherwise a GET decides."""
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    write_notes(
        workdir, f"{proxy.host}/{path}", published.up_digest, ("linux/amd64", "linux/arm64")
    )
    portal = b"<html>sign in to the hotel wi-fi</html>"
    proxy.add(
        Fault(
            "status",
            path="/manifests/",
            status=200,
            headers={"Content-Type": "text/html"},
            body=portal,
            times=None,
        )
    )
    run = resolve_process(workdir, {"ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert run.code == EXIT_CANNOT_PROCEED, run.stdout + run.stderr
    assert run.data["availability"] == "registry-error", run.data["reason"]
    assert proxy.count("HEAD", "manifest") == 1 and proxy.count("GET", "manifest") == 1

    proxy.clear()  # the real registry: its HEAD names the index, no GET is needed
    run = resolve_process(workdir, {"ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert run.code == EXIT_USE_PREBUILT, run.stdout + run.stderr
    assert proxy.count("HEAD", "manifest") == 1 and proxy.count("GET", "manifest") == 0


@pytest.mark.parametrize("status", [405, 501])
def test_a_registry_that_does_not_implement_head_is_asked_with_a_get(
    status: int, published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    """A registry answering 405 (or 501) to a HEAD of a manifest serves it to a GET: the
    decision is the same as where HEAD works, after one GET."""
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    write_notes(
        workdir, f"{proxy.host}/{path}", published.up_digest, ("linux/amd64", "linux/arm64")
    )
    body = json.dumps({"errors": [{"code": "UNSUPPORTED", "message": "HEAD not supported"}]})
    proxy.add(
        Fault(
            "status",
            method="HEAD",
            path="/manifests/",
            status=status,
            headers={"Content-Type": "application/json", "Allow": "GET"},
            body=body.encode(),
            times=None,
        )
    )
    run = resolve_process(workdir, {"ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert run.code == EXIT_USE_PREBUILT, run.stdout + run.stderr
    assert run.data["image"].endswith(f"@{published.up_digest}")
    assert proxy.count("HEAD", "manifest") == 1 and proxy.count("GET", "manifest") == 1


def test_a_tag_list_of_many_pages_names_the_published_lines_or_says_them_unknown(
    registry: LocalRegistry, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    """Without a pins file, the published lines come from the registry's tag list, read
    page after page (a registry paging by fewer tags than asked, as hosted ones do, with the
    release's pins on its last pages): every page before the deadline. One that does not
    come in time leaves the lines unknown, said so, never "none"."""
    repo = f"resolve-pages-{os.urandom(3).hex()}/php-fpm"
    others = [f"ci-{n:05d}" for n in range(12)]  # listed before the release's pins
    push_raw(
        f"http://{registry.host}",
        repo,
        stand_in(seed=4),
        [*others, f"{RELEASE}-php-8.3", f"{RELEASE}-php-8.5"],
    )
    proxy = proxy_for(registry.host)
    paged = Fault("paginate", path="/tags/list", page_size=2, times=None)
    proxy.add(paged)
    env = {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{repo}", "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    run = resolve_process(workdir, {**env, "RESOLVE_TIMEOUT": "30"})
    assert run.code == EXIT_CANNOT_PROCEED, run.stdout + run.stderr
    assert run.data["published_lines"] == ["8.3", "8.5"], run.data["reason"]
    assert "; published lines: 8.3, 8.5" in run.data["reason"]
    assert "a published line (8.3, 8.5)" in run.data["fix"]
    assert proxy.count("GET", "tags") == 7  # every page, once

    proxy.clear()  # page 4 does not come before the deadline
    proxy.add(Fault("stall", path="last=ci-00005", stall_seconds=30), paged)
    run = resolve_process(workdir, {**env, "RESOLVE_TIMEOUT": "3"})
    assert run.code == EXIT_CANNOT_PROCEED, run.stdout + run.stderr
    assert run.data["availability"] == "not-published", run.data["reason"]
    assert run.data["published_lines"] is None
    assert (
        "; published lines: unknown (no pins file, and the registry listed only part of its "
        "tags: page 4 of its tags did not come within the 3 s deadline (6 tags read))"
    ) in run.data["reason"], run.data["reason"]
    proxy.release()


def test_a_tag_list_link_is_followed_on_the_registry_and_on_no_other_host(
    registry: LocalRegistry, proxy_for: Callable[[Any], FaultProxy]
) -> None:
    """The probe reads a tag list whose next-page Link is absolute, naming the registry as
    it was given, page after page; one naming it by another name (a proxy rewriting Link
    to localhost) is not followed with the registry's credentials: the list is said read
    in part, naming the Link, never taken whole from its first page."""
    repo = f"resolve-links-{os.urandom(3).hex()}/php-fpm"
    tags = [f"ci-{n:05d}" for n in range(4)] + [f"{RELEASE}-php-8.3"]
    push_raw(f"http://{registry.host}", repo, stand_in(seed=5), tags)
    proxy = proxy_for(registry.host)
    paged = Fault("paginate", path="/tags/list", page_size=2, times=None)
    target = probing.Target(proxy.host, repo, f"{RELEASE}-php-8.4", HOST, plain_http=True)
    proxy.add(replace(paged, link_host=proxy.host))
    found = probing.probe(target, timeout=10, env={})
    assert found.status is probing.Status.NOT_PUBLISHED, found.detail
    assert (found.tags, found.tags_cut) == (tuple(tags), None)
    assert proxy.count("GET", "tags") == 3

    proxy.clear()
    elsewhere = f"localhost:{proxy.port}"
    proxy.add(replace(paged, link_host=elsewhere))
    cut = probing.probe(target, timeout=10, env={})
    assert cut.status is probing.Status.NOT_PUBLISHED, cut.detail
    assert cut.tags is None
    assert cut.tags_cut == (
        f"the next-page Link of page 1 of its tags names another host (http://{elsewhere}), "
        "not followed with the registry's credentials"
    ), cut.tags_cut
    assert proxy.count("GET", "tags") == 1


def test_notes_name_the_published_lines_without_asking(
    silent_server: Silent, workdir: Path
) -> None:
    # The registry never answers, and is never asked: the notes alone decide that 8.6
    # has no image (asked, it would have taken a connection).
    repository = f"{silent_server.host}/twentyi/php-fpm"
    write_notes(workdir, repository, "sha256:" + "1" * 64, (HOST,))
    run = resolve_process(workdir, {"PHP_VERSION": "8.6", "ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert run.code == EXIT_CANNOT_PROCEED
    reason = run.data["reason"]
    assert "PHP 8.6 is not published for release v2.0.0" in reason
    assert "published lines: 8.4" in reason
    assert not silent_server.accepted.is_set()


# --------------------------------------------------------------------------- auth


def test_basic_auth(basic_registry: Any, workdir: Path) -> None:
    session = basic_registry.session()
    repo = f"resolve-{os.urandom(3).hex()}/basic"
    push_raw(basic_registry.registry.url, repo, stand_in(), [f"{RELEASE}-php-8.4"], session=session)
    env = {
        "PHP_IMAGE_REPOSITORY": f"{basic_registry.host}/{repo}",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
    }

    anonymous = resolve_process(workdir, env)
    assert anonymous.code == EXIT_CANNOT_PROCEED
    assert "authentication required" in anonymous.data["reason"]
    assert f"docker login {basic_registry.host}" in anonymous.data["fix"]

    with_env = resolve_process(
        workdir,
        {
            **env,
            probing.ENV_USERNAME: basic_registry.username,
            probing.ENV_PASSWORD: basic_registry.password,
        },
    )
    assert with_env.code == EXIT_USE_PREBUILT, with_env.stderr
    assert basic_registry.password not in with_env.stdout + with_env.stderr

    wrong = resolve_process(
        workdir,
        {**env, probing.ENV_USERNAME: basic_registry.username, probing.ENV_PASSWORD: "nope-wrong"},
    )
    assert wrong.code == EXIT_CANNOT_PROCEED
    assert "refused the credentials" in wrong.data["reason"]
    # the tip says they were refused, not to set what is set
    assert wrong.data["fix"].startswith(
        f"correct {probing.ENV_USERNAME} and {probing.ENV_PASSWORD} ({basic_registry.host} "
        "refused them; they are tried before any `docker login`), or unset both and run "
        f"`docker login {basic_registry.host}`; "
    ), wrong.data["fix"]

    config = {
        "auths": {
            basic_registry.host: {
                "username": basic_registry.username,
                "password": basic_registry.password,
            }
        }
    }
    (workdir / "docker-config" / "config.json").write_text(json.dumps(config))
    from_config = resolve_process(workdir, env)
    assert from_config.code == EXIT_USE_PREBUILT, from_config.stderr


def _helper(folder: Path, name: str, body: str) -> None:
    helper = folder / f"docker-credential-{name}"
    helper.write_text(f"#!/bin/sh\n{body}\n")
    helper.chmod(0o755)


def _running(pid: str) -> bool:
    """Whether process ``pid`` runs (a zombie, killed and not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def basic_repository(basic_registry: Any) -> str:
    """A repository on the registry that wants a login, holding the 8.4 pin."""
    repo = f"resolve-{os.urandom(3).hex()}/basic"
    session = basic_registry.session()
    push_raw(basic_registry.registry.url, repo, stand_in(), [f"{RELEASE}-php-8.4"], session=session)
    return f"{basic_registry.host}/{repo}"


CONFIG_PROBLEMS = {
    # case: (config.json, what the reason says, how the fix begins)
    "not JSON": ("{broken", "the docker config is not valid JSON (", "fix or remove it"),
    "auth not base64": (
        {"auths": {"HOST": {"auth": "%%%"}}},
        "'auth' value in",
        "run `docker login` again for this registry",
    ),
    "auth without a colon": (
        {"auths": {"HOST": {"auth": _b64("tester")}}},
        "is not base64 of user:password",
        "run `docker login` again for this registry",
    ),
    "identity token": (
        {"auths": {"HOST": {"auth": _b64("tester:"), "identitytoken": "refresh-me"}}},
        "holds an identity token (an OAuth login, as `az acr login` writes), which is not "
        "supported",
        "log in with a username and a password or access token instead",
    ),
    "helper garbage": (
        {"credHelpers": {"HOST": "garbage"}},
        "docker-credential-garbage gave an unreadable answer",
        "`echo HOST | docker-credential-garbage get` shows what it prints",
    ),
    "helper fails": (
        {"credHelpers": {"HOST": "fails"}},
        "docker-credential-fails failed (exit 1)",
        "check `docker login` for this registry",
    ),
}


@pytest.mark.parametrize("case", list(CONFIG_PROBLEMS))
def test_a_docker_config_problem_is_named_as_the_likely_cause(
    basic_registry: Any, basic_repository: str, workdir: Path, case: str
) -> None:
    """resolve still asks anonymously, but says why the docker config gave no credentials,
    and its fix names that first, not only `docker login`."""
    config, reason, fix = CONFIG_PROBLEMS[case]
    host = basic_registry.host
    text = config if isinstance(config, str) else json.dumps(config)
    (workdir / "docker-config" / "config.json").write_text(text.replace("HOST", host))
    helpers = workdir / "helpers"
    helpers.mkdir()
    _helper(helpers, "garbage", "echo garbage")
    _helper(helpers, "fails", "echo boom; exit 1")
    env = {
        "PHP_IMAGE_REPOSITORY": basic_repository,
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "PATH": f"{helpers}:{os.environ['PATH']}",
    }
    answer = resolve_process(workdir, env)
    assert answer.code == EXIT_CANNOT_PROCEED, answer.stderr
    assert answer.data["availability"] == "auth-required"
    assert answer.data["reason"].startswith(f"authentication required: {host} requires"), (
        answer.data["reason"]
    )
    assert "(asked without credentials: " in answer.data["reason"]
    assert reason.replace("HOST", host) in answer.data["reason"], answer.data["reason"]
    assert answer.data["fix"].startswith(fix.replace("HOST", host)), answer.data["fix"]
    assert (
        "(the docker config's problem is the likely cause); else run `docker login"
        in (answer.data["fix"])
    )


def test_a_docker_config_problem_is_no_likely_cause_of_a_registry_down(
    published: Published, workdir: Path
) -> None:
    """Offline, the network comes first; the docker config's problem is still said."""
    (workdir / "docker-config" / "config.json").write_text("{broken")
    answer = resolve_process(
        workdir, {"PHP_IMAGE_REPOSITORY": published.down, "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    )
    assert answer.code == EXIT_CANNOT_PROCEED, answer.stderr
    assert answer.data["availability"] == "unreachable"
    assert (
        "(nor did the docker config give credentials: the docker config is not valid JSON"
        in (answer.data["reason"])
    ), answer.data["reason"]
    assert answer.data["fix"].startswith("check the network or proxy"), answer.data["fix"]
    assert "; and for the docker config: fix or remove it" in answer.data["fix"]


def test_a_hanging_credential_helper_is_named_and_stopped_with_its_children(
    basic_registry: Any, basic_repository: str, workdir: Path
) -> None:
    """A helper that never answers (a locked keychain) is named, not the registry, within
    the timeout; its process group is killed, its own children too."""
    host = basic_registry.host
    (workdir / "docker-config" / "config.json").write_text(
        json.dumps({"credHelpers": {host: "hangs"}})
    )
    helpers, pids = workdir / "helpers", workdir / "helper.pids"
    helpers.mkdir()
    _helper(helpers, "hangs", f"echo $$ >>'{pids}'\nsleep 60 &\necho $! >>'{pids}'\nwait")
    env = {
        "PHP_IMAGE_REPOSITORY": basic_repository,
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "RESOLVE_TIMEOUT": "1",
        "PATH": f"{helpers}:{os.environ['PATH']}",
    }
    try:
        answer = resolve_process(workdir, env)
        assert answer.code == EXIT_CANNOT_PROCEED, answer.stderr
        assert answer.seconds < 3, answer.seconds
        assert answer.data["availability"] == "unreachable"
        assert answer.data["reason"].startswith(
            "the docker credential helper docker-credential-hangs did not answer within 0.8 s: "
            f"{host} was not asked"
        ), answer.data["reason"]
        assert answer.data["fix"].startswith(
            "a credential helper (docker-credential-hangs) may be waiting, for a locked keychain "
            f"or a pinentry: unlock it, and check that `echo {host} | docker-credential-hangs get "
            ">/dev/null` ends; else check the network or proxy"
        ), answer.data["fix"]
        time.sleep(0.2)
        left = [pid for pid in pids.read_text().split() if _running(pid)]
        assert not left, "the helper's processes were left running"
    finally:
        for pid in pids.read_text().split() if pids.exists() else ():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("key", ["https://HOST/", "http://HOST/", "HOST/", "https://HOST/v2/"])
def test_every_docker_config_key_docker_reads_for_the_host_is_read(
    basic_registry: Any, basic_repository: str, workdir: Path, key: str
) -> None:
    """docker reads a key by its host alone (scheme and path dropped): so does resolve."""
    host = basic_registry.host
    entry = {"auth": _b64(f"{basic_registry.username}:{basic_registry.password}")}
    (workdir / "docker-config" / "config.json").write_text(
        json.dumps({"auths": {key.replace("HOST", host): entry}})
    )
    env = {"PHP_IMAGE_REPOSITORY": basic_repository, "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    answer = resolve_process(workdir, env)
    assert answer.code == EXIT_USE_PREBUILT, answer.stderr


def _bearer_session(token_registry: Any, repo: str) -> requests.Session:
    pusher = token_registry.pusher
    answer = requests.get(
        token_registry.server.realm,
        params={"scope": f"repository:{repo}:pull,push", "service": "publisher-test-registry"},
        auth=(pusher.username, pusher.password),
        timeout=10,
    )
    answer.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return session


def test_bearer_token_auth(token_registry: Any, workdir: Path) -> None:
    repo = f"resolve-{os.urandom(3).hex()}/token"
    push_raw(
        token_registry.registry.url,
        repo,
        stand_in(),
        [f"{RELEASE}-php-8.4"],
        session=_bearer_session(token_registry, repo),
    )
    env = {
        "PHP_IMAGE_REPOSITORY": f"{token_registry.host}/{repo}",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
    }
    token_registry.server.clear()

    anonymous = resolve_process(workdir, env)  # this token service grants anonymous pulls
    assert anonymous.code == EXIT_USE_PREBUILT, anonymous.stderr
    assert token_registry.server.scopes_requested() == [[f"repository:{repo}:pull"]]

    reader = token_registry.reader
    as_reader = resolve_process(
        workdir,
        {**env, probing.ENV_USERNAME: reader.username, probing.ENV_PASSWORD: reader.password},
    )
    assert as_reader.code == EXIT_USE_PREBUILT, as_reader.stderr
    assert reader.password not in as_reader.stdout + as_reader.stderr

    wrong = resolve_process(
        workdir,
        {**env, probing.ENV_USERNAME: reader.username, probing.ENV_PASSWORD: "wrong-password"},
    )
    assert wrong.code == EXIT_CANNOT_PROCEED
    assert "authentication required" in wrong.data["reason"]
    assert "refused the credentials" in wrong.data["reason"]


# --------------------------------------------------------------------------- slow and broken registries


@pytest.fixture
def silent_server() -> Iterator[Silent]:
    """Accepts connections and never answers: the probe must give up at its timeout."""
    with Silent() as silent:
        yield silent


def test_a_silent_registry_is_bounded_by_the_timeout(silent_server: Silent, workdir: Path) -> None:
    run = resolve_process(
        workdir,
        {"PHP_IMAGE_REPOSITORY": f"{silent_server.host}/twentyi/php-fpm", "RESOLVE_TIMEOUT": "0.5"},
    )
    assert run.code == EXIT_BUILD_LOCALLY
    assert "offline or unreachable" in run.data["reason"]
    # named as start.sh names it: the host with its port, and the seconds it had
    assert f"no answer from {silent_server.host} within 0.5 s" in run.data["reason"]
    # Bounded by the timeout, not by the silent server (which never answers): a wide
    # margin for the interpreter's start on a loaded machine.
    assert run.seconds < 0.5 + 9.5


def test_probe_deadline_in_process(silent_server: Silent) -> None:
    target = probing.Target(silent_server.host, "a/b", "v1.0.0-php-8.4", HOST, plain_http=True)
    start = time.monotonic()
    result = probing.probe(target, timeout=0.3, env={})
    elapsed = time.monotonic() - start
    assert result.status is probing.Status.UNREACHABLE
    assert 0.25 <= elapsed < 5  # the deadline ends it (a silent server never answers)


def test_a_failing_registry_falls_back(
    published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    proxy.add(Fault("status", method="GET", path="/manifests/", status=503, times=None))
    run = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{path}"})
    assert run.code == EXIT_BUILD_LOCALLY
    assert f"registry {proxy.host} failed" in run.data["reason"]
    assert "HTTP 503" in run.data["reason"]
    assert run.data["availability"] == "registry-error"


def test_use_prebuilt_false_sends_no_request(
    published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    run = resolve_process(
        workdir, {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{path}", "USE_PREBUILT": "false"}
    )
    assert run.code == EXIT_BUILD_LOCALLY
    assert proxy.count() == 0
    on = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{path}"})
    assert on.code == EXIT_USE_PREBUILT
    assert proxy.count(kind="manifest") == 2  # the index, and this platform's image manifest


def test_single_platform_manifest_is_checked_through_its_config(
    registry: LocalRegistry, workdir: Path
) -> None:
    image = stand_in((HOST,), seed=7).images[0]
    repo = f"resolve-{os.urandom(3).hex()}/single"
    push_raw(registry.url, repo, image, [f"{RELEASE}-php-8.4"])
    run = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": f"{registry.host}/{repo}"})
    assert run.code == EXIT_USE_PREBUILT, run.stderr
    other = stand_in((OTHER,), seed=8).images[0]
    push_raw(registry.url, repo, other, [f"{RELEASE}-php-8.4"])
    run = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": f"{registry.host}/{repo}"})
    assert run.code == EXIT_BUILD_LOCALLY
    assert f"platform {HOST} missing" in run.data["reason"]


def test_a_32_bit_arm_engine_takes_an_arm_v7_image_as_docker_does(registry: LocalRegistry) -> None:
    """A 32-bit ARM engine names its platform linux/arm (`docker version`, and resolve from
    `uname -m` armv7l): an index's linux/arm/v7 image is the one `docker pull --platform
    linux/arm` takes, as the launcher pulls a base. resolve once called it missing, so a
    fallback stopped on a base the launcher built on."""
    repo = f"resolve-{os.urandom(3).hex()}/arm"
    push_raw(registry.url, repo, stand_in(("linux/amd64", "linux/arm/v7"), seed=11), ["8.4"])
    target = probing.Target(registry.host, repo, "8.4", "linux/arm", plain_http=True)
    found = probing.probe(target, timeout=10, env={})
    assert found.status is probing.Status.AVAILABLE, found.detail
    assert found.platforms == ("linux/amd64", "linux/arm/v7")
    missing = probing.probe(replace(target, platform="linux/arm64"), timeout=10, env={})
    assert missing.status is probing.Status.PLATFORM_MISSING, missing.detail


# --------------------------------------------------------------------------- the click command, imports


def test_click_command_matches_the_light_entry_point(
    published: Published, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.cli import main

    monkeypatch.chdir(workdir)
    env = {
        "PHP_IMAGE_REPOSITORY": published.tag_missing,
        "DOCKER_CONFIG": str(workdir / "docker-config"),
    }
    result = CliRunner().invoke(
        main,
        [
            "resolve",
            "--php",
            "8.4",
            "--release",
            RELEASE,
            "--allow-fallback",
            "false",
            "--format",
            "env",
        ],
        env=env,
    )
    assert result.exit_code == EXIT_CANNOT_PROCEED, result.output
    assert result.stdout == "PHP_DECISION='cannot-proceed'\n"
    assert "published lines: 8.3, 8.5" in result.stderr
    light = resolve_process(workdir, {**env, "ALLOW_LOCAL_BUILD_FALLBACK": "false"})
    assert light.code == EXIT_CANNOT_PROCEED
    result = CliRunner().invoke(
        main, ["resolve", "--php", "8.4", "--release", RELEASE, "--use-prebuilt", "maybe"]
    )
    assert result.exit_code == 2
    assert "--use-prebuilt 'maybe' is not valid" in result.stderr  # the flag, as given
    assert "  tip: correct the flag --use-prebuilt\n" in result.stderr


def test_resolve_imports_stay_light() -> None:
    code = (
        "import sys, publisher.resolve\n"
        "heavy = {'click', 'requests', 'oras', 'jinja2', 'rich', 'yaml', 'urllib3', 'tenacity', 'github'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.strip() == "[]"


def test_hostile_answers_are_clean_errors(
    published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    env = {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{path}", "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    cases = [
        (Fault("truncate", method="GET", path="/manifests/", times=None), "truncated response"),
        (Fault("body", method="GET", path="/manifests/", body=b"{not json", times=None), "digest"),
        (
            Fault(
                "body", method="GET", path="/manifests/", body=b"[1]", fix_digest=True, times=None
            ),
            "not an object",
        ),
        (
            Fault(
                "huge", method="GET", path="/manifests/", status=200, huge_bytes=8 << 20, times=None
            ),
            "sent more than",
        ),
        (
            Fault(
                "status",
                method="GET",
                path="/manifests/",
                status=307,
                headers={"Location": "http://127.0.0.1:99999/v2/x/manifests/y"},
                times=None,
            ),
            "refusing to follow the URL 'http://127.0.0.1:99999/v2/x/manifests/y'",
        ),
        (
            Fault(
                "status",
                method="GET",
                path="/manifests/",
                status=307,
                headers={"Location": "http://[bad"},
                times=None,
            ),
            "refusing to follow the URL 'http://[bad'",
        ),
        # JSON nested past Python's recursion limit: a RecursionError, not a ValueError
        (
            Fault(
                "body",
                method="GET",
                path="/manifests/",
                body=b"[" * 100_000,
                fix_digest=True,
                times=None,
            ),
            "not JSON",
        ),
        (
            Fault(
                "status",
                method="GET",
                path="/manifests/",
                status=400,
                body=b"[" * 60_000,
                times=None,
            ),
            "HTTP 400",
        ),
    ]
    for fault, phrase in cases:
        proxy.clear()
        proxy.add(fault)
        run = resolve_process(workdir, env)
        assert run.code == EXIT_CANNOT_PROCEED, (fault.action, run.stderr)
        assert run.data["availability"] == "registry-error", (fault.action, run.data["reason"])
        assert phrase in run.data["reason"], (fault.action, run.data["reason"])
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (b"HTTP/1.1 " + b"2" * 5000 + b" OK\r\n\r\n", "status"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n{}", "Content-Length"),
    ],
    ids=["status", "content-length"],
)
def test_numbers_of_thousands_of_digits_in_an_answer_are_clean_errors(
    answer: bytes, phrase: str, workdir: Path
) -> None:
    """A status or Content-Length of 5000 digits (Python's int() refuses such strings):
    a registry error naming the field, never a traceback."""
    server = FixedAnswer("200 OK", {}, b"")
    server.answer = answer
    with server:
        env = {
            "PHP_IMAGE_REPOSITORY": f"{server.host}/acme/php",
            "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        }
        run = resolve_process(workdir, env)
    assert run.code == EXIT_CANNOT_PROCEED, run.stderr
    assert run.data["availability"] == "registry-error", run.data["reason"]
    assert phrase in run.data["reason"] and len(run.data["reason"]) < 400
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("env", "args", "code"),
    [
        ({"PHP_PINS_FILE": "/tmp/" + "p" * 300}, (), 3),
        ({"PHP_PINS_FILE": "/tmp/" + "p" * 300 + "/"}, (), 3),
        ({"PHP_DOCKERFILES": "/tmp/" + "d" * 300, "USE_PREBUILT": "false"}, (), 17),
        ({}, ("--matrix", "/tmp/" + "m" * 300), 2),
    ],
    ids=["pins-file", "pins-directory", "dockerfiles", "matrix"],
)
def test_a_path_too_long_for_the_file_system_is_a_clean_answer(
    workdir: Path, env: dict[str, str], args: tuple[str, ...], code: int
) -> None:
    """A name the system cannot even look up (ENAMETOOLONG) is a file that is not there."""
    run = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": "127.0.0.1:9/acme/php", **env}, *args)
    assert run.code == code, run.stderr
    assert "Traceback" not in run.stderr


def test_a_registry_echoing_credentials_leaks_nothing(
    basic_registry: Any, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    session = basic_registry.session()
    repo = f"resolve-{os.urandom(3).hex()}/echo"
    push_raw(basic_registry.registry.url, repo, stand_in(), [f"{RELEASE}-php-8.4"], session=session)
    proxy = proxy_for(basic_registry)
    # The first manifest GET is anonymous (401 challenge); the second carries the credentials.
    proxy.add(Fault("echo", method="GET", path="/manifests/", status=403, skip=1, times=None))
    run = resolve_process(
        workdir,
        {
            "PHP_IMAGE_REPOSITORY": f"{proxy.host}/{repo}",
            "ALLOW_LOCAL_BUILD_FALLBACK": "false",
            probing.ENV_USERNAME: basic_registry.username,
            probing.ENV_PASSWORD: basic_registry.password,
        },
    )
    assert run.code == EXIT_CANNOT_PROCEED
    assert "refused the credentials" in run.data["reason"]
    secret_forms = [
        basic_registry.password,
        probing.BasicCredentials(basic_registry.username, basic_registry.password).header()[6:],
    ]
    for form in secret_forms:
        assert form not in run.stdout + run.stderr


def test_chunked_answers_are_read(
    published: Published, proxy_for: Callable[[Any], FaultProxy], workdir: Path
) -> None:
    registry_host, path = published.up.split("/", 1)
    proxy = proxy_for(registry_host)
    proxy.add(Fault("chunked", method="GET", path="/manifests/", times=None))
    run = resolve_process(workdir, {"PHP_IMAGE_REPOSITORY": f"{proxy.host}/{path}"})
    assert run.code == EXIT_USE_PREBUILT, run.stderr
    assert proxy.count(kind="manifest") == 2


def test_https_registry(https_registry: HttpsRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe's TLS path, against the distribution registry serving HTTPS."""
    host = https_registry.host
    repo = "resolve/tls"
    push_raw(
        f"https://{host}", repo, stand_in(), [f"{RELEASE}-php-8.4"], session=https_registry.session
    )
    target = probing.Target(host, repo, f"{RELEASE}-php-8.4", HOST, plain_http=False)

    untrusted = probing.probe(target, timeout=5, env={})
    assert untrusted.status is probing.Status.UNREACHABLE
    assert "certificate verify failed" in untrusted.detail

    monkeypatch.setenv("SSL_CERT_FILE", str(https_registry.cert))
    trusted = probing.probe(target, timeout=5, env={})
    assert trusted.status is probing.Status.AVAILABLE, trusted.detail
    assert trusted.platforms == ("linux/amd64", "linux/arm64")

    # Through an HTTPS_PROXY (CONNECT): the name resolves only at the proxy.
    port = host.rsplit(":", 1)[1]
    named = probing.Target(f"registry.test:{port}", repo, f"{RELEASE}-php-8.4", HOST)
    with ConnectProxy({"registry.test": "127.0.0.1"}, credentials="bob:pr0xy") as proxy:
        via = probing.probe(named, timeout=5, env={"HTTPS_PROXY": proxy.url("bob:pr0xy")})
        assert via.status is probing.Status.AVAILABLE, via.detail
        assert proxy.requests[0] == f"CONNECT registry.test:{port}"
        refused = probing.probe(named, timeout=5, env={"https_proxy": proxy.url("bob:x")})
        assert refused.status is probing.Status.UNREACHABLE
        assert f"the proxy {proxy.host} (https_proxy) wants other credentials (HTTP 407)" in (
            refused.detail
        )
        assert "pr0xy" not in refused.detail and "bob:x" not in refused.detail


# --------------------------------------------------------------------------- proxies, matrix.yaml, Python 3.9


def test_http_proxy_no_proxy_and_loopback(published: Published) -> None:
    """HTTP_PROXY forwards (a name only the proxy resolves), NO_PROXY and loopback go direct."""
    registry_host, path = published.up.split("/", 1)
    port = registry_host.rsplit(":", 1)[1]
    named = probing.Target(
        f"registry.test:{port}", path, f"{RELEASE}-php-8.4", HOST, plain_http=True
    )
    with ConnectProxy({"registry.test": "127.0.0.1"}, credentials="alice:s3cret") as proxy:
        via = probing.probe(named, timeout=5, env={"HTTP_PROXY": proxy.url("alice:s3cret")})
        assert via.status is probing.Status.AVAILABLE, via.detail
        assert proxy.requests[0] == (
            f"GET http://registry.test:{port}/v2/{path}/manifests/{RELEASE}-php-8.4"
        )
        served = len(proxy.requests)

        wrong = probing.probe(named, timeout=5, env={"http_proxy": proxy.url("alice:nope")})
        assert wrong.status is probing.Status.UNREACHABLE
        assert "wants other credentials (HTTP 407)" in wrong.detail
        assert "nope" not in wrong.detail and "s3cret" not in wrong.detail
        served = len(proxy.requests)

        env = {
            "HTTP_PROXY": proxy.url("alice:s3cret"),
            # an entry whose port is thousands of digits matches nothing, without a crash
            "NO_PROXY": "registry.test:" + "9" * 5000 + ", example.com, .test",
        }
        direct = probing.probe(named, timeout=5, env=env)
        assert direct.status is probing.Status.UNREACHABLE  # registry.test does not resolve here
        assert "digits" not in direct.detail, direct.detail
        loopback = probing.Target(registry_host, path, f"{RELEASE}-php-8.4", HOST, plain_http=True)
        local = probing.probe(loopback, timeout=5, env={"HTTP_PROXY": proxy.url()})
        assert local.status is probing.Status.AVAILABLE, local.detail
        assert len(proxy.requests) == served  # neither went through the proxy


def test_an_unrelated_matrix_yaml_in_the_working_directory_changes_nothing(
    published: Published, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PHP_IMAGE_REPOSITORY": published.tag_missing, "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    before = resolve_process(workdir, env)
    (workdir / "matrix.yaml").write_text("include:\n  - {php: '8.4', os: ubuntu-latest}\n")
    after = resolve_process(workdir, env)
    assert (after.code, after.data) == (before.code, before.data)
    assert after.code == EXIT_CANNOT_PROCEED

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    monkeypatch.chdir(workdir)
    result = CliRunner().invoke(
        main,
        ["resolve", "--format", "json"],
        env={
            **env,
            "PHP_VERSION": "8.4",
            "STACK_RELEASE": RELEASE,
            "DOCKER_CONFIG": str(workdir / "docker-config"),
        },
    )
    assert result.exit_code == EXIT_CANNOT_PROCEED, result.output
    assert json.loads(result.stdout)["reason"] == after.data["reason"]


def python39() -> str | None:
    found = sorted(Path.home().glob(".pyenv/versions/3.9.*/bin/python3.9"))
    return str(found[-1]) if found else shutil.which("python3.9")


def test_the_single_file_runs_on_python_3_9_without_packages(
    published: Published,
    workdir: Path,
    base_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """resolve.py copied alone, run by a bare Python 3.9 venv (no third-party package)."""
    interpreter = python39()
    if interpreter is None:
        # No apt suite or index reachable here ships CPython 3.9 (Debian 12 has 3.11), so
        # setup-machine cannot install one; the machine image's pyenv has it. Without it,
        # tests/unit/test_resolve.py still parses the file with the 3.9 grammar.
        pytest.skip("needs Python 3.9 (~/.pyenv/versions/3.9.*, or python3.9 on PATH)")
    bare = tmp_path_factory.mktemp("py39") / "venv"
    subprocess.run([interpreter, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    vendored = tmp_path_factory.mktemp("vendored") / "resolve.py"
    shutil.copy(ROOT / "publisher" / "resolve.py", vendored)
    probe_yaml = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2]); import yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe_yaml.stdout.strip() == "(3, 9)"
    assert "ModuleNotFoundError" in probe_yaml.stderr  # a bare interpreter indeed

    write_notes(
        workdir, published.up, published.up_digest, ("linux/amd64", "linux/arm64"), base_image
    )
    (workdir / "matrix.yaml").write_text("include: []\n")  # never read
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "DOCKER_CONFIG": str(workdir / "docker-config"),
        "STACK_RELEASE": RELEASE,
        "PHP_VERSION": "8.4",
    }
    outcomes = {}
    for name, extra in (
        ("up", {}),
        ("refused", {"PHP_IMAGE_REPOSITORY": published.down, "RESOLVE_TIMEOUT": "1"}),
        ("8.6", {"PHP_VERSION": "8.6", "ALLOW_LOCAL_BUILD_FALLBACK": "false"}),
    ):
        proc = subprocess.run(
            [python, "-I", str(vendored), "--format", "json"],
            cwd=workdir,
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        outcomes[name] = (proc.returncode, json.loads(proc.stdout)["decision"])
        light = resolve_process(workdir, extra)  # the package, on this interpreter
        assert (light.code, light.data["decision"]) == outcomes[name], name
    assert outcomes == {
        "up": (EXIT_USE_PREBUILT, "use-prebuilt"),
        "refused": (EXIT_BUILD_LOCALLY, "build-locally"),
        "8.6": (EXIT_CANNOT_PROCEED, "cannot-proceed"),
    }
    env = subprocess.run(
        [python, "-I", str(vendored), "--format", "env"],
        cwd=workdir,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )
    assert env.stdout.startswith("PHP_DECISION='use-prebuilt'\n"), env.stderr

    older = sorted(Path.home().glob(".pyenv/versions/3.8.*/bin/python3.8"))
    if older:  # an older interpreter is told what it needs, not shown a traceback
        old = subprocess.run(
            [str(older[-1]), "-I", str(vendored), "--help"], capture_output=True, text=True
        )
        assert old.returncode == 17  # cannot proceed, as the exit-code table says
        # Worded as every refusal of resolve's (docs/consumers.md): `error:`, then `  tip:`.
        version = older[-1].parent.parent.name
        assert old.stderr == (
            "resolve: decision=none error=python-too-old\n"
            f"error: resolve.py needs Python 3.9 or newer, this is {version}\n"
            "  tip: install a newer python3, or start the stack with start.sh, which needs no "
            "Python\n"
        )
        assert old.stdout == ""


@pytest.mark.parametrize(
    ("name", "value", "formats"),
    [("PMA_IMAGE", "x'y", ("env", "json", "text")), ("PHP_DOCKERFILES", "it's", ("env",))],
    ids=["pma", "path"],
)
def test_a_value_the_env_file_cannot_hold_is_refused_before_any_decision(
    published: Published, workdir: Path, name: str, value: str, formats: tuple[str, ...]
) -> None:
    """A value ``--format env`` cannot write safely is invalid input, said before any
    decision or request: one ``decision=`` line (``none``). PMA_IMAGE holding a quote
    (no image reference does) is refused in every format, as start.sh refuses it; a
    Dockerfile folder holding one is a path, refused only where it cannot be written."""
    if name == "PHP_DOCKERFILES":
        shutil.copytree(workdir / "dockerfiles", workdir / value)
    env = {"PHP_IMAGE_REPOSITORY": published.up, name: value}
    for fmt in formats:
        run = resolve_process(workdir, env, fmt=fmt)
        assert run.code == 2, (fmt, run.stderr)
        assert run.stdout == "", fmt
        decisions = [line for line in run.stderr.splitlines() if "decision=" in line]
        assert decisions == ["resolve: decision=none error=invalid-input"], (fmt, run.stderr)
        assert f"error: {name.removesuffix('S')}" in run.stderr, run.stderr


def test_a_flag_it_does_not_know_is_answered_with_the_help_of_the_way_it_was_run(
    tmp_path: Path,
) -> None:
    """``python3 -m publisher.resolve --bogus`` was told to see ``resolve.py --help``, a
    command that is not there: the tip names the help of the way it was run."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    script = tmp_path / "it's vendored.py"
    shutil.copy(ROOT / "publisher" / "resolve.py", script)
    for argv, shown in (
        (["-m", "publisher.resolve"], "python3 -m publisher.resolve"),
        ([str(script)], f"python3 '{tmp_path}/it'\"'\"'s vendored.py'"),
        (["resolve.py"], "python3 resolve.py"),
    ):
        if argv == ["resolve.py"]:
            shutil.copy(script, tmp_path / "resolve.py")
        proc = subprocess.run(
            [sys.executable, *argv, "--bogus"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert f"\n  tip: see `{shown} --help`: each flag" in proc.stderr, proc.stderr


@pytest.mark.parametrize("kind", ["no such file", "refused"])
def test_a_unix_socket_engine_that_cannot_be_asked_is_said_in_a_note_too(
    tmp_path: Path, kind: str
) -> None:
    """DOCKER_HOST=unix:// naming a socket nobody answers on (a stopped Colima, a forwarded
    socket gone) may be a VM of another architecture: said as a tcp:// one is, not this
    machine's platform taken without a word."""
    import socket as sockets

    from publisher import resolve as resolving

    path = tmp_path / "dead.sock"
    if kind == "refused":  # a socket file left behind: connecting is refused
        with sockets.socket(sockets.AF_UNIX) as bound:
            bound.bind(str(path))
    platform, note = resolving.run_platform({"DOCKER_HOST": f"unix://{path}"}, 0.5, "Linux")
    assert platform == resolving.detect_host_platform()
    assert note is not None
    assert f"engine at unix://{path} (DOCKER_HOST or the docker context) could not be asked" in (
        note
    )
    assert "set PHP_IMAGE_PLATFORM to the engine's" in note
