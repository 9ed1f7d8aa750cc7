"""Business calendars: weekly working periods in an IANA timezone, minus holidays.

SLA timers count *business time*: real elapsed time that falls inside a calendar's working
periods (docs/sla.md). This module is the public surface for that arithmetic::

    cal = BusinessCalendar.from_mapping(
        {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}}, name="office"
    )
    due = cal.add(opened_at, timedelta(hours=4))   # instant the target is reached
    spent = cal.elapsed(opened_at, resolved_at)     # business time between two instants

Mapping format (one entry of the policy's ``calendars``; see ``BusinessCalendar.from_mapping``)::

    timezone: Europe/Berlin                      # IANA key, required
    hours:                                       # required: "always" (24x7) or weekday -> periods
      mon: ["09:00-17:00"]                       # weekdays mon tue wed thu fri sat sun
      tue: ["09:00-12:00", "13:00-17:00"]        # several periods a day; "24:00" ends a day
    holidays:                                    # optional list; each item is either
      - "2026-12-24"                             #   a whole local date (YAML dates work too)
      - {country: DE, subdivision: BE}           #   or a country (and optional subdivision)
                                                 #   whose public holidays come from `holidays`

Semantics
---------
* **Working instants.** An instant is working time when its local wall-clock time in the
  calendar's timezone lies inside a period of its local weekday, and its local date is not a
  holiday. Everything else follows from that one definition (``is_working`` is it, literally):
  business time between two instants is the measure of the working instants between them.
* **DST.** Because instants are mapped to wall-clock time (never the other way round), there
  are no fold choices to get wrong. An hour skipped in spring holds no instants, so it counts
  nothing; a repeated autumn hour holds two hours of instants, so where it lies inside working
  hours it counts twice. A ``00:00-24:00`` period lasts 23 or 25 hours on transition days; when
  00:00 itself does not exist (America/Sao_Paulo 2018-11-04) the day starts when the clock
  jumps to 01:00. For boundaries at ordinary times this equals the usual rule "start at the
  first occurrence (``fold=0``), end at the last occurrence (``fold=1``)". It differs only for a
  boundary strictly inside a repeated hour: ``01:00-02:30`` on 2026-10-25 in Berlin is open
  01:00-02:30 CEST and again 02:00-02:30 CET (the clock reads a working time twice) - 2 hours.
* **Results.** ``add`` returns an aware datetime in UTC (compare instants, format with
  ``astimezone`` as needed). Adding zero returns the start instant; a duration that is used up
  exactly at the end of a working period returns that end, not the next opening.
* **24x7.** ``hours: always`` is plain instant arithmetic; holidays are not allowed with it.

Speed
-----
Business time is precomputed per UTC week (seven days from a Monday 00:00 UTC): the week's
working instants as sorted, merged ``[start, end)`` intervals in integer microseconds, with
cumulative totals. Weeks partition the time line whatever the zone does, so they can be summed
blindly. A week is built once and cached (tens of microseconds: the zone's UTC offset is
sampled once a day and each change is located to the second by bisection; two changes that
cancel out within one day would be missed, and the closest offset changes in the tz database
are about four days apart). ``add`` and ``elapsed`` then cost a bisection in the first and last
weeks and one cached total per week in between: a year-long horizon takes microseconds.
Arithmetic is exact to the microsecond.

Determinism: country holidays come from the installed ``holidays`` package; to pin a calendar
in an event, store ``to_mapping()`` (and, if needed, the package version). A calendar built
with ``recorded=True`` (a stored policy version's) reads its pinned dates without the package
and asks it only for a year outside them; a country it no longer knows is then a
``CalendarError`` naming the country and the year.

Errors::

    ValueError
    └── CalendarError      invalid calendar mapping; the message starts with the key path
                           ("hours.tue[1]: '13:00-12:00' ends before it starts")

``add``/``elapsed``/``is_working`` raise ``ValueError`` for naive datetimes and negative
durations.

One module, past 500 lines: the calendar's parsing, its week precomputation and its
arithmetic share one representation (UTC weeks in microseconds) and are tested as one.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from types import ModuleType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar", "CalendarError"]


def _holidays_package() -> ModuleType:
    """The ``holidays`` package, imported by the first calendar that names a country (it
    takes longer to import than most commands take to run)."""
    import holidays  # noqa: PLC0415

    return holidays


WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ONE_US: Final = timedelta(microseconds=1)
_US_PER_S: Final = 1_000_000
_US_PER_MIN: Final = 60 * _US_PER_S
_DAY_US: Final = 86_400 * _US_PER_S
_WEEK_US: Final = 7 * _DAY_US
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_WEEK_ORIGIN_US: Final = 4 * _DAY_US  # 1970-01-05T00:00Z, a Monday
_SAMPLE_S: Final = 86_400  # offset sampling step while building a week (see module doc)
_MAX_IDLE_WEEKS: Final = 5 * 53  # give up after ~5 years without any working time
_MAX_CACHED_WEEKS: Final = 20_000
_KEYS: Final = ("timezone", "hours", "holidays")
_HOLIDAY_KEYS: Final = ("country", "subdivision", "pinned")
_PERIOD_RE: Final = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_Period = tuple[int, int]  # [start, end) in microseconds since local midnight


@dataclass(frozen=True)
class _Country:
    """Public holidays of a country (and subdivision) from the ``holidays`` package, with the
    dates of ``first..last`` pinned (recorded when a policy was loaded), so a later package
    release cannot change past verdicts; years outside the pinned range ask the package."""

    country: str
    subdivision: str | None = None
    first: int | None = None
    last: int | None = None
    dates: frozenset[date] = frozenset()

    def covers(self, year: int) -> bool:
        return self.first is not None and self.last is not None and self.first <= year <= self.last


class CalendarError(ValueError):
    """An invalid calendar mapping; ``path`` is the offending key relative to the mapping."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass(frozen=True, slots=True)
