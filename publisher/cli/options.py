"""The options more than one command takes, each declared once.

Each name is a ``click.option`` decorator (click makes a fresh option for every
command it decorates). Where commands word an option's help differently, the
option is a function of that help and the rest is still written here once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..core.errors import FileAccessError, file_error
from ..core.fileio import path_kind
from ..core.locations import DEFAULT_CONFIG, Locations
from ..core.platforms import BuilderName

if TYPE_CHECKING:
    from ..core.config import Config

F = TypeVar("F", bound=Callable[..., Any])

#: --transfers default: publisher.adapters.registry.transfer.DEFAULT_TRANSFERS (not imported
#: here, so that the CLI starts without loading the registry client).
TRANSFERS = 6

#: Where release notes and records go when --notes-dir is not given, next to the matrix file.
NOTES = "release-notes"
#: The publisher's own files next to the matrix file: digest records, a rehearsal's notes.
WORK = ".publisher"


#: What to do about a path whose bytes are not UTF-8.
UTF8_PATH_HINT = (
    "rename it, or move the repository, to a path that is UTF-8 text: publisher names its "
    "paths in JSON reports and records, which hold UTF-8 text only"
)


class HintedRefusal(click.BadParameter):
    """click's refusal of a value that carries publisher's tip (``refusal_error`` gives
    it instead of the command's usage)."""

    hint = ""


class NotUtf8Path(HintedRefusal):
    hint = UTF8_PATH_HINT


class EmptyPath(HintedRefusal):
    hint = "name the path; write . for the current directory"

    def __init__(self, message: str, *, hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if hint:
            self.hint = hint


class Utf8Path(click.Path):
    """A path option that refuses bytes that are not UTF-8 (argv and environment bytes
    arrive as lone surrogates; judged by its bytes, in every locale): a JSON report, a record or a GitHub output naming it
    would hold a lone-surrogate escape ("\\udcff") strict JSON readers reject or mangle.
    Exit 2, naming the byte, before anything is read or written. An empty path is refused
    as empty (exit 2), never read as the current directory (``Path("")`` is ``.``) nor
    said as ``.``; ``refuse_empty=False`` leaves it to the command (--config says its own).
    Its tip says to write ``.`` for the current directory, which suits an option naming a
    directory; one naming a file gives its own ``empty_hint`` (``.`` would be refused as
    a directory)."""

    def __init__(
        self, *, refuse_empty: bool = True, empty_hint: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.refuse_empty = refuse_empty
        self.empty_hint = empty_hint

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..core.config import path_problem

        if self.refuse_empty and value == "":
            raise EmptyPath("the path is empty", hint=self.empty_hint, ctx=ctx, param=param)
        problem = path_problem(value) if isinstance(value, str) else None
        if problem:
            raise NotUtf8Path(f"must be UTF-8 text; {problem}", ctx=ctx, param=param)
        return super().convert(value, param, ctx)


class Count(click.IntRange):
    """A whole number in a range (``--jobs``, ``--transfers``), written as the
    ``PUBLISHER_RETRY_*`` counts are (``number_setting``: ASCII digits only; click's own
    reading takes '1_0', '+3' and other scripts' digits). Exit 2 naming the range, with
    the command's usage as every option click refuses."""

    def __init__(self, lowest: int, highest: int) -> None:
        super().__init__(lowest, highest)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..core.retry import number_setting

        if isinstance(value, str):
            try:
                number: int | float | None = number_setting(value, int)
            except ValueError:
                number = None
            if number is None or not self.min <= number <= self.max:  # type: ignore[operator]
                raise click.BadParameter(  # its tip: the command's usage (refusal_error)
                    f"{value[:40]!r} is not a whole number from {self.min} to {self.max} "
                    "written in the digits 0-9 alone",
                    ctx=ctx,
                    param=param,
                )
            value = number
        return super().convert(value, param, ctx)


def path(**kwargs: Any) -> Utf8Path:
    """The type of every path option: ``click.Path`` refusing bytes that are not UTF-8.

    click does not check that the path can be read (``readable=False``): its refusal is a
    usage error (exit 2), while a file or folder this user cannot read or write is exit 18
    (README), said by the project's own read or write of it, which names what it is for."""
    return Utf8Path(**{"readable": False, **kwargs})


class EnvOption(click.Option):
    """An option that may come from an environment variable: a refused value from the
    environment names the variable (``PUBLISHER_QEMU='maybe'``), not only the flag the
    user never typed, and a refused yes/no says plainly what it accepts. The variable is
    read as every PUBLISHER_* setting is (``settings.setting``: the blanks around it
    dropped, blanks only unset, as click already counts an empty one); PUBLISHER_CONFIG
    set to blanks is refused all the same (``refuse_empty_config`` reads it itself)."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        from ..core.settings import setting_value

        value = super().resolve_envvar_value(ctx)
        return None if value is None else setting_value(value) or None

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            source = ctx.get_parameter_source(self.name or "")
            if source is not click.core.ParameterSource.ENVIRONMENT or not self.envvar:
                raise
            variable = self.envvar if isinstance(self.envvar, str) else self.envvar[0]
            message = exc.message
            if isinstance(self.type, click.types.BoolParamType):
                message = (
                    f"{value!r} is not valid: use true or false "
                    "(1/0, yes/no, on/off are accepted too), or unset it"
                )
            flag = max(self.opts, key=len)
            refusal = type(exc) if isinstance(exc, HintedRefusal) else click.BadParameter
            raise refusal(
                message, ctx=ctx, param=self, param_hint=f"{variable} (the environment's {flag})"
            ) from None


#: The matrix file when --config is not given, and the variable that names another.
CONFIG = DEFAULT_CONFIG
CONFIG_ENV = "PUBLISHER_CONFIG"

config = click.option(
    "--config",
    "config_path",
    cls=EnvOption,
    default=CONFIG,
    show_default=True,
    envvar=CONFIG_ENV,
    type=path(refuse_empty=False),  # refuse_empty_config says it, naming the variable too
    help=f"The matrix file (env: {CONFIG_ENV}).",
)

#: ``--only`` as a command gets it: each value given (comma-separated lines), or None.
Only = tuple[str, ...] | None


def _every_only(ctx: click.Context, param: click.Parameter, given: tuple[str, ...]) -> Any:
    """``--only`` as given, each time (none: None, every line): ``--only 8.4 --only 8.3``
    means both lines, as ``--only 8.4,8.3`` does, never the last one alone."""
    return given or None


only = click.option(
    "--only",
    metavar="LINES",
    multiple=True,
    callback=_every_only,
    help="Comma-separated PHP lines to act on, e.g. 8.4,8.5; repeatable, every line named "
    "is acted on (default: all; an empty list or item is refused, never read as all).",
)

builder = click.option(
    "--builder",
    type=click.Choice([str(b) for b in BuilderName]),
    default=None,
    cls=EnvOption,
    envvar="PUBLISHER_BUILDER",
    help="Image builder (env: PUBLISHER_BUILDER). Default: the first of buildx, buildah and "
    "docker that is installed and works here (one passed over is said, with why).",
)

no_smoke = click.option(
    "--no-smoke",
    is_flag=True,
    help="Skip the smoke tests (not recommended: they prove each image starts and its "
    "server still runs PUBLISHER_SMOKE_STAY_UP seconds, 5 by default, after it started).",
)

attestations = click.option(
    "--attestations/--no-attestations",
    default=False,
    cls=EnvOption,
    envvar="PUBLISHER_ATTESTATIONS",
    show_default=True,
    help="buildx only: attach provenance and SBOM attestations (env: PUBLISHER_ATTESTATIONS); "
    "the SBOM scanner is an image BuildKit pulls from Docker Hub, so not offline.",
)

transfers = click.option(
    "--transfers",
    type=Count(1, 32),
    default=TRANSFERS,
    show_default=True,
    help="Blob transfers in flight at once while copying to the other registries "
    "(each blob is still uploaded once per registry).",
)


def as_json(text: str) -> Callable[[F], F]:
    """``--json``: print the command's result as JSON (``text`` says which)."""
    return click.option("--json", "as_json", is_flag=True, help=text)


def jobs(text: str) -> Callable[[F], F]:
    """``--jobs``: how many builds or smoke tests run at once."""
    return click.option("--jobs", type=Count(1, 32), default=2, show_default=True, help=text)


def dry_run(text: str) -> Callable[[F], F]:
    """``--dry-run``: say what would happen; write nothing."""
    return click.option("--dry-run", is_flag=True, help=text)


def digests(text: str, *, required: bool = False) -> Callable[[F], F]:
    """``--digests DIR``: the build legs' digest records."""
    return click.option(
        "--digests",
        "digests_dir",
        type=path(path_type=Path),
        required=required,
        help=text,
    )


def _notes_dir(what: str, default: str = f"{NOTES}/ next to the matrix file") -> Callable[[F], F]:
    return click.option(
        "--notes-dir",
        type=path(path_type=Path),
        default=None,
        help=f"Where the release {what} (default: {default}).",
    )


#: --notes-dir for the commands that write the notes.
notes_dir = _notes_dir("notes go")
#: --notes-dir for `release` and `republish`, whose rehearsal keeps its notes apart
#: (``notes_dir_of``).
run_notes_dir = _notes_dir(
    "notes go",
    f"{NOTES}/ next to the matrix file; with --local, {WORK}/local/{NOTES}/ there",
)
#: --notes-dir for the commands that read the records.
records_dir = _notes_dir("records are")
#: --json of the commands that check releases on the registries.
report_json = as_json("Print the report as JSON.")
#: --json of the commands that publish.
plan_json = as_json("With --dry-run: print the publish plan as JSON on stdout (nothing else).")


@dataclass(frozen=True)
class ReleaseScope:
    """How a command reads a release: the matrix file (--config), the PHP lines
    (--only) and the directory of the records (--notes-dir), as given."""

    config_path: str
    only: Only
    notes_dir: Path | None


def release_scope(func: F) -> F:
    """--config, --only and --notes-dir (where the records are), handed to the command
    as one ``scope`` (a ``ReleaseScope``)."""

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        given = (kwargs.pop(name) for name in ("config_path", "only", "notes_dir"))
        return func(*args, scope=ReleaseScope(*given), **kwargs)

    decorated: Any = command
    for option in (records_dir, only, config):
        decorated = option(decorated)
    return cast(F, decorated)


def notes_dir_of(config: Config, given: Path | None, *, local: bool = False) -> Path:
    """The --notes-dir a command acts on: the one given, else the default next to the matrix.

    A rehearsal (--local) keeps its notes under WORK: it must not touch the real ones.
    """
    if given is not None:
        try:  # a directory above it this user may not search: exit 18 naming the option
            misplaced = given.exists() and not given.is_dir()
        except OSError as exc:
            raise file_error(exc, "use --notes-dir") from None
        if misplaced:
            raise FileAccessError(
                f"--notes-dir {given} is {path_kind(given)}, not a directory",
                hint="pass the directory of the release notes and records "
                f"(default: {NOTES}/ next to the matrix file)",
            )
        return given
    return Path(config.root) / (Path(WORK, "local", NOTES) if local else NOTES)


def digests_dir_of(
    config: Config, given: Path | None, tag: str, *, local: bool, republish: bool
) -> Path:
    """The --digests a release writes: the one given, else a folder of the release under WORK."""
    if given is not None:
        return given
    run = Path(config.root, WORK, "local" if local else "builds", tag)
    return run / ("republish" if republish else "digests")


def locations_of(
    config_path: str,
    notes_dir: Path | None = None,
    digests_dir: Path | None = None,
    *,
    release: str | None = None,
    only: tuple[str, ...] | None = None,
    rehearsal: tuple[str, ...] = (),
) -> Locations:
    """The options a command was given, as the tips naming another command carry them
    (``Locations.command``): --config (or PUBLISHER_CONFIG) unless it is ./matrix.yaml
    (however written), --notes-dir unless it is the default next to the matrix (a
    rehearsal's own, for a ``rehearsal``: the command of a --local run), --digests when
    given, and the lines of --only (``only_lines``) of a run of ``release``."""
    default = Path(WORK, "local", NOTES) if rehearsal else Path(NOTES)
    if notes_dir is not None and _same_path(notes_dir, Path(config_path).parent / default):
        notes_dir = None
    if config_path and _same_path(Path(config_path), Path(CONFIG)):
        config_path = CONFIG
    return Locations(
        config=config_path,
        notes_dir=None if notes_dir is None else str(notes_dir),
        digests=None if digests_dir is None else str(digests_dir),
        release=release,
        only=only or (),
        rehearsal=rehearsal,
    )


def _same_path(given: Path, default: Path) -> bool:
    """Do ``given`` and ``default`` name one directory (False when it cannot be told)?"""
    try:
        return given.resolve() == default.resolve()
    except (OSError, RuntimeError):
        return False
