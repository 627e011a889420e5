"""Builders: exact argv for buildx, buildah and docker; tool checks; selection; layouts.

Nothing runs: argv comes from pure functions, and builder flows use a scripted
FakeRunner. Real builds are in tests/integration/test_builders.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shlex
import tarfile
from pathlib import Path

import pytest

from publisher.adapters import emulation as emulation_mod
from publisher.adapters import runner as runner_module
from publisher.adapters import stop
from publisher.adapters.builders import (
    BuildahBuilder,
    BuilderName,
    BuildRequest,
    BuildxBuilder,
    DockerBuilder,
    dockercli,
    select_builder,
)
from publisher.adapters.builders import buildah as buildah_mod
from publisher.adapters.builders import buildx as buildx_mod
from publisher.adapters.builders import docker as docker_mod
from publisher.adapters.builders.base import (
    LoginAnswer,
    epoch_seconds,
    parse_version,
    require_version,
)
from publisher.adapters.builders.dockercli import builtin_buildkit_ok, invalid_plugin
from publisher.adapters.builders.layout import (
    docker_archive_to_layout,
    init_layout,
    merge_layouts,
    normalize_config,
    read_layout,
    write_blob,
    write_index,
)
from publisher.adapters.emulation import emulation_missing
from publisher.adapters.runner import Completed
from publisher.core import config as config_module
from publisher.core.errors import CommandError, ConfigError, ToolMissingError, UsageError
from publisher.core.platforms import Platform
from publisher.core.reference import Reference
from publisher.resolve import DOCKER_MANIFEST, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST
from tests.conftest import ROOT
from tests.support.fake_runner import Call, FakeRunner, fail, ok

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
REPO = Reference("docker.io", "acme/php-fpm")
BASE = Reference("127.0.0.1:5000", "stand-in/php", None, DIGEST_B)
CTX = Path("/src")
DOCKERFILE = Path("/src/dockerfiles/8.4/Dockerfile")

DOCKER = "/usr/bin/docker"
NEW_DOCKER = "/usr/local/bin/docker"
BUILDAH = "/usr/bin/buildah"


class Creds:
    username = "robot"
    password = "p4ss-w0rd-canary"


#: Not this machine's QEMU setup (tests that need it set their own).
pytestmark = pytest.mark.usefixtures("no_host_binfmt")


def request(tmp_path: Path, **changes: object) -> BuildRequest:
    fields: dict[str, object] = {
        "php": "8.4",
        "platform": Platform.ARM64,
        "context": CTX,
        "dockerfile": DOCKERFILE,
        "repository": REPO,
        "work_dir": tmp_path,
        "base": BASE,
        "release": "v1.2.3",
        "created": "2025-01-02T03:04:05Z",
        "revision": "abc123",
    }
    fields.update(changes)
    return BuildRequest(**fields)  # type: ignore[arg-type]


BUILD_ARGS = [
    "--build-arg",
    f"PHP_BASE_IMAGE=127.0.0.1:5000/stand-in/php@{DIGEST_B}",
    "--build-arg",
    "PUBLISHER_RELEASE=v1.2.3",
    "--build-arg",
    "PUBLISHER_CREATED=2025-01-02T03:04:05Z",
    "--build-arg",
    "PUBLISHER_REVISION=abc123",
]
EPOCH = "1735787045"


# ----------------------------------------------------------------- requests


def test_request_for_a_configured_line_pins_the_base_and_targets_the_primary(
    tmp_path: Path,
) -> None:
    cfg = config_module.load(
        ROOT / "examples/offline/matrix.yaml", {"PUBLISHER_BASE_MIRROR": "127.0.0.1:5000"}
    )
    line = cfg.line("8.4")
    base = cfg.base_pull_ref(line).with_digest(DIGEST_B)
    req = BuildRequest.for_line(
        cfg, line, Platform.AMD64, base=base, work_dir=tmp_path, release="v1.0.0"
    )
    assert req.repository == Reference("docker.io", "stand-in-example/php-fpm")
    assert req.dockerfile == ROOT / "examples/offline/dockerfiles/8.4/Dockerfile"
    assert req.context == ROOT / "examples/offline"
    assert req.base_plain_http is True
    assert req.target_plain_http is False
    assert req.build_args[0] == ("PHP_BASE_IMAGE", f"127.0.0.1:5000/stand-in/php@{DIGEST_B}")
    assert req.layout_dir == tmp_path / "php-8.4-amd64.oci"
    assert req.cache_ref == "docker.io/stand-in-example/php-fpm:buildcache-php-8.4-amd64"


def test_credentials_never_show_in_a_request_repr(tmp_path: Path) -> None:
    req = request(tmp_path, credentials=Creds())
    assert Creds.password not in repr(req)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-02T03:04:05Z", 1735787045),
        ("2025-01-02T03:04:05+00:00", 1735787045),
        ("1970-01-01T00:00:00Z", 0),
        ("", None),
        ("yesterday", None),
    ],
)
def test_created_time_becomes_a_source_date_epoch(text: str, expected: int | None) -> None:
    assert epoch_seconds(text) == expected


# ----------------------------------------------------------------- buildah


def test_buildah_argv(tmp_path: Path) -> None:
    req = request(tmp_path, base_plain_http=True)
    assert buildah_mod.build_argv(req, "localhost/publisher-build/php-8.4-arm64:t") == [
        "buildah",
        "build",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--platform",
        "linux/arm64",
        "-f",
        str(DOCKERFILE),
        *BUILD_ARGS,
        "--tls-verify=false",
        "--timestamp",
        EPOCH,
        "-t",
        "localhost/publisher-build/php-8.4-arm64:t",
        "/src",
    ]
    assert buildah_mod.push_argv(req, "N") == [
        "buildah",
        "push",
        "--format",
        "v2s2",
        "--digestfile",
        str(tmp_path / "php-8.4-arm64.digest"),
        "N",
        f"oci:{tmp_path / 'php-8.4-arm64.oci'}",
    ]


def test_every_builder_labels_the_image_with_the_dockerfile_it_built(tmp_path: Path) -> None:
    """The Dockerfile's sha256 is given as a label on the command line (a Dockerfile cannot
    name its own digest), after the build arguments, and on the command a failed build's
    tip names too: a rerun of the release tells by it what the image was built from."""
    req = request(tmp_path, dockerfile_sha256=DIGEST_A)
    label = ["--label", f"dev.publisher.dockerfile={DIGEST_A}"]
    for argv in (
        buildah_mod.build_argv(req, "N"),
        docker_mod.build_argv(req, "N"),
        docker_mod.rebuild_argv(req),
        buildx_mod.build_argv(req),
        buildx_mod.rebuild_argv(req),
    ):
        at = argv.index("--label")
        assert argv[at : at + 2] == label, argv
        assert argv[at - 2] == "--build-arg", argv
    assert "--label" not in buildah_mod.build_argv(request(tmp_path), "N")


def test_buildah_verifies_tls_unless_the_base_registry_is_plain_http(tmp_path: Path) -> None:
    argv = buildah_mod.build_argv(request(tmp_path, created=""), "N", isolation="oci")
    assert "--tls-verify=false" not in argv
    assert "--timestamp" not in argv
    assert argv[2:4] == ["--isolation", "oci"]


def test_buildah_isolation_follows_the_option_then_the_environment(tmp_path: Path) -> None:
    runner = FakeRunner(tools={"buildah": BUILDAH}, env={"BUILDAH_ISOLATION": "rootless"})
    assert BuildahBuilder(runner).commands(request(tmp_path))[0][2:4] == ("--isolation", "rootless")
    chosen = BuildahBuilder(runner, isolation="chroot").commands(request(tmp_path))
    assert chosen[0][2:4] == ("--isolation", "chroot")
    assert BuildahBuilder(FakeRunner()).commands(request(tmp_path))[0][3] == "chroot"


def buildah_1_28(**env: str) -> FakeRunner:
    return FakeRunner(tools={"buildah": BUILDAH}, env=env).on(
        [BUILDAH, "--version"], ok("buildah version 1.28.2 (image-spec 1.0.2)\n")
    )


@pytest.mark.parametrize("value", ["bogus", "runc", "chroot ", " ", "\r"])
def test_buildah_check_refuses_an_isolation_buildah_does_not_know(
    value: str, tmp_path: Path
) -> None:
    """Bad input, exit 2, naming the variable and what it takes, as every variable publisher
    reads (PUBLISHER_BUILD_CACHE); blanks too: buildah reads the variable itself (``buildah
    from`` refuses " "), so publisher cannot take it for unset as it does its own settings."""
    runner = buildah_1_28(BUILDAH_ISOLATION=value)
    with pytest.raises(UsageError, match="is not an isolation buildah knows") as caught:
        BuildahBuilder(runner).check()
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith(f"BUILDAH_ISOLATION={value!r} is not")
    assert "(chroot, oci, rootless)" in caught.value.message
    assert "unset it" in (caught.value.hint or "")
    with pytest.raises(UsageError, match="BUILDAH_ISOLATION="):
        BuildahBuilder(runner).commands(request(tmp_path))
    with pytest.raises(ConfigError, match="isolation: 'bogus' is not"):
        BuildahBuilder(buildah_1_28(), isolation="bogus").check()


@pytest.mark.parametrize("value", ["", "chroot", "OCI", "rootless", "default"])
def test_buildah_check_takes_every_isolation_buildah_knows(value: str) -> None:
    assert BuildahBuilder(buildah_1_28(BUILDAH_ISOLATION=value)).check() == "buildah 1.28.2"


def test_buildah_commands_for_dry_run(tmp_path: Path) -> None:
    commands = BuildahBuilder(FakeRunner()).commands(request(tmp_path))
    assert [c[1] for c in commands] == ["build", "push", "rmi"]


def test_buildah_check_rejects_an_old_version() -> None:
    runner = FakeRunner(tools={"buildah": BUILDAH}).on(
        [BUILDAH, "--version"], ok("buildah version 1.19.6 (image-spec 1.0.1)\n")
    )
    with pytest.raises(ToolMissingError, match=r"buildah 1\.19\.6 is too old.*1\.24\.0") as caught:
        BuildahBuilder(runner).check()
    assert caught.value.hint is not None and "install" in caught.value.hint


def test_an_old_builder_is_named_by_its_path() -> None:
    """Another, newer one may be installed too: the message says which one answered."""
    runner = FakeRunner(tools={"buildah": BUILDAH}).on(
        [BUILDAH, "--version"], ok("buildah version 1.19.6 (image-spec 1.0.1)\n")
    )
    with pytest.raises(ToolMissingError) as caught:
        BuildahBuilder(runner).check()
    assert caught.value.message.startswith(f"buildah 1.19.6 is too old ({BUILDAH}); ")
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("upgrade it, or put a newer buildah first on PATH; ")


def steps(runner: FakeRunner) -> list[str]:
    """The buildah commands run, by their verb, without the listings of its containers
    (``remove_build_containers``)."""
    return [argv[1] for argv in runner.argvs() if argv[1] != "containers"]


def test_buildah_build_failure_removes_the_local_image(tmp_path: Path) -> None:
    runner = FakeRunner(tools={"buildah": BUILDAH}).on(
        [BUILDAH, "build"], fail(1, stderr="exec format error")
    )
    with pytest.raises(CommandError, match="exec format error") as caught:
        BuildahBuilder(runner).build(request(tmp_path))
    assert caught.value.hint is not None and "qemu-user-static" in caught.value.hint
    assert steps(runner) == ["build", "rmi"]


def test_buildah_gets_a_scratch_dir_of_its_own_removed_afterwards(tmp_path: Path) -> None:
    """buildah keeps its scratch directories (``buildahNNN``) in TMPDIR, else /var/tmp, and
    a buildah stopped by a signal leaves them there: each build gives it a TMPDIR of its
    own inside that one, removed with what buildah left in it."""
    parent = tmp_path / "tmp"
    parent.mkdir()
    given: list[str] = []

    def build(call: Call) -> Completed:
        given.append(call.env["TMPDIR"])
        (Path(call.env["TMPDIR"]) / "buildah1234").mkdir()  # as a killed buildah leaves it
        return fail(1, stderr="exec format error")

    runner = FakeRunner(tools={"buildah": BUILDAH}, env={"TMPDIR": str(parent)})
    with pytest.raises(CommandError, match="exec format error"):
        BuildahBuilder(runner.on([BUILDAH, "build"], build)).build(request(tmp_path))
    assert len(given) == 1 and Path(given[0]).parent == parent
    assert Path(given[0]).name.startswith(buildah_mod.SCRATCH_PREFIX)
    assert list(parent.iterdir()) == []


RACED = (
    "Error: committing container for step {...}: copying layers and metadata for container "
    '"d122ace7": committing the finished image: creating image "3ff018a5": layer not known'
)


def test_buildah_builds_again_when_another_build_raced_it_in_the_image_store(
    tmp_path: Path,
) -> None:
    """Two releases building identical layers at once: buildah's commit can find the
    layer gone ("layer not known"). The build is retried, at most BUILD_ATTEMPTS times,
    with a warning each time; the local image is removed once, at the end."""
    runner = FakeRunner(tools={"buildah": BUILDAH}).on([BUILDAH, "build"], fail(125, stderr=RACED))
    with pytest.raises(CommandError, match="layer not known"):
        BuildahBuilder(runner).build(request(tmp_path))
    assert steps(runner) == ["build"] * buildah_mod.BUILD_ATTEMPTS + ["rmi"]
    builds = runner.argvs("build")
    assert len(set(builds)) == 1  # the same command each time, into the same local name
    said = runner.stream.getvalue()
    assert said.count("another buildah process changed the image store at the same time") == 2, said
    assert "attempt 2 of 3" in said and "attempt 3 of 3" in said


PUSH_RACED = (
    'Error: pushing image "localhost/publisher-build/php-8.4-amd64:9e928f091749" to "oci:/tmp/'
    'x/php-8.4-amd64.oci": reading blob sha256:c802f507: layer not known'
)


def test_buildah_pushes_again_when_another_leg_removed_a_layer_it_was_reading(
    tmp_path: Path,
) -> None:
    """Two legs whose images hold identical layers (--timestamp): one leg's image removed
    once it is pushed can take a layer the other's push is reading by digest ("layer not
    known"). The push is run again, at most BUILD_ATTEMPTS times, with a warning each time
    and a fresh layout; the image is built once and removed once, at the end."""
    runner = (
        FakeRunner(tools={"buildah": BUILDAH})
        .on([BUILDAH, "build"], ok())
        .on([BUILDAH, "push"], fail(125, stderr=PUSH_RACED))
    )
    with pytest.raises(CommandError, match="layer not known"):
        BuildahBuilder(runner).build(request(tmp_path))
    done = steps(runner)
    assert done == ["build"] + ["push"] * buildah_mod.BUILD_ATTEMPTS + ["rmi"], done
    said = runner.stream.getvalue()
    assert said.count("another buildah process changed the image store at the same time") == 2
    assert "into an OCI layout" in said and "attempt 3 of 3" in said


SEALING = (
    "+ php -m\nClose_Fd sealing memfd copy: Device or resource busy\n"
    'subprocess exited with status 1\nError: building at STEP "RUN ...": exit status 1'
)


def test_buildah_builds_again_when_runc_failed_to_start_a_step(tmp_path: Path) -> None:
    """runc 1.1 can fail to seal its memfd copy while another container starts (two
    builds at once): the step never ran, and building again gets past it."""
    answers = iter([fail(1, stderr=SEALING)])
    runner = (
        FakeRunner(tools={"buildah": BUILDAH})
        .on([BUILDAH, "build"], lambda _call: next(answers, ok()))
        .on([BUILDAH, "push"], fail(125, stderr="stop here"))
    )
    with pytest.raises(CommandError, match="stop here"):  # the second build got through
        BuildahBuilder(runner).build(request(tmp_path))
    assert steps(runner) == ["build", "build", "push", "rmi"]
    said = runner.stream.getvalue()
    assert "the container runtime failed to start a RUN step" in said, said
    assert "'sealing memfd copy'" in said and "attempt 2 of 3" in said


def test_buildah_builds_again_only_for_the_storage_race(tmp_path: Path) -> None:
    answers = iter([fail(125, stderr=RACED), fail(1, stderr="exec format error")])
    runner = FakeRunner(tools={"buildah": BUILDAH}).on(
        [BUILDAH, "build"], lambda _call: next(answers)
    )
    with pytest.raises(CommandError, match="exec format error"):
        BuildahBuilder(runner).build(request(tmp_path))
    assert steps(runner) == ["build", "build", "rmi"]


@pytest.fixture(autouse=True)
def no_other_buildah(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine's processes are not the test's: none runs buildah (a test that needs
    one adds it to the returned /proc)."""
    proc = tmp_path / "proc"
    proc.mkdir()
    monkeypatch.setattr(buildah_mod, "PROC", proc)
    return proc


