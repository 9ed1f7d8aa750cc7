"""The NATS edge (docs/nats.md) against a real ``nats-server``: relay, resume, outages, subscribers.

Every test starts its own embedded server (``EmbeddedNatsServer``, JetStream in ``tmp_path``)
and uses a real SQLite file; nothing is mocked. The crash test runs the relay in a child
process and kills it with SIGKILL in the middle of a large log.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from structlog.testing import capture_logs

from adapters.cli import main
from adapters.nats.codec import LogReader
from adapters.nats.delivery_check import check_delivery
from adapters.nats.errors import NatsUnavailableError, RelayStreamError, SubscriberConfigError
from adapters.nats.relay import Relay
from adapters.nats.run import relay_once
from adapters.nats.server import EmbeddedNatsServer
from adapters.nats.subjects import DEFAULT_STREAM, is_policy_stream, subject_for
from adapters.nats.subscriber import subscribe
from adapters.nats.thread import RelayThread
from adapters.stores import store_env
from engine.application import Desk
from engine.audit import GENESIS, chain_step
from engine.clock import SimulatedClock
from engine.envelope import Envelope, envelope_of
from engine.log import export_lines

pytestmark = pytest.mark.nats

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)
POLICY: dict[str, Any] = {
    "major_incidents": {"declarers": ["alice"]},
    "slas": [
        {
            "name": "Response",
            "kind": "response",
            "applies_to": {"ticket_kind": "incident"},
            "target": "30m",
            "calendar": "24x7",
        },
        {
            "name": "P1 resolution",
            "kind": "resolution",
            "applies_to": {"ticket_kind": "incident", "priority": [1]},
            "target": "4h",
            "calendar": "24x7",
            "warn_at": [50, 75, 90],
        },
        {
            "name": "P3 resolution",
            "kind": "resolution",
            "applies_to": {"priority": [2, 3]},
            "target": "8h",
            "calendar": "24x7",
            "pause_on": ["awaiting_caller"],
        },
    ],
}


# ---------------------------------------------------------------------- logs to relay


def story(desk: Desk, clock: SimulatedClock) -> None:
    """A desk day touching every kind of event: SLAs, holds, a major incident, policy."""

    def do(minutes: int, actor: str, name: str, **fields: Any) -> None:
        clock.set(START + timedelta(minutes=minutes))
        desk.execute(name, fields, actor=actor)

    clock.set(START)
    desk.load_policy(POLICY, actor="admin")
    do(0, "noc", "open", ref="INC1", title="Firewall down", caller="noc", impact=1, urgency=1)
    do(1, "hank", "open", ref="INC2", title="CRM slow", caller="ivy", impact=2, urgency=2)
    do(2, "hank", "open", ref="INC3", title="VPN drops", caller="jack", impact=3, urgency=3)
    do(4, "alice", "assign", ref="INC1", group="network", assignee="bob")
    do(5, "alice", "declare_major", ref="INC1", reason="site offline")
    do(6, "alice", "link_child", ref="INC1", child="INC2")
    do(7, "alice", "communicate", ref="INC1", audience="staff", message="on it", channel="email")
    do(8, "carol", "hold", ref="INC3", reason="awaiting_caller", comment="Which VPN client?")
    do(9, "jack", "comment", ref="INC3", text="Cisco", visibility="customer")
    do(10, "carol", "reprioritize", ref="INC3", impact=2, urgency=2, reason="more users")
    do(11, "carol", "escalate", ref="INC3", tier=2, group="network-l2", reason="needs L2")
    do(12, "carol", "escalate", ref="INC3", hierarchical=True, to="it-manager", reason="vip")
    do(13, "dave", "open", ref="INC5", title="Mouse", caller="kim", impact=3, urgency=3)
    do(14, "dave", "start", ref="INC5")
    do(15, "dave", "comment", ref="INC3", text="checking logs", visibility="internal")
    do(16, "dave", "link_problem", ref="INC3", problem="PRB1")
    do(17, "hank", "reprioritize", ref="INC2", impact=1, urgency=1, reason="CEO affected")
    do(300, "bob", "resolve", ref="INC1", code="solved", notes="replaced PSU")
    do(310, "bob", "reopen", ref="INC1", reason="flapping")
    do(320, "bob", "resolve", ref="INC1", code="solved", notes="really")
    do(330, "alice", "review", ref="INC1", summary="PSU", root_cause="PSU", actions=["watch"])
    do(600, "dave", "resolve", ref="INC3", code="solved", notes="client update")
    do(601, "dave", "close", ref="INC3")
    do(602, "hank", "open", ref="INC4", title="Duplicate", caller="x", impact=3, urgency=3)
    do(603, "hank", "cancel", ref="INC4", reason="duplicate")
    clock.set(START + timedelta(days=7))
    desk.advance()
    desk.load_policy({**POLICY, "lifecycle": {"auto_close_after": "5d"}}, actor="admin")


def comments(desk: Desk, count: int, *, prefix: str = "BULK", per_ticket: int = 50) -> None:
    """Append ``count`` events fast: tickets with many comments, in batched transactions."""
    made = 0
    ticket = 0
    while made < count:
        with desk.unit_of_work():
            for _ in range(20):
                if made >= count:
                    break
                ref = f"{prefix}{ticket:06d}"
                ticket += 1
                desk.execute(
                    "open",
                    {"ref": ref, "title": "bulk", "caller": "c", "impact": 3, "urgency": 3},
                    actor="loader",
                )
                made += 1
                for k in range(min(per_ticket - 1, count - made)):
                    desk.execute(
                        "comment",
                        {"ref": ref, "text": f"note {k}", "visibility": "internal"},
                        actor="loader",
                    )
                    made += 1


def log_positions(desk: Desk) -> list[int]:
    return [logged.position for logged in desk.read_log()]


# ---------------------------------------------------------------------- the stream


@dataclass(frozen=True)
class Stored:
    sequence: int
    subject: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def position(self) -> int:
        return int(self.headers["DeskLedger-Position"])

    @property
    def is_checkpoint(self) -> bool:
        return self.subject.startswith("deskledger.checkpoint.")


async def stream_messages(url: str, stream: str = DEFAULT_STREAM) -> list[Stored]:
    """Every message of the stream, in sequence order (an ordered consumer)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        total = (await js.stream_info(stream)).state.messages
        found: list[Stored] = []
        if total == 0:
            return found
        sub = await js.subscribe(f"{'deskledger'}.>", stream=stream, ordered_consumer=True)
        while len(found) < total:
            message = await sub.next_msg(timeout=10)
            found.append(
                Stored(
                    message.metadata.sequence.stream,
                    message.subject,
                    dict(message.headers or {}),
                    json.loads(message.data),
                )
            )
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


