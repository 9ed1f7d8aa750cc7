"""Behaviour of engine.calendar.BusinessCalendar: business-time arithmetic (docs/sla.md).

Expected instants are written in UTC; comments give the local wall-clock reading.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import BusinessCalendar, CalendarError

BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SYDNEY = ZoneInfo("Australia/Sydney")
TEHRAN = ZoneInfo("Asia/Tehran")
MON_FRI = ("mon", "tue", "wed", "thu", "fri")
HOUR = timedelta(hours=1)


def make(timezone: str, hours: object, holidays: object = None) -> BusinessCalendar:
    mapping: dict[str, object] = {"timezone": timezone, "hours": hours}
    if holidays is not None:
        mapping["holidays"] = holidays
    return BusinessCalendar.from_mapping(mapping)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def days(weekdays: tuple[str, ...], periods: list[str]) -> dict[str, list[str]]:
    """The same periods on each of ``weekdays``."""
    return {weekday: list(periods) for weekday in weekdays}


NINE_TO_FIVE = make("Europe/Berlin", days(MON_FRI, ["09:00-17:00"]))
OFFICE_MAPPING: dict[str, object] = {
    "timezone": "Europe/Berlin",
    "hours": {
        "mon": ["09:00-17:00"],
        "tue": ["09:00-12:00", "13:00-17:00"],
        "wed": ["09:00-17:00"],
        "thu": ["09:00-17:00"],
        "fri": ["09:00-17:00"],
    },
    "holidays": ["2026-12-24", {"country": "DE"}],
}
OFFICE = BusinessCalendar.from_mapping(OFFICE_MAPPING, name="berlin-office")


# -- everyday arithmetic ---------------------------------------------------------------------


def test_duration_ending_at_closing_time_returns_closing_time() -> None:
    """Mon 09:00 + 8h on a 9-17 calendar is Mon 17:00, not Tue 09:00."""
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)  # Monday, CET (+01:00)
    assert utc(2026, 3, 2, 16) == NINE_TO_FIVE.add(start, 8 * HOUR)


def test_duration_past_closing_time_continues_at_next_opening() -> None:
    """One second more than the working day lands one second after the next opening."""
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    assert utc(2026, 3, 3, 8, 0, 1) == NINE_TO_FIVE.add(start, 8 * HOUR + timedelta(seconds=1))


def test_adding_zero_returns_start() -> None:
    """Zero business time returns the start instant, even outside working hours."""
    saturday = datetime(2026, 3, 7, 10, tzinfo=BERLIN)
    monday = datetime(2026, 3, 2, 11, 30, tzinfo=BERLIN)
    assert saturday == NINE_TO_FIVE.add(saturday, timedelta(0))
    assert monday == NINE_TO_FIVE.add(monday, timedelta(0))


def test_add_returns_an_aware_utc_datetime() -> None:
    """Results are aware datetimes in UTC, whatever the start's timezone."""
    result = NINE_TO_FIVE.add(datetime(2026, 3, 2, 10, tzinfo=SYDNEY), HOUR)
    assert timedelta(0) == result.utcoffset()
    assert result.tzinfo == UTC


def test_weekend_start_counts_from_monday_opening() -> None:
    """A Saturday start counts from Monday 09:00: Sat 10:00 + 1h is Mon 10:00."""
    saturday = datetime(2026, 3, 7, 10, tzinfo=BERLIN)
    assert utc(2026, 3, 9, 9) == NINE_TO_FIVE.add(saturday, HOUR)  # Mon 10:00 CET


def test_lunch_break_is_not_counted() -> None:
    """Tue 11:00 + 2h skips the 12:00-13:00 break and lands at 14:00."""
    tuesday = datetime(2026, 3, 3, 11, tzinfo=BERLIN)
    assert utc(2026, 3, 3, 13) == OFFICE.add(tuesday, 2 * HOUR)  # 14:00 CET


def test_duration_ending_at_lunch_returns_start_of_break() -> None:
    """Tue 11:00 + 1h is 12:00 (end of the morning period), not 13:00."""
    tuesday = datetime(2026, 3, 3, 11, tzinfo=BERLIN)
    assert utc(2026, 3, 3, 11) == OFFICE.add(tuesday, HOUR)  # 12:00 CET


def test_elapsed_over_a_day_with_lunch_break() -> None:
    """Tuesday 09:00-17:00 with a one-hour break holds 7 business hours."""
    start = datetime(2026, 3, 3, 9, tzinfo=BERLIN)
    end = datetime(2026, 3, 3, 17, tzinfo=BERLIN)
    assert OFFICE.elapsed(start, end) == 7 * HOUR


