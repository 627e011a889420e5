"""The matrix key table (``config.KEYS``): one row per key drives the whole reader."""

from __future__ import annotations

import dataclasses
import re

import pytest

from publisher.core import config
from publisher.core.errors import ConfigError
from tests.conftest import ROOT

MATRIX = """\
registries: [{name: hub, repository: docker.io/acme/php, primary: true}]
default_line: "8.4"
lines:
  - php: "8.3"
  - php: "8.4"
    frozen: false
"""


def hint_for(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config.loads(text)
    assert info.value.hint is not None
    return info.value.hint


def row(name: str) -> config.Key:
    return next(key for key in config.KEYS if key.name == name)


def with_row(monkeypatch: pytest.MonkeyPatch, name: str, **changes: object) -> None:
    """Change the one row called ``name``, and nothing else."""
    keys = tuple(
        dataclasses.replace(key, **changes) if key.name == name else key for key in config.KEYS
    )
    monkeypatch.setattr(config, "KEYS", keys)


def test_the_table_lists_the_allowed_keys_at_every_level() -> None:
    top = hint_for("platfroms: []\n")
    assert top == "allowed keys here: " + ", ".join(
        dict.fromkeys(key.name.split(".")[0] for key in config.KEYS if key.top)
    )
    assert top == (
        "allowed keys here: namespace, image, title, description, source_url, registries, "
        "platforms, default_line, base, size_budget_mb, size_regression_percent, dockerfiles, "
        "template, stand_in, icu_data_full, extensions, packages, build_packages, lines"
    )
    assert hint_for("base: {mirorr: x}\n" + MATRIX) == "allowed keys here: image, mirror"
    line = hint_for(MATRIX.replace("frozen: false", "frozn: false"))
    by_order = sorted((key for key in config.KEYS if key.line), key=lambda k: k.line_order)
    assert line == "allowed keys here: " + ", ".join(key.field for key in by_order)
    assert line == (
        "allowed keys here: php, base_image, base_digest, platforms, extensions, packages, "
        "build_packages, size_budget_mb, frozen"
    )


def test_one_row_lets_lines_override_a_top_level_key(monkeypatch: pytest.MonkeyPatch) -> None:
    top_level = "frozen: true\n" + MATRIX
    with pytest.raises(ConfigError, match="unknown key 'frozen'"):
        config.loads(top_level)

    with_row(monkeypatch, "frozen", top=True)  # the one change: frozen may be set at the top

    cfg = config.loads(top_level)
    assert [(line.php, line.frozen) for line in cfg.lines] == [("8.3", True), ("8.4", False)]
    assert "frozen" in hint_for("frozn: true\n" + MATRIX)
    with pytest.raises(ConfigError, match="expected true or false") as info:
        config.loads(top_level.replace("frozen: true", "frozen: maybe"))
    assert (info.value.line, info.value.field) == (1, "frozen")


def test_one_row_stops_lines_overriding_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    per_line = MATRIX.replace("    frozen: false", "    size_budget_mb: 300")
    assert config.loads(per_line).line("8.4").size_budget_bytes == 300_000_000

    with_row(monkeypatch, "size_budget_mb", line=False)

    with pytest.raises(ConfigError, match="unknown key 'size_budget_mb'") as info:
        config.loads(per_line)
    assert info.value.field == "lines[1].size_budget_mb"
    cfg = config.loads(per_line.replace("    size_budget_mb: 300\n", "") + "size_budget_mb: 5\n")
    assert {line.size_budget_bytes for line in cfg.lines} == {5_000_000}


#: Keys whose value is combined with others into a model field (see ``_Reader.line``).
COMBINED = {"base_image", "base_digest", "size_budget_mb", "icu_data_full"}


def test_every_key_reaches_the_model() -> None:
    config_fields = {f.name for f in dataclasses.fields(config.Config)}
    line_fields = {f.name for f in dataclasses.fields(config.Line)}
    for key in config.KEYS:
        if key.read is None:  # a section the reader walks itself
            assert key.field in config_fields and key.top and not key.line
            continue
        reaches = (
            (key.top and key.field in config_fields)
            or (key.line and key.field in line_fields)
            or key.field in COMBINED
        )
        assert reaches, f"{key.name}: no Config or Line field holds its value"
    names = [key.name for key in config.KEYS]
    assert len(names) == len(set(names))
    orders = [key.line_order for key in config.KEYS if key.line]
    assert len(orders) == len(set(orders))


def test_every_key_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## matrix.yaml\n", 1)[1].split("\n## ", 1)[0]
    words = set(re.findall(r"[a-z_]+", section))
    for key in config.KEYS:
        written = {key.section, key.name.split(".")[-1]} if key.top else set()
        for word in written | ({key.field} if key.line else set()):
            assert word in words, f"README's matrix.yaml section does not mention {word!r}"


def test_the_readme_lists_the_keys_a_line_may_override() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("any key above may be overridden per line:", 1)[1].split("```", 1)[0]
    comments = " ".join(line.split("#", 1)[1] for line in after.splitlines() if "#" in line)
    listed = {word.strip() for word in comments.split(",")}
    assert listed == {key.field for key in config.KEYS if key.line and key.top}
