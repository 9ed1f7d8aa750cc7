"""Benchmark engine.calendar: business-time arithmetic over year-long horizons.

Run from the repository root::

    .venv/bin/python -m bench.bench_calendar

Measures ``BusinessCalendar.add`` and ``elapsed`` on a Berlin office calendar (Mon-Fri
09:00-17:00, Tuesday lunch break, listed holidays plus the public holidays of Berlin) for
varied starts across 2026, prints a table and writes ``bench/results/calendar.json``.
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.calendar import BusinessCalendar

CALLS = 2000
COLD_CALENDARS = 50
RESULTS = Path(__file__).parent / "results" / "calendar.json"
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


def run() -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    starts = varied_starts(CALLS, seed=2026)
    year_of_hours = timedelta(hours=2000)  # ~50 working weeks: a year-long horizon

    cold = [BusinessCalendar.from_mapping(OFFICE) for _ in range(COLD_CALENDARS)]
    results["add 2000h, cold (builds ~53 weeks)"] = summary(
        timed([lambda c=c: c.add(starts[0], year_of_hours) for c in cold])
    )

    office = BusinessCalendar.from_mapping(OFFICE, name="berlin-office")
    for start in starts:  # warm-up: build every week the horizons touch
        office.add(start, year_of_hours)
        office.elapsed(start, start + timedelta(days=366))
    results["add 2000h (year horizon)"] = summary(
        timed([lambda s=s: office.add(s, year_of_hours) for s in starts])
    )
    results["add 4h (typical target)"] = summary(
        timed([lambda s=s: office.add(s, timedelta(hours=4)) for s in starts])
    )
    results["elapsed over 365 days"] = summary(
        timed([lambda s=s: office.elapsed(s, s + timedelta(days=365)) for s in starts])
    )
    results["elapsed over 1 day"] = summary(
        timed([lambda s=s: office.elapsed(s, s + timedelta(days=1)) for s in starts])
    )
    always = BusinessCalendar.from_mapping({"timezone": "UTC", "hours": "always"})
    results["add 2000h, 24x7"] = summary(
        timed([lambda s=s: always.add(s, year_of_hours) for s in starts])
    )
    return results


def show(results: dict[str, dict[str, float]]) -> None:
    columns = ("calls", "mean_us", "p50_us", "p99_us", "max_us")
    try:
        from rich.console import Console  # noqa: PLC0415 - optional dependency
        from rich.table import Table  # noqa: PLC0415
    except ImportError:
        print(f"{'case':<36}" + "".join(f"{column:>10}" for column in columns))
        for case, row in results.items():
            print(f"{case:<36}" + "".join(f"{row[column]:>10}" for column in columns))
        return
    table = Table(title="engine.calendar (Berlin office, holidays DE-BE)")
    table.add_column("case")
    for column in columns:
        table.add_column(column, justify="right")
    for case, row in results.items():
        table.add_row(case, *(f"{row[column]:g}" for column in columns))
    Console().print(table)


def main() -> None:
    results = run()
    show(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "engine.calendar",
        "calendar": OFFICE,
        "python": platform.python_version(),
        "holidays": version("holidays"),
        "cases": results,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
