"""How big each figure runs: ``--size tiny|small|default|large``.

``default`` is the issue's sizes (a 1,000,000-event log, 100,000 tickets, the 60k import) and
finishes in under ten minutes on two cores; ``small`` is for trying changes out; ``tiny`` only
checks that the plumbing works (the tests use it); ``large`` runs longer for steadier numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    commands: int  # commands per kind per round (figure 1)
    command_rounds: int  # DeskLedger and bare alternate this many times; the best counts
    import_copies: int  # copies of the 6k file in the synthetic file (figure 2)
    import_rounds: int  # of the 6k file; the synthetic one is imported once
    log_small: int  # events: the small store of figure 8
    log_mid: int  # events: the second size of figure 4's memory
    log_full: int  # events: the log of figures 3, 4, 5 (queue, report) and 8
    sla_tickets: int  # figure 5
    sla_rounds: int
    relay_events: int  # figure 6
    relay_rounds: int
    latency_seconds: float
    latency_rate: float
    cli_runs: int  # figure 7
    query_runs: int  # figures 5 and 8
    calendar_calls: int
    long_ticket: int  # events of the long ticket (figure 1, long tickets)
    long_runs: int


SIZES = {
    "tiny": Size(
        "tiny", commands=20, command_rounds=1, import_copies=0, import_rounds=1,
        log_small=500, log_mid=1_000, log_full=2_000, sla_tickets=300, sla_rounds=1,
        relay_events=300, relay_rounds=1, latency_seconds=1, latency_rate=100,
        cli_runs=2, query_runs=3, calendar_calls=50, long_ticket=250, long_runs=3,
    ),
    "small": Size(
        "small", commands=300, command_rounds=2, import_copies=2, import_rounds=1,
        log_small=5_000, log_mid=20_000, log_full=50_000, sla_tickets=10_000, sla_rounds=2,
        relay_events=5_000, relay_rounds=2, latency_seconds=3, latency_rate=500,
        cli_runs=5, query_runs=10, calendar_calls=500, long_ticket=1_050, long_runs=10,
    ),
    "default": Size(
        "default", commands=1_000, command_rounds=2, import_copies=10, import_rounds=2,
        log_small=10_000, log_mid=100_000, log_full=1_000_000, sla_tickets=100_000,
        sla_rounds=3, relay_events=50_000, relay_rounds=2, latency_seconds=10,
        latency_rate=500, cli_runs=10, query_runs=20, calendar_calls=2_000,
        long_ticket=1_050, long_runs=25,
    ),
    "large": Size(
        "large", commands=5_000, command_rounds=3, import_copies=10, import_rounds=3,
        log_small=10_000, log_mid=1_000_000, log_full=3_000_000, sla_tickets=100_000,
        sla_rounds=5, relay_events=100_000, relay_rounds=3, latency_seconds=30,
        latency_rate=500, cli_runs=20, query_runs=50, calendar_calls=5_000,
        long_ticket=2_050, long_runs=40,
    ),
}  # fmt: skip
