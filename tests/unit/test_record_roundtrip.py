"""The release record round-trips: what ``release_json`` writes, ``parse_record`` reads back
unchanged, and writing what was read gives the same bytes (generated records)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.core.notes import (
    FloatingFacts,
    LineFacts,
    PlatformFacts,
    RegistryFacts,
    ReleaseFacts,
    Republish,
    SizeHistory,
    parse_record,
    release_json,
)
from publisher.core.version import Release

hexdigits = st.text("0123456789abcdef", min_size=64, max_size=64)
digests = hexdigits.map(lambda h: "sha256:" + h)
texts = st.text(max_size=20)
lines = st.sampled_from(["7.4", "8.1", "8.3", "8.4", "8.10", "10.0"])
platforms = st.sampled_from(["linux/amd64", "linux/arm64"])
releases = st.builds(
    lambda a, b, c, pre: Release(a, b, c, pre).tag,
    st.integers(0, 10**6),
    st.integers(0, 99),
    st.integers(0, 99),
    st.lists(
        st.one_of(
            st.from_regex(r"[a-zA-Z-][0-9A-Za-z-]{0,5}", fullmatch=True),
            st.integers(0, 10**9).map(str),
        ),
        max_size=3,
    ).map(tuple),
)


@st.composite
def line_facts(draw, php):
    return LineFacts(
        php=php,
        php_version=draw(texts),
        index_digest=draw(digests),
        tags=tuple(draw(st.lists(texts, max_size=4))),
        base_image=draw(texts),
        base_digest=draw(st.one_of(st.none(), digests)),
        size_budget_bytes=draw(st.integers(0, 2**63)),
        platforms=tuple(
            PlatformFacts(p, draw(digests), draw(st.integers(0, 2**53)))
            for p in draw(st.lists(platforms, min_size=1, max_size=3, unique=True))
        ),
        extensions=draw(
            st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=8), max_size=4).map(tuple))
        ),
    )


@st.composite
def republishes(draw):
    """A history entry; what gave a line new images is said for some of its lines (none
    in an entry an earlier publisher wrote)."""
    changes = draw(
        st.lists(st.tuples(lines, digests, digests), max_size=2, unique_by=lambda c: c[0])
    )
    said = draw(st.lists(st.booleans(), min_size=len(changes), max_size=len(changes)))
    causes = tuple(
        (php, draw(texts)) for (php, _old, _new), s in zip(changes, said, strict=True) if s
    )
    return Republish(draw(texts), draw(texts), tuple(changes), causes)


@st.composite
def records(draw):
    release = draw(releases)
    names = draw(st.lists(lines, min_size=1, max_size=3, unique=True))
    return ReleaseFacts(
        release=release,
        stable="-" not in release,
        stand_in=draw(st.booleans()),
        default_line=draw(st.sampled_from(names)),
        published_at=draw(texts),
        registries=tuple(
            RegistryFacts(n, draw(texts), i == 0)
            for i, n in enumerate(draw(st.lists(texts, min_size=1, max_size=3, unique=True)))
        ),
        lines=tuple(draw(line_facts(php)) for php in names),
        floating=tuple(
            draw(st.lists(st.builds(FloatingFacts, texts, texts, texts, digests), max_size=3))
        ),
        history=tuple(draw(st.lists(republishes(), max_size=2))),
        plan_sha256=draw(st.one_of(st.just(""), hexdigits)),
        publish_plan_sha256=draw(st.one_of(st.just(""), hexdigits)),
    )


@settings(max_examples=100)
@given(records())
def test_a_record_reads_back_as_written(facts):
    text = release_json(facts, SizeHistory())
    read = parse_record(text, "v.json")
    # what the record does not keep: where the sources are, and the size threshold
    assert read == dataclasses.replace(facts, source_url=None, regression_percent=10.0)
    assert release_json(read, SizeHistory()) == text
