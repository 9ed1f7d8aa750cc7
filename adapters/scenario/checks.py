"""Checking a scenario's expectations against what the engine and the views answer: tickets
and their SLA timers, rejected steps, the queue, report figures and timelines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.scenario.results import (
    Failure,
    ScenarioError,
    ScenarioResult,
    _instant,
    _known_keys,
    _plain,
    _Where,
)
from engine.application import Desk
from engine.errors import TicketNotFoundError
from engine.sla import TimerStatus
from engine.views import ticket_view
from engine.vocabulary import SlaStage
from projections.queries import Queries
from projections.views import open_views


def _check_error(expectation: Mapping[str, Any], result: ScenarioResult) -> None:
    number = int(expectation["step"])
    wanted = str(expectation.get("error", "DeskLedgerError"))
    result.checks += 1
    error = result.errors.get(number)
    if error is None:
        result.failures.append(Failure(f"step {number} error", wanted, "the step succeeded"))
        return
    names = {cls.__name__ for cls in type(error).__mro__}
    if wanted not in names:
        result.failures.append(
            Failure(f"step {number} error", wanted, f"{type(error).__name__}: {error}")
        )


def _same(expected: Any, actual: Any) -> bool:
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(actual, numbers)
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, datetime) and isinstance(actual, str):
        try:
            return datetime.fromisoformat(actual) == expected
        except ValueError:
            return False
    if isinstance(expected, date) and not isinstance(expected, datetime):
        return str(actual) == expected.isoformat()
    return bool(expected == actual)


def _check_sla(
    expected: Any,
    statuses: list[TimerStatus],
    result: ScenarioResult,
    *,
    path: Path,
    where: str,
    label: str,
) -> None:
    if not isinstance(expected, Mapping):
        raise ScenarioError(path, where, "map SLA names to expected timer fields")
    timers = {s.name: s.as_dict() for s in statuses if s.stage != SlaStage.CANCELED}
    timers.update({s.name: s.as_dict() for s in statuses if s.name not in timers})
    for name, fields in expected.items():
        if not isinstance(fields, Mapping):
            raise ScenarioError(path, f"{where}.{name}", "expected a mapping of timer fields")
        timer = timers.get(str(name))
        if timer is None:
            result.checks += 1
            result.failures.append(Failure(f"{label} SLA {name!r}", "a timer", "no such timer"))
            continue
        for key, value in fields.items():
            result.checks += 1
            if key not in timer:
                raise ScenarioError(path, f"{where}.{name}.{key}", "unknown timer field")
            if not _same(value, timer[key]):
                result.failures.append(
                    Failure(f"{label} SLA {name!r} {key}", _plain(value), timer[key])
                )


def _check_ticket(
    desk: Desk, expectation: Mapping[str, Any], result: ScenarioResult, path: Path, where: str
) -> None:
    ref = str(expectation["ticket"])
    as_of = (
        _instant(expectation["as_of"], None, path, f"{where}.as_of")
        if "as_of" in expectation
        else None
    )
    label = f"{ref}" + (f" as of {as_of.astimezone(UTC).isoformat()}" if as_of else "")
    try:
        ticket = desk.get_ticket(ref, as_of=as_of)
    except TicketNotFoundError:
        result.checks += 1
        result.failures.append(Failure(f"{label} exists", True, False))
        return
    statuses = desk.sla_status(ticket, as_of if as_of is not None else result.end)
    view = ticket_view(ticket, statuses)
    for key, expected in expectation.items():
        if key in {"ticket", "as_of"}:
            continue
        if key == "sla":
            _check_sla(expected, statuses, result, path=path, where=f"{where}.sla", label=label)
            continue
        result.checks += 1
        if key not in view:
            known = ", ".join(sorted({*view, "sla", "as_of"}))
            raise ScenarioError(path, f"{where}.{key}", f"unknown ticket field (one of {known})")
        if not _same(expected, view[key]):
            result.failures.append(Failure(f"{label} {key}", _plain(expected), view[key]))


def _as_of_label(as_of: datetime, result: ScenarioResult) -> str:
    return "" if as_of == result.end else f" as of {as_of.astimezone(UTC).isoformat()}"


_QUEUE_KEYS = {"group", "assignee", "tier", "refs", "entries"}


def _check_queue(
    queries: Queries, expected: Any, as_of: datetime, result: ScenarioResult, where: _Where
) -> None:
    """The queue (the order of docs/reports.md) against a list of refs or a mapping (see module
    doc)."""
    if isinstance(expected, list):
        expected = {"refs": expected}
    if not isinstance(expected, Mapping):
        raise where.error("", "give the refs in order, or a mapping with refs and/or entries")
    _known_keys(expected, _QUEUE_KEYS, where.path, where.at)
    if "refs" not in expected and "entries" not in expected:
        raise where.error("", "give refs (in order) and/or entries")
    tier = expected.get("tier")
    queue = queries.queue(
        group=expected.get("group"),
        assignee=expected.get("assignee"),
        tier=None if tier is None else int(tier),
        as_of=as_of,
    )
    filters = ", ".join(
        f"{key} {expected[key]}" for key in ("group", "assignee", "tier") if key in expected
    )
    label = "queue" + (f" ({filters})" if filters else "") + _as_of_label(as_of, result)
    if "refs" in expected:
        refs = expected["refs"]
        if not isinstance(refs, list):
            raise where.error("refs", "give the queue's refs as a list, in order")
        result.checks += 1
        actual = [entry["ref"] for entry in queue]
        if [str(ref) for ref in refs] != actual:
            result.failures.append(Failure(f"{label} refs", [str(ref) for ref in refs], actual))
    if "entries" in expected:
        _check_entries(expected["entries"], queue, label, result, where)


def _check_entries(
    entries: Any, queue: list[dict[str, Any]], label: str, result: ScenarioResult, where: _Where
) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise where.error("entries", "give a list with a mapping of fields per queue entry")
    result.checks += 1
    if len(entries) != len(queue):
        result.failures.append(Failure(f"{label} length", len(entries), len(queue)))
    for index, (wanted, actual) in enumerate(zip(entries, queue, strict=False)):
        for key, value in wanted.items():
            if key not in actual:
                known = ", ".join(sorted(actual))
                raise where.error(
                    f"entries[{index}].{key}", f"unknown queue field (one of {known})"
                )
            result.checks += 1
            if not _same(value, actual[key]):
                result.failures.append(
                    Failure(f"{label}[{index}] {key}", _plain(value), actual[key])
                )


class _Keyed:
    """A report map whose keys are data (dates, SLA names, groups), each value shaped so."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner


