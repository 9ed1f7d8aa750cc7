"""The application service: load, check, record, save — and read the log back.

:class:`Desk` is an eventsourcing ``Application``: tickets and the policy registry are
event-sourced aggregates in one store, and the store's notification log is the single ordered
log every projection, the relay and ``verify`` read. Commands are thin: load the ticket(s),
catch up on what the clock already made due (auto-close), call the aggregate's command method
(which raises before anything changes), save every touched aggregate in one atomic write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder, RecordConflictError
from eventsourcing.utils import EnvType, get_topic

from engine import commands as cmd
from engine.calendar import BusinessCalendar
from engine.chain import Chained, LedgerEvent, Stamp
from engine.clock import Clock
from engine.errors import (
    CommandValidationError,
    ConcurrencyError,
    DuplicateTicketError,
    PolicyError,
    TicketNotFoundError,
)
from engine.events import TicketEvent, TicketOpened
from engine.ids import policy_registry_id, ticket_id
from engine.policy import Policy, SlaDefinition, parse_policy, pin_holidays
from engine.policy_registry import PolicyRegistry
from engine.sla import Milestone, TimerStatus, due_milestones, evaluate
from engine.snapshots import SNAPSHOT_INTERVAL, PhaseAsDict, SlaTimerAsDict
from engine.ticket import OPEN_STATES, RESOLVED_BY_PARENT, UNSET, Ticket
from engine.verify import Verifier, VerifyReport
from engine.views import ticket_view
from engine.whatif import WhatIfReport, what_if

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ticket's new version and the events it recorded."""

    ref: str
    version: int
    events: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    duplicate: bool = False


@dataclass(frozen=True)
class LoggedEvent:
    """An event together with its position in the store's log."""

    position: int
    event: LedgerEvent


