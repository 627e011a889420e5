"""What every registry should hold, from the release records, and how it differs.

Pure: ``expected_tags`` derives, for one registry, every pin of every recorded
release (``vX.Y.Z-php-A.B`` and ``vX.Y.Z`` for the release's own default line)
and the floating tags (``php-A.B``, ``latest``) those pins imply; ``compare``
lists each difference as a ``Finding``. Releases present on a registry without
a record take part in the floating tags with the digests the registry holds, so
an audit never moves a floating tag back below a release it does not know of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from . import plan as planning
from .notes import ReleaseFacts

MISSING = "missing"  # an expected tag is absent
MOVED = "moved"  # a tag points at other content than the record says
FLOATING = "floating"  # a floating tag is not where the pins say
INCOMPLETE = "incomplete"  # a tagged index whose children (or itself) are gone
PRIVATE = "private"  # anonymous users cannot read the registry
UNRECORDED = "unrecorded"  # pins of a release with no record (a notice, not a defect)


@dataclass(frozen=True)
class Expected:
    digest: str
    release: str
    floating: bool = False


@dataclass(frozen=True)
class Finding:
    registry: str
    kind: str
    tag: str
    expected: str | None
    actual: str | None
    release: str
    detail: str = ""

    @property
    def is_defect(self) -> bool:
        return self.kind != UNRECORDED

    @property
    def message(self) -> str:
        def short(digest: str | None) -> str:
            return digest[:19] + "…" if digest else "(absent)"

        if self.kind == MISSING:
            text = f"{self.tag} is missing; {self.release}'s record says {short(self.expected)}"
        elif self.kind == MOVED:
            text = (
                f"{self.tag} points at {short(self.actual)}; {self.release}'s record says "
                f"{short(self.expected)}"
            )
        elif self.kind == FLOATING:
            text = (
                f"{self.tag} points at {short(self.actual)}; the pins say {short(self.expected)} "
                f"({self.release})"
            )
        elif self.kind == UNRECORDED:
            text = f"{self.tag} belongs to {self.release}, which has no record here"
        else:
            text = f"{self.tag}: {self.detail}"
        return f"{self.registry}: {text}"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "message": self.message}


def recorded_pins(records: Iterable[ReleaseFacts]) -> dict[str, Expected]:
    """Every pin of every recorded release -> the index its record names."""
    result: dict[str, Expected] = {}
    for record in records:
        for line in record.lines:
            for tag in record.pins(line.php):
                result[tag] = Expected(line.index_digest, record.release)
    return result


def expected_tags(
    records: Sequence[ReleaseFacts], actual: Mapping[str, str], registry: str
) -> tuple[dict[str, Expected], list[Finding]]:
    """Every tag ``registry`` should hold, and notices for releases without a record.

    ``actual`` maps the tags present on the registry to their digests.
    """
    expected = recorded_pins(records)
    notices: list[Finding] = []
    present: dict[str, str] = {tag: e.digest for tag, e in expected.items()}
    recorded = {r.release for r in records}
    for tag, digest in actual.items():
        parsed = planning.parse_scheme_tag(tag)
        if parsed is None or tag in present:
            continue
        release = parsed.release.tag
        if release not in recorded:
            present[tag] = digest
            notices.append(Finding(registry, UNRECORDED, tag, None, digest, release))
    lines = sorted(
        {line.php for r in records for line in r.lines}
        | {p.php for t in present if (p := planning.parse_scheme_tag(t)) and p.php},
        key=lambda php: tuple(int(x) for x in php.split(".")),
    )
    for f in planning.floating_tags(registry, present, lines):
        expected[f.tag] = Expected(present[f.source], f.source_release, floating=True)
    return expected, notices


def compare(
    registry: str, expected: Mapping[str, Expected], actual: Mapping[str, str]
) -> list[Finding]:
    """Each expected tag that is absent or elsewhere on ``registry``."""
    findings = []
    for tag, want in sorted(expected.items()):
        have = actual.get(tag)
        if have == want.digest:
            continue
        kind = FLOATING if want.floating else MISSING if have is None else MOVED
        findings.append(Finding(registry, kind, tag, want.digest, have, want.release))
    return findings
