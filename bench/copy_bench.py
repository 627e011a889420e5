#!/usr/bin/env python3
"""Copy benchmark on realistic image sizes (prints figures; not a timed test).

    python bench/copy_bench.py              # the whole table
    python bench/copy_bench.py --quick      # 1x sizes, one and two targets only

Needs the distribution registry (``docker-registry``) and ``skopeo``; about 2 GB of
temporary disk and 10-15 minutes on 2 cores for the whole table.

The release: 5 PHP lines x 2 platforms. Per platform image a 4 MB base layer
shared by every line of that architecture, a 20 MB PHP layer and an 8 MB
extensions layer, all random (incompressible) bytes, so 288 MB of unique blobs
(576 MB at 2x). The bench writes them as OCI blobs, manifests and one index per
line straight into a loopback primary registry: no image build is needed.

Then, for each case, on fresh loopback target registries, every registry behind
its own counting proxy (each proxy in its own process):

* **publisher**: the copy step of ``publisher publish`` (``Transfers.copy``: all
  five indexes to every target registry in one transfer plan: observe, plan,
  execute, as the publish stage does with the transfer plan of its publish
  plan, which also knows the indexes it assembled and which targets lack
  them), in a child process;
* **skopeo, sequential**: ``skopeo copy --all --preserve-digests`` per line and
  target, one after another;
* **skopeo, parallel**: the same copies all at once.

Each tool runs ``--repeat`` times (default 3), interleaved, each time onto fresh
targets. Reported: wall time (median and range; for publisher the copy step
inside its process, as ``publisher publish`` runs it, with the process start
given apart; for the script, its whole run), CPU seconds of the copying
processes, bytes uploaded per target registry / unique blob bytes, blobs
downloaded from the primary / unique blobs, requests by method (all registries,
the worst run), and the peak RSS of the largest copying process. The machine
may be shared: compare within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402

MB = 1000 * 1000
LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")
PLATFORMS = ("amd64", "arm64")
REPO = "acme/php-fpm"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
METHODS = ("HEAD", "GET", "POST", "PATCH", "PUT", "DELETE")


# --------------------------------------------------------------------------- the release


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _push_blob(session: requests.Session, url: str, path: Path) -> tuple[str, int]:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * MB):
            hasher.update(chunk)
    digest = "sha256:" + hasher.hexdigest()
    size = path.stat().st_size
    start = session.post(f"{url}/v2/{REPO}/blobs/uploads/", timeout=60)
    start.raise_for_status()
    location = start.headers["Location"]
    sep = "&" if "?" in location else "?"
    with open(path, "rb") as handle:
        done = session.put(
            f"{location}{sep}digest={digest}",
            data=handle,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            timeout=600,
        )
    done.raise_for_status()
    return digest, size


def _random_blob(directory: Path, size: int, rng: random.Random) -> Path:
    path = directory / f"blob-{rng.getrandbits(64):x}"
    with open(path, "wb") as handle:
        left = size
        while left:
            piece = min(left, 4 * MB)
            handle.write(rng.randbytes(piece))
            left -= piece
    return path


def build_release(
    url: str,
    sizes: Sequence[Sequence[int]],
    seed: int,
    lines: Sequence[str] = LINES,
    platforms: Sequence[str] = PLATFORMS,
) -> dict[str, str]:
    """Push the release to the registry at ``url``: line -> index digest.

    ``sizes`` per line: the layer sizes after the shared base layer (``sizes[0][0]``
    is the base layer size, shared by every line of a platform).
    """
    rng = random.Random(seed)
    session = requests.Session()
    indexes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="copy-bench-") as tmp:
        base: dict[str, tuple[str, int]] = {}
        for platform in platforms:
            path = _random_blob(Path(tmp), sizes[0][0], rng)
            base[platform] = _push_blob(session, url, path)
            path.unlink()
        for line, layer_sizes in zip(lines, sizes[1:], strict=False):
            entries = []
            for platform in platforms:
                layers = [base[platform]]
                for size in layer_sizes:
                    path = _random_blob(Path(tmp), size, rng)
                    layers.append(_push_blob(session, url, path))
                    path.unlink()
                config = _canonical(
                    {
                        "architecture": platform,
                        "os": "linux",
                        "config": {"Labels": {"php": line}},
                        "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]},
                    }
                )
                config_path = Path(tmp) / "config"
                config_path.write_bytes(config)
                _push_blob(session, url, config_path)
                manifest = _canonical(
                    {
                        "schemaVersion": 2,
                        "mediaType": OCI_MANIFEST,
                        "config": {
                            "mediaType": OCI_CONFIG,
                            "digest": _digest(config),
                            "size": len(config),
                        },
                        "layers": [
                            {"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers
                        ],
                    }
                )
                _put_manifest(session, url, manifest, OCI_MANIFEST)
                entries.append(
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": _digest(manifest),
                        "size": len(manifest),
                        "platform": {"architecture": platform, "os": "linux"},
                    }
                )
            index = _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            _put_manifest(session, url, index, OCI_INDEX)
            indexes[line] = _digest(index)
    return indexes


def _put_manifest(session: requests.Session, url: str, body: bytes, media_type: str) -> None:
    reply = session.put(
        f"{url}/v2/{REPO}/manifests/{_digest(body)}",
        data=body,
        headers={"Content-Type": media_type},
        timeout=60,
    )
    reply.raise_for_status()


def unique_bytes(url: str, indexes: dict[str, str]) -> tuple[int, int]:
    """(unique blob bytes, unique blob count) below the indexes, read back from the registry."""
    session = requests.Session()
    accept = {"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}
    blobs: dict[str, int] = {}
    for digest in indexes.values():
        index = session.get(f"{url}/v2/{REPO}/manifests/{digest}", headers=accept, timeout=60)
        for child in index.json()["manifests"]:
            manifest = session.get(
                f"{url}/v2/{REPO}/manifests/{child['digest']}", headers=accept, timeout=60
            ).json()
            for blob in [manifest["config"], *manifest["layers"]]:
                blobs[blob["digest"]] = blob["size"]
    return sum(blobs.values()), len(blobs)


# --------------------------------------------------------------------------- counting proxies


def _proxy_main(upstream: str, conn: Connection) -> None:
    from tests.support.faultproxy import FaultProxy

    proxy = FaultProxy(upstream).start()
    conn.send(proxy.host)
    while True:
        command = conn.recv()
        if command == "stop":
            proxy.stop()
            conn.send(None)
            return
        if command == "reset":
            proxy.reset_counts()
            conn.send(None)
        elif command == "counts":
            by_method = {m: proxy.count(m) for m in METHODS}
            blob_gets = proxy.count("GET", "blob")
            conn.send(
                {"methods": by_method, "uploaded": proxy.uploaded_bytes, "blob_gets": blob_gets}
            )


class ProxyProcess:
    """A counting FaultProxy in its own process (so proxies do not share one GIL)."""

    def __init__(self, upstream: str) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.Process(
            target=_proxy_main, args=(upstream, child), daemon=True
        )
        self._proc.start()
        self.host: str = self._conn.recv()

    def call(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self._proc.join(timeout=10)


@contextmanager
def registry_behind_proxy() -> Iterator[tuple[LocalRegistry, ProxyProcess]]:
    registry = LocalRegistry().start()
    proxy = ProxyProcess(registry.host)
    try:
        yield registry, proxy
    finally:
        proxy.stop()
        registry.stop()


# --------------------------------------------------------------------------- the copiers


def _child_copy(spec: str) -> None:
    """Child mode: publisher's copy step (observe, plan, execute: ``Transfers.copy``)."""
    from publisher.adapters.registry import RegistryClient
    from publisher.adapters.registry.transfer import Transfers

    data = json.loads(spec)
    source = RegistryClient(data["source"], plain_http=True)
    targets = [(RegistryClient(host, plain_http=True), REPO) for host in data["targets"]]
    start = time.monotonic()
    Transfers(workers=data["transfers"]).copy(source, REPO, targets, data["digests"])
    print(json.dumps({"wall": time.monotonic() - start, "rss": _hwm(os.getpid())}))


