"""Commands for GitHub Actions: the build job matrix and the GitHub release."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from ..core import jobmatrix, notes
from ..core import plan as planning
from ..core.config import option_text, text_problem
from ..core.errors import (
    ConfigError,
    FileAccessError,
    PublisherError,
    UsageError,
    shown_path,
)
from ..core.fileio import read_text
from ..core.settings import setting
from ..core.version import is_release_tag, parse_release
from . import options
from .base import State, handle_errors, main, only_lines, pass_state
from .release_cmds import republish_reason

#: Lets ``gh-release`` publish a stand-in rehearsal (a rehearsal of the release workflow
#: against a test GitHub server); never set it for a real repository.
ALLOW_STAND_IN = "PUBLISHER_ALLOW_STAND_IN_RELEASE"


def _refuse_other_release(path: Path, release: str, body: str) -> None:
    """Refuse (UsageError, exit 2) the notes at ``path`` (text ``body``) when they are
    another release's: the record beside them (``vX.Y.Z.json`` for ``vX.Y.Z.md``) or
    their heading (``# vX.Y.Z``, as publisher writes them) names another release tag.
    Sent, they would publish that release's body, and its digests, as ``release``'s."""
    marks: list[tuple[str, str]] = []
    if is_release_tag(path.stem) and path.stem != release:
        record = notes.load_record(path.parent, path.stem)
        if record is not None:
            marks.append(
                (record.release, f"their record {notes.record_path(path.parent, path.stem)}")
            )
    heading = body.lstrip("\ufeff").split("\n", 1)[0].strip()
    named = heading[2:].strip() if heading.startswith("# ") else ""
    if is_release_tag(named) and named != release:
        marks.append((named, f"their heading {heading!r}"))
    if not marks:
        return
    right = path.with_name(f"{release}.md")
    beside = {f"{other}.json" for other, _ in marks} | {f"{release}.json", notes.HISTORY_FILE}
    told = ""
    passing = f"pass the notes of {release}: "
    if path.name == right.name:
        # the file of this release, written over (a bad copy, a merge): passing it again
        # would fail alike; its record beside it, when it names this release, says so
        if _record_names(path.parent, release):
            told = (
                f"; their record {shown_path(notes.record_path(path.parent, release))} "
                f"beside them names {release}"
            )
        shown = shown_path(path)
        advice = (
            f"put the notes of {release} back in {shown}, where `publisher publish {release}` "
            f"writes them: restore the file from git (git checkout -- {shown}), or delete it "
            f"and rerun `publisher publish {release}` (or `publisher release {release}`): a "
            "rerun writes a notes file it finds missing again; then pass it again"
        )
    elif any(os.path.lexists(path.with_name(name)) for name in beside):
        # a folder publish writes notes in: those of every release go there
        advice = f"{passing}--notes {right}, where `publisher publish {release}` writes them"
    elif os.path.lexists(right):
        advice = f"{passing}--notes {right}, beside these"
    else:  # a copy elsewhere: publish never wrote into its folder
        advice = (
            f"{passing}`publisher publish {release}` writes them as {right.name} in {options.NOTES}/ "
            "next to the matrix file, or in the --notes-dir it is given (--notes "
            f"{options.NOTES}/{right.name} from the repository root)"
        )
    raise UsageError(
        f"{shown_path(path)} are the notes of {marks[0][0]}, not of {release}: "
        + "; ".join(f"{where} names {other}" for other, where in marks)
        + told
        + f". Sent, they would make {release}'s release body another release's notes; "
        "nothing was sent to GitHub",
        hint=advice,
    )


def _record_names(folder: Path, release: str) -> bool:
    """Whether ``folder`` holds a readable record of ``release`` (``vX.Y.Z.json``)."""
    try:
        return notes.load_record(folder, release) is not None
    except (PublisherError, OSError):
        return False


def _check_title(title: str | None) -> str | None:
    """--title as its bytes say (``option_text``: "café" under LC_ALL=C too). One whose
    bytes are not UTF-8, one given blank (it would retitle an existing release with its
    tag) or one holding a line break, another control character or an invisible one (a
    bidirectional control that would show it in another order: ``text_problem``) is
    refused: a title is one line of visible text."""
    if title is None:
        return None
    title = option_text(
        "--title",
        title,
        hint="write the title in UTF-8 (GitHub keeps UTF-8 text); "
        "check the terminal's or the workflow's encoding",
    )
    if not title.strip():
        raise UsageError(
            "--title is empty",
            hint="leave out --title to keep an existing release's title (a new one is "
            "titled with its tag), or give the title on one line",
        )
    problem = text_problem(title)
    if problem:
        raise UsageError(
            f"--title {problem}",
            hint="write the title on one line of visible text, or leave out --title to keep "
            "an existing release's title",
        )
    return title


def _allow_stand_in(env: Mapping[str, str]) -> bool:
    """PUBLISHER_ALLOW_STAND_IN_RELEASE read as every yes/no variable of publisher is
    (true/false, 1/0, yes/no, on/off; empty is unset): a value it does not know is refused,
    never taken for "no", which would refuse the rehearsal without saying why."""
    value = setting(env, ALLOW_STAND_IN)
    if not value:
        return False
    try:
        return bool(click.BOOL.convert(value, None, None))
    except click.BadParameter:
        raise UsageError(
            f"{ALLOW_STAND_IN}={value!r} is not valid: use true or false (1/0, yes/no, "
            "on/off are accepted too), or unset it",
            hint=f"unset {ALLOW_STAND_IN} for a real release; set it to 1 only to rehearse "
            "the release workflow against a test GitHub server",
        ) from None


@main.command("matrix")
@click.argument("release")
@options.release_scope
@click.option(
    "--github",
    "as_github",
    is_flag=True,
    help="Print the GitHub Actions job matrix as one line of JSON; in Actions also set "
    "the step output `matrix`.",
)
@click.option(
    "--qemu",
    is_flag=True,
    cls=options.EnvOption,
    envvar="PUBLISHER_QEMU",
    help="Put every leg on ubuntu-24.04 and emulate arm64 under QEMU instead of using "
    "native ubuntu-24.04-arm runners (env: PUBLISHER_QEMU).",
)
@click.option(
    "--local",
    "rehearsal",
    is_flag=True,
    help="The legs rehearse (`publisher release RELEASE --local`, as image-build.yml's "
    "do): a new release is not checked against the primary, which a rehearsal never "
    "writes, and the primary is not read.",
)
@click.option(
    "--reason",
    default=None,
    help="The legs of a republish of RELEASE with this reason: the reason is checked as "
    "`publish --reason` checks it (exit 2), a recorded line matrix.yaml no longer has "
    "is refused as that republish refuses it (exit 3), and so is a release with no record "
    "and none of its pins on the primary, or one with no record whose pins on the primary "
    "hold a line matrix.yaml no longer has (exit 2), before any leg is listed.",
)
@pass_state
@handle_errors
def matrix_command(
    state: State,
    release: str,
    scope: options.ReleaseScope,
    as_github: bool,
    qemu: bool,
    rehearsal: bool,
    reason: str | None,
) -> None:
    """List the build legs of RELEASE: one per PHP line and platform, with its runner.

    Each leg runs `publisher build RELEASE --php X.Y --platform P --digest-file
    DIR/SLUG.json` on its runner; `publisher publish` then collects the records.

    A release that has a record (release-notes/RELEASE.json; a rerun or a
    republish) builds what it is: the record's lines and platforms, whatever
    matrix.yaml says today; a recorded line matrix.yaml no longer has cannot be
    built and is left out, with a warning, as a rerun leaves it out (with
    --reason, the legs of a republish, it is refused, exit 3, as `publish
    --reason` refuses it after the legs are built). A new release takes matrix.yaml's,
    and is refused as `release` and `publish` refuse it, before any leg is listed
    (the legs would build for minutes first): without its default line, left out
    by --only, PUBLISHER_LINES or PUBLISHER_PLATFORMS (exit 2, or 3 for the
    environment; unless its pin is on the primary), started with another default
    line (exit 14), or leaving out a line whose pin an earlier run wrote, by that
    selection or dropped from matrix.yaml since (exit 2; unless the primary holds
    its vX.Y.Z: a republish may leave lines out); with --reason, one none of whose
    selected lines has its pin on the primary was never published and is refused
    (exit 2), as `publish --reason` refuses it once the legs have pushed. That reads
    the primary, for a new release only; with --local (the legs rehearse) nothing is
    refused or read.

    \b
    Examples:
      publisher matrix v2.0.0                    # a table of legs and runners
      publisher matrix v2.0.0 --github           # {"include":[{"php":"8.1",...}]}
      publisher matrix v2.0.0 --github --qemu    # every leg on ubuntu-24.04
      publisher matrix v2.0.0 --github --only 8.4,8.5
      publisher matrix v2.0.0 --github --reason "CVE-2026-1234 in libxml2"
      publisher matrix v0.0.0-build-check --github --local   # rehearsal legs
    """
    if as_github:  # stdout carries the one line of JSON; workflow commands go to stderr
        state.output.quiet = True
    republish = republish_reason(reason) is not None
    version = parse_release(release)
    cfg, record = state.load_release(scope, version, republish=republish)
    if record is None and not rehearsal:
        # What `release` and `publish` refuse of a new release: refused before any leg is
        # listed, as the workflow would build them all first. Only the primary can say
        # which lines an earlier run pinned (one matrix.yaml dropped since, too): read for
        # a new release alone, and not for a rehearsal's legs, which refuse none of it.
        from ..stages.publish import (
            nothing_to_republish,
            refuse_before_build,
            refuse_republish_of_dropped_lines,
        )
        from ..stages.release import published_lines

        primary = state.clients.for_registry(cfg.primary)
        locations = options.locations_of(scope.config_path, scope.notes_dir)
        notes = options.notes_dir_of(cfg, scope.notes_dir)
        if republish:  # as `publish --reason` refuses it, which comes after every leg pushed
            refuse_republish_of_dropped_lines(
                cfg, version, record, primary, notes, said="nothing was built or pushed"
            )
        if republish and not published_lines(cfg, version, primary):
            # A republish needs a published release: without a record, its pins. Refused
            # here as `publish --reason` refuses it, which comes after every leg pushed.
            raise nothing_to_republish(
                cfg,
                version,
                notes,
                options.locations_of(
                    scope.config_path,
                    scope.notes_dir,
                    release=version.tag,
                    only=only_lines(scope.only),
                ),
                said="nothing was built or pushed",
            )
        refuse_before_build(
            cfg,
            version,
            record,
            primary,
            maybe_republish=True,
            locations=locations,
            output=state.output,
        )
    result = planning.plan(cfg, version, {})
    if as_github:
        text = jobmatrix.to_json(jobmatrix.github_matrix(result, qemu=qemu))
        state.output.print_text(text)
        state.output.set_output("matrix", text)
        return
    legs = jobmatrix.legs(result, qemu=qemu)
    state.output.table(
        f"Build legs of {result.release} ({len(legs)})",
        ("PHP", "platform", "runner", "emulated", "digest record"),
        [
            (
                leg.php,
                leg.platform,
                leg.runner,
                "yes (QEMU)" if leg.emulated else "no",
                leg.record_name,
            )
            for leg in legs
        ],
    )


@main.command("gh-release")
@click.argument("release")
@click.option(
    "--notes",
    "notes_path",
    type=options.path(
        path_type=Path,
        empty_hint="name the Markdown notes, e.g. release-notes/v2.0.0.md, or leave --notes out "
        "to read release-notes/RELEASE.md",
    ),
    default=None,
    help="Markdown file for the release body [default: release-notes/RELEASE.md].",
)
@click.option(
    "--repo",
    "repository",
    metavar="OWNER/NAME",
    default=None,
    help="The GitHub repository [default: $GITHUB_REPOSITORY, set by Actions].",
)
@click.option(
    "--title",
    default=None,
    help="Release title, on one line [default: RELEASE for a new release; an existing one "
    "keeps its title].",
)
@pass_state
@handle_errors
def gh_release_command(
    state: State,
    release: str,
    notes_path: Path | None,
    repository: str | None,
    title: str | None,
) -> None:
    """Create or update the GitHub release of RELEASE with the release notes as its body.

    Finds the release by tag; creates it when missing (only for a tag GitHub
    holds: GitHub would create a missing tag at the default branch's head, so
    that is exit 15 before any write, saying to push the tag), updates its body when
    present (no write when nothing changed, line ends as GitHub's web editor
    saves them, CRLF, not counting; a draft of the tag is updated and left
    a draft, with a warning). Notes longer than GitHub's 125,000 characters
    (counted in UTF-8 bytes, which fits whatever GitHub counts) leave out their
    oldest republishes (each with all its rows) from the body's republish history,
    with a line saying how many and pointing to the full notes and JSON record in
    the repository (named from the checkout's root). Any notes file publisher writes
    is taken, however long its history (a file over 32 MiB, more than publisher
    writes, is refused: exit 3). The digests are never cut: notes over 125,000
    characters even without their history are refused (exit 3) before any request,
    saying their size without it in UTF-8 bytes.
    The pins file
    next to the notes (RELEASE.env: every line's image pinned by digest, for the
    stack's launcher) is attached to the release, replaced when it changed (the
    new file is uploaded before the old one is removed). A prerelease tag makes a
    prerelease; only the highest stable release is marked "latest". Notes of
    another release (the record beside them, vX.Y.Z.json for vX.Y.Z.md, or their
    heading "# vX.Y.Z" names another tag) are refused (exit 2) before any request,
    naming the notes of RELEASE to pass instead (the file beside them in a folder of
    publisher's records, or when it is there; else where publish writes them). Notes of a
    STAND-IN rehearsal (their record says stand_in: true, their pins file
    PHP_STAND_IN=true, or they carry the rehearsal banner) are refused (exit 2)
    before any request: their images are built on stand-in base images, not the
    official php images
    (PUBLISHER_ALLOW_STAND_IN_RELEASE=1 lets them through, only to rehearse the
    workflow against a test GitHub server). Empty notes (or only white space) are
    refused (exit 3) before any request: they would wipe the release's body. Needs
    GITHUB_TOKEN with `contents: write`; GITHUB_API_URL selects GitHub
    Enterprise Server, by the address it names itself by in its answers (another,
    as behind a port-forwarding proxy, is exit 15 naming both). Requests to
    GitHub are retried as a registry's, bounded by
    PUBLISHER_RETRY_ATTEMPTS (5) and PUBLISHER_RETRY_TOTAL_TIMEOUT (120 s), each
    answered within PUBLISHER_REQUEST_TIMEOUT (30 s; or that total, when shorter): an
    API that never answers fails after at most the total plus 30 s (exit 15).

    \b
    Examples:
      publisher gh-release v2.0.0
      publisher gh-release v2.0.0 --notes release-notes/v2.0.0.md
      GITHUB_TOKEN=... publisher gh-release v2.0.1 --repo acme/php-fpm-images
    """
    state.interrupted_hint = (
        "a rerun of the same command finishes it: it updates the release it finds for the "
        "tag, or creates it, and attaches the pins file"
    )
    version = parse_release(release)
    state.check_request_settings()
    title = _check_title(title)  # refused before the notes are read or GitHub asked
    path = notes_path or Path("release-notes") / f"{version.tag}.md"
    try:
        # Bounded: a file larger than any notes publisher writes is refused before it is
        # read whole (exit 3), one that cannot be read is exit 18, one that is not UTF-8
        # exit 3.
        body = read_text(
            path,
            limit=notes.MAX_NOTES_MARKDOWN_BYTES,
            what="release notes file",
            hint="pass --notes with the release's Markdown notes (release-notes/RELEASE.md), "
            "or restore the file from git history",
        )
    except FileNotFoundError:
        raise FileAccessError(
            f"release notes not found: {shown_path(path)}",
            hint=f"run `publisher publish {version.tag} --digests DIR` first, or pass --notes FILE",
        ) from None
    if not body.strip():
        # GitHub would take it: the published notes replaced by nothing, without a word.
        raise ConfigError(
            f"is empty{'' if not body else ' (only white space)'}: it holds no release notes; "
            f"sent, it would leave the release body of {version.tag} on GitHub empty, "
            "wiping the notes published there",
            source=str(path),
            hint=f"write the notes again with `publisher publish {version.tag} --digests DIR` "
            f"(or `publisher release {version.tag}`), or pass --notes with the release's "
            "notes file; nothing was sent to GitHub",
        )
    _refuse_other_release(path, version.tag, body)
    allow_stand_in = _allow_stand_in(state.env)
    if not allow_stand_in:
        notes.refuse_stand_in(path, version.tag, body)
    # PyGithub is slow to import: only when used
    from ..adapters.github import MAX_BODY, GitHubReleases, Settings
    from ..adapters.output import markdown_link, markdown_text

    state.output.check_step_outputs()  # release-url and release-action: before any request
    releases = GitHubReleases.from_env(
        state.env, repository=repository, output=state.output, settings=Settings(retry=state.retry)
    )
    pins = path.with_name(f"{version.tag}.env")
    _refuse_secrets(state, {"--title": title or "", str(path): body, str(pins): _text_of(pins)})
    if allow_stand_in:  # said after the token is masked (its mask is the first line)
        state.output.warning(
            f"{ALLOW_STAND_IN}={setting(state.env, ALLOW_STAND_IN)}: a STAND-IN rehearsal's notes are let through (only for "
            "rehearsing the workflow against a test GitHub server)"
        )
    names = {
        "notes": _in_repository(path),
        "record": _in_repository(path.with_name(f"{version.tag}.json")),
    }
    body, left_out = notes.fit_body(body, MAX_BODY, **names)
    if left_out:
        oldest = "oldest republish" if left_out == 1 else f"{left_out} oldest republishes"
        state.output.info(
            f"the release body leaves out the {oldest} of its republish history to fit "
            f"GitHub's {MAX_BODY:,} characters; {shown_path(path)} keeps them all"
        )
    elif len(body) > MAX_BODY:  # GitHub surely refuses it: said before anything is sent
        # Their size as the shortest body publisher makes of them (the one that matters),
        # in UTF-8 bytes, as fit_body counts the limit.
        shortest = notes.shortest_body(body, MAX_BODY, **names)
        cut = shortest != body
        raise ConfigError(
            f"the release notes are {notes.body_size(shortest):,} bytes"
            + (" even with their whole republish history left out" if cut else "")
            + f", more than the {MAX_BODY:,} a GitHub release body holds (counted in "
            "UTF-8 bytes)"
            + ("" if cut else ", and they have no republish history to leave out")
            + "; nothing was sent to GitHub",
            source=str(path),
            hint="the digests and what is above the republish history are never cut: pass "
            "--notes with a shorter copy of the notes for the release body (the full notes "
            "stay in the repository)",
        )
    with state.output.step(f"GitHub release {version.tag}"):
        result = releases.upsert(version.tag, body=body, name=title)
    # Said before the pins file is attached: a failure there leaves the release made.
    unwritten: FileAccessError | None = None
    try:
        state.output.set_outputs(  # in one write: both, or neither
            [("release-url", result.url), ("release-action", result.action)]
        )
    except FileAccessError as exc:  # (a full disk: checked before any request otherwise)
        unwritten = exc  # said once the pins file is attached: the release is whole then
    state.output.summary(
        f"GitHub release {markdown_link(version.tag, result.url)}: "
        + markdown_text(result.action)
        + (
            " (a draft: publish it on GitHub)"
            if result.draft
            else (" (marked latest)" if result.action != "unchanged" else " (the latest)")
            if result.latest
            else ""
        )
    )
    if pins.is_file():
        with state.output.step(f"Attach {shown_path(pins.name)}"):
            releases.attach(version.tag, pins)
    else:
        rerun = options.locations_of(options.CONFIG, path.parent).command("release", version.tag)
        state.output.warning(
            f"no pins file {shown_path(pins)} beside the notes, so none is attached: the stack's launcher "
            f"finds no {shown_path(pins.name)} on this release (publish writes it next to {shown_path(path.name)}; "
            f"a run that stopped while writing its notes left it missing: `{rerun}` writes the notes "
            "files missing beside the record, then run this command again)"
        )
    if unwritten is not None:
        unwritten.message += (
            f"; the GitHub release {version.tag} was {result.action} all the same ({result.url})"
        )
        raise unwritten


def _in_repository(path: Path) -> str:
    """``path`` as the release body names it: relative to the root of the git checkout
    that holds it (``release-notes/v2.0.0.md``), else its file name; never a path of
    the machine gh-release ran on."""
    where = Path(os.path.abspath(path))
    for folder in where.parents:
        if (folder / ".git").exists():
            return where.relative_to(folder).as_posix()
    return where.name


def _text_of(path: Path) -> str:
    """The pins file's text, bounded (``notes.read_pins_text``); "" when there is none."""
    try:
        return notes.read_pins_text(path)
    except OSError:
        return ""  # no pins file: said when it is not attached


def _refuse_secrets(state: State, texts: dict[str, str]) -> None:
    """What gh-release publishes holds no secret the run knows (a token or password from
    the environment, a URL's user:password@): else refused before any request."""
    holding = [where for where, text in texts.items() if state.output.redact(text) != text]
    if holding:
        raise UsageError(
            f"{', '.join(holding)} hold{'s' if len(holding) == 1 else ''} a secret (a token, "
            "a password, or a URL's user:password@): it would be published on the GitHub release",
            hint="remove it (a --reason or --title is published as written), and change that "
            "secret if it was shared",
        )
