"""Post-incident timelines (SPEC §6, §10): a ticket's events — for a major incident merged with
its children's — in time order, with the key intervals, as JSON and as the Markdown skeleton
of a post-incident report.

Events are read ticket by ticket (their streams), their log positions from the audit index:
the cost follows the incident's size, never the log's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.errors import TicketNotFoundError
from engine.ticket import Ticket, TicketEvent
from engine.ticket import facts as ev
from engine.vocabulary import TicketState
from projections.rows import responded_at
from projections.views import ReadSide

DETAIL_LIMIT = 160


@dataclass(frozen=True)
class Entry:
    occurred_at: datetime
    ticket: str
    actor: str
    event: str
    position: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "ticket": self.ticket,
            "actor": self.actor,
            "event": self.event,
            "position": self.position,
            "detail": self.detail,
        }


@dataclass
class Timeline:
    """A ticket's timeline as of an instant."""

    ticket: Ticket
    as_of: datetime | None
    children: list[str]
    entries: list[Entry]
    communications: list[ev.CommunicationSent] = field(default_factory=list)
    review: ev.PostIncidentReviewRecorded | None = None
    intervals: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ticket.ref,
            "children": list(self.children),
            "affected_users": self.ticket.affected_users,
            "intervals": dict(self.intervals),
            "entries": [entry.as_dict() for entry in self.entries],
        }


def build_timeline(read: ReadSide, ref: str, *, as_of: datetime | None) -> Timeline:
    """The timeline of ``ref`` (and, for a major incident, its children) as of ``as_of``."""
    ticket = ticket_as_of(read, ref, as_of)
    refs = [ref, *(ticket.children if ticket.major else [])]
    positions = {
        (row["ref"], row["version"]): row["position"] for row in read.audit.positions(refs)
    }
    entries: list[Entry] = []
    communications: list[ev.CommunicationSent] = []
    review: ev.PostIncidentReviewRecorded | None = None
    for name in refs:
        for event in read.history(name):
            if not isinstance(event, TicketEvent):
                continue
            if as_of is not None and event.occurred_at > as_of:
                break
            position = positions.get((name, event.originator_version))
            entries.append(
                Entry(
                    event.occurred_at,
                    name,
                    event.actor,
                    type(event).__name__,
                    position,
                    detail(event),
                )
            )
            if name == ref and isinstance(event, ev.CommunicationSent):
                communications.append(event)
            if name == ref and isinstance(event, ev.PostIncidentReviewRecorded):
                review = event
    entries.sort(key=lambda e: (e.occurred_at, e.position if e.position is not None else 0))
    return Timeline(
        ticket=ticket,
        as_of=as_of,
        children=refs[1:],
        entries=entries,
        communications=communications,
        review=review,
        intervals=intervals(ticket, as_of),
    )


def ticket_as_of(read: ReadSide, ref: str, as_of: datetime | None) -> Ticket:
    """The ticket replayed from its events (those that occurred at or before ``as_of``)."""
    state: Any = None
    for event in read.history(ref):
        if as_of is not None and event.occurred_at > as_of:
            break
        state = event.mutate(state)
    if not isinstance(state, Ticket):
        raise TicketNotFoundError(ref)
    return state


def intervals(ticket: Ticket, as_of: datetime | None) -> dict[str, float | None]:
    """Time to respond (opening → first leaving ``new``), total time on hold, time to
    resolve (opening → last resolution; None while unresolved), in seconds."""
    opened = ticket.opened_at
    assert opened is not None
    responded = responded_at(ticket)
    held = 0.0
    since: datetime | None = None
    for phase in ticket.phases:
        if since is not None:
            held += (phase.at - since).total_seconds()
            since = None
        if phase.state == TicketState.ON_HOLD:
            since = phase.at
    if since is not None:
        end = as_of if as_of is not None else ticket.last_occurred_at
        if end is not None and end > since:
            held += (end - since).total_seconds()
    resolved = ticket.resolved_at
    return {
        "time_to_respond_seconds": None
        if responded is None
        else (responded - opened).total_seconds(),
        "time_on_hold_seconds": held,
        "time_to_resolve_seconds": None
        if resolved is None
        else (resolved - opened).total_seconds(),
    }


def detail(event: TicketEvent) -> str:
    """A short description of what ``event`` recorded."""
    text = _detail(event)
    if event.reason and event.reason not in text:
        text = f"{text} ({event.reason})" if text else event.reason
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _detail(event: TicketEvent) -> str:
    match event:
        case ev.TicketOpened():
            return (
                f"{event.title} (P{event.priority}, impact {event.impact}, urgency {event.urgency})"
            )
        case ev.Assigned():
            return (
                " / ".join(p for p in (event.assignment_group, event.assignee) if p) or "unassigned"
            )
        case ev.PutOnHold():
            return str(event.hold_reason) + (f": {event.comment}" if event.comment else "")
        case ev.Resumed():
            return "the caller replied" if event.by_caller_reply else ""
        case ev.Resolved():
            return f"{event.code}: {event.notes}"
        case ev.Closed():
            return "automatically" if event.automatically else ""
        case ev.Reprioritized():
            return f"P{event.previous_priority} → P{event.priority}"
        case ev.FunctionallyEscalated():
            return f"tier {event.tier}, {event.assignment_group}"
        case ev.HierarchicallyEscalated():
            return f"to {event.to}"
        case ev.CommentAdded():
            return f"{event.visibility}: {event.text}"
        case ev.ChildLinked():
            return event.child
        case ev.LinkedToParent():
            return f"child of {event.parent}"
        case ev.CommunicationSent():
            via = f" via {event.channel}" if event.channel else ""
            return f"to {event.audience}{via}: {event.message}"
        case ev.PostIncidentReviewRecorded():
            return event.summary
        case ev.ProblemLinked():
            return event.problem
        case ev.SlaTimerStarted():
            return f"{event.name} ({event.target_seconds // 60} min)"
        case ev.SlaTimerCanceled():
            return event.name
        case ev.SlaWarningReached():
            return f"{event.name} at {event.threshold}%"
        case ev.SlaBreached():
            return f"{event.name} breached at {event.breached_at.isoformat()}"
    return ""
