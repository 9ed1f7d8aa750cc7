"""Subscribers for embedding products: event envelopes from a durable JetStream consumer.

::

    async with subscribe(url, "billing", event_types=["Resolved"]) as events:
        await events.run(handler)            # ack after handler returns, nak on exception

    async with subscribe(url, "audit", tickets=["INC1001"]) as events:
        async for delivery in events:        # or take the deliveries yourself
            use(delivery.envelope)
            await delivery.ack()

A subscriber is a durable push consumer on the relay's stream (docs/nats.md), filtered by event
type (``deskledger.ticket.*.<Type>``, ``deskledger.policy.<Type>``) and/or ticket
(``deskledger.ticket.<ref>.>``), acknowledging explicitly; without filters it takes every
event (``deskledger.ticket.>`` and ``deskledger.policy.>``) and no checkpoint. It resumes
where it left off after a restart, and a message is acknowledged only after the handler
returned.

**Delivery is at least once, and not always in order.** A message whose handler failed is
negatively acknowledged with a delay and delivered again later; one whose ack was lost is
delivered again after ``ack_wait``. Meanwhile later messages keep flowing, so a redelivery
can arrive *after* messages of higher positions. For an exactly-once *effect*, either record each
processed position — per message, not as a single high-water mark, which such a late
redelivery would defeat — in the same transaction as the effect and skip positions already
recorded, or apply messages in stream-sequence order, holding early arrivals until the gap
before them is filled (as :class:`adapters.nats.replica.Replica` does, reading what a gap
holds with :meth:`EventSubscriber.read_stream`).

A message on an event subject that is not an envelope (published by something else) is
logged at error level and terminated, never handed to the handler.

Errors: :class:`NatsUnavailableError` (no server within ``open_timeout``) and
:class:`SubscriberConfigError` (a durable of that name exists with other filters, or another
subscriber is bound to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RawStreamMsg

from adapters.logging import get_logger
from adapters.nats.codec import decode
from adapters.nats.errors import NatsUnavailableError, SubscriberConfigError
from adapters.nats.subjects import (
    CHECKPOINT_FAMILY,
    DEFAULT_STREAM,
    EVENT_SUBJECTS,
    POLICY_FAMILY,
    SUBJECT_ROOT,
    TICKET_FAMILY,
)
from adapters.nats.urls import server_list
from engine.envelope import Envelope

log = get_logger("deskledger.subscriber")

Handler = Callable[[Envelope], Awaitable[object] | object]


def filter_subjects(
    event_types: Iterable[str] | None = None, tickets: Iterable[str] | None = None
) -> list[str]:
    """The subjects selecting these event types and/or tickets (every event when both None;
    never a checkpoint)."""
    types = sorted(set(event_types or ()))
    refs = sorted(set(tickets or ()))
    for name in [*types, *refs]:
        if not name or any(c in name for c in ".*> \t\r\n"):
            raise ValueError(f"{name!r} cannot be part of a NATS subject")
    tickets_root = f"{SUBJECT_ROOT}.{TICKET_FAMILY}"
    if not types and not refs:
        return list(EVENT_SUBJECTS)
    if not refs:
        return [
            subject
            for name in types
            for subject in (f"{tickets_root}.*.{name}", f"{SUBJECT_ROOT}.{POLICY_FAMILY}.{name}")
        ]
    if not types:
        return [f"{tickets_root}.{ref}.>" for ref in refs]
    return [f"{tickets_root}.{ref}.{name}" for ref in refs for name in types]


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
    """One delivered event: its envelope (docs/concepts.md) and how to acknowledge it."""

    envelope: Envelope
    subject: str
    stream_sequence: int
    num_delivered: int
    message: Msg = field(repr=False, compare=False)

    @property
    def position(self) -> int:
        return self.envelope.position

    @property
    def ticket(self) -> str:
        return self.envelope.ticket

    @property
    def event_type(self) -> str:
        return self.envelope.type

    async def ack(self) -> None:
        """Done: JetStream will not deliver this message to this consumer again."""
        await self.message.ack()

    async def nak(self, delay: float | None = None) -> None:
        """Failed: deliver it again (after ``delay`` seconds)."""
        await self.message.nak(delay=delay)

    async def in_progress(self) -> None:
        """Still working: restart the ack timer."""
        await self.message.in_progress()


@dataclass(frozen=True)
class StreamMessage:
    """A message read from the stream directly, not through the consumer.

    ``envelope`` is None when the message is not one of this subscriber's events; ``note``
    then says what it is (a checkpoint, an event outside the filters, or — ``unreadable`` —
    a message on one of its subjects that is not an envelope).
    """

    sequence: int
    subject: str
    envelope: Envelope | None
    note: str = ""
    unreadable: bool = False


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
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PushSubscription | None = None
        self._client_filters: list[str] | None = None

    # -------------------------------------------------------------- lifecycle

    async def open(self) -> Self:
        """Connect, create the durable consumer if needed, and bind to it."""

        async def on_error(error: Exception) -> None:
            log.warning("subscriber.nats_error", durable=self.durable, error=str(error))

        servers = server_list(self.nats_url)
        try:
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=servers,
                    name=f"deskledger-subscriber-{self.durable}",
                    max_reconnect_attempts=-1,  # once connected, ride out outages
                    reconnect_time_wait=0.5,
                    error_cb=on_error,
                ),
                self.open_timeout,
            )
        except (TimeoutError, OSError, nats.errors.Error) as error:
            raise NatsUnavailableError(
                f"subscriber {self.durable!r}: no NATS server at {self.nats_url} "
                f"within {self.open_timeout:g}s ({type(error).__name__})"
            ) from None
        js = self._js = self._nc.jetstream()
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
            server_filters, self._client_filters = [f"{SUBJECT_ROOT}.>"], self.filters
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
            self._nc = self._js = None

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
            delivery = await self._delivery(message)
            if delivery is not None:
                return delivery

    async def _delivery(self, message: Msg) -> Delivery | None:
        try:
            envelope = decode(message.data)
        except (KeyError, TypeError, ValueError) as error:
            log.error(  # noqa: TRY400 - a bad message, not a bug: no traceback wanted
                "subscriber.not_an_envelope",
                durable=self.durable,
                subject=message.subject,
                error=f"{type(error).__name__}: {error}",
            )
            await message.term()
            return None
        metadata = message.metadata
        return Delivery(
            envelope=envelope,
            subject=message.subject,
            stream_sequence=metadata.sequence.stream,
            num_delivered=metadata.num_delivered,
            message=message,
        )

    async def read_stream(self, sequence: int) -> StreamMessage | None:
        """The stream's first message at or after ``sequence`` (None if there is none), read
        directly: the consumer neither delivers nor acks anything for it.

        For a subscriber that applies messages in sequence order and meets a gap: the gap is
        a message it does not take (a checkpoint), one still to be redelivered, or one the
        stream no longer holds (``found.sequence > sequence``: deleted, or gone by limits).
        """
        if self._js is None:
            raise RuntimeError("the subscriber is not open (use `async with subscribe(...)`)")
        try:
            raw: RawStreamMsg = await self._js.get_msg(
                self.stream, seq=sequence, subject=f"{SUBJECT_ROOT}.>", next=True
            )
        except nats.js.errors.NotFoundError:
            return None
        found, subject = int(raw.seq or 0), raw.subject or ""
        if not any(subject_matches(subject, pattern) for pattern in self.filters):
            family = subject.split(".")[1] if subject.count(".") else subject
            what = "a checkpoint" if family == CHECKPOINT_FAMILY else "outside the filters"
            return StreamMessage(found, subject, None, f"{what} ({subject})")
        try:
            envelope = decode(raw.data or b"")
        except (KeyError, TypeError, ValueError) as error:
            note = f"not an envelope ({type(error).__name__}: {error})"
            return StreamMessage(found, subject, None, note, unreadable=True)
        return StreamMessage(found, subject, envelope)

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
