"""What the CLI prints when things go sideways: --debug tracebacks never show a
secret, a closed stdout (``| head``) stops the command quietly with 141, a stdout closed
from the start or full is exit 18 naming it, a closed stderr keeps the exit code, and an
interrupt is not reported as a usage error, and a stdout that cannot encode a character
("…", "—") gets it escaped, never an internal error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from publisher.cli import main
from tests.conftest import ROOT
from tests.integration.conftest import GH_REPO, GH_TOKEN
from tests.support.fake_github import ECHO_AUTHORIZATION, FakeGitHub
from tests.support.images import make_image

pytestmark = pytest.mark.integration


def test_debug_traceback_of_an_echoed_token_is_redacted(gh: FakeGitHub, tmp_path: Path) -> None:
    notes = tmp_path / "v1.0.0.md"
    notes.write_text("notes\n", encoding="utf-8")
    gh.script("POST", r"/releases", 403, {"message": f"denied for {ECHO_AUTHORIZATION}"})
    env = {
        "GITHUB_API_URL": gh.url,
        "GITHUB_TOKEN": GH_TOKEN,
        "GITHUB_ACTIONS": "",
    }
    result = CliRunner().invoke(
        main,
        ["--debug", "gh-release", "v1.0.0", "--repo", GH_REPO, "--notes", str(notes)],
        env=env,
    )
    assert result.exit_code == 15, result.output + result.stderr
    assert "Traceback" in result.stderr  # --debug did print it
    assert "denied for token ***" in result.stderr  # the echo reached the traceback, redacted
    assert GH_TOKEN not in result.stdout + result.stderr
    assert GH_TOKEN[4:20] not in result.stdout + result.stderr


def _closed_pipe_run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run publisher with a stdout whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "publisher", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "v2.0.0"),  # rich rules and tables
        ("plan", "v2.0.0", "--json"),  # plain text
        ("inspect", "php:8.4-fpm-alpine", "--offline"),
        ("render", "--check"),
        ("--help",),  # click's own output
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_stdout_stops_quietly_with_141(args: tuple[str, ...]) -> None:
    result = _closed_pipe_run(*args)
    assert result.returncode == 141, result.stderr
    assert "error" not in result.stderr
    assert "Broken pipe" not in result.stderr and "Traceback" not in result.stderr


def _shell_run(redirect: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run publisher under ``sh`` with ``redirect`` applied (``>&-`` closes stdout, as a
    caller can); what it says on stderr is captured unless the redirection takes stderr."""
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", sys.executable, "-m", "publisher", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_a_stdout_closed_from_the_start_is_said_and_nothing_is_done() -> None:
    result = _shell_run(">&-", "plan", "v2.0.0")
    assert result.returncode == 18, result.stderr
    assert "stdout is closed" in result.stderr and ">/dev/null" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_full_stdout_is_a_file_error_naming_stdout() -> None:
    result = _shell_run(">/dev/full", "plan", "v2.0.0")
    assert result.returncode == 18, result.stderr
    assert "cannot write to stdout: No space left on device" in result.stderr


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--version",), ("plan", "--help"), ("plan", "v2.0.0", "--json", "--bogus")],
    ids=lambda a: " ".join(a),
)
def test_click_own_output_on_a_full_stdout_is_a_file_error(args: tuple[str, ...]) -> None:
    """--help, --version and the JSON of a refused command line are written by click's
    side of the CLI: a full stdout there is exit 18 too, never a traceback."""
    result = _shell_run(">/dev/full", *args)
    assert result.returncode == 18, result.stderr
    assert "cannot write to stdout: No space left on device" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"], ids=["closed", "full"])
def test_a_stderr_that_cannot_be_written_keeps_the_exit_code(redirect: str) -> None:
    assert _shell_run(redirect, "plan", "v9").returncode == 2  # a bad release tag: usage error
    assert _shell_run(redirect, "plan", "v2.0.0", "--bogus").returncode == 2  # click's refusal
    assert _shell_run(redirect, "--bogus").returncode == 2  # an option of publisher itself
    assert _shell_run(redirect, "verfy").returncode == 2  # a mistyped command
    done = _shell_run(redirect, "plan", "v2.0.0")  # its warnings go nowhere; the plan is printed
    assert done.returncode == 0 and "v2.0.0-php-8.4" in done.stdout


