"""What a projection needs besides the events: earlier ticket states and business calendars.

The tickets projection applies each event to the ticket with the aggregate's own mutators,
so it needs the ticket as it was before the event. Most come from its cache; on a miss
:class:`World` loads it (the store's repository locally, a replica fed by NATS remotely).
"""

from __future__ import annotations

from typing import Protocol

from engine.application import Desk
from engine.calendar import BusinessCalendar
from engine.errors import UnreadableEventError
from engine.ids import ticket_id
from engine.loading import DECODING_ERRORS, replay
from engine.ticket import Ticket


class World(Protocol):
    """Where the projection finds a ticket's earlier state and pinned calendars."""

    def ticket(self, ref: str, version: int) -> Ticket | None:
        """The ticket as of its ``version`` (None when it has no events that far)."""

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` of policy ``version``."""


class StoreWorld:
    """Earlier states from the store itself (snapshots and events), calendars from its
    policy versions."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def ticket(self, ref: str, version: int) -> Ticket | None:
        if version < 1:
            return None
        try:
            ticket: object = self.desk.repository.get(
                ticket_id(ref), version=version, projector_func=replay
            )
        except DECODING_ERRORS as error:
            raise UnreadableEventError(ref, None, str(error)) from None
        return ticket if isinstance(ticket, Ticket) else None

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        return self.desk.calendar(version, name)
