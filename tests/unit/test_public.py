"""The anonymous-read check's pure parts: which pins, and the one-time steps per registry."""

from __future__ import annotations

import io

from publisher.adapters.output import Output
from publisher.core import config
from publisher.core.errors import AuthError, NotFoundError, UnreachableError, VerificationError
from publisher.core.plan import selected_pins
from publisher.core.version import parse_release
from publisher.stages.public import check_public, fix_steps, public_error

MATRIX = """
namespace: acme
image: php-fpm
source_url: https://github.com/acme/php-fpm-images
registries:
  - {name: dockerhub, repository: "docker.io/{namespace}/{image}", primary: true}
  - {name: ghcr, repository: "ghcr.io/{namespace}/{image}"}
  - {name: quay, repository: "quay.io/{namespace}/{image}"}
platforms: [linux/amd64]
default_line: "8.4"
lines: [{php: "8.3"}, {php: "8.4"}]
"""


def test_pins_are_one_per_line_and_the_bare_tag_for_the_default_line() -> None:
    cfg = config.loads(MATRIX)
    assert selected_pins(cfg, parse_release("v2.0.0")) == (
        "v2.0.0-php-8.3",
        "v2.0.0-php-8.4",
        "v2.0.0",
    )
    only = cfg.select(("8.3",))
    assert selected_pins(only, parse_release("v2.0.0")) == ("v2.0.0-php-8.3",)


def test_the_steps_name_the_exact_settings_for_each_registry() -> None:
    cfg = config.loads(MATRIX)
    hub, ghcr, quay = cfg.registries
    rerun = "publisher check-public v2.0.0"
    ghcr_steps = fix_steps(cfg, ghcr, rerun)
    assert "GHCR creates packages private" in ghcr_steps
    assert "https://github.com/acme?tab=packages" in ghcr_steps
    assert "Change visibility' > Public" in ghcr_steps
    assert "https://github.com/acme/php-fpm-images" in ghcr_steps  # the package's repository
    assert "Write role" in ghcr_steps
    hub_steps = fix_steps(cfg, hub, rerun)
    assert "https://hub.docker.com/repository/docker/acme/php-fpm/settings" in hub_steps
    assert "quay.io" in fix_steps(cfg, quay, rerun)
    # each names the whole command to rerun (check-public takes the release)
    for steps in (ghcr_steps, hub_steps, fix_steps(cfg, quay, rerun)):
        assert "rerun `publisher check-public v2.0.0`" in steps, steps


class _Refusing:
    """An anonymous client whose every read fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def resolve(self, ref: object, *, expected: str | None = None) -> str:
        raise self.error


def _refused(error: Exception) -> VerificationError:
    cfg = config.loads(MATRIX)
    output = Output(env={}, stream=io.StringIO(), err_stream=io.StringIO())
    version = parse_release("v9.9.9")
    result = check_public(
        cfg,
        version,
        anonymous=lambda registry: _Refusing(error),  # type: ignore[arg-type,return-value]
        output=output,
    )
    failure = public_error(cfg, version, result)
    assert failure is not None
    return failure


def test_a_pin_not_found_anonymously_was_not_pushed_and_the_hint_says_to_publish() -> None:
    """A 404 answers a read the registry let in (a private one refuses it, 401/403): the
    pin is not there, which no change of visibility fixes."""
    error = _refused(NotFoundError("tag 'v9.9.9-php-8.3' not found"))
    assert error.exit_code == 12
    assert "not found anonymously (the read was let in: no 401/403)" in str(error)
    assert error.hint and "GHCR creates packages private" not in error.hint
    assert "`publisher verify v9.9.9` names every missing tag" in error.hint
    assert "`publisher release v9.9.9` finishes the release" in error.hint


def test_a_tag_missing_from_a_repository_anyone_can_read_is_absent_not_private() -> None:
    missing = NotFoundError("tag 'v9.9.9-php-8.3' not found")
    missing.missing = "tag"  # the registry listed the repository's tags anonymously
    error = _refused(missing)
    assert error.exit_code == 12
    assert "no such tag (the repository is readable anonymously)" in str(error)
    assert error.hint and "GHCR creates packages private" not in error.hint
    assert "`publisher verify v9.9.9` names every missing tag" in error.hint
    assert "`publisher release v9.9.9` finishes the release" in error.hint


def test_a_refused_read_is_about_visibility_only() -> None:
    error = _refused(AuthError("401 unauthorized"))
    assert error.hint and "GHCR creates packages private" in error.hint
    assert "publisher verify" not in error.hint


def test_a_registry_that_did_not_answer_gets_its_own_errors_advice() -> None:
    """A TLS failure is not a network outage: the tip is the error's own (the
    certificate), per registry, then the rerun; exit 7, as for any registry out of reach."""
    tls = UnreachableError(
        "TLS failed: certificate has expired",
        hint="check the registry's certificate; for a plain-HTTP registry mark it "
        "`insecure: true` in matrix.yaml",
    )
    error = _refused(tls)
    assert error.exit_code == 7
    assert error.hint is not None
    assert "dockerhub: check the registry's certificate" in error.hint
    assert "quay: check the registry's certificate" in error.hint
    assert "network, DNS" not in error.hint
    assert error.hint.endswith("then run `publisher check-public v9.9.9` again")
    assert str(error).count("certificate has expired") == 3  # once per registry
