"""matrix.yaml: the model, the cascade, and located errors for broken files."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.core import config
from publisher.core.errors import ConfigError
from publisher.core.platforms import Platform
from tests.conftest import ROOT

GOOD = """\
namespace: acme
image: php-fpm
registries:
  - name: hub
    repository: docker.io/{namespace}/{image}
    primary: true
    username_env: HUB_USER
    password_env: HUB_TOKEN
  - name: local
    repository: localhost:5000/acme/php-fpm
  - name: corp
    repository: registry.corp.example:8443/acme/php-fpm
    insecure: true
platforms: [linux/amd64, linux/arm64]
default_line: "8.4"
base:
  image: "php:{php}-fpm-alpine"
  mirror: mirror.gcr.io
size_budget_mb: 700
extensions:
  install: [gd, intl]
  configure:
    gd: [--with-jpeg]
  pecl: [redis-6.1.0]
packages: [icu-libs]
build_packages: [icu-dev]
lines:
  - php: "8.3"
    platforms: [linux/amd64]
    size_budget_mb: 500
  - php: 8.4
    base_digest: sha256:%s
  - php: "8.10"
    extensions:
      install: [intl]
""" % ("a" * 64)


def test_good_matrix_resolves_the_cascade():
    cfg = config.loads(GOOD, source="m.yaml")
    assert cfg.line_names == ("8.3", "8.4", "8.10")
    assert cfg.primary.name == "hub"
    assert str(cfg.primary.repository) == "docker.io/acme/php-fpm"
    assert cfg.primary.username_env == "HUB_USER"
    assert [r.plain_http for r in cfg.registries] == [False, True, True]
    l83, l84, l810 = cfg.lines
    assert l83.platforms == (Platform.AMD64,)
    assert l83.size_budget_bytes == 500_000_000
    assert l84.size_budget_bytes == 700_000_000
    assert str(l84.base) == "docker.io/library/php:8.4-fpm-alpine@sha256:" + "a" * 64
    assert str(cfg.base_pull_ref(l84)).startswith("mirror.gcr.io/library/php:8.4-fpm-alpine@")
    assert l84.extensions.names == ("gd", "intl", "redis")
    assert l84.extensions.configure == (("gd", ("--with-jpeg",)),)
    assert l810.extensions.install == ("intl",) and l810.extensions.pecl == ()
    assert l810.packages == ("icu-libs", "icu-data-full")  # intl: every ICU locale
    assert l810.dockerfile == "dockerfiles/8.10/Dockerfile"


def test_defaults_for_a_minimal_matrix():
    cfg = config.loads(
        "registries: [{name: r, repository: ghcr.io/a/b, primary: true}]\n"
        "default_line: '8.4'\nlines: [{php: '8.4'}]\n"
    )
    line = cfg.line("8.4")
    assert line.platforms == (Platform.AMD64, Platform.ARM64)
    assert str(line.base) == "docker.io/library/php:8.4-fpm-alpine"
    assert line.size_budget_bytes == 700_000_000
    assert cfg.template == "dockerfiles/Dockerfile.j2"


def error_for(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config.loads(textwrap.dedent(text), source="matrix.yaml", env=env or {})
    assert info.value.exit_code == 3
    return info.value


def replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_typo_key_gets_a_suggestion_and_location():
    err = error_for(replace("platforms: [linux/amd64, linux/arm64]", "platfroms: [linux/amd64]"))
    assert (err.line, err.column, err.field) == (14, 1, "platfroms")
    assert "unknown key 'platfroms'; did you mean 'platforms'?" in str(err)
    assert str(err).startswith("matrix.yaml:14:1: platfroms:")


@pytest.mark.parametrize(
    ("old", "new", "where", "field", "said", "tip"),
    [
        # a line's extension keys belong in its extensions mapping
        (
            '  - php: "8.10"\n',
            '  - php: "8.10"\n    pecl: [redis-6.3.0]\n',
            (34, 5),
            "lines[2].pecl",
            "unknown key 'pecl'; it belongs under the line's extensions (extensions.pecl)",
            "write it in the line's extensions mapping, e.g. `extensions: {install: [bcmath], "
            "pecl: [redis-6.3.0]}`",
        ),
        (
            "    size_budget_mb: 500\n",
            "    install: [bcmath]\n",
            (30, 5),
            "lines[0].install",
            "unknown key 'install'; it belongs under the line's extensions (extensions.install)",
            "a line's extensions replace the top-level ones whole",
        ),
        (
            "    size_budget_mb: 500\n",
            "    configure: {gd: [--with-jpeg]}\n",
            (30, 5),
            "lines[0].configure",
            "unknown key 'configure'; it belongs under the line's extensions (extensions.configure)",
            "`extensions: {",
        ),
        # a line's base is base_image, not a base: mapping
        (
            "    size_budget_mb: 500\n",
            "    base: {image: php:8.3-fpm-bookworm}\n",
            (30, 5),
            "lines[0].base",
            "unknown key 'base'; did you mean 'base_image'?",
            "a line names its base as base_image: IMAGE (the top level's base.image)",
        ),
        # at the top level, the extension keys belong under extensions too
        (
            "packages: [icu-libs]\n",
            "packages: [icu-libs]\npecl: [apcu-5.1.24]\n",
            (26, 1),
            "pecl",
            "unknown key 'pecl'; it belongs under extensions (extensions.pecl)",
            "write it in the extensions mapping",
        ),
        # a line's base_image is the top level's base.image, never image (the repository's)
        (
            "packages: [icu-libs]\n",
            "packages: [icu-libs]\nbase_image: php:{php}-fpm-bookworm\n",
            (26, 1),
            "base_image",
            "unknown key 'base_image'; it belongs under base (base.image)",
            "write it in the base mapping, e.g. `base: {image: ...}`; a line sets it as base_image",
        ),
        (
            "packages: [icu-libs]\n",
            "packages: [icu-libs]\nmirror: mirror.gcr.io\n",
            (26, 1),
            "mirror",
            "unknown key 'mirror'; it belongs under base (base.mirror)",
            "write it in the base mapping, e.g. `base: {mirror: ...}`",
        ),
        # a key only a line sets, at the top level
        (
            "packages: [icu-libs]\n",
            "packages: [icu-libs]\nfrozen: true\n",
            (26, 1),
            "frozen",
            "unknown key 'frozen'; it belongs on a line (lines[].frozen)",
            'write it in the entry of lines it is for, e.g. `lines: [{php: "8.4", frozen: ...}]`',
        ),
        # a registry's key, at the top level or on a line
        (
            "packages: [icu-libs]\n",
            "packages: [icu-libs]\nrepository: docker.io/acme/php-fpm\n",
            (26, 1),
            "repository",
            "unknown key 'repository'; it belongs in an entry of registries "
            "(registries[].repository)",
            "write it in the entry of registries it is for",
        ),
        (
            "    size_budget_mb: 500\n",
            "    username_env: HUB_USER\n",
            (30, 5),
            "lines[0].username_env",
            "unknown key 'username_env'; it belongs in an entry of registries "
            "(registries[].username_env)",
            "write it in the entry of registries it is for",
        ),
        # the top level's alone, on a line
        (
            "    size_budget_mb: 500\n",
            "    mirror: mirror.gcr.io\n",
            (30, 5),
            "lines[0].mirror",
            "unknown key 'mirror'; it belongs under the top level's base (base.mirror)",
            "a line cannot set it: the top level's base.mirror is every line's",
        ),
        (
            "    size_budget_mb: 500\n",
            "    default_line: '8.3'\n",
            (30, 5),
            "lines[0].default_line",
            "unknown key 'default_line'; it belongs at the top level (default_line)",
            "a line cannot set it: write it once at the top level of matrix.yaml",
        ),
        # image on a line: the published repository's name is the top level's
        (
            "    size_budget_mb: 500\n",
            "    image: php:8.3-fpm-bookworm\n",
            (30, 5),
            "lines[0].image",
            "unknown key 'image'; did you mean 'base_image'?",
            "a line names its base as base_image: IMAGE; image, the top level's, names the "
            "published repository",
        ),
    ],
)
def test_a_key_written_outside_the_mapping_it_belongs_to_is_told_where_it_goes(
    old: str, new: str, where: tuple[int, int], field: str, said: str, tip: str
) -> None:
    """pecl: or install: on a line (under extensions:), base: on a line (base_image),
    base_image or mirror at the top level (under base:, not "did you mean 'image'?", the
    published repository's name), a line's or a registry's key at the top level, the top
    level's on a line: an unknown key with no suggestion, or a wrong one, though where it
    belongs is known."""
    err = error_for(replace(old, new))
    assert (err.line, err.column, err.field) == (*where, field)
    assert err.message.endswith(f"{field}: {said}"), err.message
    assert tip in (err.hint or ""), err.hint


def test_typo_in_nested_key():
    err = error_for(replace("    primary: true", "    primray: true"))
    assert err.field == "registries[0].primray" and "did you mean 'primary'" in str(err)
    assert (err.line, err.column) == (6, 5)


def test_wrong_type():
    err = error_for(replace("size_budget_mb: 700", "size_budget_mb: lots"))
    assert err.field == "size_budget_mb" and "expected a number, found a string ('lots')" in str(
        err
    )
    assert (err.line, err.column) == (19, 17)
    assert err.hint == "write a number without quotes, e.g. 500"


def test_unknown_platform():
    err = error_for(replace("[linux/amd64, linux/arm64]", "[linux/amd64, linux/arm46]"))
    assert err.field == "platforms[1]"
    assert "unknown platform 'linux/arm46'" in str(err) and "did you mean 'linux/arm64'" in str(err)


def test_impossible_line_platform():
    err = error_for(
        replace("platforms: [linux/amd64, linux/arm64]", "platforms: [linux/amd64]").replace(
            "  - php: 8.4\n", "  - php: 8.4\n    platforms: [linux/arm64]\n"
        )
    )
    assert err.field == "lines[1].platforms" and "not in the top-level platforms" in str(err)
    assert "add it to the top-level platforms, or remove it from the line" in (err.hint or "")


def test_duplicate_line():
    err = error_for(replace('  - php: "8.10"', '  - php: "8.3"'))
    assert err.field == "lines[2].php" and "8.3 is listed twice (first on line 28)" in str(err)
    assert (err.line, err.column) == (33, 10)
    assert err.hint == "keep one entry per PHP line, with the settings of both"


def test_malformed_version():
    err = error_for(replace('  - php: "8.10"', '  - php: "8"'))
    assert err.field == "lines[2].php" and "'8' is not a PHP line" in str(err)
    # 8.10 unquoted is read as written (8.10), so the tip does not ask for quotes
    assert err.hint == 'write the PHP line as MAJOR.MINOR, e.g. php: "8.4" (8.4, not 8.4.1)'
    err = error_for(replace('default_line: "8.4"', 'default_line: "8.4.1"'))
    assert err.field == "default_line" and "'8.4.1' is not a PHP line" in str(err)
    assert err.hint == (
        'write the PHP line as MAJOR.MINOR, e.g. default_line: "8.4" (8.4, not 8.4.1)'
    )


def test_missing_default_line():
    err = error_for(replace('default_line: "8.4"', 'default_line: "7.4"'))
    assert err.field == "default_line" and "not one of the configured lines" in str(err)
    err = error_for(replace('default_line: "8.4"\n', ""))
    assert err.field == "default_line" and "required key" in str(err)
    assert (err.hint or "").startswith("add default_line: to matrix.yaml")


def test_bad_yaml_is_located():
    err = error_for(replace("packages: [icu-libs]", "packages: [icu-libs"))
    assert err.line is not None and err.column is not None
    assert "invalid YAML" in str(err)


def test_a_non_printable_character_is_located():
    err = error_for(replace("image: php-fpm", "image: php\x07fpm"))
    assert (err.line, err.column) == (2, 11)
    assert str(err) == (
        "matrix.yaml:2:11: invalid YAML: the non-printable character U+0007 is not allowed"
    )
    assert "unicode string" not in str(err) and "position" not in str(err)


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_a_line_break_editors_do_not_show_is_refused_where_they_show_it(char: str) -> None:
    """YAML ends a line at NEL, U+2028 and U+2029; editors and grep do not: the rest of a
    comment would be read as YAML unseen (here a mirror every base is pulled through),
    and every later line number would be off by one."""
    text = replace(
        "image: php-fpm\n", f"image: php-fpm  # mirror: none{char}base: {{mirror: evil.example}}\n"
    )
    err = error_for(text)
    assert (err.line, err.column) == (2, 31)  # after "image: php-fpm  # mirror: none"
    assert f"the line break U+{ord(char):04X}" in str(err) and "is not allowed" in str(err)
    assert "delete it" in (err.hint or "")


def test_a_key_s_invisible_characters_are_escaped_in_the_field_path() -> None:
    err = error_for(replace("size_budget_mb: 700", "size_\ufeffbudget_mb: 700"))
    assert err.field == "size_\ufeffbudget_mb"  # the key as the file holds it
    assert str(err).startswith("matrix.yaml:19:1: size_\\ufeffbudget_mb: unknown key")
    escape = error_for(replace("    primary: true", '    "prim\\e[31mary": true'))
    assert "registries[0].prim\\x1b[31mary: unknown key" in str(escape)
    assert "\x1b" not in str(escape) and "\x1b" not in (escape.hint or "")
    bidi = error_for(replace("image: php-fpm", "\u202eimage: php-fpm"))
    assert str(bidi).startswith("matrix.yaml:2:1: \\u202eimage: unknown key")


def test_an_anchor_defined_twice_names_both_places() -> None:
    err = error_for(
        replace("platforms: [linux/amd64, linux/arm64]", "platforms: &p [linux/amd64]\nx-a: &p 1")
    )
    assert (err.line, err.column) == (15, 6)
    assert str(err).startswith(
        "matrix.yaml:15:6: invalid YAML: found duplicate anchor 'p' (first on line 14)"
    )
    assert "give each anchor" in (err.hint or "")


def test_an_undefined_alias_is_located_and_named() -> None:
    err = error_for(replace("size_budget_mb: 700", "size_budget_mb: *nope"))
    assert str(err) == "matrix.yaml:19:17: alias *nope is not defined; define &nope before using it"
    assert "indent with spaces" not in (err.hint or "") and "&nope" in (err.hint or "")


def test_an_alias_before_its_anchor_or_mistyped_says_so() -> None:
    later = error_for(replace("size_budget_mb: 700", "size_budget_mb: *big\nx-big: &big 900"))
    assert (later.line, later.column) == (19, 17)
    assert "alias *big is not defined yet: &big is on line 20, after it" in str(later)
    assert "move the value anchored &big above *big" in (later.hint or "")
    typo = error_for(
        "x-common: &common {size_budget_mb: 5}\n" + replace("size_budget_mb: 700", "<<: *comon")
    )
    assert (typo.line, typo.column) == (20, 5)
    assert "alias *comon is not defined; did you mean '*common'?" in str(typo)


def test_duplicate_yaml_key():
    err = error_for(replace("image: php-fpm\n", "image: php-fpm\nimage: other\n"))
    assert err.field == "image" and "duplicate key" in str(err) and err.line == 3


def test_credentials_are_names_never_values():
    err = error_for(replace("password_env: HUB_TOKEN", "password_env: dckr_pat_abc-123!"))
    assert "environment variable name" in str(err)
    # a credential written where its variable's name belongs is located, never echoed
    assert (err.field, err.line) == ("registries[0].password_env", 8)
    assert "dckr_pat" not in f"{err} {err.hint}" and "the NAME of the variable" in (err.hint or "")
    err = error_for(replace("    password_env: HUB_TOKEN\n", ""))
    assert "set both username_env and password_env" in str(err)


def test_one_variable_named_for_both_credentials_is_a_located_error():
    """``username_env: HUB_TOKEN`` beside ``password_env: HUB_TOKEN`` (a copied line) would
    log in with the token as the user name: refused where it stands, exit 3."""
    err = error_for(replace("username_env: HUB_USER", "username_env: HUB_TOKEN"))
    assert (err.field, err.line, err.exit_code) == ("registries[0].password_env", 8, 3)
    assert "username_env and password_env both name HUB_TOKEN" in str(err)
    assert "the one holding the password or token in password_env" in (err.hint or "")
    shared = "    username_env: LOCAL_USER\n    password_env: HUB_TOKEN\n"  # other registry: fine
    other = replace("localhost:5000/acme/php-fpm\n", "localhost:5000/acme/php-fpm\n" + shared)
    cfg = config.loads(textwrap.dedent(other), source="matrix.yaml", env={})
    assert cfg.registries[1].password_env == cfg.registries[0].password_env == "HUB_TOKEN"


def test_registry_needs_full_repository_and_one_primary():
    err = error_for(replace("docker.io/{namespace}/{image}", "acme/php-fpm"))
    assert "does not name its registry" in str(err)
    err = error_for(replace("    primary: true\n", ""))
    assert "exactly one registry must be marked 'primary: true', found 0" in str(err)
    err = error_for(replace("docker.io/{namespace}/{image}", "docker.io/Acme/php"))
    assert "repository name must be lowercase" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "field", "hint"),
    [
        ("namespace: acme", "namespace: Acme", "namespace", "write 'acme'"),
        ("namespace: acme", "namespace: acme corp", "namespace", "write 'acme-corp'"),
        ("image: php-fpm", "image: php-fpm-", "image", "between words"),
    ],
)
def test_a_namespace_or_image_no_registry_takes_is_refused_where_it_is_written(
    old, new, field, hint
) -> None:
    # not at the registries whose repositories use it (nor for those that do not)
    err = error_for(replace(old, new))
    assert (err.field, err.line) == (field, 1 if field == "namespace" else 2)
    assert f"is not a valid {field}" in err.message and hint in (err.hint or "")
    assert config.loads(replace("namespace: acme", "namespace: acme/team")).namespace == "acme/team"


def test_a_base_pinned_twice_to_different_digests_is_refused() -> None:
    """base_image@DIGEST and base_digest naming another: one of them would be dropped
    in silence, so the line's base is not what one of the two says."""
    pinned = "  - php: 8.4\n    base_image: php:8.4-fpm-alpine@sha256:" + "b" * 64 + "\n"
    err = error_for(replace("  - php: 8.4\n", pinned))
    assert err.exit_code == 3 and err.field == "lines[1].base_digest" and err.line == 33
    assert "differs from the digest lines[1].base_image pins (sha256:" + "b" * 64 in err.message
    # the same digest twice says one thing: accepted
    same = "  - php: 8.4\n    base_image: php:8.4-fpm-alpine@sha256:" + "a" * 64 + "\n"
    line = config.loads(replace("  - php: 8.4\n", same)).line("8.4")
    assert line.base.digest == "sha256:" + "a" * 64


def test_bad_digest_and_extension_configure():
    err = error_for(replace("sha256:" + "a" * 64, "sha256:abc"))
    assert err.field == "lines[1].base_digest"
    err = error_for(replace("    gd: [--with-jpeg]", "    zip: [--with-jpeg]"))
    assert "configured but not in extensions.install" in str(err)


@pytest.mark.parametrize("flags", ["[]", "\n      []"])
def test_an_extension_configured_with_no_flag_is_refused_where_it_is_written(flags) -> None:
    """`configure: {gd: []}` rendered `docker-php-ext-configure gd ;`, a call that configures
    nothing, in every image: refused at the empty list, its tip to give flags or drop it."""
    err = error_for(replace("    gd: [--with-jpeg]", f"    gd: {flags}"))
    assert err.field == "extensions.configure.gd"
    assert (err.line, err.column) == ((23, 9) if flags == "[]" else (24, 7))
    assert err.message.endswith(
        "extensions.configure.gd: an empty list of flags configures nothing"
    )
    assert err.hint == (
        "give gd the flags its ./configure takes, e.g. gd: [--with-jpeg], or remove its "
        "configure entry (docker-php-ext-install builds it with its defaults)"
    )


def test_env_overrides_are_explicit_and_validated():
    cfg = config.loads(
        GOOD, env={"PUBLISHER_LINES": "8.4,8.10", "PUBLISHER_BASE_MIRROR": "127.0.0.1:5000"}
    )
    assert cfg.line_names == ("8.4", "8.10")
    assert cfg.base_mirror == "127.0.0.1:5000"
    cfg = config.loads(GOOD, env={"PUBLISHER_PLATFORMS": "linux/arm64"})
    assert cfg.line_names == ("8.4", "8.10")  # 8.3 is amd64 only
    assert all(line.platforms == (Platform.ARM64,) for line in cfg.lines)
    err = error_for(GOOD, env={"PUBLISHER_LINES": "8.4,9.9"})
    assert err.source == "environment" and err.field == "PUBLISHER_LINES"
    assert "9.9 is not configured" in str(err)
    err = error_for(GOOD, env={"PUBLISHER_PLATFORMS": "linux/s390x"})
    assert "unknown platform" in str(err)
    assert "set PUBLISHER_PLATFORMS to some of linux/amd64, linux/arm64" in (err.hint or "")
    # the environment is never read implicitly
    assert config.loads(GOOD).line_names == ("8.3", "8.4", "8.10")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(tmp_path / "nope.yaml", {})


@pytest.mark.parametrize("path", ["\x00", "matrix.yaml\x00.bak"])
def test_a_path_holding_a_nul_is_a_config_error_not_a_value_error(path):
    """From Python (argv and the environment cannot carry one): the project's error, as
    for every other path no file can be read at, never ``ValueError: embedded null byte``."""
    with pytest.raises(ConfigError) as info:
        config.load(path, {})
    shown = path.replace("\x00", "\\x00")  # escaped, as every control character
    assert info.value.message == (
        f"{shown}: cannot read the configuration file: a path cannot hold a NUL character"
    )
    assert info.value.hint == "pass the matrix file itself, e.g. --config matrix.yaml"


def test_a_missing_relative_matrix_names_the_directory_it_was_looked_for_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        config.load("matrix.yaml", {})
    assert info.value.message.endswith(f"file not found in the current directory {tmp_path}")


def test_committed_matrices_load(repo_root):
    cfg = config.load(repo_root / "matrix.yaml", {})
    assert cfg.line_names == ("8.1", "8.2", "8.3", "8.4", "8.5")
    assert cfg.default_line == "8.4"
    assert {r.repository.domain for r in cfg.registries} == {"docker.io", "ghcr.io"}
    assert not cfg.stand_in


# ---------------------------------------------------------------- Hypothesis: broken files


def _mutations() -> st.SearchStrategy[str]:
    data = yaml.safe_load(GOOD)
    keys = list(data)

    def drop(k: str) -> str:
        d = dict(data)
        d.pop(k)
        return yaml.safe_dump(d)

    def retype(k: str, v: object) -> str:
        d = dict(data)
        d[k] = v
        return yaml.safe_dump(d)

    def unknown(k: str) -> str:
        d = dict(data)
        d[k + "x"] = d.pop(k)
        return yaml.safe_dump(d)

    def duplicate_line(index: int) -> str:
        d = dict(data)
        d["lines"] = [*d["lines"], dict(d["lines"][index % len(d["lines"])])]
        return yaml.safe_dump(d)

    def impossible_platform(index: int, platform: str) -> str:
        d = dict(data)
        d["platforms"] = ["linux/amd64"]
        lines = [dict(line) for line in d["lines"]]
        lines[index % len(lines)]["platforms"] = [platform]
        d["lines"] = lines
        return yaml.safe_dump(d)

    junk = st.one_of(
        st.integers(),
        st.text(max_size=5),
        st.lists(st.integers(), max_size=2),
        st.none(),
        st.booleans(),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    return st.one_of(
        st.sampled_from(keys).map(unknown),
        st.builds(retype, st.sampled_from(keys), junk),
        st.sampled_from(["registries", "lines", "default_line"]).map(drop),
        st.integers(0, 5).map(duplicate_line),
        st.builds(
            impossible_platform,
            st.integers(0, 5),
            st.sampled_from(["linux/arm64", "linux/arm/v7", "linux/s390x", "windows/amd64"]),
        ),
        st.builds(lambda cut: GOOD[:cut], st.integers(0, len(GOOD) - 1)),
        st.text(max_size=60),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_broken_matrices_fail_with_a_located_config_error(text):
    try:
        cfg = config.loads(text, source="matrix.yaml")
    except ConfigError as err:
        assert err.exit_code == 3
        assert str(err).startswith("matrix.yaml")
        assert err.problem and "Traceback" not in str(err)
        # Located: a line and column, unless there is nothing to point at.
        if not err.problem.startswith("the file is empty"):
            assert err.line is not None and err.column is not None, str(err)
    else:
        # only mutations that keep the file valid may load (e.g. a retype to an equal value)
        assert cfg.lines


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("localhost", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("[::1]", True),
        ("127.10.0.3", True),
        ("ghcr.io", False),
        ("10.0.0.1:5000", False),
        ("[2001:db8::1]:443", False),
    ],
)
def test_loopback_registries_are_reached_over_plain_http(host, loopback):
    assert config.is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            "repository: docker.io/{namespace}/{image}",
            "repository: '[::1]:5000/acme/php-fpm'",
            "registries[0].repository",
        ),
        (
            "repository: localhost:5000/acme/php-fpm",
            "repository: '[fd00::2]:41564/acme/php-fpm'",
            "registries[1].repository",
        ),
        ('image: "php:{php}-fpm-alpine"', 'image: "[::1]:5000/php:{php}-fpm-alpine"', "base.image"),
        ("mirror: mirror.gcr.io", "mirror: '[::1]:5000/hub'", "base.mirror"),
    ],
)
def test_a_registry_named_by_its_ipv6_address_is_refused_where_it_is_written(
    old: str, new: str, field: str
) -> None:
    """buildah and skopeo cannot read `[::1]:5000/...`, and the pins file holds no brackets:
    a matrix naming one (as a registry, a base image's or a mirror's host) is refused when
    it is read, before any build or push, naming the field, why, and to name it by a host."""
    err = error_for(replace(old, new))
    assert err.field == field and err.line is not None
    assert "is an IPv6 address: buildah and skopeo cannot read a reference to it" in err.message
    assert "name the registry by a host name" in (err.hint or "")
    env_err = error_for(GOOD, env={"PUBLISHER_BASE_MIRROR": "[fd00::2]:5000"})
    assert env_err.field == "PUBLISHER_BASE_MIRROR" and "IPv6 address" in env_err.message


