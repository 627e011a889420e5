"""Commands of the release pipeline: build, publish, release, republish, republish-check.

Heavy modules (registry client, builders) are imported inside the commands so
that ``publisher --help`` and ``publisher resolve`` stay fast.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..adapters.emulation import require_emulation_for
from ..core.config import Config, option_text, parse_line_list, text_problem
from ..core.errors import (
    REHEARSAL_RERUN,
    FileAccessError,
    NotFoundError,
    UsageError,
    file_error,
    shown_path,
)
from ..core.locations import REASON, Locations
from ..core.platforms import Platform
from ..core.version import parse_release
from . import options
from .base import State, handle_errors, main, only_lines, pass_state

if TYPE_CHECKING:
    from ..adapters.builders import Builder
    from ..stages.publish import SmokeTest

F = TypeVar("F", bound=Callable[..., Any])


#: The last second of year 9999: the latest time a timestamp label can spell.
MAX_SOURCE_DATE_EPOCH = 253402300799


def created_from_env(env: dict[str, str]) -> str:
    """The image creation time: SOURCE_DATE_EPOCH when set (reproducible), else empty.

    A whole number of seconds since 1970-01-01 UTC, up to the end of year 9999;
    anything else (a sign, a fraction, an overflow) is a usage error naming it.
    """
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return ""
    hint = (
        "set SOURCE_DATE_EPOCH to the release commit's time in whole seconds since "
        f"1970-01-01 UTC (0 to {MAX_SOURCE_DATE_EPOCH}), e.g. $(git log -1 --format=%ct), "
        "or unset it"
    )
    shown = epoch if len(epoch) <= 40 else epoch[:37] + "..."
    if epoch.startswith("-") and epoch[1:].isascii() and epoch[1:].isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={shown!r} is before 1970", hint=hint)
    if not (epoch.isascii() and epoch.isdigit()):
        raise UsageError(
            f"SOURCE_DATE_EPOCH={shown!r} must be a whole number of seconds, digits only",
            hint=hint,
        )
    significant = epoch.lstrip("0") or "0"  # leading zeros change no value
    if len(significant) > 12 or int(significant) > MAX_SOURCE_DATE_EPOCH:
        raise UsageError(f"SOURCE_DATE_EPOCH={shown!r} is after the year 9999", hint=hint)
    moment = datetime.datetime.fromtimestamp(int(significant), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def unstamped(tag: str, run: str | None, *, republish: bool = False) -> str:
    """The warning of a run by hand that builds images without SOURCE_DATE_EPOCH, said
    before it builds: each image is stamped with the time of its build, so no rebuild
    gives it back. A ``republish`` (said by its dry run too) then gets new digests for
    each line it rebuilds and republishes it, whether or not its base moved; a release's
    images (``release``, a ``build`` leg) are those a later republish, stamped with the
    release commit's time, can never tell unchanged. ``run``: the command to run again
    with it set (None: ``export`` it)."""
    if republish:
        what = (
            "each line rebuilt gets new digests and is republished even when its base did "
            "not move, unless the builder's cache gives back the earlier build whole (a "
            "rebuild gives the published images for sure only at the release commit's time)"
        )
    else:
        what = (
            f"{tag}'s images can never be rebuilt identically: a later republish cannot tell "
            "a line whose base did not move, and republishes it with new digests (a rebuild "
            "gives the published images only when both are stamped with the release "
            "commit's time)"
        )
    epoch = f"SOURCE_DATE_EPOCH=$(git log -1 --format=%ct {tag})"
    how = f"`{epoch} {run}`" if run else f"`export {epoch}` before building"
    return (
        "SOURCE_DATE_EPOCH is not set: every image is stamped with the time it is built, so "
        f"{what}. Set it to that time: {how}"
    )


def revision_from_env(env: dict[str, str]) -> str:
    """The source revision the images are labelled with: GITHUB_SHA, which GitHub Actions
    sets to the commit's SHA; empty when unset or blank. It goes into an image label (and
    the index's annotation) as any other value of one does: one line of UTF-8 text, else
    a usage error naming the variable, before anything is built."""
    revision = env.get("GITHUB_SHA", "").strip()
    problem = text_problem(revision)
    if problem:
        raise UsageError(
            f"GITHUB_SHA {problem}: it becomes the images' org.opencontainers.image.revision label",
            hint="GitHub Actions sets it to the commit's SHA: set it to the commit being "
            "released, e.g. $(git rev-parse HEAD), or unset it (then no revision is labelled)",
        )
    return revision


#: How a publish moves its tags (``stages/publish.py``): what an interrupted run left.
TAGS_MOVE_LAST = (
    "tags move last: the pins once every index is on every registry and checked, the "
    "floating tags only after every pin, the notes after them"
)


def interrupted_hint(
    *, builds: bool = True, republish: bool = False, rehearsal: bool = False
) -> str:
    """The tip of a release, republish (``republish``) or publish (no ``builds``)
    interrupted: what is published then, and that a rerun finishes it."""
    if rehearsal:
        return REHEARSAL_RERUN
    if not builds:
        rerun = "with the same digest records finishes it: each step skips what is already done"
    else:
        what, images = ("republish", "pushed and pinned") if republish else ("release", "pushed")
        rerun = (
            f"finishes the {what} from what the registries hold: the images this run "
            f"{images} are reused, not built again, while their Dockerfiles and bases stay "
            "as they are"
        )
    return f"{TAGS_MOVE_LAST}. A rerun of the same command {rerun}"


def _check_json(as_json: bool, dry_run: bool) -> None:
    if as_json and not dry_run:
        raise UsageError(
            "--json prints the dry run's plan; add --dry-run",
            hint="add --dry-run to print the plan as JSON; a real run prints its steps and "
            "its table, and its record is the notes JSON",
        )


def get_builder(state: State, name: str | None) -> Builder:
    from ..adapters.builders import select_builder

    return select_builder(name, state.runner)


def get_smoke(
    state: State,
    config: Config,
    builder_name: str | None,
    skip: bool,
    *,
    local: bool = False,
    locations: Locations | None = None,
) -> SmokeTest | None:
    if skip:
        return None
    from ..adapters.smoke import smoke_tester

    return smoke_tester(
        state.runner, config, prefer=builder_name, rehearsal=local, locations=locations
    )


@main.command("build")
@click.argument("release")
@click.option("--php", "php", required=True, metavar="X.Y", help="The PHP line to build.")
@click.option(
    "--platform",
    "platform_text",
    required=True,
    type=click.Choice([str(p) for p in Platform]),
    help="The platform to build.",
)
@click.option(
    "--digest-file",
    type=options.path(
        path_type=Path,
        empty_hint="name the record's file, e.g. digests/8.4-linux-amd64.json (one per leg)",
    ),
    required=True,
    help="Where to write this leg's digest record, its own file, e.g. "
    "digests/8.4-linux-amd64.json (JSON, written atomically; a symbolic link is kept, the "
    "record written where it points, but never over a file that holds no record (exit "
    "18, that file left as it is); a record there cut short, or an empty file, is "
    "replaced, with a warning; a release record, the size history, another leg's record, "
    "a release's Markdown notes or pins file, or any other file that is not JSON is "
    "refused, exit 3, before any registry is asked, and left as it is).",
)
@options.config
@options.builder
@options.attestations
@click.option(
    "--rebuild", is_flag=True, help="Build even when the record shows the image is already pushed."
)
@pass_state
@handle_errors
def build_command(
    state: State,
    release: str,
    php: str,
    platform_text: str,
    digest_file: Path,
    config_path: str,
    builder: str | None,
    attestations: bool,
    rebuild: bool,
) -> None:
    """Build one PHP line for one platform and push it by digest to the primary registry.

    One leg of a release: GitHub Actions runs one per (line, platform) on native
    runners, then `publisher publish` assembles the indexes from the records.
    When the release's pin for the line is already on the primary registry, the
    leg is not rebuilt: its record is written from the published image (so
    re-running a release's jobs finishes it, whatever the bases did since). A line
    without its committed Dockerfile, or with one larger than 1 MiB, is refused (exit 3,
    as `render --check`; one that cannot be read: 18) before any tool or registry is
    asked; one that is not what matrix.yaml and the template render is built as
    committed, with a warning. A base whose tag was removed from its registry is exit 5, its tip the
    line's last base to pin by digest (`base_digest` in matrix.yaml), as `release`
    gives it; not for a republish's leg (`--rebuild` of a published release), which
    builds the release's commit whatever matrix.yaml says now. An image built on a
    STAND-IN base (labelled dev.publisher.stand-in=true) is refused before it is pushed
    (exit 3) unless matrix.yaml says `stand_in: true`. Without SOURCE_DATE_EPOCH
    (the workflow's legs set it to the release commit's time) the image is stamped
    with the time it is built, which no rebuild gives back: a warning says so before
    building.

    \b
    Examples:
      publisher build v2.0.0 --php 8.4 --platform linux/arm64 \\
        --digest-file digests/8.4-linux-arm64.json
      publisher build v2.0.0 --php 8.1 --platform linux/amd64 \\
        --digest-file d.json --builder buildah
    """
    from ..core import render
    from ..core.fileio import check_cache, check_tmpdir
    from ..core.records import replaced_file
    from ..stages.build import BuildOptions, BuildStage, Leg, other_registries
    from ..stages.publish import load_release
    from ..stages.release import published_lines, resolve_bases, warn_stale_dockerfiles

    if rebuild:
        rerun = "A rerun of the same command builds it again"
    elif state.output.github:  # the record is uploaded only by a leg that finished
        rerun = (
            "Re-running the job builds it again, as a new runner holds no record of it, "
            "unless the release's pin already holds the line"
        )
    else:
        rerun = (
            "A rerun of the same command finishes the leg, reusing the image once its "
            "record is written, while its Dockerfile and base stay as they are"
        )
    state.interrupted_hint = (
        "a leg moves no tag: its image is pushed by digest, and its record written once it "
        f"is. {rerun}"
    )
    version = parse_release(release)
    state.check_request_settings()  # before the builder is probed
    legs = options.locations_of(config_path).command("matrix", version.tag)
    created = created_from_env(state.env)
    revision = revision_from_env(state.env)
    if not php.strip():
        raise UsageError(
            "--php is empty; name the PHP line to build, e.g. 8.4",
            hint=f"one leg builds one PHP line: `{legs}` lists the legs",
        )
    php_lines = parse_line_list(php, "--php")
    if len(php_lines) != 1:
        raise UsageError(
            f"--php: {php!r} names several lines; a build leg builds one, e.g. 8.4",
            hint="run one `publisher build` per line and platform "
            f"(`{legs}` lists the legs), "
            "or `publisher release` for them all",
        )
    php = php_lines[0]  # read as --only reads a line: the blanks around it do not count
    cfg = state.load_config(config_path).select(php_lines, option="--php")
    today = cfg
    given = digest_file
    digest_file = check_digest_file(digest_file, f"{php}-{platform_text.replace('/', '-')}.json")
    locations = options.locations_of(config_path)
    cfg, record = load_release(
        cfg,
        options.notes_dir_of(cfg, None),
        version,
        state.output,
        locations=locations,
    )
    platforms = cfg.line(php).platforms
    if Platform.parse(platform_text) not in platforms:  # before any tool or registry
        raise UsageError(
            f"--platform: PHP {php} is not built for {platform_text}; configured: "
            + ", ".join(p.value for p in platforms)
            + "; nothing was built or pushed",
            hint=f"build one of those (`{legs}` "
            "lists every leg), or "
            f"add {platform_text} to the line's platforms in {shown_path(cfg.source)}",
        )
    leg = Leg(php, Platform.parse(platform_text))
    # a file there that is not the leg's to replace (a release's notes, pins file or
    # record, another leg's record) is refused before any registry is asked
    why = replaced_file(digest_file, leg)
    if why is not None and os.path.islink(given):  # ~/.docker/config.json, never replaced
        raise FileAccessError(
            f"--digest-file {shown_path(given)} is a symbolic link to "
            f"{shown_path(digest_file)}, which holds no digest record ({why}): the record is "
            "written where the link points, so that file is left as it is, and nothing was "
            "built or pushed",
            hint="point the link at the leg's record, remove it, or name a regular file, "
            f"e.g. digests/{leg.record_name}",
        )
    check_tmpdir(state.env)
    check_cache(state.env)  # its locks, before anything starts
    render.require_committed(cfg, locations)  # before any tool or registry, as `release` does
    warn_stale_dockerfiles(
        cfg,
        state.output,
        today=today,
        release=version,
        republish=rebuild and record is not None,
        locations=locations,
    )
    chosen = get_builder(state, builder)
    clients = state.clients.configured(cfg)
    primary = clients[cfg.primary.name]
    # no builder in the title (the `builder:` line names it): a reused leg's image may be
    # another builder's
    with state.output.step(f"Build PHP {php} for {platform_text}"):
        published = not rebuild and php in published_lines(cfg, version, primary)
        # a published release's leg rebuilt is a republish's: it builds the release's
        # commit, so a base gone is not tipped as a new release's (base_digest to pin)
        republish = version if rebuild and record is not None else None
        if not (published or created):  # (the workflows' legs set it)
            state.output.warning(unstamped(version.tag, None, republish=republish is not None))
        bases = (
            {}
            if published
            else resolve_bases(
                cfg,
                state.clients,
                republish=republish,
                locations=options.locations_of(config_path),
            )
        )
        recorded = record.line(php) if record and php in record.line_names else None
        how = BuildOptions(
            locations=options.locations_of(config_path),
            reuse=not rebuild,
            created=created,
            revision=revision,
            attestations=attestations,
        )
        others = other_registries(cfg, clients)
        BuildStage(cfg, version, chosen, primary, state.output, how, others).leg(
            leg,
            base=bases.get(php),
            record_path=digest_file,
            recorded_base=(recorded.base_image, recorded.base_digest) if recorded else None,
            recorded_index=recorded.index_digest if recorded else None,
        )


def check_digest_file(digest_file: Path, name: str) -> Path:
    """Refuse a --digest-file the leg could not use, before anything is built (exit 18):
    a directory, a pipe or a device (never replaced by the record), a symbolic link to
    nowhere (likely a mistake: nothing is there to write to), a record there that this
    user cannot read (it is read to reuse its image and to leave a newer publisher's
    record alone), or a directory it cannot write in. ``name``: the leg's record file
    name, for the tip. Returns the file the record is written to: a symbolic link's
    target, so that the atomic write (a rename in the target's directory) replaces the
    file the link points to, never the link itself."""
    from ..core.fileio import dangling_link, ensure_writable, path_kind, read_prefix

    nothing = "nothing was built or pushed"
    try:
        mode = os.lstat(digest_file).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a new file (ensure_writable: its folder)
        mode = None
    except OSError as exc:  # a folder this user may not search
        raise FileAccessError(
            f"cannot use --digest-file {shown_path(digest_file)} ({exc.strerror or exc}); {nothing}",
            hint=file_error(exc, "use it").hint,
        ) from None
    dangling = dangling_link(digest_file) if mode is not None and stat.S_ISLNK(mode) else None
    if dangling:
        raise FileAccessError(
            f"--digest-file {dangling}; {nothing}",
            hint="the record is written where the link points: point it to an existing "
            f"file, or remove the link, or name a regular file, e.g. digests/{name}",
        )
    if mode is not None and digest_file.is_dir():
        raise FileAccessError(
            f"--digest-file {shown_path(digest_file)} is a directory; {nothing}",
            hint=f"name the record's file, e.g. {shown_path(digest_file / name)}",
        )
    if mode is not None and not digest_file.is_file():  # never replace /dev/null
        raise FileAccessError(
            f"--digest-file {shown_path(digest_file)} is {path_kind(digest_file)}, not a regular file; "
            f"{nothing}",
            hint=f"name the record's file in a directory, e.g. digests/{name}",
        )
    if mode is not None:  # an earlier record: read to reuse its image, or to leave a newer one
        try:
            read_prefix(digest_file, 0)
        except OSError as exc:
            raise FileAccessError(
                f"cannot read --digest-file {shown_path(digest_file)} ({exc.strerror or exc}), the "
                f"leg's earlier record; {nothing}",
                hint=file_error(exc, "read it").hint,
            ) from None
    if mode is not None and stat.S_ISLNK(mode):  # written through, in the target's directory
        digest_file = Path(os.path.realpath(digest_file))
    # made when the record is written: a leg refused before then leaves no empty one
    ensure_writable(
        digest_file.parent,
        "the digest record's directory",
        create=False,
        option="--digest-file PATH",
    )
    return digest_file


@main.command("publish")
@click.argument("release")
@options.digests(
    "Directory holding the build legs' digest records (searched recursively).", required=True
)
@options.config
@options.only
@options.notes_dir
@options.dry_run(
    "Read only: print the publish plan (indexes, copies, every tag move); write nothing."
)
@options.plan_json
@options.jobs("Smoke tests in parallel.")
@options.transfers
@options.builder
@options.no_smoke
@click.option(
    "--reason",
    default=None,
    help="Publish a republish of RELEASE (legs rebuilt with `build --rebuild`): "
    "its pins move, and the reason (one line, at most 500 characters) is kept in the "
    "notes' history.",
)
@pass_state
@handle_errors
def publish_command(
    state: State,
    release: str,
    digests_dir: Path,
    config_path: str,
    only: options.Only,
    notes_dir: Path | None,
    dry_run: bool,
    as_json: bool,
    jobs: int,
    transfers: int,
    builder: str | None,
    no_smoke: bool,
    reason: str | None,
) -> None:
    """Assemble, copy, verify, smoke-test and tag RELEASE from the build legs' records.

    Nothing moves a tag before every index is on every registry, verified and
    smoke-tested; a rerun finishes a failed publish. The legs of one line must
    come from one build: records of a line built from different base images or
    Dockerfiles (a leg run again after its base moved) are refused (exit 2)
    before any write, and so are those of a line built from another Dockerfile
    than this checkout's (legs of another commit or run), unless the release's
    pin already holds the line or it is a republish (--reason). Images built on
    STAND-IN bases (labelled dev.publisher.stand-in=true, or whose `php -v` says
    -standin) are refused (exit 3) before any tag is written unless matrix.yaml says
    `stand_in: true`. The floating tags (php-X.Y, latest) must be overwritable on
    every registry: one refusing to move them as immutable stops the run, its tip
    to turn tag immutability off for them there. A registry that does not list
    tags (404 or 405 on its tag list) is asked for each tag the run needs, with a
    warning.

    \b
    Examples:
      publisher publish v2.0.0 --digests digests/
      publisher publish v2.0.0 --digests digests/ --dry-run
      publisher publish v2.0.0 --digests digests/ --only 8.4 \\
        --reason "base image update"
    """
    if not dry_run:
        state.interrupted_hint = interrupted_hint(builds=False)
    reason = republish_reason(reason)
    from ..core.fileio import check_cache, check_tmpdir, ensure_writable
    from ..core.records import read_directory
    from ..stages.build import other_registries
    from ..stages.publish import (
        Publisher,
        PublishOptions,
        load_release,
        republish_config,
        select_release,
    )
    from ..stages.release import published_lines

    version = parse_release(release)
    state.check_request_settings()
    _check_json(as_json, dry_run)
    lines = only_lines(only)
    cfg = state.load_config(config_path)
    _refuse_secret_reason(state, cfg, reason)
    locations = options.locations_of(config_path, notes_dir, release=version.tag, only=lines)
    notes = options.notes_dir_of(cfg, notes_dir)
    # every line of matrix.yaml, before --only and the environment's selection: a republish
    # without a record keeps those whose pin the primary holds
    whole = state.load_config(config_path, every_line=True) if cfg.narrowed_by else cfg
    cfg, read = select_release(cfg, lines, notes, version, republish=reason is not None)
    # made when the notes are written: a run refused before then leaves no empty one
    ensure_writable(notes, "the release notes directory", create=False, option="--notes-dir DIR")
    cfg, record = load_release(
        cfg,
        notes,
        version,
        state.output,
        republish=reason is not None,
        record=read,
        locations=locations,
    )
    # The records first: an empty directory is a mistake found without asking a registry.
    records = read_directory(digests_dir)
    if not records:
        raise UsageError(
            f"no digest records in {shown_path(digests_dir)}: nothing to publish; no registry was asked",
            hint=(
                "in GitHub Actions, the build legs' digest-* artifacts are kept 7 days: after "
                'that, "Re-run all jobs" (the legs find their pins on the primary and '
                'rebuild nothing), not "Re-run failed jobs"'
                if state.output.github
                else "point --digests at the directory the build legs wrote their records to "
                "(`publisher build ... --digest-file DIR/X.Y-linux-ARCH.json`), or run "
                f"`{locations.command('release', version.tag)}`, "
                "which builds and publishes"
            ),
        )
    clients = state.clients.configured(cfg)
    if reason is not None:
        # A republish needs a published release: a record, or pins on the primary.
        primary = clients[cfg.primary.name]
        pinned = published_lines(cfg, version, primary)
        others = other_registries(cfg, clients)
        cfg = republish_config(
            cfg,
            version,
            record,
            pinned,
            notes,
            state.output,
            locations,
            primary=primary,
            others=others,
        )
    if not dry_run:  # temporary files (copies spooled, smoke tests): before any copy
        check_tmpdir(state.env)
        check_cache(state.env)  # the smoke tests' locks
        state.output.check_step_outputs()  # written once the release is recorded
    if not no_smoke:  # a dry run refuses the setting the real run would refuse
        from ..core.smoke_rules import stay_up

        stay_up(state.env)
    if not (dry_run or no_smoke):  # the smoke tests run every platform: before any copy
        require_emulation_for(p for line in cfg.lines for p in line.platforms)
    smoke = None if dry_run else get_smoke(state, cfg, builder, no_smoke, locations=locations)
    state.json_only(as_json)
    how = PublishOptions(
        notes_dir=notes,
        jobs=jobs,
        transfers=transfers,
        dry_run=dry_run,
        json_plan=as_json,
        republish_reason=reason,
        locations=locations,
    )
    Publisher(
        cfg,
        version,
        clients,
        state.output,
        how,
        smoke=smoke,
        record=record,
        matrix=whole,
        found=read,
    ).run(records)


def release_run_options(func: F) -> F:
    """The options `release` and `republish` share."""
    decorators = [
        options.config,
        options.only,
        options.builder,
        options.jobs("Builds and smoke tests in parallel."),
        options.transfers,
        options.digests(
            "Where the digest records go (default: under .publisher/ next to the matrix)."
        ),
        options.run_notes_dir,
        options.dry_run(
            "Print the build commands and the publish plan (indexes, copies, every tag "
            "move, old digest -> new); write nothing."
        ),
        options.plan_json,
        click.option(
            "--local",
            is_flag=True,
            help=(
                "Rehearse against throwaway loopback registries standing in for the "
                "configured ones. Offline: a matrix with `stand_in: true` and no base "
                "mirror builds on busybox stand-ins of its bases, served by one more."
            ),
        ),
        options.attestations,
        options.no_smoke,
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


def _release(
    state: State,
    release_tag: str,
    *,
    config_path: str,
    only: options.Only,
    builder: str | None,
    jobs: int,
    transfers: int,
    digests_dir: Path | None,
    notes_dir: Path | None,
    dry_run: bool,
    as_json: bool,
    local: bool,
    attestations: bool,
    no_smoke: bool,
    reason: str | None = None,
) -> None:
    """`release` and `republish` (with a reason): build every leg, then publish.

    With --local, on throwaway loopback registries standing in for the configured ones.
    """
    from ..adapters.registry.credentials import docker_config_for_run
    from ..core import render
    from ..core.fileio import check_cache, check_tmpdir
    from ..stages.publish import building_config, select_release
    from ..stages.release import ReleaseOptions, check_outputs, local_registries, release

    if not dry_run:
        state.interrupted_hint = interrupted_hint(republish=reason is not None, rehearsal=local)
    version = parse_release(release_tag)
    state.check_request_settings()  # before a warning, the builder's probe, a rehearsal's registries
    _check_json(as_json, dry_run)
    lines = only_lines(only)
    cfg = state.load_config(config_path)
    _refuse_secret_reason(state, cfg, reason)
    state.json_only(as_json)
    # a tip names the run's --only and --local where the command it names takes them
    rehearsal = (
        (("republish", version.tag, REASON) if reason is not None else ("release", version.tag))
        if local
        else ()
    )
    locations = options.locations_of(
        config_path, notes_dir, digests_dir, release=version.tag, only=lines, rehearsal=rehearsal
    )
    created = created_from_env(state.env)
    warned = None  # said before building, once the run knows it builds an image
    if not (local or created or (dry_run and reason is None)):
        run = ("republish", version.tag, REASON) if reason is not None else ("release", version.tag)
        warned = unstamped(version.tag, locations.command(*run), republish=reason is not None)
    settings = ReleaseOptions(
        digests_dir=options.digests_dir_of(
            cfg, digests_dir, version.tag, local=local, republish=reason is not None
        ),
        notes_dir=options.notes_dir_of(cfg, notes_dir, local=local),
        rehearsal=local,
        jobs=jobs,
        transfers=transfers,
        dry_run=dry_run,
        reuse=reason is None,
        resume=reason is not None,  # a republish's rerun finishes it on the images it pushed
        created=created,
        revision=revision_from_env(state.env),
        republish_reason=reason,
        attestations=attestations,
        json_plan=as_json,
        locations=locations,
        unstamped=warned,
    )
    if not no_smoke:  # read as the other settings: a dry run refuses what the real run would
        from ..core.smoke_rules import stay_up

        stay_up(state.env)
    # every line of matrix.yaml, before --only and the environment's selection: the next
    # release's lines, and those advice about the default line may name
    whole = state.load_config(config_path, every_line=True) if cfg.narrowed_by else cfg
    cfg, read = select_release(
        cfg, lines, settings.notes_dir, version, rehearsal=local, republish=reason is not None
    )
    check_tmpdir(state.env)
    check_cache(state.env)  # the stand-ins, the smoke tests' locks
    if not dry_run:
        state.output.check_step_outputs()  # written once the release is recorded
    # A Dockerfile missing, too large or unreadable is refused before any tool, registry or
    # rehearsal's throwaway registry starts; `release` checks again the lines it builds
    # (alone, for a republish without a record: only its pins say which lines it builds).
    building = building_config(
        cfg,
        read,
        rehearsal=local,
        republish=reason is not None,
        locations=locations,
    )
    if building is not None:
        render.require_committed(building, locations)
    chosen = get_builder(state, builder)
    require_emulation_for(p for line in cfg.lines for p in line.platforms)
    with contextlib.ExitStack() as stack:
        # Read later for every registry: a broken one stops now, but for a rehearsal,
        # which goes on with an empty one (its registries need no credentials).
        stack.enter_context(docker_config_for_run(state.env, state.output, rehearsal=local))
        engine = ""
        if not (dry_run or no_smoke):  # a broken smoke-test engine is found before any build
            from ..adapters.smoke import check_engine

            engine = check_engine(state.runner, builder)
        if not local and (chosen.name == "buildah" or engine.startswith("buildah")):
            from ..stages.preflight import ca_warning

            untrusted = ca_warning(cfg, state.env)
            if untrusted is not None:
                state.output.warning(untrusted)
        if local:  # before any throwaway registry starts or stand-in base is built
            check_outputs(settings)
            cfg, _registries = stack.enter_context(
                local_registries(cfg, state.output, runner=state.runner, env=state.env)
            )
        smoke = (
            None
            if dry_run
            else get_smoke(state, cfg, builder, no_smoke, local=local, locations=locations)
        )
        result = release(
            cfg,
            version,
            builder=chosen,
            clients=state.clients,
            options=settings,
            smoke=smoke,
            read=read,
            matrix=whole,
        )
    if local and result.notes_md and result.notes_json:
        state.output.info(
            f"rehearsal finished: notes at {shown_path(result.notes_md)} and "
            f"{shown_path(result.notes_json)}"
        )
        state.output.info("the throwaway registries have been stopped; nothing was published")


#: The longest --reason: a line of the notes' history table (and the record keeps it for
#: years; a record or notes file past its size limit could no longer be read).
MAX_REASON = 500


def republish_reason(reason: str | None) -> str | None:
    """--reason without its surrounding blanks; a blank reason, one over ``MAX_REASON``
    characters, one with a line break, another control character or an invisible one
    (``text_problem``), or one whose bytes are not UTF-8 (``option_text``: judged and
    kept as its bytes say, in every locale) is refused."""
    if reason is None:
        return None
    text = option_text(  # argv bytes that are not UTF-8: no file can hold them
        "--reason",
        reason,
        hint="write the reason in UTF-8 (the notes and the record are UTF-8 files); "
        "check the terminal's or the workflow's encoding",
    ).strip()
    if not text:
        raise UsageError(
            "--reason must say why the release is republished",
            hint='say it in one line, e.g. --reason "CVE-2026-1234 in libxml2"',
        )
    if len(text) > MAX_REASON:
        raise UsageError(
            f"--reason is {len(text)} characters long; it may be at most {MAX_REASON}",
            hint="say why in one line (e.g. the CVE); link to the details",
        )
    problem = text_problem(text)
    if problem:
        raise UsageError(
            f"--reason {problem}",
            hint="write the reason on one line of visible text: it is a row of the notes' "
            "history table",
        )
    return text


def _refuse_secret_reason(state: State, cfg: Config, reason: str | None) -> None:
    """A --reason holding a registry password or a token is refused before anything runs:
    the reason is published, in the release notes and their history (it is never shown)."""
    if reason is None:
        return
    named = [
        registry.password_env
        for registry in cfg.registries
        if registry.password_env
        and len(state.env.get(registry.password_env, "")) >= 3
        and state.env[registry.password_env] in reason
    ]
    if named or state.output.redact(reason) != reason:
        holds = f"the value of {', '.join(dict.fromkeys(named))}" if named else "a secret"
        raise UsageError(
            f"--reason holds {holds}: the reason is published in the release notes",
            hint="say why in words (e.g. the CVE), without a password or token; "
            "and change that secret if it was shared",
        )


@main.command("release")
@click.argument("release_tag", metavar="RELEASE")
@release_run_options
@pass_state
@handle_errors
def release_command(state: State, release_tag: str, **given: Any) -> None:
    """Build every leg of RELEASE, then publish it: the whole pipeline in one process.

    Lines whose pin the release already has on the primary registry are not
    rebuilt (whatever the bases did since), nor are legs already built and pushed
    per their digest records: rerunning a failed release finishes it. A published
    release keeps its recorded default line, lines and platforms. A line whose
    base tag was removed from its registry (a line past its end) stops it before
    any build (exit 5); the tip gives the line's last base to pin by digest
    (`base_digest` in matrix.yaml, then `publisher render`), read from the label
    of the line's published image, or says to leave the line out. Run without
    SOURCE_DATE_EPOCH (not a rehearsal, nor a dry run), every image is stamped
    with the time it is built, so no rebuild ever gives it back and a later
    republish republishes each line whether or not its base moved: a warning
    says so before building. By hand, as the workflow's legs set it:
    `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct vX.Y.Z) publisher release ...`.

    \b
    Examples:
      publisher release v2.0.0 --local          # rehearsal on loopback registries
      publisher release v1.0.0 --local --config examples/offline/matrix.yaml
                                                # the same offline
      publisher release v2.0.0 --dry-run        # what would happen
      publisher release v2.0.0 --dry-run --json # the publish plan as JSON
      publisher release v2.0.1 --only 8.4,8.5 --jobs 4
    """
    _release(state, release_tag, **given)


@main.command("republish")
@click.argument("release_tag", metavar="RELEASE")
@click.option(
    "--reason",
    required=True,
    help="Why (e.g. the CVE), on one line of at most 500 characters; kept in the notes' history.",
)
@release_run_options
@pass_state
@handle_errors
def republish_command(state: State, release_tag: str, reason: str, **given: Any) -> None:
    """Rebuild a published RELEASE from freshly pulled bases (a security republish).

    Every leg is rebuilt; the release's pins move to the new digests; floating
    tags move only where this release is still the newest stable one. A rerun
    of a republish that failed or was stopped finishes it on the images its
    pins already list (while built from the same bases and Dockerfiles), not
    on new ones; a republish after one that finished builds again. The
    release keeps its recorded default line and lines (its record in the notes
    directory), whatever matrix.yaml says today. The notes keep a dated history
    (old digest -> new digest, reason, what changed). A release with neither a record nor a
    pin on the primary registry was never published: refused (exit 2), publish
    it with `publisher release` first. A rebuild that gives the published images
    moves nothing and adds no history entry (a warning says so). One that gives
    other images moves the pins, and says for each line what changed (a table
    after the digests, and `cause` in the history entry): its base (old -> new
    digest), its Dockerfile (old -> new sha256), or neither: "same base and
    Dockerfile; the build differs: ..." (another builder, labels a newer
    publisher writes, the creation time), which a republish of a release an
    older publisher built gives. It gives the published images
    only with SOURCE_DATE_EPOCH set to the release commit's time, as the
    workflow's legs set it: without it every image is stamped with the time it is
    built, so every line gets new digests and is republished, whether or not its
    base moved (unless the builder's cache gives back an earlier build whole); a
    warning says so before building (and in a dry run). By hand:
    `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct vX.Y.Z) publisher republish ...`.

    It builds the Dockerfiles committed in this checkout, as matrix.yaml renders
    them today: the release's own only when run at the release's commit (as the
    republish workflow's legs are). When the release's record (its extensions)
    renders other ones, a warning says so; the smoke test and the record keep
    the release's extensions.

    \b
    Examples:
      publisher republish v2.0.0 --reason "CVE-2026-1234 in libxml2"
      publisher republish v2.0.0 --reason "openssl update" --only 8.3,8.4
    """
    _release(state, release_tag, reason=republish_reason(reason), **given)


@main.command("republish-check")
@options.config
@options.records_dir
@pass_state
@handle_errors
def republish_check_command(state: State, config_path: str, notes_dir: Path | None) -> None:
    """Say whether the newest stable release's base images changed since it was published.

    Prints `release=vX.Y.Z`, `changed=true|false`, `lines=` (the PHP lines
    whose base moved, comma-separated; a line past its end of life that
    matrix.yaml does not mark `frozen: true` too, once, when its base moved
    after the release: its last update), `frozen=` (lines that can never
    change: `frozen: true` past the line's end, or an official image that no
    longer updates; a line marked before its end is asked as any other, with a
    warning that the mark comes too early) and
    `gone=` (lines whose base no longer exists: not rebuilt, since a rebuild
    could not pull it) on stdout, and nothing else there; also as step outputs
    in GitHub Actions; the weekly schedule republishes only the moved lines, and
    only when changed, then fails the run when a base is gone. Before the first
    stable release it prints `release=` (empty) and `changed=false`, with a warning.
    A release published to another repository than matrix.yaml names now cannot
    be republished from it (`plan`, `matrix` and `republish` refuse): no base is
    asked about, `changed=false`, a warning names the move and the ways on, and
    the step output `repository_moved=` names the registries.

    Each base is asked where the release pulled it, as its record names it
    (through the mirror the release was built with, if any): base.mirror and
    PUBLISHER_BASE_MIRROR play no part.

    On stderr, one line per recorded PHP line, in the record's order: its base
    unchanged (with its digest), moved (old digest to new), no longer on the
    registry (also a warning, an error annotation in GitHub Actions; whether the
    registry still serves the digest the release was built on, asked with one
    HEAD by digest: served, pin it as `base_digest` and mark the line frozen;
    gone too, point the line at a tag that exists or drop it), can never
    change (and why), or left out because matrix.yaml no
    longer has the line (a rebuild could not build it). The line of one past its
    end that matrix.yaml does not mark `frozen: true` says to mark it so (when its
    base moved: once a republish has rebuilt it on that base, which the line names;
    the check itself rebuilds nothing): a warning (a warning annotation in GitHub
    Actions). In GitHub Actions the same lines
    are the step output `details`, a JSON list of strings (before the first
    stable release: the one line saying why there is nothing to check), and,
    once a stable release is recorded, a list in the step summary.
    A line of the release whose security support ends within 90 days (as `plan`
    warns), not marked `frozen: true`, gets a notice on stderr (a notice
    annotation in GitHub Actions, and a section of the step summary in the same
    words): the day, and to mark it `frozen: true` once the first weekly run past
    that day, named by its day, has run (it rebuilds the line once more if its base
    moved), not before.

    \b
    Examples:
      publisher republish-check
      publisher republish-check --notes-dir release-notes
    """
    from ..adapters.output import markdown_list
    from ..stages.republish_check import check_bases, gone_hint

    state.output.quiet = True  # stdout is the key=value lines; workflow commands go to stderr
    state.check_request_settings()
    cfg = state.load_config(config_path)
    result = check_bases(
        cfg,
        options.notes_dir_of(cfg, notes_dir),
        state.clients,
        locations=options.locations_of(config_path, notes_dir),
    )
    state.output.print_lines(
        f"release={result.release}\nchanged={'true' if result.changed else 'false'}\n"
        f"lines={','.join(result.moved)}\nfrozen={','.join(result.frozen)}\n"
        f"gone={','.join(result.gone)}"
    )
    state.output.set_outputs(  # in one write: all of them, or none
        [
            ("release", result.release),
            ("changed", "true" if result.changed else "false"),
            ("lines", ",".join(result.moved)),
            ("frozen", ",".join(result.frozen)),
            ("gone", ",".join(result.gone)),
            ("repository_moved", ",".join(result.repository_moved)),
            ("details", json.dumps(result.details)),
        ]
    )
    for line in result.details:  # on stderr: stdout is the key=value lines alone
        if result.release and line not in result.advised:
            state.output.note(line)
        else:  # no stable release yet, or what to change in matrix.yaml: said as a warning,
            # visible in the run's annotations (in Actions), not only in its log
            state.output.warning(line)
    for text in result.ending:  # a line's end is near: nothing to change before it
        state.output.notice(text)
    if result.gone:  # loud: a maintainer must act, the weekly run cannot rebuild them
        gone = NotFoundError(
            f"the base image of PHP {', '.join(result.gone)} no longer exists: "
            f"{'that line is' if len(result.gone) == 1 else 'those lines are'} not rebuilt",
            hint=gone_hint(result),
        )
        if state.output.github:
            state.output.annotate(gone)
        else:
            state.output.warning(f"{gone.message} ({gone.hint})")
    if result.release:  # the run's summary says which base moved, not only the log
        verdict = f"rebuilding PHP {', '.join(result.moved)}" if result.changed else "no base moved"
        if result.repository_moved:
            verdict = "not checked: it was published to another repository than matrix.yaml names"
        if result.gone:
            verdict += f"; base of PHP {', '.join(result.gone)} gone, not rebuilt"
        redact = state.output.redact
        state.output.summary(
            markdown_list(
                redact(f"Base images of {result.release}: {verdict}"),
                [redact(line) for line in result.details],
            )
        )
    if result.ending:  # the notices in their words: the run's summary, not only its annotations
        state.output.summary(
            markdown_list(
                "Lines near the end of their security support",
                [state.output.redact(text) for text in result.ending],
            )
        )
