"""Figure 6: relay throughput against raw ``publish_async``, and commit-to-subscriber latency.

1. Builds a log of ``relay_events`` events (50,000 at the default size: tickets opened,
   assigned, commented and resolved) in a SQLite file.
2. Starts an embedded ``nats-server`` (JetStream, file storage) and measures, in the same run
   and alternately (``relay_rounds`` times, each on a fresh stream):

   * **raw publish_async** (the baseline): the relay's own subjects and bodies, prepared in
     advance, sent with nats-py's ``js.publish_async`` and a ``Nats-Msg-Id`` header, waiting
     for every ack — the ceiling of what a Python client can push;
   * **relay**: ``Relay.run_once()`` with default settings — reading the log through the
     mapper, building the envelopes and all §13 headers, publishing, checking an ack on every
     32nd message and the last of each page (see ``adapters.nats.relay``), and anchoring the
     chain head every 1,000 events;
   * once, **relay with an ack checked on every message** (``ack_every=1``), in the details:
     what checking every 32nd saves.

3. Latency: a writer process commits one event every ``1/latency_rate`` seconds (500/s) for
   ``latency_seconds`` (10) to a SQLite store while ``Relay.run_forever`` follows it and a
   durable subscriber (``adapters.nats.subscriber``) receives the envelopes; latency = arrival
   time minus the event's ``recorded_at`` (stamped by the engine just before the commit).

Goals: relay >= 25,000 events/s and >= 0.6 x raw publish_async; p99 latency < 100 ms.
Throughput per CPU second of this process (steadier than wall time on a shared machine) is in
the details.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
from nats.js.api import StorageType, StreamConfig

from adapters.bootstrap import open_desk
from adapters.nats.codec import Outgoing, encode
from adapters.nats.relay import Relay
from adapters.nats.server import EmbeddedNatsServer
from adapters.nats.stream import ensure_stream
from adapters.nats.subjects import DEFAULT_STREAM
from adapters.nats.subscriber import subscribe
from bench.context import Context
from bench.progress import Task
from bench.records import Record, at_least, below, ratio_at_least
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.envelope import Envelope, envelope_of

ROOT = Path(__file__).resolve().parent.parent.parent
TARGET_EVENTS_PER_SECOND = 25_000
TARGET_RATIO = 0.6
TARGET_P99_MS = 100.0
RAW_STREAM = "RAWBENCH"
RAW = "raw publish_async + Nats-Msg-Id"
RELAY = "relay (default: ack every 32nd)"


# ---------------------------------------------------------------------- the log


def build_log(desk: Desk, events: int, task: Task) -> int:
    """Tickets of 50 events each (open, assign + start, 46 comments, resolve), batched."""
    tickets = -(-events // 50)
    for first in range(0, tickets, 20):
        with desk.unit_of_work():
            for number in range(first, min(first + 20, tickets)):
                ref = f"INC{number:07d}"
                desk.execute(
                    "open",
                    {"ref": ref, "title": f"Printer {number} jams", "caller": "user",
                     "impact": 3, "urgency": 2, "channel": "portal", "category": "hardware"},
                    actor="alice",
                )  # fmt: skip
                desk.execute("assign", {"ref": ref, "group": "desk-l1", "assignee": "alice"},
                             actor="alice")  # fmt: skip
                for k in range(46):
                    desk.execute(
                        "comment",
                        {"ref": ref, "text": f"Checked tray {k}", "visibility": "internal"},
                        actor="alice",
                    )
                desk.execute("resolve", {"ref": ref, "code": "fixed", "notes": "new roller"},
                             actor="alice")  # fmt: skip
        task.update(min(int(desk.recorder.max_notification_id() or 0), events))
    return int(desk.recorder.max_notification_id() or 0)


def prepared_messages(desk: Desk) -> list[Outgoing]:
    """The relay's subjects and bodies for every event, computed before any timing."""
    store_id = desk.store_id()
    return [
        encode(envelope_of(logged.event, logged.position).as_dict(), store_id)
        for logged in desk.read_log()
    ]


