"""The Ticket aggregate: the lifecycle of SPEC §2 as rules that raise before anything changes.

Each public command method checks its rule and raises a typed error (writing nothing), then
records one or more events through :meth:`Ticket._record`, which links each event into the
ticket's hash chain. State changes happen only in the events' mutators
(:mod:`engine.events`), so replaying the stored events rebuilds exactly the live ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

from engine import events as ev
from engine.chain import Chained, Stamp
from engine.errors import (
    CommandValidationError,
    InvalidTransitionError,
    NotPermittedError,
    TicketFinalError,
)
from engine.ids import ticket_id
from engine.policy import HOLD_REASONS, TICKET_KINDS, SlaDefinition
from engine.sla import Milestone, Phase, SlaTimer

STATES = ("new", "in_progress", "on_hold", "resolved", "closed", "canceled")
FINAL_STATES = frozenset({"closed", "canceled"})
OPEN_STATES = frozenset({"new", "in_progress", "on_hold"})
CHANNELS = ("phone", "email", "portal", "chat", "walk_in", "monitoring", "virtual_agent")
VISIBILITIES = ("internal", "customer")
RESOLVED_BY_PARENT = "resolved_by_parent"


class Unset:
    """Marks a field the command did not mention (as opposed to ``None``, which clears)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def _require_text(field: str, value: str | None, ref: str) -> str:
    if value is None or not str(value).strip():
        raise CommandValidationError(field, "is required", ref=ref)
    return str(value)


