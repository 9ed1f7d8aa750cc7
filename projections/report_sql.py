"""The desk report computed where the rows are: SQL aggregates over the tickets view.

:func:`projections.report.compute_report` defines every figure over ticket and timer objects;
building those for a hundred thousand tickets costs seconds. This module asks the view store
for the same figures as counts, sums and GROUP BYs instead — a few hundred rows, whatever the
store's size — and hands them to the same helpers of :mod:`projections.report` for their final
form. The statements are written once for SQLite and PostgreSQL and read ``{tickets}`` and
``{sla_timers}``: the current rows, or, for a report as of an earlier instant, the rows valid
then (:meth:`projections.reading.TicketReads.reading` swaps the source).

What keeps the numbers exactly those of the reference:

- the populations are compute_report's conditions on the same integer-microsecond columns
  (a ticket exists when ``opened_at <= :as_of``, a response or resolution after T did not
  happen, a name without value is ``"(none)"`` whether NULL or empty);
- a mean is an exact integer sum divided once: SQL sums whole seconds and leftover
  microseconds separately (neither can overflow a BIGINT, and ``d = d / 10⁶ · 10⁶ + d % 10⁶``
  holds in both backends, whose integer division truncates), Python adds them;
- a median is taken from the middle one or two values of the ordered durations, never
  averaged in SQL: knowing how many durations there are, the database returns the middle two
  (``ORDER BY ... LIMIT 2 OFFSET (n - 1) / 2``), or (rows as of an earlier instant) every
  resolution time comes back and Python sorts them;
- ``opened_by_day`` groups by the floor of ``opened_at`` over a day of microseconds (also
  before 1970), turned into the UTC date in Python;
- keys are sorted in Python (code points), not by a database collation.

What keeps it fast over the current rows (:data:`projections.sql.TICKET_TABLES` has the
report's indexes): no statement reads the tickets table itself, and none but the backlog's
ages sorts its population.

- A population is read from an index that holds every column the statement needs, in the
  order it groups or sorts by: the opened tickets by category, channel and priority in one
  pass (Python adds up each volume figure and the top categories), the resolved ones by
  group (Python adds up the rates and the mean). ``+column`` (``column || ''`` for text)
  keeps SQLite, which has no statistics, from reading a range of instants of another index
  and sorting it instead; the resolved state is tested as ``state || ''`` for the same
  reason, and the partial indexes are built on that very condition.
- A middle value is reached by stepping over the index entries before it (``LIMIT 2
  OFFSET``), once the count is known: the response and resolution times overall, and the
  resolution times of each group and assignee (their own indexes, by name then time).
- Counts by day and by SLA name and stage are ranges of an index, counted one by one (the
  days between the first and last opening of the period; each name, found after the one
  before in the index, with each counted stage); timer rows carry their ticket's opening for
  this. A filtered report counts them in one pass and a sort instead: the indexes do not
  hold the group. Its timers are found by their tickets: the group's, from the index on the
  group, those opened in the period.

The rows valid at an earlier instant (temporary tables without indexes, holding only the
columns the statements name) are read in one scan per statement; there the resolution times
come back as one narrow row per resolved ticket and Python sorts them: cheaper than a sort in
the database per group and assignee.

One module, past 500 lines: the statements and the code that adds their rows up into the
figures are one definition, each half meaningless without the other.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from engine.vocabulary import SlaStage, TicketState
from projections.columns import to_us
from projections.reading import Query, TicketReads
from projections.report import (
    AGING_BUCKETS,
    NO_VALUE,
    check_parameters,
    mean_seconds,
    median_of,
    median_seconds,
    period_json,
    resolution_rates,
    sla_entry,
    top_entries,
)
from projections.sql import (
    ANSWERED,
    RESOLVE_US,
    RESOLVED,
    RESPONSE_US,
    TICKET_ROW,
    TIMER_ROW,
    report_name,
)

_DAY_US = 86_400_000_000
_SECOND_US = 1_000_000
_EPOCH_DATE = date(1970, 1, 1)
_OPEN = (TicketState.NEW, TicketState.IN_PROGRESS, TicketState.ON_HOLD)
_COUNTED = frozenset({SlaStage.ACHIEVED, SlaStage.BREACHED})
_RUNNING = frozenset({SlaStage.IN_PROGRESS, SlaStage.PAUSED})
_Key = TypeVar("_Key", str, int)
#: At most this many days (ten years) are counted one by one (see :func:`_by_day`).
_RANGED_DAYS = 3660
#: Groups or assignees whose middle resolution times one statement asks for.
_OWNERS_PER_STATEMENT = 100


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _seconds_and_micros(duration: str) -> str:
    """The exact sum of ``duration`` as two sums that cannot overflow: whole seconds and
    leftover microseconds."""
    return f"SUM({duration} / {_SECOND_US}) AS seconds, SUM({duration} % {_SECOND_US}) AS micros"


def _day(instant: str) -> str:
    """The day (since 1970-01-01, also before) of ``instant`` microseconds."""
    return (
        f"CASE WHEN {instant} >= 0 THEN {instant} / {_DAY_US} "
        f"ELSE ({instant} + 1) / {_DAY_US} - 1 END"
    )


_DAY = _day("t.opened_at")
_AGING = (
    "CASE "
    + " ".join(
        f"WHEN :as_of - t.opened_at >= {lower // timedelta(microseconds=1)} THEN {index}"
        for index, (_, lower) in reversed(list(enumerate(AGING_BUCKETS)))
        if index
    )
    + " ELSE 0 END"
)
_RESPONDED = f"t.{ANSWERED} AND t.responded_at <= :as_of"
_STAGES = " UNION ALL ".join(f"SELECT '{stage}'" for stage in sorted(_COUNTED | _RUNNING))
_timers_in_range = (
    "SELECT COUNT(*) FROM {sla_timers} s WHERE s.name = names.name "
    "AND s.stage = stages.stage AND s.opened_at >= :start AND s.opened_at < :until"
)
_GROUP = report_name("t.resolved_group")
_ASSIGNEE = report_name("t.resolved_assignee")
_FIRST_CONTACT = (
    "t.reassignment_count = 0 AND t.escalation_count = 0 AND t.hold_count = 0 "
    "AND t.reopen_count = 0"
)


@dataclass(frozen=True)
class Populations:
    """The conditions on a ticket ``t`` of the report's populations (docs/reports.md).

    ``:until`` is the end of the period or just after T, whichever comes first: an instant
    in ``[:start, :until)`` lies in the period and not after T."""

    exists: str
    opened: str
    resolved: str

    @classmethod
    def of(cls, *, grouped: bool, ranged: bool) -> Populations:
        """``grouped``: only tickets whose group as of T is ``:group``. ``ranged``: the
        instants in a form the index on them serves (a statement that reads a narrow range
        of instants, then sorts), or not (one that reads a report index in its order)."""

        def column(name: str) -> str:
            return name if ranged else f"+{name}"

        exists = f"{column('t.opened_at')} <= :as_of"
        if grouped:  # text: ``|| ''`` where a number takes ``+``
            group = "t.assignment_group" if ranged else "t.assignment_group || ''"
            exists += f" AND {group} = :group"
        opened_at, resolved_at = column("t.opened_at"), column("t.resolved_at")
        return cls(
            exists=exists,
            opened=(
                f"{opened_at} >= :start AND {opened_at} < :until"
                + (f" AND {group} = :group" if grouped else "")
            ),
            resolved=(
                f"{exists} AND t.{RESOLVED} AND {resolved_at} >= :start AND {resolved_at} < :until"
            ),
        )


def statements(*, grouped: bool, indexed: bool = True) -> dict[str, str]:
    """The report's statements by name. Parameters: ``:start``, ``:end``, ``:as_of``
    (microseconds), ``:group`` when ``grouped``; ``:skip`` for a middle (how many values
    come before it). ``indexed``: over the current rows (with their indexes), or not."""
    ranged = Populations.of(grouped=grouped, ranged=True)
    scan = Populations.of(grouped=grouped, ranged=False)
    timers = "+s.opened_at >= :start AND +s.opened_at < :until"
    if grouped:
        timers += " AND s.ref IN (SELECT t.ref FROM {tickets} t WHERE t.assignment_group = :group"
        # Over the current rows, the timers of the group's tickets opened in the period (a
        # timer carries its ticket's opening): the group's tickets from the index on the
        # group, those opened in the period kept, then their timers by their key. Without
        # the period, the timers of every ticket of the group were looked up, whenever it
        # opened. (Reading the period's tickets from the index on the openings instead is
        # faster for a short period, slower for a long one: every ticket in it is read.)
        # Not over the rows as of an instant: PostgreSQL, without statistics on them,
        # expects one ticket of the narrower list and compares every timer with each.
        timers += " AND +t.opened_at >= :start AND +t.opened_at < :until)" if indexed else ")"
    return {
        # The opened tickets by category, channel and priority (the index's order): each
        # volume figure and the top categories add these rows up.
        "opened": (
            "SELECT t.category AS category, t.channel AS channel, t.priority AS priority, "
            "COUNT(*) AS n, SUM(t.escalation_count) AS escalations, "
            "SUM(t.reassignment_count) AS reassignments "
            f"FROM {{tickets}} t WHERE {scan.opened} "
            "GROUP BY t.category, t.channel, t.priority"
        ),
        # The opened tickets that responded by T, from the index of response times.
        "responses": (
            f"SELECT COUNT(*) AS n, {_seconds_and_micros(RESPONSE_US)} FROM {{tickets}} t "
            f"WHERE {scan.opened} AND {_RESPONDED}"
        ),
        "by_day": (
            f"SELECT {_DAY} AS day, COUNT(*) AS n FROM {{tickets}} t WHERE {ranged.opened} "
            "GROUP BY 1"
        ),
        # The first and last opening in the period, found in the index on the openings.
        "opening_bounds": (
            f"SELECT (SELECT MIN(t.opened_at) FROM {{tickets}} t WHERE {ranged.opened}) AS first, "
            f"(SELECT MAX(t.opened_at) FROM {{tickets}} t WHERE {ranged.opened}) AS last"
        ),
        # The openings counted day by day from the first day ``:first_day`` to the last,
        # each day a range of that index: none is sorted.
        "by_day_ranges": (
            "WITH RECURSIVE days(day) AS (SELECT CAST(:first_day AS BIGINT) "
            "UNION ALL SELECT day + 1 FROM days WHERE day < :last_day) "
            f"SELECT day, (SELECT COUNT(*) FROM {{tickets}} t WHERE t.opened_at >= "
            f"CASE WHEN day * {_DAY_US} > :start THEN day * {_DAY_US} ELSE :start END "
            f"AND t.opened_at < CASE WHEN (day + 1) * {_DAY_US} < :until "
            f"THEN (day + 1) * {_DAY_US} ELSE :until END) AS n FROM days"
        ),
        "aging": (
            f"SELECT {_AGING} AS bucket, COUNT(*) AS n FROM {{tickets}} t "
            f"WHERE {ranged.exists} AND t.state IN ({_quoted(_OPEN)}) GROUP BY 1"
        ),
        # The timers of the opened tickets (each timer row carries its ticket's opening) by
        # name and stage: ``overdue`` of them due before T (in progress: breached at T).
        "sla": (
            "SELECT s.name AS name, s.stage AS stage, COUNT(*) AS n, "
            "SUM(CASE WHEN s.due_at < :as_of THEN 1 ELSE 0 END) AS overdue "
            f"FROM {{sla_timers}} s WHERE {timers} GROUP BY s.name, s.stage"
        ),
        # The same without a pass over every timer: each name (found one after the other in
        # the index) and counted stage is a range of the index, counted.
        "sla_ranges": (
            "WITH RECURSIVE names(name) AS (SELECT MIN(s.name) FROM {sla_timers} s "
            "UNION ALL SELECT (SELECT MIN(s.name) FROM {sla_timers} s WHERE s.name > names.name) "
            "FROM names WHERE names.name IS NOT NULL), "
            f"stages(stage) AS ({_STAGES}) "
            f"SELECT names.name AS name, stages.stage AS stage, ({_timers_in_range}) AS n, "
            f"CASE WHEN stages.stage = '{SlaStage.IN_PROGRESS}' "
            f"THEN ({_timers_in_range} AND s.due_at < :as_of) ELSE 0 END AS overdue "
            "FROM names CROSS JOIN stages WHERE names.name IS NOT NULL"
        ),
        "response_middle": (
            f"SELECT {RESPONSE_US} AS micros FROM {{tickets}} t "
            f"WHERE {scan.opened} AND {_RESPONDED} ORDER BY {RESPONSE_US} LIMIT 2 OFFSET :skip"
        ),
        # The resolved tickets by group at resolution: each resolution figure adds them up.
        "resolved": (
            f"SELECT {_GROUP} AS owner, COUNT(*) AS n, "
            f"SUM(CASE WHEN {_FIRST_CONTACT} THEN 1 ELSE 0 END) AS first_contact, "
            "SUM(CASE WHEN t.reopen_count >= 1 THEN 1 ELSE 0 END) AS reopened, "
            "SUM(CASE WHEN t.reassignment_count >= 1 THEN 1 ELSE 0 END) AS reassigned, "
            "SUM(t.reassignment_count) AS reassignments, "
            f"{_seconds_and_micros(RESOLVE_US)} "
            f"FROM {{tickets}} t WHERE {scan.resolved} GROUP BY {_GROUP}"
        ),
        "by_assignee": (
            f"SELECT {_ASSIGNEE} AS owner, COUNT(*) AS n FROM {{tickets}} t "
            f"WHERE {scan.resolved} GROUP BY {_ASSIGNEE}"
        ),
        "resolve_middle": (
            f"SELECT {RESOLVE_US} AS micros FROM {{tickets}} t WHERE {scan.resolved} "
            f"ORDER BY {RESOLVE_US} LIMIT 2 OFFSET :skip"
        ),
        # Without indexes: one narrow row per resolved ticket, sorted in Python.
        "resolutions": (
            f"SELECT {_GROUP} AS resolved_group, {_ASSIGNEE} AS resolved_assignee, "
            f"{RESOLVE_US} AS micros FROM {{tickets}} t WHERE {scan.resolved}"
        ),
    }


def owner_middles(key: str, owners: int, *, grouped: bool) -> str:
    """The middle resolution times of ``owners`` groups or assignees (``key``: the
    expression naming one) in one statement: rows ``(item, micros)``, the ``item`` th
    owner's being ``:owner<item>``'s, ``:skip<item>`` of its values before them."""
    resolved = Populations.of(grouped=grouped, ranged=False).resolved
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT {item} AS item, {RESOLVE_US} AS micros FROM {{tickets}} t "
        f"WHERE {resolved} AND {key} = :owner{item} "
        f"ORDER BY {RESOLVE_US} LIMIT 2 OFFSET :skip{item}) middle{item}"
        for item in range(owners)
    )


def _named(columns: Sequence[str]) -> tuple[str, ...]:
    """Those of ``columns`` that a statement of the report names outside its string
    literals: every column it may read."""
    words = {
        word
        for grouped in (False, True)
        for indexed in (False, True)
        for statement in (
            *statements(grouped=grouped, indexed=indexed).values(),
            *(owner_middles(key, 1, grouped=grouped) for key in (_GROUP, _ASSIGNEE)),
        )
        for word in re.findall(r"\w+", re.sub(r"'[^']*'", "", statement))
    }
    return tuple(column for column in columns if column in words)


#: The columns of the rows valid at an earlier instant that are copied for a report: those
#: its statements name (copying every column took about a third of such a report over the
#: last 30 days, on a hundred thousand tickets).
_AS_OF_TICKETS = _named(TICKET_ROW)
_AS_OF_TIMERS = _named(TIMER_ROW)


def sql_report(
    store: TicketReads,
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    group: str | None = None,
    versions_at: int | None = None,
) -> dict[str, object]:
    """The report of :func:`projections.report.compute_report` over the rows of ``store``:
    the current ones, or those valid at ``versions_at`` microseconds."""
    check_parameters(period_from, period_to, as_of)
    start, end, moment = _us(period_from), _us(period_to), _us(as_of)
    params: dict[str, Any] = {"start": start, "until": min(end, moment + 1), "as_of": moment}
    grouped = group is not None
    if grouped:
        params["group"] = group
    text = statements(grouped=grouped, indexed=versions_at is None)
    # Statements that read ranges of an index, one by one: over the current rows (the
    # as-of rows have no index) of every group (the indexes do not hold the group).
    ranges = versions_at is None and not grouped
    with store.reading(at=versions_at, tickets=_AS_OF_TICKETS, timers=_AS_OF_TIMERS) as query:
        opened = query(text["opened"], params)
        [responses] = query(text["responses"], params)
        by_day = _by_day(query, text, params) if ranges else query(text["by_day"], params)
        aging = query(text["aging"], params)
        timers = query(text["sla_ranges" if ranges else "sla"], params)
        response_middle = _middle(query, text["response_middle"], params, _int(responses["n"]))
        if versions_at is None:  # the current rows, and their indexes
            resolved = _resolved_by_index(query, text, params, grouped=grouped)
        else:
            resolved = _resolved_by_rows(query, text, params)
    categories = _totals(opened, "category", _name, ("n", "escalations", "reassignments"))
    return {
        "period": period_json(period_from, period_to, as_of, group),
        "volume": {
            "opened": sum(_int(row["n"]) for row in opened),
            "resolved": resolved.count,
            "opened_by_day": dict(
                sorted((_date(row["day"]), _int(row["n"])) for row in by_day if _int(row["n"]))
            ),
            "opened_by_priority": {
                str(priority): n
                for priority, n in sorted(_totals(opened, "priority", int)["n"].items())
            },
            "opened_by_channel": dict(sorted(_totals(opened, "channel", _name)["n"].items())),
            "opened_by_category": dict(sorted(categories["n"].items())),
        },
        "backlog": _backlog(aging),
        "sla": _sla(timers),
        "mtta_seconds": {
            "mean": _mean(responses),
            "median": median_seconds(response_middle),
        },
        "mttr_seconds": {"mean": resolved.mean, "median": resolved.median},
        **resolved.rates,
        "by_group": resolved.by_group,
        "by_assignee": resolved.by_assignee,
        "top_categories": {
            "escalations": top_entries(categories["escalations"]),
            "reassignments": top_entries(categories["reassignments"]),
        },
    }


@dataclass(frozen=True)
class Resolved:
    """The figures over the resolved tickets."""

    count: int
    mean: float | None
    median: float | None
    rates: dict[str, float | None]
    by_group: dict[str, dict[str, int | float | None]]
    by_assignee: dict[str, dict[str, int | float | None]]


def _resolved_by_index(
    query: Query, text: Mapping[str, str], params: Mapping[str, Any], *, grouped: bool
) -> Resolved:
    """Counts by group and by assignee, then the middle values the indexes lead to."""
    groups = query(text["resolved"], params)
    assignees = query(text["by_assignee"], params)
    count = sum(_int(row["n"]) for row in groups)
    return _resolved(
        groups,
        median=median_seconds(_middle(query, text["resolve_middle"], params, count)),
        by_group=_owner_medians(query, _GROUP, groups, params, grouped=grouped),
        by_assignee=_owner_medians(query, _ASSIGNEE, assignees, params, grouped=grouped),
    )


def _resolved_by_rows(query: Query, text: Mapping[str, str], params: Mapping[str, Any]) -> Resolved:
    """Counts by group, then every resolution time, sorted here."""
    groups = query(text["resolved"], params)
    every: list[int] = []
    by_group: defaultdict[str, list[int]] = defaultdict(list)
    by_assignee: defaultdict[str, list[int]] = defaultdict(list)
    for row in query(text["resolutions"], params):
        micros = int(row["micros"])
        every.append(micros)
        by_group[str(row["resolved_group"])].append(micros)
        by_assignee[str(row["resolved_assignee"])].append(micros)
    return _resolved(
        groups,
        median=median_of(every),
        by_group={owner: (len(found), median_of(found)) for owner, found in by_group.items()},
        by_assignee={owner: (len(found), median_of(found)) for owner, found in by_assignee.items()},
    )


def _resolved(
    groups: list[Any],
    *,
    median: float | None,
    by_group: Mapping[str, tuple[int, float | None]],
    by_assignee: Mapping[str, tuple[int, float | None]],
) -> Resolved:
    def total(column: str) -> int:
        return sum(_int(row[column]) for row in groups)

    count = total("n")
    return Resolved(
        count=count,
        mean=mean_seconds(total("seconds") * _SECOND_US + total("micros"), count),
        median=median,
        rates=resolution_rates(
            count=count,
            first_contact=total("first_contact"),
            reopened=total("reopened"),
            reassigned=total("reassigned"),
            reassignments=total("reassignments"),
        ),
        by_group=_by_owner(by_group),
        by_assignee=_by_owner(by_assignee),
    )


def _by_day(query: Query, text: Mapping[str, str], params: Mapping[str, Any]) -> list[Any]:
    """The openings by day, a range of the index each, over at most :data:`_RANGED_DAYS`
    days (from the first opening in the period to the last); sorted by day in the database
    when they lie further apart."""
    [bounds] = query(text["opening_bounds"], params)
    if bounds["first"] is None:
        return []
    first, last = (_floor_day(int(bounds[end])) for end in ("first", "last"))
    if last - first >= _RANGED_DAYS:
        return query(text["by_day"], params)
    return query(text["by_day_ranges"], {**params, "first_day": first, "last_day": last})


def _middle(query: Query, statement: str, params: Mapping[str, Any], count: int) -> list[int]:
    """The middle one (odd ``count``) or two (even) values a ``:skip`` statement returns."""
    if not count:
        return []
    rows = query(statement, {**params, "skip": (count - 1) // 2})
    return sorted(int(row["micros"]) for row in rows)[: 2 - count % 2]


def _owner_medians(
    query: Query, key: str, counts: list[Any], params: Mapping[str, Any], *, grouped: bool
) -> dict[str, tuple[int, float | None]]:
    """Each owner's count and median resolution time, from its count (rows ``owner, n``)."""
    owners = [(str(row["owner"]), _int(row["n"])) for row in counts]
    middles: defaultdict[int, list[int]] = defaultdict(list)
    for start in range(0, len(owners), _OWNERS_PER_STATEMENT):
        chunk = owners[start : start + _OWNERS_PER_STATEMENT]
        bound = dict(params)
        for item, (owner, n) in enumerate(chunk):
            bound[f"owner{item}"] = owner
            bound[f"skip{item}"] = (n - 1) // 2
        for row in query(owner_middles(key, len(chunk), grouped=grouped), bound):
            middles[start + int(row["item"])].append(int(row["micros"]))
    return {
        owner: (n, median_seconds(sorted(middles[index])[: 2 - n % 2]))
        for index, (owner, n) in enumerate(owners)
    }


