"""The root command group, the state every command gets, error handling and signals.

SIGINT, SIGTERM and SIGHUP unwind the run as an exception (``Interrupted``) in
the main thread, after the commands the runner started have been sent SIGTERM:
every ``finally`` and context manager runs (temporary docker configs and auth
files holding credentials are removed, throwaway registries stopped), then the
command exits with 128 + the signal's number and one line saying so (with the tip of a
command that writes: ``State.interrupted_hint``; in GitHub Actions also as an ``::error``
annotation and the step summary's end, as an error is said). Further
signals while it unwinds are ignored; if unwinding has not ended after
``FORCE_EXIT_AFTER`` seconds the process exits anyway, saying so with the same tip
(in GitHub Actions also as an ``::error`` annotation and the step summary's end, each
unless the interruption's was written there).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import json
import os
import select
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..adapters import stop
from ..core.errors import (
    CWD_GONE_HINT,
    FileAccessError,
    Interrupted,
    OutputClosed,
    PublisherError,
    UsageError,
    command_takes,
    cwd_gone,
    file_error,
    missing_dependency_error,
    out_of_threads,
    shown_path,
)
from ..core.fileio import append_whole, require_directory
from ..core.platforms import did_you_mean
from ..core.sizes import seconds
from ..resolve import given_more_than_once, tip_lines
from .options import UTF8_PATH_HINT, EnvOption, HintedRefusal, Only, ReleaseScope

if TYPE_CHECKING:
    from pathlib import Path

    from ..adapters.output import Output
    from ..adapters.runner import Runner
    from ..core import config
    from ..core.notes import ReleaseFacts
    from ..core.retry import RetryPolicy
    from ..core.version import Release
    from ..stages.clients import ClientFactory

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT_CODES = """\b
Exit codes: 0 ok, 1 internal error (a bug in publisher), 2 bad input,
3 matrix.yaml, override or record error, 4 auth, 5 not found, 6 rate limited,
7 unreachable, 8 invalid registry response, 9 registry refused,
10 missing or broken tool, 11 command failed, 12 verification failed,
13 smoke test failed, 14 release conflict, 15 GitHub API error,
18 file not writable or readable, or a limit of the machine met
(open files, threads and processes) (resolve: 16 build locally,
17 cannot proceed); 130 interrupted (Ctrl-C), 143 SIGTERM, 129 SIGHUP,
141 output closed by its reader (`| head`).
"""

#: The signals that stop a run cleanly (Ctrl-C, `kill`, a closed terminal).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: Seconds a run may take to unwind after a signal before it exits regardless.
FORCE_EXIT_AFTER = 60.0
#: Seconds the forced exit waits for its words to be written: a write blocked on a pipe
#: nobody reads, or on a stream the stuck run is writing to, does not keep it from exiting.
FORCE_EXIT_SAYING = 5.0

#: Set once the ``::error`` annotation of an interruption is written (``say_interrupted``):
#: a run that hangs after it (a thread that does not end) is not annotated twice.
_ANNOTATED = threading.Event()
#: Set once the interruption's failure section is appended to the step summary
#: (``say_interrupted``): the forced exit of a run that hangs after it does not add its own.
_SUMMARIZED = threading.Event()


@dataclass
class State:
    """What every command gets: the environment it was given and the output channel.

    The output channel (rich) and the configuration loader (yaml) are imported on
    first use, so that light commands such as ``resolve`` start fast.
    """

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False
    #: ``--json``: stdout carries JSON only, an error document when the command fails
    #: before printing its result
    json_mode: bool = False
    #: started with stdout closed (``>&-``): only the commands of ``SAY_CLOSED_STDOUT``
    #: run then, and say it themselves
    stdout_closed: bool = False
    #: the tip of a run interrupted (``say_interrupted``): set by a command that writes,
    #: once its options say how it runs: what the interruption left, and what finishes it
    interrupted_hint: str | None = None

    @cached_property
    def output(self) -> Output:
        from ..adapters.output import Output

        return Output(self.env, debug=self.debug)

    @cached_property
    def retry(self) -> RetryPolicy:
        """The one retry policy of this run, from ``PUBLISHER_RETRY_*`` (resolved once)."""
        from ..core.retry import RetryPolicy

        return RetryPolicy.from_env(self.env)

    def check_request_settings(self) -> None:
        """Read ``PUBLISHER_RETRY_*`` and ``PUBLISHER_REQUEST_TIMEOUT`` now (``retry``): every
        command that asks a registry or GitHub calls this before anything else it reads,
        says or starts, so a bad one is refused (exit 2) before a stage is announced, a
        warning said, a builder probed or a throwaway registry started, and with --json as
        the ``{"ok": false, "error": ...}`` of a failure before the command's first step."""
        _ = self.retry

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
            self.json_mode = True

    def load_config(
        self, path: str, only: Only = None, *, every_line: bool = False
    ) -> config.Config:
        """The matrix at ``path``, with the environment's overrides, narrowed by ``only``.
        ``every_line``: PUBLISHER_LINES and PUBLISHER_PLATFORMS are checked, but leave out
        no line (``render``: the committed Dockerfiles are every configured line's)."""
        from ..adapters.runner import withhold
        from ..core import config

        refuse_empty_config(path, self.env)
        named_by = config_named_by(self.env)
        cfg = config.load(path, self.env, named_by=named_by)
        withhold(cfg.credential_variables)
        if every_line and cfg.narrowed_by:
            kept = {k: v for k, v in self.env.items() if k not in config.ENV_LINE_SELECTORS}
            cfg = config.load(path, kept, named_by=named_by)
        lines = only_lines(only)
        if lines is not None:  # an empty --only is refused, never "all lines"
            cfg = cfg.select(lines, option="--only")
        return cfg

    def load_published(
        self, scope: ReleaseScope, version: Release, cfg: config.Config | None = None
    ) -> tuple[config.Config, ReleaseFacts | None]:
        """The matrix as ``version`` was published (its record's lines, default line and
        platforms, when it has one; a line the matrix dropped kept from the record),
        narrowed by ``--only``: what verify and check-public read. ``cfg``: the matrix as
        ``load_config`` read it (without ``--only``), when the caller has it already."""
        from ..stages.verify import load_published

        cfg = cfg if cfg is not None else self.load_config(scope.config_path)
        records = self._records(cfg, scope, version, judged=True)
        return load_published(cfg, records, version, self.output, only_lines(scope.only))

    def load_release(
        self, scope: ReleaseScope, version: Release, *, republish: bool = False
    ) -> tuple[config.Config, ReleaseFacts | None]:
        """The matrix narrowed by ``--only``, as a rerun of ``version`` publishes it (a
        line the matrix dropped is left out), or with ``republish`` as `publish --reason`
        does (such a line is refused, by the same rule): what plan and matrix show."""
        from ..stages.publish import load_release, select_release
        from .options import locations_of

        only = only_lines(scope.only)
        cfg = self.load_config(scope.config_path)
        notes_dir = self._records(cfg, scope, version)
        cfg, record = select_release(cfg, only, notes_dir, version, republish=republish)
        locations = locations_of(scope.config_path, scope.notes_dir)
        return load_release(
            cfg,
            notes_dir,
            version,
            self.output,
            republish=republish,
            record=record,
            locations=locations,
        )

    def _records(
        self, cfg: config.Config, scope: ReleaseScope, version: Release, *, judged: bool = False
    ) -> Path:
        """The directory of ``version``'s record; one given that does not exist is said:
        a mistyped --notes-dir would otherwise pass for a release without a record.
        ``judged`` (verify, check-public: the release is judged by its record, as audit
        judges every release): refused as audit refuses it, exit 18; else a warning (plan
        and matrix of a release whose notes the run is to write there)."""
        from ..core.notes import record_releases
        from . import options

        notes_dir = options.notes_dir_of(cfg, scope.notes_dir)  # one it may not search: 18
        if scope.notes_dir is not None and not scope.notes_dir.exists():
            if judged:
                record_releases(scope.notes_dir)  # raises (exit 18): it is not there
            if not scope.notes_dir.is_absolute() and cwd_gone():
                # not a directory that is not there: nothing relative can be read now
                # (exit 18, said with its tip, as every other path option says it)
                require_directory(scope.notes_dir, "the release records", hint=CWD_GONE_HINT)
            self.output.warning(
                f"--notes-dir {shown_path(scope.notes_dir)} does not exist: {version.tag} is read without "
                f"its record, as {shown_path(cfg.source)} describes it today"
            )
        return notes_dir

    def warn_matrix(
        self,
        cfg: config.Config,
        upcoming: config.Config | None = None,
        matrix: config.Config | None = None,
        *,
        record: ReleaseFacts | None = None,
        republish: bool = False,
    ) -> None:
        """Say what ``plan.line_warnings`` finds about the lines ``cfg`` writes today;
        ``upcoming``: today's matrix, when ``cfg`` is a published release's; ``matrix``:
        today's matrix with every line, when ``cfg`` is narrowed to fewer; ``record``: the
        published release's, whose history says where a line past its end stands, and
        ``republish``: the plan is of a republish, which rebuilds ``cfg``'s lines."""
        from ..core import lifecycle, plan

        for text in plan.line_warnings(
            cfg,
            lifecycle.today(),
            upcoming=upcoming,
            matrix=matrix,
            republished=record.republished if record is not None else (),
            rebuilding=republish,
        ):
            self.output.warning(text)


