"""Can anyone pull the release? An anonymous read of every pin on every registry.

The publish job reads and verifies with credentials, so a repository that only its
owner can read (GHCR creates every new package private) passes there and fails for
every consumer, who then falls back to a local build. This stage reads each pin tag
of a release (``vX.Y.Z-php-A.B`` per line, and ``vX.Y.Z``) on every registry with
no credentials at all, and fails with the one-time steps that fix each registry.

``check_public`` is what the workflow runs after publishing (``publisher
check-public vX.Y.Z``); ``public_error`` is the failure its result makes (the
refused reads and the steps), which the command raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters.output import Output
from ..core.audit_rules import recorded_pins
from ..core.config import Config, Registry
from ..core.errors import (
    AuthError,
    InvalidResponseError,
    NotFoundError,
    PartialVerificationError,
    PublisherError,
    RateLimitedError,
    RateLimitedVerificationError,
    UnreachableError,
    VerificationError,
    unanswered_tip,
)
from ..core.fileio import counted
from ..core.locations import DEFAULT as DEFAULT_LOCATIONS
from ..core.locations import Locations
from ..core.notes import ReleaseFacts
from ..core.plan import selected_pins
from ..core.reference import Reference
from ..core.version import Release
from .clients import AnonymousClient
from .parallel import in_parallel

#: What an anonymous read answered "not found" (404) says: the registry let the read in
#: (a private repository is refused, 401/403: Docker Hub, GHCR), and has no such pin, nor
#: perhaps the repository (a release not published there, or published elsewhere).
NOT_FOUND = "not found anonymously (the read was let in: no 401/403)"
#: What it says when the registry listed the repository's tags to anyone: the
#: repository is readable, and the pin is not there.
ABSENT = "no such tag (the repository is readable anonymously)"


@dataclass(frozen=True)
class PinRead:
    registry: str
    reference: str
    digest: str | None
    problem: str | None = None
    #: False: the registry did not answer (nothing is known of its visibility).
    answered: bool = True
    #: What to do about a registry that did not answer (its error's own tip: the
    #: network for a refused connection, the certificate for a TLS failure, ...).
    advice: str | None = None
    #: True: the registry rate-limited the read, which says nothing of its visibility.
    limited: bool = False
    #: True: the registry sent an answer publisher cannot take (malformed, too large, other
    #: content than it named), so its pins were not read (``answered`` is False).
    invalid: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def refused(self) -> bool:
        """The registry answered and would not let anyone read the pin (401/403). A pin it
        answered 404 for is not refused: the read was let in, the pin is not there; a read
        it rate-limited is not refused either: nothing is known of who may read it."""
        return (
            not self.ok
            and self.answered
            and self.problem not in (ABSENT, NOT_FOUND)
            and not self.limited
        )

    @property
    def missing(self) -> bool:
        """The registry let the anonymous read in and has no such pin (404)."""
        return self.problem in (ABSENT, NOT_FOUND)


@dataclass(frozen=True)
class PublicCheck:
    release: str
    reads: tuple[PinRead, ...]

    @property
    def failures(self) -> tuple[PinRead, ...]:
        return tuple(r for r in self.reads if not r.ok)

    def to_dict(self, config: Config) -> dict[str, object]:
        """``check-public --json``: per registry and repository, whether anyone can pull
        each pin, and what a refused read was answered (``problem``)."""
        registries = []
        for registry in config.registries:
            reads = [r for r in self.reads if r.registry == registry.name]
            refused = any(r.refused for r in reads)
            # every read rate-limited: nothing is known of who may read it; nor when no pin
            # was there to read and the repository was not listed (perhaps never pushed)
            limited = all(r.limited for r in reads) or all(r.problem == NOT_FOUND for r in reads)
            registries.append(
                {
                    "name": registry.name,
                    "repository": registry.repository.name,
                    # null: the registry did not answer, so whether it is public is unknown
                    "public": False
                    if refused
                    else None
                    if self.unanswered(reads) or limited
                    else True,
                    "pins": [
                        {"reference": r.reference, "digest": r.digest, "problem": r.problem}
                        for r in reads
                    ],
                }
            )
        return {"ok": not self.failures, "release": self.release, "registries": registries}

    @staticmethod
    def unanswered(reads: tuple[PinRead, ...] | list[PinRead]) -> list[str]:
        """The registries (in order, once each) of ``reads`` that did not answer."""
        return list(dict.fromkeys(r.registry for r in reads if not r.answered))


def fix_steps(config: Config, registry: Registry, rerun: str) -> str:
    """The one-time steps that make ``registry``'s repository readable by anyone;
    ``rerun``: the command that checks again (``publisher check-public vX.Y.Z``, which
    takes its release, or ``publisher audit``). Steps on lines of their own are numbered,
    not indented (the caller indents them with the text they follow): an indented line of
    a message is a program's output (``errors.QUOTE``), and the step summary shows
    numbered lines as a list."""
    path = registry.repository.path
    owner, _, package = path.partition("/")
    host = registry.host
    if host == "ghcr.io":
        source = config.source_url or f"https://github.com/{owner}/<repository>"
        return (
            f"GHCR creates packages private. Once, as an owner of {owner}:\n"
            f"1. open https://github.com/{owner}?tab=packages, package {package!r}, "
            "'Package settings';\n"
            "2. 'Danger Zone' > 'Change visibility' > Public (an organisation must allow "
            "public packages: Organisation settings > Packages);\n"
            f"3. 'Manage Actions access' > add the repository {source} with the Write role "
            "(or link the package to it: the image's org.opencontainers.image.source label "
            "does this on the next push), so that the workflow's GITHUB_TOKEN can still push;\n"
            f"4. rerun `{rerun}` (or the failed job)."
        )
    if host in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        return (
            f"The Docker Hub repository {path} is private. Once: open "
            f"https://hub.docker.com/repository/docker/{path}/settings, "
            f"'Visibility settings' > Make public; then rerun `{rerun}` (or the failed job)."
        )
    return (
        f"Make the repository {path} on {host} readable without credentials in that "
        f"registry's settings (anonymous pull), then rerun `{rerun}` (or the failed job)."
    )


def check_public(
    config: Config,
    version: Release,
    *,
    anonymous: AnonymousClient,
    output: Output,
    record: ReleaseFacts | None = None,
) -> PublicCheck:
    """Read every pin on every registry anonymously; never raises for a refused read,
    nor for a registry that does not answer or sends an answer that cannot be taken, a tag
    list too large, a HEAD naming other content than it serves (its pins are then not
    read: ``answered``; ``invalid`` for the latter).
    With the release's ``record``, a pin whose HEAD names another index than it is read
    by a GET (``RegistryClient.resolve``).

    The registries are read at the same time, several pins at once on each.
    """
    tags = selected_pins(config, version)
    recorded = {t: e.digest for t, e in recorded_pins([record] if record else []).items()}

    def read_all(registry: Registry) -> list[PinRead]:
        client = anonymous(registry)
        # the first read unanswered, or answered with what cannot be taken: said, tip, which
        down: list[tuple[str, str | None, bool]] = []

        def unread(ref: Reference) -> PinRead:
            said, advice, invalid = down[0]
            return PinRead(
                registry.name, str(ref), None, f"not read: {said}", False, advice, invalid=invalid
            )

        def read(tag: str) -> PinRead:
            ref = registry.ref(tag=tag)
            if down:  # one unanswered read is enough: no more retries against it
                return unread(ref)
            try:
                digest = client.resolve(ref, expected=recorded.get(tag))
            except AuthError as exc:
                return PinRead(registry.name, str(ref), None, f"refused ({exc.message})")
            except NotFoundError as exc:
                if exc.missing == "tag":  # its tags were listed to anyone: it is readable
                    return PinRead(registry.name, str(ref), None, ABSENT)
                # let in (a private repository is refused: 401/403), and no such pin there
                return PinRead(registry.name, str(ref), None, NOT_FOUND)
            except RateLimitedError as exc:
                return PinRead(
                    registry.name, str(ref), None, f"rate limited ({exc.message})", limited=True
                )
            except (UnreachableError, InvalidResponseError) as exc:
                # the message names the registry; one invalid answer is enough to say it
                down.append((exc.message, exc.hint, isinstance(exc, InvalidResponseError)))
                return unread(ref)
            return PinRead(registry.name, str(ref), digest)

        return in_parallel(read, tags, first_alone=True)

    reads = [read for found in in_parallel(read_all, config.registries) for read in found]
    for read in reads:
        if read.ok:
            output.info(f"{read.reference}: readable anonymously ({read.digest})")
    return PublicCheck(version.tag, tuple(reads))


def public_error(
    config: Config,
    version: Release,
    result: PublicCheck,
    *,
    recorded: bool = False,
    locations: Locations = DEFAULT_LOCATIONS,
) -> PublisherError | None:
    """The failure of a check where a read failed: every refused pin, and the one-time
    steps for each registry that refused; None when anyone can pull every pin.
    ``recorded``: the release has a record, so a pin absent was published and is gone.
    ``locations``: the run's, which the commands its tips name carry.

    A registry that sent an answer that cannot be taken makes it an InvalidResponseError
    (exit 8) naming it, with what to check there, beside what the other registries'
    reads call for (listed as they would be without it)."""
    invalid = list(dict.fromkeys(r.registry for r in result.reads if r.invalid))
    if not invalid:
        return _read_error(config, version, result, recorded=recorded, locations=locations)
    others = PublicCheck(result.release, tuple(r for r in result.reads if not r.invalid))
    judged = _read_error(config, version, others, recorded=recorded, locations=locations)
    unread = [[r for r in result.reads if r.registry == name and r.invalid] for name in invalid]
    tips = [f"{reads[0].registry}: {reads[0].advice or 'check the registry'}" for reads in unread]
    if judged is not None:
        tips.append(f"the other registries were read: {judged.hint}")
    elif others.reads:
        tips.append("anyone can pull every pin on the other registries")
    defects = [_unread_line(reads) for reads in unread] + (judged.defects if judged else [])
    listed = VerificationError(defects, hint="; ".join(tips))
    return InvalidResponseError(listed.message, hint=listed.hint)


def _unread_line(reads: list[PinRead]) -> str:
    """The one defect of a registry whose pins were not read (``reads``, each saying so):
    what it answered, or that it did not, and how many pins that left unread."""
    said = (reads[0].problem or "").removeprefix("not read: ")
    return f"{said}; {counted(len(reads), 'pin')} of {reads[0].registry} not read"


def _read_error(
    config: Config, version: Release, result: PublicCheck, *, recorded: bool, locations: Locations
) -> VerificationError | None:
    """``public_error`` of the registries that answered, or did not answer at all."""
    failures = result.failures
    if not failures:
        return None
    down = PublicCheck.unanswered(failures)
    unread = [[f for f in failures if f.registry == name] for name in down]
    rerun = locations.command("check-public", version.tag)
    verify = locations.command("verify", version.tag)
    retry = unanswered_tip({reads[0].registry: reads[0].advice for reads in unread}, rerun)
    failures = tuple(f for f in failures if f.answered)
    # one line for a registry that did not answer (what it said), one per refused pin
    defects = [f"{f.reference}: {f.problem}" for f in failures] + [
        _unread_line(reads) for reads in unread
    ]
    if not failures:  # only registries that did not answer: nothing is known of them
        answered = any(r.answered for r in result.reads)
        return PartialVerificationError(
            defects,
            hint=("anyone can pull every pin on the registries that answered; " if answered else "")
            + retry,
        )
    absent = (
        (
            f"{version.tag} has a record, so a pin missing from a registry that lets anyone "
            "read (it answered 404, not 401/403) was deleted there after it was published (or the registry was "
            f"added to matrix.yaml after the release): `{verify}` names every missing tag, "
            f"and `{locations.command('audit', '--repair')}` copies them back from a "
            "registry that holds them"
        )
        if recorded
        else (
            f"a pin missing from a registry that lets anyone read (it answered 404, not "
            f"401/403) was never pushed there (a release not published yet, or stopped halfway): `{verify}` names every "
            f"missing tag, and `{locations.command('release', version.tag)}` "
            "finishes the release"
        )
    )
    failed = [
        r for r in config.registries if any(f.registry == r.name and f.refused for f in failures)
    ]
    limited = list(dict.fromkeys(f.registry for f in failures if f.limited))
    wait = (
        f"{', '.join(limited)}: the registry rate-limited the anonymous reads, which says "
        "nothing of who may read the repository; wait until its limit resets, then run "
        f"`{rerun}` again"
    )
    if not failed and not any(f.missing for f in failures):
        # only rate-limited reads (and maybe registries that did not answer)
        return RateLimitedVerificationError(
            defects,
            hint=wait + (f"\n  And {retry}." if down else ""),
        )
    if not failed:  # every pin that failed is missing from a registry anyone may read
        hint = absent
    else:
        steps = "\n".join(
            f"  {r.name}: " + fix_steps(config, r, rerun).replace("\n", "\n  ") for r in failed
        )
        hint = (
            "consumers pull without credentials, so they cannot use this release until "
            f"it is readable anonymously. One-time steps:\n{steps}"
        )
        if any(f.missing for f in failures):
            hint += f"\n  And {absent}."
    if limited:
        hint += f"\n  And {wait}."
    if down:
        hint += f"\n  And {retry}."
    return VerificationError(defects, hint=hint)


__all__ = [
    "ABSENT",
    "NOT_FOUND",
    "PinRead",
    "PublicCheck",
    "check_public",
    "fix_steps",
    "public_error",
]
