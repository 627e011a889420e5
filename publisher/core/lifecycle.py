"""PHP lines' lifecycle: end of life, and whether the official image still updates.

Pure data and date arithmetic; no I/O. Sources:

* end of active and security support: https://www.php.net/supported-versions.php
  (and https://www.php.net/eol.php for lines past it). Since 2024 every line gets
  two years of active support and two of security support, each ending on 31 December.
* the official Docker image (docker-library/php) stops building a line when it
  leaves security support: PHP 8.1's last build was 8.1.34 (2025-12-19); its tags
  have not been updated since 2026-01-01.

Update the table when php.net announces a new line or changes a date.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .fileio import counted

SOURCE = "https://www.php.net/supported-versions.php"


@dataclass(frozen=True)
class PhpLine:
    php: str
    released: datetime.date
    active_until: datetime.date
    security_until: datetime.date
    #: The day the official image stopped updating this line (None: it still does).
    image_updates_ended: datetime.date | None = None
    #: The last version the official image shipped, when it has stopped.
    last_version: str | None = None


def today() -> datetime.date:
    """The day every lifecycle judgement is made on: today in UTC, as a release's
    ``published_at`` is written, whatever the machine's time zone (``plan``, ``release``
    and ``republish-check`` run at the same moment say the same about a line)."""
    return datetime.datetime.now(datetime.UTC).date()


def _d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


#: The PHP lines whose dates publisher knows, from php.net's supported-versions and eol pages
#: (a matrix may name another line: plans then say its end of life is not checked).
TABLE: dict[str, PhpLine] = {
    line.php: line
    for line in (
        PhpLine("7.4", _d("2019-11-28"), _d("2021-11-28"), _d("2022-11-28")),
        PhpLine("8.0", _d("2020-11-26"), _d("2022-11-26"), _d("2023-11-26")),
        PhpLine(
            "8.1",
            _d("2021-11-25"),
            _d("2023-11-25"),
            _d("2025-12-31"),
            image_updates_ended=_d("2026-01-01"),
            last_version="8.1.34",
        ),
        PhpLine("8.2", _d("2022-12-08"), _d("2024-12-31"), _d("2026-12-31")),
        PhpLine("8.3", _d("2023-11-23"), _d("2025-12-31"), _d("2027-12-31")),
        PhpLine("8.4", _d("2024-11-21"), _d("2026-12-31"), _d("2028-12-31")),
        PhpLine("8.5", _d("2025-11-20"), _d("2027-12-31"), _d("2029-12-31")),
    )
}


@dataclass(frozen=True)
class Status:
    php: str
    end_of_life: bool
    #: The official base image no longer receives updates: rebuilding changes nothing.
    base_frozen: bool
    security_only: bool
    note: str | None


def _order(php: str) -> tuple[int, ...]:
    """A line's place among lines: 8.10 after 8.9."""
    return tuple(map(int, php.split(".")))


def beyond_table(php: str) -> bool:
    """Whether ``php`` is newer than every line of :data:`TABLE` (a line php.net has not
    listed when publisher was written: no official image of it, most likely, yet)."""
    return php not in TABLE and _order(php) > max(map(_order, TABLE))


def _image_ended(line: PhpLine, today: datetime.date) -> bool:
    return line.image_updates_ended is not None and today >= line.image_updates_ended


def frozen_early(php: str, today: datetime.date, *, frozen: bool) -> bool:
    """Whether matrix.yaml's ``frozen: true`` on ``php`` comes before the line's end: php.net
    still supports it on ``today`` (its last day included) and the official image still
    updates it. Such a line is judged as one not marked: its base still moves, and
    republish-check still asks it (README, "PHP lifecycle": mark a line frozen after the
    first weekly run past its end, not before)."""
    line = TABLE.get(php)
    return (
        frozen
        and line is not None
        and today <= line.security_until
        and not _image_ended(line, today)
    )


