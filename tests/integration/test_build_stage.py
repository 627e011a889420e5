"""The build stage's own logic against a real registry, with a builder that runs no tool.

``BuildStage.all`` runs every leg, pushes each image by digest to the primary and writes
its digest record; a leg that fails does not stop the others, the step fails after
all finished and names every failed leg, and a rerun builds only what is missing.
A pin that already holds an image built for another pin refuses the leg before
anything is built. The images are STAND-INs written by ``tests/support/fake_builder``;
real builds are tested in ``test_builders.py`` and ``test_pipeline.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core.errors import (
    CommandError,
    InvalidResponseError,
    NewerSchemaError,
    PublisherError,
    ReleaseConflictError,
)
from publisher.core.platforms import Platform
from publisher.core.records import read_directory
from publisher.core.reference import Reference
from publisher.core.version import parse_release
from publisher.stages.build import VERSION_LABEL, BuildOptions, BuildStage, Leg
from tests.support.fake_builder import FakeBuilder
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import OCI_INDEX, canonical, make_image, raw_put_manifest

RELEASE = parse_release("v1.2.0")
LINES = ("8.3", "8.4")
BASE_DIGEST = "sha256:" + "ab" * 32
LEGS = [(php, platform) for php in LINES for platform in (Platform.AMD64, Platform.ARM64)]


@pytest.fixture
def stage(
    tmp_path: Path,
    registry: LocalRegistry,
    repo: str,
    write_matrix: Callable[..., Path],
    make_client: Callable[..., RegistryClient],
) -> dict[str, Any]:
    path = write_matrix(tmp_path, [("local", f"{registry.host}/{repo}", True)], lines=LINES)
    for php in LINES:
        dockerfile = tmp_path / "dockerfiles" / php / "Dockerfile"
        dockerfile.parent.mkdir(parents=True)
        dockerfile.write_text(f"FROM php:{php}-fpm-alpine\n", encoding="utf-8")
    cfg = config_mod.load(path, env={})
    bases = {
        php: Reference("docker.io", "library/php", f"{php}-fpm-alpine", BASE_DIGEST)
        for php in LINES
    }
    return {
        "config": cfg,
        "bases": bases,
        "primary": make_client(registry),
        "digests": tmp_path / "digests",
        "repo": repo,
    }


def run_build(
    stage: dict[str, Any],
    builder: FakeBuilder,
    stream: io.StringIO,
    options: BuildOptions | None = None,
) -> list[Any]:
    stage["digests"].mkdir(exist_ok=True)
    return BuildStage(
        stage["config"],
        RELEASE,
        builder,
        stage["primary"],
        Output(env={}, stream=stream, err_stream=stream),
        options or BuildOptions(jobs=2),
    ).all(stage["bases"], stage["digests"])


def test_every_leg_is_pushed_by_digest_and_a_rerun_builds_nothing(stage: dict[str, Any]) -> None:
    builder = FakeBuilder()
    records = run_build(stage, builder, io.StringIO())
    assert sorted(builder.built) == sorted(LEGS)
    assert sorted((r.php, r.platform) for r in records) == sorted(LEGS)
    primary = stage["primary"]
    for record in records:
        assert record.builder == "fake-builder"
        assert record.base_digest == BASE_DIGEST
        assert primary.manifest_exists(stage["repo"], record.digest)
    on_disk = {(r.php, r.platform): r.digest for r in read_directory(stage["digests"])}
    assert on_disk == {(r.php, r.platform): r.digest for r in records}

    again = FakeBuilder()
    printed = io.StringIO()
    rerun = run_build(stage, again, printed)
    assert again.built == []
    assert printed.getvalue().count("already built and pushed") == len(LEGS)
    assert {r.digest for r in rerun} == {r.digest for r in records}

    # The dry run asks the same question and writes nothing: every leg is reused.
    stage_again = BuildStage(
        stage["config"],
        RELEASE,
        FakeBuilder(),
        primary,
        Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
        BuildOptions(jobs=2),
    )
    for php, platform in LEGS:
        leg = Leg(php, platform)
        found = stage_again.reused(
            leg,
            base=stage["bases"][php],
            record_paths=(stage["digests"] / leg.record_name,),
        )
        assert found is not None and "already built and pushed" in found[1]
        assert found[0].digest == on_disk[(php, platform)]


def test_a_failed_leg_lets_the_others_finish_and_a_rerun_builds_only_it(
    stage: dict[str, Any],
) -> None:
    broken = ("8.4", Platform.ARM64)
    builder = FakeBuilder(fail={broken: CommandError("exec format error (scripted)")})
    printed = io.StringIO()
    with pytest.raises(CommandError, match="scripted"):
        run_build(stage, builder, printed)
    assert sorted(builder.built) == sorted(LEGS)  # the others were not cancelled
    assert "PHP 8.4 linux/arm64: command failed" in printed.getvalue()
    written = {(r.php, r.platform) for r in read_directory(stage["digests"])}
    assert written == set(LEGS) - {broken}

    fixed = FakeBuilder()
    records = run_build(stage, fixed, io.StringIO())
    assert fixed.built == [broken]
    assert sorted((r.php, r.platform) for r in records) == sorted(LEGS)


def test_the_one_leg_of_a_run_that_fails_is_said_once(stage: dict[str, Any]) -> None:
    """A run of one leg (CI's image check builds one per job): its failure is the error,
    not also a warning before it saying the same."""
    one = config_mod.load(
        stage["config"].source,
        env={"PUBLISHER_LINES": "8.4", "PUBLISHER_PLATFORMS": "linux/arm64"},
    )
    builder = FakeBuilder(fail={("8.4", Platform.ARM64): CommandError("no space (scripted)")})
    printed = io.StringIO()
    with pytest.raises(CommandError, match="scripted"):
        run_build({**stage, "config": one}, builder, printed)
    assert builder.built == [("8.4", Platform.ARM64)]
    assert "no space (scripted)" not in printed.getvalue()


def test_several_failed_legs_are_named_together_with_the_first_ones_exit_code(
    stage: dict[str, Any],
) -> None:
    first = CommandError("the base image lacks linux/arm64 (scripted)")
    builder = FakeBuilder(
        fail={
            ("8.3", Platform.ARM64): first,
            ("8.4", Platform.ARM64): CommandError("out of disk (scripted)"),
        }
    )
    with pytest.raises(PublisherError) as caught:
        run_build(stage, builder, io.StringIO())
    error = caught.value
    assert error.message.startswith("2 of 4 builds failed")
    assert "PHP 8.3 linux/arm64" in error.message and "PHP 8.4 linux/arm64" in error.message
    assert error.exit_code == CommandError.exit_code and error.label == CommandError.label


def test_a_pin_holding_an_image_built_for_another_pin_refuses_its_legs_before_building(
    stage: dict[str, Any], seed: Callable[..., str], registry: LocalRegistry
) -> None:
    other = make_image(seed=7, labels={VERSION_LABEL: "v1.1.0-php-8.4"})
    seed(registry, stage["repo"], other, tags=["v1.2.0-php-8.4"])
    builder = FakeBuilder()
    with pytest.raises(PublisherError) as caught:
        run_build(stage, builder, io.StringIO())
    error = caught.value
    assert error.exit_code == ReleaseConflictError.exit_code
    assert "built as 'v1.1.0-php-8.4', not 'v1.2.0-php-8.4'" in error.message
    assert "audit --repair" not in (error.hint or "")  # no record: nothing to restore
    assert ("8.4", Platform.AMD64) not in builder.built
    assert ("8.4", Platform.ARM64) not in builder.built
    written = {(r.php, r.platform) for r in read_directory(stage["digests"])}
    assert written == {("8.3", Platform.AMD64), ("8.3", Platform.ARM64)}


def test_a_pin_whose_head_names_an_image_built_for_another_pin_is_a_lying_registry(
    stage: dict[str, Any],
    seed: Callable[..., str],
    registry: LocalRegistry,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The primary's HEAD of v1.2.0-php-8.4 names an index built as v1.1.0-php-8.4 while
    the pin holds its own: the pin is read again by a GET whose body is hashed before the
    release is said to be published with other content, so the run ends as a lying
    registry (exit 8), not a release conflict, and no leg of that line is built."""
    other = seed(
        registry,
        stage["repo"],
        make_image(seed=7, labels={VERSION_LABEL: "v1.1.0-php-8.4"}),
        tags=["v1.1.0-php-8.4"],
    )
    mine = make_image(seed=8, labels={VERSION_LABEL: "v1.2.0-php-8.4"})
    seed(registry, stage["repo"], mine, tags=["v1.2.0-php-8.4"])
    front = proxy_for(registry)
    front.add(
        Fault(
            "digest", method="HEAD", path=r"/manifests/v1\.2\.0-php-8\.4$", digest=other, times=None
        )
    )
    builder = FakeBuilder()
    with pytest.raises(PublisherError) as caught:
        run_build({**stage, "primary": make_client(front)}, builder, io.StringIO())
    error = caught.value
    assert error.exit_code == InvalidResponseError.exit_code, error.message
    assert error.label == InvalidResponseError.label, error.message
    assert f"v1.2.0-php-8.4 says {other} but its manifest body hashes to" in error.message
    assert ("8.4", Platform.AMD64) not in builder.built
    assert ("8.4", Platform.ARM64) not in builder.built


def test_a_pin_whose_platform_entry_is_an_index_refuses_its_legs_before_building(
    stage: dict[str, Any], seed: Callable[..., str], registry: LocalRegistry
) -> None:
    """A pin pushed by hand whose linux/amd64 entry is itself an index (an image where its
    platform image should be): a release conflict, never an internal error."""
    inner = make_image(seed=8, platforms=["linux/amd64"])
    inner_digest = seed(registry, stage["repo"], inner)
    outer = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_INDEX,
                    "digest": inner_digest,
                    "size": len(inner.index),
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    )
    raw_put_manifest(f"http://{registry.host}", stage["repo"], outer, OCI_INDEX, "v1.2.0-php-8.4")
    builder = FakeBuilder()
    with pytest.raises(PublisherError) as caught:
        run_build(stage, builder, io.StringIO())
    assert caught.value.exit_code == ReleaseConflictError.exit_code
    assert "holds no single linux/amd64 image" in caught.value.message
    assert ("8.4", Platform.AMD64) not in builder.built


