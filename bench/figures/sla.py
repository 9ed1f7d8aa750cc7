"""Figure 5: evaluate every SLA timer of 100,000 open tickets at one instant.

Tickets are built in memory through the domain (no store), half on a 24x7 calendar and half
on the Berlin office calendar with holidays, with a mix of states (new, in progress, on hold
pausing and not pausing, reopened); then every timer is evaluated at one instant,
``sla_rounds`` times (the best counts). Goal: under 2 s.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.context import Context
from bench.figures.calendar import OFFICE
from bench.records import Record, below
from engine.calendar import BusinessCalendar
from engine.chain import Stamp
from engine.policy import parse_policy
from engine.sla import evaluate
from engine.ticket import Ticket

POLICY: dict[str, Any] = {
    "calendars": {
        "office": OFFICE,  # the calendar benchmark's Berlin office hours and holidays
    },
    "slas": [
        {"name": "Response", "kind": "response", "target": "30m"},
        {
            "name": "P1",
            "kind": "resolution",
            "applies_to": {"priority": [1, 2]},
            "target": "4h",
            "pause_on": ["awaiting_caller"],
        },
        {
            "name": "P3",
            "kind": "resolution",
            "applies_to": {"priority": [3, 4, 5]},
            "target": "3d",
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
    ],
}
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def build(count: int, seed: int = 7, progress: Callable[[int], None] | None = None) -> list[Ticket]:
    policy = parse_policy(POLICY)
    rng = random.Random(seed)
    tickets = []
    for index in range(count):
        if progress is not None and index % 1000 == 999:
            progress(1000)
        at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        impact, urgency = rng.randint(1, 3), rng.randint(1, 3)

        def stamp(when: datetime) -> Stamp:
            return Stamp(occurred_at=when, actor="bench", recorded_at=when)

        ticket = Ticket.open(
            stamp(at),
            ref=f"INC{index:07d}",
            kind="incident",
            title="t",
            caller="c",
            impact=impact,
            urgency=urgency,
            priority=policy.priority(impact, urgency),
            policy_version=1,
        )
        for definition in policy.slas:
            if definition.applies(
                ticket_kind="incident", priority=ticket.priority, category=None, group=None
            ):
                ticket.start_timer(stamp(at), definition.terms, policy_version=1)
        roll = rng.random()
        if roll > 0.2:
            at += timedelta(minutes=rng.randrange(1, 90))
            ticket.start(stamp(at))
        if roll > 0.5:
            at += timedelta(hours=rng.randrange(1, 30))
            reason = rng.choice(["awaiting_caller", "awaiting_vendor"])
            ticket.hold(stamp(at), reason=reason, comment="?")
        if roll > 0.8:
            at += timedelta(hours=rng.randrange(1, 30))
            ticket.resume(stamp(at))
        tickets.append(ticket)
    return tickets


def run(context: Context) -> list[Record]:
    count, rounds = context.size.sla_tickets, context.size.sla_rounds
    policy = parse_policy(POLICY)
    calendars = {n: BusinessCalendar.from_mapping(m, name=n) for n, m in policy.calendars.items()}
    with context.progress.task("building open tickets in memory", total=count) as task:
        tickets = build(count, progress=task.advance)
    timers = sum(len(t.sla_timers) for t in tickets)
    at = START + timedelta(days=330)
    runs = []
    stages: dict[str, int] = {}
    with context.progress.task("evaluating every timer", total=rounds) as task:
        for _ in range(rounds):
            began = time.perf_counter()
            stages = {}
            for ticket in tickets:
                for timer in ticket.sla_timers:
                    status = evaluate(
                        timer, ticket.phases, calendars[timer.calendar], at, with_warnings=False
                    )
                    stages[status.stage] = stages.get(status.stage, 0) + 1
            runs.append(time.perf_counter() - began)
            task.advance()
    return [
        Record(
            "sla.evaluate",
            "SLA evaluation of every open ticket's timers",
            "s",
            min(runs),
            goal=below(2, "s"),
            size=f"{count:,} tickets, {timers:,} timers, best of {rounds}",
            details={
                "median_seconds": round(statistics.median(runs), 3),
                "per_timer_us": round(min(runs) / timers * 1e6, 2),
                "stages": stages,
            },
        )
    ]
