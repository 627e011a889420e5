"""STAND-IN base images, for real: built with buildah and docker, pushed as multi-arch
indexes, labelled as stand-ins, runnable under QEMU, reproducible and idempotent."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.adapters.builders import BuilderName
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.adapters.runner import Completed, Runner
from publisher.adapters.smoke import EMPTY_RUN_PAUSE, EMPTY_RUN_TRIES, Engine, SmokeTester
from publisher.core import config as config_module
from publisher.core.errors import CommandError, SmokeTestError, UnreachableError
from publisher.core.fileio import ENV_CACHE
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
    env[ENV_CACHE] = str(tmp_path / "cache")
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


def test_push_for_config_makes_each_line_s_bases_for_the_platforms_it_builds(
    tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """A line narrowed to linux/amd64 gets a one-platform stand-in; the others both."""
    text = (ROOT / "examples/offline/matrix.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["lines"] = [{"php": "8.3", "platforms": ["linux/amd64"]}, {"php": "8.4"}]
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(data), encoding="utf-8")
    cfg = config_module.load(matrix, {})
    registry = fresh_registry()
    refs = standins.push_for_config(cfg, registry.host, runner=quiet_runner())
    assert sorted(_children(registry.host, refs["8.3"])) == ["linux/amd64"]
    assert sorted(_children(registry.host, refs["8.4"])) == ["linux/amd64", "linux/arm64"]
    forget_images(registry.host)


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


# ----------------------------------------------------------------- one image store, several runs


def _image_of_its_own(
    host: str, base: Reference, *, cmd: str | None = None, edit: list[str] | None = None
) -> Reference:
    """The stand-in with a label no other image has, pushed to ``host`` and absent from
    every local store: what one smoke test, and no one else on the machine, pulls;
    ``edit``, a command run in it first."""
    label = f"test.publisher.own={uuid.uuid4().hex}"
    work = subprocess.run(
        ["buildah", "from", "--tls-verify=false", f"docker://{base}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    local = f"localhost/publisher-test-own:{uuid.uuid4().hex[:12]}"
    try:
        config = ["buildah", "config", "--label", label]
        config += ["--cmd", cmd, "--entrypoint", "[]"] if cmd else []
        subprocess.run([*config, work], capture_output=True, check=True)
        if edit:
            subprocess.run(["buildah", "run", work, "--", *edit], capture_output=True, check=True)
        subprocess.run(["buildah", "commit", "-q", work, local], capture_output=True, check=True)
        with tempfile.TemporaryDirectory() as tmp:
            digest_file = Path(tmp) / "digest"
            push = ["buildah", "push", "--tls-verify=false", "--digestfile", str(digest_file)]
            subprocess.run(
                [*push, local, f"docker://{host}/test/own:latest"], capture_output=True, check=True
            )
            digest = digest_file.read_text().strip()
    finally:
        subprocess.run(["buildah", "rm", work], capture_output=True, check=False)
        subprocess.run(["buildah", "rmi", local], capture_output=True, check=False)
    return Reference(host, "test/own", None, digest)


def _in_store(engine: Engine, image: Reference) -> bool:
    argv = (
        ["buildah", "inspect", "--type", "image", str(image)]
        if engine is Engine.BUILDAH
        else ["docker", "image", "inspect", str(image)]
    )
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def _pull(engine: Engine, image: Reference) -> None:
    argv = (
        ["buildah", "pull", "-q", "--tls-verify=false", f"docker://{image}"]
        if engine is Engine.BUILDAH
        else ["docker", "pull", "-q", str(image)]
    )
    subprocess.run(argv, capture_output=True, check=True)


def _remove(engine: Engine, image: Reference) -> None:
    tool = ["buildah", "rmi"] if engine is Engine.BUILDAH else ["docker", "image", "rm"]
    subprocess.run([*tool, str(image)], capture_output=True, check=False)


@pytest.mark.parametrize("engine", [Engine.BUILDAH, Engine.DOCKER], ids=str)
def test_a_smoke_test_removes_only_an_image_it_pulled(
    standin_registry: LocalRegistry, pushed: dict[str, Reference], engine: Engine, tmp_path: Path
) -> None:
    """An image another process has in the store (pulled by it, about to run it) is still
    there after a smoke test of the same digest; one the smoke test pulled is gone."""
    require_tool("buildah", engine.value)
    child = _children(standin_registry.host, pushed["8.4"])[Platform.AMD64.value]
    base = Reference(standin_registry.host, "stand-in/php", None, child)
    image = _image_of_its_own(standin_registry.host, base)
    tester = SmokeTester(quiet_runner(), engine, holds=tmp_path / "holds")

    def smoke() -> None:
        result = tester.test(image, Platform.AMD64, php_line="8.4", extensions=(), plain_http=True)
        assert result.php_version == "8.4.99-standin"

    try:
        _pull(engine, image)
        smoke()
        assert _in_store(engine, image), "the smoke test removed an image it had not pulled"
        _remove(engine, image)
        smoke()
        assert not _in_store(engine, image), "the smoke test left the image it pulled"
    finally:
        _remove(engine, image)


class _HeldAtPhpV(Runner):
    """A runner that, before it runs ``php -v``, says so and waits until told to go on."""

    def __init__(self) -> None:
        super().__init__(output=Output(env={}, quiet=True))
        self.at_php_v = threading.Event()
        self.go_on = threading.Event()

    def run(self, argv: Sequence[str], **options: Any) -> Completed:
        if list(argv[-2:]) == ["php", "-v"]:
            self.at_php_v.set()
            self.go_on.wait(120)
        return super().run(argv, **options)


def test_a_smoke_test_ending_leaves_the_image_another_one_is_checking(
    standin_registry: LocalRegistry, pushed: dict[str, Reference], tmp_path: Path
) -> None:
    """Two smoke tests of one image, whose server exits (docker then runs each check in a
    container of its own, from the image): the one that ends first does not remove the
    image under the other's checks, and the last one removes it."""
    require_tool("buildah", "docker")
    child = _children(standin_registry.host, pushed["8.4"])[Platform.AMD64.value]
    base = Reference(standin_registry.host, "stand-in/php", None, child)
    image = _image_of_its_own(standin_registry.host, base, cmd="true")
    holds = tmp_path / "holds"
    held = _HeldAtPhpV()
    errors: list[SmokeTestError] = []

    def smoke(runner: Runner) -> None:
        with pytest.raises(SmokeTestError) as caught:  # its server exits: it did not start
            SmokeTester(runner, Engine.DOCKER, holds=holds, start_timeout=5).test(
                image, Platform.AMD64, php_line="8.4", extensions=(), plain_http=True
            )
        errors.append(caught.value)

    second = threading.Thread(target=smoke, args=(held,))
    try:
        second.start()
        assert held.at_php_v.wait(120), "the second smoke test never reached its checks"
        smoke(quiet_runner())
        assert _in_store(Engine.DOCKER, image), "removed while another smoke test used it"
        held.go_on.set()
        second.join(180)
        assert not second.is_alive()
        assert len(errors) == 2
        for error in errors:  # the checks ran on the image: only the start failed
            assert error.message.count("; ") == 0, error.message
            assert "the image did not start" in error.message, error.message
        assert not _in_store(Engine.DOCKER, image), "the last smoke test left the image"
    finally:
        held.go_on.set()
        second.join(180)
        _remove(Engine.DOCKER, image)


