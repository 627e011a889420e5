"""bench/resolve_bench.py measures what a launcher meets: an installed package's import."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_import_figure_is_taken_with_the_bytecode_cache_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With PYTHONDONTWRITEBYTECODE set (CI and many shells set it) and no cache yet, the
    import figure was the compilation of resolve.py, twice the import an installed
    package costs: the cache is written first, whatever the environment says."""
    spec = importlib.util.spec_from_file_location("resolve_bench", ROOT / "bench/resolve_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    copy = tmp_path / "checkout"
    (copy / "publisher").mkdir(parents=True)
    for name in ("__init__.py", "resolve.py"):
        shutil.copyfile(ROOT / "publisher" / name, copy / "publisher" / name)
    monkeypatch.setattr(bench, "ROOT", copy)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    bench.import_time()
    assert "import publisher.resolve (cumulative)" in capsys.readouterr().out
    assert list((copy / "publisher" / "__pycache__").glob("resolve.*.pyc"))
