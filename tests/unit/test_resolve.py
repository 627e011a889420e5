"""resolve: input validation, host platform, the pins file, the choice and the rules (pure)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher import resolve as resolving
from publisher.adapters import probe as probing
from publisher.core import errors, pins
from publisher.resolve import (
    EXIT_BUILD_LOCALLY,
    EXIT_CANNOT_PROCEED,
    EXIT_USE_PREBUILT,
    Action,
    DockerfileFacts,
    Inputs,
    PinsError,
    RegistryChoice,
    ResolveError,
    choose,
    decide,
    dockerfile_facts,
    host_platform,
    main,
    parse_inputs,
    parse_pins,
    parse_reference,
    parse_repository,
    render,
    resolve,
)
from tests.conftest import ROOT
from tests.support.records import line_facts, release_facts

INDEX = "sha256:" + "a" * 64
BASE = "sha256:" + "b" * 64
S = probing.Status


def notes_dict(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": 1,
        "release": "v2.0.0",
        "stable": True,
        "stand_in": False,
        "default_line": "8.4",
        "registries": [
            {"name": "dockerhub", "repository": "docker.io/twentyi/php-fpm", "primary": True},
            {"name": "ghcr", "repository": "ghcr.io/twentyi/php-fpm", "primary": False},
        ],
        "lines": [
            {
                "php": php,
                "php_version": f"{php}.3",
                "index_digest": INDEX if php == "8.4" else "sha256:" + "c" * 64,
                "tags": [f"v2.0.0-php-{php}"],
                "base": {"image": f"docker.io/library/php:{php}-fpm-alpine", "digest": BASE},
                "platforms": [
                    {"platform": "linux/amd64", "digest": "sha256:" + "d" * 64, "size_bytes": 1},
                    {"platform": "linux/arm64", "digest": "sha256:" + "e" * 64, "size_bytes": 2},
                ],
            }
            for php in ("8.3", "8.4")
        ],
    }
    data.update(overrides)
    return data


def pins_text(**overrides: Any) -> str:
    """The pins file publisher.core.pins writes for these notes."""
    return pins.render(notes_dict(**overrides))


def notes(**overrides: Any) -> Any:
    return parse_pins(pins_text(**overrides), source="v2.0.0.env")


def inputs(**kwargs: Any) -> Inputs:
    kwargs.setdefault("php", "8.4")
    kwargs.setdefault("release", "v2.0.0")
    return Inputs(**kwargs)


DOCKERFILE = DockerfileFacts(
    "dockerfiles/8.4/Dockerfile", True, "docker.io/library/php:8.4-fpm-alpine"
)
NO_DOCKERFILE = DockerfileFacts("dockerfiles/8.6/Dockerfile", False)


# --------------------------------------------------------------------------- inputs


def test_inputs_defaults() -> None:
    got = parse_inputs({"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"})
    assert got.php == "8.4"
    assert got.release == "v2.0.0"
    assert got.use_prebuilt is True
    assert got.allow_fallback is True
    assert got.registry is RegistryChoice.CANONICAL
    assert got.pma_image is None
    assert got.platform is None
    assert got.timeout == 2.0
    assert got.dockerfiles == "dockerfiles"


def test_flags_override_environment_and_empty_means_unset() -> None:
    env = {
        "PHP_VERSION": "8.3",
        "STACK_RELEASE": "v2.0.0",
        "USE_PREBUILT": "false",
        "ALLOW_LOCAL_BUILD_FALLBACK": "",
    }
    got = parse_inputs(
        env, {"PHP_VERSION": "8.4", "USE_PREBUILT": None, "PREBUILT_REGISTRY": "Mirror"}
    )
    assert got.php == "8.4"
    assert got.use_prebuilt is False  # the flag was not given: the environment counts
    assert got.allow_fallback is True  # empty is unset: the default
    assert got.registry is RegistryChoice.MIRROR


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("USE_PREBUILT", "maybe", "use true or false"),
        ("ALLOW_LOCAL_BUILD_FALLBACK", "perhaps", "use true or false"),
        ("PHP_VERSION", "8", "MAJOR.MINOR, e.g. 8.4"),
        ("PHP_VERSION", "8.4.12", "give the PHP line MAJOR.MINOR (8.4)"),
        ("PHP_VERSION", "php8.4", "MAJOR.MINOR"),
        ("PREBUILT_REGISTRY", "backup", "use canonical or mirror"),
        ("PHP_IMAGE_PLATFORM", "linux/riscv64", "use linux/amd64 or linux/arm64"),
        ("RESOLVE_TIMEOUT", "0", "above 0 and at most 60"),
        ("RESOLVE_TIMEOUT", "soon", "above 0 and at most 60"),
        ("PMA_IMAGE", "phpmyadmin latest", "whitespace"),
    ],
)
def test_invalid_values_say_what_is_accepted(name: str, value: str, accepted: str) -> None:
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", name: value}
    with pytest.raises(ResolveError) as info:
        parse_inputs(env)
    assert f"{name}={value!r} is not valid" in info.value.message
    assert accepted in info.value.message
    assert info.value.exit_code == 2


def test_invalid_release_names_the_variable() -> None:
    with pytest.raises(ResolveError, match=r"STACK_RELEASE='2.0' is not valid: use v \+ a"):
        parse_inputs({"PHP_VERSION": "8.4", "STACK_RELEASE": "2.0"})


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2.0.0", "STACK_RELEASE='2.0.0' is not valid: a release tag starts with 'v' (did you "
         "mean v2.0.0?)"),
        (" 2.1.0-rc.1\r", "STACK_RELEASE='2.1.0-rc.1' is not valid: a release tag starts with "
         "'v' (did you mean v2.1.0-rc.1?)"),
        ("V2.0.0", "STACK_RELEASE='V2.0.0' is not valid: a release tag starts with a lowercase "
         "'v' (did you mean v2.0.0?)"),
    ],
)  # fmt: skip
def test_a_release_without_its_v_is_named_with_it(value: str, said: str) -> None:
    """2.0.0 for v2.0.0 is refused with the tag it means, not only the rule it breaks."""
    with pytest.raises(ResolveError) as info:
        parse_inputs({"PHP_VERSION": "8.4", "STACK_RELEASE": value})
    assert info.value.message == said
    with pytest.raises(ResolveError) as info:
        parse_inputs({"PHP_VERSION": "8.4"}, {"STACK_RELEASE": value})
    assert info.value.message == said.replace("STACK_RELEASE=", "--release ")


def test_invalid_repository_names_the_variable() -> None:
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PHP_IMAGE_REPOSITORY": "reg/UPPER"}
    with pytest.raises(ResolveError, match="PHP_IMAGE_REPOSITORY='reg/UPPER' is not valid"):
        parse_inputs(env)


@pytest.mark.parametrize(
    ("value", "after"),
    [("localhost:5000/php@8.4", "8.4"), ("php@8.4", "8.4"), ("127.0.0.1:5000/team/php@", "")],
)
def test_a_tag_typed_where_a_digest_goes_is_said_so_not_called_credentials(
    value: str, after: str
) -> None:
    """As the main CLI: an image name before '@' and a tag after it is a tag (or a digest)
    mistyped, not a user or password; the part before '@' is still not echoed."""
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PHP_IMAGE_MIRROR": value}
    with pytest.raises(ResolveError) as info:
        parse_inputs(env)
    said = f"{info.value.message} {info.value.hint}"
    assert (
        f"PHP_IMAGE_MIRROR='***@{after}' is not valid: what follows '@' ({after!r}) is not a digest"
        in said
    )
    assert "credentials" not in said and value.split("@")[0] + "@" not in said, said
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "value",
    [
        "token@registry.example.com:5000",
        "ghp_S3cretToken@ghcr.io",
        "s3cret@[::1]:5000",
        "alice@registry.example/team/php@8.4",  # a second '@': a user before the host
        "alice:s3cret@8.4",
        "alice:s3cret/team@8.4",
        "localhost:5000@8.4",
    ],
)
def test_a_user_or_token_before_a_host_is_still_called_credentials_and_never_echoed(
    value: str,
) -> None:
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PHP_IMAGE_REPOSITORY": value}
    with pytest.raises(ResolveError) as info:
        parse_inputs(env)
    said = f"{info.value.message} {info.value.hint}"
    assert "it carries credentials" in said and "is not a digest" not in said, said
    assert value.split("@")[0] not in said, said


@pytest.mark.parametrize(
    ("missing", "hint"), [("PHP_VERSION", "--php"), ("STACK_RELEASE", "PHP_PINS_FILE")]
)
def test_required_inputs_without_a_pins_file(missing: str, hint: str, tmp_path: Path) -> None:
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    del env[missing]
    with pytest.raises(ResolveError) as info:
        resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    assert info.value.message.startswith(f"{missing} is not set")
    assert hint in (info.value.hint or "")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("given", "unset"),
    [
        ("PHP_IMAGE_REGISTRY_PASSWORD", "PHP_IMAGE_REGISTRY_USERNAME"),
        ("PHP_IMAGE_REGISTRY_USERNAME", "PHP_IMAGE_REGISTRY_PASSWORD"),
    ],
)
def test_half_a_credential_is_invalid_input(given: str, unset: str, tmp_path: Path) -> None:
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", given: "s3cret-canary"}
    with pytest.raises(ResolveError) as info:
        resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    assert info.value.message == f"{given} is set but {unset} is not"
    assert "s3cret-canary" not in f"{info.value.message} {info.value.hint}"
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"PHP_PINS_FILE": "\x00"}, "PHP_PINS_FILE='\\x00' is not valid: a path holds no NUL"),
        ({"PHP_DOCKERFILES": "d\x00"}, "PHP_DOCKERFILES='d\\x00' is not valid: a path holds"),
        ({"--matrix": "m\x00.yaml"}, "--matrix 'm\\x00.yaml' is not valid: a path holds no"),
    ],
)
def test_a_path_holding_a_nul_byte_is_invalid_input(given: dict[str, str], said: str) -> None:
    """The library takes what argv and the environment cannot hold: a NUL byte in a path is
    a ResolveError naming the input (exit 2), as the docstring says, not a ValueError."""
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "false"}
    flags = {k: v for k, v in given.items() if k.startswith("--")}
    env.update({k: v for k, v in given.items() if k not in flags})
    with pytest.raises(ResolveError) as info:
        resolve(env, flags, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    assert info.value.message.startswith(said), info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"cwd": "/tmp/a\x00b"}, "cwd='/tmp/a\\x00b' is not valid: a path holds no NUL"),
        ({"DOCKER_CONFIG": "/d\x00"}, "DOCKER_CONFIG='/d\\x00' is not valid: a path holds no"),
        ({"HOME": "/h\x00", "DOCKER_CONFIG": ""}, "HOME='/h\\x00' is not valid: a path holds"),
    ],
)
def test_a_directory_holding_a_nul_byte_is_invalid_input(given: dict[str, str], said: str) -> None:
    """``resolve(cwd=...)`` and the docker config's DOCKER_CONFIG or HOME in ``env``: a NUL
    byte there is a ResolveError naming the input (exit 2), as in the pins file's path,
    never a ValueError from the file system."""
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    cwd = given.pop("cwd", None)
    with pytest.raises(ResolveError) as info:
        resolve({**env, **given}, cwd=cwd, host="linux/amd64")
    assert info.value.message.startswith(said), info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("host", ["garbage", "linux", "linux/amd64/", ""])
def test_a_host_that_is_no_platform_is_invalid_input_as_php_image_platform_is(
    host: str, tmp_path: Path
) -> None:
    """``resolve(host=...)`` (the engine's platform, given): a value no engine gives is
    refused as PHP_IMAGE_PLATFORM's is, never decided as a platform the image lacks."""
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "false"}
    with pytest.raises(ResolveError) as info:
        resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host=host)
    assert info.value.message.startswith(f"host={host!r} is not valid: use the docker engine")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("host", "platform"),
    [
        ("Linux/x86_64", "linux/amd64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm"),
    ],
)
def test_a_host_is_read_as_docker_names_platforms(host: str, platform: str, tmp_path: Path) -> None:
    """docker's spellings are read as PHP_IMAGE_PLATFORM's are; another engine's platform
    (32-bit ARM) is kept, and decided as one the image lacks."""
    write_tree(tmp_path)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    decision = resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host=host)
    assert decision.platform == platform


def test_a_matrix_without_pyyaml_names_pyyaml_not_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--matrix`` where publisher is installed without PyYAML (``pip install --no-deps``):
    the module missing is named, with how to install it, not "needs the publisher package"."""
    import sys

    import publisher.core

    monkeypatch.delitem(sys.modules, "publisher.core.config")
    monkeypatch.delattr(publisher.core, "config")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml: ModuleNotFoundError
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    with pytest.raises(ResolveError) as info:
        resolve(env, {"--matrix": "matrix.yaml"}, cwd=tmp_path, host="linux/amd64")
    assert info.value.message == (
        f"--matrix {tmp_path}/matrix.yaml needs the Python package PyYAML (module 'yaml'), "
        "which is not installed"
    )
    assert info.value.hint is not None
    assert info.value.hint.startswith("install it: `python3 -m pip install PyYAML`")
    # resolve's own exit codes (0, 16, 17, 2, 3): invalid input, as docs/consumers.md says
    assert (info.value.exit_code, info.value.error) == (2, "invalid-input")


def test_a_matrix_on_a_python_older_than_the_package_s_names_the_python_it_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--matrix`` on Python 3.9 or 3.10, the package importable but needing 3.11: the
    Python it needs and this one are named, exit 2 ``invalid-input`` as any ``--matrix``
    resolve cannot read (docs/consumers.md), never a traceback from the package's import
    (run by hand under pyenv's 3.9 and 3.10; CI has only 3.11, so the version is faked)."""
    import sys

    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    with pytest.raises(ResolveError) as info:
        resolve(env, {"--matrix": "matrix.yaml"}, cwd=tmp_path, host="linux/amd64")
    assert info.value.message == (
        f"--matrix {tmp_path}/matrix.yaml needs the publisher package, which needs Python "
        "3.11 or newer; this is 3.10.13"
    )
    assert info.value.hint == (
        "run resolve with Python 3.11 or newer, the publisher package installed there; or "
        "drop --matrix and ship the release's pins file"
    )
    assert (info.value.exit_code, info.value.error) == (2, "invalid-input")


def test_every_dependency_in_pyproject_is_named_by_its_module() -> None:
    """``DEPENDENCIES`` holds each of pyproject.toml's dependencies, by the module it is
    imported as (as the installed distribution says), so a missing one is named by its
    package whatever is added to pyproject.toml."""
    import importlib.metadata
    import tomllib

    from publisher.resolve import DEPENDENCIES
    from tests.conftest import ROOT

    def name(requirement: str) -> str:  # PEP 503: PyYAML, pyyaml and py_yaml are one
        found = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert found, requirement
        return re.sub(r"[-_.]+", "-", found[0]).lower()

    with open(ROOT / "pyproject.toml", "rb") as file:
        declared = tomllib.load(file)["project"]["dependencies"]
    assert sorted(name(d) for d in declared) == sorted(name(p) for p in DEPENDENCIES.values())
    provided = importlib.metadata.packages_distributions()
    for module, package in DEPENDENCIES.items():
        assert name(package) in {name(d) for d in provided.get(module, [])}, (module, package)


def _cwd_removed() -> Path:
    raise FileNotFoundError(2, "No such file or directory")


