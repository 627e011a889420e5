#!/usr/bin/env python3
"""Verify benchmark: one request at a time against several at once (prints figures; not a timed test).

    python bench/verify_bench.py                   # 5 lines x 2 platforms, 30 ms per request
    python bench/verify_bench.py --latency 0.1     # a registry further away
    python bench/verify_bench.py --repeat 5

Needs the distribution registry (``docker-registry``); about a minute.

A release of five PHP lines for linux/amd64 and linux/arm64 is pushed with raw
HTTP to two loopback registries ("hub" and "ghcr"). Each platform image has the
five layers of its architecture's base, shared by every line, three of its own
and its config: nine blobs, 50 distinct ones per registry for the release. Then
each registry is put behind a counting proxy that holds every request
``--latency`` seconds before forwarding it, as a distant registry does, and the
verify stage (``publisher verify``: list the tags, plan, check every
tag, index, child and blob) runs, interleaved, ``--repeat`` times each way:

* **one at a time**: ``workers=1``, one request in flight, registry after registry
  (what verify did before it read concurrently);
* **at once**: the default, both registries at the same time and up to
  ``REQUESTS_IN_FLIGHT`` requests on each.

Then the same with "ghcr" failing every manifest request with 503 (retries: 3
attempts, 0.2 s then 0.4 s apart), as during an outage.

Reported: wall time (median, and the range), the ratio of the medians, requests
by kind per run, and whether both ways gave the same report. The machine may be
shared: compare within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from publisher.adapters.output import Output  # noqa: E402
from publisher.adapters.registry import RegistryClient, RetryPolicy  # noqa: E402
from publisher.core import config as config_mod  # noqa: E402
from publisher.core import plan as planning  # noqa: E402
from publisher.core.version import parse_release  # noqa: E402
from publisher.stages.parallel import REQUESTS_IN_FLIGHT  # noqa: E402
from publisher.stages.verify import existing_tags, verify_release  # noqa: E402
from tests.integration.conftest import matrix_text  # noqa: E402
from tests.support.faultproxy import Fault, FaultProxy  # noqa: E402
from tests.support.images import (  # noqa: E402
    OCI_INDEX,
    TestImage,
    index_for,
    make_layer,
    make_platform_image,
    push_raw,
)

RELEASE = "v1.0.0"
LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")
PLATFORMS = ("linux/amd64", "linux/arm64")
REPO = "bench/php-fpm"
KINDS = ("ping", "tags", "manifest", "blob")
RETRY = RetryPolicy(attempts=3, initial_delay=0.2, max_delay=0.4, total_timeout=30.0)


def publish(config: config_mod.Config, urls: Mapping[str, str]) -> None:
    """Push every line's index with the tags the release plan gives it, on both registries."""
    rng = random.Random(1)
    bases = {p: [make_layer(2048, rng, f"base{i}") for i in range(5)] for p in PLATFORMS}
    plan = planning.plan(config, parse_release(RELEASE), {})
    for line in plan.lines:
        images = [
            make_platform_image(p, rng=rng, layer_sizes=(2048,) * 3, shared_layers=bases[p])
            for p in PLATFORMS
        ]
        image = TestImage(index_for(images, []), OCI_INDEX, images, [])
        for target in line.targets:
            push_raw(urls[target.registry], REPO, image, target.tags)


def run(
    config: config_mod.Config, proxies: Mapping[str, FaultProxy], workers: int
) -> tuple[float, dict[str, Any], dict[str, int]]:
    for proxy in proxies.values():
        proxy.reset_counts()
    clients = {
        name: RegistryClient(proxy.host, plain_http=True, retry=RETRY, timeout=10.0)
        for name, proxy in proxies.items()
    }
    out = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    start = time.monotonic()
    existing, unchecked = existing_tags(config, clients)
    plan = planning.plan(config, parse_release(RELEASE), existing)
    report = verify_release(
        config, plan, clients, out, unchecked=unchecked, workers=workers
    ).to_dict()
    wall = time.monotonic() - start
    counted = {k: sum(p.count(kind=k) for p in proxies.values()) for k in KINDS}
    return wall, report, counted


def same_words(report: dict[str, Any]) -> str:
    """The report, with the seconds a retry took (which vary) left out."""
    return re.sub(r" in \d+(?:\.\d+)? ?s\b", " in N s", json.dumps(report, sort_keys=True))


def compare(
    title: str, config: config_mod.Config, proxies: Mapping[str, FaultProxy], repeat: int
) -> None:
    ways = {"one at a time": 1, "at once": REQUESTS_IN_FLIGHT}
    walls: dict[str, list[float]] = {name: [] for name in ways}
    reports: dict[str, list[dict[str, Any]]] = {name: [] for name in ways}
    requests: dict[str, dict[str, int]] = {}
    for _ in range(repeat):
        for name, workers in ways.items():
            wall, report, counted = run(config, proxies, workers)
            walls[name].append(wall)
            reports[name].append(report)
            requests[name] = counted
    first = same_words(reports["one at a time"][0])
    same = all(same_words(r) == first for rs in reports.values() for r in rs)
    base = reports["one at a time"][0]
    unreachable = ", ".join(sorted(base["unreachable"])) or "none"
    print(f"\n{title} (unreachable: {unreachable}; defects: {len(base['defects'])})")
    print(f"  {'':<14} {'median':>8} {'range':>17}   requests ({', '.join(KINDS)})")
    for name in ways:
        runs = walls[name]
        shown = ", ".join(str(requests[name][k]) for k in KINDS)
        print(
            f"  {name:<14} {statistics.median(runs):7.2f}s "
            f"{min(runs):7.2f}s-{max(runs):7.2f}s   {shown}"
        )
    ratio = statistics.median(walls["one at a time"]) / statistics.median(walls["at once"])
    print(f"  one at a time / at once: {ratio:.1f}x; the same report every run: {same}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.03, help="seconds held per request")
    parser.add_argument("--repeat", type=int, default=3, help="runs each way (default 3)")
    args = parser.parse_args()
    print(
        f"verify {RELEASE}: {len(LINES)} lines x {len(PLATFORMS)} platforms on 2 registries, "
        f"{args.latency * 1000:.0f} ms per request; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    with contextlib.ExitStack() as stack:
        regs = {name: stack.enter_context(LocalRegistry()) for name in ("hub", "ghcr")}
        proxies = {n: stack.enter_context(FaultProxy(r.host)) for n, r in regs.items()}
        registries = [(n, f"{p.host}/{REPO}", n == "hub") for n, p in proxies.items()]
        config = config_mod.loads(matrix_text(registries, lines=LINES, platforms=PLATFORMS))
        publish(config, {n: r.url for n, r in regs.items()})
        latency = Fault("stall", stall_seconds=args.latency, times=None)
        for proxy in proxies.values():
            proxy.add(latency)
        compare("every registry answers", config, proxies, args.repeat)
        proxies["ghcr"].clear()
        proxies["ghcr"].add(
            Fault("status", path="/manifests/", status=503, times=None),
            Fault("stall", stall_seconds=args.latency, times=None),
        )
        compare("ghcr fails every manifest request (503)", config, proxies, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