pass_state = click.make_pass_decorator(State)


def only_lines(only: Only) -> tuple[str, ...] | None:
    """The PHP lines every ``--only`` names, in order (each value a comma-separated list,
    refused when empty or with an empty item, quoted as given); None without ``--only``."""
    if only is None:
        return None
    from ..core.config import parse_line_list

    return tuple(line for given in only for line in parse_line_list(given))


def refuse_empty_config(path: str, env: Mapping[str, str], *, has_option: bool = True) -> None:
    """An empty (or blank) --config or PUBLISHER_CONFIG is bad input that names the
    option or variable: never a read of the current directory, nor (click drops an
    empty variable) a silent fall back to matrix.yaml. ``has_option=False``: a command
    without --config (inspect), which reads only the variable."""
    from ..core.settings import setting_value
    from .options import CONFIG, CONFIG_ENV

    variable = env.get(CONFIG_ENV)
    if _config_from_variable(has_option) and variable is not None and not setting_value(variable):
        raise UsageError(
            f"{CONFIG_ENV} is set but empty",
            hint=f"set it to the matrix file, e.g. {CONFIG_ENV}={CONFIG}, or unset it to read "
            f"./{CONFIG}",
        )
    if not path.strip():
        raise UsageError(
            "--config is empty",
            hint=f"pass the matrix file, e.g. --config {CONFIG}, or leave --config out to read "
            f"./{CONFIG}",
        )
    named = config_named_by(env, has_option=has_option) or "--config"
    refuse_non_utf8_config(path, named, directory=has_option)  # inspect names no path of it


