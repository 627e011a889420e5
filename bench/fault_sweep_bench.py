#!/usr/bin/env python3
"""The whole fault sweep of ``publisher publish`` (prints figures; not a timed test).

    python bench/fault_sweep_bench.py             # every write on each registry, every fault
    python bench/fault_sweep_bench.py --no-kill   # the 400 answers and lost answers only
    python bench/fault_sweep_bench.py --only lost # one kind of fault

tests/integration/test_fault_sweep.py runs a stride of it; this runs every point: a
clean reference publish of v2.0.0 counts the write requests on hub and ghcr, then each
write on each registry is answered 400, then has its answer lost after the registry did
it, and (unless ``--no-kill``) is held while the run is killed with SIGKILL, each in a
trial of its own, and the invariants of ``tests.support.sweep``
are checked, then a rerun must finish the release. Prints the writes of the reference
run, each point that broke an invariant and why, and the time per trial.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from tests.integration.conftest import matrix_text  # noqa: E402
from tests.support.sweep import REGISTRIES, Outcome, Reference, Sweep  # noqa: E402


def write_matrix(directory: Path, registries: Any, *, name: str = "matrix.yaml", **kw: Any) -> Path:
    path = directory / name
    path.write_text(matrix_text(registries, **kw), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL points")
    parser.add_argument(
        "--only", action="append", choices=["400", "lost", "SIGKILL"], help="these modes only"
    )
    args = parser.parse_args()
    with (
        LocalRegistry() as hub,
        LocalRegistry() as ghcr,
        tempfile.TemporaryDirectory(prefix="fault-sweep-") as tmp,
    ):
        sweep = Sweep(Path(tmp), {"hub": hub.host, "ghcr": ghcr.host}, write_matrix)
        reference = sweep.reference()
        print(f"reference publish of v2.0.0: {reference.seconds:.1f}s")
        for name in REGISTRIES:
            print(f"  {name}: {len(reference.writes[name])} writes")
            for k, kind in enumerate(reference.writes[name]):
                print(f"    {k:3d} {kind}")
        modes: list[tuple[str, Callable[[Reference, str, int], Outcome]]] = [
            ("400", sweep.fault),
            ("lost", lambda ref, name, k: sweep.fault(ref, name, k, "lost")),
        ]
        if not args.no_kill:
            modes.append(("SIGKILL", sweep.kill))
        if args.only:
            modes = [m for m in modes if m[0] in args.only]
        failed: list[tuple[str, Outcome]] = []
        for mode, run in modes:
            started = time.monotonic()
            points = 0
            for name in REGISTRIES:
                for k in range(len(reference.writes[name])):
                    outcome = run(reference, name, k)
                    points += 1
                    status = "ok" if not outcome.broken else "BROKEN"
                    print(f"{mode:7s} {name:4s} {k:3d} {outcome.faulted:32s} {status}", flush=True)
                    if outcome.broken:
                        failed.append((mode, outcome))
            took = time.monotonic() - started
            print(f"{mode}: {points} points in {took:.0f}s ({took / max(points, 1):.1f}s each)")
        for mode, outcome in failed:
            print(f"BROKEN {mode} {outcome}")
        print(f"{len(failed)} points broke an invariant")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
