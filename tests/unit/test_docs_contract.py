"""What the README promises, read from the README and checked against the tool.

The documentation is the contract users read: the exit codes in its table, in
`publisher --help` and in core/errors.py are one list, and every error is said as
`error: KIND: MESSAGE` with a `  tip:` line saying what to do.
"""

from __future__ import annotations

import inspect
import json
import re
import shlex
import tomllib
from collections.abc import Iterable

import click
import pytest

from publisher import resolve
from publisher.core import errors
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_exit_codes() -> set[int]:
    section = README.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    codes: set[int] = set()
    for row in section.splitlines():
        cell = row.split("|")[1].strip()
        codes.update(int(c) for c in re.findall(r"\d+", cell))
    return codes


def _help_exit_codes(cli) -> set[int]:
    epilog = cli("--help").output.split("Exit codes:", 1)[1]
    return {int(c) for c in re.findall(r"(?<![\w/-])(\d+) [a-zA-Z(]", epilog)}


def _errors_exit_codes() -> set[int]:
    codes = {0, resolve.EXIT_BUILD_LOCALLY, resolve.EXIT_CANNOT_PROCEED}
    codes |= {128 + 1, 128 + 2, 128 + 15}  # Interrupted: SIGHUP, SIGINT, SIGTERM
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        code = getattr(cls, "exit_code", None)
        if isinstance(code, int):
            codes.add(code)
    return codes


def _docstring_exit_codes() -> set[int]:
    table = (errors.__doc__ or "").split("====  ====", 2)[2]
    return {int(m) for m in re.findall(r"^(\d+)\s", table, re.MULTILINE)}


def test_the_exit_codes_of_the_readme_the_help_and_the_errors_are_one_list(cli):
    readme, helped = _readme_exit_codes(), _help_exit_codes(cli)
    raised, documented = _errors_exit_codes(), _docstring_exit_codes()
    assert raised <= readme, f"raised, not in the README's table: {sorted(raised - readme)}"
    assert readme == helped, f"README {sorted(readme)} against --help {sorted(helped)}"
    assert readme == documented, f"README {sorted(readme)} against errors.py {sorted(documented)}"


# A mistake of each kind a user makes first (offline, before any request).
_OFFLINE = ("--config", "examples/offline/matrix.yaml")
_LEG = ("--platform", "linux/amd64", "--digest-file", "d.json")


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("plan", "v1.0.0", *_OFFLINE, "--only", "8.4,,8.5"), {}),
        (("plan", "v1.0.0", *_OFFLINE, "--only", "84"), {}),
        (("plan", "v1.0.0", *_OFFLINE), {"PUBLISHER_LINES": "8.4,,8.5"}),
        (("plan", "v1.0.0", *_OFFLINE), {"PUBLISHER_LINES": "84"}),
        (("plan", "v1.0.0", *_OFFLINE), {"PUBLISHER_PLATFORMS": "linux/s390x"}),
        (("plan", "v1.0.0", *_OFFLINE), {"PUBLISHER_BASE_MIRROR": "http://x/"}),
        (("plan", "v1.0.0", *_OFFLINE), {"PUBLISHER_NAMESPACE": "UP"}),
        (("inspect", "Bad Ref", "--offline"), {}),
        (("inspect", "a:b:c", "--offline"), {}),
        (("inspect", "", "--offline"), {}),
        (("inspect", "x@sha256:abc", "--offline"), {}),
        (("build", "v1.0.0", *_OFFLINE, "--php", "84", *_LEG), {}),
        (("republish", "v1.0.0", *_OFFLINE, "--reason", " "), {}),
        (("build", "v1.0.0", *_OFFLINE, "--php", "", *_LEG), {}),
        (("build", "v1.0.0", *_OFFLINE, "--php", "8.3,8.4", *_LEG), {}),
        (("release", "v1.0.0", *_OFFLINE, "--json"), {}),
    ],
)
def test_every_error_is_said_with_a_tip(cli, args, env):
    """README: "Every error is said on stderr as `error: KIND: MESSAGE` with a `  tip:`
    line saying what to do"; the JSON document carries the same tip as its hint."""
    result = cli(*args, env=env)
    assert result.exit_code in (2, 3), result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert "\n  tip: " in result.stderr, result.stderr
    if args[0] in ("plan", "inspect"):
        document = json.loads(cli(*args, "--json", env=env).stdout)
        assert document["ok"] is False and document["error"]["hint"], document


