"""SLA timers (docs/sla.md): milestones as events, pauses, re-targeting, versions, what-if."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.bootstrap import open_desk
from engine.application import Desk
from engine.calendar import BusinessCalendar
from engine.clock import FixedClock, SimulatedClock
from engine.envelope import envelope
from engine.errors import PolicyError
from engine.policy import parse_policy
from engine.sla import (
    MilestoneWalks,
    Phase,
    SlaTerms,
    SlaTimer,
    due_milestones,
    next_milestone,
)
from engine.vocabulary import SlaKind

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)

POLICY: dict[str, Any] = {
    "calendars": {
        "office": {
            "timezone": "Europe/Berlin",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    },
    "slas": [
        {"name": "Response", "kind": "response", "target": "30m"},
        {
            "name": "P1",
            "kind": "resolution",
            "applies_to": {"priority": [1]},
            "target": "4h",
            "pause_on": ["awaiting_caller"],
        },
        {
            "name": "P3",
            "kind": "resolution",
            "applies_to": {"priority": [3]},
            "target": "8h",
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
    ],
}


def _desk(policy: dict[str, Any] = POLICY) -> tuple[Desk, SimulatedClock]:
    clock = SimulatedClock(T0)
    desk = open_desk("memory://", clock=clock, wall_clock=FixedClock(T0))
    desk.load_policy(policy, actor="admin", at=T0)
    return desk, clock


def _open(desk: Desk, ref: str = "INC1", impact: int = 1, urgency: int = 1, **at: Any) -> None:
    desk.execute(
        "open",
        {"ref": ref, "title": "t", "caller": "c", "impact": impact, "urgency": urgency},
        actor="a",
        **at,
    )


def _timers(desk: Desk, ref: str = "INC1", at: datetime | None = None) -> dict[str, Any]:
    return {s.name: s for s in desk.sla_status(desk.get_ticket(ref), at)}


def _types(desk: Desk, ref: str = "INC1") -> list[str]:
    return [type(e).__name__ for e in desk.ticket_events(ref)]


def test_opening_starts_the_timers_that_apply() -> None:
    """A P1 gets the response and P1 timers, pinned to the loaded policy version."""
    desk, _ = _desk()
    _open(desk)
    assert _types(desk) == ["TicketOpened", "SlaTimerStarted", "SlaTimerStarted"]
    timers = _timers(desk)
    assert sorted(timers) == ["P1", "Response"]
    assert {t.policy_version for t in timers.values()} == {1}


def test_milestones_are_recorded_at_their_instant_before_a_later_command() -> None:
    """Warnings and the breach are events at the instant they occurred, in time order."""
    desk, clock = _desk()
    _open(desk)
    clock.set(T0 + 5 * H)
    desk.execute("start", {"ref": "INC1"}, actor="bob")
    milestones = [
        (type(e).__name__, getattr(e, "name", None), e.occurred_at)
        for e in desk.ticket_events("INC1")
        if type(e).__name__ in {"SlaWarningReached", "SlaBreached"}
    ]
    assert milestones == [
        ("SlaWarningReached", "Response", T0 + timedelta(minutes=15)),
        ("SlaWarningReached", "Response", T0 + timedelta(minutes=22, seconds=30)),
        ("SlaWarningReached", "Response", T0 + timedelta(minutes=27)),
        ("SlaBreached", "Response", T0 + timedelta(minutes=30)),
        ("SlaWarningReached", "P1", T0 + 2 * H),
        ("SlaWarningReached", "P1", T0 + 3 * H),
        ("SlaWarningReached", "P1", T0 + timedelta(hours=3, minutes=36)),
        ("SlaBreached", "P1", T0 + 4 * H),
    ]
    occurred = [e.occurred_at for e in desk.ticket_events("INC1")]
    assert occurred == sorted(occurred)


def test_advance_records_milestones_of_idle_tickets_once() -> None:
    """advance records what is due on idle tickets; a second advance adds nothing."""
    desk, _ = _desk()
    _open(desk)
    desk.advance(T0 + 10 * H)
    count = len(desk.ticket_events("INC1"))
    assert desk.advance(T0 + 11 * H) == []
    assert len(desk.ticket_events("INC1")) == count
    assert _timers(desk, at=T0 + 10 * H)["P1"].breached_at == T0 + 4 * H


def test_resolving_exactly_at_the_due_time_makes_the_sla() -> None:
    """Resolved exactly at due: achieved, no breach event."""
    desk, _ = _desk()
    _open(desk)
    desk.execute("start", {"ref": "INC1"}, actor="b", at=T0 + timedelta(minutes=30))
    desk.execute("resolve", {"ref": "INC1", "code": "ok", "notes": "n"}, actor="b", at=T0 + 4 * H)
    timers = _timers(desk, at=T0 + 10 * H)
    assert (timers["Response"].stage, timers["P1"].stage) == ("achieved", "achieved")
    assert "SlaBreached" not in _types(desk)


def test_pausing_hold_stops_the_clock_and_other_holds_do_not() -> None:
    """awaiting_caller pauses the P1 timer; awaiting_vendor does not."""
    desk, _ = _desk()
    _open(desk)
    desk.execute(
        "hold", {"ref": "INC1", "reason": "awaiting_caller", "comment": "?"}, actor="b", at=T0 + H
    )
    desk.execute("resume", {"ref": "INC1"}, actor="b", at=T0 + 3 * H)
    desk.execute("hold", {"ref": "INC1", "reason": "awaiting_vendor"}, actor="b", at=T0 + 4 * H)
    timers = _timers(desk, at=T0 + 5 * H)
    assert timers["P1"].stage == "in_progress"
    assert timers["P1"].elapsed_seconds == 3 * 3600
    assert timers["P1"].due_at == T0 + 6 * H
    response = timers["Response"]  # first left "new" after 1h: the 30m response was missed
    assert (response.stage, response.breached_at) == ("breached", T0 + timedelta(minutes=30))


def test_cancel_cancels_running_timers() -> None:
    """A canceled ticket's running timers are canceled; an achieved response stays achieved."""
    desk, _ = _desk()
    _open(desk)
    desk.execute("start", {"ref": "INC1"}, actor="b", at=T0 + timedelta(minutes=5))
    desk.execute("cancel", {"ref": "INC1", "reason": "dup"}, actor="b", at=T0 + H)
    timers = _timers(desk, at=T0 + 9 * H)
    assert (timers["Response"].stage, timers["P1"].stage) == ("achieved", "canceled")


