"""Interrupts, closed pipes and secrets in debug output, without running anything."""

from __future__ import annotations

import errno
import io
import json
import re
import signal
import subprocess
from typing import Any

import click
import pytest
from click.testing import CliRunner

from publisher.adapters import runner as runner_module
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.cli.base import EPILOG_EXIT_CODES, LazyGroup, State, handle_errors
from publisher.core.errors import CommandError, FileAccessError, OutputClosed


def _command(exc: BaseException) -> click.Command:
    @click.command()
    @handle_errors
    def cmd() -> None:
        raise exc

    return cmd


def test_ctrl_c_is_reported_as_an_interruption_not_a_usage_error() -> None:
    result = CliRunner().invoke(_command(KeyboardInterrupt()), [], obj=State(env={}))
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted by SIGINT: stopped before finishing"
    assert "usage error" not in result.stderr


def test_the_epilog_lists_the_interrupt_and_closed_pipe_codes() -> None:
    for code in ("130", "143", "141"):
        assert code in EPILOG_EXIT_CODES


def test_the_epilog_lists_every_exit_code_of_the_errors_module() -> None:
    import publisher.core.errors

    table = re.findall(r"^(\d+) +\S", publisher.core.errors.__doc__ or "", re.MULTILINE)
    assert "1" in table and "143" in table
    for code in table:
        assert re.search(rf"(?<![\d-]){code}(?!\d)", EPILOG_EXIT_CODES), code
    assert "1 internal error (a bug in publisher)" in EPILOG_EXIT_CODES


def test_debug_traceback_redacts_the_secrets_output_knows() -> None:
    secret = "hunter2-registry-password"
    state = State(env={}, debug=True)
    state.output.mask(secret)
    result = CliRunner().invoke(_command(RuntimeError(f"server said {secret}")), [], obj=state)
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert secret not in result.stderr


def test_secret_looking_environment_values_are_redacted_from_the_start() -> None:
    out = io.StringIO()
    output = Output(
        env={"DOCKERHUB_TOKEN": "dckr_pat_0123456789", "SOME_FLAG_TOKEN": "true"}, stream=out
    )
    output.info("token dckr_pat_0123456789 and a flag true")
    assert out.getvalue() == "token *** and a flag true\n"


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_stream_raises_output_closed_now_and_on_every_later_write() -> None:
    output = Output(env={}, stream=_ClosedPipe(), err_stream=io.StringIO())
    with pytest.raises(OutputClosed):
        output.info("first")
    with pytest.raises(OutputClosed):
        output.table("t", ["a"], [["1"]])


def test_other_write_errors_stay_errors() -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    # an error naming the stream (exit 18), not a reader gone (141)
    with pytest.raises(FileAccessError, match="cannot write to stdout: No space left"):
        Output(env={}, stream=Full()).info("x")


def test_once_stopping_the_runner_starts_only_cleanup_until_allowed_again() -> None:
    calls: list[tuple[list[str], bool]] = []

    def spawn(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((argv, kwargs["cleanup"]))
        return subprocess.CompletedProcess(argv, 0, "", "")

    runner = Runner(env={"PATH": "/bin:/usr/bin"}, spawn=spawn)
    try:
        runner_module.stop_children()
        with pytest.raises(CommandError, match="publisher is stopping"):
            runner.run(["true"])
        try:  # not even while the interruption unwinds: only what is marked cleanup
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            with pytest.raises(CommandError, match="publisher is stopping"):
                runner.run(["true"])
        assert calls == []
        assert runner.cleanup(["true"]).ok
        assert calls == [(["/usr/bin/true"], True)] or calls == [(["/bin/true"], True)]
    finally:
        runner_module.allow_children()
    runner.run(["true"])
    assert len(calls) == 2 and calls[-1][1] is False


def test_signals_the_caller_ignores_stay_ignored_and_handlers_are_restored() -> None:
    seen: dict[str, Any] = {}

    @click.command()
    @handle_errors
    def probe() -> None:
        seen["hup"] = signal.getsignal(signal.SIGHUP)
        seen["term"] = signal.getsignal(signal.SIGTERM)

    group = LazyGroup(commands={"probe": probe})
    before_term = signal.getsignal(signal.SIGTERM)
    before_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        result = CliRunner().invoke(group, ["probe"], obj=State(env={}))
        assert result.exit_code == 0, result.output
        assert seen["hup"] is signal.SIG_IGN
        assert seen["term"] not in (before_term, signal.SIG_DFL, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGTERM) is before_term
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before_hup)


