"""The build stage: one leg is one (PHP line, platform).

A leg resolves the base image to a digest, builds FROM that digest, pushes the
image by digest (never under a tag) to the primary registry and writes a digest
record atomically. Legs can run on different machines (GitHub Actions fans out
one job per leg) or in parallel in one process (``publisher release``).

A leg whose record already names an image present on the primary registry,
built from the same Dockerfile and base, is not rebuilt: that is what lets a
rerun finish a failed release without rebuilding what was pushed.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..builders import Builder, BuildRequest
from ..config import Config, Line
from ..errors import PublisherError, UsageError
from ..output import Output
from ..platforms import Platform
from ..records import DigestRecord, parse_record, record_name, write_record_file
from ..reference import Reference
from ..registry import RegistryClient, RetryPolicy, credentials_for_host
from ..version import Release


@dataclass(frozen=True)
class Leg:
    php: str
    platform: Platform

    @property
    def label(self) -> str:
        return f"PHP {self.php} {self.platform}"

    @property
    def record_name(self) -> str:
        return record_name(self.php, self.platform.value)


def legs(config: Config) -> tuple[Leg, ...]:
    """Every (line, platform) of the selected lines, in configured order."""
    return tuple(Leg(line.php, p) for line in config.lines for p in line.platforms)


def dockerfile_sha256(config: Config, php: str) -> str:
    path = config.dockerfile_path(php)
    try:
        data = path.read_bytes()
    except OSError:
        raise UsageError(
            f"the Dockerfile for PHP {php} is missing: {path}",
            hint="run `publisher render` and commit the result",
        ) from None
    return "sha256:" + hashlib.sha256(data).hexdigest()


def base_client(
    config: Config, base: Reference, env: Mapping[str, str], output: Output
) -> RegistryClient:
    """A read-only client for the registry that serves the base image."""
    from ..config import is_loopback

    plain = is_loopback(base.domain) or any(
        r.host == base.domain and r.plain_http for r in config.registries
    )
    return RegistryClient(
        base.domain,
        plain_http=plain,
        credentials=credentials_for_host(base.domain, env, output),
        retry=RetryPolicy.from_env(env),
        output=output,
        name="base",
    )


def resolve_base(config: Config, line: Line, client: RegistryClient) -> Reference:
    """The base image to build FROM, through the mirror and pinned by digest."""
    ref = config.base_pull_ref(line)
    # A pinned reference resolves to its own digest, which proves it exists.
    return Reference(ref.domain, ref.path, ref.tag, client.resolve(ref))


def existing_record(
    path: Path,
    *,
    release: Release,
    leg: Leg,
    base: Reference,
    dockerfile: str,
    primary: RegistryClient,
    repo_path: str,
) -> DigestRecord | None:
    """The leg's earlier record when it still describes an image on the primary."""
    try:
        record = parse_record(path.read_text(encoding="utf-8"), str(path))
    except (OSError, PublisherError):
        return None
    same = (
        record.release == release.tag
        and record.php == leg.php
        and record.platform == leg.platform.value
        and record.base_digest == base.digest
        and record.dockerfile_sha256 == dockerfile
    )
    if same and primary.manifest_exists(repo_path, record.digest):
        return record
    return None


def build_leg(
    config: Config,
    release: Release,
    leg: Leg,
    *,
    builder: Builder,
    primary: RegistryClient,
    base: Reference,
    record_path: Path,
    output: Output,
    created: str = "",
    revision: str = "",
    reuse: bool = True,
    provenance: bool = False,
    sbom: bool = False,
) -> DigestRecord:
    """Build and push one leg; write and return its digest record."""
    line = config.line(leg.php)
    if leg.platform not in line.platforms:
        raise UsageError(
            f"PHP {leg.php} is not built for {leg.platform}; configured: "
            + ", ".join(p.value for p in line.platforms)
        )
    repo = config.primary.repository
    dockerfile = dockerfile_sha256(config, leg.php)
    if reuse:
        found = existing_record(
            record_path,
            release=release,
            leg=leg,
            base=base,
            dockerfile=dockerfile,
            primary=primary,
            repo_path=repo.path,
        )
        if found:
            output.info(f"{leg.label}: already built and pushed as {found.digest}; not rebuilding")
            return found
    with tempfile.TemporaryDirectory(prefix="publisher-build-") as tmp:
        request = BuildRequest.for_line(
            config,
            line,
            leg.platform,
            base=base,
            work_dir=Path(tmp),
            release=release.tag,
            created=created,
            revision=revision,
            credentials=primary.transport.credentials,
            provenance=provenance,
            sbom=sbom,
        )
        result = builder.build(request)
        digest = result.digest
        if result.layout is not None:
            pushed = primary.push_layout(result.layout, repo.path)
            if pushed != result.digest:
                raise PublisherError(
                    f"{leg.label}: pushed {pushed} but the builder reported {result.digest}",
                    hint="the OCI layout changed between build and push; rerun the leg",
                )
            digest = pushed
    record = DigestRecord(
        release=release.tag,
        php=leg.php,
        platform=leg.platform.value,
        repository=repo.name,
        digest=digest,
        base_image=str(Reference(base.domain, base.path, base.tag)),
        base_digest=base.digest,
        builder=str(builder.name),
        dockerfile_sha256=dockerfile,
    )
    write_record_file(record_path, record)
    output.info(f"{leg.label}: pushed {digest} to {repo.name}")
    return record


def build_all(
    config: Config,
    release: Release,
    *,
    builder: Builder,
    primary: RegistryClient,
    bases: Mapping[str, Reference],
    digests_dir: Path,
    output: Output,
    jobs: int = 2,
    selected: Sequence[Leg] | None = None,
    reuse: bool = True,
    created: str = "",
    revision: str = "",
    attestations: bool = False,
    on_done: Callable[[DigestRecord], None] | None = None,
) -> list[DigestRecord]:
    """Run legs in parallel (up to ``jobs``); fail after all finished, listing every failure."""
    todo = list(selected or legs(config))
    records: list[DigestRecord] = []
    failures: list[tuple[Leg, PublisherError]] = []

    def run(leg: Leg) -> DigestRecord:
        return build_leg(
            config,
            release,
            leg,
            builder=builder,
            primary=primary,
            base=bases[leg.php],
            record_path=digests_dir / leg.record_name,
            output=output,
            created=created,
            revision=revision,
            reuse=reuse,
            provenance=attestations,
            sbom=attestations,
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run, leg): leg for leg in todo}
        for future, leg in futures.items():
            try:
                record = future.result()
            except PublisherError as exc:
                failures.append((leg, exc))
                output.warning(f"{leg.label}: {exc.label}: {exc.message}")
                continue
            records.append(record)
            if on_done:
                on_done(record)
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        first = failures[0][1]
        names = ", ".join(leg.label for leg, _ in failures)
        combined = PublisherError(
            f"{len(failures)} of {len(todo)} builds failed ({names}); first: {first.message}",
            hint=first.hint or "fix the cause and rerun: finished legs are not rebuilt",
        )
        combined.exit_code = first.exit_code
        combined.label = first.label
        raise combined
    return records
