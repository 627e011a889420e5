"""Release tags: v + SemVer 2.0, ordered by precedence."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.core.errors import InvalidVersionError
from publisher.core.plan import ParsedTag, is_floating_tag, parse_scheme_tag, pin_tag
from publisher.core.version import Release, parse_release
from publisher.resolve import is_release, split_pin_tag


@pytest.mark.parametrize(
    "ordered",
    [
        [
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1.0.0",
        ],
        ["v2.1.0-rc.9", "v2.1.0-rc.10", "v2.1.0"],
        ["v1.9.0", "v1.10.0", "v1.10.1", "v2.0.0"],
        ["v0.0.1", "v0.1.0", "v1.0.0"],
        ["v1.0.0-1", "v1.0.0-2", "v1.0.0-10", "v1.0.0-a"],
    ],
)
def test_semver_precedence(ordered):
    releases = [parse_release(t) for t in ordered]
    assert sorted(reversed(releases)) == releases
    for a, b in itertools.pairwise(releases):
        assert a < b and b > a and a != b


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.0.0", "must start with 'v' (did you mean 'v1.0.0'?)"),
        ("release-1", "must start with 'v'"),
        ("v1.0", "exactly three numbers"),
        ("v1.0.0.0", "exactly three numbers"),
        ("v01.0.0", "'01' has a leading zero"),
        ("v1.x.0", "'x' is not a number"),
        ("v1.0.0-rc.01", "leading zero"),
        ("v1.0.0+build.5", "build metadata"),
        ("v1.0.0-", "the prerelease after '-' is empty"),
        ("v1.0.0-rc..1", "the prerelease 'rc..1' has an empty identifier between two dots"),
        ("v1.0.0-.rc", "the prerelease '.rc' starts with a dot (an empty identifier)"),
        ("v1.0.0-rc.", "the prerelease 'rc.' ends with a dot (an empty identifier)"),
        ("v1.0.0-rc_1", "the prerelease 'rc_1' holds '_'; it may only hold ASCII letters"),
        ("v2.0.0-ü", "the prerelease 'ü' holds 'ü'; it may only hold ASCII letters, digits"),
        ("v1..0", "'1..0' is missing a number"),
        ("v", "three numbers MAJOR.MINOR.PATCH, found none"),
        ("", "empty"),
        ("V1.0.0", "must start with a lowercase 'v' (did you mean 'v1.0.0'?)"),
        ("1.0", "must start with 'v'; also, it needs exactly three numbers"),
        # blanks typed or pasted with it (a workflow_dispatch input, a copied tag)
        ("v1.0.0 ", "it has blanks or line breaks around it (did you mean 'v1.0.0'?)"),
        ("v1.0.0\n", "it has blanks or line breaks around it (did you mean 'v1.0.0'?)"),
        (" 1.0 ", "it has blanks or line breaks around it (did you mean 'v1.0.0'?)"),
        (" vx ", "around it; also, it needs exactly three numbers MAJOR.MINOR.PATCH, found 1"),
        (" \t", "it holds only blanks"),
    ],
)
def test_bad_release_tags_are_refused_clearly(text, message):
    with pytest.raises(InvalidVersionError) as info:
        parse_release(text)
    assert message in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("1.0.0", "v1.0.0"),
        ("V1.0.0", "v1.0.0"),
        ("1.0", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1", "v1.0.0"),
        ("1.0-rc.1", "v1.0.0-rc.1"),
        ("V2.1.0-rc.1", "v2.1.0-rc.1"),
    ],
)
def test_a_near_miss_suggests_the_valid_tag_it_means(text, suggestion):
    with pytest.raises(InvalidVersionError) as info:
        parse_release(text)
    assert info.value.message.endswith(f"(did you mean {suggestion!r}?)")


BAD_TAGS = [
    "1.0",
    "1",
    "1.0.0",
    "V1.0.0",
    "V1.0",
    "v1.0",
    "v1",
    "v",
    "V",
    "1.0.0-",
    "1.0-",
    "1.0.0-rc..1",
    "1.0.0-rc.01",
    "1.0.0+b",
    "1.0-rc.01",
    "1.0+b",
    "1.0.0.0",
    "01.0.0",
    "1.x.0",
    "V1.0.0-",
    "v1.0.0-",
    "v1.0.0-rc..1",
    "v1.0-rc..1",
    "1." + "9" * 80,
    "release-1",
]


@pytest.mark.parametrize("text", BAD_TAGS)
def test_every_suggestion_is_a_valid_release_tag(text):
    with pytest.raises(InvalidVersionError) as info:
        parse_release(text)
    for suggestion in re.findall(r"did you mean '([^']*)'\?", info.value.message):
        assert parse_release(suggestion).tag == suggestion


@given(st.text("vV0123456789.-+rcx_", max_size=14))
def test_no_input_gets_an_invalid_suggestion(text):
    try:
        parse_release(text)
    except InvalidVersionError as exc:
        for suggestion in re.findall(r"did you mean '([^']*)'\?", exc.message):
            assert parse_release(suggestion).tag == suggestion


def test_stability_and_round_trip():
    assert parse_release("v2.0.0").is_stable
    assert not parse_release("v2.0.0-rc.1").is_stable
    assert str(parse_release("v2.0.0-rc.1")) == "v2.0.0-rc.1"


numbers = st.integers(0, 30)
idents = st.one_of(
    st.integers(0, 30).map(str),
    st.text("abcrz-", min_size=1, max_size=4).filter(lambda s: not s.isdigit()),
)
versions = st.builds(
    lambda a, b, c, pre: f"v{a}.{b}.{c}" + ("-" + ".".join(pre) if pre else ""),
    numbers,
    numbers,
    numbers,
    st.lists(idents, max_size=3),
)


@given(versions, versions, versions)
def test_precedence_is_a_total_order(a, b, c):
    x, y, z = parse_release(a), parse_release(b), parse_release(c)
    assert (x < y) + (y < x) + (x == y) == 1
    if x < y and y < z:
        assert x < z
    assert str(parse_release(str(x))) == a


# ------------------------------------------------- the grammar under Hypothesis (RELIABILITY 19)

#: SemVer 2.0's own regular expression (semver.org), ASCII only, after the ``v``;
#: build metadata matches it but cannot be in an image tag.
_SEMVER_ORG = re.compile(
    r"v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


_PIN = re.compile(r".+-php-(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})")


def _semver_oracle(text: str) -> bool:
    m = _SEMVER_ORG.fullmatch(text)
    if m is None or m[5] is not None:
        return False
    # Its pin tags fit an image tag (128 characters): the longest is ``-php-999.999`` more;
    # and it is no pin tag itself.
    return len(text) <= 116 and _PIN.fullmatch(text) is None


#: Pieces of tags, near misses and numbers longer than an image tag or than int() reads.
_PIECES = st.sampled_from(
    [*"v0123456789.-+aZ", "V", "rc", "00", "\n", "٣", "1" * 129, "9" * 4400, "-php-", "a" * 50]
)


_NUMBER = st.one_of(
    st.integers(0, 20).map(str),
    st.sampled_from(["00", "01", "1" * 128, "1" * 129, "9" * 4400]),
)
_IDENTIFIER = st.one_of(_NUMBER, st.text("abcXYZ-09", min_size=0, max_size=4))
#: Tags shaped like vMAJOR.MINOR.PATCH[-PRE][+BUILD], each part possibly wrong.
_SHAPED = st.builds(
    lambda prefix, numbers, pre, build: (
        prefix
        + ".".join(numbers)
        + ("-" + ".".join(pre) if pre is not None else "")
        + ("+" + ".".join(build) if build is not None else "")
    ),
    st.sampled_from(["v", "v", "V", ""]),
    st.lists(_NUMBER, min_size=2, max_size=4),
    st.none() | st.lists(_IDENTIFIER, min_size=1, max_size=3),
    st.none() | st.lists(_IDENTIFIER, min_size=1, max_size=2),
)


@settings(max_examples=1000)
@given(st.one_of(_SHAPED, st.lists(_PIECES, max_size=12).map("".join)))
def test_release_tags_are_accepted_exactly_when_the_grammar_says_so(text):
    # The launcher's check (resolve, standard library only) takes the same tags.
    assert is_release(text) == _semver_oracle(text), text
    try:
        release = parse_release(text)
    except InvalidVersionError as exc:
        assert not _semver_oracle(text), text
        assert exc.message and exc.exit_code == 2
        return
    assert _semver_oracle(text), text
    assert str(release) == text and parse_release(str(release)) == release
    # Ordering never fails either, whatever the size of the numbers.
    other = parse_release("v1.0.0-1")
    assert (release < other) + (other < release) + (release == other) == 1


def test_numbers_too_long_for_a_tag_are_refused_not_a_crash():
    with pytest.raises(InvalidVersionError, match="MAJOR has 4400 digits"):
        parse_release("v" + "9" * 4400 + ".0.0")
    with pytest.raises(InvalidVersionError, match="it has 4407 characters, more than 116"):
        parse_release("v1.0.0-" + "9" * 4400)
    huge = Release(1, 0, 0, ("9" * 4400,))  # ordered all the same (a record's, say)
    assert Release(1, 0, 0, ("9" * 4399,)) < huge < parse_release("v1.0.0-a")


@pytest.mark.parametrize(
    "text",
    [
        "v1.1.0" + "9" * 3000,  # a PATCH with a leading zero
        "v1.0.0-rc.0" + "9" * 3000,
        "v1.0.0-" + "0" * 3000,
        "v1.0.0+" + "9" * 3000,
        "v1.0." + "9" * 3000,
    ],
)
def test_an_error_about_a_very_long_tag_quotes_it_shortened(text):
    with pytest.raises(InvalidVersionError) as caught:
        parse_release(text)
    assert "..." in caught.value.message and len(caught.value.message) < 300, caught.value.message


@pytest.mark.parametrize(
    ("value", "said"), [(None, "null"), (2, "a whole number"), ([], "an array")]
)
def test_a_release_tag_that_is_not_a_string_is_named_in_json_words(value, said):
    with pytest.raises(InvalidVersionError) as caught:
        parse_release(value)
    assert caught.value.message == f"a release tag is a string such as v2.0.0, not {said}"
    assert caught.value.hint


# ------------------------------------------------- precedence against the SemVer 2.0 rules


def _spec_compare(a: str, b: str) -> int:
    """SemVer 2.0 section 11, step by step: -1, 0 or 1."""

    def split(text: str) -> tuple[list[int], list[str] | None]:
        core, _, pre = text[1:].partition("-")
        return [int(n) for n in core.split(".")], (pre.split(".") if pre else None)

    (ca, pa), (cb, pb) = split(a), split(b)
    if ca != cb:
        return -1 if ca < cb else 1
    if pa is None or pb is None:
        return (pa is None) - (pb is None)  # a release is above its prereleases
    for x, y in zip(pa, pb, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() or y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers are lower
        return -1 if x < y else 1  # ASCII order
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


_SPEC_IDENT = st.one_of(
    st.integers(0, 12).map(str),
    # past 64 bits, and three of them still short enough for a release tag (116 characters)
    st.sampled_from(["1" * 20, "9" * 19, "10" * 10]),
    st.text("aAzZ-09", min_size=1, max_size=3).filter(lambda s: not s.isdigit()),
)
_SPEC_VERSIONS = st.builds(
    lambda a, b, c, pre: f"v{a}.{b}.{c}" + ("-" + ".".join(pre) if pre else ""),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from([0, 1, 10, 10**40]),
    st.lists(_SPEC_IDENT, max_size=3),
)


@settings(max_examples=300)
@given(_SPEC_VERSIONS, _SPEC_VERSIONS)
def test_precedence_is_semver_precedence(a, b):
    x, y = parse_release(a), parse_release(b)
    want = _spec_compare(a, b)
    assert ((x > y) - (x < y)) == want, (a, b)
    assert (x == y) == (want == 0) == (a == b)


@settings(max_examples=300)
@given(_SPEC_VERSIONS, st.sampled_from(["8.4", "8.10", "10.0", "0.0", "999.999"]))
def test_a_pin_tag_names_its_release_and_line_back(release, php):
    pin = pin_tag(parse_release(release), php)
    assert split_pin_tag(pin) == (release, php)
    assert parse_scheme_tag(pin) == ParsedTag(parse_release(release), php)
    assert parse_scheme_tag(release) == ParsedTag(parse_release(release), None)
    assert is_release(release) and not is_floating_tag(pin) and not is_floating_tag(release)
