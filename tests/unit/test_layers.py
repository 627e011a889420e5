"""Imports point one way: no module imports from a higher layer (CONTRIBUTING's layer table).

Every import of every module under ``publisher/`` is read with ``ast`` (module
level, inside functions and under ``TYPE_CHECKING`` alike) and resolved to the
module it names. A module may import its own layer and the layers before it in
``LAYERS``. A module the table does not place fails too, so a new file is
placed on purpose, and the table here must equal the one in CONTRIBUTING.md.
The folders are the layers (``core/``, ``adapters/``, ``stages/``, ``cli/``); a
file named in the table wins over its folder (the foundation inside ``core/``).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "publisher"

#: (layer, entries): a file relative to publisher/, or a folder ending in "/".
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "__init__.py",
            "core/__init__.py",
        ),
    ),
    ("vendorable", ("resolve.py",)),
    ("pure core", ("core/",)),
    ("adapters", ("adapters/",)),
    ("stages", ("stages/",)),
    ("CLI", ("cli/", "__main__.py")),
)

#: Imports a vendorable module may make lazily, inside a function (``resolve --matrix``).
LAZY = {"publisher.resolve": {"publisher", "publisher.core.config", "publisher.core.errors"}}

#: What the foundation and the pure core never import: processes, sockets, HTTP, UI.
IMPURE = {
    "subprocess",
    "socket",
    "ssl",
    "http.client",
    "urllib.request",
    "requests",
    "urllib3",
    "github",
    "click",
    "rich",
    "testcontainers",
}

RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(path: Path) -> str | None:
    """The layer of a file: the entry naming the file itself, else its nearest folder."""
    relative = path.relative_to(PACKAGE).as_posix()
    best: tuple[int, str] | None = None
    for name, entries in LAYERS:
        for entry in entries:
            matches = entry == relative or (entry.endswith("/") and relative.startswith(entry))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), name)
    return best[1] if best else None


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve_target(base: str, name: str | None) -> str:
    """``from base import name``: the submodule when ``base.name`` is one, else ``base``."""
    if name and f"{base}.{name}" in MODULES:
        return f"{base}.{name}"
    return base


def imports(module: str, source: str) -> list[tuple[str, int, bool]]:
    """(imported publisher module, line, inside a function) for every import in ``source``."""
    is_package = MODULES[module].name == "__init__.py" if module in MODULES else False
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []
    tree = ast.parse(source)
    in_function = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        lazy = id(node) in in_function
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, lazy) for a in node.names if _ours(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                if node.module:
                    base = f"{base}.{node.module}"
            else:
                base = node.module or ""
            if _ours(base):
                found += [(resolve_target(base, a.name), node.lineno, lazy) for a in node.names]
    return found


def third_party_and_stdlib(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return {n for n in names if not _ours(n)}


def _ours(name: str) -> bool:
    return name == "publisher" or name.startswith("publisher.")


def violations(module: str, source: str, layer: str) -> list[str]:
    """Every import of ``module`` (in ``layer``) that points at a higher layer."""
    problems = []
    for target, line, lazy in imports(module, source):
        if target not in MODULES:
            problems.append(f"{module}:{line} imports {target}, which is not a module")
            continue
        target_layer = layer_of(MODULES[target])
        if target_layer is None:
            continue  # reported by the completeness test
        if lazy and target in LAZY.get(module, set()):
            continue
        if layer == "vendorable" and target != module:
            problems.append(
                f"{module}:{line} imports {target}: a vendorable module imports nothing of ours"
            )
        elif RANK[target_layer] > RANK[layer]:
            problems.append(
                f"{module}:{line} ({layer}) imports {target} ({target_layer}), a higher layer"
            )
    return problems


def test_every_module_has_a_layer_and_every_entry_exists() -> None:
    unplaced = [str(p.relative_to(ROOT)) for p in MODULES.values() if layer_of(p) is None]
    assert not unplaced, f"add these to LAYERS here and to CONTRIBUTING's table: {unplaced}"
    for _, entries in LAYERS:
        for entry in entries:
            assert (PACKAGE / entry).exists(), f"{entry} is in the layer table but does not exist"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_higher_layer(module: str) -> None:
    path = MODULES[module]
    layer = layer_of(path)
    assert layer is not None
    assert violations(module, path.read_text(encoding="utf-8"), layer) == []


@pytest.mark.parametrize(
    "module",
    sorted(m for m, p in MODULES.items() if layer_of(p) in ("foundation", "pure core")),
)
def test_the_core_does_no_io_of_its_own(module: str) -> None:
    used = third_party_and_stdlib(MODULES[module].read_text(encoding="utf-8"))
    impure = {n for n in used if n in IMPURE or n.split(".")[0] in IMPURE - {"http", "urllib"}}
    assert not impure, f"{module} imports {sorted(impure)}; that belongs in an adapter"


def test_the_vendorable_module_uses_the_standard_library_only() -> None:
    for module in (m for m, p in MODULES.items() if layer_of(p) == "vendorable"):
        source = MODULES[module].read_text(encoding="utf-8")
        others = (
            {n.split(".")[0] for n in third_party_and_stdlib(source)}
            - set(sys.stdlib_module_names)
            - {"__future__"}
        )
        assert not others, f"{module} imports {sorted(others)}"
        eager = [(t, line) for t, line, lazy in imports(module, source) if not lazy]
        assert not eager, f"{module} imports publisher modules at import time: {eager}"


def test_only_the_runner_starts_processes() -> None:
    # adapters/runner.py is the package's one way to start a command; resolve.py must
    # stay one file, so its vendored copy keeps its own (run_command, injectable).
    allowed = {"publisher.adapters.runner", "publisher.resolve"}
    starters = sorted(
        module
        for module, path in MODULES.items()
        if module not in allowed
        and {"subprocess", "multiprocessing", "pty"}
        & {n.split(".")[0] for n in third_party_and_stdlib(path.read_text(encoding="utf-8"))}
    )
    assert starters == [], f"{starters} start processes: use publisher.adapters.runner"


def test_the_checker_catches_an_upward_import() -> None:
    # A pure module reaching into a stage, an adapter into the CLI, a relative import
    # resolved to its submodule, and a lazy import the vendorable module may not make.
    assert violations("publisher.core.plan", "from ..stages import publish\n", "pure core") == [
        "publisher.core.plan:1 (pure core) imports publisher.stages.publish (stages), a higher layer"
    ]
    assert violations(
        "publisher.adapters.registry.client", "def f():\n    from ...cli import base\n", "adapters"
    ) == [
        "publisher.adapters.registry.client:2 (adapters) imports publisher.cli.base (CLI), a higher layer"
    ]
    assert (
        violations("publisher.stages.verify", "from ..core import verify_rules\n", "stages") == []
    )
    real = imports("publisher.stages.verify", MODULES["publisher.stages.verify"].read_text())
    assert {"publisher.core.verify_rules", "publisher.adapters.registry"} <= {t for t, _, _ in real}
    assert violations(
        "publisher.resolve", "def f():\n    from publisher.adapters import output\n", "vendorable"
    ) == [
        "publisher.resolve:2 imports publisher.adapters.output: a vendorable module imports nothing of ours"
    ]
    assert violations("publisher.resolve", "from publisher.core import config\n", "vendorable")


def contributing_table() -> dict[str, set[str]]:
    """layer -> the files and folders CONTRIBUTING.md's layout table names for it."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        table[cells[0]] = set(re.findall(r"`([A-Za-z0-9_./]+(?:\.py|/))`", cells[1]))
    return table


def test_contributing_shows_the_same_table() -> None:
    assert contributing_table() == {name: set(entries) for name, entries in LAYERS}


def test_the_design_map_names_every_module_in_its_layer() -> None:
    """docs/design.md's layer table, a map of the code, names each module of the core,
    the adapters and the stages (`name`, or `folder/` with its modules in brackets)."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = {
        cells[0]: cells[1]
        for line in section.splitlines()
        if len(cells := [c.strip() for c in line.strip().strip("|").split("|")]) >= 3
    }
    named = {layer: set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rows[layer])) for layer in rows}
    unnamed = []
    for layer, folder in (("pure core", "core"), ("adapters", "adapters"), ("stages", "stages")):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            if path.name == "__init__.py" or (folder == "core" and path.stem == "platforms"):
                continue
            if path.stem not in named[layer]:
                unnamed.append(f"{layer}: {path.relative_to(PACKAGE)}")
    assert unnamed == [], "name these in docs/design.md's layer table"
