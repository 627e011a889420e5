"""The root command group, shared options and error handling."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from .. import __version__, config
from ..errors import PublisherError, UsageError
from ..output import Output

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT_CODES = """\b
Exit codes: 0 ok, 2 bad input, 3 matrix.yaml error, 4 auth, 5 not found,
6 rate limited, 7 unreachable, 8 invalid registry response, 9 registry refused,
10 missing tool, 11 command failed, 12 verification failed, 13 smoke test failed,
14 release conflict, 15 GitHub API error (resolve: 16 build locally, 17 cannot proceed).
"""


@dataclass
class State:
    """What every command gets: the environment it was given and the output channel."""

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False
    output: Output = field(init=False)

    def __post_init__(self) -> None:
        self.output = Output(self.env, debug=self.debug)

    def load_config(self, path: str, only: str | None = None) -> config.Config:
        cfg = config.load(path, self.env)
        if only:
            cfg = cfg.select(config.parse_line_list(only))
        return cfg


pass_state = click.make_pass_decorator(State)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        default="matrix.yaml",
        show_default=True,
        envvar="PUBLISHER_CONFIG",
        type=click.Path(dir_okay=False),
        help="The matrix file (env: PUBLISHER_CONFIG).",
    )(func)


def only_option(func: F) -> F:
    return click.option(
        "--only",
        metavar="LINES",
        default=None,
        help="Comma-separated PHP lines to act on, e.g. 8.4,8.5 (default: all).",
    )(func)


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


@click.group(
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