def test_a_removed_working_directory_stops_only_a_run_that_needs_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the launcher: from a directory removed after the shell entered it, absolute
    PHP_PINS_FILE and PHP_DOCKERFILES are used; a relative one (or the default
    ./dockerfiles) is exit 17, saying so."""
    (tmp_path / "v2.0.0.env").write_text(pins_text())
    monkeypatch.setattr(Path, "cwd", staticmethod(_cwd_removed))
    env = {"PHP_PINS_FILE": str(tmp_path / "v2.0.0.env"), "PHP_DOCKERFILES": str(tmp_path)}
    decision = resolve(env, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    assert decision.image == f"docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"
    for relative in ({"PHP_DOCKERFILES": "dockerfiles"}, {"PHP_PINS_FILE": "v2.0.0.env"}):
        with pytest.raises(ResolveError) as info:
            resolve({**env, **relative}, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
        assert info.value.exit_code == EXIT_CANNOT_PROCEED
        assert info.value.message.startswith("the current directory cannot be read")


def test_the_pins_file_gives_the_release_and_the_default_line(tmp_path: Path) -> None:
    (tmp_path / "v2.0.0.env").write_text(pins_text())
    env = {"PHP_PINS_FILE": "v2.0.0.env"}
    decision = resolve(
        env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64"
    )
    assert (decision.release, decision.php) == ("v2.0.0", "8.4")
    assert decision.image == f"docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"


@pytest.mark.parametrize(
    ("default", "words", "more"),
    [
        ("8.4.1", "PHP_DEFAULT_LINE: '8.4.1' is not a PHP line", ""),
        ("8", "PHP_DEFAULT_LINE: '8' is not a PHP line", ""),
        (
            "8.9",
            "PHP_DEFAULT_LINE: '8.9' is not one of PHP_LINES, so the pins file pins no image "
            "for it (no PHP_IMAGE_8_9)",
            ", or set PHP_VERSION to a line it lists",
        ),
    ],
)
def test_a_default_line_publisher_never_wrote_is_a_pins_file_error(
    tmp_path: Path, default: str, words: str, more: str
) -> None:
    """With PHP_VERSION unset, a malformed or unpublished PHP_DEFAULT_LINE is the pins file's
    fault (exit 3, naming the key), not a PHP_VERSION the user never set."""
    edited = pins_text().replace("PHP_DEFAULT_LINE='8.4'", f"PHP_DEFAULT_LINE='{default}'")
    (tmp_path / "v2.0.0.env").write_text(edited)
    with pytest.raises(PinsError) as info:
        resolve(
            {"PHP_PINS_FILE": "v2.0.0.env"},
            cwd=tmp_path,
            probe=FakeProbe(AVAILABLE),
            cache=None,
            host="linux/amd64",
        )
    assert info.value.message == f"{tmp_path / 'v2.0.0.env'}: {words}"
    assert info.value.hint == (
        "use the pins file publisher wrote, unmodified: this one was edited by hand (take the "
        f"release's vX.Y.Z.env again){more}"
    )
    assert (info.value.exit_code, info.value.error) == (3, "pins-file")


def test_an_unpublished_default_line_is_no_matter_with_php_version_set(tmp_path: Path) -> None:
    """A pins file without its default line's image (a rehearsal of some lines) still serves
    the lines it lists."""
    edited = pins_text().replace("PHP_DEFAULT_LINE='8.4'", "PHP_DEFAULT_LINE='8.9'")
    (tmp_path / "v2.0.0.env").write_text(edited)
    decision = resolve(
        {"PHP_PINS_FILE": "v2.0.0.env", "PHP_VERSION": "8.3"},
        cwd=tmp_path,
        probe=FakeProbe(AVAILABLE),
        cache=None,
        host="linux/amd64",
    )
    assert decision.image == "docker.io/twentyi/php-fpm:v2.0.0-php-8.3@sha256:" + "c" * 64


def test_exit_codes_match_the_package() -> None:
    assert (EXIT_USE_PREBUILT, EXIT_BUILD_LOCALLY, EXIT_CANNOT_PROCEED) == (
        errors.EXIT_USE_PREBUILT,
        errors.EXIT_BUILD_LOCALLY,
        errors.EXIT_CANNOT_PROCEED,
    )
    assert ResolveError("x").exit_code == errors.UsageError.exit_code
    assert PinsError("x", source="f").exit_code == errors.ConfigError.exit_code


@pytest.mark.parametrize(
    ("text", "value"), [("TRUE", True), ("1", True), ("no", False), ("Off", False)]
)
def test_boolean_spellings(text: str, value: bool) -> None:
    got = parse_inputs({"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": text})
    assert got.use_prebuilt is value


def test_pma_image_passes_through_unchanged() -> None:
    odd = "Registry.Example:5000/pma/PhpMyAdmin:5.2@sha256:" + "f" * 64
    got = parse_inputs({"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PMA_IMAGE": odd})
    assert got.pma_image == odd
    args = inputs(pma_image=odd, use_prebuilt=False)
    decision = decide(args, choose(args, None, "linux/amd64"), None, DOCKERFILE)
    assert ("PMA_IMAGE", odd) in decision.env()
    assert decision.to_dict()["pma_image"] == odd


# --------------------------------------------------------------------------- host platform


@pytest.mark.parametrize(
    ("system", "machine", "arm64_hardware", "expected"),
    [
        ("Darwin", "arm64", False, "linux/arm64"),  # Apple Silicon, native Python
        ("Darwin", "x86_64", True, "linux/arm64"),  # Apple Silicon, Python under Rosetta
        ("Darwin", "x86_64", False, "linux/amd64"),  # Intel Mac
        ("Linux", "aarch64", False, "linux/arm64"),
        ("Linux", "x86_64", False, "linux/amd64"),
        ("Windows", "AMD64", False, "linux/amd64"),
        ("Windows", "ARM64", False, "linux/arm64"),
        ("Linux", "riscv64", False, "linux/riscv64"),
        # 32-bit: as the docker engine names itself (`docker version`), the launcher's name
        ("Linux", "armv7l", False, "linux/arm"),
        ("Linux", "armv6l", False, "linux/arm"),
        ("Linux", "armhf", False, "linux/arm"),
        ("Linux", "i686", False, "linux/386"),
    ],
)
def test_host_platform(system: str, machine: str, arm64_hardware: bool, expected: str) -> None:
    assert host_platform(system, machine, arm64_hardware=arm64_hardware) == expected


def test_a_32_bit_machine_is_named_as_its_engine_and_the_launcher_name_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the default engine on Linux resolve reads `uname -m`, where start.sh asks `docker
    version` (linux/arm on 32-bit ARM): resolve once said linux/armv7l there."""
    uname = os.uname()
    fake = type(uname)((uname.sysname, uname.nodename, uname.release, uname.version, "armv7l"))
    monkeypatch.setattr(resolving.os, "uname", lambda: fake)
    assert resolving.run_platform({}, 0.5, "Linux") == ("linux/arm", None)


@pytest.mark.parametrize(
    ("wanted", "listed", "serves"),
    [
        ("linux/arm", "linux/arm/v7", True),  # what `docker pull --platform linux/arm` takes
        ("linux/arm", "linux/arm/v6", True),
        ("linux/arm", "linux/arm", True),
        ("linux/arm", "linux/arm64", False),
        ("linux/arm", "linux/arm/v8", False),
        ("linux/arm64", "linux/arm/v7", False),
        ("linux/amd64", "linux/amd64", True),
        ("linux/amd64", "linux/386", False),
    ],
)
def test_which_image_serves_a_platform(wanted: str, listed: str, serves: bool) -> None:
    assert resolving.serves(wanted, listed) is serves


# --------------------------------------------------------------------------- the pins file


def test_parse_pins() -> None:
    parsed = notes()
    assert parsed.release == "v2.0.0"
    assert parsed.default_line == "8.4"
    assert parsed.line_names == ("8.3", "8.4")
    line = parsed.line("8.4")
    assert line is not None
    assert line.digest == INDEX
    assert line.platforms == ("linux/amd64", "linux/arm64")
    assert line.base_image == f"docker.io/library/php:8.4-fpm-alpine@{BASE}"
    assert (parsed.repository.name, parsed.mirror and parsed.mirror.name) == (
        "docker.io/twentyi/php-fpm",
        "ghcr.io/twentyi/php-fpm",
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("PHP_PINS_SCHEMA='1'", "PHP_PINS_SCHEMA='2'"),
            "PHP_PINS_SCHEMA is '2': a newer publisher wrote this pins file; this launcher "
            "reads schema 1",
        ),
        (
            ("PHP_PINS_SCHEMA='1'", "PHP_PINS_SCHEMA='²'"),
            "PHP_PINS_SCHEMA is '²'; schema 1 is expected (is it a pins file?)",
        ),
        (("STACK_RELEASE='v2.0.0'", "STACK_RELEASE='2.0.0'"), "STACK_RELEASE '2.0.0'"),
        (("PHP_LINES='8.3 8.4'", "PHP_LINES='8.3 8'"), "PHP_LINES: '8' is not a PHP line"),
        ((f"@{INDEX}'", "'"), "PHP_IMAGE_8_4 is not pinned by digest"),
        (
            ("PHP_PLATFORMS_8_4='linux/amd64 ", "PHP_PLATFORMS_8_4='amd64 "),
            "PHP_PLATFORMS_8_4: 'amd64' is not a platform (os/arch, e.g. linux/amd64)",
        ),
        (("PHP_REPOSITORY='docker.io/", "PHP_REPOSITORY='docker.io/Team"), "PHP_REPOSITORY"),
        (("PHP_DEFAULT_LINE='8.4'", "PHP_DEFAULT_LINE=8.4"), "line 7 is not KEY='value'"),
        (
            ("PHP_PINS_SCHEMA='1'\n", ""),
            "PHP_PINS_SCHEMA is missing; schema 1 is expected (is it a pins file?)",
        ),
        (
            ("PHP_DEFAULT_LINE='8.4'", "PHP_DEFAULT_LINE='8.4'\nPHP_DEFAULT_LINE='8.3'"),
            "line 8 gives PHP_DEFAULT_LINE again (line 7)",
        ),
        # only spaces and tabs part the words of a list, only LF the lines, and only ASCII
        # blanks around a line do not count, as the launcher's shell reads them in every
        # locale (Python's split() and strip() would take these, and splitlines() the VT)
        (("PHP_LINES='8.3 8.4'", "PHP_LINES='8.3\u00a08.4'"), "PHP_LINES: '8.3\\xa08.4' is not"),
        (("PHP_LINES='8.3 8.4'", "PHP_LINES='8.3\v8.4'"), "PHP_LINES: '8.3\\x0b8.4' is not"),
        (
            ("PHP_PLATFORMS_8_4='linux/amd64 ", "PHP_PLATFORMS_8_4='linux/amd64\x1f"),
            "PHP_PLATFORMS_8_4: 'linux/amd64\\x1flinux/arm64' is not a platform",
        ),
        (("PHP_DEFAULT_LINE='8.4'", "PHP_DEFAULT_LINE='8.4'\u2003"), "line 7 is not KEY='value'"),
        (("PHP_DEFAULT_LINE='8.4'", "PHP_DEFAULT_LINE='8.4'\x85"), "line 7 is not KEY='value'"),
        (("PHP_LINES='8.3 8.4'", "PHP_LINES='8.3\f 8.4'"), "PHP_LINES: '8.3\\x0c' is not"),
        (
            ("PHP_LINES='8.3 8.4'", "PHP_LINES='" + "8" * 70 + "'"),
            "PHP_LINES: '" + "8" * 57 + "...'",
        ),
        # the base is an image reference as PHP_IMAGE_X_Y is: never an option of docker pull
        (
            (
                f"PHP_BASE_IMAGE_8_4='docker.io/library/php:8.4-fpm-alpine@{BASE}'",
                "PHP_BASE_IMAGE_8_4='--all-tags'",
            ),
            "PHP_BASE_IMAGE_8_4: a repository path is lowercase ASCII letters",
        ),
        (
            ("PHP_BASE_IMAGE_8_4='docker.io/", "PHP_BASE_IMAGE_8_4='docker.io/$(touch x)/"),
            "PHP_BASE_IMAGE_8_4: a repository path is lowercase ASCII letters",
        ),
        (
            (f"-fpm-alpine@{BASE}'\nPHP_IMAGE_8_4", "-fpm-alpine@sha256:zz'\nPHP_IMAGE_8_4"),
            "PHP_BASE_IMAGE_8_3: 'sha256:zz' is not a sha256 digest",
        ),
        # only 'true' is a stand-in, so any word but 'false' would drop the STAND-IN banner
        (
            ("PHP_STAND_IN='false'", "PHP_STAND_IN='yes'"),
            "PHP_STAND_IN: 'yes' is not true or false",
        ),
        (("PHP_STAND_IN='false'", "PHP_STAND_IN=''"), "PHP_STAND_IN: '' is not true or false"),
        # a file cut short at a line's end: a line without a key publisher always writes
        (
            (f"PHP_BASE_IMAGE_8_4='docker.io/library/php:8.4-fpm-alpine@{BASE}'\n", ""),
            "PHP_BASE_IMAGE_8_4 is missing (PHP_LINES lists 8.4)",
        ),
        (
            ("PHP_PLATFORMS_8_4='linux/amd64 linux/arm64'\n", ""),
            "PHP_PLATFORMS_8_4 is missing (PHP_LINES lists 8.4)",
        ),
        (
            (f"PHP_IMAGE_MIRROR_8_4='ghcr.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}'\n", ""),
            "PHP_IMAGE_MIRROR_8_4 is missing (PHP_MIRROR_REPOSITORY names a mirror)",
        ),
    ],
)
def test_broken_pins_are_located(edit: tuple[str, str], message: str) -> None:
    text = pins_text()
    assert edit[0] in text
    with pytest.raises(PinsError) as info:
        parse_pins(text.replace(edit[0], edit[1]), source="v2.0.0.env")
    assert message in info.value.message
    assert info.value.message.startswith("v2.0.0.env: ")
    assert info.value.exit_code == 3


@pytest.mark.parametrize("mirror", [True, False], ids=["mirror", "no-mirror"])
def test_a_pins_file_cut_at_any_line_end_is_refused_or_whole(mirror: bool) -> None:
    """A download cut short at a line's end leaves no line half-pinned unsaid: every cut is
    a broken pins file (its missing key named), or the whole file."""
    registries = notes_dict()["registries"][: 2 if mirror else 1]
    lines = pins_text(registries=registries).splitlines(keepends=True)
    for cut in range(len(lines)):
        with pytest.raises(PinsError):
            parse_pins("".join(lines[:cut]), source="v2.0.0.env")
    assert parse_pins("".join(lines), source="v2.0.0.env").line_names == ("8.3", "8.4")


def test_a_base_pinned_by_tag_alone_is_read() -> None:
    """A record that knew no base digest gives the base by tag: publisher writes it so."""
    text = pins_text().replace(f"php:8.4-fpm-alpine@{BASE}'", "php:8.4-fpm-alpine'")
    line = parse_pins(text, source="v2.0.0.env").line("8.4")
    assert line is not None and line.base_image == "docker.io/library/php:8.4-fpm-alpine"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("PHP_\0LINES='8.3 8.4'", 6),
        ("# \0 a comment\nPHP_LINES='8.3 8.4'", 6),
        ("PHP_LINES='8.3 8.4'\0", 6),
    ],
    ids=["key", "comment", "end"],
)
def test_a_nul_byte_is_located_with_a_hint(tmp_path: Path, text: str, number: int) -> None:
    """A NUL anywhere (a binary file, UTF-16 saved without its byte order mark) is refused,
    as the launcher's shell would silently drop it."""
    path = tmp_path / "v2.0.0.env"
    path.write_text(pins_text().replace("PHP_LINES='8.3 8.4'", text))
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(path), None, cwd=tmp_path)
    assert info.value.message == (
        f"{path}: line {number} holds a NUL byte (0x00): not a pins file, or one saved in "
        "another encoding"
    )
    assert info.value.hint and "unmodified" in info.value.hint
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    "schema_line", ["PHP_PINS_SCHEMA='2'", "PHP_PINS_SCHEMA=2", '  PHP_PINS_SCHEMA: "02"\r']
)
def test_a_newer_pins_file_whose_lines_changed_too_is_said_to_be_newer(schema_line: str) -> None:
    """A newer schema may write its lines another way: its schema is read first, so the
    file is said to be a newer publisher's, never broken for lines it wrote its own way."""
    text = pins_text().replace("PHP_PINS_SCHEMA='1'", schema_line)
    changed = "".join(
        line.replace("='", '="').replace("'\n", '"\n') if "PHP_PINS_SCHEMA" not in line else line
        for line in text.splitlines(keepends=True)
    )
    with pytest.raises(PinsError) as info:
        parse_pins(changed, source="v2.0.0.env")
    number = schema_line.split("=")[-1].split(":")[-1].strip(" '\"\r")
    assert info.value.message == (
        f"v2.0.0.env: PHP_PINS_SCHEMA is '{number}': a newer publisher wrote this pins file; "
        "this launcher reads schema 1"
    )
    assert info.value.hint and "update the stack's start.sh and resolve.py" in info.value.hint


def test_a_byte_that_is_not_utf8_is_located_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "v2.0.0.env"
    path.write_bytes(pins_text().replace("8.3", "8.\xa73", 1).encode("latin-1"))
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(path), None, cwd=tmp_path)
    assert info.value.message == (
        f"{path}: line 6 holds a byte that is not UTF-8 (0xa7): not a pins file, or one saved "
        "in another encoding"
    )
    assert info.value.hint and "unmodified" in info.value.hint