def status(php: str, today: datetime.date, *, frozen: bool = False) -> Status:
    """Where ``php`` stands on ``today``; ``frozen`` is the matrix's ``frozen: true``,
    which counts from the line's end on (:func:`frozen_early`)."""
    line = TABLE.get(php)
    if line is None:
        return Status(
            php, False, frozen, False, f"PHP {php} is frozen in matrix.yaml" if frozen else None
        )
    frozen = frozen and not frozen_early(php, today, frozen=frozen)
    eol = today > line.security_until
    ended = _image_ended(line, today)
    base_frozen = frozen or ended or eol
    security_only = not eol and today > line.active_until
    parts: list[str] = []
    if eol:
        parts.append(f"PHP {php} reached end of life on {line.security_until} (no security fixes)")
    elif security_only:
        parts.append(f"PHP {php} receives security fixes only, until {line.security_until}")
    if ended:
        last = f" (last: {line.last_version})" if line.last_version else ""
        parts.append(f"the official image stopped updating it on {line.image_updates_ended}{last}")
    elif eol:
        parts.append("the official image no longer updates it")
    if frozen and not ended:  # past its end (frozen_early): said after what php.net says
        parts.append("frozen in matrix.yaml")
    note = "; ".join(parts) + f" — source: {SOURCE}" if parts else None
    return Status(php, eol, base_frozen, security_only, note)


def warning(php: str, today: datetime.date, *, frozen: bool = False) -> str | None:
    """A one-line warning for plans and notes: end of life or a base that never moves."""
    s = status(php, today, frozen=frozen)
    if not (s.end_of_life or s.base_frozen):
        return None
    return s.note


#: What a maintainer changes in matrix.yaml about a line whose base no longer moves but
#: that is not marked frozen (said by plans, releases and republish-check until it is).
UNFROZEN_ADVICE = (
    "mark the line frozen: true in matrix.yaml (its published images stay, and no "
    "republish waits for its base), or drop it"
)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Weekly:
    """When a weekly schedule runs, in UTC: its day (``date.weekday``'s, Monday 0), hour
    and minute."""

    weekday: int
    hour: int
    minute: int

    @property
    def cron(self) -> str:
        """The schedule as a workflow's cron writes it (cron counts Sunday 0)."""
        return f"{self.minute} {self.hour} * * {(self.weekday + 1) % 7}"

    @property
    def words(self) -> str:
        """The schedule in words: ``Mondays 05:17 UTC``."""
        return f"{_WEEKDAYS[self.weekday]}s {self.hour:02}:{self.minute:02} UTC"

    def first_on_or_after(self, day: datetime.date) -> datetime.date:
        """The day of the first run on ``day`` or after it."""
        return day + datetime.timedelta(days=(self.weekday - day.weekday()) % 7)

    def run_on(self, day: datetime.date) -> str:
        """The run of ``day`` in words: ``Monday 2027-01-04 05:17 UTC``."""
        return f"{_WEEKDAYS[day.weekday()]} {day} {self.hour:02}:{self.minute:02} UTC"


#: The weekly republish: republish.yml's schedule (its cron is the one place it is set;
#: tests/unit/test_lifecycle.py holds the two together, and docs/workflows.md's words).
WEEKLY_REPUBLISH = Weekly(weekday=0, hour=5, minute=17)


def _past_end(line: PhpLine) -> datetime.date:
    """The first day ``line``'s base no longer moves: the day after its end of security
    support, or the day the official image stopped updating it, when that came first."""
    after = line.security_until + datetime.timedelta(days=1)
    ended = line.image_updates_ended
    return after if ended is None else min(after, ended)


def _first_run(line: PhpLine) -> datetime.date:
    """:func:`first_weekly_run` of a line of :data:`TABLE`."""
    return WEEKLY_REPUBLISH.first_on_or_after(_past_end(line))


def first_weekly_run(php: str) -> datetime.date | None:
    """The day of the first weekly republish (:data:`WEEKLY_REPUBLISH`) past ``php``'s end,
    which rebuilds it once more if its base moved since the release; None for a line
    :data:`TABLE` lacks."""
    line = TABLE.get(php)
    return None if line is None else _first_run(line)


