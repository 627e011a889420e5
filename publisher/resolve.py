"""Which PHP-FPM image a stack should run: the pre-built one, or a local build.

Launchers call :func:`resolve` (or ``publisher resolve`` / ``python -m
publisher.resolve``) on every start, so this module imports only the standard
library and publisher's pure core; the registry check is :mod:`publisher.probe`
(``http.client``, one short deadline).

The steps, each separate so tests can drive them with plain data:

1. :func:`parse_inputs` reads the settings from a mapping (the environment) plus
   explicit overrides (command-line flags) and rejects invalid values, saying
   what is accepted;
2. :func:`choose` (pure) picks the deterministic reference: the release pin
   ``vX.Y.Z-php-X.Y`` on the canonical registry (or the mirror), pinned by
   ``@digest`` when the release notes JSON is at hand. Same inputs, same bytes;
3. the probe checks that the registry serves it for the host platform;
4. :func:`decide` (pure) applies the rules: use the pre-built image, build
   locally from ``dockerfiles/<X.Y>/Dockerfile``, or stop with what went wrong
   and how to enable the fallback.

Exit codes (``publisher.errors``): 0 use pre-built, 16 build locally, 17 cannot
proceed; 2 invalid input, 3 unreadable release notes.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import probe as probing
from .errors import (
    EXIT_BUILD_LOCALLY,
    EXIT_CANNOT_PROCEED,
    EXIT_USE_PREBUILT,
    ConfigError,
    PublisherError,
    UsageError,
)
from .platforms import Platform
from .reference import Reference, is_digest, parse_repository
from .version import Release, parse_release

# --------------------------------------------------------------------------- inputs

ENV_PHP = "PHP_VERSION"
ENV_RELEASE = "STACK_RELEASE"
ENV_USE_PREBUILT = "USE_PREBUILT"
ENV_FALLBACK = "ALLOW_LOCAL_BUILD_FALLBACK"
ENV_REGISTRY = "PREBUILT_REGISTRY"
ENV_PMA = "PMA_IMAGE"
ENV_PLATFORM = "PHP_IMAGE_PLATFORM"
ENV_REPOSITORY = "PHP_IMAGE_REPOSITORY"
ENV_MIRROR = "PHP_IMAGE_MIRROR"
ENV_NOTES = "PHP_RELEASE_NOTES"
ENV_DOCKERFILES = "PHP_DOCKERFILES"
ENV_TIMEOUT = "RESOLVE_TIMEOUT"
ENV_CACHE = "PHP_IMAGE_CACHE_CHECK"

#: Where the images live when no release notes say otherwise.
DEFAULT_CANONICAL = "docker.io/twentyi/php-fpm"
DEFAULT_MIRROR = "ghcr.io/twentyi/php-fpm"
DEFAULT_NOTES_DIR = "release-notes"
DEFAULT_DOCKERFILES = "dockerfiles"
DEFAULT_TIMEOUT = probing.DEFAULT_TIMEOUT
MAX_TIMEOUT = 60.0
#: Local builds are tagged under this registry name, which never resolves to a
#: remote registry, so a missing local image is never pulled from somewhere else.
LOCAL_DOMAIN = "localhost"

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_PHP_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_BASE_ARG_RE = re.compile(r"^ARG\s+PHP_BASE_IMAGE=(\S+)\s*$", re.MULTILINE)


class RegistryChoice(enum.Enum):
    CANONICAL = "canonical"
    MIRROR = "mirror"


@dataclass(frozen=True)
class Option:
    """One input: its environment variable, its flag, and what it accepts."""

    env: str
    flag: str
    metavar: str
    help: str


#: Every input, in the order ``--help`` lists them. Flags override the environment.
OPTIONS: tuple[Option, ...] = (
    Option(ENV_PHP, "--php", "X.Y", "PHP line, e.g. 8.4 (required)."),
    Option(ENV_RELEASE, "--release", "vX.Y.Z", "The stack release, e.g. v2.0.0 (required)."),
    Option(
        ENV_USE_PREBUILT,
        "--use-prebuilt",
        "true|false",
        "Use the pre-built image (default true); false always builds locally.",
    ),
    Option(
        ENV_FALLBACK,
        "--allow-fallback",
        "true|false",
        "Build locally when the pre-built image is unusable (default true).",
    ),
    Option(
        ENV_REGISTRY,
        "--registry",
        "canonical|mirror",
        f"Pull from the canonical registry or the mirror (default canonical: {DEFAULT_CANONICAL}).",
    ),
    Option(ENV_PMA, "--pma-image", "REF", "phpMyAdmin image, passed through unchanged."),
    Option(
        ENV_PLATFORM,
        "--platform",
        "linux/amd64|linux/arm64",
        "Platform to run (default: the host's, linux/arm64 on Apple Silicon).",
    ),
    Option(
        ENV_REPOSITORY,
        "--repository",
        "REPO",
        "Canonical repository override, e.g. a private registry holding the same digests.",
    ),
    Option(ENV_MIRROR, "--mirror-repository", "REPO", "Mirror repository override."),
    Option(
        ENV_NOTES,
        "--notes",
        "PATH",
        f"Release notes JSON, or a directory of vX.Y.Z.json (default ./{DEFAULT_NOTES_DIR} if present).",
    ),
    Option(
        ENV_DOCKERFILES,
        "--dockerfiles",
        "DIR",
        f"Directory holding <X.Y>/Dockerfile (default ./{DEFAULT_DOCKERFILES}).",
    ),
    Option(
        ENV_TIMEOUT,
        "--timeout",
        "SECONDS",
        f"Registry check timeout (default {DEFAULT_TIMEOUT:g}).",
    ),
    Option(
        ENV_CACHE,
        "--cache-check",
        "true|false",
        "Use the pre-built image from the local docker image store when it is there, "
        "without asking the registry (default true).",
    ),
)


@dataclass(frozen=True)
class Inputs:
    php: str
    release: Release
    use_prebuilt: bool = True
    allow_fallback: bool = True
    registry: RegistryChoice = RegistryChoice.CANONICAL
    pma_image: str | None = None
    platform: str | None = None  # None: the host's
    repository: Reference | None = None
    mirror_repository: Reference | None = None
    notes: str | None = None  # None: ./release-notes if present
    dockerfiles: str = DEFAULT_DOCKERFILES
    timeout: float = DEFAULT_TIMEOUT
    cache_check: bool = True


def _bad(name: str, value: str, accepted: str) -> UsageError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    flag = next((o.flag for o in OPTIONS if o.env == name), None)
    where = f"the environment variable {name}" + (f" or the flag {flag}" if flag else "")
    return UsageError(f"{name}={shown!r} is not valid: {accepted}", hint=f"correct {where}")


def parse_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(name, value, "use true or false (1/0, yes/no, on/off are accepted too)")


def parse_php(value: str) -> str:
    text = value.strip()
    if _PHP_RE.fullmatch(text):
        return text
    full = re.fullmatch(r"([0-9]+\.[0-9]+)\.[0-9]+\S*", text)
    if full:
        raise _bad(ENV_PHP, value, f"give the PHP line MAJOR.MINOR ({full[1]}), not a full version")
    raise _bad(ENV_PHP, value, "use a PHP line MAJOR.MINOR, e.g. 8.4")


def parse_platform(value: str) -> str:
    try:
        return Platform.parse(value.strip()).value
    except ValueError:
        accepted = " or ".join(p.value for p in Platform)
        raise _bad(ENV_PLATFORM, value, f"use {accepted}") from None


def parse_timeout(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= MAX_TIMEOUT:
        raise _bad(
            ENV_TIMEOUT, value, f"use a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
        )
    return number


def parse_inputs(
    env: Mapping[str, str], overrides: Mapping[str, str | None] | None = None
) -> Inputs:
    """Read the inputs from ``env``; ``overrides`` (same keys, e.g. from flags) win.

    Empty values count as unset. Raises UsageError naming the variable and what
    it accepts.
    """
    merged: dict[str, str] = {}
    for option in OPTIONS:
        value = (overrides or {}).get(option.env)
        if value is None:
            value = env.get(option.env)
        if value is not None and value.strip() != "":
            merged[option.env] = value
    flags = {o.env: o.flag for o in OPTIONS}

    def required(name: str, example: str) -> str:
        if name not in merged:
            raise UsageError(
                f"{name} is not set",
                hint=f"set {name} (e.g. {name}={example}) or pass {flags[name]} {example}",
            )
        return merged[name]

    php = parse_php(required(ENV_PHP, "8.4"))
    release_text = required(ENV_RELEASE, "v2.0.0").strip()
    try:
        release = parse_release(release_text)
    except PublisherError as exc:
        raise UsageError(f"{ENV_RELEASE}: {exc.message}", hint=exc.hint) from None

    registry = RegistryChoice.CANONICAL
    if ENV_REGISTRY in merged:
        text = merged[ENV_REGISTRY].strip().lower()
        try:
            registry = RegistryChoice(text)
        except ValueError:
            raise _bad(ENV_REGISTRY, merged[ENV_REGISTRY], "use canonical or mirror") from None

    pma = merged.get(ENV_PMA)
    if pma is not None and any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in pma):
        raise _bad(
            ENV_PMA, pma, "an image reference may not contain whitespace or control characters"
        )

    def repository(name: str) -> Reference | None:
        if name not in merged:
            return None
        try:
            return parse_repository(merged[name].strip())
        except PublisherError as exc:
            raise UsageError(
                f"{name}: {exc.message}", hint="e.g. registry.example.com/team/php-fpm"
            ) from None

    return Inputs(
        php=php,
        release=release,
        use_prebuilt=parse_bool(ENV_USE_PREBUILT, merged.get(ENV_USE_PREBUILT, "true")),
        allow_fallback=parse_bool(ENV_FALLBACK, merged.get(ENV_FALLBACK, "true")),
        registry=registry,
        pma_image=pma,
        platform=parse_platform(merged[ENV_PLATFORM]) if ENV_PLATFORM in merged else None,
        repository=repository(ENV_REPOSITORY),
        mirror_repository=repository(ENV_MIRROR),
        notes=merged.get(ENV_NOTES),
        dockerfiles=merged.get(ENV_DOCKERFILES, DEFAULT_DOCKERFILES),
        timeout=parse_timeout(merged[ENV_TIMEOUT]) if ENV_TIMEOUT in merged else DEFAULT_TIMEOUT,
        cache_check=parse_bool(ENV_CACHE, merged.get(ENV_CACHE, "true")),
    )


# --------------------------------------------------------------------------- host platform


def host_platform(system: str, machine: str, *, arm64_hardware: bool = False) -> str:
    """The platform to run natively (pure).

    ``arm64_hardware`` says an x86_64 process runs translated on Apple Silicon
    (Rosetta), where docker runs arm64 containers natively.
    """
    if system == "Darwin" and arm64_hardware:
        return Platform.ARM64.value
    found = Platform.from_machine(machine)
    if found is not None:
        return found.value
    return f"linux/{machine.lower() or 'unknown'}"


def detect_host_platform() -> str:
    """The host's platform: linux/arm64 on Apple Silicon and ARM Linux, linux/amd64 on x86."""
    uname = os.uname() if hasattr(os, "uname") else None
    if uname is None:  # Windows
        import platform

        return host_platform(platform.system(), platform.machine())
    arm64_hardware = False
    if uname.sysname == "Darwin" and uname.machine == "x86_64":
        arm64_hardware = _darwin_arm64_hardware()
    return host_platform(uname.sysname, uname.machine, arm64_hardware=arm64_hardware)


