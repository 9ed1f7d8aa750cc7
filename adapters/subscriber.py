"""Subscribers for embedding products: event envelopes from a durable JetStream consumer.

::

    async with subscribe(url, "billing", event_types=["Resolved"]) as events:
        await events.run(handler)            # ack after handler returns, nak on exception

    async with subscribe(url, "audit", tickets=["INC1001"]) as events:
        async for delivery in events:        # or take the deliveries yourself
            use(delivery.envelope)
            await delivery.ack()

A subscriber is a durable push consumer on the relay's stream (SPEC §13), filtered by event
type (``deskledger.ticket.*.<Type>``, ``deskledger.policy.<Type>``) and/or ticket
(``deskledger.ticket.<ref>.>``), acknowledging explicitly. It resumes where it left off
after a restart, and a message is acknowledged only after the handler returned.

**Delivery is at least once, and not always in order.** A message whose handler failed is
negatively acknowledged with a delay and delivered again later; one whose ack was lost is
delivered again after ``ack_wait``. Meanwhile later messages keep flowing, so a redelivery
can arrive *after* messages of higher positions. For an exactly-once *effect*, record each
processed position — per message, not as a single high-water mark, which such a late
redelivery would defeat — in the same transaction as the effect, and skip positions already
recorded. :class:`RemoteQueueView` does exactly that; so should your handler.

:class:`RemoteQueueView` is the subscriber in the box: the open-work queue and the SLA
breaches of the desk, built only from what arrives over NATS, in a SQLite file.
:func:`check_delivery` feeds it until it has as many events as the log and compares the two
(position and hash of every event): what the demo shows.

Errors::

    DeskLedgerError
    ├── NatsUnavailableError   (adapters.nats_server) no server within ``open_timeout``
    └── SubscriberConfigError  (ValueError) a durable of that name exists with other filters,
                                            or another subscriber is bound to it
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.nats_server import NatsUnavailableError
from adapters.relay import DEFAULT_STREAM, STREAM_SUBJECTS, SUBJECT_ROOT
from engine.application import Desk
from engine.errors import DeskLedgerError
from engine.policy_registry import POLICY_STREAM

log = structlog.get_logger("deskledger.subscriber")

Handler = Callable[[dict[str, Any]], Awaitable[object] | object]


class SubscriberConfigError(DeskLedgerError, ValueError):
    """The durable consumer exists with other filters or is in use; use another name."""


def filter_subjects(
    event_types: Iterable[str] | None = None, tickets: Iterable[str] | None = None
) -> list[str]:
    """The subjects selecting these event types and/or tickets (all events when both None)."""
    types = sorted(set(event_types or ()))
    refs = sorted(set(tickets or ()))
    for name in [*types, *refs]:
        if not name or any(c in name for c in ".*> \t\r\n"):
            raise ValueError(f"{name!r} cannot be part of a NATS subject")
    if not types and not refs:
        return list(STREAM_SUBJECTS)
    if not refs:
        return [
            subject
            for name in types
            for subject in (
                f"{SUBJECT_ROOT}.ticket.*.{name}",
                f"{SUBJECT_ROOT}.{POLICY_STREAM}.{name}",
            )
        ]
    if not types:
        return [f"{SUBJECT_ROOT}.ticket.{ref}.>" for ref in refs]
    return [f"{SUBJECT_ROOT}.ticket.{ref}.{name}" for ref in refs for name in types]


def subject_matches(subject: str, pattern: str) -> bool:
    """NATS wildcard matching (``*`` one token, ``>`` the rest)."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or part not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


