"""The relay: the event log is the outbox, JetStream the destination (docs/nats.md).

The relay reads the store's log in position order (through eventsourcing's mapper, see
:mod:`adapters.nats.codec`) and publishes every event with its §13 subject, headers and
envelope. Every N events, at least once a minute while events flow, and when it stops, it
also publishes the log's chain head as a checkpoint (:mod:`adapters.nats.checkpoint`).

**The stream is the relay's progress record.** On every (re)connection the relay continues
after the log position the stream's last message covers, with the chain head there taken
from the last checkpoint on the stream (:mod:`adapters.nats.resume`); nothing else is
stored. Once a checkpoint is anchored the relay continues that chain and never recomputes
it from a log that may have been altered since: a later ``verify`` against the anchored
heads is what shows such an alteration.

**No loss, no duplicates, whatever crashes when.** Messages are published asynchronously, up
to ``max_in_flight`` at a time, each carrying ``Nats-Expected-Last-Sequence`` (see
:mod:`adapters.nats.acks`): a message lost in flight makes every later one fail instead of
leaving a gap, and a second relay racing on the same stream cannot interleave.
``Nats-Msg-Id`` with the stream's duplicate window drops a message published twice.

**Failures.** The engine never waits for NATS. A lost connection, a nack, a timeout or an
unreadable store is retried with exponential back-off, logged as ``relay.nats_unavailable``
(or ``relay.store_unavailable``) — at warning level when following the log, at info level
under ``run_once``, whose caller reports the one error if it gives up
(:class:`NatsUnavailableError` after ``give_up_after`` seconds without progress). An event
NATS will never accept (larger than the server's ``max_payload``) is an
:class:`UnpublishableEventError`: ``run_once`` raises it at once; ``run_forever`` logs it at
error level (``relay.event_unpublishable``, naming position, ticket and reason) and retries
with back-off up to ``alert_backoff_max``, because an operator can raise the limit. A stored
event that does not decode stops the relay with :class:`UnreadableEventError`. In every case
the events before it are published first. Back-off and give-up clocks restart only when the
stream actually moved forward, never on a mere reconnect.

One module, past 500 lines: the relay loop, its retry and back-off, and what it reports are
one state machine; subjects, codec, stream setup, anchors and the thread live beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import nats
import nats.errors
from eventsourcing.persistence import PersistenceError
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from adapters.logging import get_logger
from adapters.nats.acks import AckLedger, Expected
from adapters.nats.checkpoint import Checkpoint
from adapters.nats.codec import (
    HEADER_ALLOWANCE,
    LogEntry,
    LogPage,
    LogReader,
    Outgoing,
    outgoing,
    too_large,
)
from adapters.nats.errors import (
    NatsUnavailableError,
    RelayInterruptedError,
    UnpublishableEventError,
)
from adapters.nats.resume import ResumePoint, resume_point
from adapters.nats.stream import DUPLICATE_WINDOW, ensure_stream
from adapters.nats.subjects import (
    DEFAULT_STREAM,
    HEADER_EXPECTED_LAST_SEQUENCE,
    check_stream_name,
)
from adapters.nats.urls import server_list
from adapters.stores import StoreUnavailableError
from engine.application import Desk
from engine.audit import chain_step

#: Failures after which the relay backs off and resumes from the stream.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    nats.errors.Error,
    PersistenceError,
)
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, RelayInterruptedError)

log = get_logger("deskledger.relay")

#: The sequence header at its longest, for checking a message's size before it has one.
_LONGEST_SEQUENCE_HEADER = {HEADER_EXPECTED_LAST_SEQUENCE: str(2**64 - 1)}


@dataclass
class RelayStats:
    """What the relay did so far (readable from other threads)."""

    stored: int = 0  # events this relay added to the stream
    checkpoints: int = 0  # checkpoints it added
    duplicates: int = 0
    position: int = 0  # the log position the stream holds, as last confirmed
    last_checkpoint: tuple[int, str] | None = None  # (position, head) last anchored
    sessions: int = 0
    failures: int = 0


@dataclass
class _Cursor:
    """Where this session's publishing stands (sent, not necessarily confirmed)."""

    sequence: int
    position: int
    digest: str | None
    head: str
    since_anchor: int
    anchored_at: float
    events: int = 0
    checkpoints: int = 0


