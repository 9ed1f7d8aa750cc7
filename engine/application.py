"""The application service: load, call, save — and read the log back.

:class:`Desk` is an eventsourcing ``Application``: tickets and the policy registry are
event-sourced aggregates in one store, and the store's notification log is the single ordered
log every projection, the relay and ``verify`` read. A command runs in a unit of work
(:mod:`engine.unit_of_work`): load the ticket, let SLA monitoring record what the clock made
due (:mod:`engine.sla_monitor`), call the command's handler (:mod:`engine.handlers`), save
every touched aggregate in one transaction. A write race is retried (reload, re-check the
rules, re-apply) unless the caller gave ``expected_version``, which turns it into an error.

One module, past 500 lines: the service's public surface (commands, reads, the log, policy,
evidence) in one place for embedders; the work lives in the modules named above.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, cached_property
from threading import local
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoder
from eventsourcing.utils import EnvType, get_topic

from engine import limits, log
from engine.aggregate_cache import AggregateCache
from engine.chain import Chained, Stamp
from engine.clock import Clock
from engine.errors import (
    CommandIdReusedError,
    CommandValidationError,
    ConcurrencyError,
    DuplicateTicketError,
    TicketNotFoundError,
)
from engine.ids import APPLICATION_NAME, policy_registry_id, ticket_id, ticket_ref
from engine.legacy import register_legacy_topics
from engine.loading import fast_forward, history, load, replay
from engine.log_head import HeadReader, LogHead
from engine.policy import Policy, parse_policy, pin_holidays
from engine.policy_versions import PolicyVersions
from engine.sla import MilestoneWalks, TimerStatus
from engine.sla_monitor import SYSTEM_ACTOR, PolicyLookup, SlaMonitor
from engine.snapshots import SNAPSHOT_INTERVAL, PhaseAsDict, SlaTimerAsDict, VerifiedSnapshots
from engine.ticket import Ticket, TicketEvent, TicketOpened
from engine.transcoder import PrebuiltJSONTranscoder
from engine.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from engine import commands as cmd
    from engine.calendar import BusinessCalendar
    from engine.log import LoggedEvent
    from engine.policy_registry import PolicyRegistry
    from engine.queries import TicketQueries
    from engine.sla_explain import Explanation
    from engine.verify import VerifyReport
    from engine.whatif import WhatIfReport

#: How often a plain command is tried before a lost write race becomes an error. Eight
#: processes writing to the same few tickets lose a dozen races in a row now and then, so
#: the bound is generous; each retry waits a random time (below) so that the losers of one
#: race do not meet again in the next.
WRITE_ATTEMPTS = 60
#: The longest wait between two attempts, in seconds ("full jitter": a random wait up to
#: 1 ms doubled per attempt, at most this).
RETRY_WAIT_MAX = 0.05
#: The instants a command may happen at: business calendars and SLA arithmetic run decades
#: past an event, so the far ends of the datetime range are refused.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 12, 31, tzinfo=UTC)

T = TypeVar("T")


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ticket's new version and the events it recorded."""

    ref: str
    version: int
    events: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    duplicate: bool = False


