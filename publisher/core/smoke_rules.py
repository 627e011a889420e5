"""The rules a smoke test applies to what an image printed. Pure: no I/O.

A platform image passes when it starts (its server stays up and answers its
health check), php-fpm runs a probe script sent to it over FastCGI that exercises
every configured extension (``probe_script``; gd draws a PNG, intl formats in
German and French, ...) and every check passes, ``php -v`` reports the expected
PHP line, ``php-fpm -t`` reports a valid configuration, and ``php -m`` lists
every configured extension; and php-fpm, once healthy, must not listen on the
loopback address alone (``loopback_only``): the web server in another container
could not reach it; no check may print a PHP startup error (``startup_errors``); the
image's programs must run as its platform's machine (``machine_defects``); and its server
must stay up a few seconds once healthy (``Observed.stopped``). The
exact PHP version (``8.4.12``, ``8.5.0RC1``, ``8.4.99-standin``) goes into the
release notes.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import SmokeTestError, UsageError
from .fileio import counted
from .retry import number_setting
from .settings import setting
from .sizes import seconds

#: How long after its start a server must still be running, once healthy and probed (a
#: server that dies a few seconds after it answered fails), unless ``STAY_UP_SETTING``
#: says otherwise: seconds, from ``STAY_UP_RANGE``.
STAYS_UP = 5.0
STAY_UP_SETTING = "PUBLISHER_SMOKE_STAY_UP"
STAY_UP_RANGE = (1.0, 600.0)


def stay_up(env: Mapping[str, str]) -> float:
    """The seconds a server must stay up in this run's smoke tests: ``STAY_UP_SETTING``
    of ``env``, a number (a fraction too) in ``STAY_UP_RANGE``, else ``STAYS_UP``;
    UsageError (exit 2) naming the variable and the range for anything else."""
    text = setting(env, STAY_UP_SETTING)
    if not text:
        return STAYS_UP
    lowest, highest = STAY_UP_RANGE
    accepted = (
        f"set {STAY_UP_SETTING} to the seconds a server must still run after it started, "
        f"from {lowest:g} to {highest:g} (default {STAYS_UP:g}), or unset it"
    )
    try:
        value = float(number_setting(text, float))
    except ValueError:
        raise UsageError(
            f"{STAY_UP_SETTING}={text[:40]!r} is not a number", hint=accepted
        ) from None
    if not (math.isfinite(value) and lowest <= value <= highest):
        raise UsageError(f"{STAY_UP_SETTING}={text[:40]!r} is out of range", hint=accepted)
    return value


#: ``PHP 8.4.12 (cli) (built: ...)``; a suffix such as ``RC1`` or ``-standin`` is kept.
#: Each number at most 9 digits: int() refuses a string of thousands.
_PHP_V_RE = re.compile(
    r"^PHP ([0-9]{1,9})\.([0-9]{1,9})\.([0-9]{1,9})([A-Za-z0-9.+~-]*) \(", re.MULTILINE
)
FPM_TEST_OK = "test is successful"
#: Why a ``php-fpm -t`` that exits 0 may not say ``FPM_TEST_OK``, said when it said no
#: notice at all: a ``log_level`` above notice (a production setting) hides that line.
FPM_QUIET = (
    "php-fpm says it only at its default log_level = notice: a log_level above it, "
    "warning, error or alert, hides it"
)
#: The version suffix of the busybox stand-ins, which are not PHP and run no script.
NOT_PHP_SUFFIX = "-standin"

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
    #: The FastCGI probe's answer (status, body); None when it could not be sent.
    probe: tuple[int, str] | None = None
    #: Why the probe could not be sent (connection refused, no cgi-fcgi, ...).
    probe_error: str = ""
    #: ``/proc/net/tcp`` and ``tcp6`` as read while the server ran ("" when not read),
    #: and the FastCGI port.
    proc_net: str = ""
    port: int = 9000
    #: ``php -m``'s stderr (its stdout is ``php_m``): where PHP's startup errors go.
    php_m_stderr: str = ""
    #: What ``MACHINE_CHECK`` printed in the image, the machine (``uname -m``) its
    #: platform's programs run as (``x86_64``, ``aarch64``: QEMU user mode says the one
    #: it emulates), and the platform: "" when not checked.
    machine: str = ""
    expected_machine: str = ""
    platform: str = ""
    #: Why the server did not stay up ``STAYS_UP`` seconds once healthy ("" when it did).
    stopped: str = ""
    #: The checks (``php -v``, ``php -m``, ``php-fpm -t``) run more than once, each time
    #: printing nothing, and how many times (buildah, which now and then passes on none
    #: of a command's output under load, runs the checks again when their output is not
    #: all there): their defects say so.
    silent: Mapping[str, int] = field(default_factory=dict)

    def runs(self, check: str) -> str:
        """`` (run N times, with no output each time)`` for ``check`` run N > 1 times."""
        n = self.silent.get(check, 1)
        return f" (run {n} times, with no output each time)" if n > 1 else ""


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
        found.append(exc.message + observed.runs("php -v"))
    if version is not None and version.line != expected_line:
        found.append(f"`php -v` reports PHP {version}, expected the {expected_line} line")
    if not fpm_test_passed(observed.fpm_returncode, observed.fpm_output):
        tail = " | ".join(observed.fpm_output.strip().splitlines()[-3:]) or "no output"
        tail += observed.runs("php-fpm -t")
        if observed.fpm_returncode == 0:
            quiet = "" if "NOTICE" in observed.fpm_output else f" ({FPM_QUIET})"
            found.append(
                "`php-fpm -t` exited 0 but did not say its configuration test is successful: "
                + tail
                + quiet
            )
        else:
            found.append(f"`php-fpm -t` failed (exit status {observed.fpm_returncode}): {tail}")
    for line in startup_errors(
        observed.php_v, observed.php_m, observed.php_m_stderr, observed.fpm_output
    ):
        found.append(f"PHP reports an error as it starts: {line}")
    if observed.expected_machine:
        found += machine_defects(observed.machine, observed.expected_machine, observed.platform)
    if observed.stopped:
        found.append(observed.stopped)
    expected = list(extensions)
    missing = missing_extensions(expected, parse_modules(observed.php_m))
    if missing:
        found.append(f"`php -m` does not list {', '.join(missing)}" + observed.runs("php -m"))
    if observed.started and not (version is not None and version.suffix == NOT_PHP_SUFFIX):
        if observed.probe is None:
            found.append(
                "php-fpm did not answer a FastCGI request "
                f"({observed.probe_error.strip() or 'no answer'})"
            )
        else:
            status, body = observed.probe
            found += probe_defects(status, body, [e for e in expected if e not in missing])
        if loopback_only(observed.proc_net, observed.port):
            found.append(
                f"php-fpm listens on port {observed.port} of the loopback address only: "
                "the stack's web server, in another container, cannot reach it "
                f"(FPM's pool needs `listen = {observed.port}`)"
            )
    return version, found


@dataclass(frozen=True)
class Passed:
    """A smoke test that passed: the exact PHP version (for the release notes) and what it
    checked, in one line (``passed_words``)."""

    version: str
    checked: str


def passed_words(
    observed: Observed, version: PhpVersion, extensions: Iterable[str], stays_up: float
) -> str:
    """What the smoke test of an image ``defects`` found nothing wrong with checked, in one
    line: ``PHP 8.4.27 starts, php-fpm -t passes, php -m lists its 10 extensions, the
    FastCGI probe of 9 passes on port 9000, no startup warning, runs as aarch64, up 5 s``
    (the extensions the probe runs, the command line's own left out; the machine once the
    image said it; the seconds the server had to stay up, ``stays_up``)."""
    expected = list(extensions)
    said = [f"PHP {version} starts", "php-fpm -t passes"]
    if expected:
        said.append(f"php -m lists its {counted(len(expected), 'extension')}")
    if version.suffix == NOT_PHP_SUFFIX:
        said.append("no FastCGI probe (a stand-in without PHP)")
    else:
        probed = [e for e in expected if e.lower() not in CLI_ONLY]
        of = f" of {len(probed)}" if probed else ""
        said.append(f"the FastCGI probe{of} passes on port {observed.port}")
    said.append("no startup warning")
    if (
        observed.expected_machine
        and observed.expected_machine in machines_said(observed.machine).values()
    ):
        said.append(f"runs as {observed.expected_machine}")
    said.append(f"up {seconds(stays_up)}")
    return ", ".join(said)


# ----------------------------------------------------------------- startup errors and machine

#: What PHP (the CLI, php-fpm) says about a startup error or warning: an extension that
#: cannot be loaded, a bad ini setting (``PHP Warning:  PHP Startup: Unable to load
#: dynamic library 'x.so' ...``, on stderr, and ``Warning: PHP Startup: ...`` on stdout).
STARTUP_MARK = "PHP Startup:"
#: At most this many distinct startup errors are quoted, each in at most this many
#: characters (one cut ends with "…").
STARTUP_SHOWN = 3
STARTUP_WIDTH = 300


def startup_errors(*outputs: str) -> list[str]:
    """The distinct lines of ``outputs`` reporting a PHP startup error or warning (the same
    error, said on stdout and stderr, by ``php -v`` and ``php -m``, is quoted once)."""
    seen: set[str] = set()
    lines: list[str] = []
    for output in outputs:
        for raw in output.splitlines():
            at = raw.find(STARTUP_MARK)
            if at < 0:
                continue
            said = raw[at:].strip()
            if said not in seen:
                seen.add(said)
                line = raw.strip()
                cut = len(line) > STARTUP_WIDTH
                lines.append(line[: STARTUP_WIDTH - 1] + "…" if cut else line)
    return lines[:STARTUP_SHOWN]


#: Inside the image: the machine its shell's ``uname`` and its ``php`` run as, one line
#: each (``uname -m: aarch64``, ``php: aarch64``; the stand-ins' php says nothing).
MACHINE_CHECK = [
    "/bin/sh",
    "-c",
    'echo "uname -m: $(uname -m)"; '
    'php -r \'echo "php: ", php_uname("m"), PHP_EOL;\' 2>/dev/null; true',
]


# ----------------------------------------------------------------- the checks, in one run

#: The checks a smoke test runs in the image, in this order: what each printed, its
#: stderr apart, and its exit status are read back (``checks_script``, ``read_checks``).
PHP_V = ("php", "-v")
PHP_M = ("php", "-m")
FPM_T = ("php-fpm", "-t")
MACHINE = tuple(MACHINE_CHECK)
IMAGE_CHECKS: tuple[tuple[str, ...], ...] = (PHP_V, PHP_M, FPM_T, MACHINE)
#: How a check is called in what publisher says (the command, but for the machine's).
_CHECK_NAMES = {MACHINE: "uname -m and php_uname('m')"}


def check_name(argv: Iterable[str]) -> str:
    """``argv``'s name in what publisher says: ``php -v``, ``php-fpm -t``, ..."""
    words = tuple(argv)
    return _CHECK_NAMES.get(words, shlex.join(words))


