"""Planning: the engine commands that explain each row's differences from the previous one.

The planner diffs a row against what the earlier rows of its incident said
(:class:`IncidentSoFar`) and plans, in order: the assignment, the new impact/urgency, the
linked problem, then the lifecycle commands that take the incident from its state to the
row's — the shortest route through the engine's own lifecycle table
(:func:`engine.lifecycle.route`), so the importer never writes the rules a second time. The
first row of an incident also plans its ``open``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.servicenow.rows import (
    CHANNELS,
    MAX_EXACT_INT,
    OPENING_COLUMNS,
    RESOLUTION_COLUMNS,
    SourceRow,
    parse_bool,
)
from engine import commands as cmd
from engine.lifecycle import Action, after_assignment, route
from engine.vocabulary import HoldReason, TicketState

SOURCE_SYSTEM = "servicenow"
FALLBACK_ACTOR = "servicenow"
DEFAULT_RESOLUTION_CODE = "resolved"
RESOLUTION_NOTES = "imported from ServiceNow"
HOLD_COMMENT = "Awaiting User Info (imported from ServiceNow)"


@dataclass
class IncidentSoFar:
    """What the rows so far say about one incident: the base the next row is diffed against."""

    state: TicketState
    hold_reason: HoldReason | None
    group: str | None
    assignee: str | None
    impact: int
    urgency: int
    problem: str | None
    last_at: datetime

    @classmethod
    def opened_by(cls, row: SourceRow) -> IncidentSoFar:
        return cls(
            state=TicketState.NEW,
            hold_reason=None,
            group=row.group,
            assignee=row.assignee,
            impact=row.impact,
            urgency=row.urgency,
            problem=None,
            last_at=row.opened_at,
        )


def opening(row: SourceRow) -> cmd.Open:
    """The ``open`` of an incident, from its first row."""
    category, subcategory = row.get("category"), row.get("subcategory")
    topic = " / ".join(part for part in (category, subcategory) if part)
    contact = row.get("contact_type")
    return cmd.Open(
        ref=row.number,
        title=f"{row.number}: {topic}" if topic else f"ServiceNow incident {row.number}",
        caller=row.get("caller_id") or row.get("opened_by") or FALLBACK_ACTOR,
        impact=row.impact,
        urgency=row.urgency,
        channel=CHANNELS.get(contact.lower()) if contact else None,
        category=category,
        subcategory=subcategory,
        service=row.get("cmdb_ci"),
        group=row.group,
        assignee=row.assignee,
    )


def plan(incident: IncidentSoFar, row: SourceRow) -> list[cmd.Command]:
    """The commands that take ``incident`` to what ``row`` says; updates ``incident``."""
    ref = row.number
    planned: list[cmd.Command] = []
    group_changed = row.group != incident.group
    assignee_changed = row.assignee != incident.assignee
    if group_changed or assignee_changed:
        fields: dict[str, str | None] = {}
        if group_changed:
            fields["group"] = row.group
        if assignee_changed:
            fields["assignee"] = row.assignee
        planned.append(cmd.Assign(ref=ref, **fields))
        incident.group, incident.assignee = row.group, row.assignee
        if assignee_changed:
            incident.state = after_assignment(incident.state, row.assignee)
    if (row.impact, row.urgency) != (incident.impact, incident.urgency):
        planned.append(
            cmd.Reprioritize(
                ref=ref,
                impact=row.impact,
                urgency=row.urgency,
                reason="impact/urgency changed in ServiceNow",
            )
        )
        incident.impact, incident.urgency = row.impact, row.urgency
    if row.problem is not None and row.problem != incident.problem:
        planned.append(cmd.LinkProblem(ref=ref, problem=row.problem))
        incident.problem = row.problem
    planned.extend(_transitions(incident, row))
    return planned


@dataclass(frozen=True, slots=True)
class RowPlan:
    """What the import does with one row: the commands it plans and when they apply.

    ``opening`` is the incident's first row (its ``open`` is planned at ``opened_at``, not
    among ``commands``). ``at`` is the row's ``sys_updated_at``, or the incident's previous
    time when the row is dated earlier (``clamped``): a ticket's events stay in time order.
    """

    row: SourceRow
    opening: bool
    at: datetime
    commands: tuple[cmd.Command, ...]

    @property
    def clamped(self) -> bool:
        return self.at != self.row.updated_at


class Replay:
    """Plans rows in file order, each against what the earlier rows of its incident said."""

    def __init__(self) -> None:
        self.incidents: dict[str, IncidentSoFar] = {}

    def plan(self, row: SourceRow) -> RowPlan:
        incident = self.incidents.get(row.number)
        opening = incident is None
        if incident is None:
            incident = self.incidents[row.number] = IncidentSoFar.opened_by(row)
        at = max(row.updated_at, incident.last_at)
        commands = tuple(plan(incident, row))
        incident.last_at = at
        return RowPlan(row, opening, at, commands)


def _transitions(incident: IncidentSoFar, row: SourceRow) -> list[cmd.Command]:
    """The lifecycle commands from the incident's state to the row's state.

    A ticket never returns to ``new``: a ``New`` row after work started means in progress.
    A route the lifecycle does not have (out of ``closed``) is planned as a ``reopen``, which
    the engine then rejects with its own error, so the row is reported, never dropped.
    """
    target = row.state
    if target == TicketState.NEW and incident.state != TicketState.NEW:
        target = TicketState.IN_PROGRESS
    actions = route(
        incident.state, target, hold_reason=incident.hold_reason, target_reason=row.hold_reason
    )
    if actions is None:
        actions = [Action.REOPEN]
    incident.state, incident.hold_reason = target, row.hold_reason
    return [_command(action, row) for action in actions]


def _command(action: Action, row: SourceRow) -> cmd.Command:
    ref = row.number
    match action:
        case Action.START:
            return cmd.Start(ref=ref)
        case Action.RESUME:
            return cmd.Resume(ref=ref)
        case Action.HOLD:
            reason = row.hold_reason or HoldReason.AWAITING_CALLER
            comment = HOLD_COMMENT if reason == HoldReason.AWAITING_CALLER else None
            return cmd.Hold(ref=ref, reason=reason, comment=comment)
        case Action.RESOLVE:
            code = row.get("closed_code") or DEFAULT_RESOLUTION_CODE
            return cmd.Resolve(ref=ref, code=code, notes=RESOLUTION_NOTES)
        case Action.REOPEN:
            why = f"reopened in ServiceNow ({row.get('incident_state')})"
            return cmd.Reopen(ref=ref, reason=why)
        case Action.CLOSE:
            return cmd.Close(ref=ref)
        case Action.CANCEL:
            return cmd.Cancel(ref=ref, reason="canceled in ServiceNow")
        case _:  # pragma: no cover - route() only yields state-changing actions
            raise ValueError(f"no ServiceNow command for {action}")


def source_metadata(
    row: SourceRow, *, opening: bool, clamped: bool, timezone: str
) -> dict[str, Any]:
    """The import metadata every event of ``row`` carries.

    The row's own time is the event's ``occurred_at`` (``clamped_from`` when it had to move)
    and its number is the event's ticket, so neither is repeated here. ``timezone`` is the
    zone the row's times were read in: the raw ``resolved_at`` and ``closed_at`` kept here
    mean instants only in that zone.
    """
    values = row.values
    meta: dict[str, Any] = {
        "system": SOURCE_SYSTEM,
        "line": row.line,
        "sys_mod_count": row.mod_count,
        "incident_state": values["incident_state"],
        "sys_updated_by": values.get("sys_updated_by"),
        "made_sla": lenient_bool(values.get("made_sla")),
        "reassignment_count": lenient_int(values.get("reassignment_count")),
        "reopen_count": lenient_int(values.get("reopen_count")),
        "priority": row.priority,
        "timezone": timezone,
    }
    if clamped:
        meta["clamped_from"] = row.updated_at.isoformat()
    columns: tuple[str, ...] = OPENING_COLUMNS if opening else ()
    if row.state in {TicketState.RESOLVED, TicketState.CLOSED}:
        columns += RESOLUTION_COLUMNS
    for column in columns:
        value = row.get(column)
        if value is not None:
            meta[column] = value
    return meta


def lenient_bool(value: str | None) -> bool | str | None:
    """Metadata keeps what the source said: a bool when it reads as one, else the text."""
    try:
        return parse_bool(value)
    except ValueError:
        return None if value is None else (value.strip() or None)


def lenient_int(value: str | None) -> int | str | None:
    """A count as a number when it reads as one that JSON holds exactly, else the text."""
    text = None if value is None else value.strip()
    if not text or text == "?":
        return None
    if text.isascii() and text.isdigit() and int(text) <= MAX_EXACT_INT:
        return int(text)
    return text
