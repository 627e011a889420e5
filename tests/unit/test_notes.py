"""Release notes: JSON facts, Markdown, size changes and history."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re

import pytest

from publisher.core import lifecycle, notes
from publisher.core.errors import ConfigError
from publisher.core.notes import (
    FloatingFacts,
    LineFacts,
    PlatformFacts,
    RegistryFacts,
    ReleaseFacts,
    Republish,
    SizeHistory,
)
from tests.conftest import ROOT

D = {c: "sha256:" + c * 64 for c in "abcdef0123"}


def facts(
    release="v1.1.0", amd=100_000_000, arm=95_000_000, stable=True, history=()
) -> ReleaseFacts:
    return ReleaseFacts(
        release=release,
        stable=stable,
        stand_in=False,
        default_line="8.4",
        published_at="2026-11-22T10:00:00Z",
        registries=(
            RegistryFacts("hub", "docker.io/acme/php-fpm", True),
            RegistryFacts("ghcr", "ghcr.io/acme/php-fpm", False),
        ),
        lines=(
            LineFacts(
                php="8.4",
                php_version="8.4.12",
                index_digest=D["a"],
                tags=(f"{release}-php-8.4", release, "php-8.4", "latest"),
                base_image="docker.io/library/php:8.4-fpm-alpine",
                base_digest=D["b"],
                size_budget_bytes=700_000_000,
                platforms=(
                    PlatformFacts("linux/amd64", D["c"], amd),
                    PlatformFacts("linux/arm64", D["d"], arm),
                ),
            ),
        ),
        floating=(FloatingFacts("hub", "latest", release, D["a"]),),
        history=history,
        source_url="https://github.com/acme/php-fpm-images",
    )


HISTORY = SizeHistory(
    {
        "v1.0.0": {"8.4": {"linux/amd64": 90_000_000, "linux/arm64": 94_000_000}},
        "v1.0.1-rc.1": {"8.4": {"linux/amd64": 1, "linux/arm64": 1}},
        "v2.0.0": {"8.4": {"linux/amd64": 1, "linux/arm64": 1}},
    }
)


def test_size_change_compares_with_the_previous_stable_release():
    f = facts()
    amd, arm = f.lines[0].platforms
    change = notes.size_change(f, HISTORY, "8.4", amd)
    assert change is not None
    assert (change.previous_release, change.change_bytes) == ("v1.0.0", 10_000_000)
    assert change.change_percent == 11.11 and change.regression
    small = notes.size_change(f, HISTORY, "8.4", arm)
    assert small is not None and not small.regression and small.change_bytes == 1_000_000
    assert notes.size_change(facts("v0.9.0"), HISTORY, "8.4", amd) is None


def test_json_carries_every_fact():
    data = json.loads(notes.release_json(facts(), HISTORY))
    assert data["schema"] == 1 and data["release"] == "v1.1.0"
    line = data["lines"][0]
    assert line["index_digest"] == D["a"] and line["php_version"] == "8.4.12"
    assert line["base"] == {"image": "docker.io/library/php:8.4-fpm-alpine", "digest": D["b"]}
    assert line["references"] == {
        "hub": f"docker.io/acme/php-fpm@{D['a']}",
        "ghcr": f"ghcr.io/acme/php-fpm@{D['a']}",
    }
    amd = line["platforms"][0]
    assert amd["digest"] == D["c"] and amd["size_bytes"] == 100_000_000 and amd["within_budget"]
    assert amd["size_change"]["regression"] is True


def test_notes_without_the_default_line_do_not_name_its_tags_as_written():
    """A rehearsal of fewer lines (`release --local --only 8.3`) writes neither `vX.Y.Z` nor
    `latest`: its notes say so, never that the default line holds them."""
    one = dataclasses.replace(
        facts(),
        default_line="8.3",
        floating=(),
        lines=(dataclasses.replace(facts().lines[0], tags=("v1.1.0-php-8.4",)),),
    )
    text = notes.release_markdown(one, HISTORY, rehearsal=True)
    assert (
        "Default line: PHP 8.3, left out of this rehearsal (`v1.1.0` and `latest` follow it: "
        "neither was written). Rehearsed on throwaway registries" in text
    )
    assert "Default line: PHP 8.4 (`v1.1.0`, `latest`). Published" in (
        notes.release_markdown(facts(), HISTORY)
    )


def test_floating_tags_a_higher_release_took_meanwhile_are_said_under_the_first_sentence():
    text = notes.release_markdown(
        facts(), HISTORY, taken={"v1.2.0": ["php-8.4", "latest"], "v1.1.9": ["php-8.3"]}
    )
    head = text[: text.index("| PHP | version |")]
    assert (
        "\n\n`php-8.4` and `latest` stay on v1.2.0, published meanwhile; this release keeps "
        "its pins.\n\n`php-8.3` stays on v1.1.9, published meanwhile" in head
    ), head
    assert notes.taken_meanwhile({"v2.2.0": ["php-8.3", "php-8.4", "latest"]}) == [
        "php-8.3, php-8.4 and latest stay on v2.2.0, published meanwhile; this release "
        "keeps its pins"
    ]
    assert "meanwhile" not in notes.release_markdown(facts(), HISTORY, taken={})


def test_markdown_has_digests_sizes_pull_example_and_flags_regressions():
    text = notes.release_markdown(facts(), HISTORY)
    for needle in (
        "# v1.1.0",
        "PHP 8.4.12",
        D["a"],
        D["b"],
        D["c"],
        "100.0 MB",
        f"docker pull docker.io/acme/php-fpm@{D['a']}",
        "over the 10% threshold",
        "xychart-beta",
        "cosign verify",
    ):
        assert needle in text, needle
    assert "first release" in notes.release_markdown(facts("v0.1.0"), SizeHistory())


def test_the_size_history_of_a_release_stops_at_that_release():
    """Notes written again later (a republish of v1.1.0 after v2.0.0, a lost file) chart
    the releases up to theirs, as when first written, not the releases since."""
    text = notes.release_markdown(facts(), HISTORY)
    chart = text[text.index("## Size history") :]
    assert '"v1.0.0", "v1.1.0"' in chart and "| v1.0.0 |" in chart and "| v1.1.0 |" in chart
    assert "v2.0.0" not in chart and "rc.1" not in chart
    newest = notes.release_markdown(facts("v2.1.0"), HISTORY)
    assert '"v1.0.0", "v2.0.0", "v2.1.0"' in newest[newest.index("## Size history") :]


def charts(text: str) -> list[tuple[str, list[str], list[list[float]], str]]:
    """The notes' size charts: (title, x-axis releases, each line's values, the caption)."""
    found = []
    for block, caption in re.findall(r"```mermaid\n(.*?)```\n\n([^\n]*)", text, re.S):
        title = re.search(r'title "([^"]*)"', block)
        axis = re.search(r"x-axis \[([^]]*)\]", block)
        assert title is not None and axis is not None, block
        values = [
            [float(v) for v in found_line.split(", ")]
            for found_line in re.findall(r"line \[([^]]*)\]", block)
        ]
        found.append((title[1], re.findall(r'"([^"]*)"', axis[1]), values, caption))
    return found


def test_the_size_chart_draws_no_image_that_did_not_exist_as_zero_mb():
    """A line added after the first release in the chart (8.5), and a platform a line did
    not build then (8.4 arm64 in v1.0.0), have no size there: the chart leaves those
    releases out of their series (mermaid's xychart cannot leave out one point of a
    line: such a series gets a chart of its own over the releases it has) instead of
    drawing 0 MB; the table shows `–` there."""
    f = facts()
    newer = dataclasses.replace(f.lines[0], php="8.5", php_version="8.5.1")
    f = dataclasses.replace(f, lines=(*f.lines, newer))
    history = SizeHistory({"v1.0.0": {"8.4": {"linux/amd64": 90_000_000}}})
    text = notes.release_markdown(f, history)
    drawn = charts(text)
    assert all(v > 0 for _, _, series, _ in drawn for values in series for v in values), drawn
    for _title, axis, series, _caption in drawn:
        assert all(len(values) == len(axis) for values in series), drawn
    assert drawn == [
        (
            "Compressed size, linux/amd64, PHP 8.4 (MB)",
            ["v1.0.0", "v1.1.0"],
            [[90.0, 100.0]],
            "Lines, in series order: PHP 8.4.",
        ),
        (
            "Compressed size, linux/amd64, PHP 8.5 (MB)",
            ["v1.1.0"],
            [[100.0]],
            "Lines, in series order: PHP 8.5.",
        ),
        (
            "Compressed size, linux/arm64 (MB)",
            ["v1.1.0"],
            [[95.0], [95.0]],
            "Lines, in series order: PHP 8.4, PHP 8.5.",
        ),
    ]
    assert "| v1.0.0 | 90.0 MB | – | – | – |" in text, text
    # every line with a size in every release: one chart per platform, as before
    whole = charts(notes.release_markdown(facts(), HISTORY))
    assert [(title, axis) for title, axis, _, _ in whole] == [
        ("Compressed size, linux/amd64 (MB)", ["v1.0.0", "v1.1.0"]),
        ("Compressed size, linux/arm64 (MB)", ["v1.0.0", "v1.1.0"]),
    ]


def test_a_tiny_image_is_sized_in_kb_not_as_zero_mb():
    """A stand-in image of 45 kB read "0.0 MB"; the budget stays in MB."""
    text = notes.release_markdown(facts("v0.1.0", amd=45_000, arm=1_250_000), SizeHistory())
    assert "| 45.0 kB |" in text and "| 1.2 MB |" in text
    assert "| 0.0 MB" not in text
    assert "Size budget: 700.0 MB compressed per platform" in text


def test_size_history_round_trips_and_orders_by_semver():
    merged = HISTORY.with_release(facts("v1.10.0"))
    again = SizeHistory.from_json(merged.to_json())
    assert again == merged
    order = list(json.loads(merged.to_json())["releases"])
    assert order == ["v1.0.0", "v1.0.1-rc.1", "v1.10.0", "v2.0.0"]


def test_a_real_run_keeps_the_sizes_of_a_line_its_record_lacks_and_a_kept_one_fills_only():
    """v1.0.0's sizes hold PHP 8.3, which its record lost: a real run's history keeps
    them (the last trace of the line, which later releases compare against) while a
    rehearsal's replaces them; a rerun keeping the notes adds only what the history lacks,
    and changes nothing when it lacks nothing."""
    held = SizeHistory({"v1.0.0": {"8.3": {"linux/amd64": 7}, "8.4": {"linux/amd64": 5}}})
    f = facts("v1.0.0")
    assert set(held.with_release(f).sizes["v1.0.0"]) == {"8.4"}
    kept = held.with_release(f, keep_lines=True).sizes["v1.0.0"]
    assert kept["8.3"] == {"linux/amd64": 7} and kept["8.4"]["linux/amd64"] == 100_000_000
    filled = held.with_missing(f).sizes["v1.0.0"]
    assert filled == {
        "8.3": {"linux/amd64": 7},
        "8.4": {"linux/amd64": 5, "linux/arm64": 95_000_000},
    }
    full = SizeHistory({"v1.0.0": {"8.4": {"linux/amd64": 5, "linux/arm64": 6}}})
    assert full.with_missing(f) is full


def test_a_size_change_is_signed_one_way_and_a_change_rounding_to_nothing_has_no_sign():
    """The change column wrote "−0.0 MB (-0.0%)": two minus signs, and a sign on nothing."""
    text = notes.release_markdown(facts(amd=89_990_000, arm=93_700_000), HISTORY)
    rows = {row.split(" | ")[0]: row for row in text.splitlines() if row.startswith("| linux/")}
    assert rows["| linux/amd64"].endswith("| 0.0 MB (0.0%) vs v1.0.0 |"), rows
    assert rows["| linux/arm64"].endswith("| −0.3 MB (−0.3%) vs v1.0.0 |"), rows
    grown = notes.release_markdown(facts(amd=90_040_000, arm=95_000_000), HISTORY)
    assert "| 0.0 MB (0.0%) vs v1.0.0 |" in grown and "| +1.0 MB (+1.1%) vs v1.0.0 |" in grown
    assert "-" not in "".join(row.split(" | ")[3] for row in rows.values())


def test_republish_history_is_listed():
    entry = Republish("2026-12-01", "CVE-2026-1234 in libxml2", (("8.4", D["a"], D["e"]),))
    f = facts(history=(entry,))
    text = notes.release_markdown(f, HISTORY)
    assert "## Republish history" in text and "CVE-2026-1234" in text
    data = json.loads(notes.release_json(f, HISTORY))
    assert notes.history_from_json(data) == (entry,)


def test_what_gave_a_line_new_images_is_kept_in_the_record_and_shown_in_the_notes():
    """A history entry says, per line, what gave it new images: the record's change keeps
    it as ``cause`` (an entry written before has none, and reads back without), and the
    notes' table gets a column for it, only once an entry says it."""
    said = "same base and Dockerfile; the build differs: label a | b -> c"
    old = Republish("2026-11-01", "weekly", (("8.4", D["1"], D["a"]),))
    entry = Republish(
        "2026-12-01", "CVE-1", (("8.3", D["2"], D["3"]), ("8.4", D["a"], D["e"])), (("8.4", said),)
    )
    f = facts(history=(old, entry))
    data = json.loads(notes.release_json(f, HISTORY))
    assert [c.get("cause") for e in data["history"] for c in e["changes"]] == [None, None, said]
    assert notes.parse_record(notes.release_json(f, HISTORY), "v.json").history == (old, entry)
    text = notes.release_markdown(f, HISTORY)
    assert "| date | PHP | old digest | new digest | reason | what changed |" in text
    assert text.count(r"label a \| b -> c |") == 1, text
    before = notes.release_markdown(facts(history=(old,)), HISTORY)
    assert "what changed" not in before and "| weekly |\n" in before


