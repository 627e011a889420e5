"""``publisher audit``: every recorded release, every registry, every tag."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.audit_rules import NEWER_RECORD
from ..core.errors import (
    AuthError,
    InvalidResponseError,
    NewerRecordsError,
    PublisherError,
    VerificationError,
    unanswered_error,
)
from ..core.fileio import counted

if TYPE_CHECKING:
    from ..stages.audit import AuditReport
    from ..stages.clients import AnonymousClient
from . import options
from .base import State, handle_errors, main, pass_state, print_report


@main.command("audit")
@options.config
@options.records_dir
@click.option(
    "--repair",
    is_flag=True,
    help="Restore what the records say: copy by digest from a registry that holds the "
    "content, re-point tags, point floating tags where the recorded pins say on every "
    "registry. Never invents content.",
)
@click.option(
    "--no-anonymous-check",
    is_flag=True,
    help="Skip the anonymous read of each registry (the images are meant to be public).",
)
@options.report_json
@pass_state
@handle_errors
def audit_command(
    state: State,
    config_path: str,
    notes_dir: Path | None,
    repair: bool,
    no_anonymous_check: bool,
    as_json: bool,
) -> None:
    """Check every recorded release on every registry; with --repair, fix what drifted.

    For each release with a record (release-notes/vX.Y.Z.json): every pin
    (vX.Y.Z-php-A.B, and vX.Y.Z for that release's own default line) on every
    registry points at the recorded index, every floating tag (php-A.B, latest)
    is where the recorded pins say, the registries agree, each tagged index
    still has its children, each recorded index lists every image as the
    platform its config names and (when it has a version label) built for the
    line's pin (else an other-content defect, which --repair leaves: a republish
    replaces the images), and anonymous users can read each registry (a
    registry that rate-limits that read is warned of, not a defect). Pins of
    a release without a record (one that died before writing it) are a defect
    whose fix is `publisher release vX.Y.Z` (with the --only of the lines whose
    pins the primary holds, when they are fewer than matrix.yaml's: a narrowed
    run's, which a rerun given every line would widen for good; `publisher
    republish vX.Y.Z --reason ...` when a pin of it on the primary holds an image
    built for another pin, which that rerun refuses: the finding names them); no
    floating tag follows them, and
    --repair leaves them alone. A floating tag carrying a newer release that
    finished on every registry but has no record here (notes not merged yet) is
    reported as ahead, and --repair never moves it back. Run it after an outage or a half-finished
    release. Exits 0 only when everything matches, else 12 listing every defect,
    in version order (v1.2.0 before v1.10.0); more than 12 releases without a
    record are said together: how many lack one in the notes directory (a
    wrong --notes-dir, checkout or branch is likelier than that many unfinished
    releases), then one line per registry naming the first 12 and how many more
    (--json lists every finding).
    A notes directory without any record yet (before the first release's notes
    are merged) has nothing to audit: a warning says so, and only the primary
    registry is read, for the pins of a first release that stopped before
    writing its record: exit 0 without any, else 12 naming the release and
    `publisher release vX.Y.Z`, which finishes it (--repair leaves them alone).
    A registry that cannot be reached, or that rate-limits the reads through
    the retries, is listed as a defect and the others are still audited (and
    repaired; --json prints the report all the same), as is one that fails the
    repair's requests through the retries, its writes or the reads of one
    copied from (run the repair again once it answers): exit 7 when nothing else is wrong (6 when one was rate limited),
    12 when a registry that answered has a defect. A registry that refuses a
    repair's write (read-only, an immutable tag, a denied push) is a
    refused-write defect beside what is left on it, the others still audited
    and repaired (exit 12; for an immutable tag the tip says the floating tags
    must be overwritable there). A registry that does not list tags (404 or 405
    on its tag list) is asked for each tag the records imply, with a warning. A registry that names other
    content than it serves (a HEAD or a body altered on the way) is one defect
    too, the others still audited and repaired: exit 8. So is one that refuses
    the reads (401 or 403: the credentials, their scope, a proxy denying them), a
    refused-read defect: exit 4 (8 beside an invalid response). A release
    record a newer publisher wrote (a higher schema than this one reads) is
    left unread and as it is, every other record still audited: it is a
    newer-record defect naming the file and its schema (upgrade publisher to
    audit it), exit 3 whatever else was found; its pins are not judged, nor a
    floating tag it may place (one whose readable release is older than it, or
    of a line no readable record has): one elsewhere than the readable records
    or that release place it is an undecided defect, with no expected digest,
    and --repair moves none of them until it is read. Every other floating tag
    is judged and repaired as usual (latest rolled back below the newest readable
    release is drift). --json prints {"ok", "releases", "findings", "unreachable",
    "rate_limited", "repaired", "unrepairable", "moved", "undecided"}; a failed
    audit adds "error".

    A release is judged by its record: each release is audited (and repaired)
    in the repository its record names for each registry, so after a
    repository move the older releases are checked where they were published
    (said once per registry) and each repository's floating tags follow the
    releases recorded there; a registry a record does not name (added to the
    matrix later) is checked at today's repository.

    \b
    Examples:
      publisher audit
      publisher audit --repair
      publisher audit --notes-dir release-notes --json
    """
    from ..adapters.output import markdown_list
    from ..stages.audit import advice, audit

    if repair:
        state.interrupted_hint = (
            "a repair points a tag only at an index its registry holds complete (copied by "
            "digest first), the pins before the floating tags. A rerun of the same command "
            "audits again and repairs what is left"
        )
    state.check_request_settings()
    cfg = state.load_config(config_path)
    output = state.output
    state.json_only(as_json)
    anonymous: AnonymousClient | None = None if no_anonymous_check else state.clients.anonymous

    locations = options.locations_of(config_path, notes_dir)
    report = audit(
        cfg,
        options.notes_dir_of(cfg, notes_dir),
        state.clients.for_registry,
        output,
        repair=repair,
        anonymous=anonymous,
        locations=locations,
    )
    failure: PublisherError | None = None
    if not report.ok:
        failure = failure_of(report, advice(cfg, report, repaired=repair, locations=locations))
    if as_json:
        print_report(state, report.to_dict(), failure)
    for line in report.repaired:
        output.info(f"repaired: {line}")
    if report.repaired:  # tags moved: the run's page says which, whatever else it found
        output.summary(markdown_list("Repaired", [output.redact(r) for r in report.repaired]))
    if failure is not None:
        raise failure
    if not report.releases:  # a warning said so: nothing is recorded yet
        return
    output.verdict(
        f"audit: {counted(len(report.releases), 'release')} "
        f"{'matches its record' if len(report.releases) == 1 else 'match their records'} "
        "on every registry"
    )


def failure_of(report: AuditReport, hint: str) -> PublisherError:
    """The error an audit that found something ends with (``hint`` its advice): its header
    counts every defect, those said together too (``AuditReport.messages``)."""
    found = report.messages + report.unrepairable
    count = len(report.findings) + len(report.unrepairable)
    if report.only_unanswered:
        failure = unanswered_error(found, rate_limited=bool(report.rate_limited), hint=hint)
    else:
        failure = VerificationError(found, hint=hint, count=count)
    if any(f.kind == NEWER_RECORD for f in report.findings):
        # a newer publisher's record is exit 3 whichever command meets it, said with what
        # the other records' audit found
        return NewerRecordsError(found, hint=hint, count=count)
    if report.invalid:  # a lying registry is exit 8, said with the others' findings
        return InvalidResponseError(failure.message, hint=hint)
    if report.refused_reads:  # one refusing the reads, exit 4 so
        return AuthError(failure.message, hint=hint)
    return failure
