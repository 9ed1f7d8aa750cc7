"""The desk report (docs/reports.md): every figure worked out by hand, its edge cases and
properties.

The worked example is one desk week: the period is Monday 2 March 2026 00:00 UTC to Friday
6 March 00:00 (end excluded) and the report is taken as of Friday 12:00 (T). Every expected
figure is written out literally, with how it was counted.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import CommandValidationError
from projections.report import ReportTicket, ReportTimer, compute_report

FROM = datetime(2026, 3, 2, tzinfo=UTC)
TO = datetime(2026, 3, 6, tzinfo=UTC)
T = datetime(2026, 3, 6, 12, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 3) -> datetime:
    """An instant of 2026 in UTC (March unless told)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ticket(
    ref: str,
    *,
    opened_at: datetime,
    state: str = "in_progress",
    priority: int = 4,
    channel: str | None = "phone",
    category: str | None = "access",
    group: str | None = "service-desk",
    responded_at: datetime | None = None,
    resolved_at: datetime | None = None,
    reassignments: int = 0,
    reopens: int = 0,
    escalations: int = 0,
    holds: int = 0,
    resolved_group: str | None = None,
    resolved_assignee: str | None = None,
) -> ReportTicket:
    """A ticket row as of T, with quiet defaults for what a test does not care about."""
    return ReportTicket(
        ref=ref,
        state=state,
        priority=priority,
        channel=channel,
        category=category,
        assignment_group=group,
        opened_at=opened_at,
        responded_at=responded_at,
        resolved_at=resolved_at,
        reassignment_count=reassignments,
        reopen_count=reopens,
        escalation_count=escalations,
        hold_count=holds,
        resolved_group=resolved_group,
        resolved_assignee=resolved_assignee,
    )


def report(
    tickets: list[ReportTicket],
    timers: list[ReportTimer] | None = None,
    *,
    period_from: datetime = FROM,
    period_to: datetime = TO,
    as_of: datetime = T,
    group: str | None = None,
) -> dict[str, object]:
    return compute_report(
        tickets,
        timers or [],
        period_from=period_from,
        period_to=period_to,
        as_of=as_of,
        group=group,
    )


def figure(result: dict[str, object], *path: str) -> Any:
    """``result[path[0]][path[1]]...``: one figure of a report, any JSON value."""
    value: Any = result
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    return value


# --- the worked example --------------------------------------------------------------------

DESK_WEEK = [
    # First-contact resolution by phone: answered in 10 min, resolved in 40 min.
    ticket(
        "INC001",
        state="resolved",
        priority=4,
        channel="phone",
        category="access",
        opened_at=at(2, 9),
        responded_at=at(2, 9, 10),
        resolved_at=at(2, 9, 40),
        resolved_group="service-desk",
        resolved_assignee="ana",
    ),
    # Password reset solved by the virtual agent, nobody assigned; since closed.
    ticket(
        "INC002",
        state="closed",
        priority=4,
        channel="virtual_agent",
        category="access",
        opened_at=at(2, 10),
        responded_at=at(2, 10, 5),
        resolved_at=at(2, 10, 30),
        resolved_group="service-desk",
        resolved_assignee=None,
    ),
    # Mailbox problem resolved, reopened by the caller, resolved again two days after opening.
    ticket(
        "INC003",
        state="closed",
        priority=3,
        channel="email",
        category="email",
        opened_at=at(2, 14),
        responded_at=at(2, 14, 30),
        resolved_at=at(4, 14),
        reopens=1,
        resolved_group="service-desk",
        resolved_assignee="ben",
    ),
    # Monitoring alert raised from P3 to P2, passed twice before network fixed it.
    ticket(
        "INC004",
        state="resolved",
        priority=2,
        channel="monitoring",
        category="network",
        group="network",
        opened_at=at(3, 8),
        responded_at=at(3, 8, 15),
        resolved_at=at(3, 20),
        reassignments=2,
        resolved_group="network",
        resolved_assignee="chloe",
    ),
    # P1 outage: functional escalation to network (one reassignment) and a hierarchical one.
    ticket(
        "INC005",
        state="resolved",
        priority=1,
        channel="phone",
        category="network",
        group="network",
        opened_at=at(3, 9),
        responded_at=at(3, 9, 5),
        resolved_at=at(3, 13),
        reassignments=1,
        escalations=2,
        resolved_group="network",
        resolved_assignee="dev",
    ),
    # Laptop fault held awaiting the caller, resolved a day later by the service desk; then
    # handed to network for a follow-up check, so its group as of T is network.
    ticket(
        "INC006",
        state="resolved",
        priority=4,
        channel="portal",
        category="hardware",
        group="network",
        opened_at=at(4, 9),
        responded_at=at(4, 9, 30),
        resolved_at=at(5, 9),
        holds=1,
        resolved_group="service-desk",
        resolved_assignee="ben",
    ),
    # Opened the Friday before the period, reassigned to apps, resolved on Monday 10:00.
    ticket(
        "INC007",
        state="resolved",
        priority=3,
        channel="email",
        category="software",
        group="apps",
        opened_at=at(27, 10, month=2),
        responded_at=at(27, 11, month=2),
        resolved_at=at(2, 10),
        reassignments=1,
        resolved_group="apps",
        resolved_assignee="dev",
    ),
    # Licence request canceled while still new: opened, never responded, never resolved.
    ticket(
        "INC008",
        state="canceled",
        priority=4,
        channel="portal",
        category="software",
        opened_at=at(4, 11),
    ),
    # Moved to apps and still being worked at T (it will be resolved after T: not resolved).
    ticket(
        "INC009",
        state="in_progress",
        priority=3,
        channel="email",
        category="email",
        group="apps",
        opened_at=at(5, 8),
        responded_at=at(5, 9),
        reassignments=1,
    ),
    # On hold awaiting the caller at T.
    ticket(
        "INC010",
        state="on_hold",
        priority=4,
        channel="phone",
        category="hardware",
        opened_at=at(5, 16),
        responded_at=at(5, 16, 20),
        holds=1,
    ),
    # Late-evening chat nobody has picked up yet; no category chosen.
    ticket(
        "INC011",
        state="new",
        priority=3,
        channel="chat",
        category=None,
        opened_at=at(5, 23),
    ),
    # Old backlog: opened on 1 February, reassigned three times and escalated once.
    ticket(
        "INC012",
        state="in_progress",
        priority=4,
        channel="email",
        category="software",
        group="apps",
        opened_at=at(1, 10, month=2),
        responded_at=at(1, 12, month=2),
        reassignments=3,
        escalations=1,
    ),
    # Opened before the period, on hold awaiting a vendor twice.
    ticket(
        "INC013",
        state="on_hold",
        priority=3,
        channel="chat",
        category="access",
        group="network",
        opened_at=at(25, 12, month=2),
        responded_at=at(25, 13, month=2),
        holds=2,
    ),
    # Opened after the period ended but before T: in the backlog, not in "opened".
    ticket(
        "INC014",
        state="new",
        priority=2,
        channel="monitoring",
        category="network",
        group="network",
        opened_at=at(6, 8),
    ),
    # Opened in the period, reassigned once, resolved on Friday 10:00: after the period, before T.
    ticket(
        "INC015",
        state="resolved",
        priority=4,
        channel="portal",
        category="access",
        opened_at=at(5, 10),
        responded_at=at(5, 10, 30),
        resolved_at=at(6, 10),
        reassignments=1,
        resolved_group="service-desk",
        resolved_assignee="ana",
    ),
    # Open for four days; its manager was alerted (hierarchical escalation), no move.
    ticket(
        "INC016",
        state="in_progress",
        priority=3,
        channel="phone",
        category="email",
        opened_at=at(2, 12),
        responded_at=at(2, 12, 10),
        escalations=1,
    ),
]