def test_elapsed_is_zero_when_end_is_not_after_start() -> None:
    """elapsed(start, end) is zero for end == start and for end before start."""
    start = datetime(2026, 3, 2, 10, tzinfo=BERLIN)
    assert timedelta(0) == OFFICE.elapsed(start, start)
    assert timedelta(0) == OFFICE.elapsed(start, start - HOUR)


def test_period_start_is_working_and_period_end_is_not() -> None:
    """Periods are half-open: 09:00 is working time, 17:00 is not."""
    assert NINE_TO_FIVE.is_working(datetime(2026, 3, 2, 9, tzinfo=BERLIN))
    assert not NINE_TO_FIVE.is_working(datetime(2026, 3, 2, 17, tzinfo=BERLIN))
    assert not NINE_TO_FIVE.is_working(datetime(2026, 3, 7, 12, tzinfo=BERLIN))


def test_mixed_timezone_inputs_are_compared_by_instant() -> None:
    """The same instants given in different zones give the same business time."""
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    end = datetime(2026, 3, 2, 12, tzinfo=SYDNEY)  # 01:00Z = 02:00 Berlin, before start
    assert timedelta(0) == NINE_TO_FIVE.elapsed(start, end)
    end = datetime(2026, 3, 3, 12, tzinfo=SYDNEY)  # 2026-03-03 01:00Z, Tue 02:00 Berlin
    assert NINE_TO_FIVE.elapsed(start.astimezone(TEHRAN), end) == 8 * HOUR


def test_year_long_horizon_add_and_elapsed_agree() -> None:
    """2000 business hours from Mon 2026-03-02 09:00 on 9-17 lands in Feb 2027 and back."""
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    due = NINE_TO_FIVE.add(start, 2000 * HOUR)
    # 2000h = 250 working days of 8h: 50 full weeks end Fri 2027-02-12 17:00 CET (16:00Z).
    assert utc(2027, 2, 12, 16) == due
    assert NINE_TO_FIVE.elapsed(start, due) == 2000 * HOUR


# -- holidays --------------------------------------------------------------------------------


def test_listed_and_country_holidays_are_skipped() -> None:
    """Wed 16:00 + 2h skips Thu 24 Dec (listed), Fri 25 Dec (DE) and the weekend."""
    wednesday = datetime(2026, 12, 23, 16, tzinfo=BERLIN)
    assert utc(2026, 12, 28, 9) == OFFICE.add(wednesday, 2 * HOUR)  # Mon 10:00 CET


def test_start_inside_a_holiday_counts_from_next_working_day() -> None:
    """Christmas Day 11:00 + 30m is Monday 28 Dec 09:30."""
    christmas = datetime(2026, 12, 25, 11, tzinfo=BERLIN)
    assert utc(2026, 12, 28, 8, 30) == OFFICE.add(christmas, timedelta(minutes=30))


def test_holidays_remove_whole_days_and_nothing_else() -> None:
    """Christmas week holds Mon 8h + Tue 7h + Wed 8h; the days around holidays stay full."""
    week_start = datetime(2026, 12, 21, tzinfo=BERLIN)
    week_end = datetime(2026, 12, 28, tzinfo=BERLIN)
    assert OFFICE.elapsed(week_start, week_end) == 23 * HOUR
    day_before = datetime(2026, 12, 23, tzinfo=BERLIN)
    assert OFFICE.elapsed(day_before, day_before + timedelta(days=1)) == 8 * HOUR
    monday_after = datetime(2026, 12, 28, tzinfo=BERLIN)
    assert OFFICE.elapsed(monday_after, monday_after + timedelta(days=1)) == 8 * HOUR


def test_holiday_on_a_weekend_changes_nothing() -> None:
    """Saturday 26 Dec as a holiday leaves the week's 40 hours untouched."""
    with_holiday = make("Europe/Berlin", days(MON_FRI, ["09:00-17:00"]), ["2026-12-26"])
    start = datetime(2026, 12, 21, tzinfo=BERLIN)
    end = datetime(2026, 12, 28, tzinfo=BERLIN)
    assert NINE_TO_FIVE.elapsed(start, end) == 40 * HOUR
    assert with_holiday.elapsed(start, end) == 40 * HOUR


