"""The GitHub Actions job matrix: one build leg per (PHP line, platform).

Pure: takes a release ``Plan`` and returns data. The release workflow fans out
one job per entry, each on a native runner (``ubuntu-24.04`` for amd64,
``ubuntu-24.04-arm`` for arm64) unless ``qemu=True``, which puts every leg on
``ubuntu-24.04`` and lets QEMU emulate arm64.

Each entry's ``slug`` (``8.4-linux-arm64``) names the leg's digest record
(``digests/<slug>.json``) and its workflow artifact (``digest-<slug>``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from . import records
from .errors import ConfigError
from .plan import Plan
from .platforms import Platform

#: The runner label each platform builds on natively.
NATIVE_RUNNERS: Mapping[Platform, str] = {
    Platform.AMD64: "ubuntu-24.04",
    Platform.ARM64: "ubuntu-24.04-arm",
}
#: The runner every leg uses when arm64 is emulated under QEMU.
QEMU_RUNNER = "ubuntu-24.04"
#: GitHub refuses a matrix that expands to more jobs than this.
MAX_JOBS = 256


@dataclass(frozen=True)
class Leg(records.Leg):
    """One build job: a PHP line on one platform, on one runner."""

    runner: str

    @property
    def emulated(self) -> bool:
        """True when the runner's own architecture differs from the platform's."""
        return NATIVE_RUNNERS[self.platform] != self.runner

    def as_dict(self) -> dict[str, str]:
        return {
            "php": self.php,
            "platform": self.platform,
            "runner": self.runner,
            "slug": self.slug,
        }


def legs(plan: Plan, *, qemu: bool = False) -> tuple[Leg, ...]:
    """Every build leg of ``plan``, in line order then platform order."""
    result = []
    for line in plan.lines:
        for platform in line.platforms:
            runner = QEMU_RUNNER if qemu else NATIVE_RUNNERS[platform]
            result.append(Leg(line.php, platform, runner))
    if not result:
        raise ConfigError(
            "the release has no build legs: no PHP line with a platform is selected",
            hint="check `lines` and `platforms` in matrix.yaml, and --only",
        )
    if len(result) > MAX_JOBS:
        raise ConfigError(
            f"the release has {len(result)} build legs; a GitHub job matrix holds at most {MAX_JOBS}",
            hint="publish fewer lines per run with --only",
        )
    return tuple(result)


def github_matrix(plan: Plan, *, qemu: bool = False) -> dict[str, list[dict[str, str]]]:
    """The ``strategy.matrix`` value: ``{"include": [{php, platform, runner, slug}, ...]}``."""
    return {"include": [leg.as_dict() for leg in legs(plan, qemu=qemu)]}


def to_json(matrix: Mapping[str, object]) -> str:
    """Compact, stable JSON, one line: fit for ``$GITHUB_OUTPUT`` and ``fromJSON``."""
    return json.dumps(matrix, separators=(",", ":"), sort_keys=True)
