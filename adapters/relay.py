"""The relay: the event log is the outbox, JetStream the destination (SPEC §13).

The relay reads the store's notification log in position order and publishes every event to
``deskledger.ticket.<ref>.<EventType>`` (policy versions to ``deskledger.policy.<EventType>``)
on the stream ``DESKLEDGER`` (``deskledger.>``, file storage), with the headers
``Nats-Msg-Id`` = ``<store id>:<position>``, ``DeskLedger-Position``,
``DeskLedger-Event-Type``, ``DeskLedger-Ticket``, ``DeskLedger-Occurred-At`` and the event
envelope (SPEC §6) as JSON body.

**The stream is the relay's progress record.** On every (re)connection the relay reads the
stream's last message and resumes after its ``DeskLedger-Position``; nothing else is stored
(an empty stream, new or purged, gets the whole log).
It checks that this message came from this store (its ``Nats-Msg-Id`` prefix) and that its
hash equals the log's event at that position, so it never continues someone else's history.

**No loss, no duplicates, whatever crashes when.** Messages are published asynchronously, up
to ``max_in_flight`` at a time, each with a reply inbox, and every ack is checked in position
order: it must name the stream and the sequence number the message was meant to get. Each
message also carries ``Nats-Expected-Last-Sequence`` = the sequence of the message before it,
so JetStream stores message *n* only directly after message *n - 1*: a message lost in
flight (NATS restarted, connection cut) makes every later one of the batch fail instead of
leaving a gap, and a second relay racing on the same stream cannot interleave. Any failure
(a nack, a wrong sequence, a timeout, a lost connection) stops the batch; the relay backs off
and resumes from what the stream holds. ``Nats-Msg-Id`` with the stream's
``duplicate_window`` drops a message published twice on top of that.

``ack_every=N`` (default 1) asks for an ack on every N-th message only (and the last of each
page). Thanks to the sequence precondition, a good ack for sequence *s* still proves that
every earlier message is stored, in order — the idea of JetStream's own fast-batch
publishing — for about a quarter more throughput (``bench/bench_relay.py``); it assumes,
like everything here, that only DeskLedger relays of this store write to the stream.

The engine never waits for NATS: commands are committed to the log whatever NATS does, and
the relay catches up when NATS returns, retrying with exponential back-off and logging each
failure (``relay.nats_unavailable``) and the recovery (``relay.resumed``).

Errors::

    DeskLedgerError
    ├── NatsUnavailableError          (adapters.nats_server) NATS unreachable (--once gave up)
    ├── StoreUnavailableError         (adapters.stores) the log could not be read (--once)
    └── RelayStreamError   (ValueError) the stream belongs to another store, is ahead of the
                                        log, or its subjects clash with another stream
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, Self
from uuid import UUID

import nats
import nats.errors
import nats.js.errors
import structlog
from eventsourcing.persistence import JSONTranscoder, Notification, PersistenceError
from eventsourcing.utils import resolve_topic
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo

from adapters.nats_server import DEFAULT_NATS_URL, NatsUnavailableError
from adapters.nats_server import nats_url as configured_nats_url
from adapters.stores import StoreUnavailableError
from engine.application import Desk
from engine.chain import LedgerEvent
from engine.envelope import envelope, envelope_from_fields
from engine.errors import DeskLedgerError
from engine.log import LoggedEvent
from engine.policy_registry import POLICY_STREAM

DEFAULT_STREAM = "DESKLEDGER"
SUBJECT_ROOT = "deskledger"
STREAM_SUBJECTS = (f"{SUBJECT_ROOT}.>",)
DUPLICATE_WINDOW = 300.0  # seconds JetStream remembers a Nats-Msg-Id

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
HEADER_POSITION = "DeskLedger-Position"
HEADER_EVENT_TYPE = "DeskLedger-Event-Type"
HEADER_TICKET = "DeskLedger-Ticket"
HEADER_OCCURRED_AT = "DeskLedger-Occurred-At"

#: Failures after which the relay backs off and resumes from the stream.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    nats.errors.Error,
    PersistenceError,
)

log = structlog.get_logger("deskledger.relay")


class RelayStreamError(DeskLedgerError, ValueError):
    """The stream cannot be the progress record of this store's log (CLI exit code 2)."""