@pytest.mark.parametrize(
    "args", [("preflight",), ("release", "v1.0.0", "--dry-run"), ("release", "v1.0.0")]
)
def test_an_ipv6_registry_stops_preflight_and_a_release_before_anything_runs(
    tmp_path, monkeypatch, args
) -> None:
    """A release to `[::1]:PORT` wrote every tag, then failed at its pins file (or at the
    smoke test's buildah): preflight, the dry run and the release itself now stop at the
    matrix (exit 3) without a command run or a socket opened (the unit tests' guard)."""
    from click.testing import CliRunner

    from publisher.cli import main

    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        replace("repository: localhost:5000/acme/php-fpm", "repository: '[::1]:41561/t20/x'"),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, [*args, "--config", str(matrix)], env={}, catch_exceptions=False
    )
    said = " ".join(result.stderr.split())
    assert result.exit_code == 3, said
    assert "matrix.yaml:10:17: registries[1].repository: [::1]:41561 is an IPv6 address" in said
    assert "tip: name the registry by a host name" in said


# ------------------------------------------------- extensions and lifecycle keys (issue 12)

_ICU = """
registries: [{name: hub, repository: docker.io/acme/php, primary: true}]
default_line: "8.4"
extensions: {install: [intl, zip], pecl: [redis-6.3.0]}
packages: [icu-libs]
lines: [{php: "8.3", frozen: true}, {php: "8.4"}, {php: "8.5", extensions: {install: [zip]}}]
"""


