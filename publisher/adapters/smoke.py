"""Smoke-test a platform image BY DIGEST, under QEMU when it is foreign.

Two engines run the image straight from the registry:

* buildah: ``buildah from --arch A docker://REPO@DIGEST`` then ``buildah run
  --isolation chroot`` three times: the probe script stored, the server started and
  probed (chroot isolation shares the host network, so starts are serialized within a
  process, and a start finding the server's port taken on the host says so,
  ``PORT_TAKEN``), and every check in one shell (``smoke_rules.checks_script``: each
  check's output, stderr and exit status framed apart); each in a PID namespace of its
  own for root (``PID_NAMESPACE``), so that nothing the image started outlives it;
* docker: ``docker run -d --platform P REPO@DIGEST`` (its own entrypoint and
  command), then ``docker exec`` for every check (``docker run --rm`` of the image,
  once its server has exited: the checks still say what they found).

The image passes when it starts (its HEALTHCHECK command succeeds, and its server
still runs ``STAYS_UP`` seconds, or ``PUBLISHER_SMOKE_STAY_UP``, after it started), php-fpm answers a real FastCGI
request running a probe script that exercises every configured extension, ``php -v``
reports the expected line, ``php-fpm -t`` passes, ``php -m`` lists every configured
extension, none of them reports a PHP startup error, and the image's programs run as
its platform's machine (``smoke_rules.MACHINE_CHECK``: an arm64 image of amd64
binaries runs natively, without QEMU) (rules and the probe script in ``smoke_rules``). With docker the request comes from
publisher's own FastCGI client (``fastcgi.py``) to the container's address; with
buildah (chroot isolation, the host's network) the start script sends it with the
image's ``cgi-fcgi``, the tool its HEALTHCHECK uses, which reaches a pool on 127.0.0.1
as well: both engines read the server's sockets (``PROC_NET``) so that a pool the
stack's web server could not reach fails either way. Busybox stand-ins, whose
``php -v`` says they are not PHP, run no script: their answer to the probe is
not judged.

Pulls use the registry credentials configured for the image's registry (matrix.yaml's
variables, else the docker config): a throwaway ``DOCKER_CONFIG`` or buildah auth
file, logged in with the password on stdin, removed afterwards.
Containers are removed afterwards, pass or fail, and also when the run is interrupted:
those removals are ``Runner.cleanup`` commands, which run to completion (bounded) while
publisher stops. The image goes too when a smoke test pulled it, once no other smoke test
on the machine uses it (``ImageHold``); one that was in the image store before is kept.
A run killed with SIGKILL cannot remove its container: the next smoke test does
(``ContainerLock``, ``sweep_containers``).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import functools
import hashlib
import json
import os
import re
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core import smoke_rules
from ..core.config import Config
from ..core.errors import BrokenToolError, CommandError, SmokeTestError, ToolMissingError
from ..core.fileio import (
    CACHE_SMOKE_CONTAINERS,
    CACHE_SMOKE_IMAGES,
    cache_root,
    can_flock,
    counted,
    flock,
    lock_in_place,
    locked_file,
    same_file,
    temp_dir,
)
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import Locations
from ..core.platforms import BuilderName, Platform
from ..core.reference import Reference
from ..core.sizes import seconds
from ..resolve import PORT_MAX, is_loopback, small_number
from . import fastcgi, stop
from .builders import dockercli
from .builders.base import (
    Login,
    log_in,
)
from .builders.buildah import (
    LIST_ATTEMPTS,
    BuildahBuilder,
    forget_registry,
    local_engine,
    run_buildah,
    scratch,
)
from .emulation import QEMU_CPU, foreign_hint, require_emulation
from .runner import INSTALL_HINTS, Completed, Runner, format_argv, limit_met

#: The throwaway buildah auth files of the smoke tests (``fileio.temp_dir``).
SMOKE_AUTH_PREFIX = "publisher-smoke-auth-"

DEFAULT_START_TIMEOUT = 30.0
#: Seconds between start checks, and how long a server without HEALTHCHECK must stay up.
POLL = 0.25
ALIVE_WITHOUT_HEALTHCHECK = 1.0
#: How long after its start the server must still be running, once healthy and probed,
#: by default (``smoke_rules.stay_up``: ``PUBLISHER_SMOKE_STAY_UP``): the wait is what is
#: left of it after the start, the probe and (docker) the checks.
STAYS_UP = smoke_rules.STAYS_UP
EXEC_TIMEOUT = 300.0
#: How many times a ``buildah run`` that exits 0 with no output at all is tried (it
#: does so now and then under load; five such flakes in a row are not to be expected,
#: so nothing every time is what the image prints), and the pause before the second
#: try (longer by as much before each later one: 0.5 + 1 + 1.5 + 2 seconds in all).
EMPTY_RUN_TRIES = 5
EMPTY_RUN_PAUSE = 0.5
SERVER_LOG = "/tmp/publisher-smoke-server.log"

#: chroot isolation shares the host network: one server start at a time.
_HOST_NETWORK = threading.Lock()
#: How long a buildah smoke test waits for another process's server on its port (whose
#: own timeouts bound it) before it goes on, for its start script to say who holds it.
PORT_TURN_WAIT = 600.0


@contextlib.contextmanager
def port_turn(
    port: int,
    waiting: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
    wait: float = PORT_TURN_WAIT,
) -> Iterator[None]:
    """Take turns on TCP ``port`` with the buildah smoke tests of every other process in
    this network namespace (chroot isolation runs each server on the host's network):
    the turn is an abstract unix socket named after the port, bound while the block runs,
    which belongs to this network namespace alone and goes with the process however it
    ends. ``waiting`` is called once before waiting. A socket that cannot be made, or a
    wait past ``wait`` seconds, goes on without a turn: the start script then refuses a
    port taken, naming who holds it."""
    turn = None
    with contextlib.suppress(OSError):
        turn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + wait
    said = False
    try:
        while turn is not None:
            try:
                turn.bind(f"\0publisher-smoke-port-{port}")
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                    break
            if not said:
                waiting()
                said = True
            sleep(POLL)
        yield
    finally:
        if turn is not None:
            turn.close()


class Engine(enum.StrEnum):
    BUILDAH = "buildah"
    DOCKER = "docker"


@dataclass(frozen=True)
class SmokeResult:
    image: Reference
    platform: Platform
    engine: Engine
    php_version: str
    modules: tuple[str, ...]
    seconds: float
    #: What the smoke test checked, in one line (``smoke_rules.passed_words``).
    checked: str = ""


# ----------------------------------------------------------------- pure helpers


def health_command(healthcheck: dict[str, Any] | None) -> list[str] | None:
    """The argv of an image HEALTHCHECK (``CMD`` / ``CMD-SHELL``); None when there is none."""
    test = list((healthcheck or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return [str(t) for t in test[1:]] or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", str(test[1])] if len(test) > 1 else None
    return [str(t) for t in test]


def server_command(config: dict[str, Any], image: str) -> list[str]:
    """What the image runs when started: entrypoint + command. ``image`` names it (with its
    platform) in the error of one that has neither, as every smoke test defect is named."""
    argv = [str(a) for a in (config.get("Entrypoint") or []) + (config.get("Cmd") or [])]
    if not argv:
        raise SmokeTestError(
            f"{image}: the image has neither ENTRYPOINT nor CMD, so it cannot start",
            hint='check the base image (it should provide CMD ["php-fpm"]) and any ENTRYPOINT '
            "or CMD the Dockerfile template sets",
        )
    return argv


PROBE_BEGIN = "publisher-smoke: FastCGI answer follows"
PROBE_END = "publisher-smoke: FastCGI request exit status"
#: The start script's line when the server exited once healthy, before it stayed up.
STOPPED = "publisher-smoke: the server stopped after"
NET_BEGIN = "publisher-smoke: listening sockets follow"
NET_END = "publisher-smoke: end of listening sockets"
#: The server's sockets (``smoke_rules.loopback_only`` reads them).
PROC_NET = ["cat", "/proc/net/tcp", "/proc/net/tcp6"]
#: The start script's line when something listened on the server's port before it
#: started (buildah: the host's network), followed by the port.
PORT_TAKEN = "publisher-smoke: something listens on the port already:"
#: ``unshare``'s options that run a ``buildah run`` in a PID namespace of its own, whose
#: first process buildah is: when it exits, or ``unshare`` is killed, the kernel ends
#: every process the image started, a server that went into the background included.
PID_NAMESPACE = ["--pid", "--fork", "--kill-child"]


def cgi_fcgi_command(port: int = 9000) -> str:
    """The probe request as the image's own ``cgi-fcgi`` sends it (buildah engine)."""
    params = smoke_rules.probe_params(port)
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in params.items())
    return f"env {assignments} cgi-fcgi -bind -connect 127.0.0.1:{port}"


