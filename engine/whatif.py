"""What-if: re-score history under another policy, writing nothing (docs/sla.md).

For each ticket (optionally only those opened in a period), the SLAs of the other policy that
apply to the ticket as it is now are run over its whole recorded history — the same way a
priority change re-targets timers retroactively — on the other policy's calendars. The report
lists every verdict that would differ and the compliance per SLA on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from engine.calendar import BusinessCalendar
from engine.policy import Policy
from engine.sla import SlaTimer, TimerStatus, evaluate
from engine.ticket import Ticket
from engine.vocabulary import SlaStage


@dataclass(frozen=True)
class VerdictChange:
    ref: str
    sla: str
    actual: str | None  # stage under the recorded timers, None when the SLA did not apply
    what_if: str | None  # stage under the other policy, None when it would not apply
    actual_breached_at: datetime | None
    what_if_breached_at: datetime | None


@dataclass
class Compliance:
    achieved: int = 0
    breached: int = 0

    @property
    def completed(self) -> int:
        return self.achieved + self.breached

    @property
    def rate(self) -> float | None:
        return self.achieved / self.completed if self.completed else None


@dataclass
class WhatIfReport:
    tickets: int = 0
    changes: list[VerdictChange] = field(default_factory=list)
    actual: dict[str, Compliance] = field(default_factory=dict)
    what_if: dict[str, Compliance] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        def rates(side: dict[str, Compliance]) -> dict[str, object]:
            return {
                name: {"achieved": c.achieved, "breached": c.breached, "rate": c.rate}
                for name, c in sorted(side.items())
            }

        return {
            "tickets": self.tickets,
            "changes": [
                {
                    "ref": c.ref,
                    "sla": c.sla,
                    "actual": c.actual,
                    "what_if": c.what_if,
                    "actual_breached_at": c.actual_breached_at.isoformat()
                    if c.actual_breached_at
                    else None,
                    "what_if_breached_at": c.what_if_breached_at.isoformat()
                    if c.what_if_breached_at
                    else None,
                }
                for c in self.changes
            ],
            "compliance": {"actual": rates(self.actual), "what_if": rates(self.what_if)},
        }


def _tally(side: dict[str, Compliance], status: TimerStatus) -> None:
    tally = side.setdefault(status.name, Compliance())
    if status.stage == SlaStage.ACHIEVED:
        tally.achieved += 1
    elif status.stage == SlaStage.BREACHED:
        tally.breached += 1


def hypothetical_statuses(
    ticket: Ticket, policy: Policy, calendars: dict[str, BusinessCalendar], at: datetime
) -> list[TimerStatus]:
    """The timers ``policy`` would have run on ``ticket``, evaluated at ``at``."""
    if ticket.opened_at is None:
        return []
    statuses = []
    for definition in policy.slas:
        if not definition.applies(
            ticket_kind=ticket.kind,
            priority=ticket.priority,
            category=ticket.category,
            group=ticket.assignment_group,
        ):
            continue
        calendar = calendars[definition.terms.calendar]
        terms = definition.terms_for(ticket.opened_at, calendar)
        timer = SlaTimer(terms=terms, policy_version=-1, started_at=ticket.opened_at)
        statuses.append(evaluate(timer, ticket.phases, calendar, at))
    return statuses


def what_if(
    tickets: Iterable[tuple[Ticket, list[TimerStatus]]],
    policy: Policy,
    at: datetime,
    *,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
) -> WhatIfReport:
    """Compare the recorded verdicts (``tickets``: each ticket with its evaluated timers)
    with those ``policy`` would give, for tickets opened in [opened_from, opened_to)."""
    calendars = {
        name: BusinessCalendar.from_mapping(mapping, name=name)
        for name, mapping in policy.calendars.items()
    }
    report = WhatIfReport()
    for ticket, recorded in tickets:
        opened = ticket.opened_at
        if opened is None:
            continue
        if opened_from is not None and opened < opened_from:
            continue
        if opened_to is not None and opened >= opened_to:
            continue
        report.tickets += 1
        actual = {s.name: s for s in recorded if s.stage != SlaStage.CANCELED}
        other = {s.name: s for s in hypothetical_statuses(ticket, policy, calendars, at)}
        for status in actual.values():
            _tally(report.actual, status)
        for status in other.values():
            _tally(report.what_if, status)
        for name in sorted(set(actual) | set(other)):
            mine, theirs = actual.get(name), other.get(name)
            verdict_mine = mine.stage if mine else None
            verdict_theirs = theirs.stage if theirs else None
            if verdict_mine != verdict_theirs or (
                mine and theirs and mine.breached_at != theirs.breached_at
            ):
                report.changes.append(
                    VerdictChange(
                        ref=ticket.ref,
                        sla=name,
                        actual=verdict_mine,
                        what_if=verdict_theirs,
                        actual_breached_at=mine.breached_at if mine else None,
                        what_if_breached_at=theirs.breached_at if theirs else None,
                    )
                )
    return report
