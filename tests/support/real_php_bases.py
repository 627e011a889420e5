"""The real-PHP STAND-IN bases (Debian's PHP packages, made with mmdebstrap), made in a
process of their own while the rest of the suite runs, and the matrix they are made for.

The suite releases examples/real-php as documented but for one thing (``write_matrix``):
PHP 8.2 (bookworm) builds linux/amd64 alone, PHP 8.4 (trixie) both platforms. Each arm64
base runs Debian's package scripts under QEMU, minutes on one core in every CI run from
nothing; one line on both platforms shows the release on real PHP under emulation, and
8.2's amd64 image is still built, smoke-tested and run as a developer runs it.

Made from nothing the three bases take minutes, which test_real_php spent first, with
nothing else running. A run that collects test_real_php starts this process as
collection ends (``tests/conftest.py``); it makes the bases into publisher's cache exactly
as the tests would (``standins.push_for_config`` on that matrix, pushed to a throwaway
registry), and test_real_php waits for it before its first test, then finds them cached.
Where the cache holds them already, the process only finds them there.

It starts only as root with mmdebstrap and the registry on PATH (else test_real_php skips,
or fails in CI, naming the tool, as before). Whatever becomes of it, test_real_php runs as
before: a process that failed has its output shown (the test then makes the bases itself
and fails as it would have), and one still running as the session ends is stopped with
SIGTERM (mmdebstrap unmounts what it mounted) and waited for.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from publisher.adapters.runner import stop_children

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/real-php"
#: The lines the suite builds for linux/amd64 alone (``write_matrix``).
AMD64_ONLY = ("8.2",)
#: How long test_real_php waits for the process (its own mmdebstrap calls allow 30 min each).
WAIT = 3600

_process: subprocess.Popen[bytes] | None = None
_log: Path | None = None


def write_matrix(directory: Path) -> Path:
    """examples/real-php/matrix.yaml as the suite releases it, in ``directory``: its
    Dockerfiles, template and stand-in sources (linked) the example's own, the lines of
    ``AMD64_ONLY`` narrowed to linux/amd64."""
    import yaml

    data = yaml.safe_load((EXAMPLE / "matrix.yaml").read_text(encoding="utf-8"))
    data["dockerfiles"] = str(EXAMPLE / data.get("dockerfiles", "dockerfiles"))
    data["template"] = str((EXAMPLE / data["template"]).resolve())
    data["lines"] = [
        {**line, "platforms": ["linux/amd64"]} if line["php"] in AMD64_ONLY else line
        for line in data["lines"]
    ]
    (directory / "standin").symlink_to(EXAMPLE / "standin", target_is_directory=True)
    path = directory / "matrix.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def start() -> None:
    """Start making the bases in the background, once, where they can be made here."""
    global _process, _log
    if _process is not None or os.geteuid() != 0:
        return
    if not shutil.which("mmdebstrap") or not shutil.which("docker-registry"):
        return
    handle, name = tempfile.mkstemp(prefix="real-php-bases-", suffix=".log")
    _log = Path(name)
    try:
        _process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.real_php_bases"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches pytest only; stop() ends it
        )
    finally:
        os.close(handle)


def wait() -> str:
    """Wait for the process started by ``start`` (none: nothing to wait for); return ""
    when it made the bases, else what it said."""
    global _process
    process = _process
    if process is None:
        return ""
    try:  # interrupted (Ctrl-C), it is still _process: stop() ends it
        code = process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        _end(process)
        return f"the real-PHP bases were not made within {WAIT} s in the background:\n{_said()}"
    finally:
        if process.poll() is not None:
            _process = None
    if code != 0:
        return f"making the real-PHP bases in the background failed (exit {code}):\n{_said()}"
    return ""


def stop() -> None:
    """End a process still running as the session ends (a run stopped early); remove its
    output."""
    global _process, _log
    process, _process = _process, None
    if process is not None and process.poll() is None:
        _end(process)
    if _log is not None:
        _log.unlink(missing_ok=True)
        _log = None


def _end(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to its process group (its own ``_terminated`` then stops mmdebstrap, which
    has a session of its own), then SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _said() -> str:
    if _log is None:
        return ""
    try:
        lines = _log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"(its output could not be read: {exc})"
    return "\n".join(lines[-40:])


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM: publisher's runner stops mmdebstrap (SIGTERM to its session, on which it
    unmounts what it mounted and removes its chroot; SIGKILL only after a minute), and the
    registry's context manager stops the registry."""
    stop_children(grace=60)
    raise SystemExit(128 + signum)


def main() -> int:
    from publisher.adapters.localregistry import LocalRegistry
    from publisher.core import config as config_module
    from publisher.stages import standins
    from tests.support.builds import quiet_runner

    signal.signal(signal.SIGTERM, _terminated)
    with tempfile.TemporaryDirectory(prefix="real-php-matrix-") as directory:
        config = config_module.load(write_matrix(Path(directory)), {})
        with LocalRegistry() as registry:
            made = standins.push_for_config(config, registry.host, runner=quiet_runner())
    for php, reference in sorted(made.items()):
        print(f"real-PHP STAND-IN base for PHP {php}: {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
