"""Read commands: one ticket (``show``), lists (``tickets``), SLA timers (``sla``), a ticket's
history (``audit``), the whole log (``export``), the chains (``verify``), the clock (``advance``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import structlog

from adapters.cli import render
from adapters.cli.args import instant, optional_instant, read_yaml
from adapters.cli.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from adapters.settings import Settings

log = structlog.get_logger("deskledger.cli")

TICKET_COLUMNS = (
    ("ref", "ref"),
    ("state", "state"),
    ("priority", "priority"),
    ("assignment_group", "group"),
    ("assignee", "assignee"),
    ("reassignment_count", "reassignments"),
    ("reopen_count", "reopens"),
    ("opened_at", "opened_at"),
)


def _desk(settings: Settings) -> Any:
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    return open_desk(settings)


def show(args: argparse.Namespace, settings: Settings) -> int:
    as_of = optional_instant(args.as_of, "--as-of")
    view = _desk(settings).view(args.ref, as_of=as_of)
    if args.json:
        render.emit_json(view)
        return EXIT_OK
    title = args.ref + (f" as of {as_of.isoformat()}" if as_of else "")
    render.show(render.pairs(title, view.items()))
    return EXIT_OK


def tickets(args: argparse.Namespace, settings: Settings) -> int:
    from engine.views import ticket_view  # noqa: PLC0415

    as_of = optional_instant(args.as_of, "--as-of")
    desk = _desk(settings)
    rows = [ticket_view(t, desk.sla_status(t, as_of)) for t in desk.tickets(as_of=as_of)]
    if args.state:
        rows = [r for r in rows if r["state"] == args.state]
    if args.group:
        rows = [r for r in rows if r["assignment_group"] == args.group]
    if args.priority:
        rows = [r for r in rows if r["priority"] == args.priority]
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    render.show(
        render.table(
            f"{len(rows)} tickets",
            [label for _, label in TICKET_COLUMNS],
            ([row[key] for key, _ in TICKET_COLUMNS] for row in rows),
        )
    )
    return EXIT_OK


def sla(args: argparse.Namespace, settings: Settings) -> int:
    from engine.durations import format_duration  # noqa: PLC0415

    if args.what_if:
        return what_if(args, settings)
    desk = _desk(settings)
    as_of = optional_instant(args.as_of, "--as-of")
    chosen = [desk.get_ticket(args.ref, as_of=as_of)] if args.ref else desk.tickets(as_of=as_of)
    rows = [
        {"ref": ticket.ref, **status.as_dict()}
        for ticket in chosen
        for status in desk.sla_status(ticket, as_of)
    ]
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    render.show(
        render.table(
            "SLA timers" + (f" as of {as_of.isoformat()}" if as_of else ""),
            ("ref", "name", "kind", "stage", "elapsed", "target", "due_at", "breached_at"),
            (
                (
                    row["ref"],
                    row["name"],
                    row["kind"],
                    row["stage"],
                    format_duration(timedelta(seconds=float(row["elapsed_seconds"]))),
                    format_duration(timedelta(seconds=int(row["target_seconds"]))),
                    row["due_at"] or "",
                    row["breached_at"] or "",
                )
                for row in rows
            ),
        )
    )
    return EXIT_OK


def what_if(args: argparse.Namespace, settings: Settings) -> int:
    raw = read_yaml(args.what_if, "policy")
    opened_from = optional_instant(args.opened_from, "--from")
    opened_to = optional_instant(args.opened_to, "--to")
    as_of = optional_instant(args.as_of, "--as-of")
    report = _desk(settings).what_if(raw, at=as_of, opened_from=opened_from, opened_to=opened_to)
    if args.json:
        render.emit_json(report.as_dict())
        return EXIT_OK
    render.show(
        render.table(
            f"verdicts that would change under {args.what_if}",
            ("ref", "sla", "now", "what-if", "breached_at now", "breached_at what-if"),
            (
                (
                    c.ref,
                    c.sla,
                    c.actual or "(n/a)",
                    c.what_if or "(n/a)",
                    c.actual_breached_at.isoformat() if c.actual_breached_at else "",
                    c.what_if_breached_at.isoformat() if c.what_if_breached_at else "",
                )
                for c in report.changes
            ),
        )
    )

    def rate(side: dict[str, Any], name: str) -> str:
        tally = side.get(name)
        if tally is None or tally.rate is None:
            return "-"
        return f"{tally.rate:.1%} ({tally.achieved}/{tally.completed})"

    names = sorted(set(report.actual) | set(report.what_if))
    render.show(
        render.table(
            "SLA compliance (achieved / completed)",
            ("sla", "now", "what-if"),
            ((n, rate(report.actual, n), rate(report.what_if, n)) for n in names),
        )
    )
    render.line(
        f"{report.tickets} tickets re-scored, {len(report.changes)} verdicts differ; "
        "nothing was written"
    )
    return EXIT_OK


def audit(args: argparse.Namespace, settings: Settings) -> int:
    from engine.envelope import envelope  # noqa: PLC0415

    desk = _desk(settings)
    as_of = optional_instant(args.as_of, "--as-of")
    desk.get_ticket(args.ref, as_of=as_of)  # a clear TicketNotFoundError first
    rows = [
        envelope(e.event, e.position)
        for e in desk.read_log()
        if e.event.ref == args.ref and (as_of is None or e.event.occurred_at <= as_of)
    ]
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    out = render.stdout()
    out.print(render.text(f"audit trail of {args.ref}: {len(rows)} events", "bold"))
    for row in rows:
        details = ", ".join(f"{k}={v}" for k, v in row["data"].items() if v not in (None, ""))
        if row["reason"]:
            details = f"reason={row['reason']}" + (f", {details}" if details else "")
        out.print(
            render.text(
                f"position {row['position']}  v{row['version']}  {row['occurred_at']}  "
                f"{row['actor']}  {row['type']}"
            )
        )
        if details:
            out.print(render.text(f"    {details}"))
        out.print(render.text(f"    prev {row['prev_hash']}", "dim"))
        out.print(render.text(f"    hash {row['hash']}", "dim"))
    return EXIT_OK


def export(args: argparse.Namespace, settings: Settings) -> int:
    from engine.envelope import envelope  # noqa: PLC0415

    desk = _desk(settings)
    as_of = optional_instant(args.as_of, "--as-of")
    target: IO[str]
    if args.output:
        path = Path(args.output)
        if path.is_dir():
            raise UsageError(f"--output {args.output}: is a directory, not a file")
        try:
            target = path.open("w", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--output {args.output}: {error.strerror or error}") from None
    else:
        target = sys.stdout
    count = 0
    try:
        for logged in desk.read_log():
            if as_of is not None and logged.event.occurred_at > as_of:
                continue
            target.write(render.json_line(envelope(logged.event, logged.position)))
            count += 1
    finally:
        if target is not sys.stdout:
            target.close()
    if args.output:
        sys.stderr.write(f"exported {count} events to {render.safe(args.output)}\n")
    return EXIT_OK


def verify(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = _desk(settings).verify(checkpoint=args.checkpoint)
    except ValueError as error:
        raise UsageError(f"--checkpoint: {error}") from None
    if args.json:
        render.emit_json(report.as_dict())
    else:
        for problem in report.problems:
            render.line(str(problem), "red")
        status = "OK" if report.ok else f"FAILED ({len(report.problems)} problems)"
        render.line(
            f"verify: {status} — {report.events} events in {report.streams} streams; "
            f"chain head {report.head}"
        )
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def advance(args: argparse.Namespace, settings: Settings) -> int:
    until = instant(args.to, "--to")
    results = _desk(settings).advance(until)
    for result in results:
        log.info(
            "advance.recorded", ticket=result.ref, positions=result.positions, events=result.events
        )
    if args.json:
        render.emit_json(
            [
                {"ref": r.ref, "version": r.version, "events": r.events, "positions": r.positions}
                for r in results
            ]
        )
    else:
        for r in results:
            render.line(f"{r.ref} v{r.version}: {', '.join(r.events)}")
        render.line(f"advanced to {until.isoformat()}: {len(results)} tickets changed")
    return EXIT_OK