def test_intl_gets_every_icu_locale_unless_the_matrix_opts_out() -> None:
    cfg = config.loads(_ICU)
    assert cfg.line("8.4").packages == ("icu-libs", "icu-data-full")
    assert cfg.line("8.5").packages == ("icu-libs",)  # no intl on this line
    opted_out = config.loads("icu_data_full: false\n" + _ICU)
    assert opted_out.line("8.4").packages == ("icu-libs",)


def test_a_line_can_be_frozen() -> None:
    cfg = config.loads(_ICU)
    assert [line.frozen for line in cfg.lines] == [True, False, False]
    with pytest.raises(ConfigError, match="expected true or false"):
        config.loads(_ICU.replace("frozen: true", "frozen: yes please"))


_PHP85 = """\
registries: [{name: hub, repository: docker.io/acme/php, primary: true}]
default_line: "8.4"
extensions: {install: [intl, opcache], pecl: [redis-6.2.0]}
lines:
  - php: "8.4"
  - php: "8.5"
    extensions: {install: [intl], pecl: [redis-6.3.0]}
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "field", "message", "tip"),
    [
        (
            "install: [intl], pecl",
            "install: [intl, opcache], pecl",
            (7, 34),
            "lines[1].extensions.install",
            "PHP 8.5 builds OPcache in; `docker-php-ext-install opcache` fails there",
            "leave opcache out of lines[1].extensions.install",
        ),
        (
            "pecl: [redis-6.3.0]",
            "pecl: [redis-6.2.5]",
            (7, 42),
            "lines[1].extensions.pecl",
            "PHP 8.5 needs redis 6.3.0 or newer; redis-6.2.5 does not build against it",
            "write redis-6.3.0 or newer in lines[1].extensions.pecl",
        ),
        # a line that inherits the top-level extensions: the error is where they are written
        (
            "    extensions: {install: [intl], pecl: [redis-6.3.0]}\n",
            "",
            (3, 30),
            "extensions.install",
            "PHP 8.5 builds OPcache in",
            "lines[1] (PHP 8.5) inherits the top-level extensions: give it its own extensions",
        ),
    ],
)
def test_what_php_8_5_cannot_build_is_refused_where_it_is_written(
    old: str, new: str, where: tuple[int, int], field: str, message: str, tip: str
) -> None:
    """PHP 8.5 builds OPcache in, and phpredis supports it from 6.3.0: a matrix asking for
    either is refused before any build, rather than failing deep in a compiler's output."""
    config.loads(_PHP85)  # the same on 8.4 is fine
    err = error_for(_PHP85.replace(old, new, 1))
    assert (err.line, err.column, err.field) == (*where, field)
    assert message in err.message and tip in (err.hint or "")