@dataclass(frozen=True)
class Delivery:
    """One delivered event: its envelope (SPEC §6) and how to acknowledge it."""

    envelope: dict[str, Any]
    subject: str
    stream_sequence: int
    num_delivered: int
    message: Msg = field(repr=False, compare=False)

    @property
    def position(self) -> int:
        return int(self.envelope["position"])

    @property
    def ticket(self) -> str:
        return str(self.envelope["ticket"])

    @property
    def event_type(self) -> str:
        return str(self.envelope["type"])

    async def ack(self) -> None:
        """Done: JetStream will not deliver this message to this consumer again."""
        await self.message.ack()

    async def nak(self, delay: float | None = None) -> None:
        """Failed: deliver it again (after ``delay`` seconds)."""
        await self.message.nak(delay=delay)

    async def in_progress(self) -> None:
        """Still working: restart the ack timer."""
        await self.message.in_progress()


class EventSubscriber:
    """A durable consumer on the relay's stream; use :func:`subscribe` to make one."""

    def __init__(
        self,
        nats_url: str,
        durable: str,
        *,
        event_types: Iterable[str] | None = None,
        tickets: Iterable[str] | None = None,
        stream: str = DEFAULT_STREAM,
        ack_wait: float = 30.0,
        max_ack_pending: int = 1000,
        nak_delay: float = 1.0,
        deliver_policy: DeliverPolicy = DeliverPolicy.ALL,
        open_timeout: float = 10.0,
    ) -> None:
        self.nats_url = nats_url
        self.open_timeout = open_timeout
        self.durable = durable
        self.stream = stream
        self.filters = filter_subjects(event_types, tickets)
        self.ack_wait = ack_wait
        self.max_ack_pending = max_ack_pending
        self.nak_delay = nak_delay
        self.deliver_policy = deliver_policy
        self.handled = 0
        self.failed = 0
        self._nc: NatsClient | None = None
        self._sub: JetStreamContext.PushSubscription | None = None
        self._client_filters: list[str] | None = None

    # -------------------------------------------------------------- lifecycle

    async def open(self) -> Self:
        """Connect, create the durable consumer if needed, and bind to it."""

        async def on_error(error: Exception) -> None:
            log.warning("subscriber.nats_error", durable=self.durable, error=str(error))

        try:
            self._nc = await asyncio.wait_for(
                nats.connect(
                    self.nats_url,
                    name=f"deskledger-subscriber-{self.durable}",
                    max_reconnect_attempts=-1,  # once connected, ride out outages
                    reconnect_time_wait=0.5,
                    error_cb=on_error,
                ),
                self.open_timeout,
            )
        except TimeoutError:
            raise NatsUnavailableError(
                f"subscriber {self.durable!r}: no NATS server at {self.nats_url} "
                f"within {self.open_timeout:g}s"
            ) from None
        js = self._nc.jetstream()
        try:
            config = await self._consumer(js)
            self._sub = await js.subscribe_bind(
                self.stream,
                config,
                self.durable,
                manual_ack=True,
                pending_msgs_limit=max(self.max_ack_pending * 2, 1024),
            )
        except BaseException:
            await self.close()
            raise
        log.info("subscriber.bound", durable=self.durable, stream=self.stream, filters=self.filters)
        return self

    async def _consumer(self, js: JetStreamContext) -> ConsumerConfig:
        """The consumer's config: the existing durable's (same filters, not bound elsewhere;
        it keeps the settings it was created with) or a new one."""
        assert self._nc is not None
        version = self._nc.connected_server_version
        several = len(self.filters) > 1
        if several and (version.major, version.minor) < (2, 10):
            # Servers before 2.10 take one filter: take everything, select here.
            server_filters, self._client_filters = list(STREAM_SUBJECTS), self.filters
        else:
            server_filters, self._client_filters = self.filters, None
        try:
            info = await js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            pass
        else:
            existing = sorted(info.config.filter_subjects or [info.config.filter_subject or ""])
            if existing != sorted(server_filters):
                raise SubscriberConfigError(
                    f"durable {self.durable!r} on stream {self.stream} filters {existing}, "
                    f"not {sorted(server_filters)}; use another durable name or delete it"
                )
            if info.push_bound:
                raise SubscriberConfigError(
                    f"durable {self.durable!r} on stream {self.stream} is already bound to a "
                    "running subscriber; stop it or use another durable name"
                )
            current: ConsumerConfig = info.config
            return current
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_subject=self._nc.new_inbox(),
            deliver_policy=self.deliver_policy,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_ack_pending=self.max_ack_pending,
            description="DeskLedger subscriber",
        )
        if len(server_filters) == 1:
            config.filter_subject = server_filters[0]
        else:
            config.filter_subjects = server_filters
        created: ConsumerConfig = (await js.add_consumer(self.stream, config)).config
        return created

    async def close(self) -> None:
        """Unbind and disconnect; the durable consumer (and its progress) stays on the server."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None
        if self._nc is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._nc.drain()
            self._nc = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -------------------------------------------------------------- consuming

    async def next(self, timeout: float = 1.0) -> Delivery | None:
        """The next delivery, or None if none came within ``timeout`` seconds."""
        if self._sub is None:
            raise RuntimeError("the subscriber is not open (use `async with subscribe(...)`)")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                message = await self._sub.next_msg(timeout=remaining)
            except nats.errors.TimeoutError:
                return None
            if self._client_filters is not None and not any(
                subject_matches(message.subject, pattern) for pattern in self._client_filters
            ):
                await message.ack()
                continue
            return self._delivery(message)

    def _delivery(self, message: Msg) -> Delivery:
        envelope = json.loads(message.data)
        metadata = message.metadata
        return Delivery(
            envelope=envelope,
            subject=message.subject,
            stream_sequence=metadata.sequence.stream,
            num_delivered=metadata.num_delivered,
            message=message,
        )

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        while self._sub is not None:
            delivery = await self.next(timeout=1.0)
            if delivery is not None:
                yield delivery

    async def run(
        self,
        handler: Handler,
        *,
        stop: asyncio.Event | None = None,
        until: Callable[[], bool] | None = None,
    ) -> int:
        """Call ``handler(envelope)`` for every delivery until ``stop`` is set or ``until()``.

        The message is acked after the handler returns (awaited if it returns an awaitable);
        if the handler raises, it is nak'ed with ``nak_delay`` and delivered again later.
        Returns how many deliveries the handler completed.
        """
        completed = 0
        while not (stop is not None and stop.is_set()) and not (until is not None and until()):
            delivery = await self.next(timeout=0.1)
            if delivery is None:
                continue
            try:
                outcome = handler(delivery.envelope)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as error:  # noqa: BLE001 - not swallowed: nak'ed and redelivered
                self.failed += 1
                log.warning(
                    "subscriber.handler_failed",
                    durable=self.durable,
                    ticket=delivery.ticket,
                    position=delivery.position,
                    type=delivery.event_type,
                    delivered=delivery.num_delivered,
                    error=f"{type(error).__name__}: {error}",
                    retry_in=self.nak_delay,
                )
                await delivery.nak(self.nak_delay)
                continue
            await delivery.ack()
            completed += 1
            self.handled += 1
        return completed


def subscribe(
    nats_url: str,
    durable: str,
    *,
    event_types: Iterable[str] | None = None,
    tickets: Iterable[str] | None = None,
    stream: str = DEFAULT_STREAM,
    **options: Any,
) -> EventSubscriber:
    """A subscriber to use as ``async with subscribe(...) as events``; see the module doc."""
    return EventSubscriber(
        nats_url, durable, event_types=event_types, tickets=tickets, stream=stream, **options
    )


# ---------------------------------------------------------------------- the one in the box

_SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    position INTEGER PRIMARY KEY, ticket TEXT NOT NULL, type TEXT NOT NULL,
    version INTEGER NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    ref TEXT PRIMARY KEY, kind TEXT, title TEXT, opened_at TEXT,
    state TEXT, state_version INTEGER NOT NULL DEFAULT 0,
    priority INTEGER, impact INTEGER, urgency INTEGER, priority_version INTEGER NOT NULL DEFAULT 0,
    assignment_group TEXT, assignee TEXT, tier INTEGER, assign_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS breaches (
    position INTEGER PRIMARY KEY, ticket TEXT NOT NULL, sla TEXT NOT NULL, breached_at TEXT
);
"""

