"""Run the release workflow's commands, job by job, against local registries.

This reads .github/workflows/release.yml and executes the ``run:`` steps of its
jobs in order, the way a runner would (``bash -eo pipefail``, the step's
``env:`` with its ``${{ }}`` expressions evaluated, ``$GITHUB_OUTPUT`` and
``$GITHUB_STEP_SUMMARY`` files, ``GITHUB_ACTIONS=true``):

* preflight: render --check, plan, preflight, matrix (its step output is the matrix);
* build: one leg per matrix entry, each a separate process in its own checkout,
  whose digest record is then "uploaded" to its own artifact directory;
* publish: a fresh checkout, the artifacts "downloaded" (merged) into digests/,
  then publish, verify, signing (with a recording stand-in for cosign) and the
  GitHub release (against the local GitHub stand-in);
* republish.yml, after such a release: check (republish-check, or the requested
  release by hand), the legs with ``rebuild: true`` when it says changed, then the
  republish job; on its schedule with and without a moved base, rerun, and by hand.

What differs from GitHub, and why, is spelled out in ``SKIPPED`` and
``SUBSTITUTED``: the registries are loopback distribution registries, the base
images are the offline STAND-IN bases (busybox, not PHP), buildx is not
installed here so the legs build with buildah (else docker) through
PUBLISHER_BUILDER, and steps that need GitHub itself (pip install from the
checkout, the release-notes pull request) are skipped by name. Any run step not
classified here fails the test, so a new workflow step cannot slip through.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.adapters.builders import BuilderName
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.adapters.runner import Runner
from publisher.core.errors import NotFoundError
from publisher.core.reference import parse
from publisher.resolve import STAND_IN_WARNING as STAND_IN
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import GH_REPO, GH_TOKEN, BasicAuthRegistry
from tests.support.fake_github import FakeGitHub
from tests.support.github_files import parse_outputs
from tests.support.images import make_image, push_raw

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "release.yml"
RELEASE = "v1.0.0"
#: The release commit's time (2026-01-02T03:04:05Z): SOURCE_DATE_EPOCH in every build.
COMMIT_EPOCH = 1767323045
COMMIT_CREATED = "2026-01-02T03:04:05Z"
LINES = ("8.4",)  # one line, both platforms: two legs, enough to prove the fan-out

#: Run steps that are not executed here, by step name, with the reason.
SKIPPED = {
    "Install publisher": "publisher is installed in the test environment",
    "Install the distribution registry (throwaway loopback registries)": "scripts/setup-machine "
    "installs it here",
    "Release notes history from the default branch": "needs the GitHub git remote",
    "Pull request with the release notes": "needs the GitHub git remote and gh",
}
#: Run steps executed as written (each must run: checked at the end).
EXECUTED = {
    "Dockerfiles are current",
    "Release plan",
    "Registries, credentials and base images",
    "Build matrix",
    "Release commit time (SOURCE_DATE_EPOCH)",
    "Build and push by digest",
    "Publish (indexes, copies, verification, smoke tests, tags, notes)",
    "Verify every tag on every registry",
    "Sign the index digests",
    "GitHub release",
    "Anyone can pull (anonymous read of every pin)",
}
#: image-build.yml's run steps executed by the second test.
EXECUTED_IMAGE_BUILD = {
    "Dockerfiles are current",
    "Build matrix",
    "Commit time (SOURCE_DATE_EPOCH)",
    "Build, smoke-test and verify on throwaway registries",
}
#: What the test puts in place of something only GitHub has.
SUBSTITUTED = {
    "PUBLISHER_BUILDER": "buildx is not installed here: buildah (else docker) builds the legs",
    "cosign": "a recording stand-in on PATH (keyless signing needs GitHub's OIDC token); "
    "stand-in releases are not signed, so it must stay unused",
    "GITHUB_API_URL": "the local GitHub stand-in (tests/support/fake_github.py)",
    "PUBLISHER_ALLOW_STAND_IN_RELEASE": "the release is a stand-in rehearsal, which gh-release "
    "refuses unless told (the GitHub it reaches is the local stand-in)",
    "docker/login-action": "the test writes the docker config entry that `docker login` would",
}


# ------------------------------------------------------------ expressions


class Contexts:
    """The expression contexts a step sees."""

    def __init__(self, **values: Any) -> None:
        self.values = values

    def lookup(self, path: str) -> Any:
        parts = path.split(".")
        value: Any = self.values
        for part in parts:
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(f"unknown context value {path!r} (extend the test's contexts)")
            value = value[part]
        return value


def evaluate(expr: str, ctx: Contexts) -> Any:
    """The subset of the expression language the workflows use: paths, literals, == != && ||."""
    expr = expr.strip()
    for op in ("||", "&&"):
        parts = _split(expr, op)
        if len(parts) > 1:
            values = [evaluate(p, ctx) for p in parts]
            if op == "||":
                return next((v for v in values if v), values[-1])
            return values[-1] if all(values) else next(v for v in values if not v)
    for op in ("==", "!="):
        parts = _split(expr, op)
        if len(parts) == 2:
            left, right = (evaluate(p, ctx) for p in parts)
            equal = str(left).lower() == str(right).lower()
            return equal if op == "==" else not equal
    if re.fullmatch(r"'[^']*'", expr):
        return expr[1:-1]
    if expr in ("true", "false"):
        return expr == "true"
    if re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", expr):
        return ctx.lookup(expr)
    m = re.fullmatch(r"fromJSON\((.+)\)", expr)
    if m:
        return json.loads(evaluate(m[1], ctx))
    raise ValueError(f"expression not supported by the test: {expr!r}")


def _split(expr: str, op: str) -> list[str]:
    parts, depth, quote, start, i = [], 0, False, 0, 0
    while i < len(expr):
        ch = expr[i]
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and expr.startswith(op, i):
            parts.append(expr[start:i])
            i += len(op)
            start = i
            continue
        i += 1
    parts.append(expr[start:])
    return parts


def interpolate(text: str, ctx: Contexts) -> str:
    def one(m: re.Match[str]) -> str:
        value = evaluate(m[1], ctx)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def condition(step: Mapping[str, Any], ctx: Contexts) -> bool:
    if "if" not in step:
        return True
    text = str(step["if"])
    m = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", text)
    return bool(evaluate(m[1] if m else text, ctx))


# ---------------------------------------------------------------- runner


class NoOutputs(dict[str, Any]):
    """The outputs of a step that did not run: every name reads as null."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class StepResult:
    name: str
    outputs: dict[str, str]
    stdout: str
    stderr: str