RESPONSE, HIGH, NORMAL = "Response", "P1-P2 resolution", "P3-P5 resolution"
DESK_WEEK_TIMERS = [
    ReportTimer("INC001", RESPONSE, "achieved"),
    ReportTimer("INC001", NORMAL, "achieved"),
    ReportTimer("INC002", RESPONSE, "achieved"),
    ReportTimer("INC002", NORMAL, "achieved"),
    ReportTimer("INC003", RESPONSE, "achieved"),
    ReportTimer("INC003", NORMAL, "breached"),
    ReportTimer("INC004", RESPONSE, "achieved"),
    ReportTimer("INC004", NORMAL, "canceled"),  # re-targeted away by the upgrade to P2
    ReportTimer("INC004", HIGH, "achieved"),
    ReportTimer("INC005", RESPONSE, "achieved"),
    ReportTimer("INC005", HIGH, "achieved"),
    ReportTimer("INC006", RESPONSE, "achieved"),
    ReportTimer("INC006", NORMAL, "achieved"),
    ReportTimer("INC007", RESPONSE, "achieved"),  # not opened in the period
    ReportTimer("INC007", NORMAL, "breached"),  # not opened in the period
    ReportTimer("INC008", RESPONSE, "canceled"),
    ReportTimer("INC008", NORMAL, "canceled"),
    ReportTimer("INC009", RESPONSE, "breached"),
    ReportTimer("INC009", NORMAL, "in_progress"),
    ReportTimer("INC010", RESPONSE, "achieved"),
    ReportTimer("INC010", NORMAL, "paused"),
    ReportTimer("INC011", RESPONSE, "in_progress"),
    ReportTimer("INC011", NORMAL, "in_progress"),
    ReportTimer("INC012", NORMAL, "breached"),  # not opened in the period
    ReportTimer("INC013", NORMAL, "paused"),  # not opened in the period
    ReportTimer("INC014", RESPONSE, "in_progress"),  # opened after the period
    ReportTimer("INC014", HIGH, "in_progress"),  # opened after the period
    ReportTimer("INC015", RESPONSE, "achieved"),
    ReportTimer("INC015", NORMAL, "achieved"),
    ReportTimer("INC016", RESPONSE, "achieved"),
    ReportTimer("INC016", NORMAL, "breached"),
]


