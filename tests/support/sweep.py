"""A fault sweep of ``publisher publish``: a failure at every write request.

Two real registries (``hub``, the primary, and ``ghcr``), each behind a ``FaultProxy``;
two PHP lines on one platform. Each ``Trial`` is a repository of its own on both, with
v1.0.0 published clean; its v2.0.0 images are seeded on hub (straight to the registry,
not through the proxy) with their digest records, as the build legs leave them. The
images come from fixed seeds, so every trial publishes the same content.

``reference()`` publishes v2.0.0 clean and gives what a faulted trial is checked
against: the write requests (POST, PUT, PATCH, DELETE) it made on each registry, in
order, and the tag map of both registries at its end. ``Sweep.fault()`` and
``Sweep.kill()`` make the ``k``-th of those writes on one registry fail in a new trial
(answered 400, or its answer lost after the registry did the write) or hang while the
run is killed with SIGKILL. The fault picks the request by kind (``points``: the 2nd
``blob PUT``, the 1st ``manifest PUT latest``), so it hits the same write whatever
order the run's worker threads send them in. ``Trial.invariants()`` then reads both
registries with plain HTTP, not with the project's client, and says what the failed
run broke:

* a floating tag (``latest``, ``php-X.Y``) points at its v1.0.0 index, or at its v2.0.0
  index only once every v2.0.0 pin of every line is on every registry with its digest;
* a pin present on both registries has the same digest on both (a floating tag cannot:
  tags on two registries do not move at once, so a run stopped while it moves them
  leaves some moved; the rule above is what holds of those);
* v1.0.0's pins are untouched, and no record of v2.0.0 is written (a recorded release
  counts as finished).

Then ``finish()`` reruns the publish without faults: it must exit 0 and leave both
registries' tags as the reference run left them.

``Sweep.stop()`` holds a write as ``kill()`` does but stops the run gracefully
(SIGTERM or SIGINT, delivered to the run as a CI runner or Ctrl-C does): the run must
exit 143 or 130 saying ``interrupted by SIGTERM`` (``SIGINT``), with the tip that tags
move last and a rerun finishes it, with no traceback, and
what its cleanup code does on the way out must keep the same invariants.

Every run has one attempt (``isolated_env``), so a fault is seen. ``Sweep.retried()``
loses a write's answer with the retries on (``PUBLISHER_RETRY_ATTEMPTS`` at its
default, the delays as short as ``isolated_env`` makes them): the run must finish by
itself, exit 0 with no error, leave both registries' tags and the record as the
reference run did, and upload no blob twice (a retried upload asks with HEAD first).
``kill()`` and ``stop()`` with ``ci=True`` run as a GitHub Actions job
(``Trial.in_ci``): a run that did not finish writes no step output, and a graceful
stop leaves nothing in ``TMPDIR``.

``Sweep(republish=True)`` sweeps the weekly security republish instead: v1.0.0 is
published clean, its lines are rebuilt (new images, new digest records in a directory of
their own) and the run under test is ``publish v1.0.0 --reason ... --digests`` them,
which rewrites v1.0.0's pins and moves the floating tags with them (v1.0.0 is the newest
stable release). ``Reference.v1`` is then v1.0.0's published indexes and
``Reference.v2`` its rebuilt ones. The invariants (README, "Release tags" and the
release notes' ``history``):

* every pin of v1.0.0 is on its old or its new index, on each registry (the pins are
  rewritten primary first, so the registries may differ while they move);
* a floating tag points at its old index, or at its new one only once every rewritten
  pin of v1.0.0 is on every registry;
* v1.0.0's record is left byte for byte as it was: a half-done republish adds no
  ``history`` entry (one is added when the republish finishes);
* a rerun of the same republish exits 0, leaves both registries' tags as a clean
  republish does, and the record with its new indexes and exactly one ``history``
  entry with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.faultproxy import Fault, FaultProxy, Seen
from tests.support.images import make_image
from tests.support.pipeline import kill_group
from tests.support.publishing import (
    isolated_env,
    publisher_command,
    run_publisher,
    seed_image,
    tag_map,
)

LINES = ("8.3", "8.4")
DEFAULT_LINE = "8.4"
PLATFORMS = ("linux/amd64",)
REGISTRIES = ("hub", "ghcr")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
FLOATING = ("latest", *(f"php-{php}" for php in LINES))
#: The line each floating tag follows.
FOLLOWS = {"latest": DEFAULT_LINE, **{f"php-{php}": php for php in LINES}}
#: The reason the swept republish gives.
REASON = "weekly security rebuild"
#: The exit code and the words of a run stopped by each signal (README, exit codes).
STOPPED = {signal.SIGTERM: 143, signal.SIGINT: 130}
#: A trial's folders of a run in CI (``Trial.in_ci``): the runner's files, and TMPDIR.
CI, TMP = "ci", "tmp"

TagMap = dict[str, str]


def pins(release: str) -> dict[str, str]:
    """tag -> line, for every pin of ``release`` (the default line's bare one too)."""
    found = {f"{release}-php-{php}": php for php in LINES}
    found[release] = DEFAULT_LINE
    return found


def write_kind(seen: Seen) -> str:
    """What a write request does, in a few words: ``blob upload start``, ``blob PUT``,
    ``manifest PUT <tag>`` (by digest: ``manifest PUT digest``)."""
    if seen.kind == "upload":
        return {"POST": "blob upload start", "PUT": "blob PUT"}.get(
            seen.method, f"blob {seen.method}"
        )
    if seen.kind == "manifest":
        reference = seen.path.split("?", 1)[0].rsplit("/manifests/", 1)[1]
        named = "digest" if reference.startswith("sha256:") else reference
        return f"manifest {seen.method} {named}"
    return f"{seen.kind} {seen.method}"


def writes(proxy: FaultProxy) -> list[str]:
    """The write requests ``proxy`` saw, in order, each as ``write_kind`` says."""
    return [write_kind(s) for s in list(proxy.log) if s.method in WRITES]


def matching(kind: str) -> tuple[tuple[str, ...], str]:
    """The methods and path pattern of the write requests of ``kind`` (``write_kind``)."""
    if kind == "blob upload start":
        return ("POST",), r"/blobs/uploads/?(\?|$)"
    if kind == "blob PUT":
        return ("PUT",), r"/blobs/uploads/[^?]+"
    method, reference = kind.split()[1:]
    if reference == "digest":
        return (method,), r"/manifests/sha256:"
    return (method,), "/manifests/" + re.escape(reference) + "$"


def points(kinds: Sequence[str]) -> list[tuple[str, int]]:
    """Each write of a run as (its kind, which of that kind): the k-th write of
    ``kinds`` is ``points(kinds)[k]``. Faulting by kind hits the same request whatever
    order the run's worker threads send them in."""
    seen: dict[str, int] = {}
    found = []
    for kind in kinds:
        found.append((kind, seen.get(kind, 0)))
        seen[kind] = seen.get(kind, 0) + 1
    return found


@dataclass
class Reference:
    """A clean publish of v2.0.0 after v1.0.0 (or a clean republish of v1.0.0)."""

    writes: dict[str, list[str]]  # registry -> its write requests, in order
    tags: dict[str, TagMap]  # registry -> tag map at the end
    v1: dict[str, str]  # line -> v1.0.0 index digest (the old one, for a republish)
    v2: dict[str, str]  # line -> v2.0.0 index digest (v1.0.0's rebuilt one, for a republish)
    seconds: float


@dataclass
class Outcome:
    """What one faulted trial found."""

    registry: str
    k: int
    faulted: str  # the faulted request, as ``write_kind`` says (or "" if none was)
    broken: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.registry} write {self.k} ({self.faulted}): " + "; ".join(self.broken)


