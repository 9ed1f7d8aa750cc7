"""SLA timers (docs/sla.md): pure evaluation of a timer over a ticket's state history.

A timer is *defined* by an ``SlaTimerStarted`` event (pinned to the policy version — and so
the calendar — it started under) and *runs* according to the ticket's lifecycle:

* ``response`` runs while the ticket is ``new`` and stops (achieved) the first time it leaves
  ``new`` — picked up, put on hold or resolved;
* ``resolution`` runs while the ticket is ``new``, ``in_progress`` or ``on_hold`` for a reason
  not in ``pause_on``; pauses on hold for a pausing reason; stops when resolved, runs again
  when reopened (time spent resolved does not count), and is final when closed;
* ``canceled`` cancels every timer that has not finished; so does a priority change that makes
  the timer's SLA no longer apply (``SlaTimerCanceled``).

Running intervals are derived from the ticket's *phases* (each state entered, with its instant
and hold reason), so a timer started retroactively after a priority change is computed over the
whole history exactly like one that ran from the start. Elapsed time is business time on the
timer's calendar. A timer *breaches* at the instant its elapsed time reaches the target while it
keeps running past that instant (the due time); a ticket resolved exactly at its due time made
it. Warnings are reached the same way at each ``warn_at`` percentage of the target.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from engine.vocabulary import SlaKind, SlaStage, TicketState

RESPONSE, RESOLUTION = SlaKind.RESPONSE, SlaKind.RESOLUTION
_FINISHING = frozenset({TicketState.CLOSED, TicketState.CANCELED})
_ALWAYS_RUNNING = frozenset({TicketState.NEW, TicketState.IN_PROGRESS})
_NOT_LEFT_NEW = frozenset({TicketState.NEW, TicketState.CANCELED})
_NOT_DUE = frozenset({SlaStage.PAUSED, SlaStage.ACHIEVED, SlaStage.CANCELED})


class Calendar(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...


@dataclass(frozen=True)
class Phase:
    """The ticket entered ``state`` at ``at`` (with ``hold_reason`` when on hold)."""

    at: datetime
    state: str
    hold_reason: str | None = None


@dataclass(frozen=True)
class SlaTerms:
    """What an SLA promises: the one value object shared by the policy's definition, the
    running timer, the ``SlaTimerStarted`` event and the snapshot transcoding."""

    name: str
    kind: SlaKind
    target_seconds: int
    calendar: str
    pause_on: tuple[str, ...] = ()
    warn_at: tuple[int, ...] = (50, 75, 90)

    @property
    def target(self) -> timedelta:
        return timedelta(seconds=self.target_seconds)

    def as_fields(self) -> dict[str, Any]:
        """The terms as the flat, JSON-able fields events and snapshots store."""
        return {
            "name": self.name,
            "kind": str(self.kind),
            "target_seconds": self.target_seconds,
            "calendar": self.calendar,
            "pause_on": list(self.pause_on),
            "warn_at": list(self.warn_at),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> SlaTerms:
        return cls(
            name=fields["name"],
            kind=SlaKind(fields["kind"]),
            target_seconds=int(fields["target_seconds"]),
            calendar=fields["calendar"],
            pause_on=tuple(fields["pause_on"]),
            warn_at=tuple(fields["warn_at"]),
        )


@dataclass
class SlaTimer:
    """A timer as recorded on the ticket: its terms, pinned policy version and milestones."""

    terms: SlaTerms
    policy_version: int
    started_at: datetime
    retroactive: bool = False
    canceled_at: datetime | None = None
    warnings_recorded: list[int] = field(default_factory=list)
    breach_recorded: datetime | None = None

    @property
    def name(self) -> str:
        return self.terms.name

    @property
    def kind(self) -> SlaKind:
        return self.terms.kind

    @property
    def target_seconds(self) -> int:
        return self.terms.target_seconds

    @property
    def calendar(self) -> str:
        return self.terms.calendar

    @property
    def target(self) -> timedelta:
        return self.terms.target

    def runs_in(self, state: str, hold_reason: str | None) -> bool:
        if self.terms.kind == RESPONSE:
            return state == TicketState.NEW
        if state in _ALWAYS_RUNNING:
            return True
        return state == TicketState.ON_HOLD and hold_reason not in self.terms.pause_on


class TimerStatus(NamedTuple):
    """A timer evaluated at an instant: the §9 fields plus what reports need.

    (A NamedTuple rather than a frozen dataclass: bulk evaluation builds hundreds of
    thousands of these, and tuples are several times cheaper to construct.)
    """

    name: str
    kind: SlaKind
    target_seconds: int
    elapsed_seconds: float
    due_at: datetime | None
    stage: SlaStage
    breached_at: datetime | None
    policy_version: int
    calendar: str
    warnings: tuple[tuple[int, datetime], ...] = ()
    stopped_at: datetime | None = None

    @property
    def completed(self) -> bool:
        """Counted in adherence: achieved, or breached (whatever happens next)."""
        return self.stage in {SlaStage.ACHIEVED, SlaStage.BREACHED}

    def as_dict(self) -> dict[str, object]:
        """The keys of :data:`TIMER_FIELDS`."""
        return {
            "name": self.name,
            "kind": str(self.kind),
            "target_seconds": self.target_seconds,
            "elapsed_seconds": self.elapsed_seconds,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "stage": str(self.stage),
            "breached_at": self.breached_at.isoformat() if self.breached_at else None,
            "policy_version": self.policy_version,
            "calendar": self.calendar,
            "warnings": [
                {"threshold": threshold, "reached_at": at.isoformat()}
                for threshold, at in self.warnings
            ],
        }


#: The keys of :meth:`TimerStatus.as_dict`.
TIMER_FIELDS = (
    "name",
    "kind",
    "target_seconds",
    "elapsed_seconds",
    "due_at",
    "stage",
    "breached_at",
    "policy_version",
    "calendar",
    "warnings",
)


def running_segments(
    timer: SlaTimer, phases: list[Phase], until: datetime
) -> tuple[list[tuple[datetime, datetime]], bool, datetime | None]:
    """Intervals in which the timer ran, up to ``until``.

    Returns the closed intervals, whether the timer is still running at ``until`` and, if it
    has finished for good (response achieved, ticket closed or canceled), when.
    """
    limit = until
    if timer.canceled_at is not None and timer.canceled_at < limit:
        limit = timer.canceled_at
    segments: list[tuple[datetime, datetime]] = []
    running_since: datetime | None = None
    finished_at: datetime | None = None
    runs_in = timer.runs_in
    response = timer.terms.kind == RESPONSE
    for phase in phases:
        at = phase.at
        if at > limit or finished_at is not None:
            break
        state = phase.state
        runs = runs_in(state, phase.hold_reason)
        if runs and running_since is None:
            running_since = at
        elif not runs and running_since is not None:
            segments.append((running_since, at))
            running_since = None
        if state in _FINISHING or (response and state != TicketState.NEW):
            finished_at = at
    if running_since is not None:
        segments.append((running_since, limit))
    return segments, running_since is not None and finished_at is None, finished_at


def evaluate(
    timer: SlaTimer,
    phases: list[Phase],
    calendar: Calendar,
    at: datetime,
    *,
    with_warnings: bool = True,
) -> TimerStatus:
    """The timer's stage, elapsed business time, due and breach instants as of ``at``.

    ``with_warnings=False`` skips locating the warning instants (bulk views that only need
    stage, elapsed and due time).
    """
    segments, running, finished_at = running_segments(timer, phases, at)
    target = timer.target
    elapsed = timedelta(0)
    breached_at: datetime | None = None
    warnings: list[tuple[int, datetime]] = []
    pending = [(pct, target * pct / 100) for pct in timer.terms.warn_at] if with_warnings else []
    due_at: datetime | None = None
    for start, end in segments:
        while pending and pending[0][1] >= elapsed:
            pct, mark = pending[0]
            instant = calendar.add(start, mark - elapsed)
            if instant >= end:
                break
            warnings.append((pct, instant))
            pending.pop(0)
        if breached_at is None:
            instant = calendar.add(start, target - elapsed) if elapsed <= target else start
            if instant < end:
                breached_at = instant
            due_at = instant
        elapsed += calendar.elapsed(start, end)
    state_at, left_new = _state_at(phases, at)
    return verdict(
        timer,
        at,
        elapsed,
        due_at,
        breached_at,
        running=running,
        finished_at=finished_at,
        state_at=state_at,
        left_new=left_new,
        warnings=tuple(warnings),
    )


def verdict(
    timer: SlaTimer,
    at: datetime,
    elapsed: timedelta,
    due_at: datetime | None,
    breached_at: datetime | None,
    *,
    running: bool,
    finished_at: datetime | None,
    state_at: str | None,
    left_new: bool,
    warnings: tuple[tuple[int, datetime], ...] = (),
) -> TimerStatus:
    """The timer's status at ``at`` from what the walk over its running intervals found
    (business time ``elapsed``, due and breach instants, whether it runs on, when it finished
    for good) and the ticket's state at ``at``: the one place the stage is decided, for
    :func:`evaluate` and the incremental :class:`engine.sla_progress.TimerProgress` alike."""
    retargeted_away = timer.canceled_at is not None and timer.canceled_at <= at
    canceled_ticket = state_at == TicketState.CANCELED and not (timer.kind == RESPONSE and left_new)
    stage: SlaStage
    if retargeted_away or canceled_ticket:
        stage = SlaStage.CANCELED
    elif breached_at is not None:
        stage = SlaStage.BREACHED
    elif running:
        stage = SlaStage.IN_PROGRESS
    elif timer.kind == RESOLUTION and state_at == TicketState.ON_HOLD:
        stage = SlaStage.PAUSED
    else:
        stage = SlaStage.ACHIEVED
    if stage in _NOT_DUE:
        due_at = None
    elif stage == SlaStage.BREACHED:
        due_at = breached_at
    terms = timer.terms
    return TimerStatus(  # positional, in field order: one per timer and event in bulk reads
        terms.name,
        terms.kind,
        terms.target_seconds,
        elapsed.total_seconds(),
        due_at,
        stage,
        breached_at,
        timer.policy_version,
        terms.calendar,
        warnings,
        finished_at,
    )


def _state_at(phases: list[Phase], at: datetime) -> tuple[str | None, bool]:
    """The ticket's state at ``at`` and whether it had left ``new`` (other than canceled)."""
    state = None
    left_new = False
    for phase in phases:
        if phase.at > at:
            break
        state = phase.state
        if state not in _NOT_LEFT_NEW:
            left_new = True
    return state, left_new