def test_a_pins_file_that_is_no_regular_file_or_too_large_is_never_read_whole(
    tmp_path: Path,
) -> None:
    """A mistyped PHP_PINS_FILE (a device, a pipe, an image tarball) is exit 3 at once."""
    pipe = tmp_path / "pipe.env"
    os.mkfifo(pipe)  # opening it would block: it must not be opened
    large = tmp_path / "large.env"
    large.write_bytes(b"# padding\n" * (64 * 1024 // 10 + 1))
    for path, words in (
        (str(large), "larger than 64 KiB, so not a pins file"),
        (str(pipe), "not a regular file, so not a pins file"),
        ("/dev/zero", "not a regular file, so not a pins file"),
    ):
        with pytest.raises(PinsError) as info:
            resolving.load_pins(path, None, cwd=tmp_path)
        assert info.value.message == f"{path}: {words}"
        assert info.value.exit_code == 3
    text = pins_text().encode()
    large.write_bytes(text + b"#" * (64 * 1024 - len(text) - 1) + b"\n")
    assert resolving.load_pins(str(large), None, cwd=tmp_path) is not None  # 64 KiB exactly


def test_a_release_published_before_pins_files_is_said_so(tmp_path: Path) -> None:
    """An older publisher wrote release-notes/vX.Y.Z.md and .json, no vX.Y.Z.env: the record
    given as the pins file is named as the record (not a pins file broken on line 1), and a
    directory holding the record alone says the release has none yet, and how to get one."""
    rerun = "ask its maintainer to rerun `publisher release v1.0.0` (rebuilds nothing, writes "
    notes_dir = tmp_path / "release-notes"
    notes_dir.mkdir()
    record = notes_dir / "v1.0.0.json"
    record.write_text(json.dumps({"schema": 1, "release": "v1.0.0", "lines": []}, indent=2))
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(record), "v1.0.0", cwd=tmp_path)
    assert info.value.message == (
        f"{record}: this is the release record v1.0.0.json, not its pins file v1.0.0.env"
    )
    assert info.value.hint == (
        "point PHP_PINS_FILE at v1.0.0.env, which publisher writes beside it; a release "
        f"published before publisher wrote pins files has none: {rerun}v1.0.0.env)"
    )
    assert info.value.exit_code == 3

    renamed = tmp_path / "php-images.env"  # vendored under the pins file's name
    renamed.write_text(" \n" + record.read_text())
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(renamed), None, cwd=tmp_path, name="--pins")
    assert "this is the release record vX.Y.Z.json, not its pins file vX.Y.Z.env" in str(
        info.value.message
    )
    assert info.value.hint and info.value.hint.startswith("point --pins at vX.Y.Z.env")

    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(notes_dir), "v1.0.0", cwd=tmp_path)
    assert info.value.message == (
        f"{notes_dir}/v1.0.0.env: pins file not found: v1.0.0 was published before publisher "
        "wrote pins files (the directory holds its release record v1.0.0.json, and no "
        "v1.0.0.env)"
    )
    assert info.value.hint == (
        f"{rerun}v1.0.0.env), then put it in the directory PHP_PINS_FILE names; or check "
        "STACK_RELEASE"
    )
    assert info.value.exit_code == 3

    with pytest.raises(PinsError) as info:  # another release: no record of it either
        resolving.load_pins(str(notes_dir), "v1.0.1", cwd=tmp_path)
    assert info.value.message == f"{notes_dir}/v1.0.1.env: pins file not found"


def test_the_mirror_asked_for_and_none_in_the_pins_file_is_said() -> None:
    single = notes(registries=notes_dict()["registries"][:1])
    args = inputs(registry=RegistryChoice.MIRROR)
    decision = decide(args, choose(args, single, "linux/amd64"), AVAILABLE, DOCKERFILE)
    assert decision.note == (
        "PREBUILT_REGISTRY=mirror, but the pins file names no mirror (a release on one "
        "registry) and PHP_IMAGE_MIRROR is not set: the images come from docker.io/twentyi/php-fpm"
    )
    assert "resolve: note: PREBUILT_REGISTRY=mirror, but" in resolving.summary(decision)
    assert choose(args, notes(), "linux/amd64").note is None  # a mirror: nothing to say
    assert choose(inputs(), single, "linux/amd64").note is None


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_an_empty_pins_file_is_said_to_be_empty(text: str) -> None:
    with pytest.raises(PinsError) as info:
        parse_pins(text, source="v2.0.0.env")
    assert info.value.message == "v2.0.0.env: the pins file is empty"
    assert info.value.exit_code == 3


# --------------------------------------------------------------------------- the choice


def test_choice_without_notes_is_the_pin_on_the_canonical_registry() -> None:
    choice = choose(inputs(), None, "linux/amd64")
    assert choice.reference == "docker.io/twentyi/php-fpm:v2.0.0-php-8.4"
    assert choice.precheck is None
    assert choice.published_lines is None
    target = choice.target()
    assert (target.host, target.repository, target.reference) == (
        "docker.io",
        "twentyi/php-fpm",
        "v2.0.0-php-8.4",
    )
    assert target.plain_http is False
    assert target.known_platforms is None  # a tag: the probe reads the index


def test_choice_with_notes_is_pinned_by_digest() -> None:
    choice = choose(inputs(), notes(), "linux/arm64")
    assert choice.reference == f"docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"
    assert choice.published_lines == ("8.3", "8.4")
    assert choice.base_image == f"docker.io/library/php:8.4-fpm-alpine@{BASE}"
    assert choice.target().reference == INDEX
    assert choice.target().known_platforms == ("linux/amd64", "linux/arm64")
    assert parse_reference(choice.reference).digest == INDEX


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("localhost:99999/php-fpm", "registry port 99999 is out of range"),
        ("localhost:0/php-fpm", "registry port 0 is out of range"),
        ("127.0.0.1:1234567890123456789012/php-fpm", "out of range: a port is 1 to 65535"),
        ("a" * 64 + ".example/php-fpm", "is 64 characters long: a label is at most 63"),
        ("1.2.3." + "4" * 5000 + "/php-fpm", "a host name is at most 253"),
        ("1.2.3." + "4" * 100 + "/php-fpm", "a label is at most 63"),
        (".".join(["b" * 63] * 4) + "/php-fpm", "a host name is at most 253"),
    ],
)
def test_a_port_out_of_range_is_refused_by_the_grammar(text: str, problem: str) -> None:
    """Refused while parsing, as the full client refuses it: never a request that cannot be
    made (urllib raises ValueError on the port while the probe runs)."""
    with pytest.raises(ValueError, match=problem):
        parse_repository(text)
    assert parse_repository("localhost:65535/php-fpm").domain == "localhost:65535"
    assert parse_repository("[::1]:5000/php-fpm").domain == "[::1]:5000"
    longest = ".".join(["c" * 63, "d" * 63, "e" * 63, "f" * 61])  # 253 characters
    assert parse_repository(f"{longest}/php-fpm").domain == longest


def test_mirror_and_repository_overrides() -> None:
    mirror = choose(inputs(registry=RegistryChoice.MIRROR), notes(), "linux/amd64")
    assert mirror.reference == f"ghcr.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"
    private = parse_repository("127.0.0.1:5000/team/php-fpm")
    custom = choose(inputs(repository=private), notes(), "linux/amd64")
    assert custom.reference == f"127.0.0.1:5000/team/php-fpm:v2.0.0-php-8.4@{INDEX}"
    assert custom.target().plain_http is True
    # local builds keep the canonical name, whichever registry pulls, keyed on the base digest
    assert custom.local_image == "localhost/twentyi/php-fpm:v2.0.0-php-8.4-base-bbbbbbbbbbbb"
    assert choose(inputs(repository=private), None, "linux/amd64").local_image == (
        "localhost/team/php-fpm:v2.0.0-php-8.4"
    )
    # The mirror override only applies when the mirror is chosen.
    assert choose(inputs(mirror_repository=private), None, "linux/amd64").repository.domain == (
        "docker.io"
    )


def test_a_private_copy_stands_for_both_registries_unless_a_mirror_is_given() -> None:
    """docs/consumers.md: PHP_IMAGE_REPOSITORY names a copy holding the same digests, which
    PREBUILT_REGISTRY=mirror pulls too (the pins file's mirror is not that copy);
    PHP_IMAGE_MIRROR, when set, is the one the mirror pulls."""
    private = parse_repository("registry.example.com/team/php-fpm")
    for registry in RegistryChoice:
        for pinned in (notes(), None):
            choice = choose(inputs(registry=registry, repository=private), pinned, "linux/amd64")
            assert choice.repository == private, (registry, pinned)
    mirror = parse_repository("registry.example.com/mirror/php-fpm")
    both = inputs(registry=RegistryChoice.MIRROR, repository=private, mirror_repository=mirror)
    choice = choose(both, notes(), "linux/amd64")
    assert choice.reference == f"registry.example.com/mirror/php-fpm:v2.0.0-php-8.4@{INDEX}"


def test_no_php_version_and_no_default_line_is_given_an_example_the_pins_file_holds() -> None:
    """The tip's example is a line the pins file pins (its newest), never 8.4 when the
    file holds 8.2 and 8.3 only; without a pins file, 8.4."""
    data = notes_dict(default_line=None)
    data["lines"] = [{**data["lines"][0], "php": php} for php in ("8.3", "8.2")]
    held = parse_pins(pins.render(data), source="v2.0.0.env")
    with pytest.raises(ResolveError) as info:
        choose(inputs(php=None), held, "linux/amd64")
    assert info.value.message == "PHP_VERSION is not set (and the pins file names no default line)"
    assert info.value.hint == "set PHP_VERSION (e.g. PHP_VERSION=8.3) or pass --php 8.3"
    with pytest.raises(ResolveError) as info:
        choose(inputs(php=None), None, "linux/amd64")
    assert info.value.hint == "set PHP_VERSION (e.g. PHP_VERSION=8.4) or pass --php 8.4"


def test_notes_decide_without_network_when_the_line_is_missing() -> None:
    choice = choose(inputs(php="8.6"), notes(), "linux/amd64")
    assert choice.precheck is not None
    assert choice.precheck.status is S.NOT_PUBLISHED
    assert choice.digest is None


def test_notes_decide_without_network_when_the_platform_is_missing() -> None:
    data = notes_dict()
    data["lines"][1]["platforms"] = data["lines"][1]["platforms"][:1]
    choice = choose(inputs(), parse_pins(pins.render(data), source="n"), "linux/arm64")
    assert choice.precheck is not None
    assert choice.precheck.status is S.PLATFORM_MISSING
    assert choice.precheck.platforms == ("linux/amd64",)


@pytest.mark.parametrize("written", ["", "   "], ids=["empty", "blank"])
def test_platforms_the_pins_file_does_not_record_are_asked_of_the_registry(written: str) -> None:
    """A PHP_PLATFORMS_X_Y empty records no platform: the probe reads the index (a GET, not
    a HEAD trusting the pins), instead of "it has: none" for an image the registry may well
    serve for this machine. (Missing, it is a file cut short: a broken pins file.)"""
    text = pins.render(notes_dict())
    text = re.sub(r"^PHP_PLATFORMS_8_4=.*$", f"PHP_PLATFORMS_8_4='{written}'", text, flags=re.M)
    pinned = parse_pins(text, source="v2.0.0.env")
    line = pinned.line("8.4")
    assert line is not None and line.platforms is None
    for platform in ("linux/amd64", "linux/arm64"):
        choice = choose(inputs(), pinned, platform)
        assert choice.precheck is None, choice.precheck
        assert choice.digest == INDEX
        assert choice.target().reference == INDEX
        assert choice.target().known_platforms is None


# --------------------------------------------------------------------------- the rules

AVAILABLE = probing.Result(S.AVAILABLE, "x is available", digest=INDEX, platforms=("linux/amd64",))
FAILURES = {
    "registry down": (
        probing.Result(S.UNREACHABLE, "cannot reach registry-1.docker.io: Connection refused"),
        "offline or unreachable",
        "check the network",
    ),
    "tag missing": (
        probing.Result(
            S.NOT_PUBLISHED,
            "docker.io/twentyi/php-fpm:v2.0.0-php-8.4 is not on the registry",
            tags=("v2.0.0-php-8.3", "v2.0.0-php-8.5", "v1.0.0-php-8.4", "latest"),
        ),
        "PHP 8.4 is not published for release v2.0.0",
        "published lines: 8.3, 8.5",
    ),
    "platform missing": (
        probing.Result(
            S.PLATFORM_MISSING, "x has no linux/amd64 image", platforms=("linux/arm64",)
        ),
        "platform linux/amd64 missing",
        "PHP_IMAGE_PLATFORM=linux/arm64",
    ),
    "auth required": (
        probing.Result(S.AUTH_REQUIRED, "docker.io requires authentication for twentyi/php-fpm"),
        "authentication required",
        "docker login docker.io",
    ),
    "not on this registry": (
        probing.Result(S.NOT_ON_REGISTRY, "x is not on the registry"),
        "is not on this registry (mirror not synced?)",
        "PREBUILT_REGISTRY=mirror",
    ),
    "rate limited": (
        probing.Result(S.RATE_LIMITED, "docker.io answered HTTP 429 (too many requests)"),
        "registry docker.io rate-limited the pull",
        "docker login docker.io",
    ),
    "registry error": (
        probing.Result(S.REGISTRY_ERROR, "docker.io is failing (HTTP 503 for the manifest)"),
        "registry docker.io failed",
        "try again later",
    ),
}


@pytest.mark.parametrize("fallback", [True, False])
def test_use_prebuilt_when_available(fallback: bool) -> None:
    decision = decide(
        inputs(allow_fallback=fallback),
        choose(inputs(), None, "linux/amd64"),
        AVAILABLE,
        DOCKERFILE,
    )
    assert decision.action is Action.USE_PREBUILT
    assert decision.exit_code == EXIT_USE_PREBUILT == 0
    assert decision.image == "docker.io/twentyi/php-fpm:v2.0.0-php-8.4"
    assert decision.reason == (
        "pre-built image docker.io/twentyi/php-fpm:v2.0.0-php-8.4 is available for linux/amd64"
    )
    assert decision.fix is None


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_fallback_allowed_builds_locally_and_says_why(case: str) -> None:
    result, what, _ = FAILURES[case]
    args = inputs(allow_fallback=True)
    decision = decide(args, choose(args, None, "linux/amd64"), result, DOCKERFILE)
    assert decision.action is Action.BUILD_LOCALLY
    assert decision.exit_code == EXIT_BUILD_LOCALLY == 16
    assert decision.image == "localhost/twentyi/php-fpm:v2.0.0-php-8.4"
    assert decision.build is True
    assert what in decision.reason
    assert decision.reason.endswith(
        "falling back to a local build of localhost/twentyi/php-fpm:v2.0.0-php-8.4 from "
        "dockerfiles/8.4/Dockerfile (ALLOW_LOCAL_BUILD_FALLBACK=true)"
    )
    assert decision.availability == result.status.value


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_fallback_disabled_cannot_proceed_and_says_how_to_enable_it(case: str) -> None:
    result, what, advice = FAILURES[case]
    args = inputs(allow_fallback=False)
    decision = decide(args, choose(args, None, "linux/amd64"), result, DOCKERFILE)
    assert decision.action is Action.CANNOT_PROCEED
    assert decision.exit_code == EXIT_CANNOT_PROCEED == 17
    assert decision.image == ""
    assert what in decision.reason
    assert (
        "the local build fallback is disabled (ALLOW_LOCAL_BUILD_FALLBACK=false)" in decision.reason
    )
    assert decision.fix is not None
    assert advice in decision.reason + decision.fix
    assert decision.fix.endswith(
        "; or set ALLOW_LOCAL_BUILD_FALLBACK=true to build locally from dockerfiles/8.4/Dockerfile"
    )


@pytest.mark.parametrize(
    ("given", "flags", "advice", "default_set"),
    [
        # not given: the engine's own platform is missing, so the other one is emulated
        (
            None,
            frozenset(),
            "set PHP_IMAGE_PLATFORM=linux/arm64 to run it under emulation; ",
            False,
        ),
        # given (the engine is not asked then): the other one may be the engine's, native
        (
            "linux/amd64",
            frozenset(),
            "unset PHP_IMAGE_PLATFORM to run the docker engine's own platform natively, or set "
            "PHP_IMAGE_PLATFORM=linux/arm64 (under emulation unless the engine is linux/arm64); ",
            False,
        ),
        (
            "linux/amd64",
            frozenset({"PHP_IMAGE_PLATFORM"}),
            "drop --platform to run the docker engine's own platform natively, or pass "
            "--platform linux/arm64 (under emulation unless the engine is linux/arm64); ",
            False,
        ),
        # DOCKER_DEFAULT_PLATFORM set too: it would be the platform once the other is left out
        (
            "linux/amd64",
            frozenset(),
            "unset PHP_IMAGE_PLATFORM and DOCKER_DEFAULT_PLATFORM to run the docker engine's "
            "own platform natively, or set PHP_IMAGE_PLATFORM=linux/arm64 (under emulation "
            "unless the engine is linux/arm64); ",
            True,
        ),
        (
            "linux/amd64",
            frozenset({"PHP_IMAGE_PLATFORM"}),
            "drop --platform and unset DOCKER_DEFAULT_PLATFORM to run the docker engine's own "
            "platform natively, or pass --platform linux/arm64 (under emulation unless the "
            "engine is linux/arm64); ",
            True,
        ),
    ],
)
def test_a_missing_platform_given_by_hand_advises_the_engines_own_not_only_emulation(
    given: str | None, flags: frozenset[str], advice: str, default_set: bool
) -> None:
    """A platform forced with PHP_IMAGE_PLATFORM (an amd64 image on Apple Silicon) and
    missing: leaving it out runs the engine's own platform natively, and the other platform
    is emulated only when it is not the engine's (resolve does not ask the engine then).
    With DOCKER_DEFAULT_PLATFORM set as well, leaving it out is not enough (that one would
    be the platform then): both are named; PHP_IMAGE_PLATFORM alone once was."""
    result = FAILURES["platform missing"][0]
    args = inputs(
        allow_fallback=False, platform=given, flags=flags, default_platform_set=default_set
    )
    decision = decide(args, choose(args, None, given or "linux/amd64"), result, DOCKERFILE)
    assert decision.fix is not None
    assert decision.fix.startswith(advice), decision.fix


