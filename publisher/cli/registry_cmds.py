"""Commands that talk to registries: inspect (online), verify, preflight.

Heavy modules (the registry client) are imported inside the commands so that
``publisher --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from ..core.config import Config
from ..core.errors import PublisherError, shown_field
from ..core.fileio import counted
from ..core.reference import Reference
from ..core.settings import setting
from ..core.sizes import human_size
from ..core.version import parse_release
from . import options
from .base import (
    State,
    config_named_by,
    handle_errors,
    main,
    pass_state,
    print_report,
    refuse_empty_config,
)

if TYPE_CHECKING:
    from ..stages.inspect import Inspection


def _optional_config(state: State) -> Config | None:
    """The matrix file, for the credentials of the registries it configures: the one
    PUBLISHER_CONFIG names, read as every command reads it (one that cannot be read, or
    is not a valid matrix, is an error, as anywhere else); else ./matrix.yaml when there
    is one, or None (inspect reads any reference, in any directory)."""
    variable = setting(state.env, options.CONFIG_ENV)
    path = variable or options.CONFIG
    refuse_empty_config(path, state.env, has_option=False)  # set but empty: exit 2, as elsewhere
    if not variable and not os.path.lexists(path):
        return None
    from ..adapters.runner import withhold
    from ..core import config

    # not state.load_config: its refusal of a directory that is not UTF-8 is for the paths
    # under it, and inspect names none
    named_by = config_named_by(state.env, has_option=False)  # a file it names: said so
    try:
        cfg = config.load(path, state.env, named_by=named_by)
        withhold(cfg.credential_variables)
        return cfg
    except PublisherError as exc:
        if exc.hint and "--config" in exc.hint:  # a tip for the commands that take it
            exc.hint = "inspect has no --config: " + (
                f"set {options.CONFIG_ENV} to the matrix file that names the registries' "
                "credentials, or unset it"
                if variable
                else f"it reads ./{options.CONFIG} for the registries' credentials; correct "
                "that file, or run inspect from another directory"
            )
        raise


def inspect_online(state: State, ref: Reference, as_json: bool) -> None:
    """``publisher inspect REF`` without --offline (called from cli/core.py)."""
    from ..stages.inspect import Inspection, inspect_reference

    state.check_request_settings()
    output = state.output
    state.json_only(as_json)
    # A mistake found before any request (a bad setting, matrix.yaml) is the usual
    # {"ok": false, "error": ...}; only what the registry answered is an inspection.
    client = state.clients.for_reference(ref, _optional_config(state))
    try:
        result = inspect_reference(ref, client)
    except PublisherError as exc:
        _name_the_file_inspect_reads(state, exc)
        if as_json:
            output.print_text(
                json.dumps(Inspection(ref, reachable=False, error=exc).to_dict(), indent=2)
            )
        raise
    if as_json:
        output.print_text(json.dumps(result.to_dict(), indent=2))
    else:
        _show_inspection(state, result)
    if result.error is not None:
        raise result.error


def _name_the_file_inspect_reads(state: State, exc: PublisherError) -> None:
    """A tip to mark the registry in matrix.yaml (``insecure: true``) names the file inspect
    reads it from: inspect has no --config."""
    if not exc.hint or " in matrix.yaml" not in exc.hint:
        return
    variable = setting(state.env, options.CONFIG_ENV)
    where = (
        f" in {variable}, the file {options.CONFIG_ENV} names"
        if variable
        else f" in ./{options.CONFIG}, which inspect reads (it has no --config; "
        f"or set {options.CONFIG_ENV} to the matrix file)"
    )
    exc.hint = exc.hint.replace(" in matrix.yaml", where, 1)


def _show_inspection(state: State, result: Inspection) -> None:
    """``publisher inspect REF``'s lines and table: what the registry holds."""
    from ..stages.inspect import PlatformInfo

    output = state.output
    ref = result.reference
    output.info(f"reference: {ref.full}")  # the tag as well as the digest
    output.info(f"   digest: {result.digest}")
    tag_words = result.tag_words()
    if tag_words is not None:
        output.info(f"      tag: {tag_words}")
    pin_words = result.pin_words()
    if pin_words is not None:
        output.info(f"      pin: {pin_words}")
    kind = "multi-platform index" if result.is_index else "single-platform image"
    extra = f", {counted(result.attestations, 'attestation')}" if result.attestations else ""
    # what the registry sent is written with its control characters escaped
    # (``shown_field``): a label can neither forge a line of output nor drive the terminal
    output.info(f"     kind: {kind} ({shown_field(str(result.media_type))}){extra}")
    for key, value in sorted(result.annotations.items()):
        output.info(f"annotation: {shown_field(key)}={shown_field(value)}")
    # in the index's order, what the registry lacks or sends broken a row too, said so
    rows = [
        (
            shown_field(p.label()),
            p.digest,
            human_size(p.size),
            shown_field(p.created or "-"),
            str(len(p.labels)),
        )
        if isinstance(p, PlatformInfo)
        else (
            p.label(),
            p.platform_digest,
            p.state(),
            "-",
            "-",
        )
        for p in result.listed
    ]
    output.table(
        f"{ref.familiar}: platforms",
        ("platform", "digest", "compressed", "created", "labels"),
        rows,
    )
    if result.is_index and not result.listed:
        output.warning(
            f"{ref} is an index that lists no platform image"
            + (
                f", only {counted(result.attestations, 'attestation')}"
                if result.attestations
                else ""
            )
            + ": there is nothing to pull or run"
        )
    for key, value, where in result.label_lines():
        output.detail(
            f"  {shown_field(key)}={shown_field(value)}"
            + (f" ({', '.join(where)})" if where else "")
        )