class Desk(Application[UUID]):
    """The DeskLedger engine: every ticket command, the policy versions, the log."""

    name = APPLICATION_NAME
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Ticket: SNAPSHOT_INTERVAL}
    #: Snapshots are taken of tickets replayed without the library's per-event Protocol
    #: check (see :func:`engine.loading.replay`).
    snapshotting_projectors: ClassVar[dict[type[Any], Callable[..., Any]]] = {Ticket: replay}

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, reading snapshots only after checking them."""
        base = super().construct_repository()
        if base.snapshot_store is not None:
            base.snapshot_store = VerifiedSnapshots(  # type: ignore[assignment]
                base.snapshot_store, self.events, self._snapshot_ignored
            )
        return base

    def _snapshot_ignored(self, stream: UUID, version: int, why: str) -> None:
        self.ignored_snapshots.append((stream, version, why))
        handler = getattr(self, "on_snapshot_ignored", None)
        if handler is not None:
            handler(stream, version, why)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, step by step (record, snapshots, notify); the aggregates it
        saves are at hand while it takes snapshots.

        Aggregates are collected by their class: the library's ``collect_events`` tells an
        aggregate from an event with two runtime ``Protocol`` checks, which walk every
        member of the protocol and cost a tenth of an ``open``'s time in Python.
        """
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing.events.extend(obj.collect_events())
                processing.aggregates[obj.id] = obj
            else:
                processing.collect_events(obj)
        processing.saved_kwargs.update(kwargs)
        self._saving.aggregates = processing.aggregates
        try:
            recordings = self._record(processing)
            self._take_snapshots(processing)
        finally:
            self._saving.aggregates = {}
        self._notify(recordings)
        self.notify(processing.events)  # the library's deprecated hook, as its save calls it
        return recordings

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: Callable[..., Any] = replay,
    ) -> None:
        """A snapshot at ``version``: of the aggregate just saved when it is at that version
        (the state its events produce, as the save left it), else of the aggregate rebuilt
        from the store, as the library does. Rebuilding cost a replay of up to a snapshot
        interval of events on the command that crossed it."""
        saved = getattr(self._saving, "aggregates", {}).get(aggregate_id)
        if isinstance(saved, Ticket) and saved.version == version and self.snapshots is not None:
            self.snapshots.put([Ticket.Snapshot.take(saved)])
            return
        super().take_snapshot(aggregate_id, version, projector_func)

    def construct_transcoder(self) -> Transcoder:
        """The library's transcoder; its JSON one with its encoder built once (same bytes:
        see :mod:`engine.transcoder`), an import stores thousands of events at a time."""
        transcoder = self.factory.transcoder()
        if type(transcoder) is JSONTranscoder:
            transcoder = PrebuiltJSONTranscoder()
        if isinstance(transcoder, JSONTranscoder):
            self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(PhaseAsDict())
        transcoder.register(SlaTimerAsDict())

    def __init__(
        self, env: EnvType | None = None, *, clock: Clock, wall_clock: Clock | None = None
    ) -> None:
        register_legacy_topics()
        self._saving = local()
        #: Snapshots a read skipped (stream, version, why); ``on_snapshot_ignored`` is told too.
        self.ignored_snapshots: list[tuple[UUID, int, str]] = []
        self.on_snapshot_ignored: Callable[[UUID, int, str], None] | None = None
        #: Lists the streams that have snapshots, if the store can (``verify`` then asks
        #: only those for their snapshots); set by the composition root.
        self.snapshot_streams: Callable[[], Iterable[UUID]] | None = None
        #: Tells which of some streams the store holds, in one query, if the store can
        #: (:meth:`expect_tickets` otherwise asks stream by stream); set by the composition root.
        self.existing_streams: Callable[[Sequence[UUID]], set[UUID]] | None = None
        #: Reads the log's head more cheaply than the recorder, if the store can (a SQLite
        #: file: its own connection); set by the composition root, closed with the desk.
        self.head_reader: HeadReader | None = None
        super().__init__(env)
        self.clock = clock
        self.wall_clock = wall_clock or clock
        self._bulk: UnitOfWork | None = None
        #: The stored policy in force for the bulk unit of work, read by its first command.
        self._bulk_policy: Policy | None = None
        self._versions = PolicyVersions(self.events)
        self._cache = AggregateCache()
        self._last_pinned: tuple[Policy, tuple[PolicyLookup, SlaMonitor]] | None = None
        self._head = LogHead()
        self._walks = MilestoneWalks()
        self.monitor = SlaMonitor(
            calendar=self.calendar,
            policy=self._policy_lookup,
            system_stamp=self._system_stamp,
            walks=self._walks,
        )

    @cached_property
    def queries(self) -> TicketQueries:
        """Queries that replay tickets from the store (imported when first asked for)."""
        from engine.queries import TicketQueries  # noqa: PLC0415

        return TicketQueries(
            repository=self.repository,
            events=self.events,
            monitor=self.monitor,
            clock=self.clock,
            refs=self._refs,
            policy=self._policy_lookup,
        )

    # ------------------------------------------------------------------ units of work

    def _new_unit(self) -> UnitOfWork:
        unit = UnitOfWork(
            lambda key: self._load(unit, key),
            self.save,
            lambda key: history(self.events, key, str(key)),
        )
        return unit

    def _load(self, unit: UnitOfWork, key: UUID) -> Chained | None:
        """The aggregate for ``unit``: from the cache when a unit that read the log's head
        asks (brought up to date if the head moved since), else from the store."""
        if unit.head is not None:
            cached = self._cache.take(key)
            if cached is not None:
                aggregate, known = cached
                if unit.own_since is not None and known >= unit.own_since:
                    return cast("Chained", aggregate)
                return cast("Chained", fast_forward(self.events, aggregate, str(key)))
        return cast("Chained | None", load(self.repository, key, str(key)))

    def _keep(
        self, unit: UnitOfWork, held: list[Chained], saved: set[UUID], positions: list[int]
    ) -> None:
        """After ``unit`` committed: keep its tickets. One it saved is current as of the
        commit's last position (another writer's event on it would have made the commit
        fail); one it only read, as of the head the unit began at."""
        if unit.head is None:
            return
        for aggregate in held:
            if isinstance(aggregate, Ticket):
                known = positions[-1] if aggregate.id in saved and positions else unit.head
                self._cache.put(aggregate, known)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Batch many commands into one atomic write (importers, bulk jobs).

        Inside the block, tickets stay in memory between commands and nothing is written; a
        command that fails leaves the batch as it was before that command. When the block
        ends normally every pending event is saved in one transaction, unless the block
        called ``discard()`` on the unit of work it was given; when it raises, nothing is
        written. Every command of the block runs under the policy in force when the first
        of them ran, or one the block loaded itself (see :meth:`_in_force`).
        """
        if self._bulk is not None:
            raise RuntimeError("unit_of_work() blocks do not nest")
        self._bulk = unit = self._new_unit()
        try:
            yield unit
            if unit.discarded:
                return
            try:
                unit.commit()
            except IntegrityError:
                raise ConcurrencyError("(bulk)", None, None) from None
        finally:
            unit.rollback()
            self._bulk = None
            self._bulk_policy = None

    def expect_tickets(self, refs: Iterable[str]) -> None:
        """Tell the bulk unit of work which tickets its commands will name (an importer
        knows them up front): the store is asked once which of them it holds, and a command
        that opens one of the others reads nothing (a read each was an import's costliest
        step). Refs that are not valid ticket refs are left to the commands to reject."""
        if self._bulk is None:
            raise RuntimeError("expect_tickets() needs a unit_of_work() block")
        ids: list[UUID] = []
        for ref in refs:
            try:
                ids.append(ticket_id(ticket_ref(ref)))
            except CommandValidationError:
                continue
        if self.existing_streams is not None:
            held = self.existing_streams(ids)
        else:
            held = {i for i in ids if self.recorder.select_events(i, limit=1)}
        self._bulk.know_absent(i for i in ids if i not in held)

    def _write(
        self, work: Callable[[UnitOfWork, int], T], ref: str, expected: int | None = None
    ) -> tuple[T, list[int]]:
        """Run ``work`` in a unit of work and save it; on a write race, run it again on a
        fresh load (bounded), unless the caller gave the ``expected`` version."""
        if self._bulk is not None:
            return work(self._bulk, 1), []
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            unit = self._new_unit()
            unit.head = self._log_head()
            unit.own_since = self._head.observe(unit.head)
            outcome = work(unit, attempt)
            held, saved = unit.held(), {a.id for a in unit.pending}
            try:
                recordings = unit.commit()
            except IntegrityError:
                if expected is not None or attempt == WRITE_ATTEMPTS:
                    raise self._conflict(ref, expected) from None
                time.sleep(_retry_wait(attempt))
                continue
            positions = [r.notification.id for r in recordings]
            if policy_registry_id() in saved:
                self._versions.forget_current()
            self._keep(unit, held, saved, positions)
            self._head.wrote(positions)
            return outcome, positions
        raise AssertionError("unreachable")  # pragma: no cover

    def _conflict(self, ref: str, expected: int | None) -> ConcurrencyError:
        if expected is None:
            return ConcurrencyError(ref, None, None)
        ticket = load(self.repository, ticket_id(ref), ref)
        return ConcurrencyError(ref, expected, ticket.version if ticket is not None else 0)

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
        from engine.commands import parse_command  # noqa: PLC0415 - see _commands()

        command = parse_command(name, fields)
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
        _check_actor(actor, command.ref)
        cmd, _ = _commands()
        texts = cmd.command_texts(command)
        digest = cmd.command_digest(command) if command_id is not None else None

        def work(unit: UnitOfWork, attempt: int) -> CommandResult:
            policy = self._in_force(unit)
            limits.check(
                texts, policy.text_limits(), ref=command.ref, actor=actor, command_id=command_id
            )
            with unit.savepoint() as marks:
                stamp = self._stamp(
                    actor, at, command_id, source, command.ref,
                    digest=digest, command=cmd.command_name(command),
                )  # fmt: skip
                ticket, duplicate = self._apply(
                    unit, command, stamp, expected=expected_version, attempt=attempt, policy=policy
                )
                recorded = [type(e).__name__ for e in unit.events_since(marks)]
            return CommandResult(ticket.ref, ticket.version, recorded, duplicate=duplicate)

        result, positions = self._write(work, command.ref, expected_version)
        if positions:
            result = CommandResult(result.ref, result.version, result.events, positions)
        return result

    def _in_force(self, unit: UnitOfWork) -> Policy:
        """The policy in force for a command of ``unit``: one read of the log's head tells
        whether the cached current version still is (see :mod:`engine.policy_versions`).

        A bulk unit reads it once, for all its commands: they are written together or not
        at all, so they run under one policy (or under the one the unit loaded, still
        pending), and a read of the head per command was most of an import's reads."""
        if unit is self._bulk:
            pending = self._pending_registry()
            if pending is not None and pending.pending_events:
                return self._versions.current(pending)
            if self._bulk_policy is None:
                now = self._log_head()
                since_now = self._head.observe(now)
                self._bulk_policy = self._versions.current(None, head=now, since=since_now)
            return self._bulk_policy
        if unit.head is not None:
            head, since = unit.head, unit.own_since
        else:
            head = self._log_head()
            since = self._head.observe(head)
        return self._versions.current(self._pending_registry(), head=head, since=since)

    def close(self) -> None:
        if self.head_reader is not None:
            self.head_reader.close()
        super().close()

    def _log_head(self) -> int:
        if self.head_reader is not None:
            return self.head_reader()
        return self.recorder.max_notification_id() or 0

    def _pinned(self, policy: Policy) -> tuple[PolicyLookup, SlaMonitor]:
        """A policy lookup and SLA monitor for one command: ``policy`` is the version in
        force for all of it (read once), older versions come from the cache. The pair for
        the last policy is kept: the commands of an import all run under one."""
        last = self._last_pinned
        if last is not None and last[0] is policy:
            return last[1]

        def lookup(version: int | None) -> Policy:
            return policy if version is None else self.policy(version)

        monitor = SlaMonitor(
            calendar=self.calendar,
            policy=lookup,
            system_stamp=self._system_stamp,
            walks=self._walks,
        )
        self._last_pinned = (policy, (lookup, monitor))
        return lookup, monitor

    def _apply(
        self,
        unit: UnitOfWork,
        command: cmd.Command,
        stamp: Stamp,
        *,
        expected: int | None,
        attempt: int,
        policy: Policy,
    ) -> tuple[Ticket, bool]:
        """Load, check, call the handler; returns the ticket and whether it was a retry."""
        cmd, handlers = _commands()
        lookup, monitor = self._pinned(policy)
        if isinstance(command, cmd.Open):
            return self._open(
                unit, command, stamp, expected=expected, attempt=attempt, policy=policy,
                monitor=monitor,
            )  # fmt: skip
        ticket = self._ticket(unit, command.ref)
        if _already_applied(ticket, stamp):
            return ticket, True
        if expected is not None and expected != ticket.version:
            raise ConcurrencyError(ticket.ref, expected, ticket.version)
        stamp = _not_before(stamp, ticket.last_occurred_at, explicit=stamp.explicit)
        monitor.catch_up(ticket, stamp.occurred_at)
        ticket.ensure_in_time(stamp.occurred_at)

        def prepare(ref: str) -> Ticket:
            other = self._ticket(unit, ref)
            monitor.catch_up(other, stamp.occurred_at)
            return other

        context = handlers.Context(stamp, monitor, lookup, prepare)
        handlers.HANDLERS[type(command)](ticket, command, context)
        return ticket, False

    def _open(
        self,
        unit: UnitOfWork,
        command: cmd.Open,
        stamp: Stamp,
        *,
        expected: int | None,
        attempt: int,
        policy: Policy,
        monitor: SlaMonitor,
    ) -> tuple[Ticket, bool]:
        # Looking first costs a read; a plain open relies on the store's uniqueness instead
        # and looks only when it lost that race (attempt > 1).
        if self._bulk is not None or stamp.command_id is not None or attempt > 1:
            existing = unit.get(ticket_id(command.ref))
            if isinstance(existing, Ticket):
                if _already_applied(existing, stamp):
                    return existing, True
                raise DuplicateTicketError(command.ref)
        if expected not in (None, 0):
            raise ConcurrencyError(command.ref, expected, 0)
        ticket = _commands()[1].open_ticket(command, stamp, policy, monitor)
        unit.add(ticket)
        return ticket, False

    def _ticket(self, unit: UnitOfWork, ref: str) -> Ticket:
        ticket = unit.get(ticket_id(ref))
        if not isinstance(ticket, Ticket):
            raise TicketNotFoundError(ref)
        return ticket

    def _stamp(
        self,
        actor: str,
        at: datetime | None,
        command_id: str | None,
        source: dict[str, Any] | None,
        ref: str | None = None,
        *,
        digest: str | None = None,
        command: str | None = None,
    ) -> Stamp:
        occurred_at = at if at is not None else self.clock.now()
        if occurred_at.tzinfo is None:
            raise CommandValidationError(
                "at", f"{occurred_at.isoformat()} has no UTC offset", ref=ref
            )
        if not EARLIEST <= occurred_at <= LATEST:
            raise CommandValidationError(
                "at",
                f"{occurred_at.isoformat()} is outside the years {EARLIEST.year} to {LATEST.year}",
                ref=ref,
            )
        return Stamp(
            occurred_at=occurred_at,
            actor=actor,
            recorded_at=self.wall_clock.now(),
            command_id=command_id,
            source=source,
            explicit=at is not None,
            command_digest=digest,
            command=command,
        )

    def _system_stamp(self, at: datetime) -> Stamp:
        return Stamp(occurred_at=at, actor=SYSTEM_ACTOR, recorded_at=self.wall_clock.now())

    def advance(
        self, until: datetime | None = None, *, refs: Iterable[str] | None = None
    ) -> list[CommandResult]:
        """Clock tick: record everything due up to ``until`` on idle tickets — on ``refs``
        (those a view says have something due), or on every ticket of the store."""
        moment = until if until is not None else self.clock.now()
        results = []
        for ref in self._refs() if refs is None else refs:

            def work(unit: UnitOfWork, attempt: int, ref: str = ref) -> CommandResult | None:
                _, monitor = self._pinned(self._in_force(unit))
                with unit.savepoint() as marks:
                    ticket = self._ticket(unit, ref)
                    monitor.catch_up(ticket, moment)
                    recorded = [type(e).__name__ for e in unit.events_since(marks)]
                return CommandResult(ticket.ref, ticket.version, recorded) if recorded else None

            outcome, positions = self._write(work, ref)
            if outcome is not None:
                results.append(
                    CommandResult(outcome.ref, outcome.version, outcome.events, positions)
                )
        return results

    # ------------------------------------------------------------------ policy

    def _pending_registry(self) -> PolicyRegistry | None:
        if self._bulk is None:
            return None
        held = self._bulk.peek(policy_registry_id())
        return held if isinstance(held, _registry_class()) else None

    def load_policy(
        self, raw: Mapping[str, Any] | Policy, *, actor: str, at: datetime | None = None
    ) -> Policy:
        """Validate and install a policy as the next version (no-op if it is unchanged)."""
        policy = raw if isinstance(raw, Policy) else parse_policy(raw)
        _check_actor(actor, None)
        stamp = self._stamp(actor, at, None, None)
        policy = pin_holidays(policy, stamp.occurred_at.year)

        from engine.policy_registry import PolicyRegistry  # noqa: PLC0415

        def work(unit: UnitOfWork, attempt: int) -> None:
            registry = unit.get(policy_registry_id())
            if not isinstance(registry, PolicyRegistry):
                unit.add(PolicyRegistry.start(stamp, policy))
            else:
                registry.load(stamp, policy)

        self._write(work, "policy")
        return self.policy()

    def policy(self, version: int | None = None) -> Policy:
        """The policy of ``version`` (default: the current one; 0: the built-in default)."""
        if version is None and self._bulk is not None:
            return self._in_force(self._bulk)
        pending = self._pending_registry()
        if version is None:
            head = self._log_head()
            return self._versions.current(pending, head=head, since=self._head.observe(head))
        return self._versions.get(version, pending)

    def _policy_lookup(self, version: int | None) -> Policy:
        return self.policy(version)

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` as policy ``version`` defined it (pinned; cached)."""
        return self._versions.calendar(version, name, self._pending_registry())

    # ------------------------------------------------------------------ queries

    def get_ticket(self, ref: str, *, as_of: datetime | None = None) -> Ticket:
        """The ticket now, or as of an instant (only events that occurred at or before it)."""
        if as_of is None and self._bulk is not None:
            return self._ticket(self._bulk, ref)
        return self.queries.get_ticket(ref, as_of=as_of)

    def ticket_events(self, ref: str) -> list[TicketEvent]:
        return self.queries.ticket_events(ref)

    def sla_status(self, ticket: Ticket, at: datetime | None = None) -> list[TimerStatus]:
        return self.queries.sla_status(ticket, at)

    def view(self, ref: str, *, as_of: datetime | None = None) -> dict[str, Any]:
        return self.queries.view(ref, as_of=as_of)

    def explain_sla(self, ref: str, *, as_of: datetime | None = None) -> list[Explanation]:
        """Every SLA timer of ``ref`` with what its verdict rests on."""
        return self.queries.explain(ref, as_of=as_of)

    def refs(self) -> list[str]:
        return self.queries.refs()

    def tickets(self, *, as_of: datetime | None = None) -> list[Ticket]:
        return self.queries.tickets(as_of=as_of)

    def what_if(
        self,
        raw: Mapping[str, Any] | Policy,
        *,
        at: datetime | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
    ) -> WhatIfReport:
        return self.queries.what_if(raw, at=at, opened_from=opened_from, opened_to=opened_to)

    # ------------------------------------------------------------------ the log

    def _refs(self) -> Iterator[str]:
        for logged in self.read_log(topics=(get_topic(TicketOpened),)):
            yield logged.event.ref

    def store_id(self) -> str:
        """A stable id of this store: derived from the hash of the first event in its log."""
        return log.store_id(self.recorder)

    def read_log(
        self, after: int = 0, *, page: int = 1000, topics: tuple[str, ...] = ()
    ) -> Iterator[LoggedEvent]:
        """Every event after ``after`` in position order, with its position."""
        return log.read_log(self.recorder, self.mapper, after, page=page, topics=topics)

    def verify(
        self,
        checkpoint: str | None = None,
        *,
        checkpoints: Sequence[tuple[int, str, str]] = (),
        page: int = 1000,
    ) -> VerifyReport:
        """Recompute every chain from the stored records, check every snapshot, and compare
        the log's head with heads noted earlier; see :mod:`engine.verify`."""
        from engine.verify import verify_log  # noqa: PLC0415 - only verify needs it

        return verify_log(
            self.recorder, self.mapper, checkpoint, page=page, snapshots=self.snapshots,
            events=self.events, checkpoints=checkpoints, snapshot_streams=self.snapshot_streams,
        )  # fmt: skip


@cache
def _commands() -> tuple[ModuleType, ModuleType]:
    """The command models and their handlers, imported by the first command: they need
    pydantic, which queries, ``verify`` and the read-only command line never do."""
    from engine import commands, handlers  # noqa: PLC0415

    return commands, handlers


@cache
def _registry_class() -> type[PolicyRegistry]:
    """The policy registry's class, imported once: every command of a bulk unit asks for
    it (an import statement each cost more than the question), yet reads never need it."""
    from engine.policy_registry import PolicyRegistry  # noqa: PLC0415

    return PolicyRegistry


def _already_applied(ticket: Ticket, stamp: Stamp) -> bool:
    """Whether the stamp's command id was applied to ``ticket`` before (a retry: no effect);
    the same id for another command or other fields is an error naming the id."""
    seen = ticket.seen_command(stamp.command_id)
    if seen is None:
        return False
    version, digest, event_type = seen
    if digest is not None and stamp.command_digest is not None and digest != stamp.command_digest:
        raise CommandIdReusedError(
            str(stamp.command_id),
            ref=ticket.ref,
            earlier=f"the command that recorded {event_type} at version {version}",
            now=f"{stamp.command or 'a command'} with other fields or another command",
        )
    return True


def _retry_wait(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: random, so that racing writers spread
    out, with a ceiling that grows with each loss."""
    return random.uniform(0, min(RETRY_WAIT_MAX, 0.001 * 2**attempt))  # noqa: S311 - not crypto


def _check_actor(actor: object, ref: str | None) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise CommandValidationError("as", "an actor is required", ref=ref)


def _not_before(stamp: Stamp, last: datetime | None, *, explicit: bool) -> Stamp:
    """A command without an explicit time happens at the later of the clock's now and the
    ticket's last event (two writers' clocks never put a ticket's events out of order); an
    explicit time earlier than the last event is rejected by ``ensure_in_time``."""
    if explicit or last is None or stamp.occurred_at >= last:
        return stamp
    return replace(stamp, occurred_at=last)
