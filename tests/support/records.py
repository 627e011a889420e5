"""Release records, as publish writes them to release-notes/, for tests that start from a
published release.

``line_facts`` is one line's record, ``release_facts`` a release's (stable, one registry
unless told), ``write_record`` puts a release's record in a notes folder as publish does
(the strict record reader reads it back). Keywords vary what a test needs: digests, the
base, the platforms, the registries, the default line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from publisher.core.notes import (
    LineFacts,
    PlatformFacts,
    RegistryFacts,
    ReleaseFacts,
    SizeHistory,
    release_json,
)

DIGEST = "sha256:" + "1" * 64
PUBLISHED_AT = "2026-11-02T10:00:00Z"
HUB = RegistryFacts("hub", "docker.io/acme/php-fpm", True)


def line_facts(
    php: str,
    release: str = "v1.0.0",
    *,
    digest: str = DIGEST,
    base_image: str = "php:{php}-fpm-alpine",
    base_digest: str | None = DIGEST,
    platforms: Sequence[str] | Mapping[str, str] = ("linux/amd64",),
    php_version: str | None = None,
    tags: tuple[str, ...] | None = None,
) -> LineFacts:
    """PHP ``php``'s record in ``release``: its index is ``digest``, its pin
    ``{release}-php-{php}`` unless ``tags`` says, its PHP version ``{php}.9`` unless told;
    ``base_image`` may name ``{php}``. ``platforms``: each with ``digest``, or a mapping
    platform -> its image's digest."""
    images = platforms if isinstance(platforms, Mapping) else dict.fromkeys(platforms, digest)
    return LineFacts(
        php=php,
        php_version=php_version or f"{php}.9",
        index_digest=digest,
        tags=(f"{release}-php-{php}",) if tags is None else tags,
        base_image=base_image.format(php=php),
        base_digest=base_digest,
        size_budget_bytes=700_000_000,
        platforms=tuple(PlatformFacts(p, d, 1_000) for p, d in images.items()),
    )


def release_facts(
    lines: Iterable[LineFacts],
    release: str = "v1.0.0",
    *,
    default_line: str = "8.4",
    published_at: str = PUBLISHED_AT,
    registries: Sequence[RegistryFacts] = (HUB,),
    stand_in: bool = False,
) -> ReleaseFacts:
    """The record of stable ``release``, published with ``lines`` to ``registries``
    (a stand-in rehearsal's if ``stand_in``)."""
    return ReleaseFacts(
        release=release,
        stable=True,
        stand_in=stand_in,
        default_line=default_line,
        published_at=published_at,
        registries=tuple(registries),
        lines=tuple(lines),
        floating=(),
    )


def write_record(notes: Path, facts: ReleaseFacts) -> Path:
    """``notes`` (made if missing) holding ``facts`` as ``{release}.json``; returns it."""
    notes.mkdir(parents=True, exist_ok=True)
    (notes / f"{facts.release}.json").write_text(release_json(facts, SizeHistory()))
    return notes