def test_a_matrix_error_says_what_to_write_instead(cli, tmp_path):
    text = (ROOT / "examples/offline/matrix.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "matrix.yaml"
    bad.write_text(text.replace('default_line: "8.4"', 'default_line: "9.9"'), encoding="utf-8")
    result = cli("plan", "v1.0.0", "--config", str(bad))
    assert result.exit_code == 3, result.output
    assert "  tip: set default_line to one of 8." in result.stderr, result.stderr
    assert "or add a line for 9.9" in result.stderr, result.stderr


def test_a_matrix_error_made_without_advice_of_its_own_says_where_to_correct_it():
    """Every site gives a hint (tests/unit/test_error_hints.py); a ConfigError made without
    one still names the place to act, so no configuration error reaches a user tipless."""
    error = errors.ConfigError("is wrong", source="matrix.yaml", field="default_line")
    assert (error.hint or "").startswith("correct default_line in matrix.yaml")


def _command_row(command: str) -> str:
    """The README's row of the Commands table for ``publisher COMMAND``."""
    return next(r for r in README.splitlines() if r.startswith(f"| `publisher {command} "))


def _quoted_names(text: str) -> set[str]:
    """The JSON member names a README passage quotes: `"ok"` and `name` alike."""
    return set(re.findall(r'`"?([a-z_]+)"?`', text))


def _json_block(after: str) -> dict:
    block = README.split(after, 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    return json.loads(block)


def test_plan_json_has_exactly_the_members_of_the_readme_example(cli):
    example = _json_block("### Plan JSON")
    plan = json.loads(cli("plan", "v2.0.0", "--json").stdout)
    assert set(plan) == set(example)
    assert set(plan["registries"][0]) == set(example["registries"][0])
    assert set(plan["lines"][0]) == set(example["lines"][0])
    assert set(plan["lines"][0]["targets"][0]) == set(example["lines"][0]["targets"][0])
    assert set(plan["floating"][0]) == set(example["floating"][0])


def _shape(value: object, maps: frozenset[str] = frozenset({"upload_bytes"})) -> object:
    """A JSON value's members, all the way down: an object's names (``maps``: an object
    whose names are data, its values' shape), a list's elements (merged), a scalar's type
    (``null`` stands for anything: the README's example and a plan differ there)."""

    def merged(values: Iterable[object]) -> list[str]:
        return sorted({json.dumps(_shape(v), sort_keys=True) for v in values})

    if isinstance(value, dict):
        return {
            k: ["map", merged(v.values())] if k in maps else _shape(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return ["list", merged(value)]
    return None if value is None else type(value).__name__


def _section(title: str) -> str:
    return README.split(title, 1)[1].split("\n### ", 1)[0]


def test_publish_plan_json_has_exactly_the_members_of_the_readme_example():
    """The example of "Publish plan JSON" has every member a printed plan has, at every
    level, and no other (a republish's plan whose copies take every kind of step: what
    --dry-run --json prints, through the same serializer); its prose names each top-level
    member and every `source` a line can have."""
    from publisher.core import publish_plan as pp
    from publisher.core.notes import Republish
    from publisher.core.transfer_plan import BlobStep, ManifestStep, Target, TransferPlan

    digest = "sha256:" + "a" * 64
    ghcr, dev = Target("https://ghcr.io", "acme/php-fpm"), Target("https://ghcr.io", "acme/dev")
    plan = pp.PublishPlan(
        release="v2.0.1",
        stable=True,
        default_line="8.4",
        republish=True,
        lines=(pp.LineAction("8.4", digest, pp.REPLACED, True, ("ghcr",), digest),),
        pin_moves=(pp.TagMove("hub", "v2.0.1-php-8.4", digest, digest, "pin", "v2.0.1"),),
        floating_moves=(pp.TagMove("hub", "php-8.4", digest, digest, "floating", "v2.0.1"),),
        conflicts=(pp.Conflict("PHP 8.4: a pin holds other content"),),
        history=Republish("2026-01-31", "base image update", (("8.4", digest, digest),)),
        transfers=TransferPlan(
            blobs=(BlobStep(digest, 10, ((ghcr, "acme/x"),), (dev,), ((ghcr, "acme/dev"),)),),
            manifests=((ManifestStep(ghcr, digest),),),
        ),
    )
    example = _json_block("### Publish plan JSON")
    printed = json.loads(plan.to_json())
    assert _shape(printed) == _shape(example), (printed, example)
    prose = _section("### Publish plan JSON").split("\n```\n", 1)[1]
    assert set(printed) <= _quoted_names(prose), set(printed) - _quoted_names(prose)
    sources = prose.split("`source` is one of", 1)[1].split("`push`", 1)[0]
    named = set(re.findall(r"`([a-z]+)` \(", sources))  # each value, then what it means
    assert named == {pp.PENDING, pp.ASSEMBLED, pp.PUBLISHED, pp.REPLACED}, sources
    assert f"schema {pp.PUBLISH_PLAN_SCHEMA})" in _section("### Publish plan JSON")


def test_render_json_has_exactly_the_members_the_readme_names(cli, tmp_path):
    row = _command_row("render")
    documented = {"ok", "template", "lines", "leftovers"}
    assert documented | {"error"} <= _quoted_names(row), row
    passed = json.loads(cli("render", "--check", "--json").stdout)
    assert set(passed) == documented
    assert {m for line in passed["lines"] for m in line} == {"php", "path", "state"}
    assert {line["state"] for line in passed["lines"]} == {"current"}
    text = (ROOT / "examples/offline/matrix.yaml").read_text(encoding="utf-8")
    (tmp_path / "dockerfiles").mkdir()
    template = ROOT / "dockerfiles/Dockerfile.j2"
    matrix = text.replace("template: ../../dockerfiles/Dockerfile.j2", f"template: {template}")
    (tmp_path / "matrix.yaml").write_text(matrix, encoding="utf-8")
    failed = json.loads(
        cli("render", "--check", "--json", "--config", str(tmp_path / "matrix.yaml")).stdout
    )
    assert set(failed) == documented | {"error"} and failed["ok"] is False
    assert {line["state"] for line in failed["lines"]} == {"missing"}


def test_render_json_diff_is_said_a_list_of_lines_with_its_bound(cli, tmp_path):
    """`diff` is the start of the diff as a list of lines: the README and --help say so, and
    how many at most (its two header lines, DIFF_EXCERPT_LINES, one saying how many more)."""
    from publisher.core import render

    most = 2 + render.DIFF_EXCERPT_LINES + 1
    said = f"a list of at most {most} lines"
    row = " ".join(_command_row("render").split())
    assert said in row, row
    assert f"at most {render.DIFF_EXCERPT_LINES} more, each cut at {render.DIFF_LINE_WIDTH}" in row
    assert said in " ".join(cli("render", "--help").output.split())
    committed = "".join(f"RUN step {n}\n" for n in range(40))
    rendered = "".join(f"RUN other {n}\n" for n in range(40))
    assert len(render.diff_excerpt(committed, rendered)) == most


@pytest.mark.parametrize(
    ("command", "members", "nested"),
    [
        (
            "verify",
            {
                "ok",
                "release",
                "lines",
                "defects",
                "unreachable",
                "rate_limited",
                "refused",
                "left_out",
            },
            set(),
        ),
        (
            "audit",
            {
                "ok",
                "releases",
                "findings",
                "unreachable",
                "rate_limited",
                "repaired",
                "unrepairable",
                "moved",
                "undecided",
            },
            set(),
        ),
        (
            "check-public",
            {"ok", "release", "registries"},
            {"name", "repository", "public", "pins", "reference", "digest", "problem"},
        ),
    ],
)
def test_the_readme_and_the_help_name_the_same_json_members(cli, command, members, nested):
    """What `--json` prints, as the README's Commands table and the command's --help say
    it, the members of its lists too (the integration tests check the documents themselves)."""
    row = _command_row(command).split("`--json`:", 1)[1]
    assert members | nested | {"error"} == _quoted_names(row) - {"--json"}, row
    helped = " ".join(cli(command, "--help").output.split())
    printed = re.search(r"--json prints \{([^}]*)\}", helped)
    assert printed and set(re.findall(r'"(\w+)"', printed.group(1))) == members, helped
    listed = helped.split("--json prints", 1)[1].split('adds "error"', 1)[0]
    assert set(re.findall(r'"(\w+)"', listed)) == members | nested, helped
    assert 'adds "error"' in helped


def _documents() -> str:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    pages += sorted((ROOT / "examples").glob("*/README.md"))
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def test_every_publisher_variable_the_docs_name_is_read_and_every_one_read_is_named(cli):
    """A `PUBLISHER_*` variable the documentation or a --help names is one publisher reads
    (or, for the test suite's own, its conftest), and every one it reads is documented."""
    from publisher.cli.base import COMMAND_MODULES

    helps = [cli("--help").output] + [cli(c, "--help").output for c in COMMAND_MODULES]
    pages = set(re.findall(r"\bPUBLISHER_[A-Z0-9_]*[A-Z0-9]\b", _documents()))
    named = pages | set(re.findall(r"\bPUBLISHER_[A-Z0-9_]*[A-Z0-9]\b", "".join(helps)))
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "publisher").rglob("*.py"))
    code += (ROOT / "tests/conftest.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\bPUBLISHER_[A-Z0-9_]*[A-Z0-9_]", code))
    prefixes = {name for name in read if name.endswith("_")}  # f"PUBLISHER_BUSYBOX_{ARCH}"
    unread = {n for n in named if n not in read and not any(n.startswith(p) for p in prefixes)}
    assert not unread, f"documented, read nowhere: {sorted(unread)}"
    # a --help alone is no documentation: the README (or a docs page) names each one
    unnamed = {n for n in read - prefixes if n not in pages}
    assert not unnamed, f"read, documented in no page (a --help at most): {sorted(unnamed)}"


#: Variables publisher reads that no page needs to name: the platform's own (HOME), and
#: the files GitHub Actions names for the step outputs and summary the docs describe.
_PLATFORM_VARIABLES = {"HOME", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"}

#: How the package reads a variable: ``env.get("X")``, ``environ["X"]``, ``getenv("X")``,
#: click's ``envvar="X"``, or a constant such as ``ENV_PHP = "X"`` / ``CONFIG_ENV = "X"``.
_READS = re.compile(
    r"""(?:\b(?:env|environ|environment)(?:\.get)?\(\s*|\b(?:env|environ)\[\s*|getenv\(\s*"""
    r"""|envvar=|\b[A-Z_]*ENV[A-Z_]*\s*=\s*)["']([A-Za-z][A-Za-z0-9_]*)["']"""
)


def test_every_environment_variable_the_package_reads_is_named_in_the_docs(cli):
    """Any variable publisher or resolve reads (not only `PUBLISHER_*`; another tool's
    own that publisher acts on too, such as buildah's `REGISTRY_AUTH_FILE`) is named in the
    README, a docs page or an example's README, not only in a --help, so no setting works
    unseen; a lowercase form (`no_proxy`) is documented as its uppercase one's."""
    documented = _documents()
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "publisher").rglob("*.py"))
    read = {name.upper() for name in _READS.findall(code)} - _PLATFORM_VARIABLES
    assert {"PHP_VERSION", "DOCKER_HOST", "PUBLISHER_CONFIG", "GITHUB_TOKEN"} <= read, read
    unnamed = {n for n in read if not re.search(rf"(?<![A-Z0-9_]){n}(?![A-Z0-9_])", documented)}
    assert not unnamed, f"read, documented nowhere: {sorted(unnamed)}"


