"""Figure 9: how far the views lag behind commands on PostgreSQL at a steady rate.

A ``deskledger projections run`` process follows a fresh PostgreSQL schema (LISTEN/NOTIFY,
as a desk would run it) under the bundled default policy, while this process commits
``open`` commands (the ticket and its SLA timers: several events each), paced so that the
log grows by ``latency_rate`` events per second, for ``latency_seconds``. A thread here reads
the views' tracking positions every few milliseconds; an event's lag is the time from its
command returning (committed) to the first read that shows both views at or past its
position. Goal (read-side issue): p99 < 1 s
at 500 events/s. Skipped, saying why, when no PostgreSQL server answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from adapters.bootstrap import open_desk
from bench.context import Context
from bench.postgres import fresh_schema
from bench.records import Record, below, skipped
from projections.views import open_views

ROOT = Path(__file__).resolve().parent.parent.parent
TITLE = "projection lag behind commands on PostgreSQL, p99"
GOAL = below(1000, "ms")
POLICY = ROOT / "scenarios" / "policies" / "default.yaml"
POLL_SECONDS = 0.005


def run(context: Context) -> list[Record]:
    size = context.size
    if context.postgres is None:
        reason = f"PostgreSQL not reachable: {context.postgres_missing}"
        return [skipped("lag.p99", TITLE, "ms", reason, GOAL)]
    with fresh_schema(context.postgres) as (url, _):
        lags = measure(url, size.latency_rate, size.latency_seconds, context)
    ordered = sorted(lags)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    label = f"{len(lags):,} events at {size.latency_rate:g}/s"
    details = {"p50_ms": round(pct(0.5), 2), "max_ms": round(ordered[-1], 2)}
    return [
        Record("lag.p50", TITLE.replace("p99", "p50"), "ms", pct(0.5), size=label),
        Record("lag.p99", TITLE, "ms", pct(0.99), goal=GOAL, size=label, details=details),
    ]


def measure(url: str, rate: float, seconds: float, context: Context) -> list[float]:
    """Milliseconds from each command's commit until both views show it."""
    desk = open_desk(url)
    desk.load_policy(yaml.safe_load(POLICY.read_text(encoding="utf-8")), actor="bench")
    views = open_views(desk)
    views.ensure()
    follower = _start_follower(url)
    committed: list[tuple[int, float]] = []  # (position, when its command returned)
    seen: list[tuple[int, float]] = []  # (views' position, when it was read)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append((min(views.positions().values()), time.perf_counter()))
            time.sleep(POLL_SECONDS)

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        watcher.start()
        first = desk.recorder.max_notification_id() or 0
        total = int(rate * seconds)
        with context.progress.task("commands while the views follow", total=total) as task:
            start, position, n = time.perf_counter(), first, 0
            while position - first < total:  # paced by events written, not by commands
                delay = start + (position - first) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                fields = {"ref": f"LAG{n:06d}", "title": "lag", "caller": "c"}
                desk.execute("open", {**fields, "impact": 3, "urgency": 3}, actor="bench")
                position, n = desk.recorder.max_notification_id() or 0, n + 1
                committed.append((position, time.perf_counter()))
                task.update(position - first)
        head = committed[-1][0]
        deadline = time.perf_counter() + 60
        while (not seen or seen[-1][0] < head) and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()
        follower.terminate()
        follower.wait(timeout=30)
        desk.close()
    return _lags(committed, seen)


def _start_follower(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DESKLEDGER_STORE": url, "DESKLEDGER_LOG_LEVEL": "INFO"}
    env.pop("DESKLEDGER_LOG_FILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "projections", "run"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    for line in process.stderr:  # JSON log lines: wait until it follows the log
        if '"projections.following"' in line:
            break
    else:
        raise RuntimeError(f"projections run ended before following (exit {process.wait()})")
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
    return process


def _lags(committed: list[tuple[int, float]], seen: list[tuple[int, float]]) -> list[float]:
    lags: list[float] = []
    index = 0
    for position, at in committed:
        while index < len(seen) and (seen[index][0] < position or seen[index][1] < at):
            index += 1
        if index == len(seen):
            raise RuntimeError(f"the views never reached position {position}")
        lags.append((seen[index][1] - at) * 1000)
    return lags
