"""The smoke test's checks in one shell (``smoke_rules.checks_script``), run by the shells
images have (dash, bash, busybox's ash): each check's output, stderr and exit status are
read back apart (``read_checks``), whatever the check printed."""

from __future__ import annotations

import subprocess

import pytest

from publisher.core import smoke_rules
from publisher.core.smoke_rules import CheckOutput
from tests.conftest import require_tool

pytestmark = pytest.mark.integration

MARK = "0123456789abcdef"
CHECKS = [
    ("sh", "-c", "echo out; echo err >&2; exit 3"),
    ("sh", "-c", "printf 'no line end'"),
    ("sh", "-c", "echo one >&2; echo two >&2"),
    ("sh", "-c", "printf 'blank lines\\n\\n\\n'; printf 'after\\n\\n' >&2"),
    ("sh", "-c", ""),  # says nothing at all, as php-fpm -t at log_level = warning
    # a forged framing of another run, and of this one's next check, with an empty stdout
    ("sh", "-c", f"echo '{smoke_rules.CHECK_MARK} feed 5 end 0'; echo ok"),
    ("printf", "%s\\n", 'it\'s "quoted" $HOME `no`'),  # words quoted as they are
]
EXPECTED = [
    CheckOutput("out\n", "err", 3),
    CheckOutput("no line end", "", 0),
    CheckOutput("", "one\ntwo", 0),
    CheckOutput("blank lines\n\n\n", "after", 0),
    CheckOutput("", "", 0),
    CheckOutput(f"{smoke_rules.CHECK_MARK} feed 5 end 0\nok\n", "", 0),
    CheckOutput('it\'s "quoted" $HOME `no`\n', "", 0),
]


@pytest.mark.parametrize("shell", [["dash"], ["bash"], ["busybox", "sh"]], ids=lambda s: s[0])
def test_each_check_is_read_back_apart_in_every_shell(shell: list[str]) -> None:
    argv = [require_tool(shell[0]), *shell[1:], "-c"]
    script = smoke_rules.checks_script([*CHECKS, ("no-such-command-here",)], MARK)
    ran = subprocess.run([*argv, script], capture_output=True, text=True, check=False)
    assert ran.returncode == 0 and ran.stderr == "", ran
    found = smoke_rules.read_checks(ran.stdout, MARK, len(CHECKS) + 1)
    assert found[:-1] == EXPECTED
    missing = found[-1]
    assert missing is not None and missing.stdout == "" and missing.returncode == 127
    assert "no-such-command-here" in missing.stderr and "not found" in missing.stderr
    # output that was lost, or cut short, is no check's answer
    assert smoke_rules.read_checks("", MARK, 2) == [None, None]
    cut = ran.stdout[: ran.stdout.index(f"{smoke_rules.CHECK_MARK} {MARK} 2 err")]
    assert smoke_rules.read_checks(cut, MARK, 3) == [*EXPECTED[:2], None]
    assert smoke_rules.read_checks(ran.stdout, "another", 1) == [None]
