"""A ticket's state and the facts that change it: every event, past tense, with its mutator.

:class:`TicketFacts` declares what a ticket knows; each event class below records one fact and,
in ``_apply``, the change it makes to that state. The command methods that decide whether a
fact may happen live in :mod:`engine.ticket.rules` (:class:`~engine.ticket.rules.Ticket`
extends this class); they raise before any event exists, so these mutators only record.
Replay runs them again, so they never read a clock, random numbers or configuration.

Every event carries the envelope described in docs/events.md (``ref``, ``occurred_at``,
``actor``, ``reason``, ``command_id``; ``timestamp`` is when it was recorded) and its link in
the ticket's hash chain (:mod:`engine.chain`). ``source`` keeps metadata of imported
history; ``None`` for live work. A state-changing event names the lifecycle action it
records (``action``); the state it enters comes from the lifecycle table, so projections
read the table, not event names.

One module, past 500 lines: every event type with its mutator, so that a ticket's state and
everything that changes it are read in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from engine.chain import Chained, LedgerEvent
from engine.envelope import keep_recorded
from engine.lifecycle import LIFECYCLE, Action
from engine.sla import Phase, SlaTerms, SlaTimer
from engine.vocabulary import HoldReason, TicketKind, TicketState

#: The descriptive fields ``update`` may change (docs/cli.md), by their ticket attribute names.
UPDATABLE = (
    "title",
    "description",
    "category",
    "subcategory",
    "service",
    "affected_services",
    "affected_users",
    "change",
)


class TicketFacts(Chained):
    """What a ticket knows, changed only by the events below.

    Version 2 added a major incident's roles (``commander``, ``comms_lead``), its impact
    instants and ``affected_services``; snapshots taken before are upcast
    (:meth:`upcast_v1_v2`), as eventsourcing does for aggregates with a ``class_version``.
    """

    class_version = 2

    def __init__(self) -> None:
        self.ref = ""
        self.kind = TicketKind.INCIDENT
        self.title = ""
        self.description: str | None = None
        self.caller = ""
        self.channel: str | None = None
        self.category: str | None = None
        self.subcategory: str | None = None
        self.service: str | None = None
        self.impact = 3
        self.urgency = 3
        self.priority = 5
        self.assignment_group: str | None = None
        self.assignee: str | None = None
        self.tier = 1
        self.state = TicketState.NEW
        self.hold_reason: str | None = None
        self.resolution_code: str | None = None
        self.resolution_notes: str | None = None
        self.resolved_by_parent: str | None = None
        self.knowledge: str | None = None
        self.problem: str | None = None
        self.change: str | None = None
        self.parent: str | None = None
        self.children: list[str] = []
        self.major = False
        self.reviewed = False
        self.affected_users: int | None = None
        self.affected_services: list[str] = []
        self.commander: str | None = None
        self.comms_lead: str | None = None
        self.impact_started_at: datetime | None = None
        self.impact_detected_at: datetime | None = None
        self.impact_mitigated_at: datetime | None = None
        self.reassignment_count = 0
        self.reopen_count = 0
        self.escalation_count = 0
        self.hold_count = 0
        self.comment_count = 0
        self.communication_count = 0
        self.policy_version = 0
        self.opened_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.phases: list[Phase] = []
        self.sla_timers: list[SlaTimer] = []
        self._init_chain()

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot from before version 2: no roles, impact instants or affected services."""
        state.update(
            affected_services=[],
            commander=None,
            comms_lead=None,
            impact_started_at=None,
            impact_detected_at=None,
            impact_mitigated_at=None,
        )

    def enter(self, state: TicketState, at: datetime, hold_reason: str | None = None) -> None:
        """Mutator helper: the ticket enters ``state`` at ``at`` (kept for SLA timing)."""
        self.state = state
        self.hold_reason = hold_reason
        self.phases.append(Phase(at, state, hold_reason))

    def active_timer(self, name: str) -> SlaTimer | None:
        """The latest timer of this SLA that was not canceled by a priority change."""
        for timer in reversed(self.sla_timers):
            if timer.name == name and timer.canceled_at is None:
                return timer
        return None

    def active_timers(self) -> list[SlaTimer]:
        return [t for t in self.sla_timers if t.canceled_at is None]


class TicketEvent(LedgerEvent):
    """Base of every ticket event. ``action``: the lifecycle action whose effect it records
    (None for facts that do not change the state)."""

    action: ClassVar[Action | None] = None

    @classmethod
    def enters(cls) -> TicketState | None:
        """The state a ticket is in after this event, from the lifecycle table."""
        return LIFECYCLE[cls.action].to if cls.action is not None else None

    def apply(self, aggregate: Any) -> None:
        ticket: TicketFacts = aggregate
        self._apply(ticket)
        super().apply(ticket)

    def _apply(self, ticket: TicketFacts) -> None:
        """Record this event's effect on the ticket (overridden per event)."""