@dataclass
class Machine:
    """What every job's steps run with: PATH shims, env, the GitHub stand-in."""

    bin_dir: Path
    base_env: dict[str, str]
    secrets: dict[str, str]
    workflow: dict[str, Any]
    builder: str
    log: list[StepResult] = field(default_factory=list)
    #: The ``github`` context's values that differ from a tag push (e.g. a schedule's).
    github: dict[str, Any] = field(default_factory=dict)

    def github_context(self) -> dict[str, Any]:
        """The ``github`` context: a tag push of RELEASE unless ``github`` says otherwise."""
        return {
            "ref_name": RELEASE,
            "sha": self.base_env.get("GITHUB_SHA"),
            "event_name": "push",
            "actor": "publisher-bot",
            "repository": GH_REPO,
            "event": {"repository": {"default_branch": "main"}},
            **self.github,
        }

    def run_job(
        self,
        job_id: str,
        checkout: Path,
        *,
        matrix: Mapping[str, str] | None = None,
        needs: Mapping[str, Any] | None = None,
        workflow: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        expect_failure: Mapping[str, int] | None = None,
    ) -> dict[str, dict[str, str]]:
        """Run ``job_id``'s run steps; ``expect_failure`` maps step names to their exit code."""
        workflow = workflow or self.workflow
        job = workflow["jobs"][job_id]
        workflow_env = {k: str(v) for k, v in (workflow.get("env") or {}).items()}
        job_env: dict[str, str] = {}  # what steps append to $GITHUB_ENV
        ctx = Contexts(
            github=self.github_context(),
            secrets=self.secrets,
            matrix=dict(matrix or {}),
            needs=dict(needs or {}),
            env=workflow_env,
            steps={},
            inputs=dict(inputs or {}),
        )
        # A step that does not run has empty outputs (null on GitHub); one that ran has
        # exactly what it wrote, so reading an output it never sets is an error here.
        steps_outputs: dict[str, Mapping[str, Any]] = {
            step["id"]: NoOutputs() for step in job.get("steps") or [] if "id" in step
        }
        ctx.values["steps"] = {k: {"outputs": v} for k, v in steps_outputs.items()}
        for index, step in enumerate(job.get("steps") or []):
            name = step.get("name") or step.get("uses") or f"step {index + 1}"
            if "run" not in step:
                continue  # actions: checkout, setup-*, login, upload/download (done by the test)
            if name in SKIPPED:
                continue
            if not condition(step, ctx):
                continue
            env = dict(self.base_env)
            env.update(workflow_env)
            env.update(job_env)
            env.update({k: interpolate(str(v), ctx) for k, v in (step.get("env") or {}).items()})
            env["PUBLISHER_BUILDER"] = self.builder  # SUBSTITUTED
            out_file = checkout / f".github-output-{uuid.uuid4().hex}"
            out_file.write_text("", encoding="utf-8")
            env["GITHUB_OUTPUT"] = str(out_file)
            env_file = checkout / f".github-env-{uuid.uuid4().hex}"
            env_file.write_text("", encoding="utf-8")
            env["GITHUB_ENV"] = str(env_file)
            script = checkout / f".step-{uuid.uuid4().hex}.sh"
            script.write_text(str(step["run"]), encoding="utf-8")
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            outputs = parse_outputs(out_file.read_text(encoding="utf-8"))
            job_env.update(parse_outputs(env_file.read_text(encoding="utf-8")))
            self.log.append(StepResult(f"{job_id}: {name}", outputs, result.stdout, result.stderr))
            if expect_failure and name in expect_failure:
                assert result.returncode == expect_failure[name], (
                    f"{job_id} step {name!r} should fail with {expect_failure[name]}, "
                    f"got {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                )
                break  # a failed step ends the job, as on GitHub
            assert result.returncode == 0, (
                f"{job_id} step {name!r} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
            if "id" in step:
                steps_outputs[step["id"]] = outputs
                ctx.values["steps"] = {k: {"outputs": v} for k, v in steps_outputs.items()}
        return {
            "outputs": {k: interpolate(str(v), ctx) for k, v in (job.get("outputs") or {}).items()}
        }


def run_steps_named(workflow: Mapping[str, Any]) -> set[str]:
    """Every run step's name, including those of the local reusable workflows it calls."""
    names = set()
    for job in workflow["jobs"].values():
        if str(job.get("uses", "")).startswith("./"):
            called = load_workflow(str(job["uses"]).split("#")[0].strip())
            names |= run_steps_named(called)
        names |= {step.get("name", "") for step in job.get("steps") or [] if "run" in step}
    return names


def load_workflow(path: str) -> dict[str, Any]:
    """A workflow file by its path in the repository (``./.github/workflows/x.yml``)."""
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def image_created(client: RegistryClient, repo_path: str, digest: str) -> str:
    """The ``created`` label of the platform image at ``digest`` (an index: its image)."""
    manifest = client.get_manifest_by_digest(repo_path, digest)
    if manifest.is_index:
        child = manifest.platform_children[0]
        manifest = client.get_manifest_by_digest(repo_path, child.digest)
    config = client.image_config(repo_path, manifest)
    labels = (config.get("config") or {}).get("Labels") or {}
    return str(labels.get("org.opencontainers.image.created", ""))


# --------------------------------------------------------------- fixtures


@pytest.fixture
def bases(registry: LocalRegistry) -> str:
    """Push the STAND-IN bases to the loopback registry that acts as the base mirror."""
    standins.push_standins(registry.host, runner=Runner(output=Output(env={})), lines=LINES)
    return registry.host


def local_builder() -> str:
    if shutil.which("buildah"):
        return BuilderName.BUILDAH.value
    require_tool("docker")
    return BuilderName.DOCKER.value


@pytest.fixture
def repository(
    tmp_path: Path, basic_registry: BasicAuthRegistry, second_registry: LocalRegistry
) -> Path:
    """A checkout of the project: the offline matrix pointed at loopback registries, rendered.

    The primary ("dockerhub") needs a login, with the credentials from the same env
    names as the real matrix.yaml; its password is the canary of scenario 21.
    """
    name = f"stand-in-example/php-fpm-{uuid.uuid4().hex[:8]}"
    data = yaml.safe_load(
        (ROOT / "examples" / "offline" / "matrix.yaml").read_text(encoding="utf-8")
    )
    data["registries"] = [
        {
            "name": "dockerhub",
            "repository": f"{basic_registry.host}/{name}",
            "primary": True,
            "username_env": "DOCKERHUB_USERNAME",
            "password_env": "DOCKERHUB_TOKEN",
        },
        {"name": "ghcr", "repository": f"{second_registry.host}/{name}"},
    ]
    data["template"] = str(ROOT / "dockerfiles" / "Dockerfile.j2")
    data["lines"] = [line for line in data["lines"] if line["php"] in LINES]
    data["default_line"] = LINES[-1]
    repo = tmp_path / "repository"
    repo.mkdir()
    (repo / "matrix.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / ".github" / "scripts", repo / ".github" / "scripts")
    subprocess.run(
        [sys.executable, "-m", "publisher", "render"], cwd=repo, check=True, capture_output=True
    )
    commit(repo)
    return repo


def commit(repo: Path) -> None:
    """Make ``repo`` a git checkout whose HEAD is the release commit, at COMMIT_EPOCH."""
    date = f"@{COMMIT_EPOCH} +0000"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """``publisher`` (this interpreter) and a recording ``cosign`` on PATH."""
    path = tmp_path / "bin"
    path.mkdir()
    publisher = path / "publisher"
    publisher.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m publisher "$@"\n', encoding="utf-8"
    )
    cosign = path / "cosign"
    cosign.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$COSIGN_LOG"\n', encoding="utf-8")
    for f in (publisher, cosign):
        f.chmod(0o755)
    return path


def checkout(repository: Path, where: Path) -> Path:
    shutil.copytree(repository, where)
    return where


def workflow_machine(
    tmp_path: Path,
    bin_dir: Path,
    gh: FakeGitHub,
    basic_registry: BasicAuthRegistry,
    bases: str,
    workflow: dict[str, Any],
) -> tuple[Machine, Path, Path]:
    """A runner for ``workflow`` with the secrets, docker login and stand-ins of a release.

    Returns the machine, the step summary file and the cosign stand-in's log.
    """
    canary = basic_registry.password
    basic = base64.b64encode(f"{basic_registry.username}:{canary}".encode()).decode()
    # What docker/login-action leaves behind: a docker config with the registry's auth.
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": basic}}}), encoding="utf-8"
    )
    cosign_log = tmp_path / "cosign.log"
    summary = tmp_path / "summary.md"
    summary.write_text("", encoding="utf-8")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    base_env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REF_NAME": RELEASE,
            "GITHUB_REPOSITORY": GH_REPO,
            "GITHUB_SHA": "0" * 40,
            "GITHUB_API_URL": gh.url,
            "PUBLISHER_ALLOW_STAND_IN_RELEASE": "1",  # SUBSTITUTED
            "GITHUB_STEP_SUMMARY": str(summary),
            "PUBLISHER_BASE_MIRROR": bases,
            "PYTHONPATH": str(ROOT),
            "COSIGN_LOG": str(cosign_log),
            "HOME": str(home),
            "DOCKER_CONFIG": str(home / ".docker"),
            "REGISTRY_AUTH_FILE": str(home / ".docker" / "config.json"),
            "PUBLISHER_DEBUG": "1",  # debug detail on: the canary must stay hidden anyway
        }
    )
    machine = Machine(
        bin_dir=bin_dir,
        base_env=base_env,
        secrets={
            "DOCKERHUB_USERNAME": basic_registry.username,
            "DOCKERHUB_TOKEN": canary,
            "GITHUB_TOKEN": GH_TOKEN,
        },
        workflow=workflow,
        builder=local_builder(),
    )

    return machine, summary, cosign_log