class RelayInterruptedError(DeskLedgerError):
    """A batch was not fully acknowledged; the relay resumes from the stream (transient).

    ``position`` and ``ticket`` name the first message that was not confirmed, when known.
    """

    def __init__(self, problem: str, *, position: int | None = None, ticket: str | None = None):
        self.position = position
        self.ticket = ticket
        where = f"position {position} (ticket {ticket}): " if position is not None else ""
        super().__init__(f"{where}{problem}")


RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, RelayInterruptedError)


def subject_for(ref: str, type_name: str) -> str:
    """``deskledger.ticket.<ref>.<EventType>``; policy events: ``deskledger.policy.<Type>``."""
    if ref == POLICY_STREAM:
        return f"{SUBJECT_ROOT}.{POLICY_STREAM}.{type_name}"
    return f"{SUBJECT_ROOT}.ticket.{ref}.{type_name}"


class Outgoing(NamedTuple):
    """One event ready to publish."""

    position: int
    subject: str
    headers: dict[str, str]
    body: bytes


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(logged: LoggedEvent, store_id: str) -> Outgoing:
    """The subject, headers and JSON body of one logged event (the reference encoding)."""
    body = envelope(logged.event, logged.position)
    return _outgoing(body, store_id)


def _outgoing(body: dict[str, Any], store_id: str) -> Outgoing:
    position, ref, type_name = body["position"], body["ticket"], body["type"]
    return Outgoing(
        position,
        subject_for(ref, type_name),
        {
            HEADER_MSG_ID: f"{store_id}:{position}",
            HEADER_POSITION: str(position),
            HEADER_EVENT_TYPE: type_name,
            HEADER_TICKET: ref,
            HEADER_OCCURRED_AT: body["occurred_at"],
        },
        _JSON.encode(body).encode(),
    )


class _Unusual(Exception):  # noqa: N818 - internal signal, never escapes this module
    """A stored event the fast path does not handle; the reference path encodes it."""


def _plain(obj: dict[str, Any]) -> Any:
    """JSON object hook: eventsourcing's transcoded values as envelope values (strings)."""
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        kind = obj["_type_"]
        if kind == "datetime_iso":
            return obj["_data_"]
        if kind == "uuid_hex":
            return str(UUID(obj["_data_"]))
        raise _Unusual(kind)
    return obj


class _LogReader:
    """Reads pages of the log as :class:`Outgoing` messages, in position order.

    The fast path builds each envelope straight from the stored JSON (no domain object, no
    second pass over its fields): the same mapping as :func:`engine.envelope.envelope`, which
    ``tests/test_nats.py`` checks on every event type. Anything it does not recognise — a
    cipher or compressor, an upcast class version, an unknown transcoding, a missing field —
    goes through the engine's own decoding and :func:`encode`.
    """

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        mapper = desk.mapper
        self._fast = (
            mapper.cipher is None
            and mapper.compressor is None
            and isinstance(mapper.transcoder, JSONTranscoder)
        )
        self._decoder = json.JSONDecoder(object_hook=_plain)
        self._classes: dict[str, type[LedgerEvent] | None] = {}

    def _shape(self, topic: str) -> type[LedgerEvent] | None:
        """The event class of a relayed topic; None if not relayed."""
        try:
            return self._classes[topic]
        except KeyError:
            cls = resolve_topic(topic)
            shape = cls if isinstance(cls, type) and issubclass(cls, LedgerEvent) else None
            self._classes[topic] = shape
            return shape

    def read(self, after: int, limit: int, store_id: str) -> tuple[list[Outgoing], int]:
        """Up to ``limit`` notifications after ``after``: (messages, last position scanned)."""
        notifications = self._desk.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        page: list[Outgoing] = []
        for notification in notifications:
            shape = self._shape(notification.topic)
            if shape is None:
                continue
            body = self._fast_envelope(notification, shape) if self._fast else None
            if body is None:
                event = self._desk.mapper.to_domain_event(notification)
                body = envelope(event, notification.id)  # type: ignore[arg-type]
            page.append(_outgoing(body, store_id))
        last = notifications[-1].id if notifications else after
        return page, last

    def _fast_envelope(
        self, notification: Notification, event_class: type[LedgerEvent]
    ) -> dict[str, Any] | None:
        try:
            state = self._decoder.decode(notification.state.decode("utf-8"))
            if "class_version" in state or getattr(event_class, "class_version", 1) != 1:
                return None
            return envelope_from_fields(
                event_class,
                state,
                position=notification.id,
                version=notification.originator_version,
                stream_id=notification.originator_id,
            )
        except (_Unusual, KeyError, ValueError):
            return None


# ---------------------------------------------------------------------- stream