@dataclass(frozen=True)
class Milestone:
    """A warning or breach that is due to be recorded as an event."""

    timer: str
    instant: datetime
    threshold: int | None  # None for the breach


def due_milestones(
    timer: SlaTimer, phases: list[Phase], calendar: Calendar, before: datetime
) -> list[Milestone]:
    """Warnings and the breach that fell strictly before ``before`` and are not recorded yet."""
    if timer.canceled_at is not None:
        return []
    status = evaluate(timer, phases, calendar, before)
    if status.stage == SlaStage.CANCELED:
        return []
    found = [
        Milestone(timer.name, instant, pct)
        for pct, instant in status.warnings
        if pct not in timer.warnings_recorded
    ]
    if status.breached_at is not None and timer.breach_recorded is None:
        found.append(Milestone(timer.name, status.breached_at, None))
    return sorted(found, key=lambda m: (m.instant, m.threshold is None, m.threshold or 0))


def next_milestone(
    timer: SlaTimer, phases: list[Phase], calendar: Calendar, walks: MilestoneWalks | None = None
) -> datetime | None:
    """The earliest instant at which a warning or the breach of ``timer`` not recorded yet
    falls, were the ticket to stay in its last phase for good (None: none ever would).

    Nothing is due before it: :func:`due_milestones` for any instant up to it finds nothing,
    since it computes the same instants over the same phases, cut off earlier. Milestones
    come in time order (warnings by threshold, then the breach), so the walk stops at the
    first one not recorded: for a ticket whose phase did not change, one calendar step per
    timer instead of a full :func:`evaluate`.

    Given ``walks``, the walk resumes where the last one over the same timer, phases and
    calendar passed its last finished running segment (nothing found there stays found
    nothing: phases are only appended and recorded milestones stay recorded), so a command
    on a ticket with a long history does not walk all of it again.
    """
    if timer.canceled_at is not None:
        return None
    breach_open = timer.breach_recorded is None
    if not breach_open and all(pct in timer.warnings_recorded for pct in timer.terms.warn_at):
        return None  # all recorded: no walk over the phases of a long ticket
    target = timer.target
    walked = None if walks is None else walks.get(timer, phases, calendar)
    if walked is None:
        walked = _Walked(phases, calendar, 0, None, timedelta(0), 0, finished=False)
    elif walked.finished:
        return None
    elapsed, passed = walked.elapsed, walked.passed
    pending = [(pct, target * pct / 100) for pct in timer.terms.warn_at][passed:]
    for start, end, after in _open_segments(timer, phases, walked.count):
        while pending and pending[0][1] >= elapsed:
            pct, mark = pending[0]
            instant = calendar.add(start, mark - elapsed)
            if end is not None and instant >= end:
                break
            if pct not in timer.warnings_recorded:
                return instant
            pending.pop(0)
            passed += 1
        if breach_open:
            instant = calendar.add(start, target - elapsed) if elapsed <= target else start
            if end is None or instant < end:
                return instant
        if end is None:
            return None
        elapsed += calendar.elapsed(start, end)
        if walks is not None:
            finished = after < 0
            count = -after if finished else after
            walked = _Walked(phases, calendar, count, phases[count - 1], elapsed, passed, finished)
            walks.put(timer, walked)
    return None


