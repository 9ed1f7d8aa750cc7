"""A replica fed by NATS (``adapters.nats.replica``) against a real ``nats-server``.

The replica runs the store's own projections on envelopes received over JetStream, so its
views must equal the store's views row for row, whatever the stream does: redeliveries out of
order, duplicate publications, a replica killed mid-stream, messages that never arrive.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from structlog.testing import capture_logs

from adapters.nats.relay import Relay
from adapters.nats.replica import Replica
from adapters.nats.server import EmbeddedNatsServer
from adapters.nats.subjects import DEFAULT_STREAM
from adapters.nats.subscriber import Delivery, EventSubscriber, StreamMessage, subscribe
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.errors import PolicyError, UnreadableEventError
from projections.queries import Queries
from projections.views import open_views
from tests.test_nats import START, comments, story, stream_messages

pytestmark = pytest.mark.nats

ROOT = Path(__file__).resolve().parent.parent
VIEW_TABLES = {
    "tickets": ("tickets", "ticket_versions", "sla_timers", "sla_timer_versions", "damaged"),
    "audit": ("audit_index",),
}


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNatsServer]:
    """A real nats-server with JetStream, on a free loopback port, for this test only."""
    with EmbeddedNatsServer(tmp_path / "jetstream") as server:
        yield server


@pytest.fixture
async def relayed(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> Desk:
    """The story, published to the embedded server."""
    story(sqlite_desk, clock)
    await Relay(sqlite_desk, nats_server.url).run_once()
    return sqlite_desk


def logged(desk: Desk) -> list[tuple[int, str]]:
    return [(entry.position, entry.event.hash) for entry in desk.read_log()]


def dump(read_side: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table (and both tracking positions), sorted."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for store in (read_side.tickets, read_side.audit):
        for table in (*VIEW_TABLES[store.view], f"{store.view}_tracking"):
            rows = store.rows(f"SELECT * FROM {{{table}}}")
            tables[table] = sorted((tuple(sorted(row.items())) for row in rows), key=repr)
    return tables


async def follow_until(replica: Replica, url: str, count: int, **options: Any) -> None:
    """Feed ``replica`` until its views hold ``count`` events (20 s at most)."""
    await asyncio.wait_for(
        replica.follow(url, "replica", until=lambda: replica.received_count() >= count, **options),
        20,
    )


def assert_same_answers(
    local: Queries, replica: Replica, refs: list[str], *, whole_desk: bool = True
) -> None:
    """The replica answers queries as the store's own views do: about ``refs``, and about
    the whole desk (queue, SLA timers, report, now and as of earlier instants)."""
    remote = replica.queries
    if whole_desk:
        assert local.queue() == remote.queue()
        assert local.sla() == remote.sla()
        assert local.report() == remote.report()
        for at in (START + timedelta(minutes=9), START + timedelta(hours=6)):
            assert local.queue(as_of=at) == remote.queue(as_of=at)
            assert local.report(as_of=at) == remote.report(as_of=at)
    for ref in refs:
        assert local.ticket(ref) == remote.ticket(ref), ref
        assert local.sla(ref) == remote.sla(ref), ref
        assert local.audit(ref) == remote.audit(ref), ref
        assert local.timeline(ref).as_dict() == remote.timeline(ref).as_dict(), ref


async def test_replica_answers_as_the_store_views_after_the_story(
    nats_server: EmbeddedNatsServer, relayed: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """After a desk day touching every kind of event (SLAs, holds, a major incident, a second
    policy version), the replica's views equal the store's views row for row, and its queue,
    SLA timers, report, tickets, audits and timelines are the store's answers."""
    replica = Replica(tmp_path / "replica.db", clock=clock)
    await follow_until(replica, nats_server.url, len(logged(relayed)))
    views = open_views(relayed)
    views.catch_up()

    assert logged(relayed) == replica.received()
    assert [] == replica.problems()
    assert dump(views) == dump(replica)
    assert ["INC5"] == [ticket["ref"] for ticket in replica.queries.queue()]
    assert_same_answers(Queries(views), replica, ["INC1", "INC2", "INC3", "INC4", "INC5"])
    replica.close()