def _exit_code_row(code: int) -> str:
    return next(r for r in README.splitlines() if r.startswith(f"| {code} | "))


_RELEASE = ("release", "v1.0.0", *_OFFLINE, "--only", "8.4", "--dry-run")


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("PUBLISHER_BUILDER", "kaniko", _RELEASE),
        ("PUBLISHER_QEMU", "maybe", ("matrix", "v1.0.0", *_OFFLINE)),
        ("PUBLISHER_RETRY_ATTEMPTS", "0", ("verify", "v1.0.0", *_OFFLINE)),
        ("SOURCE_DATE_EPOCH", "1.5", _RELEASE),
        ("GITHUB_SHA", "0\n1", _RELEASE),
        ("PUBLISHER_LINES", "8.9", ("plan", "v1.0.0", *_OFFLINE)),
        ("PUBLISHER_PLATFORMS", "linux/s390x", ("plan", "v1.0.0", *_OFFLINE)),
        ("PUBLISHER_BASE_MIRROR", "http://x/", ("plan", "v1.0.0", *_OFFLINE)),
        ("PUBLISHER_NAMESPACE", "UP", ("plan", "v1.0.0", *_OFFLINE)),
        ("HTTPS_PROXY", "socks5://proxy.example:1080", ("inspect", "ghcr.io/acme/php:v1")),
    ],
)
def test_a_bad_variable_exits_with_the_code_whose_row_names_it(cli, variable, value, args):
    """README's exit codes: a variable standing for an option is 2, an override of
    matrix.yaml is 3; each row names its variables."""
    code = next(
        c for c in (2, 3) if variable.replace("RETRY_ATTEMPTS", "RETRY_*") in _exit_code_row(c)
    )
    result = cli(*args, env={variable: value})
    assert result.exit_code == code, result.output
    assert variable in result.stderr, result.stderr