async def ensure_stream(
    js: JetStreamContext,
    name: str = DEFAULT_STREAM,
    *,
    duplicate_window: float = DUPLICATE_WINDOW,
) -> StreamInfo:
    """Create the stream (``deskledger.>``, file storage, dedupe window) unless it exists."""
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        pass
    else:
        subjects = set(info.config.subjects or ())
        if not set(STREAM_SUBJECTS) <= subjects:
            raise RelayStreamError(
                f"stream {name} exists but does not capture {', '.join(STREAM_SUBJECTS)} "
                f"(its subjects: {sorted(subjects)})"
            )
        return info
    config = StreamConfig(
        name=name,
        subjects=list(STREAM_SUBJECTS),
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=duplicate_window,
        description="DeskLedger event log (SPEC §13)",
    )
    try:
        return await js.add_stream(config)
    except nats.js.errors.BadRequestError as error:
        if error.err_code == 10065:  # subjects overlap with an existing stream
            owner = await _stream_owning_subjects(js)
            raise RelayStreamError(
                f"cannot create stream {name}: {STREAM_SUBJECTS[0]} is already captured by "
                f"stream {owner}; relay to that stream with --stream {owner}, or delete it"
            ) from error
        raise


async def _stream_owning_subjects(js: JetStreamContext) -> str:
    try:
        return await js.find_stream_name_by_subject(STREAM_SUBJECTS[0])
    except nats.js.errors.NotFoundError:
        return "(unknown)"


@dataclass(frozen=True)
class StreamHead:
    """Where the stream ends: its last sequence and the log position that message carries."""

    sequence: int
    position: int


async def stream_head(js: JetStreamContext, name: str) -> tuple[StreamHead, Any]:
    """The stream's last sequence, and its last message (``None`` when the stream is empty)."""
    info = await js.stream_info(name)
    if info.state.messages == 0:
        return StreamHead(info.state.last_seq, 0), None
    message = await js.get_msg(name, seq=info.state.last_seq)
    headers = message.headers or {}
    try:
        position = int(headers[HEADER_POSITION])
    except (KeyError, ValueError):
        raise RelayStreamError(
            f"the last message of stream {name} (sequence {info.state.last_seq}, subject "
            f"{message.subject}) has no {HEADER_POSITION} header: it was not published by "
            "the DeskLedger relay"
        ) from None
    return StreamHead(info.state.last_seq, position), message


# ---------------------------------------------------------------------- acknowledgements


class _Acks:
    """The acks of the messages in flight, checked in publication order.

    ``expect`` registers a message that asked for an ack, with the stream sequence it must
    get; ``on_ack`` takes the server's answers (normally in order; early ones wait in
    ``_early``). ``confirmed_*`` only move over an unbroken prefix of good acks. Because
    every message carries ``Nats-Expected-Last-Sequence``, a good ack for sequence *s* also
    proves that sequences before it hold this relay's earlier messages.
    """

    def __init__(self, stream: str, position: int, sequence: int) -> None:
        self.stream = stream
        self.start_sequence = sequence
        self.confirmed_position = position
        self.confirmed_sequence = sequence
        self.duplicates = 0
        self.failure: BaseException | None = None
        self._expected: deque[tuple[int, int, str]] = deque()
        self._early: dict[int, bytes] = {}
        self._target = 0
        self._wake = asyncio.Event()
        self._ack_prefix = f'{{"stream":{json.dumps(stream)},"seq":'.encode()

    def _good_ack(self, sequence: int) -> bytes:
        """The exact bytes of a plain ack for ``sequence`` (anything else is parsed)."""
        return self._ack_prefix + str(sequence).encode() + b"}"

    @property
    def stored(self) -> int:
        """Messages this session added to the stream (confirmed)."""
        return self.confirmed_sequence - self.start_sequence

    def expect(self, position: int, sequence: int, ticket: str) -> None:
        self._expected.append((position, sequence, ticket))

    def fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error
        self._wake.set()

    def on_ack(self, position: int, payload: bytes) -> None:
        if not self._expected or position != self._expected[0][0]:
            self._early[position] = payload
            return
        self._confirm(payload)
        while self._expected and self._expected[0][0] in self._early:
            self._confirm(self._early.pop(self._expected[0][0]))
        if self.confirmed_sequence >= self._target:
            self._wake.set()

    def _confirm(self, payload: bytes) -> None:
        position, sequence, ticket = self._expected.popleft()
        if self.failure is not None:
            return
        if payload == self._good_ack(sequence):  # the common case, without parsing JSON
            self.confirmed_position = position
            self.confirmed_sequence = sequence
            return
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {"error": {"description": f"unreadable ack {payload!r}"}}
        if "error" in answer:
            error = answer["error"]
            problem = f"JetStream refused it ({error.get('err_code')}: {error.get('description')})"
        elif answer.get("stream") != self.stream or answer.get("seq") != sequence:
            problem = (
                f"expected stream {self.stream} sequence {sequence}, "
                f"got {answer.get('stream')} sequence {answer.get('seq')}"
            )
        else:
            self.duplicates += bool(answer.get("duplicate"))
            self.confirmed_position = position
            self.confirmed_sequence = sequence
            return
        self.fail(RelayInterruptedError(problem, position=position, ticket=ticket))

    async def wait_for(self, sequence: int, timeout: float) -> None:
        """Wait until every message up to stream ``sequence`` is confirmed; raise on failure."""
        deadline = time.monotonic() + timeout
        while self.confirmed_sequence < sequence and self.failure is None:
            self._target = sequence
            self._wake.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                position, _, ticket = self._expected[0] if self._expected else (None, 0, None)
                self.fail(
                    RelayInterruptedError(
                        f"no ack within {timeout:g}s", position=position, ticket=ticket
                    )
                )
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        if self.failure is not None:
            raise self.failure