_STATES = {
    "TicketOpened": "new",
    "WorkStarted": "in_progress",
    "PutOnHold": "on_hold",
    "Resumed": "in_progress",
    "Resolved": "resolved",
    "Reopened": "in_progress",
    "Closed": "closed",
    "Canceled": "canceled",
}
OPEN_STATES = ("new", "in_progress", "on_hold")


@dataclass(frozen=True)
class QueueRow:
    ref: str
    state: str
    priority: int | None
    assignment_group: str | None
    assignee: str | None
    title: str | None
    opened_at: str | None


@dataclass(frozen=True)
class Breach:
    ticket: str
    sla: str
    breached_at: str | None
    position: int


class RemoteQueueView:
    """Open work and SLA breaches built only from envelopes received over NATS (SQLite).

    :meth:`apply` records the envelope's position and its effect in one transaction and
    ignores a position it has seen: redeliveries have no second effect. Each group of
    columns (state, priority, assignment) remembers the ticket version that last wrote it
    and only takes newer ones, so envelopes arriving out of order give the same view.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a view: rebuildable, no fsync per event
        self._db.executescript(_SCHEMA)
        self._count = int(self._db.execute("SELECT count(*) FROM received").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- writing

    def apply(self, envelope: Mapping[str, Any]) -> bool:
        """Apply one envelope; False (and nothing changes) if its position was applied."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            inserted = db.execute(
                "INSERT OR IGNORE INTO received(position, ticket, type, version, hash) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    envelope["position"],
                    envelope["ticket"],
                    envelope["type"],
                    envelope["version"],
                    envelope["hash"],
                ),
            ).rowcount
            if inserted:
                self._project(envelope)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._count += inserted
        if inserted and envelope["type"] == "SlaBreached":  # the notification, once
            data = envelope.get("data") or {}
            log.warning(
                "subscriber.sla_breached",
                ticket=envelope["ticket"],
                position=envelope["position"],
                sla=data.get("name"),
                breached_at=data.get("breached_at"),
            )
        return bool(inserted)

    def _project(self, envelope: Mapping[str, Any]) -> None:
        kind, ref, version = envelope["type"], envelope["ticket"], envelope["version"]
        data: Mapping[str, Any] = envelope.get("data") or {}
        if ref == POLICY_STREAM:
            return
        db = self._db
        db.execute("INSERT OR IGNORE INTO tickets(ref) VALUES (?)", (ref,))
        if kind == "TicketOpened":
            db.execute(
                "UPDATE tickets SET kind = ?, title = ?, opened_at = ? WHERE ref = ?",
                (data.get("kind"), data.get("title"), envelope["occurred_at"], ref),
            )
            self._set(ref, "priority", version, priority=data.get("priority"),
                      impact=data.get("impact"), urgency=data.get("urgency"))  # fmt: skip
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=data.get("assignee"))  # fmt: skip
        if kind in _STATES:
            self._set(ref, "state", version, state=_STATES[kind])
        elif kind == "Assigned":
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=data.get("assignee"))  # fmt: skip
        elif kind == "FunctionallyEscalated":
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=None, tier=data.get("tier"))  # fmt: skip
        elif kind == "Reprioritized":
            self._set(ref, "priority", version, priority=data.get("priority"),
                      impact=data.get("impact"), urgency=data.get("urgency"))  # fmt: skip
        elif kind == "SlaBreached":
            db.execute(
                "INSERT OR IGNORE INTO breaches(position, ticket, sla, breached_at) "
                "VALUES (?, ?, ?, ?)",
                (envelope["position"], ref, data.get("name"), data.get("breached_at")),
            )

    def _set(self, ref: str, group: str, version: int, **values: Any) -> None:
        """Write a column group if ``version`` is newer than the one that wrote it last."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        self._db.execute(
            f"UPDATE tickets SET {assignments}, {group}_version = ? "  # noqa: S608 - fixed names
            f"WHERE ref = ? AND {group}_version < ?",
            (*values.values(), version, ref, version),
        )

    # -------------------------------------------------------------- reading

    def received_count(self) -> int:
        """How many distinct positions were applied."""
        return self._count

    def received(self) -> list[tuple[int, str]]:
        """(position, hash) of every envelope applied, in position order."""
        return list(self._db.execute("SELECT position, hash FROM received ORDER BY position"))

    def queue(self) -> list[QueueRow]:
        """Open tickets by priority, then age."""
        rows = self._db.execute(
            "SELECT ref, state, priority, assignment_group, assignee, title, opened_at "
            "FROM tickets WHERE state IN ('new', 'in_progress', 'on_hold') "
            "ORDER BY priority IS NULL, priority, opened_at, ref"
        )
        return [QueueRow(*row) for row in rows]

    def breaches(self) -> list[Breach]:
        rows = self._db.execute(
            "SELECT ticket, sla, breached_at, position FROM breaches ORDER BY position"
        )
        return [Breach(*row) for row in rows]


# ---------------------------------------------------------------------- demo support


@dataclass(frozen=True)
class DeliveryReport:
    """What a subscriber received compared with the log."""

    received: int
    logged: int
    equal: bool
    missing: Sequence[int] = ()
    unexpected: Sequence[int] = ()
    seconds: float = 0.0


def logged_hashes(desk: Desk) -> list[tuple[int, str]]:
    """(position, hash) of every event the relay publishes, in position order."""
    return [(logged.position, logged.event.hash) for logged in desk.read_log()]


def compare(view: RemoteQueueView, desk: Desk, seconds: float = 0.0) -> DeliveryReport:
    """Compare what ``view`` received with the log, position by position and hash by hash."""
    logged = dict(logged_hashes(desk))
    received = dict(view.received())
    missing = sorted(p for p in logged if received.get(p) != logged[p])
    unexpected = sorted(p for p in received if p not in logged)
    return DeliveryReport(
        received=len(received),
        logged=len(logged),
        equal=not missing and not unexpected,
        missing=missing[:20],
        unexpected=unexpected[:20],
        seconds=round(seconds, 3),
    )


async def await_delivery(
    nats_url: str,
    desk: Desk,
    view: RemoteQueueView,
    *,
    durable: str = "deskledger-queue-view",
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> DeliveryReport:
    """Feed ``view`` from NATS until it holds as many events as the log, then compare."""
    target = len(logged_hashes(desk))
    started = time.monotonic()
    async with subscribe(nats_url, durable, stream=stream) as events:
        await events.run(
            view.apply,
            until=lambda: view.received_count() >= target or time.monotonic() - started > timeout,
        )
    report = compare(view, desk, time.monotonic() - started)
    log.info(
        "subscriber.delivery_checked",
        received=report.received,
        logged=report.logged,
        equal=report.equal,
        seconds=report.seconds,
    )
    return report


def check_delivery(
    nats_url: str,
    desk: Desk,
    *,
    view_path: str | Path = ":memory:",
    durable: str = "deskledger-queue-view",
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> tuple[DeliveryReport, RemoteQueueView]:
    """Sync form of :func:`await_delivery` for the demo: the report and the view it built."""
    view = RemoteQueueView(view_path)
    report = asyncio.run(
        await_delivery(nats_url, desk, view, durable=durable, stream=stream, timeout=timeout)
    )
    return report, view


__all__ = [
    "Breach",
    "Delivery",
    "DeliveryReport",
    "EventSubscriber",
    "QueueRow",
    "RemoteQueueView",
    "SubscriberConfigError",
    "await_delivery",
    "check_delivery",
    "compare",
    "filter_subjects",
    "subject_matches",
    "subscribe",
]
