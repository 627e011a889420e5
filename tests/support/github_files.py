"""The files a GitHub Actions step writes to talk to the runner, read as the runner reads them.

``parse_outputs`` reads ``$GITHUB_OUTPUT`` and ``$GITHUB_ENV``: ``name=value`` lines
and ``name<<DELIMITER`` heredocs; blank lines are passed over, anything else (a
line with neither, a heredoc never closed) fails the test as it fails the job.

``workflow_commands`` reads a step's log (its stdout or stderr) as the runner does
(actions/runner ``ActionCommand.TryParseV2`` then ``TryParse``): each line (ended at
LF, CR or CRLF), blanks trimmed, that starts ``::NAME...::``, or that holds
``##[NAME...]`` anywhere, NAME one of the runner's commands, is one.
"""

from __future__ import annotations

import re

#: The runner's registered commands (its command extensions, and stop-commands).
COMMANDS = frozenset(
    [
        "set-env",
        "set-output",
        "save-state",
        "add-mask",
        "add-path",
        "add-matcher",
        "remove-matcher",
        "debug",
        "warning",
        "error",
        "notice",
        "group",
        "endgroup",
        "echo",
        "stop-commands",
    ]
)


def parse_outputs(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    # Lines end at LF alone, as the runner reads them (``str.splitlines`` would end
    # them at CR, VT, FF, U+2028... too, which the runner does not).
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"unterminated heredoc for {name}")
            result[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            result[name] = value
        else:
            raise AssertionError(f"neither name=value nor name<<DELIMITER: {line!r}")
    return result


def workflow_commands(log: str) -> list[tuple[str, str]]:
    """``(name, data)`` of each line of ``log`` the runner takes for a workflow command."""
    found = []
    for line in re.split(r"\r\n|\r|\n", log):
        trimmed = line.lstrip()  # .NET TrimStart: str.isspace() but U+001C..U+001F, alike here
        if trimmed.startswith("::") and "::" in trimmed[2:]:
            info, data = trimmed[2:].split("::", 1)
            if info.split(" ", 1)[0] in COMMANDS:
                found.append((info.split(" ", 1)[0], data))
                continue
        if "##[" in line and "]" in line[line.index("##[") :]:
            info, data = line[line.index("##[") + 3 :].split("]", 1)
            if info.split(" ", 1)[0] in COMMANDS:
                found.append((info.split(" ", 1)[0], data))
    return found
