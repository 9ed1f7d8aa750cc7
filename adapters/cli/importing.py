"""``deskledger import servicenow FILE``: the import with a progress bar and its summary."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.cli import errors, render
from adapters.cli.errors import EXIT_BAD_INPUT, EXIT_OK, UsageError
from adapters.settings import Settings
from engine.errors import DeskLedgerError

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.servicenow import ImportSummary


def run(args: argparse.Namespace, settings: Settings) -> int:
    """0: imported (or nothing new); 2: bad input (a row, the file, the policy), nothing
    written; 3: the store is unavailable. ``--reconcile`` compares instead of importing
    (:mod:`adapters.cli.reconciling`), reading the file in the same ``--timezone``."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from adapters.servicenow import import_servicenow, load_policy_file  # noqa: PLC0415

    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone: {args.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None
    if args.reconcile:
        from adapters.cli import reconciling  # noqa: PLC0415

        return reconciling.run(args, settings, zone)
    policy = load_policy_file(args.policy) if args.policy is not None else None
    desk = open_desk(settings)
    console = render.stdout()
    if console.is_terminal and not args.json:
        with _progress_bar(console) as progress:
            summary = import_servicenow(
                desk, args.file, policy=policy, zone=zone, progress=progress
            )
    else:
        summary = import_servicenow(desk, args.file, policy=policy, zone=zone)
    if args.json:
        render.emit_json(summary.as_dict())
    else:
        render_summary(summary)
    if summary.ok:
        return EXIT_OK
    return errors.report(ImportRejectedError(summary), as_json=args.json, code=EXIT_BAD_INPUT)


class ImportRejectedError(DeskLedgerError, ValueError):
    """Rows of the file could not be applied, so nothing was written (the summary on stdout
    lists them; this is the one line a script or a person at the prompt sees on stderr)."""

    def __init__(self, summary: ImportSummary) -> None:
        first = next(f for f in summary.failures if not f.skipped)
        super().__init__(
            f"{summary.path}: {summary.failed} row(s) failed and {summary.skipped} were skipped, "
            f"so nothing was written; first: line {first.line}, {first.number or '?'}: "
            f"{first.reason}"
        )


@contextmanager
def _progress_bar(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar fed by ``progress(done, total)`` callbacks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn  # noqa: PLC0415

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("importing rows", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def render_summary(summary: ImportSummary) -> None:
    """The human summary: counts, events per type, clamped rows and every failure."""
    outcome = "written" if summary.written else "nothing written"
    rows: list[tuple[str, object]] = [
        ("rows read", summary.rows),
        ("incidents", summary.incidents),
        ("rows that became events", summary.rows_with_events),
        *((f"  {name}", count) for name, count in sorted(summary.events.items())),
        ("rows unchanged (no event)", summary.unchanged),
        ("rows already imported", summary.duplicates),
        ("rows failed", summary.failed),
        ("rows skipped (earlier row failed)", summary.skipped),
        ("rows clamped to keep time order", len(summary.clamped)),
        ("rows whose priority differs from the source", summary.priority_differs),
        ("source time zone", summary.timezone),
        ("policy version", summary.policy_version),
        ("result", outcome),
        ("elapsed", f"{summary.elapsed:.2f} s ({summary.rows_per_second:,.0f} rows/s)"),
    ]
    render.show(render.pairs(f"ServiceNow import: {summary.path}", rows))
    if summary.clamped:
        render.show(
            render.table(
                "Rows applied later than their sys_updated_at",
                ("line", "incident", "sys_updated_at", "applied at"),
                (
                    (c.line, c.number, c.sys_updated_at.isoformat(), c.applied_at.isoformat())
                    for c in summary.clamped
                ),
            )
        )
    if summary.priority_differs:
        render.line(
            "The engine's priority differs from the source's on some rows: "
            "does the policy's priority_matrix match the instance? (--policy FILE)"
        )
    if summary.failures:
        render.show(
            render.table(
                "Rows that could not be applied (nothing was written)",
                ("line", "incident", "reason"),
                ((f.line, f.number or "?", f.reason) for f in summary.failures),
            )
        )
