"""Whole releases in one process: ``release``, ``republish`` and the local rehearsal.

``release`` runs the build legs (in parallel up to ``jobs``) and then the publish
stage: the same code GitHub Actions runs as separate jobs. ``republish``
rebuilds a published release from freshly resolved bases and moves its pins.
``local_registries`` maps every configured registry onto throwaway loopback
registries, so a maintainer can rehearse a release with no credentials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..adapters.builders import Builder
from ..adapters.localregistry import LocalRegistry, full_registry_dir
from ..adapters.output import Output
from ..adapters.registry import RegistryClient
from ..adapters.runner import Runner
from ..core import lifecycle, render
from ..core.config import Config, Line, Registry
from ..core.errors import (
    NO_SPACE,
    FileAccessError,
    NotFoundError,
    PartialVerificationError,
    PublisherError,
    RateLimitedVerificationError,
    RegistryError,
    ReleaseConflictError,
    UnreachableError,
    file_error,
    out_of_room,
    shown_path,
)
from ..core.fileio import counted, ensure_writable, remove_unfinished_writes
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import REASON, Locations
from ..core.notes import check_size_history, higher_stable_recorded, rehearsed_backport
from ..core.plan import line_warnings, pin_tag
from ..core.records import DigestRecord, replaced_file, replaced_warning
from ..core.reference import Reference
from ..core.version import Release
from .build import (
    BuildOptions,
    BuildStage,
    Leg,
    base_gone_hint,
    base_named,
    legs,
    mirror_tip,
    one_refusal,
    other_registries,
    published_record,
    record_paths,
    refuse_reused_built_otherwise,
    resolve_base,
)
from .clients import ClientFactory
from .publish import (
    PENDING_DIR,
    Publisher,
    PublishOptions,
    PublishResult,
    ReleaseRecord,
    SmokeTest,
    load_release,
    refuse_before_build,
    republish_config,
)


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions(BuildOptions, PublishOptions):
    """How a whole release runs: its builds, then its publish."""

    digests_dir: Path
    #: ``--local``: the registries are throwaway ones, new for each run
    rehearsal: bool = False
    #: the warning of a run by hand without SOURCE_DATE_EPOCH, said before building once
    #: the run knows it builds an image: not when the pins hold every one it takes
    unstamped: str | None = None


def resolve_bases(
    config: Config,
    clients: ClientFactory,
    *,
    republish: Release | None = None,
    locations: Locations = DEFAULT_LOCATIONS,
) -> dict[str, Reference]:
    """Each selected line's base, pinned to the digest it has right now. A base the
    registry does not have is named with its line (NotFoundError); for a ``republish``,
    the hint says how to republish the release's other lines without it."""
    bases: dict[str, Reference] = {}
    made: dict[str, RegistryClient] = {}
    for line in config.lines:
        ref = config.base_pull_ref(line)
        client = made.get(ref.domain) or clients.for_base(config, ref)
        made[ref.domain] = client
        try:
            bases[line.php] = resolve_base(config, line, client)
        except NotFoundError as exc:
            raise _base_not_found(
                exc, clients, client, config, line, ref, republish, locations
            ) from exc
        clients.output.info(f"PHP {line.php}: base {bases[line.php]}")
    return bases


def _base_not_found(
    exc: NotFoundError,
    clients: ClientFactory,
    client: RegistryClient,
    config: Config,
    line: Line,
    ref: Reference,
    republish: Release | None,
    locations: Locations = DEFAULT_LOCATIONS,
) -> NotFoundError:
    """``exc`` (met resolving ``ref``, the base of ``line``) named as that line's base, as
    preflight names it (through the mirror, its copy: ``base_named``, ``mirror_tip``); for
    a republish, with the command that republishes the release's other lines without it;
    for a new release whose base tag is gone, with how to go on (``base_gone_hint``)."""
    php = line.php
    message = exc.message
    label = f"{client.transport.label}: "
    if message.startswith(label):
        message = message[len(label) :]
    exc.message = f"{base_named(config, line, ref)}: {message}"
    exc.args = (exc.message,)
    others = [name for name in config.line_names if name != php]
    if republish is not None and others:
        command = locations.command("republish", republish.tag, REASON, "--only", ",".join(others))
        exc.hint = (
            f"a republish rebuilds each line from its base as it is today; the published "
            f"images of PHP {php} stay as they are: republish the other lines without it, "
            f"`{command}` "
            "(the workflow's `only` input)" + (f"; {exc.hint}" if exc.hint else "")
        )
    elif republish is None:
        exc.hint = base_gone_hint(exc, ref, config, php, clients, locations)
    exc.hint = mirror_tip(config, line, exc.hint)
    return exc


