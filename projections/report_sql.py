"""The desk report computed where the rows are: SQL aggregates over the tickets view.

:func:`projections.report.compute_report` defines every figure over ticket and timer objects;
building those for a hundred thousand tickets costs seconds. This module asks the view store
for the same figures as counts, sums and GROUP BYs instead — a few hundred rows, whatever the
store's size — and hands them to the same helpers of :mod:`projections.report` for their final
form. The statements are written once for SQLite and PostgreSQL and read ``{tickets}`` and
``{sla_timers}``: the current rows, or, for a report as of an earlier instant, the rows valid
then (:meth:`projections.tables.TicketsStore.reading` swaps the source).

What keeps the numbers exactly those of the reference:

- the populations are compute_report's conditions on the same integer-microsecond columns
  (a ticket exists when ``opened_at <= :as_of``, a response or resolution after T did not
  happen, a name without value is ``"(none)"`` whether NULL or empty);
- a mean is an exact integer sum divided once: SQL sums whole seconds and leftover
  microseconds separately (neither can overflow a BIGINT, and ``d = d / 10⁶ · 10⁶ + d % 10⁶``
  holds in both backends, whose integer division truncates), Python adds them;
- a median is taken from the middle one or two values of the ordered durations, never
  averaged in SQL: the database sorts the response times and returns the middle two rows;
  resolution times come back as one narrow row per resolved ticket (group, assignee,
  microseconds), since the medians by group and assignee need every group's order;
- ``opened_by_day`` groups by the floor of ``opened_at`` over a day of microseconds (also
  before 1970), turned into the UTC date in Python;
- keys are sorted in Python (code points), not by a database collation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from engine.vocabulary import SlaStage, TicketState
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
from projections.rows import to_us
from projections.tables import TicketsStore

_DAY_US = 86_400_000_000
_SECOND_US = 1_000_000
_EPOCH_DATE = date(1970, 1, 1)
_OPEN = (TicketState.NEW, TicketState.IN_PROGRESS, TicketState.ON_HOLD)
_RESOLVED = (TicketState.RESOLVED, TicketState.CLOSED)
_COUNTED = frozenset({SlaStage.ACHIEVED, SlaStage.BREACHED})
_RUNNING = frozenset({SlaStage.IN_PROGRESS, SlaStage.PAUSED})


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _name(column: str) -> str:
    """A column's value as the report keys it: no value (NULL or empty) is ``(none)``."""
    return f"COALESCE(NULLIF({column}, ''), '{NO_VALUE}')"


def _seconds_and_micros(duration: str, when: str = "1 = 1") -> str:
    """The exact sum of ``duration`` (where ``when`` holds) as two sums that cannot
    overflow: whole seconds and leftover microseconds."""
    return (
        f"SUM(CASE WHEN {when} THEN ({duration}) / {_SECOND_US} ELSE 0 END) AS seconds, "
        f"SUM(CASE WHEN {when} THEN ({duration}) % {_SECOND_US} ELSE 0 END) AS micros"
    )


_DAY = (
    f"CASE WHEN t.opened_at >= 0 THEN t.opened_at / {_DAY_US} "
    f"ELSE (t.opened_at + 1) / {_DAY_US} - 1 END"
)
_AGING = (
    "CASE "
    + " ".join(
        f"WHEN :as_of - t.opened_at >= {lower // timedelta(microseconds=1)} THEN {index}"
        for index, (_, lower) in reversed(list(enumerate(AGING_BUCKETS)))
        if index
    )
    + " ELSE 0 END"
)
_STAGE_AT = (
    f"CASE WHEN s.stage = '{SlaStage.IN_PROGRESS}' AND s.due_at < :as_of "
    f"THEN '{SlaStage.BREACHED}' ELSE s.stage END"
)
_RESPONDED = "t.responded_at IS NOT NULL AND t.responded_at <= :as_of"


