"""A throwaway OCI registry on loopback, for rehearsals and tests.

Runs the CNCF distribution registry (Debian package ``docker-registry``, binary
``docker-registry``; upstream binary ``registry``) on a free 127.0.0.1 port with
storage in a temporary directory, and its own TMPDIR there (whatever it leaves goes with
it, a failed write in a full TMPDIR too), started through the runner. When no binary is installed, falls back to a
``registry:2`` container started through testcontainers.

Each start marks the registry's answers with a header of its own, so that a registry
never takes another's answers on its port for its own (another process can take a
picked port before the registry binds it); it then moves to another free port.

A run killed with SIGKILL cannot stop its registries: they outlive it. The next one
started stops them, removes the names buildah's store gives what was pulled from them
and their directories (``sweep_orphan``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import (
    NO_SPACE,
    BrokenToolError,
    FullFileSystemError,
    PublisherError,
    ToolMissingError,
    UnreachableError,
    out_of_room,
)
from ..core.fileio import make_temp_dir, read_prefix
from ..core.sizes import seconds
from .runner import Background, Runner

BINARIES = ("docker-registry", "registry")
BROKEN_BINARY_HINT = (
    "the throwaway registries run the CNCF distribution registry (`docker-registry serve "
    "CONFIG`): repair or reinstall it (`apt-get install docker-registry`), or put a working "
    "one first on PATH"
)

#: A registry's directory (``fileio.make_temp_dir``): its config, log, storage and pid.
REGISTRY_PREFIX = "publisher-registry-"
#: A throwaway registry's directory named in its answer ("filesystem: write PATH: no space
#: left on device"): where it keeps what is pushed to it.
_REGISTRY_DIR = re.compile(r"(/[^\s:'\"]*/" + re.escape(REGISTRY_PREFIX) + r"[^/\s:'\"]+)/")
CONFIG_FILE = "config.yml"
#: The registry's own TMPDIR, in its directory: removed with it, never left in publisher's.
SCRATCH_DIR = "tmp"
PID_FILE = "registry.pid"
#: Seconds an orphaned registry is given to exit after SIGTERM, before SIGKILL.
ORPHAN_GRACE = 5.0
#: The answer header that tells a registry started here from whatever else holds its port:
#: its value is new at every start.
OWN_HEADER = "X-Publisher-Registry"
#: How many free ports a registry tries when another process takes the one it picked
#: between the pick and the registry's own bind.
PORT_ATTEMPTS = 5


class _PortTaken(Exception):
    """Something else answers on (or holds) the port this registry was to serve on."""


def _serving_from(pid: int, config: Path) -> bool:
    """Is process ``pid`` a registry serving ``config`` (not exited, not another process
    that got its pid)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.fsencode(str(config)) in argv


def stop_orphan(root: Path) -> bool:
    """Stop the registry that a run killed with SIGKILL left serving from ``root``.

    True when none serves from it any more (then ``root`` may go); False when that
    cannot be told (no /proc): the directory stays."""
    try:
        pid = int(read_prefix(root / PID_FILE, 32).decode("ascii").strip())
    except (OSError, ValueError):
        return True  # no registry was started there
    if not Path("/proc/self/cmdline").exists():
        return False
    config = root / CONFIG_FILE
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not _serving_from(pid, config):
            return True
        with contextlib.suppress(OSError):
            os.kill(pid, signum)
        deadline = time.monotonic() + ORPHAN_GRACE
        while _serving_from(pid, config) and time.monotonic() < deadline:
            time.sleep(0.05)
    return not _serving_from(pid, config)