# ---------------------------------------------------------------------- throughput


async def reset_streams(url: str) -> None:
    """Fresh, empty streams: the relay's (deskledger.>) and the raw baseline's."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    for name in (DEFAULT_STREAM, RAW_STREAM):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
    await ensure_stream(js, DEFAULT_STREAM)
    await js.add_stream(
        StreamConfig(
            name=RAW_STREAM,
            subjects=["rawbench.>"],
            storage=StorageType.FILE,
            duplicate_window=300,
        )
    )
    await nc.close()


async def raw_publish_async(url: str, messages: list[Outgoing]) -> dict[str, float]:
    """nats-py ``publish_async`` of prepared messages with a Nats-Msg-Id; every ack awaited."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    started, cpu = time.perf_counter(), time.process_time()
    futures = [
        await js.publish_async(
            message.subject,
            message.body,
            headers={"Nats-Msg-Id": message.headers["Nats-Msg-Id"]},
        )
        for message in messages
    ]
    acks = await asyncio.gather(*futures)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await nc.close()
    if len(acks) != len(messages) or acks[-1].seq != len(messages):
        raise RuntimeError(f"raw publish stored {acks[-1].seq} of {len(messages)}")
    return {"events": len(messages), "seconds": wall, "cpu_seconds": cpu}


async def relay_once(desk: Desk, url: str, **options: Any) -> dict[str, float]:
    relay = Relay(desk, url, **options)
    started, cpu = time.perf_counter(), time.process_time()
    published = await relay.run_once()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": published, "seconds": wall, "cpu_seconds": cpu}


def rates(runs: list[dict[str, float]]) -> dict[str, float]:
    per_second = [run["events"] / run["seconds"] for run in runs]
    per_cpu = [run["events"] / run["cpu_seconds"] for run in runs]
    return {
        "runs": len(runs),
        "events": int(runs[0]["events"]),
        "best_per_s": round(max(per_second)),
        "median_per_s": round(statistics.median(per_second)),
        "best_per_cpu_s": round(max(per_cpu)),
    }


async def throughput(desk: Desk, url: str, repeat: int, task: Task) -> dict[str, dict[str, float]]:
    # The raw baseline sends the same bodies to its own stream (rawbench.>).
    messages = [
        m._replace(subject="rawbench" + m.subject[len("deskledger") :])
        for m in prepared_messages(desk)
    ]
    every = "relay (ack_every=1)"
    cases: dict[str, list[dict[str, float]]] = {RAW: [], RELAY: [], every: []}
    for _ in range(repeat):
        await reset_streams(url)
        cases[RAW].append(await raw_publish_async(url, messages))
        task.advance()
        await reset_streams(url)
        cases[RELAY].append(await relay_once(desk, url))
        task.advance()
    await reset_streams(url)
    cases[every].append(await relay_once(desk, url, ack_every=1))
    task.advance()
    return {name: rates(runs) for name, runs in cases.items()}


# ---------------------------------------------------------------------- latency

#: The writer child: ``python -c WRITER STORE RATE SECONDS`` (not ``-m bench.figures.relay``,
#: which ran this module a second time beside the copy the package imports, and warned).
WRITER = (
    "import sys; from bench.figures.relay import writer; "
    "writer(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))"
)


def writer(url: str, rate: float, seconds: float) -> None:
    """Child process: commit one event every 1/rate s (comments on 50 open tickets)."""
    desk = open_desk(url)
    refs = [f"LAT{n:04d}" for n in range(50)]
    with desk.unit_of_work():
        for ref in refs:
            desk.execute(
                "open",
                {"ref": ref, "title": "latency", "caller": "c", "impact": 3, "urgency": 3},
                actor="writer",
            )
    interval = 1.0 / rate
    start = time.perf_counter()
    count = int(rate * seconds)
    for n in range(count):
        delay = start + n * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        desk.execute(
            "comment",
            {"ref": refs[n % len(refs)], "text": f"tick {n}", "visibility": "internal"},
            actor="writer",
        )
    desk.close()


