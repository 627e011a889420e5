"""A throwaway registry outlives a run killed with SIGKILL; the next run stops it.

Real processes: a Python process starts a registry (as a rehearsal does) and kills
itself with SIGKILL; its registry keeps serving. The next process that starts a
registry stops that one and removes its directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from publisher.adapters import localregistry
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core.errors import ToolMissingError
from tests.conftest import require_tool
from tests.support.connectproxy import ConnectProxy

pytestmark = pytest.mark.integration

KILLED = """
import os, signal
from publisher.adapters.localregistry import LocalRegistry
registry = LocalRegistry().start()
print(registry.host, registry.log_path.parent, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

INTERRUPTED = """
import signal
from publisher.adapters.localregistry import LocalRegistry
def interrupt(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 1.0)
try:
    LocalRegistry().start()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""

NEXT = """
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
with LocalRegistry(runner=Runner(output=Output(env={}))) as registry:
    print(registry.host, flush=True)
"""


def answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=2):
            return True
    except OSError:
        return False


def run(code: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_registry_a_killed_run_left_serving_is_stopped_by_the_next_run(tmp_path: Path) -> None:
    require_tool("docker-registry", "registry")
    killed = run(KILLED, tmp_path)
    assert killed.returncode == -9, killed.stderr
    host, root = killed.stdout.split()
    try:
        assert answers(host), "a registry outlives the run killed with SIGKILL"
        assert Path(root).is_dir()
        following = run(NEXT, tmp_path)
        assert following.returncode == 0, following.stderr
        assert not answers(host)
        assert not Path(root).exists()
        assert list(tmp_path.iterdir()) == []
    finally:
        if answers(host):  # stop the registry this test started, should the fix fail
            (config,) = Path(root).glob("config.y*ml")
            for pid in os.listdir("/proc"):
                with contextlib.suppress(OSError):
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if os.fsencode(str(config)) in argv:
                        os.kill(int(pid), 9)


def test_a_registry_interrupted_while_it_starts_is_stopped_and_removed(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) while a throwaway registry starts, before ``start`` returns
    it to be stopped later: it is stopped there, and its directory removed."""
    real = require_tool("docker-registry", "registry")
    slow = tmp_path / "bin"
    slow.mkdir()
    wrapper = slow / Path(real).name
    wrapper.write_text(f'#!/bin/sh\nsleep 3\nexec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    work = tmp_path / "tmp"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "PATH": f"{slow}{os.pathsep}{os.environ['PATH']}"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", INTERRUPTED], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.stdout.strip() == "interrupted", done.stderr
        assert _serving_from(work) == [], "the registry outlives the interrupted start"
        assert list(work.iterdir()) == []
    finally:
        for pid in _serving_from(work):  # should the fix fail: stop what this test started
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def _serving_from(directory: Path) -> list[int]:
    """The processes whose command line names a file under ``directory``."""
    found = []
    for pid in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if any(os.fsencode(str(directory)) in arg for arg in argv):
                found.append(int(pid))
    return found


def _catalog(registry: LocalRegistry) -> list[str]:
    with urllib.request.urlopen(f"{registry.url}/v2/_catalog", timeout=5) as answer:
        return list(json.load(answer)["repositories"])


def _holds(registry: LocalRegistry, blob: str) -> bool:
    ask = urllib.request.Request(f"{registry.url}/v2/theirs/blobs/{blob}", method="HEAD")
    try:
        with urllib.request.urlopen(ask, timeout=5):
            return True
    except urllib.error.HTTPError as answer:
        assert answer.code == 404
        return False


def _picking(monkeypatch: pytest.MonkeyPatch, first: int) -> None:
    """The next port picked is ``first`` (as when another process takes the port between
    the pick and the registry's own bind), then free ones."""
    picks = iter([first])
    real = localregistry.free_port
    monkeypatch.setattr(localregistry, "free_port", lambda: next(picks, None) or real())


def test_a_registry_whose_port_another_registry_took_serves_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another test suite's registry takes the port this one picked: this one must not
    take the other's answers for its own (and read its content), but move on."""
    require_tool("docker-registry", "registry")
    with LocalRegistry() as other:
        blob = b"someone else's content"
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        start = urllib.request.Request(f"{other.url}/v2/theirs/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=5) as started:
            session = started.headers["Location"]
        finish = urllib.request.Request(
            f"{session}&digest={digest}",
            data=blob,
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(finish, timeout=5):
            pass
        assert _holds(other, digest)
        _picking(monkeypatch, other.port)
        with LocalRegistry() as mine:
            assert mine.port != other.port
            assert not _holds(mine, digest)
            assert _holds(other, digest)


def test_a_registry_whose_port_another_process_holds_serves_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_tool("docker-registry", "registry")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        _picking(monkeypatch, held)
        with LocalRegistry() as mine:
            assert mine.port != held
            assert _catalog(mine) == []


def test_a_registry_given_a_port_another_registry_answers_on_is_refused() -> None:
    require_tool("docker-registry", "registry")
    with LocalRegistry() as other:
        with pytest.raises(ToolMissingError, match="another registry answers there"):
            LocalRegistry(port=other.port).start()
        assert _catalog(other) == []


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
def test_a_registry_starts_whatever_proxy_the_environment_names(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loopback registry is always reached directly: its readiness checks go neither
    to a proxy that is down nor to one that answers for it (as a corporate proxy does,
    407 here), with NO_PROXY unset, as a rehearsal starts it."""
    require_tool("docker-registry", "registry")
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        monkeypatch.setenv(variable, f"http://127.0.0.1:{dead.getsockname()[1]}")
        with LocalRegistry(runner=Runner(output=Output(env={}))) as registry:
            assert _catalog_direct(registry) == []
    with ConnectProxy({}, credentials="corp:s3cret") as proxy:
        monkeypatch.setenv(variable, proxy.url())
        with LocalRegistry(runner=Runner(output=Output(env={}))) as registry:
            assert _catalog_direct(registry) == []
        assert proxy.requests == []


def _catalog_direct(registry: LocalRegistry) -> list[str]:
    """The catalog of ``registry``, asked without any proxy."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(f"{registry.url}/v2/_catalog", timeout=5) as answer:
        return list(json.load(answer)["repositories"])


#: A rehearsal (argv: a seed for its images' content) killed with SIGKILL after a build
#: pulled its stand-in base from its throwaway registry and while a smoke test runs the
#: image it pushed there (the smoke test's hold, mark, container and lock all made by
#: the smoke tester itself): prints its registry's host, then kills itself.
KILLED_REHEARSAL = """
import os, random, signal, subprocess, sys
from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.runner import Runner
from publisher.adapters.smoke import Engine, SmokeTester
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from tests.support.images import make_platform_image, push_raw


class Killed(Runner):
    def run(self, argv, **options):
        args = [str(a) for a in argv]
        # The smoke test's first command in its container: ``buildah run`` (as root, within
        # an ``unshare --pid`` of its own).
        if any(a.endswith("buildah") and b == "run" for a, b in zip(args, args[1:])):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().run(argv, **options)


registry = LocalRegistry().start()
rng = random.Random(sys.argv[1])
base = push_raw(registry.url, "stand-in/php", make_platform_image("linux/amd64", rng=rng))
built = push_raw(registry.url, "acme/php-fpm", make_platform_image("linux/amd64", rng=rng))
subprocess.run(
    ["buildah", "pull", "-q", "--tls-verify=false", f"{registry.host}/stand-in/php@{base}"],
    check=True,
    stdout=subprocess.DEVNULL,
)
print(registry.host, base, built, flush=True)
SmokeTester(Killed(), Engine.BUILDAH).test(
    Reference(registry.host, "acme/php-fpm", None, built),
    Platform.AMD64,
    php_line="8.4",
    extensions=(),
    plain_http=True,
)
"""


def _buildah_names() -> dict[str, list[str]]:
    """Each image's names in buildah's store, by image ID."""
    for _ in range(10):  # a listing fails now and then while other buildah runs change it
        listed = subprocess.run(
            ["buildah", "images", "--json"], capture_output=True, text=True, check=False
        )
        if listed.returncode == 0:
            return {i["id"]: i.get("names") or [] for i in json.loads(listed.stdout or "[]")}
    raise AssertionError(listed.stderr)


def _named_on(host: str) -> list[str]:
    return sorted(n for names in _buildah_names().values() for n in names if n.startswith(host))


def test_the_next_run_removes_the_image_names_a_killed_rehearsal_left_and_none_of_a_live_one(
    tmp_path: Path,
) -> None:
    """A rehearsal killed with SIGKILL leaves, besides its registry, the names buildah's
    store gives what it pulled from that registry (a build's stand-in base, the image a
    smoke test runs, with its container and the smoke test's hold and mark in the cache):
    they name a registry gone, on a port no later run will have. The next run removes
    them all, untagging only: an image a live run also names keeps that name, and what
    is named after a live run's registry stays."""
    require_tool("docker-registry", "registry")
    require_tool("buildah")
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "PUBLISHER_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    (tmp_path / "tmp").mkdir()
    seed = os.urandom(8).hex()  # content of this test's own, shared with no other run
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_REHEARSAL, seed],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    host, base, built = killed.stdout.split()
    dead = {f"{host}/stand-in/php@{base}", f"{host}/acme/php-fpm@{built}"}
    cache = tmp_path / "cache"
    live = LocalRegistry().start()  # a run still going, its registry up
    shared = f"{live.host}/stand-in/php:live"
    try:
        assert set(_named_on(f"{host}/")) == dead
        assert len(_cache_files(cache)) == 3  # the smoke test's hold, mark, container lock
        # The live run names the same content after its own registry: one image, two names.
        (image,) = [
            i for i, names in _buildah_names().items() if f"{host}/stand-in/php@{base}" in names
        ]
        _buildah("tag", image, shared)

        following = subprocess.run(
            [sys.executable, "-c", NEXT], env=env, capture_output=True, text=True, timeout=300
        )
        assert following.returncode == 0, following.stderr
        said = following.stdout + following.stderr
        assert _named_on(f"{host}/") == [], said
        assert _buildah_names()[image] == [shared]
        assert _cache_files(cache) == []
        assert list((tmp_path / "tmp").glob("publisher-registry-*")) == []
        assert "removed 2 image names on " in said and "1 smoke-test container" in said, said
    finally:
        live.stop()
        for lock in cache.glob("smoke-containers/buildah-*.lock"):
            name = lock.name.removeprefix("buildah-").removesuffix(".lock")
            subprocess.run(["buildah", "rm", name], capture_output=True, check=False)
        for name in [*dead, shared]:  # should the fix fail: what this test made
            subprocess.run(["buildah", "rmi", name], capture_output=True, check=False)
        for pid in _serving_from(tmp_path / "tmp"):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def _buildah(*argv: str) -> None:
    done = subprocess.run(["buildah", *argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _cache_files(cache: Path) -> list[str]:
    """The smoke tests' files in ``cache`` (holds, marks, container locks)."""
    return sorted(str(p.relative_to(cache)) for p in cache.glob("smoke-*/*"))


def test_a_registry_s_temporary_files_go_in_its_own_directory_and_go_with_it() -> None:
    """The registry's TMPDIR is a directory of its own, in its directory: what it leaves
    there (a write that failed in a full TMPDIR) is removed when it stops, never left in
    publisher's TMPDIR."""
    require_tool("docker-registry", "registry")
    with LocalRegistry() as registry:
        assert registry.directory is not None and registry._proc is not None
        environ = Path(f"/proc/{registry._proc.process.pid}/environ").read_bytes().split(b"\0")
        given = [v.decode()[len("TMPDIR=") :] for v in environ if v.startswith(b"TMPDIR=")]
        assert len(given) == 1 and Path(given[0]).parent == registry.directory, given
        assert Path(given[0]).is_dir()
        directory = registry.directory
    assert not directory.exists()