def _hwm(pid: int) -> int:
    """The peak RSS (VmHWM) of a running process, in bytes; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclasses.dataclass
class Usage:
    """What a set of processes used: peak RSS of the largest one, CPU seconds of all."""

    rss: int = 0
    cpu: float = 0.0
    #: wall time spent starting the process (Python and its imports), not copying
    startup: float = 0.0

    def add(self, other: Usage) -> Usage:
        return Usage(max(self.rss, other.rss), self.cpu + other.cpu)


def _wait(procs: Sequence[subprocess.Popen[bytes]]) -> Usage:
    """Wait for every process; fail if one failed.

    VmHWM is read every 10 ms while they run (``ru_maxrss`` would include the
    size of this process at fork time); CPU time comes from ``wait4``.
    """
    usage = Usage()
    running = {p.pid: p for p in procs}
    while running:
        for pid, proc in list(running.items()):
            usage.rss = max(usage.rss, _hwm(pid))
            done, status, rusage = os.wait4(pid, os.WNOHANG)
            if done:
                proc.returncode = os.waitstatus_to_exitcode(status)
                usage.cpu += rusage.ru_utime + rusage.ru_stime
                del running[pid]
                if proc.returncode != 0:
                    raise SystemExit(f"{proc.args!r} failed with exit status {proc.returncode}")
        time.sleep(0.01)
    return usage


def run_publisher(
    source: str, targets: Sequence[str], digests: Sequence[str], transfers: int
) -> tuple[float, Usage]:
    spec = json.dumps(
        {
            "source": source,
            "targets": list(targets),
            "digests": list(digests),
            "transfers": transfers,
        }
    )
    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, __file__, "--child", spec], stdout=out, cwd=ROOT)
        usage = _wait([proc])
        wall = time.monotonic() - start
        out.seek(0)
        child = json.loads(out.read())
    usage.rss = max(usage.rss, child["rss"])
    # The copy step itself, as `publisher publish` runs it inside its process:
    usage.startup = wall - child["wall"]
    return child["wall"], usage


def run_skopeo(
    source: str, targets: Sequence[str], indexes: dict[str, str], parallel: bool
) -> tuple[float, Usage]:
    commands = [
        [
            "skopeo",
            "copy",
            "--all",
            "--preserve-digests",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{source}/{REPO}@{digest}",
            f"docker://{target}/{REPO}:{line}",
        ]
        for target in targets
        for line, digest in indexes.items()
    ]
    start = time.monotonic()
    if parallel:
        usage = _wait([subprocess.Popen(c, stdin=subprocess.DEVNULL) for c in commands])
    else:
        usage = Usage()
        for command in commands:
            usage = usage.add(_wait([subprocess.Popen(command, stdin=subprocess.DEVNULL)]))
    return time.monotonic() - start, usage


# --------------------------------------------------------------------------- the runs


@dataclasses.dataclass
class Sample:
    wall: float
    usage: Usage
    upload_ratio: list[float]
    download_ratio: float
    methods: dict[str, int]


@dataclasses.dataclass
class Row:
    case: str
    tool: str
    samples: list[Sample] = dataclasses.field(default_factory=list)

    def cells(self) -> list[str]:
        walls = sorted(s.wall for s in self.samples)
        median = statistics.median(walls)
        spread = f" ({walls[0]:.2f}–{walls[-1]:.2f})" if len(walls) > 1 else ""
        startup = statistics.median(s.usage.startup for s in self.samples)
        if startup:
            spread += f" + {startup:.2f} s process start"
        worst = max(self.samples, key=lambda s: (max(s.upload_ratio, default=0), s.download_ratio))
        uploads = " / ".join(f"{r:.3f}" for r in worst.upload_ratio)
        methods = ", ".join(f"{m} {n}" for m, n in worst.methods.items() if n)
        return [
            self.case,
            self.tool,
            f"{median:.2f} s{spread}",
            f"{statistics.median(s.usage.cpu for s in self.samples):.2f} s",
            uploads,
            f"{worst.download_ratio:.3f}",
            methods,
            f"{max(s.usage.rss for s in self.samples) / 1e6:.0f} MB",
        ]


HEADER = (
    "case",
    "tool",
    "wall, median (range)",
    "CPU (copying processes)",
    "bytes uploaded / unique, per target",
    "blobs downloaded / unique",
    "requests (worst run)",
    "peak RSS",
)


def measure(
    source: ProxyProcess,
    targets: Sequence[ProxyProcess],
    unique: tuple[int, int],
    run: Callable[[], tuple[float, Usage]],
) -> Sample:
    for proxy in (source, *targets):
        proxy.call("reset")
    wall, usage = run()
    counts = [proxy.call("counts") for proxy in (source, *targets)]
    return Sample(
        wall,
        usage,
        [c["uploaded"] / unique[0] for c in counts[1:]],
        counts[0]["blob_gets"] / unique[1],
        {m: sum(c["methods"][m] for c in counts) for m in METHODS},
    )


Copier = Callable[[Sequence[str]], tuple[float, Usage]]


def release_case(
    name: str,
    primary: ProxyProcess,
    primary_url: str,
    indexes: dict[str, str],
    *,
    targets: int,
    tools: Sequence[tuple[str, Copier]],
    repeat: int,
    rerun: bool = False,
) -> list[Row]:
    """Each tool ``repeat`` times, interleaved, on fresh target registries."""
    unique = unique_bytes(primary_url, indexes)
    rows = {tool: Row(name, tool) for tool, _ in tools}
    reruns = {tool: Row(name, tool + ", no-op rerun") for tool, _ in tools}
    for _ in range(repeat):
        for tool, copier in tools:
            with ExitStack() as stack:
                proxies = [stack.enter_context(registry_behind_proxy())[1] for _ in range(targets)]
                hosts = [p.host for p in proxies]
                rows[tool].samples.append(
                    measure(primary, proxies, unique, functools.partial(copier, hosts))
                )
                if rerun:
                    reruns[tool].samples.append(
                        measure(primary, proxies, unique, functools.partial(copier, hosts))
                    )
    result = list(rows.values())
    if rerun:
        result += list(reruns.values())
    return result


def copiers(
    primary: ProxyProcess, indexes: dict[str, str], transfers: Sequence[int], skopeo: Sequence[bool]
) -> list[tuple[str, Copier]]:
    digests = list(indexes.values())
    tools: list[tuple[str, Copier]] = [
        (
            f"publisher --transfers {n}",
            functools.partial(_publisher_copier, primary.host, digests, n),
        )
        for n in transfers
    ]
    for parallel in skopeo:
        tools.append(
            (
                "skopeo script, " + ("parallel" if parallel else "sequential"),
                functools.partial(_skopeo_copier, primary.host, indexes, parallel),
            )
        )
    return tools


def _publisher_copier(
    source: str, digests: list[str], transfers: int, hosts: Sequence[str]
) -> tuple[float, Usage]:
    return run_publisher(source, hosts, digests, transfers)


def _skopeo_copier(
    source: str, indexes: dict[str, str], parallel: bool, hosts: Sequence[str]
) -> tuple[float, Usage]:
    return run_skopeo(source, hosts, indexes, parallel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1x sizes only, no 300 MB layer")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and case (median)")
    parser.add_argument("--transfers", type=int, default=None, help="default: publisher's default")
    args = parser.parse_args()
    if args.child:
        _child_copy(args.child)
        return
    from publisher.adapters.registry.transfer import DEFAULT_TRANSFERS

    n = args.transfers or DEFAULT_TRANSFERS
    both = (False, True)
    rows: list[Row] = []

    def report(new: list[Row]) -> None:
        rows.extend(new)
        for row in new:
            print("  " + " | ".join(row.cells()), file=sys.stderr, flush=True)

    with registry_behind_proxy() as (primary_registry, primary):
        url = primary_registry.url
        one_x = [(4 * MB,)] + [(20 * MB, 8 * MB)] * len(LINES)
        small = build_release(url, one_x, seed=1)
        tools = copiers(primary, small, (n,), both)
        report(
            release_case(
                "5 lines, 1x, 1 target",
                primary,
                url,
                small,
                targets=1,
                tools=copiers(primary, small, (n, 1), both),
                repeat=args.repeat,
                rerun=True,
            )
        )
        report(
            release_case(
                "5 lines, 1x, 2 targets",
                primary,
                url,
                small,
                targets=2,
                tools=tools,
                repeat=args.repeat,
            )
        )
        if not args.quick:
            two_x = [(8 * MB,)] + [(40 * MB, 16 * MB)] * len(LINES)
            big = build_release(url, two_x, seed=2)
            tools = copiers(primary, big, (n,), both)
            report(
                release_case(
                    "5 lines, 2x, 1 target",
                    primary,
                    url,
                    big,
                    targets=1,
                    tools=tools,
                    repeat=args.repeat,
                )
            )
            report(
                release_case(
                    "5 lines, 2x, 2 targets",
                    primary,
                    url,
                    big,
                    targets=2,
                    tools=tools,
                    repeat=args.repeat,
                )
            )
            huge = _single_layer(url, 300 * MB)
            report(
                release_case(
                    "one 300 MB layer, 1 target",
                    primary,
                    url,
                    huge,
                    targets=1,
                    tools=copiers(primary, huge, (n,), (False,)),
                    repeat=args.repeat,
                )
            )
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


def _single_layer(url: str, size: int) -> dict[str, str]:
    """One line, one platform, one layer of ``size`` bytes."""
    return build_release(url, [(size,), ()], seed=3, lines=("big",), platforms=("amd64",))


if __name__ == "__main__":
    main()