def test_desk_week_report_gives_every_figure_as_worked_out_by_hand() -> None:
    """A realistic week: each §10 figure equals the value counted by hand from the tickets."""
    # Populations (T = Fri 6 March 12:00):
    #   opened   = opened_at in [Mon 2 March, Fri 6 March): 001 002 003 004 005 006 008 009 010
    #              011 015 016 (12); not 007, 012, 013 (before) nor 014 (Fri 08:00, after).
    #   resolved = resolved/closed with resolved_at in the period: 001 002 003 004 005 006 007
    #              (7); not 015 (resolved Fri 10:00, after the period).
    #   open     = new/in_progress/on_hold: 009 010 011 012 013 014 016 (7).
    expected = {
        "period": {
            "from": "2026-03-02T00:00:00+00:00",
            "to": "2026-03-06T00:00:00+00:00",
            "as_of": "2026-03-06T12:00:00+00:00",
            "group": None,
        },
        "volume": {
            "opened": 12,
            "resolved": 7,
            # Mon: 001 002 003 016; Tue: 004 005; Wed: 006 008; Thu: 009 010 011 015.
            "opened_by_day": {
                "2026-03-02": 4,
                "2026-03-03": 2,
                "2026-03-04": 2,
                "2026-03-05": 4,
            },
            # P1: 005; P2: 004; P3: 003 009 011 016; P4: 001 002 006 008 010 015; no P5.
            "opened_by_priority": {"1": 1, "2": 1, "3": 4, "4": 6},
            # chat 011; email 003 009; monitoring 004; phone 001 005 010 016;
            # portal 006 008 015; virtual_agent 002; nobody walked in.
            "opened_by_channel": {
                "chat": 1,
                "email": 2,
                "monitoring": 1,
                "phone": 4,
                "portal": 3,
                "virtual_agent": 1,
            },
            # (none) 011; access 001 002 015; email 003 009 016; hardware 006 010;
            # network 004 005; software 008.
            "opened_by_category": {
                "(none)": 1,
                "access": 3,
                "email": 3,
                "hardware": 2,
                "network": 2,
                "software": 1,
            },
        },
        "backlog": {
            "open": 7,
            # Ages at T: 014 4h, 011 13h, 010 20h -> <1d; 009 28h -> 1-3d; 016 4d -> 3-7d;
            # 013 9d -> 7-30d; 012 33d 2h -> >30d.
            "aging": {"<1d": 3, "1-3d": 1, "3-7d": 1, "7-30d": 1, ">30d": 1},
        },
        "sla": {
            # Over opened tickets only (007 012 013 014 left out), canceled timers skipped:
            # P1-P2 resolution: 004 and 005 achieved.
            HIGH: {"achieved": 2, "breached": 0, "running": 0, "adherence": 1.0},
            # P3-P5: achieved 001 002 006 015; breached 003 016; running 009 011
            # (in_progress) and 010 (paused); 004 and 008 canceled.
            NORMAL: {"achieved": 4, "breached": 2, "running": 3, "adherence": 4 / 6},
            # Response: achieved 001-006 010 015 016 (9); breached 009; running 011;
            # 008 canceled.
            RESPONSE: {"achieved": 9, "breached": 1, "running": 1, "adherence": 9 / 10},
        },
        # Response times of the 10 opened tickets that responded (not 008, 011), in seconds:
        # 600 300 1800 900 300 1800 3600 1200 1800 600 -> sum 12900, mean 1290;
        # sorted 300 300 600 600 900 | 1200 1800 1800 1800 3600 -> median (900+1200)/2.
        "mtta_seconds": {"mean": 1290.0, "median": 1050.0},
        # Resolve times: 001 2400, 002 1800, 003 172800, 004 43200, 005 14400, 006 86400,
        # 007 259200 (Fri 27 Feb 10:00 -> Mon 2 March 10:00) -> sum 580200 over 7;
        # sorted 1800 2400 14400 | 43200 | 86400 172800 259200 -> median 43200.
        "mttr_seconds": {"mean": 580200 / 7, "median": 43200.0},
        # FCR: 001 and 002 (003 reopened, 004 005 007 reassigned, 006 held) -> 2/7.
        "fcr_rate": 2 / 7,
        # Reopened: 003 -> 1/7.
        "reopen_rate": 1 / 7,
        # Reassigned: 004 005 007 -> 3/7; reassignments 2 + 1 + 1 = 4 over 7.
        "reassignment_rate": 3 / 7,
        "mean_reassignments": 4 / 7,
        # Group at resolution: apps 007; network 004 (43200) 005 (14400);
        # service-desk 001 (2400) 002 (1800) 003 (172800) 006 (86400), median (2400+86400)/2.
        "by_group": {
            "apps": {"resolved": 1, "median_resolve_seconds": 259200.0},
            "network": {"resolved": 2, "median_resolve_seconds": 28800.0},
            "service-desk": {"resolved": 4, "median_resolve_seconds": 44400.0},
        },
        # (none) 002; ana 001; ben 003 (172800) 006 (86400); chloe 004; dev 005 (14400)
        # 007 (259200).
        "by_assignee": {
            "(none)": {"resolved": 1, "median_resolve_seconds": 1800.0},
            "ana": {"resolved": 1, "median_resolve_seconds": 2400.0},
            "ben": {"resolved": 2, "median_resolve_seconds": 129600.0},
            "chloe": {"resolved": 1, "median_resolve_seconds": 43200.0},
            "dev": {"resolved": 2, "median_resolve_seconds": 136800.0},
        },
        # Over opened tickets (012's escalation and reassignments, 007's reassignment are
        # outside): escalations network 2 (005), email 1 (016); reassignments network
        # 2 + 1 (004, 005), then access 1 (015) and email 1 (009) tied, by name.
        "top_categories": {
            "escalations": [["network", 2], ["email", 1]],
            "reassignments": [["network", 3], ["access", 1], ["email", 1]],
        },
    }

    assert expected == report(DESK_WEEK, DESK_WEEK_TIMERS)


