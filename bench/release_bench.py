#!/usr/bin/env python3
"""Release benchmark on a stand-in matrix (prints figures; not a timed test).

    python bench/release_bench.py                     # offline: all five lines, both platforms
    python bench/release_bench.py --lines 8.4         # quicker
    python bench/release_bench.py --matrix real-php   # real PHP (Debian stand-in bases)

Compares, on the same machine in the same run:

* **publisher**: ``release`` of the offline (STAND-IN) matrix to two loopback
  registries, each behind a counting proxy; then a rerun with nothing changed;
  then the next release (whose floating tags move: a tag promotion);
* **script**: what a straightforward release script does with the builder's CLI
  and skopeo: ``buildah build --platform linux/amd64,linux/arm64 --manifest`` per
  line, then ``buildah manifest push --all`` of every tag to every registry.

Both build with buildah (arm64 under QEMU) from the same rendered Dockerfiles and
STAND-IN bases: busybox ones (``--matrix offline``, about 1 MB per image) or the
real-PHP ones built from Debian's packages (``--matrix real-php``, lines 8.2 and 8.4,
tens of MB per image; building those bases is not timed). Reported per run: wall time, bytes uploaded per registry (request
bodies sent to blob upload endpoints, counted at the proxy), the unique blob bytes
that had to be uploaded, and registry requests by kind. publisher's own overhead
is its wall time outside building, pushing and smoke-testing (plan, assembling
indexes, verification, tags, notes). The machine is shared: compare the ratios
within one run, not absolute seconds across runs; each run's 1-minute load average
at its start and end is printed with it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.builders import select_builder  # noqa: E402
from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from publisher.adapters.output import Output  # noqa: E402
from publisher.adapters.registry import RegistryClient  # noqa: E402
from publisher.adapters.runner import Runner  # noqa: E402
from publisher.adapters.smoke import smoke_tester  # noqa: E402
from publisher.core import config as config_mod  # noqa: E402
from publisher.core import fileio  # noqa: E402
from publisher.core.errors import PublisherError  # noqa: E402
from publisher.core.plan import Plan, plan  # noqa: E402
from publisher.core.reference import Reference  # noqa: E402
from publisher.core.version import parse_release  # noqa: E402
from publisher.stages import standins  # noqa: E402
from publisher.stages.clients import ClientFactory  # noqa: E402
from publisher.stages.release import ReleaseOptions, map_to_local, release  # noqa: E402
from tests.support.faultproxy import FaultProxy  # noqa: E402

MATRICES = {
    "offline": ROOT / "examples" / "offline" / "matrix.yaml",
    "real-php": ROOT / "examples" / "real-php" / "matrix.yaml",
}
KINDS = ("ping", "manifest", "blob", "upload", "tags")
LABELS = {
    "offline": "STAND-IN busybox bases, about 1 MB per image",
    "real-php": "real PHP from Debian's packages on STAND-IN bases (not Alpine)",
}


class TimedOutput(Output):
    """Records how long each step took, for the overhead figure."""

    def __init__(self) -> None:
        super().__init__(env={}, quiet=True)
        self.steps: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps[title] = self.steps.get(title, 0.0) + time.monotonic() - start


@dataclasses.dataclass
class Run:
    name: str
    wall: float
    uploaded: dict[str, int]
    requests: dict[str, dict[str, int]]
    build: float = 0.0
    push: float = 0.0
    smoke: float = 0.0
    steps: dict[str, float] = dataclasses.field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)

    @property
    def overhead(self) -> float:
        return max(0.0, self.wall - self.build - self.push - self.smoke)


def counts(proxy: FaultProxy) -> dict[str, int]:
    result = {kind: proxy.count(kind=kind) for kind in KINDS}
    result["mutating"] = proxy.mutating_requests
    return result


def unique_blob_bytes(host: str, repo: str, tags: list[str]) -> int:
    """Sum of every distinct config and layer blob reachable from ``tags``."""
    client = RegistryClient(host, plain_http=True)
    seen: dict[str, int] = {}
    for tag in tags:
        top = client.get_manifest(Reference(host, repo, tag))
        manifests = (
            [client.get_manifest_by_digest(repo, c.digest) for c in top.children]
            if top.is_index
            else [top]
        )
        for manifest in manifests:
            for blob in manifest.blobs:
                seen[blob.digest] = blob.size
    return sum(seen.values())


def publisher_run(
    name: str,
    cfg: config_mod.Config,
    tag: str,
    proxies: Mapping[str, FaultProxy],
    work: Path,
    runner: Runner,
) -> Run:
    for proxy in proxies.values():
        proxy.reset_counts()
    output = TimedOutput()
    builder = select_builder("buildah", Runner(output=output))
    smoke = smoke_tester(Runner(output=output), cfg, prefer="buildah")
    options = ReleaseOptions(
        digests_dir=work / "digests" / tag,
        notes_dir=work / "release-notes",
        jobs=2,
        created="2026-01-01T00:00:00Z",
    )
    load_start = os.getloadavg()[0]
    start = time.monotonic()
    release(
        cfg,
        parse_release(tag),
        builder=builder,
        clients=ClientFactory({}, output),
        options=options,
        smoke=smoke,
    )
    wall = time.monotonic() - start
    steps = output.steps
    build = sum(v for k, v in steps.items() if k.startswith("Build "))
    push = sum(v for k, v in steps.items() if k.startswith(("2/8", "3/8")))
    smoke_time = sum(v for k, v in steps.items() if k.startswith("5/8"))
    return Run(
        name,
        wall,
        {n: p.uploaded_bytes for n, p in proxies.items()},
        {n: counts(p) for n, p in proxies.items()},
        build=build,
        push=push,
        smoke=smoke_time,
        steps=dict(steps),
        load=(load_start, os.getloadavg()[0]),
    )


def script_run(
    cfg: config_mod.Config,
    tag: str,
    proxies: Mapping[str, FaultProxy],
    runner: Runner,
    bases: Mapping[str, str],
) -> Run:
    """The straightforward script: build a manifest list per line, push every tag everywhere.

    ``buildah build --manifest`` adds to a list that already exists under that name, so
    each run builds into lists of its own, removed afterwards with their images.
    """
    for proxy in proxies.values():
        proxy.reset_counts()
    existing: dict[str, list[str]] = {r.name: [] for r in cfg.registries}
    p = plan(cfg, tag, existing)
    prefix = f"localhost/bench-script-{uuid.uuid4().hex[:12]}"
    names: list[str] = []
    try:
        return timed_script(cfg, tag, proxies, runner, bases, p, prefix, names)
    finally:
        for name in names:
            remove_list(runner, name)


def remove_list(runner: Runner, name: str) -> None:
    """Remove a manifest list the script built, and the untagged images it listed."""
    shown = runner.run(["buildah", "manifest", "inspect", name], check=False, echo=False)
    digests = (
        [m["digest"] for m in json.loads(shown.stdout).get("manifests", [])] if shown.ok else []
    )
    runner.run(["buildah", "manifest", "rm", name], check=False, echo=False)
    if not digests:
        return
    listing = runner.run(
        ["buildah", "images", "--all", "--digests", "--format", "{{.ID}} {{.Digest}}"],
        check=False,
        echo=False,
    )
    rows = [row.split() for row in listing.stdout.splitlines()]
    ids = {row[0] for row in rows if len(row) == 2 and row[1] in digests}
    for image_id in sorted(ids):
        runner.run(["buildah", "rmi", image_id], check=False, echo=False)


def timed_script(
    cfg: config_mod.Config,
    tag: str,
    proxies: Mapping[str, FaultProxy],
    runner: Runner,
    bases: Mapping[str, str],
    p: Plan,
    prefix: str,
    names: list[str],
) -> Run:
    load_start = os.getloadavg()[0]
    start = time.monotonic()
    build_time = 0.0
    for line in cfg.lines:
        name = f"{prefix}/php-{line.php}:{tag}"
        names.append(name)
        begin = time.monotonic()
        runner.run(
            [
                "buildah",
                "build",
                "--isolation",
                "chroot",
                "--format",
                "docker",
                "--platform",
                ",".join(pl.value for pl in line.platforms),
                "--manifest",
                name,
                "-f",
                str(cfg.dockerfile_path(line.php)),
                "--build-arg",
                f"PHP_BASE_IMAGE={bases[line.php]}",
                "--build-arg",
                f"PUBLISHER_RELEASE={tag}",
                "--tls-verify=false",
                "--timestamp",
                "1767225600",
                str(cfg.root),
            ],
            echo=False,
        )
        build_time += time.monotonic() - begin
        for target in p.line(line.php).targets:
            registry = next(r for r in cfg.registries if r.name == target.registry)
            for t in target.tags:
                runner.run(
                    [
                        "buildah",
                        "manifest",
                        "push",
                        "--all",
                        "--tls-verify=false",
                        name,
                        f"docker://{registry.repository.name}:{t}",
                    ],
                    echo=False,
                )
    wall = time.monotonic() - start
    return Run(
        "script",
        wall,
        {n: px.uploaded_bytes for n, px in proxies.items()},
        {n: counts(px) for n, px in proxies.items()},
        build=build_time,
        push=wall - build_time,
        load=(load_start, os.getloadavg()[0]),
    )


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def cache_said() -> str:
    """Where the stand-in bases are cached, as the README says it, and the directory that
    is here (``fileio.cache_root``, which ``push_for_config`` uses)."""
    said = "$PUBLISHER_CACHE_DIR, else $XDG_CACHE_HOME/publisher, else ~/.cache/publisher"
    try:
        here = fileio.cache_root(os.environ)
    except PublisherError:  # no HOME, and none in the password database
        return said
    return f"{said}: here {here}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--matrix",
        choices=sorted(MATRICES),
        default="offline",
        help="offline (default): examples/offline, five lines on busybox STAND-IN bases; "
        "real-php: examples/real-php, PHP 8.2 and 8.4 on STAND-IN bases built with mmdebstrap "
        f"from Debian's php-fpm packages (cached under {cache_said()}; the first build "
        "takes minutes and is not timed)".replace("%", "%%"),
    )
    parser.add_argument("--lines", default=None, help="default: every line of the matrix")
    args = parser.parse_args()
    full = config_mod.load(MATRICES[args.matrix], {})
    lines = config_mod.parse_line_list(args.lines) if args.lines else full.line_names
    runner = Runner(output=Output(env={}, quiet=True))
    with (
        contextlib.ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="publisher-bench-") as tmp,
    ):
        work = Path(tmp)
        bases = stack.enter_context(LocalRegistry())
        pushed = standins.push_for_config(full.select(lines), bases.host, runner=runner)
        regs = {n: stack.enter_context(LocalRegistry()) for n in ("hub", "ghcr", "hub2", "ghcr2")}
        proxies = {n: stack.enter_context(FaultProxy(r.host)) for n, r in regs.items()}
        base_cfg = full.select(lines)

        def mapped(a: str, b: str) -> config_mod.Config:
            cfg = map_to_local(base_cfg, {"docker.io": proxies[a].host, "ghcr.io": proxies[b].host})
            return dataclasses.replace(cfg, base_mirror=bases.host)

        pub_cfg, script_cfg = mapped("hub", "ghcr"), mapped("hub2", "ghcr2")
        pair = {"dockerhub": proxies["hub"], "ghcr": proxies["ghcr"]}
        script_pair = {"dockerhub": proxies["hub2"], "ghcr": proxies["ghcr2"]}

        runs = [publisher_run("publisher v1.0.0", pub_cfg, "v1.0.0", pair, work, runner)]
        runs.append(
            publisher_run("publisher rerun, nothing changed", pub_cfg, "v1.0.0", pair, work, runner)
        )
        runs.append(
            publisher_run("publisher v1.1.0 (tags promoted)", pub_cfg, "v1.1.0", pair, work, runner)
        )
        script_bases = {php: str(ref) for php, ref in pushed.items()}
        runs.append(script_run(script_cfg, "v1.0.0", script_pair, runner, script_bases))

        repo = pub_cfg.primary.repository.path
        tags = [f"v1.0.0-php-{php}" for php in lines]
        unique = unique_blob_bytes(regs["hub"].host, repo, tags)

        client = RegistryClient(regs["hub"].host, plain_http=True)
        print(
            f"\n{args.matrix} matrix, lines {', '.join(lines)} x linux/amd64 + linux/arm64"
            f" ({LABELS[args.matrix]})\n"
        )
        print(f"unique blob bytes of one release: {mb(unique)}")
        for tag in tags:
            sizes = client.platform_sizes(Reference(regs["hub"].host, repo, tag))
            shown = ", ".join(f"{pl} {mb(size)}" for pl, size in sorted(sizes.items()))
            print(f"  {tag} compressed (config + layers): {shown}")
        print()
        header = (
            "run",
            "wall",
            "build",
            "push",
            "smoke",
            "own overhead",
            "uploaded (primary / second)",
            "requests primary: manifest/blob/upload/tags, mutating",
            "load avg 1 min, start -> end",
        )
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for run in runs:
            primary, second = list(run.uploaded)
            req = run.requests[primary]
            share = run.overhead / run.wall * 100 if run.wall else 0.0
            print(
                f"| {run.name} | {run.wall:.1f} s | {run.build:.1f} s | {run.push:.1f} s | {run.smoke:.1f} s"
                f" | {run.overhead:.2f} s ({share:.1f}%) | {mb(run.uploaded[primary])} / {mb(run.uploaded[second])}"
                f" | {req['manifest']}/{req['blob']}/{req['upload']}/{req['tags']}, {req['mutating']}"
                f" | {run.load[0]:.1f} -> {run.load[1]:.1f} |"
            )
        first, script = runs[0], runs[-1]
        print("\nwhere publisher v1.0.0 spent its time:")
        for title, seconds in first.steps.items():
            print(f"  {seconds:6.2f} s  {title}")
        print()
        print(
            f"publisher v1.0.0 uploaded per registry vs unique blob bytes: {first.uploaded['dockerhub'] / unique:.3f}x, {first.uploaded['ghcr'] / unique:.3f}x"
        )
        print(
            f"publisher wall without smoke tests vs script wall: {(first.wall - first.smoke) / script.wall:.2f}x"
        )
        print(
            f"script uploaded per registry vs unique blob bytes: {script.uploaded['dockerhub'] / unique:.3f}x, {script.uploaded['ghcr'] / unique:.3f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
