"""A release that narrows a line's platforms moves its floating tags all the same, and
says so (real registry).

v1.0.0 publishes PHP 8.4 for linux/amd64 and linux/arm64; v2.0.0's matrix builds it
for linux/amd64 only. Its dry run and its real run both warn that ``php-8.4`` and
``latest`` leave v1.0.0's index, which lists linux/arm64, for one that lacks it; the
run is not refused and the tags move. v2.0.1, as narrow as v2.0.0, says nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core.records import DigestRecord
from publisher.core.version import parse_release
from publisher.stages.publish import Publisher, PublishOptions
from tests.support.images import make_image
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration


def test_a_release_narrowing_a_line_warns_that_its_floating_tags_lose_a_platform(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    registries = [("hub", f"{registry.host}/{repo}", True)]

    def publish(tag: str, platforms: list[str], *, dry_run: bool) -> str:
        matrix = write_matrix(
            tmp_path / tag,
            registries,
            lines=("8.4",),
            line_overrides={"8.4": {"platforms": platforms}},
        )
        cfg = config_mod.load(matrix, {})
        image = make_image(platforms=platforms)
        for platform_image in image.images:
            seed(registry, repo, platform_image)
        records = [
            DigestRecord(
                tag,
                "8.4",
                i.platform,
                cfg.primary.repository.name,
                i.digest,
                "php:stand-in",
                None,
                "buildah",
                "sha256:" + "0" * 64,
            )
            for i in image.images
        ]
        stderr = io.StringIO()
        output = Output(env={}, stream=io.StringIO(), err_stream=stderr)
        clients = {
            r.name: RegistryClient(r.host, plain_http=True, name=r.name) for r in cfg.registries
        }
        options = PublishOptions(notes_dir=notes, dry_run=dry_run)
        Publisher(cfg, parse_release(tag), clients, output, options).run(records)
        return stderr.getvalue()

    (tmp_path / "v1.0.0").mkdir()
    (tmp_path / "v2.0.0").mkdir()
    first = publish("v1.0.0", ["linux/amd64", "linux/arm64"], dry_run=False)
    assert "lacks" not in first
    for dry_run in (True, False):
        said = " ".join(publish("v2.0.0", ["linux/amd64"], dry_run=dry_run).split())
        for tag in ("php-8.4", "latest"):
            assert (
                f"{tag} leaves v1.0.0, whose index lists linux/arm64, for v2.0.0, whose index "
                f"lacks it (on hub): consumers of {tag} on linux/arm64 get no image"
            ) in said, said
    tags = tag_map(registry.host, repo)
    assert tags["php-8.4"] == tags["latest"] == tags["v2.0.0-php-8.4"]
    # the next release keeps v2.0.0's platforms: nothing to say
    (tmp_path / "v2.0.1").mkdir()
    assert "leaves" not in publish("v2.0.1", ["linux/amd64"], dry_run=False)
