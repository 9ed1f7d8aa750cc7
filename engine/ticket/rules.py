"""The Ticket aggregate's commands: the rules of docs/lifecycle.md, which raise before anything
changes.

Each public method checks its rule against the lifecycle table (:mod:`engine.lifecycle`) and
the ticket's facts, raises a typed error (writing nothing), then records one or more events
through :meth:`~engine.chain.Chained._record`, which links each into the ticket's hash chain.
A ticket only ever records events on itself: rules that span tickets (a major incident and its
children) are policies the application service runs over both (:mod:`engine.major_incident`).

One module, past 500 lines: every command of the aggregate, so that the rules of
docs/lifecycle.md are read in one place, next to the lifecycle table they consult.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from engine.chain import Stamp
from engine.errors import CommandValidationError, InvalidTransitionError, NotPermittedError
from engine.ids import ticket_id
from engine.lifecycle import FINAL_STATES, Action, after_assignment, check, resumes_on_reply
from engine.sla import Milestone, SlaTerms
from engine.snapshots import TicketSnapshot
from engine.ticket import facts as ev
from engine.ticket.facts import UPDATABLE, TicketFacts
from engine.vocabulary import Channel, HoldReason, TicketKind, TicketState, Visibility, values

RESOLVED_BY_PARENT = "resolved_by_parent"


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


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


def _check_choice(
    field: str, value: str | None, enum: type[Channel | HoldReason], ref: str
) -> None:
    if value is not None and value not in set(enum):
        raise CommandValidationError(
            field, f"unknown {field} {value!r} (one of {values(enum)})", ref=ref
        )


class Ticket(TicketFacts):
    """An incident or service request, identified by its ref."""

    Snapshot = TicketSnapshot  # type: ignore[assignment]  # a Snapshot with a digest

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
        if kind not in set(TicketKind):
            raise CommandValidationError(
                "kind", f"unknown kind {kind!r} (one of {values(TicketKind)})", ref=ref
            )
        _require_text("title", title, ref)
        _require_text("caller", caller, ref)
        _check_level("impact", impact, ref)
        _check_level("urgency", urgency, ref)
        _check_choice("channel", channel, Channel, ref)
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

    def _allow(self, action: Action) -> TicketState:
        """The state after ``action``, or the §2 error naming this ticket, its state and it."""
        return check(self.ref, self.state, action)

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

    # ------------------------------------------------------------------ lifecycle

    def assign(
        self,
        stamp: Stamp,
        *,
        group: str | Unset | None = UNSET,
        assignee: str | Unset | None = UNSET,
    ) -> None:
        """Set group and/or assignee (``None`` clears). Assigning a person to a new ticket
        starts work. A change of group counts as a reassignment."""
        self._allow(Action.ASSIGN)
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
        named = None if isinstance(assignee, Unset) else assignee
        if after_assignment(self.state, named) != self.state:
            self._record(ev.WorkStarted, stamp)

    def start(self, stamp: Stamp) -> None:
        self._allow(Action.START)
        self._record(ev.WorkStarted, stamp)

    def hold(self, stamp: Stamp, *, reason: str, comment: str | None = None) -> None:
        """Put on hold for one of the hold reasons; ``awaiting_caller`` needs the question."""
        self._allow(Action.HOLD)
        if reason not in set(HoldReason):
            raise CommandValidationError(
                "reason", f"unknown hold reason {reason!r} (one of {values(HoldReason)})",
                ref=self.ref,
            )  # fmt: skip
        if reason == HoldReason.AWAITING_CALLER and not (comment and comment.strip()):
            raise CommandValidationError(
                "comment",
                "is required when awaiting_caller (what is the caller asked?)",
                ref=self.ref,
            )
        self._record(ev.PutOnHold, stamp, hold_reason=reason, comment=comment)

    def resume(self, stamp: Stamp) -> None:
        self._allow(Action.RESUME)
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
        self._allow(Action.RESOLVE)
        _require_text("code", code, self.ref)
        _require_text("notes", notes, self.ref)
        self._record(
            ev.Resolved, stamp, code=code, notes=notes, knowledge=knowledge, by_parent=by_parent
        )

    def reopen(self, stamp: Stamp, *, reason: str, by_parent: str | None = None) -> None:
        self._allow(Action.REOPEN)
        _require_text("reason", reason, self.ref)
        self._record(ev.Reopened, stamp, reason=reason, by_parent=by_parent)

    def close(self, stamp: Stamp, *, automatically: bool = False) -> None:
        self._allow(Action.CLOSE)
        self._record(ev.Closed, stamp, automatically=automatically)

    def cancel(self, stamp: Stamp, *, reason: str) -> None:
        self._allow(Action.CANCEL)
        _require_text("reason", reason, self.ref)
        self._record(ev.Canceled, stamp, reason=reason)

    # ------------------------------------------------------------------ classification

    def reprioritize(
        self, stamp: Stamp, *, impact: int, urgency: int, priority: int, reason: str
    ) -> None:
        self._allow(Action.REPRIORITIZE)
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
        self._allow(Action.ESCALATE)
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
        self._allow(Action.ESCALATE)
        _require_text("to", to, self.ref)
        self._record(ev.HierarchicallyEscalated, stamp, to=to, reason=reason)

    def comment(self, stamp: Stamp, *, text: str, visibility: str = Visibility.INTERNAL) -> None:
        """A work note or customer-visible comment; the caller's reply resumes an
        ``awaiting_caller`` hold."""
        self._allow(Action.COMMENT)
        _require_text("text", text, self.ref)
        if visibility not in set(Visibility):
            raise CommandValidationError(
                "visibility",
                f"must be one of {values(Visibility)}, got {visibility!r}",
                ref=self.ref,
            )
        self._record(ev.CommentAdded, stamp, text=text, visibility=visibility)
        if resumes_on_reply(
            self.state, self.hold_reason, visibility, by_caller=stamp.actor == self.caller
        ):
            self._record(ev.Resumed, stamp, by_caller_reply=True)

    def update(self, stamp: Stamp, changes: Mapping[str, Any]) -> None:
        """Change descriptive fields (:data:`~engine.ticket.facts.UPDATABLE`) as one
        ``TicketDetailsUpdated`` holding only the fields whose value changes.

        Rules: allowed in every state that is not final (a resolved ticket's details can still
        be corrected before it closes); at least one field, each a known one; ``title`` cannot
        be cleared or blank; ``affected_users`` is not negative; ``affected_services`` is a list
        of names (null clears it to none); an update that changes nothing is rejected, so a
        mistyped command is never taken for a change. It never re-targets SLA timers: only a
        priority change does (docs/sla.md).
        """
        self._allow(Action.UPDATE)
        if not changes:
            raise CommandValidationError(
                "update",
                f"give at least one field to change ({', '.join(UPDATABLE)})",
                ref=self.ref,
            )
        changes = dict(changes)
        if "affected_services" in changes:
            services = changes["affected_services"] or []
            for index, service in enumerate(services):
                _require_text(f"affected_services[{index}]", service, self.ref)
            changes["affected_services"] = list(services)
        for name, value in changes.items():
            if name not in UPDATABLE:
                raise CommandValidationError(
                    name, f"cannot be updated (one of {', '.join(UPDATABLE)})", ref=self.ref
                )
            if name == "title":
                _require_text("title", value, self.ref)
            if name == "affected_users" and value is not None and value < 0:
                raise CommandValidationError("affected_users", "must not be negative", ref=self.ref)
        changed = {
            name: list(value) if isinstance(value, list) else value
            for name, value in changes.items()
            if value != getattr(self, name)
        }
        if not changed:
            given = ", ".join(f"{name}={getattr(self, name)!r}" for name in changes)
            raise CommandValidationError(
                "update", f"changes nothing: the ticket already has {given}", ref=self.ref
            )
        previous = {name: _copy(getattr(self, name)) for name in changed}
        self._record(ev.TicketDetailsUpdated, stamp, changes=changed, previous=previous)

    def link_problem(self, stamp: Stamp, *, problem: str) -> None:
        self._allow(Action.LINK_PROBLEM)
        _require_text("problem", problem, self.ref)
        if problem != self.problem:
            self._record(ev.ProblemLinked, stamp, problem=problem)

    # ------------------------------------------------------------------ major incidents

    def declare_major(self, stamp: Stamp, *, reason: str, declarers: frozenset[str] | None) -> None:
        """Declare a priority-1 incident major (only by an allowed actor, if the policy says)."""
        self._allow(Action.DECLARE_MAJOR)
        _require_text("reason", reason, self.ref)
        if self.kind != TicketKind.INCIDENT:
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

    def link_child(self, stamp: Stamp, *, child: str) -> None:
        """This major incident takes ``child`` (the child records its side itself)."""
        self._allow(Action.LINK_CHILD)
        self._ensure_major("children can only be linked to a major incident")
        if child == self.ref:
            raise CommandValidationError("child", "a ticket cannot be its own child", ref=self.ref)
        self._record(ev.ChildLinked, stamp, child=child)

    def link_to_parent(self, stamp: Stamp, *, parent: str) -> None:
        """This incident becomes a child of major incident ``parent``."""
        self._allow(Action.LINK_TO_PARENT)
        if self.kind != TicketKind.INCIDENT:
            raise CommandValidationError(
                "child", f"{self.ref} is a {self.kind}, not an incident", ref=parent
            )
        if self.major:
            raise CommandValidationError(
                "child", f"{self.ref} is itself a major incident", ref=parent
            )
        if self.parent is not None:
            raise CommandValidationError(
                "child", f"{self.ref} is already linked to {self.parent}", ref=parent
            )
        self._record(ev.LinkedToParent, stamp, parent=parent)

    def communicate(
        self, stamp: Stamp, *, audience: str, message: str, channel: str | None = None
    ) -> None:
        self._allow(Action.COMMUNICATE)
        self._ensure_major("communications are recorded on major incidents")
        _require_text("audience", audience, self.ref)
        _require_text("message", message, self.ref)
        self._record(
            ev.CommunicationSent, stamp, audience=audience, message=message, channel=channel
        )

    def review(
        self,
        stamp: Stamp,
        *,
        summary: str,
        root_cause: str,
        actions: Sequence[Mapping[str, Any]] = (),
        contributing_factors: Sequence[str] = (),
        went_well: Sequence[str] = (),
        lessons: Sequence[str] = (),
    ) -> None:
        """Attach the post-incident review to a resolved major incident. ``actions`` are
        action items (``text``, and optionally ``owner``, ``due`` as an ISO date, ``link``:
        the problem or change carrying it); a later review replaces the earlier one."""
        self._allow(Action.REVIEW)
        self._ensure_major("post-incident reviews are for major incidents")
        _require_text("summary", summary, self.ref)
        _require_text("root_cause", root_cause, self.ref)
        items = []
        for index, action in enumerate(actions):
            _require_text(f"actions[{index}].text", action.get("text"), self.ref)
            items.append(
                ev.action_item(
                    text=str(action["text"]),
                    owner=action.get("owner"),
                    due=action.get("due"),
                    link=action.get("link"),
                )
            )
        lists = {"contributing_factors": contributing_factors, "went_well": went_well}
        for name, texts in {**lists, "lessons": lessons}.items():
            for index, text in enumerate(texts):
                _require_text(f"{name}[{index}]", text, self.ref)
        self._record(
            ev.PostIncidentReviewRecorded,
            stamp,
            summary=summary,
            root_cause=root_cause,
            actions=items,
            contributing_factors=list(contributing_factors),
            went_well=list(went_well),
            lessons=list(lessons),
        )

    def assign_roles(
        self,
        stamp: Stamp,
        *,
        commander: str | Unset | None = UNSET,
        comms_lead: str | Unset | None = UNSET,
    ) -> None:
        """Name the major incident's commander and/or communications lead (``None`` clears);
        naming the same people again records nothing."""
        self._allow(Action.ASSIGN_ROLES)
        self._ensure_major("incident roles are for major incidents")
        if isinstance(commander, Unset) and isinstance(comms_lead, Unset):
            raise CommandValidationError(
                "commander", "give a commander and/or a comms_lead", ref=self.ref
            )
        for name, value in (("commander", commander), ("comms_lead", comms_lead)):
            if isinstance(value, str) and not value.strip():
                raise CommandValidationError(name, "is blank (null clears it)", ref=self.ref)
        new_commander = self.commander if isinstance(commander, Unset) else commander
        new_lead = self.comms_lead if isinstance(comms_lead, Unset) else comms_lead
        if (new_commander, new_lead) != (self.commander, self.comms_lead):
            self._record(
                ev.IncidentRolesAssigned, stamp, commander=new_commander, comms_lead=new_lead
            )

    def record_impact(
        self,
        stamp: Stamp,
        *,
        started_at: datetime | None = None,
        detected_at: datetime | None = None,
        mitigated_at: datetime | None = None,
    ) -> None:
        """Record when the impact started, was detected and was mitigated (those given; the
        others stay as recorded). Rules, over the values after the command: the impact is
        detected and mitigated no earlier than it started, and none of them is later than the
        command itself. The same instants again record nothing."""
        self._allow(Action.RECORD_IMPACT)
        self._ensure_major("impact instants are recorded on major incidents")
        given = {
            name: value
            for name, value in (
                ("started_at", started_at),
                ("detected_at", detected_at),
                ("mitigated_at", mitigated_at),
            )
            if value is not None
        }
        if not given:
            raise CommandValidationError(
                "started_at", "give started_at, detected_at and/or mitigated_at", ref=self.ref
            )
        for name, value in given.items():
            if value > stamp.occurred_at:
                raise CommandValidationError(
                    name,
                    f"{value.isoformat()} is later than the command "
                    f"({stamp.occurred_at.isoformat()})",
                    ref=self.ref,
                )
        started = started_at or self.impact_started_at
        detected = detected_at or self.impact_detected_at
        mitigated = mitigated_at or self.impact_mitigated_at
        for name, later in (("detected_at", detected), ("mitigated_at", mitigated)):
            if started is not None and later is not None and later < started:
                if name in given:
                    problem = f"{later.isoformat()} is before started_at {started.isoformat()}"
                else:
                    problem = f"{started.isoformat()} is after {name} {later.isoformat()}"
                blamed = name if name in given else "started_at"
                raise CommandValidationError(blamed, problem, ref=self.ref)
        now = (self.impact_started_at, self.impact_detected_at, self.impact_mitigated_at)
        if (started, detected, mitigated) != now:
            self._record(
                ev.ImpactTimesRecorded,
                stamp,
                started_at=started,
                detected_at=detected,
                mitigated_at=mitigated,
            )

    # ------------------------------------------------------------------ SLA timers

    def start_timer(
        self, stamp: Stamp, terms: SlaTerms, *, policy_version: int, retroactive: bool = False
    ) -> None:
        """Start the timer of an SLA that applies, running from the ticket's opening."""
        if self.opened_at is None:  # pragma: no cover - TicketOpened always sets it
            raise InvalidTransitionError(self.ref, self.state, "start_timer", "not opened")
        self._record(
            ev.SlaTimerStarted,
            stamp,
            **terms.as_fields(),
            policy_version=policy_version,
            started_at=self.opened_at,
            retroactive=retroactive,
        )

    def cancel_timer(self, stamp: Stamp, name: str, reason: str) -> None:
        self._record(ev.SlaTimerCanceled, stamp, name=name, reason=reason)

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
