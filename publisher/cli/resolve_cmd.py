"""``publisher resolve``: which PHP-FPM image a stack should run.

The rules live in ``publisher.resolve`` (one stdlib-only file, also runnable as
``python -m publisher.resolve`` or vendored as ``resolve.py``); this module only
maps flags onto its inputs, prints the decision and exits with its code.
"""

from __future__ import annotations

import os
import sys

import click

from .. import resolve as resolving
from ..core.errors import EXIT_BUILD_LOCALLY, EXIT_CANNOT_PROCEED, EXIT_USE_PREBUILT, OutputClosed
from .base import JsonCommand, State, handle_errors, main, pass_state

EPILOG = f"""\b
Exit codes: {EXIT_USE_PREBUILT} use the pre-built image, {EXIT_BUILD_LOCALLY} build locally,
{EXIT_CANNOT_PROCEED} cannot proceed (nothing usable and no fallback),
2 invalid input, 3 missing or broken pins file.
"""


#: Where ``--help`` is noted until the whole command line has been read.
_HELP_ASKED = "publisher.resolve.help"


def _note_help(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_HELP_ASKED] = True


class ResolveCommand(JsonCommand):
    """A command line ``python -m publisher.resolve`` refuses (an unknown flag, a bad
    --format, a flag without its value or given twice) is refused here in its words, read
    by its own parser first (``resolving.read_command_line``): the ``decision=none`` line,
    ``error:`` and the tip, exit 2. What click alone refuses is said in click's words, after
    the same ``decision=none`` line.

    ``--help`` shows the help only for a command line valid otherwise, as
    ``python -m publisher.resolve`` and start.sh do: click shows it as soon as it meets
    ``--help``, so ``publisher resolve --help extra`` was exit 0 where they refuse it
    (exit 2, with a usage line)."""

    _resolve_help: click.Option | None = None

    def read_before_click(self, args: list[str]) -> None:
        # --debug is publisher's own (after any command's name), unknown to resolve.py
        words = [word for word in args if word != "--debug"]
        try:
            resolving.read_command_line(words, invoked_as="publisher resolve")
        except resolving.ResolveError as exc:
            _say(resolving.error_text(exc), actions=resolving.in_actions(os.environ))
            raise click.exceptions.Exit(exc.exit_code) from None

    def refused(
        self, exc: click.ClickException, *, wants_json: bool, args: tuple[str, ...] = ()
    ) -> bool:
        _say(f"resolve: decision=none error={resolving.ResolveError.error}\n")
        return super().refused(exc, wants_json=wants_json, args=args)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if self._resolve_help is None:  # one object: click orders the parameters by it
            self._resolve_help = click.Option(
                names,
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_note_help,
                help="Show this message and exit.",
            )
        return self._resolve_help

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)  # refuses what is wrong, --help or not
        if ctx.meta.get(_HELP_ASKED) and not ctx.resilient_parsing:
            # written as `python -m publisher.resolve` writes its help: a stdout that
            # cannot take it is exit 17 with the decision=none line, in both
            state = ctx.find_object(State)
            stdout = None if state is not None and state.stdout_closed else sys.stdout
            try:
                failed = resolving.write_decision(
                    ctx.get_help() + "\n", stdout, sys.stderr, what="the help"
                )
            except resolving.StderrGone:
                raise OutputClosed() from None
            ctx.exit(0 if failed is None else failed)
        return rest


def _with_input_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(resolving.OPTIONS):
        func = click.option(
            option.flag,
            option.env.lower(),
            metavar=option.metavar,
            default=None,
            help=f"{option.help} [env: {option.variables}]",
        )(func)
    return func


@main.command("resolve", cls=ResolveCommand, epilog=EPILOG)
@_with_input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(resolving.FORMATS),
    default="text",
    show_default=True,
    help="env: KEY=value lines for `docker compose --env-file`; json; readable text.",
)
@click.option(
    "--matrix",
    "matrix",
    metavar="FILE",
    default=None,
    help="Take the repositories from this matrix.yaml when there is no pins file. "
    "Never read unless given.",
)
@pass_state
@handle_errors
def resolve_command(state: State, fmt: str, matrix: str | None, **values: str | None) -> None:
    """Choose the PHP-FPM image to run: the pre-built one, or a local build.

    Picks the release pin vX.Y.Z-php-X.Y on the canonical registry (pinned by
    digest from the release's pins file vX.Y.Z.env), uses it from the local image
    store, or checks within a short timeout that the registry serves it for the
    platform it runs on (--platform, else DOCKER_DEFAULT_PLATFORM, else the docker
    engine's, not this machine's); otherwise falls back to building dockerfiles/<X.Y>/Dockerfile
    (when its base can be had), or stops and says how to enable the fallback. The
    same decisions as examples/stack/start.sh. Every flag overrides the
    environment variables named in brackets (where two are named, the second is read
    when the first is not set).

    \b
    Examples:
      PHP_VERSION=8.4 STACK_RELEASE=v2.0.0 \\
        publisher resolve --format env > php.env
      docker compose --env-file php.env up -d          # PHP_BUILD='0' in php.env
      docker compose --env-file php.env up -d --build  # PHP_BUILD='1' (without
                                                       # --build, compose starts
                                                       # an image of that tag
                                                       # built before)
      publisher resolve --php 8.4 --release v2.0.0 --use-prebuilt false
      publisher resolve --php 8.6 --release v2.0.0 --allow-fallback false \\
        --format json
      publisher resolve --php 8.4 --registry mirror \\
        --pins release-notes/v2.0.0.env
    """
    # the output channel (rich) loaded before any request: without it, nothing is decided
    # here, and ``python -m publisher.resolve`` decides, once (``__main__._resolve_words``)
    redact = state.output.redact
    overrides = {option.env: values.get(option.env.lower()) for option in resolving.OPTIONS}
    overrides[resolving.MATRIX_FLAG] = matrix
    actions = resolving.in_actions(state.env)
    try:
        decision = resolving.resolve(state.env, overrides, writes_env=fmt == "env", actions=actions)
        text = resolving.render(decision, fmt, actions=actions)
    except resolving.ResolveError as exc:  # worded as `python -m publisher.resolve` words it
        _say(resolving.error_text(exc), actions=actions)
        click.get_current_context().exit(exc.exit_code)
    # written as `python -m publisher.resolve` writes it: a stdout that cannot take it
    # is exit 17 with the decision=none line, in both; in GitHub Actions, no value or path
    # it quotes is a workflow command (redacted first: a secret is found as it was given)
    text = redact(text)
    stdout = None if state.stdout_closed else sys.stdout
    try:
        failed = resolving.write_decision(
            resolving.for_actions(text, fmt) if actions else text, stdout, sys.stderr
        )
    except resolving.StderrGone:
        raise OutputClosed() from None
    if failed is not None:
        click.get_current_context().exit(failed)
    if fmt != "text":
        _say(resolving.summary(decision), actions=actions)
    click.get_current_context().exit(decision.exit_code)


def _say(text: str, *, actions: bool = False) -> None:
    """A message on stderr, as ``python -m publisher.resolve`` says it (in GitHub Actions,
    ``actions``, inert): lost when stderr cannot take it (``2>/dev/full``), never the exit
    code; its reader gone is the quiet 141."""
    try:
        resolving.say(sys.stderr, text, actions=actions)
    except resolving.StderrGone:
        raise OutputClosed() from None