def test_a_body_too_long_keeps_each_republish_whole_whatever_each_line_s_cause():
    """The rows of one republish say different causes: the cut still keeps or leaves out
    them all (they are told apart by date and reason, not by what changed)."""
    history = tuple(
        Republish(
            "2027-01-01",
            f"weekly rebuild {w}",
            (("8.3", D["e"], D["1"]), ("8.4", D["a"], D["2"])),
            (("8.3", f"base {D['a']} -> {D['e']}"), ("8.4", "same base | Dockerfile")),
        )
        for w in range(300)
    )
    text = notes.release_markdown(
        dataclasses.replace(_two_lines("v2.0.0"), history=history), HISTORY
    )
    size = notes.body_size(text)
    for limit in range(size - 30_000, size, 1999):
        body, left_out = notes.fit_body(text, limit, notes="n", record="r")
        kept = [row for row in body.splitlines() if "weekly rebuild" in row]
        assert len(kept) == 2 * (300 - left_out), (limit, left_out, len(kept))
        assert "| 8.3 |" in kept[0] and f"weekly rebuild {left_out} |" in kept[0]


def _shown(cell: str) -> str:
    """The text GitHub shows for a table cell's Markdown that holds no markup: the
    table's ``\\|`` read first (cmark-gfm's), then CommonMark's backslash escapes."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", cell.replace("\\|", "|"))


@pytest.mark.parametrize(
    ("reason", "written"),
    [
        # raw HTML, which GitHub dropped: shown as written
        ("rebuilt on <alpine> 3.21", r"rebuilt on \<alpine> 3.21"),
        # "\|" was written "\\|", which GitHub showed as a bare "|" (and MD056 flagged)
        (r"a\|b", r"a\\\|b"),
        ("a | b", r"a \| b"),
        (
            "*x* _y_ [l](u) `c` ~z~ $m$ &amp; &copy;",
            r"\*x\* \_y\_ \[l\](u) \`c\` \~z\~ \$m\$ \&amp; \&copy;",
        ),
        ("trailing \\", "trailing \\\\"),
        # a web address of characters that are no markup stays a link, as written
        (
            "CVE-2026-1234 (https://nvd.nist.gov/vuln/detail/CVE-2026-1234)",
            "CVE-2026-1234 (https://nvd.nist.gov/vuln/detail/CVE-2026-1234)",
        ),
        # and so does one holding "_&~%=?#()" (GitHub's autolink would take a
        # backslash in: it linked "https\://..." of none, showing it as text), the text
        # around it escaped, and the punctuation after it no part of the link, unescaped
        ("see https://x.y/a_b?c=1&d=2 *now*", r"see https://x.y/a_b?c=1&d=2 \*now\*"),
        ("www.x.y/*z*", "www.x.y/*z*"),
        (
            "<alpine>: https://security-tracker.debian.org/tracker/CVE-2026-1234, `x`",
            r"\<alpine>: https://security-tracker.debian.org/tracker/CVE-2026-1234, \`x\`",
        ),
        ("(https://x.org/~user/a_(b)) _y_", r"(https://x.org/~user/a_(b)) \_y\_"),
        (
            "see https://github.com/org/repo/issues/12. a|b",
            r"see https://github.com/org/repo/issues/12. a\|b",
        ),
        ("https://x.org/%20a=b?c#d~ x", "https://x.org/%20a=b?c#d~ x"),
        # one GitHub would not link as written: shown as text
        ("https://x.y/a_b<c>", r"https\://x.y/a\_b\<c>"),
        ("https://x.y/a|b_c", r"https\://x.y/a\|b\_c"),
        ("https://x.y/a&amp; https://x_y.org/a", r"https\://x.y/a\&amp; https\://x\_y.org/a"),
        ("https://x.y/a*,_*", r"https\://x.y/a\*,\_\*"),
    ],
)
def test_a_republish_reason_is_shown_as_written_never_read_as_markup(reason, written):
    """The reason (free text) is a table cell: GitHub shows it as written, and the
    record keeps it as given."""
    entry = Republish("2026-12-01", reason, (("8.4", D["a"], D["e"]),))
    f = facts(history=(entry,))
    text = notes.release_markdown(f, HISTORY)
    row = next(line for line in text.splitlines() if line.startswith("| 2026-12-01 |"))
    assert row.endswith(f"| {written} |"), row
    cell = row.removesuffix(" |").split(" | ", 4)[4]
    assert _shown(cell) == reason
    # no "|" ends the cell early: each one in it is escaped, for the table
    assert re.search(r"(?<!\\)\|", cell.replace("\\\\", "")) is None
    assert notes.history_from_json(json.loads(notes.release_json(f, HISTORY))) == (entry,)


def test_notes_publisher_writes_are_within_the_limit_gh_release_reads():
    """However long a record's history, the notes of a record within MAX_RECORD_BYTES
    are within MAX_NOTES_MARKDOWN_BYTES: every history row repeats its republish's
    reason, escaped, for each line it rebuilt. The worst reason (500 characters, the
    most --reason takes, each escaped) and many lines."""
    lines = tuple(
        dataclasses.replace(facts().lines[0], php=f"8.{n}", index_digest=D["a"]) for n in range(40)
    )
    worst = "<" * 500
    history = tuple(
        Republish(
            f"2027-01-{1 + w:02d}",
            worst,
            tuple((line.php, D["a"], D["e"]) for line in lines),
        )
        for w in range(20)
    )
    f = dataclasses.replace(facts(), lines=lines, history=history, default_line="8.0")
    record = len(notes.release_json(f, HISTORY).encode())
    markdown = notes.body_size(notes.release_markdown(f, HISTORY))
    ratio = notes.MAX_NOTES_MARKDOWN_BYTES / notes.MAX_RECORD_BYTES
    assert markdown > 2 * record  # what made notes over 1 MiB of a 0.5 MiB record
    assert markdown < ratio * record / 1.5, (markdown, record)


def identity_patterns(text: str) -> list[str]:
    """The ``--certificate-identity-regexp`` arguments of the notes' cosign commands."""
    return re.findall(r"--certificate-identity-regexp '([^']*)'", text)