def test_a_pin_moved_off_the_release_record_is_pointed_back_by_audit_repair(
    stage: dict[str, Any], seed: Callable[..., str], registry: LocalRegistry
) -> None:
    """v1.2.0 is recorded; its pin was since moved by hand to v1.1.0's image: the
    refusal names the repair that points it back, as the publish step's does."""
    other = make_image(seed=7, labels={VERSION_LABEL: "v1.1.0-php-8.4"})
    seed(registry, stage["repo"], other, tags=["v1.2.0-php-8.4"])
    stage["digests"].mkdir()
    with pytest.raises(ReleaseConflictError) as caught:
        BuildStage(
            stage["config"],
            RELEASE,
            FakeBuilder(),
            stage["primary"],
            Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
            BuildOptions(),
        ).leg(
            Leg("8.4", Platform.AMD64),
            base=stage["bases"]["8.4"],
            record_path=stage["digests"] / "leg.json",
            recorded_index="sha256:" + "cd" * 32,
        )
    hint = caught.value.hint or ""
    assert "v1.2.0-php-8.4 points at other content than the release's record names" in hint
    assert "`publisher audit --repair`" in hint and "publisher republish v1.2.0" in hint


@pytest.mark.parametrize(("name", "warned"), [("buildah", True), ("buildx", False)])
def test_attestations_with_a_builder_that_cannot_attach_them_are_warned_about(
    stage: dict[str, Any], name: str, warned: bool
) -> None:
    stream = io.StringIO()
    run_build(stage, FakeBuilder(name=name), stream, BuildOptions(jobs=2, attestations=True))
    said = stream.getvalue()
    assert ("--attestations is for buildx builds only" in said) is warned, said
    if warned:
        assert said.count("--attestations") == 1  # once per run, not once per leg