class NakOnce:
    """The subscriber, except that the first delivery of each of ``sequences`` is nak'ed:
    it comes back later, after messages of higher sequences."""

    def __init__(self, events: EventSubscriber, sequences: set[int]) -> None:
        self.events = events
        self.naked = set(sequences)
        self.redelivered: list[int] = []

    async def next(self, timeout: float = 1.0) -> Delivery | None:
        delivery = await self.events.next(timeout)
        if delivery is None:
            return None
        if delivery.stream_sequence in self.naked:
            self.naked.discard(delivery.stream_sequence)
            await delivery.nak(0.5)
            return None
        if delivery.num_delivered > 1:
            self.redelivered.append(delivery.stream_sequence)
        return delivery

    async def read_stream(self, sequence: int) -> StreamMessage | None:
        return await self.events.read_stream(sequence)


async def consumer_idle(url: str, durable: str) -> bool:
    """Whether the durable has nothing pending and nothing unacknowledged."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(DEFAULT_STREAM, durable)
    finally:
        await nc.close()
    return info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_redelivered_message_has_no_second_effect(
    nats_server: EmbeddedNatsServer, relayed: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """Messages nak'ed on first delivery come back after later ones: the replica applies
    in sequence order all the same, acks the redeliveries without a second effect, and
    leaves nothing unacknowledged."""
    total = len(logged(relayed))
    replica = Replica(tmp_path / "replica.db", clock=clock)
    async with subscribe(nats_server.url, "replica") as events:
        source = NakOnce(events, {2, 5, 6, 20})
        await asyncio.wait_for(
            replica.consume(
                source,
                until=lambda: replica.received_count() >= total and len(source.redelivered) == 4,
            ),
            20,
        )
    views = open_views(relayed)
    views.catch_up()

    assert [2, 5, 6, 20] == sorted(source.redelivered)
    assert logged(relayed) == replica.received()
    assert total == replica.received_count()
    assert [] == replica.problems()
    assert dump(views) == dump(replica)
    assert await consumer_idle(nats_server.url, "replica")
    replica.close()


async def test_duplicate_publications_are_skipped_and_a_conflicting_one_is_reported(
    nats_server: EmbeddedNatsServer, relayed: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """Envelopes published again under new sequences (outside the relay) change nothing; one
    whose hash differs from the applied event's is reported as a conflict, at error level."""
    total = len(logged(relayed))
    stored = [m for m in await stream_messages(nats_server.url) if not m.is_checkpoint]
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()

    async def publish_again(message: Any, name: str, **changes: Any) -> int:
        """Publish ``message``'s envelope again (with ``changes``) as another message."""
        headers = {**message.headers, "Nats-Msg-Id": name}
        del headers["Nats-Expected-Last-Sequence"]
        body = json.dumps({**message.body, **changes}).encode()
        return int((await js.publish(message.subject, body, headers=headers)).seq)

    copies = [await publish_again(stored[i], f"copy-{i}") for i in (0, 7, 3)]
    conflict = await publish_again(stored[9], "forged", hash="f" * 64)
    await nc.close()

    replica = Replica(tmp_path / "replica.db", clock=clock)
    with capture_logs() as logs:
        done = lambda: replica.mark.sequence >= conflict  # noqa: E731
        await asyncio.wait_for(replica.follow(nats_server.url, "replica", until=done), 20)
    views = open_views(relayed)
    views.catch_up()

    assert logged(relayed) == replica.received()
    assert total == replica.received_count()
    assert copies == [row["sequence"] for row in replica.log.noted(["duplicate"])]
    [problem] = replica.problems()
    assert ("conflict", conflict, stored[9].position) == (
        problem.kind,
        problem.sequence,
        problem.position,
    )
    assert [conflict] == [e["sequence"] for e in logs if e["event"] == "replica.conflict"]
    assert dump(views) == dump(replica)
    replica.close()


