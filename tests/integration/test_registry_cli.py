"""``publisher inspect`` (online), ``verify`` and ``preflight`` against real registries."""

from __future__ import annotations

import base64
import json
import random
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

import publisher.cli.registry_cmds  # noqa: F401  (registers verify and preflight on main)
from publisher.adapters.localregistry import free_port
from publisher.cli.base import main
from publisher.core import config as config_mod
from publisher.core import plan as planning
from publisher.resolve import short_digest
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.images import (
    OCI_INDEX,
    TestImage,
    canonical,
    digest_of,
    index_for,
    make_image,
    make_platform_image,
    push_raw,
    raw_delete_blob,
    raw_delete_manifest,
    raw_put_manifest,
)

pytestmark = pytest.mark.integration

FAST = {
    "PUBLISHER_RETRY_ATTEMPTS": "2",
    "PUBLISHER_RETRY_INITIAL_DELAY": "0.01",
    "PUBLISHER_RETRY_MAX_DELAY": "0.02",
}


def run(args: list[str], tmp_path: Path, **env: str | None) -> Result:
    """``publisher ARGS`` in-process, in the current directory, with a home of its own and
    no PUBLISHER_CONFIG (inspect reads ./matrix.yaml when there is one: the checkout's
    configures none of the test registries)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base_env = {
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "PUBLISHER_CONFIG": None,
        **FAST,
    }
    return CliRunner().invoke(main, args, env={**base_env, **env})


# ------------------------------------------------------------------ inspect


def test_inspect_online_json(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    labels = {"org.opencontainers.image.title": "test image"}
    image = make_image(attestations=True, labels=labels)
    digest = seed(registry, repo, image, tags=["v1"])
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["error"] is None
    assert data["reachable"] is True and data["digest"] == digest and data["is_index"] is True
    assert data["reference"]["name"] == f"{registry.host}/{repo}"
    assert {p["platform"]: p["size"] for p in data["platforms"]} == image.sizes
    assert data["platforms"][0]["labels"] == labels
    assert data["platforms"][0]["created"] == "2024-01-01T00:00:00Z"
    assert data["attestations"] == 2
    assert data["annotations"] == {}
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path)
    assert table.exit_code == 0 and digest in table.output and "linux/arm64" in table.output


def test_inspect_json_names_a_label_that_is_not_text_as_text_any_reader_takes(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A label or annotation the registry serves as a lone-surrogate escape ("\\udcff",
    valid to a lenient JSON reader) is printed by --json with the code written as text
    ("\\xff"), never echoed as the escape strict JSON readers reject."""
    image = make_image(seed=41, labels={"org.opencontainers.image.title": "x\udcff"})
    index = json.loads(image.index)
    index["annotations"] = {"note\udcfe": "y\ud800"}
    seed(registry, repo, TestImage(json.dumps(index).encode(), OCI_INDEX, image.images), ["v"])
    result = run(["inspect", f"{registry.host}/{repo}:v", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "\\ud" not in result.stdout.replace("\\\\ud", "")  # no JSON escape of one
    data = json.loads(result.stdout)
    assert data["platforms"][0]["labels"] == {"org.opencontainers.image.title": "x\\xff"}
    assert data["annotations"] == {"note\\xfe": "y\\ud800"}


def test_inspect_writes_labels_and_annotations_with_their_control_characters_escaped(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """Labels and annotations are the registry's text: a line break or an escape sequence
    in one is written escaped ("\\n", "\\x1b"), so an image can neither forge a line of
    inspect's output ("error: ...") nor drive the terminal."""
    image = make_image(seed=43, labels={"title": "x\nerror: forged", "colour": "\x1b[31mred"})
    index = json.loads(image.index)
    index["annotations"] = {"note\x1b]0;owned\x07": "a\rb"}
    seed(registry, repo, TestImage(json.dumps(index).encode(), OCI_INDEX, image.images), ["v"])
    result = run(["inspect", f"{registry.host}/{repo}:v"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\r" not in result.output
    assert not any(line.startswith("error: forged") for line in result.output.splitlines())
    assert "title=x\\nerror: forged" in result.stdout, result.stdout
    assert "colour=\\x1b[31mred" in result.stdout
    assert "annotation: note\\x1b]0;owned\\x07=a\\rb" in result.stdout


def test_inspect_shows_each_platform_s_labels_not_the_first_one_s_for_all(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    rng = random.Random(5)
    amd64 = make_platform_image("linux/amd64", rng=rng, labels={"common": "1", "arch": "x86"})
    arm64 = make_platform_image(
        "linux/arm64", rng=rng, labels={"common": "1", "arch": "arm", "only": "arm"}
    )
    seed(registry, repo, TestImage(index_for([amd64, arm64]), OCI_INDEX, [amd64, arm64]), ["v"])
    result = run(["inspect", f"{registry.host}/{repo}:v"], tmp_path)
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "common=1" in lines
    assert "arch=x86 (linux/amd64)" in lines and "arch=arm (linux/arm64)" in lines
    assert "only=arm (linux/arm64)" in lines


def test_inspect_shows_the_annotations_of_an_index(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """An index's own annotations (what GHCR shows for a multi-platform image)."""
    image = make_image(seed=11)
    index = json.loads(image.index)
    index["annotations"] = {"org.opencontainers.image.description": "PHP-FPM, described"}
    annotated = TestImage(json.dumps(index).encode(), OCI_INDEX, image.images)
    seed(registry, repo, annotated, tags=["v2"])
    result = run(["inspect", f"{registry.host}/{repo}:v2", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["annotations"] == index["annotations"]
    table = run(["inspect", f"{registry.host}/{repo}:v2"], tmp_path)
    assert "annotation: org.opencontainers.image.description=PHP-FPM, described" in table.output


def test_inspect_of_a_tag_and_a_digest_says_where_the_tag_points_now(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A pins file names ``repo:pin@digest``: the digest is inspected, and the pin is looked
    up, so a pin moved by a republish since the file was written is said, not hidden."""
    old = seed(registry, repo, make_image(seed=21), tags=["v1.0.0-php-8.4"])
    pinned = f"{registry.host}/{repo}:v1.0.0-php-8.4@{old}"
    result = run(["inspect", pinned, "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["digest"] == old
    assert data["tag"] == {
        "name": "v1.0.0-php-8.4",
        "digest": old,
        "matches": True,
        "lists_as": None,
        "error": None,
    }
    text = run(["inspect", pinned], tmp_path).stdout
    assert "tag: v1.0.0-php-8.4 points at this digest" in text
    assert f"reference: {pinned}\n" in text  # as typed: the tag too, not only the digest

    new = seed(registry, repo, make_image(seed=22), tags=["v1.0.0-php-8.4"])  # republished
    result = run(["inspect", pinned, "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["digest"] == old
    assert data["tag"] == {
        "name": "v1.0.0-php-8.4",
        "digest": new,
        "matches": False,
        "lists_as": None,
        "error": None,
    }
    text = run(["inspect", pinned], tmp_path).stdout
    assert f"tag: v1.0.0-php-8.4 now points at {new}, not at this digest" in text

    gone = f"{registry.host}/{repo}:v9.9.9-php-8.4@{old}"
    result = run(["inspect", gone, "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tag"] == {
        "name": "v9.9.9-php-8.4",
        "digest": None,
        "matches": False,
        "lists_as": None,
        "error": None,
    }
    assert "tag: v9.9.9-php-8.4 is not on the registry" in run(["inspect", gone], tmp_path).stdout
    # One platform's image of the index the tag points at: said so, not "moved since".
    image = make_image(seed=23)
    index = seed(registry, repo, image, tags=["v2.0.0-php-8.4"])
    arm64 = image.image("linux/arm64").digest
    child = f"{registry.host}/{repo}:v2.0.0-php-8.4@{arm64}"
    result = run(["inspect", child, "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tag"] == {
        "name": "v2.0.0-php-8.4",
        "digest": index,
        "matches": False,
        "lists_as": "linux/arm64",
        "error": None,
    }
    text = run(["inspect", child], tmp_path).stdout
    assert f"points at the index {index}, which lists this digest as its linux/arm64 image" in text
    assert "moved" not in text
    plain = run(["inspect", f"{registry.host}/{repo}@{old}", "--json"], tmp_path)
    assert json.loads(plain.stdout)["tag"] is None


@pytest.mark.parametrize(
    ("status", "kind"), [(503, "registry unreachable"), (403, "authentication failed")]
)
@pytest.mark.parametrize("failing", ["tag-lookup", "index-read"])
def test_inspect_of_a_tag_and_a_digest_whose_tag_cannot_be_checked_shows_the_digest(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
    failing: str,
    status: int,
    kind: str,
) -> None:
    """``repo:pin@digest`` from a pins file: the digest is what is pulled, and it reads. A
    registry that fails the tag's check (a 5xx through the retries, a refusal) leaves the
    inspection whole, the tag said not checked and why (exit 0, as for a tag not there),
    never the whole inspection failed for a tag the reference only names. The check
    fails either at the tag's lookup (``tag-lookup``), or, for a digest naming one
    platform's image, at the index the tag points at, read to tell whether it lists this
    image (``index-read``)."""
    if failing == "tag-lookup":
        pin = "v1.3.0-php-8.4"
        image = make_image(seed=36)
        index = json.loads(image.index)
        index["annotations"] = {"org.opencontainers.image.version": pin}
        annotated = TestImage(json.dumps(index).encode(), OCI_INDEX, image.images)
        named = seed(registry, repo, annotated, tags=[pin])
        tag_digest = None  # the lookup that would find it fails
        fault = Fault("status", method="HEAD", path=f"/manifests/{pin}$", status=status, times=None)
    else:
        pin = "v2.1.0-php-8.4"
        image = make_image(seed=37)
        tag_digest = seed(registry, repo, image, tags=[pin])  # found: an index
        named = image.image("linux/arm64").digest
        path = f"/manifests/{tag_digest}$"
        fault = Fault("status", method="GET", path=path, status=status, times=None)
    proxy = proxy_for(registry)
    proxy.add(fault)
    pinned = f"{proxy.host}/{repo}:{pin}@{named}"
    result = run(["inspect", pinned, "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert fault.fired >= 1
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["digest"] == named
    tag = data["tag"]
    said = (tag["name"], tag["digest"], tag["matches"], tag["lists_as"])
    assert said == (pin, tag_digest, None, None)
    assert tag["error"]["kind"] == kind and tag["error"]["exit_code"] > 0
    if failing == "tag-lookup":
        assert fault.fired == (2 if status >= 500 else 1)  # a 5xx retried (FAST: 2 tries)
        assert [p["platform"] for p in data["platforms"]] == ["linux/amd64", "linux/arm64"]
        # The pin is the tag: its place is as unknown as the tag's, not "not a tag here".
        assert data["pin"]["matches"] is None and data["pin"]["error"] == tag["error"]
    result = run(["inspect", pinned], tmp_path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"tag: {pin} could not be checked (its lookup failed: " in text, text
    if failing == "index-read":
        return
    assert "the digest named was inspected" in text
    assert "is not on the registry" not in text and "not a tag of" not in text
    # The tag absent (a 404) is still said as before.
    proxy.clear()
    proxy.add(Fault("status", method="HEAD", path=f"/manifests/{pin}$", status=404, times=None))
    text = run(["inspect", pinned], tmp_path).stdout
    assert f"tag: {pin} is not on the registry (the digest named was inspected)" in text


def _seed_built_as(
    seed: Callable[..., str], registry: Any, repo: str, pin: str, number: int, tags: list[str]
) -> str:
    """An index (``make_image(seed=number)``) whose version annotation says it was built as
    ``pin``, seeded under ``tags``; its digest."""
    image = make_image(seed=number)
    index = json.loads(image.index)
    index["annotations"] = {"org.opencontainers.image.version": pin}
    built = TestImage(json.dumps(index).encode(), OCI_INDEX, image.images)
    return seed(registry, repo, built, tags=tags)


def _manifest_requests(proxy: FaultProxy, name: str) -> list[str]:
    return [seen.method for seen in proxy.log if seen.path.endswith(f"/manifests/{name}")]


def test_inspect_of_a_floating_tag_names_the_pin_tag_that_shares_its_digest(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """What is `latest` now: the pin the image was built as (its index's version
    annotation, else its labels), when that pin points at the same digest; one request
    more, none when the reference names the pin or nothing names one."""
    pin = "v1.2.0-php-8.4"
    digest = _seed_built_as(seed, registry, repo, pin, 31, [pin, "latest", "php-8.4", "v1.2.0"])
    proxy = proxy_for(registry)
    result = run(["inspect", f"{proxy.host}/{repo}:latest", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pin"] == {
        "name": pin,
        "digest": digest,
        "matches": True,
        "error": None,
    }
    assert _manifest_requests(proxy, pin) == ["HEAD"]
    for tag in ("latest", "php-8.4", "v1.2.0"):
        text = run(["inspect", f"{registry.host}/{repo}:{tag}"], tmp_path).stdout
        assert f"pin: {tag} is {pin} (the pin tag points at this digest)" in text, text
    by_digest = run(["inspect", f"{registry.host}/{repo}@{digest}"], tmp_path).stdout
    assert f"pin: this digest is {pin}" in by_digest
    # The pin itself: nothing more to say, and no request for it.
    proxy.reset_counts()
    result = run(["inspect", f"{proxy.host}/{repo}:{pin}", "--json"], tmp_path)
    assert json.loads(result.stdout)["pin"] == {
        "name": pin,
        "digest": digest,
        "matches": True,
        "error": None,
    }
    assert _manifest_requests(proxy, pin) == ["GET"]  # the inspection's own read
    assert "pin:" not in run(["inspect", f"{registry.host}/{repo}:{pin}"], tmp_path).stdout

    # The pin republished since (latest left behind): said, not taken for the same image.
    moved = seed(registry, repo, make_image(seed=32), tags=[pin])
    result = run(["inspect", f"{registry.host}/{repo}:latest", "--json"], tmp_path)
    assert json.loads(result.stdout)["pin"] == {
        "name": pin,
        "digest": moved,
        "matches": False,
        "error": None,
    }
    text = run(["inspect", f"{registry.host}/{repo}:latest"], tmp_path).stdout
    assert f"pin: built as {pin}, but {pin} now points at {moved}" in text

    # An index without annotations: the version label every platform carries names it.
    older = make_image(seed=33, labels={"org.opencontainers.image.version": "v1.1.0-php-8.3"})
    seed(registry, repo, older, tags=["php-8.3"])
    result = run(["inspect", f"{registry.host}/{repo}:php-8.3", "--json"], tmp_path)
    assert json.loads(result.stdout)["pin"] == {
        "name": "v1.1.0-php-8.3",
        "digest": None,
        "matches": False,
        "error": None,
    }
    text = run(["inspect", f"{registry.host}/{repo}:php-8.3"], tmp_path).stdout
    assert "pin: built as v1.1.0-php-8.3, which is not a tag of" in text

    # A version that is no pin tag (a stand-in base's): nothing said, nothing asked.
    base = make_image(seed=34, labels={"org.opencontainers.image.version": "8.4.99-standin"})
    seed(registry, repo, base, tags=["base"])
    proxy.reset_counts()
    result = run(["inspect", f"{proxy.host}/{repo}:base", "--json"], tmp_path)
    assert json.loads(result.stdout)["pin"] is None
    assert [s.method for s in proxy.log if "/manifests/" in s.path and s.method == "HEAD"] == []


def test_inspect_of_a_pin_paired_with_another_pins_digest_names_both(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """`REPO:v1.0.0-php-8.3@<8.4's digest>`: the digest given is not the one the tag points
    at (a pin never moves to another line's image): said so, naming both, never
    "v1.0.0-php-8.3 is v1.0.0-php-8.4" nor "moved since"."""
    digests = {}
    for php, number in (("8.3", 41), ("8.4", 42)):
        pin = f"v1.0.0-php-{php}"
        image = make_image(seed=number)
        index = json.loads(image.index)
        index["annotations"] = {"org.opencontainers.image.version": pin}
        annotated = TestImage(json.dumps(index).encode(), OCI_INDEX, image.images)
        digests[php] = seed(registry, repo, annotated, tags=[pin])
    paired = f"{registry.host}/{repo}:v1.0.0-php-8.3@{digests['8.4']}"
    result = run(["inspect", paired], tmp_path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert (
        f"tag: v1.0.0-php-8.3 points at {digests['8.3']}, not at the digest given, "
        f"{digests['8.4']}, which is v1.0.0-php-8.4's"
    ) in text, text
    assert "pin: this digest is v1.0.0-php-8.4" in text
    assert "v1.0.0-php-8.3 is v1.0.0-php-8.4" not in text and "moved" not in text
    data = json.loads(run(["inspect", paired, "--json"], tmp_path).stdout)
    assert data["tag"]["digest"] == digests["8.3"] and not data["tag"]["matches"]
    assert data["pin"] == {
        "name": "v1.0.0-php-8.4",
        "digest": digests["8.4"],
        "matches": True,
        "error": None,
    }


@pytest.mark.parametrize(
    ("status", "headers"),
    [(500, {}), (401, {}), (403, {}), (429, {"Retry-After": "30"})],
)
def test_inspect_whose_pin_lookup_fails_says_so_and_does_not_fail(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
    status: int,
    headers: dict[str, str],
) -> None:
    """The pin the image names is looked up on the side: a registry that fails that one
    request (a token scoped to another tag, a rate limit, a 500) leaves the inspection
    whole and at once, the pin's place said to be unknown."""
    pin = "v1.2.0-php-8.4"
    digest = _seed_built_as(seed, registry, repo, pin, 35, tags=[pin, "latest"])
    proxy = proxy_for(registry)
    fault = Fault(
        "status",
        method="HEAD",
        path=f"/manifests/{pin}$",
        status=status,
        headers=headers,
        times=None,
    )
    proxy.add(fault)
    started = time.monotonic()
    result = run(
        ["inspect", f"{proxy.host}/{repo}:latest", "--json"], tmp_path, PUBLISHER_RETRY_ATTEMPTS="3"
    )
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 20
    assert fault.fired == 1  # one try, not retried
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["digest"] == digest
    assert data["pin"]["name"] == pin and data["pin"]["digest"] is None
    assert data["pin"]["matches"] is None and data["pin"]["error"]["exit_code"] > 0
    text = run(["inspect", f"{proxy.host}/{repo}:latest"], tmp_path).stdout
    assert f"pin: built as {pin}; where {pin} points is unknown (its lookup failed: " in text


def test_inspect_whose_pin_is_not_there_asks_once_whether_the_repository_is(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """The pin the image names is not in the repository (its HEAD: 404), and the
    registry fails the tag list that says whether the repository itself is there: the
    side lookup is tried once, the repository's lookup after its 404 as much as its HEAD,
    never through the retries; the inspection still succeeds."""
    pin = "v1.2.0-php-8.4"
    digest = _seed_built_as(seed, registry, repo, pin, 36, tags=["latest"])
    proxy = proxy_for(registry)
    proxy.add(Fault("status", method="GET", path="/tags/list", status=500, times=None))
    result = run(
        ["inspect", f"{proxy.host}/{repo}:latest", "--json"], tmp_path, PUBLISHER_RETRY_ATTEMPTS="3"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["digest"] == digest
    assert data["pin"]["name"] == pin and data["pin"]["digest"] is None, data["pin"]
    assert _manifest_requests(proxy, pin) == ["HEAD"]
    assert proxy.count("GET", "tags") == 1


def test_inspect_refuses_a_broken_matrix_file_it_is_given_and_needs_none(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path, monkeypatch: Any
) -> None:
    """A PUBLISHER_CONFIG that is not a valid matrix is an error before any request, as in
    every other command (its registries' credentials would go unused without a word);
    without one, and without ./matrix.yaml, inspect reads the reference all the same."""
    digest = seed(registry, repo, make_image(), tags=["v1"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("lines: [\n")
    result = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path, PUBLISHER_CONFIG=str(broken))
    assert result.exit_code == 3, result.output
    assert f"{broken}:2:1: invalid YAML" in result.stderr and digest not in result.stdout
    monkeypatch.chdir(tmp_path)  # no matrix.yaml here
    result = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path)
    assert result.exit_code == 0, result.output
    assert digest in result.stdout


def test_inspect_wrong_password(basic_registry: Any, repo: str, tmp_path: Path) -> None:
    docker = tmp_path / "home" / ".docker"
    docker.mkdir(parents=True)
    wrong = base64.b64encode(f"{basic_registry.username}:not-the-password".encode()).decode()
    (docker / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": wrong}}})
    )
    result = run(["inspect", f"{basic_registry.host}/{repo}:v1"], tmp_path)
    assert result.exit_code == 4, result.output
    assert "authentication failed" in result.output and "docker config" in result.output
    assert "not-the-password" not in result.output
    # A password registry answers 404 for a repository it lacks: its 401 is the password's.
    assert "repository does not exist" not in result.output


def test_inspect_in_a_directory_that_is_not_utf8_uses_its_matrix_credentials(
    basic_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """inspect names no path of matrix.yaml (it reads it for the credentials of the
    registries it configures): ./matrix.yaml in a directory whose name is not UTF-8 is
    read, not refused as a release command refuses it (whose notes and digests are
    under that directory). The matrix's credentials are what the registry takes: its
    answer is that the tag is not there (exit 5), not a refusal (4, 2)."""
    where = tmp_path / "repo\udcff"
    where.mkdir()
    write_matrix(
        where,
        [("hub", f"{basic_registry.host}/{repo}", True)],
        credentials={"hub": ("HUB_USERNAME", "HUB_TOKEN")},
    )
    monkeypatch.chdir(where)
    result = run(
        ["inspect", f"{basic_registry.host}/{repo}:absent", "--json"],
        tmp_path,
        PUBLISHER_CONFIG=None,  # ./matrix.yaml, the default
        HUB_USERNAME=basic_registry.username,
        HUB_TOKEN=basic_registry.password,
    )
    assert result.exit_code == 5, result.output
    assert "directory of the matrix file" not in result.output
    assert json.loads(result.stdout)["error"]["kind"] == "not found"


def test_inspect_missing_tag_and_missing_repository(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    seed(registry, repo, make_image(), tags=["v1"])
    result = run(["inspect", f"{registry.host}/{repo}:nope"], tmp_path)
    assert result.exit_code == 5, result.output
    assert "tag 'nope' not found" in result.output
    result = run(["inspect", f"{registry.host}/{repo}-absent:v1", "--json"], tmp_path)
    assert result.exit_code == 5
    assert "repository" in json.loads(result.stdout)["error"]["message"]
    assert "repository" in result.output and "not found" in result.output


def test_inspect_an_index_whose_child_is_missing_names_the_index_and_the_platform(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    image = make_image()
    digest = seed(registry, repo, image, tags=["v1"])
    arm64 = image.image("linux/arm64").digest
    raw_delete_manifest(registry.url, repo, arm64)
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 5, result.output
    error = json.loads(result.stdout)["error"]
    # Not "digest ... not found": the tag was found; the index it points at is incomplete.
    assert f"is the index {digest}" in error["message"]
    assert f"its linux/arm64 image ({arm64}) is missing" in error["message"]
    assert "push the image again with every platform" in error["hint"]
    # The registry answered: the inspection says what it holds and exactly what it lacks.
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["reachable"] is True and data["digest"] == digest
    assert [p["platform"] for p in data["platforms"]] == ["linux/amd64"]
    assert data["missing"] == [{"platform": "linux/arm64", "digest": arm64, "kind": "manifest"}]
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path)
    assert table.exit_code == 5
    assert digest in table.stdout and image.image("linux/amd64").digest in table.stdout


def test_inspect_s_table_has_a_row_for_each_platform_the_registry_lacks(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """The index is shown all the same: its platform the registry lacks is a row saying
    so, rather than left out of the table (an empty one for a one-platform index). The
    digest column holds each platform's image digest, that of an image whose config is
    missing too (the config's digest is in the error, not in the column)."""
    image = make_image(docker=True)
    seed(registry, repo, image, tags=["v1"])
    arm64 = image.image("linux/arm64").digest
    config = digest_of(image.image("linux/amd64").config)
    raw_delete_manifest(registry.url, repo, arm64)
    requests.delete(f"{registry.url}/v2/{repo}/blobs/{config}", timeout=30).raise_for_status()
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    assert table.exit_code == 5, table.output
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2, table.stdout
    assert any("linux/arm64" in r and arm64 in r and " missing " in r for r in rows), rows
    amd64 = image.image("linux/amd64").digest
    assert any("linux/amd64" in r and amd64 in r and "config missing" in r for r in rows), rows
    assert not any(config in r for r in rows), rows
    assert f"linux/amd64 image's config ({config})" in " ".join(table.output.split())


def test_inspect_says_a_platform_the_index_entry_does_not_name_is_its_config_s(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A hand-made index whose entry for an image names no platform: the table shows the
    platform the image's config names, saying it comes from there, and --json says where
    each platform was read. That image gone, its row says the index names none."""
    image = _with_extra_child(None)  # amd64, arm64, their attestations, an s390x unnamed
    odd = image.attestations[-1].digest
    seed(registry, repo, image, tags=["v1"])
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    assert table.exit_code == 0, table.output
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 3, table.stdout
    said = "linux/s390x (from its config; the index names none)"
    assert [r for r in rows if odd in r] == [r for r in rows if said in r] != [], rows
    assert sum("from its config" in r for r in rows) == 1, rows  # not the named platforms
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(p["platform"], p["digest"], p["platform_from"]) for p in data["platforms"]] == [
        ("linux/amd64", image.image("linux/amd64").digest, "index"),
        ("linux/arm64", image.image("linux/arm64").digest, "index"),
        ("linux/s390x", odd, "config"),
    ]
    assert data["attestations"] == 2
    # The unnamed image gone: "unknown", as before in --json; the table says why.
    raw_delete_manifest(registry.url, repo, odd)
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert data["missing"] == [{"platform": "unknown", "digest": odd, "kind": "manifest"}]
    assert f"but an image it lists ({odd}) is missing" in data["error"]["message"]
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    assert table.exit_code == 5, table.output
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    gone = [r for r in rows if odd in r]
    assert len(gone) == 1 and "unknown (the index names none)" in gone[0], rows
    assert " missing " in gone[0], rows


def test_inspect_of_a_single_image_names_its_config_as_where_its_platform_comes_from(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A single-platform image has no index: its platform is its config's, and the table
    says nothing of an index."""
    image = make_image(("linux/arm64",)).image("linux/arm64")
    digest = seed(registry, repo, image, tags=["one"])
    result = run(["inspect", f"{registry.host}/{repo}:one", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(p["platform"], p["digest"], p["platform_from"]) for p in data["platforms"]] == [
        ("linux/arm64", digest, "config")
    ]
    table = run(["inspect", f"{registry.host}/{repo}:one"], tmp_path, COLUMNS="300")
    assert table.exit_code == 0, table.output
    assert "the index names none" not in table.stdout and "from its config" not in table.stdout


def test_inspect_s_table_lists_a_platform_the_registry_lacks_in_the_index_s_order(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """A missing platform's row stands where the index lists it, not after the others:
    the table reads as the index does (attestations, listed last, are no row)."""
    platforms = ("linux/amd64", "linux/arm64", "linux/ppc64le")
    image = make_image(platforms, attestations=True)
    seed(registry, repo, image, tags=["v1"])
    gone = image.image("linux/arm64").digest
    raw_delete_manifest(registry.url, repo, image.image("linux/amd64").digest)
    raw_delete_manifest(registry.url, repo, gone)
    table = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    assert table.exit_code == 5, table.output
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == list(platforms), table.stdout
    assert [" missing " in r for r in rows] == [True, True, False], rows
    data = json.loads(run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path).stdout)
    assert [m["platform"] for m in data["missing"]] == ["linux/amd64", "linux/arm64"]
    assert data["attestations"] == 3


def test_inspect_an_image_whose_config_is_missing_names_the_platform_and_the_blob(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    image = make_image(docker=True)
    digest = seed(registry, repo, image, tags=["v1"])
    amd64 = image.image("linux/amd64")
    config = digest_of(amd64.config)
    gone = requests.delete(f"{registry.url}/v2/{repo}/blobs/{config}", timeout=30)
    assert gone.status_code == 202, gone.text
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert data["reachable"] is True and data["digest"] == digest
    assert f"its linux/amd64 image's config ({config}) is missing" in data["error"]["message"]
    assert data["missing"] == [{"platform": "linux/amd64", "digest": config, "kind": "config"}]
    assert [p["platform"] for p in data["platforms"]] == ["linux/arm64"]


def test_inspect_an_index_whose_platform_image_comes_back_altered_says_which(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """The registry answered for the index: it is reachable, and the broken piece is named."""
    image = make_image()
    digest = seed(registry, repo, image, tags=["v1"])
    arm64 = image.image("linux/arm64").digest
    proxy = proxy_for(registry)
    proxy.add(Fault("body", method="GET", path=f"/manifests/{arm64}", body=b"{}", times=None))
    result = run(["inspect", f"{proxy.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 8, result.output
    data = json.loads(result.stdout)
    assert data["reachable"] is True and data["digest"] == digest
    assert [p["platform"] for p in data["platforms"]] == ["linux/amd64"]
    message = data["error"]["message"]
    assert f"is the index {digest}, but its linux/arm64 image ({arm64}) cannot be read" in message
    assert "does not match its digest" in message
    assert data["unreadable"] == [{"platform": "linux/arm64", "digest": arm64, "kind": "manifest"}]
    table = run(["inspect", f"{proxy.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert [" unreadable " in r and arm64 in r for r in rows] == [False, True], rows


def test_inspect_an_index_whose_platform_images_all_come_back_altered_names_each(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """Both platform images sent altered: the error names each (it named the first only),
    with what was wrong with it; exit 8."""
    image = make_image()
    digest = seed(registry, repo, image, tags=["v1"])
    proxy = proxy_for(registry)
    proxy.add(Fault("body", method="GET", path="/manifests/sha256:", body=b"{}", times=None))
    result = run(["inspect", f"{proxy.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 8, result.output
    message = json.loads(result.stdout)["error"]["message"]
    assert f"is the index {digest}, but " in message, message
    for platform in ("linux/amd64", "linux/arm64"):
        child = image.image(platform).digest
        assert f"its {platform} image ({child}) cannot be read: " in message, message
        assert f"@{child} does not match its digest" in message, message


def test_inspect_an_index_whose_configs_come_back_altered_shows_its_platforms_unreadable(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """Every config sent altered: the index is shown all the same, a row per platform
    said unreadable (not an empty table, nor a warning that it lists no platform), and
    --json names each piece in "unreadable"; exit 8."""
    image = make_image()
    seed(registry, repo, image, tags=["v1"])
    proxy = proxy_for(registry)
    proxy.add(Fault("body", method="GET", path="/blobs/sha256:", body=b"not json", times=None))
    table = run(["inspect", f"{proxy.host}/{repo}:v1"], tmp_path, COLUMNS="300")
    assert table.exit_code == 8, table.output
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["linux/amd64", "linux/arm64"], rows
    assert all(" config unreadable " in r for r in rows), rows
    assert "lists no platform image" not in table.output
    result = run(["inspect", f"{proxy.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 8, result.output
    data = json.loads(result.stdout)
    assert data["platforms"] == [] and data["missing"] == []
    assert data["unreadable"] == [
        {"platform": p, "digest": digest_of(image.image(p).config), "kind": "config"}
        for p in ("linux/amd64", "linux/arm64")
    ]


def test_inspect_an_image_whose_config_is_missing_says_its_config(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    single = make_image().image("linux/amd64")
    digest = seed(registry, repo, single, tags=["v1"])
    config = digest_of(single.config)
    requests.delete(f"{registry.url}/v2/{repo}/blobs/{config}", timeout=30).raise_for_status()
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 5, result.output
    error = json.loads(result.stdout)["error"]
    assert f"is the image {digest}, but its config ({config}) is missing" in error["message"]
    assert error["hint"] == "push the image again (its config and layers before its manifest)"


def test_inspect_an_index_of_indexes_lists_the_images_inside(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    inner = make_image()
    digest = seed(registry, repo, inner)
    outer = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": digest, "size": len(inner.index)}],
        }
    ).encode()
    put = requests.put(
        f"{registry.url}/v2/{repo}/manifests/v1",
        data=outer,
        headers={"Content-Type": OCI_INDEX},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {p["platform"]: p["size"] for p in data["platforms"]} == inner.sizes
    assert "internal error" not in result.output
    # The nested index gone: the outer one is incomplete, and names the entry it lost.
    raw_delete_manifest(registry.url, repo, digest)
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert data["reachable"] is True and data["platforms"] == []
    assert data["missing"] == [{"platform": "unknown", "digest": digest, "kind": "manifest"}]
    assert f"but an image it lists ({digest}) is missing" in data["error"]["message"]


def test_inspect_an_index_of_indexes_counts_their_attestations_and_keeps_a_named_platform(
    registry: Any, repo: str, seed: Callable[..., str], tmp_path: Path
) -> None:
    """As preflight reads a base: an entry naming a platform narrows its nested index to
    it, and the attestations inside a nested index are counted, never taken for images."""
    inner = make_image(attestations=True)
    digest = seed(registry, repo, inner)
    outer = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_INDEX,
                    "digest": digest,
                    "size": len(inner.index),
                    "platform": {"os": "linux", "architecture": "arm64"},
                }
            ],
        }
    ).encode()
    raw_put_manifest(registry.url, repo, outer, OCI_INDEX, "v1")
    result = run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [p["platform"] for p in data["platforms"]] == ["linux/arm64"]
    assert data["attestations"] == 2
    assert data["missing"] == []


def test_inspect_reads_the_platforms_of_an_index_several_at_a_time(
    registry: Any,
    repo: str,
    seed: Callable[..., str],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """A distant registry answers each request late: the arm64 image is asked for while
    the amd64 one is still held, and the table keeps the index's order."""
    image = make_image()
    seed(registry, repo, image, tags=["v1"])
    amd64, arm64 = image.image("linux/amd64").digest, image.image("linux/arm64").digest
    proxy = proxy_for(registry)
    held = Fault("stall", method="GET", path=f"/manifests/{amd64}", stall_seconds=10)
    later = Fault("stall", method="GET", path=f"/manifests/{arm64}", stall_seconds=0)
    proxy.add(held, later)
    overlapped: list[bool] = []

    def watch() -> None:
        deadline = time.monotonic() + 15
        # Both asked for, in whichever order the two reads reach the proxy.
        while not (later.fired and held.fired) and time.monotonic() < deadline:
            time.sleep(0.005)
        answered = any(amd64 in seen.path for seen in proxy.log)
        overlapped.append(held.fired == 1 and not answered)
        proxy.release()

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = run(["inspect", f"{proxy.host}/{repo}:v1", "--json"], tmp_path)
    watcher.join()
    assert result.exit_code == 0, result.output
    assert overlapped == [True]
    data = json.loads(result.stdout)
    assert [p["digest"] for p in data["platforms"]] == [amd64, arm64]


def test_inspect_warns_of_an_index_that_lists_no_platform_image(
    registry: Any, repo: str, tmp_path: Path
) -> None:
    empty = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
    raw_put_manifest(registry.url, repo, empty, OCI_INDEX, "v1")
    result = run(["inspect", f"{registry.host}/{repo}:v1"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "is an index that lists no platform image: there is nothing to pull" in result.stderr
    data = json.loads(run(["inspect", f"{registry.host}/{repo}:v1", "--json"], tmp_path).stdout)
    assert data["platforms"] == [] and data["ok"] is True


def test_inspect_unreachable(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    result = run(["inspect", f"{host}/nobody/home:v1"], tmp_path)
    assert result.exit_code == 7, result.output
    assert "registry unreachable" in result.output and "after 2 attempts" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------- verify


class Release:
    """A release v1.0.0 of lines 8.3 and 8.4 published to two registries, tags per the plan."""

    def __init__(
        self,
        tmp_path: Path,
        write_matrix: Callable[..., Path],
        hub: Any,
        ghcr: Any,
        repo: str,
        **matrix: Any,
    ) -> None:
        self.hub, self.ghcr, self.repo = hub, ghcr, repo
        self.matrix = write_matrix(
            tmp_path,
            [("hub", f"{hub.host}/{repo}", True), ("ghcr", f"{ghcr.host}/{repo}", False)],
            **matrix,
        )
        self.config = config_mod.load(self.matrix, {})
        self.plan = planning.plan(self.config, "v1.0.0", {})

    def tags(self, php: str, registry: str) -> list[str]:
        return next(list(t.tags) for t in self.plan.line(php).targets if t.registry == registry)

    def publish(
        self,
        php: str,
        image: TestImage,
        registries: tuple[str, ...] = ("hub", "ghcr"),
        skip: tuple[str, ...] = (),
    ) -> str:
        digest = ""
        for name in registries:
            host = self.hub.host if name == "hub" else self.ghcr.host
            tags = [
                t
                for t in self.tags(php, name)
                if (name, t) not in {tuple(s.split(":")) for s in skip}
            ]
            digest = push_raw(f"http://{host}", self.repo, image, tags)
        return digest


@pytest.fixture
def release(
    tmp_path: Path,
    write_matrix: Callable[..., Path],
    registry: Any,
    second_registry: Any,
    repo: str,
) -> Callable[..., Release]:
    def make(**matrix: Any) -> Release:
        return Release(tmp_path, write_matrix, registry, second_registry, repo, **matrix)

    return make


def test_verify_a_complete_release(release: Callable[..., Release], tmp_path: Path) -> None:
    rel = release()
    d83 = rel.publish("8.3", make_image(attestations=True))
    d84 = rel.publish("8.4", make_image())
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix), "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["defects"] == []
    assert [line["digests"] for line in data["lines"]] == [
        {"hub": d83, "ghcr": d83},
        {"hub": d84, "ghcr": d84},
    ]
    assert set(data["lines"][1]["tags"]["hub"]) == {"v1.0.0-php-8.4", "v1.0.0", "php-8.4", "latest"}
    table = run(["verify", "v1.0.0", "--config", str(rel.matrix)], tmp_path)
    assert table.exit_code == 0 and "verified" in table.output and d84[:19] in table.output
    only = run(
        ["verify", "v1.0.0", "--config", str(rel.matrix), "--only", "8.3", "--json"], tmp_path
    )
    assert [line["php"] for line in json.loads(only.stdout)["lines"]] == ["8.3"]


def test_verify_json_in_actions_writes_the_step_summary_as_verify_does(
    release: Callable[..., Release], tmp_path: Path
) -> None:
    """--json changes what stdout carries, not the step summary: the table a maintainer
    reads on the run's page is there either way, and stdout stays the JSON alone."""
    rel = release()
    rel.publish("8.3", make_image())
    d84 = rel.publish("8.4", make_image())
    summaries = []
    for extra in (["--json"], []):
        summary = tmp_path / f"summary{len(summaries)}.md"
        summary.write_text("", encoding="utf-8")
        actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        args = ["verify", "v1.0.0", "--config", str(rel.matrix), *extra]
        result = run(args, tmp_path, **actions)
        assert result.exit_code == 0, result.output + result.stderr
        summaries.append(summary.read_text(encoding="utf-8"))
        if extra:
            assert json.loads(result.stdout)["ok"] is True
    assert "### Release v1.0.0: index digests and compressed sizes" in summaries[0]
    assert d84 in summaries[0]
    assert summaries[0] == summaries[1]
    # its verdict after the table, as on stdout (the summary held the table alone)
    assert summaries[0].endswith(
        "\n\nverified: release v1.0.0 is complete and consistent everywhere\n\n"
    ), summaries[0]


def _seed_defect(kind: str, rel: Release) -> None:
    good84 = make_image()
    if kind == "platform-missing":
        rel.publish("8.3", make_image(platforms=["linux/amd64"]))
    elif kind == "platform-extra":
        rel.publish("8.3", make_image(platforms=["linux/amd64", "linux/arm64", "linux/s390x"]))
    elif kind == "registries-disagree":
        rel.publish("8.3", make_image(), registries=("hub",))
        rel.publish("8.3", make_image(), registries=("ghcr",))
    elif kind == "tag-missing":
        rel.publish("8.3", make_image(), skip=("ghcr:v1.0.0-php-8.3",))
    elif kind == "over-budget":
        rel.publish("8.3", make_image(sizes={"linux/arm64": (1_200_000,)}))
    elif kind == "child-missing":
        image = make_image()
        digest = rel.publish("8.3", image)
        arm = image.image("linux/arm64").digest
        response = requests.delete(
            f"http://{rel.ghcr.host}/v2/{rel.repo}/manifests/{arm}", timeout=10
        )
        assert response.status_code == 202
        assert digest
    rel.publish("8.4", good84)


SEEDED = {
    "platform-missing": "linux/arm64 is missing",
    "platform-extra": "holds linux/s390x",
    "registries-disagree": "registries hold different digests",
    "tag-missing": "tag 'v1.0.0-php-8.3' is missing on ghcr",
    "over-budget": "bytes over the 1,000,000-byte budget",
    "child-missing": "linux/arm64 manifest",
}


@pytest.mark.parametrize("kind", sorted(SEEDED))
def test_verify_reports_each_seeded_defect(
    kind: str, release: Callable[..., Release], tmp_path: Path
) -> None:
    rel = release(line_overrides={"8.3": {"size_budget_mb": 1}})
    _seed_defect(kind, rel)
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix), "--json"], tmp_path)
    assert result.exit_code == 12, result.output
    defects = json.loads(result.stdout)["defects"]
    assert kind in [d["kind"] for d in defects], defects
    assert all(d["php"] == "8.3" for d in defects)
    if kind == "child-missing":  # the index still lists linux/arm64: only its image is gone
        assert [d["kind"] for d in defects] == ["child-missing"], defects
    assert SEEDED[kind] in result.output
    assert "verification failed" in result.output


def _with_extra_child(platform: dict[str, str] | None) -> TestImage:
    """A release's index (amd64, arm64, their attestations) that also lists an s390x image,
    under ``platform`` (None: the entry names no platform), as a hand push may."""
    image = make_image(attestations=True)
    odd = make_platform_image("linux/s390x", rng=random.Random(3))
    entry: dict[str, Any] = {
        "mediaType": odd.media_type,
        "digest": odd.digest,
        "size": len(odd.manifest),
    }
    if platform is not None:
        entry["platform"] = platform
    index = json.loads(image.index)
    index["manifests"].append(entry)
    image.index = canonical(index)
    image.attestations.append(odd)  # pushed before the index, as its other children
    return image


@pytest.mark.parametrize(
    "platform", [None, {"os": "linux", "architecture": "s390x"}], ids=["no-platform", "s390x"]
)
def test_verify_names_the_child_an_index_holds_beyond_its_platforms(
    platform: dict[str, str] | None, release: Callable[..., Release], tmp_path: Path
) -> None:
    """A child that names no platform, or one publisher does not build, is a defect naming
    the index and that child's digest: not "holds unknown", a platform name nobody wrote.
    The attestations beside it are not platforms and no defect."""
    rel = release()
    image = _with_extra_child(platform)
    odd = image.attestations[-1].digest
    digest = rel.publish("8.3", image)
    rel.publish("8.4", make_image())
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix), "--json"], tmp_path)
    assert result.exit_code == 12, result.output
    defects = json.loads(result.stdout)["defects"]
    assert [d["kind"] for d in defects] == ["platform-extra", "platform-extra"], defects
    for defect in defects:  # one per registry
        assert short_digest(digest) in defect["message"], defect
        assert short_digest(odd) in defect["message"], defect
        assert "unknown" not in defect["message"], defect
    said = "with no platform" if platform is None else "linux/s390x"
    assert said in defects[0]["message"], defects
    # A rerun refuses to replace what the pins hold (exit 14): the tip says what does.
    assert "rerun the release" not in result.output
    assert 'publisher republish v1.0.0 --reason "..."' in result.output
    sizes = json.loads(result.stdout)["lines"][0]["registry_sizes"]["hub"]
    assert sorted(sizes) == (
        ["linux/amd64", "linux/arm64"] + ([] if platform is None else ["linux/s390x"])
    )


def test_verify_says_a_child_listed_with_no_platform_that_is_gone_by_its_digest(
    release: Callable[..., Release], tmp_path: Path
) -> None:
    """A child listed with no platform whose manifest (one registry) or config (the
    other) is gone: said by its digest, not as an "unknown platform" nobody wrote."""
    rel = release()
    image = _with_extra_child(None)
    odd = image.attestations[-1]
    rel.publish("8.3", image)
    rel.publish("8.4", make_image())
    raw_delete_manifest(f"http://{rel.ghcr.host}", rel.repo, odd.digest)
    config = digest_of(odd.config)
    gone = requests.delete(f"http://{rel.hub.host}/v2/{rel.repo}/blobs/{config}", timeout=30)
    gone.raise_for_status()
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix), "--json"], tmp_path)
    assert result.exit_code == 12, result.output
    defects = json.loads(result.stdout)["defects"]
    missing = {d["registry"]: d["message"] for d in defects if d["kind"] == "child-missing"}
    assert sorted(missing) == ["ghcr", "hub"], defects
    short = short_digest(odd.digest)
    assert f"manifest {short} (listed with no platform) cannot be fetched" in missing["ghcr"]
    said = f"image {short}'s config blob {short_digest(config)} cannot be fetched"
    assert said in missing["hub"], missing
    assert not any("unknown" in message for message in missing.values()), missing


def test_verify_refuses_an_index_that_lists_indexes_for_its_platforms(
    release: Callable[..., Release], tmp_path: Path
) -> None:
    """An index over buildx's per-platform indexes (each an image and its attestation),
    as a hand-made pin may be, is not what publish writes: each platform is such an index,
    whose size and content verify does not judge. It said "verified", each platform 0 kB."""
    rel = release()
    legs = [
        make_image((platform,), seed=n, attestations=True)
        for n, platform in enumerate(("linux/amd64", "linux/arm64"))
    ]
    entries = []
    for leg in legs:
        os_name, arch = leg.images[0].platform.split("/")
        entries.append(
            {
                "mediaType": OCI_INDEX,
                "digest": leg.digest,
                "size": len(leg.index),
                "platform": {"os": os_name, "architecture": arch},
            }
        )
    body = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    for name, host in (("hub", rel.hub.host), ("ghcr", rel.ghcr.host)):
        for leg in legs:
            push_raw(f"http://{host}", rel.repo, leg)
        for tag in rel.tags("8.3", name):
            raw_put_manifest(f"http://{host}", rel.repo, body, OCI_INDEX, tag)
    rel.publish("8.4", make_image())
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix), "--json"], tmp_path)
    assert result.exit_code == 12, result.output
    defects = json.loads(result.stdout)["defects"]
    assert [d["kind"] for d in defects] == ["platform-nested"] * 4, defects
    assert f"lists linux/amd64 as the index {short_digest(legs[0].digest)}" in defects[0]["message"]
    assert 'publisher republish v1.0.0 --reason "..."' in result.output


def _refused_verify(rel: Release, tmp_path: Path) -> str:
    """``publisher verify v1.0.0`` of ``rel``, which finds defects (exit 12): what it
    said, on one line (wide columns, white space folded)."""
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix)], tmp_path, COLUMNS="400")
    assert result.exit_code == 12, result.output
    return " ".join(result.output.split())


def test_verify_of_a_blob_gone_under_a_manifest_says_what_restores_it(
    release: Callable[..., Release], tmp_path: Path
) -> None:
    """A registry holding an image without its config (or a layer) that the primary holds
    whole is repaired by a rerun, which copies it back from the primary: the tip says so,
    and which blob of which tag is gone. The primary without it is not (the copies start
    there), nor by `audit --repair`, which copies only missing manifests: the tip says
    what does."""
    rel = release()
    image = make_image()
    rel.publish("8.3", image)
    rel.publish("8.4", make_image())
    config = digest_of(image.image("linux/arm64").config)
    raw_delete_blob(f"http://{rel.ghcr.host}", rel.repo, config)
    flat = _refused_verify(rel, tmp_path)
    assert (
        "PHP 8.3: ghcr tags v1.0.0-php-8.3, php-8.3 (" in flat
        and f"linux/arm64 config blob {config[:19]}… cannot be fetched" in flat
    ), flat
    assert (
        "tip: a registry holds an index or image of v1.0.0 without one of its blobs (its "
        "config or a layer), which the primary holds whole: rerun the release (`publisher "
        f"release v1.0.0 --config {rel.matrix}`), which copies back from the primary what "
        "another registry lacks under the release's indexes;" in flat
    ), flat
    assert "skopeo copy" not in flat

    raw_delete_blob(f"http://{rel.hub.host}", rel.repo, config)
    flat = _refused_verify(rel, tmp_path)
    assert (
        "tip: the primary holds an index or image of v1.0.0 without one of its blobs (its "
        "config or a layer): a rerun does not restore it (the copies to the other registries "
        f"start from the primary), nor does `publisher audit --repair --config {rel.matrix}` "
        "(it leaves a release "
        "without a record alone); copy the index again by digest from a registry that holds "
        "it complete" in flat
    ), flat
    assert "skopeo copy --all --preserve-digests docker://HOST/REPOSITORY@DIGEST" in flat
    assert "rerun the release" not in flat


def test_verify_of_an_image_gone_from_under_its_index_sends_to_a_rerun_unless_on_the_primary(
    release: Callable[..., Release], tmp_path: Path
) -> None:
    """A rerun copies back from the primary a platform image another registry lost from
    under an index it holds, not one the primary lost: verify's tip says which."""
    rel = release()
    image = make_image()
    rel.publish("8.3", image)
    rel.publish("8.4", make_image())
    raw_delete_manifest(f"http://{rel.ghcr.host}", rel.repo, image.image("linux/arm64").digest)
    flat = _refused_verify(rel, tmp_path)
    assert "linux/arm64 manifest" in flat and "cannot be fetched" in flat, flat
    assert (
        "tip: a registry holds an index or image of v1.0.0 without one of the manifests it "
        "lists (an image, an attestation manifest), which the primary holds whole: rerun the "
        f"release (`publisher release v1.0.0 --config {rel.matrix}`)" in flat
    ), flat

    raw_delete_manifest(f"http://{rel.hub.host}", rel.repo, image.image("linux/arm64").digest)
    flat = _refused_verify(rel, tmp_path)
    assert (
        "tip: the primary holds an index or image of v1.0.0 without one of the manifests it "
        "lists (an image, an attestation manifest): a rerun does not restore it" in flat
    ), flat
    assert "rerun the release" not in flat


def test_verify_lists_every_defect_at_once(release: Callable[..., Release], tmp_path: Path) -> None:
    rel = release(line_overrides={"8.3": {"size_budget_mb": 1}})
    rel.publish(
        "8.3",
        make_image(platforms=["linux/amd64", "linux/s390x"], sizes={"linux/amd64": (1_200_000,)}),
        registries=("hub",),
    )
    rel.publish("8.3", make_image(), registries=("ghcr",), skip=("ghcr:v1.0.0-php-8.3",))
    rel.publish("8.4", make_image(platforms=["linux/arm64"]), registries=("hub",))
    result = run(["verify", "v1.0.0", "--config", str(rel.matrix)], tmp_path)
    assert result.exit_code == 12
    for text in (
        "linux/arm64 is missing",
        "holds linux/s390x",
        "bytes over the 1,000,000-byte budget",
        "the floating tags on ghcr point at",  # its pin is missing there
        "tag 'v1.0.0-php-8.3' is missing on ghcr",
        "tag 'latest' is missing on ghcr",
        "PHP 8.4: hub",
    ):
        assert text in result.output, text


# ---------------------------------------------------------------- preflight


def _seed_bases(
    registry: Any,
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
    path: str = "base/php",
) -> str:
    template = f"{registry.host}/{path}:{{php}}-fpm-alpine"
    for php in ("8.3", "8.4"):
        push_raw(registry.url, path, make_image(platforms=platforms), [f"{php}-fpm-alpine"])
    return template


def _preflight_error_via_mirror(matrix: Path, tmp_path: Path, mirror: Any) -> str:
    """What follows ``error:`` when preflight of ``matrix``, its bases pulled through the
    registry ``mirror`` (PUBLISHER_BASE_MIRROR), stops on a base (exit 5)."""
    env = {"PUBLISHER_BASE_MIRROR": mirror.host}
    result = run(["preflight", "--config", str(matrix)], tmp_path, **env)
    assert result.exit_code == 5, result.output
    return result.stderr.split("error:", 1)[1]


def test_preflight_passes(
    registry: Any,
    second_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    base = _seed_bases(registry)
    matrix = write_matrix(
        tmp_path,
        [
            ("hub", f"{registry.host}/{repo}", True),
            ("ghcr", f"{second_registry.host}/{repo}", False),
        ],
        base_image=base,
    )
    result = run(["preflight", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 0, result.output
    for text in (
        "hub reachable",
        "hub push access",
        "ghcr push access",
        "PHP 8.3 base",
        "PHP 8.4 base",
    ):
        assert text in result.output
    as_json = run(["preflight", "--config", str(matrix), "--json"], tmp_path)
    assert [c["check"] for c in json.loads(as_json.stdout)][:2] == [
        "hub reachable",
        "hub push access",
    ]
    # Nothing was written by the push check.
    assert requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=10).status_code == 404


def test_preflight_base_missing_a_platform(
    registry: Any, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    base = f"{registry.host}/base-amd64-only/php:{{php}}-fpm-alpine"
    for php in ("8.3", "8.4"):
        push_raw(
            registry.url,
            "base-amd64-only/php",
            make_image(platforms=["linux/amd64"]),
            [f"{php}-fpm-alpine"],
        )
    matrix = write_matrix(tmp_path, [("hub", f"{registry.host}/{repo}", True)], base_image=base)
    result = run(["preflight", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 5, result.output
    assert "has no image for linux/arm64" in result.output


def test_preflight_names_a_base_missing_a_platform_via_the_mirror_as_release_does(
    registry: Any,
    second_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The registry has both platforms of the bases, the mirror only amd64: the failure
    names the line's base via the mirror, and the mirror's copy, as a release names a
    base it could not read through the mirror (``base_named``)."""
    path = f"base-mirrored-{uuid.uuid4().hex[:8]}/php"
    _seed_bases(second_registry, ("linux/amd64",), path)
    base = _seed_bases(registry, path=path)
    matrix = write_matrix(tmp_path, [("hub", f"{registry.host}/{repo}", True)], base_image=base)
    error = _preflight_error_via_mirror(matrix, tmp_path, second_registry)
    assert error.startswith(
        f" not found: PHP 8.3 base {registry.host}/{path}:8.3-fpm-alpine via the mirror "
        f"{second_registry.host} ({second_registry.host}/{path}:8.3-fpm-alpine) has no image "
        "for linux/arm64 (it has linux/amd64)"
    ), error


def test_preflight_reads_the_bases_several_at_a_time_and_reports_in_order(
    registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    proxy_for: Callable[[Any], FaultProxy],
    tmp_path: Path,
) -> None:
    """The bases after the first are read together: the PHP 8.4 base is asked for while
    the PHP 8.3 one is still held by the registry. The report keeps the lines' order, and
    of two failing bases, the first line's is the one raised."""
    lines = ("8.2", "8.3", "8.4")
    for php in lines:
        push_raw(registry.url, "base/php", make_image(), [f"{php}-fpm-alpine"])
    proxy = proxy_for(registry)
    held = Fault("stall", method="GET", path="/base/php/manifests/8.3-", stall_seconds=10)
    later = Fault("stall", method="GET", path="/base/php/manifests/8.4-", stall_seconds=0)
    proxy.add(held, later)
    overlapped: list[bool] = []

    def watch() -> None:
        # When the 8.4 base is asked for: is the 8.3 one still held (asked, not answered)?
        deadline = time.monotonic() + 15
        # Both asked for, in whichever order the two reads reach the proxy.
        while not (later.fired and held.fired) and time.monotonic() < deadline:
            time.sleep(0.005)
        answered = any("/manifests/8.3-" in seen.path for seen in proxy.log)
        overlapped.append(held.fired == 1 and not answered)
        proxy.release()

    watcher = threading.Thread(target=watch)
    watcher.start()
    base = f"{proxy.host}/base/php:{{php}}-fpm-alpine"
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{registry.host}/{repo}", True)],
        base_image=base,
        lines=lines,
        default_line="8.4",
    )
    result = run(["preflight", "--config", str(matrix), "--json"], tmp_path)
    watcher.join()
    assert result.exit_code == 0, result.output
    assert overlapped == [True]
    checks = json.loads(result.stdout)
    assert [c["check"] for c in checks] == [
        "hub reachable",
        "hub push access",
        "PHP 8.2 base",
        "PHP 8.3 base",
        "PHP 8.4 base",
    ]
    assert all(c["ok"] for c in checks)
    # Two bases missing: the report ends at the first line's, whichever answered first.
    proxy.clear()
    proxy.add(Fault("stall", method="GET", path="/base/php/manifests/8.3-", stall_seconds=0.5))
    missing = f"{proxy.host}/base/php:{{php}}-missing"
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{registry.host}/{repo}", True)],
        base_image=missing,
        lines=lines,
        default_line="8.4",
        line_overrides={"8.2": {"base_image": base.replace("{php}", "8.2")}},
    )
    failed = run(["preflight", "--config", str(matrix), "--json"], tmp_path)
    assert failed.exit_code == 5, failed.output
    checks = json.loads(failed.stdout)
    assert [(c["check"], c["ok"]) for c in checks][2:] == [
        ("PHP 8.2 base", True),
        ("PHP 8.3 base", False),
    ]
    assert "8.3-missing" in checks[-1]["result"]


def test_preflight_follows_a_base_that_is_an_index_inside_an_index(
    registry: Any, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    """The OCI image-index spec lets an index list another index (BuildKit builds FROM
    one): the platforms of the nested index are the base's, not "none"."""
    inner = make_image(platforms=["linux/amd64", "linux/arm64"])
    inner_digest = push_raw(registry.url, "nested/php", inner)
    outer = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_INDEX, "digest": inner_digest, "size": len(inner.index)}],
    }
    body = json.dumps(outer).encode()
    for php in ("8.3", "8.4"):
        raw_put_manifest(registry.url, "nested/php", body, OCI_INDEX, f"{php}-fpm-alpine")
    base = f"{registry.host}/nested/php:{{php}}-fpm-alpine"
    matrix = write_matrix(tmp_path, [("hub", f"{registry.host}/{repo}", True)], base_image=base)
    result = run(["preflight", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "8.4-fpm-alpine has linux/amd64, linux/arm64" in result.output
    # An entry naming a platform narrows its nested index to that platform.
    outer["manifests"][0]["platform"] = {"architecture": "amd64", "os": "linux"}
    body = json.dumps(outer).encode()
    raw_put_manifest(registry.url, "nested/php", body, OCI_INDEX, "8.4-fpm-alpine")
    narrowed = run(["preflight", "--config", str(matrix)], tmp_path)
    assert narrowed.exit_code == 5, narrowed.output
    assert "has no image for linux/arm64 (it has linux/amd64)" in narrowed.output


def test_preflight_refused_by_a_quota_says_so_not_that_the_account_may_not_push(
    registry: Any,
    basic_registry: Any,
    repo: str,
    proxy_for: Callable[[Any], FaultProxy],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The push check meets Harbor's quota (403 DENIED "quota exceeded") after the
    registry took the credentials: the error quotes the reason and tips at the quota,
    not at the password nor at the account's push access."""
    base = _seed_bases(registry)
    front = proxy_for(basic_registry)
    reason = "quota exceeded: storage limit of 10 GiB reached for project acme"
    body = json.dumps({"errors": [{"code": "DENIED", "message": reason}]}).encode()
    front.add(Fault("status", method="POST", path="/blobs/uploads/", status=403, body=body))
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{front.host}/{repo}", True)],
        base_image=base,
        credentials={"hub": ("GU", "GP")},
    )
    result = run(
        ["preflight", "--config", str(matrix)],
        tmp_path,
        GU=basic_registry.username,
        GP=basic_registry.password,
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 4, result.output
    assert "error: access denied: hub" in said, said
    assert (
        f"refused the operation by policy (HTTP 403), though it accepted the credentials of "
        f"{basic_registry.username!r} (env GU/GP): DENIED: {reason}"
    ) in said, said
    assert "tip: the registry's storage quota is used up" in said, said
    assert "check both values" not in said and "may pull but not push" not in said, said
    assert basic_registry.password not in result.output


def test_preflight_read_only_token_cannot_push(
    registry: Any, token_registry: Any, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    base = _seed_bases(registry)
    matrix = write_matrix(
        tmp_path,
        [("tok", f"{token_registry.host}/{repo}", True)],
        base_image=base,
        credentials={"tok": ("TOK_USERNAME", "TOK_TOKEN")},
    )
    reader = token_registry.reader
    result = run(
        ["preflight", "--config", str(matrix)],
        tmp_path,
        TOK_USERNAME=reader.username,
        TOK_TOKEN=reader.password,
    )
    assert result.exit_code == 4, result.output
    assert "tok reachable" in result.output
    assert "TOK_USERNAME and TOK_TOKEN" in result.output
    assert f"may pull but not push to {token_registry.host}/{repo}" in result.output
    assert f"token scope needed: repository:{repo}:pull,push" in result.output
    assert "password" not in result.output.lower()
    assert reader.password not in result.output
    pusher = token_registry.pusher
    ok = run(
        ["preflight", "--config", str(matrix)],
        tmp_path,
        TOK_USERNAME=pusher.username,
        TOK_TOKEN=pusher.password,
    )
    assert ok.exit_code == 0, ok.output


def test_preflight_unreachable_registry(write_matrix: Callable[..., Path], tmp_path: Path) -> None:
    matrix = write_matrix(tmp_path, [("hub", f"127.0.0.1:{free_port()}/test/php", True)])
    result = run(["preflight", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 7, result.output


def test_preflight_failure_names_the_base_via_the_mirror_and_json_lists_the_checks(
    registry: Any,
    second_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The mirror is on the host of a target registry (ghcr) and lacks the bases: the
    failure is the PHP 8.3 base via the mirror, not ghcr; --json prints every check."""
    matrix = write_matrix(
        tmp_path,
        [
            ("hub", f"{registry.host}/{repo}", True),
            ("ghcr", f"{second_registry.host}/{repo}", False),
        ],
        base_image=_seed_bases(registry),
    )
    error = _preflight_error_via_mirror(matrix, tmp_path, second_registry)
    assert error.startswith(
        f" not found: PHP 8.3 base {registry.host}/base/php:8.3-fpm-alpine via the mirror "
        f"{second_registry.host} ({second_registry.host}/base/php:8.3-fpm-alpine): "
    ), error
    assert "ghcr" not in error, error
    mirror = {"PUBLISHER_BASE_MIRROR": second_registry.host}
    result = run(["preflight", "--config", str(matrix), "--json"], tmp_path, **mirror)
    assert result.exit_code == 5, result.output
    checks = json.loads(result.stdout)
    assert [(c["check"], c["ok"]) for c in checks] == [
        ("hub reachable", True),
        ("hub push access", True),
        ("ghcr reachable", True),
        ("ghcr push access", True),
        ("PHP 8.3 base", False),
    ]
    assert checks[-1]["exit_code"] == 5 and "via the mirror" in checks[-1]["result"]
    # the failed check carries the error as every failure's document does, hint included
    error = checks[-1]["error"]
    assert error["kind"] == "not found" and error["exit_code"] == 5
    assert error["message"] == checks[-1]["result"] and "check that it serves" in error["hint"]
    assert all("error" not in c for c in checks[:-1])


def test_release_and_build_meeting_a_base_gone_through_the_mirror_say_it_as_preflight(
    registry: Any,
    second_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The mirror (on ghcr's host) serves PHP 8.4's base but not 8.3's tag: a release and
    a build leg stop before any build (exit 5) naming the base via the mirror and tipping
    to check the mirror first, then the base-gone tip, in preflight's words."""
    import publisher.cli.release_cmds  # noqa: F401  (registers release and build on main)
    from tests.conftest import ROOT

    matrix = write_matrix(
        tmp_path,
        [
            ("hub", f"{registry.host}/{repo}", True),
            ("ghcr", f"{second_registry.host}/{repo}", False),
        ],
        base_image=_seed_bases(registry),
    )
    push_raw(second_registry.url, "base/php", make_image(), ["8.4-fpm-alpine"])
    (tmp_path / "dockerfiles").mkdir()
    shutil.copy(ROOT / "dockerfiles" / "Dockerfile.j2", tmp_path / "dockerfiles")
    assert run(["render", "--config", str(matrix)], tmp_path).exit_code == 0
    (tmp_path / "home" / ".docker").mkdir()
    (tmp_path / "home" / ".docker" / "config.json").write_text("{}", encoding="utf-8")
    env = {"PUBLISHER_BASE_MIRROR": second_registry.host, "PUBLISHER_BUILDER": "buildah"}
    leg = ["--php", "8.3", "--platform", "linux/amd64", "--digest-file", str(tmp_path / "d")]
    runs = {
        "preflight": ["preflight"],
        "release": ["release", "v1.0.0", "--no-smoke", "--notes-dir", str(tmp_path / "n")],
        "build": ["build", "v1.0.0", *leg],
    }
    said = {}
    for name, argv in runs.items():
        result = run([*argv, "--config", str(matrix)], tmp_path, **env)
        assert result.exit_code == 5, f"{name}: {result.output}"
        said[name] = result.stderr
        assert "Traceback" not in result.stderr and "buildah build" not in result.stderr
    error = said["preflight"].split("error:", 1)[1]
    assert error.startswith(
        f" not found: PHP 8.3 base {registry.host}/base/php:8.3-fpm-alpine via the mirror "
        f"{second_registry.host} ({second_registry.host}/base/php:8.3-fpm-alpine): "
    ), error
    tip = said["preflight"].split("tip: ", 1)[1]
    assert tip.startswith(
        f"every base is pulled through the mirror {second_registry.host} (base.mirror in "
        "matrix.yaml, or PUBLISHER_BASE_MIRROR): check that it serves "
        f"{registry.host}/base/php:8.3-fpm-alpine, or unset it; "
    ), tip
    assert "pin that base by digest" in tip, tip
    for name in ("release", "build"):
        assert said[name].split("error:", 1)[1].split("\n", 1)[0] in error, said[name]
        assert said[name].split("tip: ", 1)[1] == tip, said[name]
    assert not (tmp_path / "d").exists() and not (tmp_path / "n" / "v1.0.0.json").exists()


def test_verify_json_with_refused_credentials_prints_the_error_as_json(
    basic_registry: Any, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    """A registry refusing the credentials stops verify with exit 4; with --json the
    reader of stdout still gets one document, and no secret in it."""
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{basic_registry.host}/{repo}", True)],
        credentials={"hub": ("HUB_USERNAME", "HUB_TOKEN")},
    )
    result = run(
        ["verify", "v1.0.0", "--config", str(matrix), "--json"],
        tmp_path,
        HUB_USERNAME=basic_registry.username,
        HUB_TOKEN="not-the-password",
    )
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 4
    assert "not authorized (HTTP 401)" in document["error"]["message"]
    assert "HUB_USERNAME/HUB_TOKEN" in document["error"]["message"]
    assert "not-the-password" not in result.output


def test_refused_credentials_from_the_environment_are_said_to_be_set_and_wrong(
    basic_registry: Any, repo: str, write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    """The variables matrix.yaml names are set and the registry refuses what they hold:
    the tip says to check their values, not to set them."""
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{basic_registry.host}/{repo}", True)],
        credentials={"hub": ("HUB_USERNAME", "HUB_TOKEN")},
    )
    result = run(
        ["verify", "v1.0.0", "--config", str(matrix)],
        tmp_path,
        HUB_USERNAME=basic_registry.username,
        HUB_TOKEN="not-the-password",
    )
    assert result.exit_code == 4, result.output
    # verify names the registry that refused its reads, then its tip for that registry
    tip = " ".join(result.stderr.partition("  tip:")[2].split())
    assert (
        "hub: the registry refused the username and password in HUB_USERNAME and HUB_TOKEN "
        "(named in matrix.yaml): check both values" in tip
    ), result.stderr
    assert "set HUB_USERNAME" not in result.stderr
    assert "not-the-password" not in result.output


@pytest.mark.parametrize(
    ("name", "how", "it"),
    [("HUB_TOKEN", "ends with a newline", "it"), ("HUB_USERNAME", "has blanks around it", "them")],
)
def test_refused_credentials_with_a_newline_or_blanks_say_which_variable_holds_them(
    basic_registry: Any,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
    name: str,
    how: str,
    it: str,
) -> None:
    """A token from a hand-made env file (``HUB_TOKEN=$'...\\n'``) keeps its newline, and
    the registry refuses it with the right password before it: the tip names the
    variable and what is around its value (sent as given, never changed), never the
    value itself."""
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{basic_registry.host}/{repo}", True)],
        credentials={"hub": ("HUB_USERNAME", "HUB_TOKEN")},
    )
    given = {"HUB_USERNAME": basic_registry.username, "HUB_TOKEN": basic_registry.password}
    given[name] = given[name] + "\n" if name == "HUB_TOKEN" else f" {given[name]}\t"
    result = run(["verify", "v1.0.0", "--config", str(matrix)], tmp_path, **given)
    assert result.exit_code == 4, result.output
    flat = " ".join(result.stderr.partition("  tip:")[2].split())
    assert (
        f"hub: the value of {name} {how}, sent as part of the "
        f"{'password' if name == 'HUB_TOKEN' else 'username'} (a credential is sent as "
        f"given): set {name} without {it}; the registry refused the username and password "
        "in HUB_USERNAME and HUB_TOKEN (named in matrix.yaml): check both values"
    ) in flat, result.stderr
    assert basic_registry.password not in result.output


def _unreachable_bases_matrix(where: Path, tmp_path: Path) -> Path:
    """A real (not stand-in) matrix in ``where`` whose bases are on a loopback port no
    registry listens on, its Dockerfiles rendered."""
    import publisher.cli.release_cmds  # noqa: F401  (registers release on main)
    from tests.conftest import ROOT

    matrix = where / "matrix.yaml"
    matrix.write_text(
        "registries:\n"
        "  - {name: hub, repository: docker.io/acme/php-fpm, primary: true}\n"
        'default_line: "8.4"\n'
        f'base: {{image: "127.0.0.1:{free_port()}/library/php:{{php}}-fpm-alpine"}}\n'
        f"template: {ROOT / 'dockerfiles' / 'Dockerfile.j2'}\n"
        'lines:\n  - php: "8.4"\n',
        encoding="utf-8",
    )
    assert run(["render", "--config", str(matrix)], tmp_path).exit_code == 0
    return matrix


def test_the_stand_in_tip_names_a_matrix_under_a_hostile_directory_escaped(
    tmp_path: Path,
) -> None:
    """The tip of a rehearsal that cannot reach its bases names its matrix.yaml escaped:
    a line break or ESC in the directory's name forges no line and drives no terminal."""
    hostile = tmp_path / "x\nerror: forged\x1b[31m"
    hostile.mkdir()
    matrix = _unreachable_bases_matrix(hostile, tmp_path)
    result = run(["release", "v2.0.0", "--local", "--dry-run", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 7, result.output
    assert "x\\nerror: forged\\x1b[31m/matrix.yaml has no stand_in: true" in result.stderr
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines())
    assert "\x1b" not in result.stderr, result.stderr


def test_a_rehearsal_whose_bases_cannot_be_reached_says_how_to_rehearse_on_stand_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`publisher release v2.0.0 --local`, the top-level help's example, pulls the bases from
    where matrix.yaml names them: a machine that cannot reach them (offline) is told,
    beside what to check, that a stand-in matrix rehearses without them, and how: by a
    command that works from the directory it was run in (run outside publisher's checkout,
    it named examples/offline/matrix.yaml, which is not there)."""
    from tests.conftest import ROOT

    matrix = _unreachable_bases_matrix(tmp_path, tmp_path)
    args = ["release", "v2.0.0", "--local", "--dry-run", "--config", str(matrix)]
    example = ROOT / "examples" / "offline" / "matrix.yaml"
    for where, named in ((ROOT, "examples/offline/matrix.yaml"), (tmp_path, str(example))):
        monkeypatch.chdir(where)
        result = run(args, tmp_path)
        assert result.exit_code == 7, result.output
        assert "registry unreachable" in result.output and "Traceback" not in result.output
        assert (
            "no stand_in: true in it, so this rehearsal pulls the real bases; to rehearse "
            "without reaching them, run it on a copy of the matrix with stand_in: true (README, "
            '"The two commands"), or on publisher\'s offline example: `publisher release '
            f"v2.0.0 --local --config {named}`"
        ) in " ".join(result.output.split()), result.output
        assert (where / named).is_file()  # the command works from there


def test_the_offline_example_s_command_quotes_a_path_with_a_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offline example found beside a matrix under a directory with a space in its
    name: the command of the tip pastes into a shell, its --config quoted."""
    import shlex

    import publisher.cli.release_cmds  # noqa: F401  (registers release on main)
    from tests.conftest import ROOT

    project = tmp_path / "h9 play"
    example = project / "examples" / "offline" / "matrix.yaml"
    example.parent.mkdir(parents=True)
    example.write_bytes((ROOT / "examples" / "offline" / "matrix.yaml").read_bytes())
    matrix = project / "matrix.yaml"
    matrix.write_text(
        "registries:\n"
        "  - {name: hub, repository: docker.io/acme/php-fpm, primary: true}\n"
        'default_line: "8.4"\n'
        f'base: {{image: "127.0.0.1:{free_port()}/library/php:{{php}}-fpm-alpine"}}\n'
        f"template: {ROOT / 'dockerfiles' / 'Dockerfile.j2'}\n"
        'lines:\n  - php: "8.4"\n',
        encoding="utf-8",
    )
    assert run(["render", "--config", str(matrix)], tmp_path).exit_code == 0
    monkeypatch.chdir(tmp_path)  # no examples/offline/matrix.yaml below it
    result = run(["release", "v2.0.0", "--local", "--dry-run", "--config", str(matrix)], tmp_path)
    assert result.exit_code == 7, result.output
    said = " ".join(result.output.split())
    command = f"publisher release v2.0.0 --local --config {shlex.quote(str(example))}"
    assert f"`{command}`" in said, result.output


# ------------------------------------------------------------ which stream carries what


def _result_only(args: list[str], stdout: str) -> None:
    """stdout is the command's result alone: its JSON document, or its lines."""
    if "--json" in args or "--github" in args:
        json.loads(stdout)  # one document, nothing around it
    elif args[0] == "inspect":
        assert stdout.startswith("reference: "), stdout
    else:  # matrix: its table of legs
        assert "8.4" in stdout and "linux/amd64" in stdout, stdout


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "{host}/{repo}:v1"],
        ["inspect", "{host}/{repo}:v1", "--json"],
        ["matrix", "v2.0.0", "--config", "{matrix}"],
        ["matrix", "v2.0.0", "--config", "{matrix}", "--github"],
    ],
    ids=lambda a: " ".join(x for x in a if "{" not in x),
)
def test_a_retry_is_said_on_stderr_and_stdout_holds_the_result_alone(
    args: list[str],
    registry: Any,
    proxy: FaultProxy,
    repo: str,
    seed: Callable[..., str],
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """A registry that fails once, then answers: the retry is progress, said on stderr
    with --json or --github too; stdout carries the result, and nothing else."""
    seed(registry, repo, make_image(), tags=["v1"])
    matrix = write_matrix(
        tmp_path,
        [("hub", f"{proxy.host}/{repo}", True)],
        lines=("8.4",),
        platforms=("linux/amd64",),
    )
    proxy.add(Fault("status", path="/manifests/", status=503))
    said = [a.format(host=proxy.host, repo=repo, matrix=matrix) for a in args]
    result = run(said, tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "HTTP 503" in result.stderr and "retrying in " in result.stderr, result.stderr
    # (not a bare "503": a digest or a port in the result may hold those digits)
    assert "retrying" not in result.stdout and "HTTP 503" not in result.stdout, result.stdout
    _result_only(args, result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "{host}/nobody/home:v1"],
        ["inspect", "{host}/nobody/home:v1", "--json"],
        ["matrix", "v2.0.0", "--config", "{matrix}"],
        ["matrix", "v2.0.0", "--config", "{matrix}", "--github"],
    ],
    ids=lambda a: " ".join(x for x in a if "{" not in x),
)
def test_the_retries_of_an_unreachable_registry_are_said_on_stderr_in_every_mode(
    args: list[str], write_matrix: Callable[..., Path], tmp_path: Path
) -> None:
    """However the command writes its result, each retry of a registry that never answers
    is said on stderr before the error (a long wait is never silent), and never on stdout:
    stdout holds the JSON error document with --json, nothing without."""
    host = f"127.0.0.1:{free_port()}"
    matrix = write_matrix(tmp_path, [("hub", f"{host}/test/php", True)], lines=("8.4",))
    result = run([a.format(host=host, matrix=matrix) for a in args], tmp_path)
    assert result.exit_code == 7, result.stdout + result.stderr
    retries = [line for line in result.stderr.splitlines() if "retrying in " in line]
    assert len(retries) == 1 and retries[0].endswith("(attempt 2 of 2)"), result.stderr
    assert result.stderr.index("retrying in ") < result.stderr.index("error: registry unreachable")
    assert "retrying" not in result.stdout, result.stdout
    if "--json" in args:
        assert json.loads(result.stdout)["error"]["exit_code"] == 7
    else:
        assert result.stdout == ""