def test_priority_upgrade_breaches_retroactively_at_the_change() -> None:
    """P3→P1 after 5h: P3 canceled, P1 started from the opening and breached at the change,
    with the computed breach instant (opening + 4h) recorded."""
    desk, _ = _desk()
    _open(desk, impact=2, urgency=2)
    desk.execute("start", {"ref": "INC1"}, actor="b", at=T0 + timedelta(minutes=10))
    change = T0 + 5 * H
    desk.execute(
        "reprioritize",
        {"ref": "INC1", "impact": 1, "urgency": 1, "reason": "worse"},
        actor="b",
        at=change,
    )
    events = desk.ticket_events("INC1")
    breach = [e for e in events if type(e).__name__ == "SlaBreached"]
    assert [(e.occurred_at, e.breached_at) for e in breach] == [(change, T0 + 4 * H)]  # type: ignore[attr-defined]
    canceled = [e.name for e in events if type(e).__name__ == "SlaTimerCanceled"]  # type: ignore[attr-defined]
    assert canceled == ["P3"]
    timers = _timers(desk, at=change)
    assert (timers["P1"].stage, timers["P3"].stage) == ("breached", "canceled")


def test_loading_a_new_policy_never_changes_existing_verdicts() -> None:
    """Timers stay pinned to the version they started under; new tickets get the new one."""
    desk, _clock = _desk()
    _open(desk)
    desk.execute("resolve", {"ref": "INC1", "code": "ok", "notes": "n"}, actor="b", at=T0 + 3 * H)
    before = [s.as_dict() for s in desk.sla_status(desk.get_ticket("INC1"), T0 + 9 * H)]
    stricter = {**POLICY, "slas": [{**POLICY["slas"][1], "target": "1h"}]}
    assert desk.load_policy(stricter, actor="admin", at=T0 + 4 * H).version == 2
    after = [s.as_dict() for s in desk.sla_status(desk.get_ticket("INC1"), T0 + 9 * H)]
    assert before == after
    assert _timers(desk, at=T0 + 9 * H)["P1"].stage == "achieved"
    _open(desk, "INC2", at=T0 + 5 * H)
    new = _timers(desk, "INC2", at=T0 + 9 * H)["P1"]
    assert (new.policy_version, new.target_seconds, new.stage) == (2, 3600, "breached")


