"""Targets in working days (``3bd``, ``end_of_day``): exact instants across weekends, public
holidays and a DST change, pauses that shift the due by the working time they lasted, and
policy errors that name the field.

The calendar is a Berlin office, Monday to Friday 09:00-17:00, with Good Friday and Easter
Monday 2026 as holidays. Berlin is UTC+1 until 2026-03-29 and UTC+2 after: instants are
written in UTC with the local time beside them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import open_desk
from adapters.cli import main
from engine.application import Desk
from engine.business_days import BusinessDays
from engine.calendar import BusinessCalendar
from engine.clock import FixedClock, SimulatedClock
from engine.errors import PolicyError
from engine.policy import parse_policy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "hours": {day: ["09:00-17:00"] for day in WEEKDAYS},
    "holidays": ["2026-04-03", "2026-04-06"],  # Good Friday, Easter Monday
}
CALENDAR = BusinessCalendar.from_mapping(OFFICE, name="office")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def landing(days: int, start: str, *, end_of_day: bool = False) -> tuple[str, str, int]:
    """(counted from, due, working hours) of ``days``bd from ``start`` (UTC)."""
    due = BusinessDays(days, end_of_day).due(utc(start), CALENDAR)
    return (
        due.counted_from.isoformat(),
        due.due.isoformat(),
        due.working_seconds // 3600,
    )


# ---------------------------------------------------------------------- where a target lands


def test_three_business_days_skip_the_weekend() -> None:
    """Opened Thursday 10:00 (09:00Z): 3bd is due Tuesday 10:00, after Thursday's 7 working
    hours, Friday's and Monday's 8 and Tuesday's first 1: 24 hours of working time."""
    expected = ("2026-03-05T09:00:00+00:00", "2026-03-10T09:00:00+00:00", 24)
    assert expected == landing(3, "2026-03-05T09:00")


def test_end_of_day_is_the_close_of_the_last_working_day() -> None:
    """1bd with end_of_day from Thursday 10:00 is due at Friday's close, 17:00 (16:00Z)."""
    expected = ("2026-03-05T09:00:00+00:00", "2026-03-06T16:00:00+00:00", 15)
    assert expected == landing(1, "2026-03-05T09:00", end_of_day=True)


def test_public_holidays_are_not_working_days() -> None:
    """Opened Thursday before Easter 15:00 CEST (13:00Z): Good Friday, the weekend and Easter
    Monday do not count, so 2bd is due Wednesday 15:00 CEST (Thu 2h + Tue 8h + Wed 6h)."""
    expected = ("2026-04-02T13:00:00+00:00", "2026-04-08T13:00:00+00:00", 16)
    assert expected == landing(2, "2026-04-02T13:00")


def test_a_weekend_start_counts_from_fridays_close() -> None:
    """Opened Saturday 12:00 (11:00Z), outside working hours: the count starts at Friday's
    close, so 3bd is due Wednesday 17:00 (16:00Z) after three full working days."""
    expected = ("2026-03-06T16:00:00+00:00", "2026-03-11T16:00:00+00:00", 24)
    assert expected == landing(3, "2026-03-07T11:00")


def test_a_start_before_opening_counts_from_the_previous_close() -> None:
    """Opened Monday 07:30 (06:30Z): counted from Friday's close, 1bd is due Monday 17:00."""
    expected = ("2026-03-06T16:00:00+00:00", "2026-03-09T16:00:00+00:00", 8)
    assert expected == landing(1, "2026-03-09T06:30")


def test_the_same_local_time_across_a_dst_change() -> None:
    """Opened Friday 27 March 10:00 CET (09:00Z); the clocks go forward on Sunday, so 1bd is
    due Monday 10:00 CEST, which is 08:00Z (Fri 7h + Mon 1h)."""
    expected = ("2026-03-27T09:00:00+00:00", "2026-03-30T08:00:00+00:00", 8)
    assert expected == landing(1, "2026-03-27T09:00")


def test_a_start_in_a_lunch_break_counts_from_the_morning_close() -> None:
    """With a 12:00-13:00 break, opened Tuesday 12:30 (11:30Z) counts from 12:00, and 1bd is
    due Wednesday 12:00 (11:00Z): Tue 4h + Wed 3h."""
    lunch = {**OFFICE, "hours": {day: ["09:00-12:00", "13:00-17:00"] for day in WEEKDAYS}}
    due = BusinessDays(1).due(utc("2026-03-10T11:30"), BusinessCalendar.from_mapping(lunch))
    expected = ("2026-03-10T11:00:00+00:00", "2026-03-11T11:00:00+00:00", 7 * 3600)
    assert expected == (due.counted_from.isoformat(), due.due.isoformat(), due.working_seconds)