@main.command("verify")
@click.argument("release")
@options.release_scope
@options.report_json
@pass_state
@handle_errors
def verify_command(state: State, release: str, scope: options.ReleaseScope, as_json: bool) -> None:
    """Check that RELEASE is complete and consistent on every registry.

    A published release is checked against its record (release-notes/RELEASE.json):
    its own default line, lines and platforms, whatever matrix.yaml says today,
    and every pin must point at the index digest the record names. A recorded
    line that matrix.yaml no longer has is checked from the record alone.
    A --notes-dir given that does not exist is refused as audit refuses it
    (exit 18), never read as a release without a record.

    Every expected tag exists; all tags of a PHP line resolve to one index
    digest, identical on every registry; each index holds exactly the configured
    platforms (attestations ignored), each listed as the platform its image's
    config names (os, architecture, and variant when both name one) and, when
    the image has an org.opencontainers.image.version label, built for the
    line's pin (vX.Y.Z-php-A.B); every child and blob is fetchable; each
    platform image is within the size budget. Exits 12 listing every defect.
    A release never published (no pin on any registry that answers, no record)
    is one defect saying so, with the command that publishes it: its floating
    tags carry an earlier release, and are not judged.
    A release without a record whose primary holds vX.Y.Z and the pins of
    fewer lines than matrix.yaml's (a run narrowed with --only) is checked on
    those lines alone: the others are said not checked, with the narrowed
    rerun that writes its record.
    A registry that cannot be reached, or that rate-limits the reads through the
    retries, is listed as a defect and the others are still checked (--json
    prints the report all the same): exit 7 when nothing else is wrong (6 when
    one was rate limited), 12 when a registry that answered has a defect. A
    registry that names other content than it serves (a HEAD or a body altered on
    the way: an index, image or config not matching its digest), or sends a tag
    list or manifest that is malformed or over the size limit, is one defect too
    (invalid-response, not a missing piece), the others still checked: exit 8. A blob a
    registry holds with another size (the Content-Length of its HEAD) than its
    descriptor says is damaged there: one defect (damaged-blob) naming the blob,
    config or layer, its image and tags, the registry and both sizes, the rest
    of that registry still checked, every other defect listed: exit 8. A registry
    that refuses the reads (401 or 403: the credentials, their scope, a proxy
    denying them) is one defect too (refused-read), the others still checked:
    exit 4, whatever else was found (8 beside an invalid response). A registry
    that does not list tags (404 or 405 on its tag list) is asked for each tag
    one by one, with a warning. The registries are read at the same time, up to
    8 requests in flight on each.
    --json prints {"ok", "release", "lines", "defects", "unreachable",
    "rate_limited", "refused", "left_out"} ("left_out": the lines a narrowed
    release without a record was not run with, not checked; else []); a
    failed check adds "error"; in GitHub Actions the table still
    goes to the step summary, then the verdict line (or the failure).

    Registry retries are bounded by PUBLISHER_RETRY_ATTEMPTS (5),
    PUBLISHER_RETRY_MAX_DELAY (20 s) and PUBLISHER_RETRY_TOTAL_TIMEOUT (120 s);
    each request has PUBLISHER_REQUEST_TIMEOUT (30 s) for its answer.

    \b
    Examples:
      publisher verify v2.0.0
      publisher verify v2.0.0 --only 8.4 --json
      publisher verify v2.1.0-rc.1 --notes-dir release-notes  # a prerelease:
                                                              # pins only
    """
    from ..core import plan as planning
    from ..core.notes import recorded_tags
    from ..stages.verify import defects_error, existing_tags, show_report, verify_release

    version = parse_release(release)
    state.check_request_settings()
    state.json_only(as_json)
    # the lines a rerun of the release would build (verify's --only aside)
    matrix = state.load_config(scope.config_path)
    cfg, record = state.load_published(scope, version, matrix)
    clients = state.clients.configured(cfg)
    recorded = recorded_tags(options.notes_dir_of(cfg, scope.notes_dir))
    lines = [*cfg.line_names, *matrix.line_names]
    wanted = planning.scheme_tags([*sorted(recorded), version.tag], lines)
    existing, unchecked = existing_tags(cfg, clients, wanted, state.output)
    on_primary = existing.get(cfg.primary.name)
    started = (
        None
        if record is not None or on_primary is None
        else planning.started_with(version.tag, on_primary, matrix.line_names)
    )
    cfg = planning.as_started(cfg, started)
    plan = planning.plan(cfg, version, existing, recorded)
    report = verify_release(
        cfg,
        plan,
        clients,
        state.output,
        record=record,
        unchecked=unchecked,
        locations=options.locations_of(scope.config_path, scope.notes_dir),
        started=started,
    )
    failure = defects_error(report)
    if as_json:
        print_report(state, report.to_dict(), failure)
    # With --json, stdout carries the JSON alone (the output is quiet): the table still
    # goes to the step summary in Actions, as every table does.
    show_report(report, cfg, state.output)
    if failure is not None:
        raise failure