def test_an_unversioned_or_newer_pecl_package_is_left_to_pecl() -> None:
    newer = config.loads(_PHP85.replace("redis-6.3.0", "redis-6.3.1RC1"))
    assert newer.line("8.5").extensions.pecl == ("redis-6.3.1RC1",)
    assert config.loads(_PHP85.replace("redis-6.3.0", "redis")).line("8.5").extensions.pecl == (
        "redis",
    )


@pytest.mark.parametrize(
    "version", ["6.3.0RC1", "6.3.0rc2", "6.3.0alpha1", "6.3.0beta3", "6.3.0dev"]
)
def test_a_pre_release_of_the_oldest_version_that_builds_is_refused_as_older(version) -> None:
    """By PECL's ordering (PHP's version_compare) 6.3.0RC1 comes before 6.3.0, which PHP 8.5
    needs: it was accepted, its numbers alone compared."""
    err = error_for(_PHP85.replace("redis-6.3.0", f"redis-{version}"))
    assert (err.line, err.column, err.field) == (7, 42, "lines[1].extensions.pecl")
    assert f"PHP 8.5 needs redis 6.3.0 or newer; redis-{version} does not build against it" in (
        err.message
    )
    assert f"PECL orders redis-{version} before 6.3.0" in err.message
    # a release after it, or a pre-release of a later one, is fine
    for later in ("6.3.0pl1", "6.3.1RC1", "6.3.0.1", "6.4.0alpha1"):
        pecl = config.loads(_PHP85.replace("redis-6.3.0", f"redis-{later}"))
        assert pecl.line("8.5").extensions.pecl == (f"redis-{later}",)


@pytest.mark.parametrize(
    ("written", "fixed"), [("redis-06.3.0", "redis-6.3.0"), ("apcu-5.01.24", "apcu-5.1.24")]
)
def test_a_pecl_version_with_a_leading_zero_is_no_pecl_version(written, fixed) -> None:
    """redis-06.3.0 was rendered as written, `pecl install redis-06.3.0`, no PECL release."""
    err = error_for(replace("pecl: [redis-6.1.0]", f"pecl: [{written}]"))
    assert (err.line, err.column, err.field) == (24, 10, "extensions.pecl[0]")
    assert err.message.endswith(
        f"{written!r} is no PECL version: PECL writes a version's numbers without leading zeros"
    )
    assert err.hint == f"write {fixed}"
    assert config.loads(replace("pecl: [redis-6.1.0]", "pecl: [redis-6.0.10]"))