def test_country_subdivision_adds_regional_holidays() -> None:
    """Epiphany (Tue 6 Jan 2026) is a holiday in Bavaria but not in Germany as a whole."""
    hours = days(MON_FRI, ["09:00-17:00"])
    germany = make("Europe/Berlin", hours, [{"country": "DE"}])
    bavaria = make("Europe/Berlin", hours, [{"country": "DE", "subdivision": "BY"}])
    day = datetime(2026, 1, 6, tzinfo=BERLIN)
    assert germany.elapsed(day, day + timedelta(days=1)) == 8 * HOUR
    assert timedelta(0) == bavaria.elapsed(day, day + timedelta(days=1))
    assert bavaria.is_holiday(date(2026, 1, 6))
    assert not germany.is_holiday(date(2026, 1, 6))


def test_yaml_date_objects_are_accepted_as_holidays() -> None:
    """A holiday given as datetime.date (as YAML parses it) equals the ISO string form."""
    hours = {"mon": ["09:00-17:00"]}
    assert make("UTC", hours, [date(2026, 12, 24)]) == make("UTC", hours, ["2026-12-24"])


# -- daylight saving time: Europe/Berlin -------------------------------------------------------


def test_berlin_spring_day_from_midnight_to_midnight_is_23_hours() -> None:
    """Sun 2026-03-29 00:00-24:00 runs 00:00 CET (28th 23:00Z) to 24:00 CEST (29th 22:00Z)."""
    sundays = make("Europe/Berlin", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2026, 3, 23), utc(2026, 4, 1)) == 23 * HOUR


def test_berlin_autumn_day_from_midnight_to_midnight_is_25_hours() -> None:
    """Sun 2026-10-25 00:00-24:00 runs 00:00 CEST (24th 22:00Z) to 24:00 CET (25th 23:00Z)."""
    sundays = make("Europe/Berlin", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2026, 10, 19), utc(2026, 10, 28)) == 25 * HOUR


def test_berlin_skipped_spring_hour_is_not_counted() -> None:
    """Sun 01:00-04:00 on 2026-03-29 holds 2h: 01:00-02:00 CET, then 03:00-04:00 CEST."""
    # 01:00-02:00 CET is 00:00-01:00Z; the clock jumps 02:00 -> 03:00; 03:00-04:00 CEST is 01-02Z.
    nights = make("Europe/Berlin", {"sun": ["01:00-04:00"]})
    assert nights.elapsed(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * HOUR
    # 01:00 CET + 90m: one hour to 02:00 CET = 03:00 CEST (01:00Z), then 30m more.
    assert utc(2026, 3, 29, 1, 30) == nights.add(utc(2026, 3, 29, 0), timedelta(minutes=90))
    assert nights.elapsed(utc(2026, 4, 4), utc(2026, 4, 6)) == 3 * HOUR  # a normal Sunday


def test_berlin_repeated_autumn_hour_counts_twice() -> None:
    """Sun 01:00-04:00 on 2026-10-25 holds 4h: 01:00 CEST (24th 23:00Z) to 04:00 CET (03:00Z)."""
    nights = make("Europe/Berlin", {"sun": ["01:00-04:00"]})
    assert nights.elapsed(utc(2026, 10, 24), utc(2026, 10, 26)) == 4 * HOUR
    # 4h from the opening ends exactly at the closing 04:00 CET, not next Sunday's opening.
    assert utc(2026, 10, 25, 3) == nights.add(utc(2026, 10, 24, 23), 4 * HOUR)
    # 2h30m from 01:00 CEST is the second time the clock reads 02:30 (02:30 CET = 01:30Z).
    assert utc(2026, 10, 25, 1, 30) == nights.add(utc(2026, 10, 24, 23), timedelta(hours=2.5))


def test_berlin_period_ending_inside_repeated_hour_is_open_whenever_clock_reads_it() -> None:
    """A period ending inside the repeated hour is open each time the clock reads a working time."""
    # Sun 2026-10-25 01:00-02:30: 01:00-02:30 CEST (24th 23:00Z-00:30Z), then the clock goes
    # back at 03:00 CEST and reads 02:00-02:30 again as CET (01:00Z-01:30Z): 1h30m + 30m = 2h.
    nights = make("Europe/Berlin", {"sun": ["01:00-02:30"]})
    assert nights.elapsed(utc(2026, 10, 24), utc(2026, 10, 26)) == 2 * HOUR
    assert not nights.is_working(utc(2026, 10, 25, 0, 45))  # 02:45 CEST
    assert nights.is_working(utc(2026, 10, 25, 1, 15))  # 02:15 CET


# -- daylight saving time: America/Sao_Paulo (transitions at midnight, DST until 2019) -------


def test_sao_paulo_day_before_missing_midnight_is_24_hours() -> None:
    """Sat 2018-11-03 00:00-24:00 runs 03:00Z to 11-04 03:00Z, when 00:00 becomes 01:00."""
    saturdays = make("America/Sao_Paulo", {"sat": ["00:00-24:00"]})
    assert saturdays.elapsed(utc(2018, 10, 29), utc(2018, 11, 5)) == 24 * HOUR


def test_sao_paulo_day_without_midnight_is_23_hours() -> None:
    """Sun 2018-11-04 starts when 00:00 jumps to 01:00 (03:00Z), ends 24:00 -02 (11-05 02:00Z)."""
    sundays = make("America/Sao_Paulo", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2018, 11, 1), utc(2018, 11, 8)) == 23 * HOUR