@pytest.mark.parametrize("owner, repo", [("acme", "php-fpm-images"), ("acme-co", "php.fpm")])
def test_the_cosign_identity_pattern_accepts_only_this_repositorys_workflows(owner, repo):
    """cosign matches the pattern anywhere in the certificate's identity (Go's
    MatchString, as re.search here): the dots of github.com and of the repository's name
    matched any character, and nothing held its end, so other identities passed too."""
    f = ReleaseFacts(**{**facts().__dict__, "source_url": f"https://github.com/{owner}/{repo}"})
    patterns = identity_patterns(notes.release_markdown(f, HISTORY))
    assert len(patterns) == len(f.lines) and len(set(patterns)) == 1
    pattern = re.compile(patterns[0])
    base = f"https://github.com/{owner}/{repo}/.github/workflows"
    for real in (
        f"{base}/release.yml@refs/tags/v1.1.0",
        f"{base}/republish.yml@refs/heads/main",
        f"{base}/republish.yml@refs/tags/v1.1.0",  # started from a tag: workflow_dispatch may
    ):
        assert pattern.search(real), real
    dotted = repo.replace(".", "X")
    for other in (
        f"https://githubXcom/{owner}/{repo}/.github/workflows/release.yml@refs/tags/v1.1.0",
        f"https://github.com/{owner}/{dotted}/.github/workflows/release.yml@refs/tags/v1.1.0"
        if dotted != repo
        else f"https://github.com/{owner}/{repo}/.githubX/workflows/release.yml@refs/tags/v1",
        f"https://github.com/{owner}/{repo}-fork/.github/workflows/release.yml@refs/tags/v1.1.0",
        f"https://github.com/{owner}/{repo}/.github/workflows/release.yml@refs/tags/v1.1.0/x/y",
        f"https://github.com/{owner}/{repo}/.github/workflows/release.yml@refs/heads/main",
        f"https://github.com/{owner}/{repo}/.github/workflows/republish.yml@refs/tags/v1/x",
        f"https://evil.example/?https://github.com/{owner}/{repo}/.github/workflows/"
        "release.yml@refs/tags/v1.1.0",
        f"{base}/release.yml@refs/tags/v1.1.0 https://github.com/{owner}/{repo}-fork/",
    ):
        assert not pattern.search(other), other


