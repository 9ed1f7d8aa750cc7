"""SLA timers evaluated incrementally, for a reader that follows a ticket event by event.

:func:`engine.sla.evaluate` walks every phase of the ticket and asks the calendar about every
running interval, at each call: following a ticket through its events, that is the same
calendar arithmetic again for every earlier phase at every event. A ticket's phases are only
ever appended to and its events mostly come in time order, so what the walk found over the
phases already seen stays true: :class:`TimerProgress` keeps it (the elapsed time of the
closed intervals, the breach and due instants found in them, the open interval's start and
due instant, the ticket's state) and walks only the phases added since.

The result is always exactly ``evaluate(timer, phases, calendar, at, with_warnings=False)``:
the same arithmetic on the same intervals, in the same order. Whenever what was kept may no
longer hold — another timer, calendar or phase list, phases seen that are no longer a prefix
of the ticket's, or an instant before a phase already walked — it starts again from the first
phase.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.sla import Calendar, Phase, SlaTerms, SlaTimer, TimerStatus, verdict
from engine.vocabulary import SlaKind, TicketState

_FINISHING = frozenset({TicketState.CLOSED, TicketState.CANCELED})
_NOT_LEFT_NEW = frozenset({TicketState.NEW, TicketState.CANCELED})
_ZERO = timedelta(0)


class TimerProgress:
    """One timer of one ticket, evaluated at each of the ticket's events in turn."""

    __slots__ = (
        "_breached_at",
        "_calendar",
        "_due_at",
        "_elapsed",
        "_finished_at",
        "_last",
        "_left_new",
        "_open_due",
        "_phases",
        "_running_since",
        "_seen",
        "_state",
        "_state_latest",
        "_state_seen",
        "_target",
        "_terms",
        "_timer",
        "_walked",
        "_walked_latest",
    )

    def __init__(self) -> None:
        self._timer: SlaTimer | None = None
        self._calendar: Calendar | None = None
        self._phases: list[Phase] | None = None
        self._terms: SlaTerms | None = None
        self._target = _ZERO
        self._restart()

    def _restart(self) -> None:
        # The phases checked to be unchanged: the first _seen, the last of them _last.
        self._seen = 0
        self._last: Phase | None = None
        # The running intervals, walked over the first _walked phases (latest instant
        # _walked_latest): the closed ones summed up, the open one's start and due instant.
        self._walked = 0
        self._walked_latest: datetime | None = None
        self._running_since: datetime | None = None
        self._finished_at: datetime | None = None
        self._elapsed = _ZERO
        self._breached_at: datetime | None = None
        self._due_at: datetime | None = None
        self._open_due: datetime | None = None
        # The ticket's state, walked over the first _state_seen phases.
        self._state_seen = 0
        self._state_latest: datetime | None = None
        self._state: str | None = None
        self._left_new = False

    def evaluate(
        self, timer: SlaTimer, phases: list[Phase], calendar: Calendar, at: datetime
    ) -> TimerStatus:
        """``evaluate(timer, phases, calendar, at, with_warnings=False)``, walking only what
        it has not walked before."""
        if timer is not self._timer or calendar is not self._calendar or phases is not self._phases:
            self._timer, self._calendar, self._phases = timer, calendar, phases
            self._target = timer.target
            self._terms = timer.terms
            self._restart()
        elif timer.terms is not self._terms or not self._unchanged(phases):
            self._target = timer.target
            self._terms = timer.terms
            self._restart()
        self._seen = len(phases)
        self._last = phases[-1] if phases else None
        limit = at
        if timer.canceled_at is not None and timer.canceled_at < limit:
            limit = timer.canceled_at
        if self._walked_latest is not None and limit < self._walked_latest:
            self._restart_walk()
        if self._state_latest is not None and at < self._state_latest:
            self._state_seen, self._state_latest, self._state, self._left_new = 0, None, None, False
        self._walk(timer, phases, calendar, limit)
        self._walk_states(phases, at)
        elapsed, due_at, breached_at = self._elapsed, self._due_at, self._breached_at
        running_since = self._running_since
        if running_since is not None:  # the open interval, up to the limit
            if breached_at is None:
                instant = self._open_due
                if instant is None:
                    instant = self._open_due = self._due(calendar, running_since, elapsed)
                if instant < limit:
                    breached_at = instant
                due_at = instant
            elapsed += calendar.elapsed(running_since, limit)
        return verdict(
            timer,
            at,
            elapsed,
            due_at,
            breached_at,
            running=running_since is not None and self._finished_at is None,
            finished_at=self._finished_at,
            state_at=self._state,
            left_new=self._left_new,
        )

    def _unchanged(self, phases: list[Phase]) -> bool:
        """Whether the phases seen last time are still the first ones (phases are appended)."""
        seen = self._seen
        return len(phases) >= seen and (seen == 0 or phases[seen - 1] is self._last)

    def _restart_walk(self) -> None:
        self._walked, self._walked_latest = 0, None
        self._running_since = self._finished_at = None
        self._elapsed = _ZERO
        self._breached_at = self._due_at = self._open_due = None

    def _due(self, calendar: Calendar, start: datetime, elapsed: timedelta) -> datetime:
        """When the target is reached running from ``start`` with ``elapsed`` already used."""
        target = self._target
        return calendar.add(start, target - elapsed) if elapsed <= target else start

    def _walk(
        self, timer: SlaTimer, phases: list[Phase], calendar: Calendar, limit: datetime
    ) -> None:
        """:func:`engine.sla.running_segments` and :func:`engine.sla.evaluate`'s sum over the
        closed intervals, from the first phase not walked yet up to ``limit``."""
        index, count = self._walked, len(phases)
        response = timer.terms.kind == SlaKind.RESPONSE
        runs_in = timer.runs_in
        while index < count and self._finished_at is None:
            phase = phases[index]
            at = phase.at
            if at > limit:
                break
            state = phase.state
            runs = runs_in(state, phase.hold_reason)
            running_since = self._running_since
            if runs and running_since is None:
                self._running_since, self._open_due = at, None
            elif not runs and running_since is not None:
                if self._breached_at is None:
                    instant = self._due(calendar, running_since, self._elapsed)
                    if instant < at:
                        self._breached_at = instant
                    self._due_at = instant
                self._elapsed += calendar.elapsed(running_since, at)
                self._running_since = self._open_due = None
            if state in _FINISHING or (response and state != TicketState.NEW):
                self._finished_at = at
            if self._walked_latest is None or at > self._walked_latest:
                self._walked_latest = at
            index += 1
        self._walked = index

    def _walk_states(self, phases: list[Phase], at: datetime) -> None:
        """``engine.sla._state_at``, from the first phase not walked yet up to ``at``."""
        index, count = self._state_seen, len(phases)
        while index < count:
            phase = phases[index]
            if phase.at > at:
                break
            self._state = phase.state
            if phase.state not in _NOT_LEFT_NEW:
                self._left_new = True
            if self._state_latest is None or phase.at > self._state_latest:
                self._state_latest = phase.at
            index += 1
        self._state_seen = index
