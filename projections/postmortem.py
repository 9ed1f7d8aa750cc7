"""A timeline as Markdown: the skeleton of a post-incident report.

Sections: summary (with the incident commander and communications lead), impact (when it
started, was detected and was mitigated, the services and users it hit), key intervals (each
with what it runs from and to), timeline, communications, root cause, contributing factors,
what went well, lessons learned, action items (owner, due date, problem or change) and open
follow-ups. Text people typed is escaped, so it reads as text and never as Markdown.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

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


#: The key intervals in report order: key, label, what it runs from and to.
INTERVALS = (
    ("time_to_detect_seconds", "time to detect", "impact started → detected"),
    ("time_to_respond_seconds", "time to respond", "opened → first picked up"),
    ("time_to_mitigate_seconds", "time to mitigate", "detected → mitigated"),
    ("impact_duration_seconds", "impact duration", "impact started → mitigated"),
    ("time_on_hold_seconds", "time on hold", "every hold, added up"),
    ("time_to_resolve_seconds", "time to resolve", "opened → resolved"),
)


def _when(moment: datetime | None, missing: str = "not recorded") -> str:
    return moment.isoformat() if moment is not None else missing


def _items(values: list[str]) -> list[str]:
    return [f"- {escape(value)}" for value in values] if values else ["None recorded."]


def to_markdown(timeline: Timeline) -> str:
    """The post-incident report skeleton of ``timeline``."""
    ticket = timeline.ticket
    review = timeline.review
    lines: list[str] = []
    kind = "major incident" if ticket.major else str(ticket.kind).replace("_", " ")
    lines += [f"# Post-incident report: {escape(ticket.ref)} — {escape(ticket.title)}", ""]
    if timeline.as_of is not None:
        lines += [f"_As of {timeline.as_of.isoformat()}._", ""]
    lines += ["## Summary", ""]
    lines.append(f"- **Ticket:** {escape(ticket.ref)}, {kind}, priority {ticket.priority}")
    lines.append(f"- **State:** {ticket.state}")
    if ticket.major or ticket.commander or ticket.comms_lead:
        lines.append(f"- **Incident commander:** {escape(ticket.commander or 'not named')}")
        lines.append(f"- **Communications lead:** {escape(ticket.comms_lead or 'not named')}")
    lines.append(f"- **Opened:** {_when(ticket.opened_at, '—')}")
    lines.append(f"- **Resolved:** {_when(ticket.resolved_at, 'not resolved')}")
    if ticket.resolution_code:
        note = escape(ticket.resolution_notes or "")
        lines.append(f"- **Resolution:** {escape(ticket.resolution_code)}: {note}")
    if review is not None:
        lines.append(f"- **Review:** {escape(review.summary)}")
    lines += ["", "## Impact", ""]
    impact = (ticket.impact_started_at, ticket.impact_detected_at, ticket.impact_mitigated_at)
    if ticket.major or any(impact):
        lines.append(f"- **Impact started:** {_when(ticket.impact_started_at)}")
        lines.append(f"- **Detected:** {_when(ticket.impact_detected_at)}")
        lines.append(f"- **Mitigated:** {_when(ticket.impact_mitigated_at)}")
    services = ", ".join(escape(s) for s in ticket.affected_services) or "not recorded"
    lines.append(f"- **Affected services:** {services}")
    users = ticket.affected_users
    lines.append(f"- **Affected users:** {users if users is not None else 'not recorded'}")
    if ticket.service:
        lines.append(f"- **Service:** {escape(ticket.service)}")
    if ticket.category:
        lines.append(f"- **Category:** {escape(ticket.category)}")
    children = ", ".join(escape(c) for c in timeline.children) or "none"
    lines.append(f"- **Child incidents ({len(timeline.children)}):** {children}")
    lines += ["", "## Key intervals", ""]
    lines += ["| interval | from → to | duration |", "|---|---|---|"]
    for key, label, span in INTERVALS:
        lines.append(f"| {label} | {span} | {_duration(timeline.intervals.get(key))} |")
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
    lines.append(escape(review.root_cause) if review is not None else "No review recorded yet.")
    lines += ["", "## Contributing factors", ""]
    lines += _items(review.contributing_factors if review is not None else [])
    lines += ["", "## What went well", ""]
    lines += _items(review.went_well if review is not None else [])
    lines += ["", "## Lessons learned", ""]
    lines += _items(review.lessons if review is not None else [])
    lines += ["", "## Action items", ""]
    if review is not None and review.actions:
        lines += ["| action | owner | due | problem or change |", "|---|---|---|---|"]
        for action in review.actions:
            cells = [action.get(key) or "—" for key in ("text", "owner", "due", "link")]
            lines.append("| " + " | ".join(escape(cell) for cell in cells) + " |")
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
    if ticket.major:
        missing = [
            what
            for what, at in (
                ("started", ticket.impact_started_at),
                ("was detected", ticket.impact_detected_at),
                ("was mitigated", ticket.impact_mitigated_at),
            )
            if at is None
        ]
        if missing:
            items.append(f"not recorded: when the impact {' / '.join(missing)}")
    for action in timeline.review.actions if timeline.review is not None else []:
        unset = [name for key, name in (("owner", "owner"), ("due", "due date")) if not action[key]]
        if unset:
            items.append(f"action item “{escape(action['text'])}” has no {' and no '.join(unset)}")
    return items
