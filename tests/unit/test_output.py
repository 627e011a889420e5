"""Output: GitHub-native in Actions (groups, annotations, masks, summary, outputs), plain locally.

Actions mode is exercised with ``GITHUB_ACTIONS=true`` and temporary files for
``$GITHUB_STEP_SUMMARY`` and ``$GITHUB_OUTPUT``. RELIABILITY.md scenario 21: a
canary secret never appears in stdout, stderr, the summary or the outputs, even
when a message echoes it (raw, JSON-escaped, URL-encoded or inside an HTTP Basic
header); the only place it is written is the ``::add-mask::`` command that tells
the runner to hide it, printed before its first use.
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import signal
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from publisher.adapters.output import (
    Output,
    inert,
    inert_json,
    markdown_table,
    markdown_text,
    redacted,
)
from publisher.core.errors import (
    CommandError,
    ConfigError,
    FileAccessError,
    RegistryError,
    UsageError,
    shown_field,
)
from publisher.resolve import (
    MIN_SECRET_FORM,
    STDERR_ERRORS,
    STDOUT_ERRORS,
    BasicCredentials,
    without_secrets,
)
from tests.support.github_files import parse_outputs, workflow_commands

CANARY = "cAnArY-s3cr3t%val/ue+1=="


@dataclass
class Run:
    out: Output
    stdout: io.StringIO
    stderr: io.StringIO
    summary: Path
    outputs: Path

    def all_text(self) -> dict[str, str]:
        return {
            "stdout": self.stdout.getvalue(),
            "stderr": self.stderr.getvalue(),
            "summary": self.summary.read_text(encoding="utf-8"),
            "outputs": self.outputs.read_text(encoding="utf-8"),
        }


def make(tmp_path: Path, *, actions: bool = True, debug: bool = False) -> Run:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    summary.write_text("", encoding="utf-8")
    outputs.write_text("", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    if actions:
        env["GITHUB_ACTIONS"] = "true"
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(env, stream=stdout, err_stream=stderr, debug=debug)
    return Run(out, stdout, stderr, summary, outputs)


# ------------------------------------------------------------------- groups


def test_step_is_a_group_in_actions(tmp_path: Path) -> None:
    run = make(tmp_path)
    with run.out.step("Push indexes"):
        run.out.info("pushed 8.4")
    lines = run.stdout.getvalue().splitlines()
    assert lines[0] == "::group::Push indexes"
    assert lines[1] == "pushed 8.4"
    assert lines[2] == "::endgroup::"


def test_groups_do_not_nest_in_actions(tmp_path: Path) -> None:
    run = make(tmp_path)
    with run.out.step("publish"), run.out.step("copy to ghcr"):
        run.out.info("copied")
    text = run.stdout.getvalue()
    assert text.count("::group::") == 1
    assert text.count("::endgroup::") == 1
    assert text.index("-- copy to ghcr") < text.index("copied") < text.index("::endgroup::")


def test_group_title_cannot_inject_commands(tmp_path: Path) -> None:
    run = make(tmp_path)
    with run.out.step("line\n::add-mask::x"):
        pass
    first = run.stdout.getvalue().splitlines()[0]
    assert first == "::group::line%0A::add-mask::x"


def test_step_closes_its_group_on_error(tmp_path: Path) -> None:
    run = make(tmp_path)
    with pytest.raises(RuntimeError), run.out.step("build"):
        raise RuntimeError("boom")
    assert run.stdout.getvalue().splitlines()[-1] == "::endgroup::"
    assert run.stderr.getvalue().startswith("  (build: ")  # its time: progress, on stderr
    with run.out.step("next"):
        pass
    assert "::group::next" in run.stdout.getvalue()  # depth was restored


@pytest.mark.parametrize("quiet", [False, True])
def test_warnings_notices_and_errors_go_to_stderr_in_actions_too(
    tmp_path: Path, quiet: bool
) -> None:
    """As README says: stdout carries the result alone, stderr every warning, notice and
    error, in Actions too (``publisher plan >plan.txt`` keeps its warnings out of the
    file); a step's group, which holds the result lines written in it, stays with stdout."""
    run = make(tmp_path)
    run.out.quiet = quiet
    with run.out.step("plan"):
        run.out.info("the plan")
        run.out.warning("a line ends soon")
        run.out.notice("a line ends later")
        run.out.error(ConfigError("bad", source="matrix.yaml", line=2))
    flags = [name for name, _ in workflow_commands(run.stderr.getvalue())]
    assert [n for n in flags if "group" not in n] == ["warning", "notice", "error"], flags
    stdout = [name for name, _ in workflow_commands(run.stdout.getvalue())]
    assert stdout == ([] if quiet else ["group", "endgroup"]), run.stdout.getvalue()


#: Text of other programs (a build's log, a registry's answer) that holds workflow commands.
HOSTILE = (
    "::add-mask::x\n  ::error::x\r::warning::x\r\n\u2003::set-output name=a::x\nsay ##[add-mask]x"
)


def test_text_in_actions_is_never_a_workflow_command(tmp_path: Path) -> None:
    """Whatever publisher writes in Actions that is not its own command is inert, in
    every kind of write: the runner obeys none of the commands the text holds."""
    run = make(tmp_path, debug=True)
    with run.out.step("build"), run.out.step(HOSTILE):
        run.out.info(HOSTILE)
        run.out.detail(HOSTILE)
        run.out.note(HOSTILE)
        run.out.debug(HOSTILE)
        run.out.command(HOSTILE)
        run.out.table(HOSTILE, ["a"], [[HOSTILE]])
        run.out.error(CommandError("`buildah build` failed; its last output:\n" + HOSTILE))
    log = run.stdout.getvalue() + run.stderr.getvalue()
    commands = workflow_commands(run.stdout.getvalue()) + workflow_commands(run.stderr.getvalue())
    assert [name for name, _ in commands] == ["group", "endgroup", "error"], commands
    assert "::add-mask::x" in log.replace("\u200b", ""), log  # still there to read


def test_the_json_result_is_inert_in_actions_and_parses_the_same(tmp_path: Path) -> None:
    run = make(tmp_path)
    document = {"log": "say ##[add-mask]x\n::error::y ###[z] \\##[w]"}
    run.out.print_text(json.dumps(document, indent=2))
    assert workflow_commands(run.stdout.getvalue()) == []
    assert json.loads(run.stdout.getvalue()) == document


def test_the_json_result_is_written_as_is_locally(tmp_path: Path) -> None:
    run = make(tmp_path, actions=False)
    run.out.print_text('{"log": "say ##[x]"}')
    assert run.stdout.getvalue() == '{"log": "say ##[x]"}\n'


@given(
    st.lists(
        st.sampled_from([*':#[]\\"\n\r a\u2028', "add-mask", "error", "##[", "::"]), max_size=20
    ).map("".join)
)
@example("##[add-mask]x")
def test_inert_json_holds_no_command_and_parses_the_same(text: str) -> None:
    for written in (json.dumps({"k": [text]}, indent=2), json.dumps(text, ensure_ascii=False)):
        made = inert_json(written)
        assert workflow_commands(made) == []
        assert json.loads(made) == json.loads(written)


@given(st.text(alphabet=st.sampled_from(list(": #[]\n\r\t\u2003\u2028ab")), max_size=40))
@example(HOSTILE)
def test_inert_text_holds_no_command_and_reads_the_same(text: str) -> None:
    made = inert(text)
    assert workflow_commands(made) == []
    assert made.replace("\u200b", "") == text