def _darwin_arm64_hardware() -> bool:  # pragma: no cover - macOS only
    import subprocess

    try:
        out = subprocess.run(
            ["sysctl", "-n", "hw.optional.arm64"], capture_output=True, timeout=1, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.strip() == b"1"


# --------------------------------------------------------------------------- release notes


@dataclass(frozen=True)
class NotesRegistry:
    name: str
    repository: Reference
    primary: bool


@dataclass(frozen=True)
class NotesLine:
    php: str
    index_digest: str
    tags: tuple[str, ...]
    platforms: tuple[str, ...]
    base_image: str | None
    base_digest: str | None


@dataclass(frozen=True)
class ReleaseNotes:
    """The parts of ``release-notes/vX.Y.Z.json`` (schema 1) that resolve needs."""

    source: str
    release: str
    stand_in: bool
    default_line: str | None
    registries: tuple[NotesRegistry, ...]
    lines: tuple[NotesLine, ...]

    def line(self, php: str) -> NotesLine | None:
        return next((line for line in self.lines if line.php == php), None)

    @property
    def line_names(self) -> tuple[str, ...]:
        return sort_lines(line.php for line in self.lines)


def sort_lines(lines: Any) -> tuple[str, ...]:
    def key(php: str) -> tuple[int, ...]:
        try:
            return tuple(int(p) for p in php.split("."))
        except ValueError:
            return (1 << 30,)

    return tuple(sorted(set(lines), key=key))


def parse_notes(text: str, *, source: str) -> ReleaseNotes:
    """Parse release notes JSON (schema 1); raise ConfigError naming the field."""

    def fail(message: str, field: str | None = None) -> ConfigError:
        return ConfigError(
            message,
            source=source,
            field=field,
            hint="use the release notes JSON the publish stage wrote, unmodified",
        )

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise fail(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail("the top level is not an object")
    if data.get("schema") != 1:
        raise fail(
            f"unsupported schema {data.get('schema')!r}; this resolve reads schema 1", "schema"
        )
    release = data.get("release")
    if not isinstance(release, str):
        raise fail("missing or not a string", "release")
    try:
        parse_release(release)
    except PublisherError as exc:
        raise fail(exc.message, "release") from None

    registries = []
    raw_registries = data.get("registries")
    if not isinstance(raw_registries, list):
        raise fail("missing or not a list", "registries")
    for i, reg in enumerate(raw_registries):
        where = f"registries[{i}]"
        if not isinstance(reg, dict):
            raise fail("not an object", where)
        name, repo = reg.get("name"), reg.get("repository")
        if not isinstance(name, str) or not isinstance(repo, str):
            raise fail("needs string fields name and repository", where)
        try:
            ref = parse_repository(repo)
        except PublisherError as exc:
            raise fail(exc.message, f"{where}.repository") from None
        registries.append(NotesRegistry(name, ref, reg.get("primary") is True))

    lines = []
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list):
        raise fail("missing or not a list", "lines")
    for i, item in enumerate(raw_lines):
        where = f"lines[{i}]"
        if not isinstance(item, dict):
            raise fail("not an object", where)
        php, digest = item.get("php"), item.get("index_digest")
        if not isinstance(php, str) or not _PHP_RE.fullmatch(php):
            raise fail("must be a PHP line such as 8.4", f"{where}.php")
        if not isinstance(digest, str) or not is_digest(digest):
            raise fail("must be a sha256 digest", f"{where}.index_digest")
        platforms = []
        for j, plat in enumerate(item.get("platforms") or []):
            name = plat.get("platform") if isinstance(plat, dict) else None
            if not isinstance(name, str):
                raise fail("needs a platform string", f"{where}.platforms[{j}]")
            platforms.append(name)
        raw_base = item.get("base")
        base: dict[str, Any] = raw_base if isinstance(raw_base, dict) else {}
        base_image = base.get("image") if isinstance(base.get("image"), str) else None
        base_digest = base.get("digest") if isinstance(base.get("digest"), str) else None
        if base_digest is not None and not is_digest(base_digest):
            raise fail("must be a sha256 digest", f"{where}.base.digest")
        tags = tuple(t for t in item.get("tags") or [] if isinstance(t, str))
        lines.append(
            NotesLine(php, digest, tags, tuple(sorted(platforms)), base_image, base_digest)
        )

    default_line = data.get("default_line")
    return ReleaseNotes(
        source=source,
        release=release,
        stand_in=data.get("stand_in") is True,
        default_line=default_line if isinstance(default_line, str) else None,
        registries=tuple(registries),
        lines=tuple(lines),
    )


def find_notes(notes: str | None, release: Release, *, cwd: Path) -> tuple[Path | None, bool]:
    """Where the notes for ``release`` should be, and whether the user named them."""
    if notes is None:
        candidate = cwd / DEFAULT_NOTES_DIR / f"{release.tag}.json"
        return (candidate if candidate.is_file() else None), False
    path = Path(notes)
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        path = path / f"{release.tag}.json"
    return path, True


def load_notes(notes: str | None, release: Release, *, cwd: Path) -> ReleaseNotes | None:
    """The release notes at hand for ``release``, or None.

    A path the user named must exist and be for ``release``; the default
    directory is optional.
    """
    path, explicit = find_notes(notes, release, cwd=cwd)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not explicit:
            return None
        raise ConfigError(
            "release notes not found",
            source=str(path),
            hint=f"pass the {release.tag}.json the stack ships, or unset {ENV_NOTES}",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the release notes: {exc}", source=str(path)) from None
    parsed = parse_notes(text, source=str(path))
    if parsed.release != release.tag:
        raise ConfigError(
            f"these notes are for {parsed.release}, not {release.tag}",
            source=str(path),
            field="release",
            hint=f"pass the notes of {release.tag}, or set {ENV_RELEASE}={parsed.release}",
        )
    return parsed


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Choice:
    """The deterministic pre-built reference, and what the notes already tell."""

    registry: RegistryChoice
    repository: Reference
    pin: str
    digest: str | None
    platform: str
    #: Lines published in this release, when known without asking the registry.
    published_lines: tuple[str, ...] | None
    #: Platforms of this line, from the notes.
    known_platforms: tuple[str, ...] | None
    #: A verdict the notes give without any network request (line or platform missing).
    precheck: probing.Result | None
    base_image: str | None
    notes: str | None
    stand_in: bool = False

    @property
    def reference(self) -> str:
        return str(Reference(self.repository.domain, self.repository.path, self.pin, self.digest))

    @property
    def local_image(self) -> str:
        return f"{LOCAL_DOMAIN}/{self.repository.path}:{self.pin}"

    def target(self) -> probing.Target:
        return probing.Target(
            host=self.repository.domain,
            repository=self.repository.path,
            reference=self.digest or self.pin,
            platform=self.platform,
            plain_http=probing.is_loopback(self.repository.domain),
            known_platforms=self.known_platforms if self.digest else None,
        )


def pin_tag(release: Release, php: str) -> str:
    return f"{release.tag}-php-{php}"


def _with_matrix_repositories(inputs: Inputs, env: Mapping[str, str], base: Path) -> Inputs:
    """Without release notes, take the repositories from matrix.yaml when it is at hand.

    matrix.yaml is where maintainers set the namespace; the built-in defaults only
    serve a launcher that ships neither notes nor the matrix.
    """
    if inputs.repository is not None and inputs.mirror_repository is not None:
        return inputs
    path = Path(env.get("PUBLISHER_CONFIG") or "matrix.yaml")
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        return inputs
    from . import config  # yaml: only on this path, never on the notes path

    cfg = config.load(path, {})
    secondaries = cfg.secondaries
    return dataclasses.replace(
        inputs,
        repository=inputs.repository or cfg.primary.repository.repository(),
        mirror_repository=inputs.mirror_repository
        or (secondaries[0] if secondaries else cfg.primary).repository.repository(),
    )


def _repositories(notes: ReleaseNotes | None) -> tuple[Reference, Reference]:
    canonical = parse_repository(DEFAULT_CANONICAL)
    mirror = parse_repository(DEFAULT_MIRROR)
    if notes is not None and notes.registries:
        primary = next((r for r in notes.registries if r.primary), notes.registries[0])
        canonical = primary.repository
        others = [r for r in notes.registries if r is not primary]
        mirror = others[0].repository if others else canonical
    return canonical, mirror


def choose(inputs: Inputs, notes: ReleaseNotes | None, platform: str) -> Choice:
    """The reference to use, deterministically, and what the notes say about it (pure)."""
    canonical, mirror = _repositories(notes)
    if inputs.registry is RegistryChoice.CANONICAL:
        repository = inputs.repository or canonical
    else:
        repository = inputs.mirror_repository or mirror
    pin = pin_tag(inputs.release, inputs.php)
    digest = published = known = precheck = base_image = None
    image = f"{repository.name}:{pin}"
    if notes is not None:
        published = notes.line_names
        line = notes.line(inputs.php)
        if line is None:
            precheck = probing.Result(
                probing.Status.NOT_PUBLISHED,
                f"the release notes {notes.source} list no PHP {inputs.php} image",
            )
        else:
            digest = line.index_digest
            image = f"{image}@{digest}"
            known = line.platforms
            if line.base_image:
                base_image = line.base_image
                if line.base_digest:
                    base_image = f"{line.base_image.split('@')[0]}@{line.base_digest}"
            if platform not in line.platforms:
                shown = ", ".join(line.platforms) or "none"
                precheck = probing.Result(
                    probing.Status.PLATFORM_MISSING,
                    f"{image} has no {platform} image (it has: {shown}; release notes)",
                    digest=digest,
                    platforms=line.platforms,
                )
    return Choice(
        registry=inputs.registry,
        repository=repository,
        pin=pin,
        digest=digest,
        platform=platform,
        published_lines=published,
        known_platforms=known,
        precheck=precheck,
        base_image=base_image,
        notes=notes.source if notes else None,
        stand_in=notes.stand_in if notes else False,
    )


# --------------------------------------------------------------------------- the decision


class Action(enum.Enum):
    USE_PREBUILT = "use-prebuilt"
    BUILD_LOCALLY = "build-locally"
    CANNOT_PROCEED = "cannot-proceed"

    @property
    def exit_code(self) -> int:
        return {
            Action.USE_PREBUILT: EXIT_USE_PREBUILT,
            Action.BUILD_LOCALLY: EXIT_BUILD_LOCALLY,
            Action.CANNOT_PROCEED: EXIT_CANNOT_PROCEED,
        }[self]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class DockerfileFacts:
    path: str
    exists: bool
    #: The default of ``ARG PHP_BASE_IMAGE=`` in the Dockerfile.
    base_default: str | None = None

    @property
    def context(self) -> str:
        return str(Path(self.path).parent)


@dataclass(frozen=True)
class Decision:
    action: Action
    php: str
    release: str
    platform: str
    #: What to run: the pre-built reference, the local tag to build, or "" (cannot proceed).
    image: str
    #: The deterministic pre-built reference (also when it is not used).
    prebuilt: str
    dockerfile: str
    build_context: str
    #: PHP_BASE_IMAGE build argument for a local build (pinned by digest with notes).
    base_image: str | None
    reason: str
    #: What to do: how to enable the fallback, which line to pick, how to log in.
    fix: str | None
    #: The availability verdict (a probe Status value), or None when not checked.
    availability: str | None
    published_lines: tuple[str, ...] | None
    pma_image: str | None
    notes: str | None
    stand_in: bool = False
    elapsed_ms: float | None = None

    @property
    def exit_code(self) -> int:
        return self.action.exit_code

    @property
    def build(self) -> bool:
        return self.action is Action.BUILD_LOCALLY

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.action.value,
            "exit_code": self.exit_code,
            "php": self.php,
            "release": self.release,
            "platform": self.platform,
            "image": self.image,
            "prebuilt": self.prebuilt,
            "build": self.build,
            "dockerfile": self.dockerfile,
            "build_context": self.build_context,
            "base_image": self.base_image,
            "reason": self.reason,
            "fix": self.fix,
            "availability": self.availability,
            "published_lines": list(self.published_lines)
            if self.published_lines is not None
            else None,
            "pma_image": self.pma_image,
            "notes": self.notes,
            "stand_in": self.stand_in,
        }

    def env(self) -> list[tuple[str, str]]:
        """``KEY=value`` pairs for ``docker compose --env-file`` (fixed order)."""
        if self.action is Action.CANNOT_PROCEED:
            return [("PHP_DECISION", self.action.value)]
        pairs = [
            ("PHP_DECISION", self.action.value),
            ("PHP_IMAGE", self.image),
            ("PHP_BUILD", "1" if self.build else "0"),
            ("PHP_VERSION", self.php),
            ("PHP_PLATFORM", self.platform),
            ("PHP_DOCKERFILE", self.dockerfile),
            ("PHP_BUILD_CONTEXT", self.build_context),
        ]
        if self.base_image:
            pairs.append(("PHP_BASE_IMAGE", self.base_image))
        pairs.append(("STACK_RELEASE", self.release))
        if self.pma_image is not None:
            pairs.append(("PMA_IMAGE", self.pma_image))
        return pairs


def _lines_text(lines: tuple[str, ...] | None) -> str:
    if lines is None:
        return "unknown (no release notes, and the registry did not list them)"
    return ", ".join(lines) if lines else "none"


def _problem(inputs: Inputs, choice: Choice, result: probing.Result) -> tuple[str, str]:
    """(what went wrong, what to do about it) for an unusable pre-built image."""
    host = choice.repository.domain
    status = result.status
    if status is probing.Status.UNREACHABLE:
        other = "mirror" if inputs.registry is RegistryChoice.CANONICAL else "canonical"
        return (
            f"registry {host} is offline or unreachable: {result.detail}",
            f"check the network or proxy, try {ENV_REGISTRY}={other}, or point "
            f"{ENV_REPOSITORY} at a registry you can reach",
        )
    if status is probing.Status.NOT_PUBLISHED:
        lines = _published(choice, result, inputs.release)
        return (
            f"PHP {inputs.php} is not published for release {inputs.release.tag} yet "
            f"({result.detail}); published lines: {_lines_text(lines)}",
            f"set {ENV_PHP} to a published line" + (f" ({', '.join(lines)})" if lines else ""),
        )
    if status is probing.Status.AUTH_REQUIRED:
        return (
            f"authentication required: {result.detail}",
            f"run `docker login {host}` or set {probing.ENV_USERNAME} and {probing.ENV_PASSWORD}",
        )
    if status is probing.Status.PLATFORM_MISSING:
        others = [p for p in result.platforms if p != choice.platform]
        return (
            f"platform {choice.platform} missing: {result.detail}",
            f"set {ENV_PLATFORM}={others[0]} to run it under emulation"
            if others
            else "ask the maintainers to publish this platform",
        )
    return (
        f"registry {host} failed: {result.detail}",
        f"try again later, or set {ENV_REGISTRY}="
        + ("mirror" if inputs.registry is RegistryChoice.CANONICAL else "canonical"),
    )


def _published(choice: Choice, result: probing.Result, release: Release) -> tuple[str, ...] | None:
    if choice.published_lines is not None:
        return choice.published_lines
    if result.tags is not None:
        return probing.release_lines(result.tags, release.tag)
    return None


def decide(
    inputs: Inputs,
    choice: Choice,
    availability: probing.Result | None,
    dockerfile: DockerfileFacts,
) -> Decision:
    """The rules (pure). ``availability`` is None when nothing was checked."""
    base_image = choice.base_image or dockerfile.base_default
    verdict = choice.precheck or availability

    def make(action: Action, reason: str, fix: str | None, image: str) -> Decision:
        return Decision(
            action=action,
            php=inputs.php,
            release=inputs.release.tag,
            platform=choice.platform,
            image=image,
            prebuilt=choice.reference,
            dockerfile=dockerfile.path,
            build_context=dockerfile.context,
            base_image=base_image,
            reason=reason,
            fix=fix,
            availability=verdict.status.value if verdict else None,
            published_lines=(
                _published(choice, verdict, inputs.release) if verdict else choice.published_lines
            ),
            pma_image=inputs.pma_image,
            notes=choice.notes,
            stand_in=choice.stand_in,
            elapsed_ms=round(verdict.elapsed * 1000, 1)
            if verdict and not choice.precheck
            else None,
        )

    no_dockerfile = f"there is no Dockerfile for PHP {inputs.php} at {dockerfile.path}"
    dockerfile_fix = (
        f"set {ENV_DOCKERFILES} to the directory holding <X.Y>/Dockerfile, or {ENV_PHP} to a line "
        "that has one"
    )

    if not inputs.use_prebuilt:
        if dockerfile.exists:
            return make(
                Action.BUILD_LOCALLY,
                f"{ENV_USE_PREBUILT}=false: building {choice.local_image} locally from "
                f"{dockerfile.path}",
                None,
                choice.local_image,
            )
        return make(
            Action.CANNOT_PROCEED,
            f"{ENV_USE_PREBUILT}=false, but {no_dockerfile}",
            dockerfile_fix,
            "",
        )

    if verdict is None:  # pragma: no cover - resolve() always probes when needed
        raise ValueError("decide() needs the availability of the pre-built image")
    if verdict.available:
        stand_in = " (STAND-IN images, not PHP)" if choice.stand_in else ""
        where = (
            "is in the local image store (no registry request)"
            if verdict.status is probing.Status.CACHED
            else "is available"
        )
        return make(
            Action.USE_PREBUILT,
            f"pre-built image {choice.reference} {where} for {choice.platform}{stand_in}",
            None,
            choice.reference,
        )

    problem, advice = _problem(inputs, choice, verdict)
    if inputs.allow_fallback:
        if dockerfile.exists:
            return make(
                Action.BUILD_LOCALLY,
                f"{problem}; falling back to a local build of {choice.local_image} from "
                f"{dockerfile.path} ({ENV_FALLBACK}=true)",
                None,
                choice.local_image,
            )
        return make(
            Action.CANNOT_PROCEED,
            f"{problem}; the local build fallback is allowed, but {no_dockerfile}",
            f"{advice}; or {dockerfile_fix}",
            "",
        )
    fallback = (
        f"set {ENV_FALLBACK}=true (or --allow-fallback true) to build locally from {dockerfile.path}"
        if dockerfile.exists
        else f"the local build fallback is disabled ({ENV_FALLBACK}=false), and {no_dockerfile}"
    )
    return make(
        Action.CANNOT_PROCEED,
        f"{problem}; the local build fallback is disabled ({ENV_FALLBACK}=false)",
        f"{advice}; or {fallback}",
        "",
    )


# --------------------------------------------------------------------------- wiring (I/O)


def dockerfile_facts(dockerfiles: str, php: str, *, cwd: Path) -> DockerfileFacts:
    shown = str(Path(dockerfiles) / php / "Dockerfile")
    path = Path(shown) if Path(shown).is_absolute() else cwd / shown
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return DockerfileFacts(shown, path.is_file())
    match = _BASE_ARG_RE.search(text)
    return DockerfileFacts(shown, True, match.group(1) if match else None)


ProbeFn = Callable[..., probing.Result]
CacheFn = Callable[..., "probing.Result | None"]


def resolve(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    probe: ProbeFn = probing.probe,
    cache: CacheFn | None = probing.cached_image,
    host: str | None = None,
) -> Decision:
    """Decide which image to run. The function launchers call.

    ``env`` defaults to ``os.environ`` (also used for registry credentials);
    ``overrides`` are flag values keyed by the variable names (see OPTIONS);
    ``cwd`` anchors relative paths; ``host`` overrides host platform detection;
    ``cache`` looks the reference up in the local image store first (None: never).
    Raises UsageError (invalid input) or ConfigError (unreadable notes); an
    unusable image is a Decision, not an exception.
    """
    env = os.environ if env is None else env
    inputs = parse_inputs(env, overrides)
    base = Path(cwd) if cwd is not None else Path.cwd()
    platform = inputs.platform or host or detect_host_platform()
    notes = load_notes(inputs.notes, inputs.release, cwd=base)
    if notes is None:
        inputs = _with_matrix_repositories(inputs, env, base)
    choice = choose(inputs, notes, platform)
    availability = None
    if inputs.use_prebuilt and choice.precheck is None:
        budget = inputs.timeout
        if inputs.cache_check and cache is not None:
            began = time.monotonic()
            limit = min(probing.CACHE_TIMEOUT, budget / 4)
            availability = cache(choice.reference, platform, env=env, timeout=limit)
            budget -= min(time.monotonic() - began, limit)
        if availability is None:
            availability = probe(choice.target(), timeout=budget, env=env)
    facts = dockerfile_facts(inputs.dockerfiles, inputs.php, cwd=base)
    return decide(inputs, choice, availability, facts)


# --------------------------------------------------------------------------- rendering


FORMATS = ("text", "env", "json")


def render(decision: Decision, fmt: str) -> str:
    """The decision as ``env`` lines, ``json`` (sorted keys) or readable ``text``."""
    if fmt == "env":
        return "".join(f"{key}={value}\n" for key, value in decision.env())
    if fmt == "json":
        return json.dumps(decision.to_dict(), indent=2, sort_keys=True) + "\n"
    if fmt != "text":
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    headline = {
        Action.USE_PREBUILT: f"use pre-built image {decision.image}",
        Action.BUILD_LOCALLY: f"build locally: {decision.image} from {decision.dockerfile}",
        Action.CANNOT_PROCEED: f"cannot proceed with PHP {decision.php}",
    }[decision.action]
    out = [f"{headline}\n", f"  why: {decision.reason}\n"]
    if decision.fix:
        out.append(f"  fix: {decision.fix}\n")
    if decision.action is not Action.CANNOT_PROCEED:
        out.append(f"  platform: {decision.platform}\n")
    if decision.build and decision.base_image:
        out.append(f"  base: {decision.base_image}\n")
    return "".join(out)


def summary(decision: Decision) -> str:
    """One stderr line for the env and json formats, whose stdout is for machines."""
    line = f"resolve: {decision.action.value}: {decision.reason}"
    if decision.fix:
        line += f"\nresolve: fix: {decision.fix}"
    return line + "\n"


# --------------------------------------------------------------------------- light entry point


HELP_EPILOG = f"""\
exit codes: {EXIT_USE_PREBUILT} use the pre-built image, {EXIT_BUILD_LOCALLY} build locally, \
{EXIT_CANNOT_PROCEED} cannot proceed, 2 invalid input, 3 unreadable release notes.

examples:
  PHP_VERSION=8.4 STACK_RELEASE=v2.0.0 python -m publisher.resolve --format env > php.env
  python -m publisher.resolve --php 8.4 --release v2.0.0 --use-prebuilt false
  python -m publisher.resolve --php 8.6 --release v2.0.0 --allow-fallback false --format json
"""


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """``python -m publisher.resolve``: the same as ``publisher resolve`` without click."""
    import argparse

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m publisher.resolve",
        description="Choose the PHP-FPM image to run: pre-built, or a local build. "
        "Each flag overrides the environment variable named in brackets.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option in OPTIONS:
        parser.add_argument(
            option.flag,
            dest=option.env,
            metavar=option.metavar,
            help=f"{option.help} [{option.env}]",
        )
    parser.add_argument("--format", choices=FORMATS, default="text", help="Output format.")
    args = vars(parser.parse_args(argv))
    fmt = args.pop("format")
    try:
        decision = resolve(env, args)
    except PublisherError as exc:
        stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            stderr.write(f"  hint: {exc.hint}\n")
        return exc.exit_code
    stdout.write(render(decision, fmt))
    if fmt != "text":
        stderr.write(summary(decision))
    return decision.exit_code


if __name__ == "__main__":
    sys.exit(main())
