"""Benchmark: relay throughput against raw ``publish_async``, and commit-to-subscriber latency.

    .venv/bin/python -m bench.bench_relay [--events N] [--repeat N] [--seconds S] [--rate R]
                                          [--check]

1. Builds a log of ``--events`` events (default 50,000: tickets opened, assigned, commented
   and resolved) in a SQLite file.
2. Starts an embedded ``nats-server`` (JetStream, file storage) and measures, in the same run
   and alternately (``--repeat`` times, each on a fresh stream):

   * **raw publish_async**: the relay's own subjects and bodies, prepared in advance, sent with
     nats-py's ``js.publish_async`` and a ``Nats-Msg-Id`` header, waiting for every ack — the
     ceiling of what a Python client can push;
   * **relay**: ``Relay.run_once()`` with default settings — reading the log through the
     mapper, building the envelopes and all §13 headers, publishing, checking an ack on every
     32nd message and the last of each page (see ``adapters.nats.relay``), and anchoring the
     chain head every 1,000 events;
   * **relay, ack every message**: the same with ``ack_every=1``.

3. Latency: a writer process commits one event every ``1/--rate`` seconds (default 500/s) for
   ``--seconds`` (default 10) to a SQLite store while ``Relay.run_forever`` follows it and a
   durable subscriber (``adapters.nats.subscriber``) receives the envelopes; latency = arrival time
   minus the event's ``recorded_at`` (stamped by the engine just before the commit).

Prints a table and writes ``bench/results/relay.json``. Targets: relay >= 25,000 events/s and
>= 0.6 x raw publish_async; p99 latency < 100 ms. ``--check`` exits 1 when one is missed.
Throughput is also reported per CPU second of the benchmark process, which is steadier than
wall time on a shared machine (the load average at start is recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
from nats.js.api import StorageType, StreamConfig
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.bootstrap import open_desk
from adapters.logging import configure_logging
from adapters.nats.codec import Outgoing, encode
from adapters.nats.relay import Relay
from adapters.nats.server import EmbeddedNatsServer, find_binary
from adapters.nats.stream import ensure_stream
from adapters.nats.subjects import DEFAULT_STREAM
from adapters.nats.subscriber import subscribe
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.envelope import Envelope, envelope_of

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "relay.json"
TARGET_EVENTS_PER_SECOND = 25_000
TARGET_RATIO = 0.6
TARGET_P99_MS = 100.0
RAW_STREAM = "RAWBENCH"
console = Console()


# ---------------------------------------------------------------------- the log


def build_log(desk: Desk, events: int, progress: Progress) -> int:
    """Tickets of 50 events each (open, assign + start, 46 comments, resolve), batched."""
    task = progress.add_task("building the log", total=events)
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
        progress.update(task, completed=min(desk.recorder.max_notification_id() or 0, events))
    return int(desk.recorder.max_notification_id() or 0)


def prepared_messages(desk: Desk) -> list[Outgoing]:
    """The relay's subjects and bodies for every event, computed before any timing."""
    store_id = desk.store_id()
    return [
        encode(envelope_of(logged.event, logged.position), store_id) for logged in desk.read_log()
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


async def throughput(
    desk: Desk, url: str, repeat: int, progress: Progress
) -> dict[str, dict[str, float]]:
    # The raw baseline sends the same bodies to its own stream (rawbench.>).
    messages = [
        m._replace(subject="rawbench" + m.subject[len("deskledger") :])
        for m in prepared_messages(desk)
    ]
    cases: dict[str, list[dict[str, float]]] = {
        "raw publish_async + Nats-Msg-Id": [],
        "relay (default: ack every 32nd)": [],
        "relay (ack_every=1)": [],
    }
    task = progress.add_task("throughput runs", total=repeat * len(cases))
    for _ in range(repeat):
        await reset_streams(url)
        cases["raw publish_async + Nats-Msg-Id"].append(await raw_publish_async(url, messages))
        progress.advance(task)
        await reset_streams(url)
        cases["relay (default: ack every 32nd)"].append(await relay_once(desk, url))
        progress.advance(task)
        await reset_streams(url)
        cases["relay (ack_every=1)"].append(await relay_once(desk, url, ack_every=1))
        progress.advance(task)
    return {name: rates(runs) for name, runs in cases.items()}


# ---------------------------------------------------------------------- latency

WRITER = "--writer"


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
    url: str, workdir: Path, rate: float, seconds: float, progress: Progress
) -> dict[str, Any]:
    await reset_streams(url)
    store = f"sqlite:///{workdir / 'latency.db'}"
    desk = open_desk(store)
    expected = 50 + int(rate * seconds)
    arrivals: list[tuple[int, float]] = []

    def on_event(envelope: Envelope) -> None:
        recorded = datetime.fromisoformat(envelope.recorded_at).timestamp()
        arrivals.append((envelope.position, time.time() - recorded))

    task = progress.add_task(f"latency at {rate:g} events/s", total=expected)
    stop = asyncio.Event()
    relay = Relay(desk, url)
    relaying = asyncio.create_task(relay.run_forever(stop))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_relay", WRITER, store, str(rate), str(seconds),
        cwd=ROOT,
    )  # fmt: skip
    async with subscribe(url, "latency-bench", ack_wait=10) as events:

        def done() -> bool:
            progress.update(task, completed=len(arrivals))
            return len(arrivals) >= expected

        await asyncio.wait_for(events.run(on_event, until=done), seconds + 60)
    await child.wait()
    stop.set()
    await relaying
    desk.close()
    warm = [ms * 1000 for position, ms in arrivals if position > 50 + int(rate)]  # skip 1 s
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


