#!/usr/bin/env python3
"""What years of releases cost the planning of floating tags (prints figures; not a timed test).

    python bench/plan_bench.py                       # 200, 1000 and 2000 releases
    python bench/plan_bench.py --releases 500 5000

``plan.settled`` (which releases finished writing their pins) runs in ``publish``
(several times), ``plan``, ``audit`` and the floating-tag planning, over every tag of
every registry. Two registries each hold ``--releases`` releases of five PHP lines
(``vN.0.0`` and a pin per line, six tags a release) plus the floating tags; printed:
the tags per registry, one ``settled`` call, and one ``plan`` of the next release.
Pure: no registry, no subprocess.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.core import config  # noqa: E402
from publisher.core.plan import plan, settled  # noqa: E402
from tests.support.matrices import acme_matrix  # noqa: E402

LINES = ("8.1", "8.2", "8.3", "8.4", "8.5")


def registry_tags(releases: int) -> list[str]:
    tags = ["latest", *(f"php-{line}" for line in LINES)]
    for n in range(releases):
        release = f"v{1 + n // 100}.{n % 100}.0"
        tags += [release, *(f"{release}-php-{line}" for line in LINES)]
    return tags


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, nargs="+", default=[200, 1000, 2000])
    args = parser.parse_args()
    cfg = config.loads(acme_matrix())
    print(f"{'releases':>9} {'tags/registry':>14} {'settled()':>10} {'plan()':>9}")
    for releases in args.releases:
        tags = registry_tags(releases)
        existing = {"hub": tags, "ghcr": list(tags)}
        one = timed(partial(settled, existing))
        whole = timed(partial(plan, cfg, "v99.0.0", existing))
        print(f"{releases:>9} {len(tags):>14,} {one:>9.3f}s {whole:>8.3f}s")


if __name__ == "__main__":
    main()
