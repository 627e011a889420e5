"""STAND-IN base images, for real: built with buildah and docker, pushed as multi-arch
indexes, labelled as stand-ins, runnable under QEMU, reproducible and idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.builders import BuilderName
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.registry import RegistryClient
from publisher.adapters.smoke import Engine, SmokeTester
from publisher.core import config as config_module
from publisher.core.errors import CommandError, UnreachableError
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.support.builds import forget_images, image_registry, quiet_runner
from tests.support.faultproxy import Fault, FaultProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def standin_registry() -> Iterator[LocalRegistry]:
    with image_registry("buildah") as reg:
        yield reg


@pytest.fixture(scope="module")
def pushed(standin_registry: LocalRegistry) -> dict[str, Reference]:
    return standins.push_standins(
        standin_registry.host, runner=quiet_runner(), lines=("8.1", "8.4")
    )


def _children(host: str, ref: Reference) -> dict[str, str]:
    client = RegistryClient(host, plain_http=True)
    index = client.get_manifest(ref)
    assert index.is_index
    return {str(c.platform): c.digest for c in index.platform_children}


def test_each_line_is_a_labelled_two_platform_index(
    standin_registry: LocalRegistry, pushed: dict[str, Reference]
) -> None:
    client = RegistryClient(standin_registry.host, plain_http=True)
    assert sorted(pushed) == ["8.1", "8.4"]
    for php, ref in pushed.items():
        assert ref.path == "stand-in/php" and ref.tag == f"{php}-fpm-alpine"
        assert client.resolve(Reference(ref.domain, ref.path, ref.tag)) == ref.digest
        children = _children(standin_registry.host, ref)
        assert sorted(children) == ["linux/amd64", "linux/arm64"]
        for platform, digest in children.items():
            manifest = client.get_manifest_by_digest(ref.path, digest)
            config = client.image_config(ref.path, manifest)
            assert config["architecture"] == platform.split("/")[1]
            labels = config["config"]["Labels"]
            assert labels["dev.publisher.stand-in"] == "true"
            assert "STAND-IN" in labels["org.opencontainers.image.title"]
            assert labels["org.opencontainers.image.version"] == f"{php}.99-standin"


@pytest.mark.parametrize(
    ("engine", "platform"), [(Engine.BUILDAH, Platform.ARM64), (Engine.DOCKER, Platform.AMD64)]
)
def test_the_stand_in_base_runs_and_says_it_is_not_php(
    standin_registry: LocalRegistry,
    pushed: dict[str, Reference],
    engine: Engine,
    platform: Platform,
) -> None:
    require_tool(engine.value)
    ref = pushed["8.4"]
    child = _children(standin_registry.host, ref)[platform.value]
    result = SmokeTester(quiet_runner(), engine).test(
        Reference(ref.domain, ref.path, None, child),
        platform,
        php_line="8.4",
        extensions=(),
        plain_http=True,
    )
    assert result.php_version == "8.4.99-standin"
    assert "core" in result.modules and "redis" not in result.modules


def test_a_rerun_uploads_nothing(
    pushed: dict[str, Reference],
    fresh_registry: Callable[..., LocalRegistry],
    proxy_for: Callable[[Any], FaultProxy],
) -> None:
    proxy = proxy_for(fresh_registry())
    first = standins.push_standins(proxy.host, runner=quiet_runner(), lines=("8.4",))
    assert proxy.count("PUT", "manifest") == 4  # two images, their index, then the tag
    assert proxy.count(kind="upload") > 0
    proxy.reset_counts()
    again = standins.push_standins(proxy.host, runner=quiet_runner(), lines=("8.4",))
    assert again == first
    assert proxy.mutating_requests == 0
    assert first["8.4"].digest == pushed["8.4"].digest  # from the layout cache


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """An empty stand-in cache, with the busybox binaries taken from the normal cache."""
    env = dict(os.environ)
    cache = standins.cache_root(env) / "standins"
    runner = quiet_runner()
    for arch in ("amd64", "arm64"):
        env[standins.busybox_env_var(arch)] = str(standins.busybox_binary(arch, runner, cache, env))
    env[standins.ENV_CACHE] = str(tmp_path / "cache")
    return env


def test_buildah_stand_ins_are_reproducible(
    tmp_path: Path, pushed: dict[str, Reference], fresh_registry: Callable[..., LocalRegistry]
) -> None:
    registry = fresh_registry()
    rebuilt = standins.push_standins(
        registry.host,
        runner=quiet_runner(),
        lines=("8.4",),
        builder=BuilderName.BUILDAH,
        env=_isolated_env(tmp_path),
    )
    assert (tmp_path / "cache/standins/layouts").is_dir()  # really built, not reused
    assert rebuilt["8.4"].digest == pushed["8.4"].digest
    forget_images(registry.host)


def test_docker_builds_the_stand_ins_too(
    tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    require_tool("docker")
    registry = fresh_registry()
    refs = standins.push_standins(
        registry.host,
        runner=quiet_runner(),
        lines=("8.3",),
        builder=BuilderName.DOCKER,
        env=_isolated_env(tmp_path),
    )
    children = _children(registry.host, refs["8.3"])
    assert sorted(children) == ["linux/amd64", "linux/arm64"]
    client = RegistryClient(registry.host, plain_http=True)
    manifest = client.get_manifest_by_digest("stand-in/php", children["linux/arm64"])
    config = client.image_config("stand-in/php", manifest)
    assert config["architecture"] == "arm64"
    assert config["config"]["Labels"]["dev.publisher.stand-in"] == "true"
    forget_images(registry.host)


def test_push_for_config_serves_the_bases_a_stand_in_matrix_names(
    standin_registry: LocalRegistry, pushed: dict[str, Reference]
) -> None:
    cfg = config_module.load(ROOT / "examples/offline/matrix.yaml", {}).select(("8.4",))
    refs = standins.push_for_config(cfg, standin_registry.host, runner=quiet_runner())
    assert refs == {"8.4": pushed["8.4"]}
    real = config_module.load(ROOT / "matrix.yaml", {})
    with pytest.raises(CommandError, match="not a stand-in matrix"):
        standins.push_for_config(real, standin_registry.host, runner=quiet_runner())


def test_the_example_script_pushes_and_prints_the_references(
    pushed: dict[str, Reference], fresh_registry: Callable[..., LocalRegistry]
) -> None:
    registry = fresh_registry()
    script = ROOT / "examples/offline/standins.py"
    done = subprocess.run(
        [sys.executable, str(script), "push", "--registry", registry.host, "--lines", "8.4"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == f"8.4 {registry.host}/stand-in/php:8.4-fpm-alpine@{pushed['8.4'].digest}"
    bad = subprocess.run(
        [sys.executable, str(script), "push", "--registry", registry.host, "--lines", "eight"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2  # a bad --lines is bad command-line input
    assert "'eight' is not a PHP line" in bad.stderr


def test_the_example_script_refuses_a_registry_that_is_not_a_host() -> None:
    script = ROOT / "examples/offline/standins.py"
    for value in ("", "http://127.0.0.1:5000", "bad host", "127.0.0.1:5000/stand-in"):
        done = subprocess.run(
            [sys.executable, str(script), "push", "--registry", value, "--lines", "8.4"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PUBLISHER_RETRY_ATTEMPTS": "1"},
        )
        assert done.returncode == 2, (value, done.stderr)
        assert f"--registry {value!r} is not a registry host" in done.stderr
        assert "give HOST[:PORT]" in done.stderr


def test_the_retry_limits_bound_the_stand_in_pushes(
    pushed: dict[str, Reference],
    fresh_registry: Callable[..., LocalRegistry],
    proxy_for: Callable[[Any], FaultProxy],
) -> None:
    """PUBLISHER_RETRY_* bound the rehearsal's stand-in pushes as every other request."""
    proxy = proxy_for(fresh_registry())
    proxy.add(Fault("status", method="HEAD", path="/manifests/", status=503, times=None))
    env = {**os.environ, "PUBLISHER_RETRY_ATTEMPTS": "2", "PUBLISHER_RETRY_INITIAL_DELAY": "0"}
    with pytest.raises(UnreachableError, match="after 2 attempts"):
        standins.push_standins(proxy.host, runner=quiet_runner(), lines=("8.4",), env=env)
    assert proxy.count("HEAD") == 2