#: The start of the lines that frame each check's output in ``checks_script``'s output.
CHECK_MARK = "publisher-smoke-check"


@dataclass(frozen=True)
class CheckOutput:
    """What one check printed (stdout, stderr) and its exit status."""

    stdout: str
    stderr: str
    returncode: int


def _framing(mark: str, index: int, part: str) -> str:
    return f"{CHECK_MARK} {mark} {index} {part}"


def checks_script(checks: Iterable[Iterable[str]], mark: str) -> str:
    """A POSIX sh script that runs ``checks`` one after the other, each framed by lines
    naming ``mark`` (a word the image cannot guess) and its index: its stdout as it came,
    then its stderr (kept apart: ``php -m`` lists modules on one, startup errors on the
    other), then its exit status. One process in the image instead of one per check."""
    checks = [tuple(argv) for argv in checks]
    # a script's first line is what an echoed command shows of it: the checks it runs
    lines = ["# the checks: " + "; ".join(check_name(argv) for argv in checks), "exec 3>&1"]
    for index, argv in enumerate(checks):
        command = shlex.join(argv)
        lines += [
            f"echo '{_framing(mark, index, 'out')}'",
            f"e=$( {{ {command}; }} 2>&1 1>&3 3>&- ); s=$?",
            f"echo; echo '{_framing(mark, index, 'err')}'; printf '%s\\n' \"$e\"",
            f'echo "{_framing(mark, index, "end")} $s"',
        ]
    lines.append("exit 0")
    return "\n".join(lines)