def _buildah_passing_on_nothing(tmp_path: Path, empty: int) -> tuple[Runner, Path]:
    """A runner whose ``buildah`` is a PATH shim (a test double, said as such): the real
    buildah, except that its first ``empty`` runs of the checks (``php -v``, ``php -m``,
    ``php-fpm -t`` and the machine's, in one run) exit as the command did and pass on none
    of its output, as a loaded buildah now and then does. Also the file that counts those
    runs."""
    real = shutil.which("buildah")
    assert real is not None
    shims, count = tmp_path / "shims", tmp_path / "check-runs"
    shims.mkdir()
    count.write_text("0\n")
    shim = shims / "buildah"
    shim.write_text(
        "#!/bin/sh\n"
        "# PATH shim: buildah passing on no output of its first runs of the checks\n"
        'case "$1 $*" in\n'
        '"run "*"publisher-smoke-check "*)\n'
        f'  n=$(($(cat "{count}") + 1)); echo "$n" > "{count}"\n'
        f'  if [ "$n" -le {empty} ]; then "{real}" "$@" >/dev/null 2>&1; exit $?; fi ;;\n'
        "esac\n"
        f'exec "{real}" "$@"\n'
    )
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
    return Runner(output=Output(env={}, quiet=True), env=env), count


@pytest.mark.parametrize("empty", [1, 3])
def test_buildah_passing_on_no_output_now_and_then_is_tried_again(
    standin_registry: LocalRegistry, pushed: dict[str, Reference], tmp_path: Path, empty: int
) -> None:
    """`buildah run` exiting 0 with none of the check's output (a flake under load) is
    run again, after a short pause, until the output comes: the image passes."""
    require_tool("buildah")
    child = _children(standin_registry.host, pushed["8.4"])[Platform.AMD64.value]
    runner, count = _buildah_passing_on_nothing(tmp_path, empty)
    paused: list[float] = []
    result = SmokeTester(runner, Engine.BUILDAH, sleep=paused.append).test(
        Reference(standin_registry.host, "stand-in/php", None, child),
        Platform.AMD64,
        php_line="8.4",
        extensions=(),
        plain_http=True,
    )
    assert result.php_version == "8.4.99-standin"
    tries = int(count.read_text())  # one more when the real buildah did so too (load)
    assert empty + 1 <= tries <= EMPTY_RUN_TRIES, tries
    # the checks' run is the last `buildah run`: its pauses are the last ones (any before
    # them are the real buildah's doing, under load), each short and longer than the last
    assert paused[len(paused) - (tries - 1) :] == [k * EMPTY_RUN_PAUSE for k in range(1, tries)]


