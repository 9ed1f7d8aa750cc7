"""Queries over the event-sourced tickets themselves (the read side lives in ``projections/``).

Everything here replays aggregates from the store: one ticket now or as of an instant, its
events, its SLA timers evaluated at an instant, and the what-if re-scoring of history under
another policy. Views that must not grow with the log (lists, queues, reports) are answered
by the projections instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import EventStore

from engine.clock import Clock
from engine.errors import TicketNotFoundError
from engine.ids import ticket_id
from engine.loading import history, load
from engine.policy import Policy, parse_policy
from engine.sla import TimerStatus
from engine.sla_explain import Explanation, explain
from engine.sla_monitor import PolicyLookup, SlaMonitor
from engine.ticket import Ticket, TicketEvent
from engine.views import ticket_view
from engine.whatif import WhatIfReport, what_if

RefReader = Callable[[], Iterator[str]]


class TicketQueries:
    """Tickets replayed from their events: the read side of the write model."""

    def __init__(
        self,
        *,
        repository: Repository[UUID],
        events: EventStore[UUID],
        monitor: SlaMonitor,
        clock: Clock,
        refs: RefReader,
        policy: PolicyLookup,
    ) -> None:
        self._repository = repository
        self._events = events
        self._monitor = monitor
        self._policy = policy
        self._clock = clock
        self._refs = refs

    def get_ticket(self, ref: str, *, as_of: datetime | None = None) -> Ticket:
        """The ticket now, or as of an instant (only events that occurred at or before it)."""
        if as_of is None:
            ticket = load(self._repository, ticket_id(ref), ref)
            if not isinstance(ticket, Ticket):
                raise TicketNotFoundError(ref)
            return ticket
        state: Any = None
        for event in history(self._events, ticket_id(ref), ref):
            if event.occurred_at > as_of:
                break
            state = event.mutate(state)
        if not isinstance(state, Ticket):
            raise TicketNotFoundError(ref)
        return state

    def ticket_events(self, ref: str) -> list[TicketEvent]:
        """Every event of one ticket in stream order."""
        events = [
            e for e in history(self._events, ticket_id(ref), ref) if isinstance(e, TicketEvent)
        ]
        if not events:
            raise TicketNotFoundError(ref)
        return events

    def sla_status(self, ticket: Ticket, at: datetime | None = None) -> list[TimerStatus]:
        """Every SLA timer of ``ticket`` evaluated at ``at`` (default: the clock's now)."""
        return self._monitor.statuses(ticket, at if at is not None else self._clock.now())

    def explain(self, ref: str, *, as_of: datetime | None = None) -> list[Explanation]:
        """Every SLA timer of ``ref`` with what its verdict rests on (see engine.sla_explain)."""
        ticket = self.get_ticket(ref, as_of=as_of)
        at = as_of if as_of is not None else self._clock.now()
        explained = []
        for timer in ticket.sla_timers:
            policy = self._policy(timer.policy_version)
            definition = policy.calendars.get(timer.calendar, {})
            calendar = self._monitor.calendar(timer.policy_version, timer.calendar)
            rule = next((d.business_days for d in policy.slas if d.name == timer.name), None)
            landed = rule.due(timer.started_at, calendar) if rule is not None else None
            explained.append(
                explain(timer, ticket.phases, calendar, definition, at, business_days=landed)
            )
        return explained

    def view(self, ref: str, *, as_of: datetime | None = None) -> dict[str, Any]:
        """A ticket's §9 fields (now, or as of an instant), with ``made_sla`` evaluated."""
        ticket = self.get_ticket(ref, as_of=as_of)
        return ticket_view(ticket, self.sla_status(ticket, as_of))

    def refs(self) -> list[str]:
        """Every ticket ref in the store, in the order the tickets were opened."""
        return list(self._refs())

    def tickets(self, *, as_of: datetime | None = None) -> list[Ticket]:
        """Every ticket (as of an instant, those that existed then)."""
        result = []
        for ref in self._refs():
            try:
                result.append(self.get_ticket(ref, as_of=as_of))
            except TicketNotFoundError:
                continue
        return result

    def what_if(
        self,
        raw: Mapping[str, Any] | Policy,
        *,
        at: datetime | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
    ) -> WhatIfReport:
        """Re-score the history under another policy; writes nothing (see engine.whatif)."""
        policy = raw if isinstance(raw, Policy) else parse_policy(raw)
        moment = at if at is not None else self._clock.now()
        pairs = ((t, self.sla_status(t, moment)) for t in self.tickets(as_of=at))
        return what_if(pairs, policy, moment, opened_from=opened_from, opened_to=opened_to)