# ---------------------------------------------------------------------- report


def show(report: dict[str, Any]) -> None:
    table = Table(title=f"relay throughput ({report['events']:,} events, SQLite, JetStream file)")
    for column in ("case", "best events/s", "median events/s", "events / CPU s", "runs"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name, row in report["throughput"].items():
        table.add_row(
            name,
            f"{row['best_per_s']:,}",
            f"{row['median_per_s']:,}",
            f"{row['best_per_cpu_s']:,}",
            str(row["runs"]),
        )
    console.print(table)
    lat = report["latency"]
    table = Table(title=f"commit-to-subscriber latency at {lat['rate_per_s']:g} events/s")
    for column in ("events", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{lat['measured']:,}",
        str(lat["p50_ms"]),
        str(lat["p90_ms"]),
        str(lat["p99_ms"]),
        str(lat["max_ms"]),
    )
    console.print(table)
    for name, ok in report["targets"].items():
        console.print(f"{'[green]met[/green]' if ok else '[red]missed[/red]'}  {name}")


def targets(report: dict[str, Any]) -> dict[str, bool]:
    raw = report["throughput"]["raw publish_async + Nats-Msg-Id"]["best_per_s"]
    relay = report["throughput"]["relay (default: ack every 32nd)"]["best_per_s"]
    return {
        f"relay >= {TARGET_EVENTS_PER_SECOND:,} events/s ({relay:,})": (
            relay >= TARGET_EVENTS_PER_SECOND
        ),
        f"relay >= {TARGET_RATIO} x raw publish_async ({relay / raw:.2f} x)": (
            relay >= TARGET_RATIO * raw
        ),
        f"p99 latency < {TARGET_P99_MS:g} ms ({report['latency']['p99_ms']} ms)": (
            report["latency"]["p99_ms"] < TARGET_P99_MS
        ),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "adapters.nats.relay",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "python": platform.python_version(),
        "nats_py": version("nats-py"),
        "nats_server": args.server_version,
    }
    with (
        tempfile.TemporaryDirectory(prefix="deskledger-bench-") as tmp,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        workdir = Path(tmp)
        clock = SimulatedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        desk = open_desk(f"sqlite:///{workdir / 'log.db'}", clock=clock, wall_clock=clock)
        report["events"] = await asyncio.to_thread(build_log, desk, args.events, progress)
        with EmbeddedNatsServer(workdir / "jetstream") as server:
            report["throughput"] = await throughput(desk, server.url, args.repeat, progress)
            report["latency"] = await latency(
                server.url, workdir, args.rate, args.seconds, progress
            )
        desk.close()
    report["targets"] = targets(report)
    return report


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == WRITER:
        writer(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(sys.argv[1:])
    configure_logging("WARNING")
    args.server_version = subprocess.run(
        [find_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    report = asyncio.run(run(args))
    show(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")
    if args.check and not all(report["targets"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
