"""Clocks are injected: the domain never reads the wall clock itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current instant as an aware datetime."""

    def now(self) -> datetime: ...


class SimulatedClock:
    """A clock that only moves when told to: scenarios, tests and replays use it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        """Move the clock to ``instant`` (it may not go backwards)."""
        if instant.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware datetime")
        if instant < self._now:
            raise ValueError(f"clock cannot go back from {self._now} to {instant}")
        self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        self.set(self._now + delta)
        return self._now


class FixedClock:
    """A clock stuck at one instant (deterministic ``recorded_at`` in tests)."""

    def __init__(self, instant: datetime) -> None:
        self._instant = instant

    def now(self) -> datetime:
        return self._instant