def test_the_dry_run_shows_the_requests_the_real_build_makes(
    stage: dict[str, Any], tmp_path: Path
) -> None:
    """The dry run's commands come from the same request as the build: with
    ``--attestations`` a buildx build shows provenance and SBOM on, and only the
    lines that would be built (those with a base) are listed."""
    from publisher.adapters.builders import BuildxBuilder
    from tests.support.fake_runner import FakeRunner

    stream = io.StringIO()
    builder = BuildxBuilder(FakeRunner())
    options = BuildOptions(jobs=1, attestations=True)
    out = Output(env={}, stream=stream, err_stream=stream)
    one = {"8.4": stage["bases"]["8.4"]}
    built = BuildStage(stage["config"], RELEASE, builder, stage["primary"], out, options)
    built.commands(one, tmp_path / "work")
    shown = [line for line in stream.getvalue().splitlines() if " buildx build " in line]
    assert len(shown) == 2, stream.getvalue()  # PHP 8.4 on both platforms, not 8.3
    for line in shown:
        assert "--provenance=true" in line and "--sbom=true" in line
        assert "8.3" not in line.split("--platform")[1].split()[0]
    # The same request with attestations off, as the real build would send it.
    plain = io.StringIO()
    BuildStage(
        stage["config"],
        RELEASE,
        builder,
        stage["primary"],
        Output(env={}, stream=plain, err_stream=plain),
        BuildOptions(jobs=1),
    ).commands({}, tmp_path / "work")
    assert "none: every image is already built and pushed" in plain.getvalue()