def start_script(
    health: list[str] | None,
    timeout: float,
    probe: str | None = None,
    port: int | None = None,
    stays_up: float = STAYS_UP,
) -> str:
    """A POSIX sh script: start ``"$@"`` in the background, its output appended to
    ``SERVER_LOG`` (php-fpm's ``error_log = /proc/self/fd/2`` opens that file anew, and
    keeps its lines whole only there), wait until healthy, stop it.

    With ``port``, it first refuses (``PORT_TAKEN`` and the port, exit 1) when a socket
    listens on that TCP port already (buildah: the host's network), starting nothing.
    It polls every ``POLL`` seconds for up to ``timeout`` seconds. Without a
    health check, staying alive for ``ALIVE_WITHOUT_HEALTHCHECK`` seconds is enough.
    Once healthy it prints the sockets (``PROC_NET``) between ``NET_BEGIN`` and
    ``NET_END``, runs ``probe`` (a shell command) and prints its output between
    ``PROBE_BEGIN`` and ``PROBE_END <status>``; then it checks every ``POLL`` seconds
    that the server still runs, until ``stays_up`` seconds after its start (``STOPPED``
    and the server's output when it does not), before stopping it.
    """
    polls = max(1, int(timeout / POLL))
    alive = max(1, int(ALIVE_WITHOUT_HEALTHCHECK / POLL))
    stay = max(1, int(stays_up / POLL))
    quarter = int(1 / POLL)
    check = f"{shlex.join(health)} >/dev/null 2>&1" if health else f'[ "$i" -ge {alive} ]'
    then = '    echo "publisher-smoke: healthy after $i checks"; '
    then += f'echo "{NET_BEGIN}"; {shlex.join(PROC_NET)} 2>/dev/null; echo "{NET_END}"; '
    if probe:
        then += f'echo "{PROBE_BEGIN}"; {probe} 2>&1; s=$?; echo; echo "{PROBE_END} $s"; '
    then += (
        f'while [ "$i" -lt {stay} ]; do sleep {POLL} 2>/dev/null || sleep 1; i=$((i+1)); '
        'if ! kill -0 "$pid" 2>/dev/null; then '
        f'echo "{STOPPED} $((i/{quarter})) s"; cat "$log"; exit 0; fi; done; '
    )
    taken = []
    if port is not None:  # /proc/net/tcp lines: "N: LOCAL_HEX:PORT_HEX REMOTE_HEX:PORT_HEX 0A"
        listening = f"^ *[0-9]+: [0-9A-F]+:{port:04X} [0-9A-F]+:[0-9A-F]+ 0A "
        taken = [
            f"if grep -Eq {shlex.quote(listening)} /proc/net/tcp /proc/net/tcp6 2>/dev/null; "
            f'then echo "{PORT_TAKEN} {port}"; exit 1; fi'
        ]
    return "\n".join(
        [
            *taken,
            # appended to: a server reopening /proc/self/fd/2 (php-fpm's error_log) writes
            # at its own offset, which a later write to fd 2 would otherwise write over
            f'log={SERVER_LOG}; : >"$log"; "$@" >>"$log" 2>&1 &',
            "pid=$!; i=0",
            f'while [ "$i" -lt {polls} ]; do',
            f"  sleep {POLL} 2>/dev/null || sleep 1; i=$((i+1))",
            '  if ! kill -0 "$pid" 2>/dev/null; then',
            '    echo "publisher-smoke: the server exited"; cat "$log"; exit 1',
            "  fi",
            f"  if {check}; then",
            then + 'kill "$pid"; wait "$pid"; exit 0',
            "  fi",
            "done",
            f'echo "publisher-smoke: not healthy within {seconds(timeout)}"; cat "$log"; kill "$pid"; exit 1',
        ]
    )


def probe_from_start_output(output: str, port: int = 9000) -> tuple[tuple[int, str] | None, str]:
    """The probe answer the start script printed (sent to ``port``): ((status, body), "")
    or (None, why)."""
    begin = output.find(PROBE_BEGIN)
    end = output.rfind(PROBE_END)
    if begin < 0 or end < begin:
        return None, "the start script sent no FastCGI request"
    answer = output[begin + len(PROBE_BEGIN) : end].strip("\n")
    status = output[end + len(PROBE_END) :].strip().split()[:1]
    if answer.lstrip().startswith("Could not connect"):  # cgi-fcgi: nothing listens there
        return None, not_connected(port, answer.strip()[-200:])
    if status != ["0"]:
        return None, f"cgi-fcgi failed ({answer.strip()[-200:] or 'no output'})"
    try:
        response = fastcgi.parse_cgi_response(answer.encode("utf-8", "surrogateescape"))
    except fastcgi.FastCgiError as exc:
        return None, f"{exc}: {answer.strip()[:200] or 'no output'}"
    return (response.status, response.body.decode("utf-8", "replace")), ""


def not_connected(port: int, said: str) -> str:
    """Why no probe was sent: nothing accepted a connection to ``port``."""
    return (
        f"no connection could be made to port {port}: is php-fpm listening elsewhere "
        f"(a unix socket, another port)? The stack's web server sends to port {port} ({said})"
    )


def stopped_from_start_output(output: str) -> str:
    """Why the server did not stay up once healthy, from the start script's ``STOPPED``
    line and the server's output after it ("" when it stayed up)."""
    at = output.rfind(STOPPED)
    if at < 0:
        return ""
    line, _, log = output[at + len(STOPPED) :].partition("\n")
    tail = " | ".join(log.strip().splitlines()[-5:]) or "no output"
    return f"the server exited {line.strip()} after it started, having answered its health check ({tail})"


def port_holders(port: int, proc: Path = Path("/proc")) -> list[str]:
    """The programs listening on TCP ``port`` in this process's network namespace (the
    host's, which a buildah smoke test's server shares), as ``COMMAND (pid N)``; those this
    user may not look into are left out."""
    inodes: set[str] = set()
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (proc / "net" / name).read_text().splitlines():
                fields = line.split()
                local = fields[1].rpartition(":")[2] if len(fields) > 9 else ""
                if fields[3:4] == ["0A"] and local.upper() == f"{port:04X}":
                    inodes.add(f"socket:[{fields[9]}]")
    found: list[str] = []
    for entry in sorted(proc.iterdir(), key=lambda e: e.name) if inodes else ():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(_link(fd) in inodes for fd in (entry / "fd").iterdir()):
                words = (entry / "cmdline").read_bytes().split(b"\0")
                command = b" ".join(words).decode("utf-8", "replace").strip()
                found.append(f"{command[:120] or entry.name} (pid {entry.name})")
    return found