def _check_level(field: str, value: int, ref: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise CommandValidationError(field, f"must be 1, 2 or 3, got {value!r}", ref=ref)
    return value


class Ticket(Chained):
    """An incident or service request, identified by its ref."""

    def __init__(self) -> None:
        self.ref = ""
        self.kind = "incident"
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
        self.state = "new"
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

    def enter(self, state: str, at: datetime, hold_reason: str | None = None) -> None:
        """Mutator helper: the ticket enters ``state`` at ``at`` (kept for SLA timing)."""
        self.state = state
        self.hold_reason = hold_reason
        self.phases.append(Phase(at, state, hold_reason))

    def active_timer(self, name: str) -> SlaTimer | None:
        """The latest timer of this SLA that was not cancelled by a priority change."""
        for timer in reversed(self.sla_timers):
            if timer.name == name and timer.cancelled_at is None:
                return timer
        return None

    def active_timers(self) -> list[SlaTimer]:
        return [t for t in self.sla_timers if t.cancelled_at is None]

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        stamp: Stamp,
        *,
        ref: str,
        kind: str,
        title: str,
        caller: str,
        impact: int,
        urgency: int,
        priority: int,
        policy_version: int,
        description: str | None = None,
        channel: str | None = None,
        category: str | None = None,
        subcategory: str | None = None,
        service: str | None = None,
        group: str | None = None,
        assignee: str | None = None,
        affected_users: int | None = None,
    ) -> Ticket:
        """Open a ticket: it is always ``new``, whatever fields it sets."""
        if kind not in TICKET_KINDS:
            raise CommandValidationError(
                "kind", f"unknown kind {kind!r} (one of {', '.join(TICKET_KINDS)})", ref=ref
            )
        _require_text("title", title, ref)
        _require_text("caller", caller, ref)
        _check_level("impact", impact, ref)
        _check_level("urgency", urgency, ref)
        if channel is not None and channel not in CHANNELS:
            raise CommandValidationError(
                "channel", f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})", ref=ref
            )
        if affected_users is not None and affected_users < 0:
            raise CommandValidationError("affected_users", "must not be negative", ref=ref)
        ticket: Ticket = cls._start_stream(
            ev.TicketOpened,
            stamp,
            originator_id=ticket_id(ref),
            ref=ref,
            kind=kind,
            title=title,
            description=description,
            caller=caller,
            channel=channel,
            category=category,
            subcategory=subcategory,
            service=service,
            impact=impact,
            urgency=urgency,
            priority=priority,
            assignment_group=group,
            assignee=assignee,
            affected_users=affected_users,
            policy_version=policy_version,
        )
        return ticket

    # ------------------------------------------------------------------ guards

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def ensure_not_final(self, command: str) -> None:
        if self.state in FINAL_STATES:
            raise TicketFinalError(self.ref, self.state, command)

    def _ensure_state(self, command: str, allowed: frozenset[str] | tuple[str, ...]) -> None:
        self.ensure_not_final(command)
        if self.state not in allowed:
            raise InvalidTransitionError(self.ref, self.state, command)

    def _ensure_major(self, problem: str) -> None:
        if not self.major:
            raise CommandValidationError("ref", problem, ref=self.ref)

    def ensure_in_time(self, at: datetime) -> None:
        """Events of a ticket stay in time order: a command may not happen before the last."""
        if self.last_occurred_at is not None and at < self.last_occurred_at:
            raise CommandValidationError(
                "at",
                f"{at.isoformat()} is before the ticket's last event at "
                f"{self.last_occurred_at.isoformat()}",
                ref=self.ref,
            )

    # ------------------------------------------------------------------ commands

    def assign(
        self,
        stamp: Stamp,
        *,
        group: str | Unset | None = UNSET,
        assignee: str | Unset | None = UNSET,
    ) -> None:
        """Set group and/or assignee (``None`` clears). Assigning a person to a new ticket
        starts work. A change of group counts as a reassignment."""
        self.ensure_not_final("assign")
        if isinstance(group, Unset) and isinstance(assignee, Unset):
            raise CommandValidationError("group", "give a group and/or an assignee", ref=self.ref)
        new_group = self.assignment_group if isinstance(group, Unset) else group
        new_assignee = self.assignee if isinstance(assignee, Unset) else assignee
        if (new_group, new_assignee) != (self.assignment_group, self.assignee):
            self._record(
                ev.Assigned,
                stamp,
                assignment_group=new_group,
                assignee=new_assignee,
                reassigned=new_group != self.assignment_group,
            )
        if self.state == "new" and new_assignee is not None and not isinstance(assignee, Unset):
            self._record(ev.WorkStarted, stamp)

    def start(self, stamp: Stamp) -> None:
        self._ensure_state("start", ("new",))
        self._record(ev.WorkStarted, stamp)

    def hold(self, stamp: Stamp, *, reason: str, comment: str | None = None) -> None:
        """Put on hold for one of the hold reasons; ``awaiting_caller`` needs the question."""
        self._ensure_state("hold", ("new", "in_progress"))
        if reason not in HOLD_REASONS:
            raise CommandValidationError(
                "reason",
                f"unknown hold reason {reason!r} (one of {', '.join(HOLD_REASONS)})",
                ref=self.ref,
            )
        if reason == "awaiting_caller" and not (comment and comment.strip()):
            raise CommandValidationError(
                "comment",
                "is required when awaiting_caller (what is the caller asked?)",
                ref=self.ref,
            )
        self._record(ev.PutOnHold, stamp, hold_reason=reason, comment=comment)

    def resume(self, stamp: Stamp) -> None:
        self._ensure_state("resume", ("on_hold",))
        self._record(ev.Resumed, stamp, by_caller_reply=False)

    def resolve(
        self,
        stamp: Stamp,
        *,
        code: str,
        notes: str,
        knowledge: str | None = None,
        by_parent: str | None = None,
    ) -> None:
        self._ensure_state("resolve", OPEN_STATES)
        _require_text("code", code, self.ref)
        _require_text("notes", notes, self.ref)
        self._record(
            ev.Resolved, stamp, code=code, notes=notes, knowledge=knowledge, by_parent=by_parent
        )

    def reopen(self, stamp: Stamp, *, reason: str, by_parent: str | None = None) -> None:
        self._ensure_state("reopen", ("resolved",))
        _require_text("reason", reason, self.ref)
        self._record(ev.Reopened, stamp, reason=reason, by_parent=by_parent)

    def close(self, stamp: Stamp, *, automatically: bool = False) -> None:
        self._ensure_state("close", ("resolved",))
        self._record(ev.Closed, stamp, automatically=automatically)

    def cancel(self, stamp: Stamp, *, reason: str) -> None:
        self._ensure_state("cancel", OPEN_STATES)
        _require_text("reason", reason, self.ref)
        self._record(ev.Canceled, stamp, reason=reason)

    def reprioritize(
        self, stamp: Stamp, *, impact: int, urgency: int, priority: int, reason: str
    ) -> None:
        self.ensure_not_final("reprioritize")
        _check_level("impact", impact, self.ref)
        _check_level("urgency", urgency, self.ref)
        _require_text("reason", reason, self.ref)
        if (impact, urgency, priority) == (self.impact, self.urgency, self.priority):
            return
        self._record(
            ev.Reprioritized,
            stamp,
            impact=impact,
            urgency=urgency,
            priority=priority,
            previous_priority=self.priority,
            reason=reason,
        )

    def escalate_functionally(
        self, stamp: Stamp, *, tier: int, group: str, reason: str | None = None
    ) -> None:
        """Move to a higher tier and a new group."""
        self.ensure_not_final("escalate")
        if isinstance(tier, bool) or not isinstance(tier, int) or not 1 <= tier <= 3:
            raise CommandValidationError("tier", f"must be 1, 2 or 3, got {tier!r}", ref=self.ref)
        if tier <= self.tier:
            raise CommandValidationError(
                "tier",
                f"functional escalation goes up: ticket is at tier {self.tier}, asked for {tier}",
                ref=self.ref,
            )
        _require_text("group", group, self.ref)
        self._record(
            ev.FunctionallyEscalated,
            stamp,
            tier=tier,
            assignment_group=group,
            reassigned=group != self.assignment_group,
            reason=reason,
        )

    def escalate_hierarchically(self, stamp: Stamp, *, to: str, reason: str | None = None) -> None:
        """Notify management; the ticket does not move."""
        self.ensure_not_final("escalate")
        _require_text("to", to, self.ref)
        self._record(ev.HierarchicallyEscalated, stamp, to=to, reason=reason)

    def comment(self, stamp: Stamp, *, text: str, visibility: str = "internal") -> None:
        """A work note or customer-visible comment; the caller's reply resumes an
        ``awaiting_caller`` hold."""
        self.ensure_not_final("comment")
        _require_text("text", text, self.ref)
        if visibility not in VISIBILITIES:
            raise CommandValidationError(
                "visibility", f"must be 'internal' or 'customer', got {visibility!r}", ref=self.ref
            )
        self._record(ev.CommentAdded, stamp, text=text, visibility=visibility)
        if (
            visibility == "customer"
            and stamp.actor == self.caller
            and self.state == "on_hold"
            and self.hold_reason == "awaiting_caller"
        ):
            self._record(ev.Resumed, stamp, by_caller_reply=True)

    def declare_major(self, stamp: Stamp, *, reason: str, declarers: frozenset[str] | None) -> None:
        """Declare a priority-1 incident major (only by an allowed actor, if the policy says)."""
        self.ensure_not_final("declare_major")
        if self.state == "resolved":
            raise InvalidTransitionError(self.ref, self.state, "declare_major")
        _require_text("reason", reason, self.ref)
        if self.kind != "incident":
            raise CommandValidationError(
                "ref", "only incidents can be declared major", ref=self.ref
            )
        if self.priority != 1:
            raise CommandValidationError(
                "ref",
                f"only priority-1 incidents can be declared major (priority is {self.priority})",
                ref=self.ref,
            )
        if self.major:
            raise CommandValidationError("ref", "is already a major incident", ref=self.ref)
        if self.parent is not None:
            raise CommandValidationError(
                "ref", f"is a child of major incident {self.parent}", ref=self.ref
            )
        if declarers is not None and stamp.actor not in declarers:
            raise NotPermittedError(
                "as", f"{stamp.actor!r} may not declare major incidents", ref=self.ref
            )
        self._record(ev.MajorIncidentDeclared, stamp, reason=reason)

    def link_child(self, stamp: Stamp, child: Ticket) -> None:
        """Link another incident under this major incident (records on both tickets)."""
        self.ensure_not_final("link_child")
        self._ensure_major("children can only be linked to a major incident")
        if child.ref == self.ref:
            raise CommandValidationError("child", "a ticket cannot be its own child", ref=self.ref)
        child.ensure_not_final("link_to_parent")
        if child.kind != "incident":
            raise CommandValidationError(
                "child", f"{child.ref} is a {child.kind}, not an incident", ref=self.ref
            )
        if child.major:
            raise CommandValidationError(
                "child", f"{child.ref} is itself a major incident", ref=self.ref
            )
        if child.parent is not None:
            raise CommandValidationError(
                "child", f"{child.ref} is already linked to {child.parent}", ref=self.ref
            )
        self._record(ev.ChildLinked, stamp, child=child.ref)
        child._record(ev.LinkedToParent, stamp, parent=self.ref)

    def communicate(
        self, stamp: Stamp, *, audience: str, message: str, channel: str | None = None
    ) -> None:
        self.ensure_not_final("communicate")
        self._ensure_major("communications are recorded on major incidents")
        _require_text("audience", audience, self.ref)
        _require_text("message", message, self.ref)
        self._record(
            ev.CommunicationSent, stamp, audience=audience, message=message, channel=channel
        )

    def review(self, stamp: Stamp, *, summary: str, root_cause: str, actions: list[str]) -> None:
        """Attach the post-incident review to a resolved major incident."""
        self._ensure_state("review", ("resolved",))
        self._ensure_major("post-incident reviews are for major incidents")
        _require_text("summary", summary, self.ref)
        _require_text("root_cause", root_cause, self.ref)
        self._record(
            ev.PostIncidentReviewRecorded,
            stamp,
            summary=summary,
            root_cause=root_cause,
            actions=list(actions),
        )

    def link_problem(self, stamp: Stamp, *, problem: str) -> None:
        self.ensure_not_final("link_problem")
        _require_text("problem", problem, self.ref)
        if problem != self.problem:
            self._record(ev.ProblemLinked, stamp, problem=problem)

    # ------------------------------------------------------------------ SLA timers

    def start_timer(
        self,
        stamp: Stamp,
        definition: SlaDefinition,
        *,
        policy_version: int,
        retroactive: bool = False,
    ) -> None:
        """Start the timer of an SLA that applies, running from the ticket's opening."""
        if self.opened_at is None:  # pragma: no cover - TicketOpened always sets it
            raise InvalidTransitionError(self.ref, self.state, "start_timer", "not opened")
        self._record(
            ev.SlaTimerStarted,
            stamp,
            name=definition.name,
            kind=definition.kind,
            target_seconds=int(definition.target.total_seconds()),
            calendar=definition.calendar,
            pause_on=list(definition.pause_on),
            warn_at=list(definition.warn_at),
            policy_version=policy_version,
            started_at=self.opened_at,
            retroactive=retroactive,
        )

    def cancel_timer(self, stamp: Stamp, name: str, reason: str) -> None:
        self._record(ev.SlaTimerCancelled, stamp, name=name, reason=reason)

    def record_milestone(self, stamp: Stamp, milestone: Milestone) -> None:
        """Record a warning or breach that the clock made due (see engine.sla)."""
        if milestone.threshold is None:
            self._record(ev.SlaBreached, stamp, name=milestone.timer, breached_at=milestone.instant)
        else:
            self._record(
                ev.SlaWarningReached,
                stamp,
                name=milestone.timer,
                threshold=milestone.threshold,
                reached_at=milestone.instant,
            )

    # ------------------------------------------------------------------ queries

    @property
    def ticket_id(self) -> UUID:
        return self.id
