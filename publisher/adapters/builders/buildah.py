"""The buildah builder (daemonless; podman users).

``buildah build --isolation chroot --format docker --platform P -f F --build-arg ...
-t LOCALNAME CONTEXT``, then ``buildah push --digestfile F LOCALNAME oci:LAYOUT``
writes a single-platform OCI image layout that the build stage pushes by digest.
The local image is removed afterwards; the name a rehearsal's base got when pulled from
its throwaway registry goes when the rehearsal ends (``forget_registry``), and so does the
other platform's base that name left nameless (``StandInBases``). So does the
working container of a build that was stopped (publisher stopping, buildah killed by a
signal), which buildah leaves when the signal reaches it outside a RUN step
(``remove_build_containers``), unless another buildah process may be using the image store
(then the interruption says how to remove it). A build that fails of its own (a RUN step's exit status,
one of ``TRANSIENT_FAILURES``) leaves none: buildah removes it, and publisher removes
nothing, so that another build of the same base going on meanwhile keeps its container.

``--format docker`` keeps the HEALTHCHECK (the OCI image config has no field for
it and buildah drops it there); the layout then holds a Docker schema 2
manifest, which every registry accepts. The random build-container ID and
hostname buildah writes into such configs are removed and its ``FROM`` history
comment names the requested base (``normalize_config``),
and ``--timestamp`` (from PUBLISHER_CREATED) fixes every time stamp, so the
same inputs give the same digest. ``--isolation chroot`` is the default
because it works as root without a working OCI runtime (crun/runc under some
cgroup setups fail); set ``isolation`` (or ``BUILDAH_ISOLATION``) to change it.
``check`` refuses an isolation buildah does not know before anything starts (exit 2
for ``BUILDAH_ISOLATION``, blanks included): every buildah command reads
``BUILDAH_ISOLATION``, and would refuse it at the first build, after the bases were pulled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import resource
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BrokenToolError, CommandError, ConfigError, UsageError
from ...core.fileio import CACHE_BUILDAH_BASES, cache_root, can_flock, locked_file, temp_dir
from ...core.manifest import STAND_IN_LABEL
from ...core.platforms import BuilderName, Platform
from ...core.reference import Reference
from ...resolve import is_loopback
from .. import stop
from ..emulation import emulation_advice, require_emulation
from ..runner import (
    INSTALL_HINTS,
    Completed,
    Runner,
    ended_by_signal,
    open_files_refused,
    started_here,
)
from . import dockercli
from .base import (
    NOTHING_BUILT,
    BuildOutput,
    BuildRequest,
    build_arg_flags,
    failed_build_hint,
    label_flags,
    probed_version,
)
from .layout import checked_output, normalize_config, read_layout

MIN_VERSION = (1, 24, 0)
DEFAULT_ISOLATION = "chroot"
#: The variable every buildah command reads its isolation from (``isolation_from_env``).
ISOLATION_ENV = "BUILDAH_ISOLATION"
#: The isolations buildah knows (``--isolation``, ``BUILDAH_ISOLATION``; in any case, and
#: ``default``, which is oci): see ``man buildah-build``.
ISOLATIONS = ("chroot", "oci", "rootless")
DEFAULT_FORMAT = "docker"

#: Failures of a sound buildah command that running it again gets past, by what its
#: output says (the words stand in the warning):
TRANSIENT_FAILURES = {
    # Another buildah process sharing the image store removed or replaced a layer
    # while this one committed or pulled the same one (two builds of identical
    # layers at once: ``--timestamp`` makes layers identical across releases; two
    # smoke tests pulling images that share their base layers; a leg's push reading a
    # layer by digest while another leg's identical image is removed).
    "layer not known": "another buildah process changed the image store at the same time",
    # runc could not seal its copy of itself for a RUN step while another container
    # started (runc 1.1 under parallel builds); the step never ran.
    "sealing memfd copy": "the container runtime failed to start a RUN step while another "
    "container started",
}
#: Where a user's ranges of subordinate user and group IDs are listed (``NAME:START:COUNT``
#: or ``UID:START:COUNT`` per line): buildah run by another user than root needs both.
SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
#: Where ranges of subordinate IDs start (``SUB_UID_MIN`` in /etc/login.defs), and how
#: many IDs one gives a user (``SUB_UID_COUNT``), as useradd gives them.
SUB_ID_MIN = 100000
SUB_ID_COUNT = 65536


def free_id_range(subuid: str, subgid: str) -> tuple[int, int]:
    """The first and last ID of a range of ``SUB_ID_COUNT`` subordinate IDs that no range
    ``subuid`` or ``subgid`` (the files' text) gives overlaps: the one after the last
    listed, from ``SUB_ID_MIN``. A range shared by two users would let each reach the
    other's user namespaces."""
    end = SUB_ID_MIN
    for line in (*subuid.splitlines(), *subgid.splitlines()):
        _owner, _, rest = line.strip().partition(":")
        start, _, count = rest.partition(":")
        if start.strip().isdigit() and count.strip().isdigit():
            end = max(end, int(start) + int(count))
    return end, end + SUB_ID_COUNT - 1


def rootless_hint(subuid: str, subgid: str, user: str | None) -> str:
    """What to do when ``rootless_problem`` says buildah cannot run as ``user``: run as
    root, or give the user a range that overlaps none given already (``free_id_range``)."""
    first, last = free_id_range(subuid, subgid)
    ids = f"{first}-{last}"
    return (
        "run publisher as root (`sudo`), as the release machines do; or give the user ranges "
        f"of subordinate IDs that no other user has (`usermod --add-subuids {ids} "
        f"--add-subgids {ids} {user or 'USER'}`, the range after those /etc/subuid and "
        "/etc/subgid list, then `buildah system migrate`)"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def has_id_range(listing: str, uid: int, user: str | None) -> bool:
    """Does ``listing`` (the text of /etc/subuid or /etc/subgid) give the user a range?"""
    for line in listing.splitlines():
        owner, _, rest = line.strip().partition(":")
        _start, _, count = rest.partition(":")
        if owner in (str(uid), user) and count.strip().isdigit() and int(count) > 0:
            return True
    return False


def rootless_problem(uid: int, subuid: str, subgid: str, *, user: str | None = None) -> str | None:
    """Why buildah cannot build as user ``uid`` here, or None: root can; any other user
    runs buildah rootless, whose RUN steps fail ("error setting supplemental groups
    list") without ranges of subordinate IDs in both files."""
    if uid == 0:
        return None
    user = user or _user_name(uid)
    missing = [
        str(path)
        for path, listing in ((SUBUID, subuid), (SUBGID, subgid))
        if not has_id_range(listing, uid, user)
    ]
    if not missing:
        return None
    who = f"{user} (uid {uid})" if user else f"uid {uid}"
    return (
        f"buildah would run rootless as {who}, and {' and '.join(missing)} "
        f"{'give' if len(missing) > 1 else 'gives'} that user no range of subordinate IDs: "
        f"its RUN steps would fail; {NOTHING_BUILT}"
    )


def rootless_problem_here() -> str | None:
    """``rootless_problem`` for the user running publisher, from the system's files."""
    return rootless_problem(os.geteuid(), _read(SUBUID), _read(SUBGID))


#: The open-files limit buildah gives each container it runs a command in (``buildah run``,
#: a RUN step): it lowers the hard limit to it, and may raise it only with CAP_SYS_RESOURCE.
CONTAINER_OPEN_FILES = 1024
CAP_SYS_RESOURCE = 24


def may_raise_limits(status: str | None = None) -> bool:
    """Whether this process may raise a hard limit: root with CAP_SYS_RESOURCE in its
    effective set (``status``: /proc/self/status's text). Not so for root in a container
    that drops it (docker's default), nor for any other user (rootless buildah too)."""
    if os.geteuid() != 0:
        return False
    if status is None:
        status = _read(Path("/proc/self/status"))
    effective = next(
        (line.split()[1:2] for line in status.splitlines() if line.startswith("CapEff:")), []
    )
    try:
        return bool(int(effective[0], 16) >> CAP_SYS_RESOURCE & 1) if effective else False
    except ValueError:
        return False


def open_files_problem() -> CommandError | None:
    """buildah cannot run a command in a container under this process's hard open-files
    limit (below ``CONTAINER_OPEN_FILES``, not to be raised here): the error saying so,
    checked before anything is built or pushed; None when it can."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= CONTAINER_OPEN_FILES or may_raise_limits():
        return None
    return open_files_refused(
        "buildah run",
        CONTAINER_OPEN_FILES,
        hard,
        verdict="found before anything was built or pushed",
    )


def local_engine(runner: Runner) -> BuilderName | None:
    """What builds and runs images on this machine when nothing is named (the rehearsal's
    stand-in bases, the smoke tests): buildah when installed and this user can build with
    it; else docker when installed (a user without subordinate IDs, in the docker group);
    else buildah when installed, whose check then says what is missing; None: neither."""
    has_buildah = runner.which("buildah") is not None
    if has_buildah and rootless_problem_here() is None:
        return BuilderName.BUILDAH
    if dockercli.candidates(runner):
        return BuilderName.DOCKER
    return BuilderName.BUILDAH if has_buildah else None


def require_auth_file(env: Mapping[str, str]) -> None:
    """buildah reads its credentials from ``$DOCKER_CONFIG/config.json`` when DOCKER_CONFIG
    is set (and REGISTRY_AUTH_FILE is not), and refuses to push or pull at all when that
    file is missing ("checking authfile"): ConfigError (exit 3) before anything starts."""
    directory = env.get("DOCKER_CONFIG", "")
    if not directory or env.get("REGISTRY_AUTH_FILE"):
        return
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"DOCKER_CONFIG={directory} holds no config.json, and buildah then refuses to "
            'pull or push ("checking authfile"); nothing was built or pushed',
            source=str(path),
            hint=f"point DOCKER_CONFIG at your docker config directory, unset it (~/.docker), "
            f"or create an empty one: mkdir -p {directory} && echo '{{}}' > {path}",
        )


def isolation_from_env(env: Mapping[str, str]) -> str | None:
    """``BUILDAH_ISOLATION``, which every buildah command reads itself (``buildah from``
    too): None when unset or empty (buildah's default then, as buildah reads it), else one
    buildah knows, in any case. Anything else is bad input, a UsageError (exit 2) naming the
    variable, as every other variable publisher reads is refused: before anything starts,
    not a failed build after the bases were pulled. A value of blanks only is refused too,
    not read as unset as publisher's own settings are: buildah would still read it, and
    refuse it, in every command publisher cannot give ``--isolation``."""
    value = env.get(ISOLATION_ENV)
    if not value:
        return None
    if value.lower() not in (*ISOLATIONS, "default"):
        raise UsageError(
            f"{ISOLATION_ENV}={value!r} is not an isolation buildah knows "
            f"({', '.join(ISOLATIONS)}); nothing was built or pushed",
            hint=f"set {ISOLATION_ENV} to {DEFAULT_ISOLATION} (publisher's default: it needs no "
            "OCI runtime), oci or rootless, or unset it (buildah reads it itself, and refuses "
            "a blank value)",
        )
    return value


def require_isolation(env: Mapping[str, str], isolation: str | None = None) -> None:
    """``BUILDAH_ISOLATION`` (``isolation_from_env``) and the ``isolation`` asked for are
    ones buildah knows; a wrong ``isolation`` is a ConfigError (exit 3)."""
    isolation_from_env(env)
    if isolation and isolation.lower() not in (*ISOLATIONS, "default"):
        raise ConfigError(
            f"{isolation!r} is not an isolation buildah knows ({', '.join(ISOLATIONS)}); "
            "nothing was built or pushed",
            field="isolation",
            hint=f"set isolation to {DEFAULT_ISOLATION} (publisher's default: it needs no OCI "
            "runtime), oci or rootless",
        )


#: Runs of one buildah command, counting the first, when each fails in one of those ways.
BUILD_ATTEMPTS = 3

#: buildah's scratch directories (``buildahNNN``: a ``buildah run``'s bundle, an image
#: copy) go where TMPDIR says, else here; a buildah stopped by a signal leaves them.
BUILDAH_TMP_DEFAULT = "/var/tmp"
#: The directory publisher gives each build and smoke test as buildah's TMPDIR.
SCRATCH_PREFIX = "publisher-buildah-"


@contextlib.contextmanager
def scratch(runner: Runner) -> Iterator[dict[str, str]]:
    """The environment for buildah commands of one build or smoke test: ``TMPDIR`` in a
    directory of its own, where buildah would have put its scratch directories (TMPDIR,
    else /var/tmp), removed afterwards with what a buildah stopped half-way left there;
    after a SIGKILL the next run removes it (``fileio.temp_dir``)."""
    env = getattr(runner, "env", None) or os.environ
    parent = env.get("TMPDIR") or BUILDAH_TMP_DEFAULT
    with temp_dir(SCRATCH_PREFIX, parent if os.path.isdir(parent) else None) as tmp:
        yield {"TMPDIR": str(tmp)}


def run_buildah(
    runner: Runner,
    argv: Sequence[str],
    *,
    what: str,
    hint: str | None = None,
    between: Callable[[], object] | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run a buildah command; again, up to ``BUILD_ATTEMPTS`` runs in all, after a
    failure listed in ``TRANSIENT_FAILURES`` (with a warning each time). ``between``
    undoes what a failed run left before the next (a layout half written, a container
    of the same name). A ``buildah build`` that fails so (the commit finding a layer gone,
    the runtime failing to start a RUN step) leaves no working container: buildah removes
    it on any failure it returns from, so there is nothing of it to remove in between."""
    for attempt in range(1, BUILD_ATTEMPTS):
        try:
            return runner.run(argv, what=what, hint=hint, env=env)
        except CommandError as exc:
            cause = next((words for words in TRANSIENT_FAILURES if words in exc.output), None)
            if cause is None:
                raise
            runner.output.warning(
                f"{what}: {TRANSIENT_FAILURES[cause]} ({cause!r}); running it again "
                f"(attempt {attempt + 1} of {BUILD_ATTEMPTS})"
            )
            if between is not None:
                between()
    return runner.run(argv, what=what, hint=hint, env=env)


def build_argv(
    request: BuildRequest,
    local_name: str | None,
    *,
    buildah: str = "buildah",
    isolation: str = DEFAULT_ISOLATION,
    image_format: str = DEFAULT_FORMAT,
) -> list[str]:
    """``buildah build`` for one (line, platform); without ``local_name``, untagged."""
    argv = [
        buildah,
        "build",
        "--isolation",
        isolation,
        "--format",
        image_format,
        "--platform",
        request.platform.value,
        "-f",
        str(request.dockerfile),
        *build_arg_flags(request.build_args),
        *label_flags(request.labels),
    ]
    if request.base_plain_http:
        argv.append("--tls-verify=false")
    epoch = request.source_date_epoch
    if epoch is not None:
        argv += ["--timestamp", str(epoch)]
    argv += ["-t", local_name] if local_name else []
    return [*argv, str(request.context)]


def push_argv(
    request: BuildRequest,
    local_name: str,
    *,
    buildah: str = "buildah",
    image_format: str = DEFAULT_FORMAT,
) -> list[str]:
    """``buildah push`` of the built image into a single-platform OCI layout."""
    return [
        buildah,
        "push",
        "--format",
        "v2s2" if image_format == "docker" else "oci",
        "--digestfile",
        str(request.digest_file),
        local_name,
        f"oci:{request.layout_dir}",
    ]


def rmi_argv(local_name: str, *, buildah: str = "buildah") -> list[str]:
    return [buildah, "rmi", local_name]


#: Under the cache (``fileio.cache_root``): one lock per repository path that builds pull
#: their base from on a loopback registry (``building_from``).
BASES_DIR = CACHE_BUILDAH_BASES
#: Runs of ``buildah images`` or ``buildah containers`` (``listed``): another buildah
#: process removing an image while it lists them makes it fail ("image not known").
LIST_ATTEMPTS = 3
#: ``buildah inspect --format`` of the platform a container was made for (``linux/arm64``).
PLATFORM_FORMAT = "{{.OCIv1.OS}}/{{.OCIv1.Architecture}}"


def _base_lock(env: Mapping[str, str], path: str) -> Path:
    key = hashlib.sha256(path.encode()).hexdigest()[:32]
    return cache_root(env) / BASES_DIR / f"{key}.lock"


@contextlib.contextmanager
def building_from(env: Mapping[str, str], base: Reference | None) -> Iterator[None]:
    """Hold the lock of ``base``'s repository path shared while a build pulls and uses it,
    when it is on a loopback registry (a rehearsal's). buildah finds a base in its store
    by digest under any registry's name: another run's, whose ``forget_registry`` then
    waits for this build, or leaves its names to keep the image. Without a writable cache
    (or flock) the build goes on unheld."""
    with contextlib.ExitStack() as stack:
        if base is not None and can_flock() and is_loopback(base.domain):
            with contextlib.suppress(OSError):
                stack.enter_context(locked_file(_base_lock(env, base.path), shared=True))
        yield


@dataclass(frozen=True)
class StandInBases:
    """The stand-in bases a rehearsal serves from its registry ``host``: each one's
    repository path by its index digest (``stand-in/php`` by ``sha256:...``), and the IDs
    of the images buildah's store held before its builds, none of them pulled by this run
    (None: the store could not be listed, so no nameless image is taken for this run's)."""

    host: str
    paths: Mapping[str, str]
    before: frozenset[str] | None


def stand_in_bases(
    runner: Runner, host: str, bases: Sequence[Reference] | Mapping[str, Reference]
) -> StandInBases:
    """What ``forget_registry`` needs to tell this run's stand-in bases left nameless from
    any other image: taken once the bases are pushed to ``host``, before any build."""
    refs = bases.values() if isinstance(bases, Mapping) else bases
    paths = {ref.digest: ref.path for ref in refs if ref.digest}
    buildah = runner.which("buildah")
    images = None if buildah is None else listed(runner, buildah, "images", every=True)
    before = None if images is None else frozenset(str(image.get("id")) for image in images)
    return StandInBases(host, paths, before)


def forget_registry(
    runner: Runner, host: str, env: Mapping[str, str], bases: StandInBases | None = None
) -> list[str]:
    """Remove from buildah's image store the names on registry ``host`` (``HOST:PORT``),
    e.g. ``127.0.0.1:PORT/stand-in/php@sha256:...``, which ``buildah build`` gives a base
    it pulls; returns those removed. For a rehearsal's throwaway registries once its
    builds are done, before they stop: a name on one is this run's own (no other run has
    a registry on that port meanwhile) and would name a registry gone. An image that
    holds other names too only loses these; one a container uses is kept; so is one whose
    repository another run is building from (``building_from``: it may have found this
    very image by digest). Never raises (``Runner.cleanup``); no buildah, nothing.

    buildah (1.28) gives a name to one image only: a base pulled by an index digest for a
    second platform takes that name, and the first platform's image is left with none.
    Given the stand-in ``bases`` served from ``host``, such an image goes too (its ID
    returned) when it is one this run pulled (``_nameless_base``), under the same lock."""
    buildah = runner.which("buildah")
    if buildah is None:
        return []
    forgotten: list[str] = []
    images = listed(runner, buildah, "images") or []
    for image in images:
        names = image.get("names")
        ours = [n for n in names or [] if isinstance(n, str) and n.startswith(f"{host}/")]
        paths = {re.split(r"[@:]", n.removeprefix(f"{host}/"), maxsplit=1)[0] for n in ours}
        with contextlib.ExitStack() as stack:
            try:
                for path in sorted(paths):  # OSError: another run is building from it
                    stack.enter_context(locked_file(_base_lock(env, path), wait=False))
            except OSError:
                runner.output.debug(f"kept {', '.join(ours)}: another run may be using it")
                continue
            if ours:  # all of one image's at once: it goes when it has no other name
                for _attempt in range(LIST_ATTEMPTS):  # fails now and then, as a listing does
                    removed = runner.cleanup(
                        [buildah, "rmi", *ours], what=f"buildah rmi of the names on {host}"
                    )
                    if removed.ok:
                        break
                forgotten += ours
    if bases is not None and bases.host == host:
        for image in images:
            path = _nameless_base(runner, buildah, image, bases)
            if path is None:
                continue
            with contextlib.ExitStack() as stack:
                try:  # OSError: another run is building from it, and may use this image
                    stack.enter_context(locked_file(_base_lock(env, path), wait=False))
                except OSError:
                    runner.output.debug(f"kept {image['id']}: another run may be using it")
                    continue
                for _attempt in range(LIST_ATTEMPTS):  # a container using it: it stays
                    removed = runner.cleanup(
                        [buildah, "rmi", image["id"]], what=f"buildah rmi of a base from {host}"
                    )
                    if removed.ok:
                        forgotten.append(image["id"])
                        break
    return forgotten


def _nameless_base(
    runner: Runner, buildah: str, image: Mapping[str, Any], bases: StandInBases
) -> str | None:
    """The repository path of ``image`` when it is a stand-in base this run pulled and
    left without a name: it has no name (an image with any is never removed for it), its
    digest is one of ``bases``' (the index digest it was pulled by), its ID was not in
    the store before this run's builds, and its config has the stand-in label. Else None;
    None too without ``flock``, which alone tells whether another run is building from it."""
    digest, image_id = image.get("digest"), image.get("id")
    path = bases.paths.get(digest) if isinstance(digest, str) else None
    if (
        image.get("names")
        or path is None
        or not isinstance(image_id, str)
        or bases.before is None
        or image_id in bases.before
        or not can_flock()
    ):
        return None
    inspected = runner.cleanup(
        [buildah, "inspect", "--type", "image", image_id], what="buildah inspect of a base"
    )
    try:
        found: Any = json.loads(inspected.stdout or "null") if inspected.ok else None
        labels = found["OCIv1"]["config"].get("Labels") or {}
        said = labels.get(STAND_IN_LABEL)
    except (ValueError, KeyError, TypeError, AttributeError):  # no such answer: not ours
        return None
    return path if said == "true" else None


#: The name ``buildah build`` gives the container of a stage: the base image's last name
#: part, ``-working-container`` and a number when the name is taken (``working-container``
#: alone for ``FROM scratch``).
WORKING_CONTAINER = re.compile(r"(?:\A|-)working-container(?:-\d+)?\Z")


def listed(
    runner: Runner, buildah: str, what: str, *, every: bool = False
) -> list[dict[str, Any]] | None:
    """What ``buildah WHAT --json`` lists (``images``, whole IDs, ``sha256:`` first, with
    ``every`` those it hides too: nameless ones other images are built on; ``containers``);
    None when it cannot say, after ``LIST_ATTEMPTS`` tries (another buildah process adding
    or removing one makes a listing fail now and then). A tidy-up command
    (``Runner.cleanup``): it runs while publisher stops, and never raises."""
    whole = ["--no-trunc", *(["--all"] if every else [])] if what == "images" else []
    for _attempt in range(LIST_ATTEMPTS):
        result = runner.cleanup([buildah, what, "--json", *whole], what=f"buildah {what}")
        if not result.ok:
            continue
        try:
            found = json.loads(result.stdout or "null") or []
        except ValueError:
            continue
        if isinstance(found, list):
            return [item for item in found if isinstance(item, dict)]
    return None


def container_ids(runner: Runner, buildah: str) -> set[str] | None:
    """The IDs of buildah's containers now (None: buildah cannot list them)."""
    containers = listed(runner, buildah, "containers")
    return None if containers is None else {str(c.get("id")) for c in containers}


#: Where the running processes are listed (``store_users``).
PROC = Path("/proc")
#: The programs that make and use working containers in buildah's image store (podman's
#: builds are buildah's).
STORE_TOOLS = frozenset({"buildah", "podman"})
#: The options that choose another image store than the configuration's.
STORE_OPTIONS = (b"--root", b"--runroot", b"--storage-driver")


def store_users(env: Mapping[str, str]) -> list[str] | None:
    """The live buildah and podman processes that may use the image store of buildah run
    with ``env``, as ``COMMAND (pid N)``; None when the processes cannot be listed. A
    process is left out only when it uses another store for sure: this user can read its
    environment, which names another ``CONTAINERS_STORAGE_CONF``, and its command line
    has none of ``STORE_OPTIONS``. Publisher's own buildah commands are over by then."""
    conf = env.get("CONTAINERS_STORAGE_CONF") or ""
    try:
        entries = sorted((e for e in PROC.iterdir() if e.name.isdigit()), key=lambda e: int(e.name))
    except OSError:
        return None
    found: list[str] = []
    for entry in entries:
        with contextlib.suppress(OSError):  # (a process that ended meanwhile)
            if (entry / "comm").read_text().strip() not in STORE_TOOLS:
                continue
            if _started_by(entry, started_here()):  # another leg's, of this run: never
                continue  # a container of this base for this platform
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv == [b""]:  # a zombie's: it uses nothing any more
                continue
            if not any(word.startswith(STORE_OPTIONS) for word in argv) and _storage_conf(
                entry
            ) not in (None, conf):
                continue
            command = b" ".join(argv).decode("utf-8", "replace").strip()
            found.append(f"{command[:120]} (pid {entry.name})")
    return found


def _started_by(entry: Path, pids: frozenset[int]) -> bool:
    """Whether process ``entry`` is one of ``pids`` or descends from one (its parent, its
    parent's parent, and so on, as ``stat`` says each one's); False when that cannot be
    read."""
    for _ in range(64):
        if entry.name.isdigit() and int(entry.name) in pids:
            return True
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            return False
        fields = stat.rpartition(")")[2].split()  # (after the command's name, which may hold ")")
        if len(fields) < 2 or not fields[1].isdigit() or int(fields[1]) <= 1:
            return False
        entry = PROC / fields[1]
    return False


def _storage_conf(entry: Path) -> str | None:
    """The ``CONTAINERS_STORAGE_CONF`` of process ``entry`` ("" when it has none); None
    when this user may not read its environment."""
    try:
        environ = (entry / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    named = [v for v in environ if v.startswith(b"CONTAINERS_STORAGE_CONF=")]
    return named[-1].partition(b"=")[2].decode("utf-8", "replace") if named else ""


def remove_build_containers(
    runner: Runner,
    buildah: str,
    before: set[str] | None,
    base: Reference | None,
    platform: Platform,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Remove the working containers a stopped ``buildah build`` left, and return their
    names. buildah removes them itself when a build fails, but not when a signal
    (publisher stopping: SIGTERM to its process group; the OOM killer) reaches it outside
    a RUN step (as it creates the container, in an ADD, in the commit): it dies of it and
    leaves the container. Called only then (``runner.ended_by_signal``), never after a
    build's own failure, which left nothing.

    Only that build's are meant, not those of builds going on meanwhile (another leg or
    run, another tool): those listed now and not in ``before`` (their IDs
    as the build started; None: not known, nothing is removed), named as buildah names a
    stage's container, made from an image pulled by ``base``'s digest (its digest, or a
    name of it: a ``FROM REPO@DIGEST`` names the image it pulls so, until another
    platform's pull takes the name; without a base, nothing is removed) for ``platform``
    (the other legs of a line build from the same base for another). buildah says no more
    of which build made a container: one that another build (another run, another tool)
    made from the same base for the same platform while this one ran fits too, and
    removing it would make that build fail ("container not known"); when the stopped build
    was in a RUN step, it is the only one there is. So while another buildah or podman
    process may use the same image store (``store_users``, of buildah run with ``env``;
    or when that cannot be told), nothing is removed: the debug output, and the line
    saying the run was interrupted when publisher stops (``stop.leave``), name the
    containers kept and the ``buildah rm`` that removes them once those processes are
    over. Each command is a tidy-up (``Runner.cleanup``: it runs while publisher stops,
    for up to ``CLEANUP_TIMEOUT`` seconds); never raises."""
    if before is None or base is None or not base.digest:
        return []
    new = [
        container
        for container in listed(runner, buildah, "containers") or []
        if str(container.get("id")) not in before
        and WORKING_CONTAINER.search(str(container.get("containername", "")))
    ]
    images = listed(runner, buildah, "images") if new else None
    from_base = {
        str(image.get("id")).removeprefix("sha256:")
        for image in images or []
        if image.get("digest") == base.digest
        or any(str(name).endswith(f"@{base.digest}") for name in image.get("names") or [])
    }
    left: list[tuple[str, str]] = []
    for container in new:
        cid, name = str(container.get("id")), str(container.get("containername"))
        if container.get("imageid") not in from_base:
            continue
        made_for = runner.cleanup(
            [buildah, "inspect", "--type", "container", "--format", PLATFORM_FORMAT, cid],
            what="buildah inspect",
        )
        if made_for.ok and made_for.stdout.strip() == platform.value:
            left.append((cid, name))
    users = store_users(os.environ if env is None else env) if left else []
    if users != []:
        names = " ".join(name for _cid, name in left)
        who = "; ".join(users) if users else "the running processes cannot be listed"
        words = (
            f"kept buildah's working container(s) made from {base} for {platform} while the "
            f"stopped build ran, as another build may be using them ({who}): {names}; once "
            f"that build is over, `buildah rm {names}` removes what is still there"
        )
        runner.output.debug(words)
        if stop.stopping():
            stop.leave(words)
        return []
    return [
        name
        for cid, name in left
        if runner.cleanup([buildah, "rm", cid], what=f"buildah rm {name}").ok
    ]


def local_name_for(request: BuildRequest, token: str) -> str:
    """buildah names unqualified local images under ``localhost/``."""
    return f"localhost/{request.local_name(token)}"


@dataclass
class BuildahBuilder:
    runner: Runner
    isolation: str | None = None
    image_format: str = DEFAULT_FORMAT
    name: BuilderName = BuilderName.BUILDAH

    @property
    def _isolation(self) -> str:
        return self.isolation or isolation_from_env(self._env) or DEFAULT_ISOLATION

    @property
    def _env(self) -> Mapping[str, str]:
        """The environment buildah runs in (the process's when the runner sets none)."""
        env = getattr(self.runner, "env", None)
        return os.environ if env is None else env

    def available(self) -> bool:
        return self.runner.which("buildah") is not None

    def check(self) -> str:
        buildah = self.runner.require("buildah")
        version = probed_version(
            self.runner, [buildah, "--version"], "buildah", MIN_VERSION, INSTALL_HINTS["buildah"]
        )
        problem = rootless_problem_here()
        if problem is not None:
            others = dockercli.installed_builders(
                self.runner, BuilderName.BUILDX, BuilderName.DOCKER
            )
            hint = rootless_hint(_read(SUBUID), _read(SUBGID), _user_name(os.geteuid()))
            raise BrokenToolError(
                problem, hint=hint + (f"; or build with docker: {others}" if others else "")
            )
        refused = open_files_problem()
        if refused is not None:
            raise refused
        require_isolation(self._env, self.isolation)
        require_auth_file(getattr(self.runner, "env", None) or os.environ)
        return "buildah " + ".".join(map(str, version))

    def commands(self, request: BuildRequest) -> tuple[tuple[str, ...], ...]:
        name = local_name_for(request, "RANDOM")
        return (
            tuple(
                build_argv(request, name, isolation=self._isolation, image_format=self.image_format)
            ),
            tuple(push_argv(request, name, image_format=self.image_format)),
            tuple(rmi_argv(name)),
        )

    def build(self, request: BuildRequest) -> BuildOutput:
        start = time.monotonic()
        require_emulation(request.platform)
        buildah = self.runner.require("buildah")
        request.work_dir.mkdir(parents=True, exist_ok=True)
        local_name = local_name_for(request, uuid.uuid4().hex[:12])
        with scratch(self.runner) as env:
            try:
                self._build(request, local_name, buildah, env)

                def fresh_layout() -> None:
                    if request.layout_dir.exists():
                        shutil.rmtree(request.layout_dir)
                    request.digest_file.unlink(missing_ok=True)

                fresh_layout()
                # Again after "layer not known": another leg's image, holding layers identical
                # to this one's (--timestamp), removed while this push read them by digest.
                run_buildah(
                    self.runner,
                    push_argv(request, local_name, buildah=buildah, image_format=self.image_format),
                    what=f"buildah push (PHP {request.php}, {request.platform}) into an OCI layout",
                    between=fresh_layout,
                    env=env,
                )
            finally:
                self.runner.cleanup(rmi_argv(local_name, buildah=buildah))
        pushed = request.digest_file.read_text(encoding="utf-8").strip()
        if read_layout(request.layout_dir).digest != pushed:
            raise CommandError(
                f"buildah reported digest {pushed} but the layout {request.layout_dir} holds another",
                hint=f"remove {request.layout_dir} and rebuild",
            )
        base = str(request.base) if request.base else None
        digest = normalize_config(request.layout_dir, base)
        return checked_output(self.name, request, digest, started=start)

    def _build(
        self, request: BuildRequest, local_name: str, buildah: str, env: Mapping[str, str]
    ) -> None:
        """``buildah build``, again after a failure listed in ``TRANSIENT_FAILURES``; the
        working container of a build stopped by a signal is removed
        (``remove_build_containers``)."""
        what = f"buildah build (PHP {request.php}, {request.platform})"
        argv = build_argv(
            request,
            local_name,
            buildah=buildah,
            isolation=self._isolation,
            image_format=self.image_format,
        )
        again = build_argv(
            request.rebuilt,
            None,
            buildah=buildah,
            isolation=self._isolation,
            image_format=self.image_format,
        )
        hint = failed_build_hint(request, again)
        before = container_ids(self.runner, buildah)
        with emulation_advice(request.platform), building_from(self._env, request.base):
            try:
                run_buildah(self.runner, argv, what=what, hint=hint, env=env)
            except BaseException as exc:
                if ended_by_signal(exc):
                    left = remove_build_containers(
                        self.runner, buildah, before, request.base, request.platform, self._env
                    )
                    if left:
                        self.runner.output.debug(f"removed what {what} left: {', '.join(left)}")
                raise
