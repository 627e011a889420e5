"""Commands of the pure core: plan, render, inspect --offline."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import click

from ..core import notes, publish_plan, reference, render
from ..core import plan as planning
from ..core.config import Config
from ..core.errors import PublisherError, StaleDockerfilesError, UsageError, shown_path
from ..core.version import parse_release
from . import options
from .base import State, handle_errors, main, pass_state, print_report
from .release_cmds import republish_reason


@main.command("plan")
@click.argument("release")
@options.release_scope
@options.as_json("Print the plan as JSON (schema in the README).")
@click.option(
    "--existing",
    "existing_tags",
    multiple=True,
    metavar="TAG",
    help="A release or pin tag already published (repeatable); floating tags are computed "
    "from these: a release's pins count with its vX.Y.Z, latest follows vX.Y.Z and php-X.Y "
    "the pins.",
)
@click.option(
    "--reason",
    default=None,
    help="The reason a republish of RELEASE would be given: checked first, as `publish "
    "--reason` and `republish` check it (one line, at most 500 characters; exit 2), and "
    "RELEASE is planned as that republish (a recorded line matrix.yaml no longer has is "
    "refused, exit 3).",
)
@pass_state
@handle_errors
def plan_command(
    state: State,
    release: str,
    scope: options.ReleaseScope,
    as_json: bool,
    existing_tags: tuple[str, ...],
    reason: str | None,
) -> None:
    """Show which tags RELEASE puts on which registry, without touching any.

    Offline: floating tags are computed from the --existing tags plus RELEASE,
    and the pins of the newer stable releases recorded beside it (for a
    backport, a rerun or a republish): they keep the floating tags they hold,
    as the run finds them on the registries. A release that has a record (release-notes/RELEASE.json) is planned as it was
    published, as a rerun or a republish writes it: the record's default line,
    lines and platforms, whatever matrix.yaml says today. A recorded line
    matrix.yaml no longer has is left out with a warning, as a rerun leaves it
    out; with --reason it is refused (exit 3), as `publish --reason` and
    `republish` refuse it, before any leg is built. A floating tag the release
    takes from an --existing release whose record lists a platform this release's
    line lacks is named in a warning, with the platforms it loses.

    \b
    Examples:
      publisher plan v2.0.0
      publisher plan v2.0.1 --existing v2.0.0 --existing v2.0.0-php-8.4 --json
      publisher plan v2.1.0-rc.1 --only 8.4,8.5
      publisher plan v2.0.0 --only 8.4 --reason "CVE-2026-1234 in libxml2"
    """
    # a republish workflow's check, before any leg is built: the reason, and the release
    # as that republish takes it
    republish = republish_reason(reason) is not None
    version = parse_release(release)
    for tag in existing_tags:
        if planning.parse_scheme_tag(tag) is None:
            raise UsageError(
                f"--existing {tag!r} is not a release or pin tag",
                hint="give tags such as v2.0.0 or v2.0.0-php-8.4; floating tags (php-X.Y, "
                "latest) are computed from them",
            )
    cfg, _record = state.load_release(scope, version, republish=republish)
    # a backport, a rerun or a republish moves no floating tag a newer release recorded
    # beside it holds, as its publish finds them on the registries
    newer = notes.newer_recorded_pins(options.notes_dir_of(cfg, scope.notes_dir), version)
    existing = {r.name: (*existing_tags, *newer) for r in cfg.registries}
    result = planning.plan(cfg, version, existing)
    latest = {f.source_release for f in result.floating if f.tag == planning.LATEST}
    # a published release said what it left behind when it was published
    dropped = (
        ()
        if _record is not None
        else planning.dropped_lines(version, existing_tags, cfg.line_names)[1]
    )
    for text in _partial_existing(version.tag, existing_tags, cfg.line_names, latest, dropped):
        state.output.warning(text)
    if _record is None:
        located = options.locations_of(scope.config_path, scope.notes_dir)
        for text in planning.lines_left_behind(version, existing_tags, cfg.line_names, located):
            state.output.warning(text)
    records = options.notes_dir_of(cfg, scope.notes_dir)
    for text in publish_plan.platforms_lost_planned(
        result, existing, lambda tag, floating: _recorded_platforms(records, tag, floating)
    ):
        state.output.warning(text)
    follow = planning.default_line_left_out(
        cfg, version, recorded=_record is not None, tags=existing_tags
    )
    if follow is not None:  # the plan of a release `publisher release` refuses to start
        left_out = " and ".join(planning.default_line_left_out_by(cfg))
        state.output.warning(
            f"{version.tag} is planned without PHP {cfg.default_line}, its default line"
            f" (left out by {left_out}): {follow}, so this plan "
            "moves no such tag; `publisher release` refuses to start a release so, as a "
            "published release keeps its lines and no later run could add it"
        )
    refusal = render.committed_refusal(cfg, locations=options.locations_of(scope.config_path))
    if refusal is not None:  # the plan of a release no command that builds starts
        state.output.warning(
            f"{refusal.message}: `publisher release` (and build, republish) refuses to "
            f"start this release (exit {refusal.exit_code})"
            + (f"; {refusal.hint}" if refusal.hint else "")
        )
    # a published release keeps its default line: advice about it is for the next release
    # the lines advice may name are matrix.yaml's, whatever --only or the environment selects
    whole = state.load_config(scope.config_path, every_line=True)
    upcoming = None if _record is None else whole
    if as_json:  # the warnings go to stderr: stdout stays the JSON alone
        state.warn_matrix(cfg, upcoming, whole, record=_record, republish=republish)
        # "ok" as in every --json document; the plan (plan_sha256 in the notes) is the rest
        print_report(state, {"ok": True, **result.to_dict()}, None)
        # the tables below still go to the step summary in Actions (the output is quiet)
    rows = []
    for line in result.lines:
        for target in line.targets:
            rows.append(
                (line.php, ", ".join(line.platforms), target.repository, ", ".join(target.tags))
            )
    kind = "stable" if result.stable else "prerelease: floating tags stay put"
    state.output.table(
        f"Release {result.release} ({kind}); default line {result.default_line}",
        ("PHP", "platforms", "repository", "tags"),
        rows,
    )
    unmoved = [f for f in result.floating if not f.this_release]
    if unmoved:
        state.output.table(
            "Floating tags that stay on another release",
            ("registry", "tag", "points at"),
            [(f.registry, f.tag, f.source) for f in unmoved],
        )
    if not as_json:  # said above, before the JSON
        state.warn_matrix(cfg, upcoming, whole, record=_record, republish=republish)


def _recorded_platforms(notes_dir: Path, release: str, floating: str) -> list[str] | None:
    """The platforms of the index the floating tag ``floating`` carries in ``release``, as
    its record in ``notes_dir`` says (None: no record, or one that cannot be read)."""
    try:
        record = notes.load_record(notes_dir, release)
    except (PublisherError, OSError):
        return None
    if record is None:
        return None
    php = record.default_line if floating == planning.LATEST else floating[len("php-") :]
    if php not in record.line_names:
        return None
    return [p.platform.value for p in record.line(php).platforms]


def _partial_existing(
    release: str,
    tags: tuple[str, ...],
    lines: tuple[str, ...],
    latest: Collection[str] = (),
    dropped: Collection[str] = (),
) -> list[str]:
    """What the plan leaves out of ``--existing``: a pin of a PHP line the plan does not
    have (not in the matrix, or left out by --only or the release's record: no php-X.Y tag
    of it is planned; not one of ``dropped``, the lines a newer release drops, which
    ``planning.lines_left_behind`` says), the pins of a stable release given without its ``vX.Y.Z`` (a release
    whose pins count only once it is there, as on a registry), and a stable ``vX.Y.Z``
    given without any of its pins (no ``php-X.Y`` stays on it; ``latest`` does when it is
    among ``latest``, the releases the plan's ``latest`` follows, and not when a newer
    release, the one planned, takes it)."""
    said = []
    pins: dict[str, list[str]] = {}
    releases: set[str] = set()
    named: set[str] = set()
    for tag in dict.fromkeys(tags):
        parsed = planning.parse_scheme_tag(tag)
        if parsed is None:
            continue
        if parsed.php is not None and parsed.php not in lines:
            if parsed.php in dropped:  # said as the line the release leaves behind
                named.add(parsed.release.tag)
                continue
            said.append(
                f"--existing {tag}: PHP {parsed.php} is not a line of this plan "
                f"({', '.join(lines)}): no php-{parsed.php} tag is planned, so it moves "
                "nothing; check the line, or leave the tag out"
            )
            named.add(parsed.release.tag)  # its release names a pin all the same
            continue
        if not parsed.release.is_stable or parsed.release.tag == release:
            continue
        if parsed.php is None:
            releases.add(parsed.release.tag)
        else:
            pins.setdefault(parsed.release.tag, []).append(tag)
    for tag, given in pins.items():
        if tag not in releases:
            said.append(
                f"--existing {', '.join(given)} without --existing {tag}: no floating tag "
                f"follows {tag}'s pins (a release whose {tag} is not there did not finish "
                f"writing them); add --existing {tag} if it was published whole"
            )
    for tag in sorted(releases - pins.keys() - named):
        said.append(
            f"--existing {tag} names none of its pins: php-X.Y tags follow pins "
            f"({tag}-php-X.Y) only, so here "
            + (
                f"only latest stays on {tag}"
                if tag in latest
                else f"no floating tag stays on {tag}"
            )
            + f"; add --existing {tag}-php-X.Y for each line it published"
        )
    return said


@main.command("render")
@options.config
@click.option(
    "--check",
    is_flag=True,
    help="Fail (exit 3) if a committed Dockerfile is changed or missing; write nothing.",
)
@options.as_json(
    "Print each line's Dockerfile and its state (current, written, changed, missing) as JSON."
)
@pass_state
@handle_errors
def render_command(state: State, config_path: str, check: bool, as_json: bool) -> None:
    """Render dockerfiles/<X.Y>/Dockerfile for every PHP line from the template.

    --check compares every line's rendered Dockerfile with the committed one and
    fails with exit 3, listing each line that is changed (edited by hand, or not
    rendered again after matrix.yaml or the template changed) or missing, with the
    start of each diff. A Dockerfile left in the directory of a line matrix.yaml no
    longer configures is a warning, with or without --check.

    Every configured line, whatever PUBLISHER_LINES or PUBLISHER_PLATFORMS select:
    they choose the lines a build makes, while the committed Dockerfiles are every
    line's. When they would leave lines out, a note on stderr says they were not
    applied here.

    --json prints {"ok", "template", "lines": [{"php", "path", "state"}], "leftovers"}
    on stdout, the state of each line being current, written, changed (with "diff",
    the start of the diff, a list of at most 13 lines: its two header lines, at most 10
    more, then one saying how many more there are) or missing; a failed check adds
    "error" and exits 3. Its
    paths (the template, each line's and each leftover's Dockerfile) are absolute.

    \b
    Examples:
      publisher render                 # rewrite the Dockerfiles
      publisher render --check         # CI: fail unless they are what render
                                       # writes
      publisher render --check --json  # the same, as JSON
      publisher render --config examples/offline/matrix.yaml
    """
    if not check:
        state.interrupted_hint = (
            "each Dockerfile is written whole or not at all. A rerun of the same command "
            "writes those left"
        )
    selected = state.load_config(config_path)
    cfg = state.load_config(config_path, every_line=True) if selected.narrowed_by else selected
    if selected.narrowed_by:
        state.output.note(
            f"render {'checks' if check else 'writes'} every configured line "
            f"({', '.join(cfg.line_names)}); {' and '.join(selected.narrowed_by)} "
            "selects the lines a build makes, not the committed Dockerfiles"
        )
    result = render.check(cfg)
    if as_json:
        render_json(state, cfg, config_path, result, check)
        return
    for item in result.current:
        state.output.detail(f"up to date: {shown_path(item.path)}")
    if not check:
        for difference in result.differences:
            render.write(difference.rendered)
            state.output.info(f"wrote {shown_path(difference.path)}")
    for leftover in result.leftovers:
        state.output.warning(leftover.describe(cfg))
    if not check or result.ok:
        return
    for difference in result.differences:
        if difference.kind == render.MISSING:
            state.output.info(f"{difference.php} missing: {shown_path(difference.path)}")
            continue
        state.output.info(f"{difference.php} changed: {shown_path(difference.path)}")
        for line in difference.excerpt:
            state.output.info(f"  {line}")
    raise check_failed(cfg, config_path, result)


def check_failed(cfg: Config, config_path: str, result: render.Check) -> StaleDockerfilesError:
    """The failure of ``render --check``, with the command that fixes it."""
    command = options.locations_of(config_path).command("render")
    return result.error(
        cfg,
        hint=f"run `{command}` and commit the result (a change made by hand belongs in "
        f"{shown_path(cfg.source)} or {render.template_shown(cfg)}, which render reads)",
    )


def render_json(
    state: State, cfg: Config, config_path: str, result: render.Check, check: bool
) -> None:
    """``render --json``: write what differs (unless --check), then print the document;
    a failed check's document carries its error, and the command exits 3."""
    if not check:
        for difference in result.differences:
            render.write(difference.rendered)
    for leftover in result.leftovers:  # to stderr: stdout stays the JSON alone
        state.output.warning(leftover.describe(cfg))
    document = result.to_dict(cfg, written=not check)
    failure = None if document["ok"] else check_failed(cfg, config_path, result)
    if failure is not None:
        document["error"] = failure.to_dict()
    state.output.print_text(json.dumps(document, indent=2, sort_keys=True))
    if failure is not None:
        raise failure