def test_what_if_reports_the_verdicts_that_would_change_and_writes_nothing() -> None:
    """Under a 2h P1 target, the ticket resolved after 3h would breach; nothing is written."""
    desk, _ = _desk()
    _open(desk)
    desk.execute("start", {"ref": "INC1"}, actor="b", at=T0 + timedelta(minutes=10))
    desk.execute("resolve", {"ref": "INC1", "code": "ok", "notes": "n"}, actor="b", at=T0 + 3 * H)
    _open(desk, "INC2", at=T0 + 3 * H)
    desk.execute("start", {"ref": "INC2"}, actor="b", at=T0 + timedelta(hours=3, minutes=5))
    desk.execute(
        "resolve",
        {"ref": "INC2", "code": "ok", "notes": "n"},
        actor="b",
        at=T0 + timedelta(hours=4),
    )
    written = desk.recorder.max_notification_id()
    tighter = {**POLICY, "slas": [POLICY["slas"][0], {**POLICY["slas"][1], "target": "2h"}]}
    report = desk.what_if(tighter, at=T0 + 9 * H)
    assert desk.recorder.max_notification_id() == written
    assert [(c.ref, c.sla, c.actual, c.what_if, c.what_if_breached_at) for c in report.changes] == [
        ("INC1", "P1", "achieved", "breached", T0 + 2 * H)
    ]
    assert (report.actual["P1"].rate, report.what_if["P1"].rate) == (1.0, 0.5)
    window = desk.what_if(tighter, at=T0 + 9 * H, opened_from=T0 + 2 * H)
    assert (window.tickets, window.changes) == (1, [])


