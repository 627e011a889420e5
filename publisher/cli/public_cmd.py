"""``publisher check-public``: every pin of a release readable without credentials."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.version import parse_release
from . import options
from .base import State, handle_errors, main, pass_state


@main.command("check-public")
@click.argument("release_tag", metavar="RELEASE")
@options.config
@options.only
@options.records_dir
@pass_state
@handle_errors
def check_public_command(
    state: State, release_tag: str, config_path: str, only: options.Only, notes_dir: Path | None
) -> None:
    """Read every pin of RELEASE on every registry anonymously, as consumers do.

    The pins are those of the release's record (release-notes/RELEASE.json): its
    own lines and default line, whatever matrix.yaml says today; without a
    record (a release not published yet), those of matrix.yaml's lines.

    Credentials are neither read from the environment nor from the docker config.
    A registry that refuses (GHCR creates new packages private) fails with exit
    code 12 and the one-time steps that make it public.

    \b
    Examples:
      publisher check-public v2.0.0
      publisher check-public v2.0.1 --only 8.4,8.5
      publisher check-public v2.0.0 --notes-dir release-notes
    """
    from ..stages.public import require_public

    version = parse_release(release_tag)
    cfg, _record = state.load_published(config_path, notes_dir, version, only)
    with state.output.step(f"Anonymous read of every pin of {version.tag}"):
        result = require_public(cfg, version, state.clients)
    state.output.info(
        f"{len(result.reads)} pins readable without credentials on {len(cfg.registries)} registries"
    )