def test_an_interrupted_json_command_still_prints_its_json_document() -> None:
    """With --json stdout carries a document whatever happens: a run stopped by SIGTERM
    before printing its result prints the interruption as its error (exit 143), so
    `verify --json > report.json` or `| jq .ok` never meets an empty stdout; the usual
    line still goes to stderr, and without --json stdout stays empty."""
    from publisher.core.errors import Interrupted

    @click.command()
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def cmd(as_json: bool) -> None:
        raise Interrupted(signal.SIGTERM, "SIGTERM")

    result = CliRunner().invoke(cmd, ["--json"], obj=State(env={}))
    assert result.exit_code == 143
    assert json.loads(result.stdout) == {
        "ok": False,
        "error": {
            "kind": "interrupted",
            "exit_code": 143,
            "message": "interrupted by SIGTERM: stopped before finishing",
            "hint": "run the same command again",
        },
    }
    assert result.stderr.strip() == "interrupted by SIGTERM: stopped before finishing"
    plain = CliRunner().invoke(cmd, [], obj=State(env={}))
    assert plain.exit_code == 143 and plain.stdout == ""


def test_a_json_result_interrupted_while_printed_is_followed_by_no_second_document() -> None:
    """A signal that stops the write of the result (a slow reader: the flush blocks, SIGTERM
    comes) leaves stdout with the result alone, whole or cut: never the result followed by
    the interruption's error document, two documents no JSON reader takes."""
    from publisher.adapters.output import Output
    from publisher.core.errors import Interrupted

    class Stream(io.StringIO):
        def flush(self) -> None:
            if '"ok": true' in self.getvalue():
                raise Interrupted(signal.SIGTERM, "SIGTERM")

    stream = Stream()
    state = State(env={})
    state.output = Output({}, stream=stream)

    @click.command()
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def cmd(as_json: bool) -> None:
        state.output.print_text(json.dumps({"ok": True}))

    result = CliRunner().invoke(cmd, ["--json"], obj=state)
    assert result.exit_code == 143
    assert json.loads(stream.getvalue()) == {"ok": True}, stream.getvalue()
    assert result.stderr.strip() == "interrupted by SIGTERM: stopped before finishing"


def _interrupted(
    monkeypatch: pytest.MonkeyPatch, args: list[str], *, at: tuple[object, str] | None = None
) -> Any:
    """``publisher ARGS`` stopped by SIGTERM where it first reads its matrix (``at``: or
    where that object's attribute is called instead), as a signal stops a run."""
    from publisher.cli import main
    from publisher.core.errors import Interrupted

    def stop(*_args: object, **_kwargs: object) -> None:
        raise Interrupted(signal.SIGTERM, "SIGTERM")

    target, name = at or (State, "load_config")
    monkeypatch.setattr(target, name, stop)
    return CliRunner().invoke(main, args)


def _tip(stderr: str) -> str | None:
    """The tip an interrupted run's stderr gives, on one line; None without one."""
    lines = [line for line in stderr.splitlines() if not line.startswith("::error ")]
    assert lines[0] == "interrupted by SIGTERM: stopped before finishing", stderr
    if len(lines) == 1:
        return None
    assert lines[1].startswith("  tip: "), stderr
    return " ".join(line.strip() for line in lines[1:]).removeprefix("tip: ")