def test_the_cosign_identity_pattern_takes_the_repository_in_githubs_own_case():
    """The certificate names the repository as GitHub spells it (``Acme/PHP-FPM-Images``,
    the OIDC token's job_workflow_ref); matrix.yaml's source_url is written by hand, and
    GitHub's addresses ignore case, so ``acme/php-fpm-images`` is the same repository and
    its notes' command must accept its signatures. Only the owner and repository do: the
    host, the workflow file and the ref stay exact (``(?i:...)``, which RE2 reads too)."""
    f = ReleaseFacts(**{**facts().__dict__, "source_url": "https://github.com/acme/php-fpm-images"})
    pattern = re.compile(identity_patterns(notes.release_markdown(f, HISTORY))[0])
    github = "https://github.com/Acme/PHP-FPM-Images/.github/workflows"
    for real in (
        f"{github}/release.yml@refs/tags/v1.1.0",
        f"{github}/republish.yml@refs/heads/main",
        "https://github.com/ACME/php-fpm-images/.github/workflows/release.yml@refs/tags/v1.1.0",
    ):
        assert pattern.search(real), real
    for other in (
        "https://GitHub.com/acme/php-fpm-images/.github/workflows/release.yml@refs/tags/v1.1.0",
        "https://github.com/acme/php-fpm-images/.GitHub/workflows/release.yml@refs/tags/v1.1.0",
        f"{github}/Release.yml@refs/tags/v1.1.0",
        f"{github}/release.yml@refs/TAGS/v1.1.0",
        f"{github}/republish.yml@refs/Heads/main",
        "https://github.com/Acme/PHP-FPM-Images-fork/.github/workflows/release.yml@refs/tags/v1",
    ):
        assert not pattern.search(other), other


@pytest.mark.parametrize(
    "source_url, shown",
    [
        ("https://github.com/acme/php-fpm-images.git", True),
        ("https://github.com/acme/php-fpm-images/", True),
        ("https://github.com/acme/php-fpm-images/tree/main", False),
        ("https://github.com/acme/php-fpm-images'x", False),
        ("https://gitlab.com/acme/php-fpm-images", False),
        (None, False),
    ],
)
def test_the_cosign_command_names_the_repository_or_is_left_out(source_url, shown):
    """A `.git` or `/` at the end of source_url is not part of the signer's identity, and
    an address that is not a GitHub repository's (or could leave the command's shell
    quotes) gets no command rather than one that verifies nothing."""
    f = ReleaseFacts(**{**facts().__dict__, "source_url": source_url})
    patterns = identity_patterns(notes.release_markdown(f, HISTORY))
    if not shown:
        assert patterns == []
        return
    real = "https://github.com/acme/php-fpm-images/.github/workflows/release.yml@refs/tags/v1.1.0"
    assert re.search(patterns[0], real)


def test_the_docs_show_the_notes_cosign_command():
    """docs/workflows.md shows the pattern the notes write, for OWNER/REPO."""
    docs = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    pattern = notes.signer_identity_pattern("https://github.com/OWNER/REPO")
    assert f"--certificate-identity-regexp '{pattern}'" in docs
    assert "--certificate-oidc-issuer https://token.actions.githubusercontent.com" in docs