def test_sao_paulo_period_that_never_happens_counts_nothing() -> None:
    """On Sun 2018-11-04 00:00-01:00 does not exist; only 09:00-10:00 (-02, 11:00-12:00Z) counts."""
    sundays = make("America/Sao_Paulo", {"sun": ["00:00-01:00", "09:00-10:00"]})
    assert sundays.elapsed(utc(2018, 11, 1), utc(2018, 11, 8)) == HOUR
    assert utc(2018, 11, 4, 11, 30) == sundays.add(utc(2018, 11, 4), timedelta(minutes=30))


def test_sao_paulo_day_with_repeated_hour_is_25_hours() -> None:
    """Sat 2019-02-16 runs 00:00 -02 (02:00Z) to Sun 00:00 -03 (02-17 03:00Z): 23:00-24:00 twice."""
    saturdays = make("America/Sao_Paulo", {"sat": ["00:00-24:00"]})
    assert saturdays.elapsed(utc(2019, 2, 11), utc(2019, 2, 18)) == 25 * HOUR
    late = make("America/Sao_Paulo", {"sat": ["23:00-24:00"]})
    # 23:00 -02 is 02-17 01:00Z; the clock then reads 23:00-24:00 again until 03:00Z.
    assert late.elapsed(utc(2019, 2, 11), utc(2019, 2, 18)) == 2 * HOUR
    assert utc(2019, 2, 17, 3) == late.add(utc(2019, 2, 17, 1), 2 * HOUR)


def test_sao_paulo_day_after_repeated_hour_is_24_hours() -> None:
    """Sun 2019-02-17 runs 00:00 -03 (03:00Z) to 24:00 -03 (02-18 03:00Z)."""
    sundays = make("America/Sao_Paulo", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2019, 2, 13), utc(2019, 2, 20)) == 24 * HOUR


# -- daylight saving time: Australia/Sydney -----------------------------------------------------


def test_sydney_autumn_transition_gives_25_hour_sunday() -> None:
    """Sun 2026-04-05 runs 00:00 AEDT (04-04 13:00Z) to 24:00 AEST (04-05 14:00Z)."""
    sundays = make("Australia/Sydney", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2026, 3, 31), utc(2026, 4, 7)) == 25 * HOUR


def test_sydney_autumn_repeated_hour_inside_period_counts_twice() -> None:
    """Sun 01:00-04:00 on 2026-04-05: 01:00-03:00 AEDT (14-16Z) then 02:00-04:00 AEST (16-18Z)."""
    nights = make("Australia/Sydney", {"sun": ["01:00-04:00"]})
    assert nights.elapsed(utc(2026, 4, 3), utc(2026, 4, 6)) == 4 * HOUR
    assert utc(2026, 4, 4, 18) == nights.add(utc(2026, 4, 4, 14), 4 * HOUR)


def test_sydney_spring_transition_gives_23_hour_sunday() -> None:
    """Sun 2026-10-04 runs 00:00 AEST (10-03 14:00Z) to 24:00 AEDT (10-04 13:00Z)."""
    sundays = make("Australia/Sydney", {"sun": ["00:00-24:00"]})
    assert sundays.elapsed(utc(2026, 9, 29), utc(2026, 10, 6)) == 23 * HOUR


def test_sydney_spring_skipped_hour_inside_period_is_not_counted() -> None:
    """Sun 01:00-04:00 on 2026-10-04: 01:00-02:00 AEST (15-16Z) then 03:00-04:00 AEDT (16-17Z)."""
    nights = make("Australia/Sydney", {"sun": ["01:00-04:00"]})
    assert nights.elapsed(utc(2026, 10, 2), utc(2026, 10, 5)) == 2 * HOUR
    assert utc(2026, 10, 3, 17) == nights.add(utc(2026, 10, 3, 15), 2 * HOUR)


# -- daylight saving time: Asia/Tehran (+03:30/+04:30, DST until 2022, at midnight) ----------


