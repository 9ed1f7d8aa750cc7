"""Figures 5 (``queue``, ``report``) and 8 (single-ticket reads on a big and a small store),
through :class:`projections.queries.Queries` after the views caught up with the log.

Each query runs once to warm up, then ``query_runs`` times (a slow one stops after five
seconds; one slower than that is timed once); the median counts. Every call includes the
query layer's own catch-up check (nothing to apply, but it asks). ``report`` runs as the
CLI's default (the 30 days before now: tickets opened or resolved then, and every open one)
and over the whole generated history (every ticket in its population). Figure 8 reads one
ordinary ticket (``show``, ``sla``, ``audit``) and the timeline of a major incident with its
children, on the full log and on the small one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from adapters.bootstrap import open_desk
from bench.context import Context
from bench.logs import GeneratedLog
from bench.records import Record, below, ratio_at_most
from projections.queries import Queries
from projections.views import open_views

QUERY_GOAL = below(200, "ms")
SCALE = 1.5
BUDGET = 5.0  # seconds of repeated calls per query at most (after three)


@contextmanager
def caught_up(context: Context, log: GeneratedLog) -> Iterator[Queries]:
    """Queries over ``log``'s views, caught up first (a rebuild, if no figure did it yet)."""
    desk = open_desk(log.url, clock=log.clock())
    try:
        views = open_views(desk)
        with context.progress.task(f"views catch up ({log.label()})", total=log.events) as task:
            views.catch_up(progress=lambda done, _: task.update(done))
        yield Queries(views)
    finally:
        desk.close()


def median_ms(
    call: Callable[[], Any], runs: int, budget: float = BUDGET
) -> tuple[float, list[float]]:
    """Median milliseconds of ``runs`` calls after a warm-up one. A slow query stops early,
    once ``budget`` seconds are spent; one slower than the budget is timed once (its warm-up
    call), since it misses any goal by far."""
    began = time.perf_counter()
    call()
    warm_up = time.perf_counter() - began
    if warm_up > budget:
        return warm_up * 1000, [warm_up * 1000]
    samples: list[float] = []
    spent = 0.0
    while len(samples) < runs and (len(samples) < 1 or spent < budget):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
        spent += samples[-1] / 1000
    return statistics.median(samples), samples


def queue_and_report(context: Context) -> list[Record]:
    log = context.logs.get("full")
    runs = context.size.query_runs
    records = []
    with caught_up(context, log) as queries:
        open_count = len(queries.queue())
        cases: list[tuple[str, str, Callable[[], Any]]] = [
            ("queries.queue", "queue(limit=50)", lambda: queries.queue(limit=50)),
            ("queries.report_30d", "report() (the last 30 days)", queries.report),
            (
                "queries.report",
                "report() over the whole history",
                lambda: queries.report(period_from=log.first_opened_at, period_to=log.now),
            ),
        ]
        with context.progress.task("queue and report", total=len(cases)) as task:
            for figure, title, call in cases:
                median, samples = median_ms(call, runs)
                records.append(
                    Record(
                        figure,
                        title,
                        "ms",
                        median,
                        goal=QUERY_GOAL,
                        size=f"{log.tickets:,} tickets ({open_count:,} open), "
                        f"median of {len(samples)}",
                        details={
                            "min_ms": round(min(samples), 2),
                            "max_ms": round(max(samples), 2),
                        },
                    )
                )
                task.advance()
    return records


def _reads(queries: Queries, log: GeneratedLog) -> dict[str, Callable[[], Any]]:
    return {
        "show": lambda: queries.ticket(log.sample_ref),
        "sla": lambda: queries.sla(log.sample_ref),
        "audit": lambda: queries.audit(log.sample_ref),
        "timeline": lambda: queries.timeline(log.major_ref),
    }


def reads(context: Context) -> list[Record]:
    runs = context.size.query_runs
    measured: dict[str, dict[str, float]] = {}
    logs = {stage: context.logs.get(stage) for stage in ("small", "full")}
    for stage, log in logs.items():
        with caught_up(context, log) as queries:
            calls = _reads(queries, log)
            with context.progress.task(f"reads on the {stage} store", total=len(calls)) as task:
                for name, call in calls.items():
                    measured.setdefault(name, {})[stage] = median_ms(call, runs)[0]
                    task.advance()
    small, full = logs["small"], logs["full"]
    return [
        Record(
            f"reads.{name}",
            f"{name} {full.major_ref if name == 'timeline' else full.sample_ref} via Queries",
            "ms",
            times["full"],
            times["small"],
            f"{small.events:,}-event store",
            ratio_at_most(SCALE, "the small store"),
            size=f"{full.events:,} events, median of {runs}",
        )
        for name, times in measured.items()
    ]