#: What the first weekly republish past a line's end does, as the advice says it.
_THE_WEEKLY_RUN_DOES = (
    "republish.yml: it rebuilds the line once more if republish-check finds its base moved "
    "since the release"
)


def _after_the_weekly_run(php: str, day: str, today: datetime.date | None = None) -> str:
    """When to mark ``php`` frozen, in the README's order ("PHP lifecycle"): after the first
    weekly republish past its end (``day``: how the sentence names it), named by its day,
    not before; ``today``: with the days left until it."""
    run = _first_run(TABLE[php])
    left = "" if today is None else f" ({_in_days((run - today).days)})"
    return (
        f"once the first weekly republish past {day}, due {WEEKLY_REPUBLISH.run_on(run)}"
        f"{left}, has run ({_THE_WEEKLY_RUN_DOES})"
    )


def _in_days(days: int) -> str:
    """``today``, or ``in N days``."""
    return "today" if days == 0 else f"in {counted(days, 'day')}"


def _rebuilt_past_end(
    php: str, republished: Iterable[tuple[str, Collection[str]]]
) -> datetime.date | None:
    """The newest day of ``republished`` (a release's history: each republish's date and
    the PHP lines it rebuilt) that rebuilt ``php`` past its end; None when none did."""
    end = _past_end(TABLE[php])
    days = (recorded_day(date) for date, lines in republished if php in lines)
    return max((day for day in days if day is not None and day >= end), default=None)


def _when_to_mark(
    php: str,
    today: datetime.date,
    *,
    asked: bool,
    rebuilding: bool,
    republished: Iterable[tuple[str, Collection[str]]],
) -> str:
    """Where a maintainer stands with ``php``, past its end and not marked frozen: what is
    left to wait for before :data:`UNFROZEN_ADVICE`, and that advice."""
    if asked:  # republish-check found its base to be the release's: nothing left to wait for
        return UNFROZEN_ADVICE
    if rebuilding:
        return (
            "this republish rebuilds it past its end, on a base that no longer moves: once it "
            f"has succeeded, {UNFROZEN_ADVICE}"
        )
    rebuilt = _rebuilt_past_end(php, republished)
    if rebuilt is not None:
        return (
            f"a republish rebuilt it on {rebuilt}, past its end, on a base that no longer "
            f"moves: now {UNFROZEN_ADVICE}"
        )
    run = _first_run(TABLE[php])
    if today <= run:
        return f"{_after_the_weekly_run(php, 'its end', today)}, {UNFROZEN_ADVICE}"
    # the schedule may be disabled, or have failed: the day alone does not say it ran
    return (
        f"the first weekly republish past its end was due {WEEKLY_REPUBLISH.run_on(run)} "
        f"({_THE_WEEKLY_RUN_DOES}): if it ran (a schedule may not have: republish.yml's runs "
        "say so, and republish-check whether the line's base is still to be rebuilt), now "
        f"{UNFROZEN_ADVICE}"
    )


def advised(
    php: str,
    today: datetime.date,
    *,
    frozen: bool = False,
    asked: bool = False,
    rebuilding: bool = False,
    republished: Iterable[tuple[str, Collection[str]]] = (),
) -> str | None:
    """:func:`warning`, with :data:`UNFROZEN_ADVICE` before its source when matrix.yaml
    does not mark the line frozen yet: the note says what to do, not only what happened,
    and where the maintainer stands. Until the first weekly republish past the line's end
    (:func:`first_weekly_run`), to wait for it, named by its day; from the day after, to
    mark the line now if it ran. ``republished``: the release's history (each republish's
    date and the PHP lines it rebuilt): one that rebuilt the line past its end leaves nothing
    to wait for. ``rebuilding``: said by a republish that rebuilds the line, to mark it once
    that has succeeded. ``asked``: said by republish-check of a line whose base it found to
    be the one the release holds, where no republish is left to wait for."""
    note = warning(php, today, frozen=frozen)
    if note is None or frozen:
        return note
    source = f" — source: {SOURCE}"
    head = note.removesuffix(source)
    when = _when_to_mark(php, today, asked=asked, rebuilding=rebuilding, republished=republished)
    return f"{head}: {when}{source}"