@pytest.mark.parametrize("fallback", [True, False])
@pytest.mark.parametrize("verdict", [AVAILABLE, FAILURES["registry down"][0], None])
def test_use_prebuilt_false_always_builds_locally(
    fallback: bool, verdict: probing.Result | None
) -> None:
    args = inputs(use_prebuilt=False, allow_fallback=fallback)
    decision = decide(args, choose(args, None, "linux/amd64"), verdict, DOCKERFILE)
    assert decision.action is Action.BUILD_LOCALLY
    assert decision.reason == (
        "USE_PREBUILT=false: building localhost/twentyi/php-fpm:v2.0.0-php-8.4 locally from "
        "dockerfiles/8.4/Dockerfile"
    )
    assert decision.base_image == "docker.io/library/php:8.4-fpm-alpine"


def test_the_local_build_is_keyed_on_its_base_digest() -> None:
    """A republished pins file (new PHP_BASE_IMAGE) names a new local build, never the old one."""
    args = inputs(use_prebuilt=False)
    old = decide(args, choose(args, notes(), "linux/amd64"), None, DOCKERFILE)
    assert old.image == "localhost/twentyi/php-fpm:v2.0.0-php-8.4-base-bbbbbbbbbbbb"
    new = decide(args, choose(args, notes_with_base("f" * 64), "linux/amd64"), None, DOCKERFILE)
    assert new.image == "localhost/twentyi/php-fpm:v2.0.0-php-8.4-base-ffffffffffff"
    # without a pins file, the Dockerfile's own base counts when it is pinned by digest
    pinned = DockerfileFacts(DOCKERFILE.path, True, f"docker.io/library/php:8.4-fpm-alpine@{BASE}")
    assert decide(args, choose(args, None, "linux/amd64"), None, pinned).image.endswith(
        "v2.0.0-php-8.4-base-bbbbbbbbbbbb"
    )


def notes_with_base(hex64: str) -> Any:
    data = notes_dict()
    for line in data["lines"]:
        line["base"]["digest"] = "sha256:" + hex64
    return parse_pins(pins.render(data), source="republished.env")


def test_a_line_without_image_or_dockerfile_names_the_published_lines() -> None:
    args = inputs(php="8.6", allow_fallback=True)
    decision = decide(args, choose(args, notes(), "linux/amd64"), None, NO_DOCKERFILE)
    assert decision.action is Action.CANNOT_PROCEED
    assert "PHP 8.6 is not published for release v2.0.0" in decision.reason
    assert "published lines: 8.3, 8.4" in decision.reason
    assert "no Dockerfile for PHP 8.6 at dockerfiles/8.6/Dockerfile" in decision.reason
    assert (
        decision.fix is not None
        and "set PHP_VERSION to a published line (8.3, 8.4)" in decision.fix
    )
    assert decision.published_lines == ("8.3", "8.4")


def test_unpublished_line_with_a_dockerfile_falls_back() -> None:
    args = inputs(php="8.6")
    facts = DockerfileFacts("dockerfiles/8.6/Dockerfile", True)
    decision = decide(args, choose(args, notes(), "linux/amd64"), None, facts)
    assert decision.action is Action.BUILD_LOCALLY
    assert "published lines: 8.3, 8.4" in decision.reason


def test_use_prebuilt_false_without_dockerfile() -> None:
    args = inputs(php="8.6", use_prebuilt=False)
    decision = decide(args, choose(args, None, "linux/amd64"), None, NO_DOCKERFILE)
    assert decision.action is Action.CANNOT_PROCEED
    assert decision.reason == (
        "USE_PREBUILT=false, but there is no Dockerfile for PHP 8.6 at dockerfiles/8.6/Dockerfile"
    )


_DENIED = "Permission denied"
#: What this user may not read, and how resolve says it (start.sh's words).
_UNREADABLE = {
    "file": (
        DockerfileFacts(DOCKERFILE.path, True, denied=_DENIED),
        "the Dockerfile for PHP 8.4 at dockerfiles/8.4/Dockerfile cannot be read: "
        "Permission denied",
    ),
    "folder": (
        DockerfileFacts(DOCKERFILE.path, False, denied=_DENIED),
        "the Dockerfile for PHP 8.4 at dockerfiles/8.4/Dockerfile cannot be read: "
        "Permission denied",
    ),
    "context": (
        DockerfileFacts(DOCKERFILE.path, True, context_denied=_DENIED),
        "the build context for PHP 8.4 at dockerfiles/8.4 (the Dockerfile's folder) cannot be "
        "read: Permission denied",
    ),
}


@pytest.mark.parametrize("case", list(_UNREADABLE))
def test_a_dockerfile_or_context_this_user_may_not_read_is_said_so_not_built(case: str) -> None:
    """An unreadable Dockerfile (file), one below a folder it may not search (folder), or
    a readable one in a folder it may not list, the build context docker sends (context):
    cannot proceed, in start.sh's words, with how to give access. It once decided to build
    (exit 16) on a file it could not read or a context docker could not send (the build
    failed in compose), and called one below a locked folder missing."""
    facts, said = _UNREADABLE[case]
    assert not facts.buildable
    fix = (
        "give this user read access to it (and search access to its folders), or set "
        "PHP_DOCKERFILES to a copy it can read"
    )
    args = inputs(use_prebuilt=False)
    decision = decide(args, choose(args, notes(), "linux/amd64"), None, facts)
    assert decision.action is Action.CANNOT_PROCEED
    assert (decision.reason, decision.fix) == (f"USE_PREBUILT=false, but {said}", fix)
    args = inputs()
    result = probing.Result(S.UNREACHABLE, "no answer")
    decision = decide(args, choose(args, notes(), "linux/amd64"), result, facts)
    assert decision.action is Action.CANNOT_PROCEED
    assert decision.reason.endswith(f"; the local build fallback is allowed, but {said}")
    assert decision.fix is not None and decision.fix.endswith(f"; or {fix}")
    flagged = inputs(use_prebuilt=False, flags=frozenset({"PHP_DOCKERFILES"}))
    decision = decide(flagged, choose(flagged, notes(), "linux/amd64"), None, facts)
    assert decision.fix is not None and decision.fix.endswith(
        "give --dockerfiles a copy it can read"
    )


@pytest.mark.parametrize("case", ["file", "context"])
def test_a_dockerfile_it_may_not_read_is_said_when_the_fallback_is_disabled(case: str) -> None:
    """Enabling the fallback alone would not build a Dockerfile (or a build context) this
    user may not read: the fix says why (as for one below a folder it may not search),
    where it once said to set ALLOW_LOCAL_BUILD_FALLBACK=true to build locally from it."""
    facts, said = _UNREADABLE[case]
    args = inputs(allow_fallback=False)
    result = probing.Result(S.UNREACHABLE, "no answer")
    decision = decide(args, choose(args, notes(), "linux/amd64"), result, facts)
    assert decision.action is Action.CANNOT_PROCEED
    assert decision.fix is not None and decision.fix.endswith(
        "; or, to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to "
        f"the directory holding <X.Y>/Dockerfile ({said})"
    )


@pytest.mark.parametrize("exists", [True, False], ids=["file", "folder"])
def test_an_earlier_local_build_is_taken_though_its_dockerfile_may_not_be_read(
    exists: bool,
) -> None:
    """A fallback that finds an earlier start's local build takes it (start.sh starts it)
    in the launcher's words, whatever the Dockerfile it needs no more: it once said that
    the Dockerfile cannot be read (exit 17) where start.sh started that build."""
    facts = DockerfileFacts(DOCKERFILE.path, exists, denied="Permission denied")
    args = inputs()
    choice = choose(args, notes(), "linux/amd64")
    result = probing.Result(S.UNREACHABLE, "no answer")
    decision = decide(args, choice, result, facts, reused=True)
    assert (decision.action, decision.image) == (Action.BUILD_LOCALLY, choice.local_image)
    assert decision.reason.endswith(
        f"; using the local build {choice.local_image} from an earlier start "
        "(ALLOW_LOCAL_BUILD_FALLBACK=true; remove it to rebuild)"
    )
    assert decision.fix is None
    # started as it is, as the launcher starts it: `docker compose up` with no --build,
    # which would need the Dockerfile (and the base) again
    assert decision.build is False and decision.to_dict()["build"] is False
    assert "PHP_BUILD='0'" in render(decision, "env").splitlines()
    # and the text headline says so, not that it builds from the Dockerfile it no longer needs
    assert render(decision, "text").startswith(
        f"start the local build {choice.local_image} from an earlier start\n  why: "
    ), render(decision, "text")
    # without the fallback, or with USE_PREBUILT=false (which always builds), it counts
    for args in (inputs(allow_fallback=False), inputs(use_prebuilt=False)):
        choice = choose(args, notes(), "linux/amd64")
        decision = decide(args, choice, result, facts, reused=True)
        assert decision.action is Action.CANNOT_PROCEED


def test_published_lines_unknown_without_notes_or_tags() -> None:
    args = inputs(allow_fallback=False)
    result = probing.Result(S.NOT_PUBLISHED, "gone")
    decision = decide(args, choose(args, None, "linux/amd64"), result, DOCKERFILE)
    assert "published lines: unknown" in decision.reason
    assert decision.published_lines is None


def test_published_lines_of_a_tag_list_not_read_whole_are_unknown_not_none() -> None:
    """A tag list cut short (its last pages, which may hold the release's pins, not read)
    names no line: the lines are unknown, and why is said."""
    args = inputs(allow_fallback=False)
    cut = "page 4 of its tags did not come within the 2 s deadline (6 tags read)"
    result = probing.Result(S.NOT_PUBLISHED, "gone", tags_cut=cut)
    decision = decide(args, choose(args, None, "linux/amd64"), result, DOCKERFILE)
    assert (
        "published lines: unknown (no pins file, and the registry listed only part of its "
        f"tags: {cut})"
    ) in decision.reason
    assert "published lines: none" not in decision.reason
    assert decision.published_lines is None
    assert decision.to_dict()["published_lines"] is None


def test_stand_in_notes_are_labelled() -> None:
    args = inputs()
    choice = choose(args, notes(stand_in=True), "linux/amd64")
    decision = decide(args, choice, AVAILABLE, DOCKERFILE)
    assert decision.reason.endswith(
        " (STAND-IN images, built on stand-in base images, not the official php images)"
    )
    assert decision.to_dict()["stand_in"] is True
    # start.sh says the words of the release's summary (a shell script: written there too)
    launcher = (ROOT / "examples" / "stack" / "start.sh").read_text(encoding="utf-8")
    assert f'say "{resolving.STAND_IN_WARNING}"' in launcher


@pytest.mark.parametrize(
    ("use_prebuilt", "dockerfile", "action"),
    [
        (True, DOCKERFILE, "use-prebuilt"),
        (False, DOCKERFILE, "build-locally"),
        (False, NO_DOCKERFILE, "cannot-proceed"),
    ],
)
def test_every_decision_from_a_stand_in_pins_file_says_the_banner(
    use_prebuilt: bool, dockerfile: Any, action: str
) -> None:
    """Given a stand-in pins file, resolve says start.sh's banner whatever it decides (a
    local build on a stand-in base, or none at all, too): in the text format on stdout, its
    first line; with env and json on stderr, after the ``decision=`` line it starts with,
    stdout keeping the result alone. A pins file of real images says none."""
    args = inputs(use_prebuilt=use_prebuilt)
    for stand_in in (True, False):
        choice = choose(args, notes(stand_in=stand_in), "linux/amd64")
        decision = decide(args, choice, AVAILABLE if use_prebuilt else None, dockerfile)
        assert decision.action.value == action
        text, said = render(decision, "text"), resolving.summary(decision)
        if not stand_in:
            assert "STAND-IN" not in text.split("\n")[0] and "STAND-IN" not in said
            continue
        assert text.startswith(f"{resolving.STAND_IN_WARNING}\n"), text
        lines = said.splitlines()
        assert lines[0].startswith(f"resolve: decision={action} "), said
        assert lines[1] == f"resolve: {resolving.STAND_IN_WARNING}", said
        assert "STAND-IN" not in render(decision, "env")


def test_the_launcher_says_a_refused_token_in_resolve_s_words() -> None:
    """A registry refusing the token its own token server issued: start.sh (no Python, so a
    copy) carries resolve's why and fix word for word, and its fix, as resolve's, says that
    trying again later does not help."""
    launcher = (ROOT / "examples" / "stack" / "start.sh").read_text(encoding="utf-8")
    assert f'token_unverified="{resolving.TOKEN_UNVERIFIED}"' in launcher
    assert f'token_unverified_fix="{resolving.TOKEN_UNVERIFIED_FIX}"' in launcher
    assert 'advice="$pull_fix (trying again later does not help)"' in launcher


# --------------------------------------------------------------------------- output


def test_env_output() -> None:
    args = inputs(pma_image="phpmyadmin:5.2")
    choice = choose(args, notes(), "linux/arm64")
    decision = decide(args, choice, AVAILABLE, DOCKERFILE)
    assert render(decision, "env") == (
        "PHP_DECISION='use-prebuilt'\n"
        f"PHP_IMAGE='docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}'\n"
        "PHP_BUILD='0'\n"
        "PHP_VERSION='8.4'\n"
        "PHP_PLATFORM='linux/arm64'\n"
        "PHP_DOCKERFILE='dockerfiles/8.4/Dockerfile'\n"
        "PHP_BUILD_CONTEXT='dockerfiles/8.4'\n"
        f"PHP_BASE_IMAGE='docker.io/library/php:8.4-fpm-alpine@{BASE}'\n"
        "STACK_RELEASE='v2.0.0'\n"
        "PMA_IMAGE='phpmyadmin:5.2'\n"
    )
    cannot = decide(inputs(allow_fallback=False), choice, FAILURES["registry down"][0], DOCKERFILE)
    assert render(cannot, "env") == "PHP_DECISION='cannot-proceed'\n"


@pytest.mark.parametrize(
    "where", ["/home/a b/Client Sites/#1/$HOME/x", "C:\\stack\\x", "tab\there"]
)
def test_env_output_quotes_paths_or_refuses_them(where: str) -> None:
    args = inputs(dockerfiles=where)
    facts = DockerfileFacts(f"{where}/8.4/Dockerfile", True)
    decision = decide(args, choose(args, None, "linux/amd64"), AVAILABLE, facts)
    if "\t" in where:
        with pytest.raises(ResolveError, match="cannot be written to an env file safely"):
            render(decision, "env")
        return
    assert f"PHP_BUILD_CONTEXT='{where}/8.4'\n" in render(decision, "env")


@pytest.mark.parametrize("value", ["it's", "a\nb", "trailing\\", "\x7f"])
def test_env_quote_refuses_what_sh_and_compose_would_read_differently(value: str) -> None:
    with pytest.raises(ResolveError):
        resolving.env_quote("KEY", value)
    assert resolving.env_quote("KEY", "a b #c $d \\e") == "KEY='a b #c $d \\e'"


def test_a_value_refused_for_the_env_file_gets_the_advice_that_fits_it() -> None:
    """A path: move the stack; an image reference (PMA_IMAGE): it is mistyped."""
    with pytest.raises(ResolveError) as path:
        resolving.env_quote("PHP_BUILD_CONTEXT", "/home/it's/8.4")
    assert "move the stack to a path without them" in (path.value.hint or "")
    with pytest.raises(ResolveError) as image:
        resolving.env_quote("PMA_IMAGE", "phpmyadmin'x")
    assert (image.value.hint or "").startswith("check PMA_IMAGE: an image reference holds no")


def test_an_env_value_the_actions_runner_would_obey_is_refused_there_only() -> None:
    """In GitHub Actions a ``##[`` in an env line is a workflow command to the runner, and
    made inert it would name another path: the value is refused there, with the advice
    that fits it; elsewhere it is written as it is."""
    where = "/stack/##[add-mask]x/dockerfiles"
    args = inputs(dockerfiles=where, pma_image="##[debug]pma")
    facts = DockerfileFacts(f"{where}/8.4/Dockerfile", True)
    decision = decide(args, choose(args, None, "linux/amd64"), AVAILABLE, facts)
    assert f"PHP_BUILD_CONTEXT='{where}/8.4'\n" in render(decision, "env")
    with pytest.raises(ResolveError, match="cannot be written in GitHub Actions safely") as path:
        render(decision, "env", actions=True)
    assert "PHP_DOCKERFILE=" not in str(path.value) and "PHP_DOCKERFILE " in str(path.value)
    assert (path.value.hint or "").startswith("move the stack to a path without '##['")
    with pytest.raises(ResolveError) as image:
        resolving.env_quote("PMA_IMAGE", "##[debug]pma", actions=True)
    assert (image.value.hint or "") == "check PMA_IMAGE: an image reference holds no '#'"


def _actions_tree(root: Path) -> dict[str, str]:
    """A stack under a folder named as a workflow command, its Dockerfile's base one too,
    and the settings of a run in GitHub Actions that decides without the network."""
    dockerfile = root / "##[add-mask]stack" / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text("ARG PHP_BASE_IMAGE=##[warning]base\nFROM ${PHP_BASE_IMAGE}\n")
    return {
        "GITHUB_ACTIONS": "true",
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v2.0.0",
        "USE_PREBUILT": "false",
        "PHP_IMAGE_PLATFORM": "linux/amd64",
        "PHP_IMAGE_CACHE_CHECK": "false",
        "PHP_DOCKERFILES": str(dockerfile.parent.parent),
        "PMA_IMAGE": "phpmyadmin:5.2",  # one with '#' is refused: no image reference has one
    }


