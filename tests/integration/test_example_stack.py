"""The example stack (examples/stack/start.sh) starts for real in both cases.

* pre-built: the image is pulled BY DIGEST from a real registry on loopback and
  run with docker; a second start uses the cached image;
* fallback: the image registry is down, so the stack builds the SAME Dockerfile
  locally (docker BuildKit, or buildah) on the same base digest and runs it.

Everything here is a STAND-IN: the base is publisher's busybox stand-in
(``stand-in/php:8.4-fpm-alpine``, label ``dev.publisher.stand-in=true``, built by
``publisher.standins``) and the Dockerfile is the offline example's rendering of
the shared template (examples/offline/dockerfiles/8.4/Dockerfile). The
"pre-built" image is built from that Dockerfile with buildah and pushed as an
index, as CI would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from publisher import standins
from publisher.localregistry import LocalRegistry, free_port
from publisher.output import Output
from publisher.platforms import Platform
from publisher.resolve import detect_host_platform
from publisher.runner import Runner
from tests.conftest import ROOT, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RELEASE = "v2.0.0"
PIN = f"{RELEASE}-php-8.4"
HOST = detect_host_platform()
STACK = ROOT / "examples" / "stack"
DOCKERFILES = ROOT / "examples" / "offline" / "dockerfiles"  # STAND-IN rendering of the template
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def docker_cli() -> str:
    """The docker CLI with a working BuildKit (/usr/bin/docker here; see the README)."""
    if Path("/usr/bin/docker").is_file():
        return "/usr/bin/docker"
    return require_tool("docker")


def run(*argv: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
        **kwargs,  # type: ignore[call-overload]
    )


@dataclass(frozen=True)
class Published:
    registry: LocalRegistry
    path: str  # repository path, unique per run
    digest: str  # the index digest of the pre-built image
    base: str  # the stand-in base, name:tag@digest
    base_diff_ids: tuple[str, ...]
    notes: Path

    @property
    def repository(self) -> str:
        return f"{self.registry.host}/{self.path}"

    @property
    def prebuilt(self) -> str:
        return f"{self.repository}:{PIN}@{self.digest}"

    @property
    def local(self) -> str:
        return f"localhost/{self.path}:{PIN}"


def _base_diff_ids(registry: LocalRegistry, path: str, digest: str) -> tuple[str, ...]:
    """The layers of the stand-in base for this platform, read from the registry."""
    url = f"{registry.url}/v2/{path}"
    index = requests.get(f"{url}/manifests/{digest}", headers={"Accept": ACCEPT}, timeout=10).json()
    os_, arch = HOST.split("/")
    child = next(
        m["digest"]
        for m in index["manifests"]
        if m["platform"]["os"] == os_ and m["platform"]["architecture"] == arch
    )
    manifest = requests.get(
        f"{url}/manifests/{child}", headers={"Accept": ACCEPT}, timeout=10
    ).json()
    config = requests.get(f"{url}/blobs/{manifest['config']['digest']}", timeout=10).json()
    return tuple(config["rootfs"]["diff_ids"])


@pytest.fixture(scope="module")
def published(
    registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Published]:
    buildah = require_tool("buildah")
    docker = docker_cli()
    if run(docker, "info", check=False).returncode != 0:
        pytest.fail("the docker daemon is not running (.ci/run starts it)", pytrace=False)

    # The STAND-IN base, pushed to the loopback registry (cached between runs).
    refs = standins.push_standins(
        registry.host,
        runner=Runner(output=Output(env={}, quiet=True)),
        lines=("8.4",),
        platforms=(Platform.parse(HOST),),
    )
    base_ref = refs["8.4"]
    base = str(base_ref)
    assert base_ref.digest is not None

    # "CI": build the Dockerfile on that base and push it as an index, by buildah.
    path = f"stack-{uuid.uuid4().hex[:8]}/php-fpm"
    manifest = f"publisher-stack-test-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("prebuilt")
    digest_file, iid_file = work / "digest", work / "iid"
    dockerfile = DOCKERFILES / "8.4" / "Dockerfile"
    try:
        run(
            buildah, "build", "--isolation", "chroot", "--tls-verify=false", "--platform", HOST,
            "--manifest", manifest, "--iidfile", str(iid_file), "--build-arg", f"PHP_BASE_IMAGE={base}",
            "--build-arg", f"PUBLISHER_RELEASE={RELEASE}", "-f", str(dockerfile), str(dockerfile.parent),
        )  # fmt: skip
        run(
            buildah, "manifest", "push", "--all", "--tls-verify=false", "--digestfile",
            str(digest_file), manifest, f"docker://{registry.host}/{path}:{PIN}",
        )  # fmt: skip
    finally:
        run(buildah, "manifest", "rm", manifest, check=False)
    digest = digest_file.read_text().strip()

    notes = tmp_path_factory.mktemp("notes") / f"{RELEASE}.json"
    notes.write_text(
        json.dumps(
            {
                "schema": 1,
                "release": RELEASE,
                "stable": True,
                "stand_in": True,
                "default_line": "8.4",
                "registries": [
                    {"name": "local", "repository": f"{registry.host}/{path}", "primary": True}
                ],
                "lines": [
                    {
                        "php": "8.4",
                        "php_version": "8.4.99-standin",
                        "index_digest": digest,
                        "tags": [PIN],
                        "base": {
                            "image": f"{registry.host}/{base_ref.path}:{base_ref.tag}",
                            "digest": base_ref.digest,
                        },
                        "platforms": [{"platform": HOST, "digest": digest, "size_bytes": 1}],
                    }
                ],
            }
        )
    )
    item = Published(
        registry,
        path,
        digest,
        base,
        _base_diff_ids(registry, base_ref.path, base_ref.digest),
        notes,
    )
    yield item
    for image in (item.prebuilt, f"{item.repository}@{digest}", item.local):
        run(docker, "rmi", "-f", image, check=False)
    built = iid_file.read_text().strip() if iid_file.exists() else ""
    base_in_storage = f"{registry.host}/{base_ref.path}@{base_ref.digest}"
    for image in (f"{item.repository}@{digest}", item.local, built, base_in_storage):
        if image:
            run(buildah, "rmi", "-f", image, check=False)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for one start of the stack, and its clean-up."""
    name = f"publisher-stack-{uuid.uuid4().hex[:8]}"
    (tmp_path / "docker-config").mkdir()
    (tmp_path / "docker-config" / "config.json").write_text("{}")  # buildah insists on the file
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "PYTHONPATH": str(ROOT),
        "PUBLISHER_RESOLVE": f"{sys.executable} -m publisher.resolve",
        "DOCKER": docker_cli(),
        "STACK_NAME": name,
        "STACK_STATE_DIR": str(tmp_path / "state"),
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": RELEASE,
        "PHP_DOCKERFILES": str(DOCKERFILES),
    }
    yield env
    for engine in ("docker", "buildah"):
        if shutil.which(engine) or engine == "docker":
            run("sh", str(STACK / "stop.sh"), env={**env, "STACK_ENGINE": engine}, check=False)