class Relay:
    """Publishes the log of ``desk`` to JetStream; see the module docstring for guarantees.

    ``batch`` events are read per page; up to ``max_in_flight`` are unacknowledged at once;
    an ack is requested for every ``ack_every``-th message and the last of each page. Thanks
    to the sequence precondition a good ack also proves every message before it, so acking
    every 32nd saves a fifth of the relay's CPU (``bench/figures/relay.py``). The price is
    precision: a message refused without an ack shows up as the next ack's wrong sequence.
    So after any failure the relay acks every message until the stream has confirmed what
    it sent ("careful" mode), and the refusal is reported for the message that caused it.
    """

    def __init__(
        self,
        desk: Desk,
        nats_url: str,
        stream: str = DEFAULT_STREAM,
        *,
        batch: int = 1000,
        max_in_flight: int = 8000,
        ack_every: int = 32,
        ack_timeout: float = 10.0,
        poll_interval: float = 0.01,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        alert_backoff_max: float = 60.0,
        connect_timeout: float = 2.0,
        duplicate_window: float = DUPLICATE_WINDOW,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 60.0,
    ) -> None:
        if batch < 1 or max_in_flight < batch or ack_every < 1 or checkpoint_every < 1:
            raise ValueError(
                "need batch >= 1, max_in_flight >= batch, ack_every >= 1, checkpoint_every >= 1"
            )
        self.desk = desk
        self.nats_url = nats_url
        self.servers = server_list(nats_url)
        self.stream = check_stream_name(stream)
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.ack_every = ack_every
        self.ack_timeout = ack_timeout
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.alert_backoff_max = alert_backoff_max
        self.connect_timeout = connect_timeout
        self.duplicate_window = duplicate_window
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.stats = RelayStats()
        self._store_id: str | None = None
        self._reader = LogReader(desk)
        self._before = RelayStats()
        self._careful = False  # ack every message until the stream confirms what was sent

    # -------------------------------------------------------------- public API

    async def run_once(self, *, give_up_after: float = 30.0) -> int:
        """Publish everything the log holds (and a checkpoint), then return how many events
        were stored. Raises :class:`NatsUnavailableError` (or :class:`StoreUnavailableError`)
        after ``give_up_after`` seconds without progress, :class:`UnpublishableEventError`
        and :class:`UnreadableEventError` at once."""
        before = self.stats.stored
        await self._run(stop=None, give_up_after=give_up_after)
        return self.stats.stored - before

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop`` is set, surviving NATS outages with back-off."""
        await self._run(stop=stop, give_up_after=None)

    # -------------------------------------------------------------- retry loop

    async def _run(self, *, stop: asyncio.Event | None, give_up_after: float | None) -> None:
        once = stop is None
        delay = self.backoff_initial
        failing_since: float | None = None
        attempts = 0
        while stop is None or not stop.is_set():
            mark = (self.stats.position, self.stats.checkpoints, self.stats.duplicates)
            failure: BaseException
            try:
                await self._session(stop, attempts)
            except UnpublishableEventError as error:
                if once:
                    raise
                failure = error
            except RETRYABLE_ERRORS as error:
                failure = error
            else:
                return
            self._careful = True
            if (self.stats.position, self.stats.checkpoints, self.stats.duplicates) != mark:
                delay, failing_since, attempts = self.backoff_initial, None, 0  # real progress
            attempts += 1
            self.stats.failures += 1
            now = time.monotonic()
            failing_since = now if failing_since is None else failing_since
            if isinstance(failure, UnpublishableEventError):
                log.error(
                    "relay.event_unpublishable",
                    stream=self.stream,
                    position=failure.position,
                    ticket=failure.ticket,
                    reason=failure.reason,
                    attempt=attempts,
                    retry_in=round(delay, 3),
                )
                cap = self.alert_backoff_max
            else:
                self._give_up_if_due(failure, give_up_after, now - failing_since)
                report = log.info if once else log.warning
                report(
                    "relay.store_unavailable"
                    if isinstance(failure, PersistenceError)
                    else "relay.nats_unavailable",
                    nats_url=self.nats_url,
                    stream=self.stream,
                    position=self.stats.position,
                    ticket=getattr(failure, "ticket", None),
                    error=describe(failure),
                    attempt=attempts,
                    retry_in=round(delay, 3),
                )
                cap = self.backoff_max
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, cap)

    def _give_up_if_due(
        self, failure: BaseException, give_up_after: float | None, failing_for: float
    ) -> None:
        if give_up_after is None or failing_for < give_up_after:
            return
        if isinstance(failure, PersistenceError):
            raise StoreUnavailableError(
                f"relay could not read the store for {give_up_after:g}s: {describe(failure)}"
            ) from failure
        raise NatsUnavailableError(
            f"relay could not publish to {self.nats_url} (stream {self.stream}) for "
            f"{give_up_after:g}s: {describe(failure)}"
        ) from failure

    # -------------------------------------------------------------- one connection

    async def _session(self, stop: asyncio.Event | None, attempts: int) -> None:
        """Connect, resume from the stream and publish until done (run_once) or stopped."""
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def on_disconnect() -> None:
            if not lost.done():
                lost.set_result(None)

        async def on_error(error: Exception) -> None:
            log.debug("relay.nats_error", error=describe(error))

        nc = await nats.connect(
            servers=self.servers,
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
            js = nc.jetstream(timeout=self.connect_timeout + 3)
            await ensure_stream(js, self.stream, duplicate_window=self.duplicate_window)
            resume = await resume_point(js, self.stream, self._reader, self._identity())
            acks = AckLedger(self.stream, resume.position, resume.sequence)
            lost.add_done_callback(
                lambda _: acks.fail(
                    RelayInterruptedError(f"lost the connection to {self.nats_url}")
                )
            )
            inbox = nc.new_inbox()
            prefix_length = len(inbox) + 1

            async def on_ack(message: Msg) -> None:
                acks.on_ack(int(message.subject[prefix_length:]), message.data)

            await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=4 * self.max_in_flight)
            self._before = RelayStats(**vars(self.stats))
            self.stats.sessions += 1
            self.stats.position = resume.position
            log.info(
                "relay.resumed",
                stream=self.stream,
                nats_url=self.nats_url,
                position=resume.position,
                sequence=resume.sequence,
                anchored=resume.anchored,
                after_failures=attempts,
            )
            try:
                await self._pump(nc, inbox, acks, resume, stop)
            finally:
                self._absorb(acks)
        finally:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await nc.close()

    # -------------------------------------------------------------- publishing

    async def _pump(
        self,
        nc: NatsClient,
        inbox: str,
        acks: AckLedger,
        resume: ResumePoint,
        stop: asyncio.Event | None,
    ) -> None:
        """Publish pages of the log as they come, with checkpoints; return when done."""
        now = time.monotonic()
        cursor = _Cursor(
            resume.sequence,
            resume.position,
            resume.digest,
            resume.head,
            resume.position - resume.anchored,
            now,
        )
        backlog = True  # log "caught up" at info after resuming and after a backlog
        progress_at = now
        while True:
            if acks.failure is not None:
                raise acks.failure
            page = self._read(cursor.position)
            if not page.entries and page.unreadable is None:
                finishing = stop is None or stop.is_set()
                if cursor.since_anchor and (finishing or self._anchor_due(cursor)):
                    await self._checkpoint(nc, inbox, acks, cursor)
                await acks.wait_for(cursor.sequence, self.ack_timeout)
                self._absorb(acks)
                self._careful = False
                if backlog:
                    log.info("relay.caught_up", position=acks.confirmed_position)
                    backlog = False
                if stop is None or stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval)
                continue
            backlog = backlog or len(page.entries) >= self.batch
            failure = await self._publish_page(nc, inbox, acks, cursor, page)
            if cursor.since_anchor and self._anchor_due(cursor):
                await self._checkpoint(nc, inbox, acks, cursor)
            if failure is not None:
                await acks.wait_for(cursor.sequence, self.ack_timeout)
                self._absorb(acks)
                raise failure
            if self._careful:
                await acks.wait_for(cursor.sequence, self.ack_timeout)
                self._careful = False
            await acks.wait_for(cursor.sequence - self.max_in_flight + self.batch, self.ack_timeout)
            self._absorb(acks)
            if time.monotonic() - progress_at >= 5.0:
                progress_at = time.monotonic()
                log.info("relay.progress", position=acks.confirmed_position)

    async def _publish_page(
        self, nc: NatsClient, inbox: str, acks: AckLedger, cursor: _Cursor, page: LogPage
    ) -> Exception | None:
        """Publish the page's events in order; the error that stopped it early, if any."""
        store_id = self._store_id or ""
        prepared: list[tuple[LogEntry, Outgoing | None]] = []
        failure: Exception | None = page.unreadable
        max_payload, roomy = nc.max_payload, nc.max_payload - HEADER_ALLOWANCE
        for entry in page.entries:
            event = entry.event
            if event is None:
                prepared.append((entry, None))
                continue
            ready = outgoing(entry.position, event, store_id)
            if len(ready.body) > roomy:  # measure the headers only near the limit
                size = too_large(ready, max_payload, _LONGEST_SEQUENCE_HEADER)
                if size is not None:
                    failure = UnpublishableEventError(
                        entry.position,
                        event.ticket,
                        f"its message is {size:,} bytes, more than the server's max_payload "
                        f"of {max_payload:,} bytes",
                    )
                    break
            prepared.append((entry, ready))
        last = max((i for i, (_, message) in enumerate(prepared) if message), default=-1)
        every = 1 if self._careful else self.ack_every
        publish, step, checkpoint_every = nc.publish, chain_step, self.checkpoint_every
        for index, (entry, message) in enumerate(prepared):
            position = entry.position
            if message is not None:
                cursor.events += 1
                sequence = cursor.sequence
                message.headers[HEADER_EXPECTED_LAST_SEQUENCE] = str(sequence)
                cursor.sequence = sequence = sequence + 1
                reply = ""
                if every == 1 or index % every == 0 or index == last:
                    reply = f"{inbox}.{sequence}"
                    acks.expect(
                        Expected(
                            sequence, position, entry.ticket, cursor.events, cursor.checkpoints,
                            None,
                        )
                    )  # fmt: skip
                await publish(message.subject, message.body, reply, message.headers)
            cursor.head = step(cursor.head, position, entry.digest)
            cursor.position, cursor.digest = position, entry.digest
            cursor.since_anchor += 1
            if cursor.since_anchor >= checkpoint_every:
                await self._checkpoint(nc, inbox, acks, cursor)
        if prepared:
            log.debug("relay.sent", first=prepared[0][0].position, position=cursor.position)
        return failure

    async def _send(
        self,
        nc: NatsClient,
        inbox: str,
        acks: AckLedger,
        cursor: _Cursor,
        outgoing: Outgoing,
        *,
        ticket: str | None,
        ack: bool,
        head: str | None = None,
    ) -> None:
        outgoing.headers[HEADER_EXPECTED_LAST_SEQUENCE] = str(cursor.sequence)
        cursor.sequence += 1
        reply = ""
        if ack:
            reply = f"{inbox}.{cursor.sequence}"
            acks.expect(
                Expected(
                    cursor.sequence,
                    outgoing.position,
                    ticket,
                    cursor.events,
                    cursor.checkpoints,
                    head,
                )
            )
        await nc.publish(outgoing.subject, outgoing.body, reply, outgoing.headers)

    def _anchor_due(self, cursor: _Cursor) -> bool:
        return time.monotonic() - cursor.anchored_at >= self.checkpoint_interval

    async def _checkpoint(
        self, nc: NatsClient, inbox: str, acks: AckLedger, cursor: _Cursor
    ) -> None:
        """Publish the chain head at the cursor (always acknowledged)."""
        checkpoint = Checkpoint(
            self._store_id or "",
            cursor.position,
            cursor.head,
            datetime.now(UTC).isoformat(),
            cursor.digest,
        )
        cursor.checkpoints += 1
        await self._send(
            nc, inbox, acks, cursor, checkpoint.to_message(), ticket=None, ack=True,
            head=cursor.head,
        )  # fmt: skip
        cursor.since_anchor = 0
        cursor.anchored_at = time.monotonic()
        log.debug("relay.checkpoint", position=cursor.position, head=cursor.head)

    def _absorb(self, acks: AckLedger) -> None:
        """Move what the acks confirmed into the stats (the only progress the relay keeps)."""
        before = self._before
        self.stats.stored = before.stored + acks.confirmed_events
        self.stats.checkpoints = before.checkpoints + acks.confirmed_checkpoints
        self.stats.duplicates = before.duplicates + acks.duplicates
        self.stats.position = acks.confirmed_position
        if acks.last_checkpoint is not None:
            self.stats.last_checkpoint = acks.last_checkpoint

    def _identity(self) -> str | None:
        if self._store_id is None and self.desk.recorder.max_notification_id():
            self._store_id = self.desk.store_id()
        return self._store_id

    def _read(self, after: int) -> LogPage:
        """The next page of the log after ``after`` (nothing while the log is empty)."""
        if self._identity() is None:
            return LogPage([], None)
        return self._reader.read(after, self.batch)


def describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