def read_checks(output: str, mark: str, count: int) -> list[CheckOutput | None]:
    """Each of ``count`` checks as ``checks_script`` framed it in ``output``; None for one
    whose framing is not all there (the run passed on none, or not all, of its output)."""
    found: list[CheckOutput | None] = []
    for index in range(count):
        begin = output.find(_framing(mark, index, "out") + "\n")
        err = output.find("\n" + _framing(mark, index, "err") + "\n", max(begin, 0))
        end = output.find("\n" + _framing(mark, index, "end") + " ", max(err, 0))
        status = re.match(r"[0-9]{1,3}\n", output[end + len(_framing(mark, index, "end")) + 2 :])
        if begin < 0 or err < 0 or end < 0 or status is None:
            found.append(None)
            continue
        stdout = output[begin + len(_framing(mark, index, "out")) + 1 : err]
        stderr = output[err + len(_framing(mark, index, "err")) + 2 : end]
        found.append(CheckOutput(stdout, stderr, int(status.group(0))))
    return found


def machines_said(output: str) -> dict[str, str]:
    """The machine each of ``uname -m`` and ``php`` said it runs as (``MACHINE_CHECK``'s
    ``output``), by who said it; one that said nothing is left out."""
    said: dict[str, str] = {}
    for line in output.splitlines():
        who, sep, machine = line.partition(": ")
        if sep and who in ("uname -m", "php") and machine.strip():
            said[who] = machine.strip()
    return said


