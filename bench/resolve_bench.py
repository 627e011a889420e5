#!/usr/bin/env python3
"""Figures for ``publisher resolve`` and the example stack (prints them; not a timed test).

    python bench/resolve_bench.py                 # resolve latency only
    python bench/resolve_bench.py --stack         # also: cached pre-built start vs local build
    python bench/resolve_bench.py --runs 20 --timeout 2

What it measures, each in a fresh process as a launcher runs it:

1. the import of ``publisher.resolve`` (``python -X importtime``);
2. cold-process ``python -m publisher.resolve --format env`` (and the click
   ``publisher resolve``) when the registry answers: a real distribution
   registry on loopback holding a small multi-arch STAND-IN index, with and
   without the release's pins file (by tag two GETs: the index, then the image
   manifest it lists for the platform; pinned by digest one HEAD);
3. the same when the registry does not answer: connection refused, and a
   server that accepts connections but stays silent (bounded by the timeout);
4. with ``--stack``: starting examples/stack (start.sh: docker and compose v2,
   no Python) from a cached pre-built image against a local build
   (``--no-cache``) of the same Dockerfile, with docker.
   The images are STAND-INs (a busybox base, see publisher.stages.standins): a local
   build of the real Dockerfile also compiles PHP extensions and takes minutes.

Needs the ``docker-registry`` binary; ``--stack`` also needs buildah, a docker daemon and
compose v2.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry, free_port  # noqa: E402
from publisher.core import pins  # noqa: E402
from publisher.resolve import detect_host_platform  # noqa: E402
from tests.support.images import make_image, push_raw  # noqa: E402

RELEASE = "v2.0.0"
PIN = f"{RELEASE}-php-8.4"
HOST = detect_host_platform()
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
LIGHT = [sys.executable, "-m", "publisher.resolve", "--format", "env"]
CLICK = [
    sys.executable,
    "-c",
    "import sys; from publisher.cli import main; import publisher.cli.resolve_cmd; "
    "main(['resolve', *sys.argv[1:]])",
    "--format",
    "env",
]


def record(repository: str, digest: str, base: str | None) -> dict[str, object]:
    """A release record (notes JSON) for one STAND-IN line, for publisher.core.pins."""
    image, _, base_digest = (base or "").partition("@")
    return {
        "release": RELEASE,
        "stand_in": True,
        "default_line": "8.4",
        "registries": [{"name": "local", "repository": repository, "primary": True}],
        "lines": [
            {
                "php": "8.4",
                "index_digest": digest,
                "base": {"image": image, "digest": base_digest or None} if base else {},
                "platforms": [{"platform": p} for p in ("linux/amd64", "linux/arm64")],
            }
        ],
    }


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def figures(label: str, runs: int, once: Callable[[], tuple[float, int, str]]) -> None:
    once()  # warm the bytecode cache, as an installed package has it
    samples, codes = [], set()
    last = ""
    for _ in range(runs):
        seconds, code, last = once()
        samples.append(seconds * 1000)
        codes.add(code)
    print(
        f"  {label:<58} median {statistics.median(samples):7.1f} ms   "
        f"min {min(samples):7.1f}   max {max(samples):7.1f}   exit {sorted(codes)}"
    )
    if codes - {0, 16, 17}:
        print("    unexpected output:", last.strip()[-300:])


@contextmanager
def silent_server() -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def import_time() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The bytecode cache warmed first, as an installed package has it (and as ``figures``
    # runs have it): with PYTHONDONTWRITEBYTECODE set and no cache yet, the figure was the
    # module's compilation, twice the import.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # (in ROOT: ``-c`` puts the current directory first on sys.path)
    subprocess.run(
        [sys.executable, "-c", "import publisher.resolve"], env=env, cwd=ROOT, check=True
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import publisher.resolve"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    rows = [
        line.split("|")
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.split("|")[1].strip().isdigit()
    ]
    # Interpreter start-up (site) comes first; what follows it is ours.
    last_site = max((i for i, r in enumerate(rows) if r[2].strip() == "site"), default=-1)
    ours = rows[last_site + 1 :]
    total = next(int(r[1]) for r in ours if r[2].strip() == "publisher.resolve")
    top = sorted(((int(r[1]), r[2].strip()) for r in ours[:-1]), reverse=True)[:4]
    print(f"  import publisher.resolve (cumulative)                      {total / 1000:7.1f} ms")
    print("    largest: " + ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in top))


def resolve_latency(runs: int, timeout: float) -> None:
    with LocalRegistry() as registry:
        _resolve_latency(runs, timeout, registry)


def _resolve_latency(runs: int, timeout: float, registry: LocalRegistry) -> None:
    work = Path(tempfile.mkdtemp(prefix="resolve-bench-"))
    (work / "dockerfiles" / "8.4").mkdir(parents=True)
    stand_in = make_image(
        ("linux/amd64", "linux/arm64"), seed=2, labels={"dev.publisher.stand-in": "true"}
    )
    push_raw(registry.url, "bench-base/php", stand_in, ["8.4-fpm-alpine"])
    (work / "dockerfiles" / "8.4" / "Dockerfile").write_text(
        f"# STAND-IN\nARG PHP_BASE_IMAGE={registry.host}/bench-base/php:8.4-fpm-alpine\n"
        "FROM ${PHP_BASE_IMAGE}\n"
    )
    (work / "docker-config").mkdir()
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "DOCKER_CONFIG": str(work / "docker-config"),
        "PYTHONPATH": str(ROOT),
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": RELEASE,
        "RESOLVE_TIMEOUT": str(timeout),
    }
    baseline = [sys.executable, "-c", "pass"]
    figures(
        "python -c pass (interpreter start, for reference)",
        runs,
        lambda: timed(baseline, base_env, work),
    )
    path = f"bench-{uuid.uuid4().hex[:6]}/php-fpm"
    image = make_image(
        ("linux/amd64", "linux/arm64"), seed=1, labels={"dev.publisher.stand-in": "true"}
    )
    digest = push_raw(registry.url, path, image, [PIN])
    up = {**base_env, "PHP_IMAGE_REPOSITORY": f"{registry.host}/{path}"}
    print(f"registry answers ({registry.host}, STAND-IN index, {runs} runs each):")
    figures(
        "python -m publisher.resolve (tag: GET index + image)", runs, lambda: timed(LIGHT, up, work)
    )
    figures(
        "publisher resolve via click (tag: GET index + image)", runs, lambda: timed(CLICK, up, work)
    )
    pins_file = work / f"{RELEASE}.env"
    pins_file.write_text(pins.render(record(f"{registry.host}/{path}", digest, None)))
    pinned = {**base_env, "PHP_PINS_FILE": str(pins_file)}
    figures(
        "python -m publisher.resolve (pins: HEAD by digest)",
        runs,
        lambda: timed(LIGHT, pinned, work),
    )

    print(f"registry does not answer (timeout {timeout:g} s):")
    refused = {**base_env, "PHP_IMAGE_REPOSITORY": f"127.0.0.1:{free_port()}/bench/php-fpm"}
    figures("connection refused -> build-locally", runs, lambda: timed(LIGHT, refused, work))
    with silent_server() as host:
        silent = {**base_env, "PHP_IMAGE_REPOSITORY": f"{host}/bench/php-fpm"}
        figures(
            "silent server -> build-locally (bounded by the timeout)",
            max(3, runs // 4),
            lambda: timed(LIGHT, silent, work),
        )


def stack_start(runs: int) -> None:
    from publisher.adapters.output import Output
    from publisher.adapters.runner import Runner
    from publisher.core.platforms import Platform
    from publisher.stages import standins

    dockerfile = ROOT / "examples" / "offline" / "dockerfiles" / "8.4" / "Dockerfile"
    work = Path(tempfile.mkdtemp(prefix="stack-bench-"))
    (work / "docker-config").mkdir()
    (work / "docker-config" / "config.json").write_text("{}")
    name = f"stack-bench-{uuid.uuid4().hex[:6]}"
    with LocalRegistry() as registry:
        base = standins.push_standins(
            registry.host,
            runner=Runner(output=Output(env={}, quiet=True)),
            lines=("8.4",),
            platforms=(Platform.parse(HOST),),
        )["8.4"]
        path = f"bench-{uuid.uuid4().hex[:6]}/php-fpm"
        manifest = f"stack-bench-{uuid.uuid4().hex[:6]}"
        digest_file = work / "digest"
        subprocess.run(
            ["buildah", "build", "--isolation", "chroot", "--tls-verify=false", "--platform", HOST,
             "--manifest", manifest, "--build-arg", f"PHP_BASE_IMAGE={base}",
             "--build-arg", f"PUBLISHER_RELEASE={RELEASE}", "-f", str(dockerfile), str(dockerfile.parent)],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            ["buildah", "manifest", "push", "--all", "--tls-verify=false", "--digestfile", str(digest_file),
             manifest, f"docker://{registry.host}/{path}:{PIN}"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(["buildah", "manifest", "rm", manifest], capture_output=True, check=False)
        digest = digest_file.read_text().strip()
        prebuilt = f"{registry.host}/{path}@{digest}"
        pins_file = work / f"{RELEASE}.env"
        pins_file.write_text(pins.render(record(f"{registry.host}/{path}", digest, str(base))))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "DOCKER_CONFIG": str(work / "docker-config"),
            "DOCKER": DOCKER,
            "STACK_NAME": name,
            "PHP_PINS_FILE": str(pins_file),
            "PHP_DOCKERFILES": str(dockerfile.parent.parent),
        }
        start = [str(ROOT / "examples" / "stack" / "start.sh")]
        print(f"example stack, STAND-IN images, docker + compose v2, {runs} runs each:")
        subprocess.run(
            [DOCKER, "rmi", "-f", f"{registry.host}/{path}:{PIN}"], capture_output=True, check=False
        )
        seconds, code, _ = timed(start, env, work)
        print(
            f"  {'first start: pull the pre-built image, run':<58} {seconds * 1000:7.0f} ms   exit {code}"
        )
        figures(
            "start from the cached pre-built image (start.sh + compose up)",
            runs,
            lambda: timed(start, env, work),
        )
        local_tag = f"localhost/{path}:{PIN}"
        build = [DOCKER, "build", "--no-cache", "--platform", HOST, "--build-arg", f"PHP_BASE_IMAGE={base}",
                 "--build-arg", f"PUBLISHER_RELEASE={RELEASE}", "-t", local_tag, "-f", str(dockerfile),
                 str(dockerfile.parent)]  # fmt: skip
        run = [DOCKER, "run", "-d", "--name", f"{name}-local", local_tag]

        built: list[str] = []

        def build_and_run() -> tuple[float, int, str]:
            subprocess.run([DOCKER, "rm", "-f", f"{name}-local"], capture_output=True, check=False)
            iid = work / f"iid-{len(built)}"
            argv = [*build[:2], "--iidfile", str(iid), *build[2:]]
            began = time.perf_counter()
            first = subprocess.run(
                argv,
                env={**os.environ, "DOCKER_BUILDKIT": "1"},
                capture_output=True,
                text=True,
                check=False,
            )
            second = subprocess.run(run, capture_output=True, text=True, check=False)
            if iid.exists():
                built.append(iid.read_text().strip())
            return (
                time.perf_counter() - began,
                first.returncode or second.returncode,
                first.stderr[-300:],
            )

        figures(
            "local build (--no-cache) of the same Dockerfile + run",
            max(2, runs // 3),
            build_and_run,
        )
        for cmd in (
            [DOCKER, "compose", "--project-name", name, "down"],
            [DOCKER, "rm", "-f", f"{name}-local"],
            [DOCKER, "rmi", "-f", prebuilt, f"{registry.host}/{path}:{PIN}", local_tag, *built],
            ["buildah", "rmi", "-f", f"{registry.host}/{base.path}@{base.digest}"],
        ):
            subprocess.run(cmd, capture_output=True, check=False)
        # ``digest`` of the pre-built image, for the record:
        print(f"  (pre-built {prebuilt})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=2.0, help="RESOLVE_TIMEOUT for the runs")
    parser.add_argument("--stack", action="store_true", help="also time the example stack start")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {HOST}")
    import_time()
    resolve_latency(args.runs, args.timeout)
    if args.stack:
        stack_start(args.runs)


if __name__ == "__main__":
    main()
