"""The files a GitHub Actions step writes to talk to the runner, read as the runner reads them.

``parse_outputs`` reads ``$GITHUB_OUTPUT`` and ``$GITHUB_ENV``: ``name=value`` lines
and ``name<<DELIMITER`` heredocs; blank lines are passed over, anything else (a
line with neither, a heredoc never closed) fails the test as it fails the job.
"""

from __future__ import annotations


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