def machine_defects(output: str, expected: str, platform: str) -> list[str]:
    """A ``platform`` image whose programs run as another machine than ``expected``
    (``MACHINE_CHECK``'s ``output``): binaries of another platform, run natively. An image
    that says nothing (no ``uname``, no php) fails its other checks."""
    said = machines_said(output)
    wrong = {who: machine for who, machine in said.items() if machine != expected}
    if not wrong:
        return []
    machines = ", ".join(sorted(set(wrong.values())))
    how = ", ".join(f"{who} says {machine}" for who, machine in wrong.items())
    return [
        f"the {platform} image runs {machines} programs ({how}; {expected} expected): "
        "its binaries are another platform's"
    ]


# ----------------------------------------------------------------- where FPM listens

#: The state of a listening socket in ``/proc/net/tcp`` and ``/proc/net/tcp6``.
_TCP_LISTEN = "0A"


def listening_addresses(proc_net: str, port: int) -> frozenset[str]:
    """The local addresses listening on ``port`` in ``/proc/net/tcp{,6}`` text, as the
    kernel writes them (hex: ``0100007F`` is 127.0.0.1, ``00000000`` every IPv4 address)."""
    found: set[str] = set()
    for line in proc_net.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != _TCP_LISTEN:
            continue
        address, _, hex_port = fields[1].rpartition(":")
        try:
            if int(hex_port, 16) == port:
                found.add(address.upper())
        except ValueError:
            continue
    return frozenset(found)