def _open_segments(
    timer: SlaTimer, phases: list[Phase], begin: int = 0
) -> Iterator[tuple[datetime, datetime | None, int]]:
    """:func:`running_segments` without an end, from ``phases[begin]`` on (the timer not
    running before it): a timer running in the last phase runs on (its last interval has
    no end). With each interval, the number of phases up to the one that ended it, negated
    when that phase ends the timer for good."""
    running_since: datetime | None = None
    for index in range(begin, len(phases)):
        phase = phases[index]
        runs = timer.runs_in(phase.state, phase.hold_reason)
        if runs and running_since is None:
            running_since = phase.at
        elif not runs and running_since is not None:
            finishing = phase.state in _FINISHING or (
                timer.kind == RESPONSE and phase.state != TicketState.NEW
            )
            yield running_since, phase.at, -(index + 1) if finishing else index + 1
            running_since = None
        if phase.state in _FINISHING or (timer.kind == RESPONSE and phase.state != TicketState.NEW):
            if running_since is not None:  # pragma: no cover - a finishing phase never runs
                yield running_since, phase.at, -(index + 1)
            return
    if running_since is not None:
        yield running_since, None, len(phases)


@dataclass(frozen=True)
class _Walked:
    """How far :func:`next_milestone` walked a timer's phases finding nothing due: ``count``
    phases (the last of them ``last``), ``elapsed`` running time, ``passed`` warnings
    recorded and passed; ``finished`` when those phases ended the timer."""

    phases: list[Phase]
    calendar: Calendar
    count: int
    last: Phase | None
    elapsed: timedelta
    passed: int
    finished: bool


