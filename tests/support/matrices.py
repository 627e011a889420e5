"""The matrix the pure planning tests share: ``acme/php-fpm`` on Docker Hub (primary) and GHCR.

``acme_matrix()`` is its YAML text, ``acme_config()`` the loaded ``Config``; keywords
vary what a test needs (more registries, other lines, a line on fewer platforms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from publisher.core import config

REPOSITORIES = {
    "hub": "docker.io/acme/php-fpm",
    "ghcr": "ghcr.io/acme/php-fpm",
    "quay": "quay.io/acme/php-fpm",
}


def acme_matrix(
    *,
    registries: Sequence[str] = ("hub", "ghcr"),
    lines: Sequence[str] = ("8.3", "8.4"),
    default_line: str = "8.4",
    line_platforms: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The YAML: the first registry is the primary; ``line_platforms`` narrows some lines."""
    text = ["registries:"]
    for i, name in enumerate(registries):
        primary = ", primary: true" if i == 0 else ""
        text.append(f"  - {{name: {name}, repository: {REPOSITORIES[name]}{primary}}}")
    text += [f'default_line: "{default_line}"', "lines:"]
    for php in lines:
        text.append(f'  - php: "{php}"')
        if line_platforms and php in line_platforms:
            text.append(f"    platforms: [{', '.join(line_platforms[php])}]")
    return "\n".join(text) + "\n"


def acme_config(**kwargs: Any) -> config.Config:
    return config.loads(acme_matrix(**kwargs))
