"""A timeline as Markdown: the skeleton of a post-incident report.

Sections: summary, impact, key intervals, timeline, communications, root cause, actions and
open follow-ups. Text people typed is escaped, so it reads as text and never as Markdown.
"""

from __future__ import annotations

import re
from datetime import timedelta

from engine.durations import format_duration
from engine.lifecycle import OPEN_STATES
from projections.timeline import Timeline

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(value: object) -> str:
    """``value`` as Markdown text: special characters escaped, line breaks as spaces,
    control characters made visible."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _SPECIAL.sub(r"\\\1", text)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return format_duration(timedelta(seconds=round(seconds)))


def to_markdown(timeline: Timeline) -> str:
    """The post-incident report skeleton of ``timeline``."""
    ticket = timeline.ticket
    lines: list[str] = []
    kind = "major incident" if ticket.major else str(ticket.kind).replace("_", " ")
    lines += [f"# Post-incident report: {escape(ticket.ref)} — {escape(ticket.title)}", ""]
    if timeline.as_of is not None:
        lines += [f"_As of {timeline.as_of.isoformat()}._", ""]
    lines += ["## Summary", ""]
    lines.append(f"- **Ticket:** {escape(ticket.ref)}, {kind}, priority {ticket.priority}")
    lines.append(f"- **State:** {ticket.state}")
    lines.append(f"- **Opened:** {ticket.opened_at.isoformat() if ticket.opened_at else '—'}")
    resolved = ticket.resolved_at.isoformat() if ticket.resolved_at else "not resolved"
    lines.append(f"- **Resolved:** {resolved}")
    if ticket.resolution_code:
        note = escape(ticket.resolution_notes or "")
        lines.append(f"- **Resolution:** {escape(ticket.resolution_code)}: {note}")
    if timeline.review is not None:
        lines.append(f"- **Review:** {escape(timeline.review.summary)}")
    lines += ["", "## Impact", ""]
    users = ticket.affected_users
    lines.append(f"- **Affected users:** {users if users is not None else 'not recorded'}")
    if ticket.service:
        lines.append(f"- **Service:** {escape(ticket.service)}")
    if ticket.category:
        lines.append(f"- **Category:** {escape(ticket.category)}")
    children = ", ".join(escape(c) for c in timeline.children) or "none"
    lines.append(f"- **Child incidents ({len(timeline.children)}):** {children}")
    lines += ["", "## Key intervals", "", "| interval | duration |", "|---|---|"]
    lines.append(
        f"| time to respond | {_duration(timeline.intervals.get('time_to_respond_seconds'))} |"
    )
    lines.append(f"| time on hold | {_duration(timeline.intervals.get('time_on_hold_seconds'))} |")
    lines.append(
        f"| time to resolve | {_duration(timeline.intervals.get('time_to_resolve_seconds'))} |"
    )
    lines += [
        "",
        "## Timeline",
        "",
        "| time | ticket | actor | event | detail |",
        "|---|---|---|---|---|",
    ]
    for entry in timeline.entries:
        lines.append(
            f"| {entry.occurred_at.isoformat()} | {escape(entry.ticket)} | {escape(entry.actor)} "
            f"| {entry.event} | {escape(entry.detail)} |"
        )
    lines += ["", "## Communications", ""]
    if timeline.communications:
        lines += ["| time | audience | channel | message |", "|---|---|---|---|"]
        for sent in timeline.communications:
            lines.append(
                f"| {sent.occurred_at.isoformat()} | {escape(sent.audience)} "
                f"| {escape(sent.channel or '—')} | {escape(sent.message)} |"
            )
    else:
        lines.append("None recorded.")
    lines += ["", "## Root cause", ""]
    review = timeline.review
    lines.append(escape(review.root_cause) if review is not None else "No review recorded yet.")
    lines += ["", "## Actions", ""]
    if review is not None and review.actions:
        lines += [f"- [ ] {escape(action)}" for action in review.actions]
    else:
        lines.append("None recorded.")
    lines += ["", "## Open follow-ups", ""]
    follow_ups = _follow_ups(timeline)
    lines += [f"- {item}" for item in follow_ups] if follow_ups else ["None."]
    return "\n".join(lines) + "\n"


def _follow_ups(timeline: Timeline) -> list[str]:
    ticket = timeline.ticket
    items = []
    if ticket.state in OPEN_STATES:
        items.append(f"{escape(ticket.ref)} is still {ticket.state}")
    if ticket.major and ticket.state not in OPEN_STATES and timeline.review is None:
        items.append("the post-incident review is not recorded")
    if ticket.major and ticket.problem is None:
        items.append("no problem record is linked for the root cause")
    return items
