"""Dockerfile rendering: one Jinja2 template, one Dockerfile per PHP line.

Pure apart from reading the template and comparing with committed files; the
rendered text never depends on the clock or the environment, so
``publisher render --check`` is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from .config import Config, Line
from .errors import ConfigError
from .fileio import write_atomic


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_line(config: Config, line: Line, template_text: str) -> str:
    """The Dockerfile text for one line."""
    env = _environment()
    try:
        template = env.from_string(template_text)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template syntax error: {exc.message}",
            source=config.template,
            line=exc.lineno,
        ) from None
    configure = [(ext, list(flags)) for ext, flags in line.extensions.configure]
    return template.render(
        php=line.php,
        base=str(line.base),
        title=config.title,
        description=config.description,
        source_url=config.source_url,
        stand_in=config.stand_in,
        template_name=config.template,
        packages=list(line.packages),
        build_packages=list(line.build_packages),
        install=list(line.extensions.install),
        configure=configure,
        pecl=list(line.extensions.pecl),
        pecl_names=[p.split("-")[0] for p in line.extensions.pecl],
    )


def read_template(config: Config) -> str:
    path = config.template_path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the Dockerfile template: {exc.strerror or exc}",
            source=config.source,
            field="template",
            hint=f"expected the template at {path}",
        ) from None


@dataclass(frozen=True)
class Rendered:
    php: str
    path: Path
    text: str

    @property
    def current(self) -> bool:
        try:
            return self.path.read_text(encoding="utf-8") == self.text
        except OSError:
            return False


def render_all(config: Config) -> tuple[Rendered, ...]:
    """Render every selected line (nothing is written)."""
    text = read_template(config)
    return tuple(
        Rendered(line.php, config.dockerfile_path(line.php), render_line(config, line, text))
        for line in config.lines
    )


def write(rendered: Rendered) -> None:
    """Write one rendered Dockerfile atomically."""
    write_atomic(rendered.path, rendered.text)