def _served_host(root: Path) -> str | None:
    """The loopback ``127.0.0.1:PORT`` the registry started from ``root`` was to serve
    on (its config), or None."""
    try:
        config = yaml.safe_load(read_prefix(root / CONFIG_FILE, 64 * 1024))
        addr = config["http"]["addr"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return None
    return addr if isinstance(addr, str) and re.fullmatch(r"127\.0\.0\.1:\d{1,5}", addr) else None


def _listening(host: str) -> bool:
    """Does a process (a live run's registry) hold ``host``'s port (``127.0.0.1:PORT``)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", int(host.rpartition(":")[2])))
        except (OSError, OverflowError):
            return True
    return False


def sweep_orphan(root: Path, runner: Runner) -> bool:
    """``stop_orphan``; then, once no process holds its port, the names buildah's store
    gives the images pulled from it are removed (``smoke.forget_gone_registry``): a run's
    registry holds its port from start to stop and the run removes them before it stops
    it, so names on that port now are the killed run's, never a live run's."""
    if not stop_orphan(root):
        return False
    host = _served_host(root)
    if host is not None and not _listening(host):
        from .smoke import forget_gone_registry  # buildah's, only when a run was killed

        forget_gone_registry(runner, host)
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary() -> str | None:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


class LocalRegistry:
    """One distribution registry process. Use as a context manager or call start/stop.

    ``extra_config`` is merged into the registry's YAML configuration, e.g.
    ``{"auth": {"htpasswd": {...}}}``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        extra_config: Mapping[str, Any] | None = None,
        storage: str | Path | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.port = port or free_port()
        #: Whether the port was picked here (and another may be picked when it is taken).
        self._picked = port is None
        self.extra_config = dict(extra_config or {})
        self._mark = ""
        self._root: Path | None = None
        self._storage = Path(storage) if storage else None
        self._runner = runner or Runner()
        self._proc: Background | None = None
        self._container: Any = None
        self.log_path: Path | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def directory(self) -> Path | None:
        """Where it keeps its config, log and (by default) storage, while it runs."""
        return self._root

    def config_dict(self, storage: Path) -> dict[str, Any]:
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            "http": {"addr": self.host, "secret": "local-rehearsal-only"},
        }
        extra = dict(self.extra_config)
        http = {**config["http"], **extra.pop("http", {})}
        http["headers"] = {**http.get("headers", {}), OWN_HEADER: [self._mark]}
        config.update(extra, http=http)
        return config

    def _movable(self) -> bool:
        """May another port be picked? Not when the caller chose it, or its address."""
        return self._picked and "addr" not in self.extra_config.get("http", {})

    def start(self, timeout: float = 20.0) -> LocalRegistry:
        binary = find_binary()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._start_once(binary, timeout)
                return self
            except _PortTaken as taken:
                if attempt == PORT_ATTEMPTS or not self._movable():
                    raise ToolMissingError(
                        f"cannot start the throwaway registry on {self.host}: {taken}",
                        hint="stop what holds that port, or let the registry pick a free one",
                    ) from None
                self.port = free_port()
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self, binary: str | None, timeout: float) -> None:
        self._mark = secrets.token_hex(8)
        self._root = root = make_temp_dir(
            REGISTRY_PREFIX, before=lambda orphan: sweep_orphan(orphan, self._runner)
        )
        try:
            storage = self._storage or root / "storage"
            storage.mkdir(parents=True, exist_ok=True)
            if binary:
                config = self.config_dict(storage)
                config_path = root / CONFIG_FILE
                config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
                self.log_path = root / "registry.log"
                scratch = root / SCRATCH_DIR  # its temporary files go with it, however it fails
                scratch.mkdir()
                self._proc = self._runner.start(
                    [binary, "serve", str(config_path)],
                    log=self.log_path,
                    env={"TMPDIR": str(scratch)},
                    what="local registry",
                )
                (root / PID_FILE).write_text(f"{self._proc.process.pid}\n", encoding="ascii")
                self._wait(timeout, tls="tls" in config["http"])
            else:
                self._start_container()
                self._wait(timeout, tls=False)
        except BaseException:  # an interrupt while it starts: the caller never gets it to stop
            self.stop()
            raise

    def _start_container(self) -> None:
        try:
            from testcontainers.core.container import DockerContainer
        except ImportError:
            raise ToolMissingError(
                "no registry available: neither the distribution binary nor testcontainers",
                hint=(
                    "apt-get install docker-registry (testcontainers works too, but only where"
                    " docker can pull registry:2 and testcontainers/ryuk from Docker Hub)"
                ),
            ) from None
        if self.extra_config:
            raise ToolMissingError(
                "a registry with custom configuration needs the distribution binary",
                hint="apt-get install docker-registry",
            )
        container = DockerContainer("registry:2").with_bind_ports(5000, self.port)
        try:
            container.start()
        except Exception as exc:  # docker SDK errors vary by version
            raise ToolMissingError(
                f"cannot start a registry:2 container: {exc}",
                hint=(
                    "install the registry binary (`apt-get install docker-registry`); the"
                    " container needs a running docker that can pull registry:2 and"
                    " testcontainers/ryuk from Docker Hub"
                ),
            ) from None
        self._container = container

    def _wait(self, timeout: float, *, tls: bool) -> None:
        url = f"{'https' if tls else 'http'}://{self.host}/v2/"
        context = None
        if tls:  # the probe asks only whether this registry is up, never for content
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # Direct, whatever HTTP_PROXY or NO_PROXY say: a loopback registry is never proxied
        # (urlopen would send the probe to the proxy, which cannot reach this loopback).
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.exited():
                said, binary = self.log_tail().strip(), self._proc.argv[0]
                if "address already in use" in said:
                    raise _PortTaken("another process holds the port")
                raise BrokenToolError(
                    f"the throwaway registry ({binary}) exited at start"
                    + (f": {said}" if said else " and said nothing"),
                    hint=BROKEN_BINARY_HINT,
                )
            try:
                with opener.open(url, timeout=1) as answer:
                    headers = answer.headers
            except urllib.error.HTTPError as refused:  # 401 with auth configured: it is up
                headers = refused.headers
            except OSError:
                time.sleep(0.05)
                continue
            if self._proc is None or headers.get(OWN_HEADER) == self._mark:
                return
            # Another registry answers on the port this one was to take: this one
            # cannot bind it, and talking to the other would read someone else's content.
            raise _PortTaken("another registry answers there")
        said = self.log_tail().strip()
        running = self._proc.argv[0] if self._proc is not None else None
        self.stop()
        if running is not None:  # the binary runs, but never answers
            raise BrokenToolError(
                f"the throwaway registry ({running}) did not answer on "
                f"{self.url} within {seconds(timeout, 0)}" + (f": {said}" if said else ""),
                hint=BROKEN_BINARY_HINT,
            )
        raise UnreachableError(
            f"the registry:2 container did not answer on {self.url} within {seconds(timeout, 0)}",
            registry=self.host,
            hint=f"check that nothing else holds port {self.port} and that docker publishes "
            "ports on 127.0.0.1; or install the distribution binary (`apt-get install "
            "docker-registry`), which is used when present",
        )

    def log_tail(self, limit: int = 2000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-limit:]
        return ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop(timeout=10)
            self._proc = None
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.stop()
            self._container = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[LocalRegistry]:
    registry = LocalRegistry(**kwargs)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


def full_registry_dir(exc: PublisherError) -> Path | None:
    """The directory of the throwaway registry that ``exc`` says ran out of room: its
    answer names the file it could not write there (``REGISTRY_PREFIX``, under TMPDIR)
    and "no space left on device". None for any other error, or one naming no such
    directory (a copy names the registry it reads from too: only its answer's path tells
    which one was full)."""
    if NO_SPACE not in exc.message.lower():
        return None
    named = _REGISTRY_DIR.search(exc.message)
    return Path(named.group(1)) if named else None


def out_of_room_under(exc: PublisherError, who: str) -> FullFileSystemError | None:
    """``exc`` (a push, a copy: the registry kept answering 500) as the full file system
    it says: a throwaway registry's answer naming its directory (``REGISTRY_PREFIX``,
    under TMPDIR) and "no space left on device". Said as a full TMPDIR (exit 18), as the
    README's rule for rehearsals has it, never as a registry out of reach; ``who``: the
    registry in words. None for any other error."""
    named = full_registry_dir(exc)
    if named is None:
        return None
    return out_of_room(
        who,
        named.parent,
        "the throwaway registries keep every image the rehearsal pushes",
        exc.message,
        needs="a rehearsal of every line keeps each image on each registry until it ends",
    )