def test_on_a_24x7_calendar_a_business_day_is_a_day() -> None:
    """Every day works on 24x7: 3bd is 72 hours later."""
    always = BusinessCalendar.from_mapping({"timezone": "UTC", "hours": "always"})
    due = BusinessDays(3).due(utc("2026-03-07T11:00"), always)
    expected = ("2026-03-10T11:00:00+00:00", 72 * 3600)
    assert expected == (due.due.isoformat(), due.working_seconds)


# ---------------------------------------------------------------------- timers on a desk

POLICY: dict[str, Any] = {
    "calendars": {"office": OFFICE},
    "slas": [
        {
            "name": "3 working days",
            "kind": "resolution",
            "applies_to": {"priority": [3]},
            "target": "3bd",
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
        {
            "name": "next day",
            "kind": "resolution",
            "applies_to": {"priority": [3]},
            "target": "1bd",
            "end_of_day": True,
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
    ],
}
OPENED = utc("2026-03-05T09:00")  # Thursday 10:00 in Berlin


def _desk() -> Desk:
    desk = _desk_without_ticket()
    desk.execute(
        "open",
        {"ref": "INC1", "title": "VPN", "caller": "carol", "impact": 2, "urgency": 2},
        actor="agent",
        at=OPENED,
    )
    return desk


def _timers(desk: Desk, at: datetime) -> dict[str, tuple[str, str | None, int]]:
    statuses = desk.sla_status(desk.get_ticket("INC1"), at)
    return {
        s.name: (str(s.stage), s.due_at.isoformat() if s.due_at else None, s.target_seconds)
        for s in statuses
    }


def test_timers_of_business_day_targets_record_their_working_time() -> None:
    """The timers' targets are the working time to their dues: 24h and 15h."""
    expected = {
        "3 working days": ("in_progress", "2026-03-10T09:00:00+00:00", 24 * 3600),
        "next day": ("in_progress", "2026-03-06T16:00:00+00:00", 15 * 3600),
    }
    assert expected == _timers(_desk(), OPENED)


def test_a_pause_shifts_the_due_by_the_working_time_it_lasted() -> None:
    """On hold awaiting the caller from Friday 14:00 to Monday 11:00 (Berlin): 3 working
    hours on Friday and 2 on Monday are paused, so the 3bd due moves five working hours, from
    Tuesday 10:00 to Tuesday 15:00 (14:00Z), and it breaches there. The end-of-day timer
    (15 working hours) had 12 before the hold and breaches 3 after it: Monday 14:00."""
    desk = _desk()
    desk.execute(
        "hold",
        {"ref": "INC1", "reason": "awaiting_caller", "comment": "which laptop?"},
        actor="agent",
        at=utc("2026-03-06T13:00"),
    )
    desk.execute("resume", {"ref": "INC1"}, actor="agent", at=utc("2026-03-09T10:00"))
    expected = ("in_progress", "2026-03-10T14:00:00+00:00", 24 * 3600)
    assert expected == _timers(desk, utc("2026-03-09T10:00"))["3 working days"]
    desk.advance(utc("2026-03-11T00:00"))
    breach = [e for e in desk.ticket_events("INC1") if type(e).__name__ == "SlaBreached"]
    breached = {
        "next day": "2026-03-09T13:00:00+00:00",
        "3 working days": "2026-03-10T14:00:00+00:00",
    }
    assert breached == {e.name: e.breached_at.isoformat() for e in breach}


def test_a_pause_moves_an_end_of_day_due_past_the_close() -> None:
    """1bd at the end of day is due Friday 17:00; an hour on hold on Friday afternoon moves
    it one working hour on, to Monday 10:00 Berlin (09:00Z): the pause is working time, not a
    day."""
    desk = _desk()
    desk.execute(
        "hold",
        {"ref": "INC1", "reason": "awaiting_caller", "comment": "which laptop?"},
        actor="agent",
        at=utc("2026-03-06T14:00"),
    )
    desk.execute("resume", {"ref": "INC1"}, actor="agent", at=utc("2026-03-06T15:00"))
    expected = ("in_progress", "2026-03-09T09:00:00+00:00", 15 * 3600)
    assert expected == _timers(desk, utc("2026-03-06T15:00"))["next day"]


def test_a_timer_started_by_a_priority_change_counts_from_the_opening() -> None:
    """Opened P4 (no SLA applies) on Thursday 10:00 and raised to P3 on Monday 11:00: the
    3bd timer starts then, retroactively, due three working days after the opening (Tuesday
    10:00), not after the priority change."""
    desk = _desk_without_ticket()
    desk.execute(
        "open",
        {"ref": "INC1", "title": "VPN", "caller": "carol", "impact": 2, "urgency": 3},
        actor="agent",
        at=OPENED,
    )
    desk.execute(
        "reprioritize",
        {"ref": "INC1", "urgency": 2, "reason": "more users"},
        actor="agent",
        at=utc("2026-03-09T10:00"),
    )
    expected = ("in_progress", "2026-03-10T09:00:00+00:00", 24 * 3600)
    assert expected == _timers(desk, utc("2026-03-09T10:00"))["3 working days"]


def test_what_if_converts_business_day_targets_per_ticket() -> None:
    """Re-scored under a 3bd policy, a ticket opened Thursday 10:00 and resolved Wednesday
    would have breached on Tuesday 10:00 (09:00Z): the what-if converts from its opening."""
    desk = open_desk("memory://", clock=SimulatedClock(OPENED), wall_clock=FixedClock(OPENED))
    desk.execute(
        "open",
        {"ref": "INC1", "title": "VPN", "caller": "carol", "impact": 2, "urgency": 2},
        actor="agent",
        at=OPENED,
    )
    desk.execute(
        "resolve",
        {"ref": "INC1", "code": "fixed", "notes": "n"},
        actor="agent",
        at=utc("2026-03-11T12:00"),
    )
    report = desk.what_if(POLICY, at=utc("2026-03-12T00:00"))
    changes = {c.sla: (c.what_if, c.what_if_breached_at) for c in report.changes}
    expected = ("breached", utc("2026-03-10T09:00"))
    assert expected == changes["3 working days"]


def _desk_without_ticket() -> Desk:
    desk = open_desk("memory://", clock=SimulatedClock(OPENED), wall_clock=FixedClock(OPENED))
    desk.load_policy(POLICY, actor="admin", at=OPENED)
    return desk


def test_explain_says_where_a_business_day_target_landed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sla REF --explain: the target in working days, the instant it was counted from, its
    due and the working time that became the timer's target; the text says it too."""
    url = f"sqlite:///{tmp_path / 'bd.db'}"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY), encoding="utf-8")
    assert main(["--store", url, "policy", "load", str(policy), "--as", "admin"]) == 0
    opened = ["--store", url, "open", "INC1", "--title", "VPN", "--caller", "carol", "--as", "a"]
    saturday = ["--impact", "2", "--urgency", "2", "--at", "2026-03-07T11:00:00Z"]
    assert main([*opened, *saturday]) == 0
    capsys.readouterr()
    as_of = ["--as-of", "2026-03-09T10:00:00Z"]
    assert main(["--store", url, "sla", "INC1", "--explain", "--json", *as_of]) == 0
    explained = {t["name"]: t["business_days"] for t in json.loads(capsys.readouterr().out)}
    expected = {
        "target": "3bd",
        "end_of_day": False,
        "started_at": "2026-03-07T11:00:00+00:00",
        "counted_from": "2026-03-06T16:00:00+00:00",
        "due": "2026-03-11T16:00:00+00:00",
        "working_seconds": 24 * 3600,
    }
    assert expected == explained["3 working days"]
    assert main(["--store", url, "sla", "INC1", "--explain", *as_of]) == 0
    text = capsys.readouterr().out
    assert (
        "= 1bd: counted from 2026-03-06T16:00:00+00:00, due at the close of working day 1 "
        "= 2026-03-09T16:00:00+00:00"
    ) in " ".join(text.split())