def test_two_lines_built_from_one_base_image_are_refused() -> None:
    err = error_for(replace('image: "php:{php}-fpm-alpine"', 'image: "php:8.4-fpm-alpine"'))
    assert (err.field, err.line) == ("base.image", 17)
    assert "PHP 8.3 and 8.4 would both build FROM docker.io/library/php:8.4-fpm-alpine" in str(err)
    assert "{php}" in (err.hint or "")
    # a line's own base_image naming another line's base: found at the second of them
    err = error_for(replace("    size_budget_mb: 500\n", "    base_image: php:8.4-fpm-alpine\n"))
    assert (err.field, err.line) == ("base.image", 17)
    assert "PHP 8.3 and 8.4 would both build FROM" in err.message


@pytest.mark.parametrize(
    ("install", "field", "suggestion"),
    [
        ("[gd, intl, exfi]", "extensions.install[2]", "; did you mean 'exif'?"),
        ("[gd, intl, pdo_mysq]", "extensions.install[2]", "; did you mean 'pdo_mysql'?"),
        ("[gd, imagick]", "extensions.install[1]", ""),
    ],
)
def test_an_extension_php_s_source_lacks_is_refused_where_it_is_written(
    install, field, suggestion
) -> None:
    err = error_for(replace("install: [gd, intl]", f"install: {install}"))
    assert (err.field, err.line) == (field, 21)
    assert err.message.endswith("which docker-php-ext-install builds" + suggestion)
    assert "extensions.pecl as NAME-VERSION" in (err.hint or "")


def test_every_extension_the_committed_matrices_install_is_known() -> None:
    for path in (ROOT / "matrix.yaml", ROOT / "examples/offline/matrix.yaml"):
        for line in config.load(path, {}).lines:
            assert set(line.extensions.install) <= config.BUNDLED_EXTENSIONS


@pytest.mark.parametrize(
    ("pecl", "message"),
    [
        ("[redis-6.1..0]", "'redis-6.1..0' is not a valid pecl package"),
        ("[redis-6.1.]", "'redis-6.1.' is not a valid pecl package"),
        ("[redis-latest]", "'redis-latest' is not a valid pecl package"),
        ("[redis-6.1.0, redis-6.2.0]", "pecl package 'redis' is listed twice"),
        ("[redis, redis-6.2.0]", "pecl package 'redis' is listed twice"),
    ],
)
def test_a_pecl_package_is_a_name_and_a_version_and_is_installed_once(pecl, message) -> None:
    err = error_for(replace("pecl: [redis-6.1.0]", f"pecl: {pecl}"))
    assert message in err.message and err.field and err.field.startswith("extensions.pecl[")
    assert "redis-6.3.0" in (err.hint or "") or "keep one version" in (err.hint or "")


def test_the_committed_matrix_pins_every_pecl_package() -> None:
    cfg = config.load(ROOT / "matrix.yaml", {})
    for line in cfg.lines:
        for package in line.extensions.pecl:
            name, _, version = package.partition("-")
            assert version, f"PHP {line.php}: pin {name} to a version, e.g. {name}-6.3.0"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_yaml_infinity_and_nan_are_located_errors(value: str) -> None:
    err = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {value}"))
    assert (err.line, err.column, err.field) == (19, 17, "size_budget_mb")
    assert "must be a finite number from 1 to 1000000" in str(err)


@pytest.mark.parametrize(
    "value",
    [
        "9" * 400,
        "0x" + "f" * 300,
        "0b" + "1" * 1100,
        ":".join(["59"] * 200),
        "!!int 0x" + "f" * 300,
    ],
)
def test_a_number_too_large_for_a_float_is_refused_as_not_finite(value: str) -> None:
    """A whole number past a float's range in YAML's other spellings (hexadecimal, binary,
    sexagesimal) is refused as the decimal one is, not as a value tagged !!int (it has no
    tag) that is not a number."""
    err = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {value}"))
    assert (err.line, err.column, err.field) == (19, 17, "size_budget_mb")
    assert err.problem.startswith("must be a finite number from 1 to 1000000"), str(err)


@pytest.mark.parametrize(
    "value", ["1.0e+30", "!!float 1.0e+30", "1.0e+300", "1000001", "1_000_000.5", "0x1000000"]
)
@pytest.mark.parametrize("where", ["top", "line"])
def test_a_size_budget_past_a_terabyte_is_a_located_error(value: str, where: str) -> None:
    """Budgets are whole bytes: 1e30 would be an integer of 37 digits through a float,
    1.0e+300 one of 301; a budget past 1000000 MB (1 TB), which no image comes near, is
    refused where it is written, at the top or in a line."""
    if where == "top":
        err = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {value}"))
        assert (err.line, err.column, err.field) == (19, 17, "size_budget_mb")
    else:
        err = error_for(replace("    size_budget_mb: 500", f"    size_budget_mb: {value}"))
        assert (err.line, err.column, err.field) == (30, 21, "lines[0].size_budget_mb")
    assert err.problem == "must be a finite number from 1 to 1000000 (MB: 1 TB)", str(err)
    assert "1000000" in (err.hint or "")
    top = config.loads(GOOD.replace("size_budget_mb: 700", "size_budget_mb: 1000000"))
    assert top.line("8.4").size_budget_bytes == 10**12  # the bound itself is accepted


@pytest.mark.parametrize(
    ("written", "expected"),
    [("1.000001", 1_000_001), ("1.1", 1_100_000), ("700.5", 700_500_000), ("1.0000005", 1_000_000)],
)
def test_a_fractional_size_budget_counts_the_bytes_its_digits_say(
    written: str, expected: int
) -> None:
    """1.000001 MB is 1,000,001 bytes, not the 1,000,000.99… of the float nearest it; a
    fraction of a byte is left out."""
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", f"size_budget_mb: {written}"))
    assert cfg.line("8.4").size_budget_bytes == expected


def test_numbers_in_yaml_s_other_spellings() -> None:
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", "size_budget_mb: 0x200"))
    assert cfg.line("8.4").size_budget_bytes == 512_000_000


@pytest.mark.parametrize("text", ["0o17", "7e2", "1e3", "0O17", "-0o17"])
@pytest.mark.parametrize("tag", ["!!int", "!!float"])
def test_a_tagged_number_is_refused_as_its_untagged_text_is(tag: str, text: str) -> None:
    # int() and float() take 0o17 and 7e2; YAML does not: untagged they are strings
    untagged = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {text}"))
    tagged = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {tag} {text}"))
    if "e" in text:  # a number to YAML 1.2, a string to YAML 1.1, untagged: said so
        assert "YAML 1.1 reads it as a string, YAML 1.2 as" in str(untagged)
    else:
        assert "expected a number, found a string" in str(untagged)
        assert untagged.hint == config.NUMBER_HINT
    assert (
        f"expected a number, found {text!r} (tagged {tag}: YAML reads it untagged as a "
        "string)" in str(tagged)
    )
    assert (tagged.line, tagged.column, tagged.field) == (19, 17, "size_budget_mb")
    assert tagged.hint == config.NUMBER_HINT


#: What each reader makes of a whole number written with a leading zero, as tagged.
DISAGREE = ", which YAML readers disagree on: "
ALIKE = ", but not every number so written (017 is the octal number 15 to YAML 1.1, 17 to YAML 1.2)"


