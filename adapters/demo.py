"""The main job on embedded defaults (SPEC §12): bundled scenarios into a fresh SQLite store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.bootstrap import open_desk
from adapters.scenario import ScenarioResult, run_scenario
from engine.views import ticket_view

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class DemoResult:
    store: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    verify_ok: bool = False
    head: str = ""
    events: int = 0

    @property
    def ok(self) -> bool:
        return self.verify_ok and all(s.ok for s in self.scenarios)


def bundled_scenarios(directory: Path = SCENARIO_DIR) -> list[Path]:
    """Every scenario file shipped in ``scenarios/`` (policies live in a subfolder)."""
    return sorted(directory.glob("*.yaml"))


def run_demo(database: Path, console: Console, directory: Path = SCENARIO_DIR) -> DemoResult:
    """Run every bundled scenario into a fresh SQLite file and show what the desk looks like."""
    if database.exists():
        database.unlink()
    url = f"sqlite:///{database.resolve()}"
    desk = open_desk(url)
    result = DemoResult(store=url)
    for path in bundled_scenarios(directory):
        scenario = run_scenario(desk, path)
        result.scenarios.append(scenario)
        mark = "[green]PASS[/green]" if scenario.ok else "[red]FAIL[/red]"
        console.print(f"{mark} scenario {scenario.name}: {scenario.checks} checks")
        for failure in scenario.failures:
            console.print(f"    [red]✗[/red] {failure}")

    table = Table(title=f"tickets in {database}")
    columns = (
        "ref",
        "kind",
        "state",
        "priority",
        "assignment_group",
        "assignee",
        "reassignment_count",
        "reopen_count",
        "major",
        "parent",
        "made_sla",
    )
    for column in columns:
        table.add_column(column)
    for ticket in desk.tickets():
        view = ticket_view(ticket, desk.sla_status(ticket))
        table.add_row(*("" if view[c] is None else str(view[c]) for c in columns))
    console.print(table)

    report = desk.verify()
    result.verify_ok, result.head, result.events = report.ok, report.head, report.events
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    status = "OK" if report.ok else "FAILED"
    console.print(f"verify: {status} — {report.events} events; chain head {report.head}")
    return result
