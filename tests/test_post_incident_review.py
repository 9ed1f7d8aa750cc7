"""Post-incident reviews: a major incident's roles, impact instants, affected services and
users, and a review with contributing factors, what went well, lessons and action items —
their rules, the timeline that reads as a post-incident report, and old reviews (plain-text
actions) read through upcasting without changing a hash."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.application import Desk
from engine.chain import LedgerEvent
from engine.clock import SimulatedClock
from engine.envelope import Envelope, envelope_of, event_classes, event_from_envelope
from engine.errors import CommandValidationError, TicketFinalError
from engine.ids import ticket_id
from engine.log import export_lines
from engine.snapshots import SNAPSHOT_INTERVAL, state_digest
from engine.ticket import facts as ev
from projections.postmortem import to_markdown
from projections.queries import Queries
from projections.views import open_views
from tests.conftest import START, rehash_rewrite, run_rejected


def at(clock_time: str) -> datetime:
    hours, minutes = map(int, clock_time.split(":"))
    return datetime(2026, 3, 2, hours, minutes, tzinfo=UTC)


def major_incident(desk: Desk) -> None:
    """A firewall outage, declared major, with a child, two communications, impact instants,
    roles, affected services and users, a problem and a full review (no SLA policy)."""

    def run(when: str, actor: str, name: str, **fields: Any) -> None:
        desk.execute(name, fields, actor=actor, at=at(when))

    run("08:55", "monitoring", "open", ref="INC1001", title="Core firewall down", caller="noc",
        impact=1, urgency=1, channel="monitoring", category="network", service="firewall",
        group="network")  # fmt: skip
    run("08:57", "alice", "open", ref="INC1002", title="VPN unreachable", caller="dave",
        impact=2, urgency=2, channel="phone")  # fmt: skip
    run("08:58", "bob", "assign", ref="INC1001", assignee="bob")
    run("09:00", "mim", "declare_major", ref="INC1001", reason="all sites affected")
    run("09:01", "mim", "assign_roles", ref="INC1001", commander="alice", comms_lead="carol")
    run("09:02", "mim", "link_child", ref="INC1001", child="INC1002")
    run("09:05", "carol", "communicate", ref="INC1001", audience="all-staff",
        channel="status page", message="VPN and firewall down; next update 10:00")  # fmt: skip
    run("09:06", "mim", "record_impact", ref="INC1001", started_at="2026-03-02T08:40:00+00:00",
        detected_at="2026-03-02T08:52:00+00:00")  # fmt: skip
    run("09:10", "mim", "update", ref="INC1001", affected_users=1200,
        affected_services=["firewall", "vpn"])  # fmt: skip
    run("09:40", "bob", "record_impact", ref="INC1001", mitigated_at="2026-03-02T09:35:00Z")
    run("10:00", "carol", "communicate", ref="INC1001", audience="all-staff",
        channel="status page", message="Service restored")  # fmt: skip
    run("10:05", "bob", "resolve", ref="INC1001", code="fixed", notes="replaced PSU")
    run("11:00", "mim", "link_problem", ref="INC1001", problem="PRB0042")
    run("14:00", "alice", "review", ref="INC1001", summary="Firewall PSU failure",
        root_cause="single PSU, not monitored",
        contributing_factors=["no redundant PSU", "alerts went to an unwatched queue"],
        went_well=["the failover runbook worked"], lessons=["test PSU alarms every quarter"],
        actions=[{"text": "Add PSU monitoring", "owner": "bob", "due": "2026-03-20",
                  "link": "CHG0042"}, "Buy a spare PSU"])  # fmt: skip


@pytest.fixture
def incident(memory_desk: Desk) -> Queries:
    major_incident(memory_desk)
    return Queries(open_views(memory_desk))


# ---------------------------------------------------------------------- the timeline

EXPECTED_MARKDOWN = """\
# Post-incident report: INC1001 — Core firewall down

## Summary