def test_stand_in_notes_say_so():
    f = facts()
    stand_in = ReleaseFacts(**{**f.__dict__, "stand_in": True})
    text = notes.release_markdown(stand_in, HISTORY)
    assert "STAND-IN" in text and "cosign verify" not in text
    # true of the busybox stand-ins and of those holding Debian's real PHP alike
    assert (
        f"{notes.STAND_IN_BANNER} These images are built on stand-in base images, not the official php images.\n"
        "> Do not use them.\n"
    ) in text
    assert "real PHP" not in text and "offline" not in text
    assert f"Published {f.published_at}." in text
    rehearsed = notes.release_markdown(stand_in, HISTORY, rehearsal=True)
    assert f"Rehearsed on throwaway registries {f.published_at}." in rehearsed
    assert "Published" not in rehearsed
    assert json.loads(notes.release_json(stand_in, HISTORY))["stand_in"] is True


def test_notes_mark_a_line_past_its_end_of_life() -> None:
    from dataclasses import replace

    base = facts()
    old_line = replace(base.lines[0], php="8.1", php_version="8.1.34")
    text = notes.release_markdown(replace(base, lines=(old_line, base.lines[0])), HISTORY)
    section_81 = text.split("## PHP 8.1")[1].split("## PHP 8.4")[0]
    assert "- ⚠ PHP 8.1 reached end of life on 2025-12-31" in section_81
    assert "official image stopped updating it on 2026-01-01" in section_81
    assert "⚠ PHP 8.4" not in text  # a supported line carries no warning


def test_notes_say_each_line_s_support_on_the_day_of_publishing() -> None:
    from dataclasses import replace

    base = facts()  # published 2026-11-22
    line_82 = replace(base.lines[0], php="8.2", php_version="8.2.29")
    text = notes.release_markdown(replace(base, lines=(line_82, base.lines[0])), HISTORY)
    section_82 = text.split("## PHP 8.2")[1].split("## PHP 8.4")[0]
    assert "- ⚠ PHP 8.2 support: security fixes only, until 2026-12-31 (39 days after this " in (
        section_82
    )
    section_84 = text.split("## PHP 8.4")[1]
    assert (
        "- PHP 8.4 support: active until 2026-12-31, security fixes until 2028-12-31 — source:"
        in section_84
    )
    later = notes.release_markdown(replace(base, published_at="2027-02-01T00:00:00Z"), HISTORY)
    assert "- PHP 8.4 support: security fixes only, until 2028-12-31 — source:" in later
    assert notes.release_markdown(base, HISTORY) == notes.release_markdown(base, HISTORY)
    last_day = lifecycle.support("8.2", datetime.date(2026, 12, 30))
    assert last_day is not None and "(1 day after this release)" in last_day
    on_the_day = lifecycle.support("8.2", datetime.date(2026, 12, 31))
    assert on_the_day is not None and "(the day of this release)" in on_the_day


def test_notes_say_a_line_the_table_lacks_has_no_support_dates_here() -> None:
    """A line newer than publisher's table (8.6 before php.net lists it) had a section with
    no support line at all, where every other line has one: it says its dates are not in
    the table."""
    base = facts()
    line_86 = dataclasses.replace(base.lines[0], php="8.6", php_version="8.6.0")
    text = notes.release_markdown(
        dataclasses.replace(base, lines=(base.lines[0], line_86)), HISTORY
    )
    section_86 = text.split("## PHP 8.6")[1]
    assert (
        "- PHP 8.6 support: its dates are not in publisher's table of PHP lines "
        "(publisher/core/lifecycle.py), so they are not given here — source: "
        "https://www.php.net/supported-versions.php"
    ) in section_86, section_86
    assert "⚠" not in section_86


def test_a_republish_s_notes_say_each_line_s_support_on_the_day_of_the_republish() -> None:
    """Published on 2026-12-04, republished on 2027-01-05, after PHP 8.2's end: the notes
    the republish rewrites mark 8.2 past its end and give 8.4 the support it has that day,
    and say which day that is, no longer 8.2's "27 days after this release"."""
    base = facts()
    line_82 = dataclasses.replace(base.lines[0], php="8.2", php_version="8.2.30")
    published = dataclasses.replace(
        base, lines=(line_82, base.lines[0]), published_at="2026-12-04T10:00:00Z"
    )
    before = notes.release_markdown(published, HISTORY)
    assert "(27 days after this release)" in before and "Republished" not in before
    entry = Republish("2027-01-05", "weekly", (("8.2", D["a"], D["e"]),))
    text = notes.release_markdown(dataclasses.replace(published, history=(entry,)), HISTORY)
    assert "Published 2026-12-04T10:00:00Z. Republished 2027-01-05: each line's support " in text
    section_82 = text.split("## PHP 8.2")[1].split("## PHP 8.4")[0]
    assert "- ⚠ PHP 8.2 reached end of life on 2026-12-31 (no security fixes)" in section_82
    assert "days after this" not in text
    section_84 = text.split("## PHP 8.4")[1]
    assert "- PHP 8.4 support: security fixes only, until 2028-12-31 — source:" in section_84
    # republished before the end: the days left are counted from the republish
    early = Republish("2026-12-20", "weekly", (("8.2", D["a"], D["e"]),))
    text = notes.release_markdown(dataclasses.replace(published, history=(early,)), HISTORY)
    assert "until 2026-12-31 (11 days after this republish)" in text


def test_a_record_with_a_key_given_twice_is_refused() -> None:
    text = notes.release_json(facts(), SizeHistory({}))
    assert notes.parse_record(text, "v1.1.0.json").default_line == "8.4"
    twice = text.replace('"default_line": "8.4"', '"default_line": "8.4", "default_line": "8.3"')
    assert twice != text
    with pytest.raises(ConfigError) as caught:
        notes.parse_record(twice, "v1.1.0.json")
    assert caught.value.exit_code == 3
    assert "the key 'default_line' appears twice" in str(caught.value)
    assert "v1.1.0.json" in str(caught.value)


def test_the_record_keeps_the_extensions_and_reads_one_written_without_them() -> None:
    from dataclasses import replace

    kept = replace(
        facts(), lines=tuple(replace(line, extensions=("gd", "redis")) for line in facts().lines)
    )
    text = notes.release_json(kept, SizeHistory({}))
    assert [line.extensions for line in notes.parse_record(text, "v1.1.0.json").lines] == [
        ("gd", "redis") for _ in kept.lines
    ]
    older = notes.release_json(facts(), SizeHistory({}))  # extensions None: not written
    assert '"extensions"' not in older
    assert all(line.extensions is None for line in notes.parse_record(older, "v").lines)
    broken = text.replace('"extensions": [', '"extensions": [1, ', 1)
    with pytest.raises(ConfigError, match="expected a list of names"):
        notes.parse_record(broken, "v1.1.0.json")


