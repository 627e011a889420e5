"""``Publisher.write_pins`` on a client that refuses chosen tags: which tags move, what is
said, and which error ends the run (no registry: the writes' order and outcomes only); and
the reads of its pins again, before each step and once they are written, that refuse a
run whose pins another run of the release wrote over (the tags a client holds, as data)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.core import publish_plan as pp
from publisher.core.errors import (
    PublisherError,
    RegistryError,
    ReleaseConflictError,
    StoppedError,
    VerificationError,
)
from publisher.core.version import parse_release
from publisher.stages.publish import (
    LineIndex,
    Publisher,
    PublishOptions,
    pins_left_hint,
    pins_said,
)
from tests.support.matrices import acme_config

DIGEST = "sha256:" + "a" * 64
#: another run's build of the same pin
OTHER = "sha256:" + "b" * 64
#: v1.0.0's pins, each registry's in the order publisher writes them: the lines' pins, then
#: v1.0.0 (the default line's)
STEPS = (("v1.0.0-php-8.3", "v1.0.0-php-8.4"), ("v1.0.0",))


class TagClient:
    """Writes a tag by digest, or raises what ``refuse`` holds for that tag; reads the tags
    it holds (``held``), counting the tags read (``log``: each read and write, in order). ``over``: the tags another run writes
    (its digest) just after this run's write of them lands, as when the two runs' pin
    steps go in lockstep."""

    def __init__(
        self, refuse: dict[str, PublisherError], over: dict[str, str] | None = None
    ) -> None:
        self.refuse = refuse
        self.over = over or {}
        self.tagged: list[str] = []
        self.held: dict[str, str] = {}
        self.reads = 0
        self.log: list[tuple[str, str]] = []

    def tag(self, repo_path: str, digest: str, tag: str) -> None:
        if tag in self.refuse:
            raise self.refuse[tag]
        self.tagged.append(tag)
        self.log.append(("write", tag))
        self.held[tag] = self.over.get(tag, digest)

    def tag_digests(
        self, repo_path: str, tags: list[str], **_: object
    ) -> dict[str, str]:  # (attempts, expected: a client's HEAD naming another is confirmed)
        self.reads += len(tags)
        self.log += [("read", tag) for tag in tags]
        return {tag: self.held[tag] for tag in tags if tag in self.held}

    def list_tags(self, repo_path: str) -> list[str]:
        return sorted(self.held)


def publisher(
    tmp_path: Path, client: TagClient, second: TagClient | None = None
) -> tuple[Publisher, io.StringIO, io.StringIO]:
    """The stage writing to hub (``client``), and to ghcr too when ``second`` is given."""
    out, err = io.StringIO(), io.StringIO()
    clients = {"hub": client} if second is None else {"hub": client, "ghcr": second}
    config = acme_config(lines=("8.3", "8.4"), registries=tuple(clients))
    stage = Publisher(
        config,
        parse_release("v1.0.0"),
        clients,  # type: ignore[arg-type]  # only ``tag`` and ``tag_digests`` are asked for
        Output(env={}, stream=out, err_stream=err),
        PublishOptions(notes_dir=tmp_path, jobs=1),
    )
    return stage, out, err


def pins(*tags: str, registry: str = "hub") -> list[pp.TagMove]:
    return [pp.TagMove(registry, tag, None, DIGEST, "pin") for tag in tags]


def release_pins() -> list[pp.TagMove]:
    """Every pin of v1.0.0, new, on hub and ghcr."""
    return [m for name in ("hub", "ghcr") for step in STEPS for m in pins(*step, registry=name)]


def test_every_tag_is_tried_and_each_refusal_after_the_first_is_a_warning(
    tmp_path: Path,
) -> None:
    client = TagClient(
        {
            "v1.0.0-php-8.3": RegistryError("8.3 refused"),
            "v1.0.0-php-8.4": RegistryError("8.4 refused"),
        }
    )
    stage, out, err = publisher(tmp_path, client)
    with pytest.raises(RegistryError, match=r"8\.3 refused"):
        stage.write_pins(pins("v1.0.0-php-8.3", "v1.0.0-php-8.4", "v1.0.0-php-8.5"))
    assert client.tagged == ["v1.0.0-php-8.5"]
    assert f"acme/php-fpm:v1.0.0-php-8.5 -> {DIGEST}" in out.getvalue()
    assert "also not written: 8.4 refused" in err.getvalue()
    assert "8.3 refused" not in err.getvalue()  # the error itself, said once by the CLI


def test_an_interruption_is_raised_before_a_refusal_earlier_in_the_plan(tmp_path: Path) -> None:
    """The run is stopping: its error is the interruption, whatever a write answered
    first; the refusal is still said."""
    client = TagClient(
        {
            "v1.0.0-php-8.3": RegistryError("8.3 refused"),
            "v1.0.0-php-8.4": StoppedError("stopped"),
        }
    )
    stage, _, err = publisher(tmp_path, client)
    with pytest.raises(StoppedError):
        stage.write_pins(pins("v1.0.0-php-8.3", "v1.0.0-php-8.4"))
    assert "also not written: 8.3 refused" in err.getvalue()


def test_the_pins_written_before_a_refusal_are_kept_and_said_per_registry(
    tmp_path: Path,
) -> None:
    """A refused pin stops the pin step: the pins written before it (and beside it) are
    known by name, and the tip names them per registry with those not written; it said
    "each pin it wrote, if any, is listed above", and above it, in the step summary, was
    the plan listing every pin as created."""
    client = TagClient({"v1.0.0-php-8.4": RegistryError("8.4 refused")})
    stage, _, _ = publisher(tmp_path, client)
    planned = [*pins("v1.0.0-php-8.3", "v1.0.0-php-8.4", "v1.0.0")]
    planned.append(pp.TagMove("ghcr", "v1.0.0-php-8.3", None, DIGEST, "pin"))
    with pytest.raises(RegistryError):
        stage.write_pins(planned[:2])
    assert [m.tag for m in stage.pins_written] == ["v1.0.0-php-8.3"]
    said = pins_said(stage.pins_written, planned, ["hub", "ghcr"])
    assert said == (
        "it wrote v1.0.0-php-8.3 on hub and none on ghcr "
        "(not v1.0.0-php-8.4, v1.0.0 on hub and v1.0.0-php-8.3 on ghcr)"
    )
    hint = pins_left_hint("check the registry", said)
    assert hint.startswith("check the registry; this run stopped while writing its pins: " + said)
    assert "listed above" not in hint
    everything = pins_said(planned, planned, ["hub", "ghcr"])
    assert everything == (
        "it wrote v1.0.0-php-8.3, v1.0.0-php-8.4, v1.0.0 on hub and v1.0.0-php-8.3 on ghcr"
    )


def test_each_pin_step_reads_its_pins_and_those_written_before_one_tag_read_each(
    tmp_path: Path,
) -> None:
    """A release's four pin steps (hub's pins, its v1.0.0, then ghcr's) read each pin of
    the step, and each pin the steps before wrote, once: 16 tag reads for 6 pins on two
    registries (6 before the read after write), every pin written."""
    hub, ghcr = TagClient({}), TagClient({})
    stage, _, _ = publisher(tmp_path, hub, ghcr)
    stage.write_pins(release_pins(), primary_first=True)
    assert hub.tagged == ghcr.tagged == [t for step in STEPS for t in step]
    # hub: 2 + (2 + 1) + 3 + 3; ghcr: 2 + (2 + 1)
    assert (hub.reads, ghcr.reads) == (11, 5)


def test_a_run_whose_first_pins_another_run_wrote_over_stops_before_its_next_step(
    tmp_path: Path,
) -> None:
    """Two runs of one release whose pin steps go in lockstep: the other run's first pins
    land just after this run's, over them; each step's read of its own pins finds none
    of the other's (they are not written yet). Reading again the pins it wrote, this
    run refuses (exit 14) before its next step: no v1.0.0, nothing on ghcr; the error
    names each pin with both digests, the tip the pins it wrote."""
    hub = TagClient({}, over={"v1.0.0-php-8.3": OTHER, "v1.0.0-php-8.4": OTHER})
    ghcr = TagClient({})
    stage, _, _ = publisher(tmp_path, hub, ghcr)
    with pytest.raises(ReleaseConflictError) as caught:
        stage.write_pins(release_pins(), primary_first=True)
    assert hub.tagged == ["v1.0.0-php-8.3", "v1.0.0-php-8.4"] and ghcr.tagged == []
    error = caught.value
    assert error.exit_code == 14
    assert "another run wrote its pins while this one ran" in error.message
    assert error.conflicts == tuple(
        f"hub: v1.0.0-php-{php} -> {OTHER} (this run wrote {DIGEST})" for php in ("8.3", "8.4")
    )
    assert error.hint is not None
    assert "this run wrote 2 pins before this check (v1.0.0-php-8.3 on hub, " in error.hint
    assert "nothing more was tagged by this run" in error.hint


def test_a_pin_read_on_what_the_run_found_there_is_no_other_runs(tmp_path: Path) -> None:
    """A republish's pin read again just after its write still on the digest the plan
    found there (the write not yet seen: a registry serving a cached read): no other run
    wrote it, so the run is not refused as if one had; it goes on, every pin written."""
    hub = TagClient({}, over={"v1.0.0-php-8.3": OTHER})  # the write unseen: still OTHER
    ghcr = TagClient({})
    stage, _, _ = publisher(tmp_path, hub, ghcr)
    moves = [dataclasses.replace(m, old=OTHER) for m in release_pins()]
    stage.write_pins(moves, primary_first=True)
    assert hub.tagged == ghcr.tagged == [t for step in STEPS for t in step]


def test_the_floating_tags_read_each_pin_the_run_wrote_once_before_they_move(
    tmp_path: Path,
) -> None:
    """Once its pins are written, the run reads them again before any floating tag moves
    (read after write, which refuses a run whose pins another wrote over): once each on
    each registry, the read the floating tags are computed from, not a second one in a
    row; then every floating tag moves."""
    hub, ghcr = TagClient({}), TagClient({})
    stage, _, _ = publisher(tmp_path, hub, ghcr)
    moves = release_pins()
    stage.write_pins(moves, primary_first=True)
    for client in (hub, ghcr):
        client.log.clear()
    stage.move_floating()
    written = {tag for step in STEPS for tag in step}
    for client in (hub, ghcr):
        first = client.log.index(("write", "latest"))
        before = [tag for what, tag in client.log[:first] if what == "read" and tag in written]
        assert sorted(before) == sorted(written), client.log
        assert {"latest", "php-8.3", "php-8.4"} <= set(client.tagged)


@pytest.mark.parametrize(
    ("hub_over", "ghcr_over"),
    [
        # the registries' pins then differ: the run reads its own before it waits
        ({}, {"v1.0.0": OTHER}),
        # they agree, on another run's content: read just before the floating tags move
        ({"v1.0.0-php-8.3": OTHER}, {"v1.0.0-php-8.3": OTHER}),
    ],
)
def test_a_pin_written_over_after_its_step_refuses_the_floating_tags(
    tmp_path: Path, hub_over: dict[str, str], ghcr_over: dict[str, str]
) -> None:
    """This run wrote every pin; another run's land over some of them after its last step
    read them: before it moves any floating tag, the run reads its pins again and
    refuses (exit 14), moving none."""
    hub, ghcr = TagClient({}), TagClient({})
    stage, _, _ = publisher(tmp_path, hub, ghcr)
    moves = release_pins()
    stage.write_pins(moves, primary_first=True)
    stage.pins_written = moves
    hub.held.update(hub_over)
    ghcr.held.update(ghcr_over)
    with pytest.raises(ReleaseConflictError) as caught:
        stage.move_floating()
    over = [("hub", tag) for tag in hub_over] + [("ghcr", tag) for tag in ghcr_over]
    assert caught.value.conflicts == tuple(
        f"{name}: {tag} -> {OTHER} (this run wrote {DIGEST})" for name, tag in over
    )
    floating = {"latest", "php-8.3", "php-8.4"}
    assert not floating & {*hub.tagged, *ghcr.tagged} and stage.floating_written == []


@pytest.mark.parametrize(
    ("held", "error", "said"),
    [
        # another run's pin over this run's: its conflict (exit 14), both digests named
        (OTHER, ReleaseConflictError, f"hub: v1.0.0 -> {OTHER} (this run wrote {DIGEST})"),
        # a pin gone: a verification failure (exit 12) the rerun finishes
        (None, VerificationError, f"acme/php-fpm:v1.0.0 is None, expected {DIGEST}"),
    ],
)
def test_the_final_verification_tells_another_run_s_pins_from_a_missing_one(
    tmp_path: Path, held: str | None, error: type[PublisherError], said: str
) -> None:
    hub = TagClient({})
    stage, _, _ = publisher(tmp_path, hub)
    moves = [m for step in STEPS for m in pins(*step)]
    stage.write_pins(moves, primary_first=True)
    stage.pins_written = moves
    if held is None:
        del hub.held["v1.0.0"]
    else:
        hub.held["v1.0.0"] = held
    indexes = {php: LineIndex(php, DIGEST, b"", "", (), ()) for php in ("8.3", "8.4")}
    with pytest.raises(error) as caught:
        stage.verify_tags(indexes)
    assert caught.value.exit_code == (14 if held else 12)
    assert said in caught.value.message