@pytest.mark.parametrize("fmt", ["text", "json", "env"])
def test_in_actions_no_value_resolve_prints_is_a_workflow_command(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By both entry points, in GitHub Actions: a decision quoting a Dockerfile's path and
    base, and an error quoting a setting, reach stdout and stderr
    readable, yet not one line is a command the runner would obey; the JSON decision
    parses to the values as they are."""
    from click.testing import CliRunner

    from publisher.cli import main as cli
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)
    from tests.support.github_files import workflow_commands

    env = _actions_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    for settings in (env, {**env, "USE_PREBUILT": "##[add-mask]maybe"}):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--format", fmt], settings, out, err)
        result = CliRunner().invoke(
            cli, ["resolve", "--format", fmt], env=settings, prog_name="publisher"
        )
        assert result.exit_code == code, result.output
        assert (result.stdout, result.stderr) == (out.getvalue(), err.getvalue())
        said = out.getvalue() + err.getvalue()
        assert workflow_commands(said) == [], said
        quoted = "[warning]base" if settings is env else "[add-mask]maybe"
        if settings is env and fmt == "env":  # its path cannot be written: said before deciding
            quoted = "PHP_DOCKERFILE cannot be written in GitHub Actions safely"
        assert quoted in said, said  # quoted all the same, as read
        if settings is not env or fmt == "env":
            assert code == 2 and out.getvalue() == "", said
        elif fmt == "json":
            assert code == EXIT_CANNOT_PROCEED
            data = json.loads(out.getvalue())
            assert data["dockerfile"] == env["PHP_DOCKERFILES"] + "/8.4/Dockerfile"
            assert (data["base_image"], data["pma_image"]) == ("##[warning]base", "phpmyadmin:5.2")
        else:
            assert code == EXIT_CANNOT_PROCEED
            assert "#\u200b#[warning]base" in said, said


def test_json_and_text_output() -> None:
    args = inputs()
    decision = decide(
        args, choose(args, None, "linux/amd64"), FAILURES["tag missing"][0], DOCKERFILE
    )
    data = json.loads(render(decision, "json"))
    assert data["decision"] == "build-locally"
    assert data["exit_code"] == 16
    assert data["build"] is True
    assert data["published_lines"] == ["8.3", "8.5"]
    text = render(decision, "text")
    assert text.startswith(
        "build locally: localhost/twentyi/php-fpm:v2.0.0-php-8.4 from dockerfiles/8.4/Dockerfile\n"
    )
    assert "  why: PHP 8.4 is not published" in text
    with pytest.raises(ResolveError, match="unknown format"):
        render(decision, "yaml")


# --------------------------------------------------------------------------- determinism


@given(
    php=st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
    release=st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)).map(
        lambda t: f"v{t[0]}.{t[1]}.{t[2]}"
    ),
    digest=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    mirror=st.booleans(),
)
def test_same_inputs_same_bytes(php: str, release: str, digest: str | None, mirror: bool) -> None:
    data = notes_dict(release=release)
    data["lines"] = data["lines"][1:]
    data["lines"][0]["php"] = php
    if digest is not None:
        data["lines"][0]["index_digest"] = f"sha256:{digest}"
    source = parse_pins(pins.render(data), source="n") if digest is not None else None
    env = {
        "PHP_VERSION": php,
        "STACK_RELEASE": release,
        "PREBUILT_REGISTRY": "mirror" if mirror else "canonical",
    }
    outputs = []
    for _ in range(2):
        args = parse_inputs(dict(env))
        choice = choose(args, source, "linux/amd64")
        decision = decide(args, choice, AVAILABLE, DOCKERFILE)
        outputs.append((render(decision, "env"), render(decision, "json")))
    assert outputs[0] == outputs[1]
    parsed = parse_reference(choose(parse_inputs(env), source, "linux/amd64").reference)
    assert parsed.tag == f"{release}-php-{php}"
    assert parsed.digest == (f"sha256:{digest}" if digest is not None else None)


# --------------------------------------------------------------------------- wiring


BASE_AVAILABLE = probing.Result(S.AVAILABLE, "the base is available")


class FakeProbe:
    """Stands in for the network in unit tests; the integration tests use a real registry.

    ``base`` answers for the base image (``library/php``), ``result`` for the rest."""

    def __init__(self, result: probing.Result, base: probing.Result = BASE_AVAILABLE) -> None:
        self.result = result
        self.base = base
        self.targets: list[probing.Target] = []

    def __call__(self, target: probing.Target, **kwargs: Any) -> probing.Result:
        self.targets.append(target)
        return self.base if target.repository == "library/php" else self.result


def write_tree(root: Path, *, with_notes: bool = True) -> None:
    dockerfile = root / "dockerfiles" / "8.4" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text(
        "ARG PHP_BASE_IMAGE=docker.io/library/php:8.4-fpm-alpine\nFROM ${PHP_BASE_IMAGE}\n"
    )
    if with_notes:
        (root / "release-notes").mkdir()
        (root / "release-notes" / "v2.0.0.env").write_text(pins_text())


def test_resolve_reads_default_notes_and_probes_by_digest(tmp_path: Path) -> None:
    write_tree(tmp_path)
    fake = FakeProbe(AVAILABLE)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=None, host="linux/amd64")
    assert decision.action is Action.USE_PREBUILT
    assert decision.image.endswith(f"@{INDEX}")
    assert decision.pins == str(tmp_path / "release-notes" / "v2.0.0.env")
    assert [t.reference for t in fake.targets] == [INDEX]


def test_resolve_without_notes_probes_the_tag(tmp_path: Path) -> None:
    write_tree(tmp_path, with_notes=False)
    fake = FakeProbe(FAILURES["registry down"][0])
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PHP_IMAGE_PLATFORM": "linux/arm64"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=None)
    assert decision.action is Action.BUILD_LOCALLY
    assert decision.platform == "linux/arm64"
    assert decision.base_image == "docker.io/library/php:8.4-fpm-alpine"
    assert [(t.reference, t.platform) for t in fake.targets] == [
        ("v2.0.0-php-8.4", "linux/arm64"),
        ("8.4-fpm-alpine", "linux/arm64"),  # the base a build needs
    ]


@pytest.mark.parametrize("use_prebuilt", [True, False])
def test_a_build_whose_base_cannot_be_had_is_not_started(
    use_prebuilt: bool, tmp_path: Path
) -> None:
    write_tree(tmp_path)
    down = probing.Result(S.UNREACHABLE, "cannot reach registry-1.docker.io: no such host")
    fake = FakeProbe(down, base=down)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": str(use_prebuilt)}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=None, host="linux/amd64")
    assert decision.action is Action.CANNOT_PROCEED
    assert (
        f"a local build cannot work either: its base docker.io/library/php:8.4-fpm-alpine@{BASE} "
        "is not in the local image store and cannot be pulled (unreachable: cannot reach"
    ) in decision.reason
    assert decision.fix is not None and "once while online" in decision.fix
    assert fake.targets[-1].reference == BASE


BASE_FIXES = {
    # why the base could not be pulled: (its class as said, the fix's words)
    S.UNREACHABLE: ("unreachable", "once while online"),
    S.NOT_PUBLISHED: ("not-on-registry", "take the release's current pins file and Dockerfiles"),
    S.AUTH_REQUIRED: ("auth-required", "run `docker login docker.io` to pull the base"),
    S.RATE_LIMITED: ("rate-limited", "once docker.io allows it again (`docker login docker.io`"),
    S.PLATFORM_MISSING: ("platform-missing", "set PHP_IMAGE_PLATFORM to a platform the base"),
    S.REGISTRY_ERROR: ("registry-error", "once docker.io answers"),
}


@pytest.mark.parametrize("status", sorted(BASE_FIXES, key=str), ids=str)
def test_a_base_that_cannot_be_pulled_gets_the_fix_for_why(status: S, tmp_path: Path) -> None:
    """Going online helps only a base that could not be reached: a base pruned from its
    registry, behind a login or a rate limit, or lacking the platform needs another fix."""
    write_tree(tmp_path)
    fake = FakeProbe(FAILURES["registry down"][0], base=probing.Result(status, "said"))
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=None, host="linux/amd64")
    said, fix = BASE_FIXES[status]
    assert decision.action is Action.CANNOT_PROCEED
    assert f"cannot be pulled ({said}: said)" in decision.reason
    assert decision.fix is not None and fix in decision.fix
    if status is not S.UNREACHABLE:
        assert "once while online" not in decision.fix


def test_a_base_named_by_tag_that_its_registry_lacks_is_not_on_registry(tmp_path: Path) -> None:
    """A pins file without the line's base (the Dockerfile's tag is built on): a base its
    registry lacks is said not-on-registry, as start.sh says it, never not-published (a
    word for the release's lines), and gets the fix for a base gone from its registry."""
    write_tree(tmp_path, with_notes=False)
    (tmp_path / "release-notes").mkdir()
    text = pins_text().replace(f"-fpm-alpine@{BASE}'", "-fpm-alpine'")  # no base digest known
    (tmp_path / "release-notes" / "v2.0.0.env").write_text(text)
    fake = FakeProbe(FAILURES["registry down"][0], base=probing.Result(S.NOT_PUBLISHED, "said"))
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=None, host="linux/amd64")
    assert decision.action is Action.CANNOT_PROCEED
    assert decision.base_image == "docker.io/library/php:8.4-fpm-alpine"
    assert "cannot be pulled (not-on-registry: said)" in decision.reason
    assert decision.fix is not None
    assert "take the release's current pins file and Dockerfiles" in decision.fix


def test_a_digest_the_pins_list_but_the_registry_lacks_is_not_on_this_registry(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path)
    missing = probing.Result(S.NOT_PUBLISHED, "x is not on the registry")
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "ALLOW_LOCAL_BUILD_FALLBACK": "no"}
    decision = resolve(env, cwd=tmp_path, probe=FakeProbe(missing), cache=None, host="linux/amd64")
    assert decision.availability == "not-on-registry"
    assert "is not on this registry (mirror not synced?)" in decision.reason
    assert "not published" not in decision.reason


class FakeCache:
    """Stands in for the docker daemon's image store (integration tests use the real one)."""

    def __init__(self, hit: bool) -> None:
        self.hit = hit
        self.asked: list[tuple[str, str, float]] = []

    def __call__(
        self, reference: str, platform: str, *, env: Any, timeout: float
    ) -> probing.Result | None:
        self.asked.append((reference, platform, timeout))
        if not self.hit:
            return None
        return probing.Result(
            S.CACHED, f"{reference} is in the local image store", platforms=(platform,)
        )


def test_a_cached_prebuilt_image_needs_no_registry(tmp_path: Path) -> None:
    write_tree(tmp_path)
    fake, cache = FakeProbe(FAILURES["registry down"][0]), FakeCache(hit=True)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "ALLOW_LOCAL_BUILD_FALLBACK": "false"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert decision.action is Action.USE_PREBUILT
    assert decision.availability == "cached"
    assert decision.reason == (
        f"pre-built image docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX} is in the local image "
        "store (no registry request) for linux/amd64"
    )
    assert cache.asked == [(decision.image, "linux/amd64", 0.5)]
    assert fake.targets == []  # offline is fine: the registry was not asked


def test_a_cache_miss_asks_the_registry_within_the_timeout(tmp_path: Path) -> None:
    write_tree(tmp_path)
    fake, cache = FakeProbe(AVAILABLE), FakeCache(hit=False)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "RESOLVE_TIMEOUT": "1"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert decision.availability == "available"
    assert cache.asked == [(decision.image, "linux/amd64", 0.5)]
    assert len(fake.targets) == 1


@pytest.mark.parametrize("timeout", ["0.01", "0.2", "1"])
def test_a_short_registry_timeout_leaves_the_engine_its_own_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, timeout: str
) -> None:
    """RESOLVE_TIMEOUT is the registry's: the docker engine (its platform, its image store)
    keeps its 0.5 s whatever it is, as the launcher's engine calls keep their 10 s. A quarter
    of a short timeout (0.0025 s for 0.01) missed an image docker had, offline, at random,
    and on a Mac took this machine's platform instead of the engine's."""
    write_tree(tmp_path)
    asked: list[float] = []

    def run_platform(env: Any, limit: float) -> tuple[str, None]:
        asked.append(limit)
        return "linux/amd64", None

    monkeypatch.setattr(resolving, "run_platform", run_platform)
    fake, cache = FakeProbe(FAILURES["registry down"][0]), FakeCache(hit=True)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "RESOLVE_TIMEOUT": timeout}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache)
    assert decision.availability == "cached"
    assert asked == [0.5]
    assert cache.asked == [(decision.image, "linux/amd64", 0.5)]
    assert fake.targets == []


class LocalBuildOnly(FakeCache):
    """An image store holding the local build of an earlier start, and not its base; the
    build's label names the Dockerfile it was built from (``built_from``; None: not read)."""

    def __init__(self, hit: bool, built_from: str | None = None) -> None:
        super().__init__(hit)
        self.built_from = built_from

    def __call__(
        self, reference: str, platform: str, *, env: Any, timeout: float
    ) -> probing.Result | None:
        self.asked.append((reference, platform, timeout))
        if not reference.startswith("localhost/"):
            return None
        return probing.Result(
            S.CACHED, f"{reference} is here", platforms=(platform,), built_from=self.built_from
        )


def test_a_fallback_takes_an_earlier_local_build_without_asking_for_its_base(
    tmp_path: Path,
) -> None:
    """Offline, with the base gone from the image store: the earlier start's local build on
    that base is what the fallback starts (start.sh reuses it), not "cannot work either"."""
    write_tree(tmp_path)
    down = FAILURES["registry down"][0]
    fake, cache = FakeProbe(down, base=down), LocalBuildOnly(hit=True)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert (decision.action, decision.availability) == (Action.BUILD_LOCALLY, "unreachable")
    assert decision.image.startswith("localhost/twentyi/php-fpm:v2.0.0-php-8.4-base-")
    assert [a[0] for a in cache.asked] == [decision.prebuilt, decision.image]
    assert len(fake.targets) == 1  # the pre-built image's registry; the base's is not asked
    # without the fallback, or with USE_PREBUILT=false (which always builds), the base counts
    for setting in ({"ALLOW_LOCAL_BUILD_FALLBACK": "false"}, {"USE_PREBUILT": "false"}):
        decision = resolve(
            {**env, **setting}, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64"
        )
        assert decision.action is Action.CANNOT_PROCEED, setting


@pytest.mark.parametrize("label", ["", "sha256:" + "0" * 64])
def test_an_earlier_local_build_of_another_dockerfile_is_built_anew_with_a_note(
    tmp_path: Path, label: str
) -> None:
    """The earlier start's local build carries the sha256 of the Dockerfile it was built
    from: one of another Dockerfile (or none, a build of an earlier launcher) is not taken
    (a build from a Dockerfile since corrected), and a note says so, in start.sh's words; one
    of this Dockerfile is taken, and the digest goes to compose for the build's label."""
    write_tree(tmp_path)
    path = tmp_path / "dockerfiles" / "8.4" / "Dockerfile"
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    down = FAILURES["registry down"][0]
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    fake, cache = FakeProbe(down), LocalBuildOnly(hit=True, built_from=label)
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert (decision.action, decision.build) == (Action.BUILD_LOCALLY, True)
    assert "falling back to a local build of" in decision.reason, decision.reason
    assert decision.note == (
        f"the local build {decision.image} of an earlier start is not started again: it was "
        f"built from another Dockerfile than {path} (its label dev.publisher.dockerfile: "
        f"{label or 'none'}; the file's: {digest})"
    )
    assert ("PHP_DOCKERFILE_DIGEST", digest) in decision.env()
    same = LocalBuildOnly(hit=True, built_from=digest)
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=same, host="linux/amd64")
    assert (decision.action, decision.build, decision.note) == (Action.BUILD_LOCALLY, False, None)
    assert "using the local build" in decision.reason, decision.reason


def test_the_cache_check_can_be_disabled(tmp_path: Path) -> None:
    write_tree(tmp_path)
    fake, cache = FakeProbe(AVAILABLE), FakeCache(hit=True)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "PHP_IMAGE_CACHE_CHECK": "false"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert decision.availability == "available"
    assert cache.asked == []


def test_resolve_use_prebuilt_false_does_not_probe_the_image(tmp_path: Path) -> None:
    write_tree(tmp_path)
    fake, cache = FakeProbe(AVAILABLE), FakeCache(hit=True)
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "false"}
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/amd64")
    assert decision.action is Action.BUILD_LOCALLY
    assert decision.base_image == f"docker.io/library/php:8.4-fpm-alpine@{BASE}"
    assert fake.targets == []  # the base is cached: no request at all
    assert [a[0] for a in cache.asked] == [decision.base_image]


def test_resolve_with_an_explicit_pins_file_of_another_release(tmp_path: Path) -> None:
    write_tree(tmp_path)
    env = {
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v2.0.1",
        "PHP_PINS_FILE": "release-notes/v2.0.0.env",
    }
    with pytest.raises(PinsError, match=r"this pins file is for v2\.0\.0, not v2\.0\.1") as info:
        resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    # start.sh's words; a flag that gave the release is named as that flag
    fix = "take the pins file of v2.0.1, or unset STACK_RELEASE to use this one (v2.0.0)"
    assert info.value.hint == fix
    with pytest.raises(PinsError) as info:
        resolve(
            {**env, "STACK_RELEASE": ""}, {"STACK_RELEASE": "v2.0.1"},
            cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64",
        )  # fmt: skip
    assert info.value.hint == fix.replace("unset STACK_RELEASE", "drop --release")
    env["PHP_PINS_FILE"] = "release-notes"
    with pytest.raises(PinsError, match="pins file not found"):
        resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")