def test_checks_buildah_passes_on_nothing_every_time_are_judged_saying_so(
    standin_registry: LocalRegistry, pushed: dict[str, Reference], tmp_path: Path
) -> None:
    """The checks' run passing on none of their output on every try: judged as what the
    image printed, a smoke test failed (exit 13) with the rules' words, each saying the
    check was run 5 times with no output each time, never a failed command (exit 11) a
    rerun would meet again."""
    require_tool("buildah")
    child = _children(standin_registry.host, pushed["8.4"])[Platform.AMD64.value]
    runner, count = _buildah_passing_on_nothing(tmp_path, 1000)
    paused: list[float] = []
    with pytest.raises(SmokeTestError) as caught:
        SmokeTester(runner, Engine.BUILDAH, sleep=paused.append).test(
            Reference(standin_registry.host, "stand-in/php", None, child),
            Platform.AMD64,
            php_line="8.4",
            extensions=(),
            plain_http=True,
        )
    assert int(count.read_text()) == EMPTY_RUN_TRIES == 5
    assert paused[len(paused) - 4 :] == [0.5, 1.0, 1.5, 2.0], paused
    error = caught.value
    assert error.exit_code == 13
    assert error.message.startswith(
        f"{standin_registry.host}/stand-in/php@{child} (linux/amd64): `php -v` did not report "
        "a PHP version (it printed 'nothing') (run 5 times, with no output each time); "
    ), error.message
    assert (
        "; `php-fpm -t` exited 0 but did not say its configuration test is successful: "
        "no output (run 5 times, with no output each time) (php-fpm says it only at its "
        "default log_level = notice: a log_level above it, warning, error or alert, hides it)"
        in error.message
    ), error.message


def test_a_check_printing_nothing_is_judged_at_once(
    standin_registry: LocalRegistry, pushed: dict[str, Reference]
) -> None:
    """`php-fpm -t` exiting 0 and saying nothing (php-fpm at `log_level = warning`) while
    the other checks speak: the image's answer, judged at once (no run again, no pause),
    a smoke test failed (exit 13) with the rules' words and that defect alone."""
    require_tool("buildah")
    child = _children(standin_registry.host, pushed["8.4"])[Platform.AMD64.value]
    base = Reference(standin_registry.host, "stand-in/php", None, child)
    silent = "s/^ *echo .*test is successful.*$/            :/"
    image = _image_of_its_own(
        standin_registry.host, base, edit=["sed", "-i", silent, "/usr/local/bin/php-fpm"]
    )
    paused: list[float] = []
    with pytest.raises(SmokeTestError) as caught:
        SmokeTester(quiet_runner(), Engine.BUILDAH, sleep=paused.append).test(
            image, Platform.AMD64, php_line="8.4", extensions=(), plain_http=True
        )
    assert caught.value.exit_code == 13
    assert caught.value.message == (
        f"{image} (linux/amd64): `php-fpm -t` exited 0 but did not say its configuration "
        "test is successful: no output (php-fpm says it only at its default log_level = "
        "notice: a log_level above it, warning, error or alert, hides it)"
    ), caught.value.message
    assert paused == []


def _checkout_sources(tmp_path: Path, name: str) -> Path:
    """Stand-in sources as another checkout may hold them: publisher's own, one comment
    apart, so its layouts have a cache key of their own."""
    source = tmp_path / name
    shutil.copytree(standins.SOURCE_DIR, source, symlinks=True)
    with (source / "Containerfile").open("a", encoding="utf-8") as handle:
        handle.write(f"# the stand-ins of {name}\n")
    return source


