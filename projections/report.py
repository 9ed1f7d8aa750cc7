"""The desk report (docs/reports.md): volume, backlog, SLA adherence, MTTA, MTTR, FCR and friends.

:func:`compute_report` is a pure function — standard library only (plus the engine's
stdlib-only vocabulary and error tree), no I/O, no clock — over the facts the tickets view
keeps (:class:`ReportTicket`, :class:`ReportTimer`), already taken as of the report's instant
*T* (``as_of``). This docstring defines every figure precisely; where a definition could be read
two ways the
choice is marked *(decided)*, and ``tests/test_report.py`` pins each one.

:func:`compute_report` is the reference definition. The read side computes the same figures
with SQL aggregates in the view store (:mod:`projections.report_sql`); both end in this
module's public helpers (:func:`period_json`, :func:`mean_seconds`, :func:`median_seconds`,
:func:`ratio`, :func:`resolution_rates`, :func:`sla_entry`, :func:`top_entries`), so they
give the same bytes, and ``tests/test_report_sql.py`` checks they agree on random histories.

Parameters
    The period is ``[period_from, period_to)`` (start included, end excluded) and T is
    ``as_of``. All three must be aware datetimes; a naive one raises
    :class:`~engine.errors.CommandValidationError` naming it *(decided: an instant without
    offset is ambiguous)*. ``period_from`` after ``period_to`` raises too; equal bounds are an
    empty period. The period may end after T (nothing opened after T is known at T).
    ``group``, when given, keeps only tickets whose ``assignment_group`` as of T equals it
    exactly (case-sensitive); their timers follow them. A ticket without a group matches no
    ``group`` value, ``"(none)"`` included *(decided: the figure filters on the group's value)*.

Populations, as of T
    A ticket exists at T when ``opened_at <= T``. The view hands in as-of rows, but the report
    also ignores any instant after T on its own *(decided, defensive)*: a ticket opened after
    T is in no population, a ``responded_at`` after T is no response, a ``resolved_at`` after T
    is no resolution.

    - **opened**: ``opened_at`` in the period, whatever the ticket's state now (a canceled
      ticket was opened and counts as such).
    - **resolved**: state ``resolved`` or ``closed`` and ``resolved_at`` (the last resolution)
      in the period. A ticket reopened and not resolved again is not resolved; a canceled one
      never is. It need not have been opened in the period.
    - **open**: state ``new``, ``in_progress`` or ``on_hold``, whatever the period (a ticket
      opened after ``period_to`` but by T is in the backlog).

Figures (the JSON keys, in this order)
    ``period``
        ``{"from", "to", "as_of", "group"}``: the instants as ISO-8601 in UTC (``+00:00``)
        *(decided: the same offset as the UTC dates of* ``opened_by_day`` *, and the same
        instants give the same report whatever offset the caller typed)*; ``group`` or null.
    ``volume``
        ``opened`` and ``resolved`` (counts); ``opened_by_day`` (UTC date ``YYYY-MM-DD`` of
        ``opened_at``), ``opened_by_priority`` (``"1"`` … ``"5"``), ``opened_by_channel``,
        ``opened_by_category``: counts over opened tickets, keys with a zero count left out.
        No value (``None`` or ``""``) counts under ``"(none)"``, for the channel as for the
        category *(decided: the definition names the category only, but the channel is optional at
        opening and in imports)*.
    ``backlog``
        ``open`` (count) and ``aging``: the open tickets by T - ``opened_at`` (the first
        opening; a reopen does not reset age), always all five keys ``"<1d"`` [0, 1 day),
        ``"1-3d"`` [1, 3), ``"3-7d"`` [3, 7), ``"7-30d"`` [7, 30), ``">30d"`` [30, ∞): each
        bucket holds its lower bound, so exactly 1 day is ``"1-3d"`` and exactly 30 days is
        ``">30d"``. A day is 86 400 wall-clock seconds.
    ``sla``
        Per SLA name, over the timers of opened tickets: ``achieved``, ``breached``,
        ``running`` (stage ``in_progress`` or ``paused``) and ``adherence`` = achieved ÷
        (achieved + breached), null when both are 0. Canceled timers (the engine spells the
        stage ``canceled``; older stores wrote ``cancelled``) and any other stage are not counted.
        A name appears when at least one of its timers is counted *(decided: a name whose
        timers were all canceled, e.g. re-targeted away by a priority change, has nothing to
        say — like a zero count in* ``volume`` *)*.
    ``mtta_seconds``
        ``{"mean", "median"}`` of ``responded_at`` - ``opened_at`` over opened tickets with a
        ``responded_at`` at or before T (whatever their state now: a ticket put in progress
        and later canceled did respond; one canceled from ``new`` did not). Nulls when none.
    ``mttr_seconds``
        ``{"mean", "median"}`` of ``resolved_at`` - ``opened_at`` over resolved tickets: wall
        clock, so time on hold, nights, and time spent resolved before a reopen all count
        (business time belongs to the SLA timers). Nulls when none.
    ``fcr_rate``, ``reopen_rate``, ``reassignment_rate``, ``mean_reassignments``
        Over resolved tickets, null when there are none. First-contact resolution: no
        reassignment, no escalation (functional or hierarchical), never on hold, never
        reopened. ``reopen_rate``: ``reopen_count`` ≥ 1. ``reassignment_rate``:
        ``reassignment_count`` ≥ 1. ``mean_reassignments``: mean ``reassignment_count``.
    ``by_group``, ``by_assignee``
        Over resolved tickets, keyed by the group / assignee at the last resolution
        (``"(none)"`` when empty): ``{"resolved": count, "median_resolve_seconds": median of
        resolved_at - opened_at}``. Because the filter uses the group as of T and ``by_group``
        the group at resolution, a filtered report can list another group here.
    ``top_categories``
        ``{"escalations": [[category, n], …], "reassignments": [[category, n], …]}`` over
        opened tickets: ``n`` is the sum of ``escalation_count`` (a ticket escalated twice
        counts 2) / of ``reassignment_count`` per category, category without value as
        ``"(none)"``; largest ``n`` first, ties by category name in code-point order (so
        ``"(none)"`` sorts before letters, and upper case before lower), at most 5 entries,
        categories with ``n`` = 0 left out.

Numbers
    Counts are ints. Durations are floats of wall-clock seconds: summed exactly in integer
    microseconds and turned into seconds by one correctly rounded division, so each mean and
    median is the float nearest its exact value, no order of the input changes it, and nothing
    is rounded further (rendering rounds). Medians of an even count are the mean of the two
    middle values. Rates and ``adherence`` are floats in [0, 1], not rounded.

Maps (decided)
    Keys in ascending order: dates chronologically, priorities 1 to 5, names (channels,
    categories, SLAs, groups, assignees) in code-point order — stable, diff-friendly output;
    a renderer may re-sort by count.

Empty store (or empty populations)
    Every key is present: counts 0, maps ``{}``, ``aging`` with five zeros, ``top_categories``
    with two empty lists, and every mean, median, rate and ``adherence`` null.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.errors import CommandValidationError
from engine.vocabulary import SlaStage, TicketState

NO_VALUE = "(none)"
TOP_CATEGORIES = 5
AGING_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    # (key, lower bound included); each bucket runs up to the next one's lower bound
    ("<1d", timedelta(0)),
    ("1-3d", timedelta(days=1)),
    ("3-7d", timedelta(days=3)),
    ("7-30d", timedelta(days=7)),
    (">30d", timedelta(days=30)),
)
_OPEN_STATES = frozenset({TicketState.NEW, TicketState.IN_PROGRESS, TicketState.ON_HOLD})
_RESOLVED_STATES = frozenset({TicketState.RESOLVED, TicketState.CLOSED})
_RUNNING_STAGES = frozenset({SlaStage.IN_PROGRESS, SlaStage.PAUSED})
_MICROSECOND = timedelta(microseconds=1)
_MICROS_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class ReportTicket:
    """One ticket as of the report's instant T (the row of its last event at or before T)."""

    ref: str
    state: str  # new, in_progress, on_hold, resolved, closed, canceled
    priority: int  # 1..5
    channel: str | None
    category: str | None
    assignment_group: str | None  # the group as of T
    opened_at: datetime
    responded_at: datetime | None  # first left new for in_progress, on_hold or resolved
    resolved_at: datetime | None  # the last resolution; None when not resolved/closed
    reassignment_count: int
    reopen_count: int
    escalation_count: int  # functional and hierarchical
    hold_count: int  # how many times it was put on hold
    resolved_group: str | None  # the group at the last resolution
    resolved_assignee: str | None  # the assignee at the last resolution


