"""An audit reads each manifest and blob once per repository (real registries).

Many tags share an index: a release's pin, its ``vX.Y.Z`` tag, ``php-X.Y`` and ``latest``;
records whose lines name one index; the pins of a release without a record, copied by
hand. A digest names content that cannot change, so within one audit each manifest,
index and blob is read (or asked about) once per registry repository, whichever tags
and records name it: an image the audit reads whole is not also asked about by a HEAD.
Each tag is still asked where it points (a tag moves)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core.audit_rules import UNRECORDED
from publisher.core.notes import RegistryFacts
from publisher.stages.audit import audit
from tests.support.faultproxy import FaultProxy
from tests.support.images import digest_of, make_image
from tests.support.records import line_facts, release_facts, write_record

pytestmark = pytest.mark.integration


def test_an_audit_reads_each_index_once_however_many_tags_and_records_name_it(
    registry: Any,
    second_registry: Any,
    repo: str,
    proxy_for: Callable[[Any], FaultProxy],
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    hub, ghcr = proxy_for(registry), proxy_for(second_registry)
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{hub.host}/{repo}", True), ("ghcr", f"{ghcr.host}/{repo}", False)],
        lines=("8.4",),
    )
    cfg = config_mod.load(matrix, {})
    image = make_image()
    platforms = {i.platform: i.digest for i in image.images}
    # v1.0.0 and v1.1.0 recorded with one index for PHP 8.4 (the second a release that
    # changed nothing), their floating tags there too; v1.2.0's pins on the primary
    # only, without a record, the same index copied to them by hand.
    recorded = ["v1.0.0-php-8.4", "v1.0.0", "v1.1.0-php-8.4", "v1.1.0", "php-8.4", "latest"]
    digest = seed(registry, repo, image, recorded)
    assert seed(second_registry, repo, image, recorded) == digest
    seed(registry, repo, image, ["v1.2.0-php-8.4", "v1.2.0"])
    notes = tmp_path / "notes"
    facts = (
        RegistryFacts("hub", f"{hub.host}/{repo}", True),
        RegistryFacts("ghcr", f"{ghcr.host}/{repo}", False),
    )
    for release in ("v1.0.0", "v1.1.0"):
        line = line_facts(
            "8.4", release, digest=digest, platforms=platforms, tags=(f"{release}-php-8.4", release)
        )
        write_record(notes, release_facts([line], release, registries=facts))
    hub.reset_counts()
    ghcr.reset_counts()

    report = audit(
        cfg,
        notes,
        lambda r: RegistryClient(r.host, plain_http=True, name=r.name),
        Output(env={}, stream=io.StringIO(), err_stream=io.StringIO()),
    )

    assert [(f.registry, f.kind, f.release) for f in report.findings] == [
        ("hub", UNRECORDED, "v1.2.0")
    ]
    for proxy, tags in ((hub, [*recorded, "v1.2.0-php-8.4", "v1.2.0"]), (ghcr, recorded)):
        asked = proxy.asked_by_digest()
        once: Counter[tuple[str, str]] = Counter()
        for (_, kind, ref), n in asked.items():
            once[(kind, ref)] += n  # a HEAD and a GET of one digest: asked twice
        twice = {key: n for key, n in once.items() if n > 1}
        assert not twice, twice
        # the index, each image and each config read (the configs say what each image
        # was built as; an image read is there: the index is complete)
        assert asked[("GET", "manifest", digest)] == 1
        for one in image.images:
            assert asked[("GET", "manifest", one.digest)] == 1
            assert asked[("GET", "blob", digest_of(one.config))] == 1
        # every tag still asked where it points, each by a HEAD of its own
        heads = Counter(
            urlsplit(s.path).path.rsplit("/", 1)[1]
            for s in proxy.log
            if s.method == "HEAD" and s.kind == "manifest"
        )
        assert all(heads[tag] >= 1 for tag in tags), heads
