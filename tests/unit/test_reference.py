"""Image references: a large table plus Hypothesis properties over the grammar."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from publisher.core import reference
from publisher.core.errors import InvalidReferenceError

D = "sha256:" + "a" * 64
D2 = "sha256:" + "0123456789abcdef" * 4

VALID = [
    # text, name, domain, path, familiar, tag, digest, canonical
    (
        "busybox",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        "busybox",
        None,
        None,
        "docker.io/library/busybox:latest",
    ),
    (
        "nginx:1.27",
        "docker.io/library/nginx",
        "docker.io",
        "library/nginx",
        "nginx",
        "1.27",
        None,
        "docker.io/library/nginx:1.27",
    ),
    (
        "fooo/bar",
        "docker.io/fooo/bar",
        "docker.io",
        "fooo/bar",
        "fooo/bar",
        None,
        None,
        "docker.io/fooo/bar:latest",
    ),
    (
        "docker.io/library/php:8.4-fpm-alpine",
        "docker.io/library/php",
        "docker.io",
        "library/php",
        "php",
        "8.4-fpm-alpine",
        None,
        "docker.io/library/php:8.4-fpm-alpine",
    ),
    (
        "docker.io/php",
        "docker.io/library/php",
        "docker.io",
        "library/php",
        "php",
        None,
        None,
        "docker.io/library/php:latest",
    ),
    (
        "index.docker.io/library/php",
        "docker.io/library/php",
        "docker.io",
        "library/php",
        "php",
        None,
        None,
        "docker.io/library/php:latest",
    ),
    (
        "index.docker.io/php",
        "docker.io/library/php",
        "docker.io",
        "library/php",
        "php",
        None,
        None,
        "docker.io/library/php:latest",
    ),
    (
        "library/php",
        "docker.io/library/php",
        "docker.io",
        "library/php",
        "php",
        None,
        None,
        "docker.io/library/php:latest",
    ),
    (
        "a/b/c",
        "docker.io/a/b/c",
        "docker.io",
        "a/b/c",
        "a/b/c",
        None,
        None,
        "docker.io/a/b/c:latest",
    ),
    (
        "docker.io/library/a/b",
        "docker.io/library/a/b",
        "docker.io",
        "library/a/b",
        "library/a/b",
        None,
        None,
        "docker.io/library/a/b:latest",
    ),
    (
        "ghcr.io/acme/php-fpm:v2.0.0-php-8.4",
        "ghcr.io/acme/php-fpm",
        "ghcr.io",
        "acme/php-fpm",
        "ghcr.io/acme/php-fpm",
        "v2.0.0-php-8.4",
        None,
        "ghcr.io/acme/php-fpm:v2.0.0-php-8.4",
    ),
    (
        "ghcr.io/php",
        "ghcr.io/php",
        "ghcr.io",
        "php",
        "ghcr.io/php",
        None,
        None,
        "ghcr.io/php:latest",
    ),
    (
        "localhost/foo",
        "localhost/foo",
        "localhost",
        "foo",
        "localhost/foo",
        None,
        None,
        "localhost/foo:latest",
    ),
    (
        "localhost:5000/foo/bar:1",
        "localhost:5000/foo/bar",
        "localhost:5000",
        "foo/bar",
        "localhost:5000/foo/bar",
        "1",
        None,
        "localhost:5000/foo/bar:1",
    ),
    (
        "127.0.0.1:5000/php-fpm",
        "127.0.0.1:5000/php-fpm",
        "127.0.0.1:5000",
        "php-fpm",
        "127.0.0.1:5000/php-fpm",
        None,
        None,
        "127.0.0.1:5000/php-fpm:latest",
    ),
    (
        "[::1]:5000/foo",
        "[::1]:5000/foo",
        "[::1]:5000",
        "foo",
        "[::1]:5000/foo",
        None,
        None,
        "[::1]:5000/foo:latest",
    ),
    (
        "[2001:db8::1]/repo:tag",
        "[2001:db8::1]/repo",
        "[2001:db8::1]",
        "repo",
        "[2001:db8::1]/repo",
        "tag",
        None,
        "[2001:db8::1]/repo:tag",
    ),
    ("Foo/bar", "Foo/bar", "Foo", "bar", "Foo/bar", None, None, "Foo/bar:latest"),
    (
        "registry:5000/x",
        "registry:5000/x",
        "registry:5000",
        "x",
        "registry:5000/x",
        None,
        None,
        "registry:5000/x:latest",
    ),
    (
        "localhost:5000",
        "docker.io/library/localhost",
        "docker.io",
        "library/localhost",
        "localhost",
        "5000",
        None,
        "docker.io/library/localhost:5000",
    ),
    (
        f"busybox@{D}",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        "busybox",
        None,
        D,
        f"docker.io/library/busybox@{D}",
    ),
    (
        f"busybox:1.36@{D}",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        "busybox",
        "1.36",
        D,
        f"docker.io/library/busybox@{D}",
    ),
    (
        f"ghcr.io/a/b:t@{D2}",
        "ghcr.io/a/b",
        "ghcr.io",
        "a/b",
        "ghcr.io/a/b",
        "t",
        D2,
        f"ghcr.io/a/b@{D2}",
    ),
    (
        "a__b-c---d/f_g.h",
        "docker.io/a__b-c---d/f_g.h",
        "docker.io",
        "a__b-c---d/f_g.h",
        "a__b-c---d/f_g.h",
        None,
        None,
        "docker.io/a__b-c---d/f_g.h:latest",
    ),
    ("a.b/c", "a.b/c", "a.b", "c", "a.b/c", None, None, "a.b/c:latest"),
    (
        "x:_tag",
        "docker.io/library/x",
        "docker.io",
        "library/x",
        "x",
        "_tag",
        None,
        "docker.io/library/x:_tag",
    ),
    (
        "x:" + "t" * 128,
        "docker.io/library/x",
        "docker.io",
        "library/x",
        "x",
        "t" * 128,
        None,
        "docker.io/library/x:" + "t" * 128,
    ),
    (
        "a" * 63 + "z",
        "docker.io/library/" + "a" * 63 + "z",
        "docker.io",
        "library/" + "a" * 63 + "z",
        "a" * 63 + "z",
        None,
        None,
        "docker.io/library/" + "a" * 63 + "z:latest",
    ),
    (
        "sub.example.com:443/ns/img",
        "sub.example.com:443/ns/img",
        "sub.example.com:443",
        "ns/img",
        "sub.example.com:443/ns/img",
        None,
        None,
        "sub.example.com:443/ns/img:latest",
    ),
]


@pytest.mark.parametrize(
    ("text", "name", "domain", "path", "familiar", "tag", "digest", "canonical"), VALID
)
def test_valid_references(text, name, domain, path, familiar, tag, digest, canonical):
    ref = reference.parse(text)
    assert ref.as_dict() == {
        "name": name,
        "domain": domain,
        "path": path,
        "familiar": familiar,
        "tag": tag,
        "digest": digest,
        "canonical": canonical,
    }


@pytest.mark.parametrize(
    ("text", "full"),
    [
        (f"ghcr.io/acme/php:v1.0.0-php-8.4@{D}", f"ghcr.io/acme/php:v1.0.0-php-8.4@{D}"),
        (f"busybox:1.36@{D}", f"docker.io/library/busybox:1.36@{D}"),
        (f"busybox@{D}", f"docker.io/library/busybox@{D}"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("busybox", "docker.io/library/busybox:latest"),
    ],
)
def test_full_keeps_the_tag_of_a_tag_and_a_digest(text, full):
    """What ``inspect`` shows on its reference: line; ``canonical`` drops the tag."""
    assert reference.parse(text).full == full


INVALID = [
    ("", "empty"),
    ("Busybox", "repository name must be lowercase"),
    ("docker.io/Library/php", "repository name must be lowercase"),
    ("ghcr.io/Acme/php", "repository name must be lowercase"),
    ("a" * 64, "image ID, not a repository name"),
    ("0123456789abcdef" * 4 + ":tag", "image ID, not a repository name"),
    ("busybox:", "tag after ':' is empty"),
    ("busybox:-x", "must start with a letter, a digit or '_'"),
    ("busybox:.x", "must start with a letter, a digit or '_'"),
    ("busybox:a/b", "port 'a' must be a number"),
    ("busybox:" + "t" * 129, "at most 128 characters"),
    ("busybox:t!", "may only contain letters, digits"),
    ("busybox@sha256:abc", "64 hex digits, this one has 3"),
    ("busybox@sha512:" + "a" * 128, "only sha256 digests are supported"),
    ("busybox@md5:" + "a" * 32, "only sha256 digests are supported"),
    ("busybox@sha256:" + "A" * 64, "must be lowercase"),
    ("busybox@sha256:" + "g" * 64, "only contain hex digits"),
    ("busybox@" + "a" * 64, "must look like 'sha256:'"),
    (f"busybox@{D}@{D}", "at most one '@'"),
    ("-foo", "must start and end with a lowercase letter or digit"),
    ("foo-", "must start and end with a lowercase letter or digit"),
    ("foo_/bar", "must start and end"),
    ("foo//bar", "empty component"),
    ("foo/", "empty component"),
    ("ghcr.io/", "empty"),
    ("foo/bar baz", "whitespace"),
    (" busybox", "whitespace"),
    ("busybox\n", "whitespace"),
    ("büsybox", "ASCII"),
    ("foo..bar", "may only contain lowercase letters"),
    ("foo___bar", "may only contain lowercase letters"),
    ("-host.io/foo", "registry host"),
    ("a_b.c/d", "registry host 'a_b.c' is not valid"),
    ("host-.io/foo", "registry host"),
    ("host.io:port/foo", "port 'port' must be a number"),
    ("localhost:99999/foo", "registry port 99999 is out of range: a port is 1 to 65535"),
    ("localhost:0/foo", "registry port 0 is out of range"),
    ("a" * 64 + ".io/foo", "registry host label 'aaaaaaaaaaaa…' is 64 characters long"),
    ("x." + "a" * 64 + ":5000/foo", "is 64 characters long: a label is at most 63"),
    (".".join(["b" * 63] * 4) + "/foo", "registry host is 255 characters long"),
    ("[::1]:65536/foo", "registry port 65536 is out of range"),
    ("[::1", "must start and end"),
    ("[zz::1]/foo", "bracketed IPv6"),
    ("[::1]", "needs a repository path"),
    ("ghcr.io/" + "a" * 256, "at most 255 characters, this one has 256"),
    ("docker.io/" + "/".join(["abcd"] * 51) + "x" * 2, "at most 255 characters"),
]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (
            "https://registry.example.com:5000/team/php-fpm/",
            "registry.example.com:5000/team/php-fpm",
        ),
        ("http://localhost:5000/acme/php", "localhost:5000/acme/php"),
        ("docker://ghcr.io/acme/php-fpm", "ghcr.io/acme/php-fpm"),
    ],
)
def test_a_url_is_refused_with_the_reference_to_write(text: str, written: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse(text)
    assert "a reference has no scheme" in info.value.message
    assert info.value.hint == f"write it without one, as docker does: {written!r}"


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_references_say_why(text, message):
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse(text)
    text_of_error = str(info.value)
    assert message in text_of_error
    assert text_of_error.startswith("invalid image reference")
    assert "(?:" not in text_of_error and "[a-z" not in text_of_error  # sentences, not regexes
    assert info.value.exit_code == 2


def test_path_limit_applies_to_path_not_domain():
    long_host = ".".join(["h" * 60] * 4)  # a 243-character host
    path = "p" * 255
    ref = reference.parse(f"{long_host}/{path}")
    assert len(ref.name) > 255
    assert ref.path == path


def test_library_added_only_for_single_component_on_docker_hub():
    assert reference.parse("docker.io/foo").path == "library/foo"
    assert reference.parse("docker.io/foo/bar").path == "foo/bar"
    assert reference.parse("quay.io/foo").path == "foo"


def test_with_tag_and_digest_replace_and_validate():
    ref = reference.parse("ghcr.io/a/b:old")
    assert str(ref.with_tag("new")) == "ghcr.io/a/b:new"
    assert str(ref.with_digest(D)) == f"ghcr.io/a/b@{D}"
    with pytest.raises(InvalidReferenceError):
        ref.with_tag("-bad")
    with pytest.raises(InvalidReferenceError):
        ref.with_digest("sha256:short")


def test_parse_repository_refuses_tags():
    assert reference.parse_repository("ghcr.io/a/b").name == "ghcr.io/a/b"
    with pytest.raises(InvalidReferenceError, match="may not have a tag or digest"):
        reference.parse_repository("ghcr.io/a/b:t")


# ---------------------------------------------------------------- Hypothesis properties

alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
separator = st.sampled_from([".", "_", "__", "-", "--", "---"])


@st.composite
def path_components(draw: st.DrawFn) -> str:
    parts = [draw(alnum)]
    for _ in range(draw(st.integers(0, 3))):
        parts += [draw(separator), draw(alnum)]
    return "".join(parts)


domain_component = st.builds(
    lambda a, mid, b: a + (mid + b if b else ""),
    st.sampled_from("aZ09"),
    st.text("abcXYZ019-", max_size=6),
    st.sampled_from(["", "x", "Y", "7"]),
)


@st.composite
def domains(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["dotted", "port", "localhost", "ipv6"]))
    if kind == "ipv6":
        host = "[" + draw(st.text("abcdef0129:", min_size=1, max_size=20)) + "]"
    elif kind == "localhost":
        host = "localhost"
    else:
        parts = draw(st.lists(domain_component, min_size=2 if kind == "dotted" else 1, max_size=4))
        host = ".".join(parts)
    if kind in ("port", "ipv6") or draw(st.booleans()):
        host += ":" + str(draw(st.integers(1, 65535)))
    return host


tags = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("aZ09_"),
    st.text("abcXYZ019_.-", max_size=20),
)
digests = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())


@st.composite
def references(draw: st.DrawFn) -> str:
    components = draw(st.lists(path_components(), min_size=1, max_size=4))
    path = "/".join(components)
    text = path
    if draw(st.booleans()):
        text = draw(domains()) + "/" + path
    else:
        # Without a domain, a first component with '.' would be read as one.
        assume(len(components) == 1 or "." not in components[0])
    if draw(st.booleans()):
        text += ":" + draw(tags)
    if draw(st.booleans()):
        text += "@" + draw(digests)
    return text


@settings(max_examples=400)
@given(references())
def test_grammar_strings_are_accepted_and_round_trip(text):
    if re.fullmatch(r"[a-f0-9]{64}", text.split(":")[0].split("@")[0]):
        return  # a bare 64-hex name is excluded by the grammar
    ref = reference.parse(text)
    again = reference.parse(str(ref))
    assert again == ref
    assert reference.parse(ref.canonical).name == ref.name
    assert reference.parse(ref.familiar).name == ref.name
    assert ref.path == ref.path.lower()


@settings(max_examples=600)
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text):
    try:
        ref = reference.parse(text)
    except InvalidReferenceError as exc:
        assert str(exc)
    else:
        assert reference.parse(str(ref)) == ref


_FULL = re.compile(
    r"(?:(?P<domain>(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
    r"|\[[a-fA-F0-9:]+\](?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)


def _oracle(text: str) -> bool:
    """An independent statement of the grammar, as one regular expression."""
    m = _FULL.fullmatch(text)
    if not m:
        return False
    name = text.split("@")[0]
    if re.fullmatch(r"[a-f0-9]{64}", name) or re.fullmatch(r"[a-f0-9]{64}:.*", name):
        return False
    domain = m["domain"]
    path = m["path"]
    port = re.search(r":([0-9]+)$", domain or "")
    digits = port[1].lstrip("0") if port else ""
    if port and not (digits and len(digits) <= 5 and int(digits) <= 65535):
        return False  # a port is 1 to 65535 (compared by length first: int() stops at 4300 digits)
    if domain is None and "/" in path and "." in path.split("/")[0]:
        return False  # docker reads a dotted first component as a registry host
    is_host = bool(domain) and (
        "." in domain or ":" in domain or domain == "localhost" or domain.lower() != domain
    )
    if is_host and not domain.startswith("["):
        name = re.sub(r":[0-9]+$", "", domain)
        if len(name) > 253 or max(len(label) for label in name.split(".")) > 63:
            return False  # no DNS holds it: a label is at most 63 characters, a name 253
    if domain and not is_host:
        # Not a registry host after all (docker's rule): it is the first path component.
        if not re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", domain):
            return False
        path = domain + "/" + path
    return len(path) <= 255


alphabet = st.sampled_from(
    [*list("abcAB019-_.:/@[]"), "sha256:", "a" * 64, "localhost", "00", "65536", "9" * 4400]
)


@settings(max_examples=800)
@given(st.lists(alphabet, max_size=12).map("".join))
def test_accepted_exactly_when_the_grammar_says_so(text):
    try:
        reference.parse(text)
        accepted = True
    except InvalidReferenceError:
        accepted = False
    assert accepted == _oracle(text), text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("alice:pw@registry.example/team/php", "***@registry.example/team/php"),
        ("alice:pw@127.0.0.1:5000", "***@127.0.0.1:5000"),
        ("alice:p@w/d@127.0.0.1:5000/x", "***@127.0.0.1:5000/x"),
        ("https://alice:pw@registry.example/x", "https://***@registry.example/x"),
        ("https://alice:p/w@registry.example/x", "https://***@registry.example/x"),
        ("https://alice:pw@h/x@sha256:" + "0" * 64, "https://***@h/x@sha256:" + "0" * 64),
        ("php@sha256:" + "a" * 64, None),
        ("php:8.4@sha256:abc", None),
        ("php@sha512:" + "a" * 128, None),
        ("php:8.4@sha512:aa", None),  # a digest mistyped, of any algorithm and length
        ("php:8.4@sha256:xyz", None),
        ("alice:pw@registry1:5000", "***@registry1:5000"),  # a port is no digest
        ("alice:pw@h/x@sha512:aa", "***@h/x@sha512:aa"),
        ("busybox@" + "a" * 64, None),
        ("docker.io/library/php:8.4", None),
    ],
)
def test_hide_credentials_shows_a_reference_without_its_user_and_password(
    text: str, shown: str | None
) -> None:
    assert reference.hide_credentials(text) == shown


def test_a_reference_with_credentials_is_refused_without_them() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse("alice:s3cret-pw@127.0.0.1:5000/team/php:v1")
    assert "s3cret-pw" not in info.value.message + (info.value.hint or "")
    assert "'***@127.0.0.1:5000/team/php:v1'" in info.value.message
    assert "carries credentials" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "php@8.4",
        "php@latest",
        "docker.io/library/php@8.4-fpm",
        "localhost:5000/php@8.4",  # a registry's port is no password
        "127.0.0.1:5000/team/php@8.4-fpm",
        "[::1]:5000/php@8.4",
        "acme/php:8.4@",  # a tagged path (a user name holds no '/') and a bare '@'
        "acme/php:8.4@latest",
        "registry.example/team/php:8.4@8.4",
        "php:8.4@8.4",  # a tag before '@' too: it names no host after it, no password
        "php:8.4@latest",
        "php:8.4@8.4-fpm",
        "alice:s3cret@8.4",  # written as php:8.4@8.4 is: said the same, still not echoed
    ],
)
def test_a_tag_written_after_an_at_sign_is_said_to_be_no_digest_not_credentials(text) -> None:
    """`php@8.4` (a tag typed where a digest goes) holds no password: it is refused saying
    what follows '@' is no digest and how to write a tag or a digest, not that it
    carries credentials; the part before '@' is still not echoed."""
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse(text)
    at = text.rindex("@")
    message = info.value.message
    assert f"what follows '@' ({text[at + 1 :]!r}) is not a digest" in message, message
    assert "carries credentials" not in message
    assert text[:at] not in message
    assert "php:8.4" in (info.value.hint or "") and "@sha256:" in (info.value.hint or "")
    with pytest.raises(InvalidReferenceError, match="carries credentials"):
        reference.parse("alice@registry.example/team/php")  # a user name before a host path


@settings(max_examples=300)
@given(
    st.sampled_from(["localhost", "registry.example", "[::1]", "10.0.0.1"]),
    st.one_of(
        st.integers(0, 70000).map(str),
        st.text("0123456789", min_size=1, max_size=8),
        st.sampled_from(["9" * 4400, "0" * 4400 + "1", "1" + "0" * 4400]),
    ),
    path_components(),
)
def test_a_registry_port_is_accepted_exactly_from_1_to_65535(host, port, path):
    """Any digits after the host: accepted exactly when they name a port, else a short
    error (never a crash, however many digits)."""
    digits = port.lstrip("0")
    in_range = bool(digits) and len(digits) <= 5 and int(digits) <= 65535
    try:
        ref = reference.parse(f"{host}:{port}/{path}")
    except InvalidReferenceError as exc:
        assert not in_range, port
        assert "is out of range" in str(exc) and len(str(exc)) < 300
    else:
        assert in_range, port
        assert reference.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "token@registry.example.com:5000",  # a host:port after '@' is no tag
        "ghp_S3cretToken@ghcr.io",  # a token before '@' is no image name
        "S3CRET@10.0.0.1",
        "s3cret@[::1]:5000",
        "ghp_S3cretToken@ghcr.io/team/php@sha256:" + "a" * 64,  # a second '@' before a digest
        "alice@registry.example/team/php@sha256:" + "a" * 64,
        "alice:s3cret@registry.example",  # a user and password before a host
        "alice:s3cret@10.0.0.1",
        "alice:s3cret@registry1:5000",  # a host and port, no digest of an algorithm
        "alice:s3cret/team@8.4",  # a password is no port
        "localhost:5000@8.4",  # no path after the host: nothing to name
    ],
)
def test_a_user_or_token_before_a_host_is_never_echoed_nor_taken_for_a_tag(text) -> None:
    """Only an image name before '@' and a tag after it (php@8.4) is said to be a tag typed
    where a digest goes: a user or token before a host (with a port, an address, or a
    path and a digest after it) is refused as credentials, the part before the first '@'
    never echoed."""
    secret = text.split("@", 1)[0]
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse(text)
    said = info.value.message + (info.value.hint or "")
    assert "carries credentials" in info.value.message, said
    assert secret not in said and "is not a digest" not in said, said


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("php:8.4@sha512:aa", "only sha256 digests are supported, not 'sha512'"),
        ("localhost:5000/php:8.4@sha512:aa", "only sha256 digests are supported, not 'sha512'"),
        ("php:8.4@sha256:xyz", "a digest may only contain hex digits after 'sha256:'"),
        ("php:8.4@sha256:abc", "a sha256 digest has 64 hex digits, this one has 3"),
    ],
)
def test_a_tag_and_a_mistyped_digest_are_said_to_be_a_wrong_digest_named_whole(
    text: str, reason: str
) -> None:
    """`php:8.4@sha512:aa` was taken for `user:password@host` (said to carry credentials,
    shown `***@sha512:aa`): an algorithm and what is no port after '@' ends no host, so
    the reference is named whole and its digest said to be wrong."""
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse(text)
    assert info.value.message == f"invalid image reference {text!r}: {reason}"