def published_lines(config: Config, version: Release, primary: RegistryClient) -> set[str]:
    """The selected lines whose pin this release already has on the primary."""
    present = primary.tag_digests(
        config.primary.repository.path, [pin_tag(version, line.php) for line in config.lines]
    )
    return {line.php for line in config.lines if pin_tag(version, line.php) in present}


def warn_stale_dockerfiles(
    config: Config,
    output: Output,
    *,
    today: Config | None = None,
    release: Release | None = None,
    republish: bool = False,
    locations: Locations | None = None,
) -> None:
    """Warn when the committed Dockerfiles are not what matrix.yaml and the template render
    now (matrix.yaml edited, `publisher render` forgotten): the builds use the committed
    files. CI's preflight refuses the same with `render --check`. A template that no
    longer renders is said too, with its error (a committed file missing or unreadable
    was refused before: ``render.require_committed``).

    ``config`` is the run's, which keeps a recorded ``release``'s own settings (its
    extensions, ...); ``today`` is matrix.yaml's. Committed files that ``today`` renders
    are current, whatever the record says: a republish (``republish``) is told that it
    builds them, not the release's own Dockerfiles, which only a republish from the
    release's commit builds; a rerun of a release, which reuses its images, is told
    nothing. ``locations``: the run's, which the render command named carries."""
    try:
        found = render.check(config)
        kept = () if found.ok or today is None else _lines_of(today, found)
        stale = render.check(today.select(kept)) if today is not None and kept else found
    except PublisherError as exc:  # a template that no longer renders, a file unreadable
        output.warning(
            "the committed Dockerfiles could not be compared with what matrix.yaml and the "
            f"template render: {exc.message}; the builds use the committed files: "
            f"`{render.render_command(config, '--check', locations=locations)}` says what to fix"
        )
        return
    if not stale.ok:
        output.warning(
            stale.error(config, "").message + "; the builds use the committed files: run "
            f"`{render.render_command(config, locations=locations)}` if matrix.yaml or the "
            "template changed since"
        )
    elif not found.ok and republish and release is not None and today is not None:
        output.warning(_not_the_release_s_own(config, today, found, release))


def _lines_of(today: Config, found: render.Check) -> tuple[str, ...]:
    """The lines of ``found``'s differences that matrix.yaml (``today``) still has."""
    return tuple(d.php for d in found.differences if d.php in today.line_names)


def _not_the_release_s_own(
    config: Config, today: Config, found: render.Check, release: Release
) -> str:
    """A local republish of ``release`` whose record renders other Dockerfiles than the
    committed ones, which matrix.yaml (``today``) renders: what it builds, in words."""
    lines = [d.php for d in found.differences]
    said = []
    for php in lines:
        recorded = config.line(php).extensions.names
        now = today.line(php).extensions.names if php in today.line_names else None
        if now is not None and now != recorded:
            said.append(
                f"PHP {php}: recorded {', '.join(recorded) or 'none'}, matrix.yaml "
                f"{', '.join(now) or 'none'}"
            )
    what = f" (its extensions: {'; '.join(said)})" if said else ""
    return (
        f"the committed Dockerfiles of PHP {', '.join(lines)} are current (matrix.yaml and "
        f"the template render them), but not what {release.tag} was built from: its record "
        f"renders them otherwise{what}. A local republish builds the committed Dockerfiles, "
        "so its images get matrix.yaml's settings of today, while the smoke test and the "
        f"record keep {release.tag}'s; to rebuild {release.tag}'s own Dockerfiles, "
        "republish from the commit that published it (the republish workflow checks it "
        "out), or publish the change as a new release"
    )