@pytest.mark.parametrize("blank", [" ", "\r", "\t "])
@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("PUBLISHER_BUILDER", ("release", "v1.0.0", *_OFFLINE, "--only", "8.9", "--dry-run")),
        ("PUBLISHER_ATTESTATIONS", ("release", "v1.0.0", *_OFFLINE, "--only", "8.9")),
        # --local: the offline rehearsal's legs (a new release's matrix reads the primary)
        ("PUBLISHER_QEMU", ("matrix", "v1.0.0", *_OFFLINE, "--github", "--local")),
        ("PUBLISHER_DEBUG", ("plan", "v1.0.0", *_OFFLINE, "--only", "8.9")),
    ],
)
def test_a_blank_variable_standing_for_an_option_counts_as_unset(cli, variable, args, blank):
    """README: a variable set to blanks only counts as unset, as the other settings do
    (config.overrides): the run is the one without it, never click's exit 2 for ' '."""
    unset = cli(*args)
    result = cli(*args, env={variable: blank})
    assert (result.exit_code, result.output) == (unset.exit_code, unset.output)
    assert variable not in result.output


def test_a_blank_publisher_config_is_still_refused(cli):
    """The one exception the README names: never a silent read of ./matrix.yaml."""
    result = cli("plan", "v1.0.0", env={"PUBLISHER_CONFIG": " "})
    assert result.exit_code == 2, result.output
    assert "PUBLISHER_CONFIG is set but empty" in result.output