def frozen_too_early(php: str, today: datetime.date, *, frozen: bool) -> str | None:
    """The warning about matrix.yaml's ``frozen: true`` on ``php`` before the line's end
    (:func:`frozen_early`), in the README's words; None otherwise."""
    if not frozen_early(php, today, frozen=frozen):
        return None
    line = TABLE[php]
    left = _days_left(line, today)
    when = "" if left is None else f" ({_in_days(left)})"
    return (
        f"PHP {php} is marked frozen: true in matrix.yaml before its end: php.net supports it "
        f"until {line.security_until}{when}, and the official image updates it until then, so "
        "it is judged as a line that still updates (republish-check asks its base, and a "
        "republish rebuilds it when that moved); mark a line frozen: true after the first "
        f"weekly republish past its end ({WEEKLY_REPUBLISH.run_on(_first_run(line))}) has run, "
        f"not before: remove frozen: true from it until then — source: {SOURCE}"
    )


#: How long before a line's end of security support plans and releases say it is coming.
NOTICE_DAYS = 90


def _days_left(line: PhpLine, day: datetime.date) -> int | None:
    """Days from ``day`` to the end of ``line``'s security support, when that is at most
    :data:`NOTICE_DAYS` away (0: it ends that day); None when further, or already past."""
    left = (line.security_until - day).days
    return left if 0 <= left <= NOTICE_DAYS else None


def ending_soon(php: str, today: datetime.date, *, frozen: bool = False) -> str | None:
    """A one-line notice when ``php`` leaves security support within :data:`NOTICE_DAYS`
    (and its base still moves): what happens then, and what to change in matrix.yaml."""
    line = TABLE.get(php)
    if line is None or status(php, today, frozen=frozen).base_frozen:
        return None
    left = _days_left(line, today)
    if left is None:
        return None
    when = _in_days(left)
    return (
        f"PHP {php}'s security support ends on {line.security_until} ({when}), and the "
        "official image stops updating it after that day: then, "
        f"{_after_the_weekly_run(php, 'that day')}, mark the line frozen: true in "
        f"matrix.yaml, or drop it — source: {SOURCE}"
    )


def ending_notice(
    php: str,
    today: datetime.date,
    *,
    frozen: bool = False,
    default_line: str | None = None,
    lines: Iterable[tuple[str, bool]] = (),
) -> str | None:
    """:func:`ending_soon`; when ``php`` is ``default_line`` (which ``latest`` follows),
    first hand ``latest`` to a line of ``lines`` (``(php, frozen)``) that still updates
    after that day. What ``plan`` warns and ``republish-check`` notes about a line."""
    soon = ending_soon(php, today, frozen=frozen)
    if soon is None or php != default_line:
        return soon
    # neither frozen (latest stops) nor dropped (matrix.yaml would not load) until
    # default_line names another
    return _default_line_ending(soon, TABLE[php], list(lines), today)


@dataclass(frozen=True)
class Written:
    """The day a release's notes and pins file judge its lines on: the day they were last
    written, by the release or by its newest republish (``event``)."""

    day: datetime.date
    event: str  # "release" or "republish"

    @property
    def verb(self) -> str:
        """What was done to the release that day: ``published`` or ``republished``."""
        return "republished" if self.event == "republish" else "published"


#: A day as records write it, ``YYYY-MM-DD``, at the start of a date or a timestamp: the one
#: spelling taken from a record (``date.fromisoformat`` would also take ``20270105`` or a week
#: date, ``2027-W01-1``, from a hand-edited history).
_RECORDED_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])")


def recorded_day(text: str) -> datetime.date | None:
    """The day ``text`` (a record's date or timestamp) starts with, or None when it does not
    start with one written ``YYYY-MM-DD`` that exists."""
    match = _RECORDED_DAY.match(text)
    if match is None:
        return None
    try:
        return _d(match.group())
    except ValueError:  # 2027-02-30
        return None


