"""Business-day targets: ``3bd`` is due at the same local time three working days later.

A policy target written in working days (``target: 3bd``), optionally with
``end_of_day: true``, is counted on the SLA's own calendar:

* A **working day** is a local date with working hours that is not a holiday.
* **Day 0 and the time of day.** A timer that starts inside working hours counts from its
  local date and local time. A timer that starts outside them (at night, on a weekend or a
  holiday, in a lunch break) counts from the end of the last working period before it: a ticket
  opened on Saturday counts from Friday's close. In working time that is the same instant as
  the next opening, so no working time is given or taken.
* **The due.** Day N is the Nth working day after day 0. ``Nbd`` is due on day N at the time
  of day; with ``end_of_day`` it is due at day N's close (the end of its last working period).
  When day N's hours do not include that time, the due moves into them: to day N's opening if
  the time is earlier, to its close if later, to the end of the period before a break it falls
  in. Opened Monday 10:00 on a 09:00-17:00 calendar, ``3bd`` is due Thursday 10:00 and
  ``1bd`` with ``end_of_day`` Tuesday 17:00; opened on Saturday, ``3bd`` is due Wednesday
  17:00 (Monday, Tuesday and Wednesday worked in full).
* **One conversion, then an ordinary timer.** When the timer starts, the target becomes the
  working time from the start to that due (the ``target_seconds`` its ``SlaTimerStarted``
  records, rounded up to the second), and the timer runs like any other: **a pause shifts the
  due by exactly the working time it lasted** (as GLPI does with time spent waiting), so two
  paused working hours move a Thursday 10:00 due to Thursday 12:00; warnings are percentages
  of that working time; a timer started retroactively by a priority change converts from the
  opening. The due a timer reports is the earliest instant at which its working time has
  elapsed: a due that falls on an opening is reported at the close before it (the same
  working-time instant).

Nothing here reads a clock: the start instant and the calendar are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the calendar module loads the holidays package: only when used
    from engine.calendar import BusinessCalendar

#: How far the search for a working day goes before it gives up (ten years of days).
SEARCH_DAYS = 3660
_SECOND = timedelta(seconds=1)

Hours = tuple[tuple[timedelta, timedelta], ...]


@dataclass(frozen=True)
class BusinessDue:
    """Where a business-day target lands for one start: counted from ``counted_from`` (the
    start, or the close before it), due at ``due``, ``working_seconds`` of working time."""

    rule: BusinessDays
    start: datetime
    counted_from: datetime
    due: datetime
    working_seconds: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.rule.text,
            "end_of_day": self.rule.end_of_day,
            "started_at": self.start.isoformat(),
            "counted_from": self.counted_from.isoformat(),
            "due": self.due.isoformat(),
            "working_seconds": self.working_seconds,
        }


@dataclass(frozen=True)
class BusinessDays:
    """A target of ``count`` working days (``end_of_day``: at the close of the last one)."""

    count: int
    end_of_day: bool = False

    @property
    def text(self) -> str:
        """The target as a policy writes it: ``3bd``."""
        return f"{self.count}bd"

    def __str__(self) -> str:
        return self.text + (" (end of day)" if self.end_of_day else "")

    def due(self, start: datetime, calendar: BusinessCalendar) -> BusinessDue:
        """Where this target lands for a timer starting at ``start`` (see the module doc)."""
        zone = ZoneInfo(calendar.timezone)
        first_day, offset = _counting_point(start, calendar, zone)
        day = first_day
        for _ in range(self.count):
            day = _working_day_after(day, calendar)
        hours = calendar.working_hours(day)
        close = hours[-1][1]
        due = _wall(day, close if self.end_of_day else _into(offset, hours), zone)
        if calendar.elapsed(start, due) <= timedelta(0):
            # Day N's hours all lie after that time of day (a late shift after an early one):
            # day N then counts in full rather than not at all.
            due = _wall(day, close, zone)
        working = calendar.elapsed(start, due)
        return BusinessDue(
            rule=self,
            start=start,
            counted_from=_wall(first_day, offset, zone),
            due=due,
            working_seconds=-(-working // _SECOND),
        )


def _wall(day: date, offset: timedelta, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of wall-clock ``offset`` after local midnight of ``day``."""
    return (datetime.combine(day, time(), tzinfo=zone) + offset).astimezone(UTC)


def _counting_point(
    start: datetime, calendar: BusinessCalendar, zone: ZoneInfo
) -> tuple[date, timedelta]:
    """Day 0 and the time of day a count starts from: the start's own, or the end of the
    last working period before it."""
    local = start.astimezone(zone)
    day = local.date()
    offset = timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    hours = calendar.working_hours(day)
    if any(begin <= offset < end for begin, end in hours):
        return day, offset
    ended = [end for _, end in hours if end <= offset]
    if ended:
        return day, max(ended)
    for _ in range(SEARCH_DAYS):
        day -= timedelta(days=1)
        hours = calendar.working_hours(day)
        if hours:
            return day, hours[-1][1]
    raise ValueError(f"calendar {calendar.name!r} has no working day in ten years before {start}")


def _working_day_after(day: date, calendar: BusinessCalendar) -> date:
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=1)
        if calendar.working_hours(day):
            return day
    raise ValueError(f"calendar {calendar.name!r} has no working day in ten years after {day}")


def _into(offset: timedelta, hours: Hours) -> timedelta:
    """``offset`` moved into the day's working hours (opening, close, or before a break)."""
    if offset <= hours[0][0]:
        return hours[0][0]
    if any(begin <= offset <= end for begin, end in hours):
        return offset
    return max(end for _, end in hours if end <= offset)