def _link(fd: Path) -> str:
    """Where an open file ``fd`` of /proc/PID/fd points; "" for one closed since the folder
    was listed (a busy process opens and closes files all the time: its other files, the
    listening socket among them, are still read)."""
    try:
        return os.readlink(fd)
    except OSError:
        return ""


def port_taken_error(image: str, port: int, holders: list[str], others: str) -> CommandError:
    """The buildah smoke test of ``image`` cannot start its server: something else listens
    on ``port`` on the host (``holders``: who, when this user can see it). ``others``: the
    builders whose smoke tests run with docker that are installed here, as a tip offers
    them (``dockercli.installed_builders``), or ""."""
    who = "; ".join(holders) or "a program this user cannot see"
    instead = (
        f"; or use {others}, whose smoke tests run each image in a network of its own"
        if others
        else ""
    )
    return CommandError(
        f"{image}: port {port} on this machine is in use already, before the smoke test "
        f"started the image's server ({who}): buildah's smoke test runs the server on the "
        "host's network, so it could not listen there; nothing was found wrong with the image",
        hint=f"stop what listens on port {port} (`ss -ltnp 'sport = :{port}'` names it; a "
        f"php-fpm left running by some earlier test?) and run again{instead}",
    )


def _in_the_image(
    runner: Runner,
    argv: list[str],
    what: str,
    *,
    timeout: float,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """A check run in the image (``argv``: the engine's command), failing or not; one that
    failed for a limit of the machine its output names (``limit_met``: threads and
    processes; buildah refusing a container's open-files limit) raises that error: every
    image would fail it alike, and nothing is wrong with this one."""
    result = runner.run(argv, env=env, check=False, timeout=timeout, stdin=stdin, what=what)
    if not result.ok:
        limited = limit_met(result, what, runner.output.redact)
        if limited is not None:
            raise limited
    return result


def proc_net_from_start_output(output: str) -> str:
    """The sockets the start script printed ("" when it printed none)."""
    begin = output.find(NET_BEGIN)
    end = output.find(NET_END, begin + 1)
    return output[begin + len(NET_BEGIN) : end] if 0 <= begin < end else ""


def buildah_from_argv(
    image: Reference,
    platform: Platform,
    name: str,
    *,
    plain_http: bool,
    buildah: str = "buildah",
    authfile: str | None = None,
) -> list[str]:
    argv = [
        buildah,
        "from",
        "--name",
        name,
        "--os",
        platform.os,
        "--arch",
        platform.arch,
        f"--tls-verify={'false' if plain_http else 'true'}",
    ]
    if authfile:
        argv += ["--authfile", authfile]
    return [*argv, f"docker://{image}"]


def login_argv(
    engine: Engine,
    host: str,
    username: str,
    *,
    tool: str,
    plain_http: bool = False,
    authfile: str | None = None,
    password_stdin: bool = True,
) -> list[str]:
    """``docker login`` / ``buildah login``; the password goes to stdin, never argv
    (without ``password_stdin``, the login a tip names: it asks for the password)."""
    argv = [
        tool,
        "login",
        "--username",
        username,
        *(["--password-stdin"] if password_stdin else []),
    ]
    if engine is Engine.BUILDAH:
        argv += [f"--tls-verify={'false' if plain_http else 'true'}"]
        if authfile:
            argv += ["--authfile", authfile]
    return [*argv, host]


def logged_in_rerun_hint(
    engine: Engine, tool: str, host: str, creds: Login, rerun: Sequence[str], *, plain_http: bool
) -> str:
    """The tip of a smoke test's command that pulled from ``host`` logged in with ``creds``
    through a throwaway login (buildah's auth file, docker's ``DOCKER_CONFIG``), removed by
    the time the failure is said: the login to run instead (the user named, the password
    asked for, where publisher took it from said, never it), then ``rerun``, the command
    again without the removed file, to see its whole output."""
    where = "auth file" if engine is Engine.BUILDAH else "DOCKER_CONFIG"
    login = login_argv(
        engine, host, creds.username, tool=tool, plain_http=plain_http, password_stdin=False
    )
    source = getattr(creds, "source", "explicit")
    took = "" if source == "explicit" else f", with the password publisher took from {source}"
    return (
        f"the smoke test pulled logged in through a throwaway {where}, removed by now: log "
        f"in as it did (`{format_argv(login)}`{took}), then rerun the command to see its "
        f"full output: `{format_argv(rerun)}`"
    )


def buildah_run_argv(
    name: str, argv: list[str], *, isolation: str = "chroot", buildah: str = "buildah"
) -> list[str]:
    return [buildah, "run", "--isolation", isolation, name, "--", *argv]


#: What ``buildah run`` appends to the stderr of a command that failed in the image
#: (``subprocess exited with status 78``, once or twice, then ``Error: exit status 78``),
#: at times glued to the command's last line: not the command's own words.
_BUILDAH_RUN_TRAILER = re.compile(
    r"(?:\n?(?:subprocess exited with status|Error: exit status) -?\d+[ \t]*)+\n?\Z"
)


def without_buildah_trailer(stderr: str) -> str:
    """``stderr`` of a ``buildah run`` without the lines buildah adds when the command
    fails, so a failure is told by what the command itself said."""
    return _BUILDAH_RUN_TRAILER.sub("", stderr)


#: A rehearsal's failed smoke test or build: what to do, once its images have gone with it.
def rehearsal_hint(render: str, seen: str = "the checks it ran are the `+` lines above") -> str:
    """The tip of a rehearsal's smoke test (or build) that failed; ``render``: the
    command that writes its matrix's Dockerfiles (with its --config); ``seen``: where
    to see what failed, the images being gone."""
    return (
        f"the rehearsal's throwaway registries stop with it, and its images with them: {seen}; "
        f"change matrix.yaml or the Dockerfile template, run `{render}`, and rehearse again"
    )


def docker_run_argv(
    image: Reference, platform: Platform, name: str, *, docker: str = "docker"
) -> list[str]:
    return [docker, "run", "-d", "--name", name, "--platform", platform.value, str(image)]


def docker_exec_argv(
    name: str, argv: list[str], *, docker: str = "docker", stdin: bool = False
) -> list[str]:
    return [docker, "exec", *(["-i"] if stdin else []), name, *argv]


def docker_check_argv(
    image: Reference, platform: Platform, name: str, argv: list[str], *, docker: str = "docker"
) -> list[str]:
    """One check in a container of its own, from the image already pulled (the server's
    container exited, so ``docker exec`` cannot reach it)."""
    return [
        docker,
        "run",
        "--rm",
        "--name",
        name,
        "--platform",
        platform.value,
        "--pull",
        "never",
        str(image),
        *argv,
    ]


def write_probe_argv() -> list[str]:
    """Inside the image: store the probe script (sent on stdin) where FPM can read it."""
    return ["/bin/sh", "-c", f"cat > {smoke_rules.PROBE_PATH}"]


def fpm_port(config: dict[str, Any]) -> int:
    """The FastCGI port: the image's one exposed TCP port, else FPM's usual 9000."""
    ports = [str(p) for p in (config.get("ExposedPorts") or {})]
    tcp = [p.split("/")[0] for p in ports if p.endswith("/tcp") or "/" not in p]
    port = small_number(tcp[0], PORT_MAX) if len(tcp) == 1 else None
    return port or 9000


def _pinned(image: Reference) -> Reference:
    if not image.digest:
        raise ValueError(f"smoke tests run images by digest, got {image}")
    return Reference(image.domain, image.path, None, image.digest)


# ----------------------------------------------------------------- sharing the image store

#: Under the cache (``fileio.cache_root``): which smoke tests use which image (``ImageHold``).
HOLDS_DIR = CACHE_SMOKE_IMAGES
#: Under the cache: one lock per smoke-test container while it exists (``ContainerLock``).
CONTAINERS_DIR = CACHE_SMOKE_CONTAINERS
CONTAINER_PREFIX = "publisher-smoke-"
_CONTAINER_NAME = re.compile(re.escape(CONTAINER_PREFIX) + r"[0-9a-f]{12}\Z")


def container_name() -> str:
    """A new smoke-test container's name: ``publisher-smoke-`` and 12 hex digits."""
    return f"{CONTAINER_PREFIX}{uuid.uuid4().hex[:12]}"


def _hold_file(directory: Path, engine: Engine, digest: str, kind: str) -> Path:
    """An ``ImageHold``'s file of ``kind`` (``lock``, ``pulled``) for the image ``digest``."""
    return directory / f"{engine}-{hashlib.sha256(digest.encode()).hexdigest()[:32]}.{kind}"


class ImageHold:
    """Which smoke tests on this machine use one image of one engine's store, so that
    a smoke test removes only what a smoke test added, and never an image another one
    is still using (two rehearsals, two CI jobs on one runner, two checkouts).

    Each run holds ``ENGINE-DIGEST.lock`` in ``directory`` shared (``flock``) from
    before it looks for the image until its container is gone (``enter``). An image
    that was not in the store is marked ``ENGINE-DIGEST.pulled`` before it is pulled.
    At the end (``release``) the run that can take the lock exclusively at once is the
    last one using the image: it removes the image when the mark is there, then the
    mark and the lock file, while a run starting meanwhile waits to look for the image
    until it is gone (and then takes the lock file made anew, ``lock_in_place``).
    An image that was in the store before (the user's, another tool's) has no mark and
    is kept; so is every image when there is no lock (no writable cache, no ``flock``).
    """

    def __init__(self, directory: Path | None, engine: Engine, image: Reference) -> None:
        self.lock = _hold_file(directory, engine, str(image.digest), "lock") if directory else None
        self.mark = (
            _hold_file(directory, engine, str(image.digest), "pulled") if directory else None
        )
        self._handle: Any = None

    def enter(self, present: Callable[[], bool]) -> None:
        """Hold the image (waiting while the last run before removes it), then mark it as
        pulled by a smoke test when ``present()`` says it is not in the store."""
        if self.lock is None or self.mark is None or not can_flock():
            return
        try:
            self._handle = lock_in_place(self.lock, shared=True)
            if not present():
                self.mark.touch()
        except OSError:
            self._close()

    def release(self, remove: Callable[[], Completed]) -> None:
        """After this run's container is gone: ``remove`` the image when no other smoke
        test holds it and a smoke test pulled it; else leave it to the last one."""
        if self._handle is None or self.mark is None or self.lock is None:
            return
        try:
            flock(self._handle, wait=False)
            if self.mark.exists():
                remove()  # refused while any other container uses the image: then kept
                self.mark.unlink(missing_ok=True)
            self.lock.unlink(missing_ok=True)
        except OSError:
            pass  # another smoke test uses the image: the last of them removes it
        finally:
            self._close()

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ContainerLock:
    """A smoke-test container's lock, ``ENGINE-NAME.lock`` in ``directory``, which its run
    holds exclusively (``flock``) from before the container is made until it is removed.

    A run killed with SIGKILL (the OOM killer, a cancelled CI job) cannot remove its
    container; the kernel lets go of its lock. So the next smoke test using the same
    cache removes the containers whose lock it can take at once (``sweep_containers``),
    and never one of a run still going (whose lock it cannot take), whatever process id
    the dead run had. A run that cannot lock (no writable cache, no ``flock``) goes on
    without: its container is not removed by a later run if this one is killed.
    """

    def __init__(self, directory: Path | None, engine: Engine, name: str) -> None:
        self.path = directory / f"{engine}-{name}.lock" if directory else None
        self._handle: Any = None

    def take(self) -> None:
        """Lock, before the container is made."""
        if self.path is None or not can_flock():
            return
        try:
            self._handle = lock_in_place(self.path)
        except OSError:
            self._handle = None

    def release(self, removed: bool) -> None:
        """Let go once the container is ``removed`` (the lock file with it); one that
        could not be removed keeps its lock file, so that a later run removes it."""
        if self._handle is None or self.path is None:
            return
        try:
            if removed:
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            self._handle.close()
            self._handle = None


def sweep_containers(
    directory: Path | None,
    engine: Engine,
    remove: Callable[[str], bool],
    names: Callable[[], set[str] | None],
) -> list[str]:
    """Remove the containers of ``engine`` that runs now gone left (``ContainerLock``):
    ``remove(name)`` says whether it removed one; ``names()`` lists the engine's containers
    (None when it cannot), which tells a container already gone from one ``remove`` could
    not remove, whose lock file is kept for a later run. Returns the names removed."""
    if directory is None or not can_flock():
        return []
    try:
        paths = sorted(directory.glob(f"{engine}-{CONTAINER_PREFIX}*.lock"))
    except OSError:
        return []
    removed: list[str] = []
    listed: set[str] | None = None
    for path in paths:
        name = path.name[len(f"{engine}-") : -len(".lock")]
        if not _CONTAINER_NAME.match(name):
            continue
        try:
            handle = locked_file(path, wait=False, make=False)
        except OSError:
            continue  # gone meanwhile (its run ended), not this user's, or its run is going
        with handle, contextlib.suppress(OSError):
            if os.fstat(handle.fileno()).st_uid != os.geteuid() or not same_file(handle, path):
                continue  # another user's (their store, not this one), or swept already
            if remove(name):
                removed.append(name)
            else:
                listed = names() if listed is None else listed
                if listed is None or name in listed:
                    continue  # still there: a later run tries again
            path.unlink(missing_ok=True)
    return removed


def _swept_line(removed: list[str]) -> str:
    return (
        f"removed {counted(len(removed), 'smoke-test container')} left by "
        f"{'a run that was' if len(removed) == 1 else 'runs that were'} killed: "
        + ", ".join(removed)
    )


def _names_on(runner: Runner, buildah: str, host: str) -> list[str] | None:
    """The names in buildah's image store on registry ``host``; None when it cannot list."""
    for _attempt in range(LIST_ATTEMPTS):  # fails now and then while other runs change it
        listed = runner.cleanup([buildah, "images", "--json"], what="buildah images")
        if listed.ok:
            break
    else:
        return None
    try:
        images = json.loads(listed.stdout or "[]")
    except ValueError:
        return None
    return [
        name
        for image in (images if isinstance(images, list) else [])
        if isinstance(image, dict)
        for name in image.get("names") or []
        if isinstance(name, str) and name.startswith(f"{host}/")
    ]


def forget_gone_registry(runner: Runner, host: str) -> list[str]:
    """Remove from buildah's image store the names on ``host``, the loopback registry of
    a rehearsal killed with SIGKILL, now stopped (``localregistry.sweep_orphan``): the
    stand-in bases its builds pulled, the images its smoke tests ran. Each names a
    registry gone, on a port no later run is given on purpose: nothing else would remove
    them. First go the smoke-test containers that killed runs left (``sweep_containers``),
    which would keep an image they use; then the names (``forget_registry``: an image
    with other names only loses these, and one whose repository a run is building from
    stays), each smoke-test image's with its ``ImageHold`` mark and lock when no smoke
    test holds it (else the last one using it removes them). Returns the names removed,
    which a line says. Never raises for buildah's sake; no buildah, nothing."""
    buildah = runner.which("buildah")
    if buildah is None:
        return []
    env = getattr(runner, "env", None) or os.environ
    cache = cache_root(env)

    def remove(name: str) -> bool:
        return runner.cleanup([buildah, "rm", name], what="buildah rm").ok

    def containers() -> set[str] | None:
        listed = runner.cleanup([buildah, "containers", "--format", "{{.ContainerName}}"])
        return set(listed.stdout.split()) if listed.ok else None

    swept = sweep_containers(cache / CONTAINERS_DIR, Engine.BUILDAH, remove, containers)
    if swept:
        runner.output.info(_swept_line(swept))
    named = _names_on(runner, buildah, host)
    if not named:
        return []
    with contextlib.ExitStack() as stack:
        held: list[str] = []  # the digests whose hold no smoke test has, held here
        for digest in sorted({n.partition("@")[2] for n in named if "@" in n}):
            with contextlib.suppress(OSError):  # no hold, or a smoke test holds it
                lock = _hold_file(cache / HOLDS_DIR, Engine.BUILDAH, digest, "lock")
                stack.enter_context(lock_in_place(lock, wait=False, make=False))
                held.append(digest)
        forget_registry(runner, host, env)
        left = _names_on(runner, buildah, host)
        left = named if left is None else left
        for digest in held:  # as ``ImageHold.release``: the mark, then the lock, held
            if not any(n.endswith(f"@{digest}") for n in left):
                with contextlib.suppress(OSError):
                    _hold_file(cache / HOLDS_DIR, Engine.BUILDAH, digest, "pulled").unlink(
                        missing_ok=True
                    )
                    _hold_file(cache / HOLDS_DIR, Engine.BUILDAH, digest, "lock").unlink(
                        missing_ok=True
                    )
    removed = [n for n in named if n not in left]
    if removed:
        runner.output.info(
            f"removed {counted(len(removed), 'image name')} on {host}, the registry of a "
            "rehearsal that was killed, from buildah's store"
        )
    return removed


# ----------------------------------------------------------------- the tester


@dataclass
class SmokeTester:
    """Runs smoke tests with buildah (default when installed and usable) or docker."""

    runner: Runner
    engine: Engine | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT
    #: Seconds a server must still run after it started (``smoke_rules.stay_up``).
    stays_up: float = STAYS_UP
    isolation: str = "chroot"
    sleep: Callable[[float], None] = time.sleep
    docker: str | None = None
    #: Credentials per registry host, used for pulling (through stdin, never argv).
    logins: Mapping[str, Login] = field(default_factory=dict, repr=False)
    #: Sends the probe over FastCGI (the docker engine); replaceable in tests.
    fastcgi_request: Callable[..., fastcgi.Answer] = fastcgi.request
    #: The images are in a rehearsal's throwaway registries, gone once it ends: a
    #: failure's tip cannot send the user to run them.
    rehearsal: bool = False
    #: The command that writes the Dockerfiles of the matrix tested, which a rehearsal's
    #: failure names.
    render: str = DEFAULT_LOCATIONS.command("render")
    #: Where the runs sharing an image store say which images they use (``ImageHold``);
    #: None: ``HOLDS_DIR`` under the cache.
    holds: Path | None = None
    #: Where the runs lock their containers (``ContainerLock``); None: ``CONTAINERS_DIR``
    #: under the cache.
    containers: Path | None = None

    def hold(self, image: Reference) -> ImageHold:
        """The hold of ``image`` in this tester's engine's image store."""
        if self.holds is None:
            self.holds = self._cache() / HOLDS_DIR
        return ImageHold(self.holds, self._engine(), image)

    def container_lock(
        self, name: str, remove: Callable[[str], bool], names: Callable[[], set[str] | None]
    ) -> ContainerLock:
        """The lock of a container about to be made, once the containers that runs now gone
        left in this engine's store are removed (``remove``, ``names``: ``sweep_containers``),
        which a line says."""
        if self.containers is None:
            self.containers = self._cache() / CONTAINERS_DIR
        engine = self._engine()
        removed = sweep_containers(self.containers, engine, remove, names)
        if removed:
            self.runner.output.info(_swept_line(removed))
        return ContainerLock(self.containers, engine, name)

    def _cache(self) -> Path:
        return cache_root(getattr(self.runner, "env", None) or os.environ)

    def _engine(self) -> Engine:
        if self.engine is None:
            chosen = local_engine(self.runner)
            if chosen is None:
                raise ToolMissingError(
                    "smoke tests need buildah or docker to run the images",
                    hint=INSTALL_HINTS["buildah"],
                )
            self.engine = Engine(chosen.value)
        return self.engine

    def _docker(self) -> str:
        if self.docker is None:
            found = dockercli.candidates(self.runner)
            if not found:
                raise ToolMissingError(
                    "docker is required but was not found", hint=INSTALL_HINTS["docker"]
                )
            self.docker = found[0]
        return self.docker

    def check(self) -> str:
        """The engine works here (before any build): buildah answers with a recent enough
        version and can run as this user; a docker CLI reaches its daemon."""
        chosen = self.engine is None  # not the builder's: the machine's (local_engine)
        engine = self._engine()
        if engine is Engine.BUILDAH:
            try:
                return BuildahBuilder(self.runner).check()
            except ToolMissingError as exc:
                if chosen:
                    exc.hint = self._without_buildah(exc.hint)
                raise
        daemon = dockercli.reach_daemon(
            self.runner, [self.docker] if self.docker else dockercli.candidates(self.runner)
        )
        if daemon.version is not None:
            self.docker = daemon.cli
            return f"docker {daemon.version} ({daemon.cli})"
        said = f"{daemon.cli}: {daemon.said}" if daemon.cli else daemon.said
        raise BrokenToolError(
            f"smoke tests run the images with docker, and its daemon is not reachable ({said}); "
            "nothing was built or pushed",
            hint=f"{dockercli.daemon_hint(daemon.said)}; or install buildah",
        )

    def _without_buildah(self, hint: str | None) -> str | None:
        """``hint`` of a broken buildah the machine's choice made the engine, with the way
        round it when a docker CLI here reaches its daemon: buildah off PATH, the smoke
        tests (and the stand-in bases, chosen alike) run with that docker."""
        buildah = self.runner.which("buildah")
        daemon = dockercli.reach_daemon(self.runner, dockercli.candidates(self.runner))
        if buildah is None or daemon.version is None:
            return hint
        return (f"{hint}; " if hint else "") + (
            f"or take {buildah} off PATH: the smoke tests (and a rehearsal's stand-in bases) "
            f"then run with docker, whose {daemon.cli} reaches its daemon"
        )

    def test(
        self,
        image: Reference,
        platform: Platform,
        *,
        php_line: str,
        extensions: Iterable[str],
        plain_http: bool = False,
    ) -> SmokeResult:
        """Smoke-test ``image`` (which must carry a digest) for ``platform``.

        Returns the exact PHP version; raises SmokeTestError listing every defect.
        """
        pinned = _pinned(image)
        start = time.monotonic()
        require_emulation(platform)
        engine = self._engine()
        session = (
            _BuildahSession(self, pinned, platform, plain_http)
            if engine is Engine.BUILDAH
            else _DockerSession(self, pinned, platform)
        )
        expected = list(extensions)
        script = smoke_rules.probe_script(expected)
        with session.running(script) as started:
            php_v, php_m, fpm, machine = session.checks(smoke_rules.IMAGE_CHECKS)
            # checks cut short by a stop are no answer of the image's to judge
            stop.check(f"the smoke test of {pinned} ({platform})")
            probe, probe_error = (
                session.probe() if started.ok else (None, "the image did not start")
            )
            proc_net = session.proc_net() if started.ok else ""
            stopped = session.stopped() if started.ok else ""
        observed = smoke_rules.Observed(
            started=started.ok,
            start_output=started.output,
            php_v=php_v.output,
            php_m=php_m.stdout,
            php_m_stderr=php_m.stderr,
            machine=machine.stdout,
            expected_machine=QEMU_CPU[platform],
            platform=str(platform),
            stopped=stopped,
            fpm_returncode=fpm.returncode,
            fpm_output=fpm.output,
            probe=probe,
            probe_error=probe_error,
            proc_net=proc_net,
            port=session.port,
            silent=session.silent,
        )
        version, found = smoke_rules.defects(observed, php_line, expected)
        if found or version is None:
            # a foreign image whose php ran has working emulation: the QEMU advice is
            # for one that did not run it (exec format error)
            qemu = foreign_hint(platform) if version is None else None
            # docker itself reaches a plain-HTTP registry on loopback only, unless told
            daemon = (
                f"docker pulls from {pinned.domain} over plain HTTP only once the daemon lists "
                'it: `"insecure-registries": ["' + pinned.domain + '"]` in '
                "/etc/docker/daemon.json, then restart docker"
                if plain_http and not is_loopback(pinned.domain) and not self.rehearsal
                else None
            )
            raise SmokeTestError(
                f"{pinned} ({platform}): " + "; ".join(found),
                hint=rehearsal_hint(self.render) if self.rehearsal else "try it yourself",
                advice=[a for a in (qemu, daemon) if a],
                tries=[]
                if self.rehearsal
                else [f"docker run --rm -it --platform {platform} {pinned} sh"],
            )
        modules = tuple(sorted(smoke_rules.parse_modules(php_m.stdout)))
        return SmokeResult(
            image=pinned,
            platform=platform,
            engine=engine,
            php_version=str(version),
            modules=modules,
            seconds=time.monotonic() - start,
            checked=smoke_rules.passed_words(observed, version, expected, self.stays_up),
        )


def preferred_engine(runner: Runner, prefer: str | None) -> Engine | None:
    """The engine that follows the builder ``prefer`` names (``buildah`` → buildah;
    ``docker`` or ``buildx`` → docker) when it is installed; else None (the default)."""
    if prefer == "buildah" and runner.which("buildah"):
        return Engine.BUILDAH
    if prefer in ("docker", "buildx") and dockercli.candidates(runner):
        return Engine.DOCKER
    return None


def check_engine(runner: Runner, prefer: str | None = None) -> str:
    """Check, before anything is started or built, that the engine ``smoke_tester``
    would pick works here (ToolMissingError, exit 10, when it does not)."""
    return SmokeTester(runner, preferred_engine(runner, prefer)).check()


def smoke_tester(
    runner: Runner,
    config: Config,
    *,
    prefer: str | None = None,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    rehearsal: bool = False,
    locations: Locations | None = None,
) -> Callable[[Reference, str, str, tuple[str, ...]], smoke_rules.Passed]:
    """A checked smoke test for the publish stage: ``(ref, platform, php, extensions) ->
    Passed`` (the exact PHP version, and what was checked).

    The engine follows the builder when it can (``buildah`` → buildah; ``docker``
    or ``buildx`` → docker), else buildah when installed and usable by this user, else
    docker when installed, else buildah (whose check says what is missing). Whether a
    registry is plain HTTP comes from ``config`` (loopback registries are). In a
    ``rehearsal`` the images go with its throwaway registries, and a failure says so,
    naming the render command with the run's ``locations`` (``render.render_command``).
    """
    from ..core.render import render_command

    engine = preferred_engine(runner, prefer)
    from .registry.credentials import credentials_for

    env = getattr(runner, "env", None) or os.environ
    logins: dict[str, Login] = {}
    for registry in config.registries:
        creds = credentials_for(registry, env, runner.output)
        if creds is not None:
            logins[registry.host] = creds
    tester = SmokeTester(
        runner,
        engine,
        start_timeout=start_timeout,
        stays_up=smoke_rules.stay_up(env),
        logins=logins,
        rehearsal=rehearsal,
        render=render_command(config, locations=locations),
    )
    tester.check()

    def run(
        image: Reference, platform: str, php: str, extensions: tuple[str, ...]
    ) -> smoke_rules.Passed:
        result = tester.test(
            image,
            Platform.parse(platform),
            php_line=php,
            extensions=extensions,
            plain_http=config.plain_http_for(image.domain),
        )
        return smoke_rules.Passed(result.php_version, result.checked)

    return run


def pid_namespace_tool(runner: Runner, uid: int | None = None) -> str | None:
    """``unshare`` (util-linux), to run the buildah smoke test's commands in a PID
    namespace of their own, for root (``uid``: this user's by default), who may make one;
    None for another user, or without ``unshare``: the commands run as they are."""
    if (os.geteuid() if uid is None else uid) != 0:
        return None
    return runner.which("unshare")


class _BuildahSession:
    def __init__(
        self, tester: SmokeTester, image: Reference, platform: Platform, plain_http: bool
    ) -> None:
        self.tester = tester
        self.runner = tester.runner
        self.image = image
        self.platform = platform
        self.plain_http = plain_http
        self.name = container_name()
        self.buildah = "buildah"
        #: Runs each ``buildah run`` in a PID namespace of its own (``PID_NAMESPACE``).
        self.unshare: str | None = None
        self._probe: tuple[tuple[int, str] | None, str] = (None, "not sent")
        self._proc_net = ""
        self._stopped = ""
        self.port = 9000
        self.env: dict[str, str] = {}  # buildah's TMPDIR while running
        #: The checks that printed nothing on every try, and how many tries that was.
        self.silent: dict[str, int] = {}

    def checks(self, checks: Sequence[Sequence[str]]) -> list[Completed]:
        """Every check in one ``buildah run`` (``smoke_rules.checks_script``), each one's
        output, stderr and exit status read back apart; the run again, after a short pause,
        when it passed on not all of them (under load, ``buildah run`` now and then exits 0
        having passed on none of its command's output). Framed output that is empty is
        what the check printed, judged at once (``php-fpm -t`` says nothing at FPM's
        ``log_level = warning``); a check never seen after ``EMPTY_RUN_TRIES`` runs is
        judged as printing nothing, and ``silent`` says it was run that many times."""
        mark = uuid.uuid4().hex[:16]
        argv = ["/bin/sh", "-c", smoke_rules.checks_script(checks, mark)]
        found: list[smoke_rules.CheckOutput | None] = [None] * len(checks)
        result = Completed(argv=(), returncode=0, stdout="", stderr="")
        for attempt in range(1, EMPTY_RUN_TRIES + 1):
            if attempt > 1:
                self.tester.sleep(EMPTY_RUN_PAUSE * (attempt - 1))
            result = self._run(argv, EXEC_TIMEOUT, None)
            found = smoke_rules.read_checks(result.stdout, mark, len(checks))
            if not result.ok or all(f is not None for f in found):
                break
        else:
            for check, seen in zip(checks, found, strict=True):
                if seen is None:
                    self.silent[smoke_rules.check_name(check)] = EMPTY_RUN_TRIES
        failed = (
            replace(result, stderr=without_buildah_trailer(result.stderr))
            if not result.ok
            else Completed(argv=(), returncode=0, stdout="", stderr="")
        )
        return [
            Completed(tuple(check), f.returncode, f.stdout, f.stderr)
            if f is not None
            else replace(failed, argv=tuple(check))
            for check, f in zip(checks, found, strict=True)
        ]

    def exec(
        self, argv: list[str], timeout: float = EXEC_TIMEOUT, stdin: str | None = None
    ) -> Completed:
        """``buildah run`` (the probe script stored, the server's start); again, after a
        short pause, when it printed nothing at all.

        Under load, concurrent ``buildah run`` calls now and then exit 0 having
        passed on none of the command's output. Nothing on every one of
        ``EMPTY_RUN_TRIES`` tries is what the image prints: that result is judged, and
        ``silent`` says the command was run that many times. The checks have ``checks``.
        """
        result = Completed(argv=(), returncode=0, stdout="", stderr="")
        for attempt in range(1, EMPTY_RUN_TRIES + 1):
            if attempt > 1:
                self.tester.sleep(EMPTY_RUN_PAUSE * (attempt - 1))
            result = self._run(argv, timeout, stdin)
            if stdin is not None or not result.ok or result.output.strip():
                break
        else:
            self.silent[shlex.join(argv)] = EMPTY_RUN_TRIES
        if result.ok:
            return result
        return replace(result, stderr=without_buildah_trailer(result.stderr))

    def _run(self, argv: Sequence[str], timeout: float, stdin: str | None) -> Completed:
        """One ``buildah run`` of ``argv`` in the container (in a PID namespace of its own
        when one can be made); a failure of buildah's own, not the image's, is raised."""
        run = buildah_run_argv(
            self.name, list(argv), isolation=self.tester.isolation, buildah=self.buildah
        )
        return _in_the_image(
            self.runner,
            [self.unshare, *PID_NAMESPACE, *run] if self.unshare else run,
            f"buildah run {argv[0]} ({self.platform})",
            timeout=timeout,
            stdin=stdin,
            env=self.env,
        )

    def probe(self) -> tuple[tuple[int, str] | None, str]:
        return self._probe

    def proc_net(self) -> str:
        return self._proc_net

    def stopped(self) -> str:
        """Why the server did not stay up ``stays_up`` seconds (the start script checked)."""
        return self._stopped

    @contextlib.contextmanager
    def _pull_auth(self) -> Iterator[str | None]:
        """A throwaway buildah auth file logged in to the image's registry, if configured."""
        creds = self.tester.logins.get(self.image.domain)
        if creds is None:
            yield None
            return
        with temp_dir(SMOKE_AUTH_PREFIX) as tmp:
            authfile = str(tmp / "auth.json")
            argv = login_argv(
                Engine.BUILDAH,
                self.image.domain,
                creds.username,
                tool=self.buildah,
                plain_http=self.plain_http,
                authfile=authfile,
            )
            log_in(self.runner, argv, creds)
            yield authfile

    @contextlib.contextmanager
    def running(self, probe_script: str) -> Iterator[Completed]:
        self.buildah = self.runner.require("buildah")
        self.unshare = pid_namespace_tool(self.runner)
        with scratch(self.runner) as self.env, self._running(probe_script) as started:
            yield started

    def _present(self) -> bool:
        """The image is in the store already (by its digest, under any name)."""
        image = str(self.image)
        found = self.runner.run(
            [self.buildah, "inspect", "--type", "image", "--format", "{{.FromImageID}}", image],
            check=False,
            echo=False,
        )
        return found.ok

    def _names(self) -> set[str] | None:
        """The names of buildah's containers; None when buildah cannot list them."""
        listed = self.runner.run(
            [self.buildah, "containers", "--format", "{{.ContainerName}}"],
            check=False,
            echo=False,
        )
        return set(listed.stdout.split()) if listed.ok else None

    @contextlib.contextmanager
    def _running(self, probe_script: str) -> Iterator[Completed]:
        hold = self.tester.hold(self.image)
        lock = self.tester.container_lock(
            self.name, lambda name: self.runner.cleanup([self.buildah, "rm", name]).ok, self._names
        )
        try:  # a `buildah from` cut short may have created the container already
            lock.take()
            hold.enter(self._present)
            with self._pull_auth() as authfile:
                pull = functools.partial(
                    buildah_from_argv,
                    self.image,
                    self.platform,
                    self.name,
                    plain_http=self.plain_http,
                    buildah=self.buildah,
                )
                creds = self.tester.logins.get(self.image.domain)
                run_buildah(  # again when a concurrent pull raced it in the image store
                    self.runner,
                    pull(authfile=authfile),
                    what=f"buildah from {self.image} ({self.platform})",
                    hint=None
                    if creds is None
                    else logged_in_rerun_hint(
                        Engine.BUILDAH,
                        self.buildah,
                        self.image.domain,
                        creds,
                        pull(),
                        plain_http=self.plain_http,
                    ),
                    between=lambda: self.runner.cleanup([self.buildah, "rm", self.name]),
                    env=self.env,
                )
            config = self._config()
            timeout = self.tester.start_timeout
            stored = self.exec(write_probe_argv(), timeout=120, stdin=probe_script)
            self.port = fpm_port(config)
            probe = cgi_fcgi_command(self.port) if stored.ok else None
            script = start_script(
                health_command(config.get("Healthcheck")),
                timeout,
                probe,
                port=self.port,
                stays_up=self.tester.stays_up,
            )
            with _HOST_NETWORK, port_turn(self.port, self._waiting):
                started = self.exec(
                    [
                        "/bin/sh",
                        "-c",
                        script,
                        "publisher-smoke",
                        *server_command(config, f"{self.image} ({self.platform})"),
                    ],
                    timeout=timeout + EXEC_TIMEOUT,
                )
            if f"{PORT_TAKEN} {self.port}" in started.stdout:
                raise port_taken_error(
                    f"{self.image} ({self.platform})",
                    self.port,
                    port_holders(self.port),
                    dockercli.installed_builders(
                        self.runner, BuilderName.BUILDX, BuilderName.DOCKER
                    ),
                )
            self._probe = (
                probe_from_start_output(started.stdout, self.port)
                if stored.ok
                else (None, f"the probe script could not be stored: {stored.output.strip()}")
            )
            self._proc_net = proc_net_from_start_output(started.stdout)
            self._stopped = stopped_from_start_output(started.stdout)
            yield started
        finally:
            lock.release(self.runner.cleanup([self.buildah, "rm", self.name]).ok)
            hold.release(lambda: self.runner.cleanup([self.buildah, "rmi", str(self.image)]))

    def _waiting(self) -> None:
        self.runner.output.progress(  # a wait: the run's progress, on stderr in every mode
            f"{self.image} ({self.platform}): waiting for another run's smoke test on this "
            f"machine, whose server uses port {self.port} too"
        )

    def _config(self) -> dict[str, Any]:
        result = self.runner.run(
            [self.buildah, "inspect", "--type", "container", self.name], echo=False
        )
        try:
            data = json.loads(result.stdout)
        except ValueError:
            raise CommandError(
                f"`buildah inspect {self.name}` printed no JSON",
                output=result.output,
                hint="check the buildah installation (`buildah inspect --type container NAME`)",
            ) from None
        docker = (data.get("Docker") or {}).get("config") or {}
        oci = (data.get("OCIv1") or {}).get("config") or {}
        merged = dict(oci)
        for key in ("Entrypoint", "Cmd", "Healthcheck", "ExposedPorts"):
            if docker.get(key):
                merged[key] = docker[key]
        return merged


def _lasted(times: str, stays_up: float) -> str:
    """How long a container ran, from docker's ``StartedAt FinishedAt`` (less than
    ``stays_up`` seconds when they do not parse)."""
    try:
        began, ended = (datetime.fromisoformat(t) for t in times.split())
    except ValueError:
        return f"less than {seconds(stays_up)}"
    return seconds(max(0.0, (ended - began).total_seconds()), 1)


class _DockerSession:
    def __init__(self, tester: SmokeTester, image: Reference, platform: Platform) -> None:
        self.tester = tester
        self.runner = tester.runner
        self.image = image
        self.platform = platform
        self.name = container_name()
        self.docker = "docker"
        self.probe_script = ""
        self.config: dict[str, Any] = {}
        self.port = 9000
        #: The server exited: the checks run in a container of their own (``docker exec``
        #: needs a running one), as buildah runs each check in the image.
        self.exited = False
        self.silent: dict[str, int] = {}  # docker runs every check once
        self.started_at = 0.0  # time.monotonic() once `docker run` started it

    def exec(
        self, argv: list[str], timeout: float = EXEC_TIMEOUT, stdin: str | None = None
    ) -> Completed:
        if self.exited and stdin is None:
            return _in_the_image(
                self.runner,
                docker_check_argv(self.image, self.platform, self.name, argv, docker=self.docker),
                f"docker run {argv[0]} ({self.platform})",
                timeout=timeout,
            )
        return _in_the_image(
            self.runner,
            docker_exec_argv(self.name, argv, docker=self.docker, stdin=stdin is not None),
            f"docker exec {argv[0]} ({self.platform})",
            timeout=timeout,
            stdin=stdin,
        )

    def checks(self, checks: Sequence[Sequence[str]]) -> list[Completed]:
        """Each check, one ``docker exec`` (or ``docker run --rm``) at a time."""
        return [self.exec(list(check)) for check in checks]

    def _inspect(self, template: str) -> str:
        result = self.runner.run(
            [self.docker, "inspect", "--format", template, self.name], check=False, echo=False
        )
        return result.stdout.strip()

    def probe(self) -> tuple[tuple[int, str] | None, str]:
        """Send the probe with publisher's FastCGI client to the container's address."""
        stored = self.exec(write_probe_argv(), timeout=120, stdin=self.probe_script)
        if not stored.ok:
            return None, f"the probe script could not be stored: {stored.output.strip()}"
        addresses = self._inspect(
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        ).split()
        if not addresses:
            return None, "the container has no network address to send FastCGI to"
        port = self.port
        try:
            answer = self.tester.fastcgi_request(
                addresses[0], port, smoke_rules.probe_params(port), timeout=EXEC_TIMEOUT
            )
            response = fastcgi.parse_cgi_response(answer.stdout)
        except fastcgi.FastCgiError as exc:
            return None, str(exc)
        return (response.status, response.body.decode("utf-8", "replace")), ""

    def stopped(self) -> str:
        """Why the server did not stay up ``stays_up`` seconds after it started (the checks
        ran meanwhile; the wait is what is left of it): "" when it did."""
        left = self.tester.stays_up - (time.monotonic() - self.started_at)
        if left > 0:
            self.tester.sleep(left)
        state = self._inspect("{{.State.Running}} {{.State.StartedAt}} {{.State.FinishedAt}}")
        running, _, times = state.partition(" ")
        if running != "false":
            return ""
        logs = self.runner.run([self.docker, "logs", self.name], check=False, echo=False)
        tail = " | ".join(logs.output.strip().splitlines()[-5:]) or "no output"
        return f"the server exited {_lasted(times, self.tester.stays_up)} after it started, having answered its health check ({tail})"

    def proc_net(self) -> str:
        """The sockets inside the running container ("" once its server has exited)."""
        if self.exited:
            return ""
        return self.exec(PROC_NET, timeout=60).stdout

    @contextlib.contextmanager
    def running(self, probe_script: str) -> Iterator[Completed]:
        self.docker = self.tester._docker()
        self.probe_script = probe_script
        hold = self.tester.hold(self.image)
        lock = self.tester.container_lock(
            self.name,
            lambda name: self.runner.cleanup([self.docker, "rm", "-f", name]).ok,
            self._names,
        )
        try:
            lock.take()
            hold.enter(self._present)
            creds = self.tester.logins.get(self.image.domain)
            with dockercli.logged_in_config(
                self.runner, self.image.domain, creds, docker=self.docker
            ) as env:
                argv = docker_run_argv(self.image, self.platform, self.name, docker=self.docker)
                self.runner.run(
                    argv,
                    env=env,
                    what=f"docker run {self.image} ({self.platform})",
                    hint=None
                    if creds is None
                    else logged_in_rerun_hint(
                        Engine.DOCKER, self.docker, self.image.domain, creds, argv, plain_http=False
                    ),
                )
            self.started_at = time.monotonic()
            yield self._wait_healthy()
        finally:
            lock.release(self.runner.cleanup([self.docker, "rm", "-f", self.name]).ok)
            hold.release(lambda: self.runner.cleanup([self.docker, "image", "rm", str(self.image)]))

    def _names(self) -> set[str] | None:
        """The names of the daemon's containers; None when docker cannot list them."""
        listed = self.runner.run(
            [self.docker, "ps", "-a", "--format", "{{.Names}}"], check=False, echo=False
        )
        return set(listed.stdout.split()) if listed.ok else None

    def _present(self) -> bool:
        """The image is in the daemon's store already under this reference."""
        found = self.runner.run(
            [self.docker, "image", "inspect", "--format", "{{.Id}}", str(self.image)],
            check=False,
            echo=False,
        )
        return found.ok

    def _wait_healthy(self) -> Completed:
        config = json.loads(self._inspect("{{json .Config}}") or "{}")
        self.config = config if isinstance(config, dict) else {}
        self.port = fpm_port(self.config)
        health = health_command(config.get("Healthcheck"))
        timeout = self.tester.start_timeout
        polls = max(1, int(timeout / POLL))
        alive = max(1, int(ALIVE_WITHOUT_HEALTHCHECK / POLL))
        last = Completed(argv=(), returncode=1, stdout="", stderr="no health check ran")
        for i in range(1, polls + 1):
            self.tester.sleep(POLL)
            if self._inspect("{{.State.Running}}") != "true":
                logs = self.runner.run([self.docker, "logs", self.name], check=False, echo=False)
                self.runner.cleanup([self.docker, "rm", "-f", self.name])
                self.exited = True
                return Completed(
                    argv=(), returncode=1, stdout="the server exited", stderr=logs.output
                )
            if health is None:
                if i >= alive:
                    return Completed(argv=(), returncode=0, stdout="running (no health check)")
                continue
            last = self.exec(health, timeout=60)
            if last.ok:
                return Completed(argv=(), returncode=0, stdout=f"healthy after {i} checks")
        logs = self.runner.run([self.docker, "logs", self.name], check=False, echo=False)
        return Completed(
            argv=(),
            returncode=1,
            stdout=f"not healthy within {seconds(timeout)}: {last.output}",
            stderr=logs.output,
        )