- **Ticket:** INC1001, major incident, priority 1
- **State:** resolved
- **Incident commander:** alice
- **Communications lead:** carol
- **Opened:** 2026-03-02T08:55:00+00:00
- **Resolved:** 2026-03-02T10:05:00+00:00
- **Resolution:** fixed: replaced PSU
- **Review:** Firewall PSU failure

## Impact

- **Impact started:** 2026-03-02T08:40:00+00:00
- **Detected:** 2026-03-02T08:52:00+00:00
- **Mitigated:** 2026-03-02T09:35:00+00:00
- **Affected services:** firewall, vpn
- **Affected users:** 1200
- **Service:** firewall
- **Category:** network
- **Child incidents (1):** INC1002

## Key intervals

| interval | from → to | duration |
|---|---|---|
| time to detect | impact started → detected | 12m |
| time to respond | opened → first picked up | 3m |
| time to mitigate | detected → mitigated | 43m |
| impact duration | impact started → mitigated | 55m |
| time on hold | every hold, added up | 0s |
| time to resolve | opened → resolved | 1h10m |

## Timeline

| time | ticket | actor | event | detail |
|---|---|---|---|---|
| 2026-03-02T08:55:00+00:00 | INC1001 | monitoring | TicketOpened | Core firewall down (P1, impact 1, urgency 1) |
| 2026-03-02T08:57:00+00:00 | INC1002 | alice | TicketOpened | VPN unreachable (P3, impact 2, urgency 2) |
| 2026-03-02T08:58:00+00:00 | INC1001 | bob | Assigned | network / bob |
| 2026-03-02T08:58:00+00:00 | INC1001 | bob | WorkStarted |  |
| 2026-03-02T09:00:00+00:00 | INC1001 | mim | MajorIncidentDeclared | all sites affected |
| 2026-03-02T09:01:00+00:00 | INC1001 | mim | IncidentRolesAssigned | commander alice, comms lead carol |
| 2026-03-02T09:02:00+00:00 | INC1001 | mim | ChildLinked | INC1002 |
| 2026-03-02T09:02:00+00:00 | INC1002 | mim | LinkedToParent | child of INC1001 |
| 2026-03-02T09:05:00+00:00 | INC1001 | carol | CommunicationSent | to all-staff via status page: VPN and firewall down; next update 10:00 |
| 2026-03-02T09:06:00+00:00 | INC1001 | mim | ImpactTimesRecorded | started 2026-03-02T08:40:00+00:00, detected 2026-03-02T08:52:00+00:00 |
| 2026-03-02T09:10:00+00:00 | INC1001 | mim | TicketDetailsUpdated | affected\\_services — → firewall, vpn; affected\\_users — → 1200 |
| 2026-03-02T09:40:00+00:00 | INC1001 | bob | ImpactTimesRecorded | started 2026-03-02T08:40:00+00:00, detected 2026-03-02T08:52:00+00:00, mitigated 2026-03-02T09:35:00+00:00 |
| 2026-03-02T10:00:00+00:00 | INC1001 | carol | CommunicationSent | to all-staff via status page: Service restored |
| 2026-03-02T10:05:00+00:00 | INC1001 | bob | Resolved | fixed: replaced PSU |
| 2026-03-02T10:05:00+00:00 | INC1002 | bob | Resolved | resolved\\_by\\_parent: Resolved with major incident INC1001 |
| 2026-03-02T11:00:00+00:00 | INC1001 | mim | ProblemLinked | PRB0042 |
| 2026-03-02T14:00:00+00:00 | INC1001 | alice | PostIncidentReviewRecorded | Firewall PSU failure |

## Communications

| time | audience | channel | message |
|---|---|---|---|
| 2026-03-02T09:05:00+00:00 | all-staff | status page | VPN and firewall down; next update 10:00 |
| 2026-03-02T10:00:00+00:00 | all-staff | status page | Service restored |

## Root cause

single PSU, not monitored

