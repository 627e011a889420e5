#!/usr/bin/env python3
"""Years of releases: what a long notes directory costs (prints figures; not a timed test).

    python bench/history_bench.py                  # 150 releases
    python bench/history_bench.py --releases 300

Needs the distribution registry (``docker-registry``); a few minutes.

Two loopback registries ("hub" and "ghcr"), each behind a proxy that holds every
request ``--latency`` seconds (30 ms) as a distant registry does, and a third registry
for the bases. ``--releases``
minus one releases are laid down as years of history would leave them: each PHP line's
image pushed by raw HTTP to both registries with its pin tags, and the release record
and size history that ``publish`` writes (``notes.release_json``) in the notes directory
next to the matrix. The lines change over the years as a maintainer changes
matrix.yaml: 8.1 to 8.5 at first, 8.1 dropped after a third of the releases, 8.6
added after two thirds; the default line moves from 8.4 to 8.5 half-way. The floating
tags point at the newest release.

Then, each as a separate ``python -m publisher`` process (as a maintainer or a workflow
runs it) under ``/usr/bin/time``, with the figures printed: ``publish`` of the next
release (it reads and rewrites the size history and writes its notes, with the size
history chart), ``audit`` (every record on every registry), ``audit --json``,
``republish-check`` (the newest stable record), ``verify`` of the oldest release
(its record, whose lines matrix.yaml no longer all has), and ``plan`` of the next
release. Reported: wall time, peak memory (maximum resident set size), the requests
the registries received, exit status, and the size of the notes directory and the size
history.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from publisher.core import notes  # noqa: E402
from publisher.core.records import DigestRecord, write_record_file  # noqa: E402
from tests.integration.conftest import write_matrix_file  # noqa: E402
from tests.support.faultproxy import Fault, FaultProxy  # noqa: E402
from tests.support.images import OCI_INDEX, make_image, push_raw  # noqa: E402

PLATFORMS = ("linux/amd64", "linux/arm64")


def tag_of(k: int) -> str:
    return f"v{1 + k // 50}.{k % 50}.0"


def lines_of(k: int, total: int) -> tuple[str, ...]:
    lines = ["8.1", "8.2", "8.3", "8.4", "8.5"]
    if k >= total // 3:
        lines.remove("8.1")
    if k >= 2 * total // 3:
        lines.append("8.6")
    return tuple(lines)


def default_of(k: int, total: int) -> str:
    return "8.4" if k < total // 2 else "8.5"


def write_matrix(root: Path, hosts: dict[str, str], repo: str, lines, default: str) -> Path:
    registries = [
        (name, f"{host}/{repo}", name == "hub") for name, host in hosts.items() if name != "bases"
    ]
    return write_matrix_file(
        root,
        registries,
        lines=lines,
        default_line=default,
        platforms=PLATFORMS,
        base_image=f"{hosts['bases']}/library/php:{{php}}-fpm-alpine",
    )


def lay_down(
    root: Path, hosts: dict[str, str], upstream: dict[str, str], repo: str, total: int
) -> dict[str, str]:
    """``total - 1`` releases on both registries and in the notes; the bases' digests.
    The records name ``hosts`` (the proxies publisher talks to); the images are pushed
    to ``upstream``, the registries behind them."""
    notes_dir = root / "release-notes"
    notes_dir.mkdir()
    bases = {
        php: push_raw(
            f"http://{hosts['bases']}", "library/php", make_image(PLATFORMS), [f"{php}-fpm-alpine"]
        )
        for php in ("8.1", "8.2", "8.3", "8.4", "8.5", "8.6")
    }
    registries = tuple(
        notes.RegistryFacts(name, f"{host}/{repo}", name == "hub")
        for name, host in hosts.items()
        if name != "bases"
    )
    history = notes.SizeHistory()
    floating: dict[str, tuple[str, str]] = {}  # tag -> (release, index digest)
    for k in range(total - 1):
        release, default = tag_of(k), default_of(k, total)
        facts_lines = []
        for php in lines_of(k, total):
            image = make_image(PLATFORMS)
            tags = [f"{release}-php-{php}"] + ([release] if php == default else [])
            for host in upstream.values():
                digest = push_raw(f"http://{host}", repo, image, tags)
            facts_lines.append(
                notes.LineFacts(
                    php=php,
                    php_version=f"{php}.{k}",
                    index_digest=digest,
                    tags=(*tags, f"php-{php}"),
                    base_image=f"{hosts['bases']}/library/php:{php}-fpm-alpine",
                    base_digest=bases[php],
                    size_budget_bytes=700_000_000,
                    platforms=tuple(
                        notes.PlatformFacts(i.platform, i.digest, i.compressed_size)  # type: ignore[arg-type]
                        for i in image.images
                    ),
                    extensions=("zip",),
                )
            )
            floating[f"php-{php}"] = (release, digest)
            if php == default:
                floating["latest"] = (release, digest)
        facts = notes.ReleaseFacts(
            release=release,
            stable=True,
            stand_in=False,
            default_line=default,
            published_at=f"{2026 + k * 4 // total}-0{1 + k % 9}-01T10:00:00Z",
            registries=registries,
            lines=tuple(facts_lines),
            floating=tuple(
                notes.FloatingFacts(r.name, tag, rel, digest)
                for r in registries
                for tag, (rel, digest) in floating.items()
                if rel == release
            ),
        )
        history = history.with_release(facts)
        (notes_dir / f"{release}.json").write_text(notes.release_json(facts, history))
        (notes_dir / f"{release}.md").write_text(notes.release_markdown(facts, history))
    (notes_dir / notes.HISTORY_FILE).write_text(history.to_json())
    # The floating tags, as the newest release of each line left them.
    for host in upstream.values():
        for tag, (_release, digest) in floating.items():
            base = f"http://{host}/v2/{repo}/manifests"
            body = requests.get(f"{base}/{digest}", headers={"Accept": OCI_INDEX}, timeout=30)
            body.raise_for_status()
            put = requests.put(
                f"{base}/{tag}", data=body.content, headers={"Content-Type": OCI_INDEX}, timeout=30
            )
            put.raise_for_status()
    return bases


def timed(root: Path, env: dict[str, str], *argv: str) -> tuple[float, int, int, str]:
    """Wall seconds, peak RSS in MB, exit status and the last line of output."""
    report = root / f"time-{uuid.uuid4().hex[:6]}"
    start = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), sys.executable, "-m", "publisher", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    wall = time.perf_counter() - start
    rss_kb = int(report.read_text().strip().splitlines()[-1])
    last = (result.stdout.strip() or result.stderr.strip()).splitlines()
    return wall, rss_kb // 1024, result.returncode, last[-1][:100] if last else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=150)
    parser.add_argument(
        "--latency", type=float, default=0.03, help="seconds each registry request is held"
    )
    args = parser.parse_args()
    total = args.releases
    with (
        tempfile.TemporaryDirectory(prefix="history-bench-") as tmp,
        LocalRegistry() as hub,
        LocalRegistry() as ghcr,
        LocalRegistry() as bases_registry,
        FaultProxy(hub.host) as hub_proxy,
        FaultProxy(ghcr.host) as ghcr_proxy,
    ):
        root = Path(tmp)
        proxies = {"hub": hub_proxy, "ghcr": ghcr_proxy}
        upstream = {"hub": hub.host, "ghcr": ghcr.host}
        hosts = {"hub": hub_proxy.host, "ghcr": ghcr_proxy.host, "bases": bases_registry.host}
        repo = f"bench/php-fpm-{uuid.uuid4().hex[:6]}"
        start = time.perf_counter()
        bases = lay_down(root, hosts, upstream, repo, total)
        print(f"laid down {total - 1} releases in {time.perf_counter() - start:.0f} s")
        k = total - 1
        release, lines = tag_of(k), lines_of(k, total)
        matrix = write_matrix(root, hosts, repo, lines, default_of(k, total))
        (root / "docker").mkdir()
        (root / "docker" / "config.json").write_text("{}\n")
        env = {**os.environ, "DOCKER_CONFIG": str(root / "docker"), "PUBLISHER_CONFIG": str(matrix)}
        env.pop("GITHUB_ACTIONS", None)
        env.pop("GITHUB_OUTPUT", None)
        digests = root / "digests"
        digests.mkdir()
        for php in lines:
            for image in make_image(PLATFORMS).images:
                push_raw(f"http://{hub.host}", repo, image)
                record = DigestRecord(
                    release,
                    php,
                    image.platform,  # type: ignore[arg-type]
                    f"{hosts['hub']}/{repo}",
                    image.digest,
                    f"{hosts['bases']}/library/php:{php}-fpm-alpine",
                    bases[php],
                    "buildah",
                    "0" * 64,
                )
                write_record_file(digests / record.file_name, record)
        runs = [
            ("plan (next release)", ("plan", release)),
            (
                "publish (next release)",
                ("publish", release, "--digests", str(digests), "--no-smoke"),
            ),
            ("audit", ("audit",)),
            ("audit --json", ("audit", "--json")),
            ("republish-check", ("republish-check",)),
            ("verify (oldest release)", ("verify", tag_of(0))),
        ]
        for proxy in proxies.values():
            proxy.add(Fault("stall", stall_seconds=args.latency, times=None))
        print(f"every registry request held {args.latency * 1000:.0f} ms at a proxy")
        print(f"{'command':24} {'wall s':>7} {'peak MB':>8} {'requests':>9} {'exit':>5}  last line")
        for name, argv in runs:
            for proxy in proxies.values():
                proxy.reset_counts()
            wall, rss, code, last = timed(root, env, *argv)
            sent = sum(proxy.count() for proxy in proxies.values())
            print(f"{name:24} {wall:7.1f} {rss:8d} {sent:9d} {code:5d}  {last}")
        notes_dir = root / "release-notes"
        size = sum(p.stat().st_size for p in notes_dir.iterdir())
        history = (notes_dir / notes.HISTORY_FILE).stat().st_size
        markdown = (notes_dir / f"{release}.md").stat().st_size
        print(
            f"notes directory: {len(list(notes_dir.iterdir()))} files, {size // 1024} KiB; "
            f"size-history.json {history // 1024} KiB; {release}.md {markdown // 1024} KiB"
        )


if __name__ == "__main__":
    main()