class Desk(Application[UUID]):
    """The DeskLedger engine: every ticket command, the policy versions, the log."""

    name = "DeskLedger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Ticket: SNAPSHOT_INTERVAL}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(PhaseAsDict())
        transcoder.register(SlaTimerAsDict())

    def __init__(
        self, env: EnvType | None = None, *, clock: Clock, wall_clock: Clock | None = None
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.wall_clock = wall_clock or clock
        self._policy_cache: dict[int, Policy] = {}
        self._batch: dict[UUID, Chained] | None = None
        self._touched: dict[UUID, int | None] | None = None
        self._batch_policy: Policy | None = None
        self._calendars: dict[tuple[int, str], BusinessCalendar] = {}

    # ------------------------------------------------------------------ unit of work

    @contextmanager
    def unit_of_work(self) -> Iterator[Desk]:
        """Batch many commands into one atomic write (importers, bulk jobs).

        Inside the block, tickets stay in memory between commands and nothing is written;
        a command that fails leaves the batch as it was before that command. When the block
        ends normally every pending event is saved in one transaction; when it raises,
        nothing is written.
        """
        if self._batch is not None:
            raise RuntimeError("unit_of_work() blocks do not nest")
        self._batch = {}
        self._batch_policy = None
        try:
            yield self
            pending = [a for a in self._batch.values() if a.pending_events]
            if pending:
                try:
                    self.save(*pending)
                except RecordConflictError:
                    raise ConcurrencyError(pending[0].ref, None, None) from None
        finally:
            self._batch = None
            self._batch_policy = None
            # A policy version loaded inside a discarded batch never happened.
            self._policy_cache.clear()
            self._calendars.clear()

    def _rollback_batch(self, marks: dict[UUID, int | None]) -> None:
        """Undo the effects of a failed command on the aggregates it touched."""
        assert self._batch is not None
        for aggregate_id, mark in marks.items():
            aggregate = self._batch.get(aggregate_id)
            if aggregate is None:
                continue
            if mark is None:
                del self._batch[aggregate_id]
                continue
            pending = list(aggregate.pending_events)
            if len(pending) == mark:
                continue
            state: Any = None
            stored: list[Any] = list(self.events.get(aggregate_id))
            for event in [*stored, *pending[:mark]]:
                state = event.mutate(state)
            if state is None:
                del self._batch[aggregate_id]
                continue
            state.pending_events.extend(pending[:mark])
            self._batch[aggregate_id] = state

    # ------------------------------------------------------------------ commands

    def execute(
        self,
        name: str,
        fields: Mapping[str, Any],
        *,
        actor: str,
        at: datetime | None = None,
        command_id: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Run a command given by name and a mapping of fields (scenarios, CLI, importers)."""
        command = cmd.parse_command(name, fields)
        return self.handle(
            command, actor=actor, at=at, command_id=command_id, expected_version=expected_version
        )

    def handle(
        self,
        command: cmd.Command,
        *,
        actor: str,
        at: datetime | None = None,
        command_id: str | None = None,
        expected_version: int | None = None,
        source: dict[str, Any] | None = None,
    ) -> CommandResult:
        """Apply one command; raise a typed error and write nothing if it is not allowed."""
        if self._batch is None:
            return self._handle(command, actor, at, command_id, expected_version, source)
        self._touched = {}
        try:
            return self._handle(command, actor, at, command_id, expected_version, source)
        except BaseException:
            self._rollback_batch(self._touched)
            raise
        finally:
            self._touched = None

    def _handle(  # noqa: PLR0917 - internal: the public handle() takes keywords
        self,
        command: cmd.Command,
        actor: str,
        at: datetime | None,
        command_id: str | None,
        expected_version: int | None,
        source: dict[str, Any] | None,
    ) -> CommandResult:
        stamp = self._stamp(actor, at, command_id, source, ref=command.ref)
        if isinstance(command, cmd.Open):
            return self._open(command, stamp, expected_version)
        ticket = self.get_ticket(command.ref)
        if ticket.has_seen(command_id):
            return CommandResult(ticket.ref, ticket.version, duplicate=True)
        if expected_version is not None and expected_version != ticket.version:
            raise ConcurrencyError(ticket.ref, expected_version, ticket.version)
        touched = self._catch_up(ticket, stamp.occurred_at)
        ticket.ensure_in_time(stamp.occurred_at)
        touched.extend(self._dispatch(ticket, command, stamp))
        return self._save(ticket, *touched)

    def _stamp(
        self,
        actor: str,
        at: datetime | None,
        command_id: str | None,
        source: dict[str, Any] | None,
        ref: str | None = None,
    ) -> Stamp:
        if not isinstance(actor, str) or not actor.strip():
            raise CommandValidationError("as", "an actor is required", ref=ref)
        occurred_at = at if at is not None else self.clock.now()
        if occurred_at.tzinfo is None:
            raise CommandValidationError(
                "at", f"{occurred_at.isoformat()} has no UTC offset", ref=ref
            )
        return Stamp(
            occurred_at=occurred_at,
            actor=actor,
            recorded_at=self.wall_clock.now(),
            command_id=command_id,
            source=source,
        )

    def _open(self, command: cmd.Open, stamp: Stamp, expected_version: int | None) -> CommandResult:
        existing = self._find_ticket(command.ref)
        if existing is not None:
            if existing.has_seen(stamp.command_id):
                return CommandResult(existing.ref, existing.version, duplicate=True)
            raise DuplicateTicketError(command.ref)
        if expected_version not in (None, 0):
            raise ConcurrencyError(command.ref, expected_version, 0)
        policy = self.policy()
        ticket = Ticket.open(
            stamp,
            ref=command.ref,
            kind=command.kind,
            title=command.title,
            caller=command.caller,
            impact=command.impact,
            urgency=command.urgency,
            priority=self._priority(policy, command.impact, command.urgency, command.ref),
            policy_version=policy.version,
            description=command.description,
            channel=command.channel,
            category=command.category,
            subcategory=command.subcategory,
            service=command.service,
            group=command.group,
            assignee=command.assignee,
            affected_users=command.affected_users,
        )
        for definition in self._applicable(ticket, policy):
            ticket.start_timer(stamp, definition, policy_version=policy.version)
        return self._save(ticket)

    @staticmethod
    def _applicable(ticket: Ticket, policy: Policy) -> list[SlaDefinition]:
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

    @staticmethod
    def _priority(policy: Policy, impact: int, urgency: int, ref: str) -> int:
        for name, value in (("impact", impact), ("urgency", urgency)):
            if value not in (1, 2, 3):
                raise CommandValidationError(name, f"must be 1, 2 or 3, got {value!r}", ref=ref)
        return policy.priority(impact, urgency)

    def _dispatch(self, ticket: Ticket, command: cmd.Command, stamp: Stamp) -> list[Ticket]:
        """Call the ticket's command method; return other tickets the command touched."""
        match command:
            case cmd.Assign():
                given = command.model_fields_set
                ticket.assign(
                    stamp,
                    group=command.group if "group" in given else UNSET,
                    assignee=command.assignee if "assignee" in given else UNSET,
                )
            case cmd.Start():
                ticket.start(stamp)
            case cmd.Hold():
                ticket.hold(stamp, reason=command.reason, comment=command.comment)
            case cmd.Resume():
                ticket.resume(stamp)
            case cmd.Resolve():
                ticket.resolve(
                    stamp, code=command.code, notes=command.notes, knowledge=command.knowledge
                )
                return self._resolve_children(ticket, stamp)
            case cmd.Reopen():
                ticket.reopen(stamp, reason=command.reason)
                return self._reopen_children(ticket, stamp, command.reason)
            case cmd.Close():
                ticket.close(stamp)
            case cmd.Cancel():
                ticket.cancel(stamp, reason=command.reason)
            case cmd.Reprioritize():
                self._reprioritize(ticket, command, stamp)
            case cmd.Escalate():
                self._escalate(ticket, command, stamp)
            case cmd.Comment():
                ticket.comment(stamp, text=command.text, visibility=command.visibility)
            case cmd.DeclareMajor():
                ticket.declare_major(
                    stamp, reason=command.reason, declarers=self.policy().declarers
                )
            case cmd.LinkChild():
                child = self.get_ticket(command.child)
                touched = self._catch_up(child, stamp.occurred_at)
                child.ensure_in_time(stamp.occurred_at)
                ticket.link_child(stamp, child)
                return [*touched, child]
            case cmd.Communicate():
                ticket.communicate(
                    stamp,
                    audience=command.audience,
                    message=command.message,
                    channel=command.channel,
                )
            case cmd.Review():
                ticket.review(
                    stamp,
                    summary=command.summary,
                    root_cause=command.root_cause,
                    actions=command.actions,
                )
            case cmd.LinkProblem():
                ticket.link_problem(stamp, problem=command.problem)
            case _:  # pragma: no cover - every command class is handled above
                raise CommandValidationError("do", f"unsupported command {command!r}")
        return []

    def _reprioritize(self, ticket: Ticket, command: cmd.Reprioritize, stamp: Stamp) -> None:
        if command.impact is None and command.urgency is None:
            raise CommandValidationError("impact", "give impact and/or urgency", ref=ticket.ref)
        impact = ticket.impact if command.impact is None else command.impact
        urgency = ticket.urgency if command.urgency is None else command.urgency
        priority = self._priority(self.policy(), impact, urgency, ticket.ref)
        before = ticket.priority
        ticket.reprioritize(
            stamp, impact=impact, urgency=urgency, priority=priority, reason=command.reason
        )
        if ticket.priority != before:
            self._retarget(ticket, stamp)

    def _retarget(self, ticket: Ticket, stamp: Stamp) -> None:
        """Priority changed: cancel timers that no longer apply, start those that now apply
        retroactively from the opening, and record what they already passed (SPEC §4)."""
        policy = self.policy(ticket.policy_version)
        applicable = {d.name: d for d in self._applicable(ticket, policy)}
        for timer in ticket.active_timers():
            if timer.name not in applicable:
                ticket.cancel_timer(stamp, timer.name, f"priority is now {ticket.priority}")
        running = {t.name for t in ticket.active_timers()}
        for name, definition in applicable.items():
            if name not in running:
                ticket.start_timer(
                    stamp, definition, policy_version=policy.version, retroactive=True
                )
        self._record_milestones(ticket, stamp.occurred_at)

    @staticmethod
    def _escalate(ticket: Ticket, command: cmd.Escalate, stamp: Stamp) -> None:
        if command.hierarchical:
            if command.tier is not None or command.group is not None:
                raise CommandValidationError(
                    "hierarchical",
                    "a hierarchical escalation takes 'to', not tier or group",
                    ref=ticket.ref,
                )
            ticket.escalate_hierarchically(stamp, to=command.to or "", reason=command.reason)
            return
        if command.tier is None or command.group is None:
            raise CommandValidationError(
                "tier" if command.tier is None else "group",
                "a functional escalation needs tier and group (or hierarchical: true and to)",
                ref=ticket.ref,
            )
        ticket.escalate_functionally(
            stamp, tier=command.tier, group=command.group, reason=command.reason
        )

    def _resolve_children(self, parent: Ticket, stamp: Stamp) -> list[Ticket]:
        children = []
        for ref in parent.children:
            child = self.get_ticket(ref)
            touched = self._catch_up(child, stamp.occurred_at)
            if child.state in OPEN_STATES:
                child.ensure_in_time(stamp.occurred_at)
                child.resolve(
                    stamp,
                    code=RESOLVED_BY_PARENT,
                    notes=f"Resolved with major incident {parent.ref}",
                    by_parent=parent.ref,
                )
            children.extend([*touched, child])
        return children

    def _reopen_children(self, parent: Ticket, stamp: Stamp, reason: str) -> list[Ticket]:
        children = []
        for ref in parent.children:
            child = self.get_ticket(ref)
            touched = self._catch_up(child, stamp.occurred_at)
            if child.state == "resolved" and child.resolved_by_parent == parent.ref:
                child.ensure_in_time(stamp.occurred_at)
                child.reopen(
                    stamp,
                    reason=f"major incident {parent.ref} reopened: {reason}",
                    by_parent=parent.ref,
                )
            children.extend([*touched, child])
        return children

    def _record_milestones(self, ticket: Ticket, until: datetime) -> None:
        """Record SLA warnings and breaches that fell before ``until`` (at their instant, or
        at the ticket's last event time if that is later: the stream stays in time order)."""
        found: list[Milestone] = []
        for timer in ticket.active_timers():
            calendar = self.calendar(timer.policy_version, timer.calendar)
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
            last = ticket.last_occurred_at
            occurred = milestone.instant if last is None or milestone.instant > last else last
            ticket.record_milestone(
                Stamp(occurred_at=occurred, actor=SYSTEM_ACTOR, recorded_at=self.wall_clock.now()),
                milestone,
            )

    def _catch_up(self, ticket: Ticket, until: datetime) -> list[Ticket]:
        """Record what the clock made due on ``ticket`` before ``until``: SLA milestones,
        then the automatic close ``lifecycle.auto_close_after`` after resolution."""
        if ticket.is_final:
            return []
        self._record_milestones(ticket, until)
        if ticket.state != "resolved" or ticket.major or ticket.resolved_at is None:
            return []
        # Lifecycle rules follow the policy in force (SLA timers stay pinned to theirs).
        after = self.policy().auto_close_after
        if after is None:
            return []
        due = ticket.resolved_at + after
        if due <= until:
            # A policy loaded after the deadline passed closes the ticket now, not in the past:
            # the ticket's stream stays in time order.
            last = ticket.last_occurred_at
            at = due if last is None or due >= last else last
            ticket.close(
                Stamp(occurred_at=at, actor=SYSTEM_ACTOR, recorded_at=self.wall_clock.now()),
                automatically=True,
            )
        return []

    def advance(self, until: datetime | None = None) -> list[CommandResult]:
        """Clock tick: record everything due up to ``until`` on idle tickets."""
        until = until if until is not None else self.clock.now()
        results = []
        for ticket in self.tickets():
            if ticket.is_final:
                continue
            version = ticket.version
            self._catch_up(ticket, until)
            if ticket.version != version:
                results.append(self._save(ticket))
        return results

    def _save(self, *aggregates: Chained) -> CommandResult:
        unique: dict[UUID, Chained] = {}
        for aggregate in aggregates:
            unique[aggregate.id] = aggregate
        marks = self._touched or {}
        pending = [
            type(event).__name__
            for key, aggregate in unique.items()
            for event in aggregate.pending_events[marks.get(key) or 0 :]
        ]
        primary = aggregates[0]
        if self._batch is not None:
            self._batch.update(unique)
            return CommandResult(ref=primary.ref, version=primary.version, events=pending)
        try:
            recordings = self.save(*unique.values())
        except RecordConflictError:
            raise ConcurrencyError(primary.ref, None, None) from None
        return CommandResult(
            ref=primary.ref,
            version=primary.version,
            events=pending,
            positions=[r.notification.id for r in recordings],
        )

    # ------------------------------------------------------------------ policy

    def _registry(self) -> PolicyRegistry | None:
        held = self._batch.get(policy_registry_id()) if self._batch is not None else None
        if isinstance(held, PolicyRegistry):
            return held  # loaded earlier in this unit of work, not saved yet
        try:
            registry: object = self.repository.get(policy_registry_id())
        except AggregateNotFoundError:
            return None
        if not isinstance(registry, PolicyRegistry):  # pragma: no cover
            raise TypeError("the policy registry stream holds another aggregate")
        return registry

    def load_policy(
        self, raw: Mapping[str, Any] | Policy, *, actor: str, at: datetime | None = None
    ) -> Policy:
        """Validate and install a policy as the next version (no-op if it is unchanged)."""
        policy = raw if isinstance(raw, Policy) else parse_policy(raw)
        stamp = self._stamp(actor, at, None, None)
        policy = pin_holidays(policy, stamp.occurred_at.year)
        registry = self._registry()
        if registry is None:
            registry = PolicyRegistry.start(stamp, policy)
        elif not registry.load(stamp, policy):
            return registry.current()
        self._batch_policy = None
        self._save(registry)
        return registry.current()

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` as policy ``version`` defined it (pinned; cached)."""
        key = (version, name)
        if key not in self._calendars:
            mapping = self.policy(version).calendars.get(name)
            if mapping is None:
                raise PolicyError(f"calendars.{name}", f"not defined in policy version {version}")
            self._calendars[key] = BusinessCalendar.from_mapping(mapping, name=name)
        return self._calendars[key]

    def policy(self, version: int | None = None) -> Policy:
        """The policy of ``version`` (default: the current one; 0: the built-in default)."""
        if version is not None and version in self._policy_cache:
            return self._policy_cache[version]
        if version is None and self._batch_policy is not None:
            return self._batch_policy
        registry = self._registry()
        if registry is None:
            policy = parse_policy({})
        elif version is None:
            policy = registry.current()
        else:
            policy = registry.get(version)
        self._policy_cache[policy.version] = policy
        if version is None and self._batch is not None:
            self._batch_policy = policy
        return policy

    # ------------------------------------------------------------------ queries

    def _find_ticket(self, ref: str) -> Ticket | None:
        key = ticket_id(ref)
        if self._batch is not None and key in self._batch:
            held = self._batch[key]
            if self._touched is not None:
                self._touched.setdefault(key, len(held.pending_events))
            return held if isinstance(held, Ticket) else None
        if self._touched is not None:
            self._touched.setdefault(key, None)
        try:
            ticket: object = self.repository.get(key)
        except AggregateNotFoundError:
            return None
        if not isinstance(ticket, Ticket):  # pragma: no cover
            raise TypeError(f"stream of {ref} holds another aggregate")
        if self._batch is not None:
            self._batch[key] = ticket
        return ticket

    def get_ticket(self, ref: str, *, as_of: datetime | None = None) -> Ticket:
        """The ticket now, or as of an instant (only events that occurred at or before it)."""
        if as_of is None:
            ticket = self._find_ticket(ref)
            if ticket is None:
                raise TicketNotFoundError(ref)
            return ticket
        state: Ticket | None = None
        for event in self.ticket_events(ref):
            if event.occurred_at > as_of:
                break
            state = event.mutate(state)
        if state is None:
            raise TicketNotFoundError(ref)
        return state

    def ticket_events(self, ref: str) -> list[TicketEvent]:
        """Every event of one ticket in stream order."""
        events = [e for e in self.events.get(ticket_id(ref)) if isinstance(e, TicketEvent)]
        if not events:
            raise TicketNotFoundError(ref)
        return events

    def sla_status(self, ticket: Ticket, at: datetime | None = None) -> list[TimerStatus]:
        """Every SLA timer of ``ticket`` evaluated at ``at`` (default: the clock's now)."""
        moment = at if at is not None else self.clock.now()
        return [
            evaluate(
                timer, ticket.phases, self.calendar(timer.policy_version, timer.calendar), moment
            )
            for timer in ticket.sla_timers
        ]

    def view(self, ref: str, *, as_of: datetime | None = None) -> dict[str, Any]:
        """A ticket's §9 fields (now, or as of an instant), with ``made_sla`` evaluated."""
        ticket = self.get_ticket(ref, as_of=as_of)
        return ticket_view(ticket, self.sla_status(ticket, as_of))

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
        moment = at if at is not None else self.clock.now()
        tickets = self.tickets(as_of=at)
        pairs = ((t, self.sla_status(t, moment)) for t in tickets)
        return what_if(pairs, policy, moment, opened_from=opened_from, opened_to=opened_to)

    def store_id(self) -> str:
        """A stable id of this store: derived from the hash of the first event in its log."""
        first = self.recorder.select_notifications(None, 1)
        if not first:
            return "empty"
        return hashlib.sha256(first[0].state).hexdigest()[:16]

    def refs(self) -> list[str]:
        """Every ticket ref in the store, in the order the tickets were opened."""
        topic = get_topic(TicketOpened)
        refs = []
        for logged in self.read_log(topics=(topic,)):
            refs.append(logged.event.ref)
        return refs

    def tickets(self, *, as_of: datetime | None = None) -> list[Ticket]:
        """Every ticket (as of an instant, those that existed then)."""
        result = []
        for ref in self.refs():
            try:
                result.append(self.get_ticket(ref, as_of=as_of))
            except TicketNotFoundError:
                continue
        return result

    def read_log(
        self, after: int = 0, *, page: int = 1000, topics: tuple[str, ...] = ()
    ) -> Iterator[LoggedEvent]:
        """Every event after ``after`` in position order, with its position."""
        start = after
        while True:
            notifications = self.recorder.select_notifications(
                start, page, topics=topics, inclusive_of_start=False
            )
            for notification in notifications:
                event = self.mapper.to_domain_event(notification)
                if isinstance(event, LedgerEvent):
                    yield LoggedEvent(notification.id, event)
            if len(notifications) < page:
                return
            start = notifications[-1].id

    # ------------------------------------------------------------------ audit

    def verify(self, checkpoint: str | None = None, *, page: int = 1000) -> VerifyReport:
        """Recompute every chain from the stored records; see :mod:`engine.verify`."""
        verifier = Verifier(checkpoint)
        start = 0
        while True:
            notifications = self.recorder.select_notifications(
                start, page, inclusive_of_start=False
            )
            for notification in notifications:
                try:
                    decoded: object = self.mapper.to_domain_event(notification)
                except Exception:  # noqa: BLE001 - any decoding failure is tampering evidence
                    decoded = None
                verifier.add(
                    notification.id,
                    UUID(str(notification.originator_id)),
                    notification.originator_version,
                    decoded,
                    notification.state,
                )
            if len(notifications) < page:
                return verifier.finish()
            start = notifications[-1].id