## Contributing factors

- no redundant PSU
- alerts went to an unwatched queue

## What went well

- the failover runbook worked

## Lessons learned

- test PSU alarms every quarter

## Action items

| action | owner | due | problem or change |
|---|---|---|---|
| Add PSU monitoring | bob | 2026-03-20 | CHG0042 |
| Buy a spare PSU | — | — | — |

## Open follow-ups

- action item “Buy a spare PSU” has no owner and no due date
"""  # noqa: E501 - the document's own lines


def test_the_markdown_timeline_is_a_post_incident_report(incident: Queries) -> None:
    """Commander and comms lead, impact instants, the intervals they give (detect 08:40 →
    08:52 = 12m, mitigate 08:52 → 09:35 = 43m, impact 55m), services and users, the merged
    timeline with the child, communications, the review's sections, the action items table
    and what is still open (an action without owner or due date)."""
    assert EXPECTED_MARKDOWN == to_markdown(incident.timeline("INC1001"))


def _entry(when: str, ticket: str, actor: str, event: str, position: int, detail: str) -> Any:
    return {
        "occurred_at": f"2026-03-02T{when}:00+00:00",
        "ticket": ticket,
        "actor": actor,
        "event": event,
        "position": position,
        "detail": detail,
    }


EXPECTED_JSON: dict[str, Any] = {
    "ref": "INC1001",
    "title": "Core firewall down",
    "major": True,
    "state": "resolved",
    "priority": 1,
    "opened_at": "2026-03-02T08:55:00+00:00",
    "resolved_at": "2026-03-02T10:05:00+00:00",
    "commander": "alice",
    "comms_lead": "carol",
    "children": ["INC1002"],
    "impact": {
        "started_at": "2026-03-02T08:40:00+00:00",
        "detected_at": "2026-03-02T08:52:00+00:00",
        "mitigated_at": "2026-03-02T09:35:00+00:00",
    },
    "affected_services": ["firewall", "vpn"],
    "affected_users": 1200,
    "intervals": {
        "time_to_respond_seconds": 180.0,
        "time_on_hold_seconds": 0.0,
        "time_to_resolve_seconds": 4200.0,
        "time_to_detect_seconds": 720.0,
        "time_to_mitigate_seconds": 2580.0,
        "impact_duration_seconds": 3300.0,
    },
    "communications": [
        {
            "occurred_at": "2026-03-02T09:05:00+00:00",
            "actor": "carol",
            "audience": "all-staff",
            "channel": "status page",
            "message": "VPN and firewall down; next update 10:00",
        },
        {
            "occurred_at": "2026-03-02T10:00:00+00:00",
            "actor": "carol",
            "audience": "all-staff",
            "channel": "status page",
            "message": "Service restored",
        },
    ],
    "review": {
        "reviewed_at": "2026-03-02T14:00:00+00:00",
        "actor": "alice",
        "summary": "Firewall PSU failure",
        "root_cause": "single PSU, not monitored",
        "contributing_factors": ["no redundant PSU", "alerts went to an unwatched queue"],
        "went_well": ["the failover runbook worked"],
        "lessons": ["test PSU alarms every quarter"],
        "actions": [
            {"text": "Add PSU monitoring", "owner": "bob", "due": "2026-03-20", "link": "CHG0042"},
            {"text": "Buy a spare PSU", "owner": None, "due": None, "link": None},
        ],
    },
    "entries": [
        _entry(
            "08:55",
            "INC1001",
            "monitoring",
            "TicketOpened",
            1,
            "Core firewall down (P1, impact 1, urgency 1)",
        ),
        _entry(
            "08:57",
            "INC1002",
            "alice",
            "TicketOpened",
            2,
            "VPN unreachable (P3, impact 2, urgency 2)",
        ),
        _entry("08:58", "INC1001", "bob", "Assigned", 3, "network / bob"),
        _entry("08:58", "INC1001", "bob", "WorkStarted", 4, ""),
        _entry("09:00", "INC1001", "mim", "MajorIncidentDeclared", 5, "all sites affected"),
        _entry(
            "09:01",
            "INC1001",
            "mim",
            "IncidentRolesAssigned",
            6,
            "commander alice, comms lead carol",
        ),
        _entry("09:02", "INC1001", "mim", "ChildLinked", 7, "INC1002"),
        _entry("09:02", "INC1002", "mim", "LinkedToParent", 8, "child of INC1001"),
        _entry(
            "09:05",
            "INC1001",
            "carol",
            "CommunicationSent",
            9,
            "to all-staff via status page: VPN and firewall down; next update 10:00",
        ),
        _entry(
            "09:06",
            "INC1001",
            "mim",
            "ImpactTimesRecorded",
            10,
            "started 2026-03-02T08:40:00+00:00, detected 2026-03-02T08:52:00+00:00",
        ),
        _entry(
            "09:10",
            "INC1001",
            "mim",
            "TicketDetailsUpdated",
            11,
            "affected_services — → firewall, vpn; affected_users — → 1200",
        ),
        _entry(
            "09:40",
            "INC1001",
            "bob",
            "ImpactTimesRecorded",
            12,
            "started 2026-03-02T08:40:00+00:00, detected 2026-03-02T08:52:00+00:00, "
            "mitigated 2026-03-02T09:35:00+00:00",
        ),
        _entry(
            "10:00",
            "INC1001",
            "carol",
            "CommunicationSent",
            13,
            "to all-staff via status page: Service restored",
        ),
        _entry("10:05", "INC1001", "bob", "Resolved", 14, "fixed: replaced PSU"),
        _entry(
            "10:05",
            "INC1002",
            "bob",
            "Resolved",
            15,
            "resolved_by_parent: Resolved with major incident INC1001",
        ),
        _entry("11:00", "INC1001", "mim", "ProblemLinked", 16, "PRB0042"),
        _entry(
            "14:00", "INC1001", "alice", "PostIncidentReviewRecorded", 17, "Firewall PSU failure"
        ),
    ],
}


def test_the_json_timeline_carries_the_review(incident: Queries) -> None:
    """The same content as JSON: the documented keys (ref, children, affected_users, intervals,
    entries) and the review's, through a JSON round trip."""
    assert EXPECTED_JSON == json.loads(json.dumps(incident.timeline("INC1001").as_dict()))


