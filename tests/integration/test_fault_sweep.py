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

A lost answer with the retries on (``PUBLISHER_RETRY_ATTEMPTS`` at its default, the
delays short) is what a flaky link does to a real run: the run must retry and finish
the release by itself (exit 0, no error), leaving the registries and the record as the
clean run did, and send no blob again that a HEAD shows is there. Each kind of write
once: a blob upload's start and its PUT, an index, a pin, the release tag, a floating
tag.

A graceful stop runs the cleanup code a SIGKILL never runs: SIGTERM (a CI runner
cancelling the job) and SIGINT (Ctrl-C) while a write is held must end the run with
exit 143 or 130 and ``interrupted by SIGTERM`` (``SIGINT``) with its tip (tags move
last, a rerun finishes it), no traceback, the same
invariants, no file written, rewritten or removed (no record, notes, pins file, size
history, digest record), and a rerun that finishes the release. The SIGTERM points, and
one SIGKILL, run as a GitHub Actions job (``GITHUB_ACTIONS=true``, the step outputs,
the step summary and ``TMPDIR`` in the trial's folder): the cancelled job's later steps
read no step output (``digests``, ``digest-X.Y`` say a release is published), and a
graceful stop leaves nothing in ``TMPDIR`` (no copy's spool folder).
With a third registry, a blob bound for two is spooled under ``TMPDIR``: SIGTERM while
one of its uploads is held must remove that too. A cancelled job stopped while the
floating tags move, written on hub and held on ghcr, must list the floating tags the
registries now disagree on, as a failure there does.

The weekly security republish (``publish v1.0.0 --reason ... --digests`` rebuilt images,
``Sweep(republish=True)``) is swept the same ways, a few points each. What holds after
any of them (README: "Release tags", the republish paragraph, the notes' ``history``):
every pin of v1.0.0 is on its old or its new index on each registry; a floating tag is
on its old index, or on its new one only once every rewritten pin of v1.0.0 is on every
registry; v1.0.0's record is left byte for byte (a half-done republish adds no
``history`` entry), as is every other file; and a rerun of the same republish exits 0,
leaves both registries' tags as a clean republish does, and records the new indexes
with exactly one ``history`` entry.

``bench/fault_sweep_bench.py`` runs every write of both registries, every way, for both
runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.resolve import short_digest
from tests.conftest import require_tool
from tests.integration.conftest import write_matrix_file
from tests.support.faultproxy import Fault
from tests.support.pipeline import kill_group
from tests.support.sweep import REGISTRIES, Outcome, Reference, Sweep, writes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PINS = ["manifest PUT v2.0.0-php-8.3", "manifest PUT v2.0.0-php-8.4", "manifest PUT v2.0.0"]
FLOATING = ["manifest PUT latest", "manifest PUT php-8.3", "manifest PUT php-8.4"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:
    """Two registries for the module (each trial a repository of its own on them)."""
    require_tool("docker-registry", "registry")
    with contextlib.ExitStack() as started:
        hosts = {name: started.enter_context(LocalRegistry()).host for name in REGISTRIES}
        yield Sweep(tmp_path_factory.mktemp("sweep"), hosts, write_matrix_file)


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


def test_a_write_whose_answer_is_lost_is_retried_and_the_release_finishes_by_itself(
    sweep: Sweep, reference: Reference
) -> None:
    """The default retries make up for a lost answer: a blob upload's start and its
    PUT on ghcr, an index on hub, a pin on ghcr, the release tag on hub, a floating
    tag on ghcr. Each run exits 0 as the clean run did, no blob sent twice."""
    hub, ghcr = (reference.writes[name] for name in REGISTRIES)
    points = [
        ("ghcr", ghcr.index("blob upload start")),
        ("ghcr", ghcr.index("blob PUT")),
        ("hub", hub.index("manifest PUT digest")),
        ("ghcr", ghcr.index(PINS[1])),
        ("hub", hub.index(PINS[2])),
        ("ghcr", ghcr.index(FLOATING[0])),
    ]
    check([sweep.retried(reference, name, k) for name, k in points])


def test_a_run_killed_at_a_write_moves_no_floating_tag_onto_half_pushed_content(
    sweep: Sweep, reference: Reference
) -> None:
    """SIGKILL while a write is held (the held write then lands): a blob upload, an
    index, a pin on ghcr, a floating tag on hub (a GitHub Actions job's run: every pin
    written, yet no step output)."""
    points = [
        ("ghcr", reference.writes["ghcr"].index("blob PUT"), False),
        ("hub", reference.writes["hub"].index("manifest PUT digest"), False),
        ("ghcr", reference.writes["ghcr"].index(PINS[1]), False),
        ("hub", reference.writes["hub"].index(FLOATING[2]), True),
    ]
    check([sweep.kill(reference, name, k, ci=ci) for name, k, ci in points])


def test_a_run_stopped_gracefully_at_a_write_cleans_up_nothing_it_should_not(
    sweep: Sweep, reference: Reference
) -> None:
    """SIGTERM while a floating tag is held on hub (some floating tags moved, on ghcr
    none; a cancelled GitHub Actions job), SIGINT while a pin is held on ghcr (every pin
    on hub, no floating tag)."""
    points = [
        ("hub", reference.writes["hub"].index(FLOATING[1]), signal.SIGTERM),
        ("ghcr", reference.writes["ghcr"].index(PINS[1]), signal.SIGINT),
    ]
    check(
        [
            sweep.stop(reference, name, k, signum, ci=signum == signal.SIGTERM)
            for name, k, signum in points
        ]
    )


def test_a_run_stopped_while_the_floating_tags_move_says_where_the_registries_disagree(
    sweep: Sweep, reference: Reference
) -> None:
    """A cancelled GitHub Actions job (SIGINT, as a runner sends first) while every floating
    tag's write to ghcr is held and hub's are written: hub's latest and php-X.Y are on
    v2.0.0, ghcr's on v1.0.0. The run exits 130 as interrupted, and its message (stderr,
    the ``::error`` annotation, the step summary) lists those tags with each registry's
    digest, as a failure at that point does, from what the run knows it wrote (no request
    made as it stops); the rerun finishes the release."""
    with sweep.trial() as trial:
        trial.in_ci()
        hub, ghcr = (trial.proxies[name] for name in REGISTRIES)
        held = Fault(
            "stall",
            methods=("PUT",),
            path=r"/manifests/(latest|php-[0-9.]+)$",
            times=None,
            stall_seconds=120,
        )
        ghcr.add(held)
        log = trial.root / "stopped-SIGINT.log"
        process = trial.start(*trial.under_test(), log=log)
        try:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                moved = [w for w in writes(hub) if w in FLOATING]
                if held.fired == len(FLOATING) and len(moved) == len(FLOATING):
                    break
                time.sleep(0.01)
            assert process.poll() is None, log.read_text()
            time.sleep(1)  # hub's answers read by the run
            os.kill(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
        finally:
            kill_group(process)
            ghcr.release()
        said = log.read_text()
        assert code == 130, said
        assert "interrupted by SIGINT: stopped before finishing" in said, said
        listed = [
            f"  - {tag.split()[-1]}: hub {short_digest(reference.v2[php])}, "
            f"ghcr {short_digest(reference.v1[php])}"
            for tag, php in zip(FLOATING, ("8.4", "8.3", "8.4"), strict=True)
        ]
        heading = "the registries now disagree on these floating tags:"
        assert heading + "\n" + "\n".join(listed) in said, said
        annotation = [line for line in said.splitlines() if line.startswith("::error")]
        assert len(annotation) == 1 and "disagree on these floating tags" in annotation[0], said
        summary = (trial.root / "ci" / "summary").read_text()
        assert heading in summary and all(line.strip("- ") in summary for line in listed)
        ghcr.faults.clear()
        assert trial.invariants(reference) == []
        assert trial.finish(reference) == []


def test_a_run_stopped_while_it_writes_its_pins_names_those_it_wrote(
    sweep: Sweep, reference: Reference
) -> None:
    """A cancelled GitHub Actions job (SIGINT) while every pin's write to ghcr is held and
    hub's are written: the interruption's message (stderr, the ``::error`` annotation, the
    step summary, where the plan above lists every pin as to be written) names the pins
    the run wrote, per registry, and those it did not; the rerun finishes the release."""
    with sweep.trial() as trial:
        trial.in_ci()
        hub, ghcr = (trial.proxies[name] for name in REGISTRIES)
        held = Fault(
            "stall",
            methods=("PUT",),
            path=r"/manifests/v2\.0\.0(-php-[0-9.]+)?$",
            times=None,
            stall_seconds=120,
        )
        ghcr.add(held)
        log = trial.root / "stopped-SIGINT.log"
        process = trial.start(*trial.under_test(), log=log)
        try:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                if held.fired and all(w in writes(hub) for w in PINS):
                    break
                time.sleep(0.01)
            assert process.poll() is None, log.read_text()
            time.sleep(1)  # hub's answers read by the run
            os.kill(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
        finally:
            kill_group(process)
            ghcr.release()
        said = log.read_text()
        assert code == 130, said
        pins = [kind.split()[-1] for kind in PINS]
        wrote = f"it wrote {', '.join(pins)} on hub and none on ghcr (not "
        line = next((x for x in said.splitlines() if wrote in x), "")
        assert "while writing its pins" in line and "as far as it knows" in line, said
        left = line[line.index(wrote) + len(wrote) : line.index(" on ghcr)")]
        assert sorted(left.split(", ")) == sorted(pins), line
        annotation = [x for x in said.splitlines() if x.startswith("::error")]
        assert len(annotation) == 1 and wrote in annotation[0], said
        summary = (trial.root / "ci" / "summary").read_text()
        assert wrote in summary, summary
        ghcr.faults.clear()
        assert trial.invariants(reference) == []
        assert trial.finish(reference) == []


@pytest.fixture(scope="module")
def spooling_sweep(
    sweep: Sweep, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sweep, Reference]]:
    """The same registries and a third (quay): a blob going to two registries is
    downloaded once into a spool folder under TMPDIR, then uploaded from there to each."""
    with LocalRegistry() as quay:
        root = tmp_path_factory.mktemp("spooling-sweep")
        spooling = Sweep(root, {**sweep.upstream, "quay": quay.host}, write_matrix_file)
        yield spooling, spooling.reference()


def test_a_cancelled_job_leaves_no_spooled_copy_in_tmpdir(
    spooling_sweep: tuple[Sweep, Reference],
) -> None:
    """SIGTERM to a GitHub Actions job's run while a blob's upload to quay is held (its
    spooled copy in TMPDIR, as a SIGKILL there leaves it): the run removes it on its way
    out."""
    spooling, reference = spooling_sweep
    k = reference.writes["quay"].index("blob PUT")
    check([spooling.stop(reference, "quay", k, signal.SIGTERM, ci=True)])


# --------------------------------------------------------------------------- republish

REPUBLISHED_PINS = [p.replace("v2.0.0", "v1.0.0") for p in PINS]


@pytest.fixture(scope="module")
def republish_sweep(sweep: Sweep, tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    """The same registries; each trial republishes v1.0.0 with rebuilt images."""
    root = tmp_path_factory.mktemp("republish-sweep")
    return Sweep(root, sweep.upstream, write_matrix_file, republish=True)


@pytest.fixture(scope="module")
def republished(republish_sweep: Sweep) -> Reference:
    return republish_sweep.reference()


def test_the_reference_republish_rewrites_the_pins_then_the_floating_tags(
    republished: Reference,
) -> None:
    """The rebuilt indexes go to hub, their content to ghcr; then v1.0.0's pins move,
    then the floating tags, onto the new indexes."""
    for name, content in (("hub", 2), ("ghcr", 12)):
        writes = republished.writes[name]
        assert sorted(writes[content : content + 3]) == sorted(REPUBLISHED_PINS)
        assert sorted(writes[content + 3 :]) == sorted(FLOATING)
    for name in REGISTRIES:
        for php in ("8.3", "8.4"):
            assert republished.v1[php] != republished.v2[php]
            assert republished.tags[name][f"v1.0.0-php-{php}"] == republished.v2[php]
        assert republished.tags[name]["latest"] == republished.v2["8.4"]


def test_a_republish_failing_at_a_write_leaves_each_pin_old_or_new_and_its_record_alone(
    republish_sweep: Sweep, republished: Reference
) -> None:
    """A pin refused on ghcr (hub's pins moved), a pin on hub whose answer is lost,
    SIGKILL while a floating tag is held on ghcr, SIGTERM while the release tag is held
    on hub (a cancelled GitHub Actions job): each rerun of the republish finishes it.
    A pin on ghcr whose answer is lost with the retries on: the republish finishes by
    itself."""
    hub, ghcr = (republished.writes[name] for name in REGISTRIES)
    check(
        [
            republish_sweep.fault(republished, "ghcr", ghcr.index(REPUBLISHED_PINS[0])),
            republish_sweep.fault(republished, "hub", hub.index(REPUBLISHED_PINS[1]), "lost"),
            republish_sweep.kill(republished, "ghcr", ghcr.index(FLOATING[0])),
            republish_sweep.stop(
                republished, "hub", hub.index(REPUBLISHED_PINS[2]), signal.SIGTERM, ci=True
            ),
            republish_sweep.retried(republished, "ghcr", ghcr.index(REPUBLISHED_PINS[1])),
        ]
    )