def test_dockerfile_facts(tmp_path: Path) -> None:
    write_tree(tmp_path, with_notes=False)
    facts = dockerfile_facts("dockerfiles", "8.4", cwd=tmp_path)
    path = tmp_path / "dockerfiles/8.4/Dockerfile"
    assert facts == DockerfileFacts(
        str(path),
        True,
        "docker.io/library/php:8.4-fpm-alpine",
        digest="sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),  # the build's label
    )
    assert facts.context == f"{tmp_path}/dockerfiles/8.4"
    # named by its absolute path, as the launcher names it: "./" and a trailing "/" go
    assert dockerfile_facts("./dockerfiles/", "8.4", cwd=tmp_path) == facts
    assert dockerfile_facts("dockerfiles", "8.6", cwd=tmp_path).exists is False


def test_light_entry_point_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "maybe"}
    assert main(["--format", "env"], env, out, err) == 2
    assert "USE_PREBUILT='maybe' is not valid" in err.getvalue()
    assert out.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    env = {"PHP_VERSION": "8.6", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "false"}
    assert main(["--format", "env"], env, out, err) == EXIT_CANNOT_PROCEED
    assert out.getvalue() == "PHP_DECISION='cannot-proceed'\n"
    assert "resolve: decision=cannot-proceed availability=none\n" in err.getvalue()
    assert "resolve: why: USE_PREBUILT=false, but there is no Dockerfile" in err.getvalue()


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["-h"], 0),
        (["--format", "json", "--help"], 0),
        (["--help", "extra"], 2),  # as start.sh: --help with anything else is refused
        (["extra", "--help"], 2),
        (["--help", "--format", "yaml"], 2),
        (["--help", "--php", "8.4"], 0),
        (["-h", "extra", "more"], 2),
    ],
)
def test_help_is_shown_only_for_a_command_line_that_is_valid_otherwise(
    argv: list[str], code: int
) -> None:
    """By both entry points: `publisher resolve --help extra` (click shows the help as soon
    as it meets --help) printed the help, exit 0, where resolve.py and start.sh refuse."""
    from click.testing import CliRunner

    from publisher.cli import main as cli
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    out, err = io.StringIO(), io.StringIO()
    assert main(argv, {}, out, err) == code, err.getvalue()
    result = CliRunner().invoke(cli, ["resolve", *argv], prog_name="publisher")
    assert result.exit_code == code, result.output
    if code == 0:
        assert out.getvalue().startswith("usage: resolve.py [-h]") and err.getvalue() == ""
        assert result.stdout.startswith("Usage: publisher resolve [OPTIONS]")
        assert result.stderr == ""
    else:
        assert out.getvalue() == "" and result.stdout == ""
        for said in (err.getvalue(), result.stderr):
            assert said.startswith("resolve: decision=none error=invalid-input\nerror: ")
        # in the same words, each tip naming the --help of the one that was run
        assert err.getvalue().splitlines()[:2] == result.stderr.splitlines()[:2]
        assert "see `publisher resolve --help`" in result.stderr


def test_reads_what_the_publish_stage_writes() -> None:
    """The pins the publish stage writes (publisher.core.notes -> publisher.core.pins) read back."""
    from publisher.core import notes as writer

    line = line_facts(
        "8.4",
        "v2.0.0",
        digest=INDEX,
        base_image="docker.io/library/php:{php}-fpm-alpine",
        base_digest=BASE,
        platforms={"linux/amd64": "sha256:" + "d" * 64, "linux/arm64": "sha256:" + "e" * 64},
        php_version="8.4.12",
        tags=("v2.0.0-php-8.4", "v2.0.0", "php-8.4", "latest"),
    )
    facts = release_facts(
        [line],
        "v2.0.0",
        published_at="2026-01-01T00:00:00Z",
        registries=(
            writer.RegistryFacts("dockerhub", "docker.io/twentyi/php-fpm", True),
            writer.RegistryFacts("ghcr", "ghcr.io/twentyi/php-fpm", False),
        ),
    )
    record = json.loads(writer.release_json(facts, writer.SizeHistory()))
    parsed = parse_pins(pins.render(record), source="v2.0.0.env")
    choice = choose(inputs(), parsed, "linux/arm64")
    assert choice.reference == f"docker.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"
    assert choice.base_image == f"docker.io/library/php:8.4-fpm-alpine@{BASE}"
    assert choice.known_platforms == ("linux/amd64", "linux/arm64")
    mirror = choose(inputs(registry=RegistryChoice.MIRROR), parsed, "linux/arm64")
    assert mirror.reference == f"ghcr.io/twentyi/php-fpm:v2.0.0-php-8.4@{INDEX}"


MATRIX = (
    "registries:\n"
    "  - {name: hub, repository: docker.io/acme/php-fpm, primary: true}\n"
    "  - {name: ghcr, repository: ghcr.io/acme/php-fpm}\n"
    "default_line: '8.4'\nlines: [{php: '8.4'}]\n"
)


def test_a_matrix_yaml_in_the_working_directory_changes_nothing(tmp_path: Path) -> None:
    """A PHP project's own matrix.yaml is none of resolve's business."""
    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "USE_PREBUILT": "false"}
    write_tree(tmp_path, with_notes=False)
    before = resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/arm64")
    (tmp_path / "matrix.yaml").write_text("include:\n  - {php: 8.4, os: ubuntu}\n")  # a CI matrix
    after = resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/arm64")
    assert after == before
    assert after.image == "localhost/twentyi/php-fpm:v2.0.0-php-8.4"


def test_with_matrix_the_repositories_come_from_it(tmp_path: Path) -> None:
    """``--matrix FILE`` (and only that) reads a matrix.yaml for the repositories."""
    (tmp_path / "ci.yaml").write_text(MATRIX)
    seen: list[probing.Target] = []

    def probe(target: probing.Target, timeout: float, env: Any) -> probing.Result:
        seen.append(target)
        return probing.Result(probing.Status.AVAILABLE, "ok", digest="sha256:" + "a" * 64)

    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    flags: dict[str, str | None] = {"--matrix": "ci.yaml"}
    decision = resolve(env, flags, cwd=tmp_path, probe=probe, cache=None, host="linux/arm64")
    assert (seen[-1].host, seen[-1].repository) == ("docker.io", "acme/php-fpm")
    assert decision.image.startswith("docker.io/acme/php-fpm:v2.0.0-php-8.4")
    resolve(
        {**env, "PREBUILT_REGISTRY": "mirror"},
        flags,
        cwd=tmp_path,
        probe=probe,
        cache=None,
        host="linux/arm64",
    )
    assert (seen[-1].host, seen[-1].repository) == ("ghcr.io", "acme/php-fpm")
    (tmp_path / "ci.yaml").write_text("include: []\n")
    with pytest.raises(
        ResolveError, match=r"--matrix: .*ci\.yaml:1:1: include: unknown key 'include'"
    ):
        resolve(env, flags, cwd=tmp_path, probe=probe, cache=None, host="linux/arm64")
    # a path that is not there names --matrix, not publisher's own --config
    with pytest.raises(ResolveError, match=r"--matrix .*gone\.yaml: no such file") as info:
        resolve(
            env,
            {"--matrix": "gone.yaml"},
            cwd=tmp_path,
            probe=probe,
            cache=None,
            host="linux/arm64",
        )
    assert "--config" not in str(info.value.hint)


def test_the_module_is_one_vendorable_stdlib_file() -> None:
    """Python 3.9 grammar, standard library imports only (publisher only behind --matrix)."""
    import ast
    import sys

    source = Path(resolving.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 9))
    top, nested = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import on line {node.lineno}"
            names = {(node.module or "").split(".")[0]}
        else:
            continue
        (top if node.col_offset == 0 else nested).update(names)
    assert top <= set(sys.stdlib_module_names), top - set(sys.stdlib_module_names)
    assert nested - set(sys.stdlib_module_names) == {"publisher"}


@pytest.mark.parametrize(
    ("argv", "code"),
    [([], 2), (["--pins", "/nonexistent/v2.0.0.env"], 3), (["--use-prebuilt", "maybe"], 2)],
)
def test_both_entry_points_word_an_error_alike(
    argv: list[str], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`publisher resolve` and `python -m publisher.resolve`: the same lines, the same code."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    assert resolving.main(argv, env={}, stdout=io.StringIO(), stderr=err) == code
    result = CliRunner().invoke(main, ["resolve", *argv], env={"STACK_RELEASE": None})
    assert result.exit_code == code
    assert result.stderr == err.getvalue()
    word = {2: "invalid-input", 3: "pins-file"}[code]
    assert err.getvalue().startswith(f"resolve: decision=none error={word}\nerror: ")
    assert "\n  tip: " in err.getvalue()


@pytest.mark.parametrize(
    "argv", [["--bogus"], ["--format", "yaml"], ["--ph", "8.4"], ["--php"], ["--rel", "v1.0.0"]]
)
def test_both_entry_points_refuse_a_command_line_with_the_decision_line_and_exit_2(
    argv: list[str],
) -> None:
    """A command line the parser refuses (an unknown flag, a flag's first letters, a bad
    choice, a missing value) is invalid input: the ``decision=none`` line a script reads,
    ``error:`` in each parser's words, a tip, exit 2 and nothing on stdout."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    out, err = io.StringIO(), io.StringIO()
    assert resolving.main(argv, env={}, stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("resolve: decision=none error=invalid-input\nerror: ")
    assert "\n  tip: see `resolve.py --help`" in err.getvalue()
    result = CliRunner().invoke(main, ["resolve", *argv])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("resolve: decision=none error=invalid-input\nerror: ")
    assert "\n  tip: see `publisher resolve --help`" in result.stderr


def test_publisher_resolve_help_names_the_platform_it_decides_for() -> None:
    """`publisher resolve --help` says the image is checked for the platform it runs on, the
    docker engine's unless a setting names one, as docs/consumers.md and `resolve.py --help`
    say; it said "this machine's platform", which a Rosetta shell or a remote DOCKER_HOST
    is not."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    result = CliRunner().invoke(main, ["resolve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "this machine's platform" not in text
    assert "DOCKER_DEFAULT_PLATFORM, else the docker engine's, not this machine's" in text


def test_both_helps_run_compose_with_build_when_php_env_says_build(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`publisher resolve --help` and `resolve.py --help` showed `up -d` alone: compose 2.26
    builds on `up` only an image it lacks, so a PHP_BUILD='1' decision run so started an
    image of that tag built before, from an older Dockerfile, as it was."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    result = CliRunner().invoke(main, ["resolve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert resolving.main(["--help"], env={}) == 0
    for text in (result.stdout, capsys.readouterr().out):
        assert "docker compose --env-file php.env up -d --build  # PHP_BUILD='1'" in text, text
        assert "docker compose --env-file php.env up -d          # PHP_BUILD='0'" in text, text


def test_the_launchers_registry_timeout_is_read_when_resolve_has_none() -> None:
    assert parse_inputs({"STACK_REGISTRY_TIMEOUT": "7.5"}).timeout == 7.5
    both = {"STACK_REGISTRY_TIMEOUT": "7.5", "RESOLVE_TIMEOUT": "3"}
    assert parse_inputs(both).timeout == 3
    with pytest.raises(
        ResolveError, match=r"STACK_REGISTRY_TIMEOUT='61' is not valid: .*at most 60"
    ):
        parse_inputs({"STACK_REGISTRY_TIMEOUT": "61"})


@pytest.mark.parametrize("text", ["10", "2.5", "5.", ".5", "0.1", "000000010", "60", " 2\r"])
def test_a_timeout_is_read_as_the_launcher_reads_it(text: str) -> None:
    assert parse_inputs({"RESOLVE_TIMEOUT": text}).timeout == float(text)


@pytest.mark.parametrize(
    "text", ["1_0", "1e1", "+5", "\u0663", "\uff15", ".", "0000000005", "inf", "0x10", "0"]
)
def test_a_timeout_float_would_take_but_the_launcher_would_not_is_refused(text: str) -> None:
    with pytest.raises(ResolveError, match="is not valid: use a number of seconds"):
        parse_inputs({"RESOLVE_TIMEOUT": text})


def test_without_secrets_drops_userinfo_and_every_echoed_form_of_the_password() -> None:
    creds = resolving.BasicCredentials("alice", "pa ss/w'rd")
    basic = base64.b64encode(b"alice:pa ss/w'rd").decode()
    text = (
        "refusing to follow the URL 'ftp://alice:pa%20ss%2Fw%27rd@h/x'; said pa ss/w'rd, "
        f'"pa ss/w\'rd", Basic {basic}, https://u:p@w@other/x'
    )
    shown = resolving.without_secrets(text, creds)
    assert "pa ss" not in shown and "pa%20ss" not in shown and basic not in shown
    assert "ftp://***@h/x" in shown and "https://***@other/x" in shown
    assert resolving.without_secrets("https://h/v2/x?n=1") == "https://h/v2/x?n=1"
    # A reference by digest is not a URL with a user: it is left as it is.
    assert resolving.without_secrets("docker://php@sha256:abc") == "docker://php@sha256:abc"


@pytest.mark.parametrize(
    ("system", "docker_host", "asks"),
    [
        ("Linux", None, False),  # this kernel runs the containers
        # a socket may be a VM's (Colima or Lima --arch aarch64 on x86) or forwarded: asked
        ("Linux", "unix:///run/user/1000/docker.sock", True),
        ("Linux", "unix:///home/me/.colima/default/docker.sock", True),
        ("Linux", "tcp://build-box:2375", True),  # an engine elsewhere
        ("Linux", "ssh://me@build-box", True),
        ("Darwin", None, True),  # a VM: Colima --arch x86_64, a Rosetta shell
        ("Darwin", "unix:///Users/me/.colima/default/docker.sock", True),
    ],
)
def test_the_engine_is_asked_its_platform_unless_it_is_linuxs_default_one(
    system: str, docker_host: str | None, asks: bool
) -> None:
    env = {"DOCKER_HOST": docker_host} if docker_host else {}
    assert resolving.asks_engine(env, system) is asks


def test_an_engine_that_cannot_be_asked_is_said_in_a_note() -> None:
    """ssh:// (resolve does not speak it): this machine's platform, and what to set."""
    platform, note = resolving.run_platform({"DOCKER_HOST": "ssh://me@box"}, 0.5, "Linux")
    assert platform == resolving.detect_host_platform()
    assert note is not None
    assert "engine at ssh://***@box (DOCKER_HOST or the docker context) could not be asked" in note
    assert "set PHP_IMAGE_PLATFORM to the engine's" in note
    assert resolving.run_platform({}, 0.5, "Linux") == (platform, None)


def _context(config: Path, name: str, host: str) -> None:
    """A docker context as `docker context create NAME --docker host=HOST` stores it."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}})
    )


def test_the_engine_is_the_one_the_docker_cli_asks_also_through_a_context(tmp_path: Path) -> None:
    """DOCKER_HOST, else DOCKER_CONTEXT, else the config's currentContext (Colima, Rancher
    Desktop, OrbStack set one): the engine asked for images and for its platform."""
    _context(tmp_path, "colima", "unix:///Users/me/.colima/default/docker.sock")
    _context(tmp_path, "box", "tcp://build-box:2375")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert resolving.docker_address(env) == "/Users/me/.colima/default/docker.sock"
    assert resolving.docker_address({**env, "DOCKER_CONTEXT": "box"}) == ("build-box", 2375)
    assert resolving.asks_engine({**env, "DOCKER_CONTEXT": "box"}, "Linux")
    assert resolving.docker_host({**env, "DOCKER_HOST": "unix:///run/d.sock"}) == (
        "unix:///run/d.sock"
    )
    assert resolving.docker_host({**env, "DOCKER_CONTEXT": "default"}) == ""
    assert resolving.docker_host({**env, "DOCKER_CONTEXT": "gone"}) == ""
    (tmp_path / "config.json").write_text("{not json")
    assert resolving.docker_host(env) == ""  # docker itself says what is wrong with it


# --------------------------------------------------------------------------- errors: words


def test_a_pins_file_that_cannot_be_read_says_why_in_words_and_what_to_do(tmp_path: Path) -> None:
    """The system's reason, not Python's ``[Errno 20] ...`` text; a tip naming the setting."""
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "v2.0.0.env"  # a path through a file: "Not a directory"
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(path), None, cwd=tmp_path)
    assert info.value.message == f"{path}: cannot read the pins file: Not a directory"
    assert (
        info.value.hint == "check the path and the disk it is on, or point PHP_PINS_FILE at a copy"
    )
    with pytest.raises(PinsError) as info:
        resolving.load_pins(str(path), None, cwd=tmp_path, name="--pins")
    assert info.value.hint == "check the path and the disk it is on, or point --pins at a copy"


def test_an_unknown_format_has_a_tip_naming_the_formats() -> None:
    decision = decide(inputs(), choose(inputs(), None, "linux/amd64"), AVAILABLE, DOCKERFILE)
    with pytest.raises(ResolveError) as info:
        render(decision, "yaml")
    assert info.value.message == "unknown format 'yaml'"
    assert info.value.hint == "give --format one of: text, env, json"
    assert "  tip: give --format one of: text, env, json\n" in resolving.error_text(info.value)


def test_an_os_error_in_the_entry_point_is_said_with_a_tip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the run could not use, met where no narrower handler is: exit 17 with a tip."""
    monkeypatch.chdir(tmp_path)

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", "/srv/stack/dockerfiles")

    monkeypatch.setattr(resolving, "resolve", fails)
    out, err = io.StringIO(), io.StringIO()
    assert main([], {}, out, err) == EXIT_CANNOT_PROCEED
    assert err.getvalue() == (
        "resolve: decision=none error=file-access\n"
        "error: cannot use /srv/stack/dockerfiles: Permission denied\n"
        "  tip: check that /srv/stack/dockerfiles is there and this user may use it, then rerun\n"
    )


@pytest.mark.parametrize(
    ("argv", "env", "said", "tip"),
    [
        (
            ["--timeout", "abc"],
            {"RESOLVE_TIMEOUT": "5"},
            "--timeout 'abc' is not valid: use a number of seconds above 0 and at most 60",
            "correct the flag --timeout",
        ),
        (
            [],
            {"RESOLVE_TIMEOUT": "abc"},
            "RESOLVE_TIMEOUT='abc' is not valid: use a number of seconds above 0 and at most 60",
            "correct the environment variable RESOLVE_TIMEOUT",
        ),
        (
            ["--use-prebuilt", "maybe"],
            {},
            "--use-prebuilt 'maybe' is not valid: use true or false",
            "correct the flag --use-prebuilt",
        ),
        (
            ["--php", "8"],
            {"PHP_VERSION": "8.4"},
            "--php '8' is not valid: use a PHP line MAJOR.MINOR, e.g. 8.4",
            "correct the flag --php",
        ),
        (
            ["--repository", "127.0.0.1:5000/Team/php-fpm"],
            {},
            "--repository '127.0.0.1:5000/Team/php-fpm' is not valid",
            "correct the flag --repository",
        ),
        (
            ["--pins", "release-notes"],
            {"PHP_VERSION": "8.4"},
            "--pins names a directory ({cwd}/release-notes), and STACK_RELEASE is not set",
            "set STACK_RELEASE, or point --pins at the vX.Y.Z.env file",
        ),
        (
            [],
            {"PHP_VERSION": "8.4", "PHP_PINS_FILE": "release-notes"},
            "PHP_PINS_FILE names a directory ({cwd}/release-notes), and STACK_RELEASE is not set",
            "set STACK_RELEASE, or point PHP_PINS_FILE at the vX.Y.Z.env file",
        ),
        (
            ["--pins", "none.env"],
            {"PHP_VERSION": "8.4", "PHP_PINS_FILE": "release-notes/v2.0.0.env"},
            "{cwd}/none.env: pins file not found",
            "check the path in --pins, or point --pins at the release's vX.Y.Z.env",
        ),
        (
            [],
            {"PHP_VERSION": "8.4", "PHP_PINS_FILE": "none.env"},
            "{cwd}/none.env: pins file not found",
            "check the path in PHP_PINS_FILE, or point PHP_PINS_FILE at the release's vX.Y.Z.env",
        ),
        (
            ["--pins", "release-notes", "--release", "v9.9.9"],
            {"PHP_VERSION": "8.4"},
            "{cwd}/release-notes/v9.9.9.env: pins file not found",
            "check STACK_RELEASE, or put the release's v9.9.9.env in the directory --pins names",
        ),
    ],
    ids=[
        "timeout-flag",
        "timeout-env",
        "bool-flag",
        "php-flag",
        "repo-flag",
        "pins-flag",
        "pins-env",
        "pins-missing-flag",
        "pins-missing-env",
        "pins-missing-in-directory",
    ],
)
def test_a_bad_value_names_the_flag_or_the_variable_it_came_from(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    said: str,
    tip: str,
) -> None:
    """``--timeout abc`` is the flag's value, not RESOLVE_TIMEOUT's (which the flag overrides)."""
    write_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env, out, err)
    assert code in (2, 3), err.getvalue()
    lines = err.getvalue().splitlines()
    assert lines[1].startswith(f"error: {said.format(cwd=tmp_path)}"), err.getvalue()
    assert lines[2] == f"  tip: {tip}", err.getvalue()
    assert out.getvalue() == ""