class TicketOpened(TicketEvent, Aggregate.Created):
    """A ticket was opened; it is ``new``. ``priority`` comes from the policy's matrix,
    ``policy_version`` is the policy in force at opening (0: none was loaded)."""

    action = Action.OPEN
    topic_of_stream = "engine.ticket:Ticket"

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

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.ref = self.ref
        ticket.kind = TicketKind(self.kind)
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
        ticket.enter(TicketState.NEW, self.occurred_at)
        ticket.opened_at = self.occurred_at


class Assigned(TicketEvent):
    """The assignment group and/or assignee changed."""

    assignment_group: str | None
    assignee: str | None
    reassigned: bool

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.assignment_group = self.assignment_group
        ticket.assignee = self.assignee
        if self.reassigned:
            ticket.reassignment_count += 1


class WorkStarted(TicketEvent):
    """Work started: the ticket left ``new`` for ``in_progress`` (``start``, or a person
    assigned to a new ticket)."""

    action = Action.START

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.IN_PROGRESS, self.occurred_at)


class PutOnHold(TicketEvent):
    """The ticket went on hold for ``hold_reason``; ``comment`` is what the caller was
    asked (required when awaiting the caller)."""

    action = Action.HOLD

    hold_reason: str
    comment: str | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.ON_HOLD, self.occurred_at, HoldReason(self.hold_reason))
        ticket.hold_count += 1


class Resumed(TicketEvent):
    """Work resumed after a hold; ``by_caller_reply`` when the caller's answer resumed it."""

    action = Action.RESUME

    by_caller_reply: bool

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.IN_PROGRESS, self.occurred_at)


class Resolved(TicketEvent):
    """The ticket was resolved with ``code`` and ``notes``; ``by_parent`` names the major
    incident whose resolution resolved it (the code is then ``resolved_by_parent``)."""

    action = Action.RESOLVE

    code: str
    notes: str
    knowledge: str | None
    by_parent: str | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.RESOLVED, self.occurred_at)
        ticket.resolution_code = self.code
        ticket.resolution_notes = self.notes
        ticket.knowledge = self.knowledge
        ticket.resolved_by_parent = self.by_parent
        ticket.resolved_at = self.occurred_at


class Reopened(TicketEvent):
    """A resolved ticket was reopened (why: the envelope's ``reason``); ``by_parent`` names
    the major incident whose reopening reopened it."""

    action = Action.REOPEN

    by_parent: str | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.IN_PROGRESS, self.occurred_at)
        ticket.reopen_count += 1
        ticket.resolution_code = None
        ticket.resolution_notes = None
        ticket.resolved_by_parent = None
        ticket.resolved_at = None


class Closed(TicketEvent):
    """A resolved ticket was closed, for good; ``automatically`` when the policy's
    ``auto_close_after`` closed it."""

    action = Action.CLOSE

    automatically: bool

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.CLOSED, self.occurred_at)
        ticket.closed_at = self.occurred_at


class Canceled(TicketEvent):
    """The ticket was canceled, for good (why: the envelope's ``reason``)."""

    action = Action.CANCEL

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.enter(TicketState.CANCELED, self.occurred_at)
        ticket.closed_at = self.occurred_at


class Reprioritized(TicketEvent):
    """Impact and/or urgency changed; ``priority`` is the new priority from the policy's
    matrix, ``previous_priority`` the one before."""

    impact: int
    urgency: int
    priority: int
    previous_priority: int

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.impact = self.impact
        ticket.urgency = self.urgency
        ticket.priority = self.priority


class FunctionallyEscalated(TicketEvent):
    """Moved to a higher support tier and a new group (counts as a reassignment)."""

    tier: int
    assignment_group: str
    reassigned: bool

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.tier = self.tier
        ticket.assignment_group = self.assignment_group
        ticket.assignee = None
        ticket.escalation_count += 1
        if self.reassigned:
            ticket.reassignment_count += 1


class HierarchicallyEscalated(TicketEvent):
    """Management was notified; the ticket does not move."""

    to: str

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.escalation_count += 1


class CommentAdded(TicketEvent):
    """A work note (``internal``) or a comment the caller sees (``customer``)."""

    text: str
    visibility: str

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.comment_count += 1


class MajorIncidentDeclared(TicketEvent):
    """The incident was declared a major incident (why: the envelope's ``reason``)."""

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.major = True