@pytest.mark.parametrize(
    ("written", "said", "decimal"),
    [
        ("017", DISAGREE + "YAML 1.1 reads it as the octal number 15, YAML 1.2 as 17", "17"),
        ("0017", DISAGREE + "YAML 1.1 reads it as the octal number 15, YAML 1.2 as 17", "17"),
        ("+017", DISAGREE + "YAML 1.1 reads it as the octal number 15, YAML 1.2 as 17", "17"),
        ("-017", DISAGREE + "YAML 1.1 reads it as the octal number -15, YAML 1.2 as -17", "-17"),
        ("08", DISAGREE + "YAML 1.1 reads it as a string, YAML 1.2 as 8", "8"),
        ("019", DISAGREE + "YAML 1.1 reads it as a string, YAML 1.2 as 19", "19"),
        # YAML 1.2 has no '_' in its numbers
        (
            "0_17",
            DISAGREE + "YAML 1.1 reads it as the octal number 15, YAML 1.2 as no number",
            "17",
        ),
        ("0_0", DISAGREE + "YAML 1.1 reads it as 0, YAML 1.2 as no number", "0"),
        ("0_8", ": YAML 1.1 and YAML 1.2 both read it as a string", "8"),
        # alike here: octal and decimal 7 are one number
        ("00", ": YAML 1.1 and YAML 1.2 both read it as 0" + ALIKE, "0"),
        ("07", ": YAML 1.1 and YAML 1.2 both read it as 7" + ALIKE, "7"),
        ("!!int 017", DISAGREE + "YAML 1.1 reads it as the octal number 15, YAML 1.2 as 17", "17"),
        ("!!int 08", DISAGREE + "YAML 1.1 refuses it, YAML 1.2 reads it as 8", "8"),
        ("!!float 017", ": YAML 1.1 and YAML 1.2 both read it as 17" + ALIKE, "17"),
        ("!!float 08", ": YAML 1.1 and YAML 1.2 both read it as 8" + ALIKE, "8"),
        ("!!float 0_17", DISAGREE + "YAML 1.1 reads it as 17, YAML 1.2 refuses it", "17"),
    ],
)
@pytest.mark.parametrize(
    ("old", "key", "where"),
    [
        ("size_budget_mb: 700", "size_budget_mb", (19, 17, "size_budget_mb")),
        ("size_budget_mb: 700", "size_regression_percent", (19, 26, "size_regression_percent")),
        ("    size_budget_mb: 500", "    size_budget_mb", (30, 21, "lines[0].size_budget_mb")),
    ],
)
def test_a_whole_number_with_a_leading_zero_is_refused_as_ambiguous(
    written: str, said: str, decimal: str, old: str, key: str, where: tuple
) -> None:
    """YAML 1.1 (PyYAML, and editors that follow it) reads 017 as octal 15 and 08 as a
    string; YAML 1.2 reads both as decimal: publisher took 17, a reader of the file may take
    15. Refused where it stands, tagged or not, with the number to write, each reader's
    reading said as it is: YAML 1.2 reads 0_17 as no number, and both read !!float 017
    as 17, where the message said 17 and octal 15."""
    err = error_for(replace(old, f"{key}: {written}"))
    assert (err.line, err.column, err.field) == where, str(err)
    text = written.split()[-1]
    assert err.problem == f"{text} is written with a leading zero{said}", str(err)
    assert err.hint == f"write {decimal}"
    # YAML 1.1's reading is PyYAML's own
    try:
        read = yaml.safe_load(written)
    except ValueError:
        assert "YAML 1.1 refuses it" in said
    else:
        shown = "a string" if isinstance(read, str) else f"{read:g}"
        assert f"YAML 1.1 reads it as {shown}" in said.replace("the octal number ", "") or (
            f"both read it as {shown}" in said
        ), (read, said)


@pytest.mark.parametrize("text", ["0", "-0", "+0", "0.5", "017.5", "00.5", "0x1F", "0b1"])
def test_zero_alone_and_numbers_with_a_point_are_no_leading_zero(text: str) -> None:
    """0 is no leading zero, nor is a number with a point: every YAML reads 017.5 as 17.5."""
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", f"size_regression_percent: {text}"))
    assert cfg.size_regression_percent == float(yaml.safe_load(text))


@pytest.mark.parametrize("text", ["1_000", "0_17.5", "0b101", "1:30"])
def test_a_yaml_1_1_spelling_is_read_as_yaml_1_1_reads_it(text: str) -> None:
    """As the README says: YAML 1.2 reads these as strings, no reader as another number."""
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", f"size_regression_percent: {text}"))
    assert cfg.size_regression_percent == float(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("text", "number"), [("1e3", "1000"), ("1.5E3", "1500"), (".5e3", "500"), ("1e+3", "1000")]
)
def test_a_number_yaml_1_1_reads_as_a_string_is_not_told_to_lose_its_quotes(
    text: str, number: str
) -> None:
    """`size_budget_mb: 1e3` was "found a string ('1e3')", its tip "write a number without
    quotes", though it has none: YAML 1.1 (PyYAML) reads it as a string, YAML 1.2 as a
    number; the error says so, and the number to write."""
    err = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {text}"))
    assert (err.line, err.column, err.field) == (19, 17, "size_budget_mb")
    assert err.message.endswith(
        f"size_budget_mb: {text} is a number written as YAML readers disagree on: YAML 1.1 "
        f"reads it as a string, YAML 1.2 as {float(number):g}"
    ), err.message
    assert err.hint == f"write {number}"
    assert "quotes" not in err.message + (err.hint or "")
    # quoted, it is a string to every reader: refused as any string is
    quoted = error_for(replace("size_budget_mb: 700", f'size_budget_mb: "{text}"'))
    assert quoted.hint == "write a number without quotes, e.g. 500"
    # with a point and a signed exponent, YAML 1.1 reads it as a number too
    cfg = config.loads(replace("size_budget_mb: 700", "size_budget_mb: 1.0e+3"))
    assert cfg.lines[1].size_budget_bytes == 1000 * 1000 * 1000


@pytest.mark.parametrize("quoted", ['"017"', "'017'", "!!str 0o17", "!!str 017"])
def test_a_quoted_whole_number_with_a_leading_zero_is_a_string_as_any_other(quoted: str) -> None:
    """Quoted, 017 is a string to every reader: refused where a number belongs as every
    string is (as a quoted 700 is)."""
    err = error_for(replace("size_budget_mb: 700", f"size_budget_mb: {quoted}"))
    assert err.problem.startswith("expected a number, found a string"), str(err)
    assert err.hint == config.NUMBER_HINT


@settings(max_examples=200)
@given(
    st.integers(0, 10**6),
    st.integers(1, 3),
    st.sampled_from(["", "-", "+"]),
    st.sampled_from(["size_budget_mb", "size_regression_percent"]),
)
def test_any_whole_number_with_leading_zeros_is_refused_and_without_them_read(
    n: int, zeros: int, sign: str, key: str
) -> None:
    written = f"{sign}{'0' * zeros}{n}"
    with pytest.raises(ConfigError) as info:
        config.loads(GOOD.replace("size_budget_mb: 700", f"{key}: {written}"))
    assert info.value.hint == f"write {int(written)}"
    assert info.value.line == 19 and info.value.field == key
    if sign == "-" or n == 0:
        return  # below the minimum of size_budget_mb
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", f"{key}: {sign}{n}"))
    if key == "size_budget_mb":
        assert cfg.line("8.4").size_budget_bytes == n * 1_000_000
    else:
        assert cfg.size_regression_percent == n