def _by_owner(
    found: Mapping[str, tuple[int, float | None]],
) -> dict[str, dict[str, int | float | None]]:
    return {
        owner: {"resolved": n, "median_resolve_seconds": median}
        for owner, (n, median) in sorted(found.items())
    }


def _us(instant: datetime) -> int:
    micros = to_us(instant)
    assert micros is not None
    return micros


def _int(value: Any) -> int:
    """A count or sum as an int: SUM over no rows is NULL, PostgreSQL sums BIGINTs as
    NUMERIC."""
    return 0 if value is None else int(value)


def _floor_day(micros: int) -> int:
    """The day of ``micros`` as the statements' day expression gives it (``//`` floors)."""
    return micros // _DAY_US


def _date(day: Any) -> str:
    return (_EPOCH_DATE + timedelta(days=int(day))).isoformat()


def _name(value: Any) -> str:
    """A name as the report keys it: no value (NULL or empty) is ``(none)``."""
    return str(value) if value else NO_VALUE


def _totals(
    rows: list[Any],
    column: str,
    key: Callable[[Any], _Key],
    amounts: tuple[str, ...] = ("n",),
) -> dict[str, dict[_Key, int]]:
    """Each of ``amounts`` summed over ``rows`` by the ``key`` of their ``column``."""
    totals: dict[str, Counter[_Key]] = {amount: Counter() for amount in amounts}
    for row in rows:
        for amount in amounts:
            totals[amount][key(row[column])] += _int(row[amount])
    return {amount: dict(found) for amount, found in totals.items()}