def test_the_views_list_the_new_fields(incident: Queries) -> None:
    """show (the tickets view) carries roles, impact instants, services and the review flag;
    as of 09:03 the roles were named and nothing else yet."""
    shown = incident.ticket("INC1001")
    expected = {
        "commander": "alice",
        "comms_lead": "carol",
        "impact_started_at": "2026-03-02T08:40:00+00:00",
        "impact_detected_at": "2026-03-02T08:52:00+00:00",
        "impact_mitigated_at": "2026-03-02T09:35:00+00:00",
        "affected_services": ["firewall", "vpn"],
        "affected_users": 1200,
        "reviewed": True,
    }
    assert expected == {key: shown[key] for key in expected}
    early = incident.ticket("INC1001", as_of=at("09:03"))
    assert {**expected, "impact_started_at": None, "impact_detected_at": None,
            "impact_mitigated_at": None, "affected_services": [], "affected_users": None,
            "reviewed": False} == {key: early[key] for key in expected}  # fmt: skip


# ---------------------------------------------------------------------- rules


def _declared(desk: Desk) -> None:
    desk.execute(
        "open",
        {"ref": "INC1", "title": "Core firewall down", "caller": "noc", "impact": 1, "urgency": 1},
        actor="monitoring",
        at=at("09:00"),
    )
    desk.execute(
        "declare_major", {"ref": "INC1", "reason": "all sites"}, actor="mim", at=at("09:01")
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"detected_at": "2026-03-02T08:30:00Z"},
         "detected_at: 2026-03-02T08:30:00+00:00 is before started_at 2026-03-02T08:40:00+00:00"),
        ({"mitigated_at": "2026-03-02T08:39:59Z"},
         "mitigated_at: 2026-03-02T08:39:59+00:00 is before started_at 2026-03-02T08:40:00+00:00"),
        ({"started_at": "2026-03-02T08:53:00Z"},
         "started_at: 2026-03-02T08:53:00+00:00 is after detected_at 2026-03-02T08:52:00+00:00"),
        ({"mitigated_at": "2026-03-02T10:00:01Z"},
         "mitigated_at: 2026-03-02T10:00:01+00:00 is later than the command (2026-03-02T10:00"),
        ({"mitigated_at": "2026-03-02T09:50:00"},
         "mitigated_at: 2026-03-02T09:50:00 has no UTC offset"),
        ({}, "started_at: give started_at, detected_at and/or mitigated_at"),
    ],
)  # fmt: skip
def test_impact_instants_are_checked_against_each_other_and_the_command(
    memory_desk: Desk, fields: dict[str, Any], message: str
) -> None:
    """Given an impact that started 08:40 and was detected 08:52, a command at 10:00 may not
    put detection or mitigation before the start, the start after the detection, or any
    instant after itself; the error names the field and writes nothing."""
    _declared(memory_desk)
    memory_desk.execute(
        "record_impact",
        {"ref": "INC1", "started_at": "2026-03-02T08:40:00Z", "detected_at": "2026-03-02T08:52Z"},
        actor="mim",
        at=at("09:05"),
    )
    error = run_rejected(
        memory_desk, CommandValidationError, "record_impact", {"ref": "INC1", **fields},
        at=at("10:00"),
    )  # fmt: skip
    assert str(error).startswith(f"ticket INC1: {message}"), str(error)


