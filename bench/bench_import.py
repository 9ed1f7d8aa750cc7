"""Benchmark: ServiceNow import into a fresh SQLite file, in rows per second.

    .venv/bin/python -m bench.bench_import [--repeat N] [--copies N] [--check]

Datasets: the 6k-row export of ``tests/data/servicenow/`` and the same file replicated
``--copies`` times with renamed incident numbers (``INC0000045`` -> ``INC1000045``, ...), about
30k rows by default. Each run imports into a new SQLite file with the instance's policy already
installed (so the import makes a single pass), then re-imports the same file (every row a
duplicate). Prints a table and writes ``bench/results/import.json``. The target is 10,000
rows/s; ``--check`` exits 1 when the best run of a dataset is below it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.bootstrap import open_desk
from adapters.logging import configure_logging
from adapters.servicenow import import_servicenow, load_policy_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "servicenow"
SOURCE = DATA / "incident_event_log_6k.csv"
POLICY = DATA / "servicenow-policy.yaml"
RESULTS = ROOT / "bench" / "results" / "import.json"
TARGET_ROWS_PER_SECOND = 10_000


def replicate(source: Path, target: Path, copies: int) -> int:
    """Write ``copies`` copies of ``source``, copy k renaming ``INC0...`` to ``INCk...``."""
    with source.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = list(reader)
    number = header.index("number")
    rows = 0
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for copy in range(copies):
            for record in records:
                renamed = list(record)
                renamed[number] = f"INC{copy}{record[number][4:]}"
                writer.writerow(renamed)
                rows += 1
    return rows


def run_once(path: Path, workdir: Path, run: int) -> dict[str, Any]:
    """Import ``path`` into a fresh SQLite file, then re-import it; return the figures."""
    database = workdir / f"{path.stem}-{run}.db"
    desk = open_desk(f"sqlite:///{database}")
    try:
        policy = load_policy_file(POLICY)
        desk.load_policy(policy, actor="bench")
        first = import_servicenow(desk, path, policy=policy)
        again = import_servicenow(desk, path, policy=policy)
    finally:
        desk.close()
    if not first.ok or not first.written:
        raise SystemExit(f"import of {path} failed: {first.failures[:3]}")
    return {
        "rows": first.rows,
        "incidents": first.incidents,
        "events": sum(first.events.values()),
        "seconds": first.elapsed,
        "rows_per_second": first.rows_per_second,
        "reimport_seconds": again.elapsed,
        "reimport_rows_per_second": again.rows_per_second,
        "reimport_new_events": sum(again.events.values()),
        "database_bytes": database.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per dataset (best counts)")
    parser.add_argument("--copies", type=int, default=5, help="copies of the 6k file (~30k rows)")
    parser.add_argument("--check", action="store_true", help="exit 1 below the target")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # one info line per import would clutter the table
    console = Console()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="deskledger-bench-") as tmp:
        workdir = Path(tmp)
        replicated = workdir / f"incident_event_log_{args.copies}x6k.csv"
        replicate(SOURCE, replicated, args.copies)
        for label, path in (("6k", SOURCE), (f"{args.copies}x6k", replicated)):
            runs = [run_once(path, workdir, run) for run in range(args.repeat)]
            speeds = [r["rows_per_second"] for r in runs]
            best = max(runs, key=lambda r: r["rows_per_second"])
            results.append(
                {
                    "dataset": label,
                    **best,
                    "median_rows_per_second": statistics.median(speeds),
                    "runs_rows_per_second": [round(s, 1) for s in speeds],
                    "meets_target": best["rows_per_second"] >= TARGET_ROWS_PER_SECOND,
                }
            )
    table = Table(title=f"ServiceNow import into SQLite (best of {args.repeat})")
    for column in ("dataset", "rows", "events", "seconds", "rows/s", "median rows/s", "re-import"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r["dataset"],
            f"{r['rows']:,}",
            f"{r['events']:,}",
            f"{r['seconds']:.2f}",
            f"{r['rows_per_second']:,.0f}",
            f"{r['median_rows_per_second']:,.0f}",
            f"{r['reimport_rows_per_second']:,.0f} rows/s, +{r['reimport_new_events']} events",
        )
    console.print(table)
    console.print(f"target: {TARGET_ROWS_PER_SECOND:,} rows/s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "servicenow-import",
        "measured_at": datetime.now(UTC).isoformat(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "target_rows_per_second": TARGET_ROWS_PER_SECOND,
        "results": results,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"written {RESULTS.relative_to(ROOT)}")
    if args.check and not all(r["meets_target"] for r in results):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
