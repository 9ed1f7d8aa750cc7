"""Imported tickets next to their source: the table ``show`` and ``audit`` end with, and
``deskledger import servicenow FILE --reconcile`` (per figure, how many tickets agree with the
source, and every disagreement with its reason). The comparison itself lives with the source
system's adapter (:func:`adapters.servicenow.compare_ticket`); this module only asks and prints."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from adapters.cli import render
from adapters.cli.errors import EXIT_OK, UsageError
from adapters.settings import Settings

if TYPE_CHECKING:
    from adapters.servicenow import Comparison, Reconciliation


def compare_with_source(
    ticket: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> Comparison | None:
    """The ticket next to the system it was imported from; None for a live ticket."""
    systems = {e["source"].get("system") for e in events if isinstance(e.get("source"), Mapping)}
    if "servicenow" not in systems:
        return None
    from adapters.servicenow import compare_ticket  # noqa: PLC0415

    return compare_ticket(ticket, events)


def show_comparison(comparison: Comparison) -> None:
    """The figures that differ from the source (engine, source, reason), or that none do."""
    where = (
        f"{comparison.ref} imported from {comparison.system} "
        f"(source values of line {comparison.line})"
    )
    if not comparison.differences:
        render.line(
            f"{where}: the source's values agree with the engine's "
            f"({', '.join(comparison.compared)})"
        )
        return
    render.line(
        f"{where}: {len(comparison.differences)} of {len(comparison.compared)} figures differ"
    )
    render.show(
        render.table(
            "next to the source",
            ("figure", "engine", "source", "reason"),
            (
                (d.figure, _value(d.engine), _value(d.source), d.reason)
                for d in comparison.differences
            ),
        )
    )


def run(args: argparse.Namespace, settings: Settings, zone: tzinfo) -> int:
    """``import servicenow FILE --reconcile``: 0 when the comparison ran (disagreements are
    findings), 2 for a file that cannot be read or incidents the store does not hold."""
    from adapters.bootstrap import open_read_side  # noqa: PLC0415
    from adapters.servicenow import reconcile_servicenow  # noqa: PLC0415

    if args.policy is not None:
        raise UsageError(
            "--policy installs a policy and --reconcile writes nothing: give one or the other "
            "(the store's own policy decides the engine's figures)"
        )
    _, queries = open_read_side(settings)
    report = reconcile_servicenow(queries, args.file, zone=zone)
    if args.json:
        render.emit_json(report.as_dict())
    else:
        render_reconciliation(report)
    return EXIT_OK


def render_reconciliation(report: Reconciliation) -> None:
    """Per figure: tickets that agree and differ (by cause); then every disagreement."""
    figures = report.figures()
    render.line(
        f"ServiceNow reconciliation of {report.path}: {len(report.comparisons)} incidents, "
        f"file read in time zone {report.timezone}, nothing written"
    )
    render.show(
        render.table(
            "Per figure: tickets that agree with the source",
            ("figure", "agree", "differ", "differences by cause"),
            (
                (
                    name,
                    tally["agree"],
                    tally["differ"],
                    ", ".join(f"{cause} {n}" for cause, n in tally["causes"].items()),
                )
                for name, tally in figures.items()
            ),
        )
    )
    zones = [z for z in report.import_timezones if z != report.timezone]
    if zones:
        render.line(
            f"The file is read in {report.timezone}, the store was imported in "
            f"{', '.join(zones)}: times differ by the zones' offset (--timezone)."
        )
    found = report.disagreements()
    if not found:
        render.line("Every compared figure of every incident agrees with the source.")
        return
    render.show(
        render.table(
            f"Disagreements ({len(found)})",
            ("ticket", "figure", "engine", "source", "reason"),
            (
                (d["ticket"], d["figure"], _value(d["engine"]), _value(d["source"]), d["reason"])
                for d in found
            ),
        )
    )


def _value(value: object) -> object:
    return "(empty)" if value is None else value
