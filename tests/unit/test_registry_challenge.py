"""The strict WWW-Authenticate parser (the registry core in publisher/resolve.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.resolve import Challenge, first_challenge, parse_challenges


def test_a_distribution_bearer_challenge() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/php:pull,push"'
    )
    (challenge,) = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scope == "repository:library/php:pull,push"  # a comma inside quotes


def test_basic_scheme_and_names_are_case_insensitive() -> None:
    challenge = first_challenge('BASIC Realm="Registry Realm"')
    assert challenge == Challenge("basic", {"realm": "Registry Realm"})


def test_quoted_pairs_are_unescaped() -> None:
    challenge = first_challenge(r'Bearer realm="a \"quoted\" \\ value",error=insufficient_scope')
    assert challenge.realm == 'a "quoted" \\ value'
    assert challenge.params["error"] == "insufficient_scope"


def test_spaces_around_equals_and_empty_list_elements() -> None:
    challenge = first_challenge('Bearer , realm = "x" ,, service=y ,')
    assert challenge.params == {"realm": "x", "service": "y"}


def test_several_challenges_in_one_header() -> None:
    found = parse_challenges('Basic realm="x", Bearer realm="https://t/token", Negotiate abc==')
    assert [c.scheme for c in found] == ["basic", "bearer", "negotiate"]
    assert found[1].realm == "https://t/token"
    assert found[2].token68 == "abc==" and found[2].params == {}


def test_a_scheme_alone() -> None:
    assert parse_challenges("Negotiate") == (Challenge("negotiate"),)


def test_the_character_class_oras_py_got_wrong_is_refused() -> None:
    # [a-zA-z] also matches [\]^_`; a bracket is no token character.
    with pytest.raises(ValueError):
        parse_challenges('Bearer re[alm="https://evil/token"')


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        'Bearer realm="unterminated',
        'Bearer realm="x" service="y"',  # no comma
        'Bearer realm="x",service=',  # no value
        'Bearer realm="x",realm="y"',  # twice
        'Bearer realm=",',
        '"Bearer" realm=x',
        "Bearer realm=a b",
        'Bearer realm="bad\x01char"',
    ],
)
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(ValueError):
        parse_challenges(header)


TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TCHARS, min_size=1, max_size=12)
printable = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=30
)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=300)
@given(
    scheme=tokens,
    params=st.dictionaries(tokens.map(str.lower), printable, min_size=1, max_size=5),
    quoted=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_round_trip(scheme: str, params: dict[str, str], quoted: list[bool]) -> None:
    parts = []
    for (name, value), as_quoted in zip(params.items(), quoted, strict=False):
        token_value = value and all(c in TCHARS for c in value)
        parts.append(f"{name}={value if token_value and not as_quoted else quote(value)}")
    (challenge,) = parse_challenges(f"{scheme} " + ", ".join(parts))
    assert challenge.scheme == scheme.lower()
    assert challenge.params == params


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        found = parse_challenges(text)
    except ValueError:
        return
    assert found and all(c.scheme for c in found)