_MEAN_MEDIAN = {"mean": None, "median": None}

_PER_OWNER = {"resolved": None, "median_resolve_seconds": None}

#: The report's figures by their JSON names (:mod:`projections.report`), and their shapes:
#: a dict has fixed keys, ``_Keyed`` keys that are data, None a value.
REPORT_FIGURES: dict[str, Any] = {
    "period": {"from": None, "to": None, "as_of": None, "group": None},
    "volume": {
        "opened": None,
        "resolved": None,
        "opened_by_day": _Keyed(),
        "opened_by_priority": _Keyed(),
        "opened_by_channel": _Keyed(),
        "opened_by_category": _Keyed(),
    },
    "backlog": {"open": None, "aging": dict.fromkeys(("<1d", "1-3d", "3-7d", "7-30d", ">30d"))},
    "sla": _Keyed({"achieved": None, "breached": None, "running": None, "adherence": None}),
    "mtta_seconds": _MEAN_MEDIAN,
    "mttr_seconds": _MEAN_MEDIAN,
    "fcr_rate": None,
    "reopen_rate": None,
    "reassignment_rate": None,
    "mean_reassignments": None,
    "by_group": _Keyed(_PER_OWNER),
    "by_assignee": _Keyed(_PER_OWNER),
    "top_categories": {"escalations": None, "reassignments": None},
}

_REPORT_OPTIONS = ("from", "to", "group")


