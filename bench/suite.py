"""The suite: run the selected figures, print one table, write one results.json.

A :class:`Figure` is a named measurement (``--only`` takes these names) that returns
:class:`~bench.records.Record` s; figures that read the generated log say which stages of it
they need, so the log is written once and copied at each size on the way.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.logging import configure_logging
from bench import machine, postgres
from bench.context import Context
from bench.logs import Logs
from bench.output import print_table
from bench.progress import reporter_for
from bench.records import Record, skipped
from bench.sizes import Size


@dataclass(frozen=True)
class Figure:
    name: str
    issue: str  # the figure's number in the performance issue ("-" for extras)
    summary: str
    run: Callable[[Context], list[Record]]
    log_stages: tuple[str, ...] = ()
    postgres: bool = False


def select(figures: Sequence[Figure], only: Sequence[str] | None) -> list[Figure]:
    if not only:
        return list(figures)
    known = {figure.name: figure for figure in figures}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return [figure for figure in figures if figure.name in only]


def run(
    figures: Sequence[Figure],
    size: Size,
    *,
    out: Path,
    postgres_url: str | None = None,
    console: Console | None = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Measure ``figures`` at ``size``; print the table, write ``out``, return the results.

    A figure that raises is reported (a record with the error as its note, its name in
    ``failed``) and the others still run.
    """
    console = console or Console()
    configure_logging("WARNING")  # the engine's info lines would break up the progress
    began = time.perf_counter()
    server = postgres.server_url(postgres_url)
    missing = postgres.unreachable(server)
    reachable = server if missing is None else None
    results: dict[str, Any] = {
        "suite": "deskledger-bench",
        "size": size.name,
        "figures_run": [figure.name for figure in figures],
        "machine": machine.describe(postgres.conninfo(reachable) if reachable else None),
    }
    records: list[tuple[Figure, Record]] = []
    failed: list[str] = []
    progress = reporter_for(console)
    with tempfile.TemporaryDirectory(prefix="deskledger-bench-", dir=workdir) as tmp:
        logs = Logs(size, Path(tmp), progress)
        for figure in figures:
            logs.want(figure.log_stages)
        context = Context(size, Path(tmp), progress, logs, reachable, missing)
        try:
            for index, figure in enumerate(figures, start=1):
                progress.figure(index, len(figures), f"{figure.name}: {figure.summary}")
                try:
                    measured = figure.run(context)
                except Exception as error:  # noqa: BLE001 - one broken figure must not cost the others
                    reason = f"failed: {type(error).__name__}: {error}".splitlines()[0][:300]
                    progress.note(f"{figure.name} {reason}")
                    failed.append(figure.name)
                    measured = [skipped(figure.name, figure.summary, "", reason)]
                records.extend((figure, record) for record in measured)
        finally:
            logs.close()
            progress.close()
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["failed"] = failed
    results["figures"] = [{"issue": figure.issue, **record.as_dict()} for figure, record in records]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    title = (
        f"DeskLedger / baseline, size {size.name}, {results['seconds']:.0f} s "
        f"({results['machine']['cores']} cores, load {results['machine']['load_average_at_start']})"
    )
    print_table(results["figures"], console, title)
    console.print(f"wrote {out}")
    return results
