"""The builder interface: one build is one (PHP line, platform).

A ``Builder`` turns a ``BuildRequest`` into a ``BuildOutput``. Images are pushed
BY DIGEST, never under a scratch tag:

* buildx pushes the image itself (``push-by-digest=true``) and the output carries
  only its ``digest``;
* buildah and docker leave a single-platform OCI image layout (``layout``) that
  the build stage pushes by digest with the registry client's ``push_layout``;
  ``digest`` is then the digest of the image manifest inside that layout.

Every builder checks its tool and version up front (``check``) and lists the
commands it would run without running them (``commands``), for ``--dry-run``.
"""

from __future__ import annotations

import datetime
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ...core import retry as retry_loop
from ...core.errors import BrokenToolError, CommandError, ToolMissingError, clip
from ...core.manifest import DOCKERFILE_LABEL
from ...core.platforms import BuilderName, Platform
from ...core.reference import Reference
from ...core.retry import RetryPolicy, is_retryable_status
from ...core.sizes import seconds
from .. import network, stop
from ..runner import Completed, command_failed, format_argv

if TYPE_CHECKING:
    from ...core.config import Config, Line
    from ..runner import Runner

#: Build arguments every rendered Dockerfile declares.
ARG_BASE = "PHP_BASE_IMAGE"
ARG_RELEASE = "PUBLISHER_RELEASE"
ARG_CREATED = "PUBLISHER_CREATED"
ARG_REVISION = "PUBLISHER_REVISION"
#: What a check's refusal before anything started ends with.
NOTHING_BUILT = "nothing was built or pushed"
#: BuildKit's own build argument (no Dockerfile declares it): the time it stamps
#: into the image config, its history and, with ``rewrite-timestamp``, every file.
ARG_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


class Login(Protocol):
    """Registry credentials (``publisher.adapters.registry.credentials.Credentials`` fits)."""

    @property
    def username(self) -> str: ...

    @property
    def password(self) -> str: ...


#: What a failed ``buildah login``/``docker login`` says the registry answered: its HTTP
#: status (buildah: ``invalid status code from registry 503 (Service Unavailable)``;
#: docker: ``login attempt to URL failed with status: 503 Service Unavailable``), or in
#: words for 429 and 401 (buildah: ``too many requests to registry``, ``invalid
#: username/password``).
_LOGIN_STATUS = re.compile(r"(?:status code from registry|failed with status:?)\s+(\d{3})\b")
_LOGIN_WORDS = (("too many requests", 429), ("invalid username/password", 401))
#: What it says when it reached no registry (Go's words for a failed connection).
_LOGIN_UNREACHED = re.compile(
    r"connection refused|connection reset(?: by peer)?|i/o timeout|TLS handshake timeout|"
    r"no such host|network is unreachable|no route to host|server misbehaving|"
    r"Client\.Timeout exceeded[^\n]*|: EOF$",
    re.IGNORECASE | re.MULTILINE,
)
#: The tip of a login the registry refused (401, 403), and of one whose output says nothing
#: publisher knows.
CREDENTIALS_TIP = "check the registry credentials (username_env/password_env in matrix.yaml)"


@dataclass(frozen=True)
class LoginAnswer:
    """What a failed login's output says of the registry: the HTTP ``status`` it answered,
    or the connection failure (``unreached``) that kept it from answering, else neither."""

    status: int | None = None
    unreached: str | None = None

    @classmethod
    def read(cls, output: str) -> LoginAnswer:
        """Pure: the answer ``output`` (a failed login's) names."""
        found = _LOGIN_STATUS.findall(output)
        if found:
            return cls(status=int(found[-1]))
        lowered = output.lower()
        for words, status in _LOGIN_WORDS:
            if words in lowered:
                return cls(status=status)
        unreached = _LOGIN_UNREACHED.findall(output)
        return cls(unreached=unreached[-1].strip(": ") if unreached else None)

    @property
    def retried(self) -> bool:
        """Retried as publisher's own requests are: a connection failure, 408, 429, 5xx."""
        return self.unreached is not None or (
            self.status is not None and is_retryable_status(self.status)
        )

    def hint(self, host: str, tries: str = "") -> str:
        """The tip of the login's last failure, ``tries`` saying how its attempts went."""
        if self.status in (401, 403) or (self.status is None and self.unreached is None):
            return CREDENTIALS_TIP
        after = f" {tries}" if tries else ""
        if self.unreached is not None:
            return (
                f"the login reached no registry ({self.unreached}){after}: check that {host} "
                "is reachable (network, DNS, proxy, port), then rerun"
            )
        said = f"the registry answered {self.status}{after}"
        if self.status == 429:
            return f"{said} (rate-limited): wait for the limit to reset, then rerun"
        if self.retried:
            return (
                f"{said}: {host} is having trouble, the credentials are not in question; retry "
                "later, or allow more time with PUBLISHER_RETRY_ATTEMPTS and "
                "PUBLISHER_RETRY_TOTAL_TIMEOUT"
            )
        return f"{said}, neither accepting nor refusing the credentials: check that {host} is a registry"


