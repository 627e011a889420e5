"""The rules a smoke test applies to what an image printed. Pure: no I/O.

A platform image passes when it starts (its server stays up and answers its
health check), ``php -v`` reports the expected PHP line, ``php-fpm -t`` reports a
valid configuration, and ``php -m`` lists every configured extension. The
exact PHP version (``8.4.12``, ``8.5.0RC1``, ``8.4.99-standin``) goes into the
release notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import SmokeTestError

#: ``PHP 8.4.12 (cli) (built: ...)``; a suffix such as ``RC1`` or ``-standin`` is kept.
_PHP_V_RE = re.compile(r"^PHP (\d+)\.(\d+)\.(\d+)([A-Za-z0-9.+~-]*) \(", re.MULTILINE)
FPM_TEST_OK = "test is successful"

#: ``php -m`` shows some extensions under another name than the one installed.
MODULE_ALIASES: dict[str, tuple[str, ...]] = {
    "opcache": ("zend opcache", "opcache"),
}


@dataclass(frozen=True, order=True)
class PhpVersion:
    major: int
    minor: int
    patch: int
    suffix: str = ""

    @property
    def line(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}{self.suffix}"


def parse_php_version(text: str) -> PhpVersion:
    """The version in ``php -v`` output; SmokeTestError when there is none."""
    match = _PHP_V_RE.search(text)
    if not match:
        first = text.strip().splitlines()[0] if text.strip() else "nothing"
        raise SmokeTestError(
            f"`php -v` did not report a PHP version (it printed {first[:120]!r})",
            hint="the image's php binary is missing or broken; check the build log",
        )
    major, minor, patch, suffix = match.groups()
    return PhpVersion(int(major), int(minor), int(patch), suffix)


def parse_modules(text: str) -> frozenset[str]:
    """Module names from ``php -m`` (lowercased; section headers dropped)."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        names.add(line.lower())
    return frozenset(names)


def module_names(extension: str) -> tuple[str, ...]:
    """The names ``php -m`` may list for ``extension`` (lowercase)."""
    return MODULE_ALIASES.get(extension.lower(), (extension.lower(),))


def missing_extensions(expected: Iterable[str], modules: frozenset[str]) -> list[str]:
    return [ext for ext in expected if not any(n in modules for n in module_names(ext))]


def fpm_test_passed(returncode: int, output: str) -> bool:
    return returncode == 0 and FPM_TEST_OK in output


@dataclass(frozen=True)
class Observed:
    """What one smoke run saw inside the image."""

    started: bool
    start_output: str
    php_v: str
    php_m: str
    fpm_returncode: int
    fpm_output: str


def defects(
    observed: Observed, expected_line: str, extensions: Iterable[str]
) -> tuple[PhpVersion | None, list[str]]:
    """Apply every rule; return the PHP version found (if any) and every defect."""
    found: list[str] = []
    if not observed.started:
        tail = " | ".join(observed.start_output.strip().splitlines()[-5:])
        found.append(f"the image did not start and answer its health check ({tail or 'no output'})")
    version: PhpVersion | None
    try:
        version = parse_php_version(observed.php_v)
    except SmokeTestError as exc:
        version = None
        found.append(exc.message)
    if version is not None and version.line != expected_line:
        found.append(f"`php -v` reports PHP {version}, expected the {expected_line} line")
    if not fpm_test_passed(observed.fpm_returncode, observed.fpm_output):
        tail = " | ".join(observed.fpm_output.strip().splitlines()[-3:])
        found.append(
            f"`php-fpm -t` failed (exit status {observed.fpm_returncode}): {tail or 'no output'}"
        )
    missing = missing_extensions(extensions, parse_modules(observed.php_m))
    if missing:
        found.append(f"`php -m` does not list {', '.join(missing)}")
    return version, found
