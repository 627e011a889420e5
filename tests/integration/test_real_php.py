"""Real PHP: the Debian-packaged stand-in bases, a whole release of examples/real-php on
them (PHP 8.2 on linux/amd64 alone: ``real_php_bases.write_matrix`` says why), and smoke
tests that catch seeded broken images for the right reason.

The bases are built with mmdebstrap (arm64 under QEMU: minutes the first time) and
cached under ``$PUBLISHER_CACHE_DIR`` by the content of examples/real-php/standin.
A run that collects this file makes them in the background from the start, while the
files before it run (tests/support/real_php_bases.py), and this file waits for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.adapters.builders import BuilderName, BuildRequest, select_builder
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.registry import RegistryClient
from publisher.adapters.smoke import Engine, SmokeTester
from publisher.core import config as config_module
from publisher.core.errors import SmokeTestError
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from publisher.stages import standins
from tests.conftest import ROOT, require_tool
from tests.support import real_php_bases
from tests.support.builds import image_registry, quiet_runner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOTH = ["linux/amd64", "linux/arm64"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real-PHP example as the suite releases it (PHP 8.2 on linux/amd64 alone)."""
    return real_php_bases.write_matrix(tmp_path_factory.mktemp("real-php"))


@pytest.fixture(scope="module", autouse=True)
def made_in_the_background() -> None:
    """The bases the suite started making as it collected this file: waited for, so that
    no test makes them again meanwhile (when that failed, what it said is shown and the
    tests make them themselves)."""
    said = real_php_bases.wait()
    if said:
        print(said, file=sys.stderr)


@pytest.fixture(scope="module")
def base_registry() -> Iterator[LocalRegistry]:
    with image_registry("mmdebstrap") as reg:
        yield reg


@pytest.fixture(scope="module")
def bases(base_registry: LocalRegistry, matrix: Path) -> dict[str, Reference]:
    cfg = config_module.load(matrix, {})
    return standins.push_for_config(cfg, base_registry.host, runner=quiet_runner())


def test_the_release_runs_on_real_php_for_both_platforms(tmp_path: Path, matrix: Path) -> None:
    """`publisher release v1.0.0 --local --config examples/real-php/matrix.yaml`, as
    documented, but for PHP 8.2 on linux/amd64 alone (``real_php_bases.write_matrix``)."""
    require_tool("docker-registry", "registry")
    require_tool("mmdebstrap")
    notes = tmp_path / "notes"
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["SOURCE_DATE_EPOCH"] = "1767225600"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "publisher",
            "release",
            "v1.0.0",
            "--local",
            "--notes-dir",
            str(notes),
            "--config",
            str(matrix),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    facts = json.loads((notes / "v1.0.0.json").read_text())
    assert facts["stand_in"] is True
    versions = {line["php"]: line["php_version"] for line in facts["lines"]}
    assert sorted(versions) == ["8.2", "8.4"]
    for php, version in versions.items():
        assert version.startswith(f"{php}.") and "standin" not in version  # Debian's real PHP
    for line in facts["lines"]:
        both = ["linux/amd64"] if line["php"] in real_php_bases.AMD64_ONLY else BOTH
        assert sorted(p["platform"] for p in line["platforms"]) == both, line
        for platform in line["platforms"]:
            assert 20_000_000 < platform["size_bytes"] < 300_000_000  # real images: tens of MB
    text = (notes / "v1.0.0.md").read_text()
    assert "STAND-IN" in text or "stand-in" in text