@main.command("inspect")
@click.argument("ref")
@click.option(
    "--offline", is_flag=True, help="Only validate and normalize the reference; no network."
)
@options.as_json("Print JSON.")
@pass_state
@handle_errors
def inspect_command(state: State, ref: str, offline: bool, as_json: bool) -> None:
    """Inspect an image reference (REF): online by default, --offline to only normalize it.

    Online: whether it is reachable (or the classified reason: auth, not found,
    rate limited, unreachable), its digest, platforms, compressed size per
    platform (config and layers, in bytes with --json), created, labels (a label
    not every platform carries alike is followed by the platforms that do), the
    number of attestation manifests, and the annotations of an index itself (what the
    registry sent is written with its control characters escaped, "\\n", "\\x1b"). An
    index's platform images are read up to 8 at a time; an index that lists
    indexes is followed to the images inside. An image whose index entry names no
    platform is shown with its config's, said so ("linux/amd64 (from its config;
    the index names none)"). An index whose
    platform image, or an image whose config, the registry lacks is shown all the
    same, and each missing piece is named, a row where the index lists it (exit 5;
    a piece the registry sends altered or malformed is named and a row too, its
    platform's row saying it unreadable, exit 8). REPO:TAG@DIGEST (as a
    pins file names an image) inspects the digest and says where the tag points now,
    so a pin a republish has moved is seen (or, for one platform's image of the
    tag's index, which platform the index lists it as); a tag whose lookup, or the
    read of the index it points at, fails through the retries is said not checked,
    and why, and the digest's inspection stands (exit 0, as for a tag not there).
    An image whose version
    annotation (or the version label of every platform) names a pin tag
    (vX.Y.Z-php-X.Y) is said to be that pin when the pin points at the same digest
    ("latest is v1.2.0-php-8.4"), or said to be built as it when the pin is missing
    or points elsewhere (one more request). Credentials come from the variables
    matrix.yaml names for its registries (./matrix.yaml, or PUBLISHER_CONFIG, when that file exists;
    inspect has no --config), else the docker config; public images need none.

    The reference: line names the reference normalized, with the tag and the digest
    it was given (REPO:TAG@DIGEST; REPO:latest when it names neither).

    --json prints {"ok", "reference" (the object --offline --json prints, with the
    tag and the digest as given), "reachable", "digest", "media_type",
    "is_index", "platforms" (each {"platform", "digest", "size", "created",
    "labels", "platform_from"}: where the platform was read, index, its entry;
    config, the image's config, for a single image or an entry naming none; null,
    neither names one), "attestations", "missing" (each {"platform", "digest", "kind":
    "manifest" or "config"}), "unreadable" (the same for each piece sent altered or
    malformed), "annotations", "tag" (null, or {"name", "digest",
    "matches", "lists_as", "error"}), "pin" (null, or {"name", "digest", "matches", "error"}),
    "error"}.

    \b
    Examples:
      publisher inspect php:8.4-fpm-alpine           # Docker Hub, anonymously
      publisher inspect ghcr.io/acme/php-fpm:v2.0.0-php-8.4 --json
      publisher inspect busybox --offline --json     # just the normalized name
    """
    parsed = reference.parse(ref)
    if not offline:
        from .registry_cmds import inspect_online

        inspect_online(state, parsed, as_json)
        return
    if as_json:  # "ok" as online and in every failure's document
        state.output.print_text(json.dumps({"ok": True, **parsed.as_dict()}, indent=2))
        return
    for key, value in parsed.as_dict().items():
        state.output.info(f"{key:>9}: {value if value is not None else '-'}")