def statements(*, grouped: bool) -> dict[str, str]:
    """The report's statements by name; ``grouped``: only tickets whose group as of T is
    ``:group``. Parameters: ``:start``, ``:end``, ``:as_of`` (microseconds)."""
    exists = "t.opened_at <= :as_of" + (" AND t.assignment_group = :group" if grouped else "")
    opened = f"{exists} AND t.opened_at >= :start AND t.opened_at < :end"
    # ``t.state || ''``: not an index lookup, so that SQLite (without statistics) finds the
    # resolved tickets by the period on resolved_at, not among every closed ticket ever.
    resolved = (
        f"{exists} AND t.state || '' IN ({_quoted(_RESOLVED)}) AND t.resolved_at >= :start "
        "AND t.resolved_at < :end AND t.resolved_at <= :as_of"
    )
    backlog = f"{exists} AND t.state IN ({_quoted(_OPEN)})"
    responses = (
        f"SELECT t.responded_at - t.opened_at AS micros FROM {{tickets}} t "
        f"WHERE {opened} AND {_RESPONDED}"
    )
    return {
        "opened": (
            "SELECT COUNT(*) AS n, "
            f"SUM(CASE WHEN {_RESPONDED} THEN 1 ELSE 0 END) AS responded, "
            f"{_seconds_and_micros('t.responded_at - t.opened_at', _RESPONDED)} "
            f"FROM {{tickets}} t WHERE {opened}"
        ),
        "by_day": (
            f"SELECT {_DAY} AS day, COUNT(*) AS n FROM {{tickets}} t WHERE {opened} GROUP BY 1"
        ),
        "by_priority": (
            f"SELECT t.priority AS priority, COUNT(*) AS n FROM {{tickets}} t WHERE {opened} "
            "GROUP BY t.priority"
        ),
        "by_channel": (
            f"SELECT {_name('t.channel')} AS name, COUNT(*) AS n FROM {{tickets}} t "
            f"WHERE {opened} GROUP BY 1"
        ),
        "by_category": (
            f"SELECT {_name('t.category')} AS name, COUNT(*) AS n, "
            "SUM(t.escalation_count) AS escalations, SUM(t.reassignment_count) AS reassignments "
            f"FROM {{tickets}} t WHERE {opened} GROUP BY 1"
        ),
        "resolved": (
            "SELECT COUNT(*) AS n, SUM(CASE WHEN t.reassignment_count = 0 AND "
            "t.escalation_count = 0 AND t.hold_count = 0 AND t.reopen_count = 0 THEN 1 ELSE 0 "
            "END) AS first_contact, "
            "SUM(CASE WHEN t.reopen_count >= 1 THEN 1 ELSE 0 END) AS reopened, "
            "SUM(CASE WHEN t.reassignment_count >= 1 THEN 1 ELSE 0 END) AS reassigned, "
            "SUM(t.reassignment_count) AS reassignments, "
            f"{_seconds_and_micros('t.resolved_at - t.opened_at')} "
            f"FROM {{tickets}} t WHERE {resolved}"
        ),
        "aging": (
            f"SELECT {_AGING} AS bucket, COUNT(*) AS n FROM {{tickets}} t WHERE {backlog} "
            "GROUP BY 1"
        ),
        "sla": (
            f"SELECT s.name AS name, {_STAGE_AT} AS stage, COUNT(*) AS n FROM {{sla_timers}} s "
            f"WHERE s.ref IN (SELECT t.ref FROM {{tickets}} t WHERE {opened}) GROUP BY 1, 2"
        ),
        # The middle one or two response times: sorted in the database, two rows out.
        "mtta_middle": (
            f"{responses} ORDER BY micros LIMIT 2 "
            f"OFFSET (SELECT (COUNT(*) - 1) / 2 FROM ({responses}) counted)"
        ),
        # One narrow row per resolved ticket: the medians by group and assignee need each
        # group's ordered durations, which Python sorts faster than window functions do.
        "resolutions": (
            f"SELECT {_name('t.resolved_group')} AS resolved_group, "
            f"{_name('t.resolved_assignee')} AS resolved_assignee, "
            f"t.resolved_at - t.opened_at AS micros FROM {{tickets}} t WHERE {resolved}"
        ),
    }


