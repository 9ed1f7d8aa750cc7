"""The incremental SLA evaluation (engine.sla_progress) gives exactly what engine.sla.evaluate
gives, event after event, however the phases, instants and cancellations come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import BusinessCalendar
from engine.sla import Phase, SlaTerms, SlaTimer, evaluate
from engine.sla_progress import TimerProgress
from engine.vocabulary import SlaKind

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
_OFFICE = BusinessCalendar.from_mapping(
    {
        "timezone": "Europe/Paris",
        "hours": {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-03-04"],
    },
    name="office",
)
_ALWAYS = BusinessCalendar.from_mapping({"timezone": "UTC", "hours": "always"}, name="24x7")
_PHASES = st.sampled_from(
    [("new", None), ("in_progress", None), ("on_hold", "awaiting_caller"),
     ("on_hold", "awaiting_vendor"), ("resolved", None), ("closed", None), ("canceled", None)]
)  # fmt: skip
_MINUTES = st.integers(-300, 4000) | st.just(0)


@dataclass(frozen=True)
class Step:
    """One event of the ticket: phases it enters, a cancellation, the instant it is read at."""

    phases: list[tuple[int, tuple[str, str | None]]]
    cancel_after: int | None
    read_after: int
    new_list: bool


_STEPS = st.lists(
    st.builds(
        Step,
        phases=st.lists(st.tuples(_MINUTES, _PHASES), max_size=2),
        cancel_after=st.none() | st.none() | st.none() | _MINUTES,
        read_after=_MINUTES,
        new_list=st.integers(0, 9).map(lambda n: n == 0),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from([SlaKind.RESPONSE, SlaKind.RESOLUTION]),
    target_seconds=st.integers(1, 4 * 86_400),
    calendars=st.lists(st.sampled_from([_OFFICE, _ALWAYS]), min_size=1, max_size=2),
    steps=_STEPS,
)
def test_incremental_statuses_equal_evaluate(
    kind: SlaKind, target_seconds: int, calendars: list[BusinessCalendar], steps: list[Step]
) -> None:
    terms = SlaTerms("S", kind, target_seconds, "c", pause_on=("awaiting_caller",))
    timer = SlaTimer(terms=terms, policy_version=1, started_at=T0)
    phases = [Phase(T0, "new")]
    progress = TimerProgress()
    latest = T0
    for number, step in enumerate(steps):
        if step.new_list:  # the ticket loaded again: another list, the same phases
            phases = list(phases)
        for minutes, (state, reason) in step.phases:
            latest = latest + timedelta(minutes=minutes)
            phases.append(Phase(latest, state, reason))
        if step.cancel_after is not None and timer.canceled_at is None:
            timer.canceled_at = latest + timedelta(minutes=step.cancel_after)
        at = latest + timedelta(minutes=step.read_after)
        calendar = calendars[number % len(calendars)]
        expected = evaluate(timer, phases, calendar, at, with_warnings=False)
        assert progress.evaluate(timer, phases, calendar, at) == expected


def test_a_timer_read_again_after_its_breach_keeps_its_instants() -> None:
    """The open interval's due instant is kept between events: reading later, and after a
    hold that closes the interval, still gives evaluate's breach and elapsed time."""
    terms = SlaTerms("S", SlaKind.RESOLUTION, 3600, "c", pause_on=("awaiting_caller",))
    timer = SlaTimer(terms=terms, policy_version=1, started_at=T0)
    phases = [Phase(T0, "new")]
    progress = TimerProgress()
    events = [
        (T0 + timedelta(minutes=30), None),
        (T0 + timedelta(hours=3), Phase(T0 + timedelta(hours=3), "on_hold", "awaiting_caller")),
        (T0 + timedelta(hours=5), Phase(T0 + timedelta(hours=5), "in_progress")),
        (T0 + timedelta(hours=30), None),
    ]
    for at, phase in events:
        if phase is not None:
            phases.append(phase)
        status = progress.evaluate(timer, phases, _OFFICE, at)
        assert status == evaluate(timer, phases, _OFFICE, at, with_warnings=False)
    assert status.breached_at is not None