def test_group_filter_keeps_the_tickets_whose_group_as_of_t_is_the_group() -> None:
    """--group network: every population, and their timers, holds only network's tickets."""
    # Group as of T is network: 004 005 006 (006 was handed over after its resolution),
    # 013 and 014. opened: 004 005 006; resolved: 004 005 006; open: 013 014.
    expected = {
        "period": {
            "from": "2026-03-02T00:00:00+00:00",
            "to": "2026-03-06T00:00:00+00:00",
            "as_of": "2026-03-06T12:00:00+00:00",
            "group": "network",
        },
        "volume": {
            "opened": 3,
            "resolved": 3,
            "opened_by_day": {"2026-03-03": 2, "2026-03-04": 1},  # 004 005; 006
            "opened_by_priority": {"1": 1, "2": 1, "4": 1},  # 005; 004; 006
            "opened_by_channel": {"monitoring": 1, "phone": 1, "portal": 1},
            "opened_by_category": {"hardware": 1, "network": 2},
        },
        # 014 is 4h old; 013 is 9 days old.
        "backlog": {"open": 2, "aging": {"<1d": 1, "1-3d": 0, "3-7d": 0, "7-30d": 1, ">30d": 0}},
        "sla": {
            HIGH: {"achieved": 2, "breached": 0, "running": 0, "adherence": 1.0},  # 004 005
            NORMAL: {"achieved": 1, "breached": 0, "running": 0, "adherence": 1.0},  # 006
            RESPONSE: {"achieved": 3, "breached": 0, "running": 0, "adherence": 1.0},
        },
        # 900, 300, 1800 -> mean 1000, median 900.
        "mtta_seconds": {"mean": 1000.0, "median": 900.0},
        # 43200, 14400, 86400 -> mean 48000, median 43200.
        "mttr_seconds": {"mean": 48000.0, "median": 43200.0},
        "fcr_rate": 0.0,  # 004 and 005 reassigned, 006 held
        "reopen_rate": 0.0,
        "reassignment_rate": 2 / 3,  # 004 005
        "mean_reassignments": 1.0,  # (2 + 1 + 0) / 3
        # by_group is the group at resolution: 006 was resolved by the service desk.
        "by_group": {
            "network": {"resolved": 2, "median_resolve_seconds": 28800.0},
            "service-desk": {"resolved": 1, "median_resolve_seconds": 86400.0},
        },
        "by_assignee": {
            "ben": {"resolved": 1, "median_resolve_seconds": 86400.0},
            "chloe": {"resolved": 1, "median_resolve_seconds": 43200.0},
            "dev": {"resolved": 1, "median_resolve_seconds": 14400.0},
        },
        "top_categories": {
            "escalations": [["network", 2]],
            "reassignments": [["network", 3]],
        },
    }

    assert expected == report(DESK_WEEK, DESK_WEEK_TIMERS, group="network")


def test_group_filter_never_matches_tickets_without_a_group() -> None:
    """A ticket with no group is in no group's report, not even one asked for "(none)"."""
    tickets = [ticket("INC1", opened_at=at(2, 9), group=None)]

    assert 1 == figure(report(tickets), "volume", "opened")
    assert 0 == figure(report(tickets, group="(none)"), "volume", "opened")
    assert 0 == figure(report(tickets, group="service-desk"), "backlog", "open")


# --- empty input and the edges of the period -----------------------------------------------


def test_empty_store_gives_every_figure_with_zero_counts_and_null_rates() -> None:
    """No tickets: every key present, counts 0, maps empty, means, medians and rates null."""
    expected = {
        "period": {
            "from": "2026-03-02T00:00:00+00:00",
            "to": "2026-03-06T00:00:00+00:00",
            "as_of": "2026-03-06T12:00:00+00:00",
            "group": None,
        },
        "volume": {
            "opened": 0,
            "resolved": 0,
            "opened_by_day": {},
            "opened_by_priority": {},
            "opened_by_channel": {},
            "opened_by_category": {},
        },
        "backlog": {"open": 0, "aging": {"<1d": 0, "1-3d": 0, "3-7d": 0, "7-30d": 0, ">30d": 0}},
        "sla": {},
        "mtta_seconds": {"mean": None, "median": None},
        "mttr_seconds": {"mean": None, "median": None},
        "fcr_rate": None,
        "reopen_rate": None,
        "reassignment_rate": None,
        "mean_reassignments": None,
        "by_group": {},
        "by_assignee": {},
        "top_categories": {"escalations": [], "reassignments": []},
    }

    assert expected == report([], [])


def test_ticket_opened_at_period_from_counts_and_at_period_to_does_not() -> None:
    """The period is [from, to): opened exactly at from is opened, exactly at to is not."""
    tickets = [
        ticket("AT-FROM", opened_at=FROM),
        ticket("AT-TO", opened_at=TO),
        ticket("BEFORE-FROM", opened_at=FROM - timedelta(microseconds=1)),
    ]

    result = report(tickets)

    assert 1 == figure(result, "volume", "opened")
    assert {"2026-03-02": 1} == figure(result, "volume", "opened_by_day")


def test_ticket_resolved_at_period_from_counts_and_at_period_to_does_not() -> None:
    """A resolution exactly at from is in the period, one exactly at to is not."""
    tickets = [
        ticket("AT-FROM", state="resolved", opened_at=at(1), resolved_at=FROM),
        ticket("AT-TO", state="closed", opened_at=at(1), resolved_at=TO),
    ]

    result = report(tickets)

    assert 1 == figure(result, "volume", "resolved")
    # AT-FROM: 1 March 00:00 -> 2 March 00:00.
    assert {"mean": 86400.0, "median": 86400.0} == figure(result, "mttr_seconds")