def written(published_at: str, republished: Iterable[str] = ()) -> Written | None:
    """:class:`Written` from a record's ``published_at`` and its republish history's dates:
    a republish rewrites the notes, which then speak of its day, not of the publishing day
    (a line may have reached its end between the two). None when ``published_at`` is not a
    date; a history date that is not one (:func:`recorded_day`) is passed over."""
    published = recorded_day(published_at)
    if published is None:
        return None
    days = [day for day in map(recorded_day, republished) if day is not None]
    newest = max(days, default=None)
    if newest is None or newest < published:
        return Written(published, "release")
    return Written(newest, "republish")


def support(php: str, day: datetime.date, *, event: str = "release") -> str | None:
    """A release notes' line: the support ``php`` has on ``day`` (the day the notes were
    written, by the ``event``: the release or its newest republish) and until when, marked
    when it ends within :data:`NOTICE_DAYS`; for a line :data:`TABLE` lacks, that its dates
    are not there; None when the line is past its end (:func:`warning` says that)."""
    line = TABLE.get(php)
    if line is None:
        return (
            f"PHP {php} support: its dates are not in publisher's table of PHP lines "
            f"(publisher/core/lifecycle.py), so they are not given here — source: {SOURCE}"
        )
    if day > line.security_until:
        return None
    if day <= line.active_until:
        text = f"active until {line.active_until}, security fixes until {line.security_until}"
    else:
        text = f"security fixes only, until {line.security_until}"
    left = _days_left(line, day)
    if left is None:
        return f"PHP {php} support: {text} — source: {SOURCE}"
    when = f"the day of this {event}" if left == 0 else f"{counted(left, 'day')} after this {event}"
    return f"⚠ PHP {php} support: {text} ({when}) — source: {SOURCE}"


def matrix_warnings(
    lines: Iterable[tuple[str, bool]],
    default_line: str,
    today: datetime.date,
    *,
    upcoming: tuple[str, Iterable[tuple[str, bool]]] | None = None,
    matrix: Iterable[tuple[str, bool]] | None = None,
    republished: Iterable[tuple[str, Collection[str]]] = (),
    rebuilding: bool = False,
) -> list[str]:
    """What ``publisher plan`` and ``release`` warn about a matrix's ``(php, frozen)`` lines
    on ``today``: lines past their end or with a base that no longer moves, lines leaving
    security support within :data:`NOTICE_DAYS`, and a default line (which ``latest``
    follows) whose base no longer moves.

    ``upcoming``: when ``lines`` and ``default_line`` are a published release's, which
    keeps them, the default line and ``(php, frozen)`` lines of the next release (today's
    matrix.yaml): what to change about a default line is then the next release's, and
    nothing is said when that one still updates.

    ``matrix``: the ``(php, frozen)`` lines of matrix.yaml, when ``--only`` or the
    environment narrowed ``lines`` to fewer: the lines still updating that the advice
    about a default line names are matrix.yaml's, not only the selected ones.

    ``republished`` and ``rebuilding``: where a line past its end stands (:func:`advised`):
    the history of the published release ``lines`` are, and whether a republish of it
    rebuilds ``lines`` now. The advice about the default line comes after every line's."""
    lines = list(lines)
    offered = lines if matrix is None else list(matrix)
    republished = list(republished)
    found: list[str] = []
    last: list[str] = []
    for php, frozen in lines:
        if php not in TABLE:
            found.append(
                f"PHP {php} is not in publisher's table of PHP lines ({', '.join(TABLE)}; "
                f"publisher/core/lifecycle.py): its end of life is not checked"
                + ("; add it there when php.net lists it" if beyond_table(php) else "")
                + f" — source: {SOURCE}"
            )
            continue
        early = frozen_too_early(php, today, frozen=frozen)
        if early:
            found.append(early)
        past = advised(php, today, frozen=frozen, rebuilding=rebuilding, republished=republished)
        soon = ending_notice(
            php,
            today,
            frozen=frozen,
            default_line=default_line if upcoming is None or upcoming[0] == php else None,
            lines=offered if upcoming is None else upcoming[1],
        )
        found += [text for text in (past, soon) if text]
        if past and php == default_line:
            if upcoming is None:
                last.append(_default_line_advice(php, offered, today))
                continue
            following, next_lines = upcoming[0], list(upcoming[1])
            marked = dict(next_lines).get(following, False)
            if status(following, today, frozen=marked).base_frozen:
                last.append(_default_line_advice(following, next_lines, today, kept=php))
    return found + last