def test_roles_and_impact_are_for_major_incidents(memory_desk: Desk) -> None:
    memory_desk.execute(
        "open", {"ref": "INC2", "title": "t", "caller": "c", "impact": 1, "urgency": 1}, actor="a"
    )
    roles = run_rejected(
        memory_desk, CommandValidationError, "assign_roles", {"ref": "INC2", "commander": "al"}
    )
    impact = run_rejected(
        memory_desk,
        CommandValidationError,
        "record_impact",
        {"ref": "INC2", "started_at": START.isoformat()},
    )
    expected = [
        "ticket INC2: ref: incident roles are for major incidents",
        "ticket INC2: ref: impact instants are recorded on major incidents",
    ]
    assert expected == [str(roles), str(impact)]


def test_roles_change_clear_and_repeat(memory_desk: Desk) -> None:
    """Naming the same people again records nothing; null clears one role and keeps the
    other; a blank name is rejected."""
    _declared(memory_desk)
    first = memory_desk.execute(
        "assign_roles", {"ref": "INC1", "commander": "alice", "comms_lead": "carol"}, actor="mim"
    )
    again = memory_desk.execute("assign_roles", {"ref": "INC1", "commander": "alice"}, actor="m")
    cleared = memory_desk.execute("assign_roles", {"ref": "INC1", "comms_lead": None}, actor="m")
    blank = run_rejected(
        memory_desk, CommandValidationError, "assign_roles", {"ref": "INC1", "commander": " "}
    )
    ticket = memory_desk.get_ticket("INC1")
    expected = (["IncidentRolesAssigned"], [], ["IncidentRolesAssigned"], "alice", None)
    assert expected == (first.events, again.events, cleared.events, ticket.commander,
                        ticket.comms_lead)  # fmt: skip
    assert "ticket INC1: commander: is blank (null clears it)" == str(blank)


