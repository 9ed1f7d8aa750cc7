"""Benchmark: evaluate every SLA timer of 100,000 open tickets at one instant.

Tickets are built in memory through the domain (no store), half on a 24x7 calendar and half
on the Berlin office calendar with holidays, with a mix of states (new, in progress, on hold
pausing and not pausing, reopened). Prints a table and writes bench/results/sla.json.
Target (issue #3): under 2 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track
from rich.table import Table

from bench.bench_calendar import OFFICE
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


def build(count: int, seed: int = 7) -> list[Ticket]:
    policy = parse_policy(POLICY)
    rng = random.Random(seed)
    tickets = []
    for index in track(range(count), description="building tickets", transient=True):
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
                ticket.start_timer(stamp(at), definition, policy_version=1)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    policy = parse_policy(POLICY)
    calendars = {n: BusinessCalendar.from_mapping(m, name=n) for n, m in policy.calendars.items()}
    tickets = build(args.tickets)
    timers = sum(len(t.sla_timers) for t in tickets)
    at = START + timedelta(days=330)
    runs = []
    stages: dict[str, int] = {}
    for _ in range(args.repeat):
        began = time.perf_counter()
        stages = {}
        for ticket in tickets:
            for timer in ticket.sla_timers:
                status = evaluate(
                    timer, ticket.phases, calendars[timer.calendar], at, with_warnings=False
                )
                stages[status.stage] = stages.get(status.stage, 0) + 1
        runs.append(time.perf_counter() - began)
    result = {
        "benchmark": "sla.evaluate_all",
        "tickets": args.tickets,
        "timers": timers,
        "seconds_min": min(runs),
        "seconds_median": statistics.median(runs),
        "per_timer_us": min(runs) / timers * 1e6,
        "target_seconds": 2.0,
        "stages": stages,
    }
    table = Table(title="SLA evaluation at one instant")
    for column in ("tickets", "timers", "best (s)", "median (s)", "µs/timer", "target"):
        table.add_column(column)
    table.add_row(
        f"{args.tickets:,}",
        f"{timers:,}",
        f"{min(runs):.3f}",
        f"{statistics.median(runs):.3f}",
        f"{result['per_timer_us']:.1f}",
        "< 2 s",
    )
    console.print(table)
    console.print(f"stages: {stages}")
    out = Path(__file__).parent / "results" / "sla.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
