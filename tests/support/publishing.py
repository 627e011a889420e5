"""What the tests that run ``publisher publish`` as a separate process share.

* ``tag_map``: every tag of a repository and its digest, read with plain HTTP (not the
  project's client), straight from a registry; ``point_tag``: a tag moved by hand;
* ``isolated_env``: the environment such a run gets, cut off from the user's and CI's;
* ``publisher_command``, ``run_publisher``: such a run, with a matrix file;
* ``without_run_settings``, ``run_cli``: a run of any command line in this environment
  without its ``PUBLISHER_*`` and ``GITHUB_*`` variables;
* ``seed_image``: the build legs' stand-in for one PHP line, its platform images pushed
  to the primary with their digest records, as ``publish --digests`` takes them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from publisher.core.platforms import Platform
from publisher.core.records import DigestRecord, write_record_file
from tests.support.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    TestImage,
    push_raw,
)

#: The Accept header of a manifest read: an index or a single manifest, OCI or Docker.
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
#: The environment variables a run must not take from the caller's environment.
DROPPED = ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "PUBLISHER_LINES", "PUBLISHER_PLATFORMS")


def tag_map(host: str, repo: str) -> dict[str, str]:
    """tag -> digest of every tag of ``repo`` on ``host``, read with plain HTTP: the
    digest is the sha256 of the manifest the tag serves. A repository nothing was pushed
    to yet (404) has no tags; any other failed read raises."""
    base = f"http://{host}/v2/{repo}"
    listed = requests.get(f"{base}/tags/list", timeout=30)
    if listed.status_code == 404:
        return {}
    listed.raise_for_status()
    found = {}
    for tag in listed.json().get("tags") or []:
        got = requests.get(f"{base}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=30)
        got.raise_for_status()
        found[tag] = "sha256:" + hashlib.sha256(got.content).hexdigest()
    return found


def point_tag(host: str, repo: str, tag: str, at: str) -> None:
    """Point ``tag`` of ``repo`` on ``host`` at the manifest the tag or digest ``at``
    names, by hand with plain HTTP (as someone with crane or skopeo would)."""
    base = f"http://{host}/v2/{repo}/manifests"
    got = requests.get(f"{base}/{at}", headers={"Accept": ACCEPT}, timeout=30)
    got.raise_for_status()
    put = requests.put(
        f"{base}/{tag}",
        data=got.content,
        headers={"Content-Type": got.headers["Content-Type"]},
        timeout=30,
    )
    assert put.status_code == 201, put.text


def isolated_env(root: Path) -> dict[str, str]:
    """The environment of a publisher run under ``root``: a docker config of its own,
    empty (buildah needs the file), fast retries (one attempt), no config file of the
    user's, and none of GitHub Actions' or the line and platform selections."""
    (root / "docker").mkdir(parents=True, exist_ok=True)
    (root / "docker" / "config.json").write_text("{}\n", encoding="utf-8")
    env = {
        **os.environ,
        "PUBLISHER_RETRY_ATTEMPTS": "1",
        "PUBLISHER_RETRY_INITIAL_DELAY": "0.01",
        "PUBLISHER_RETRY_MAX_DELAY": "0.02",
        "DOCKER_CONFIG": str(root / "docker"),
        "PUBLISHER_CONFIG": str(root / "none.yaml"),
    }
    for name in DROPPED:
        env.pop(name, None)
    return env


def publisher_command(*args: str, config: Path) -> list[str]:
    """The command line of ``publisher <args> --config <config>``, this interpreter's."""
    return [sys.executable, "-m", "publisher", *args, "--config", str(config)]


def run_publisher(
    *args: str,
    config: Path,
    env: dict[str, str],
    cwd: Path,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``publisher <args> --config <config>`` in ``cwd``, its output captured; five
    minutes at the most."""
    return run_cli(*args, "--config", str(config), env=env, cwd=cwd, timeout=300, preexec=preexec)


def without_run_settings(**extra: str) -> dict[str, str]:
    """This process's environment without the variables that set a run (``PUBLISHER_*``)
    or make it a GitHub Actions step (``GITHUB_*``), with ``extra``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISHER_", "GITHUB_"))}
    return {**kept, **extra}


def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 600,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``publisher <args>`` (this interpreter's) in ``cwd``, its output captured and
    nothing on its stdin; ``preexec`` runs in the child before publisher (a limit of the
    machine's: ``tests.support.limits``)."""
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
        preexec_fn=preexec,
    )


def seed_image(
    digests: Path,
    release: str,
    php: str,
    image: TestImage,
    *,
    push_to: str,
    repo: str,
    image_repo: str,
    base: str | None = None,
    base_digest: str | None = None,
    dockerfile_sha256: str = "sha256:" + "0" * 64,
) -> None:
    """The build legs of ``php`` for ``release`` that built ``image``: each of its platform
    images pushed to ``repo`` on the registry ``push_to`` (its own host, not a proxy), and
    its digest record in ``digests``, naming ``image_repo``."""
    for platform_image in image.images:
        push_raw(f"http://{push_to}", repo, platform_image)
        record = DigestRecord(
            release,
            php,
            Platform(platform_image.platform),
            image_repo,
            platform_image.digest,
            base or f"php:{php}-fpm-alpine",
            base_digest,
            "buildah",
            dockerfile_sha256,
        )
        write_record_file(digests / record.file_name, record)