def _config_from_variable(has_option: bool) -> bool:
    """Whether the command's matrix path is PUBLISHER_CONFIG's, when it is set: --config
    not given (click drops an empty variable, and takes the default then)."""
    from click.core import ParameterSource

    if not has_option:
        return True
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source("config_path") if ctx is not None else None
    return source in (ParameterSource.ENVIRONMENT, ParameterSource.DEFAULT)


def config_named_by(env: Mapping[str, str], *, has_option: bool = True) -> str | None:
    """``PUBLISHER_CONFIG`` when it names the matrix file this command reads (set, and no
    --config given: the option wins over it), else None. ``has_option``: as in
    ``refuse_empty_config``."""
    from .options import CONFIG_ENV

    return CONFIG_ENV if _config_from_variable(has_option) and env.get(CONFIG_ENV) else None


def refuse_non_utf8_config(path: str, named: str, *, directory: bool = True) -> None:
    """The matrix file, and the directory it is in, named in UTF-8 text: every default
    path (the notes, the records, the digests) is under that directory and is named in
    JSON reports, where bytes that are not UTF-8 would be a lone-surrogate escape
    (``\\udcff``) strict readers reject. UsageError (exit 2), naming the byte."""
    from ..core.config import path_problem

    problem = path_problem(path)
    if problem:  # --config and PUBLISHER_CONFIG are refused so by click already
        raise UsageError(f"{named} must be UTF-8 text; {problem}", hint=UTF8_PATH_HINT)
    where = os.path.dirname(os.path.realpath(path))
    problem = path_problem(where) if directory else None
    if problem:
        raise UsageError(
            f"the directory of the matrix file, {shown_path(where)}, must be UTF-8 text; {problem}",
            hint=UTF8_PATH_HINT,
        )


def handle_errors(func: F) -> F:
    """Turn PublisherError into a one- or two-line message and its exit code; an
    interruption into one line and 128 + the signal; a closed stdout into a quiet 141."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        state = ctx.find_object(State) or State()
        try:
            return _reporting(func, ctx, state, args, kwargs)
        except OutputClosed:
            ctx.exit(OutputClosed.exit_code)
        except Interrupted as exc:  # while an error was being reported
            say_interrupted(exc, state)
            ctx.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def print_report(state: State, document: dict[str, Any], failure: PublisherError | None) -> None:
    """A ``--json`` report on stdout (``"ok"`` in it): a failed one carries its error as every
    failure's document does (``"error": {"kind", "exit_code", "message", "hint"}``)."""
    if failure is not None:
        document = {**document, "error": failure.to_dict()}
    state.output.print_text(json.dumps(document, indent=2, sort_keys=True))


def _json_error(state: State, exc: PublisherError) -> None:
    """With --json, a command that fails before printing its result prints the error
    as JSON instead (``{"ok": false, "error": {"kind", "exit_code", "message", "hint"}}``), so a
    reader of stdout always gets a document."""
    if state.json_mode and not state.output.printed:
        document = {"ok": False, "error": exc.to_dict()}
        state.output.print_text(json.dumps(document, indent=2, sort_keys=True))


#: The JSON document's hint of an interrupted command that writes nothing.
RUN_AGAIN = "run the same command again"


def _json_interrupted(state: State, exc: Interrupted) -> None:
    """With --json, a run interrupted before printing its result prints the interruption
    as its error, so a reader of stdout still gets a document (nothing when stdout is
    gone, or a second signal comes while it is printed); its hint is the tip stderr
    says (``State.interrupted_hint``), else ``RUN_AGAIN``."""
    if state.json_mode and not state.output.printed:
        error = interruption_error(exc, state.interrupted_hint or RUN_AGAIN)
        document = {"ok": False, "error": error.to_dict()}
        with contextlib.suppress(OSError, ValueError, OutputClosed, Interrupted):
            state.output.print_text(json.dumps(document, indent=2, sort_keys=True))