def test_period_with_equal_bounds_is_empty_but_the_backlog_still_counts() -> None:
    """from == to opens and resolves nothing; open tickets are counted whatever the period."""
    tickets = [
        ticket("OPEN", opened_at=FROM),
        ticket("DONE", state="resolved", opened_at=FROM, resolved_at=FROM + timedelta(hours=1)),
    ]

    result = report(tickets, period_from=FROM, period_to=FROM)

    assert (0, 0, 1) == (
        figure(result, "volume", "opened"),
        figure(result, "volume", "resolved"),
        figure(result, "backlog", "open"),
    )


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        pytest.param(timedelta(0), "<1d", id="opened-at-T"),
        pytest.param(timedelta(days=1) - timedelta(microseconds=1), "<1d", id="just-under-1d"),
        pytest.param(timedelta(days=1), "1-3d", id="exactly-1d"),
        pytest.param(timedelta(days=3) - timedelta(microseconds=1), "1-3d", id="just-under-3d"),
        pytest.param(timedelta(days=3), "3-7d", id="exactly-3d"),
        pytest.param(timedelta(days=7) - timedelta(microseconds=1), "3-7d", id="just-under-7d"),
        pytest.param(timedelta(days=7), "7-30d", id="exactly-7d"),
        pytest.param(timedelta(days=30) - timedelta(microseconds=1), "7-30d", id="under-30d"),
        pytest.param(timedelta(days=30), ">30d", id="exactly-30d"),
        pytest.param(timedelta(days=400), ">30d", id="a-year-and-more"),
    ],
)
def test_aging_bucket_holds_its_lower_bound(age: timedelta, bucket: str) -> None:
    """An open ticket aged exactly 1, 3, 7 or 30 days falls in the bucket that starts there."""
    expected = dict.fromkeys(["<1d", "1-3d", "3-7d", "7-30d", ">30d"], 0) | {bucket: 1}

    result = report([ticket("INC1", state="on_hold", opened_at=T - age)])

    assert expected == figure(result, "backlog", "aging")


def test_backlog_counts_only_new_in_progress_and_on_hold() -> None:
    """Resolved, closed and canceled tickets are not open, whatever their age."""
    tickets = [
        ticket(f"INC-{state}", state=state, opened_at=at(3), resolved_at=None)
        for state in ["new", "in_progress", "on_hold", "resolved", "closed", "canceled"]
    ]

    assert 3 == figure(report(tickets), "backlog", "open")


# --- the figures' own rules ----------------------------------------------------------------


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    """Four resolve times 100, 200, 400, 1000 s: the median is (200 + 400) / 2 = 300 s."""
    tickets = [
        ticket(
            f"INC{n}",
            state="resolved",
            opened_at=at(3),
            resolved_at=at(3) + timedelta(seconds=seconds),
            resolved_group="service-desk",
        )
        for n, seconds in enumerate([1000, 100, 400, 200])
    ]

    result = report(tickets)

    assert {"mean": 425.0, "median": 300.0} == figure(result, "mttr_seconds")
    assert 300.0 == figure(result, "by_group", "service-desk", "median_resolve_seconds")


def test_durations_are_float_seconds_to_the_microsecond() -> None:
    """Seconds are wall-clock floats, not rounded: 1.5 s and 2.000001 s average 1.7500005 s."""
    tickets = [
        ticket("A", opened_at=at(3), responded_at=at(3) + timedelta(seconds=1.5)),
        ticket("B", opened_at=at(3), responded_at=at(3) + timedelta(seconds=2, microseconds=1)),
    ]

    assert {"mean": 1.7500005, "median": 1.7500005} == figure(report(tickets), "mtta_seconds")


@pytest.mark.parametrize("order", [[100, 200, 300], [300, 200, 100]], ids=["up", "down"])
def test_mean_is_the_float_nearest_the_exact_value_in_any_order(order: list[int]) -> None:
    """0.1 s, 0.2 s and 0.3 s average exactly 0.2 s, where float sums would drift by order."""
    tickets = [
        ticket(f"INC{ms}", opened_at=at(3), responded_at=at(3) + timedelta(milliseconds=ms))
        for ms in order
    ]

    assert {"mean": 0.2, "median": 0.2} == figure(report(tickets), "mtta_seconds")


def test_mtta_counts_every_opened_ticket_that_responded_whatever_its_state_now() -> None:
    """A ticket picked up then canceled responded; one canceled from new did not."""
    tickets = [
        ticket(
            "WORKED",
            state="canceled",
            opened_at=at(3, 9),
            responded_at=at(3, 9, 1),
        ),
        ticket("NEVER", state="canceled", opened_at=at(3, 9)),
    ]

    assert {"mean": 60.0, "median": 60.0} == figure(report(tickets), "mtta_seconds")


