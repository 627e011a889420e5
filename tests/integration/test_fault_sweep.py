"""A failed release moves no floating tag onto half-pushed content, and a rerun
completes it: for a failure at each kind of write request of the publish, on either
registry.

Two real registries (hub and ghcr) behind fault proxies, two PHP lines on one
platform; v1.0.0 published clean, then v2.0.0 (``tests.support.sweep``). A clean
reference run counts the writes v2.0.0 makes on each registry and gives the final tag
map. Then a trial of its own (a new repository, v1.0.0 published clean) per point
fails one write: the run must fail with an error (no traceback), leave every floating
tag on v1.0.0's index (or on v2.0.0's only once every v2.0.0 pin is on every registry),
the registries agreeing on every pin they share, and a rerun must finish the release
as the reference run did. A trial takes 5 to 10 s, so the test takes each kind of write
once (a blob upload's start and its PUT, a manifest by digest, a pin, the release tag,
each floating tag), refused; two with the answer lost after the registry did the
write; and a SIGKILL while four are held.
``bench/fault_sweep_bench.py`` runs every write of both registries, every way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.adapters.localregistry import LocalRegistry
from tests.conftest import require_tool
from tests.integration.conftest import matrix_text
from tests.support.sweep import REGISTRIES, Outcome, Reference, Sweep

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PINS = ["manifest PUT v2.0.0-php-8.3", "manifest PUT v2.0.0-php-8.4", "manifest PUT v2.0.0"]
FLOATING = ["manifest PUT latest", "manifest PUT php-8.3", "manifest PUT php-8.4"]


def write_matrix(directory: Path, registries: Any, *, name: str = "matrix.yaml", **kw: Any) -> Path:
    path = directory / name
    path.write_text(matrix_text(registries, **kw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:
    """Two registries for the module (each trial a repository of its own on them)."""
    require_tool("docker-registry", "registry")
    with contextlib.ExitStack() as started:
        hosts = {name: started.enter_context(LocalRegistry()).host for name in REGISTRIES}
        yield Sweep(tmp_path_factory.mktemp("sweep"), hosts, write_matrix)


@pytest.fixture(scope="module")
def reference(sweep: Sweep) -> Reference:
    return sweep.reference()


def refused_points(reference: Reference) -> list[tuple[str, int]]:
    """Each kind of write once: on hub an index, a pin and the release tag; on ghcr a
    blob upload's start and its PUT, a manifest by digest, a pin, the release tag and
    each floating tag."""
    hub, ghcr = (reference.writes[name] for name in REGISTRIES)
    on_hub = ["manifest PUT digest", PINS[0], PINS[2]]
    on_ghcr = ["blob upload start", "blob PUT", "manifest PUT digest", PINS[0], PINS[2]]
    return [("hub", hub.index(kind)) for kind in on_hub] + [
        ("ghcr", ghcr.index(kind)) for kind in on_ghcr + FLOATING
    ]


def check(outcomes: list[Outcome]) -> None:
    broken = [str(o) for o in outcomes if o.broken]
    assert not broken, "\n".join(broken)


def test_the_reference_release_writes_content_then_pins_then_floating_tags(
    reference: Reference,
) -> None:
    """The sweep's points are real: hub gets the assembled indexes, the pins and the
    floating tags; ghcr the blobs too (upload start and PUT), and the children."""
    copies = ["blob upload start"] * 4 + ["blob PUT"] * 4 + ["manifest PUT digest"] * 4
    for name, content in (("hub", ["manifest PUT digest"] * 2), ("ghcr", copies)):
        writes = reference.writes[name]
        # Content first, then the pins, then the floating tags (in each step, in the
        # order the worker threads send them).
        pins_at, floating_at = len(content), len(content) + len(PINS)
        steps = [writes[:pins_at], writes[pins_at:floating_at], writes[floating_at:]]
        assert [sorted(s) for s in steps] == [sorted(content), sorted(PINS), sorted(FLOATING)]
    for name in REGISTRIES:
        assert reference.tags[name]["latest"] == reference.v2["8.4"] != reference.v1["8.4"]
        assert reference.tags[name]["php-8.3"] == reference.v2["8.3"] != reference.v1["8.3"]


def test_a_write_refused_anywhere_moves_no_floating_tag_onto_half_pushed_content(
    sweep: Sweep, reference: Reference
) -> None:
    points = refused_points(reference)
    check([sweep.fault(reference, name, k) for name, k in points])


def test_a_write_whose_answer_is_lost_moves_no_floating_tag_onto_half_pushed_content(
    sweep: Sweep, reference: Reference
) -> None:
    """The registry did the write, the run does not know it: a pin on hub, a floating
    tag on ghcr."""
    points = [
        ("hub", reference.writes["hub"].index(PINS[0])),
        ("ghcr", reference.writes["ghcr"].index(FLOATING[0])),
    ]
    check([sweep.fault(reference, name, k, "lost") for name, k in points])


def test_a_run_killed_at_a_write_moves_no_floating_tag_onto_half_pushed_content(
    sweep: Sweep, reference: Reference
) -> None:
    """SIGKILL while a write is held (the held write then lands): a blob upload, an
    index, a pin on ghcr, a floating tag on hub."""
    points = [
        ("ghcr", reference.writes["ghcr"].index("blob PUT")),
        ("hub", reference.writes["hub"].index("manifest PUT digest")),
        ("ghcr", reference.writes["ghcr"].index(PINS[1])),
        ("hub", reference.writes["hub"].index(FLOATING[2])),
    ]
    check([sweep.kill(reference, name, k) for name, k in points])