WRITES = "tags move last: the pins once every index is on every registry and checked"
BUILD = ["build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["release", "v1.0.0"], [WRITES, "the images this run pushed are reused"]),
        (
            ["republish", "v1.0.0", "--reason", "cve"],
            [
                WRITES,
                "finishes the republish from what the registries hold: the images this run "
                "pushed and pinned are reused",
            ],
        ),
        (["publish", "v1.0.0", "--digests", "."], [WRITES, "with the same digest records"]),
        (["publish", "v1.0.0", "--digests", ".", "--reason", "cve"], [WRITES]),
        (["release", "v1.0.0", "--local"], ["a rehearsal publishes nothing"]),
        (
            [*BUILD, "--digest-file", "d"],
            ["a leg moves no tag", "reusing the image once its record is written"],
        ),
        (
            [*BUILD, "--digest-file", "d", "--rebuild"],
            ["a leg moves no tag", "A rerun of the same command builds it again"],
        ),
        (["audit", "--repair"], ["the pins before the floating tags", "repairs what is left"]),
        (["render"], ["each Dockerfile is written whole or not at all"]),
        # read-only: the line alone
        (["release", "v1.0.0", "--dry-run"], None),
        (["republish", "v1.0.0", "--reason", "cve", "--dry-run", "--local"], None),
        (["publish", "v1.0.0", "--digests", ".", "--dry-run"], None),
        (["audit"], None),
        (["render", "--check"], None),
        (["verify", "v1.0.0"], None),
        (["plan", "v1.0.0"], None),
        (["matrix", "v1.0.0"], None),
        (["check-public", "v1.0.0"], None),
        (["preflight"], None),
        (["republish-check"], None),
    ],
)
def test_an_interrupted_command_that_writes_says_what_it_left_and_that_a_rerun_finishes(
    args: list[str], said: list[str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that writes (to registries, GitHub or the Dockerfiles) ends its interruption
    with a tip: what the run left (tags move last) and what finishes it; a read-only one
    (a dry run too) with the line alone. The exit code is 128 + the signal either way."""
    result = _interrupted(monkeypatch, args)
    assert result.exit_code == 143, result.output
    tip = _tip(result.stderr)
    if said is None:
        assert tip is None, result.stderr
        return
    assert tip is not None, result.stderr
    for words in said:
        assert words in tip, tip
    assert "A rerun of the same command" in tip, tip


def test_an_interrupted_build_leg_in_actions_says_a_re_run_builds_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A leg's record reaches the publish job only as the artifact a finished leg uploads:
    a re-run of a cancelled leg starts on a new runner without it and builds the image
    again, where the tip said a rerun reuses it."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = _interrupted(monkeypatch, [*BUILD, "--digest-file", "d"])
    assert result.exit_code == 143, result.output
    tip = _tip(result.stderr) or ""
    assert "a leg moves no tag" in tip, tip
    assert "Re-running the job builds it again, as a new runner holds no record of it" in tip
    assert "reusing the image" not in tip, tip


def test_an_interrupted_gh_release_says_a_rerun_finishes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from publisher.cli import github_cmds

    result = _interrupted(monkeypatch, ["gh-release", "v1.0.0"], at=(github_cmds, "read_text"))
    assert result.exit_code == 143, result.output
    assert "updates the release it finds for the tag" in (_tip(result.stderr) or "")


def test_an_interrupted_json_command_gives_its_tip_as_the_documents_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--json: the error document's hint is the tip stderr gives (`audit --repair`); a
    read-only command's stays "run the same command again"."""
    for args, writes in ((["audit", "--repair", "--json"], True), (["audit", "--json"], False)):
        result = _interrupted(monkeypatch, args)
        assert result.exit_code == 143, result.output
        error = json.loads(result.stdout)["error"]
        assert error["kind"] == "interrupted" and error["exit_code"] == 143
        tip = _tip(result.stderr)
        if writes:
            assert tip is not None and " ".join(error["hint"].split()) == tip
        else:
            assert (tip, error["hint"]) == (None, "run the same command again")


def _in_actions(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    summary = tmp_path / "summary.md"
    summary.write_text("", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_an_interrupted_run_in_actions_says_its_line_and_tip_as_an_error_annotation(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled job (SIGINT, then SIGTERM) shows on its page what the run left: the line
    and the tip stderr says are an `::error` annotation titled `interrupted` and the end of
    the step summary, as every error's; a read-only command's without a tip. --json keeps
    stdout the document alone (the annotation on stderr, as every error's)."""
    summary = _in_actions(tmp_path, monkeypatch)
    line = "interrupted by SIGTERM: stopped before finishing"
    result = _interrupted(monkeypatch, ["audit", "--repair"])
    assert result.exit_code == 143, result.output
    tip = _tip(result.stderr)
    assert tip is not None and "repairs what is left" in tip
    assert f"::error title=interrupted::{line}%0Atip: {tip}\n" in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("**Failed: interrupted (exit 143)**"), written
    assert f"> {line}" in written and "> tip: a repair points a tag only" in written

    summary.write_text("", encoding="utf-8")
    result = _interrupted(monkeypatch, ["audit", "--json"])
    assert result.exit_code == 143, result.output
    assert json.loads(result.stdout)["error"]["kind"] == "interrupted"
    assert f"::error title=interrupted::{line}\n" in result.stderr, result.stderr
    assert "tip" not in result.stderr
    assert summary.read_text(encoding="utf-8").startswith("**Failed: interrupted (exit 143)**")


def test_an_interrupted_run_in_actions_whose_stdout_fails_keeps_its_line_and_exit_code(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stdout that cannot be written (full, or its reader gone) loses neither the line
    on stderr nor the signal's exit code."""
    from publisher.core.errors import Interrupted

    _in_actions(tmp_path, monkeypatch)

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    for stream in (Full(), _ClosedPipe()):
        state = State(interrupted_hint="a rerun of the same command finishes it")
        state.output = Output(state.env, stream=stream)

        @click.command()
        @handle_errors
        def cmd() -> None:
            raise Interrupted(signal.SIGTERM, "SIGTERM")

        result = CliRunner().invoke(cmd, [], obj=state)
        assert result.exit_code == 143, (result.output, result.exception)
        assert _tip(result.stderr) == "a rerun of the same command finishes it"