def test_first_contact_resolution_excludes_any_reassignment_escalation_hold_or_reopen() -> None:
    """Only a ticket resolved with no reassignment, escalation, hold or reopen is FCR."""

    def resolved(
        ref: str, reassignments: int = 0, escalations: int = 0, holds: int = 0, reopens: int = 0
    ) -> ReportTicket:
        return ticket(
            ref,
            state="resolved",
            opened_at=at(3, 9),
            resolved_at=at(3, 10),
            reassignments=reassignments,
            escalations=escalations,
            holds=holds,
            reopens=reopens,
        )

    tickets = [
        resolved("CLEAN"),
        resolved("MOVED", reassignments=1),
        resolved("ESCALATED", escalations=1),
        resolved("HELD", holds=1),
        resolved("REOPENED", reopens=2),
    ]

    result = report(tickets)

    assert (1 / 5, 1 / 5, 1 / 5, 1 / 5) == (
        figure(result, "fcr_rate"),
        figure(result, "reopen_rate"),
        figure(result, "reassignment_rate"),
        figure(result, "mean_reassignments"),
    )


def test_canceled_tickets_are_opened_but_never_resolved() -> None:
    """A canceled ticket counts in volume.opened and never in resolved, even with resolved_at."""
    tickets = [
        ticket("INC1", state="canceled", opened_at=at(3), resolved_at=at(4)),
    ]

    result = report(tickets)

    assert (1, 0, None) == (
        figure(result, "volume", "opened"),
        figure(result, "volume", "resolved"),
        figure(result, "fcr_rate"),
    )


def test_reopened_ticket_not_resolved_again_is_open_not_resolved() -> None:
    """A ticket reopened and still being worked at T is in the backlog, not in resolved."""
    tickets = [ticket("INC1", state="in_progress", opened_at=at(3), reopens=1)]

    result = report(tickets)

    assert (0, 1) == (figure(result, "volume", "resolved"), figure(result, "backlog", "open"))


def test_top_categories_rank_by_count_then_name_keep_five_and_drop_zeros() -> None:
    """Largest first, ties by name in code-point order ("(none)" first), five at most, no 0."""
    counts = {"zeta": 2, "alpha": 2, None: 1, "delta": 1, "beta": 1, "gamma": 1, "idle": 0}
    tickets = [
        ticket(f"INC{n}", opened_at=at(3), category=category, escalations=count)
        for n, (category, count) in enumerate(counts.items())
    ]

    result = report(tickets)

    # alpha and zeta tie at 2; (none), beta, delta, gamma tie at 1 and only three fit.
    assert [["alpha", 2], ["zeta", 2], ["(none)", 1], ["beta", 1], ["delta", 1]] == figure(
        result, "top_categories", "escalations"
    )
    assert [] == figure(result, "top_categories", "reassignments")


def test_top_categories_sum_counts_over_tickets_of_a_category() -> None:
    """A category's n is the sum over its opened tickets: escalations counted one by one."""
    tickets = [
        ticket("A", opened_at=at(3), category="network", escalations=2, reassignments=1),
        ticket("B", opened_at=at(3), category="network", escalations=1, reassignments=3),
        ticket("OLD", opened_at=at(1, month=2), category="network", escalations=9),
    ]

    assert {"escalations": [["network", 3]], "reassignments": [["network", 4]]} == figure(
        report(tickets), "top_categories"
    )


def test_canceled_timers_are_not_counted_and_an_sla_with_only_canceled_timers_is_left_out() -> None:
    """Canceled timers count nowhere; a name with nothing but canceled timers has no entry."""
    tickets = [ticket("INC1", opened_at=at(3)), ticket("INC2", opened_at=at(3))]
    timers = [
        ReportTimer("INC1", "Response", "achieved"),
        ReportTimer("INC1", "Response", "canceled"),
        ReportTimer("INC2", "Response", "canceled"),
        ReportTimer("INC1", "P3 resolution", "canceled"),
        ReportTimer("INC2", "P3 resolution", "canceled"),
    ]

    assert {"Response": {"achieved": 1, "breached": 0, "running": 0, "adherence": 1.0}} == figure(
        report(tickets, timers), "sla"
    )


def test_sla_with_only_running_timers_has_null_adherence() -> None:
    """Running timers are counted, but adherence needs an achieved or breached one."""
    tickets = [ticket("INC1", opened_at=at(3)), ticket("INC2", opened_at=at(3))]
    timers = [
        ReportTimer("INC1", "Response", "in_progress"),
        ReportTimer("INC2", "Response", "paused"),
    ]

    assert {"Response": {"achieved": 0, "breached": 0, "running": 2, "adherence": None}} == figure(
        report(tickets, timers), "sla"
    )


def test_missing_channel_and_category_count_under_none() -> None:
    """No channel or category (None or "") is reported under "(none)"; so are empty owners."""
    tickets = [
        ticket(
            "INC1",
            state="resolved",
            opened_at=at(3),
            resolved_at=at(4),
            channel=None,
            category="",
            resolved_group=None,
            resolved_assignee="",
        ),
    ]

    result = report(tickets)

    assert ({"(none)": 1}, {"(none)": 1}) == (
        figure(result, "volume", "opened_by_channel"),
        figure(result, "volume", "opened_by_category"),
    )
    assert (["(none)"], ["(none)"]) == (
        list(figure(result, "by_group")),
        list(figure(result, "by_assignee")),
    )


def test_opened_by_day_is_the_utc_date() -> None:
    """A ticket opened at 23:30 on the 3rd in New York (UTC-5) counts on the 4th (UTC)."""
    new_york_winter = timezone(timedelta(hours=-5))
    opened_at = datetime(2026, 3, 3, 23, 30, tzinfo=new_york_winter)

    result = report([ticket("INC1", opened_at=opened_at)])

    assert {"2026-03-04": 1} == figure(result, "volume", "opened_by_day")