def test_tehran_day_without_midnight_is_23_hours() -> None:
    """Tue 2022-03-22 starts when 00:00 +03:30 jumps to 01:00 (03-21 20:30Z), ends 03-22 19:30Z."""
    tuesdays = make("Asia/Tehran", {"tue": ["00:00-24:00"]})
    assert tuesdays.elapsed(utc(2022, 3, 19), utc(2022, 3, 26)) == 23 * HOUR
    # Mon 12:00Z + 1h: the Tuesday opens at 20:30Z, so the hour ends at 21:30Z.
    assert utc(2022, 3, 21, 21, 30) == tuesdays.add(utc(2022, 3, 21, 12), HOUR)


def test_tehran_day_before_missing_midnight_is_24_hours() -> None:
    """Mon 2022-03-21 runs 00:00 +03:30 (03-20 20:30Z) to the jump at 03-21 20:30Z."""
    mondays = make("Asia/Tehran", {"mon": ["00:00-24:00"]})
    assert mondays.elapsed(utc(2022, 3, 19), utc(2022, 3, 26)) == 24 * HOUR


def test_tehran_day_with_repeated_hour_is_25_hours() -> None:
    """Wed 2022-09-21 runs 00:00 +04:30 (09-20 19:30Z) to 24:00 +03:30 (09-21 20:30Z)."""
    wednesdays = make("Asia/Tehran", {"wed": ["00:00-24:00"]})
    assert wednesdays.elapsed(utc(2022, 9, 17), utc(2022, 9, 24)) == 25 * HOUR


def test_tehran_day_after_repeated_hour_is_24_hours() -> None:
    """Thu 2022-09-22 runs 00:00 +03:30 (09-21 20:30Z) to 24:00 +03:30 (09-22 20:30Z)."""
    thursdays = make("Asia/Tehran", {"thu": ["00:00-24:00"]})
    assert thursdays.elapsed(utc(2022, 9, 17), utc(2022, 9, 24)) == 24 * HOUR


# -- 24x7 ------------------------------------------------------------------------------------


def test_always_calendar_is_plain_instant_arithmetic_across_dst() -> None:
    """24x7 adds real time: Berlin 2026-03-28 12:00 CET + 24h is 03-29 13:00 CEST (11:00Z)."""
    always = make("UTC", "always")
    assert always.is_always
    assert utc(2026, 3, 29, 11) == always.add(datetime(2026, 3, 28, 12, tzinfo=BERLIN), 24 * HOUR)
    start = datetime(2026, 3, 29, tzinfo=BERLIN)
    assert always.elapsed(start, datetime(2026, 3, 30, tzinfo=BERLIN)) == 23 * HOUR
    assert always.is_working(start)