@dataclass(frozen=True)
class ReportTimer:
    """One SLA timer of a ticket, its stage as of T (canceled timers included)."""

    ref: str
    name: str
    stage: str  # in_progress, paused, achieved, breached, canceled


def compute_report(
    tickets: list[ReportTicket],
    timers: list[ReportTimer],
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    group: str | None = None,
) -> dict[str, object]:
    """The §10 report JSON for the period [period_from, period_to) as of ``as_of``.

    Raises :class:`~engine.errors.CommandValidationError` for a naive instant or a period that
    runs backwards. Every figure is defined in this module's docstring.
    """
    check_parameters(period_from, period_to, as_of)
    existing = [
        ticket
        for ticket in tickets
        if ticket.opened_at <= as_of and (group is None or ticket.assignment_group == group)
    ]
    opened = [t for t in existing if period_from <= t.opened_at < period_to]
    resolved = [  # each resolved ticket with its resolved_at - opened_at
        (t, _micros(t.resolved_at - t.opened_at))
        for t in existing
        if t.state in _RESOLVED_STATES
        and t.resolved_at is not None
        and period_from <= t.resolved_at < period_to
        and t.resolved_at <= as_of
    ]
    backlog = [t for t in existing if t.state in _OPEN_STATES]
    opened_refs = {t.ref for t in opened}
    return {
        "period": period_json(period_from, period_to, as_of, group),
        "volume": _volume(opened, resolved_count=len(resolved)),
        "backlog": {"open": len(backlog), "aging": _aging(backlog, as_of)},
        "sla": _sla(timer for timer in timers if timer.ref in opened_refs),
        "mtta_seconds": _mean_median(_response_micros(opened, as_of)),
        "mttr_seconds": _mean_median([micros for _, micros in resolved]),
        **_resolution_rates([ticket for ticket, _ in resolved]),
        "by_group": _by_owner(resolved, lambda t: t.resolved_group),
        "by_assignee": _by_owner(resolved, lambda t: t.resolved_assignee),
        "top_categories": {
            "escalations": _top_categories(opened, lambda t: t.escalation_count),
            "reassignments": _top_categories(opened, lambda t: t.reassignment_count),
        },
    }