#: stdouts that cannot encode "…" or "—": told so, and the C locale's (ASCII).
_NARROW_STDOUTS = {
    "ascii": {"PYTHONIOENCODING": "ascii"},
    "latin-1": {"PYTHONIOENCODING": "latin-1"},
    "C locale": {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
}


def _narrow_run(
    encoding: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``publisher ARGS`` in ``cwd`` with a stdout of ``encoding`` (``_NARROW_STDOUTS``)."""
    told = ("PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "LC_ALL", "LC_CTYPE")
    base = {k: v for k, v in os.environ.items() if k not in told}
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        capture_output=True,
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **_NARROW_STDOUTS[encoding], **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("encoding", list(_NARROW_STDOUTS))
@pytest.mark.parametrize("actions", [False, True], ids=["local", "actions"])
def test_render_check_on_a_stdout_that_cannot_encode_its_diff_is_exit_3(
    encoding: str, actions: bool, tmp_path: Path
) -> None:
    """The diff ``render --check`` shows ends with "… N more lines", and in Actions its
    annotation names a path with a "—": each written as readable ASCII ("...", "--"), never
    the escape "\\u2026", and the check fails as it does (exit 3), never with an internal
    error halfway through the diff."""
    home = tmp_path / "php\u2014stack"  # UTF-8 in every locale, LC_ALL=C too
    home.mkdir()
    shutil.copy(ROOT / "matrix.yaml", home / "matrix.yaml")
    shutil.copytree(ROOT / "dockerfiles", home / "dockerfiles")
    with (home / "dockerfiles" / "8.4" / "Dockerfile").open("a", encoding="utf-8") as file:
        file.writelines(f"# local edit {n}\n" for n in range(30))
    actions_env = {"GITHUB_ACTIONS": "true" if actions else ""}
    result = _narrow_run(encoding, "render", "--check", cwd=home, env=actions_env)
    err = result.stderr.decode("ascii", "backslashreplace")
    assert result.returncode == 3, err
    assert "internal error" not in err and "render check failed" in err
    out = result.stdout.decode("latin-1")
    assert "+# local edit 29" not in out and "... " in out and "more lines of diff" in out
    assert "\\u20" not in out + err, out + err
    if actions:  # the error's annotation, on stderr, names the path with its dash as ASCII
        assert "::error" in err and "php--stack" in err, err
        assert "::error" not in out, out


def test_a_path_is_judged_and_named_by_its_bytes_under_iso_8859_1(
    latin1_locale: dict[str, str], tmp_path: Path
) -> None:
    """Under ISO-8859-1, where Python reads a file name's bytes one character each: a
    matrix file in "ü dir" is named "ü dir" in JSON (not "Ã¼ dir"), and one in a
    directory of the byte 0xff is refused (exit 2, naming the byte) as in any locale."""
    told = ("PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "LC_ALL", "LC_CTYPE")
    env = {k: v for k, v in os.environ.items() if k not in told}
    env.update(PYTHONPATH=str(ROOT), GITHUB_ACTIONS="", **latin1_locale)
    for name in ("\u00fc dir", "bad\udcff"):
        shutil.copytree(ROOT / "dockerfiles", tmp_path / name / "dockerfiles")
        shutil.copy(ROOT / "matrix.yaml", tmp_path / name / "matrix.yaml")
    args = [sys.executable, "-m", "publisher", "render", "--check", "--json", "--config"]
    good = subprocess.run(
        [*args, str(tmp_path / "\u00fc dir" / "matrix.yaml")],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    paths = [line["path"] for line in json.loads(good.stdout)["lines"]]
    assert f"{tmp_path}/\u00fc dir/dockerfiles/8.4/Dockerfile" in paths, paths
    bad = subprocess.run(
        [*args, str(tmp_path / "bad\udcff" / "matrix.yaml")],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2, bad.stderr
    assert b"must be UTF-8 text; it holds the byte 0xff" in bad.stderr


def test_a_path_option_is_named_by_its_bytes_in_messages_under_iso_8859_1(
    latin1_locale: dict[str, str], tmp_path: Path
) -> None:
    """Under ISO-8859-1 a path given on the command line is named "ü dir" in a message
    about it (here publish's: no digest records in it), never "Ã¼ dir"."""
    told = ("PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "LC_ALL", "LC_CTYPE")
    env = {k: v for k, v in os.environ.items() if k not in told}
    env.update(PYTHONPATH=str(ROOT), GITHUB_ACTIONS="", **latin1_locale)
    home = tmp_path / "\u00fc dir"
    shutil.copytree(ROOT / "dockerfiles", home / "dockerfiles")
    shutil.copy(ROOT / "matrix.yaml", home / "matrix.yaml")
    (home / "dig").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "publish", "v1.0.0", "--digests", str(home / "dig"),
         "--config", str(home / "matrix.yaml"), "--dry-run", "--json"],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    message = json.loads(result.stdout)["error"]["message"]
    assert f"no digest records in {home}/dig: nothing to publish" in message, message
    assert "\u00c3" not in message, message


@pytest.mark.parametrize("encoding", list(_NARROW_STDOUTS))
def test_inspect_of_a_label_a_stdout_cannot_encode_writes_it_readably(
    encoding: str, registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A label holding a "—" is written "--" on a stdout that has no byte for it (an "é"
    escaped on ASCII): the table and the label lines; --json is still valid JSON, the same
    value."""
    labels = {"org.opencontainers.image.description": "PHP \u2014 FPM \u00e9t\u00e9"}
    seed(registry, repo, make_image(seed=47, labels=labels), ["v"])
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"), "GITHUB_ACTIONS": ""}
    reference = f"{registry.host}/{repo}:v"
    table = _narrow_run(encoding, "inspect", reference, cwd=tmp_path, env=env)
    err = table.stderr.decode("ascii", "backslashreplace")
    assert table.returncode == 0, err
    assert "internal error" not in err and "linux/arm64" in table.stdout.decode("latin-1")
    shown = "PHP -- FPM " + ("\u00e9t\u00e9" if encoding == "latin-1" else "\\u00e9t\\u00e9")
    assert shown in table.stdout.decode("latin-1"), table.stdout
    document = _narrow_run(encoding, "inspect", reference, "--json", cwd=tmp_path, env=env)
    assert document.returncode == 0, document.stderr
    assert json.loads(document.stdout.decode("ascii"))["platforms"][0]["labels"] == labels


#: Root without its capabilities: file modes bind it as they bind any user.
_WITHOUT_CAPABILITIES = ("setpriv", "--inh-caps=-all", "--bounding-set=-all", "--")


def _without_capabilities(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``publisher ARGS`` as root without its capabilities, in ``cwd``."""
    command = [*_WITHOUT_CAPABILITIES, sys.executable, "-m", "publisher", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
@pytest.mark.parametrize("command", [("republish-check",), ("audit",)])
def test_a_notes_directory_that_cannot_be_read_is_said_not_empty(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """release-notes/ next to the matrix that cannot be listed is exit 18 naming it, not
    read as holding no record: republish-check said "no stable release is recorded ...
    nothing to republish" and exit 0, audit "no release records", exit 2."""
    (tmp_path / "matrix.yaml").write_text((ROOT / "matrix.yaml").read_text("utf-8"), "utf-8")
    notes = tmp_path / "release-notes"
    notes.mkdir()
    (notes / "v1.0.0.json").write_text("{}\n")
    notes.chmod(0o311)  # searchable, not listable
    try:
        result = _without_capabilities(*command, cwd=tmp_path)
    finally:
        notes.chmod(0o755)
    assert result.returncode == 18, result.stderr
    assert f"cannot read the release records: {notes}: Permission denied" in result.stderr
    assert "no stable release" not in result.stderr and "no release records" not in result.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
def test_digest_records_in_a_subdirectory_that_cannot_be_read_are_said_not_missing(
    tmp_path: Path,
) -> None:
    """The build legs' records are downloaded one artifact directory each: one that
    cannot be read is exit 18 naming it (permission denied), not skipped as though its
    records were not there ("no digest records", or a leg said to be missing)."""
    digests = tmp_path / "digests"
    locked = digests / "digest-8.4-linux-amd64"
    locked.mkdir(parents=True)
    (locked / "8.4-linux-amd64.json").write_text("{}\n")
    locked.chmod(0)
    try:
        result = _without_capabilities(
            *("publish", "v1.0.0", "--config", str(ROOT / "matrix.yaml"), "--dry-run"),
            *("--digests", str(digests)),
            cwd=tmp_path,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 18, result.stderr
    assert str(locked) in result.stderr and "Permission denied" in result.stderr
    assert "no digest records" not in result.stderr


def _locked_paths(tmp_path: Path) -> dict[str, tuple[tuple[str, ...], dict[str, str], Path]]:
    """Each path option (and PUBLISHER_CONFIG) naming what this user may not read or
    write: (publisher's arguments, extra environment, the path said in the error)."""
    matrix = str(ROOT / "matrix.yaml")
    config = tmp_path / "matrix.yaml"  # mode 000
    config.write_text((ROOT / "matrix.yaml").read_text("utf-8"), "utf-8")
    locked = tmp_path / "locked"  # mode 000: neither listed nor searched
    locked.mkdir()
    readonly = tmp_path / "readonly"  # mode 555: no new entry
    readonly.mkdir()
    record = tmp_path / "8.4-linux-amd64.json"  # mode 000: an earlier record
    record.write_text("{}\n")
    notes = tmp_path / "v1.0.0.md"  # mode 000
    notes.write_text("notes\n")
    publish = ("publish", "v1.0.0", "--config", matrix, "--digests", str(tmp_path))
    leg = ("build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--config", matrix)
    return {
        "--config": (("plan", "v1.0.0", "--config", str(config)), {}, config),
        "PUBLISHER_CONFIG": (("render",), {"PUBLISHER_CONFIG": str(config)}, config),
        "a --config below": (("render", "--config", str(locked / "m.yaml")), {}, locked),
        "plan --notes-dir": (
            ("plan", "v1.0.0", "--config", matrix, "--notes-dir", str(locked)),
            {},
            locked,
        ),
        "audit --notes-dir": (
            ("audit", "--config", matrix, "--notes-dir", str(locked)),
            {},
            locked,
        ),
        "publish --notes-dir": (
            (*publish, "--notes-dir", str(readonly)),  # a real publish's: proven writable first
            {},
            readonly,
        ),
        "publish --digests": (
            ("publish", "v1.0.0", "--config", matrix, "--dry-run", "--digests", str(locked)),
            {},
            locked,
        ),
        "release --digests": (
            ("release", "v1.0.0", "--config", matrix, "--dry-run", "--digests", str(readonly)),
            {},
            readonly,
        ),
        "build --digest-file below": ((*leg, "--digest-file", str(locked / "d.json")), {}, locked),
        "build --digest-file in": ((*leg, "--digest-file", str(readonly / "d.json")), {}, readonly),
        "build --digest-file": ((*leg, "--digest-file", str(record)), {}, record),
        "gh-release --notes": (
            ("gh-release", "v1.0.0", "--repo", "a/b", "--notes", str(notes)),
            {"GITHUB_TOKEN": "x"},
            notes,
        ),
    }


_LOCKED = [
    "--config",
    "PUBLISHER_CONFIG",
    "a --config below",
    "plan --notes-dir",
    "audit --notes-dir",
    "publish --notes-dir",
    "publish --digests",
    "release --digests",
    "build --digest-file below",
    "build --digest-file in",
    "build --digest-file",
    "gh-release --notes",
]


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
@pytest.mark.parametrize("case", _LOCKED)
def test_a_path_this_user_may_not_use_is_exit_18_not_a_usage_error(tmp_path: Path, case: str):
    """README, exit 18: a file or directory the tool cannot use. click's own check said
    "Invalid value for '--config': Path 'x' is not readable" with a usage tip, exit 2;
    each path option's read or write says it instead, naming the path, exit 18."""
    cases = _locked_paths(tmp_path)
    assert sorted(cases) == sorted(_LOCKED)
    args, env, said = cases[case]
    modes = {"matrix.yaml": 0, "locked": 0, "readonly": 0o555, "v1.0.0.md": 0}
    modes["8.4-linux-amd64.json"] = 0
    for name, mode in modes.items():
        (tmp_path / name).chmod(mode)
    command = [*_WITHOUT_CAPABILITIES, sys.executable, "-m", "publisher", *args]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PUB"))}
    try:
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env={**environment, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for name in modes:
            (tmp_path / name).chmod(0o755)
    assert result.returncode == 18, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "file error:" in stderr and str(said) in stderr, stderr
    assert "Permission denied" in stderr, stderr
    assert "tip: this user may not use it: check the permissions and owner of" in stderr, stderr
    assert "not readable" not in stderr and "usage error" not in stderr, stderr
    assert "Build PHP" not in stderr and "Traceback" not in stderr, stderr


_BELOW = {
    "plan --notes-dir": (("plan", "v1.0.0", "--notes-dir"), "cannot use --notes-dir: "),
    "audit --notes-dir": (("audit", "--notes-dir"), "cannot use --notes-dir: "),
    "publish --digests": (
        ("publish", "v1.0.0", "--dry-run", "--digests"),
        "cannot read the digest records: ",
    ),
}


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
@pytest.mark.parametrize("case", sorted(_BELOW))
def test_a_directory_option_below_one_this_user_may_not_search_says_what_it_is_for(
    tmp_path: Path, case: str
):
    """A --notes-dir or --digests inside a directory this user may not search was said
    only by the catch-all, "cannot use a file or directory": the check of that option
    says it, naming the option or what it holds, exit 18."""
    args, said = _BELOW[case]
    locked = tmp_path / "locked"
    (locked / "dir").mkdir(parents=True)
    locked.chmod(0)
    matrix = str(ROOT / "matrix.yaml")
    command = [*_WITHOUT_CAPABILITIES, sys.executable, "-m", "publisher", *args]
    command += [str(locked / "dir"), "--config", matrix]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PUB"))}
    try:
        result = subprocess.run(
            command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 18, result.stderr
    stderr = " ".join(result.stderr.split())
    assert f"{said}{locked / 'dir'}: Permission denied" in stderr, stderr
    assert "use a file or directory" not in stderr, stderr