# -- invalid input -----------------------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    """add, elapsed and is_working raise ValueError for naive datetimes."""
    naive = datetime(2026, 3, 2, 9)
    aware = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    for calendar in (OFFICE, make("UTC", "always")):
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.add(naive, HOUR)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.elapsed(naive, aware)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.elapsed(aware, naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.is_working(naive)


def test_negative_durations_are_rejected() -> None:
    """add raises ValueError for a negative duration."""
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(datetime(2026, 3, 2, 9, tzinfo=BERLIN), -timedelta(seconds=1))


VALID_HOURS = {"mon": ["09:00-17:00"]}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param(
            {"timezone": "Mars/Base", "hours": "always"},
            "timezone: unknown IANA timezone 'Mars/Base'",
            id="unknown-timezone",
        ),
        pytest.param({"hours": "always"}, "timezone: required", id="missing-timezone"),
        pytest.param(
            {"timezone": 1, "hours": "always"}, "timezone: expected an IANA", id="timezone-type"
        ),
        pytest.param({"timezone": "UTC"}, "hours: required", id="missing-hours"),
        pytest.param(
            {"timezone": "UTC", "hours": "24x7"}, "hours: expected 'always' or", id="hours-word"
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"funday": ["09:00-17:00"]}},
            "hours.funday: unknown weekday",
            id="unknown-weekday",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": "09:00-17:00"}},
            "hours.mon: expected a list",
            id="day-not-a-list",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"tue": ["09:00-12:00", "13:00-12:00"]}},
            "hours.tue[1]: '13:00-12:00' ends before it starts",
            id="ends-before-start",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": ["9-17"]}},
            "hours.mon[0]: expected a period 'HH:MM-HH:MM'",
            id="period-format",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": ["09:00-24:30"]}},
            "hours.mon[0]: '09:00-24:30' has an invalid end",
            id="end-after-24",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": ["24:00-24:00"]}},
            "hours.mon[0]: '24:00-24:00' has an invalid start",
            id="start-at-24",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": ["09:61-17:00"]}},
            "hours.mon[0]: '09:61-17:00' has an invalid start",
            id="minute-61",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": ["09:00-09:00"]}},
            "hours.mon[0]: '09:00-09:00' is empty",
            id="empty-period",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"wed": ["12:00-17:00", "09:00-13:00"]}},
            "hours.wed[0]: '12:00-17:00' overlaps '09:00-13:00'",
            id="overlap",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": {"mon": []}}, "hours: no working periods", id="no-periods"
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": "2026-12-24"},
            "holidays: expected a list",
            id="holidays-not-a-list",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": ["2026-13-01"]},
            "holidays[0]: invalid date '2026-13-01'",
            id="bad-date",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": ["2026-12-24", "24.12.2026"]},
            "holidays[1]: invalid date '24.12.2026'",
            id="date-format",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": [20261224]},
            "holidays[0]: expected an ISO date string",
            id="date-number",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": [datetime(2026, 12, 24, 9)]},
            "holidays[0]: expected a whole date",
            id="date-time",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": [{"country": "XX"}]},
            "holidays[0].country: unknown country 'XX'",
            id="unknown-country",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": [{"subdivision": "BE"}]},
            "holidays[0].country: required",
            id="missing-country",
        ),
        pytest.param(
            {
                "timezone": "UTC",
                "hours": VALID_HOURS,
                "holidays": [{"country": "DE", "subdivision": "ZZ"}],
            },
            "holidays[0].subdivision: unknown subdivision 'ZZ' for country 'DE'",
            id="unknown-subdivision",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": VALID_HOURS, "holidays": [{"country": "DE", "x": 1}]},
            "holidays[0].x: unknown key",
            id="unknown-holiday-key",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": "always", "holidays": ["2026-12-24"]},
            "holidays: not allowed with hours 'always'",
            id="holidays-with-always",
        ),
        pytest.param(
            {"timezone": "UTC", "hours": "always", "tz": "UTC"}, "tz: unknown key", id="extra-key"
        ),
    ],
)
def test_invalid_mapping_is_rejected_with_key_path(mapping: object, message: str) -> None:
    """An invalid mapping raises CalendarError (a ValueError) naming the offending key path."""
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_mapping(mapping)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(message), str(caught.value)
    assert str(caught.value).startswith(f"{caught.value.path}: ")


# -- description, equality, pinning ------------------------------------------------------------


def test_to_mapping_round_trips_to_an_equal_calendar() -> None:
    """from_mapping(to_mapping()) gives an equal calendar; the mapping is normalized JSON data."""
    expected = {
        "timezone": "Europe/Berlin",
        "hours": OFFICE_MAPPING["hours"],
        "holidays": ["2026-12-24", {"country": "DE"}],
    }
    assert expected == OFFICE.to_mapping()
    assert BusinessCalendar.from_mapping(OFFICE.to_mapping()) == OFFICE
    assert make("UTC", "always").to_mapping() == {"timezone": "UTC", "hours": "always"}


def test_equality_is_by_normalized_mapping_not_name() -> None:
    """Calendars with the same meaning are equal (and hash alike) whatever their names."""
    first = BusinessCalendar.from_mapping(
        {"timezone": "UTC", "hours": {"tue": ["13:00-17:00", "09:00-12:00"], "sat": []}},
        name="a",
    )
    second = BusinessCalendar.from_mapping(
        {"timezone": "UTC", "hours": {"tue": ["09:00-12:00", "13:00-17:00"]}}, name="b"
    )
    assert first == second
    assert hash(first) == hash(second)
    assert first != make("Europe/Berlin", {"tue": ["09:00-12:00", "13:00-17:00"]})


def test_describes_its_name_and_timezone() -> None:
    """name, timezone and is_always describe the calendar."""
    assert OFFICE.name == "berlin-office"
    assert OFFICE.timezone == "Europe/Berlin"
    assert not OFFICE.is_always


# -- properties ------------------------------------------------------------------------------