def check_parameters(period_from: datetime, period_to: datetime, as_of: datetime) -> None:
    """Raise :class:`~engine.errors.CommandValidationError` for a naive instant or a period
    that runs backwards (any way of computing the report checks the same)."""
    for field, instant in (("from", period_from), ("to", period_to), ("as_of", as_of)):
        if instant.utcoffset() is None:
            raise CommandValidationError(
                field, f"{instant.isoformat()} has no UTC offset; give one, e.g. +00:00"
            )
    if period_from > period_to:
        raise CommandValidationError(
            "from",
            f"{_iso(period_from)} is after to ({_iso(period_to)}); the period [from, to) "
            "must not run backwards",
        )


def period_json(
    period_from: datetime, period_to: datetime, as_of: datetime, group: str | None
) -> dict[str, str | None]:
    """The ``period`` figure: the instants in UTC, and the group or None."""
    return {"from": _iso(period_from), "to": _iso(period_to), "as_of": _iso(as_of), "group": group}


def _volume(opened: list[ReportTicket], *, resolved_count: int) -> dict[str, object]:
    by_priority = Counter(t.priority for t in opened)
    return {
        "opened": len(opened),
        "resolved": resolved_count,
        "opened_by_day": _sorted_counts(
            t.opened_at.astimezone(UTC).date().isoformat() for t in opened
        ),
        "opened_by_priority": {str(p): by_priority[p] for p in sorted(by_priority)},
        "opened_by_channel": _sorted_counts(_name(t.channel) for t in opened),
        "opened_by_category": _sorted_counts(_name(t.category) for t in opened),
    }


def _aging(backlog: list[ReportTicket], as_of: datetime) -> dict[str, int]:
    aging = dict.fromkeys((key for key, _ in AGING_BUCKETS), 0)
    for ticket in backlog:
        age = as_of - ticket.opened_at
        bucket = next(key for key, lower in reversed(AGING_BUCKETS) if age >= lower)
        aging[bucket] += 1
    return aging


def _sla(timers: Iterable[ReportTimer]) -> dict[str, dict[str, int | float | None]]:
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for timer in timers:
        if timer.stage in {SlaStage.ACHIEVED, SlaStage.BREACHED}:
            counts[timer.name][timer.stage] += 1
        elif timer.stage in _RUNNING_STAGES:
            counts[timer.name]["running"] += 1
    return {
        name: sla_entry(stages[SlaStage.ACHIEVED], stages[SlaStage.BREACHED], stages["running"])
        for name, stages in sorted(counts.items())
    }


