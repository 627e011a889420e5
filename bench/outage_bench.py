#!/usr/bin/env python3
"""What a registry that goes down while ``publisher publish`` writes its tags costs.

    python bench/outage_bench.py                 # every scenario, default and small retries
    python bench/outage_bench.py --lines 3       # three PHP lines instead of five
    python bench/outage_bench.py --faults hang   # a registry that hangs only (minutes)

Two real registries, hub (the primary) and ghcr, each behind a fault proxy; v1.0.0 is
published clean, then v2.0.0, and one registry goes down (every request answered 503,
its connection reset, or taken and never answered: each attempt then waits the answer
time limit, 30 s) from the first write of its pins, or of its floating tags, on. Prints, per scenario and retry setting, the exit code, the requests the down
registry was sent after it went down, and the wall time until the run exited.
Figures only: tests/integration/test_registry_down.py asserts the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from tests.integration.conftest import write_matrix_file  # noqa: E402
from tests.integration.test_record_scope import World  # noqa: E402
from tests.support.faultproxy import FaultProxy, Outage  # noqa: E402
from tests.support.publishing import isolated_env  # noqa: E402

LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")
#: Where each scenario's registry goes down: its first pin write, or floating-tag write.
FROM = {"pins": r"/manifests/v2\.0\.0-php-", "floating": r"/manifests/(latest|php-)"}
#: How the registry is down: the proxy's fault for each.
FAULTS = {"503": "status", "reset": "reset", "hang": "hang"}
RETRIES = {
    "default": {},
    "small": {
        "PUBLISHER_RETRY_ATTEMPTS": "3",
        "PUBLISHER_RETRY_INITIAL_DELAY": "0.05",
        "PUBLISHER_RETRY_MAX_DELAY": "0.1",
    },
}


def scenario(
    root: Path,
    hosts: dict[str, str],
    proxies: dict[str, FaultProxy],
    lines: tuple[str, ...],
    down: str,
    start: str,
    action: str,
    retries: dict[str, str],
) -> str:
    env = {**isolated_env(root), "PYTHONPATH": str(ROOT)}  # this checkout's publisher
    for name in (
        "PUBLISHER_RETRY_ATTEMPTS",
        "PUBLISHER_RETRY_INITIAL_DELAY",
        "PUBLISHER_RETRY_MAX_DELAY",
    ):
        env.pop(name, None)
    world = World(
        root,
        {n: proxies[n].host for n in hosts},
        f"down/php-{uuid.uuid4().hex[:8]}",
        write_matrix_file,
        {**env, "PUBLISHER_RETRY_ATTEMPTS": "1"},
    )
    matrix = world.matrix("matrix.yaml", lines=lines, platforms=("linux/amd64",))
    world.publish("v1.0.0", matrix, lines, ("linux/amd64",))
    digests = world.seed("v2.0.0", lines, ("linux/amd64",))
    world.env = {**env, **retries}
    fault = Outage(FAULTS[action], status=503, trigger=FROM[start])
    proxies[down].add(fault)
    result = world.run("publish", "v2.0.0", "--digests", str(digests), "--no-smoke", matrix=matrix)
    took = time.monotonic() - fault.at
    proxies[down].clear()
    error = next((ln for ln in result.stderr.splitlines() if ln.startswith("error:")), "")
    return (
        f"exit {result.returncode}  {fault.since:3d} requests to {down} after it went down"
        f"  {took:5.1f}s from then to exit   {error.removeprefix('error: ')[:110]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines", type=int, default=len(LINES), help="PHP lines, 8.4 first (default 5)"
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="the ways to be down, comma-separated"
    )
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f in FAULTS]
    lines = ("8.4", *[v for v in LINES if v != "8.4"][: args.lines - 1])
    with contextlib.ExitStack() as started, tempfile.TemporaryDirectory() as tmp:
        hosts = {n: started.enter_context(LocalRegistry()).host for n in ("hub", "ghcr")}
        proxies = {n: started.enter_context(FaultProxy(h)) for n, h in hosts.items()}
        k = 0
        for down, start in (("ghcr", "pins"), ("hub", "pins"), ("ghcr", "floating")):
            for action in faults:
                for label, retries in RETRIES.items():
                    k += 1
                    root = Path(tmp) / str(k)
                    root.mkdir()
                    said = scenario(root, hosts, proxies, lines, down, start, action, retries)
                    print(
                        f"{down:4} down from its {start:8} ({action:5}) {label:7} retries: {said}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
