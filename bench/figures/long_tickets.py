"""A command's cost against its ticket's length: a long ticket vs a short one.

Two tickets on one SQLite file, written the way an integration writes them: every command
with a ``command_id`` (so the ticket keeps each id, for retries) and, every tenth step, a
hold and a resume (so its phases grow). The short ticket stops a little past its first
snapshot, the long one the same distance past a later snapshot, so both load a snapshot and
then replay about as many events: what differs is only the history the snapshot holds.

* **warm**: ``comment`` on each ticket in a desk that holds both (a service handling its
  tickets), median of ``long_runs``;
* **cold**: the first ``comment`` of a fresh desk (the CLI, a new worker): the ticket is
  loaded from its snapshot, checked, and brought up to date, median of ``long_runs``
  (the desk reads its policy first, so the policy's read is not part of it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import count

from adapters.bootstrap import open_desk
from bench.context import Context
from bench.figures.commands import COMMENT, OPEN
from bench.history import POLICY, START
from bench.records import Record, ratio_at_most
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.snapshots import SNAPSHOT_INTERVAL

#: Events past the last snapshot at which both tickets stop.
PAST_SNAPSHOT = SNAPSHOT_INTERVAL // 2
SHORT = "INC0000001"
LONG = "INC0000002"


def run(context: Context) -> list[Record]:
    size = context.size
    lengths = {SHORT: SNAPSHOT_INTERVAL + PAST_SNAPSHOT, LONG: size.long_ticket}
    url = f"sqlite:///{context.scratch('long-tickets') / 'store.db'}"
    clock = SimulatedClock(START)
    ids = (f"cmd-{n}" for n in count())
    with context.progress.task("long tickets: writing", total=sum(lengths.values())) as task:
        desk = open_desk(url, clock=clock)
        try:
            desk.load_policy(POLICY, actor="bench")
            for ref, length in lengths.items():
                _write(desk, ref, length, ids=ids, clock=clock, advance=task.advance)
            versions = {ref: desk.get_ticket(ref).version for ref in lengths}
        finally:
            desk.close()
    samples: dict[tuple[str, str], list[float]] = {}
    with context.progress.task("long tickets: commands", total=4 * size.long_runs) as task:
        desk = open_desk(url, clock=clock)
        try:
            for ref in lengths:
                _comment(desk, ref, ids)  # each ticket in the desk's cache
            for _ in range(size.long_runs):
                for ref in lengths:
                    samples.setdefault(("warm", ref), []).append(_comment(desk, ref, ids))
                    task.advance()
        finally:
            desk.close()
        for _ in range(size.long_runs):
            for ref in lengths:
                fresh = open_desk(url, clock=clock)
                try:
                    fresh.policy()
                    samples.setdefault(("cold", ref), []).append(_comment(fresh, ref, ids))
                finally:
                    fresh.close()
                task.advance()
    label = f"{versions[LONG]:,} vs {versions[SHORT]:,} events, median of {size.long_runs}"
    goal = ratio_at_most(1.25, f"the {versions[SHORT]:,}-event ticket")
    titles = {
        "warm": "comment on a long ticket, the desk holding it",
        "cold": "comment on a long ticket, first command of a fresh desk",
    }
    return [
        Record(
            f"commands.long_ticket.{mode}",
            title,
            "ms",
            statistics.median(samples[(mode, LONG)]) * 1000,
            statistics.median(samples[(mode, SHORT)]) * 1000,
            f"{versions[SHORT]:,}-event ticket",
            goal,
            size=label,
            details={"versions": versions, "command_ids": "on every command"},
        )
        for mode, title in titles.items()
    ]


def _write(
    desk: Desk,
    ref: str,
    length: int,
    *,
    ids: Iterator[str],
    clock: SimulatedClock,
    advance: Callable[[int], None],
) -> None:
    """Open ``ref`` and grow it to about ``length`` events, one command per transaction."""
    version = desk.execute(
        "open", {"ref": ref, **OPEN}, actor="alice", command_id=next(ids)
    ).version
    step = 0
    while version < length:
        clock.advance(timedelta(minutes=3))
        step += 1
        if step % 10 == 0 and version + 2 <= length:
            hold = {"ref": ref, "reason": "awaiting_caller", "comment": "Any news?"}
            desk.execute("hold", hold, actor="alice", command_id=next(ids))
            result = desk.execute("resume", {"ref": ref}, actor="alice", command_id=next(ids))
        else:
            result = desk.execute(
                "comment", {"ref": ref, **COMMENT}, actor="alice", command_id=next(ids)
            )
        advance(result.version - version)
        version = result.version


def _comment(desk: Desk, ref: str, ids: Iterator[str]) -> float:
    began = time.perf_counter()
    desk.execute("comment", {"ref": ref, **COMMENT}, actor="alice", command_id=next(ids))
    return time.perf_counter() - began
