"""matrix.yaml: loading, validation and the frozen configuration model.

The cascade is resolved once, in this order: built-in defaults, the file's
top-level settings, each line's overrides, then explicit environment overrides
(passed in as a mapping so that tests pass ``{}``). Every error names the file,
line, column and field path, and happens before any subprocess or network call.

Pure: reads one file, no subprocess, no network.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from ..resolve import is_loopback, is_php_line
from . import reference
from .errors import ConfigError, InvalidReferenceError
from .platforms import Platform
from .reference import Reference

DEFAULT_BASE_IMAGE = "php:{php}-fpm-alpine"
DEFAULT_SIZE_BUDGET_MB = 700
DEFAULT_SIZE_REGRESSION_PERCENT = 10.0
DEFAULT_DOCKERFILES = "dockerfiles"
DEFAULT_TEMPLATE = "dockerfiles/Dockerfile.j2"
MB = 1_000_000

#: Environment overrides, each passed in explicitly (see ``load``).
ENV_LINES = "PUBLISHER_LINES"
ENV_PLATFORMS = "PUBLISHER_PLATFORMS"
ENV_BASE_MIRROR = "PUBLISHER_BASE_MIRROR"
ENV_NAMESPACE = "PUBLISHER_NAMESPACE"
ENV_OVERRIDES = (ENV_LINES, ENV_PLATFORMS, ENV_BASE_MIRROR, ENV_NAMESPACE)

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
_EXTENSION_RE = re.compile(r"[a-z0-9_]+")
_PECL_RE = re.compile(r"[a-z0-9_]+(-[0-9][0-9A-Za-z.]*)?")
_PACKAGE_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9+._-]*(?:[<>=~]{1,2}[a-zA-Z0-9+._-]+)?")
_CONFIGURE_FLAG_RE = re.compile(r"--[a-z0-9][a-z0-9-]*(?:=[A-Za-z0-9/._,:-]+)?")


@dataclass(frozen=True)
class Registry:
    """One publishing target: a full repository on one registry."""

    name: str
    repository: Reference
    primary: bool = False
    username_env: str | None = None
    password_env: str | None = None
    insecure: bool = False

    @property
    def host(self) -> str:
        return self.repository.domain

    @property
    def plain_http(self) -> bool:
        """Loopback registries are reached over HTTP, as docker does; others only if marked."""
        return self.insecure or is_loopback(self.host)

    def ref(self, tag: str | None = None, digest: str | None = None) -> Reference:
        return Reference(self.repository.domain, self.repository.path, tag, digest)


@dataclass(frozen=True)
class Extensions:
    """PHP extensions, installed the way the official images expect."""

    install: tuple[str, ...] = ()
    configure: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pecl: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Module names ``php -m`` should list (pecl versions stripped)."""
        return tuple(sorted({*self.install, *(p.split("-")[0] for p in self.pecl)}))


@dataclass(frozen=True)
class Line:
    """One PHP line (e.g. 8.4), fully resolved."""

    php: str
    platforms: tuple[Platform, ...]
    base: Reference
    extensions: Extensions
    packages: tuple[str, ...]
    build_packages: tuple[str, ...]
    size_budget_bytes: int
    dockerfile: str
    #: Never rebuilt or republished again (``frozen: true``): its base no longer updates.
    frozen: bool = False

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.php.split(".")
        return int(major), int(minor)