def test_the_dry_run_quotes_a_path_with_a_space_as_the_real_run_does(
    stage: dict[str, Any], tmp_path: Path
) -> None:
    """Each command the dry run prints pastes into a shell as the argv the build runs:
    a work directory with a space in its name is quoted, as the real run's echo does."""
    import shlex

    from publisher.adapters.builders import BuildxBuilder
    from publisher.adapters.runner import format_argv
    from tests.support.fake_runner import FakeRunner

    stream = io.StringIO()
    builder = BuildxBuilder(FakeRunner())
    out = Output(env={}, stream=stream, err_stream=stream)
    work = tmp_path / "h9 play" / "work"
    one = {"8.4": stage["bases"]["8.4"]}
    BuildStage(stage["config"], RELEASE, builder, stage["primary"], out, BuildOptions()).commands(
        one, work
    )
    shown = [line.strip() for line in stream.getvalue().splitlines() if " buildx build " in line]
    assert len(shown) == 2, stream.getvalue()
    for line in shown:
        argv = shlex.split(line)
        assert any(str(work) in arg for arg in argv), line
        assert line == format_argv(argv)  # the real run's echo of the same argv


def test_records_of_the_primary_before_matrix_yaml_changed_it_are_not_reused(
    stage: dict[str, Any],
    tmp_path: Path,
    registry: LocalRegistry,
    second_registry: LocalRegistry,
    write_matrix: Callable[..., Path],
    make_client: Callable[..., RegistryClient],
) -> None:
    """The primary moved to another registry (which holds the same images since) after
    the legs were built: a rerun builds or takes the pins of the new primary, and every
    record it returns names the new primary's repository, which publish requires."""
    import dataclasses

    repo = stage["repo"]
    old = run_build(stage, FakeBuilder(), io.StringIO())
    assert {r.repository for r in old} == {f"{registry.host}/{repo}"}
    moved = config_mod.load(
        write_matrix(
            tmp_path,
            [
                ("new", f"{second_registry.host}/{repo}", True),
                ("old", f"{registry.host}/{repo}", False),
            ],
            name="moved.yaml",
            lines=LINES,
        ),
        env={},
    )
    new_repository = f"{second_registry.host}/{repo}"
    new_stage = {**stage, "config": moved, "primary": make_client(second_registry)}
    # The new primary holds the same images (pushed there by another run's copy).
    copied = run_build({**new_stage, "digests": tmp_path / "copied"}, FakeBuilder(), io.StringIO())
    assert {(r.php, r.platform, r.digest) for r in copied} == {
        (r.php, r.platform, r.digest) for r in old
    }

    records = run_build(new_stage, FakeBuilder(), io.StringIO())
    assert {r.repository for r in records} == {new_repository}
    on_disk = read_directory(stage["digests"])
    assert {r.repository for r in on_disk} == {new_repository}

    # A leg taken from the new primary's pin keeps the pin's record, not an earlier
    # record of the old primary naming the same image.
    for record in old:
        (stage["digests"] / Leg(record.php, record.platform).record_name).write_text(
            (tmp_path / "copied" / Leg(record.php, record.platform).record_name)
            .read_text(encoding="utf-8")
            .replace(new_repository, f"{registry.host}/{repo}"),
            encoding="utf-8",
        )
    rerun = BuildStage(
        moved,
        RELEASE,
        FakeBuilder(),
        new_stage["primary"],
        Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
        BuildOptions(jobs=1),
    )
    for record in copied:
        leg = Leg(record.php, record.platform)
        pinned = dataclasses.replace(record, builder="published")
        found = rerun.reused(
            leg,
            base=stage["bases"][record.php],
            record_paths=(stage["digests"] / leg.record_name,),
            published={leg: pinned},
        )
        assert found is not None and found[0].repository == new_repository, found


