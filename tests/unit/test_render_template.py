"""What the one Dockerfile template writes for each PHP line of the production matrix."""

from __future__ import annotations

import dataclasses
import re

import pytest

from publisher.core import config, render
from tests.conftest import ROOT

SUPPRESS = "access.suppress_path[] = /ping"


def _pool_config(php: str) -> str:
    """The FPM pool settings the health check's RUN step writes, for line ``php``."""
    cfg = config.load(ROOT / "matrix.yaml", {})
    line = dataclasses.replace(cfg.line("8.4"), php=php)
    text = render.render_line(cfg, line, render.read_template(cfg))
    match = re.search(r"^RUN printf '(\[www\][^']*)'", text, re.MULTILINE)
    assert match, text
    return match.group(1)


@pytest.mark.parametrize("php", ["8.2", "8.3", "8.4", "8.5", "8.10", "9.0"])
def test_the_health_checks_pings_stay_out_of_the_access_log(php):
    # The official image sends the access log to the container's log: one line per
    # health check (every 30 s) would bury the developer's own requests.
    pool = _pool_config(php)
    assert "ping.path = /ping" in pool and SUPPRESS in pool


def test_php_8_1_gets_no_setting_its_php_fpm_would_refuse():
    # access.suppress_path came with PHP 8.2; 8.1's php-fpm stops on an unknown entry.
    pool = _pool_config("8.1")
    assert "ping.path = /ping" in pool and "suppress_path" not in pool


def _history(text: str) -> list[dict[str, str]]:
    """The build history a builder keeps of a rendered Dockerfile: each RUN step's command,
    its continuation lines joined, as the shell the SHELL instruction names runs it."""
    joined = re.sub(r"\\\n", " ", text)
    return [
        {"created_by": "/bin/sh -eo pipefail -c " + m.group(1)}
        for m in re.finditer(r"^RUN (.*)$", joined, re.MULTILINE)
    ]


@pytest.mark.parametrize("php", ["8.1", "8.2", "8.3", "8.4", "8.5"])
def test_an_image_s_build_history_names_the_extensions_its_line_was_rendered_with(php):
    # A rerun of an unfinished release tells images built with other extensions by this.
    cfg = config.load(ROOT / "matrix.yaml", {})
    line = cfg.line(php)
    text = render.render_line(cfg, line, render.read_template(cfg))
    # the base's own steps come first: the official image enables sodium in one
    base = [{"created_by": "RUN /bin/sh -c docker-php-ext-enable sodium # buildkit"}]
    history = base + _history(text)
    assert render.built_extensions({"history": history}) == line.extensions.names
    assert render.built_extensions({"history": base}) is None
    assert render.built_extensions({"history": [{"created_by": "apk add curl"}]}) is None
    assert render.built_extensions({}) is None