@dataclass(frozen=True)
class Config:
    source: str
    root: str
    namespace: str
    image: str
    title: str
    description: str
    source_url: str | None
    registries: tuple[Registry, ...]
    platforms: tuple[Platform, ...]
    lines: tuple[Line, ...]
    default_line: str
    base_mirror: str | None
    size_regression_percent: float
    dockerfiles: str
    template: str = DEFAULT_TEMPLATE
    stand_in: bool = False
    all_lines: tuple[str, ...] = field(default=())

    @property
    def primary(self) -> Registry:
        return next(r for r in self.registries if r.primary)

    @property
    def secondaries(self) -> tuple[Registry, ...]:
        return tuple(r for r in self.registries if not r.primary)

    def line(self, php: str) -> Line:
        for line in self.lines:
            if line.php == php:
                return line
        raise ConfigError(
            f"PHP line {php!r} is not selected; selected lines: {', '.join(self.line_names)}",
            source=self.source,
            hint=f"configured lines: {', '.join(self.all_lines)}",
        )

    @property
    def line_names(self) -> tuple[str, ...]:
        return tuple(line.php for line in self.lines)

    @property
    def default_selected(self) -> bool:
        return self.default_line in self.line_names

    def dockerfile_path(self, php: str) -> Path:
        return Path(self.root) / self.line(php).dockerfile

    @property
    def template_path(self) -> Path:
        return Path(self.root) / self.template

    def base_pull_ref(self, line: Line) -> Reference:
        """The base image to pull, through the mirror when one is configured."""
        return mirrored(line.base, self.base_mirror)

    def select(self, php_lines: tuple[str, ...]) -> Config:
        """The same configuration restricted to ``php_lines`` (in configured order)."""
        return _select_lines(self, php_lines, source="--only", field_name="--only")


def mirrored(ref: Reference, mirror: str | None) -> Reference:
    """Rewrite ``ref`` to pull through a mirror prefix (``host[:port][/path]``)."""
    if not mirror:
        return ref
    domain, _, prefix = mirror.partition("/")
    path = f"{prefix}/{ref.path}" if prefix else ref.path
    return Reference(domain, path, ref.tag, ref.digest)


# --------------------------------------------------------------------------- loading


#: A matrix file larger than this is refused before it is parsed.
MAX_MATRIX_BYTES = 1024 * 1024