def test_a_review_takes_plain_and_structured_action_items(memory_desk: Desk) -> None:
    """Plain text becomes an item without owner, due date or link; a bad due date, an
    unknown member or a bad link is rejected naming where it is."""
    _declared(memory_desk)
    memory_desk.execute(
        "resolve", {"ref": "INC1", "code": "fixed", "notes": "psu"}, actor="bob", at=at("10:00")
    )
    review = {"ref": "INC1", "summary": "s", "root_cause": "r"}
    for actions, message in (
        ([{"text": "x", "due": "soon"}], "actions.0.due: Input should be a valid date"),
        ([{"text": "x", "colour": "red"}], "actions.0.colour: unknown field of an action item"),
        ([{"text": "x", "link": "CHG 1"}], "actions.0.link: invalid ref 'CHG 1'"),
        ([{"owner": "bob"}], "actions.0.text: Field required"),
        ([" "], "actions[0].text: is required"),
    ):
        error = run_rejected(
            memory_desk, CommandValidationError, "review", {**review, "actions": actions}
        )
        assert str(error).startswith(f"ticket INC1: {message}"), str(error)
    memory_desk.execute(
        "review", {**review, "actions": ["a", {"text": "b", "owner": "bob"}]}, actor="mim"
    )
    [recorded] = [
        e for e in memory_desk.ticket_events("INC1") if isinstance(e, ev.PostIncidentReviewRecorded)
    ]
    expected = [
        {"text": "a", "owner": None, "due": None, "link": None},
        {"text": "b", "owner": "bob", "due": None, "link": None},
    ]
    assert expected == recorded.actions


def test_new_text_fields_have_limits(memory_desk: Desk) -> None:
    """A commander, an action item's owner and a lesson are bounded like every text."""
    _declared(memory_desk)
    memory_desk.execute(
        "resolve", {"ref": "INC1", "code": "fixed", "notes": "psu"}, actor="bob", at=at("10:00")
    )
    review = {"ref": "INC1", "summary": "s", "root_cause": "r"}
    errors = [
        run_rejected(memory_desk, CommandValidationError, name, fields)
        for name, fields in (
            ("assign_roles", {"ref": "INC1", "commander": "a" * 201}),
            ("review", {**review, "actions": [{"text": "x", "owner": "o" * 201}]}),
            ("review", {**review, "lessons": ["l" * 2001]}),
        )
    ]
    assert ["commander", "owner", "lessons"] == [e.field for e in errors]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- update


def _opened(desk: Desk) -> None:
    desk.execute(
        "open",
        {"ref": "INC1", "title": "Mail slow", "caller": "ann", "impact": 2, "urgency": 2,
         "category": "email", "affected_users": 5},
        actor="ann",
        at=at("09:00"),
    )  # fmt: skip


def test_update_records_only_what_changes(memory_desk: Desk) -> None:
    """Given a ticket, when an update gives a new title, the same category and a cleared
    affected-users count, then one TicketDetailsUpdated holds the title and the count,
    with their values before."""
    _opened(memory_desk)
    result = memory_desk.execute(
        "update",
        {"ref": "INC1", "title": "Mail down", "category": "email", "affected_users": None},
        actor="ann",
        at=at("09:30"),
    )
    event = memory_desk.ticket_events("INC1")[-1]
    assert isinstance(event, ev.TicketDetailsUpdated)
    expected = (
        ["TicketDetailsUpdated"],
        {"affected_users": None, "title": "Mail down"},
        {"affected_users": 5, "title": "Mail slow"},
    )
    assert expected == (result.events, event.changes, event.previous)
    ticket = memory_desk.get_ticket("INC1")
    assert ("Mail down", None, "email") == (ticket.title, ticket.affected_users, ticket.category)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "update: give at least one field to change (title, description, category,"),
        ({"category": "email", "affected_users": 5},
         "update: changes nothing: the ticket already has category='email', affected_users=5"),
        ({"owner": "bob"}, "owner: unknown field of update (its fields: title, description,"),
        ({"title": " "}, "title: is required"),
        ({"title": None}, "title: is required"),
        ({"affected_users": -1}, "affected_users: must not be negative"),
        ({"affected_users": "many"}, "affected_users: Input should be a valid integer"),
        ({"change": "CHG 42"}, "change: invalid ref 'CHG 42'"),
        ({"affected_services": ["mail", " "]}, "affected_services[1]: is required"),
        ({"affected_services": None},
         "update: changes nothing: the ticket already has affected_services=[]"),
    ],
)  # fmt: skip
def test_bad_updates_are_rejected_naming_the_field(
    memory_desk: Desk, fields: dict[str, Any], message: str
) -> None:
    _opened(memory_desk)
    error = run_rejected(memory_desk, CommandValidationError, "update", {"ref": "INC1", **fields})
    assert str(error).startswith(f"ticket INC1: {message}"), str(error)


