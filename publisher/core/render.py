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

#: What the template is given (see ``render_line``); an error about an undefined name lists them.
TEMPLATE_NAMES = (
    "php",
    "base",
    "title",
    "description",
    "source_url",
    "stand_in",
    "template_name",
    "packages",
    "build_packages",
    "install",
    "configure",
    "pecl",
    "pecl_names",
)


def label_value(text: object) -> str:
    """``text`` escaped for a double-quoted Dockerfile LABEL value (the ``label`` filter).

    Inside double quotes the Dockerfile parser treats ``\\``, ``"`` and ``$`` as
    special: each is escaped with a backslash, so the label holds the text as written.
    (The matrix reader has already refused line breaks and control characters.)
    """
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def _no_other_templates(name: str) -> None:
    """The loader: the Dockerfile template is one file, so include/import/extends find nothing."""
    return None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        loader=jinja2.FunctionLoader(_no_other_templates),
    )
    env.filters["label"] = label_value
    return env


def _template_line(exc: BaseException) -> int | None:
    """The template line the failure happened on (Jinja marks its frames), if any."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_error(config: Config, exc: Exception) -> ConfigError:
    """A failure while running the template, located in the template file."""
    hint = "fix the template, then run `publisher render`"
    if isinstance(exc, jinja2.TemplateNotFound):
        problem = (
            f"the template refers to another template ({exc.name!r}): the Dockerfile "
            "template is one file, without include, import or extends"
        )
        hint = "copy what you need into the template itself"
    elif isinstance(exc, jinja2.UndefinedError):
        problem = f"template error: {exc.message}"
        hint = f"the template is given: {', '.join(TEMPLATE_NAMES)}"
    elif isinstance(exc, RecursionError):
        problem = "template error: a macro or loop calls itself without end"
    else:
        detail = (
            str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
        )
        problem = f"template error: {detail[:300]}"
    return ConfigError(problem, source=config.template, line=_template_line(exc), hint=hint)


def render_line(config: Config, line: Line, template_text: str) -> str:
    """The Dockerfile text for one line.

    Any failure of the template, from a syntax error to a division by zero, is a
    ``ConfigError`` that names the template file and, when Jinja knows it, the line.
    """
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
    try:
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
    except Exception as exc:  # the template is code: whatever it raises is the template's error
        raise _render_error(config, exc) from None


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
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the Dockerfile template is not UTF-8 text (byte {exc.start})",
            source=config.template,
            hint="save the template as UTF-8",
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