def assert_stream_equals_log(stored: list[Stored], desk: Desk) -> None:
    """The events of the stream are the log's, in order, each exactly once, no gaps;
    checkpoints sit between them, each after the event whose position it carries and with
    the log's chain head at that position."""
    positions = log_positions(desk)
    events = [m for m in stored if not m.is_checkpoint]
    assert positions == [m.position for m in events]
    assert list(range(1, len(stored) + 1)) == [m.sequence for m in stored]
    assert len(stored) == len({m.headers["Nats-Msg-Id"] for m in stored})
    for before, message in itertools.pairwise(stored):
        if message.is_checkpoint:
            assert before.position == message.position
    heads, head = {}, GENESIS
    for logged in desk.read_log():
        head = chain_step(head, logged.position, logged.event.hash)
        heads[logged.position] = head
    assert [heads[m.position] for m in stored if m.is_checkpoint] == [
        m.body["head"] for m in stored if m.is_checkpoint
    ]


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNatsServer]:
    """A real nats-server with JetStream, on a free loopback port, for this test only."""
    with EmbeddedNatsServer(tmp_path / "jetstream") as server:
        yield server


def fast_relay(desk: Desk, url: str, **options: Any) -> Relay:
    """A relay with short timeouts and back-off, so outages are noticed quickly in tests."""
    settings: dict[str, Any] = {
        "backoff_initial": 0.05,
        "backoff_max": 0.3,
        "ack_timeout": 3.0,
        "connect_timeout": 1.0,
    }
    settings.update(options)
    return Relay(desk, url, **settings)


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------------- relay


@pytest.mark.parametrize("ack_every", [1, 7])
async def test_relay_publishes_the_whole_log_once_in_position_order(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock, ack_every: int
) -> None:
    """run_once publishes every event once, in position order; a second run adds nothing."""
    story(sqlite_desk, clock)
    comments(sqlite_desk, 2500)
    relay = Relay(sqlite_desk, nats_server.url, batch=500, max_in_flight=1000, ack_every=ack_every)

    published = await relay.run_once()
    again = await relay.run_once()

    stored = await stream_messages(nats_server.url)
    assert len(log_positions(sqlite_desk)) == published
    assert 0 == again
    assert_stream_equals_log(stored, sqlite_desk)


