"""``deskledger report``: the desk report (docs/reports.md) as tables, or as JSON."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from adapters.cli import render
from adapters.cli.args import optional_instant
from adapters.cli.errors import EXIT_OK
from adapters.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.bootstrap import open_read_side  # noqa: PLC0415

    _, queries = open_read_side(settings)
    figures = queries.report(
        period_from=optional_instant(args.period_from, "--from"),
        period_to=optional_instant(args.period_to, "--to"),
        as_of=optional_instant(args.as_of, "--as-of"),
        group=args.group,
    )
    if args.json:
        render.emit_json(figures)
    else:
        show(figures)
    return EXIT_OK


def _seconds(value: object) -> str:
    from engine.durations import format_duration  # noqa: PLC0415

    if not isinstance(value, int | float):
        return "-"
    return format_duration(timedelta(seconds=round(value)))


def _rate(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


def show(figures: dict[str, Any]) -> None:
    """The report as readable tables."""
    period = figures.get("period", {})
    scope = f" (group {period['group']})" if period.get("group") else ""
    title = f"desk report {period.get('from')} → {period.get('to')}{scope}"
    volume, backlog = figures["volume"], figures["backlog"]
    mtta, mttr = figures["mtta_seconds"], figures["mttr_seconds"]
    render.line(title + f", as of {period.get('as_of')}")
    render.show(
        render.pairs(
            "figures",
            [
                ("opened", volume["opened"]),
                ("resolved", volume["resolved"]),
                ("open backlog", backlog["open"]),
                ("MTTA mean / median", f"{_seconds(mtta['mean'])} / {_seconds(mtta['median'])}"),
                ("MTTR mean / median", f"{_seconds(mttr['mean'])} / {_seconds(mttr['median'])}"),
                ("first-contact resolution", _rate(figures["fcr_rate"])),
                ("reopen rate", _rate(figures["reopen_rate"])),
                ("reassignment rate", _rate(figures["reassignment_rate"])),
                ("mean reassignments", figures["mean_reassignments"]),
            ],
        )
    )
    render.show(render.table("backlog aging", list(backlog["aging"]), [backlog["aging"].values()]))
    for key, label in (
        ("opened_by_priority", "priority"),
        ("opened_by_channel", "channel"),
        ("opened_by_category", "category"),
        ("opened_by_day", "day"),
    ):
        counts = volume[key]
        if counts:
            render.show(render.table(f"opened by {label}", (label, "opened"), counts.items()))
    if figures["sla"]:
        render.show(
            render.table(
                "SLA adherence",
                ("SLA", "achieved", "breached", "running", "adherence"),
                (
                    (name, s["achieved"], s["breached"], s["running"], _rate(s["adherence"]))
                    for name, s in figures["sla"].items()
                ),
            )
        )
    for key, label in (("by_group", "group"), ("by_assignee", "assignee")):
        rows = figures[key]
        if rows:
            render.show(
                render.table(
                    f"resolved by {label}",
                    (label, "resolved", "median time to resolve"),
                    (
                        (name, r["resolved"], _seconds(r["median_resolve_seconds"]))
                        for name, r in rows.items()
                    ),
                )
            )
    top = figures["top_categories"]
    for key in ("escalations", "reassignments"):
        if top[key]:
            render.show(render.table(f"top categories by {key}", ("category", key), top[key]))