def test_a_matrix_file_yaml_cannot_read_is_said_with_a_tip(cli, tmp_path):
    broken = tmp_path / "matrix.yaml"
    broken.write_text("namespace: [a\n", encoding="utf-8")
    result = cli("plan", "v1.0.0", "--config", str(broken))
    assert result.exit_code == 3, result.output
    assert f"error: configuration error: {broken}:2:1: invalid YAML" in result.stderr
    assert "\n  tip: fix the YAML at that line and column" in result.stderr, result.stderr


@pytest.mark.parametrize("index", ["{not json", '{"manifests": [{"mediaType": 1}]}'])
def test_a_layout_whose_index_cannot_be_read_is_said_with_a_tip(tmp_path, index):
    from publisher.adapters.registry.client import _layout_top

    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    (tmp_path / "index.json").write_text(index, encoding="utf-8")
    with pytest.raises(errors.CommandError) as caught:
        _layout_top(tmp_path)
    assert str(tmp_path / "index.json") in caught.value.message
    assert caught.value.hint and caught.value.hint.startswith("rebuild the image")


def test_inspect_json_has_exactly_the_members_its_help_names(cli):
    """`inspect --json` online: the members --help lists, its lists' members too."""
    from publisher.core.reference import parse
    from publisher.stages.inspect import Inspection, Missing, PlatformInfo

    digest = "sha256:" + "a" * 64
    document = Inspection(
        parse(f"example.org/acme/php-fpm:v1@{digest}"),
        reachable=True,
        digest=digest,
        platforms=(PlatformInfo("linux/amd64", digest, 1),),
        missing=(Missing("linux/arm64", digest, "manifest"),),
        pin="v1.0.0-php-8.4",
        pin_digest=digest,
    ).to_dict()
    helped = " ".join(cli("inspect", "--help").output.split())
    listed = helped.split("--json prints", 1)[1].split("Examples:", 1)[0]
    named = set(re.findall(r'"(\w+)"', listed)) - {"manifest", "config"}  # "kind"'s values
    nested = set(document["platforms"][0]) | set(document["missing"][0]) | set(document["tag"])
    nested |= set(document["pin"])
    assert named == set(document) | nested
    # Each object's own members, as its parenthesis lists them: a member one object lacks
    # in the help is not hidden by another object (or the document) having that name.
    objects = dict(re.findall(r'"(\w+)" \((?:each|null, or) \{([^}]*)\}', listed))
    printed = {
        "platforms": document["platforms"][0],
        "missing": document["missing"][0],
        "tag": document["tag"],
        "pin": document["pin"],
    }
    for member, sample in printed.items():
        assert set(re.findall(r'"(\w+)"', objects[member])) - {"manifest", "config"} == set(
            sample
        ), (member, objects.get(member))
    row = _command_row("inspect")
    assert '`"missing"`, each with `platform`, `digest` and `kind`' in row
    assert '`"pin"`' in row and "`name`, `digest` (where it points" in row


