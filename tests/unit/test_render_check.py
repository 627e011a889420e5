"""``publisher render --check``: every committed Dockerfile that is not what render writes,
classified (changed, missing), in one failure; a dropped line's leftover is a warning."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from publisher.core import config, render
from publisher.resolve import MIN_SECRET_FORM

HEADLINE = "the committed Dockerfiles differ from what"


def make_project(cli, root: Path, repo_root: Path) -> Path:
    """A copy of the repository's matrix.yaml and template in ``root``, rendered."""
    (root / "dockerfiles").mkdir(parents=True)
    (root / "matrix.yaml").write_text((repo_root / "matrix.yaml").read_text())
    (root / "dockerfiles" / "Dockerfile.j2").write_text(
        (repo_root / "dockerfiles" / "Dockerfile.j2").read_text()
    )
    assert cli("render", "--config", str(root / "matrix.yaml")).exit_code == 0
    return root


@pytest.fixture
def project(cli, tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the repository's matrix.yaml and template, rendered: every line current."""
    return make_project(cli, tmp_path, repo_root)


def dockerfile(project: Path, php: str) -> Path:
    return project / "dockerfiles" / php / "Dockerfile"


def check(cli, project: Path, env: dict[str, str] | None = None):
    return cli("render", "--check", "--config", str(project / "matrix.yaml"), env=env)


def test_a_dockerfile_edited_by_hand_is_changed_not_a_matrix_error(cli, project):
    edited = dockerfile(project, "8.4")
    edited.write_text(edited.read_text() + "# edited by hand\n")
    result = check(cli, project)
    assert result.exit_code == 3, result.output
    assert "configuration error" not in result.output
    assert "matrix.yaml:" not in result.output  # nothing points at the matrix
    assert f"error: render check failed: {HEADLINE} " in result.output
    assert f"8.4 changed ({edited})" in result.output
    assert "missing" not in result.output
    # the start of the diff, committed -> rendered
    assert "--- committed" in result.output and "+++ rendered" in result.output
    assert "  -# edited by hand" in result.output
    assert f"tip: run `publisher render --config {project / 'matrix.yaml'}` and commit" in (
        result.output
    )
    assert edited.read_text().endswith("# edited by hand\n")  # --check writes nothing


def test_a_deleted_dockerfile_is_missing(cli, project):
    dockerfile(project, "8.3").unlink()
    result = check(cli, project)
    assert result.exit_code == 3, result.output
    assert f"8.3 missing ({dockerfile(project, '8.3')})" in result.output
    assert "changed" not in result.output
    assert not dockerfile(project, "8.3").exists()


def test_a_leftover_of_a_dropped_line_is_a_warning_only(cli, project):
    leftover = dockerfile(project, "9.9")
    leftover.parent.mkdir()
    leftover.write_text(dockerfile(project, "8.4").read_text())
    (project / "dockerfiles" / "tools").mkdir()  # not a line's directory: left alone
    (project / "dockerfiles" / "tools" / "Dockerfile").write_text("FROM scratch\n")
    result = check(cli, project)
    assert result.exit_code == 0, result.output
    assert f"warning: {leftover} is for PHP 9.9, which " in result.output
    assert "does not configure" in result.output
    assert f"git rm {leftover}" in result.output
    assert "tools" not in result.output
    assert HEADLINE not in result.output


def test_the_leftover_warnings_command_pastes_into_a_shell(cli, tmp_path, repo_root):
    """A project under a directory with a space: the `git rm` shown quotes the path."""
    project = make_project(cli, tmp_path / "h9 play", repo_root)
    leftover = dockerfile(project, "9.9")
    leftover.parent.mkdir()
    leftover.write_text(dockerfile(project, "8.4").read_text())
    result = check(cli, project)
    assert result.exit_code == 0, result.output
    assert f"`git rm '{leftover}'`" in " ".join(result.output.split()), result.output


def test_every_difference_is_reported_at_once(cli, project):
    dockerfile(project, "8.4").write_text(dockerfile(project, "8.4").read_text() + "# hand\n")
    dockerfile(project, "8.2").write_text(
        dockerfile(project, "8.2").read_text().replace("\nFROM ", "\nfrom ")
    )
    dockerfile(project, "8.3").unlink()
    leftover = dockerfile(project, "9.9")
    leftover.parent.mkdir()
    leftover.write_text("FROM scratch\n")
    result = check(cli, project)
    assert result.exit_code == 3, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    expected = ", ".join(
        [
            f"8.2 changed ({dockerfile(project, '8.2')})",
            f"8.3 missing ({dockerfile(project, '8.3')})",
            f"8.4 changed ({dockerfile(project, '8.4')})",
        ]
    )
    assert errors[0].endswith(f"render: {expected}"), errors[0]
    assert "  -from ${PHP_BASE_IMAGE}" in result.output
    assert "  +FROM ${PHP_BASE_IMAGE}" in result.output
    assert "  -# hand" in result.output
    assert f"warning: {leftover} is for PHP 9.9" in result.output


def test_render_rewrites_what_the_check_finds_and_warns_about_a_leftover(cli, project):
    edited = dockerfile(project, "8.4")
    rendered = edited.read_text()
    edited.write_text(rendered + "# hand\n")
    dockerfile(project, "8.3").unlink()
    leftover = dockerfile(project, "9.9")
    leftover.parent.mkdir()
    leftover.write_text("FROM scratch\n")
    result = cli("render", "--config", str(project / "matrix.yaml"))
    assert result.exit_code == 0, result.output
    assert f"wrote {edited}" in result.output
    assert f"wrote {dockerfile(project, '8.3')}" in result.output
    assert f"warning: {leftover} is for PHP 9.9" in result.output
    assert edited.read_text() == rendered
    assert leftover.exists()  # a warning: render removes nothing
    assert check(cli, project).exit_code == 0


NOTE = (
    "render {verb} every configured line (8.1, 8.2, 8.3, 8.4, 8.5); PUBLISHER_LINES=8.3 "
    "selects the lines a build makes, not the committed Dockerfiles"
)


def test_the_check_compares_the_lines_an_override_leaves_out_and_says_so(cli, project):
    """A CI step with PUBLISHER_LINES in its environment still fails on a stale
    Dockerfile of another line; a note on stderr says the variable was not applied."""
    stale = dockerfile(project, "8.4")
    stale.write_text("FROM scratch\n")
    result = check(cli, project, env={"PUBLISHER_LINES": "8.3"})
    assert result.exit_code == 3, result.output
    assert f"8.4 changed ({stale})" in result.output
    assert NOTE.format(verb="checks") in result.stderr
    assert "is for PHP" not in result.output  # a line left out is no leftover
    as_json, document = render_json(cli, project, "--check", env={"PUBLISHER_LINES": "8.3"})
    assert as_json.exit_code == 3 and NOTE.format(verb="checks") in as_json.stderr
    assert [line["php"] for line in document["lines"]] == ["8.1", "8.2", "8.3", "8.4", "8.5"]
    written = cli(
        "render", "--config", str(project / "matrix.yaml"), env={"PUBLISHER_LINES": "8.3"}
    )
    assert written.exit_code == 0 and f"wrote {stale}" in written.output
    assert NOTE.format(verb="writes") in written.stderr
    assert check(cli, project, env={"PUBLISHER_LINES": "8.3"}).exit_code == 0


def test_an_override_that_leaves_out_no_line_says_nothing(cli, project):
    every = "8.1,8.2,8.3,8.4,8.5"
    result = check(
        cli, project, env={"PUBLISHER_LINES": every, "PUBLISHER_PLATFORMS": "linux/amd64"}
    )
    assert result.exit_code == 0 and result.stderr == "", result.output
    refused = check(cli, project, env={"PUBLISHER_LINES": "9.9"})  # still checked
    assert refused.exit_code == 3 and "PUBLISHER_LINES: 9.9 is not configured" in refused.output


def test_a_dockerfile_that_is_not_utf8_is_changed_not_an_internal_error(cli, project):
    edited = dockerfile(project, "8.5")
    edited.write_bytes(edited.read_bytes() + b"\xff\xfe\n")
    result = check(cli, project)
    assert result.exit_code == 3, result.output
    assert f"8.5 changed ({edited})" in result.output
    assert "Traceback" not in result.output


def test_a_directory_where_a_dockerfile_belongs_is_a_file_error(cli, project):
    target = dockerfile(project, "8.3")
    target.unlink()
    target.mkdir()
    result = check(cli, project)
    assert result.exit_code == 18, result.output
    assert f"cannot read the Dockerfile {target}" in result.output
    assert "Traceback" not in result.output
    # Its tip says what stands there and how to write the file again, not to check the
    # permissions it does not lack.
    said = " ".join(result.stderr.split())
    assert (
        f"tip: {target} is a directory, not a regular file: move it away, then run "
        f"`publisher render --config {project / 'matrix.yaml'}` and commit the result"
    ) in said, said
    assert "permissions" not in said


def test_the_message_names_the_template_beside_the_matrix_as_given(cli):
    result = cli("render", "--check", "--config", "examples/offline/matrix.yaml")
    assert result.exit_code == 0, result.output
    cfg = config.load("examples/offline/matrix.yaml", {})
    assert render.template_shown(cfg) == "dockerfiles/Dockerfile.j2"
    assert render.template_shown(config.load("matrix.yaml", {})) == "dockerfiles/Dockerfile.j2"


def test_a_template_that_cannot_be_read_is_named(project):
    """A release's warning gives only the message: it named no path (render --check's tip
    did), as with examples/offline copied without its template."""
    (project / "dockerfiles" / "Dockerfile.j2").unlink()
    with pytest.raises(config.ConfigError) as refused:
        render.check(config.load(str(project / "matrix.yaml"), {}))
    template = project / "dockerfiles" / "Dockerfile.j2"
    assert f"cannot read the Dockerfile template {template}: No such file" in str(
        refused.value.message
    )


def _written(project: Path, key: str, value: str) -> tuple[config.Config, int]:
    """The project's matrix.yaml with ``key: value`` added at its end: (config, its line)."""
    matrix = project / "matrix.yaml"
    text = matrix.read_text()
    if not text.endswith("\n"):
        text += "\n"
    matrix.write_text(f"{text}{key}: {value}\n")
    return config.load(str(matrix), {}), text.count("\n") + 1


def test_a_template_that_cannot_be_read_is_located_at_its_key(project):
    """`template: nope.j2`: the error points at the line and column matrix.yaml names it on,
    as every error about a value it holds does (`render --check --json` gives both)."""
    cfg, line = _written(project, "template", "nope.j2")
    with pytest.raises(config.ConfigError) as refused:
        render.check(cfg)
    assert (refused.value.field, refused.value.line, refused.value.column) == ("template", line, 11)
    assert f"matrix.yaml:{line}:11: template: cannot read the Dockerfile template" in str(
        refused.value
    )


def test_a_dockerfiles_directory_that_is_not_one_is_refused_at_its_key(project):
    """`dockerfiles: /dev/null`: said as matrix.yaml's mistake where it is written, naming
    what stands there, not as a Dockerfile below it that cannot be read."""
    (project / "dockerfiles" / "Dockerfile.j2").rename(project / "Dockerfile.j2")
    (project / "matrix.yaml").write_text(
        (project / "matrix.yaml").read_text() + "template: Dockerfile.j2\n"
    )
    cfg, line = _written(project, "dockerfiles", "/dev/null")
    for refuse in (render.check, render.require_committed):
        with pytest.raises(config.ConfigError) as refused:
            refuse(cfg)
        err = refused.value
        assert (err.field, err.line, err.column, err.exit_code) == ("dockerfiles", line, 14, 3)
        assert "dockerfiles: /dev/null is a character device, not a directory" in str(err), err


# ---------------------------------------------------------------- the pure comparison


def rendered(text: str) -> render.Rendered:
    return render.Rendered("8.4", Path("/x/dockerfiles/8.4/Dockerfile"), text)


def test_compare_classifies():
    item = rendered("FROM a\nRUN b\n")
    assert render.compare(item, b"FROM a\nRUN b\n") is None
    assert render.compare(item, None) == render.Difference(item, render.MISSING)
    changed = render.compare(item, b"FROM a\nRUN c\n")
    assert changed is not None and changed.kind == render.CHANGED
    assert changed.excerpt == (
        "--- committed",
        "+++ rendered",
        "@@ -1,2 +1,2 @@",
        " FROM a",
        "-RUN c",
        "+RUN b",
    )
    assert changed.describe() == "8.4 changed (/x/dockerfiles/8.4/Dockerfile)"


def test_compare_a_file_too_large_to_diff():
    item = rendered("FROM a\n")
    changed = render.compare(item, b"x" * (render.MAX_DOCKERFILE_BYTES + 1))
    assert changed is not None and changed.kind == render.CHANGED
    assert changed.excerpt == ("the committed file is larger than 1 MiB",)


def test_the_diff_excerpt_is_short_and_says_what_it_leaves_out():
    committed = "".join(f"line {n}\n" for n in range(40))
    wanted = "".join(f"LINE {n}\n" for n in range(40))
    excerpt = render.diff_excerpt(committed, wanted, limit=4)
    assert excerpt[:2] == ("--- committed", "+++ rendered")
    assert len(excerpt) == 2 + 4 + 1
    assert excerpt[-1] == "… 77 more lines of diff"  # the hunk header and 80 lines, 4 shown


def test_the_diff_excerpt_marks_a_missing_final_newline_and_a_carriage_return():
    excerpt = render.diff_excerpt("FROM a\r\nRUN b", "FROM a\nRUN b\n")
    assert "-FROM a\\r" in excerpt
    assert "\\ No newline at end of file" in excerpt
    long = render.diff_excerpt("x" * 500 + "\n", "y\n")
    assert all(len(line) <= render.DIFF_LINE_WIDTH for line in long)


def test_a_secret_a_long_diff_line_cuts_short_is_redacted_up_to_the_cut(cli, project):
    """A Dockerfile edited by hand with a token in a line longer than the diff shows: the
    excerpt cuts the line with "…" (``\\u2026`` in JSON), so the token is not there whole
    to be found, and its start was shown (the redaction knew only a cut written "...")."""
    token = "ghp_" + "CUTSECRET" * 12
    edited = dockerfile(project, "8.4")
    prefix = "RUN wget --header 'Authorization: token "  # the cut falls inside the token
    line = prefix + "x" * (render.DIFF_LINE_WIDTH - 2 - len(prefix) - 40) + f" {token}'\n"
    edited.write_text(edited.read_text() + line)
    result = check(cli, project, env={"GITHUB_TOKEN": token})
    assert result.exit_code == 3, result.output
    assert "  -RUN wget --header 'Authorization: token xxx" in result.output, result.output
    assert " ***…\n" in result.output, result.output
    assert token[:MIN_SECRET_FORM] not in result.output, result.output
    config_path = str(project / "matrix.yaml")
    result = cli(
        "render", "--check", "--json", "--config", config_path, env={"GITHUB_TOKEN": token}
    )
    assert result.exit_code == 3, result.output
    assert ' ***\\u2026"' in result.output, result.output
    assert token[:MIN_SECRET_FORM] not in result.output, result.output


def test_leftovers_are_the_unconfigured_line_directories_only(repo_root):
    cfg = config.load(str(repo_root / "matrix.yaml"), {"PUBLISHER_LINES": "8.4"})
    found = [
        (name, Path(f"/x/dockerfiles/{name}/Dockerfile"))
        for name in ("10.0", "8.3", "8.4", "9.9", "tools", "8")
    ]
    assert [item.php for item in render.leftovers(cfg, found)] == ["9.9", "10.0"]


def render_json(cli, project: Path, *flags: str, env: dict[str, str] | None = None):
    result = cli("render", "--json", *flags, "--config", str(project / "matrix.yaml"), env=env)
    return result, json.loads(result.stdout)


def test_render_json_lists_every_line_current_and_writes_nothing(cli, project):
    result, document = render_json(cli, project, "--check")
    assert result.exit_code == 0, result.output
    assert document["ok"] is True
    assert [line["php"] for line in document["lines"]] == ["8.1", "8.2", "8.3", "8.4", "8.5"]
    assert {line["state"] for line in document["lines"]} == {"current"}
    assert document["lines"][3]["path"] == str(dockerfile(project, "8.4"))
    assert document["template"].endswith("dockerfiles/Dockerfile.j2")
    assert document["leftovers"] == []


def test_render_json_gives_every_path_absolute_whatever_the_config_path_given(
    cli, project, monkeypatch
):
    """A --config given relative to the current directory (here ../matrix.yaml, from
    the dockerfiles directory) names the template absolute, as it names each line's
    Dockerfile and each leftover, never as the relative path the messages show."""
    (project / "dockerfiles" / "8.0").mkdir()
    (project / "dockerfiles" / "8.0" / "Dockerfile").write_text("FROM php:8.0-fpm-alpine\n")
    monkeypatch.chdir(project / "dockerfiles")
    result = cli("render", "--check", "--json", "--config", "../matrix.yaml")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["template"] == str(project / "dockerfiles" / "Dockerfile.j2"), document
    paths = [line["path"] for line in document["lines"] + document["leftovers"]]
    assert paths[-1] == str(dockerfile(project, "8.0")) and len(paths) == 6, document
    assert all(Path(path).is_absolute() for path in [document["template"], *paths]), paths
    assert "../dockerfiles/Dockerfile.j2" in check_failed_hint(cli, project)


def check_failed_hint(cli, project: Path) -> str:
    """The tip of a failed ``render --check``, run as the last test ran it: the template
    as the user would write it, relative to the matrix path given."""
    dockerfile(project, "8.4").write_text("edited\n")
    return cli("render", "--check", "--config", "../matrix.yaml").stderr


def test_render_check_json_classifies_each_line_and_carries_the_error(cli, project):
    edited = dockerfile(project, "8.4")
    edited.write_text(edited.read_text() + "# edited by hand\n")
    dockerfile(project, "8.3").unlink()
    (project / "dockerfiles" / "8.0").mkdir()
    (project / "dockerfiles" / "8.0" / "Dockerfile").write_text("FROM scratch\n")
    result, document = render_json(cli, project, "--check")
    assert result.exit_code == 3, result.output
    states = {line["php"]: line["state"] for line in document["lines"]}
    assert states == {
        "8.1": "current",
        "8.2": "current",
        "8.3": "missing",
        "8.4": "changed",
        "8.5": "current",
    }
    changed = next(line for line in document["lines"] if line["php"] == "8.4")
    assert "-# edited by hand" in changed["diff"]
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 3
    assert "8.3 missing" in document["error"]["message"]
    assert document["leftovers"] == [
        {"php": "8.0", "path": str(project / "dockerfiles" / "8.0" / "Dockerfile")}
    ]
    assert "8.0" in result.stderr and "leftover" in result.stderr  # the warning: stderr
    assert edited.read_text().endswith("# edited by hand\n")  # --check writes nothing
    assert not dockerfile(project, "8.3").exists()


def test_render_json_rewrites_and_says_written(cli, project):
    dockerfile(project, "8.3").unlink()
    result, document = render_json(cli, project)
    assert result.exit_code == 0, result.output
    states = {line["php"]: line["state"] for line in document["lines"]}
    assert states["8.3"] == "written" and states["8.4"] == "current"
    assert dockerfile(project, "8.3").exists()
    assert check(cli, project).exit_code == 0


def test_a_build_refuses_every_missing_or_unreadable_dockerfile_before_anything(
    cli, project, tmp_path
):
    """`publisher render` never run for a line, or its file deleted: a command that builds
    names every such file at once, with the fix, before any tool or registry (the
    matrix's registries are not reachable from here: a request would be another error);
    `plan` warns of the refusal."""
    matrix = str(project / "matrix.yaml")
    for php in ("8.3", "8.5"):
        dockerfile(project, php).unlink()
    digest = str(tmp_path / "d.json")
    for argv in (
        ("release", "v2.0.0", "--dry-run"),
        ("release", "v2.0.0", "--local", "--dry-run"),
        ("build", "v2.0.0", "--php", "8.5", "--platform", "linux/amd64", "--digest-file", digest),
    ):  # (a republish without a record: the next test)
        result = cli(*argv, "--config", matrix)
        said = " ".join(result.output.split())
        assert result.exit_code == 3, (argv, result.output)
        assert "error: missing Dockerfile: there is no committed Dockerfile for PHP" in said
        named = ("8.5",) if argv[0] == "build" else ("8.3", "8.5")
        for php in ("8.1", "8.2", "8.3", "8.4", "8.5"):
            assert (f"PHP {php} at {dockerfile(project, php)}" in said) == (php in named)
        assert "nothing was built or pushed" in said
        assert f"tip: run `publisher render --config {matrix}` to write" in said
        assert "then commit the result" in said
    plan = cli("plan", "v2.0.0", "--config", matrix)
    said = " ".join(plan.output.split())
    assert plan.exit_code == 0, plan.output
    missing = f"{dockerfile(project, '8.3')}, PHP 8.5 at {dockerfile(project, '8.5')}"
    assert f"warning: there is no committed Dockerfile for PHP 8.3 at {missing}" in said
    assert (
        "`publisher release` (and build, republish) refuses to start this release (exit 3)" in said
    )
    # one that cannot be read: exit 18, as render --check, never read from a pipe
    render_check = check(cli, project)
    assert render_check.exit_code == 3
    for php in ("8.3", "8.5"):
        os.mkfifo(dockerfile(project, php))
    result = cli("release", "v2.0.0", "--dry-run", "--config", matrix)
    said = " ".join(result.output.split())
    assert result.exit_code == 18, result.output
    assert said.count(": a named pipe, not a regular file") == 2  # the tip names the first
    assert "nothing was built or pushed" in said
    assert check(cli, project).exit_code == 18


def test_a_build_refuses_a_dockerfile_too_large_up_front_as_render_check_does(
    cli, project, tmp_path
):
    """A committed Dockerfile over 1 MiB is not one render wrote: `render --check` calls it
    changed (exit 3), and a command that builds refuses it with the same exit 3 before any
    tool or registry (a build leg would only refuse it when hashing it), naming it beside
    a missing one in the one error."""
    matrix = str(project / "matrix.yaml")
    for php in ("8.3", "8.5"):
        dockerfile(project, php).write_bytes(b"#" * (render.MAX_DOCKERFILE_BYTES + 1))
    assert check(cli, project).exit_code == 3
    digest = str(tmp_path / "d.json")
    for argv in (
        ("release", "v2.0.0", "--dry-run"),
        ("release", "v2.0.0", "--local", "--dry-run"),
        ("build", "v2.0.0", "--php", "8.5", "--platform", "linux/amd64", "--digest-file", digest),
    ):
        result = cli(*argv, "--config", matrix)
        said = " ".join(result.output.split())
        assert result.exit_code == 3, (argv, result.output)
        named = ("8.5",) if argv[0] == "build" else ("8.3", "8.5")
        files = ", ".join(f"PHP {php} at {dockerfile(project, php)}" for php in named)
        assert (
            f"error: Dockerfile too large: the committed Dockerfile{'s' * (len(named) > 1)} for {files} "
            in said
        )
        assert "larger than 1 MiB, so not one render wrote; nothing was built or pushed" in said
        assert f"tip: run `publisher render --config {matrix}` to write" in said
    dockerfile(project, "8.4").unlink()
    result = cli("release", "v2.0.0", "--dry-run", "--config", matrix)
    said = " ".join(result.output.split())
    assert result.exit_code == 3, result.output
    assert (
        f"error: missing Dockerfile: there is no committed Dockerfile for PHP 8.4 at "
        f"{dockerfile(project, '8.4')}; the committed Dockerfiles for PHP 8.3 at "
        f"{dockerfile(project, '8.3')}, PHP 8.5 at {dockerfile(project, '8.5')} are larger "
        "than 1 MiB, so not one render wrote; nothing was built or pushed" in said
    )
    assert "to write them from" in said


def test_a_template_rendering_a_dockerfile_too_large_to_build_is_refused_by_render(cli, project):
    """render never writes a Dockerfile larger than a build takes (1 MiB): written, the
    check would call it changed and a build refuse it, each advising render again."""
    matrix = str(project / "matrix.yaml")
    template = project / "dockerfiles" / "Dockerfile.j2"
    template.write_text(template.read_text() + f"# {{{{ 'x' * {render.MAX_DOCKERFILE_BYTES} }}}}\n")
    before = dockerfile(project, "8.4").read_bytes()
    for argv in (("render",), ("render", "--check")):
        result = cli(*argv, "--config", matrix)
        said = " ".join(result.output.split())
        assert result.exit_code == 3, (argv, result.output)
        assert (
            "error: configuration error: "
            + str(template)
            + ": the Dockerfile the template renders for PHP 8.1 is larger than 1 MiB"
            in said
        )
        assert "tip: fix the template" in said
    assert dockerfile(project, "8.4").read_bytes() == before  # nothing written


class _Pins:
    """The primary registry as a republish reads it before its check: the pins it holds."""

    def __init__(self, tags: set[str]) -> None:
        self.tags = tags

    def tag_digests(self, repo_path: str, tags=None, *, attempts=None) -> dict[str, str]:
        return {tag: "sha256:" + "0" * 64 for tag in tags or () if tag in self.tags}

    def list_tags(self, repo_path: str) -> list[str]:
        return sorted(self.tags)


def test_a_republish_without_a_record_checks_only_the_lines_its_pins_hold(project, tmp_path):
    """Without a record, a republish builds only the lines whose pin is on the primary:
    a line added to matrix.yaml since (its Dockerfile not yet rendered) is not refused up
    front, while a pinned line's missing Dockerfile still is, once the pins are read and
    before anything is resolved, built or pushed."""
    from types import SimpleNamespace

    from publisher.adapters.output import Output
    from publisher.core.errors import MissingDockerfileError
    from publisher.core.version import parse_release
    from publisher.stages.publish import ReleaseRecord, building_config
    from publisher.stages.release import ReleaseOptions, release

    cfg = config.load(project / "matrix.yaml", env={})
    version = parse_release("v2.0.0")
    notes_dir = tmp_path / "notes"
    read = ReleaseRecord(notes_dir, version)
    # up front, only the pins could say which lines it builds: nothing is refused yet
    assert building_config(cfg, read, republish=True) is None
    assert building_config(cfg, read).line_names == cfg.line_names  # a release: every line
    for php in ("8.3", "8.5"):
        dockerfile(project, php).unlink()
    pinned = {f"v2.0.0-php-{php}" for php in ("8.1", "8.2", "8.3", "8.4")}
    err = io.StringIO()
    output = Output(env={}, stream=io.StringIO(), err_stream=err)
    primary = _Pins(pinned)
    clients: Any = SimpleNamespace(output=output, configured=lambda c: {c.primary.name: primary})
    options = ReleaseOptions(
        notes_dir=notes_dir, digests_dir=tmp_path / "digests", republish_reason="CVE", dry_run=True
    )
    with pytest.raises(MissingDockerfileError) as caught:
        release(cfg, version, builder=Any, clients=clients, options=options, smoke=None, read=read)
    message = caught.value.message
    assert f"there is no committed Dockerfile for PHP 8.3 at {dockerfile(project, '8.3')};" in (
        message
    )
    assert "8.5" not in message and caught.value.exit_code == 3
    assert "no pin for PHP 8.5" in err.getvalue()