@pytest.mark.parametrize(
    ("tag", "text", "mb"),
    [
        *(
            (tag, text, mb)
            for tag in ("", "!!int ", "!!float ")
            for text, mb in (("0x1F", 31), ("1_000", 1000))
        ),
        # a number that is not whole: as written, or tagged !!float (!!int refuses it)
        ("", "5.5", 5.5),
        ("!!float ", "5.5", 5.5),
    ],
)
def test_a_tagged_number_is_read_as_its_untagged_text_is(tag: str, text: str, mb: float) -> None:
    cfg = config.loads(GOOD.replace("size_budget_mb: 700", f"size_budget_mb: {tag}{text}"))
    assert cfg.line("8.4").size_budget_bytes == int(mb * 1_000_000)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # an explicit YAML tag on a value that is not of that type
        ("size_budget_mb: 700", "size_budget_mb: !!int abc", "expected a number, found 'abc'"),
        ("size_budget_mb: 700", "size_budget_mb: !!float 1e", "expected a number, found '1e'"),
        ("size_budget_mb: 700", "size_budget_mb: !!int", "expected a number, found ''"),
        # a number, but not of the type it is tagged as
        (
            "size_budget_mb: 700",
            "size_budget_mb: !!int 50.5",
            "expected a whole number, found '50.5' (tagged !!int",
        ),
        (
            "    insecure: true",
            "    insecure: !!bool maybe",
            "expected true or false, found 'maybe'",
        ),
        ("    insecure: true", "    insecure: !!bool", "expected true or false, found ''"),
        # what YAML reads untagged as a string, tagged as a boolean (its case mixed)
        ("    insecure: true", "    insecure: !!bool yES", "expected true or false, found 'yES'"),
        ("    insecure: true", "    insecure: !!bool tRUE", "expected true or false, found 'tRUE'"),
        # a value YAML reads as something other than a string is named as what it is
        ("image: php-fpm", "image: 2026-01-01", "expected a string, found a date (2026-01-01)"),
        ("image: php-fpm", "image: !foo php-fpm", "found a value tagged !foo ('php-fpm')"),
        ("image: php-fpm", "image: !!binary aGk=", "found a value tagged !!binary ('aGk=')"),
        # a local tag named like a standard one is not it: !<int> is no !!int
        ("image: php-fpm", "image: !<str> php-fpm", "found a value tagged str ('php-fpm')"),
        ("size_budget_mb: 700", "size_budget_mb: !<int> 12", "found a value tagged int ('12')"),
        ("    insecure: true", "    insecure: !<bool> true", "found a value tagged bool ('true')"),
        ("  - php: 8.4\n", "  - php: !<str> 8.4\n", "found a value tagged str ('8.4')"),
    ],
)
def test_explicitly_tagged_values_are_located_config_errors(old, new, message) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        config.loads(GOOD.replace(old, new, 1), source="m.yaml")
    err = info.value
    assert err.exit_code == 3 and err.line is not None, str(err)
    assert message in str(err)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "packages: [icu-libs]",
            "packages: !!python/tuple [icu-libs]",
            "packages",
            "a list tagged !!python/tuple",
        ),
        ("packages: [icu-libs]", "packages: !foo [icu-libs]", "packages", "a list tagged !foo"),
        (
            "packages: [icu-libs]",
            "packages: !!set {icu-libs}",
            "packages",
            "a mapping tagged !!set",
        ),
        (
            "  - php: 8.4\n",
            "  - !!python/object:os.system\n    php: 8.4\n",
            "lines[1]",
            "a mapping tagged !!python/object:os.system",
        ),
        (
            "    gd: [--with-jpeg]",
            "    gd: !foo [--with-jpeg]",
            "extensions.configure.gd",
            "a list tagged !foo",
        ),
        ("base:\n", "base: !foo\n", "base", "a mapping tagged !foo"),
    ],
)
def test_tagged_lists_and_mappings_are_refused_as_tagged_values_are(old, new, field, message):
    """A tag on a list or a mapping is refused where it is written, as one on a scalar is
    (``found a value tagged !foo``), not read as if it were not there."""
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        config.loads(GOOD.replace(old, new, 1), source="m.yaml")
    err = info.value
    assert err.exit_code == 3 and err.line is not None and err.field == field, str(err)
    assert f"{field}: found {message}: a matrix file's lists and mappings carry no tag" in str(err)
    tag = message.split(" tagged ")[1]
    assert tag in GOOD.replace(old, new, 1).splitlines()[err.line - 1], err.line


# ---------------------------------------------------------------- anchors and merge keys

_SHARED = """\
x-extensions: &common
  install: [gd, intl]
  configure:
    gd: [--with-jpeg]
  pecl: [redis-6.3.0]
x-small: &small
  size_budget_mb: 400
  platforms: [linux/amd64]
x-large: &large
  size_budget_mb: 900
registries: [{name: r, repository: ghcr.io/a/b, primary: true}]
default_line: "8.4"
extensions: *common
lines:
  - php: "8.3"
    <<: [*small, *large]
  - php: "8.4"
  - php: "8.5"
    <<: *large
    size_budget_mb: 800
    extensions:
      <<: *common
      install: [intl]
      configure: {}
"""

_SPELLED_OUT = """\
registries: [{name: r, repository: ghcr.io/a/b, primary: true}]
default_line: "8.4"
extensions:
  install: [gd, intl]
  configure:
    gd: [--with-jpeg]
  pecl: [redis-6.3.0]
lines:
  - php: "8.3"
    size_budget_mb: 400
    platforms: [linux/amd64]
  - php: "8.4"
  - php: "8.5"
    size_budget_mb: 800
    extensions:
      install: [intl]
      pecl: [redis-6.3.0]
"""


def test_anchors_and_merge_keys_share_settings_between_lines() -> None:
    """`x-` keys hold anchors; `<<:` merges them; a key written beside `<<` wins, and of
    several merged mappings the first that sets a key wins (YAML's merge rules)."""
    shared = config.loads(_SHARED, source="m.yaml")
    assert shared.lines == config.loads(_SPELLED_OUT, source="m.yaml").lines
    l83, _, l85 = shared.lines
    assert l83.size_budget_bytes == 400_000_000  # *small before *large
    assert l85.size_budget_bytes == 800_000_000  # written beside <<: *large
    assert l85.extensions.install == ("intl",) and l85.extensions.pecl == ("redis-6.3.0",)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        # an unknown key inside an anchored mapping is located where it is written
        # (the top-level extensions: *common reads it first)
        (
            "  pecl: [redis-6.3.0]\n",
            "  pecl: [redis-6.3.0]\n  instal: [zip]\n",
            (6, 3),
            ": extensions.instal: unknown key 'instal'; did you mean 'install'?",
        ),
        (
            "    <<: *large\n",
            "    <<: 3\n",
            (19, 9),
            "a merge key (<<) takes a mapping or a list of mappings, found a number (3)",
        ),
        ("    <<: [*small, *large]\n", "    <<: [*small, [1]]\n", (16, 18), "found a list"),
        ("    <<: *large\n", "    <<: *large\n    <<: *small\n", (20, 5), "duplicate key '<<'"),
        # a key written twice beside a merge is still a duplicate
        (
            "    size_budget_mb: 800\n",
            "    size_budget_mb: 800\n    size_budget_mb: 801\n",
            (21, 5),
            "duplicate key 'size_budget_mb'",
        ),
        # only the top level leaves x- keys alone
        ('  - php: "8.4"\n', '  - php: "8.4"\n    x-note: 1\n', (18, 5), "unknown key 'x-note'"),
        (
            "x-large: &large\n",
            "x-large: &large\n  <<: *large\n",
            (9, 10),
            "a merge key (<<) refers to the mapping it is part of",
        ),
    ],
)
def test_merge_key_mistakes_are_located(old, new, where, message) -> None:
    assert old in _SHARED
    with pytest.raises(ConfigError) as info:
        config.loads(_SHARED.replace(old, new, 1), source="m.yaml")
    err = info.value
    assert err.exit_code == 3
    assert (err.line, err.column) == where, str(err)
    assert message in str(err)


def test_a_key_written_twice_in_a_merged_mapping_is_a_duplicate() -> None:
    """A mapping read only through `<<:` (an `x-` anchor) is checked for repeated keys as
    any other: YAML readers disagree on which of the two counts, so neither is taken."""
    text = _SHARED.replace("x-large: &large\n", "x-large: &large\n  size_budget_mb: 901\n", 1)
    with pytest.raises(ConfigError) as info:
        config.loads(text, source="m.yaml")
    err = info.value
    assert err.exit_code == 3 and (err.line, err.column) == (11, 3), str(err)
    assert "duplicate key 'size_budget_mb'" in str(err)


def test_a_merge_fan_out_is_read_once() -> None:
    """Merged mappings are flattened once each, so a file that merges each level's
    mapping many times over stays fast (no exponential walk)."""
    levels = ["x-l0: &l0 {size_budget_mb: 500}"]
    for i in range(1, 30):
        refs = ", ".join([f"*l{i - 1}"] * 8)
        levels.append(f"x-l{i}: &l{i} {{<<: [{refs}]}}")
    text = (
        "\n".join(levels)
        + "\n"
        + _SPELLED_OUT.replace('  - php: "8.4"\n', '  - php: "8.4"\n    <<: *l29\n')
    )
    assert config.loads(text, source="m.yaml").line("8.4").size_budget_bytes == 500_000_000