class _LoginFailed(Exception):
    """A login that failed for a reason retried (``LoginAnswer.retried``)."""

    def __init__(self, result: Completed, answer: LoginAnswer) -> None:
        super().__init__(result.output)
        self.result = result
        self.answer = answer


def log_in(
    runner: Runner,
    argv: list[str],
    creds: Login,
    *,
    env: dict[str, str] | None = None,
) -> None:
    """Run a ``docker login``/``buildah login`` ``argv`` (``--password-stdin``, the host
    last): the password goes to stdin and is masked, never into argv. A registry that
    answers 5xx, 408 or 429, or that the login cannot reach, is tried again under
    ``PUBLISHER_RETRY_*`` (``RetryPolicy.from_env``), as publisher's own requests are; the
    last failure's tip blames the credentials only when the registry refused them."""
    host = argv[-1]
    what = f"{Path(argv[0]).name} login {host}"
    policy = RetryPolicy.from_env(getattr(runner, "env", None) or os.environ)
    if policy.sleep is time.sleep:  # an interrupted run wakes from the wait at once
        policy = replace(policy, sleep=stop.wait)

    def attempt(_number: int) -> None:
        result = runner.run(
            argv,
            stdin=creds.password + "\n",
            env=env,
            secrets=(creds.password,),
            what=what,
            check=False,
        )
        if result.ok:
            return
        answer = LoginAnswer.read(result.output)
        if answer.retried:
            raise _LoginFailed(result, answer)
        raise command_failed(result, what, runner.output.redact, answer.hint(host))

    def before_sleep(failed: _LoginFailed, number: int, wait: float) -> None:
        said = failed.answer.unreached or f"the registry answered {failed.answer.status}"
        runner.output.progress(
            f"{what}: {said}; retrying in {seconds(wait, 1)} (attempt {number + 1} of "
            f"{policy.attempts})"
        )

    try:
        retry_loop.run(
            policy,
            attempt,
            retryable=_LoginFailed,
            retry_after=lambda _failed: None,
            before_sleep=before_sleep,
        )
    except retry_loop.RetriesExhausted as ended:
        assert isinstance(ended.last, _LoginFailed)
        tries = network.tries(ended.attempts, ended.elapsed, ended.next_wait, policy.total_timeout)
        hint = ended.last.answer.hint(host, tries)
        raise command_failed(ended.last.result, what, runner.output.redact, hint) from None


