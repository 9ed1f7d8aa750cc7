"""The updates of an incident as its source exported them, and what the import made of each.

An :class:`Update` is one row of the export: the source's own figures on it and what the import
does with it (when the engine applied it, the reassignments and reopens it counts, whether it
resolves or closes). They come from the export itself (:func:`updates_from_rows`, every row) or
from an imported ticket's events (:func:`updates_from_events`, the rows that left an event: a
row that changed nothing the engine tracks leaves none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.servicenow.planner import SOURCE_SYSTEM, Replay, lenient_bool, lenient_int
from adapters.servicenow.rows import SourceRow, parse_datetime
from engine import commands as cmd

#: The source's figures every imported event keeps, whatever the row's state.
_SOURCE_FIGURES = ("made_sla", "reassignment_count", "reopen_count", "priority")
#: States of the rows whose events keep ``resolved_at`` and ``closed_at``.
_CLOSING_STATES = {"resolved", "closed"}


@dataclass(frozen=True, slots=True)
class Update:
    """One update of an incident as the source exported it, and what the import made of it.

    ``figures`` holds the source's own values on this update (``made_sla``,
    ``reassignment_count``, ``reopen_count``, ``priority``, ``resolved_at``, ``closed_at``;
    instants as aware datetimes); a figure that is missing is not known from this update.
    ``reassignments`` and ``reopens`` are what the engine counts on it.
    """

    line: int
    mod_count: int
    state: str
    updated_at: datetime
    applied_at: datetime
    opened_at: datetime
    group: str | None
    reassignments: int
    reopens: int
    resolves: bool
    closes: bool
    figures: Mapping[str, Any]

    @property
    def clamped(self) -> bool:
        return self.applied_at != self.updated_at


def updates_from_rows(rows: Iterable[SourceRow], zone: tzinfo = UTC) -> dict[str, list[Update]]:
    """The export's updates per incident (times read in ``zone``, as the rows were), with
    what the import plans for each row."""
    replay = Replay()
    updates: dict[str, list[Update]] = {}
    for row in rows:
        step = replay.plan(row)
        updates.setdefault(row.number, []).append(
            Update(
                line=row.line,
                mod_count=row.mod_count,
                state=row.values["incident_state"].strip(),
                updated_at=row.updated_at,
                applied_at=step.at,
                opened_at=row.opened_at,
                group=row.group,
                reassignments=sum(
                    1
                    for c in step.commands
                    if isinstance(c, cmd.Assign) and "group" in c.model_fields_set
                ),
                reopens=sum(1 for c in step.commands if isinstance(c, cmd.Reopen)),
                resolves=any(isinstance(c, cmd.Resolve) for c in step.commands),
                closes=any(isinstance(c, cmd.Close) for c in step.commands),
                figures={
                    "made_sla": lenient_bool(row.values.get("made_sla")),
                    "reassignment_count": lenient_int(row.values.get("reassignment_count")),
                    "reopen_count": lenient_int(row.values.get("reopen_count")),
                    "priority": row.priority,
                    "resolved_at": _source_time(row.get("resolved_at"), zone),
                    "closed_at": _source_time(row.get("closed_at"), zone),
                },
            )
        )
    return updates


def updates_from_events(events: Iterable[Mapping[str, Any]]) -> list[Update]:
    """The updates an imported ticket's events remember, from their ``source`` metadata.

    Rows that changed nothing the engine tracks left no event, so they are not here; the
    counters' and times' reasons say so where it matters.
    """
    drafts: dict[int, _Draft] = {}
    group: str | None = None
    opened_at: datetime | None = None
    for event in events:
        kind, data = event["type"], event.get("data") or {}
        if kind == "TicketOpened":
            opened_at = instant(event["occurred_at"])
        if kind in {"TicketOpened", "Assigned", "FunctionallyEscalated"}:
            group = data.get("assignment_group")
        meta = imported(event)
        if meta is None or opened_at is None or not isinstance(meta.get("line"), int):
            continue
        draft = drafts.get(meta["line"])
        if draft is None:
            draft = drafts[meta["line"]] = _Draft(meta, instant(event["occurred_at"]), opened_at)
        draft.add(kind, data, group)
    return [draft.update() for draft in drafts.values()]


class _Draft:
    """The events of one imported row, gathered into an :class:`Update`."""

    def __init__(self, meta: Mapping[str, Any], occurred_at: datetime, opened_at: datetime) -> None:
        self.meta = meta
        self.applied_at = occurred_at
        clamped_from = meta.get("clamped_from")
        self.updated_at = instant(clamped_from) if isinstance(clamped_from, str) else occurred_at
        self.opened_at = opened_at
        self.group: str | None = None
        self.reassignments = self.reopens = 0
        self.resolves = self.closes = False

    def add(self, kind: str, data: Mapping[str, Any], group: str | None) -> None:
        self.group = group
        if kind in {"Assigned", "FunctionallyEscalated"} and data.get("reassigned"):
            self.reassignments += 1
        self.reopens += kind == "Reopened"
        self.resolves |= kind == "Resolved"
        self.closes |= kind == "Closed"

    def update(self) -> Update:
        meta = self.meta
        state = str(meta.get("incident_state") or "").strip()
        figures = {name: meta.get(name) for name in _SOURCE_FIGURES if name in meta}
        if state.lower() in _CLOSING_STATES:
            # These columns are kept only on resolving and closing rows, when not empty.
            recorded = meta.get("timezone")
            zone = _zone(recorded if isinstance(recorded, str) else None)
            for column in ("resolved_at", "closed_at"):
                figures[column] = _source_time(meta.get(column), zone)
        return Update(
            line=int(meta["line"]),
            mod_count=int(meta.get("sys_mod_count") or 0),
            state=state,
            updated_at=self.updated_at,
            applied_at=self.applied_at,
            opened_at=self.opened_at,
            group=self.group,
            reassignments=self.reassignments,
            reopens=self.reopens,
            resolves=self.resolves,
            closes=self.closes,
            figures=figures,
        )


def imported(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ServiceNow import metadata of an event (its ``source``), None for other events."""
    source = event.get("source")
    if isinstance(source, Mapping) and source.get("system") == SOURCE_SYSTEM:
        return source
    return None


def instant(value: str) -> datetime:
    """An ISO-8601 instant with offset, as envelopes and §9 fields write them."""
    return datetime.fromisoformat(value)


@cache
def _zone(name: str | None) -> tzinfo | None:
    if name is None:
        return UTC  # imports before the zone was recorded read times in UTC, the default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _source_time(raw: object, zone: tzinfo | None) -> datetime | str | None:
    """A raw source date as an instant in ``zone`` (the text itself when it is not one)."""
    if raw is None:
        return None
    if zone is None:
        return str(raw)
    try:
        return parse_datetime(str(raw), zone=zone)
    except ValueError:
        return str(raw)