class MilestoneWalks:
    """:func:`next_milestone`'s walks, kept to resume (a bounded number, for the timers of
    the tickets a desk has in hand; a timer is known by identity, never by value). The same
    bookkeeping :class:`engine.sla_progress.TimerProgress` keeps for :func:`evaluate`, for
    the other question: not a timer's status at an instant, but its next milestone."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._walks: dict[int, tuple[SlaTimer, _Walked]] = {}

    def get(self, timer: SlaTimer, phases: list[Phase], calendar: Calendar) -> _Walked | None:
        """The walk of ``timer`` to resume, if its phases are the same list, unchanged up to
        where it stopped, and the calendar the same."""
        entry = self._walks.get(id(timer))
        if entry is None or entry[0] is not timer:
            return None
        walked = entry[1]
        if (
            walked.phases is not phases
            or walked.calendar is not calendar
            or len(phases) < walked.count
            or phases[walked.count - 1] is not walked.last
        ):
            return None
        return walked

    def put(self, timer: SlaTimer, walked: _Walked) -> None:
        if len(self._walks) >= self._size and id(timer) not in self._walks:
            self._walks.clear()
        self._walks[id(timer)] = (timer, walked)


def made_sla(statuses: list[TimerStatus]) -> bool:
    """True when none of the ticket's (non-canceled) timers breached."""
    return not any(s.stage == SlaStage.BREACHED for s in statuses)