def test_local_mode_prints_no_workflow_commands(tmp_path: Path) -> None:
    run = make(tmp_path, actions=False)
    run.out.mask("local-secret-value")
    with run.out.step("build"):
        run.out.info("hello local-secret-value")
    run.out.warning("careful")
    run.out.error(ConfigError("bad", source="matrix.yaml", line=2))
    run.out.table("T", ("a",), [("1",)])
    run.out.set_output("digest", "sha256:1")
    texts = run.all_text()
    assert "::" not in texts["stdout"] + texts["stderr"]
    assert texts["summary"] == "" and texts["outputs"] == ""
    assert "hello ***" in texts["stdout"]
    assert "warning: careful" in texts["stderr"]


# -------------------------------------------------------------- annotations


def test_config_error_annotation_has_file_line_col(tmp_path: Path) -> None:
    run = make(tmp_path)
    exc = ConfigError(
        "unknown key `platfroms`; did you mean `platforms`?",
        source="examples/offline/matrix.yaml",
        line=12,
        column=3,
        field="lines[1]",
        hint="see README, matrix.yaml",
    )
    run.out.error(exc)
    annotation = run.stderr.getvalue().splitlines()[0]
    assert annotation.startswith(
        "::error file=examples/offline/matrix.yaml,line=12,col=3,title=configuration error::"
    )
    assert "did you mean `platforms`?" in annotation
    assert annotation.endswith("%0Atip: see README%2C matrix.yaml") or annotation.endswith(
        "%0Atip: see README, matrix.yaml"
    )
    assert "\n" not in annotation
    assert (
        "error: examples/offline/matrix.yaml:12:3: lines[1]: unknown key" in run.stderr.getvalue()
    )
    assert "tip: see README, matrix.yaml" in run.stderr.getvalue()


def test_every_line_of_a_tip_is_indented_under_it(tmp_path: Path) -> None:
    run = make(tmp_path, actions=False)
    run.out.error(RegistryError("12 defects", hint="first advice\nsecond advice"))
    assert run.stderr.getvalue().splitlines() == [
        "error: registry error: 12 defects",
        "  tip: first advice",
        "       second advice",
    ]


