"""The buildx builder (GitHub Actions, Docker Desktop).

``docker buildx build --platform P --output type=image,name=REPO,push-by-digest=true,
name-canonical=true,push=true --metadata-file F ...`` pushes the image to the
primary repository BY DIGEST (no tag at all); the digest is read from the
metadata file (``containerimage.digest``). The build cache (``mode=max``, export
errors ignored) lives at ``REPO:buildcache-php-X.Y-ARCH``, or in the GitHub Actions
cache with ``PUBLISHER_BUILD_CACHE=gha``. Provenance and SBOM attestations
are off unless asked for; with them on, the pushed digest is a small index
holding the image and its attestation manifests.

Push-by-digest needs a BuildKit container builder (the ``docker-container``,
``kubernetes`` or ``remote`` drivers, as GitHub's runners set up). The engine's
own ``docker`` driver refuses it, so with that driver (asked once, with ``docker
buildx inspect``) the same build exports an OCI image layout instead
(``--output type=oci,dest=DIR,tar=false``) and the build stage pushes that layout
by digest, like the buildah and docker builders' layouts. Platforms, build
arguments, ``SOURCE_DATE_EPOCH`` (with ``rewrite-timestamp=true``, so one commit
builds to one digest), attestations and the metadata file stay as in production;
the registry cache flags are left out, since the ``docker`` driver cannot export a
cache.

Credentials, when given, are used through a temporary ``DOCKER_CONFIG`` (password
on stdin to ``docker login --password-stdin``) that is removed afterwards; its
plugins and builder instances are linked from the user's docker config, and the rest of
the user's config.json (credential helpers and stores, other registries' logins) comes
along, so a private base image is pulled as the user's docker pulls it.
Without credentials the user's own docker login is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ...core.errors import BrokenToolError, CommandError, ToolMissingError, UsageError, clip
from ...core.platforms import BuilderName
from ...core.settings import setting
from ...resolve import IMAGE_TYPES, is_digest, platform_of
from ..emulation import emulation_advice, require_emulation
from ..runner import INSTALL_HINTS, Runner
from . import dockercli
from .base import (
    NOTHING_BUILT,
    BuildOutput,
    BuildRequest,
    build_arg_flags,
    check_built_platform,
    failed_build_hint,
    label_flags,
    plain_rebuild_args,
    require_version,
)
from .layout import blob_path, read_layout

MIN_VERSION = (0, 10, 0)
METADATA_DIGEST_KEY = "containerimage.digest"

#: buildx drivers whose BuildKit runs on another machine (with its own emulation).
REMOTE_DRIVERS = frozenset({"remote", "kubernetes"})

#: buildx drivers that cannot push by digest (nor export a registry cache).
NO_PUSH_BY_DIGEST = frozenset({"docker"})

#: What ``docker buildx inspect`` says when the docker context it is named after is gone
#: (a docker config copied from a machine with Docker Desktop or colima).
MISSING_CONTEXT = re.compile(r'(?:no builder|context) "([^"]+)"(?: found|: context not found)')


def parse_driver(text: str) -> str | None:
    """The driver named by ``docker buildx inspect`` (its first ``Driver:`` line)."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Driver" and value.strip():
            return value.strip()
    return None