class ChildLinked(TicketEvent):
    """On a major incident: the incident ``child`` was linked to it."""

    child: str

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.children.append(self.child)


class LinkedToParent(TicketEvent):
    """On the child: it was linked to the major incident ``parent``."""

    parent: str

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.parent = self.parent


class CommunicationSent(TicketEvent):
    """A communication about a major incident went to ``audience``."""

    audience: str
    message: str
    channel: str | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.communication_count += 1


class PostIncidentReviewRecorded(TicketEvent):
    """The post-incident review of a major incident. ``actions`` are action items, each
    ``{"text", "owner", "due", "link"}`` (``due`` an ISO date; the others text or null).

    Version 3 added ``contributing_factors``, ``went_well``, ``lessons`` and structured
    action items; reviews recorded before had plain-text actions (:meth:`upcast_v2_v3`).
    """

    class_version: ClassVar[int] = 3

    summary: str
    root_cause: str
    actions: list[dict[str, Any]]
    contributing_factors: list[str]
    went_well: list[str]
    lessons: list[str]

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A review recorded with plain-text actions and nothing else: each action becomes an
        item with no owner, due date or link, and the new lists are empty. The data as
        recorded is kept for the event's envelope (its hash covers that)."""
        keep_recorded(state)
        state["actions"] = [
            action_item(text=item) if isinstance(item, str) else item for item in state["actions"]
        ]
        for name in ("contributing_factors", "went_well", "lessons"):
            state.setdefault(name, [])

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.reviewed = True


def action_item(
    *, text: str, owner: str | None = None, due: str | None = None, link: str | None = None
) -> dict[str, Any]:
    """An action item as reviews record it."""
    return {"text": text, "owner": owner, "due": due, "link": link}


class TicketDetailsUpdated(TicketEvent):
    """Descriptive fields changed after opening: ``changes`` holds each field that changed
    with its new value, ``previous`` its value before (field names of :data:`UPDATABLE`)."""

    changes: dict[str, Any]
    previous: dict[str, Any]

    def _apply(self, ticket: TicketFacts) -> None:
        for name, value in self.changes.items():
            if name in UPDATABLE:
                setattr(ticket, name, list(value) if isinstance(value, list) else value)


class IncidentRolesAssigned(TicketEvent):
    """Who leads a major incident now: its incident commander and communications lead."""

    commander: str | None
    comms_lead: str | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.commander = self.commander
        ticket.comms_lead = self.comms_lead


class ImpactTimesRecorded(TicketEvent):
    """When a major incident's impact started, was detected and was mitigated, as known now
    (None: not known)."""

    started_at: datetime | None
    detected_at: datetime | None
    mitigated_at: datetime | None

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.impact_started_at = self.started_at
        ticket.impact_detected_at = self.detected_at
        ticket.impact_mitigated_at = self.mitigated_at


class ProblemLinked(TicketEvent):
    """The ticket was linked to the problem record ``problem``."""

    problem: str

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.problem = self.problem


class SlaTimerStarted(TicketEvent):
    """A timer of an SLA that applies to the ticket, pinned to a policy version.

    The SLA's terms are stored flat (``name``, ``kind``, ``target_seconds``, ``calendar``,
    ``pause_on``, ``warn_at``; see :class:`~engine.sla.SlaTerms`). ``retroactive`` timers
    were started by a priority change and run from the opening.
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

    @property
    def terms(self) -> SlaTerms:
        return SlaTerms.from_fields(self.__dict__)

    def _apply(self, ticket: TicketFacts) -> None:
        ticket.sla_timers.append(
            SlaTimer(
                terms=self.terms,
                policy_version=self.policy_version,
                started_at=self.started_at,
                retroactive=self.retroactive,
            )
        )


class SlaTimerCanceled(TicketEvent):
    """The SLA no longer applies (the priority changed)."""

    name: str

    def _apply(self, ticket: TicketFacts) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.canceled_at = self.occurred_at


class SlaWarningReached(TicketEvent):
    """A timer's elapsed time reached ``threshold`` percent of its target at ``reached_at``."""

    name: str
    threshold: int
    reached_at: datetime

    def _apply(self, ticket: TicketFacts) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.warnings_recorded.append(self.threshold)


class SlaBreached(TicketEvent):
    """A timer passed its target; ``breached_at`` is the exact instant (its due time)."""

    name: str
    breached_at: datetime

    def _apply(self, ticket: TicketFacts) -> None:
        timer = ticket.active_timer(self.name)
        if timer is not None:
            timer.breach_recorded = self.breached_at