def test_instants_after_t_have_not_happened_as_of_t() -> None:
    """Opening, response or resolution after T are ignored, even if a row carries them."""
    after_t = T + timedelta(seconds=1)
    tickets = [
        ticket("FUTURE", state="new", opened_at=after_t),
        ticket("LATE-ANSWER", state="new", opened_at=at(3), responded_at=after_t),
        ticket("LATE-FIX", state="resolved", opened_at=at(3), resolved_at=after_t),
    ]

    result = report(tickets, period_to=T + timedelta(days=1))

    assert (2, 0, 1) == (
        figure(result, "volume", "opened"),
        figure(result, "volume", "resolved"),
        figure(result, "backlog", "open"),
    )
    assert {"mean": None, "median": None} == figure(result, "mtta_seconds")


# --- parameters and output -----------------------------------------------------------------


def test_period_instants_are_reported_in_utc() -> None:
    """The period echoes from, to, as_of in UTC whatever offset they came with, and the group."""
    paris = timezone(timedelta(hours=1))

    result = report(
        [],
        period_from=datetime(2026, 3, 2, 1, tzinfo=paris),
        period_to=datetime(2026, 3, 6, 1, tzinfo=paris),
        as_of=datetime(2026, 3, 6, 13, 0, 0, 500, tzinfo=paris),
        group="network",
    )

    assert {
        "from": "2026-03-02T00:00:00+00:00",
        "to": "2026-03-06T00:00:00+00:00",
        "as_of": "2026-03-06T12:00:00.000500+00:00",
        "group": "network",
    } == figure(result, "period")


def test_report_is_plain_json() -> None:
    """The report round-trips through json unchanged (no datetimes, tuples or enums left)."""
    result = report(DESK_WEEK, DESK_WEEK_TIMERS)

    assert result == json.loads(json.dumps(result))


@pytest.mark.parametrize("field", ["from", "to", "as_of"])
def test_naive_instant_is_rejected_naming_the_parameter(field: str) -> None:
    """An instant without a UTC offset raises CommandValidationError naming which one."""
    instants = {"from": FROM, "to": TO, "as_of": T}
    instants[field] = instants[field].replace(tzinfo=None)

    with pytest.raises(CommandValidationError, match="has no UTC offset") as raised:
        report([], period_from=instants["from"], period_to=instants["to"], as_of=instants["as_of"])

    assert field == raised.value.field


def test_period_running_backwards_is_rejected() -> None:
    """from after to raises CommandValidationError rather than reporting an empty period."""
    with pytest.raises(CommandValidationError, match="must not run backwards"):
        report([], period_from=TO, period_to=FROM)


def test_report_module_is_pure() -> None:
    """projections/report.py imports only the standard library and stdlib-only engine modules."""
    source = Path(__file__).resolve().parent.parent / "projections" / "report.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in {"__future__", "engine.errors", "engine.vocabulary"}
    }

    assert set() == outside
    assert "now(" not in source.read_text(encoding="utf-8")


# --- properties ----------------------------------------------------------------------------

GROUPS = ["service-desk", "network", "apps"]
STATES = ["new", "in_progress", "on_hold", "resolved", "closed", "canceled"]
STAGES = ["in_progress", "paused", "achieved", "breached", "canceled"]
OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2026, 4, 30),
    timezones=st.sampled_from(OFFSETS),
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))
counts = st.integers(min_value=0, max_value=4)
maybe_name = st.none() | st.sampled_from(["", "access", "email", "network", "Hardware"])


@st.composite
def desk_tickets(draw: st.DrawFn, ref: str) -> ReportTicket:
    """A ticket row with plausible facts: responses and resolutions after the opening, and
    half of them first-contact tickets (no reassignment, escalation, hold or reopen)."""
    state = draw(st.sampled_from(STATES))
    first_contact = draw(st.booleans())
    opened_at = draw(instants)
    responded = state != "new" and draw(st.booleans())
    resolved = state in {"resolved", "closed"}
    return ticket(
        ref,
        state=state,
        priority=draw(st.integers(min_value=1, max_value=5)),
        channel=draw(st.none() | st.sampled_from(["phone", "email", "portal", "chat"])),
        category=draw(maybe_name),
        group=draw(st.none() | st.sampled_from(GROUPS)),
        opened_at=opened_at,
        responded_at=opened_at + draw(spans) if responded else None,
        resolved_at=opened_at + draw(spans) if resolved else None,
        reassignments=0 if first_contact else draw(counts),
        reopens=0 if first_contact else draw(counts),
        escalations=0 if first_contact else draw(counts),
        holds=0 if first_contact else draw(counts),
        resolved_group=draw(st.none() | st.sampled_from(GROUPS)) if resolved else None,
        resolved_assignee=draw(st.none() | st.sampled_from(["ana", "ben"])) if resolved else None,
    )


class Store(NamedTuple):
    """What the tickets view hands the report: ticket rows and their timers."""

    tickets: list[ReportTicket]
    timers: list[ReportTimer]


class Parameters(NamedTuple):
    period_from: datetime
    period_to: datetime
    as_of: datetime
    group: str | None