def _reporting(
    func: Callable[..., Any],
    ctx: click.Context,
    state: State,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    if kwargs.get("as_json"):  # before anything can fail: a JSON reader gets JSON
        state.json_only(True)
    command_takes([name for param in ctx.command.params for name in param.opts])
    try:
        result = func(*args, **kwargs)
        try:
            sys.stdout.flush()  # a reader gone before the end shows here, not at exit
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                from ..adapters.output import silence, stream_error

                silence(sys.stdout)
                raise stream_error(exc, "stdout") from None
            raise
        return result
    except PublisherError as exc:
        stopped = signalled()
        if stopped is not None:  # a step refused as the run stops, its signal's exception lost
            say_interrupted(stopped, state)
            _json_interrupted(state, stopped)
            ctx.exit(stopped.exit_code)
        _debug_traceback(state)
        state.output.error(exc)
        _json_error(state, exc)
        ctx.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno == errno.EPIPE and output_gone():
            raise OutputClosed() from None
        _debug_traceback(state)
        classified = file_error(exc, "use a file or directory")
        classified.message = state.output.redact(classified.message)
        state.output.error(classified)
        _json_error(state, classified)
        ctx.exit(classified.exit_code)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Interrupted as exc:
        say_interrupted(exc, state)
        _json_interrupted(state, exc)
        ctx.exit(exc.exit_code)
    except KeyboardInterrupt:  # before the handlers were installed
        say_interrupted(Interrupted(signal.SIGINT, "SIGINT"), state)
        _json_interrupted(state, Interrupted(signal.SIGINT, "SIGINT"))
        ctx.exit(128 + signal.SIGINT)
    except Exception as exc:
        _debug_traceback(state)
        # a module a command loads that is missing; a thread the machine's limit refused
        err: PublisherError | None = missing_dependency_error(exc) or out_of_threads(exc)
        if err is None:
            err = PublisherError(
                f"unexpected {type(exc).__name__}: {state.output.redact(str(exc))}",
                hint="this is a bug in publisher; rerun with --debug and report the traceback",
            )
            err.label = "internal error"
        state.output.error(err)
        _json_error(state, err)
        ctx.exit(err.exit_code)


def _debug_traceback(state: State) -> None:
    """With --debug, the current exception's traceback, every known secret redacted."""
    if state.debug:
        text = traceback.format_exc()
        from ..adapters.output import inert  # loaded already: state.output is one

        text = state.output.redact(text)
        sys.stderr.write(inert(text) if state.output.github else text)
        sys.stderr.flush()


def interruption_error(exc: Interrupted, hint: str | None) -> PublisherError:
    """An interruption as an error is reported (``kind`` ``interrupted``, 128 + the signal):
    the ``--json`` document's error, and in GitHub Actions the ``::error`` annotation and
    the step summary's end. Its message is the line, then what the step the stop cut short
    left that only it knows (``stop.left``: the floating tags the registries now disagree
    on)."""
    said = f"interrupted by {exc.name}: stopped before finishing"
    error = PublisherError("\n".join([said, *stop.left()]), hint=hint)
    error.label = "interrupted"
    error.exit_code = exc.exit_code
    return error


def say_interrupted(exc: Interrupted, state: State | None) -> None:
    """The line an interrupted run ends with, and the ``  tip:`` of a command that writes
    (``State.interrupted_hint``: what the run left, what finishes it); in GitHub Actions
    also its ``::error`` annotation and the end of the step summary, as every error's, so
    a cancelled job's page says it. Nothing where stderr (or stdout) is gone."""
    hint = state.interrupted_hint if state is not None else None
    error = interruption_error(exc, hint)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(error.message + "\n" + (tip_lines(hint) if hint else ""))
        sys.stderr.flush()
    if state is None or state.env.get("GITHUB_ACTIONS") != "true":
        return  # the output channel (rich) is not loaded for nothing
    from ..adapters.output import failure_markdown

    with contextlib.suppress(OSError, ValueError, OutputClosed, PublisherError, Interrupted):
        state.output.annotate(error)
        _ANNOTATED.set()
        state.output.summary(failure_markdown(error, state.output.redact))
        _SUMMARIZED.set()


def reopen_closed_streams() -> list[str]:
    """The standard streams publisher was started without (``>&-``, ``2>&-``), each now
    open on /dev/null in its place: no file publisher opens takes the number 1 or 2 (where
    a child would write), and nothing fails for want of the stream. Returns their names."""
    closed = []
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(name)
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
            if getattr(sys, name) is None:
                setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115
    return closed


def output_gone() -> bool:
    """Has the reader of stdout or stderr gone (a pipe whose other end is closed)?

    Then stdout and stderr are pointed at /dev/null, so that the interpreter's
    flush at exit does not fail a second time."""
    gone = False
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            events = poller.poll(0)
        except (AttributeError, OSError, ValueError):
            continue
        if any(event & select.POLLERR for _, event in events):
            gone = True
    if gone:
        from ..adapters.output import silence

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                silence(stream)
    return gone


# --------------------------------------------------------------------------- signals


class _Signals:
    """Installs the stop handlers for one run, in the main thread; restores them after."""

    def __init__(self, state_of: Callable[[], State | None]) -> None:
        #: the run's state once its command set it up: the tip the forced exit says
        self.state_of = state_of
        self.previous: dict[int, Any] = {}
        self.caught: Interrupted | None = None
        #: the ``sys.unraisablehook`` of before the run
        self.unraisable: Callable[[Any], object] | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self.caught = None
        _ANNOTATED.clear()
        _SUMMARIZED.clear()
        stop.clear()
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue  # `nohup`, or `&` in a script: the caller chose to ignore it
            self.previous[signum] = signal.signal(signum, self.handle)
        self.unraisable = sys.unraisablehook
        sys.unraisablehook = self.unraisable_but_the_stop

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()
        if self.unraisable is not None:
            sys.unraisablehook, self.unraisable = self.unraisable, None

    def unraisable_but_the_stop(self, unraisable: Any) -> None:
        """The handler's exception, raised where Python drops it (a weakref callback of
        the import machinery, a ``__del__``), is not said as one: the run still ends as
        interrupted (``stop.signalled``)."""
        if isinstance(unraisable.exc_value, Interrupted):
            return
        if self.unraisable is not None:
            self.unraisable(unraisable)

    def handle(self, signum: int, frame: object) -> None:
        if self.caught is not None:
            return  # already unwinding: let the cleanup finish
        self.caught = Interrupted(signum, signal.Signals(signum).name)
        stop.request(signum)
        # Commands the runner is waiting for (in any thread) get SIGTERM, new ones are
        # refused: worker threads end their step soon and run their own cleanup. A runner
        # module still being imported (the signal came during its import) has started none.
        runner = sys.modules.get("publisher.adapters.runner")
        stop_children = getattr(runner, "stop_children", None)
        if stop_children is not None:
            stop_children()
        threading.Thread(
            target=_force_exit,
            args=(self.caught.exit_code, self.state_of),
            name="publisher-force-exit",
            daemon=True,
        ).start()
        raise self.caught


def signalled() -> Interrupted | None:
    """The interruption of a run a signal stopped (``stop.signalled``), None if none did:
    the run ends as interrupted even where the handler's exception was lost."""
    signum = stop.signalled()
    return None if signum is None else Interrupted(signum, signal.Signals(signum).name)


def _force_exit(code: int, state_of: Callable[[], State | None]) -> None:
    """Exit with ``code`` after ``FORCE_EXIT_AFTER`` seconds, saying so, with the tip of a
    command that writes (``State.interrupted_hint``: what the run left, what finishes it);
    in GitHub Actions also as an ``::error`` annotation, unless the interruption's own was
    written, and as the step summary's end, unless the interruption's own was written
    there. Said from threads of their own, waited for ``FORCE_EXIT_SAYING`` seconds at most
    together: the exit never waits on a blocked write (a stderr nobody reads, a summary
    file that hangs), nor on the output's lock the run holds."""
    time.sleep(FORCE_EXIT_AFTER)
    state = state_of()
    sayings = [
        threading.Thread(target=say, args=(code, state), name=name, daemon=True)
        for say, name in (
            (_say_forced_exit, "publisher-force-exit-saying"),
            (_summarize_forced_exit, "publisher-force-exit-summary"),
        )
    ]
    for saying in sayings:
        saying.start()
    deadline = time.monotonic() + FORCE_EXIT_SAYING
    for saying in sayings:
        saying.join(max(0.0, deadline - time.monotonic()))
    os._exit(code)


def _forced_exit_error(code: int, state: State | None) -> PublisherError:
    """The forced exit as an error is reported: its line, what the step the stop cut short
    left (``stop.left``), and the tip of a command that writes; the annotation's and the
    step summary's words."""
    hint = state.interrupted_hint if state is not None else None
    said = f"publisher: still stopping after {seconds(FORCE_EXIT_AFTER)}; exiting"
    error = PublisherError("\n".join([said, *stop.left()]), hint=hint)
    error.label, error.exit_code = "interrupted", code
    return error


def _say_forced_exit(code: int, state: State | None) -> None:
    error = _forced_exit_error(code, state)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(error.message + "\n" + (tip_lines(error.hint) if error.hint else ""))
        sys.stderr.flush()
    if state is None or state.env.get("GITHUB_ACTIONS") != "true" or _ANNOTATED.is_set():
        return
    with contextlib.suppress(OSError, ValueError, OutputClosed, PublisherError, Interrupted):
        line = state.output.annotation(error)  # on stderr, as every annotation
        sys.stderr.write(line)
        sys.stderr.flush()


def _summarize_forced_exit(code: int, state: State | None) -> None:
    """In GitHub Actions, the forced exit's error at the end of the step summary, as a
    failure's (the tables written before would read as a success), unless the
    interruption's own is there; appended without the output's lock (the stuck run may
    hold it), and passed over silently when it cannot be (the run is exiting)."""
    if state is None or state.env.get("GITHUB_ACTIONS") != "true" or _SUMMARIZED.is_set():
        return
    from ..adapters.output import failure_markdown

    with contextlib.suppress(OSError, ValueError, OutputClosed, PublisherError, Interrupted):
        error = _forced_exit_error(code, state)
        entry = state.output.summary_entry(failure_markdown(error, state.output.redact))
        if entry is not None:
            append_whole(*entry)


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


def _debug_after_the_command(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``publisher verify v2.0.0 --debug`` means what ``publisher --debug verify v2.0.0`` does."""
    state = ctx.find_object(State)
    if value and state is not None:
        state.debug = True


def refusal_error(exc: click.ClickException) -> PublisherError | None:
    """click's refusal of a command line (an unknown option or command, a missing argument,
    an out-of-range value: exit 2) as a publisher usage error: click's words, and a tip
    with the command's usage and its --help. None for any other click exception."""
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    if ctx is None:
        return None
    names = [c.info_name or "" for c in reversed([ctx, *_parents(ctx)])]
    path = " ".join(["publisher", *names[1:]])  # as the docs name it, however it was started
    usage = " ".join([path, *ctx.command.collect_usage_pieces(ctx)])
    if isinstance(exc, HintedRefusal):
        return UsageError(exc.format_message(), hint=exc.hint)
    hint = f"see `{path} --help` (usage: {usage})"
    if isinstance(exc, click.NoSuchOption) and exc.option_name == "--json":
        # a command whose JSON comes another way (matrix --github, resolve --format json)
        ways = [
            f"{param.opts[-1]}{' json' if isinstance(param.type, click.Choice) else ''}"
            for param in ctx.command.params
            if isinstance(param, click.Option) and "json" in (param.help or "").lower()
        ]
        if ways:
            return UsageError(
                f"{path} has no --json: it prints JSON with {' or '.join(ways)}", hint=hint
            )
    return UsageError(exc.format_message(), hint=hint)


def _parents(ctx: click.Context) -> list[click.Context]:
    parents = []
    while ctx.parent is not None:
        ctx = ctx.parent
        parents.append(ctx)
    return parents


def _said_as_every_error(
    exc: click.ClickException, *, json_mode: bool = False
) -> click.ClickException:
    """click's refusal said as every publisher error is (``error: usage error: ...`` and a
    ``tip:`` on stderr, an ``::error`` annotation in Actions), with click's exit code (2).

    A stderr that cannot be written loses the message, never the exit code; a reader of
    stderr gone is the quiet 141 of every other output."""
    if getattr(exc, "said_as_every_error", False):
        return exc
    error = refusal_error(exc)
    show = exc.show

    def say(file: Any = None) -> None:
        from ..adapters.output import Output, silence

        try:
            if error is not None:
                Output(quiet=json_mode).error(error)
            else:
                show(file)
        except OutputClosed:
            raise SystemExit(OutputClosed.exit_code) from None
        except OSError as lost:
            if lost.errno == errno.EPIPE:
                raise
            silence(sys.stderr)

    exc.show = say  # type: ignore[method-assign]
    exc.said_as_every_error = True  # type: ignore[attr-defined]
    return exc


#: The words that ask for a command's help.
HELP_WORDS = ("-h", "--help")


def _options_by_name(command: click.Command) -> dict[str, click.Option]:
    """Each option ``command`` itself takes, by each of its names (``--json``,
    ``--no-attestations``)."""
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _option_names(command: click.Command) -> tuple[set[str], set[str]]:
    """The option names ``command`` itself takes (``--json``, ``--no-attestations``, the
    help words), and of them those that take a value (``--reason``, ``--only``)."""
    by_name = _options_by_name(command)
    takes_value = {
        name
        for name, option in by_name.items()
        if not (option.is_flag or option.count) and name in option.opts
    }
    return set(by_name) | set(HELP_WORDS), takes_value


def _refuse_an_option_given_twice(option: click.Option, given: list[str], *, flag: bool) -> None:
    """An option that holds one value, given more than once on the command line: click
    kept the last value without a word (a republish recorded the second ``--reason``
    alone). A flag repeated as it is says the same thing twice (``--json --json``: nothing
    is lost), so only a flag with its opposite (``--attestations --no-attestations``) is
    refused. ``multiple`` options (``--only``) add their values up by design; a variable
    standing for the option (``PUBLISHER_CONFIG``) is not on the command line, so it is
    never the option given twice: the option given wins over it."""
    if option.multiple or option.count or len(given) < 2:
        return
    name = max(option.opts, key=len)
    if flag:
        if len(set(given)) > 1:
            both = " and ".join(dict.fromkeys(given))
            raise click.BadOptionUsage(name, f"{both} given together; give one of them")
        return
    raise click.BadOptionUsage(name, given_more_than_once(name, given))


def _check_command_line(command: click.Command, args: list[str]) -> None:
    """Refuse, before click parses ``args``, what click would take without a word:

    - an option left without its value, another of the command's options after it
      (``--reason --only 8.4``, ``--notes-dir --help``), as click refuses one last on the
      line: click would take that option for the value (republish "because --json", write
      notes into ``./-h``) and the rest of the line for something else, where the user
      forgot the value or asked for help. ``--reason=--only`` gives that value on purpose; a
      word that is no option of the command (``-1``, ``--foo``) is a value as before;
    - an option that holds one value given more than once (``--reason a --reason b``;
      ``_refuse_an_option_given_twice``), the values named."""
    options, takes_value = _option_names(command)
    by_name = _options_by_name(command)
    given: dict[click.Option, list[str]] = {}  # each value (or flag word) given, in order
    words = iter(args)
    for word in words:
        if word == "--":  # what follows is no option
            break
        named, equals, attached = word.partition("=") if word.startswith("--") else (word, "", "")
        if equals and named in takes_value:  # --reason=VALUE: the value is the word's own
            given.setdefault(by_name[named], []).append(attached)
        elif word in takes_value:
            value = next(words, None)  # click takes the next word, whatever it is
            if value is None:
                break  # click's own refusal: the option requires an argument
            named = value.split("=", 1)[0] if value.startswith("--") else value
            if named in options:
                what = (
                    "asks for help, not for a value"
                    if value in HELP_WORDS
                    else "is an option of its own, not a value"
                )
                raise click.BadOptionUsage(
                    word,
                    f"{word} needs a value; {value} after it {what} "
                    f"(to give the value {value}, write {word}={value})",
                )
            given.setdefault(by_name[word], []).append(value)
        elif word in by_name:  # a flag: the word itself says its value
            given.setdefault(by_name[word], []).append(word)
        elif isinstance(command, click.Group) and not word.startswith("-"):
            break  # the subcommand's words are its own
    if set(HELP_WORDS) & set(args[: args.index("--")] if "--" in args else args):
        return  # the help is shown, nothing is run: no value is lost
    for option, values in given.items():
        _refuse_an_option_given_twice(option, values, flag=bool(option.is_flag or option.count))


class _SaysRefusals(click.Command):
    """The one place a command line click refuses, for the group and for every command,
    is turned into publisher's report of it (``_said_as_every_error``)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if not extra.get("resilient_parsing"):  # shell completion reads, it runs nothing
            self.read_before_click(args)
        # Before parsing, which consumes ``args``; an argument after ``--`` is not an option.
        wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
        words = tuple(args)
        try:
            _check_command_line(self, args)
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            if isinstance(exc, click.UsageError) and exc.ctx is None:
                # click names no context for an option missing its value (`--config` last)
                exc.ctx = click.Context(self, info_name=info_name, parent=parent)
            json_mode = self.refused(exc, wants_json=wants_json, args=words)
            raise _said_as_every_error(exc, json_mode=json_mode) from exc.__cause__

    def read_before_click(self, args: list[str]) -> None:
        """Refuse ``args`` in the command's own words before click reads them: nothing here."""

    def refused(
        self, exc: click.ClickException, *, wants_json: bool, args: tuple[str, ...] = ()
    ) -> bool:
        """Report ``exc`` beyond stderr where the command does; True when stdout took it.
        ``args``: the command line as it was given to this command, before click read it."""
        return False


class JsonCommand(_SaysRefusals):
    """A command whose click refusals (an unknown option, a missing argument, an
    out-of-range value: exit 2, in click's words) are reported as every other failure
    is: ``error: usage error: ...`` and a tip on stderr, ``{"ok": false, "error": ...}``
    on stdout with ``--json``, and an ``::error`` annotation in GitHub Actions.

    Each also takes ``--debug`` after its name, as the hint of an internal error says
    "rerun with --debug" wherever the user put the rest of the command line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                callback=_debug_after_the_command,
                help="Show tracebacks and debug detail (as `publisher --debug`).",
            )
        )

    def refused(
        self, exc: click.ClickException, *, wants_json: bool, args: tuple[str, ...] = ()
    ) -> bool:
        error = refusal_error(exc)
        json_wanted = wants_json and any(p.name == "as_json" for p in self.params)
        if json_wanted and error is not None:
            from ..adapters.output import Output

            document = {"ok": False, "error": error.to_dict()}
            # redacted as every output is: a refused value may be a secret or a URL's
            text = Output(quiet=True).redact(json.dumps(document, indent=2, sort_keys=True))
            _echo_own_output(text)
        return json_wanted


def _stdout_failed(exc: OSError) -> int:
    """stdout cannot take click's own output (``--help >/dev/full``): said on stderr, 18."""
    from ..adapters.output import Output, silence, stream_error

    silence(sys.stdout)
    Output().error(stream_error(exc, "stdout"))
    return FileAccessError.exit_code


def _echo_own_output(text: str) -> None:
    """Write what the CLI itself prints on stdout; a full one is exit 18, not a traceback."""
    try:
        click.echo(text)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise click.exceptions.Exit(_stdout_failed(exc)) from None


#: The commands that say a stdout closed from the start (``>&-``) in their own words:
#: resolve's ``decision=none error=file-access`` and exit 17, as ``python -m
#: publisher.resolve`` says it, not every other command's exit 18.
SAY_CLOSED_STDOUT = frozenset({"resolve"})


def _says_closed_stdout(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Does the command line (as ``click.Group.main`` gets it: ``args`` given, else the
    process's) run one of ``SAY_CLOSED_STDOUT``, or ask for its --help (which it writes
    as its output), not ``publisher --help`` (click's own)?"""
    given = kwargs.get("args", args[0] if args else None)
    words = sys.argv[1:] if given is None else list(given)
    at = next((n for n, word in enumerate(words) if not word.startswith("-")), None)
    if at is None or words[at] not in SAY_CLOSED_STDOUT:
        return False
    return not set(HELP_WORDS) & set(words[:at])


class LazyGroup(_SaysRefusals, click.Group):
    """A group whose commands are imported on first use (its own refused options,
    `publisher --bogus`, said as its commands' are)."""

    command_class = JsonCommand
    #: the standard streams the process was started without (``reopen_closed_streams``)
    closed_at_start: tuple[str, ...] = ()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__package__}.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def refused(
        self, exc: click.ClickException, *, wants_json: bool, args: tuple[str, ...] = ()
    ) -> bool:
        """A refusal of the group's own (``PUBLISHER_DEBUG=maybe``) is reported as the
        command named after it reports its own: with its --json, on stdout too."""
        ctx = exc.ctx if isinstance(exc, click.UsageError) else None
        name = next((word for word in args if not word.startswith("-")), None)
        command = self.get_command(ctx, name) if name and ctx is not None else None
        if not isinstance(command, _SaysRefusals):
            return False
        return command.refused(exc, wants_json=wants_json, args=args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``publisher`` alone prints its help with the examples on stdout, exit 0, as
        ``--help`` does, with every click publisher supports (8.2 and later would say it
        on stderr, exit 2)."""
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            _echo_own_output(ctx.get_help())
            ctx.exit()
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            ctx.fail(f"No such command {name!r}{did_you_mean(name, self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        closed = reopen_closed_streams()
        self.closed_at_start = tuple(closed)
        from ..resolve import pass_undecodable_bytes  # loaded by Output anyway

        pass_undecodable_bytes()
        if "stdout" in closed and not _says_closed_stdout(args, kwargs):
            from ..adapters.output import Output

            Output().error(
                FileAccessError(
                    "stdout is closed: publisher writes its output there; nothing was done",
                    hint="redirect stdout instead of closing it: `>/dev/null` discards it, "
                    "`>FILE` keeps it",
                )
            )
            raise SystemExit(FileAccessError.exit_code)
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            # click ends with 1 when its own output (--help, usage) meets a closed pipe.
            if exc.code == 1 and output_gone():
                raise SystemExit(OutputClosed.exit_code) from None
            raise
        except OSError as exc:  # click's own output to stdout (--help, --version) failed
            if exc.errno == errno.EPIPE:
                raise
            raise SystemExit(_stdout_failed(exc)) from None

    def invoke(self, ctx: click.Context) -> Any:
        signals = _Signals(lambda: ctx.find_object(State))
        signals.install()
        tempdir = tempfile.tempdir  # a command's check_tmpdir sets it: for that command
        try:
            result = super().invoke(ctx)
            stopped = signalled()
            if stopped is not None:  # finished, though a signal came whose exception was lost
                raise stopped
            return result
        except click.ClickException as exc:  # a command's refusal, or a mistyped command
            raise _said_as_every_error(exc) from exc.__cause__
        except Interrupted as exc:  # outside a command's own handling (e.g. while importing)
            say_interrupted(exc, ctx.find_object(State))
            raise click.exceptions.Exit(exc.exit_code) from None
        except OutputClosed:
            raise click.exceptions.Exit(OutputClosed.exit_code) from None
        finally:
            tempfile.tempdir = tempdir
            signals.restore()


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG_EXIT_CODES,
)
@click.version_option(__version__, prog_name="publisher")
@click.option(
    "--debug",
    is_flag=True,
    cls=EnvOption,
    envvar="PUBLISHER_DEBUG",
    help="Show tracebacks and debug detail (env: PUBLISHER_DEBUG).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Build, push, tag, verify and document pre-built PHP-FPM images.

    \b
    Examples:
      publisher plan v2.0.0                 # what a release would tag, where
      publisher render --check              # committed Dockerfiles up to date?
      publisher inspect php:8.4-fpm-alpine --offline
      publisher release v2.0.0 --local      # rehearse on loopback registries
                                            # (bases from Docker Hub)
      publisher release v1.0.0 --local --config examples/offline/matrix.yaml
                                            # the same offline, on STAND-IN bases
    """
    closed = getattr(ctx.command, "closed_at_start", ())
    ctx.obj = State(debug=debug, stdout_closed="stdout" in closed)