@dataclass(frozen=True)
class BuildRequest:
    """One build: a PHP line for one platform, pushed (or laid out) for ``repository``.

    ``base`` is the base image pinned by digest; it becomes the ``PHP_BASE_IMAGE``
    build argument. ``work_dir`` receives the OCI layout and metadata files; the
    caller owns it and removes it. ``credentials`` are only used by builders that
    push themselves (buildx), and only through stdin.
    """

    php: str
    platform: Platform
    context: Path
    dockerfile: Path
    repository: Reference
    work_dir: Path
    base: Reference | None = None
    release: str = "unreleased"
    created: str = ""
    revision: str = ""
    #: The sha256 of the Dockerfile built, set as the image's ``DOCKERFILE_LABEL``; none
    #: when empty.
    dockerfile_sha256: str = ""
    extra_args: tuple[tuple[str, str], ...] = ()
    #: The base image's registry is reached over plain HTTP (loopback or insecure).
    base_plain_http: bool = False
    #: The target repository's registry is reached over plain HTTP.
    target_plain_http: bool = False
    credentials: Login | None = field(default=None, repr=False, compare=False)
    #: buildx: use the registry build cache (``REPO:buildcache-php-X.Y-ARCH``).
    cache: bool = True
    #: buildx: attach provenance / SBOM attestations.
    provenance: bool = False
    sbom: bool = False
    #: The line's committed Dockerfile when ``dockerfile`` is the run's private copy of
    #: it (``BuildStage``), gone once the run ends: a failed build's tip names it.
    committed: Path | None = None
    #: What a failed build's tip says instead of the command that builds it again: a
    #: rehearsal's, whose throwaway registries (its bases' too) stop with it.
    rehearsal_tip: str | None = None

    @property
    def build_args(self) -> tuple[tuple[str, str], ...]:
        """Every ``--build-arg``, in a stable order."""
        args: list[tuple[str, str]] = []
        if self.base is not None:
            args.append((ARG_BASE, str(self.base)))
        args += [
            (ARG_RELEASE, self.release),
            (ARG_CREATED, self.created),
            (ARG_REVISION, self.revision),
        ]
        args += list(self.extra_args)
        return tuple(args)

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        """Every ``--label`` the build sets besides the Dockerfile's own."""
        return ((DOCKERFILE_LABEL, self.dockerfile_sha256),) if self.dockerfile_sha256 else ()

    @property
    def source_date_epoch(self) -> int | None:
        """``created`` (RFC 3339) as epoch seconds, for reproducible timestamps; else None."""
        return epoch_seconds(self.created)

    @property
    def buildkit_args(self) -> tuple[tuple[str, str], ...]:
        """``build_args`` plus BuildKit's ``SOURCE_DATE_EPOCH`` when ``created`` is set.

        BuildKit (buildx, and the engine's own for the docker builder) then stamps the
        image config and its history with that time instead of the clock.
        """
        epoch = self.source_date_epoch
        if epoch is None:
            return self.build_args
        return (*self.build_args, (ARG_SOURCE_DATE_EPOCH, str(epoch)))

    @property
    def rebuilt(self) -> BuildRequest:
        """This request as the tip of its failed build rebuilds it: from the committed
        Dockerfile, which the run's private copy was made of, byte for byte."""
        return replace(self, dockerfile=self.committed or self.dockerfile)

    @property
    def slug(self) -> str:
        """File-name-safe name of this build, e.g. ``php-8.4-arm64``."""
        return f"php-{self.php}-{self.platform.arch}"

    def local_name(self, token: str) -> str:
        """The name a local image store gives this build, e.g. ``publisher-build/php-8.4-arm64:TOKEN``."""
        return f"publisher-build/{self.slug}:{token}"

    @property
    def layout_dir(self) -> Path:
        return self.work_dir / f"{self.slug}.oci"

    @property
    def digest_file(self) -> Path:
        return self.work_dir / f"{self.slug}.digest"

    @property
    def metadata_file(self) -> Path:
        return self.work_dir / f"{self.slug}.metadata.json"

    @property
    def cache_ref(self) -> str:
        """buildx registry cache reference for this line and platform."""
        return f"{self.repository.name}:buildcache-{self.slug}"

    @classmethod
    def for_line(
        cls,
        config: Config,
        line: Line,
        platform: Platform,
        *,
        base: Reference,
        work_dir: Path,
        release: str,
        created: str = "",
        revision: str = "",
        credentials: Login | None = None,
        cache: bool = True,
        provenance: bool = False,
        sbom: bool = False,
    ) -> BuildRequest:
        """The request for ``line`` on ``platform`` pushed to ``config.primary``.

        ``base`` is the resolved base (through the mirror, pinned by digest).
        """
        primary = config.primary
        return cls(
            php=line.php,
            platform=platform,
            context=Path(config.root),
            dockerfile=config.dockerfile_path(line.php),
            repository=primary.repository.repository(),
            work_dir=work_dir,
            base=base,
            release=release,
            created=created,
            revision=revision,
            base_plain_http=config.plain_http_for(base.domain),
            target_plain_http=primary.plain_http,
            credentials=credentials,
            cache=cache,
            provenance=provenance,
            sbom=sbom,
        )


@dataclass(frozen=True)
class BuildOutput:
    """The result of one build.

    ``digest`` is the image manifest's digest. When ``layout`` is None the builder
    pushed the image itself to ``repository`` by digest (buildx); otherwise
    ``layout`` is a single-platform OCI image layout holding exactly that
    manifest, for the build stage to push by digest.
    """

    php: str
    platform: Platform
    builder: BuilderName
    repository: Reference
    digest: str
    layout: Path | None = None
    seconds: float = 0.0

    @property
    def pushed(self) -> bool:
        return self.layout is None

    @classmethod
    def finished(
        cls,
        request: BuildRequest,
        builder: BuilderName,
        digest: str,
        *,
        layout: Path | None,
        started: float,
    ) -> BuildOutput:
        """The output of ``request``'s build, timed from ``started`` (``time.monotonic()``)."""
        return cls(
            php=request.php,
            platform=request.platform,
            builder=builder,
            repository=request.repository,
            digest=digest,
            layout=layout,
            seconds=time.monotonic() - started,
        )


def check_built_platform(tool: str, request: BuildRequest, built: str) -> None:
    """Refuse an image built for another platform than requested (``built``: ``os/arch``)."""
    if built.rpartition("/")[2] != request.platform.arch:
        raise CommandError(
            f"{tool} built {built or 'no platform'} for {request.platform}",
            hint="the base image may lack this platform; check it with `skopeo inspect --raw`",
        )


