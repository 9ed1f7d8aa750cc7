"""Tables inside hand-written pages, generated from the code that defines them.

A page marks a generated region with two comments; everything between them is replaced::

    <!-- begin generated: lifecycle table (tools/gen_doc_tables.py; run make docs) -->
    ...
    <!-- end generated: lifecycle table -->

The regions and what fills them are listed in :data:`REGIONS`: the lifecycle table
(engine/lifecycle.py), the words of the domain (engine/vocabulary.py), the default priority
matrix (engine/policy.py), the text limits (engine/limits.py) and the event catalogue
(tools/gen_event_catalogue.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import gen_event_catalogue

from engine import limits, vocabulary
from engine.commands import COMMANDS
from engine.lifecycle import LIFECYCLE, Action
from engine.policy import DEFAULT_MATRIX
from engine.ticket import facts
from engine.vocabulary import TicketState


def _states(states: frozenset[TicketState]) -> str:
    if not states:
        return "(no ticket yet)"
    return ", ".join(f"`{state}`" for state in TicketState if state in states)


def _command(action: str) -> str:
    if action in COMMANDS:
        return f"`{action}` (CLI `{action.replace('_', '-')}`)"
    if action == Action.LINK_TO_PARENT:
        return f"`{action}` (the child's side of `link_child`)"
    return f"`{action}` (no command for it yet)"


def lifecycle_table() -> str:
    """Every action: where it is allowed, where it leads, the event that records the move."""
    recorded = {
        cls.action: cls.__name__
        for cls in vars(facts).values()
        if isinstance(cls, type) and issubclass(cls, facts.TicketEvent) and cls.action is not None
    }
    lines = [
        "| action | allowed in | leads to | recorded as |",
        "|---|---|---|---|",
    ]
    for action in Action:
        rule = LIFECYCLE[action]
        leads_to = f"`{rule.to}`" if rule.to is not None else "(state unchanged)"
        event = f"`{recorded[action]}`" if action in recorded else ""
        lines.append(f"| {_command(action)} | {_states(rule.allowed)} | {leads_to} | {event} |")
    return "\n".join(lines)


def vocabulary_table() -> str:
    """Each set of values a ticket field or a timer takes, with its values."""
    enums: list[tuple[str, type[StrEnum]]] = [
        ("ticket kind (`kind`)", vocabulary.TicketKind),
        ("state (`state`)", vocabulary.TicketState),
        ("hold reason (`hold_reason`, `hold --reason`)", vocabulary.HoldReason),
        ("channel (`channel`)", vocabulary.Channel),
        ("comment visibility (`visibility`)", vocabulary.Visibility),
        ("SLA kind (`kind` of an SLA)", vocabulary.SlaKind),
        ("SLA timer stage (`stage`)", vocabulary.SlaStage),
    ]
    lines = ["| what | values |", "|---|---|"]
    for label, enum in enums:
        lines.append(f"| {label} | {', '.join(f'`{member.value}`' for member in enum)} |")
    return "\n".join(lines)


def priority_matrix() -> str:
    """The default impact x urgency -> priority matrix."""
    lines = ["| impact \\ urgency | 1 | 2 | 3 |", "|---|---|---|---|"]
    for impact, row in sorted(DEFAULT_MATRIX.items()):
        lines.append(f"| {impact} | " + " | ".join(str(row[u]) for u in sorted(row)) + " |")
    return "\n".join(lines)


def text_limits() -> str:
    """The default limit of every text field, in characters."""
    lines = ["| field | default limit (characters) |", "|---|---|"]
    for name, limit in sorted(limits.DEFAULT_LIMITS.items()):
        lines.append(f"| `{name}` | {limit:,} |")
    lines += [
        "",
        f"A text field not listed here is limited to {limits.FALLBACK_LIMIT:,} characters.",
    ]
    return "\n".join(lines)


#: (page, region name) -> what fills the region.
REGIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/lifecycle.md", "lifecycle table"): lifecycle_table,
    ("docs/concepts.md", "vocabulary"): vocabulary_table,
    ("docs/policy.md", "priority matrix"): priority_matrix,
    ("docs/policy.md", "text limits"): text_limits,
    ("docs/events.md", "event catalogue"): gen_event_catalogue.catalogue,
}


def fill(page: str, text: str) -> str:
    """``text`` of ``page`` with each of its generated regions filled in anew."""
    for (region_page, name), render in REGIONS.items():
        if region_page != page:
            continue
        pattern = re.compile(
            rf"(<!-- begin generated: {re.escape(name)}\b[^>]*-->\n)(.*?)"
            rf"(<!-- end generated: {re.escape(name)} -->)",
            re.DOTALL,
        )
        found = pattern.search(text)
        if found is None:
            raise ValueError(f"{page} has no region 'begin generated: {name}'")
        text = f"{text[: found.start(2)]}\n{render()}\n\n{text[found.end(2) :]}"
    return text


def outputs(root: Path) -> dict[Path, str]:
    """The pages that hold generated regions, with the regions filled in."""
    pages = sorted({page for page, _ in REGIONS})
    return {root / page: fill(page, (root / page).read_text(encoding="utf-8")) for page in pages}
