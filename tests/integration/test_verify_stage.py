"""The verify stage reads several things at once, and says the same as one at a time.

A two-line, two-platform release is pushed with raw HTTP to two real loopback
registries, each behind a counting ``FaultProxy``. Every image of the release
shares one layer, so indexes inspected at the same time ask about the same blob.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.core import config as config_mod
from publisher.core import plan as planning
from publisher.core.verify_rules import Report
from publisher.core.version import parse_release
from publisher.stages.verify import defects_error, existing_tags, verify_release
from tests.integration.conftest import matrix_text
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image, make_layer, push_raw

pytestmark = pytest.mark.integration

RELEASE = "v1.0.0"
LINES = ("8.3", "8.4")


@dataclass
class Published:
    config: config_mod.Config
    proxies: dict[str, FaultProxy]
    clients: dict[str, RegistryClient]
    indexes: dict[str, str]
    #: distinct blobs (configs and layers) of the release
    blobs: int

    def verify(self, **kwargs: Any) -> dict[str, Any]:
        return self.verify_written(**kwargs)[0].to_dict()

    def verify_written(self, **kwargs: Any) -> tuple[Report, str, str]:
        """The report, and what the verify wrote on stdout and on stderr."""
        release = parse_release(RELEASE)
        existing, unchecked = existing_tags(self.config, self.clients)
        plan = planning.plan(self.config, release, existing)
        stdout, stderr = io.StringIO(), io.StringIO()
        out = Output(env={}, stream=stdout, err_stream=stderr)
        report = verify_release(self.config, plan, self.clients, out, unchecked=unchecked, **kwargs)
        return report, stdout.getvalue(), stderr.getvalue()

    def reset_counts(self) -> None:
        for proxy in self.proxies.values():
            proxy.reset_counts()


@pytest.fixture
def published(
    registry: Any,
    second_registry: Any,
    proxy_for: Callable[[Any], FaultProxy],
    make_client: Callable[..., RegistryClient],
    repo: str,
) -> Published:
    proxies = {"hub": proxy_for(registry), "ghcr": proxy_for(second_registry)}
    text = matrix_text(
        [
            ("hub", f"{proxies['hub'].host}/{repo}", True),
            ("ghcr", f"{proxies['ghcr'].host}/{repo}", False),
        ],
        lines=LINES,
    )
    config = config_mod.loads(text)
    plan = planning.plan(config, parse_release(RELEASE), {})
    shared = make_layer(4096, random.Random(7), "shared")
    images = {php: make_image(seed=n, shared_layer=shared) for n, php in enumerate(LINES)}
    indexes: dict[str, str] = {}
    for line in plan.lines:
        for target in line.targets:
            url = f"http://{(registry if target.registry == 'hub' else second_registry).host}"
            indexes[line.php] = push_raw(url, repo, images[line.php], target.tags)
    blobs = {d for image in images.values() for m in image.manifests for d in m.blobs}
    clients = {name: make_client(proxy) for name, proxy in proxies.items()}
    return Published(config, proxies, clients, indexes, len(blobs))


def test_the_report_is_the_same_read_at_once_or_one_at_a_time(published: Published) -> None:
    sequential = published.verify(workers=1)
    counted = {n: p.count() for n, p in published.proxies.items()}
    published.reset_counts()
    concurrent = published.verify()
    assert concurrent == sequential
    assert sequential["ok"] and not sequential["defects"], sequential
    assert {line["php"]: line["digests"] for line in concurrent["lines"]} == {
        php: {"hub": digest, "ghcr": digest} for php, digest in published.indexes.items()
    }
    # The same requests either way: nothing asked twice, nothing skipped.
    assert {n: p.count() for n, p in published.proxies.items()} == counted
    for proxy in published.proxies.values():
        # every blob once per registry, the layer all images share included
        assert proxy.count("HEAD", "blob") == published.blobs


def test_the_progress_of_the_reads_stays_off_stdout(published: Published) -> None:
    # Both registries are read at once: which answers first differs run to run, so a
    # line per image read on stdout would make the result differ too.
    report, stdout, stderr = published.verify_written()
    assert report.ok, report
    assert "checking" not in stdout, stdout
    progress = stderr.splitlines()
    for name in ("hub", "ghcr"):
        for digest in published.indexes.values():
            assert any(
                line.startswith(f"checking {name} ") and line.endswith(f"@{digest}")
                for line in progress
            ), stderr


def test_a_defect_is_reported_the_same_read_at_once(published: Published, repo: str) -> None:
    hub = published.clients["hub"]
    hub.tag(repo, published.indexes["8.4"], f"{RELEASE}-php-8.3")
    sequential = published.verify(workers=1)
    concurrent = published.verify()
    assert concurrent == sequential
    kinds = {(d["kind"], d["registry"]) for d in concurrent["defects"]}
    assert kinds == {("tags-disagree", "hub"), ("registries-disagree", None)}, kinds


@pytest.mark.parametrize("answered", [0, 1], ids=["from-the-start", "midway"])
def test_a_registry_that_stops_answering_is_not_asked_again_and_again(
    published: Published, answered: int
) -> None:
    ghcr = published.proxies["ghcr"]
    # the tag lists answer; then, after ``answered`` manifest requests, every one fails
    ghcr.add(Fault("status", path="/manifests/", status=503, times=None, skip=answered))
    published.reset_counts()
    report = published.verify(workers=2)
    assert list(report["unreachable"]) == ["ghcr"]
    assert "kept failing" in report["unreachable"]["ghcr"]
    hub_only = [d for d in report["defects"] if d["registry"] != "ghcr"]
    assert hub_only == [], report["defects"]
    assert published.proxies["hub"].count(kind="manifest") > 0
    tags = sum(len(line["tags"]["hub"]) for line in report["lines"])  # the same on both
    for line in report["lines"]:  # a registry not checked is absent from the maps, as said
        assert {*line["tags"], *line["digests"], *line["registry_sizes"]} == {"hub"}, line
    assert tags >= 5
    # 3 attempts a request (fast_retry). The first tag is asked alone, so a registry
    # failing from the start costs one request's attempts; one that fails midway, at
    # most the two in flight. Asking every tag would be tags x 3.
    if answered == 0:
        assert ghcr.count(kind="manifest") == 3
    else:
        assert ghcr.count(kind="manifest") <= answered + 2 * 3 < tags * 3


DENIED = (
    b'{"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}'
)


@pytest.mark.parametrize("answered", [0, 1], ids=["from-the-start", "midway"])
def test_a_registry_that_refuses_the_reads_is_one_defect_and_the_others_are_checked(
    published: Published, repo: str, answered: int
) -> None:
    # a proxy in front of ghcr denies its reads: the tag list, or the manifests after one
    path = "/tags/list" if answered == 0 else "/manifests/"
    published.proxies["ghcr"].add(
        Fault("status", path=path, status=403, body=DENIED, times=None, skip=answered)
    )
    published.clients["hub"].tag(repo, published.indexes["8.4"], f"{RELEASE}-php-8.3")
    checked = published.verify_written()[0]
    failure = defects_error(checked)
    assert failure is not None and failure.exit_code == 4  # as any refusal, listed whole
    assert "ghcr: refused the reads" in failure.message and "hub" in failure.message
    report = checked.to_dict()
    assert list(report["refused"]) == ["ghcr"], report
    assert "denied" in report["refused"]["ghcr"]
    kinds = {(d["kind"], d["registry"]) for d in report["defects"]}
    # hub was checked all the same: its defect is listed beside ghcr's refusal
    assert kinds == {("refused-read", "ghcr"), ("floating-moved", "hub")}, kinds
    for line in report["lines"]:
        assert {*line["tags"], *line["digests"], *line["registry_sizes"]} == {"hub"}, line