def _default_line_ending(
    notice: str, line: PhpLine, lines: list[tuple[str, bool]], today: datetime.date
) -> str:
    """:func:`ending_soon`'s ``notice`` about the default line: first hand ``latest`` to a
    line of ``lines`` that still updates after ``line``'s end, by name, newest first."""
    after = line.security_until + datetime.timedelta(days=1)
    offer = _offered([(php, frozen) for php, frozen in lines if php != line.php], after, today)
    head = notice.removesuffix(f" — source: {SOURCE}")
    first = (
        f"first set default_line in matrix.yaml to a line that still updates after that day "
        f"({offer})"
        if offer
        else "first add a line php.net supports longer to matrix.yaml, and make it default_line"
    )
    return (
        f"{head}; it is the default line, which latest and each release's vX.Y.Z follow: "
        f"{first} — source: {SOURCE}"
    )


def _default_line_advice(
    default_line: str,
    lines: list[tuple[str, bool]],
    today: datetime.date,
    *,
    kept: str | None = None,
) -> str:
    """What to change when ``latest`` follows a default line whose base no longer moves:
    the lines judged with it that still do, by name, newest first; when none does (every
    line past its end), that one must be added first. ``kept``: the default line of a
    published release, which keeps it; ``default_line`` and ``lines`` are then the next
    release's (matrix.yaml's), the only ones a change can reach."""
    offer = _offered(lines, today, today)
    if kept is None:
        head = (
            f"latest and each release's vX.Y.Z follow the default line {default_line}, whose "
            "base no longer updates: set default_line in matrix.yaml to a line that still does"
        )
    else:
        head = (
            f"a published release keeps its default line, here {kept}, whose base no longer "
            "updates; "
            + (
                f"matrix.yaml's default_line, which the next release takes, is {kept} too"
                if default_line == kept
                else f"matrix.yaml's default_line {default_line}, which the next release "
                "takes, no longer updates either"
            )
            + ": for the next release, set default_line in matrix.yaml to a line that still does"
        )
    if offer:
        return f"{head} ({offer}) — source: {SOURCE}"
    return (
        f"{head}; none of these lines does: add a line php.net still supports to matrix.yaml "
        "(and to publisher/core/lifecycle.py when publisher does not know it yet), render and "
        f"commit its Dockerfile, and make it default_line — source: {SOURCE}"
    )


def _offered(lines: list[tuple[str, bool]], on: datetime.date, today: datetime.date) -> str | None:
    """The ``(php, frozen)`` lines of ``lines`` a default line may be handed to, as advice
    names them: those :data:`TABLE` knows to still update on ``on``, newest first, then any
    of them whose security support ends within :data:`NOTICE_DAYS` of ``today``, said so;
    lines the table lacks come last, apart: whether they update is not known (a line newer
    than the table may have no official image yet), so none is offered first. None when the
    table knows none that still updates."""
    known = sorted(
        (
            php
            for php, frozen in lines
            if php in TABLE and not status(php, on, frozen=frozen).base_frozen
        ),
        key=_order,
        reverse=True,
    )
    if not known:
        return None
    lasting = [php for php in known if _days_left(TABLE[php], today) is None]
    said = [", ".join(lasting)] if lasting else []
    for php in known:
        left = _days_left(TABLE[php], today)
        if left is not None:
            when = _in_days(left)
            said.append(
                f"{php}{' too' if lasting else ''}, though its security support ends on "
                f"{TABLE[php].security_until} ({when})"
            )
    unknown = sorted((php for php, _ in lines if php not in TABLE), key=_order, reverse=True)
    if unknown:
        said.append(
            f"not {', '.join(unknown)}, which publisher's table of PHP lines does not know "
            f"(whether {'it still updates' if len(unknown) == 1 else 'they still update'} is "
            "not checked)"
        )
    return "; ".join(said)