# ---------------------------------------------------------------------- relay


@dataclass
class RelayStats:
    """What the relay did so far (readable from other threads)."""

    stored: int = 0
    duplicates: int = 0
    position: int = 0
    sessions: int = 0
    failures: int = 0


class Relay:
    """Publishes the log of ``desk`` to JetStream; see the module docstring for guarantees.

    ``batch`` events are read per page; up to ``max_in_flight`` are unacknowledged at once.
    """

    def __init__(
        self,
        desk: Desk,
        nats_url: str,
        stream: str = DEFAULT_STREAM,
        *,
        batch: int = 1000,
        max_in_flight: int = 8000,
        ack_every: int = 1,
        ack_timeout: float = 10.0,
        poll_interval: float = 0.01,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        connect_timeout: float = 2.0,
        duplicate_window: float = DUPLICATE_WINDOW,
    ) -> None:
        if batch < 1 or max_in_flight < batch or ack_every < 1:
            raise ValueError("need batch >= 1, max_in_flight >= batch and ack_every >= 1")
        self.desk = desk
        self.nats_url = nats_url
        self.stream = stream
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.ack_every = ack_every
        self.ack_timeout = ack_timeout
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.duplicate_window = duplicate_window
        self.stats = RelayStats()
        self._store_id: str | None = None
        self._reader = _LogReader(desk)
        self._stored_before = self._duplicates_before = 0
        self._attempts = 0
        self._connected = False

    # -------------------------------------------------------------- public API

    async def run_once(self, *, give_up_after: float = 30.0) -> int:
        """Publish everything the log holds, then return how many events were stored.

        Transient failures are retried with back-off; after ``give_up_after`` seconds without
        success :class:`NatsUnavailableError` (or :class:`StoreUnavailableError`) is raised.
        """
        before = self.stats.stored
        await self._run(stop=None, give_up_after=give_up_after)
        return self.stats.stored - before

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop`` is set, surviving NATS outages with back-off."""
        await self._run(stop=stop, give_up_after=None)

    # -------------------------------------------------------------- loop

    async def _run(self, *, stop: asyncio.Event | None, give_up_after: float | None) -> None:
        delay = self.backoff_initial
        failing_since: float | None = None
        self._attempts = 0
        while stop is None or not stop.is_set():
            self._connected = False
            try:
                if await self._session(stop):
                    return
            except RETRYABLE_ERRORS as error:
                if self._connected:  # it worked for a while: a fresh outage
                    delay, failing_since, self._attempts = self.backoff_initial, None, 0
                self._attempts += 1
                self.stats.failures += 1
                now = time.monotonic()
                failing_since = failing_since if failing_since is not None else now
                store_failed = isinstance(error, PersistenceError)
                if give_up_after is not None and now - failing_since >= give_up_after:
                    unavailable = StoreUnavailableError if store_failed else NatsUnavailableError
                    where = "read the store" if store_failed else f"publish to {self.nats_url}"
                    raise unavailable(
                        f"relay could not {where} (stream {self.stream}) for "
                        f"{give_up_after:g}s: {_describe(error)}"
                    ) from error
                log.warning(
                    "relay.store_unavailable" if store_failed else "relay.nats_unavailable",
                    nats_url=self.nats_url,
                    stream=self.stream,
                    position=self.stats.position,
                    ticket=getattr(error, "ticket", None),
                    error=_describe(error),
                    attempt=self._attempts,
                    retry_in=round(delay, 3),
                )
                if stop is None:
                    await asyncio.sleep(delay)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, self.backoff_max)

    async def _session(self, stop: asyncio.Event | None) -> bool:
        """One connection: resume from the stream, publish; True when run_once is done."""
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def on_disconnect() -> None:
            if not lost.done():
                lost.set_result(None)

        async def on_error(error: Exception) -> None:
            log.debug("relay.nats_error", error=_describe(error))

        nc = await nats.connect(
            self.nats_url,
            name="deskledger-relay",
            allow_reconnect=False,
            max_reconnect_attempts=1,  # 0 would mean "forever" to nats-py's first connect
            reconnect_time_wait=0.05,  # type: ignore[arg-type,unused-ignore]  # float seconds
            connect_timeout=max(1, round(self.connect_timeout)),
            disconnected_cb=on_disconnect,
            closed_cb=on_disconnect,
            error_cb=on_error,
            skip_subject_validation=True,
        )
        try:
            return await self._publish(nc, lost, stop)
        finally:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await nc.close()

    async def _publish(
        self, nc: NatsClient, lost: asyncio.Future[None], stop: asyncio.Event | None
    ) -> bool:
        js = nc.jetstream(timeout=self.connect_timeout + 3)
        await ensure_stream(js, self.stream, duplicate_window=self.duplicate_window)
        head = await self._resume_point(js)
        acks = _Acks(self.stream, head.position, head.sequence)
        self._stored_before, self._duplicates_before = self.stats.stored, self.stats.duplicates
        lost.add_done_callback(
            lambda _: acks.fail(RelayInterruptedError(f"lost the connection to {self.nats_url}"))
        )
        inbox = nc.new_inbox()
        prefix_length = len(inbox) + 1

        async def on_ack(message: Msg) -> None:
            acks.on_ack(int(message.subject[prefix_length:]), message.data)

        await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=4 * self.max_in_flight)
        self.stats.sessions += 1
        self.stats.position = head.position
        self._connected = True
        log.info(
            "relay.resumed",
            stream=self.stream,
            nats_url=self.nats_url,
            position=head.position,
            sequence=head.sequence,
            after_failures=self._attempts,
        )
        try:
            return await self._pump(nc, inbox, acks, head, stop)
        finally:
            self._absorb(acks)

    async def _pump(
        self, nc: NatsClient, inbox: str, acks: _Acks, head: StreamHead, stop: asyncio.Event | None
    ) -> bool:
        """Publish pages of the log as they come; True when run_once has published all."""
        sent_position, sequence = head.position, head.sequence
        scanned = sent_position
        backlog = True  # log "caught up" at info after resuming and after a backlog
        progress_at = time.monotonic()
        while True:
            if acks.failure is not None:
                raise acks.failure
            page, scanned = self._read(scanned)
            if not page and scanned == sent_position:
                await acks.wait_for(sequence, self.ack_timeout)
                self._absorb(acks)
                if backlog:
                    log.info("relay.caught_up", position=acks.confirmed_position)
                    backlog = False
                if stop is None or stop.is_set():
                    return True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval)
                continue
            backlog = backlog or len(page) >= self.batch
            last = len(page) - 1
            for index, outgoing in enumerate(page):
                outgoing.headers[HEADER_EXPECTED_LAST_SEQUENCE] = str(sequence)
                sequence += 1
                reply = ""
                if index % self.ack_every == 0 or index == last:
                    reply = f"{inbox}.{outgoing.position}"
                    acks.expect(outgoing.position, sequence, outgoing.headers[HEADER_TICKET])
                await nc.publish(outgoing.subject, outgoing.body, reply, outgoing.headers)
            sent_position = scanned
            if page:
                log.debug(
                    "relay.sent",
                    first=page[0].position,
                    position=page[-1].position,
                    ticket=page[-1].headers[HEADER_TICKET],
                    count=len(page),
                )
            await acks.wait_for(sequence - self.max_in_flight + self.batch, self.ack_timeout)
            self._absorb(acks)
            if time.monotonic() - progress_at >= 5.0:
                progress_at = time.monotonic()
                log.info("relay.progress", position=acks.confirmed_position)

    def _absorb(self, acks: _Acks) -> None:
        """Move what the acks confirmed into the stats (the only progress the relay keeps)."""
        self.stats.stored = self._stored_before + acks.stored
        self.stats.duplicates = self._duplicates_before + acks.duplicates
        self.stats.position = acks.confirmed_position

    async def _resume_point(self, js: JetStreamContext) -> StreamHead:
        head, message = await stream_head(js, self.stream)
        if message is None:
            return head
        store_id = self._identity()
        msg_id = (message.headers or {}).get(HEADER_MSG_ID, "")
        if store_id is None or not msg_id.startswith(f"{store_id}:"):
            raise RelayStreamError(
                f"stream {self.stream} holds events of another store (last message id "
                f"{msg_id!r}, this store is {store_id or 'empty'}); purge it "
                f"(`nats stream purge {self.stream}`) or use another NATS server"
            )
        logged = next(iter(self.desk.read_log(after=head.position - 1, page=1)), None)
        body = json.loads(message.data or b"{}")
        if logged is None or logged.position != head.position:
            raise RelayStreamError(
                f"stream {self.stream} is ahead of the log: it holds position {head.position}, "
                "which the log does not have"
            )
        if body.get("hash") != logged.event.hash:
            raise RelayStreamError(
                f"stream {self.stream}: the event at position {head.position} differs from "
                "the log's (hash mismatch); the stream holds another history"
            )
        return head

    def _identity(self) -> str | None:
        if self._store_id is None and self.desk.recorder.max_notification_id():
            self._store_id = self.desk.store_id()
        return self._store_id

    def _read(self, after: int) -> tuple[list[Outgoing], int]:
        """The next page of events after ``after`` and the last position it looked at."""
        store_id = self._identity()
        if store_id is None:
            return [], after
        return self._reader.read(after, self.batch, store_id)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---------------------------------------------------------------------- embedding


class RelayThread:
    """Run :meth:`Relay.run_forever` in a background thread (for sync programs: the demo).

    ``with RelayThread(desk, url) as relay: ...; relay.wait_for(position)``.
    """

    def __init__(self, desk: Desk, nats_url: str, stream: str = DEFAULT_STREAM, **options: Any):
        self.relay = Relay(desk, nats_url, stream, **options)
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._main, name="deskledger-relay", daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.relay.run_forever(self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - kept for the owner thread to inspect
            self.error = error
            self._ready.set()

    def wait_for(self, position: int, timeout: float = 30.0) -> bool:
        """Wait until the stream holds every event up to ``position``; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.relay.stats.position < position:
            if self.error is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def relay_main(
    desk: Desk,
    nats_url: str | None,
    stream: str = DEFAULT_STREAM,
    once: bool = False,
    *,
    give_up_after: float = 30.0,
) -> int:
    """``deskledger relay``: 0 done/stopped, 2 wrong stream, 3 NATS unreachable (``--once``).

    The server is ``nats_url`` (``--nats-url``), else ``DESKLEDGER_NATS_URL``, else
    ``nats://127.0.0.1:4222``. Without ``once`` it runs until SIGINT/SIGTERM, retrying
    while NATS is down; with ``once`` it gives up after ``give_up_after`` seconds of failure.
    """
    url = configured_nats_url(nats_url) or DEFAULT_NATS_URL
    relay = Relay(desk, url, stream)

    async def main() -> None:
        if once:
            count = await relay.run_once(give_up_after=give_up_after)
            log.info("relay.done", published=count, position=relay.stats.position)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await relay.run_forever(stop)
        log.info("relay.stopped", published=relay.stats.stored, position=relay.stats.position)

    failure: DeskLedgerError | None = None
    try:
        asyncio.run(main())
    except (RelayStreamError, NatsUnavailableError, StoreUnavailableError) as error:
        failure = error
    if isinstance(failure, RelayStreamError):
        log.error("relay.wrong_stream", error=str(failure), stream=stream)
        return 2
    if failure is not None:
        log.error("relay.unavailable", error=str(failure), nats_url=url)
        return 3
    return 0


__all__ = [
    "DEFAULT_STREAM",
    "Outgoing",
    "Relay",
    "RelayInterruptedError",
    "RelayStats",
    "RelayStreamError",
    "RelayThread",
    "StreamHead",
    "encode",
    "ensure_stream",
    "relay_main",
    "stream_head",
    "subject_for",
]