def check_outputs(options: ReleaseOptions) -> None:
    """The notes and digest directories can be written (FileAccessError, exit 18), proven
    without creating them: each is made when the run first writes there (the digest
    directory when the builds start, the notes directory with the notes), so that a
    run refused or interrupted before then leaves no empty directory behind."""
    ensure_writable(
        options.notes_dir, "the release notes directory", create=False, option="--notes-dir DIR"
    )
    ensure_writable(
        options.digests_dir, "the digest records directory", create=False, option="--digests DIR"
    )


def release(
    config: Config,
    version: Release,
    *,
    builder: Builder,
    clients: ClientFactory,
    options: ReleaseOptions,
    smoke: SmokeTest | None,
    read: ReleaseRecord | None = None,
    matrix: Config | None = None,
) -> PublishResult:
    """Build every leg (skipping what the release or an earlier run already pushed), then publish.

    ``config`` is today's matrix; a release that has a record keeps what the
    record says (default line, lines, platforms). Outputs are checked first, and
    the new digest records replace the earlier ones only when the run succeeds.
    ``read``: the release's record as ``select_release`` gave it (read once).
    ``matrix``: today's whole matrix.yaml, before ``--only`` and the environment narrowed
    ``config`` (the next release's lines and default line, which advice about a published
    release's default line is for, and the lines advice about a default line names;
    default: ``config``).
    """
    output = clients.output
    check_outputs(options)
    republish = options.republish_reason is not None
    matrix = config if matrix is None else matrix
    today = config
    # read once, now: the notes tell a record another run wrote meanwhile (``found``)
    read = read if read is not None else ReleaseRecord(options.notes_dir, version)
    config, record = load_release(
        config,
        options.notes_dir,
        version,
        output,
        republish=republish,
        rehearsal=options.rehearsal,
        dry_run=options.dry_run,
        record=read,
        locations=options.locations,
    )
    if options.rehearsal and not republish:
        higher = higher_stable_recorded(options.notes_dir, version)
        if higher is not None:  # its registries start empty: it moves what a backport would not
            output.notice(
                "rehearsal: " + rehearsed_backport(version.tag, higher.tag, str(options.notes_dir))
            )
    # Every leg would fail on a Dockerfile missing or unreadable: refused before any
    # registry is asked, anything built or pushed (a dry run says the same). A republish
    # without a record builds only the lines whose pin is on the primary: checked once
    # the primary said which (a line it leaves out needs no Dockerfile).
    lines_from_pins = republish and record is None

    def check_dockerfiles(config: Config) -> None:
        render.require_committed(config, options.locations)
        warn_stale_dockerfiles(
            config,
            output,
            today=today,
            release=version,
            republish=republish,
            locations=options.locations,
        )

    if not lines_from_pins:
        check_dockerfiles(config)
    # The notes are written last, after the tags moved: a size history that
    # cannot be read refuses the run now, before anything is built; so does an
    # earlier digest record a newer publisher wrote, which this run would replace, or a
    # file publisher wrote that is no record of its leg; one that holds no record this
    # publisher can read (cut short) is replaced, said once the run succeeded.
    check_size_history(options.notes_dir)
    tip = (
        f"move that file out of {shown_path(options.digests_dir)}, where the run keeps its digest "
        "records, one per leg, named after it, then rerun"
    )
    damaged = {
        leg: why
        for leg in legs(config)
        if (why := replaced_file(options.digests_dir / leg.record_name, leg, tip=tip)) is not None
    }
    registries = clients.configured(config)
    primary = registries[config.primary.name]
    # One read of the primary before anything is built: it proves the registry
    # answers, and says which lines the release already holds.
    done = published_lines(config, version, primary)
    # the primary's tags as read now: a dry run, which writes nothing, plans on them (the
    # real run reads them again once its builds are done)
    listed: dict[str, list[str]] = {}
    if not republish:
        refuse_before_build(
            config,
            version,
            record,
            primary,
            rehearsal_output=output if options.rehearsal else None,
            others=other_registries(config, registries),
            locations=options.locations,
            listed=listed,
            output=output,
        )
    if republish:
        # A republish rebuilds a published release: one with a record or pins.
        config = republish_config(
            config,
            version,
            record,
            done,
            options.notes_dir,
            output,
            options.locations,
            primary=primary,
            said="nothing was built or pushed",
            # read only to say what they hold when there is nothing to republish
            others=other_registries(config, registries) if not (record or done) else None,
        )
    if lines_from_pins:  # before anything is built or pushed, as for the others
        check_dockerfiles(config)
    # About the lines this run writes: a published release's recorded ones, not
    # today's matrix.yaml (whose disagreements load_release said once).
    # A published release keeps its default line: advice about it is the next release's.
    upcoming = matrix if record is not None or republish else None
    for text in line_warnings(
        config,
        lifecycle.today(),
        upcoming=upcoming,
        matrix=matrix,
        republished=record.republished if record is not None else (),
        rebuilding=republish,
    ):
        output.warning(text)
    if not options.reuse or republish:
        done = set()
    todo = tuple(php for php in config.line_names if php not in done)
    recorded_bases = (
        {line.php: (line.base_image, line.base_digest) for line in record.lines} if record else {}
    )
    recorded_indexes = {line.php: line.index_digest for line in record.lines} if record else {}
    # A pin that holds an image built for another pin (pushed by hand, or by a
    # mistaken copy) refuses the run now, before anything is built; the records
    # read here are the ones the build step reuses. Every such pin is named at once, so
    # that a maintainer fixing them by hand does not meet the next one run after run.
    published: dict[Leg, DigestRecord] = {}
    refused: list[ReleaseConflictError] = []
    refused_lines: set[str] = set()
    for leg in legs(config):
        if leg.php not in done or leg.php in refused_lines:
            continue  # a pin is named once, by its first image refused
        try:
            found = published_record(
                config,
                version,
                leg,
                primary=primary,
                recorded_base=recorded_bases.get(leg.php),
                recorded_index=recorded_indexes.get(leg.php),
                others=other_registries(config, registries),
                locations=options.locations,
            )
        except ReleaseConflictError as exc:
            refused.append(exc)
            refused_lines.add(leg.php)
            continue
        if found is not None:
            published[leg] = found
    if refused:
        raise one_refusal(version, refused)
    pending = options.digests_dir / PENDING_DIR  # the builds' records, kept once published
    if not republish:  # a recorded release too: its tag may have moved to another commit
        refuse_reused_built_otherwise(
            config,
            version,
            published,
            (pending, options.digests_dir),
            primary,
            revision=options.revision,
            locations=options.locations,
        )
    if options.unstamped and any(leg not in published for leg in legs(config)):
        output.warning(options.unstamped)
    if done:
        output.info(
            f"{version.tag} already holds PHP {', '.join(sorted(done))} on "
            f"{config.primary.name}: those images are reused, not rebuilt"
        )
    bases: dict[str, Reference] = {}
    if todo:
        with output.step(f"Resolve the base images ({counted(len(todo), 'line')})"):
            try:
                bases = resolve_bases(
                    config.select(todo),
                    clients,
                    republish=version if republish else None,
                    locations=options.locations,
                )
            except UnreachableError as exc:
                if options.rehearsal and not config.stand_in:
                    exc.hint = _stand_in_hint(exc.hint, config, version, republish)
                raise
    stage = BuildStage(config, version, builder, primary, output, options)
    if options.dry_run:
        with output.step("Dry run: the build commands that would run"):
            # The records the builds would take instead of building: the pins' images and
            # earlier records still on the primary (a stale record is rebuilt, not refused).
            earlier: dict[Leg, DigestRecord] = {}
            for leg in legs(config):
                reuse = stage.reused(
                    leg,
                    base=bases.get(leg.php),
                    record_paths=record_paths(leg, options.digests_dir, pending),
                    recorded_base=recorded_bases.get(leg.php),
                    published=published,
                )
                if reuse is not None:
                    earlier[leg] = reuse[0]
                    output.info(f"  {leg.label}: {reuse[1]}")
            stage.commands(bases, options.digests_dir / ".work", reused=earlier)
        return Publisher(
            config,
            version,
            registries,
            output,
            options,
            record=record,
            matrix=matrix,
            before_builds=True,
            found=read,
            listed_before=listed,
        ).run(list(earlier.values()))
    with output.step(
        f"Build {counted(len(legs(config)), 'image')} (up to {options.jobs} at a time)"
    ):
        records = stage.all(
            bases,
            options.digests_dir,
            records_dir=pending,
            recorded_bases=recorded_bases,
            published=published,
        )
    try:
        result = Publisher(
            config,
            version,
            registries,
            output,
            options,
            smoke=smoke,
            record=record,
            matrix=matrix,
            found=read,
        ).run(records)
    except _REGISTRY_FAILED as exc:  # a refusal (a conflict, a backwards latest) is not
        # finished by a rerun, and a rehearsal's registries are gone
        if not options.rehearsal and not republish:  # (it reuses only what it pinned)
            exc.hint = _builds_kept_hint(exc.hint, records, config.primary.name, pending)
        raise
    keep_records(pending, options.digests_dir, [leg.record_name for leg in legs(config)])
    for leg, why in damaged.items():
        output.warning(replaced_warning(leg, options.digests_dir / leg.record_name, why))
    return result