@main.command("preflight")
@options.config
@options.only
@options.as_json(
    "Print the checks as a JSON list, the failed one last (ok: false, exit_code, error); "
    'a failure before the first check prints {"ok": false, "error": ...} (a bad option, '
    "a missing or invalid matrix file, a bad PUBLISHER_RETRY_* or PUBLISHER_REQUEST_TIMEOUT)."
)
@pass_state
@handle_errors
def preflight_command(state: State, config_path: str, only: options.Only, as_json: bool) -> None:
    """Check, before any build, that a release can get through.

    Every target registry is reachable and accepts the credentials, the
    credentials may push to the target repository (an upload is opened and
    cancelled; nothing is written), and every base image exists for every
    configured platform. Stops at the first failure with its exit code
    (4 auth, 5 not found, 6 rate limited, 7 unreachable), naming the check
    that failed (a base pulled through the mirror is named as that PHP line's
    base via the mirror). A base whose tag was removed from its registry (a
    line past its end) is exit 5, its tip the line's last base to pin by
    digest (`base_digest` in matrix.yaml), as `release` and `build` give it.
    With buildah installed, it warns first when buildah would trust other CAs
    than publisher's client (REQUESTS_CA_BUNDLE set, SSL_CERT_FILE not naming
    the same bundle) and the primary or a base is on a registry of your own.

    Registry retries are bounded by PUBLISHER_RETRY_ATTEMPTS (5),
    PUBLISHER_RETRY_MAX_DELAY (20 s) and PUBLISHER_RETRY_TOTAL_TIMEOUT (120 s);
    each request has PUBLISHER_REQUEST_TIMEOUT (30 s) for its answer.

    \b
    Examples:
      publisher preflight
      publisher preflight --only 8.4,8.5
      DOCKERHUB_USERNAME=me DOCKERHUB_TOKEN=... publisher preflight --json
    """
    from ..stages.preflight import Check, ca_warning, preflight

    state.check_request_settings()  # a bad one: the error object, not an empty list
    cfg = state.load_config(config_path, only)
    state.json_only(as_json)
    checks: list[Check] = []
    untrusted = ca_warning(cfg, state.env) if state.runner.which("buildah") else None
    if untrusted is not None:
        state.output.warning(untrusted)

    def print_checks(failure: PublisherError | None = None) -> None:
        # a failure before the first check prints no list: handle_errors prints its
        # {"ok": false, "error": ...}, as for a bad option or matrix file
        if as_json and (checks or failure is None):
            document = [c.to_dict() for c in checks]
            if failure is not None:  # the failed check says it as every error
                document[-1]["error"] = failure.to_dict()
            state.output.print_text(json.dumps(document, indent=2))

    try:
        preflight(cfg, state.clients, checks, options.locations_of(config_path))
    except PublisherError as exc:
        print_checks(exc)  # the failed check is the last one
        raise
    print_checks()
