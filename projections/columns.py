"""The views' columns, and how their values are stored: instants as integer microseconds since
the epoch (exact, and ordered the same in every backend; :func:`to_us` and :func:`from_us`
convert), flags as 0/1.

Reading a row needs only this module (no engine): :func:`made_sla_at` tells ``made_sla`` of a
row at a later instant. :mod:`projections.rows` builds the rows from the Ticket aggregate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The columns of a ticket row, in table order (after ``ref``, ``position``, ``valid_from``).
TICKET_COLUMNS: tuple[str, ...] = (
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
    "escalation_count",
    "hold_count",
    "opened_at",
    "resolved_at",
    "closed_at",
    "major",
    "parent",
    "version",
    "title",
    "caller",
    "category",
    "subcategory",
    "service",
    "channel",
    "affected_users",
    "problem",
    "resolution_code",
    "policy_version",
    "children",
    "responded_at",
    "resolved_group",
    "resolved_assignee",
    "next_due_at",
    "breach_due_at",
    "breached",
    "next_milestone_at",
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
#: Columns holding instants (microseconds) and booleans (0/1).
INSTANT_COLUMNS = frozenset(
    {
        "opened_at",
        "resolved_at",
        "closed_at",
        "responded_at",
        "next_due_at",
        "breach_due_at",
        "next_milestone_at",
        "valid_from",
        "impact_started_at",
        "impact_detected_at",
        "impact_mitigated_at",
    }
)
BOOLEAN_COLUMNS = frozenset({"major", "breached", "reviewed"})

#: The columns of an SLA timer row (after ``ref``, ``seq``, ``position``, ``valid_from``).
TIMER_COLUMNS: tuple[str, ...] = (
    "name",
    "kind",
    "target_seconds",
    "calendar",
    "policy_version",
    "stage",
    "running",
    "elapsed_us",
    "due_at",
    "breached_at",
    "opened_at",  # the ticket's (its first opening, never changed): the report counts by it
)
TIMER_INSTANTS = frozenset({"due_at", "breached_at", "valid_from", "opened_at"})


def to_us(moment: datetime | None) -> int | None:
    """An aware instant as integer microseconds since the epoch (None stays None)."""
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> datetime | None:
    """Microseconds since the epoch as an aware UTC datetime."""
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


def iso(value: int | None) -> str | None:
    moment = from_us(value)
    return None if moment is None else moment.isoformat()


def made_sla_at(values: dict[str, Any], at_us: int) -> bool:
    """``made_sla`` of a row at a later instant: no timer breached by its last event, and
    none of its running timers due strictly before ``at_us``."""
    due = values.get("breach_due_at")
    return not values["breached"] and not (due is not None and due < at_us)