_COMMANDS = [
    ["plan", "v1.0.0"],
    ["release", "v1.0.0"],
    ["release", "v1.0.0", "--dry-run"],
    ["build", "v1.0.0", "--php", "8.4", "--platform", "linux/amd64", "--digest-file", "d.json"],
    ["publish", "v1.0.0", "--digests", "."],
    ["republish", "v1.0.0", "--reason", "r"],
    ["verify", "v1.0.0"],
    ["preflight"],
    ["audit"],
]


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_mutations(), st.sampled_from(_COMMANDS))
def test_a_broken_matrix_stops_every_command_before_any_subprocess_or_network_call(
    tmp_path, text, argv
):
    """RELIABILITY 20 through the CLI: this package's autouse fixture makes any
    subprocess or socket connection fail, so exit 3 with the file's location shows
    that the matrix was refused first."""
    from click.testing import CliRunner

    from publisher.cli import main

    try:
        config.loads(text, source="matrix.yaml")
    except ConfigError as err:
        expected = err
    else:
        return  # a mutation that kept the file valid
    path = tmp_path / "matrix.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, [*argv, "--config", str(path)], env={"HOME": str(tmp_path)}, catch_exceptions=True
    )
    assert result.exit_code == 3, (argv, result.output, result.exception)
    assert "internal error" not in result.output and "Traceback" not in result.output
    where = str(path) + (f":{expected.line}:{expected.column}:" if expected.line else ":")
    assert where in result.output, result.output


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_matrix_says_where_to_start(text):
    err = error_for(text)
    assert err.problem == "the file is empty (or holds only comments)"
    assert "examples/offline/matrix.yaml" in (err.hint or "")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("---\n", 1),
        ("---", 1),
        ("--- # nothing\n", 1),
        ("# a matrix\n\n---\n\n", 3),
        ("!", 1),
        ("# a tag alone\n!\n", 2),
    ],
)
def test_an_empty_yaml_document_is_an_empty_matrix_at_its_line(text, line):
    """Only `---` (or a lone `!` tag): a document holding nothing, located on the file's
    line of `---` (or of its tag), not on a line after the last one."""
    err = error_for(text)
    assert err.problem == "the file holds an empty YAML document (no key)"
    assert err.line == line and err.column == 1, (err.line, err.column)
    assert "examples/offline/matrix.yaml" in (err.hint or "")


@pytest.mark.parametrize(
    "repository",
    [
        "docker.io/{namespace}/{image}",
        "ghcr.io/acme/php-fpm",
        "registry-1.docker.io/acme/php-fpm",
        # A host name is case-insensitive, and :443 is HTTPS's own port: the same registries.
        "GHCR.io/acme/php-fpm",
        "Docker.IO/acme/php-fpm",
        "ghcr.io:443/acme/php-fpm",
        "ghcr.io:0443/acme/php-fpm",
        "acme.example/x/y",
        "ghcr.io:4430/acme/php-fpm",
    ],
)
def test_insecure_on_a_registry_that_serves_only_https_is_refused_at_the_key(repository) -> None:
    """`insecure: true` on Docker Hub or GHCR is a mistake (they answer only over HTTPS;
    plain HTTP would carry the credentials or tokens unencrypted): refused where it is
    written. A registry of one's own may still be reached over plain HTTP."""
    text = GOOD.replace(
        "    primary: true\n", "    primary: true\n    insecure: true\n", 1
    ).replace("docker.io/{namespace}/{image}", repository, 1)
    if repository.startswith(("acme.example", "ghcr.io:4430")):  # not the HTTPS-only ones
        assert config.loads(text, source="m.yaml").primary.plain_http
        return
    with pytest.raises(ConfigError) as info:
        config.loads(text, source="m.yaml")
    err = info.value
    assert (err.exit_code, err.line, err.field) == (3, 7, "registries[0].insecure"), str(err)
    host = repository.split("/")[0]
    assert f"{host} answers only over HTTPS" in str(err)
    assert err.hint and "remove insecure: true" in err.hint


@pytest.mark.parametrize(
    ("host", "insecure", "plain"),
    [
        ("127.0.0.1:5000", None, True),  # loopback, unmarked: plain HTTP, as docker does
        ("localhost:5001", None, True),
        ("127.0.0.1:5000", "false", False),  # a tunnel to a registry serving TLS
        ("localhost:5001", "false", False),
        ("127.0.0.1:5000", "true", True),
        ("registry.lan:5000", None, False),
        ("registry.lan:5000", "false", False),
        ("registry.lan:5000", "true", True),
    ],
)
def test_insecure_false_makes_a_loopback_registry_speak_https(
    host: str, insecure: str | None, plain: bool
) -> None:
    """Unmarked, a loopback registry is plain HTTP and any other HTTPS; `insecure` set either
    way is what it says, on loopback too; a base image on that host goes the same way."""
    marked = f"    insecure: {insecure}\n" if insecure else ""
    text = GOOD.replace("    primary: true\n", f"    primary: true\n{marked}", 1).replace(
        "docker.io/{namespace}/{image}", f"{host}/acme/php-fpm", 1
    )
    loaded = config.loads(text, source="m.yaml")
    assert loaded.primary.plain_http is plain
    assert loaded.plain_http_for(host) is plain
    assert loaded.plain_http_for("127.0.0.2:5000") is True  # no registry of its own there
    assert loaded.plain_http_for("mirror.example") is False


@pytest.mark.parametrize(
    ("old", "new", "env", "said"),
    [
        ("namespace: acme", "namespace: ü", {}, "lowercase ASCII letters"),
        ("namespace: acme", "namespace: acme", {"PUBLISHER_NAMESPACE": "ü"}, "lowercase ASCII"),
        ("  - name: local", "  - name: lokäl", {}, "lowercase ASCII letters"),
        ("install: [gd, intl]", "install: [gd, ïntl]", {}, "lowercase ASCII letters"),
    ],
)
def test_a_name_with_a_letter_outside_ascii_is_told_ascii_only(old, new, env, said) -> None:
    """'ü' is a lowercase letter: saying "lowercase letters" would not tell what is wrong."""
    err = error_for(replace(old, new), env=env)
    assert said in err.message + " " + (err.hint or ""), err


@pytest.mark.parametrize("length", [300, 250])
def test_a_namespace_too_long_for_its_repository_is_said_to_come_from_the_environment(
    length: int,
) -> None:
    """A PUBLISHER_NAMESPACE that makes a repository's path longer than a registry takes is
    the variable's mistake, said as every other bad value of it is, never a line of
    matrix.yaml the user did not write it in."""
    err = error_for(GOOD, env={"PUBLISHER_NAMESPACE": "x" * length})
    assert (err.source, err.field) == ("environment", "PUBLISHER_NAMESPACE"), err.message
    assert "registries[0].repository" in err.message
    assert "the repository path may be at most 255 characters" in err.message
    assert "matrix.yaml:" not in err.message
    assert err.hint and "PUBLISHER_NAMESPACE" in err.hint


def test_a_config_path_given_and_missing_is_named_with_the_matrix_file_beside_it(
    tmp_path, monkeypatch
):
    """`--config m/nope.yaml`: the tip said to pass --config PATH, which was passed, or to
    run from the repository root, which finds the same nothing. It now says the path
    given does not exist, and names the matrix file nearest to it when there is one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    with pytest.raises(ConfigError) as info:
        config.load("m/nope.yaml", {})
    hint = info.value.hint or ""
    assert "--config PATH" not in hint and "repository root" not in hint, hint
    assert "m/nope.yaml does not exist" in hint and "current directory" in hint, hint
    assert "--config" not in hint, hint  # no matrix file near it to name
    (tmp_path / "m" / "matrix.yaml").write_text(GOOD)
    with pytest.raises(ConfigError) as info:
        config.load("m/nope.yaml", {})
    assert "did you mean --config m/matrix.yaml?" in (info.value.hint or ""), info.value.hint
    with pytest.raises(ConfigError) as info:
        config.load("m/gone/matrix.yaml", {})
    assert "did you mean --config m/matrix.yaml?" in (info.value.hint or ""), info.value.hint
    # the default, ./matrix.yaml, missing: run from the root, or pass --config, as before
    with pytest.raises(ConfigError) as info:
        config.load("matrix.yaml", {})
    assert info.value.hint == "run from the repository root, or pass --config PATH"


def test_a_directory_given_as_the_matrix_file_is_offered_the_matrix_file_in_it(
    tmp_path, monkeypatch
):
    """`--config m` where m/matrix.yaml exists: the tip said `--config matrix.yaml`, which
    from here is not found; it names m/matrix.yaml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    with pytest.raises(ConfigError) as info:
        config.load("m", {})
    assert info.value.hint == "pass the matrix file itself, e.g. --config matrix.yaml"
    (tmp_path / "m" / "matrix.yaml").write_text(GOOD)
    with pytest.raises(ConfigError) as info:
        config.load("m", {})
    assert info.value.hint == "pass the matrix file itself: --config m/matrix.yaml"
