"""Where registry credentials come from: environment variables, then the docker config.

Credentials are never written anywhere. The environment variables named in
matrix.yaml (``username_env``/``password_env``) come first; otherwise the docker
config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``): its
``credHelpers``/``credsStore`` (``docker-credential-<helper> get``, the host on
STDIN, never in argv) and its ``auths``. Without either, access is anonymous.
Every secret is registered with ``Output.mask()`` before it is used.

How the docker config is read and its helpers asked is the registry core's, in
``publisher.resolve`` (the probe of ``publisher resolve`` reads it the same way);
here the helpers run through the runner and the core's errors become ours.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING

from ...core.errors import AuthError, ConfigError
from ...core.fileio import link_beside, temp_dir, write_atomic
from ...core.locations import shell_word
from ...resolve import (
    HELPER_TIMEOUT,
    BasicCredentials,
    CredentialsError,
    DockerConfigError,
    RunCommand,
    api_host,
    docker_config_credentials,
    docker_config_path,
    is_loopback,
    read_docker_config,
)
from ..output import Output
from ..runner import CommandTimedOut, Runner

if TYPE_CHECKING:
    from ...core.config import Registry

#: A username and a password or token; ``repr`` never shows the password.
Credentials = BasicCredentials

__all__ = [
    "Credentials",
    "api_host",
    "credentials_for",
    "credentials_for_host",
    "from_docker_config",
    "helper_command",
]


def helper_command(runner: Runner) -> RunCommand:
    """The registry core's way to run a credential helper, through ``runner``."""

    def run(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
        if runner.which(argv[0]) is None:
            raise FileNotFoundError(argv[0])
        try:
            done = runner.run(
                argv, stdin=stdin.decode(), check=False, timeout=timeout, echo=False, what=argv[0]
            )
        except CommandTimedOut:  # the core says what a helper that hangs may be waiting for
            raise TimeoutError(f"{argv[0]} did not finish within {timeout:g} s") from None
        return done.returncode, done.stdout.encode()

    return run


def _absent_helper_has_nothing(run: RunCommand) -> RunCommand:
    def answer(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
        try:
            return run(argv, stdin, timeout)
        except FileNotFoundError:
            return 1, b"credentials not found in native keychain"

    return answer


def _silent_runner() -> Runner:
    # The helper's answer holds the secret: its runner never shows output, even with --debug.
    return Runner(output=Output(env={}, quiet=True))


def from_docker_config(
    host: str,
    env: Mapping[str, str],
    *,
    runner: Runner | None = None,
) -> Credentials | None:
    """Credentials for ``host`` from the docker config, or None.

    A loopback registry (the rehearsal's throwaway ones, a registry of one's own) needs
    none as a rule: a credential helper that is not installed (``credsStore: desktop``
    copied from a Mac) has nothing for it, rather than stopping the run."""
    run = helper_command(runner or _silent_runner())
    if is_loopback(host):
        run = _absent_helper_has_nothing(run)
    try:
        return docker_config_credentials(host, env, run=run, timeout=HELPER_TIMEOUT)
    except DockerConfigError as exc:
        raise ConfigError(exc.message, source=exc.source, hint=exc.hint) from None
    except CredentialsError as exc:
        raise AuthError(exc.message, hint=exc.hint) from None


def check_docker_config(env: Mapping[str, str]) -> None:
    """Read the docker config once before a run starts anything: one that cannot be read
    or parsed is a ConfigError (exit 3) now, not after the throwaway registries or the
    first build."""
    path = docker_config_path(env)
    if path is None:
        return
    try:
        read_docker_config(path)
    except DockerConfigError as exc:
        # Read whatever the credential variables say (docker and buildah read it too):
        # setting them is no way around it here.
        raise ConfigError(
            exc.message,
            source=exc.source,
            # empty, not removed: buildah refuses a DOCKER_CONFIG without a config.json
            hint=f"fix {path}, or empty it (`echo '{{}}' > {shell_word(str(path))}`: it then "
            "holds no credentials), or point DOCKER_CONFIG at a directory whose config.json "
            "is valid JSON; publisher, docker and buildah read it even when the credential "
            "variables are set",
        ) from None


#: The empty docker config a rehearsal uses in place of one it cannot read.
EMPTY_DOCKER_CONFIG_PREFIX = "publisher-empty-docker-config-"


@contextlib.contextmanager
def docker_config_for_run(
    env: MutableMapping[str, str], output: Output, *, rehearsal: bool
) -> Iterator[None]:
    """``check_docker_config`` before a run starts anything, except in a rehearsal.

    A rehearsal's throwaway registries need no credentials: there, a docker config that
    cannot be read or parsed is said in a warning, and the run goes on with an empty one
    (``DOCKER_CONFIG`` in ``env`` names a throwaway directory until the run ends, so
    publisher, docker and buildah, which refuses to pull with a broken one, all read it).
    """
    try:
        check_docker_config(env)
    except ConfigError as exc:
        if not rehearsal:
            raise
        broken = exc
    else:
        yield
        return
    output.warning(
        f"{broken.message}: the rehearsal goes on with an empty docker config (its throwaway "
        "registries need no credentials; a base image they do not serve is pulled "
        "anonymously). A real release stops on it: fix that file first, or make it `{}`, an empty one"
    )
    saved = env.get("DOCKER_CONFIG")
    path = docker_config_path(env)
    with temp_dir(EMPTY_DOCKER_CONFIG_PREFIX) as directory:
        write_atomic(directory / "config.json", "{}\n")
        if path is not None:  # all else beside the broken file, as docker itself reads it
            link_beside(path.parent, directory, but=path.name)
        env["DOCKER_CONFIG"] = str(directory)
        try:
            yield
        finally:
            if saved is None:
                env.pop("DOCKER_CONFIG", None)
            else:
                env["DOCKER_CONFIG"] = saved


def credentials_for_host(
    host: str,
    env: Mapping[str, str],
    output: Output | None = None,
    *,
    username_env: str | None = None,
    password_env: str | None = None,
    runner: Runner | None = None,
) -> Credentials | None:
    """Credentials for ``host``: the named env vars, else the docker config, else None."""
    creds: Credentials | None = None
    if username_env and password_env:
        user, password = env.get(username_env, ""), env.get(password_env, "")
        for name, value in ((username_env, user), (password_env, password)):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # bytes that are no text: never shown, never sent
                raise AuthError(
                    f"{name} is not UTF-8 text",
                    registry=host,
                    hint=f"set {name} to the credential alone (a token or password), as UTF-8",
                ) from None
        if user and password:
            creds = Credentials(user, password, source=f"env {username_env}/{password_env}")
        elif user or password:
            missing = password_env if user else username_env
            raise AuthError(
                f"{missing} is empty or unset while {username_env if user else password_env} is set",
                registry=host,
                hint=f"set both {username_env} and {password_env}, or neither (anonymous access)",
            )
    if creds is None:
        try:
            creds = from_docker_config(host, env, runner=runner)
        except AuthError as exc:  # say which registry, and which variables would do instead
            named = (
                f"; the variables for {host} are {username_env} and {password_env}"
                if username_env and password_env
                else ""
            )
            raise AuthError(
                f"credentials for {host}: {exc.message}",
                registry=host,
                hint=f"{exc.hint or 'check the docker config'}{named}",
            ) from None
    if creds is not None and output is not None:
        output.mask(creds.password)
        output.mask(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode())
    return creds


def credentials_for(
    registry: Registry,
    env: Mapping[str, str],
    output: Output | None = None,
    *,
    runner: Runner | None = None,
) -> Credentials | None:
    """Credentials for a configured registry (see the module docstring for the order)."""
    return credentials_for_host(
        registry.host,
        env,
        output,
        username_env=registry.username_env,
        password_env=registry.password_env,
        runner=runner,
    )
