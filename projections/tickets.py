"""The tickets projection: the queue, the ticket list, SLA timers and the report's facts.

Each event is applied to its ticket with the aggregate's own mutators (the rules are written
once, in :mod:`engine.ticket`); the ticket's row after the event (:func:`projections.rows.
ticket_row`) is written to the view store, with the tracking position, one batch per
transaction. Tickets stay in a bounded cache between events; a ticket not in the cache (or
at another version) is loaded as of the version before the event from :class:`World`.

The report keys resolved tickets by the group and assignee *at their last resolution*, which
the aggregate does not keep (a resolved ticket may still be reassigned): the projection notes
them when it applies ``Resolved`` and carries them from row to row, reading them back from
the ticket's current row after a cache miss.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from engine.calendar import BusinessCalendar
from engine.errors import UnreadableEventError
from engine.sla import TimerStatus
from engine.sla_progress import TimerProgress
from engine.ticket import Ticket, TicketEvent
from engine.ticket.facts import Resolved
from projections.feed import Item, Unreadable
from projections.rows import TicketRow, next_milestone, ticket_row
from projections.tables import Damage, TicketsStore
from projections.world import World

#: How many tickets the projection keeps between events (each a few kilobytes).
CACHE_SIZE = 20_000

#: (group, assignee) at a ticket's last resolution.
Owner = tuple[str | None, str | None]
NO_OWNER: Owner = (None, None)

#: What the next SLA milestone depends on: the ticket's phases (only ever appended to) and
#: each timer's cancellation and recorded milestones (changed in place).
Signature = tuple[int, tuple[tuple[Any, int, Any], ...]]
#: The next milestone computed for a signature.
Memo = tuple[Signature, Any]


def sla_signature(ticket: Ticket) -> Signature:
    return (
        len(ticket.phases),
        tuple(
            (t.canceled_at, len(t.warnings_recorded), t.breach_recorded) for t in ticket.sla_timers
        ),
    )


@dataclass
class _Cached:
    """A ticket between its events, with what the projection carries beside it: its owner at
    its last resolution, its next milestone and its timers' progress (each timer evaluated
    incrementally from one event to the next, :mod:`engine.sla_progress`)."""

    ticket: Ticket
    owner: Owner
    memo: Memo | None = None
    progress: list[TimerProgress] = field(default_factory=list)


class TicketsProjection(Projection[TicketsStore]):
    """Maintains the tickets view from the log."""

    name = "tickets"

    def __init__(self, view: TicketsStore, *, world: World, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(view)
        self.world = world
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._calendars: dict[tuple[int, str], BusinessCalendar] = {}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """One event in one transaction (the library runner's way)."""
        self.process_batch([(domain_event, tracking)])

    def process_batch(self, items: Sequence[Item]) -> int:
        """Apply ``items`` (events with their tracking, in position order) in one transaction;
        returns how many rows the view did not have yet."""
        if not items:
            return 0
        rows: list[TicketRow] = []
        damaged: list[Damage] = []
        self._calendars.clear()  # looked up once per batch (the world's may change between)
        # Only a ticket's current row needs its next SLA milestone (it says when a clock
        # tick may record something): it is computed for each ticket's last event here.
        last = {
            event.ref: i for i, (event, _) in enumerate(items) if isinstance(event, TicketEvent)
        }
        try:
            for index, (event, tracking) in enumerate(items):
                if isinstance(event, Unreadable):
                    damaged.append(
                        Damage(tracking.notification_id, event.ref, event.stream_id, event.reason)
                    )
                elif isinstance(event, TicketEvent):
                    latest = last[event.ref] == index
                    row = self._apply(event, tracking.notification_id, damaged, latest=latest)
                    if row is not None:
                        rows.append(row)
            return self.view.write(rows, damaged, items[-1][1])
        except BaseException:
            self._cache.clear()  # the view kept nothing of this batch: neither may the cache
            raise

    def _apply(
        self, event: TicketEvent, position: int, damaged: list[Damage], *, latest: bool = True
    ) -> TicketRow | None:
        """The ticket's row after ``event`` (with its next SLA milestone when it is the
        ``latest`` row the batch writes); None (and the damage noted) when the ticket's
        earlier events cannot be read."""
        ref = event.ref
        cached = self._cache.pop(ref, None)
        if cached is None or cached.ticket.version != event.originator_version - 1:
            owner = self._resolution_owner(ref) if event.originator_version > 1 else NO_OWNER
            try:
                before = self.world.ticket(ref, event.originator_version - 1)
            except UnreadableEventError as error:
                before = None
                problem = error.cause or str(error)
            else:
                problem = "an earlier event of this ticket is missing"
            if before is None and event.originator_version > 1:
                damaged.append(Damage(position, ref, str(event.originator_id), problem))
                return None
            cached = _Cached(before, owner) if before is not None else None
        ticket = event.mutate(None if cached is None else cached.ticket)
        assert isinstance(ticket, Ticket)
        if cached is None:
            cached = _Cached(ticket, NO_OWNER)
        cached.ticket = ticket
        if isinstance(event, Resolved):
            cached.owner = (ticket.assignment_group, ticket.assignee)
        elif ticket.resolved_at is None:
            cached.owner = NO_OWNER
        self._cache[ref] = cached
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        statuses = self._statuses(cached, event.occurred_at)
        upcoming = self._next_milestone(cached) if latest and ticket.sla_timers else None
        return ticket_row(ticket, statuses, position, upcoming, resolved_by=cached.owner)

    def _statuses(self, cached: _Cached, at: datetime) -> list[TimerStatus]:
        """Every timer of the ticket evaluated at ``at`` (``engine.sla.evaluate`` without
        warnings), each carried on from the ticket's previous event."""
        ticket = cached.ticket
        progress = cached.progress
        timers = ticket.sla_timers
        while len(progress) < len(timers):
            progress.append(TimerProgress())
        phases = ticket.phases
        return [
            walk.evaluate(timer, phases, self._calendar(timer.policy_version, timer.calendar), at)
            for walk, timer in zip(progress, timers, strict=False)
        ]

    def _calendar(self, version: int, name: str) -> BusinessCalendar:
        key = (version, name)
        found = self._calendars.get(key)
        if found is None:
            found = self._calendars[key] = self.world.calendar(version, name)
        return found

    def _next_milestone(self, cached: _Cached) -> Any:
        """The ticket's next SLA milestone, computed again only when its phases or timers
        changed. A milestone found stays the next one while they do not (later events only
        move the search horizon further out); "none" is looked for again at every event."""
        signature = sla_signature(cached.ticket)
        if cached.memo is not None and cached.memo[0] == signature and cached.memo[1] is not None:
            return cached.memo[1]
        upcoming = next_milestone(cached.ticket, self.world.calendar)
        cached.memo = (signature, upcoming)
        return upcoming

    def _resolution_owner(self, ref: str) -> Owner:
        """The group and assignee at the ticket's last resolution, as its current row says."""
        rows = self.view.select(["ref = :ref"], {"ref": ref}, limit=1)
        if not rows:
            return NO_OWNER
        return rows[0]["resolved_group"], rows[0]["resolved_assignee"]

    def forget(self) -> None:
        """Drop the cache (after the view was rebuilt or changed under it)."""
        self._cache.clear()
