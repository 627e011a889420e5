"""A dry run writes nothing, and its plan is what the real run then does (a sweep).

Two real registries (hub, the primary, and ghcr), each behind a counting fault proxy;
a release's legs are stand-ins seeded on the primary with their digest records, then
``publisher publish`` runs as a separate process. In each registry state below the
sweep runs ``--dry-run --json``, then the same command for real, and checks:

* the dry run sent no PUT, POST, PATCH or DELETE to either registry;
* every tag move the dry run lists (pins, ``vX.Y.Z``, ``php-X.Y``, ``latest``, on each
  registry) is what the real run did: each tag read afterwards with plain HTTP points
  where the plan says, no other tag changed, a tag written by a manifest PUT exactly
  when the plan says created or moves (an unchanged one gets no write);
* the indexes pushed to the primary, and the manifests and blobs copied to ghcr, are
  those the plan names; a run that moved tags records the printed plan's sha256.

States: a first release; its rerun (nothing moves); a newer release (floating tags
move); a backport and a prerelease (they move none); floating tags moved by hand (the
rerun puts them back); a republish (``publish --reason``, legs rebuilt from a changed
base) of the newest release, of an older one, and of one line whose rebuild is
identical; releases stopped while writing their pins (a registry refused one: on the
primary, on ghcr, and a republish) or while copying to ghcr after their builds; a
registry added to matrix.yaml after two releases (the rerun of the newest fills it,
that of the older is refused by its dry run as by the real run); a newer release of
one line (``--only``); a release after ``default_line`` changed.

``release`` and ``republish`` dry runs (before their builds) are checked against the
publish of the legs built: the same tag moves, those "set after the builds" then set.
``release`` reruns that build nothing (every pin on the primary, or every leg already
built and pushed) are run for real.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from publisher.core import config as config_mod
from publisher.resolve import short_digest as short
from publisher.stages.build import dockerfile_sha256
from tests.conftest import ROOT
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import (
    make_image,
    push_raw,
    raw_delete_blob,
    raw_delete_manifest,
    raw_push_blob,
)
from tests.support.publishing import (
    ACCEPT,
    isolated_env,
    point_tag,
    run_publisher,
    seed_image,
    tag_map,
)

pytestmark = pytest.mark.integration

LINES = ("8.3", "8.4")
PLATFORMS = ("linux/amd64", "linux/arm64")
MUTATING = ("PUT", "POST", "PATCH", "DELETE")
TEMPLATE = ROOT / "dockerfiles" / "Dockerfile.j2"


def manifest_puts(proxy: FaultProxy) -> list[str]:
    """The references of the manifest PUTs the registry accepted, in order."""
    return [
        urlsplit(s.path).path.rsplit("/manifests/", 1)[1]
        for s in proxy.log
        if s.method == "PUT" and s.kind == "manifest" and s.status == 201
    ]


@dataclass
class Sweep:
    root: Path
    registries: dict[str, str]  # name -> the registry's own host (read directly)
    proxies: dict[str, FaultProxy]  # name -> the proxy in front of it (publisher's host)
    repo: str
    write_matrix: Callable[..., Path]
    env: dict[str, str]
    bases: dict[str, str]  # PHP line -> the digest of its base image (on hub's registry)
    matrix: Path = field(init=False)
    checked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.matrix = self.write_to(tuple(self.registries))

    def write_to(self, names: Sequence[str], default_line: str = "8.4") -> Path:
        """matrix.yaml naming the registries ``names`` (hub first, the primary)."""
        self.matrix = self.write_matrix(
            self.root,
            [(n, f"{self.proxies[n].host}/{self.repo}", n == "hub") for n in names],
            lines=LINES,
            platforms=PLATFORMS,
            base_image=f"{self.registries['hub']}/base/php:{{php}}-fpm-alpine",
            default_line=default_line,
        )
        return self.matrix

    def render(self) -> None:
        """The Dockerfiles ``release`` wants, rendered from the project's template."""
        if (self.root / "dockerfiles").exists():
            return
        (self.root / "dockerfiles").mkdir()
        (self.root / "dockerfiles" / "Dockerfile.j2").write_bytes(TEMPLATE.read_bytes())
        rendered = self.run("render")
        assert rendered.returncode == 0, rendered.stdout + rendered.stderr

    @property
    def notes(self) -> Path:
        return self.root / "release-notes"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_publisher(*args, config=self.matrix, env=self.env, cwd=self.root)

    def build(
        self, release: str, name: str = "", *, keep: Path | None = None, pending: bool = False
    ) -> Path:
        """Build legs stand-in: new images for every leg, seeded on the primary (not
        through its proxy), with their digest records in a directory of their own;
        the PHP 8.3 legs of ``keep`` (earlier records) rebuilt identical. Without a
        ``name``, the records are where ``release`` keeps them, as its builds write them
        (their base and Dockerfile), so that its rerun takes them instead of building;
        ``pending``: where its builds write them before the publish (``.pending``), kept
        there by a run that failed after them."""
        if name:
            digests = self.root / f"digests-{name}"
        else:
            self.render()
            digests = self.root / ".publisher" / "builds" / release / "digests"
            digests = digests / ".pending" if pending else digests
        config = config_mod.load(self.matrix, {})
        digests.mkdir(parents=True)
        primary = self.registries["hub"]
        for php in LINES:
            if keep is not None and php == "8.3":
                for path in keep.glob("8.3-*.json"):
                    (digests / path.name).write_bytes(path.read_bytes())
                continue
            seed_image(
                digests,
                release,
                php,
                make_image(PLATFORMS),
                push_to=primary,
                repo=self.repo,
                image_repo=f"{self.proxies['hub'].host}/{self.repo}",
                base=f"{primary}/base/php:{php}-fpm-alpine",
                base_digest=None if name else self.bases[php],
                # built from this checkout's Dockerfile, when it has one (publish
                # refuses legs of another Dockerfile)
                dockerfile_sha256=(
                    dockerfile_sha256(config, php)
                    if config.dockerfile_path(php).exists()
                    else "sha256:" + "0" * 64
                ),
            )
        return digests

    def tags(self) -> dict[str, dict[str, str]]:
        return {name: tag_map(host, self.repo) for name, host in self.registries.items()}

    def point(self, name: str, tag: str, at: str) -> None:
        """Point ``tag`` on registry ``name`` at the tag ``at``'s manifest, by hand."""
        point_tag(self.registries[name], self.repo, tag, at)

    def reset(self) -> None:
        for proxy in self.proxies.values():
            proxy.clear()

    def check(self, state: str, *argv: str) -> dict[str, Any]:
        """Run ``argv`` as a dry run (``--json``), then for real; check that the dry run
        wrote nothing and that the real run did exactly what its plan says."""
        said = f"{state}: publisher {' '.join(argv)}"
        before = self.tags()
        self.reset()
        dry = self.run(*argv, "--dry-run", "--json")
        assert dry.returncode == 0, f"{said} --dry-run:\n{dry.stdout}\n{dry.stderr}"
        for name, proxy in self.proxies.items():
            sent = {m: proxy.count(m) for m in MUTATING if proxy.count(m)}
            assert not sent, f"{said}: the dry run sent {sent} to {name}"
        assert self.tags() == before, f"{said}: the dry run changed a tag"
        plan = json.loads(dry.stdout)
        planned_sha = "sha256:" + hashlib.sha256(dry.stdout.encode()).hexdigest()

        notes = self.notes / f"{plan['release']}.json"
        recorded = notes.read_bytes() if notes.is_file() else None
        self.reset()
        real = self.run(*argv, "--no-smoke")
        assert real.returncode == 0, f"{said}:\n{real.stdout}\n{real.stderr}"
        after = self.tags()

        moves = [*plan["pin_moves"], *plan["floating_moves"]]
        expected = {name: dict(tags) for name, tags in before.items()}
        for move in moves:
            assert move["new"] is not None, f"{said}: {move} has no digest"
            if move["registry"] in expected:
                expected[move["registry"]][move["tag"]] = move["new"]
        for name in sorted({m["registry"] for m in plan["pin_moves"]}):  # matrix.yaml's
            assert after[name] == expected[name], (
                f"{said}: on {name} the real run left the tags "
                f"{differences(before[name], after[name])} where the dry run planned "
                f"{differences(before[name], expected[name])}\n{dry.stdout}\n{real.stderr}"
            )
            written = {ref for ref in manifest_puts(self.proxies[name]) if ":" not in ref}
            changed = {m["tag"] for m in moves if m["registry"] == name and m["old"] != m["new"]}
            unchanged = {m["tag"] for m in moves if m["registry"] == name} - changed
            assert written == changed, (
                f"{said}: on {name} the real run wrote the tags {sorted(written)}; the dry "
                f"run planned {sorted(changed)} (unchanged: {sorted(unchanged)})"
            )
            for move in moves:
                if move["registry"] == name and move["old"] is not None:
                    assert before[name].get(move["tag"]) == move["old"], (said, move)
        self.check_copies(said, plan)
        record = json.loads(notes.read_text())
        if any(m["old"] != m["new"] for m in plan["pin_moves"]):
            assert record["publish_plan_sha256"] == planned_sha, (
                f"{said}: the notes record another plan than the dry run printed"
            )
        elif recorded is not None:  # no pin moved: the record stays as it was written
            assert notes.read_bytes() == recorded, f"{said}: the record was rewritten"
        self.checked.append(state)
        return plan

    def release_dry_run(self, release: str, *argv: str) -> dict[str, Any]:
        """``release RELEASE --dry-run --json`` (or ``argv``, as ``republish RELEASE
        --reason ...``), before any build: it sends no mutating request."""
        self.render()
        self.reset()
        argv = argv or ("release", release)
        dry = self.run(*argv, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        for name, proxy in self.proxies.items():
            sent = {m: proxy.count(m) for m in MUTATING if proxy.count(m)}
            assert not sent, f"{' '.join(argv)} --dry-run sent {sent} to {name}"
        plan: dict[str, Any] = json.loads(dry.stdout)
        return plan

    def check_copies(self, said: str, plan: dict[str, Any]) -> None:
        """Indexes pushed to the primary, manifests and blobs copied to the others: those
        the plan names, no more."""
        transfers = plan["transfers"] or {"blobs": [], "manifests": []}
        for name, proxy in self.proxies.items():
            target = f"{proxy.host}/{self.repo}"
            digests = [ref for ref in manifest_puts(proxy) if ref.startswith("sha256:")]
            wanted = {
                s["digest"] for wave in transfers["manifests"] for s in wave if s["to"] == target
            }
            if name == "hub":
                wanted |= {a["digest"] for a in plan["lines"] if a["push"]}
            assert sorted(digests) == sorted(wanted), (
                f"{said}: {name} got the manifests {sorted(digests)}, planned {sorted(wanted)}"
            )
            copied = [a["digest"] for a in plan["lines"] if name in a["copy_to"]]
            for digest in copied:  # put now, or held with what it lacked put under it
                host = self.registries[name]
                assert held_whole(host, self.repo, digest) == [], (said, name, digest, digests)
            uploads = {b["digest"] for b in transfers["blobs"] if target in b["upload"]}
            assert set(proxy.uploads_by_digest()) == uploads, (said, name)
            mounts = [
                b for b in transfers["blobs"] for m in (*b["mount"], *b["mount_after_upload"])
                if m["to"] == target
            ]  # fmt: skip
            assert len(proxy.mounts()) == len(mounts), (said, name)


def as_built(before: dict[str, Any], after: dict[str, Any]) -> None:
    """``before``, a ``release`` dry run's plan (lines still to build have no digest),
    is ``after``, the plan of the publish of those builds, but for the digests the
    builds give: every tag move, from the same digest, and each line's index pushed
    and copied to every other registry."""
    for key in ("pin_moves", "floating_moves"):
        assert len(before[key]) == len(after[key]), (key, before[key], after[key])
        for planned, done in zip(before[key], after[key], strict=True):
            fixed = ("registry", "tag", "kind", "old", "source_release")
            assert {k: planned[k] for k in fixed} == {k: done[k] for k in fixed}, (planned, done)
            if planned["new"] is not None:
                assert planned["new"] == done["new"], (planned, done)
            else:
                assert done["new"] is not None and done["new"] != done["old"], (planned, done)
    for planned, done in zip(before["lines"], after["lines"], strict=True):
        if planned["digest"] is None:
            assert planned["source"] == "pending", planned
            assert done["source"] in ("assembled", "replaced"), done
            for key in ("push", "copy_to", "previous"):
                assert planned[key] == done[key], (key, planned, done)
        else:
            assert planned == done


def differences(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """tag -> what happened to it, between two tag maps."""
    said = {}
    for tag in sorted(set(before) | set(after)):
        old, new = before.get(tag), after.get(tag)
        if old != new:
            said[tag] = f"{(old or '(none)')[:19]} -> {(new or '(gone)')[:19]}"
    return said


@pytest.fixture
def sweep(
    tmp_path: Path,
    fresh_registry: Callable[..., Any],
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
) -> Sweep:
    hosts = {"hub": fresh_registry().host, "ghcr": fresh_registry().host}
    env = isolated_env(tmp_path)
    bases = {  # the bases `release` resolves (and would build FROM)
        php: push_raw(
            f"http://{hosts['hub']}", "base/php", make_image(PLATFORMS), [f"{php}-fpm-alpine"]
        )
        for php in LINES
    }
    proxies = {name: proxy_for(host) for name, host in hosts.items()}
    repo = f"sweep/php-fpm-{uuid.uuid4().hex[:8]}"
    return Sweep(tmp_path, hosts, proxies, repo, write_matrix, env, bases)


def publish(release: str, digests: Path, *extra: str) -> tuple[str, ...]:
    return ("publish", release, "--digests", str(digests), *extra)


def test_a_dry_run_is_what_the_real_run_does_from_release_to_republish(sweep: Sweep) -> None:
    """One repository's life: every tag move each dry run lists is what the run did."""
    before = sweep.release_dry_run("v1.0.0")
    v100 = sweep.build("v1.0.0", "v1.0.0")
    first = sweep.check("first release", *publish("v1.0.0", v100))
    as_built(before, first)
    assert {m["tag"] for m in first["floating_moves"]} == {"php-8.3", "php-8.4", "latest"}

    again = sweep.check("rerun of a finished release", *publish("v1.0.0", v100))
    assert not [m for m in again["pin_moves"] + again["floating_moves"] if m["old"] != m["new"]]
    as_built(sweep.release_dry_run("v1.0.0"), again)

    before = sweep.release_dry_run("v1.1.0")
    newer = sweep.check("newer release", *publish("v1.1.0", sweep.build("v1.1.0", "v1.1.0")))
    as_built(before, newer)
    assert {m["tag"] for m in newer["floating_moves"] if m["old"] != m["new"]} == {
        "php-8.3", "php-8.4", "latest"
    }  # fmt: skip

    before = sweep.release_dry_run("v1.0.1")
    v101 = sweep.build("v1.0.1", "v1.0.1")
    backport = sweep.check("backport", *publish("v1.0.1", v101))
    as_built(before, backport)
    assert all(m["old"] == m["new"] for m in backport["floating_moves"])

    before = sweep.release_dry_run("v2.0.0-rc.1")
    rc = sweep.check("prerelease", *publish("v2.0.0-rc.1", sweep.build("v2.0.0-rc.1", "rc")))
    as_built(before, rc)
    assert all(m["old"] == m["new"] for m in rc["floating_moves"])

    sweep.point("hub", "latest", "v1.0.0")
    sweep.point("hub", "php-8.3", "v1.0.1-php-8.3")
    sweep.point("ghcr", "php-8.3", "v1.0.1-php-8.3")
    back = sweep.check("floating tags moved by hand", *publish("v1.0.1", v101))
    assert {(m["registry"], m["tag"]) for m in back["floating_moves"] if m["old"] != m["new"]} == {
        ("hub", "latest"),
        ("hub", "php-8.3"),
        ("ghcr", "php-8.3"),
    }

    reason = ("--reason", "base image update")
    before = sweep.release_dry_run("v1.1.0", "republish", "v1.1.0", *reason)
    newest = sweep.check(
        "republish of the newest release",
        *publish("v1.1.0", sweep.build("v1.1.0", "v1.1.0-rebuilt"), *reason),
    )
    as_built(before, newest)
    assert {m["tag"] for m in newest["floating_moves"] if m["old"] != m["new"]} == {
        "php-8.3", "php-8.4", "latest"
    }  # fmt: skip
    older = sweep.check(
        "republish of an older release",
        *publish("v1.0.0", sweep.build("v1.0.0", "v1.0.0-rebuilt"), *reason),
    )
    assert all(m["old"] == m["new"] for m in older["floating_moves"])
    one = sweep.check(
        "republish rebuilding one line identical",
        *publish("v1.0.1", sweep.build("v1.0.1", "v1.0.1-8.4", keep=v101), *reason),
    )
    assert {m["tag"] for m in one["pin_moves"] if m["old"] != m["new"]} == {
        "v1.0.1-php-8.4", "v1.0.1"
    }  # fmt: skip
    assert len(sweep.checked) == 9


def test_a_dry_run_is_what_the_rerun_of_a_half_written_release_does(sweep: Sweep) -> None:
    """Runs stopped while writing their pins (a registry refused one), then rerun: on
    the primary (v1.1.0: hub refused a pin, ghcr got the indexes and no tag); on ghcr
    (v1.2.0: hub holds every pin); a republish stopped the same way (v1.2.0). The dry
    runs of each rerun (and of ``release``, which builds nothing when every pin is on
    the primary) list what the rerun then writes."""
    sweep.check("first release", *publish("v1.0.0", sweep.build("v1.0.0", "v1.0.0")))

    def stop(registry: str, pin: str, *argv: str) -> dict[str, dict[str, str]]:
        refused = Fault("status", method="PUT", path=f"/manifests/{pin}$", status=400)
        sweep.proxies[registry].add(refused)
        stopped = sweep.run(*argv, "--no-smoke")
        assert stopped.returncode == 9, stopped.stdout + stopped.stderr
        assert refused.fired == 1
        sweep.reset()
        return sweep.tags()

    # built and pushed by `release`, which then stopped writing its pins on the primary
    sweep.build("v1.1.0")
    tags = stop("hub", r"v1\.1\.0-php-8\.3", "release", "v1.1.0")
    assert "v1.1.0-php-8.3" not in tags["hub"] and not pins(tags["ghcr"], "v1.1.0"), tags
    # its rerun takes that line from the pin, written beside the refused one (always: a
    # refused pin never stops those of its group)
    assert "v1.1.0-php-8.4" in tags["hub"], tags
    sweep.check("pins half written on the primary", "release", "v1.1.0")

    v120 = sweep.build("v1.2.0", "v1.2.0")
    tags = stop("ghcr", r"v1\.2\.0-php-8\.4", *publish("v1.2.0", v120))
    assert "v1.2.0" in tags["hub"] and "v1.2.0" not in tags["ghcr"], tags
    assert tags["hub"]["latest"] == tags["ghcr"]["latest"] == tags["hub"]["v1.1.0"]
    sweep.render()
    sweep.reset()
    dry = sweep.run("release", "v1.2.0", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING)
    planned = json.loads(dry.stdout)
    assert not any(a["push"] or a["digest"] is None for a in planned["lines"]), planned
    rerun = sweep.check("pins half written on ghcr", *publish("v1.2.0", v120))
    assert {(m["registry"], m["tag"]) for m in rerun["pin_moves"] if m["old"] is None} == {
        ("ghcr", "v1.2.0-php-8.4"), ("ghcr", "v1.2.0")
    }  # fmt: skip
    for key in ("pin_moves", "floating_moves", "lines"):
        assert planned[key] == rerun[key], key  # as `release` planned it

    again = sweep.build("v1.2.0", "v1.2.0-rebuilt")
    republish = publish("v1.2.0", again, "--reason", "base image update")
    tags = stop("ghcr", r"v1\.2\.0-php-8\.4", *republish)
    assert tags["hub"]["v1.2.0-php-8.4"] != tags["ghcr"]["v1.2.0-php-8.4"], tags
    plan = sweep.check("republish stopped half-way", *republish)
    assert {m["tag"] for m in plan["floating_moves"] if m["old"] != m["new"]} == {
        "php-8.3", "php-8.4", "latest"
    }  # fmt: skip

    # v1.3.0 built and pushed; its run stopped copying to ghcr, before any tag
    sweep.build("v1.3.0")
    tags = stop("ghcr", "sha256:[0-9a-f]+", "release", "v1.3.0")
    assert not pins(tags["hub"], "v1.3.0") and not pins(tags["ghcr"], "v1.3.0"), tags
    plan = sweep.check("a release stopped while copying, after its builds", "release", "v1.3.0")
    assert not any(a["push"] or a["digest"] is None for a in plan["lines"]), plan["lines"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/blobs/uploads/"), ("PUT", "/manifests/sha256:")],
    ids=["blob-uploads", "manifests"],
)
def test_the_dry_run_after_a_release_failed_copying_plans_the_builds_it_kept(
    sweep: Sweep, method: str, path: str
) -> None:
    """A release whose builds are pushed to hub fails copying to ghcr (its blob uploads,
    or its manifests, answered 500 every time): the records of its builds stay in
    ``.pending``, which the rerun reuses. The rerun's dry run takes them too: it lists no
    build, plans the copies of their indexes, and its plan is the one the rerun records
    (``publish_plan_sha256``). It said it would rebuild every leg and copy nothing."""
    sweep.check("first release", *publish("v1.0.0", sweep.build("v1.0.0", "v1.0.0")))
    pending = sweep.build("v1.1.0", pending=True)  # the builds of the run that fails
    refused = Fault("status", method=method, path=path, status=500, times=None)
    sweep.proxies["ghcr"].add(refused)
    failed = sweep.run("release", "v1.1.0", "--no-smoke")
    said = failed.stdout + failed.stderr
    assert failed.returncode == 7 and refused.fired, said
    assert "a rerun of the same command reuses them" in " ".join(failed.stderr.split()), said
    assert sorted(p.name for p in pending.glob("*.json")) == sorted(
        f"{php}-{p.replace('/', '-')}.json" for php in LINES for p in PLATFORMS
    ), said
    assert not list(pending.parent.glob("*.json"))  # only the failed run's records
    sweep.reset()  # the fault cleared
    dry = sweep.run("release", "v1.1.0", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "none: every image is already built and pushed" in dry.stdout + dry.stderr, dry.stdout
    plan = sweep.check("rerun of a release that failed copying to ghcr", "release", "v1.1.0")
    assert all(a["digest"] and a["source"] == "assembled" for a in plan["lines"]), plan["lines"]
    assert all(a["copy_to"] == ["ghcr"] for a in plan["lines"]), plan["lines"]
    assert plan["transfers"]["manifests"], plan["transfers"]
    assert not pending.exists()  # the records kept in place of the earlier ones


def named_pins(words: str) -> set[tuple[str, str]]:
    """The (registry, tag) pairs of a tip's ``a, b on hub and none on ghcr``."""
    named = set()
    for part in words.split(" and "):
        tags, _, registry = part.rpartition(" on ")
        named |= {(registry, t) for t in tags.split(", ") if t != "none"}
    return named


def test_a_run_stopped_at_one_pin_lists_the_pins_it_wrote_and_says_the_rerun_finishes(
    sweep: Sweep,
) -> None:
    """A registry refuses one pin: the pins beside it are written all the same, the log
    lists exactly the tags that moved, and the tip says what the run left (no floating tag
    moved onto them) and that a rerun writes the rest; it does. For ``release`` (stopped on
    the primary), ``publish`` (on ghcr) and a republish (``publish --reason``, at
    ``vX.Y.Z`` on the primary, written after the other pins). The tip gave the refusal's
    advice alone, saying nothing of the pins already written."""
    sweep.check("first release", *publish("v1.0.0", sweep.build("v1.0.0", "v1.0.0")))
    hosts = {proxy.host: name for name, proxy in sweep.proxies.items()}
    written = re.compile(rf"^(\S+)/{re.escape(sweep.repo)}:(\S+) -> (sha256:[0-9a-f]{{64}})$")
    reason = ("--reason", "base image update")
    sweep.build("v1.1.0")  # where `release` keeps its builds: its rerun builds nothing
    v120 = sweep.build("v1.2.0", "v1.2.0")
    for registry, pin, argv, moved in (
        ("hub", "v1.1.0-php-8.3", ("release", "v1.1.0"), {("hub", "v1.1.0-php-8.4")}),
        (
            "ghcr",
            "v1.2.0-php-8.4",
            publish("v1.2.0", v120),
            {("hub", t) for t in ("v1.2.0-php-8.3", "v1.2.0-php-8.4", "v1.2.0")}
            | {("ghcr", "v1.2.0-php-8.3")},
        ),
        (
            "hub",
            "v1.2.0",
            publish("v1.2.0", sweep.build("v1.2.0", "v1.2.0-rebuilt"), *reason),
            {("hub", "v1.2.0-php-8.3"), ("hub", "v1.2.0-php-8.4")},
        ),
    ):
        before = sweep.tags()
        refused_at = (registry, pin)
        refused = Fault("status", method="PUT", path=f"/manifests/{re.escape(pin)}$", status=400)
        sweep.proxies[registry].add(refused)
        stopped = sweep.run(*argv, "--no-smoke")
        said = f"publisher {' '.join(argv)}:\n{stopped.stdout}\n{stopped.stderr}"
        assert stopped.returncode == 9 and refused.fired == 1, said
        after = sweep.tags()
        changed = {(n, t) for n in after for t in after[n] if before[n].get(t) != after[n][t]}
        assert changed == moved, said
        logged = {
            (hosts[m[1]], m[2], m[3])
            for line in stopped.stdout.splitlines()
            if (m := written.match(line.strip()))
        }
        assert logged == {(n, t, after[n][t]) for n, t in moved}, said
        flat = " ".join(stopped.stderr.split())
        # the tip names the pins it wrote and those it did not, per registry (it said they
        # were "listed above", where the step summary shows the plan of every pin)
        tip = re.search(
            r"this run stopped while writing its pins: it wrote (.*?)(?: \(not (.*?)\))?; no "
            "floating tag moved and its record is not written; once the cause is fixed, a "
            "rerun of the same command writes the rest, then the floating tags",
            flat,
        )
        assert tip is not None, said
        assert named_pins(tip[1]) == moved, said
        assert named_pins(tip[2]) & moved == set() and refused_at in named_pins(tip[2]), said
        assert all(after[n][t] == before[n][t] for n in after for t in ("latest", "php-8.4"))
        sweep.reset()
        rerun = sweep.run(*argv, "--no-smoke")
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        done = sweep.tags()
        for name in ("hub", "ghcr"):
            assert {t: done[name][t] for t in pins(done[name], argv[1])} == {
                t: done["hub"][t] for t in pins(done["hub"], argv[1])
            }, done
            assert done[name]["latest"] == done["hub"][argv[1]], done


def held_whole(host: str, repo: str, index: str) -> list[str]:
    """What ``repo`` on ``host`` lacks under ``index``: each image it lists, and the
    config and layers of each, read with plain HTTP (empty: it holds all of it)."""
    base = f"http://{host}/v2/{repo}"
    lacking = []
    got = requests.get(f"{base}/manifests/{index}", headers={"Accept": ACCEPT}, timeout=30)
    got.raise_for_status()
    for child in got.json()["manifests"]:
        image = requests.get(
            f"{base}/manifests/{child['digest']}", headers={"Accept": ACCEPT}, timeout=30
        )
        if image.status_code != 200:
            lacking.append(child["digest"])
            continue
        body = image.json()
        for blob in [body["config"], *body["layers"]]:
            if requests.head(f"{base}/blobs/{blob['digest']}", timeout=30).status_code != 200:
                lacking.append(blob["digest"])
    return lacking


def test_a_rerun_restores_an_image_or_a_blob_a_registry_lost_as_its_dry_run_says(
    sweep: Sweep,
) -> None:
    """ghcr loses an image listed by an index it holds (deleted by digest), then a layer
    of another (deleted from the repository): each rerun (``release``, then ``publish``)
    plans and copies back exactly what ghcr lacks, moves no tag, and leaves ghcr whole;
    a rerun with nothing changed sends no mutating request."""
    sweep.render()
    v100 = sweep.build("v1.0.0")
    first = sweep.check("first release", "release", "v1.0.0")
    index = {a["php"]: a["digest"] for a in first["lines"]}
    ghcr, hub = sweep.registries["ghcr"], sweep.registries["hub"]
    ghcr_repo = f"{sweep.proxies['ghcr'].host}/{sweep.repo}"

    def children(php: str) -> list[str]:
        got = requests.get(
            f"http://{hub}/v2/{sweep.repo}/manifests/{index[php]}",
            headers={"Accept": ACCEPT},
            timeout=30,
        )
        got.raise_for_status()
        return [c["digest"] for c in got.json()["manifests"]]

    def unchanged(plan: dict[str, Any]) -> None:
        moved = [m for m in plan["pin_moves"] + plan["floating_moves"] if m["old"] != m["new"]]
        assert not moved, moved

    # nothing changed: reads only
    again = sweep.check("rerun, nothing lost", "release", "v1.0.0")
    unchanged(again)
    assert again["transfers"] == {"blobs": [], "manifests": [], "downloads": 0, "upload_bytes": {}}
    assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING)

    lost = children("8.4")[1]
    raw_delete_manifest(f"http://{ghcr}", sweep.repo, lost)
    assert held_whole(ghcr, sweep.repo, index["8.4"]) == [lost]
    plan = sweep.check("ghcr lost an image", "release", "v1.0.0")
    unchanged(plan)
    assert [(a["php"], a["copy_to"]) for a in plan["lines"]] == [("8.3", []), ("8.4", ["ghcr"])]
    assert plan["transfers"]["manifests"] == [[{"to": ghcr_repo, "digest": lost}]]
    assert plan["transfers"]["blobs"] == []  # its config and layers are there still
    assert held_whole(ghcr, sweep.repo, index["8.4"]) == []

    image = requests.get(
        f"http://{hub}/v2/{sweep.repo}/manifests/{children('8.3')[0]}",
        headers={"Accept": ACCEPT},
        timeout=30,
    ).json()
    layer = image["layers"][-1]["digest"]
    raw_delete_blob(f"http://{ghcr}", sweep.repo, layer)
    assert held_whole(ghcr, sweep.repo, index["8.3"]) == [layer]
    plan = sweep.check("ghcr lost a layer", *publish("v1.0.0", v100))
    unchanged(plan)
    assert [(a["php"], a["copy_to"]) for a in plan["lines"]] == [("8.3", ["ghcr"]), ("8.4", [])]
    assert [(b["digest"], b["upload"]) for b in plan["transfers"]["blobs"]] == [
        (layer, [ghcr_repo])
    ]
    assert plan["transfers"]["manifests"] == []
    assert held_whole(ghcr, sweep.repo, index["8.3"]) == []
    unchanged(sweep.check("rerun after the repairs", "release", "v1.0.0"))
    assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING)


def test_a_rerun_over_an_image_the_primary_lost_is_refused_naming_it(sweep: Sweep) -> None:
    """The primary loses an image of a published release (deleted by digest, and its
    layer), which ghcr still holds: the copies start from the primary, so a rerun (``release``, or
    ``publish`` of its records) and its dry run refuse alike before any write, naming the
    image, where it still is and the repair; ``audit --repair`` puts
    back the image with its layer, and the rerun passes."""
    sweep.render()
    v100 = sweep.build("v1.0.0")
    first = sweep.check("first release", "release", "v1.0.0")
    index = next(a["digest"] for a in first["lines"] if a["php"] == "8.3")
    hub = sweep.registries["hub"]
    got = requests.get(
        f"http://{hub}/v2/{sweep.repo}/manifests/{index}", headers={"Accept": ACCEPT}, timeout=30
    )
    got.raise_for_status()
    gone = got.json()["manifests"][0]["digest"]
    body = requests.get(
        f"http://{hub}/v2/{sweep.repo}/manifests/{gone}", headers={"Accept": ACCEPT}, timeout=30
    ).json()
    raw_delete_blob(f"http://{hub}", sweep.repo, body["layers"][-1]["digest"])  # with it
    raw_delete_manifest(f"http://{hub}", sweep.repo, gone)
    before = sweep.tags()
    for argv in (("release", "v1.0.0"), publish("v1.0.0", v100)):
        for extra in ("--dry-run", "--no-smoke"):
            sweep.reset()
            refused = sweep.run(*argv, extra)
            said = f"{' '.join(argv)} {extra}:\n{refused.stdout}\n{refused.stderr}"
            assert refused.returncode == 5, said
            flat = " ".join(refused.stderr.split())
            assert gone in flat and "`publisher audit --repair` copies it back" in flat, said
            if argv[0] == "publish":
                assert f"PHP 8.3 linux/amd64 image {gone} (still on ghcr)" in flat, said
            else:
                assert f"image {gone}, which hub no longer holds (still on ghcr)," in flat, said
            assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING), said
    # one build leg of the line (a rerun's job in Actions) takes its record from the pin:
    # it names where the image still is too, and writes no record
    sweep.reset()
    record = sweep.root / "leg" / "8.3-linux-amd64.json"
    leg = sweep.run(
        "build", "v1.0.0", "--php", "8.3", "--platform", "linux/amd64",
        "--digest-file", str(record),
    )  # fmt: skip
    said = leg.stdout + leg.stderr
    flat = " ".join(leg.stderr.split())
    assert leg.returncode == 5, said
    assert f"image {gone}, which hub no longer holds (still on ghcr)," in flat, said
    assert "`publisher audit --repair` copies it back" in flat, said
    assert not record.exists()
    assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING), said
    # ghcr refusing (403) or failing (503) the HEAD that asks whether it still holds the
    # image: the primary's loss is still the error, ghcr only not named as holding it
    for status in (403, 503):
        sweep.reset()
        sweep.proxies["ghcr"].add(
            Fault("status", method="HEAD", path=f"/manifests/{gone}", status=status, times=None)
        )
        refused = sweep.run(*publish("v1.0.0", v100), "--no-smoke")
        said = f"ghcr answering {status}:\n{refused.stdout}\n{refused.stderr}"
        flat = " ".join(refused.stderr.split())
        assert refused.returncode == 5, said
        assert sweep.proxies["ghcr"].count("HEAD", "manifest"), said  # it was asked
        assert f"PHP 8.3 linux/amd64 image {gone}" in flat, said
        assert "still on" not in flat and "`publisher audit --repair` copies it back" in flat
    sweep.reset()
    assert sweep.tags() == before
    repaired = sweep.run("audit", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert held_whole(hub, sweep.repo, index) == []
    again = sweep.check("rerun after the repair", "release", "v1.0.0")
    assert not [m for m in again["pin_moves"] + again["floating_moves"] if m["old"] != m["new"]]


def pins(tags: dict[str, str], release: str) -> list[str]:
    return [t for t in tags if t == release or t.startswith(f"{release}-php-")]


def test_a_dry_run_is_what_the_rerun_onto_a_registry_added_later_does(sweep: Sweep) -> None:
    """v1.0.0 and v1.1.0 published to hub alone; ghcr added to matrix.yaml; the rerun of
    v1.1.0 copies it there and points ghcr's floating tags at it, as its dry run says.
    The rerun of v1.0.0, which would point them elsewhere than hub's, is refused by
    its dry run as by the real run."""
    sweep.render()
    sweep.write_to(["hub"])
    sweep.check("first release, hub alone", *publish("v1.0.0", sweep.build("v1.0.0", "a")))
    v110 = sweep.build("v1.1.0", "b")
    sweep.check("newer release, hub alone", *publish("v1.1.0", v110))
    sweep.write_to(["hub", "ghcr"])
    # v1.0.0, rerun, would point ghcr's latest at it, hub's staying on v1.1.0: both
    # runs refuse alike, before writing anything
    refusals = []
    for extra in ("--dry-run", "--no-smoke"):
        sweep.reset()
        refused = sweep.run("release", "v1.0.0", extra)
        assert refused.returncode == 12, refused.stdout + refused.stderr
        assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING), extra
        said = refused.stderr.replace("dry run: ", "")  # the refusal, after the progress
        refusals.append(said[said.index("error: ") :])
    # the registries in matrix.yaml's order, the primary first
    assert "latest would point at v1.1.0 (" in refusals[0], refusals[0]
    assert ") on hub; v1.0.0 (" in refusals[0] and refusals[0].count(") on ghcr\n") == 3
    assert refusals[0] == refusals[1]
    plan = sweep.check("registry added later", *publish("v1.1.0", v110))
    assert {m["tag"] for m in plan["pin_moves"] + plan["floating_moves"] if m["old"] is None} == {
        "v1.1.0-php-8.3", "v1.1.0-php-8.4", "v1.1.0", "php-8.3", "php-8.4", "latest"
    }  # fmt: skip
    assert all(a["copy_to"] == ["ghcr"] for a in plan["lines"])

    only = sweep.check(
        "a newer release of one line",
        *publish("v1.2.0", sweep.build("v1.2.0", "c"), "--only", "8.4"),
    )
    assert {m["tag"] for m in only["floating_moves"] if m["old"] != m["new"]} == {
        "php-8.4",
        "latest",
    }
    sweep.write_to(["hub", "ghcr"], default_line="8.3")
    other = sweep.check("another default line", *publish("v1.3.0", sweep.build("v1.3.0", "d")))
    latest = {m["registry"]: m["new"] for m in other["floating_moves"] if m["tag"] == "latest"}
    pinned = {m["registry"]: m["new"] for m in other["pin_moves"] if m["tag"] == "v1.3.0-php-8.3"}
    assert latest == pinned, other