def test_the_readme_names_every_kind_and_member_of_a_verify_defect_and_an_audit_finding():
    from dataclasses import fields

    from publisher.core import audit_rules, verify_rules

    start = README.index("`verify --json` lists each defect as")
    verify, audit = README[start:].split("\n\n", 1)[0].split("`audit --json`", 1)
    members = [f.name for f in fields(verify_rules.Defect)]
    assert "{" + ", ".join(f'"{m}"' for m in members) + "}" in verify
    assert set(re.findall(r"`([a-z-]+)`", verify.split("one of", 1)[1])) == set(verify_rules.KINDS)
    members = [f.name for f in fields(audit_rules.Finding)] + ["message"]
    assert "{" + ", ".join(f'"{m}"' for m in members) + "}" in " ".join(audit.split())
    assert set(re.findall(r"`([a-z-]+)`", audit.split("one of", 1)[1])) == set(audit_rules.KINDS)


def test_consumers_quotes_each_resolve_entry_points_refusal_of_an_unknown_flag(cli):
    """docs/consumers.md quotes how `publisher resolve` and the vendored resolve.py refuse
    `--bogus`: in the same words, a line each entry point prints."""
    import io

    page = " ".join((ROOT / "docs/consumers.md").read_text(encoding="utf-8").split())
    passage = page.split("a flag it does not know,", 1)[1].split(". A flag given more", 1)[0]
    quoted = re.findall(r"`((?:resolve\.py: )?error: [^`]*)`", passage)
    err = io.StringIO()
    assert resolve.main(["--bogus"], env={}, stdout=io.StringIO(), stderr=err) == 2
    clicked = cli("resolve", "--bogus")
    assert clicked.exit_code == 2
    assert quoted, passage
    for lines in (clicked.stderr.splitlines(), err.getvalue().splitlines()):
        for line in quoted:
            assert line in lines, (line, lines)


def test_consumers_lists_every_word_each_true_false_setting_takes():
    """docs/consumers.md's settings table gives each true/false setting the words resolve
    and the launcher take for it (1/0, yes/no, on/off too), not for USE_PREBUILT alone."""
    page = (ROOT / "docs/consumers.md").read_text(encoding="utf-8")
    rows = {
        cells[2].strip(): cells[3].replace("`", "")
        for line in page.splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) > 4
    }
    switches = [option for option in resolve.OPTIONS if option.metavar == "true|false"]
    assert len(switches) >= 3
    for option in switches:
        accepted = rows[f"`{option.flag}`"]
        for yes, no in zip(resolve._TRUE, resolve._FALSE, strict=True):
            assert f"{yes}/{no}" in accepted, (option.env, accepted)


def test_the_example_compose_file_names_the_local_tag_start_sh_gives_it():
    """examples/stack/compose.yaml's comment on ``image:`` names a local build's tag as the
    launcher and resolve give it with a pins file: keyed on the base digest."""
    compose = (ROOT / "examples/stack/compose.yaml").read_text(encoding="utf-8")
    base = "docker.io/library/php:8.4-fpm-alpine@sha256:" + "0123456789ab" + "c" * 52
    tag = resolve.local_tag("twentyi/php-fpm", "v2.0.0-php-8.4", base)
    named = re.findall(r"\((localhost/[^ )]+)\) of a local build", compose)
    assert named == [tag], named


def _vendor_table(page: str) -> str:
    """The "What to vendor" table of a page: its lines from the first row to the blank line."""
    section = page.split("## What to vendor", 1)[1]
    return section[section.index("\n|") :].split("\n\n", 1)[0]


