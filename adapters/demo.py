"""The main job on embedded defaults (SPEC §12).

A fresh SQLite store and an embedded NATS server (or ``--nats-url``); the bundled scenarios
run through the engine while the relay publishes every event to JetStream and a subscriber
(a replica fed over NATS) consumes them; then the queue, the SLA summary, the verify result
and what the subscriber received (which must equal the log).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters import nats as nats_edge  # loads nats-py only when the demo runs
from adapters.bootstrap import open_desk
from adapters.scenario import ScenarioResult, run_scenario
from engine.application import Desk
from engine.lifecycle import OPEN_STATES
from engine.sla import TimerStatus, made_sla
from engine.vocabulary import SlaStage

if TYPE_CHECKING:
    from adapters.nats import DeliveryReport

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class DemoResult:
    store: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    verify_ok: bool = False
    head: str = ""
    events: int = 0
    delivery: DeliveryReport | None = None

    @property
    def ok(self) -> bool:
        delivered = self.delivery is not None and self.delivery.equal
        return self.verify_ok and delivered and all(s.ok for s in self.scenarios)


def bundled_scenarios(directory: Path = SCENARIO_DIR) -> list[Path]:
    """Every scenario file shipped in ``scenarios/`` (policies live in a subfolder)."""
    return sorted(directory.glob("*.yaml"))


def _queue(desk: Desk, at: datetime) -> Table:
    """Open work in order: priority, then the earliest SLA due time, then age."""
    rows = []
    for ticket in desk.tickets():
        if ticket.state not in OPEN_STATES or ticket.opened_at is None:
            continue
        dues = [s.due_at for s in desk.sla_status(ticket, at) if s.due_at is not None]
        due = min(dues) if dues else None
        rows.append(
            (
                ticket.priority,
                due or datetime.max.replace(tzinfo=at.tzinfo),
                ticket.opened_at,
                ticket,
                due,
            )
        )
    rows.sort(key=lambda row: row[:3])
    table = Table(title=f"queue as of {at.isoformat()}")
    for column in ("ref", "priority", "state", "group", "assignee", "next SLA due", "opened"):
        table.add_column(column)
    for priority, _, opened, ticket, due in rows:
        table.add_row(
            ticket.ref,
            str(priority),
            ticket.state,
            ticket.assignment_group or "",
            ticket.assignee or "",
            due.isoformat() if due else "-",
            opened.isoformat(),
        )
    return table


def _tickets(desk: Desk, at: datetime) -> Table:
    table = Table(title="tickets")
    columns = (
        "ref",
        "kind",
        "state",
        "priority",
        "group",
        "reassignments",
        "reopens",
        "major",
        "parent",
        "made_sla",
    )
    for column in columns:
        table.add_column(column)
    for ticket in desk.tickets():
        made = made_sla(desk.sla_status(ticket, at))
        table.add_row(
            ticket.ref,
            ticket.kind,
            ticket.state,
            str(ticket.priority),
            ticket.assignment_group or "",
            str(ticket.reassignment_count),
            str(ticket.reopen_count),
            "yes" if ticket.major else "",
            ticket.parent or "",
            "yes" if made else "no",
        )
    return table


def _timeline(desk: Desk, ref: str) -> Table:
    """A major incident's events merged with its children's, in time order."""
    parent = desk.get_ticket(ref)
    events = [e for r in [ref, *parent.children] for e in desk.ticket_events(r)]
    events.sort(key=lambda e: (e.occurred_at, e.ref, e.originator_version))
    table = Table(title=f"timeline of major incident {ref} and its children")
    for column in ("occurred_at", "ticket", "actor", "event", "detail"):
        table.add_column(column)
    for event in events:
        detail = event.reason or getattr(event, "message", None) or getattr(event, "code", "")
        table.add_row(
            event.occurred_at.isoformat(),
            event.ref,
            event.actor,
            type(event).__name__,
            str(detail or ""),
        )
    return table


def _sla_summary(statuses: list[TimerStatus]) -> Table:
    table = Table(title="SLA adherence (achieved / completed)")
    for column in ("SLA", "achieved", "breached", "running", "adherence"):
        table.add_column(column)
    names = sorted({s.name for s in statuses})
    for name in names:
        mine = [s for s in statuses if s.name == name]
        achieved = sum(s.stage == "achieved" for s in mine)
        breached = sum(s.stage == "breached" for s in mine)
        running = sum(s.stage in {"in_progress", "paused"} for s in mine)
        done = achieved + breached
        rate = f"{achieved / done:.0%}" if done else "-"
        table.add_row(name, str(achieved), str(breached), str(running), rate)
    return table


def run_demo(
    database: Path,
    console: Console,
    *,
    nats_url: str | None = None,
    nats_binary: str | None = None,
    directory: Path = SCENARIO_DIR,
) -> DemoResult:
    """Run every bundled scenario into a fresh SQLite file, relayed to NATS, and report."""
    if database.exists():
        database.unlink()
    url = f"sqlite:///{database.resolve()}"
    desk = open_desk(url)
    result = DemoResult(store=url)
    with (
        tempfile.TemporaryDirectory(prefix="deskledger-demo-") as scratch,
        nats_edge.nats_server(
            nats_url, binary=nats_binary, store_dir=Path(scratch) / "nats"
        ) as server_url,
        nats_edge.RelayThread(desk, server_url) as relay,
    ):
        console.print(f"store {url}; NATS {server_url}; relay publishing to DESKLEDGER")
        for path in bundled_scenarios(directory):
            scenario = run_scenario(desk, path)
            result.scenarios.append(scenario)
            mark = "PASS" if scenario.ok else "FAIL"
            console.print(
                Text(f"{mark} scenario {scenario.name}: {scenario.checks} checks"),
                style="green" if scenario.ok else "red",
            )
            for failure in scenario.failures:
                console.print(Text(f"    ✗ {failure}"), style="red")
        if not relay.wait_for(desk.recorder.max_notification_id() or 0) and relay.error:
            raise relay.error
        result.delivery, replica = nats_edge.check_delivery(
            server_url, desk, replica_path=Path(scratch) / "replica.db"
        )
        replica.close()

    moments = [s.end for s in result.scenarios if s.end is not None]
    at = max(moments) if moments else datetime.now().astimezone()
    console.print(_tickets(desk, at))
    console.print(_queue(desk, at))
    statuses = [s for t in desk.tickets() for s in desk.sla_status(t, at)]
    console.print(_sla_summary([s for s in statuses if s.stage != SlaStage.CANCELED]))

    majors = [t for t in desk.tickets() if t.major]
    if majors:
        console.print(_timeline(desk, majors[0].ref))

    report = desk.verify()
    result.verify_ok, result.head, result.events = report.ok, report.head, report.events
    for problem in report.problems:
        console.print(Text(str(problem)), style="red")
    status = "OK" if report.ok else "FAILED"
    console.print(f"verify: {status} — {report.events} events; chain head {report.head}")
    delivery = result.delivery
    if delivery is not None:
        verdict = (
            "equal to the log"
            if delivery.equal
            else (
                f"NOT equal to the log (missing {list(delivery.missing)[:10]}, "
                f"unexpected {list(delivery.unexpected)[:10]})"
            )
        )
        console.print(
            f"subscriber received {delivery.received} of {delivery.logged} events "
            f"through NATS JetStream: {verdict}"
        )
    return result