def test_a_record_digest_that_is_not_hex_is_refused() -> None:
    """A record names content by digest: 71 characters after "sha256:" are not enough."""
    text = notes.release_json(facts(), SizeHistory({}))
    broken = text.replace(D["a"], "sha256:" + "Z" * 64, 1)
    assert broken != text
    with pytest.raises(ConfigError, match="is not a sha256 digest") as caught:
        notes.parse_record(broken, "v1.1.0.json")
    assert caught.value.exit_code == 3


def test_the_size_history_is_rebuilt_from_the_records_when_its_file_is_missing(tmp_path):
    """A lost size-history.json is what the records next to it say; an unreadable record
    is passed over (and named), a record filed under another release's name too."""
    assert notes.load_size_history(tmp_path) == SizeHistory()
    for release in ("v1.0.0", "v1.1.0"):
        (tmp_path / f"{release}.json").write_text(notes.release_json(facts(release), HISTORY))
    (tmp_path / "v1.2.0.json").write_text("{not json")
    (tmp_path / "v9.0.0.json").write_text(notes.release_json(facts("v1.0.0"), HISTORY))
    (tmp_path / "notes.json").write_text("{}")
    rebuilt, passed = notes.sizes_from_records(tmp_path)
    sizes = {"8.4": {"linux/amd64": 100_000_000, "linux/arm64": 95_000_000}}
    assert rebuilt.sizes == {"v1.0.0": sizes, "v1.1.0": sizes}
    assert passed.unreadable == ("v1.2.0.json",) and not passed.newer
    assert passed.said() == "; passed over, unreadable: v1.2.0.json"
    assert notes.load_size_history(tmp_path) == rebuilt
    (tmp_path / notes.HISTORY_FILE).write_text(SizeHistory().to_json())
    assert notes.load_size_history(tmp_path) == SizeHistory()  # the file, when there is one


def test_a_record_a_newer_publisher_wrote_is_passed_over_as_such_not_as_unreadable(tmp_path):
    """Rebuilding a lost size history, a record of a newer schema (whose fields may have
    changed too) is said to be a newer publisher's, as every other reader of records says."""
    (tmp_path / "v1.0.0.json").write_text(notes.release_json(facts("v1.0.0"), HISTORY))
    newer = json.loads(notes.release_json(facts("v1.1.0"), HISTORY))
    newer["schema"] = notes.NOTES_SCHEMA + 1
    newer["lines"] = "changed in schema 2"
    (tmp_path / "v1.1.0.json").write_text(json.dumps(newer))
    import io

    from publisher.adapters.output import Output
    from publisher.core.version import parse_release
    from publisher.stages.publish import Publisher, PublishOptions
    from tests.support.matrices import acme_config

    err = io.StringIO()
    output = Output(env={}, stream=io.StringIO(), err_stream=err)
    stage = Publisher(
        acme_config(), parse_release("v1.2.0"), {}, output, PublishOptions(notes_dir=tmp_path)
    )
    stage.write_notes(facts("v1.2.0"))
    said = " ".join(err.getvalue().split())
    assert "rebuilt from the sizes in the 1 release record next to it" in said
    assert "passed over, written by a newer publisher" in said and "v1.1.0.json" in said
    assert "unreadable" not in said
    assert list(notes.load_size_history(tmp_path).sizes) == ["v1.0.0", "v1.2.0"]


def test_the_check_before_a_run_reads_the_size_history_file_only(tmp_path, monkeypatch):
    """The pre-run check refuses a corrupt size-history.json, and with no such file it
    reads no release record: rebuilding the history is left to when the notes are written."""
    (tmp_path / "v1.0.0.json").write_text(notes.release_json(facts("v1.0.0"), HISTORY))

    def no_record(*_args, **_kwargs):
        raise AssertionError("a release record was read")

    monkeypatch.setattr(notes, "read_record", no_record)
    notes.check_size_history(tmp_path)
    (tmp_path / notes.HISTORY_FILE).write_text('{"schema": 1,\n "releases": {')
    with pytest.raises(ConfigError) as caught:
        notes.check_size_history(tmp_path)
    assert caught.value.source == str(tmp_path / notes.HISTORY_FILE)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            '"default_line": "8.4"',
            '"default_line": 8.4',
            "default_line: expected a string, got a number",
        ),
        ('"schema": 1', '"schema": "1"', "schema: expected a whole number, got a string"),
        ('"default_line": "8.4"', '"default_line": null', "expected a string, got null"),
        ('"default_line": "8.4"', '"default_line": {}', "expected a string, got an object"),
    ],
)
def test_a_record_value_of_the_wrong_kind_is_named_in_json_words(old, new, said) -> None:
    """The message names JSON's kinds (a string, null, an object), never Python's (str,
    NoneType, dict)."""
    text = notes.release_json(facts(), SizeHistory({}))
    broken = text.replace(old, new, 1)
    assert broken != text
    with pytest.raises(ConfigError) as caught:
        notes.parse_record(broken, "v1.1.0.json")
    assert said in str(caught.value)
    assert not any(word in str(caught.value) for word in ("str,", "float", "NoneType", "dict"))


def test_a_record_that_is_a_dangling_link_is_a_file_error_not_an_absent_record(tmp_path):
    """A release record linked to a file that is gone: listed by record_releases, so it
    is an unreadable record (exit 18) for audit and verify alike, never "no record"."""
    from publisher.core.errors import FileAccessError
    from publisher.stages.audit import load_records

    (tmp_path / "v1.0.0.json").symlink_to(tmp_path / "gone" / "v1.0.0.json")
    assert [r.tag for r in notes.record_releases(tmp_path)] == ["v1.0.0"]
    with pytest.raises(FileAccessError, match=r"v1\.0\.0\.json"):
        notes.load_record(tmp_path, "v1.0.0")
    with pytest.raises(FileAccessError, match=r"v1\.0\.0\.json"):
        load_records(tmp_path)