def test_every_folder_the_example_compose_file_mounts_is_in_both_vendor_tables():
    """A folder compose.yaml mounts from beside it (./www, the document root) is listed where
    a stack maintainer reads what to copy: vendored without it, docker makes an empty one,
    root's on Linux. Both pages also say that the stack is PHP-FPM alone on port 9000, with a
    web server to add to serve pages."""
    compose = (ROOT / "examples/stack/compose.yaml").read_text(encoding="utf-8")
    mounted = re.findall(r"^\s*- \./([^:/]+)/?:(/[^:]+)", compose, re.MULTILINE)
    assert mounted == [("www", "/var/www/html")], mounted
    for name in ("examples/stack/README.md", "docs/consumers.md"):
        page = (ROOT / name).read_text(encoding="utf-8")
        table = _vendor_table(page)
        for folder, target in mounted:
            assert f"`{folder}/`" in table and f"`{target}`" in table, (name, folder)
        flat = " ".join(page.split())
        assert "PHP-FPM alone" in flat and "`php:9000`" in flat, name
        assert "web server service" in flat, name


def test_the_stack_readme_lists_every_setting_of_start_sh_and_its_pins_file_first():
    """examples/stack/README.md's settings name every variable `start.sh --help` lists
    (STACK_RELEASE was once left out), and, before its first commands, the pins file a start
    needs (without one, exit 3); STACK_COMPOSE_TIMEOUT is said of the compose calls the
    header names (start.sh runs `compose rm`, never `compose down`)."""
    header = (ROOT / "examples/stack/start.sh").read_text(encoding="utf-8").split("\nset ", 1)[0]
    block = header.split("# Settings", 1)[1].split("\n#\n", 1)[0]
    settings = re.findall(r"^#   ([A-Z][A-Z_]+) ", block, re.MULTILINE)
    assert "STACK_RELEASE" in settings and len(settings) > 15, settings
    page = (ROOT / "examples/stack/README.md").read_text(encoding="utf-8")
    listed = page.split("1. **Settings**", 1)[1].split("\n2. ", 1)[0]
    assert [name for name in settings if f"`{name}`" not in listed] == []
    opening = " ".join(page.split("```", 1)[0].split())
    assert "as `php-images.env`" in opening and "`PHP_PINS_FILE`" in opening, opening
    assert "compose ps, logs and rm may take" in header
    flat = " ".join(page.split())
    assert "`STACK_COMPOSE_TIMEOUT` (seconds `compose ps`, `logs` and `rm` have" in flat
    assert "`compose down`, `ps`, `logs` within" not in flat


def test_every_bench_script_has_its_words_under_benchmark():
    """Each script in bench/ is run as the README's "Benchmark" section writes it
    (`python3 bench/NAME.py`), saying what it measures: deadline_bench and outage_bench
    once had none."""
    section = README.split("\n## Benchmark\n", 1)[1].split("\n## ", 1)[0]
    scripts = sorted(path.name for path in (ROOT / "bench").glob("*.py"))
    assert len(scripts) >= 9, scripts
    assert [name for name in scripts if f"`python3 bench/{name}`" not in section] == []


def test_the_design_says_why_of_every_runtime_dependency():
    """docs/design.md's "Runtime dependencies" table has one row per dependency of
    pyproject.toml, and no row for one the package no longer declares."""
    declared = {
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
            "project"
        ]["dependencies"]
    }
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    table = design.split("## Runtime dependencies", 1)[1].split("\n#", 1)[0]
    rows = {
        line.split("|")[1].strip().lower()
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| dependency ")
    }
    assert rows == declared


# --------------------------------------------------------------------------- examples

#: The pages whose commands users copy: every `publisher COMMAND ...` they write.
DOC_PAGES = (
    "README.md",
    "CONTRIBUTING.md",
    "docs/consumers.md",
    "docs/design.md",
    "docs/workflows.md",
    "examples/offline/README.md",
    "examples/real-php/README.md",
    "examples/stack/README.md",
)


def _help_examples(text: str) -> list[list[str]]:
    """The command lines under a help's ``Examples:`` (resolve.py's ``examples:``), split
    as a shell splits them, without the assignments before the command and the ``#
    comment`` or ``> file`` after it; a line that only continues a comment is none, and
    one ending in ``\\`` goes on in the next (kept within 80 columns)."""
    block = re.split(r"^ *[Ee]xamples:\n", text, maxsplit=1, flags=re.MULTILINE)[1]
    lines = []
    begun = ""
    for line in block.splitlines():
        if line.strip() and not line.startswith("  "):  # the next section
            break
        if line.endswith("\\"):
            begun += line[:-1]
            continue
        words = shlex.split(begun + line, comments=True)
        begun = ""
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            words.pop(0)
        if ">" in words:
            words = words[: words.index(">")]
        if words:
            lines.append(words)
    return lines


