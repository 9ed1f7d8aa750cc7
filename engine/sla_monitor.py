"""SLA monitoring: the domain service that keeps a ticket's timers and deadlines recorded.

Before a command runs at time *t*, and when the clock ticks (``advance``), the application
service asks the monitor to :meth:`~SlaMonitor.catch_up`: record every SLA warning and breach
that fell before *t* at the instant it occurred (docs/sla.md: milestones are events), then the
automatic close ``lifecycle.auto_close_after`` after resolution. When a ticket opens, the
monitor starts the timers of the SLAs that apply; when its priority changes, it re-targets
them retroactively from the opening. Everything it records is stamped by the system actor at
the milestone's instant, or at the ticket's last event time if that is later, so each
ticket's stream stays in time order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from engine.chain import Stamp
from engine.policy import Policy, SlaDefinition
from engine.sla import (
    Milestone,
    MilestoneWalks,
    SlaTerms,
    TimerStatus,
    due_milestones,
    evaluate,
    next_milestone,
)
from engine.ticket import Ticket
from engine.vocabulary import TicketState

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar

SYSTEM_ACTOR = "system"

CalendarLookup = Callable[[int, str], "BusinessCalendar"]
PolicyLookup = Callable[[int | None], Policy]
SystemStamp = Callable[[datetime], Stamp]


def applicable(ticket: Ticket, policy: Policy) -> list[SlaDefinition]:
    """The SLA definitions of ``policy`` that apply to ``ticket`` as it is now."""
    return [
        definition
        for definition in policy.slas
        if definition.applies(
            ticket_kind=ticket.kind,
            priority=ticket.priority,
            category=ticket.category,
            group=ticket.assignment_group,
        )
    ]


class SlaMonitor:
    """Starts, re-targets and catches up a ticket's SLA timers and auto-close."""

    def __init__(
        self,
        *,
        calendar: CalendarLookup,
        policy: PolicyLookup,
        system_stamp: SystemStamp,
        walks: MilestoneWalks | None = None,
    ) -> None:
        self._calendar = calendar
        self._policy = policy
        self._system_stamp = system_stamp
        #: Walks over long tickets' phases, resumed by the next command (see next_milestone).
        self._walks = MilestoneWalks() if walks is None else walks

    # ------------------------------------------------------------------ timers

    def start_timers(self, ticket: Ticket, stamp: Stamp, policy: Policy) -> None:
        """Start a timer for every SLA of ``policy`` that applies to the new ticket."""
        for definition in applicable(ticket, policy):
            terms = self._terms(ticket, definition, policy.version)
            ticket.start_timer(stamp, terms, policy_version=policy.version)

    def retarget(self, ticket: Ticket, stamp: Stamp) -> None:
        """The priority changed: cancel timers that no longer apply, start those that now
        apply retroactively from the opening, and record what they already passed."""
        policy = self._policy(ticket.policy_version)
        wanted = {d.name: d for d in applicable(ticket, policy)}
        for timer in ticket.active_timers():
            if timer.name not in wanted:
                ticket.cancel_timer(stamp, timer.name, f"priority is now {ticket.priority}")
        running = {t.name for t in ticket.active_timers()}
        for name, definition in wanted.items():
            if name not in running:
                terms = self._terms(ticket, definition, policy.version)
                ticket.start_timer(stamp, terms, policy_version=policy.version, retroactive=True)
        self.record_milestones(ticket, stamp.occurred_at)

    def _terms(self, ticket: Ticket, definition: SlaDefinition, version: int) -> SlaTerms:
        """The terms of a timer of ``definition`` running from the ticket's opening (a target
        in working days takes its length from there: :mod:`engine.business_days`)."""
        if definition.business_days is None or ticket.opened_at is None:
            return definition.terms
        calendar = self._calendar(version, definition.terms.calendar)
        return definition.terms_for(ticket.opened_at, calendar)

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` of policy ``version`` (pinned holidays)."""
        return self._calendar(version, name)

    def statuses(self, ticket: Ticket, at: datetime) -> list[TimerStatus]:
        """Every timer of ``ticket`` evaluated at ``at`` on its pinned calendar."""
        return [
            evaluate(timer, ticket.phases, self._calendar(timer.policy_version, timer.calendar), at)
            for timer in ticket.sla_timers
        ]

    # ------------------------------------------------------------------ the clock

    def catch_up(self, ticket: Ticket, until: datetime) -> None:
        """Record what the clock made due on ``ticket`` before ``until``: SLA milestones,
        then the automatic close ``lifecycle.auto_close_after`` after resolution."""
        if ticket.is_final:
            return
        self.record_milestones(ticket, until)
        due = self.auto_close_due(ticket)
        if due is not None and due <= until:
            ticket.close(self._at_or_after_last(ticket, due), automatically=True)

    def auto_close_due(self, ticket: Ticket) -> datetime | None:
        """When a resolved ticket closes by itself under the policy in force (None: never).

        Lifecycle rules follow the policy in force; SLA timers stay pinned to theirs. Major
        incidents never auto-close.
        """
        if ticket.state != TicketState.RESOLVED or ticket.major or ticket.resolved_at is None:
            return None
        after = self._policy(None).auto_close_after
        return None if after is None else ticket.resolved_at + after

    def record_milestones(self, ticket: Ticket, until: datetime) -> None:
        """Record SLA warnings and breaches that fell before ``until``, in time order."""
        found: list[Milestone] = []
        for timer in ticket.active_timers():
            calendar = self._calendar(timer.policy_version, timer.calendar)
            upcoming = next_milestone(timer, ticket.phases, calendar, self._walks)
            if upcoming is None or until <= upcoming:
                continue  # nothing of this timer is due yet (see next_milestone)
            # A timer restarted by re-targeting does not announce again a breach that an
            # earlier timer of the same SLA already recorded at the same instant.
            announced = {
                t.breach_recorded
                for t in ticket.sla_timers
                if t.name == timer.name and t is not timer and t.breach_recorded is not None
            }
            for milestone in due_milestones(timer, ticket.phases, calendar, until):
                if milestone.threshold is None and milestone.instant in announced:
                    continue
                found.append(milestone)
        found.sort(key=lambda m: (m.instant, m.threshold is None, m.threshold or 0))
        for milestone in found:
            ticket.record_milestone(self._at_or_after_last(ticket, milestone.instant), milestone)

    def _at_or_after_last(self, ticket: Ticket, instant: datetime) -> Stamp:
        """A system stamp at ``instant``, or at the ticket's last event if that is later (a
        policy loaded after a deadline closes the ticket now, not in the past)."""
        last = ticket.last_occurred_at
        return self._system_stamp(instant if last is None or instant >= last else last)