def sql_report(
    store: TicketsStore,
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
    params: dict[str, Any] = {
        "start": to_us(period_from),
        "end": to_us(period_to),
        "as_of": to_us(as_of),
    }
    if group is not None:
        params["group"] = group
    with store.reading(at=versions_at) as query:
        found = {
            name: query(statement, params)
            for name, statement in statements(grouped=group is not None).items()
        }
    [opened], [resolved] = found["opened"], found["resolved"]
    responded = _int(opened["responded"])
    response_middle = [int(row["micros"]) for row in found["mtta_middle"]][: 2 - responded % 2]
    resolutions = found["resolutions"]
    categories = found["by_category"]
    return {
        "period": period_json(period_from, period_to, as_of, group),
        "volume": {
            "opened": _int(opened["n"]),
            "resolved": _int(resolved["n"]),
            "opened_by_day": dict(
                sorted((_date(row["day"]), _int(row["n"])) for row in found["by_day"])
            ),
            "opened_by_priority": {
                str(priority): n
                for priority, n in sorted(
                    (int(row["priority"]), _int(row["n"])) for row in found["by_priority"]
                )
            },
            "opened_by_channel": _counts(found["by_channel"]),
            "opened_by_category": _counts(categories),
        },
        "backlog": _backlog(found["aging"]),
        "sla": _sla(found["sla"]),
        "mtta_seconds": {
            "mean": _mean(opened, "responded"),
            "median": median_seconds(response_middle),
        },
        "mttr_seconds": {
            "mean": _mean(resolved, "n"),
            "median": median_of([int(row["micros"]) for row in resolutions]),
        },
        **resolution_rates(
            count=_int(resolved["n"]),
            first_contact=_int(resolved["first_contact"]),
            reopened=_int(resolved["reopened"]),
            reassigned=_int(resolved["reassigned"]),
            reassignments=_int(resolved["reassignments"]),
        ),
        "by_group": _by_owner(resolutions, "resolved_group"),
        "by_assignee": _by_owner(resolutions, "resolved_assignee"),
        "top_categories": {
            "escalations": top_entries(_totals(categories, "escalations")),
            "reassignments": top_entries(_totals(categories, "reassignments")),
        },
    }


def _int(value: Any) -> int:
    """A count or sum as an int: SUM over no rows is NULL, PostgreSQL sums BIGINTs as
    NUMERIC."""
    return 0 if value is None else int(value)


def _date(day: Any) -> str:
    return (_EPOCH_DATE + timedelta(days=int(day))).isoformat()


def _counts(rows: list[Any]) -> dict[str, int]:
    return dict(sorted((str(row["name"]), _int(row["n"])) for row in rows))


def _totals(rows: list[Any], column: str) -> dict[str, int]:
    return {str(row["name"]): _int(row[column]) for row in rows}


def _backlog(rows: list[Any]) -> dict[str, object]:
    by_bucket = {int(row["bucket"]): _int(row["n"]) for row in rows}
    aging = {key: by_bucket.get(index, 0) for index, (key, _) in enumerate(AGING_BUCKETS)}
    return {"open": sum(aging.values()), "aging": aging}


def _sla(rows: list[Any]) -> dict[str, dict[str, int | float | None]]:
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        stage = str(row["stage"])
        if stage in _COUNTED or stage in _RUNNING:
            counts[str(row["name"])][stage if stage in _COUNTED else "running"] += _int(row["n"])
    return {
        name: sla_entry(stages[SlaStage.ACHIEVED], stages[SlaStage.BREACHED], stages["running"])
        for name, stages in sorted(counts.items())
    }


def _mean(sums: Any, count_column: str) -> float | None:
    total = _int(sums["seconds"]) * _SECOND_US + _int(sums["micros"])
    return mean_seconds(total, _int(sums[count_column]))


def _by_owner(resolutions: list[Any], column: str) -> dict[str, dict[str, int | float | None]]:
    durations: defaultdict[str, list[int]] = defaultdict(list)
    for row in resolutions:
        durations[str(row[column])].append(int(row["micros"]))
    return {
        owner: {"resolved": len(micros), "median_resolve_seconds": median_of(micros)}
        for owner, micros in sorted(durations.items())
    }