# ------------------------------------------------------------------- test


def test_release_workflow_commands_run_in_order(
    tmp_path: Path,
    bases: str,
    repository: Path,
    bin_dir: Path,
    gh: FakeGitHub,
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
) -> None:
    require_tool("bash")
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    unclassified = run_steps_named(workflow) - set(SKIPPED) - EXECUTED
    assert not unclassified, f"classify these run steps in the test: {sorted(unclassified)}"

    machine, summary, cosign_log = workflow_machine(
        tmp_path, bin_dir, gh, basic_registry, bases, workflow
    )
    canary = basic_registry.password
    basic = base64.b64encode(f"{basic_registry.username}:{canary}".encode()).decode()

    # preflight
    assert list(workflow["jobs"]) == ["preflight", "build", "publish"]
    pre = machine.run_job("preflight", checkout(repository, tmp_path / "preflight"))
    matrix = json.loads(pre["outputs"]["matrix"])
    legs = matrix["include"]
    assert [(leg["php"], leg["platform"]) for leg in legs] == [
        (php, p) for php in LINES for p in ("linux/amd64", "linux/arm64")
    ]

    # build: legs.yml, called by release.yml's build job; each leg a separate process
    # in its own checkout, its record uploaded as an artifact
    call = workflow["jobs"]["build"]
    legs_workflow = load_workflow(call["uses"])
    needs = {"preflight": {"outputs": pre["outputs"]}}
    call_ctx = Contexts(github=machine.github_context(), needs=needs)
    inputs = {k: interpolate(str(v), call_ctx) for k, v in call["with"].items()}
    sha = machine.base_env["GITHUB_SHA"]  # the commit the publish job checks out
    assert inputs == {"release": RELEASE, "commit": sha, "matrix": pre["outputs"]["matrix"]}
    inputs["rebuild"] = False  # the input's default
    artifacts = run_legs(machine, call, needs, repository, tmp_path)

    # Reproducible: every leg ran with the release commit's time, and a rebuild of the
    # same commit (republish.yml calls legs.yml with rebuild: true) gives the same label.
    primary = RegistryClient(
        basic_registry.host, plain_http=True, credentials=basic_registry.credentials
    )
    first = legs[0]
    record = json.loads(
        (artifacts / f"digest-{first['slug']}" / f"{first['slug']}.json").read_text()
    )
    again = checkout(repository, tmp_path / "rebuild")
    machine.run_job(
        "build", again, matrix=first, workflow=legs_workflow, inputs={**inputs, "rebuild": True}
    )
    rebuilt = json.loads((again / "digests" / f"{first['slug']}.json").read_text())
    epochs = [
        r.stdout for r in machine.log if r.name == "build: Release commit time (SOURCE_DATE_EPOCH)"
    ]
    assert len(epochs) == len(legs) + 1
    assert all(f"SOURCE_DATE_EPOCH={COMMIT_EPOCH}" in out for out in epochs)
    created = set()
    for path in [*artifacts.rglob("*.json"), again / "digests" / f"{first['slug']}.json"]:
        data = json.loads(path.read_text())
        repo_path = str(data["repository"]).split("/", 1)[1]
        created.add(image_created(primary, repo_path, data["digest"]))
    assert created == {COMMIT_CREATED}, created
    assert rebuilt["platform"] == record["platform"]

    # publish: download (merge) every digest-* artifact, then the publish steps
    pub = checkout(repository, tmp_path / "publish")
    target = download(workflow["jobs"]["publish"], artifacts, pub)
    assert len(list(target.iterdir())) == len(legs)
    anonymous = "Anyone can pull (anonymous read of every pin)"
    machine.run_job("publish", pub, expect_failure={anonymous: 12})

    # The primary stands in for a private package: it refuses anonymous reads, so the
    # job fails at its last step with the one-time steps, after everything else ran.
    check = next(r for r in machine.log if r.name == f"publish: {anonymous}")
    said = check.stdout + check.stderr
    assert f"{basic_registry.host}/" in said and ": refused" in said
    assert f"{second_registry.host}/" in said  # read anonymously, and fine
    assert "readable without credentials in that registry's settings" in said

    # The registries hold the release: every tag, one index, identical on both.
    notes = json.loads((pub / "release-notes" / f"{RELEASE}.json").read_text(encoding="utf-8"))
    records = {
        json.loads(f.read_text())["platform"]: json.loads(f.read_text())["digest"]
        for f in target.iterdir()
    }
    cfg_repo = notes["lines"][0]["references"]["dockerhub"].split("@")[0]
    repo_path = cfg_repo.split("/", 1)[1]
    clients = [
        RegistryClient(
            basic_registry.host, plain_http=True, credentials=basic_registry.credentials
        ),
        RegistryClient(second_registry.host, plain_http=True),
    ]
    index_digest = notes["lines"][0]["index_digest"]
    for client in clients:
        tags = client.tag_digests(repo_path)
        for tag in (f"{RELEASE}-php-{LINES[-1]}", RELEASE, f"php-{LINES[-1]}", "latest"):
            assert tags.get(tag) == index_digest, (client.host, tag, tags)
        index = client.get_manifest_by_digest(repo_path, index_digest)
        children = {c.platform: c.digest for c in index.platform_children}  # "linux/amd64"
        assert children == records  # exactly the digests the legs pushed

    # The signing step read the notes JSON and, as for every STAND-IN release, signed
    # nothing (tests/integration/test_workflows.py covers signing a real release's notes).
    assert notes["stand_in"] is True
    assert not cosign_log.exists()
    sign_step = next(r for r in machine.log if r.name == "publish: Sign the index digests")
    assert "stand-in release: nothing to sign" in sign_step.stderr

    # The GitHub release carries the notes.
    release = gh.release(GH_REPO, RELEASE)
    assert release is not None
    assert release["body"] == (pub / "release-notes" / f"{RELEASE}.md").read_text(encoding="utf-8")

    ran = {entry.name.split(": ", 1)[1] for entry in machine.log}
    assert ran == EXECUTED

    # Actions-native output: groups in the logs, digests in the summary, no token anywhere.
    logs = "\n".join(r.stdout + r.stderr for r in machine.log)
    assert "::group::" in logs
    assert index_digest in summary.read_text(encoding="utf-8")
    # The digest table says what happened, and that the images are stand-ins.
    assert f"### Published {RELEASE}: {STAND_IN}\n" in summary.read_text(encoding="utf-8")
    # The token's only appearance is the ::add-mask:: that hides it, printed before its use.
    gh_step = next(r for r in machine.log if r.name == "publish: GitHub release")
    assert gh_step.stdout.splitlines()[0] == f"::add-mask::{GH_TOKEN}"
    unmasked = "\n".join(line for line in logs.splitlines() if not line.startswith("::add-mask::"))
    assert GH_TOKEN not in unmasked + summary.read_text(encoding="utf-8")
    # Scenario 21 across the whole workflow: the registry password (and its Basic
    # form) is masked before first use and appears in no log, summary, output,
    # digest record or release note.
    for secret in (GH_TOKEN, canary, basic):
        assert secret not in unmasked + summary.read_text(encoding="utf-8"), secret
        assert all(secret not in "\n".join(r.outputs.values()) for r in machine.log)
    build_log = next(r for r in machine.log if r.name == "build: Build and push by digest")
    masks = [line for line in build_log.stdout.splitlines() if line.startswith("::add-mask::")]
    assert f"::add-mask::{canary}" in masks
    produced = [p for p in pub.rglob("*") if p.is_file() and ".github" not in p.parts]
    produced += [p for p in artifacts.rglob("*") if p.is_file()]
    for path in produced:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in (GH_TOKEN, canary, basic):
            assert secret not in text, path