def _seed(
    base: Reference, registry: LocalRegistry, tmp_path: Path, name: str, steps: str
) -> Reference:
    """Build a broken image FROM the linux/amd64 real-PHP base and push it by digest."""
    context = tmp_path / name
    context.mkdir()
    rendered = (ROOT / "examples/real-php/dockerfiles/8.4/Dockerfile").read_text()
    (context / "Dockerfile").write_text(rendered + "\n" + steps + "\n")
    builder = select_builder(BuilderName.BUILDAH, quiet_runner())
    request = BuildRequest(
        php="8.4",
        platform=Platform.AMD64,
        context=context,
        dockerfile=context / "Dockerfile",
        repository=Reference(registry.host, f"seeded/{name}"),
        work_dir=tmp_path / f"{name}-work",
        base=base,
        base_plain_http=True,
    )
    out = builder.build(request)
    assert out.layout is not None
    client = RegistryClient(registry.host, plain_http=True)
    digest = client.push_layout(out.layout, f"seeded/{name}")
    return Reference(registry.host, f"seeded/{name}", None, digest)


SEEDS = {
    # an extension missing: its conf.d file is gone, so php -m does not list it
    "missing-extension": (
        "RUN rm /usr/local/etc/php/conf.d/docker-php-ext-intl.ini",
        Engine.DOCKER,
        "`php -m` does not list intl",
    ),
    # FPM's configuration is invalid
    "fpm-config": (
        "RUN printf '[www]\\npm = sometimes\\n' > /usr/local/etc/php-fpm.d/zz-broken.conf",
        Engine.BUILDAH,
        "`php-fpm -t` failed",
    ),
    # FPM listens elsewhere; the health check was made to pass regardless
    "no-fastcgi": (
        "RUN sed -i 's/^listen = 9000/listen = 9001/' /usr/local/etc/php-fpm.d/www.conf\n"
        'HEALTHCHECK CMD ["true"]',
        Engine.DOCKER,
        "php-fpm did not answer a FastCGI request",
    ),
    # FPM listens on 127.0.0.1 only: the health check and a probe from inside pass, the
    # stack's web server in another container gets no answer (buildah: the host's network)
    "loopback-only": (
        "RUN sed -i 's/^listen = 9000/listen = 127.0.0.1:9000/' /usr/local/etc/php-fpm.d/www.conf",
        Engine.BUILDAH,
        "php-fpm listens on port 9000 of the loopback address only",
    ),
    # OPcache loads but is switched off: its check fails under php-fpm
    "extension-check": (
        "RUN echo 'opcache.enable=0' > /usr/local/etc/php/conf.d/zz-opcache-off.ini",
        Engine.BUILDAH,
        "opcache fails its check under php-fpm: OPcache is not enabled",
    ),
    # an extension that cannot be loaded: PHP warns as it starts, and carries on
    "startup-warning": (
        'RUN echo "extension=nonexistent_ext.so" > /usr/local/etc/php/conf.d/zz-broken.ini',
        Engine.DOCKER,
        "PHP reports an error as it starts: PHP Warning:  PHP Startup: Unable to load "
        "dynamic library 'nonexistent_ext.so'",
    ),
    # php-fpm answers its health check, the probe and every check, then dies
    "crash-after-healthy": (
        'CMD ["sh", "-c", "php-fpm -F & p=$!; sleep 4; kill -9 $p; echo CRASHED >&2; exit 1"]',
        Engine.DOCKER,
        "after it started, having answered its health check",
    ),
    # the pool on a unix socket: nothing on port 9000, where the web server sends requests
    "unix-socket": (
        "RUN sed -i 's#^listen = .*#listen = /run/php-fpm.sock#' "
        "/usr/local/etc/php-fpm.d/www.conf\nHEALTHCHECK NONE",
        Engine.BUILDAH,
        "php-fpm did not answer a FastCGI request (no connection could be made to port 9000",
    ),
}


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_a_seeded_broken_image_fails_for_the_right_reason(
    seed: str,
    bases: dict[str, Reference],
    base_registry: LocalRegistry,
    tmp_path: Path,
    matrix: Path,
) -> None:
    require_tool("buildah")
    steps, engine, reason = SEEDS[seed]
    image = _seed(bases["8.4"], base_registry, tmp_path, seed, steps)
    cfg = config_module.load(matrix, {})
    tester = SmokeTester(quiet_runner(), engine)
    with pytest.raises(SmokeTestError) as caught:
        tester.test(
            image,
            Platform.AMD64,
            php_line="8.4",
            extensions=cfg.line("8.4").extensions.names,
            plain_http=True,
        )
    message = caught.value.message
    assert reason in message
    # (no-fastcgi's reason is the start of unix-socket's: both find nothing on the port)
    others = [r for s, (_, _, r) in SEEDS.items() if s != seed and r not in reason]
    assert not [r for r in others if r in message], message  # only the seeded defect