def _backlog(rows: list[Any]) -> dict[str, object]:
    by_bucket = {int(row["bucket"]): _int(row["n"]) for row in rows}
    aging = {key: by_bucket.get(index, 0) for index, (key, _) in enumerate(AGING_BUCKETS)}
    return {"open": sum(aging.values()), "aging": aging}


def _sla(rows: list[Any]) -> dict[str, dict[str, int | float | None]]:
    """Per SLA name, its counted timers from rows ``name, stage, n, overdue`` (zero
    counts included: a name appears only if one of its timers counts)."""
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        stage, n = str(row["stage"]), _int(row["n"])
        if stage == SlaStage.IN_PROGRESS:  # a timer due before T was breached at T
            overdue = _int(row["overdue"])
            amounts: tuple[tuple[str, int], ...] = (
                (SlaStage.BREACHED, overdue),
                ("running", n - overdue),
            )
        elif stage in _COUNTED:
            amounts = ((stage, n),)
        elif stage in _RUNNING:
            amounts = (("running", n),)
        else:
            continue
        for counted, amount in amounts:
            if amount:
                counts[str(row["name"])][counted] += amount
    return {
        name: sla_entry(stages[SlaStage.ACHIEVED], stages[SlaStage.BREACHED], stages["running"])
        for name, stages in sorted(counts.items())
    }


def _mean(sums: Any) -> float | None:
    """The mean of the durations a ``seconds``, ``micros`` and ``n`` row sums up."""
    return mean_seconds(_int(sums["seconds"]) * _SECOND_US + _int(sums["micros"]), _int(sums["n"]))
