"""Registries and a GitHub API whose certificates a company's own CA issued.

Every server here is real (distribution registries, the stand-in GitHub over HTTPS); the
CA and its certificates come from ``tests.support.tls.PrivateCa``. The CA variables of
the machine running the tests (a CI image may set every one of them to the system's
bundle) are cleared first: each test sets the ones it is about.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import publisher.cli.registry_cmds  # noqa: F401  (registers preflight on main)
from publisher.adapters import network
from publisher.adapters.github import GitHubReleases, Settings
from publisher.adapters.localregistry import LocalRegistry, free_port
from publisher.adapters.output import Output
from publisher.adapters.registry import RegistryClient
from publisher.cli.base import main
from publisher.core.errors import GitHubError, UnreachableError
from publisher.core.retry import RetryPolicy
from publisher.stages import standins
from tests.conftest import require_tool
from tests.integration.conftest import GH_REPO, GH_TOKEN
from tests.support.builds import quiet_runner
from tests.support.fake_github import FakeGitHub
from tests.support.images import make_image, push_raw
from tests.support.pipeline import Stack
from tests.support.tls import PrivateCa, outward_address

pytestmark = pytest.mark.integration

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
#: The system's bundle of public roots (Debian's, Ubuntu's; Fedora's).
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


@pytest.fixture(autouse=True)
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCa:
    return PrivateCa(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def bundle(ca: PrivateCa) -> Path:
    """The system's public roots and the private CA, as the README says to make it."""
    system = next((Path(p) for p in SYSTEM_BUNDLES if Path(p).is_file()), None)
    path = ca.directory / "bundle.pem"
    path.write_bytes((system.read_bytes() if system else b"") + ca.cert.read_bytes())
    return path


@pytest.fixture(scope="module")
def outward() -> Iterator[str]:
    """An address of this machine that is not loopback: its route out's, else one added to
    the loopback interface for these tests (root, ``ip``), which publisher does not count
    as loopback (it goes by the address)."""
    address = outward_address()
    if address is not None:
        yield address
        return
    added = "192.0.2.77"
    ip = require_tool("ip")
    done = subprocess.run([ip, "addr", "add", f"{added}/32", "dev", "lo"], capture_output=True)
    assert done.returncode == 0, done.stderr
    try:
        yield added
    finally:
        subprocess.run([ip, "addr", "del", f"{added}/32", "dev", "lo"], capture_output=True)


@pytest.fixture
def tls_registry(ca: PrivateCa) -> Iterator[Callable[..., str]]:
    """``start(label, names, expired=False, address="127.0.0.1")``: a registry serving a
    certificate the CA issued for ``names``; its host as clients reach it on ``address``."""
    require_tool("docker-registry", "registry")
    with contextlib.ExitStack() as started:

        def start(label: str, names: list[str], *, expired: bool = False, address: str = "127.0.0.1") -> str:  # fmt: skip
            port = free_port()
            tls = ca.tls_config(label, names, expired=expired)
            config = {"http": {"addr": f"0.0.0.0:{port}", "tls": tls}}
            started.enter_context(LocalRegistry(port=port, extra_config=config))
            return f"{address}:{port}"

        yield start


def client(host: str) -> RegistryClient:
    return RegistryClient(host, retry=RetryPolicy(attempts=1))


def refused(host: str) -> UnreachableError:
    with pytest.raises(UnreachableError) as info:
        client(host).list_tags("corp/php-fpm")
    assert info.value.exit_code == 7
    return info.value