@dataclass
class Trial:
    """One repository on both registries, behind proxies of its own, v1.0.0 published."""

    root: Path
    upstream: dict[str, str]  # registry name -> the registry's own host
    proxies: dict[str, FaultProxy]
    repo: str
    matrix: Path
    env: dict[str, str]
    republish: bool = False
    #: v1.0.0's record as its clean publish wrote it.
    record: bytes = b""
    #: Every file of the trial before the run under test (``files()``).
    before: dict[str, bytes] = field(default_factory=dict)

    @property
    def release(self) -> str:
        """The release the run under test writes."""
        return "v1.0.0" if self.republish else "v2.0.0"

    # ------------------------------------------------------------ running

    def command(self, *args: str) -> list[str]:
        return publisher_command(*args, config=self.matrix)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_publisher(*args, config=self.matrix, env=self.env, cwd=self.root)

    def start(self, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        """Start a run in a process group of its own (to kill it and its children);
        its stdout and stderr go to ``log`` if given."""
        with open(log or os.devnull, "w", encoding="utf-8") as out:
            return subprocess.Popen(
                self.command(*args),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.env,
                cwd=self.root,
                start_new_session=True,
                # A command started in the background by a script inherits SIGINT
                # ignored, and publisher keeps a signal its caller ignores: give the run
                # Ctrl-C's SIGINT as a terminal's foreground command has it.
                preexec_fn=_default_sigint,
            )

    def seed(self, release: str, *, rebuilt: bool = False) -> Path:
        """The build legs' stand-in: each line's image on hub, with its digest record
        (``rebuilt``: other images, as ``build --rebuild`` on new bases gives, their
        records in a directory of their own)."""
        digests = self.root / f"digests-{release}{'-rebuilt' if rebuilt else ''}"
        digests.mkdir(exist_ok=True)
        major = int(release.lstrip("v").split(".")[0])
        primary = f"{self.proxies['hub'].host}/{self.repo}"
        for n, php in enumerate(LINES):
            seed_image(
                digests,
                release,
                php,
                make_image(PLATFORMS, seed=100 * major + n + 50 * rebuilt),
                push_to=self.upstream["hub"],
                repo=self.repo,
                image_repo=primary,
            )
        return digests

    def publish_args(self, release: str, *, republish: bool = False) -> list[str]:
        if republish:
            digests = self.root / f"digests-{release}-rebuilt"
            return ["publish", release, "--digests", str(digests), "--no-smoke", "--reason", REASON]
        return [
            "publish",
            release,
            "--digests",
            str(self.root / f"digests-{release}"),
            "--no-smoke",
        ]

    def publish(self, release: str) -> subprocess.CompletedProcess[str]:
        return self.run(*self.publish_args(release))

    def under_test(self) -> list[str]:
        """The run the sweep faults: publish v2.0.0, or republish v1.0.0."""
        return self.publish_args(self.release, republish=self.republish)

    def recorded(self, release: str) -> dict[str, str]:
        """line -> index digest, from the release record."""
        record = json.loads((self.root / "release-notes" / f"{release}.json").read_text())
        return {line["php"]: line["index_digest"] for line in record["lines"]}

    def files(self) -> dict[str, bytes]:
        """Every file under the trial's directory (notes, digest records, docker config),
        by its path there; the logs of the runs the sweep stopped left out, and so are
        the runner's files and TMPDIR of a run in CI (``ci_invariants`` reads those)."""
        return {
            str(path.relative_to(self.root)): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
            and not path.name.startswith("stopped-")
            and path.relative_to(self.root).parts[0] not in (CI, TMP)
        }

    def in_ci(self) -> None:
        """Run as a GitHub Actions job does (the runs from now on): ``GITHUB_ACTIONS=true``,
        the step outputs and the step summary in files of ``ci/`` (as the runner gives
        each step files of its own), ``TMPDIR`` the empty folder ``tmp/``."""
        for folder in (CI, TMP):
            (self.root / folder).mkdir(exist_ok=True)
        self.env.update(
            GITHUB_ACTIONS="true",
            GITHUB_OUTPUT=str(self.root / CI / "output"),
            GITHUB_STEP_SUMMARY=str(self.root / CI / "summary"),
            TMPDIR=str(self.root / TMP),
        )

    def ci_invariants(self, *, graceful: bool) -> list[str]:
        """What a run in CI that did not finish broke of what the job's later steps and
        the runner see (empty: nothing): no step output at all (the outputs, ``digests``
        and ``digest-X.Y``, say a release is published: README, "Release tags"), none
        half-written; and after a graceful stop (``graceful``: SIGTERM, SIGINT, whose
        cleanup code runs, unlike SIGKILL's) nothing left in ``TMPDIR``."""
        broken = []
        output = self.root / CI / "output"
        if output.exists() and output.read_bytes():
            said = output.read_text(encoding="utf-8", errors="replace")
            broken.append(f"the run that did not finish wrote step outputs: {said[-600:]!r}")
        if graceful:
            left = sorted(str(p.relative_to(self.root)) for p in (self.root / TMP).rglob("*"))
            if left:
                broken.append(f"the stopped run left in TMPDIR: {', '.join(left[:10])}")
        return broken

    def tags(self) -> dict[str, TagMap]:
        return {name: tag_map(host, self.repo) for name, host in self.upstream.items()}

    # ------------------------------------------------------------ faults

    def fault(self, registry: str, point: tuple[str, int], **fault: Any) -> Fault:
        """Add a fault (``fault`` its fields) on the write ``point`` of ``registry``."""
        kind, n = point
        methods, path = matching(kind)
        added = Fault(methods=methods, path=path, skip=n, **fault)
        self.proxies[registry].add(added)
        return added

    def fault_at(
        self, registry: str, point: tuple[str, int], mode: str = "refused"
    ) -> subprocess.CompletedProcess[str]:
        """Publish v2.0.0 with the write ``point`` on ``registry`` refused (``mode``
        ``refused``: answered 400, nothing written) or its answer lost (``lost``: the
        registry does the write, then the connection closes short of the answer)."""
        if mode == "refused":
            self.fault(
                registry,
                point,
                action="status",
                status=400,
                headers={"Content-Type": "application/json"},
                body=b'{"errors":[{"code":"DENIED","message":"fault sweep"}]}',
            )
        else:
            self.fault(registry, point, action="length", length_delta=100)
        try:
            return self.run(*self.under_test())
        finally:
            self.proxies[registry].faults.clear()

    def kill_at(self, registry: str, point: tuple[str, int], *, within: float = 180.0) -> bool:
        """Run the run under test, hold the write ``point`` on ``registry``, SIGKILL the
        run's process group while it is held, then let the held request through to the
        registry (as a request already sent may still land). Whether it was held."""
        return self.hold_at(registry, point, lambda process: None, within=within)[0]

    def stop_at(
        self,
        registry: str,
        point: tuple[str, int],
        signum: signal.Signals,
        *,
        within: float = 180.0,
    ) -> tuple[bool, int | None, str]:
        """As ``kill_at``, but stop the run with ``signum`` (sent to the run itself, as a
        CI runner does; Ctrl-C's SIGINT reaches it the same way) while the write is held,
        and wait for it to exit on its own. Whether the write was held, the run's exit
        code (None: it had not exited within ``within`` and was killed) and its output."""
        log = self.root / f"stopped-{signum.name}.log"

        def stop(process: subprocess.Popen[str]) -> int | None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)
            try:
                return process.wait(timeout=within)
            except subprocess.TimeoutExpired:
                return None

        held, code = self.hold_at(registry, point, stop, within=within, log=log)
        return held, code, log.read_text(encoding="utf-8", errors="replace")

    def hold_at(
        self,
        registry: str,
        point: tuple[str, int],
        stop: Callable[[subprocess.Popen[str]], int | None],
        *,
        within: float,
        log: Path | None = None,
    ) -> tuple[bool, int | None]:
        """Hold the write ``point`` on ``registry`` of the run under test; once it is
        held, ``stop`` the run (what it gives is returned), SIGKILL what is left of the
        run's process group, and let the held request through."""
        proxy = self.proxies[registry]
        fault = self.fault(registry, point, action="stall", stall_seconds=within)
        process = self.start(*self.under_test(), log=log)
        stopped = None
        try:
            deadline = time.monotonic() + within
            while not fault.fired and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if fault.fired:
                stopped = stop(process)
        finally:
            kill_group(process)
        held = bool(fault.fired)
        proxy.release()
        if held:
            # The held request goes on to the registry: wait until it is answered. The
            # proxy logs a request once answered; other writes of the killed run still
            # in flight are logged meanwhile, so count those of the held one's kind
            # until every one that reached the proxy (``fault.seen``) is logged.
            methods, path = matching(point[0])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                logged = [s for s in list(proxy.log) if s.method in methods]
                if sum(1 for s in logged if re.search(path, s.path)) >= fault.seen:
                    break
                time.sleep(0.01)
        proxy.faults.clear()
        return held, stopped

    def faulted(self, registry: str) -> str:
        """The request the sweep's fault hit on ``registry``, if any."""
        hit = [s for s in list(self.proxies[registry].log) if s.fault]
        return write_kind(hit[0]) if hit else ""

    # ------------------------------------------------------------ checks

    def invariants(self, reference: Reference) -> list[str]:
        """What the registries and the files now break of the release's promise (empty:
        nothing)."""
        return self.registry_invariants(reference) + self.files_invariants()

    def files_invariants(self) -> list[str]:
        """A run that did not finish writes no file (no record, notes, pins file or size
        history; no digest record rewritten), removes none and leaves none behind."""
        now = self.files()
        broken = []
        for path in sorted(now.keys() | self.before.keys()):
            if path not in now:
                broken.append(f"the failed run removed {path}")
            elif path not in self.before:
                broken.append(f"the failed run wrote {path}")
            elif now[path] != self.before[path]:
                broken.append(f"the failed run rewrote {path}")
        return broken

    def registry_invariants(self, reference: Reference) -> list[str]:
        """What the registries now break of the release's promise (empty: nothing)."""
        if self.republish:
            return self.republish_invariants(reference)
        tags = self.tags()
        broken = []
        v2_done = all(
            tags[name].get(pin) == reference.v2[php]
            for name in self.upstream
            for pin, php in pins("v2.0.0").items()
        )
        for name in self.upstream:
            broken += floating_broken(
                name, tags[name], reference, v2_done, "the v2.0.0 index before every v2.0.0 pin"
            )
            for pin, php in pins("v1.0.0").items():
                if tags[name].get(pin) != reference.v1[php]:
                    broken.append(f"{name} {pin} moved to {tags[name].get(pin)}")
        if (self.root / "release-notes" / "v2.0.0.json").exists():
            broken.append("the failed run wrote v2.0.0's record")
        hub = tags["hub"]
        for other in (name for name in self.upstream if name != "hub"):
            there = tags[other]
            for tag in sorted((hub.keys() & there.keys()) - set(FLOATING)):
                if hub[tag] != there[tag]:
                    broken.append(f"{tag} differs: hub {hub[tag]}, {other} {there[tag]}")
        return broken

    def republish_invariants(self, reference: Reference) -> list[str]:
        """What the registries and the notes now break of a republish's promise."""
        tags = self.tags()
        broken = []
        done = all(
            tags[name].get(pin) == reference.v2[php]
            for name in self.upstream
            for pin, php in pins("v1.0.0").items()
        )
        for name in self.upstream:
            broken += floating_broken(
                name, tags[name], reference, done, "the rebuilt index before every rewritten pin"
            )
            for pin, php in pins("v1.0.0").items():
                if tags[name].get(pin) not in (reference.v1[php], reference.v2[php]):
                    broken.append(f"{name} {pin} is on {tags[name].get(pin)}, neither old nor new")
        record = self.root / "release-notes" / "v1.0.0.json"
        if not record.exists():
            broken.append("v1.0.0's record is gone")
        elif record.read_bytes() != self.record:
            history = json.loads(record.read_bytes()).get("history") or []
            broken.append(
                f"the stopped republish rewrote v1.0.0's record ({len(history)} history entries)"
            )
        return broken

    def finish(self, reference: Reference) -> list[str]:
        """Rerun without faults; what it left wrong (empty: it finished the release)."""
        rerun = self.run(*self.under_test())
        if rerun.returncode != 0:
            return [f"the rerun exited {rerun.returncode}: {rerun.stderr.strip()[-600:]}"]
        return self.left_as(reference, "the rerun")

    def left_as(self, reference: Reference, run: str) -> list[str]:
        """What ``run``, which exited 0, left otherwise than the clean run ``reference``
        (empty: both registries' tags as it left them, the release recorded with them)."""
        tags = self.tags()
        if tags != reference.tags:
            return [f"{run} left {tags}, not {reference.tags}"]
        if self.recorded(self.release) != reference.v2:
            return [f"{run} recorded {self.recorded(self.release)}, not {reference.v2}"]
        if self.republish:
            record = json.loads((self.root / "release-notes" / "v1.0.0.json").read_text())
            history = record.get("history") or []
            if [entry.get("reason") for entry in history] != [REASON]:
                return [f"{run} left the history {history}, not one entry for the reason"]
        return []

    def uploaded_twice(self) -> list[str]:
        """Each blob uploaded more than once to a registry (empty: none). A retry after
        an upload whose answer was lost asks the registry first (HEAD): the blob is
        there, so it is not sent again."""
        return [
            f"{name}: blob {digest[:19]} uploaded {n} times"
            for name, proxy in self.proxies.items()
            for digest, n in sorted(proxy.uploads_by_digest().items())
            if n > 1
        ]


