"""The desk report (SPEC §10): volume, backlog, SLA adherence, MTTA, MTTR, FCR and friends.

A pure function over the facts the tickets view keeps (:class:`ReportTicket`,
:class:`ReportTimer`), already taken as of the report's instant *T*. See ``docs/reports.md``
for every definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportTicket:
    """One ticket as of the report's instant T (the row of its last event at or before T)."""

    ref: str
    state: str  # new, in_progress, on_hold, resolved, closed, canceled
    priority: int  # 1..5
    channel: str | None
    category: str | None
    assignment_group: str | None  # the group as of T
    opened_at: datetime
    responded_at: datetime | None  # first left new for in_progress, on_hold or resolved
    resolved_at: datetime | None  # the last resolution; None when not resolved/closed
    reassignment_count: int
    reopen_count: int
    escalation_count: int  # functional and hierarchical
    hold_count: int  # how many times it was put on hold
    resolved_group: str | None  # the group at the last resolution
    resolved_assignee: str | None  # the assignee at the last resolution


@dataclass(frozen=True)
class ReportTimer:
    """One SLA timer of a ticket, its stage as of T (canceled timers included)."""

    ref: str
    name: str
    stage: str  # in_progress, paused, achieved, breached, canceled


def compute_report(
    tickets: list[ReportTicket],
    timers: list[ReportTimer],
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    group: str | None = None,
) -> dict[str, object]:
    """The §10 report JSON for the period [period_from, period_to) as of ``as_of``."""
    raise NotImplementedError  # written by the report task