def start(env: dict[str, str], **extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    proc = run("sh", str(STACK / "start.sh"), env={**env, **extra}, check=False)
    return proc, time.monotonic() - began


def container_image(docker: str, name: str) -> dict[str, Any]:
    image_id = run(docker, "inspect", "--format", "{{.Image}}", name).stdout.strip()
    data: list[dict[str, Any]] = json.loads(run(docker, "image", "inspect", image_id).stdout)
    return data[0]


def wait_healthy(docker: str, name: str) -> str:
    """Run the image's health check command until it passes (php-fpm takes a moment)."""
    last = ""
    for _ in range(50):
        proc = run(docker, "exec", name, "php-fpm-healthcheck", check=False)
        if proc.returncode == 0:
            return run(docker, "exec", name, "php", "-v").stdout
        last = proc.stdout + proc.stderr
        time.sleep(0.1)
    raise AssertionError(f"{name} never became healthy: {last}")


def test_prebuilt_start_pulls_by_digest_then_reuses_the_cache(
    published: Published, stack: dict[str, str]
) -> None:
    docker = stack["DOCKER"]
    env = {**stack, "PHP_RELEASE_NOTES": str(published.notes), "STACK_ENGINE": "docker"}
    run(docker, "rmi", "-f", published.prebuilt, check=False)

    proc, _ = start(env)
    assert proc.returncode == 0, proc.stderr
    assert f"start: use-prebuilt: {published.prebuilt} ({HOST})" in proc.stderr
    assert "STAND-IN images, not PHP" in proc.stderr
    name = f"{stack['STACK_NAME']}-php"
    image = container_image(docker, name)
    assert f"{published.repository}@{published.digest}" in image["RepoDigests"]
    assert "STAND-IN" in wait_healthy(docker, name)
    assert run(docker, "image", "inspect", published.local, check=False).returncode != 0  # no build

    again, seconds = start(env)  # a cached start: no registry request, no pull, no build
    assert again.returncode == 0, again.stderr
    assert "is in the local image store (no registry request)" in again.stderr
    assert f"start: using the cached {published.prebuilt}" in again.stderr
    assert seconds < 15, f"a cached start took {seconds:.1f} s"
    assert "STAND-IN" in wait_healthy(docker, name)


class TcpRelay:
    """Relays TCP byte for byte to the registry; ``stop()`` takes the registry "offline"."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.listener.settimeout(0.1)
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            server = socket.create_connection(self.upstream)
            self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()
        for sock in self._open:
            sock.close()


def test_offline_start_from_the_cache(
    published: Published, stack: dict[str, str], tmp_path: Path
) -> None:
    """Pull once through a proxy, then take the proxy away: the start still works."""
    docker = stack["DOCKER"]
    proxy = TcpRelay(published.registry.host)
    try:
        notes = json.loads(published.notes.read_text())
        notes["registries"][0]["repository"] = f"{proxy.host}/{published.path}"
        via_proxy = tmp_path / f"{RELEASE}.json"
        via_proxy.write_text(json.dumps(notes))
        env = {
            **stack,
            "PHP_RELEASE_NOTES": str(via_proxy),
            "STACK_ENGINE": "docker",
            "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        }
        online, _ = start(env)
        assert online.returncode == 0, online.stderr
        assert proxy.connections >= 1
    finally:
        proxy.stop()
    offline, _ = start(env)  # nothing listens at the proxy's address any more
    assert offline.returncode == 0, offline.stderr
    assert "is in the local image store (no registry request)" in offline.stderr
    assert "STAND-IN" in wait_healthy(docker, f"{stack['STACK_NAME']}-php")
    run(docker, "rmi", "-f", f"{proxy.host}/{published.path}@{published.digest}", check=False)


def test_fallback_builds_the_same_dockerfile_on_the_same_base(
    published: Published, stack: dict[str, str]
) -> None:
    docker = stack["DOCKER"]
    run(docker, "rmi", "-f", published.local, check=False)
    down = f"127.0.0.1:{free_port()}/{published.path}"  # the image registry is unreachable
    env = {
        **stack,
        "PHP_RELEASE_NOTES": str(published.notes),
        "PHP_IMAGE_REPOSITORY": down,
        "STACK_ENGINE": "docker",
    }
    proc, _ = start(env)
    assert proc.returncode == 0, proc.stderr
    assert f"start: build-locally: {published.local} ({HOST})" in proc.stderr
    assert f"registry 127.0.0.1:{down.split(':')[1].split('/')[0]} is offline or unreachable" in (
        proc.stderr
    )
    assert "falling back to a local build" in proc.stderr
    name = f"{stack['STACK_NAME']}-php"
    local = container_image(docker, name)
    assert published.local in local["RepoTags"]
    assert "STAND-IN" in wait_healthy(docker, name)

    # Equivalence with the pre-built image: same Dockerfile, same base digest.
    run(docker, "pull", "--platform", HOST, f"{published.repository}@{published.digest}")
    prebuilt = json.loads(
        run(docker, "image", "inspect", f"{published.repository}@{published.digest}").stdout
    )[0]
    labels_local = local["Config"]["Labels"]
    labels_prebuilt = prebuilt["Config"]["Labels"]
    for key in (
        "org.opencontainers.image.base.name",
        "org.opencontainers.image.version",
        "dev.publisher.php-line",
        "dev.publisher.stand-in",
    ):
        assert labels_local[key] == labels_prebuilt[key], key
    assert labels_local["org.opencontainers.image.base.name"].endswith(published.base.split("@")[1])
    base_layers = list(published.base_diff_ids)
    assert local["RootFS"]["Layers"][: len(base_layers)] == base_layers
    assert prebuilt["RootFS"]["Layers"][: len(base_layers)] == base_layers
    for key in ("Entrypoint", "Cmd", "Env", "WorkingDir"):
        assert local["Config"][key] == prebuilt["Config"][key], key


def test_fallback_disabled_stops_with_the_reason(
    published: Published, stack: dict[str, str]
) -> None:
    env = {
        **stack,
        "PHP_RELEASE_NOTES": str(published.notes),
        "PHP_IMAGE_REPOSITORY": f"127.0.0.1:{free_port()}/{published.path}",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "STACK_ENGINE": "docker",
    }
    proc, _ = start(env)
    assert proc.returncode == 17
    assert "offline or unreachable" in proc.stderr
    assert "set ALLOW_LOCAL_BUILD_FALLBACK=true" in proc.stderr
    assert "start: cannot start PHP-FPM" in proc.stderr
    name = f"{stack['STACK_NAME']}-php"
    assert run(stack["DOCKER"], "inspect", name, check=False).returncode != 0


def test_buildah_engine_prebuilt_and_fallback(published: Published, stack: dict[str, str]) -> None:
    require_tool("buildah")
    state = Path(stack["STACK_STATE_DIR"])
    env = {
        **stack,
        "PHP_RELEASE_NOTES": str(published.notes),
        "STACK_ENGINE": "buildah",
        "STACK_TLS_VERIFY": "false",
    }
    for extra, decision in (
        ({}, "use-prebuilt"),
        ({"PHP_IMAGE_REPOSITORY": f"127.0.0.1:{free_port()}/{published.path}"}, "build-locally"),
    ):
        proc, _ = start(env, **extra)
        assert proc.returncode == 0, proc.stderr
        assert f"start: {decision}: " in proc.stderr
        log = state / "php.log"
        for _ in range(100):
            if log.exists() and "ready to handle connections" in log.read_text():
                break
            time.sleep(0.1)
        assert "ready to handle connections (STAND-IN)" in log.read_text()
        run("sh", str(STACK / "stop.sh"), env={**env, "STACK_ENGINE": "buildah"})
        log.unlink()


def test_compose_file_uses_the_resolved_variables() -> None:
    """Compose is not installed here: check the file; start it when compose exists."""
    data = yaml.safe_load((STACK / "compose.yaml").read_text())
    php = data["services"]["php"]
    assert php["image"].startswith("${PHP_IMAGE:?")
    assert php["build"]["context"].startswith("${PHP_BUILD_CONTEXT:?")
    assert php["build"]["dockerfile"] == "Dockerfile"
    assert php["build"]["args"]["PHP_BASE_IMAGE"].startswith("${PHP_BASE_IMAGE:?")
    assert php["platform"] == "${PHP_PLATFORM:-}"
    assert data["services"]["pma"]["image"].startswith("${PMA_IMAGE")