# ---------------------------------------------------------------------- policy errors


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("0bd", "invalid business-day target '0bd': at least '1bd'"),
        ("-1bd", "invalid business-day target '-1bd': a target counts working days forward"),
        ("bd", "invalid business-day target 'bd': give the number of working days"),
        ("1.5bd", "invalid business-day target '1.5bd': whole working days only"),
        ("2bd4h", "invalid business-day target '2bd4h': working days do not combine"),
        ("99999bd", "business-day target '99999bd' is more than 1000 working days"),
    ],
)
def test_bad_business_day_targets_name_the_field(target: str, problem: str) -> None:
    """Each bad target is a PolicyError at slas[0].target saying what is wrong."""
    sla = {"name": "x", "kind": "resolution", "target": target}
    with pytest.raises(PolicyError) as raised:
        parse_policy({"slas": [sla]})
    assert str(raised.value).startswith(f"slas[0].target: {problem}")


def test_end_of_day_needs_a_target_in_working_days() -> None:
    sla = {"name": "x", "kind": "resolution", "target": "8h", "end_of_day": True}
    with pytest.raises(PolicyError) as raised:
        parse_policy({"slas": [sla]})
    expected = "slas[0].end_of_day: needs a target in working days, such as '1bd' (target is '8h')"
    assert expected == str(raised.value)


def test_business_day_targets_keep_their_spelling_in_the_policy_document() -> None:
    """The canonical document says 3bd (and end_of_day only where set), so a policy read back
    from the store is the same policy."""
    policy = parse_policy(POLICY)
    targets = [(s["target"], s.get("end_of_day")) for s in policy.document["slas"]]
    expected = [("3bd", None), ("1bd", True)]
    assert expected == targets
    assert policy.digest == parse_policy(policy.document).digest
