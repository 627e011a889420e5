"""The probe's pure helpers: challenges, index platforms, tags, docker config credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from publisher.adapters import probe as probing
from publisher.adapters.probe import BasicCredentials
from publisher.core import config as config_module
from publisher.resolve import CredentialsError


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:twentyi/php-fpm:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:twentyi/php-fpm:pull",
            },
        ),
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        ("Bearer realm=x, service=y", "bearer", {"realm": "x", "service": "y"}),
        ('Bearer realm="a\\"b"', "bearer", {"realm": 'a"b'}),
    ],
)
def test_the_probe_reads_challenges_with_the_strict_parser(
    header: str, scheme: str, params: dict[str, str]
) -> None:
    (challenge,) = probing.parse_challenges(header)
    assert (challenge.scheme, challenge.params) == (scheme, params)


@pytest.mark.parametrize("header", ["", "Bearer realm=http://127.0.0.1:9/t", 'Bearer realm="x'])
def test_a_malformed_challenge_is_refused(header: str) -> None:
    # An unquoted URL is not a token (RFC 9110): the probe then answers the 401 as it
    # answers an unknown scheme, and never sends credentials to a guessed realm.
    with pytest.raises(ValueError):
        probing.parse_challenges(header)


def test_index_platforms_skip_attestations() -> None:
    index = {
        "mediaType": probing.OCI_INDEX,
        "manifests": [
            {
                "digest": "sha256:1",
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {"digest": "sha256:2", "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": "sha256:3",
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    assert probing.index_platforms(index) == ("linux/amd64", "linux/arm64")
    with pytest.raises(ValueError, match="no 'manifests' list"):
        probing.index_platforms({"manifests": None})


def test_platform_of_config() -> None:
    assert probing.platform_of({"os": "linux", "architecture": "arm64"}) == "linux/arm64"
    assert probing.platform_of({"architecture": "arm64"}) is None


def test_release_lines_from_tags() -> None:
    tags = [
        "v2.0.0-php-8.10",
        "v2.0.0-php-8.4",
        "v2.0.0-php-8.4-extra",
        "v2.0.0-php-08.4",  # not a PHP line: the one grammar has no leading zeros
        "v2.0.0",
        "v2.0.1-php-8.5",
        "latest",
    ]
    assert probing.release_lines(tags, "v2.0.0") == ("8.4", "8.10")
    assert probing.release_lines(["v2.0.0-rc.1-php-8.4"], "v2.0.0-rc.1") == ("8.4",)


def test_one_php_line_grammar_and_pin_tag() -> None:
    from publisher.core import plan
    from publisher.core.version import parse_release
    from publisher.resolve import is_php_line, pin_tag, split_pin_tag

    assert [is_php_line(t) for t in ("8.4", "8.10", "0.0", "08.4", "8.04", "8", "8.4.1")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    # each number at most 3 digits: a line is a directory name, a tag and an int()
    assert [is_php_line(t) for t in ("999.999", "8.1000", "1000.0", "8." + "9" * 5000)] == [
        True, False, False, False,
    ]  # fmt: skip
    assert pin_tag("v2.0.0", "8.4") == plan.pin_tag(parse_release("v2.0.0"), "8.4")
    assert split_pin_tag("v2.0.0-rc.1-php-8.4") == ("v2.0.0-rc.1", "8.4")
    assert split_pin_tag("v2.0.0-php-08.4") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("[::1]", True),
        ("::1", True),
        ("0:0:0:0:0:0:0:1", True),
        ("::ffff:127.0.0.1", True),
        ("LOCALHOST", True),
        ("docker.io", False),
        ("registry.local:5000", False),
        ("128.0.0.1:5000", False),
        # Not an address: leading zeros read as octal by some resolvers, decimal by others.
        ("127.000.000.001", False),
        ("127.0.0.01:5000", False),
        ("127.0.0.256", False),
        ("127.1", False),
        ("::2", False),
        ("[::1", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert probing.is_loopback(host) is loopback
    # The matrix reader and the full client ask the same function.
    assert config_module.is_loopback is probing.is_loopback


def test_api_host_and_target_image() -> None:
    assert probing.api_host("docker.io") == "registry-1.docker.io"
    assert probing.api_host("ghcr.io") == "ghcr.io"
    digest = "sha256:" + "a" * 64
    tag_target = probing.Target("ghcr.io", "a/b", "v1.0.0-php-8.4", "linux/amd64")
    assert tag_target.image == "ghcr.io/a/b:v1.0.0-php-8.4"
    assert probing.Target("ghcr.io", "a/b", digest, "linux/amd64").image == f"ghcr.io/a/b@{digest}"


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_from_config_auths() -> None:
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": _auth("hub", "hub-secret")},
            "ghcr.io": {"username": "gh", "password": "gh-secret"},
        }
    }
    hub = probing.credentials_from_config(config, "docker.io")
    assert hub == BasicCredentials("hub", "hub-secret", "docker config")
    assert "hub-secret" not in repr(hub)
    assert probing.credentials_from_config(config, "ghcr.io") == BasicCredentials(
        "gh", "gh-secret", "docker config"
    )
    assert probing.credentials_from_config(config, "quay.io") is None
    broken = {"auths": {"quay.io": {"auth": "%%%"}}}
    with pytest.raises(CredentialsError, match="not base64 of user:password"):
        probing.credentials_from_config(broken, "quay.io")


def test_credentials_from_helpers() -> None:
    asked: list[tuple[str, str]] = []

    def run(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
        asked.append((argv[0], stdin.decode()))
        return 0, json.dumps({"Username": "u", "Secret": "p"}).encode()

    def helper(host: str) -> Callable[[str], BasicCredentials | None]:
        return lambda name: probing.helper_credentials(name, host, run=run, timeout=1)

    config = {"credHelpers": {"ghcr.io": "gh"}, "credsStore": "desktop", "auths": {}}
    found = probing.credentials_from_config(config, "ghcr.io", helper=helper("ghcr.io"))
    assert found == BasicCredentials("u", "p", "docker credential helper gh")
    assert probing.credentials_from_config(config, "docker.io", helper=helper("docker.io"))
    assert asked == [
        ("docker-credential-gh", "ghcr.io"),
        ("docker-credential-desktop", "https://index.docker.io/v1/"),
    ]


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ((1, b"credentials not found in native keychain"), None),
        ((0, b""), None),
        ((0, b'{"Username": "<token>", "Secret": "refresh"}'), None),  # an identity token
        ((0, b'{"Username": "u", "Secret": ""}'), None),
        ((1, b"boom"), r"failed \(exit 1\)"),
        ((0, b"not json"), "unreadable answer"),
        (FileNotFoundError("docker-credential-x"), "is not installed"),
        (TimeoutError(), "did not answer within 2 s"),
        (PermissionError(13, "Permission denied"), "could not be started: Permission denied"),
    ],
)
def test_helper_answers(answer: tuple[int, bytes] | Exception, found: str | None) -> None:
    def run(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    if found is None:
        assert probing.helper_credentials("x", "ghcr.io", run=run, timeout=2) is None
    else:
        with pytest.raises(CredentialsError, match=found) as info:
            probing.helper_credentials("x", "ghcr.io", run=run, timeout=2)
        assert info.value.hint, "every refusal says what to do"


def test_find_credentials_goes_anonymous_when_the_config_is_unusable(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path)}
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "gone"}))

    def missing(argv: Sequence[str], stdin: bytes, timeout: float) -> tuple[int, bytes]:
        raise FileNotFoundError(argv[0])

    assert probing.find_credentials("ghcr.io", env, run=missing) is None
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": "%%%"}}}))
    assert probing.find_credentials("ghcr.io", env) is None


def test_find_credentials_prefers_the_environment(tmp_path: Path) -> None:
    config = {"auths": {"ghcr.io": {"auth": _auth("cfg", "cfg-pw")}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert probing.find_credentials("ghcr.io", env) == BasicCredentials(
        "cfg", "cfg-pw", "docker config"
    )
    env.update({probing.ENV_USERNAME: "envuser", probing.ENV_PASSWORD: "env-pw"})
    found = probing.find_credentials("ghcr.io", env)
    assert found is not None and (found.username, found.password) == ("envuser", "env-pw")
    assert probing.find_credentials("ghcr.io", {"DOCKER_CONFIG": str(tmp_path / "missing")}) is None
    (tmp_path / "config.json").write_text("{not json")
    assert probing.find_credentials("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)}) is None


def test_basic_header() -> None:
    assert BasicCredentials("a", "b").header() == "Basic " + _auth("a", "b")


def test_docker_socket(tmp_path: Path) -> None:
    assert probing.docker_socket({"DOCKER_HOST": "unix:///run/user/1/docker.sock"}) == (
        "/run/user/1/docker.sock"
    )
    assert (
        probing.docker_socket({"DOCKER_HOST": "tcp://10.0.0.1:2376"}) is None
    )  # remote: not asked
    desktop = tmp_path / ".docker" / "run" / "docker.sock"
    desktop.parent.mkdir(parents=True)
    desktop.touch()
    found = probing.docker_socket({"HOME": str(tmp_path)})
    assert found in ("/var/run/docker.sock", str(desktop))


@pytest.mark.parametrize(
    ("scheme", "host", "env", "expected"),
    [
        ("https", "ghcr.io", {"HTTPS_PROXY": "http://proxy:3128"}, "proxy:3128"),
        ("https", "ghcr.io", {"https_proxy": "proxy.corp:8080"}, "proxy.corp:8080"),
        ("https", "ghcr.io", {"HTTP_PROXY": "http://proxy:3128"}, None),  # https needs HTTPS_PROXY
        ("http", "registry.lan", {"HTTP_PROXY": "http://proxy:3128"}, "proxy:3128"),
        ("https", "127.0.0.1:5000", {"HTTPS_PROXY": "http://proxy:3128"}, None),  # loopback
        ("https", "localhost", {"HTTPS_PROXY": "http://proxy:3128"}, None),
        ("https", "ghcr.io", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        (
            "https",
            "ghcr.io",
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com,ghcr.io"},
            None,
        ),
        ("https", "pkg.ghcr.io", {"HTTPS_PROXY": "http://p:1", "no_proxy": ".ghcr.io"}, None),
        ("https", "pkg.ghcr.io", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ghcr.io"}, None),
        ("https", "notghcr.io", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ghcr.io"}, "p:1"),
        ("https", "ghcr.io", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ghcr.io:80"}, "p:1"),
        ("https", "ghcr.io", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ghcr.io:443"}, None),
        ("https", "10.1.2.3", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, None),
        ("https", "11.1.2.3", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "p:1"),
    ],
)
def test_proxy_for(scheme: str, host: str, env: dict[str, str], expected: str | None) -> None:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    port = 443 if scheme == "https" else 80
    found = probing.proxy_for(scheme, name, port, env)
    assert (str(found) if found else None) == expected


def test_proxy_credentials_become_a_header_and_odd_proxies_are_refused() -> None:
    found = probing.proxy_for("https", "ghcr.io", 443, {"HTTPS_PROXY": "http://al%40ce:p%3Ass@p:3"})
    assert found is not None and found.authorization == "Basic " + _auth("al@ce", "p:ss")
    assert "p:ss" not in repr(found)
    assert found.url() == "http://al%40ce:p%3Ass@p:3"  # as the variable wrote it
    with pytest.raises(ValueError, match="must be an http:// proxy URL"):
        probing.proxy_for("https", "ghcr.io", 443, {"HTTPS_PROXY": "socks5://p:1080"})


def test_a_proxy_is_named_with_the_variable_it_came_from() -> None:
    """The lower case name wins, as docker and the Go tools read it, and is the one said."""
    env = {"https_proxy": "http://low:3128", "HTTPS_PROXY": "http://up:3128"}
    found = probing.proxy_for("https", "ghcr.io", 443, env)
    assert found is not None and found.named == "the proxy low:3128 (https_proxy)"
    found = probing.proxy_for("http", "registry.lan", 80, {"HTTP_PROXY": "up:3128"})
    assert found is not None and found.named == "the proxy up:3128 (HTTP_PROXY)"
    assert found.url() == "http://up:3128"
    with pytest.raises(ValueError, match=r"^http_proxy must be an http:// proxy URL"):
        probing.proxy_for("http", "registry.lan", 80, {"http_proxy": "socks5://p:1080"})
    # ALL_PROXY is not read, whatever it holds
    assert probing.proxy_for("https", "ghcr.io", 443, {"ALL_PROXY": "http://p:1"}) is None
    assert probing.proxy_for("https", "ghcr.io", 443, {"all_proxy": "socks5://p:1"}) is None


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("socks5://al:s3cret@p:1080", "it is a socks5:// URL"),
        ("::::", "it names no usable host and port"),
        ("http://al:s3cret@p:notaport", "it names no usable host and port"),
        ("http://:3128", "it names no usable host and port"),
        ("http://al:s3cret@[::1:3128", "it names no usable host and port"),  # urlsplit raises
    ],
)
def test_an_unusable_proxy_is_said_why_without_repeating_it(value: str, said: str) -> None:
    with pytest.raises(ValueError) as info:
        probing.proxy_for("https", "ghcr.io", 443, {"HTTPS_PROXY": value})
    message = str(info.value)
    assert message.startswith("HTTPS_PROXY must be an http:// proxy URL such as ")
    assert message.endswith(said)
    assert "s3cret" not in message