def _push_from(source: Path, host: str, env: dict[str, str]) -> str:
    """Push the 8.4 stand-in built from ``source`` for amd64; what the run said."""
    said = io.StringIO()
    runner = Runner(output=Output(env={}, stream=said, err_stream=said))
    standins.push_standins(
        host,
        runner=runner,
        lines=("8.4",),
        platforms=(Platform.AMD64,),
        source_dir=source,
        env=env,
    )
    return said.getvalue()


def test_checkouts_sharing_the_cache_keep_each_others_stand_ins(
    tmp_path: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """Two checkouts whose stand-in sources differ, one cache: the second's build leaves
    the first's layout, whose next run builds nothing; a layout unused for longer than the
    cache keeps them is removed by the next run."""
    require_tool("buildah")
    env = _isolated_env(tmp_path)
    host = fresh_registry().host
    first, second = _checkout_sources(tmp_path, "first"), _checkout_sources(tmp_path, "second")
    assert "building the STAND-IN base" in _push_from(first, host, env)
    assert "building the STAND-IN base" in _push_from(second, host, env)
    layouts = tmp_path / "cache" / "standins" / "layouts"
    kept = sorted(layouts.glob("*.oci"))
    assert len(kept) == 2, kept
    again = _push_from(first, host, env)
    assert "building the STAND-IN base" not in again, again
    old = time.time() - (standins.CACHE_DAYS + 1) * 86400
    for layout in kept:
        os.utime(layout, (old, old))
    _push_from(second, host, env)  # uses its own, removes the first's, unused for long
    (left,) = layouts.glob("*.oci")
    assert [p.name for p in layouts.glob("*.lock")] == [f"{left.name}.lock"]  # its lock too
    assert "building the STAND-IN base" in _push_from(first, host, env)
    forget_images(host)


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.name.endswith((".tmp", ".trash")))


def test_a_full_cache_leaves_no_half_written_stand_in_and_a_killed_runs_is_removed(
    tmp_path: Path, small_disk: Path, fresh_registry: Callable[..., LocalRegistry]
) -> None:
    """The stand-in cache on a full file system: copying busybox and laying out the
    stand-in fail (ENOSPC) and leave nothing half written. With room again, a run removes
    what a killed run left beside a busybox or a layout, but never what a run still
    holding that layout's lock may be writing."""
    require_tool("buildah")
    host_arch = "amd64"
    if not standins.usable_busybox(Path("/bin/busybox"), host_arch):
        pytest.skip("needs a static amd64 busybox at /bin/busybox")
    subprocess.run(["mount", "-o", "remount,size=512k", str(small_disk)], check=True)
    cache = small_disk / "cache"
    own = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_BUSYBOX_")}
    own[ENV_CACHE] = str(cache)  # busybox copied into the cache, not named
    with pytest.raises(OSError) as caught:
        standins.busybox_binary(host_arch, quiet_runner(), cache / "standins", own)
    assert caught.value.errno == errno.ENOSPC
    assert _leftovers(cache) == []

    env = {**_isolated_env(tmp_path), ENV_CACHE: str(cache)}
    host = fresh_registry().host

    def push() -> dict[str, Reference]:
        return standins.push_standins(
            host,
            runner=quiet_runner(),
            lines=("8.4",),
            platforms=(Platform.AMD64,),
            builder=BuilderName.BUILDAH,
            env=env,
        )

    with pytest.raises(OSError) as caught:
        push()
    assert caught.value.errno == errno.ENOSPC
    assert _leftovers(cache) == []

    # Room again, and what runs killed half-way (gone: their locks free) left.
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    layouts = cache / "standins" / "layouts"
    (lock,) = layouts.glob("*.oci.lock")
    layout = layouts / lock.name.removesuffix(".lock")
    for name in (f"{layout.name}.4242.tmp", f"{layout.name}.4243.tmp.4244.trash"):
        (layouts / name / "blobs").mkdir(parents=True)
        (layouts / name / "blobs" / "half").write_bytes(b"\0" * 1000)
    busybox_tmp = cache / "standins" / "busybox" / host_arch / "busybox.4245.tmp"
    busybox_tmp.write_bytes(b"\0" * 1000)
    other = layouts / f"{'0' * 16}-php-8.4-amd64.oci"
    (layouts / f"{other.name}.4246.tmp").mkdir()  # a run holding its lock is writing it
    with standins._in_use(other):
        pushed = push()
        assert standins.busybox_binary(host_arch, quiet_runner(), cache / "standins", own)
    assert pushed["8.4"].digest == standins._cached_digest(layout)
    assert _leftovers(cache) == [f"{other.name}.4246.tmp"]
    forget_images(host)
