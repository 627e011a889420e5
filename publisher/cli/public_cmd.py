"""``publisher check-public``: every pin of a release readable without credentials."""

from __future__ import annotations

import click

from ..core.fileio import counted
from ..core.version import parse_release
from . import options
from .base import State, handle_errors, main, pass_state, print_report


@main.command("check-public")
@click.argument("release_tag", metavar="RELEASE")
@options.release_scope
@options.report_json
@pass_state
@handle_errors
def check_public_command(
    state: State, release_tag: str, scope: options.ReleaseScope, as_json: bool
) -> None:
    """Read every pin of RELEASE on every registry anonymously, as consumers do.

    The pins are those of the release's record (release-notes/RELEASE.json): its
    own lines and default line, whatever matrix.yaml says today; without a
    record (a release not published yet), those of matrix.yaml's lines. A
    --notes-dir given that does not exist is refused as audit refuses it (exit 18),
    never read as a release without a record.

    Credentials are neither read from the environment nor from the docker config.
    A registry that refuses (GHCR creates new packages private) fails with exit
    code 12 and the one-time steps that make it public. A pin missing from a
    repository anyone can read (the registry lists its tags anonymously) is no
    such tag, exit 12 too: the repository is public, the release is not there
    (`publisher verify` names every missing tag); so is a pin answered 404 where
    the tags are not listed either (a repository never pushed there): the read
    was let in (a private repository is refused, 401/403). A registry that does not
    answer is reported beside the others, and alone fails with exit code 7 (rerun);
    one that rate-limits the reads, exit code 6 (wait, then rerun): neither says
    who may read the repository. One that sends an answer publisher cannot take (a
    tag list not JSON or too large, read to tell whether anyone may read a repository
    missing a pin; a HEAD naming other content than it serves) is said so beside the
    others, its pins not read, exit code 8.

    --json prints {"ok", "release", "registries"}, each registry as {"name",
    "repository", "public", "pins"} ("public" null when the registry did not
    answer, rate-limited every read or sent an answer it cannot take) and each pin as
    {"reference", "digest", "problem"} (null when anyone can pull it, else what the
    registry answered); a failed check adds "error".

    \b
    Examples:
      publisher check-public v2.0.0
      publisher check-public v2.0.1 --only 8.4,8.5
      publisher check-public v2.0.0 --notes-dir release-notes
      publisher check-public v2.0.0 --json
    """
    from ..stages.public import check_public, public_error

    version = parse_release(release_tag)
    state.check_request_settings()  # before the stage is announced
    state.json_only(as_json)
    cfg, record = state.load_published(scope, version)
    with state.output.step(f"Anonymous read of every pin of {version.tag}"):
        clients = state.clients
        result = check_public(
            cfg, version, anonymous=clients.anonymous, output=clients.output, record=record
        )
        failure = public_error(
            cfg,
            version,
            result,
            recorded=record is not None,
            locations=options.locations_of(scope.config_path, scope.notes_dir),
        )
        if as_json:
            print_report(state, result.to_dict(cfg), failure)
        if failure is not None:
            raise failure
    state.output.verdict(
        f"{counted(len(result.reads), 'pin')} readable without credentials on "
        f"{counted(len(cfg.registries), 'registry', 'registries')}"
    )
