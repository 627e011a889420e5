"""Answers a hostile registry (or a proxy in front of one) may send, which distribution
itself never does: error text carrying terminal control sequences, a tag list without end
or linking back to itself, an index of thousands of entries, odd JSON shapes.

Each is served by the fault proxy in front of a real loopback registry, and publisher
must say it in its own words: control characters escaped, memory and requests bounded,
an invalid response (exit 8) naming what was wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from publisher.adapters.registry import OCI_INDEX, RegistryClient
from publisher.core.errors import InvalidResponseError
from publisher.core.manifest import MAX_INDEX_ENTRIES
from publisher.core.reference import Reference
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import make_image

pytestmark = pytest.mark.integration

#: What a hostile registry writes into its text: colours, a window title (OSC, ended by
#: BEL), a carriage return, a backspace and a C1 CSI that clears the screen.
ESCAPES = "\x1b[31mRED\x1b]0;pwned\x07\rOVERWRITE\x08\x9b2J"
#: Any character that would drive a terminal: C0 but the line break, DEL, C1.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

ERROR_ANSWERS = {
    "error JSON": Fault(
        "status",
        path="/manifests/",
        status=400,
        headers={"Content-Type": "application/json"},
        body=json.dumps({"errors": [{"code": "X" + ESCAPES, "message": "bad" + ESCAPES}]}).encode(),
        times=None,
    ),
    "HTML page": Fault(
        "status",
        path="/manifests/",
        status=503,
        headers={"Content-Type": "text/html"},
        # an OSC 52 sequence: a write to the clipboard of whoever reads the terminal
        body=b"<html><title>down\x1b]52;c;ZWNobyBwd25lZA==\x07</title></html>",
        times=None,
    ),
}


@pytest.mark.parametrize("case", list(ERROR_ANSWERS))
def test_a_registry_s_error_text_is_shown_with_its_control_characters_escaped(
    case: str, proxy: FaultProxy, registry: Any, repo: str, seed: Callable[..., str]
) -> None:
    """The text of a registry's error answer reaches the error (and each retry's warning)
    with every control character escaped, ``\\x1b``, never raw: it can neither colour nor
    clear the terminal, set its title, write the clipboard nor overwrite a line."""
    import publisher.cli.registry_cmds  # noqa: F401  (registers the commands)
    from publisher.cli.base import main

    seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(ERROR_ANSWERS[case])
    result = CliRunner().invoke(
        main,
        ["inspect", f"{proxy.host}/{repo}:v1"],
        env={"PUBLISHER_RETRY_ATTEMPTS": "2", "HOME": "/nonexistent"},
    )
    said = result.output
    assert result.exit_code == (9 if case == "error JSON" else 7), said
    assert not RAW_CONTROL.search(said), ascii(said)
    if case == "error JSON":
        assert "(HTTP 400): X\\x1b[31mRED\\x1b]0;pwned\\x07 OVERWRITE\\x08\\x9b2J: bad" in said
    else:
        shown = "HTTP 503: down\\x1b]52;c;ZWNobyBwd25lZA==\\x07"
        warnings = [line for line in said.splitlines() if "retrying in" in line]
        assert warnings and all(shown in line for line in warnings), said
        assert f"kept failing ({shown})" in said, said


def _tags_page(count: int, first: str) -> bytes:
    return json.dumps({"name": "x", "tags": [f"{first}{i:07d}" for i in range(count)]}).encode()


def test_a_tag_list_of_more_tags_than_any_repository_has_is_refused(
    proxy: FaultProxy, make_client: Callable[..., RegistryClient], repo: str
) -> None:
    """Pages of 60,000 names each, every one linking to a next: once the tags read pass
    publisher's bound (100,000, all pages together) the list is refused as an invalid
    answer (exit 8) naming the registry and the bound, not read on for ever (a thousand
    such pages would take gigabytes)."""
    link = {"Link": f'</v2/{repo}/tags/list?n=100&last=a>; rel="next"'}
    proxy.add(
        Fault("status", path="/tags/list$", status=200, headers=link, body=_tags_page(60_000, "a")),
        Fault("status", path="/tags/list", status=200, headers=link, body=_tags_page(60_000, "b")),
        Fault("status", path="/tags/list", status=200, body=_tags_page(60_000, "c")),
    )
    with pytest.raises(InvalidResponseError) as info:
        make_client(proxy).list_tags(repo)
    assert info.value.exit_code == 8
    assert info.value.message == (
        f"{proxy.host}: the tag list of {repo} holds more than 100000 tags (120000 in the 2 "
        "pages read), the most publisher reads of one repository"
    )
    assert proxy.count("GET", "tags") == 2


def test_a_tag_list_whose_link_leads_back_to_a_page_already_read_is_refused_at_once(
    proxy: FaultProxy, make_client: Callable[..., RegistryClient], repo: str
) -> None:
    """A Link to a page already read is a loop: refused when it is found (exit 8, the page
    named), not followed a thousand times."""
    again = f"/v2/{repo}/tags/list?n=100&last=t"
    proxy.add(
        Fault(
            "status",
            path="/tags/list",
            status=200,
            headers={"Link": f'<{again}>; rel="next"'},
            body=_tags_page(1, "t"),
            times=5,
        )
    )
    with pytest.raises(InvalidResponseError) as info:
        make_client(proxy).list_tags(repo)
    assert info.value.exit_code == 8
    assert info.value.message == (
        f"{proxy.host}: the tag list of {repo} loops: page 2 links back to a page already "
        f"read ({again}); refusing to follow it"
    )
    assert proxy.count("GET", "tags") == 2


def _index(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()


def _entry(n: int, platform: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + f"{n:064x}",
        "size": 500,
    }
    if platform is not None:
        entry["platform"] = platform
    return entry


LINUX = {"os": "linux", "architecture": "amd64"}

#: An index as a hostile registry may serve it, and the words publisher refuses it with.
ODD_INDEXES = {
    "thousands of entries": (
        _index([_entry(n, LINUX) for n in range(MAX_INDEX_ENTRIES + 1)]),
        f"index has {MAX_INDEX_ENTRIES + 1} entries, over the {MAX_INDEX_ENTRIES} publisher "
        "reads in one index",
    ),
    "a platform of null and a number": (
        _index([_entry(1, LINUX), _entry(2, {"os": None, "architecture": 7})]),
        "index entry 1 has an invalid platform: its os is null, not a string",
    ),
    "a variant that is a number": (
        _index([_entry(1, {"os": "linux", "architecture": "arm", "variant": 7})]),
        "index entry 0 has an invalid platform: its variant is a number, not a string",
    ),
    "a size of 5000 digits": (
        _index([_entry(1, LINUX)]).replace(b'"size": 500', b'"size": ' + b"9" * 5000),
        "manifest is not valid JSON: it holds a number too long to read",
    ),
    "a size past int64": (
        _index([_entry(1, LINUX)]).replace(b'"size": 500', b'"size": ' + b"9" * 30),
        "index entry 0 has no valid size",
    ),
}


@pytest.mark.parametrize("case", list(ODD_INDEXES))
def test_an_index_no_image_has_is_an_invalid_answer_in_publisher_s_words(
    case: str,
    proxy: FaultProxy,
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    make_client: Callable[..., RegistryClient],
) -> None:
    """An index of more entries than any image's (each would cost a request or more to
    follow), or whose entries hold JSON of the wrong kind, is refused when read: exit 8,
    the entry and what is wrong with it named, never shown as a platform ``None/7`` nor
    with Python's own advice about its interpreter's settings."""
    body, words = ODD_INDEXES[case]
    seed(registry, repo, make_image(), tags=["v1"])
    proxy.add(Fault("body", method="GET", path="/manifests/v1$", body=body, fix_digest=True))
    client = make_client(proxy)
    with pytest.raises(InvalidResponseError) as info:
        client.get_manifest(Reference(proxy.host, repo, "v1"))
    assert info.value.exit_code == 8
    assert info.value.message == f"{proxy.host}: {proxy.host}/{repo}:v1: {words}"
    assert "sys." not in info.value.message and "None/" not in info.value.message
    assert proxy.count("GET", "manifest") == 1