PROPERTY_MAPPINGS: list[dict[str, object]] = [
    OFFICE_MAPPING,
    {
        "timezone": "Europe/Berlin",
        "hours": {
            **days(("mon", "tue", "wed", "thu", "fri", "sat"), ["00:00-04:00"]),
            "sun": ["00:30-02:30", "02:45-03:15", "22:00-24:00"],
        },
    },
    {
        "timezone": "America/Sao_Paulo",
        "hours": {
            **days(MON_FRI, ["08:00-18:00"]),
            "sat": ["00:00-24:00"],
            "sun": ["00:00-01:00", "09:00-10:00", "23:00-24:00"],
        },
        "holidays": [{"country": "BR"}],
    },
    {
        "timezone": "Australia/Sydney",
        "hours": {**days(MON_FRI, ["08:30-12:30", "13:30-17:30"]), "sun": ["01:00-04:00"]},
        "holidays": [{"country": "AU", "subdivision": "NSW"}, "2026-12-29"],
    },
    {
        "timezone": "Asia/Tehran",
        "hours": {
            **days(("sat", "sun", "mon", "wed"), ["08:00-16:00"]),
            "tue": ["00:00-24:00"],
            "thu": ["23:00-24:00"],
        },
    },
    {
        "timezone": "Australia/Lord_Howe",
        "hours": days((*MON_FRI, "sun"), ["01:00-03:00"]),
    },
    {"timezone": "UTC", "hours": "always"},
]
PROPERTY_CALENDARS = [BusinessCalendar.from_mapping(mapping) for mapping in PROPERTY_MAPPINGS]
ZONES = [BERLIN, SAO_PAULO, SYDNEY, TEHRAN, ZoneInfo("Australia/Lord_Howe"), UTC]
TRANSITIONS = [
    utc(2026, 3, 29, 1),
    utc(2026, 10, 25, 1),
    utc(2018, 11, 4, 3),
    utc(2019, 2, 17, 2),
    utc(2026, 4, 4, 16),
    utc(2026, 10, 3, 16),
    utc(2022, 3, 21, 20, 30),
    utc(2022, 9, 21, 19, 30),
    utc(2026, 4, 4, 15),  # Lord Howe, 30-minute shifts
    utc(2026, 10, 3, 15, 30),
]

calendars = st.sampled_from(PROPERTY_CALENDARS)
anywhere = st.datetimes(
    min_value=datetime(2017, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from(ZONES),
)
near_transition = st.builds(
    lambda at, shift, zone: (at + shift).astimezone(zone),
    st.sampled_from(TRANSITIONS),
    st.timedeltas(min_value=-timedelta(days=3), max_value=timedelta(days=3)),
    st.sampled_from(ZONES),
)
instants = st.one_of(anywhere, near_transition)
durations = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2500)),
)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(calendars, instants, durations)
def test_elapsed_undoes_add(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    """elapsed(s, add(s, d)) == d exactly, and the instant just before add(s, d) is working."""
    due = calendar.add(start, duration)
    assert duration == calendar.elapsed(start, due)
    assert due >= start
    if duration:
        assert calendar.is_working(due - timedelta(microseconds=1))


@PROPERTY_SETTINGS
@given(calendars, instants, durations, durations)
def test_add_is_monotonic_in_duration(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    """A longer duration never ends earlier."""
    shorter, longer = sorted((first, second))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@PROPERTY_SETTINGS
@given(calendars, instants, durations, durations)
def test_add_composes(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    """add(add(s, a), b) == add(s, a + b)."""
    assert calendar.add(start, first + second) == calendar.add(calendar.add(start, first), second)


@PROPERTY_SETTINGS
@given(calendars, instants, instants, instants)
def test_elapsed_is_additive(
    calendar: BusinessCalendar, first: datetime, second: datetime, third: datetime
) -> None:
    """elapsed(a, c) == elapsed(a, b) + elapsed(b, c) for a <= b <= c."""
    a, b, c = sorted((first, second, third))
    assert calendar.elapsed(a, c) == calendar.elapsed(a, b) + calendar.elapsed(b, c)


def wall_clock_working(mapping: dict[str, object], at: datetime) -> bool:
    """Reference definition: the local wall clock reads a working time on a working date."""
    hours = mapping["hours"]
    if hours == "always":
        return True
    assert isinstance(hours, dict)
    # Via UTC: astimezone() to the same zone returns an imaginary (spring-gap) time unchanged.
    local = at.astimezone(UTC).astimezone(ZoneInfo(str(mapping["timezone"])))
    day = local.date()
    for item in mapping.get("holidays", []):  # type: ignore[attr-defined]
        if isinstance(item, str) and date.fromisoformat(item) == day:
            return False
        if isinstance(item, dict):
            table = holidays.country_holidays(
                item["country"], subdiv=item.get("subdivision"), years=day.year
            )
            if day in table:
                return False
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    clock = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    for period in hours.get(weekday, []):
        start, end = period.split("-")
        start_s = int(start[:2]) * 3600 + int(start[3:]) * 60
        end_s = int(end[:2]) * 3600 + int(end[3:]) * 60
        if start_s <= clock < end_s:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(PROPERTY_MAPPINGS) - 1), instants)
def test_is_working_matches_the_wall_clock_definition(index: int, at: datetime) -> None:
    """An instant is working exactly when its local wall clock reads a working time."""
    expected = wall_clock_working(PROPERTY_MAPPINGS[index], at)
    assert expected == PROPERTY_CALENDARS[index].is_working(at)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, len(PROPERTY_MAPPINGS) - 2),  # every calendar but 24x7
    st.sampled_from(TRANSITIONS),
    st.integers(-36 * 60, 12 * 60),
)
def test_elapsed_matches_minute_by_minute_count_around_transitions(
    index: int, transition: datetime, offset_minutes: int
) -> None:
    """Over 36 hours around a DST transition, elapsed equals the count of working minutes."""
    start = transition + timedelta(minutes=offset_minutes)
    minutes = 36 * 60
    mapping = PROPERTY_MAPPINGS[index]
    # Periods, offsets and transitions all fall on whole minutes, so each minute is all or nothing.
    working = sum(wall_clock_working(mapping, start + timedelta(minutes=m)) for m in range(minutes))
    end = start + timedelta(minutes=minutes)
    assert timedelta(minutes=working) == PROPERTY_CALENDARS[index].elapsed(start, end)