def _process(
    proc: Path,
    pid: int,
    comm: str,
    argv: list[str],
    environ: list[str] | None,
    parent: int | None = None,
) -> None:
    """Process ``pid`` in the /proc ``proc`` (``environ`` None: this user may not read it;
    ``parent``: its parent process, said in its ``stat``)."""
    entry = proc / str(pid)
    entry.mkdir()
    if parent is not None:
        (entry / "stat").write_text(f"{pid} ({comm} (x)) S {parent} {pid} {pid} 0 -1\n")
    (entry / "comm").write_text(comm + "\n")
    (entry / "cmdline").write_bytes(b"".join(word.encode() + b"\0" for word in argv))
    if environ is not None:
        (entry / "environ").write_bytes(b"".join(v.encode() + b"\0" for v in environ))


def test_the_buildah_processes_that_may_use_the_image_store_are_found(
    no_other_buildah: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buildah or podman process uses buildah's image store unless it is sure it uses
    another: its environment, readable, names another storage.conf, and no option of its
    chooses the store."""
    proc = no_other_buildah
    mine = "/s/mine.conf"
    _process(proc, 10, "buildah", ["buildah", "build", "."], ["HOME=/root"])  # the default
    _process(proc, 11, "buildah", ["buildah", "run", "c"], [f"CONTAINERS_STORAGE_CONF={mine}"])
    _process(proc, 12, "buildah", ["buildah", "build", "."], ["CONTAINERS_STORAGE_CONF=/s/o"])
    _process(proc, 13, "buildah", ["buildah", "--root", "/r", "build"], ["X=1"])
    _process(proc, 14, "podman", ["podman", "build", "."], None)  # another user's
    _process(proc, 15, "bash", ["bash", "-c", "buildah"], [])  # not buildah itself
    _process(proc, 16, "buildah", [], [])  # a zombie
    # this run's other legs: a command it started, and one under a wrapper it started
    _process(proc, 17, "buildah", ["buildah", "build", "leg"], [], parent=os.getpid())
    _process(proc, 18, "unshare", ["unshare", "buildah"], [], parent=os.getpid())
    _process(proc, 19, "buildah", ["buildah", "run", "leg"], [], parent=18)
    _process(proc, 20, "buildah", ["buildah", "build", "other"], [], parent=1)  # another run's
    # started by this process, not through a runner (another run, as a test starts one)
    _process(proc, 21, "buildah", ["buildah", "build", "x"], [], parent=os.getpid())
    monkeypatch.setattr(buildah_mod, "started_here", lambda: frozenset({17, 18}))
    (proc / "self").mkdir()

    found = buildah_mod.store_users({"CONTAINERS_STORAGE_CONF": mine})
    assert found == [
        "buildah run c (pid 11)",
        "buildah --root /r build (pid 13)",
        "podman build . (pid 14)",
    ]
    assert buildah_mod.store_users({}) == [
        "buildah build . (pid 10)",
        "buildah --root /r build (pid 13)",
        "podman build . (pid 14)",
        "buildah build other (pid 20)",
        "buildah build x (pid 21)",
    ]
    (proc / "self").rmdir()
    for entry in proc.iterdir():
        for file in entry.iterdir():
            file.unlink()
        entry.rmdir()
    proc.rmdir()
    assert buildah_mod.store_users({}) is None  # no /proc: cannot be told


def test_after_a_build_only_the_working_container_it_left_is_removed(tmp_path: Path) -> None:
    """A build stopped by a signal outside a RUN step leaves its working container: what
    goes is a container new since the build started, named as buildah names a build's,
    made from an image named with the base's digest, for the build's platform; never
    one there before, another tool's, one from another base or another leg's."""
    assert BASE.digest is not None

    def container(cid: str, name: str, image: str) -> dict[str, object]:
        return {"id": cid, "builder": True, "imageid": image, "containername": name}

    containers = [
        container("c0", "php-working-container", "arm"),  # there before
        container("c1", "127.0.0.1-working-container-2", "arm"),  # this build's
        container("c2", "127.0.0.1-working-container-3", "amd"),  # the amd64 leg's
        container("c3", "127.0.0.1-working-container-4", "other"),  # another base's
        container("c4", "publisher-smoke-0123456789ab", "arm"),  # a smoke test's
        container("c5", "127.0.0.1-working-container-5", "arm"),  # the other platform's
        container("c6", "127.0.0.1-working-container-6", "unnamed"),  # this build's too
    ]
    images = [
        {"id": "sha256:arm", "digest": DIGEST_A, "names": [f"127.0.0.1:5000/s/php@{BASE.digest}"]},
        {
            "id": "sha256:amd",
            "digest": BASE.digest,
            "names": [f"127.0.0.1:6000/s/php@{BASE.digest}"],
        },
        {"id": "sha256:other", "digest": DIGEST_A, "names": [f"127.0.0.1:5000/s/php@{DIGEST_A}"]},
        # pulled by the base's digest, whose name the amd64 leg's pull of it then took
        {"id": "sha256:unnamed", "digest": BASE.digest, "names": None},
    ]
    made_for = {"c1": "linux/arm64", "c2": "linux/amd64", "c5": "linux/amd64", "c6": "linux/arm64"}
    runner = (
        FakeRunner(tools={"buildah": BUILDAH})
        .on([BUILDAH, "containers"], ok(json.dumps(containers)))
        .on([BUILDAH, "images"], ok(json.dumps(images)))
        .on([BUILDAH, "inspect"], lambda call: ok(made_for.get(call.argv[-1], "") + "\n"))
    )

    removed = buildah_mod.remove_build_containers(runner, BUILDAH, {"c0"}, BASE, Platform.ARM64)

    assert removed == ["127.0.0.1-working-container-2", "127.0.0.1-working-container-6"]
    rms = [argv for argv in runner.cleanups() if argv[1] == "rm"]
    assert rms == [(BUILDAH, "rm", "c1"), (BUILDAH, "rm", "c6")]
    assert all(call.cleanup for call in runner.calls)  # they run while publisher stops
    # not known what was there before, or no base: nothing is removed
    assert buildah_mod.remove_build_containers(runner, BUILDAH, None, BASE, Platform.ARM64) == []
    assert buildah_mod.remove_build_containers(runner, BUILDAH, set(), None, Platform.ARM64) == []


#: How a build ended, by what its ``buildah build`` answered: of its own accord (a RUN
#: step's exit status; one of TRANSIENT_FAILURES, each attempt), or by a signal (another
#: process's SIGKILL; publisher stopping, here while the RUN step's exit is reported).
ENDINGS = {
    "failed": fail(1, stderr='Error: building at STEP "RUN exit 3": exit status 3'),
    "transient": fail(125, stderr=RACED),
    "killed": fail(-9),
    "stopping": fail(1, stderr='Error: building at STEP "RUN sleep 9": exit status 143'),
}


@pytest.mark.parametrize(
    ("ending", "removed"),
    [("failed", False), ("transient", False), ("killed", True), ("stopping", True)],
)
def test_only_a_build_ended_by_a_signal_has_the_working_container_removed(
    tmp_path: Path, ending: str, removed: bool
) -> None:
    """buildah removes the working container of a build that fails of its own, and not
    that of a build killed outside a RUN step. A container made meanwhile from the same
    base for the same platform is then another build's (another run on this machine, in
    its RUN step): removing it would fail that build ("container not known"). It goes
    only after a build ended by a signal, which leaves its own."""
    assert BASE.digest is not None
    left = {"id": "c1", "imageid": "base", "containername": "127.0.0.1-working-container"}
    listings = iter([ok("[]")])  # as the build starts; afterwards, the container

    def build(_call: Call) -> Completed:
        if ending == "stopping":
            runner_module.stop_children()  # what the signal handler does
        return ENDINGS[ending]

    runner = (
        FakeRunner(tools={"buildah": BUILDAH})
        .on([BUILDAH, "containers"], lambda _call: next(listings, ok(json.dumps([left]))))
        .on([BUILDAH, "images"], ok(json.dumps([{"id": "sha256:base", "digest": BASE.digest}])))
        .on([BUILDAH, "inspect"], ok("linux/arm64\n"))
        .on([BUILDAH, "build"], build)
    )
    try:
        with pytest.raises(CommandError):
            BuildahBuilder(runner).build(request(tmp_path))
    finally:
        runner_module.allow_children()
    rms = [argv for argv in runner.cleanups() if argv[1] == "rm"]
    assert rms == ([(BUILDAH, "rm", "c1")] if removed else [])
    if ending == "transient":  # built again, with nothing removed in between
        assert steps(runner) == ["build"] * buildah_mod.BUILD_ATTEMPTS + ["rmi"]


def test_a_stopped_build_keeps_the_container_another_buildah_may_use(
    tmp_path: Path, no_other_buildah: Path
) -> None:
    """A build stopped in its RUN step leaves nothing (buildah removes its container): a
    container made meanwhile from the same base for the same platform is another build's.
    While another buildah process lives, publisher keeps it and the interruption says how
    to remove it."""
    _process(no_other_buildah, 42, "buildah", ["buildah", "build", "-f", "D", "."], [])
    left = {"id": "c1", "imageid": "base", "containername": "127.0.0.1-working-container-3"}
    listings = iter([ok("[]")])
    said: list[str] = []

    def build(_call: Call) -> Completed:
        runner_module.stop_children()  # what the signal handler does
        return ENDINGS["stopping"]

    runner = (
        FakeRunner(tools={"buildah": BUILDAH})
        .on([BUILDAH, "containers"], lambda _call: next(listings, ok(json.dumps([left]))))
        .on([BUILDAH, "images"], ok(json.dumps([{"id": "sha256:base", "digest": BASE.digest}])))
        .on([BUILDAH, "inspect"], ok("linux/arm64\n"))
        .on([BUILDAH, "build"], build)
    )
    try:
        with pytest.raises(CommandError):
            BuildahBuilder(runner).build(request(tmp_path))
        said.extend(stop.left())
    finally:
        runner_module.allow_children()
    assert [argv for argv in runner.cleanups() if argv[1] == "rm"] == []
    assert len(said) == 1
    assert "buildah build -f D . (pid 42)" in said[0]
    assert said[0].endswith(
        "`buildah rm 127.0.0.1-working-container-3` removes what is still there"
    )


# ----------------------------------------------------------------- docker


def test_docker_argv(tmp_path: Path) -> None:
    req = request(tmp_path)
    assert docker_mod.build_argv(req, "publisher-build/php-8.4-arm64:t", docker=DOCKER) == [
        DOCKER,
        "build",
        "--platform",
        "linux/arm64",
        "-f",
        str(DOCKERFILE),
        *BUILD_ARGS,
        "--build-arg",
        f"SOURCE_DATE_EPOCH={EPOCH}",  # the daemon's BuildKit stamps config and history
        "-t",
        "publisher-build/php-8.4-arm64:t",
        "/src",
    ]
    assert docker_mod.save_argv(req, "N", docker=DOCKER) == [
        DOCKER,
        "save",
        "-o",
        str(tmp_path / "php-8.4-arm64.docker.tar"),
        "N",
    ]
    commands = DockerBuilder(FakeRunner(), docker=DOCKER).commands(req)
    assert commands[0][:3] == ("env", "DOCKER_BUILDKIT=1", DOCKER)


def _docker_clis(runner: FakeRunner, *, new_has_buildx: bool, old: bool = True) -> FakeRunner:
    runner.tools["docker"] = NEW_DOCKER
    runner.tools[NEW_DOCKER] = NEW_DOCKER
    runner.on([NEW_DOCKER, "version", "--format", "{{.Client.Version}}"], ok("28.2.2\n"))
    runner.on(
        [NEW_DOCKER, "buildx", "version"],
        ok("github.com/docker/buildx v0.24.0 d0e5e86\n")
        if new_has_buildx
        else fail(1, stderr="docker: unknown command: docker buildx"),
    )
    runner.on([NEW_DOCKER, "version", "--format", "{{.Server.Version}}"], ok("28.2.2\n"))
    if old:
        runner.tools[DOCKER] = DOCKER
        runner.on([DOCKER, "version", "--format", "{{.Client.Version}}"], ok("20.10.24+dfsg1\n"))
        runner.on([DOCKER, "buildx", "version"], fail(1, stderr="unknown command"))
        runner.on([DOCKER, "version", "--format", "{{.Server.Version}}"], ok("20.10.24+dfsg1\n"))
    return runner


def test_docker_prefers_a_cli_that_can_use_buildkit_without_buildx(tmp_path: Path) -> None:
    runner = _docker_clis(FakeRunner(), new_has_buildx=False)
    builder = DockerBuilder(runner)
    assert builder.check() == f"docker 20.10.24 ({DOCKER})"
    assert builder.docker == DOCKER


def test_docker_refuses_when_every_cli_needs_buildx() -> None:
    runner = _docker_clis(FakeRunner(), new_has_buildx=False, old=False)
    with pytest.raises(ToolMissingError, match="without buildx") as caught:
        DockerBuilder(runner).check()
    assert caught.value.hint is not None and "buildx" in caught.value.hint


def test_docker_check_needs_a_running_daemon() -> None:
    runner = FakeRunner(tools={"docker": DOCKER})
    runner.on([DOCKER, "version", "--format", "{{.Client.Version}}"], ok("20.10.24\n"))
    runner.on(
        [DOCKER, "version", "--format", "{{.Server.Version}}"],
        fail(1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock."),
    )
    runner.on([DOCKER, "buildx", "version"], fail(1))
    with pytest.raises(
        ToolMissingError, match=r"daemon is not reachable.*Cannot connect"
    ) as caught:
        DockerBuilder(runner).check()
    assert caught.value.hint is not None and "dockerd" in caught.value.hint


@pytest.mark.parametrize(
    ("version", "buildx", "expected"),
    [
        ((20, 10, 24), False, True),
        ((22, 6, 0), False, True),
        ((23, 0, 0), False, False),
        ((28, 2, 2), False, False),
        ((28, 2, 2), True, True),
        (None, False, False),
    ],
)
def test_builtin_buildkit_rule(
    version: tuple[int, int, int] | None, buildx: bool, expected: bool
) -> None:
    assert builtin_buildkit_ok(version, buildx) is expected


# ----------------------------------------------------------------- buildx


def test_buildx_argv_pushes_by_digest_with_a_registry_cache(tmp_path: Path) -> None:
    req = request(tmp_path)
    assert buildx_mod.build_argv(req, docker=DOCKER) == [
        DOCKER,
        "buildx",
        "build",
        "--platform",
        "linux/arm64",
        "-f",
        str(DOCKERFILE),
        *BUILD_ARGS,
        "--build-arg",
        f"SOURCE_DATE_EPOCH={EPOCH}",
        "--output",
        "type=image,name=docker.io/acme/php-fpm,push-by-digest=true,name-canonical=true,push=true,"
        "rewrite-timestamp=true",
        "--metadata-file",
        str(tmp_path / "php-8.4-arm64.metadata.json"),
        "--provenance=false",
        "--sbom=false",
        "--cache-from",
        "type=registry,ref=docker.io/acme/php-fpm:buildcache-php-8.4-arm64",
        "--cache-to",
        "type=registry,ref=docker.io/acme/php-fpm:buildcache-php-8.4-arm64,mode=max,ignore-error=true",
        "/src",
    ]


def test_buildx_cache_backends(tmp_path: Path) -> None:
    req = request(tmp_path)
    assert buildx_mod.cache_flags(req, "gha") == [
        "--cache-from",
        "type=gha,scope=php-8.4-arm64",
        "--cache-to",
        "type=gha,scope=php-8.4-arm64,mode=max,ignore-error=true",
    ]
    assert buildx_mod.cache_flags(req, "none") == []
    argv = buildx_mod.build_argv(req, cache="gha")
    assert not any("buildcache" in a for a in argv)  # nothing lands in the image repository
    assert buildx_mod.cache_backend({}) == "registry"
    assert buildx_mod.cache_backend({"PUBLISHER_BUILD_CACHE": "gha"}) == "gha"
    with pytest.raises(UsageError, match="PUBLISHER_BUILD_CACHE='s3' is not a build cache"):
        buildx_mod.cache_backend({"PUBLISHER_BUILD_CACHE": "s3"})


def test_buildx_argv_options(tmp_path: Path) -> None:
    req = request(
        tmp_path,
        cache=False,
        provenance=True,
        sbom=True,
        target_plain_http=True,
        repository=Reference("127.0.0.1:5000", "acme/php"),
        created="",
    )
    argv = buildx_mod.build_argv(req, builder="ci-builder")
    assert argv[:5] == ["docker", "buildx", "build", "--builder", "ci-builder"]
    assert "--provenance=true" in argv and "--sbom=true" in argv
    assert not any(a.startswith("--cache") for a in argv)
    assert not any("SOURCE_DATE_EPOCH" in a for a in argv)
    output = argv[argv.index("--output") + 1]
    assert "rewrite-timestamp" not in output  # nothing to clamp file times to
    assert output.endswith(",push=true,registry.insecure=true")
    assert "name=127.0.0.1:5000/acme/php," in output
    insecure = buildx_mod.cache_flags(request(tmp_path, target_plain_http=True))
    assert all(f.endswith("registry.insecure=true") for f in insecure[1::2])


def test_buildx_reads_the_digest_from_the_metadata_file() -> None:
    text = json.dumps({"containerimage.digest": DIGEST_A, "image.name": "docker.io/acme/php-fpm"})
    assert buildx_mod.digest_from_metadata(text) == DIGEST_A
    with pytest.raises(CommandError, match="not JSON"):
        buildx_mod.digest_from_metadata("{")
    with pytest.raises(CommandError, match=r"no valid 'containerimage\.digest'"):
        buildx_mod.digest_from_metadata(json.dumps({"containerimage.digest": "sha256:short"}))


def _buildx_runner() -> FakeRunner:
    return _docker_clis(FakeRunner(), new_has_buildx=True, old=False)


def test_buildx_build_returns_the_pushed_digest_and_no_layout(tmp_path: Path) -> None:
    runner = _buildx_runner()

    def build(call: Call) -> Completed:
        (tmp_path / "php-8.4-arm64.metadata.json").write_text(
            json.dumps({"containerimage.digest": DIGEST_A})
        )
        return ok()

    runner.on([NEW_DOCKER, "buildx", "build"], build)
    out = BuildxBuilder(runner).build(request(tmp_path))
    assert out.digest == DIGEST_A and out.layout is None and out.pushed
    assert out.builder is BuilderName.BUILDX and out.repository == REPO
    assert not [c for c in runner.calls if c.argv[1] == "login"]  # no credentials: user's login


def test_buildx_logs_in_through_stdin_with_a_throwaway_docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_config = tmp_path / "home-docker"
    (user_config / "cli-plugins").mkdir(parents=True)
    (user_config / "config.json").write_text('{"auths": {}}')
    runner = _buildx_runner()
    runner.env["DOCKER_CONFIG"] = str(user_config)
    seen: dict[str, str] = {}

    def build(call: Call) -> Completed:
        config_dir = Path(call.env["DOCKER_CONFIG"])
        seen["config"] = str(config_dir)
        seen["plugins"] = str((config_dir / "cli-plugins").resolve())
        seen["config_is_a_link"] = str((config_dir / "config.json").is_symlink())
        seen["config_json"] = (config_dir / "config.json").read_text()
        (tmp_path / "work" / "php-8.4-arm64.metadata.json").write_text(
            json.dumps({"containerimage.digest": DIGEST_A})
        )
        return ok()

    runner.on([NEW_DOCKER, "buildx", "build"], build)
    out = BuildxBuilder(runner).build(request(tmp_path / "work", credentials=Creds()))
    assert out.digest == DIGEST_A
    login = next(c for c in runner.calls if c.argv[1] == "login")
    assert login.argv == (
        NEW_DOCKER,
        "login",
        "--username",
        "robot",
        "--password-stdin",
        "docker.io",
    )
    assert login.stdin == Creds.password + "\n"
    assert Creds.password in login.secrets
    assert all(Creds.password not in " ".join(c.argv) for c in runner.calls)
    assert login.env["DOCKER_CONFIG"] == seen["config"] != str(user_config)
    assert seen["plugins"] == str(user_config / "cli-plugins")
    # Not the user's config.json: one of its own, whose entry for the host (and no helper
    # for it) keeps `docker login` from filing the password in a credential store instead.
    assert seen["config_is_a_link"] == "False"
    assert json.loads(seen["config_json"]) == {
        "auths": {"https://index.docker.io/v1/": {}},
        "credHelpers": {"https://index.docker.io/v1/": ""},
    }
    assert not Path(seen["config"]).exists()  # removed afterwards
    assert Creds.password not in runner.stream.getvalue()


INSPECT_DOCKER_DRIVER = """Name:          default
Driver:        docker
Last Activity: 2026-11-30 03:50:46 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
"""


@pytest.mark.parametrize(
    ("text", "driver", "pushes"),
    [
        (INSPECT_DOCKER_DRIVER, "docker", False),
        ("Name: ci\nDriver: docker-container\n", "docker-container", True),
        ("Name: k\nDriver:   kubernetes\n", "kubernetes", True),
        ("", None, True),
    ],
)
def test_the_driver_decides_between_push_by_digest_and_a_layout(
    text: str, driver: str | None, pushes: bool
) -> None:
    assert buildx_mod.parse_driver(text) == driver
    assert buildx_mod.pushes_by_digest(driver) is pushes


def test_buildx_argv_for_a_layout_keeps_production_flags_without_cache_or_push(
    tmp_path: Path,
) -> None:
    req = request(tmp_path, provenance=True)
    pushed = buildx_mod.build_argv(req, docker=DOCKER)
    exported = buildx_mod.build_argv(req, docker=DOCKER, push=False)
    out = exported.index("--output")
    assert exported[out + 1] == (
        f"type=oci,dest={tmp_path / 'php-8.4-arm64.oci'},tar=false,rewrite-timestamp=true"
    )
    assert not any(a.startswith("--cache") for a in exported)
    production = [a for a in pushed if not a.startswith("type=")]
    production = [a for a in production if not a.startswith("--cache")]
    assert [a for a in exported if not a.startswith("type=")] == production
    assert "--provenance=true" in exported
    assert f"SOURCE_DATE_EPOCH={EPOCH}" in exported


def _oci_layout(path: Path, arch: str) -> str:
    """A one-image OCI layout as buildx exports it; returns the manifest digest."""
    init_layout(path)
    config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"diff_ids": []}}).encode()
    config_digest = write_blob(path, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    digest = write_blob(path, manifest)
    write_index(path, [{"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest)}])
    return digest


def _docker_driver_runner() -> FakeRunner:
    runner = _buildx_runner()
    runner.on([NEW_DOCKER, "buildx", "inspect"], ok(INSPECT_DOCKER_DRIVER))
    return runner


@pytest.mark.parametrize(
    ("built_arch", "metadata_digest", "error"),
    [
        ("arm64", None, None),
        ("amd64", None, "buildx built amd64 for linux/arm64"),
        ("arm64", DIGEST_A, "but its metadata file says " + DIGEST_A),
    ],
)
def test_buildx_with_the_docker_driver_returns_the_exported_layout(
    tmp_path: Path, built_arch: str, metadata_digest: str | None, error: str | None
) -> None:
    runner = _docker_driver_runner()
    builder = BuildxBuilder(runner)
    assert "docker driver (exports an OCI layout to push)" in builder.check()
    req = request(tmp_path)

    def build(call: Call) -> Completed:
        dest = call.argv[call.argv.index("--output") + 1].split(",")[1].removeprefix("dest=")
        digest = _oci_layout(Path(dest), built_arch)
        req.metadata_file.write_text(
            json.dumps({"containerimage.digest": metadata_digest or digest})
        )
        return ok()

    runner.on([NEW_DOCKER, "buildx", "build"], build)
    if error:
        with pytest.raises(CommandError, match=error):
            builder.build(req)
        return
    out = builder.build(req)
    assert out.layout == req.layout_dir and not out.pushed
    assert out.digest == read_layout(req.layout_dir).digest
    argv = builder.commands(req)[-1]
    assert argv[argv.index("--output") + 1].startswith("type=oci,dest=")


def test_buildx_refuses_an_unknown_build_cache_when_checked() -> None:
    """At selection, before any registry request or dry-run plan: not at the first build."""
    runner = _docker_driver_runner()
    runner.env = {"PUBLISHER_BUILD_CACHE": "s3"}
    with pytest.raises(UsageError, match="PUBLISHER_BUILD_CACHE='s3' is not a build cache"):
        BuildxBuilder(runner).check()
    runner.env = {"PUBLISHER_BUILD_CACHE": "gha"}
    assert "docker driver" in BuildxBuilder(runner).check()


def test_buildx_is_missing_without_the_plugin() -> None:
    runner = _docker_clis(FakeRunner(), new_has_buildx=False)
    builder = BuildxBuilder(runner)
    assert not builder.available()
    with pytest.raises(ToolMissingError, match="buildx is not installed") as caught:
        builder.check()
    assert caught.value.hint is not None and "setup-buildx-action" in caught.value.hint


def test_a_plugin_docker_lists_as_invalid_is_installed_but_broken() -> None:
    """`docker --help` lists a plugin that cannot run apart, with why; one not listed
    there is not installed (the CLI says the same "not a docker command" of both)."""
    listed = (
        "Management Commands:\n  compose*    Docker Compose\n\n"
        "Invalid Plugins:\n  buildx      failed to fetch metadata: exit status 1\n"
        "  scan        plugin candidate not found\n\nGlobal Options:\n  --config string\n"
    )
    assert invalid_plugin(listed, "buildx") == "failed to fetch metadata: exit status 1"
    assert invalid_plugin(listed, "scan") == "plugin candidate not found"
    assert invalid_plugin(listed, "compose") is None
    assert invalid_plugin(listed.replace("Invalid Plugins:", "Plugins:"), "buildx") is None


def test_a_build_whose_sbom_scanner_could_not_be_pulled_is_told_so() -> None:
    """BuildKit's words when it cannot pull the scanner (offline, a refusal) name it; a
    scanner that ran and failed, or another image not pulled, is not that."""
    offline = (
        "#2 resolve image config for docker-image://docker.io/docker/buildkit-syft-scanner:"
        "stable-1\nERROR: failed to solve: failed to resolve source metadata for "
        "docker.io/docker/buildkit-syft-scanner:stable-1: failed to do request: Head "
        '"https://registry-1.docker.io/v2/...": dial tcp: lookup registry-1.docker.io: no such host'
    )
    found = buildx_mod.unpulled_scanner(offline)
    assert found == "docker.io/docker/buildkit-syft-scanner:stable-1"
    assert "leave --attestations out" in buildx_mod.scanner_hint(found)
    assert (
        buildx_mod.unpulled_scanner("ERROR: failed to solve: docker.io/library/php: not found")
        is None
    )
    assert (
        buildx_mod.unpulled_scanner(
            "#9 [linux/amd64] generating sbom using docker/buildkit-syft-scanner:stable-1\nERROR: process did not complete successfully: exit code: 1"
        )
        is None
    )


def test_buildx_version_is_checked() -> None:
    runner = FakeRunner(tools={"docker": NEW_DOCKER})
    runner.on([NEW_DOCKER, "version", "--format", "{{.Client.Version}}"], ok("24.0.0\n"))
    runner.on([NEW_DOCKER, "buildx", "version"], ok("github.com/docker/buildx v0.9.1 ed00243\n"))
    with pytest.raises(ToolMissingError, match=r"buildx 0\.9\.1 is too old") as caught:
        BuildxBuilder(runner).check()
    # named by the docker CLI whose plugin answered: another may be installed too
    assert caught.value.message.startswith(f"docker buildx 0.9.1 is too old ({NEW_DOCKER}); ")
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("upgrade it, or put a newer docker buildx first on PATH")


# ----------------------------------------------------------------- selection


def test_default_is_buildx_when_installed() -> None:
    runner = _docker_clis(FakeRunner(tools={"buildah": BUILDAH}), new_has_buildx=True)
    assert select_builder(None, runner).name is BuilderName.BUILDX


def test_default_falls_back_to_buildah_then_docker() -> None:
    runner = _docker_clis(FakeRunner(tools={"buildah": BUILDAH}), new_has_buildx=False)
    runner.on([BUILDAH, "--version"], ok("buildah version 1.28.2 (image-spec 1.1.0-rc2)\n"))
    chosen = select_builder(None, runner)
    assert chosen.name is BuilderName.BUILDAH
    assert "builder: buildah (buildah 1.28.2)" in runner.stream.getvalue()
    runner = _docker_clis(FakeRunner(), new_has_buildx=False)
    assert select_builder(None, runner).name is BuilderName.DOCKER


def test_no_builder_at_all_says_how_to_install_one() -> None:
    with pytest.raises(ToolMissingError, match="no image builder found") as caught:
        select_builder(None, FakeRunner())
    hint = caught.value.hint or ""
    assert "buildah" in hint and "docker" in hint and "buildx" in hint


def test_a_named_builder_that_is_missing_is_an_error() -> None:
    with pytest.raises(ToolMissingError, match="buildah is required") as caught:
        select_builder("buildah", FakeRunner())
    assert "apt-get install buildah" in (caught.value.hint or "")


def test_builder_names_are_a_closed_set() -> None:
    assert [n.value for n in BuilderName] == ["buildx", "buildah", "docker"]
    assert BuilderName.parse("docker") is BuilderName.DOCKER
    with pytest.raises(ValueError, match="unknown builder 'podman'; choose one of buildx"):
        BuilderName.parse("podman")
    # The library's entry names the option the name came from.
    with pytest.raises(ConfigError, match="unknown builder 'podman'") as caught:
        select_builder("podman", FakeRunner())
    assert caught.value.field == "--builder"


def test_version_parsing() -> None:
    assert parse_version("buildah version 1.28.2 (image-spec 1.1.0-rc2)") == (1, 28, 2)
    assert parse_version("github.com/docker/buildx v0.10.4 c513d34") == (0, 10, 4)
    assert parse_version("20.10") == (20, 10, 0)
    assert parse_version("no digits") is None
    with pytest.raises(ToolMissingError, match="cannot tell which version of buildah") as raised:
        require_version("buildah", "garbage", (1, 0, 0), "install it")
    assert raised.value.label == "broken tool"


# ----------------------------------------------------------------- layouts


def _docker_archive(
    path: Path, arch: str = "arm64", corrupt: bool = False, compressed: bool = False
) -> bytes:
    """A minimal ``docker save`` archive with two layers; returns the config bytes.

    ``compressed`` stores the layers gzipped, as the containerd image store saves them.
    """
    layers = []
    for i in range(2):
        inner = io.BytesIO()
        with tarfile.open(fileobj=inner, mode="w") as tar:
            data = f"layer {i} content\n".encode()
            info = tarfile.TarInfo(f"file{i}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        layers.append(inner.getvalue())
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]
    if corrupt:
        diff_ids[1] = DIGEST_A
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Healthcheck": {"Test": ["CMD", "php-fpm-healthcheck"]}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": ["x:y"], "Layers": ["l0/layer.tar", "l1/layer.tar"]}]
    ).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in [
            ("manifest.json", manifest),
            (config_name, config),
            ("l0/layer.tar", gzip.compress(layers[0], mtime=1) if compressed else layers[0]),
            ("l1/layer.tar", gzip.compress(layers[1], mtime=1) if compressed else layers[1]),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return config


def test_docker_archive_becomes_a_reproducible_oci_layout(tmp_path: Path) -> None:
    config = _docker_archive(tmp_path / "image.tar")
    first = docker_archive_to_layout(tmp_path / "image.tar", tmp_path / "one")
    second = docker_archive_to_layout(tmp_path / "image.tar", tmp_path / "two")
    assert first == second
    image = read_layout(tmp_path / "one")
    assert image.digest == first
    assert image.media_type == OCI_MANIFEST
    assert image.architecture == "arm64" and image.os == "linux"
    assert [layer["mediaType"] for layer in image.manifest["layers"]] == [OCI_LAYER_GZIP] * 2
    config_blob = tmp_path / "one/blobs/sha256" / image.manifest["config"]["digest"].split(":")[1]
    assert config_blob.read_bytes() == config  # kept byte for byte (HEALTHCHECK included)
    index = json.loads((tmp_path / "one/index.json").read_text())
    assert index["manifests"][0]["platform"] == {"architecture": "arm64", "os": "linux"}
    assert json.loads((tmp_path / "one/oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert image.compressed_size > 0


def test_gzipped_layers_from_the_containerd_store_give_the_same_layout(tmp_path: Path) -> None:
    _docker_archive(tmp_path / "plain.tar")
    _docker_archive(tmp_path / "gzipped.tar", compressed=True)
    plain = docker_archive_to_layout(tmp_path / "plain.tar", tmp_path / "one")
    assert docker_archive_to_layout(tmp_path / "gzipped.tar", tmp_path / "two") == plain


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzipped"])
def test_a_layer_that_does_not_match_its_diff_id_is_rejected(
    tmp_path: Path, compressed: bool
) -> None:
    _docker_archive(tmp_path / "bad.tar", corrupt=True, compressed=compressed)
    with pytest.raises(CommandError, match="layer 1 of the docker archive does not match"):
        docker_archive_to_layout(tmp_path / "bad.tar", tmp_path / "out")


def test_read_layout_detects_a_tampered_blob(tmp_path: Path) -> None:
    _docker_archive(tmp_path / "image.tar")
    digest = docker_archive_to_layout(tmp_path / "image.tar", tmp_path / "l")
    blob = tmp_path / "l/blobs/sha256" / digest.split(":")[1]
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes() + b" ")
    with pytest.raises(CommandError, match="does not match its digest") as caught:
        read_layout(tmp_path / "l")
    assert "rerun the build" in (caught.value.hint or "")


def test_read_layout_says_why_index_json_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "gone").mkdir()
    with pytest.raises(CommandError) as caught:
        read_layout(tmp_path / "gone")
    assert caught.value.message.endswith("cannot read index.json (No such file or directory)")
    assert "rerun the build" in (caught.value.hint or "")
    (tmp_path / "gone/index.json").write_text("{")
    with pytest.raises(CommandError, match=r"index.json is not valid JSON \(Expecting"):
        read_layout(tmp_path / "gone")


def test_merge_layouts_makes_a_multi_platform_index(tmp_path: Path) -> None:
    _docker_archive(tmp_path / "amd.tar", arch="amd64")
    _docker_archive(tmp_path / "arm.tar", arch="arm64")
    amd = docker_archive_to_layout(tmp_path / "amd.tar", tmp_path / "amd")
    arm = docker_archive_to_layout(tmp_path / "arm.tar", tmp_path / "arm")
    digest = merge_layouts([tmp_path / "amd", tmp_path / "arm"], tmp_path / "both", "8.4-fpm")
    top = json.loads((tmp_path / "both/index.json").read_text())["manifests"][0]
    assert top["digest"] == digest and top["mediaType"] == OCI_INDEX
    assert top["annotations"] == {"org.opencontainers.image.ref.name": "8.4-fpm"}
    index = json.loads((tmp_path / "both/blobs/sha256" / digest.split(":")[1]).read_text())
    assert [(m["digest"], m["platform"]["architecture"]) for m in index["manifests"]] == [
        (amd, "amd64"),
        (arm, "arm64"),
    ]


def _buildah_style_layout(path: Path, container: str, hostname: str) -> str:
    init_layout(path)
    layer = write_blob(path, b"layer bytes")
    config = {
        "created": "1970-01-01T00:00:00Z",
        "container": container,
        "container_config": {"Hostname": hostname, "Cmd": ["php-fpm"]},
        "config": {"Hostname": hostname, "Healthcheck": {"Test": ["CMD", "true"]}},
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [DIGEST_A]},
        "history": [
            {"created_by": "RUN x", "comment": f"FROM 127.0.0.1:{hostname}/php@{DIGEST_B}"}
        ],
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config_bytes),
            "digest": write_blob(path, config_bytes),
        },
        "layers": [{"mediaType": "x", "size": len(b"layer bytes"), "digest": layer}],
    }
    body = json.dumps(manifest).encode()
    digest = write_blob(path, body)
    write_index(path, [{"mediaType": DOCKER_MANIFEST, "digest": digest, "size": len(body)}])
    return digest


def test_normalize_config_removes_the_random_build_identifiers(tmp_path: Path) -> None:
    one = _buildah_style_layout(tmp_path / "one", "5f67d7e8a638", "1a7668fe9af0")
    two = _buildah_style_layout(tmp_path / "two", "c346998ac399", "c0c36c29f2f7")
    assert one != two
    first = normalize_config(tmp_path / "one", "base@sha256:1")
    assert first == normalize_config(tmp_path / "two", "base@sha256:1") != one
    image = read_layout(tmp_path / "one")
    assert image.digest == first and image.media_type == DOCKER_MANIFEST
    assert "container" not in image.config
    assert image.config["config"] == {"Hostname": "", "Healthcheck": {"Test": ["CMD", "true"]}}
    assert image.config["history"][0]["comment"] == "FROM base@sha256:1"
    assert normalize_config(tmp_path / "one", "base@sha256:1") == first  # nothing left to change
    assert len(list((tmp_path / "one/blobs/sha256").iterdir())) == 3  # no stale blobs


# ----------------------------------------------------------------- emulation


#: binfmt_misc entries as QEMU's qemu-binfmt-conf.sh (Debian's qemu-user-static,
#: tonistiigi/binfmt) and Rosetta register them: (magic, mask).
BINFMT_MAGIC = {
    "aarch64": (
        "7f454c460201010000000000000000000200b700",
        "ffffffffffffff00fffffffffffffffffeffffff",
    ),
    "aarch64_be": (
        "7f454c46020201000000000000000000000200b7",
        "ffffffffffffff00fffffffffffffffffffeffff",
    ),
    "arm": ("7f454c4601010100000000000000000002002800", "ffffffffffffff00fffffffffffffffffeffffff"),
    "riscv64": (
        "7f454c460201010000000000000000000200f300",
        "ffffffffffffff00fffffffffffffffffeffffff",
    ),
    "x86_64": (
        "7f454c4602010100000000000000000002003e00",
        "fffffffffffefefcfffffffffffffffffeffffff",
    ),
    "rosetta": (
        "7f454c4602010100000000000000000002003e00",
        "fffffffffffefe00fffffffffffffffffeffffff",
    ),
}


def _binfmt(tmp_path: Path, entries: dict[str, str], status: str = "enabled") -> Path:
    """A binfmt_misc directory holding ``entries`` (name: state); an entry's CPU is its
    name after ``qemu-`` (``rosetta``: x86_64)."""
    directory = tmp_path / "binfmt_misc"
    directory.mkdir(parents=True)
    (directory / "status").write_text(f"{status}\n")
    (directory / "register").write_text("")
    for name, state in entries.items():
        magic, mask = BINFMT_MAGIC[name.rpartition("qemu-")[2]]
        (directory / name).write_text(
            f"{state}\ninterpreter /usr/libexec/qemu-binfmt/{name}\nflags: PF\noffset 0\n"
            f"magic {magic}\nmask {mask}\n"
        )
    return directory


def test_foreign_platforms_need_an_enabled_qemu_handler(tmp_path: Path) -> None:
    enabled = _binfmt(tmp_path / "a", {"qemu-aarch64": "enabled", "qemu-arm": "enabled"})
    disabled = _binfmt(tmp_path / "b", {"qemu-aarch64": "disabled"})
    missing = _binfmt(tmp_path / "c", {"qemu-riscv64": "enabled"})
    amd = Platform.AMD64
    assert not emulation_missing(Platform.ARM64, host=amd, binfmt_dir=enabled)
    assert emulation_missing(Platform.ARM64, host=amd, binfmt_dir=disabled)
    assert emulation_missing(Platform.ARM64, host=amd, binfmt_dir=missing)
    assert not emulation_missing(Platform.AMD64, host=amd, binfmt_dir=missing)  # native
    unreadable = tmp_path / "not-mounted"
    assert not emulation_missing(Platform.ARM64, host=amd, binfmt_dir=unreadable)  # cannot tell


def test_a_handler_counts_for_the_programs_it_takes_not_for_its_name(tmp_path: Path) -> None:
    """The kernel picks a handler by the program's first bytes: a big-endian aarch64 one
    does not run arm64 programs, Rosetta and tonistiigi/binfmt under a prefix do."""
    amd, arm = Platform.AMD64, Platform.ARM64
    big_endian = _binfmt(tmp_path / "a", {"qemu-aarch64": "disabled", "qemu-aarch64_be": "enabled"})
    assert emulation_missing(arm, host=amd, binfmt_dir=big_endian)
    prefixed = _binfmt(tmp_path / "b", {"buildkit-qemu-aarch64": "enabled"})
    assert not emulation_missing(arm, host=amd, binfmt_dir=prefixed)
    for name in ("rosetta", "qemu-x86_64"):
        assert not emulation_missing(
            amd, host=arm, binfmt_dir=_binfmt(tmp_path / name, {name: "enabled"})
        )
    by_extension = _binfmt(tmp_path / "c", {})
    (by_extension / "qemu-aarch64").write_text(
        "enabled\ninterpreter /x\nflags: \nextension .aarch64\n"
    )
    assert emulation_missing(arm, host=amd, binfmt_dir=by_extension)


def test_binfmt_misc_switched_off_runs_no_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = _binfmt(tmp_path, {"qemu-aarch64": "enabled"}, status="disabled")
    monkeypatch.setattr(emulation_mod, "host_platform", lambda: Platform.AMD64)
    with pytest.raises(ToolMissingError) as caught:
        emulation_mod.require_emulation_for([Platform.AMD64, Platform.ARM64], binfmt_dir=off)
    assert str(caught.value) == (
        "cannot run linux/arm64 binaries on this linux/amd64 machine: binfmt_misc is switched "
        f"off ({off}/status reads disabled); nothing was built or pushed"
    )
    assert (caught.value.hint or "").startswith(f"switch it on: `echo 1 > {off}/status` (as root);")


def test_a_disabled_handler_is_named_with_the_command_that_enables_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disabled = _binfmt(tmp_path, {"qemu-aarch64": "disabled", "qemu-aarch64_be": "enabled"})
    monkeypatch.setattr(emulation_mod, "host_platform", lambda: Platform.AMD64)
    with pytest.raises(ToolMissingError) as caught:
        emulation_mod.require_emulation(Platform.ARM64, binfmt_dir=disabled)
    assert str(caught.value) == (
        "cannot run linux/arm64 binaries on this linux/amd64 machine: the handler for aarch64 "
        f"in {disabled} (qemu-aarch64) is registered but disabled"
    )
    assert caught.value.hint == (
        "enable it: `update-binfmts --enable qemu-aarch64` (binfmt-support), "
        f"or `echo 1 > {disabled}/qemu-aarch64` (as root)"
    )
    none = _binfmt(tmp_path / "none", {"qemu-riscv64": "enabled"})
    with pytest.raises(ToolMissingError, match="no QEMU handler for aarch64 is registered in"):
        emulation_mod.require_emulation(Platform.ARM64, binfmt_dir=none)


def test_a_build_without_emulation_stops_before_running_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = _binfmt(tmp_path, {})
    monkeypatch.setattr(emulation_mod, "BINFMT_DIR", empty)
    monkeypatch.setattr(emulation_mod, "host_platform", lambda: Platform.AMD64)
    runner = FakeRunner(tools={"buildah": BUILDAH})
    with pytest.raises(ToolMissingError, match="cannot run linux/arm64 binaries") as caught:
        BuildahBuilder(runner).build(request(tmp_path, platform=Platform.ARM64))
    assert "qemu-user-static" in (caught.value.hint or "")
    assert runner.calls == []


# ----------------------------------------------------------------- a broken environment


def test_buildah_as_another_user_than_root_needs_subordinate_ids_in_both_files() -> None:
    rootless = buildah_mod.rootless_problem
    assert rootless(0, "", "") is None  # root: no ranges needed
    both = "builder:100000:65536\n"
    assert rootless(1000, both, both, user="builder") is None
    assert rootless(1000, "1000:100000:65536\n", "1000:100000:65536\n", user="x") is None
    problem = rootless(1000, "", both, user="builder")
    assert problem is not None
    assert "rootless as builder (uid 1000)" in problem and "/etc/subuid gives" in problem
    assert "/etc/subgid" not in problem
    none = rootless(65534, "other:100000:65536\nbuilder:1:0\n", "", user="nobody")
    assert none is not None and "/etc/subuid and /etc/subgid give" in none
    assert buildah_mod.has_id_range("builder:1:0\n", 1000, "builder") is False  # empty range


def test_the_subordinate_ids_a_tip_offers_overlap_no_range_given_already() -> None:
    """tA finding 2: the tip said ``usermod --add-subuids 100000-165535 ...`` whatever
    the files held, the range Debian's useradd gives the first user: pasted for a second
    user, two users shared their subordinate IDs."""
    free = buildah_mod.free_id_range
    assert free("", "") == (100000, 165535)
    listed = "ta_plain:100000:65536\nta_dock:165536:65536\n"
    assert free(listed, listed) == (231072, 296607)
    assert free("a:100000:65536\n", "b:300000:1000\n") == (301000, 366535)
    assert free("1000:500:10\n# note\nx:y:z\n", "") == (100000, 165535)
    hint = buildah_mod.rootless_hint(listed, listed, "ta_nosub")
    assert "usermod --add-subuids 231072-296607 --add-subgids 231072-296607 ta_nosub" in hint
    assert "100000-165535" not in hint


def test_buildx_inspect_reporting_an_error_is_found_before_any_build() -> None:
    assert buildx_mod.inspect_error("Name: default\nDriver: docker\n") is None
    down = (
        "Name:          default\nDriver:        \n"
        "Error:         Cannot connect to the Docker daemon at unix:///x.sock.\n"
    )
    assert (
        buildx_mod.inspect_error(down) == "Cannot connect to the Docker daemon at unix:///x.sock."
    )
    runner = FakeRunner(tools={"docker": "/usr/bin/docker"})
    runner.on(["/usr/bin/docker", "version"], ok("26.1.5\n"))
    runner.on(["/usr/bin/docker", "buildx", "version"], ok("github.com/docker/buildx 0.13.1\n"))
    runner.on(["/usr/bin/docker", "buildx", "inspect"], ok(down))
    with pytest.raises(ToolMissingError, match=r"cannot use its builder.*Cannot connect"):
        BuildxBuilder(runner).check()


def test_buildx_named_after_a_docker_context_that_is_gone_says_so() -> None:
    """currentContext names a context whose files are not here (a Mac's docker config)."""
    runner = FakeRunner(tools={"docker": "/usr/bin/docker"})
    runner.on(["/usr/bin/docker", "version"], ok("26.1.5\n"))
    runner.on(["/usr/bin/docker", "buildx", "version"], ok("github.com/docker/buildx 0.13.1\n"))
    runner.on(["/usr/bin/docker", "buildx", "inspect"], fail(1, 'ERROR: no builder "colima" found'))
    with pytest.raises(ToolMissingError, match='no builder "colima" found') as raised:
        BuildxBuilder(runner).check()
    hint = raised.value.hint or ""
    assert 'the docker context "colima"' in hint and "docker context use default" in hint


def test_a_tools_answer_about_itself_cut_short_ends_with_the_cut_mark() -> None:
    """A probe's answer (a tool's version, its last line when it fails) too long to quote
    whole is cut with ``clip``: its end marked ``…``, never cut in silence."""
    long = "E" * 500
    cut = "E" * 199 + "…"  # clip(long, 200)

    def failing(argv: list[str]) -> FakeRunner:
        runner = FakeRunner(tools={"buildah": "/opt/bin/buildah", "docker": "/usr/bin/docker"})
        runner.on(argv, fail(1, stderr=long + "\n"))
        return runner

    with pytest.raises(ToolMissingError) as raised:
        BuildahBuilder(failing(["/opt/bin/buildah", "--version"])).check()
    assert raised.value.message.endswith(f": {cut}"), raised.value.message
    with pytest.raises(ToolMissingError) as raised:
        require_version("buildah", "v" * 200, (1, 0, 0), "install it")
    assert f"(it printed {'v' * 79 + '…'!r})" in raised.value.message, raised.value.message
    answer = failing(["/usr/bin/docker", "buildx", "version"]).probe(
        ["/usr/bin/docker", "buildx", "version"]
    )
    said = dockercli.buildx_problem(FakeRunner(), "/usr/bin/docker", answer) or ""
    assert said.endswith(f": {cut}"), said
    argv = ["/usr/bin/docker", "version", "--format", "{{.Server.Version}}"]
    daemon = dockercli.reach_daemon(failing(argv), ["/usr/bin/docker"])
    assert daemon.said == "E" * 299 + "…", daemon.said
    runner = FakeRunner(tools={"docker": "/usr/bin/docker"})
    runner.on(["/usr/bin/docker", "version"], ok("26.1.5\n"))
    runner.on(["/usr/bin/docker", "buildx", "version"], ok("github.com/docker/buildx 0.13.1\n"))
    runner.on(["/usr/bin/docker", "buildx", "inspect"], fail(1, "ERROR: " + long))
    with pytest.raises(ToolMissingError) as raised:
        BuildxBuilder(runner).check()
    assert "ERROR: " + "E" * 292 + "…" in raised.value.message, raised.value.message


def test_a_version_command_that_fails_is_a_broken_tool_not_a_failed_build() -> None:
    runner = FakeRunner(tools={"buildah": "/opt/bin/buildah"})
    runner.on(["/opt/bin/buildah", "--version"], fail(1, stderr="cannot load libgpgme\n"))
    with pytest.raises(ToolMissingError) as raised:
        BuildahBuilder(runner).check()
    assert "buildah (/opt/bin/buildah) is installed but does not work" in raised.value.message
    # exit 10 as a missing tool, labelled for what happened
    assert (raised.value.label, raised.value.exit_code) == ("broken tool", 10)
    assert "`buildah --version` failed with exit status 1: cannot load libgpgme" in (
        raised.value.message
    )


@pytest.mark.parametrize("name", ["buildah", "docker", "buildx"])
def test_every_builder_refuses_an_unknown_build_cache_at_selection(name: str) -> None:
    """PUBLISHER_BUILD_CACHE is bad input whichever builder runs (exit 2, README), not
    silently ignored by buildah and docker, which keep no cache of their own to name."""
    runner = FakeRunner(env={"PUBLISHER_BUILD_CACHE": "s3"})
    with pytest.raises(UsageError, match="PUBLISHER_BUILD_CACHE='s3' is not a build cache"):
        select_builder(name, runner, check=False)
    runner = FakeRunner(env={"PUBLISHER_BUILD_CACHE": "gha"})
    assert str(select_builder(name, runner, check=False).name) == name


# What the builders printed for real arm64 builds on an amd64 machine with QEMU: a RUN
# step that fails on every platform, and programs that could not start as they cannot
# without emulation (a file that is no program: the kernel's "exec format error"; a
# script whose interpreter is not there: "no such file or directory", as when binfmt's
# QEMU is not in the container).
STEP_FAILED = {
    BuilderName.BUILDAH: 'STEP 2/2: RUN echo "the-build-broke-here" && exit 3\n'
    "the-build-broke-here\nsubprocess exited with status 3\n"
    'Error: building at STEP "RUN echo "the-build-broke-here" && exit 3": exit status 3\n',
    BuilderName.DOCKER: "#5 [2/2] RUN no-such-tool --version\n"
    "#5 1.499 /bin/sh: no-such-tool: not found\n"
    '#5 ERROR: process "/bin/sh -c no-such-tool --version" did not complete successfully: '
    "exit code: 127\n"
    'ERROR: failed to solve: process "/bin/sh -c no-such-tool --version" did not complete '
    "successfully: exit code: 127\n",
}
STEP_FAILED[BuilderName.BUILDX] = STEP_FAILED[BuilderName.DOCKER]
NOT_STARTED = {
    BuilderName.BUILDAH: 'STEP 3/3: RUN ["/bogus"]\n'
    "process failed to start with error: fork/exec /bogus: exec format errorprocess exited "
    "with error: exec: not startedsubprocess exited with status 1\n"
    'Error: building at STEP "RUN /bogus": exit status 1\n',
    BuilderName.DOCKER: '#6 [3/3] RUN ["/script"]\n'
    "#6 0.527 exec /script: no such file or directory\n"
    '#6 ERROR: process "/script" did not complete successfully: exit code: 1\n'
    'ERROR: failed to solve: process "/script" did not complete successfully: exit code: 1\n',
    BuilderName.BUILDX: "#5 [2/2] RUN apk add --no-cache fcgi\n"
    "#5 0.113 exec /bin/sh: exec format error\n"
    '#5 ERROR: process "/bin/sh -c apk add --no-cache fcgi" did not complete successfully: '
    "exit code: 255\n",
}


def _failing_build(
    name: BuilderName, tmp_path: Path, output: str, **changes: object
) -> CommandError:
    """The error of a ``name`` build for linux/arm64 (on linux/amd64) that printed ``output``
    (``changes``: to the request)."""
    if name is BuilderName.BUILDAH:
        runner = FakeRunner(tools={"buildah": BUILDAH}).on([BUILDAH, "build"], fail(1, output))
        builder: BuildahBuilder | DockerBuilder | BuildxBuilder = BuildahBuilder(runner)
    elif name is BuilderName.DOCKER:
        runner = _docker_clis(FakeRunner(), new_has_buildx=False)
        builder = DockerBuilder(runner.on([DOCKER, "build"], fail(1, output)))
    else:
        runner = _buildx_runner()
        builder = BuildxBuilder(runner.on([NEW_DOCKER, "buildx", "build"], fail(1, output)))
    with pytest.raises(CommandError) as caught:
        builder.build(request(tmp_path, platform=Platform.ARM64, **changes))
    return caught.value


@pytest.mark.parametrize("name", list(BuilderName), ids=str)
def test_a_foreign_build_gets_the_qemu_advice_only_when_a_program_could_not_start(
    name: BuilderName, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RUN step that fails on every platform keeps the builder's own tip (rerun the
    build to see all of its output); a program that could not start (exec format
    error, or no such file for the program itself) gets the QEMU advice."""
    monkeypatch.setattr(emulation_mod, "host_platform", lambda: Platform.AMD64)
    failed = _failing_build(name, tmp_path / "failed", STEP_FAILED[name])
    hint = failed.hint or ""
    assert "QEMU" not in hint and "qemu" not in hint, hint
    assert hint.startswith("rerun the build to see its full output: "), hint
    not_started = _failing_build(name, tmp_path / "not-started", NOT_STARTED[name])
    assert not_started.hint == emulation_mod.foreign_hint(Platform.ARM64)
    assert "exit status 1" in not_started.message


@pytest.mark.parametrize("name", list(BuilderName), ids=str)
def test_a_failed_builds_tip_builds_the_committed_dockerfile_and_does_nothing_else(
    name: BuilderName, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build stage builds a private copy of the committed Dockerfile, in the run's work
    directory, removed when the run ends: the tip's command builds the committed one with
    the same build arguments, names nothing in that directory, and tags, exports or pushes
    nothing. A rehearsal's tip is its own (its registries stop with it)."""
    monkeypatch.setattr(emulation_mod, "host_platform", lambda: Platform.AMD64)
    work = tmp_path / "work"
    copy = work / "php-8.4-arm64.Dockerfile"
    failed = _failing_build(name, work, STEP_FAILED[name], dockerfile=copy, committed=DOCKERFILE)
    hint = failed.hint or ""
    argv = shlex.split(hint.removeprefix("rerun the build to see its full output: "))
    assert str(work) not in hint and str(DOCKERFILE) in argv, hint
    assert all(arg in argv for arg in BUILD_ARGS), argv  # the same build arguments
    assert argv[-1] == str(CTX), argv
    kept = ("-t", "--tag", "--output", "--push", "--load", "--metadata-file", "--cache-to")
    assert not [arg for arg in argv if arg.split("=")[0] in kept], argv
    said = _failing_build(name, tmp_path / "rehearsed", STEP_FAILED[name], rehearsal_tip="x")
    assert said.hint == "x"


@pytest.mark.parametrize(
    ("output", "emulation"),
    [
        ("exec /bin/sh: exec format error", True),
        ("crun: exec `/bin/sh`: Exec format error", True),
        ("standard_init_linux.go:228: exec user process caused: exec format error", True),
        ("process failed to start with error: fork/exec /bin/sh: no such file or directory", True),
        ("exec /usr/local/bin/docker-php-entrypoint: no such file or directory", True),
        ("qemu: uncaught target signal 11 (Segmentation fault) - core dumped", True),
        ("qemu-aarch64: uncaught target signal 4 (Illegal instruction)", True),
        ("/bin/sh: no-such-tool: not found", False),
        ("cp: can't stat 'composer.json': No such file or directory", False),
        ('exec: "php": executable file not found in $PATH', False),
        ("ERROR: unable to select packages: php84-sodium (no such package)", False),
        ("did not complete successfully: exit code: 3", False),
    ],
)
def test_what_says_a_foreign_program_could_not_run(output: str, emulation: bool) -> None:
    assert emulation_mod.emulation_failed(output) is emulation


@pytest.mark.parametrize(
    ("output", "status", "unreached", "retried"),
    [
        (
            'Error: authenticating creds for "h:1": pinging container registry h:1: invalid '
            "status code from registry 503 (Service Unavailable)",
            503,
            None,
            True,
        ),
        (
            "Error response from daemon: login attempt to http://h:1/v2/ failed with status: "
            "502 Bad Gateway",
            502,
            None,
            True,
        ),
        ('Error: authenticating creds for "h:1": too many requests to registry', 429, None, True),
        ('Error: logging into "h:1": invalid username/password', 401, None, False),
        (
            "Error response from daemon: login attempt to http://h:1/v2/ failed with status: "
            "401 Unauthorized",
            401,
            None,
            False,
        ),
        (
            'Error response from daemon: Get "http://h:1/v2/": dial tcp h:1: connect: '
            "connection refused",
            None,
            "connection refused",
            True,
        ),
        ("Error: x509: certificate signed by unknown authority", None, None, False),
    ],
)
def test_a_failed_login_is_read_for_the_registrys_answer(
    output: str, status: int | None, unreached: str | None, retried: bool
) -> None:
    answer = LoginAnswer.read(output)
    assert (answer.status, answer.unreached, answer.retried) == (status, unreached, retried)
    blamed = "check the registry credentials" in answer.hint("h:1", "after 2 attempts in 1 s")
    assert blamed is (status in (401, 403) or (status is None and unreached is None))
