"""The facts of a ticket's life, past tense, one immutable event each.

Every event carries the envelope of SPEC §6 (``ref``, ``occurred_at``, ``actor``, ``reason``,
``command_id``; ``timestamp`` is when it was recorded) plus ``prev_hash``/``hash``, its link
in the ticket's SHA-256 chain (:mod:`engine.audit`). ``source`` keeps metadata of imported
history (the source system's own values); it is ``None`` for live work.

Mutators (``_apply``) only record: rules are checked by the command methods of
:class:`engine.ticket.Ticket` before an event exists, and replay runs these bodies again, so
they never read a clock, random numbers or configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from engine.chain import LedgerEvent
from engine.sla import SlaTimer

if TYPE_CHECKING:
    from engine.ticket import Ticket


class TicketEvent(LedgerEvent):
    """Base of every ticket event."""

    def apply(self, aggregate: Any) -> None:
        ticket: Ticket = aggregate
        self._apply(ticket)
        super().apply(ticket)

    def _apply(self, ticket: Ticket) -> None:
        """Record this event's effect on the ticket (overridden per event)."""


class TicketOpened(TicketEvent, Aggregate.Created):
    kind: str
    title: str
    description: str | None
    caller: str
    channel: str | None
    category: str | None
    subcategory: str | None
    service: str | None
    impact: int
    urgency: int
    priority: int
    assignment_group: str | None
    assignee: str | None
    affected_users: int | None
    policy_version: int

    def _apply(self, ticket: Ticket) -> None:
        ticket.ref = self.ref
        ticket.kind = self.kind
        ticket.title = self.title
        ticket.description = self.description
        ticket.caller = self.caller
        ticket.channel = self.channel
        ticket.category = self.category
        ticket.subcategory = self.subcategory
        ticket.service = self.service
        ticket.impact = self.impact
        ticket.urgency = self.urgency
        ticket.priority = self.priority
        ticket.assignment_group = self.assignment_group
        ticket.assignee = self.assignee
        ticket.affected_users = self.affected_users
        ticket.policy_version = self.policy_version
        ticket.enter("new", self.occurred_at)
        ticket.opened_at = self.occurred_at


class Assigned(TicketEvent):
    """The assignment group and/or assignee changed."""

    assignment_group: str | None
    assignee: str | None
    reassigned: bool

    def _apply(self, ticket: Ticket) -> None:
        ticket.assignment_group = self.assignment_group
        ticket.assignee = self.assignee
        if self.reassigned:
            ticket.reassignment_count += 1


class WorkStarted(TicketEvent):
    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("in_progress", self.occurred_at)


class PutOnHold(TicketEvent):
    hold_reason: str
    comment: str | None

    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("on_hold", self.occurred_at, self.hold_reason)
        ticket.hold_count += 1


class Resumed(TicketEvent):
    """Work resumed after a hold; ``by_caller_reply`` when the caller's answer resumed it."""

    by_caller_reply: bool

    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("in_progress", self.occurred_at)


class Resolved(TicketEvent):
    code: str
    notes: str
    knowledge: str | None
    by_parent: str | None

    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("resolved", self.occurred_at)
        ticket.resolution_code = self.code
        ticket.resolution_notes = self.notes
        ticket.knowledge = self.knowledge
        ticket.resolved_by_parent = self.by_parent
        ticket.resolved_at = self.occurred_at


class Reopened(TicketEvent):
    by_parent: str | None

    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("in_progress", self.occurred_at)
        ticket.reopen_count += 1
        ticket.resolution_code = None
        ticket.resolution_notes = None
        ticket.resolved_by_parent = None
        ticket.resolved_at = None


class Closed(TicketEvent):
    automatically: bool

    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("closed", self.occurred_at)
        ticket.closed_at = self.occurred_at


class Canceled(TicketEvent):
    def _apply(self, ticket: Ticket) -> None:
        ticket.enter("canceled", self.occurred_at)
        ticket.closed_at = self.occurred_at


class Reprioritized(TicketEvent):
    impact: int
    urgency: int
    priority: int
    previous_priority: int

    def _apply(self, ticket: Ticket) -> None:
        ticket.impact = self.impact
        ticket.urgency = self.urgency
        ticket.priority = self.priority


class FunctionallyEscalated(TicketEvent):
    """Moved to a higher support tier and a new group (counts as a reassignment)."""

    tier: int
    assignment_group: str
    reassigned: bool

    def _apply(self, ticket: Ticket) -> None:
        ticket.tier = self.tier
        ticket.assignment_group = self.assignment_group
        ticket.assignee = None
        ticket.escalation_count += 1
        if self.reassigned:
            ticket.reassignment_count += 1


class HierarchicallyEscalated(TicketEvent):
    """Management was notified; the ticket does not move."""

    to: str

    def _apply(self, ticket: Ticket) -> None:
        ticket.escalation_count += 1


class CommentAdded(TicketEvent):
    text: str
    visibility: str

    def _apply(self, ticket: Ticket) -> None:
        ticket.comment_count += 1


class MajorIncidentDeclared(TicketEvent):
    def _apply(self, ticket: Ticket) -> None:
        ticket.major = True


class ChildLinked(TicketEvent):
    child: str

    def _apply(self, ticket: Ticket) -> None:
        ticket.children.append(self.child)


class LinkedToParent(TicketEvent):
    parent: str

    def _apply(self, ticket: Ticket) -> None:
        ticket.parent = self.parent


class CommunicationSent(TicketEvent):
    audience: str
    message: str
    channel: str | None

    def _apply(self, ticket: Ticket) -> None:
        ticket.communication_count += 1


class PostIncidentReviewRecorded(TicketEvent):
    summary: str
    root_cause: str
    actions: list[str]

    def _apply(self, ticket: Ticket) -> None:
        ticket.reviewed = True


class ProblemLinked(TicketEvent):
    problem: str

    def _apply(self, ticket: Ticket) -> None:
        ticket.problem = self.problem


class SlaTimerStarted(TicketEvent):
    """A timer of an SLA that applies to the ticket, pinned to a policy version.

    ``retroactive`` timers were started by a priority change and run from the opening.
    """

    name: str
    kind: str
    target_seconds: int
    calendar: str
    pause_on: list[str]
    warn_at: list[int]
    policy_version: int
    started_at: datetime
    retroactive: bool

    def _apply(self, ticket: Ticket) -> None:
        ticket.sla_timers.append(
            SlaTimer(
                name=self.name,
                kind=self.kind,
                target_seconds=self.target_seconds,
                calendar=self.calendar,
                pause_on=tuple(self.pause_on),
                warn_at=tuple(self.warn_at),
                policy_version=self.policy_version,
                started_at=self.started_at,
                retroactive=self.retroactive,
            )
        )


class SlaTimerCancelled(TicketEvent):
    """The SLA no longer applies (the priority changed)."""

    name: str

    def _apply(self, ticket: Ticket) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.cancelled_at = self.occurred_at


class SlaWarningReached(TicketEvent):
    """A timer's elapsed time reached ``threshold`` percent of its target at ``reached_at``."""

    name: str
    threshold: int
    reached_at: datetime

    def _apply(self, ticket: Ticket) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.warnings_recorded.append(self.threshold)


class SlaBreached(TicketEvent):
    """A timer passed its target; ``breached_at`` is the exact instant (its due time)."""

    name: str
    breached_at: datetime

    def _apply(self, ticket: Ticket) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.breach_recorded = self.breached_at
