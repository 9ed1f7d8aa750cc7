"""Read-side shapes of a ticket: the JSON field names of the CLI (docs/cli.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.sla import TimerStatus, made_sla
from engine.ticket import Ticket

TICKET_FIELDS = (
    "ref",
    "kind",
    "state",
    "priority",
    "impact",
    "urgency",
    "assignment_group",
    "assignee",
    "tier",
    "hold_reason",
    "reassignment_count",
    "reopen_count",
    "opened_at",
    "resolved_at",
    "closed_at",
    "major",
    "parent",
    "version",
    "made_sla",
)
#: Every key of :func:`ticket_view`: the §9 fields, then the descriptive ones.
VIEW_FIELDS = (
    *TICKET_FIELDS,
    "title",
    "caller",
    "channel",
    "category",
    "resolution_code",
    "children",
    "problem",
    "escalation_count",
    "policy_version",
    "subcategory",
    "service",
    "affected_users",
    "description",
    "change",
    "affected_services",
    "commander",
    "comms_lead",
    "impact_started_at",
    "impact_detected_at",
    "impact_mitigated_at",
    "reviewed",
)


def _text(value: str | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def ticket_view(ticket: Ticket, timers: list[TimerStatus] | None = None) -> dict[str, Any]:
    """The §9 fields of a ticket, plus the descriptive ones a person reading it wants (and a
    major incident's roles, impact instants and affected services).

    ``timers`` are the ticket's evaluated SLA timers (``Desk.sla_status``); ``made_sla`` is
    true when none of them breached (and None when they were not given).
    """
    return {
        "ref": ticket.ref,
        "kind": str(ticket.kind),
        "state": str(ticket.state),
        "priority": ticket.priority,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "assignment_group": ticket.assignment_group,
        "assignee": ticket.assignee,
        "tier": ticket.tier,
        "hold_reason": _text(ticket.hold_reason),
        "reassignment_count": ticket.reassignment_count,
        "reopen_count": ticket.reopen_count,
        "opened_at": _iso(ticket.opened_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "major": ticket.major,
        "parent": ticket.parent,
        "version": ticket.version,
        "made_sla": made_sla(timers) if timers is not None else None,
        "title": ticket.title,
        "caller": ticket.caller,
        "channel": _text(ticket.channel),
        "category": ticket.category,
        "resolution_code": ticket.resolution_code,
        "children": list(ticket.children),
        "problem": ticket.problem,
        "escalation_count": ticket.escalation_count,
        "policy_version": ticket.policy_version,
        "subcategory": ticket.subcategory,
        "service": ticket.service,
        "affected_users": ticket.affected_users,
        "description": ticket.description,
        "change": ticket.change,
        "affected_services": list(ticket.affected_services),
        "commander": ticket.commander,
        "comms_lead": ticket.comms_lead,
        "impact_started_at": _iso(ticket.impact_started_at),
        "impact_detected_at": _iso(ticket.impact_detected_at),
        "impact_mitigated_at": _iso(ticket.impact_mitigated_at),
        "reviewed": ticket.reviewed,
    }