#: The failures after the builds that a rerun finishes: a registry that failed, or that
#: could not be read back (its images are then kept on the primary, their records with them).
_REGISTRY_FAILED = (RegistryError, PartialVerificationError, RateLimitedVerificationError)


def _builds_kept_hint(
    hint: str | None, records: Sequence[DigestRecord], primary: str, pending: Path
) -> str:
    """What a release that failed after its builds adds to the error's hint: the images
    are on the primary and recorded, so the rerun that finishes the release reuses them
    (hours of builds are not lost to a registry that failed while publishing)."""
    images = (
        "the image of this run is"
        if len(records) == 1
        else (f"the {len(records)} images of this run are")
    )
    said = (
        f"{images} built and pushed to {primary} "
        f"(records in {pending}): a rerun of the same command reuses them, without "
        "building them again, while their Dockerfiles and bases stay as they are"
    )
    return f"{hint}; {said}" if hint else said


def keep_records(pending: Path, digests_dir: Path, names: Iterable[str]) -> None:
    """Move the records of a successful run (``names``: one per leg it built or reused)
    over the earlier ones.

    A record in ``pending`` of a leg this run did not have (an earlier run of more lines
    that failed) stays there, as it was: it describes no published image, so it never
    replaces the record of its line. The temporary file of a record a killed run was
    writing is removed, and a directory that stays is no failure: the records are in
    place, and a rerun would meet the same directory again."""
    try:
        for name in sorted(set(names)):
            with contextlib.suppress(FileNotFoundError):
                os.replace(pending / name, digests_dir / name)
    except OSError as exc:
        raise file_error(exc, "keep the digest records") from None
    remove_unfinished_writes(pending)  # write_atomic's, of a run killed meanwhile
    with contextlib.suppress(OSError):
        pending.rmdir()


