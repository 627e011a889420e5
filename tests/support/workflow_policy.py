"""The workflow security policy (RELIABILITY.md scenario 23), checked over parsed YAML.

Pure Python: no tool, no network. ``check(workflows, publish_group=...)`` returns
every violation of these rules:

``unpinned-action``
    a ``uses:`` that is not a local action (``./...``) must name a full 40-hex
    commit SHA and carry its version in a comment (``# v4.2.2``); a
    ``docker://`` image must be pinned by ``@sha256:``.
``pull-request-target``
    the ``pull_request_target`` trigger runs untrusted code with secrets.
``expression-in-run``
    ``${{ github.event.* }}`` or ``${{ inputs.* }}`` expanded inside ``run:``
    (script injection); such values go through ``env:``.
``excess-permission``
    a ``write`` permission on a job that does not need it, any write at the
    workflow level, ``write-all``, or a job with no ``permissions`` under a
    workflow that grants more than read.
``publish-concurrency``
    a job that publishes (``publisher publish|republish|release|gh-release``,
    signing; not ``release --local``) outside the per-image concurrency group, or
    one that may cancel a run in progress.

What a job "needs" is read from what it does (``NEEDS`` below): for example
``packages: write`` only where GHCR is used with ``GITHUB_TOKEN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SHA_RE = re.compile(r"[0-9a-f]{40}")
VERSION_COMMENT_RE = re.compile(r"#\s*v?\d+(\.\d+)*\b")
USES_LINE_RE = re.compile(
    r"^\s*(?:-\s+)?uses:\s*['\"]?(?P<ref>[^'\"\s#]+)['\"]?\s*(?P<comment>#.*)?$"
)
EXPRESSION_RE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
FORBIDDEN_IN_RUN_RE = re.compile(r"\bgithub\s*\.\s*event\s*[.\[]|\binputs\s*[.\[]")
PUBLISHER_PUBLISH_RE = re.compile(r"\bpublisher\s+(publish|republish|release|gh-release)(?![\w-])")
TOKEN_EXPR_RE = re.compile(r"\$\{\{\s*(secrets\.GITHUB_TOKEN|github\.token)\s*\}\}")

#: What in a job's steps justifies each write permission.
NEEDS: Mapping[str, tuple[str, ...]] = {
    "contents": ("publisher gh-release", "release-notes.sh pr", "git push"),
    "pull-requests": ("release-notes.sh pr", "gh pr create", "gh pr edit"),
    "id-token": ("cosign sign", "sign-release.sh"),
    # packages: see _needs_packages (GHCR with GITHUB_TOKEN)
}
ALL_SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)


@dataclass(frozen=True)
class Violation:
    workflow: str
    job: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.workflow}" + (f" job {self.job}" if self.job else "")
        return f"{where}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Workflow:
    name: str
    text: str
    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> Workflow:
        text = path.read_text(encoding="utf-8")
        return cls.parse(path.name, text)

    @classmethod
    def parse(cls, name: str, text: str) -> Workflow:
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"{name}: not a workflow (top level is not a mapping)")
        return cls(name, text, data)

    @property
    def triggers(self) -> Any:
        # YAML 1.1 reads a bare `on` key as the boolean True.
        return self.data.get("on", self.data.get(True))

    @property
    def jobs(self) -> Mapping[str, Mapping[str, Any]]:
        jobs = self.data.get("jobs") or {}
        return {str(k): (v or {}) for k, v in jobs.items()}


def load_dir(directory: Path) -> list[Workflow]:
    return [Workflow.load(p) for p in sorted(directory.glob("*.y*ml"))]


def check(workflows: Iterable[Workflow], *, publish_group: str | None = None) -> list[Violation]:
    """Every violation in ``workflows``; ``publish_group`` is the per-image group name."""
    violations: list[Violation] = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for wf in workflows:
        violations += _check_pins(wf)
        violations += _check_triggers(wf)
        violations += _check_run_expressions(wf)
        violations += _check_permissions(wf)
        for job_id, group in _publish_groups(wf, violations, publish_group):
            groups.setdefault(group, []).append((wf.name, job_id))
    if len(groups) > 1:
        where = "; ".join(
            f"{g!r}: {', '.join(f'{w}/{j}' for w, j in jobs)}" for g, jobs in groups.items()
        )
        violations.append(
            Violation(
                "*",
                None,
                "publish-concurrency",
                f"publish jobs use different concurrency groups ({where})",
            )
        )
    return violations


# ------------------------------------------------------------------ rules


def _all_uses(wf: Workflow) -> Iterator[tuple[str, str]]:
    for job_id, job in wf.jobs.items():
        if isinstance(job.get("uses"), str):
            yield job_id, job["uses"]
        for step in job.get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("uses"), str):
                yield job_id, step["uses"]


def _check_pins(wf: Workflow) -> list[Violation]:
    comments: dict[str, list[str | None]] = {}
    for line in wf.text.splitlines():
        m = USES_LINE_RE.match(line)
        if m:
            comments.setdefault(m["ref"], []).append(m["comment"])
    out = []
    for job_id, ref in _all_uses(wf):
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                out.append(
                    Violation(wf.name, job_id, "unpinned-action", f"{ref} is not pinned by digest")
                )
            continue
        action, _, version = ref.partition("@")
        if not SHA_RE.fullmatch(version):
            out.append(
                Violation(
                    wf.name, job_id, "unpinned-action", f"{ref} is not pinned to a full commit SHA"
                )
            )
            continue
        notes = comments.get(ref, [])
        if not notes or not all(c and VERSION_COMMENT_RE.search(c) for c in notes):
            out.append(
                Violation(
                    wf.name,
                    job_id,
                    "unpinned-action",
                    f"{action}@{version[:12]}… has no `# vX.Y.Z` comment",
                )
            )
    return out


def _check_triggers(wf: Workflow) -> list[Violation]:
    on = wf.triggers
    names: set[str] = set()
    if isinstance(on, str):
        names = {on}
    elif isinstance(on, list | dict):
        names = {str(x) for x in on}
    if "pull_request_target" in names:
        return [
            Violation(
                wf.name,
                None,
                "pull-request-target",
                "the pull_request_target trigger is not allowed",
            )
        ]
    return []


def _check_run_expressions(wf: Workflow) -> list[Violation]:
    out = []
    for job_id, job in wf.jobs.items():
        for index, step in enumerate(job.get("steps") or []):
            if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                continue
            for expr in EXPRESSION_RE.findall(step["run"]):
                if FORBIDDEN_IN_RUN_RE.search(expr):
                    label = step.get("name") or f"step {index + 1}"
                    out.append(
                        Violation(
                            wf.name,
                            job_id,
                            "expression-in-run",
                            f"{label!r} expands `${{{{{expr.strip()}}}}}` inside run:; pass it through env:",
                        )
                    )
    return out


def _writes(permissions: Any) -> set[str] | None:
    """The scopes granted write; None for write-all."""
    if permissions is None:
        return set()
    if isinstance(permissions, str):
        return None if permissions == "write-all" else set()
    if isinstance(permissions, dict):
        return {str(k) for k, v in permissions.items() if v == "write"}
    return set()


def _job_text(job: Mapping[str, Any]) -> str:
    """Everything a job runs or passes: run scripts, uses, with and env values."""
    parts = [str(job.get("env") or "")]
    for step in job.get("steps") or []:
        if isinstance(step, dict):
            parts += [str(step.get(k) or "") for k in ("run", "uses", "with", "env")]
    return "\n".join(parts)


def _needs_packages(job: Mapping[str, Any]) -> bool:
    """GHCR with the job token: GHCR_TOKEN from GITHUB_TOKEN, or a ghcr.io login with it."""
    envs = [job.get("env") or {}]
    for step in job.get("steps") or []:
        if not isinstance(step, dict):
            continue
        envs.append(step.get("env") or {})
        with_ = step.get("with") or {}
        if (
            str(step.get("uses", "")).startswith("docker/login-action@")
            and str(with_.get("registry", "")).startswith("ghcr.io")
            and TOKEN_EXPR_RE.search(str(with_.get("password", "")))
        ):
            return True
    return any(
        TOKEN_EXPR_RE.search(str(env.get("GHCR_TOKEN", "")))
        for env in envs
        if isinstance(env, dict)
    )


def needed_writes(job: Mapping[str, Any]) -> set[str]:
    text = _job_text(job)
    needed = {scope for scope, markers in NEEDS.items() if any(m in text for m in markers)}
    if _needs_packages(job):
        needed.add("packages")
    return needed


def _check_permissions(wf: Workflow) -> list[Violation]:
    out = []
    top = wf.data.get("permissions")
    top_writes = _writes(top)
    if "permissions" not in wf.data:
        out.append(
            Violation(
                wf.name,
                None,
                "excess-permission",
                "no top-level permissions: set `permissions: {}`",
            )
        )
    elif top_writes is None or top_writes:
        granted = "write-all" if top_writes is None else ", ".join(sorted(top_writes))
        out.append(
            Violation(
                wf.name,
                None,
                "excess-permission",
                f"top-level permissions grant write ({granted}); grant per job",
            )
        )
    for job_id, job in wf.jobs.items():
        if "permissions" not in job:
            continue  # inherits the top level, checked above
        writes = _writes(job.get("permissions"))
        needed = needed_writes(job)
        if writes is None:
            out.append(
                Violation(
                    wf.name, job_id, "excess-permission", "write-all; list the scopes it needs"
                )
            )
            continue
        for scope in sorted(writes - needed):
            out.append(
                Violation(
                    wf.name,
                    job_id,
                    "excess-permission",
                    f"`{scope}: write` but nothing in the job needs it",
                )
            )
    return out


def is_publish_job(job: Mapping[str, Any]) -> bool:
    """Publishes: ``publisher publish|republish|release|gh-release`` or signing.

    ``publisher release --local`` (a rehearsal on throwaway loopback registries)
    publishes nothing.
    """
    text = _job_text(job)
    publishing = any(
        PUBLISHER_PUBLISH_RE.search(line) and not (" release " in f" {line} " and "--local" in line)
        for line in text.splitlines()
    )
    return publishing or "cosign sign" in text or "sign-release.sh" in text


def _publish_groups(
    wf: Workflow, out: list[Violation], publish_group: str | None
) -> Iterator[tuple[str, str]]:
    for job_id, job in wf.jobs.items():
        if not is_publish_job(job):
            continue
        concurrency = job.get("concurrency")
        if concurrency is None:
            out.append(
                Violation(
                    wf.name,
                    job_id,
                    "publish-concurrency",
                    "publishes outside a job concurrency group",
                )
            )
            continue
        if isinstance(concurrency, str):
            group, cancel = concurrency, False
        else:
            group = str(concurrency.get("group", ""))
            cancel = concurrency.get("cancel-in-progress", False)
        if cancel is not False:
            out.append(
                Violation(
                    wf.name,
                    job_id,
                    "publish-concurrency",
                    f"cancel-in-progress is {cancel!r}; a publish in progress must never be cancelled",
                )
            )
        if publish_group is not None and group != publish_group:
            out.append(
                Violation(
                    wf.name,
                    job_id,
                    "publish-concurrency",
                    f"concurrency group {group!r} is not the image's publish group {publish_group!r}",
                )
            )
        yield job_id, group


def publish_group_for(namespace: str, image: str) -> str:
    """The one concurrency group of an image's publish jobs."""
    return f"publish-{namespace}-{image}"
