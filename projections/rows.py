"""What the views store about a ticket, derived from the Ticket aggregate itself.

The tickets projection applies each event to the ticket with the aggregate's own mutators and
stores the outcome as a row: the §9 fields, the descriptive fields a product lists by (a
major incident's commander, communications lead, impact instants and affected services too), the
facts the desk report needs (when the ticket was first picked up, who held it at its last
resolution...) and an SLA summary evaluated at the event's instant. Everything a read needs
at a later instant *T* follows from the row at the last event at or before *T* (nothing
happens to a ticket between its events except SLA timers running on), see
:func:`projections.columns.made_sla_at`. The columns and how values are stored (instants as
integer microseconds since the epoch) are :mod:`projections.columns`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.lifecycle import OPEN_STATES
from engine.sla import TimerStatus, due_milestones
from engine.ticket import Ticket
from engine.vocabulary import SlaStage, TicketState
from projections.columns import to_us

_RESPONDED = frozenset({TicketState.IN_PROGRESS, TicketState.ON_HOLD, TicketState.RESOLVED})


@dataclass(frozen=True)
class TicketRow:
    """A ticket as the views store it after one of its events."""

    ref: str
    position: int
    valid_from: int
    values: dict[str, Any]
    timers: list[dict[str, Any]]


def ticket_row(
    ticket: Ticket,
    statuses: list[TimerStatus],
    position: int,
    next_milestone_at: datetime | None = None,
    *,
    resolved_by: tuple[str | None, str | None] = (None, None),
) -> TicketRow:
    """The row of ``ticket`` after its event at ``position``; ``statuses`` are its timers
    evaluated at that event's instant (``engine.sla.evaluate``, warnings left out),
    ``next_milestone_at`` the earliest SLA warning or breach still to be recorded (see
    :func:`next_milestone`), ``resolved_by`` the group and assignee at its last resolution."""
    assert ticket.last_occurred_at is not None
    active = [s for s in statuses if s.stage != SlaStage.CANCELED]
    dues = [s.due_at for s in active if s.stage in _DUE_STAGES and s.due_at is not None]
    running = [s.due_at for s in active if s.stage == SlaStage.IN_PROGRESS and s.due_at]
    values: dict[str, Any] = {
        "kind": str(ticket.kind),
        "state": str(ticket.state),
        "priority": ticket.priority,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "assignment_group": ticket.assignment_group,
        "assignee": ticket.assignee,
        "tier": ticket.tier,
        "hold_reason": None if ticket.hold_reason is None else str(ticket.hold_reason),
        "reassignment_count": ticket.reassignment_count,
        "reopen_count": ticket.reopen_count,
        "escalation_count": ticket.escalation_count,
        "hold_count": ticket.hold_count,
        "opened_at": to_us(ticket.opened_at),
        "resolved_at": to_us(ticket.resolved_at),
        "closed_at": to_us(ticket.closed_at),
        "major": int(ticket.major),
        "parent": ticket.parent,
        "version": ticket.version,
        "title": ticket.title,
        "caller": ticket.caller,
        "category": ticket.category,
        "subcategory": ticket.subcategory,
        "service": ticket.service,
        "channel": None if ticket.channel is None else str(ticket.channel),
        "affected_users": ticket.affected_users,
        "problem": ticket.problem,
        "resolution_code": ticket.resolution_code,
        "policy_version": ticket.policy_version,
        "children": json.dumps(ticket.children) if ticket.children else None,
        "responded_at": to_us(responded_at(ticket)),
        "resolved_group": resolved_by[0] if ticket.resolved_at is not None else None,
        "resolved_assignee": resolved_by[1] if ticket.resolved_at is not None else None,
        "next_due_at": to_us(min(dues)) if dues else None,
        "breach_due_at": to_us(min(running)) if running else None,
        "breached": int(any(s.stage == SlaStage.BREACHED for s in active)),
        "next_milestone_at": to_us(next_milestone_at),
        "description": ticket.description,
        "change": ticket.change,
        "affected_services": (
            json.dumps(ticket.affected_services) if ticket.affected_services else None
        ),
        "commander": ticket.commander,
        "comms_lead": ticket.comms_lead,
        "impact_started_at": to_us(ticket.impact_started_at),
        "impact_detected_at": to_us(ticket.impact_detected_at),
        "impact_mitigated_at": to_us(ticket.impact_mitigated_at),
        "reviewed": int(ticket.reviewed),
    }
    timers = [
        {
            "seq": seq,
            "name": status.name,
            "kind": str(status.kind),
            "target_seconds": status.target_seconds,
            "calendar": status.calendar,
            "policy_version": status.policy_version,
            "stage": str(status.stage),
            "running": int(status.stopped_at is None and _runs(ticket, seq)),
            "elapsed_us": round(status.elapsed_seconds * 1_000_000),
            "due_at": to_us(status.due_at),
            "breached_at": to_us(status.breached_at),
            "opened_at": to_us(ticket.opened_at),
        }
        for seq, status in enumerate(statuses)
    ]
    return TicketRow(ticket.ref, position, to_us(ticket.last_occurred_at) or 0, values, timers)


_DUE_STAGES = frozenset({SlaStage.IN_PROGRESS, SlaStage.BREACHED})


def _runs(ticket: Ticket, seq: int) -> bool:
    timer = ticket.sla_timers[seq]
    if timer.canceled_at is not None or ticket.state not in OPEN_STATES:
        return False
    return timer.runs_in(ticket.state, ticket.hold_reason)


def responded_at(ticket: Ticket) -> datetime | None:
    """When the ticket first left ``new`` for in progress, on hold or resolved (docs/reports.md)."""
    for phase in ticket.phases:
        if phase.state in _RESPONDED:
            return phase.at
    return None


#: How far ahead :func:`next_milestone` looks for the warnings and breach of running timers.
MILESTONE_HORIZON = timedelta(days=3660)


def next_milestone(ticket: Ticket, calendar: Any) -> datetime | None:
    """The earliest SLA warning or breach not recorded yet, if the ticket's timers keep
    running as they are (None: nothing will become due without another event)."""
    if ticket.last_occurred_at is None or ticket.state not in OPEN_STATES:
        return None
    horizon = ticket.last_occurred_at + MILESTONE_HORIZON
    instants = [
        milestone.instant
        for timer in ticket.active_timers()
        for milestone in due_milestones(
            timer, ticket.phases, calendar(timer.policy_version, timer.calendar), horizon
        )
    ]
    return min(instants) if instants else None
