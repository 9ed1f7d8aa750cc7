"""A ticket row's tuples line up with the columns the view store binds them to."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from engine.sla import Phase
from projections import sql
from projections.columns import TICKET_COLUMNS, to_us
from projections.rows import ticket_row

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
#: The columns derived from more than one attribute of the ticket (or from its timers).
DERIVED = {
    "responded_at",
    "resolved_group",
    "resolved_assignee",
    "next_due_at",
    "breach_due_at",
    "breached",
    "next_milestone_at",
}


def _stored(value: Any) -> Any:
    """A ticket attribute as the views store it."""
    if isinstance(value, datetime):
        return to_us(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return json.dumps(value)
    return value


def test_every_ticket_attribute_lands_in_its_own_column() -> None:
    """Each column named like a ticket attribute holds that attribute (every one distinct
    here, so two columns swapped in the row's tuple cannot go unnoticed)."""
    attributes: dict[str, Any] = {}
    for number, column in enumerate(c for c in TICKET_COLUMNS if c not in DERIVED):
        if column.endswith("_at"):
            attributes[column] = T0 + timedelta(minutes=number)
        elif column in {"children", "affected_services"}:
            attributes[column] = [f"{column}-{number}"]
        else:
            attributes[column] = f"{column}-{number}"
    attributes.update(
        major=True,
        reviewed=False,
        ref="INC1",
        hold_reason="awaiting_caller",
        last_occurred_at=T0 + timedelta(days=9),
        phases=[Phase(T0, "new")],
        sla_timers=[],
    )
    ticket = SimpleNamespace(**attributes)
    row = ticket_row(ticket, [], 7, T0 + timedelta(days=10))  # type: ignore[arg-type]
    stored = dict(zip(sql.TICKET_VALUES, (*row.values, row.next_milestone_at), strict=True))
    assert (stored["ref"], stored["position"]) == ("INC1", 7)
    assert stored["valid_from"] == to_us(T0 + timedelta(days=9))
    assert stored["next_milestone_at"] == to_us(T0 + timedelta(days=10))
    shared = [c for c in TICKET_COLUMNS if c not in DERIVED]
    assert {c: stored[c] for c in shared} == {c: _stored(attributes[c]) for c in shared}