def _check_report(
    queries: Queries, expected: Any, as_of: datetime, result: ScenarioResult, where: _Where
) -> None:
    """Report figures (nested as in the report's JSON) against ``deskledger report``."""
    if not isinstance(expected, Mapping):
        raise where.error("", "give a mapping of report figures (e.g. volume: {opened: 3})")
    _known_keys(expected, {*REPORT_FIGURES, *_REPORT_OPTIONS}, where.path, where.at)
    start = result.start
    period = {
        key: _instant(expected[key], start, where.path, f"{where.at}.{key}")
        for key in ("from", "to")
        if key in expected
    }
    group = expected.get("group")
    report = queries.report(
        period_from=period.get("from"),
        period_to=period.get("to"),
        as_of=as_of,
        group=None if group is None else str(group),
    )
    label = "report" + (f" (group {group})" if group is not None else "")
    figures = _Figures(label + _as_of_label(as_of, result), result, where)
    for name, value in expected.items():
        if name not in _REPORT_OPTIONS:
            figures.compare(name, value, report.get(name), REPORT_FIGURES[name])


@dataclass(frozen=True)
class _Figures:
    """Compares expected report figures with the report's, noting each failure."""

    label: str
    result: ScenarioResult
    where: _Where

    def compare(self, name: str, expected: Any, actual: Any, shape: Any) -> None:
        """One figure; a mapping only for the keys it gives, recursively."""
        if isinstance(expected, Mapping) and isinstance(shape, dict | _Keyed):
            if isinstance(shape, dict):
                _known_keys(expected, set(shape), self.where.path, f"{self.where.at}.{name}")
            for key, value in expected.items():
                inner = shape.inner if isinstance(shape, _Keyed) else shape[key]
                found = actual.get(str(key)) if isinstance(actual, Mapping) else None
                self.compare(f"{name}.{key}", value, found, inner)
            return
        self.result.checks += 1
        if not _same(expected, actual):
            self.result.failures.append(Failure(f"{self.label} {name}", _plain(expected), actual))


#: The timeline's JSON keys an expectation may check (``ref`` is the expectation's own).
TIMELINE_KEYS = (
    "title",
    "major",
    "state",
    "priority",
    "opened_at",
    "resolved_at",
    "commander",
    "comms_lead",
    "children",
    "impact",
    "affected_services",
    "affected_users",
    "intervals",
    "communications",
    "review",
    "entries",
)


def _check_timeline(
    desk: Desk, expectation: Mapping[str, Any], result: ScenarioResult, where: _Where
) -> None:
    """A ticket's timeline (``deskledger timeline REF --json``) against the keys given."""
    _known_keys(expectation, {"timeline", "as_of", *TIMELINE_KEYS}, where.path, where.at)
    ref = str(expectation["timeline"])
    as_of = (
        _instant(expectation["as_of"], result.start, where.path, f"{where.at}.as_of")
        if "as_of" in expectation
        else result.end
    )
    assert as_of is not None  # the run set its end
    label = f"timeline {ref}" + _as_of_label(as_of, result)
    try:
        timeline = Queries(open_views(desk)).timeline(ref, as_of=as_of).as_dict()
    except TicketNotFoundError:
        result.checks += 1
        result.failures.append(Failure(f"{label} exists", True, False))
        return
    for key in TIMELINE_KEYS:
        if key in expectation:
            _compare_part(f"{label} {key}", expectation[key], timeline[key], result)


def _compare_part(label: str, expected: Any, actual: Any, result: ScenarioResult) -> None:
    """``expected`` against ``actual``: a mapping by the keys it gives, a list of mappings
    item by item (and its length), anything else whole; one check per value compared."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key, value in expected.items():
            _compare_part(f"{label}.{key}", value, actual.get(str(key)), result)
        return
    if (
        isinstance(expected, list)
        and isinstance(actual, list)
        and expected
        and all(isinstance(item, Mapping) for item in expected)
    ):
        result.checks += 1
        if len(expected) != len(actual):
            result.failures.append(Failure(f"{label} length", len(expected), len(actual)))
        for index, (wanted, found) in enumerate(zip(expected, actual, strict=False)):
            _compare_part(f"{label}[{index}]", wanted, found, result)
        return
    result.checks += 1
    if not _same(expected, actual):
        result.failures.append(Failure(label, _plain(expected), actual))
