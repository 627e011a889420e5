"""``WWW-Authenticate`` challenges (RFC 9110 section 11), parsed strictly. Pure, stdlib only.

A header holds one or more challenges: a scheme, then either a token68 or a
comma-separated list of ``name=value`` parameters, where a value is a token or a
quoted string (``"a \\" quote"``). Anything else is a malformed header: the
parser raises ``ValueError`` rather than guessing, and the transport turns that
into a classified error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# tchar: any visible ASCII character except the delimiters "(),/:;<=>?@[\]{}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
# qdtext is HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E and obs-text; a quoted-pair escapes
# HTAB, SP, VCHAR or obs-text.
_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_OWS = re.compile(r"[ \t]*")
_SP = re.compile(r"[ \t]+")
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class Challenge:
    """One challenge: its scheme (lowercase) and its parameters (names lowercase)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found

    def skip_list_separators(self) -> None:
        """OWS and empty list elements (``a, , b`` is allowed by the list rule)."""
        while True:
            self.match(_OWS)
            if self.peek() != ",":
                return
            self.pos += 1

    def fail(self, what: str) -> ValueError:
        shown = self.text[self.pos : self.pos + 20]
        return ValueError(f"{what} at character {self.pos + 1} ({shown!r})")


def _param_ahead(reader: _Reader) -> bool:
    """Whether the text at the reader's position is ``name BWS "="`` (a parameter, not a scheme)."""
    found = _TOKEN.match(reader.text, reader.pos)
    if not found:
        return False
    after = _OWS.match(reader.text, found.end())
    end = after.end() if after else found.end()
    return reader.text[end : end + 1] == "="


def parse_challenges(header: str) -> tuple[Challenge, ...]:
    """Every challenge of a ``WWW-Authenticate`` value, in order. ``ValueError`` when malformed."""
    reader = _Reader(header)
    challenges: list[Challenge] = []
    reader.skip_list_separators()
    while not reader.at_end():
        scheme = reader.match(_TOKEN)
        if not scheme:
            raise reader.fail("expected an authentication scheme")
        params: dict[str, str] = {}
        token68: str | None = None
        separated = reader.match(_SP) is not None
        if separated and reader.peek() == ",":
            # Empty list elements may come before the first parameter ("Bearer , realm=x").
            start = reader.pos
            reader.skip_list_separators()
            if not _param_ahead(reader):
                reader.pos = start
        if separated and not reader.at_end() and reader.peek() != ",":
            if not _param_ahead(reader) or _is_token68_here(reader):
                found = reader.match(_TOKEN68)
                if not found:
                    raise reader.fail("expected parameters or a token68")
                token68 = found.group(0)
                reader.match(_OWS)
            else:
                _read_params(reader, params)
        if not reader.at_end() and reader.peek() != ",":
            raise reader.fail("expected a comma between challenges")
        challenges.append(Challenge(scheme.group(0).lower(), params, token68))
        reader.skip_list_separators()
    if not challenges:
        raise ValueError("the header is empty")
    return tuple(challenges)


def _is_token68_here(reader: _Reader) -> bool:
    """``abc==`` then the end or a comma: a token68 whose padding looks like ``name=``."""
    found = _TOKEN68.match(reader.text, reader.pos)
    if not found or not found.group(0).endswith("="):
        return False
    after = _OWS.match(reader.text, found.end())
    end = after.end() if after else found.end()
    return end == len(reader.text) or reader.text[end] == ","


def _read_params(reader: _Reader, params: dict[str, str]) -> None:
    """``name=value`` pairs up to the end or the start of the next challenge."""
    while True:
        name = reader.match(_TOKEN)
        if not name:
            raise reader.fail("expected a parameter name")
        reader.match(_OWS)
        if reader.peek() != "=":
            raise reader.fail("expected '=' after a parameter name")
        reader.pos += 1
        reader.match(_OWS)
        if reader.peek() == '"':
            quoted = reader.match(_QUOTED)
            if not quoted:
                raise reader.fail("unterminated or invalid quoted string")
            value = _UNESCAPE.sub(r"\1", quoted.group(1))
        else:
            token = reader.match(_TOKEN)
            if not token:
                raise reader.fail("expected a parameter value")
            value = token.group(0)
        key = name.group(0).lower()
        if key in params:
            raise ValueError(f"the parameter {key!r} appears twice")
        params[key] = value
        reader.match(_OWS)
        if reader.at_end():
            return
        if reader.peek() != ",":
            raise reader.fail("expected a comma between parameters")
        start = reader.pos
        reader.skip_list_separators()
        if reader.at_end():
            return
        if not _param_ahead(reader):
            reader.pos = start  # the next challenge begins here
            return


def first_challenge(header: str) -> Challenge:
    """The first challenge of a ``WWW-Authenticate`` value (the one a client answers)."""
    return parse_challenges(header)[0]
