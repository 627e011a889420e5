"""``Publisher.write_pins`` on a client that refuses chosen tags: which tags move, what is
said, and which error ends the run (no registry: the writes' order and outcomes only)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from publisher.adapters.output import Output
from publisher.core import publish_plan as pp
from publisher.core.errors import PublisherError, RegistryError, StoppedError
from publisher.core.version import parse_release
from publisher.stages.publish import Publisher, PublishOptions, pins_left_hint, pins_said
from tests.support.matrices import acme_config

DIGEST = "sha256:" + "a" * 64


class TagClient:
    """Writes a tag by digest, or raises what ``refuse`` holds for that tag."""

    def __init__(self, refuse: dict[str, PublisherError]) -> None:
        self.refuse = refuse
        self.tagged: list[str] = []

    def tag(self, repo_path: str, digest: str, tag: str) -> None:
        if tag in self.refuse:
            raise self.refuse[tag]
        self.tagged.append(tag)


def publisher(tmp_path: Path, client: TagClient) -> tuple[Publisher, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    config = acme_config(lines=("8.3", "8.4"), registries=("hub",))
    stage = Publisher(
        config,
        parse_release("v1.0.0"),
        {"hub": client},  # type: ignore[dict-item]  # only ``tag`` is asked for
        Output(env={}, stream=out, err_stream=err),
        PublishOptions(notes_dir=tmp_path, jobs=1),
    )
    return stage, out, err


def pins(*tags: str) -> list[pp.TagMove]:
    return [pp.TagMove("hub", tag, None, DIGEST, "pin") for tag in tags]


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
