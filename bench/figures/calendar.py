"""Extra figure: engine.calendar's business-time arithmetic over year-long horizons.

Measures ``BusinessCalendar.add`` and ``elapsed`` on a Berlin office calendar (Mon-Fri
09:00-17:00, Tuesday lunch break, listed holidays plus the public holidays of Berlin) for
varied starts across 2026, in microseconds per call (no goal; SLA evaluation builds on it).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.context import Context
from bench.records import Record
from engine.calendar import BusinessCalendar

COLD_CALENDARS = 50
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE: dict[str, object] = {
    "timezone": "Europe/Berlin",
    "hours": {
        "mon": ["09:00-17:00"],
        "tue": ["09:00-12:00", "13:00-17:00"],
        "wed": ["09:00-17:00"],
        "thu": ["09:00-17:00"],
        "fri": ["09:00-17:00"],
    },
    "holidays": ["2026-12-24", "2026-12-31", {"country": "DE", "subdivision": "BE"}],
}


def varied_starts(count: int, seed: int) -> list[datetime]:
    """``count`` instants spread over 2026, in Berlin time, to the second."""
    rng = random.Random(seed)
    origin = datetime(2026, 1, 1, tzinfo=BERLIN)
    return [origin + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(count)]


def timed(calls: list[Callable[[], object]]) -> list[float]:
    """Microseconds per call."""
    samples = []
    for call in calls:
        begin = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - begin) / 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "calls": len(ordered),
        "mean_us": round(statistics.fmean(ordered), 2),
        "p50_us": round(ordered[len(ordered) // 2], 2),
        "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_us": round(ordered[-1], 2),
    }


def cases(calls: int) -> dict[str, list[float]]:
    """Microseconds per call of each case."""
    starts = varied_starts(calls, seed=2026)
    year_of_hours = timedelta(hours=2000)  # ~50 working weeks: a year-long horizon
    measured: dict[str, list[float]] = {}
    cold = [BusinessCalendar.from_mapping(OFFICE) for _ in range(COLD_CALENDARS)]
    measured["add 2000h, cold (builds ~53 weeks)"] = timed(
        [lambda c=c: c.add(starts[0], year_of_hours) for c in cold]
    )
    office = BusinessCalendar.from_mapping(OFFICE, name="berlin-office")
    for start in starts:  # warm-up: build every week the horizons touch
        office.add(start, year_of_hours)
        office.elapsed(start, start + timedelta(days=366))
    measured["add 2000h (year horizon)"] = timed(
        [lambda s=s: office.add(s, year_of_hours) for s in starts]
    )
    measured["add 4h (typical target)"] = timed(
        [lambda s=s: office.add(s, timedelta(hours=4)) for s in starts]
    )
    measured["elapsed over 365 days"] = timed(
        [lambda s=s: office.elapsed(s, s + timedelta(days=365)) for s in starts]
    )
    always = BusinessCalendar.from_mapping({"timezone": "UTC", "hours": "always"})
    measured["add 2000h, 24x7"] = timed([lambda s=s: always.add(s, year_of_hours) for s in starts])
    return measured


def run(context: Context) -> list[Record]:
    calls = context.size.calendar_calls
    with context.progress.task("BusinessCalendar.add and elapsed"):
        measured = cases(calls)
    return [
        Record(
            f"calendar.{slug(name)}",
            f"calendar {name}",
            "us/call",
            statistics.median(samples),
            size=f"{len(samples):,} calls, median",
            details=summary(samples),
        )
        for name, samples in measured.items()
    ]


def slug(name: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