def _stand_in_hint(hint: str | None, config: Config, version: Release, republish: bool) -> str:
    """What a rehearsal that cannot reach its real bases (an offline machine) adds to the
    error's hint: a stand-in matrix rehearses without them."""
    command = "republish" if republish else "release"
    reason = ' --reason "..."' if republish else ""
    said = (
        f"{shown_path(config.source)} has no stand_in: true in it, so this rehearsal pulls the real "
        "bases; to rehearse without reaching them, run it on a copy of the matrix with "
        'stand_in: true (README, "The two commands")'
    )
    example = _offline_example(config)
    if example is not None:
        said += (
            f", or on publisher's offline example: `publisher {command} {version.tag} "
            f"--local{reason} --config {shlex.quote(example)}`"
        )
    return f"{hint}; {said}" if hint else said


#: publisher's stand-in example matrix, in its repository (a checkout, or an editable install).
OFFLINE_EXAMPLE = Path("examples") / "offline" / "matrix.yaml"


def _offline_example(config: Config) -> str | None:
    """``examples/offline/matrix.yaml`` named so that ``--config`` finds it from the current
    directory: as it is below it, else by its path beside the matrix or in publisher's own
    checkout; None when none of them is there (an installed publisher ships no examples)."""
    for candidate in (
        OFFLINE_EXAMPLE,
        Path(config.root) / OFFLINE_EXAMPLE,
        Path(__file__).resolve().parents[2] / OFFLINE_EXAMPLE,
    ):
        try:
            if candidate.is_file():
                return str(candidate)
        except OSError:  # a folder this user may not search, a removed current directory
            continue
    return None


