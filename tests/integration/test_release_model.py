"""The tag promises of README "Tags", checked against a model on real registries.

Two loopback distribution registries, each behind a fault proxy; ``publisher publish
--digests`` (a separate process, as in ``test_record_scope.World``) publishes
releases from platform images seeded on the primary, without building. A Hypothesis
state machine runs sequences of these, over versions drawn from a small pool (a
backport, a prerelease, a major) with PHP lines 8.3 and 8.4 (default 8.4):

* publish a version, whether new, published already (a rerun changes nothing) or
  stopped part-way before (the rerun finishes it);
* publish a version while one registry refuses one of its writes (a PUT picked at
  random): the run fails, no floating tag follows a release whose pins are not all
  written, and pins of other releases do not move;
* ``publisher audit --repair``.

After each step both registries are read with plain ``requests`` (not the project's
client) and compared with the model, which follows README "Tags" alone:

* a release counts once every registry holding any of its pins holds the same ones,
  ``vX.Y.Z`` among them, and a recorded release counts wherever its ``vX.Y.Z`` is;
* ``php-X.Y`` carries the highest stable counted release's ``vX.Y.Z-php-X.Y``, and
  ``latest`` the content of the highest stable counted ``vX.Y.Z``, on each registry;
  so a prerelease never moves them and a backport moves only its own pins;
* a run whose floating tags would point at different releases on the two registries
  writes no tag (exit 12);
* a pin, once written, never changes content (there is no republish here);
* after every successful run both registries hold the same tag -> digest map, but
  for the pins of a release that stopped part-way, which no run touches until its
  own rerun;
* ``audit --repair`` points each floating tag where the records say, but never moves
  back one that carries a newer release that finished everywhere without its record
  ("ahead"), and leaves the pins of an unrecorded release alone; it exits 0 only when
  no unrecorded release is left and every floating tag is where the records say.

Each example publishes into a repository of its own on the same two registries.
Settings: 6 examples of up to 6 steps, derandomized (the same sequences on every
run, so CI is stable; the orders versions and faults are drawn from are chosen so
that those sequences hold a prerelease over a stable release, backports, a major, a
refused pin write and a refused floating-tag write each followed by a rerun, and a
hand-moved floating tag repaired), no deadline (a step is a subprocess of a second or
two), no shrinking (a failing example of six steps reads well as it is, and shrinking
it re-runs real registries for minutes). About 80 s on a 2-core machine.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.integration.test_record_scope import World, make_world
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.publishing import tag_map

pytestmark = pytest.mark.integration

#: In SemVer precedence order; the prerelease sorts between 1.1.0 and 2.0.0.
POOL = ("v1.0.0", "v1.0.1", "v1.1.0", "v1.2.0-rc.1", "v2.0.0")
STABLE = tuple(v for v in POOL if "-" not in v)
#: The orders the rules draw from: Hypothesis starts from the first choice, so the
#: first release is one with a backport below it and a prerelease above it, and the
#: next is that prerelease, then a backport, then a major.
FIRST = ("v1.1.0", "v1.0.0", "v2.0.0")
DRAWN = ("v1.2.0-rc.1", "v1.0.1", "v2.0.0", "v1.1.0", "v1.0.0")
LINES = ("8.3", "8.4")
DEFAULT = "8.4"
PLATFORMS = ("linux/amd64",)
REGISTRIES = ("hub", "ghcr")  # hub is the primary
FLOATING = ("latest", *(f"php-{line}" for line in LINES))

Tags = dict[str, dict[str, str]]  # registry -> tag -> digest


def pins_of(version: str) -> tuple[str, ...]:
    """The pins a release owns: one per line, then ``vX.Y.Z`` (the default line's)."""
    return (*(f"{version}-php-{line}" for line in LINES), version)


def owner(tag: str) -> str | None:
    """The release of a pin tag; None for a floating tag."""
    return next((v for v in POOL if tag in pins_of(v)), None)


class Model:
    """What README "Tags" says the registries hold, given which releases are recorded."""

    def __init__(self, recorded: Iterable[str], *, records_only: bool = False) -> None:
        self.recorded = set(recorded)
        self.records_only = records_only  # as audit judges: unrecorded releases count nowhere

    def counted(self, tags: Tags) -> dict[str, set[str]]:
        """Per registry, the releases floating tags may follow there."""
        result: dict[str, set[str]] = {name: set() for name in REGISTRIES}
        for version in POOL:
            held = {name: frozenset(set(pins_of(version)) & set(tags[name])) for name in tags}
            holding = {name: pins for name, pins in held.items() if pins}
            if version in self.recorded:
                where = [name for name in REGISTRIES if version in tags[name]]
            elif self.records_only:
                where = []
            elif len(set(holding.values())) == 1 and version in next(iter(holding.values())):
                where = list(holding)
            else:
                where = []
            for name in where:
                result[name].add(version)
        return result

    def floating(self, tags: Tags) -> dict[str, dict[str, str]]:
        """Per registry, each floating tag -> the pin whose content it carries."""
        counted = self.counted(tags)
        result: dict[str, dict[str, str]] = {}
        for name in REGISTRIES:
            stable = [v for v in STABLE if v in counted[name]]
            chosen: dict[str, str] = {}
            with_latest = [v for v in stable if v in tags[name]]
            if with_latest:
                chosen["latest"] = with_latest[-1]
            for line in LINES:
                having = [v for v in stable if f"{v}-php-{line}" in tags[name]]
                if having:
                    chosen[f"php-{line}"] = f"{having[-1]}-php-{line}"
            result[name] = chosen
        return result


def with_floating(tags: Tags, sources: Mapping[str, Mapping[str, str]]) -> Tags:
    """``tags`` with the floating tags pointed at their sources' digests."""
    result = {
        name: {t: d for t, d in held.items() if t not in FLOATING} for name, held in tags.items()
    }
    for name, chosen in sources.items():
        for tag, source in chosen.items():
            result[name][tag] = tags[name][source]
    return result


def floating_part(tags: Tags) -> Tags:
    return {name: {t: d for t, d in held.items() if t in FLOATING} for name, held in tags.items()}


def make_machine(
    tmp_path: Path,
    write_matrix: Callable[..., Path],
    hosts: Mapping[str, str],
    proxies: Mapping[str, FaultProxy],
) -> type[RuleBasedStateMachine]:
    class Releases(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            root = Path(tempfile.mkdtemp(dir=tmp_path))
            self.world: World = make_world(
                root, write_matrix, **{name: proxies[name].host for name in REGISTRIES}
            )
            self.matrix = self.world.matrix("matrix.yaml", lines=LINES, platforms=PLATFORMS)
            self.world.notes.mkdir()  # a project's release-notes/, empty before its first release
            self.tags: Tags = {name: {} for name in REGISTRIES}
            self.records: dict[str, dict[str, str]] = {}  # release -> line -> index digest
            self.first_seen: dict[str, str] = {}  # pin -> the digest it was first written with
            self.audited: Tags = {}  # what the registries held at the last audit

        # ------------------------------------------------------------ helpers

        def read(self) -> Tags:
            return {name: tag_map(hosts[name], self.world.repo) for name in REGISTRIES}

        def digests_dir(self, version: str) -> Path:
            """The build legs' digest records of ``version``, seeded on the primary once:
            every run of a version publishes the same images, as a rerun does."""
            path = self.world.root / f"digests-{version}"
            if path.exists():
                return path
            return self.world.seed(version, LINES, PLATFORMS)

        def publish(
            self, version: str, fault: Fault | None = None, registry: str = "hub"
        ) -> tuple[int, str, bool]:
            """Run ``publisher publish``, ``registry`` meeting ``fault``; return its exit
            code, its output and whether the fault fired."""
            digests = self.digests_dir(version)
            if fault is not None:
                proxies[registry].add(fault)
            try:
                result = self.world.run(
                    "publish", version, "--digests", str(digests), "--no-smoke", matrix=self.matrix
                )
            finally:
                for proxy in proxies.values():
                    proxy.clear()
            fired = fault is not None and fault.fired > 0
            return result.returncode, result.stdout + result.stderr, fired

        def adopt(self, after: Tags, what: str) -> None:
            """Check what holds after any step, then take ``after`` as the state."""
            for name, held in after.items():
                for tag, digest in held.items():
                    if tag in FLOATING:
                        # A prerelease never carries a floating tag.
                        for rc in (v for v in POOL if v not in STABLE):
                            assert digest not in {held.get(p) for p in pins_of(rc) if p in held}, (
                                f"{what}: {name} {tag} carries the prerelease {rc}"
                            )
                        continue
                    seen = self.first_seen.setdefault(tag, digest)
                    assert digest == seen, f"{what}: pin {tag} on {name} changed content"
            for version, lines in self.records.items():
                for name in REGISTRIES:
                    for line, digest in lines.items():
                        assert after[name].get(f"{version}-php-{line}") == digest, (what, name)
                    assert after[name].get(version) == lines[DEFAULT], (what, name)
            self.tags = after

        def same_on_every_registry(self, after: Tags, what: str) -> None:
            """Both registries alike, but for pins of a release that stopped part-way."""
            counted = Model(self.records).counted(after)
            everywhere = set.intersection(*counted.values())

            def comparable(held: Mapping[str, str]) -> dict[str, str]:
                return {t: d for t, d in held.items() if owner(t) is None or owner(t) in everywhere}

            assert comparable(after["hub"]) == comparable(after["ghcr"]), what

        # ------------------------------------------------------------ rules

        @initialize(version=st.sampled_from(FIRST))
        def first_release(self, version: str) -> None:
            """Every example starts from a published stable release."""
            self.release(version)

        @rule(version=st.sampled_from(DRAWN))
        def release(self, version: str) -> None:
            """Publish ``version``: new, a rerun of a finished one, or finishing a stopped one."""
            what = f"publish {version}"
            before = self.read()
            assert before == self.tags, f"{what}: the registries changed between steps"
            exit_code, out, _ = self.publish(version)
            after = self.read()
            self.check_run(version, before, after, exit_code, out, what)

        def check_run(
            self, version: str, before: Tags, after: Tags, exit_code: int, out: str, what: str
        ) -> None:
            """A run that met no fault: finished (exit 0) exactly as the model says, or
            refused (exit 12) without writing a tag when the registries would disagree."""
            # The model's prediction: this release's pins on every registry (content not
            # known until its record says), then the floating tags recomputed.
            planned = {
                name: {**held, **{p: f"<{p}>" for p in pins_of(version)}}
                for name, held in before.items()
            }
            for name in REGISTRIES:  # pins already written keep their content
                for pin in pins_of(version):
                    known = before["hub"].get(pin) or before["ghcr"].get(pin)
                    if known:
                        planned[name][pin] = known
            model = Model(set(self.records) | {version})
            sources = model.floating(planned)
            if sources["hub"] != sources["ghcr"]:
                assert exit_code == 12, f"{what}: expected a refusal (exit 12)\n{out}"
                assert after == before, f"{what}: a refused run wrote tags"
                self.adopt(after, what)
                return
            assert exit_code == 0, f"{what}: exit {exit_code}\n{out}"
            record = json.loads((self.world.notes / f"{version}.json").read_text())
            lines = {line["php"]: line["index_digest"] for line in record["lines"]}
            if version in self.records:
                assert lines == self.records[version], f"{what}: the rerun changed the record"
            self.records[version] = lines
            for name in REGISTRIES:
                for line in LINES:
                    planned[name][f"{version}-php-{line}"] = lines[line]
                planned[name][version] = lines[DEFAULT]
            expected = with_floating(planned, sources)
            assert after == expected, f"{what}:\n{after}\n!=\n{expected}\n{out}"
            if version in self.records and before == expected:
                assert after == before, f"{what}: a rerun changed something"
            self.same_on_every_registry(after, what)
            self.adopt(after, what)

        @rule(
            version=st.sampled_from(DRAWN),
            registry=st.sampled_from(REGISTRIES),
            skip=st.integers(min_value=0, max_value=4),
        )
        def a_release_meets_a_refused_tag_write(
            self, version: str, registry: str, skip: int
        ) -> None:
            """``registry`` refuses the release's ``skip``-th tag write (pin or floating)."""
            self.refused_write(version, registry, "tag", skip)

        @rule(
            version=st.sampled_from(DRAWN),
            registry=st.sampled_from(REGISTRIES),
            skip=st.integers(min_value=0, max_value=4),
        )
        def a_release_meets_a_refused_content_write(
            self, version: str, registry: str, skip: int
        ) -> None:
            """``registry`` refuses the release's ``skip``-th blob or manifest by digest."""
            self.refused_write(version, registry, "content", skip)

        def refused_write(self, version: str, registry: str, kind: str, skip: int) -> None:
            """Publish ``version`` while ``registry`` refuses one write: its ``skip``-th PUT
            of content (a blob or a manifest by digest) or of a tag (a pin or a floating
            tag). The run fails, and what it left is safe."""
            what = f"publish {version}, {registry} refusing {kind} PUT #{skip + 1}"
            before = self.read()
            assert before == self.tags, f"{what}: the registries changed between steps"
            repo = f"/v2/{self.world.repo}/"
            path = repo + (
                "(blobs/uploads/|manifests/sha256:)"
                if kind == "content"
                else "manifests/(?!sha256:)"
            )
            fault = Fault("status", method="PUT", path=path, status=400, skip=skip)
            exit_code, out, fired = self.publish(version, fault, registry)
            after = self.read()
            if not fired:  # the run made fewer writes there: an ordinary run
                self.check_run(version, before, after, exit_code, out, what + " (not reached)")
                return
            assert exit_code != 0, f"{what}: the refused write went unnoticed\n{out}"
            # Only this release's pins and the floating tags may have changed.
            for name in REGISTRIES:
                for tag in set(before[name]) | set(after[name]):
                    if tag not in FLOATING and owner(tag) != version:
                        assert before[name].get(tag) == after[name].get(tag), (what, name, tag)
            mine = {
                name: {t: after[name][t] for t in pins_of(version) if t in after[name]}
                for name in REGISTRIES
            }
            for name in REGISTRIES:
                # vX.Y.Z last on each registry; the primary's pins before the others'.
                if version in mine[name]:
                    assert set(mine[name]) == set(pins_of(version)), (what, name, mine)
            if mine["ghcr"]:
                assert set(mine["hub"]) == set(pins_of(version)), (what, mine)
            for pin in set(mine["hub"]) & set(mine["ghcr"]):
                assert mine["hub"][pin] == mine["ghcr"][pin], (what, pin)
            # Each floating tag is where it was or where the pins now present say; so no
            # floating tag follows a release whose pins are not all written.
            model = Model(self.records)
            wanted = with_floating(after, model.floating(after))
            old = floating_part(before)
            new = floating_part(wanted)
            for name in REGISTRIES:
                for tag, digest in floating_part(after)[name].items():
                    assert digest in {old[name].get(tag), new[name].get(tag)}, (
                        f"{what}: {name} {tag} -> {digest}, neither {old[name].get(tag)} "
                        f"nor {new[name].get(tag)}\n{out}"
                    )
            self.adopt(after, what)

        @precondition(lambda self: len([v for v in self.records if v in STABLE]) > 1)
        @rule(
            registry=st.sampled_from(REGISTRIES),
            tag=st.sampled_from(FLOATING),
            data=st.data(),
        )
        def move_a_floating_tag_by_hand(self, registry: str, tag: str, data: Any) -> None:
            """Point a floating tag of one registry at another recorded stable release's
            pin, by hand (an operator's slip, or what an outage left)."""
            held = self.tags[registry]

            def pin(version: str) -> str:
                return version if tag == "latest" else f"{version}-{tag}"

            others = sorted(
                v for v in self.records if v in STABLE and held[pin(v)] != held.get(tag)
            )
            source = pin(data.draw(st.sampled_from(others)))
            self.world.put_tag(registry, self.tags[registry][source], tag)
            after = self.read()
            expected = {
                **self.tags,
                registry: {**self.tags[registry], tag: self.tags[registry][source]},
            }
            assert after == expected, "the hand-made move"
            self.adopt(after, "the hand-made move")

        # With no record audit has nothing to read; and once run, it runs again only
        # after something changed.
        @precondition(lambda self: self.records and self.tags != self.audited)
        @rule()
        def audit_repair(self) -> None:
            what = "audit --repair"
            before = self.read()
            assert before == self.tags, f"{what}: the registries changed between steps"
            result = self.world.run("audit", "--repair", "--no-anonymous-check", matrix=self.matrix)
            out = result.stdout + result.stderr
            after = self.read()
            # Pins are not touched (those of recorded releases are all in place here).
            for name in REGISTRIES:
                assert {t: d for t, d in after[name].items() if t not in FLOATING} == {
                    t: d for t, d in before[name].items() if t not in FLOATING
                }, f"{what}: moved a pin\n{out}"
            recorded = Model(self.records, records_only=True)
            due = with_floating(after, recorded.floating(after))  # where the records say
            counted = Model(set()).counted(after)  # the releases that finished, record or not
            newest = max((POOL.index(v) for v in self.records if v in STABLE), default=-1)
            for name in REGISTRIES:
                for tag in FLOATING:
                    now, want = after[name].get(tag), due[name].get(tag)
                    if now == want:
                        continue
                    # Left alone only when it carries a newer release that finished
                    # everywhere but has no record here.
                    ahead = [
                        v
                        for v in counted[name]
                        if v not in self.records
                        and POOL.index(v) > newest
                        and now in {after[name].get(p) for p in pins_of(v)}
                        and all(set(pins_of(v)) <= set(after[n]) for n in REGISTRIES)
                    ]
                    assert ahead and now == before[name].get(tag), (
                        f"{what}: {name} {tag} -> {now}, the records say {want}\n{out}"
                    )
            unrecorded = (
                {owner(t) for held in after.values() for t in held} - {None} - set(self.records)
            )
            clean = not unrecorded and floating_part(after) == floating_part(due)
            assert (result.returncode == 0) == clean, f"{what}: exit {result.returncode}\n{out}"
            if clean:
                self.same_on_every_registry(after, what)
            self.adopt(after, what)
            self.audited = after

    return Releases


def test_floating_tags_follow_the_model_through_any_sequence_of_releases(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> None:
    real = {name: fresh_registry() for name in REGISTRIES}
    hosts = {name: reg.host for name, reg in real.items()}
    proxies = {name: proxy_for(reg.host) for name, reg in real.items()}
    machine = make_machine(tmp_path, write_matrix, hosts, proxies)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=6,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