def test_a_rerun_that_reuses_a_newer_publishers_record_keeps_its_fields(
    stage: dict[str, Any],
) -> None:
    """An older publisher re-running the legs writes each reused record again with the
    fields a newer publisher added to it, as they were."""
    run_build(stage, FakeBuilder(), io.StringIO())
    path = stage["digests"] / "8.4-linux-amd64.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["provenance"] = {"builder_version": "0.20.1"}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    newer = path.read_bytes()
    builder = FakeBuilder()
    stream = io.StringIO()
    run_build(stage, builder, stream)
    assert builder.built == []
    assert "8.4 linux/amd64: already built and pushed" in stream.getvalue()
    assert path.read_bytes() == newer


def test_a_leg_whose_record_a_newer_publisher_wrote_is_refused_before_it_builds(
    stage: dict[str, Any],
) -> None:
    """Even a rebuild (which reads no earlier record to reuse) leaves a newer publisher's
    record as it is: the leg says so, and builds nothing."""
    stage["digests"].mkdir()
    path = stage["digests"] / "8.4-linux-amd64.json"
    path.write_text('{"schema": 2, "release": "v1.2.0"}\n', encoding="utf-8")
    builder = FakeBuilder()
    with pytest.raises(NewerSchemaError) as caught:
        BuildStage(
            stage["config"],
            RELEASE,
            builder,
            stage["primary"],
            Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
            BuildOptions(reuse=False),
        ).leg(Leg("8.4", Platform.AMD64), base=stage["bases"]["8.4"], record_path=path)
    assert caught.value.exit_code == 3
    assert "this digest record has schema 2, written by a newer publisher" in caught.value.message
    assert builder.built == []
    assert path.read_text(encoding="utf-8") == '{"schema": 2, "release": "v1.2.0"}\n'


