"""A release pipeline under test: two loopback registries, STAND-IN bases, a matrix.

``Stack`` writes a stand-in matrix (``stand_in: true``) whose two registries are
the given loopback hosts (real distribution registries, or fault proxies in front
of them), renders its Dockerfiles from the one shared template, and runs
``python -m publisher`` as a separate process, exactly as a maintainer or a
workflow would. Tags are read back with skopeo, an independent client.

The base images are the offline STAND-IN bases (busybox, not PHP), served by a
third loopback registry through the base mirror.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import ROOT

LINES = ("8.3", "8.4")
DEFAULT_LINE = "8.4"
TEMPLATE = ROOT / "dockerfiles" / "Dockerfile.j2"


def write_standin_matrix(
    root: Path,
    *,
    primary: str,
    secondary: str,
    bases: str,
    repo: str,
    lines: Sequence[str] = LINES,
    more: Sequence[str] = (),
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = {
        "stand_in": True,
        "title": "PHP-FPM (STAND-IN test images)",
        "description": "STAND-IN image built from a busybox stand-in base, not PHP",
        "registries": [
            {"name": "hub", "repository": f"{primary}/{repo}", "primary": True},
            {"name": "ghcr", "repository": f"{secondary}/{repo}"},
            *({"name": f"extra{i}", "repository": f"{host}/{repo}"} for i, host in enumerate(more)),
        ],
        "platforms": ["linux/amd64", "linux/arm64"],
        "default_line": DEFAULT_LINE,
        "base": {"image": "stand-in/php:{php}-fpm-alpine", "mirror": bases},
        "size_budget_mb": 50,
        "template": str(TEMPLATE),
        "extensions": {"install": ["bcmath", "gd"], "pecl": ["redis"]},
        "packages": ["freetype"],
        "build_packages": ["freetype-dev"],
        "lines": [{"php": php} for php in lines],
    }
    path = root / "matrix.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    rendered = subprocess.run(
        [sys.executable, "-m", "publisher", "render", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    return path


@dataclass
class Stack:
    root: Path
    primary: str
    secondary: str
    bases: str
    repo: str
    lines: Sequence[str] = LINES
    env: dict[str, str] = field(default_factory=dict)
    #: registries beyond the two (named extra0, extra1, ...)
    more: Sequence[str] = ()

    def __post_init__(self) -> None:
        self.matrix = write_standin_matrix(
            self.root,
            more=self.more,
            primary=self.primary,
            secondary=self.secondary,
            bases=self.bases,
            repo=self.repo,
            lines=self.lines,
        )

    @property
    def notes_dir(self) -> Path:
        return self.root / "release-notes"

    def digests_dir(self, release: str) -> Path:
        return self.root / ".publisher" / "builds" / release / "digests"

    def process_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PUBLISHER_BUILDER": "buildah",
                "PUBLISHER_RETRY_ATTEMPTS": "3",
                "PUBLISHER_RETRY_INITIAL_DELAY": "0.05",
                "PUBLISHER_RETRY_MAX_DELAY": "0.2",
                "PUBLISHER_RETRY_TOTAL_TIMEOUT": "20",
                "SOURCE_DATE_EPOCH": "1767225600",
            }
        )
        env.pop("GITHUB_ACTIONS", None)
        env.update(self.env)
        env.update(extra or {})
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "publisher", *args, "--config", str(self.matrix)]

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            env=self.process_env(env),
            cwd=self.root,
            timeout=timeout,
            check=False,
        )

    def ok(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, env=env)
        assert result.returncode == 0, (
            f"publisher {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start publisher in the background; its output goes to ``self.root/run.log``.

        It starts as from a terminal, with SIGINT and SIGHUP at their defaults, even
        when the test run itself was started with them ignored (``nohup``, ``&``)."""
        with open(self.root / "run.log", "a", encoding="utf-8") as log:
            return subprocess.Popen(
                self.argv(*args),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.process_env(env),
                cwd=self.root,
                start_new_session=True,
                preexec_fn=default_stop_signals,
            )

    def release(self, tag: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.ok("release", tag, "--notes-dir", str(self.notes_dir), *extra)

    def notes(self, tag: str) -> dict[str, object]:
        return json.loads((self.notes_dir / f"{tag}.json").read_text(encoding="utf-8"))

    def index_digests(self, tag: str) -> dict[str, str]:
        data = self.notes(tag)
        lines = data["lines"]
        assert isinstance(lines, list)
        return {line["php"]: line["index_digest"] for line in lines}


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process and everything it started (builds included)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


# --------------------------------------------------------------------------- skopeo


def skopeo_tags(skopeo: str, host: str, repo: str) -> list[str]:
    result = subprocess.run(
        [skopeo, "list-tags", "--tls-verify=false", f"docker://{host}/{repo}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if "name unknown" in result.stderr or "404" in result.stderr:
            return []  # no such repository (yet): no tags
        raise AssertionError(result.stderr)
    return sorted(json.loads(result.stdout)["Tags"] or [])


def skopeo_digest(skopeo: str, host: str, repo: str, reference: str) -> str:
    sep = "@" if reference.startswith("sha256:") else ":"
    read = subprocess.run(
        [
            skopeo,
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{host}/{repo}{sep}{reference}",
        ],
        capture_output=True,
        check=False,
    )
    if read.returncode != 0:
        raise AssertionError(
            f"skopeo could not read {host}/{repo}{sep}{reference}: {read.stderr!r}"
        )
    return "sha256:" + hashlib.sha256(read.stdout).hexdigest()


def skopeo_tag_map(skopeo: str, host: str, repo: str) -> dict[str, str]:
    """tag -> digest, every tag, read by skopeo."""
    return {tag: skopeo_digest(skopeo, host, repo, tag) for tag in skopeo_tags(skopeo, host, repo)}


def skopeo_children_present(skopeo: str, host: str, repo: str, digest: str) -> bool:
    """The index (or image) at ``digest`` and every child manifest it lists can be fetched."""
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{repo}@{digest}"],
        capture_output=True,
        check=False,
    )
    if raw.returncode != 0:
        return False
    data = json.loads(raw.stdout)
    for child in data.get("manifests", []):
        ok = subprocess.run(
            [
                skopeo,
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{host}/{repo}@{child['digest']}",
            ],
            capture_output=True,
            check=False,
        )
        if ok.returncode != 0:
            return False
    return True


def wait_for(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def pins_of(tags: Iterable[str], release: str) -> list[str]:
    return [t for t in tags if t == release or t.startswith(f"{release}-php-")]


def default_stop_signals() -> None:
    """In the child before exec: SIGINT and SIGHUP back to their default actions."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