async def latency(
    url: str, workdir: Path, rate: float, seconds: float, task: Task
) -> dict[str, Any]:
    await reset_streams(url)
    store = f"sqlite:///{workdir / 'latency.db'}"
    desk = open_desk(store)
    expected = 50 + int(rate * seconds)
    arrivals: list[tuple[int, float]] = []

    def on_event(envelope: Envelope) -> None:
        recorded = datetime.fromisoformat(envelope.recorded_at).timestamp()
        arrivals.append((envelope.position, time.time() - recorded))

    stop = asyncio.Event()
    relay = Relay(desk, url)
    relaying = asyncio.create_task(relay.run_forever(stop))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, store, str(rate), str(seconds),
        cwd=ROOT,
    )  # fmt: skip
    async with subscribe(url, "latency-bench", ack_wait=10) as events:

        def done() -> bool:
            task.update(len(arrivals))
            return len(arrivals) >= expected

        await asyncio.wait_for(events.run(on_event, until=done), seconds + 60)
    await child.wait()
    stop.set()
    await relaying
    desk.close()
    skip = 50 + min(int(rate), int(rate * seconds) // 2)  # the opening, then 1 s of warm-up
    warm = [ms * 1000 for position, ms in arrivals if position > skip]
    ordered = sorted(warm)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)

    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "events": len(arrivals),
        "measured": len(ordered),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "writer_exit": child.returncode,
    }


# ---------------------------------------------------------------------- the figure


async def measure(context: Context, server_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    workdir = context.scratch("relay")
    clock = SimulatedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    desk = open_desk(f"sqlite:///{workdir / 'log.db'}", clock=clock, wall_clock=clock)
    try:
        with context.progress.task("building the log", total=context.size.relay_events) as task:
            await asyncio.to_thread(build_log, desk, context.size.relay_events, task)
        with context.progress.task(
            "raw publish_async and relay, alternately", total=2 * context.size.relay_rounds + 1
        ) as task:
            speeds = await throughput(desk, server_url, context.size.relay_rounds, task)
    finally:
        desk.close()
    rate, seconds = context.size.latency_rate, context.size.latency_seconds
    expected = 50 + int(rate * seconds)
    with context.progress.task(f"latency at {rate:g} events/s", total=expected) as task:
        delays = await latency(server_url, workdir, rate, seconds, task)
    return speeds, delays


def run(context: Context) -> list[Record]:
    with EmbeddedNatsServer(context.scratch("relay") / "jetstream") as server:
        speeds, delays = asyncio.run(measure(context, server.url))
    raw, relay = speeds[RAW], speeds[RELAY]
    size = context.size
    throughput_size = f"{relay['events']:,} events, best of {relay['runs']}"
    latency_size = f"{delays['measured']:,} events at {delays['rate_per_s']:g}/s"
    return [
        Record(
            "relay.rate",
            "relay to nats-server (JetStream, file storage)",
            "events/s",
            relay["best_per_s"],
            raw["best_per_s"],
            "raw publish_async",
            at_least(TARGET_EVENTS_PER_SECOND, "events/s") & ratio_at_least(TARGET_RATIO),
            size=throughput_size,
            details=speeds,
        ),
        Record(
            "relay.latency_p50",
            f"commit-to-subscriber latency p50 at {size.latency_rate:g} events/s",
            "ms",
            delays["p50_ms"],
            size=latency_size,
            details=delays,
        ),
        Record(
            "relay.latency_p99",
            f"commit-to-subscriber latency p99 at {size.latency_rate:g} events/s",
            "ms",
            delays["p99_ms"],
            goal=below(TARGET_P99_MS, "ms"),
            size=latency_size,
        ),
    ]