def _is_loopback(address: str) -> bool:
    """127.0.0.0/8 (also IPv4-mapped) or ::1, in the kernel's hex."""
    if len(address) == 8:
        return address.endswith("7F")  # the first byte, written last
    if len(address) == 32:
        mapped = address.startswith("0000000000000000FFFF0000")
        return (mapped and address.endswith("7F")) or address == "0" * 24 + "01000000"
    return False


def loopback_only(proc_net: str, port: int) -> bool:
    """Something listens on ``port`` and only on loopback addresses."""
    addresses = listening_addresses(proc_net, port)
    return bool(addresses) and all(_is_loopback(a) for a in addresses)


# ----------------------------------------------------------------- the FastCGI probe

#: Where the probe script is written inside the image, and the request that runs it.
PROBE_PATH = "/tmp/publisher-smoke-probe.php"
PROBE_MARK = "publisher-smoke-probe"

#: Extensions that only make sense on the command line: checked by ``php -m`` alone
#: (Debian, for one, builds pcntl into the CLI only, as PHP's manual advises).
CLI_ONLY = frozenset({"pcntl", "readline"})

#: What the probe does with each extension it knows: PHP code that ends in ``return
#: true`` on success, else returns (or throws) what went wrong. An extension it does
#: not know must simply be loaded.
CHECKS: dict[str, str] = {
    "gd": (
        "$im = imagecreatetruecolor(4, 4); imagefilledrectangle($im, 0, 0, 3, 3,"
        " imagecolorallocate($im, 200, 30, 30)); ob_start(); imagepng($im);"
        ' $png = ob_get_clean(); return substr($png, 0, 8) === "\\x89PNG\\r\\n\\x1a\\n"'
        " ?: 'imagepng wrote no PNG';"
    ),
    "intl": (
        "$n = (new NumberFormatter('de_DE', NumberFormatter::DECIMAL))->format(1234567.891);"
        " if ($n !== '1.234.567,891') return \"NumberFormatter de_DE gave $n\";"
        " $f = new IntlDateFormatter('fr_FR', IntlDateFormatter::NONE, IntlDateFormatter::NONE,"
        " 'UTC', null, 'd MMMM y'); $d = $f->format(1705276800);"
        " return $d === '15 janvier 2024' ?: \"IntlDateFormatter fr_FR gave $d\";"
    ),
    "pdo_mysql": (
        "return in_array('mysql', PDO::getAvailableDrivers(), true) ?: 'PDO lists no mysql driver';"
    ),
    "mysqli": "return (new ReflectionClass('mysqli'))->isInstantiable() ?: 'mysqli';",
    "redis": "return (new Redis()) instanceof Redis ?: 'new Redis() failed';",
    "zip": (
        "$p = tempnam(sys_get_temp_dir(), 'zip'); $z = new ZipArchive();"
        " if ($z->open($p, ZipArchive::OVERWRITE) !== true) return 'cannot create a zip';"
        " $z->addFromString('a.txt', 'publisher'); $z->close(); $z = new ZipArchive();"
        " $z->open($p); $ok = $z->getFromName('a.txt') === 'publisher'; $z->close(); unlink($p);"
        " return $ok ?: 'the zip did not read back';"
    ),
    "bcmath": (
        "$r = bcmul('123456789123456789', '987654321987654321');"
        " return $r === '121932631356500531347203169112635269' ?: \"bcmul gave $r\";"
    ),
    "exif": (
        "$p = tempnam(sys_get_temp_dir(), 'jpg'); file_put_contents($p, base64_decode("
        "'{jpeg}')); $e = @exif_read_data($p); unlink($p);"
        " return ($e['Make'] ?? null) === 'publisher' ?: 'exif_read_data found no Make tag';"
    ),
    "opcache": (
        "$s = opcache_get_status(false);"
        " return (is_array($s) && $s['opcache_enabled']) ?: 'OPcache is not enabled';"
    ),
}