def test_notes_written_again_by_a_rerun_keep_the_signature_check_and_threshold(tmp_path) -> None:
    """A rerun that only fills in a PHP version the first run did not smoke-test writes
    the notes again from the record, which does not keep the source URL or the size
    threshold: both come from today's settings, so the signature check stays."""
    import dataclasses
    import io

    from publisher.adapters.output import Output
    from publisher.core.version import parse_release
    from publisher.stages.publish import NOT_TESTED, Publisher, PublishOptions
    from tests.support.matrices import acme_config

    published = facts()
    untested = dataclasses.replace(
        published,
        lines=tuple(dataclasses.replace(line, php_version=NOT_TESTED) for line in published.lines),
    )
    record = notes.parse_record(notes.release_json(untested, HISTORY), "v1.1.0.json")
    assert record.source_url is None  # not in the record
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    stage = Publisher(
        acme_config(),
        parse_release("v1.1.0"),
        {},
        output,
        PublishOptions(notes_dir=tmp_path),
        record=record,
    )
    rerun = dataclasses.replace(published, regression_percent=5.0)
    written = stage._as_recorded(rerun)
    assert written is not None
    assert written.source_url == published.source_url and written.regression_percent == 5.0
    assert written.lines[0].php_version == "8.4.12"
    assert "## Verify the signatures" in notes.release_markdown(written, HISTORY)


def _republished(weeks: int) -> ReleaseFacts:
    history = tuple(
        Republish(
            f"2027-{1 + w // 28:02d}-{1 + w % 28:02d}",
            f"weekly rebuild {w}",
            (("8.4", D["a"], D["e"]),),
        )
        for w in range(weeks)
    )
    return facts("v2.0.0", history=history)


def test_a_body_too_long_keeps_its_newest_history_rows_and_says_where_the_rest_is():
    text = notes.release_markdown(_republished(400), HISTORY)
    before_history = text[: text.index("## Republish history")]
    limit = notes.body_size(text) - 5000
    body, left_out = notes.fit_body(
        text, limit, notes="release-notes/v2.0.0.md", record="release-notes/v2.0.0.json"
    )
    assert notes.body_size(body) <= limit and left_out > 0
    assert body.startswith(before_history)  # the digests are never cut
    assert body.endswith(text[text.index("<sub>Written by publisher") :])
    assert "weekly rebuild 399 |" in body and "weekly rebuild 0 |" not in body
    kept = [row for row in body.splitlines() if "weekly rebuild" in row]
    assert len(kept) == 400 - left_out and kept[0].endswith(f"weekly rebuild {left_out} |")
    assert (
        f"_{left_out} earlier republishes are left out here (a GitHub release body holds at most "
        f"{limit:,} characters): the full history is in `release-notes/v2.0.0.md` and "
        "`release-notes/v2.0.0.json` in the repository._"
    ) in body
    # As many rows as fit are kept: the next older one would not have fit (its note
    # would say one republish fewer, perhaps one digit shorter).
    older = next(
        row for row in text.splitlines() if row.endswith(f"weekly rebuild {left_out - 1} |")
    )
    assert notes.body_size(body) + notes.body_size(older) + 1 - 1 > limit


def test_a_body_too_long_leaves_out_whole_republishes_and_counts_them():
    """A republish of two lines is two rows: the cut keeps or leaves out both, and the
    note counts republishes, not rows (it said "365 earlier entries" of 300 republishes,
    and kept a republish's 8.3 row without its 8.2 row)."""
    both = _two_lines("v2.0.0")
    history = tuple(
        Republish(
            "2027-01-01",
            f"weekly rebuild {w}",
            (("8.3", D["e"], D["1"]), ("8.4", D["a"], D["2"])),
        )
        for w in range(300)
    )
    text = notes.release_markdown(dataclasses.replace(both, history=history), HISTORY)
    rows = [row for row in text.splitlines() if "weekly rebuild" in row]
    assert len(rows) == 600
    size = notes.body_size(text)
    for limit in range(size - 30_000, size, 997):  # cuts falling anywhere in a republish
        body, left_out = notes.fit_body(text, limit, notes="n", record="r")
        assert notes.body_size(body) <= limit and 0 < left_out < 300
        kept = [row for row in body.splitlines() if "weekly rebuild" in row]
        assert len(kept) == 2 * (300 - left_out), (limit, left_out, len(kept))
        assert "| 8.3 |" in kept[0] and kept[0].endswith(f"weekly rebuild {left_out} |")
        said = f"_{left_out} earlier republishes are left out here"
        assert said in body, body[body.index("## Republish history") :][:300]


def test_two_republishes_of_one_day_and_reason_are_told_apart_by_their_lines():
    """A republish of the same lines again, the same day for the same reason, is another
    republish: its first row names a line the one before already holds."""
    reason = "CVE-2027-1 in libxml2, " + "rebuilt on the base image of the day " * 8
    again = Republish("2027-01-01", reason.strip(), (("8.4", D["a"], D["e"]),))
    text = notes.release_markdown(facts("v2.0.0", history=(again,) * 3), HISTORY)
    body, left_out = notes.fit_body(text, notes.body_size(text) - 1, notes="n", record="r")
    assert left_out == 1 and body.count("CVE-2027-1") == 2
    assert "_1 earlier republish is left out here" in body


def test_a_body_that_fits_or_cannot_fit_without_its_history_is_left_whole():
    text = notes.release_markdown(_republished(3), HISTORY)
    size = notes.body_size(text)
    assert notes.fit_body(text, size, notes="n", record="r") == (text, 0)
    head = notes.body_size(text[: text.index("## Republish history")])
    assert notes.fit_body(text, head, notes="n", record="r") == (text, 0)
    body, left_out = notes.fit_body(text, size - 1, notes="n", record="r")
    assert left_out >= 1 and len(body) < len(text)


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history"])
def test_gh_release_refusing_notes_too_long_says_their_size_without_their_history(
    cli, tmp_path, history
):
    """The size said is the shortest body gh-release makes of the notes, in UTF-8 bytes as
    the limit is counted (it said the whole notes' 444,652 "characters", history and
    all, when they were 134,989 bytes without it)."""
    from publisher.adapters.github import MAX_BODY

    text = notes.release_markdown(_republished(2000 if history else 0), HISTORY)
    filler = "—" * (45_000 if history else 130_000)  # 3 UTF-8 bytes each
    text = text.replace("## PHP 8.4", filler + "\n\n## PHP 8.4", 1)
    path = tmp_path / "v2.0.0.md"
    path.write_text(text, encoding="utf-8")
    names = {"notes": "v2.0.0.md", "record": "v2.0.0.json"}  # as gh-release names them
    shortest = notes.shortest_body(text, MAX_BODY, **names)
    assert (shortest != text) == history and len(text) > MAX_BODY
    without = notes.body_size(shortest)
    env = {"GITHUB_TOKEN": "ghs_" + "a" * 36, "GITHUB_API_URL": "http://127.0.0.1:9"}
    result = cli("gh-release", "v2.0.0", "--repo", "a/b", "--notes", str(path), env=env)
    assert result.exit_code == 3, result.output
    said = " ".join(result.output.split())
    if history:  # over the limit in characters with the history only, in bytes without it
        assert len(text) > without and len(text.split("## Republish history")[0]) < MAX_BODY
        assert f"{len(text):,}" not in said and f"{notes.body_size(text):,}" not in said
    assert f"the release notes are {without:,} bytes" in said
    assert ("even with their whole republish history left out" in said) == history
    assert (
        f"more than the {MAX_BODY:,} a GitHub release body holds (counted in UTF-8 bytes)" in said
    )
    assert "nothing was sent to GitHub" in said


