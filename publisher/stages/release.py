"""Whole releases in one process: ``release``, ``republish`` and the local rehearsal.

``release`` runs the build legs (in parallel up to ``jobs``) and then the publish
stage: the same code GitHub Actions runs as separate jobs. ``republish``
rebuilds a published release from freshly resolved bases and moves its pins.
``local_registries`` maps every configured registry onto throwaway loopback
registries, so a maintainer can rehearse a release with no credentials.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..builders import Builder, BuildRequest
from ..config import Config, Registry
from ..errors import PublisherError
from ..localregistry import LocalRegistry
from ..output import Output
from ..records import read_directory
from ..reference import Reference
from ..registry import RegistryClient, RetryPolicy
from ..registry.transfer import DEFAULT_TRANSFERS
from ..runner import CommandRunner, Runner
from ..version import Release
from .build import base_client, build_all, legs, resolve_base
from .publish import Publisher, PublishResult, SmokeTest


@dataclass(frozen=True)
class ReleaseOptions:
    digests_dir: Path
    notes_dir: Path
    jobs: int = 2
    #: blob transfers in flight while copying to the other registries
    transfers: int = DEFAULT_TRANSFERS
    dry_run: bool = False
    reuse: bool = True
    created: str = ""
    revision: str = ""
    republish_reason: str | None = None
    retry: RetryPolicy | None = None
    #: buildx: attach provenance and SBOM attestations to every image.
    attestations: bool = False


def make_clients(
    config: Config, env: Mapping[str, str], output: Output, retry: RetryPolicy | None = None
) -> dict[str, RegistryClient]:
    kwargs = {"retry": retry} if retry else {}
    return {
        r.name: RegistryClient.for_registry(r, env, output, **kwargs) for r in config.registries
    }


def resolve_bases(config: Config, env: Mapping[str, str], output: Output) -> dict[str, Reference]:
    """Each selected line's base, pinned to the digest it has right now."""
    bases: dict[str, Reference] = {}
    clients: dict[str, RegistryClient] = {}
    for line in config.lines:
        ref = config.base_pull_ref(line)
        client = clients.get(ref.domain) or base_client(config, ref, env, output)
        clients[ref.domain] = client
        bases[line.php] = resolve_base(config, line, client)
        output.info(f"PHP {line.php}: base {bases[line.php]}")
    return bases


def release(
    config: Config,
    version: Release,
    *,
    builder: Builder,
    env: Mapping[str, str],
    output: Output,
    options: ReleaseOptions,
    smoke: SmokeTest | None,
    clients: Mapping[str, RegistryClient] | None = None,
) -> PublishResult:
    """Build every leg (skipping what is already pushed), then publish."""
    clients = clients or make_clients(config, env, output, options.retry)
    primary = clients[config.primary.name]
    with output.step(f"Resolve the base images ({len(config.lines)} lines)"):
        bases = resolve_bases(config, env, output)
    if options.dry_run:
        return dry_run(
            config,
            version,
            builder=builder,
            bases=bases,
            clients=clients,
            output=output,
            options=options,
        )
    with output.step(
        f"Build {len(legs(config))} images with {builder.name} (up to {options.jobs} at a time)"
    ):
        records = build_all(
            config,
            version,
            builder=builder,
            primary=primary,
            bases=bases,
            digests_dir=options.digests_dir,
            output=output,
            jobs=options.jobs,
            reuse=options.reuse,
            created=options.created,
            revision=options.revision,
            attestations=options.attestations,
        )
    return make_publisher(config, version, clients, output, options, smoke=smoke).run(records)


def make_publisher(
    config: Config,
    version: Release,
    clients: Mapping[str, RegistryClient],
    output: Output,
    options: ReleaseOptions,
    *,
    smoke: SmokeTest | None = None,
    dry_run: bool = False,
) -> Publisher:
    return Publisher(
        config,
        version,
        clients,
        output,
        notes_dir=options.notes_dir,
        smoke=smoke,
        republish_reason=options.republish_reason,
        dry_run=dry_run,
        jobs=options.jobs,
        transfers=options.transfers,
    )


def dry_run(
    config: Config,
    version: Release,
    *,
    builder: Builder,
    bases: Mapping[str, Reference],
    clients: Mapping[str, RegistryClient],
    output: Output,
    options: ReleaseOptions,
) -> PublishResult:
    """Print the plan, every build command and every tag move; write nothing."""
    with output.step("Dry run: the build commands that would run"):
        for leg in legs(config):
            request = BuildRequest.for_line(
                config,
                config.line(leg.php),
                leg.platform,
                base=bases[leg.php],
                work_dir=options.digests_dir / ".work",
                release=version.tag,
                created=options.created,
                revision=options.revision,
            )
            for argv in builder.commands(request):
                output.info("  " + " ".join(argv))
    records_present = options.digests_dir.is_dir() and any(options.digests_dir.glob("*.json"))
    records = read_directory(options.digests_dir) if records_present else []
    publisher = make_publisher(config, version, clients, output, options, dry_run=True)
    try:
        return publisher.run(records)
    except PublisherError as exc:
        if records_present:
            raise
        # Nothing built yet: the index digests are unknown until the builds run.
        p = publisher.read_plan()
        output.info(f"(index digests are known after the builds: {exc.message.splitlines()[0]})")
        rows = [
            (t.registry, tag, "built by this run")
            for line in p.lines
            for t in line.targets
            for tag in t.tags
        ]
        output.table(
            "Dry run: tags that would be written (nothing was written)",
            ("registry", "tag", "new"),
            rows,
        )
        output.print_text(p.to_json())
        return PublishResult(plan=p, indexes={})


# --------------------------------------------------------------------------- local rehearsal


def map_to_local(config: Config, hosts: Mapping[str, str]) -> Config:
    """``config`` with every registry moved to the loopback host standing in for it.

    The repository path keeps the original host as its first component so that
    two registries on one loopback host stay apart; credentials are dropped.
    """
    registries = []
    for registry in config.registries:
        local = hosts[registry.host]
        path = registry.repository.path
        registries.append(
            Registry(
                name=registry.name,
                repository=Reference(local, path),
                primary=registry.primary,
                username_env=None,
                password_env=None,
                insecure=True,
            )
        )
    return dataclasses.replace(config, registries=tuple(registries))


@contextlib.contextmanager
def local_registries(
    config: Config,
    output: Output,
    *,
    runner: CommandRunner | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[Config, list[LocalRegistry]]]:
    """Start one throwaway registry per configured registry host; yield the mapped config.

    For a stand-in matrix (``stand_in: true``) with no base mirror set, one more
    throwaway registry serves the stand-in base images, built and pushed here,
    and becomes the base mirror.
    """
    started: list[LocalRegistry] = []
    hosts: dict[str, str] = {}
    try:
        for registry in config.registries:
            if registry.host in hosts:
                continue
            local = LocalRegistry().start()
            started.append(local)
            hosts[registry.host] = local.host
            output.info(f"rehearsal: {registry.host} is played by {local.url}")
        mapped = map_to_local(config, hosts)
        if config.stand_in and not config.base_mirror:
            from .. import standins

            bases = LocalRegistry().start()
            started.append(bases)
            output.info(f"rehearsal: STAND-IN base images are served by {bases.url}")
            standins.push_for_config(
                config, bases.host, runner=runner or Runner(output=output), env=env
            )
            mapped = dataclasses.replace(mapped, base_mirror=bases.host)
        yield mapped, started
    finally:
        for local in started:
            local.stop()
