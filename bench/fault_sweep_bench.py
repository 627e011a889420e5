#!/usr/bin/env python3
"""The whole fault sweep of ``publisher publish`` (prints figures; not a timed test).

    python bench/fault_sweep_bench.py             # every write on each registry, every fault
    python bench/fault_sweep_bench.py --no-kill   # the 400 answers and lost answers only
    python bench/fault_sweep_bench.py --only lost # one kind of fault
    python bench/fault_sweep_bench.py --only republish --only SIGTERM  # one run, one fault
    python bench/fault_sweep_bench.py --only retried   # lost answers, the retries on
    python bench/fault_sweep_bench.py --ci --only SIGTERM  # as a cancelled CI job

tests/integration/test_fault_sweep.py runs a stride of it; this runs every point: a
clean reference publish of v2.0.0 counts the write requests on hub and ghcr, then each
write on each registry is answered 400, then has its answer lost after the registry did
it, and (unless ``--no-kill``) is held while the run is killed with SIGKILL, or
stopped with SIGTERM or SIGINT (it must exit 143 or 130 and say so), each in a trial of
its own, and the invariants of ``tests.support.sweep`` are checked, then a rerun must
finish the release. ``retried`` loses each write's answer with the retries on
(``PUBLISHER_RETRY_ATTEMPTS`` at its default): the run must finish by itself, as the
clean run did, sending no blob twice. ``--ci`` runs the SIGKILL, SIGTERM and SIGINT
points as a GitHub Actions job (``Trial.in_ci``): no step output, and after SIGTERM or
SIGINT nothing in ``TMPDIR``. All of that for two runs: the publish of v2.0.0 after v1.0.0
(``publish``), and the weekly republish of v1.0.0 with rebuilt images (``republish``).
``--only`` names faults, runs, or both (repeatable). Prints the writes of each
reference run, each point that broke an invariant and why, and the time per trial.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.adapters.localregistry import LocalRegistry  # noqa: E402
from tests.integration.conftest import write_matrix_file  # noqa: E402
from tests.support.sweep import REGISTRIES, Outcome, Reference, Sweep  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--no-kill", action="store_true", help="skip the SIGKILL, SIGTERM and SIGINT points"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[*MODES, *RUNS],
        help="these faults (or runs) only; repeatable",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="run the SIGKILL, SIGTERM and SIGINT points as a GitHub Actions job",
    )
    args = parser.parse_args()
    only = args.only or []
    modes = [m for m in MODES if m in only or not set(only) & set(MODES)]
    if args.no_kill:
        modes = [m for m in modes if m in ("400", "lost", "retried")]
    runs = [r for r in RUNS if r in only or not set(only) & set(RUNS)]
    failed: list[tuple[str, Outcome]] = []
    with LocalRegistry() as hub, LocalRegistry() as ghcr:
        for run_name in runs:
            with tempfile.TemporaryDirectory(prefix="fault-sweep-") as tmp:
                sweep = Sweep(
                    Path(tmp),
                    {"hub": hub.host, "ghcr": ghcr.host},
                    write_matrix_file,
                    republish=run_name == "republish",
                )
                failed += sweep_run(sweep, run_name, modes, ci=args.ci)
    for label, outcome in failed:
        print(f"BROKEN {label} {outcome}")
    print(f"{len(failed)} points broke an invariant")
    return 1 if failed else 0


MODES = ("400", "lost", "retried", "SIGKILL", "SIGTERM", "SIGINT")
RUNS = ("publish", "republish")


def sweep_run(
    sweep: Sweep, run_name: str, modes: list[str], *, ci: bool = False
) -> list[tuple[str, Outcome]]:
    """Every write of ``sweep``'s reference run, each of ``modes``: the points broken."""
    reference = sweep.reference()
    what = "republish of v1.0.0" if sweep.republish else "publish of v2.0.0"
    print(f"reference {what}: {reference.seconds:.1f}s")
    for name in REGISTRIES:
        print(f"  {name}: {len(reference.writes[name])} writes")
        for k, kind in enumerate(reference.writes[name]):
            print(f"    {k:3d} {kind}")
    runs: dict[str, Callable[[Reference, str, int], Outcome]] = {
        "400": sweep.fault,
        "lost": lambda ref, name, k: sweep.fault(ref, name, k, "lost"),
        "retried": sweep.retried,
        "SIGKILL": lambda ref, name, k: sweep.kill(ref, name, k, ci=ci),
        "SIGTERM": lambda ref, name, k: sweep.stop(ref, name, k, signal.SIGTERM, ci=ci),
        "SIGINT": lambda ref, name, k: sweep.stop(ref, name, k, signal.SIGINT, ci=ci),
    }
    failed: list[tuple[str, Outcome]] = []
    for mode in modes:
        label = f"{run_name} {mode}"
        started = time.monotonic()
        points = 0
        for name in REGISTRIES:
            for k in range(len(reference.writes[name])):
                outcome = runs[mode](reference, name, k)
                points += 1
                status = "ok" if not outcome.broken else "BROKEN"
                print(f"{label:17s} {name:4s} {k:3d} {outcome.faulted:32s} {status}", flush=True)
                if outcome.broken:
                    failed.append((label, outcome))
        took = time.monotonic() - started
        print(f"{label}: {points} points in {took:.0f}s ({took / max(points, 1):.1f}s each)")
    return failed


if __name__ == "__main__":
    sys.exit(main())
