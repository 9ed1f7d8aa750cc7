"""A replica of the log fed by NATS: the store's own projections, views and queries, remotely.

::

    replica = Replica("replica.db")
    await replica.follow(url, "my-replica", stop=stop)   # a durable consumer on the stream
    replica.queries.queue()                             # the one query layer, same answers

A :class:`Replica` keeps, in one SQLite file of its own, every envelope it received
(:mod:`adapters.nats.replica_log`) and the views the store keeps beside its events: the
**same** :class:`~projections.tickets.TicketsProjection` and
:class:`~projections.audit.AuditProjection`, answering through the same
:class:`~projections.queries.Queries` (the replica is a :class:`~projections.reading.ReadSide`).
Tickets are applied with the aggregate's own mutators; a ticket not in the projection's cache
is replayed from the replica's envelopes, calendars come from the policy versions received
(:class:`~adapters.nats.replica_log.ReplicaWorld`). No lifecycle rule is written twice.

**Order.** Messages are applied in stream-sequence order (the relay publishes the log in
position order on a contiguous sequence). A message that arrives early is stored and held,
unacknowledged, until the gap before it is filled. A gap is read from the stream directly
(:meth:`~adapters.nats.subscriber.EventSubscriber.read_stream`): a checkpoint or another
message without an event is skipped; an event not redelivered yet is taken from the stream;
sequences the stream no longer holds are recorded as ``lost`` and logged
(``replica.messages_lost``). A ticket event whose earlier events never arrived is then recorded
as damage by the tickets projection, as an unreadable stored event is locally: queries of that
ticket raise :class:`~engine.errors.UnreadableEventError`, the rest of the desk goes on, and
:meth:`Replica.problems` lists it.

**Acks and idempotency.** Each batch of deliveries is stored (one transaction, ``INSERT OR
IGNORE`` by sequence: a redelivery stores nothing new) before anything is applied. Applying a
contiguous run is three commits — the tickets view with its tracking position, the audit index
with its tracking position (each projection skips positions it already tracks), then the
replica's mark (the last sequence applied) — and only then are the run's messages acked. A
message at or below the mark is acked at once with no second effect; a position that arrives
again under another sequence (a duplicate publication) is recorded as ``duplicate`` (or
``conflict`` if its hash differs: logged at error level) and not applied.

**Restarts.** Envelopes, views, tracking positions and the mark persist in the file; the
durable consumer resumes on the server. What was stored but not applied is applied on start
(:meth:`Replica.catch_up`); messages delivered to a replica that died before acking them come
back and are acked as already applied. :meth:`Replica.rebuild` drops the views and applies the
stored envelopes again, which gives the same rows.

One process, one thread drives a replica file (the projection's cache is not shared).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import nats.errors
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore

from adapters.clock import SystemClock
from adapters.logging import get_logger
from adapters.nats.replica_log import (
    DECODING_ERRORS,
    Mark,
    Received,
    ReplicaLog,
    ReplicaWorld,
    decode,
    history,
)
from adapters.nats.subjects import DEFAULT_STREAM
from adapters.nats.subscriber import Delivery, StreamMessage, subscribe
from engine.application import Desk
from engine.calendar import BusinessCalendar
from engine.clock import Clock
from engine.envelope import Envelope
from engine.errors import DeskLedgerError
from projections.audit import AuditProjection
from projections.feed import Item, Unreadable
from projections.queries import Queries
from projections.sqlite import SQLiteAuditView, SQLiteTicketsView
from projections.tickets import TicketsProjection

log = get_logger("deskledger.replica")

DEFAULT_DURABLE = "deskledger-replica"
#: The application name the views track positions under (the log of a DeskLedger store).
APPLICATION = Desk.name
#: Statuses of sequences that hold a problem worth reporting.
PROBLEM_STATUSES = ("lost", "unreadable", "conflict")


class Source(Protocol):
    """Where a replica takes messages from: an open :class:`EventSubscriber`."""

    async def next(self, timeout: float = 1.0) -> Delivery | None: ...

    async def read_stream(self, sequence: int) -> StreamMessage | None: ...


@dataclass(frozen=True)
class ReplicaProblem:
    """Something the replica could not apply: sequences ``lost`` or ``unreadable``, a
    position in ``conflict`` with the one applied, or a ``damaged`` ticket event."""

    kind: str
    detail: str
    sequence: int | None = None
    through: int | None = None
    position: int | None = None
    ticket: str | None = None


class Replica:
    """The views of a store's log, fed over NATS, in a SQLite file (see the module doc).

    ``path`` None keeps everything in memory. ``clock`` says "now" for queries without
    ``as_of`` (default: the wall clock). ``batch`` bounds the events per transaction.
    """

    def __init__(
        self, path: str | Path | None = None, *, clock: Clock | None = None, batch: int = 500
    ) -> None:
        if path is None:
            path = f"file:deskledger-replica-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self.path = str(path)
        self.clock: Clock = clock or SystemClock()
        self.batch = batch
        self.datastore = SQLiteDatastore(self.path)
        self.log = ReplicaLog(self.datastore)
        self.log.create()
        self.world = ReplicaWorld(self.log)
        self.tickets = SQLiteTicketsView(self.datastore)
        self.audit = SQLiteAuditView(self.datastore)
        self.tickets.create()
        self.audit.create()
        self._tickets = TicketsProjection(self.tickets, world=self.world)
        self._audit = AuditProjection(self.audit)
        self.queries = Queries(self)
        self._mark = self.log.mark()
        self._count = self.log.applied_count(self._mark.sequence)
        self._held: dict[int, list[Delivery]] = {}
        if self.tickets.outdated() or self.audit.outdated():  # built by an older version
            self.rebuild()

    def close(self) -> None:
        self.datastore.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------- what it holds

    @property
    def mark(self) -> Mark:
        """The last stream sequence and log position the views hold."""
        return self._mark

    def received_count(self) -> int:
        """How many events (distinct positions) the views hold."""
        return self._count

    def received(self) -> list[tuple[int, str]]:
        """(position, hash) of every event applied, in position order."""
        return self.log.applied()

    def problems(self) -> list[ReplicaProblem]:
        """Sequences lost, unreadable or in conflict, and ticket events recorded as damaged."""
        found = [
            ReplicaProblem(
                row["status"],
                row["note"] or "",
                sequence=row["sequence"],
                through=row["through"],
                position=row["position"],
                ticket=row["ticket"],
            )
            for row in self.log.noted(PROBLEM_STATUSES)
        ]
        found += [
            ReplicaProblem("damaged", row["reason"], position=row["position"], ticket=row["ref"])
            for row in self.tickets.rows("SELECT * FROM {damaged} ORDER BY position")
        ]
        return found

    # -------------------------------------------------------------- ReadSide

    def now(self) -> datetime:
        return self.clock.now()

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        return self.world.calendar(version, name)

    def history(self, ref: str) -> Iterator[Any]:
        return history(self.log, ref)

    def catch_up(self) -> int:
        """Apply, in sequence order, what is stored and not applied yet, up to the first gap;
        returns how many events were applied. Reads nothing from NATS (:meth:`consume` fills
        gaps and acks)."""
        done = 0
        while True:
            run = self._contiguous(self.log.after(self._mark.sequence, self.batch))
            if not run:
                return done
            done += self._apply(run)

    def rebuild(self) -> int:
        """Drop the views and apply every stored envelope again; returns how many events."""
        for store in (self.tickets, self.audit):
            store.drop()
            store.create()
        self._tickets.forget()
        self._mark, self._count = Mark(), 0
        self.log.advance(self._mark)
        return self.catch_up()

    # -------------------------------------------------------------- applying

    def _contiguous(self, rows: Sequence[Any]) -> list[Any]:
        """The rows that continue the mark without a gap."""
        run, expected = [], self._mark.sequence + 1
        for row in rows:
            if row["sequence"] > expected:
                break
            run.append(row)
            expected = max(expected, row["through"] + 1)
        return run

    def _apply(self, run: Sequence[Any]) -> int:
        """Decide each row of ``run``, feed the projections, then move the mark."""
        covered, position = self._mark.sequence, self._mark.position
        decisions: dict[int, tuple[str, str | None]] = {}
        hashes: dict[int, str] = {}
        items: list[Item] = []
        for row in run:
            sequence = row["sequence"]
            if sequence <= covered:
                decisions[sequence] = ("skipped", "inside a range already skipped")
                continue
            covered = row["through"]
            if row["body"] is None:
                continue
            at = int(row["position"])
            if at <= position:
                decisions[sequence] = self._again(row, hashes.get(at) or self.log.hash_at(at))
                continue
            position, hashes[at] = at, row["hash"]
            decisions[sequence] = ("applied", None)
            items.append((self._event(row), Tracking(APPLICATION, at)))
        self.log.decide(decisions)
        self._project(items, self._mark.position)
        self._mark = Mark(covered, position)
        self.log.advance(self._mark)
        self._count += len(items)
        return len(items)

    def _again(self, row: Any, applied_hash: str | None) -> tuple[str, str]:
        """The decision for an envelope whose position was applied before."""
        at = row["position"]
        if applied_hash == row["hash"]:
            log.info("replica.duplicate", sequence=row["sequence"], position=at)
            return "duplicate", f"position {at} again"
        log.error(
            "replica.conflict",
            sequence=row["sequence"],
            position=at,
            ticket=row["ticket"],
            hash=row["hash"],
            applied_hash=applied_hash,
        )
        return "conflict", f"position {at} again with hash {row['hash']}, not {applied_hash}"

    def _event(self, row: Any) -> Any:
        """The row's domain event, or :class:`Unreadable` (recorded as damage)."""
        try:
            return decode(Envelope.from_json(row["body"]))
        except DECODING_ERRORS as error:
            reason = f"{type(error).__name__}: {error}"
            return Unreadable(str(row["ticket"]), str(row["stream_id"]), reason)

    def _project(self, items: Sequence[Item], after: int) -> None:
        """Both views, each with its tracking position in one transaction. An event the
        tickets projection cannot apply (a policy version that never arrived) is recorded as
        damage instead, so the events after it still apply."""
        if not items:
            return
        try:
            self._tickets.process_batch(items)
        except DeskLedgerError:
            for event, tracking in items:
                try:
                    self._tickets.process_batch([(event, tracking)])
                except DeskLedgerError as error:
                    reason = f"{type(error).__name__}: {error}"
                    damage = Unreadable(event.ref, str(event.originator_id), reason)
                    self._tickets.process_batch([(damage, tracking)])
        self._audit.process_batch(items)
        for row in self.tickets.rows(
            "SELECT * FROM {damaged} WHERE position > :after ORDER BY position", {"after": after}
        ):
            log.error(
                "replica.ticket_damaged",
                ticket=row["ref"],
                position=row["position"],
                reason=row["reason"],
            )

    # -------------------------------------------------------------- consuming

    async def follow(
        self,
        nats_url: str,
        durable: str = DEFAULT_DURABLE,
        *,
        stream: str = DEFAULT_STREAM,
        stop: asyncio.Event | None = None,
        until: Callable[[], bool] | None = None,
        **options: Any,
    ) -> None:
        """Consume every event of ``stream`` with the durable consumer ``durable`` until
        ``stop`` is set or ``until()`` holds (``options`` go to :func:`subscribe`)."""
        async with subscribe(nats_url, durable, stream=stream, **options) as events:
            await self.consume(events, stop=stop, until=until)

    async def consume(
        self,
        source: Source,
        *,
        stop: asyncio.Event | None = None,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Store, order, apply and ack what ``source`` delivers (see the module doc)."""
        self.catch_up()
        while not (stop is not None and stop.is_set()) and not (until is not None and until()):
            await self._receive(await self._gather(source))
            try:
                await self._settle(source)
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("replica.nats_unavailable", error=f"{type(error).__name__}: {error}")
                await asyncio.sleep(0.5)

    async def _gather(self, source: Source) -> list[Delivery]:
        """The next delivery and whatever else is already waiting (up to ``batch``)."""
        first = await source.next(timeout=0.1)
        if first is None:
            return []
        found = [first]
        while len(found) < self.batch:
            more = await source.next(timeout=0.001)
            if more is None:
                break
            found.append(more)
        return found

    async def _receive(self, deliveries: Sequence[Delivery]) -> None:
        """Ack what the views hold already; store and hold the rest."""
        fresh: list[Received] = []
        for delivery in deliveries:
            sequence = delivery.stream_sequence
            if sequence <= self._mark.sequence:
                await self._ack(delivery)  # applied before: no second effect
                continue
            self._held.setdefault(sequence, []).append(delivery)
            fresh.append(Received.event(sequence, delivery.envelope))
        self.log.store(fresh)

    async def _settle(self, source: Source) -> None:
        """Apply what continues the mark, ack it, and fill the gap before what is held."""
        while True:
            self.catch_up()
            await self._ack_applied()
            following = self.log.after(self._mark.sequence, 1)
            if not following:
                return
            await self._fill(source, self._mark.sequence + 1, following[0]["sequence"] - 1)

    async def _fill(self, source: Source, first: int, last: int) -> None:
        """Store what the stream holds at sequences ``first``..``last`` (up to ``batch``)."""
        rows: list[Received] = []
        sequence = first
        while sequence <= last and len(rows) < self.batch:
            found = await source.read_stream(sequence)
            end = last if found is None else min(found.sequence - 1, last)
            if end >= sequence:
                log.warning("replica.messages_lost", first=sequence, last=end)
                note = "not in the stream (deleted, or gone by the stream's limits)"
                rows.append(Received.skipped(sequence, end, "lost", note))
            if found is None or found.sequence > last:
                break
            at = found.sequence
            if found.envelope is not None:
                rows.append(Received.event(at, found.envelope))
            elif found.unreadable:
                log.error("replica.unreadable", sequence=at, note=found.note)
                rows.append(Received.skipped(at, at, "unreadable", found.note))
            else:
                rows.append(Received.skipped(at, at, "skipped", found.note))
            sequence = at + 1
        self.log.store(rows)

    async def _ack_applied(self) -> None:
        for sequence in sorted(s for s in self._held if s <= self._mark.sequence):
            for delivery in self._held.pop(sequence):
                await self._ack(delivery)

    async def _ack(self, delivery: Delivery) -> None:
        try:
            await delivery.ack()
        except nats.errors.Error as error:  # it comes back, and is acked then, with no effect
            log.info(
                "replica.ack_lost",
                sequence=delivery.stream_sequence,
                error=f"{type(error).__name__}: {error}",
            )