def test_replaying_the_same_commands_with_the_same_clock_gives_identical_events() -> None:
    """Determinism: two runs of the same commands produce byte-identical envelopes."""

    def run() -> list[dict[str, Any]]:
        desk, _ = _desk()
        _open(desk)
        desk.execute(
            "hold",
            {"ref": "INC1", "reason": "awaiting_caller", "comment": "?"},
            actor="b",
            at=T0 + H,
        )
        desk.execute(
            "comment",
            {"ref": "INC1", "text": "here", "visibility": "customer"},
            actor="c",
            at=T0 + 2 * H,
        )
        desk.execute(
            "reprioritize",
            {"ref": "INC1", "impact": 2, "urgency": 2, "reason": "r"},
            actor="b",
            at=T0 + 3 * H,
        )
        desk.advance(T0 + 30 * H)
        return [envelope(e.event, e.position) for e in desk.read_log()]

    first, second = run(), run()
    assert first == second
    assert len(first) > 8


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            {"slas": [{"name": "a", "kind": "response", "target": "1h", "calendar": "office"}]},
            "slas[0].calendar: unknown calendar 'office'",
        ),
        ({"slas": [{"name": "a", "kind": "response", "target": "soon"}]}, "slas[0].target"),
        ({"slas": [{"name": "a", "kind": "sometime", "target": "1h"}]}, "slas[0].kind"),
        (
            {"slas": [{"name": "a", "kind": "response", "target": "1h", "pause_on": ["coffee"]}]},
            "slas[0].pause_on",
        ),
        (
            {"slas": [{"name": "a", "kind": "response", "target": "1h", "warn_at": [120]}]},
            "slas[0].warn_at",
        ),
        (
            {"slas": [{"name": "a", "kind": "response", "target": "1h"}] * 2},
            "slas[1].name: duplicate SLA name 'a'",
        ),
        (
            {"calendars": {"office": {"timezone": "Mars/Base", "hours": "always"}}},
            "calendars.office.timezone",
        ),
        (
            {"calendars": {"office": {"timezone": "UTC", "hours": {"tue": ["13:00-12:00"]}}}},
            "calendars.office.hours.tue[0]",
        ),
        (
            {"priority_matrix": {1: {1: 1, 2: 2}, 2: {1: 2, 2: 3, 3: 4}, 3: {1: 3, 2: 4, 3: 5}}},
            "priority_matrix.1.3",
        ),
        ({"lifecycle": {"auto_close_after": "eventually"}}, "lifecycle.auto_close_after"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_policies_name_the_key_path(policy: dict[str, Any], message: str) -> None:
    """Every policy problem is a PolicyError that starts with the offending key path."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy)
    assert str(caught.value).startswith(message)


def test_a_breach_is_announced_once_when_priority_goes_down_and_back_up() -> None:
    """P1 breached, then P2, then P1 again: the restarted P1 timer does not re-announce it."""
    desk, _ = _desk()
    _open(desk)
    desk.advance(T0 + 5 * H)
    for urgency, minutes in ((2, 301), (1, 302)):
        desk.execute(
            "reprioritize",
            {"ref": "INC1", "urgency": urgency, "reason": "r"},
            actor="b",
            at=T0 + timedelta(minutes=minutes),
        )
    desk.advance(T0 + 9 * H)
    breaches = [e for e in desk.ticket_events("INC1") if type(e).__name__ == "SlaBreached"]
    assert [(e.name, e.breached_at) for e in breaches] == [  # type: ignore[attr-defined]
        ("Response", T0 + timedelta(minutes=30)),
        ("P1", T0 + 4 * H),
    ]
    statuses = desk.sla_status(desk.get_ticket("INC1"), T0 + 9 * H)
    assert [(s.name, s.stage) for s in statuses if s.name == "P1"] == [
        ("P1", "canceled"),
        ("P1", "breached"),
    ]


def test_loading_a_policy_pins_country_holidays_as_dates() -> None:
    """Country holidays are written into the stored policy version (year ± 10), so a later
    release of the holidays package cannot change a recorded verdict."""
    berlin = {
        "timezone": "Europe/Berlin",
        "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [{"country": "DE", "subdivision": "BE"}],
    }
    desk, _ = _desk({"calendars": {"berlin": berlin}})
    [entry] = desk.policy().document["calendars"]["berlin"]["holidays"]
    assert entry["pinned"]["years"] == [2016, 2036]
    assert "2026-12-25" in entry["pinned"]["dates"]
    assert "2026-05-01" in entry["pinned"]["dates"]


def test_pinned_holiday_dates_win_over_the_package_inside_their_years() -> None:
    """Inside the pinned years the recorded dates are the holidays (even if the package now
    says otherwise); outside them the package is asked."""
    mapping = {
        "timezone": "UTC",
        "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [{"country": "DE", "pinned": {"years": [2026, 2026], "dates": ["2026-03-03"]}}],
    }
    calendar = BusinessCalendar.from_mapping(mapping)
    tuesday = datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert calendar.elapsed(tuesday, tuesday + 8 * H) == timedelta(0)  # pinned, not in package
    may_day = datetime(2026, 5, 1, 9, tzinfo=UTC)  # a DE holiday, but not among pinned dates
    assert calendar.elapsed(may_day, may_day + 8 * H) == 8 * H
    next_may_day = datetime(2027, 4, 30, 9, tzinfo=UTC) + timedelta(days=1)  # 2027-05-01, Sat
    assert calendar.is_holiday(next_may_day.date())  # outside the pinned years: the package


# ---------------------------------------------------------------------- next milestone

_OFFICE = BusinessCalendar.from_mapping(POLICY["calendars"]["office"], name="office")
_ALWAYS = BusinessCalendar.from_mapping({"timezone": "UTC", "hours": "always"}, name="24x7")
_STATES = st.sampled_from(
    [("in_progress", None), ("on_hold", "awaiting_caller"), ("on_hold", "awaiting_vendor"),
     ("resolved", None), ("in_progress", None), ("closed", None), ("canceled", None)]
)  # fmt: skip


@st.composite
def _timed_tickets(
    draw: st.DrawFn, max_phases: int = 6
) -> tuple[SlaTimer, list[Phase], BusinessCalendar]:
    """A timer, the phases of a ticket and a calendar; some milestones already recorded."""
    phases = [Phase(T0, "new")]
    for minutes, (state, reason) in draw(
        st.lists(st.tuples(st.integers(1, 3000), _STATES), max_size=max_phases)
    ):
        phases.append(Phase(phases[-1].at + timedelta(minutes=minutes), state, reason))
        if state in {"closed", "canceled"}:
            break
    terms = SlaTerms(
        name="S",
        kind=draw(st.sampled_from([SlaKind.RESPONSE, SlaKind.RESOLUTION])),
        target_seconds=draw(st.integers(60, 5 * 86_400)),
        calendar="c",
        pause_on=("awaiting_caller",),
        warn_at=tuple(sorted(draw(st.sets(st.integers(1, 99), max_size=3)))),
    )
    timer = SlaTimer(terms=terms, policy_version=1, started_at=T0)
    timer.warnings_recorded = sorted(draw(st.sets(st.sampled_from(terms.warn_at or (1,)))))
    if draw(st.booleans()):
        timer.breach_recorded = T0
    return timer, phases, draw(st.sampled_from([_OFFICE, _ALWAYS]))


@settings(max_examples=300, deadline=None)
@given(_timed_tickets(), st.integers(0, 20 * 86_400))
def test_nothing_is_due_before_the_next_milestone(
    timed: tuple[SlaTimer, list[Phase], BusinessCalendar], seconds: int
) -> None:
    """Catching up may skip a timer until its next milestone: up to that instant
    due_milestones finds nothing; just after it, the milestone is due (unless the ticket
    was canceled or closed, which ends every timer)."""
    timer, phases, calendar = timed
    upcoming = next_milestone(timer, phases, calendar)
    until = T0 + timedelta(seconds=seconds)
    if upcoming is None or until <= upcoming:
        assert not due_milestones(timer, phases, calendar, until)
    if upcoming is not None and phases[-1].state not in {"closed", "canceled"}:
        later = max(until, upcoming + timedelta(microseconds=1))
        assert upcoming == due_milestones(timer, phases, calendar, later)[0].instant


@settings(max_examples=500, deadline=None)
@given(_timed_tickets(max_phases=16), st.data())
def test_a_resumed_walk_finds_what_a_whole_walk_finds(
    timed: tuple[SlaTimer, list[Phase], BusinessCalendar], data: st.DataObject
) -> None:
    """A desk keeps next_milestone's walk over a ticket's phases and resumes it on the next
    command: as phases are appended and milestones recorded one by one, the resumed walk
    gives what a walk from the first phase gives, every time."""
    timer, phases, calendar = timed
    walks = MilestoneWalks()
    grown: list[Phase] = []
    for phase in phases:
        grown.append(phase)
        resumed = next_milestone(timer, grown, calendar, walks)
        assert resumed == next_milestone(timer, list(grown), calendar)
        if resumed is not None and data.draw(st.booleans()):  # the clock passed it
            due = due_milestones(timer, grown, calendar, resumed + timedelta(microseconds=1))
            for milestone in due:
                if milestone.threshold is None:
                    timer.breach_recorded = milestone.instant
                elif milestone.threshold not in timer.warnings_recorded:
                    timer.warnings_recorded.append(milestone.threshold)
            assert next_milestone(timer, grown, calendar, walks) == next_milestone(
                timer, list(grown), calendar
            )


def test_a_walk_is_not_resumed_over_other_phases() -> None:
    """The kept walk belongs to one list of phases: the same timer over another list (or one
    cut short and grown differently) is walked from its first phase."""
    terms = SlaTerms(name="S", kind=SlaKind.RESOLUTION, target_seconds=8 * 3600, calendar="c",
                     pause_on=("awaiting_caller",), warn_at=())  # fmt: skip
    timer = SlaTimer(terms=terms, policy_version=1, started_at=T0)
    held = [
        Phase(T0, "new"),
        Phase(T0 + H, "on_hold", "awaiting_caller"),
        Phase(T0 + 2 * H, "in_progress"),
    ]
    walks = MilestoneWalks()
    assert next_milestone(timer, held, _ALWAYS, walks) == T0 + 9 * H  # an hour paused
    held[1:] = [Phase(T0 + 2 * H, "in_progress")]  # rewritten in place: never paused
    assert next_milestone(timer, held, _ALWAYS, walks) == T0 + 8 * H
    other = [Phase(T0, "new"), Phase(T0 + H / 2, "on_hold", "awaiting_caller")]
    assert next_milestone(timer, other, _ALWAYS, walks) is None  # paused for good


def test_a_resumed_walk_remembers_the_warnings_it_passed() -> None:
    """A warning recorded and passed before the walk was kept is not looked at again, and
    the next one is still found after a pause."""
    terms = SlaTerms(name="S", kind=SlaKind.RESOLUTION, target_seconds=8 * 3600, calendar="c",
                     pause_on=("awaiting_caller",), warn_at=(25, 50))  # fmt: skip
    timer = SlaTimer(terms=terms, policy_version=1, started_at=T0)
    walks = MilestoneWalks()
    phases = [Phase(T0, "new")]
    assert next_milestone(timer, phases, _ALWAYS, walks) == T0 + 2 * H  # 25%
    timer.warnings_recorded.append(25)
    phases.append(Phase(T0 + 3 * H, "on_hold", "awaiting_caller"))
    assert next_milestone(timer, phases, _ALWAYS, walks) is None  # paused
    phases.append(Phase(T0 + 5 * H, "in_progress"))
    assert next_milestone(timer, phases, _ALWAYS, walks) == T0 + 6 * H  # 50%: 4h running
    assert next_milestone(timer, phases, _ALWAYS, walks) == T0 + 6 * H  # resumed again