class Builder(Protocol):
    """One implementation per tool: buildx, buildah, docker."""

    name: BuilderName

    def available(self) -> bool:
        """Cheap probe: is the tool installed at all (used by ``select_builder``)?"""
        ...

    def check(self) -> str:
        """Verify the tool and its version; return e.g. ``buildah 1.28.2``.

        Raises ToolMissingError saying what is missing and how to install it.
        """
        ...

    def commands(self, request: BuildRequest) -> tuple[tuple[str, ...], ...]:
        """The commands ``build`` would run, for ``--dry-run`` (no secrets in them)."""
        ...

    def build(self, request: BuildRequest) -> BuildOutput: ...


_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``X.Y[.Z]`` in ``text`` (``buildah version 1.28.2 (image-spec ...)``)."""
    match = _VERSION_RE.search(text)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def require_version(
    tool: str, text: str, minimum: tuple[int, int, int], hint: str, *, path: str | None = None
) -> tuple[int, int, int]:
    """Parse the version in ``text`` and raise ToolMissingError when below ``minimum``;
    ``path``, the tool that answered, is named, since another may be installed too."""
    version = parse_version(text)
    wanted = ".".join(map(str, minimum))
    where = f" ({path})" if path else ""
    if version is None:
        raise BrokenToolError(
            f"cannot tell which version of {tool}{where} is installed "
            f"(it printed {clip(text.strip(), 80)!r})",
            hint=f"publisher needs {tool} {wanted} or newer; {hint}",
        )
    if version < minimum:
        found = ".".join(map(str, version))
        raise ToolMissingError(
            f"{tool} {found} is too old{where}; publisher needs {tool} {wanted} or newer",
            hint=(f"upgrade it, or put a newer {tool} first on PATH; " if path else "") + hint,
        )
    return version


def probed_version(
    runner: Runner,
    argv: list[str],
    tool: str,
    minimum: tuple[int, int, int],
    hint: str,
) -> tuple[int, int, int]:
    """Ask ``tool`` its version (``argv``, through ``Runner.probe``) and check it: a tool
    that hangs, cannot start or fails to say its version is installed but broken
    (BrokenToolError, exit 10, with what it printed), found before any build."""
    answer = runner.probe(argv, what=" ".join([tool, *argv[1:]]))
    if not answer.ok:
        said = answer.output.strip().splitlines()
        raise BrokenToolError(
            f"{tool} ({argv[0]}) is installed but does not work: `{' '.join([tool, *argv[1:]])}` "
            f"failed with exit status {answer.returncode}"
            + (f": {clip(said[-1], 200)}" if said else " and printed nothing"),
            hint=f"repair or reinstall it, or put a working {tool} first on PATH; {hint}",
        )
    return require_version(tool, answer.stdout, minimum, hint, path=argv[0])


def epoch_seconds(created: str) -> int | None:
    """Parse an RFC 3339 time (``2025-01-02T03:04:05Z``) into epoch seconds, or None."""
    text = created.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


def failed_build_hint(request: BuildRequest, argv: Sequence[str]) -> str:
    """The tip of ``request``'s build that failed: ``argv``, the builder's command that
    builds ``request.rebuilt`` again and does nothing else (it pushes nothing and names
    no file of the run's work directory, removed when the run ends), to see the build's
    whole output; a rehearsal's own tip instead (``rehearsal_tip``)."""
    if request.rehearsal_tip is not None:
        return request.rehearsal_tip
    return f"rerun the build to see its full output: {format_argv(argv)}"


def plain_rebuild_args(request: BuildRequest) -> list[str]:
    """What ``docker build`` and ``docker buildx build`` take after their subcommand to
    build ``request.rebuilt`` again, their whole output in plain text (``rebuild_argv``
    of each: the command a failed build's tip names)."""
    rebuilt = request.rebuilt
    return [
        "--progress=plain",
        "--platform",
        rebuilt.platform.value,
        "-f",
        str(rebuilt.dockerfile),
        *build_arg_flags(rebuilt.buildkit_args),
        *label_flags(rebuilt.labels),
        str(rebuilt.context),
    ]


def build_arg_flags(args: tuple[tuple[str, str], ...]) -> list[str]:
    flags: list[str] = []
    for key, value in args:
        flags += ["--build-arg", f"{key}={value}"]
    return flags


def label_flags(labels: tuple[tuple[str, str], ...]) -> list[str]:
    return [flag for key, value in labels for flag in ("--label", f"{key}={value}")]
