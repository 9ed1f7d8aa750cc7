"""What the suite measures: one :class:`Record` per figure, and the goals it is held to.

A record carries DeskLedger's value, the baseline measured in the same run (a bare
eventsourcing equivalent, or what ``baseline_is`` says: a smaller log, the interpreter's own
start-up), their ratio (DeskLedger / baseline, whatever the unit) and whether the goal is met.
A goal is text for people and a test over the record; a figure that could not be measured
(PostgreSQL not reachable) has ``deskledger`` None and ``met`` None, with the reason in
``note``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Goal:
    text: str
    holds: Callable[[float, float | None], bool]  # (deskledger, ratio) -> met

    def __and__(self, other: Goal) -> Goal:
        def both(value: float, ratio: float | None) -> bool:
            return self.holds(value, ratio) and other.holds(value, ratio)

        return Goal(f"{self.text} and {other.text}", both)


def at_least(value: float, unit: str) -> Goal:
    return Goal(f">= {value:,g} {unit}", lambda v, _: v >= value)


def below(value: float, unit: str) -> Goal:
    return Goal(f"< {value:,g} {unit}", lambda v, _: v < value)


def ratio_at_least(value: float, of: str = "bare") -> Goal:
    return Goal(f">= {value:g}x {of}", lambda _, r: r is not None and r >= value)


def ratio_at_most(value: float, of: str) -> Goal:
    return Goal(f"<= {value:g}x {of}", lambda _, r: r is not None and r <= value)


@dataclass
class Record:
    """One figure of the suite, as written to ``results.json``."""

    figure: str
    title: str
    unit: str
    deskledger: float | None
    baseline: float | None = None
    baseline_is: str | None = None
    goal: Goal | None = None
    size: str = ""
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.deskledger is None or not self.baseline:
            return None
        return self.deskledger / self.baseline

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.deskledger is None:
            return None
        return self.goal.holds(self.deskledger, self.ratio)

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "figure": self.figure,
            "title": self.title,
            "unit": self.unit,
            "deskledger": _rounded(self.deskledger),
            "baseline": _rounded(self.baseline),
            "baseline_is": self.baseline_is,
            "ratio": None if ratio is None else round(ratio, 3),
            "goal": None if self.goal is None else self.goal.text,
            "met": self.met,
            "size": self.size,
            "note": self.note,
            "details": self.details,
        }


def _rounded(value: float | None) -> float | None:
    if value is None:
        return None
    if abs(value) >= 100:
        return round(value, 1)
    return round(value, 4)


def skipped(figure: str, title: str, unit: str, reason: str, goal: Goal | None = None) -> Record:
    """A figure that could not be measured in this run, and why."""
    return Record(figure, title, unit, None, goal=goal, note=reason)
