"""The root command group, the state every command gets, and error handling."""

from __future__ import annotations

import datetime
import functools
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..core.errors import PublisherError, UsageError, file_error

if TYPE_CHECKING:
    from ..adapters.output import Output
    from ..adapters.runner import Runner
    from ..core import config
    from ..core.retry import RetryPolicy
    from ..stages.clients import ClientFactory

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT_CODES = """\b
Exit codes: 0 ok, 2 bad input, 3 matrix.yaml error, 4 auth, 5 not found,
6 rate limited, 7 unreachable, 8 invalid registry response, 9 registry refused,
10 missing tool, 11 command failed, 12 verification failed, 13 smoke test failed,
14 release conflict, 15 GitHub API error, 18 file not writable or readable
(resolve: 16 build locally, 17 cannot proceed).
"""


@dataclass
class State:
    """What every command gets: the environment it was given and the output channel.

    The output channel (rich) and the configuration loader (yaml) are imported on
    first use, so that light commands such as ``resolve`` start fast.
    """

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False

    @cached_property
    def output(self) -> Output:
        from ..adapters.output import Output

        return Output(self.env, debug=self.debug)

    @cached_property
    def retry(self) -> RetryPolicy:
        """The one retry policy of this run, from ``PUBLISHER_RETRY_*`` (resolved once)."""
        from ..core.retry import RetryPolicy

        return RetryPolicy.from_env(self.env)

    @cached_property
    def runner(self) -> Runner:
        """Runs the tools (builders, smoke tests, local registries) with this environment."""
        from ..adapters.runner import Runner

        return Runner(output=self.output, env=self.env)

    @cached_property
    def clients(self) -> ClientFactory:
        """Makes this run's registry clients, with its env, output and one retry policy."""
        from ..stages.clients import ClientFactory

        return ClientFactory(self.env, self.output, self.retry)

    def json_only(self, as_json: bool) -> None:
        """With --json, stdout carries the JSON only: the output channel goes quiet."""
        if as_json:
            self.output.quiet = True

    def load_config(self, path: str, only: str | None = None) -> config.Config:
        from ..core import config

        cfg = config.load(path, self.env)
        if only:
            cfg = cfg.select(config.parse_line_list(only))
        return cfg

    def warn_lifecycle(self, cfg: config.Config) -> None:
        """Say which lines are past their end of life or have a base that no longer updates."""
        from ..core import lifecycle

        today = datetime.datetime.now(datetime.UTC).date()
        for line in cfg.lines:
            note = lifecycle.warning(line.php, today, frozen=line.frozen)
            if note:
                self.output.warning(note)


pass_state = click.make_pass_decorator(State)


def handle_errors(func: F) -> F:
    """Turn PublisherError into a one- or two-line message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        state = ctx.find_object(State) or State()
        try:
            return func(*args, **kwargs)
        except PublisherError as exc:
            if state.debug:
                traceback.print_exc(file=sys.stderr)
            state.output.error(exc)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            if state.debug:
                traceback.print_exc(file=sys.stderr)
            classified = file_error(exc, "use a file or directory")
            classified.message = state.output.redact(classified.message)
            state.output.error(classified)
            ctx.exit(classified.exit_code)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            state.output.error(UsageError("interrupted"))
            ctx.exit(130)
        except Exception as exc:
            if state.debug:
                traceback.print_exc(file=sys.stderr)
            err = PublisherError(
                f"unexpected {type(exc).__name__}: {state.output.redact(str(exc))}",
                hint="this is a bug in publisher; rerun with --debug and report the traceback",
            )
            err.label = "internal error"
            state.output.error(err)
            ctx.exit(1)

    return wrapper  # type: ignore[return-value]


#: Command name -> the module under publisher.cli that defines it. Modules are
#: imported when their command runs (or for --help), so that a launcher calling
#: ``publisher resolve`` on every start does not pay for the release machinery.
COMMAND_MODULES = {
    "plan": "core",
    "render": "core",
    "inspect": "core",
    "verify": "registry_cmds",
    "preflight": "registry_cmds",
    "build": "release_cmds",
    "publish": "release_cmds",
    "release": "release_cmds",
    "republish": "release_cmds",
    "republish-check": "release_cmds",
    "matrix": "github_cmds",
    "gh-release": "github_cmds",
    "resolve": "resolve_cmd",
    "audit": "audit_cmd",
    "check-public": "public_cmd",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__package__}.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG_EXIT_CODES,
)
@click.version_option(__version__, prog_name="publisher")
@click.option(
    "--debug", is_flag=True, envvar="PUBLISHER_DEBUG", help="Show tracebacks and debug detail."
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Build, push, tag, verify and document pre-built PHP-FPM images.

    \b
    Examples:
      publisher plan v2.0.0                 # what a release would tag, where
      publisher render --check              # are the committed Dockerfiles current?
      publisher inspect php:8.4-fpm-alpine --offline
      publisher release v2.0.0 --local      # rehearse a release on loopback registries
    """
    ctx.obj = State(debug=debug)