@settings(max_examples=150, deadline=None)
@given(
    start_minutes=st.integers(min_value=0, max_value=60 * 24 * 365 * 4),
    span_minutes=st.integers(min_value=0, max_value=60 * 24 * 500),
)
def test_long_spans_equal_the_sum_of_their_days(start_minutes: int, span_minutes: int) -> None:
    """elapsed over months (prefix sums over cached weeks) equals day-by-day elapsed."""
    calendar = BusinessCalendar.from_mapping(
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon": ["09:00-17:00"], "tue": ["09:00-12:00", "13:00-17:00"]},
            "holidays": [{"country": "DE"}],
        }
    )
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=start_minutes)
    end = start + timedelta(minutes=span_minutes)
    fresh = BusinessCalendar.from_mapping(calendar.to_mapping())
    total, cursor = timedelta(0), start
    while cursor < end:
        step = min(end, cursor + timedelta(days=1))
        total += fresh.elapsed(cursor, step)
        cursor = step
    assert calendar.elapsed(start, end) == total


# ---------------------------------------------------------------------- recorded policies

_RECORDED_QQ = {
    "timezone": "UTC",
    "hours": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]},
    "holidays": [
        {"country": "QQ", "subdivision": "X", "pinned": {"years": [2026, 2026],
                                                         "dates": ["2026-03-02"]}}
    ],
}  # fmt: skip


def test_a_recorded_calendar_reads_its_pinned_holidays_without_the_package() -> None:
    """A policy version the store recorded was checked when it was loaded: its pinned
    country holidays are taken as recorded (no holidays package, which costs a process
    ~150 ms). A year outside the pinned ones asks the package, and a country it does not
    know is then a CalendarError naming it, not an error from inside the package."""
    recorded = BusinessCalendar.from_mapping(_RECORDED_QQ, name="office", recorded=True)
    assert recorded.is_holiday(date(2026, 3, 2))  # pinned
    assert not recorded.is_holiday(date(2026, 3, 3))
    with pytest.raises(CalendarError, match=r"QQ/X: the installed holidays package does not"):
        recorded.is_holiday(date(2027, 3, 1))


def test_a_calendar_given_by_a_user_is_checked_against_the_package_even_when_pinned() -> None:
    """Pinned entries in a policy a user loads are checked as any other: an unknown country
    is refused when the policy is loaded, not when a year outside the pinned ones comes."""
    with pytest.raises(CalendarError, match=r"holidays\[0\]\.country: unknown country 'QQ'"):
        BusinessCalendar.from_mapping(_RECORDED_QQ, name="office")


def test_a_recorded_calendar_equals_the_calendar_loaded() -> None:
    """Reading a recorded version gives the calendar the policy had when it was loaded."""
    loaded = BusinessCalendar.from_mapping(
        {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]},
         "holidays": [{"country": "DE", "subdivision": "BE"}]}
    ).pinned(2025, 2027)  # fmt: skip
    recorded = BusinessCalendar.from_mapping(loaded.to_mapping(), recorded=True)
    assert recorded == loaded
    for day in (date(2026, 3, 8), date(2026, 10, 3), date(2026, 3, 9)):
        assert recorded.is_holiday(day) == loaded.is_holiday(day)
    assert recorded.is_holiday(date(2026, 3, 8))  # Women's Day, Berlin only