def load(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate ``path``; apply the overrides found in ``env``.

    ``env`` is the mapping to read ``PUBLISHER_*`` overrides from. Pass ``{}`` for
    none; the CLI passes ``os.environ``.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_MATRIX_BYTES + 1)
        if len(raw) > MAX_MATRIX_BYTES:
            raise ConfigError(
                f"the file is larger than {MAX_MATRIX_BYTES // 1024} KiB; a matrix file is a "
                "few kilobytes",
                source=source,
                hint="pass the matrix file with --config (not a data file)",
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "configuration file not found",
            source=source,
            hint="run from the repository root, or pass --config PATH",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file: {exc}", source=source) from None
    root = str(Path(path).resolve().parent)
    return loads(text, source=source, root=root, env=env or {})


def loads(
    text: str,
    *,
    source: str = "matrix.yaml",
    root: str = ".",
    env: Mapping[str, str] | None = None,
) -> Config:
    node = _compose(text, source)
    return _Reader(source).config(node, root, env or {})


def _compose(text: str, source: str) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"invalid YAML: {problem}",
            source=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    if node is None:
        raise ConfigError(
            "the file is empty", source=source, hint="see the README's matrix.yaml reference"
        )
    return node


_TOP_KEYS = (
    "namespace",
    "image",
    "title",
    "description",
    "source_url",
    "registries",
    "platforms",
    "default_line",
    "base",
    "size_budget_mb",
    "size_regression_percent",
    "dockerfiles",
    "template",
    "stand_in",
    "icu_data_full",
    "extensions",
    "packages",
    "build_packages",
    "lines",
)
_REGISTRY_KEYS = ("name", "repository", "primary", "username_env", "password_env", "insecure")
_BASE_KEYS = ("image", "mirror")
_EXTENSION_KEYS = ("install", "configure", "pecl")
_LINE_KEYS = (
    "php",
    "base_image",
    "base_digest",
    "platforms",
    "extensions",
    "packages",
    "build_packages",
    "size_budget_mb",
    "frozen",
)

#: Alpine's ICU ships English only; intl gets every locale from this package unless
#: the matrix says ``icu_data_full: false``.
ICU_DATA_FULL = "icu-data-full"


class _Reader:
    """Turns a composed YAML node tree into a Config, locating every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    # -- error helpers

    def fail(
        self, node: yaml.Node | None, path: str, message: str, hint: str | None = None
    ) -> NoReturn:
        line = column = None
        if node is not None and node.start_mark is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        raise ConfigError(
            message, source=self.source, line=line, column=column, field=path or None, hint=hint
        )

    def _kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        if node.tag == "tag:yaml.org,2002:null":
            return "nothing (null)"
        if node.tag == "tag:yaml.org,2002:bool":
            return f"a boolean ({node.value})"
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            return f"a number ({node.value})"
        return f"a string ({node.value!r})"

    # -- typed accessors

    def mapping(
        self, node: yaml.Node, path: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path, f"expected a mapping, found {self._kind(node)}")
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "keys must be plain names")
            key = str(key_node.value)
            where = f"{path}.{key}" if path else key
            if key in result:
                self.fail(key_node, where, f"duplicate key {key!r}")
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                suggestion = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    key_node,
                    where,
                    f"unknown key {key!r}{suggestion}",
                    hint=f"allowed keys here: {', '.join(allowed)}",
                )
            result[key] = (key_node, value_node)
        return result

    def scalar(self, node: yaml.Node, path: str) -> str:
        """The raw text of a scalar (so ``8.10`` stays ``8.10``, not the float 8.1)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.fail(node, path, f"expected a value, found {self._kind(node)}")
        return str(node.value)

    def string(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            self.fail(node, path, f"expected a string, found {self._kind(node)}")
        value = str(node.value)
        if not value.strip():
            self.fail(node, path, "must not be empty")
        return value

    def optional_string(self, node: yaml.Node, path: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return None
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag == "tag:yaml.org,2002:str"
            and node.value == ""
        ):
            return None
        return self.string(node, path)

    def boolean(self, node: yaml.Node, path: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.fail(node, path, f"expected true or false, found {self._kind(node)}")
        return bool(yaml.SafeLoader.bool_values[str(node.value).lower()])

    def number(self, node: yaml.Node, path: str, *, minimum: float) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        ):
            self.fail(node, path, f"expected a number, found {self._kind(node)}")
        value = float(str(node.value).replace("_", ""))
        if not value >= minimum or value == float("inf"):
            self.fail(node, path, f"must be a finite number of at least {minimum:g}")
        return value

    def string_list(
        self, node: yaml.Node, path: str, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, f"expected a list of {what}, found {self._kind(node)}")
        items: list[str] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            value = self.string(item, where)
            if not pattern.fullmatch(value):
                self.fail(
                    item,
                    where,
                    f"{value!r} is not a valid {what[:-1] if what.endswith('s') else what}",
                )
            if value in items:
                self.fail(item, where, f"{value!r} is listed twice")
            items.append(value)
        return tuple(items)

    def platforms(self, node: yaml.Node, path: str) -> tuple[Platform, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, path, "expected a non-empty list of platforms such as linux/amd64")
        result: list[Platform] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            text = self.string(item, where)
            try:
                platform = Platform.parse(text)
            except ValueError as exc:
                close = difflib.get_close_matches(
                    text, [p.value for p in Platform], n=1, cutoff=0.6
                )
                suggestion = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(item, where, f"{exc}{suggestion}")
            if platform in result:
                self.fail(item, where, f"platform {text!r} is listed twice")
            result.append(platform)
        return tuple(result)

    def php_line(self, node: yaml.Node, path: str) -> str:
        text = self.scalar(node, path)
        if not is_php_line(text):
            self.fail(
                node,
                path,
                f'{text!r} is not a PHP line; write MAJOR.MINOR such as "8.4"',
            )
        return text

    def ref(self, node: yaml.Node, path: str, text: str) -> Reference:
        try:
            return reference.parse(text)
        except InvalidReferenceError as exc:
            self.fail(node, path, exc.message)

    def env_name(self, node: yaml.Node, path: str) -> str | None:
        value = self.optional_string(node, path)
        if value is None:
            return None
        if not _ENV_NAME_RE.fullmatch(value):
            self.fail(
                node,
                path,
                f"{value!r} is not an environment variable name; give the NAME of the "
                "variable that holds the credential, never the credential itself",
            )
        return value

    # -- sections

    def config(self, root_node: yaml.Node, root: str, env: Mapping[str, str]) -> Config:
        top = self.mapping(root_node, "", _TOP_KEYS)
        for required in ("registries", "lines", "default_line"):
            if required not in top:
                self.fail(root_node, required, f"the required key {required!r} is missing")

        def get(key: str, convert: Callable[[yaml.Node, str], Any], default: Any) -> Any:
            return convert(top[key][1], key) if key in top else default

        namespace = env.get(ENV_NAMESPACE) or get("namespace", self.string, "")
        if env.get(ENV_NAMESPACE) and not reference._PATH_COMPONENT_RE.fullmatch(namespace):
            raise ConfigError(
                f"{namespace!r} is not a valid namespace (lowercase letters, digits, '.', '_', '-')",
                source="environment",
                field=ENV_NAMESPACE,
            )
        image = get("image", self.string, "")
        title = get("title", self.string, "PHP-FPM")
        description = get("description", self.string, "PHP-FPM images for the development stack")
        source_url = get("source_url", self.optional_string, None)
        size_budget_mb = get(
            "size_budget_mb", lambda n, p: self.number(n, p, minimum=1), DEFAULT_SIZE_BUDGET_MB
        )
        regression = get(
            "size_regression_percent",
            lambda n, p: self.number(n, p, minimum=0),
            DEFAULT_SIZE_REGRESSION_PERCENT,
        )
        dockerfiles = get("dockerfiles", self.string, DEFAULT_DOCKERFILES).rstrip("/")
        template = get("template", self.string, f"{dockerfiles}/Dockerfile.j2")
        stand_in = get("stand_in", self.boolean, False)
        icu_data_full = get("icu_data_full", self.boolean, True)
        platforms = get("platforms", self.platforms, tuple(Platform))

        base_template, base_node, mirror = DEFAULT_BASE_IMAGE, None, None
        if "base" in top:
            base = self.mapping(top["base"][1], "base", _BASE_KEYS)
            if "image" in base:
                base_node = base["image"][1]
                base_template = self.string(base_node, "base.image")
            if "mirror" in base:
                mirror = self.mirror(
                    base["mirror"][1],
                    "base.mirror",
                    self.optional_string(base["mirror"][1], "base.mirror"),
                )
        if env.get(ENV_BASE_MIRROR):
            mirror = _check_mirror(
                env[ENV_BASE_MIRROR], lambda msg: _env_fail(ENV_BASE_MIRROR, msg)
            )

        extensions = (
            self.extensions(top["extensions"][1], "extensions")
            if "extensions" in top
            else Extensions()
        )
        packages = get("packages", lambda n, p: self.string_list(n, p, _PACKAGE_RE, "packages"), ())
        build_packages = get(
            "build_packages", lambda n, p: self.string_list(n, p, _PACKAGE_RE, "packages"), ()
        )

        registries = self.registries(top["registries"][1], "registries", namespace, image)

        lines_node = top["lines"][1]
        if not isinstance(lines_node, yaml.SequenceNode) or not lines_node.value:
            self.fail(
                lines_node, "lines", "expected a non-empty list of PHP lines, each with a 'php' key"
            )
        lines: list[Line] = []
        seen: dict[str, yaml.Node] = {}
        for i, line_node in enumerate(lines_node.value):
            where = f"lines[{i}]"
            entries = self.mapping(line_node, where, _LINE_KEYS)
            if "php" not in entries:
                self.fail(
                    line_node, f"{where}.php", "each line needs a 'php' key, e.g. php: \"8.4\""
                )
            php_node = entries["php"][1]
            php = self.php_line(php_node, f"{where}.php")
            if php in seen:
                first = seen[php].start_mark.line + 1
                self.fail(
                    php_node,
                    f"{where}.php",
                    f"PHP line {php} is listed twice (first on line {first})",
                )
            seen[php] = php_node
            lines.append(
                self.line(
                    entries,
                    where,
                    php,
                    platforms=platforms,
                    base_template=(base_template, base_node),
                    extensions=extensions,
                    packages=packages,
                    build_packages=build_packages,
                    size_budget_mb=size_budget_mb,
                    dockerfiles=dockerfiles,
                    icu_data_full=icu_data_full,
                )
            )

        default_node = top["default_line"][1]
        default_line = self.php_line(default_node, "default_line")
        if default_line not in seen:
            self.fail(
                default_node,
                "default_line",
                f"default line {default_line} is not one of the configured lines ({', '.join(seen)})",
            )

        config = Config(
            source=self.source,
            root=root,
            namespace=namespace,
            image=image,
            title=title,
            description=description,
            source_url=source_url,
            registries=registries,
            platforms=platforms,
            lines=tuple(sorted(lines, key=lambda ln: ln.key)),
            default_line=default_line,
            base_mirror=mirror,
            size_regression_percent=float(regression),
            dockerfiles=dockerfiles,
            template=template,
            stand_in=stand_in,
            all_lines=tuple(sorted(seen, key=lambda p: tuple(int(x) for x in p.split(".")))),
        )
        return _apply_env(config, env)

    def mirror(self, node: yaml.Node, path: str, value: str | None) -> str | None:
        if value is None:
            return None
        return _check_mirror(value, lambda msg: self.fail(node, path, msg))

    def registries(
        self, node: yaml.Node, path: str, namespace: str, image: str
    ) -> tuple[Registry, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, path, "expected a non-empty list of registries")
        result: list[Registry] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            entries = self.mapping(item, where, _REGISTRY_KEYS)
            for required in ("name", "repository"):
                if required not in entries:
                    self.fail(item, f"{where}.{required}", f"each registry needs {required!r}")
            name_node = entries["name"][1]
            name = self.string(name_node, f"{where}.name")
            if not _NAME_RE.fullmatch(name):
                self.fail(
                    name_node,
                    f"{where}.name",
                    f"{name!r} is not a valid name (lowercase letters, digits, '-', '_')",
                )
            repo_node = entries["repository"][1]
            raw = self.string(repo_node, f"{where}.repository")
            if "{namespace}" in raw and not namespace:
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    "uses {namespace} but no top-level 'namespace' is set",
                )
            if "{image}" in raw and not image:
                self.fail(
                    repo_node, f"{where}.repository", "uses {image} but no top-level 'image' is set"
                )
            text = raw.replace("{namespace}", namespace).replace("{image}", image)
            repo = self.ref(repo_node, f"{where}.repository", text)
            if repo.tag or repo.digest:
                self.fail(
                    repo_node, f"{where}.repository", "a repository may not carry a tag or digest"
                )
            first = text.split("/")[0]
            if "/" not in text or not ("." in first or ":" in first or first == "localhost"):
                self.fail(
                    repo_node,
                    f"{where}.repository",
                    f"{text!r} does not name its registry; write it in full, "
                    "e.g. docker.io/acme/php-fpm or ghcr.io/acme/php-fpm",
                )
            primary = (
                self.boolean(entries["primary"][1], f"{where}.primary")
                if "primary" in entries
                else False
            )
            insecure = (
                self.boolean(entries["insecure"][1], f"{where}.insecure")
                if "insecure" in entries
                else False
            )
            user_env = (
                self.env_name(entries["username_env"][1], f"{where}.username_env")
                if "username_env" in entries
                else None
            )
            pass_env = (
                self.env_name(entries["password_env"][1], f"{where}.password_env")
                if "password_env" in entries
                else None
            )
            if bool(user_env) != bool(pass_env):
                self.fail(item, where, "set both username_env and password_env, or neither")
            for other in result:
                if other.name == name:
                    self.fail(name_node, f"{where}.name", f"registry name {name!r} is used twice")
                if other.repository == repo:
                    self.fail(
                        repo_node, f"{where}.repository", f"repository {repo.name} is listed twice"
                    )
            result.append(Registry(name, repo, primary, user_env, pass_env, insecure))
        primaries = [r for r in result if r.primary]
        if len(primaries) != 1:
            self.fail(
                node,
                path,
                f"exactly one registry must be marked 'primary: true', found {len(primaries)}",
                hint="builds push to the primary; the others receive copies by digest",
            )
        return tuple(result)

    def extensions(self, node: yaml.Node, path: str) -> Extensions:
        entries = self.mapping(node, path, _EXTENSION_KEYS)
        install: tuple[str, ...] = ()
        pecl: tuple[str, ...] = ()
        configure: list[tuple[str, tuple[str, ...]]] = []
        if "install" in entries:
            install = self.string_list(
                entries["install"][1], f"{path}.install", _EXTENSION_RE, "extensions"
            )
        if "pecl" in entries:
            pecl = self.string_list(entries["pecl"][1], f"{path}.pecl", _PECL_RE, "pecl packages")
        if "configure" in entries:
            conf = entries["configure"][1]
            if not isinstance(conf, yaml.MappingNode):
                self.fail(
                    conf,
                    f"{path}.configure",
                    f"expected a mapping of extension → flags, found {self._kind(conf)}",
                )
            for key_node, value_node in conf.value:
                ext = self.string(key_node, f"{path}.configure")
                where = f"{path}.configure.{ext}"
                if ext not in install:
                    self.fail(key_node, where, f"{ext!r} is configured but not in {path}.install")
                if any(e == ext for e, _ in configure):
                    self.fail(key_node, where, f"{ext!r} is configured twice")
                flags = self.string_list(value_node, where, _CONFIGURE_FLAG_RE, "configure flags")
                configure.append((ext, flags))
        return Extensions(install=install, configure=tuple(configure), pecl=pecl)

    def line(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        where: str,
        php: str,
        *,
        platforms: tuple[Platform, ...],
        base_template: tuple[str, yaml.Node | None],
        extensions: Extensions,
        packages: tuple[str, ...],
        build_packages: tuple[str, ...],
        size_budget_mb: float,
        dockerfiles: str,
        icu_data_full: bool = True,
    ) -> Line:
        if "platforms" in entries:
            node = entries["platforms"][1]
            line_platforms = self.platforms(node, f"{where}.platforms")
            extra = [p.value for p in line_platforms if p not in platforms]
            if extra:
                self.fail(
                    node,
                    f"{where}.platforms",
                    f"{', '.join(extra)} is not in the top-level platforms ({', '.join(p.value for p in platforms)})",
                )
            platforms = tuple(p for p in platforms if p in line_platforms)
        if "extensions" in entries:
            extensions = self.extensions(entries["extensions"][1], f"{where}.extensions")
        if "packages" in entries:
            packages = self.string_list(
                entries["packages"][1], f"{where}.packages", _PACKAGE_RE, "packages"
            )
        if "build_packages" in entries:
            build_packages = self.string_list(
                entries["build_packages"][1], f"{where}.build_packages", _PACKAGE_RE, "packages"
            )
        if "size_budget_mb" in entries:
            size_budget_mb = self.number(
                entries["size_budget_mb"][1], f"{where}.size_budget_mb", minimum=1
            )

        template, base_node = base_template
        base_path = "base.image"
        if "base_image" in entries:
            base_node = entries["base_image"][1]
            base_path = f"{where}.base_image"
            template = self.string(base_node, base_path)
        text = template.replace("{php}", php)
        base = (
            self.ref(base_node, base_path, text) if base_node is not None else reference.parse(text)
        )
        if base.tag is None and base.digest is None:
            self.fail(
                base_node, base_path, f"base image {text!r} needs a tag, e.g. php:{php}-fpm-alpine"
            )
        if "base_digest" in entries:
            digest_node = entries["base_digest"][1]
            digest = self.string(digest_node, f"{where}.base_digest")
            if not reference.is_digest(digest):
                self.fail(
                    digest_node,
                    f"{where}.base_digest",
                    f"{digest!r} is not a digest; write sha256: followed by 64 lowercase hex digits",
                )
            base = Reference(base.domain, base.path, base.tag, digest)
        if icu_data_full and "intl" in extensions.install and ICU_DATA_FULL not in packages:
            packages = (*packages, ICU_DATA_FULL)
        frozen = (
            self.boolean(entries["frozen"][1], f"{where}.frozen") if "frozen" in entries else False
        )
        return Line(
            php=php,
            platforms=platforms,
            base=base,
            extensions=extensions,
            packages=packages,
            build_packages=build_packages,
            size_budget_bytes=int(size_budget_mb * MB),
            dockerfile=f"{dockerfiles}/{php}/Dockerfile",
            frozen=frozen,
        )


def _check_mirror(value: str, fail: Callable[[str], NoReturn]) -> str:
    value = value.rstrip("/")
    domain, _, prefix = value.partition("/")
    try:
        probe = reference.parse(f"{domain}/{prefix + '/' if prefix else ''}probe")
    except InvalidReferenceError:
        fail(f"{value!r} is not a registry host (with an optional path prefix), e.g. mirror.gcr.io")
    if probe.domain != domain:
        fail(f"{value!r} must start with a registry host, e.g. mirror.gcr.io or 127.0.0.1:5000")
    return value


def _env_fail(name: str, message: str) -> NoReturn:
    raise ConfigError(message, source="environment", field=name)


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    if env.get(ENV_PLATFORMS):
        wanted: list[Platform] = []
        for text in env[ENV_PLATFORMS].split(","):
            try:
                platform = Platform.parse(text.strip())
            except ValueError as exc:
                _env_fail(ENV_PLATFORMS, str(exc))
            if platform not in config.platforms:
                _env_fail(ENV_PLATFORMS, f"{platform} is not a configured platform")
            if platform not in wanted:
                wanted.append(platform)
        lines = tuple(
            Line(**{**line.__dict__, "platforms": tuple(p for p in line.platforms if p in wanted)})
            for line in config.lines
        )
        config = Config(
            **{
                **config.__dict__,
                "platforms": tuple(p for p in config.platforms if p in wanted),
                "lines": tuple(ln for ln in lines if ln.platforms),
            }
        )
    if env.get(ENV_LINES):
        config = _select_lines(
            config,
            parse_line_list(env[ENV_LINES], ENV_LINES),
            source="environment",
            field_name=ENV_LINES,
        )
    return config


def parse_line_list(text: str, field_name: str = "--only") -> tuple[str, ...]:
    """Parse ``8.4,8.5`` into a tuple of PHP lines, raising a located ConfigError."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise ConfigError(
            "expected a comma-separated list of PHP lines such as 8.4,8.5", field=field_name
        )
    for item in items:
        if not is_php_line(item):
            raise ConfigError(
                f"{item!r} is not a PHP line; write MAJOR.MINOR such as 8.4", field=field_name
            )
    return items


def _select_lines(
    config: Config, php_lines: tuple[str, ...], *, source: str, field_name: str
) -> Config:
    unknown = [p for p in php_lines if p not in config.line_names]
    if unknown:
        raise ConfigError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not configured; "
            f"configured lines: {', '.join(config.line_names)}",
            source=source,
            field=field_name,
        )
    lines = tuple(line for line in config.lines if line.php in php_lines)
    return Config(**{**config.__dict__, "lines": lines})