#: Files an earlier run may leave where a leg writes its record, none a record this
#: publisher can read, and the words the leg's warning says each with.
DAMAGED = {
    "empty": (b"", "not valid JSON: Expecting value at line 1, column 1"),
    "zeros": (b"\0" * 4096, "not valid JSON: Expecting value at line 1, column 1"),
    "cut short": (
        b'{"schema": 1, "release": "v1.',
        "not valid JSON: Unterminated string starting at line 1, column 26",
    ),
    "not a record": (b'{"schema": 1}\n', "digest record lacks base_digest, base_image"),
    "a field wrong": (None, "platform: "),
    "too large": (b" " * (64 * 1024 + 1), "the file is larger than 64 KiB; not a digest record"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
@pytest.mark.parametrize("reuse", [True, False], ids=["built", "rebuilt"])
def test_a_file_at_the_record_path_that_is_no_record_is_replaced_with_a_warning(
    stage: dict[str, Any], case: str, reuse: bool
) -> None:
    """A damaged file where the leg writes its record (an earlier run's, cut short) does
    not stop the leg: it builds (or reuses the image an earlier record names, which is
    not this file), writes its record over the file, and a warning names the file, what
    was wrong with it and that it was replaced; a leg with a record there says nothing."""
    stage["digests"].mkdir()
    path = stage["digests"] / "8.4-linux-amd64.json"
    content, words = DAMAGED[case]
    if content is None:  # a whole record but for one field: written by hand, say
        run_build(stage, FakeBuilder(), io.StringIO())
        data = json.loads(path.read_text(encoding="utf-8"))
        content = json.dumps({**data, "platform": "linux/sparc"}).encode()
    path.write_bytes(content)
    stream = io.StringIO()
    record = amd64_leg(stage, stream, reuse=reuse, record_path=path)
    said = " ".join(stream.getvalue().split())
    assert json.loads(path.read_text(encoding="utf-8"))["digest"] == record.digest
    assert (
        f"warning: PHP 8.4 linux/amd64: replaced {path}, an earlier file that held no digest "
        "record this publisher can read ("
    ) in said, said
    assert words in said and "), with the leg's record" in said, said
    assert said.count("warning:") == 1, said

    quiet = io.StringIO()
    amd64_leg(stage, quiet, reuse=reuse, record_path=path)
    assert "warning" not in quiet.getvalue(), quiet.getvalue()


def amd64_leg(stage: dict[str, Any], stream: io.StringIO, *, reuse: bool, record_path: Path) -> Any:
    """Build (or reuse) the PHP 8.4 linux/amd64 leg alone, its record at ``record_path``,
    what it says written to ``stream``; its record."""
    return BuildStage(
        stage["config"],
        RELEASE,
        FakeBuilder(),
        stage["primary"],
        Output(env={}, stream=stream, err_stream=stream),
        BuildOptions(reuse=reuse),
    ).leg(Leg("8.4", Platform.AMD64), base=stage["bases"]["8.4"], record_path=record_path)


#: Files publisher wrote that are not the PHP 8.4 linux/amd64 leg's record, each with what
#: the leg's refusal calls it: a --digest-file that names one by mistake.
NOT_THE_LEGS = {
    "a release record": (
        "v1.1.0.json",
        {"schema": 1, "release": "v1.1.0", "default_line": "8.4", "lines": []},
        "this file is the release record of v1.1.0, which publish writes in the notes "
        "directory, not a digest record of PHP 8.4 linux/amd64",
    ),
    "a newer release record": (
        "v1.1.0.json",
        {"schema": 9, "release": "v1.1.0", "lines": [], "added": True},
        "this file is the release record of v1.1.0, which publish writes",
    ),
    "the size history": (
        "size-history.json",
        {"schema": 1, "releases": {"v1.1.0": {"8.4": {"linux/amd64": 1}}}, "pad": "x" * 70_000},
        "this file is the size history, which publish writes in the notes directory",
    ),
    "another leg's record": (
        "8.3-linux-amd64.json",
        None,
        "this file is the digest record of another leg, PHP 8.3 linux/amd64 of v1.2.0, not a "
        "digest record of PHP 8.4 linux/amd64",
    ),
    # a release's notes and pins file beside its record, known by their names
    "the Markdown notes": (
        "v1.1.0.md",
        "Images of this release:\n\n| PHP | image |\n",
        "this file is the Markdown release notes of v1.1.0, which publish writes in the notes "
        "directory, not a digest record of PHP 8.4 linux/amd64",
    ),
    "the pins file": (
        "v1.1.0.env",
        "PHP_PINS_SCHEMA='1'\nPHP_LINES='8.4'\n",
        "this file is the pins file of v1.1.0, which publish writes in the notes directory, "
        "not a digest record of PHP 8.4 linux/amd64",
    ),
    # copied elsewhere, known by what they hold
    "notes copied": (
        "notes.txt",
        "# v1.1.0\n\nStable release\n",
        "this file is the Markdown release notes of v1.1.0, which publish writes",
    ),
    "pins copied": (
        "php.env",
        "PHP_PINS_SCHEMA='1'\nSTACK_RELEASE='v1.1.0'\n",
        "this file is the pins file of v1.1.0, which publish writes",
    ),
    "any other text": (
        "8.4-linux-amd64.json",
        "<html>\n",
        "this file is not a digest record (not JSON): the leg's record would replace it",
    ),
    "a JSON array": (
        "8.4-linux-amd64.json",
        '  [{"schema": 1}]',
        "this file is not a digest record (a JSON array, not an object)",
    ),
}


@pytest.mark.parametrize("case", list(NOT_THE_LEGS))
@pytest.mark.parametrize("reuse", [True, False], ids=["built", "rebuilt"])
def test_a_record_path_holding_a_file_publisher_wrote_for_another_use_is_refused(
    stage: dict[str, Any], tmp_path: Path, case: str, reuse: bool
) -> None:
    """A leg whose record path names a release record, the size history, another leg's
    record, a release's Markdown notes or pins file, or any file that is not JSON (a
    typo) builds nothing and leaves the file as it is, exit 3, its tip
    the leg's own record path; the record of the same leg of another release is the
    leg's to replace, without a word."""
    name, data, words = NOT_THE_LEGS[case]
    if data is None:  # another leg's record, as its build wrote it
        run_build(stage, FakeBuilder(), io.StringIO())
        path = stage["digests"] / name
    else:
        path = tmp_path / "release-notes" / name
        path.parent.mkdir()
        text = data if isinstance(data, str) else json.dumps(data, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
        if name.startswith("v1.1.0."):  # beside the release's record
            record = {"schema": 1, "release": "v1.1.0", "default_line": "8.4", "lines": []}
            (path.parent / "v1.1.0.json").write_text(json.dumps(record), encoding="utf-8")
    content = path.read_bytes()
    builder = FakeBuilder()
    with pytest.raises(PublisherError) as caught:
        BuildStage(
            stage["config"],
            RELEASE,
            builder,
            stage["primary"],
            Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
            BuildOptions(reuse=reuse),
        ).leg(Leg("8.4", Platform.AMD64), base=stage["bases"]["8.4"], record_path=path)
    said = " ".join(caught.value.message.split())
    assert caught.value.exit_code == 3, said
    assert said.startswith(f"{path}: {words}"), said
    assert "it is left as it is, and nothing was built or pushed" in said, said
    assert "e.g. digests/8.4-linux-amd64.json" in (caught.value.hint or ""), caught.value.hint
    assert builder.built == []
    assert path.read_bytes() == content

    # the leg's own record, of another release: replaced, as every rerun does
    own = stage["digests"] / "8.4-linux-amd64.json"
    if not own.exists():
        run_build(stage, FakeBuilder(), io.StringIO())
    data = json.loads(own.read_text(encoding="utf-8"))
    own.write_text(json.dumps({**data, "release": "v1.1.0"}), encoding="utf-8")
    quiet = io.StringIO()
    record = amd64_leg(stage, quiet, reuse=reuse, record_path=own)
    assert "warning" not in quiet.getvalue(), quiet.getvalue()
    assert json.loads(own.read_text(encoding="utf-8"))["release"] == record.release == "v1.2.0"


def test_a_record_names_the_dockerfile_the_builder_read_though_it_changed_meanwhile(
    stage: dict[str, Any],
) -> None:
    """A Dockerfile rewritten during the build (``publisher render`` of another matrix in
    the same checkout) is not what the record says was built: the builder reads the very
    bytes whose sha256 the record names, a copy of its own."""
    import hashlib

    config = stage["config"]
    read: dict[tuple[str, Platform], str] = {}

    class Rendered(FakeBuilder):
        def build(self, request: Any) -> Any:
            path = config.dockerfile_path(request.php)
            path.write_text(path.read_text() + "RUN apk add --no-cache tzdata\n")
            read[(request.php, request.platform)] = (
                "sha256:" + hashlib.sha256(request.dockerfile.read_bytes()).hexdigest()
            )
            return super().build(request)

    records = run_build(stage, Rendered(), io.StringIO(), BuildOptions(jobs=1))
    assert len(records) == len(LEGS)
    for record in records:
        assert record.dockerfile_sha256 == read[(record.php, record.platform)]