def sla_entry(achieved: int, breached: int, running: int) -> dict[str, int | float | None]:
    """One SLA name's figures from its counted timers."""
    return {
        "achieved": achieved,
        "breached": breached,
        "running": running,
        "adherence": ratio(achieved, achieved + breached),
    }


def _response_micros(opened: list[ReportTicket], as_of: datetime) -> list[int]:
    return [
        _micros(t.responded_at - t.opened_at)
        for t in opened
        if t.responded_at is not None and t.responded_at <= as_of
    ]


def _resolution_rates(resolved: list[ReportTicket]) -> dict[str, float | None]:
    return resolution_rates(
        count=len(resolved),
        first_contact=sum(
            t.reassignment_count == 0
            and t.escalation_count == 0
            and t.hold_count == 0
            and t.reopen_count == 0
            for t in resolved
        ),
        reopened=sum(t.reopen_count >= 1 for t in resolved),
        reassigned=sum(t.reassignment_count >= 1 for t in resolved),
        reassignments=sum(t.reassignment_count for t in resolved),
    )


def resolution_rates(
    *, count: int, first_contact: int, reopened: int, reassigned: int, reassignments: int
) -> dict[str, float | None]:
    """The four rates over ``count`` resolved tickets, from how many of them were resolved
    at first contact, reopened, reassigned, and their reassignments in all."""
    return {
        "fcr_rate": ratio(first_contact, count),
        "reopen_rate": ratio(reopened, count),
        "reassignment_rate": ratio(reassigned, count),
        "mean_reassignments": ratio(reassignments, count),
    }


def _by_owner(
    resolved: list[tuple[ReportTicket, int]], owner: Callable[[ReportTicket], str | None]
) -> dict[str, dict[str, int | float | None]]:
    durations: defaultdict[str, list[int]] = defaultdict(list)
    for ticket, micros in resolved:
        durations[_name(owner(ticket))].append(micros)
    return {
        key: {"resolved": len(micros), "median_resolve_seconds": median_of(micros)}
        for key, micros in sorted(durations.items())
    }


def _top_categories(
    opened: list[ReportTicket], amount: Callable[[ReportTicket], int]
) -> list[list[str | int]]:
    totals: Counter[str] = Counter()
    for ticket in opened:
        totals[_name(ticket.category)] += amount(ticket)
    return top_entries(totals)


def top_entries(totals: Mapping[str, int]) -> list[list[str | int]]:
    """The ``top_categories`` list of per-category totals: largest first, ties by name,
    at most five, zeros left out."""
    ranked = sorted(((name, n) for name, n in totals.items() if n > 0), key=_by_n_then_name)
    return [[name, n] for name, n in ranked[:TOP_CATEGORIES]]


def _by_n_then_name(item: tuple[str, int]) -> tuple[int, str]:
    name, n = item
    return -n, name


def _mean_median(micros: list[int]) -> dict[str, float | None]:
    return {"mean": mean_seconds(sum(micros), len(micros)), "median": median_of(micros)}


def mean_seconds(total_micros: int, count: int) -> float | None:
    """The mean of ``count`` durations summing to ``total_micros``, in seconds: one
    correctly rounded division of the exact sum (None when there are none)."""
    return total_micros / (count * _MICROS_PER_SECOND) if count else None


def median_of(micros: list[int]) -> float | None:
    """The median of durations in microseconds, in seconds (None when there are none)."""
    ordered = sorted(micros)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return median_seconds(ordered[middle : middle + 1])
    return median_seconds(ordered[middle - 1 : middle + 1])


def median_seconds(middle: Sequence[int]) -> float | None:
    """The median in seconds from the middle of the ordered durations: the middle value of
    an odd count, the two middle values of an even one (nothing: None)."""
    if not middle:
        return None
    if len(middle) == 1:
        return middle[0] / _MICROS_PER_SECOND
    lower, upper = middle
    return (lower + upper) / (2 * _MICROS_PER_SECOND)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` as a float, None when ``whole`` is 0."""
    return part / whole if whole else None


def _micros(duration: timedelta) -> int:
    return duration // _MICROSECOND


def _name(value: str | None) -> str:
    return value or NO_VALUE


def _sorted_counts(keys: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(keys).items()))


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()
