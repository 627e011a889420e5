#!/usr/bin/env python3
"""A rerun with nothing changed: what checking the other registries whole costs (prints figures; not a timed test).

    python bench/rerun_bench.py                    # 5 lines x 2 platforms, 30 ms per request
    python bench/rerun_bench.py --lines 2 --latency 0
    python bench/rerun_bench.py --repeat 5

Needs the distribution registry (``docker-registry``); about a minute.

Two loopback registries ("hub", the primary, and "ghcr"), each behind a counting
proxy that holds every request ``--latency`` seconds before forwarding it, as a
distant registry does. Each line's build legs are stood in for as ``publish
--digests`` takes them: per platform an image of five layers shared by every line
of its architecture, three of its own and its config, pushed to the primary, and
its digest record. The publish stage (``Publisher.run``, as ``publisher publish
--no-smoke`` runs it) publishes the release once. Then the same release is
published again with nothing changed, ``--repeat`` times each way, interleaved:

* **deep**: what the copy step does now (``Publisher.deep``): every image and blob
  under the release's indexes is checked on the other registry (HEADs; the
  manifests are read from the primary, those the run read to assemble its
  indexes not again), so an image or blob that registry lost is copied back;
* **shallow**: ``deep=False``, what it did before: an index a registry holds is
  taken as whole, and nothing below it is checked.

Each way is measured twice: the reading and planning before any write
(``Publisher.plan_run``: list the tags, assemble the indexes, observe, plan) and
the whole rerun (``Publisher.run``, which also verifies every index and tag on
every registry and writes no tag). Reported: wall time (median and range), the
requests each registry got (HEAD and GET; none mutating is checked), and the ratio
deep / shallow of each. The machine may be shared: compare within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from publisher.adapters.output import Output  # noqa: E402
from publisher.adapters.registry import RegistryClient, RetryPolicy  # noqa: E402
from publisher.core import config as config_mod  # noqa: E402
from publisher.core.platforms import Platform  # noqa: E402
from publisher.core.records import DigestRecord  # noqa: E402
from publisher.core.version import parse_release  # noqa: E402
from publisher.stages.publish import Publisher, PublishOptions, load_release  # noqa: E402
from tests.integration.conftest import matrix_text  # noqa: E402
from tests.support.faultproxy import Fault, FaultProxy  # noqa: E402
from tests.support.images import make_layer, make_platform_image, push_raw  # noqa: E402

RELEASE = "v1.0.0"
PLATFORMS = ("linux/amd64", "linux/arm64")
REPO = "bench/php-fpm"
REGISTRIES = ("hub", "ghcr")
METHODS = ("HEAD", "GET")
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
RETRY = RetryPolicy(attempts=3, initial_delay=0.2, max_delay=0.4, total_timeout=30.0)


def build_legs(primary_url: str, image_repo: str, lines: Sequence[str]) -> list[DigestRecord]:
    """Each line's platform images pushed to the primary, and their digest records."""
    rng = random.Random(1)
    bases = {p: [make_layer(2048, rng, f"base{i}") for i in range(5)] for p in PLATFORMS}
    records = []
    for php in lines:
        for platform in PLATFORMS:
            image = make_platform_image(
                platform, rng=rng, layer_sizes=(2048,) * 3, shared_layers=bases[platform]
            )
            push_raw(primary_url, REPO, image)
            records.append(
                DigestRecord(
                    RELEASE,
                    php,
                    Platform.parse(platform),
                    image_repo,
                    image.digest,
                    f"php:{php}-fpm-alpine",
                    None,
                    "buildah",
                    "0" * 64,
                )
            )
    return records