def _default_sigint() -> None:
    """In the child, before the run starts: SIGINT stops it, whoever started the sweep."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def failed_clearly(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with how a faulted run failed (empty: exit non-zero, an error said,
    no traceback)."""
    said = result.stdout + result.stderr
    if result.returncode == 0:
        return ["the faulted run exited 0"]
    if "Traceback" in said:
        return [f"the faulted run printed a traceback: {said.strip()[-600:]}"]
    if "error" not in result.stderr.lower():
        return [f"the faulted run (exit {result.returncode}) said no error: {said[-600:]}"]
    return []


def finished_alone(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with how a run that met a lost answer with the retries on ended
    (empty: exit 0, no error said, no traceback: its retries made up for it)."""
    said = result.stdout + result.stderr
    if result.returncode != 0:
        return [f"the run exited {result.returncode}: {said.strip()[-600:]}"]
    if "Traceback" in said:
        return [f"the run printed a traceback: {said.strip()[-600:]}"]
    errors = [line for line in said.splitlines() if re.match(r"\W*error\b", line, re.I)]
    if errors:
        return [f"the run that finished said an error: {' | '.join(errors)[-600:]}"]
    return []


def stopped_clearly(signum: signal.Signals, code: int | None, said: str) -> list[str]:
    """What is wrong with how a run stopped by ``signum`` ended (empty: its exit code,
    ``interrupted by SIGTERM`` said with its tip, no traceback)."""
    if code is None:
        return [f"the run did not exit after {signum.name}: {said.strip()[-600:]}"]
    broken = []
    if code != STOPPED[signum]:
        broken.append(f"the run stopped by {signum.name} exited {code}, not {STOPPED[signum]}")
    if f"interrupted by {signum.name}" not in said:
        broken.append(f"the run stopped by {signum.name} did not say so: {said.strip()[-600:]}")
    elif "  tip: tags move last" not in said or "A rerun of the same command" not in said:
        broken.append(
            f"the run stopped by {signum.name} did not say what it left and that a rerun "
            f"finishes it: {said.strip()[-600:]}"
        )
    if "Traceback" in said:
        broken.append(f"the run stopped by {signum.name} printed a traceback: {said[-600:]}")
    return broken


def floating_broken(
    registry: str, tags: dict[str, str], reference: Reference, done: bool, new_too_soon: str
) -> list[str]:
    """The floating tags of ``registry`` that break the rule of every run, publish and
    republish alike: on the old content, or on the new only once every new pin is on
    every registry (``done``). ``new_too_soon`` names the new content for the message."""
    broken = []
    for tag in FLOATING:
        php = FOLLOWS[tag]
        at = tags.get(tag)
        if at == reference.v1[php] or (at == reference.v2[php] and done):
            continue
        said = f"{new_too_soon} was everywhere" if at == reference.v2[php] else f"{at}"
        broken.append(f"{registry} {tag} points at {said}")
    return broken


@dataclass
class Sweep:
    """Two registries, and a trial per repository on them."""

    root: Path
    upstream: dict[str, str]  # registry name -> host
    write_matrix: Callable[..., Path]
    made: int = 0
    #: Sweep the republish of v1.0.0 (rebuilt images) instead of the publish of v2.0.0.
    republish: bool = False

    @contextlib.contextmanager
    def trial(self) -> Iterator[Trial]:
        """A new repository on both registries, behind new proxies, v1.0.0 published."""
        self.made += 1
        root = self.root / f"t{self.made}"
        env = isolated_env(root)
        repo = f"sweep/php-fpm-{uuid.uuid4().hex[:8]}"
        with contextlib.ExitStack() as started:
            proxies = {
                name: started.enter_context(FaultProxy(host))
                for name, host in self.upstream.items()
            }
            matrix = self.write_matrix(
                root,
                [(n, f"{p.host}/{repo}", n == "hub") for n, p in proxies.items()],
                lines=LINES,
                default_line=DEFAULT_LINE,
                platforms=PLATFORMS,
            )
            trial = Trial(root, dict(self.upstream), proxies, repo, matrix, env, self.republish)
            trial.seed("v1.0.0")
            first = trial.publish("v1.0.0")
            assert first.returncode == 0, first.stdout + first.stderr
            trial.record = (root / "release-notes" / "v1.0.0.json").read_bytes()
            if self.republish:
                trial.seed("v1.0.0", rebuilt=True)
            else:
                trial.seed("v2.0.0")
            trial.before = trial.files()
            for proxy in proxies.values():
                proxy.reset_counts()
            yield trial

    def reference(self) -> Reference:
        with self.trial() as trial:
            v1 = trial.recorded("v1.0.0")
            started = time.monotonic()
            done = trial.run(*trial.under_test())
            seconds = time.monotonic() - started
            assert done.returncode == 0, done.stdout + done.stderr
            return Reference(
                {name: writes(proxy) for name, proxy in trial.proxies.items()},
                trial.tags(),
                v1,
                trial.recorded(trial.release),
                seconds,
            )

    def fault(self, reference: Reference, registry: str, k: int, mode: str = "refused") -> Outcome:
        """Refuse the ``k``-th write of the reference run on ``registry`` (or lose its
        answer: ``Trial.fault_at``)."""
        point = points(reference.writes[registry])[k]
        with self.trial() as trial:
            result = trial.fault_at(registry, point, mode)
            outcome = Outcome(registry, k, f"{point[0]} #{point[1] + 1}")
            if trial.faulted(registry) != point[0]:
                outcome.broken.append(f"the fault hit {trial.faulted(registry) or 'nothing'}")
            outcome.broken += failed_clearly(result)
            outcome.broken += trial.invariants(reference)
            outcome.broken += trial.finish(reference)
            return outcome

    def retried(self, reference: Reference, registry: str, k: int) -> Outcome:
        """Lose the answer of the ``k``-th write of the reference run on ``registry``
        after the registry did it, with the retries on (``PUBLISHER_RETRY_ATTEMPTS`` at
        its default, the delays short): the run must finish by itself, exit 0 and say no
        error, leave the registries and the record as the clean run did, and send no blob
        twice."""
        point = points(reference.writes[registry])[k]
        with self.trial() as trial:
            trial.env.pop("PUBLISHER_RETRY_ATTEMPTS")
            result = trial.fault_at(registry, point, "lost")
            outcome = Outcome(registry, k, f"{point[0]} #{point[1] + 1}")
            if trial.faulted(registry) != point[0]:
                outcome.broken.append(f"the fault hit {trial.faulted(registry) or 'nothing'}")
            outcome.broken += finished_alone(result)
            if result.returncode == 0:
                outcome.broken += trial.left_as(reference, "the run")
            outcome.broken += trial.uploaded_twice()
            return outcome

    def kill(self, reference: Reference, registry: str, k: int, *, ci: bool = False) -> Outcome:
        """SIGKILL the run while the ``k``-th write of the reference run on ``registry``
        is held (``ci``: the run a GitHub Actions job's, ``Trial.in_ci``)."""
        point = points(reference.writes[registry])[k]
        with self.trial() as trial:
            if ci:
                trial.in_ci()
            held = trial.kill_at(registry, point)
            outcome = Outcome(registry, k, f"{point[0]} #{point[1] + 1}")
            if not held:
                outcome.broken.append("no write was held")
            if ci:
                outcome.broken += trial.ci_invariants(graceful=False)
            outcome.broken += trial.invariants(reference)
            outcome.broken += trial.finish(reference)
            return outcome

    def stop(
        self,
        reference: Reference,
        registry: str,
        k: int,
        signum: signal.Signals,
        *,
        ci: bool = False,
    ) -> Outcome:
        """Stop the run with ``signum`` (SIGTERM, SIGINT) while the ``k``-th write of the
        reference run on ``registry`` is held (``ci``: the run a GitHub Actions job's,
        ``Trial.in_ci``, as a cancelled job is stopped with SIGTERM)."""
        point = points(reference.writes[registry])[k]
        with self.trial() as trial:
            if ci:
                trial.in_ci()
            held, code, said = trial.stop_at(registry, point, signum)
            outcome = Outcome(registry, k, f"{point[0]} #{point[1] + 1}")
            if not held:
                outcome.broken.append("no write was held")
            else:
                outcome.broken += stopped_clearly(signum, code, said)
            if ci:
                outcome.broken += trial.ci_invariants(graceful=True)
            outcome.broken += trial.invariants(reference)
            outcome.broken += trial.finish(reference)
            return outcome
