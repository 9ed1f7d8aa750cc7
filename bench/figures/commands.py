"""Figure 1: commands per second, one command per transaction, against bare eventsourcing.

DeskLedger: ``open`` under the bench policy (three events per save: the opening and two SLA
timers), then ``comment`` on each ticket (load, one event, save), each command its own
transaction. Bare: :class:`bench.bare.BareApp` creating an aggregate with three events per
save, then loading it and saving one more, with payloads sized so each stored event is as big
as DeskLedger's (measured from the desk's own store in the same run). The two alternate on
fresh stores, ``command_rounds`` times; the best round of each side counts. SQLite file, and
PostgreSQL when reachable (a fresh schema per store).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from adapters.bootstrap import open_desk
from bench.bare import mean_sizes, open_bare, padding
from bench.context import Context
from bench.history import POLICY, START
from bench.postgres import fresh_schema
from bench.records import Record, ratio_at_least, skipped
from engine.clock import SimulatedClock

GOAL = ratio_at_least(0.8)
WARM_UP = 10
OPEN = {
    "title": "Printer on floor 3 jams on every job",
    "description": "Paper jams in tray 2 since the toner was replaced this morning.",
    "caller": "carol",
    "impact": 2,
    "urgency": 2,
    "channel": "phone",
    "category": "hardware",
    "group": "service-desk",
}
COMMENT = {
    "text": "Checked the tray and the rollers; ordering a new fuser.",
    "visibility": "internal",
}

Sizes = dict[str, list[float]]  # "open": stored bytes of its 3 events; "comment": of its 1


def _desk_round(url: str, count: int) -> tuple[float, float, Sizes]:
    """Seconds for ``count`` opens, then ``count`` comments; and the stored sizes."""
    desk = open_desk(url, clock=SimulatedClock(START))
    try:
        desk.load_policy(POLICY, actor="bench")
        refs = [f"INC{n:07d}" for n in range(WARM_UP + count)]
        for ref in refs[:WARM_UP]:
            desk.execute("open", {"ref": ref, **OPEN}, actor="alice")
        began = time.perf_counter()
        for ref in refs[WARM_UP:]:
            desk.execute("open", {"ref": ref, **OPEN}, actor="alice")
        opened = time.perf_counter() - began
        began = time.perf_counter()
        for ref in refs[WARM_UP:]:
            desk.execute("comment", {"ref": ref, **COMMENT}, actor="alice")
        commented = time.perf_counter() - began
        states = [
            len(n.state) for n in desk.recorder.select_notifications(2, 10 * count + 100)
        ]  # after the policy's event
        opens = [states[k : k + 3] for k in range(0, 3 * (WARM_UP + count), 3)]
        comments = [[size] for size in states[3 * (WARM_UP + count) :]]
        return opened, commented, {"open": mean_sizes(opens), "comment": mean_sizes(comments)}
    finally:
        desk.close()


def _bare_round(url: str, count: int, sizes: Sizes) -> tuple[float, float, Sizes]:
    app = open_bare(url)
    try:
        first = [padding(sizes["open"][0], "created", app)]
        opening = first + [padding(s, "noted", app) for s in sizes["open"][1:]]
        note = padding(sizes["comment"][0], "noted", app)
        for _ in range(WARM_UP):
            app.create(opening)
        began = time.perf_counter()
        ids = [app.create(opening) for _ in range(count)]
        opened = time.perf_counter() - began
        began = time.perf_counter()
        for record_id in ids:
            app.update(record_id, note)
        commented = time.perf_counter() - began
        stored = [len(n.state) for n in app.recorder.select_notifications(1, 3 * WARM_UP)]
        last = app.recorder.max_notification_id() or 0
        [noted] = [len(n.state) for n in app.recorder.select_notifications(last, 1)]
        return opened, commented, {"open": [float(s) for s in stored[:3]], "comment": [noted]}
    finally:
        app.close()


def measure(context: Context, backend: str, store: Callable[[str], Any]) -> list[Record]:
    """Alternate DeskLedger and bare rounds on fresh stores; best per side."""
    count, rounds = context.size.commands, context.size.command_rounds
    desk_runs: list[tuple[float, float]] = []
    bare_runs: list[tuple[float, float]] = []
    sizes: Sizes = {}
    bare_sizes: Sizes = {}
    with context.progress.task(f"{backend}: DeskLedger and bare rounds", total=2 * rounds) as task:
        for index in range(rounds):
            with store(f"desk-{index}") as url:
                *seconds, sizes = _desk_round(url, count)
                desk_runs.append((seconds[0], seconds[1]))
            task.advance()
            with store(f"bare-{index}") as url:
                *seconds, bare_sizes = _bare_round(url, count, sizes)
                bare_runs.append((seconds[0], seconds[1]))
            task.advance()
    records = []
    for k, (name, events) in enumerate((("open", 3), ("comment", 1))):
        desk = count / min(run[k] for run in desk_runs)
        bare = count / min(run[k] for run in bare_runs)
        records.append(
            Record(
                f"commands.{name}.{backend.lower()}",
                f"{name} ({events} event{'s' * (events > 1)}/save), one per transaction, {backend}",
                "commands/s",
                desk,
                bare,
                "bare",
                GOAL,
                size=f"{count:,} commands, best of {rounds}",
                details={
                    "stored_bytes_per_event": [round(s) for s in sizes[name]],
                    "bare_stored_bytes_per_event": [round(s) for s in bare_sizes[name]],
                    "deskledger_runs_per_s": [round(count / run[k]) for run in desk_runs],
                    "bare_runs_per_s": [round(count / run[k]) for run in bare_runs],
                },
            )
        )
    return records


def run(context: Context) -> list[Record]:
    workdir = context.scratch("commands")

    @contextmanager
    def sqlite_file(name: str) -> Iterator[str]:
        path = workdir / f"{name}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            (workdir / f"{name}.db{suffix}").unlink(missing_ok=True)

    records = measure(context, "SQLite", sqlite_file)
    server = context.postgres
    if server is not None:

        @contextmanager
        def postgres_schema(name: str) -> Iterator[str]:
            with fresh_schema(server) as (url, _):
                yield url

        records += measure(context, "PostgreSQL", postgres_schema)
    else:
        reason = f"PostgreSQL not reachable: {context.postgres_missing}"
        for name, events in (("open", 3), ("comment", 1)):
            records.append(
                skipped(
                    f"commands.{name}.postgresql",
                    f"{name} ({events} event{'s' * (events > 1)}/save), one per transaction, "
                    "PostgreSQL",
                    "commands/s",
                    reason,
                    GOAL,
                )
            )
    return records