class Stage:
    """The publish stage as ``publisher publish --no-smoke`` runs it, on the proxies."""

    def __init__(
        self, config: config_mod.Config, proxies: Mapping[str, FaultProxy], notes: Path
    ) -> None:
        self.config, self.proxies, self.notes = config, proxies, notes

    def publisher(self, deep: bool) -> Publisher:
        out = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
        release = parse_release(RELEASE)
        config, record = load_release(self.config, self.notes, release, out)
        clients = {
            name: RegistryClient(proxy.host, plain_http=True, retry=RETRY, timeout=10.0)
            for name, proxy in self.proxies.items()
        }
        options = PublishOptions(notes_dir=self.notes)
        return Publisher(config, release, clients, out, options, record=record, deep=deep)

    def measure(
        self, step: Callable[[Sequence[DigestRecord]], object], records: Sequence[DigestRecord]
    ) -> tuple[float, dict[str, dict[str, int]]]:
        for proxy in self.proxies.values():
            proxy.reset_counts()
        start = time.monotonic()
        step(records)
        wall = time.monotonic() - start
        mutating = sum(p.count(m) for p in self.proxies.values() for m in MUTATING)
        if mutating:
            raise SystemExit(f"a rerun with nothing changed sent {mutating} mutating requests")
        counted = {
            name: {m: proxy.count(m) for m in METHODS} for name, proxy in self.proxies.items()
        }
        return wall, counted


def requests_said(counted: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(
        f"{name} " + ", ".join(f"{m} {counted[name][m]}" for m in METHODS) for name in counted
    )


def total(counted: Mapping[str, Mapping[str, int]]) -> int:
    return sum(n for by_method in counted.values() for n in by_method.values())


def compare(
    title: str, stage: Stage, records: Sequence[DigestRecord], repeat: int, whole: bool
) -> None:
    ways = {"deep": True, "shallow": False}
    walls: dict[str, list[float]] = {name: [] for name in ways}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for _ in range(repeat):
        for name, deep in ways.items():
            publisher = stage.publisher(deep)
            wall, counted = stage.measure(publisher.run if whole else publisher.plan_run, records)
            walls[name].append(wall)
            if counts.setdefault(name, counted) != counted:
                raise SystemExit(f"{title}, {name}: the requests differ between runs")
    print(f"\n{title}")
    print(f"  {'':<8} {'median':>8} {'range':>17}   requests")
    for name in ways:
        runs = walls[name]
        print(
            f"  {name:<8} {statistics.median(runs):7.3f}s "
            f"{min(runs):7.3f}s-{max(runs):7.3f}s   {requests_said(counts[name])}"
        )
    time_ratio = statistics.median(walls["deep"]) / statistics.median(walls["shallow"])
    request_ratio = total(counts["deep"]) / total(counts["shallow"])
    print(f"  deep / shallow: time {time_ratio:.2f}x, requests {request_ratio:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=5, help="PHP lines (default 5)")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds held per request")
    parser.add_argument("--repeat", type=int, default=3, help="runs each way (default 3)")
    args = parser.parse_args()
    lines = [f"8.{n}" for n in range(1, args.lines + 1)]
    print(
        f"a rerun of {RELEASE} with nothing changed: {len(lines)} lines x {len(PLATFORMS)} "
        f"platforms on 2 registries, {args.latency * 1000:.0f} ms per request; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    with contextlib.ExitStack() as stack:
        notes = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rerun-bench-")))
        regs = {name: stack.enter_context(LocalRegistry()) for name in REGISTRIES}
        proxies = {n: stack.enter_context(FaultProxy(r.host)) for n, r in regs.items()}
        registries = [(n, f"{p.host}/{REPO}", n == "hub") for n, p in proxies.items()]
        config = config_mod.loads(
            matrix_text(registries, lines=lines, default_line=lines[-1], platforms=PLATFORMS)
        )
        records = build_legs(regs["hub"].url, f"{proxies['hub'].host}/{REPO}", lines)
        stage = Stage(config, proxies, notes)
        stage.publisher(deep=True).run(records)  # the release, published once
        latency = Fault("stall", stall_seconds=args.latency, times=None)
        for proxy in proxies.values():
            proxy.add(latency)
        compare("read and plan (Publisher.plan_run)", stage, records, args.repeat, whole=False)
        compare("the whole rerun (Publisher.run)", stage, records, args.repeat, whole=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
