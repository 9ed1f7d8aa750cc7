"""Every figure of the suite, in the order of the performance issue (extras last).

``python -m bench --only NAME...`` takes the names below.
"""

from __future__ import annotations

from bench.figures import (
    calendar,
    cli,
    commands,
    imports,
    lag,
    logread,
    long_tickets,
    queries,
    relay,
    sla,
)
from bench.figures import verify_export as standalone
from bench.suite import Figure

FIGURES: tuple[Figure, ...] = (
    Figure("commands", "1", "commands/s, one command per transaction", commands.run,
           postgres=True),
    Figure("long-tickets", "1", "a command on a long ticket vs a short one", long_tickets.run),
    Figure("import", "2", "ServiceNow import rows/s", imports.run),
    Figure("rebuild", "3", "projection rebuild events/s and peak memory", logread.rebuild,
           log_stages=("full",)),
    Figure("verify", "4", "verify events/s and memory at two log sizes", logread.verify,
           log_stages=("mid", "full")),
    Figure("export", "4", "export events/s and memory at two log sizes", logread.export,
           log_stages=("mid", "full")),
    Figure("sla", "5", "SLA evaluation of every open ticket", sla.run),
    Figure("queries", "5", "queue and report after catch-up", queries.queue_and_report,
           log_stages=("full",)),
    Figure("relay", "6", "relay events/s and latency", relay.run),
    Figure("cli", "7", "CLI wall time", cli.run, log_stages=("small",)),
    Figure("reads", "8", "single-ticket reads, big store vs small", queries.reads,
           log_stages=("small", "full")),
    Figure("lag", "9", "projection lag behind commands on PostgreSQL", lag.run, postgres=True),
    Figure("calendar", "-", "business-calendar arithmetic", calendar.run),
    Figure("standalone-verify", "-", "tools/verify_export.py on an export", standalone.run,
           log_stages=("mid",)),
)  # fmt: skip

__all__ = ["FIGURES"]