# --------------------------------------------------------------------------- local rehearsal


def map_to_local(config: Config, hosts: Mapping[str, str]) -> Config:
    """``config`` with every registry moved to the loopback host standing in for it.

    The repository path keeps the original host as its first component so that
    two registries on one loopback host stay apart; credentials are dropped.
    """
    registries = []
    for registry in config.registries:
        local = hosts[registry.host]
        path = registry.repository.path
        registries.append(
            Registry(
                name=registry.name,
                repository=Reference(local, path),
                primary=registry.primary,
                username_env=None,
                password_env=None,
                insecure=True,
            )
        )
    return dataclasses.replace(config, registries=tuple(registries))


@contextlib.contextmanager
def local_registries(
    config: Config,
    output: Output,
    *,
    runner: Runner | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[Config, list[LocalRegistry]]]:
    """Start one throwaway registry per configured registry host; yield the mapped config.

    For a stand-in matrix (``stand_in: true``) with no base mirror set, one more
    throwaway registry serves the stand-in base images, built and pushed here,
    and becomes the base mirror.
    """
    started: list[LocalRegistry] = []
    hosts: dict[str, str] = {}
    served = None  # the stand-in bases, which buildah may leave nameless (forget_registry)
    runner = runner or Runner(output=output)  # also says what a killed rehearsal left
    if config.stand_in and not config.base_mirror:  # before any registry starts
        from . import standins

        standins.check_cache(os.environ if env is None else env)
        standins.check_engine(config, runner, env=env)
    try:
        for registry in config.registries:
            if registry.host in hosts:
                continue
            local = LocalRegistry(runner=runner).start()
            started.append(local)
            hosts[registry.host] = local.host
            output.progress(f"rehearsal: {registry.host} is played by {local.url}")
        mapped = map_to_local(config, hosts)
        if config.stand_in and not config.base_mirror:
            from . import standins

            bases = LocalRegistry(runner=runner).start()
            started.append(bases)
            output.progress(f"rehearsal: STAND-IN base images are served by {bases.url}")
            pushed = standins.push_for_config(config, bases.host, runner=runner, env=env)
            from ..adapters.builders.buildah import stand_in_bases

            served = stand_in_bases(runner, bases.host, pushed)  # before any build
            mapped = dataclasses.replace(mapped, base_mirror=bases.host)
        yield mapped, started
    except PublisherError as exc:
        full = _out_of_room(started, exc)
        if full is None:
            raise
        raise full from None
    finally:
        if started:
            from ..adapters.builders.buildah import forget_registry

            for local in started:  # the bases buildah pulled from them, named after them
                forget_registry(runner, local.host, os.environ if env is None else env, served)
        for local in started:
            local.stop()


def _out_of_room(started: list[LocalRegistry], exc: PublisherError) -> FileAccessError | None:
    """A throwaway registry that answered "no space left on device": the file system
    under TMPDIR, where it keeps what the rehearsal pushes, is full. Said as such (exit
    18), not as a registry having trouble, naming the registry whose directory its answer
    names (a copy's message names the registry it reads from as well), else the one the
    message names."""
    if NO_SPACE not in exc.message.lower():
        return None
    named = full_registry_dir(exc)
    for local in sorted(started, key=lambda local: local.directory != named):
        if local.directory is not None and local.host in exc.message:
            return out_of_room(
                f"the rehearsal's throwaway registry {local.host}",
                local.directory.parent,
                "the throwaway registries keep every image the rehearsal pushes",
                exc.message,
                needs="a rehearsal of every line keeps each image on each registry until it ends",
            )
    return None