def inspect_error(text: str) -> str | None:
    """The error ``docker buildx inspect`` reports for its builder (an ``Error:`` line:
    it says so, with exit status 0, when the docker daemon cannot be reached), or None."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Error" and value.strip():
            return value.strip()
    return None


def pushes_by_digest(driver: str | None) -> bool:
    """Pure rule: every driver but the engine's own ``docker`` one can push by digest.

    An unknown driver (``buildx inspect`` gave no answer) is taken to push: that is
    production's path, and a driver that cannot will say so in the build's error.
    """
    return driver not in NO_PUSH_BY_DIGEST


def reproducible_parts(request: BuildRequest) -> list[str]:
    """``rewrite-timestamp=true`` when the build has a SOURCE_DATE_EPOCH.

    The build argument alone fixes the config's and the history's times; the files
    the Dockerfile's RUN steps write keep the clock's mtime, so each build of one
    commit gets new layer digests. With this exporter option BuildKit (0.13 and later:
    GitHub's runners, Docker 26) clamps the mtime of every file in the layers built
    here to SOURCE_DATE_EPOCH, leaving the base image's layers alone, and the same
    commit then builds to the same digest, with or without a cache. Pushing with it
    wants BuildKit 0.14 or later (0.13's push could fail with "content digest not
    found" on layers from a cache); the workflows' setup-buildx-action takes the
    newest BuildKit, and the engine's own ``docker`` driver only exports a layout.
    """
    return ["rewrite-timestamp=true"] if request.source_date_epoch is not None else []


def layout_output_spec(request: BuildRequest) -> str:
    """The OCI layout export for drivers that cannot push by digest."""
    parts = ["type=oci", f"dest={request.layout_dir}", "tar=false", *reproducible_parts(request)]
    return ",".join(parts)


def output_spec(request: BuildRequest) -> str:
    parts = [
        "type=image",
        f"name={request.repository.name}",
        "push-by-digest=true",
        "name-canonical=true",
        "push=true",
        *reproducible_parts(request),
    ]
    if request.target_plain_http:
        parts.append("registry.insecure=true")
    return ",".join(parts)


#: Where buildx keeps its layer cache: ``registry`` (``REPO:buildcache-...``, the
#: default), ``gha`` (the GitHub Actions cache, one scope per leg; the workflows use
#: it so no cache tag lands in the public repository) or ``none``.
CACHE_ENV = "PUBLISHER_BUILD_CACHE"
CACHE_BACKENDS = ("registry", "gha", "none")


def cache_backend(env: Mapping[str, str]) -> str:
    value = setting(env, CACHE_ENV) or "registry"
    if value not in CACHE_BACKENDS:
        raise UsageError(
            f"{CACHE_ENV}={value!r} is not a build cache",
            hint=f"use one of: {', '.join(CACHE_BACKENDS)}",
        )
    return value


def cache_flags(request: BuildRequest, backend: str = "registry") -> list[str]:
    """Cache import/export; a failed export is ignored (the cache never fails a build)."""
    if not request.cache or backend == "none":
        return []
    if backend == "gha":
        scope = f"scope={request.slug}"
        return [
            "--cache-from",
            f"type=gha,{scope}",
            "--cache-to",
            f"type=gha,{scope},mode=max,ignore-error=true",
        ]
    insecure = ",registry.insecure=true" if request.target_plain_http else ""
    return [
        "--cache-from",
        f"type=registry,ref={request.cache_ref}{insecure}",
        "--cache-to",
        f"type=registry,ref={request.cache_ref},mode=max,ignore-error=true{insecure}",
    ]


def build_argv(
    request: BuildRequest,
    *,
    docker: str = "docker",
    builder: str | None = None,
    cache: str = "registry",
    push: bool = True,
) -> list[str]:
    """``docker buildx build`` for one (line, platform).

    ``push`` True pushes by digest with the build cache; False exports an OCI
    layout to ``request.layout_dir`` instead, without cache flags.
    """
    argv = [docker, "buildx", "build"]
    if builder:
        argv += ["--builder", builder]
    argv += [
        "--platform",
        request.platform.value,
        "-f",
        str(request.dockerfile),
        *build_arg_flags(request.buildkit_args),
        *label_flags(request.labels),
    ]
    argv += [
        "--output",
        output_spec(request) if push else layout_output_spec(request),
        "--metadata-file",
        str(request.metadata_file),
        f"--provenance={'true' if request.provenance else 'false'}",
        f"--sbom={'true' if request.sbom else 'false'}",
        *(cache_flags(request, cache) if push else []),
        str(request.context),
    ]
    return argv


def rebuild_argv(
    request: BuildRequest, *, docker: str = "docker", builder: str | None = None
) -> list[str]:
    """``docker buildx build`` of ``request.rebuilt`` that only builds it, its whole
    output in plain text: the command a failed build's tip names (``failed_build_hint``)."""
    return [
        docker,
        "buildx",
        "build",
        *(["--builder", builder] if builder else []),
        *plain_rebuild_args(request),
    ]


#: The SBOM scanner BuildKit runs for ``--sbom=true`` (``--attestations``): an image it
#: pulls from Docker Hub (``docker.io/docker/buildkit-syft-scanner:stable-1``) when a
#: build starts, whatever registries the build itself uses.
SBOM_SCANNER = re.compile(r"(?:[\w.-]+(?::\d+)?/)?docker/buildkit-syft-scanner(?:[:@][\w.:-]+)?")
#: Words of a line naming the scanner that say it could not be had (BuildKit's
#: "failed to resolve source metadata for ...: failed to do request", a registry's refusal).
NOT_PULLED = re.compile(
    r"resolve|pull|request|dial tcp|no such host|not found|unauthorized|denied|"
    r"toomanyrequests|timeout",
    re.IGNORECASE,
)


def unpulled_scanner(output: str) -> str | None:
    """The SBOM scanner image a failed buildx build's ``output`` says it could not pull,
    or None (the build failed otherwise)."""
    for line in output.splitlines():
        found = SBOM_SCANNER.search(line)
        if found and NOT_PULLED.search(line.replace(found[0], "")):
            return found[0]
    return None


def scanner_hint(image: str) -> str:
    """The tip of a build whose SBOM scanner ``image`` could not be pulled."""
    return (
        f"BuildKit could not pull {image}, the SBOM scanner --attestations has it run: "
        "this machine (or the docker daemon's registry mirror) must reach Docker Hub for it, "
        "whatever registries the build uses; run where Docker Hub answers, or leave "
        "--attestations out (a rehearsal, a build offline), its images then carrying no "
        "provenance or SBOM"
    )


@contextlib.contextmanager
def scanner_advice(request: BuildRequest) -> Iterator[None]:
    """Around a build with an SBOM: a CommandError whose output says the scanner image
    could not be pulled gets ``scanner_hint`` as its tip (offline, a rehearsal included),
    not the build's own, which sends the user to the Dockerfile."""
    try:
        yield
    except CommandError as exc:
        image = unpulled_scanner(exc.output) if request.sbom else None
        if image is not None:
            exc.hint = scanner_hint(image)
        raise


def digest_from_metadata(text: str, source: str = "metadata file") -> str:
    """The pushed digest from buildx's ``--metadata-file`` JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        raise CommandError(
            f"the buildx {source} is not JSON",
            hint="rerun the build; a killed buildx can leave a partial metadata file",
        ) from None
    digest = data.get(METADATA_DIGEST_KEY) if isinstance(data, dict) else None
    if not isinstance(digest, str) or not is_digest(digest):
        raise CommandError(
            f"the buildx {source} has no valid {METADATA_DIGEST_KEY!r}",
            hint="needs buildx 0.10 or newer, and an --output of type=image with push=true",
        )
    return digest


@dataclass
class BuildxBuilder:
    runner: Runner
    docker: str | None = None
    #: A named buildx builder instance (``--builder``); the current one when None.
    instance: str | None = None
    name: BuilderName = BuilderName.BUILDX
    #: The instance's driver (``docker``, ``docker-container``, ...), asked by ``check``.
    driver: str | None = None

    def _find(self) -> dockercli.DockerCli | None:
        for cli in dockercli.probe_all(self.runner):
            if cli.buildx_version is not None:
                return cli
        return None

    def available(self) -> bool:
        """Installed, working or not: one that does not work is said by ``check``."""
        return any(
            cli.buildx_version is not None or cli.buildx_problem is not None
            for cli in dockercli.probe_all(self.runner)
        )

    def _instead(self) -> str:
        """``; or use --builder buildah`` when it is installed: the tip's way round."""
        other = dockercli.installed_builders(self.runner, BuilderName.BUILDAH)
        return f"; or use {other}" if other else ""

    def _cache(self) -> str:
        return cache_backend(getattr(self.runner, "env", None) or os.environ)

    def check(self) -> str:
        self._cache()  # a mistyped PUBLISHER_BUILD_CACHE is refused before any request
        cli = self._find()
        if cli is None or cli.buildx_version is None:
            others = dockercli.installed_builders(
                self.runner, BuilderName.BUILDAH, BuilderName.DOCKER
            )
            instead = f"; or use {others}" if others else ""
            broken = next(
                (c for c in dockercli.probe_all(self.runner) if c.buildx_problem is not None),
                None,
            )
            if broken is not None:
                raise BrokenToolError(
                    f"docker buildx (the buildx plugin of {broken.path}) is installed but does "
                    f"not work: {broken.buildx_problem}",
                    hint="repair or reinstall the plugin (`docker --help` lists a plugin that "
                    f"cannot run under Invalid Plugins); {INSTALL_HINTS['docker-buildx']}"
                    + instead,
                )
            raise ToolMissingError(
                "docker buildx is not installed (no docker CLI here has a working buildx plugin)",
                hint=INSTALL_HINTS["docker-buildx"] + instead,
            )
        version = require_version(
            "docker buildx",
            cli.buildx_version,
            MIN_VERSION,
            INSTALL_HINTS["docker-buildx"],
            path=cli.path,
        )
        self.docker = cli.path
        self.driver = self._driver(cli.path)
        how = "pushes by digest" if self.push else "exports an OCI layout to push"
        return f"docker buildx {'.'.join(map(str, version))}, {self.driver or 'unknown'} driver ({how})"

    @property
    def push(self) -> bool:
        """Does this instance push by digest itself (else it exports a layout)?"""
        return pushes_by_digest(self.driver)

    def _driver(self, docker: str) -> str | None:
        """The instance's driver; ToolMissingError when buildx says it cannot use the
        instance (the docker daemon down or out of reach, an unknown ``--builder``)."""
        argv = [docker, "buildx", "inspect"]
        if self.instance:
            argv.append(self.instance)
        answer = self.runner.probe(argv, what="docker buildx inspect")
        problem = inspect_error(answer.output) if answer.ok else answer.output.strip()
        if problem is not None:
            said = clip(problem.splitlines()[-1], 300) if problem else "no answer"
            hint = (
                "`docker buildx inspect` must name a driver and no error: the docker "
                "daemon reachable (start dockerd, check DOCKER_HOST; a socket that refuses "
                "you: run as root or join the docker group) and buildx's state writable "
                "($DOCKER_CONFIG, default ~/.docker)" + self._instead()
            )
            if "permission denied" in said.lower():
                hint = dockercli.daemon_hint(said) + self._instead()
            gone = None if self.instance else MISSING_CONTEXT.search(problem)
            if gone:  # buildx's default builder is the docker context, which is not there
                hint = (
                    f'the docker context "{gone[1]}" (`currentContext` in the docker config, '
                    "or DOCKER_CONTEXT) is not there: `docker context ls` lists those that "
                    "are; `docker context use default` (or DOCKER_CONTEXT=default) uses the "
                    "local daemon" + self._instead()
                )
            raise BrokenToolError(
                f"docker buildx cannot use its builder "
                f"{self.instance or '(the current one)'}: {said}; {NOTHING_BUILT}",
                hint=hint,
            )
        return parse_driver(answer.stdout)

    def commands(self, request: BuildRequest) -> tuple[tuple[str, ...], ...]:
        docker = self.docker or "docker"
        argv: list[tuple[str, ...]] = []
        if request.credentials is not None:
            argv.append(
                tuple(
                    dockercli.login_argv(
                        request.repository.domain, request.credentials.username, docker=docker
                    )
                )
            )
        argv.append(
            tuple(
                build_argv(
                    request,
                    docker=docker,
                    builder=self.instance,
                    cache=self._cache(),
                    push=self.push,
                )
            )
        )
        return tuple(argv)

    def build(self, request: BuildRequest) -> BuildOutput:
        start = time.monotonic()
        if self.driver not in REMOTE_DRIVERS:  # this machine's kernel runs the RUN steps
            require_emulation(request.platform)
        if self.docker is None:
            self.check()
        docker = self.docker or "docker"
        request.work_dir.mkdir(parents=True, exist_ok=True)
        request.metadata_file.unlink(missing_ok=True)
        push = self.push
        if not push:
            shutil.rmtree(request.layout_dir, ignore_errors=True)
        with (
            dockercli.logged_in_config(
                self.runner, request.repository.domain, request.credentials, docker=docker
            ) as env,
            emulation_advice(request.platform),
            scanner_advice(request),
        ):
            self.runner.run(
                build_argv(
                    request,
                    docker=docker,
                    builder=self.instance,
                    cache=self._cache(),
                    push=push,
                ),
                env=env,
                what=f"docker buildx build (PHP {request.php}, {request.platform})",
                hint=failed_build_hint(
                    request, rebuild_argv(request, docker=docker, builder=self.instance)
                ),
            )
        try:
            text = request.metadata_file.read_text(encoding="utf-8")
        except OSError:
            raise CommandError(
                f"buildx wrote no metadata file at {request.metadata_file}",
                hint="publisher needs buildx 0.10 or newer (`docker buildx version`): upgrade "
                "the docker-buildx plugin",
            ) from None
        digest = digest_from_metadata(text, str(request.metadata_file))
        if not push:
            check_exported_layout(request, digest)
        return BuildOutput.finished(
            request, self.name, digest, layout=None if push else request.layout_dir, started=start
        )


def check_exported_layout(request: BuildRequest, digest: str) -> None:
    """The exported layout holds ``digest`` (the metadata file's) for the requested platform.

    Without attestations that is one image manifest; with them, an index whose
    image entry carries the platform (the attestation entries say ``unknown``).
    """
    layout = request.layout_dir
    try:
        index = json.loads((layout / "index.json").read_bytes())
        entries = index["manifests"]
    except (OSError, ValueError, KeyError, TypeError):
        raise CommandError(
            f"buildx exported no readable OCI layout at {layout}",
            hint="needs buildx 0.10 or newer; rerun the build",
        ) from None
    found = [str(e.get("digest")) for e in entries if isinstance(e, dict)]
    if found != [digest]:
        raise CommandError(
            f"the OCI layout buildx exported holds {', '.join(found) or 'nothing'}, "
            f"but its metadata file says {digest}",
            hint="rerun the build into an empty work directory",
        )
    if entries[0].get("mediaType") in IMAGE_TYPES:
        image = read_layout(layout)
        arch = image.architecture
    else:
        index_body = json.loads(blob_path(layout, digest).read_bytes())
        platforms = [platform_of(m) for m in index_body.get("manifests", []) if isinstance(m, dict)]
        arch = next((p.split("/")[1] for p in platforms if p), "")
    check_built_platform("buildx", request, arch)
