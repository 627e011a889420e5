#!/usr/bin/env python3
"""Build and push the STAND-IN base images (busybox, not PHP) for the offline rehearsal.

    python examples/offline/standins.py push --registry 127.0.0.1:5000
    python examples/offline/standins.py push --registry 127.0.0.1:5000 --lines 8.4,8.5

Pushes ``stand-in/php:X.Y-fpm-alpine`` (a linux/amd64 + linux/arm64 index) for every
PHP line to the registry, then prints one ``line reference`` pair per line. Idempotent
and fast on reruns (see ``publisher.stages.standins``). Then run the rehearsal with
``PUBLISHER_BASE_MIRROR=127.0.0.1:5000``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from publisher.adapters.builders import BuilderName
from publisher.adapters.output import Output
from publisher.adapters.runner import Runner
from publisher.core.config import parse_line_list
from publisher.core.errors import PublisherError
from publisher.stages import standins


@click.group()
def main() -> None:
    """STAND-IN base images for the offline rehearsal.

    \b
    Examples:
      python examples/offline/standins.py push --registry 127.0.0.1:5000
      python examples/offline/standins.py push --registry 127.0.0.1:5000 --lines 8.4,8.5

    Then rehearse on them with PUBLISHER_BASE_MIRROR=127.0.0.1:5000.
    """


@main.command("push")
@click.option(
    "--registry",
    required=True,
    metavar="HOST[:PORT]",
    help="Registry to push to: a host with an optional port, no scheme, no path.",
)
@click.option("--lines", default=",".join(standins.LINES), show_default=True, help="PHP lines.")
@click.option(
    "--builder",
    type=click.Choice([BuilderName.BUILDAH.value, BuilderName.DOCKER.value]),
    default=None,
    help="Builder to use (default: buildah when installed, else docker).",
)
@click.option("--debug", is_flag=True, help="Show every command's output.")
def push(registry: str, lines: str, builder: str | None, debug: bool) -> None:
    """Build (or reuse from the cache) and push every stand-in to REGISTRY.

    Prints one `line reference` pair per line, each pinned by digest.

    \b
    Examples:
      python examples/offline/standins.py push --registry 127.0.0.1:5000
      python examples/offline/standins.py push --registry 127.0.0.1:5000 --lines 8.4
      python examples/offline/standins.py push --registry localhost:5000 --builder docker
    """
    output = Output(debug=debug)
    try:
        standins.registry_host(registry, "--registry")
        refs = standins.push_standins(
            registry,
            runner=Runner(output=output),
            lines=parse_line_list(lines, "--lines"),
            builder=BuilderName(builder) if builder else None,
        )
    except PublisherError as exc:
        output.error(exc)
        sys.exit(exc.exit_code)
    for php, ref in refs.items():
        output.print_text(f"{php} {ref}")


if __name__ == "__main__":
    main()
