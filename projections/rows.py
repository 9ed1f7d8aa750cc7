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


@dataclass(frozen=True, slots=True)
class TicketRow:
    """A ticket as the views store it after one of its events, as the tuples the view store
    binds (:class:`projections.sql.Rows`): ``values`` in :data:`projections.sql.TICKET_VALUES`
    order up to ``next_milestone_at`` (kept apart: only the current row stores it), each of
    ``timers`` in :data:`projections.sql.TIMER_ROW` order."""

    ref: str
    position: int
    valid_from: int
    values: tuple[Any, ...]
    next_milestone_at: int | None
    timers: tuple[tuple[Any, ...], ...]


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
    ref = ticket.ref
    valid_from = to_us(ticket.last_occurred_at) or 0
    opened_at = to_us(ticket.opened_at)
    resolved = ticket.resolved_at is not None
    dues: list[datetime] = []
    running: list[datetime] = []
    breached = 0
    for status in statuses:
        stage = status.stage
        if stage == SlaStage.CANCELED:
            continue
        if stage == SlaStage.BREACHED:
            breached = 1
        if stage in _DUE_STAGES and status.due_at is not None:
            dues.append(status.due_at)
        if stage == SlaStage.IN_PROGRESS and status.due_at:
            running.append(status.due_at)
    # In the order of projections.sql.TICKET_VALUES (a test holds them to it).
    values = (
        ref,
        position,
        valid_from,
        str(ticket.kind),
        str(ticket.state),
        ticket.priority,
        ticket.impact,
        ticket.urgency,
        ticket.assignment_group,
        ticket.assignee,
        ticket.tier,
        None if ticket.hold_reason is None else str(ticket.hold_reason),
        ticket.reassignment_count,
        ticket.reopen_count,
        ticket.escalation_count,
        ticket.hold_count,
        opened_at,
        to_us(ticket.resolved_at),
        to_us(ticket.closed_at),
        int(ticket.major),
        ticket.parent,
        ticket.version,
        ticket.title,
        ticket.caller,
        ticket.category,
        ticket.subcategory,
        ticket.service,
        None if ticket.channel is None else str(ticket.channel),
        ticket.affected_users,
        ticket.problem,
        ticket.resolution_code,
        ticket.policy_version,
        json.dumps(ticket.children) if ticket.children else None,
        to_us(responded_at(ticket)),
        resolved_by[0] if resolved else None,
        resolved_by[1] if resolved else None,
        to_us(min(dues)) if dues else None,
        to_us(min(running)) if running else None,
        breached,
        ticket.description,
        ticket.change,
        json.dumps(ticket.affected_services) if ticket.affected_services else None,
        ticket.commander,
        ticket.comms_lead,
        to_us(ticket.impact_started_at),
        to_us(ticket.impact_detected_at),
        to_us(ticket.impact_mitigated_at),
        int(ticket.reviewed),
    )
    timers = tuple(
        (
            ref,
            seq,
            position,
            valid_from,
            status.name,
            str(status.kind),
            status.target_seconds,
            status.calendar,
            status.policy_version,
            str(status.stage),
            int(status.stopped_at is None and _runs(ticket, seq)),
            round(status.elapsed_seconds * 1_000_000),
            to_us(status.due_at),
            to_us(status.breached_at),
            opened_at,
        )
        for seq, status in enumerate(statuses)
    )
    return TicketRow(ref, position, valid_from, values, to_us(next_milestone_at), timers)


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