@st.composite
def stores(draw: st.DrawFn) -> Store:
    """Up to 25 tickets with unique refs, each with up to three timers in any stage."""
    size = draw(st.integers(min_value=0, max_value=25))
    tickets = [draw(desk_tickets(f"INC{n:04d}")) for n in range(size)]
    timers = [
        ReportTimer(t.ref, draw(st.sampled_from(["Response", "P1", "P3"])), stage)
        for t in tickets
        for stage in draw(st.lists(st.sampled_from(STAGES), max_size=3))
    ]
    return Store(tickets, timers)


@st.composite
def parameters(draw: st.DrawFn) -> Parameters:
    """A period [from, to) with from <= to; T after it half the time (the CLI's default),
    anywhere otherwise; maybe a group."""
    period_from, period_to, later = sorted(draw(instants) for _ in range(3))
    return Parameters(
        period_from=period_from,
        period_to=period_to,
        as_of=later if draw(st.booleans()) else draw(instants),
        group=draw(st.none() | st.sampled_from(GROUPS)),
    )


def report_of(store: Store, params: Parameters) -> dict[str, object]:
    return compute_report(store.tickets, store.timers, **params._asdict())


@given(stores(), parameters())
def test_counts_add_up(store: Store, params: Parameters) -> None:
    """Breakdowns sum to their totals: by day/priority/channel/category to opened, aging to
    open, by_group and by_assignee resolved to resolved."""
    result = report_of(store, params)
    volume = figure(result, "volume")

    assert [volume["opened"]] * 4 == [
        sum(volume[key].values())
        for key in [
            "opened_by_day",
            "opened_by_priority",
            "opened_by_channel",
            "opened_by_category",
        ]
    ]
    assert figure(result, "backlog", "open") == sum(figure(result, "backlog", "aging").values())
    assert [volume["resolved"]] * 2 == [
        sum(row["resolved"] for row in figure(result, owners).values())
        for owners in ["by_group", "by_assignee"]
    ]


@given(stores(), parameters())
def test_rates_lie_between_0_and_1_and_are_null_exactly_when_nothing_was_resolved(
    store: Store, params: Parameters
) -> None:
    """fcr, reopen and reassignment rates and every SLA adherence are in [0, 1] or null."""
    result = report_of(store, params)
    nothing_resolved = figure(result, "volume", "resolved") == 0
    rates = [figure(result, key) for key in ["fcr_rate", "reopen_rate", "reassignment_rate"]]
    adherences = [entry["adherence"] for entry in figure(result, "sla").values()]

    assert all((rate is None) == nothing_resolved for rate in rates)
    assert all(rate is None or 0.0 <= rate <= 1.0 for rate in rates + adherences)


@given(stores(), parameters(), st.data())
def test_shuffling_the_input_changes_nothing(
    store: Store, params: Parameters, data: st.DataObject
) -> None:
    """The report depends on the set of tickets and timers, not on their order."""
    shuffled = Store(
        data.draw(st.permutations(store.tickets)), data.draw(st.permutations(store.timers))
    )

    assert report_of(store, params) == report_of(shuffled, params)


@given(stores(), parameters())
def test_group_reports_split_the_desk_report(store: Store, params: Parameters) -> None:
    """Opened, resolved and open counts of the group reports plus the ungrouped tickets add up
    to the whole desk's."""
    whole = report_of(store, params._replace(group=None))
    ungrouped = Store([t for t in store.tickets if t.assignment_group is None], store.timers)
    parts = [report_of(store, params._replace(group=g)) for g in GROUPS]
    parts.append(report_of(ungrouped, params._replace(group=None)))

    for path in [("volume", "opened"), ("volume", "resolved"), ("backlog", "open")]:
        assert figure(whole, *path) == sum(figure(part, *path) for part in parts)


def test_the_views_key_a_resolved_ticket_by_the_group_that_resolved_it(tmp_path: Path) -> None:
    """A ticket handed to another group after its resolution still counts in ``by_group``
    and ``by_assignee`` for whoever resolved it, incrementally and after a rebuild."""
    from adapters.bootstrap import open_read_side  # noqa: PLC0415
    from engine.clock import SimulatedClock  # noqa: PLC0415
    from projections.views import open_views  # noqa: PLC0415

    clock = SimulatedClock(at(2, 9))
    desk, queries = open_read_side(f"sqlite:///{tmp_path / 'desk.db'}", clock=clock)
    opened = {"ref": "INC1", "title": "VPN down", "caller": "ann", "impact": 2, "urgency": 2}
    desk.execute("open", opened, actor="ann")
    desk.execute("assign", {"ref": "INC1", "group": "network", "assignee": "bob"}, actor="lead")
    clock.advance(timedelta(hours=2))
    desk.execute("resolve", {"ref": "INC1", "code": "solved", "notes": "new cert"}, actor="bob")
    clock.advance(timedelta(hours=1))
    desk.execute("assign", {"ref": "INC1", "group": "desk", "assignee": "cy"}, actor="lead")
    period = {"period_from": at(2), "period_to": at(3), "as_of": at(3)}
    expected = (
        {"network": {"resolved": 1, "median_resolve_seconds": 7200.0}},
        {"bob": {"resolved": 1, "median_resolve_seconds": 7200.0}},
    )

    figures = queries.report(**period)
    assert expected == (figures["by_group"], figures["by_assignee"])
    assert "desk" == queries.ticket("INC1")["assignment_group"]
    open_views(desk).rebuild()
    figures = queries.report(**period)
    assert expected == (figures["by_group"], figures["by_assignee"])
    desk.close()