def _options(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def test_every_example_of_every_help_parses_as_written(cli):
    """Each `publisher ...` line under `Examples:` in `publisher --help` and every
    command's `--help` is a command line the command takes (its options exist, its
    required options are there, each value is one it accepts), as a user copies it."""
    from publisher.cli.base import COMMAND_MODULES, main

    group = click.Context(main, info_name="publisher")
    parsed = set()
    for args in [(), *((name,) for name in COMMAND_MODULES)]:
        examples = [w for w in _help_examples(cli(*args, "--help").output) if w[0] == "publisher"]
        assert examples, args
        for words in examples:
            name, *rest = words[1:]
            command = main.get_command(group, name)
            assert command is not None, words
            with command.make_context(name, rest, parent=group):  # click refuses a bad line
                parsed.add(name)
    assert parsed == set(COMMAND_MODULES)


def test_every_example_of_resolve_py_help_parses_as_written():
    """The examples `python3 resolve.py --help` gives: each is a command line it takes
    (its --help is shown only for a line valid otherwise, exit 0, else exit 2)."""
    import io

    helped = io.StringIO()
    assert resolve.main(["--help"], env={}, stdout=helped, stderr=io.StringIO()) == 0
    examples = [w for w in _help_examples(helped.getvalue()) if w[0] == "python3"]
    assert len(examples) >= 3, helped.getvalue()
    for words in examples:
        script = next(i for i, w in enumerate(words) if w in ("resolve.py", "publisher.resolve"))
        err = io.StringIO()
        argv = [*words[script + 1 :], "--help"]
        assert resolve.main(argv, env={}, stdout=io.StringIO(), stderr=err) == 0, err.getvalue()


def test_every_example_of_the_standins_script_help_parses_as_written():
    """`standins.py --help` and `standins.py push --help` give examples, as every command's
    help does, and each is a command line the script takes (its required --registry there,
    each value one it accepts), as a user copies it."""
    import importlib.util

    from click.testing import CliRunner

    spec = importlib.util.spec_from_file_location(
        "standins_script", ROOT / "examples/offline/standins.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    group = click.Context(script.main, info_name="standins.py")
    for args in ((), ("push",)):
        helped = CliRunner().invoke(script.main, [*args, "--help"])
        assert helped.exit_code == 0, helped.output
        examples = [w for w in _help_examples(helped.output) if w[0] == "python"]
        assert len(examples) >= 2, (args, helped.output)
        for words in examples:
            assert words[1] == "examples/offline/standins.py", words
            name, *rest = words[2:]
            command = script.main.get_command(group, name)
            assert command is not None, words
            with command.make_context(name, rest, parent=group):  # click refuses a bad line
                pass


def test_every_option_the_docs_give_a_command_is_one_it_takes():
    """An option written after `publisher COMMAND` in the README and docs (`publisher
    release vX.Y.Z --local`, `publisher audit [--repair]`) is one of that command's."""
    from publisher.cli.base import COMMAND_MODULES, main

    group = click.Context(main, info_name="publisher")
    taken = {name: _options(main.get_command(group, name)) for name in COMMAND_MODULES}
    checked = 0
    for page in DOC_PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)
        spans = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
        for span in [*spans, *(line for block in blocks for line in block.splitlines())]:
            for match in re.finditer(r"(?:^|[\s(])publisher ([a-z-]+)([^`|;&#]*)", span):
                name, rest = match.groups()
                if name not in taken:  # prose: "publisher reads", "publisher pushes"
                    continue
                for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest):
                    checked += 1
                    assert option in taken[name] | {"-h", "--help", "--debug"}, (page, span)
    assert checked > 50


def test_a_retry_the_docs_quote_counts_the_attempts_of_the_retry_policy():
    """A retry quoted in the docs, "(attempt 2 of 5)", counts the default PUBLISHER_RETRY_ATTEMPTS
    (RetryPolicy, the one retry policy of registries and the GitHub API alike); a page
    once said a GitHub 5xx was retried three times, "attempt N of 4", against its 5."""
    from publisher.core.retry import RetryPolicy

    quoted = {
        (page, int(total))
        for page in DOC_PAGES
        for total in re.findall(r"attempt \w+ of (\d+)", (ROOT / page).read_text("utf-8"))
    }
    assert quoted, "no retry quoted"
    assert {(page, total) for page, total in quoted if total != RetryPolicy().attempts} == set()
