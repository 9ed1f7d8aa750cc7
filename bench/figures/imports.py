"""Figure 2: ServiceNow import, in rows per second, against bare eventsourcing.

Datasets: the 6k-row export of ``tests/data/servicenow/`` and a synthetic file of
``import_copies`` renumbered copies of it (``INC0000045`` -> ``INC1000045``, ...; 60k rows at the
default size). DeskLedger: ``adapters.servicenow.import_servicenow`` into a fresh SQLite file
with the instance's policy already installed (so the timed import is a single pass: reading the
file, planning, replaying every row through the engine's commands in one unit of work). Bare:
:class:`bench.bare.BareApp` saving the same events — as many streams, as many events per
stream, each as big as DeskLedger stored it — in one transaction. Rows per second for both is
the file's rows over the time taken. The 6k file is imported ``import_rounds`` times (the best
counts) and its first run also times a re-import (every row a duplicate); the big one once.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from adapters.bootstrap import open_desk
from adapters.servicenow import import_servicenow, load_policy_file
from bench.bare import open_bare, payloads_like
from bench.context import Context
from bench.records import Record, at_least, ratio_at_least
from engine.ids import policy_registry_id

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data" / "servicenow"
SOURCE = DATA / "incident_event_log_6k.csv"
POLICY = DATA / "servicenow-policy.yaml"
GOAL = at_least(10_000, "rows/s") & ratio_at_least(0.5)


def replicate(source: Path, target: Path, copies: int) -> int:
    """Write ``copies`` copies of ``source``, copy k renaming ``INC0...`` to ``INCk...``."""
    with source.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = list(reader)
    number = header.index("number")
    rows = 0
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for copy in range(copies):
            for record in records:
                renamed = list(record)
                renamed[number] = f"INC{copy}{record[number][4:]}"
                writer.writerow(renamed)
                rows += 1
    return rows


def desk_import(path: Path, database: Path, *, again: bool) -> dict[str, Any]:
    """Import ``path`` into a fresh SQLite file (policy installed first); the figures and
    the stored size of every event, stream by stream."""
    desk = open_desk(f"sqlite:///{database}")
    try:
        policy = load_policy_file(POLICY)
        desk.load_policy(policy, actor="bench")
        first = import_servicenow(desk, path, policy=policy)
        if not first.ok or not first.written:
            raise RuntimeError(f"import of {path} failed: {first.failures[:3]}")
        repeated = import_servicenow(desk, path, policy=policy) if again else None
        streams: dict[Any, list[int]] = defaultdict(list)
        registry = policy_registry_id()
        for notification in desk.recorder.select_notifications(1, 10**9):
            if notification.originator_id != registry:
                streams[notification.originator_id].append(len(notification.state))
    finally:
        desk.close()
    return {
        "rows": first.rows,
        "events": sum(first.events.values()),
        "seconds": first.elapsed,
        "streams": list(streams.values()),
        "reimport_seconds": None if repeated is None else repeated.elapsed,
    }


def bare_import(streams: list[list[int]], database: Path) -> tuple[float, int]:
    """Seconds to save the same streams of the same sizes in one transaction; and the bytes
    stored (to compare with DeskLedger's)."""
    app = open_bare(f"sqlite:///{database}")
    try:
        payloads = [payloads_like(sizes, app) for sizes in streams]
        began = time.perf_counter()
        app.create_many(payloads)
        seconds = time.perf_counter() - began
        stored = sum(len(n.state) for n in app.recorder.select_notifications(1, 10**9))
        return seconds, stored
    finally:
        app.close()


def measure(context: Context, label: str, path: Path, rounds: int) -> Record:
    workdir = context.scratch("import")
    desk_runs: list[dict[str, Any]] = []
    bare_runs: list[float] = []
    bare_bytes = 0
    with context.progress.task(f"import {label}: DeskLedger and bare", total=2 * rounds) as task:
        for index in range(rounds):
            database = workdir / f"{label}-desk-{index}.db"
            desk_runs.append(desk_import(path, database, again=label == "6k" and index == 0))
            database.unlink()
            task.advance()
            database = workdir / f"{label}-bare-{index}.db"
            seconds, bare_bytes = bare_import(desk_runs[-1]["streams"], database)
            bare_runs.append(seconds)
            database.unlink()
            task.advance()
    best = min(desk_runs, key=lambda run: run["seconds"])
    rows = best["rows"]
    details: dict[str, Any] = {
        "events": best["events"],
        "tickets": len(best["streams"]),
        "stored_bytes": sum(map(sum, best["streams"])),
        "bare_stored_bytes": bare_bytes,
        "deskledger_runs_rows_per_s": [round(rows / run["seconds"]) for run in desk_runs],
        "bare_runs_rows_per_s": [round(rows / seconds) for seconds in bare_runs],
    }
    if desk_runs[0]["reimport_seconds"]:
        details["reimport_rows_per_s"] = round(rows / desk_runs[0]["reimport_seconds"])
    return Record(
        f"import.{label}",
        f"ServiceNow import, {label} file, SQLite",
        "rows/s",
        rows / best["seconds"],
        rows / min(bare_runs),
        "bare",
        GOAL,
        size=f"{rows:,} rows, {best['events']:,} events, best of {rounds}",
        details=details,
    )


def run(context: Context) -> list[Record]:
    records = [measure(context, "6k", SOURCE, context.size.import_rounds)]
    copies = context.size.import_copies
    if copies > 1:
        replicated = context.scratch("import") / f"incident_event_log_{copies}x6k.csv"
        rows = replicate(SOURCE, replicated, copies)
        records.append(measure(context, f"{round(rows / 1000)}k", replicated, 1))
    return records
