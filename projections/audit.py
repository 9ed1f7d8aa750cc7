"""The audit index projection: every event's position by ticket, so ``audit REF`` and
timelines read one ticket's events, not the whole log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from engine.chain import LedgerEvent
from projections.columns import to_us
from projections.feed import Item
from projections.tables import AuditEntry, AuditStore


class AuditProjection(Projection[AuditStore]):
    """Maintains the audit index from the log."""

    name = "audit"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking)])

    def process_batch(self, items: Sequence[Item]) -> int:
        if not items:
            return 0
        entries = [
            AuditEntry(  # positional: one per event of the log
                tracking.notification_id,
                event.ref,
                event.originator_version,
                type(event).__name__,
                to_us(event.occurred_at) or 0,
                event.actor,
            )
            for event, tracking in items
            if isinstance(event, LedgerEvent)
        ]
        return self.view.write(entries, items[-1][1])