class _Week:
    """Working intervals of one UTC week: sorted, disjoint, non-empty, in epoch microseconds."""

    starts: list[int]
    ends: list[int]
    cum_ends: list[int]  # business microseconds from the week's start to each interval's end
    total: int

    def before(self, at: int) -> int:
        """Business microseconds in this week before instant ``at``."""
        i = bisect_right(self.ends, at)
        if i == len(self.ends):
            return self.total
        done = self.cum_ends[i - 1] if i else 0
        return done + max(0, at - self.starts[i])

    def locate(self, amount: int) -> int:
        """Instant at which ``amount`` (0 < amount <= total) business microseconds are spent."""
        j = bisect_left(self.cum_ends, amount)
        done = self.cum_ends[j - 1] if j else 0
        return self.starts[j] + (amount - done)

    def contains(self, at: int) -> bool:
        i = bisect_right(self.ends, at)
        return i < len(self.ends) and self.starts[i] <= at


class BusinessCalendar:
    """Working periods in an IANA timezone minus holidays; see the module docstring.

    Build one with ``BusinessCalendar.from_mapping``. Instances are immutable (internal caches
    aside) and compare equal when their normalized mappings (``to_mapping()``) are equal; the
    ``name`` is a label and takes no part in equality.
    """

    __slots__ = (
        "_always",
        "_canonical",
        "_countries",
        "_country_years",
        "_dates",
        "_hours",
        "_name",
        "_prefix",
        "_prefix_origin",
        "_tz",
        "_weeks",
    )

    def __init__(
        self, mapping: Mapping[str, object], *, name: str = "", recorded: bool = False
    ) -> None:
        """Validate ``mapping`` (see ``from_mapping``); raise ``CalendarError`` if invalid."""
        if not isinstance(mapping, Mapping):
            raise CalendarError("", f"expected a mapping with {_KEYS[0]!r} and {_KEYS[1]!r}")
        for key in mapping:
            if key not in _KEYS:
                raise CalendarError(str(key), f"unknown key (expected one of {', '.join(_KEYS)})")
        self._name = name
        self._tz = _parse_timezone(mapping)
        hours = _parse_hours(mapping)
        self._always = hours is None
        self._hours: tuple[tuple[_Period, ...], ...] = hours or ((),) * 7
        self._dates, self._countries = _parse_holidays(mapping.get("holidays"), recorded)
        if self._always and (self._dates or self._countries):
            raise CalendarError(
                "holidays", "not allowed with hours 'always' (24x7); list weekly hours instead"
            )
        self._canonical = json.dumps(self._mapping())  # key order is fixed by _mapping
        self._country_years: dict[int, frozenset[date]] = {}
        self._weeks: dict[int, _Week] = {}
        self._prefix: list[int] = [0]  # _prefix[i]: business time of weeks origin..origin+i-1
        self._prefix_origin: int | None = None

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, object], *, name: str = "", recorded: bool = False
    ) -> BusinessCalendar:
        """Build a calendar from one policy ``calendars`` entry.

        Keys: ``timezone`` (IANA key, required); ``hours``, required: ``"always"`` or a mapping
        of weekday (``mon`` .. ``sun``) to a list of ``"HH:MM-HH:MM"`` local periods (several a
        day, non-overlapping, ``24:00`` allowed as an end, days left out are closed);
        ``holidays``, optional: a list whose items are ISO dates (``"2026-12-24"`` or
        ``datetime.date``) and/or ``{"country": "DE", "subdivision": "BE"}`` mappings
        (``subdivision`` optional) naming the public holidays of the ``holidays`` package.

        ``recorded``: the calendar of a policy version the store recorded, checked when it was
        loaded. Its pinned country holidays are then taken as recorded, without asking the
        ``holidays`` package whether it knows the country (that import and check cost a
        process about 150 ms, every command of the CLI included); the package is asked only
        for a year outside the pinned ones.

        Raises ``CalendarError`` whose message starts with the offending key path, e.g.
        ``hours.tue[1]: '13:00-12:00' ends before it starts``.
        """
        return cls(mapping, name=name, recorded=recorded)

    # -- description -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def timezone(self) -> str:
        """The IANA key periods are interpreted in."""
        return self._tz.key

    @property
    def is_always(self) -> bool:
        """True for a 24x7 calendar (``hours: always``)."""
        return self._always

    def to_mapping(self) -> dict[str, object]:
        """A JSON-able mapping that ``from_mapping`` turns back into an equal calendar.

        Normalized: weekdays in order, periods sorted, empty days left out, dates as sorted ISO
        strings followed by the country entries.
        """
        result: dict[str, object] = json.loads(self._canonical)
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._canonical == other._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __repr__(self) -> str:
        return f"BusinessCalendar(name={self._name!r}, mapping={self._canonical})"

    def pinned(self, first: int, last: int) -> BusinessCalendar:
        """The same calendar with its country holidays of ``first..last`` written out as
        dates, so they no longer depend on the installed ``holidays`` release."""
        if first > last:
            raise ValueError(f"first year {first} is after last year {last}")
        mapping = self.to_mapping()
        entries = mapping.get("holidays")
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict):
                    unpinned = _Country(entry["country"], entry.get("subdivision"))
                    days = _holidays_package().country_holidays(
                        unpinned.country, subdiv=unpinned.subdivision, years=range(first, last + 1)
                    )
                    entry["pinned"] = {
                        "years": [first, last],
                        "dates": [day.isoformat() for day in sorted(days.keys())],
                    }
        return BusinessCalendar(mapping, name=self._name)

    def is_holiday(self, day: date) -> bool:
        """True when the local date ``day`` is a holiday of this calendar."""
        if day in self._dates:
            return True
        return bool(self._countries) and day in self._country_holidays(day.year)

    def working_hours(self, day: date) -> tuple[tuple[timedelta, timedelta], ...]:
        """The working periods of the local date ``day`` as offsets from its local midnight,
        in order: none on a holiday or a closed weekday, ``00:00-24:00`` every day for 24x7.
        Business-day targets count working days with it (:mod:`engine.business_days`)."""
        if self._always:
            return ((timedelta(0), timedelta(days=1)),)
        if self.is_holiday(day):
            return ()
        return tuple((start * _ONE_US, end * _ONE_US) for start, end in self._hours[day.weekday()])

    # -- arithmetic --------------------------------------------------------------------------

    def is_working(self, at: datetime) -> bool:
        """True when instant ``at`` lies inside a working period (always, for 24x7)."""
        us = _to_us(at, "at")
        return self._always or self._week(_week_index(us)).contains(us)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant (in UTC) at which ``duration`` of business time has elapsed after ``start``.

        Zero returns ``start``; a duration used up exactly at a period's end returns that end.
        Raises ``ValueError`` for a naive ``start``, a negative ``duration``, or a calendar with
        no working time for years after ``start``.
        """
        at = _to_us(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        remaining = duration // _ONE_US
        if self._always or remaining == 0:
            return _from_us(at + remaining)
        index = _week_index(at)
        week = self._week(index)
        done = week.before(at)
        if remaining <= week.total - done:
            return _from_us(week.locate(done + remaining))
        remaining -= week.total - done
        idle = 0
        while True:
            index += 1
            week = self._week(index)
            if remaining <= week.total:
                return _from_us(week.locate(remaining))
            remaining -= week.total
            idle = idle + 1 if week.total == 0 else 0
            if idle > _MAX_IDLE_WEEKS:
                raise ValueError(
                    f"calendar {self._name or self.timezone!r} has no working time for "
                    f"{_MAX_IDLE_WEEKS} weeks after {_from_us(_week_start(index)).date()}"
                )

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; zero when ``end <= start``."""
        first = _to_us(start, "start")
        last = _to_us(end, "end")
        if last <= first:
            return timedelta(0)
        if self._always:
            return (last - first) * _ONE_US
        first_index = _week_index(first)
        last_index = _week_index(last)
        if first_index == last_index:
            week = self._week(first_index)
            return (week.before(last) - week.before(first)) * _ONE_US
        head = self._week(first_index)
        total = head.total - head.before(first)
        total += self._weeks_total(first_index + 1, last_index)
        total += self._week(last_index).before(last)
        return total * _ONE_US

    def working_periods(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working periods between two instants, clipped to them, in time order: what
        :meth:`elapsed` adds up (their durations sum to it exactly)."""
        first = _to_us(start, "start")
        last = _to_us(end, "end")
        if last <= first:
            return []
        if self._always:
            return [(_from_us(first), _from_us(last))]
        periods: list[tuple[datetime, datetime]] = []
        for index in range(_week_index(first), _week_index(last) + 1):
            week = self._week(index)
            for period_start, period_end in zip(week.starts, week.ends, strict=True):
                clipped_start, clipped_end = max(period_start, first), min(period_end, last)
                if clipped_start < clipped_end:
                    periods.append((_from_us(clipped_start), _from_us(clipped_end)))
        return periods

    def _weeks_total(self, low: int, high: int) -> int:
        """Business microseconds of the whole weeks ``low`` .. ``high - 1`` (prefix sums)."""
        if high <= low:
            return 0
        before = self._prefix_at(low)  # first: it may move the origin, which high never does
        return self._prefix_at(high) - before

    def _prefix_at(self, index: int) -> int:
        """Business time of the weeks from the prefix origin up to (not including) ``index``."""
        origin = self._prefix_origin
        if origin is None:
            self._prefix, self._prefix_origin, origin = [0], index, index
        elif index < origin:
            fresh = [0]
            for week in range(index, origin):
                fresh.append(fresh[-1] + self._week(week).total)
            shift = fresh[-1]
            self._prefix = fresh + [value + shift for value in self._prefix[1:]]
            self._prefix_origin = origin = index
        prefix = self._prefix
        while origin + len(prefix) - 1 < index:
            prefix.append(prefix[-1] + self._week(origin + len(prefix) - 1).total)
        return prefix[index - origin]

    # -- precomputation ----------------------------------------------------------------------

    def _week(self, index: int) -> _Week:
        cached = self._weeks.get(index)
        if cached is not None:
            return cached
        if len(self._weeks) >= _MAX_CACHED_WEEKS:
            self._weeks.clear()
        week = self._build_week(index)
        self._weeks[index] = week
        return week

    def _build_week(self, index: int) -> _Week:
        low = _week_start(index)
        high = low + _WEEK_US
        segments = self._offset_segments(low, high)
        offsets = [offset for _, _, offset in segments]
        first_day = (low + min(offsets)) // _DAY_US
        last_day = (high - 1 + max(offsets)) // _DAY_US
        pieces: list[tuple[int, int]] = []
        for day_number in range(first_day, last_day + 1):
            day = date.fromordinal(_EPOCH_ORDINAL + day_number)
            periods = self._hours[day.weekday()]
            if not periods or self.is_holiday(day):
                continue
            midnight = day_number * _DAY_US  # local wall clock, as if it were UTC
            for period_start, period_end in periods:
                wall_start = midnight + period_start
                wall_end = midnight + period_end
                # instants t of a segment with wall_start <= t + offset < wall_end
                for seg_start, seg_end, offset in segments:
                    piece_start = max(seg_start, wall_start - offset)
                    piece_end = min(seg_end, wall_end - offset)
                    if piece_start < piece_end:
                        pieces.append((piece_start, piece_end))
        pieces.sort()
        starts: list[int] = []
        ends: list[int] = []
        for piece_start, piece_end in pieces:
            if ends and piece_start <= ends[-1]:
                ends[-1] = max(ends[-1], piece_end)
            else:
                starts.append(piece_start)
                ends.append(piece_end)
        cum_ends: list[int] = []
        total = 0
        for piece_start, piece_end in zip(starts, ends, strict=True):
            total += piece_end - piece_start
            cum_ends.append(total)
        return _Week(starts, ends, cum_ends, total)

    def _offset_segments(self, low: int, high: int) -> list[tuple[int, int, int]]:
        """``(start, end, utc_offset)`` runs covering ``[low, high)``, all in microseconds."""
        low_s, high_s = low // _US_PER_S, high // _US_PER_S
        probes = [*range(low_s, high_s - 1, _SAMPLE_S), high_s - 1]
        segments: list[tuple[int, int, int]] = []
        run_start = low_s
        run_offset = self._offset_at(low_s)
        left = low_s
        for right in probes[1:]:
            right_offset = self._offset_at(right)
            while right_offset != run_offset:
                # smallest second in (left, right] whose offset differs from run_offset
                lo, hi = left, right
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self._offset_at(mid) == run_offset:
                        lo = mid
                    else:
                        hi = mid
                segments.append((run_start * _US_PER_S, hi * _US_PER_S, run_offset))
                run_start, run_offset, left = hi, self._offset_at(hi), hi
            left = right
        segments.append((run_start * _US_PER_S, high, run_offset))
        return segments

    def _offset_at(self, second: int) -> int:
        """The zone's UTC offset in microseconds at epoch second ``second``."""
        offset = (_EPOCH + timedelta(seconds=second)).astimezone(self._tz).utcoffset()
        return 0 if offset is None else offset // _ONE_US

    def _country_holidays(self, year: int) -> frozenset[date]:
        cached = self._country_years.get(year)
        if cached is None:
            found: set[date] = set()
            for entry in self._countries:
                if entry.covers(year):
                    found.update(day for day in entry.dates if day.year == year)
                    continue
                found.update(_package_holidays(entry, year))
            cached = frozenset(found)
            self._country_years[year] = cached
        return cached

    def _mapping(self) -> dict[str, object]:
        hours: object = "always"
        if not self._always:
            hours = {
                WEEKDAYS[weekday]: [_format_period(period) for period in periods]
                for weekday, periods in enumerate(self._hours)
                if periods
            }
        result: dict[str, object] = {"timezone": self.timezone, "hours": hours}
        entries: list[object] = [day.isoformat() for day in sorted(self._dates)]
        for country in self._countries:
            entry: dict[str, object] = {"country": country.country}
            if country.subdivision is not None:
                entry["subdivision"] = country.subdivision
            if country.first is not None:
                entry["pinned"] = {
                    "years": [country.first, country.last],
                    "dates": [day.isoformat() for day in sorted(country.dates)],
                }
            entries.append(entry)
        if entries:
            result["holidays"] = entries
        return result


# -- parsing -----------------------------------------------------------------------------------


def _parse_timezone(mapping: Mapping[str, object]) -> ZoneInfo:
    if "timezone" not in mapping:
        raise CalendarError("timezone", "required: an IANA timezone such as 'Europe/Berlin'")
    key = mapping["timezone"]
    if not isinstance(key, str):
        raise CalendarError(
            "timezone", f"expected an IANA timezone name such as 'Europe/Berlin', got {key!r}"
        )
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError("timezone", f"unknown IANA timezone {key!r}") from None


def _parse_hours(mapping: Mapping[str, object]) -> tuple[tuple[_Period, ...], ...] | None:
    """Weekly periods indexed by weekday (Monday 0), or None for 'always'."""
    expected = "'always' or a mapping of weekday (mon..sun) to lists of 'HH:MM-HH:MM' periods"
    if "hours" not in mapping:
        raise CalendarError("hours", f"required: {expected}")
    raw = mapping["hours"]
    if raw == "always":
        return None
    if not isinstance(raw, Mapping):
        raise CalendarError("hours", f"expected {expected}, got {raw!r}")
    week: list[tuple[_Period, ...]] = [()] * 7
    for key, value in raw.items():
        path = f"hours.{key}"
        if key not in WEEKDAYS:
            raise CalendarError(path, f"unknown weekday (expected one of {', '.join(WEEKDAYS)})")
        if not isinstance(value, list | tuple):
            raise CalendarError(path, f"expected a list of 'HH:MM-HH:MM' periods, got {value!r}")
        parsed = [(_parse_period(f"{path}[{i}]", text), i) for i, text in enumerate(value)]
        parsed.sort()
        for (earlier, _), (later, index) in pairwise(parsed):
            if later[0] < earlier[1]:
                raise CalendarError(
                    f"{path}[{index}]",
                    f"{value[index]!r} overlaps {_format_period(earlier)!r}",
                )
        week[WEEKDAYS.index(key)] = tuple(period for period, _ in parsed)
    if not any(week):
        raise CalendarError("hours", "no working periods (use 'always' for 24x7)")
    return tuple(week)


def _parse_period(path: str, text: object) -> _Period:
    if not isinstance(text, str) or not (match := _PERIOD_RE.match(text)):
        raise CalendarError(
            path, f"expected a period 'HH:MM-HH:MM' such as '09:00-17:00', got {text!r}"
        )
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59:
        raise CalendarError(path, f"{text!r} has an invalid start (expected 00:00 to 23:59)")
    if not ((end_h <= 23 and end_m <= 59) or (end_h == 24 and end_m == 0)):
        raise CalendarError(path, f"{text!r} has an invalid end (expected 00:01 to 24:00)")
    start = (start_h * 60 + start_m) * _US_PER_MIN
    end = (end_h * 60 + end_m) * _US_PER_MIN
    if end == start:
        raise CalendarError(path, f"{text!r} is empty (it ends when it starts)")
    if end < start:
        raise CalendarError(
            path,
            f"{text!r} ends before it starts (split a period over midnight into "
            "'..-24:00' and '00:00-..' on consecutive days)",
        )
    return start, end


def _parse_holidays(
    raw: object, recorded: bool = False
) -> tuple[frozenset[date], tuple[_Country, ...]]:
    if raw is None:
        return frozenset(), ()
    if not isinstance(raw, list | tuple):
        raise CalendarError(
            "holidays",
            "expected a list of ISO dates ('2026-12-24') and/or "
            f"{{country: DE, subdivision: BE}} mappings, got {raw!r}",
        )
    dates: set[date] = set()
    countries: list[_Country] = []
    for index, item in enumerate(raw):
        path = f"holidays[{index}]"
        if isinstance(item, datetime):
            raise CalendarError(path, f"expected a whole date, got a date-time {item!r}")
        if isinstance(item, date):
            dates.add(item)
        elif isinstance(item, str):
            dates.add(_parse_date(path, item))
        elif isinstance(item, Mapping):
            country = _parse_country(path, item, recorded)
            if country not in countries:
                countries.append(country)
        else:
            raise CalendarError(
                path, f"expected an ISO date string or a mapping with 'country', got {item!r}"
            )
    return frozenset(dates), tuple(countries)


def _parse_date(path: str, text: str) -> date:
    try:
        if _DATE_RE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise CalendarError(path, f"invalid date {text!r} (expected YYYY-MM-DD)")


def _package_holidays(entry: _Country, year: int) -> Iterable[date]:
    """The holidays package's dates of ``entry`` in ``year``. A recorded calendar's country
    was not checked against the installed package: if it no longer knows the country, say
    so (a CalendarError) rather than fail inside the package."""
    try:
        table = _holidays_package().country_holidays(
            entry.country, subdiv=entry.subdivision, years=year
        )
    except NotImplementedError as error:
        place = entry.country + (f"/{entry.subdivision}" if entry.subdivision else "")
        raise CalendarError(
            "holidays",
            f"{place}: the installed holidays package does not know it ({error}), and {year} "
            "is outside the years this policy version pinned",
        ) from None
    days: Iterable[date] = table.keys()
    return days


def _parse_country(path: str, item: Mapping[object, object], recorded: bool = False) -> _Country:
    for key in item:
        if key not in _HOLIDAY_KEYS:
            raise CalendarError(
                f"{path}.{key}", f"unknown key (expected one of {', '.join(_HOLIDAY_KEYS)})"
            )
    country = item.get("country")
    if not isinstance(country, str):
        raise CalendarError(
            f"{path}.country", f"required: an ISO 3166 country code such as 'DE', got {country!r}"
        )
    pinned = item.get("pinned")
    subdivision = item.get("subdivision")
    if recorded and pinned is not None and (subdivision is None or isinstance(subdivision, str)):
        return _parse_pinned(f"{path}.pinned", pinned, country, subdivision)
    supported: dict[str, list[str]] = _holidays_package().list_supported_countries()
    if country not in supported:
        raise CalendarError(
            f"{path}.country", f"unknown country {country!r} for the holidays package"
        )
    if subdivision is not None and not isinstance(subdivision, str):
        raise CalendarError(
            f"{path}.subdivision", f"expected a string (quote numeric codes), got {subdivision!r}"
        )
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise CalendarError(
            f"{path}.subdivision",
            f"unknown subdivision {subdivision!r} for country {country!r} (known: {known})",
        )
    if pinned is None:
        return _Country(country, subdivision)
    return _parse_pinned(f"{path}.pinned", pinned, country, subdivision)


def _parse_pinned(path: str, pinned: object, country: str, subdivision: str | None) -> _Country:
    if not isinstance(pinned, Mapping) or set(pinned) != {"years", "dates"}:
        raise CalendarError(path, "expected {years: [first, last], dates: [...]}")
    years = pinned["years"]
    if (
        not isinstance(years, list | tuple)
        or len(years) != 2
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in years)
        or years[0] > years[1]
    ):
        raise CalendarError(f"{path}.years", f"expected [first, last] years, got {years!r}")
    raw_dates = pinned["dates"]
    if not isinstance(raw_dates, list | tuple):
        raise CalendarError(f"{path}.dates", f"expected a list of ISO dates, got {raw_dates!r}")
    dates: set[date] = set()
    for index, item in enumerate(raw_dates):
        where = f"{path}.dates[{index}]"
        day = item if isinstance(item, date) else _parse_date(where, str(item))
        if not years[0] <= day.year <= years[1]:
            raise CalendarError(where, f"{day} is outside the pinned years {years[0]}-{years[1]}")
        dates.add(day)
    return _Country(country, subdivision, years[0], years[1], frozenset(dates))


def _format_period(period: _Period) -> str:
    start, end = (divmod(value // _US_PER_MIN, 60) for value in period)
    return f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"


# -- instants ----------------------------------------------------------------------------------


def _to_us(moment: datetime, what: str) -> int:
    if moment.__class__ is datetime and moment.tzinfo is UTC:  # the usual case, checked cheaply
        return (moment - _EPOCH) // _ONE_US
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return (moment - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    return _EPOCH + us * _ONE_US


def _week_index(us: int) -> int:
    return (us - _WEEK_ORIGIN_US) // _WEEK_US


def _week_start(index: int) -> int:
    return _WEEK_ORIGIN_US + index * _WEEK_US
