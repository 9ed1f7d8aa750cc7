"""Read commands, answered from the views (caught up with the log first): one ticket
(``show``), lists (``tickets``), the ``queue``, SLA timers (``sla``), a ticket's history
(``audit``), post-incident ``timeline``s. ``export`` and ``verify`` read the log itself."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from adapters.cli import render
from adapters.cli.args import optional_instant, read_yaml
from adapters.cli.errors import EXIT_OK, UsageError
from adapters.settings import Settings

TICKET_COLUMNS = (
    ("ref", "ref"),
    ("state", "state"),
    ("priority", "P"),
    ("assignment_group", "group"),
    ("assignee", "assignee"),
    ("tier", "tier"),
    ("reassignment_count", "reassign."),
    ("reopen_count", "reopens"),
    ("made_sla", "made SLA"),
    ("opened_at", "opened_at"),
    ("title", "title"),
)
#: Lines ``export`` writes at a time.
EXPORT_BATCH = 1000
QUEUE_COLUMNS = (
    ("ref", "ref"),
    ("priority", "P"),
    ("state", "state"),
    ("assignment_group", "group"),
    ("assignee", "assignee"),
    ("next_due_at", "next SLA due"),
    ("age", "age"),
    ("title", "title"),
)


def _queries(settings: Settings) -> Any:
    """The query layer: views up to date are read without loading the engine."""
    from adapters.bootstrap import open_queries  # noqa: PLC0415

    return open_queries(settings)


def _as_of(args: argparse.Namespace) -> Any:
    return optional_instant(getattr(args, "as_of", None), "--as-of")


def _title(what: str, as_of: Any) -> str:
    return what + (f" as of {as_of.isoformat()}" if as_of is not None else "")


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value


def show(args: argparse.Namespace, settings: Settings) -> int:
    """One ticket; an imported one also next to its source's values where they differ
    (``source`` in JSON: ``{"system", <figure>: {"engine", "source", "reason", "cause"}}``)."""
    from adapters.cli.reconciling import compare_with_source, show_comparison  # noqa: PLC0415

    as_of = _as_of(args)
    queries = _queries(settings)
    ticket = queries.ticket(args.ref, as_of=as_of)
    events = queries.audit(args.ref, as_of=as_of) if _may_be_imported(queries, args.ref) else []
    comparison = compare_with_source(ticket, events)
    if args.json:
        if comparison is not None:
            ticket["source"] = comparison.as_dict()
        render.emit_json(ticket)
        return EXIT_OK
    rows = [(key, _cell(value)) for key, value in ticket.items() if key != "sla_applied"]
    if not ticket["sla_applied"]:
        rows.append(("SLA", f"no SLA applied (policy version {ticket['policy_version']})"))
    render.show_pairs(_title(args.ref, as_of), rows)
    if comparison is not None:
        show_comparison(comparison)
    return EXIT_OK


def _may_be_imported(queries: Any, ref: str) -> bool:
    """Whether ``ref``'s events are needed to compare it with a source it was imported from:
    views read in place say when none of its events came from another tool (its events are
    then not decoded, which needs the engine); other read sides read them."""
    from projections.reader import ViewReader  # noqa: PLC0415

    views = queries.views
    return not isinstance(views, ViewReader) or views.imported(ref)


def tickets(args: argparse.Namespace, settings: Settings) -> int:
    from projections.queries import TicketFilter  # noqa: PLC0415

    as_of = _as_of(args)
    criteria = TicketFilter(
        state=args.state,
        group=args.group,
        assignee=args.assignee,
        priority=args.priority,
        tier=args.tier,
        major=args.major,
        category=args.category,
        opened_from=optional_instant(args.opened_from, "--opened-from"),
        opened_to=optional_instant(args.opened_to, "--opened-to"),
    )
    page = _queries(settings).tickets(
        criteria,
        as_of=as_of,
        sort=args.sort,
        descending=args.desc,
        limit=args.limit,
        cursor=args.cursor,
    )
    if args.json:
        render.emit_json({"tickets": page.tickets, "next_cursor": page.cursor})
        return EXIT_OK
    render.show(
        render.table(
            _title(f"{len(page.tickets)} tickets", as_of),
            [label for _, label in TICKET_COLUMNS],
            ([_cell(row[key]) for key, _ in TICKET_COLUMNS] for row in page.tickets),
        )
    )
    if page.cursor is not None:
        render.line(f"more: add --cursor {page.cursor}")
    return EXIT_OK


def queue(args: argparse.Namespace, settings: Settings) -> int:
    as_of = _as_of(args)
    rows = _queries(settings).queue(
        group=args.group, assignee=args.assignee, tier=args.tier, as_of=as_of, limit=args.limit
    )
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    show_queue(rows, _title(f"queue: {len(rows)} open tickets", as_of))
    return EXIT_OK


def show_queue(rows: list[dict[str, Any]], title: str) -> None:
    """The queue's rows as a table (age in whole minutes)."""
    from engine.durations import format_duration  # noqa: PLC0415

    cells = []
    for row in rows:
        age = format_duration(timedelta(seconds=int(row["age_seconds"]) // 60 * 60))
        cells.append({**row, "age": age, "next_due_at": row["next_due_at"] or "-"})
    render.show(
        render.table(
            title,
            [label for _, label in QUEUE_COLUMNS],
            ([row[key] for key, _ in QUEUE_COLUMNS] for row in cells),
        )
    )


def sla(args: argparse.Namespace, settings: Settings) -> int:
    if args.what_if:
        return what_if(args, settings)
    if args.explain:
        return explain(args, settings)
    as_of = _as_of(args)
    rows = _queries(settings).sla(args.ref, as_of=as_of)
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    show_sla(rows, _title("SLA timers", as_of))
    return EXIT_OK


def show_sla(rows: list[dict[str, Any]], title: str) -> None:
    """SLA timers as a table, one row per timer."""
    render.show(
        render.table(
            title,
            ("ref", "name", "kind", "stage", "elapsed", "target", "due_at", "breached_at"),
            (
                (
                    row["ref"],
                    row["name"],
                    row["kind"],
                    row["stage"],
                    _span(int(row["elapsed_seconds"])),
                    _span(int(row["target_seconds"])),
                    row["due_at"] or "",
                    row["breached_at"] or "",
                )
                for row in rows
            ),
        )
    )


def explain(args: argparse.Namespace, settings: Settings) -> int:
    """Each timer of one ticket with what its verdict rests on, to redo by hand."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    if not args.ref:
        raise UsageError("--explain: name the ticket (deskledger sla REF --explain)")
    as_of = _as_of(args)
    explained = open_desk(settings).explain_sla(args.ref, as_of=as_of)
    if args.json:
        render.emit_json([{"ref": args.ref, **e.as_dict()} for e in explained])
        return EXIT_OK
    if not explained:
        render.line(f"{args.ref}: no SLA applied")
    for item in explained:
        _explain_text(args.ref, item)
    return EXIT_OK


def _span(seconds: float) -> str:
    from engine.durations import format_duration  # noqa: PLC0415

    return format_duration(timedelta(seconds=round(seconds)))


def _explain_text(ref: str, item: Any) -> None:
    status = item.status
    render.line(
        f"{ref} · {status.name} ({status.kind}) under policy version {status.policy_version}: "
        f"{item.verdict}",
        "bold",
    )
    definition = item.calendar
    hours = definition.get("hours")
    if isinstance(hours, dict):
        hours = "; ".join(f"{day} {', '.join(periods)}" for day, periods in hours.items())
    render.line(f"  calendar {status.calendar}: {definition.get('timezone')}, hours {hours}")
    last = item.counted[-1].end if item.counted else item.started_at
    holidays = _holidays(definition, item.started_at.date(), last.date())
    if holidays:
        render.line(f"  holidays in the period: {', '.join(holidays)}")
    render.line(f"  target {_span(status.target_seconds)}, from {item.started_at.isoformat()}")
    landed = item.business_days
    if landed is not None:
        rule = landed.rule
        day = "at the close of" if rule.end_of_day else "at the same time on"
        render.line(
            f"           = {rule.text}: counted from {landed.counted_from.isoformat()}, due "
            f"{day} working day {rule.count} = {landed.due.isoformat()}"
        )
    for interval in item.paused:
        render.line(f"  paused   {interval.start.isoformat()} → {interval.end.isoformat()}")
        render.line(f"           on hold {interval.note}: not counted")
    for interval in item.excluded:
        render.line(f"  resolved {interval.start.isoformat()} → {interval.end.isoformat()}")
        render.line("           not counted")
    for interval in item.counted:
        render.line(
            f"  counted  {interval.start.isoformat()} → {interval.end.isoformat()} "
            f"= {_span(interval.seconds)}"
        )
    total = sum(interval.seconds for interval in item.counted)
    due = status.due_at.isoformat() if status.due_at else "-"
    render.line(f"  elapsed  {_span(total)} of {_span(status.target_seconds)}; due {due}")


def _holidays(definition: dict[str, Any], first: Any, last: Any) -> list[str]:
    """The calendar's holidays from ``first`` to ``last`` (dates, pinned country holidays)."""
    found: set[str] = set()
    for entry in definition.get("holidays") or []:
        dates = [entry] if isinstance(entry, str) else (entry.get("pinned") or {}).get("dates", [])
        found.update(d for d in dates if first.isoformat() <= d <= last.isoformat())
    return sorted(found)


def what_if(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    raw = read_yaml(args.what_if, "policy")
    opened_from = optional_instant(args.opened_from, "--from")
    opened_to = optional_instant(args.opened_to, "--to")
    as_of = _as_of(args)
    report = open_desk(settings).what_if(
        raw, at=as_of, opened_from=opened_from, opened_to=opened_to
    )
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
    """A ticket's events; imported ones with the source row each came from, and the ticket's
    figures next to its source's where they differ. JSON: the envelopes (each with its
    ``source``), unchanged."""
    from adapters.cli.reconciling import compare_with_source, show_comparison  # noqa: PLC0415

    as_of = _as_of(args)
    queries = _queries(settings)
    rows = queries.audit(args.ref, as_of=as_of)
    if args.json:
        render.emit_json(rows)
        return EXIT_OK
    out = render.stdout()
    out.print(render.text(_title(f"audit trail of {args.ref}: {len(rows)} events", as_of), "bold"))
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
        if row["source"]:
            kept = ", ".join(f"{k}={v}" for k, v in row["source"].items() if v not in (None, ""))
            out.print(render.text(f"    source {kept}"))
        out.print(render.text(f"    prev {row['prev_hash']}", "dim"))
        out.print(render.text(f"    hash {row['hash']}", "dim"))
    comparison = compare_with_source(queries.ticket(args.ref, as_of=as_of), rows)
    if comparison is not None:
        show_comparison(comparison)
    return EXIT_OK


def timeline(args: argparse.Namespace, settings: Settings) -> int:
    from projections.postmortem import to_markdown  # noqa: PLC0415

    as_of = _as_of(args)
    found = _queries(settings).timeline(args.ref, as_of=as_of)
    if args.json or args.format == "json":
        render.emit_json(found.as_dict())
    else:
        sys.stdout.write(to_markdown(found))
    return EXIT_OK


def export(args: argparse.Namespace, settings: Settings) -> int:
    """The log as JSON Lines, one export line per event (``docs/hash-format.md``), read
    straight from the stored records."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from engine.log import export_texts  # noqa: PLC0415

    desk = open_desk(settings)
    as_of = _as_of(args)
    limit = None if as_of is None else as_of
    target: IO[str]
    if args.output:
        path = Path(args.output)
        try:
            if path.is_dir():
                raise UsageError(f"--output {args.output}: is a directory, not a file")
            target = path.open("w", encoding="utf-8")
        except OSError as error:  # also from is_dir(): a name too long
            raise UsageError(f"--output {args.output}: {error.strerror or error}") from None
    else:
        target = sys.stdout
    count = 0
    batch: list[str] = []
    try:
        try:
            for occurred_at, text in export_texts(desk.recorder, desk.mapper):
                if limit is not None and datetime.fromisoformat(occurred_at) > limit:
                    continue
                batch.append(text)
                if len(batch) == EXPORT_BATCH:
                    target.write("".join(batch))
                    count += len(batch)
                    batch.clear()
        except BrokenPipeError:
            raise
        except BaseException:
            target.write("".join(batch))  # the lines before an unreadable record, as before
            raise
        target.write("".join(batch))
        count += len(batch)
    finally:
        if target is not sys.stdout:
            target.close()
    if args.output:
        sys.stderr.write(f"exported {count} events to {render.safe(args.output)}\n")
    return EXIT_OK


def advance(args: argparse.Namespace, settings: Settings) -> int:
    """Clock tick on the tickets the views say have something due (not on every ticket)."""
    from adapters.bootstrap import open_read_side  # noqa: PLC0415
    from adapters.cli.args import instant  # noqa: PLC0415
    from adapters.logging import get_logger  # noqa: PLC0415

    until = instant(args.to, "--to")
    desk, queries = open_read_side(settings)
    results = desk.advance(until, refs=queries.due_refs(until))
    log = get_logger("deskledger.cli")
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