def _docker(docker: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("php", ["8.2", "8.4"])
def test_the_image_runs_as_a_developer_runs_it(php: str, bases: dict[str, Reference]) -> None:
    """The rendered Dockerfile, built with docker and run beside another container as the
    stack runs it: healthy by its own HEALTHCHECK, FastCGI on port 9000 from the other
    container, workers as www-data, a graceful and quick `docker stop`, and a log that
    holds the requests a developer made, not the health check's pings."""
    docker = require_tool("docker")
    name = f"publisher-dev-{php.replace('.', '')}-{os.getpid()}"
    tag = f"localhost/{name}:test"
    built = _docker(
        docker,
        "build",
        "--quiet",
        "--file",
        str(ROOT / f"examples/real-php/dockerfiles/{php}/Dockerfile"),
        "--build-arg",
        f"PHP_BASE_IMAGE={bases[php]}",
        "--tag",
        tag,
        str(ROOT / "examples/real-php"),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        assert _docker(docker, "network", "create", name).returncode == 0
        # The image's own HEALTHCHECK command, polled every second instead of every 30 s.
        started = _docker(
            docker, "run", "--detach", "--name", name, "--network", name,
            "--health-interval", "1s", tag,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        status = ""
        for _ in range(60):
            status = _docker(
                docker, "inspect", "--format", "{{.State.Health.Status}}", name
            ).stdout.strip()
            if status == "healthy":
                break
            time.sleep(1)
        assert status == "healthy", _docker(docker, "logs", name).stderr
        # A request from another container, as the web server sends it: FPM answers on 9000.
        asked = _docker(
            docker, "run", "--rm", "--network", name, "--entrypoint", "cgi-fcgi",
            "--env", "SCRIPT_NAME=/dev-request.php", "--env", "SCRIPT_FILENAME=/dev-request.php",
            "--env", "REQUEST_METHOD=GET", tag, "-bind", "-connect", f"{name}:9000",
        )  # fmt: skip
        assert "Status: 404" in asked.stdout, asked.stdout + asked.stderr
        users = _docker(docker, "exec", name, "ps", "-eo", "user=,args=").stdout
        workers = [ln.split()[0] for ln in users.splitlines() if "pool www" in ln]
        assert workers and set(workers) == {"www-data"}, users
        before = time.monotonic()
        stopped = _docker(docker, "stop", name)
        took = time.monotonic() - before
        assert stopped.returncode == 0, stopped.stderr
        # not honoured: docker kills it after its 10 s grace (exit 137); 8 s leaves a loaded
        # machine room where the honoured signal takes about 1 s
        code = _docker(docker, "inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert code.isdigit() and code != "137", f"exit {code!r} after {took:.1f} s: killed"
        assert took < 8, f"docker stop took {took:.1f} s: the stop signal was not honoured"
        log = _docker(docker, "logs", name)
        text = log.stdout + log.stderr
        assert "Finishing ..." in text, text  # SIGQUIT: FPM's graceful stop
        assert "/dev-request.php" in text, text  # the access log goes to the container's log
        assert "/ping" not in text, text  # ... without a line per health check
    finally:
        _docker(docker, "rm", "--force", name)
        _docker(docker, "network", "rm", name)
        _docker(docker, "rmi", "--force", tag)
