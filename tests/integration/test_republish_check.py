"""`publisher republish-check` against a real registry: which lines moved, which never can.

The newest stable release's notes record each line's base digest. On the registry,
8.4's base has moved, 8.3's has not, and 8.1's official image stopped updating
(publisher/core/lifecycle.py) and its line is frozen: only 8.4 is to be rebuilt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.adapters.localregistry import LocalRegistry
from publisher.core.notes import (
    LineFacts,
    PlatformFacts,
    RegistryFacts,
    ReleaseFacts,
    SizeHistory,
    release_json,
)
from tests.conftest import ROOT
from tests.support.images import make_image, push_raw

pytestmark = pytest.mark.integration


def test_only_moved_lines_are_rebuilt_and_frozen_lines_are_named(
    tmp_path: Path, registry: LocalRegistry, write_matrix: Callable[..., Path]
) -> None:
    prefix = f"bases-{uuid.uuid4().hex[:8]}/library/php"
    current = {
        php: push_raw(
            f"http://{registry.host}", prefix, make_image(("linux/amd64",)), [f"{php}-fpm-alpine"]
        )
        for php in ("8.1", "8.3", "8.4")
    }
    recorded = {**current, "8.4": "sha256:" + "0" * 64}  # 8.4's base moved since
    notes = tmp_path / "notes"
    notes.mkdir()
    repository = f"{registry.host}/acme/php-fpm"
    facts = ReleaseFacts(
        release="v1.0.0",
        stable=True,
        stand_in=False,
        default_line="8.4",
        published_at="2026-11-02T10:00:00Z",
        registries=(RegistryFacts("hub", repository, True),),
        lines=tuple(
            LineFacts(
                php=php,
                php_version=f"{php}.9",
                index_digest=digest,
                tags=(f"v1.0.0-php-{php}",),
                base_image=f"{registry.host}/{prefix}:{php}-fpm-alpine",
                base_digest=digest,
                size_budget_bytes=700_000_000,
                platforms=(PlatformFacts("linux/amd64", digest, 1_000),),
            )
            for php, digest in recorded.items()
        ),
        floating=(),
    )
    # Written the way publish writes it (the strict record reader reads it back).
    (notes / "v1.0.0.json").write_text(release_json(facts, SizeHistory()))
    matrix = write_matrix(
        tmp_path,
        [("hub", repository, True)],
        lines=("8.1", "8.3", "8.4"),
        base_image=f"{registry.host}/{prefix}:{{php}}-fpm-alpine",
        line_overrides={"8.1": {"frozen": True}},
    )
    out = tmp_path / "github-output"
    out.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "publisher",
            "republish-check",
            "--config",
            str(matrix),
            "--notes-dir",
            str(notes),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # stdout is the key=value lines alone (a script may `eval` them); the words go to stderr
    assert result.stdout == "release=v1.0.0\nchanged=true\nlines=8.4\nfrozen=8.1\n"
    outputs = dict(
        line.split("=", 1)
        for line in out.read_text().splitlines()
        if "=" in line and "<<" not in line
    )
    assert outputs["lines"] == "8.4"
    assert outputs["frozen"] == "8.1"
    said = result.stderr
    assert "PHP 8.1: can never change" in said
    # the step output `details`: the same lines, as a JSON list
    details = json.loads(outputs["details"])
    assert [line.split(":")[0] for line in details] == ["PHP 8.1", "PHP 8.3", "PHP 8.4"]
    assert all(line in said for line in details)
    assert "PHP 8.3: base" in said and "unchanged" in said
    # the bases are resolved together, and told in the record's order of lines
    assert said.index("PHP 8.1: can") < said.index("PHP 8.3: base") < said.index("PHP 8.4: base")