def test_a_body_is_measured_in_utf8_bytes_which_fit_whatever_github_counts():
    # "—" is one character, 3 bytes; an astral emoji one character, 2 UTF-16 units, 4 bytes
    assert notes.body_size("a—🔒") == 1 + 3 + 4
    text = notes.release_markdown(_republished(3), HISTORY)
    assert notes.body_size(text) > len(text)  # the notes hold "—" of their own
    body, left_out = notes.fit_body(text, len(text), notes="n", record="r")
    assert left_out >= 1 and notes.body_size(body) <= len(text)


def test_the_records_a_newer_publisher_wrote_are_passed_over_in_words_for_one_or_many():
    one = notes.PassedOver(newer=("v1.1.0.json",)).said()
    assert one == (
        "; passed over, written by a newer publisher (the version that wrote it, or a later "
        "one, reads its sizes): v1.1.0.json"
    )
    two = notes.PassedOver(newer=("v1.1.0.json", "v1.2.0.json")).said()
    assert "(the version that wrote them, or a later one, reads their sizes)" in two, two


def _two_lines(release: str = "v1.0.1") -> ReleaseFacts:
    """A backport: 8.3 and 8.4 (the default); php-8.4 and latest stay on a newer release."""
    one = facts(release).lines[0]
    return dataclasses.replace(
        facts(release),
        lines=(
            dataclasses.replace(
                one, php="8.3", index_digest=D["e"], tags=(f"{release}-php-8.3", "php-8.3")
            ),
            dataclasses.replace(one, tags=(f"{release}-php-8.4", release)),
        ),
        floating=(
            FloatingFacts("hub", "php-8.3", release, D["e"]),
            FloatingFacts("hub", "php-8.4", "v1.1.0", D["f"]),
            FloatingFacts("hub", "latest", "v1.1.0", D["f"]),
            FloatingFacts("hub", "php-8.5", "v1.1.0", D["1"]),
        ),
    )


def test_records_publisher_writes_are_read_whatever_floating_tags_other_releases_hold() -> None:
    backport = _two_lines()
    read = notes.parse_record(notes.release_json(backport, HISTORY), "v1.0.1.json")
    assert (read.lines, read.floating) == (backport.lines, backport.floating)
    # a run of other lines than the default (--only), and a record with no tags
    other = dataclasses.replace(backport, lines=backport.lines[:1], floating=())
    assert notes.parse_record(notes.release_json(other, HISTORY), "v").lines == other.lines
    bare = dataclasses.replace(
        other, lines=tuple(dataclasses.replace(line, tags=()) for line in other.lines)
    )
    assert notes.parse_record(notes.release_json(bare, HISTORY), "v").lines == bare.lines


@pytest.mark.parametrize(
    ("edit", "field", "said"),
    [
        (lambda d: d.update(default_line="8.3"), "lines[1].tags", "a pin of another line"),
        (lambda d: d["lines"].pop(0), "floating[0].tag", "a line this record does not have"),
        (lambda d: d["lines"][0].update(index_digest=D["2"]), "lines[0].references.hub", D["e"]),
        (lambda d: d["floating"][0].update(digest=D["2"]), "floating[0].digest", "index_digest"),
        # latest of this release names PHP 8.3's index, not the default line's
        (
            lambda d: d["floating"][2].update(release="v1.0.1", digest=D["e"]),
            "floating[2].digest",
            f"latest on hub is {D['e'][:19]}…, but PHP 8.4's index_digest is {D['a'][:19]}… "
            "(default_line is 8.4)",
        ),
        (lambda d: d["lines"][1].update(php="8.3"), "lines[1].php", "listed twice"),
        (
            lambda d: d["lines"][0]["tags"].append("v1.0.1-php-8.4"),
            "lines[0].tags",
            "a pin of another line",
        ),
    ],
)
def test_a_record_whose_fields_contradict_each_other_is_refused_naming_the_field(
    edit, field, said
) -> None:
    data = json.loads(notes.release_json(_two_lines(), HISTORY))
    edit(data)
    with pytest.raises(ConfigError) as caught:
        notes.parse_record(json.dumps(data), "release-notes/v1.0.1.json")
    assert caught.value.exit_code == 3
    text = str(caught.value)
    assert f"release-notes/v1.0.1.json: {field}:" in text and said in text, text
    assert "git log -p -- release-notes/v1.0.1.json" in (caught.value.hint or "")


def test_the_notes_a_run_wrote_are_named_as_every_path_is(monkeypatch) -> None:
    """``wrote <notes>`` on stdout names each path as stderr does (``shown_path``): as its
    bytes say under LC_ALL=C with PYTHONUTF8=0 ("é", never its two raw bytes), and a
    control character in the checkout's path written as an escape, not raw."""
    import sys
    from pathlib import Path

    from publisher.stages.publish import notes_said

    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    folder = Path("/w/r\udcc3\udca9po\x1b[31m")  # "répo" and ESC as argv holds them
    files = [folder / "v1.0.0.md", folder / "v1.0.0.json", folder / "pins\n.txt"]
    assert notes_said(files, files) == (
        "wrote /w/r\u00e9po\\x1b[31m/v1.0.0.md, /w/r\u00e9po\\x1b[31m/v1.0.0.json and "
        "the pins file pins\\n.txt"
    )


def test_a_corrupt_record_s_tip_offers_a_way_out_without_git() -> None:
    """A record cut short that was never committed: the tip said only to restore it from
    git. A rerun of the release writes it again from the images its pins hold, once the
    file is out of the way; the tip says so, and what the new record lacks."""
    with pytest.raises(ConfigError) as raised:
        notes.parse_record('{"schema": 1, "release": ', "release-notes/v1.1.0.json")
    hint = " ".join(raised.value.hint.split())
    assert "restore the file from git history" in hint, hint
    assert "if it was never committed, move it out of the notes directory" in hint, hint
    assert "a new published_at" in hint and "republish history" in hint, hint