def github_client(gh: FakeGitHub) -> GitHubReleases:
    env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": GH_TOKEN, "GITHUB_REPOSITORY": GH_REPO}
    fast = Settings(
        timeout=5,
        retry=RetryPolicy(attempts=1),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    out = Output({}, stream=io.StringIO(), err_stream=io.StringIO())
    return GitHubReleases.from_env(env, output=out, settings=fast)


# ---------------------------------------------- one variable for publisher and its tools


def test_ssl_cert_file_alone_is_trusted_as_buildah_trusts_it(
    tls_registry: Callable[..., str], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE, which the Go tools read, serves publisher's own client too when
    neither REQUESTS_CA_BUNDLE nor CURL_CA_BUNDLE is set: one variable for the whole run."""
    host = tls_registry("good", ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert client(host).list_tags("corp/php-fpm") == []
    skopeo = shutil.which("skopeo")
    if skopeo:  # the same variable, the same trust, for the tools publisher runs
        listed = subprocess.run(
            [skopeo, "list-tags", f"docker://{host}/corp/php-fpm"], capture_output=True, text=True
        )
        assert "x509" not in listed.stderr, listed.stderr


def test_ssl_cert_dir_alone_is_trusted(
    tls_registry: Callable[..., str], ca: PrivateCa, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory of certificates named by their hash (`openssl rehash`)."""
    openssl = require_tool("openssl")
    host = tls_registry("good", ["127.0.0.1"])
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(ca.cert, certs / "corp-ca.pem")
    subprocess.run([openssl, "rehash", str(certs)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    assert client(host).list_tags("corp/php-fpm") == []


def test_requests_own_variable_comes_first_and_the_tip_names_it(
    tls_registry: Callable[..., str], ca: PrivateCa, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REQUESTS_CA_BUNDLE keeps its precedence (requests' own rule): a machine that sets it
    to the system's bundle must have the CA added there, and the tip says so."""
    host = tls_registry("good", ["127.0.0.1"])
    public = ca.directory / "public.pem"
    public.write_bytes(bundle.read_bytes().replace(ca.cert.read_bytes(), b""))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(public))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    error = refused(host)
    assert "TLS failed: the certificate is not trusted (" in error.message, error.message
    assert f"to the bundle REQUESTS_CA_BUNDLE names ({public})" in (error.hint or ""), error.hint
    assert "buildah" not in (error.hint or "")  # SSL_CERT_FILE is set: the tools have theirs


def test_the_github_api_trusts_ssl_cert_file_alone(
    ca: PrivateCa, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = ca.issue("github", ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server = FakeGitHub(token=GH_TOKEN)
    server.tls = (str(cert), str(key))
    with server as gh:
        gh.add_repo(GH_REPO)
        assert gh.url.startswith("https://")
        result = github_client(gh).upsert("v2.0.0", body="notes")
    assert result.action == "created"


@pytest.mark.slow
def test_a_release_to_a_private_registry_needs_ssl_cert_file_alone(
    tls_registry: Callable[..., str],
    outward: str,
    bundle: Path,
    fresh_registry: Callable[..., LocalRegistry],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole release, buildah building and smoke-testing, publisher's client pushing:
    SSL_CERT_FILE alone makes each of them trust the primary's private CA."""
    require_tool("buildah")
    require_tool("skopeo")
    primary = tls_registry("corp", [outward], address=outward)
    bases = fresh_registry()
    standins.push_standins(bases.host, runner=quiet_runner(), lines=("8.4",))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    stack = Stack(
        tmp_path / "stack",
        primary,
        fresh_registry().host,
        bases.host,
        repo="corp/php-fpm",
        lines=("8.4",),
        env={"PUBLISHER_PLATFORMS": "linux/amd64"},
    )
    result = stack.release("v1.0.0")
    said = result.stdout + result.stderr
    assert "PHP 8.4 linux/amd64: PHP " in said and "php-fpm -t passes" in said, said
    assert "warning:" not in said, said  # (the smoke line says "no startup warning")


# ----------------------------------------------------------- a tip for each TLS failure


def test_an_untrusted_issuer_is_told_which_variable_to_set(
    tls_registry: Callable[..., str],
) -> None:
    host = tls_registry("good", ["127.0.0.1"])
    error = refused(host)
    assert error.message == (
        f"{host}: TLS failed: the certificate is not trusted (unable to get local issuer "
        "certificate)"
    )
    hint = error.hint or ""
    assert hint.startswith(
        f"trust the CA that issued the certificate of {host} (a private CA, or that of a proxy "
        "that intercepts TLS): set SSL_CERT_FILE to a bundle of the system's roots and that CA"
    ), hint
    assert "/etc/docker/certs.d/HOST:PORT/ca.crt" in hint
    assert "insecure" not in hint  # it speaks TLS: plain HTTP would not do


def test_a_ca_variable_naming_no_file_is_said_to_be_unread(
    tls_registry: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Go's tools pass over an SSL_CERT_FILE that names nothing, and so does publisher."""
    host = tls_registry("good", ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "gone.pem"))
    hint = refused(host).hint or ""
    assert hint.startswith(
        f"SSL_CERT_FILE ({tmp_path / 'gone.pem'}) names no file, so it is not read; trust the CA"
    ), hint


def test_an_expired_certificate_must_be_renewed(
    tls_registry: Callable[..., str], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = tls_registry("expired", ["127.0.0.1"], expired=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    error = refused(host)
    assert "TLS failed: the certificate is not trusted (certificate has expired)" in error.message
    assert error.hint == (
        f"the certificate {host} presents has expired: it must be renewed on the server (or on "
        "the proxy in front of it that ends TLS); if it has not, check this machine's clock "
        "(`date -u`)"
    )


def test_a_certificate_for_another_name_says_the_repository_must_use_one_it_names(
    tls_registry: Callable[..., str], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = tls_registry("wrong", ["other.example", "10.9.9.9"])
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    error = refused(host)
    assert (
        "TLS failed: the certificate is not trusted (IP address mismatch, certificate is not "
        "valid for '127.0.0.1')"
    ) in error.message, error.message
    hint = error.hint or ""
    assert hint.startswith(
        f"the certificate {host} presents is not for that name: the host in the repository in "
        "matrix.yaml must be one the certificate names"
    ), hint
    assert "insecure" not in hint


def test_only_a_registry_answering_in_plain_http_is_told_of_insecure(
    registry: LocalRegistry,
) -> None:
    error = refused(registry.host)
    assert (
        error.message
        == f"{registry.host}: TLS failed: the registry does not speak TLS on that port"
    )
    assert error.hint == (
        f"{registry.host} answers in plain HTTP: if that registry serves no TLS, mark it "
        "`insecure: true` in matrix.yaml; else check its port"
    )


def test_inspect_names_the_file_where_a_plain_http_registry_is_marked(
    outward: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inspect has no --config: its tip to mark the registry insecure names the file it
    reads (./matrix.yaml, or the one PUBLISHER_CONFIG names)."""
    port = free_port()
    config = {"http": {"addr": f"0.0.0.0:{port}"}}
    monkeypatch.chdir(tmp_path)  # no matrix.yaml here
    env = {"PUBLISHER_CONFIG": None, "PUBLISHER_RETRY_ATTEMPTS": "1", "HOME": str(tmp_path)}
    with LocalRegistry(port=port, extra_config=config):
        result = CliRunner().invoke(main, ["inspect", f"{outward}:{port}/corp/php-fpm:v1"], env=env)
    assert result.exit_code == 7, result.output
    said = " ".join(result.output.split())
    assert (
        "answers in plain HTTP: if that registry serves no TLS, mark it `insecure: true` in "
        "./matrix.yaml, which inspect reads (it has no --config; or set PUBLISHER_CONFIG to the "
        "matrix file); else check its port"
    ) in said, said


def test_the_github_api_names_an_untrusted_certificate_as_a_registry_does(
    tls_registry: Callable[..., str], ca: PrivateCa
) -> None:
    """gh-release says what the registry client says of the same certificate, with its tip."""
    cert, key = ca.issue("github", ["127.0.0.1"])
    server = FakeGitHub(token=GH_TOKEN)
    server.tls = (str(cert), str(key))
    with server as gh:
        gh.add_repo(GH_REPO)
        with pytest.raises(GitHubError) as info:
            github_client(gh).upsert("v2.0.0", body="notes")
        api, host = gh.url, gh.url.removeprefix("https://")
    error = info.value
    assert (
        f"cannot reach the GitHub API at {api} (TLS failed: the certificate is not trusted "
        "(unable to get local issuer certificate)), after 1 attempt in "
    ) in error.message, error.message
    assert error.hint == network.untrusted_hint(host, {}), error.hint


# ------------------------------------------ preflight: buildah trusting other CAs


def preflight(matrix: Path, tmp_path: Path, **env: str) -> Result:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base_env = {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"), "PUBLISHER_CONFIG": None}
    return CliRunner().invoke(
        main,
        ["preflight", "--config", str(matrix)],
        env={**base_env, "PUBLISHER_RETRY_ATTEMPTS": "1", **env},
    )


@pytest.fixture
def corp_matrix(
    tls_registry: Callable[..., str],
    outward: str,
    registry: LocalRegistry,
    repo: str,
    write_matrix: Callable[..., Path],
    tmp_path: Path,
) -> tuple[str, Path]:
    """A registry of the company's own (over TLS, not on loopback) as the primary, the
    bases on a loopback one: its host and the matrix."""
    require_tool("buildah")  # what preflight warns about reads other variables
    host = tls_registry("corp", [outward], address=outward)
    for php in ("8.3", "8.4"):
        push_raw(registry.url, f"{repo}-base", make_image(platforms=("linux/amd64",)), [php])
    matrix = write_matrix(
        tmp_path,
        [("corp", f"{host}/{repo}", True)],
        base_image=f"{registry.host}/{repo}-base:{{php}}",
        platforms=("linux/amd64",),
    )
    return host, matrix


def test_preflight_warns_when_buildah_would_not_trust_what_publisher_trusts(
    corp_matrix: tuple[str, Path], bundle: Path, tmp_path: Path
) -> None:
    """REQUESTS_CA_BUNDLE alone: publisher's checks pass, and the smoke test's pull would
    fail after the push; preflight says so, naming the variable to set."""
    host, matrix = corp_matrix
    result = preflight(matrix, tmp_path, REQUESTS_CA_BUNDLE=str(bundle))
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split("warning: ", 1)[1].split())
    assert warning.startswith(
        f"publisher's client trusts the CAs in REQUESTS_CA_BUNDLE ({bundle}), and buildah and "
        f"skopeo, which reach {host} in a release (a base's pull, the smoke test's), those in "
        "the system's roots"
    ), warning
    assert "set SSL_CERT_FILE to the bundle REQUESTS_CA_BUNDLE names" in warning

    both = preflight(matrix, tmp_path, REQUESTS_CA_BUNDLE=str(bundle), SSL_CERT_FILE=str(bundle))
    assert both.exit_code == 0 and "warning" not in both.stderr, both.output
    alone = preflight(matrix, tmp_path, SSL_CERT_FILE=str(bundle))  # one variable for all
    assert alone.exit_code == 0 and "warning" not in alone.stderr, alone.output


def test_a_tls_registry_on_loopback_is_reached_once_marked_insecure_false(
    tls_registry: Callable[..., str],
    registry: LocalRegistry,
    repo: str,
    write_matrix: Callable[..., Path],
    bundle: Path,
    tmp_path: Path,
) -> None:
    """A tunnel or a port-forward to a registry serving TLS is on loopback, where publisher
    speaks plain HTTP unless told: the registry's 400 is told as such, with the setting that
    mends it, and `insecure: false` makes the same checks pass over HTTPS."""
    host = tls_registry("tunnel", ["127.0.0.1"])
    push_raw(registry.url, f"{repo}-base", make_image(platforms=("linux/amd64",)), ["8.4"])
    matrix = write_matrix(
        tmp_path,
        [("corp", f"{host}/{repo}", True)],
        lines=("8.4",),
        base_image=f"{registry.host}/{repo}-base:{{php}}",
        platforms=("linux/amd64",),
    )
    plain = preflight(matrix, tmp_path, SSL_CERT_FILE=str(bundle))
    assert plain.exit_code == 9, plain.output
    said = " ".join(plain.stderr.split())
    assert f"{host} serves HTTPS, and publisher spoke plain HTTP to it (HTTP 400)" in said, said
    assert "unless matrix.yaml marks it `insecure: false`: mark it so" in said, said

    text = matrix.read_text(encoding="utf-8")
    matrix.write_text(text.replace("  primary: true\n", "  primary: true\n  insecure: false\n", 1))
    assert "insecure: false" in matrix.read_text(encoding="utf-8")
    tls = preflight(matrix, tmp_path, SSL_CERT_FILE=str(bundle))
    assert tls.exit_code == 0, tls.output


def test_a_release_building_with_buildah_warns_before_anything_else(
    tls_registry: Callable[..., str],
    outward: str,
    bundle: Path,
    fresh_registry: Callable[..., LocalRegistry],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same warning from `release`, before its first stage (here a dry run, whose
    bases are missing: it goes no further)."""
    require_tool("buildah")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    primary = tls_registry("corp", [outward], address=outward)
    stack = Stack(tmp_path / "stack", primary, fresh_registry().host, fresh_registry().host,
                  repo="corp/php-fpm", lines=("8.4",), env={"PUBLISHER_PLATFORMS": "linux/amd64"})  # fmt: skip
    result = stack.run("release", "v1.0.0", "--dry-run", "--notes-dir", str(stack.notes_dir))
    said = result.stdout + result.stderr
    warning = "warning: publisher's client trusts the CAs in REQUESTS_CA_BUNDLE"
    assert warning in said and said.index(warning) < said.index("Resolve the base images"), said