def tiny_jpeg() -> bytes:
    """A minimal JPEG: an EXIF block saying ``Make: publisher``, then an empty scan."""
    import struct

    make = b"publisher\x00"
    # TIFF header (little endian), IFD0 with one ASCII entry whose value follows the IFD
    ifd_offset = 8
    value_offset = ifd_offset + 2 + 12 + 4
    tiff = (
        b"II*\x00"
        + struct.pack("<I", ifd_offset)
        + struct.pack("<H", 1)
        + struct.pack("<HHII", 0x010F, 2, len(make), value_offset)
        + struct.pack("<I", 0)
        + make
    )
    app1 = b"Exif\x00\x00" + tiff
    # a start of scan (one component, no data to speak of) so readers see an image
    sos = b"\xff\xda" + struct.pack(">H", 8) + bytes([1, 1, 0, 0, 63, 0]) + b"\x00"
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + sos + b"\xff\xd9"


def probe_script(extensions: Iterable[str]) -> str:
    """The PHP script the smoke test runs through FastCGI: one JSON object back.

    ``{"mark": ..., "sapi": ..., "version": ..., "checks": {ext: true | "what failed"}}``
    """
    import base64

    jpeg = base64.b64encode(tiny_jpeg()).decode()
    lines = [
        "<?php",
        "header('Content-Type: application/json');",
        "$checks = [];",
    ]
    for ext in extensions:
        name = ext.lower()
        if name in CLI_ONLY:
            continue
        module = "zend opcache" if name == "opcache" else name
        body = CHECKS.get(name, "return true;").replace("{jpeg}", jpeg)
        lines.append(
            f"$checks[{name!r}] = (function () {{ if (!extension_loaded({module!r})) "
            f"return 'not loaded'; try {{ {body} }} catch (Throwable $e) "
            "{ return get_class($e) . ': ' . $e->getMessage(); } })();"
        )
    lines.append(
        f"echo json_encode(['mark' => {PROBE_MARK!r}, 'sapi' => PHP_SAPI,"
        " 'version' => PHP_VERSION, 'checks' => $checks]);"
    )
    return "\n".join(lines) + "\n"


def probe_params(port: int = 9000) -> dict[str, str]:
    """The CGI parameters of the probe request, as a web server in front of FPM sends them."""
    return {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "GET",
        "SCRIPT_FILENAME": PROBE_PATH,
        "SCRIPT_NAME": "/publisher-smoke-probe.php",
        "REQUEST_URI": "/publisher-smoke-probe.php",
        "QUERY_STRING": "",
        "SERVER_SOFTWARE": "publisher-smoke",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": "0",
    }


def probe_defects(status: int, body: str, extensions: Iterable[str]) -> list[str]:
    """What the FastCGI answer says is wrong (nothing when FPM ran the probe and all passed)."""
    import json

    shown = body.strip().replace("\n", " ")[:200] or "an empty body"
    if status != 200:
        return [f"php-fpm answered the FastCGI request with status {status} ({shown})"]
    try:
        data = json.loads(body)
    except ValueError:
        return [f"php-fpm did not run the probe script through FastCGI (it answered {shown})"]
    if not isinstance(data, dict) or data.get("mark") != PROBE_MARK:
        return [f"php-fpm did not run the probe script through FastCGI (it answered {shown})"]
    found: list[str] = []
    if data.get("sapi") != "fpm-fcgi":
        found.append(f"the FastCGI request ran under {data.get('sapi')!r}, not php-fpm")
    raw = data.get("checks")
    checks: dict[str, object] = raw if isinstance(raw, dict) else {}
    for ext in extensions:
        name = ext.lower()
        if name in CLI_ONLY:
            continue
        result = checks.get(name, "no result")
        if result is not True:
            found.append(f"{name} fails its check under php-fpm: {result}")
    return found