def test_a_blob_the_primary_lost_under_an_image_it_holds_is_named_with_the_copy_by_digest(
    sweep: Sweep,
) -> None:
    """The primary loses a layer of one image and the config of another, images it still
    holds (ghcr holds them whole): ``audit`` reads manifests and ``audit --repair``
    copies back images, so neither sees or restores them; a rerun refuses before any
    tag, naming the blob (the config: where it still is) with the copy by digest as the
    repair, where it said to push the image again, or to fix the cause and rerun. When
    ghcr loses the layer too, the copy that would put it back fails on hub's download:
    the same error, naming the layer and its image, where it was a bare not-found."""
    sweep.render()
    v100 = sweep.build("v1.0.0")
    first = sweep.check("first release", "release", "v1.0.0")
    index = {a["php"]: a["digest"] for a in first["lines"]}
    hub, ghcr = sweep.registries["hub"], sweep.registries["ghcr"]

    def image(php: str, n: int) -> dict[str, Any]:
        base = f"http://{hub}/v2/{sweep.repo}/manifests"
        got = requests.get(f"{base}/{index[php]}", headers={"Accept": ACCEPT}, timeout=30)
        child = got.json()["manifests"][n]["digest"]
        result: dict[str, Any] = requests.get(
            f"{base}/{child}", headers={"Accept": ACCEPT}, timeout=30
        ).json()
        return result

    layer = image("8.3", 0)["layers"][-1]["digest"]
    config = image("8.4", 1)["config"]["digest"]
    for digest in (layer, config):
        raw_delete_blob(f"http://{hub}", sweep.repo, digest)
    assert held_whole(hub, sweep.repo, index["8.3"]) == [layer]
    assert held_whole(hub, sweep.repo, index["8.4"]) == [config]
    repaired = sweep.run("audit", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert held_whole(hub, sweep.repo, index["8.3"]) == [layer]
    assert held_whole(hub, sweep.repo, index["8.4"]) == [config]
    before = sweep.tags()

    def refused(argv: Sequence[str], code: int, *named: str) -> str:
        sweep.reset()
        run = sweep.run(*argv, "--no-smoke")
        said = run.stdout + run.stderr
        assert run.returncode == code, said
        flat = " ".join(run.stderr.split())
        assert all(n in flat for n in named), said
        assert "`publisher audit --repair` does not restore it" in flat, said
        assert "skopeo copy --all --preserve-digests" in flat, said
        assert not any(p.count(m) for p in sweep.proxies.values() for m in MUTATING), said
        return flat

    release = ("release", "v1.0.0")
    refused(release, 5, f"whose config blob {config} hub no longer holds (still on ghcr),")
    sweep.reset()  # one build leg of the line says so too
    leg = sweep.run(
        "build", "v1.0.0", "--php", "8.4", "--platform", PLATFORMS[1],
        "--digest-file", str(sweep.root / "leg" / "8.4.json"),
    )  # fmt: skip
    flat = " ".join(leg.stderr.split())
    assert leg.returncode == 5, leg.stdout + leg.stderr
    assert f"whose config blob {config} hub no longer holds (still on ghcr)," in flat, flat
    refused(publish("v1.0.0", v100), 5, f"hub does not hold the config blob {config}", "ghcr)")
    # ghcr refusing (403) or failing (503) the HEAD that asks whether it still holds the
    # config: hub's loss is still the error (the blob named), not ghcr's answer
    for status in (403, 503):
        fault = Fault("status", method="HEAD", path=f"/blobs/{config}", status=status, times=None)
        sweep.reset()
        sweep.proxies["ghcr"].add(fault)
        run = sweep.run(*publish("v1.0.0", v100), "--no-smoke")
        said = f"ghcr answering {status}:\n{run.stdout}\n{run.stderr}"
        assert run.returncode == 5, said
        assert sweep.proxies["ghcr"].count("HEAD", "blob"), said  # it was asked
        assert f"blob {config} not found" in " ".join(run.stderr.split()), said
    body = requests.get(f"http://{ghcr}/v2/{sweep.repo}/blobs/{config}", timeout=30)
    raw_push_blob(f"http://{hub}", sweep.repo, body.content)
    for argv in (release, publish("v1.0.0", v100)):
        flat = refused(argv, 12, f"blob {short(layer)} cannot be fetched")
        assert "no tag was written; the copies to the other registries start from" in flat
    assert sweep.tags() == before
    body = requests.get(f"http://{ghcr}/v2/{sweep.repo}/blobs/{layer}", timeout=30)
    # ghcr loses it too: the copies plan it from hub, whose download fails mid-copy
    raw_delete_blob(f"http://{ghcr}", sweep.repo, layer)
    for argv in (release, publish("v1.0.0", v100)):
        run = sweep.run(*argv, "--no-smoke")
        said = run.stdout + run.stderr
        flat = " ".join(run.stderr.split())
        assert run.returncode == 5, said
        assert (
            f"hub does not hold the blobs the copies need: layer blob {layer} of the PHP 8.3 "
            in flat
        ), said
        assert "no tag was written; the copies to the other registries start from" in flat, said
        assert "skopeo copy --all --preserve-digests" in flat, said
    assert sweep.tags() == before
    raw_push_blob(f"http://{ghcr}", sweep.repo, body.content)
    raw_push_blob(f"http://{hub}", sweep.repo, body.content)
    again = sweep.check("rerun after the copies", "release", "v1.0.0")
    assert not [m for m in again["pin_moves"] + again["floating_moves"] if m["old"] != m["new"]]


def listings(proxy: FaultProxy) -> int:
    """How many times the registry's whole tag list was read: its first page asked for,
    not the one-tag probes (``?n=1``) that say whether the repository exists."""
    return sum(
        1
        for s in proxy.log
        if s.kind == "tags" and not re.search(r"[?&](n=1|last=[^&]*)(&|$)", s.path)
    )


def test_a_release_dry_run_reads_each_registry_tag_list_once(sweep: Sweep) -> None:
    """``release --dry-run`` of a new release reads each registry's tags once (the primary's
    listing before its builds is the one its plan takes: nothing was written since), as
    ``publish --dry-run`` does: a registry paging its list by 100, and limiting requests,
    pays for each page."""
    sweep.check("first release", *publish("v1.0.0", sweep.build("v1.0.0", "v1.0.0")))
    plan = sweep.release_dry_run("v1.1.0")
    assert {name: listings(proxy) for name, proxy in sweep.proxies.items()} == {
        "hub": 1,
        "ghcr": 1,
    }
    # what it reports is what it did before: every tag's move planned from the list
    assert {(m["registry"], m["tag"]) for m in plan["floating_moves"] if m["old"] != m["new"]} == {
        (registry, tag) for registry in ("hub", "ghcr") for tag in ("php-8.3", "php-8.4", "latest")
    }
