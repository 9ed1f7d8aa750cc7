"""The suite's one table, for a terminal (rich), a pipe (plain ASCII) and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

COLUMNS = ("#", "figure", "size", "DeskLedger", "baseline", "ratio", "goal", "met")


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def verdict(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[met]


def cells(record: dict[str, Any]) -> list[str]:
    unit = record["unit"]
    ratio = record["ratio"]
    baseline = number(record["baseline"], unit) if record["baseline"] is not None else "-"
    if record["baseline_is"] and record["baseline"] is not None:
        baseline += f" ({record['baseline_is']})"
    desk = number(record["deskledger"], unit)
    if record["deskledger"] is None and record.get("note"):
        desk = f"skipped: {record['note']}"
    return [
        str(record.get("issue", "")),
        record["title"],
        record["size"],
        desk,
        baseline,
        "-" if ratio is None else f"{ratio:.2f}x",
        record["goal"] or "-",
        verdict(record["met"]),
    ]


def notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """The records' notes (why a figure was skipped, what went wrong while measuring)."""
    return [f"{record['title']}: {record['note']}" for record in records if record.get("note")]


def print_table(records: Sequence[dict[str, Any]], console: Console, title: str) -> None:
    if console.is_terminal:
        console.print(rich_table(records, title))
        for line in notes(records):
            console.print(f"note: {line}", markup=False)
        return
    plain_table(records, console.file, title)
    for line in notes(records):
        console.file.write(ascii_text(f"note: {line}\n"))


_ASCII = str.maketrans({"µ": "u"})


def ascii_text(text: str) -> str:
    """Piped output stays plain ASCII (as the CLI's does)."""
    return text.translate(_ASCII)


def rich_table(records: Sequence[dict[str, Any]], title: str) -> Table:
    """The terminal's table: sizes and what the baseline is go under the figure and value,
    dimmed, so it fits a narrower terminal."""
    table = Table(title=title)
    for column in ("#", "figure", "DeskLedger", "baseline", "ratio", "goal", "met"):
        table.add_column(column, justify="right" if column in {"ratio", "DeskLedger"} else "left")
    for record in records:
        issue, name, size, desk, _, ratio, goal, met = (escape(c) for c in cells(record))
        baseline = escape(number(record["baseline"], record["unit"]))
        if record["baseline_is"] and record["baseline"] is not None:
            baseline += f"\n[dim]{escape(record['baseline_is'])}[/dim]"
        style = {True: "green", False: "red"}.get(record["met"])
        table.add_row(
            issue,
            f"{name}\n[dim]{size}[/dim]",
            desk,
            baseline,
            ratio,
            goal,
            f"[{style}]{met}[/{style}]" if style else met,
        )
    return table


def plain_table(records: Sequence[dict[str, Any]], out: TextIO, title: str) -> None:
    rows = [list(COLUMNS)] + [[ascii_text(c) for c in cells(record)] for record in records]
    widths = [max(len(row[k]) for row in rows) for k in range(len(COLUMNS))]
    out.write(f"{ascii_text(title)}\n")
    for index, row in enumerate(rows):
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        out.write("\n")
        if index == 0:
            out.write("  ".join("-" * width for width in widths) + "\n")


def markdown_table(records: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for record in records:
        row = [cell.replace("|", "\\|") for cell in cells(record)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