def test_a_release_tag_pushed_again_on_another_dockerfile_is_refused_not_taken_for_a_rerun(
    tmp_path: Path,
    bases: str,
    repository: Path,
    bin_dir: Path,
    gh: FakeGitHub,
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
) -> None:
    """v1.0.0 is published; its tag is deleted and pushed again on a commit whose
    Dockerfile differs (matrix.yaml's packages changed, rendered). The leg that finds the
    pin, and the publish job given the first run's records, refuse (exit 14) before any
    write, naming the line, both Dockerfile digests and both commits, rather than pass
    green as a rerun that publishes nothing new. With the tag back on its commit, a run
    is the quiet no-op a rerun is."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    machine, _, _ = workflow_machine(tmp_path, bin_dir, gh, basic_registry, bases, workflow)
    legs_workflow = load_workflow(workflow["jobs"]["build"]["uses"])
    matrix_file = repository / "matrix.yaml"
    data = yaml.safe_load(matrix_file.read_text(encoding="utf-8"))
    data["platforms"] = ["linux/amd64"]  # one leg is enough

    def commit_matrix() -> str:
        matrix_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "publisher", "render"],
            cwd=repository,
            check=True,
            capture_output=True,
        )
        commit(repository)
        head = ["git", "rev-parse", "HEAD"]
        done = subprocess.run(head, cwd=repository, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def preflight(source: Path, where: Path) -> tuple[dict[str, Any], dict[str, str]]:
        pre = machine.run_job("preflight", checkout(source, where / "preflight"))
        (leg,) = json.loads(pre["outputs"]["matrix"])["include"]
        return {"preflight": {"outputs": pre["outputs"]}}, leg

    anonymous = "Anyone can pull (anonymous read of every pin)"
    build = "Build and push by digest"
    publish = "Publish (indexes, copies, verification, smoke tests, tags, notes)"
    sha_a = commit_matrix()
    machine.base_env["GITHUB_SHA"] = sha_a
    first = tmp_path / "first"
    needs, _ = preflight(repository, first)
    artifacts = run_legs(machine, workflow["jobs"]["build"], needs, repository, first)
    pub = checkout(repository, first / "publish")
    download(workflow["jobs"]["publish"], artifacts, pub)
    machine.run_job("publish", pub, expect_failure={anonymous: 12})
    commit_a = checkout(repository, tmp_path / "commit-a")
    dockerfile = Path("dockerfiles") / LINES[-1] / "Dockerfile"
    built_from = "sha256:" + hashlib.sha256((commit_a / dockerfile).read_bytes()).hexdigest()
    primary = RegistryClient(
        basic_registry.host, plain_http=True, credentials=basic_registry.credentials
    )
    secondary = RegistryClient(second_registry.host, plain_http=True)
    repo_path = data["registries"][0]["repository"].split("/", 1)[1]

    def tags() -> list[dict[str, str]]:
        return [primary.tag_digests(repo_path), secondary.tag_digests(repo_path)]

    held = tags()

    # the tag deleted and pushed again on commit B, another Dockerfile
    data["packages"] = [*data.get("packages", []), "icu-libs"]
    sha_b = commit_matrix()
    today = "sha256:" + hashlib.sha256((repository / dockerfile).read_bytes()).hexdigest()
    assert today != built_from
    machine.base_env["GITHUB_SHA"] = sha_b
    moved = tmp_path / "moved"
    needs, leg = preflight(repository, moved)
    inputs = {
        "release": RELEASE,
        "commit": sha_b,
        "matrix": needs["preflight"]["outputs"]["matrix"],
    }
    machine.run_job(
        "build",
        checkout(repository, moved / "leg"),
        matrix=leg,
        workflow=legs_workflow,
        inputs={**inputs, "rebuild": False},
        expect_failure={build: 14},
    )
    # the publish job of such a run, given the first run's records, refuses alike
    pub = checkout(repository, moved / "publish")
    download(workflow["jobs"]["publish"], artifacts, pub)
    machine.run_job("publish", pub, expect_failure={publish: 14})
    for step in (f"build: {build}", f"publish: {publish}"):
        result = next(r for r in reversed(machine.log) if r.name == step)
        said = " ".join(result.stderr.split())
        assert "release conflict" in said and f"PHP {LINES[-1]}" in said, said
        assert built_from in said and today in said, said
        assert f"built at commit {sha_a}" in said, said
        assert "publish the change as a new release" in said, said
        assert f"publisher republish {RELEASE} --reason" in said, said
    # the leg names the commit it checked out too (GITHUB_SHA, its revision)
    leg_said = next(r for r in reversed(machine.log) if r.name == f"build: {build}")
    assert f"this checkout is {sha_b}" in " ".join(leg_said.stderr.split())
    assert tags() == held

    # the tag back on commit A: a rerun, which builds nothing and moves nothing
    machine.base_env["GITHUB_SHA"] = sha_a
    again = tmp_path / "again"
    needs, _ = preflight(commit_a, again)
    artifacts = run_legs(machine, workflow["jobs"]["build"], needs, commit_a, again)
    leg_log = next(r for r in reversed(machine.log) if r.name == f"build: {build}")
    assert "not rebuilding" in leg_log.stdout + leg_log.stderr
    pub = checkout(commit_a, again / "publish")
    download(workflow["jobs"]["publish"], artifacts, pub)
    machine.run_job("publish", pub, expect_failure={anonymous: 12})
    assert tags() == held


def test_image_build_workflow_commands_build_and_smoke_test_pushing_nothing(
    tmp_path: Path,
    bases: str,
    repository: Path,
    bin_dir: Path,
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
) -> None:
    """image-build.yml: the legs of the matrix job, each `release --local` on its runner."""
    require_tool("bash")
    workflow = load_workflow(".github/workflows/image-build.yml")
    unclassified = run_steps_named(workflow) - set(SKIPPED) - EXECUTED_IMAGE_BUILD
    assert not unclassified, f"classify these run steps in the test: {sorted(unclassified)}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    base_env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "PUBLISHER_BASE_MIRROR": bases,
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path / "home"),
            "COSIGN_LOG": str(tmp_path / "cosign.log"),
        }
    )
    machine = Machine(
        bin_dir=bin_dir,
        base_env=base_env,
        secrets={},
        workflow=workflow,
        builder=local_builder(),
    )
    found = machine.run_job("matrix", checkout(repository, tmp_path / "matrix"))
    legs = json.loads(found["outputs"]["matrix"])["include"]
    assert {leg["runner"] for leg in legs} == {"ubuntu-24.04", "ubuntu-24.04-arm"}  # native
    leg = next(leg for leg in legs if leg["platform"] == "linux/amd64")
    machine.run_job(
        "build",
        checkout(repository, tmp_path / "leg"),
        matrix=leg,
        needs={"matrix": {"outputs": found["outputs"]}},
    )
    ran = {entry.name.split(": ", 1)[1] for entry in machine.log}
    assert ran == EXECUTED_IMAGE_BUILD
    build = next(r for r in machine.log if r.name.startswith("build: Build, smoke-test"))
    said = build.stdout + build.stderr
    assert "nothing was published" in said
    # A rehearsal's digest table says it rehearsed, never "Published" (finding 6).
    tables = [
        line
        for line in (tmp_path / "summary.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("### ")
    ]
    assert any(
        line.startswith("### Rehearsed ") and line.endswith(f" on throwaway registries: {STAND_IN}")
        for line in tables
    ), tables
    assert not any(line.startswith("### Published") for line in tables), tables
    assert "smoke" in said.lower()
    # Nothing reached the configured registries: the release tag is on neither.
    name = next(
        line.split(":", 1)[1].strip().split("/", 1)[1]
        for line in (repository / "matrix.yaml").read_text().splitlines()
        if "repository:" in line and basic_registry.host in line
    )
    for client, host in (
        (
            RegistryClient(
                basic_registry.host, plain_http=True, credentials=basic_registry.credentials
            ),
            basic_registry.host,
        ),
        (RegistryClient(second_registry.host, plain_http=True), second_registry.host),
    ):
        try:
            tags = client.list_tags(name)
        except NotFoundError:
            tags = []
        assert tags == [], (host, tags)


# -------------------------------------------------------------- republish


REPUBLISH_WORKFLOW = WORKFLOWS / "republish.yml"
#: republish.yml's run steps that a scheduled run never reaches, by name, with the reason
#: (the test's last run, by hand, runs them).
NOT_ON_SCHEDULE = {
    "Requested release": "workflow_dispatch only (`if: github.event_name == ...`)",
    "Fail for the lines whose base image is gone": "only when a base no longer exists; "
    "run in tests/integration/test_workflows.py (this test's bases never vanish)",
}
#: The weekly run when a base moved: every run step but the manual one, skipped ones aside.
EXECUTED_REPUBLISH = {
    "Have the base images changed?",
    "Build matrix (only the lines to rebuild)",
    "Release commit time (SOURCE_DATE_EPOCH)",
    "Build and push by digest",
    "Republish (indexes, copies, verification, smoke tests, tags, notes)",
    "Verify every tag on every registry",
    "Sign the new index digests",
    "GitHub release",
    "Anyone can pull (anonymous read of every pin)",
}
#: The weekly run when nothing moved: the check says so, and nothing else runs.
EXECUTED_UNCHANGED = {"Have the base images changed?", "Nothing to do"}
#: A run by hand that rebuilds, without signing: the manual check, then the republish job.
EXECUTED_BY_HAND = (
    EXECUTED_REPUBLISH - {"Have the base images changed?", "Sign the new index digests"}
) | {"Requested release"}
#: A scheduled run has no inputs: each reads as null.
NO_INPUTS = {"release": None, "reason": None, "only": None, "sign": None}


def run_legs(
    machine: Machine,
    call: Mapping[str, Any],
    needs: Mapping[str, Any],
    release_checkout: Path,
    where: Path,
) -> Path:
    """Run the legs.yml ``call`` (a caller's job): each leg in its own checkout of the
    release commit, its record "uploaded" under ``where``; returns the artifacts directory."""
    legs_workflow = load_workflow(call["uses"])
    ctx = Contexts(github=machine.github_context(), needs=needs)
    inputs: dict[str, Any] = {  # a boolean input stays one (`rebuild: true`)
        k: v if isinstance(v, bool) else interpolate(str(v), ctx) for k, v in call["with"].items()
    }
    inputs.setdefault("rebuild", False)  # the input's default
    build_job = legs_workflow["jobs"]["build"]
    assert build_job["strategy"]["matrix"] == "${{ fromJSON(inputs.matrix) }}"
    upload = next(s for s in build_job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["overwrite"] is True  # "Re-run all jobs" uploads the same name again
    artifacts = where / "artifacts"
    for leg in json.loads(inputs["matrix"])["include"]:
        leg_checkout = checkout(release_checkout, where / f"build-{leg['slug']}")
        machine.run_job("build", leg_checkout, matrix=leg, workflow=legs_workflow, inputs=inputs)
        ctx = Contexts(matrix=leg)
        name = interpolate(upload["with"]["name"], ctx)
        source = leg_checkout / interpolate(upload["with"]["path"], ctx)
        assert source.is_file(), f"leg {leg['slug']} wrote no digest record at {source}"
        (artifacts / name).mkdir(parents=True)
        shutil.copy2(source, artifacts / name / source.name)
    return artifacts


def download(job: Mapping[str, Any], artifacts: Path, into: Path) -> Path:
    """What the job's download-artifact step does: every matching artifact, merged."""
    step = next(s for s in job["steps"] if "download-artifact" in s.get("uses", ""))
    assert step["with"]["merge-multiple"] is True
    target = into / step["with"]["path"]
    target.mkdir()
    pattern = re.compile(step["with"]["pattern"].replace("*", ".*"))
    for artifact in sorted(artifacts.iterdir()):
        if pattern.fullmatch(artifact.name):
            for f in artifact.iterdir():
                shutil.copy2(f, target / f.name)
    return target


def move_base(bases: str, php: str) -> str:
    """Push the stand-in base of ``php`` again, changed (an annotation on its index):
    what a new upstream build does to the tag. Returns the new digest."""
    client = RegistryClient(bases, plain_http=True)
    tag = standins.TAG_TEMPLATE.format(php=php)
    index = client.get_manifest(parse(f"{bases}/{standins.REPOSITORY}:{tag}"))
    body = json.loads(index.body)
    body.setdefault("annotations", {})["org.example.rebuilt"] = uuid.uuid4().hex
    return client.put_manifest(
        standins.REPOSITORY, json.dumps(body).encode(), index.media_type, tag=tag
    )


def no_secrets(log: list[StepResult], summary: str, basic_registry: BasicAuthRegistry) -> None:
    """No token or registry password (nor its Basic form) in any log, output or summary,
    but for the ::add-mask:: lines that hide them."""
    canary = basic_registry.password
    basic = base64.b64encode(f"{basic_registry.username}:{canary}".encode()).decode()
    logs = "\n".join(r.stdout + r.stderr for r in log)
    unmasked = "\n".join(line for line in logs.splitlines() if not line.startswith("::add-mask::"))
    for secret in (GH_TOKEN, canary, basic):
        assert secret not in unmasked + summary, secret
        assert all(secret not in "\n".join(r.outputs.values()) for r in log), secret


def weekly(
    machine: Machine,
    workflow: dict[str, Any],
    default_branch: Path,
    release_checkout: Path,
    where: Path,
    *,
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One run of republish.yml, job by job: on its schedule, or by hand with ``inputs``
    (workflow_dispatch). Returns the check job's outputs (and the republish checkout)."""
    event = "schedule" if inputs is None else "workflow_dispatch"
    inputs = NO_INPUTS if inputs is None else {**NO_INPUTS, **inputs}
    where.mkdir()
    machine.github = {"event_name": event, "ref_name": "main"}
    machine.base_env["GITHUB_EVENT_NAME"] = event
    machine.base_env["GITHUB_REF_NAME"] = "main"
    machine.workflow = workflow
    check = machine.run_job("check", checkout(default_branch, where / "check"), inputs=inputs)
    needs = {"check": {"outputs": check["outputs"]}}
    ctx = Contexts(github=machine.github_context(), needs=needs, inputs=inputs)
    for job_id in ("legs", "republish"):
        assert workflow["jobs"][job_id]["if"] == "needs.check.outputs.changed == 'true'"
    if not condition(workflow["jobs"]["legs"], ctx):
        return check["outputs"]
    call = workflow["jobs"]["legs"]
    assert call["with"]["rebuild"] is True
    artifacts = run_legs(machine, call, needs, release_checkout, where)
    job = workflow["jobs"]["republish"]
    pub = checkout(default_branch, where / "republish")
    download(job, artifacts, pub)
    anonymous = "Anyone can pull (anonymous read of every pin)"
    # The primary stands in for a private package: the last step fails (exit 12), as in
    # the release test; everything before it ran.
    machine.run_job("republish", pub, needs=needs, inputs=inputs, expect_failure={anonymous: 12})
    return {**check["outputs"], "checkout": pub}


def test_weekly_republish_rebuilds_a_moved_base_and_a_rerun_changes_nothing(
    tmp_path: Path,
    bases: str,
    repository: Path,
    bin_dir: Path,
    gh: FakeGitHub,
    basic_registry: BasicAuthRegistry,
    second_registry: LocalRegistry,
) -> None:
    """republish.yml on its schedule, after a stable release made by release.yml."""
    require_tool("bash")
    workflow = yaml.safe_load(REPUBLISH_WORKFLOW.read_text(encoding="utf-8"))
    unclassified = (
        run_steps_named(workflow)
        - set(SKIPPED)
        - (EXECUTED_REPUBLISH | EXECUTED_UNCHANGED)
        - set(NOT_ON_SCHEDULE)
        - EXECUTED_BY_HAND
    )
    assert not unclassified, f"classify these run steps in the test: {sorted(unclassified)}"
    release_workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    machine, summary, _ = workflow_machine(
        tmp_path, bin_dir, gh, basic_registry, bases, release_workflow
    )

    # Before the first release's notes are merged, the weekly run has nothing to check.
    # (The project's release-notes/ holds its README until then.)
    before = checkout(repository, tmp_path / "main-before-release")
    (before / "release-notes").mkdir()
    shutil.copy2(ROOT / "release-notes" / "README.md", before / "release-notes" / "README.md")
    said = weekly(machine, workflow, before, repository, tmp_path / "week0")
    assert said == {"changed": "false", "release": "", "lines": "", "gone": "", "matrix": ""}
    assert {r.name.split(": ", 1)[1] for r in machine.log} == EXECUTED_UNCHANGED
    assert summary.read_text(encoding="utf-8") == (
        "No stable release is recorded in release-notes/ yet: nothing to republish.\n"
    )
    assert "::warning::no stable release is recorded" in machine.log[0].stderr
    del machine.log[:]
    summary.write_text("", encoding="utf-8")

    # The release, by release.yml: preflight, legs, publish.
    machine.workflow = release_workflow
    machine.github = {}
    machine.base_env["GITHUB_EVENT_NAME"] = "push"
    machine.base_env["GITHUB_REF_NAME"] = RELEASE
    pre = machine.run_job("preflight", checkout(repository, tmp_path / "preflight"))
    needs = {"preflight": {"outputs": pre["outputs"]}}
    artifacts = run_legs(
        machine, release_workflow["jobs"]["build"], needs, repository, tmp_path / "release"
    )
    pub = checkout(repository, tmp_path / "publish")
    download(release_workflow["jobs"]["publish"], artifacts, pub)
    anonymous = "Anyone can pull (anonymous read of every pin)"
    machine.run_job("publish", pub, expect_failure={anonymous: 12})
    # Its notes pull request is merged: the default branch holds the record.
    default_branch = checkout(repository, tmp_path / "main")
    shutil.copytree(pub / "release-notes", default_branch / "release-notes")
    record = json.loads((default_branch / "release-notes" / f"{RELEASE}.json").read_text())
    assert record["stable"] is True and record.get("history", []) == []
    old_index = record["lines"][0]["index_digest"]

    name = record["lines"][0]["references"]["dockerhub"].split("@")[0].split("/", 1)[1]
    clients = [
        RegistryClient(
            basic_registry.host, plain_http=True, credentials=basic_registry.credentials
        ),
        RegistryClient(second_registry.host, plain_http=True),
    ]
    tags = [f"{RELEASE}-php-{LINES[-1]}", RELEASE, f"php-{LINES[-1]}", "latest"]

    def tag_state() -> list[dict[str, str]]:
        return [{t: c.tag_digests(name).get(t, "") for t in tags} for c in clients]

    released = tag_state()
    assert released == [dict.fromkeys(tags, old_index)] * 2

    # (b) A week where nothing moved: the check says so, and nothing else happens.
    del machine.log[:]
    summary.write_text("", encoding="utf-8")
    said = weekly(machine, workflow, default_branch, repository, tmp_path / "week1")
    assert said == {"changed": "false", "release": RELEASE, "lines": "", "gone": "", "matrix": ""}
    assert {r.name.split(": ", 1)[1] for r in machine.log} == EXECUTED_UNCHANGED
    check_step = next(r for r in machine.log if r.name.endswith("Have the base images changed?"))
    assert check_step.outputs["changed"] == "false"
    assert f"PHP {LINES[-1]}: base " in check_step.stderr and "unchanged" in check_step.stderr
    # The summary lists each line's base, then says nothing is to be done.
    said_summary = summary.read_text(encoding="utf-8")
    assert said_summary.startswith(f"### Base images of {RELEASE}: no base moved\n"), said_summary
    assert f"- PHP {LINES[-1]}: base {record['lines'][0]['base']['image']} unchanged" in (
        said_summary
    )
    assert said_summary.endswith(
        f"The base images of {RELEASE} have not changed: nothing to republish.\n"
    ), said_summary
    assert tag_state() == released

    # (a) The base of the line moved: the check says which line, legs rebuild it,
    # the republish moves pins and floating tags on both registries, notes and the
    # GitHub release say so.
    new_base = move_base(bases, LINES[-1])
    del machine.log[:]
    summary.write_text("", encoding="utf-8")
    said = weekly(machine, workflow, default_branch, repository, tmp_path / "week2")
    assert {k: said[k] for k in ("changed", "release", "lines")} == {
        "changed": "true",
        "release": RELEASE,
        "lines": LINES[-1],
    }
    ran = {r.name.split(": ", 1)[1] for r in machine.log}
    assert ran == EXECUTED_REPUBLISH, ran ^ EXECUTED_REPUBLISH
    check_step = next(r for r in machine.log if r.name.endswith("Have the base images changed?"))
    moved = f"moved from {record['lines'][0]['base']['digest']} to {new_base}"
    assert moved in check_step.stderr
    assert json.loads(check_step.outputs["details"]) == [
        f"PHP {LINES[-1]}: base {record['lines'][0]['base']['image']} {moved}"
    ]
    builds = [r for r in machine.log if r.name == "build: Build and push by digest"]
    assert len(builds) == 2
    for r in builds:
        assert "not rebuilding" not in r.stdout + r.stderr, [
            line for line in (r.stdout + r.stderr).splitlines() if "rebuil" in line
        ]
    republished = json.loads((said["checkout"] / "release-notes" / f"{RELEASE}.json").read_text())
    new_index = republished["lines"][0]["index_digest"]
    assert new_index != old_index
    assert republished["lines"][0]["base"]["digest"] == new_base
    assert tag_state() == [dict.fromkeys(tags, new_index)] * 2
    assert len(republished["history"]) == 1, republished["history"]
    entry = republished["history"][0]
    assert entry["reason"] == "weekly check: base image digests changed", entry
    # What gave the line new images: its base, old -> new, in the entry and the summary.
    cause = f"base {record['lines'][0]['base']['digest']} -> {new_base}"
    assert [c.get("cause") for c in entry["changes"]] == [cause], entry
    summary_text = summary.read_text(encoding="utf-8")
    assert new_index in summary_text, summary_text
    assert "What gave each republished line new images" in summary_text, summary_text
    assert f" | {cause} |" in summary_text, summary_text
    # The check's summary says which base moved, and what is rebuilt.
    assert summary_text.startswith(f"### Base images of {RELEASE}: rebuilding PHP {LINES[-1]}\n"), (
        summary_text
    )
    assert moved in summary_text
    # The digest table says a republish happened, of which line, and why.
    assert (
        f"### Republished {RELEASE}, PHP {LINES[-1]} (weekly check: base image digests "
        f"changed): {STAND_IN}\n"
    ) in summary_text, summary_text
    assert f"### Published {RELEASE}" not in summary_text
    # The step outputs say what moved: the new index, and that the release was updated.
    publish_step = next(r for r in machine.log if r.name.startswith("republish: Republish ("))
    assert publish_step.outputs[f"digest-{LINES[-1]}"] == new_index
    gh_step = next(r for r in machine.log if r.name == "republish: GitHub release")
    assert gh_step.outputs["release-action"] == "updated"
    no_secrets(machine.log, summary_text, basic_registry)
    release = gh.release(GH_REPO, RELEASE)
    assert release is not None
    notes_md = (said["checkout"] / "release-notes" / f"{RELEASE}.md").read_text()
    assert release["body"] == notes_md
    assert "weekly check: base image digests changed" in notes_md
    assert new_index in notes_md

    # Re-run all jobs of that run (its notes pull request not merged yet): the
    # default branch is unchanged, so the check says changed again; the rebuild of
    # the same commit on the same base gives the same images, and nothing moves.
    del machine.log[:]
    summary.write_text("", encoding="utf-8")
    again = weekly(machine, workflow, default_branch, repository, tmp_path / "week2-rerun")
    assert again["changed"] == "true"
    assert tag_state() == [dict.fromkeys(tags, new_index)] * 2
    rerun = json.loads((again["checkout"] / "release-notes" / f"{RELEASE}.json").read_text())
    assert rerun["lines"] == republished["lines"]
    assert len(rerun["history"]) == 1, rerun["history"]
    assert gh.release(GH_REPO, RELEASE)["body"] == notes_md  # type: ignore[index]
    gh_step = next(r for r in machine.log if r.name == "republish: GitHub release")
    assert gh_step.outputs["release-action"] == "unchanged"
    # Its digest table says the republish was the first run's, not this one's.
    rerun_summary = summary.read_text(encoding="utf-8")
    assert (
        f"### Republished {RELEASE}, PHP {LINES[-1]} (weekly check: base image digests "
        "changed) by an earlier run (this run moved no tag; its notes record it)"
    ) in rerun_summary, rerun_summary

    # The notes pull request merged: next week's run finds nothing moved.
    shutil.rmtree(default_branch / "release-notes")
    shutil.copytree(said["checkout"] / "release-notes", default_branch / "release-notes")
    merged = json.loads((default_branch / "release-notes" / f"{RELEASE}.json").read_text())
    del machine.log[:]
    summary.write_text("", encoding="utf-8")
    said = weekly(machine, workflow, default_branch, repository, tmp_path / "week3")
    assert said["changed"] == "false"
    assert {r.name.split(": ", 1)[1] for r in machine.log} == EXECUTED_UNCHANGED
    assert tag_state() == [dict.fromkeys(tags, new_index)] * 2

    # By hand (workflow_dispatch) with a reason, one line and no signing: the rebuild
    # on the same base gives the images the weekly republish published, so nothing is
    # republished, no history entry is added, and the summary says that republish did
    # it, with its reason, kept in place of this one.
    del machine.log[:]
    summary.write_text("", encoding="utf-8")
    said = weekly(
        machine,
        workflow,
        default_branch,
        repository,
        tmp_path / "by-hand",
        inputs={"release": RELEASE, "reason": "CVE-2026-0001", "only": LINES[-1], "sign": False},
    )
    assert {k: said[k] for k in ("changed", "release", "lines")} == {
        "changed": "true",
        "release": RELEASE,
        "lines": LINES[-1],
    }
    ran = {r.name.split(": ", 1)[1] for r in machine.log}
    assert ran == EXECUTED_BY_HAND, ran ^ EXECUTED_BY_HAND
    assert tag_state() == [dict.fromkeys(tags, new_index)] * 2
    by_hand = json.loads((said["checkout"] / "release-notes" / f"{RELEASE}.json").read_text())
    assert by_hand["history"] == merged["history"]
    summary_text = summary.read_text(encoding="utf-8")
    assert (
        f"### Republished {RELEASE}, PHP {LINES[-1]} (weekly check: base image digests "
        "changed) by an earlier run (this run moved no tag; its notes record it)"
    ) in summary_text, summary_text
    publish_step = next(r for r in machine.log if r.name.startswith("republish: Republish ("))
    assert (
        f"the reason of the republish of {entry['date']} (weekly check: base image digests "
        "changed) is kept and this run's (CVE-2026-0001) is not recorded"
    ) in publish_step.stderr, publish_step.stderr


def test_a_manual_republish_of_a_release_never_published_fails_its_check(
    tmp_path: Path,
    repository: Path,
    bin_dir: Path,
    gh: FakeGitHub,
    basic_registry: BasicAuthRegistry,
    registry: LocalRegistry,
) -> None:
    """republish.yml by hand for a release with no record and none of its pins on the
    primary: the check job's matrix step refuses it (exit 2), as the republish job's
    `publish --reason` would after every leg was built and pushed, so no leg runs."""
    workflow = load_workflow(".github/workflows/republish.yml")
    machine, _summary, _ = workflow_machine(
        tmp_path, bin_dir, gh, basic_registry, registry.host, workflow
    )
    machine.github = {"event_name": "workflow_dispatch", "ref_name": "main"}
    machine.base_env["GITHUB_EVENT_NAME"] = "workflow_dispatch"
    inputs = {**NO_INPUTS, "release": "v9.9.9", "reason": "CVE-2026-0001", "only": ""}
    step = "Build matrix (only the lines to rebuild)"
    check = machine.run_job(
        "check", checkout(repository, tmp_path / "check"), inputs=inputs, expect_failure={step: 2}
    )
    assert check["outputs"]["matrix"] == ""  # no legs
    refused = next(r for r in machine.log if r.name == f"check: {step}")
    assert (
        "nothing to republish: v9.9.9 has no release record "
        f"({tmp_path / 'check' / 'release-notes' / 'v9.9.9.json'}) and dockerhub "
        f"({basic_registry.host}/"
    ) in refused.stderr, refused.stderr
    assert f"holds none of its pins (v9.9.9-php-{LINES[-1]}); nothing was built or pushed" in (
        refused.stderr
    )
    assert "publisher release v9.9.9" in refused.stderr
    # Its pin on the primary (a record not merged on the default branch yet): the check
    # lists the legs of the republish.
    primary = yaml.safe_load((repository / "matrix.yaml").read_text())["registries"][0]
    path = primary["repository"].split("/", 1)[1]
    session = basic_registry.session()
    push_raw(
        f"http://{basic_registry.host}", path, make_image(), [f"v9.9.9-php-{LINES[-1]}"], session
    )
    check = machine.run_job("check", checkout(repository, tmp_path / "again"), inputs=inputs)
    legs = json.loads(check["outputs"]["matrix"])["include"]
    assert {leg["php"] for leg in legs} == {LINES[-1]}, legs