async def test_messages_carry_the_subject_headers_and_envelope_of_their_event(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> None:
    """Subject deskledger.ticket.<ref>.<Type> (policy: deskledger.policy.<Type>), §13 headers,
    and the §6 envelope as body — equal to the engine's envelope for every event type."""
    story(sqlite_desk, clock)
    await Relay(sqlite_desk, nats_server.url).run_once()

    stored = {m.position: m for m in await stream_messages(nats_server.url) if not m.is_checkpoint}
    store_id = sqlite_desk.store_id()
    types = set()
    for logged in sqlite_desk.read_log():
        expected = envelope_of(logged.event, logged.position).as_dict()
        message = stored[logged.position]
        types.add(expected["type"])
        assert expected == message.body
        policy = is_policy_stream(logged.event.originator_id)
        assert subject_for(logged.event.ref, expected["type"], policy=policy) == message.subject
        assert {
            "Nats-Msg-Id": f"{store_id}:{logged.position}",
            "DeskLedger-Position": str(logged.position),
            "DeskLedger-Event-Type": expected["type"],
            "DeskLedger-Ticket": logged.event.ref,
            "DeskLedger-Occurred-At": expected["occurred_at"],
        }.items() <= message.headers.items()
    assert "deskledger.ticket.INC1.MajorIncidentDeclared" in {m.subject for m in stored.values()}
    assert "deskledger.policy.PolicyRegistryStarted" in {m.subject for m in stored.values()}
    assert {"SlaBreached", "SlaWarningReached", "Canceled", "PolicyVersionLoaded"} <= types


async def test_relay_killed_mid_log_resumes_without_gaps_or_duplicates(
    nats_server: EmbeddedNatsServer, sqlite_url: str, sqlite_desk: Desk
) -> None:
    """SIGKILL the relay process twice in the middle of a 30k-event log and restart it: the
    stream ends up holding every position exactly once, in order."""
    comments(sqlite_desk, 30_000)
    total = len(log_positions(sqlite_desk))
    script = (
        "import asyncio, sys\n"
        "from adapters.bootstrap import open_desk\n"
        "from adapters.logging import configure_logging\n"
        "from adapters.nats.relay import Relay\n"
        "configure_logging('WARNING')\n"
        "relay = Relay(open_desk(sys.argv[1]), sys.argv[2], batch=200, max_in_flight=400)\n"
        "print(asyncio.run(relay.run_once()))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()

    async def stored_count() -> int:
        """Events in the stream (checkpoints not counted)."""
        try:
            info = await js.stream_info(DEFAULT_STREAM, subjects_filter="deskledger.checkpoint.>")
        except nats.js.errors.NotFoundError:
            return 0
        return info.state.messages - sum((info.state.subjects or {}).values())

    kills = []
    for fraction in (0.1, 0.5):
        child = subprocess.Popen(
            [sys.executable, "-c", script, sqlite_url, nats_server.url],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while await stored_count() < fraction * total and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills.append(await stored_count())
    finisher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, sqlite_url, nats_server.url, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(finisher.communicate(), 60)
    await nc.close()

    assert 0 == finisher.returncode
    assert all(0 < count < total for count in kills), f"not killed mid-log: {kills} of {total}"
    assert 0 < int(output) <= total - kills[-1]  # in-flight messages may land after a kill
    assert_stream_equals_log(await stream_messages(nats_server.url), sqlite_desk)


async def test_relay_catches_up_after_nats_comes_back(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """NATS stops while commands keep coming: the engine accepts them, the relay logs its
    retries, and once NATS is back it catches up with the whole log, without duplicates."""
    relay = fast_relay(sqlite_desk, nats_server.url)
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(relay.run_forever(stop))
        comments(sqlite_desk, 200, prefix="UP")
        await wait_until(
            lambda: relay.stats.position == sqlite_desk.recorder.max_notification_id(),
            20,
            "the first events to be published",
        )
        await asyncio.to_thread(nats_server.stop)
        before = sqlite_desk.recorder.max_notification_id()
        for round_ in range(5):
            comments(sqlite_desk, 100, prefix=f"DOWN{round_}")
            await asyncio.sleep(0.1)
        accepted = sqlite_desk.recorder.max_notification_id() - before
        await asyncio.to_thread(nats_server.restart)
        comments(sqlite_desk, 100, prefix="BACK")
        await wait_until(
            lambda: relay.stats.position == sqlite_desk.recorder.max_notification_id(),
            30,
            "the relay to catch up",
        )
        stop.set()
        await asyncio.wait_for(running, 10)

    assert 500 == accepted
    retries = [entry for entry in logs if entry["event"] == "relay.nats_unavailable"]
    assert retries, "the outage was not logged"
    assert {"warning"} == {entry["log_level"] for entry in retries}
    assert all("retry_in" in entry and "position" in entry for entry in retries)
    last_failure = max(i for i, entry in enumerate(logs) if entry in retries)
    recoveries = [e for e in logs[last_failure:] if e["event"] == "relay.resumed"]
    assert recoveries
    assert recoveries[0]["after_failures"] >= 1
    assert_stream_equals_log(await stream_messages(nats_server.url), sqlite_desk)


async def test_two_relays_racing_on_one_stream_still_store_each_event_once(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> None:
    """Two relays of the same store publishing at once: the sequence precondition and the
    message ids make the loser back off and resume; the stream still equals the log."""
    comments(sqlite_desk, 5000)
    relays = [fast_relay(sqlite_desk, nats_server.url, batch=100, max_in_flight=200)]
    relays.append(fast_relay(sqlite_desk, nats_server.url, batch=100, max_in_flight=200))

    await asyncio.gather(*(relay.run_once() for relay in relays))

    assert_stream_equals_log(await stream_messages(nats_server.url), sqlite_desk)
    assert [5000, 5000] == [relay.stats.position for relay in relays]
    assert sum(relay.stats.stored for relay in relays) <= 5000


async def test_relay_refuses_a_stream_holding_another_stores_events(
    nats_server: EmbeddedNatsServer,
    sqlite_desk: Desk,
    clock: SimulatedClock,
    tmp_path: Path,
    open_store: Callable[[str], Desk],
) -> None:
    """The stream is the relay's progress record: it will not continue another store's."""
    story(sqlite_desk, clock)
    await Relay(sqlite_desk, nats_server.url).run_once()
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    clock.set(START + timedelta(days=30))
    comments(other, 10, prefix="OTHER")

    with pytest.raises(RelayStreamError, match="another store"):
        await Relay(other, nats_server.url).run_once()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_relay_once_returns_a_summary_and_raises_when_nats_is_unreachable(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> None:
    """relay_once: a summary of what was published; NatsUnavailableError without NATS."""
    story(sqlite_desk, clock)
    events = len(log_positions(sqlite_desk))

    summary = relay_once(sqlite_desk, nats_server.url)
    with pytest.raises(NatsUnavailableError, match="could not publish"):
        relay_once(sqlite_desk, f"nats://127.0.0.1:{unused_port()}", give_up_after=0.3)

    assert (events, events, DEFAULT_STREAM) == (summary.published, summary.position, summary.stream)


def test_missing_nats_server_binary_is_a_clear_error(tmp_path: Path) -> None:
    """Without the binary, starting a server raises NatsUnavailableError saying what to do."""
    with pytest.raises(NatsUnavailableError, match="DESKLEDGER_NATS_SERVER"):
        EmbeddedNatsServer(tmp_path / "js", binary=str(tmp_path / "no-such-nats-server")).start()


def test_demo_without_a_nats_server_binary_exits_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DESKLEDGER_NATS_SERVER naming no executable: the demo ends with exit 3 (NATS is
    unavailable, like for the relay) and one error line naming the setting."""
    monkeypatch.setenv("DESKLEDGER_NATS_SERVER", str(tmp_path / "no-such-nats-server"))
    monkeypatch.delenv("DESKLEDGER_NATS_URL", raising=False)
    assert main(["demo", "--db", str(tmp_path / "demo.db")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "DESKLEDGER_NATS_SERVER" in err


# ---------------------------------------------------------------------- subscribers


async def collect(
    events: Any, expected: int, *, settle: float = 0.3, timeout: float = 15
) -> list[Envelope]:
    """Ack and gather envelopes until ``expected`` arrived and nothing more comes."""
    received: list[Envelope] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = await events.next(timeout=settle)
        if delivery is None:
            if len(received) >= expected:
                break
            continue
        received.append(delivery.envelope)
        await delivery.ack()
    return received


@pytest.fixture
async def relayed(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> Desk:
    """The story, published to the embedded server."""
    story(sqlite_desk, clock)
    await Relay(sqlite_desk, nats_server.url).run_once()
    return sqlite_desk


async def test_subscriber_filters_by_event_type_and_by_ticket(
    nats_server: EmbeddedNatsServer, relayed: Desk
) -> None:
    """event_types and tickets select exactly the matching envelopes, in position order (no
    filter: every event, and no checkpoint); a durable keeps its filters (reusing its name
    with others is a SubscriberConfigError)."""
    log = [envelope_of(logged.event, logged.position) for logged in relayed.read_log()]
    cases: dict[str, tuple[dict[str, Any], Callable[[Envelope], bool]]] = {
        "all": ({}, lambda e: True),
        "resolved": ({"event_types": ["Resolved"]}, lambda e: e.type == "Resolved"),
        "inc3": ({"tickets": ["INC3"]}, lambda e: e.ticket == "INC3"),
        "inc1-sla": (
            {"tickets": ["INC1"], "event_types": ["SlaWarningReached", "SlaBreached"]},
            lambda e: e.ticket == "INC1" and e.type in {"SlaWarningReached", "SlaBreached"},
        ),
        "policy": (
            {"event_types": ["PolicyVersionLoaded"]},
            lambda e: e.type == "PolicyVersionLoaded",
        ),
    }
    for durable, (filters, wanted) in cases.items():
        expected = [e for e in log if wanted(e)]
        async with subscribe(nats_server.url, durable, **filters) as events:
            received = await collect(events, len(expected))
        assert expected, durable
        assert expected == received, durable
    with pytest.raises(SubscriberConfigError, match="filters"):
        await subscribe(nats_server.url, "resolved", event_types=["Closed"]).open()


async def test_failing_handler_is_redelivered_and_takes_effect_exactly_once(
    nats_server: EmbeddedNatsServer, relayed: Desk
) -> None:
    """A handler that fails (before or after its effect) is nak'ed and called again, out of
    order; a handler that records positions per message makes every effect happen once."""
    positions = log_positions(relayed)
    fail_before, fail_after = positions[3], positions[10]
    calls: list[int] = []
    effects: dict[int, str] = {}  # position -> hash: the effect, recorded per message

    def handler(envelope: Envelope) -> None:
        position = envelope.position
        calls.append(position)
        if position == fail_before and calls.count(position) == 1:
            raise RuntimeError("crashed before its effect")
        effects.setdefault(position, envelope.hash)
        if position == fail_after and calls.count(position) == 1:
            raise RuntimeError("crashed after its effect, before the ack")

    async with subscribe(nats_server.url, "effects", nak_delay=0.2) as events:
        await asyncio.wait_for(
            events.run(
                handler,
                until=lambda: len(effects) == len(positions) and calls.count(fail_after) == 2,
            ),
            20,
        )
        leftovers = await collect(events, 0, settle=0.5)

    counts = Counter(calls)
    assert (2, 2) == (counts[fail_before], counts[fail_after])
    assert calls.index(fail_before, calls.index(fail_before) + 1) > calls.index(fail_before + 1)
    assert [] == leftovers
    assert [(e.position, e.event.hash) for e in relayed.read_log()] == sorted(effects.items())


def test_demo_check_reports_that_what_arrived_equals_the_log(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock, tmp_path: Path
) -> None:
    """With the relay in a background thread, check_delivery's replica receives the whole
    log and reports it equal, position by position and hash by hash."""
    with RelayThread(sqlite_desk, nats_server.url) as relay:
        story(sqlite_desk, clock)
        assert relay.wait_for(sqlite_desk.recorder.max_notification_id(), timeout=20)
        report, replica = check_delivery(
            nats_server.url, sqlite_desk, replica_path=tmp_path / "replica.db", timeout=20
        )

    assert report.equal, report
    assert len(log_positions(sqlite_desk)) == report.logged == report.received
    assert "INC5" in {ticket["ref"] for ticket in replica.queries.queue()}
    replica.close()


def test_stored_records_of_a_compressed_store_are_read_as_the_mapper_does(
    tmp_path: Path,
) -> None:
    """The relay, export and verify read stored records without building events; a store
    whose mapper compresses them (eventsourcing's COMPRESSOR_TOPIC) reads back to the same
    envelopes as the domain events, the chain digests are the events' hashes, and verify
    finds nothing wrong."""
    env = {**store_env(f"sqlite:///{tmp_path / 'zipped.db'}"), "COMPRESSOR_TOPIC": "zlib"}
    clock = SimulatedClock(START)
    desk = Desk(env, clock=clock)
    try:
        story(desk, clock)
        [first] = desk.recorder.select_notifications(1, 1)
        assert not first.state.startswith(b"{")  # stored compressed, not as JSON
        page = LogReader(desk).read(0, 10_000)
        logged = list(desk.read_log())
        assert page.unreadable is None
        assert [envelope_of(e.event, e.position).as_dict() for e in logged] == [
            json.loads(entry.event.body) for entry in page.entries if entry.event is not None
        ]
        assert [e.event.hash for e in logged] == [entry.digest for entry in page.entries]
        exported = list(export_lines(desk.recorder, desk.mapper))
        assert [envelope_of(e.event, e.position).as_dict() for e in logged] == exported
        report = desk.verify()
        assert (True, len(logged)) == (report.ok, report.events)
    finally:
        desk.close()
