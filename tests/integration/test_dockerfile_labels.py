"""Matrix text in the rendered LABEL instruction reaches the image unchanged, with real builders.

The LABEL block of the real template, rendered from a matrix whose title, description
and source URL hold the characters a double-quoted Dockerfile value treats as special
(backslash, double quote, dollar), is built ``FROM scratch`` by buildah and by docker;
each image's labels must be the matrix text exactly, and nothing else may appear.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from publisher.core import config, render
from tests.conftest import ROOT, require_tool
from tests.support.matrices import acme_matrix

pytestmark = pytest.mark.integration

TITLE = 'say "hi" $HOME \\'
DESCRIPTION = "costs $5 ${NOT_EXPANDED} \\n stays two characters"
SOURCE = "https://x.example/a$b?c=\\d"


def _containerfile(tmp_path: Path) -> Path:
    """FROM scratch, the template's build arguments, then its rendered LABEL block."""
    matrix = (
        acme_matrix()
        + f"title: {json.dumps(TITLE)}\n"
        + f"description: {json.dumps(DESCRIPTION)}\n"
        + f"source_url: {json.dumps(SOURCE)}\n"
    )
    cfg = config.loads(matrix, root=str(ROOT))
    assert (cfg.title, cfg.description, cfg.source_url) == (TITLE, DESCRIPTION, SOURCE)
    lines = render.render_line(cfg, cfg.line("8.4"), render.read_template(cfg)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("LABEL "))
    end = next(i for i in range(start, len(lines)) if not lines[i].endswith("\\"))
    path = tmp_path / "Containerfile"
    path.write_text(
        "FROM scratch\n"
        "ARG PHP_BASE_IMAGE=example.test/base:1\n"
        "ARG PUBLISHER_RELEASE=v9.9.9\n"
        "ARG PUBLISHER_CREATED=\n"
        "ARG PUBLISHER_REVISION=\n" + "\n".join(lines[start : end + 1]) + "\n"
    )
    return path


def _labels(builder: str, containerfile: Path) -> dict[str, str]:
    tool = require_tool(builder)
    name = f"localhost/publisher-test-labels-{uuid.uuid4().hex[:12]}:1"
    context = str(containerfile.parent)
    if builder == "buildah":
        build = [tool, "build", "-q", "-f", str(containerfile), "-t", name, context]
        inspect = [tool, "inspect", "--type", "image", name]
        remove = [tool, "rmi", "-f", name]
    else:
        build = [tool, "build", "-q", "-f", str(containerfile), "-t", name, context]
        inspect = [tool, "image", "inspect", name]
        remove = [tool, "image", "rm", "-f", name]
    try:
        done = subprocess.run(build, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        shown = subprocess.run(inspect, capture_output=True, text=True, timeout=60, check=True)
    finally:
        subprocess.run(remove, capture_output=True, timeout=60, check=False)
    data = json.loads(shown.stdout)
    if builder == "buildah":
        return dict(data["OCIv1"]["config"]["Labels"])
    return dict(data[0]["Config"]["Labels"])


@pytest.mark.parametrize("builder", ["buildah", "docker"])
def test_special_characters_in_matrix_values_reach_the_labels_unchanged(builder, tmp_path):
    labels = _labels(builder, _containerfile(tmp_path))
    assert labels["org.opencontainers.image.title"] == TITLE
    assert labels["org.opencontainers.image.description"] == f"{DESCRIPTION} (PHP 8.4)"
    assert labels["org.opencontainers.image.source"] == SOURCE
    # the template's own build arguments are still expanded
    assert labels["org.opencontainers.image.version"] == "v9.9.9-php-8.4"
    assert labels["org.opencontainers.image.base.name"] == "example.test/base:1"
    ours = {k for k in labels if k.startswith(("org.opencontainers.", "dev.publisher."))}
    assert ours == {
        "org.opencontainers.image.title",
        "org.opencontainers.image.description",
        "org.opencontainers.image.version",
        "org.opencontainers.image.created",
        "org.opencontainers.image.revision",
        "org.opencontainers.image.source",
        "org.opencontainers.image.base.name",
        "dev.publisher.php-line",
    }


def test_hadolint_reads_a_dockerfile_with_escaped_label_values(tmp_path):
    # hadolint's own parser misreads an escaped backslash right before the closing quote
    # (docker and buildah do not, see above), so the values here keep theirs inside.
    hadolint = require_tool("hadolint")
    title = 'say "hi" to $HOME'
    description = "a \\ b costs ${X}"
    matrix = acme_matrix() + "".join(
        f"{key}: {json.dumps(value)}\n"
        for key, value in (("title", title), ("description", description), ("source_url", SOURCE))
    )
    cfg = config.loads(matrix, root=str(ROOT))
    assert cfg.description == "a \\ b costs ${X}"
    path = tmp_path / "Dockerfile"
    path.write_text(render.render_line(cfg, cfg.line("8.4"), render.read_template(cfg)))
    result = subprocess.run(
        [hadolint, "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