REPLICA_SCRIPT = (
    "import asyncio, sys\n"
    "from adapters.logging import configure_logging\n"
    "from adapters.nats.replica import Replica\n"
    "configure_logging('WARNING')\n"
    "replica = Replica(sys.argv[1], batch=20)\n"
    "asyncio.run(replica.follow(sys.argv[2], 'replica', ack_wait=1.0))\n"
)


def applied_sequence(path: Path) -> int:
    """The replica's mark, read from its file by another connection (0 before it exists)."""
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT sequence FROM dl_replica_state").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


async def test_a_replica_killed_mid_stream_resumes_to_the_views_a_rebuild_gives(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """SIGKILL a replica process in the middle of a 3,000-event stream and open its file
    again: it resumes, its views equal a rebuild from its own envelopes and the store's
    views, and every message ends up acknowledged."""
    story(sqlite_desk, clock)
    comments(sqlite_desk, 3000, per_ticket=40)
    await Relay(sqlite_desk, nats_server.url).run_once()
    total = len(logged(sqlite_desk))
    path = tmp_path / "replica.db"
    child = subprocess.Popen(
        [sys.executable, "-c", REPLICA_SCRIPT, str(path), nats_server.url],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while applied_sequence(path) < 400 and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = applied_sequence(path)

    replica = Replica(path, clock=clock)
    await follow_until(replica, nats_server.url, total)
    stop = asyncio.Event()
    following = asyncio.create_task(replica.follow(nats_server.url, "replica", stop=stop))
    deadline = time.monotonic() + 20
    while not await consumer_idle(nats_server.url, "replica") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stop.set()
    await following
    views = open_views(sqlite_desk)
    views.catch_up()
    resumed = dump(replica)
    replica.rebuild()

    assert 400 <= killed_at < total, f"not killed mid-stream: at {killed_at} of {total}"
    assert logged(sqlite_desk) == replica.received()
    assert [] == replica.problems()
    assert resumed == dump(replica)
    assert dump(views) == resumed
    assert await consumer_idle(nats_server.url, "replica")
    replica.close()


async def test_an_event_whose_earlier_events_never_arrived_is_reported_not_a_crash(
    nats_server: EmbeddedNatsServer, relayed: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """INC3's opening is deleted from the stream before the replica reads it: the gap is
    recorded as lost, INC3's later events as damage (its queries raise UnreadableEventError),
    both are logged, and every other ticket is answered as the store answers it."""
    stored = await stream_messages(nats_server.url)
    [opening] = [m for m in stored if m.subject == "deskledger.ticket.INC3.TicketOpened"]
    inc3 = [m.position for m in stored if m.subject.startswith("deskledger.ticket.INC3.")]
    nc = await nats.connect(nats_server.url)
    await nc.jetstream().delete_msg(DEFAULT_STREAM, opening.sequence)
    await nc.close()

    replica = Replica(tmp_path / "replica.db", clock=clock)
    with capture_logs() as logs:
        await follow_until(replica, nats_server.url, len(logged(relayed)) - 1)
    views = open_views(relayed)
    views.catch_up()

    lost, *damaged = replica.problems()
    assert ("lost", opening.sequence, opening.sequence) == (lost.kind, lost.sequence, lost.through)
    assert inc3[1:] == [p.position for p in damaged]
    assert {"INC3"} == {p.ticket for p in damaged}
    with pytest.raises(UnreadableEventError, match="INC3"):
        replica.queries.ticket("INC3")
    events = {(e["event"], e["log_level"]) for e in logs}
    assert {("replica.messages_lost", "warning"), ("replica.ticket_damaged", "error")} <= events
    assert_same_answers(Queries(views), replica, ["INC1", "INC2", "INC4", "INC5"], whole_desk=False)
    with pytest.raises(PolicyError, match="version 9 never arrived"):
        replica.world.calendar(9, "24x7")
    replica.close()