@pytest.mark.parametrize("given", ["variable", "flag"])
def test_the_fallback_disabled_is_said_as_it_was_given(given: str) -> None:
    """ALLOW_LOCAL_BUILD_FALLBACK=false says to set the variable (start.sh's very words);
    ``--allow-fallback false``, which the variable cannot undo, says to pass the flag."""
    base = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    if given == "flag":
        args = parse_inputs(base, {"ALLOW_LOCAL_BUILD_FALLBACK": "false"})
        off, on = "--allow-fallback false", "pass --allow-fallback true"
    else:
        args = parse_inputs({**base, "ALLOW_LOCAL_BUILD_FALLBACK": "false"})
        off, on = "ALLOW_LOCAL_BUILD_FALLBACK=false", "set ALLOW_LOCAL_BUILD_FALLBACK=true"
    failed = FAILURES["registry down"][0]
    choice = choose(args, None, "linux/amd64")
    decision = decide(args, choice, failed, DOCKERFILE)
    assert decision.reason.endswith(f"; the local build fallback is disabled ({off})")
    assert decision.fix is not None
    assert decision.fix.endswith(f"; or {on} to build locally from dockerfiles/8.4/Dockerfile")
    decision = decide(args, choice, failed, NO_DOCKERFILE)
    assert decision.fix is not None
    also = "" if given == "variable" else "set "
    assert decision.fix.endswith(
        f"; or, to build locally, {on} and {also}PHP_DOCKERFILES to the directory holding "
        "<X.Y>/Dockerfile (there is no Dockerfile for PHP 8.4 at dockerfiles/8.6/Dockerfile)"
    )


@pytest.mark.parametrize("given", ["variable", "flag"])
def test_use_prebuilt_false_is_said_as_it_was_given(given: str) -> None:
    base = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0"}
    if given == "flag":
        args = parse_inputs(base, {"USE_PREBUILT": "false"})
        said = "--use-prebuilt false"
    else:
        args = parse_inputs({**base, "USE_PREBUILT": "false"})
        said = "USE_PREBUILT=false"
    decision = decide(args, choose(args, None, "linux/amd64"), None, DOCKERFILE)
    assert decision.reason.startswith(f"{said}: building ")
    decision = decide(args, choose(args, None, "linux/amd64"), None, NO_DOCKERFILE)
    assert decision.reason.startswith(f"{said}, but there is no Dockerfile")


FLAG_ADVICE = {
    # outcome: (result, the variable's words, the flag's words)
    "registry down": (
        FAILURES["registry down"][0],
        "try PREBUILT_REGISTRY=mirror, or point PHP_IMAGE_REPOSITORY at",
        "try --registry mirror, or point --repository at",
    ),
    "tag missing": (
        FAILURES["tag missing"][0],
        "set PHP_VERSION to a published line (8.3, 8.5)",
        "give --php a published line (8.3, 8.5)",
    ),
    "platform missing": (
        FAILURES["platform missing"][0],
        "set PHP_IMAGE_PLATFORM=linux/arm64 to run it",
        "pass --platform linux/arm64 to run it",
    ),
    "rate limited": (
        FAILURES["rate limited"][0],
        "or set PREBUILT_REGISTRY=mirror",
        "or pass --registry mirror",
    ),
}


@pytest.mark.parametrize("case", sorted(FLAG_ADVICE))
def test_the_advice_names_the_flag_when_a_flag_gave_the_input(case: str) -> None:
    """The flag wins over the variable, so advice to set the variable would do nothing:
    an input a flag gave is named as that flag; a variable keeps start.sh's words."""
    result, by_variable, by_flag = FLAG_ADVICE[case]
    flags = frozenset(
        {"PHP_VERSION", "PREBUILT_REGISTRY", "PHP_IMAGE_PLATFORM", "PHP_IMAGE_REPOSITORY"}
    )
    for from_flags, words in ((frozenset(), by_variable), (flags, by_flag)):
        args = inputs(allow_fallback=False, flags=from_flags)
        decision = decide(args, choose(args, None, "linux/amd64"), result, DOCKERFILE)
        assert decision.fix is not None and words in decision.fix, decision.fix


def test_the_missing_dockerfile_fix_names_the_flags_the_user_gave() -> None:
    args = inputs(php="8.6", allow_fallback=True)
    fix = decide(args, choose(args, notes(), "linux/amd64"), None, NO_DOCKERFILE).fix or ""
    assert "set PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile, or PHP_VERSION to" in fix
    args = inputs(
        php="8.6", allow_fallback=True, flags=frozenset({"PHP_DOCKERFILES", "PHP_VERSION"})
    )
    fix = decide(args, choose(args, notes(), "linux/amd64"), None, NO_DOCKERFILE).fix or ""
    assert "give --dockerfiles the directory holding <X.Y>/Dockerfile, or give --php a line" in fix


def test_an_interpreter_too_old_is_refused_in_the_words_of_every_other_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/consumers.md: Python 3.7 or 3.8 gets exit 17, and every refusal is worded
    `decision=none error=WORD`, then `error: …`, then `  tip: …`, with stdout empty. The
    vendored file's first check runs as under 3.8 (tests/integration/test_resolve.py runs
    it under a real 3.8 where pyenv has one)."""
    import runpy
    import sys

    monkeypatch.setattr(sys, "version_info", (3, 8, 18, "final", 0))
    monkeypatch.setattr(sys, "version", "3.8.18 (pretend)")
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(resolving.__file__, run_name="resolve_too_old")
    assert stopped.value.code == 17
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "resolve: decision=none error=python-too-old",
        "error: resolve.py needs Python 3.9 or newer, this is 3.8.18",
        "  tip: install a newer python3, or start the stack with start.sh, which needs no Python",
    ]


@pytest.mark.parametrize("flag", ["--php", "--matrix", "--format"])
@pytest.mark.parametrize("word", ["-h", "--help"])
def test_a_help_word_where_a_flag_s_value_belongs_is_a_missing_value(
    flag: str, word: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse takes no word that starts with a dash for a value: ``--php -h`` is a
    refused command line (exit 2, the flag named), not the help and exit 0, nor a PHP
    line "-h"; ``publisher resolve`` says the same of it."""
    out, err = io.StringIO(), io.StringIO()
    assert main([flag, word], {}, out, err) == 2
    assert f"error: argument {flag}: expected one argument" in err.getvalue()
    assert out.getvalue() == "" and capsys.readouterr().out == ""


def test_a_path_of_bytes_that_are_not_utf8_is_printed_back_not_a_crash(tmp_path: Path) -> None:
    """``--dockerfiles $'/tmp/p\\xff'`` on streams opened strict (a UTF-8 locale other than
    C.UTF-8, or PYTHONIOENCODING=utf-8): the answer names the path as given, its bytes
    unchanged on stdout, escaped on stderr, instead of UnicodeEncodeError."""
    from publisher.resolve import main

    where = f"{tmp_path}/p\udcff"
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", write_through=True)
    argv = ["--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false"]
    assert main([*argv, "--dockerfiles", where], {}, out, err) == EXIT_CANNOT_PROCEED
    assert os.fsencode(f"{where}/8.4/Dockerfile") in out_bytes.getvalue()
    assert main([*argv, "--dockerfiles", where, "--format", "env"], {}, out, err) == 17
    # stderr's summary writes it \xff, as every message of publisher's does
    assert f"{tmp_path}/p\\xff/8.4/Dockerfile".encode() in err_bytes.getvalue()
    assert b"udcff" not in err_bytes.getvalue()


def test_json_names_a_path_of_bytes_that_are_not_utf8_as_an_error_does(
    cli: Any, tmp_path: Path
) -> None:
    """``--format json`` of both entry points, for a pins file and Dockerfiles in
    ``$'p\\xff'``: each byte that is not UTF-8 written ``\\xff`` in the paths and in the
    reason, as in an error; never the escape ``\\udcff`` strict JSON readers reject."""
    where = tmp_path / "p\udcff"
    where.mkdir()
    (where / "pins.env").write_text(pins_text())
    argv = ["--php", "8.9", "--pins", f"{where}/pins.env", "--dockerfiles", str(where)]
    out = io.StringIO()
    assert main([*argv, "--format", "json"], {}, out, io.StringIO()) == EXIT_CANNOT_PROCEED
    clicked = cli("resolve", *argv, "--format", "json")
    assert clicked.exit_code == EXIT_CANNOT_PROCEED
    for text in (out.getvalue(), clicked.stdout):
        assert "udcff" not in text, text
        data = json.loads(text)
        assert data["pins"] == f"{tmp_path}/p\\xff/pins.env"
        assert f"the pins file {tmp_path}/p\\xff/pins.env lists no PHP 8.9" in data["reason"]
        assert f"no Dockerfile for PHP 8.9 at {tmp_path}/p\\xff/8.9/Dockerfile" in data["reason"]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_resolve_writes_utf8_whatever_its_streams_encoding(fmt: str, encoding: str) -> None:
    """A stream of ASCII or Latin-1 (LC_ALL=C, an ISO-8859-1 locale) gets the "é" of
    ``caf\u00e9`` as its UTF-8 bytes, as start.sh writes it in every locale, never
    ``\\u00e9`` nor the byte 0xe9; a byte that is not UTF-8 is still written back as it is
    on stdout, ``\\xff`` on stderr."""
    where = "/nowhere/caf\u00e9 \udcff"  # short: a message cuts a long path
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding=encoding, errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding=encoding, errors="backslashreplace")
    argv = ["--php", "8.4", "--release", "v1.0.0", "--use-prebuilt", "false", "--format", fmt]
    assert main([*argv, "--dockerfiles", where], {}, out, err) == EXIT_CANNOT_PROCEED
    err.flush()
    said = out_bytes.getvalue() if fmt == "text" else err_bytes.getvalue()
    assert b"\\u00e9" not in said and b"\xe9 " not in said, said
    if fmt == "text":
        assert b"/nowhere/caf\xc3\xa9 \xff/8.4/Dockerfile" in said, said
    else:
        assert b"/nowhere/caf\xc3\xa9 \\xff/8.4/Dockerfile" in said, said


@pytest.mark.parametrize(
    ("encoding", "decoded", "text"),
    [
        ("ascii", "/srv/\udcc3\udcbc dir", "/srv/\u00fc dir"),  # LC_ALL=C, PYTHONUTF8=0
        ("latin-1", "/srv/\u00c3\u00bc dir", "/srv/\u00fc dir"),  # ISO-8859-1
        ("latin-1", "/srv/bad\u00ff", "/srv/bad\udcff"),  # not UTF-8: held as it was
        ("ascii", "\u2026 /srv/\udcc3\udcbc\udcff", "\u2026 /srv/\u00fc\udcff"),
        ("utf-8", "/srv/\u00fc \udcff", "/srv/\u00fc \udcff"),
    ],
)
def test_a_path_is_read_from_its_bytes_in_every_locale(
    encoding: str, decoded: str, text: str
) -> None:
    """``fs_text``: what Python decoded with the locale's encoding, as its bytes say in
    UTF-8 (a message's own "…" kept); ``printable`` reads bytes left undecoded as UTF-8."""
    assert resolving.fs_text(decoded, encoding) == text
    assert resolving.printable("/srv/\udcc3\udcbc \udcff") == "/srv/\u00fc \\xff"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--php", "a\udcff"), ("--release", "v1.0.0\udcff"), ("--registry", "\udcffmirror")],
)
def test_a_value_of_bytes_that_are_not_utf8_is_written_as_publisher_writes_it(
    cli: Any, flag: str, value: str
) -> None:
    """``--php $'a\\xff'``: both entry points write the byte ``\\xff`` in the refusal (as
    publisher's other commands do, ``message_text``), not Python's escape ``\\udcff``."""
    shown = repr(value).replace("\\udcff", "\\xff")
    err = io.StringIO()
    assert main([flag, value], {}, io.StringIO(), err) == 2
    clicked = cli("resolve", flag, value)
    assert clicked.exit_code == 2
    for said in (err.getvalue(), clicked.stderr):
        assert f"{flag} {shown} is not valid" in said, said
        assert "udcff" not in said, said


def test_a_busy_engine_leaves_the_registry_its_whole_timeout(tmp_path: Path) -> None:
    """RESOLVE_TIMEOUT is the seconds a registry has to answer: an engine that takes its
    0.3 s to say it lacks the image leaves the registry its 0.4 s, not what is left of them
    (0.1 s: an answer in 0.2 s was 'unreachable', a build or exit 17 at random)."""
    write_tree(tmp_path)
    timeouts: list[float] = []

    class SlowMiss(FakeCache):
        def __call__(self, *args: Any, **kwargs: Any) -> probing.Result | None:
            time.sleep(0.3)
            return super().__call__(*args, **kwargs)

    class Probe(FakeProbe):
        def __call__(self, target: probing.Target, **kwargs: Any) -> probing.Result:
            timeouts.append(kwargs["timeout"])
            return super().__call__(target, **kwargs)

    env = {"PHP_VERSION": "8.4", "STACK_RELEASE": "v2.0.0", "RESOLVE_TIMEOUT": "0.4"}
    decision = resolve(
        env, cwd=tmp_path, probe=Probe(AVAILABLE), cache=SlowMiss(hit=False), host="linux/amd64"
    )
    assert decision.availability == "available"
    assert timeouts == [0.4]