def test_annotation_properties_are_escaped(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.error(ConfigError("x", source="C:/a,b.yaml", line=1))
    assert run.stderr.getvalue().startswith("::error file=C%3A/a%2Cb.yaml,line=1,title=")


def test_other_errors_are_annotations_without_file(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.error(RegistryError("manifest PUT refused", hint="check the repository name"))
    line = run.stderr.getvalue().splitlines()[0]
    assert (
        line
        == "::error title=registry error::manifest PUT refused%0Atip: check the repository name"
    )


def unescaped(data: str) -> str:
    """An annotation's data as the runner reads it (its escapes undone)."""
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_a_long_error_keeps_its_head_last_lines_and_tip_within_github_s_annotation_limit(
    tmp_path: Path,
) -> None:
    """GitHub keeps the first 4096 characters of an annotation: a failed build's last 40
    lines (up to 6000 characters) and its tip were cut at their end, dropping the tip and
    the ``ERROR:`` line. The annotation keeps its first line, its last lines whole and its
    whole tip, cut in the middle (``…``) and saying so; the log says it all."""
    from publisher.adapters.runner import Completed, command_failed

    build = "\n".join(f"#6 0.{n:03d} RUN {'x' * 140} step {n}" for n in range(38))
    build += "\n#7 ERROR: process did not complete successfully: exit code: 1"
    run = make(tmp_path)
    failed = Completed(("docker", "buildx", "build", "."), 1, stderr=build)
    error = command_failed(failed, "buildx build (PHP 8.4, linux/amd64)")
    run.out.error(error)
    ((name, data),) = workflow_commands(run.stderr.getvalue())
    said = unescaped(data)
    assert name == "error" and len(said) <= 4096, len(said)
    assert said.startswith("`buildx build (PHP 8.4, linux/amd64)` failed with exit status 1")
    assert said.endswith(f"\ntip: {error.hint}"), said[-500:]
    assert "\n    #7 ERROR: process did not complete successfully: exit code: 1\n(cut at …" in said
    kept = said[: said.index("\n(cut at …")]
    head, _, tail = kept.rpartition("…")
    assert build.endswith(tail.replace("\n    ", "\n").lstrip("\n")), tail  # whole lines
    assert tail.startswith("\n    #6 "), tail
    assert error.message.startswith(head)
    assert f"error: command failed: {error.message}\n" in run.stderr.getvalue()  # the log: whole
    assert "step 2\n" in error.message and "step 2\n" not in said
    # short, as it was; a tip past half the room is cut at its end; a character UTF-16
    # writes as two counts twice
    from publisher.adapters.output import annotation_message

    assert annotation_message("short", "tip") == "short\ntip: tip"
    long_tip = annotation_message("m" * 5000, "t" * 3000)
    assert len(long_tip) <= 4096 and long_tip.endswith("t…"), long_tip[-20:]
    wide = annotation_message("\U0001f600" * 3000, "rerun")
    assert 4000 < len(wide.encode("utf-16-le")) // 2 <= 4096
    assert wide.endswith("\ntip: rerun")


def test_a_long_warning_keeps_its_end_within_github_s_annotation_limit(tmp_path: Path) -> None:
    """A leg's failure said as a warning (its build's output in it) is cut as an error is."""
    run = make(tmp_path)
    run.out.warning("PHP 8.4: command failed: " + "y" * 5000 + "\nERROR: the end")
    ((_, data),) = workflow_commands(run.stderr.getvalue())
    said = unescaped(data)
    assert len(said) <= 4096 and "\nERROR: the end\n(cut at …" in said, said[-200:]


def test_warning_is_an_annotation(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.warning("size grew 12%\nover the 10% threshold")
    assert run.stderr.getvalue() == "::warning::size grew 12%25%0Aover the 10%25 threshold\n"


def test_notice_is_an_annotation_as_a_warning_is(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.quiet = True  # as republish-check: stdout is its key=value lines alone
    run.out.notice("PHP 8.2 ends in 27 days\n100% sure")
    assert run.stdout.getvalue() == ""
    assert run.stderr.getvalue() == "::notice::PHP 8.2 ends in 27 days%0A100%25 sure\n"
    local = make(tmp_path, actions=False)
    local.out.notice("PHP 8.2 ends in 27 days")
    assert (local.stdout.getvalue(), local.stderr.getvalue()) == (
        "",
        "notice: PHP 8.2 ends in 27 days\n",
    )


# -------------------------------------------------------------------- masks


def test_mask_is_printed_before_first_use(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.info("logging in")
    run.out.mask(CANARY)
    run.out.info(f"using {CANARY}")
    lines = run.stdout.getvalue().splitlines()
    assert lines[0] == "logging in"
    assert lines[1].startswith("::add-mask::")
    assert lines[2] == "using ***"


def test_mask_data_is_escaped_so_the_runner_masks_the_real_value(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.mask("pa%0Ass-word")
    # The runner unescapes %25 -> %, so it masks exactly "pa%0Ass-word".
    assert run.stdout.getvalue() == "::add-mask::pa%250Ass-word\n"


def test_multiline_secret_masks_every_line(tmp_path: Path) -> None:
    run = make(tmp_path)
    key = "-----BEGIN KEY-----\nAAAAsecretline1\nBBBBsecretline2\n-----END KEY-----"
    run.out.mask(key)
    masks = [line for line in run.stdout.getvalue().splitlines() if line.startswith("::add-mask::")]
    assert "::add-mask::AAAAsecretline1" in masks
    assert "::add-mask::BBBBsecretline2" in masks
    assert all("\n" not in m for m in masks)
    run.out.info("leak: BBBBsecretline2")
    assert run.stdout.getvalue().splitlines()[-1] == "leak: ***"


def test_mask_once_per_value_and_short_values_ignored(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.mask("abcdef")
    run.out.mask("abcdef")
    run.out.mask("ab")
    run.out.mask(None)
    lines = run.stdout.getvalue().splitlines()
    assert lines[0] == "::add-mask::abcdef"
    assert [line for line in lines if "add-mask" in line] == ["::add-mask::abcdef"]


@pytest.mark.parametrize("actions", [True, False])
def test_a_credential_too_short_to_redact_is_said_once_never_shown(
    tmp_path: Path, actions: bool
) -> None:
    """Masking "q7" would blank every "q7" in the log (and show the secret by its gaps):
    it is not masked, and a warning says so once, without the value."""
    run = make(tmp_path, actions=actions)
    run.out.mask("q7")
    run.out.mask("q7")
    run.out.mask("x")
    said = run.stdout.getvalue() + run.stderr.getvalue()
    assert "add-mask" not in said
    warnings = [line for line in said.splitlines() if "too short to be redacted" in line]
    assert len(warnings) == 1 and "q7" not in said
    assert "a credential of 2 character(s) is in use" in warnings[0]
    run.out.info("digest sha256:q7q7")
    assert run.stdout.getvalue().endswith("digest sha256:q7q7\n")  # the log stays readable
    three = make(tmp_path, actions=actions)
    three.out.mask("q7z")
    three.out.info("token q7z")
    assert three.stdout.getvalue().endswith("token ***\n")
    assert "too short" not in three.stdout.getvalue() + three.stderr.getvalue()


# ---------------------------------------------------------- summary/outputs


def test_table_goes_to_the_step_summary(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.table(
        "Digests of v2.0.0",
        ("PHP", "index digest", "linux/amd64", "linux/arm64"),
        [("8.4", "sha256:aaa", "51.2 MB", "49.8 MB"), ("8.5", "sha256:b|b", "52.0 MB", "50.1 MB")],
    )
    summary = run.summary.read_text(encoding="utf-8")
    assert "### Digests of v2.0.0" in summary
    assert "| PHP | index digest | linux/amd64 | linux/arm64 |" in summary
    assert "|---|---|---|---|" in summary
    assert "| 8.4 | sha256:aaa | 51.2 MB | 49.8 MB |" in summary
    assert "sha256:b\\|b" in summary  # a pipe cannot break the table
    assert "sha256:aaa" in run.stdout.getvalue()  # and on the log, as a table


def test_a_secret_in_a_table_cell_is_redacted_before_the_pipe_is_escaped(tmp_path: Path) -> None:
    """A cell's ``|`` is written ``\\|`` in the step summary: a secret holding one (a
    password of any characters) was searched for after that, so the summary held it."""
    secret = "pa|ss|w0rd-Qz7"
    run = make(tmp_path)
    run.out.mask(secret)
    run.out.table("Registries", ("name", "note"), [("hub", f"refused {secret}")])
    summary = run.summary.read_text(encoding="utf-8")
    assert "Qz7" not in summary and "w0rd" not in summary, summary
    assert "| hub | refused \\*\\*\\* |" in summary  # shown as "***"


def test_an_error_ends_the_step_summary_quoted_with_its_exit_code_and_tip(
    tmp_path: Path,
) -> None:
    """Tables written before the failure would read as a success: the summary says it."""
    from publisher.core.errors import VerificationError

    run = make(tmp_path)
    run.out.table("Plan", ["PHP"], [["8.4"]])
    run.out.mask("s3cretValue")
    run.out.error(VerificationError(["8.4: tag missing", "8.5: s3cretValue"], hint="rerun"))
    summary = run.summary.read_text(encoding="utf-8")
    failure = summary[summary.index("**Failed: verification failed (exit 12)**") :]
    assert ">   - 8.4: tag missing\n>   - 8.5: \\*\\*\\*\n" in failure, summary
    assert failure.rstrip().endswith(">\n> tip: rerun"), summary
    (tmp_path / "local").mkdir()
    local = make(tmp_path / "local", actions=False)
    local.out.error(VerificationError(["x"]))
    assert local.summary.read_text(encoding="utf-8") == ""


def test_an_error_naming_a_path_that_is_not_utf8_ends_the_step_summary(tmp_path: Path) -> None:
    """A path of bytes that are not UTF-8 (Python holds them as lone surrogates) in an
    error message reaches the summary escaped, instead of a traceback in place of the
    error: ``publisher gh-release v1.0.0 --notes $'n\\xff.md'`` in Actions was exit 1."""
    run = make(tmp_path)
    run.out.error(FileAccessError("release notes not found: n\udcff.md", hint="pass --notes"))
    summary = run.summary.read_text(encoding="utf-8")
    assert "release notes not found: n\\xff.md" in summary, summary
    assert "error: file error: release notes not found: n\\xff.md" in run.stderr.getvalue()


#: A registry's error message (its "message" field) written to do harm in the summary:
#: an image, a link, bold text, an HTML comment left open (hiding what follows, the tip),
#: a heading, a table row, math and an entity.
HOSTILE_MARKDOWN = (
    '<img src="http://evil.example/x.png"> [fix it here](http://evil.example) **urgent** '
    "_now_ ~~x~~ `code` $x^2$ &lt;b&gt; <!-- hidden\n# Heading\n---\n| a | b |"
)


def test_untrusted_text_in_the_step_summary_is_shown_as_text(tmp_path: Path) -> None:
    """A registry's message in an error, and a table cell, reach the step summary as the
    text they are: no image, link, emphasis, HTML, heading or table of their own, and the
    tip after them is shown. Rendered as GitHub does (CommonMark, tables, strikethrough)."""
    from markdown_it import MarkdownIt

    from publisher.core.errors import AuthError

    run = make(tmp_path)
    run.out.table("Registries", ("name", "note"), [("hub", HOSTILE_MARKDOWN)])
    run.out.error(AuthError(f"DENIED: {HOSTILE_MARKDOWN}", hint="run `docker login hub`"))
    summary = run.summary.read_text(encoding="utf-8")
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(summary)
    for made in ("<img", "<a ", "<em>", "<s>", "<code>", "<!--", "<h1>", "<h2>", "<hr"):
        assert made not in html, (made, html)
    assert html.count("<strong>") == 1, html  # publisher's own: "Failed: ..."
    assert html.count("<table>") == 1 and html.count("<tr>") == 2, html  # header, one row
    assert "tip: run `docker login hub`" in html, html
    assert "&lt;img src=&quot;http://evil.example/x.png&quot;&gt;" in html, html
    assert "**urgent**" in html and "&amp;lt;b&amp;gt;" in html, html


def rendered(markdown: str) -> str:
    """``markdown`` as GitHub renders a step summary (CommonMark, tables, strikethrough)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


#: The end of a failed buildx build, as ``tail`` keeps it: ``#N`` lines, a blank line,
#: Markdown marks, a run of three backticks and an unclosed HTML comment.
BUILD_OUTPUT = (
    "#5 0.182 xmlreader\n"
    "#5 0.182 xmlwriter\n"
    "\n"
    "#7 [4/4] RUN set -eux; apk add pkg-3-dev && echo 'ERROR: unable to select' && exit 1\n"
    "  54 | >>> RUN printf '[www]\\nping.path = /ping' access.suppress_path[] *x* ```y``` <!--\n"
    '#7 ERROR: process "/bin/sh -eo pipefail -c apk add" did not complete successfully: '
    "exit code: 1"
)


def test_a_program_s_output_in_an_error_is_shown_in_the_step_summary_as_it_printed_it(
    tmp_path: Path,
) -> None:
    """A failed build's last output, quoted in its error, is a code block of the summary
    holding exactly what the build printed (its lines apart, no escaping backslash, its
    ``` run unable to end the block), with the words around it written as text. It was
    a quote whose lines ran together up to the first blank line, then an indented code
    block showing ``\\#7 \\[4/4\\]`` and ``\\&\\&``, which a copied command carried."""
    import html

    from publisher.adapters.runner import Completed, command_failed

    run = make(tmp_path)
    failed = Completed(("docker", "buildx", "build", "."), 1, stderr=BUILD_OUTPUT)
    run.out.error(command_failed(failed, "buildx build (PHP 8.4, linux/amd64)"))
    shown = rendered(run.summary.read_text(encoding="utf-8"))
    assert shown.count("<pre><code>") == 1, shown
    code = shown[shown.index("<pre><code>") + len("<pre><code>") : shown.index("</code></pre>")]
    assert html.unescape(code) == BUILD_OUTPUT + "\n", shown
    assert "<p>`buildx build (PHP 8.4, linux/amd64)` failed with exit status 1" in shown, shown
    assert "<p>tip: rerun the command shown above" in shown, shown


def test_numbered_steps_and_lines_of_a_tip_are_shown_as_the_log_shows_them(
    tmp_path: Path,
) -> None:
    """check-public's one-time GHCR steps are a numbered list of the summary, and each
    line of a tip a line of its own: they ran together in one paragraph (Markdown joins
    lines), the steps indented as a program's output is."""
    from publisher.core import config
    from publisher.core.errors import AuthError
    from publisher.core.version import parse_release
    from publisher.stages.public import check_public, public_error

    cfg = config.loads(
        "namespace: acme\nimage: php-fpm\nregistries:\n"
        '  - {name: ghcr, repository: "ghcr.io/{namespace}/{image}", primary: true}\n'
        '  - {name: quay, repository: "quay.io/{namespace}/{image}"}\n'
        'platforms: [linux/amd64]\ndefault_line: "8.4"\nlines: [{php: "8.4"}]\n'
    )

    class Refusing:
        def resolve(self, ref: object, *, expected: str | None = None) -> str:
            raise AuthError("401 unauthorized")

    run = make(tmp_path)
    version = parse_release("v1.0.0")
    result = check_public(cfg, version, anonymous=lambda r: Refusing(), output=run.out)  # type: ignore[arg-type,return-value]
    error = public_error(cfg, version, result)
    assert error is not None and error.hint is not None
    run.out.error(error)
    shown = rendered(run.summary.read_text(encoding="utf-8"))
    assert "<pre>" not in shown, shown
    steps = shown[shown.index("<ol>") : shown.index("</ol>")]
    assert steps.count("<li>") == 4, shown
    assert "<li>open https://github.com/acme?tab=packages" in steps, shown
    assert "<li>rerun `publisher check-public v1.0.0` (or the failed job).</li>" in steps, shown
    assert "One-time steps:<br />\nghcr: GHCR creates packages private." in shown, shown
    assert "<p>quay: Make the repository acme/php-fpm on quay.io readable" in shown, shown


def test_summary_appends(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.summary("first")
    run.out.summary("second")
    assert run.summary.read_text(encoding="utf-8") == "first\n\nsecond\n\n"


def test_outputs_single_and_multiline(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.set_output("digest-8.4", "sha256:" + "a" * 64)
    run.out.set_output("digests", json.dumps({"8.4": "sha256:a", "8.5": "sha256:b"}, indent=2))
    parsed = parse_outputs(run.outputs.read_text(encoding="utf-8"))
    assert parsed["digest-8.4"] == "sha256:" + "a" * 64
    assert json.loads(parsed["digests"]) == {"8.4": "sha256:a", "8.5": "sha256:b"}


def test_output_value_cannot_forge_another_output(tmp_path: Path) -> None:
    run = make(tmp_path)
    run.out.set_output("notes", "line1\nlatest=sha256:evil")
    parsed = parse_outputs(run.outputs.read_text(encoding="utf-8"))
    assert parsed == {"notes": "line1\nlatest=sha256:evil"}


def any_line_break_reader(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT read by a reader that ends a line at CR, VT, FF, U+2028... too
    (Python's ``splitlines``), where the runner ends one at LF alone."""
    return parse_outputs("\n".join(text.splitlines()))


@pytest.mark.parametrize("brk", ["\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"])
def test_no_line_break_of_any_reader_lets_a_value_forge_another_output(
    tmp_path: Path, brk: str
) -> None:
    """A lone CR (or another line break some reader honours) in a single-line value goes
    between delimiters, as LF does: the runner reads it back whole, and no reader finds
    a second output in it."""
    run = make(tmp_path)
    value = f"https://github.example/r{brk}latest=sha256:evil"
    run.out.set_output("release-url", value)
    run.out.set_output("changed", "true")
    written = run.outputs.read_bytes().decode("utf-8")  # as written: no newline translation
    assert parse_outputs(written) == {"release-url": value, "changed": "true"}
    assert set(any_line_break_reader(written)) == {"release-url", "changed"}


def test_a_step_output_that_is_not_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    """A lone surrogate (argv or environment bytes that are not UTF-8) cannot be written to
    GITHUB_OUTPUT: a clear error naming the output and the byte, not UnicodeEncodeError,
    and nothing half-written for the next step to read."""
    from publisher.core.errors import UsageError

    run = make(tmp_path)
    with pytest.raises(UsageError, match=r"'lines' is not UTF-8 text: it holds the byte 0xff at "):
        run.out.set_output("lines", "8.4,\udcff")
    assert run.outputs.read_text(encoding="utf-8") == ""


@settings(max_examples=300)
@given(value=st.text(max_size=30))
def test_any_value_reads_back_whole_and_alone(value: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        run = make(Path(where))
        run.out.set_output("a", value)
        run.out.set_output("b", "x")
        written = run.outputs.read_bytes().decode("utf-8")
    assert parse_outputs(written) == {"a": value, "b": "x"}
    assert set(any_line_break_reader(written)) == {"a", "b"}


def test_markdown_table_shape() -> None:
    text = markdown_table("T", ("a", "b"), [("1", "x\ny")])
    assert text.splitlines() == ["### T", "", "| a | b |", "|---|---|", "| 1 | x y |"]


# --------------------------------------------------------- scenario 21


def echoes(secret: str) -> list[str]:
    """The ways a server or tool might echo a credential back at us."""
    basic = base64.b64encode(f"robot:{secret}".encode()).decode()
    return [
        secret,
        f"Authorization: Basic {basic}",
        json.dumps({"password": secret, "msg": "denied"}),
        f"https://robot:{urllib.parse.quote(secret, safe='')}@registry.example/v2/",
        f"token={urllib.parse.quote_plus(secret)}",
    ]


def all_forms(secret: str) -> list[str]:
    basic = base64.b64encode(f"robot:{secret}".encode()).decode()
    return [
        secret,
        basic,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    ]


def test_canary_never_appears_anywhere(tmp_path: Path) -> None:
    run = make(tmp_path, debug=True)
    out = run.out
    out.mask(CANARY)
    for echo in echoes(CANARY):
        out.info(f"registry said: {echo}")
        out.detail(echo)
        out.debug(f"response headers: {echo}")
        out.command(f"buildah login --password {echo} registry.example")
        out.warning(f"retrying after: {echo}")
        out.error(RegistryError(f"401 from registry: {echo}", hint=f"check {echo}"))
        out.error(CommandError(f"push failed: {echo}", output=echo))
        out.error(ConfigError(f"bad value {echo}", source="matrix.yaml", line=3, hint=echo))
        with out.step(f"login with {echo}"), out.step(f"inner {echo}"):
            out.info("inside")
        out.table(f"digests {echo}", ("registry", "note"), [("hub", echo)])
        out.summary(f"summary {echo}")
        out.set_output("note", echo)
        out.set_output("multi", f"a\n{echo}\nb")
        out.print_text(json.dumps({"echo": echo}))
    texts = run.all_text()
    mask_lines = [line for line in texts["stdout"].splitlines() if line.startswith("::add-mask::")]
    assert mask_lines == [f"::add-mask::{CANARY.replace('%', '%25')}"]
    stdout_without_masks = "\n".join(
        line for line in texts["stdout"].splitlines() if not line.startswith("::add-mask::")
    )
    texts["stdout"] = stdout_without_masks
    for where, text in texts.items():
        for form in all_forms(CANARY):
            assert form not in text, f"{form!r} leaked into {where}"
    assert markdown_text("***") in texts["summary"]  # the mark, shown as "***"
    assert "***" in texts["outputs"] and "***" in texts["stderr"]
    # The mask came before anything else was printed about the canary.
    assert run.stdout.getvalue().index("::add-mask::") == 0


def test_canary_masked_in_actions_even_when_set_up_late(tmp_path: Path) -> None:
    """Text printed before mask() could not contain the secret; after it, nothing does."""
    run = make(tmp_path)
    run.out.info("starting")
    run.out.mask(CANARY)
    run.out.info(CANARY)
    lines = run.stdout.getvalue().splitlines()
    assert lines.index(f"::add-mask::{CANARY.replace('%', '%25')}") < lines.index("***")


@settings(max_examples=200)
@given(
    secret=st.text(
        alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)),
        min_size=8,
        max_size=40,
    ).filter(lambda s: s.strip() == s and "\n" not in s and "\r" not in s),
    prefix=st.text(max_size=20),
    suffix=st.text(max_size=20),
)
def test_redaction_removes_every_echo_of_any_secret(secret: str, prefix: str, suffix: str) -> None:
    out = Output({}, stream=io.StringIO(), err_stream=io.StringIO())
    out.mask(secret)
    for echo in echoes(secret):
        redacted = out.redact(prefix + echo + suffix)
        assert secret not in redacted
    basic = base64.b64encode(f"user:{secret}".encode()).decode()
    assert basic not in out.redact(f"Basic {basic}")


@pytest.mark.parametrize(
    ("password", "pieces"),
    [
        ("LongPrefix123#rest", ["LongPrefix123"]),
        ("Slash/Secret99", ["Slash"]),
        ("Quest?Secret99", ["Quest"]),
        ("Mixed#Part/Two?Three", ["Mixed", "Mixed#Part", "Mixed#Part/Two"]),
    ],
)
def test_a_proxy_password_with_a_character_that_ends_a_url_s_authority_shows_nowhere(
    password: str, pieces: list[str]
) -> None:
    """An unencoded ``#``, ``/`` or ``?`` ends the authority for a URL parser (urllib3,
    urllib, Go's net/url): what it takes for the password or port, the part before it, is
    redacted too, not only the whole password up to the last ``@``."""
    import urllib3.util

    url = f"http://bob:{password}@127.0.0.1:9"
    out = Output({"https_proxy": url}, stream=io.StringIO(), err_stream=io.StringIO())
    with pytest.raises(ValueError) as parsed:  # urllib3's words, as requests shows them
        urllib3.util.parse_url(url)
    said = [
        str(parsed.value),
        f'parse "{url}": invalid port ":{pieces[0]}" after host',  # Go's net/url
        f"proxy {url} refused",
    ]
    for text in said:
        redacted = out.redact(text)
        assert not [p for p in [password, *pieces] if p in redacted], redacted
    # written without its scheme, as resolve and publisher take it
    bare = Output({"HTTPS_PROXY": url[7:]}, stream=io.StringIO(), err_stream=io.StringIO())
    assert not [p for p in [password, *pieces] if p in bare.redact(said[0])]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("columns", ["5", "20", "59"])
def test_a_very_narrow_terminal_gets_every_cell_of_a_table(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    digest = "sha256:" + "ab" * 32
    stream = _Terminal()
    Output(env={}, stream=stream).table(
        "Indexes", ["PHP", "index"], [["8.4", digest], ["8.5", "pending"]]
    )
    assert stream.getvalue() == (
        f"Indexes\nPHP: 8.4\n  index: {digest}\nPHP: 8.5\n  index: pending\n"
    )


def test_a_terminal_of_ordinary_width_keeps_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    stream = _Terminal()
    Output(env={}, stream=stream).table("Indexes", ["PHP", "index"], [["8.4", "sha256:ab"]])
    assert "│ 8.4 │ sha256:ab │" in stream.getvalue()


PLAN_ROWS = [
    ["8.4", "linux/amd64, linux/arm64", "docker.io/twentyi/php-fpm", "v1.0.0-php-8.4, latest"],
    ["8.4", "linux/amd64, linux/arm64", "ghcr.io/twentyi/php-fpm", "v1.0.0-php-8.4, latest"],
    ["8.5", "linux/amd64", "127.0.0.1:45277/stand-in-example/php-fpm", "v1.0.0-php-8.5"],
]


@pytest.mark.parametrize("columns", ["83", "90", "100", "110"])
def test_a_terminal_narrower_than_a_table_narrows_it_with_no_word_cut(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Narrower than the table, wider than its longest words: still a table, as wide as the
    terminal, the columns with spaces wrapping at them, no repository cut mid-word."""
    monkeypatch.setenv("COLUMNS", columns)
    stream = _Terminal()
    names = ["PHP", "platforms", "repository", "tags"]
    Output(env={"NO_COLOR": "1"}, stream=stream).table("Plan", names, PLAN_ROWS)
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("┏") and all(len(line) <= int(columns) for line in lines), lines
    for row in PLAN_ROWS:
        assert any(f"│ {row[2]} " in line for line in lines), "\n".join(lines)
    assert any("│ v1.0.0-php-8.4, " in line for line in lines), "\n".join(lines)


@pytest.mark.parametrize("columns", ["93", "96", "100"])
def test_a_narrowed_table_keeps_each_digest_whole_and_wraps_the_words_beside_it(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A digest is a word never cut: its cell's other words wrap below it, and the table
    stays a table down to the width of its longest words."""
    monkeypatch.setenv("COLUMNS", columns)
    stream = _Terminal()
    digest = "sha256:" + "ab" * 32
    rows = [("8.4", f"{digest} (moved from the pin)", "the release's record of this line")]
    Output(env={"NO_COLOR": "1"}, stream=stream).table("Indexes", ["PHP", "index", "source"], rows)
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("┏") and all(len(line) <= int(columns) for line in lines), lines
    assert any(f"│ 8.4 │ {digest} " in line for line in lines), "\n".join(lines)
    assert any("release's" in line for line in lines), "\n".join(lines)  # not cut either


TAG_MOVES = (
    "registry-with-a-long-name",
    "v1.2.0-php-8.4-linux-amd64-pinned",
    "pin",
    "sha256:" + "0987acd2" * 8,
    "sha256:" + "5" * 64,
    "set after the builds",
)


@pytest.mark.parametrize("env", [{}, {"GITHUB_ACTIONS": "true"}], ids=["pipe", "actions"])
def test_a_log_s_table_keeps_each_digest_whole_on_its_row(env: dict[str, str]) -> None:
    """stdout not a terminal (a pipe, CI): a row holding two digests and long names is
    one line, wider than 200 columns if it must be, each cell on it whole (for grep)."""
    stream = io.StringIO()
    columns = ("registry", "tag", "kind", "old", "new", "change")
    Output(env=env, stream=stream).table("Tag moves", columns, [TAG_MOVES, TAG_MOVES])
    rows = [line for line in stream.getvalue().splitlines() if TAG_MOVES[0] in line]
    assert len(rows) == 2, stream.getvalue()
    for row in rows:
        for cell in TAG_MOVES:
            assert cell in row, stream.getvalue()


@pytest.mark.parametrize("columns", ["100", "160"])
def test_a_terminal_too_narrow_for_a_table_s_digests_gets_its_cells_whole(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table whose digests would fold on the terminal is written cell by cell instead,
    as on a very narrow terminal: every digest whole on one line."""
    monkeypatch.setenv("COLUMNS", columns)
    stream = _Terminal()
    names = ("registry", "tag", "kind", "old", "new", "change")
    Output(env={"NO_COLOR": "1"}, stream=stream).table("Tag moves", names, [TAG_MOVES])
    said = stream.getvalue()
    for cell in TAG_MOVES[3:5]:
        assert any(cell in line for line in said.splitlines()), said
    assert all(len(line) <= int(columns) for line in said.splitlines()), said


def test_a_terminal_wide_enough_keeps_the_table_with_its_digests_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream = _Terminal()
    rows = [("8.4", "sha256:" + "ab" * 32, "the release's record of this line, read back")]
    Output(env={"NO_COLOR": "1"}, stream=stream).table("Indexes", ["PHP", "index", "source"], rows)
    said = stream.getvalue()
    assert f"│ 8.4 │ {rows[0][1]} │" in said, said  # a table still, the digest on one row
    assert all(len(line) <= 120 for line in said.splitlines()), said


def test_a_step_summary_that_cannot_be_written_is_one_warning_not_a_failed_run(
    tmp_path: Path,
) -> None:
    stream = io.StringIO()
    missing = tmp_path / "gone" / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(missing)}
    out = Output(env=env, stream=io.StringIO(), err_stream=stream)
    out.table("Plan", ["PHP"], [["8.4"]])
    out.table("Tags", ["tag"], [["latest"]])
    warnings = [line for line in stream.getvalue().splitlines() if line.startswith("::warning")]
    assert warnings == [
        f"::warning::cannot append to the step summary GITHUB_STEP_SUMMARY={missing} "
        "(No such file or directory); its tables are in this log only"
    ]


def test_a_step_output_that_cannot_be_written_names_github_output(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "output"
    out = Output(
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(missing)}, stream=io.StringIO()
    )
    with pytest.raises(FileAccessError) as info:
        out.set_output("changed", "true")
    assert info.value.message == (
        f"cannot write the step output 'changed' to GITHUB_OUTPUT={missing}: "
        "No such file or directory"
    )


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "1", "TERM": "xterm-256color"}])
def test_no_color_on_a_terminal_writes_no_escape_sequence_at_all(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("NO_COLOR", raising=False)  # what Output is given decides
    stream, err = _Terminal(), _Terminal()
    out = Output(env=env, stream=stream, err_stream=err)
    out.detail("+ buildah build")
    with out.step("Build"):
        out.table("Indexes", ["PHP", "index"], [["8.4", "sha256:ab"]])
        out.command("buildah push")
    assert "\x1b" not in stream.getvalue() + err.getvalue()
    assert "+ buildah build" in stream.getvalue() and "│ 8.4 │ sha256:ab │" in stream.getvalue()
    assert "Build" in err.getvalue() and "+ buildah push" in err.getvalue()  # the progress


def test_a_pipe_gets_no_escape_sequence_and_a_terminal_keeps_its_styles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    pipe = io.StringIO()
    Output(env={}, stream=pipe).detail("+ buildah build")
    assert pipe.getvalue() == "+ buildah build\n"
    terminal = _Terminal()
    Output(env={}, stream=terminal).detail("+ buildah build")
    assert "\x1b[2m" in terminal.getvalue()  # dim, without NO_COLOR


@pytest.mark.parametrize(
    ("env", "styled"),
    [
        ({}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),  # empty counts as unset
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins
        ({"TTY_COMPATIBLE": "1"}, False),  # rich's own switch is not publisher's
    ],
)
def test_a_pipe_is_styled_only_when_force_color_is_set_and_no_color_is_not(
    env: dict[str, str], styled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a pipe or a file gets plain text unless FORCE_COLOR is set (not empty);
    NO_COLOR wins. What Output is given decides, whatever the process's environment."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # the process's own: not what decides
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    pipe = io.StringIO()
    Output(env=env, stream=pipe).detail("+ buildah build")
    assert ("\x1b[2m" in pipe.getvalue()) is styled, pipe.getvalue()


def test_a_warning_writes_a_byte_that_is_not_utf8_as_its_errors_do(tmp_path: Path) -> None:
    """A warning naming a path (as it is) or quoting a value (``{value!r}``) whose bytes
    are not UTF-8 writes each such byte \\xff; a backslash the value holds stays one."""
    run = make(tmp_path, actions=False)
    quoted, literal = "v\udcfe", "a\\udcff"
    run.out.warning(f"n\udcff.md and {quoted!r} and {literal!r}")
    assert run.stderr.getvalue() == "warning: n\\xff.md and 'v\\xfe' and 'a\\\\udcff'\n"


def test_a_warning_keeps_the_backslashes_of_a_path_held_as_it_is(tmp_path: Path) -> None:
    """Only a quoted value's ``\\udcXX`` is an escape to write ``\\xXX``: a path held as it
    is (``C:\\udcache``) keeps its text, whatever an apostrophe before it or a quoted value
    beside it."""
    run = make(tmp_path, actions=False)
    quoted, apostrophe = "v\udcfe", "it's"
    run.out.warning(f"the leg's folder C:\\udcache and {quoted!r} and {apostrophe!r}")
    said = run.stderr.getvalue()
    assert said == "warning: the leg's folder C:\\udcache and 'v\\xfe' and \"it's\"\n", said


def test_a_secret_holding_a_byte_that_is_not_utf8_is_redacted_not_a_crash(tmp_path: Path) -> None:
    """A token from the environment with a byte that is not UTF-8 (``\\xff``): the output
    starts (it crashed encoding the token's forms) and redacts the token as it is, as an
    error writes it (``\\xff``) and as its JSON document holds it."""
    token = "abcdefgh\udcffijkl"
    stream, err = io.StringIO(), io.StringIO()
    out = Output(env={"GITHUB_TOKEN": token}, stream=stream, err_stream=err)
    failure = RegistryError(f"the server said: {token}")
    out.error(failure)
    out.print_text(json.dumps({"ok": False, "error": failure.to_dict()}))
    said = err.getvalue() + stream.getvalue()
    assert "abcdefgh" not in said and "ijkl" not in said, said
    assert "***" in err.getvalue() and "***" in json.loads(stream.getvalue())["error"]["message"]


#: Both ends of the secrets below: every text form of a secret (escaped, quoted, as a
#: message writes it) keeps these letters and digits, so any piece of it left shows them.
_MARK = "Qz7"
#: Characters of a secret, a byte that is not UTF-8 included (Python holds 0xff as \udcff).
_SECRET_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
)


def shown_echoes(secret: str) -> list[str]:
    """How publisher's messages show a value: as it is (a path), quoted with ``repr`` or
    ``ascii`` alone or inside a longer value (whose quotes ``repr`` picks by the whole),
    as a matrix key (``shown_field``), URL-quoted in a URL's query."""
    raw = secret.encode("utf-8", "surrogateescape")
    return [
        secret,
        f"{secret!r}",
        f"{secret!a}",
        f"{'it' + chr(39) + 's ' + secret!r}",
        f"{'say ' + chr(34) + secret + chr(39)!r}",
        f"{'say ' + chr(34) + secret!a}",
        f"lines[{shown_field(secret)}]",
        "https://r.example/v2/?q=" + urllib.parse.quote(raw, safe=""),
    ]


@settings(max_examples=150, deadline=None)
@given(middle=st.text(alphabet=_SECRET_CHARS, min_size=2, max_size=16))  # 8 or more
@example(middle="pässwörd\udcff")  # non-ASCII and a byte that is not UTF-8: repr leaked it
@example(middle="ä'\"\\\udcfe\t€")
@example(middle="ä'\\\udcfe")
def test_every_form_a_message_shows_a_secret_in_is_redacted_everywhere(middle: str) -> None:
    """A secret from the environment, quoted in a message however publisher quotes values,
    is not on stderr, in the ``::error``/``::warning`` annotations, in the step summary nor
    in the ``--json`` error document: redaction matches each form as it is written (a byte
    that is not UTF-8 as ``\\xff``, a quoted value's ``\\udcff``, JSON's ``\\u00e4``)."""
    secret = _MARK + middle + _MARK
    if len(secret.splitlines()) != 1:
        return  # a line break splits a secret into its lines, each redacted
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.md"
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(summary),
            "HUB_PASSWORD": secret,
        }
        stdout, stderr = io.StringIO(), io.StringIO()
        out = Output(env, stream=stdout, err_stream=stderr)
        for echo in shown_echoes(secret):
            out.warning(f"retrying after {echo}")
            failure = RegistryError(f"the registry refused {echo}", hint=f"check {echo}")
            out.error(failure)
            out.print_text(json.dumps({"ok": False, "error": failure.to_dict()}, indent=2))
            for where, text in {
                "stdout": stdout.getvalue(),
                "stderr": stderr.getvalue(),
                "summary": summary.read_text(encoding="utf-8"),
            }.items():
                assert _MARK not in text, f"{echo!r} leaked into {where}: {text[-300:]!r}"
        said = summary.read_text(encoding="utf-8")
        assert "::error" in stderr.getvalue() and markdown_text("***") in said


def test_a_secret_a_server_echoes_escaped_its_own_way_is_redacted() -> None:
    """A body quoted as a registry sent it: JSON with the characters as they are, or with
    ``&``, ``<``, ``>`` written ``\\u0026`` as Go writes them, or the secret URL-quoted
    in a path (``/`` kept); redacted by publisher's output and by resolve's probe alike."""
    secret = "Qz7-s&c<r>é/t-Qz7"
    go_json = json.dumps(secret, ensure_ascii=False)
    go_json = go_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    echoes = [
        json.dumps({"detail": secret}, ensure_ascii=False),
        "{" + f'"detail":{go_json}' + "}",
        "GET /v2/" + urllib.parse.quote(secret) + "/manifests/v1",
    ]
    out = Output({"HUB_PASSWORD": secret}, stream=io.StringIO(), err_stream=io.StringIO())
    for echo in echoes:
        assert _MARK not in out.redact(echo), echo
        assert _MARK not in without_secrets(echo, BasicCredentials("u", secret)), echo


@pytest.mark.parametrize(
    ("echo", "shown"),
    [
        ("page: Canary&#39;Pw&#43;7f&amp;3a9e for AT&amp;T", "page: *** for AT&amp;T"),
        ("Canary&#x27;Pw+7f&3a9e&#x27;s", "***&#x27;s"),
        ("?p=Canary'Pw%2b7f%263a9e&q=50%25", "?p=***&q=50%25"),
        ('{"m": "Canary\\u0027Pw+7f\\u00263a9e\\n"}', '{"m": "***\\n"}'),
        ("sent Canary'Pw+7f&am…", "sent ***…"),
        ("sent Canary&#39;Pw%2…", "sent ***…"),
        ("sent Canary'Pw+7f\\u00…", "sent ***…"),
        (
            "no secret: Canary&#39;s 100% &amp; \\u00e4…",
            "no secret: Canary&#39;s 100% &amp; \\u00e4…",
        ),
        # escaped twice (or more): an HTML page quoting an escaped page, a query
        # percent-encoded again, each form inside another
        ("page: Canary&amp;#39;Pw&amp;#43;7f&amp;amp;3a9e for AT&amp;T", "page: *** for AT&amp;T"),
        ("?p=Canary%2527Pw%252b7f%25263a9e&q=50%2525", "?p=***&q=50%2525"),
        ("Canary%26%2339%3BPw+7f&3a9e.", "***."),
        ("Canary&amp;amp;#39;Pw+7f&amp;amp;amp;3a9e", "***"),
        ("sent Canary%2527Pw%25…", "sent ***…"),
        (
            "no secret: Canary&amp;#39;s 100%2525 &amp;amp;",
            "no secret: Canary&amp;#39;s 100%2525 &amp;amp;",
        ),
    ],
)
def test_a_secret_a_server_writes_with_escapes_is_redacted_the_rest_left_as_it_is(
    echo: str, shown: str
) -> None:
    """t33 N1: some characters of a secret written escaped, mixed with the others as they
    are (an error page's ``&#39;``, a query's ``%2b``, raw JSON's ``\\u0027``), escaped
    twice or more (``&amp;#39;``, ``%2527``), or an escape that a cut split after its
    start: the secret is redacted, escapes and all, and every escape around it is left as
    the server wrote it."""
    secret = "Canary'Pw+7f&3a9e"
    out = Output({"HUB_PASSWORD": secret}, stream=io.StringIO(), err_stream=io.StringIO())
    assert out.redact(echo) == shown
    assert redacted(echo, [secret]) == shown


@pytest.mark.parametrize("cut", [10, 57, 68, 77])
def test_a_secret_a_message_cut_short_is_redacted_up_to_the_cut(tmp_path: Path, cut: int) -> None:
    """A message cuts a long value short (``value[:77] + "..."``: a refused reference;
    resolve's refused values at 57): a secret in it is then not there whole to be found,
    and its start was shown (68 characters of a 108-character token). What stands before
    the ``...`` is redacted when it is the start of a secret, in any of its forms."""
    secret = "ghp_" + "CUTSECRET" * 12  # 112 characters: a fine-grained token's length
    run = make(tmp_path)
    run.out.mask(secret)
    shown = ("Registry/" + secret)[: cut + 9] + "..."  # cut, then quoted: reference._fail
    for text in (
        f"invalid image reference 'Registry/{secret[:cut]}...': a tag is at most 128",
        f"invalid image reference {shown!r}: a tag is at most 128",
    ):
        run.out.warning(text)
        run.out.error(UsageError(text, hint=f"check {secret[:cut]}..."))
    for where, said in run.all_text().items():
        said = "".join(line for line in said.splitlines() if not line.startswith("::add-mask::"))
        assert secret[:MIN_SECRET_FORM] not in said, f"{where}: {said}"
    assert "Registry/***..." in run.all_text()["stderr"]
    # a value that only ends like a secret's start, shorter than a form, stays as it is
    run.out.warning(f"see {secret[:3]}...")
    assert f"::warning::see {secret[:3]}..." in run.all_text()["stderr"]


def test_a_cut_short_of_a_short_secret_leaves_the_text_before_it_whole(tmp_path: Path) -> None:
    """Before a cut, only a start of ``MIN_SECRET_FORM`` characters or more counts as a
    secret's: two characters of a three-character secret before any ``...`` of a line
    that also holds the secret were replaced, garbling other words ("tab..." shown as
    "t***...") and showing, by the gap, how the secret starts."""
    run = make(tmp_path, actions=False)
    run.out.mask("abc")
    assert run.out.redact("loading tab... for abc") == "loading tab... for ***"
    assert run.out.redact("see 'abcd...'") == "see '***d...'"  # the whole secret, as before


def test_a_cut_followed_by_more_dots_is_still_a_cut(tmp_path: Path) -> None:
    """A value cut short and then a sentence's full stop (``'ghp_CUTSE....'``): the cut is
    any ``...`` of the dots, not only the last three."""
    secret = "ghp_" + "CUTSECRET" * 12
    run = make(tmp_path, actions=False)
    run.out.mask(secret)
    assert run.out.redact(f"the value {secret[:40]}.... was refused") == (
        "the value ***.... was refused"
    )


def test_a_long_log_holding_a_secret_and_many_cuts_is_redacted_in_one_pass() -> None:
    """A build's captured log is redacted whole, and autoconf writes "checking for gcc...
    gcc" on thousands of lines: each ``...`` was compared with every length of every form
    of every secret, so a log of 5,000 such lines holding a 1,200-character token (a
    registry's JWT) once took 13 seconds (a 2,900-character ECR password, minutes)."""
    secret = "eyJhbGciOiJSUzI1NiJ9." + "x1" * 600
    out = Output({}, stream=io.StringIO(), err_stream=io.StringIO())
    out.mask(secret)
    log = "".join(f"checking for feature {i}... yes\n" for i in range(5000))
    log += f"the token is {secret}\nchecking for {secret[:100]}... no\n"
    started = time.perf_counter()
    redacted = out.redact(log)
    took = time.perf_counter() - started
    assert redacted.endswith("the token is ***\nchecking for ***... no\n")
    assert redacted.count("... yes") == 5000
    assert took < 2, f"{took:.1f}s to redact a {len(log)}-character log"


def test_step_outputs_are_written_all_or_none(tmp_path: Path) -> None:
    """``set_outputs`` is one write: the disk refusing its end (a file size limit, as a
    full disk) leaves none of them, not the first few."""
    run = make(tmp_path)
    outputs = [("digest-8.3", "sha256:" + "a" * 64), ("digest-8.4", "sha256:" + "b" * 64)]
    outputs.append(("digests", json.dumps(dict(outputs))))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        with pytest.raises(FileAccessError) as caught:
            run.out.set_outputs(outputs)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert caught.value.message.startswith("cannot write the step outputs to GITHUB_OUTPUT=")
    assert run.outputs.read_text() == ""
    run.out.set_outputs(outputs)
    assert parse_outputs(run.outputs.read_text()) == dict(outputs)


def test_a_named_pipe_for_github_output_or_the_summary_is_refused_at_once(
    tmp_path: Path,
) -> None:
    """Opening a FIFO to append waits for a reader: said for what it is instead (the step
    outputs an error, exit 18; the summary a warning), never waited on."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    stream = io.StringIO()
    out = Output(
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(fifo),
            "GITHUB_STEP_SUMMARY": str(fifo),
        },
        stream=io.StringIO(),
        err_stream=stream,
    )
    said = f"GITHUB_OUTPUT={fifo} is a named pipe, not a regular file"
    with pytest.raises(FileAccessError) as caught:
        out.check_step_outputs()
    assert caught.value.message == f"cannot write step outputs: {said}; nothing was done"
    assert caught.value.exit_code == 18
    with pytest.raises(FileAccessError) as caught:
        out.set_output("matrix", "{}")
    assert caught.value.message == f"cannot write the step output 'matrix': {said}"
    out.table("Plan", ["PHP"], [["8.4"]])
    assert (
        f"::warning::cannot append to the step summary GITHUB_STEP_SUMMARY={fifo} "
        "(a named pipe, not a regular file)" in stream.getvalue()
    )


def test_a_device_for_github_output_is_written_to_as_a_file() -> None:
    """/dev/full fails the write, naming the output (README); /dev/null takes it."""
    Output(env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": "/dev/null"}).set_output("a", "1")
    full = Output(env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": "/dev/full"})
    full.check_step_outputs()  # it opens: only a write shows it is full
    with pytest.raises(FileAccessError) as caught:
        full.set_output("release-url", "https://example.test")
    assert caught.value.message == (
        "cannot write the step output 'release-url' to GITHUB_OUTPUT=/dev/full: "
        "No space left on device"
    )
    # It is writable: its disk is full, as every full file system's tip says.
    assert caught.value.hint == (
        "the file system (or the user's quota) is full: free space there (on the runner, "
        "its work directory's disk); then rerun"
    )


@pytest.mark.parametrize("forced", [False, True])
def test_tables_and_steps_show_their_text_as_written_never_as_markup(forced: bool) -> None:
    """Rich took `[fd00::2]` in `[fd00::2]:41564/t20/x` for a style tag and showed
    `:41564/t20/x`: a table's title, headers and cells and a step's title are text."""
    env = {"FORCE_COLOR": "1"} if forced else {}
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(env, stream=stdout, err_stream=stderr)
    with out.step("Copy to [fd00::2]:41564/t20/x [bold]"):
        out.table(
            "Publish [b]plan[/b]",
            ("[red]repository",),
            [("[fd00::2]:41564/t20/x",), ("[link=x]y[/link]",)],
        )
        out.progress("copy [fe80::1]:5000/x [/]")
    drawn = stdout.getvalue()
    for text in ("[fd00::2]:41564/t20/x", "Publish [b]plan[/b]", "[red]repository", "[link=x]y"):
        assert text in drawn, drawn
    assert "Copy to [fd00::2]:41564/t20/x [bold]" in stderr.getvalue()
    assert "copy [fe80::1]:5000/x [/]" in stderr.getvalue()


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_punctuation_a_stream_cannot_encode_is_written_as_readable_ascii(encoding: str) -> None:
    """On a stream whose encoding has no byte for publisher's punctuation (LC_ALL=C,
    ISO-8859-1, PYTHONIOENCODING=ascii), a warning's "—" reads "--", a cut's "…" "...",
    in a warning, an echoed command, a step's rule, a table and an error alike, never the
    escape ``\\u2014``; a character with no ASCII stand-in ("é" on ASCII) keeps its escape,
    and one the stream can encode (a UTF-8 path's bytes under ISO-8859-1, "Ã¤") is written
    as it is. A UTF-8 stream gets every character itself."""
    raw_out, raw_err = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(raw_out, encoding=encoding, errors=STDOUT_ERRORS)
    err = io.TextIOWrapper(raw_err, encoding=encoding, errors=STDERR_ERRORS)
    output = Output({"NO_COLOR": "1"}, stream=out, err_stream=err)
    path = "/srv/p\u00c3\u00a4 th"  # "pä th" read by ISO-8859-1: its bytes C3 A4
    output.warning("PHP 8.1 reached end of life \u2014 source: https://www.php.net \u00e9")
    output.command(f"buildah run -- /bin/sh -c '# the checks \u2026' (+18 lines) {path}")
    output.info("a \u2013 b \u2212 c \u2192 d \u26a0 e")
    with output.step("build \u2014 8.4"):
        pass
    output.table("Sizes \u2014 all", ["line", "size"], [["8.4", "1 MB \u2026"]])
    output.error(ConfigError("bad \u2014 value", hint="cut \u2026"))
    out.flush()
    err.flush()
    said = raw_out.getvalue() + raw_err.getvalue()
    if encoding == "utf-8":
        assert "\u2014".encode() in said and "\u2026".encode() in said, said
        return
    assert b"\\u20" not in said and b"\\u22" not in said and b"\\u26" not in said, said
    assert b"end of life -- source:" in said, said
    assert b"# the checks ...' (+18 lines)" in said, said
    assert b"a - b - c -> d ! e" in said, said
    assert b"build -- 8.4" in said and b"Sizes -- all" in said and b"1 MB ..." in said, said
    assert b"bad -- value" in said and b"cut ..." in said, said
    if encoding == "latin-1":
        assert path.encode("latin-1") == b"/srv/p\xc3\xa4 th" and path.encode("latin-1") in said
        assert b"php.net \xe9" in said, said
    else:
        assert b"php.net \\u00e9" in said, said