def test_update_on_a_resolved_ticket_is_allowed_and_on_a_closed_one_final(
    memory_desk: Desk,
) -> None:
    """A resolved ticket's details can still be corrected; a closed ticket is final."""
    _opened(memory_desk)
    memory_desk.execute(
        "resolve", {"ref": "INC1", "code": "fixed", "notes": "n"}, actor="a", at=at("10:00")
    )
    fixed = memory_desk.execute("update", {"ref": "INC1", "category": "network"}, actor="a")
    memory_desk.execute("close", {"ref": "INC1"}, actor="a")
    error = run_rejected(memory_desk, TicketFinalError, "update", {"ref": "INC1", "category": "x"})
    assert (["TicketDetailsUpdated"], "ticket INC1 is closed: cannot update (closed is final)") == (
        fixed.events,
        str(error),
    )


# ---------------------------------------------------------------------- old reviews


def test_a_review_from_a_format_1_store_reads_with_action_items(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """DeskLedger 0.1 recorded the review with plain-text actions. Read today, its action is
    an item with no owner, due date or link and the new lists are empty; its envelope (and
    so the export, the relay and its hash) is still the one recorded; the replica's path
    back from that envelope gives the same upcast event; verify is still ok."""
    desk = open_store(format1_url)
    [review] = [
        e for e in desk.ticket_events("INC1001") if isinstance(e, ev.PostIncidentReviewRecorded)
    ]
    expected = (
        [{"text": "add PSU monitoring", "owner": None, "due": None, "link": None}],
        [],
        [],
        [],
    )
    assert expected == (review.actions, review.contributing_factors, review.went_well,
                        review.lessons)  # fmt: skip
    [line] = [
        line
        for line in export_lines(desk.recorder, desk.mapper)
        if line["type"] == "PostIncidentReviewRecorded"
    ]
    recorded = {"summary": "PSU failure", "root_cause": "no redundancy",
                "actions": ["add PSU monitoring"]}  # fmt: skip
    assert recorded == line["data"]
    assert line == envelope_of(review, line["position"]).as_dict()
    again = event_from_envelope(Envelope.from_dict(line), event_classes(LedgerEvent))
    assert (review.actions, line) == (again.actions, envelope_of(again, line["position"]).as_dict())
    assert desk.verify().ok
    markdown = to_markdown(Queries(open_views(desk)).timeline("INC1001"))
    assert "| add PSU monitoring | — | — | — |" in markdown.splitlines()


def test_a_format_2_review_of_class_version_2_is_upcast(
    sqlite_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """A review written by the previous class version (format 2, actions as text, none of
    the new lists) is upcast from version 2 on read, and still verifies."""
    desk = open_store(sqlite_url)
    _declared(desk)
    desk.execute("resolve", {"ref": "INC1", "code": "f", "notes": "n"}, actor="b", at=at("10:00"))
    desk.execute(
        "review", {"ref": "INC1", "summary": "s", "root_cause": "r", "actions": ["spare"]},
        actor="mim", at=at("11:00"),
    )  # fmt: skip
    version = desk.get_ticket("INC1").version

    def as_version_2(state: dict[str, Any]) -> None:
        state["class_version"] = 2
        state["actions"] = ["spare", "monitor it"]
        for name in ("contributing_factors", "went_well", "lessons"):
            del state[name]

    rehash_rewrite(Path(sqlite_url.removeprefix("sqlite:///")), "INC1", version, as_version_2)
    fresh = open_store(sqlite_url)
    review = fresh.ticket_events("INC1")[-1]
    assert isinstance(review, ev.PostIncidentReviewRecorded)
    expected = [
        {"text": "spare", "owner": None, "due": None, "link": None},
        {"text": "monitor it", "owner": None, "due": None, "link": None},
    ]
    assert (expected, []) == (review.actions, review.lessons)
    [line] = [
        line
        for line in export_lines(fresh.recorder, fresh.mapper)
        if line["type"] == "PostIncidentReviewRecorded"
    ]
    assert line == envelope_of(review, line["position"]).as_dict()
    assert {"summary": "s", "root_cause": "r", "actions": ["spare", "monitor it"]} == line["data"]
    assert fresh.verify().ok


def test_a_snapshot_from_before_the_new_attributes_is_upcast(
    sqlite_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """A ticket snapshot taken before roles, impact instants and affected services existed
    (no class_version) is upcast when read: the ticket loads from it, and verify does not
    call it edited."""
    desk = open_store(sqlite_url)
    desk.execute(
        "open", {"ref": "INC1", "title": "t", "caller": "c", "impact": 2, "urgency": 2}, actor="a"
    )
    for step in range(SNAPSHOT_INTERVAL):
        clock.advance(timedelta(minutes=1))
        desk.execute("comment", {"ref": "INC1", "text": f"note {step}"}, actor="a")
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT state FROM stored_snapshots").fetchone()
        snapshot = json.loads(stored)
        for name in ("class_version", "affected_services", "commander", "comms_lead",
                     "impact_started_at", "impact_detected_at", "impact_mitigated_at"):  # fmt: skip
            del snapshot["state"][name]
        decoded = desk.mapper.transcoder.decode(json.dumps(snapshot).encode())
        snapshot["digest"] = state_digest(decoded["state"])
        db.execute("UPDATE stored_snapshots SET state = ?", (json.dumps(snapshot).encode(),))
    db.close()
    fresh = open_store(sqlite_url)
    ticket = fresh.repository.get(ticket_id("INC1"))
    assert ([], None, [], True) == (
        ticket.affected_services,
        ticket.commander,
        fresh.ignored_snapshots,
        fresh.verify().ok,
    )


def test_views_built_by_an_older_version_are_rebuilt(
    sqlite_url: str, open_store: Callable[[str], Desk]
) -> None:
    """A tickets view whose table lacks a column this version writes (as an older version
    built it) is dropped and rebuilt from the log on first use, not written into."""
    desk = open_store(sqlite_url)
    major_incident(desk)
    Queries(open_views(desk)).ticket("INC1001")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute("ALTER TABLE dl_tickets DROP COLUMN commander")
    db.close()
    desk.execute("comment", {"ref": "INC1001", "text": "after the upgrade"}, actor="a")
    shown = Queries(open_views(open_store(sqlite_url))).ticket("INC1001")
    assert ("alice", 15) == (shown["commander"], shown["version"])


def test_a_rejected_command_on_a_closed_major_incident_names_it(memory_desk: Desk) -> None:
    """Roles and impact follow the lifecycle: a closed major incident is final."""
    _declared(memory_desk)
    memory_desk.execute(
        "resolve", {"ref": "INC1", "code": "f", "notes": "n"}, actor="b", at=at("10:00")
    )
    memory_desk.execute("close", {"ref": "INC1"}, actor="b", at=at("10:01"))
    error = run_rejected(
        memory_desk, TicketFinalError, "assign_roles", {"ref": "INC1", "commander": "al"}
    )
    assert "ticket INC1 is closed: cannot assign_roles (closed is final)" == str(error)