# --------------------------------------------------------------------------- DOCKER_DEFAULT_PLATFORM


@pytest.mark.parametrize(
    ("value", "platform"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64/v8", "linux/arm64"),  # docker's own name for the arm64 variant
        ("Linux/X86_64", "linux/amd64"),  # docker reads any case and uname's names
        ("linux/aarch64", "linux/arm64"),
        ("linux/amd64/v1", "linux/amd64"),
        (" linux/arm64\r", "linux/arm64"),  # the blanks around a setting do not count
    ],
)
def test_docker_default_platform_is_read_as_docker_reads_it(value: str, platform: str) -> None:
    """DOCKER_DEFAULT_PLATFORM (docker and compose take it when no platform is given; a Mac
    with it set to linux/amd64 is common) is the platform when PHP_IMAGE_PLATFORM is not set;
    PHP_IMAGE_PLATFORM is read the same way."""
    got = parse_inputs({"DOCKER_DEFAULT_PLATFORM": value})
    assert (got.platform, got.default_platform) == (None, platform)
    assert parse_inputs({"PHP_IMAGE_PLATFORM": value}).platform == platform


@pytest.mark.parametrize("given", [{"PHP_IMAGE_PLATFORM": "linux/arm64"}, {}])
def test_php_image_platform_wins_over_docker_default_platform(given: dict[str, str]) -> None:
    """PHP_IMAGE_PLATFORM (or --platform) wins, and DOCKER_DEFAULT_PLATFORM is then not read:
    not refused either, whatever it holds."""
    overrides = {} if given else {"PHP_IMAGE_PLATFORM": "linux/arm64"}
    env = {"DOCKER_DEFAULT_PLATFORM": "linux/riscv64", **given}
    got = parse_inputs(env, overrides)
    assert (got.platform, got.default_platform) == ("linux/arm64", None)


@pytest.mark.parametrize("value", ["linux/riscv64", "linux/arm/v7", "amd64", "linux/amd64/", "x"])
def test_a_docker_default_platform_the_image_lacks_is_refused_naming_it(value: str) -> None:
    with pytest.raises(ResolveError) as info:
        parse_inputs({"DOCKER_DEFAULT_PLATFORM": value})
    assert info.value.message == (
        f"DOCKER_DEFAULT_PLATFORM={value!r} is not valid: use linux/amd64 or linux/arm64 (the "
        "PHP image's platform when PHP_IMAGE_PLATFORM is not set)"
    )
    assert info.value.hint == "correct the environment variable DOCKER_DEFAULT_PLATFORM"
    assert info.value.exit_code == 2


def test_docker_default_platform_is_the_platform_and_its_emulation_is_noted(
    tmp_path: Path,
) -> None:
    """On Apple Silicon (engine linux/arm64) with DOCKER_DEFAULT_PLATFORM=linux/amd64: the
    image is looked for, probed and run for linux/amd64, and the decision says where that
    platform came from (it was silently ignored: the engine's linux/arm64 was taken)."""
    write_tree(tmp_path)
    fake, cache = FakeProbe(AVAILABLE), FakeCache(hit=False)
    env = {
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v2.0.0",
        "DOCKER_DEFAULT_PLATFORM": "linux/amd64",
    }
    decision = resolve(env, cwd=tmp_path, probe=fake, cache=cache, host="linux/arm64")
    assert decision.platform == "linux/amd64"
    assert [t.platform for t in fake.targets] == ["linux/amd64"]
    assert {platform for _, platform, _ in cache.asked} == {"linux/amd64"}
    assert decision.note == (
        "platform linux/amd64 (DOCKER_DEFAULT_PLATFORM; emulated on this linux/arm64 engine): "
        "set PHP_IMAGE_PLATFORM=linux/arm64 to run the engine's own natively"
    )
    assert f"  note: {decision.note}\n" in render(decision, "text")
    assert f"resolve: note: {decision.note}\n" in resolving.summary(decision)
    # the engine's own platform named by it too: nothing to note
    same = resolve(
        {**env, "DOCKER_DEFAULT_PLATFORM": "linux/arm64/v8"},
        cwd=tmp_path, probe=fake, cache=cache, host="linux/arm64",
    )  # fmt: skip
    assert (same.platform, same.note) == ("linux/arm64", None)
    # PHP_IMAGE_PLATFORM wins, said as before
    forced = resolve(
        {**env, "PHP_IMAGE_PLATFORM": "linux/arm64"},
        cwd=tmp_path, probe=fake, cache=cache, host="linux/arm64",
    )  # fmt: skip
    assert (forced.platform, forced.note) == ("linux/arm64", None)


@pytest.mark.parametrize("engine", ["linux/arm", "linux/386"])
def test_docker_default_platform_on_an_engine_no_image_is_built_for_advises_no_refused_value(
    tmp_path: Path, engine: str
) -> None:
    """A 32-bit engine (linux/arm, linux/386) with DOCKER_DEFAULT_PLATFORM set: the note
    says no image is built for it, never PHP_IMAGE_PLATFORM=<the engine's>, a value resolve
    refuses (exit 2); it once advised that to run natively."""
    write_tree(tmp_path)
    env = {
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v2.0.0",
        "DOCKER_DEFAULT_PLATFORM": "linux/amd64",
    }
    decision = resolve(
        env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=FakeCache(hit=False), host=engine
    )
    assert decision.note == (
        f"platform linux/amd64 (DOCKER_DEFAULT_PLATFORM; emulated on this {engine} engine, "
        "which no PHP-FPM image is built for: they are linux/amd64 and linux/arm64 only)"
    )


def test_a_docker_default_platform_the_pins_lack_says_which_variable_to_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCKER_DEFAULT_PLATFORM=linux/amd64 on an arm64 engine, and a release for linux/arm64
    alone: unsetting PHP_IMAGE_PLATFORM (unset already) would change nothing; the advice
    names the variable that picked the platform, and PHP_IMAGE_PLATFORM for this stack."""
    (tmp_path / "dockerfiles").mkdir()
    data = notes_dict()
    for line in data["lines"]:
        line["platforms"] = line["platforms"][1:]  # linux/arm64 alone
    (tmp_path / "v2.0.0.env").write_text(pins.render(data))
    env = {
        "PHP_PINS_FILE": "v2.0.0.env",
        "ALLOW_LOCAL_BUILD_FALLBACK": "false",
        "DOCKER_DEFAULT_PLATFORM": "linux/amd64",
    }
    decision = resolve(
        env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None, host="linux/arm64"
    )
    assert (decision.action, decision.availability) == (Action.CANNOT_PROCEED, "platform-missing")
    assert decision.fix is not None
    assert decision.fix.startswith(
        "unset DOCKER_DEFAULT_PLATFORM, or set PHP_IMAGE_PLATFORM=linux/arm64 for this stack "
        "alone, to run the docker engine's own platform natively; "
    ), decision.fix
    # an engine resolve cannot ask (ssh://): its platform is not known, nor taken
    monkeypatch.setattr(
        resolving, "run_platform", lambda env, limit: ("linux/arm64", "could not be asked")
    )
    unknown = resolve(env, cwd=tmp_path, probe=FakeProbe(AVAILABLE), cache=None)
    assert unknown.platform == "linux/amd64"
    assert unknown.note == "platform linux/amd64 (DOCKER_DEFAULT_PLATFORM)"
    assert unknown.fix is not None and unknown.fix.startswith(
        "unset DOCKER_DEFAULT_PLATFORM to run the docker engine's own platform natively, or set "
        "PHP_IMAGE_PLATFORM=linux/arm64 (under emulation unless the engine is linux/arm64); "
    ), unknown.fix


#: Per input: two values it takes (the second not its default), and what it reads as.
_HELD: dict[str, tuple[str, str, Any]] = {
    "PHP_VERSION": ("8.3", "8.4", lambda i: i.php),
    "STACK_RELEASE": ("v1.0.0", "v2.0.0", lambda i: i.release),
    "USE_PREBUILT": ("true", "false", lambda i: str(i.use_prebuilt).lower()),
    "ALLOW_LOCAL_BUILD_FALLBACK": ("true", "false", lambda i: str(i.allow_fallback).lower()),
    "PREBUILT_REGISTRY": ("canonical", "mirror", lambda i: i.registry.value),
    "PMA_IMAGE": ("pma:5", "pma:6", lambda i: i.pma_image),
    "PHP_IMAGE_PLATFORM": (
        "linux/amd64",
        "linux/arm64",
        lambda i: i.platform or i.default_platform,
    ),
    "PHP_IMAGE_REPOSITORY": (
        "registry.example.com/a/php",
        "registry.example.com/b/php",
        lambda i: str(i.repository),
    ),
    "PHP_IMAGE_MIRROR": (
        "registry.example.com/a/php",
        "registry.example.com/b/php",
        lambda i: str(i.mirror_repository),
    ),
    "PHP_PINS_FILE": ("a.env", "b.env", lambda i: i.pins),
    "PHP_DOCKERFILES": ("a", "b", lambda i: i.dockerfiles),
    "RESOLVE_TIMEOUT": ("3", "4", lambda i: f"{i.timeout:g}"),
    "PHP_IMAGE_CACHE_CHECK": ("true", "false", lambda i: str(i.cache_check).lower()),
}


def test_both_helps_name_every_variable_an_option_reads_in_the_order_they_win(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each flag's bracket in `publisher resolve --help` and `resolve.py --help` names the
    variables the code reads for it, in the order they win: the flag, then the first one
    set; no other variable gives its value. `--timeout` said RESOLVE_TIMEOUT alone, and
    `--platform` PHP_IMAGE_PLATFORM alone, where STACK_REGISTRY_TIMEOUT and
    DOCKER_DEFAULT_PLATFORM are read when those are not set."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    result = CliRunner().invoke(main, ["resolve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert resolving.main(["--help"], env={}) == 0
    helps = {"publisher resolve": result.stdout, "resolve.py": capsys.readouterr().out}
    variables = {
        value
        for name, value in vars(resolving).items()
        if name.startswith("ENV_") and isinstance(value, str)
    }
    assert set(_HELD) == {option.env for option in resolving.OPTIONS}
    for option in resolving.OPTIONS:
        a, b, read = _HELD[option.env]
        said = []
        for which, text in helps.items():
            flat = " ".join(text.split())
            found = re.search(
                re.escape(f"{option.flag} {option.metavar} ") + r".*?\[(?:env: )?([^\]]*)\]", flat
            )
            assert found, (which, option.flag)
            said.append(found[1].split(", else "))
        assert said[0] == said[1], said
        names = said[0]
        # the flag wins over every variable, each variable over those after it
        for k in range(len(names) + 1):
            env = {name: b for name in names[max(k - 1, 0) :]}
            if k:
                env[names[k - 1]] = a
            flags = {option.env: a} if k == 0 else {}
            assert read(parse_inputs(env, flags)) == a, (option.flag, env, flags)
        # no other variable gives it a value
        for other in sorted(variables - set(names)):
            try:
                got = read(parse_inputs({other: b}))
            except ResolveError:
                continue
            assert got != b, f"{option.flag} reads {other}, which its help does not name"


@pytest.mark.parametrize("home", ["", " \r", None])
def test_an_empty_home_reads_the_docker_config_of_the_user_s_own_home_as_docker_does(
    home: str | None,
) -> None:
    """HOME='' (or blanks, or unset): docker takes the password database's home, and so
    does resolve, for the docker config and the user's docker socket; not "no config"."""
    import pwd

    own = Path(pwd.getpwuid(os.getuid()).pw_dir)
    env = {} if home is None else {"HOME": home}
    assert resolving.docker_config_path(env) == own / ".docker" / "config.json"
    assert resolving.docker_config_path({"HOME": "/h"}) == Path("/h/.docker/config.json")


def test_a_line_past_its_end_of_life_in_the_pins_file_publisher_writes_is_read_for_a_note():
    """The comment publisher.core.pins writes for a line past its end of life when the
    release was published is what resolve reads back, per line, for its note."""
    record = {
        "release": "v2.0.0",
        "published_at": "2026-03-01T10:00:00Z",
        "default_line": "8.4",
        "registries": [{"name": "hub", "repository": "docker.io/twentyi/php-fpm", "primary": True}],
        "lines": [
            {
                "php": php,
                "index_digest": "sha256:" + "a" * 64,
                "base": {"image": f"php:{php}-fpm-alpine"},
                "platforms": [{"platform": "linux/amd64"}],
            }
            for php in ("8.1", "8.4")
        ],
    }
    text = pins.render(record)
    parsed = resolving.parse_pins(text, source="v2.0.0.env")
    assert parsed.end_of_life == {
        "8.1": "PHP 8.1 was past its end of life (2025-12-31, no security fixes) when this "
        "release was published on 2026-03-01; see the release notes"
    }
    assert resolving.end_of_life_notes(text.replace("(2025", "\t(2025")) == {}


@pytest.mark.parametrize("argv", [["--notes", "release-notes/v1.2.0.json"], ["--notes=x.json"]])
def test_the_retired_notes_flag_is_told_the_pins_file_replaced_it(argv: list[str]) -> None:
    """The first launcher passed the release record as --notes: both entry points refuse
    it (exit 2) naming the pins file that replaced it, --pins / PHP_PINS_FILE, not with
    argparse's bare "unrecognized arguments"."""
    from click.testing import CliRunner

    from publisher.cli import main
    from publisher.cli import resolve_cmd as _  # noqa: F401  (registers the command)

    err = io.StringIO()
    assert resolving.main(["--php", "8.4", *argv], env={}, stderr=err) == 2
    result = CliRunner().invoke(main, ["resolve", "--php", "8.4", *argv])
    assert result.exit_code == 2 and result.stderr == err.getvalue().replace(
        "resolve.py", "publisher resolve"
    )
    said = err.getvalue()
    assert "error: unrecognized arguments: --notes" in said, said
    assert "--notes (the release record, vX.Y.Z.json) is no longer read" in said, said
    assert "--pins release-notes/vX.Y.Z.env (PHP_PINS_FILE)" in said, said


def test_the_retired_release_notes_variable_is_noted_the_pins_file_replaced_it() -> None:
    """PHP_RELEASE_NOTES, which the first launcher exported for the record, was ignored
    without a word: the decision's note names the pins file, PHP_PINS_FILE (--pins),
    unless one is given."""
    env = {
        "PHP_RELEASE_NOTES": "release-notes/v1.2.0.json",
        "PHP_VERSION": "8.4",
        "STACK_RELEASE": "v1.2.0",
    }
    decision = resolve(env, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64")
    assert decision.note is not None and (
        "PHP_RELEASE_NOTES (the release record, vX.Y.Z.json) is no longer read" in decision.note
    ), decision.note
    assert "PHP_PINS_FILE=release-notes/vX.Y.Z.env (--pins)" in decision.note
    unset = resolve(
        {**env, "PHP_RELEASE_NOTES": ""}, probe=FakeProbe(AVAILABLE), cache=None, host="linux/amd64"
    )
    assert "PHP_RELEASE_NOTES" not in (unset.note or "")


@pytest.mark.parametrize(
    ("link", "found"),
    [
        ('</v2/a/tags/list?last=b&n=2>; rel="next"', "http://127.0.0.1:5000/v2/a/tags/list?last=b&n=2"),
        ("<http://127.0.0.1:5000/v2/a/tags/list?last=b>; rel=next", "http://127.0.0.1:5000/v2/a/tags/list?last=b"),
        ("<HTTP://127.0.0.1:5000/v2/a/tags/list?last=b>; rel=next", "http://127.0.0.1:5000/v2/a/tags/list?last=b"),
        ('<http://u:p@localhost:5000/v2/a>; rel="next"', ("host", "http", "localhost:5000")),
        ('<https://127.0.0.1:5000/v2/a>; rel="next"', ("scheme", "https", "127.0.0.1:5000")),
        ('</v2/a/tags/list?last=b>; rel="prev"', None),
        ("", None),
    ],
)  # fmt: skip
def test_a_next_page_link_is_followed_on_the_registry_s_own_origin_alone(link, found) -> None:
    """The one next-page ``Link`` check the probe and the registry client share: relative or
    absolute on the registry's scheme and host, the page's absolute URL; on another host
    or scheme, what it names (no user info), which neither follows with the registry's
    credentials; a malformed one, ValueError."""
    page = "http://127.0.0.1:5000/v2/a/tags/list?n=2"
    following = resolving.next_page(link, page, "http://127.0.0.1:5000")
    if isinstance(found, str):  # urljoin keeps the scheme as written: same origin all the same
        assert isinstance(following, str) and following.lower() == found.lower(), following
    elif found is None:
        assert following is None, following
    else:
        assert isinstance(following, resolving.LinkElsewhere), following
        assert (following.other, following.scheme, following.host) == found
        assert following.origin == f"{found[1]}://{found[2]}"
    with pytest.raises(ValueError):
        resolving.next_page('<http://[::1/v2/a>; rel="next"', page, "http://127.0.0.1:5000")
