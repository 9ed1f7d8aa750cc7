"""Why a timer stands where it does: an SLA verdict that explains itself.

For each timer of a ticket, :func:`explain` lists what went into its verdict, enough to redo
the arithmetic by hand: the policy version and business calendar it is pinned to, the
intervals in which it ran, each working period counted inside them (their durations add up to
the elapsed time exactly), every pause with its hold reason, the intervals excluded while the
ticket was resolved, and the target, elapsed time, due time and verdict. A target written in
working days (``3bd``) also says where it landed: the instant it was counted from, its
nominal due and the working time between them, which became the timer's target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.business_days import BusinessDue
from engine.calendar import BusinessCalendar
from engine.sla import Phase, SlaTimer, TimerStatus, evaluate, running_segments
from engine.vocabulary import SlaKind, SlaStage, TicketState


@dataclass(frozen=True)
class Interval:
    """``[start, end)`` with a note (a hold reason, "resolved"...)."""

    start: datetime
    end: datetime
    note: str = ""

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seconds": self.seconds,
        }
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True)
class Explanation:
    """One timer's verdict and everything it was computed from."""

    status: TimerStatus
    started_at: datetime
    calendar: Mapping[str, Any]
    ran: list[Interval] = field(default_factory=list)
    counted: list[Interval] = field(default_factory=list)
    paused: list[Interval] = field(default_factory=list)
    excluded: list[Interval] = field(default_factory=list)
    business_days: BusinessDue | None = None

    @property
    def verdict(self) -> str:
        status = self.status
        if status.stage == SlaStage.BREACHED and status.breached_at is not None:
            return f"breached at {status.breached_at.isoformat()}"
        if status.stage == SlaStage.ACHIEVED:
            return "achieved: stopped before its target"
        if status.stage == SlaStage.CANCELED:
            return "canceled: it no longer applies (or the ticket was canceled)"
        if status.stage == SlaStage.PAUSED:
            return "paused: the ticket is on hold for a reason that pauses it"
        due = status.due_at.isoformat() if status.due_at else "-"
        return f"running: due at {due}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.status.as_dict(),
            "started_at": self.started_at.isoformat(),
            "calendar_definition": dict(self.calendar),
            "verdict": self.verdict,
            "ran": [i.as_dict() for i in self.ran],
            "working_periods": [i.as_dict() for i in self.counted],
            "paused": [i.as_dict() for i in self.paused],
            "excluded_while_resolved": [i.as_dict() for i in self.excluded],
            "counted_seconds": sum(i.seconds for i in self.counted),
            "business_days": None if self.business_days is None else self.business_days.as_dict(),
        }


def explain(
    timer: SlaTimer,
    phases: list[Phase],
    calendar: BusinessCalendar,
    definition: Mapping[str, Any],
    at: datetime,
    *,
    business_days: BusinessDue | None = None,
) -> Explanation:
    """Everything ``timer``'s verdict at ``at`` rests on (``definition``: its calendar's
    mapping in the pinned policy version; ``business_days``: where its target in working
    days landed, if it has one)."""
    status = evaluate(timer, phases, calendar, at)
    segments, _, _ = running_segments(timer, phases, at)
    ran = [Interval(start, end) for start, end in segments]
    counted = [
        Interval(start, end) for segment in ran for start, end in calendar.working_periods(
            segment.start, segment.end
        )
    ]  # fmt: skip
    paused: list[Interval] = []
    excluded: list[Interval] = []
    for index, phase in enumerate(phases):
        if phase.at > at:
            break
        following = phases[index + 1].at if index + 1 < len(phases) else at
        end = min(following, at)
        if end <= phase.at:
            continue
        if (
            timer.kind == SlaKind.RESOLUTION
            and phase.state == TicketState.ON_HOLD
            and phase.hold_reason in timer.terms.pause_on
        ):
            paused.append(Interval(phase.at, end, str(phase.hold_reason)))
        elif timer.kind == SlaKind.RESOLUTION and phase.state == TicketState.RESOLVED:
            excluded.append(Interval(phase.at, end, "resolved"))
    return Explanation(
        status, timer.started_at, definition, ran, counted, paused, excluded, business_days
    )
